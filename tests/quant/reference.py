"""reference.py — PyTorch 1.13's int8 arithmetic (engine qnnpack, x86) and
its fake quantization, re-implemented with NumPy the way a C kernel computes
it: integers, and numpy.float32 wherever the C code has a float (a double
only where PyTorch has one), round-half-even written out (np.rint), every
saturation where the SIMD code saturates. tests/quant/README.md gives each
formula with the PyTorch source lines it comes from; check_reference.py and
check_qat.py compare this file with torch bit for bit.

Layouts are PyTorch's: activations NCHW (uint8 arrays of the quantized
values), weights [out, in] / [out, in/groups, kh, kw] (int8).
"""
import numpy as np

F32 = np.float32
F64 = np.float64
EPS = F32(np.finfo(np.float32).eps)          # observers' default eps, 2**-23
INT32_MIN, INT32_MAX = -2**31, 2**31 - 1
INT64_MIN = -2**63


def f32(x):
    return np.asarray(x, dtype=F32)


def _to_int64(v):
    """C's static_cast<int64_t>(float) on x86 (cvttss2si): truncation, and
    INT64_MIN ("integer indefinite") for NaN, infinities and anything out of
    range — which is why torch quantizes +inf and 1e30 to quant_min."""
    v = np.asarray(v, dtype=F32)
    ok = np.isfinite(v) & (np.abs(v) < F32(2.0**63))
    return np.where(ok, np.trunc(np.where(ok, v, 0)).astype(np.int64), INT64_MIN)


def _cvtps_epi32(v):
    """_mm_cvtps_epi32: round half to even (MXCSR default), INT32_MIN for NaN
    and anything outside int32."""
    v = np.asarray(v, dtype=F32)
    r = np.rint(v)
    ok = np.isfinite(r) & (r >= F32(-2.0**31)) & (r < F32(2.0**31))
    return np.where(ok, np.where(ok, r, 0).astype(np.int64), INT32_MIN)


# ---- observers: scale and zero point (observer.py:296-365) ------------------

def affine_qparams(mn, mx, qmin=0, qmax=255):
    """MinMaxObserver / MovingAverageMinMaxObserver, per_tensor_affine:
    the range is widened to hold 0, scale = (max - min) / 255 in float32,
    at least eps; zero_point = qmin - round_half_even(min / scale), clamped.
    An observer that saw nothing (min = +inf, max = -inf) gives (1.0, 0)."""
    mn, mx = F32(mn), F32(mx)
    if mn == F32(np.inf) and mx == F32(-np.inf):
        return F32(1.0), 0
    mn, mx = min(mn, F32(0)), max(mx, F32(0))
    scale = max(F32(mx - mn) / F32(qmax - qmin), EPS)
    zp = qmin - int(np.rint(mn / scale))
    return F32(scale), int(min(max(zp, qmin), qmax))


def symmetric_qparams(mn, mx, qmin=-128, qmax=127):
    """PerChannelMinMaxObserver / MovingAveragePerChannelMinMaxObserver,
    per_channel_symmetric, qint8: scale = max(-min, max, 0) / 127.5 in float32
    (127.5 = (qmax - qmin) / 2), at least eps; zero point 0. Arrays in,
    arrays out (one entry per output channel)."""
    mn, mx = f32(mn), f32(mx)
    amax = np.maximum(-np.minimum(mn, F32(0)), np.maximum(mx, F32(0)))
    scale = np.maximum(amax / F32((qmax - qmin) / 2), EPS).astype(F32)
    return scale, np.zeros(scale.shape, np.int64)


def channel_minmax(w):
    """Per-output-channel (axis 0) min and max, as PerChannelMinMaxObserver."""
    flat = f32(w).reshape(w.shape[0], -1)
    return flat.min(axis=1), flat.max(axis=1)


