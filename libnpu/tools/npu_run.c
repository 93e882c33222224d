// SPDX-License-Identifier: MIT
/*
 * npu-run: runs a compiled model (.npub) through libnpu on one sample and
 * prints the top-k of output 0, timing and device counters.
 *
 *   npu-run MODEL.npub [--input FILE]... [--index N] [--scale S] [--int8]
 *           [--raw] [--allow-nonfinite] [--output FILE] [--top-k K] [--repeat N]
 *           [--trace out.json]
 *
 * --input: one per graph input, in order: .npy or IDX (plain or gzip; any
 * element type, converted to float and multiplied by --scale; sample
 * --index of a file holding several whole samples), else raw bytes
 * (float32, or int8 with --int8) of exactly the input's size; --raw reads
 * every input as raw. A file that starts like .npy, gzip or IDX but does
 * not parse is an error, never raw data; NaN or infinite values are
 * refused, or with --allow-nonfinite run (libnpu quantises NaN to 0 and
 * saturates Inf) and counted in the report. No --input: zeros. --int8 binds inputs and outputs as raw int8
 * (array values rounded to the nearest int8 and saturated).
 * --output writes output 0 (.npy if the name ends in .npy, else raw).
 * The device is the default one (NPU_DEVICE=sim|drm overrides).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array_file.h"
#include "npu.h"
#include "outfile.h"

#define MAX_IO 16

struct opts {
	const char *model, *inputs[MAX_IO], *output, *trace;
	int n_inputs, topk, int8, repeat;
	int raw;			/* --raw: inputs are raw bytes, never parsed */
	int allow_nonfinite;		/* NaN / Inf inputs run and are counted */
	long index;
	float scale;
};

static int fail(const char *what, int rc)
{
	fprintf(stderr, "npu-run: %s: %s (%s)\n", what, npu_last_error(), npu_status_name(rc));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: npu-run MODEL.npub [--input FILE]... [--index N] [--scale S] "
		"[--int8] [--raw]\n               [--allow-nonfinite] [--output FILE] [--top-k K] "
		"[--repeat N] [--trace out.json]\n");
	return 2;
}

/* A number in [lo, hi]; otherwise says so and sets *bad. */
static double parse_num(const char *opt, const char *s, double lo, double hi, int *bad)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "npu-run: %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
		*bad = 1;
		return lo;
	}
	return v;
}

/* A whole number in [lo, hi] (--index 1.5 is an error, not sample 1). */
static long parse_int(const char *opt, const char *s, double lo, double hi, int *bad)
{
	double v = parse_num(opt, s, lo, hi, bad);

	if (!*bad && v != (double)(long)v) {
		fprintf(stderr, "npu-run: %s: '%s' is not a whole number\n", opt, s);
		*bad = 1;
	}
	return (long)v;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int bad = 0;

	memset(o, 0, sizeof(*o));
	o->topk = 5;
	o->repeat = 1;
	o->scale = 1.0f;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--int8")) {
			o->int8 = 1;
			continue;
		}
		if (!strcmp(a, "--raw")) {
			o->raw = 1;
			continue;
		}
		if (!strcmp(a, "--allow-nonfinite")) {
			o->allow_nonfinite = 1;
			continue;
		}
		if (a[0] != '-') {
			if (o->model)
				return -1;
			o->model = a;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--input")) {
			if (o->n_inputs >= MAX_IO) {
				fprintf(stderr, "npu-run: at most %d --input files\n", MAX_IO);
				return -1;
			}
			o->inputs[o->n_inputs++] = v;
		}
		else if (!strcmp(a, "--output"))
			o->output = v;
		else if (!strcmp(a, "--trace"))
			o->trace = v;
		else if (!strcmp(a, "--top-k"))
			o->topk = (int)parse_int(a, v, 0, 1e6, &bad);
		else if (!strcmp(a, "--repeat"))
			o->repeat = (int)parse_int(a, v, 1, 1e9, &bad);
		else if (!strcmp(a, "--index"))
			o->index = parse_int(a, v, 0, 1e12, &bad);
		else if (!strcmp(a, "--scale"))
			o->scale = (float)parse_num(a, v, 1e-30, 1e30, &bad);
		else
			return -1;
	}
	return o->model && !bad ? 0 : -1;
}

/* Raw bytes: the file must hold exactly what the input takes. */
static int read_raw(const char *path, void *dst, size_t bytes)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t n;

	if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "npu-run: %s: %s\n", path, !f ? strerror(errno) :
			"not a regular file");
		if (f)
			fclose(f);
		return -1;
	}
	if ((uint64_t)st.st_size != bytes) {
		fprintf(stderr, "npu-run: %s: raw input of %lld bytes, the model's input takes "
			"exactly %zu\n", path, (long long)st.st_size, bytes);
		fclose(f);
		return -1;
	}
	n = fread(dst, 1, bytes, f);
	fclose(f);
	if (n != bytes) {
		fprintf(stderr, "npu-run: %s: read %zu of %zu bytes\n", path, n, bytes);
		return -1;
	}
	return 0;
}

