// SPDX-License-Identifier: MIT
/*
 * TensorProto decoding and the hardened protobuf front door shared by the
 * model importer (depth pre-scan, allocation budget, whole-file reads).
 */
#include "tensor_pb.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>

#include "onnx.pb-c.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raw_data is little-endian; npuc assumes a little-endian host"
#endif

/* Deepest legitimate ONNX nesting is ~10 (plus 3 per subgraph level). */
#define PB_MAX_DEPTH	64
#define PB_HDR		16	/* allocation header: keeps max_align_t alignment */
/*
 * protobuf-c merges repeated occurrences of a singular message field,
 * copying the repeated fields merged so far each time: quadratic. Encoders
 * write such a field once; a few more are tolerated.
 */
#define PB_MAX_MERGES	16
#define PB_MAX_FIELDS	64	/* per message type; ONNX has at most ~25 */

enum {
	OT_FLOAT = 1, OT_UINT8 = 2, OT_INT8 = 3, OT_UINT16 = 4, OT_INT16 = 5, OT_INT32 = 6,
	OT_INT64 = 7, OT_STRING = 8, OT_BOOL = 9, OT_FLOAT16 = 10, OT_DOUBLE = 11,
	OT_UINT32 = 12, OT_UINT64 = 13, OT_COMPLEX64 = 14, OT_COMPLEX128 = 15,
	OT_BFLOAT16 = 16,
};

static const char *onnx_type_name(int32_t t)
{
	static const char *const names[] = {
		"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
		"STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
		"COMPLEX128", "BFLOAT16",
	};

	if (t >= 0 && t < (int32_t)(sizeof(names) / sizeof(names[0])))
		return names[t];
	return "unknown";
}

enum npuc_dtype npuc_onnx_value_dtype(int32_t t)
{
	switch (t) {
	case OT_FLOAT: return NPUC_DT_F32;
	case OT_UINT8: return NPUC_DT_U8;
	case OT_INT8: return NPUC_DT_I8;
	case OT_INT32: return NPUC_DT_I32;
	case OT_INT64: return NPUC_DT_I64;
	case OT_BOOL: return NPUC_DT_BOOL;
	case OT_FLOAT16: return NPUC_DT_F16;
	case OT_DOUBLE: return NPUC_DT_F64;
	default: return NPUC_DT_UNDEF;
	}
}

enum npuc_dtype npuc_onnx_dtype(int32_t t, const char **name)
{
	enum npuc_dtype dt = npuc_onnx_value_dtype(t);

	if (name)
		*name = onnx_type_name(t);
	if (dt == NPUC_DT_F16 || dt == NPUC_DT_F64)
		dt = NPUC_DT_F32;
	return dt;
}

/* Bytes per element in raw_data for the supported ONNX types. */
static size_t onnx_raw_size(int32_t t)
{
	switch (t) {
	case OT_UINT8: case OT_INT8: case OT_BOOL: return 1;
	case OT_FLOAT16: return 2;
	case OT_FLOAT: case OT_INT32: return 4;
	case OT_INT64: case OT_DOUBLE: return 8;
	default: return 0;
	}
}

