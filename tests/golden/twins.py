"""twins.py — the PyTorch twin of every golden case, and the shared helpers.

Each case tests/golden/cases/NAME.dnn has a twin here: an nn.Module whose
state_dict keys and shapes are exactly the parameters dnnc creates for the
model (language.md §5), and whose run(x, y) mirrors the model's body line by
line, returning (out, loss, kinks). `kinks` lists batched tensors that must
stay away from 0 (relu, abs, step, l1, hinge, ... arguments): the data
generator redraws samples until every element is at least MARGIN from its
kink, so finite differences are valid at the initial weights.

What the twin does not repeat is read from the .dnn itself (parse_dnn):
input and target shapes, class targets, batch, optimizer and schedule.

Also here: a tiny safetensors reader and writer (no `safetensors` package).
"""
import json
import math
import os
import re
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
MARGIN = 0.02        # how far every kink argument stays from its kink
STEPS = 20           # optimizer steps recorded in traj.*
STEPS_PER_EPOCH = 5  # the harness calls NAME_set_epoch(m, s / 5) before step s

TWINS = {}


def twin(name):
    """Registers a twin class for cases/NAME.dnn."""
    def register(cls):
        TWINS[name] = cls
        return cls
    return register


# ---- .dnn facts the twins do not repeat ----------------------------------

def _args(text):
    """'lr = 0.1, nesterov = true' -> {'lr': 0.1, 'nesterov': True}"""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, value = (s.strip() for s in part.split("="))
        out[key] = {"true": True, "false": False}.get(value, None)
        if out[key] is None:
            out[key] = float(value)
    return out


def parse_dnn(path):
    """The harness-relevant facts of a golden case (one model per file)."""
    src = re.sub(r"(#|//)[^\n]*", "", open(path).read())
    dims = lambda s: [int(d) for d in s.split(",")]
    spec = {"name": re.search(r"model\s+(\w+)", src).group(1)}
    spec["x_shape"] = dims(re.search(r"input\s+x\s*\[([^\]]*)\]", src).group(1))
    m = re.search(r"target\s+y\s*:\s*class\s*\(\s*(\d+)\s*\)", src)
    spec["classes"] = int(m.group(1)) if m else 0
    if not m:
        spec["y_shape"] = dims(re.search(r"target\s+y\s*\[([^\]]*)\]", src).group(1))
    m = re.search(r"\bbatch\s+(\d+)", src)
    spec["batch"] = int(m.group(1)) if m else 1
    m = re.search(r"optimizer\s+(\w+)\s*\(([^)]*)\)", src)
    spec["optimizer"] = (m.group(1), _args(m.group(2)))
    m = re.search(r"schedule\s+(\w+)\s*\(([^)]*)\)", src)
    spec["schedule"] = (m.group(1), _args(m.group(2))) if m else None
    m = re.search(r"\bclip_grad_norm\s+([0-9.eE+-]+)", src)
    spec["clip_grad_norm"] = float(m.group(1)) if m else None
    return spec


def make_optimizer(spec, params):
    """torch.optim twin of the .dnn's `optimizer` (language.md §8 defaults)."""
    kind, a = spec["optimizer"]
    wd = a.get("weight_decay", 0.01 if kind == "adamw" else 0.0)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=a["lr"], momentum=a.get("momentum", 0.0),
                               dampening=a.get("dampening", 0.0),
                               nesterov=a.get("nesterov", False), weight_decay=wd)
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(params, lr=a.get("lr", 1e-3), betas=(a.get("beta1", 0.9), a.get("beta2", 0.999)),
                   eps=a.get("eps", 1e-8), weight_decay=wd)
    if kind == "adagrad":
        return torch.optim.Adagrad(params, lr=a.get("lr", 0.01), eps=a.get("eps", 1e-10), weight_decay=wd)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=a.get("lr", 0.01), alpha=a.get("alpha", 0.99),
                                   eps=a.get("eps", 1e-8), momentum=a.get("momentum", 0.0),
                                   weight_decay=wd)
    raise ValueError("unknown optimizer " + kind)


