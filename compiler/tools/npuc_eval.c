// SPDX-License-Identifier: MIT
/*
 * npuc-eval: accuracy of a compiled image classifier against its float
 * ONNX model, on an IDX data set (MNIST format).
 *
 *   npuc-eval MODEL.onnx MODEL.npub IMAGES.idx[.gz] LABELS.idx[.gz]
 *             [--scale S] [--limit N] [--max-drop POINTS]
 *
 * Every image (uint8, preprocessed x = raw * S) runs through the float
 * reference executor on the ONNX model and through the .npub with libnpu
 * on its default device (NPU_DEVICE selects it; today the in-process
 * simulator: command streams on libnpusim, host steps with the reference
 * executors). Prints top-1 of both, model sizes, NPU
 * cycles and MAC utilisation per inference, and host time per inference.
 * Exits 1 if int8 top-1 is more than --max-drop points below float.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "calib_data.h"
#include "npu.h"
#include "npub.h"
#include "onnx_import.h"
#include "ref_float.h"
#include "runner.h"
#include "shape_infer.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}


struct eval_args {
	const char *onnx, *npub, *images, *labels;
	float scale;
	int64_t limit;
	double max_drop;
};

static int parse_args(int argc, char **argv, struct eval_args *a)
{
	int pos = 0;

	a->scale = 1.0f / 255.0f;
	a->limit = 0;
	a->max_drop = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scale") && i + 1 < argc)
			a->scale = strtof(argv[++i], NULL);
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			a->limit = strtoll(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--max-drop") && i + 1 < argc)
			a->max_drop = strtod(argv[++i], NULL);
		else if (argv[i][0] == '-' || pos >= 4)
			return -1;
		else
			(&a->onnx)[pos++] = argv[i];
	}
	return pos == 4 && a->scale > 0 && a->limit >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct eval_args a;
	struct npuc_diag d = { { 0 } };
	struct npuc_graph *g = NULL;
	struct npub_model *m = NULL;
	struct npuc_array img = { 0 }, lab = { 0 };
	struct npu_profile st = { 0 };
	struct npu_runner rn = { 0 };
	int64_t n, pix, ok_f = 0, ok_q = 0, agree = 0;
	double t_f = 0, t_q = 0;
	float *x = NULL;
	int ret = 2;

	if (parse_args(argc, argv, &a)) {
		fprintf(stderr, "usage: npuc-eval MODEL.onnx MODEL.npub IMAGES LABELS "
			"[--scale S] [--limit N] [--max-drop POINTS]\n");
		return 2;
	}
	if (npuc_onnx_load_file(a.onnx, &g, &d) || npuc_shape_infer(g, &d) ||
	    npub_read_file(a.npub, &m, &d) || npuc_idx_load(a.images, &img, &d) ||
	    npuc_idx_load(a.labels, &lab, &d)) {
		fprintf(stderr, "npuc-eval: %s\n", d.msg);
		goto out;
	}
	if (img.type != NPUC_ARR_U8 || img.rank < 2 || lab.type != NPUC_ARR_U8 ||
	    lab.rank != 1 || lab.dims[0] != img.dims[0] || g->n_inputs != 1 ||
	    g->n_outputs != 1) {
		fprintf(stderr, "npuc-eval: expected uint8 images and labels of the same count "
			"and a model with one input and one output\n");
		goto out;
	}
	n = img.dims[0];
	if (a.limit && a.limit < n)
		n = a.limit;
	pix = img.numel / img.dims[0];
	/* A label the model cannot produce would silently count as wrong. */
	for (int64_t i = 0; i < n; i++) {
		int64_t classes = npuc_tensor_numel(&g->t[g->outputs[0]]);

		if (((const uint8_t *)lab.data)[i] >= classes) {
			fprintf(stderr, "npuc-eval: %s: label %u of image %lld is not a class of the "
				"model (0..%lld)\n", a.labels, ((const uint8_t *)lab.data)[i],
				(long long)i, (long long)classes - 1);
			goto out;
		}
	}
	if (npuc_tensor_numel(&g->t[g->inputs[0]]) != pix) {
		fprintf(stderr, "npuc-eval: model input has %lld elements, images have %lld\n",
			(long long)npuc_tensor_numel(&g->t[g->inputs[0]]), (long long)pix);
		goto out;
	}
	if (npu_runner_open(&rn, NULL, a.npub)) {
		fprintf(stderr, "npuc-eval: libnpu: %s\n", npu_last_error());
		goto out;
	}
	x = malloc(pix * sizeof(*x));
	if (!x) {
		fprintf(stderr, "npuc-eval: out of memory\n");
		goto out;
	}
	ret = 1;
	for (int64_t i = 0; i < n; i++) {
		const struct npuc_tensor *in = &g->t[g->inputs[0]];
		struct npuc_value v, of = { 0 };
		struct npu_profile s1;
		const uint8_t *raw = (const uint8_t *)img.data + i * pix;
		int label = ((const uint8_t *)lab.data)[i], pf, pq;
		double t0;

		for (int64_t k = 0; k < pix; k++)
			x[k] = raw[k] * a.scale;
		memcpy(rn.in_map, x, pix * sizeof(*x));
		if (npuc_value_wrap(&v, NPUC_DT_F32, in->rank, in->dims, x, &d))
			goto fail;
		t0 = now_s();
		if (npuc_ref_run(g, &v, &of, NULL, &d))
			goto fail;
		t_f += now_s() - t0;
		t0 = now_s();
		if (npu_run(rn.ctx, &s1)) {
			npuc_value_free(&of);
			snprintf(d.msg, sizeof(d.msg), "libnpu: %s", npu_last_error());
			goto fail;
		}
		t_q += now_s() - t0;
		pf = (int)npu_argmax(of.data, (size_t)of.numel);
		pq = (int)npu_argmax(rn.out_map, rn.out_count);
		ok_f += pf == label;
		ok_q += pq == label;
		agree += pf == pq;
		st.device_cycles += s1.device_cycles;
		st.macs += s1.macs;
		st.dram_read_bytes += s1.dram_read_bytes;
		st.dram_write_bytes += s1.dram_write_bytes;
		npuc_value_free(&of);
		if ((i + 1) % 2000 == 0 || i + 1 == n)
			fprintf(stderr, "npuc-eval: %lld/%lld images\n", (long long)(i + 1),
				(long long)n);
	}
	{
		double acc_f = 100.0 * ok_f / n, acc_q = 100.0 * ok_q / n;
		long onnx_bytes = file_size(a.onnx), npub_bytes = file_size(a.npub);
		double mhz = m->hdr.clock_khz / 1000.0;
		double macs_per_cycle = (double)m->hdr.mac_oc * m->hdr.mac_ic;

		printf("images                 %lld\n", (long long)n);
		printf("float top-1            %.2f%%  (reference executor on %s)\n", acc_f,
		       a.onnx);
		printf("int8 top-1             %.2f%%  (%s via libnpu, '%s' device)\n", acc_q,
		       a.npub, rn.backend);
		printf("difference             %+.2f points; predictions agree on %.2f%%\n",
		       acc_q - acc_f, 100.0 * agree / n);
		printf("model size             %ld bytes float ONNX, %ld bytes .npub (%.1fx smaller)\n",
		       onnx_bytes, npub_bytes, npub_bytes > 0 ? (double)onnx_bytes / npub_bytes : 0);
		printf("NPU cycles/inference   %llu (%.1f us at %.0f MHz)\n",
		       (unsigned long long)(st.device_cycles / n), st.device_cycles / (double)n / mhz, mhz);
		printf("MAC utilisation        %.1f%%  (%llu MACs/inference)\n",
		       st.device_cycles ? 100.0 * st.macs / (st.device_cycles * macs_per_cycle) : 0.0,
		       (unsigned long long)(st.macs / n));
		printf("DRAM bytes/inference   %llu\n",
		       (unsigned long long)((st.dram_read_bytes + st.dram_write_bytes) / n));
		printf("host time/inference    %.1f us libnpu (%s), %.1f us float reference\n",
		       1e6 * t_q / n, rn.backend, 1e6 * t_f / n);
		ret = 0;
		if (a.max_drop >= 0 && acc_f - acc_q > a.max_drop) {
			printf("FAIL: int8 is %.2f points below float (limit %.2f)\n",
			       acc_f - acc_q, a.max_drop);
			ret = 1;
		}
	}
	goto out;
fail:
	fprintf(stderr, "npuc-eval: %s\n", d.msg);
out:
	free(x);
	npu_runner_close(&rn);
	npuc_array_free(&img);
	npuc_array_free(&lab);
	npub_model_free(m);
	npuc_graph_free(g);
	return ret;
}