def moving_average(old, cur, c=0.01):
    """MovingAverage*MinMaxObserver.forward: old + c * (cur - old), all float32
    (the Python float c becomes float32(c)); the first batch (old still
    +inf/-inf) takes cur as it is."""
    if old is None:
        return f32(cur)
    return (f32(old) + F32(c) * (f32(cur) - f32(old))).astype(F32)


# ---- quantize / dequantize (AffineQuantizerBase.cpp:127-143, 190-193) -------

def quantize(x, scale, zp, qmin=0, qmax=255):
    """quantize_val: q = int64(float(zp) + nearbyint(x * (1.0f / float(scale))))
    clamped to [qmin, qmax]. A multiply by the float32 reciprocal, not a
    division; zp + the rounded value is a float32 addition. scale may be an
    array broadcasting against x (per channel)."""
    inv = (F32(1) / f32(scale)).astype(F32)
    v = (f32(zp) + np.rint(f32(x) * inv)).astype(F32)
    return np.clip(_to_int64(v), qmin, qmax)


def dequantize(q, scale, zp):
    """dequantize_val: float(scale) * float(q - zp)."""
    return (F32(scale) * (np.asarray(q, np.int64) - zp).astype(F32)).astype(F32)


def quantize_weight(w, scales):
    """torch.quantize_per_channel of a weight, axis 0, qint8, zero point 0."""
    shape = (-1,) + (1,) * (w.ndim - 1)
    return quantize(w, f32(scales).reshape(shape), 0, -128, 127).astype(np.int8)


def bias_scale(w_scales, in_scale):
    """QuantizeBias (QuantUtils.h:216-217): the double tensor of weight scales
    times the double input scale, one double product; quantize_val then takes
    float(...) of it."""
    return (f32(w_scales).astype(F64) * F64(F32(in_scale))).astype(F32)


def quantize_bias(b, w_scales, in_scale):
    """The int32 bias qnnpack adds to the accumulator (QuantUtils.h:209-226)."""
    return quantize(b, bias_scale(w_scales, in_scale), 0, INT32_MIN, INT32_MAX)


def requant_scale(w_scales, in_scale, out_scale):
    """generate_requantization_scales (QnnpackUtils.h:435-457), float32:
    (w_scale * in_scale) * (1.0f / out_scale)."""
    return ((f32(w_scales) * F32(in_scale)) * (F32(1) / F32(out_scale))).astype(F32)


def requant_scale_f64(w_scales, in_scale, out_scale):
    """float(s_in * s_w / s_out) computed in double: NOT what qnnpack does
    (requant_scale is); kept to measure what the difference costs."""
    return (f32(w_scales).astype(F64) * F64(F32(in_scale)) / F64(F32(out_scale))).astype(F32)


# ---- the requantizer of every qnnpack SSE2 kernel -------------------------

def requantize(acc, scale, zp, lo=0, hi=255):
    """q8gemm/4x4c2-sse2.c:268-308 (and q8conv, q8dwconv, q8avgpool): the int32
    accumulator converted to float32 (_mm_cvtepi32_ps: rounds above 2**24),
    times the float32 scale, rounded half to even (_mm_cvtps_epi32), then
    _mm_packs_epi32 (int16 saturation), _mm_adds_epi16 of the zero point,
    _mm_packus_epi16 (to [0, 255]) and the [lo, hi] clamp (lo = zero point for
    a fused ReLU)."""
    acc = np.asarray(acc, np.int64)
    assert acc.min(initial=0) >= INT32_MIN and acc.max(initial=0) <= INT32_MAX
    r = _cvtps_epi32(acc.astype(F32) * f32(scale))
    r = np.clip(np.clip(r, -32768, 32767) + zp, -32768, 32767)
    return np.clip(np.clip(r, 0, 255), lo, hi).astype(np.uint8)


def relu_bounds(zp, relu):
    """activationLimits (QnnpackUtils.h:399-417): ReLU clamps below at the
    output zero point (QuantizeValue(scale, zp, 0.0) == zp)."""
    return (zp if relu else 0), 255


