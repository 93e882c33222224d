// SPDX-License-Identifier: MIT
/*
 * Numeric array files: .npy and IDX (plain or gzip) decoding, checked
 * against hostile content (formats in array_file.h).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "array_file.h"

static const char *const arr_type_names[] = {
	[NPUC_ARR_U8] = "uint8",
	[NPUC_ARR_I8] = "int8",
	[NPUC_ARR_I16] = "int16",
	[NPUC_ARR_I32] = "int32",
	[NPUC_ARR_F32] = "float32",
	[NPUC_ARR_F64] = "float64",
};

static const size_t arr_type_size[] = {
	[NPUC_ARR_U8] = 1, [NPUC_ARR_I8] = 1, [NPUC_ARR_I16] = 2,
	[NPUC_ARR_I32] = 4, [NPUC_ARR_F32] = 4, [NPUC_ARR_F64] = 8,
};

const char *npuc_arr_type_name(enum npuc_arr_type t)
{
	if ((unsigned int)t > NPUC_ARR_F64)
		return "?";
	return arr_type_names[t];
}

void npuc_array_free(struct npuc_array *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}

void npuc_array_to_float(const struct npuc_array *a, int64_t first, int64_t n, float *out)
{
	const uint8_t *p = (const uint8_t *)a->data + (size_t)first * arr_type_size[a->type];
	int64_t i;

	for (i = 0; i < n; i++) {
		int16_t h;
		int32_t w;
		float f;
		double x;

		switch (a->type) {
		case NPUC_ARR_U8:
			out[i] = (float)p[i];
			break;
		case NPUC_ARR_I8:
			out[i] = (float)(int8_t)p[i];
			break;
		case NPUC_ARR_I16:
			memcpy(&h, p + 2 * i, 2);
			out[i] = (float)h;
			break;
		case NPUC_ARR_I32:
			memcpy(&w, p + 4 * i, 4);
			out[i] = (float)w;
			break;
		case NPUC_ARR_F32:
			memcpy(&f, p + 4 * i, 4);
			out[i] = f;
			break;
		case NPUC_ARR_F64:
			memcpy(&x, p + 8 * i, 8);
			/* Out-of-range doubles become +-inf, rejected by the caller. */
			out[i] = (float)(fabs(x) > 3.4028234663852886e38 && isfinite(x) ?
					 copysign(INFINITY, x) : x);
			break;
		}
	}
}

/* Copies n elements of size es from file byte order into native order. */
static void decode_elems(uint8_t *dst, const uint8_t *src, int64_t n, size_t es, int big)
{
	int64_t i;
	size_t b;

	for (i = 0; i < n; i++, src += es, dst += es) {
		uint64_t v = 0;
		uint8_t tmp[8];

		for (b = 0; b < es; b++)
			v |= (uint64_t)src[big ? es - 1 - b : b] << (8 * b);
		switch (es) {
		case 1:
			*dst = (uint8_t)v;
			break;
		case 2: {
			uint16_t x = (uint16_t)v;

			memcpy(tmp, &x, 2);
			break;
		}
		case 4: {
			uint32_t x = (uint32_t)v;

			memcpy(tmp, &x, 4);
			break;
		}
		default:
			memcpy(tmp, &v, 8);
			break;
		}
		if (es > 1)
			memcpy(dst, tmp, es);
	}
}

/*
 * Shape checks shared by both formats: the element count with overflow
 * checks, and the data size against the bytes present after the header.
 */
static int finish_array(struct npuc_array *a, const uint8_t *data, size_t avail, int big,
			const char *what, struct npuc_diag *d)
{
	size_t es = arr_type_size[a->type];
	int64_t n = 1;
	uint64_t nbytes;
	int i;

	for (i = 0; i < a->rank; i++) {
		if (a->dims[i] < 0) {
			npuc_diag_set(d, "%s: negative dimension", what);
			return -1;
		}
		if (a->dims[i] && n > (int64_t)(NPUC_ARRAY_MAX_FILE / es) / a->dims[i]) {
			npuc_diag_set(d, "%s: array too large (dimension %d = %lld)", what, i,
				      (long long)a->dims[i]);
			return -1;
		}
		n *= a->dims[i];
	}
	nbytes = (uint64_t)n * es;
	if (nbytes > avail) {
		npuc_diag_set(d, "%s: truncated: %s data of %llu bytes, only %zu present", what,
			      npuc_arr_type_name(a->type), (unsigned long long)nbytes, avail);
		return -1;
	}
	if (nbytes < avail) {
		npuc_diag_set(d, "%s: %zu unexpected bytes after the %llu bytes of data", what,
			      avail - (size_t)nbytes, (unsigned long long)nbytes);
		return -1;
	}
	a->numel = n;
	a->data = malloc(nbytes ? (size_t)nbytes : 1);
	if (!a->data) {
		npuc_diag_set(d, "%s: out of memory", what);
		return -1;
	}
	decode_elems(a->data, data, n, es, big);
	return 0;
}

