"""Writes tests/augment/transforms.safetensors: random images and what
torchvision 0.14's transforms.functional makes of them at fixed draws, the
oracle of runtime/data/dnn_augment.c (tests/augment/test_augment.c).

    image.I  [C, H, W] F32    random images in [0, 1)
    case.K   [5] F32          (transform, image I, a, b, c): 0 hflip;
                              1 crop (pad a, top b, left c); 2 rotate (a degrees)
    want.K   [C, H, W] F32    F.hflip(img); F.crop(F.pad(img, a), b, c, H, W);
                              F.rotate(img, a, InterpolationMode.BILINEAR, fill=0)

Run by `make goldens` (needs python3-torchvision)."""
import os
import sys

import numpy as np
import torch
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
from twins import write_safetensors  # noqa: E402

HFLIP, CROP, ROTATE = 0, 1, 2


def main():
    g = torch.Generator().manual_seed(16)
    shapes = [(1, 28, 28), (3, 8, 10), (2, 5, 7), (1, 1, 6)]
    images = [torch.rand(*s, generator=g) for s in shapes]
    cases = []
    for i, img in enumerate(images):
        _, h, w = img.shape
        cases.append((HFLIP, i, 0, 0, 0))
        for pad in (1, 2, 4):
            for top, left in ((0, 0), (2 * pad, 2 * pad), (pad, pad), (0, 2 * pad), (2 * pad - 1, 1)):
                cases.append((CROP, i, pad, top, left))
        angles = [0.0, 90.0, -90.0, 180.0, -180.0, 45.0, 30.5, -7.25, 1e-3, 179.99]
        angles += (torch.rand(6, generator=g) * 360 - 180).tolist()
        angles = [float(np.float32(a)) for a in angles]  # float32, as the training program draws them
        for a in angles:
            cases.append((ROTATE, i, a, 0, 0))
    tensors = [(f"image.{i}", img.numpy()) for i, img in enumerate(images)]
    for k, (op, i, a, b, c) in enumerate(cases):
        img = images[i]
        _, h, w = img.shape
        if op == HFLIP:
            want = F.hflip(img)
        elif op == CROP:
            want = F.crop(F.pad(img, int(a)), int(b), int(c), h, w)
        else:
            want = F.rotate(img, a, interpolation=InterpolationMode.BILINEAR, fill=0)
        assert np.float32(a) == a, a
        tensors.append((f"case.{k}", np.array([op, i, a, b, c], dtype=np.float32)))
        tensors.append((f"want.{k}", want.numpy().astype(np.float32)))
    path = os.path.join(HERE, "transforms.safetensors")
    write_safetensors(path, tensors)
    print(f"{path}: {len(cases)} cases on {len(images)} images")


if __name__ == "__main__":
    main()