# ---- ops ---------------------------------------------------------------------

def linear(x, zx, w, bias_q, scales, zo, relu=False, requant=requantize):
    """quantized::linear[_relu] (qlinear.cpp:431-559, qnnpackLinear):
    acc = bias_q + sum (x - zx) * w over the input features, requantized per
    output channel. x [N, K] uint8, w [M, K] int8."""
    acc = (np.asarray(x, np.int64) - zx) @ np.asarray(w, np.int64).T + bias_q
    return requant(acc, scales, zo, *relu_bounds(zo, relu))


def _windows(x, kh, kw, stride, pad, dilation, fill):
    """[N, C, OH, OW, kh*kw] windows of NCHW x padded with `fill`."""
    n, c, h, w = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill, x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = [xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]
    return np.stack(cols, axis=-1)


def conv2d(x, zx, w, bias_q, scales, zo, stride=(1, 1), pad=(0, 0), dilation=(1, 1),
           groups=1, relu=False, requant=requantize):
    """quantized::conv2d[_relu] (qconv.cpp:842-1040, qnnpackConv): padding
    reads the input zero point (the zero buffer, qconv.cpp:944-950) so it adds
    0 to acc = bias_q + sum (x - zx) * w; every kernel (gemm, conv, dwconv)
    then requantizes as requantize()."""
    cout, cin_g, kh, kw = w.shape
    win = _windows(np.asarray(x, np.int64) - zx, kh, kw, stride, pad, dilation, 0)
    n, c, oh, ow, k = win.shape
    cout_g = cout // groups
    acc = np.empty((n, cout, oh, ow), np.int64)
    wi = np.asarray(w, np.int64).reshape(cout, cin_g, kh * kw)
    for g in range(groups):
        xs = win[:, g * cin_g:(g + 1) * cin_g]                       # n, cin_g, oh, ow, k
        ws = wi[g * cout_g:(g + 1) * cout_g]                         # cout_g, cin_g, k
        acc[:, g * cout_g:(g + 1) * cout_g] = np.einsum("nchwk,ock->nohw", xs, ws)
    acc += np.asarray(bias_q, np.int64).reshape(1, -1, 1, 1)
    return requant(acc, f32(scales).reshape(1, -1, 1, 1), zo, *relu_bounds(zo, relu))


def relu(x, zp):
    """quantized relu (qrelu.cpp:90-99 -> qnnpack clamp): max(x, zero point);
    the output keeps the input's scale and zero point."""
    return np.maximum(x, np.uint8(zp)).astype(np.uint8)


def max_pool2d(x, kernel, stride, pad=(0, 0), dilation=(1, 1)):
    """qnnpack_maxpool2d (Pooling.cpp:383): the max over the window, where a
    padded position reads the nearest input row/column
    (indirection.c:433-450: min(doz(o*s + k*d, p), size - 1)), which equals
    PyTorch's max over the valid positions unless dilation skips them."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, pad, dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c, oh, ow), np.uint8)
    for i in range(kh):
        ys = np.clip(np.arange(oh) * sh + i * dh - ph, 0, h - 1)
        for j in range(kw):
            xs = np.clip(np.arange(ow) * sw + j * dw - pw, 0, w - 1)
            out = np.maximum(out, x[:, :, ys][:, :, :, xs])
    return out


def avgpool_scale(scale, pool_size):
    """average-pooling.c:185-191: input_scale / (output_scale * (float)K) in
    float32, both scales being float(q_scale) of the input."""
    s = F32(scale)
    return F32(s / (s * F32(pool_size)))


def avg_pool2d(x, zp, scale, kernel, stride, pad=(0, 0), requant=requantize):
    """qnnpack_avg_pool2d (AveragePool2d.cpp:253-349): padding reads the zero
    point, the sum runs over the whole kernel (count_include_pad=True whatever
    was asked; divisor_override is ignored), bias -zp*K, then requantize() with
    avgpool_scale(); output scale and zero point are the input's."""
    kh, kw = kernel
    win = _windows(np.asarray(x, np.int64) - zp, kh, kw, stride, pad, (1, 1), 0)
    return requant(win.sum(axis=-1), avgpool_scale(scale, kh * kw), zp)