/* The file's first four bytes in m; 1 if it has them. */
static int read_magic(const char *path, unsigned char m[4])
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(m, 1, 4, f) : 0;

	if (f)
		fclose(f);
	return n == 4;
}

/* Whether the file starts like a .npy, a gzip stream or an IDX file. */
static int looks_like_array(const char *path)
{
	unsigned char m[4];

	return read_magic(path, m) &&
	       ((m[0] == 0x93 && m[1] == 'N') || (m[0] == 0x1f && m[1] == 0x8b) ||
		(!m[0] && !m[1] && m[2] >= 0x08 && m[2] <= 0x0e && m[3] >= 1 && m[3] <= 8));
}

/*
 * After a raw read failed: a file that begins like an IDX header (two zero
 * bytes) but with a type or rank IDX does not define was most likely
 * meant as IDX; say so rather than only "raw input of N bytes".
 */
static void idx_hint(const char *path)
{
	unsigned char m[4];

	if (!read_magic(path, m) || m[0] || m[1])
		return;
	if (m[2] < 0x08 || m[2] > 0x0e)
		fprintf(stderr, "npu-run: %s starts like an IDX file, but its element type 0x%02x "
			"is none IDX defines (0x08..0x0e)\n", path, m[2]);
	else if (m[3] < 1 || m[3] > 8)
		fprintf(stderr, "npu-run: %s starts like an IDX file, but its rank %u is not "
			"1..8\n", path, m[3]);
}

/* Float values of the input, refused when not finite (unless --allow-nonfinite). */
static int check_finite(const struct opts *o, const char *path, const float *x, int64_t n)
{
	int64_t bad = 0;

	if (o->allow_nonfinite)
		return 0;	/* libnpu counts them: the report says how many */
	for (int64_t k = 0; k < n; k++)
		bad += !isfinite(x[k]);
	if (bad)
		fprintf(stderr, "npu-run: %s: %lld of %lld values are NaN or infinite\n", path,
			(long long)bad, (long long)n);
	return bad ? -1 : 0;
}

/*
 * Sample o->index of an array file (.npy, IDX, gzip'd IDX), or raw bytes
 * (--raw, or a file that is none of those), into the bound buffer. An
 * array file that does not parse is an error with the parser's reason,
 * never read as raw; its element count must be a whole number of samples.
 */
static int load_input(const struct opts *o, const char *path, const struct npu_tensor_info *ti,
		      void *dst)
{
	struct npuc_diag d = { { 0 } };
	struct npuc_array a;
	float *x;
	int64_t n = (int64_t)ti->count, bad = 0;

	if (o->raw || !looks_like_array(path)) {
		if (read_raw(path, dst, o->int8 ? ti->int8_bytes : ti->float_bytes)) {
			if (!o->raw)
				idx_hint(path);
			return -1;
		}
		return o->int8 ? 0 : check_finite(o, path, dst, n);
	}
	if (npuc_array_load(path, &a, &d) < 0) {
		fprintf(stderr, "npu-run: %s\n", d.msg);
		return -1;
	}
	if (a.numel % n) {
		fprintf(stderr, "npu-run: %s has %lld elements: not a whole number of the model's "
			"%lld-element input\n", path, (long long)a.numel, (long long)n);
		npuc_array_free(&a);
		return -1;
	}
	if (o->index < 0 || a.numel < n * (o->index + 1)) {
		fprintf(stderr, "npu-run: %s has %lld samples, no sample %ld\n", path,
			(long long)(a.numel / n), o->index);
		npuc_array_free(&a);
		return -1;
	}
	x = malloc((size_t)n * sizeof(float) + 1);
	if (!x) {
		npuc_array_free(&a);
		return -1;
	}
	npuc_array_to_float(&a, n * o->index, n, x);
	for (int64_t k = 0; k < n; k++)
		x[k] *= o->scale;
	if (check_finite(o, path, x, n)) {
		free(x);
		npuc_array_free(&a);
		return -1;
	}
	for (int64_t k = 0; o->int8 && k < n; k++)
		bad += !isfinite(x[k]);
	if (bad)	/* int8 bindings: libnpu sees no floats to count, so say it here */
		fprintf(stderr, "npu-run: %s: %lld NaN / Inf values (NaN as 0, Inf saturated)\n",
			path, (long long)bad);
	for (int64_t k = 0; k < n; k++) {
		float v = x[k];

		if (o->int8) {
			/* NaN (only with --allow-nonfinite) becomes 0, as libnpu quantises it */
			v = isnan(v) ? 0.0f : rintf(v < -128 ? -128 : v > 127 ? 127 : v);
			((int8_t *)dst)[k] = (int8_t)v;
		} else {
			((float *)dst)[k] = v;
		}
	}
	free(x);
	npuc_array_free(&a);
	return 0;
}

