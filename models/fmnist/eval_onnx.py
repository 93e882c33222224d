#!/usr/bin/python3
"""Float top-1 accuracy of an ONNX classifier on Fashion-MNIST, without the C code.

A cross-check for the compiler's float reference and for train.py; never used
by `make check`.  Needs only numpy and onnx (Debian: python3-numpy python3-onnx);
onnxruntime is not used.

    /usr/bin/python3 models/fmnist/eval_onnx.py [models/fmnist/fmnist.onnx]

Preprocessing is the one documented in README.md: x = pixel / 255, float32
NCHW [N,1,28,28].  The prediction is argmax over the first output.

Backends:
  numpy      (default) a small numpy interpreter of the ops below, run over
             batches (the model's fixed batch of 1 is ignored; use --batch 1 for
             a model whose Reshape hard-codes the batch).
  reference  onnx.reference.ReferenceEvaluator (onnx >= 1.13 only; Debian
             bookworm has 1.12, which lacks it), one image at a time.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:3] != b"\0\0\x08":
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    if len(raw) - off != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return np.frombuffer(raw, dtype=np.uint8, offset=off).reshape(dims)


# ---------------------------------------------------------------- numpy ops

def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def spatial_params(x, a, kshape):
    nd = len(kshape)
    strides = list(a.get("strides", [1] * nd))
    dil = list(a.get("dilations", [1] * nd))
    pads = list(a.get("pads", [0] * (2 * nd)))
    ap = a.get("auto_pad", b"NOTSET")
    ap = ap.decode() if isinstance(ap, bytes) else ap
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(nd):
            size = x.shape[2 + i]
            out = -(-size // strides[i])
            total = max(0, (out - 1) * strides[i] + (kshape[i] - 1) * dil[i] + 1 - size)
            lo = total // 2 if ap == "SAME_UPPER" else total - total // 2
            pads[i], pads[i + nd] = lo, total - lo
    elif ap == "VALID":
        pads = [0] * (2 * nd)
    return strides, dil, pads


def windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
    """Yield (i, j, view) for every kernel tap; view is [N,C,oh,ow]."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                           j * dw:j * dw + sw * (ow - 1) + 1:sw]


def op_conv(ins, a):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 and ins[2] is not None else None
    if x.ndim != 4:
        raise NotImplementedError("Conv: only 2-D convolution")
    g = a.get("group", 1)
    kh, kw = w.shape[2:]
    (sh, sw), (dh, dw), p = spatial_params(x, a, [kh, kw])
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    n, oc = x.shape[0], w.shape[0]
    icg, ocg = x.shape[1] // g, oc // g
    out = np.zeros((n, oc, oh, ow), dtype=np.float32)
    for gi in range(g):
        xg = xp[:, gi * icg:(gi + 1) * icg]
        wg = w[gi * ocg:(gi + 1) * ocg]
        acc = out[:, gi * ocg:(gi + 1) * ocg]
        for i, j, v in windows(xg, kh, kw, sh, sw, dh, dw, oh, ow):
            acc += np.einsum("nchw,oc->nohw", v, wg[:, :, i, j], optimize=True)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def pool_out(size, k, s, d, lo, hi, ceil_mode):
    span = size + lo + hi - ((k - 1) * d + 1)
    o = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= size + lo:
        o -= 1      # the last window must start inside the input or left pad
    return o


