// SPDX-License-Identifier: MIT
/*
 * Calibration for post-training quantisation: .npy / IDX decoding (good
 * files written here, malformed and hostile ones), Fashion-MNIST IDX,
 * sample shapes and preprocessing, the range observers on synthetic data
 * with known answers, graph-level calibration, and the per-layer SQNR and
 * bias correction on tiny graphs with a known quantisation error.
 */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "calib_data.h"
#include "calib_observe.h"
#include "ir.h"
#include "qir.h"
#include "quantize.h"
#include "ref_float.h"
#include "sqnr.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static struct npuc_diag d;
static char tmpdir[64];

static void setup(void)
{
	memset(&d, 0, sizeof(d));
	strcpy(tmpdir, "/tmp/npuc-calib-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void tpath(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Builds a .npy image: magic, version, header (dict text + padding to 64
 * bytes + newline), data. Returns the length.
 */
static size_t make_npy(uint8_t *out, int major, const char *dict, const void *data, size_t n)
{
	size_t pre = major == 1 ? 10 : 12, hl = strlen(dict) + 1, pad = 0, off;

	while ((pre + hl + pad) % 64)
		pad++;
	memcpy(out, "\x93NUMPY", 6);
	out[6] = (uint8_t)major;
	out[7] = 0;
	hl += pad;
	out[8] = (uint8_t)hl;
	out[9] = (uint8_t)(hl >> 8);
	if (major != 1) {
		out[10] = (uint8_t)(hl >> 16);
		out[11] = (uint8_t)(hl >> 24);
	}
	off = pre;
	memcpy(out + off, dict, strlen(dict));
	off += strlen(dict);
	memset(out + off, ' ', pad);
	off += pad;
	out[off++] = '\n';
	if (n)
		memcpy(out + off, data, n);
	return off + n;
}

static void arr_floats(const struct npuc_array *a, float *out)
{
	npuc_array_to_float(a, 0, a->numel, out);
}

/* ---- .npy ---- */

START_TEST(test_npy_good)
{
	const float f[6] = { 0, 0.5f, 1, 1.5f, -2, 1e-3f };
	const uint8_t u[4] = { 0, 1, 200, 255 }, be[4] = { 0x40, 0x40, 0, 0 };
	const double f8[2] = { 1.5, -2.25 };
	const int8_t i8 = -5;
	uint8_t buf[512];
	struct npuc_array a;
	float got[8];
	char path[128];
	size_t n;

	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
		     f, sizeof(f));
	ck_assert_int_eq(n % 64, sizeof(f) % 64);
	ck_assert_msg(npuc_npy_parse(buf, n, "f4", &a, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(a.type, NPUC_ARR_F32);
	ck_assert_int_eq(a.rank, 2);
	ck_assert_int_eq(a.dims[0], 2);
	ck_assert_int_eq(a.dims[1], 3);
	ck_assert_int_eq(a.numel, 6);
	arr_floats(&a, got);
	ck_assert_mem_eq(got, f, sizeof(f));
	npuc_array_free(&a);

	n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", u, 4);
	ck_assert_int_eq(npuc_npy_parse(buf, n, "u1", &a, &d), 0);
	ck_assert_int_eq(a.type, NPUC_ARR_U8);
	arr_floats(&a, got);
	ck_assert_float_eq(got[2], 200.0f);
	ck_assert_float_eq(got[3], 255.0f);
	npuc_array_free(&a);

	/* A scalar: shape (). */
	n = make_npy(buf, 1, "{'descr': '|i1', 'fortran_order': False, 'shape': (), }", &i8, 1);
	ck_assert_int_eq(npuc_npy_parse(buf, n, "i1", &a, &d), 0);
	ck_assert_int_eq(a.rank, 0);
	ck_assert_int_eq(a.numel, 1);
	arr_floats(&a, got);
	ck_assert_float_eq(got[0], -5.0f);
	npuc_array_free(&a);

	/* Version 2.0 header, float64. */
	n = make_npy(buf, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
		     f8, sizeof(f8));
	ck_assert_uint_eq(buf[6], 2);
	ck_assert_int_eq(npuc_npy_parse(buf, n, "f8", &a, &d), 0);
	ck_assert_int_eq(a.type, NPUC_ARR_F64);
	arr_floats(&a, got);
	ck_assert_float_eq(got[0], 1.5f);
	ck_assert_float_eq(got[1], -2.25f);
	npuc_array_free(&a);

	/* Big-endian float32 3.0. */
	n = make_npy(buf, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", be, 4);
	ck_assert_int_eq(npuc_npy_parse(buf, n, "be", &a, &d), 0);
	arr_floats(&a, got);
	ck_assert_float_eq(got[0], 3.0f);
	npuc_array_free(&a);

	/* Other key order, double quotes, Python 2 long suffix, no trailing comma. */
	n = make_npy(buf, 1, "{\"shape\": (3L, 2L), \"fortran_order\": False, \"descr\": \"<f4\"}",
		     f, sizeof(f));
	ck_assert_msg(npuc_npy_parse(buf, n, "py2", &a, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(a.dims[0], 3);
	ck_assert_int_eq(a.dims[1], 2);
	npuc_array_free(&a);

	/* Zero-size array. */
	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }",
		     NULL, 0);
	ck_assert_int_eq(npuc_npy_parse(buf, n, "empty", &a, &d), 0);
	ck_assert_int_eq(a.numel, 0);
	npuc_array_free(&a);

	/* From a file, through the format-sniffing loader too. */
	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }",
		     f, sizeof(f));
	tpath(path, sizeof(path), "x.npy");
	write_file(path, buf, n);
	ck_assert_int_eq(npuc_npy_load(path, &a, &d), 0);
	ck_assert_int_eq(a.numel, 6);
	npuc_array_free(&a);
	ck_assert_int_eq(npuc_array_load(path, &a, &d), 0);
	ck_assert_int_eq(a.type, NPUC_ARR_F32);
	npuc_array_free(&a);
}
END_TEST

struct bad_npy {
	int major;
	const char *dict;
	size_t data;		/* bytes of data appended */
	const char *want;	/* substring of the error */
};

START_TEST(test_npy_bad)
{
	static const struct bad_npy cases[] = {
		{ 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4,
		  "format version 3.0" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, }", 4, "missing 'shape'" },
		{ 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
		  "duplicate key 'descr'" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
		  "unknown key 'x'" },
		{ 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
		  "Fortran-order" },
		{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", 4,
		  "unsupported .npy dtype '<i4'" },
		{ 1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", 4,
		  "unsupported .npy dtype" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", 12,
		  "one-element shape" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4,
		  "non-negative integer" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (03,), }", 12,
		  "non-negative integer" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
		  4, "non-negative integer" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
		  4, "too large" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4,
		  "more than 8 dimensions" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 12, "truncated" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12,
		  "unexpected bytes" },
		{ 1, "{'descr': '<f4', 'fortran_order': Fals, 'shape': (1,), }", 4,
		  "True or False" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'sh}", 4,
		  "a quoted key" },
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk", 4,
		  "only spaces" },
		{ 1, "['descr', '<f4']", 4, "expected '{'" },
		{ 1, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4,
		  "',' or '}'" },
	};
	uint8_t buf[512], zeros[64] = { 0 };
	struct npuc_array a;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = make_npy(buf, cases[i].major == 3 ? 1 : cases[i].major, cases[i].dict, zeros,
			     cases[i].data);
		if (cases[i].major == 3)
			buf[6] = 3;
		memset(&d, 0, sizeof(d));
		ck_assert_msg(npuc_npy_parse(buf, n, "bad.npy", &a, &d) == -1, "case %zu parsed",
			      i);
		ck_assert_ptr_null(a.data);
		ck_assert_msg(strstr(d.msg, cases[i].want) && strstr(d.msg, "bad.npy"),
			      "case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
	}

	/* Raw framing errors. */
	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", zeros, 4);
	buf[0] = 0x92;
	ck_assert_int_eq(npuc_npy_parse(buf, n, "m", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "not a .npy file"));
	buf[0] = 0x93;
	buf[8] = 0xff;		/* header length beyond the file */
	buf[9] = 0x7f;
	ck_assert_int_eq(npuc_npy_parse(buf, n, "m", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "truncated .npy header"));
	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", zeros, 4);
	buf[n - 5] = ' ';	/* the newline ending the header */
	ck_assert_int_eq(npuc_npy_parse(buf, n, "m", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "newline"));
	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", zeros, 4);
	buf[12] = 0x01;
	ck_assert_int_eq(npuc_npy_parse(buf, n, "m", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "byte 0x01"));
}
END_TEST