def global_avg_pool(x, zp, scale, requant=requantize):
    """AdaptiveAvgPool2d(1) (AdaptiveAveragePooling.cpp:254-313): qnnpack
    average pooling with kernel = stride = H x W, when H*W > 1."""
    h, w = x.shape[2:]
    return avg_pool2d(x, zp, scale, (h, w), (h, w), requant=requant)


def add_params(a_scale, b_scale, y_scale):
    """pytorch_qnnp_compute_add_quantization_params (requantization.h:293-361)
    for add.c:110-118's float32 ratios a_scale / y_scale, b_scale / y_scale:
    shift = 21 - exponent(max ratio); each multiplier = lrintf(ratio * 2**shift)
    (< 2**22). Ratios outside [2**-14, 2**8) make qnnpack refuse the op."""
    ra = F32(F32(a_scale) / F32(y_scale))
    rb = F32(F32(b_scale) / F32(y_scale))
    big = max(ra, rb)
    exponent = int((big.view(np.uint32) >> 23) & 0xFF) - 127
    shift = 21 - exponent
    assert 13 <= shift < 32, "qnnpack add: scale ratio outside [2**-14, 2**8)"
    mult = lambda r: int(np.rint(F32(r * F32(2.0**shift))))
    return mult(ra), mult(rb), shift


def add(a, za, sa, b, zb, sb, sy, zy, relu=False):
    """quantized::add (BinaryOps.cpp:124-218 -> q8vadd/sse2.c), fixed point:
    acc = -(ma*za + mb*zb) + a*ma + b*mb (int32), shifted right by `shift`
    rounding half away from zero (the remainder test of sse2.c:80-91), then
    the zero point with int16 saturation, [0, 255] and the ReLU clamp."""
    ma, mb, shift = add_params(sa, sb, sy)
    acc = np.asarray(a, np.int64) * ma + np.asarray(b, np.int64) * mb - (ma * za + mb * zb)
    mask = (1 << shift) - 1
    rem = (acc & mask) - (acc < 0).astype(np.int64)
    q = (acc >> shift) + (rem > (mask >> 1)).astype(np.int64)
    y = np.clip(np.clip(q, -32768, 32767) + zy, -32768, 32767)
    lo, hi = relu_bounds(zy, relu)
    return np.clip(np.clip(y, 0, 255), lo, hi).astype(np.uint8)


# ---- batchnorm folding (torch/nn/utils/fusion.py) ---------------------------

def fold_bn(w, b, mean, var, eps, gamma, beta):
    """fuse_conv_bn_weights, float32 throughout: rs = 1 / sqrt(var + eps)
    (torch.rsqrt), w * (gamma * rs) per output channel,
    ((b - mean) * rs) * gamma + beta; a missing conv bias is zeros."""
    rs = (F32(1) / np.sqrt(f32(var) + F32(eps))).astype(F32)
    shape = (-1,) + (1,) * (np.ndim(w) - 1)
    b = np.zeros_like(f32(mean)) if b is None else f32(b)
    w2 = (f32(w) * (f32(gamma) * rs).reshape(shape)).astype(F32)
    b2 = (((b - f32(mean)) * rs) * f32(gamma) + f32(beta)).astype(F32)
    return w2, b2


# ---- CMSIS-NN's fixed-point requantizer (for comparison) --------------------

