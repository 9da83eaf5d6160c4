/* dnn_train.c — the commands of a training program (dnnc --main).
 *
 * One driver for every model: the generated code describes the model in a
 * dnn_program and this file does the rest — reading data (CSV, IDX, NPY),
 * mini-batch training with shuffling, validation, early stopping and a
 * weight average, progress and logs, atomic checkpoints that resume
 * bit-identically, evaluation with a confusion matrix, prediction,
 * gradient checking and golden-output checks. docs/training.md is the
 * user's guide.
 *
 * The model struct holds no pointers, so a copy of its bytes is a complete
 * snapshot (gradcheck restores one before every loss evaluation).
 */
#define _POSIX_C_SOURCE 200809L
#include "dnn_train.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnn_augment.h"
#include "dnn_data.h"
#include "dnn_host.h"
#include "dnn_report.h"

#define MAX_SLOTS 16 /* inputs + targets a program can feed */
#define CKPT_FORMAT "dnnc-checkpoint-1" /* dnn.format of a checkpoint */
#define MAX_HPARAMS 16 /* hyper-parameters one command line can set */

/* ---- messages ------------------------------------------------------------------- */

static const char *prog_name = "model";

static void fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: error: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void note(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: note: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fail("out of memory");
        exit(1);
    }
    return p;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    if (a < b)
        return 0;
    for (size_t i = 0; i < b; i++)
        if ((s[a - b + i] | 0x20) != (suffix[i] | 0x20))
            return 0;
    return 1;
}

static char *text_of(const char *fmt, ...) {
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

/* ---- options ----------------------------------------------------------------------
 * getopt_long over a table with one row per option (option_rows below): its
 * name, what its value is and where it goes, and its line of the usage
 * text. Values may follow as `--epochs=3` or `--epochs 3`; unambiguous
 * prefixes work (`--epo 3`); a misspelt option gets a suggestion. Adding
 * an option is a field in Options and a row. */

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
    const char *out;              /* predict: --out FILE (.csv or .npy); train: --out DIR */
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

typedef enum ArgKind {
    ARG_FLAG,     /* int, set to 1 */
    ARG_STRING,   /* const char * */
    ARG_OPTIONAL, /* const char *: "" when given without a value (--resume) */
    ARG_PAIRS,    /* Pairs: NAME=VALUE, repeatable */
    ARG_PER,      /* int: PER_ELEMENT alone or =feature, PER_CHANNEL =channel (--standardize, --center) */
    ARG_INT,      /* int from lo to hi */
    ARG_LONG,     /* long from lo to hi */
    ARG_LLONG,    /* long long from lo to hi */
    ARG_POSITIVE, /* double > 0, also as a fraction (1/255) */
    ARG_HPARAM,   /* a number for the hyper-parameter named like the option, '_' for '-' (--min-lr: min_lr) */
    ARG_HPARAMS   /* NAME=X: any hyper-parameter by its .dnn name (--hparam) */
} ArgKind;

typedef struct OptionRow {
    const char *name;   /* --name */
    char short_name;    /* -x, or 0 */
    ArgKind kind;
    size_t field;       /* offsetof(Options, ...) */
    long long lo, hi;   /* ARG_INT, ARG_LONG, ARG_LLONG: the values accepted */
    const char *arg;    /* the value in the usage text ("N", "FILE") */
    const char *help;   /* the usage text; '\n' continues it on the next line */
} OptionRow;

#define FIELD(f) offsetof(Options, f)
static const OptionRow option_rows[] = {
    {"weights", 0, ARG_STRING, FIELD(weights), 0, 0, "FILE",
     "start from these weights (safetensors, PyTorch names: all of the\n"
     "model's tensors, nothing else)"},
    {"init-from", 0, ARG_STRING, FIELD(init_from), 0, 0, "FILE",
     "train, eval, gradcheck: start from the tensors of FILE whose name and\n"
     "shape fit (another model's weights: transfer learning); the rest are\n"
     "initialised as usual; a report says which"},
    {"init-map", 0, ARG_PAIRS, FIELD(init_maps), 0, 0, "FROM=TO",
     "--init-from: FILE's tensors named FROM... are the model's TO... (a name\n"
     "prefix; repeatable), e.g. --init-map encoder.=features."},
    {"save", 0, ARG_STRING, FIELD(save), 0, 0, "FILE",
     "train: the weights go to FILE, the checkpoint, log, curves and settings\n"
     "beside it (FILE without .safetensors, plus .ckpt, .log.csv, .svg,\n"
     ".settings.json; in a run directory when FILE is a device); default: a new\n"
     "run directory runs/NAME-N/ each time, runs/latest pointing to it"},
    {"out", 0, ARG_STRING, FIELD(out), 0, 0, "FILE",
     "predict: write to FILE (.csv, .npy, or .safetensors: a golden file of\n"
     "the inputs and outputs for check and dnnc --emit=selftest; '-': stdout);\n"
     "augment: .png, .safetensors or .npy (see augment above);\n"
     "train: the run's files go to the directory FILE instead of runs/NAME-N/"},
    {"resume", 0, ARG_OPTIONAL, FIELD(resume), 0, 0, "[=CKPT]",
     "continue an interrupted run (same data and options) where it stopped:\n"
     "alone, the latest run of runs/; or a checkpoint file or run directory\n"
     "(--resume=CKPT, or --resume CKPT for a directory or a checkpoint)"},
    {"val", 0, ARG_STRING, FIELD(val), 0, 0, "DATA",
     "validation data (default: the train block's validation split, if any)"},
    {"epochs", 0, ARG_INT, FIELD(epochs), 1, 1000000, "N", "train this many epochs in all, instead of the .dnn's"},
    {"seed", 0, ARG_LLONG, FIELD(seed), 0, LLONG_MAX, "N",
     "shuffling, split, initialisation and dropout seed, instead of the .dnn's"},
    {"limit", 0, ARG_LONG, FIELD(limit), 1, 2000000000L, "N", "use only the first N samples of each data set"},
    {"scale", 0, ARG_POSITIVE, FIELD(scale), 0, 0, "S", "multiply every input by S (e.g. 1/255); kept in the weights file"},
    {"standardize", 0, ARG_PER, FIELD(standardize), 0, 0, "[=channel]",
     "subtract the training inputs' mean and divide by their standard\n"
     "deviation, per feature, or per channel (the first dimension: C of\n"
     "[C, H, W], as torchvision's Normalize); kept in the weights file"},
    {"center", 0, ARG_PER, FIELD(center), 0, 0, "[=channel]",
     "subtract the mean only, per feature (or per channel)"},
    {"map", 0, ARG_PAIRS, FIELD(maps), 0, 0, "NAME=COLS",
     "take NAME (an input or target) from these CSV columns: header names\n"
     "or 1-based numbers and ranges, comma-separated (e.g. x=2-5, y=species)"},
    {"class-names", 0, ARG_STRING, FIELD(class_names), 0, 0, "A,B",
     "the classes' names in class order: a CSV's text labels get these\n"
     "indices; kept in the weights file (default: the weights' names, or\n"
     "when training the text labels in sorted order)"},
    {"log", 0, ARG_STRING, FIELD(log), 0, 0, "FILE",
     "train: the per-epoch CSV log (default: beside the weights, .log.csv);\n"
     "the SVG plot of the curves and the settings go beside it (.svg,\n"
     ".settings.json)"},
    {"quiet", 'q', ARG_FLAG, FIELD(quiet), 0, 0, NULL, "no progress bar or per-epoch lines"},
    {"mc-samples", 0, ARG_INT, FIELD(mc_samples), 2, 1000000, "N",
     "predict: the mean and standard deviation of N forward passes with\n"
     "dropout active (Monte-Carlo dropout; batchnorm stays in eval mode)"},
    {"confusion", 0, ARG_STRING, FIELD(confusion), 0, 0, "FILE", "eval: also write the confusion matrix as CSV"},
    {"golden", 0, ARG_STRING, FIELD(golden), 0, 0, "FILE",
     "check: safetensors with inputs and expected outputs, [N, ...] each"},
    {"rtol", 0, ARG_POSITIVE, FIELD(rtol), 0, 0, "R", "check: relative tolerance, |got - want| <= A + R |want| (1e-4)"},
    {"atol", 0, ARG_POSITIVE, FIELD(atol), 0, 0, "A", "check: absolute tolerance (1e-5)"},
    {"eps", 0, ARG_POSITIVE, FIELD(eps), 0, 0, "E", "gradcheck: step of the central differences (1e-6)"},
    {"tol", 0, ARG_POSITIVE, FIELD(tol), 0, 0, "T",
     "gradcheck: largest relative error accepted in double precision (1e-4)"},
    {"float-tol", 0, ARG_POSITIVE, FIELD(float_tol), 0, 0, "T",
     "gradcheck: largest relative error accepted of the float gradient (1e-2)"},
    {"coords", 0, ARG_INT, FIELD(coords), 1, INT_MAX, "K",
     "gradcheck: elements checked per tensor, those of largest gradient (5)"},
    {"stop-after", 0, ARG_LONG, FIELD(stop_after), 1, LONG_MAX, "N",
     "train: stop after N batches as ^C would (to try --resume)"},
    {"lr", 0, ARG_HPARAM, 0, 0, 0, "X", "train: this learning rate instead of the .dnn's, without recompiling"},
    {"momentum", 0, ARG_HPARAM, 0, 0, 0, "X",
     "train: this momentum (0 or more) instead of the .dnn's (a model compiled\n"
     "without momentum has no momentum to set)"},
    {"weight-decay", 0, ARG_HPARAM, 0, 0, 0, "X", "train: this weight decay (0 or more) instead of the .dnn's"},
    {"gamma", 0, ARG_HPARAM, 0, 0, 0, "X", "train: the schedule's gamma instead of the .dnn's"},
    {"every", 0, ARG_HPARAM, 0, 0, 0, "N", "train: the step schedule's every instead of the .dnn's"},
    {"period", 0, ARG_HPARAM, 0, 0, 0, "N", "train: the cosine schedule's period instead of the .dnn's"},
    {"min-lr", 0, ARG_HPARAM, 0, 0, 0, "X", "train: the cosine schedule's min_lr instead of the .dnn's"},
    {"hparam", 0, ARG_HPARAMS, 0, 0, 0, "NAME=X",
     "train: any of the model's hyper-parameters by its .dnn name, e.g.\n"
     "beta1=0.8 (see below; repeatable, the last one given wins); the run's\n"
     "values go to FILE.settings.json beside the log, and into the checkpoint"},
    {"help", 'h', ARG_FLAG, FIELD(help), 0, 0, NULL, "this text"},
};
#define NUM_OPTIONS ((int)(sizeof option_rows / sizeof *option_rows))

/* What getopt_long is told of a row's value. */
static int takes_value(const OptionRow *row) {
    return row->kind == ARG_FLAG ? no_argument
           : row->kind == ARG_OPTIONAL || row->kind == ARG_PER ? optional_argument
                                                              : required_argument;
}

static double parse_fraction(const char *s, int *ok) {
    char *end;
    double a = strtod(s, &end), b = 1;
    if (*end == '/') {
        b = strtod(end + 1, &end);
    }
    *ok = end != s && *end == 0 && isfinite(a) && isfinite(b) && b != 0;
    return a / b;
}

enum { PER_ELEMENT = 1, PER_CHANNEL = 2 }; /* --standardize, --center: whose statistics */

/* Records hyper-parameter `name` = `value` from the option of row `opt`
 * (the last one given wins); 0, or 1 after a message. */
static int add_hparam(Options *o, const char *opt, const char *name, const char *value) {
    int ok, i = 0;
    double v = parse_fraction(value, &ok);
    if (!ok) {
        fail("--%s takes a number, not '%s'", opt, value);
        return 1;
    }
    if (!*name || strlen(name) >= sizeof o->hp_names[0]) {
        fail("--%s: '%s' is not a hyper-parameter's name (lr, momentum, weight_decay, beta1, ...)", opt, name);
        return 1;
    }
    while (i < o->nhp && strcmp(o->hp_names[i], name))
        i++;
    if (i == MAX_HPARAMS) {
        fail("more than %d hyper-parameters on the command line", MAX_HPARAMS);
        return 1;
    }
    strcpy(o->hp_names[i], name);
    o->hp_options[i] = opt;
    o->hp_values[i] = v;
    o->nhp += i == o->nhp;
    return 0;
}

/* Stores the value of one option; 0, or 1 after a message. */
static int set_option(Options *o, const OptionRow *row, const char *value) {
    char *at = (char *)o + row->field, *end;
    long long v = 0;
    if (row->kind >= ARG_INT && row->kind <= ARG_LLONG) {
        errno = 0;
        v = strtoll(value, &end, 10);
        if (end == value || *end || errno || v < row->lo || v > row->hi) {
            if (row->hi == LLONG_MAX || row->hi == LONG_MAX || row->hi == INT_MAX)
                fail("--%s takes a whole number of at least %lld, not '%s'", row->name, row->lo, value);
            else
                fail("--%s takes a whole number from %lld to %lld, not '%s'", row->name, row->lo, row->hi, value);
            return 1;
        }
    }
    switch (row->kind) {
    case ARG_FLAG: *(int *)at = 1; break;
    case ARG_STRING: *(const char **)at = value; break;
    case ARG_OPTIONAL: *(const char **)at = value ? value : ""; break;
    case ARG_INT: *(int *)at = (int)v; break;
    case ARG_LONG: *(long *)at = (long)v; break;
    case ARG_LLONG: *(long long *)at = v; break;
    case ARG_PAIRS: {
        Pairs *pairs = (Pairs *)at;
        if (!strchr(value, '=')) {
            fail("--%s takes %s, not '%s'", row->name, row->arg, value);
            return 1;
        }
        if (pairs->n == MAX_SLOTS) {
            fail("--%s: at most %d of them", row->name, MAX_SLOTS);
            return 1;
        }
        pairs->v[pairs->n++] = value;
        break;
    }
    case ARG_POSITIVE: {
        int ok;
        double d = parse_fraction(value, &ok);
        if (!ok || d <= 0) {
            fail("--%s takes a positive number, not '%s'", row->name, value);
            return 1;
        }
        *(double *)at = d;
        break;
    }
    case ARG_PER:
        if (value && strcmp(value, "feature") && strcmp(value, "channel")) {
            fail("--%s takes =channel (per channel) or =feature (the default), not '%s'", row->name, value);
            return 1;
        }
        *(int *)at = value && !strcmp(value, "channel") ? PER_CHANNEL : PER_ELEMENT;
        break;
    case ARG_HPARAM: {
        char name[32];
        snprintf(name, sizeof name, "%s", row->name);
        for (char *q = name; (q = strchr(q, '-'));)
            *q = '_';
        return add_hparam(o, row->name, name, value);
    }
    case ARG_HPARAMS: {
        char name[64];
        const char *eq = strchr(value, '=');
        if (!eq) {
            fail("--hparam takes NAME=VALUE, e.g. --hparam beta1=0.8");
            return 1;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - value) < 63 ? (int)(eq - value) : 63, value);
        return add_hparam(o, row->name, name, eq + 1);
    }
    }
    return 0;
}

/* The options part of --help: "  -q, --quiet        help", continuation lines aligned. */
static void option_usage(FILE *out) {
    for (int i = 0; i < NUM_OPTIONS; i++) {
        const OptionRow *row = &option_rows[i];
        char head[64] = "";
        if (row->short_name)
            snprintf(head, sizeof head, "-%c, ", row->short_name);
        snprintf(head + strlen(head), sizeof head - strlen(head), "--%s%s%s", row->name,
                 row->arg && takes_value(row) == required_argument ? " " : "", row->arg ? row->arg : "");
        if (strlen(head) > 17) /* no room for a space before the help: it starts below */
            fprintf(out, "  %s\n  %-19s", head, "");
        else
            fprintf(out, "  %-19s", head);
        for (const char *h = row->help; *h;) {
            size_t len = strcspn(h, "\n");
            fprintf(out, "%.*s\n", (int)len, h);
            h += len;
            if (*h && *++h)
                fprintf(out, "  %-19s", "");
        }
    }
}

/* The few lines printed when the program is run without arguments. */
static void short_usage(const dnn_program *p, FILE *out) {
    fprintf(out,
            "usage: %s COMMAND [options] DATA...   (the training program of model '%s')\n"
            "commands: train, eval, predict, gradcheck, check, augment\n"
            "  %s train data.csv                      # writes runs/%s-1/, runs/latest\n"
            "  %s eval test.csv --weights runs/latest/%s.safetensors\n"
            "see '%s --help' for the data it takes and every option\n",
            prog_name, p->name, prog_name, p->name, prog_name, p->name, prog_name);
}

static void usage(const dnn_program *p, FILE *out) {
    fprintf(out,
            "usage: %s COMMAND [options] DATA...\n"
            "\n"
            "The training program of model '%s' (%s), generated by dnnc --main.\n"
            "\n"
            "commands:\n"
            "  train DATA...      train (the .dnn's train block: %d epoch%s, batch %d, %s, seed %llu)\n"
            "  eval DATA...       loss and accuracy, and a confusion matrix for a classifier (of\n"
            "                     --weights, or of the initial weights without it)\n"
            "  predict DATA...    the outputs for the inputs in DATA, as CSV or .npy (needs --weights)\n"
            "  gradcheck DATA...  the backward pass against central differences on the first batch\n"
            "  check --golden G   forward on G's stored inputs, compared with its stored outputs\n"
            "  augment DATA...    the train block's augmentation applied once to each sample (needs --out:\n"
            "                     .png to look at, .safetensors with the random draws, or .npy)\n"
            "\n"
            "DATA: files that fill the model's inputs, then its targets, in declaration order:\n",
            prog_name, p->name, p->source, p->epochs, p->epochs == 1 ? "" : "s", p->batch, p->optimizer,
            (unsigned long long)p->seed);
    for (int i = 0; i < p->ninputs + p->ntargets; i++) {
        const dnn_io *s = i < p->ninputs ? &p->inputs[i] : &p->targets[i - p->ninputs];
        if (s->classes)
            fprintf(out, "  %-8s target, a class index 0..%d per sample\n", s->name, s->classes - 1);
        else
            fprintf(out, "  %-8s %s, %d float%s per sample\n", s->name, i < p->ninputs ? "input " : "target", s->size,
                    s->size == 1 ? "" : "s");
    }
    fprintf(out,
            "  A .csv file fills as many of them as it has columns for: all by header name (NAME, or\n"
            "  NAME.0, NAME.1, ... for a wider one) or all by position; text labels become the classes\n"
            "  the weights name (sorted, when training). An IDX file (MNIST's format, gzip or not) or a\n"
            "  .npy file fills one. Several files may be given, separated by spaces or commas. '-'\n"
            "  reads one of them (or --val's, --weights, --init-from or --golden) from standard input.\n"
            "\n"
            "options (--name=VALUE or --name VALUE; a name may be shortened while it stays unique):\n");
    option_usage(out);
    fprintf(out,
            "\n"
            "exit status: 0 success, 1 bad data or a failed check, 2 bad usage, 3 an output could not\n"
            "be written, 130 interrupted (after a checkpoint)\n"
            "\n"
            "examples:\n"
            "  %s train data.csv --val val.csv          # runs/%s-1/: weights, checkpoint, log, curves\n"
            "  %s train data.csv --val val.csv --resume # continue the latest run after a ^C\n"
            "  %s eval test.csv --weights runs/latest/%s.safetensors\n"
            "  %s train data.csv --save w.safetensors   # w.safetensors, w.ckpt, w.log.csv, w.svg, ...\n",
            prog_name, p->name, prog_name, prog_name, p->name, prog_name);
    fprintf(out, "\nhyper-parameters of this model (%s%s%s%s):", p->optimizer, p->schedule ? ", schedule " : "",
            p->schedule ? p->schedule : "", p->per_step ? " per step" : "");
    void *m = calloc(1, p->model_size);
    if (m)
        p->init(m, p->seed);
    for (int i = 0; i < p->nhparams; i++)
        fprintf(out, "%s %s %.9g", i ? "," : "", p->hparam_names[i], m ? *(const double *)((char *)m + p->hparam_offsets[i]) : NAN);
    fprintf(out, "\n");
    free(m);
}