/* ---- .npy ---- */

static const uint8_t npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

struct npy_hdr {
	const char *p, *end;
	const char *what;
	struct npuc_diag *d;
};

static void hdr_ws(struct npy_hdr *h)
{
	while (h->p < h->end && (*h->p == ' ' || *h->p == '\t'))
		h->p++;
}

/* Reports the position as the number of header characters consumed. */
static int hdr_fail(struct npy_hdr *h, const char *start, const char *expect)
{
	npuc_diag_set(h->d, "%s: bad .npy header: expected %s at header offset %d", h->what,
		      expect, (int)(h->p - start));
	return -1;
}

static int hdr_char(struct npy_hdr *h, char c)
{
	hdr_ws(h);
	if (h->p < h->end && *h->p == c) {
		h->p++;
		return 1;
	}
	return 0;
}

/* A quoted Python string without escapes, copied into out[cap]. */
static int hdr_string(struct npy_hdr *h, char *out, size_t cap)
{
	char q;
	size_t n = 0;

	hdr_ws(h);
	if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
		return -1;
	q = *h->p++;
	while (h->p < h->end && *h->p != q) {
		if (*h->p == '\\' || n + 1 >= cap)
			return -1;
		out[n++] = *h->p++;
	}
	if (h->p >= h->end)
		return -1;
	h->p++;
	out[n] = 0;
	return 0;
}

static int hdr_word(struct npy_hdr *h, const char *w)
{
	size_t n = strlen(w);

	hdr_ws(h);
	if ((size_t)(h->end - h->p) >= n && !memcmp(h->p, w, n)) {
		h->p += n;
		return 1;
	}
	return 0;
}

/* A non-negative decimal integer (Python 2's 'L' suffix accepted). */
static int hdr_int(struct npy_hdr *h, int64_t *v)
{
	const char *s;
	int64_t x = 0;

	hdr_ws(h);
	s = h->p;
	while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
		if (x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*h->p++ - '0');
	}
	if (h->p == s || (h->p - s > 1 && *s == '0'))
		return -1;
	if (h->p < h->end && *h->p == 'L')
		h->p++;
	*v = x;
	return 0;
}

/* A Python tuple of ints: (), (n,), (a, b) or (a, b,). */
static int hdr_shape(struct npy_hdr *h, struct npuc_array *a, const char *start)
{
	if (!hdr_char(h, '('))
		return hdr_fail(h, start, "'(' starting the shape tuple");
	a->rank = 0;
	if (hdr_char(h, ')'))
		return 0;
	for (;;) {
		if (a->rank >= NPUC_ARRAY_MAX_RANK) {
			npuc_diag_set(h->d, "%s: .npy shape has more than %d dimensions", h->what,
				      NPUC_ARRAY_MAX_RANK);
			return -1;
		}
		if (hdr_int(h, &a->dims[a->rank]))
			return hdr_fail(h, start, "a non-negative integer in the shape");
		a->rank++;
		if (hdr_char(h, ')')) {
			if (a->rank == 1)
				return hdr_fail(h, start, "',' in a one-element shape tuple");
			return 0;
		}
		if (!hdr_char(h, ','))
			return hdr_fail(h, start, "',' or ')' in the shape");
		if (hdr_char(h, ')'))
			return 0;
	}
}

static int npy_descr(struct npy_hdr *h, const char *s, struct npuc_array *a, int *big)
{
	static const struct { char code[3]; enum npuc_arr_type t; } types[] = {
		{ "f4", NPUC_ARR_F32 }, { "f8", NPUC_ARR_F64 },
		{ "u1", NPUC_ARR_U8 }, { "i1", NPUC_ARR_I8 },
	};
	size_t i;

	if (strlen(s) == 3 && strchr("<>|", s[0])) {
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			if (strcmp(s + 1, types[i].code))
				continue;
			a->type = types[i].t;
			if (s[0] == '|' && arr_type_size[a->type] > 1)
				break;
			*big = s[0] == '>';
			return 0;
		}
	}
	npuc_diag_set(h->d, "%s: unsupported .npy dtype '%s' (supported: float32 '<f4', "
		      "float64 '<f8', uint8 '|u1', int8 '|i1')", h->what, s);
	return -1;
}

