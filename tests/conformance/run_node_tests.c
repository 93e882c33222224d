// SPDX-License-Identifier: MIT
/*
 * ONNX backend node tests (libonnx-testdata) through npuc.
 *
 * For every test directory: load model.onnx and test_data_set_0, turn the
 * inputs that are weights / parameters into constants of the graph (the
 * NPU compiles weights offline; activations - input 0, both operands of
 * elementwise ops and Concat, a batched MatMul B - stay inputs), then
 *  - int8 tests (QuantizeLinear, DequantizeLinear, QLinearConv,
 *    QLinearMatMul, ConvInteger, MatMulInteger): npuc_qdq_import -> qgraph,
 *    compared with the expected output exactly or within 1 LSB (ONNX
 *    rounds half to even in float32, npu-v1 rescales in fixed point:
 *    Documentation/npu-arithmetic.rst; the 1 LSB cases are counted);
 *    int32 / float results of CPU nodes (ConvInteger without a
 *    requantisation, per-axis Q/DQ, ...) exactly;
 *  - float tests of ops npuc maps: passes -> min/max calibration on the
 *    test's own inputs (calib_observe.h) -> npuc_quantize, and the same
 *    calibrated graph written as an ONNX Runtime style QDQ model (uint8
 *    activations, per-channel int8 weights, int32 bias) -> npuc_qdq_import;
 *    both qgraphs' dequantised outputs must be within TOL_STEPS
 *    quantisation steps of the expected ones (integer outputs of CPU
 *    nodes, e.g. MaxPool indices, exactly);
 *  - every qgraph runs on the int8 reference executor (qref) and, lowered
 *    to an .npub (written and read back), on libnpusim, whose outputs must
 *    be bit-exact with qref's;
 *  - everything else is UNSUPPORTED, with the reason.
 * One line per test, then the totals. Exit status 1 if a test that ran
 * failed or fewer than the floor (--floor) passed.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "calib_observe.h"
#include "ir.h"
#include "lower.h"
#include "npub.h"
#include "npub_exec.h"
#include "onnx_import.h"
#include "passes.h"
#include "qdq_import.h"
#include "qir.h"
#include "qref.h"
#include "quantize.h"
#include "ref_float.h"
#include "shape_infer.h"
#include "tensor_pb.h"


#define DEFAULT_DIR	"/usr/include/onnx/backend/test/data/node"
#define MAX_IO		16
/* Float tests: allowed error, in quantisation steps of the output. */
#define TOL_STEPS	2.0

enum verdict { V_PASS, V_FAIL, V_UNSUP };

struct test {
	const char *name;
	char dir[1024];
	struct npuc_graph *g;		/* the model; params become constants */
	struct npuc_tensor_pb in[MAX_IO], out[MAX_IO];
	int n_in, n_out;
	char *in_name[MAX_IO];		/* the model's graph inputs, in order */
	char *out_name[MAX_IO];
	int is_data[MAX_IO];		/* input stays a run-time input */
	int int8;			/* a pre-quantised (QDQ / QOperator) test */
};

struct outcome {
	enum verdict v;
	char msg[640];
	int n_npu, n_cpu;		/* qgraph compute nodes for the NPU / CPU nodes */
	long lsb1;			/* int8: elements 1 LSB off */
	double max_steps;		/* float: worst error in output steps */
	const char *engine;		/* what computed the result */
	int sim_npu;			/* layers lowered to NPU command streams */
	uint32_t sim_jobs;		/* NPU jobs run on libnpusim */
	uint64_t sim_cycles;
	char cpu_why[200];		/* the first CPU node's reason */
};

struct totals {
	int pass, fail, unsup, lsb1_tests, sim_tests, float_pass, int8_pass, cpu_only;
};

static int verbose;

static void set(struct outcome *o, enum verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set(struct outcome *o, enum verdict v, const char *fmt, ...)
{
	va_list ap;

	o->v = v;
	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
}

/* ---- stage 1: loading ---- */

static void test_free(struct test *t)
{
	npuc_graph_free(t->g);
	t->g = NULL;
	for (int i = 0; i < MAX_IO; i++) {
		npuc_tensor_pb_free(&t->in[i]);
		npuc_tensor_pb_free(&t->out[i]);
		free(t->in_name[i]);
		free(t->out_name[i]);
		t->in_name[i] = t->out_name[i] = NULL;
	}
}

static int file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static int load_pbs(struct test *t, const char *kind, struct npuc_tensor_pb *pb, int *n,
		    struct outcome *o)
{
	struct npuc_diag d;
	char p[1200];

	for (*n = 0; *n < MAX_IO; (*n)++) {
		snprintf(p, sizeof(p), "%s/test_data_set_0/%s_%d.pb", t->dir, kind, *n);
		if (!file_exists(p))
			break;
		if (npuc_tensor_pb_load_file(p, &pb[*n], &d)) {
			set(o, V_UNSUP, "%s_%d.pb: %s", kind, *n, d.msg);
			return -1;
		}
	}
	return 0;
}

static int stage_load(struct test *t, struct outcome *o)
{
	struct npuc_diag d;
	char p[1200];

	snprintf(p, sizeof(p), "%s/model.onnx", t->dir);
	if (npuc_onnx_load_file(p, &t->g, &d)) {
		t->g = NULL;
		set(o, V_UNSUP, "import: %s", d.msg);
		return -1;
	}
	if (load_pbs(t, "input", t->in, &t->n_in, o) || load_pbs(t, "output", t->out, &t->n_out, o))
		return -1;
	if (t->n_in != t->g->n_inputs || t->n_out != t->g->n_outputs || t->n_out == 0) {
		set(o, V_UNSUP, "test data has %d inputs / %d outputs, the model %d / %d",
		    t->n_in, t->n_out, t->g->n_inputs, t->g->n_outputs);
		return -1;
	}
	for (int i = 0; i < t->n_in; i++)
		t->in_name[i] = strdup(t->g->t[t->g->inputs[i]].name);
	for (int i = 0; i < t->n_out; i++)
		t->out_name[i] = strdup(t->g->t[t->g->outputs[i]].name);
	return 0;
}

/* ---- stage 2: which tests npuc claims ---- */

/* Float ops npuc quantises (NPU) or runs on the CPU next to NPU nodes. */
static const char *const float_ops[] = {
	"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Sum", "Relu", "Clip", "LeakyRelu",
	"Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus", "Softsign",
	"Neg", "Abs", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Concat",
	"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "BatchNormalization",
	"Softmax", "PRelu",
};

static int op_in(const char *op, const char *const *set_, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(op, set_[i]))
			return 1;
	return 0;
}

