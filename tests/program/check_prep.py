"""check_prep.py — the preprocessing of a training program against NumPy and PyTorch.

Usage: check_prep.py WEIGHTS GOLDEN RAW.csv INPUT C,H,W SCALE feature|channel standardize|center

WEIGHTS is the weights file `train` saved, GOLDEN the file `predict --out`
wrote for RAW.csv (whose first C*H*W columns are the input INPUT, with a
header line). Checks that the metadata's statistics are NumPy's mean and
population standard deviation of raw * SCALE (per element or per channel)
to float precision, and that the inputs the model saw are, bit for bit,
what PyTorch computes from them: x = float32(raw * SCALE), then
(x - mean) / std per channel as torchvision's Normalize does, or x - mean.
Prints one line; exit status 0 when everything holds.
"""
import json
import struct
import sys

import numpy as np
import torch


def safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, t in header.items():
        if name != "__metadata__":
            b, e = t["data_offsets"]
            tensors[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype="<f4").reshape(t["shape"])
    return header.get("__metadata__", {}), tensors


def main():
    weights, golden, raw_csv, name, shape, scale, per, kind = sys.argv[1:9]
    shape = [int(d) for d in shape.split(",")]
    size = int(np.prod(shape))
    scale = eval(scale, {})  # "1/255"
    meta, _ = safetensors(weights)
    _, gold = safetensors(golden)
    raw = np.loadtxt(raw_csv, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)[:, :size]
    n = raw.shape[0]
    scaled = raw.astype(np.float32).astype(np.float64) * scale
    groups = shape[0] if per == "channel" else size
    by_group = scaled.reshape(n, groups, size // groups)
    want_mean = by_group.mean(axis=(0, 2))
    want_std = by_group.std(axis=(0, 2))
    mean = np.array([float(v) for v in meta["dnn.mean@" + name].split(",")], dtype=np.float32)
    if len(mean) != groups or not np.allclose(mean, want_mean, rtol=1e-6, atol=1e-7):
        return f"dnn.mean@{name} {mean[:4]} is not NumPy's {want_mean[:4]}"
    std = None
    if kind == "standardize":
        std = np.array([float(v) for v in meta["dnn.std@" + name].split(",")], dtype=np.float32)
        if len(std) != groups or not np.allclose(std, want_std, rtol=1e-6, atol=1e-7):
            return f"dnn.std@{name} {std[:4]} is not NumPy's {want_std[:4]}"
    elif "dnn.std@" + name in meta:
        return f"--center wrote dnn.std@{name}"
    x = torch.from_numpy(scaled.astype(np.float32)).reshape(n, groups, size // groups)
    x = x - torch.from_numpy(mean)[None, :, None]
    if std is not None:
        x = x / torch.from_numpy(std)[None, :, None]
    got = gold[name].reshape(n, -1)
    want = x.reshape(n, -1).numpy()
    if got.tobytes() != want.tobytes():
        worst = np.abs(got.astype(np.float64) - want).max()
        return f"the inputs the model saw differ from PyTorch's by up to {worst:g}"
    print(f"{n} samples, {groups} {per} statistics, the same bits as PyTorch")
    return 0


if __name__ == "__main__":
    why = main()
    if why:
        print(why)
        sys.exit(1)
