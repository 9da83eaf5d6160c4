/* train.h — what the files of the training program (runtime/train, see
 * dnn_train.c) share; not installed. The types every command works on,
 * then, a section per file, the functions it lends the others. Those are
 * named dnn_... like the API, so that libdnnrt.a defines no other names,
 * but only this header declares them; the small helpers every file uses
 * (messages, allocation) are static inline here.
 */
#ifndef DNN_TRAIN_PRIVATE_H
#define DNN_TRAIN_PRIVATE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn_report.h"
#include "dnn_train.h"

#define MAX_SLOTS 16 /* inputs + targets a program can feed */
#define CKPT_FORMAT "dnnc-checkpoint-1" /* dnn.format of a checkpoint */
#define MAX_HPARAMS 16 /* hyper-parameters one command line can set */

/* ---- messages (dnn_train.c) ------------------------------------------------------- */

extern const char *dnn_prog_name; /* the program's name, as it was run */

static inline void fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: error: ", dnn_prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static inline void note(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: note: ", dnn_prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static inline void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fail("out of memory");
        exit(1);
    }
    return p;
}

static inline int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    if (a < b)
        return 0;
    for (size_t i = 0; i < b; i++)
        if ((s[a - b + i] | 0x20) != (suffix[i] | 0x20))
            return 0;
    return 1;
}

