/* dnn_train.h — the training program around a generated model.
 *
 * `dnnc --main model.dnn -o model.c` appends to the model's code a
 * description of the model (a dnn_program: its inputs, targets, outputs,
 * tensors, train settings and entry points behind generic wrappers) and a
 * main() that calls dnn_main(). The program's commands — train, eval,
 * predict, gradcheck, check — live here, once, for every model; see
 * docs/training.md.
 *
 * Host code: stdio, malloc, signals. Link with -ldnnrt -lz -lm.
 */
#ifndef DNN_TRAIN_H
#define DNN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dnn.h"

/* One input, target or output of the model, per sample. */
typedef struct dnn_io {
    const char *name;   /* as in the .dnn file */
    int size;           /* floats per sample (1 for a class target) */
    int rank;           /* per-sample shape */
    int shape[4];
    int classes;        /* a class target's number of classes; 0 otherwise */
} dnn_io;

/* How predictions are scored for the accuracy columns. */
enum {
    DNN_SCORE_NONE,      /* no accuracy (regression) */
    DNN_SCORE_ARGMAX,    /* argmax of the prediction against a class target (or a soft target's argmax) */
    DNN_SCORE_THRESHOLD  /* per element: (pred > threshold) == (target > target_threshold) */
};

typedef struct dnn_program {
    const char *name;            /* model name */
    const char *source;          /* the .dnn file it came from */
    size_t model_size;           /* sizeof(NAME_model) */
    int batch;                   /* NAME_BATCH */
    int ninputs, ntargets, noutputs;
    const dnn_io *inputs, *targets, *outputs;
    int num_tensors;             /* NAME_NUM_TENSORS */
    const dnn_tensor_info *tensors;
    size_t params_size;          /* floats in the parameter area (and in each optimizer state array) */
    int nstates;                 /* optimizer state arrays, laid out like the parameters */
    const char *const *state_names;
    const size_t *state_offsets; /* byte offsets in the model struct */
    size_t params_offset, lr_offset, step_offset, rng_offset; /* byte offsets in the model struct */
    /* what the loss compares: its prediction operand, kept in the model's
       activations after NAME_loss and NAME_backward */
    int score;                   /* DNN_SCORE_* */
    int score_target;            /* index into targets */
    size_t pred_offset;          /* byte offset of the prediction, [n][pred_size] floats */
    int pred_size;
    float threshold, target_threshold;
    /* the train block */
    int epochs;
    uint64_t seed;
    int shuffle;
    double validation;           /* fraction held out, 0 for none */
    int early_stop, patience;
    double min_delta;
    double ema_decay;            /* 0: no average */
    const char *optimizer;
    /* the entry points: x[i] is input i, y[i] target i (float or int32), out[i] output i */
    void (*init)(void *m, uint64_t seed);
    void (*forward)(void *m, const float *const *x, float *const *out, int n);
    float (*loss)(void *m, const float *const *x, const void *const *y, int n);
    float (*backward)(void *m, const float *const *x, const void *const *y, int n);
    void (*step)(void *m);
    void (*set_epoch)(void *m, int epoch);
    float *(*tensor)(void *m, int i);
    float *(*grad)(void *m, int i);
    /* dnnc --check-finite: the first result that held a NaN or infinity
       (NAME_model's nonfinite), or NULL; the member is NULL without the flag */
    const char *(*nonfinite)(void *m);
    /* run-time hyper-parameters (train --lr, --hparam NAME=V, ...): the
       optimizer's and schedule's, by their .dnn names, each a double in the
       model struct at hparam_offsets[i]; set_hparam is NAME_set_hparam_exact */
    int nhparams;
    const char *const *hparam_names;
    const size_t *hparam_offsets;
    int (*set_hparam)(void *m, const char *name, double value);
    const char *schedule;        /* "step", "exponential", "inverse_time", "cosine", or NULL */
    int per_step;                /* the schedule counts optimizer steps, not epochs */
} dnn_program;

/* The program: `NAME train|eval|predict|gradcheck|check [options] DATA...`.
 * Returns the exit status: 0 success, 1 bad data or a failed check,
 * 2 bad usage, 3 an output could not be written, 130 interrupted (after
 * saving a checkpoint). */
int dnn_main(const dnn_program *p, int argc, char **argv);

#endif
