#!/usr/bin/python3
"""Logit knowledge distillation: a small student from the bundled teacher.

Run with Debian's Python (python3-torch, python3-onnx):

    /usr/bin/python3 models/fmnist/distill.py              # student, distilled
    /usr/bin/python3 models/fmnist/distill.py --alpha 0 \\
        --out /tmp/student_plain.onnx --acc-out /tmp/plain.txt   # same student, labels only

The teacher is models/fmnist/fmnist.onnx (its weights are loaded from the
ONNX file into train.py's FmnistNet, so the teacher is exactly the model
npuc compiles). The student has the teacher's layer structure with fewer
channels (8, 16, 24 instead of 16, 32, 64): 3.4x fewer parameters.

Loss (Hinton et al., 2015): alpha * T^2 * KL(softmax(t/T) || softmax(s/T))
+ (1 - alpha) * cross-entropy(s, label), t / s the teacher / student
logits, temperature T. alpha = 0 trains the student on the labels alone:
the baseline the distilled student is measured against.

Writes the student as ONNX (same input, output and preprocessing as the
teacher: x = pixel / 255, "input" [1,1,28,28] -> "logits" [1,10]) and its
float top-1 with the settings. Deterministic like train.py.
"""
import argparse
import os
import sys
import time

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train import (DEFAULT_DATA, FmnistNet, augment, evaluate, export_onnx,  # noqa: E402
                   optimiser, setup)


class Student(nn.Module):
    """The teacher's layers with fewer channels."""

    def __init__(self, c1=8, c2=16, c3=24):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c2)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(c3)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(c3 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(self.drop(torch.flatten(x, 1)))


def load_onnx_weights(model, path):
    """Loads an ONNX file exported from the same module class into model."""
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    state = model.state_dict()
    for k in state:
        if k.endswith("num_batches_tracked"):
            continue
        if k not in inits:
            raise SystemExit(f"{path}: no initializer '{k}'")
        state[k] = torch.from_numpy(inits[k].copy())
    model.load_state_dict(state)
    return model


def nparams(model):
    return sum(p.numel() for p in model.parameters())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--teacher", default=os.path.join(HERE, "fmnist.onnx"))
    ap.add_argument("--out", default=os.path.join(HERE, "fmnist_student.onnx"))
    ap.add_argument("--acc-out", default=os.path.join(HERE, "student_accuracy.txt"))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--alpha", type=float, default=0.5, help="weight of the distillation term")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--channels", default="8,16,24",
                    help="the student's three conv widths (the teacher has 16,32,64)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    xtr, ytr, xte, yte = setup(args)

    teacher = load_onnx_weights(FmnistNet(), args.teacher).eval()
    teacher_acc = evaluate(teacher, xte, yte)
    student = Student(*[int(c) for c in args.channels.split(",")])
    print(f"teacher {nparams(teacher)} parameters, test {teacher_acc * 100:.2f}%; "
          f"student {nparams(student)} parameters; alpha {args.alpha} T {args.temperature}",
          flush=True)

    opt, sched, gen = optimiser(student, args, xtr.shape[0])
    T = args.temperature

    t0 = time.time()
    for epoch in range(args.epochs):
        student.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        for i in range(0, xtr.shape[0], args.batch):
            idx = perm[i:i + args.batch]
            xb = augment(xtr[idx], gen)
            s = student(xb)
            loss = (1 - args.alpha) * F.cross_entropy(s, ytr[idx])
            if args.alpha > 0:
                with torch.no_grad():
                    t = teacher(xb)
                kd = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1),
                              reduction="batchmean")
                loss = loss + args.alpha * T * T * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(student, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs} test {acc * 100:.2f}% "
              f"({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0

    acc = evaluate(student, xte, yte)
    export_onnx(student, args.out)
    with open(args.acc_out, "w") as f:
        f.write(f"{acc * 100:.2f}\n")
        f.write(f"# float top-1 (%) of {os.path.basename(args.out)} on the 10000 "
                f"Fashion-MNIST test images, preprocessing x/255\n")
        f.write(f"# student {nparams(student)} parameters (teacher {nparams(teacher)}, "
                f"{teacher_acc * 100:.2f}%); channels={args.channels} alpha={args.alpha} T={T} epochs={args.epochs} "
                f"batch={args.batch} AdamW lr={args.lr} wd={args.wd} OneCycle dropout=0.1 "
                f"aug=hflip+shift2 seed={args.seed} threads={args.threads} "
                f"torch={torch.__version__} train_s={train_s:.0f}\n")
    print(f"final test accuracy {acc * 100:.2f}%  {args.out}: "
          f"{os.path.getsize(args.out)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
