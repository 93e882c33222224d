// SPDX-License-Identifier: MIT
/*
 * Trace output: npusim_core_trace_open() to a temporary file, jobs run,
 * npusim_core_trace_close(); the file is parsed by a minimal JSON parser
 * written here (strict RFC 8259 syntax, no external library) and checked:
 * a top-level object with a traceEvents array, complete ("X") events on
 * the DMA and MAC tracks named by thread_name metadata, consistent times.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/stream.h"

/* ------------------------------------------------------------------ */
/* Minimal JSON                                                        */
/* ------------------------------------------------------------------ */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	double num;
	char *str;		/* J_STR */
	struct jv *items;	/* J_ARR, J_OBJ values */
	char **keys;		/* J_OBJ */
	size_t n;
};

struct jparser {
	const char *p, *end;
	int depth;
	const char *err;
};

static void jfree(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

static void jws(struct jparser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
				   *ps->p == '\r'))
		ps->p++;
}

static int jfail(struct jparser *ps, const char *msg)
{
	if (!ps->err)
		ps->err = msg;
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strings: escapes validated; \u sequences are kept as '?' (ASCII tests only). */
static int jstring(struct jparser *ps, char **out)
{
	size_t cap = 16, n = 0;
	char *s = malloc(cap);

	if (!s)
		return jfail(ps, "oom");
	ps->p++;	/* opening quote */
	for (;;) {
		char c;

		if (ps->p >= ps->end) {
			free(s);
			return jfail(ps, "unterminated string");
		}
		c = *ps->p++;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20) {
			free(s);
			return jfail(ps, "control character in string");
		}
		if (c == '\\') {
			if (ps->p >= ps->end) {
				free(s);
				return jfail(ps, "bad escape");
			}
			c = *ps->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				for (int i = 0; i < 4; i++)
					if (ps->p >= ps->end || hexval(*ps->p++) < 0) {
						free(s);
						return jfail(ps, "bad \\u escape");
					}
				c = '?';
				break;
			default:
				free(s);
				return jfail(ps, "bad escape");
			}
		}
		if (n + 2 > cap) {
			char *t = realloc(s, cap *= 2);

			if (!t) {
				free(s);
				return jfail(ps, "oom");
			}
			s = t;
		}
		s[n++] = c;
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

static int jnumber(struct jparser *ps, double *out)
{
	const char *start = ps->p;
	char buf[64];
	size_t len;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end)
		return jfail(ps, "bad number");
	if (*ps->p == '0') {
		ps->p++;
	} else if (*ps->p >= '1' && *ps->p <= '9') {
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	} else {
		return jfail(ps, "bad number");
	}
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return jfail(ps, "bad fraction");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return jfail(ps, "bad exponent");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	len = (size_t)(ps->p - start);
	if (len >= sizeof(buf))
		return jfail(ps, "number too long");
	memcpy(buf, start, len);
	buf[len] = '\0';
	*out = strtod(buf, NULL);
	return 0;
}

static int jvalue(struct jparser *ps, struct jv *v);

static int jpush(struct jparser *ps, struct jv *v, char *key, size_t *cap)
{
	if (v->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct jv *items = realloc(v->items, ncap * sizeof(*items));

		if (!items)
			return jfail(ps, "oom");
		v->items = items;
		if (v->t == J_OBJ) {
			char **keys = realloc(v->keys, ncap * sizeof(*keys));

			if (!keys)
				return jfail(ps, "oom");
			v->keys = keys;
		}
		*cap = ncap;
	}
	memset(&v->items[v->n], 0, sizeof(v->items[0]));
	if (v->t == J_OBJ)
		v->keys[v->n] = key;
	v->n++;
	return 0;
}

/* Arrays and objects; close is ']' or '}'. */
static int jcontainer(struct jparser *ps, struct jv *v, char close)
{
	size_t cap = 0;

	v->t = close == ']' ? J_ARR : J_OBJ;
	ps->p++;
	jws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		jws(ps);
		if (v->t == J_OBJ) {
			if (ps->p >= ps->end || *ps->p != '"' || jstring(ps, &key))
				return jfail(ps, "expected key");
			jws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return jfail(ps, "expected ':'");
			}
			ps->p++;
		}
		if (jpush(ps, v, key, &cap)) {
			free(key);
			return -1;
		}
		if (jvalue(ps, &v->items[v->n - 1]))
			return -1;
		jws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return jfail(ps, "expected ',' or end of container");
	}
}

