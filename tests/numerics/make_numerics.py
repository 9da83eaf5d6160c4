"""make_numerics.py — the extreme-value cases and their PyTorch answers.

Run from the repository root (`make goldens` does):
    /usr/bin/python3 tests/numerics/make_numerics.py

For every case below it writes tests/numerics/cases/NAME.dnn and, in
tests/numerics/data/, NAME.weights.safetensors (the parameter `w`, holding
the extreme values) and NAME.golden.safetensors in the golden suite's format
(x, y, out, loss, grad.w; see tests/golden/README.md), which the golden
harness checks when compiled with -DEXTREME (tests/numerics/run.sh).

Two layouts:
  elementwise  batch 1, `out = OP(w + x)` with x = 0, so the extreme values
               are the parameter and grad.w is the op's own derivative
               times y (loss `sum(out * y)`), element by element; a loss op
               is `loss OP(w + x, y)` directly;
  rows         class losses, one row of logits per sample: x holds the
               extreme logits, w = 0 is added to them, grad.w is the mean
               of the rows' gradients.
Everything is computed by PyTorch in float32, the precision of the C code,
so overflow happens where it happens for a PyTorch user: the goldens are
what torch.float32 gives, and the harness requires the C code to be finite
wherever they are (and infinite with the same sign where they are not).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
from twins import write_safetensors  # noqa: E402

DENORM = 1e-40          # a float32 denormal (the smallest normal is 1.2e-38)
TINY = 1.4e-45          # the smallest float32 denormal
BIG = 3e38              # near FLT_MAX
# logits: huge, where exp overflows float32 (|x| > 88.7), ordinary, denormal, signed zero
LOGITS = [-BIG, -1e30, -1e4, -100.0, -88.8, -20.0, -1.0, -DENORM, -0.0,
          0.0, DENORM, 1.0, 20.0, 88.8, 100.0, 1e4, 1e30, BIG]
POSITIVE = [0.0, TINY, DENORM, 1.17549435e-38, 1e-20, 1e-7, 1.0, 1e20, BIG]
WEIGHTS = lambda n: [1.0 if i % 2 == 0 else -0.5 for i in range(n)]   # dL/dout

# rows of logits for softmax, log_softmax, cross_entropy
ROWS = [
    [1e4, -1e4, 0.0, 0.0],
    [-1e4, -1e4, -1e4, -1e4],
    [1e4, 1e4, 1e4, 1e4],
    [1e30, -1e30, 0.0, 1.0],
    [DENORM, -DENORM, 0.0, -0.0],
    [100.0, 88.8, -88.8, -100.0],
    [BIG, -BIG, 0.0, 1.0],
]
ROW_Y = [[0.3, -0.7, 1.0, 0.2], [1.0, -1.0, 0.5, 0.25], [-0.4, 0.9, 0.1, -0.6],
         [0.8, 0.8, -0.3, 0.0], [1.0, 0.5, -0.5, -1.0], [-0.2, 0.7, 0.4, -0.9],
         [0.6, -0.1, 0.3, 0.5]]

CASES = {}


def case(name, kind, comment, w, y, fn, **kw):
    CASES[name] = dict(kind=kind, comment=comment, w=w, y=y, fn=fn, **kw)


case("num_sigmoid", "unary", "sigmoid at +-1e4, past exp's float32 range, denormals, +-0",
     LOGITS, WEIGHTS(len(LOGITS)), torch.sigmoid, op="sigmoid(w + x)")
case("num_tanh", "unary", "tanh at the same extremes", LOGITS, WEIGHTS(len(LOGITS)), torch.tanh,
     op="tanh(w + x)")
case("num_elu", "unary", "elu (alpha 1): large negatives saturate at -alpha, the gradient alpha*exp(x)",
     LOGITS, WEIGHTS(len(LOGITS)), F.elu, op="elu(w + x)")
case("num_elu_alpha", "unary", "elu with alpha 0.3 near zero, where exp(x) - 1 loses precision",
     [-1e-3, -1e-5, -1e-7, -DENORM, -20.0, -90.0, 1e-7], WEIGHTS(7), lambda t: F.elu(t, 0.3),
     op="elu(w + x, alpha = 0.3)")
case("num_relu", "unary", "relu of NaN (NaN, gradient 1, as PyTorch), +-inf, the float32 extremes, denormals",
     [float("nan"), float("-inf"), -BIG, -1.0, -DENORM, -0.0, 0.0, DENORM, 1.0, BIG, float("inf")], WEIGHTS(11),
     torch.relu, op="relu(w + x)")
INF = float("inf")
# dL/dout infinite where relu's (relu6's) gradient is off: PyTorch's threshold_backward
# (hardtanh_backward) selects 0 there, where inf * 0 would be NaN
case("num_relu_inf", "unary", "relu's gradient 0, not NaN, where an infinite incoming gradient meets relu off",
     [-1.0, -0.0, 0.0, -BIG, float("-inf"), 1.0, 2.0, -2.0], [INF, -INF, INF, -INF, INF, INF, -INF, 1.0],
     torch.relu, op="relu(w + x)")
case("num_relu6_inf", "unary", "relu6's gradient 0, not NaN, where an infinite incoming gradient meets either flat side",
     [-1.0, 0.0, 6.0, 7.0, BIG, float("-inf"), 3.0, 5.0], [INF, -INF, INF, -INF, INF, INF, -INF, 1.0],
     F.relu6, op="relu6(w + x)")
case("num_log", "unary", "log of 0 (-inf, as PyTorch), denormals, the float32 extremes",
     POSITIVE, [1.0] * len(POSITIVE), torch.log, op="log(w + x)")
case("num_sqrt", "unary", "sqrt of 0 (gradient inf, as PyTorch), denormals, the float32 extremes",
     POSITIVE, [1.0] * len(POSITIVE), torch.sqrt, op="sqrt(w + x)")
case("num_softmax", "unary2", "softmax over rows of +-1e4, +-1e30, +-3e38, denormals",
     ROWS, ROW_Y, lambda t: F.softmax(t, -1), op="softmax(w + x)")
case("num_log_softmax", "unary2", "log_softmax over the same rows", ROWS, ROW_Y,
     lambda t: F.log_softmax(t, -1), op="log_softmax(w + x)")
P = [0.0, 0.0, 1.0, 1.0, DENORM, TINY, 1.0 - 2.0 ** -24, 2.0 ** -24, 0.5, 1e-7]
case("num_bce", "loss", "bce with probabilities exactly 0 and 1 (logs clamped at -100), denormals",
     P, [0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5, 1.0], F.binary_cross_entropy, op="bce")
Z = [-1e30, -1e4, -100.0, -88.8, -20.0, -DENORM, 0.0, DENORM, 20.0, 88.8, 100.0, 1e4, 1e30]
case("num_bce_logits", "loss", "bce_with_logits at +-1e4, +-1e30 and denormal logits",
     Z, [1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0],
     F.binary_cross_entropy_with_logits, op="bce_with_logits")
CE_ROWS = ROWS[:6] + [[-1e30, 1e30, 5.0, -5.0]]
case("num_ce", "rows", "cross_entropy with class labels on rows of +-1e4, +-1e30 and denormal logits",
     CE_ROWS, [1, 0, 3, 1, 2, 3, 0], F.cross_entropy, op="cross_entropy", classes=4)
case("num_ce_soft", "rows", "cross_entropy with soft labels (probabilities 0 and 1 among them)",
     CE_ROWS, [[0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.5, 0.5], [1.0, 0.0, 0.0, 0.0],
               [0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]],
     F.cross_entropy, op="cross_entropy")


def dims(shape):
    return ", ".join(str(d) for d in shape)


def dnn_text(name, c, shape, rows):
    """The case's model: the parameter `w` of the extreme values plus a zero input."""
    lines = ["# %s (written by make_numerics.py: PyTorch's answers in ../data)" % c["comment"],
             "model %s {" % name]
    if c["kind"] == "rows":
        lines += ["    input  x[%s];" % dims(shape)]
        lines += ["    target y : class(%d);" % c["classes"] if "classes" in c else
                  "    target y[%s];" % dims(shape)]
    else:
        lines += ["    input  x[%s];" % dims(shape), "    target y[%s];" % dims(shape)]
    lines += ["    param  w[%s] = zeros;" % dims(shape), ""]
    if c["kind"] in ("unary", "unary2"):
        lines += ["    out = %s;" % c["op"], "", "    output out;", "    loss   sum(out * y);"]
    else:
        lines += ["    out = w + x;", "", "    output out;", "    loss   %s(out, y);" % c["op"]]
    lines += ["", "    train { optimizer sgd(lr = 0.1); batch %d; }" % rows, "}", ""]
    return "\n".join(lines)


