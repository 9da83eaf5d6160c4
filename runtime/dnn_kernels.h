/* dnn_kernels.h — the layers' kernels as C functions: dense, conv2d,
 * pooling, their gradients and the optimizer updates.
 *
 * Generated code calls them with compile-time constant sizes, e.g.
 *     dnn_dense_forward(out, in0, in1, in2, n, 784, 128);
 * Every kernel is `static inline` (always inlined on GNU C compilers), so
 * the C compiler specialises it on those constants: the blocking loops,
 * whose bounds become constants, unroll into the same register blocks as
 * hand-unrolled code, and the branches that choose a path fold away.
 *
 * One kernel per job, in llm.c's argument order: outputs first, gradients
 * named d*, then inputs, weights, the sample count n and the sizes. Each
 * kernel has its vector paths and its plain C path side by side:
 *   DNN_V8X2   AVX-512F: two 8-float accumulators in one 16-float vector,
 *              or 16 separate results (dnn_vl, below)
 *   DNN_V8     AVX (with FMA when the target has it): 8-float vectors
 *   otherwise  plain C99 arrays computing the same sums in the same order
 * (runtime/dnn.h defines the vector types; -DDNN_PORTABLE forces plain C).
 * Sums are never reassociated by the C compiler: each kernel fixes the
 * order of its additions, so a build gives the same bits every run, and
 * DNN_V8X2 and DNN_V8 give the same bits as each other. The vector paths
 * round each multiply-add once (FMA), so they agree with the plain C path
 * to rounding, except where a result is a choice (maxpool's first maximum,
 * relu's NaN and -0), which every path makes the same way.
 *
 * Each kernel also has a plain reference, NAME_plain (dnn_kernels_plain.h):
 * the formula as the simplest loop, with every size a run-time argument.
 * It is what tests/kernels checks the fast kernels against, and the kernel
 * of --optimize=size (where one step function serves every layer of a
 * shape, so the sizes are parameters) and, as NAME_plain_f64, of the
 * double-precision twin.
 *
 * The parts: dnn_kernels_plain.h, dnn_kernels_dense.h, dnn_kernels_conv.h,
 * dnn_kernels_group.h (grouped, depthwise, rectangular conv2d),
 * dnn_kernels_pool.h, dnn_kernels_update.h, dnn_kernels_inplace.h (a conv2d
 * over its own input). Freestanding: only <math.h>
 * and <string.h>, no allocation (scratch arrays are on the stack, as
 * variable-length arrays whose sizes are constants once inlined).
 */
#ifndef DNN_KERNELS_H
#define DNN_KERNELS_H

#include <math.h>
#include <string.h>

#include "dnn.h"
#include "dnn_vec.h"

/* DNN_KERNEL: a kernel, inlined into its caller so that the sizes are
 * constants. With -Os (__OPTIMIZE_SIZE__) the compiler decides: a kernel
 * called from several step functions is then compiled once. */
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define DNN_KERNEL static inline __attribute__((always_inline))
#else
#define DNN_KERNEL static inline
#endif

/* DNN_INLINE: inlined even with -Os: a wrapper whose tests of its
 * arguments then fold into constants in its caller */
#if defined(__GNUC__)
#define DNN_INLINE static inline __attribute__((always_inline))
#else
#define DNN_INLINE static inline
#endif

/* DNN_NOINLINE: a function of its own even at -O2, where its caller's
 * other values would crowd its loop's pointers out of the registers
 * (and no warning in a program that never calls it) */
#if defined(__GNUC__)
#define DNN_NOINLINE static __attribute__((noinline, unused))
#else
#define DNN_NOINLINE static inline
#endif

/* DNN_UNROLL: unroll the next loop completely when its bound is a
 * constant — a register block's loops over its rows and vectors, so that
 * each accumulator is a register of its own. */
#if defined(__GNUC__)
#define DNN_UNROLL _Pragma("GCC unroll 16")
#else
#define DNN_UNROLL
#endif

/* DNN_NO_UNROLL: keep the next loop a loop, where unrolling it would
 * spill the accumulators (gcc -O3 unrolls short constant loops whole). */
#if defined(__GNUC__)
#define DNN_NO_UNROLL _Pragma("GCC unroll 1")
#else
#define DNN_NO_UNROLL
#endif

/* dnn_vl: the widest vector, for the kernels whose lanes are separate
 * results (filters, output columns or samples; each lane one sum in its
 * own fixed order): 16 floats with AVX-512 (DNN_V8X2), else 8. A lane's
 * sum does not depend on how many lanes run beside it, so both widths give
 * the same bits. DNN_VL is its lanes (8 in plain C too, where the lanes
 * are arrays), DNN_VREGS the vector registers a tile can fill (AVX-512
 * has 32). */