static int jliteral(struct jparser *ps, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n))
		return jfail(ps, "bad literal");
	ps->p += n;
	return 0;
}

static int jvalue(struct jparser *ps, struct jv *v)
{
	int ret;

	jws(ps);
	if (ps->p >= ps->end)
		return jfail(ps, "unexpected end");
	if (++ps->depth > 64)
		return jfail(ps, "too deep");
	switch (*ps->p) {
	case '{': ret = jcontainer(ps, v, '}'); break;
	case '[': ret = jcontainer(ps, v, ']'); break;
	case '"': v->t = J_STR; ret = jstring(ps, &v->str); break;
	case 't': v->t = J_BOOL; v->num = 1; ret = jliteral(ps, "true"); break;
	case 'f': v->t = J_BOOL; ret = jliteral(ps, "false"); break;
	case 'n': v->t = J_NULL; ret = jliteral(ps, "null"); break;
	default: v->t = J_NUM; ret = jnumber(ps, &v->num); break;
	}
	ps->depth--;
	return ret;
}

/* Parses a whole document; returns 0 or -1 with *err set. */
static int jparse(const char *text, size_t len, struct jv *v, const char **err)
{
	struct jparser ps = { text, text + len, 0, NULL };

	memset(v, 0, sizeof(*v));
	if (jvalue(&ps, v) == 0) {
		jws(&ps);
		if (ps.p != ps.end)
			jfail(&ps, "trailing data");
	}
	*err = ps.err;
	if (ps.err) {
		jfree(v);
		return -1;
	}
	return 0;
}