/* Edit distance with transpositions (optimal string alignment), for suggestions. */
static int edit_distance(const char *a, size_t la, const char *b) {
    size_t lb = strlen(b);
    int d[33][33];
    if (la > 32 || lb > 32)
        return 99;
    for (size_t i = 0; i <= la; i++)
        for (size_t j = 0; j <= lb; j++) {
            if (!i || !j) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            best = d[i - 1][j] + 1 < best ? d[i - 1][j] + 1 : best;
            best = d[i][j - 1] + 1 < best ? d[i][j - 1] + 1 : best;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* The name among names[0..n) closest to word[0..len), or NULL when none is close:
 * a small edit distance, or a name the word starts with (--validation: --val). */
static const char *closest(const char *word, size_t len, const char *const *names, int n) {
    const char *best = NULL;
    int best_d = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(names[i]);
        int d = edit_distance(word, len, names[i]);
        if (len > k && k >= 3 && !strncmp(word, names[i], k) && !best)
            d = best_d; /* a name the word starts with: suggested unless one is closer */
        if (d < best_d || (d == best_d && !best)) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

static void suggest_option(const char *word, size_t len) {
    const char *names[NUM_OPTIONS];
    for (int i = 0; i < NUM_OPTIONS; i++)
        names[i] = option_rows[i].name;
    const char *s = closest(word, len, names, NUM_OPTIONS);
    if (s)
        note("did you mean --%s?", s);
}

/* A getopt_long error: what was wrong with the option argv[at], in plain words. Returns 2. */
static int option_error(int c, char **argv, int optind_now, int bad_short) {
    const char *word = argv[optind_now - 1];
    if (bad_short > 0 && bad_short < 256) { /* -x, or a one-dash long name (-epochs) */
        const char *here = argv[optind_now];
        if (here && here[0] == '-' && here[1] == bad_short)
            word = here;
        if (word[0] == '-' && word[1] == bad_short && word[2] && word[1] != '-') {
            fail("unknown option '%s' (long options start with two dashes)", word);
            suggest_option(word + 1, strcspn(word + 1, "="));
        } else
            fail("unknown option '-%c'", bad_short);
    } else {
        const char *name = word + 2;
        size_t len = strcspn(name, "=");
        int matches = 0, exact = -1;
        for (int i = 0; i < NUM_OPTIONS; i++)
            if (!strncmp(option_rows[i].name, name, len)) {
                matches++;
                exact = strlen(option_rows[i].name) == len ? i : exact;
            }
        if (c == ':') {
            fail("option '%s' needs a value (--%.*s=VALUE or --%.*s VALUE)", word, (int)len, name, (int)len, name);
        } else if (exact >= 0 || (matches == 1 && name[len] == '=')) {
            fail("option '--%.*s' takes no value", (int)len, name);
        } else if (matches > 1) {
            char list[512] = "";
            for (int i = 0; i < NUM_OPTIONS; i++)
                if (!strncmp(option_rows[i].name, name, len) && strlen(list) + strlen(option_rows[i].name) + 5 < sizeof list)
                    strcat(strcat(strcat(list, *list ? ", " : ""), "--"), option_rows[i].name);
            fail("option '--%.*s' is ambiguous: %s", (int)len, name, list);
        } else {
            fail("unknown option '--%.*s'", (int)len, name);
            suggest_option(name, len);
        }
    }
    fprintf(stderr, "see '%s --help'\n", prog_name);
    return 2;
}

/* The word after `--resume` is its value when it names a run directory or a
 * checkpoint (by its .ckpt name or its contents), not a data file. */
static int names_checkpoint(const char *word) {
    if (word[0] == '-')
        return 0;
    if (ends_with(word, ".ckpt"))
        return 1;
    struct stat st;
    if (stat(word, &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    FILE *f = fopen(word, "rb");
    char head[4096] = "";
    size_t got = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f)
        fclose(f);
    head[got] = 0;
    for (size_t i = 8; i + sizeof CKPT_FORMAT <= got + 1; i++) /* in the safetensors header's metadata */
        if (!memcmp(head + i, CKPT_FORMAT, sizeof CKPT_FORMAT - 1))
            return 1;
    return 0;
}

static int add_data(Options *o, const char *arg) {
    /* DATA: files, spaces or commas between them */
    if (o->nlists == MAX_SLOTS) {
        fail("too many data files (at most %d)", MAX_SLOTS);
        return 2;
    }
    char *list = o->lists[o->nlists++] = strdup(arg);
    for (char *f = strtok(list, ","); f; f = strtok(NULL, ",")) {
        if (o->nfiles == MAX_SLOTS) {
            fail("too many data files (at most %d)", MAX_SLOTS);
            return 2;
        }
        o->files[o->nfiles++] = f;
    }
    return 0;
}

/* Standard input can be read once: by one DATA file, --val file, --weights, --init-from or --golden. */
static int stdin_readers(const Options *o) {
    int n = 0;
    for (int i = 0; i < o->nfiles; i++)
        n += !strcmp(o->files[i], "-");
    for (const char *v = o->val; v && *v;) { /* a comma-separated list */
        size_t len = strcspn(v, ",");
        n += len == 1 && *v == '-';
        v += len + (v[len] == ',');
    }
    n += o->weights && !strcmp(o->weights, "-");
    n += o->init_from && !strcmp(o->init_from, "-");
    n += o->golden && !strcmp(o->golden, "-");
    return n;
}

/* The command line. Returns 0, -1 after --help, or the exit status. */
static int parse_options(const dnn_program *p, int argc, char **argv, Options *o) {
    memset(o, 0, sizeof *o);
    o->epochs = -1;
    o->seed = -1;
    o->scale = NAN;
    o->eps = 1e-6;
    o->tol = 1e-4;
    o->float_tol = 1e-2;
    o->rtol = 1e-4;
    o->atol = 1e-5;
    o->coords = 5;
    if (argc < 2) {
        short_usage(p, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(p, stdout);
        return -1;
    }
    static const char *const commands[] = {"train", "eval", "predict", "gradcheck", "check", "augment"};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i]))
            o->command = commands[i];
    if (!o->command) {
        const char *s = closest(argv[1], strlen(argv[1]), commands, (int)(sizeof commands / sizeof *commands));
        fail("unknown command '%s' (use train, eval, predict, gradcheck, check or augment; see --help)", argv[1]);
        if (s)
            note("did you mean '%s'?", s);
        return 2;
    }
    /* getopt_long sees the words after the command; "-" first in optstring returns DATA in order */
    struct option longopts[NUM_OPTIONS + 1];
    char shorts[2 * NUM_OPTIONS + 3] = "-:";
    for (int i = 0; i < NUM_OPTIONS; i++) {
        const OptionRow *row = &option_rows[i];
        int has = takes_value(row);
        longopts[i] = (struct option){row->name, has, NULL, 256 + i};
        if (row->short_name) {
            size_t k = strlen(shorts);
            shorts[k] = row->short_name;
            shorts[k + 1] = has == required_argument ? ':' : 0;
            shorts[k + 2] = 0;
        }
    }
    longopts[NUM_OPTIONS] = (struct option){NULL, 0, NULL, 0};
    int n = argc - 1, c;
    char **words = argv + 1;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(n, words, shorts, longopts, NULL)) != -1) {
        if (c == 1) {
            if (add_data(o, optarg))
                return 2;
            continue;
        }
        const OptionRow *row = NULL;
        for (int i = 0; i < NUM_OPTIONS && !row; i++)
            if (c == 256 + i || (c < 256 && c == option_rows[i].short_name))
                row = &option_rows[i];
        if (c == '?' || c == ':' || !row)
            return option_error(c, words, optind, c == '?' ? optopt : 0);
        const char *value = optarg;
        if (row->field == FIELD(resume) && !value && optind < n && names_checkpoint(words[optind]))
            value = words[optind++];
        if (set_option(o, row, value))
            return 2;
        if (o->help) {
            usage(p, stdout);
            return -1;
        }
    }
    for (; optind < n; optind++) /* after "--": all DATA */
        if (add_data(o, words[optind]))
            return 2;
    if (stdin_readers(o) > 1) {
        fail("standard input ('-') can be read only once: by one data file, --weights, --init-from or --golden");
        return 2;
    }
    if (o->weights && o->init_from) {
        fail("--weights and --init-from both give the starting weights: use one (--weights loads all of them)");
        return 2;
    }
    if (o->standardize && o->center) {
        fail("--standardize and --center: give one of them (--standardize also centres)");
        return 2;
    }
    if (o->out && !strcmp(o->out, "-") && !strcmp(o->command, "predict"))
        o->out = NULL; /* standard output */
    if (o->init_maps.n && !o->init_from) {
        fail("--init-map renames the tensors of --init-from FILE: give that file");
        return 2;
    }
    return 0;
}

/* ---- standard input ('-') ----------------------------------------------------------
 * Any one file that is read may be '-'. Data files are told apart by their
 * names (.csv/.tsv/.txt, .npy, IDX otherwise), standard input by its first
 * bytes; its readers take a path, so it is copied to a temporary file first. */

typedef enum DataKind { DATA_CSV, DATA_NPY, DATA_IDX } DataKind;

static const char *shown(const char *path) { return strcmp(path, "-") ? path : "<stdin>"; }

static DataKind data_kind(const char *path) {
    if (ends_with(path, ".csv") || ends_with(path, ".tsv") || ends_with(path, ".txt"))
        return DATA_CSV;
    return ends_with(path, ".npy") ? DATA_NPY : DATA_IDX;
}

/* The whole of a file, or of standard input for "-", in a buffer from malloc;
 * a DNN_E* code with errno set on failure. Standard input is read once and
 * kept, so that each of its readers (train takes --weights' class names
 * before it loads the tensors) gets a copy. */
static int read_input(const char *path, void **buf, size_t *len) {
    static char *input; /* standard input, once read */
    static size_t input_len;
    if (strcmp(path, "-"))
        return dnn_read_file_alloc(path, buf, len);
    if (!input) {
        if (isatty(0))
            note("reading standard input (end it with ^D)");
        size_t cap = 1 << 16, n = 0;
        char *b = xcalloc(cap, 1);
        for (size_t got; (got = fread(b + n, 1, cap - n, stdin)) > 0;)
            if ((n += got) == cap) {
                char *bigger = cap < SIZE_MAX / 2 ? realloc(b, cap *= 2) : NULL;
                if (!bigger) {
                    free(b);
                    errno = ENOMEM;
                    return DNN_E_SPACE;
                }
                b = bigger;
            }
        if (ferror(stdin)) {
            free(b);
            return DNN_E_IO;
        }
        input = b;
        input_len = n;
    }
    *buf = xcalloc(input_len, 1);
    memcpy(*buf, input, input_len);
    *len = input_len;
    return DNN_OK;
}

/* Standard input in a temporary file (which the caller removes and frees), its kind
 * told by its first bytes: NumPy's magic, gzip's or IDX's two zero bytes, else CSV. */
static char *stdin_to_file(DataKind *kind) {
    void *buf;
    size_t len;
    if (read_input("-", &buf, &len) != DNN_OK) {
        fail("cannot read standard input: %s", strerror(errno));
        return NULL;
    }
    const unsigned char *b = buf;
    *kind = len >= 6 && !memcmp(b, "\x93NUMPY", 6) ? DATA_NPY
            : len >= 2 && ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 0 && b[1] == 0)) ? DATA_IDX
                                                                                     : DATA_CSV;
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = text_of("%s/dnn-stdin-XXXXXX", dir);
    int fd = mkstemp(path), ok = fd >= 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t put = write(fd, b + done, len - done);
        ok = put > 0;
        done += ok ? (size_t)put : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok) {
        fail("cannot copy standard input to '%s': %s (set TMPDIR to a writable directory)", path, strerror(errno));
        if (fd >= 0)
            remove(path);
        free(path);
        path = NULL;
    }
    free(buf);
    return path;
}

/* msg with the temporary file's name `file` replaced by `path` (in place). */
static const char *renamed(char *msg, const char *file, const char *path) {
    size_t a = strlen(file), b = strlen(path);
    for (char *at = strstr(msg, file); at && strcmp(file, path) && b <= a; at = strstr(at + b, file)) {
        memcpy(at, path, b);
        memmove(at + b, at + a, strlen(at + a) + 1);
    }
    return msg;
}

/* ---- data sets ---------------------------------------------------------------------- */

/* A data set: for each slot (inputs, then targets) count samples of its size. */
typedef struct Data {
    long count;
    int nslots;
    float *x[MAX_SLOTS];       /* float slots: [count][size] */
    unsigned char *u8[MAX_SLOTS]; /* or byte slots (an IDX u8 file's input): [count][size], as read */
    float lut[MAX_SLOTS][256]; /* a byte slot's values after --scale, from prep_apply */
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

static const dnn_io *slot_io(const dnn_program *p, int s) {
    return s < p->ninputs ? &p->inputs[s] : &p->targets[s - p->ninputs];
}

static void data_free(Data *d) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(d->x[s]);
        free(d->u8[s]);
        free(d->y[s]);
    }
    memset(d, 0, sizeof *d);
}

/* Sets slot s from count values per sample (vals[i*stride + col[k]] for
 * k < size), checking class indices. where(i) names sample i in messages. */
typedef struct Source {
    const char *path;
    const float *vals;    /* row-major */
    long rows;
    int stride;           /* floats per row */
    const int *line;      /* CSV: file line of each row, or NULL */
} Source;

static int place(const dnn_program *p, Data *d, int s, const Source *src, const int *cols) {
    const dnn_io *io = slot_io(p, s);
    if (d->count && src->rows != d->count) {
        fail("%s: %ld samples, but %s has %ld from the files before it", src->path, src->rows, slot_io(p, 0)->name,
             d->count);
        return 1;
    }
    d->count = src->rows;
    if (io->classes) {
        d->y[s] = xcalloc((size_t)src->rows, sizeof(int32_t));
        for (long i = 0; i < src->rows; i++) {
            float v = src->vals[i * src->stride + cols[0]];
            if (!(v >= 0 && v < io->classes && v == floorf(v))) {
                char where[64];
                if (src->line)
                    snprintf(where, sizeof where, "%s:%d", src->path, src->line[i]);
                else
                    snprintf(where, sizeof where, "%s: sample %ld", src->path, i);
                fail("%s: label %g is not a class of '%s' (0..%d)", where, v, io->name, io->classes - 1);
                return 1;
            }
            d->y[s][i] = (int32_t)v;
        }
    } else {
        d->x[s] = xcalloc((size_t)src->rows * (size_t)io->size, sizeof(float));
        for (long i = 0; i < src->rows; i++)
            for (int k = 0; k < io->size; k++)
                d->x[s][i * io->size + k] = src->vals[i * src->stride + cols[k]];
    }
    return 0;
}

/* "2-5,species" → column indices; returns how many, or -1 after a message. */
static int parse_columns(const char *spec, const dnn_csv *c, const char *path, int *cols, int max) {
    char *list = strdup(spec), *save = NULL;
    int n = 0;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        int a, b, used = 0;
        if (sscanf(f, "%d-%d%n", &a, &b, &used) == 2 && !f[used]) {
        } else if (sscanf(f, "%d%n", &a, &used) == 1 && !f[used]) {
            b = a;
        } else if ((a = dnn_csv_column(c, f)) >= 0) {
            a = b = a + 1;
        } else {
            fail("%s has no column '%s'%s", path, f, c->header ? "" : " (it has no header line)");
            free(list);
            return -1;
        }
        if (a < 1 || b < a || b > c->cols) {
            fail("%s: columns %s are not within 1..%d", path, f, c->cols);
            free(list);
            return -1;
        }
        for (int k = a; k <= b; k++) {
            if (n == max) {
                free(list);
                return max + 1;
            }
            cols[n++] = k - 1;
        }
    }
    free(list);
    return n;
}

static const char *find_map(const Options *o, const char *name) {
    size_t len = strlen(name);
    for (int i = 0; i < o->maps.n; i++)
        if (!strncmp(o->maps.v[i], name, len) && o->maps.v[i][len] == '=')
            return o->maps.v[i] + len + 1;
    return NULL;
}

static void classes_drop(Classes *k, int s) {
    for (int c = 0; c < k->count[s]; c++)
        free(k->names[s][c]);
    free(k->names[s]);
    free(k->from[s]);
    k->names[s] = NULL;
    k->from[s] = NULL;
    k->count[s] = 0;
}

static void classes_free(Classes *k) {
    for (int s = 0; s < MAX_SLOTS; s++)
        classes_drop(k, s);
}

/* Slot s's class names: names[0..n) (NULL: unnamed), said to come from `from`. */
static void classes_set(Classes *k, int s, int classes, char *const *names, int n, const char *from) {
    classes_drop(k, s);
    k->names[s] = xcalloc((size_t)classes, sizeof(char *));
    k->count[s] = classes;
    for (int c = 0; c < n && c < classes; c++)
        k->names[s][c] = names[c] ? strdup(names[c]) : NULL;
    k->from[s] = strdup(from);
}

/* "cat, dog, bird" (the first few), for messages. */
static const char *classes_list(const Classes *k, int s) {
    static char text[256];
    size_t n = 0;
    text[0] = 0;
    for (int c = 0; c < k->count[s] && n < 200; c++)
        if (k->names[s][c])
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", n ? ", " : "", k->names[s][c]);
    if (n >= 200)
        snprintf(text + 200, sizeof text - 200, ", ...");
    return text;
}

/* A class column of text labels: each label becomes the index of its class
 * name, in place in c's data. Without names yet, while the training data
 * is read, the labels in sorted order are the names. */
static int map_labels(const dnn_program *p, Classes *k, const char *path, dnn_csv *c, int s, int col) {
    const dnn_io *io = slot_io(p, s);
    int nlevels = c->nlevels[col];
    if (!k->names[s] && !k->learn) {
        fail("%s: column %d holds text labels ('%s', ...), but no class names of '%s' are known to give them their "
             "indices", path, col + 1, c->levels[col][0], io->name);
        note("give --class-names NAME,... in the order of the model's classes (the weights hold none)");
        return 1;
    }
    if (!k->names[s]) {
        if (nlevels > io->classes) {
            fail("%s: column %d has %d different labels, but '%s' has %d classes", path, col + 1, nlevels, io->name,
                 io->classes);
            return 1;
        }
        classes_set(k, s, io->classes, c->levels[col], nlevels, path);
        return 0; /* the labels' indices are the class indices */
    }
    int *index = xcalloc((size_t)nlevels, sizeof(int));
    for (int v = 0; v < nlevels; v++) {
        index[v] = -1;
        for (int cl = 0; cl < k->count[s] && index[v] < 0; cl++)
            if (k->names[s][cl] && !strcmp(k->names[s][cl], c->levels[col][v]))
                index[v] = cl;
    }
    for (int i = 0; i < c->rows; i++) {
        float *v = &c->data[(size_t)i * (size_t)c->cols + (size_t)col];
        if (index[(int)*v] < 0) {
            fail("%s:%d: label '%s' is not a class of '%s' (%s, from %s)", path, c->line[i], c->levels[col][(int)*v],
                 io->name, classes_list(k, s), k->from[s]);
            free(index);
            return 1;
        }
        *v = (float)index[(int)*v];
    }
    free(index);
    return 0;
}

/* The header columns that name slot io: one called like it (a one-value
 * slot), or NAME.0 ... NAME.(size-1) as predict writes them. 1 when all are
 * there, their indices in cols[]. */
static int named_columns(const dnn_csv *c, const dnn_io *io, int *cols) {
    if (!c->header)
        return 0;
    if (io->size == 1)
        return (cols[0] = dnn_csv_column(c, io->name)) >= 0;
    char *name = xcalloc(strlen(io->name) + 16, 1);
    int k = 0;
    for (; k < io->size; k++) {
        sprintf(name, "%s.%d", io->name, k);
        if ((cols[k] = dnn_csv_column(c, name)) < 0)
            break;
    }
    free(name);
    return k == io->size;
}

/* Whether a header name names a value of one of slots first..all-1: NAME
 * of a one-value slot, or NAME.k of a larger one (*slot, *elem). */
static int slot_element(const dnn_program *p, const char *name, int first, int all, int *slot, int *elem) {
    for (int t = first; t < all; t++) {
        const dnn_io *io = slot_io(p, t);
        size_t len = strlen(io->name);
        if (strncmp(name, io->name, len))
            continue;
        if (io->size == 1 && !name[len]) {
            *slot = t, *elem = 0;
            return 1;
        }
        char *rest = "";
        long k = name[len] == '.' && name[len + 1] >= '0' && name[len + 1] <= '9' ? strtol(name + len + 1, &rest, 10) : -1;
        if (io->size > 1 && k >= 0 && k < io->size && !*rest) {
            *slot = t, *elem = (int)k;
            return 1;
        }
    }
    return 0;
}

/* Appends "NAME" or "NAME.0 ... NAME.3" (how a header names slot io) to text. */
static size_t slot_names(char *text, size_t cap, size_t n, const dnn_io *io) {
    if (io->size == 1)
        return n + (size_t)snprintf(text + n, cap - n, "%s", io->name);
    return n + (size_t)snprintf(text + n, cap - n, "%s.0%s%s.%d", io->name, io->size > 2 ? " ... " : ", ", io->name,
                                io->size - 1);
}

/* The error of a CSV whose columns are given for some of slots first..all-1
 * (by --map or header names: cols[t] for t < end, header names after), or
 * for none, while the rest do not line up by position: the header, what
 * was matched and what is left over on both sides. */
static void columns_mixed(const dnn_program *p, const Options *o, const char *path, const dnn_csv *c, int first,
                          int all, int *const *cols, int end) {
    size_t cap = 4096, n = 0, m = 0, l = 0, f = 0, h = 0;
    char *header = xcalloc(cap, 1), *matched = xcalloc(cap, 1), *slots = xcalloc(cap, 1), *spare = xcalloc(cap, 1);
    char *how = xcalloc(cap, 1), *used = xcalloc((size_t)c->cols, 1);
    int *named = xcalloc((size_t)c->cols + 64, sizeof(int)), nspare = 0;
    for (int j = 0; c->header && j < c->cols && n < cap - 256; j++)
        n += (size_t)snprintf(header + n, cap - n, "%s%s", j ? "," : "", c->header[j]);
    for (int s = first; s < all && h < cap - 256 && m < cap - 256 && l < cap - 256; s++) {
        const dnn_io *io = slot_io(p, s);
        h = slot_names(how, cap, h + (size_t)snprintf(how + h, cap - h, "%s", s > first ? ", " : ""), io);
        const int *at = s < end ? cols[s] : io->size <= c->cols && named_columns(c, io, named) ? named : NULL;
        if (!at) {
            l += (size_t)snprintf(slots + l, cap - l, "%s%s (%d column%s)", l ? ", " : "", io->name, io->size,
                                  io->size == 1 ? "" : "s");
            continue;
        }
        m += (size_t)snprintf(matched + m, cap - m, "%s%s = column%s ", m ? ", " : "", io->name, io->size > 1 ? "s" : "");
        for (int k = 0; k < io->size && m < cap - 256; k++) {
            used[at[k]] = 1;
            m += (size_t)snprintf(matched + m, cap - m, "%s%d", k ? "," : "", at[k] + 1);
        }
        if (s < end && find_map(o, io->name))
            m += (size_t)snprintf(matched + m, cap - m, " (--map)");
    }
    for (int j = 0; j < c->cols && f < cap - 256; j++)
        if (!used[j] && ++nspare)
            f += (size_t)snprintf(spare + f, cap - f, "%s%d (%s)", f ? ", " : "", j + 1,
                                  c->header && c->header[j][0] ? c->header[j] : "no name");
    int want = 0;
    for (int s = first; s < all; s++)
        want += slot_io(p, s)->size;
    if (m)
        fail("%s: %s the columns of some of the model's inputs and targets but not all, and the rest do not line up "
             "by position", path, end > first ? "--map or the header gives" : "the header names");
    else
        fail("%s: its %d columns do not line up by position with the %d of the model's inputs and targets, and the "
             "header names none of them", path, c->cols, want);
    note("header: %s", c->header ? header : "none (the first line is data)");
    note("matched: %s", m ? matched : "nothing");
    note("left over: the model's %s; the file's column%s %s", l ? slots : "nothing", nspare == 1 ? "" : "s",
         nspare ? spare : "none");
    note("name every column (%s), or choose them with --map NAME=COLUMNS", how);
    free(header);
    free(matched);
    free(slots);
    free(spare);
    free(how);
    free(used);
    free(named);
}