/* Pre-quantised models may also use these. */
static const char *const quant_ops[] = {
	"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
	"MatMulInteger", "DynamicQuantizeLinear",
};

/* Tests npuc supports in principle whose data int8 cannot represent. */
static const struct {
	const char *name, *why;
} int8_limits[] = {
	{ "test_softmax_large_number", "inputs 0..3 and 10000..10003 in one tensor: a per-tensor "
	  "int8 step of ~39 erases the differences the softmax depends on" },
};

static int stage_classify(struct test *t, struct outcome *o)
{
	t->int8 = npuc_qdq_is_quantized(t->g);
	for (size_t i = 0; i < sizeof(int8_limits) / sizeof(int8_limits[0]); i++) {
		if (!strcmp(t->name, int8_limits[i].name)) {
			set(o, V_UNSUP, "int8 range: %s", int8_limits[i].why);
			return -1;
		}
	}
	if (!t->g->n_nodes) {
		set(o, V_UNSUP, "no compute node (constant graph)");
		return -1;
	}
	for (int i = 0; i < t->n_in + t->n_out; i++) {
		if ((i < t->n_in ? t->in[i].numel : t->out[i - t->n_in].numel) == 0) {
			set(o, V_UNSUP, "zero-size tensor (the NPU has no empty tensors)");
			return -1;
		}
	}
	for (int n = 0; n < t->g->n_nodes; n++) {
		const struct npuc_node *nd = &t->g->nodes[n];

		if (nd->domain[0] && strcmp(nd->domain, "ai.onnx")) {
			set(o, V_UNSUP, "op %s.%s: not an ONNX op", nd->domain, nd->op);
			return -1;
		}
		if (!op_in(nd->op, float_ops, sizeof(float_ops) / sizeof(float_ops[0])) &&
		    !(t->int8 && op_in(nd->op, quant_ops, sizeof(quant_ops) /
				       sizeof(quant_ops[0])))) {
			set(o, V_UNSUP, "op %s is not in npuc's op set", nd->op);
			return -1;
		}
		if (!strcmp(nd->op, "BatchNormalization") &&
		    (npuc_attr_int(nd, "training_mode", 0) || nd->n_out > 1)) {
			set(o, V_UNSUP, "BatchNormalization in training mode");
			return -1;
		}
	}
	return 0;
}

/* Float tests: the run-time inputs must be float (integer-arithmetic tests are not). */
static int stage_check_data(const struct test *t, struct outcome *o)
{
	for (int i = 0; i < t->n_in && !t->int8; i++) {
		if (t->is_data[i] && t->in[i].dtype != NPUC_DT_F32) {
			set(o, V_UNSUP, "data input %d is %s (integer arithmetic; float tests "
			    "only)", i, npuc_dtype_name(t->in[i].dtype));
			return -1;
		}
	}
	return 0;
}

/* ---- stage 3: parameters become constants ---- */

/* Ops whose every input is an activation. */
static const char *const data_ops[] = {
	"Add", "Sub", "Mul", "Div", "Sum", "Mean", "Max", "Min", "Concat", "Pow",
	"Equal", "Greater", "Less", "And", "Or", "Xor",
};

/* Input position k of node nd carries data (an activation) rather than a parameter. */
static int data_position(const struct npuc_graph *g, const struct npuc_node *nd, int k)
{
	int t = nd->in[k];

	if (k == 0)
		return 1;
	if (op_in(nd->op, data_ops, sizeof(data_ops) / sizeof(data_ops[0])))
		return 1;
	/* A batch of matrices is an activation; a single matrix is a weight. */
	if ((!strcmp(nd->op, "MatMul") && k == 1) || (!strcmp(nd->op, "QLinearMatMul") && k == 3))
		return g->t[t].rank >= 3;
	return 0;
}

static int stage_constify(struct test *t, struct outcome *o)
{
	struct npuc_graph *g = t->g;
	struct npuc_diag d;
	int n_keep = 0;

	for (int i = 0; i < t->n_in; i++) {
		int ti = g->inputs[i];

		t->is_data[i] = i == 0;
		for (int n = 0; n < g->n_nodes && !t->is_data[i]; n++)
			for (int k = 0; k < g->nodes[n].n_in; k++)
				if (g->nodes[n].in[k] == ti && data_position(g, &g->nodes[n], k))
					t->is_data[i] = 1;
	}
	for (int i = 0; i < t->n_in; i++) {
		int ti = g->inputs[i];
		void *copy;

		if (t->is_data[i]) {
			g->inputs[n_keep++] = ti;
			continue;
		}
		if (t->in[i].dtype != g->t[ti].dtype) {
			set(o, V_UNSUP, "input %d: data is %s, the model says %s", i,
			    npuc_dtype_name(t->in[i].dtype), npuc_dtype_name(g->t[ti].dtype));
			return -1;
		}
		g->t[ti].rank = t->in[i].rank;
		memcpy(g->t[ti].dims, t->in[i].dims, sizeof(g->t[ti].dims));
		copy = malloc(t->in[i].nbytes ? t->in[i].nbytes : 1);
		if (!copy) {
			set(o, V_FAIL, "out of memory");
			return -1;
		}
		memcpy(copy, t->in[i].data, t->in[i].nbytes);
		if (npuc_tensor_set_data(g, ti, copy, t->in[i].nbytes, &d)) {
			set(o, V_UNSUP, "constant %s: %s", t->in_name[i], d.msg);
			return -1;
		}
		g->t[ti].flags &= ~NPUC_T_INPUT;
	}
	g->n_inputs = n_keep;
	if (npuc_shape_infer(g, &d)) {
		set(o, V_UNSUP, "shape inference: %s", d.msg);
		return -1;
	}
	return 0;
}

/* Run-time inputs as values (views of the test data), in graph input order. */
static int data_values(const struct test *t, struct npuc_value *v, int *n)
{
	struct npuc_diag d;

	*n = 0;
	for (int i = 0; i < t->n_in; i++) {
		const struct npuc_tensor_pb *p = &t->in[i];

		if (!t->is_data[i])
			continue;
		if (npuc_value_wrap(&v[(*n)++], p->dtype, p->rank, p->dims, p->data, &d))
			return -1;
	}
	return 0;
}

/* ---- stage 4: float graph -> qgraph ---- */

static struct npuq_graph *stage_import_int8(struct test *t, struct outcome *o)
{
	struct npuq_graph *q;
	struct npuc_diag d;

	if (npuc_qdq_import(t->g, &q, &d)) {
		set(o, V_FAIL, "qdq import: %s", d.msg);
		return NULL;
	}
	t->g = NULL;	/* owned by q */
	return q;
}

