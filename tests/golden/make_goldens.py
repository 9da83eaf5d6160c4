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
                                 first B/2 samples alone (n < BATCH).
The weights are drawn in float32 (torch.manual_seed per case) and everything
else is computed in float64 from them, then rounded to float32: the goldens
are the exact answers, so the tolerance only has to cover the C code's own
float32 rounding. Before writing, every gradient is checked against central
differences in float64 with the step the C harness uses, which catches a data
set that sits too close to a kink. Output is deterministic: a second run
gives identical bytes.
"""
import os
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twins import (CASES_DIR, HERE, MARGIN, STEPS, STEPS_PER_EPOCH, TWINS, lr_factor,
                   make_optimizer, parse_dnn, write_safetensors)

DATA_DIR = os.path.join(HERE, "data")


def draw_batch(m, spec):
    """B samples whose kink arguments all stay MARGIN away from their kinks,
    redrawing rejected samples from the case's random stream."""
    want, xs, ys = spec["batch"], [], []
    for _ in range(1000):
        x, y = m.draw(spec, want)
        with torch.no_grad():
            kinks = m.run(x, y)[2]
        ok = torch.ones(len(x), dtype=torch.bool)
        for k in kinks:
            ok &= k.abs().flatten(1).min(1).values >= MARGIN
        xs += list(x[ok])
        ys += list(y[ok])
        if len(xs) >= want:
            return torch.stack(xs[:want]), torch.stack(ys[:want])
    raise RuntimeError("%s: could not draw samples away from the kinks" % spec["name"])


def fd_step(w):
    """The finite-difference step the C harness uses for a weight w."""
    return 1e-3 * max(1.0, abs(w))


def check_fd(name, m, x, y, grads):
    """Central differences in float64 against autograd, with the harness's
    step: a mismatch means a kink lies within one step of the data."""
    with torch.no_grad():
        for (pname, p), g in zip(m.named_parameters(), grads):
            flat, gflat = p.view(-1), g.view(-1)
            for i in range(flat.numel()):
                w = flat[i].item()
                h = fd_step(w)
                flat[i] = w + h
                lp = m.run(x, y)[1].item()
                flat[i] = w - h
                lm = m.run(x, y)[1].item()
                flat[i] = w
                fd, want = (lp - lm) / (2 * h), gflat[i].item()
                if abs(fd - want) > 1e-4 + 1e-3 * abs(want):
                    raise RuntimeError("%s: %s[%d]: fd %.6g vs autograd %.6g (a kink within one step?)"
                                       % (name, pname, i, fd, want))


def f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def make_case(name):
    spec = parse_dnn(os.path.join(CASES_DIR, name + ".dnn"))
    if spec["name"] != name:
        raise RuntimeError("%s.dnn: the model is called %s" % (name, spec["name"]))
    torch.manual_seed(zlib.crc32(name.encode()))
    m = TWINS[name]()
    with torch.no_grad():
        m.adjust()
    weights = [(k, f32(v)) for k, v in m.state_dict().items()]
    x, y = draw_batch(m, spec)

    m.double()
    x64 = x.double()
    y64 = y if spec["classes"] else y.double()
    names = [k for k, _ in m.named_parameters()]
    params = list(m.parameters())

    m.eval()
    with torch.no_grad():
        out = m.run(x64, y64)[0]
    m.train()
    loss = m.run(x64, y64)[1]
    grads = torch.autograd.grad(loss, params)
    check_fd(name, m, x64, y64, grads)
    half = max(1, spec["batch"] // 2)
    part_loss = m.run(x64[:half], y64[:half])[1]
    part_grads = torch.autograd.grad(part_loss, params)

    opt = make_optimizer(spec, params)
    base_lr = opt.param_groups[0]["lr"]
    traj_loss = []
    for s in range(STEPS):
        opt.param_groups[0]["lr"] = base_lr * lr_factor(spec, s // STEPS_PER_EPOCH)
        opt.zero_grad()
        step_loss = m.run(x64, y64)[1]
        step_loss.backward()
        traj_loss.append(step_loss.item())
        opt.step()

    golden = [("x", f32(x)), ("y", y.numpy() if spec["classes"] else f32(y)),
              ("out", f32(out)), ("loss", f32(loss))]
    golden += [("grad." + n, f32(g)) for n, g in zip(names, grads)]
    golden += [("partial.loss", f32(part_loss))]
    golden += [("partial.grad." + n, f32(g)) for n, g in zip(names, part_grads)]
    golden += [("traj.loss", f32(torch.tensor(traj_loss, dtype=torch.float64)))]
    golden += [("traj." + n, f32(p)) for n, p in zip(names, params)]
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
