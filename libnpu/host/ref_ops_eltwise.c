// SPDX-License-Identifier: MIT
/*
 * Elementwise ops: arithmetic with multidirectional broadcasting,
 * comparisons and logic, variadic Max/Min/Sum/Mean, Where, Clip and the
 * unary activations. Float tensors compute in float32 like ONNX's
 * reference; integer tensors wrap modulo their width (numpy semantics).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ref_ops_internal.h"

#define BC_MAX 3	/* operands of one broadcast kernel (Where has 3) */

typedef void (*row_fn)(void *ctx, const int64_t *off, const int64_t *st, int64_t o, int64_t len);

/*
 * Walks the broadcast output in rows along its last dimension and calls
 * row() with each operand's element offset and stride along that row.
 */
static void bcast_rows(int n, const struct npuc_value *const *in, const struct npuc_value *out,
		       row_fn row, void *ctx)
{
	int64_t str[BC_MAX][NPUC_MAX_RANK], off[BC_MAX] = { 0 }, st[BC_MAX] = { 0 };
	int64_t idx[NPUC_MAX_RANK] = { 0 }, len;
	int r = out->rank;

	if (out->numel == 0)
		return;
	if (r == 0) {
		row(ctx, off, st, 0, 1);
		return;
	}
	for (int k = 0; k < n; k++) {
		ref_bcast_strides(in[k], r, out->dims, str[k]);
		st[k] = str[k][r - 1];
	}
	len = out->dims[r - 1];
	for (int64_t o = 0; o < out->numel; o += len) {
		row(ctx, off, st, o, len);
		for (int j = r - 2; j >= 0; j--) {
			idx[j]++;
			for (int k = 0; k < n; k++)
				off[k] += str[k][j];
			if (idx[j] < out->dims[j])
				break;
			for (int k = 0; k < n; k++)
				off[k] -= str[k][j] * out->dims[j];
			idx[j] = 0;
		}
	}
}

/* ---- binary ops ---- */

struct bin_ctx {
	enum ref_bin_op op;
	const struct npuc_value *a, *b;
	struct npuc_value *y;
};

static float bin_f(enum ref_bin_op op, float a, float b)
{
	switch (op) {
	case REF_B_ADD: return a + b;
	case REF_B_SUB: return a - b;
	case REF_B_MUL: return a * b;
	case REF_B_DIV: return a / b;
	case REF_B_POW: return (float)pow(a, b);
	case REF_B_MAX: return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
	case REF_B_MIN: return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
	case REF_B_PRELU: return a < 0 ? a * b : a;
	case REF_B_FMOD: return fmodf(a, b);
	default: return 0;
	}
}

static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

static int64_t int_pow(int64_t a, int64_t b)
{
	int64_t r = 1;

	if (b < 0)
		return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
	while (b > 0) {
		if (b & 1)
			r = wrap_mul(r, a);
		a = wrap_mul(a, a);
		b >>= 1;
	}
	return r;
}

/* Integer binary op; division/modulo by zero gives 0 (undefined in ONNX). */
static int64_t bin_i(enum ref_bin_op op, int64_t a, int64_t b)
{
	switch (op) {
	case REF_B_ADD: return wrap_add(a, b);
	case REF_B_SUB: return wrap_sub(a, b);
	case REF_B_MUL: return wrap_mul(a, b);
	case REF_B_DIV:
		if (b == 0)
			return 0;
		if (b == -1)
			return wrap_sub(0, a);
		return a / b;
	case REF_B_POW: return int_pow(a, b);
	case REF_B_MAX: return a > b ? a : b;
	case REF_B_MIN: return a < b ? a : b;
	case REF_B_PRELU: return a < 0 ? wrap_mul(a, b) : a;
	case REF_B_MOD: {	/* fmod=0: sign of the divisor, like Python's % */
		int64_t m;

		if (b == 0 || b == -1)
			return 0;
		m = a % b;
		return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
	}
	case REF_B_FMOD:
		if (b == 0 || b == -1)
			return 0;
		return a % b;
	default: return 0;
	}
}

static int cmp_f(enum ref_bin_op op, double a, double b)
{
	switch (op) {
	case REF_B_EQ: return a == b;
	case REF_B_LT: return a < b;
	case REF_B_GT: return a > b;
	case REF_B_LE: return a <= b;
	case REF_B_GE: return a >= b;
	case REF_B_AND: return a != 0 && b != 0;
	case REF_B_OR: return a != 0 || b != 0;
	case REF_B_XOR: return (a != 0) != (b != 0);
	default: return 0;
	}
}

