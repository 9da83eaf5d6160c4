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
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn_data.h"
#include "dnn_host.h"
#include "dnn_report.h"

#define MAX_SLOTS 16 /* inputs + targets a program can feed */
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

/* ---- options ---------------------------------------------------------------------- */

typedef struct Options {
    const char *command;
    const char *files[MAX_SLOTS]; int nfiles; /* DATA */
    char *lists[MAX_SLOTS]; int nlists;       /* the DATA arguments, split in place */
    const char *val;              /* --val DATA (comma-separated files) */
    const char *weights;          /* --weights: start from these */
    const char *save;             /* --save: weights file (checkpoint, log, plot beside it) */
    const char *resume;           /* --resume: checkpoint */
    const char *log;              /* --log: CSV log (the SVG goes beside it) */
    const char *out;              /* predict: --out FILE (.csv or .npy) */
    const char *confusion;        /* eval: --confusion FILE.csv */
    const char *golden;           /* check: --golden FILE */
    const char *class_names;      /* --class-names A,B,...: names of the scored target's classes */
    const char *maps[MAX_SLOTS]; int nmaps; /* --map NAME=COLUMNS */
    int epochs;                   /* --epochs, -1: the model's */
    long long seed;               /* --seed, -1: the model's */
    long limit;                   /* --limit: first N samples, 0: all */
    double scale;                 /* --scale, NAN: none given */
    int standardize;              /* --standardize */
    int quiet;                    /* --quiet: no progress */
    double eps, tol;              /* gradcheck */
    double rtol, atol;            /* check */
    int coords;                   /* gradcheck: elements per tensor */
    long stop_after;              /* --stop-after: act as if interrupted after N batches (tests resume) */
    /* train: hyper-parameters instead of the .dnn's (--lr, --hparam NAME=V, ...), by .dnn name */
    char hp_names[MAX_HPARAMS][32];
    const char *hp_options[MAX_HPARAMS]; /* the option that gave each, for messages */
    double hp_values[MAX_HPARAMS];
    int nhp;
} Options;

/* The options that set one hyper-parameter each, and its .dnn name. */
static const char *const hparam_options[][2] = {
    {"--lr", "lr"}, {"--momentum", "momentum"}, {"--weight-decay", "weight_decay"}, {"--gamma", "gamma"},
    {"--every", "every"}, {"--period", "period"}, {"--min-lr", "min_lr"},
};

static double parse_fraction(const char *s, int *ok) {
    char *end;
    double a = strtod(s, &end), b = 1;
    if (*end == '/') {
        b = strtod(end + 1, &end);
    }
    *ok = end != s && *end == 0 && isfinite(a) && isfinite(b) && b != 0;
    return a / b;
}

static long parse_count(const char *opt, const char *s, long lo, int *bad) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo) {
        fail("%s takes a whole number of at least %ld, not '%s'", opt, lo, s);
        *bad = 1;
    }
    return v;
}

static double parse_real(const char *opt, const char *s, int *bad) {
    int ok;
    double v = parse_fraction(s, &ok);
    if (!ok || v <= 0) {
        fail("%s takes a positive number, not '%s'", opt, s);
        *bad = 1;
    }
    return v;
}

/* Records hyper-parameter `name` = `value` from option `opt` (the last one
 * given wins); 0, or 1 after a message. */
