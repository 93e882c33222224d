#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Runs an ONNX image classifier (for example the QDQ model written by
// `npuc --export-qdq`) on ONNX Runtime over the first N images of an IDX
// data set (MNIST format, .gz read with node's zlib) and prints its top-1,
// to cross-check npuc's int8 accuracy outside npuc's own executors.
//
//   node scripts/ort_crosscheck.js MODEL.onnx [--images F] [--labels F]
//        [--limit N] [--scale S] [--opt LEVEL] [--verbose]
//
// --opt sets ONNX Runtime's graph optimisation level (disabled, basic,
// extended, all; default all, where ONNX Runtime fuses the QDQ groups into
// its int8 kernels; disabled runs the float ops between Q / DQ as written).
// --verbose prints every image's label, prediction and outputs.
//
// Preprocessing: x = pixel * S (default 1/255), one image per run, input
// shape [1, 1, rows, cols]. Needs onnxruntime-node on NODE_PATH (see
// scripts/ort_crosscheck.sh, which installs it into build/npm).
'use strict';

const { readIdx, argmax } = require('./idx.js');

const DATA = '/usr/share/datasets/fashion-mnist';

function usage() {
	console.error('usage: ort_crosscheck.js MODEL.onnx [--images IDX] [--labels IDX] ' +
		      '[--limit N] [--scale S] [--verbose]');
	process.exit(2);
}

function parseArgs(argv) {
	const a = {
		model: null,
		images: `${DATA}/t10k-images-idx3-ubyte.gz`,
		labels: `${DATA}/t10k-labels-idx1-ubyte.gz`,
		limit: 0,
		scale: 1 / 255,
		verbose: false,
		opt: 'all',
	};
	for (let i = 0; i < argv.length; i++) {
		const v = argv[i];
		const next = () => {
			if (i + 1 >= argv.length)
				usage();
			return argv[++i];
		};
		if (v === '--images')
			a.images = next();
		else if (v === '--labels')
			a.labels = next();
		else if (v === '--limit')
			a.limit = parseInt(next(), 10);
		else if (v === '--scale')
			a.scale = parseFloat(next());
		else if (v === '--opt')
			a.opt = next();
		else if (v === '--verbose')
			a.verbose = true;
		else if (v.startsWith('-') || a.model)
			usage();
		else
			a.model = v;
	}
	if (!a.model || !(a.limit >= 0) || !(a.scale > 0) ||
	    !['disabled', 'basic', 'extended', 'all'].includes(a.opt))
		usage();
	return a;
}

async function main() {
	const a = parseArgs(process.argv.slice(2));
	let ort;
	try {
		ort = require('onnxruntime-node');
	} catch (e) {
		console.error('ort_crosscheck: onnxruntime-node not found (run ' +
			      'scripts/ort_crosscheck.sh, or set NODE_PATH): ' + e.message);
		process.exit(2);
	}
	const img = readIdx(a.images);
	const lab = readIdx(a.labels);
	if (img.dims.length !== 3 || lab.dims.length !== 1 || lab.dims[0] !== img.dims[0])
		throw new Error('expected images [N, rows, cols] and labels [N]');
	const [count, rows, cols] = img.dims;
	const n = a.limit && a.limit < count ? a.limit : count;
	const pix = rows * cols;
	const opts = { graphOptimizationLevel: a.opt, executionProviders: ['cpu'] };
	const session = await ort.InferenceSession.create(a.model, opts);
	const inName = session.inputNames[0];
	const outName = session.outputNames[0];
	const x = new Float32Array(pix);
	let ok = 0;
	const t0 = process.hrtime.bigint();

	for (let i = 0; i < n; i++) {
		for (let k = 0; k < pix; k++)
			x[k] = img.data[i * pix + k] * a.scale;
		const feeds = { [inName]: new ort.Tensor('float32', x, [1, 1, rows, cols]) };
		const out = await session.run(feeds);
		const pred = argmax(out[outName].data);
		ok += pred === lab.data[i];
		if (a.verbose)
			console.log(`${i} label ${lab.data[i]} pred ${pred} ` + Array.from(
				out[outName].data).map((v) => v.toFixed(6)).join(' '));
	}
	const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
	console.log(`model          ${a.model}`);
	const ver = ort.env.versions ? ort.env.versions.node : '?';
	console.log(`runtime        onnxruntime-node ${ver} (CPU, graph optimisation ${a.opt})`);
	console.log(`images         ${n} (${a.images})`);
	console.log(`top-1          ${(100 * ok / n).toFixed(2)}%  (${ok}/${n})`);
	console.log(`time/inference ${us.toFixed(1)} us`);
}

main().catch((e) => {
	console.error('ort_crosscheck: ' + (e && e.message ? e.message : e));
	process.exit(1);
});
