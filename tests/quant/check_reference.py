"""check_reference.py — reference.py against PyTorch 1.13's qnnpack int8
models, value for value, and how far other engines and requantizers are.

For every case of models.CASES (one model per quantized op, and the four
stacks) with random weights, batchnorm statistics and data: the model is
quantized by oracle.ptq (qnnpack), dumped on a test batch, and compared with

  ref      reference.py, end to end: from the float input, the folded float
           weights and the observers' min/max (the only inputs it takes from
           torch), every scale, zero point, int8 weight, int32 bias and uint8
           activation; "alone" gives each op torch's own input instead;
  onednn   the same observed model converted and run with engine onednn (the
           other engine of Debian's torch: it has no fbgemm);
  onednn7  both engines on the model observed with 7-bit activations
           (reduce_range) and run on calibration data, so that onednn's int16
           sums of u8*s8 pairs (AVX2 vpmaddubsw, no VNNI) cannot saturate;
  cmsis    reference.py with CMSIS-NN's fixed-point requantizer (multiplier
           and shift from the same float scale, arm_nn_requantize) in place
           of qnnpack's float one (linear, conv, average pooling);
  cmsis1   the same with CMSIS_NN_USE_SINGLE_ROUNDING;
  M_f64    reference.py with the requantization scale computed as
           float(s_in * s_w / s_out) in double instead of qnnpack's float32
           (s_w * s_in) * (1 / s_out);
  ulp      reference.py with every observer's max one float32 ulp larger
           (what a calibration pass that sums in another order can cause).

Prints one row per case (differing uint8 values / values compared; e2e and
alone), then a table per op kind, then "PASS quant/reference CASE" or
"FAIL ..." lines. Exit status 1 when the reference differs anywhere.
Usage: check_reference.py [--quick] [--seeds=N] [CASE ...]   (N random
models, weights and data per case; default 1)
"""
import sys

import numpy as np
import torch
import torch.ao.nn.intrinsic as nni
import torch.nn.intrinsic.qat as nniqat
import torch.ao.nn.quantized as nnq
import torch.nn as nn
from torch.ao.quantization import DeQuantStub, QuantStub

import models
import oracle
import reference as R

F32 = np.float32


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


RELU_FUSED = (nni.ConvReLU2d, nni.LinearReLU, nniqat.ConvBnReLU2d, nniqat.ConvReLU2d,
              nniqat.LinearReLU)


def ptq_weights(mod):
    """(float weight, float bias or None, per-channel scales) of a fused float
    Linear/Conv2d: PerChannelMinMaxObserver run on the weight at convert."""
    layer = mod[0] if isinstance(mod, nni._FusedModule) else mod
    w = layer.weight.detach().numpy()
    b = None if layer.bias is None else layer.bias.detach().numpy()
    return w, b, R.symmetric_qparams(*R.channel_minmax(w))[0]