def lr_factor(spec, epoch):
    """The schedule's multiplier of the base lr in epoch `epoch` (§8)."""
    if spec["schedule"] is None:
        return 1.0
    kind, a = spec["schedule"]
    if kind == "step":
        return a["gamma"] ** (epoch // int(a["every"]))
    if kind == "exponential":
        return math.exp(-a["k"] * epoch)
    if kind == "inverse_time":
        return 1.0 / (1.0 + a["k"] * epoch)
    raise ValueError("unknown schedule " + kind)


def cosine_lrs(base_lr, period, min_lr, count):
    """group['lr'] of PyTorch's own CosineAnnealingLR after 0, 1, ..., count-1
    scheduler steps: its recursive form, which the generated code repeats
    term for term."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=period, eta_min=min_lr)
    lrs = []
    for _ in range(count):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def scheduled_lr(spec, base_lr, step):
    """The learning rate of optimizer step `step` (0-based): the schedule at
    the epoch the harness gives NAME_set_epoch (step / 5), or with
    per_step = true at the step itself."""
    if spec["schedule"] is None:
        return base_lr * lr_factor(spec, 0)
    kind, a = spec["schedule"]
    count = step if a.get("per_step") else step // STEPS_PER_EPOCH
    if kind == "cosine":
        return cosine_lrs(base_lr, int(a["period"]), a.get("min_lr", 0), count + 1)[count]
    return base_lr * lr_factor(spec, count)


# ---- safetensors ----------------------------------------------------------

_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<i4"): "I32", np.dtype("<f8"): "F64",
           np.dtype("<i8"): "I64"}


def write_safetensors(path, tensors):
    """tensors: list of (name, numpy array), written in that order; the
    header is padded with spaces so the data starts at a multiple of 8."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors:
        arr = np.array(arr, dtype=np.asarray(arr).dtype.newbyteorder("<"), order="C")
        blob = arr.tobytes()
        header[name] = {"dtype": _DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """-> dict name -> numpy array, in file order."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    names = {v: k for k, v in _DTYPES.items()}
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=names[h["dtype"]]).reshape(h["shape"])
    return out


# ---- twins ----------------------------------------------------------------

class Twin(nn.Module):
    """Base of the twins. Subclasses create their layers in __init__ under the
    .dnn's parameter names and implement run(x, y) -> (out, loss, kinks).
    The loss twins pass `reduction` to their criterion (the *_sum cases)."""
    reduction = "mean"

    def adjust(self):
        """Moves initial parameter values where the case needs them."""

    def draw(self, spec, n):
        """n candidate samples (x, y); float targets in [-1, 1)."""
        x = torch.rand(n, *spec["x_shape"]) * 2 - 1
        if spec["classes"]:
            y = torch.randint(spec["classes"], (n,), dtype=torch.int32)
        else:
            y = torch.rand(n, *spec["y_shape"]) * 2 - 1
        return x, y


def param(*shape, lo=-1.0, hi=1.0):
    """An explicit `param` with values U(lo, hi) from the case's seed."""
    return nn.Parameter(torch.rand(*shape) * (hi - lo) + lo)


def away_from_zero(p, floor=0.05):
    """Pushes every element of p to at least `floor` in magnitude (for l1)."""
    p.copy_(torch.where(p >= 0, p.clamp(min=floor), p.clamp(max=-floor)))


def pipe(*stages):
    return nn.Sequential(*stages)


def reduce(t, reduction):
    """A criterion's reduction of its per-element losses: "mean" or "sum"."""
    return t.sum() if reduction == "sum" else t.mean()


@twin("op_dense")
class OpDense(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(4, 3)

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("op_dense_nobias")
class OpDenseNobias(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(4, 5, bias=False)
        self.out = nn.Linear(5, 2)

    def run(self, x, y):
        out = self.out(self.h(x))
        return out, F.mse_loss(out, y), []


def _unary(name, fn, kink=False):
    """A case `h = dense(x, 5); out = fn(h); loss mse(out, y)`."""
    class Unary(Twin):
        def __init__(self):
            super().__init__()
            self.h = nn.Linear(4, 5)

        def run(self, x, y):
            h = self.h(x)
            out = fn(h)
            return out, F.mse_loss(out, y), [h] if kink else []
    Unary.__name__ = name
    twin(name)(Unary)


_unary("op_relu", F.relu, kink=True)
_unary("op_sigmoid", torch.sigmoid)
_unary("op_tanh", torch.tanh)
_unary("op_leaky_relu", lambda h: F.leaky_relu(h, 0.2), kink=True)
_unary("op_elu", lambda h: F.elu(h, 0.7), kink=True)
_unary("op_softmax", lambda h: F.softmax(h, -1))
_unary("op_log_softmax", lambda h: F.log_softmax(h, -1))
_unary("op_step", lambda h: (h > 0).to(h.dtype) * h, kink=True)
_unary("op_exp", torch.exp)
_unary("op_log", lambda h: torch.log(torch.sigmoid(h)) + torch.log(h * h + 0.5))
_unary("op_sqrt", lambda h: torch.sqrt(h * h + 0.25) - torch.sqrt(torch.sigmoid(h)))
_unary("op_abs", torch.abs, kink=True)
_unary("op_sin", torch.sin)
_unary("op_cos", torch.cos)
_unary("op_square", torch.square)


@twin("op_relu6")
class OpRelu6(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(4, 5)

    def adjust(self):
        self.h.weight.mul_(8)      # |h| up to ~10: both kinks, 0 and 6, are crossed

    def run(self, x, y):
        h = self.h(x)
        out = F.relu6(h)
        return out, F.mse_loss(out, y), [h, h - 6]


@twin("op_bcast_param")
class OpBcastParam(Twin):
    def __init__(self):
        super().__init__()
        self.a = param(3)
        self.b = param(3, lo=1.0, hi=2.0)   # a divisor: kept away from 0
        self.h = nn.Linear(4, 3)

    def run(self, x, y):
        h = self.h(x)
        out = (h + self.a) * self.b - h / self.b
        return out, F.mse_loss(out, y), []


@twin("op_bcast_rows")
class OpBcastRows(Twin):
    def __init__(self):
        super().__init__()
        self.a = param(3)
        self.p = param(2, 3)
        self.h = nn.Linear(4, 3)
        self.g = nn.Linear(4, 6)

    def run(self, x, y):
        h = self.h(x)
        g = self.g(x).reshape(-1, 2, 3)
        out = g * self.a + h[:, None, :] - self.p / (g * g + 1)
        return out, F.mse_loss(out, y), []


@twin("op_scalar")
class OpScalar(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(4, 3)

    def run(self, x, y):
        h = self.h(x)
        out = 2 * h - 1 + h / 4 - 3 / (h * h + 2) - (0.5 - h) * 3 + -h * -(h + 1)
        return out, F.mse_loss(out, y), []


@twin("op_matvec")
class OpMatvec(Twin):
    def __init__(self):
        super().__init__()
        self.a = param(3, 4)
        self.h = nn.Linear(4, 4)

    def run(self, x, y):
        out = self.h(x) @ self.a.T          # a @ h per sample
        return out, F.mse_loss(out, y), []


@twin("op_matmul")
class OpMatmul(Twin):
    def __init__(self):
        super().__init__()
        self.w = param(3, 4)
        self.h = nn.Linear(4, 6)

    def run(self, x, y):
        out = self.h(x).reshape(-1, 2, 3) @ self.w
        return out, F.mse_loss(out, y), []


@twin("op_transpose")
class OpTranspose(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(4, 6)

    def run(self, x, y):
        out = self.h(x).reshape(-1, 2, 3).transpose(1, 2)
        return out, F.mse_loss(out, y), []


@twin("op_reshape")
class OpReshape(Twin):
    def __init__(self):
        super().__init__()
        self.q = param(2)
        self.h = nn.Linear(4, 6)

    def run(self, x, y):
        g = self.h(x).reshape(-1, 3, 2) * self.q
        out = g.reshape(-1, 6)
        return out, F.mse_loss(out, y), []


@twin("op_flatten")
class OpFlatten(Twin):
    def __init__(self):
        super().__init__()
        self.q = param(3)
        self.h = nn.Linear(4, 6)
        self.out = nn.Linear(6, 2)

    def run(self, x, y):
        h = self.h(x).reshape(-1, 2, 3)
        out = self.out((h * self.q).flatten(1))
        return out, F.mse_loss(out, y), []


@twin("op_sum_mean")
class OpSumMean(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(4, 3)

    def run(self, x, y):
        h = self.h(x)
        out = (h * h).sum(1) + h.mean(1)
        loss = (torch.square(h - y).mean(1) + 0.1 * out).mean()
        return out, loss, []


@twin("pen_l1_l2")
class PenL1L2(Twin):
    def __init__(self):
        super().__init__()
        self.p = param(3, 4)
        self.h = nn.Linear(4, 4)

    def adjust(self):
        away_from_zero(self.p)

    def run(self, x, y):
        out = self.h(x) @ self.p.T
        p = self.p
        loss = F.mse_loss(out, y) + 0.05 * (p * p).sum() + 0.02 * p.abs().sum()
        return out, loss, []


class _PenMLP(Twin):
    """f = x |> dense(5) |> tanh |> dense(2); out = f * s; plus a penalty."""

    def __init__(self):
        super().__init__()
        self.s = param(2, lo=0.5, hi=1.5)
        self.f = pipe(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))

    def penalised(self):
        raise NotImplementedError

    def adjust(self):
        for p in self.penalised():
            away_from_zero(p)

    def run(self, x, y):
        out = self.f(x) * self.s
        ps = self.penalised()
        loss = (F.mse_loss(out, y) + 0.05 * sum((p * p).sum() for p in ps)
                + 0.02 * sum(p.abs().sum() for p in ps))
        return out, loss, []


@twin("pen_weights")
class PenWeights(_PenMLP):
    def penalised(self):
        return [self.f[0].weight, self.f[2].weight]


@twin("pen_params")
class PenParams(_PenMLP):
    def penalised(self):
        return list(self.parameters())


@twin("loss_mse")
class LossMse(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(4, 6)

    def run(self, x, y):
        out = self.out(x).reshape(-1, 2, 3)
        return out, F.mse_loss(out, y, reduction=self.reduction), []


@twin("loss_l1")
class LossL1(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(4, 3)

    def run(self, x, y):
        out = self.out(x)
        return out, F.l1_loss(out, y, reduction=self.reduction), [out - y]


@twin("loss_huber")
class LossHuber(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(4, 3)

    def draw(self, spec, n):
        x, y = super().draw(spec, n)
        return x, y * 2            # targets in [-2, 2): both branches occur

    def run(self, x, y):
        out = self.out(x)
        return out, F.huber_loss(out, y, delta=0.5, reduction=self.reduction), [(out - y).abs() - 0.5]


@twin("loss_bce")
class LossBce(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(4, 3)

    def draw(self, spec, n):
        x, y = super().draw(spec, n)
        return x, (y + 1) / 2      # probabilities in [0, 1)

    def run(self, x, y):
        out = torch.sigmoid(self.h(x))
        return out, F.binary_cross_entropy(out, y, reduction=self.reduction), []


@twin("loss_bce_logits")
class LossBceLogits(LossBce):
    def __init__(self):
        Twin.__init__(self)
        self.out = nn.Linear(4, 3)

    def run(self, x, y):
        out = self.out(x)
        return out, F.binary_cross_entropy_with_logits(out, y, reduction=self.reduction), []


@twin("loss_ce")
class LossCe(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(4, 4)

    def run(self, x, y):
        out = self.out(x)
        return out, F.cross_entropy(out, y.long(), reduction=self.reduction), []


@twin("loss_ce_soft")
class LossCeSoft(LossCe):
    def draw(self, spec, n):
        x, y = super().draw(spec, n)
        return x, torch.softmax(2 * y, 1)   # rows are probability vectors

    def run(self, x, y):
        out = self.out(x)
        return out, F.cross_entropy(out, y, reduction=self.reduction), []


@twin("loss_nll")
class LossNll(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(4, 4)

    def run(self, x, y):
        out = F.log_softmax(self.h(x), -1)
        return out, F.nll_loss(out, y.long(), reduction=self.reduction), []


@twin("loss_hinge")
class LossHinge(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(4, 1)

    def draw(self, spec, n):
        x, y = super().draw(spec, n)
        return x, torch.where(y >= 0, 1.0, -1.0)

    def run(self, x, y):
        out = self.out(x)
        slack = 0.5 - y * out
        return out, reduce(slack.clamp(min=0), self.reduction), [slack]


@twin("loss_perceptron")
class LossPerceptron(LossHinge):
    """Rosenblatt's criterion max(0, -y·score): clamp passes the gradient at
    its bound, so PyTorch's gradient is -y where y·score <= 0, as dnnc's
    (the data here stays away from that kink; examples/perceptron starts
    on it, from zero weights)."""

    def run(self, x, y):
        out = self.out(x)
        return out, reduce((-y * out).clamp(min=0), self.reduction), [y * out]


@twin("loss_multi_margin")
class LossMultiMargin(LossCe):
    def run(self, x, y):
        out = self.out(x)
        label = y.long()
        picked = out.gather(1, label[:, None])
        slack = 0.5 - picked + out
        slack = slack.scatter(1, label[:, None], 1.0)   # the label's own term is not a kink
        return out, F.multi_margin_loss(out, label, margin=0.5, reduction=self.reduction), [slack]


# every loss once more with reduction = sum (cases/loss_*_sum.dnn)
for _name, _base in (("loss_mse", LossMse), ("loss_l1", LossL1), ("loss_huber", LossHuber),
                     ("loss_bce", LossBce), ("loss_bce_logits", LossBceLogits), ("loss_ce", LossCe),
                     ("loss_ce_soft", LossCeSoft), ("loss_nll", LossNll), ("loss_hinge", LossHinge),
                     ("loss_perceptron", LossPerceptron), ("loss_multi_margin", LossMultiMargin)):
    twin(_name + "_sum")(type(_base.__name__ + "Sum", (_base,), {"reduction": "sum"}))


@twin("loss_mse_sum")
class LossMseSum(LossMse):
    """The notes' Adaline criterion: 0.5 * mse(out, y, reduction = sum)."""
    reduction = "sum"

    def run(self, x, y):
        out, loss, kinks = super().run(x, y)
        return out, 0.5 * loss, kinks


@twin("xor")
class Xor(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(2, 4)
        self.out = nn.Linear(4, 1)

    def draw(self, spec, n):
        pts = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
        return pts, (pts[:, :1] != pts[:, 1:]).float()

    def run(self, x, y):
        out = torch.sigmoid(self.out(torch.sigmoid(self.h(x))))
        return out, F.mse_loss(out, y), []


@twin("iris")
class Iris(Twin):
    def __init__(self):
        super().__init__()
        self.logits = pipe(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))

    def draw(self, spec, n):
        x, y = super().draw(spec, n)
        return x * 2, y            # features in [-2, 2)

    def run(self, x, y):
        pre = self.logits[0](x)
        logits = self.logits[2](F.relu(pre))
        return F.softmax(logits, -1), F.cross_entropy(logits, y.long()), [pre]


@twin("mlp3")
class Mlp3(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


class OptMLP(Twin):
    """The optimizer cases' shared net: out = x |> dense(6) |> tanh |> dense(2)."""

    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


for _name in ("opt_sgd", "opt_sgd_momentum", "opt_sgd_dampening", "opt_sgd_nesterov",
              "opt_sgd_wd", "opt_adam", "opt_adam_wd", "opt_adamw", "opt_adagrad",
              "opt_rmsprop", "opt_rmsprop_momentum", "sched_step", "sched_exp",
              "sched_invtime", "opt_clip", "sched_cosine", "sched_cosine_per_step",
              "sched_step_per_step"):
    twin(_name)(type(_name, (OptMLP,), {}))


# ---- image layers, batchnorm, dropout, prelu, maxout, concat ----------------
#
# Twin attributes read by make_goldens.py (all optional):
#   margin       per-sample kink margin instead of MARGIN (models with many
#                kink arguments per sample, where 0.02 rejects everything);
#   fd_tol       (atol, rtol) of the float64 finite-difference check of the
#                generator, instead of (1e-4, 1e-3): models with thousands of
#                relu/maxpool kinks, where a perturbation of 1e-3 crosses a few;
#   counter_f32  write batchnorm's num_batches_tracked as F32 instead of the
#                I64 PyTorch uses, to test both;
#   mask_check   the drop_stats layout (see cases/drop_stats.dnn): the golden
#                gets `dropout.p` and the harness its `dropout` group.
# A twin holding nn.Dropout(p > 0) has random training passes: its golden has
# no train-mode loss, gradients or trajectory (see make_goldens.py).

def pool_gaps(h, k, s, p=0):
    """Per window of max pooling, the largest element minus the runner-up:
    a kink argument (the arg-max changes where it is 0). k and s may be
    (h, w) pairs."""
    if p:
        h = F.pad(h, (p, p, p, p), value=-1e9)
    n, c = h.shape[:2]
    area = k[0] * k[1] if isinstance(k, tuple) else k * k
    cols = F.unfold(h, k, stride=s).reshape(n, c, area, -1)
    top = cols.topk(2, dim=2).values
    return top[:, :, 0] - top[:, :, 1]


def group_gaps(z, pieces):
    """maxout's kink arguments: per group, the maximum minus the runner-up."""
    top = z.reshape(z.shape[0], -1, pieces).topk(2, dim=2).values
    return top[..., 0] - top[..., 1]


def bn_adjust(bn, count):
    """Non-trivial affine parameters and running statistics (the golden
    `out` is eval mode, so it depends on them), `count` batches seen."""
    c = bn.num_features
    bn.weight.copy_(torch.rand(c) + 0.5)
    bn.bias.copy_(torch.rand(c) - 0.5)
    bn.running_mean.copy_(torch.rand(c) - 0.5)
    bn.running_var.copy_(torch.rand(c) * 1.5 + 0.5)
    bn.num_batches_tracked.fill_(count)


@twin("freeze_conv")
class FreezeConv(Twin):
    """freeze features.*: the features' parameters do not require grad."""
    def __init__(self):
        super().__init__()
        self.features = pipe(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.Tanh(),
                             nn.MaxPool2d(2))
        self.out = pipe(nn.Flatten(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        self.features.requires_grad_(False)

    def run(self, x, y):
        h = self.out[1](self.out[0](self.features(x)))
        out = self.out[3](F.relu(h))
        return out, F.cross_entropy(out, y.long()), [h]


@twin("freeze_tinytl")
class FreezeTinyTL(Twin):
    """freeze features.*.weight, out.1.weight: the biases and the last layer train."""
    def __init__(self):
        super().__init__()
        self.features = pipe(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(),
                             nn.MaxPool2d(2))
        self.out = pipe(nn.Flatten(), nn.Linear(24, 10), nn.ReLU(), nn.Linear(10, 4))
        for layer in (self.features[0], self.features[3], self.out[1]):
            layer.weight.requires_grad_(False)

    def run(self, x, y):
        c1 = self.features[0](x)
        c2 = self.features[3](F.max_pool2d(F.relu(c1), 2))
        h = self.out[1](self.out[0](F.max_pool2d(F.relu(c2), 2)))
        out = self.out[3](F.relu(h))
        return out, F.cross_entropy(out, y.long()), [h]


@twin("freeze_head")
class FreezeHead(Twin):
    """freeze features.*: the classifier trains with Adam."""
    def __init__(self):
        super().__init__()
        self.features = pipe(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.out = pipe(nn.Flatten(), nn.Linear(27, 16), nn.ReLU(), nn.Linear(16, 3))
        self.features.requires_grad_(False)

    def run(self, x, y):
        h = self.out[1](self.out[0](self.features(x)))
        out = self.out[3](F.relu(h))
        return out, F.cross_entropy(out, y.long()), [h]


@twin("freeze_bn")
class FreezeBn(Twin):
    """freeze out.1.*: the batchnorm is held in eval mode, its parameters
    do not require grad."""
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2))
        self.out[1].requires_grad_(False)

    def adjust(self):
        bn_adjust(self.out[1], 7)

    def train(self, mode=True):
        super().train(mode)
        self.out[1].eval()
        return self

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("conv_basic")
class ConvBasic(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Conv2d(1, 3, 3)

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("conv_stride_pad")
class ConvStridePad(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False)

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("conv_two")
class ConvTwo(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Conv2d(4, 2, 2, stride=2))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("conv_lanes")
class ConvLanes(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Conv2d(5, 12, 3, stride=2, padding=1), nn.Tanh(), nn.Conv2d(12, 8, 3, padding=1),
                        nn.Tanh(), nn.AvgPool2d(2))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


def same_pad(x, k, s):
    """TensorFlow's 'same' padding of x for a kernel k and stride s ((h, w)
    pairs): per axis max((ceil(in / s) - 1) * s + k - in, 0), the odd one
    after, as F.pad's (left, right, top, bottom)."""
    pads = []
    for size, kk, ss in zip(x.shape[2:], k, s):
        total = max((-(-size // ss) - 1) * ss + kk - size, 0)
        pads.append((total // 2, total - total // 2))
    return F.pad(x, pads[1] + pads[0])


@twin("conv_groups")
class ConvGroups(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Conv2d(4, 6, 3, padding=1, groups=2)

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("conv_depthwise")
class ConvDepthwise(Twin):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 3, stride=2, groups=4)
        self.out = nn.Conv2d(4, 3, 1)

    def run(self, x, y):
        out = self.out(torch.tanh(self.dw(same_pad(x, (3, 3), (2, 2)))))
        return out, F.mse_loss(out, y), []


@twin("conv_rect")
class ConvRect(Twin):
    def __init__(self):
        super().__init__()
        self.out = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), bias=False)

    def run(self, x, y):
        out = self.out(F.pad(x, (2, 1, 1, 0)))     # left, right, top, bottom
        return out, F.mse_loss(out, y), []


@twin("conv_same")
class ConvSame(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Conv2d(2, 3, 4)
        self.out = nn.Conv2d(3, 2, (10, 4), stride=2)

    def run(self, x, y):
        h = self.h(same_pad(x, (4, 4), (1, 1)))
        out = self.out(same_pad(torch.tanh(h), (10, 4), (2, 2)))
        return out, F.mse_loss(out, y), []


@twin("pool_rect")
class PoolRect(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Conv2d(1, 2, 2)

    def run(self, x, y):
        h = self.h(x)
        out = F.avg_pool2d(F.max_pool2d(h, (2, 3), stride=(1, 2)), (3, 2))
        return out, F.mse_loss(out, y), [pool_gaps(h, (2, 3), (1, 2))]


@twin("op_global_avgpool")
class OpGlobalAvgpool(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Conv2d(2, 3, 2)
        self.out = nn.Linear(3, 2)

    def run(self, x, y):
        out = self.out(F.adaptive_avg_pool2d(self.h(x), 1).flatten(1))
        return out, F.mse_loss(out, y), []


@twin("pool_max")
class PoolMax(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Conv2d(1, 3, 3)

    def run(self, x, y):
        h = self.h(x)
        out = F.max_pool2d(h, 2)
        return out, F.mse_loss(out, y), [pool_gaps(h, 2, 2)]


@twin("pool_max_overlap")
class PoolMaxOverlap(Twin):
    margin = 2e-3

    def __init__(self):
        super().__init__()
        self.h = nn.Conv2d(1, 2, 2)

    def run(self, x, y):
        h = self.h(x)
        out = F.max_pool2d(F.max_pool2d(h, 3, stride=1, padding=1), 2, stride=1, padding=1)
        return out, F.mse_loss(out, y), [pool_gaps(h, 3, 1, 1)]


@twin("pool_avg")
class PoolAvg(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Conv2d(1, 2, 2), nn.AvgPool2d(3, stride=2), nn.AvgPool2d(2))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("bn_dense")
class BnDense(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2))

    def adjust(self):
        bn_adjust(self.out[1], 7)

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("bn_conv")
class BnConv(Twin):
    counter_f32 = True

    def __init__(self):
        super().__init__()
        self.h = pipe(nn.Conv2d(2, 3, 3, bias=False), nn.BatchNorm2d(3, eps=1e-3, momentum=0.3), nn.ReLU(),
                      nn.MaxPool2d(2))
        self.out = pipe(nn.Flatten(), nn.Linear(12, 2))

    def adjust(self):
        bn_adjust(self.h[1], 12)

    def run(self, x, y):
        z = self.h[1](self.h[0](x))
        r = F.relu(z)
        out = self.out(self.h[3](r))
        return out, F.mse_loss(out, y), []


@twin("drop_stats")
class DropStats(Twin):
    mask_check = True

    def __init__(self):
        super().__init__()
        self.g = param(64)
        self.drop = nn.Dropout(0.25)

    def draw(self, spec, n):
        x = torch.ones(n, 64)
        y = torch.zeros(n, 64)
        for s in range(n):
            y[s, s::n] = n * 64
        return x, y

    def run(self, x, y):
        out = self.drop(x * self.g)
        return out, (out * y).mean(1).mean(), []


@twin("drop_mlp")
class DropMlp(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 2))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("drop_p0")
class DropP0(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Linear(4, 6), nn.Tanh(), nn.Dropout(0.0), nn.Linear(6, 2))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("op_prelu")
class OpPrelu(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Conv2d(1, 2, 2)
        self.out = nn.PReLU()

    def adjust(self):
        self.out.weight.fill_(0.15)

    def run(self, x, y):
        h = self.h(x)
        out = self.out(h)
        return out, F.mse_loss(out, y), [h]


@twin("op_maxout")
class OpMaxout(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(5, 8)
        self.out = nn.Linear(4, 6)

    def run(self, x, y):
        zh = self.h(x)
        h = zh.view(-1, 4, 2).max(-1).values
        zo = self.out(h)
        out = zo.view(-1, 2, 3).max(-1).values
        return out, F.mse_loss(out, y), [group_gaps(zh, 2), group_gaps(zo, 3)]


@twin("concat_dense")
class ConcatDense(Twin):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(4, 2)
        self.out = nn.Linear(5, 2)

    def run(self, x, y):
        h = torch.cat([self.a(x), self.b(x)], dim=1)
        out = self.out(torch.tanh(h))
        return out, F.mse_loss(out, y), []


@twin("concat_channels")
class ConcatChannels(Twin):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(2, 2, 3)
        self.b = nn.Conv2d(2, 3, 3)
        self.out = nn.Conv2d(5, 2, 2, stride=2)

    def run(self, x, y):
        h = torch.cat([self.a(x), self.b(x)], dim=1)
        out = self.out(torch.tanh(h))
        return out, F.mse_loss(out, y), []


@twin("concat_axes")
class ConcatAxes(Twin):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 12)
        self.b = nn.Linear(4, 6)
        self.c = nn.Linear(4, 6)

    def run(self, x, y):
        a = self.a(x).reshape(-1, 2, 2, 3)
        b = self.b(x).reshape(-1, 2, 1, 3)
        c = self.c(x).reshape(-1, 2, 3, 1)
        out = torch.cat([torch.cat([a, b], dim=2), c], dim=3)
        return out, F.mse_loss(out, y), []


@twin("img_flatten")
class ImgFlatten(Twin):
    def __init__(self):
        super().__init__()
        self.out = pipe(nn.Conv2d(2, 3, 2), nn.Tanh(), nn.Flatten(), nn.Linear(48, 3))

    def run(self, x, y):
        out = self.out(x)
        return out, F.mse_loss(out, y), []


@twin("img_reshape")
class ImgReshape(Twin):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(24, 32)
        self.c = nn.Conv2d(2, 3, 3)
        self.out = nn.Linear(12, 2)

    def run(self, x, y):
        h = self.h(x.reshape(-1, 24)).reshape(-1, 2, 4, 4)
        c = self.c(torch.tanh(h))
        out = self.out(c.reshape(-1, 12))
        return out, F.mse_loss(out, y), []


@twin("lenet5")
class LeNet5(Twin):
    fd_tol = (1e-3, 1e-2)

    def __init__(self):
        super().__init__()
        self.features = pipe(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = pipe(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                               nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def run(self, x, y):
        logits = self.classifier(self.features(x))
        weights = [self.features[0].weight, self.features[3].weight, self.classifier[1].weight,
                   self.classifier[3].weight, self.classifier[5].weight]
        loss = F.cross_entropy(logits, y.long()) + 1e-4 * sum((w * w).sum() for w in weights)
        return F.softmax(logits, -1), loss, []


@twin("pool_max_s2p1")
class PoolMaxS2P1(Twin):
    margin = 5e-3

    def __init__(self):
        super().__init__()
        self.h = nn.Conv2d(2, 2, 2)

    def run(self, x, y):
        h = self.h(x)
        out = F.max_pool2d(h, 3, stride=2, padding=1)
        return out, F.mse_loss(out, y), [pool_gaps(h, 3, 2, 1)]


@twin("concat_self")
class ConcatSelf(Twin):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.out = nn.Linear(9, 2)

    def run(self, x, y):
        a = self.a(x)
        k = torch.cat([torch.cat([a, torch.tanh(a)], dim=1), a], dim=1)
        out = self.out(k)
        return out, F.mse_loss(out, y), []
