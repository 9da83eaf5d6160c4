#!/usr/bin/python3
"""torch_bench.py — the PyTorch side of bench/run.sh for the four MLPerf Tiny
networks (twins.py), measured as bench/torch_twin.py measures the others.

  step FILE          the train step at batch 32 of models/FILE.dnn's twin
                     (ds_cnn, resnet8, mobilenet_v1_025, fc_autoencoder):
                     forward, loss, zero_grad, backward, opt.step(), on
                     synthetic data (inputs uniform in [0, 1), random class
                     labels; the autoencoder's target is its input); a
                     "train_step ..." result line and "train_loss L"
  convert DIR        Fashion-MNIST padded to 32x32 (2 zero pixels each side)
                     and repeated to 3 channels, written once as DIR/
                     {train,t10k}_{images,labels}.npy ([N, 3, 32, 32] and [N]
                     uint8) for ResNet-8
  resnet8 DIR        trains ResNet-8's twin on DIR's training set and prints
                     "epoch WALL CPU" (training only: the data are in memory
                     before the clocks start), "startup S" and "accuracy A"
                     (the 10,000 test images, eval mode); options --epochs E
                     (2), --limit N (all), --seed S (0)

Everything follows the .dnn's train block, read from the file: Adam with its
lr and eps, its schedule for the resnet8 run (exponential: lr e^(-k epoch),
per epoch), the loss's l2 penalties (the names and coefficient written in it),
init `he` (normal, std sqrt(2 / fan_in), zero biases) or `xavier_uniform`
(zero biases), batchnorm gamma 1 and beta 0 as dnnc initialises them. One
thread (torch.set_num_threads(1)).
"""
import time

STARTED = time.perf_counter()  # before import torch: its cost is reported, not counted

import gzip  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # before torch loads its BLAS and OpenMP

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import twins  # noqa: E402
from torch_twin import measure  # noqa: E402  (the harness's repetitions and result line)

BATCH, POOL, WARMUP = 32, 64 * 32, 4  # as bench/harness.c
DATA = "/usr/share/datasets/fashion-mnist"
TWIN = {twins.FILES[name]: net for name, net in twins.NETWORKS.items()}  # by .dnn file name


class Recipe:
    """What models/FILE.dnn's loss and train block say, for its twin."""

    def __init__(self, file):
        text = re.sub(r"#[^\n]*", "", open(os.path.join(ROOT, "models", file + ".dnn")).read())
        adam = re.search(r"optimizer\s+adam\(([^)]*)\)", text)
        if not adam:
            sys.exit(f"torch_bench.py: error: models/{file}.dnn: no adam optimizer (the twins use Adam)")
        args = dict(re.findall(r"(\w+)\s*=\s*([-+0-9.eE]+)", adam.group(1)))
        self.lr, self.eps = float(args.get("lr", 1e-3)), float(args.get("eps", 1e-8))
        loss = re.search(r"\bloss\s+([^;]*);", text).group(1)
        self.l2_names = re.findall(r"\bl2\(([\w.]+)\)", loss)
        coefficient = re.search(r"([-+0-9.eE]+)\s*\*\s*\(", loss)
        self.l2 = float(coefficient.group(1)) if self.l2_names else 0.0
        self.mse = loss.strip().startswith("mse(")
        self.init = re.search(r"\binit\s+(\w+)\s*;", text).group(1)
        schedule = re.search(r"schedule\s+exponential\(k\s*=\s*([-+0-9.eE]+)\)", text)
        self.decay = math.exp(-float(schedule.group(1))) if schedule else 1.0  # per epoch


class Trainer:
    """A freshly initialised twin of models/FILE.dnn with its optimizer and loss."""

    def __init__(self, file, seed=0):
        self.recipe = r = Recipe(file)
        torch.manual_seed(seed)
        self.net = TWIN[file]()
        for m in self.net.modules():  # dnnc's init rules (language.md): weights by the rule, biases zero
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if r.init == "he":
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")  # std sqrt(2 / fan_in)
                elif r.init == "xavier_uniform":
                    nn.init.xavier_uniform_(m.weight)
                else:
                    sys.exit(f"torch_bench.py: error: models/{file}.dnn: init {r.init} is not followed here")
                nn.init.zeros_(m.bias)
        params = dict(self.net.named_parameters())
        self.penalised = [params[name] for name in r.l2_names]
        self.opt = torch.optim.Adam(self.net.parameters(), lr=r.lr, eps=r.eps)

    def train_step(self, x, y):
        out = self.net(x)
        loss = F.mse_loss(out, x) if self.recipe.mse else F.cross_entropy(out, y)
        if self.penalised:
            loss = loss + self.recipe.l2 * sum((w * w).sum() for w in self.penalised)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


