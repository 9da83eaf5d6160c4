"""oracle.py — the int8 twin PyTorch 1.13 makes of a float model, and a dump
of every quantized tensor in it (the specification: tests/quant/README.md).

Post-training static quantization, eager mode, the contract's flow
(generated-c.md §int8):

    qmodel, stages = ptq(model, calib)          # engine qnnpack
    tensors = dump(qmodel, x)                   # name -> numpy array

`model` is an eval-mode float nn.Module in eager-quantization form: a
QuantStub at the input, a DeQuantStub before anything that stays float
(softmax, the output), torch.nn.quantized.FloatFunctional for tensor adds,
and modules (nn.ReLU, nn.Flatten, nn.MaxPool2d, ...) rather than functional
calls wherever a tensor should be dumped. Conv[-BatchNorm][-ReLU] and
Linear-ReLU chains are found with torch.fx and fused (fusions()).

Quantization-aware training, the same way:

    qat = prepare_qat(model)                    # train() mode, fake-quantized
    ... train qat ...
    qmodel = convert(qat)      # note: runs each weight fake-quantizer once more

This file only drives PyTorch; the arithmetic PyTorch performs is
re-implemented in reference.py, and check_reference.py / check_qat.py
compare the two. From the shell, `oracle.py CASE OUT.safetensors` dumps a
models.CASES case (main()).
"""
import contextlib
import copy
import os
import sys

import numpy as np
import torch
import torch.ao.nn.quantized as nnq
import torch.ao.quantization as tq
import torch.fx
import torch.nn as nn
from torch.ao.quantization import (FakeQuantize, FakeQuantizeBase, MinMaxObserver,
                                   MovingAverageMinMaxObserver,
                                   MovingAveragePerChannelMinMaxObserver, ObserverBase,
                                   PerChannelMinMaxObserver, QConfig)

ENGINE = "qnnpack"


def ptq_qconfig():
    """The contract's post-training QConfig."""
    return QConfig(
        activation=MinMaxObserver.with_args(dtype=torch.quint8),
        weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                  qscheme=torch.per_channel_symmetric))


def qat_qconfig():
    """The quantization-aware-training QConfig (README §QAT)."""
    return QConfig(
        activation=FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                          quant_max=255, dtype=torch.quint8),
        weight=FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver,
                                      quant_min=-128, quant_max=127, dtype=torch.qint8,
                                      qscheme=torch.per_channel_symmetric))


@contextlib.contextmanager
def engine(name=ENGINE):
    """Runs the block with torch.backends.quantized.engine = name. The engine
    must be set when a model is converted (weights are packed for it) and
    when it runs (add and the pools pick their kernel from it at run time)."""
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = old


# ---- fusion ----------------------------------------------------------------

_CHAINS = [(nn.Conv2d, nn.BatchNorm2d, nn.ReLU), (nn.Conv2d, nn.BatchNorm2d),
           (nn.Conv2d, nn.ReLU), (nn.Linear, nn.ReLU)]


def fusions(model):
    """The module-name lists fuse_modules should fuse: every Conv2d-BatchNorm2d
    [-ReLU], Conv2d-ReLU and Linear-ReLU chain in which each module's output
    feeds only the next one and every module is called once."""
    graph = torch.fx.symbolic_trace(model).graph
    calls = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    kind = lambda node: (type(model.get_submodule(node.target))
                         if node.op == "call_module" and calls[node.target] == 1 else None)
    found, used = [], set()
    for node in graph.nodes:
        for chain in _CHAINS:
            names, cur = [], node
            for want in chain:
                if cur is None or kind(cur) is not want or cur.target in used:
                    break
                names.append(cur.target)
                users = list(cur.users)
                cur = users[0] if len(users) == 1 and users[0].args[:1] == (cur,) else None
            if len(names) == len(chain):
                found.append(names)
                used.update(names)
                break
    return found