/* Fills slot s from columns cols[] of c: text labels become class indices,
 * text where numbers belong is an error. */
static int fill_from_csv(const dnn_program *p, Classes *k, Data *d, int s, const char *path, dnn_csv *c, const int *cols) {
    const dnn_io *io = slot_io(p, s);
    if (io->classes && c->levels[cols[0]]) {
        if (map_labels(p, k, path, c, s, cols[0]))
            return 1;
    } else if (!io->classes) {
        for (int j = 0; j < io->size; j++)
            if (c->levels[cols[j]]) {
                fail("%s: column %d holds text ('%s', ...), but '%s' takes numbers", path, cols[j] + 1,
                     c->levels[cols[j]][0], io->name);
                return 1;
            }
    }
    Source src = {path, c->data, c->rows, c->cols, c->line};
    return place(p, d, s, &src, cols);
}

/* How many rows of column j hold row 0's value. */
static int rows_like_first(const dnn_csv *c, int j) {
    int n = 0;
    for (int i = 0; i < c->rows; i++)
        n += c->data[(size_t)i * (size_t)c->cols + (size_t)j] == c->data[j];
    return n;
}

/* A file of text only has no header by the reader's rule (docs/data.md),
 * yet a first line that spells the name of a one-value slot of slots
 * first..all-1, a value no other line holds, is one: a labels file "kind /
 * cat / dog / ...". That line becomes the header; a label only it held is
 * dropped from the levels. */
static void text_header(const dnn_program *p, dnn_csv *c, int first, int all) {
    int names = 0;
    if (c->header || c->rows < 2)
        return;
    for (int j = 0; j < c->cols; j++)
        if (!c->levels[j])
            return;
    for (int j = 0; j < c->cols; j++)
        for (int t = first; t < all; t++)
            names |= slot_io(p, t)->size == 1 && !strcmp(c->levels[j][(int)c->data[j]], slot_io(p, t)->name) &&
                     rows_like_first(c, j) == 1;
    if (!names)
        return;
    c->header = xcalloc((size_t)c->cols, sizeof(char *));
    for (int j = 0; j < c->cols; j++) {
        int v = (int)c->data[j];
        c->header[j] = strdup(c->levels[j][v]);
        if (rows_like_first(c, j) > 1)
            continue;
        free(c->levels[j][v]);
        memmove(&c->levels[j][v], &c->levels[j][v + 1], sizeof(char *) * (size_t)(c->nlevels[j] - v - 1));
        c->nlevels[j]--;
        for (int i = 1; i < c->rows; i++) {
            float *x = &c->data[(size_t)i * (size_t)c->cols + (size_t)j];
            *x -= *x > (float)v;
        }
    }
    c->rows--;
    memmove(c->data, c->data + c->cols, sizeof(float) * (size_t)c->rows * (size_t)c->cols);
    memmove(c->line, c->line + 1, sizeof(int) * (size_t)c->rows);
}

/* A CSV file fills slots from *s on, either explicitly — every slot it
 * fills by --map or by header names (the next file fills the first slot
 * it has neither for) — or by position, the columns in order, which must
 * then be used up exactly (predict: but for the targets' columns) and
 * agree with any header name that is a slot's. `last`: no file follows.
 * The columns of every slot are settled and checked before any is read.
 * It reads `file` and calls it `path` (they differ for standard input). */
static int load_csv(const dnn_program *p, const Options *o, Classes *k, const char *file, const char *path, Data *d,
                    int *s, int nslots, int last) {
    dnn_csv c;
    char msg[512];
    if (dnn_csv_read(file, &c, msg, sizeof msg) != DNN_OK) {
        fail("%s", renamed(msg, file, path));
        return 1;
    }
    int first = *s, end = first, next_col = 0, rc = 0;
    int all = nslots == p->ninputs ? p->ninputs + p->ntargets : nslots; /* predict: the targets' names count too */
    int *cols[MAX_SLOTS] = {0}, *named = xcalloc((size_t)c.cols + 64, sizeof(int));
    text_header(p, &c, first, all);
    int explicit = find_map(o, slot_io(p, first)->name) || named_columns(&c, slot_io(p, first), named);
    for (; end < nslots && !rc; end++) { /* the columns of slots first..end-1 */
        const dnn_io *io = slot_io(p, end);
        const char *map = find_map(o, io->name);
        int n;
        cols[end] = xcalloc((size_t)c.cols + 64, sizeof(int));
        if (explicit) {
            if (map)
                n = parse_columns(map, &c, path, cols[end], c.cols);
            else if (io->size <= c.cols && named_columns(&c, io, cols[end]))
                n = io->size;
            else
                break; /* the next file fills it */
        } else {
            if (map || next_col + io->size > c.cols)
                break; /* the next file fills it */
            for (n = 0; n < io->size; n++)
                cols[end][n] = next_col + n;
            next_col += io->size;
        }
        if (n < 0) {
            rc = 1;
        } else if (n != io->size) {
            fail("%s: '%s' needs %d column%s, --map gives %d", path, io->name, io->size, io->size == 1 ? "" : "s", n);
            rc = 1;
        }
    }
    if (rc) {
        /* said */
    } else if (explicit) {
        if (end < nslots && last) {
            columns_mixed(p, o, path, &c, first, all, cols, end);
            rc = 1;
        }
    } else {
        /* by position: the columns used up, and every header name of a slot where that slot's columns are */
        int targets = 0; /* columns of the targets a predict does not read */
        for (int t = 0; t < p->ntargets; t++)
            targets += p->targets[t].size;
        int ignored = nslots == p->ninputs && end == nslots && c.cols - next_col == targets, agree = 1;
        /* Every header name of a slot's value (NAME, or NAME.k alone too) must
         * be where the positions put that value: `id,x.0,kind` for x[2] and
         * kind is not x = (id, x.0). */
        for (int j = 0; c.header && j < c.cols; j++) {
            int t, e;
            if (!slot_element(p, c.header[j], first, all, &t, &e))
                continue;
            int at = next_col; /* an ignored target's columns start after the inputs' */
            for (int u = end; u < t; u++)
                at += slot_io(p, u)->size;
            agree &= t < end ? cols[t][e] == j : ignored && at + e == j;
        }
        if (!agree || (next_col < c.cols && !ignored && c.header)) {
            columns_mixed(p, o, path, &c, first, all, cols, first);
            rc = 1;
        } else if (next_col < c.cols && !ignored) {
            if (end < nslots && !find_map(o, slot_io(p, end)->name))
                fail("%s: %d column%s left, but '%s' needs %d", path, c.cols - next_col,
                     c.cols - next_col == 1 ? "" : "s", slot_io(p, end)->name, slot_io(p, end)->size);
            else {
                fail("%s has %d columns; the model's %s take %d", path, c.cols,
                     nslots == p->ninputs ? "inputs" : "inputs and targets", next_col);
                note("choose columns with --map NAME=COLUMNS");
            }
            rc = 1;
        }
    }
    for (; *s < end && !rc; (*s)++)
        rc = fill_from_csv(p, k, d, *s, path, &c, cols[*s]);
    for (int t = 0; t < MAX_SLOTS; t++)
        free(cols[t]);
    free(named);
    dnn_csv_free(&c);
    return rc;
}

/* An IDX or .npy file fills slot *s; as load_csv. */
static int load_array(const dnn_program *p, const char *file, const char *path, int npy, Data *d, int *s) {
    const dnn_io *io = slot_io(p, *s);
    char msg[512];
    float *vals;
    long rows;
    size_t per;
    dnn_array a = {0};
    dnn_idx t = {0};
    int rc = npy ? dnn_npy_read(file, 1.0f, &a, msg, sizeof msg) : dnn_idx_read_bytes(file, 0, 0, &t, msg, sizeof msg);
    if (rc != DNN_OK) {
        fail("%s", renamed(msg, file, path));
        return 1;
    }
    if (npy) {
        vals = a.data;
        rows = a.rank ? (long)a.dims[0] : 1;
        per = a.rank ? a.count / (size_t)(rows ? rows : 1) : 1;
    } else {
        rows = t.items;
        per = t.item_size;
        int own = *s < p->ninputs && !d->count && (long)per == io->size;
        if (t.bytes && own) { /* the first input's bytes are the slot: scaled as batches are gathered */
            d->count = rows;
            d->u8[*s] = t.bytes;
            t.bytes = NULL;
            (*s)++;
            dnn_idx_free(&t);
            return 0;
        }
        if (t.bytes) { /* elsewhere as floats */
            size_t n = (size_t)rows * per;
            t.data = xcalloc(n ? n : 1, sizeof(float));
            for (size_t i = 0; i < n; i++)
                t.data[i] = t.bytes[i];
        }
        vals = t.data;
    }
    if ((long)per != io->size) {
        fail("%s holds %zu value%s per sample, but '%s' takes %d%s", path, per, per == 1 ? "" : "s", io->name, io->size,
             io->classes ? " (a class index)" : "");
        rc = 1;
    } else {
        int *cols = xcalloc((size_t)io->size, sizeof(int));
        for (int k = 0; k < io->size; k++)
            cols[k] = k;
        Source src = {path, vals, rows, io->size, NULL};
        if (!io->classes && !d->count && vals) { /* the reader's array is the slot: take it, no copy */
            d->count = rows;
            d->x[*s] = vals;
            if (npy)
                a.data = NULL;
            else
                t.data = NULL;
        } else
            rc = place(p, d, *s, &src, cols);
        free(cols);
        (*s)++;
    }
    dnn_array_free(&a);
    dnn_idx_free(&t);
    return rc;
}

/* Byte slots as floats (the values as read), for the code that reads Data's floats directly. */
static void data_floats(const dnn_program *p, Data *d) {
    for (int s = 0; s < d->nslots; s++)
        if (d->u8[s]) {
            size_t n = (size_t)d->count * (size_t)slot_io(p, s)->size;
            d->x[s] = xcalloc(n ? n : 1, sizeof(float));
            for (size_t i = 0; i < n; i++)
                d->x[s][i] = d->u8[s][i];
            free(d->u8[s]);
            d->u8[s] = NULL;
        }
}

/* Reads files into the first nslots slots (inputs, or inputs and targets);
 * text labels get the class indices of k's names (see Classes). */
static int load_data(const dnn_program *p, const Options *o, Classes *k, const char *const *files, int nfiles,
                     int nslots, Data *d) {
    int s = 0;
    memset(d, 0, sizeof *d);
    d->nslots = nslots;
    if (!nfiles) {
        fail("no data files: give the files for %s", slot_io(p, 0)->name);
        return 1;
    }
    for (int f = 0; f < nfiles; f++) {
        if (s >= nslots) {
            fail("%s: more data files than the model's %s need", shown(files[f]), nslots > p->ninputs ? "inputs and targets" : "inputs");
            return 1;
        }
        int before = s, rc;
        const char *name = shown(files[f]);
        char *file = (char *)files[f];
        DataKind kind = data_kind(file);
        if (!strcmp(file, "-") && !(file = stdin_to_file(&kind)))
            return 1;
        rc = kind == DATA_CSV ? load_csv(p, o, k, file, name, d, &s, nslots, f + 1 == nfiles)
                              : load_array(p, file, name, kind == DATA_NPY, d, &s);
        if (file != files[f]) {
            remove(file);
            free(file);
        }
        if (rc || s == before)
            return 1;
    }
    if (s < nslots) {
        fail("no data for '%s': add a file for it (the files fill %s in order)", slot_io(p, s)->name,
             nslots > p->ninputs ? "the inputs, then the targets," : "the inputs");
        return 1;
    }
    if (d->count == 0) {
        fail("%s: no samples", shown(files[0]));
        return 1;
    }
    if (o->limit && o->limit < d->count)
        d->count = o->limit;
    return 0;
}

/* ---- preprocessing: --scale, --standardize and --center, kept in the weights file ---------- */

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

static void prep_free(Prep *pr) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(pr->mean[s]);
        free(pr->std[s]);
        pr->mean[s] = pr->std[s] = NULL;
    }
}

static void prep_apply(const dnn_program *p, const Prep *pr, Data *d) {
    for (int s = 0; s < p->ninputs; s++) {
        int size = p->inputs[s].size;
        if (d->u8[s]) { /* applied by batch_fill: the same arithmetic */
            for (int b = 0; b < 256; b++)
                d->lut[s][b] = (float)((float)b * pr->scale);
            d->mean[s] = pr->mean[s];
            d->std[s] = pr->std[s];
            continue;
        }
        for (long i = 0; i < d->count; i++)
            for (int k = 0; k < size; k++) {
                float *v = &d->x[s][i * size + k];
                *v = (float)(*v * pr->scale);
                if (pr->std[s])
                    *v = (*v - pr->mean[s][k]) / pr->std[s][k];
                else if (pr->mean[s])
                    *v = *v - pr->mean[s][k];
            }
    }
}

/* Element i of slot s as read (before any preprocessing). */
static float raw(const Data *d, int s, long i) { return d->u8[s] ? d->u8[s][i] : d->x[s][i]; }

/* The statistics of every input over samples idx[0..n): means, and with
 * `spread` standard deviations (population, as the mean of squared
 * deviations); per element, or per channel (`per` PER_CHANNEL). */
static void prep_fit(const dnn_program *p, Prep *pr, const Data *d, const long *idx, long n, int per, int spread) {
    for (int s = 0; s < p->ninputs; s++) {
        const dnn_io *io = &p->inputs[s];
        int size = io->size, groups = per == PER_CHANNEL && io->rank > 0 ? io->shape[0] : size, each = size / groups;
        free(pr->mean[s]);
        free(pr->std[s]);
        pr->mean[s] = xcalloc((size_t)size, sizeof(float));
        pr->std[s] = spread ? xcalloc((size_t)size, sizeof(float)) : NULL;
        pr->groups[s] = groups;
        for (int g = 0; g < groups; g++) {
            double sum = 0, sq = 0, count = (double)n * each;
            for (long i = 0; i < n; i++)
                for (int k = g * each; k < (g + 1) * each; k++)
                    sum += raw(d, s, idx[i] * size + k) * pr->scale;
            double mean = sum / count;
            for (long i = 0; i < n; i++)
                for (int k = g * each; k < (g + 1) * each; k++) {
                    double dv = raw(d, s, idx[i] * size + k) * pr->scale - mean;
                    sq += dv * dv;
                }
            double sd = sqrt(sq / count);
            for (int k = g * each; k < (g + 1) * each; k++) {
                pr->mean[s][k] = (float)mean;
                if (spread)
                    pr->std[s][k] = sd > 1e-12 ? (float)sd : 1.0f; /* a constant feature stays as it is */
            }
        }
    }
}

/* The options' statistics over idx[0..n), unless the preprocessing has them already (from a file). */
static void prep_fit_options(const dnn_program *p, const Options *o, Prep *pr, const Data *d, const long *idx, long n) {
    for (int s = 0; s < p->ninputs; s++)
        if (pr->mean[s]) {
            if (o->standardize || o->center)
                note("the weights' statistics are used, not new ones of --%s", o->center ? "center" : "standardize");
            return;
        }
    if (o->standardize || o->center)
        prep_fit(p, pr, d, idx, n, o->standardize ? o->standardize : o->center, o->standardize != 0);
}

/* ---- the model and its files ------------------------------------------------------ */

typedef struct Run {
    const dnn_program *p;
    Options o;
    void *m;                   /* the model struct */
    float *params;             /* its parameter area */
    Prep prep;
    Classes classes;           /* the class names of the class targets */
} Run;

#define AT(run, off, type) ((type)((char *)(run)->m + (off)))

/* Metadata pairs of the weights file: the preprocessing. */
typedef struct Meta {
    const char *kv[2 * (3 * MAX_SLOTS + 4)];
    char *owned[3 * MAX_SLOTS + 4];
    int n, nowned;
} Meta;

static void meta_add(Meta *mt, const char *key, char *value) {
    mt->kv[2 * mt->n] = key;
    mt->kv[2 * mt->n + 1] = value;
    mt->owned[mt->nowned++] = value;
    mt->n++;
}

static void meta_free(Meta *mt) {
    for (int i = 0; i < mt->nowned; i++)
        free(mt->owned[i]);
    for (int i = 0; i < mt->n; i++)
        if (!strcmp(mt->kv[2 * i], "dnn.labels") || strchr(mt->kv[2 * i], '@'))
            free((char *)mt->kv[2 * i]); /* the keys prep_meta made */
    memset(mt, 0, sizeof *mt);
}

/* n floats, every step-th of v, as "%.9g" text (exact for a float). */
static char *floats_text(const float *v, int n, int step) {
    char *s = xcalloc((size_t)n, 18), *q = s;
    for (int i = 0; i < n; i++)
        q += sprintf(q, "%s%.9g", i ? "," : "", v[(size_t)i * (size_t)step]);
    return s;
}

static char *key_for(const char *what, const char *name) {
    char *k = xcalloc(strlen(what) + strlen(name) + 8, 1);
    sprintf(k, "dnn.%s@%s", what, name);
    return k;
}

/* The slot --class-names names: the scored class target, else the first class target; -1 if none. */
static int named_slot(const dnn_program *p) {
    if (p->ntargets && p->targets[p->score_target].classes)
        return p->ninputs + p->score_target;
    for (int t = 0; t < p->ntargets; t++)
        if (p->targets[t].classes)
            return p->ninputs + t;
    return -1;
}

/* The metadata key of class slot s's names: "dnn.labels" for named_slot's, "dnn.labels@NAME" for others'. */
static char *names_key(const dnn_program *p, int s) {
    return s == named_slot(p) ? strdup("dnn.labels") : key_for("labels", slot_io(p, s)->name);
}

static void prep_meta(const Run *r, Meta *mt) {
    char *scale = xcalloc(32, 1);
    snprintf(scale, 32, "%.17g", r->prep.scale);
    meta_add(mt, "dnn.scale", scale);
    for (int s = 0; s < r->p->ninputs; s++) {
        int groups = r->prep.groups[s], each = groups ? r->p->inputs[s].size / groups : 1;
        if (r->prep.mean[s])
            meta_add(mt, key_for("mean", r->p->inputs[s].name), floats_text(r->prep.mean[s], groups, each));
        if (r->prep.std[s])
            meta_add(mt, key_for("std", r->p->inputs[s].name), floats_text(r->prep.std[s], groups, each));
    }
    for (int s = r->p->ninputs; s < r->p->ninputs + r->p->ntargets; s++) {
        const Classes *k = &r->classes;
        int n = k->count[s];
        while (n > 0 && !k->names[s][n - 1])
            n--;
        if (!n)
            continue;
        size_t len = 1;
        for (int c = 0; c < n; c++)
            len += (k->names[s][c] ? strlen(k->names[s][c]) : 0) + 1;
        char *text = xcalloc(len, 1);
        for (int c = 0; c < n; c++)
            strcat(strcat(text, c ? "\n" : ""), k->names[s][c] ? k->names[s][c] : "");
        meta_add(mt, names_key(r->p, s), text);
    }
}

enum { META_PREP = 1, META_NAMES = 2 }; /* what meta_from reads */

/* Input s's dnn.mean@NAME and dnn.std@NAME, if the image has them: one
 * value per element of the input or one per channel (its first
 * dimension); means finite, standard deviations positive. */
static int stats_from(Run *r, const void *buf, size_t len, const char *path, int s, char *text, size_t cap) {
    const dnn_io *io = &r->p->inputs[s];
    float *stats[2] = {NULL, NULL};
    int groups[2] = {0, 0}, rc = 0;
    for (int which = 0; which < 2 && !rc; which++) {
        char *key = key_for(which ? "std" : "mean", io->name);
        if (dnn_st_metadata(buf, len, key, text, cap) == DNN_OK) {
            int n = 1, channels = io->rank > 0 ? io->shape[0] : io->size;
            for (const char *q = text; *q; q++)
                n += *q == ',';
            float *v = xcalloc((size_t)n, sizeof(float));
            char *q = text, *end = text;
            for (int k = 0; k < n && !rc; k++, q = end + 1) {
                v[k] = strtof(q, &end);
                rc = end == q || (*end != ',' && *end) || !isfinite(v[k]) || (which && !(v[k] > 0));
            }
            if (!rc && n != io->size && n != channels)
                rc = 1;
            if (rc) {
                fail("%s: %s is damaged: %d values, which must be finite%s and number %d (one per element of '%s') "
                     "or %d (one per channel)", path, key, n, which ? ", positive" : "", io->size, io->name, channels);
                note("the file's metadata holds the preprocessing of its training run (docs/training.md)");
            }
            /* repeated over each channel's positions */
            stats[which] = xcalloc((size_t)io->size, sizeof(float));
            for (int k = 0; k < io->size && !rc; k++)
                stats[which][k] = v[k / (io->size / n)];
            groups[which] = n;
            free(v);
        }
        free(key);
    }
    if (!rc && stats[1] && (!stats[0] || groups[0] != groups[1])) {
        fail("%s: dnn.std@%s goes with a dnn.mean@%s of as many values", path, io->name, io->name);
        rc = 1;
    }
    if (rc || !stats[0]) {
        free(stats[0]);
        free(stats[1]);
        return rc;
    }
    free(r->prep.mean[s]);
    free(r->prep.std[s]);
    r->prep.mean[s] = stats[0];
    r->prep.std[s] = stats[1];
    r->prep.groups[s] = groups[0];
    return 0;
}

/* Reads the preprocessing (META_PREP) and the class names (META_NAMES)
 * back from a weights or checkpoint image. Names given by --class-names
 * stay, with a note when the file's differ. */
