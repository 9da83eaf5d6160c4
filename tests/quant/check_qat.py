"""check_qat.py — reference.py's fake quantization, moving-average observers
and QAT convert against PyTorch 1.13, value for value.

  fake_quant      torch.fake_quantize_per_tensor_affine / _per_channel_affine
                  forward and backward (autograd) on random data with exact
                  ties, out-of-range values and extreme zero points;
  fake_quantize   FakeQuantize modules of qat_qconfig() over several batches:
                  moving-average min/max, scale, zero point, output, gradient;
  train/NAME      prepare_qat of a models.CASES stack, SGD steps (batchnorm
                  statistics frozen half way), every weight and activation
                  fake-quantizer checked at every step (its input, for a
                  Conv-BatchNorm the folded weight W * (gamma / sqrt(var +
                  eps)), its moving averages, qparams and output);
  convert/NAME    the converted int8 model against check_reference.RefRun
                  given the QAT model's state (batchnorm folded with running
                  statistics, one more moving-average step on the folded
                  weight, as convert does).

Prints "PASS quant/qat NAME" or "FAIL quant/qat NAME: why" lines; exit 1 on
any failure. Usage: check_qat.py [--quick]
"""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.intrinsic.qat as nniqat

import check_reference
import models
import oracle
import reference as R

F32 = np.float32


def arr(t):
    """A numpy copy of a tensor (never .numpy() on a buffer torch may resize:
    sharing it with numpy makes its storage non-resizable)."""
    return t.detach().clone().numpy()


def bits(a):
    """Float32 values as their bit patterns, so -0.0 != 0.0 and NaN == NaN."""
    return np.ascontiguousarray(np.asarray(a, F32)).view(np.int32)


def differing(a, b):
    return int((bits(a) != bits(b)).sum())


def tie_data(gen, n, scale, zp, qmin, qmax):
    """Values around every rounding tie and both clamp edges, plus noise."""
    k = torch.randint(qmin - zp - 3, qmax - zp + 4, (n,), generator=gen).float()
    near = (k + 0.5) * scale + torch.randn(n, generator=gen) * scale * 1e-6
    wide = torch.randn(n, generator=gen) * scale * (qmax - qmin) * 0.4
    return torch.cat([near, (k + 0.5) * scale, wide, torch.tensor([0.0, -0.0, 1e30, -1e30])])


def check_fake_quant(quick):
    """torch.fake_quantize_per_{tensor,channel}_affine forward and backward
    against reference.fake_quantize / fake_quantize_backward."""
    gen = torch.Generator().manual_seed(5)
    bad = total = 0
    for trial in range(20 if quick else 200):
        qmin, qmax = ((0, 255), (-128, 127))[trial % 2]
        scale = float(F32(10 ** (torch.rand(1, generator=gen).item() * 4 - 3)))
        zp = int(torch.randint(qmin, qmax + 1, (1,), generator=gen))
        x = tie_data(gen, 256, scale, zp, qmin, qmax).requires_grad_()
        dy = torch.randn(x.shape, generator=gen)
        if trial % 4 < 2:
            y = torch.fake_quantize_per_tensor_affine(
                x, torch.tensor([scale]), torch.tensor([zp], dtype=torch.int32), qmin, qmax)
        else:
            y = torch.fake_quantize_per_tensor_affine(x, scale, zp, qmin, qmax)
        y.backward(dy)
        ry, mask = R.fake_quantize(x.detach().numpy(), scale, zp, qmin, qmax)
        rdx = R.fake_quantize_backward(dy.numpy(), mask)
        bad += differing(ry, y.detach().numpy()) + differing(rdx, x.grad.numpy())
        total += 2 * x.numel()

        c = 6
        scales = torch.tensor([float(F32(10 ** (v * 4 - 3))) for v in torch.rand(c, generator=gen)])
        zps = torch.randint(qmin, qmax + 1, (c,), generator=gen, dtype=torch.int32)
        xc = torch.stack([tie_data(gen, 64, float(s), int(z), qmin, qmax)
                          for s, z in zip(scales, zps)])
        axis = trial % 2
        xc = (xc if axis == 0 else xc.t().contiguous()).requires_grad_()
        dyc = torch.randn(xc.shape, generator=gen)
        yc = torch.fake_quantize_per_channel_affine(xc, scales, zps, axis, qmin, qmax)
        yc.backward(dyc)
        ry, mask = R.fake_quantize(xc.detach().numpy(), scales.numpy(), zps.numpy(), qmin, qmax,
                                   axis)
        rdx = R.fake_quantize_backward(dyc.numpy(), mask)
        bad += differing(ry, yc.detach().numpy()) + differing(rdx, xc.grad.numpy())
        total += 2 * xc.numel()
    return bad, total


