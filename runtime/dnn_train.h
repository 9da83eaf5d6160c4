/* dnn_train.h — the training program around a generated model.
 *
 * `dnnc --main model.dnn -o model.c` appends to the model's code a
 * description of the model (a dnn_program: its inputs, targets, outputs,
 * tensors, train settings, entry points behind generic wrappers and the
 * accessors that find the model's parts) and a main() that calls
 * dnn_main(). The program's commands — train, eval, predict, gradcheck,
 * check, augment — live in runtime/train, once, for every model; see
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

/* One `augment` setting of the train block: a random transform of an
 * input's training samples (docs/training.md, runtime/dnn_augment.h). */
enum {
    DNN_AUG_NOISE,   /* value: std; adds std·N(0, 1) to every element */
    DNN_AUG_HFLIP,   /* value: p; mirrors an image [C, H, W] left to right with probability p */
    DNN_AUG_CROP,    /* value: pad; zero-pads by pad pixels and crops H × W at a random place */
    DNN_AUG_ROTATE   /* value: degrees; rotates by an angle uniform in ±degrees, bilinear, zero fill */
};
typedef struct dnn_augment {
    int kind;        /* DNN_AUG_* */
    int input;       /* index into inputs */
    double value;
} dnn_augment;

/* Where the parts of a model struct are, as the program's view function
 * finds them: pointers into the struct m it was given. The generated code
 * knows the struct's layout; the runtime takes every address in it from
 * here (and from dnn_program's state, hparam, tensor, grad and f64_*
 * functions), never from offsets of its own. */
typedef struct dnn_model_view {
    float *params;      /* the parameter area: params_size floats, every tensor of NAME_tensors */
    float *lr;          /* the learning rate the next step uses (the schedule's) */
    int64_t *step;      /* optimizer steps taken */
    dnn_rng *rng;       /* the model's generator (dropout, ...) */
    const float *pred;  /* the scored prediction, [n][pred_size], after loss or backward; NULL when score is NONE */
} dnn_model_view;

typedef struct dnn_program {
    const char *name;            /* model name */
    const char *source;          /* the .dnn file it came from */
    size_t model_size;           /* sizeof(NAME_model) */
    int batch;                   /* NAME_BATCH */
    int min_batch;               /* the smallest n NAME_backward trains on: 2 when a batchnorm would see
                                    one value per channel (it returns DNN_E_ARG), else 1 (0: 1) */
    int ninputs, ntargets, noutputs;
    const dnn_io *inputs, *targets, *outputs;
    int num_tensors;             /* NAME_NUM_TENSORS */
    const dnn_tensor_info *tensors;
    size_t params_size;          /* floats in the parameter area (and in each optimizer state array) */
    int nstates;                 /* optimizer state arrays, laid out like the parameters */
    const char *const *state_names;
    /* what the loss compares: its prediction operand, kept in the model's
       activations after NAME_loss and NAME_backward (view's pred) */
    int score;                   /* DNN_SCORE_* */
    int score_target;            /* index into targets */
    int pred_size;
    float threshold, target_threshold;
    double chance_loss;          /* the loss of a uniform guess (ln C for a C-class cross_entropy), 0: not known */
    /* the train block */
    int epochs;
    uint64_t seed;
    int shuffle;
    double validation;           /* fraction held out, 0 for none */
    int early_stop, patience;
    double min_delta;
    double ema_decay;            /* 0: no average */
    const char *optimizer;
    int naugment;                /* augment settings, applied in this order to training batches */
    const dnn_augment *augment;
    /* the entry points: x[i] is input i, y[i] target i (float or int32), out[i] output i */
    void (*init)(void *m, uint64_t seed);
    void (*view)(void *m, dnn_model_view *v);  /* the parts of m: see dnn_model_view */
    float *(*state)(void *m, int i);            /* optimizer state array i (state_names[i]) of m */
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
    /* NAME_forward_mc (a model with dropout): forward in eval mode except that
       dropout samples masks, for Monte-Carlo dropout; NULL without dropout */
    void (*forward_mc)(void *m, const float *const *x, float *const *out, int n);
    /* gradcheck: the model once more in double precision (NAME_f64_*, the
       same steps with double for float), whose parameters and gradients
       are laid out like params; x[i] is input i and a float target y[i] is
       double here; a class target stays int32 */
    size_t f64_model_size;       /* sizeof(NAME_f64_model) */
    double *(*f64_params)(void *m64);           /* its parameter area */
    double *(*f64_grads)(void *m64);            /* its gradients */
    void (*f64_load)(void *m64, const void *m); /* m's parameters, buffers and random state into m64 */
    double (*f64_loss)(void *m64, const double *const *x, const void *const *y, int n);     /* train mode */
    double (*f64_backward)(void *m64, const double *const *x, const void *const *y, int n); /* train mode, gradients */
    /* run-time hyper-parameters (train --lr, --hparam NAME=V, ...): the
       optimizer's and schedule's, by their .dnn names, each a double in the
       model struct that hparam(m, i) points to; set_hparam is
       NAME_set_hparam_exact */
    int nhparams;
    const char *const *hparam_names;
    double *(*hparam)(void *m, int i);
    int (*set_hparam)(void *m, const char *name, double value);
    const char *schedule;        /* "step", "exponential", "inverse_time", "cosine", or NULL */
    int per_step;                /* the schedule counts optimizer steps, not epochs */
    int qat;                     /* `quantize int8;`: the float model fake-quantizes, its gradient is the
                                    straight-through estimator's; the double twin does not quantize */
} dnn_program;

/* The program: `NAME train|eval|predict|gradcheck|check [options] DATA...`.
 * Returns the exit status: 0 success, 1 bad data or a failed check,
 * 2 bad usage, 3 an output could not be written, 130 interrupted (after
 * saving a checkpoint). */
int dnn_main(const dnn_program *p, int argc, char **argv);

#endif
