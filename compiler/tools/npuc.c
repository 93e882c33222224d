// SPDX-License-Identifier: MIT
/*
 * npuc: the offline compiler, ONNX -> .npub.
 * Option parsing only; the work is in compiler/pipeline/pipeline.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dot.h"
#include "lower.h"
#include "onnx_export.h"
#include "outfile.h"
#include "gptq.h"
#include "pipeline.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: npuc MODEL.onnx [-o OUT.npub] [options]\n"
		"\n"
		"Compiles an ONNX model (float, QDQ or QOperator) for the npu-v1 NPU.\n"
		"\n"
		"calibration (float models):\n"
		"  --calib PATH           .npy file, directory of .npy files, or IDX file (.gz ok)\n"
		"  --calib-limit N        samples to use (default %d)\n"
		"  --calib-scale S        preprocessing: x = (raw * S - mean) / std (default S = 1)\n"
		"  --calib-mean M[,M..]   per-channel mean (default 0)\n"
		"  --calib-std S[,S..]    per-channel std (default 1)\n"
		"  --calib-method NAME    minmax (default), percentile, entropy, mse\n"
		"  --percentile P         for --calib-method percentile (default 99.99)\n"
		"  --calib-random         calibrate on random data (warns: inaccurate)\n"
		"compression (float models, before calibration):\n"
		"  --prune R              zero the fraction R of Conv/Gemm/MatMul weights with\n"
		"                         the smallest magnitude, one threshold for all layers\n"
		"  --prune-per-layer      --prune R in each layer instead\n"
		"  --prune-sensitivity    --prune R overall, each layer's share chosen by how\n"
		"                         much pruning it alone changes the outputs\n"
		"  --prune-nm N:M         keep the N largest of every M weights along the\n"
		"                         input channels (e.g. 2:4)\n"
		"  --prune-filters R      remove the fraction R of each Conv's filters (smallest\n"
		"                         L1 norm) and the inputs reading them: a smaller graph\n"
		"  --cluster K            share at most K int8 values per layer (k-means, 2..256;\n"
		"                         K <= 16 is stored as 4-bit indices the DMA decodes)\n"
		"  --gptq                 error-compensated weight rounding (GPTQ) against the\n"
		"                         float model on calibration data; with pruning the\n"
		"                         unpruned weights are the target\n"
		"  --sparsegpt            with --prune / --prune-nm: choose the pruned weights by\n"
		"                         their effect on each layer's output (SparseGPT; implies\n"
		"                         --gptq)\n"
		"  --gptq-samples N       calibration samples for GPTQ's Hessians (default %d)\n"
		"quantisation:\n"
		"  --equalize             cross-layer equalisation of Conv -> Conv / Gemm pairs\n"
		"                         (depthwise too) before calibration\n"
		"  --per-tensor           per-tensor weight scales (default per channel)\n"
		"  --bias-correction      correct conv biases for the mean quantisation error\n"
		"  --sqnr                 print the per-layer SQNR against the float model\n"
		"target:\n"
		"  --sram-kib N           SRAM size of the target (default 1024)\n"
		"  --no-compress          store weights raw, never for DMA_DECOMPRESS (a target\n"
		"                         without the ZMASK / PALETTE4 capabilities)\n"
		"output:\n"
		"  -o, --output FILE      the .npub (default: MODEL with .npub extension)\n"
		"  --report               per-layer table: MACs, cycles, DRAM bytes, utilisation\n"
		"  --dump-graph FILE.dot  the quantised graph in Graphviz dot\n"
		"  --export-qdq FILE.onnx the quantised model as a QDQ ONNX model (runs on ONNX\n"
		"                         Runtime: scripts/ort_crosscheck.sh)\n"
		"  -h, --help\n",
		NPUC_DEFAULT_CALIB_LIMIT, NPUC_GPTQ_SAMPLES);
}

enum {
	OPT_CALIB = 256, OPT_CALIB_LIMIT, OPT_CALIB_SCALE, OPT_CALIB_MEAN, OPT_CALIB_STD,
	OPT_CALIB_METHOD, OPT_PERCENTILE, OPT_CALIB_RANDOM, OPT_PER_TENSOR, OPT_BIAS_CORR,
	OPT_SQNR, OPT_SRAM_KIB, OPT_REPORT, OPT_DUMP_GRAPH, OPT_EXPORT_QDQ, OPT_PRUNE, OPT_GPTQ, OPT_SPARSEGPT, OPT_GPTQ_SAMPLES, OPT_PRUNE_FILTERS, OPT_PRUNE_SENS, OPT_EQUALIZE, OPT_NO_COMPRESS,
	OPT_PRUNE_PER_LAYER, OPT_PRUNE_NM, OPT_CLUSTER,
};

static const struct option long_opts[] = {
	{ "calib", required_argument, NULL, OPT_CALIB },
	{ "calib-limit", required_argument, NULL, OPT_CALIB_LIMIT },
	{ "calib-scale", required_argument, NULL, OPT_CALIB_SCALE },
	{ "calib-mean", required_argument, NULL, OPT_CALIB_MEAN },
	{ "calib-std", required_argument, NULL, OPT_CALIB_STD },
	{ "calib-method", required_argument, NULL, OPT_CALIB_METHOD },
	{ "percentile", required_argument, NULL, OPT_PERCENTILE },
	{ "calib-random", no_argument, NULL, OPT_CALIB_RANDOM },
	{ "prune", required_argument, NULL, OPT_PRUNE },
	{ "prune-per-layer", no_argument, NULL, OPT_PRUNE_PER_LAYER },
	{ "prune-nm", required_argument, NULL, OPT_PRUNE_NM },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "prune-filters", required_argument, NULL, OPT_PRUNE_FILTERS },
	{ "prune-sensitivity", no_argument, NULL, OPT_PRUNE_SENS },
	{ "equalize", no_argument, NULL, OPT_EQUALIZE },
	{ "no-compress", no_argument, NULL, OPT_NO_COMPRESS },
	{ "gptq", no_argument, NULL, OPT_GPTQ },
	{ "sparsegpt", no_argument, NULL, OPT_SPARSEGPT },
	{ "gptq-samples", required_argument, NULL, OPT_GPTQ_SAMPLES },
	{ "per-tensor", no_argument, NULL, OPT_PER_TENSOR },
	{ "bias-correction", no_argument, NULL, OPT_BIAS_CORR },
	{ "sqnr", no_argument, NULL, OPT_SQNR },
	{ "sram-kib", required_argument, NULL, OPT_SRAM_KIB },
	{ "report", no_argument, NULL, OPT_REPORT },
	{ "dump-graph", required_argument, NULL, OPT_DUMP_GRAPH },
	{ "export-qdq", required_argument, NULL, OPT_EXPORT_QDQ },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "npuc: %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* "a/b/model.onnx" -> "model.npub" in the current directory. */
