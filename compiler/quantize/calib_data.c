// SPDX-License-Identifier: MIT
/*
 * npuc calibration inputs: sample extraction and preprocessing of arrays
 * read by array_file.c (rules in calib_data.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_data.h"

/* ---- calibration sets ---- */

static int calib_channels(int rank, const int64_t *dims)
{
	return rank >= 2 ? (int)dims[1] : 1;
}

static int check_norm_list(const float *v, int n, int n_ch, const char *name, int is_std,
			   struct npuc_diag *d)
{
	int i;

	if (n < 0 || (n > 1 && n != n_ch)) {
		npuc_diag_set(d, "calibration: %d %s values for an input with %d channel%s "
			      "(give 1 or %d)", n, name, n_ch, n_ch == 1 ? "" : "s", n_ch);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!isfinite(v[i]) || (is_std && v[i] == 0.0f)) {
			npuc_diag_set(d, "calibration: %s[%d] = %g is not %s", name, i,
				      (double)v[i], is_std ? "finite and nonzero" : "finite");
			return -1;
		}
	}
	return 0;
}

int npuc_calib_set_init(struct npuc_calib_set *s, int rank, const int64_t *dims,
			const struct npuc_calib_opts *opts, struct npuc_diag *d)
{
	int64_t n = 1;
	int i;

	memset(s, 0, sizeof(*s));
	if (rank < 0 || rank > NPUC_MAX_RANK) {
		npuc_diag_set(d, "calibration: bad input rank %d", rank);
		return -1;
	}
	for (i = 0; i < rank; i++) {
		if (dims[i] <= 0 || dims[i] > (int64_t)(NPUC_CALIB_MAX_BYTES / 4) / n) {
			npuc_diag_set(d, "calibration: bad input dimension %d (%lld)", i,
				      (long long)dims[i]);
			return -1;
		}
		n *= dims[i];
	}
	if (opts)
		s->opts = *opts;
	if (s->opts.scale == 0.0f)
		s->opts.scale = 1.0f;
	s->n_ch = calib_channels(rank, dims);
	if (!isfinite(s->opts.scale) || s->opts.limit < 0 ||
	    s->opts.n_mean > NPUC_CALIB_MAX_CH || s->opts.n_std > NPUC_CALIB_MAX_CH) {
		npuc_diag_set(d, "calibration: bad options (scale %g, limit %lld)",
			      (double)s->opts.scale, (long long)s->opts.limit);
		return -1;
	}
	if (check_norm_list(s->opts.mean, s->opts.n_mean, s->n_ch, "mean", 0, d) ||
	    check_norm_list(s->opts.std, s->opts.n_std, s->n_ch, "std", 1, d)) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	s->rank = rank;
	memcpy(s->dims, dims, (size_t)rank * sizeof(dims[0]));
	s->sample_numel = n;
	return 0;
}

int npuc_calib_set_init_input(struct npuc_calib_set *s, const struct npuc_graph *g,
			      int input_idx, const struct npuc_calib_opts *opts,
			      struct npuc_diag *d)
{
	int64_t dims[NPUC_MAX_RANK];
	const struct npuc_tensor *t;
	int i;

	memset(s, 0, sizeof(*s));
	if (input_idx < 0 || input_idx >= g->n_inputs) {
		npuc_diag_set(d, "calibration: no graph input %d", input_idx);
		return -1;
	}
	t = &g->t[g->inputs[input_idx]];
	if (t->dtype != NPUC_DT_F32 || t->rank < 0) {
		npuc_diag_set(d, "calibration: input '%s' is %s%s; calibration needs float32 "
			      "inputs of known rank", t->name, npuc_dtype_name(t->dtype),
			      t->rank < 0 ? " of unknown rank" : "");
		return -1;
	}
	for (i = 0; i < t->rank; i++) {
		dims[i] = t->dims[i];
		if (dims[i] == NPUC_DIM_UNKNOWN && i == 0)
			dims[i] = 1;
		if (dims[i] == NPUC_DIM_UNKNOWN) {
			npuc_diag_set(d, "calibration: input '%s' has an unknown dimension %d; "
				      "calibration needs a fixed shape", t->name, i);
			return -1;
		}
	}
	return npuc_calib_set_init(s, t->rank, dims, opts, d);
}

void npuc_calib_set_free(struct npuc_calib_set *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}

int npuc_calib_set_full(const struct npuc_calib_set *s)
{
	return s->opts.limit > 0 && s->n >= s->opts.limit;
}

