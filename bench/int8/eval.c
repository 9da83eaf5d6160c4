/* eval.c — test accuracy of one --inference build (float or
 * --quantize=int8) on Fashion-MNIST's test set, for accuracy.sh:
 *
 *   cc -std=c99 -O2 -Iruntime -DMODEL=mlp -include mlp.h eval.c mlp.c build/libdnnrt.a -lm
 *   eval IMAGES LABELS      (raw IDX files, gunzipped)
 *
 * Each image is fed to NAME_forward (batch 1) as the training program feeds
 * it with --scale 1/255: (float)(byte * (1.0 / 255)), the product in double.
 * The prediction is the argmax of the output. Prints "accuracy A N" (percent,
 * samples).
 *
 *   eval IMAGES LABELS KEY  (bench/run.sh) also times batch-1 inference over
 *                           the first POOL images, as bench/harness.c times
 *                           its "infer" figure, and prints bench.h's result
 *                           line "KEY CPU_MEDIAN CPU_MIN CPU_MAX WALL_MEDIAN"
 *                           (built with -DBENCH_TIMING -D_POSIX_C_SOURCE=200809L
 *                           -Ibench: -include puts the model header first).
 */

#include <stdio.h>
#include <stdlib.h>
#ifdef BENCH_TIMING
#include "bench.h"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(MODEL, suffix)

static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)*len)) && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

static FN(_model) m;

/* The image as the training program feeds it with --scale 1/255. */
static void scaled(float *x, const unsigned char *img, long i) {
    for (int k = 0; k < 784; k++)
        x[k] = (float)(img[16 + i * 784 + k] * (1.0 / 255));
}

#ifdef BENCH_TIMING
#define POOL 2048   /* images cycled through, as bench/harness.c */
#define TARGET 0.15 /* seconds per repetition */
static float *pool;
static long pool_size;

static void infer_calls(long iters) {
    static long next;
    float out[10];
    for (long i = 0; i < iters; i++)
        FN(_forward)(&m, pool + (next++ % pool_size) * 784, out, 1);
}

static void warm_up(void) {
    infer_calls(4);
}

/* bench/harness.c's "infer" figure: the first POOL images, cycled. */
static void time_inference(const char *key, const unsigned char *img, long n) {
    pool_size = n < POOL ? n : POOL;
    pool = malloc(sizeof(float) * 784 * (size_t)pool_size);
    if (!pool) {
        fprintf(stderr, "eval: out of memory\n");
        exit(1);
    }
    for (long i = 0; i < pool_size; i++)
        scaled(pool + i * 784, img, i);
    bench_measure(key, TARGET, warm_up, infer_calls);
    free(pool);
}
#endif

int main(int argc, char **argv) {
    long ilen = 0, llen = 0;
#ifdef BENCH_TIMING
    const int args = 4;
#else
    const int args = 3;
#endif
    unsigned char *img = argc == args ? slurp(argv[1], &ilen) : NULL, *lab = img ? slurp(argv[2], &llen) : NULL;
    if (!img || !lab || ilen < 16 || llen < 8 || (ilen - 16) % 784 || (ilen - 16) / 784 != llen - 8) {
        fprintf(stderr, "usage: eval IMAGES LABELS%s (uncompressed IDX: 28x28 images and their labels)\n",
                args == 4 ? " KEY" : "");
        return 2;
    }
    long n = llen - 8, correct = 0;
    float x[784], out[10];
    FN(_init)(&m, 0);
    for (long i = 0; i < n; i++) {
        scaled(x, img, i);
        FN(_forward)(&m, x, out, 1);
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (out[k] > out[best])
                best = k;
        correct += best == lab[8 + i];
    }
    printf("accuracy %.2f %ld\n", 100.0 * (double)correct / (double)n, n);
#ifdef BENCH_TIMING
    time_inference(argv[3], img, n);
#endif
    free(img);
    free(lab);
    return 0;
}