static int cmp_i(enum ref_bin_op op, int64_t a, int64_t b)
{
	switch (op) {
	case REF_B_EQ: return a == b;
	case REF_B_LT: return a < b;
	case REF_B_GT: return a > b;
	case REF_B_LE: return a <= b;
	case REF_B_GE: return a >= b;
	default: return cmp_f(op, (double)a, (double)b);
	}
}

static void bin_row(void *ctx, const int64_t *off, const int64_t *st, int64_t o, int64_t len)
{
	struct bin_ctx *bc = ctx;
	const struct npuc_value *a = bc->a, *b = bc->b;
	int64_t ia = off[0], ib = off[1];

	if (bc->op >= REF_B_EQ) {
		uint8_t *y = (uint8_t *)bc->y->data + o;
		int fl = a->dtype == NPUC_DT_F32;

		for (int64_t i = 0; i < len; i++, ia += st[0], ib += st[1])
			y[i] = (uint8_t)(fl ? cmp_f(bc->op, ref_get_f(a, ia), ref_get_f(b, ib))
					    : cmp_i(bc->op, ref_get_i(a, ia), ref_get_i(b, ib)));
		return;
	}
	if (a->dtype == NPUC_DT_F32 && b->dtype == NPUC_DT_F32) {
		const float *x0 = a->data, *x1 = b->data;
		float *y = (float *)bc->y->data + o;

		for (int64_t i = 0; i < len; i++, ia += st[0], ib += st[1])
			y[i] = bin_f(bc->op, x0[ia], x1[ib]);
		return;
	}
	if (a->dtype == NPUC_DT_F32) {	/* Pow with an integer exponent */
		const float *x0 = a->data;
		float *y = (float *)bc->y->data + o;

		for (int64_t i = 0; i < len; i++, ia += st[0], ib += st[1])
			y[i] = (float)pow(x0[ia], ref_get_f(b, ib));
		return;
	}
	for (int64_t i = 0; i < len; i++, ia += st[0], ib += st[1]) {
		int64_t r;

		if (b->dtype == NPUC_DT_F32) {	/* only Pow mixes types */
			double p = pow(ref_get_f(a, ia), ref_get_f(b, ib));

			r = isfinite(p) && fabs(p) < 9.2e18 ? (int64_t)p : 0;
		} else {
			r = bin_i(bc->op, ref_get_i(a, ia), ref_get_i(b, ib));
		}
		ref_set_i(bc->y, o + i, r);
	}
}

void ref_binary(enum ref_bin_op op, const struct npuc_value *a, const struct npuc_value *b,
		struct npuc_value *y)
{
	const struct npuc_value *ab[2] = { a, b };
	struct bin_ctx bc = { .op = op, .a = a, .b = b, .y = y };

	bcast_rows(2, ab, y, bin_row, &bc);
}

/* y = a op b broadcast; y is allocated here (type from a, or BOOL for comparisons). */
static int bin_apply(struct ref_ctx *c, enum ref_bin_op op, const struct npuc_value *a,
		     const struct npuc_value *b, struct npuc_value *y)
{
	const struct npuc_value *ab[2] = { a, b };
	int64_t dims[NPUC_MAX_RANK];
	enum npuc_dtype dt = op >= REF_B_EQ ? NPUC_DT_BOOL : a->dtype;
	int rank;

	if (a->dtype != b->dtype && op != REF_B_POW)
		return ref_fail(c, "operand types differ (%s vs %s)", npuc_dtype_name(a->dtype),
				npuc_dtype_name(b->dtype));
	if ((op == REF_B_AND || op == REF_B_OR || op == REF_B_XOR) && a->dtype != NPUC_DT_BOOL)
		return ref_fail(c, "logical op on non-bool %s", npuc_dtype_name(a->dtype));
	if (ref_broadcast(c, ab, 2, &rank, dims))
		return -1;
	if (npuc_value_alloc(y, dt, rank, dims, c->d))
		return -1;
	ref_binary(op, a, b, y);
	return 0;
}

static int binary(struct ref_ctx *c, enum ref_bin_op op)
{
	const struct npuc_value *a = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *b = ref_need(c, 1, NPUC_DT_UNDEF);

	if (!a || !b || c->n_out < 1)
		return a && b ? ref_fail(c, "no output") : -1;
	return bin_apply(c, op, a, b, &c->out[0]);
}

