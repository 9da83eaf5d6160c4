/* dnn.h — the freestanding core of the dnnc runtime.
 *
 * Generated models and user programs include this header. Everything here
 * needs only <stdint.h>, <stddef.h>, <string.h> and <math.h>: no malloc, no
 * stdio, no errno, so it builds for a microcontroller as well as a host.
 * File access, data sets and progress output live in dnn_host.h.
 */
#ifndef DNN_H
#define DNN_H

#include <stddef.h>
#include <stdint.h>

#define DNN_VERSION "0.1.0"

/* One entry of NAME_tensors: a parameter (trainable or frozen) or a buffer. */
typedef struct dnn_tensor_info {
    const char *name;   /* PyTorch state_dict key, e.g. "fc1.weight" */
    int rank;           /* 0..4 */
    int shape[4];       /* PyTorch layout; unused dims are 0 */
    int size;           /* number of floats */
    int trainable;      /* 1 for a parameter the optimizer updates */
    int dtype;          /* 0 or DNN_DT_F32: float; an int8 model's (--quantize=int8) also DNN_DT_I8 and
                           DNN_DT_I32, whose data (NAME_tensor, NAME_save's src) is int8_t or int32_t */
} dnn_tensor_info;

/* Error codes: every failing call returns one of these (negative). */
enum {
    DNN_OK = 0,
    DNN_E_HEADER = -1,    /* malformed safetensors header (length, JSON, offsets) */
    DNN_E_TRUNCATED = -2, /* data shorter than the header says */
    DNN_E_DTYPE = -3,     /* a tensor is not F32 */
    DNN_E_SHAPE = -4,     /* a tensor's shape differs from the model's */
    DNN_E_MISSING = -5,   /* a tensor the model needs is absent */
    DNN_E_UNKNOWN = -6,   /* the file holds a tensor the model does not know */
    DNN_E_DUPLICATE = -7, /* a name appears twice */
    DNN_E_SPACE = -8,     /* the output buffer is too small */
    DNN_E_IO = -9,        /* host part: a file could not be read or written */
    DNN_E_ARG = -10,      /* a bad argument (NULL pointer, negative count, a hyper-parameter out of range) */
    DNN_E_HPARAM = -11,   /* NAME_set_hparam: no hyper-parameter has that name */
    DNN_E_NOSTATE = -12   /* NAME_set_hparam: the compiled optimizer or schedule has no such hyper-parameter */
};
const char *dnn_strerror(int code);

/* ---- Random numbers -------------------------------------------------------
 * PCG32 (XSH-RR, O'Neill 2014): integer arithmetic only, so a seed gives the
 * same sequence on every platform. Floats are drawn from the top 24 bits. */
typedef struct dnn_rng {
    uint64_t state; /* advances by one LCG step per output */
    uint64_t inc;   /* stream constant, always odd */
} dnn_rng;

void dnn_rng_seed(dnn_rng *r, uint64_t seed);
uint32_t dnn_rng_u32(dnn_rng *r);
float dnn_rng_float(dnn_rng *r);                       /* [0, 1) */
/* dnn_rng_u32 and dnn_rng_float inline, for loops that draw one a value
 * (dropout's masks: the state stays in a register, no call) */
static inline uint32_t dnn_rng_next(dnn_rng *r) {
    const uint64_t old = r->state;
    const uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27), rot = (uint32_t)(old >> 59);
    r->state = old * 6364136223846793005u + r->inc;
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31u));
}
static inline float dnn_rng_next_float(dnn_rng *r) { /* the top 24 bits: exact in a float, never 1 */
    return (float)(dnn_rng_next(r) >> 8) * (1.0f / 16777216.0f);
}
float dnn_rng_uniform(dnn_rng *r, float lo, float hi); /* [lo, hi) */
float dnn_rng_normal(dnn_rng *r, float mean, float std);
uint32_t dnn_rng_below(dnn_rng *r, uint32_t bound);    /* [0, bound), unbiased; 0 if bound is 0 */

/* ---- safetensors ----------------------------------------------------------
 * Format: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {...}}, then the data. */

/* Loads `count` tensors described by info[] into dst[i] (info[i].size floats
 * each). Every tensor must be present as F32 with exactly info[i]'s shape;
 * names in the file not in info[] are an error (DNN_E_UNKNOWN).
 * PyTorch's batchnorm counters, names ending in ".num_batches_tracked", are
 * the exception both ways: one in the file but not in info[] is ignored, and
 * one in info[] may be absent from the file (dst left as it is) or stored as
 * I64 (converted to float). The whole file is validated before anything is
 * written, so on error dst is unchanged. Returns DNN_OK or a DNN_E* code. */
