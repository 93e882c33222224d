// SPDX-License-Identifier: MIT
// IDX (MNIST-format) reading and argmax, shared by scripts/ort_crosscheck.js
// and tests/bench/ort_time.js.
'use strict';

const fs = require('fs');
const zlib = require('zlib');

// IDX file (optionally gzip'd): { dims, data (Uint8Array) }; uint8 only.
function readIdx(path) {
	let buf = fs.readFileSync(path);

	if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b)
		buf = zlib.gunzipSync(buf);
	if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
		throw new Error(`${path}: not an IDX file`);
	if (buf[2] !== 0x08)
		throw new Error(`${path}: element type 0x${buf[2].toString(16)} is not uint8`);
	const rank = buf[3];
	const dims = [];
	let n = 1;
	for (let i = 0; i < rank; i++) {
		const d = buf.readUInt32BE(4 + 4 * i);
		dims.push(d);
		n *= d;
	}
	const off = 4 + 4 * rank;
	if (buf.length < off + n)
		throw new Error(`${path}: truncated (${buf.length} bytes, need ${off + n})`);
	return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + off, n) };
}

function argmax(x) {
	let best = 0;
	for (let i = 1; i < x.length; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

module.exports = { readIdx, argmax };
