/* options.c — the training program's command line: one table of options,
 * getopt_long over it, suggestions for misspelt ones, the usage text. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"
#include "dnn_host.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

/* ---- options ----------------------------------------------------------------------
 * getopt_long over a table with one row per option (option_rows below): its
 * name, what its value is and where it goes, and its line of the usage
 * text. Values may follow as `--epochs=3` or `--epochs 3`; unambiguous
 * prefixes work (`--epo 3`); a misspelt option gets a suggestion. Adding
 * an option is a field in Options and a row. */

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
    {"out", 'o', ARG_STRING, FIELD(out), 0, 0, "FILE",
     "predict: write to FILE (.csv, .npy, or .safetensors: a golden file of\n"
     "the inputs and outputs for check and dnnc --emit=selftest; '-': stdout);\n"
     "augment: .png, .safetensors or .npy (see augment above);\n"
     "calibrate: the inputs, .safetensors, for dnnc --calibrate;\n"
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
    {"threads", 0, ARG_INT, FIELD(threads), 1, DNN_MAX_THREADS, "N",
     "run the model's kernels on N threads (default: the processors online;\n"
     "1: one thread, no pool); the results are the same bits for every N"},
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
            "commands: train, eval, predict, gradcheck, check, augment, calibrate\n"
            "  %s train data.csv                      # writes runs/%s-1/, runs/latest\n"
            "  %s eval test.csv --weights runs/latest/%s.safetensors\n"
            "see '%s --help' for the data it takes and every option\n",
            dnn_prog_name, p->name, dnn_prog_name, p->name, dnn_prog_name, p->name, dnn_prog_name);
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
            "  calibrate DATA...  the inputs as the model gets them (--scale, or --weights' preprocessing),\n"
            "                     to -o CAL.safetensors: dnnc --quantize=int8's --calibrate set\n"
            "\n"
            "DATA: files that fill the model's inputs, then its targets, in declaration order:\n",
            dnn_prog_name, p->name, p->source, p->epochs, p->epochs == 1 ? "" : "s", p->batch, p->optimizer,
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
            dnn_prog_name, p->name, dnn_prog_name, dnn_prog_name, p->name, dnn_prog_name);
    fprintf(out, "\nhyper-parameters of this model (%s%s%s%s):", p->optimizer, p->schedule ? ", schedule " : "",
            p->schedule ? p->schedule : "", p->per_step ? " per step" : "");
    void *m = calloc(1, p->model_size);
    if (m)
        p->init(m, p->seed);
    for (int i = 0; i < p->nhparams; i++)
        fprintf(out, "%s %s %.9g", i ? "," : "", p->hparam_names[i], m ? *p->hparam(m, i) : NAN);
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
    fprintf(stderr, "see '%s --help'\n", dnn_prog_name);
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
int dnn_parse_options(const dnn_program *p, int argc, char **argv, Options *o) {
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
    static const char *const commands[] = {"train", "eval", "predict", "gradcheck", "check", "augment", "calibrate"};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i]))
            o->command = commands[i];
    if (!o->command) {
        const char *s = closest(argv[1], strlen(argv[1]), commands, (int)(sizeof commands / sizeof *commands));
        fail("unknown command '%s' (use train, eval, predict, gradcheck, check, augment or calibrate; see --help)", argv[1]);
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
