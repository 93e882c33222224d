#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Host wall time per inference of ONNX Runtime (CPU, one thread) on a float
// image classifier, for `make bench` (tests/bench/bench_runtime.sh).
//
//   node tests/bench/ort_time.js MODEL.onnx [--images IDX] [--labels IDX]
//        [--limit N] [--warmup W] [--scale S]
//
// Input tensors for the first N images (x = pixel * S) are built before the
// clock starts; W runs warm the session up, then each of the N runs
// (`await session.run`) is timed on its own. Prints the mean and median in
// microseconds and the top-1 on those images (a check that the model ran).
// Needs onnxruntime-node on NODE_PATH.
'use strict';

const { readIdx, argmax } = require('../../scripts/idx.js');

const DATA = '/usr/share/datasets/fashion-mnist';

function usage() {
	console.error('usage: ort_time.js MODEL.onnx [--images IDX] [--labels IDX] ' +
		      '[--limit N] [--warmup W] [--scale S]');
	process.exit(2);
}

function parseArgs(argv) {
	const a = {
		model: null,
		images: `${DATA}/t10k-images-idx3-ubyte.gz`,
		labels: `${DATA}/t10k-labels-idx1-ubyte.gz`,
		limit: 2000,
		warmup: 100,
		scale: 1 / 255,
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
			a.limit = Number(next());
		else if (v === '--warmup')
			a.warmup = Number(next());
		else if (v === '--scale')
			a.scale = Number(next());
		else if (v.startsWith('-') || a.model)
			usage();
		else
			a.model = v;
	}
	if (!a.model || !Number.isInteger(a.limit) || a.limit < 1 ||
	    !Number.isInteger(a.warmup) || a.warmup < 0 || !(a.scale > 0))
		usage();
	return a;
}

async function main() {
	const a = parseArgs(process.argv.slice(2));
	let ort;
	try {
		ort = require('onnxruntime-node');
	} catch (e) {
		console.error('ort_time: onnxruntime-node not found (NODE_PATH): ' + e.message);
		process.exit(2);
	}
	const img = readIdx(a.images);
	const lab = readIdx(a.labels);
	if (img.dims.length !== 3 || lab.dims.length !== 1 || lab.dims[0] !== img.dims[0])
		throw new Error('expected images [N, rows, cols] and labels [N]');
	const [count, rows, cols] = img.dims;
	const n = Math.min(a.limit, count);
	const pix = rows * cols;
	const session = await ort.InferenceSession.create(a.model, {
		executionProviders: ['cpu'],
		intraOpNumThreads: 1,
		interOpNumThreads: 1,
		executionMode: 'sequential',
		graphOptimizationLevel: 'all',
	});
	const inName = session.inputNames[0];
	const outName = session.outputNames[0];
	const feeds = [];
	for (let i = 0; i < n; i++) {
		const x = new Float32Array(pix);
		for (let k = 0; k < pix; k++)
			x[k] = img.data[i * pix + k] * a.scale;
		feeds.push({ [inName]: new ort.Tensor('float32', x, [1, 1, rows, cols]) });
	}
	for (let i = 0; i < a.warmup; i++)
		await session.run(feeds[i % n]);

	const us = new Float64Array(n);
	let ok = 0;
	for (let i = 0; i < n; i++) {
		const t0 = process.hrtime.bigint();
		const out = await session.run(feeds[i]);
		us[i] = Number(process.hrtime.bigint() - t0) / 1000;
		ok += argmax(out[outName].data) === lab.data[i];
	}
	const mean = us.reduce((s, v) => s + v, 0) / n;
	const sorted = Float64Array.from(us).sort();
	const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	const ver = ort.env.versions ? ort.env.versions.node : '?';
	console.log(`runtime onnxruntime-node ${ver} (CPU, 1 intra-op + 1 inter-op thread)`);
	console.log(`images ${n} (after ${a.warmup} warm-up runs)`);
	console.log(`top1 ${ok}/${n}`);
	console.log(`mean_us ${mean.toFixed(2)}`);
	console.log(`median_us ${median.toFixed(2)}`);
}

main().catch((e) => {
	console.error('ort_time: ' + (e && e.message ? e.message : e));
	process.exit(1);
});