/* The header dict: exactly descr, fortran_order and shape, any order. */
static int npy_dict(struct npy_hdr *h, struct npuc_array *a, int *big)
{
	const char *start = h->p;
	unsigned int seen = 0;
	char key[32], val[32];

	if (!hdr_char(h, '{'))
		return hdr_fail(h, start, "'{'");
	while (!hdr_char(h, '}')) {
		unsigned int bit;

		if (hdr_string(h, key, sizeof(key)))
			return hdr_fail(h, start, "a quoted key");
		bit = !strcmp(key, "descr") ? 1 : !strcmp(key, "fortran_order") ? 2 :
		      !strcmp(key, "shape") ? 4 : 0;
		if (!bit || (seen & bit)) {
			npuc_diag_set(h->d, "%s: bad .npy header: %s key '%s'", h->what,
				      bit ? "duplicate" : "unknown", key);
			return -1;
		}
		seen |= bit;
		if (!hdr_char(h, ':'))
			return hdr_fail(h, start, "':'");
		if (bit == 1) {
			if (hdr_string(h, val, sizeof(val)))
				return hdr_fail(h, start, "a quoted descr string");
			if (npy_descr(h, val, a, big))
				return -1;
		} else if (bit == 2) {
			if (hdr_word(h, "True")) {
				npuc_diag_set(h->d, "%s: Fortran-order .npy arrays are not "
					      "supported (save with C order)", h->what);
				return -1;
			}
			if (!hdr_word(h, "False"))
				return hdr_fail(h, start, "True or False");
		} else if (hdr_shape(h, a, start)) {
			return -1;
		}
		if (!hdr_char(h, ',')) {
			if (!hdr_char(h, '}'))
				return hdr_fail(h, start, "',' or '}'");
			break;
		}
	}
	if (seen != 7) {
		npuc_diag_set(h->d, "%s: bad .npy header: missing '%s'", h->what,
			      !(seen & 1) ? "descr" : !(seen & 2) ? "fortran_order" : "shape");
		return -1;
	}
	hdr_ws(h);
	if (h->p != h->end)
		return hdr_fail(h, start, "only spaces after the dict");
	return 0;
}

int npuc_npy_parse(const void *buf, size_t len, const char *what, struct npuc_array *out,
		   struct npuc_diag *d)
{
	const uint8_t *b = buf;
	size_t hoff, hlen, i;
	struct npy_hdr h;
	int big = 0;

	memset(out, 0, sizeof(*out));
	if (len < 10 || memcmp(b, npy_magic, 6)) {
		npuc_diag_set(d, "%s: not a .npy file (%s)", what,
			      len < 10 ? "too short" : "bad magic");
		return -1;
	}
	if ((b[6] != 1 && b[6] != 2) || b[7] != 0) {
		npuc_diag_set(d, "%s: unsupported .npy format version %u.%u (1.0 and 2.0 are)",
			      what, b[6], b[7]);
		return -1;
	}
	if (b[6] == 1) {
		hoff = 10;
		hlen = (size_t)b[8] | (size_t)b[9] << 8;
	} else {
		if (len < 12) {
			npuc_diag_set(d, "%s: truncated .npy header", what);
			return -1;
		}
		hoff = 12;
		hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
		       (size_t)b[11] << 24;
	}
	if (hlen > len - hoff) {
		npuc_diag_set(d, "%s: truncated .npy header (%zu bytes announced, %zu present)",
			      what, hlen, len - hoff);
		return -1;
	}
	if (hlen == 0 || b[hoff + hlen - 1] != '\n') {
		npuc_diag_set(d, "%s: bad .npy header: not terminated by a newline", what);
		return -1;
	}
	for (i = 0; i + 1 < hlen; i++) {
		if (b[hoff + i] < 0x20 || b[hoff + i] > 0x7e) {
			npuc_diag_set(d, "%s: bad .npy header: byte 0x%02x at header offset %zu",
				      what, b[hoff + i], i);
			return -1;
		}
	}
	h.p = (const char *)b + hoff;
	h.end = h.p + hlen - 1;
	h.what = what;
	h.d = d;
	if (npy_dict(&h, out, &big) ||
	    finish_array(out, b + hoff + hlen, len - hoff - hlen, big, what, d)) {
		npuc_array_free(out);
		return -1;
	}
	return 0;
}