/* Every truncation of a valid file fails; byte mutations never crash. */
START_TEST(test_npy_hostile)
{
	static const uint8_t subst[] = { 0, 0xff, '(', ')', ',', '9', '\'', '"', '{', '}', ':',
					 ' ', 'L', '\n', '0', '-' };
	const float f[6] = { 1, 2, 3, 4, 5, 6 };
	uint8_t buf[256], mut[256];
	struct npuc_array a;
	size_t n, len, pos, k;
	int ok = 0;

	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
		     f, sizeof(f));
	for (len = 0; len < n; len++) {
		uint8_t *p = malloc(len ? len : 1);	/* exact size: ASan sees overreads */

		memcpy(p, buf, len);
		ck_assert_msg(npuc_npy_parse(p, len, "t", &a, &d) == -1, "prefix %zu parsed", len);
		ck_assert_ptr_null(a.data);
		free(p);
	}
	for (pos = 0; pos < n - sizeof(f); pos++) {
		for (k = 0; k < sizeof(subst); k++) {
			uint8_t *p = malloc(n);

			memcpy(mut, buf, n);
			mut[pos] = subst[k];
			memcpy(p, mut, n);
			if (npuc_npy_parse(p, n, "t", &a, &d) == 0) {
				ck_assert_ptr_nonnull(a.data);
				ck_assert_int_le(a.numel * 4, (int64_t)n);
				ok++;
				npuc_array_free(&a);
			}
			free(p);
		}
	}
	/* Some mutations are harmless (padding spaces, '9' for '3' fails on size...). */
	ck_assert_int_gt(ok, 0);
}
END_TEST

/* ---- IDX ---- */

START_TEST(test_idx_fmnist)
{
	struct npuc_array a;
	float img[784], lab[5];
	double sum = 0;
	int i;

	ck_assert_msg(npuc_idx_load(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &a, &d) == 0, "%s",
		      d.msg);
	ck_assert_int_eq(a.type, NPUC_ARR_U8);
	ck_assert_int_eq(a.rank, 3);
	ck_assert_int_eq(a.dims[0], 10000);
	ck_assert_int_eq(a.dims[1], 28);
	ck_assert_int_eq(a.dims[2], 28);
	npuc_array_to_float(&a, 0, 784, img);
	for (i = 0; i < 784; i++)
		sum += img[i];
	ck_assert_int_eq((int)sum, 33456);	/* first test image (python3 gzip) */
	npuc_array_to_float(&a, 784, 784, img);
	for (sum = 0, i = 0; i < 784; i++)
		sum += img[i];
	ck_assert_int_eq((int)sum, 100994);
	npuc_array_free(&a);

	ck_assert_int_eq(npuc_array_load(FMNIST_DIR "/t10k-labels-idx1-ubyte.gz", &a, &d), 0);
	ck_assert_int_eq(a.rank, 1);
	ck_assert_int_eq(a.dims[0], 10000);
	npuc_array_to_float(&a, 0, 5, lab);
	ck_assert_float_eq(lab[0], 9);
	ck_assert_float_eq(lab[1], 2);
	ck_assert_float_eq(lab[4], 6);
	npuc_array_free(&a);
}
END_TEST

START_TEST(test_idx_synthetic)
{
	const uint8_t i16[] = { 0, 0, 0x0b, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x01, 0x2c };
	const uint8_t f32[] = { 0, 0, 0x0d, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0 };
	const uint8_t f64[] = { 0, 0, 0x0e, 1, 0, 0, 0, 1, 0xc0, 0x04, 0, 0, 0, 0, 0, 0 };
	const uint8_t i32[] = { 0, 0, 0x0c, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x9c };
	uint8_t big[4096];
	struct npuc_array a;
	char path[128];
	float v[2];
	gzFile gz;
	size_t i;

	ck_assert_int_eq(npuc_idx_parse(i16, sizeof(i16), "i16", &a, &d), 0);
	npuc_array_to_float(&a, 0, 2, v);
	ck_assert_float_eq(v[0], -2);
	ck_assert_float_eq(v[1], 300);
	npuc_array_free(&a);
	ck_assert_int_eq(npuc_idx_parse(f32, sizeof(f32), "f32", &a, &d), 0);
	ck_assert_int_eq(a.rank, 2);
	npuc_array_to_float(&a, 0, 1, v);
	ck_assert_float_eq(v[0], 1.5f);
	npuc_array_free(&a);
	ck_assert_int_eq(npuc_idx_parse(f64, sizeof(f64), "f64", &a, &d), 0);
	npuc_array_to_float(&a, 0, 1, v);
	ck_assert_float_eq(v[0], -2.5f);
	npuc_array_free(&a);
	ck_assert_int_eq(npuc_idx_parse(i32, sizeof(i32), "i32", &a, &d), 0);
	npuc_array_to_float(&a, 0, 1, v);
	ck_assert_float_eq(v[0], -100);
	npuc_array_free(&a);

	/* Malformed. */
	memcpy(big, i16, sizeof(i16));
	big[2] = 0x07;
	ck_assert_int_eq(npuc_idx_parse(big, sizeof(i16), "x", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "unknown IDX element type 0x07"));
	big[2] = 0x0b;
	big[3] = 0;
	ck_assert_int_eq(npuc_idx_parse(big, sizeof(i16), "x", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "rank 0"));
	big[3] = 9;
	ck_assert_int_eq(npuc_idx_parse(big, sizeof(i16), "x", &a, &d), -1);
	big[3] = 1;
	ck_assert_int_eq(npuc_idx_parse(big, 6, "x", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "truncated IDX header"));
	ck_assert_int_eq(npuc_idx_parse(big, sizeof(i16) - 1, "x", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "truncated"));
	big[sizeof(i16)] = 0;
	ck_assert_int_eq(npuc_idx_parse(big, sizeof(i16) + 1, "x", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "unexpected bytes"));
	/* Dimensions whose product overflows. */
	memcpy(big, (const uint8_t[]){ 0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff }, 16);
	ck_assert_int_eq(npuc_idx_parse(big, 16, "x", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "too large"));
	for (i = 0; i < sizeof(i16); i++) {
		ck_assert_int_eq(npuc_idx_parse(i16, i, "x", &a, &d), -1);
		ck_assert_ptr_null(a.data);
	}

	/* gzip: a good file, then the same file cut short. */
	memcpy(big, (const uint8_t[]){ 0, 0, 8, 1, 0, 0, 0x0f, 0xf8 }, 8);
	for (i = 8; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7919u >> 3);
	tpath(path, sizeof(path), "a.idx.gz");
	gz = gzopen(path, "wb");
	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, big, sizeof(big)), (int)sizeof(big));
	ck_assert_int_eq(gzclose(gz), Z_OK);
	ck_assert_msg(npuc_array_load(path, &a, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(a.numel, 4088);
	ck_assert_mem_eq(a.data, big + 8, 4088);
	npuc_array_free(&a);
	ck_assert_int_eq(truncate(path, 200), 0);
	ck_assert_int_eq(npuc_idx_load(path, &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, path));
	ck_assert_ptr_null(a.data);

	/* Neither format; a missing file. */
	tpath(path, sizeof(path), "junk.bin");
	write_file(path, "hello world", 11);
	ck_assert_int_eq(npuc_array_load(path, &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "neither a .npy nor an IDX"));
	tpath(path, sizeof(path), "missing.npy");
	ck_assert_int_eq(npuc_array_load(path, &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "missing.npy"));
}
END_TEST

/* ---- calibration sets ---- */

static void fake_array(struct npuc_array *a, int rank, const int64_t *dims)
{
	int64_t n = 1;
	int i;

	memset(a, 0, sizeof(*a));
	a->type = NPUC_ARR_F32;
	a->rank = rank;
	for (i = 0; i < rank; i++) {
		a->dims[i] = dims[i];
		n *= dims[i];
	}
	a->numel = n;
	a->data = calloc((size_t)n + 1, sizeof(float));
	for (i = 0; i < n; i++)
		((float *)a->data)[i] = (float)i;
}

static int64_t add_shape(struct npuc_calib_set *s, int rank, const int64_t *dims)
{
	struct npuc_array a;
	int64_t r;

	fake_array(&a, rank, dims);
	r = npuc_calib_add_array(s, &a, "arr", &d);
	npuc_array_free(&a);
	return r;
}

START_TEST(test_calib_shapes)
{
	const int64_t in[] = { 1, 1, 28, 28 }, in2[] = { 1, 784 };
	struct npuc_calib_set s;

	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, NULL, &d), 0);
	ck_assert_int_eq(s.sample_numel, 784);
	ck_assert_int_eq(add_shape(&s, 2, (const int64_t[]){ 28, 28 }), 1);
	ck_assert_int_eq(add_shape(&s, 3, (const int64_t[]){ 1, 28, 28 }), 1);
	ck_assert_int_eq(add_shape(&s, 4, (const int64_t[]){ 1, 1, 28, 28 }), 1);
	ck_assert_int_eq(add_shape(&s, 3, (const int64_t[]){ 5, 28, 28 }), 5);
	ck_assert_int_eq(add_shape(&s, 4, (const int64_t[]){ 3, 1, 28, 28 }), 3);
	ck_assert_int_eq(s.n, 11);
	/* Sample 3 (first of the batch of 5) holds 0..783. */
	ck_assert_float_eq(npuc_calib_sample(&s, 3)[783], 783);
	ck_assert_float_eq(npuc_calib_sample(&s, 4)[0], 784);
	ck_assert_int_eq(add_shape(&s, 2, (const int64_t[]){ 5, 784 }), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "[5, 784] is neither one sample"));
	ck_assert_int_eq(add_shape(&s, 2, (const int64_t[]){ 28, 27 }), -1);
	ck_assert_int_eq(add_shape(&s, 1, (const int64_t[]){ 0 }), -1);
	ck_assert_int_eq(s.n, 11);
	npuc_calib_set_free(&s);

	ck_assert_int_eq(npuc_calib_set_init(&s, 2, in2, NULL, &d), 0);
	ck_assert_int_eq(add_shape(&s, 2, (const int64_t[]){ 5, 784 }), 5);
	ck_assert_int_eq(add_shape(&s, 1, (const int64_t[]){ 784 }), 1);
	ck_assert_int_eq(add_shape(&s, 2, (const int64_t[]){ 28, 28 }), -1);
	npuc_calib_set_free(&s);

	/* Bad input shapes. */
	ck_assert_int_eq(npuc_calib_set_init(&s, 2, (const int64_t[]){ 1, 0 }, NULL, &d), -1);
	ck_assert_int_eq(npuc_calib_set_init(&s, 2, (const int64_t[]){ 1 << 30, 1 << 30 }, NULL,
					     &d), -1);
}
END_TEST