int ref_op_add(struct ref_ctx *c) { return binary(c, REF_B_ADD); }
int ref_op_sub(struct ref_ctx *c) { return binary(c, REF_B_SUB); }
int ref_op_mul(struct ref_ctx *c) { return binary(c, REF_B_MUL); }
int ref_op_div(struct ref_ctx *c) { return binary(c, REF_B_DIV); }
int ref_op_pow(struct ref_ctx *c) { return binary(c, REF_B_POW); }
int ref_op_prelu(struct ref_ctx *c) { return binary(c, REF_B_PRELU); }
int ref_op_equal(struct ref_ctx *c) { return binary(c, REF_B_EQ); }
int ref_op_less(struct ref_ctx *c) { return binary(c, REF_B_LT); }
int ref_op_greater(struct ref_ctx *c) { return binary(c, REF_B_GT); }
int ref_op_less_eq(struct ref_ctx *c) { return binary(c, REF_B_LE); }
int ref_op_greater_eq(struct ref_ctx *c) { return binary(c, REF_B_GE); }
int ref_op_and(struct ref_ctx *c) { return binary(c, REF_B_AND); }
int ref_op_or(struct ref_ctx *c) { return binary(c, REF_B_OR); }
int ref_op_xor(struct ref_ctx *c) { return binary(c, REF_B_XOR); }

int ref_op_mod(struct ref_ctx *c)
{
	const struct npuc_value *a = ref_in(c, 0);
	int fm = (int)npuc_attr_int(c->n, "fmod", 0);

	if (a && a->dtype == NPUC_DT_F32 && !fm)
		return ref_fail(c, "float Mod requires fmod=1");
	return binary(c, fm ? REF_B_FMOD : REF_B_MOD);
}

/* Max/Min/Sum/Mean over any number of broadcast inputs, folded pairwise. */
static int variadic(struct ref_ctx *c, enum ref_bin_op op, int mean)
{
	struct npuc_value acc = { 0 }, nxt;
	const struct npuc_value *first = ref_need(c, 0, NPUC_DT_UNDEF);

	if (!first || c->n_out < 1)
		return first ? ref_fail(c, "no output") : -1;
	if (npuc_value_copy(&acc, first, c->d))
		return -1;
	for (int k = 1; k < c->n_in; k++) {
		const struct npuc_value *b = ref_need(c, k, NPUC_DT_UNDEF);

		if (!b || bin_apply(c, op, &acc, b, &nxt)) {
			npuc_value_free(&acc);
			return -1;
		}
		npuc_value_free(&acc);
		acc = nxt;
	}
	if (mean) {
		if (acc.dtype != NPUC_DT_F32) {
			npuc_value_free(&acc);
			return ref_fail(c, "Mean needs float inputs");
		}
		for (int64_t i = 0; i < acc.numel; i++)
			((float *)acc.data)[i] /= (float)c->n_in;
	}
	c->out[0] = acc;
	return 0;
}

int ref_op_max(struct ref_ctx *c) { return variadic(c, REF_B_MAX, 0); }
int ref_op_min(struct ref_ctx *c) { return variadic(c, REF_B_MIN, 0); }
int ref_op_sum(struct ref_ctx *c) { return variadic(c, REF_B_ADD, 0); }
int ref_op_mean(struct ref_ctx *c) { return variadic(c, REF_B_ADD, 1); }

/* ---- Where ---- */

struct where_ctx {
	const struct npuc_value *cond, *x, *y;
	struct npuc_value *out;
	size_t es;
};

static void where_row(void *ctx, const int64_t *off, const int64_t *st, int64_t o, int64_t len)
{
	struct where_ctx *w = ctx;
	const uint8_t *cd = w->cond->data;
	const char *x = w->x->data, *y = w->y->data;
	char *out = w->out->data;
	int64_t ic = off[0], ix = off[1], iy = off[2];

	for (int64_t i = 0; i < len; i++, ic += st[0], ix += st[1], iy += st[2])
		memcpy(out + (size_t)(o + i) * w->es,
		       cd[ic] ? x + (size_t)ix * w->es : y + (size_t)iy * w->es, w->es);
}

void ref_where(const struct npuc_value *cond, const struct npuc_value *x,
	       const struct npuc_value *y, struct npuc_value *out)
{
	const struct npuc_value *v[3] = { cond, x, y };
	struct where_ctx w = { cond, x, y, out, npuc_dtype_size(x->dtype) };

	bcast_rows(3, v, out, where_row, &w);
}

