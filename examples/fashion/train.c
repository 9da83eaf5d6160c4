/* train.c — trains models/mlp.dnn or models/lenet5.dnn on Fashion-MNIST.
 *
 * One program for both models: they share the input image[1,28,28], the
 * target label : class(10) and the output probs, so the model's prefix is
 * a macro and the generated header is included by name: build with
 *     cc -DMODEL=mlp -DMODEL_UC=MLP -I DIR-OF-mlp.h ...
 * Pixels are scaled by 1/255 and nothing else; every epoch reshuffles the
 * training set with dnn_rng seeded from the model's seed, trains in
 * mini-batches of the compiled batch size (the last one partial), then
 * prints the mean train loss, the test accuracy and the epoch's seconds.
 * The final weights go to a safetensors file.
 *
 * Usage: train [-n TRAIN] [-e EPOCHS] [-t TEST] [-s SEED] [-d DATADIR] [-o WEIGHTS]
 * (defaults: all images, the .dnn's epochs and seed, Debian's data directory,
 * MODEL.safetensors).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnn.h"
#include "dnn_data.h"
#include "dnn_host.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#include STR(MODEL.h) /* "mlp.h" */

#define JOIN_(a, b) a##_##b
#define JOIN(a, b) JOIN_(a, b)
#define M(name) JOIN(MODEL, name)     /* M(init) is mlp_init */
#define MC(name) JOIN(MODEL_UC, name) /* MC(BATCH) is MLP_BATCH */

#define BATCH MC(BATCH)
#define PIXELS MC(IMAGE_SIZE)
#define CLASSES MC(LABEL_CLASSES)

static M(model) model; /* megabytes of activations: keep them off the stack */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Loads DIR/PREFIX-{images-idx3,labels-idx1}-ubyte.gz, at most max samples. */
static void load(dnn_dataset *d, const char *dir, const char *prefix, int max) {
    char images[4096], labels[4096], msg[512];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (dnn_dataset_load(images, labels, PIXELS, CLASSES, max, 1.0f / 255, d, msg, sizeof msg) != DNN_OK) {
        fprintf(stderr, "fashion: %s\n", msg);
        exit(2);
    }
}

/* Percentage of the set whose most probable class is its label. */
static double accuracy(const dnn_dataset *test) {
    int correct = 0;
    for (int b = 0; b < test->count; b += BATCH) {
        int n = test->count - b < BATCH ? test->count - b : BATCH;
        float probs[BATCH][MC(PROBS_SIZE)];
        M(forward)(&model, test->x + (size_t)b * PIXELS, probs[0], n);
        for (int s = 0; s < n; s++) {
            int best = 0;
            for (int k = 1; k < CLASSES; k++)
                best = probs[s][k] > probs[s][best] ? k : best;
            correct += best == test->y[b + s];
        }
    }
    return 100.0 * correct / test->count;
}

static int save(const char *path) {
    size_t len = M(save)(&model, NULL, 0);
    void *buf = malloc(len);
    int rc = buf && M(save)(&model, buf, len) == len ? dnn_write_file_atomic(path, buf, len) : DNN_E_SPACE;
    free(buf);
    if (rc != DNN_OK)
        fprintf(stderr, "fashion: %s: %s\n", path, dnn_strerror(rc));
    return rc;
}

int main(int argc, char **argv) {
    int train_max = 0, test_max = 0, epochs = MC(EPOCHS);
    uint64_t seed = MC(SEED);
    const char *dir = "/usr/share/datasets/fashion-mnist", *out = STR(MODEL) ".safetensors";
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = argv[i + 1]; /* argv[argc] is NULL */
        if (!val || strlen(opt) != 2 || opt[0] != '-' || !strchr("netsdo", opt[1])) {
            fprintf(stderr, "usage: %s [-n TRAIN] [-e EPOCHS] [-t TEST] [-s SEED] [-d DATADIR] [-o WEIGHTS]\n",
                    argv[0]);
            return 2;
        }
        switch (opt[1]) {
        case 'n': train_max = atoi(val); break;
        case 'e': epochs = atoi(val); break;
        case 't': test_max = atoi(val); break;
        case 's': seed = strtoull(val, NULL, 10); break;
        case 'd': dir = val; break;
        case 'o': out = val; break;
        }
    }

    dnn_dataset train, test;
    load(&train, dir, "train", train_max);
    load(&test, dir, "t10k", test_max);
    printf("%s: %d training and %d test images, batch %d, %d epochs, seed %llu\n", STR(MODEL), train.count,
           test.count, BATCH, epochs, (unsigned long long)seed);

    /* Mini-batches are gathered through a permutation, reshuffled (Fisher–
     * Yates) every epoch from one generator seeded with the model's seed. */
    int *order = malloc(sizeof *order * (size_t)train.count);
    if (!order)
        return 2;
    for (int i = 0; i < train.count; i++)
        order[i] = i;
    dnn_rng rng;
    dnn_rng_seed(&rng, seed);
    M(init)(&model, seed);

    static float x[BATCH][PIXELS];
    static int32_t y[BATCH];
    double acc = 0;
    for (int epoch = 0; epoch < epochs; epoch++) {
        double start = now(), total = 0;
        M(set_epoch)(&model, epoch);
        for (int i = train.count - 1; i > 0; i--) {
            int j = (int)dnn_rng_below(&rng, (uint32_t)i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int b = 0; b < train.count; b += BATCH) {
            int n = train.count - b < BATCH ? train.count - b : BATCH;
            for (int s = 0; s < n; s++) {
                memcpy(x[s], train.x + (size_t)order[b + s] * PIXELS, sizeof x[s]);
                y[s] = train.y[order[b + s]];
            }
            total += M(train_step)(&model, x[0], y, n) * n;
        }
        double seconds = now() - start;
        acc = accuracy(&test);
        printf("epoch %d  train loss %.4f  test accuracy %.2f%%  %.1f s\n", epoch + 1, total / train.count, acc,
               seconds);
        fflush(stdout);
    }
    printf("test accuracy: %.2f%% on %d images\n", acc, test.count);

    free(order);
    dnn_dataset_free(&train);
    dnn_dataset_free(&test);
    return save(out) == DNN_OK ? 0 : 1;
}