const float *npuc_calib_sample(const struct npuc_calib_set *s, int64_t i)
{
	return s->data + (size_t)i * (size_t)s->sample_numel;
}

/* Copies the non-1 dims into out; returns how many. */
static int squeeze(const int64_t *dims, int rank, int64_t *out)
{
	int i, n = 0;

	for (i = 0; i < rank; i++)
		if (dims[i] != 1)
			out[n++] = dims[i];
	return n;
}

static int same_squeezed(const int64_t *a, int ra, const int64_t *b, int rb)
{
	int64_t sa[NPUC_MAX_RANK], sb[NPUC_MAX_RANK];
	int na = squeeze(a, ra, sa), nb = squeeze(b, rb, sb);

	return na == nb && !memcmp(sa, sb, (size_t)na * sizeof(sa[0]));
}

static void fmt_dims(char *buf, size_t cap, const int64_t *dims, int rank)
{
	size_t n = 0;
	int i;

	n += (size_t)snprintf(buf, cap, "[");
	for (i = 0; i < rank && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
				      (long long)dims[i]);
	if (n < cap)
		snprintf(buf + n, cap - n, "]");
}

static int reserve(struct npuc_calib_set *s, int64_t more, const char *what,
		   struct npuc_diag *d)
{
	int64_t need = s->n + more, max = (int64_t)(NPUC_CALIB_MAX_BYTES / 4) / s->sample_numel;
	float *p;

	if (need <= s->cap)
		return 0;
	if (need > max) {
		npuc_diag_set(d, "%s: calibration set too large (%lld samples, limit %lld)",
			      what, (long long)need, (long long)max);
		return -1;
	}
	if (need < s->cap * 2)
		need = s->cap * 2 < max ? s->cap * 2 : max;
	p = realloc(s->data, (size_t)need * (size_t)s->sample_numel * sizeof(float));
	if (!p) {
		npuc_diag_set(d, "%s: out of memory", what);
		return -1;
	}
	s->data = p;
	s->cap = need;
	return 0;
}

/* x' = (x * scale - mean[c]) / std[c] over one sample, in place. */
static int preprocess(const struct npuc_calib_set *s, float *x, const char *what, int64_t idx,
		      struct npuc_diag *d)
{
	const struct npuc_calib_opts *o = &s->opts;
	int64_t inner = 1, e;
	int i;

	/* Elements per channel plane: the dims after the channel dim 1. */
	for (i = 2; i < s->rank; i++)
		inner *= s->dims[i];

	for (e = 0; e < s->sample_numel; e++) {
		int c = (int)((e / inner) % s->n_ch);
		double m = o->n_mean ? o->mean[o->n_mean == 1 ? 0 : c] : 0.0;
		double sd = o->n_std ? o->std[o->n_std == 1 ? 0 : c] : 1.0;
		double v = ((double)x[e] * o->scale - m) / sd;

		if (!isfinite(v) || fabs(v) > 3.4e38) {
			npuc_diag_set(d, "%s: sample %lld element %lld is not finite after "
				      "preprocessing", what, (long long)idx, (long long)e);
			return -1;
		}
		x[e] = (float)v;
	}
	return 0;
}

int64_t npuc_calib_add_array(struct npuc_calib_set *s, const struct npuc_array *a,
			     const char *what, struct npuc_diag *d)
{
	int64_t nsamp, take, i;
	char want[160], got[160];

	if (!s->sample_numel) {
		npuc_diag_set(d, "%s: calibration set not initialised", what);
		return -1;
	}
	if (same_squeezed(a->dims, a->rank, s->dims, s->rank) && a->numel == s->sample_numel) {
		nsamp = 1;
	} else if (a->rank >= 1 && same_squeezed(a->dims + 1, a->rank - 1, s->dims, s->rank) &&
		   a->dims[0] > 0 && a->numel / a->dims[0] == s->sample_numel) {
		nsamp = a->dims[0];
	} else {
		fmt_dims(want, sizeof(want), s->dims, s->rank);
		fmt_dims(got, sizeof(got), a->dims, a->rank);
		npuc_diag_set(d, "%s: array shape %s is neither one sample of the input shape %s "
			      "nor a batch [N, ...] of them", what, got, want);
		return -1;
	}
	take = nsamp;
	if (s->opts.limit > 0 && take > s->opts.limit - s->n)
		take = s->opts.limit - s->n;
	if (take <= 0)
		return 0;
	if (reserve(s, take, what, d))
		return -1;
	for (i = 0; i < take; i++) {
		float *x = s->data + (size_t)(s->n + i) * (size_t)s->sample_numel;

		npuc_array_to_float(a, i * s->sample_numel, s->sample_numel, x);
		if (preprocess(s, x, what, i, d))
			return -1;
	}
	s->n += take;
	return take;
}

