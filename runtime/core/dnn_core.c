/* dnn_core.c — the freestanding core of the dnnc runtime, beside
 * safetensors (dnn_safetensors.c): error strings, the PCG32 generator
 * behind every random draw (the init rules, dropout, shuffling,
 * augmentation), and the parallel-for hook kernels hand their loops to.
 *
 * Nothing here allocates, recurses, or touches stdio or errno, so the file
 * builds for a microcontroller; the generator uses integer arithmetic only,
 * so a seed gives the same sequence on every platform.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "dnn.h"

const char *dnn_strerror(int code) {
    switch (code) {
    case DNN_OK: return "success";
    case DNN_E_HEADER: return "malformed safetensors header";
    case DNN_E_TRUNCATED: return "safetensors data shorter than its header says";
    case DNN_E_DTYPE: return "tensor is not F32";
    case DNN_E_SHAPE: return "tensor shape differs from the model's";
    case DNN_E_MISSING: return "tensor missing from the file";
    case DNN_E_UNKNOWN: return "file holds a tensor the model does not know";
    case DNN_E_DUPLICATE: return "name appears twice";
    case DNN_E_SPACE: return "output buffer too small";
    case DNN_E_IO: return "file could not be read or written";
    case DNN_E_ARG: return "bad argument";
    case DNN_E_HPARAM: return "no hyper-parameter of that name";
    case DNN_E_NOSTATE: return "the compiled optimizer or schedule has no such hyper-parameter";
    default: return "unknown error";
    }
}

/* ---- Random numbers: PCG32 XSH-RR --------------------------------------- */

#define PCG_STREAM 54u /* the fixed initseq of pcg32_srandom_r */

uint32_t dnn_rng_u32(dnn_rng *r) { return dnn_rng_next(r); }

/* pcg32_srandom_r(r, seed, PCG_STREAM) of the PCG reference. */
void dnn_rng_seed(dnn_rng *r, uint64_t seed) {
    r->state = 0;
    r->inc = ((uint64_t)PCG_STREAM << 1) | 1u;
    dnn_rng_u32(r);
    r->state += seed;
    dnn_rng_u32(r);
}

float dnn_rng_float(dnn_rng *r) { return dnn_rng_next_float(r); }

/* The sum can round up to hi (lo = 1, hi = 2, float = 1 - 2^-24 gives a
 * tie that rounds to 2), so hi becomes the float next to it. */
float dnn_rng_uniform(dnn_rng *r, float lo, float hi) {
    float x = lo + (hi - lo) * dnn_rng_float(r);
    return x == hi && lo != hi ? nextafterf(hi, lo) : x;
}

/* Box–Muller in double, one output per call so the struct is the whole
 * state; u1 is in (0, 1] so the log is finite. */
float dnn_rng_normal(dnn_rng *r, float mean, float std) {
    double u1 = ((double)(dnn_rng_u32(r) >> 8) + 1.0) * (1.0 / 16777216.0);
    double u2 = (double)(dnn_rng_u32(r) >> 8) * (1.0 / 16777216.0);
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
    return (float)((double)mean + (double)std * z);
}

/* Lemire's multiply-and-reject: unbiased, rarely needs a division.
 * A bound of 0 gives 0. */
uint32_t dnn_rng_below(dnn_rng *r, uint32_t bound) {
    uint64_t m;
    if (bound == 0)
        return 0;
    m = (uint64_t)dnn_rng_u32(r) * bound;
    if ((uint32_t)m < bound) {
        uint32_t threshold = (0u - bound) % bound; /* 2^32 mod bound */
        while ((uint32_t)m < threshold)
            m = (uint64_t)dnn_rng_u32(r) * bound;
    }
    return (uint32_t)(m >> 32);
}

/* ---- Threads ------------------------------------------------------------- */

dnn_parallel_for_fn *dnn_parallel_for = NULL; /* serial until a program with threads sets it */
