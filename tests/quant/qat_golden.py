"""qat_golden.py — goldens of quantization-aware training (`quantize int8;`)
from PyTorch 1.13's own QAT: the twin of each qat/CASE.dnn, fused as the int8
build fuses it (fuse_modules_qat), prepare_qat with oracle.qat_qconfig()
(engine qnnpack), trained for 20 steps on 20 batches.

Writes qat/data/CASE.weights.safetensors (the twin's initial parameters and
observer buffers under dnnc's names, what CASE_load takes) and
qat/data/CASE.golden.safetensors:
  x [20, B, ...], y [20, B] (I32)   the batch of each step
  traj.loss [20]                    the loss of each training step
  traj.out [20, B, K]               the eval output after each step, observers
                                    frozen (eval() and disable_observer: dnnc's
                                    eval mode never moves an observer)
  traj.NAME                         every parameter and buffer after the 20 steps
and qat/data/CASE.trained.safetensors (the traj.NAME tensors: the trained
twin's weights as dnnc's training program saves them, what --from-qat reads)
and qat/data/CASE.convert.safetensors: PyTorch's convert of the trained twin
(oracle.convert, engine qnnpack), in make_golden.py's golden format for
golden_harness.c (input, expected, tolerance, step, q.NAME: the int8
weights, int32 biases, weight scales and every activation's scale and zero
point).

dnnc's names of the observers' buffers drop the FakeQuantize's inner module:
PyTorch's `P.activation_post_process.activation_post_process.min_val` is
dnnc's `P.activation_post_process.min_val`, `P.weight_fake_quant.
activation_post_process.min_val` is `P.weight_fake_quant.min_val`; the
FakeQuantize's scale, zero_point, eps and flags are derived, not stored.

Usage: qat_golden.py [--out DIR] [CASE ...]   (DIR defaults to qat/data;
deterministic bytes)
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq
from torch.ao.quantization import DeQuantStub, QuantStub

import make_golden
import oracle

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import twins  # noqa: E402  (the safetensors writer)

STEPS = 20


class QatMlp(nn.Module):
    """qat/mlp.dnn"""
    batch, shape, classes, fuse = 16, (16,), 4, [["a1", "h1"], ["a2", "h2"]]
    names = {}

    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.a1, self.h1 = nn.Linear(16, 32), nn.ReLU()
        self.a2, self.h2 = nn.Linear(32, 16), nn.ReLU()
        self.logits = nn.Linear(16, 4)
        self.out = DeQuantStub()

    def forward(self, x):
        return self.out(self.logits(self.h2(self.a2(self.h1(self.a1(self.quant(x)))))))

    def optimizer(self, params):
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)


class QatConv(nn.Module):
    """qat/conv.dnn"""
    batch, shape, classes, fuse = 8, (1, 8, 8), 4, [["c1", "r1"]]
    names = {}

    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.c1, self.r1, self.p1 = nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
        self.c2, self.c3 = nn.Conv2d(4, 6, 3, padding=1), nn.Conv2d(4, 6, 1)
        self.s = nn.quantized.FloatFunctional()
        self.r2 = nn.ReLU()
        self.logits = nn.Linear(96, 4)
        self.out = DeQuantStub()

    def forward(self, x):
        p1 = self.p1(self.r1(self.c1(self.quant(x))))
        r2 = self.r2(self.s.add(self.c2(p1), self.c3(p1)))
        return self.out(self.logits(torch.flatten(r2, 1)))

    def optimizer(self, params):
        return torch.optim.Adam(params, lr=0.01)


class QatConvBn(nn.Module):
    """qat/convbn.dnn: ConvBnReLU2d and ConvBn2d (the batchnorms trained, folded into the weight)"""
    batch, shape, classes, fuse = 8, (1, 8, 8), 4, [["c1", "b1", "r1"], ["c2", "b2"]]
    names = {"c1.bn": "b1", "c2.bn": "b2"}   # the fused modules' batchnorms under the .dnn's names

    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.c1, self.b1 = nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.r1, self.p1 = nn.ReLU(), nn.MaxPool2d(2)
        self.c2, self.b2 = nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6)
        self.logits = nn.Linear(96, 4)
        self.out = DeQuantStub()

    def forward(self, x):
        p1 = self.p1(self.r1(self.b1(self.c1(self.quant(x)))))
        return self.out(self.logits(torch.flatten(self.b2(self.c2(p1)), 1)))

    def optimizer(self, params):
        return torch.optim.SGD(params, lr=0.05, momentum=0.9)


CASES = {"mlp": QatMlp, "conv": QatConv, "convbn": QatConvBn}


def renamer(names):
    """dnnc's name of a module: the QuantStub `quant` is the input x, a fused
    module's batchnorm its own statement's (names)."""
    table = dict(names, quant="x")

    def rename(name):
        for prefix in table:
            if name == prefix or name.startswith(prefix + "."):
                return table[prefix] + name[len(prefix):]
        return name
    return rename


def dnnc_name(key, rename):
    """dnnc's name of a state_dict key it keeps, or None."""
    key = rename(key)
    observer = ".activation_post_process.min_val", ".activation_post_process.max_val"
    if key.endswith(observer):
        return key[:-len(observer[0])] + key[-len(".min_val"):]
    if key.endswith((".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked")):
        return key
    return None


