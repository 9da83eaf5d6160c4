"""make_goldens.py — writes the PyTorch golden files of every golden case.

Run from the repository root (`make goldens` does):
    /usr/bin/python3 tests/golden/make_goldens.py [CASE ...]

For each tests/golden/cases/CASE.dnn and its twin in twins.py:
  data/CASE.weights.safetensors  the twin's initial state_dict (F32): what
                                 the generated CASE_load must accept;
  data/CASE.golden.safetensors   x, y (F32, or I32 [B] class labels), out
                                 (eval-mode forward), loss (train-mode batch
                                 loss), grad.NAME per parameter, traj.loss
                                 ([20], the loss before each optimizer step on
                                 the same batch) and traj.NAME (each parameter
                                 after 20 steps); partial.loss and
                                 partial.grad.NAME: loss and gradients of the
                                 first B/2 samples alone (n < BATCH);
                                 for a cosine schedule sched.lr (the lr at
                                 counts 0..99 from PyTorch's own scheduler,
                                 as float32) and, with per_step, sched.per_step;
                                 for batchnorm and dropout models also
                                 eval.loss, partial.eval.loss, state1.BUF,
                                 partial.state1.BUF, traj.BUF (make_case).
The weights are drawn in float32 (torch.manual_seed per case) and everything
else is computed in float64 from them, then rounded to float32: the goldens
are the exact answers, so the tolerance only has to cover the C code's own
float32 rounding. Before writing, every gradient is checked against central
differences in float64 with the step the C harness uses, which catches a data
set that sits too close to a kink. Output is deterministic: a second run
gives identical bytes.
"""
import copy
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twins import (CASES_DIR, HERE, MARGIN, STEPS, TWINS, cosine_lrs, make_optimizer, parse_dnn,
                   scheduled_lr, write_safetensors)

SCHED_COUNTS = 100   # sched.lr: the cosine schedule's lr at counts 0..99

DATA_DIR = os.path.join(HERE, "data")


def draw_batch(m, spec):
    """B samples whose kink arguments all stay MARGIN away from their kinks,
    redrawing rejected samples from the case's random stream."""
    want, xs, ys = spec["batch"], [], []
    margin = getattr(m, "margin", MARGIN)
    for _ in range(1000):
        x, y = m.draw(spec, want)
        with torch.no_grad():
            kinks = m.run(x, y)[2]
        ok = torch.ones(len(x), dtype=torch.bool)
        for k in kinks:
            ok &= k.abs().flatten(1).min(1).values >= margin
        xs += list(x[ok])
        ys += list(y[ok])
        if len(xs) >= want:
            return torch.stack(xs[:want]), torch.stack(ys[:want])
    raise RuntimeError("%s: could not draw samples away from the kinks" % spec["name"])


def fd_step(w):
    """The finite-difference step the C harness uses for a weight w."""
    return 1e-3 * max(1.0, abs(w))