static int add_hparam(Options *o, const char *opt, const char *name, const char *value) {
    int ok, i = 0;
    double v = parse_fraction(value, &ok);
    if (!ok) {
        fail("%s takes a number, not '%s'", opt, value);
        return 1;
    }
    if (!*name || strlen(name) >= sizeof o->hp_names[0]) {
        fail("%s: '%s' is not a hyper-parameter's name (lr, momentum, weight_decay, beta1, ...)", opt, name);
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

static void usage(const dnn_program *p, FILE *out) {
    fprintf(out,
            "usage: %s COMMAND [options] DATA...\n"
            "\n"
            "The training program of model '%s' (%s), generated by dnnc --main.\n"
            "\n"
            "commands:\n"
            "  train DATA...      train (the .dnn's train block: %d epochs, batch %d, %s, seed %llu)\n"
            "  eval DATA...       loss and accuracy, and a confusion matrix for a classifier (needs --weights)\n"
            "  predict DATA...    the outputs for the inputs in DATA, as CSV or .npy (needs --weights)\n"
            "  gradcheck DATA...  the backward pass against central differences on the first batch\n"
            "  check --golden G   forward on G's stored inputs, compared with its stored outputs\n"
            "\n"
            "DATA: files that fill the model's inputs, then its targets, in declaration order:\n",
            prog_name, p->name, p->source, p->epochs, p->batch, p->optimizer, (unsigned long long)p->seed);
    for (int i = 0; i < p->ninputs + p->ntargets; i++) {
        const dnn_io *s = i < p->ninputs ? &p->inputs[i] : &p->targets[i - p->ninputs];
        if (s->classes)
            fprintf(out, "  %-8s target, a class index 0..%d per sample\n", s->name, s->classes - 1);
        else
            fprintf(out, "  %-8s %s, %d float%s per sample\n", s->name, i < p->ninputs ? "input " : "target", s->size,
                    s->size == 1 ? "" : "s");
    }
    fprintf(out,
            "  A .csv file fills as many of them as it has columns for (header optional; text labels\n"
            "  become class indices in sorted order); an IDX file (MNIST's format, gzip or not) or a\n"
            "  .npy file fills one. Several files may be given, separated by spaces or commas.\n"
            "\n"
            "options:\n"
            "  --weights FILE     start from these weights (safetensors, PyTorch names)\n"
            "  --save FILE        train: the weights go here (default %s.safetensors); the checkpoint\n"
            "                     (FILE without .safetensors, plus .ckpt) is written every epoch and on ^C\n"
            "  --resume CKPT      continue an interrupted run from its checkpoint (same data and options)\n"
            "  --val DATA         validation data (default: the train block's validation split, if any)\n"
            "  --epochs N         train this many epochs in all, instead of %d\n"
            "  --seed N           shuffling, split and initialisation seed, instead of %llu\n"
            "  --limit N          use only the first N samples of each data set\n"
            "  --scale S          multiply every input by S (e.g. 1/255); kept in the weights file\n"
            "  --standardize      subtract the training inputs' mean and divide by their standard\n"
            "                     deviation, per feature; the statistics are kept in the weights file\n"
            "  --map NAME=COLS    take NAME (an input or target) from these CSV columns: header names\n"
            "                     or 1-based numbers and ranges, comma-separated (e.g. x=2-5, y=species)\n"
            "  --class-names A,B  names of the classes, for the confusion matrix and predict (kept\n"
            "                     in the weights file); a CSV's text labels name them too\n"
            "  --log FILE         the per-epoch CSV log (default: beside --save, .log.csv); the SVG\n"
            "                     plot of the curves goes beside it (.svg)\n"
            "  --quiet            no progress bar or per-epoch lines\n"
            "  --out FILE         predict: write to FILE (.csv, .npy, or .safetensors: a golden file of\n"
            "                     the inputs and outputs for check and dnnc --emit=selftest)\n"
            "  --confusion FILE   eval: also write the confusion matrix as CSV\n"
            "  --golden FILE      check: safetensors with inputs and expected outputs, [N, ...] each\n"
            "  --rtol R --atol A  check: tolerances, |got - want| <= A + R |want| (1e-4 and 1e-5)\n"
            "  --eps E --tol T    gradcheck: step (1e-3) and largest relative error accepted (5e-2)\n"
            "  --coords K         gradcheck: elements checked per tensor, those of largest gradient (5)\n"
            "  --stop-after N     train: stop after N batches as ^C would (to try --resume)\n"
            "  --lr X, --momentum X, --weight-decay X\n"
            "                     train: this learning rate, momentum or weight decay instead of the\n"
            "                     .dnn's, without recompiling (a model compiled without momentum has\n"
            "                     no momentum to set)\n"
            "  --gamma X, --every N, --period N, --min-lr X\n"
            "                     train: the schedule's parameters instead of the .dnn's\n"
            "  --hparam NAME=X    train: any of the model's hyper-parameters by its .dnn name, e.g.\n"
            "                     beta1=0.8 (see below); the run's values go to FILE.settings.json\n"
            "                     beside the log, and into the checkpoint\n"
            "  -h, --help         this text\n"
            "\n"
            "examples:\n"
            "  %s train data.csv --val val.csv --save w.safetensors\n"
            "  %s eval test.csv --weights w.safetensors\n",
            p->name, p->epochs, (unsigned long long)p->seed, prog_name, prog_name);
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

/* Long options only, parsed by hand: the same in every libc. Returns 0, or the exit status. */
static int parse_options(const dnn_program *p, int argc, char **argv, Options *o) {
    memset(o, 0, sizeof *o);
    o->epochs = -1;
    o->seed = -1;
    o->scale = NAN;
    o->eps = 1e-3;
    o->tol = 5e-2;
    o->rtol = 1e-4;
    o->atol = 1e-5;
    o->coords = 5;
    if (argc < 2) {
        usage(p, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(p, stdout);
        return -1;
    }
    static const char *const commands[] = {"train", "eval", "predict", "gradcheck", "check"};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i]))
            o->command = commands[i];
    if (!o->command) {
        fail("unknown command '%s' (use train, eval, predict, gradcheck or check; see --help)", argv[1]);
        return 2;
    }
    int bad = 0;
    for (int i = 2; i < argc && !bad; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        static const char *const with_value[] = {"--val", "--weights", "--save", "--resume", "--log", "--out",
            "--confusion", "--golden", "--map", "--epochs", "--seed", "--limit", "--scale", "--eps", "--tol",
            "--rtol", "--atol", "--coords", "--stop-after", "--class-names", "--hparam"};
        int takes = 0;
        const char *hparam = NULL; /* the .dnn name an option like --lr sets */
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            takes |= !strcmp(a, with_value[k]);
        for (size_t k = 0; k < sizeof hparam_options / sizeof *hparam_options; k++)
            if (!strcmp(a, hparam_options[k][0]))
                hparam = hparam_options[k][1];
        takes |= hparam != NULL;
        if (takes && !v) {
            fail("option '%s' needs a value", a);
            return 2;
        }
        if (takes)
            i++;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(p, stdout);
            return -1;
        } else if (!strcmp(a, "--val")) o->val = v;
        else if (!strcmp(a, "--weights")) o->weights = v;
        else if (!strcmp(a, "--save")) o->save = v;
        else if (!strcmp(a, "--resume")) o->resume = v;
        else if (!strcmp(a, "--log")) o->log = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--confusion")) o->confusion = v;
        else if (!strcmp(a, "--golden")) o->golden = v;
        else if (!strcmp(a, "--class-names")) o->class_names = v;
        else if (!strcmp(a, "--map")) {
            if (o->nmaps == MAX_SLOTS || !strchr(v, '=')) {
                fail("--map takes NAME=COLUMNS, e.g. --map y=species");
                return 2;
            }
            o->maps[o->nmaps++] = v;
        } else if (!strcmp(a, "--epochs")) o->epochs = (int)parse_count(a, v, 1, &bad);
        else if (!strcmp(a, "--seed")) o->seed = parse_count(a, v, 0, &bad);
        else if (!strcmp(a, "--limit")) o->limit = parse_count(a, v, 1, &bad);
        else if (!strcmp(a, "--stop-after")) o->stop_after = parse_count(a, v, 1, &bad);
        else if (!strcmp(a, "--coords")) o->coords = (int)parse_count(a, v, 1, &bad);
        else if (!strcmp(a, "--scale")) o->scale = parse_real(a, v, &bad);
        else if (!strcmp(a, "--eps")) o->eps = parse_real(a, v, &bad);
        else if (!strcmp(a, "--tol")) o->tol = parse_real(a, v, &bad);
        else if (!strcmp(a, "--rtol")) o->rtol = parse_real(a, v, &bad);
        else if (!strcmp(a, "--atol")) o->atol = parse_real(a, v, &bad);
        else if (!strcmp(a, "--standardize")) o->standardize = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) o->quiet = 1;
        else if (hparam) {
            if (add_hparam(o, a, hparam, v))
                return 2;
        } else if (!strcmp(a, "--hparam")) {
            char name[64];
            const char *eq = strchr(v, '=');
            if (!eq) {
                fail("--hparam takes NAME=VALUE, e.g. --hparam beta1=0.8");
                return 2;
            }
            snprintf(name, sizeof name, "%.*s", (int)(eq - v) < 63 ? (int)(eq - v) : 63, v);
            if (add_hparam(o, a, name, eq + 1))
                return 2;
        } else if (a[0] == '-' && a[1]) {
            fail("unknown option '%s' (see %s --help)", a, prog_name);
            return 2;
        } else {
            /* DATA: files, spaces or commas between them */
            if (o->nlists == MAX_SLOTS) {
                fail("too many data files (at most %d)", MAX_SLOTS);
                return 2;
            }
            char *list = o->lists[o->nlists++] = strdup(a);
            for (char *f = strtok(list, ","); f; f = strtok(NULL, ",")) {
                if (o->nfiles == MAX_SLOTS) {
                    fail("too many data files (at most %d)", MAX_SLOTS);
                    return 2;
                }
                o->files[o->nfiles++] = f;
            }
        }
    }
    if (bad)
        return 2;
    if (o->epochs > 1000000 || o->limit > 2000000000L) {
        fail("--epochs or --limit is too large");
        return 2;
    }
    return 0;
}