/* Min/max calibration on the test's own input (one sample). */
static int calibrate(const struct npuc_graph *g, const struct npuc_value *in,
		     struct npuc_act_ranges *r, struct npuc_diag *d)
{
	struct npuc_value out[MAX_IO];
	struct npuc_calib_obs *obs = npuc_calib_obs_new(g, NULL, d);
	struct npuc_ref_trace tr;
	int rc = -1;

	memset(out, 0, sizeof(out));
	if (!obs)
		return -1;
	npuc_calib_obs_trace(obs, &tr);
	if (npuc_ref_run(g, in, out, &tr, d) == 0 && npuc_act_ranges_init(r, g->n_t, d) == 0)
		rc = npuc_calib_obs_ranges(obs, r, d);
	for (int i = 0; i < g->n_outputs && i < MAX_IO; i++)
		npuc_value_free(&out[i]);
	npuc_calib_obs_free(obs);
	return rc;
}

/* Float tests: graph passes (folding, fusion) and shapes from a run. */
static int prepare_float(struct test *t, struct outcome *o)
{
	struct npuc_value in[MAX_IO];
	struct npuc_diag d;
	int n;

	if (data_values(t, in, &n) || t->g->n_inputs != n) {
		set(o, V_FAIL, "inputs do not match the graph");
		return -1;
	}
	if (npuc_passes_run(t->g, NULL, &d)) {
		set(o, V_FAIL, "passes: %s", d.msg);
		return -1;
	}
	if (npuc_refine_shapes_by_run(t->g, in, &d)) {
		set(o, V_FAIL, "shapes: %s", d.msg);
		return -1;
	}
	return 0;
}

static struct npuq_graph *stage_quantize(struct test *t, struct outcome *o)
{
	struct npuc_value in[MAX_IO];
	struct npuc_act_ranges r;
	struct npuq_graph *q;
	struct npuc_diag d;
	int n;

	memset(&r, 0, sizeof(r));
	if (data_values(t, in, &n) || t->g->n_inputs != n) {
		set(o, V_FAIL, "inputs do not match the graph");
		return NULL;
	}
	if (calibrate(t->g, in, &r, &d)) {
		npuc_act_ranges_free(&r);
		set(o, V_FAIL, "calibration: %s", d.msg);
		return NULL;
	}
	q = npuc_quantize(t->g, &r, NULL, &d);
	npuc_act_ranges_free(&r);
	if (!q) {
		set(o, V_FAIL, "quantize: %s", d.msg);
		return NULL;
	}
	t->g = NULL;	/* owned by q */
	return q;
}

/*
 * Counts placement. CPU nodes may have float, 8-bit or other integer
 * operands (int32 results of ConvInteger, ...): the qgraph tensor's dtype
 * must be the model's type of the value, which qref and the .npub run.
 */
static int stage_check_qgraph(const struct npuq_graph *q, struct outcome *o)
{
	o->n_npu = o->n_cpu = 0;
	for (int n = 0; n < q->n_nodes; n++) {
		const struct npuq_node *nd = &q->nodes[n];

		if (nd->op == NPUQ_QUANTIZE || nd->op == NPUQ_DEQUANTIZE || nd->op == NPUQ_RESHAPE)
			continue;	/* host boundary steps, no-work reshapes */
		if (nd->op != NPUQ_CPU) {
			o->n_npu++;
			continue;
		}
		if (!o->n_cpu++)
			snprintf(o->cpu_why, sizeof(o->cpu_why), "%s", nd->u.cpu.reason);
		for (int k = 0; k < nd->n_in + nd->n_out; k++) {
			int ti = k < nd->n_in ? nd->in[k] : nd->out[k - nd->n_in];
			enum npuc_dtype dt = npuc_qdq_onnx_dtype(q, ti);

			if (dt != npuq_tensor_dtype(&q->t[ti])) {
				set(o, V_UNSUP, "CPU node %s: operand '%s' is %s in the model, "
				    "%s in the qgraph (untyped integer CPU operand)",
				    q->src->nodes[nd->u.cpu.src_node].op,
				    q->t[ti].name, npuc_dtype_name(dt),
				    npuc_dtype_name(npuq_tensor_dtype(&q->t[ti])));
				return -1;
			}
		}
	}
	return 0;
}

/*
 * ---- stage 4b: the same float test as an ONNX Runtime style QDQ model ----
 *
 * Every float activation y gets QuantizeLinear -> DequantizeLinear (uint8,
 * ONNX Runtime's default activation type, parameters from the same
 * calibration), Conv / Gemm / MatMul weights become per-channel symmetric
 * int8 constants behind a DequantizeLinear (axis = the output channel
 * axis), Conv biases int32 at input scale x weight scale. The producer of
 * y writes "y/f", the DequantizeLinear writes y, so names stay the
 * model's. A Relu / Clip fused by npuc_pass_fuse is left unquantised
 * between its producer and itself (DQ -> Conv -> Relu -> Q, which
 * npuc_qdq_import fuses). The result goes through npuc_qdq_import.
 */
struct synth {
	const struct npuc_graph *g;
	const struct npuc_act_ranges *r;
	struct npuc_graph *o;
	int *map;			/* g tensor -> o tensor holding its value */
	float *in_scale;		/* g tensor -> its activation scale (0: none) */
	struct npuc_diag *d;
};

static int sy_tensor(struct synth *s, const char *name, const char *suffix, enum npuc_dtype dt,
		     int rank, const int64_t *dims)
{
	char nm[512];

	snprintf(nm, sizeof(nm), "%s%s", name, suffix);
	return npuc_graph_add_tensor(s->o, nm, dt, rank, dims, s->d);
}

static int sy_const(struct synth *s, const char *name, const char *suffix, enum npuc_dtype dt,
		    int rank, const int64_t *dims, const void *data, size_t nbytes)
{
	int t = sy_tensor(s, name, suffix, dt, rank, dims);
	void *copy = malloc(nbytes ? nbytes : 1);

	if (t < 0 || !copy) {
		free(copy);
		return -1;
	}
	memcpy(copy, data, nbytes);
	return npuc_tensor_set_data(s->o, t, copy, nbytes, s->d) ? -1 : t;
}

static int sy_node(struct synth *s, const char *name, const char *op, const int *in, int n_in,
		   int out, int axis)
{
	int n = npuc_graph_add_node(s->o, name, op, "", in, n_in, &out, 1, s->d);
	struct npuc_attr a;

	if (n < 0 || axis < 0)
		return n;
	memset(&a, 0, sizeof(a));
	a.name = strdup("axis");
	a.type = NPUC_ATTR_INT;
	a.i = axis;
	return a.name && !npuc_node_add_attr(s->o, n, &a, s->d) ? n : -1;
}

