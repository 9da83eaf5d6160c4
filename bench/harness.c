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
 * sanity check; the program fails if it is not finite).
 *
 * Usage: harness TRAIN_IMAGES TRAIN_LABELS
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "dnn_data.h"
#include "infer_net.h"
#include "train_net.h"

#define POOL 2048     /* images used: 64 batches of 32 */
#define WARMUP 4      /* untimed calls before each repetition */
#define TARGET 0.15   /* seconds per repetition */
#define SEED 1        /* train_net_init / infer_net_init */

#define PIXELS TRAIN_NET_IMAGE_SIZE
#define BATCH TRAIN_NET_BATCH

static train_net_model train_model; /* megabytes: off the stack */
static infer_net_model infer_model;
static dnn_dataset data;
static float last_loss;

/* `iters` training steps, cycling over the pool's batches. */
static void train_steps(long iters) {
    static int next; /* batch to use next */
    for (long i = 0; i < iters; i++) {
        int b = next++ % (POOL / BATCH);
        last_loss = train_net_train_step(&train_model, data.x + (size_t)b * BATCH * PIXELS, data.y + b * BATCH, BATCH);
    }
}

/* `iters` batch-1 forward passes over successive images. */
static void infer_calls(long iters) {
    static int next;
    float probs[INFER_NET_PROBS_SIZE];
    for (long i = 0; i < iters; i++)
        infer_net_forward(&infer_model, data.x + (size_t)(next++ % POOL) * PIXELS, probs, 1);
}

static void fresh_train_model(void) {
    train_net_init(&train_model, SEED);
    train_steps(WARMUP);
}

static void warm_infer_model(void) {
    infer_calls(WARMUP);
}

/* Times `run` BENCH_REPS times, `prepare` (not timed) before each
 * repetition, and prints the result line KEY. */
static void measure(const char *key, void (*prepare)(void), void (*run)(long)) {
    long iters = 1;
    double cpu[BENCH_REPS], wall[BENCH_REPS];
    for (;;) { /* calibration: double until a run lasts a tenth of TARGET */
        prepare();
        bench_clock start = bench_now();
        run(iters);
        double seconds = bench_since(start).cpu;
        if (seconds >= TARGET / 10) {
            iters = (long)(iters * TARGET / seconds) + 1;
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

int main(int argc, char **argv) {
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
    measure("train_step", fresh_train_model, train_steps);
    printf("train_loss %g\n", last_loss);
    if (!isfinite(last_loss)) {
        fprintf(stderr, "harness: the training loss is not finite\n");
        return 1;
    }
    infer_net_init(&infer_model, SEED);
    measure("infer", warm_infer_model, infer_calls);
    dnn_dataset_free(&data);
    return 0;
}
