/* bench.h — clocks and statistics shared by the benchmark programs.
 *
 * Every figure is taken with two clocks: the process's CPU time (user +
 * system, CLOCK_PROCESS_CPUTIME_ID), which the other jobs of a busy
 * machine do not inflate, and wall time (CLOCK_MONOTONIC). A figure is
 * REPS repetitions of many iterations; a result line is
 *     KEY CPU_MEDIAN CPU_MIN CPU_MAX WALL_MEDIAN
 * in seconds per iteration (bench/report.py reads it). Header-only: each
 * program is one translation unit plus this file.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_REPS 11 /* repetitions of every timing */

typedef struct bench_clock {
    double cpu;  /* seconds of CPU time of this process */
    double wall; /* seconds of monotonic wall time */
} bench_clock;

static inline bench_clock bench_now(void) {
    struct timespec cpu, wall;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    clock_gettime(CLOCK_MONOTONIC, &wall);
    bench_clock t = {cpu.tv_sec + cpu.tv_nsec * 1e-9, wall.tv_sec + wall.tv_nsec * 1e-9};
    return t;
}

/* The time elapsed since start, on both clocks. */
static inline bench_clock bench_since(bench_clock start) {
    bench_clock t = bench_now();
    t.cpu -= start.cpu;
    t.wall -= start.wall;
    return t;
}

static inline int bench_by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n-1] and returns its median (n odd). */
static inline double bench_median(double *v, int n) {
    qsort(v, n, sizeof v[0], bench_by_value);
    return v[n / 2];
}

/* Prints "KEY CPU_MEDIAN CPU_MIN CPU_MAX WALL_MEDIAN" from REPS samples
 * (seconds per iteration); sorts the arrays. */
static inline void bench_print(const char *key, double *cpu, double *wall, int reps) {
    double cpu_median = bench_median(cpu, reps), wall_median = bench_median(wall, reps);
    printf("%s %.6e %.6e %.6e %.6e\n", key, cpu_median, cpu[0], cpu[reps - 1], wall_median);
    fflush(stdout);
}

/* Times run(iters) BENCH_REPS times, prepare() (not timed) before each
 * repetition, iters calibrated once so that a repetition lasts about target
 * seconds, and prints the result line KEY. */
static inline void bench_measure(const char *key, double target, void (*prepare)(void), void (*run)(long)) {
    long iters = 1;
    double cpu[BENCH_REPS], wall[BENCH_REPS];
    for (;;) { /* calibration: double until a run lasts a tenth of target */
        prepare();
        bench_clock start = bench_now();
        run(iters);
        double seconds = bench_since(start).cpu;
        if (seconds >= target / 10) {
            iters = (long)(iters * target / seconds) + 1;
            break;
        }
        iters *= 2;
    }
    for (int r = 0; r < BENCH_REPS; r++) {
        prepare();
        bench_clock start = bench_now();
        run(iters);
        bench_clock t = bench_since(start);
        cpu[r] = t.cpu / iters;
        wall[r] = t.wall / iters;
    }
    bench_print(key, cpu, wall, BENCH_REPS);
}

#endif /* BENCH_H */