START_TEST(test_calib_fmnist)
{
	const int64_t in[] = { 1, 1, 28, 28 };
	struct npuc_calib_opts o = { .scale = 1.0f / 255, .limit = 7 };
	struct npuc_calib_set s;
	struct npuc_array raw;
	float img[784];
	double sum = 0;
	int i;

	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, &o, &d), 0);
	ck_assert_msg(npuc_calib_add_path(&s, FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &d) == 7,
		      "%s", d.msg);
	ck_assert_int_eq(s.n, 7);
	ck_assert(npuc_calib_set_full(&s));
	for (i = 0; i < 784; i++)
		sum += npuc_calib_sample(&s, 0)[i];
	ck_assert_double_eq_tol(sum, 33456.0 / 255, 1e-3);
	/* Full: nothing more is added. */
	ck_assert_int_eq(npuc_calib_add_file(&s, FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &d), 0);
	npuc_calib_set_free(&s);

	/* mean 0.5 / std 0.5 on image 1, element by element. */
	o.n_mean = o.n_std = 1;
	o.mean[0] = 0.5f;
	o.std[0] = 0.5f;
	o.limit = 2;
	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, &o, &d), 0);
	ck_assert_int_eq(npuc_calib_add_file(&s, FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &d), 2);
	ck_assert_int_eq(npuc_idx_load(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &raw, &d), 0);
	npuc_array_to_float(&raw, 784, 784, img);
	for (i = 0; i < 784; i++)
		ck_assert_float_eq_tol(npuc_calib_sample(&s, 1)[i],
				       (img[i] / 255.0f - 0.5f) / 0.5f, 1e-6f);
	npuc_array_free(&raw);
	npuc_calib_set_free(&s);
}
END_TEST

START_TEST(test_calib_preprocess)
{
	const int64_t in[] = { 1, 3, 1, 2 };
	struct npuc_calib_opts o = { .scale = 0.5f, .n_mean = 3, .mean = { 1, 2, 3 },
				     .n_std = 3, .std = { 2, 4, 8 } };
	struct npuc_calib_set s;
	int e;

	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, &o, &d), 0);
	ck_assert_int_eq(s.n_ch, 3);
	ck_assert_int_eq(add_shape(&s, 4, in), 1);	/* values 0..5 */
	for (e = 0; e < 6; e++) {
		int c = e / 2;

		ck_assert_float_eq_tol(npuc_calib_sample(&s, 0)[e],
				       (e * 0.5f - o.mean[c]) / o.std[c], 1e-7f);
	}
	ck_assert_float_eq(npuc_calib_sample(&s, 0)[5], (2.5f - 3) / 8);
	npuc_calib_set_free(&s);

	/* One mean / std broadcast to all channels; scale defaults to 1. */
	o = (struct npuc_calib_opts){ .n_mean = 1, .mean = { 1 }, .n_std = 1, .std = { 4 } };
	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, &o, &d), 0);
	ck_assert_int_eq(add_shape(&s, 4, in), 1);
	ck_assert_float_eq(npuc_calib_sample(&s, 0)[5], 1.0f);
	npuc_calib_set_free(&s);

	/* A batch of 2 in the input shape: channel = dim 1 of each batch item. */
	o = (struct npuc_calib_opts){ .n_mean = 3, .mean = { 10, 20, 30 } };
	ck_assert_int_eq(npuc_calib_set_init(&s, 4, (const int64_t[]){ 2, 3, 1, 1 }, &o, &d), 0);
	ck_assert_int_eq(add_shape(&s, 4, (const int64_t[]){ 2, 3, 1, 1 }), 1);
	for (e = 0; e < 6; e++)
		ck_assert_float_eq(npuc_calib_sample(&s, 0)[e], e - o.mean[e % 3]);
	npuc_calib_set_free(&s);

	/* Wrong list lengths, zero std, non-finite results. */
	o = (struct npuc_calib_opts){ .n_mean = 2, .mean = { 1, 2 } };
	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, &o, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "2 mean values for an input with 3 channels"));
	o = (struct npuc_calib_opts){ .n_std = 3, .std = { 1, 0, 1 } };
	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, &o, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "std[1]"));
	o = (struct npuc_calib_opts){ .scale = 1e30f, .n_std = 1, .std = { 1e-30f } };
	ck_assert_int_eq(npuc_calib_set_init(&s, 4, in, &o, &d), 0);
	ck_assert_int_eq(add_shape(&s, 4, in), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "not finite"));
	ck_assert_int_eq(s.n, 0);
	npuc_calib_set_free(&s);
}
END_TEST

static void write_npy_scalar(const char *name, float v)
{
	uint8_t buf[256];
	char path[128];
	size_t n;

	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", &v, 4);
	tpath(path, sizeof(path), name);
	write_file(path, buf, n);
}

START_TEST(test_calib_dir)
{
	const int64_t in[] = { 1, 1 };
	struct npuc_calib_opts o = { .limit = 2 };
	struct npuc_calib_set s;
	char path[128];

	write_npy_scalar("c.npy", 3);
	write_npy_scalar("a.npy", 1);
	write_npy_scalar("b.npy", 2);
	tpath(path, sizeof(path), "notes.txt");
	write_file(path, "not data", 8);
	tpath(path, sizeof(path), "sub.npy");
	ck_assert_int_eq(mkdir(path, 0700), 0);

	ck_assert_int_eq(npuc_calib_set_init(&s, 2, in, NULL, &d), 0);
	ck_assert_msg(npuc_calib_add_path(&s, tmpdir, &d) == 3, "%s", d.msg);
	ck_assert_float_eq(npuc_calib_sample(&s, 0)[0], 1);
	ck_assert_float_eq(npuc_calib_sample(&s, 1)[0], 2);
	ck_assert_float_eq(npuc_calib_sample(&s, 2)[0], 3);
	npuc_calib_set_free(&s);

	ck_assert_int_eq(npuc_calib_set_init(&s, 2, in, &o, &d), 0);
	ck_assert_int_eq(npuc_calib_add_dir(&s, tmpdir, &d), 2);
	ck_assert_float_eq(npuc_calib_sample(&s, 1)[0], 2);
	ck_assert_int_eq(npuc_calib_add_dir(&s, tmpdir, &d), 0);	/* already full */
	npuc_calib_set_free(&s);

	/* A corrupt file is named in the error. */
	tpath(path, sizeof(path), "b.npy");
	write_file(path, "\x93NUMPY\x01\x00", 8);
	ck_assert_int_eq(npuc_calib_set_init(&s, 2, in, NULL, &d), 0);
	ck_assert_int_eq(npuc_calib_add_dir(&s, tmpdir, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "b.npy"));
	npuc_calib_set_free(&s);

	/* No .npy at all. */
	ck_assert_int_eq(npuc_calib_set_init(&s, 2, in, NULL, &d), 0);
	ck_assert_int_eq(npuc_calib_add_dir(&s, path, &d), -1);	/* a file, not a dir */
	tpath(path, sizeof(path), "sub.npy");
	ck_assert_int_eq(npuc_calib_add_dir(&s, path, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "no .npy files"));
	npuc_calib_set_free(&s);
}
END_TEST