/* IEEE binary16 -> binary32, exact (subnormals, inf, NaN payload kept). */
static float half_to_float(uint16_t h)
{
	uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
	uint32_t bits;
	float f;

	if (e == 0x1f) {
		bits = s | 0x7f800000u | (m << 13);
	} else if (e) {
		bits = s | ((e + 112) << 23) | (m << 13);
	} else if (!m) {
		bits = s;
	} else {
		e = 113;
		while (!(m & 0x400u)) {
			m <<= 1;
			e--;
		}
		bits = s | (e << 23) | ((m & 0x3ffu) << 13);
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* double -> float without the undefined out-of-range conversion. */
static float double_to_float(double v)
{
	if (isnan(v))
		return NAN;
	if (v > FLT_MAX)
		return INFINITY;
	if (v < -FLT_MAX)
		return -INFINITY;
	return (float)v;
}

/* Checks dims and computes numel; rank > 8 and negative dims are rejected. */
static int tp_shape(const Onnx__TensorProto *tp, const char *what, struct npuc_tensor_pb *out,
		    struct npuc_diag *d)
{
	int64_t n = 1;

	if (tp->n_dims > NPUC_MAX_RANK) {
		npuc_diag_set(d, "%s: rank %zu exceeds the maximum of %d", what, tp->n_dims,
			      NPUC_MAX_RANK);
		return -1;
	}
	out->rank = (int)tp->n_dims;
	for (int i = 0; i < out->rank; i++) {
		int64_t v = tp->dims[i];

		if (v < 0) {
			npuc_diag_set(d, "%s: negative dimension %lld at axis %d", what,
				      (long long)v, i);
			return -1;
		}
		if (v && n > INT64_MAX / v) {
			npuc_diag_set(d, "%s: element count overflows", what);
			return -1;
		}
		n *= v;
		out->dims[i] = v;
	}
	for (int i = out->rank; i < NPUC_MAX_RANK; i++)
		out->dims[i] = NPUC_DIM_UNKNOWN;
	out->numel = n;
	return 0;
}

/* Count of values in the typed field appropriate for type t, and the wrong ones. */
static size_t tp_typed_count(const Onnx__TensorProto *tp, int32_t t, size_t *other)
{
	size_t f = tp->n_float_data, i32 = tp->n_int32_data, i64 = tp->n_int64_data;
	size_t dbl = tp->n_double_data, u64 = tp->n_uint64_data, str = tp->n_string_data;
	size_t all = f + i32 + i64 + dbl + u64 + str, mine;

	switch (t) {
	case OT_FLOAT: mine = f; break;
	case OT_INT64: mine = i64; break;
	case OT_DOUBLE: mine = dbl; break;
	default: mine = i32; break;	/* UINT8, INT8, BOOL, INT32, FLOAT16 */
	}
	*other = all - mine;
	return mine;
}

/* raw_data: little-endian elements, length already checked. */
static void tp_from_raw(const Onnx__TensorProto *tp, int32_t t, struct npuc_tensor_pb *out)
{
	size_t n = (size_t)out->numel, rs = onnx_raw_size(t);
	const uint8_t *src = tp->raw_data.data;

	if (t == OT_FLOAT16) {
		for (size_t i = 0; i < n; i++) {
			float v = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));

			memcpy((uint8_t *)out->data + 4 * i, &v, 4);
		}
	} else if (t == OT_DOUBLE) {
		for (size_t i = 0; i < n; i++) {
			double v;
			float f;

			memcpy(&v, src + 8 * i, 8);
			f = double_to_float(v);
			memcpy((uint8_t *)out->data + 4 * i, &f, 4);
		}
	} else if (t == OT_BOOL) {
		for (size_t i = 0; i < n; i++)
			((uint8_t *)out->data)[i] = src[i] != 0;
	} else if (n) {
		memcpy(out->data, src, n * rs);
	}
}

/* int32_data holds UINT8, INT8, BOOL, FLOAT16 (bits) and INT32 values. */
static int tp_from_int32(const Onnx__TensorProto *tp, int32_t t, const char *what,
			 struct npuc_tensor_pb *out, struct npuc_diag *d)
{
	int32_t lo = INT32_MIN, hi = INT32_MAX;

	switch (t) {
	case OT_UINT8: lo = 0; hi = 255; break;
	case OT_INT8: lo = -128; hi = 127; break;
	case OT_BOOL: lo = 0; hi = 1; break;
	case OT_FLOAT16: lo = 0; hi = 65535; break;
	default: break;
	}
	for (size_t i = 0; i < (size_t)out->numel; i++) {
		int32_t v = tp->int32_data[i];

		if (v < lo || v > hi) {
			npuc_diag_set(d, "%s: value %ld at index %zu is out of range for %s",
				      what, (long)v, i, onnx_type_name(t));
			return -1;
		}
		if (t == OT_FLOAT16) {
			float f = half_to_float((uint16_t)v);

			memcpy((uint8_t *)out->data + 4 * i, &f, 4);
		} else if (t == OT_INT32) {
			memcpy((uint8_t *)out->data + 4 * i, &v, 4);
		} else if (t == OT_INT8) {
			((int8_t *)out->data)[i] = (int8_t)v;
		} else {
			((uint8_t *)out->data)[i] = (uint8_t)v;
		}
	}
	return 0;
}