/* Q -> DQ of float tensor f (of g tensor t) into a new tensor named name. */
static int sy_qdq(struct synth *s, int t, int f, const char *name, const char *dq_suffix)
{
	const struct npuc_tensor *gt = &s->g->t[t];
	float scale;
	int32_t zp;
	uint8_t zu;
	int in[3], q, y;

	npuc_quant_act_params(s->r->lo[t], s->r->hi[t], &scale, &zp);
	zu = (uint8_t)(zp + 128);
	in[0] = f;
	in[1] = sy_const(s, name, "/scale", NPUC_DT_F32, 0, NULL, &scale, 4);
	in[2] = sy_const(s, name, "/zp", NPUC_DT_U8, 0, NULL, &zu, 1);
	q = sy_tensor(s, name, "/q", NPUC_DT_U8, gt->rank, gt->dims);
	if (in[1] < 0 || in[2] < 0 || q < 0 || sy_node(s, s->o->t[q].name, "QuantizeLinear", in,
						      3, q, -1) < 0)
		return -1;
	in[0] = q;
	y = sy_tensor(s, name, dq_suffix, NPUC_DT_F32, gt->rank, gt->dims);
	if (y < 0 || sy_node(s, s->o->t[y].name, "DequantizeLinear", in, 3, y, -1) < 0)
		return -1;
	s->in_scale[t] = scale;
	return y;
}

/* Per-channel symmetric int8 weights along axis; scales into ws (n_ch). */
static int sy_weights(struct synth *s, int t, int axis, float *ws)
{
	const struct npuc_tensor *w = &s->g->t[t];
	int64_t n = npuc_tensor_numel(w), inner = 1, nch = w->dims[axis];
	int8_t *q = malloc((size_t)n + 1);
	int8_t *zp = calloc((size_t)nch + 1, 1);
	int in[3], y, rc = -1, pc;

	if (!q || !zp)
		goto out;
	for (int i = axis + 1; i < w->rank; i++)
		inner *= w->dims[i];
	for (int64_t c = 0; c < nch; c++)
		ws[c] = 0;
	for (int64_t i = 0; i < n; i++) {
		int64_t c = (i / inner) % nch;

		ws[c] = fmaxf(ws[c], fabsf(((const float *)w->data)[i]));
	}
	if (s->g->opset < 13) {
		/* DequantizeLinear has no axis before opset 13: one scale */
		for (int64_t c = 1; c < nch; c++)
			ws[0] = fmaxf(ws[0], ws[c]);
		for (int64_t c = 1; c < nch; c++)
			ws[c] = ws[0];
	}
	for (int64_t c = 0; c < nch; c++)
		ws[c] = ws[c] > 0 ? ws[c] / 127.0f : 1.0f;
	for (int64_t i = 0; i < n; i++) {
		float v = rintf(((const float *)w->data)[i] / ws[(i / inner) % nch]);

		q[i] = (int8_t)fmaxf(-127.0f, fminf(127.0f, v));
	}
	in[0] = sy_const(s, w->name, "/w8", NPUC_DT_I8, w->rank, w->dims, q, (size_t)n);
	pc = s->g->opset >= 13;
	in[1] = sy_const(s, w->name, "/wscale", NPUC_DT_F32, pc, &nch, ws,
			 (size_t)(pc ? nch : 1) * 4);
	in[2] = sy_const(s, w->name, "/wzp", NPUC_DT_I8, pc, &nch, zp, (size_t)(pc ? nch : 1));
	y = sy_tensor(s, w->name, "/wdq", NPUC_DT_F32, w->rank, w->dims);
	if (in[0] >= 0 && in[1] >= 0 && in[2] >= 0 && y >= 0 &&
	    sy_node(s, s->o->t[y].name, "DequantizeLinear", in, 3, y, pc ? axis : -1) >= 0)
		rc = y;
out:
	free(q);
	free(zp);
	return rc;
}

/* Conv bias as int32 at (input scale x weight scale), dequantised. */
static int sy_bias(struct synth *s, int t, float xs, const float *ws)
{
	const struct npuc_tensor *b = &s->g->t[t];
	int64_t n = npuc_tensor_numel(b);
	int32_t *q = malloc(sizeof(int32_t) * (size_t)(n + 1));
	float *bs = malloc(sizeof(float) * (size_t)(n + 1));
	int in[2], y, rc = -1;

	if (!q || !bs || b->rank != 1)
		goto out;
	for (int64_t i = 0; i < n; i++) {
		double v = rint(((const float *)b->data)[i] / ((double)xs * ws[i]));

		bs[i] = xs * ws[i];
		q[i] = (int32_t)fmax(-2147483647.0, fmin(2147483647.0, v));
	}
	in[0] = sy_const(s, b->name, "/b32", NPUC_DT_I32, 1, b->dims, q, (size_t)n * 4);
	in[1] = sy_const(s, b->name, "/bscale", NPUC_DT_F32, 1, b->dims, bs, (size_t)n * 4);
	y = sy_tensor(s, b->name, "/bdq", NPUC_DT_F32, 1, b->dims);
	if (in[0] >= 0 && in[1] >= 0 && y >= 0 &&
	    sy_node(s, s->o->t[y].name, "DequantizeLinear", in, 2, y, 0) >= 0)
		rc = y;
out:
	free(q);
	free(bs);
	return rc;
}

/* The o tensor for input k of node nd (weights quantised, constants copied). */
static int sy_input(struct synth *s, const struct npuc_node *nd, int k, float *ws)
{
	const struct npuc_graph *g = s->g;
	int t = nd->in[k], x = nd->in[0];
	const struct npuc_tensor *gt;

	if (t < 0)
		return -1;
	gt = &g->t[t];
	if (!(gt->flags & NPUC_T_CONST) || !gt->data || s->map[t] >= 0)
		return s->map[t];	/* activations; constants already converted */
	if (gt->dtype == NPUC_DT_F32 && k == 1 && gt->rank == 4 && !strcmp(nd->op, "Conv"))
		s->map[t] = sy_weights(s, t, 0, ws);
	else if (gt->dtype == NPUC_DT_F32 && k == 1 && gt->rank == 2 &&
		 (!strcmp(nd->op, "MatMul") || !strcmp(nd->op, "Gemm")))
		s->map[t] = sy_weights(s, t, npuc_attr_int(nd, "transB", 0) ? 0 : 1, ws);
	else if (gt->dtype == NPUC_DT_F32 && k == 2 && !strcmp(nd->op, "Conv") && x >= 0 &&
		 s->in_scale[x] > 0 && s->map[nd->in[1]] >= 0 && s->g->opset >= 13)
		s->map[t] = sy_bias(s, t, s->in_scale[x], ws);
	else
		s->map[t] = sy_const(s, gt->name, "", gt->dtype, gt->rank, gt->dims, gt->data,
				     gt->nbytes);
	return s->map[t];
}

