#!/usr/bin/python3
"""Train the bundled Fashion-MNIST CNN on the CPU and export it to ONNX.

Run with Debian's Python, which has PyTorch (python3-torch):

    /usr/bin/python3 models/fmnist/train.py

Writes models/fmnist/fmnist.onnx (float32, opset 13, fixed input [1,1,28,28],
BatchNormalization left in the graph) and models/fmnist/float_accuracy.txt.

Preprocessing (the compiler's calibration must use the same): x = pixel / 255,
no mean subtraction, no std division; input tensor "input" float32 NCHW
[1,1,28,28]; output "logits" float32 [1,10] (no softmax).

Deterministic: fixed seeds, deterministic algorithms, 1 thread (--threads).
Re-running on the same machine reproduces the same bytes.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """Read a (gzipped) IDX file into a numpy array (uint8 data only)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - off != count:
        raise ValueError(f"{path}: size mismatch")
    return np.frombuffer(raw, dtype=np.uint8, offset=off).reshape(dims)


def load_split(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return x, y


def preprocess(u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], x/255 (the documented preprocessing)."""
    return torch.from_numpy(u8.astype(np.float32) / np.float32(255.0)).unsqueeze(1)


class FmnistNet(nn.Module):
    """conv-bn-relu-pool x2, conv-bn-relu, flatten, linear.  ~50k parameters."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(64 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        x = torch.flatten(x, 1)
        return self.fc(self.drop(x))


def augment(xb, gen):
    """Random horizontal flip and a random shift of up to 2 pixels (zero fill)."""
    n = xb.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    pad = F.pad(xb, (2, 2, 2, 2))
    dx = int(torch.randint(0, 5, (1,), generator=gen))
    dy = int(torch.randint(0, 5, (1,), generator=gen))
    return pad[:, :, dy:dy + 28, dx:dx + 28].contiguous()


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        pred = model(x[i:i + batch]).argmax(1)
        correct += int((pred == y[i:i + batch]).sum())
    return correct / x.shape[0]


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    # PRESERVE (model in eval mode) keeps BatchNormalization as its own node:
    # TrainingMode.EVAL would fold it into the Conv; the compiler does that.
    torch.onnx.export(model, dummy, path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)


def setup(args):
    """Threads, seeds and determinism as args say; the data (train x, y, test x, y)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    xtr_u8, ytr_u8 = load_split(args.data, "train")
    xte_u8, yte_u8 = load_split(args.data, "t10k")
    return (preprocess(xtr_u8), torch.from_numpy(ytr_u8.astype(np.int64)),
            preprocess(xte_u8), torch.from_numpy(yte_u8.astype(np.int64)))


def optimiser(model, args, n_train):
    """AdamW with a one-cycle schedule over args.epochs, and the batch-order generator."""
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    steps = args.epochs * ((n_train + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    return opt, sched, torch.Generator().manual_seed(args.seed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=os.path.join(HERE, "fmnist.onnx"))
    ap.add_argument("--acc-out", default=os.path.join(HERE, "float_accuracy.txt"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: fastest on a shared 2-core machine, "
                         "and results do not depend on the thread count)")
    args = ap.parse_args()

    xtr, ytr, xte, yte = setup(args)
    model = FmnistNet().to(memory_format=torch.channels_last)
    opt, sched, gen = optimiser(model, args, xtr.shape[0])

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        total = 0.0
        for i in range(0, xtr.shape[0], args.batch):
            idx = perm[i:i + args.batch]
            xb = augment(xtr[idx], gen).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * idx.shape[0]
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs} loss {total / xtr.shape[0]:.4f} "
              f"test {acc * 100:.2f}% ({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0

    acc = evaluate(model, xte, yte)
    export_onnx(model.to(memory_format=torch.contiguous_format), args.out)
    size = os.path.getsize(args.out)
    settings = (f"epochs={args.epochs} batch={args.batch} AdamW lr={args.lr} "
            f"wd={args.wd} OneCycle label_smoothing=0.05 dropout=0.25 "
            f"aug=hflip+shift2 seed={args.seed} threads={args.threads} "
            f"torch={torch.__version__} train_s={train_s:.0f}")
    with open(args.acc_out, "w") as f:
        f.write(f"{acc * 100:.2f}\n")
        f.write(f"# float top-1 (%) of {os.path.basename(args.out)} on the 10000 "
            f"Fashion-MNIST test images, preprocessing x/255\n")
        f.write(f"# {settings}\n")
    print(f"final test accuracy {acc * 100:.2f}%  training {train_s:.0f} s  "
          f"{args.out}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
