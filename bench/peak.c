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
 * With `--read BYTES` it measures instead how fast one core reads BYTES
 * (a model's weights) that are already in its caches: repeated passes of
 * eight independent 256-bit additions per 256 bytes, which do nothing but
 * load. Batch-1 inference must read every weight once per call, so BYTES
 * over this rate is its floor (bench/README.md).
 *
 * Build: cc -std=c99 -O2 -mavx2 -mfma peak.c -o peak
 * Output, in GFLOP/s (from CPU time, except the last: from wall time):
 *   peak_avx2 MEDIAN LOWEST HIGHEST WALL_MEDIAN
 *   peak_avx512 MEDIAN LOWEST HIGHEST WALL_MEDIAN     (only with AVX-512F)
 * or with --read BYTES, in GB/s: MEDIAN LOWEST HIGHEST WALL_MEDIAN
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

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

/* Passes over a[0..n) (n a multiple of 64 floats), eight vectors at a time
 * into eight chains; returns the time and adds the sum to *sink. */
static bench_clock read_passes(const float *a, long n, long passes, float *sink) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    bench_clock start = bench_now();
    for (long p = 0; p < passes; p++)
        for (long i = 0; i < n; i += 64) {
            s0 = _mm256_add_ps(s0, _mm256_load_ps(a + i));
            s1 = _mm256_add_ps(s1, _mm256_load_ps(a + i + 8));
            s2 = _mm256_add_ps(s2, _mm256_load_ps(a + i + 16));
            s3 = _mm256_add_ps(s3, _mm256_load_ps(a + i + 24));
            s4 = _mm256_add_ps(s4, _mm256_load_ps(a + i + 32));
            s5 = _mm256_add_ps(s5, _mm256_load_ps(a + i + 40));
            s6 = _mm256_add_ps(s6, _mm256_load_ps(a + i + 48));
            s7 = _mm256_add_ps(s7, _mm256_load_ps(a + i + 56));
        }
    bench_clock time = bench_since(start);
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                                          _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7))));
    for (int l = 0; l < 8; l++)
        *sink += lanes[l];
    return time;
}

/* The read rate over `bytes` (rounded up to 256), in GB/s. */
static int measure_read(long bytes, float *sink) {
    long n = (bytes + 255) / 256 * 64, passes = 1 + 2000000000L / (n * 4 * 10); /* ~0.02 s a repetition at 100 GB/s */
    float *a;
    if (posix_memalign((void **)&a, 64, (size_t)n * sizeof(float)))
        return 1;
    for (long i = 0; i < n; i++)
        a[i] = 1.0f / (float)(i + 1);
    double cpu[BENCH_REPS], wall[BENCH_REPS];
    read_passes(a, n, passes, sink); /* into the caches */
    for (int r = 0; r < BENCH_REPS; r++) {
        bench_clock t = read_passes(a, n, passes, sink);
        cpu[r] = 4.0 * n * passes / t.cpu * 1e-9;
        wall[r] = 4.0 * n * passes / t.wall * 1e-9;
    }
    double median = bench_median(cpu, BENCH_REPS);
    printf("%.2f %.2f %.2f %.2f\n", median, cpu[0], cpu[BENCH_REPS - 1], bench_median(wall, BENCH_REPS));
    free(a);
    return 0;
}

int main(int argc, char **argv) {
    float sink = 0;
    if (argc == 3 && !strcmp(argv[1], "--read"))
        return measure_read(atol(argv[2]), &sink) || sink != sink; /* sink: keeps the sums alive */
    measure("peak_avx2", fma_avx2, 8, &sink);
    if (__builtin_cpu_supports("avx512f"))
        measure("peak_avx512", fma_avx512, 16, &sink);
    if (sink != sink) /* keeps the accumulators alive; never true */
        puts("nan");
    return 0;
}