static int sy_attrs(struct synth *s, const struct npuc_node *nd, int n)
{
	for (int i = 0; i < nd->n_attrs; i++) {
		const struct npuc_attr *a = &nd->attrs[i];
		struct npuc_attr c = *a;

		if (!strncmp(a->name, "npuc.", 5) || a->type == NPUC_ATTR_TENSOR)
			continue;
		c.name = strdup(a->name);
		c.s = a->s ? strdup(a->s) : NULL;
		c.ints = a->ints ? malloc(sizeof(int64_t) * (size_t)(a->n + 1)) : NULL;
		c.floats = a->floats ? malloc(sizeof(float) * (size_t)(a->n + 1)) : NULL;
		if (c.ints)
			memcpy(c.ints, a->ints, sizeof(int64_t) * (size_t)a->n);
		if (c.floats)
			memcpy(c.floats, a->floats, sizeof(float) * (size_t)a->n);
		if (npuc_node_add_attr(s->o, n, &c, s->d))
			return -1;
	}
	return 0;
}

static int sy_quantised(const struct synth *s, int t)
{
	return s->g->t[t].dtype == NPUC_DT_F32 && t < s->r->n && s->r->valid[t];
}

static int sy_node_copy(struct synth *s, int n)
{
	const struct npuc_node *nd = &s->g->nodes[n];
	int in[64], out[8], ni, y, keep_float;
	int64_t nws = 1;
	float lo, hi, *ws;

	if (nd->n_in > 64 || nd->n_out > 8)
		return -1;
	/* Weight scales: one per entry of a weight's first or second axis. */
	for (int k = 1; k < nd->n_in; k++)
		for (int a = 0; nd->in[k] >= 0 && a < 2 && a < s->g->t[nd->in[k]].rank; a++)
			if (s->g->t[nd->in[k]].dims[a] > nws)
				nws = s->g->t[nd->in[k]].dims[a];
	ws = malloc(sizeof(float) * (size_t)nws);
	if (!ws)
		return -1;
	for (int k = 0; k < nd->n_in; k++) {
		in[k] = sy_input(s, nd, k, ws);
		if (nd->in[k] >= 0 && in[k] < 0) {
			free(ws);
			return -1;
		}
	}
	free(ws);
	keep_float = npuc_node_fused_act(s->g, nd, &lo, &hi, &ni);
	for (int k = 0; k < nd->n_out; k++) {
		const struct npuc_tensor *gt;
		int q = nd->out[k] >= 0 && sy_quantised(s, nd->out[k]) && !keep_float;

		out[k] = -1;
		if (nd->out[k] < 0)
			continue;
		gt = &s->g->t[nd->out[k]];
		out[k] = sy_tensor(s, gt->name, q ? "/f" : "", gt->dtype, gt->rank, gt->dims);
		if (out[k] < 0)
			return -1;
		s->map[nd->out[k]] = out[k];
	}
	ni = npuc_graph_add_node(s->o, nd->name, nd->op, nd->domain, in, nd->n_in, out,
				 nd->n_out, s->d);
	if (ni < 0 || sy_attrs(s, nd, ni))
		return -1;
	for (int k = 0; k < nd->n_out && !keep_float; k++) {
		if (nd->out[k] < 0 || !sy_quantised(s, nd->out[k]))
			continue;
		y = sy_qdq(s, nd->out[k], out[k], s->g->t[nd->out[k]].name, "");
		if (y < 0)
			return -1;
		s->map[nd->out[k]] = y;
	}
	return 0;
}

static int sy_io(struct synth *s)
{
	const struct npuc_graph *g = s->g;
	struct npuc_graph *o = s->o;

	o->inputs = malloc(sizeof(int) * (size_t)(g->n_inputs + 1));
	o->outputs = malloc(sizeof(int) * (size_t)(g->n_outputs + 1));
	if (!o->inputs || !o->outputs)
		return -1;
	for (int i = 0; i < g->n_inputs; i++) {
		const struct npuc_tensor *gt = &g->t[g->inputs[i]];
		int x = sy_tensor(s, gt->name, "", gt->dtype, gt->rank, gt->dims);

		if (x < 0)
			return -1;
		o->t[x].flags |= NPUC_T_INPUT;
		o->inputs[o->n_inputs++] = x;
		s->map[g->inputs[i]] = x;
		if (sy_quantised(s, g->inputs[i])) {
			s->map[g->inputs[i]] = sy_qdq(s, g->inputs[i], x, gt->name, "/dq");
			if (s->map[g->inputs[i]] < 0)
				return -1;
		}
	}
	return 0;
}

static struct npuc_graph *synth_qdq(const struct npuc_graph *g, const struct npuc_act_ranges *r,
				    struct npuc_diag *d)
{
	struct synth s = { g, r, npuc_graph_new(), NULL, NULL, d };
	int ok = 0;

	s.map = malloc(sizeof(int) * (size_t)(g->n_t + 1));
	s.in_scale = calloc((size_t)g->n_t + 1, sizeof(float));
	if (!s.o || !s.map || !s.in_scale)
		goto out;
	s.o->opset = g->opset;
	for (int t = 0; t < g->n_t; t++)
		s.map[t] = -1;
	if (sy_io(&s))
		goto out;
	for (int n = 0; n < g->n_nodes; n++)
		if (sy_node_copy(&s, n))
			goto out;
	for (int i = 0; i < g->n_outputs; i++) {
		int y = npuc_graph_find(s.o, g->t[g->outputs[i]].name);

		if (y < 0)
			goto out;
		s.o->t[y].flags |= NPUC_T_OUTPUT;
		s.o->outputs[s.o->n_outputs++] = y;
	}
	ok = npuc_shape_infer(s.o, d) == 0;
out:
	free(s.map);
	free(s.in_scale);
	if (!ok) {
		if (!d->msg[0])
			npuc_diag_set(d, "could not build the QDQ model");
		npuc_graph_free(s.o);
		return NULL;
	}
	return s.o;
}

/* ---- stage 5: execution ---- */

/* Inputs of the qgraph from the test data (uint8 -> int8 by flipping bit 7). */
static int qgraph_inputs(const struct test *t, const struct npuq_graph *q, struct npuc_value *v,
			 struct outcome *o)
{
	struct npuc_diag d;