START_TEST(test_calib_random)
{
	const int64_t in[] = { 1, 8 };
	struct npuc_calib_set s, s2;
	char path[128], msg[512] = { 0 };
	int fd, saved, i, differ = 0;
	FILE *f;

	tpath(path, sizeof(path), "stderr.txt");
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
	ck_assert_int_eq(npuc_calib_set_init(&s, 2, in, NULL, &d), 0);
	ck_assert_int_eq(npuc_calib_add_random(&s, 3, 42, -1, 1, &d), 3);
	ck_assert_int_eq(npuc_calib_set_init(&s2, 2, in, NULL, &d), 0);
	ck_assert_int_eq(npuc_calib_add_random(&s2, 3, 42, -1, 1, &d), 3);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(msg, 1, sizeof(msg) - 1, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(msg, "warning"));
	ck_assert_ptr_nonnull(strstr(msg, "RANDOM"));
	for (i = 0; i < 24; i++) {
		ck_assert(s.data[i] >= -1 && s.data[i] <= 1);
		ck_assert_float_eq(s.data[i], s2.data[i]);
		differ += s.data[i] != s.data[0];
	}
	ck_assert_int_gt(differ, 20);
	ck_assert_int_eq(npuc_calib_add_random(&s, 1, 1, 2, 1, &d), -1);
	npuc_calib_set_free(&s);
	npuc_calib_set_free(&s2);
}
END_TEST

START_TEST(test_parse_floats)
{
	float v[4];
	int n;

	ck_assert_int_eq(npuc_calib_parse_floats("0.485,0.456,0.406", v, 4, &n, &d), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_float_eq(v[1], 0.456f);
	ck_assert_int_eq(npuc_calib_parse_floats("-1e-2", v, 4, &n, &d), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_float_eq(v[0], -0.01f);
	ck_assert_int_eq(npuc_calib_parse_floats("1,,2", v, 4, &n, &d), -1);
	ck_assert_int_eq(npuc_calib_parse_floats("", v, 4, &n, &d), -1);
	ck_assert_int_eq(npuc_calib_parse_floats("1,2x", v, 4, &n, &d), -1);
	ck_assert_int_eq(npuc_calib_parse_floats("1,", v, 4, &n, &d), -1);
	ck_assert_int_eq(npuc_calib_parse_floats("inf", v, 4, &n, &d), -1);
	ck_assert_int_eq(npuc_calib_parse_floats("1,2,3,4,5", v, 4, &n, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "more than 4"));
}
END_TEST

/* ---- observers ---- */

static struct npuc_graph *names_graph(int n)
{
	struct npuc_graph *g = npuc_graph_new();
	char name[16];
	int i;

	ck_assert_ptr_nonnull(g);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		ck_assert_int_eq(npuc_graph_add_tensor(g, name, NPUC_DT_F32, -1, NULL, &d), i);
	}
	return g;
}

START_TEST(test_obs_minmax)
{
	const float a[] = { 0.5f, 3.25f, -1.75f }, b[] = { 2.0f, NAN, INFINITY, -INFINITY };
	const float c[] = { 0.25f, 0.75f }, z[] = { 0, 0, 0 };
	struct npuc_graph *g = names_graph(4);
	struct npuc_calib_obs *o = npuc_calib_obs_new(g, NULL, &d);
	double mn, mx;
	int64_t nf;
	float lo, hi;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(npuc_calib_obs_passes(o), 1);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 0, a, 3), 0);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 0, b, 4), 0);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 1, c, 2), 0);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 3, z, 3), 0);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 4, z, 3), -1);
	ck_assert_int_eq(npuc_calib_obs_minmax(o, 0, &mn, &mx, &nf), 1);
	ck_assert_double_eq(mn, -1.75);
	ck_assert_double_eq(mx, 3.25);
	ck_assert_int_eq(nf, 3);
	ck_assert_int_eq(npuc_calib_obs_range(o, 0, &lo, &hi), 1);
	ck_assert_float_eq(lo, -1.75f);
	ck_assert_float_eq(hi, 3.25f);
	/* Positive-only data: the range is widened to contain 0. */
	ck_assert_int_eq(npuc_calib_obs_range(o, 1, &lo, &hi), 1);
	ck_assert_float_eq(lo, 0);
	ck_assert_float_eq(hi, 0.75f);
	ck_assert_int_eq(npuc_calib_obs_range(o, 2, &lo, &hi), 0);
	ck_assert_int_eq(npuc_calib_obs_range(o, 3, &lo, &hi), 1);
	ck_assert_float_eq(hi, 0);
	ck_assert_int_eq(npuc_calib_obs_next_pass(o, &d), -1);
	npuc_calib_obs_free(o);
	npuc_graph_free(g);

	/* Bad configurations. */
	g = names_graph(1);
	ck_assert_ptr_null(npuc_calib_obs_new(g, &(struct npuc_calib_cfg){ .bins = 100 }, &d));
	ck_assert_ptr_null(npuc_calib_obs_new(g, &(struct npuc_calib_cfg){
		.method = NPUC_CALIB_PERCENTILE, .percentile = 101 }, &d));
	ck_assert_ptr_null(npuc_calib_obs_new(g, &(struct npuc_calib_cfg){ .method = 9 }, &d));
	npuc_graph_free(g);
	ck_assert_int_eq(npuc_calib_method_parse("kl"), NPUC_CALIB_ENTROPY);
	ck_assert_int_eq(npuc_calib_method_parse("mse"), NPUC_CALIB_MSE);
	ck_assert_int_eq(npuc_calib_method_parse("minmax"), NPUC_CALIB_MINMAX);
	ck_assert_int_eq(npuc_calib_method_parse("max"), -1);
}
END_TEST

/* Feeds x to tensor t for both passes of a histogram observer. */
static struct npuc_calib_obs *obs_two_pass(const struct npuc_graph *g,
					   const struct npuc_calib_cfg *cfg, const float *x,
					   int64_t n)
{
	struct npuc_calib_obs *o = npuc_calib_obs_new(g, cfg, &d);

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(npuc_calib_obs_passes(o), 2);
	/* In two chunks: passes see the data in pieces, as per sample. */
	ck_assert_int_eq(npuc_calib_obs_feed(o, 0, x, n / 3), 0);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 0, x + n / 3, n - n / 3), 0);
	ck_assert_int_eq(npuc_calib_obs_next_pass(o, &d), 0);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 0, x, n - n / 2), 0);
	ck_assert_int_eq(npuc_calib_obs_feed(o, 0, x + n - n / 2, n / 2), 0);
	return o;
}

START_TEST(test_obs_percentile)
{
	const int n = 100000;
	struct npuc_calib_cfg cfg = { .method = NPUC_CALIB_PERCENTILE, .percentile = 99 };
	struct npuc_graph *g = names_graph(1);
	struct npuc_calib_obs *o;
	float *x = malloc(n * sizeof(float)), lo, hi;
	int i;

	/* Uniform on [0, 1): the 99th percentile is 0.99. */
	for (i = 0; i < n; i++)
		x[i] = (i + 0.5f) / n;
	o = obs_two_pass(g, &cfg, x, n);
	ck_assert_int_eq(npuc_calib_obs_range(o, 0, &lo, &hi), 1);
	ck_assert_float_eq(lo, 0);
	ck_assert_float_eq_tol(hi, 0.99f, 1e-3f);
	npuc_calib_obs_free(o);

	/* Uniform on [-1, 1): 1st and 99th percentiles -0.98 and 0.98. */
	for (i = 0; i < n; i++)
		x[i] = -1 + 2 * (i + 0.5f) / n;
	o = obs_two_pass(g, &cfg, x, n);
	ck_assert_int_eq(npuc_calib_obs_range(o, 0, &lo, &hi), 1);
	ck_assert_float_eq_tol(lo, -0.98f, 2e-3f);
	ck_assert_float_eq_tol(hi, 0.98f, 2e-3f);
	npuc_calib_obs_free(o);

	/* 99.99% of a sample with 5 outliers in 100000 clips them. */
	for (i = 0; i < n; i++)
		x[i] = i < 5 ? 1000.0f : (float)(i % 100) / 100;
	cfg.percentile = 99.99;
	o = obs_two_pass(g, &cfg, x, n);
	ck_assert_int_eq(npuc_calib_obs_range(o, 0, &lo, &hi), 1);
	ck_assert_float_lt(hi, 1.5f);
	ck_assert_float_gt(hi, 0.9f);
	npuc_calib_obs_free(o);

	/* 100 is min / max. */
	cfg.percentile = 100;
	o = obs_two_pass(g, &cfg, x, n);
	ck_assert_int_eq(npuc_calib_obs_range(o, 0, &lo, &hi), 1);
	ck_assert_float_eq(lo, 0);
	ck_assert_float_eq(hi, 1000.0f);
	npuc_calib_obs_free(o);
	free(x);
	npuc_graph_free(g);
}
END_TEST