/* ---- data sets ---------------------------------------------------------------------- */

/* A data set: for each slot (inputs, then targets) count samples of its size. */
typedef struct Data {
    long count;
    int nslots;
    float *x[MAX_SLOTS];       /* float slots: [count][size] */
    unsigned char *u8[MAX_SLOTS]; /* or byte slots (an IDX u8 file's input): [count][size], as read */
    float lut[MAX_SLOTS][256]; /* a byte slot's values after --scale, from prep_apply */
    const float *mean[MAX_SLOTS], *std[MAX_SLOTS]; /* and --standardize's (the Prep's), or NULL */
    int32_t *y[MAX_SLOTS];     /* class slots: [count] */
    char **labels[MAX_SLOTS];  /* class names from a CSV text column, or NULL */
    int nlabels[MAX_SLOTS];
} Data;

static const dnn_io *slot_io(const dnn_program *p, int s) {
    return s < p->ninputs ? &p->inputs[s] : &p->targets[s - p->ninputs];
}

static void data_free(Data *d) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(d->x[s]);
        free(d->u8[s]);
        free(d->y[s]);
        if (d->labels[s])
            for (int k = 0; k < d->nlabels[s]; k++)
                free(d->labels[s][k]);
        free(d->labels[s]);
    }
    memset(d, 0, sizeof *d);
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
    for (int i = 0; i < o->nmaps; i++)
        if (!strncmp(o->maps[i], name, len) && o->maps[i][len] == '=')
            return o->maps[i] + len + 1;
    return NULL;
}

/* A CSV file fills slots from *s on: by --map, by header names, or by count. */
static int load_csv(const dnn_program *p, const Options *o, const char *path, Data *d, int *s, int nslots) {
    dnn_csv c;
    char msg[512];
    if (dnn_csv_read(path, &c, msg, sizeof msg) != DNN_OK) {
        fail("%s", msg);
        return 1;
    }
    Source src = {path, c.data, c.rows, c.cols, c.line};
    int next_col = 0, rc = 0, mapped = 0;
    int *cols = xcalloc((size_t)c.cols + 1, sizeof(int));
    for (; *s < nslots && !rc; (*s)++) {
        const dnn_io *io = slot_io(p, *s);
        const char *map = find_map(o, io->name);
        int n;
        if (map) {
            n = parse_columns(map, &c, path, cols, c.cols);
            mapped = 1;
        } else if (c.header && dnn_csv_column(&c, io->name) >= 0 && io->size == 1) {
            cols[0] = dnn_csv_column(&c, io->name);
            n = 1;
            mapped = 1;
        } else if (mapped) {
            fail("%s: no columns for '%s': name them with --map %s=COLUMNS", path, io->name, io->name);
            rc = 1;
            break;
        } else {
            if (next_col + io->size > c.cols)
                break; /* the next file fills it */
            for (n = 0; n < io->size; n++)
                cols[n] = next_col + n;
            next_col += io->size;
        }
        if (n < 0) {
            rc = 1;
        } else if (n != io->size) {
            fail("%s: '%s' needs %d column%s, --map gives %d", path, io->name, io->size, io->size == 1 ? "" : "s", n);
            rc = 1;
        } else {
            if (io->classes && c.levels[cols[0]]) {
                if (c.nlevels[cols[0]] > io->classes) {
                    fail("%s: column %d has %d different labels, but '%s' has %d classes", path, cols[0] + 1,
                         c.nlevels[cols[0]], io->name, io->classes);
                    rc = 1;
                    break;
                }
                d->labels[*s] = xcalloc((size_t)c.nlevels[cols[0]], sizeof(char *));
                d->nlabels[*s] = c.nlevels[cols[0]];
                for (int k = 0; k < c.nlevels[cols[0]]; k++)
                    d->labels[*s][k] = strdup(c.levels[cols[0]][k]);
            } else if (!io->classes) {
                for (int k = 0; k < n && !rc; k++)
                    if (c.levels[cols[k]]) {
                        fail("%s: column %d holds text ('%s', ...), but '%s' takes numbers", path, cols[k] + 1,
                             c.levels[cols[k]][0], io->name);
                        rc = 1;
                    }
                if (rc)
                    break;
            }
            rc = place(p, d, *s, &src, cols);
        }
    }
    if (!rc && !mapped && next_col < c.cols) {
        int targets = 0; /* columns of the targets a predict does not read */
        for (int t = 0; t < p->ntargets; t++)
            targets += p->targets[t].size;
        if (*s < nslots) {
            fail("%s: %d column%s left, but '%s' needs %d", path, c.cols - next_col, c.cols - next_col == 1 ? "" : "s",
                 slot_io(p, *s)->name, slot_io(p, *s)->size);
            rc = 1;
        } else if (!(nslots == p->ninputs && c.cols - next_col == targets)) {
            fail("%s has %d columns; the model's %s take %d", path, c.cols,
                 nslots == p->ninputs ? "inputs" : "inputs and targets", next_col);
            note("choose columns with --map NAME=COLUMNS");
            rc = 1;
        }
    }
    free(cols);
    dnn_csv_free(&c);
    return rc;
}