int ref_op_where(struct ref_ctx *c)
{
	const struct npuc_value *v[3] = { ref_need(c, 0, NPUC_DT_BOOL),
					  ref_need(c, 1, NPUC_DT_UNDEF),
					  ref_need(c, 2, NPUC_DT_UNDEF) };
	struct npuc_value *out;
	int64_t dims[NPUC_MAX_RANK];
	int rank;

	if (!v[0] || !v[1] || !v[2])
		return -1;
	if (v[1]->dtype != v[2]->dtype)
		return ref_fail(c, "X and Y types differ");
	if (ref_broadcast(c, v, 3, &rank, dims))
		return -1;
	if (npuc_dtype_size(v[1]->dtype) == 0 || npuc_dtype_size(v[1]->dtype) > 8)
		return ref_fail(c, "bad element type");
	out = ref_out(c, 0, v[1]->dtype, rank, dims);
	if (!out)
		return -1;
	ref_where(v[0], v[1], v[2], out);
	return 0;
}

/* ---- unary ops ---- */

static float un_f(enum ref_un_op op, float x, float alpha, float beta, float gamma)
{
	switch (op) {
	case REF_U_RELU: return x > 0 ? x : 0;
	case REF_U_LEAKY: return x >= 0 ? x : alpha * x;
	case REF_U_SIGMOID: return 1.0f / (1.0f + expf(-x));
	case REF_U_TANH: return tanhf(x);
	case REF_U_HSIGMOID: return fmaxf(0.0f, fminf(1.0f, alpha * x + beta));
	case REF_U_HSWISH: return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
	case REF_U_ELU: return x >= 0 ? x : alpha * (expf(x) - 1.0f);
	case REF_U_SELU: return x > 0 ? gamma * x : gamma * (alpha * expf(x) - alpha);
	case REF_U_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
	case REF_U_SOFTSIGN: return x / (1.0f + fabsf(x));
	case REF_U_THRELU: return x > alpha ? x : 0;
	case REF_U_EXP: return expf(x);
	case REF_U_LOG: return logf(x);
	case REF_U_SQRT: return sqrtf(x);
	case REF_U_ABS: return fabsf(x);
	case REF_U_NEG: return -x;
	case REF_U_RECIP: return 1.0f / x;
	case REF_U_FLOOR: return floorf(x);
	case REF_U_CEIL: return ceilf(x);
	case REF_U_ROUND: return ref_rint(x);
	case REF_U_ERF: return erff(x);
	case REF_U_SIN: return sinf(x);
	case REF_U_COS: return cosf(x);
	case REF_U_SIGN: return x > 0 ? 1.0f : (x < 0 ? -1.0f : x);
	case REF_U_CELU: return fmaxf(0.0f, x) + fminf(0.0f, alpha * (expf(x / alpha) - 1.0f));
	case REF_U_TAN: return tanf(x);
	case REF_U_ASIN: return asinf(x);
	case REF_U_ACOS: return acosf(x);
	case REF_U_ATAN: return atanf(x);
	case REF_U_SINH: return sinhf(x);
	case REF_U_COSH: return coshf(x);
	case REF_U_ASINH: return asinhf(x);
	case REF_U_ACOSH: return acoshf(x);
	case REF_U_ATANH: return atanhf(x);
	case REF_U_SHRINK: return x < -alpha ? x + beta : (x > alpha ? x - beta : 0.0f);
	case REF_U_MISH: return x * tanhf(x > 20.0f ? x : log1pf(expf(x)));
	default: return 0;
	}
}

static int64_t un_i(enum ref_un_op op, int64_t x)
{
	switch (op) {
	case REF_U_RELU: return x > 0 ? x : 0;
	case REF_U_ABS: return x < 0 ? wrap_sub(0, x) : x;
	case REF_U_NEG: return wrap_sub(0, x);
	case REF_U_SIGN: return x > 0 ? 1 : (x < 0 ? -1 : 0);
	case REF_U_NOT: return !x;
	default: return x;
	}
}

void ref_unary(enum ref_un_op op, float alpha, float beta, float gamma,
	       const struct npuc_value *x, struct npuc_value *y)
{
	if (x->dtype == NPUC_DT_F32) {
		const float *xs = x->data;
		float *ys = y->data;

		for (int64_t i = 0; i < x->numel; i++)
			ys[i] = un_f(op, xs[i], alpha, beta, gamma);
	} else {
		for (int64_t i = 0; i < x->numel; i++)
			ref_set_i(y, i, un_i(op, ref_get_i(x, i)));
	}
}