static inline char *text_of(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xcalloc((size_t)n + 1, 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- options.c ----------------------------------------------------------------------- */

typedef struct Pairs {           /* a repeatable NAME=VALUE option */
    const char *v[MAX_SLOTS];
    int n;
} Pairs;

typedef struct Options {
    const char *command;
    const char *files[MAX_SLOTS]; int nfiles; /* DATA */
    char *lists[MAX_SLOTS]; int nlists;       /* the DATA arguments, split in place */
    const char *val;              /* --val DATA (comma-separated files) */
    const char *weights;          /* --weights: start from these */
    const char *init_from;        /* --init-from: take the tensors that fit from this file */
    Pairs init_maps;              /* --init-map FROM=TO: name prefixes of --init-from's file */
    const char *save;             /* --save: weights file (checkpoint, log, plot beside it) */
    const char *resume;           /* --resume: checkpoint or run directory; "" for the latest run */
    const char *log;              /* --log: CSV log (the SVG goes beside it) */
    const char *out;              /* predict: --out FILE (.csv or .npy); train: --out DIR; calibrate: -o FILE */
    const char *confusion;        /* eval: --confusion FILE.csv */
    const char *golden;           /* check: --golden FILE */
    const char *class_names;      /* --class-names A,B,...: names of the scored target's classes */
    Pairs maps;                   /* --map NAME=COLUMNS */
    int epochs;                   /* --epochs, -1: the model's */
    long long seed;               /* --seed, -1: the model's */
    long limit;                   /* --limit: first N samples, 0: all */
    double scale;                 /* --scale, NAN: none given */
    int standardize;              /* --standardize: PER_ELEMENT or PER_CHANNEL (=channel); 0 none */
    int center;                   /* --center: the same, means only */
    int quiet;                    /* --quiet: no progress */
    int threads;                  /* --threads, 0: dnn_cores() */
    double eps, tol, float_tol;   /* gradcheck */
    double rtol, atol;            /* check */
    int coords;                   /* gradcheck: elements per tensor */
    long stop_after;              /* --stop-after: act as if interrupted after N batches (tests resume) */
    int mc_samples;               /* predict --mc-samples: forward passes with dropout, 0: one in eval mode */
    int help;                     /* --help */
    /* train: hyper-parameters instead of the .dnn's (--lr, --hparam NAME=V, ...), by .dnn name */
    char hp_names[MAX_HPARAMS][32];
    const char *hp_options[MAX_HPARAMS]; /* the option that gave each (its row's name), for messages */
    double hp_values[MAX_HPARAMS];
    int nhp;
} Options;

enum { PER_ELEMENT = 1, PER_CHANNEL = 2 }; /* --standardize, --center: whose statistics */

int dnn_parse_options(const dnn_program *p, int argc, char **argv, Options *o);

/* ---- load.c -------------------------------------------------------------------------- */

/* A data set: for each slot (inputs, then targets) count samples of its size. */
typedef struct Data {
    long count;
    int nslots;
    float *x[MAX_SLOTS];       /* float slots: [count][size] */
    unsigned char *u8[MAX_SLOTS]; /* or byte slots (an IDX u8 file's input): [count][size], as read */
    float lut[MAX_SLOTS][256]; /* a byte slot's values after --scale, from dnn_prep_apply */
    const float *mean[MAX_SLOTS], *std[MAX_SLOTS]; /* and the Prep's statistics (std NULL: centred only), or NULL */
    int32_t *y[MAX_SLOTS];     /* class slots: [count] */
} Data;

/* The names of each class slot's classes, which fix the class index of a
 * text label. They come from --class-names, the weights or checkpoint, or
 * the training data's text labels in sorted order, and are saved with the
 * weights, so every later file's labels get the same indices. */
typedef struct Classes {
    char **names[MAX_SLOTS];     /* [count] names, NULL where unnamed; NULL: none known */
    int count[MAX_SLOTS];        /* the slot's classes, when names is set */
    char *from[MAX_SLOTS];       /* where they came from, for messages */
    int learn;                   /* the data being read may set them (train, gradcheck) */
} Classes;

/* Each input is scaled, x = (float)(raw · scale) with the product in double,
 * then standardised, (x − mean) / std, or centred, x − mean, in float. The
 * statistics are per element of the input or per channel — the input's
 * first dimension, so one mean and std per C of [C, H, W] as torchvision's
 * Normalize — and are held here repeated over each channel's positions. */
typedef struct Prep {
    double scale;              /* 1 when none */
    float *mean[MAX_SLOTS];    /* per input element, or NULL */
    float *std[MAX_SLOTS];     /* the same, or NULL: centred only */
    int groups[MAX_SLOTS];     /* how many statistics: the input's size, or its channels */
} Prep;

const char *dnn_shown(const char *path);
int dnn_read_input(const char *path, void **buf, size_t *len);
const dnn_io *dnn_slot_io(const dnn_program *p, int s);
void dnn_data_free(Data *d);
void dnn_classes_free(Classes *k);
void dnn_classes_set(Classes *k, int s, int classes, char *const *names, int n, const char *from);
const char *dnn_classes_list(const Classes *k, int s);
void dnn_data_floats(const dnn_program *p, Data *d);
int dnn_load_data(const dnn_program *p, const Options *o, Classes *k, const char *const *files, int nfiles, int nslots, Data *d);
void dnn_prep_free(Prep *pr);
void dnn_prep_apply(const dnn_program *p, const Prep *pr, Data *d);
void dnn_prep_fit_options(const dnn_program *p, const Options *o, Prep *pr, const Data *d, const long *idx, long n);

/* ---- files.c ------------------------------------------------------------------------- */

typedef struct Run {
    const dnn_program *p;
    Options o;
    void *m;                   /* the model struct */
    dnn_model_view v;          /* where its parts are (p->view) */
    Prep prep;
    Classes classes;           /* the class names of the class targets */
} Run;

/* Metadata pairs of the weights file: the preprocessing. */
typedef struct Meta {
    const char *kv[2 * (3 * MAX_SLOTS + 4)];
    char *owned[3 * MAX_SLOTS + 4];
    int n, nowned;
} Meta;

enum { META_PREP = 1, META_NAMES = 2 }; /* what meta_from reads */

void dnn_meta_add(Meta *mt, const char *key, char *value);
void dnn_meta_free(Meta *mt);
int dnn_named_slot(const dnn_program *p);
void dnn_prep_meta(const Run *r, Meta *mt);
int dnn_read_whole(const char *path, void **buf, size_t *len);
void dnn_tensor_ptrs(const Run *r, float **dst);
int dnn_load_weights(Run *r, const char *path, int what);
int dnn_train_meta(Run *r, const char *from);
int dnn_save_weights(const Run *r, const char *path);
int dnn_start_weights(Run *r, uint64_t seed, int what);

/* ---- eval.c -------------------------------------------------------------------------- */

/* Staging buffers for one batch, in the entry points' argument form. */
typedef struct Batch {
    float *x[MAX_SLOTS];
    void *y[MAX_SLOTS];
    float *out[MAX_SLOTS];
} Batch;

void dnn_batch_alloc(const dnn_program *p, Batch *b);
void dnn_batch_free(const dnn_program *p, Batch *b);
void dnn_batch_fill(const dnn_program *p, const Data *d, const long *idx, int n, Batch *b);
void dnn_score(const Run *r, const Batch *b, int n, long *correct, long *total, int *pred);
void dnn_evaluate(const Run *r, const Data *d, const long *idx, long count, double *loss, double *acc, long *counts);
int dnn_cmd_eval(Run *r);
int dnn_cmd_predict(Run *r);
int dnn_cmd_calibrate(Run *r);

/* ---- runs.c -------------------------------------------------------------------------- */

typedef struct Loop {
    int epoch;                 /* epoch being run (0-based) */
    long batch;                /* batches of it already done */
    dnn_rng shuffle;           /* the shuffle generator at the start of the epoch */
    dnn_rng augment;           /* the augmentation generator now (it runs on across epochs) */
    double loss_sum;           /* this epoch so far: Σ batch loss × n */
    long correct, scored, seen;
    double seconds;            /* this epoch's time before an interruption */
    double best_loss;          /* early stopping */
    int best_epoch, bad_epochs;
    dnn_epoch_row *rows;       /* the log so far */
    int nrows;
    float *ema;                /* the weight average, or NULL */
    float *best;               /* the best weights, or NULL */
} Loop;

#define RUNS "runs"

int dnn_apply_hparams(const Run *r);
int dnn_check_resumed_hparams(const Run *r, const char *ckpt);
int dnn_write_settings(const Run *r, const char *path, int epochs, uint64_t seed);
int dnn_save_checkpoint(const Run *r, const Loop *l, const char *path);
int dnn_ckpt_array(const void *buf, size_t len, const char *name, float *dst, size_t n, const char *path);
int dnn_load_checkpoint(Run *r, Loop *l, const char *path);
int dnn_run_files(const Run *r, char **save, char **from);
int dnn_place_files(const Run *r, char **save, const char *from, char **run, char **ckpt, char **log, char **svg, char **settings);
const char *dnn_resume_hint(const Run *r, const char *ckpt, char *buf, size_t cap);

/* ---- augment.c ----------------------------------------------------------------------- */

#define AUGMENT_STREAM 0xa06e0716ULL

void dnn_augment_batch(const Run *r, Batch *b, int n, dnn_rng *rng);
int dnn_cmd_augment(Run *r);

/* ---- loop.c -------------------------------------------------------------------------- */

char *dnn_beside(const char *path, const char *ext);
const char *dnn_chance_text(const dnn_program *p, char *buf, size_t cap);
int dnn_cmd_train(Run *r);

/* ---- gradcheck.c --------------------------------------------------------------------- */

int dnn_cmd_gradcheck(Run *r);
int dnn_cmd_check(Run *r);

#endif