static int tp_from_typed(const Onnx__TensorProto *tp, int32_t t, const char *what,
			 struct npuc_tensor_pb *out, struct npuc_diag *d)
{
	size_t n = (size_t)out->numel;

	switch (t) {
	case OT_FLOAT:
		if (n)
			memcpy(out->data, tp->float_data, n * 4);
		return 0;
	case OT_INT64:
		if (n)
			memcpy(out->data, tp->int64_data, n * 8);
		return 0;
	case OT_DOUBLE:
		for (size_t i = 0; i < n; i++) {
			float f = double_to_float(tp->double_data[i]);

			memcpy((uint8_t *)out->data + 4 * i, &f, 4);
		}
		return 0;
	default:
		return tp_from_int32(tp, t, what, out, d);
	}
}

/* Rejects storage features npuc does not read (external data, segments). */
static int tp_check_storage(const Onnx__TensorProto *tp, const char *what, struct npuc_diag *d)
{
	int32_t loc = 0;

	/* Read the enum as an int: hostile files may hold values outside it. */
	if (tp->has_data_location)
		memcpy(&loc, &tp->data_location, sizeof(loc));
	if (loc != 0 || tp->n_external_data) {
		npuc_diag_set(d, "%s: external data is not supported (store the weights "
			      "inside the model file)", what);
		return -1;
	}
	if (tp->segment) {
		npuc_diag_set(d, "%s: segmented tensors are not supported", what);
		return -1;
	}
	return 0;
}

/* Checks the data present matches type and element count, before allocating. */
static int tp_check_data(const Onnx__TensorProto *tp, int32_t t, const char *what,
			 int64_t numel, struct npuc_diag *d)
{
	size_t other, typed = tp_typed_count(tp, t, &other), rs = onnx_raw_size(t);
	int has_raw = tp->has_raw_data && tp->raw_data.len;

	if (other) {
		npuc_diag_set(d, "%s: holds data in a field that does not match its type %s",
			      what, onnx_type_name(t));
		return -1;
	}
	if (has_raw && typed) {
		npuc_diag_set(d, "%s: has both raw_data and typed data", what);
		return -1;
	}
	if (!has_raw && !typed && numel) {
		npuc_diag_set(d, "%s: has no data (its shape needs %lld elements)", what,
			      (long long)numel);
		return -1;
	}
	if (has_raw && ((uint64_t)numel > SIZE_MAX / rs ||
			tp->raw_data.len != (size_t)numel * rs)) {
		npuc_diag_set(d, "%s: raw_data has %zu bytes, shape and type need %llu", what,
			      tp->raw_data.len, (unsigned long long)numel * rs);
		return -1;
	}
	if (!has_raw && typed != (uint64_t)numel) {
		npuc_diag_set(d, "%s: has %zu values, its shape needs %lld", what, typed,
			      (long long)numel);
		return -1;
	}
	return 0;
}

static int tp_data(const Onnx__TensorProto *tp, int32_t t, const char *what,
		   struct npuc_tensor_pb *out, struct npuc_diag *d)
{
	if (tp->has_raw_data && tp->raw_data.len) {
		tp_from_raw(tp, t, out);
		return 0;
	}
	return tp_from_typed(tp, t, what, out, d);
}

int npuc_tensor_from_proto(const struct Onnx__TensorProto *tp, const char *what,
			   uint64_t max_bytes, struct npuc_tensor_pb *out, struct npuc_diag *d)
{
	int32_t t = tp->has_data_type ? tp->data_type : 0;
	const char *tname;
	size_t es;

	memset(out, 0, sizeof(*out));
	out->dtype = npuc_onnx_dtype(t, &tname);
	if (out->dtype == NPUC_DT_UNDEF) {
		npuc_diag_set(d, "%s: element type %s (%ld) is not supported", what, tname,
			      (long)t);
		goto fail;
	}
	if (tp_check_storage(tp, what, d) < 0 || tp_shape(tp, what, out, d) < 0)
		goto fail;
	es = npuc_dtype_size(out->dtype);
	if ((uint64_t)out->numel > max_bytes / es) {
		npuc_diag_set(d, "%s: %lld elements exceed the size limit (%llu bytes of constant "
			      "data left)", what, (long long)out->numel,
			      (unsigned long long)max_bytes);
		goto fail;
	}
	if (tp_check_data(tp, t, what, out->numel, d) < 0)
		goto fail;
	out->nbytes = (size_t)out->numel * es;
	out->data = malloc(out->nbytes ? out->nbytes : 1);
	out->name = strdup(tp->name ? tp->name : "");
	if (!out->data || !out->name) {
		npuc_diag_set(d, "%s: out of memory (%zu bytes)", what, out->nbytes);
		goto fail;
	}
	if (tp_data(tp, t, what, out, d) < 0)
		goto fail;
	return 0;
fail:
	npuc_tensor_pb_free(out);
	return -1;
}

