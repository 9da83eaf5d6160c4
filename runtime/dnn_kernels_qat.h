/* dnn_kernels_qat.h — fake quantization for quantization-aware training
 * (`quantize int8;` in the train block): PyTorch 1.13's FakeQuantize with
 * MovingAverageMinMaxObserver (activations, per tensor, affine quint8) and
 * MovingAveragePerChannelMinMaxObserver (weights, per output channel,
 * symmetric qint8), forward and straight-through backward, value for value
 * (tests/quant/reference.py's fake_quantize and moving_average, which
 * tests/quant/check_qat.py checks against torch).
 *
 * An observer's state is its running min and max, buffers of the model:
 * +inf and −inf until the first batch, which it takes as it is; then each
 * batch moves them by 0.01 of the way to the batch's own (float32). The
 * scale and zero point derive from them with dnn_kernels_int8.h's helpers,
 * the ones the int8 build uses. Freestanding, like dnn_kernels_int8.h.
 */
#ifndef DNN_KERNELS_QAT_H
#define DNN_KERNELS_QAT_H

#include "dnn_kernels_int8.h"

/* MovingAverage*MinMaxObserver: *lo, *hi from the batch's min and max of
 * x[0..n). A fresh observer (+inf, −inf) takes them as they are. */
static inline void dnn_fq_observe(float *lo, float *hi, const float *x, long n) {
    if (n <= 0)
        return;
    float mn = x[0], mx = x[0];
    for (long i = 1; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    if (*lo > 0x1.fffffep127f && *hi < -0x1.fffffep127f) {
        *lo = mn;
        *hi = mx;
        return;
    }
    const float c = 0.01f;
    *lo = *lo + c * (mn - *lo);
    *hi = *hi + c * (mx - *hi);
}

/* The per-channel observer: channel f of w is w[f·k .. f·k + k), each
 * channel's min and max moved as dnn_fq_observe moves them (PyTorch's
 * observer is fresh while its min_val is empty: before the first batch,
 * when every channel here is still +inf, −inf). */
static inline void dnn_fq_observe_channels(float *lo, float *hi, const float *w, int channels, long k) {
    for (int f = 0; f < channels; f++)
        dnn_fq_observe(lo + f, hi + f, w + f * k, k);
}

/* A weight channel's scale from its observer (per_channel_symmetric):
 * max(−min(lo, 0), max(hi, 0)) / 127.5, at least 2^-23. */
static inline float dnn_fq_weight_scale(float lo, float hi) {
    const float neg = lo < 0.0f ? -lo : 0.0f, pos = hi > 0.0f ? hi : 0.0f;
    return dnn_q8_weight_scale(neg > pos ? neg : pos);
}

/* q = int64(f(zp + rne(f(x · inv)))) as fake_quantize_per_*_affine computes
 * it, clamped to [qmin, qmax]; *inside: qmin ≤ q ≤ qmax before the clamp
 * (the straight-through estimator's mask). NaN, ±inf and |x·inv| ≥ 2^63
 * give int64's "indefinite" (INT64_MIN): qmin, outside. */
static inline int32_t dnn_fq_level(float x, float inv, int32_t zp, int32_t qmin, int32_t qmax, int *inside) {
    const float v = x * inv;
    if (!dnn_q8__small(v)) {
        *inside = 0;
        return (v > 0.0f && v < 0x1p63f) ? qmax : qmin;
    }
    const float t = (float)zp + (float)dnn_q8_rne(v);
    *inside = t >= (float)qmin && t <= (float)qmax;
    return t <= (float)qmin ? qmin : t >= (float)qmax ? qmax : (int32_t)t;
}

/* y = f(d(clamp(q) − zp) · d(s)) over x[0..n) (y may be x). */
static inline void dnn_fq_forward(float *y, const float *x, long n, float s, int32_t zp, int32_t qmin, int32_t qmax) {
    const float inv = 1.0f / s;
    int inside;
    for (long i = 0; i < n; i++)
        y[i] = (float)((double)(dnn_fq_level(x[i], inv, zp, qmin, qmax, &inside) - zp) * (double)s);
}

/* The straight-through estimator: dx = dy where x quantizes inside
 * [qmin, qmax], else 0 (dy · 0, so a negative dy gives −0.0 as PyTorch). */
static inline void dnn_fq_backward(float *dx, const float *dy, const float *x, long n, float s, int32_t zp,
                                   int32_t qmin, int32_t qmax) {
    const float inv = 1.0f / s;
    int inside;
    for (long i = 0; i < n; i++) {
        dnn_fq_level(x[i], inv, zp, qmin, qmax, &inside);
        dx[i] = dy[i] * (inside ? 1.0f : 0.0f);
    }
}

/* An activation (quint8 [0, 255]) fake-quantized with its observer's
 * scale and zero point, and the gradient through it. */
static inline void dnn_fq_act_forward(float *y, const float *x, long n, float lo, float hi) {
    float s;
    int32_t zp;
    dnn_q8_act_qparams(lo, hi, &s, &zp);
    dnn_fq_forward(y, x, n, s, zp, 0, 255);
}

static inline void dnn_fq_act_backward(float *dx, const float *dy, const float *x, long n, float lo, float hi) {
    float s;
    int32_t zp;
    dnn_q8_act_qparams(lo, hi, &s, &zp);
    dnn_fq_backward(dx, dy, x, n, s, zp, 0, 255);
}

/* A weight (qint8 [-128, 127], zero point 0) fake-quantized per output
 * channel (k values each), and the gradient through it. */
static inline void dnn_fq_weight_forward(float *y, const float *w, int channels, long k, const float *lo,
                                         const float *hi) {
    for (int f = 0; f < channels; f++)
        dnn_fq_forward(y + f * k, w + f * k, k, dnn_fq_weight_scale(lo[f], hi[f]), 0, -128, 127);
}

static inline void dnn_fq_weight_backward(float *dw, const float *dy, const float *w, int channels, long k,
                                          const float *lo, const float *hi) {
    for (int f = 0; f < channels; f++)
        dnn_fq_backward(dw + f * k, dy + f * k, w + f * k, k, dnn_fq_weight_scale(lo[f], hi[f]), 0, -128, 127);
}

#endif
