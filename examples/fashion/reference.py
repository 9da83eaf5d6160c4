#!/usr/bin/python3
"""reference.py — PyTorch twin of examples/fashion/train.c, for comparison.

Trains the network of models/mlp.dnn or models/lenet5.dnn the way the .dnn
file says and train.c does it: pixels times float32(1/255), nothing else;
a fresh shuffle of the training set every epoch, mini-batches of 32 (the
last one partial); the learning rate set at the start of each epoch from
the schedule, as NAME_set_epoch does; the loss exactly as written
(lenet5 adds 1e-4 * l2(weights): the sum of squares of every conv and
dense weight, no biases). Initialisation is PyTorch's own, the same
distribution as dnnc's `pytorch` init but not the same numbers. Prints the
same lines as train.c. One thread, so epoch times compare with dnnc's.

The modules are named as dnnc names them (`logits.1.weight`, ...), so
`--weights FILE` loads the safetensors file train.c saved and only prints
its test accuracy: the same figure train.c printed, computed by PyTorch.

Usage: /usr/bin/python3 reference.py mlp|lenet5 [-n TRAIN] [-e EPOCHS] [-t TEST] [-s SEED] [-d DATADIR]
                                                [--weights FILE]
"""
import argparse
import gzip
import json
import time
from collections import OrderedDict

import numpy as np
import torch
from torch import nn


def read_idx(path, max_items):
    """The items of an IDX u8 file as a numpy array, at most max_items (0: all)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert data[0] == 0 and data[1] == 0 and data[2] == 0x08, path
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    items = np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)
    return items[:max_items] if max_items else items


def load(directory, prefix, max_items):
    images = read_idx(f"{directory}/{prefix}-images-idx3-ubyte.gz", max_items)
    labels = read_idx(f"{directory}/{prefix}-labels-idx1-ubyte.gz", max_items)
    x = torch.from_numpy(images.astype(np.float32) * np.float32(1 / 255)).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


def load_safetensors(path):
    """The tensors of a safetensors file of F32 tensors, by name."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    tensors = {}
    for name, t in json.loads(data[8:8 + n]).items():
        if name != "__metadata__":
            assert t["dtype"] == "F32", (name, t["dtype"])
            begin, end = t["data_offsets"]
            values = np.frombuffer(data, "<f4", (end - begin) // 4, 8 + n + begin)
            tensors[name] = torch.from_numpy(values.copy()).reshape(t["shape"])
    return tensors


def accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        correct = sum((net(x[b:b + 32]).argmax(1) == y[b:b + 32]).sum().item() for b in range(0, len(x), 32))
    return 100.0 * correct / len(x)


# Each returns (network, optimizer, lr of epoch e, weight of l2(weights) in the loss);
# the Sequential blocks are the .dnn's named values, so state_dict keys match dnnc's.
def mlp():
    net = nn.Sequential(OrderedDict(logits=nn.Sequential(
        nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))))
    return net, torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9), lambda e: 0.01, 0.0


def lenet5():
    net = nn.Sequential(OrderedDict(
        features=nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)),
        classifier=nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                 nn.Linear(84, 10))))
    return net, torch.optim.Adam(net.parameters(), lr=1e-3), lambda e: 1e-3 * 0.5 ** (e // 5), 1e-4


MODELS = {"mlp": (mlp, 1, 5), "lenet5": (lenet5, 0, 10)}  # builder, train { seed }, train { epochs }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("-n", type=int, default=0, help="training images (0: all)")
    ap.add_argument("-e", type=int, default=None, help="epochs (default: the .dnn's)")
    ap.add_argument("-t", type=int, default=0, help="test images (0: all)")
    ap.add_argument("-s", type=int, default=None, help="seed (default: the .dnn's)")
    ap.add_argument("-d", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--weights", help="only evaluate this safetensors file from train.c")
    args = ap.parse_args()
    build, seed, epochs = MODELS[args.model]
    epochs = epochs if args.e is None else args.e
    seed = seed if args.s is None else args.s

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    net, opt, lr_at, l2 = build()
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    tx, ty = load(args.d, "t10k", args.t)
    if args.weights:
        net.load_state_dict(load_safetensors(args.weights))
        print(f"test accuracy: {accuracy(net, tx, ty):.2f}% on {len(tx)} images with {args.weights}")
        return
    x, y = load(args.d, "train", args.n)
    print(f"{args.model}: {len(x)} training and {len(tx)} test images, batch 32, {epochs} epochs, seed {seed}")

    shuffle = torch.Generator().manual_seed(seed)
    acc = 0.0
    for epoch in range(epochs):
        start, total = time.perf_counter(), 0.0
        for group in opt.param_groups:
            group["lr"] = lr_at(epoch)
        net.train()
        order = torch.randperm(len(x), generator=shuffle)
        for b in range(0, len(x), 32):
            idx = order[b:b + 32]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            if l2:
                loss = loss + l2 * sum((w * w).sum() for w in weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - start
        acc = accuracy(net, tx, ty)
        print(f"epoch {epoch + 1}  train loss {total / len(x):.4f}  test accuracy {acc:.2f}%  {seconds:.1f} s",
              flush=True)
    print(f"test accuracy: {acc:.2f}% on {len(tx)} images")


if __name__ == "__main__":
    main()