int dnn_safetensors_load(const dnn_tensor_info *info, float *const *dst, int count,
                         const void *buf, size_t len);

/* Checks buf as dnn_safetensors_load would, writing nothing but the reason
 * into msg (at most msgcap bytes, NUL-terminated; empty on success), which
 * names the tensor at fault: "'fc1.weight' is [16, 4] in the file, [64, 4]
 * in the model", "'fc2.bias' [3] is missing from the file", "'w' is F64 in
 * the file; the model takes F32", "the file holds 'extra' [2], which the
 * model does not have", "the file is empty, not a safetensors file", or
 * dnn_strerror's text for a damaged file. Returns the code the load
 * returns. */
int dnn_safetensors_check(const dnn_tensor_info *info, int count, const void *buf, size_t len,
                          char *msg, size_t msgcap);

/* Writes a safetensors image of the tensors (F32, names and shapes from
 * info[], in info[] order, header padded with spaces to a multiple of 8;
 * a ".num_batches_tracked" counter is written as I64 so PyTorch's strict
 * load_state_dict accepts the file). Returns the image's size in bytes;
 * writes only when buf is not NULL and cap >= that size; 0 for bad
 * arguments. Deterministic: the same tensors give the same bytes. */
size_t dnn_safetensors_save(const dnn_tensor_info *info, const float *const *src, int count,
                            void *buf, size_t cap);

/* The same, with a "__metadata__" object of nmeta string pairs: meta[2i]
 * is a key, meta[2i+1] its value (training programs keep the input scaling
 * and their state there; PyTorch's loaders ignore it). */
size_t dnn_safetensors_save_meta(const dnn_tensor_info *info, const float *const *src, int count,
                                 const char *const *meta, int nmeta, void *buf, size_t cap);

/* Generic read access, for tests and tools: a view of one tensor. */
enum { DNN_DT_F32 = 1, DNN_DT_F64, DNN_DT_I32, DNN_DT_I64, DNN_DT_U8, DNN_DT_OTHER, DNN_DT_I8 };
typedef struct dnn_st_view {
    const char *name;   /* points into the header; NOT NUL-terminated; JSON escapes not decoded */
    size_t name_len;    /* bytes of name */
    int dtype;          /* DNN_DT_* */
    int rank;           /* 0..8 (a file with a higher rank is rejected) */
    int64_t shape[8];   /* dims; unused ones are 0 */
    const void *data;   /* points into buf; may be unaligned; little-endian */
    size_t nbytes;      /* bytes of data */
} dnn_st_view;

/* Number of tensors in the image (not counting __metadata__), or a DNN_E* code. */
int dnn_st_count(const void *buf, size_t len);
/* The index-th tensor in header order: DNN_OK or a DNN_E* code (DNN_E_ARG
 * when index is out of range). Each call validates the whole image. */
int dnn_st_at(const void *buf, size_t len, int index, dnn_st_view *out);
/* The tensor called `name` (compared with the decoded JSON name): DNN_OK,
 * DNN_E_MISSING, or another DNN_E* code. */
int dnn_st_find(const void *buf, size_t len, const char *name, dnn_st_view *out);
/* The decoded value of __metadata__[key] into out (NUL-terminated):
 * DNN_OK, DNN_E_MISSING, DNN_E_SPACE (cap too small) or another DNN_E* code. */
int dnn_st_metadata(const void *buf, size_t len, const char *key, char *out, size_t cap);

/* ---- Running a kernel's loop on several threads ---------------------------
 * A program with threads may set dnn_parallel_for (NULL, the default:
 * serial) to a function that calls body(ctx, lo, hi) on ranges covering
 * [0, n) exactly once, on whatever threads it has, and returns when all
 * are done. The kernels of dnn_kernels.h hand it (dnn_parallel_run) only
 * loops whose items write separate outputs with separate sums, so the
 * results do not depend on the split or the thread count. */
typedef void dnn_parallel_body(void *ctx, int lo, int hi);
typedef void dnn_parallel_for_fn(dnn_parallel_body *body, void *ctx, int n);
extern dnn_parallel_for_fn *dnn_parallel_for;

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