def op_pool(ins, a, kind):
    x = ins[0]
    if x.ndim != 4:
        raise NotImplementedError("pool: only 2-D")
    kh, kw = a["kernel_shape"]
    (sh, sw), (dh, dw), p = spatial_params(x, a, [kh, kw])
    cm = a.get("ceil_mode", 0)
    oh = pool_out(x.shape[2], kh, sh, dh, p[0], p[2], cm)
    ow = pool_out(x.shape[3], kw, sw, dw, p[1], p[3], cm)
    eh = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - (x.shape[2] + p[0]))
    ew = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - (x.shape[3] + p[1]))
    pw = ((0, 0), (0, 0), (p[0], eh), (p[1], ew))
    if kind == "max":
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = np.pad(x, pw, constant_values=low)
        out = np.full((x.shape[0], x.shape[1], oh, ow), low, dtype=x.dtype)
        for _, _, v in windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
            np.maximum(out, v, out=out)
        return out
    # average: the divisor counts explicit pads only with count_include_pad,
    # and never the extra rows/columns that ceil_mode adds
    xp = np.pad(x, pw)
    inside = np.zeros(xp.shape[2:], dtype=np.float32)
    if a.get("count_include_pad", 0):
        inside[:x.shape[2] + p[0] + p[2], :x.shape[3] + p[1] + p[3]] = 1
    else:
        inside[p[0]:p[0] + x.shape[2], p[1]:p[1] + x.shape[3]] = 1
    out = np.zeros((x.shape[0], x.shape[1], oh, ow), dtype=np.float32)
    cnt = np.zeros((oh, ow), dtype=np.float32)
    for i, j, v in windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
        out += v
        cnt += inside[i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
    return out / cnt


def op_batchnorm(ins, a):
    x, s, b, m, v = ins[:5]
    if a.get("training_mode", 0):
        raise NotImplementedError("BatchNormalization: training_mode")
    eps = a.get("epsilon", 1e-5)
    shp = (1, -1) + (1,) * (x.ndim - 2)
    k = s / np.sqrt(v + np.float32(eps))
    return (x - m.reshape(shp)) * k.reshape(shp) + b.reshape(shp)


def op_gemm(ins, a):
    A, B = ins[0], ins[1]
    if a.get("transA", 0):
        A = A.T
    if a.get("transB", 0):
        B = B.T
    y = np.float32(a.get("alpha", 1.0)) * (A @ B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + np.float32(a.get("beta", 1.0)) * ins[2]
    return y


def op_reshape(ins, a):
    x, shape = ins[0], [int(s) for s in ins[1]]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def op_clip(ins, a):
    lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", -np.inf)
    hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", np.inf)
    return np.clip(ins[0], lo, hi)


def op_softmax(ins, a):
    x = ins[0]
    e = np.exp(x - x.max(axis=a.get("axis", -1), keepdims=True))
    return e / e.sum(axis=a.get("axis", -1), keepdims=True)


def op_dropout(ins, a):
    if len(ins) > 2 and ins[2] is not None and bool(ins[2]):
        raise NotImplementedError("Dropout: training_mode")
    return ins[0]


def axes_arg(ins, a):
    if len(ins) > 1 and ins[1] is not None:
        return tuple(int(v) for v in ins[1])
    return tuple(a["axes"]) if "axes" in a else None


OPS = {
    "Conv": op_conv,
    "BatchNormalization": op_batchnorm,
    "Relu": lambda i, a: np.maximum(i[0], 0),
    "LeakyRelu": lambda i, a: np.where(i[0] >= 0, i[0], i[0] * np.float32(a.get("alpha", 0.01))),
    "Sigmoid": lambda i, a: 1 / (1 + np.exp(-i[0])),
    "Clip": op_clip,
    "MaxPool": lambda i, a: op_pool(i, a, "max"),
    "AveragePool": lambda i, a: op_pool(i, a, "avg"),
    "GlobalAveragePool": lambda i, a: i[0].mean(axis=(2, 3), keepdims=True),
    "GlobalMaxPool": lambda i, a: i[0].max(axis=(2, 3), keepdims=True),
    "Flatten": lambda i, a: i[0].reshape(
        int(np.prod(i[0].shape[:a.get("axis", 1)])), -1),
    "Reshape": op_reshape,
    "Transpose": lambda i, a: np.transpose(i[0], a.get("perm")),
    "Squeeze": lambda i, a: np.squeeze(i[0], axis=axes_arg(i, a)),
    "Unsqueeze": lambda i, a: np.expand_dims(i[0], axis=axes_arg(i, a)),
    "Concat": lambda i, a: np.concatenate(i, axis=a["axis"]),
    "Gemm": op_gemm,
    "MatMul": lambda i, a: i[0] @ i[1],
    "Add": lambda i, a: i[0] + i[1],
    "Sub": lambda i, a: i[0] - i[1],
    "Mul": lambda i, a: i[0] * i[1],
    "Div": lambda i, a: i[0] / i[1],
    "Softmax": op_softmax,
    "Identity": lambda i, a: i[0],
    "Dropout": op_dropout,
}


class NumpyRunner:
    def __init__(self, model):
        g = model.graph
        self.nodes = list(g.node)
        self.consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.input = [i.name for i in g.input if i.name not in self.consts][0]
        self.output = g.output[0].name
        missing = sorted({n.op_type for n in self.nodes} - set(OPS) - {"Constant"})
        if missing:
            raise NotImplementedError(f"ops not implemented here: {', '.join(missing)}")

    def run(self, x):
        env = dict(self.consts)
        env[self.input] = x
        for n in self.nodes:
            a = attrs_of(n)
            if n.op_type == "Constant":
                env[n.output[0]] = numpy_helper.to_array(a["value"])
                continue
            ins = [env[i] if i else None for i in n.input]
            out = OPS[n.op_type](ins, a)
            if isinstance(out, np.ndarray) and out.dtype == np.float64:
                out = out.astype(np.float32)
            env[n.output[0]] = out
        return env[self.output]


class ReferenceRunner:
    def __init__(self, model):
        try:
            from onnx.reference import ReferenceEvaluator
        except ImportError:
            sys.exit(f"eval_onnx: onnx {onnx.__version__} has no onnx.reference "
                     "(needs onnx >= 1.13); use --backend numpy")
        self.sess = ReferenceEvaluator(model)
        self.input = [i.name for i in model.graph.input
                      if i.name not in {t.name for t in model.graph.initializer}][0]

    def run(self, x):
        return np.concatenate([self.sess.run(None, {self.input: x[k:k + 1]})[0]
                               for k in range(x.shape[0])])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=os.path.join(HERE, "fmnist.onnx"))
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--backend", choices=["numpy", "reference"], default="numpy")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--limit", type=int, default=0, help="only the first N test images")
    args = ap.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model)
    x = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    x = (x.astype(np.float32) / np.float32(255.0))[:, None, :, :]

    runner = (NumpyRunner if args.backend == "numpy" else ReferenceRunner)(model)
    t0 = time.time()
    correct = 0
    for i in range(0, x.shape[0], args.batch):
        logits = runner.run(np.ascontiguousarray(x[i:i + args.batch]))
        correct += int((logits.reshape(logits.shape[0], -1).argmax(1) == y[i:i + args.batch]).sum())
    n = x.shape[0]
    print(f"{os.path.basename(args.model)}: top-1 {100.0 * correct / n:.2f}% "
          f"({correct}/{n}) backend={args.backend} {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
