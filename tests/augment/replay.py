"""Replays the draws a training program's `augment --out F.safetensors`
recorded with torchvision 0.14 and compares: each sample's original, put
through the recorded transforms in order (F.hflip; F.pad + F.crop;
F.rotate bilinear with fill=0; adding the recorded noise), must give the
augmented sample within the tolerance.

    replay.py F.safetensors INPUT [--tol 1e-5]

Prints "ok: N samples, largest difference D" and exits 0, or says which
sample differs and exits 1."""
import argparse
import json
import struct
import sys

import numpy as np
import torch
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode


def read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, h in header.items():
        assert h["dtype"] == "F32", name
        b, e = h["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(h["shape"])
    return tensors, meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("input")
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args()
    t, meta = read(a.file)
    steps = sorted((int(k.split(".")[1]), k.split(".")[2], k) for k in t if k.startswith("augment."))
    orig, aug = t[a.input + ".original"], t[a.input]
    worst = 0.0
    for i in range(orig.shape[0]):
        img = torch.tensor(orig[i])
        _, h, w = img.shape
        for _, kind, name in steps:
            d = t[name][i]
            if kind == "hflip":
                img = F.hflip(img) if d[0] else img
            elif kind == "crop":
                img = F.crop(F.pad(img, int(float(meta[name]))), int(d[0]), int(d[1]), h, w)
            elif kind == "rotate":
                img = F.rotate(img, float(d[0]), interpolation=InterpolationMode.BILINEAR, fill=0)
            else:
                img = img + torch.tensor(d).reshape(img.shape)
        err = float(np.abs(img.numpy() - aug[i]).max())
        if err > a.tol:
            print(f"sample {i}: difference {err:.3g} > {a.tol:g}; draws "
                  + ", ".join(f"{kind} {t[name][i][:2].tolist()}" for _, kind, name in steps))
            sys.exit(1)
        worst = max(worst, err)
    print(f"ok: {orig.shape[0]} samples, {len(steps)} steps, largest difference {worst:.3g}")


if __name__ == "__main__":
    main()