void npuc_tensor_pb_free(struct npuc_tensor_pb *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->data);
	memset(t, 0, sizeof(*t));
}

/* ---- protobuf front door ---- */

struct npuc_pb_ctx {
	ProtobufCAllocator alloc;
	size_t used, max;
	int refused;		/* an allocation went over the budget */
};

static void *budget_alloc(void *ud, size_t size)
{
	struct npuc_pb_ctx *c = ud;
	uint8_t *p;

	if (size > c->max - c->used || c->max - c->used - size < PB_HDR) {
		c->refused = 1;
		return NULL;
	}
	p = malloc(size + PB_HDR);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof(size));
	c->used += size + PB_HDR;
	return p + PB_HDR;
}

static void budget_free(void *ud, void *ptr)
{
	struct npuc_pb_ctx *c = ud;
	uint8_t *p = ptr;
	size_t size;

	if (!p)
		return;
	p -= PB_HDR;
	memcpy(&size, p, sizeof(size));
	c->used -= size + PB_HDR;
	free(p);
}

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (*pos >= len)
			return -1;
		b = p[(*pos)++];
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Counts occurrences of singular message fields; fails past PB_MAX_MERGES. */
static int pb_count(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f,
		    uint8_t *seen, const char *what, struct npuc_diag *d)
{
	size_t i = (size_t)(f - desc->fields);

	if (f->label == PROTOBUF_C_LABEL_REPEATED || i >= PB_MAX_FIELDS)
		return 0;
	if (++seen[i] > PB_MAX_MERGES) {
		npuc_diag_set(d, "%s: malformed protobuf (%s.%s occurs more than %d times)",
			      what, desc->short_name, f->name, PB_MAX_MERGES);
		return -1;
	}
	return 0;
}

/*
 * Walks the wire format guided by the message descriptors, recursing only
 * into fields declared as messages, and fails beyond PB_MAX_DEPTH.
 */
static int pb_scan(const uint8_t *p, size_t len, const ProtobufCMessageDescriptor *desc,
		   int depth, const char *what, struct npuc_diag *d)
{
	uint8_t seen[PB_MAX_FIELDS] = { 0 };
	size_t pos = 0;

	if (depth > PB_MAX_DEPTH) {
		npuc_diag_set(d, "%s: protobuf messages nested deeper than %d levels", what,
			      PB_MAX_DEPTH);
		return -1;
	}
	while (pos < len) {
		uint64_t key, v;
		const ProtobufCFieldDescriptor *f;

		if (get_varint(p, len, &pos, &key) < 0)
			goto bad;
		switch (key & 7) {
		case 0:
			if (get_varint(p, len, &pos, &v) < 0)
				goto bad;
			break;
		case 1:
			if (len - pos < 8)
				goto bad;
			pos += 8;
			break;
		case 5:
			if (len - pos < 4)
				goto bad;
			pos += 4;
			break;
		case 2:
			if (get_varint(p, len, &pos, &v) < 0 || v > len - pos)
				goto bad;
			f = NULL;
			if ((key >> 3) <= 0x1fffffffu)
				f = protobuf_c_message_descriptor_get_field(desc,
									    (unsigned)(key >> 3));
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    (pb_count(desc, f, seen, what, d) < 0 ||
			     pb_scan(p + pos, (size_t)v, f->descriptor, depth + 1, what, d) < 0))
				return -1;
			pos += (size_t)v;
			break;
		default:
			goto bad;
		}
	}
	return 0;
bad:
	npuc_diag_set(d, "%s: malformed protobuf (truncated or invalid wire data)", what);
	return -1;
}

void *npuc_pb_unpack(const struct ProtobufCMessageDescriptor *desc, const void *buf,
		     size_t len, const char *what, struct npuc_pb_ctx **ctx,
		     struct npuc_diag *d)
{
	struct npuc_pb_ctx *c;
	ProtobufCMessage *m;