	for (int i = 0; i < q->n_inputs; i++) {
		const struct npuq_tensor *qt = &q->t[q->inputs[i]];
		const struct npuc_tensor_pb *p = NULL;

		for (int k = 0; k < t->n_in; k++)
			if (t->is_data[k] && !strcmp(t->in_name[k], qt->name))
				p = &t->in[k];
		if (!p) {
			set(o, V_FAIL, "qgraph input '%s' has no test data", qt->name);
			return -1;
		}
		if (p->dtype == NPUC_DT_U8 || p->dtype == NPUC_DT_I8) {
			int8_t *b = malloc((size_t)p->numel + 1);

			if (!b || npuc_value_wrap(&v[i], NPUC_DT_I8, p->rank, p->dims, b, &d)) {
				free(b);
				set(o, V_FAIL, "input '%s': %s", qt->name, b ? d.msg : "no memory");
				return -1;
			}
			for (int64_t k = 0; k < p->numel; k++)
				b[k] = (int8_t)(((const uint8_t *)p->data)[k] ^
						(p->dtype == NPUC_DT_U8 ? 0x80 : 0));
			v[i].owned = 1;
		} else if (npuc_value_wrap(&v[i], p->dtype, p->rank, p->dims, p->data, &d)) {
			set(o, V_FAIL, "input '%s': %s", qt->name, d.msg);
			return -1;
		}
	}
	return 0;
}

/* in[] receives the qgraph's inputs (owned or views; npuc_value_free them). */
static int stage_qref(const struct test *t, const struct npuq_graph *q, struct npuc_value *in,
		      struct npuc_value *out, struct outcome *o)
{
	struct npuc_diag d;
	int rc;

	if (q->n_inputs > MAX_IO || q->n_outputs > MAX_IO) {
		set(o, V_UNSUP, "too many inputs / outputs");
		return -1;
	}
	rc = qgraph_inputs(t, q, in, o);
	if (!rc) {
		rc = npuq_ref_run(q, in, out, NULL, &d);
		if (rc)
			set(o, rc == NPUC_REF_UNSUPPORTED ? V_UNSUP : V_FAIL, "qref: %s", d.msg);
	}
	return rc ? -1 : 0;
}

/* ---- stage 6: comparison ---- */

static const struct npuc_tensor_pb *expected(const struct test *t, const struct npuq_graph *q,
					     int i)
{
	const char *name = q->t[q->outputs[i]].name;

	for (int k = 0; k < t->n_out; k++)
		if (!strcmp(t->out_name[k], name))
			return &t->out[k];
	return NULL;
}

static int same_count(const struct npuc_value *v, const struct npuc_tensor_pb *e, const char *nm,
		      struct outcome *o)
{
	if (v->numel != e->numel) {
		set(o, V_FAIL, "output '%s': %lld elements, expected %lld", nm,
		    (long long)v->numel, (long long)e->numel);
		return -1;
	}
	return 0;
}

/* Integer results other than 8-bit (int32 of ConvInteger, ...): exact. */
static int compare_exact(const struct npuc_value *v, const struct npuc_tensor_pb *e,
			 const char *nm, struct outcome *o)
{
	size_t es = npuc_dtype_size(e->dtype);

	if (v->dtype != e->dtype) {
		set(o, V_FAIL, "output '%s' is %s, expected %s", nm, npuc_dtype_name(v->dtype),
		    npuc_dtype_name(e->dtype));
		return -1;
	}
	for (int64_t k = 0; k < e->numel; k++) {
		if (memcmp((const char *)v->data + (size_t)k * es,
			   (const char *)e->data + (size_t)k * es, es)) {
			set(o, V_FAIL, "'%s'[%lld] differs from the expected %s value", nm,
			    (long long)k, npuc_dtype_name(e->dtype));
			return -1;
		}
	}
	return 0;
}

/*
 * int8 results: exact, or 1 LSB where ONNX's float rounding differs;
 * float and other integer results (CPU nodes) exact.
 */
static int compare_int8(const struct test *t, const struct npuq_graph *q,
			const struct npuc_value *out, struct outcome *o)
{
	for (int i = 0; i < q->n_outputs; i++) {
		const struct npuc_tensor_pb *e = expected(t, q, i);
		const char *nm = q->t[q->outputs[i]].name;

		if (!e || same_count(&out[i], e, nm, o))
			return e ? -1 : (set(o, V_FAIL, "no expected '%s'", nm), -1);
		if (e->dtype != NPUC_DT_F32 && e->dtype != NPUC_DT_U8 && e->dtype != NPUC_DT_I8) {
			if (compare_exact(&out[i], e, nm, o))
				return -1;
			continue;
		}
		for (int64_t k = 0; k < e->numel; k++) {
			long got, want, diff;

			if (out[i].dtype == NPUC_DT_F32 && e->dtype == NPUC_DT_F32) {
				float a = ((const float *)out[i].data)[k];
				float b = ((const float *)e->data)[k];

				if (a != b && !(isnan(a) && isnan(b))) {
					set(o, V_FAIL, "'%s'[%lld] = %g, expected %g", nm,
					    (long long)k, a, b);
					return -1;
				}
				continue;
			}
			if (out[i].dtype != NPUC_DT_I8 || !(e->dtype == NPUC_DT_U8 ||
							      e->dtype == NPUC_DT_I8)) {
				set(o, V_FAIL, "output '%s' is %s, expected %s", nm,
				    npuc_dtype_name(out[i].dtype), npuc_dtype_name(e->dtype));
				return -1;
			}
			got = ((const int8_t *)out[i].data)[k];
			want = e->dtype == NPUC_DT_U8 ? (long)((const uint8_t *)e->data)[k] - 128 :
							(long)((const int8_t *)e->data)[k];
			diff = labs(got - want);
			if (diff > 1) {
				set(o, V_FAIL, "'%s'[%lld] = %ld, expected %ld (int8 domain)", nm,
				    (long long)k, got, want);
				return -1;
			}
			o->lsb1 += diff;
		}
	}
	return 0;
}

/*
 * The quantisation step of a float output: the scale of the int8 tensor
 * dequantised into it (directly, or into the CPU node producing it). 0 if
 * the output was computed in float from float inputs only.
 */
static double output_step(const struct npuq_graph *q, int ti)
{
	const struct npuq_tensor *t = &q->t[ti];
	const struct npuq_node *p;
	double s = 0;

	if (!(t->flags & NPUQ_T_FLOAT))
		return t->scale;
	if (t->producer < 0)
		return 0;
	p = &q->nodes[t->producer];
	if (p->op == NPUQ_DEQUANTIZE)
		return q->t[p->in[0]].scale;
	for (int k = 0; k < p->n_in; k++)
		s = fmax(s, output_step(q, p->in[k]));
	return s;
}