static const struct jv *jget(const struct jv *obj, const char *key)
{
	if (obj->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

static const char *jget_str(const struct jv *obj, const char *key)
{
	const struct jv *v = jget(obj, key);

	return v && v->t == J_STR ? v->str : NULL;
}

static int jget_num(const struct jv *obj, const char *key, double *out)
{
	const struct jv *v = jget(obj, key);

	if (!v || v->t != J_NUM)
		return 0;
	*out = v->num;
	return 1;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

START_TEST(test_json_parser_self_check)
{
	static const char *good[] = { "{}", "[]", "{\"a\":[1,-2.5e3,true,false,null,\"x\\n\"]}",
				      " [ {\"k\" : \"\\u00e9\"} ] " };
	static const char *bad[] = { "", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "[01]", "[1.]",
				     "\"abc", "[tru]", "{} {}", "[\"\\x\"]", "{a:1}" };
	struct jv v;
	const char *err;

	for (unsigned int i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(jparse(good[i], strlen(good[i]), &v, &err) == 0, "'%s': %s", good[i],
			      err);
		jfree(&v);
	}
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(jparse(bad[i], strlen(bad[i]), &v, &err) != 0, "'%s' accepted",
			      bad[i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Trace checks                                                        */
/* ------------------------------------------------------------------ */

struct xev {
	const char *name, *track;
	double ts, dur;
};

struct trace_summary {
	struct xev ev[256];
	size_t n;
	char tracks[16][32];	/* tid -> thread name */
};

/* Validates the event list and collects "X" events with their track names. */
static void summarise(const struct jv *root, struct trace_summary *t)
{
	const struct jv *evs = jget(root, "traceEvents");

	memset(t, 0, sizeof(*t));
	ck_assert_msg(evs && evs->t == J_ARR, "no traceEvents array");
	/* Pass 1: thread names from metadata events. */
	for (size_t i = 0; i < evs->n; i++) {
		const struct jv *e = &evs->items[i], *args;
		const char *ph = jget_str(e, "ph"), *name = jget_str(e, "name");
		double tid;

		ck_assert_msg(e->t == J_OBJ && ph, "event %zu: not an object with ph", i);
		if (strcmp(ph, "M") || !name || strcmp(name, "thread_name"))
			continue;
		args = jget(e, "args");
		ck_assert(jget_num(e, "tid", &tid) && tid >= 0 && tid < 16);
		ck_assert(args && jget_str(args, "name"));
		snprintf(t->tracks[(int)tid], sizeof(t->tracks[0]), "%s", jget_str(args, "name"));
	}
	/* Pass 2: complete events. */
	for (size_t i = 0; i < evs->n; i++) {
		const struct jv *e = &evs->items[i];
		const char *ph = jget_str(e, "ph");
		double tid, pid;
		struct xev *x;

		if (strcmp(ph, "X"))
			continue;
		ck_assert_uint_lt(t->n, sizeof(t->ev) / sizeof(t->ev[0]));
		x = &t->ev[t->n++];
		x->name = jget_str(e, "name");
		ck_assert_msg(x->name, "X event %zu without a name", i);
		ck_assert_msg(jget_num(e, "ts", &x->ts) && x->ts >= 0, "X event %zu: ts", i);
		ck_assert_msg(jget_num(e, "dur", &x->dur) && x->dur >= 0, "X event %zu: dur", i);
		ck_assert_msg(jget_num(e, "pid", &pid), "X event %zu: pid", i);
		ck_assert_msg(jget_num(e, "tid", &tid) && tid >= 0 && tid < 16,
			      "X event %zu: tid", i);
		x->track = t->tracks[(int)tid];
		ck_assert_msg(x->track[0], "X event %zu on an unnamed track %d", i, (int)tid);
	}
}

static size_t count_track(const struct trace_summary *t, const char *track, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->ev[i].track, track) && (!name || !strcmp(t->ev[i].name, name)))
			n++;
	return n;
}

static const struct xev *nth_on_track(const struct trace_summary *t, const char *track, size_t k)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->ev[i].track, track) && k-- == 0)
			return &t->ev[i];
	return NULL;
}

/* DMA in, CONV, DMA out with WAITs; returns the job's cycles. */
static uint64_t run_conv_job(struct tjob *j)
{
	struct npu_cmd_conv c;
	struct npu_job_report rep;
	uint8_t buf[4096];

	memset(&c, 0, sizeof(c));
	c.in_h = c.in_w = 8;
	c.in_c = c.in_pix_stride = 16;
	c.out_h = c.out_w = 6;
	c.out_c = c.out_pix_stride = 16;
	c.k_h = c.k_w = 3;
	c.stride_h = c.stride_w = c.dil_h = c.dil_w = 1;
	c.groups = 1;
	c.act_min = -128;
	c.act_max = 127;
	c.in_addr = 0;
	c.w_addr = 1024;
	c.q_addr = 4096 - 16 * 12;
	c.out_addr = 8192;
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13);
	tjob_reset(j);
	tjob_load(j, 0, buf, sizeof(buf));
	st_wait(&j->s, ENG_DMA, 0);
	st_conv(&j->s, &c);
	st_wait(&j->s, ENG_MAC, 0);
	tjob_store(j, 8192, 6 * 6 * 16);
	ck_assert_int_eq(tjob_run(j, &rep), NPU_FAULT_NONE);
	return rep.cycles;
}

