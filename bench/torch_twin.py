#!/usr/bin/python3
"""torch_twin.py — the PyTorch side of bench/run.sh: the same figures as
bench/harness.c and the generated training program, measured the same way.

The networks, the data reader, the test accuracy and the training recipe
come from examples/fashion/reference.py (the PyTorch twin of the .dnn
models): MLP Linear(784,128)-ReLU-Linear(128,64)-ReLU-Linear(64,10) with
SGD(0.01, momentum 0.9); LeNet-5 with Adam(1e-3) and 1e-4 * the sum of
squares of the conv and linear weights added to the cross-entropy. One
thread (torch.set_num_threads(1); run.sh also sets OMP/OpenBLAS to 1).

  info          which torch, BLAS and threads this is ("KEY VALUE" lines)
  micro MODEL   "train_step ..." and "infer ..." result lines, as harness.c:
                the first 2048 training images scaled by 1/255; the train
                step (forward, loss, zero_grad, backward, optimizer step) at
                batch 32 from a fresh model each repetition after 4 warm-up
                steps; inference of one image in eval mode under no_grad,
                softmax included (dnnc's forward returns the probabilities)
  int8 MODEL    "infer_int8 ..." : batch-1 inference of the int8 twin PyTorch
                makes by the contract's post-training static quantization
                (tests/quant/oracle.py: engine qnnpack, calibrated on the
                first 1,000 training images; weights as initialised, which
                do not change the time), softmax included, as "micro"
  epoch MODEL   one epoch over the 60,000 training images: a randperm
                shuffle, batches of 32 (the last one partial), no DataLoader,
                the IDX files read with gzip + numpy; prints "epoch WALL CPU"
                (reading the data + training), "startup S" (interpreter and
                import torch, not counted), "accuracy A" (the 10,000 test
                images, not timed); with --default-threads on PyTorch's
                default threads (run.sh unsets OMP_NUM_THREADS and the like),
                and "threads N" too

Times are the process's CPU time (time.process_time: every thread) and wall
time; a result line is "KEY CPU_MEDIAN CPU_MIN CPU_MAX WALL_MEDIAN" in
seconds per call, the median of REPS repetitions (bench/bench.h's format).
"""
import time

STARTED = time.perf_counter()  # before import torch: its cost is reported, not counted

import os  # noqa: E402
import sys  # noqa: E402

DEFAULT_THREADS = "--default-threads" in sys.argv  # epoch MODEL --default-threads: as a user's PyTorch runs
if not DEFAULT_THREADS:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # before torch loads its BLAS and OpenMP

import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples", "fashion"))
import reference  # noqa: E402  (mlp(), lenet5(), MODELS, load(), read_idx(), accuracy())

DATA = "/usr/share/datasets/fashion-mnist"
POOL, BATCH, WARMUP, TARGET, REPS = 2048, 32, 4, 0.15, 11  # as harness.c and bench.h


def now():
    return time.process_time(), time.perf_counter()


class Twin:
    """A fresh network, optimizer and loss of one model, seeded like its .dnn."""

    def __init__(self, name):
        build, seed, _ = reference.MODELS[name]
        torch.manual_seed(seed)
        self.net, self.opt, lr_at, self.l2 = build()
        for group in self.opt.param_groups:
            group["lr"] = lr_at(0)
        self.weights = [m.weight for m in self.net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]

    def train_step(self, x, y):
        loss = nn.functional.cross_entropy(self.net(x), y)
        if self.l2:
            loss = loss + self.l2 * sum((w * w).sum() for w in self.weights)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


def measure(key, prepare, run):
    """Times run(iters) REPS times, prepare() untimed before each; prints the result line."""
    iters = 1
    while True:  # calibration: double until a run lasts a tenth of TARGET
        prepare()
        cpu = time.process_time()
        run(iters)
        seconds = time.process_time() - cpu
        if seconds >= TARGET / 10:
            iters = int(iters * TARGET / seconds) + 1
            break
        iters *= 2
    cpu_times, wall_times = [], []
    for _ in range(REPS):
        prepare()
        cpu, wall = now()
        run(iters)
        cpu_end, wall_end = now()
        cpu_times.append((cpu_end - cpu) / iters)
        wall_times.append((wall_end - wall) / iters)
    cpu_times.sort()
    wall_times.sort()
    print(f"{key} {cpu_times[REPS // 2]:.6e} {cpu_times[0]:.6e} {cpu_times[-1]:.6e} {wall_times[REPS // 2]:.6e}",
          flush=True)