static char *default_output(const char *model)
{
	const char *base = strrchr(model, '/');
	const char *dot;
	size_t n;
	char *out;

	base = base ? base + 1 : model;
	dot = strrchr(base, '.');
	n = dot ? (size_t)(dot - base) : strlen(base);
	out = malloc(n + sizeof(".npub"));
	if (out) {
		memcpy(out, base, n);
		strcpy(out + n, ".npub");
	}
	return out;
}

/* The command line, for the .npub metadata. */
static char *join_args(int argc, char **argv)
{
	size_t n = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	s = calloc(1, n);
	for (int i = 0; s && i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int main(int argc, char **argv)
{
	static const char *const out_what[3] = { "-o", "--dump-graph", "--export-qdq" };
	static const char *const in_what[2] = { "the input model", "the calibration data (--calib)" };
	struct npuc_outfile of[3] = { { 0 } };
	const char *outs[3], *ins[2];
	struct npuc_compile_opts o;
	struct npuc_compiled c;
	struct npuc_diag d = { { 0 } };
	const char *out_path = NULL, *dot_path = NULL, *qdq_path = NULL;
	char *def_out = NULL, *cmdline;
	int report = 0, opt, ret = 1;
	double v;

	npuc_compile_opts_default(&o);
	while ((opt = getopt_long(argc, argv, "o:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out_path = optarg; break;
		case 'h': usage(stdout); return 0;
		case OPT_CALIB: o.calib_path = optarg; break;
		case OPT_CALIB_RANDOM: o.calib_random = 1; break;
		case OPT_PER_TENSOR: o.per_tensor = 1; break;
		case OPT_BIAS_CORR: o.bias_correction = 1; break;
		case OPT_SQNR: o.sqnr = 1; break;
		case OPT_REPORT: report = 1; break;
		case OPT_DUMP_GRAPH: dot_path = optarg; break;
		case OPT_EXPORT_QDQ: qdq_path = optarg; break;
		case OPT_CALIB_LIMIT:
			if (parse_num("--calib-limit", optarg, 1, 1e9, &v))
				return 2;
			o.calib_limit = (int64_t)v;
			break;
		case OPT_CALIB_SCALE:
			if (parse_num("--calib-scale", optarg, 1e-30, 1e30, &v))
				return 2;
			o.pre.scale = (float)v;
			break;
		case OPT_CALIB_MEAN:
		case OPT_CALIB_STD:
			if (npuc_calib_parse_floats(optarg, opt == OPT_CALIB_MEAN ? o.pre.mean :
						    o.pre.std, NPUC_CALIB_MAX_CH,
						    opt == OPT_CALIB_MEAN ? &o.pre.n_mean :
						    &o.pre.n_std, &d)) {
				fprintf(stderr, "npuc: %s\n", d.msg);
				return 2;
			}
			break;
		case OPT_CALIB_METHOD: {
			int m = npuc_calib_method_parse(optarg);

			if (m < 0) {
				fprintf(stderr, "npuc: unknown calibration method '%s' "
					"(minmax, percentile, entropy, mse)\n", optarg);
				return 2;
			}
			o.method.method = (enum npuc_calib_method)m;
			break;
		}
		case OPT_PERCENTILE:
			if (parse_num("--percentile", optarg, 50.0001, 100, &v))
				return 2;
			o.method.percentile = v;
			break;
		case OPT_PRUNE:
			if (parse_num("--prune", optarg, 0, 0.999999, &v))
				return 2;
			o.prune.ratio = (float)v;
			break;
		case OPT_PRUNE_PER_LAYER: o.prune.per_layer = 1; break;
		case OPT_PRUNE_SENS: o.prune.sensitivity = 1; break;
		case OPT_EQUALIZE: o.equalize = 1; break;
		case OPT_NO_COMPRESS: o.no_compress = 1; break;
		case OPT_CLUSTER:
			if (parse_num("--cluster", optarg, 2, 256, &v))
				return 2;
			if (v != (int)v) {
				fprintf(stderr, "npuc: --cluster: '%s' is not a whole number\n", optarg);
				return 2;
			}
			o.cluster = (int)v;
			break;
		case OPT_PRUNE_FILTERS:
			if (parse_num("--prune-filters", optarg, 0.000001, 0.999999, &v))
				return 2;
			o.prune_filters = (float)v;
			break;
		case OPT_GPTQ: o.gptq = 1; break;
		case OPT_SPARSEGPT: o.gptq = o.sparsegpt = 1; break;
		case OPT_GPTQ_SAMPLES:
			if (parse_num("--gptq-samples", optarg, 1, 1e9, &v))
				return 2;
			o.gptq_samples = (int64_t)v;
			break;
		case OPT_PRUNE_NM:
			if (npuc_prune_parse_nm(optarg, &o.prune, &d)) {
				fprintf(stderr, "npuc: --prune-nm: %s\n", d.msg);
				return 2;
			}
			break;
		case OPT_SRAM_KIB:
			if (parse_num("--sram-kib", optarg, 4, 65536, &v))
				return 2;
			o.hw.sram_bytes = (uint32_t)v * 1024u;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	o.model_path = argv[optind];
	ins[0] = o.model_path;
	ins[1] = o.calib_path;
	if (!out_path) {
		def_out = default_output(o.model_path);
		out_path = def_out;
	}
	cmdline = join_args(argc, argv);
	o.cmdline = cmdline;
	if (!out_path || !cmdline) {
		fprintf(stderr, "npuc: out of memory\n");
		goto out;
	}
	/* Never overwrite an input, whatever its name; one file per output. */
	outs[0] = out_path;
	outs[1] = dot_path;
	outs[2] = qdq_path;
	if (npuc_outputs_check(outs, out_what, 3, ins, in_what, 2, &d)) {
		fprintf(stderr, "npuc: %s\n", d.msg);
		ret = 2;
		goto out;
	}
	if (npuc_compile(&o, stderr, &c, &d)) {
		fprintf(stderr, "npuc: %s: %s\n", o.model_path, d.msg);
		goto out;
	}
	/* Every output into a temporary beside it; renamed only if all succeed. */
	for (int i = 0; i < 3; i++)
		if (outs[i] && npuc_outfile_begin(&of[i], outs[i], &d)) {
			fprintf(stderr, "npuc: %s %s\n", out_what[i], d.msg);
			goto discard;
		}
	if (npub_write_file(c.model, of[0].tmp, &d)) {
		fprintf(stderr, "npuc: %s: %s\n", out_path, d.msg);
		goto discard;
	}
	if (dot_path && npuc_dot_write(c.qgraph, c.model, of[1].tmp, &d)) {
		fprintf(stderr, "npuc: --dump-graph %s: %s\n", dot_path, d.msg);
		goto discard;
	}
	if (qdq_path && npuc_export_qdq(c.qgraph, of[2].tmp, &d)) {
		/* (the exporter's messages start with "export-qdq: " already) */
		fprintf(stderr, "npuc: %s\n", d.msg);
		goto discard;
	}
	for (int i = 0; i < 3; i++)
		if (npuc_outfile_commit(&of[i], &d)) {
			fprintf(stderr, "npuc: %s\n", d.msg);
			goto discard;
		}
	for (int i = 0; i < 3; i++)
		if (outs[i])
			fprintf(stderr, "npuc: wrote %s\n", outs[i]);
	if (report) {
		npub_print_report(stdout, c.model);
		npuc_print_weight_report(stdout, &c);
	}
	ret = 0;
discard:
	for (int i = 0; i < 3; i++)
		npuc_outfile_abort(&of[i]);
	npuc_compiled_free(&c);
out:
	free(cmdline);
	free(def_out);
	return ret;
}