def _fused_copy(model, fuse, qat):
    """-> (a copy of model, in train mode for QAT and eval mode otherwise,
    with the chains `fuse` (default: fusions()) fused; the lists fused)."""
    m = copy.deepcopy(model).train(qat)
    fuse = fusions(m) if fuse is None else fuse
    if fuse:
        (tq.fuse_modules_qat if qat else tq.fuse_modules)(m, fuse, inplace=True)
    return m, fuse


# ---- post-training static quantization ------------------------------------

def ptq(model, calib, engine_name=ENGINE, fuse=None, batch=256, qconfig=None):
    """-> (quantized model, stages). stages holds the intermediate models:
    'fused' (float, batchnorms folded), 'observed' (after calibration; its
    observers hold the min/max every scale comes from), and 'fuse' (the
    module lists fused). qconfig defaults to ptq_qconfig()."""
    m, fuse = _fused_copy(model, fuse, qat=False)
    fused = copy.deepcopy(m)
    m.qconfig = qconfig or ptq_qconfig()
    with torch.no_grad():
        tq.prepare(m, inplace=True)
        for i in range(0, len(calib), batch):
            m(calib[i:i + batch])
    return convert(m, engine_name), {"fused": fused, "observed": m, "fuse": fuse}


def convert(observed, engine_name=ENGINE):
    """The int8 model of an observed (or QAT) model, packed for engine_name;
    the observed model is left as it was."""
    m = copy.deepcopy(observed).eval()
    with engine(engine_name), torch.no_grad():
        tq.convert(m, inplace=True)
    return m


def observers(observed):
    """name -> (min, max) of every activation observer of an observed (or
    QAT) model, named after the module whose output it watches."""
    out = {}
    for name, mod in observed.named_modules():
        if isinstance(mod, (ObserverBase, FakeQuantizeBase)):
            continue
        post = getattr(mod, "activation_post_process", None)
        post = getattr(post, "activation_post_process", post)     # a FakeQuantize's observer
        if post is not None and hasattr(post, "min_val"):
            out[name] = (float(post.min_val), float(post.max_val))
    return out


# ---- quantization-aware training -------------------------------------------

def prepare_qat(model, fuse=None):
    """A train()-mode QAT copy of the float model: chains fused with
    fuse_modules_qat, then prepare_qat with qat_qconfig()."""
    m, _ = _fused_copy(model, fuse, qat=True)
    m.qconfig = qat_qconfig()
    tq.prepare_qat(m, inplace=True)
    return m


# ---- dumping ---------------------------------------------------------------

_WEIGHTED = (nnq.Linear, nnq.Conv2d)   # also their fused-ReLU subclasses


def _qparams(t):
    return np.float32(t.q_scale()), np.int32(t.q_zero_point())


def _activation(out, name, t):
    """uint8 values (logical NCHW order), scale and zero point of t."""
    out[name] = t.int_repr().contiguous().numpy().copy()
    out[name + ".scale"], out[name + ".zero_point"] = _qparams(t)


def layer_params(mod, in_scale):
    """The stored int8 parameters of a quantized Linear/Conv2d and the int32
    bias qnnpack computes from them for an input of scale in_scale:
    weight (int8), weight_scale (float32 per output channel), bias (float32,
    as PyTorch stores it) and bias_q (int32), exactly as
    quant_utils::QuantizeBias does (QuantUtils.h:209-226) by calling the same
    torch.quantize_per_channel with scales double(w_scale) * double(in_scale)."""
    w = mod.weight()
    scales = w.q_per_channel_scales()                      # float64 tensor
    bias = mod.bias()
    if bias is None:
        bias = torch.zeros(w.shape[0])
    bias_q = torch.quantize_per_channel(bias.detach().float(), scales * float(in_scale),
                                        torch.zeros_like(w.q_per_channel_zero_points()), 0,
                                        torch.qint32).int_repr()
    return {"weight": w.int_repr().numpy().copy(),
            "weight_scale": scales.numpy().astype(np.float32),
            "weight_zero_point": w.q_per_channel_zero_points().numpy().astype(np.int32),
            "bias": bias.detach().numpy().astype(np.float32).copy(),
            "bias_q": bias_q.numpy().copy()}