static int meta_from(Run *r, const void *buf, size_t len, const char *path, int what) {
    const dnn_program *p = r->p;
    uint64_t header = 0; /* the header's length bounds every value */
    for (int b = 7; b >= 0 && len >= 8; b--)
        header = header << 8 | ((const unsigned char *)buf)[b];
    size_t cap = (header < len ? (size_t)header : len) + 1;
    char *text = xcalloc(cap, 1);
    int rc = 0;
    if ((what & META_PREP) && dnn_st_metadata(buf, len, "dnn.scale", text, cap) == DNN_OK) {
        char *end;
        r->prep.scale = strtod(text, &end);
        if (end == text || *end || !isfinite(r->prep.scale) || !(r->prep.scale > 0)) {
            fail("%s: dnn.scale is damaged: '%s' is not a positive number", path, text);
            rc = 1;
        }
    }
    for (int s = 0; s < p->ninputs && !rc && (what & META_PREP); s++)
        rc = stats_from(r, buf, len, path, s, text, cap);
    for (int s = p->ninputs; s < p->ninputs + p->ntargets && !rc && (what & META_NAMES); s++) {
        const dnn_io *io = slot_io(p, s);
        char *key = names_key(p, s);
        int found = io->classes && dnn_st_metadata(buf, len, key, text, cap) == DNN_OK;
        free(key);
        if (!found)
            continue;
        char **names = xcalloc((size_t)io->classes + 1, sizeof(char *));
        int n = 0;
        for (char *q = text, *end; q; q = end ? end + 1 : NULL, n++) {
            end = strchr(q, '\n');
            if (end)
                *end = 0;
            if (n < io->classes)
                names[n] = *q ? q : NULL;
        }
        Classes *k = &r->classes;
        if (n > io->classes) {
            fail("%s names %d classes of '%s', which has %d", path, n, io->name, io->classes);
            rc = 1;
        } else if (!k->names[s]) {
            classes_set(k, s, io->classes, names, n, path);
        } else {
            int same = 1;
            for (int c = 0; c < io->classes; c++)
                same &= (!names[c] && !k->names[s][c]) ||
                        (names[c] && k->names[s][c] && !strcmp(names[c], k->names[s][c]));
            if (!same) {
                Classes saved = {0};
                classes_set(&saved, s, io->classes, names, n, path);
                note("%s replaces the class names of '%s' in %s (%s)", k->from[s], io->name, path,
                     classes_list(&saved, s));
                classes_free(&saved);
            }
        }
        free(names);
    }
    free(text);
    return rc;
}

/* The whole file at path ('-': standard input) into *buf (malloc'd); 1 after a message saying why not. */
static int read_whole(const char *path, void **buf, size_t *len) {
    struct stat st;
    errno = 0;
    int rc = read_input(path, buf, len);
    if (rc == DNN_OK)
        return 0;
    if (rc == DNN_E_SPACE)
        fail("cannot read '%s': out of memory", shown(path));
    else if (errno || !strcmp(path, "-") || stat(path, &st) != 0)
        fail("cannot read '%s': %s", shown(path), strerror(errno));
    else
        fail("cannot read '%s': %s", path, S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
    return 1;
}

/* Tensor pointers of the model, in NAME_tensors order. */
static void tensor_ptrs(const Run *r, float **dst) {
    for (int i = 0; i < r->p->num_tensors; i++)
        dst[i] = r->p->tensor(r->m, i);
}

/* Loads the weights at path into the model, and what of its metadata
 * meta_from reads (META_PREP, META_NAMES). */
static int load_weights(Run *r, const char *path, int what) {
    void *buf;
    size_t len;
    if (read_whole(path, &buf, &len))
        return 1;
    path = shown(path);
    float **dst = xcalloc((size_t)r->p->num_tensors, sizeof(float *));
    tensor_ptrs(r, dst);
    int rc = dnn_safetensors_load(r->p->tensors, dst, r->p->num_tensors, buf, len);
    if (rc != DNN_OK) {
        char why[512];
        if (dnn_st_metadata(buf, len, "dnn.format", why, sizeof why) == DNN_OK && !strcmp(why, CKPT_FORMAT)) {
            fail("%s is a checkpoint (for --resume), not a weights file", path);
            free(dst);
            free(buf);
            return 1;
        }
        dnn_safetensors_check(r->p->tensors, r->p->num_tensors, buf, len, why, sizeof why);
        fail("%s: %s", path, why);
        note("the file must hold exactly the model's tensors (see '%s --help' and docs/training.md)", prog_name);
    } else
        rc = meta_from(r, buf, len, path, what);
    free(dst);
    free(buf);
    return rc != 0;
}

/* train: before the data is read, what it takes from --resume's checkpoint
 * `from` (the preprocessing and the class names: the run goes on as it
 * was) or else from --weights (the class names, so that the same labels
 * keep their classes). */
static int train_meta(Run *r, const char *from) {
    const char *path = from ? from : r->o.weights;
    void *buf;
    size_t len;
    if (!path)
        return 0;
    if (read_whole(path, &buf, &len))
        return 1;
    int rc = meta_from(r, buf, len, shown(path), from ? META_PREP | META_NAMES : META_NAMES);
    free(buf);
    return rc;
}

static int save_weights(const Run *r, const char *path) {
    const float **src = xcalloc((size_t)r->p->num_tensors, sizeof(float *));
    tensor_ptrs(r, (float **)src);
    Meta mt = {0};
    prep_meta(r, &mt);
    size_t len = dnn_safetensors_save_meta(r->p->tensors, src, r->p->num_tensors, mt.kv, mt.n, NULL, 0);
    void *buf = xcalloc(len, 1);
    dnn_safetensors_save_meta(r->p->tensors, src, r->p->num_tensors, mt.kv, mt.n, buf, len);
    int rc = dnn_write_file_atomic(path, buf, len);
    if (rc != DNN_OK)
        fail("cannot write '%s': %s", path, strerror(errno));
    meta_free(&mt);
    free(buf);
    free(src);
    return rc != DNN_OK;
}

/* ---- batches -------------------------------------------------------------------------- */

/* Staging buffers for one batch, in the entry points' argument form. */
typedef struct Batch {
    float *x[MAX_SLOTS];
    void *y[MAX_SLOTS];
    float *out[MAX_SLOTS];
} Batch;

static void batch_alloc(const dnn_program *p, Batch *b) {
    memset(b, 0, sizeof *b);
    for (int s = 0; s < p->ninputs; s++)
        b->x[s] = xcalloc((size_t)p->batch * (size_t)p->inputs[s].size, sizeof(float));
    for (int t = 0; t < p->ntargets; t++)
        b->y[t] = xcalloc((size_t)p->batch * (size_t)p->targets[t].size, 4);
    for (int k = 0; k < p->noutputs; k++)
        b->out[k] = xcalloc((size_t)p->batch * (size_t)p->outputs[k].size, sizeof(float));
}

static void batch_free(const dnn_program *p, Batch *b) {
    for (int s = 0; s < p->ninputs; s++)
        free(b->x[s]);
    for (int t = 0; t < p->ntargets; t++)
        free(b->y[t]);
    for (int k = 0; k < p->noutputs; k++)
        free(b->out[k]);
}

/* Copies samples idx[0..n) into the batch (targets only if the data has them).
 * Shuffled samples miss the caches, so a byte slot's rows are all requested
 * first and then converted, and the misses overlap (the MLP epoch: 51-57 ms
 * here without prefetching, 37 ms fetching the next batch ahead, 31 ms so). */
static void batch_fill(const dnn_program *p, const Data *d, const long *idx, int n, Batch *b) {
#ifdef __GNUC__
    for (int s = 0; s < d->nslots; s++)
        for (int i = 0; d->u8[s] && i < n; i++) {
            const int size = slot_io(p, s)->size;
            const unsigned char *row = d->u8[s] + idx[i] * size;
            for (int k = 0; k < size; k += 64)
                __builtin_prefetch(row + k);
            __builtin_prefetch(row + size - 1); /* the row need not start on a cache line */
        }
#endif
    for (int s = 0; s < d->nslots; s++) {
        const dnn_io *io = slot_io(p, s);
        for (int i = 0; i < n; i++) {
            if (d->u8[s]) {
                const unsigned char *src = d->u8[s] + idx[i] * io->size;
                const float *lut = d->lut[s], *mean = d->mean[s], *std = d->std[s];
                float *dst = b->x[s] + (size_t)i * io->size;
                if (std)
                    for (int k = 0; k < io->size; k++)
                        dst[k] = (lut[src[k]] - mean[k]) / std[k];
                else if (mean)
                    for (int k = 0; k < io->size; k++)
                        dst[k] = lut[src[k]] - mean[k];
                else
                    for (int k = 0; k < io->size; k++)
                        dst[k] = lut[src[k]];
            } else if (s < p->ninputs)
                memcpy(b->x[s] + (size_t)i * io->size, d->x[s] + idx[i] * io->size, sizeof(float) * (size_t)io->size);
            else if (io->classes)
                ((int32_t *)b->y[s - p->ninputs])[i] = d->y[s][idx[i]];
            else
                memcpy((float *)b->y[s - p->ninputs] + (size_t)i * io->size, d->x[s] + idx[i] * io->size,
                       sizeof(float) * (size_t)io->size);
        }
    }
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

/* Correct predictions of the last loss/backward call, and how many were
 * scored; the predicted class of each sample into pred[] when not NULL. */
static void score(const Run *r, const Batch *b, int n, long *correct, long *total, int *pred) {
    const dnn_program *p = r->p;
    if (p->score == DNN_SCORE_NONE)
        return;
    const float *pr = AT(r, p->pred_offset, const float *);
    const dnn_io *t = &p->targets[p->score_target];
    for (int i = 0; i < n; i++) {
        const float *row = pr + (size_t)i * p->pred_size;
        if (p->score == DNN_SCORE_ARGMAX) {
            int guess = argmax(row, p->pred_size);
            int truth = t->classes ? ((const int32_t *)b->y[p->score_target])[i]
                                   : argmax((const float *)b->y[p->score_target] + (size_t)i * t->size, t->size);
            *correct += guess == truth;
            *total += 1;
            if (pred)
                pred[i] = guess;
        } else {
            const float *y = (const float *)b->y[p->score_target] + (size_t)i * t->size;
            for (int k = 0; k < p->pred_size; k++)
                *correct += (row[k] > p->threshold) == (y[k] > p->target_threshold);
            *total += p->pred_size;
        }
    }
}

/* Eval-mode loss (sample-weighted mean) and accuracy over a data set; the
 * confusion counts when counts is not NULL. */
static void evaluate(const Run *r, const Data *d, double *loss, double *acc, long *counts) {
    const dnn_program *p = r->p;
    Batch b;
    batch_alloc(p, &b);
    long *idx = xcalloc((size_t)p->batch, sizeof(long));
    int *pred = xcalloc((size_t)p->batch, sizeof(int));
    double sum = 0;
    long correct = 0, total = 0;
    for (long start = 0; start < d->count; start += p->batch) {
        int n = (int)(d->count - start < p->batch ? d->count - start : p->batch);
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        batch_fill(p, d, idx, n, &b);
        sum += (double)p->loss(r->m, (const float *const *)b.x, (const void *const *)b.y, n) * n;
        score(r, &b, n, &correct, &total, pred);
        if (counts && p->score == DNN_SCORE_ARGMAX && p->targets[p->score_target].classes) {
            const int32_t *truth = b.y[p->score_target];
            for (int i = 0; i < n; i++)
                counts[truth[i] * p->pred_size + pred[i]]++;
        }
    }
    *loss = sum / (double)d->count;
    *acc = total ? (double)correct / (double)total : NAN;
    batch_free(p, &b);
    free(idx);
    free(pred);
}

/* ---- checkpoints ----------------------------------------------------------------------------
 * A safetensors file: the model's tensors under their names, each optimizer
 * state array as "optimizer.NAME", the weight average as "ema" and the best
 * weights so far as "best" (flat, laid out like the parameters), and the
 * loop's state in __metadata__ — integers in decimal, doubles in C99 hex
 * (%a) so they come back to the bit. */

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

static char *log_text(const Loop *l) {
    size_t cap = 200 * (size_t)l->nrows + 1, len = 0;
    char *s = xcalloc(cap, 1);
    for (int i = 0; i < l->nrows; i++) {
        const dnn_epoch_row *w = &l->rows[i];
        len += (size_t)snprintf(s + len, cap - len, "%d %a %a %a %a %a %a\n", w->epoch, w->lr, w->train_loss,
                                w->train_acc, w->val_loss, w->val_acc, w->seconds);
    }
    return s;
}

/* ---- run-time hyper-parameters ------------------------------------------------------------ */

/* The model's hyper-parameter `name` (a double in the struct), or NULL. */
static double *hparam_at(const Run *r, const char *name) {
    for (int i = 0; i < r->p->nhparams; i++)
        if (!strcmp(r->p->hparam_names[i], name))
            return AT(r, r->p->hparam_offsets[i], double *);
    return NULL;
}

/* "lr, momentum, weight_decay": the names this model takes. */
static char *hparam_list(const dnn_program *p) {
    char *s = xcalloc(32 * (size_t)(p->nhparams + 1), 1);
    for (int i = 0; i < p->nhparams; i++)
        sprintf(s + strlen(s), "%s%s", i ? ", " : "", p->hparam_names[i]);
    return s;
}

/* Sets the command line's hyper-parameters in the freshly initialised
 * model; 0, or 2 after a message naming the option. */
static int apply_hparams(const Run *r) {
    const dnn_program *p = r->p;
    const Options *o = &r->o;
    for (int i = 0; i < o->nhp; i++) {
        const char *name = o->hp_names[i], *opt = o->hp_options[i];
        int rc = p->set_hparam(r->m, name, o->hp_values[i]);
        if (rc == DNN_OK)
            continue;
        char *list = hparam_list(p);
        char *given = !strcmp(opt, "hparam") ? text_of("--hparam %s=%g", name, o->hp_values[i])
                                             : text_of("--%s %g", opt, o->hp_values[i]);
        if (rc == DNN_E_HPARAM) {
            fail("%s: no hyper-parameter is called '%s'", given, name);
            note("this model's are: %s", list);
        } else if (rc == DNN_E_NOSTATE) {
            fail("%s: model '%s' (%s, %s%s) has no '%s'", given, p->name, p->optimizer,
                 p->schedule ? "schedule " : "no schedule", p->schedule ? p->schedule : "", name);
            if (!strcmp(name, "momentum") || !strcmp(name, "dampening"))
                note("it was compiled without momentum, so it keeps no momentum buffer: give %s(momentum = ...) "
                     "in %s and recompile", p->optimizer, p->source);
            else
                note("its hyper-parameters are: %s; for others change %s and recompile", list, p->source);
        } else {
            static const char *const rules[][2] = {
                {"lr", "must be positive"}, {"beta1", "must be in [0, 1)"}, {"beta2", "must be in [0, 1)"},
                {"every", "must be a whole number of at least 1"}, {"period", "must be a whole number of at least 1"},
                {"gamma", "must be a finite number"}, {"k", "must be a finite number"},
                {"momentum", "must not be negative; it must be positive with nesterov, or with a dampening"},
                {"dampening", "must not be negative; it must be 0 with nesterov or without momentum"},
            };
            const char *rule = "must not be negative";
            for (size_t k = 0; k < sizeof rules / sizeof *rules; k++)
                if (!strcmp(rules[k][0], name))
                    rule = rules[k][1];
            fail("%s: '%s' %s", given, name, rule);
        }
        free(list);
        free(given);
        return 2;
    }
    return 0;
}

/* The checkpoint's "dnn.hparams": "lr=0x1p-1 momentum=0x1.ccccccccccccdp-1 ..." */
static char *hparams_text(const Run *r) {
    char *s = xcalloc(64 * (size_t)(r->p->nhparams + 1), 1);
    for (int i = 0; i < r->p->nhparams; i++)
        sprintf(s + strlen(s), "%s%s=%a", i ? " " : "", r->p->hparam_names[i], *AT(r, r->p->hparam_offsets[i], double *));
    return s;
}

/* A resumed run keeps the hyper-parameters it started with: those of its
 * checkpoint (already in the model). The command line may repeat them,
 * not change them; 0, or 2 after a message. */
static int check_resumed_hparams(const Run *r, const char *ckpt) {
    for (int i = 0; i < r->o.nhp; i++) {
        double had = *hparam_at(r, r->o.hp_names[i]);
        if (had != r->o.hp_values[i]) {
            fail("--%s %g: the run in %s has %s %.9g, and a resumed run keeps its hyper-parameters", r->o.hp_options[i],
                 r->o.hp_values[i], ckpt, r->o.hp_names[i], had);
            note("resume without --%s, or start a new run", r->o.hp_options[i]);
            return 2;
        }
    }
    return 0;
}

/* The run's effective settings as JSON beside the log (FILE.settings.json):
 * the optimizer and schedule with every hyper-parameter, which of them the
 * command line set, epochs, batch and seed. 0, or 3 after a message. */
static int write_settings(const Run *r, const char *path, int epochs, uint64_t seed) {
    const dnn_program *p = r->p;
    size_t cap = 1024 + 96 * (size_t)p->nhparams + 6 * strlen(p->source), len = 0;
    char *s = xcalloc(cap, 1);
    len += (size_t)snprintf(s + len, cap - len, "{\n  \"model\": \"%s\",\n  \"source\": \"", p->name);
    for (const unsigned char *c = (const unsigned char *)p->source; *c; c++) /* a JSON string */
        len += (size_t)snprintf(s + len, cap - len, *c == '"' || *c == '\\' ? "\\%c" : *c < 0x20 ? "\\u%04x" : "%c", *c);
    len += (size_t)snprintf(s + len, cap - len, "\",\n");
    len += (size_t)snprintf(s + len, cap - len, "  \"optimizer\": \"%s\",\n", p->optimizer);
    for (int i = 0; i < p->nhparams; i++)
        len += (size_t)snprintf(s + len, cap - len, "  \"%s\": %.17g,\n", p->hparam_names[i],
                                *AT(r, p->hparam_offsets[i], double *));
    if (p->schedule)
        len += (size_t)snprintf(s + len, cap - len, "  \"schedule\": \"%s\",\n  \"per_step\": %s,\n", p->schedule,
                                p->per_step ? "true" : "false");
    else
        len += (size_t)snprintf(s + len, cap - len, "  \"schedule\": null,\n");
    len += (size_t)snprintf(s + len, cap - len, "  \"from_command_line\": [");
    for (int i = 0; i < r->o.nhp; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"%s\"", i ? ", " : "", r->o.hp_names[i]);
    len += (size_t)snprintf(s + len, cap - len, "],\n  \"epochs\": %d,\n  \"batch\": %d,\n  \"seed\": %llu\n}\n", epochs,
                            p->batch, (unsigned long long)seed);
    int rc = dnn_write_file_atomic(path, s, len);
    if (rc != DNN_OK)
        fail("cannot write '%s': %s", path, strerror(errno));
    free(s);
    return rc != DNN_OK ? 3 : 0;
}

static int save_checkpoint(const Run *r, const Loop *l, const char *path) {
    const dnn_program *p = r->p;
    int extra = p->nstates + (l->ema != NULL) + (l->best != NULL);
    int count = p->num_tensors + extra;
    dnn_tensor_info *info = xcalloc((size_t)count, sizeof *info);
    const float **src = xcalloc((size_t)count, sizeof(float *));
    char **names = xcalloc((size_t)extra + 1, sizeof(char *));
    memcpy(info, p->tensors, sizeof *info * (size_t)p->num_tensors);
    tensor_ptrs(r, (float **)src);
    int k = p->num_tensors;
    for (int i = 0; i <= p->nstates + 1; i++) {
        const float *data = i < p->nstates ? AT(r, p->state_offsets[i], const float *) : i == p->nstates ? l->ema : l->best;
        if (!data)
            continue;
        names[k - p->num_tensors] = i < p->nstates ? text_of("optimizer.%s", p->state_names[i])
                                                   : strdup(i == p->nstates ? "ema" : "best");
        info[k] = (dnn_tensor_info){names[k - p->num_tensors], 1, {(int)p->params_size, 0, 0, 0}, (int)p->params_size, 0};
        src[k++] = data;
    }
    const dnn_rng *rng = AT(r, p->rng_offset, const dnn_rng *);
    Meta mt = {0};
    meta_add(&mt, "dnn.format", strdup(CKPT_FORMAT));
    meta_add(&mt, "dnn.model", strdup(p->name));
    meta_add(&mt, "dnn.epoch", text_of("%d", l->epoch));
    meta_add(&mt, "dnn.batch", text_of("%ld", l->batch));
    meta_add(&mt, "dnn.step", text_of("%lld", (long long)*AT(r, p->step_offset, const int64_t *)));
    meta_add(&mt, "dnn.rng", text_of("%llx %llx", (unsigned long long)rng->state, (unsigned long long)rng->inc));
    meta_add(&mt, "dnn.shuffle", text_of("%llx %llx", (unsigned long long)l->shuffle.state,
                                         (unsigned long long)l->shuffle.inc));
    if (p->naugment)
        meta_add(&mt, "dnn.augment", text_of("%llx %llx", (unsigned long long)l->augment.state,
                                             (unsigned long long)l->augment.inc));
    meta_add(&mt, "dnn.progress", text_of("%a %ld %ld %ld %a", l->loss_sum, l->correct, l->scored, l->seen, l->seconds));
    meta_add(&mt, "dnn.early_stop", text_of("%a %d %d", l->best_loss, l->best_epoch, l->bad_epochs));
    meta_add(&mt, "dnn.log", log_text(l));
    meta_add(&mt, "dnn.hparams", hparams_text(r));
    prep_meta(r, &mt);
    size_t len = dnn_safetensors_save_meta(info, src, count, mt.kv, mt.n, NULL, 0);
    void *buf = xcalloc(len, 1);
    dnn_safetensors_save_meta(info, src, count, mt.kv, mt.n, buf, len);
    int rc = dnn_write_file_atomic(path, buf, len);
    if (rc != DNN_OK)
        fail("cannot write '%s': %s", path, strerror(errno));
    free(buf);
    meta_free(&mt);
    for (int i = 0; i < extra; i++)
        free(names[i]);
    free(names);
    free(src);
    free(info);
    return rc != DNN_OK;
}

/* Copies a tensor of the checkpoint into dst (n floats): F32, or I64 as
 * batchnorm's num_batches_tracked counters are saved. */
static int ckpt_array(const void *buf, size_t len, const char *name, float *dst, size_t n, const char *path) {
    dnn_st_view v;
    int found = dnn_st_find(buf, len, name, &v) == DNN_OK;
    if (found && v.dtype == DNN_DT_F32 && v.nbytes == n * sizeof(float)) {
        memcpy(dst, v.data, v.nbytes);
        return 0;
    }
    if (found && v.dtype == DNN_DT_I64 && v.nbytes == n * 8) {
        const unsigned char *b = v.data;
        for (size_t i = 0; i < n; i++) {
            uint64_t u = 0;
            for (int k = 7; k >= 0; k--)
                u = u << 8 | b[8 * i + (size_t)k];
            dst[i] = (float)(int64_t)u;
        }
        return 0;
    }
    fail("%s: no '%s' of %zu floats: not a checkpoint of this model", path, name, n);
    return 1;
}

static int load_checkpoint(Run *r, Loop *l, const char *path) {
    const dnn_program *p = r->p;
    void *buf;
    size_t len;
    char text[256];
    if (read_whole(path, &buf, &len))
        return 1;
    int rc = 1;
    if (dnn_st_metadata(buf, len, "dnn.format", text, sizeof text) != DNN_OK || strcmp(text, CKPT_FORMAT)) {
        fail("%s is not a dnnc checkpoint", path);
        goto done;
    }
    if (dnn_st_metadata(buf, len, "dnn.model", text, sizeof text) != DNN_OK || strcmp(text, p->name)) {
        fail("%s is a checkpoint of model '%s', not '%s'", path, text, p->name);
        goto done;
    }
    /* the model's tensors: everything but the extra arrays */
    for (int i = 0; i < p->num_tensors; i++)
        if (ckpt_array(buf, len, p->tensors[i].name, p->tensor(r->m, i), (size_t)p->tensors[i].size, path))
            goto done;
    for (int i = 0; i < p->nstates; i++) {
        char *name = text_of("optimizer.%s", p->state_names[i]);
        int bad = ckpt_array(buf, len, name, AT(r, p->state_offsets[i], float *), p->params_size, path);
        free(name);
        if (bad)
            goto done;
    }
    if (l->ema && ckpt_array(buf, len, "ema", l->ema, p->params_size, path))
        goto done;
    dnn_st_view v;
    if (dnn_st_find(buf, len, "best", &v) == DNN_OK) {
        l->best = xcalloc(p->params_size, sizeof(float));
        if (ckpt_array(buf, len, "best", l->best, p->params_size, path))
            goto done;
    }
    unsigned long long a, b, c, d;
    long long step;
    dnn_rng *rng = AT(r, p->rng_offset, dnn_rng *);
    int ok = dnn_st_metadata(buf, len, "dnn.epoch", text, sizeof text) == DNN_OK && sscanf(text, "%d", &l->epoch) == 1;
    ok = ok && dnn_st_metadata(buf, len, "dnn.batch", text, sizeof text) == DNN_OK && sscanf(text, "%ld", &l->batch) == 1;
    ok = ok && dnn_st_metadata(buf, len, "dnn.step", text, sizeof text) == DNN_OK && sscanf(text, "%lld", &step) == 1;
    ok = ok && dnn_st_metadata(buf, len, "dnn.rng", text, sizeof text) == DNN_OK && sscanf(text, "%llx %llx", &a, &b) == 2;
    ok = ok && dnn_st_metadata(buf, len, "dnn.shuffle", text, sizeof text) == DNN_OK &&
         sscanf(text, "%llx %llx", &c, &d) == 2;
    ok = ok && dnn_st_metadata(buf, len, "dnn.progress", text, sizeof text) == DNN_OK &&
         sscanf(text, "%la %ld %ld %ld %la", &l->loss_sum, &l->correct, &l->scored, &l->seen, &l->seconds) == 5;
    ok = ok && dnn_st_metadata(buf, len, "dnn.early_stop", text, sizeof text) == DNN_OK &&
         sscanf(text, "%la %d %d", &l->best_loss, &l->best_epoch, &l->bad_epochs) == 3;
    if (ok && p->naugment) {
        unsigned long long e, f;
        if (dnn_st_metadata(buf, len, "dnn.augment", text, sizeof text) != DNN_OK ||
            sscanf(text, "%llx %llx", &e, &f) != 2) {
            fail("%s has no augmentation state: it was written by a program without 'augment'", path);
            goto done;
        }
        l->augment.state = e;
        l->augment.inc = f;
    }
    size_t cap = len + 1;
    char *log = xcalloc(cap, 1);
    ok = ok && dnn_st_metadata(buf, len, "dnn.log", log, cap) == DNN_OK;
    if (!ok || l->epoch < 0 || l->batch < 0) {
        fail("%s: its training state is damaged", path);
        free(log);
        goto done;
    }
    *AT(r, p->step_offset, int64_t *) = step;
    rng->state = a;
    rng->inc = b;
    l->shuffle.state = c;
    l->shuffle.inc = d;
    l->rows = xcalloc((size_t)l->epoch + 1, sizeof *l->rows);
    for (char *line = strtok(log, "\n"); line && l->nrows <= l->epoch; line = strtok(NULL, "\n")) {
        dnn_epoch_row *w = &l->rows[l->nrows++];
        if (sscanf(line, "%d %la %la %la %la %la %la", &w->epoch, &w->lr, &w->train_loss, &w->train_acc, &w->val_loss,
                   &w->val_acc, &w->seconds) != 7)
            l->nrows--;
    }
    free(log);
    /* the run's hyper-parameters (a checkpoint from before they were kept has the .dnn's) */
    char *hp = xcalloc(len + 1, 1);
    if (dnn_st_metadata(buf, len, "dnn.hparams", hp, len + 1) == DNN_OK) {
        char *save = NULL;
        for (char *item = strtok_r(hp, " ", &save); item; item = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(item, '=');
            double v;
            if (eq)
                *eq = 0;
            if (!eq || sscanf(eq + 1, "%la", &v) != 1 || !hparam_at(r, item) || p->set_hparam(r->m, item, v) != DNN_OK) {
                fail("%s: its hyper-parameters are damaged or not this model's ('%s')", path, item);
                free(hp);
                goto done;
            }
        }
    }
    free(hp);
    rc = 0; /* its preprocessing and class names: train_meta */
done:
    free(buf);
    return rc;
}

/* ---- augmentation ---------------------------------------------------------------------------
 * The train block's `augment` settings (p->augment) transform the training
 * batches after batch_fill; validation, eval, predict and gradcheck never
 * see them. For each sample, each setting in written order draws from the
 * augmentation generator, seeded with seed ^ AUGMENT_STREAM and saved in
 * the checkpoint ("dnn.augment"), so the shuffle and dropout generators
 * draw the same numbers with augmentation or without:
 *   noise   a normal per element (Box–Muller, in pairs): x + std·z
 *   hflip   a float u in [0, 1): mirrored when u < p
 *   crop    top, then left, each uniform in 0..2·pad
 *   rotate  a float angle uniform in [−degrees, degrees)
 * The transforms see the input as --scale left it: --standardize's
 * statistics are undone before and applied again after (as torchvision's
 * transforms come before Normalize), so the zero fill is a zero pixel. */

#define AUGMENT_STREAM 0xa06e0716ULL

/* How many draws step a records per sample (the augment command's output). */
static int augment_width(const dnn_program *p, const dnn_augment *a) {
    return a->kind == DNN_AUG_NOISE ? p->inputs[a->input].size : a->kind == DNN_AUG_CROP ? 2 : 1;
}

/* Whether some augment setting transforms input s. */
static int augmented(const dnn_program *p, int s) {
    for (int k = 0; k < p->naugment; k++)
        if (p->augment[k].input == s)
            return 1;
    return 0;
}

/* Two standard normals from one Box–Muller draw (dnn_rng_normal's arithmetic). */
static void normal_pair(dnn_rng *rng, double *z0, double *z1) {
    double u1 = ((double)(dnn_rng_u32(rng) >> 8) + 1.0) * (1.0 / 16777216.0);
    double u2 = (double)(dnn_rng_u32(rng) >> 8) * (1.0 / 16777216.0);
    double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586476925 * u2;
    *z0 = radius * cos(angle);
    *z1 = radius * sin(angle);
}

/* Augments one sample: x[s] is input s's values. Step k's draws go to
 * draws[k] when draws is not NULL. scratch holds the largest input. */
static void augment_sample(const Run *r, float *const *x, dnn_rng *rng, float *scratch, float *const *draws) {
    const dnn_program *p = r->p;
    for (int s = 0; s < p->ninputs; s++) /* undo --standardize or --center on the inputs augmented */
        if (r->prep.mean[s] && augmented(p, s))
            for (int e = 0; e < p->inputs[s].size; e++)
                x[s][e] = (r->prep.std[s] ? x[s][e] * r->prep.std[s][e] : x[s][e]) + r->prep.mean[s][e];
    for (int k = 0; k < p->naugment; k++) {
        const dnn_augment *a = &p->augment[k];
        const dnn_io *io = &p->inputs[a->input];
        float *v = x[a->input], *drawn = draws ? draws[k] : NULL;
        const int c = io->shape[0], h = io->shape[1], w = io->shape[2];
        if (a->kind == DNN_AUG_NOISE) {
            for (int e = 0; e < io->size; e += 2) {
                double z[2];
                normal_pair(rng, &z[0], &z[1]);
                for (int j = 0; j < 2 && e + j < io->size; j++) {
                    float noise = (float)(a->value * z[j]);
                    v[e + j] += noise;
                    if (drawn)
                        drawn[e + j] = noise;
                }
            }
        } else if (a->kind == DNN_AUG_HFLIP) {
            int flip = dnn_rng_float(rng) < a->value;
            if (flip)
                dnn_aug_hflip(v, c, h, w);
            if (drawn)
                drawn[0] = (float)flip;
        } else if (a->kind == DNN_AUG_CROP) {
            int pad = (int)a->value;
            int top = (int)dnn_rng_below(rng, (uint32_t)(2 * pad + 1));
            int left = (int)dnn_rng_below(rng, (uint32_t)(2 * pad + 1));
            dnn_aug_crop(scratch, v, c, h, w, pad, top, left);
            memcpy(v, scratch, sizeof(float) * (size_t)io->size);
            if (drawn) {
                drawn[0] = (float)top;
                drawn[1] = (float)left;
            }
        } else {
            float angle = dnn_rng_uniform(rng, (float)-a->value, (float)a->value);
            dnn_aug_rotate(scratch, v, c, h, w, angle);
            memcpy(v, scratch, sizeof(float) * (size_t)io->size);
            if (drawn)
                drawn[0] = angle;
        }
    }
    for (int s = 0; s < p->ninputs; s++) /* and standardize again */
        if (r->prep.mean[s] && augmented(p, s))
            for (int e = 0; e < p->inputs[s].size; e++)
                x[s][e] = r->prep.std[s] ? (x[s][e] - r->prep.mean[s][e]) / r->prep.std[s][e] : x[s][e] - r->prep.mean[s][e];
}

static float *augment_scratch(const dnn_program *p) {
    int most = 1;
    for (int k = 0; k < p->naugment; k++)
        if (p->inputs[p->augment[k].input].size > most)
            most = p->inputs[p->augment[k].input].size;
    return xcalloc((size_t)most, sizeof(float));
}

/* Augments the n samples of a training batch, in order. */
static void augment_batch(const Run *r, Batch *b, int n, dnn_rng *rng) {
    const dnn_program *p = r->p;
    float *scratch = augment_scratch(p), *x[MAX_SLOTS];
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < p->ninputs; s++)
            x[s] = b->x[s] + (size_t)i * p->inputs[s].size;
        augment_sample(r, x, rng, scratch, NULL);
    }
    free(scratch);
}