def tensors(model, counter_i64=True):
    """dnnc's tensors of a QAT model: parameters, batchnorm's buffers (its
    counter I64 as PyTorch saves it, or F32 for the harness), the observers'
    min and max (+inf/-inf, [channels] per channel, before the first batch)."""
    out, rename = [], renamer(getattr(model, "names", {}))
    for key, value in model.state_dict().items():
        name = dnnc_name(key, rename)
        if name is None:
            continue
        v = value.detach().clone()
        v = v if counter_i64 and name.endswith("num_batches_tracked") else v.float()
        if ".weight_fake_quant." in name and v.numel() == 0:   # a fresh per-channel observer
            weight = model.get_parameter(key.split(".weight_fake_quant.")[0] + ".weight")
            v = torch.full((weight.shape[0],), np.inf if name.endswith("min_val") else -np.inf)
        out.append((name, v.numpy()))
    return out


def make_case(name, data):
    cls = CASES[name]
    torch.manual_seed(sum(map(ord, name)))
    model = cls().train()
    tq.fuse_modules_qat(model, cls.fuse, inplace=True)
    model.qconfig = oracle.qat_qconfig()
    tq.prepare_qat(model, inplace=True)
    weights = tensors(model)
    gen = torch.Generator().manual_seed(1 + sum(map(ord, name)))
    x = torch.randn(STEPS, cls.batch, *cls.shape, generator=gen) * 1.5 + 0.25
    y = torch.randint(0, cls.classes, (STEPS, cls.batch), generator=gen, dtype=torch.int32)
    opt = model.optimizer(model.parameters())
    losses, outs = [], []
    with oracle.engine():
        for s in range(STEPS):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[s]), y[s].long())
            loss.backward()
            opt.step()
            losses.append(loss.item())
            model.eval().apply(tq.disable_observer)
            with torch.no_grad():
                outs.append(model(x[s]).numpy())
            model.train().apply(tq.enable_observer)
    golden = [("x", x.numpy()), ("y", y.numpy()), ("traj.loss", np.array(losses, np.float32)),
              ("traj.out", np.stack(outs).astype(np.float32))]
    trained = tensors(model)
    golden += [("traj." + k, v) for k, v in tensors(model, counter_i64=False)]
    x_test = torch.randn(6, *cls.shape, generator=gen) * 1.5 + 0.25
    qmodel = oracle.convert(model)
    dump = oracle.dump(qmodel, x_test)
    y = torch.from_numpy(dump["output"]).reshape(len(x_test), -1)
    step = np.float32(dump["out.in.scale"])
    converted = [("input", x_test.numpy()), ("expected", y.numpy()),
                 ("tolerance", (torch.full_like(y, float(step) * 1.0001) + y.abs() * 1e-6).numpy()),
                 ("step", step)] + make_golden.quantized(dump, qmodel, renamer(cls.names))
    os.makedirs(data, exist_ok=True)
    twins.write_safetensors(os.path.join(data, name + ".weights.safetensors"), weights)
    twins.write_safetensors(os.path.join(data, name + ".golden.safetensors"), golden)
    twins.write_safetensors(os.path.join(data, name + ".trained.safetensors"), trained)
    twins.write_safetensors(os.path.join(data, name + ".convert.safetensors"), converted)
    return model


def main(argv):
    torch.set_num_threads(1)   # the same summation order on every run (and machine load)
    data = os.path.join(HERE, "qat", "data")
    if argv[:1] == ["--out"] and len(argv) > 1:
        data, argv = argv[1], argv[2:]
    for name in argv or sorted(CASES):
        if name not in CASES:
            print("qat_golden.py: error: no case '%s'; CASE is one of: %s" % (name, " ".join(CASES)),
                  file=sys.stderr)
            return 2
        make_case(name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