def dump(qmodel, x, engine_name=ENGINE):
    """Runs qmodel on x and returns name -> numpy array for every quantized
    tensor: for each module NAME that produces a quantized tensor,
    NAME (uint8 output), NAME.scale (float32), NAME.zero_point (int32), and
    for Linear/Conv2d also NAME.weight, .weight_scale, .weight_zero_point,
    .bias, .bias_q (layer_params); NAME.in with its .scale and .zero_point
    for every module with a quantized input; 'output' holds the model's (float)
    output. A FloatFunctional add appears under its module name like a
    module, its second operand as NAME.in_b. nn.Identity modules (what
    fusion leaves in place of a folded BatchNorm or fused ReLU) are skipped."""
    out, hooks, patched = {}, [], []

    def record(name, mod, args, result):
        first = args[0] if args else None
        if isinstance(first, torch.Tensor) and first.is_quantized:
            _activation(out, name + ".in", first)
            if isinstance(mod, _WEIGHTED):
                for key, arr in layer_params(mod, first.q_scale()).items():
                    out[name + "." + key] = arr
        if isinstance(result, torch.Tensor) and result.is_quantized:
            _activation(out, name, result)

    skip = set()      # the inner modules of an add and of a Linear (packed params)
    for name, mod in qmodel.named_modules():
        if isinstance(mod, _WEIGHTED):
            skip.update(list(mod.modules())[1:])
        if isinstance(mod, nnq.QFunctional):
            skip.update(mod.modules())
            def add(a, b, _name=name, _add=mod.add):
                y = _add(a, b)
                _activation(out, _name + ".in", a)
                _activation(out, _name + ".in_b", b)
                _activation(out, _name, y)
                return y
            mod.add = add
            patched.append(mod)
        elif name and mod not in skip and not isinstance(mod, nn.Identity) \
                and (isinstance(mod, _WEIGHTED) or not list(mod.children())):
            hooks.append(mod.register_forward_hook(
                lambda m, a, r, _name=name: record(_name, m, a, r)))
    try:
        with engine(engine_name), torch.no_grad():
            y = qmodel(x)
    finally:
        for h in hooks:
            h.remove()
        for mod in patched:
            del mod.add
    out["output"] = y.numpy().copy() if not y.is_quantized else y.int_repr().numpy().copy()
    return out


def save(path, tensors):
    """Writes a dump as safetensors (tests/golden/twins.py's writer, given the
    integer types a dump holds; names sorted; scalars as shape [])."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
    import twins
    twins._DTYPES.update({np.dtype("i1"): "I8", np.dtype("u1"): "U8"})
    twins.write_safetensors(path, [(k, np.asarray(tensors[k])) for k in sorted(tensors)])


def main(argv):
    """oracle.py CASE OUT.safetensors [N]: quantizes models.CASES[CASE]
    (seeded weights, 128 standard-normal calibration samples) and dumps it on
    N (default 4) further samples."""
    import models
    n = argv[2] if len(argv) == 3 else "4"
    if len(argv) not in (2, 3):
        why = "usage: oracle.py CASE OUT.safetensors [N]"
    elif argv[0] not in models.CASES:
        why = "no case '%s'; CASE is one of: %s" % (argv[0], " ".join(models.CASES))
    elif not n.isdigit() or int(n) < 1:
        why = "N must be a positive number of samples, not '%s'" % n
    else:
        why = None
    if why:
        print("oracle.py: error: " + why, file=sys.stderr)
        return 2
    model, shape = models.build(argv[0])
    gen = torch.Generator().manual_seed(1)
    calib = torch.randn(128, *shape, generator=gen)
    x = torch.randn(int(n), *shape, generator=gen)
    qmodel, _ = ptq(model, calib)
    try:
        save(argv[1], dump(qmodel, x) | {"input": x.numpy()})
    except OSError as e:
        print("oracle.py: error: cannot write %s: %s" % (argv[1], e.strerror), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
