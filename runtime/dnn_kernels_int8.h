/* dnn_kernels_int8.h — int8 inference kernels computing what PyTorch 1.13's
 * quantized models compute (engine qnnpack), bit for bit: the formulas of
 * tests/quant/README.md, which tests/quant/reference.py checks against torch.
 *
 * Tensors. An activation is uint8 with a per-tensor scale s and zero point
 * zp (its real value is s·(q − zp)), in logical NCHW order, one sample per
 * call. Weights are int8 per output channel with zero point 0, in PyTorch's
 * layout ([out][in] for dense, [f][c/groups][kh][kw] for conv2d). Every
 * function is static inline and takes its sizes as arguments (or in a
 * const struct), so a call with constants is specialised for its shapes.
 *
 * Dense and conv2d take a folded bias, bias_q − zp_in·Σw (dnn_q8_fold_bias):
 * then the inner product is Σ x·w over the raw uint8 x, which every SIMD
 * unit computes exactly (AVX-512 VNNI's u8×s8 dot product needs raw bytes),
 * and a padded position reads zp_in, so it adds zp_in·w, which the fold
 * takes back: PyTorch's "padding adds 0" to Σ (x − zp_in)·w. Integer sums
 * are exact, and wrap modulo 2^32 as qnnpack's do; a window (k of dense,
 * c/groups·kh·kw of conv2d) must stay below 65,793 so that Σ x·w fits int32.
 *
 * Paths. Plain C99 everywhere; beside it, chosen by the compiler's target
 * flags and never with -DDNN_PORTABLE: AVX-512 VNNI (-mavx512vnni
 * -mavx512bw: vpdpbusd), AVX2 (-mavx2: vpmaddwd on widened bytes; not
 * vpmaddubsw, whose int16 pair sums saturate) and the Arm DSP extension
 * (Cortex-M4/M7/M33/M55: __smlad from <arm_acle.h>). DNN_Q8_PATH names the
 * one compiled. Each path computes the same integers and the same float32
 * operations as the plain C, so all give the same bytes
 * (tests/quant/kernels_int8.c checks this on every kernel).
 *
 * Floats. IEEE float32, round to nearest even (every FPU and soft-float
 * library); no -ffast-math. The plain C rounds a float to an integer from
 * its bits (dnn_q8_rne), so the only float operation before a rounding is
 * the multiply itself and no contraction into a fused multiply-add (gcc's
 * default -ffp-contract=fast in its GNU modes, vfma on a Cortex-M4) can
 * change a result. Needs only <stdint.h> and <string.h> (and the SIMD
 * path's intrinsics header): freestanding.
 */
#ifndef DNN_KERNELS_INT8_H
#define DNN_KERNELS_INT8_H

#include <stdint.h>
#include <string.h>

/* DNN_Q8_FIXED_POINT (defined by the build, for cores without an FPU):
 * requantization in integers (dnn_q8_requantize_fixed), which is not
 * PyTorch's arithmetic; it keeps the plain C on x86 (its vector paths
 * requantize in float). */
#if !defined(DNN_PORTABLE) && !defined(DNN_Q8_FIXED_POINT) && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define DNN_Q8_VNNI 1
#define DNN_Q8_PATH "avx512vnni"
#include <immintrin.h>
#elif !defined(DNN_PORTABLE) && !defined(DNN_Q8_FIXED_POINT) && defined(__AVX2__)
#define DNN_Q8_AVX2 1
#define DNN_Q8_PATH "avx2"
#include <immintrin.h>
#elif !defined(DNN_PORTABLE) && defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#define DNN_Q8_DSP 1
#define DNN_Q8_PATH "arm-dsp"
#include <arm_acle.h>
#else
#define DNN_Q8_PATH "plain"
#endif
#if defined(DNN_Q8_VNNI) || defined(DNN_Q8_AVX2)
#define DNN_Q8_X86 1 /* vector requantization and quantization (AVX2) */
#endif

/* ---- Rounding ---------------------------------------------------------- */