class RefRun:
    """Runs reference.py over a float model's structure (models.Chain,
    Residual, Sequential, leaves), recording tensors under oracle.dump's
    names. obs: name -> observer (min, max); weights: module -> (w, b,
    scales) (ptq_weights, or check_qat's for a QAT model); requant and
    scale_fn replace the requantizer and the requantization scale; feed: a
    torch dump whose NAME.in tensors replace each op's input (each op alone)."""

    def __init__(self, fused, obs, requant=R.requantize, feed=None, weights=ptq_weights,
                 scale_fn=R.requant_scale):
        self.fused, self.requant, self.feed = fused, requant, feed
        self.weights, self.scale_fn = weights, scale_fn
        self.qp = {name: R.affine_qparams(mn, mx) for name, (mn, mx) in obs.items()}
        self.out, self.kind = {}, {}

    def run(self, x):
        y = self.module("", self.fused, x)
        self.out["output"] = y
        return self.out

    def _record(self, name, t, kind):
        q, s, z = t
        self.out[name] = q
        self.out[name + ".scale"], self.out[name + ".zero_point"] = F32(s), np.int32(z)
        self.kind[name] = kind
        return t

    def _input(self, name, t, key=".in"):
        if self.feed is not None and name + key in self.feed:
            f = self.feed
            return f[name + key], f[name + key + ".scale"], int(f[name + key + ".zero_point"])
        return t

    def module(self, name, mod, t):
        sub = (name + "." if name else "")
        if isinstance(mod, models.Chain):
            t = self.module(sub + "quant", mod.quant, t)
            t = self.module(sub + "body", mod.body, t)
            return self.module(sub + "dequant", mod.dequant, t)
        if isinstance(mod, nn.Sequential) and not isinstance(mod, nni._FusedModule):
            for child, m in mod.named_children():
                t = self.module(sub + child, m, t)
            return t
        if isinstance(mod, models.Residual):
            a = self.module(sub + "body", mod.body, t)
            b = self.module(sub + "shortcut", mod.shortcut, t)
            name = sub + "skip"
            a, b = self._input(name, a), self._input(name, b, ".in_b")
            s, z = self.qp[name]
            (qa, sa, za), (qb, sb, zb) = a, b
            return self._record(name, (R.add(qa, za, sa, qb, zb, sb, s, z), s, z), "add")
        if isinstance(mod, nn.Identity):
            return t
        if isinstance(mod, QuantStub):
            s, z = self.qp[name]
            return self._record(name, (R.quantize(t, s, z).astype(np.uint8), s, z), "quantize")
        q, s, z = self._input(name, t)
        if isinstance(mod, DeQuantStub):
            return R.dequantize(q, s, z)
        if isinstance(mod, (nn.Linear, nni.LinearReLU, nn.Conv2d, nni.ConvReLU2d)):
            return self._weighted(name, mod, (q, s, z))
        if isinstance(mod, nn.ReLU):
            return self._record(name, (R.relu(q, z), s, z), "relu")
        if isinstance(mod, nn.Flatten):
            return self._record(name, (q.reshape(q.shape[0], -1), s, z), "flatten")
        if isinstance(mod, nn.MaxPool2d):
            assert not mod.ceil_mode
            y = R.max_pool2d(q, _pair(mod.kernel_size), _pair(mod.stride or mod.kernel_size),
                             _pair(mod.padding), _pair(mod.dilation))
            return self._record(name, (y, s, z), "maxpool")
        if isinstance(mod, nn.AvgPool2d):    # qnnpack ignores count_include_pad, divisor_override
            assert not mod.ceil_mode, "ceil_mode runs ATen's generic kernel, not qnnpack's"
            y = R.avg_pool2d(q, z, s, _pair(mod.kernel_size), _pair(mod.stride or mod.kernel_size),
                             _pair(mod.padding), requant=self.requant)
            return self._record(name, (y, s, z), "avgpool")
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            assert _pair(mod.output_size) == (1, 1)
            y = R.global_avg_pool(q, z, s, requant=self.requant)
            return self._record(name, (y, s, z), "gap")
        raise TypeError("reference: no quantized form for " + type(mod).__name__)

    def _weighted(self, name, mod, t):
        q, s, z = t
        relu = isinstance(mod, RELU_FUSED)
        layer = mod[0] if isinstance(mod, (nni.ConvReLU2d, nni.LinearReLU)) else mod
        w, b, w_scales = self.weights(mod)
        wq = R.quantize_weight(w, w_scales)
        bq = R.quantize_bias(np.zeros(w.shape[0], F32) if b is None else b, w_scales, s)
        so, zo = self.qp[name]
        m = self.scale_fn(w_scales, s, so)
        if isinstance(layer, nn.Linear):
            y = R.linear(q, z, wq, bq, m, zo, relu, requant=self.requant)
            kind = "linear"
        else:
            y = R.conv2d(q, z, wq, bq, m, zo, layer.stride, layer.padding, layer.dilation,
                         layer.groups, relu, requant=self.requant)
            kind = "dwconv" if layer.groups == layer.in_channels and layer.groups > 1 else "conv"
        self.out[name + ".weight"], self.out[name + ".weight_scale"] = wq, w_scales
        self.out[name + ".bias_q"] = bq.astype(np.int32)
        return self._record(name, (y, so, zo), kind + ("_relu" if relu else ""))


def compare(a, b, keys):
    """-> (differing values, compared values, largest |difference|) over the
    keys both dumps hold (integer arrays only)."""
    diff = total = worst = 0
    for k in keys:
        if k in a and k in b:
            x, y = np.asarray(a[k], np.int64), np.asarray(b[k], np.int64)
            assert x.shape == y.shape, (k, x.shape, y.shape)
            d = np.abs(x - y)
            diff, total = diff + int((d != 0).sum()), total + d.size
            worst = max(worst, int(d.max(initial=0)))
    return diff, total, worst