int64_t npuc_calib_add_file(struct npuc_calib_set *s, const char *path, struct npuc_diag *d)
{
	struct npuc_array a;
	int64_t r;

	if (npuc_array_load(path, &a, d))
		return -1;
	r = npuc_calib_add_array(s, &a, path, d);
	npuc_array_free(&a);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir ending in ".npy", sorted. */
static int list_npy(const char *path, char ***names, int *count, struct npuc_diag *d)
{
	int n = 0, cap = 0;
	char **v = NULL, **nv;
	struct dirent *e;
	DIR *dir;

	dir = opendir(path);
	if (!dir) {
		npuc_diag_set(d, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);

		if (len <= 4 || strcmp(e->d_name + len - 4, ".npy"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		v[n] = strdup(e->d_name);
		if (!v[n])
			goto oom;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
oom:
	closedir(dir);
	while (n > 0)
		free(v[--n]);
	free(v);
	npuc_diag_set(d, "%s: out of memory", path);
	return -1;
}

int64_t npuc_calib_add_dir(struct npuc_calib_set *s, const char *path, struct npuc_diag *d)
{
	int64_t total = 0, r = 0;
	int n, i, files = 0;
	char **names;

	if (list_npy(path, &names, &n, d))
		return -1;
	for (i = 0; i < n && r >= 0 && !npuc_calib_set_full(s); i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *full = malloc(len);
		struct stat st;

		if (!full) {
			npuc_diag_set(d, "%s: out of memory", path);
			r = -1;
			break;
		}
		snprintf(full, len, "%s/%s", path, names[i]);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			r = npuc_calib_add_file(s, full, d);
			total += r > 0 ? r : 0;
			files++;
		}
		free(full);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r < 0)
		return -1;
	if (!files && !npuc_calib_set_full(s)) {
		npuc_diag_set(d, "%s: no .npy files in the directory", path);
		return -1;
	}
	return total;
}

int64_t npuc_calib_add_path(struct npuc_calib_set *s, const char *path, struct npuc_diag *d)
{
	struct stat st;

	if (stat(path, &st)) {
		npuc_diag_set(d, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return npuc_calib_add_dir(s, path, d);
	return npuc_calib_add_file(s, path, d);
}

static uint64_t splitmix64(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int64_t npuc_calib_add_random(struct npuc_calib_set *s, int64_t n, uint64_t seed, float lo,
			      float hi, struct npuc_diag *d)
{
	int64_t take = n, i;

	if (!s->sample_numel || n <= 0 || !isfinite(lo) || !isfinite(hi) || lo > hi) {
		npuc_diag_set(d, "random calibration: bad arguments (n %lld, range [%g, %g])",
			      (long long)n, (double)lo, (double)hi);
		return -1;
	}
	fprintf(stderr, "npuc: warning: calibrating with %lld RANDOM input samples (uniform in "
		"[%g, %g]) instead of real data: activation ranges will not match real inputs "
		"and int8 accuracy may be poor\n", (long long)n, (double)lo, (double)hi);
	if (s->opts.limit > 0 && take > s->opts.limit - s->n)
		take = s->opts.limit - s->n;
	if (take <= 0)
		return 0;
	if (reserve(s, take, "random calibration", d))
		return -1;
	for (i = 0; i < take * s->sample_numel; i++) {
		double u = (double)(splitmix64(&seed) >> 11) * 0x1.0p-53;

		s->data[(size_t)s->n * (size_t)s->sample_numel + (size_t)i] =
			(float)(lo + u * ((double)hi - lo));
	}
	s->n += take;
	return take;
}

int npuc_calib_parse_floats(const char *str, float *out, int max, int *n, struct npuc_diag *d)
{
	const char *p = str;

	*n = 0;
	for (;;) {
		char *end;
		float v;

		errno = 0;
		v = strtof(p, &end);
		if (end == p || !isfinite(v) ||
		    (*end && *end != ',')) {
			npuc_diag_set(d, "bad number list '%s' (expected comma-separated finite "
				      "numbers)", str);
			return -1;
		}
		if (*n >= max) {
			npuc_diag_set(d, "number list '%s' has more than %d values", str, max);
			return -1;
		}
		out[(*n)++] = v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}
