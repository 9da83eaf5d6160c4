/* train.c — trains models/iris.dnn on Fisher's iris data (iris.csv):
 * a seeded shuffle, 120 flowers to train on and 30 held out, features
 * standardised with the training set's mean and deviation, mini-batches of
 * IRIS_BATCH (the last one partial), then the held-out accuracy.
 * Usage: ./iris iris.csv   (exit 1 if held-out accuracy is below 95%) */
#include <math.h>
#include <stdio.h>

#include "dnn.h"
#include "iris.h"

#define ROWS 150
#define TRAIN 120

static float features[ROWS][IRIS_FEATURES_SIZE];
static int32_t species[ROWS];

static int read_csv(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[256];
    int n = 0, lineno = 1;
    if (!fgets(line, sizeof line, f)) /* header */
        n = -1;
    while (n >= 0 && n < ROWS && fgets(line, sizeof line, f)) {
        float *x = features[n];
        lineno++;
        if (sscanf(line, "%f,%f,%f,%f,%d", &x[0], &x[1], &x[2], &x[3], &species[n]) != 5 || species[n] < 0 ||
            species[n] >= IRIS_SPECIES_CLASSES) {
            fprintf(stderr, "%s:%d: expected four numbers and a class 0..2\n", path, lineno);
            n = -1;
        } else
            n++;
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    static iris_model m;
    const char *path = argc > 1 ? argv[1] : "examples/iris/iris.csv";
    if (read_csv(path) != ROWS) {
        fprintf(stderr, "%s: expected %d flowers\n", path, ROWS);
        return 2;
    }

    /* seeded shuffle (Fisher–Yates) and split */
    dnn_rng rng;
    dnn_rng_seed(&rng, IRIS_SEED);
    for (int i = ROWS - 1; i > 0; i--) {
        int j = (int)dnn_rng_below(&rng, (uint32_t)i + 1);
        for (int k = 0; k < IRIS_FEATURES_SIZE; k++) {
            float t = features[i][k];
            features[i][k] = features[j][k];
            features[j][k] = t;
        }
        int32_t t = species[i];
        species[i] = species[j];
        species[j] = t;
    }

    /* standardise with the training rows' statistics */
    for (int k = 0; k < IRIS_FEATURES_SIZE; k++) {
        double mean = 0, var = 0;
        for (int i = 0; i < TRAIN; i++)
            mean += features[i][k] / TRAIN;
        for (int i = 0; i < TRAIN; i++)
            var += (features[i][k] - mean) * (features[i][k] - mean) / TRAIN;
        for (int i = 0; i < ROWS; i++)
            features[i][k] = (float)((features[i][k] - mean) / sqrt(var));
    }

    iris_init(&m, IRIS_SEED);
    for (int epoch = 0; epoch < IRIS_EPOCHS; epoch++) {
        iris_set_epoch(&m, epoch);
        double total = 0;
        for (int b = 0; b < TRAIN; b += IRIS_BATCH) {
            int n = TRAIN - b < IRIS_BATCH ? TRAIN - b : IRIS_BATCH;
            total += iris_train_step(&m, features[b], &species[b], n) * n;
        }
        if (epoch % 20 == 0 || epoch == IRIS_EPOCHS - 1)
            printf("epoch %3d  train loss %.4f\n", epoch, total / TRAIN);
    }

    int correct = 0;
    for (int i = TRAIN; i < ROWS; i++) {
        float probs[IRIS_PROBS_SIZE];
        iris_forward(&m, features[i], probs, 1);
        int best = 0;
        for (int k = 1; k < IRIS_PROBS_SIZE; k++)
            best = probs[k] > probs[best] ? k : best;
        correct += best == species[i];
    }
    double accuracy = (double)correct / (ROWS - TRAIN);
    printf("held-out accuracy: %d/%d = %.1f%%\n", correct, ROWS - TRAIN, 100 * accuracy);
    return accuracy >= 0.95 ? 0 : 1;
}