/* The picture of `augment --out F.png`: up to 32 samples of image input s,
 * each as the original beside its augmentation, 8 pairs a row, enlarged to
 * about 64 pixels a side; grey (channel 0) unless the input has 3 channels.
 * Values map linearly from the originals' range to 0..255. */
static int augment_png(const dnn_program *p, int s, const float *orig, const float *aug, long count, const char *path) {
    const dnn_io *io = &p->inputs[s];
    const int c = io->shape[0], h = io->shape[1], w = io->shape[2], ch = c == 3 ? 3 : 1;
    const int n = count < 32 ? (int)count : 32, zoom = h > 64 || w > 64 ? 1 : 64 / (h > w ? h : w);
    const int gap = 2 * zoom, cell_w = 2 * w * zoom + gap + 4 * gap, cell_h = h * zoom + 2 * gap;
    const int cols = n < 8 ? n : 8, rows = (n + 7) / 8, width = cols * cell_w, height = rows * cell_h;
    float lo = INFINITY, hi = -INFINITY;
    for (long i = 0; i < (long)n * io->size; i++) {
        lo = orig[i] < lo ? orig[i] : lo;
        hi = orig[i] > hi ? orig[i] : hi;
    }
    unsigned char *pix = xcalloc((size_t)width * (size_t)height * (size_t)ch, 1);
    memset(pix, 128, (size_t)width * (size_t)height * (size_t)ch);
    for (int i = 0; i < n; i++)
        for (int side = 0; side < 2; side++) {
            const float *img = (side ? aug : orig) + (size_t)i * io->size;
            int x0 = (i % 8) * cell_w + 2 * gap + side * (w * zoom + gap), y0 = (i / 8) * cell_h + gap;
            for (int y = 0; y < h * zoom; y++)
                for (int x = 0; x < w * zoom; x++)
                    for (int k = 0; k < ch; k++) {
                        float v = img[((size_t)k * h + (size_t)(y / zoom)) * w + (size_t)(x / zoom)];
                        float t = hi > lo ? (v - lo) / (hi - lo) : 0.5f;
                        t = t < 0 ? 0 : t > 1 ? 1 : t;
                        pix[((size_t)(y0 + y) * width + (size_t)(x0 + x)) * ch + k] = (unsigned char)(255 * t + 0.5f);
                    }
        }
    size_t len = dnn_png_encode(NULL, 0, pix, width, height, ch);
    unsigned char *buf = xcalloc(len, 1);
    dnn_png_encode(buf, len, pix, width, height, ch);
    int rc = 0;
    if (dnn_write_file_atomic(path, buf, len) != DNN_OK) {
        fail("cannot write '%s': %s", path, strerror(errno));
        rc = 3;
    }
    free(buf);
    free(pix);
    return rc;
}

/* augment --out F.safetensors: each input as augmented ("NAME") and as read
 * ("NAME.original"), [N, per-sample shape...], and each step's draws
 * ("augment.K.KIND", [N, width]), with the step's std, p, pad or degrees
 * in the metadata under the same name. */
static int augment_tensors(const dnn_program *p, float *const *orig, float *const *aug, float *const *draws, long count,
                           const char *path) {
    static const char *const kinds[] = {"noise", "hflip", "crop", "rotate"};
    int ntensors = 2 * p->ninputs + p->naugment;
    dnn_tensor_info *info = xcalloc((size_t)ntensors, sizeof *info);
    const float **src = xcalloc((size_t)ntensors, sizeof(float *));
    char **names = xcalloc((size_t)ntensors, sizeof(char *));
    const char **meta = xcalloc(2 * (size_t)p->naugment, sizeof(char *));
    int rc = 0;
    for (int t = 0; t < ntensors && !rc; t++) {
        if (t < 2 * p->ninputs) {
            const dnn_io *io = &p->inputs[t / 2];
            if (io->rank > 3) {
                fail("--out %s: '%s' has rank %d; a tensor of the file holds at most 3 per-sample dimensions", path,
                     io->name, io->rank);
                rc = 2;
            }
            names[t] = text_of(t % 2 ? "%s.original" : "%s", io->name);
            info[t] = (dnn_tensor_info){names[t], io->rank + 1, {(int)count, 0, 0, 0}, (int)count * io->size, 0};
            for (int k = 0; k < io->rank && k < 3; k++)
                info[t].shape[k + 1] = io->shape[k];
            src[t] = t % 2 ? orig[t / 2] : aug[t / 2];
        } else {
            const dnn_augment *a = &p->augment[t - 2 * p->ninputs];
            int width = augment_width(p, a);
            names[t] = text_of("augment.%d.%s", t - 2 * p->ninputs, kinds[a->kind]);
            info[t] = (dnn_tensor_info){names[t], 2, {(int)count, width, 0, 0}, (int)count * width, 0};
            src[t] = draws[t - 2 * p->ninputs];
            meta[2 * (t - 2 * p->ninputs)] = names[t];
            meta[2 * (t - 2 * p->ninputs) + 1] = text_of("%.17g", a->value);
        }
    }
    if (!rc) {
        size_t len = dnn_safetensors_save_meta(info, src, ntensors, meta, p->naugment, NULL, 0);
        void *buf = xcalloc(len, 1);
        dnn_safetensors_save_meta(info, src, ntensors, meta, p->naugment, buf, len);
        if (dnn_write_file_atomic(path, buf, len) != DNN_OK) {
            fail("cannot write '%s': %s", path, strerror(errno));
            rc = 3;
        }
        free(buf);
    }
    for (int t = 0; t < ntensors; t++)
        free(names[t]);
    for (int k = 0; k < p->naugment; k++)
        free((char *)meta[2 * k + 1]);
    free(meta);
    free(names);
    free(src);
    free(info);
    return rc;
}

/* `augment DATA... --out F`: the train block's augmentation applied once to
 * each sample of DATA, in file order, with the draws the training run's
 * first samples would get (the generator seeded from --seed or the model's
 * seed). F is a .png to look at, a .safetensors with the draws, or a .npy. */
static int augment_command(Run *r) {
    const dnn_program *p = r->p;
    const Options *o = &r->o;
    if (!p->naugment) {
        fail("model '%s' has no 'augment' settings in its train block", p->name);
        note("add e.g. 'augment noise(std = 0.1);' to the train block of %s (see docs/training.md)", p->source);
        return 2;
    }
    int png = o->out && ends_with(o->out, ".png"), npy = o->out && ends_with(o->out, ".npy");
    if (!o->out || !(png || npy || ends_with(o->out, ".safetensors"))) {
        fail("'augment' needs --out FILE: .png (a picture), .safetensors (with the draws) or .npy");
        return 2;
    }
    int shown = p->augment[0].input; /* the input a .png (the first image) or .npy shows */
    for (int k = p->naugment - 1; png && k >= 0; k--)
        if (p->inputs[p->augment[k].input].rank == 3)
            shown = p->augment[k].input;
    if (png && p->inputs[shown].rank != 3) {
        fail("--out %s: a picture needs an image input [C, H, W]; '%s' is not one", o->out, p->inputs[shown].name);
        return 2;
    }
    Data d;
    if (load_data(p, o, &r->classes, o->files, o->nfiles, p->ninputs, &d)) {
        data_free(&d);
        return 1;
    }
    if (o->standardize)
        note("--standardize: augmentation comes before standardisation, so the output is not standardised");
    int widest = 1;
    for (int s = 0; s < p->ninputs; s++)
        widest = p->inputs[s].size > widest ? p->inputs[s].size : widest;
    if (d.count > (1L << 30) / widest) {
        fail("--out %s: too many samples for one file; give --limit", o->out);
        data_free(&d);
        return 2;
    }
    data_floats(p, &d);
    r->prep.scale = isnan(o->scale) ? 1.0 : o->scale;
    prep_apply(p, &r->prep, &d);
    float *orig[MAX_SLOTS], *draws[MAX_SLOTS], *x[MAX_SLOTS], *step[MAX_SLOTS];
    for (int s = 0; s < p->ninputs; s++) {
        size_t n = (size_t)d.count * (size_t)p->inputs[s].size;
        orig[s] = xcalloc(n, sizeof(float));
        memcpy(orig[s], d.x[s], n * sizeof(float));
    }
    for (int k = 0; k < p->naugment; k++)
        draws[k] = xcalloc((size_t)d.count * (size_t)augment_width(p, &p->augment[k]), sizeof(float));
    dnn_rng rng;
    dnn_rng_seed(&rng, (o->seed >= 0 ? (uint64_t)o->seed : p->seed) ^ AUGMENT_STREAM);
    float *scratch = augment_scratch(p);
    for (long i = 0; i < d.count; i++) {
        for (int s = 0; s < p->ninputs; s++)
            x[s] = d.x[s] + i * p->inputs[s].size;
        for (int k = 0; k < p->naugment; k++)
            step[k] = draws[k] + i * augment_width(p, &p->augment[k]);
        augment_sample(r, x, &rng, scratch, step);
    }
    int rc = 0;
    char msg[512];
    if (png) {
        rc = augment_png(p, shown, orig[shown], d.x[shown], d.count, o->out);
    } else if (npy) {
        int64_t dims[5] = {d.count};
        for (int k = 0; k < p->inputs[shown].rank; k++)
            dims[k + 1] = p->inputs[shown].shape[k];
        if (dnn_npy_write(o->out, d.x[shown], p->inputs[shown].rank + 1, dims, msg, sizeof msg) != DNN_OK) {
            fail("%s", msg);
            rc = 3;
        }
    } else
        rc = augment_tensors(p, orig, d.x, draws, d.count, o->out);
    if (!rc)
        printf("%s: %ld sample%s of '%s' augmented%s\n", o->out, d.count, d.count == 1 ? "" : "s",
               p->inputs[shown].name, png ? (d.count > 32 ? " (the first 32 shown, each beside its original)"
                                                          : " (each beside its original)") : "");
    free(scratch);
    for (int s = 0; s < p->ninputs; s++)
        free(orig[s]);
    for (int k = 0; k < p->naugment; k++)
        free(draws[k]);
    data_free(&d);
    return rc;
}