static uint64_t rng_state;

static double urand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return ((double)((z ^ (z >> 31)) >> 11) + 0.5) * 0x1.0p-53;
}

/*
 * Laplace(0, 1) samples (200000: min/max about -11 / 12.5); with outliers,
 * 20 values at +80 and 20 at -60 (+70 one-sided) replace some.
 */
static float *heavy_tail(int n, int one_sided, int outliers)
{
	float *x = malloc((size_t)n * sizeof(float));
	int i;

	rng_state = 12345;
	for (i = 0; i < n; i++) {
		double u = urand() - 0.5, v = -copysign(1.0, u) * log(1 - 2 * fabs(u));

		x[i] = (float)(one_sided ? fabs(v) : v);
	}
	for (i = 0; outliers && i < 20; i++) {
		x[i * 997] = 80.0f;
		x[i * 991 + 1] = one_sided ? 70.0f : -60.0f;
	}
	return x;
}

/* The histogram obs builds for x over [min(x,0), max(x,0)]. */
static double *histogram(const float *x, int n, int nb, double *lo, double *hi)
{
	double *h = calloc((size_t)nb, sizeof(double)), mn = 0, mx = 0;
	int i;

	for (i = 0; i < n; i++) {
		mn = fmin(mn, x[i]);
		mx = fmax(mx, x[i]);
	}
	for (i = 0; i < n; i++) {
		double p = (x[i] - mn) / (mx - mn) * nb;

		h[p >= nb ? nb - 1 : (int)p] += 1;
	}
	*lo = mn;
	*hi = mx;
	return h;
}

/* MSE's range is the least error among its neighbours and min/max. */
static void check_mse_optimal(const double *h, double hlo, double hhi, double rlo, double rhi)
{
	const int nb = NPUC_CALIB_DEFAULT_BINS;
	double e = npuc_hist_qerr(h, nb, hlo, hhi, 256, rlo, rhi);

	ck_assert_double_le(e, npuc_hist_qerr(h, nb, hlo, hhi, 256, hlo, hhi));
	ck_assert_double_lt(e, npuc_hist_qerr(h, nb, hlo, hhi, 256, rlo / 2, rhi / 2));
	ck_assert_double_lt(e, npuc_hist_qerr(h, nb, hlo, hhi, 256, rlo * 1.5, rhi * 1.5));
	ck_assert_double_lt(e, npuc_hist_qerr(h, nb, hlo, hhi, 256, rlo * 0.9, rhi * 0.9));
	ck_assert_double_lt(e, npuc_hist_qerr(h, nb, hlo, hhi, 256, rlo * 1.1, rhi * 1.1));
}

/*
 * Runs method m on a heavy-tailed sample; returns the range after the
 * checks every method must pass (inside the data range, zero included,
 * lo = 0 for one-sided data, equal to the bare histogram search).
 */
static void run_method(enum npuc_calib_method m, int one_sided, int outliers, float *lo,
		       float *hi, float *mn, float *mx)
{
	const int n = 200000, nb = NPUC_CALIB_DEFAULT_BINS;
	struct npuc_calib_cfg cfg = { .method = m };
	struct npuc_graph *g = names_graph(1);
	float *x = heavy_tail(n, one_sided, outliers);
	struct npuc_calib_obs *o = obs_two_pass(g, &cfg, x, n);
	double hlo, hhi, rlo, rhi, *h;

	ck_assert_int_eq(npuc_calib_obs_range(o, 0, lo, hi), 1);
	h = histogram(x, n, nb, &hlo, &hhi);
	*mn = (float)hlo;
	*mx = (float)hhi;
	ck_assert_float_ge(*lo, *mn);
	ck_assert_float_le(*hi, *mx);
	ck_assert_float_le(*lo, 0);
	ck_assert_float_gt(*hi, 0);
	if (one_sided)
		ck_assert_float_eq(*lo, 0);
	if (m == NPUC_CALIB_MSE)
		npuc_hist_mse(h, nb, hlo, hhi, 256, &rlo, &rhi);
	else
		npuc_hist_entropy(h, nb, hlo, hhi, 256, &rlo, &rhi);
	ck_assert_float_eq(*lo, (float)rlo);
	ck_assert_float_eq(*hi, (float)rhi);
	if (m == NPUC_CALIB_MSE)
		check_mse_optimal(h, hlo, hhi, rlo, rhi);
	free(h);
	free(x);
	npuc_calib_obs_free(o);
	npuc_graph_free(g);
}

/* Both clip the Laplace tail: well inside min/max, well outside the bulk. */
static void check_tail_clipped(enum npuc_calib_method m)
{
	float lo, hi, mn, mx;

	run_method(m, 0, 0, &lo, &hi, &mn, &mx);
	ck_assert_float_lt(hi - lo, 0.9f * (mx - mn));
	ck_assert_float_gt(hi - lo, 0.6f * (mx - mn));
	ck_assert_float_lt(hi, 0.99f * mx);
	ck_assert_float_gt(lo, 0.99f * mn);
	ck_assert_float_lt(lo, 0.6f * mn);
	ck_assert_float_gt(hi, 0.6f * mx);
	if (m == NPUC_CALIB_MSE) {
		/* Near the analytic MSE clip of Laplace(1) at 8 bits (about 9.9). */
		ck_assert_float_gt(hi, 8.5f);
		ck_assert_float_lt(hi, 11.5f);
		ck_assert_float_lt(lo, -8.5f);
	}
	run_method(m, 1, 0, &lo, &hi, &mn, &mx);
	ck_assert_float_lt(hi, 0.9f * mx);
	ck_assert_float_gt(hi, 0.6f * mx);
}

START_TEST(test_obs_entropy)
{
	float lo, hi, mn, mx;

	check_tail_clipped(NPUC_CALIB_ENTROPY);
	/* Far outliers: KL clips them off, keeping the bulk. */
	run_method(NPUC_CALIB_ENTROPY, 0, 1, &lo, &hi, &mn, &mx);
	ck_assert_float_lt(hi, 20);
	ck_assert_float_gt(hi, 5);
	ck_assert_float_gt(lo, -20);
	ck_assert_float_lt(lo, -5);
	run_method(NPUC_CALIB_ENTROPY, 1, 1, &lo, &hi, &mn, &mx);
	ck_assert_float_lt(hi, 20);
	ck_assert_float_gt(hi, 5);
}
END_TEST

START_TEST(test_obs_mse)
{
	float lo, hi, mn, mx;

	check_tail_clipped(NPUC_CALIB_MSE);
	/*
	 * 40 values at +80 / -60 in 200000: clipping them to the bulk costs
	 * more squared error than the coarser step, so MSE keeps (nearly) the
	 * full range; check_mse_optimal() verified that is the better choice.
	 */
	run_method(NPUC_CALIB_MSE, 0, 1, &lo, &hi, &mn, &mx);
	ck_assert_float_gt(hi, 40);
	ck_assert_float_lt(lo, -30);
}
END_TEST