def fd_indices(size, per_tensor=64):
    """The elements the C harness checks: all, or `per_tensor` (64, or the
    twin's fd_samples, written as golden fd.samples) evenly spaced ones."""
    samples = min(size, per_tensor)
    return [k * size // samples for k in range(samples)]


def check_fd(name, m, x, y, grads):
    """Central differences in float64 against autograd, with the harness's
    step, on the elements the harness checks: a mismatch means a kink lies
    within one step of the data. Train mode, as the gradients are."""
    atol, rtol = getattr(m, "fd_tol", (1e-4, 1e-3))
    with torch.no_grad():
        for (pname, p), g in zip(trainable(m), grads):
            flat, gflat = p.view(-1), g.view(-1)
            for i in fd_indices(flat.numel(), getattr(m, "fd_samples", 64)):
                w = flat[i].item()
                h = fd_step(w)
                flat[i] = w + h
                lp = m.run(x, y)[1].item()
                flat[i] = w - h
                lm = m.run(x, y)[1].item()
                flat[i] = w
                fd, want = (lp - lm) / (2 * h), gflat[i].item()
                if abs(fd - want) > atol + rtol * abs(want):
                    raise RuntimeError("%s: %s[%d]: fd %.6g vs autograd %.6g (a kink within one step?)"
                                       % (name, pname, i, fd, want))


def fd_ok(name, m, spec, x, y, last):
    """check_fd on a float64 copy of m; False (or, when `last`, the error)
    if the batch puts a kink within one step of the data. Per-sample kink
    margins cannot catch every kink of a conv net or one behind batchnorm,
    whose statistics couple the samples, so such a batch is redrawn."""
    m64 = copy.deepcopy(m).double()
    m64.train()
    x64 = x.double()
    y64 = y if spec["classes"] else y.double()
    loss = m64.run(x64, y64)[1]
    grads = torch.autograd.grad(loss, [p for _, p in trainable(m64)])
    try:
        check_fd(name, m64, x64, y64, grads)
    except RuntimeError:
        if last:
            raise
        return False
    return True


def trainable(m):
    """(name, parameter) of the parameters that train: not frozen (a twin of
    a model with `freeze` sets requires_grad False on the frozen ones)."""
    return [(k, p) for k, p in m.named_parameters() if p.requires_grad]


def f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def modes(m):
    """(modal, random): does the model behave differently in training
    (batchnorm, dropout with p > 0), and is its training pass random?"""
    bn = any(isinstance(x, nn.modules.batchnorm._BatchNorm) for x in m.modules())
    drop = any(isinstance(x, nn.Dropout) and x.p > 0 for x in m.modules())
    return bn or drop, drop


def weights_file(m):
    """The initial state_dict: F32, except batchnorm's counter, which is I64
    as PyTorch has it (F32 when the twin says counter_f32)."""
    out = []
    for k, v in m.state_dict().items():
        if k.endswith("num_batches_tracked") and not getattr(m, "counter_f32", False):
            out.append((k, v.detach().clone().to(torch.int64).numpy()))
        else:
            out.append((k, f32(v.clone())))
    return out


def make_case(name):
    """Writes the two data files of one case. Models with buffers or
    train-only behaviour (batchnorm, dropout) also get `eval.loss` and
    `partial.eval.loss` (CASE_loss is eval mode), `state1.BUF` and
    `partial.state1.BUF` (each buffer after the one train-mode pass of
    `loss`/`partial.loss`) and `traj.BUF` (each buffer after the 20 steps).
    A random training pass (dropout) leaves out every train-mode value."""
    spec = parse_dnn(os.path.join(CASES_DIR, name + ".dnn"))
    if spec["name"] != name:
        raise RuntimeError("%s.dnn: the model is called %s" % (name, spec["name"]))
    torch.manual_seed(zlib.crc32(name.encode()))
    m = TWINS[name]()
    with torch.no_grad():
        m.adjust()
    weights = weights_file(m)
    modal, random = modes(m)
    init = copy.deepcopy(m.state_dict())
    for attempt in range(20):
        x, y = draw_batch(m, spec)
        m.load_state_dict(init)      # drawing ran train-mode passes
        if random or fd_ok(name, m, spec, x, y, attempt == 19):
            break

    m.double()
    init = copy.deepcopy(m.state_dict())
    x64 = x.double()
    y64 = y if spec["classes"] else y.double()
    names = [k for k, _ in trainable(m)]
    params = [p for _, p in trainable(m)]
    bufs = [k for k, _ in m.named_buffers()]
    frozen = [k for k, p in m.named_parameters() if not p.requires_grad]
    state = lambda prefix, keys=bufs: [(prefix + k, f32(m.state_dict()[k])) for k in keys]

    m.eval()
    with torch.no_grad():
        out = m.run(x64, y64)[0]
        eval_loss = m.run(x64, y64)[1]
        part_eval_loss = m.run(x64[: max(1, spec["batch"] // 2)], y64[: max(1, spec["batch"] // 2)])[1]
    golden = [("x", f32(x)), ("y", y.numpy() if spec["classes"] else f32(y)), ("out", f32(out))]
    if modal:
        golden += [("eval.loss", f32(eval_loss)), ("partial.eval.loss", f32(part_eval_loss))]
    if hasattr(m, "fd_samples"):
        golden += [("fd.samples", np.array([m.fd_samples], dtype="<f4"))]
    if getattr(m, "mask_check", False):
        p = [x.p for x in m.modules() if isinstance(x, nn.Dropout)][0]
        golden += [("dropout.p", np.array([p], dtype="<f4"))]
    if random:
        write_safetensors(os.path.join(DATA_DIR, name + ".weights.safetensors"), weights)
        write_safetensors(os.path.join(DATA_DIR, name + ".golden.safetensors"), golden)
        return [eval_loss.item()] * 2

    m.train()
    loss = m.run(x64, y64)[1]
    grads = torch.autograd.grad(loss, params)
    state1 = state("state1.", frozen + bufs)   # the harness checks every non-trainable tensor there
    m.load_state_dict(init)
    half = max(1, spec["batch"] // 2)
    part_loss = m.run(x64[:half], y64[:half])[1]
    part_grads = torch.autograd.grad(part_loss, params)
    part_state1 = state("partial.state1.", frozen + bufs)
    m.load_state_dict(init)

    opt = make_optimizer(spec, params)
    base_lr = opt.param_groups[0]["lr"]
    traj_loss = []
    for s in range(STEPS):
        opt.param_groups[0]["lr"] = scheduled_lr(spec, base_lr, s)
        opt.zero_grad()
        step_loss = m.run(x64, y64)[1]
        step_loss.backward()
        if spec["clip_grad_norm"]:
            torch.nn.utils.clip_grad_norm_(params, spec["clip_grad_norm"])
        traj_loss.append(step_loss.item())
        opt.step()

    golden += [("loss", f32(loss))]
    golden += [("grad." + n, f32(g)) for n, g in zip(names, grads)]
    golden += state1
    golden += [("partial.loss", f32(part_loss))]
    golden += [("partial.grad." + n, f32(g)) for n, g in zip(names, part_grads)]
    golden += part_state1
    golden += [("traj.loss", f32(torch.tensor(traj_loss, dtype=torch.float64)))]
    golden += [("traj." + n, f32(p)) for n, p in m.named_parameters()]   # the frozen ones too
    golden += state("traj.")
    if spec["schedule"] and spec["schedule"][0] == "cosine":   # PyTorch's float behaviour, bit for bit
        a = spec["schedule"][1]
        lrs = cosine_lrs(base_lr, int(a["period"]), a.get("min_lr", 0), SCHED_COUNTS)
        golden += [("sched.lr", np.array(lrs, dtype="<f4"))]
        if a.get("per_step"):
            golden += [("sched.per_step", np.array([1], dtype="<f4"))]
    write_safetensors(os.path.join(DATA_DIR, name + ".weights.safetensors"), weights)
    write_safetensors(os.path.join(DATA_DIR, name + ".golden.safetensors"), golden)
    return traj_loss


def main(argv):
    torch.set_num_threads(1)   # the same summation order on every run
    on_disk = sorted(f[:-4] for f in os.listdir(CASES_DIR) if f.endswith(".dnn"))
    missing = [c for c in on_disk if c not in TWINS] + [c for c in TWINS if c not in on_disk]
    if missing:
        sys.exit("make_goldens: no twin or no .dnn for: " + " ".join(sorted(set(missing))))
    os.makedirs(DATA_DIR, exist_ok=True)
    for name in argv or on_disk:
        traj = make_case(name)
        print("%-22s loss %.5f -> %.5f" % (name, traj[0], traj[-1]))


if __name__ == "__main__":
    main(sys.argv[1:])