/* Writes output 0 to path (the temporary beside --output). */
static int write_output(const struct opts *o, const char *path, const struct npu_tensor_info *ti,
			const void *y)
{
	size_t bytes = o->int8 ? ti->int8_bytes : ti->float_bytes, len = strlen(o->output);
	FILE *f = fopen(path, "wb");
	int ok = f != NULL;

	if (ok && len > 4 && !strcmp(o->output + len - 4, ".npy")) {
		char hdr[256];
		int n = snprintf(hdr, sizeof(hdr), "{'descr': '%s', 'fortran_order': False, "
				 "'shape': (", o->int8 ? "|i1" : "<f4");

		for (int k = 0; k < ti->rank; k++)
			n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "%lld,%s",
				      (long long)ti->dims[k], k + 1 < ti->rank ? " " : "");
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "), }");
		while ((10 + n + 1) % 64)
			hdr[n++] = ' ';
		hdr[n++] = '\n';
		ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && fputc(n & 0xff, f) != EOF &&
		     fputc(n >> 8, f) != EOF && fwrite(hdr, 1, (size_t)n, f) == (size_t)n;
	}
	if (ok)
		ok = fwrite(y, 1, bytes, f) == bytes;
	if (f && fclose(f))
		ok = 0;
	if (!ok)
		fprintf(stderr, "npu-run: cannot write %s\n", o->output);
	return ok ? 0 : -1;
}

static void print_topk(const struct npu_tensor_info *ti, const void *y, int int8, int k)
{
	uint64_t n = ti->count;
	char *used = calloc(n + 1, 1);

	for (int r = 0; r < k && (uint64_t)r < n && used; r++) {
		uint64_t best = n;
		float bv = 0;

		for (uint64_t i = 0; i < n; i++) {
			float v = int8 ? (float)((const int8_t *)y)[i] : ((const float *)y)[i];

			if (!used[i] && (best == n || v > bv)) {
				best = i;
				bv = v;
			}
		}
		used[best] = 1;
		printf("top-%d: class %llu  %g\n", r + 1, (unsigned long long)best, bv);
	}
	free(used);
}

static void print_profile(const struct npu_profile *p, int repeat, uint64_t total_ns)
{
	printf("time: %.3f ms wall per run (%d runs), host steps %.3f ms, device %.3f ms "
	       "(%llu cycles)\n", total_ns / 1e6 / repeat, repeat, p->host_ns / 1e6,
	       p->device_ns / 1e6, (unsigned long long)p->device_cycles);
	printf("counters: %u device jobs, %u host steps, %llu MACs, DRAM read %llu B, "
	       "write %llu B\n", p->device_jobs, p->host_steps, (unsigned long long)p->macs,
	       (unsigned long long)p->dram_read_bytes, (unsigned long long)p->dram_write_bytes);
	printf("busy cycles: DMA %llu, MAC %llu, VEC %llu, dispatch %llu\n",
	       (unsigned long long)p->busy_cycles[0], (unsigned long long)p->busy_cycles[1],
	       (unsigned long long)p->busy_cycles[2], (unsigned long long)p->busy_cycles[3]);
	if (p->nonfinite_inputs)
		printf("non-finite inputs: %llu NaN / Inf values (NaN quantised to 0, Inf "
		       "saturated)\n", (unsigned long long)p->nonfinite_inputs);
}

struct rt {
	npu_device *dev;
	npu_model *model;
	npu_context *ctx;
	npu_bo *bos[2 * MAX_IO];
	void *map[2 * MAX_IO];
	struct npu_tensor_info info[2 * MAX_IO];
	uint32_t ni, no;
};

