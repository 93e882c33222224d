#!/usr/bin/python3
"""Prune then fine-tune: the bundled model with most of its weights zero.

Run with Debian's Python (python3-torch, python3-onnx):

    /usr/bin/python3 models/fmnist/prune_finetune.py            # 75 % unstructured
    /usr/bin/python3 models/fmnist/prune_finetune.py --filters 0.5 \
        --out models/fmnist/fmnist_filters50.onnx --acc-out models/fmnist/filters50_accuracy.txt

Loads models/fmnist/fmnist.onnx into train.py's FmnistNet, zeroes the
weights of smallest magnitude of the three convolutions and the Gemm
together (one global threshold, as npuc --prune does), then fine-tunes
with the mask held fixed (pruned weights stay exactly zero: the mask is
applied after every optimiser step). The exported ONNX has the zeros in
its weights; npuc stores them compressed (ZMASK) with no option needed.

With --filters R, whole filters go instead: in each convolution the R
fraction of output channels whose filters have the smallest L1 norm (the
criterion of npuc --prune-filters), the fine-tuning keeping them zero.
The exported model still has all channels, the pruned filters all zero;
`npuc --prune-filters R` then removes exactly those (their L1 norm is 0)
and moves the constant each one still outputs (its BatchNorm shift
through ReLU and pooling) into the next layer's bias, which is exact: the
compiled graph is smaller with no accuracy lost in npuc.
Deterministic like train.py.
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from distill import load_onnx_weights  # noqa: E402
from train import (DEFAULT_DATA, FmnistNet, augment, evaluate, export_onnx,  # noqa: E402
                   optimiser, setup)


def global_masks(model, sparsity):
    """Masks zeroing the `sparsity` fraction of smallest |w| over all layers."""
    ws = [m.weight for m in (model.conv1, model.conv2, model.conv3, model.fc)]
    flat = torch.cat([w.detach().abs().flatten() for w in ws])
    k = int(round(sparsity * flat.numel()))
    order = torch.argsort(flat, stable=True)  # ties in element order
    keep = torch.ones_like(flat, dtype=torch.bool)
    keep[order[:k]] = False
    masks, off = [], 0
    for w in ws:
        masks.append((w, keep[off:off + w.numel()].view_as(w)))
        off += w.numel()
    return masks


def filter_masks(model, ratio):
    """Masks zeroing the `ratio` fraction of each conv's filters with the smallest L1 norm."""
    masks = []
    for conv in (model.conv1, model.conv2, model.conv3):
        w = conv.weight
        l1 = w.detach().abs().sum(dim=(1, 2, 3))
        drop = int(ratio * w.shape[0])
        order = torch.argsort(l1, stable=True)  # ties: the lower channel first
        keep = torch.ones(w.shape[0], dtype=torch.bool)
        keep[order[:drop]] = False
        masks.append((w, keep.view(-1, 1, 1, 1).expand_as(w)))
    return masks


def apply(masks):
    with torch.no_grad():
        for w, m in masks:
            w.mul_(m)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--model", default=os.path.join(HERE, "fmnist.onnx"))
    ap.add_argument("--out", default=os.path.join(HERE, "fmnist_pruned75.onnx"))
    ap.add_argument("--acc-out", default=os.path.join(HERE, "pruned75_accuracy.txt"))
    ap.add_argument("--sparsity", type=float, default=0.75)
    ap.add_argument("--filters", type=float, default=0.0,
                    help="prune this fraction of each conv's filters instead (structured)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    xtr, ytr, xte, yte = setup(args)

    model = load_onnx_weights(FmnistNet(), args.model)
    dense_acc = evaluate(model, xte, yte)
    masks = (filter_masks(model, args.filters) if args.filters > 0
             else global_masks(model, args.sparsity))
    apply(masks)
    pruned_acc = evaluate(model, xte, yte)
    what = (f"{args.filters * 100:.0f}% of filters" if args.filters > 0
            else f"{args.sparsity * 100:.0f}%")
    print(f"dense {dense_acc * 100:.2f}%, {what} pruned before "
          f"fine-tuning {pruned_acc * 100:.2f}%", flush=True)

    opt, sched, gen = optimiser(model, args, xtr.shape[0])
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        for i in range(0, xtr.shape[0], args.batch):
            idx = perm[i:i + args.batch]
            loss = F.cross_entropy(model(augment(xtr[idx], gen)), ytr[idx],
                                   label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            apply(masks)
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs} test {acc * 100:.2f}% "
              f"({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0

    zeros = sum(int((w == 0).sum()) for w, _ in masks)
    total = sum(w.numel() for w, _ in masks)
    acc = evaluate(model, xte, yte)
    export_onnx(model, args.out)
    with open(args.acc_out, "w") as f:
        f.write(f"{acc * 100:.2f}\n")
        f.write(f"# float top-1 (%) of {os.path.basename(args.out)} on the 10000 "
                f"Fashion-MNIST test images, preprocessing x/255\n")
        f.write(f"# {what} pruned: {zeros} of {total} weights zero; dense {dense_acc * 100:.2f}%, pruned "
                f"before fine-tuning {pruned_acc * 100:.2f}%; epochs={args.epochs} "
                f"batch={args.batch} AdamW lr={args.lr} wd={args.wd} OneCycle "
                f"label_smoothing=0.05 aug=hflip+shift2 seed={args.seed} "
                f"threads={args.threads} torch={torch.__version__} train_s={train_s:.0f}\n")
    print(f"final test accuracy {acc * 100:.2f}%  {zeros}/{total} zero  {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
