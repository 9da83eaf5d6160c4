/* dnn_vec.h — the vectors of the speed kernels (dnn_kernels.h includes it).
 * Kept out of dnn.h so that a program that only calls a model (a harness,
 * a user's main) does not parse the compiler's <immintrin.h>, which costs
 * about half a second per compile with -mavx2. */
#ifndef DNN_VEC_H
#define DNN_VEC_H

/* ---- Vectors for generated kernels -----------------------------------------
 * With --optimize=speed the generated dense kernels keep 8 partial sums per
 * dot product, added in a fixed order, or accumulate 8 outputs at once, and
 * the conv2d kernels keep 8 channels' separate sums, so a compiler can
 * vectorise them without -ffast-math. On a GNU C compiler with AVX (e.g.
 * -march=native) they use these 8-float vectors; elsewhere, or with
 * -DDNN_PORTABLE, plain C99 arrays computing the same sums in the same
 * order. With FMA (-mfma, -march=native) each multiply-add of the vector
 * path is rounded once (vfmadd: ISO C modes such as -std=c99 never fuse
 * a * b + c by themselves), so the two paths agree to rounding, not bit for
 * bit; each is deterministic. */
#if defined(__GNUC__) && defined(__AVX__) && !defined(DNN_PORTABLE)
#include <immintrin.h>
#include <string.h>
#define DNN_V8 1
typedef float dnn_v8 __attribute__((vector_size(32)));
typedef int dnn_v8i __attribute__((vector_size(32))); /* comparisons' lane masks: -1 or 0 */
static inline dnn_v8 dnn_v8_load(const float *p) {
    dnn_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void dnn_v8_store(float *p, dnn_v8 v) { memcpy(p, &v, sizeof v); }
static inline dnn_v8 dnn_v8_splat(float x) { return (dnn_v8){x, x, x, x, x, x, x, x}; }
/* Per lane: a where the mask m is set, else b. */
static inline dnn_v8 dnn_v8_select(dnn_v8i m, dnn_v8 a, dnn_v8 b) { return (dnn_v8)((m & (dnn_v8i)a) | (~m & (dnn_v8i)b)); }
/* Lane 2k's value in lanes 2k and 2k+1 (evens), or lane 2k+1's (odds): bit moves only */
static inline dnn_v8i dnn_v8i_evens(dnn_v8i m) { return (dnn_v8i)_mm256_moveldup_ps((__m256)m); }
static inline dnn_v8i dnn_v8i_odds(dnn_v8i m) { return (dnn_v8i)_mm256_movehdup_ps((__m256)m); }
/* Per lane: a if a > b, else b (so b when either is NaN: vmaxps) */
static inline dnn_v8 dnn_v8_max(dnn_v8 a, dnn_v8 b) { return (dnn_v8)_mm256_max_ps((__m256)a, (__m256)b); }
/* The even lanes of a, then those of b: a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6] */
static inline dnn_v8 dnn_v8_evens2(dnn_v8 a, dnn_v8 b) {
#ifdef __AVX2__
    const __m256 t = _mm256_shuffle_ps((__m256)a, (__m256)b, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return (dnn_v8)_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
#else
    return (dnn_v8){a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6]};
#endif
}
/* The odd lanes of a, then those of b: a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7] */
static inline dnn_v8 dnn_v8_odds2(dnn_v8 a, dnn_v8 b) {
#ifdef __AVX2__
    const __m256 t = _mm256_shuffle_ps((__m256)a, (__m256)b, 0xDD); /* a1 a3 b1 b3 | a5 a7 b5 b7 */
    return (dnn_v8)_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
#else
    return (dnn_v8){a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7]};
#endif
}
static inline dnn_v8 dnn_v8_sqrt(dnn_v8 v) { return (dnn_v8)_mm256_sqrt_ps((__m256)v); } /* correctly rounded, as sqrtf */
static inline float dnn_v8_sum(dnn_v8 q) { return ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7])); }
/* a * b + c */
static inline dnn_v8 dnn_v8_fma(dnn_v8 a, dnn_v8 b, dnn_v8 c) {
#ifdef __FMA__
    return (dnn_v8)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return a * b + c;
#endif
}
/* The dnn_v8_sum of each of a..h, in one vector: the same additions, done
 * eight at a time (horizontal adds, then the two halves). */