	*ctx = NULL;
	if (!buf && len) {
		npuc_diag_set(d, "%s: no data", what);
		return NULL;
	}
	if (len > NPUC_MAX_PB_FILE) {
		npuc_diag_set(d, "%s: %zu bytes exceed the 2 GiB protobuf limit", what, len);
		return NULL;
	}
	if (pb_scan(buf, len, desc, 0, what, d) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		npuc_diag_set(d, "%s: out of memory", what);
		return NULL;
	}
	/*
	 * Decoded structures stay within a small multiple of the wire size for
	 * real models (weights dominate); hostile ones can reach ~140x (empty
	 * AttributeProtos, 2 bytes each on the wire).
	 */
	c->max = len < (SIZE_MAX >> 6) ? 24 * len + (128u << 20) : SIZE_MAX;
	c->alloc.alloc = budget_alloc;
	c->alloc.free = budget_free;
	c->alloc.allocator_data = c;
	m = protobuf_c_message_unpack(desc, &c->alloc, len, buf);
	if (!m) {
		if (c->refused)
			npuc_diag_set(d, "%s: decoding needs more than %zu bytes of memory "
				      "(hostile or malformed %s)", what, c->max, desc->short_name);
		else
			npuc_diag_set(d, "%s: not a valid %s protobuf (decoding failed)", what,
				      desc->short_name);
		free(c);
		return NULL;
	}
	*ctx = c;
	return m;
}

void npuc_pb_free(void *msg, struct npuc_pb_ctx *ctx)
{
	if (msg && ctx)
		protobuf_c_message_free_unpacked(msg, &ctx->alloc);
	free(ctx);
}

int npuc_read_file(const char *path, size_t max, void **buf, size_t *len, struct npuc_diag *d)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *p, *np;
	struct stat st;
	FILE *f;

	*buf = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f) {
		npuc_diag_set(d, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0) {
		if ((uint64_t)st.st_size > max) {
			npuc_diag_set(d, "%s: file too large (%lld bytes, limit %zu)", path,
				      (long long)st.st_size, max);
			fclose(f);
			return -1;
		}
		cap = (size_t)st.st_size + 1;
	}
	p = malloc(cap);
	if (!p)
		goto oom;
	for (;;) {
		size_t r = fread(p + n, 1, cap - n, f);

		n += r;
		if (r == 0 || n > max)
			break;
		if (n < cap)
			continue;
		/* Full: grow up to max + 1 bytes, enough to notice a too large file. */
		cap = cap > max / 2 ? max + 1 : cap * 2;
		np = realloc(p, cap);
		if (!np)
			goto oom;
		p = np;
	}
	if (ferror(f) || n > max) {
		npuc_diag_set(d, "%s: %s", path, ferror(f) ? "read error" : "file too large");
		goto fail;
	}
	fclose(f);
	*buf = p;
	*len = n;
	return 0;
oom:
	npuc_diag_set(d, "%s: out of memory", path);
fail:
	free(p);
	fclose(f);
	return -1;
}

int npuc_tensor_pb_load_mem(const void *buf, size_t len, struct npuc_tensor_pb *out,
			    struct npuc_diag *d)
{
	struct npuc_pb_ctx *ctx;
	Onnx__TensorProto *tp;
	char what[160];
	int ret;

	memset(out, 0, sizeof(*out));
	tp = npuc_pb_unpack(&onnx__tensor_proto__descriptor, buf, len, "tensor", &ctx, d);
	if (!tp)
		return -1;
	snprintf(what, sizeof(what), "tensor '%.100s'", tp->name ? tp->name : "");
	ret = npuc_tensor_from_proto(tp, what, NPUC_MAX_CONST_BYTES, out, d);
	npuc_pb_free(tp, ctx);
	return ret;
}

int npuc_tensor_pb_load_file(const char *path, struct npuc_tensor_pb *out,
			     struct npuc_diag *d)
{
	void *buf;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if (npuc_read_file(path, NPUC_MAX_PB_FILE, &buf, &len, d) < 0)
		return -1;
	ret = npuc_tensor_pb_load_mem(buf, len, out, d);
	free(buf);
	return ret;
}