static inline uint32_t dnn_q8__bits(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* 1 when |v| < 2^31 (not NaN, not infinite), the range in which
 * dnn_q8_rne is defined and cvtps2dq does not return "integer indefinite". */
static inline int dnn_q8__small(float v) { return ((dnn_q8__bits(v) >> 23) & 0xFF) < 158; }

/* v rounded to the nearest integer, ties to even, for |v| < 2^31: integer
 * arithmetic on the bits (no float addition a compiler could fuse); on an
 * Arm single-precision FPU one vcvtr, which rounds in the FPSCR's mode:
 * round to nearest even, the reset default, exact for every such v. */
static inline int32_t dnn_q8_rne(float v) {
#if !defined(DNN_PORTABLE) && defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 4) && defined(__GNUC__)
    float r;
    int32_t i;
    __asm__("vcvtr.s32.f32 %0, %1" : "=t"(r) : "t"(v));
    memcpy(&i, &r, sizeof i); /* r holds the int32's bits */
    return i;
#else
    const uint32_t u = dnn_q8__bits(v);
    const int e = (int)((u >> 23) & 0xFF);     /* v = m · 2^(e − 150) */
    const uint32_t m = (u & 0x7FFFFFu) | 0x800000u;
    uint32_t r;
    if (e >= 150)
        r = m << (e - 150);                    /* already an integer (e < 158) */
    else if (e < 126)
        r = 0;                                 /* |v| < 0.5 */
    else {
        const int shift = 150 - e;             /* 1..24 */
        const uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        r = m >> shift;
        r += rest > half || (rest == half && (r & 1));
    }
    return (u >> 31) ? -(int32_t)r : (int32_t)r;
#endif
}

/* ---- Parameters (for the compiler, or an init function) ----------------- */

/* An activation's scale and zero point from the calibration's min and max
 * (MinMaxObserver, quint8): the range widened to hold 0,
 * s = max(f((max − min)/255), 2^-23), zp = clamp(−rne(min/s), 0, 255);
 * an observer that saw nothing (min = +inf, max = −inf) gives (1, 0). */
static inline void dnn_q8_act_qparams(float min, float max, float *scale, int32_t *zp) {
    if (min > 0x1.fffffep127f && max < -0x1.fffffep127f) { /* +inf, -inf */
        *scale = 1.0f;
        *zp = 0;
        return;
    }
    min = min < 0.0f ? min : 0.0f;
    max = max > 0.0f ? max : 0.0f;
    float s = (max - min) / 255.0f;
    s = s > 0x1p-23f ? s : 0x1p-23f;
    const float q = min / s;                   /* in [-255, 0]: rne is defined */
    const int32_t z = -dnn_q8_rne(q);
    *scale = s;
    *zp = z < 0 ? 0 : z > 255 ? 255 : z;
}

/* A weight channel's scale from its largest magnitude (PerChannelMinMaxObserver,
 * symmetric qint8): max(f(amax / 127.5), 2^-23). */
static inline float dnn_q8_weight_scale(float amax) {
    const float s = amax / 127.5f;
    return s > 0x1p-23f ? s : 0x1p-23f;
}

/* PyTorch's quantize_val: clamp(int64(f(zp + rne(f(x · inv)))), qmin, qmax)
 * with inv = f(1/s): a multiply by the reciprocal, the zero point added in
 * float, and x86's float → int64 conversion, which turns NaN, ±inf and
 * |v| ≥ 2^63 into INT64_MIN, so they give qmin (+inf quantizes to 0).
 * zp is 0 or in [0, 255] (activations; weights and biases have 0). */
static inline int32_t dnn_q8_quantize_value(float x, float inv, int32_t zp, int32_t qmin, int32_t qmax) {
    const float v = x * inv;
    if (!dnn_q8__small(v)) /* |v| ≥ 2^31, inf or NaN: zp + v keeps v's side */
        return (v > 0.0f && v < 0x1p63f) ? qmax : qmin;
    const float t = (float)zp + (float)dnn_q8_rne(v); /* both exact; their float sum */
    return t <= (float)qmin ? qmin : t >= (float)qmax ? qmax : (int32_t)t;
}

/* A layer's int32 bias for an input of scale s_in (QuantizeBias):
 * quantize_value(b, f(1 / f(d(s_w)·d(s_in)))) over the int32 range. */
static inline int32_t dnn_q8_bias(float b, float s_w, float s_in) {
    const float sb = (float)((double)s_w * (double)s_in);
    return dnn_q8_quantize_value(b, 1.0f / sb, 0, INT32_MIN, INT32_MAX);
}

/* The requantization scale of a dense/conv output channel (qnnpack):
 * M = f(f(s_w · s_in) · f(1 / s_out)) — not f(s_in·s_w/s_out) in double. */
static inline float dnn_q8_requant_scale(float s_w, float s_in, float s_out) {
    const float sws = s_w * s_in, inv = 1.0f / s_out;
    return sws * inv;
}

/* The bias a dense/conv kernel takes: bias_q − zp_in·Σ_i w[i] over the
 * k weights of one output channel (its window), modulo 2^32. */
static inline int32_t dnn_q8_fold_bias(int32_t bias_q, const int8_t *w, int k, int32_t zp_in) {
    int32_t sum = 0;
    for (int i = 0; i < k; i++)
        sum += w[i];
    return (int32_t)((uint32_t)bias_q - (uint32_t)zp_in * (uint32_t)sum);
}

/* Average pooling's requantization scale for a window of k positions:
 * A = f(s / f(s · k)) (qnnpack; input and output share s). */
static inline float dnn_q8_avgpool_scale(float s, int k) {
    const float sk = s * (float)k;
    return s / sk;
}

/* The fixed-point parameters of an add y = a + b (qnnpack's q8vadd). */
typedef struct dnn_q8_add_params {
    int32_t ma, mb;  /* multipliers f(s_a/s_y)·2^shift, f(s_b/s_y)·2^shift rounded (< 2^22) */
    int32_t offset;  /* −(ma·zp_a + mb·zp_b) */
    int32_t shift;   /* 21 − the exponent of the larger ratio: 13..31 */
    int32_t zp, lo;  /* output zero point; lower clamp (zp with a fused relu, else 0) */
} dnn_q8_add_params;

/* Fills p for inputs (s_a, zp_a), (s_b, zp_b) and output (s_y, zp_y).
 * Returns 0, or -1 when a ratio s/s_y lies outside [2^-14, 2^8), which
 * qnnpack refuses, or both lie below 2^-10, where its shift would pass 31. */
static inline int dnn_q8_add_setup(dnn_q8_add_params *p, float s_a, int32_t zp_a, float s_b, int32_t zp_b,
                                   float s_y, int32_t zp_y, int relu) {
    const float ra = s_a / s_y, rb = s_b / s_y, big = ra > rb ? ra : rb;
    const float small = ra < rb ? ra : rb;
    if (!(small >= 0x1p-14f && big >= 0x1p-10f && big < 0x1p8f))
        return -1;
    p->shift = 21 - ((int)((dnn_q8__bits(big) >> 23) & 0xFF) - 127);
    const float scale = (float)(1u << (p->shift - 13)) * 8192.0f; /* 2^shift, exact */
    p->ma = dnn_q8_rne(ra * scale); /* exact products: powers of two */
    p->mb = dnn_q8_rne(rb * scale);
    p->offset = -(p->ma * zp_a + p->mb * zp_b);
    p->zp = zp_y;
    p->lo = relu ? zp_y : 0;
    return 0;
}

/* ---- Element-wise kernels ------------------------------------------------ */

/* clamp(r + zp, lo, 255) */
static inline uint8_t dnn_q8__clamp(int32_t r, int32_t zp, int32_t lo) {
    /* clamps an Arm core does in one ssat and one usat; [-512, 511] keeps
     * r + zp from overflowing and changes no result, nor does lo ≥ 0 last */
    r = (r < -512 ? -512 : r > 511 ? 511 : r) + zp;
    r = r < 0 ? 0 : r > 255 ? 255 : r;
    return (uint8_t)(r < lo ? lo : r);
}

/* One int32 accumulator to uint8: clamp(rne(f(float(acc) · m)) + zp, lo, 255),
 * where |f(acc·m)| ≥ 2^31 gives lo (qnnpack's cvtps2dq returns INT32_MIN,
 * which its saturating packs carry down to the lower clamp). lo is zp with
 * a fused relu, else 0. dnn_q8_requantize is this one unless the build
 * defines DNN_Q8_FIXED_POINT. */
static inline uint8_t dnn_q8_requantize_float(int32_t acc, float m, int32_t zp, int32_t lo) {
    const float v = (float)acc * m;
    if (!dnn_q8__small(v))
        return (uint8_t)lo;
    return dnn_q8__clamp(dnn_q8_rne(v), zp, lo);
}

/* The same without a float operation, for a core without an FPU, where each
 * of float(acc), the product and the rounding is a soft-float call: m (a
 * positive normal float) is its 24-bit significand times 2^(e − 150), so
 * acc·m is an int64 product and a shift, rounded half to even once. It is
 * the exact value's rounding where the float path rounds float(acc) (when
 * |acc| ≥ 2^24) and the product to 24 bits first, so the two can differ by
 * one step when acc·m lies within about 2^-16 of a half (bench/README.md
 * §int8 counts how often); |acc·m| ≥ 2^31 gives lo in both. */
static inline uint8_t dnn_q8_requantize_fixed(int32_t acc, float m, int32_t zp, int32_t lo) {
    const uint32_t u = dnn_q8__bits(m);
    const int shift = 150 - (int)((u >> 23) & 0xFF);
    const int64_t p = (int64_t)acc * (int64_t)((u & 0x7FFFFFu) | 0x800000u); /* |p| < 2^55 */
    if (shift <= 0) /* m ≥ 2^23: |acc·m| < 2^31 only for acc = 0 */
        return acc == 0 ? dnn_q8__clamp(0, zp, lo) : (uint8_t)lo;
    if (shift > 56)
        return dnn_q8__clamp(0, zp, lo); /* |acc·m| < 2^-1 */
    const uint64_t mag = p < 0 ? (uint64_t)-p : (uint64_t)p, half = (uint64_t)1 << (shift - 1);
    const uint64_t rest = mag & ((half << 1) - 1);
    uint64_t r = mag >> shift;
    r += rest > half || (rest == half && (r & 1));
    if (r >= (uint64_t)1 << 31)
        return (uint8_t)lo;
    return dnn_q8__clamp(p < 0 ? -(int32_t)r : (int32_t)r, zp, lo);
}

static inline uint8_t dnn_q8_requantize(int32_t acc, float m, int32_t zp, int32_t lo) {
#ifdef DNN_Q8_FIXED_POINT
    return dnn_q8_requantize_fixed(acc, m, zp, lo);
#else
    return dnn_q8_requantize_float(acc, m, zp, lo);
#endif
}

#ifdef DNN_Q8_X86
/* dnn_q8_requantize of 8 accumulators at once, qnnpack's instructions:
 * cvtdq2ps, mulps, cvtps2dq, packssdw, paddsw of zp, packuswb, max lo. */
static inline void dnn_q8__requantize8(uint8_t out[8], __m256i acc, __m256 m, int32_t zp, int32_t lo) {
    const __m256i r = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), m));
    __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    h = _mm_adds_epi16(h, _mm_set1_epi16((short)zp));
    h = _mm_max_epu8(_mm_packus_epi16(h, h), _mm_set1_epi8((char)lo));
    _mm_storel_epi64((__m128i *)out, h);
}
#endif