def exact(a, b, keys):
    """The keys (float scales, zero points, weights) on which a and b differ."""
    return [k for k in keys if k in a and k in b
            and not np.array_equal(np.asarray(a[k]), np.asarray(b[k]))]


def fold_mismatches(model, stages):
    """Conv-BatchNorm pairs whose reference fold differs from torch's."""
    bad = []
    for names in stages["fuse"]:
        if len(names) < 2 or not isinstance(model.get_submodule(names[1]), nn.BatchNorm2d):
            continue
        conv, bn = model.get_submodule(names[0]), model.get_submodule(names[1])
        fused = stages["fused"].get_submodule(names[0])
        fused = fused[0] if isinstance(fused, nni.ConvReLU2d) else fused
        t = lambda p: None if p is None else p.detach().numpy()
        w, b = R.fold_bn(t(conv.weight), t(conv.bias), t(bn.running_mean), t(bn.running_var),
                         bn.eps, t(bn.weight), t(bn.bias))
        if not (np.array_equal(w, t(fused.weight)) and np.array_equal(b, t(fused.bias))):
            bad.append(names[0])
    return bad


def each_alone(qmodel, feed, engine_name):
    """Every op of a quantized model run on the input a dump (feed) recorded
    for it: name -> uint8 output."""
    out = {}
    mk = lambda k: torch._make_per_tensor_quantized_tensor(
        torch.from_numpy(np.ascontiguousarray(feed[k])), float(feed[k + ".scale"]),
        int(feed[k + ".zero_point"]))
    with oracle.engine(engine_name), torch.no_grad():
        for name, mod in qmodel.named_modules():
            if name + ".in" not in feed or name not in feed:
                continue
            y = mod.add(mk(name + ".in"), mk(name + ".in_b")) if isinstance(mod, nnq.QFunctional) \
                else mod(mk(name + ".in"))
            out[name] = y.int_repr().contiguous().numpy()
    return out


def data(shape, n, seed, spread=1.0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=gen) * spread


def seven_bit():
    """ptq_qconfig with 7-bit activations (reduce_range=True, the range fbgemm
    and onednn without VNNI need so that their int16 sums of u8*s8 pairs
    cannot saturate); only used to compare the engines."""
    qc = oracle.ptq_qconfig()
    qc = qc._replace(activation=torch.ao.quantization.MinMaxObserver.with_args(
        dtype=torch.quint8, reduce_range=True))
    return qc


def add3(a, b):
    """Sums two (differing, compared, largest step) counts."""
    return a[0] + b[0], a[1] + b[1], max(a[2], b[2])


def add_kinds(per_kind, kinds, who, dump, base):
    """Adds the differences of each op (act name -> op kind) to per_kind."""
    for act, kind in kinds.items():
        per_kind[kind, who] = add3(per_kind.get((kind, who), (0, 0, 0)), compare(dump, base, [act]))


def engine_twin(observed, name, x, feed):
    """(end-to-end dump, each-op-alone dump) of an observed model converted
    and run with engine `name`."""
    qmodel = oracle.convert(observed, name)
    return oracle.dump(qmodel, x, name), each_alone(qmodel, feed, name)