/* ---- training ------------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

/* "dir/w.safetensors" → "dir/w" + ext */
static char *beside(const char *path, const char *ext) {
    size_t n = strlen(path);
    static const char *const known[] = {".safetensors", ".log.csv", ".csv", ".ckpt"};
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
        if (ends_with(path, known[k])) {
            n -= strlen(known[k]);
            break;
        }
    char *s = xcalloc(n + strlen(ext) + 1, 1);
    memcpy(s, path, n);
    strcpy(s + n, ext);
    return s;
}

/* Fisher–Yates from the generator: the epoch's order of the training samples. */
static void shuffle_order(long *order, long n, dnn_rng *rng) {
    for (long i = n - 1; i > 0; i--) {
        long j = (long)dnn_rng_below(rng, (uint32_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Views of a data set restricted to the samples idx[0..n) (copied). */
static void subset(const dnn_program *p, const Data *d, const long *idx, long n, Data *out) {
    memset(out, 0, sizeof *out);
    out->count = n;
    out->nslots = d->nslots;
    for (int s = 0; s < d->nslots; s++) {
        const dnn_io *io = slot_io(p, s);
        if (io->classes) {
            out->y[s] = xcalloc((size_t)n, sizeof(int32_t));
            for (long i = 0; i < n; i++)
                out->y[s][i] = d->y[s][idx[i]];
        } else if (d->u8[s]) {
            out->u8[s] = xcalloc((size_t)n * (size_t)io->size, 1);
            for (long i = 0; i < n; i++)
                memcpy(out->u8[s] + i * io->size, d->u8[s] + idx[i] * io->size, (size_t)io->size);
            memcpy(out->lut[s], d->lut[s], sizeof d->lut[s]);
            out->mean[s] = d->mean[s];
            out->std[s] = d->std[s];
        } else {
            out->x[s] = xcalloc((size_t)n * (size_t)io->size, sizeof(float));
            for (long i = 0; i < n; i++)
                memcpy(out->x[s] + i * io->size, d->x[s] + idx[i] * io->size, sizeof(float) * (size_t)io->size);
        }
    }
}

static void ema_update(const Run *r, float *ema, double decay, int first) {
    const dnn_program *p = r->p;
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        const float *w = p->tensor(r->m, i);
        float *e = ema + (w - r->params);
        for (int k = 0; k < p->tensors[i].size; k++)
            e[k] = first ? w[k] : (float)(decay * e[k] + (1 - decay) * w[k]);
    }
}

/* Exchanges the trainable parameters with the average (for evaluation and saving). */
static void ema_swap(const Run *r, float *ema) {
    const dnn_program *p = r->p;
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        float *w = p->tensor(r->m, i), *e = ema + (w - r->params);
        for (int k = 0; k < p->tensors[i].size; k++) {
            float t = w[k];
            w[k] = e[k];
            e[k] = t;
        }
    }
}

/* --check-finite: says where the first NaN or infinity appeared (once) and
 * returns 1 when the model has seen one. */
static int nonfinite(const Run *r, int epoch, long batch) {
    static int said;
    const char *where = r->p->nonfinite ? r->p->nonfinite(r->m) : NULL;
    if (where && !said++)
        fail("a NaN or infinity first appeared in %s, in epoch %d, batch %ld (--check-finite)", where, epoch + 1,
             batch + 1);
    return where != NULL;
}

/* ---- run directories ----------------------------------------------------------------
 * Without --save or --out, each train keeps its files in a new directory
 * runs/NAME-N (N one more than the highest there), and runs/latest is a
 * symbolic link to it, so a second run never replaces the first one's
 * weights, checkpoint, log or curves. --resume alone continues the run its
 * command line writes: --save's or --out's, or else the highest runs/NAME-N. */

#define RUNS "runs"

/* The highest N of the directories runs/NAME-N, 0 when there is none. */
static int last_run(const char *name) {
    DIR *dir = opendir(RUNS);
    size_t len = strlen(name);
    int last = 0;
    for (struct dirent *e; dir && (e = readdir(dir));) {
        const char *n = e->d_name + len + 1;
        if (strncmp(e->d_name, name, len) || e->d_name[len] != '-' || !*n || strspn(n, "0123456789") != strlen(n) ||
            strlen(n) > 6)
            continue;
        last = atoi(n) > last ? atoi(n) : last;
    }
    if (dir)
        closedir(dir);
    return last;
}

/* Makes the next runs/NAME-N (mkdir decides, so runs started together get
 * their own); its path, or NULL after a message. */
static char *new_run(const char *name) {
    if (mkdir(RUNS, 0777) != 0 && errno != EEXIST) {
        fail("cannot make the directory '%s': %s (or give --save FILE or --out DIR)", RUNS, strerror(errno));
        return NULL;
    }
    for (int n = last_run(name) + 1;; n++) {
        char *dir = text_of("%s/%s-%d", RUNS, name, n);
        if (mkdir(dir, 0777) == 0)
            return dir;
        if (errno != EEXIST) {
            fail("cannot make the directory '%s': %s (or give --save FILE or --out DIR)", dir, strerror(errno));
            free(dir);
            return NULL;
        }
        free(dir);
    }
}

/* Points runs/latest at dir when dir is a run directory runs/X: a new link renamed over the old one. */
static void link_latest(const char *dir) {
    size_t len = strlen(RUNS "/");
    if (strncmp(dir, RUNS "/", len) || !dir[len] || strchr(dir + len, '/') || !strcmp(dir + len, "latest"))
        return;
    char *tmp = text_of("%s/.latest.%ld", RUNS, (long)getpid());
    remove(tmp);
    if (symlink(dir + len, tmp) != 0 || rename(tmp, RUNS "/latest") != 0) {
        note("cannot point %s/latest at %s: %s", RUNS, dir + len, strerror(errno));
        remove(tmp);
    }
    free(tmp);
}

/* The directory part of path ("." when it has none), from malloc. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? text_of("%.*s", (int)(slash - path), path) : strdup(".");
}

/* Whether files named beside path (FILE.ckpt beside FILE.safetensors) may
 * be made there: path is a regular file, or not there yet. Not beside a
 * device or a FIFO (--save /dev/null must not make /dev/null.ckpt). */
static int regular_path(const char *path) {
    struct stat st;
    return stat(path, &st) != 0 || S_ISREG(st.st_mode);
}

/* Where train's files go (*save: the weights; the rest beside them) and the
 * checkpoint --resume reads (*from, NULL without --resume). The run
 * directory is not made here: see place_files. 0, or 1 after a message. */
static int run_files(const Run *r, char **save, char **from) {
    const Options *o = &r->o;
    const char *name = r->p->name;
    *save = o->save ? strdup(o->save) : o->out ? text_of("%s/%s.safetensors", o->out, name) : NULL;
    *from = NULL;
    if (!o->resume)
        return 0;
    struct stat st;
    if (!*o->resume && *save && regular_path(*save)) {
        *from = beside(*save, ".ckpt");
    } else if (!*o->resume) {
        int n = last_run(name);
        if (!n) {
            fail("--resume: there is no run of '%s' in %s/ to continue (give its checkpoint: --resume=FILE)", name, RUNS);
            return 1;
        }
        *from = text_of("%s/%s-%d/%s.ckpt", RUNS, name, n, name);
    } else if (stat(o->resume, &st) == 0 && S_ISDIR(st.st_mode)) {
        *from = text_of("%.*s/%s.ckpt", (int)(strlen(o->resume) - ends_with(o->resume, "/")), o->resume, name);
    } else {
        *from = strdup(o->resume);
    }
    if (!*save) /* the run goes on where it was */
        *save = beside(*from, ".safetensors");
    return 0;
}

/* The files of a run, once everything is read and checked: the weights at
 * *save (made runs/NAME-N/NAME.safetensors when there is none), and beside
 * them the checkpoint, the log (unless --log), and beside the log the
 * curves and the settings. A --save or --log that is no regular file (a
 * device, a FIFO) gets no files beside it: those beside --save go to the
 * resumed run's place or a new run directory, those beside --log beside
 * the weights' place. *run: the run directory made, or NULL. 0, or 3 after
 * a message. */
static int place_files(const Run *r, char **save, const char *from, char **run, char **ckpt, char **log, char **svg,
                       char **settings) {
    const Options *o = &r->o;
    const char *name = r->p->name;
    *run = NULL;
    if ((!*save || !regular_path(*save)) && !from && !(*run = new_run(name)))
        return 3;
    char *base = *save && regular_path(*save) ? strdup(*save)
                 : from                      ? strdup(from)
                                             : text_of("%s/%s.safetensors", *run, name);
    if (!*save)
        *save = strdup(base);
    else if (strcmp(base, *save))
        note("%s is not a regular file: the files beside it (the checkpoint%s) go to %s", *save,
             o->log ? "" : ", log, curves and settings", *run ? *run : base);
    struct stat st;
    if (o->out && !o->save && mkdir(o->out, 0777) != 0 && (errno != EEXIST || stat(o->out, &st) || !S_ISDIR(st.st_mode))) {
        fail("cannot make the directory '%s': %s", o->out, errno == EEXIST ? "a file has that name" : strerror(errno));
        free(base);
        return 3;
    }
    *ckpt = beside(base, ".ckpt");
    *log = o->log ? strdup(o->log) : beside(base, ".log.csv");
    const char *side = regular_path(*log) ? *log : base;
    *svg = beside(side, ".svg");
    *settings = beside(side, ".settings.json");
    char *named = beside(*log, ".svg");
    if (strcmp(named, *svg))
        note("%s is not a regular file: the curves and settings go to %s and %s", *log, *svg, *settings);
    free(named);
    char *dir = dir_of(base);
    link_latest(dir);
    free(dir);
    free(base);
    return 0;
}

/* "--resume" when it alone finds the checkpoint ckpt again, else "--resume=CKPT". */
static const char *resume_hint(const Run *r, const char *ckpt, char *buf, size_t cap) {
    char *latest = text_of("%s/%s-%d/%s.ckpt", RUNS, r->p->name, last_run(r->p->name), r->p->name);
    int bare = (r->o.save && regular_path(r->o.save)) || r->o.out || !strcmp(ckpt, latest);
    snprintf(buf, cap, "the same command and --resume%s%s", bare ? "" : "=", bare ? "" : ckpt);
    free(latest);
    return buf;
}

/* ---- starting weights: the init rules, --weights, --init-from -------------------- */

static int init_from(Run *r, const char *path);

/* The model as a run starts: initialised from the seed, then --weights (all
 * of the model's tensors, and what of their metadata `what` says) or
 * --init-from (those that fit). 0, or 1. */
static int start_weights(Run *r, uint64_t seed, int what) {
    r->p->init(r->m, seed);
    if (r->o.weights)
        return load_weights(r, r->o.weights, what);
    return r->o.init_from ? init_from(r, r->o.init_from) : 0;
}

/* --init-map FROM=TO: the file's name for the model's tensor `name` — the
 * first map whose TO starts the name gives FROM and the rest (from malloc). */
static char *mapped_name(const Pairs *maps, const char *name) {
    for (int i = 0; i < maps->n; i++) {
        const char *eq = strchr(maps->v[i], '=');
        size_t to = strlen(eq + 1);
        if (!strncmp(name, eq + 1, to))
            return text_of("%.*s%s", (int)(eq - maps->v[i]), maps->v[i], name + to);
    }
    return strdup(name);
}

static const char *shape_text(char *buf, size_t cap, int rank, const int64_t *dims) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < rank && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", k ? ", " : "", (long long)dims[k]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

/* --init-from FILE: each of the model's tensors takes the file's tensor of
 * its name (after --init-map) when the shapes agree, and keeps its initial
 * values otherwise; a report says which were loaded, kept or did not fit,
 * and which of the file's were not used. 0, or 1 when nothing fits. */
static int init_from(Run *r, const char *path) {
    const dnn_program *p = r->p;
    void *buf;
    size_t len;
    if (read_whole(path, &buf, &len))
        return 1;
    path = shown(path);
    int count = dnn_st_count(buf, len), loaded = 0, kept = 0, misfit = 0, rc = 0;
    if (count < 0) {
        fail("%s: %s (--init-from reads a weights file: safetensors)", path, dnn_strerror(count));
        free(buf);
        return 1;
    }
    char **want = xcalloc((size_t)p->num_tensors, sizeof(char *));
    long values = 0, total = 0;
    printf("initial weights from %s:\n", path);
    for (int i = 0; i < p->num_tensors && !rc; i++) {
        const dnn_tensor_info *t = &p->tensors[i];
        int64_t dims[4] = {t->shape[0], t->shape[1], t->shape[2], t->shape[3]};
        char model[64], file[64], from[256] = "";
        want[i] = mapped_name(&r->o.init_maps, t->name);
        if (strcmp(want[i], t->name))
            snprintf(from, sizeof from, " from %s", want[i]);
        shape_text(model, sizeof model, t->rank, dims);
        total += t->size;
        dnn_st_view v;
        int found = dnn_st_find(buf, len, want[i], &v);
        if (found == DNN_E_MISSING) {
            if (*from)
                printf("  kept         %s %s: no %s in the file\n", t->name, model, want[i]);
            else
                printf("  kept         %s %s: not in the file\n", t->name, model);
            kept++;
            continue;
        }
        if (found != DNN_OK) {
            fail("%s: %s", path, dnn_strerror(found));
            rc = 1;
            break;
        }
        int fits = v.rank == t->rank && (v.dtype == DNN_DT_F32 || v.dtype == DNN_DT_I64);
        for (int k = 0; k < v.rank && fits; k++)
            fits = v.shape[k] == dims[k];
        if (!fits) {
            printf("  did not fit  %s: file %s%s%s, model %s\n", t->name, shape_text(file, sizeof file, v.rank, v.shape),
                   v.dtype == DNN_DT_F32 || v.dtype == DNN_DT_I64 ? "" : " (not F32)", from, model);
            misfit++;
            continue;
        }
        rc = ckpt_array(buf, len, want[i], p->tensor(r->m, i), (size_t)t->size, path);
        printf("  loaded       %s %s%s\n", t->name, model, from);
        loaded++;
        values += t->size;
    }
    /* the file's tensors no model tensor asked for */
    int unused = 0;
    for (int j = 0; j < count && !rc; j++) {
        dnn_st_view v;
        int asked = dnn_st_at(buf, len, j, &v) != DNN_OK;
        for (int i = 0; i < p->num_tensors && !asked; i++)
            asked = strlen(want[i]) == v.name_len && !memcmp(want[i], v.name, v.name_len);
        if (!asked && unused++ < 8)
            printf("%s%.*s", unused == 1 ? "  not used     " : ", ", (int)v.name_len, v.name);
    }
    if (unused > 8)
        printf(", ... (%d of the file's tensors)", unused);
    if (unused)
        printf("\n");
    if (!rc)
        printf("  %d of %d tensors loaded (%ld of %ld values), %d kept, %d did not fit\n", loaded, p->num_tensors, values,
               total, kept, misfit);
    if (!rc && !loaded) {
        fail("%s: none of its tensors fits model '%s'%s", path, p->name,
             r->o.init_maps.n ? "; check --init-map" : "; if only the names differ, map them with --init-map FROM=TO");
        rc = 1;
    }
    /* the preprocessing does not come along: say when it differs (the usual mistake in transfer learning) */
    char text[64], *mean = key_for("mean", p->inputs[0].name), *std = key_for("std", p->inputs[0].name);
    if (!rc && dnn_st_metadata(buf, len, "dnn.scale", text, sizeof text) == DNN_OK && atof(text) != r->prep.scale)
        note("%s was trained on inputs multiplied by %g (--scale), this run multiplies them by %g", path, atof(text),
             r->prep.scale);
    static const char *const option[] = {"--standardize or --center", "--center", "--standardize"};
    static const char *const does[] = {"neither standardizes nor centres", "centres", "standardizes"};
    int was = dnn_st_metadata(buf, len, std, text, 1) != DNN_E_MISSING     ? 2
              : dnn_st_metadata(buf, len, mean, text, 1) != DNN_E_MISSING ? 1
                                                                          : 0;
    int now = r->o.standardize ? 2 : r->o.center ? 1 : 0;
    if (!rc && was != now)
        note("%s was trained with%s %s, this run %s its inputs", path, was ? "" : "out", option[was ? was : now],
             does[now]);
    free(mean);
    free(std);
    for (int i = 0; i < p->num_tensors; i++)
        free(want[i]);
    free(want);
    free(buf);
    return rc;
}

/* Writes the log and the curves of the rows so far; 0, or 3 after a message. */
static int write_log(const Run *r, const Loop *l, const char *log, const char *svg) {
    char msg[512];
    if (dnn_log_write_csv(log, l->rows, l->nrows, msg, sizeof msg) != DNN_OK ||
        dnn_plot_svg(svg, r->p->name, l->rows, l->nrows, msg, sizeof msg) != DNN_OK) {
        fail("%s", msg);
        return 3;
    }
    return 0;
}

/* Epoch 0's training loss and accuracy: of at most INITIAL_SAMPLES training
 * samples, evenly spaced (a sorted file is sampled across), so that the
 * check costs little on a large data set (Fashion-MNIST: a sixth of it). */
#define INITIAL_SAMPLES 10000

static void initial_loss(const Run *r, const Data *train_set, double *loss, double *acc) {
    long n = train_set->count < INITIAL_SAMPLES ? train_set->count : INITIAL_SAMPLES;
    if (n == train_set->count) {
        evaluate(r, train_set, loss, acc, NULL);
        return;
    }
    long *pick = xcalloc((size_t)n, sizeof(long));
    for (long i = 0; i < n; i++)
        pick[i] = (long)((double)i * (double)train_set->count / (double)n);
    Data few;
    subset(r->p, train_set, pick, n, &few);
    evaluate(r, &few, loss, acc, NULL);
    data_free(&few);
    free(pick);
}

/* " (a uniform guess: ln 10 = 2.3026)": what the initial loss of a classifier should be near. */
static const char *chance_text(const dnn_program *p, char *buf, size_t cap) {
    *buf = 0;
    if (p->chance_loss > 0)
        snprintf(buf, cap, "; a uniform guess scores ln %.0f = %.4f", exp(p->chance_loss), p->chance_loss);
    return buf;
}

static int train(Run *r) {
    const dnn_program *p = r->p;
    const Options *o = &r->o;
    int epochs = o->epochs > 0 ? o->epochs : p->epochs;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : p->seed;
    int nslots = p->ninputs + p->ntargets;
    int status = 0;
    /* everything the run owns, freed at done: */
    Data all, train_set, val_set;
    Loop l;
    Batch b;
    long *idx = NULL, *order = NULL;
    char *save = NULL, *ckpt = NULL, *log = NULL, *svg = NULL, *settings = NULL, *val_list = NULL, *from = NULL;
    char *run = NULL;
    memset(&all, 0, sizeof all);
    memset(&train_set, 0, sizeof train_set);
    memset(&val_set, 0, sizeof val_set);
    memset(&l, 0, sizeof l);
    memset(&b, 0, sizeof b);
    signal(SIGINT, on_signal); /* from here on ^C, SIGTERM and SIGHUP stop at the next batch, with a checkpoint */
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGXFSZ, SIG_IGN); /* past `ulimit -f` a write fails (and its temporary file goes) instead */
    r->prep.scale = isnan(o->scale) ? 1.0 : o->scale;
    p->init(r->m, seed); /* the command line's hyper-parameters checked before any data is read */
    if ((status = apply_hparams(r)) != 0)
        goto done;
    r->classes.learn = 1; /* text labels without names from the options or files name the classes */
    if (run_files(r, &save, &from) || train_meta(r, from) ||
        load_data(p, o, &r->classes, o->files, o->nfiles, nslots, &all)) {
        status = 1;
        goto done;
    }
    r->classes.learn = 0;

    /* the split: --val files, or the train block's validation fraction (a seeded random split) */
    idx = xcalloc((size_t)all.count, sizeof(long));
    for (long i = 0; i < all.count; i++)
        idx[i] = i;
    long ntrain = all.count;
    if (!o->val && p->validation > 0) {
        dnn_rng split;
        dnn_rng_seed(&split, seed ^ 0x5eed5eedULL);
        shuffle_order(idx, all.count, &split);
        ntrain = all.count - (long)floor(p->validation * (double)all.count + 0.5);
        if (ntrain < 1 || ntrain == all.count) {
            fail("validation %g of %ld samples leaves %s", p->validation, all.count,
                 ntrain < 1 ? "nothing to train on" : "nothing to validate on");
            status = 1;
            goto done;
        }
    }
    if (!from) /* a resumed run has the checkpoint's */
        prep_fit_options(p, o, &r->prep, &all, idx, ntrain);
    prep_apply(p, &r->prep, &all);
    if (ntrain < all.count) {
        subset(p, &all, idx, ntrain, &train_set);
        subset(p, &all, idx + ntrain, all.count - ntrain, &val_set);
    } else { /* no split: the data set is the training set, no copy */
        train_set = all;
        memset(&all, 0, sizeof all);
    }
    if (o->val) {
        const char *files[MAX_SLOTS];
        int n = 0;
        val_list = strdup(o->val);
        for (char *f = strtok(val_list, ","); f && n < MAX_SLOTS; f = strtok(NULL, ","))
            files[n++] = f;
        if (load_data(p, o, &r->classes, files, n, nslots, &val_set)) {
            status = 1;
            goto done;
        }
        prep_apply(p, &r->prep, &val_set);
    }
    int have_val = val_set.count > 0;
    /* batchnorm cannot train on one sample (PyTorch raises): a last batch of one is left out */
    long used = train_set.count;
    if (p->min_batch > 1 && (p->batch < p->min_batch || used < p->min_batch)) {
        fail("the model's batchnorm needs at least %d samples a batch to train (PyTorch raises on 1), and %s",
             p->min_batch, p->batch < p->min_batch ? "its batch is 1" : "there is 1 training sample");
        status = 1;
        goto done;
    }
    if (p->min_batch > 1 && used % p->batch == 1) {
        used--;
        fprintf(stderr, "%s: warning: each epoch's last batch would hold 1 sample, on which batchnorm cannot train "
                        "(PyTorch raises); it is left out, so an epoch trains on %ld of the %ld samples\n",
                prog_name, used, train_set.count);
    }
    if (p->early_stop && !have_val)
        note("no validation data: early_stop watches the training loss (give --val, or 'validation F;' in the train block)");

    /* the model: initialised, or from --weights, or from the checkpoint */
    l.best_loss = INFINITY;
    l.best_epoch = -1;
    if (p->ema_decay > 0)
        l.ema = xcalloc(p->params_size, sizeof(float));
    /* the model's tensors from the seed, --weights or --init-from, then the checkpoint's */
    if (start_weights(r, seed, 0)) {
        status = 1;
        goto done;
    }
    if (!from) /* a resumed run takes its checkpoint's (checked against these below) */
        apply_hparams(r); /* checked above */
    dnn_rng_seed(&l.shuffle, seed ^ 0x5f1ff1eULL);
    dnn_rng_seed(&l.augment, seed ^ AUGMENT_STREAM);
    if (from && load_checkpoint(r, &l, from)) {
        status = 1;
        goto done;
    }
    if (from && (status = check_resumed_hparams(r, from)) != 0)
        goto done;
    if (l.epoch >= epochs && from)
        note("%s: the run had already finished %d epoch%s", from, l.epoch, l.epoch == 1 ? "" : "s");
    /* everything is read and checked: now the files' places are made */
    if ((status = place_files(r, &save, from, &run, &ckpt, &log, &svg, &settings)) != 0)
        goto done;
    if ((status = write_settings(r, settings, epochs, seed)) != 0)
        goto done;
    l.rows = realloc(l.rows, sizeof *l.rows * (size_t)((epochs > l.epoch ? epochs : l.epoch) + 2));

    batch_alloc(p, &b);
    order = xcalloc((size_t)train_set.count, sizeof(long));
    dnn_progress bar;
    long batches_run = 0;
    char hint[1024];
    if (from)
        printf("resuming %s at epoch %d, batch %ld\n", from, l.epoch + 1, l.batch + 1);
    else if (run)
        printf("run directory: %s (%s/latest)\n", run, RUNS);
    char *held = have_val ? text_of(" (%ld for validation)", val_set.count) : strdup("");
    printf("training %s on %ld sample%s%s, %d epoch%s, batch %d\n", p->name, train_set.count,
           train_set.count == 1 ? "" : "s", held, epochs,
           epochs == 1 ? "" : "s", p->batch);
    free(held);
    if (o->nhp) { /* the values in use when some came from the command line */
        printf("hyper-parameters:");
        for (int i = 0; i < p->nhparams; i++)
            printf("%s %s %.9g", i ? "," : "", p->hparam_names[i], *AT(r, p->hparam_offsets[i], const double *));
        printf("\n");
    }
    if (!from) { /* epoch 0: the initial weights, eval mode (the first babysitting check) */
        double started = dnn_now();
        p->set_epoch(r->m, 0);
        dnn_epoch_row *w = &l.rows[l.nrows++];
        w->epoch = 0;
        w->lr = *AT(r, p->lr_offset, const float *);
        initial_loss(r, &train_set, &w->train_loss, &w->train_acc);
        w->val_loss = w->val_acc = NAN;
        if (have_val)
            evaluate(r, &val_set, &w->val_loss, &w->val_acc, NULL);
        w->seconds = dnn_now() - started;
        char line[256], chance[96];
        dnn_epoch_summary(line, sizeof line, w, epochs);
        if (!o->quiet)
            printf("%s  (initial weights%s)\n", line, chance_text(p, chance, sizeof chance));
        if ((status = write_log(r, &l, log, svg)))
            goto done;
    }
    for (; l.epoch < epochs; l.epoch++) {
        p->set_epoch(r->m, l.epoch);
        dnn_rng rng = l.shuffle; /* so a resumed epoch sees the same order */
        for (long i = 0; i < train_set.count; i++)
            order[i] = i;
        if (p->shuffle)
            shuffle_order(order, train_set.count, &rng);
        double started = dnn_now() - l.seconds;
        long nbatches = (used + p->batch - 1) / p->batch;
        /* every epoch draws its progress; long runs keep the summaries of about 25:
           the first, the last and evenly between */
        int every = epochs <= 50 ? 1 : (epochs + 24) / 25;
        int keep = l.epoch == 0 || (l.epoch + 1) % every == 0 || l.epoch + 1 == epochs, show = !o->quiet;
        if (show)
            dnn_progress_begin(&bar, stdout, l.epoch + 1, epochs, used);
        for (; l.batch < nbatches; l.batch++) {
            long start = l.batch * p->batch;
            int n = (int)(used - start < p->batch ? used - start : p->batch);
            batch_fill(p, &train_set, order + start, n, &b);
            if (p->naugment)
                augment_batch(r, &b, n, &l.augment);
            float loss = p->backward(r->m, (const float *const *)b.x, (const void *const *)b.y, n);
            if (!isfinite(loss) || nonfinite(r, l.epoch, l.batch)) {
                if (!isfinite(loss) && !nonfinite(r, l.epoch, l.batch))
                    fail("the training loss became %g in epoch %d, batch %ld; try a smaller learning rate", loss,
                         l.epoch + 1, l.batch + 1);
                status = 1;
                break;
            }
            score(r, &b, n, &l.correct, &l.scored, NULL);
            p->step(r->m);
            if (nonfinite(r, l.epoch, l.batch)) {
                status = 1;
                break;
            }
            if (l.ema)
                ema_update(r, l.ema, p->ema_decay, *AT(r, p->step_offset, int64_t *) == 1);
            l.loss_sum += (double)loss * n;
            l.seen += n;
            if (show)
                dnn_progress_update(&bar, l.seen, l.loss_sum / (double)l.seen);
            if (o->stop_after && ++batches_run == o->stop_after)
                interrupted = 1;
            if (interrupted && l.batch + 1 < nbatches) {
                l.batch++;
                l.seconds = dnn_now() - started;
                if (show)
                    dnn_progress_end(&bar, "interrupted");
                if (save_checkpoint(r, &l, ckpt)) {
                    status = 3;
                    goto done;
                }
                printf("interrupted: checkpoint %s (epoch %d, batch %ld); continue with %s\n", ckpt, l.epoch + 1,
                       l.batch, resume_hint(r, ckpt, hint, sizeof hint));
                status = 130;
                goto done;
            }
        }
        if (status)
            break;
        dnn_epoch_row *w = &l.rows[l.nrows++];
        w->epoch = l.epoch + 1;
        w->lr = *AT(r, p->lr_offset, const float *);
        w->train_loss = l.loss_sum / (double)l.seen;
        w->train_acc = l.scored ? (double)l.correct / (double)l.scored : NAN;
        w->val_loss = w->val_acc = NAN;
        if (l.ema)
            ema_swap(r, l.ema);
        if (have_val)
            evaluate(r, &val_set, &w->val_loss, &w->val_acc, NULL);
        if (l.ema)
            ema_swap(r, l.ema);
        w->seconds = dnn_now() - started;
        /* early stopping on the validation loss (or the training loss) */
        double watched = have_val ? w->val_loss : w->train_loss;
        int stop = 0;
        if (p->early_stop) {
            if (watched < l.best_loss - p->min_delta) {
                l.best_loss = watched;
                l.best_epoch = l.epoch;
                l.bad_epochs = 0;
                if (!l.best)
                    l.best = xcalloc(p->params_size, sizeof(float));
                if (l.ema)
                    ema_swap(r, l.ema); /* the weights that were evaluated */
                memcpy(l.best, r->params, sizeof(float) * p->params_size);
                if (l.ema)
                    ema_swap(r, l.ema);
            } else if (++l.bad_epochs >= p->patience) {
                stop = 1;
            }
        }
        char line[256];
        dnn_epoch_summary(line, sizeof line, w, epochs);
        if (show && (keep || stop))
            dnn_progress_end(&bar, line);
        else if (show)
            dnn_progress_discard(&bar);

        l.shuffle = rng;
        l.batch = 0;
        l.loss_sum = 0;
        l.correct = l.scored = l.seen = 0;
        l.seconds = 0;
        if ((status = write_log(r, &l, log, svg)))
            goto done;
        l.epoch++;
        int saved = save_checkpoint(r, &l, ckpt);
        l.epoch--;
        if (saved) {
            status = 3;
            goto done;
        }
        if (stop) {
            printf("early stop: the %s loss has not improved for %d epoch%s; keeping epoch %d's weights\n",
                   have_val ? "validation" : "training", p->patience, p->patience == 1 ? "" : "s", l.best_epoch + 1);
            l.epoch++;
            break;
        }
        if (interrupted) {
            printf("interrupted after epoch %d: checkpoint %s; continue with %s\n", l.epoch + 1, ckpt,
                   resume_hint(r, ckpt, hint, sizeof hint));
            status = 130;
            goto done;
        }
    }
    if (l.best) /* already the average when there is one */
        memcpy(r->params, l.best, sizeof(float) * p->params_size);
    else if (l.ema)
        ema_swap(r, l.ema);
    if (!status && save_weights(r, save)) {
        status = 3;
        goto done;
    }
    if (!status)
        printf("weights: %s   checkpoint: %s   log: %s   curves: %s\n", save, ckpt, log, svg);
done:
    batch_free(p, &b);
    free(order);
    free(idx);
    free(l.rows);
    free(l.ema);
    free(l.best);
    free(save);
    free(ckpt);
    free(log);
    free(svg);
    free(settings);
    free(val_list);
    free(from);
    free(run);
    data_free(&all);
    data_free(&train_set);
    data_free(&val_set);
    return status;
}

/* ---- eval, predict ---------------------------------------------------------------------------- */

/* Loads --weights (required) and the data with its preprocessing. */
static int prepare(Run *r, int nslots, Data *d) {
    const Options *o = &r->o;
    if (!o->weights && strcmp(o->command, "eval")) {
        fail("'%s' needs --weights FILE (the weights a 'train' saved, or a PyTorch state_dict as safetensors)",
             o->command);
        return 2;
    }
    r->prep.scale = isnan(o->scale) ? 1.0 : o->scale; /* the weights file's scale replaces it, --scale wins again */
    r->classes.learn = !o->weights; /* initial weights name no classes: the data's text labels do, as when training */
    if (start_weights(r, o->seed >= 0 ? (uint64_t)o->seed : r->p->seed, META_PREP | META_NAMES))
        return 1;
    if (load_data(r->p, o, &r->classes, o->files, o->nfiles, nslots, d)) {
        data_free(d);
        return 1;
    }
    r->classes.learn = 0;
    if (!isnan(o->scale))
        r->prep.scale = o->scale;
    if (o->weights && (o->standardize || o->center))
        note("--%s is measured when training; %s applies the statistics saved in %s", o->center ? "center" : "standardize",
             o->command, shown(o->weights));
    data_floats(r->p, d); /* predict and check read the floats */
    if (!o->weights) { /* initial weights: the statistics of this data, as train would */
        long *all = xcalloc((size_t)d->count, sizeof(long));
        for (long i = 0; i < d->count; i++)
            all[i] = i;
        prep_fit_options(r->p, o, &r->prep, d, all, d->count);
        free(all);
    }
    prep_apply(r->p, &r->prep, d);
    return 0;
}

static int eval(Run *r) {
    const dnn_program *p = r->p;
    Data d;
    int rc = prepare(r, p->ninputs + p->ntargets, &d);
    if (rc)
        return rc;
    int classes = p->score == DNN_SCORE_ARGMAX ? p->targets[p->score_target].classes : 0;
    long *counts = classes ? xcalloc((size_t)classes * (size_t)classes, sizeof(long)) : NULL;
    double loss, acc;
    evaluate(r, &d, &loss, &acc, counts);
    char initial[64] = "", chance[96];
    if (!r->o.weights)
        snprintf(initial, sizeof initial, ", initial weights (seed %llu)",
                 (unsigned long long)(r->o.seed >= 0 ? (uint64_t)r->o.seed : p->seed));
    printf("%s on %ld sample%s%s: loss %.6g", p->name, d.count, d.count == 1 ? "" : "s", initial, loss);
    if (!isnan(acc))
        printf("  accuracy %.2f%%", 100 * acc);
    printf("\n");
    if (!r->o.weights && p->chance_loss > 0)
        printf("(%s)\n", chance_text(p, chance, sizeof chance) + 2);
    const char *const *names = (const char *const *)r->classes.names[p->ninputs + p->score_target];
    if (counts) {
        printf("\n");
        dnn_confusion_print(stdout, counts, classes, names);
        char msg[512];
        if (r->o.confusion && dnn_confusion_write_csv(r->o.confusion, counts, classes, names, msg, sizeof msg)) {
            fail("%s", msg);
            rc = 3;
        }
    } else if (r->o.confusion)
        note("--confusion: the model is not a classifier; no matrix written");
    free(counts);
    data_free(&d);
    return rc;
}

/* predict --out G.safetensors: the inputs as the model saw them and the
 * outputs, [N, per-sample shape...] each under the model's names — the
 * golden file `check` and `dnnc --emit=selftest` read. */
static int write_golden(const Run *r, const Data *d, const float *all, int width, const char *path) {
    const dnn_program *p = r->p;
    int count = p->ninputs + p->noutputs;
    dnn_tensor_info *info = xcalloc((size_t)count, sizeof *info);
    const float **src = xcalloc((size_t)count, sizeof(float *));
    float **cols = xcalloc((size_t)p->noutputs + 1, sizeof(float *));
    int rc = 0;
    if (d->count > (1L << 30) / (width > 0 ? width : 1)) {
        fail("--out %s: too many samples for one file", path);
        rc = 2;
    }
    for (int s = 0; s < count && !rc; s++) {
        const dnn_io *io = s < p->ninputs ? &p->inputs[s] : &p->outputs[s - p->ninputs];
        if (io->rank > 3) {
            fail("--out %s: '%s' has rank %d; a golden tensor holds at most 3 per-sample dimensions", path, io->name,
                 io->rank);
            rc = 2;
            break;
        }
        info[s] = (dnn_tensor_info){io->name, io->rank + 1, {(int)d->count, 0, 0, 0}, (int)d->count * io->size, 0};
        for (int k = 0; k < io->rank; k++)
            info[s].shape[k + 1] = io->shape[k];
        if (s < p->ninputs) {
            src[s] = d->x[s];
        } else { /* this output's columns of `all` */
            int k = s - p->ninputs, col = 0;
            for (int j = 0; j < k; j++)
                col += p->outputs[j].size;
            cols[k] = xcalloc((size_t)d->count * (size_t)io->size, sizeof(float));
            for (long i = 0; i < d->count; i++)
                memcpy(cols[k] + i * io->size, all + i * width + col, sizeof(float) * (size_t)io->size);
            src[s] = cols[k];
        }
    }
    if (!rc) {
        size_t len = dnn_safetensors_save(info, src, count, NULL, 0);
        void *buf = xcalloc(len, 1);
        dnn_safetensors_save(info, src, count, buf, len);
        if (dnn_write_file_atomic(path, buf, len) != DNN_OK) {
            fail("cannot write '%s': %s", path, strerror(errno));
            rc = 3;
        }
        free(buf);
    }
    for (int k = 0; k < p->noutputs; k++)
        free(cols[k]);
    free(cols);
    free(src);
    free(info);
    return rc;
}

/* predict --mc-samples N: the mean and the standard deviation (N - 1 in the
 * denominator, as torch.std) of N forward passes in which dropout samples
 * its masks from the model's generator, seeded like training (--seed):
 * Welford's running sums in double, batch by batch, so the same seed gives
 * the same numbers. */
static void forward_mc(const Run *r, const Batch *b, int n, int passes, float *mean, float *std, int width) {
    const dnn_program *p = r->p;
    size_t count = (size_t)n * (size_t)width;
    double *m = xcalloc(count, sizeof(double)), *m2 = xcalloc(count, sizeof(double));
    for (int pass = 1; pass <= passes; pass++) {
        p->forward_mc(r->m, (const float *const *)b->x, b->out, n);
        for (int i = 0; i < n; i++)
            for (int k = 0, col = 0; k < p->noutputs; col += p->outputs[k++].size)
                for (int e = 0; e < p->outputs[k].size; e++) {
                    size_t at = (size_t)i * (size_t)width + (size_t)(col + e);
                    double x = b->out[k][(size_t)i * (size_t)p->outputs[k].size + (size_t)e], before = m[at];
                    m[at] += (x - before) / pass;
                    m2[at] += (x - before) * (x - m[at]);
                }
    }
    for (size_t i = 0; i < count; i++) {
        mean[i] = (float)m[i];
        std[i] = (float)sqrt(m2[i] / (passes - 1));
    }
    free(m);
    free(m2);
}

static int predict(Run *r) {
    const dnn_program *p = r->p;
    const char *out = r->o.out;
    int npy = out && ends_with(out, ".npy"), mc = r->o.mc_samples;
    if (npy && p->noutputs != 1) {
        fail("--out %s: a .npy file holds one output, and the model has %d", out, p->noutputs);
        return 2;
    }
    if (mc && !p->forward_mc) {
        fail("--mc-samples: model '%s' has no dropout, so every forward pass would give the same outputs", p->name);
        return 2;
    }
    if (mc && out && ends_with(out, ".safetensors")) {
        fail("--mc-samples writes .csv or .npy: a golden file holds the outputs of one forward pass");
        return 2;
    }
    Data d;
    int rc = prepare(r, p->ninputs, &d);
    if (rc)
        return rc;
    int width = 0;
    for (int k = 0; k < p->noutputs; k++)
        width += p->outputs[k].size;
    /* the outputs (their means with --mc-samples), then the standard deviations */
    float *all = xcalloc((size_t)d.count * (size_t)width * (mc ? 2 : 1), sizeof(float));
    float *spread = mc ? all + (size_t)d.count * (size_t)width : NULL;
    Batch b;
    batch_alloc(p, &b);
    long *idx = xcalloc((size_t)p->batch, sizeof(long));
    for (long start = 0; start < d.count; start += p->batch) {
        int n = (int)(d.count - start < p->batch ? d.count - start : p->batch);
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        batch_fill(p, &d, idx, n, &b);
        if (mc) {
            forward_mc(r, &b, n, mc, all + start * width, spread + start * width, width);
            continue;
        }
        p->forward(r->m, (const float *const *)b.x, b.out, n);
        for (int i = 0; i < n; i++)
            for (int k = 0, col = 0; k < p->noutputs; col += p->outputs[k++].size)
                memcpy(all + (start + i) * width + col, b.out[k] + (size_t)i * p->outputs[k].size,
                       sizeof(float) * (size_t)p->outputs[k].size);
    }
    char msg[512];
    if (out && ends_with(out, ".safetensors")) {
        rc = write_golden(r, &d, all, width, out);
    } else if (npy) { /* [N, shape...], or [2, N, shape...] with --mc-samples: the means, then the deviations */
        int64_t dims[6] = {2, d.count};
        for (int k = 0; k < p->outputs[0].rank; k++)
            dims[k + 2] = p->outputs[0].shape[k];
        if (dnn_npy_write(out, all, p->outputs[0].rank + 1 + (mc > 0), mc ? dims : dims + 1, msg, sizeof msg) != DNN_OK) {
            fail("%s", msg);
            rc = 3;
        }
    } else {
        /* CSV: one column per output element (with --mc-samples NAME_mean and NAME_std
           columns of each output), and the predicted class of a classifier */
        size_t cap = 64 + (size_t)d.count * ((size_t)width * (mc ? 32 : 16) + 64), len = 0;
        for (int k = 0; k < p->noutputs; k++)
            cap += (strlen(p->outputs[k].name) + 20) * (size_t)p->outputs[k].size * 2;
        char *text = xcalloc(cap, 1);
        int classes = p->score == DNN_SCORE_ARGMAX ? p->targets[p->score_target].classes : 0;
        int class_col = -1; /* the first output with one value per class */
        for (int k = 0, col = 0; k < p->noutputs && classes; col += p->outputs[k++].size)
            if (class_col < 0 && p->outputs[k].size == classes)
                class_col = col;
        for (int k = 0; k < p->noutputs; k++)
            for (int part = 0; part < (mc ? 2 : 1); part++)
                for (int e = 0; e < p->outputs[k].size; e++) {
                    len += (size_t)snprintf(text + len, cap - len, "%s%s%s", k || part || e ? "," : "",
                                            p->outputs[k].name, !mc ? "" : part ? "_std" : "_mean");
                    if (p->outputs[k].size > 1)
                        len += (size_t)snprintf(text + len, cap - len, ".%d", e);
                }
        len += (size_t)snprintf(text + len, cap - len, "%s\n", class_col >= 0 ? ",class" : "");
        for (long i = 0; i < d.count; i++) {
            for (int k = 0, col = 0; k < p->noutputs; col += p->outputs[k++].size)
                for (int part = 0; part < (mc ? 2 : 1); part++)
                    for (int e = 0; e < p->outputs[k].size; e++)
                        len += (size_t)snprintf(text + len, cap - len, "%s%.7g", k || part || e ? "," : "",
                                                (part ? spread : all)[i * width + col + e]);
            if (class_col >= 0) {
                int c = argmax(all + i * width + class_col, classes);
                char *const *names = r->classes.names[p->ninputs + p->score_target];
                if (names && names[c])
                    len += (size_t)snprintf(text + len, cap - len, ",%s", names[c]);
                else
                    len += (size_t)snprintf(text + len, cap - len, ",%d", c);
            }
            len += (size_t)snprintf(text + len, cap - len, "\n");
        }
        if (out) {
            if (dnn_write_file_atomic(out, text, len) != DNN_OK) {
                fail("cannot write '%s': %s", out, strerror(errno));
                rc = 3;
            }
        } else
            fwrite(text, 1, len, stdout);
        free(text);
    }
    free(all);
    free(idx);
    batch_free(p, &b);
    data_free(&d);
    return rc;
}

/* ---- gradcheck ------------------------------------------------------------------------------------
 * On the first batch, in training mode: the gradient of every trainable
 * tensor from the generated backward pass against central differences of
 * the loss, (L(w + h) − L(w − h)) / 2h with h = eps·max(1, |w|), at the K
 * elements whose gradients are largest. The differences are taken in
 * double precision, by the model's double-precision twin (NAME_f64_*,
 * which dnnc --main emits from the same op emitters with double for
 * float), at the float model's weights: the float32 loss is rounded to
 * ~1e-7 of itself, so its differences resolve gradients to ~1e-3 at best,
 * where double's resolve them to ~1e-9. Three comparisons:
 *   double: the twin's own backward against the differences — the gradient
 *           rules, free of float32 rounding (tolerance --tol);
 *   float:  NAME_backward's gradient, the one training uses, against them;
 *   all:    NAME_backward's gradient against the twin's over the whole
 *           tensor, as the norm of the difference (both --float-tol).
 * An error is |analytic − numeric| beyond the differences' own
 * uncertainty, relative to the larger of the two; for float at least
 * GC_FLOAT_FLOOR of the model's largest gradient, since float32 cannot
 * give a gradient far smaller than the others more precisely than that.
 * The norm is there because one element may differ wholly where float32
 * rounding left an activation on the other side of a kink (a relu, a
 * maxpool's arg-max) than double did.
 * A kink within h of w makes a difference quotient meaningless. The loss
 * at w ± h/2 shows it: over [w − h, w + h] a smooth loss is a parabola to
 * ~h³, so the third and fourth differences of the five losses measure how
 * far it is from one — rounding, or a kink (or a step too large for the
 * curvature) when more than rounding and enough to matter; such an element
 * is skipped, counted, and the next largest tried. Both models restart
 * from one snapshot before every evaluation, so dropout draws the same
 * masks in both precisions (the twin takes the float model's random state)
 * and batchnorm's running statistics stay put. */

#define GC_SKIP 0.1           /* judge an element when its differences are known to 10% of the tolerance */
#define GC_ROUNDING 64        /* the double loss's rounding, in DBL_EPSILON of its size */
#define GC_FLOAT_FLOOR 1e-4   /* float gradients are compared relative to at least 1e-4 of the largest */
#define GC_TRIES 4            /* elements tried per element checked, when some are skipped */
#define GC_LOSS_AGREE 1e-3    /* the float and double losses differ by float32 rounding, relative to max(1, |L|) */

/* The indices of the k largest g[i], i < n (k small: insertion). */
static int largest(const double *g, int n, int *top, int k) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        int j = m < k ? m++ : k;
        if (j == k && g[i] <= g[top[k - 1]])
            continue;
        if (j == k)
            j = k - 1;
        while (j > 0 && g[top[j - 1]] < g[i]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return m;
}

/* "[17, 403]": where element k lies in tensor t ("" for a scalar). */
static void index_str(char *buf, size_t cap, const dnn_tensor_info *t, int k) {
    int idx[4] = {0}, len = 0;
    for (int d = t->rank - 1; d >= 0; d--) {
        idx[d] = k % t->shape[d];
        k /= t->shape[d];
    }
    buf[0] = 0;
    for (int d = 0; d < t->rank && len < (int)cap; d++)
        len += snprintf(buf + len, cap - (size_t)len, "%s%d%s", d ? ", " : "[", idx[d], d + 1 < t->rank ? "" : "]");
}

/* The double model and the batch as it takes it. */
typedef struct Twin {
    const dnn_program *p;
    const void *snapshot;     /* the float model before any evaluation */
    void *m;                  /* NAME_f64_model */
    double *w, *g;            /* its parameters and gradients, laid out like params */
    double *x[MAX_SLOTS];     /* the inputs */
    const void *y[MAX_SLOTS]; /* the targets: doubles, or the batch's int32 labels */
    double *owned[MAX_SLOTS]; /* the doubles */
    int n;
} Twin;

static void twin_init(Twin *t, const dnn_program *p, const void *snapshot, const Batch *b, int n) {
    memset(t, 0, sizeof *t);
    t->p = p;
    t->snapshot = snapshot;
    t->n = n;
    t->m = xcalloc(1, p->f64_model_size);
    t->w = (double *)((char *)t->m + p->f64_params_offset);
    t->g = (double *)((char *)t->m + p->f64_grads_offset);
    for (int s = 0; s < p->ninputs + p->ntargets; s++) {
        const dnn_io *io = slot_io(p, s);
        const void *from = s < p->ninputs ? b->x[s] : b->y[s - p->ninputs];
        double *to = NULL;
        if (!io->classes) {
            to = t->owned[s] = xcalloc((size_t)n * (size_t)io->size, sizeof(double));
            for (long i = 0; i < (long)n * io->size; i++)
                to[i] = ((const float *)from)[i];
        }
        if (s < p->ninputs)
            t->x[s] = to;
        else
            t->y[s - p->ninputs] = to ? (const void *)to : from;
    }
}

static void twin_free(Twin *t) {
    for (int s = 0; s < MAX_SLOTS; s++)
        free(t->owned[s]);
    free(t->m);
}

/* The double model's train-mode loss at the snapshot's weights, element `at` set to w. */
static double twin_loss(Twin *t, size_t at, double w) {
    t->p->f64_load(t->m, t->snapshot);
    t->w[at] = w;
    return t->p->f64_loss(t->m, (const double *const *)t->x, t->y, t->n);
}

/* Central differences at one element, and how far they can be trusted. */
typedef struct Probe {
    double numeric;    /* (L(w + h) − L(w − h)) / 2h */
    double spread;     /* the third and fourth differences of L at w, w ± h/2, w ± h, over 2h */
    double rounding;   /* the smallest derivative the double loss resolves at this h */
} Probe;

static Probe probe(Twin *t, size_t at, double eps, double loss0) {
    const double w = ((const float *)((const char *)t->snapshot + t->p->params_offset))[at];
    const double h = eps * fmax(1.0, fabs(w));
    const double lm = twin_loss(t, at, w - h), lm2 = twin_loss(t, at, w - h / 2);
    const double lp2 = twin_loss(t, at, w + h / 2), lp = twin_loss(t, at, w + h);
    const double third = lp - 2 * lp2 + 2 * lm2 - lm, fourth = lp - 4 * lp2 + 6 * loss0 - 4 * lm2 + lm;
    const double size = fmax(fmax(fabs(lm), fabs(lp)), fmax(fabs(loss0), fmax(fabs(lm2), fabs(lp2))));
    Probe q = {(lp - lm) / ((w + h) - (w - h)), (fabs(third) + fabs(fourth)) / (2 * h),
               GC_ROUNDING * DBL_EPSILON * size / h};
    return q;
}

/* |analytic − numeric| beyond the differences' uncertainty, relative to the larger of them or to floor. */
static double gc_error(double analytic, const Probe *q, double floor) {
    double scale = fmax(fmax(fabs(analytic), fabs(q->numeric)), floor);
    double excess = fabs(analytic - q->numeric) - q->spread;
    return excess > 0 ? excess / scale : 0.0;
}

/* The worst error of one comparison so far, and where. */
typedef struct Worst {
    double error;
    int tensor, index;   /* tensor -1: nothing compared */
} Worst;

static void worst_update(Worst *w, double error, int tensor, int index) {
    if (w->tensor < 0 || error > w->error || error != error) {
        w->error = error;
        w->tensor = tensor;
        w->index = index;
    }
}

/* "3.1e-09 [17, 403]", or "-" when nothing was compared */
static const char *worst_str(const dnn_program *p, const Worst *w, char *buf, size_t cap) {
    if (w->tensor < 0)
        return "-";
    char idx[64];
    index_str(idx, sizeof idx, &p->tensors[w->tensor], w->index);
    snprintf(buf, cap, "%.1e %s", w->error, idx);
    return buf;
}

/* Both gradients of the model, and how gradcheck compares them with the differences. */
typedef struct Grads {
    const float *f;      /* NAME_backward's */
    const double *d;     /* the twin's */
    double loss;         /* the twin's train-mode loss */
    double largest;      /* the largest |d| of the model */
    double eps, tol, float_tol;
} Grads;

/* The K elements of largest gradient of tensor i from base (the next ones
 * when some are skipped) against the differences; returns how many were checked. */
static int check_elements(Twin *t, const Grads *g, int i, size_t base, const int *top, int k, int want,
                          Worst *wd, Worst *wf, int *skipped) {
    int checked = 0;
    for (int c = 0; c < k && checked < want; c++) {
        size_t at = base + (size_t)top[c];
        Probe q = probe(t, at, g->eps, g->loss);
        if (q.spread > q.rounding && q.spread > GC_SKIP * g->tol * fmax(fabs(g->d[at]), fabs(q.numeric))) {
            ++*skipped;
            continue;
        }
        checked++;
        worst_update(wd, gc_error(g->d[at], &q, q.rounding), i, top[c]);
        worst_update(wf, gc_error(g->f[at], &q, fmax(q.rounding, GC_FLOAT_FLOOR * g->largest)), i, top[c]);
    }
    return checked;
}

/* ‖float − double‖ / ‖the larger‖ over tensor i, at the element that differs most. */
static Worst compare_all(const Grads *g, int i, size_t base, int size) {
    double diff = 0, norm = 0, most = -1;
    Worst w = {0, i, 0};
    for (int e = 0; e < size; e++) {
        double f = g->f[base + e], d = g->d[base + e];
        diff += (f - d) * (f - d);
        norm += fmax(f * f, d * d);
        if (fabs(f - d) > most || f != f) {
            most = fabs(f - d);
            w.index = e;
        }
    }
    double floor = GC_FLOAT_FLOOR * g->largest * sqrt((double)size);
    w.error = diff > 0 || diff != diff ? sqrt(diff) / fmax(sqrt(norm), floor) : 0.0;
    return w;
}

static int gradcheck(Run *r) {
    const dnn_program *p = r->p;
    if (!p->f64_loss) {
        fail("this program has no double-precision model, which gradcheck needs; generate it again with this "
             "version of dnnc --main");
        return 1;
    }
    Data d;
    r->prep.scale = isnan(r->o.scale) ? 1.0 : r->o.scale;
    r->classes.learn = 1;
    if (start_weights(r, r->o.seed >= 0 ? (uint64_t)r->o.seed : p->seed, META_PREP | META_NAMES))
        return 1;
    if (load_data(p, &r->o, &r->classes, r->o.files, r->o.nfiles, p->ninputs + p->ntargets, &d)) {
        data_free(&d);
        return 1;
    }
    long *all = xcalloc((size_t)d.count, sizeof(long));
    for (long i = 0; i < d.count; i++)
        all[i] = i;
    prep_fit_options(p, &r->o, &r->prep, &d, all, d.count); /* unless the weights brought theirs */
    free(all);
    prep_apply(p, &r->prep, &d);
    int n = (int)(d.count < p->batch ? d.count : p->batch);
    if (n < p->min_batch) {
        fail("gradcheck needs at least %d samples: the model's batchnorm cannot train on 1 (PyTorch raises)", p->min_batch);
        data_free(&d);
        return 1;
    }
    Batch b;
    batch_alloc(p, &b);
    long *idx = xcalloc((size_t)n, sizeof(long));
    for (int i = 0; i < n; i++)
        idx[i] = i;
    batch_fill(p, &d, idx, n, &b);
    void *snapshot = xcalloc(1, p->model_size);
    memcpy(snapshot, r->m, p->model_size);

    /* the float gradient, then the double one, both at the snapshot */
    double loss_f = p->backward(r->m, (const float *const *)b.x, (const void *const *)b.y, n);
    float *grad_f = xcalloc(p->params_size, sizeof(float));
    double *grad_d = xcalloc(p->params_size, sizeof(double)), *order = xcalloc(p->params_size, sizeof(double));
    Twin t;
    twin_init(&t, p, snapshot, &b, n);
    p->f64_load(t.m, snapshot);
    Grads g = {grad_f, grad_d, p->f64_backward(t.m, (const double *const *)t.x, t.y, n), 0, r->o.eps, r->o.tol,
               r->o.float_tol};
    int most = 0; /* the largest trainable tensor */
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        size_t base = (size_t)(p->tensor(r->m, i) - r->params);
        memcpy(grad_f + base, p->grad(r->m, i), sizeof(float) * (size_t)p->tensors[i].size);
        for (int k = 0; k < p->tensors[i].size; k++) {
            grad_d[base + k] = t.g[base + k];
            order[base + k] = fmax(fabs(grad_d[base + k]), fabs(grad_f[base + k]));
            g.largest = fmax(g.largest, fabs(grad_d[base + k]));
        }
        most = p->tensors[i].size > most ? p->tensors[i].size : most;
    }
    memcpy(r->m, snapshot, p->model_size);

    printf("gradcheck of %s on %d samples: the %d largest gradients of each tensor against central differences\n"
           "of the loss in double precision, step %g·max(1, |w|)\n", p->name, n, r->o.coords, r->o.eps);
    int bad = !(fabs(loss_f - g.loss) <= GC_LOSS_AGREE * fmax(1.0, fabs(g.loss)));
    printf("loss %.9g (float), %.17g (double): %s\n", loss_f, g.loss,
           bad ? "they disagree: the double-precision model is not this model's twin" : "they agree");
    printf("  %-24s %8s %7s %7s  %-22s %-22s %s\n", "tensor", "values", "checked", "skipped", "double error at",
           "float error at", "all elements at");
    Worst wd = {0, -1, 0}, wf = {0, -1, 0}, wa = {0, -1, 0};
    int tries = r->o.coords < most / GC_TRIES ? r->o.coords * GC_TRIES : most;
    int *top = xcalloc((size_t)tries, sizeof(int));
    int skipped = 0;
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        size_t base = (size_t)(p->tensor(r->m, i) - r->params);
        int size = p->tensors[i].size, skips = 0, k = largest(order + base, size, top, tries);
        Worst td = {0, -1, 0}, tf = {0, -1, 0}, ta = compare_all(&g, i, base, size);
        int checked = check_elements(&t, &g, i, base, top, k, r->o.coords, &td, &tf, &skips);
        char sd[96], sf[96], sa[96];
        printf("  %-24s %8d %7d %7d  %-22s %-22s %s%s\n", p->tensors[i].name, size, checked, skips,
               worst_str(p, &td, sd, sizeof sd), worst_str(p, &tf, sf, sizeof sf), worst_str(p, &ta, sa, sizeof sa),
               td.error > g.tol || tf.error > g.float_tol || ta.error > g.float_tol ? "  <-- too large" : "");
        if (td.tensor >= 0)
            worst_update(&wd, td.error, td.tensor, td.index);
        if (tf.tensor >= 0)
            worst_update(&wf, tf.error, tf.tensor, tf.index);
        worst_update(&wa, ta.error, ta.tensor, ta.index);
        skipped += skips;
    }

    const struct { const char *what; const Worst *w; double tol; } verdicts[3] = {
        {"double backward against the differences", &wd, g.tol},
        {"float backward against the differences", &wf, g.float_tol},
        {"float backward against the double one, all elements", &wa, g.float_tol}};
    for (int k = 0; k < 3; k++) {
        const Worst *w = verdicts[k].w;
        if (w->tensor < 0)
            continue;
        int over = !(w->error <= verdicts[k].tol);
        char where[64];
        index_str(where, sizeof where, &p->tensors[w->tensor], w->index);
        printf("%-52s worst %.2e at %s%s (tolerance %g): %s\n", verdicts[k].what, w->error, p->tensors[w->tensor].name,
               where, verdicts[k].tol, over ? "FAILED" : "ok");
        bad |= over;
    }
    if (skipped)
        printf("%d element%s skipped: the loss is not smooth within ±h of them (a kink, or a step too large)\n",
               skipped, skipped == 1 ? "" : "s");
    printf("gradcheck of %s: %s\n", p->name, bad ? "FAILED" : "ok");
    free(top);
    free(order);
    free(grad_d);
    free(grad_f);
    twin_free(&t);
    free(snapshot);
    free(idx);
    batch_free(p, &b);
    data_free(&d);
    return bad;
}