static int compare_float(const struct test *t, const struct npuq_graph *q,
			 const struct npuc_value *out, struct outcome *o)
{
	o->max_steps = 0;
	for (int i = 0; i < q->n_outputs; i++) {
		const struct npuc_tensor_pb *e = expected(t, q, i);
		const char *nm = q->t[q->outputs[i]].name;
		double step = output_step(q, q->outputs[i]), amax = 0, worst = 0;
		int64_t wk = 0;

		if (!e) {
			set(o, V_FAIL, "no expected '%s'", nm);
			return -1;
		}
		if (same_count(&out[i], e, nm, o))
			return -1;
		if (e->dtype != NPUC_DT_F32) {
			/* An integer result of a CPU node (MaxPool indices, ...). */
			if (compare_exact(&out[i], e, nm, o))
				return -1;
			continue;
		}
		if (out[i].dtype != NPUC_DT_F32) {
			set(o, V_FAIL, "output '%s' is %s", nm, npuc_dtype_name(out[i].dtype));
			return -1;
		}
		for (int64_t k = 0; k < e->numel; k++)
			amax = fmax(amax, fabs(((const float *)e->data)[k]));
		if (step <= 0)
			step = 1e-6 * amax + 1e-7;	/* all float: rounding only */
		for (int64_t k = 0; k < e->numel; k++) {
			double err = fabs((double)((const float *)out[i].data)[k] -
					  ((const float *)e->data)[k]) / step;

			if (!(err <= worst)) {
				worst = err;
				wk = k;
			}
		}
		o->max_steps = fmax(o->max_steps, worst);
		if (!(worst <= TOL_STEPS)) {
			set(o, V_FAIL, "'%s'[%lld] = %g, expected %g: %.2f steps of %g (tolerance "
			    "%.0f)", nm, (long long)wk, ((const float *)out[i].data)[wk],
			    ((const float *)e->data)[wk], worst, step, TOL_STEPS);
			return -1;
		}
	}
	return 0;
}

/* ---- stage 7: lowering + libnpusim ---- */

static void free_values(struct npuc_value *v, int n)
{
	for (int i = 0; i < n; i++)
		npuc_value_free(&v[i]);
}

/*
 * Lowers the qgraph to an .npub model, round-trips it through the file
 * format, runs it on libnpusim and requires the outputs to be bit-exact
 * with qref's.
 */
static int stage_sim(const struct test *t, const struct npuq_graph *q,
		     const struct npuc_value *in, const struct npuc_value *ref, struct outcome *o)
{
	struct npuc_value out[MAX_IO];
	struct npub_model *m = NULL, *m2 = NULL;
	struct npub_run_stats st;
	struct npul_options opt;
	struct npuc_diag d;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = -1;

	(void)t;
	memset(out, 0, sizeof(out));
	npul_options_default(&opt);
	opt.estimate = 0;
	if (npul_lower(q, &opt, &m, &d)) {
		set(o, V_FAIL, "lowering: %s", d.msg);
		goto out;
	}
	if (npub_write_mem(m, &buf, &len, &d) || npub_read_mem(buf, len, &m2, &d)) {
		set(o, V_FAIL, ".npub round trip: %s", d.msg);
		goto out;
	}
	for (uint32_t i = 0; i < m2->n_layers; i++)
		o->sim_npu += m2->layers[i].target == NPUB_TARGET_NPU;
	rc = npub_run_sim(m2, NULL, in, out, &st, &d);
	if (rc) {
		set(o, rc == NPUC_REF_UNSUPPORTED ? V_UNSUP : V_FAIL, "libnpusim run: %s", d.msg);
		rc = -1;
		goto out;
	}
	o->sim_jobs = st.npu_jobs;
	o->sim_cycles = st.cycles;
	for (int i = 0; i < q->n_outputs; i++) {
		if (out[i].dtype != ref[i].dtype || out[i].numel != ref[i].numel ||
		    memcmp(out[i].data, ref[i].data,
			   (size_t)ref[i].numel * npuc_dtype_size(ref[i].dtype))) {
			set(o, V_FAIL, "libnpusim output '%s' differs from qref's",
			    q->t[q->outputs[i]].name);
			rc = -1;
			goto out;
		}
	}
	rc = 0;
out:
	free_values(out, q->n_outputs);
	free(buf);
	npub_model_free(m);
	npub_model_free(m2);
	return rc;
}

#define ENGINES "qref and, after lowering and an .npub round trip, libnpusim (bit-exact)"


/* ---- driver ---- */

/* -v: the qgraph's nodes, with the CPU nodes' reasons. */
static void print_qgraph(const struct test *t, const struct npuq_graph *q, const char *route)
{
	printf("  %s, %s route:", t->name, route);
	for (int n = 0; n < q->n_nodes; n++)
		printf(" %s", npuq_op_name(q->nodes[n].op));
	printf("\n");
	for (int n = 0; n < q->n_nodes; n++)
		if (q->nodes[n].op == NPUQ_CPU)
			printf("    CPU %s: %s\n", q->src->nodes[q->nodes[n].u.cpu.src_node].op,
			       q->nodes[n].u.cpu.reason);
}

/* Runs a qgraph on the test data and compares (int8 or float rules). */
static int run_qgraph(const struct test *t, const struct npuq_graph *q, int int8,
		      const char *route, struct outcome *o)
{
	struct npuc_value in[MAX_IO], out[MAX_IO];
	int rc;

	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	if (verbose)
		print_qgraph(t, q, route);
	if (stage_check_qgraph(q, o))
		return -1;
	rc = stage_qref(t, q, in, out, o);
	o->engine = "qref";
	if (!rc)
		rc = int8 ? compare_int8(t, q, out, o) : compare_float(t, q, out, o);
	if (!rc) {
		rc = stage_sim(t, q, in, out, o);
		o->engine = "qref+sim";
	}
	free_values(out, q->n_outputs);
	free_values(in, q->n_inputs);
	return rc;
}

/*
 * Float tests, second route: the calibrated graph written as a QDQ model
 * and compiled by npuc_qdq_import. Fills *qo; returns 0 if it ran.
 */
static int qdq_route(struct test *t, struct outcome *qo)
{
	struct npuc_value in[MAX_IO];
	struct npuc_act_ranges r;
	struct npuc_graph *qg;
	struct npuq_graph *q;
	struct npuc_diag d;
	int n, rc = -1;

	memset(&r, 0, sizeof(r));
	d.msg[0] = 0;
	if (data_values(t, in, &n) || calibrate(t->g, in, &r, &d)) {
		set(qo, V_FAIL, "qdq route: calibration: %s", d.msg);
		goto out;
	}
	qg = synth_qdq(t->g, &r, &d);
	if (!qg) {
		set(qo, V_FAIL, "qdq route: %s", d.msg);
		goto out;
	}
	if (npuc_qdq_import(qg, &q, &d)) {
		set(qo, V_FAIL, "qdq import: %s", d.msg);
		npuc_graph_free(qg);
		goto out;
	}
	rc = run_qgraph(t, q, 0, "QDQ (npuc_qdq_import)", qo);
	npuq_graph_free(q);
out:
	npuc_act_ranges_free(&r);
	return rc;
}