def step(file):
    net = TWIN[file]
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(POOL, *net.INPUT, generator=generator)
    y = torch.randint(max(net.CLASSES, 1), (POOL,), generator=generator)
    batches = [(x[b:b + BATCH], y[b:b + BATCH]) for b in range(0, POOL, BATCH)]
    state = {"trainer": None, "next": 0, "loss": None}

    def steps(iters):
        trainer, n = state["trainer"], state["next"]
        for i in range(iters):
            state["loss"] = trainer.train_step(*batches[(n + i) % len(batches)])
        state["next"] = n + iters

    def fresh():
        state["trainer"] = Trainer(file)
        state["trainer"].net.train()
        steps(WARMUP)

    measure("train_step", fresh, steps)
    print(f"train_loss {state['loss'].item():g}")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def convert(out):
    os.makedirs(out, exist_ok=True)
    for part in ("train", "t10k"):
        images = read_idx(f"{DATA}/{part}-images-idx3-ubyte.gz")
        padded = np.zeros((len(images), 3, 32, 32), np.uint8)
        padded[:, :, 2:30, 2:30] = images[:, None]  # 2 zero pixels each side, the same in 3 channels
        np.save(f"{out}/{part}_images.npy", padded)
        np.save(f"{out}/{part}_labels.npy", read_idx(f"{DATA}/{part}-labels-idx1-ubyte.gz"))


def load(directory, part, limit):
    x = np.load(f"{directory}/{part}_images.npy")
    y = np.load(f"{directory}/{part}_labels.npy")
    if limit:
        x, y = x[:limit], y[:limit]
    return torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))


def resnet8(directory, epochs, limit, seed):
    startup = time.perf_counter() - STARTED
    x, y = load(directory, "train", limit)
    tx, ty = load(directory, "t10k", 0)
    trainer = Trainer("resnet8", seed)
    shuffle = torch.Generator().manual_seed(seed)
    cpu, wall = time.process_time(), time.perf_counter()
    for epoch in range(epochs):
        for group in trainer.opt.param_groups:  # the schedule, per epoch as dnnc's NAME_set_epoch
            group["lr"] = trainer.recipe.lr * trainer.recipe.decay ** epoch
        trainer.net.train()
        order = torch.randperm(len(x), generator=shuffle)
        for b in range(0, len(x), BATCH):
            idx = order[b:b + BATCH]
            if len(idx) > 1:  # batchnorm cannot train on one sample (dnnc leaves it out too)
                loss = trainer.train_step(x[idx], y[idx])
        print(f"epoch_loss {epoch + 1} {loss.item():.4f}", flush=True)
    cpu_end, wall_end = time.process_time(), time.perf_counter()
    trainer.net.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(tx), 500):
            correct += (trainer.net(tx[b:b + 500]).argmax(1) == ty[b:b + 500]).sum().item()
    print(f"epoch {wall_end - wall:.3f} {cpu_end - cpu:.3f}")
    print(f"startup {startup:.3f}")
    print(f"accuracy {100 * correct / len(tx):.2f}")


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main():
    torch.set_num_threads(1)
    command = sys.argv[1:3]
    if len(command) == 2 and command[0] == "step" and command[1] in TWIN:
        step(command[1])
    elif len(command) == 2 and command[0] == "convert":
        convert(command[1])
    elif len(command) == 2 and command[0] == "resnet8":
        resnet8(command[1], option("--epochs", 2), option("--limit", 0), option("--seed", 0))
    else:
        sys.exit(f"usage: torch_bench.py step {'|'.join(TWIN)} | convert DIR | "
                 "resnet8 DIR [--epochs E] [--limit N] [--seed S]")


if __name__ == "__main__":
    main()