static int setup(const struct opts *o, struct rt *r)
{
	int fmt = o->int8 ? NPU_FMT_INT8 : NPU_FMT_FLOAT32, rc;

	if ((rc = npu_device_open(NULL, &r->dev)))
		return fail("open", rc);
	if ((rc = npu_model_load_file(r->dev, o->model, &r->model)))
		return fail("load", rc);
	if ((rc = npu_model_io_count(r->model, NPU_INPUT, &r->ni)) ||
	    (rc = npu_model_io_count(r->model, NPU_OUTPUT, &r->no)) ||
	    (rc = npu_context_create(r->model, &r->ctx)))
		return fail("model", rc);
	if (r->ni > MAX_IO || r->no > MAX_IO) {
		fprintf(stderr, "npu-run: the model has %u inputs and %u outputs; npu-run handles "
			"at most %d of each\n", r->ni, r->no, MAX_IO);
		return 1;
	}
	if (!r->no || (uint32_t)o->n_inputs > r->ni) {
		fprintf(stderr, "npu-run: %d --input files for a model with %u inputs and %u "
			"outputs\n", o->n_inputs, r->ni, r->no);
		return 1;
	}
	for (uint32_t k = 0; k < r->ni + r->no; k++) {
		int out = k >= r->ni;
		uint32_t i = out ? k - r->ni : k;
		struct npu_tensor_info *ti = &r->info[k];

		if ((rc = npu_model_tensor_info(r->model, out ? NPU_OUTPUT : NPU_INPUT, i, ti)) ||
		    (rc = npu_bo_alloc(r->dev, ti->float_bytes ? ti->float_bytes : 4, 0,
				       &r->bos[k])) ||
		    (rc = npu_bo_map(r->bos[k], &r->map[k])))
			return fail("buffers", rc);
		if (!out && (int)i < o->n_inputs && load_input(o, o->inputs[i], ti, r->map[k]))
			return 1;
		rc = out ? npu_bind_output(r->ctx, i, r->bos[k], 0, fmt) :
		     npu_bind_input(r->ctx, i, r->bos[k], 0, fmt);
		if (rc)
			return fail("bind", rc);
	}
	return 0;
}

static void teardown(struct rt *r)
{
	for (uint32_t k = 0; k < 2 * MAX_IO; k++)
		if (r->bos[k])
			npu_bo_free(r->bos[k]);
	if (r->ctx)
		npu_context_free(r->ctx);
	if (r->model)
		npu_model_free(r->model);
	if (r->dev)
		npu_device_close(r->dev);
}

/* --output and --trace may be neither the model, nor an input, nor each other. */
static int check_outputs(const struct opts *o)
{
	const char *outs[2] = { o->output, o->trace }, *out_what[2] = { "--output", "--trace" };
	const char *ins[MAX_IO + 1], *in_what[MAX_IO + 1];
	struct npuc_diag d = { { 0 } };
	int n = 0;

	ins[n] = o->model;
	in_what[n++] = "the model";
	for (int i = 0; i < o->n_inputs; i++) {
		ins[n] = o->inputs[i];
		in_what[n++] = "an --input";
	}
	if (npuc_outputs_check(outs, out_what, 2, ins, in_what, n, &d)) {
		fprintf(stderr, "npu-run: %s\n", d.msg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct npuc_outfile trace_file = { 0 }, out_file = { 0 };
	struct npuc_diag d = { { 0 } };
	struct npu_profile p;
	struct opts o;
	struct rt r;
	uint64_t total = 0;
	int rc = 0;

	if (parse(argc, argv, &o))
		return usage();
	if (check_outputs(&o))
		return 1;
	memset(&r, 0, sizeof(r));
	if (setup(&o, &r)) {
		teardown(&r);
		return 1;
	}
	/* Outputs go to temporaries beside them, renamed at the end. */
	if (o.trace && npuc_outfile_begin(&trace_file, o.trace, &d)) {
		fprintf(stderr, "npu-run: --trace: %s\n", d.msg);
		rc = 1;
	}
	if (!rc && o.output && npuc_outfile_begin(&out_file, o.output, &d)) {
		fprintf(stderr, "npu-run: --output: %s\n", d.msg);
		rc = 1;
	}
	if (!rc && o.trace && (rc = npu_device_trace_open(r.dev, trace_file.tmp)))
		rc = fail("trace", rc);
	for (int i = 0; !rc && i < o.repeat; i++) {
		if ((rc = npu_run(r.ctx, &p)))
			rc = fail("run", rc);
		total += p.wall_ns;
	}
	if (!rc && o.trace && (rc = npu_device_trace_close(r.dev)))
		rc = fail("trace", rc);
	if (!rc) {
		char be[16] = "?";

		print_topk(&r.info[r.ni], r.map[r.ni], o.int8, o.topk);
		npu_device_backend(r.dev, be, sizeof(be));
		printf("device: %s\n", !strcmp(be, "drm") ? "drm (the npu.ko kernel driver)" :
		       !strcmp(be, "sim") ? "sim (the in-process simulator)" : be);
		print_profile(&p, o.repeat, total);
		if (o.trace)
			printf("trace: %s\n", o.trace);
		if (o.output && write_output(&o, out_file.tmp, &r.info[r.ni], r.map[r.ni]))
			rc = 1;
	}
	/* Both outputs into place, or neither. */
	if (!rc && (npuc_outfile_commit(&trace_file, &d) || npuc_outfile_commit(&out_file, &d))) {
		fprintf(stderr, "npu-run: %s\n", d.msg);
		rc = 1;
	}
	npuc_outfile_abort(&trace_file);
	npuc_outfile_abort(&out_file);
	teardown(&r);
	return rc ? 1 : 0;
}
