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

#include "dnn_data.h"
#include "dnn_host.h"
#include "dnn_report.h"

#define MAX_SLOTS 16 /* inputs + targets a program can feed */
#define CKPT_FORMAT "dnnc-checkpoint-1" /* dnn.format of a checkpoint */

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
    int standardize;              /* --standardize */
    int quiet;                    /* --quiet: no progress */
    double eps, tol;              /* gradcheck */
    double rtol, atol;            /* check */
    int coords;                   /* gradcheck: elements per tensor */
    long stop_after;              /* --stop-after: act as if interrupted after N batches (tests resume) */
    int mc_samples;               /* predict --mc-samples: forward passes with dropout, 0: one in eval mode */
    int help;                     /* --help */
} Options;

typedef enum ArgKind {
    ARG_FLAG,     /* int, set to 1 */
    ARG_STRING,   /* const char * */
    ARG_OPTIONAL, /* const char *: "" when given without a value (--resume) */
    ARG_PAIRS,    /* Pairs: NAME=VALUE, repeatable */
    ARG_INT,      /* int from lo to hi */
    ARG_LONG,     /* long from lo to hi */
    ARG_LLONG,    /* long long from lo to hi */
    ARG_POSITIVE  /* double > 0, also as a fraction (1/255) */
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
     "train: the weights go to FILE, the checkpoint, log and curves beside it\n"
     "(FILE without .safetensors, plus .ckpt, .log.csv, .svg); default: a new\n"
     "run directory runs/NAME-N/ each time, runs/latest pointing to it"},
    {"out", 0, ARG_STRING, FIELD(out), 0, 0, "FILE",
     "predict: write to FILE (.csv, .npy, or .safetensors: a golden file of\n"
     "the inputs and outputs for check and dnnc --emit=selftest; '-': stdout);\n"
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
    {"standardize", 0, ARG_FLAG, FIELD(standardize), 0, 0, NULL,
     "subtract the training inputs' mean and divide by their standard\n"
     "deviation, per feature; the statistics are kept in the weights file"},
    {"map", 0, ARG_PAIRS, FIELD(maps), 0, 0, "NAME=COLS",
     "take NAME (an input or target) from these CSV columns: header names\n"
     "or 1-based numbers and ranges, comma-separated (e.g. x=2-5, y=species)"},
    {"class-names", 0, ARG_STRING, FIELD(class_names), 0, 0, "A,B",
     "names of the classes, for the confusion matrix and predict (kept\n"
     "in the weights file); a CSV's text labels name them too"},
    {"log", 0, ARG_STRING, FIELD(log), 0, 0, "FILE",
     "train: the per-epoch CSV log (default: beside the weights, .log.csv);\n"
     "the SVG plot of the curves goes beside it (.svg)"},
    {"quiet", 'q', ARG_FLAG, FIELD(quiet), 0, 0, NULL, "no progress bar or per-epoch lines"},
    {"mc-samples", 0, ARG_INT, FIELD(mc_samples), 2, 1000000, "N",
     "predict: the mean and standard deviation of N forward passes with\n"
     "dropout active (Monte-Carlo dropout; batchnorm stays in eval mode)"},
    {"confusion", 0, ARG_STRING, FIELD(confusion), 0, 0, "FILE", "eval: also write the confusion matrix as CSV"},
    {"golden", 0, ARG_STRING, FIELD(golden), 0, 0, "FILE",
     "check: safetensors with inputs and expected outputs, [N, ...] each"},
    {"rtol", 0, ARG_POSITIVE, FIELD(rtol), 0, 0, "R", "check: relative tolerance, |got - want| <= A + R |want| (1e-4)"},
    {"atol", 0, ARG_POSITIVE, FIELD(atol), 0, 0, "A", "check: absolute tolerance (1e-5)"},
    {"eps", 0, ARG_POSITIVE, FIELD(eps), 0, 0, "E", "gradcheck: step of the central differences (1e-3)"},
    {"tol", 0, ARG_POSITIVE, FIELD(tol), 0, 0, "T", "gradcheck: largest relative error accepted (5e-2)"},
    {"coords", 0, ARG_INT, FIELD(coords), 1, INT_MAX, "K",
     "gradcheck: elements checked per tensor, those of largest gradient (5)"},
    {"stop-after", 0, ARG_LONG, FIELD(stop_after), 1, LONG_MAX, "N",
     "train: stop after N batches as ^C would (to try --resume)"},
    {"help", 'h', ARG_FLAG, FIELD(help), 0, 0, NULL, "this text"},
};
#define NUM_OPTIONS ((int)(sizeof option_rows / sizeof *option_rows))