/* ---- IDX ---- */

int npuc_idx_parse(const void *buf, size_t len, const char *what, struct npuc_array *out,
		   struct npuc_diag *d)
{
	const uint8_t *b = buf;
	size_t off;
	int i;

	memset(out, 0, sizeof(*out));
	if (len < 4 || b[0] || b[1]) {
		npuc_diag_set(d, "%s: not an IDX file (%s)", what, len < 4 ? "too short" :
			      "bad magic");
		return -1;
	}
	switch (b[2]) {
	case 0x08: out->type = NPUC_ARR_U8; break;
	case 0x09: out->type = NPUC_ARR_I8; break;
	case 0x0b: out->type = NPUC_ARR_I16; break;
	case 0x0c: out->type = NPUC_ARR_I32; break;
	case 0x0d: out->type = NPUC_ARR_F32; break;
	case 0x0e: out->type = NPUC_ARR_F64; break;
	default:
		npuc_diag_set(d, "%s: unknown IDX element type 0x%02x", what, b[2]);
		return -1;
	}
	if (b[3] < 1 || b[3] > NPUC_ARRAY_MAX_RANK) {
		npuc_diag_set(d, "%s: IDX rank %u not supported (1..%d)", what, b[3],
			      NPUC_ARRAY_MAX_RANK);
		return -1;
	}
	out->rank = b[3];
	off = 4 + 4 * (size_t)out->rank;
	if (len < off) {
		npuc_diag_set(d, "%s: truncated IDX header", what);
		return -1;
	}
	for (i = 0; i < out->rank; i++) {
		const uint8_t *p = b + 4 + 4 * i;

		out->dims[i] = (int64_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
	}
	if (finish_array(out, b + off, len - off, 1, what, d)) {
		npuc_array_free(out);
		return -1;
	}
	return 0;
}

/* Product of n dims times es, 0 on overflow past the file limit. */
static uint64_t bytes_of(const uint64_t *dims, int n, uint64_t es)
{
	uint64_t v = es;

	for (int i = 0; i < n; i++) {
		if (dims[i] && v > NPUC_ARRAY_MAX_FILE / dims[i])
			return 0;
		v *= dims[i];
	}
	return v;
}

/* A .npy's total size from its header (the first len bytes), 0 if unknown. */
static uint64_t npy_total(const uint8_t *b, size_t len)
{
	uint64_t dims[NPUC_ARRAY_MAX_RANK], es = 0;
	size_t hl, start;
	const char *h, *p, *end;
	int n = 0;

	if (len < 12 || memcmp(b, npy_magic, 6))
		return 0;
	start = b[6] == 1 ? 10 : 12;
	hl = b[6] == 1 ? (size_t)(b[8] | b[9] << 8) :
	     (size_t)(b[8] | b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24);
	if (start + hl > len)
		return 0;
	h = (const char *)b + start;
	end = h + hl;
	for (p = h; p + 7 < end && strncmp(p, "'descr'", 7); p++)
		;
	for (p += 7; p < end && *p != '\''; p++)
		;
	for (p++; p < end && *p != '\''; p++)
		if (*p >= '0' && *p <= '9')
			es = es * 10 + (uint64_t)(*p - '0');
	for (p = h; p + 7 < end && strncmp(p, "'shape'", 7); p++)
		;
	for (; p < end && *p != '('; p++)
		;
	for (p++; p < end && *p != ')' && n < NPUC_ARRAY_MAX_RANK; ) {
		uint64_t v = 0;

		while (p < end && (*p == ' ' || *p == ','))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			break;
		while (p < end && *p >= '0' && *p <= '9' && v < NPUC_ARRAY_MAX_FILE)
			v = v * 10 + (uint64_t)(*p++ - '0');
		dims[n++] = v;
	}
	if (!es || es > 16 || p >= end || *p != ')')
		return 0;
	es = bytes_of(dims, n, es);
	return es ? start + hl + es : 0;
}

/* An IDX file's total size from its header, 0 if unknown. */
static uint64_t idx_total(const uint8_t *b, size_t len)
{
	static const uint8_t es[16] = { [0x08] = 1, [0x09] = 1, [0x0b] = 2, [0x0c] = 4,
					[0x0d] = 4, [0x0e] = 8 };
	uint64_t dims[NPUC_ARRAY_MAX_RANK], v;
	int rank;

	if (len < 4 || b[0] || b[1] || b[2] > 0x0e || !es[b[2]] || b[3] < 1 ||
	    b[3] > NPUC_ARRAY_MAX_RANK || len < 4 + 4 * (size_t)b[3])
		return 0;
	rank = b[3];
	for (int i = 0; i < rank; i++)
		dims[i] = (uint64_t)b[4 + 4 * i] << 24 | b[5 + 4 * i] << 16 | b[6 + 4 * i] << 8 |
			  b[7 + 4 * i];
	v = bytes_of(dims, rank, es[b[2]]);
	return v ? 4 + 4 * (uint64_t)rank + v : 0;
}

/*
 * Reads a whole file through zlib, which passes non-gzip content through
 * unchanged. Truncated or corrupt gzip streams are errors. Once the first
 * block holds a .npy or IDX header, reading stops one byte past the size
 * it declares: a gzip bomb is not inflated to the 1 GiB limit.
 */
static int read_gz(const char *path, void **buf, size_t *len, struct npuc_diag *d)
{
	size_t cap = 1 << 16, n = 0, max = NPUC_ARRAY_MAX_FILE;
	int peeked = 0;
	uint8_t *p = NULL, *np;
	const char *msg;
	gzFile f;
	int err;

	*buf = NULL;
	*len = 0;
	f = gzopen(path, "rb");
	if (!f) {
		npuc_diag_set(d, "%s: %s", path, errno ? strerror(errno) : "cannot open");
		return -1;
	}
	for (;;) {
		int r;

		if (n == cap || !p) {
			cap = p ? cap * 2 : cap;
			if (cap > max + 1)
				cap = max + 1;
			np = realloc(p, cap);
			if (!np) {
				npuc_diag_set(d, "%s: out of memory", path);
				goto fail;
			}
			p = np;
		}
		r = gzread(f, p + n, (unsigned int)(cap - n > (1u << 30) ? 1u << 30 : cap - n));
		if (r <= 0)
			break;
		n += (size_t)r;
		if (!peeked && n >= 4096) {
			uint64_t want = npy_total(p, n);

			want = want ? want : idx_total(p, n);
			peeked = 1;
			if (want && want < max)
				max = (size_t)want;	/* one byte more is "trailing data" */
		}
		if (n > max) {
			npuc_diag_set(d, "%s: %s (limit %llu bytes)", path, peeked && max <
				      NPUC_ARRAY_MAX_FILE ? "more data than its header declares" :
				      "too large", (unsigned long long)max);
			goto fail;
		}
	}
	msg = gzerror(f, &err);
	if (err != Z_OK) {
		npuc_diag_set(d, "%s: %s", path, err == Z_BUF_ERROR ?
			      "truncated gzip stream" : err == Z_ERRNO ? strerror(errno) : msg);
		goto fail;
	}
	gzclose_r(f);
	*buf = p;
	*len = n;
	return 0;
fail:
	free(p);
	gzclose_r(f);
	return -1;
}

static int is_npy(const void *buf, size_t len)
{
	return len >= 6 && !memcmp(buf, npy_magic, 6);
}

typedef int (*array_parse_fn)(const void *buf, size_t len, const char *what,
			      struct npuc_array *out, struct npuc_diag *d);

/* Reads path (plain or gzip, within its declared size) and parses it with parse. */
static int array_file_load(const char *path, array_parse_fn parse, struct npuc_array *out,
			   struct npuc_diag *d)
{
	void *buf;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if (read_gz(path, &buf, &len, d))
		return -1;
	ret = parse(buf, len, path, out, d);
	free(buf);
	return ret;
}

/* .npy or IDX, told apart by the first bytes. */
static int any_parse(const void *buf, size_t len, const char *what, struct npuc_array *out,
		     struct npuc_diag *d)
{
	const uint8_t *b = buf;

	if (is_npy(buf, len))
		return npuc_npy_parse(buf, len, what, out, d);
	if (len >= 4 && !b[0] && !b[1])
		return npuc_idx_parse(buf, len, what, out, d);
	npuc_diag_set(d, "%s: neither a .npy nor an IDX file (plain or gzip)", what);
	return -1;
}

int npuc_npy_load(const char *path, struct npuc_array *out, struct npuc_diag *d)
{
	return array_file_load(path, npuc_npy_parse, out, d);
}

int npuc_idx_load(const char *path, struct npuc_array *out, struct npuc_diag *d)
{
	return array_file_load(path, npuc_idx_parse, out, d);
}

int npuc_array_load(const char *path, struct npuc_array *out, struct npuc_diag *d)
{
	return array_file_load(path, any_parse, out, d);
}