def check_case(name, quick, seed=0):
    """-> (row: column -> (differing, compared, largest step), names of the
    parameters the reference gets wrong, float output equal?, per-op counts)"""
    model, shape = models.build(name, seed=sum(map(ord, name)) + 1000 * seed)
    calib = data(shape, 32 if quick else 128, 1 + 10 * seed)
    x = data(shape, 8 if quick else 32, 2 + 10 * seed, spread=1.25)   # wider: some values clamp
    xs = x.numpy()
    qmodel, stages = oracle.ptq(model, calib)
    obs = oracle.observers(stages["observed"])
    base = oracle.dump(qmodel, x)
    fused = stages["fused"]

    ref = RefRun(fused, obs)
    ref_dump = ref.run(xs)
    acts = list(ref.kind)
    params = [k for k in base if k.endswith((".weight", ".bias_q"))]
    scales = [k for k in base if k.endswith((".scale", ".zero_point", ".weight_scale"))
              and ".in" not in k]
    bad = exact(ref_dump, base, params + scales) + fold_mismatches(model, stages)
    out_ok = np.array_equal(ref_dump["output"], base["output"])

    row, per_kind = {"ref": compare(ref_dump, base, acts)}, {}
    alone = RefRun(fused, obs, feed=base).run(xs)
    row["ref_alone"] = compare(alone, base, acts)
    add_kinds(per_kind, ref.kind, "ref", alone, base)

    row["onednn"] = row["onednn7"] = (0, 0, 0)          # "-" where torch has no onednn
    if "onednn" in torch.backends.quantized.supported_engines:
        e2e, alone = engine_twin(stages["observed"], "onednn", x, base)
        row["onednn"] = compare(e2e, base, acts)
        add_kinds(per_kind, ref.kind, "onednn", alone, base)

        _, stages7 = oracle.ptq(model, calib, qconfig=seven_bit())
        x7 = calib[:len(x)]                # in range: every activation stays below 128
        base7 = oracle.dump(oracle.convert(stages7["observed"]), x7)
        e2e, alone = engine_twin(stages7["observed"], "onednn", x7, base7)
        row["onednn7"] = compare(e2e, base7, acts)
        add_kinds(per_kind, ref.kind, "onednn7", alone, base7)

    for who, requant in (("cmsis", R.cmsis_requantize), ("cmsis1", R.cmsis_requantize_single)):
        row[who] = compare(RefRun(fused, obs, requant).run(xs), base, acts)
        add_kinds(per_kind, ref.kind, who, RefRun(fused, obs, requant, base).run(xs), base)

    row["M_f64"] = compare(RefRun(fused, obs, scale_fn=R.requant_scale_f64).run(xs), base, acts)
    bumped = {k: (mn, float(np.nextafter(F32(mx), F32(np.inf)))) for k, (mn, mx) in obs.items()}
    row["ulp"] = compare(RefRun(fused, bumped).run(xs), base, acts)
    return row, bad, out_ok, per_kind


def fmt(d):
    diff, total, worst = d
    if not total:
        return "-"
    pct = 100.0 * diff / total if total else 0.0
    return "%d/%d %.2f%%%s" % (diff, total, pct, " max %d" % worst if worst > 1 else "")


COLUMNS = ["ref", "ref_alone", "onednn", "onednn7", "cmsis", "cmsis1", "M_f64", "ulp"]
WHO = ["ref", "onednn", "onednn7", "cmsis", "cmsis1"]


def main(argv):
    quick = "--quick" in argv
    seeds = int(next((a.split("=")[1] for a in argv if a.startswith("--seeds=")), 1))
    names = [a for a in argv if not a.startswith("--")] or list(models.CASES)
    kinds, lines, failed = {}, [], False
    print("differing uint8 values / values compared (end to end), against qnnpack")
    print("%-19s " % "case" + " ".join("%-21s" % c for c in COLUMNS))
    for name in names:
        row, bad, out_ok, per_kind = check_case(name, quick)
        for seed in range(1, seeds):
            more = check_case(name, quick, seed)
            row = {k: add3(row[k], more[0][k]) for k in row}
            bad, out_ok = bad + more[1], out_ok and more[2]
            per_kind = {k: add3(per_kind[k], more[3][k]) for k in per_kind}
        print("%-19s " % name + " ".join("%-21s" % fmt(row[c]) for c in COLUMNS), flush=True)
        for k, v in per_kind.items():
            kinds[k] = add3(kinds.get(k, (0, 0, 0)), v)
        why = []
        if row["ref"][0] or row["ref_alone"][0]:
            why.append("%d uint8 values differ" % (row["ref"][0] + row["ref_alone"][0]))
        if bad:
            why.append("differs on " + ", ".join(bad[:4]))
        if not out_ok:
            why.append("the float output differs")
        lines.append(("FAIL quant/reference %s: %s" % (name, "; ".join(why))) if why
                     else "PASS quant/reference " + name)
        failed = failed or bool(why)
    print("\nper op, each op alone on qnnpack's input to it")
    print("%-12s " % "op" + " ".join("%-23s" % w for w in WHO))
    for kind in sorted({k for k, _ in kinds}):
        cells = (fmt(kinds.get((kind, w), (0, 0, 0))) for w in WHO)
        print("%-12s " % kind + " ".join("%-23s" % c for c in cells))
    print()
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