static double parse_fraction(const char *s, int *ok) {
    char *end;
    double a = strtod(s, &end), b = 1;
    if (*end == '/') {
        b = strtod(end + 1, &end);
    }
    *ok = end != s && *end == 0 && isfinite(a) && isfinite(b) && b != 0;
    return a / b;
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
                 row->arg && row->kind != ARG_OPTIONAL ? " " : "", row->arg ? row->arg : "");
        fprintf(out, "  %-19s", head);
        if (strlen(head) > 17) /* no room for a space before the help: it starts below */
            fprintf(out, "\n  %-19s", "");
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
            "commands: train, eval, predict, gradcheck, check\n"
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
            "  train DATA...      train (the .dnn's train block: %d epochs, batch %d, %s, seed %llu)\n"
            "  eval DATA...       loss and accuracy, and a confusion matrix for a classifier (of\n"
            "                     --weights, or of the initial weights without it)\n"
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
            "  %s train data.csv --save w.safetensors   # w.safetensors, w.ckpt, w.log.csv, w.svg\n",
            prog_name, p->name, prog_name, prog_name, p->name, prog_name);
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
    o->eps = 1e-3;
    o->tol = 5e-2;
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
    static const char *const commands[] = {"train", "eval", "predict", "gradcheck", "check"};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i]))
            o->command = commands[i];
    if (!o->command) {
        const char *s = closest(argv[1], strlen(argv[1]), commands, 5);
        fail("unknown command '%s' (use train, eval, predict, gradcheck or check; see --help)", argv[1]);
        if (s)
            note("did you mean '%s'?", s);
        return 2;
    }
    /* getopt_long sees the words after the command; "-" first in optstring returns DATA in order */
    struct option longopts[NUM_OPTIONS + 1];
    char shorts[2 * NUM_OPTIONS + 3] = "-:";
    for (int i = 0; i < NUM_OPTIONS; i++) {
        const OptionRow *row = &option_rows[i];
        int has = row->kind == ARG_FLAG ? no_argument : row->kind == ARG_OPTIONAL ? optional_argument : required_argument;
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
 * a DNN_E* code with errno set on failure. */
static int read_input(const char *path, void **buf, size_t *len) {
    if (strcmp(path, "-"))
        return dnn_read_file_alloc(path, buf, len);
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
    *buf = b;
    *len = n;
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

/* A CSV file fills slots from *s on: by --map, by header names, or by count.
 * It reads `file` and calls it `path` (they differ for standard input). */
static int load_csv(const dnn_program *p, const Options *o, const char *file, const char *path, Data *d, int *s,
                    int nslots) {
    dnn_csv c;
    char msg[512];
    if (dnn_csv_read(file, &c, msg, sizeof msg) != DNN_OK) {
        fail("%s", renamed(msg, file, path));
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
            fail("%s: more data files than the model's %s need", shown(files[f]), nslots > p->ninputs ? "inputs and targets" : "inputs");
            return 1;
        }
        int before = s, rc;
        const char *name = shown(files[f]);
        char *file = (char *)files[f];
        DataKind kind = data_kind(file);
        if (!strcmp(file, "-") && !(file = stdin_to_file(&kind)))
            return 1;
        rc = kind == DATA_CSV ? load_csv(p, o, file, name, d, &s, nslots)
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
    if (read_input(path, &buf, &len) != DNN_OK) {
        fail("cannot read '%s': %s", shown(path), strerror(errno));
        return 1;
    }
    path = shown(path);
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

/* Where train's files go (*save: the weights; the rest beside them) and the
 * checkpoint --resume reads (*from, NULL without --resume). The run
 * directory is not made here: see new_run. 0, or 1 after a message. */
static int run_files(const Run *r, char **save, char **from) {
    const Options *o = &r->o;
    const char *name = r->p->name;
    *save = o->save ? strdup(o->save) : o->out ? text_of("%s/%s.safetensors", o->out, name) : NULL;
    *from = NULL;
    if (!o->resume)
        return 0;
    struct stat st;
    if (!*o->resume && *save) {
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

/* "--resume" when it alone finds the checkpoint ckpt again, else "--resume=CKPT". */
static const char *resume_hint(const Run *r, const char *ckpt, char *buf, size_t cap) {
    char *latest = text_of("%s/%s-%d/%s.ckpt", RUNS, r->p->name, last_run(r->p->name), r->p->name);
    int bare = r->o.save || r->o.out || !strcmp(ckpt, latest);
    snprintf(buf, cap, "the same command and --resume%s%s", bare ? "" : "=", bare ? "" : ckpt);
    free(latest);
    return buf;
}

/* ---- starting weights: the init rules, --weights, --init-from -------------------- */

static int init_from(Run *r, const char *path);

/* The model as a run starts: initialised from the seed, then --weights (all
 * of the model's tensors) or --init-from (those that fit). 0, or 1. */
static int start_weights(Run *r, uint64_t seed) {
    r->p->init(r->m, seed);
    if (r->o.weights)
        return load_weights(r, r->o.weights);
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
    if (read_input(path, &buf, &len) != DNN_OK) {
        fail("cannot read '%s': %s", shown(path), strerror(errno));
        return 1;
    }
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
    char text[64], *key = key_for("mean", p->inputs[0].name);
    if (!rc && dnn_st_metadata(buf, len, "dnn.scale", text, sizeof text) == DNN_OK && atof(text) != r->prep.scale)
        note("%s was trained on inputs multiplied by %g (--scale), this run multiplies them by %g", path, atof(text),
             r->prep.scale);
    int standardized = dnn_st_metadata(buf, len, key, text, 1) != DNN_E_MISSING;
    if (!rc && standardized != r->o.standardize)
        note("%s was trained %s --standardize, this run %s its inputs", path, standardized ? "with" : "without",
             standardized ? "does not standardize" : "standardizes");
    free(key);
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
    char *save = NULL, *ckpt = NULL, *log = NULL, *svg = NULL, *val_list = NULL, *from = NULL, *run = NULL;
    memset(&all, 0, sizeof all);
    memset(&train_set, 0, sizeof train_set);
    memset(&val_set, 0, sizeof val_set);
    memset(&l, 0, sizeof l);
    memset(&b, 0, sizeof b);
    signal(SIGINT, on_signal); /* from here on ^C, SIGTERM and SIGHUP stop at the next batch, with a checkpoint */
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGXFSZ, SIG_IGN); /* past `ulimit -f` a write fails (and its temporary file goes) instead */
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
    dnn_rng_seed(&l.shuffle, seed ^ 0x5f1ff1eULL);
    if (start_weights(r, seed) || run_files(r, &save, &from) || (from && load_checkpoint(r, &l, from))) {
        status = 1;
        goto done;
    }
    if (l.epoch >= epochs && from)
        note("%s: the run had already finished %d epochs", from, l.epoch);
    /* everything is read and checked: now the files' places are made */
    if (!save && !(run = new_run(p->name))) {
        status = 3;
        goto done;
    }
    if (run)
        save = text_of("%s/%s.safetensors", run, p->name);
    struct stat st;
    if (o->out && !o->save && mkdir(o->out, 0777) != 0 && (errno != EEXIST || stat(o->out, &st) || !S_ISDIR(st.st_mode))) {
        fail("cannot make the directory '%s': %s", o->out, errno == EEXIST ? "a file has that name" : strerror(errno));
        status = 3;
        goto done;
    }
    ckpt = beside(save, ".ckpt");
    log = o->log ? strdup(o->log) : beside(save, ".log.csv");
    svg = beside(log, ".svg");
    free(run);
    run = dir_of(save);
    link_latest(run);
    l.rows = realloc(l.rows, sizeof *l.rows * (size_t)((epochs > l.epoch ? epochs : l.epoch) + 2));

    batch_alloc(p, &b);
    order = xcalloc((size_t)train_set.count, sizeof(long));
    dnn_progress bar;
    long batches_run = 0;
    char hint[1024];
    if (from)
        printf("resuming %s at epoch %d, batch %ld\n", from, l.epoch + 1, l.batch + 1);
    else if (!o->save && !o->out)
        printf("run directory: %s (%s/latest)\n", run, RUNS);
    char *held = have_val ? text_of(" (%ld for validation)", val_set.count) : strdup("");
    printf("training %s on %ld samples%s, %d epoch%s, batch %d\n", p->name, train_set.count, held, epochs,
           epochs == 1 ? "" : "s", p->batch);
    free(held);
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
        if (show)
            dnn_progress_end(&bar, line);
        else if (stop && !o->quiet)
            printf("%s\n", line);

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
            printf("early stop: the %s loss has not improved for %d epochs; keeping epoch %d's weights\n",
                   have_val ? "validation" : "training", p->patience, l.best_epoch + 1);
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
    if (start_weights(r, o->seed >= 0 ? (uint64_t)o->seed : r->p->seed) ||
        load_data(r->p, o, o->files, o->nfiles, nslots, d))
        return 1;
    if (!isnan(o->scale))
        r->prep.scale = o->scale;
    data_floats(r->p, d); /* predict and check read the floats */
    if (!o->weights && o->standardize) { /* initial weights: the statistics of this data, as train would */
        long *all = xcalloc((size_t)d->count, sizeof(long));
        for (long i = 0; i < d->count; i++)
            all[i] = i;
        prep_fit(r->p, &r->prep, d, all, d->count);
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
    printf("%s on %ld samples%s: loss %.6g", p->name, d.count, initial, loss);
    if (!isnan(acc))
        printf("  accuracy %.2f%%", 100 * acc);
    printf("\n");
    if (!r->o.weights && p->chance_loss > 0)
        printf("(%s)\n", chance_text(p, chance, sizeof chance) + 2);
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
                if (r->labels && c < r->nlabels)
                    len += (size_t)snprintf(text + len, cap - len, ",%s", r->labels[c]);
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
    if (start_weights(r, r->o.seed >= 0 ? (uint64_t)r->o.seed : p->seed) ||
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
    if (read_input(r->o.golden, &buf, &len) != DNN_OK) {
        fail("cannot read '%s': %s", shown(r->o.golden), strerror(errno));
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