static int unary(struct ref_ctx *c, enum ref_un_op op, float alpha, float beta, float gamma)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	struct npuc_value *y;
	int int_ok = op == REF_U_RELU || op == REF_U_ABS || op == REF_U_NEG || op == REF_U_SIGN;

	if (!x)
		return -1;
	if (op == REF_U_NOT ? x->dtype != NPUC_DT_BOOL
			: (x->dtype != NPUC_DT_F32 && !(int_ok && ref_is_int(x->dtype) &&
							x->dtype != NPUC_DT_BOOL)))
		return ref_unsupported(c, "input type %s", npuc_dtype_name(x->dtype));
	y = ref_out(c, 0, x->dtype, x->rank, x->dims);
	if (!y)
		return -1;
	ref_unary(op, alpha, beta, gamma, x, y);
	return 0;
}

#define ATTR(name, def) npuc_attr_float(c->n, name, def)

int ref_op_relu(struct ref_ctx *c) { return unary(c, REF_U_RELU, 0, 0, 0); }
int ref_op_leaky(struct ref_ctx *c) { return unary(c, REF_U_LEAKY, ATTR("alpha", 0.01f), 0, 0); }
int ref_op_sigmoid(struct ref_ctx *c) { return unary(c, REF_U_SIGMOID, 0, 0, 0); }
int ref_op_tanh(struct ref_ctx *c) { return unary(c, REF_U_TANH, 0, 0, 0); }
int ref_op_hsigmoid(struct ref_ctx *c)
{
	return unary(c, REF_U_HSIGMOID, ATTR("alpha", 0.2f), ATTR("beta", 0.5f), 0);
}
int ref_op_hswish(struct ref_ctx *c) { return unary(c, REF_U_HSWISH, 0, 0, 0); }
int ref_op_elu(struct ref_ctx *c) { return unary(c, REF_U_ELU, ATTR("alpha", 1.0f), 0, 0); }
int ref_op_selu(struct ref_ctx *c)
{
	return unary(c, REF_U_SELU, ATTR("alpha", 1.67326319217681884765625f), 0,
		     ATTR("gamma", 1.05070102214813232421875f));
}
int ref_op_celu(struct ref_ctx *c) { return unary(c, REF_U_CELU, ATTR("alpha", 1.0f), 0, 0); }
int ref_op_softplus(struct ref_ctx *c) { return unary(c, REF_U_SOFTPLUS, 0, 0, 0); }
int ref_op_softsign(struct ref_ctx *c) { return unary(c, REF_U_SOFTSIGN, 0, 0, 0); }
int ref_op_threlu(struct ref_ctx *c) { return unary(c, REF_U_THRELU, ATTR("alpha", 1.0f), 0, 0); }
int ref_op_exp(struct ref_ctx *c) { return unary(c, REF_U_EXP, 0, 0, 0); }
int ref_op_log(struct ref_ctx *c) { return unary(c, REF_U_LOG, 0, 0, 0); }
int ref_op_sqrt(struct ref_ctx *c) { return unary(c, REF_U_SQRT, 0, 0, 0); }
int ref_op_abs(struct ref_ctx *c) { return unary(c, REF_U_ABS, 0, 0, 0); }
int ref_op_neg(struct ref_ctx *c) { return unary(c, REF_U_NEG, 0, 0, 0); }
int ref_op_recip(struct ref_ctx *c) { return unary(c, REF_U_RECIP, 0, 0, 0); }
int ref_op_floor(struct ref_ctx *c) { return unary(c, REF_U_FLOOR, 0, 0, 0); }
int ref_op_ceil(struct ref_ctx *c) { return unary(c, REF_U_CEIL, 0, 0, 0); }
int ref_op_round(struct ref_ctx *c) { return unary(c, REF_U_ROUND, 0, 0, 0); }
int ref_op_erf(struct ref_ctx *c) { return unary(c, REF_U_ERF, 0, 0, 0); }
int ref_op_sin(struct ref_ctx *c) { return unary(c, REF_U_SIN, 0, 0, 0); }
int ref_op_cos(struct ref_ctx *c) { return unary(c, REF_U_COS, 0, 0, 0); }
int ref_op_sign(struct ref_ctx *c) { return unary(c, REF_U_SIGN, 0, 0, 0); }
int ref_op_not(struct ref_ctx *c) { return unary(c, REF_U_NOT, 0, 0, 0); }
int ref_op_tan(struct ref_ctx *c) { return unary(c, REF_U_TAN, 0, 0, 0); }
int ref_op_asin(struct ref_ctx *c) { return unary(c, REF_U_ASIN, 0, 0, 0); }
int ref_op_acos(struct ref_ctx *c) { return unary(c, REF_U_ACOS, 0, 0, 0); }
int ref_op_atan(struct ref_ctx *c) { return unary(c, REF_U_ATAN, 0, 0, 0); }
int ref_op_sinh(struct ref_ctx *c) { return unary(c, REF_U_SINH, 0, 0, 0); }
int ref_op_cosh(struct ref_ctx *c) { return unary(c, REF_U_COSH, 0, 0, 0); }
int ref_op_asinh(struct ref_ctx *c) { return unary(c, REF_U_ASINH, 0, 0, 0); }
int ref_op_acosh(struct ref_ctx *c) { return unary(c, REF_U_ACOSH, 0, 0, 0); }
int ref_op_atanh(struct ref_ctx *c) { return unary(c, REF_U_ATANH, 0, 0, 0); }
int ref_op_mish(struct ref_ctx *c) { return unary(c, REF_U_MISH, 0, 0, 0); }
int ref_op_shrink(struct ref_ctx *c)
{
	return unary(c, REF_U_SHRINK, ATTR("lambd", 0.5f), ATTR("bias", 0.0f), 0);
}

