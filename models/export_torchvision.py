#!/usr/bin/python3
"""Export torchvision's ImageNet classifiers to ONNX for compiler benchmarks.

Run with Debian's Python (python3-torch, python3-torchvision):

    /usr/bin/python3 models/export_torchvision.py -o build/torchvision [NAME ...]

Writes NAME.onnx for each model (default: the set issue 19 measures):
random weights (no download: this machine has no internet), seeded, input
[1,3,224,224], opset 13, BatchNormalization folded by the exporter (eval
mode). The files are build artefacts for measuring cycles, utilisation and
compile time, never accuracy; they are not committed.
"""
import argparse
import os
import sys

import torch
import torchvision

MODELS = ["mobilenet_v2", "resnet18", "resnet50", "squeezenet1_1", "shufflenet_v2_x1_0",
          "mobilenet_v3_small", "efficientnet_b0", "mnasnet1_0"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out-dir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("names", nargs="*", default=MODELS)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for name in args.names:
        torch.manual_seed(args.seed)
        model = getattr(torchvision.models, name)(weights=None).eval()
        path = os.path.join(args.out_dir, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(model, torch.zeros(1, 3, 224, 224), path, opset_version=13,
                              input_names=["input"], output_names=["logits"])
        print(f"{path}: {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