static void tmp_path(char *buf, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(buf, len, "%s/npusim-trace-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(buf);
	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	close(fd);
}

START_TEST(test_trace_conv_job)
{
	struct tjob j;
	struct jv root;
	struct trace_summary *t = malloc(sizeof(*t));
	const struct xev *dma0, *conv, *dma1, *dma2;
	const char *err;
	char path[256], *text;
	size_t len;
	uint64_t cyc1;
	double us_per_cycle;

	ck_assert_ptr_nonnull(t);
	tmp_path(path, sizeof(path));
	tjob_init(&j, NULL, 1 << 20);
	us_per_cycle = 1000.0 / npusim_core_config(j.core)->clock_khz;
	ck_assert_int_eq(npusim_core_trace_open(j.core, path), 0);
	cyc1 = run_conv_job(&j);
	run_conv_job(&j);
	ck_assert_int_eq(npusim_core_trace_close(j.core), 0);

	text = read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(jparse(text, len, &root, &err) == 0, "trace is not valid JSON: %s", err);
	ck_assert_int_eq(root.t, J_OBJ);
	summarise(&root, t);

	/* Per job: DMA in and out on the DMA track, one CONV on the MAC track. */
	ck_assert_uint_eq(count_track(t, "DMA", NULL), 4);
	ck_assert_uint_eq(count_track(t, "MAC", "CONV"), 2);
	ck_assert_uint_eq(count_track(t, "MAC", NULL), 2);
	ck_assert_uint_eq(count_track(t, "VEC", NULL), 0);

	/* WAIT ordering: load, then compute, then store; all of job 2 after job 1. */
	dma0 = nth_on_track(t, "DMA", 0);
	dma1 = nth_on_track(t, "DMA", 1);
	dma2 = nth_on_track(t, "DMA", 2);
	conv = nth_on_track(t, "MAC", 0);
	ck_assert(dma0 && dma1 && dma2 && conv);
	ck_assert(dma0->dur > 0 && conv->dur > 0 && dma1->dur > 0);
	ck_assert_msg(conv->ts + 1e-6 >= dma0->ts + dma0->dur, "CONV starts before its load ends");
	ck_assert_msg(dma1->ts + 1e-6 >= conv->ts + conv->dur, "store starts before CONV ends");
	ck_assert_msg(dma1->ts + dma1->dur <= cyc1 * us_per_cycle + 1e-6, "job 1 overruns");
	ck_assert_msg(dma2->ts + 1e-6 >= cyc1 * us_per_cycle, "job 2 overlaps job 1");
	jfree(&root);
	free(text);
	free(t);
	unlink(path);
	tjob_free(&j);
}
END_TEST

/* A faulting job and an empty trace both leave a valid file. */
START_TEST(test_trace_fault_and_empty)
{
	struct tjob j;
	struct jv root;
	struct npu_job_report rep;
	struct trace_summary *t = malloc(sizeof(*t));
	const char *err;
	char path[256], *text;
	size_t len;

	ck_assert_ptr_nonnull(t);
	tmp_path(path, sizeof(path));
	tjob_init(&j, NULL, 1 << 20);

	ck_assert_int_eq(npusim_core_trace_open(j.core, path), 0);
	ck_assert_int_eq(npusim_core_trace_close(j.core), 0);
	text = read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(jparse(text, len, &root, &err) == 0, "empty trace: %s", err);
	summarise(&root, t);
	ck_assert_uint_eq(count_track(t, "DMA", NULL), 0);
	jfree(&root);
	free(text);

	ck_assert_int_eq(npusim_core_trace_open(j.core, path), 0);
	tjob_reset(&j);
	st_dma_in(&j.s, 0x1000, 0, 16);		/* unmapped */
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_MMU_UNMAPPED);
	run_conv_job(&j);
	/* closing twice is harmless; destroy with an open trace also closes it */
	ck_assert_int_eq(npusim_core_trace_close(j.core), 0);
	ck_assert_int_eq(npusim_core_trace_close(j.core), 0);
	text = read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(jparse(text, len, &root, &err) == 0, "trace with a fault: %s", err);
	summarise(&root, t);
	ck_assert_uint_ge(count_track(t, "MAC", "CONV"), 1);
	jfree(&root);
	free(text);

	ck_assert_int_ne(npusim_core_trace_open(j.core, "/nonexistent-dir/x/trace.json"), 0);
	ck_assert_int_eq(npusim_core_trace_open(j.core, path), 0);
	run_conv_job(&j);
	tjob_free(&j);		/* closes the trace */
	text = read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(jparse(text, len, &root, &err) == 0, "trace closed by destroy: %s", err);
	jfree(&root);
	free(text);
	free(t);
	unlink(path);
}
END_TEST

Suite *suite_trace(void);
Suite *suite_trace(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("trace");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_json_parser_self_check);
	tcase_add_test(tc, test_trace_conv_job);
	tcase_add_test(tc, test_trace_fault_and_empty);
	suite_add_tcase(s, tc);
	return s;
}