static inline dnn_v8 dnn_v8_sum8(dnn_v8 a, dnn_v8 b, dnn_v8 c, dnn_v8 d, dnn_v8 e, dnn_v8 f, dnn_v8 g, dnn_v8 h) {
    const __m256 ab = _mm256_hadd_ps((__m256)a, (__m256)b), cd = _mm256_hadd_ps((__m256)c, (__m256)d);
    const __m256 ef = _mm256_hadd_ps((__m256)e, (__m256)f), gh = _mm256_hadd_ps((__m256)g, (__m256)h);
    const __m256 lo = _mm256_hadd_ps(ab, cd), hi = _mm256_hadd_ps(ef, gh);
    return (dnn_v8)_mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20), _mm256_permute2f128_ps(lo, hi, 0x31));
}
/* The 8 × 8 block r[0..8) transposed in place (r[i][k] becomes r[k][i]): bit moves only */
static inline void dnn_v8_transpose8(dnn_v8 r[8]) {
    __m256 t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps((__m256)r[k], (__m256)r[k + 1]);     /* r0[0] r1[0] r0[1] r1[1] | r0[4] .. */
        t[k + 1] = _mm256_unpackhi_ps((__m256)r[k], (__m256)r[k + 1]); /* r0[2] r1[2] r0[3] r1[3] | r0[6] .. */
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);     /* column 0 | 4 of rows k .. k + 3 */
        u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE); /* column 1 | 5 */
        u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = (dnn_v8)_mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        r[k + 4] = (dnn_v8)_mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}
#ifdef __AVX512F__
/* Two dnn_v8 side by side in one 16-float vector (lanes 0-7 and 8-15):
 * the dense kernel keeps two samples' accumulators in one, so AVX-512's
 * 32 registers hold a 4 × 8 block, while every lane adds the same products
 * in the same order as the dnn_v8 code. */
#define DNN_V8X2 1
typedef float dnn_v8x2 __attribute__((vector_size(64)));
static inline dnn_v8x2 dnn_v8x2_pair(const float *lo, const float *hi) { /* lo[0..8) then hi[0..8) */
    const __m512d low = _mm512_castpd256_pd512(_mm256_castps_pd((__m256)dnn_v8_load(lo)));
    return (dnn_v8x2)_mm512_insertf64x4(low, _mm256_castps_pd((__m256)dnn_v8_load(hi)), 1);
}
static inline dnn_v8x2 dnn_v8x2_twice(const float *p) {
    return (dnn_v8x2)_mm512_broadcast_f64x4(_mm256_castps_pd((__m256)dnn_v8_load(p)));
}
static inline dnn_v8x2 dnn_v8x2_fma(dnn_v8x2 a, dnn_v8x2 b, dnn_v8x2 c) {
    return (dnn_v8x2)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
}
/* 16 consecutive floats, and one float in all 16 lanes: the kernels whose
 * lanes are separate outputs (dnn_outer) use the whole vector as 16 */
static inline dnn_v8x2 dnn_v8x2_load(const float *p) {
    dnn_v8x2 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void dnn_v8x2_store(float *p, dnn_v8x2 v) { memcpy(p, &v, sizeof v); }
static inline dnn_v8x2 dnn_v8x2_splat(float x) { return (dnn_v8x2)_mm512_set1_ps(x); }
static inline dnn_v8 dnn_v8x2_lo(dnn_v8x2 v) { return (dnn_v8)_mm512_castps512_ps256((__m512)v); }
static inline dnn_v8 dnn_v8x2_hi(dnn_v8x2 v) { return (dnn_v8)_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)v), 1)); }
#endif
#endif

#endif
