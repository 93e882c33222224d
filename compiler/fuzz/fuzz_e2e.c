// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the whole stack on the host: arbitrary bytes as an
 * ONNX model through npuc's pipeline (import, shape inference, passes,
 * calibration on two random samples, quantisation, lowering), the .npub
 * written and read back, then run on libnpusim and compared with the
 * compiler's reference executor (qref) on the same inputs.
 *
 * The oracle: a model that fails to compile says why; a model that
 * compiles writes and reads back; its run on the simulator and its qref
 * run both succeed or both fail, and when they succeed every output is
 * bit-identical (one int8 arithmetic, Documentation/npu-arithmetic.rst).
 * Nothing may crash, leak or trip a sanitizer.
 *
 * Run with -close_fd_mask=3: npuc warns on stderr about random
 * calibration, libFuzzer keeps its own output and the sanitizers' reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npub.h"
#include "npub_exec.h"
#include "pipeline.h"
#include "qref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Work a single input may cost: bytes of all qgraph tensors, device cycles per job. */
#define FUZZ_MAX_TENSOR_BYTES	(4u << 20)
#define FUZZ_WATCHDOG_CYCLES	(20u << 20)

/* A broken promise: say which (run the input without -close_fd_mask to see it). */
__attribute__((format(printf, 1, 2), noreturn)) static void broken(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz-e2e: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Deterministic input values for graph input i: small, in each type's domain. */
static int make_input(const struct npuq_graph *q, int i, struct npuc_value *v, uint64_t seed)
{
	const struct npuq_tensor *t = &q->t[q->inputs[i]];
	enum npuc_dtype dt = npuq_tensor_dtype(t);
	struct npuc_diag d = { { 0 } };
	int64_t dims[NPUC_MAX_RANK];
	int rank;

	if (dt == NPUC_DT_UNDEF || npuq_tensor_onnx_shape(t, &rank, dims, &d) ||
	    npuc_value_alloc(v, dt, rank, dims, &d))
		return -1;
	for (int64_t k = 0; k < v->numel; k++) {
		uint64_t r = mix(&seed);

		switch (dt) {
		case NPUC_DT_F32:
			((float *)v->data)[k] = (float)((int64_t)(r % 2001) - 1000) / 250.0f;
			break;
		case NPUC_DT_I8:
		case NPUC_DT_U8:
			((uint8_t *)v->data)[k] = (uint8_t)r;
			break;
		case NPUC_DT_I32:
			((int32_t *)v->data)[k] = (int32_t)(r % 5);
			break;
		case NPUC_DT_I64:
			((int64_t *)v->data)[k] = (int64_t)(r % 5);
			break;
		case NPUC_DT_BOOL:
			((uint8_t *)v->data)[k] = (uint8_t)(r & 1);
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int64_t qgraph_bytes(const struct npuq_graph *q)
{
	int64_t sum = 0;

	for (int i = 0; i < q->n_t; i++) {
		int64_t b = npuq_tensor_bytes(&q->t[i]);

		if (b < 0)
			return INT64_MAX;
		sum += b;
		if (sum > FUZZ_MAX_TENSOR_BYTES)
			return sum;
	}
	return sum;
}

static void values_free(struct npuc_value *v, int n)
{
	for (int i = 0; i < n; i++)
		npuc_value_free(&v[i]);
	free(v);
}

/* Simulator and qref agree bit for bit on model m lowered from q. */
static void check_run(const struct npuq_graph *q, const struct npub_model *m, uint64_t seed)
{
	struct npuc_value *in = calloc((size_t)q->n_inputs + 1, sizeof(*in));
	struct npuc_value *ro = calloc((size_t)q->n_outputs + 1, sizeof(*ro));
	struct npuc_value *so = calloc((size_t)q->n_outputs + 1, sizeof(*so));
	struct npuc_diag dr = { { 0 } }, ds = { { 0 } };
	int rr, rs;

	if (!in || !ro || !so)
		abort();
	for (int i = 0; i < q->n_inputs; i++)
		if (make_input(q, i, &in[i], seed + (uint64_t)i))
			goto out;	/* a shape the runner cannot feed: nothing to compare */
	rr = npuq_ref_run(q, in, ro, NULL, &dr);
	rs = npub_run_sim_budget(m, NULL, in, so, NULL, FUZZ_WATCHDOG_CYCLES, &ds);
	if ((rr && !dr.msg[0]) || (rs && !ds.msg[0]))
		broken("a run failed without a message (qref %d, sim %d)", rr, rs);
	if (rr == NPUC_REF_UNSUPPORTED || (rr && rs))
		goto out;	/* e.g. Gather indices out of range: both refuse */
	if (!rr && rs && strstr(ds.msg, "WATCHDOG"))
		goto out;	/* over this harness's cycle budget, not a fault */
	if (rr != rs)
		broken("qref: %d (%s), simulator: %d (%s)", rr, dr.msg, rs, ds.msg);
	for (int i = 0; !rr && i < q->n_outputs; i++) {
		if (ro[i].dtype != so[i].dtype || ro[i].numel != so[i].numel ||
		    ro[i].rank != so[i].rank)
			broken("output %d: qref gives %s x %lld, the simulator %s x %lld", i,
			       npuc_dtype_name(ro[i].dtype), (long long)ro[i].numel,
			       npuc_dtype_name(so[i].dtype), (long long)so[i].numel);
		if (memcmp(ro[i].data, so[i].data,
			   (size_t)ro[i].numel * npuc_dtype_size(ro[i].dtype)))
			broken("output %d: the simulator is not bit-exact with qref", i);
	}
out:
	values_free(in, q->n_inputs);
	values_free(ro, q->n_outputs);
	values_free(so, q->n_outputs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npuc_compile_opts o;
	struct npuc_compiled c;
	struct npuc_diag d = { { 0 } };
	struct npub_model *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	npuc_compile_opts_default(&o);
	o.model_path = "fuzz.onnx";
	o.calib_random = 1;
	o.calib_limit = 2;
	if (npuc_compile_mem(&o, data, size, NULL, &c, &d)) {
		if (!d.msg[0] || c.model || c.qgraph)
			broken("a failed compile without a message or with results left");
		return 0;
	}
	if (npub_write_mem(c.model, &buf, &len, &d) || npub_read_mem(buf, len, &back, &d))
		broken("the lowered model does not write and read back: %s", d.msg);
	if (qgraph_bytes(c.qgraph) <= FUZZ_MAX_TENSOR_BYTES)
		check_run(c.qgraph, back, size);
	npub_model_free(back);
	free(buf);
	npuc_compiled_free(&c);
	return 0;
}