/* An IDX or .npy file fills slot *s. */
static int load_array(const dnn_program *p, const char *path, Data *d, int *s) {
    const dnn_io *io = slot_io(p, *s);
    char msg[512];
    float *vals;
    long rows;
    size_t per;
    dnn_array a = {0};
    dnn_idx t = {0};
    int npy = ends_with(path, ".npy");
    int rc = npy ? dnn_npy_read(path, 1.0f, &a, msg, sizeof msg) : dnn_idx_read_bytes(path, 0, 0, &t, msg, sizeof msg);
    if (rc != DNN_OK) {
        fail("%s", msg);
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

/* Reads files into the first nslots slots (inputs, or inputs and targets). */
static int load_data(const dnn_program *p, const Options *o, const char *const *files, int nfiles, int nslots, Data *d) {
    int s = 0;
    memset(d, 0, sizeof *d);
    d->nslots = nslots;
    if (!nfiles) {
        fail("no data files: give the files for %s", slot_io(p, 0)->name);
        return 1;
    }
    for (int f = 0; f < nfiles; f++) {
        if (s >= nslots) {
            fail("%s: more data files than the model's %s need", files[f], nslots > p->ninputs ? "inputs and targets" : "inputs");
            return 1;
        }
        int before = s;
        if (ends_with(files[f], ".csv") || ends_with(files[f], ".tsv") || ends_with(files[f], ".txt")) {
            if (load_csv(p, o, files[f], d, &s, nslots))
                return 1;
        } else if (load_array(p, files[f], d, &s))
            return 1;
        if (s == before)
            return 1;
    }
    if (s < nslots) {
        fail("no data for '%s': add a file for it (the files fill %s in order)", slot_io(p, s)->name,
             nslots > p->ninputs ? "the inputs, then the targets," : "the inputs");
        return 1;
    }
    if (d->count == 0) {
        fail("%s: no samples", files[0]);
        return 1;
    }
    if (o->limit && o->limit < d->count)
        d->count = o->limit;
    return 0;
}

/* ---- preprocessing: --scale and --standardize, kept in the weights file ---------- */

typedef struct Prep {
    double scale;              /* 1 when none */
    float *mean[MAX_SLOTS];    /* per input feature, or NULL */
    float *std[MAX_SLOTS];
} Prep;

static void prep_free(Prep *pr) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(pr->mean[s]);
        free(pr->std[s]);
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
                if (pr->mean[s])
                    *v = (*v - pr->mean[s][k]) / pr->std[s][k];
            }
    }
}

/* Element i of slot s as read (before any preprocessing). */
static float raw(const Data *d, int s, long i) { return d->u8[s] ? d->u8[s][i] : d->x[s][i]; }

/* Mean and standard deviation of each input feature over samples idx[0..n). */
static void prep_fit(const dnn_program *p, Prep *pr, const Data *d, const long *idx, long n) {
    for (int s = 0; s < p->ninputs; s++) {
        int size = p->inputs[s].size;
        pr->mean[s] = xcalloc((size_t)size, sizeof(float));
        pr->std[s] = xcalloc((size_t)size, sizeof(float));
        for (int k = 0; k < size; k++) {
            double sum = 0, sq = 0;
            for (long i = 0; i < n; i++)
                sum += raw(d, s, idx[i] * size + k) * pr->scale;
            double mean = sum / (double)n;
            for (long i = 0; i < n; i++) {
                double dv = raw(d, s, idx[i] * size + k) * pr->scale - mean;
                sq += dv * dv;
            }
            double sd = sqrt(sq / (double)n);
            pr->mean[s][k] = (float)mean;
            pr->std[s][k] = sd > 1e-12 ? (float)sd : 1.0f; /* a constant feature stays as it is */
        }
    }
}

/* ---- the model and its files ------------------------------------------------------ */

typedef struct Run {
    const dnn_program *p;
    Options o;
    void *m;                   /* the model struct */
    float *params;             /* its parameter area */
    Prep prep;
    char **labels;             /* class names of the scored target, or NULL */
    int nlabels;
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
        if (!strncmp(mt->kv[2 * i], "dnn.", 4) && strchr(mt->kv[2 * i], '@'))
            free((char *)mt->kv[2 * i]);
    memset(mt, 0, sizeof *mt);
}