/* y[i] = quantize_value(x[i], f(1/s), zp, 0, 255) for i < n (QuantStub). */
static inline void dnn_q8_quantize(uint8_t *y, const float *x, int n, float s, int32_t zp) {
    const float inv = 1.0f / s;
    int i = 0;
#ifdef DNN_Q8_X86
    /* rne(clamp(v, ±1024)) + zp, clamped to [0, 255], equals the plain C:
     * maxps returns -1024 for NaN (qmin); +inf and v ≥ 2^63 are set to qmin. */
    const __m256 vinv = _mm256_set1_ps(inv), lo = _mm256_set1_ps(-1024.0f), hi = _mm256_set1_ps(1024.0f);
    const __m256 huge = _mm256_set1_ps(0x1p63f);
    const __m128i vzp = _mm_set1_epi16((short)zp);
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv);
        const __m256 c = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        const __m256 ok = _mm256_cmp_ps(v, huge, _CMP_LT_OQ);
        const __m256i r = _mm256_castps_si256(_mm256_and_ps(ok, _mm256_castsi256_ps(_mm256_cvtps_epi32(c))));
        const __m256i bad = _mm256_castps_si256(_mm256_andnot_ps(ok, _mm256_castsi256_ps(_mm256_set1_epi32(-1024))));
        const __m256i q = _mm256_or_si256(r, bad);
        __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        h = _mm_packus_epi16(_mm_adds_epi16(h, vzp), h);
        _mm_storel_epi64((__m128i *)(y + i), h);
    }
#endif
    for (; i < n; i++)
        y[i] = (uint8_t)dnn_q8_quantize_value(x[i], inv, zp, 0, 255);
}

/* y[i] = f(s · float(x[i] − zp)) for i < n (DeQuantStub). */
static inline void dnn_q8_dequantize(float *y, const uint8_t *x, int n, float s, int32_t zp) {
    for (int i = 0; i < n; i++)
        y[i] = s * (float)((int32_t)x[i] - zp);
}

/* ReLU on a quantized tensor: y[i] = max(x[i], zp), same scale and zero
 * point; y may be x. */