/* ---- check: golden outputs ----------------------------------------------------------------------- */

static int check(Run *r) {
    const dnn_program *p = r->p;
    if (!r->o.golden || !r->o.weights) {
        fail("'check' needs --weights FILE and --golden FILE");
        return 2;
    }
    r->prep.scale = 1.0;
    p->init(r->m, p->seed);
    if (load_weights(r, r->o.weights, 0))
        return 1;
    void *buf;
    size_t len;
    if (read_whole(r->o.golden, &buf, &len))
        return 1;
    /* the stored inputs and outputs, [N, per-sample...] each, F32 */
    const float *in[MAX_SLOTS], *want[MAX_SLOTS];
    long count = -1;
    int rc = 0;
    for (int s = 0; s < p->ninputs + p->noutputs && !rc; s++) {
        const dnn_io *io = s < p->ninputs ? &p->inputs[s] : &p->outputs[s - p->ninputs];
        dnn_st_view v;
        int e = dnn_st_find(buf, len, io->name, &v);
        long per = 1;
        for (int k = 1; e == DNN_OK && k < v.rank; k++) /* v is unset on an error */
            per *= (long)v.shape[k];
        if (e != DNN_OK || v.dtype != DNN_DT_F32 || v.rank < 1 || per != io->size ||
            (count >= 0 && v.shape[0] != count) || ((uintptr_t)v.data & 3)) {
            fail("%s: %s '%s' must be F32 [N, %d values per sample]%s", r->o.golden,
                 s < p->ninputs ? "input" : "output", io->name, io->size, e != DNN_OK ? ", and it is missing" : "");
            rc = 1;
            break;
        }
        count = (long)v.shape[0];
        (s < p->ninputs ? in : want)[s < p->ninputs ? s : s - p->ninputs] = v.data;
    }
    if (!rc && count <= 0) {
        fail("%s holds no samples", r->o.golden);
        rc = 1;
    }
    Batch b;
    batch_alloc(p, &b);
    double *worst = xcalloc((size_t)p->noutputs + 1, sizeof(double));
    long *bad = xcalloc((size_t)p->noutputs + 1, sizeof(long));
    for (long start = 0; !rc && start < count; start += p->batch) {
        int n = (int)(count - start < p->batch ? count - start : p->batch);
        for (int s = 0; s < p->ninputs; s++)
            memcpy(b.x[s], in[s] + start * p->inputs[s].size, sizeof(float) * (size_t)n * (size_t)p->inputs[s].size);
        p->forward(r->m, (const float *const *)b.x, b.out, n);
        for (int k = 0; k < p->noutputs; k++)
            for (long e = 0; e < (long)n * p->outputs[k].size; e++) {
                double got = b.out[k][e], w = want[k][start * p->outputs[k].size + e], err = fabs(got - w);
                if (!(err <= r->o.atol + r->o.rtol * fabs(w)))
                    bad[k]++;
                if (err > worst[k] || err != err)
                    worst[k] = err;
            }
    }
    for (int k = 0; k < p->noutputs && !rc; k++) {
        char verdict[128] = "ok";
        if (bad[k])
            snprintf(verdict, sizeof verdict, "%ld values beyond %g + %g|want|: FAILED", bad[k], r->o.atol, r->o.rtol);
        printf("%-16s %ld samples  worst |error| %.3g  %s\n", p->outputs[k].name, count, worst[k], verdict);
        rc |= bad[k] != 0;
    }
    free(worst);
    free(bad);
    batch_free(p, &b);
    free(buf);
    return rc;
}

