/* peak.c — the FP32 fused-multiply-add peak of one core, measured.
 *
 * Twelve independent 8-lane accumulators (AVX2 __m256), each updated by one
 * FMA per iteration: enough chains to hide the FMA latency (4 cycles) on
 * two FMA pipes, so the loop runs at the core's FMA throughput. Every FMA
 * counts as 2 FLOPs per lane (multiply and add, as the model FLOP figures
 * count them). acc = acc * a + b with a just below 1 converges to b/(1-a),
 * so the values stay normal: no overflow, no denormal slow path.
 *
 * A figure is the median of BENCH_REPS repetitions of ITERS iterations,
 * timed in CPU time (bench.h). The same loop with 512-bit vectors is
 * measured too when the CPU has AVX-512F, because `-march=native` lets the
 * compiler use it on this machine and the dense kernels do (DNN_V8X2); the
 * bench's "% of peak" uses the higher of the two figures.
 *
 * Build: cc -std=c99 -O2 -mavx2 -mfma peak.c -o peak
 * Output, in GFLOP/s (from CPU time, except the last: from wall time):
 *   peak_avx2 MEDIAN LOWEST HIGHEST WALL_MEDIAN
 *   peak_avx512 MEDIAN LOWEST HIGHEST WALL_MEDIAN     (only with AVX-512F)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <immintrin.h>

#include "bench.h"

#define ITERS 60000000L /* loop iterations per repetition: ~0.15 s at 100 GFLOP/s */

/* Twelve accumulators as named variables, so that they live in registers
 * (an array of them indexed in a loop stays in memory at -O2); TWELVE(X)
 * repeats the statement X(c) for c = 0..11. */
#define CHAINS 12
#define TWELVE(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* Runs the AVX2 loop once; returns its time and adds the result to *sink. */
static bench_clock fma_avx2(long iters, float *sink) {
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
#define DECLARE(c) __m256 acc##c = _mm256_set1_ps((float)c);
#define UPDATE(c) acc##c = _mm256_fmadd_ps(acc##c, a, b);
#define GATHER(c) sum = _mm256_add_ps(sum, acc##c);
    TWELVE(DECLARE)
    bench_clock start = bench_now();
    for (long i = 0; i < iters; i++) {
        TWELVE(UPDATE)
    }
    bench_clock time = bench_since(start);
    __m256 sum = _mm256_setzero_ps();
    TWELVE(GATHER)
#undef DECLARE
#undef UPDATE
#undef GATHER
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    for (int l = 0; l < 8; l++)
        *sink += lanes[l];
    return time;
}

/* The same with 512-bit vectors: compiled for AVX-512F here only, and
 * called only when the CPU has it. */
__attribute__((target("avx512f"))) static bench_clock fma_avx512(long iters, float *sink) {
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
#define DECLARE(c) __m512 acc##c = _mm512_set1_ps((float)c);
#define UPDATE(c) acc##c = _mm512_fmadd_ps(acc##c, a, b);
#define GATHER(c) sum = _mm512_add_ps(sum, acc##c);
    TWELVE(DECLARE)
    bench_clock start = bench_now();
    for (long i = 0; i < iters; i++) {
        TWELVE(UPDATE)
    }
    bench_clock time = bench_since(start);
    __m512 sum = _mm512_setzero_ps();
    TWELVE(GATHER)
#undef DECLARE
#undef UPDATE
#undef GATHER
    *sink += _mm512_reduce_add_ps(sum);
    return time;
}

/* Measures one loop: a warm-up, then BENCH_REPS timed repetitions. */
static void measure(const char *key, bench_clock (*loop)(long, float *), int lanes, float *sink) {
    double flops = 2.0 * lanes * CHAINS * ITERS, cpu[BENCH_REPS], wall[BENCH_REPS];
    loop(ITERS / 10, sink); /* clocks up, pages in */
    for (int r = 0; r < BENCH_REPS; r++) {
        bench_clock t = loop(ITERS, sink);
        cpu[r] = flops / t.cpu * 1e-9;
        wall[r] = flops / t.wall * 1e-9;
    }
    double median = bench_median(cpu, BENCH_REPS);
    printf("%s %.2f %.2f %.2f %.2f\n", key, median, cpu[0], cpu[BENCH_REPS - 1], bench_median(wall, BENCH_REPS));
}

int main(void) {
    float sink = 0;
    measure("peak_avx2", fma_avx2, 8, &sink);
    if (__builtin_cpu_supports("avx512f"))
        measure("peak_avx512", fma_avx512, 16, &sink);
    if (sink != sink) /* keeps the accumulators alive; never true */
        puts("nan");
    return 0;
}