#if defined(DNN_V8X2)
typedef dnn_v8x2 dnn_vl;
typedef int dnn_vli __attribute__((vector_size(64))); /* comparisons' lane masks */
enum { DNN_VL = 16, DNN_VREGS = 32 };
static inline dnn_vl dnn_vl_load(const float *p) { return dnn_v8x2_load(p); }
static inline void dnn_vl_store(float *p, dnn_vl v) { dnn_v8x2_store(p, v); }
static inline dnn_vl dnn_vl_splat(float x) { return dnn_v8x2_splat(x); }
static inline dnn_vl dnn_vl_fma(dnn_vl a, dnn_vl b, dnn_vl c) { return dnn_v8x2_fma(a, b, c); }
#elif defined(DNN_V8)
typedef dnn_v8 dnn_vl;
typedef dnn_v8i dnn_vli;
enum { DNN_VL = 8, DNN_VREGS = 16 };
static inline dnn_vl dnn_vl_load(const float *p) { return dnn_v8_load(p); }
static inline void dnn_vl_store(float *p, dnn_vl v) { dnn_v8_store(p, v); }
static inline dnn_vl dnn_vl_splat(float x) { return dnn_v8_splat(x); }
static inline dnn_vl dnn_vl_fma(dnn_vl a, dnn_vl b, dnn_vl c) { return dnn_v8_fma(a, b, c); }
#else
enum { DNN_VL = 8, DNN_VREGS = 16 };
#endif
#ifdef DNN_V8
/* Per lane: a where the mask m is set, else b; and a if a > b, else b (vmaxps: b when either is NaN) */
static inline dnn_vl dnn_vl_select(dnn_vli m, dnn_vl a, dnn_vl b) { return (dnn_vl)((m & (dnn_vli)a) | (~m & (dnn_vli)b)); }
#ifdef DNN_V8X2
static inline dnn_vl dnn_vl_max(dnn_vl a, dnn_vl b) { return dnn_vl_select(a > b, a, b); }
#else
static inline dnn_vl dnn_vl_max(dnn_vl a, dnn_vl b) { return dnn_v8_max(a, b); }
#endif
#endif

/* An activation fused into a kernel (conv2d → activation → pool): a
 * function of one float, NULL for none. The kernels recognise dnn_relu and
 * apply it to whole vectors as vmaxps(0, x), which is x < 0 ? 0 : x bit for
 * bit (NaN and -0 pass); any other function is applied lane by lane. */
typedef float (*dnn_act)(float);
static inline float dnn_relu(float x) { return x < 0.0f ? 0.0f : x; }
static inline double dnn_relu_f64(double x) { return x < 0.0 ? 0.0 : x; } /* the double twin's (dnnc --main) */

/* A maxpool window's "first maximum": y replaces top when it is larger or
 * NaN, so NaN wins and a tie keeps the earlier value (PyTorch's CPU
 * kernel). `first` is 1 for the window's first value. */
static inline float dnn_pool_max_take(float top, float y, int first) { return first || y > top || y != y ? y : top; }

/* A pool window's running result, taken value by value in window order:
 * the first maximum, or the sum. Start from {-INFINITY, 0.0f, 1}. */
typedef struct {
    float top, sum; /* maxpool's result so far, avgpool's sum */
    int first;      /* no value taken yet */
} dnn_window;
static inline void dnn_window_take(dnn_window *w, float y, int max) {
    if (max) {
        w->top = dnn_pool_max_take(w->top, y, w->first);
        w->first = 0;
    } else
        w->sum += y;
}
/* The maximum, or the average of `count` values */
static inline float dnn_window_value(const dnn_window *w, int max, int count) {
    return max ? w->top : w->sum / (float)count;
}

/* The outputs o of a convolution (or pool) whose input o·stride − pad + k
 * lies inside [0, size), for tap k: o0 <= o < o1 (o1 at most out). */
static inline void dnn_conv_range(int *o0, int *o1, int k, int size, int stride, int pad, int out) {
    *o0 = k >= pad ? 0 : (pad - k + stride - 1) / stride;
    *o1 = size - 1 + pad - k < 0 ? 0 : (size - 1 + pad - k) / stride + 1;
    if (*o1 > out)
        *o1 = out;
}

/* A loop of n independent items (samples, filters, ...) run through the
 * program's dnn_parallel_for (runtime/dnn.h), or here in one piece when it
 * has none: body(ctx, lo, hi) computes items lo .. hi. A kernel hands it
 * only items whose outputs and sums are their own, so any split gives the
 * same bits. */