def micro(name):
    x, y = reference.load(DATA, "train", POOL)
    batches = [(x[b:b + BATCH], y[b:b + BATCH]) for b in range(0, POOL, BATCH)]
    images = [x[i:i + 1] for i in range(POOL)]
    state = {"twin": None, "next": 0, "loss": None}

    def fresh():
        state["twin"] = Twin(name)
        state["twin"].net.train()
        steps(WARMUP)

    def steps(iters):
        twin, n = state["twin"], state["next"]
        for i in range(iters):
            state["loss"] = twin.train_step(*batches[(n + i) % len(batches)])
        state["next"] = n + iters

    measure("train_step", fresh, steps)
    print(f"train_loss {state['loss'].item():g}")

    time_inference("infer", Twin(name).net.eval(), images)


def time_inference(key, net, images):
    """The result line KEY of batch-1 forward passes over the images, softmax included."""
    state = {"next": 0}

    def forward(iters):
        n = state["next"]
        with torch.no_grad():
            for i in range(iters):
                torch.softmax(net(images[(n + i) % len(images)]), 1)
        state["next"] = n + iters

    measure(key, lambda: forward(WARMUP), forward)


def int8(name):
    sys.path.insert(0, os.path.join(ROOT, "tests", "quant"))
    import models  # noqa: E402  (the twins in QuantStub form)
    import oracle  # noqa: E402  (ptq: the contract's qconfig, engine qnnpack)
    x, _ = reference.load(DATA, "train", POOL)
    torch.manual_seed(reference.MODELS[name][1])
    float_net = getattr(models, name)().eval()
    with oracle.engine():
        net, _ = oracle.ptq(float_net, x[:1000])
        time_inference("infer_int8", net, [x[i:i + 1] for i in range(POOL)])


def epoch(name):
    startup = time.perf_counter() - STARTED
    cpu, wall = now()
    x, y = reference.load(DATA, "train", 0)
    twin = Twin(name)
    shuffle = torch.Generator().manual_seed(reference.MODELS[name][1])
    twin.net.train()
    order = torch.randperm(len(x), generator=shuffle)
    for b in range(0, len(x), BATCH):
        idx = order[b:b + BATCH]
        twin.train_step(x[idx], y[idx])
    cpu_end, wall_end = now()
    tx, ty = reference.load(DATA, "t10k", 0)
    print(f"epoch {wall_end - wall:.3f} {cpu_end - cpu:.3f}")
    print(f"startup {startup:.3f}")
    print(f"accuracy {reference.accuracy(twin.net, tx, ty):.2f}")
    if DEFAULT_THREADS:
        print(f"threads {torch.get_num_threads()}")


def info():
    torch.ones(64, 64) @ torch.ones(64, 64)  # loads the BLAS if it is loaded lazily
    config = torch.__config__.show()
    blas_info = next((s.split("=")[1] for s in config.replace(",", " ").split() if s.startswith("BLAS_INFO=")), "?")
    with open("/proc/self/maps") as maps:
        libs = sorted({os.path.realpath(line.split()[-1]) for line in maps
                       if "blas" in os.path.basename(line.split()[-1]).lower() and line.split()[-1].startswith("/")})
    print(f"torch {torch.__version__}")
    print(f"blas_info {blas_info}")
    print(f"blas_loaded {' '.join(libs) or 'none'}")
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            print(f"threadpool {pool['internal_api']} {pool.get('version')} "
                  f"threads={pool['num_threads']} {pool['filepath']}")
    except ImportError:
        pass
    print(f"mkldnn {torch.backends.mkldnn.is_available()}")
    print(f"torch_threads {torch.get_num_threads()}")


def main():
    if not DEFAULT_THREADS:
        torch.set_num_threads(1)
    command = sys.argv[1:2]
    if command == ["info"]:
        info()
    elif command == ["epoch"] and sys.argv[3:] == ["--default-threads"] and sys.argv[2] in reference.MODELS:
        epoch(sys.argv[2])
    elif command in (["micro"], ["int8"], ["epoch"]) and len(sys.argv) == 3 and sys.argv[2] in reference.MODELS:
        {"micro": micro, "int8": int8, "epoch": epoch}[command[0]](sys.argv[2])
    else:
        sys.exit("usage: torch_twin.py info | micro MODEL | int8 MODEL | epoch MODEL [--default-threads]   "
                 "(MODEL: mlp, lenet5)")


if __name__ == "__main__":
    main()