void ref_float_class(int inf, int pos, int neg, const float *x, uint8_t *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		float v = x[i];

		y[i] = inf ? (isinf(v) && (v > 0 ? pos : neg)) : isnan(v) != 0;
	}
}

/* IsNaN / IsInf: float in, bool out. */
static int float_class(struct ref_ctx *c, int inf)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	int neg = npuc_attr_int(c->n, "detect_negative", 1) != 0;
	int pos = npuc_attr_int(c->n, "detect_positive", 1) != 0;
	struct npuc_value *y;

	if (!x)
		return -1;
	y = ref_out(c, 0, NPUC_DT_BOOL, x->rank, x->dims);
	if (!y)
		return -1;
	ref_float_class(inf, pos, neg, x->data, y->data, x->numel);
	return 0;
}

int ref_op_isnan(struct ref_ctx *c) { return float_class(c, 0); }
int ref_op_isinf(struct ref_ctx *c) { return float_class(c, 1); }

/* ---- Clip ---- */

/* Bound from optional scalar input i (opset >= 11) or attribute (opset < 11). */
static int clip_bound(struct ref_ctx *c, int i, const char *attr, double def, double *out)
{
	const struct npuc_value *b = ref_in(c, i);

	*out = def;
	if (c->opset < 11 && !b) {
		*out = npuc_attr_float(c->n, attr, (float)def);
		return 0;
	}
	if (!b)
		return 0;
	if (b->numel != 1 || b->dtype != c->in[0]->dtype)
		return ref_fail(c, "%s must be a scalar of the input type", attr);
	*out = ref_get_f(b, 0);
	return 0;
}

void ref_clip(const struct npuc_value *x, double lo, double hi, struct npuc_value *y)
{
	if (x->dtype == NPUC_DT_F32) {
		const float *xs = x->data;
		float *ys = y->data, flo = (float)lo, fhi = (float)hi;

		/* numpy.clip order: min first, then max (max wins if min > max) */
		for (int64_t i = 0; i < x->numel; i++) {
			float v = xs[i] < flo ? flo : xs[i];

			ys[i] = v > fhi ? fhi : v;
		}
		return;
	}
	for (int64_t i = 0; i < x->numel; i++) {
		int64_t v = ref_get_i(x, i);

		if ((double)v < lo)
			v = (int64_t)lo;
		if ((double)v > hi)
			v = (int64_t)hi;
		ref_set_i(y, i, v);
	}
}

int ref_op_clip(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	struct npuc_value *y;
	double lo, hi;

	if (!x)
		return -1;
	if (x->dtype == NPUC_DT_BOOL)
		return ref_fail(c, "bool input");
	if (clip_bound(c, 1, "min", -INFINITY, &lo) || clip_bound(c, 2, "max", INFINITY, &hi))
		return -1;
	y = ref_out(c, 0, x->dtype, x->rank, x->dims);
	if (!y)
		return -1;
	ref_clip(x, lo, hi, y);
	return 0;
}