/* Known answers of the MSE machinery on a uniform histogram. */
START_TEST(test_hist_uniform)
{
	const int nb = 2048;
	double *h = malloc(nb * sizeof(double)), s = 1.0 / 255, e, rlo, rhi;
	int i;

	for (i = 0; i < nb; i++)
		h[i] = 100;
	/* Rounding error of a uniform density: step^2 / 12. */
	e = npuc_hist_qerr(h, nb, 0, 1, 256, 0, 1);
	ck_assert_double_eq_tol(e, s * s / 12, s * s / 12 * 1e-6);
	/* Clipping at 0.5: plus the mean squared distance of the clipped half. */
	e = npuc_hist_qerr(h, nb, 0, 1, 256, 0, 0.5);
	ck_assert_double_eq_tol(e, 0.5 * (0.5 / 255) * (0.5 / 255) / 12 + 0.5 * 0.25 / 3, 1e-6);
	/* Nothing to clip in uniform data: MSE keeps (nearly) all of it. */
	npuc_hist_mse(h, nb, 0, 1, 256, &rlo, &rhi);
	ck_assert_double_eq(rlo, 0);
	ck_assert_double_gt(rhi, 0.99);
	npuc_hist_entropy(h, nb, 0, 1, 256, &rlo, &rhi);
	ck_assert_double_gt(rhi, 0.9);
	npuc_hist_percentile(h, nb, -1, 1, 90, &rlo, &rhi);
	ck_assert_double_eq_tol(rlo, -0.8, 1e-9);
	ck_assert_double_eq_tol(rhi, 0.8, 1e-9);
	free(h);
}
END_TEST

/* ---- graph-level calibration ---- */

static struct npuc_graph *relu_graph(void)
{
	const int64_t dims[] = { 1, 1, 1, 4 };
	struct npuc_graph *g = npuc_graph_new();
	int x, y;

	x = npuc_graph_add_tensor(g, "x", NPUC_DT_F32, 4, dims, &d);
	y = npuc_graph_add_tensor(g, "y", NPUC_DT_F32, 4, dims, &d);
	ck_assert_int_ge(npuc_graph_add_node(g, "r", "Relu", "", &x, 1, &y, 1, &d), 0);
	g->inputs = malloc(sizeof(int));
	g->outputs = malloc(sizeof(int));
	g->inputs[0] = x;
	g->outputs[0] = y;
	g->n_inputs = g->n_outputs = 1;
	g->t[x].flags |= NPUC_T_INPUT;
	g->t[y].flags |= NPUC_T_OUTPUT;
	g->opset = 13;
	return g;
}

static void ranges_alloc(struct npuc_act_ranges *r, int n)
{
	ck_assert_int_eq(npuc_act_ranges_init(r, n, &d), 0);
}

static void ranges_release(struct npuc_act_ranges *r)
{
	npuc_act_ranges_free(r);
}

START_TEST(test_calibrate_graph)
{
	static const float samples[3][4] = { { -1, 0.5f, 2, 3 }, { 0, 0, 0, -4 }, { 1, 1, 1, 5 } };
	struct npuc_graph *g = relu_graph();
	struct npuc_calib_cfg cfg = { .method = NPUC_CALIB_MINMAX };
	struct npuc_calib_set s;
	struct npuc_act_ranges r;
	struct npuc_array a;
	int m;

	/* An unknown batch dimension counts as 1; other unknown dims fail. */
	g->t[0].dims[0] = NPUC_DIM_UNKNOWN;
	ck_assert_int_eq(npuc_calib_set_init_input(&s, g, 0, NULL, &d), 0);
	ck_assert_int_eq(s.dims[0], 1);
	npuc_calib_set_free(&s);
	g->t[0].dims[3] = NPUC_DIM_UNKNOWN;
	ck_assert_int_eq(npuc_calib_set_init_input(&s, g, 0, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "unknown dimension 3"));
	g->t[0].dims[0] = 1;
	g->t[0].dims[3] = 4;
	ck_assert_int_eq(npuc_calib_set_init_input(&s, g, 0, NULL, &d), 0);
	fake_array(&a, 2, (const int64_t[]){ 3, 4 });
	memcpy(a.data, samples, sizeof(samples));
	ck_assert_int_eq(npuc_calib_add_array(&s, &a, "s", &d), 3);
	npuc_array_free(&a);

	ranges_alloc(&r, g->n_t);
	ck_assert_msg(npuc_calibrate(g, &s, 1, &cfg, &r, &d) == 0, "%s", d.msg);
	ck_assert(r.valid[0] && r.valid[1]);
	ck_assert_float_eq(r.lo[0], -4);
	ck_assert_float_eq(r.hi[0], 5);
	ck_assert_float_eq(r.lo[1], 0);
	ck_assert_float_eq(r.hi[1], 5);
	ranges_release(&r);

	/* Histogram methods run two passes and stay inside the data range. */
	for (m = NPUC_CALIB_PERCENTILE; m <= NPUC_CALIB_MSE; m++) {
		cfg.method = m;
		cfg.percentile = 100;
		ranges_alloc(&r, g->n_t);
		ck_assert_msg(npuc_calibrate(g, &s, 1, &cfg, &r, &d) == 0, "%s", d.msg);
		ck_assert(r.valid[0] && r.valid[1]);
		ck_assert_float_ge(r.lo[0], -4);
		ck_assert_float_le(r.hi[0], 5);
		ck_assert_float_eq(r.lo[1], 0);
		ck_assert_float_gt(r.hi[1], 0);
		if (m == NPUC_CALIB_PERCENTILE)
			ck_assert_float_eq(r.hi[1], 5);
		ranges_release(&r);
	}

	/* Errors: wrong set count, too small a range table. */
	ranges_alloc(&r, 1);
	ck_assert_int_eq(npuc_calibrate(g, &s, 0, &cfg, &r, &d), -1);
	ck_assert_int_eq(npuc_calibrate(g, &s, 1, &cfg, &r, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "range table"));
	ranges_release(&r);
	npuc_calib_set_free(&s);
	npuc_graph_free(g);
}
END_TEST

/* ---- SQNR and bias correction ---- */