static char *floats_text(const float *v, int n) {
    char *s = xcalloc((size_t)n, 18), *q = s;
    for (int i = 0; i < n; i++)
        q += sprintf(q, "%s%.9g", i ? "," : "", v[i]);
    return s;
}

static char *key_for(const char *what, const char *name) {
    char *k = xcalloc(strlen(what) + strlen(name) + 8, 1);
    sprintf(k, "dnn.%s@%s", what, name);
    return k;
}

static void prep_meta(const Run *r, Meta *mt) {
    char *scale = xcalloc(32, 1);
    snprintf(scale, 32, "%.17g", r->prep.scale);
    meta_add(mt, "dnn.scale", scale);
    for (int s = 0; s < r->p->ninputs; s++)
        if (r->prep.mean[s]) {
            meta_add(mt, key_for("mean", r->p->inputs[s].name), floats_text(r->prep.mean[s], r->p->inputs[s].size));
            meta_add(mt, key_for("std", r->p->inputs[s].name), floats_text(r->prep.std[s], r->p->inputs[s].size));
        }
    if (r->labels) {
        size_t len = 1;
        for (int k = 0; k < r->nlabels; k++)
            len += strlen(r->labels[k]) + 1;
        char *text = xcalloc(len, 1);
        for (int k = 0; k < r->nlabels; k++)
            strcat(strcat(text, k ? "\n" : ""), r->labels[k]);
        meta_add(mt, "dnn.labels", text);
    }
}

/* Reads the preprocessing back from a weights or checkpoint image. */
static int prep_from(Run *r, const void *buf, size_t len, const char *path) {
    size_t cap = 64;
    for (int s = 0; s < r->p->ninputs; s++)
        cap += 18 * (size_t)r->p->inputs[s].size;
    char *text = xcalloc(cap, 1);
    int rc = 0;
    if (dnn_st_metadata(buf, len, "dnn.scale", text, cap) == DNN_OK)
        r->prep.scale = atof(text);
    for (int s = 0; s < r->p->ninputs && !rc; s++) {
        char *km = key_for("mean", r->p->inputs[s].name), *ks = key_for("std", r->p->inputs[s].name);
        for (int which = 0; which < 2 && !rc; which++) {
            if (dnn_st_metadata(buf, len, which ? ks : km, text, cap) != DNN_OK)
                continue;
            float *v = xcalloc((size_t)r->p->inputs[s].size, sizeof(float));
            char *q = text;
            for (int k = 0; k < r->p->inputs[s].size && !rc; k++) {
                char *end;
                v[k] = strtof(q, &end);
                if (end == q || (*end != ',' && *end)) {
                    fail("%s: its standardisation statistics for '%s' are damaged", path, r->p->inputs[s].name);
                    rc = 1;
                }
                q = *end ? end + 1 : end;
            }
            free(which ? r->prep.std[s] : r->prep.mean[s]);
            (which ? r->prep.std : r->prep.mean)[s] = v;
        }
        free(km);
        free(ks);
    }
    if (!r->labels && dnn_st_metadata(buf, len, "dnn.labels", text, cap) == DNN_OK) {
        r->labels = xcalloc(256, sizeof(char *));
        for (char *q = strtok(text, "\n"); q && r->nlabels < 256; q = strtok(NULL, "\n"))
            r->labels[r->nlabels++] = strdup(q);
    }
    free(text);
    return rc;
}

/* Tensor pointers of the model, in NAME_tensors order. */
static void tensor_ptrs(const Run *r, float **dst) {
    for (int i = 0; i < r->p->num_tensors; i++)
        dst[i] = r->p->tensor(r->m, i);
}