static inline void dnn_q8_relu(uint8_t *y, const uint8_t *x, int n, int32_t zp) {
    for (int i = 0; i < n; i++)
        y[i] = x[i] > zp ? x[i] : (uint8_t)zp;
}

/* y = a + b, element-wise, in qnnpack's fixed point (p from
 * dnn_q8_add_setup): acc = a·ma + b·mb + offset, divided by 2^shift rounding
 * half away from zero, plus zp, clamped to [lo, 255]. y may be a or b. */
static inline void dnn_q8_add(uint8_t *y, const uint8_t *a, const uint8_t *b, int n, const dnn_q8_add_params *p) {
    const uint32_t mask = (1u << p->shift) - 1, half = mask >> 1;
    for (int i = 0; i < n; i++) {
        const int32_t acc = a[i] * p->ma + b[i] * p->mb + p->offset; /* |acc| < 2^31 */
        const uint32_t u = (uint32_t)acc;
        /* acc >> shift, arithmetic: floor division, without relying on the
         * implementation-defined shift of a negative int */
        int32_t q = acc >= 0 ? (int32_t)(u >> p->shift) : -(int32_t)(~u >> p->shift) - 1;
        q += (int32_t)((u & mask) - (uint32_t)(acc < 0)) > (int32_t)half; /* remainder past the half */
        q = (q < -512 ? -512 : q > 512 ? 512 : q) + p->zp;
        y[i] = (uint8_t)(q < p->lo ? p->lo : q > 255 ? 255 : q);
    }
}

/* ---- Inner products ------------------------------------------------------ */

/* Σ x[i]·w[i], i < k. */
static inline int32_t dnn_q8_dot(const uint8_t *x, const int8_t *w, int k) {
    int32_t sum = 0;
    for (int i = 0; i < k; i++)
        sum += (int32_t)x[i] * w[i];
    return sum;
}

#if defined(DNN_Q8_AVX2)
/* acc[0..4) += the dot products of x with the 4 rows w, w+k, w+2k, w+3k:
 * 16 bytes widened to int16 per step, vpmaddwd into int32 lanes. */
static inline void dnn_q8__dot4(int32_t *acc, const uint8_t *x, const int8_t *w, int k) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 16 <= k; i += 16) {
        const __m256i xv = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(x + i)));
#define DNN_Q8__ROW(a, r) \
    a = _mm256_add_epi32(a, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + (r) * k + i)))))
        DNN_Q8__ROW(a0, 0);
        DNN_Q8__ROW(a1, 1);
        DNN_Q8__ROW(a2, 2);
        DNN_Q8__ROW(a3, 3);
#undef DNN_Q8__ROW
    }
    /* [a0 low half, a1, a2, a3 | their high halves], then both halves added */
    const __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    const __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    int32_t sums[4];
    _mm_storeu_si128((__m128i *)sums, t);
    for (int r = 0; r < 4; r++)
        acc[r] += sums[r] + dnn_q8_dot(x + i, w + r * k + i, k - i);
}
#elif defined(DNN_Q8_VNNI)
/* The same with vpdpbusd: 64 u8×s8 products per instruction, summed in
 * fours into int32 lanes; the last partial block by zero-masked loads. */
static inline void dnn_q8__dot4(int32_t *acc, const uint8_t *x, const int8_t *w, int k) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < k; i += 64) {
        const __mmask64 mk = k - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (k - i)) - 1;
        const __m512i xv = _mm512_maskz_loadu_epi8(mk, x + i);
        a0 = _mm512_dpbusd_epi32(a0, xv, _mm512_maskz_loadu_epi8(mk, w + i));
        a1 = _mm512_dpbusd_epi32(a1, xv, _mm512_maskz_loadu_epi8(mk, w + k + i));
        a2 = _mm512_dpbusd_epi32(a2, xv, _mm512_maskz_loadu_epi8(mk, w + 2 * k + i));
        a3 = _mm512_dpbusd_epi32(a3, xv, _mm512_maskz_loadu_epi8(mk, w + 3 * k + i));
    }
    acc[0] += _mm512_reduce_add_epi32(a0);
    acc[1] += _mm512_reduce_add_epi32(a1);
    acc[2] += _mm512_reduce_add_epi32(a2);
    acc[3] += _mm512_reduce_add_epi32(a3);
}
#elif defined(DNN_Q8_DSP)
static inline uint32_t dnn_q8__load4(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one ldr: the Cortex-M4 allows unaligned words */
    return v;
}

/* uxtb16 and sxtb16 of v rotated right by 8 (bytes 1 and 3): one
 * instruction, where gcc emits the rotation apart. */
static inline uint32_t dnn_q8__uxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
static inline uint32_t dnn_q8__sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* acc[0..3) = the dot products of x with the rows w0, w1, w2: 4 bytes a
 * step, 8 a turn, split into their even and odd bytes as 16-bit pairs
 * (uxtb16 for x, once for the 3 rows; sxtb16 for w), two smlad a row; the
 * last k % 4 bytes one at a time. Not inlined: inside its caller's loops,
 * gcc -Os spills the accumulators to the stack (and 4 rows would not fit
 * the registers either). */