def make(name, c):
    f32 = torch.float32
    if c["kind"] == "rows":   # batch = rows, x the logits, w = 0
        x = torch.tensor(c["w"], dtype=f32)
        w = torch.zeros(x.shape[1], dtype=f32, requires_grad=True)
        y = torch.tensor(c["y"], dtype=torch.int64 if "classes" in c else f32)
        out = x + w
        loss = c["fn"](out, y)
        shape, rows = [x.shape[1]], x.shape[0]
        y_file = y.to(torch.int32).numpy() if "classes" in c else y.numpy()
    else:                     # batch 1, w the extreme values, x = 0
        w = torch.tensor(c["w"], dtype=f32, requires_grad=True)
        x = torch.zeros((1,) + tuple(w.shape), dtype=f32)
        y = torch.tensor(c["y"], dtype=f32).reshape(x.shape)
        out = c["fn"](w + x) if c["kind"] != "loss" else w + x
        loss = (out * y).sum() if c["kind"] != "loss" else c["fn"](out, y)
        shape, rows = list(w.shape), 1
        y_file = y.numpy()
    grad, = torch.autograd.grad(loss, [w])
    f = lambda t: t.detach().to(f32).contiguous().numpy()
    with open(os.path.join(HERE, "cases", name + ".dnn"), "w") as fh:
        fh.write(dnn_text(name, c, shape, rows))
    write_safetensors(os.path.join(HERE, "data", name + ".weights.safetensors"),
                      [("w", f(w) if c["kind"] != "rows" else f(torch.zeros_like(w)))])
    write_safetensors(os.path.join(HERE, "data", name + ".golden.safetensors"),
                      [("x", f(x)), ("y", y_file), ("out", f(out)), ("loss", f(loss.reshape(1))),
                       ("grad.w", f(grad))])
    values = np.concatenate([f(out).ravel(), f(loss).ravel(), f(grad).ravel()])
    return values.size, int((~np.isfinite(values)).sum())


def main():
    torch.set_num_threads(1)
    os.makedirs(os.path.join(HERE, "cases"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    total = nonfinite = 0
    for name, c in CASES.items():
        n, bad = make(name, c)
        total += n
        nonfinite += bad
        print("%-16s %3d values, %d non-finite in PyTorch" % (name, n, bad))
    print("%d cases, %d values, %d non-finite in PyTorch" % (len(CASES), total, nonfinite))


if __name__ == "__main__":
    main()