static int load_weights(Run *r, const char *path) {
    void *buf;
    size_t len;
    if (dnn_read_file_alloc(path, &buf, &len) != DNN_OK) {
        fail("cannot read '%s': %s", path, strerror(errno));
        return 1;
    }
    float **dst = xcalloc((size_t)r->p->num_tensors, sizeof(float *));
    tensor_ptrs(r, dst);
    int rc = dnn_safetensors_load(r->p->tensors, dst, r->p->num_tensors, buf, len);
    if (rc != DNN_OK) {
        fail("%s: %s", path, dnn_strerror(rc));
        note("the file must hold exactly the model's tensors (see '%s --help' and docs/training.md)", prog_name);
    } else
        rc = prep_from(r, buf, len, path);
    free(dst);
    free(buf);
    return rc != 0;
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
                if (mean)
                    for (int k = 0; k < io->size; k++)
                        dst[k] = (lut[src[k]] - mean[k]) / std[k];
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

#define CKPT_FORMAT "dnnc-checkpoint-1"

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
        char *given = !strcmp(opt, "--hparam") ? text_of("--hparam %s=%g", name, o->hp_values[i])
                                               : text_of("%s %g", opt, o->hp_values[i]);
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
            fail("%s %g: the run in %s has %s %.9g, and a resumed run keeps its hyper-parameters", r->o.hp_options[i],
                 r->o.hp_values[i], ckpt, r->o.hp_names[i], had);
            note("resume without %s, or start a new run", r->o.hp_options[i]);
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
    if (dnn_read_file_alloc(path, &buf, &len) != DNN_OK) {
        fail("cannot read '%s': %s", path, strerror(errno));
        return 1;
    }
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
    rc = prep_from(r, buf, len, path);
done:
    free(buf);
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
    static const char *const known[] = {".safetensors", ".log.csv", ".csv"};
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
    char *save = NULL, *ckpt = NULL, *log = NULL, *svg = NULL, *val_list = NULL, *settings = NULL;
    memset(&all, 0, sizeof all);
    memset(&train_set, 0, sizeof train_set);
    memset(&val_set, 0, sizeof val_set);
    memset(&l, 0, sizeof l);
    memset(&b, 0, sizeof b);
    signal(SIGINT, on_signal); /* from here on ^C, SIGTERM and SIGHUP stop at the next batch, with a checkpoint */
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGXFSZ, SIG_IGN); /* past `ulimit -f` a write fails (and its temporary file goes) instead */
    p->init(r->m, seed); /* the command line's hyper-parameters checked before any data is read */
    if ((status = apply_hparams(r)) != 0)
        goto done;
    if (load_data(p, o, o->files, o->nfiles, nslots, &all)) {
        status = 1;
        goto done;
    }
    int labelled = p->ninputs + p->score_target;
    if (!r->labels && all.labels[labelled]) { /* --class-names wins over a CSV's text labels */
        r->labels = xcalloc((size_t)all.nlabels[labelled], sizeof(char *));
        for (r->nlabels = 0; r->nlabels < all.nlabels[labelled]; r->nlabels++)
            r->labels[r->nlabels] = strdup(all.labels[labelled][r->nlabels]);
    }

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
    r->prep.scale = isnan(o->scale) ? 1.0 : o->scale;
    if (o->standardize)
        prep_fit(p, &r->prep, &all, idx, ntrain);
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
        if (load_data(p, o, files, n, nslots, &val_set)) {
            status = 1;
            goto done;
        }
        prep_apply(p, &r->prep, &val_set);
    }
    int have_val = val_set.count > 0;
    if (p->early_stop && !have_val)
        note("no validation data: early_stop watches the training loss (give --val, or 'validation F;' in the train block)");

    /* the model: initialised, or from --weights, or from the checkpoint */
    l.best_loss = INFINITY;
    l.best_epoch = -1;
    if (p->ema_decay > 0)
        l.ema = xcalloc(p->params_size, sizeof(float));
    p->init(r->m, seed);
    if (!o->resume) /* a resumed run takes its checkpoint's (checked against these below) */
        apply_hparams(r); /* checked above */
    dnn_rng_seed(&l.shuffle, seed ^ 0x5f1ff1eULL);
    if (o->weights && load_weights(r, o->weights)) {
        status = 1;
        goto done;
    }
    save = o->save ? strdup(o->save) : text_of("%s.safetensors", p->name);
    ckpt = beside(save, ".ckpt");
    log = o->log ? strdup(o->log) : beside(save, ".log.csv");
    svg = beside(log, ".svg");
    if (o->resume && load_checkpoint(r, &l, o->resume)) {
        status = 1;
        goto done;
    }
    if (o->resume && (status = check_resumed_hparams(r, o->resume)) != 0)
        goto done;
    settings = beside(log, ".settings.json");
    if ((status = write_settings(r, settings, epochs, seed)) != 0)
        goto done;
    l.rows = realloc(l.rows, sizeof *l.rows * (size_t)(epochs + 1));
    if (l.epoch >= epochs && o->resume)
        note("%s: the run had already finished %d epochs", o->resume, l.epoch);

    batch_alloc(p, &b);
    order = xcalloc((size_t)train_set.count, sizeof(long));
    dnn_progress bar;
    long batches_run = 0;
    char *held = have_val ? text_of(" (%ld for validation)", val_set.count) : strdup("");
    printf("training %s on %ld samples%s, %d epoch%s, batch %d\n", p->name, train_set.count, held, epochs,
           epochs == 1 ? "" : "s", p->batch);
    free(held);
    if (o->nhp) { /* the values in use when some came from the command line */
        printf("hyper-parameters:");
        for (int i = 0; i < p->nhparams; i++)
            printf("%s %s %.9g", i ? "," : "", p->hparam_names[i], *AT(r, p->hparam_offsets[i], const double *));
        printf("\n");
    }
    for (; l.epoch < epochs; l.epoch++) {
        p->set_epoch(r->m, l.epoch);
        dnn_rng rng = l.shuffle; /* so a resumed epoch sees the same order */
        for (long i = 0; i < train_set.count; i++)
            order[i] = i;
        if (p->shuffle)
            shuffle_order(order, train_set.count, &rng);
        double started = dnn_now() - l.seconds;
        long nbatches = (train_set.count + p->batch - 1) / p->batch;
        /* long runs show about 25 epochs: the first, the last and evenly between */
        int every = epochs <= 50 ? 1 : (epochs + 24) / 25;
        int show = !o->quiet && (l.epoch == 0 || (l.epoch + 1) % every == 0 || l.epoch + 1 == epochs);
        if (show)
            dnn_progress_begin(&bar, stdout, l.epoch + 1, epochs, train_set.count);
        for (; l.batch < nbatches; l.batch++) {
            long start = l.batch * p->batch;
            int n = (int)(train_set.count - start < p->batch ? train_set.count - start : p->batch);
            batch_fill(p, &train_set, order + start, n, &b);
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
                printf("interrupted: checkpoint %s (epoch %d, batch %ld); continue with --resume %s\n", ckpt,
                       l.epoch + 1, l.batch, ckpt);
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
        if (show)
            dnn_progress_end(&bar, line);
        else if (stop && !o->quiet)
            printf("%s\n", line);

        l.shuffle = rng;
        l.batch = 0;
        l.loss_sum = 0;
        l.correct = l.scored = l.seen = 0;
        l.seconds = 0;
        char msg[512];
        if (dnn_log_write_csv(log, l.rows, l.nrows, msg, sizeof msg) != DNN_OK ||
            dnn_plot_svg(svg, p->name, l.rows, l.nrows, msg, sizeof msg) != DNN_OK) {
            fail("%s", msg);
            status = 3;
            goto done;
        }
        l.epoch++;
        int saved = save_checkpoint(r, &l, ckpt);
        l.epoch--;
        if (saved) {
            status = 3;
            goto done;
        }
        if (stop) {
            printf("early stop: the %s loss has not improved for %d epochs; keeping epoch %d's weights\n",
                   have_val ? "validation" : "training", p->patience, l.best_epoch + 1);
            l.epoch++;
            break;
        }
        if (interrupted) {
            printf("interrupted after epoch %d: checkpoint %s; continue with --resume %s\n", l.epoch + 1, ckpt, ckpt);
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
    data_free(&all);
    data_free(&train_set);
    data_free(&val_set);
    return status;
}

/* ---- eval, predict ---------------------------------------------------------------------------- */

/* Loads --weights (required) and the data with its preprocessing. */
static int prepare(Run *r, int nslots, Data *d) {
    if (!r->o.weights) {
        fail("'%s' needs --weights FILE (the weights a 'train' saved, or a PyTorch state_dict as safetensors)",
             r->o.command);
        return 2;
    }
    r->prep.scale = 1.0;
    r->p->init(r->m, r->p->seed);
    if (load_weights(r, r->o.weights) || load_data(r->p, &r->o, r->o.files, r->o.nfiles, nslots, d))
        return 1;
    if (!isnan(r->o.scale))
        r->prep.scale = r->o.scale;
    data_floats(r->p, d); /* predict and check read the floats */
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
    printf("%s on %ld samples: loss %.6g", p->name, d.count, loss);
    if (!isnan(acc))
        printf("  accuracy %.2f%%", 100 * acc);
    printf("\n");
    const char *const *names = (const char *const *)(r->labels ? r->labels : d.labels[p->ninputs + p->score_target]);
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

static int predict(Run *r) {
    const dnn_program *p = r->p;
    Data d;
    int rc = prepare(r, p->ninputs, &d);
    if (rc)
        return rc;
    int npy = r->o.out && ends_with(r->o.out, ".npy");
    if (npy && p->noutputs != 1) {
        fail("--out %s: a .npy file holds one output, and the model has %d", r->o.out, p->noutputs);
        return 2;
    }
    int width = 0;
    for (int k = 0; k < p->noutputs; k++)
        width += p->outputs[k].size;
    float *all = xcalloc((size_t)d.count * (size_t)width, sizeof(float));
    Batch b;
    batch_alloc(p, &b);
    long *idx = xcalloc((size_t)p->batch, sizeof(long));
    for (long start = 0; start < d.count; start += p->batch) {
        int n = (int)(d.count - start < p->batch ? d.count - start : p->batch);
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        batch_fill(p, &d, idx, n, &b);
        p->forward(r->m, (const float *const *)b.x, b.out, n);
        for (int i = 0; i < n; i++)
            for (int k = 0, col = 0; k < p->noutputs; col += p->outputs[k++].size)
                memcpy(all + (start + i) * width + col, b.out[k] + (size_t)i * p->outputs[k].size,
                       sizeof(float) * (size_t)p->outputs[k].size);
    }
    char msg[512];
    if (r->o.out && ends_with(r->o.out, ".safetensors")) {
        rc = write_golden(r, &d, all, width, r->o.out);
    } else if (npy) {
        int64_t dims[5] = {d.count};
        for (int k = 0; k < p->outputs[0].rank; k++)
            dims[k + 1] = p->outputs[0].shape[k];
        if (dnn_npy_write(r->o.out, all, p->outputs[0].rank + 1, dims, msg, sizeof msg) != DNN_OK) {
            fail("%s", msg);
            rc = 3;
        }
    } else {
        /* CSV: one column per output element, and the predicted class of a classifier */
        size_t cap = 64 + (size_t)d.count * ((size_t)width * 16 + 64), len = 0;
        char *text = xcalloc(cap, 1);
        int classes = p->score == DNN_SCORE_ARGMAX ? p->targets[p->score_target].classes : 0;
        int class_col = -1; /* the first output with one value per class */
        for (int k = 0, col = 0; k < p->noutputs && classes; col += p->outputs[k++].size)
            if (class_col < 0 && p->outputs[k].size == classes)
                class_col = col;
        for (int k = 0; k < p->noutputs; k++)
            for (int e = 0; e < p->outputs[k].size; e++) {
                len += (size_t)snprintf(text + len, cap - len, "%s%s", k || e ? "," : "", p->outputs[k].name);
                if (p->outputs[k].size > 1)
                    len += (size_t)snprintf(text + len, cap - len, ".%d", e);
            }
        len += (size_t)snprintf(text + len, cap - len, "%s\n", class_col >= 0 ? ",class" : "");
        for (long i = 0; i < d.count; i++) {
            for (int e = 0; e < width; e++)
                len += (size_t)snprintf(text + len, cap - len, "%s%.7g", e ? "," : "", all[i * width + e]);
            if (class_col >= 0) {
                int c = argmax(all + i * width + class_col, classes);
                if (r->labels && c < r->nlabels)
                    len += (size_t)snprintf(text + len, cap - len, ",%s", r->labels[c]);
                else
                    len += (size_t)snprintf(text + len, cap - len, ",%d", c);
            }
            len += (size_t)snprintf(text + len, cap - len, "\n");
        }
        if (r->o.out) {
            if (dnn_write_file_atomic(r->o.out, text, len) != DNN_OK) {
                fail("cannot write '%s': %s", r->o.out, strerror(errno));
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
 * On the first batch, in training mode: the generated backward's gradient
 * of every trainable tensor against central differences
 * (L(w + h) − L(w − h)) / 2h, h = eps·max(1, |w|), at the K elements with
 * the largest gradients. Those are where the check means something in
 * float32: the loss is rounded to ~1e-7 of itself, so the difference
 * quotient of an element whose gradient is ~1e-4 is mostly rounding. The
 * model is restored from a snapshot before each evaluation, so dropout
 * draws the same masks and batchnorm's running statistics stay put. The
 * error is |analytic − numeric| / max(|analytic|, |numeric|, 1e-6). */

/* The indices of the k largest |g[i]|, i < n (k small: insertion). */
static int largest(const float *g, int n, int *top, int k) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        int j = m < k ? m++ : k;
        if (j == k && fabsf(g[i]) <= fabsf(g[top[k - 1]]))
            continue;
        if (j == k)
            j = k - 1;
        while (j > 0 && fabsf(g[top[j - 1]]) < fabsf(g[i])) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return m;
}

static int gradcheck(Run *r) {
    const dnn_program *p = r->p;
    Data d;
    r->prep.scale = isnan(r->o.scale) ? 1.0 : r->o.scale;
    p->init(r->m, r->o.seed >= 0 ? (uint64_t)r->o.seed : p->seed);
    if ((r->o.weights && load_weights(r, r->o.weights)) ||
        load_data(p, &r->o, r->o.files, r->o.nfiles, p->ninputs + p->ntargets, &d))
        return 1;
    prep_apply(p, &r->prep, &d);
    int n = (int)(d.count < p->batch ? d.count : p->batch);
    Batch b;
    batch_alloc(p, &b);
    long *idx = xcalloc((size_t)n, sizeof(long));
    for (int i = 0; i < n; i++)
        idx[i] = i;
    batch_fill(p, &d, idx, n, &b);
    void *snapshot = xcalloc(1, p->model_size);
    memcpy(snapshot, r->m, p->model_size);
    const float *w0 = (const float *)((const char *)snapshot + p->params_offset);
    double loss0 = p->backward(r->m, (const float *const *)b.x, (const void *const *)b.y, n);
    float *analytic = xcalloc(p->params_size, sizeof(float));
    for (int i = 0; i < p->num_tensors; i++)
        if (p->tensors[i].trainable)
            memcpy(analytic + (p->tensor(r->m, i) - r->params), p->grad(r->m, i), sizeof(float) * (size_t)p->tensors[i].size);
    printf("gradcheck of %s on %d samples: the %d largest gradients of each tensor, step %g\n", p->name, n,
           r->o.coords, r->o.eps);
    double worst = 0;
    const char *worst_name = "";
    int *top = xcalloc((size_t)r->o.coords, sizeof(int));
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        size_t base = (size_t)(p->tensor(r->m, i) - r->params);
        int k = largest(analytic + base, p->tensors[i].size, top, r->o.coords);
        /* the smallest gradient a float32 difference quotient resolves: a few roundings of the loss over 2h */
        double resolution = 8 * fabs(loss0) * FLT_EPSILON / (2 * r->o.eps), tensor_worst = 0;
        int resolved = 0;
        for (int c = 0; c < k; c++) {
            size_t at = base + (size_t)top[c];
            double h = r->o.eps * fmax(1.0, fabs(w0[at])), loss[2];
            for (int side = 0; side < 2; side++) {
                memcpy(r->m, snapshot, p->model_size);
                r->params[at] = (float)(w0[at] + (side ? -h : h));
                loss[side] = p->backward(r->m, (const float *const *)b.x, (const void *const *)b.y, n);
            }
            double numeric = (loss[0] - loss[1]) / (2 * h), a = analytic[at], scale = fmax(fabs(a), fabs(numeric));
            if (scale < resolution)
                continue; /* both are zero as far as float32 can tell */
            resolved++;
            tensor_worst = fmax(tensor_worst, fabs(a - numeric) / scale);
        }
        double top_grad = k ? fabs(analytic[base + (size_t)top[0]]) : 0;
        if (resolved)
            printf("  %-24s %8d values  largest |grad| %-9.3g error %.1e%s\n", p->tensors[i].name, p->tensors[i].size,
                   top_grad, tensor_worst, tensor_worst > r->o.tol ? "  <-- too large" : "");
        else
            printf("  %-24s %8d values  largest |grad| %-9.3g zero within float32 (below %.0e): agrees\n",
                   p->tensors[i].name, p->tensors[i].size, top_grad, resolution);
        if (tensor_worst >= worst) {
            worst = tensor_worst;
            worst_name = p->tensors[i].name;
        }
    }
    memcpy(r->m, snapshot, p->model_size);
    int bad = worst > r->o.tol;
    printf("worst relative error %.2e (%s): %s (tolerance %g)\n", worst, worst_name, bad ? "FAILED" : "ok", r->o.tol);
    free(top);
    free(snapshot);
    free(analytic);
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
    if (load_weights(r, r->o.weights))
        return 1;
    void *buf;
    size_t len;
    if (dnn_read_file_alloc(r->o.golden, &buf, &len) != DNN_OK) {
        fail("cannot read '%s': %s", r->o.golden, strerror(errno));
        return 1;
    }
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
    if (r.o.class_names) {
        r.labels = xcalloc(strlen(r.o.class_names) + 1, sizeof(char *));
        char *list = strdup(r.o.class_names), *save = NULL;
        for (char *q = strtok_r(list, ",", &save); q; q = strtok_r(NULL, ",", &save))
            r.labels[r.nlabels++] = strdup(q);
        free(list);
    }
    if (!strcmp(r.o.command, "train"))
        rc = train(&r);
    else if (!strcmp(r.o.command, "eval"))
        rc = eval(&r);
    else if (!strcmp(r.o.command, "predict"))
        rc = predict(&r);
    else if (!strcmp(r.o.command, "gradcheck"))
        rc = gradcheck(&r);
    else
        rc = check(&r);
    prep_free(&r.prep);
    for (int i = 0; i < r.o.nlists; i++)
        free(r.o.lists[i]);
    if (r.labels) {
        for (int k = 0; k < r.nlabels; k++)
            free(r.labels[k]);
        free(r.labels);
    }
    free(r.m);
    return rc;
}