static void run_test(struct test *t, struct outcome *o)
{
	struct npuq_graph *q = NULL;
	struct outcome qo;

	memset(&qo, 0, sizeof(qo));
	if (stage_load(t, o) || stage_classify(t, o) || stage_constify(t, o) ||
	    stage_check_data(t, o))
		return;
	if (!t->int8 && prepare_float(t, o))
		return;
	if (!t->int8 && qdq_route(t, &qo)) {
		if (qo.v == V_FAIL) {
			*o = qo;
			return;
		}
		qo.n_npu = -1;	/* the QDQ route could not run: say why below */
	}
	q = t->int8 ? stage_import_int8(t, o) : stage_quantize(t, o);
	if (!q || run_qgraph(t, q, t->int8, t->int8 ? "npuc_qdq_import" : "npuc_quantize", o))
		goto out;
	if (t->int8)
		set(o, V_PASS, "int8, %s [npu %d, cpu %d; sim: %d NPU layers, %u jobs, %llu "
		    "cycles]", o->lsb1 ? "within 1 LSB" : "exact", o->n_npu, o->n_cpu, o->sim_npu,
		    o->sim_jobs, (unsigned long long)o->sim_cycles);
	else if (!o->n_npu)
		set(o, V_PASS, "no NPU compute (reshape / CPU fallback) [cpu %d; sim: %u jobs]%s%s",
		    o->n_cpu, o->sim_jobs, o->n_cpu ? "; CPU because: " : "",
		    o->n_cpu ? o->cpu_why : "");
	else if (qo.n_npu < 0)
		set(o, V_PASS, "float->int8 max %.2f steps [npu %d, cpu %d; sim: %d NPU layers, "
		    "%u jobs, %llu cycles]; qdq route not run: %s", o->max_steps, o->n_npu,
		    o->n_cpu, o->sim_npu, o->sim_jobs, (unsigned long long)o->sim_cycles, qo.msg);
	else
		set(o, V_PASS, "float->int8 max %.2f steps [npu %d, cpu %d; sim: %d NPU layers, "
		    "%u jobs, %llu cycles]; qdq route max %.2f steps [npu %d, cpu %d; sim %d NPU "
		    "layers]", o->max_steps, o->n_npu, o->n_cpu, o->sim_npu, o->sim_jobs,
		    (unsigned long long)o->sim_cycles, qo.max_steps, qo.n_npu, qo.n_cpu,
		    qo.sim_npu);
	if (t->int8 && o->lsb1)
		snprintf(o->msg + strlen(o->msg), sizeof(o->msg) - strlen(o->msg),
			 " (%ld elements 1 LSB off)", o->lsb1);
out:
	npuq_graph_free(q);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_tests(const char *dir, char ***names, int *n)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int cap = 0;

	*names = NULL;
	*n = 0;
	if (!dp)
		return -1;
	while ((de = readdir(dp))) {
		char **p;

		if (strncmp(de->d_name, "test_", 5))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			p = realloc(*names, sizeof(char *) * (size_t)cap);
			if (!p)
				break;
			*names = p;
		}
		(*names)[(*n)++] = strdup(de->d_name);
	}
	closedir(dp);
	qsort(*names, (size_t)*n, sizeof(char *), cmp_str);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: run_node_tests [-v] [-k substring] [--floor N] [dir]\n"
		"  default dir %s\n", DEFAULT_DIR);
}

int main(int argc, char **argv)
{
	const char *dir = DEFAULT_DIR, *filter = NULL;
	static const char *const vname[] = { "PASS", "FAIL", "UNSUPPORTED" };
	struct totals tot;
	char **names;
	int n, floor_ = 0;
	clock_t t0 = clock();

	memset(&tot, 0, sizeof(tot));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "-k") && i + 1 < argc)
			filter = argv[++i];
		else if (!strcmp(argv[i], "--floor") && i + 1 < argc)
			floor_ = atoi(argv[++i]);
		else if (argv[i][0] == '-')
			return usage(), 2;
		else
			dir = argv[i];
	}
	if (list_tests(dir, &names, &n) || n == 0) {
		fprintf(stderr, "conformance: no tests in %s (%s)\n", dir,
			n ? "" : "install libonnx-testdata");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		struct test t;
		struct outcome o;

		if (filter && !strstr(names[i], filter)) {
			free(names[i]);
			continue;
		}
		memset(&t, 0, sizeof(t));
		memset(&o, 0, sizeof(o));
		t.name = names[i];
		snprintf(t.dir, sizeof(t.dir), "%s/%s", dir, names[i]);
		run_test(&t, &o);
		printf("%-11s %s: %s\n", vname[o.v], t.name, o.msg);
		tot.pass += o.v == V_PASS;
		tot.fail += o.v == V_FAIL;
		tot.unsup += o.v == V_UNSUP;
		tot.lsb1_tests += o.v == V_PASS && o.lsb1 > 0;
		tot.sim_tests += o.v == V_PASS && o.sim_jobs > 0;
		tot.int8_pass += o.v == V_PASS && t.int8;
		tot.float_pass += o.v == V_PASS && !t.int8 && o.n_npu;
		tot.cpu_only += o.v == V_PASS && !t.int8 && !o.n_npu;
		test_free(&t);
		free(names[i]);
	}
	free(names);
	printf("conformance: %d passed, %d failed, %d unsupported\n", tot.pass, tot.fail,
	       tot.unsup);
	printf("conformance: passed = %d int8 (npuc_qdq_import; %d needed the 1 LSB tolerance) + "
	       "%d float with NPU nodes (npuc_quantize and the QDQ route, <= %.0f output steps) "
	       "+ %d without NPU compute (reshape / CPU fallback only); executed by %s; %d ran "
	       "NPU jobs on libnpusim; %.2f s CPU\n", tot.int8_pass, tot.lsb1_tests,
	       tot.float_pass, TOL_STEPS, tot.cpu_only, ENGINES, tot.sim_tests,
	       (double)(clock() - t0) / CLOCKS_PER_SEC);
	if (tot.fail || tot.pass < floor_) {
		if (tot.pass < floor_)
			printf("conformance: %d passed is below the floor of %d\n", tot.pass,
			       floor_);
		return 1;
	}
	return 0;
}