static __attribute__((noinline, unused)) void dnn_q8__dot3(int32_t *acc, const uint8_t *x, const int8_t *w0,
                                                           const int8_t *w1, const int8_t *w2, int k) {
    int32_t s0 = 0, s1 = 0, s2 = 0;
    const int k8 = k & ~7;
    int i = 0;
#define DNN_Q8__ROW(s, wr)                                          \
    do {                                                            \
        const uint32_t wv = dnn_q8__load4(wr);                      \
        s = __smlad(xe, __sxtb16((int8x4_t)wv), s);                 \
        s = __smlad(xo, (int16x2_t)dnn_q8__sxtb16_ror8(wv), s);     \
    } while (0)
#define DNN_Q8__STEP(i)                                                                                  \
    do {                                                                                                 \
        const uint32_t xv = dnn_q8__load4(x + (i));                                                      \
        const int16x2_t xe = (int16x2_t)__uxtb16(xv), xo = (int16x2_t)dnn_q8__uxtb16_ror8(xv);           \
        DNN_Q8__ROW(s0, w0 + (i));                                                                       \
        DNN_Q8__ROW(s1, w1 + (i));                                                                       \
        DNN_Q8__ROW(s2, w2 + (i));                                                                       \
    } while (0)
    for (; i < k8; i += 8) { /* 8 bytes a turn: fewer loop instructions a product */
        DNN_Q8__STEP(i);
        DNN_Q8__STEP(i + 4);
    }
    if (k & 4) {
        DNN_Q8__STEP(i);
        i += 4;
    }
#undef DNN_Q8__STEP
#undef DNN_Q8__ROW
    for (; i < k; i++) {
        const int32_t xi = x[i];
        s0 += xi * w0[i];
        s1 += xi * w1[i];
        s2 += xi * w2[i];
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
}
#endif

/* acc[r] = Σ_i x[i]·w[r·k + i] for r < n, modulo 2^32; the DSP path may
 * write acc[n..n+2) too. */
static inline void dnn_q8__dots(int32_t *acc, const uint8_t *x, const int8_t *w, int n, int k) {
    int r = 0;
#if defined(DNN_Q8_AVX2) || defined(DNN_Q8_VNNI)
    for (int j = 0; j < n; j++)
        acc[j] = 0;
    for (; r + 4 <= n; r += 4)
        dnn_q8__dot4(acc + r, x, w + r * k, k);
#elif defined(DNN_Q8_DSP)
    /* rows in threes; past n, the last row again (its sums land beyond n) */
    for (; r < n; r += 3) {
        const int8_t *w0 = w + r * k, *last = w + (n - 1) * k;
        dnn_q8__dot3(acc + r, x, w0, r + 1 < n ? w0 + k : last, r + 2 < n ? w0 + 2 * k : last, k);
    }
#endif
    /* (size_t: with constant sizes, gcc -O2 -mavx2 cannot rule out an overflow of r·k after the loop above) */
    for (; r < n; r++)
        acc[r] = dnn_q8_dot(x, w + (size_t)r * (size_t)k, k);
}

#define DNN_Q8_BLOCK 32 /* output channels per block of accumulators */

/* y[r·ystride] = requantize(bias[r] + Σ_i x[i]·w[r·k + i], m[r], zp, lo)
 * for r < rows: the core of dense and conv2d. */
static inline void dnn_q8__rows(uint8_t *y, int ystride, const uint8_t *x, const int8_t *w, const int32_t *bias,
                                const float *m, int rows, int k, int32_t zp, int32_t lo) {
    int32_t acc[DNN_Q8_BLOCK + 2]; /* + 2: dnn_q8__dots' last three */
    for (int r0 = 0; r0 < rows; r0 += DNN_Q8_BLOCK) {
        const int n = rows - r0 < DNN_Q8_BLOCK ? rows - r0 : DNN_Q8_BLOCK;
        dnn_q8__dots(acc, x, w + r0 * k, n, k);
        int r = 0;
#ifdef DNN_Q8_X86
        /* (r up to n / 8 · 8, not r + 8 <= n: with constant sizes gcc -O2 then sees
         * that the scalar loop below starts at n and does not warn of acc's end) */
        for (; r < n / 8 * 8; r += 8) {
            uint8_t out[8];
            const __m256i sum = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(acc + r)),
                                                 _mm256_loadu_si256((const __m256i *)(bias + r0 + r)));
            dnn_q8__requantize8(out, sum, _mm256_loadu_ps(m + r0 + r), zp, lo);
            for (int j = 0; j < 8; j++)
                y[(r0 + r + j) * ystride] = out[j];
        }
#endif
        for (; r < n; r++)
            y[(r0 + r) * ystride] =
                dnn_q8_requantize((int32_t)((uint32_t)acc[r] + (uint32_t)bias[r0 + r]), m[r0 + r], zp, lo);
    }
}

/* ---- Layers -------------------------------------------------------------- */

/* Dense (quantized::linear[_relu]): y[o] = requantize(bias[o] +
 * Σ_i x[i]·w[o·in + i], m[o], zp_out, lo) for o < out, where bias is the
 * folded bias (dnn_q8_fold_bias), m the per-channel scales
 * (dnn_q8_requant_scale) and lo = zp_out with a fused relu (as torch's
 * LinearReLU), else 0. */
static inline void dnn_q8_dense(uint8_t *y, const uint8_t *x, const int8_t *w, const int32_t *bias, const float *m,
                                int in, int out, int32_t zp_out, int relu) {
    dnn_q8__rows(y, 1, x, w, bias, m, out, in, zp_out, relu ? zp_out : 0);
}

/* A conv2d's geometry: input [c, h, w], output [f, oh, ow], kernel kh×kw,
 * stride sh×sw, padding pt (top) and pl (left) (bottom and right follow
 * from oh and ow), groups dividing c and f. */
typedef struct dnn_q8_conv {
    int c, h, w;    /* input channels, height, width */
    int f, oh, ow;  /* output channels, height, width */
    int kh, kw;     /* kernel */
    int sh, sw;     /* stride */
    int pt, pl;     /* padding before the first row and column */
    int groups;     /* 1, or c for depthwise */
} dnn_q8_conv;

/* A pooling's geometry: input [c, h, w], output [c, oh, ow]. */
typedef struct dnn_q8_pool {
    int c, h, w;    /* channels, input height and width */
    int oh, ow;     /* output height and width */
    int kh, kw;     /* window */
    int sh, sw;     /* stride */
    int ph, pw;     /* padding before the first row and column */
} dnn_q8_pool;