/* ---- main --------------------------------------------------------------------------------------- */

/* --class-names A,B,...: the names of named_slot's classes, in class order. */
static int class_names(Run *r) {
    const dnn_program *p = r->p;
    int s = named_slot(p);
    if (s < 0) {
        fail("--class-names: the model has no class target to name");
        return 1;
    }
    const dnn_io *io = slot_io(p, s);
    char *list = strdup(r->o.class_names), **names = xcalloc(strlen(list) + 1, sizeof(char *));
    int n = 0, rc = 0;
    for (char *q = list, *end; q; q = end ? end + 1 : NULL) {
        if ((end = strchr(q, ',')))
            *end = 0;
        for (int c = 0; c < n && !rc; c++)
            if (!strcmp(names[c], q)) {
                fail("--class-names: '%s' is there twice", q);
                rc = 1;
            }
        if (!*q && !rc) {
            fail("--class-names: name %d is empty", n + 1);
            rc = 1;
        }
        names[n++] = q;
    }
    if (!rc && n > io->classes) {
        fail("--class-names gives %d names, but '%s' has %d classes", n, io->name, io->classes);
        rc = 1;
    }
    if (!rc)
        classes_set(&r->classes, s, io->classes, names, n, "--class-names");
    free(names);
    free(list);
    return rc;
}

int dnn_main(const dnn_program *p, int argc, char **argv) {
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    prog_name = argc > 0 ? (slash ? slash + 1 : argv[0]) : p->name;
    Run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    int rc = parse_options(p, argc, argv, &r.o);
    if (rc) {
        for (int i = 0; i < r.o.nlists; i++)
            free(r.o.lists[i]);
        return rc < 0 ? 0 : rc;
    }
    if (p->ninputs + p->ntargets > MAX_SLOTS) {
        fail("the model has more than %d inputs and targets", MAX_SLOTS);
        return 2;
    }
    r.m = xcalloc(1, p->model_size);
    r.params = (float *)((char *)r.m + p->params_offset);
    if (r.o.class_names && class_names(&r))
        rc = 2;
    else if (!strcmp(r.o.command, "train"))
        rc = train(&r);
    else if (!strcmp(r.o.command, "eval"))
        rc = eval(&r);
    else if (!strcmp(r.o.command, "predict"))
        rc = predict(&r);
    else if (!strcmp(r.o.command, "gradcheck"))
        rc = gradcheck(&r);
    else if (!strcmp(r.o.command, "augment"))
        rc = augment_command(&r);
    else
        rc = check(&r);
    prep_free(&r.prep);
    classes_free(&r.classes);
    for (int i = 0; i < r.o.nlists; i++)
        free(r.o.lists[i]);
    free(r.m);
    return rc;
}
