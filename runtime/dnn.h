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

#endif