class FakeQuantCheck:
    """Checks a FakeQuantize module at each call against the reference: the
    moving average of its observer, its scale and zero point and its output.
    Attach with watch(); counts differing values in .bad."""

    def __init__(self, fq):
        self.fq, self.bad, self.total, self.before = fq, 0, 0, None
        fq.register_forward_pre_hook(self.pre)
        fq.register_forward_hook(self.post)

    def pre(self, fq, args):
        obs = fq.activation_post_process
        self.before = (arr(obs.min_val), arr(obs.max_val))
        self.enabled = bool(fq.observer_enabled[0])

    def post(self, fq, args, y):
        x = args[0].detach().numpy()
        obs = fq.activation_post_process
        old_min, old_max = self.before
        per_channel = fq.is_per_channel
        if per_channel:
            cur = R.channel_minmax(np.moveaxis(x, fq.ch_axis, 0))
        else:
            cur = (F32(x.min()), F32(x.max()))
        if self.enabled:
            fresh = old_min.size == 0 or (np.isinf(old_min).all() and np.isinf(old_max).all())
            mn = R.moving_average(None if fresh else old_min, cur[0])
            mx = R.moving_average(None if fresh else old_max, cur[1])
        else:
            mn, mx = old_min, old_max
        if per_channel:
            scale, zp = R.symmetric_qparams(mn, mx, obs.quant_min, obs.quant_max)
        else:
            s, z = R.affine_qparams(mn, mx, obs.quant_min, obs.quant_max)
            scale, zp = np.array([s], F32), np.array([z])
        got = [arr(obs.min_val), arr(obs.max_val), arr(fq.scale)]
        want = [np.reshape(mn, got[0].shape), np.reshape(mx, got[1].shape), scale]
        self.bad += sum(differing(a, b) for a, b in zip(want, got))
        self.bad += int((arr(fq.zero_point) != zp).sum())
        ry, _ = R.fake_quantize(x, scale if per_channel else scale[0], zp if per_channel else zp[0],
                                obs.quant_min, obs.quant_max, fq.ch_axis if per_channel else None)
        self.bad += differing(ry, y.detach().numpy())
        self.total += y.numel() + 2 * np.size(mn) + scale.size


def check_fake_quantize_modules(quick):
    """qat_qconfig()'s two FakeQuantize modules over a few batches, with the
    gradient through them."""
    gen = torch.Generator().manual_seed(6)
    qc = oracle.qat_qconfig()
    act, wt = qc.activation(), qc.weight()
    checks = [FakeQuantCheck(act), FakeQuantCheck(wt)]
    bad = total = 0
    for step in range(4 if quick else 12):
        x = (torch.randn(16, 5, generator=gen) * (0.5 + step) + step * 0.3).requires_grad_()
        w = (torch.randn(6, 4, 3, 3, generator=gen) * (0.1 + 0.05 * step)).requires_grad_()
        for fq, t in ((act, x), (wt, w)):
            y = fq(t)
            dy = torch.randn(y.shape, generator=gen)
            y.backward(dy)
            scale, zp = arr(fq.scale), arr(fq.zero_point)
            if not fq.is_per_channel:
                scale, zp = scale[0], zp[0]
            mask = R.fake_quantize(t.detach().numpy(), scale, zp, fq.quant_min, fq.quant_max,
                                   0 if fq.is_per_channel else None)[1]
            bad += differing(R.fake_quantize_backward(dy.numpy(), mask), t.grad.numpy())
            total += t.numel()
    for c in checks:
        bad, total = bad + c.bad, total + c.total
    return bad, total


def folded_weight_check(mod, log):
    """For a QAT Conv-BatchNorm: the weight fake-quantizer's input must be
    W * (gamma / sqrt(running_var + eps)) per output channel, float32
    (conv_fused.py:100-107), computed from the module's state at that call."""
    def pre(fq, args):
        bn = mod.bn
        t = lambda p: p.detach().numpy()
        std = np.sqrt(t(bn.running_var) + F32(bn.eps)).astype(F32)
        factor = (t(bn.weight) / std).astype(F32)
        want = (t(mod.weight) * factor.reshape(-1, 1, 1, 1)).astype(F32)
        log[0] += differing(want, args[0].detach().numpy())
        log[1] += want.size
    mod.weight_fake_quant.register_forward_pre_hook(pre)