/* Bytes of scratch dnn_q8_conv2d and dnn_q8_conv2d_maxpool need: one
 * window (c/groups·kh·kw) and two bytes per output channel. */
#define DNN_Q8_CONV_SCRATCH(c_per_group, kh, kw, f) ((c_per_group) * (kh) * (kw) + 2 * (f))

/* col = the window of group g at output position (oy, ox), channel by
 * channel, row by row; a position in the padding reads zp_in. */
static inline void dnn_q8__im2col(uint8_t *col, const uint8_t *x, const dnn_q8_conv *p, int g, int oy, int ox,
                                  int32_t zp_in) {
    /* the fields in locals: the stores to col may alias *p, so gcc would reload them */
    const int cg = p->c / p->groups, h = p->h, w = p->w, kh = p->kh, kw = p->kw, size = h * w;
    const int iy0 = oy * p->sh - p->pt, ix0 = ox * p->sw - p->pl;
    const uint8_t *plane = x + g * cg * size;
    if (iy0 >= 0 && iy0 + kh <= h && ix0 >= 0 && ix0 + kw <= w) { /* inside: no checks */
        for (int ci = 0; ci < cg; ci++, plane += size) {
            const uint8_t *row = plane + iy0 * w + ix0;
            for (int i = 0; i < kh; i++, row += w, col += kw)
                if (kw >= 4) { /* words (unaligned ldr/str on a Cortex-M4), the last one perhaps overlapping */
                    for (int j = 0; j < kw - 4; j += 4)
                        memcpy(col + j, row + j, 4);
                    memcpy(col + kw - 4, row + kw - 4, 4);
                } else
                    for (int j = 0; j < kw; j++)
                        col[j] = row[j];
        }
        return;
    }
    for (int ci = 0; ci < cg; ci++, plane += size)
        for (int iy = iy0; iy < iy0 + kh; iy++)
            for (int ix = ix0; ix < ix0 + kw; ix++)
                *col++ = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? plane[iy * w + ix] : (uint8_t)zp_in;
}

/* The f outputs of a conv2d at (oy, ox), requantized, at y[o·ystride]. */
static inline void dnn_q8__conv_at(uint8_t *y, int ystride, uint8_t *col, const uint8_t *x, const int8_t *w,
                                   const int32_t *bias, const float *m, const dnn_q8_conv *p, int oy, int ox,
                                   int32_t zp_in, int32_t zp_out, int32_t lo) {
    const int fg = p->f / p->groups, k = p->c / p->groups * p->kh * p->kw;
    for (int g = 0; g < p->groups; g++) {
        dnn_q8__im2col(col, x, p, g, oy, ox, zp_in);
        dnn_q8__rows(y + g * fg * ystride, ystride, col, w + g * fg * k, bias + g * fg, m + g * fg, fg, k, zp_out, lo);
    }
}

#ifdef DNN_Q8_X86
/* ---- Host convolutions: direct, 16 output positions a step ----------------
 * A stride-1 conv2d without groups, computed on a copy of its input padded
 * with zp_in (no bounds checks) over the padded width wp: output position
 * q = oy·wp + ox reads input q + ki·wp + kj, so the whole plane is one run
 * and a narrow plane (LeNet's 10×10) still fills the vectors; the columns
 * ox >= ow are computed and dropped. The copy holds each input byte with its
 * right neighbour as an int16 pair, so a pair of taps along a kernel row is
 * one load of 8 positions' pairs, multiplied by the broadcast weight pair
 * with vpmaddwd into int32 (a kernel row of odd width pairs its last tap
 * with a 0 weight). Integer sums are exact in any order, so the bytes equal
 * the plain path's. (The per-position path, dnn_q8__conv_at, took 80 µs for
 * LeNet-5's convs on the host; this one ~10 µs.) */
#define DNN_Q8__HOST_BYTES 98304 /* the paired input, weight pairs, offsets and outputs of a call */
typedef union dnn_q8__host_buf {
    __m256i align;
    uint8_t bytes[DNN_Q8__HOST_BYTES];
} dnn_q8__host_buf;

/* Two vectors of 8 int32 sums (positions 0-7 and 8-15) plus bias,
 * requantized as dnn_q8_requantize, stored as 16 bytes. Not inlined: gcc
 * would keep its constants in registers across the caller's tap loop and
 * spill an accumulator there. */
static __attribute__((noinline)) void dnn_q8__requantize16(uint8_t *out, __m256i lo, __m256i hi, int32_t bias, float m, int32_t zp,
                                        int32_t low) {
    const __m256i b = _mm256_set1_epi32(bias);
    const __m256 vm = _mm256_set1_ps(m);
    const __m256i rl = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(lo, b)), vm));
    const __m256i rh = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(hi, b)), vm));
    /* the packs work within 128-bit lanes: dwords 0 4 1 5 put the 16 bytes in order */
    const __m256i h = _mm256_adds_epi16(_mm256_packs_epi32(rl, rh), _mm256_set1_epi16((short)zp));
    const __m256i u = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(h, h), _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5));
    _mm_storeu_si128((__m128i *)out, _mm_max_epu8(_mm256_castsi256_si128(u), _mm_set1_epi8((char)low)));
}

/* The conv into out[o·opitch + oy·wp + ox] (*wp_out = wp, *opitch_out =
 * opitch) using buf, or 0 when the conv is not one this path takes (stride,
 * groups, too large for buf). */
