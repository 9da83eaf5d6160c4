/* harness.c — times one model's dnnc-generated code: the training step at
 * the compiled batch and batch-1 inference.
 *
 * bench/run.sh generates the model twice with fixed prefixes, so that this
 * one file serves every model whose only input is `image` and whose only
 * target is `label` (a class), as models/mlp.dnn and models/lenet5.dnn:
 *     dnnc --prefix train_net             MODEL.dnn -o train_net.c   (training code)
 *     dnnc --prefix infer_net --inference MODEL.dnn -o infer_net.c   (forward only, batch 1)
 *     cc -std=c99 -O3 -march=native -I bench -I runtime -I DIR \
 *        harness.c DIR/train_net.c DIR/infer_net.c build/libdnnrt.a -lz -lm
 *
 * The data are the first POOL images of the training set (real images:
 * generated kernels that skip zeros would gain on them as on the epoch),
 * scaled by 1/255, cycled batch by batch.
 *   train_step: each repetition starts from a fresh train_net_init (not
 *     timed), takes WARMUP steps, then times `iters` train_net_train_step
 *     calls at n = TRAIN_NET_BATCH, so every repetition measures the same
 *     early-training regime (no drift toward tiny gradients or denormals).
 *   infer: infer_net_forward at n = 1 over successive images.
 * `iters` is calibrated once per figure so that a repetition lasts about
 * TARGET seconds. Output: bench.h's result lines, "train_step ..." and
 * "infer ...", seconds per call; then "train_loss L" (the last loss, as a
 * sanity check; the program fails if it is not finite), and "model_bytes B"
 * (sizeof(train_net_model)).
 *
 * The MLPerf Tiny networks are built with -DBENCH_SYNTHETIC (train step
 * only, no infer_net, no arguments: the pool is inputs uniform in [0, 1)
 * and random class labels), -DBENCH_INPUT_SIZE=TRAIN_NET_<INPUT>_SIZE when
 * the input is not `image` (DS-CNN's `mfcc`), and -DBENCH_NO_TARGET when
 * the loss's target is the input itself (the autoencoder's
 * train_step(m, x, n)).
 *
 * Usage: harness TRAIN_IMAGES TRAIN_LABELS     (-DBENCH_SYNTHETIC: harness)
 * BENCH_THREADS=N in the environment: on N threads (dnn_set_threads; the
 * wall-time column is then the figure), else on one.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "dnn_data.h"
#include "dnn_host.h"
#include "train_net.h"
#ifndef BENCH_SYNTHETIC
#include "infer_net.h"
#endif

#define POOL 2048     /* images used: 64 batches of 32 */
#define WARMUP 4      /* untimed calls before each repetition */
#define TARGET 0.15   /* seconds per repetition */
#define SEED 1        /* train_net_init / infer_net_init */

#ifndef BENCH_INPUT_SIZE
#define BENCH_INPUT_SIZE TRAIN_NET_IMAGE_SIZE
#endif
#define PIXELS BENCH_INPUT_SIZE
#define BATCH TRAIN_NET_BATCH

static train_net_model train_model; /* megabytes: off the stack */
static dnn_dataset data;
static float last_loss;

#ifdef BENCH_NO_TARGET /* the input is the target: train_step(m, x, n) */
#define TRAIN_STEP(x, y) train_net_train_step(&train_model, x, BATCH)
#else
#define TRAIN_STEP(x, y) train_net_train_step(&train_model, x, y, BATCH)
#endif

/* `iters` training steps, cycling over the pool's batches. */
static void train_steps(long iters) {
    static int next; /* batch to use next */
    for (long i = 0; i < iters; i++) {
        int b = next++ % (POOL / BATCH);
        last_loss = TRAIN_STEP(data.x + (size_t)b * BATCH * PIXELS, data.y + b * BATCH);
    }
}

#ifndef BENCH_SYNTHETIC
static infer_net_model infer_model;

/* `iters` batch-1 forward passes over successive images. */
static void infer_calls(long iters) {
    static int next;
    float probs[INFER_NET_PROBS_SIZE];
    for (long i = 0; i < iters; i++)
        infer_net_forward(&infer_model, data.x + (size_t)(next++ % POOL) * PIXELS, probs, 1);
}

static void warm_infer_model(void) {
    infer_calls(WARMUP);
}
#endif

static void fresh_train_model(void) {
    train_net_init(&train_model, SEED);
    train_steps(WARMUP);
}

#ifdef BENCH_SYNTHETIC
/* The pool of synthetic samples: inputs uniform in [0, 1), labels uniform
 * over the classes, from a fixed xorshift generator. */
static int load_pool(int argc, char **argv) {
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: harness   (built with -DBENCH_SYNTHETIC: no data files)\n");
        return 2;
    }
    uint32_t state = 2463534242u;
    data.count = POOL;
    data.x = malloc(sizeof(float) * POOL * PIXELS);
    data.y = calloc(POOL, sizeof(int32_t));
    if (!data.x || !data.y) {
        fprintf(stderr, "harness: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)POOL * PIXELS + POOL; i++) {
        state ^= state << 13, state ^= state >> 17, state ^= state << 5;
        if (i < (size_t)POOL * PIXELS)
            data.x[i] = (float)(state >> 8) / 16777216.0f;
#ifdef TRAIN_NET_LABEL_CLASSES
        else
            data.y[i - (size_t)POOL * PIXELS] = (int32_t)(state % TRAIN_NET_LABEL_CLASSES);
#endif
    }
    return 0;
}
#else
/* The pool: the first POOL images and labels of the files, scaled by 1/255. */
static int load_pool(int argc, char **argv) {
    char msg[512];
    if (argc != 3) {
        fprintf(stderr, "usage: %s TRAIN_IMAGES TRAIN_LABELS\n", argv[0]);
        return 2;
    }
    if (dnn_dataset_load(argv[1], argv[2], PIXELS, TRAIN_NET_LABEL_CLASSES, POOL, 1.0f / 255, &data, msg,
                         sizeof msg) != DNN_OK || data.count != POOL) {
        fprintf(stderr, "harness: %s\n", data.count ? "too few images" : msg);
        return 1;
    }
    return 0;
}
#endif

int main(int argc, char **argv) {
    int status = load_pool(argc, argv);
    if (status)
        return status;
    const char *threads = getenv("BENCH_THREADS");
    if (threads && dnn_set_threads(atoi(threads)) != DNN_OK) {
        fprintf(stderr, "harness: BENCH_THREADS=%s: no such thread count\n", threads);
        return 2;
    }
    bench_measure("train_step", TARGET, fresh_train_model, train_steps);
    printf("train_loss %g\n", last_loss);
    printf("model_bytes %zu\n", sizeof train_model);
    if (!isfinite(last_loss)) {
        fprintf(stderr, "harness: the training loss is not finite\n");
        return 1;
    }
#ifdef BENCH_SYNTHETIC
    free(data.x);
    free(data.y);
#else
    infer_net_init(&infer_model, SEED);
    bench_measure("infer", TARGET, warm_infer_model, infer_calls);
    dnn_dataset_free(&data);
#endif
    return 0;
}