def qat_weights(mod):
    """(float weight, bias, per-channel scales) of a QAT Linear/Conv2d as
    convert builds them: a Conv-BatchNorm folded with the running statistics
    (fuse_conv_bn_weights), then the weight fake-quantizer run once more on
    that weight (get_qconv / Linear.from_float), i.e. one more moving-average
    step while its observer is enabled, and its qparams."""
    t = lambda p: None if p is None else p.detach().numpy()
    w, b = t(mod.weight), t(mod.bias)
    if isinstance(mod, nniqat.ConvBn2d):
        bn = mod.bn
        w, b = R.fold_bn(w, b, t(bn.running_mean), t(bn.running_var), bn.eps, t(bn.weight),
                         t(bn.bias))
    fq = mod.weight_fake_quant
    obs = fq.activation_post_process
    mn, mx = arr(obs.min_val), arr(obs.max_val)
    if fq.observer_enabled[0]:
        cur = R.channel_minmax(w)
        mn = R.moving_average(mn if mn.size else None, cur[0])
        mx = R.moving_average(mx if mx.size else None, cur[1])
    return w, b, R.symmetric_qparams(mn, mx, obs.quant_min, obs.quant_max)[0]


def train(name, quick):
    """A QAT model of case `name` trained with SGD on random data, every
    fake-quantizer watched. -> (qat model, differing, compared, test input)"""
    model, shape = models.build(name, seed=sum(map(ord, name)))
    qat = oracle.prepare_qat(model)
    checks, fold_log = [], [0, 0]
    for mod in qat.modules():
        if isinstance(mod, oracle.FakeQuantize):
            checks.append(FakeQuantCheck(mod))
        if isinstance(mod, nniqat.ConvBn2d):
            folded_weight_check(mod, fold_log)
    gen = torch.Generator().manual_seed(7)
    opt = torch.optim.SGD(qat.parameters(), lr=0.01, momentum=0.9)
    steps = 4 if quick else 10
    for step in range(steps):
        if step == steps // 2:
            qat.apply(nniqat.freeze_bn_stats)
        x = torch.randn(16, *shape, generator=gen)
        target = torch.randint(0, 10, (16,), generator=gen)
        opt.zero_grad()
        nn.functional.cross_entropy(qat(x), target).backward()
        opt.step()
    bad = fold_log[0] + sum(c.bad for c in checks)
    total = fold_log[1] + sum(c.total for c in checks)
    for mod in qat.modules():          # stop watching: convert runs the weight fake-quantizers
        if isinstance(mod, oracle.FakeQuantize):
            mod._forward_pre_hooks.clear()
            mod._forward_hooks.clear()
    return qat, bad, total, torch.randn(16, *shape, generator=gen) * 1.25


def check_convert(qat, x):
    """Every int8 tensor of the converted QAT model against the reference."""
    qmodel = oracle.convert(qat)
    got = oracle.dump(qmodel, x)
    ref = check_reference.RefRun(qat, oracle.observers(qat), weights=qat_weights)
    want = ref.run(x.numpy())
    keys = list(ref.kind) + [k for k in got if k.endswith((".weight", ".bias_q"))]
    diff, total, _ = check_reference.compare(want, got, keys)
    scales = [k for k in got
              if k.endswith((".scale", ".zero_point", ".weight_scale")) and ".in" not in k]
    return diff + len(check_reference.exact(want, got, scales)), total


def main(argv):
    quick = "--quick" in argv
    results = [("fake_quant", check_fake_quant(quick)),
               ("fake_quantize", check_fake_quantize_modules(quick))]
    for name in ("mlp", "lenet5", "residual", "depthwise_separable"):
        qat, bad, total, x = train(name, quick)
        results.append(("train/" + name, (bad, total)))
        results.append(("convert/" + name, check_convert(qat, x)))
    failed = False
    for name, (bad, total) in results:
        if bad or not total:
            print("FAIL quant/qat %s: %d of %d values differ" % (name, bad, total))
            failed = True
        else:
            print("PASS quant/qat %s (%d values)" % (name, total))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