static inline int dnn_q8__host_conv(dnn_q8__host_buf *buf, uint8_t **out, int *wp_out, int *opitch_out,
                                    const uint8_t *x, const int8_t *w, const int32_t *bias, const float *m,
                                    const dnn_q8_conv *p, int32_t zp_in, int32_t zp_out, int32_t lo) {
    const int c = p->c, f = p->f, kh = p->kh, kw = p->kw, kq = (kw + 1) / 2, taps = c * kh * kq;
    const int hp = p->oh + kh - 1, wp = p->ow + kw - 1, npos = p->oh * wp, opitch = (npos + 15) & ~15;
    /* positions read past a plane: up to opitch - npos + kw + 16 (the last vector, the last tap) */
    const long plane = (long)hp * wp, slack = opitch - npos + kw + 16;
    const long pair_words = (long)(f + 1) * taps, in_pairs = c * plane + slack;
    const long need = 4 * (pair_words + in_pairs) + (long)f * opitch + in_pairs + 1;
    if (p->sh != 1 || p->sw != 1 || p->groups != 1 || need > DNN_Q8__HOST_BYTES)
        return 0;
    int32_t *wpair = (int32_t *)(void *)buf->bytes, *offset = wpair + f * taps, *xpair = offset + taps;
    uint8_t *y = (uint8_t *)(xpair + in_pairs), *xb = y + (long)f * opitch;
    for (int o = 0; o < f; o++)
        for (int ci = 0; ci < c; ci++)
            for (int ki = 0; ki < kh; ki++) {
                const int8_t *row = w + ((o * c + ci) * kh + ki) * kw;
                int32_t *dst = wpair + ((o * c + ci) * kh + ki) * kq;
                for (int t = 0; t < kq; t++) {
                    const int16_t w0 = row[2 * t], w1 = 2 * t + 1 < kw ? row[2 * t + 1] : 0;
                    dst[t] = (int32_t)((uint32_t)(uint16_t)w0 | (uint32_t)(uint16_t)w1 << 16);
                }
            }
    /* tap pair t of a position reads the pairs at offset[t] from it */
    for (int ci = 0, t = 0; ci < c; ci++)
        for (int ki = 0; ki < kh; ki++)
            for (int j = 0; j < kq; j++)
                offset[t++] = (int32_t)(ci * plane + ki * wp + 2 * j);
    /* the padded input (zp_in outside the input), then as pairs (x[i], x[i + 1]) */
    const int pl = p->pl < wp ? p->pl : wp, cols = p->w < wp - pl ? p->w : wp - pl;
    memset(xb, (int)zp_in, (size_t)in_pairs + 1);
    for (int ci = 0; ci < c; ci++)
        for (int r = p->pt > 0 ? p->pt : 0; r < hp && r - p->pt < p->h; r++)
            memcpy(xb + ci * plane + (long)r * wp + pl, x + ((long)ci * p->h + r - p->pt) * p->w, (size_t)cols);
    for (long i = 0; i < in_pairs; i++)
        xpair[i] = (int32_t)((uint32_t)xb[i] | (uint32_t)xb[i + 1] << 16);
    for (int o0 = 0; o0 < f; o0 += 4) {
        /* four channels at a time; past f, the last channel again */
        const int o1 = o0 + 1 < f ? o0 + 1 : f - 1, o2 = o0 + 2 < f ? o0 + 2 : f - 1, o3 = o0 + 3 < f ? o0 + 3 : f - 1;
        const int32_t *w0 = wpair + o0 * taps, *w1 = wpair + o1 * taps, *w2 = wpair + o2 * taps,
                      *w3 = wpair + o3 * taps;
        for (int q0 = 0; q0 < npos; q0 += 16) {
            __m256i l0 = _mm256_setzero_si256(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
            const int32_t *at = xpair + q0;
            for (int t = 0; t < taps; t++) {
                const __m256i lo_pairs = _mm256_loadu_si256((const __m256i *)(at + offset[t]));
                const __m256i hi_pairs = _mm256_loadu_si256((const __m256i *)(at + offset[t] + 8));
#define DNN_Q8__TAP(l, h, wr)                                                   \
    do {                                                                        \
        const __m256i wv = _mm256_set1_epi32(wr[t]);                            \
        l = _mm256_add_epi32(l, _mm256_madd_epi16(lo_pairs, wv));               \
        h = _mm256_add_epi32(h, _mm256_madd_epi16(hi_pairs, wv));               \
    } while (0)
                DNN_Q8__TAP(l0, h0, w0);
                DNN_Q8__TAP(l1, h1, w1);
                DNN_Q8__TAP(l2, h2, w2);
                DNN_Q8__TAP(l3, h3, w3);
#undef DNN_Q8__TAP
            }
            dnn_q8__requantize16(y + o0 * opitch + q0, l0, h0, bias[o0], m[o0], zp_out, lo);
            dnn_q8__requantize16(y + o1 * opitch + q0, l1, h1, bias[o1], m[o1], zp_out, lo);
            dnn_q8__requantize16(y + o2 * opitch + q0, l2, h2, bias[o2], m[o2], zp_out, lo);
            dnn_q8__requantize16(y + o3 * opitch + q0, l3, h3, bias[o3], m[o3], zp_out, lo);
        }
    }
    *out = y;
    *wp_out = wp;
    *opitch_out = opitch;
    return 1;
}
#endif

/* Conv2d (quantized::conv2d[_relu]), NCHW: y [f, oh, ow] from x [c, h, w],
 * weights [f][c/groups][kh][kw], folded biases (dnn_q8_fold_bias over each
 * channel's c/groups·kh·kw weights), per-channel scales m; padding reads
 * zp_in; relu clamps at zp_out. scratch: DNN_Q8_CONV_SCRATCH bytes. */
static inline void dnn_q8_conv2d(uint8_t *y, const uint8_t *x, const int8_t *w, const int32_t *bias, const float *m,
                                 const dnn_q8_conv *p, int32_t zp_in, int32_t zp_out, int relu, uint8_t *scratch) {
    const dnn_q8_conv conv = *p; /* a local copy: the stores to y and scratch may alias *p */
    p = &conv;
    const int plane = p->oh * p->ow;
#ifdef DNN_Q8_X86
    dnn_q8__host_buf buf;
    uint8_t *out;
    int wp, opitch;
    if (dnn_q8__host_conv(&buf, &out, &wp, &opitch, x, w, bias, m, p, zp_in, zp_out, relu ? zp_out : 0)) {
        for (int o = 0; o < p->f; o++)
            for (int oy = 0; oy < p->oh; oy++)
                memcpy(y + o * plane + oy * p->ow, out + o * opitch + oy * wp, (size_t)p->ow);
        return;
    }
#endif
    for (int oy = 0; oy < p->oh; oy++)
        for (int ox = 0; ox < p->ow; ox++)
            dnn_q8__conv_at(y + oy * p->ow + ox, plane, scratch, x, w, bias, m, p, oy, ox, zp_in, zp_out,
                            relu ? zp_out : 0);
}

/* The index a max pooling reads for output o and window offset k: qnnpack
 * clamps a padded position to the nearest row or column. */
static inline int dnn_q8__pool_index(int o, int stride, int k, int pad, int size) {
    const int i = o * stride + k - pad;
    return i < 0 ? 0 : i >= size ? size - 1 : i;
}

/* Conv2d, its relu and a max pooling in one pass (LeNet's conv → relu →
 * pool), never holding the conv's output: y [f, pool.oh, pool.ow] is
 * maxpool(conv2d(x)) as the two kernels compute it; pool->c, h, w are the
 * conv's f, oh, ow. Overlapping windows compute a conv output once per
 * window. scratch: DNN_Q8_CONV_SCRATCH bytes. */
static inline void dnn_q8_conv2d_maxpool(uint8_t *y, const uint8_t *x, const int8_t *w, const int32_t *bias,
                                         const float *m, const dnn_q8_conv *p, const dnn_q8_pool *pool,
                                         int32_t zp_in, int32_t zp_out, int relu, uint8_t *scratch) {
    /* local copies: the stores to scratch may alias *p and *pool, so gcc would reload them */
    const dnn_q8_conv conv = *p;
    const dnn_q8_pool pl = *pool;
    p = &conv;
    pool = &pl;
    uint8_t *col = scratch, *best = scratch + p->c / p->groups * p->kh * p->kw, *cur = best + p->f;
    const int plane = pool->oh * pool->ow;
#ifdef DNN_Q8_X86
    dnn_q8__host_buf buf;
    uint8_t *out;
    int wp, opitch;
    if (dnn_q8__host_conv(&buf, &out, &wp, &opitch, x, w, bias, m, p, zp_in, zp_out, relu ? zp_out : 0)) {
        for (int o = 0; o < p->f; o++)
            for (int py = 0; py < pool->oh; py++)
                for (int px = 0; px < pool->ow; px++) {
                    uint8_t top = 0;
                    for (int i = 0; i < pool->kh; i++)
                        for (int j = 0; j < pool->kw; j++) {
                            const int oy = dnn_q8__pool_index(py, pool->sh, i, pool->ph, pool->h);
                            const int ox = dnn_q8__pool_index(px, pool->sw, j, pool->pw, pool->w);
                            const uint8_t v = out[o * opitch + oy * wp + ox];
                            top = v > top ? v : top;
                        }
                    y[o * plane + py * pool->ow + px] = top;
                }
        return;
    }
#endif
    for (int py = 0; py < pool->oh; py++)
        for (int px = 0; px < pool->ow; px++) {
            for (int o = 0; o < p->f; o++)
                best[o] = 0;
            for (int i = 0; i < pool->kh; i++)
                for (int j = 0; j < pool->kw; j++) {
                    const int oy = dnn_q8__pool_index(py, pool->sh, i, pool->ph, pool->h);
                    const int ox = dnn_q8__pool_index(px, pool->sw, j, pool->pw, pool->w);
                    dnn_q8__conv_at(cur, 1, col, x, w, bias, m, p, oy, ox, zp_in, zp_out, relu ? zp_out : 0);
                    for (int o = 0; o < p->f; o++)
                        best[o] = cur[o] > best[o] ? cur[o] : best[o];
                }
            for (int o = 0; o < p->f; o++)
                y[o * plane + py * pool->ow + px] = best[o];
        }
}

/* Max pooling (qnnpack): the max of each window, a padded position reading
 * the nearest row or column; same scale and zero point. */
static inline void dnn_q8_maxpool(uint8_t *y, const uint8_t *x, const dnn_q8_pool *p) {
    for (int c = 0; c < p->c; c++, x += p->h * p->w)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                uint8_t best = 0;
                for (int i = 0; i < p->kh; i++) {
                    const uint8_t *row = x + dnn_q8__pool_index(oy, p->sh, i, p->ph, p->h) * p->w;
                    for (int j = 0; j < p->kw; j++) {
                        const uint8_t v = row[dnn_q8__pool_index(ox, p->sw, j, p->pw, p->w)];
                        best = v > best ? v : best;
                    }
                }
                *y++ = best;
            }
}

/* Average pooling (qnnpack, also AdaptiveAvgPool2d(1) as kernel = stride =
 * [h, w]): acc = Σ (x − zp) over the window, a padded position adding 0,
 * the divisor always kh·kw (count_include_pad and divisor_override are
 * ignored), then requantize(acc, dnn_q8_avgpool_scale(s, kh·kw), zp, 0);
 * same scale and zero point. A 1×1 window is refused by qnnpack. */
static inline void dnn_q8_avgpool(uint8_t *y, const uint8_t *x, const dnn_q8_pool *p, float s, int32_t zp) {
    const float a = dnn_q8_avgpool_scale(s, p->kh * p->kw);
    for (int c = 0; c < p->c; c++, x += p->h * p->w)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int32_t acc = 0;
                for (int i = 0; i < p->kh; i++) {
                    const int iy = oy * p->sh + i - p->ph;
                    for (int j = 0; j < p->kw; j++) {
                        const int ix = ox * p->sw + j - p->pw;
                        if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w)
                            acc += (int32_t)x[iy * p->w + ix] - zp;
                    }
                }
                *y++ = dnn_q8_requantize(acc, a, zp, 0);
            }
}

#endif