static inline void dnn_parallel_run(dnn_parallel_body *body, void *ctx, int n) {
    if (dnn_parallel_for && n > 1)
        dnn_parallel_for(body, ctx, n);
    else
        body(ctx, 0, n);
}

/* A loop worth handing over: n items of about `work` multiply-adds each,
 * DNN_PARALLEL_WORK or more in all (bench/README.md: below that, waking
 * the threads costs more than they save); a smaller one, such as batch-1
 * inference's, runs in one piece. */
enum { DNN_PARALLEL_WORK = 131072 };
static inline void dnn_parallel_run_work(dnn_parallel_body *body, void *ctx, int n, long work) {
    if ((long)n * work >= DNN_PARALLEL_WORK)
        dnn_parallel_run(body, ctx, n);
    else
        body(ctx, 0, n);
}

/* A loop over a tensor's rows (a dense layer's forward and weight
 * gradient, the optimizer's update) is handed over as DNN_ROW_PARTS parts,
 * part u starting at row dnn_part_row(u, rows): every such loop of one
 * tensor then gives a thread the same rows, whatever its items' count, so
 * a weight row, its gradient and its optimizer state stay in one core's
 * cache (moving them between cores cost more than a second core saved:
 * bench/README.md, "Issue 21 on a Zen 5"). */
enum { DNN_ROW_PARTS = 64 };
static inline int dnn_part_row(int u, int rows) { return (int)((long)u * rows / DNN_ROW_PARTS); }

/* Where part u of a tensor's update starts: at its row dnn_part_row(u,
 * rows) of `cols` floats, the tensor starting `at` floats into a run of
 * `count` parameters that the update takes 8 at a time from the run's
 * start — rounded down to a block of 8 of the run, so each parameter is
 * updated by the same arithmetic as the whole run's (the end of the run
 * stays its end). */
static inline long dnn_part_at(int u, int rows, long cols, long at, long count) {
    const long p = at + (long)dnn_part_row(u, rows) * cols;
    return p == count ? count : p / 8 * 8;
}

/* What a training build's step hands its loop (dnnc's emit_split): its
 * output, its inputs, the samples of the batch. */
typedef struct dnn_split {
    float *out;
    const float *in[3];
    int n;
} dnn_split;

/* ---- Where the next kernels go ------------------------------------------------------------
 * int8 (quantized dense and conv2d, PyTorch 1.13's qnnpack arithmetic as
 *   tests/quant's reference computes it): dnn_kernels_int8.h, included
 *   below after dnn_kernels_conv.h, with its plain references in the same
 *   file (int32 sums are exact, so one order serves every path; the
 *   requantisation's rounding is the part to match).
 * Fused backward-plus-update: a kernel whose last loop stores a block of
 *   gradients can apply the optimizer's step there (dnn_sgd_apply, as
 *   dnn_dense_backward_weight_sgd does); the other optimizers' steps take
 *   the same pointers (dnn_adam_step, ...).
 * Threads: dnn_parallel_run above; a training build's steps hand it their
 *   samples, a dense weight's rows (DNN_ROW_PARTS), a conv weight
 *   gradient's rows or filters (dnnc's emit_split), or batchnorm's
 *   channels (dnn_bn_split, dnn_kernels_norm.h). */

#define DNN_REAL float
#define DNN_PLAIN(name) dnn_##name##_plain
#define DNN_RELU dnn_relu
#include "dnn_kernels_plain.h"
#define DNN_REAL double
#define DNN_PLAIN(name) dnn_##name##_plain_f64
#define DNN_RELU dnn_relu_f64
#include "dnn_kernels_plain.h"

/* gcc looks into the loops of a kernel specialised on constant sizes and
 * warns about iterations its own unrolling made but that never run: an
 * index past a weight array it can see whole (--embed-weights' const
 * arrays: -Warray-bounds), a register-block element not set (with -Os:
 * -Wmaybe-uninitialized). The kernels index within their sizes and set
 * what they read; tests/kernels checks them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "dnn_kernels_update.h" /* first: the fused backward-plus-update kernels apply its steps */
#include "dnn_kernels_dense.h"
#include "dnn_kernels_gemm.h"
#include "dnn_kernels_conv.h"
#include "dnn_kernels_group.h"
#include "dnn_kernels_pool.h"
#include "dnn_kernels_norm.h"
#include "dnn_kernels_inplace.h"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
/* #include "dnn_kernels_int8.h"      the int8 kernels, when they come (above) */

#endif