static int qtensor(struct npuq_graph *q, const char *name, int h, int w, int c, float scale,
		   unsigned int flags)
{
	int t = npuq_add_tensor(q, name, h, w, c, scale, 0, flags, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

static void onnx_nchw(struct npuq_graph *q, int t)
{
	q->t[t].onnx_rank = 4;
	q->t[t].onnx_dims[0] = 1;
	q->t[t].onnx_dims[1] = q->t[t].c;
	q->t[t].onnx_dims[2] = q->t[t].h;
	q->t[t].onnx_dims[3] = q->t[t].w;
	q->t[t].nchw = 1;
}

/* A set for g's input from n samples x of shape dims[1..rank) (dims[0] = n). */
static void set_from(struct npuc_calib_set *s, const struct npuc_graph *g, const float *x,
		     int rank, const int64_t *dims)
{
	struct npuc_array a;

	ck_assert_int_eq(npuc_calib_set_init_input(s, g, 0, NULL, &d), 0);
	fake_array(&a, rank, dims);
	memcpy(a.data, x, (size_t)a.numel * sizeof(float));
	ck_assert_msg(npuc_calib_add_array(s, &a, "s", &d) == dims[0], "%s", d.msg);
	npuc_array_free(&a);
}

/*
 * Float: y = Relu(x) on non-negative x (so y = x). Qgraph: x -> QUANTIZE
 * (scale 0.5) -> y -> DEQUANTIZE -> out. The error is the rounding of x
 * to multiples of 0.5, known in closed form.
 */
START_TEST(test_sqnr_known)
{
	static const float x[2][4] = { { 0.1f, 0.3f, 1.0f, 2.2f }, { 0.2f, 0.7f, 1.2f, 0 } };
	struct npuc_graph *g = relu_graph();
	struct npuq_graph *q = npuq_graph_new();
	struct npuc_sqnr_report rep;
	struct npuc_calib_set s;
	double sig = 0, err = 0, want;
	char *text = NULL;
	size_t tlen = 0;
	int qx, qy, qo, i, j;
	FILE *f;

	qx = qtensor(q, "x", 1, 1, 4, 0, NPUQ_T_FLOAT);
	q->t[qx].onnx_rank = 4;
	memcpy(q->t[qx].onnx_dims, (const int64_t[]){ 1, 1, 1, 4 }, 4 * sizeof(int64_t));
	qy = qtensor(q, "y", 1, 1, 4, 0.5f, 0);
	qo = qtensor(q, "out", 1, 1, 4, 0, NPUQ_T_FLOAT);
	ck_assert_int_eq(npuq_add_input(q, qx, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_QUANTIZE, "quant", &qx, 1, &qy, 1, NULL, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_DEQUANTIZE, "deq", &qy, 1, &qo, 1, NULL, &d), 0);
	ck_assert_int_eq(npuq_add_output(q, qo, &d), 0);
	set_from(&s, g, &x[0][0], 2, (const int64_t[]){ 2, 4 });

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 4; j++) {
			double v = x[i][j], e = v - 0.5 * rint(v / 0.5);

			sig += v * v;
			err += e * e;
		}
	}
	want = 10 * log10(sig / err);
	ck_assert_double_eq_tol(want, 10 * log10(7.91 / 0.21), 1e-4);	/* 15.76 dB */

	ck_assert_msg(npuc_sqnr_measure(q, g, &s, 1, &rep, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(rep.samples, 2);
	ck_assert_int_eq(rep.n_rows, 1);	/* "y" only: x is the input, out unmatched */
	ck_assert_int_eq(rep.rows[0].q_tensor, qy);
	ck_assert_int_eq(rep.rows[0].f_tensor, 1);
	ck_assert_int_eq(rep.rows[0].count, 8);
	ck_assert_double_eq_tol(rep.rows[0].sqnr_db, want, 1e-6);
	ck_assert_double_eq_tol(rep.rows[0].max_abs_err, 0.2, 1e-6);

	f = open_memstream(&text, &tlen);
	npuc_sqnr_print(&rep, q, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "QUANTIZE"));
	ck_assert_ptr_nonnull(strstr(text, "15.76"));
	ck_assert_ptr_nonnull(strstr(text, "worst: y"));
	free(text);
	npuc_sqnr_report_free(&rep);

	/* Inputs must agree. */
	ck_assert_int_eq(npuc_sqnr_measure(q, g, &s, 2, &rep, NULL, &d), -1);
	npuc_calib_set_free(&s);
	npuq_graph_free(q);
	npuc_graph_free(g);
}
END_TEST

/* Float conv: x [1,2,2,2] (NCHW) * W [2,2,1,1] + B -> y. */
static struct npuc_graph *conv_graph(void)
{
	static const float w[4] = { 0.5f, 1.0f, -0.5f, 1.5f }, b[2] = { 0.25f, -0.5f };
	const int64_t xd[] = { 1, 2, 2, 2 }, wd[] = { 2, 2, 1, 1 }, bd[] = { 2 };
	struct npuc_graph *g = npuc_graph_new();
	int in[3], y;
	void *p;

	in[0] = npuc_graph_add_tensor(g, "x", NPUC_DT_F32, 4, xd, &d);
	in[1] = npuc_graph_add_tensor(g, "W", NPUC_DT_F32, 4, wd, &d);
	in[2] = npuc_graph_add_tensor(g, "B", NPUC_DT_F32, 1, bd, &d);
	y = npuc_graph_add_tensor(g, "y", NPUC_DT_F32, 4, xd, &d);
	p = malloc(sizeof(w));
	memcpy(p, w, sizeof(w));
	ck_assert_int_eq(npuc_tensor_set_data(g, in[1], p, sizeof(w), &d), 0);
	p = malloc(sizeof(b));
	memcpy(p, b, sizeof(b));
	ck_assert_int_eq(npuc_tensor_set_data(g, in[2], p, sizeof(b), &d), 0);
	g->t[in[1]].flags |= NPUC_T_CONST;
	g->t[in[2]].flags |= NPUC_T_CONST;
	ck_assert_int_ge(npuc_graph_add_node(g, "conv", "Conv", "", in, 3, &y, 1, &d), 0);
	g->inputs = malloc(sizeof(int));
	g->outputs = malloc(sizeof(int));
	g->inputs[0] = in[0];
	g->outputs[0] = y;
	g->n_inputs = g->n_outputs = 1;
	g->t[in[0]].flags |= NPUC_T_INPUT;
	g->t[y].flags |= NPUC_T_OUTPUT;
	g->opset = 13;
	return g;
}

/*
 * The int8 version with in_scale 0.25, w_scale 0.5, out_scale 0.125 (so
 * the requantisation multiplier is exactly 1), weights and bias exact,
 * except that the biases are off by bias_err[oc] accumulator units.
 */
static struct npuq_graph *conv_qgraph(const int32_t *bias_err, int8_t act_min)
{
	static const int8_t wq[4] = { 1, 2, -1, 3 };
	static const int32_t bq[2] = { 2, -4 };
	struct npuq_graph *q = npuq_graph_new();
	struct npuq_conv cv = { .k_h = 1, .k_w = 1, .stride_h = 1, .stride_w = 1, .dil_h = 1,
				.dil_w = 1, .groups = 1, .act_min = act_min, .act_max = 127 };
	int x, xq, y, out, oc;

	x = qtensor(q, "x", 2, 2, 2, 0, NPUQ_T_FLOAT);
	onnx_nchw(q, x);
	xq = qtensor(q, "x:q", 2, 2, 2, 0.25f, 0);
	y = qtensor(q, "y", 2, 2, 2, 0.125f, 0);
	out = qtensor(q, "y:f", 2, 2, 2, 0, NPUQ_T_FLOAT);
	onnx_nchw(q, out);
	cv.w = malloc(sizeof(wq));
	memcpy(cv.w, wq, sizeof(wq));
	cv.q = calloc(2, sizeof(*cv.q));
	cv.w_scale = malloc(2 * sizeof(float));
	for (oc = 0; oc < 2; oc++) {
		cv.q[oc].bias = bq[oc] + bias_err[oc];
		ck_assert_int_eq(npuq_quantize_multiplier(1.0, &cv.q[oc].mult, &cv.q[oc].shift), 0);
		cv.w_scale[oc] = 0.5f;
	}
	ck_assert_int_eq(npuq_add_input(q, x, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_QUANTIZE, "quant", &x, 1, &xq, 1, NULL, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_CONV, "conv", &xq, 1, &y, 1, &cv, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_DEQUANTIZE, "deq", &y, 1, &out, 1, NULL, &d), 0);
	ck_assert_int_eq(npuq_add_output(q, out, &d), 0);
	return q;
}

START_TEST(test_bias_correction)
{
	/* Multiples of 0.25, different per channel and pixel (NCHW). */
	static const float x[2][8] = { { 0.25f, -0.5f, 1.0f, 2.0f, -1.0f, 0.75f, 0.5f, -2.0f },
				       { 1.5f, 0.25f, -0.75f, 0, 2.0f, -0.25f, 1.0f, 0.5f } };
	static const int32_t none[2] = { 0, 0 }, off[2] = { 3, -2 };
	struct npuc_graph *g = conv_graph();
	struct npuq_graph *q = conv_qgraph(none, -128);
	struct npuc_sqnr_report rep;
	struct npuc_bias_stats bias;
	struct npuc_calib_set s;
	double sig = 0;
	int i, changed;

	set_from(&s, g, &x[0][0], 4, (const int64_t[]){ 2, 2, 2, 2 });
	/* Exact int8 arithmetic: no error anywhere (x:q, y and y:f all match). */
	ck_assert_msg(npuc_sqnr_measure(q, g, &s, 1, &rep, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(rep.n_rows, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(rep.rows[i].mismatch, 0);
		ck_assert_int_eq(rep.rows[i].count, 16);
		ck_assert(isinf(rep.rows[i].sqnr_db) && rep.rows[i].sqnr_db > 0);
	}
	ck_assert_int_eq(rep.rows[0].q_node, 0);	/* x:q from QUANTIZE */
	npuc_sqnr_report_free(&rep);
	npuq_graph_free(q);

	/* Biases off by +3 / -2 units of 0.125: every y is off by -0.375 / +0.25. */
	q = conv_qgraph(off, -128);
	ck_assert_int_eq(npuc_sqnr_measure(q, g, &s, 1, &rep, &bias, &d), 0);
	ck_assert_int_eq(bias.n_convs, 1);
	ck_assert_int_eq(bias.convs[0].q_node, 1);
	ck_assert_int_eq(bias.convs[0].count[0], 8);
	ck_assert_int_eq(bias.convs[0].count[1], 8);
	ck_assert_double_eq_tol(bias.convs[0].sum_err[0] / 8, -0.375, 1e-9);
	ck_assert_double_eq_tol(bias.convs[0].sum_err[1] / 8, 0.25, 1e-9);
	/* SQNR of y: signal from the float outputs, error 8 * (0.375^2 + 0.25^2). */
	for (i = 0; i < 2; i++) {
		static const float w[4] = { 0.5f, 1.0f, -0.5f, 1.5f }, b[2] = { 0.25f, -0.5f };
		int oc, p;

		for (oc = 0; oc < 2; oc++)
			for (p = 0; p < 4; p++) {
				double v = b[oc] + w[oc * 2] * x[i][p] +
					   w[oc * 2 + 1] * x[i][4 + p];

				sig += v * v;
			}
	}
	ck_assert_int_eq(rep.rows[1].q_tensor, 2);
	ck_assert_double_eq_tol(rep.rows[1].sqnr_db,
				10 * log10(sig / (8 * (0.375 * 0.375 + 0.25 * 0.25))), 1e-9);
	ck_assert_double_eq_tol(rep.rows[1].max_abs_err, 0.375, 1e-9);
	ck_assert_double_eq_tol(rep.rows[2].sqnr_db, rep.rows[1].sqnr_db, 1e-9);
	npuc_sqnr_report_free(&rep);

	ck_assert_int_eq(npuc_bias_apply(q, &bias, &changed, &d), 0);
	ck_assert_int_eq(changed, 2);
	ck_assert_int_eq(q->nodes[1].u.conv.q[0].bias, 2);
	ck_assert_int_eq(q->nodes[1].u.conv.q[1].bias, -4);
	npuc_bias_stats_free(&bias);
	ck_assert_int_eq(npuc_sqnr_measure(q, g, &s, 1, &rep, NULL, &d), 0);
	ck_assert(isinf(rep.rows[1].sqnr_db) && rep.rows[1].sqnr_db > 0);
	npuc_sqnr_report_free(&rep);
	npuq_graph_free(q);

	/*
	 * Fused ReLU (act_min = zp): only outputs whose float value is over 2
	 * steps (0.25) count, where the int8 result is not clamped: the means
	 * stay exact instead of being biased by the clamp at 0.
	 */
	q = conv_qgraph(off, 0);
	ck_assert_int_eq(npuc_sqnr_measure(q, g, &s, 1, NULL, &bias, &d), 0);
	for (i = 0; i < 2; i++) {
		static const float w[4] = { 0.5f, 1.0f, -0.5f, 1.5f }, b[2] = { 0.25f, -0.5f };
		int64_t want = 0;
		int k, p;

		for (k = 0; k < 2; k++)
			for (p = 0; p < 4; p++)
				want += b[i] + w[i * 2] * x[k][p] +
					w[i * 2 + 1] * x[k][4 + p] > 0.25f;
		ck_assert_int_gt(want, 0);
		ck_assert_int_lt(want, 8);
		ck_assert_int_eq(bias.convs[0].count[i], want);
		ck_assert_double_eq_tol(bias.convs[0].sum_err[i] / (double)want,
					i ? 0.25 : -0.375, 1e-9);
	}
	npuc_bias_stats_free(&bias);
	npuq_graph_free(q);

	/* Measure + apply in one call. */
	q = conv_qgraph(off, -128);
	ck_assert_int_eq(npuc_bias_correct(q, g, &s, 1, &changed, &d), 0);
	ck_assert_int_eq(changed, 2);
	ck_assert_int_eq(q->nodes[1].u.conv.q[0].bias, 2);
	ck_assert_int_eq(npuc_bias_correct(q, g, &s, 1, &changed, &d), 0);
	ck_assert_int_eq(changed, 0);
	npuq_graph_free(q);
	npuc_calib_set_free(&s);
	npuc_graph_free(g);
}
END_TEST

/*
 * Float: f = Flatten(x), x [1, 2, 2, 2] NCHW. Qgraph as quantize.h builds
 * it: x -> QUANTIZE -> x:q (NCHW, stored NHWC) -> RESHAPE -> f:q (1, 1, 8)
 * holding the NHWC bytes -> DEQUANTIZE -> f. The float f is in CHW order,
 * f:q and f in HWC order: the report must pair the right elements.
 */
START_TEST(test_sqnr_flatten)
{
	static const float x[2][8] = { { 0.1f, -0.5f, 1.0f, 2.0f, -1.0f, 0.75f, 0.5f, -2.0f },
				       { 1.5f, 0.3f, -0.75f, 0, 2.0f, -0.25f, 1.1f, 0.5f } };
	const int64_t xd[] = { 1, 2, 2, 2 }, fd[] = { 1, 8 };
	struct npuc_graph *g = npuc_graph_new();
	struct npuq_graph *q = npuq_graph_new();
	struct npuc_sqnr_report rep;
	struct npuc_calib_set s;
	double sig = 0, err = 0;
	int fx, ff, qx, qxq, qfq, qf, i;

	fx = npuc_graph_add_tensor(g, "x", NPUC_DT_F32, 4, xd, &d);
	ff = npuc_graph_add_tensor(g, "f", NPUC_DT_F32, 2, fd, &d);
	ck_assert_int_ge(npuc_graph_add_node(g, "flat", "Flatten", "", &fx, 1, &ff, 1, &d), 0);
	g->inputs = malloc(sizeof(int));
	g->outputs = malloc(sizeof(int));
	g->inputs[0] = fx;
	g->outputs[0] = ff;
	g->n_inputs = g->n_outputs = 1;
	g->t[fx].flags |= NPUC_T_INPUT;
	g->t[ff].flags |= NPUC_T_OUTPUT;
	g->opset = 13;

	qx = qtensor(q, "x", 2, 2, 2, 0, NPUQ_T_FLOAT);
	onnx_nchw(q, qx);
	qxq = qtensor(q, "x:q", 2, 2, 2, 0.25f, 0);
	onnx_nchw(q, qxq);
	qfq = qtensor(q, "f:q", 1, 1, 8, 0.25f, 0);
	qf = qtensor(q, "f", 1, 1, 8, 0, NPUQ_T_FLOAT);
	for (i = qfq; i <= qf; i++) {
		q->t[i].onnx_rank = 2;
		q->t[i].onnx_dims[0] = 1;
		q->t[i].onnx_dims[1] = 8;
	}
	ck_assert_int_eq(npuq_add_input(q, qx, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_QUANTIZE, "quant", &qx, 1, &qxq, 1, NULL, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_RESHAPE, "flat", &qxq, 1, &qfq, 1, NULL, &d), 0);
	ck_assert_int_ge(npuq_add_node(q, NPUQ_DEQUANTIZE, "deq", &qfq, 1, &qf, 1, NULL, &d), 0);
	ck_assert_int_eq(npuq_add_output(q, qf, &d), 0);
	set_from(&s, g, &x[0][0], 4, (const int64_t[]){ 2, 2, 2, 2 });

	for (i = 0; i < 16; i++) {
		double v = (&x[0][0])[i], e = v - 0.25 * rint(v / 0.25);

		sig += v * v;
		err += e * e;
	}
	ck_assert_double_gt(err, 0);
	ck_assert_msg(npuc_sqnr_measure(q, g, &s, 1, &rep, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(rep.n_rows, 3);	/* x:q, f:q, f */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(rep.rows[i].count, 16);
		ck_assert_double_eq_tol(rep.rows[i].sqnr_db, 10 * log10(sig / err), 1e-6);
		ck_assert_double_le(rep.rows[i].max_abs_err, 0.125 + 1e-6);
	}
	npuc_sqnr_report_free(&rep);

	/* A hostile qgraph fails cleanly. */
	q->nodes[1].out[0] = 99;
	ck_assert_int_eq(npuc_sqnr_measure(q, g, &s, 1, &rep, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "refers to no tensor"));
	q->nodes[1].out[0] = qfq;
	npuc_calib_set_free(&s);
	npuq_graph_free(q);
	npuc_graph_free(g);
}
END_TEST

Suite *suite_calib(void);
Suite *suite_calib(void)
{
	Suite *s = suite_create("calib");
	TCase *tc = tcase_create("data");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_npy_good);
	tcase_add_test(tc, test_npy_bad);
	tcase_add_test(tc, test_npy_hostile);
	tcase_add_test(tc, test_idx_fmnist);
	tcase_add_test(tc, test_idx_synthetic);
	tcase_add_test(tc, test_calib_shapes);
	tcase_add_test(tc, test_calib_fmnist);
	tcase_add_test(tc, test_calib_preprocess);
	tcase_add_test(tc, test_calib_dir);
	tcase_add_test(tc, test_calib_random);
	tcase_add_test(tc, test_parse_floats);
	suite_add_tcase(s, tc);

	tc = tcase_create("observe");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_obs_minmax);
	tcase_add_test(tc, test_obs_percentile);
	tcase_add_test(tc, test_obs_entropy);
	tcase_add_test(tc, test_obs_mse);
	tcase_add_test(tc, test_hist_uniform);
	tcase_add_test(tc, test_calibrate_graph);
	suite_add_tcase(s, tc);

	tc = tcase_create("sqnr");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sqnr_known);
	tcase_add_test(tc, test_sqnr_flatten);
	tcase_add_test(tc, test_bias_correction);
	suite_add_tcase(s, tc);
	return s;
}
