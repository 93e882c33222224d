#!/usr/bin/python3
"""Prune then fine-tune: the bundled model with most of its weights zero.

Run with Debian's Python (python3-torch, python3-onnx):

    /usr/bin/python3 models/fmnist/prune_finetune.py            # 75 % unstructured

Loads models/fmnist/fmnist.onnx into train.py's FmnistNet, zeroes the
weights of smallest magnitude of the three convolutions and the Gemm
together (one global threshold, as npuc --prune does), then fine-tunes
with the mask held fixed (pruned weights stay exactly zero: the mask is
applied after every optimiser step). The exported ONNX has the zeros in
its weights; npuc stores them compressed (ZMASK) with no option needed.
Deterministic like train.py.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from distill import load_onnx_weights  # noqa: E402
from train import (DEFAULT_DATA, FmnistNet, augment, evaluate, export_onnx,  # noqa: E402
                   load_split, preprocess)


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
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    xtr_u8, ytr_u8 = load_split(args.data, "train")
    xte_u8, yte_u8 = load_split(args.data, "t10k")
    xtr, ytr = preprocess(xtr_u8), torch.from_numpy(ytr_u8.astype(np.int64))
    xte, yte = preprocess(xte_u8), torch.from_numpy(yte_u8.astype(np.int64))

    model = load_onnx_weights(FmnistNet(), args.model)
    dense_acc = evaluate(model, xte, yte)
    masks = global_masks(model, args.sparsity)
    apply(masks)
    pruned_acc = evaluate(model, xte, yte)
    print(f"dense {dense_acc * 100:.2f}%, {args.sparsity * 100:.0f}% pruned before "
          f"fine-tuning {pruned_acc * 100:.2f}%", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    steps = args.epochs * ((xtr.shape[0] + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    gen = torch.Generator().manual_seed(args.seed)
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
        f.write(f"# {zeros} of {total} weights zero; dense {dense_acc * 100:.2f}%, pruned "
                f"before fine-tuning {pruned_acc * 100:.2f}%; epochs={args.epochs} "
                f"batch={args.batch} AdamW lr={args.lr} wd={args.wd} OneCycle "
                f"label_smoothing=0.05 aug=hflip+shift2 seed={args.seed} "
                f"threads={args.threads} torch={torch.__version__} train_s={train_s:.0f}\n")
    print(f"final test accuracy {acc * 100:.2f}%  {zeros}/{total} zero  {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