def quantize_multiplier(m):
    """TFLite/CMSIS-NN QuantizeMultiplier of the double value of m:
    m = q * 2**shift with q in [0.5, 1), multiplier = round_half_away(q * 2**31)
    (2**31 -> 2**30 with shift + 1; shift < -31 -> 0, 0). Arrays in and out."""
    q, shift = np.frexp(np.asarray(m, F64))
    mult = np.floor(np.abs(q) * 2.0**31 + 0.5) * np.sign(q)
    top = mult == 2.0**31
    mult, shift = np.where(top, mult / 2, mult), np.where(top, shift + 1, shift)
    tiny = shift < -31                                  # flushed to zero
    return np.where(tiny, 0, mult).astype(np.int64), np.where(tiny, 0, shift).astype(np.int64)


def cmsis_requantize_int(acc, mult, shift, single=False):
    """arm_nn_requantize (arm_nnsupportfunctions.h). By default two roundings:
    arm_nn_doubling_high_mult_no_sat(acc << max(shift, 0), mult) (+2**30,
    >> 31) then arm_nn_divide_by_power_of_two(., max(-shift, 0)), rounding
    half away from zero. single (CMSIS_NN_USE_SINGLE_ROUNDING): one rounding,
    half up: ((acc * mult) >> (30 - shift)) + 1) >> 1."""
    acc = np.asarray(acc, np.int64)
    if single:
        r = ((acc * mult) >> (30 - shift)).astype(np.int32).astype(np.int64)
        return (r + 1) >> 1
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    v = (acc << left).astype(np.int32).astype(np.int64)       # C: int32 overflow wraps
    high = ((v * mult + (1 << 30)) >> 31).astype(np.int32).astype(np.int64)
    mask = (np.int64(1) << right) - 1
    res = high >> right
    threshold = (mask >> 1) + (res < 0).astype(np.int64)
    return res + ((high & mask) > threshold).astype(np.int64)


def cmsis_requantize(acc, scale, zp, lo=0, hi=255, single=False):
    """A drop-in for requantize() with CMSIS-NN's arithmetic: the float32 scale
    as (multiplier, shift), then zero point and clamp (arm_nn_mat_mult_s8)."""
    mult, shift = quantize_multiplier(f32(scale))
    r = cmsis_requantize_int(acc, mult, shift, single) + zp
    return np.clip(np.clip(r, 0, 255), lo, hi).astype(np.uint8)


def cmsis_requantize_single(acc, scale, zp, lo=0, hi=255):
    """cmsis_requantize with CMSIS_NN_USE_SINGLE_ROUNDING."""
    return cmsis_requantize(acc, scale, zp, lo, hi, single=True)


# ---- fake quantization (QAT) -------------------------------------------------

def fake_quantize(x, scale, zp, qmin, qmax, axis=None):
    """torch.fake_quantize_per_tensor_affine / _per_channel_affine (int zero
    point), QuantizedOpKernels.cpp:2412-2449 and 2559-2582:
    inv = 1.0f / scale; q = int64(zp + nearbyint(x * inv)) (float32 sum);
    y = float((clamp(q, qmin, qmax) - zp) * (double)scale) (exact in double,
    so one float rounding); mask = qmin <= q <= qmax, the straight-through
    estimator's gradient mask. axis: the channel axis for per-channel
    scale/zp arrays. -> (y, mask)."""
    x = f32(x)
    scale, zp = f32(scale), np.asarray(zp, np.int64)
    if axis is not None:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    inv = (F32(1) / scale).astype(F32)
    q = _to_int64((zp.astype(F32) + np.rint(x * inv)).astype(F32))
    y = ((np.clip(q, qmin, qmax) - zp).astype(F64) * scale.astype(F64)).astype(F32)
    return y, (q >= qmin) & (q <= qmax)


def fake_quantize_backward(dy, mask):
    """fake_quantize_per_*_affine_cachemask_backward: dY * mask (float32; a
    masked negative gradient becomes -0.0). No gradient reaches scale or
    zero point (they are buffers)."""
    return (f32(dy) * mask.astype(F32)).astype(F32)
