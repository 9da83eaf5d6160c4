/* main.c — the dnnc driver: command line, then the pipeline of
 * pipeline.c
 *
 *     parse → lower → check shapes → differentiate → plan memory → emit
 *
 * stopping between passes when one reported an error. Every output is made
 * in memory first and written only when all of them are complete, by the
 * runtime's dnn_output (a temporary name renamed into place for a regular
 * file, a device or FIFO written in place, symbolic links followed), so an
 * error never leaves a partial file; SIGINT, SIGTERM, SIGHUP and SIGPIPE
 * remove the temporary files before dnnc dies of the signal, and a file size limit
 * (SIGXFSZ) is an ordinary write error. Exit codes: 0 success, 1 errors in
 * the input, 2 bad usage, 3 an output could not be written.
 */
#include "dnnc.h"
#include "dnn_host.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SOURCE (16L << 20) /* bytes; larger inputs are refused, not slowly parsed */

static const char usage[] =
    "usage: dnnc [options] FILE.dnn     (FILE '-' reads standard input; then -o is needed for C)\n"
    "\n"
    "Compiles a .dnn model into C: FILE.c (forward, backward, optimizer) and FILE.h.\n"
    "\n"
    "options:\n"
    "  -o FILE            write the C to FILE (default: FILE.dnn's name with .c); to '-' (stdout),\n"
    "                     a device or a FIFO with the header's text first unless --header is given.\n"
    "                     Without c in --emit, and with -M, the text or rule goes to FILE instead\n"
    "  --header FILE      write the header to FILE (default: beside the .c, with .h)\n"
    "  --emit=KIND[,KIND] c (default), summary (a per-layer table), ir (the IR, forward and backward),\n"
    "                     report / report-json (parameters, weight and RAM bytes, MACs per layer;\n"
    "                     sizeof(NAME_model) part by part: weights, gradients, optimizer state, ...),\n"
    "                     dot (the graph for Graphviz; with --backward the backward graph too),\n"
    "                     deps (the Make rule of -M)\n"
    "                     selftest (c plus NAME_selftest(): needs --golden, and --weights to bake them in)\n"
    "  --golden FILE      selftest: safetensors with inputs and expected outputs, [N, ...] each\n"
    "  --weights FILE     selftest: the weights the golden outputs were computed with\n"
    "  --inference        forward only: no gradients or optimizer state, activations reused,\n"
    "                     conv2d -> activation -> pool fused; batch 1 unless --batch\n"
    "  --batch N          the compiled batch size, instead of the train block's (or 1)\n"
    "  --embed-weights FILE  the weights of FILE (safetensors) as exact const arrays: no loading;\n"
    "                     without --inference, training code for firmware: frozen parameters stay\n"
    "                     in flash, trainable ones start from FILE's values (NAME_init copies them)\n"
    "  --quantize=int8    with --inference, --embed-weights and --calibrate, or --from-qat: int8\n"
    "                     weights, uint8 activations as PyTorch's static quantization (qnnpack);\n"
    "                     float in and out, softmax and what follows it in float (docs/firmware.md)\n"
    "  --calibrate FILE   --quantize: safetensors with an F32 tensor [N, shape...] per input, named\n"
    "                     after it; the ranges the model sees on them set the scales\n"
    "";
static const char usage_rest[] = /* (C99 compilers need take only 4095 characters in one string) */
    "  --from-qat FILE    --quantize: the scales a 'quantize int8;' model learnt in training, from its\n"
    "                     weights FILE (observers' min and max; FILE is the weights too), as PyTorch's\n"
    "                     convert of a QAT model; instead of --embed-weights and --calibrate\n"
    "  --ram-limit BYTES  fail when sizeof(NAME_model) exceeds BYTES (K = 1024, M = 1024 K suffixes)\n"
    "  --optimize=GOAL    size (layers that differ only in sizes share one function, and with\n"
    "                     --inference a conv2d whose output has its input's shape writes over it;\n"
    "                     the default with --embed-weights) or speed (constant loop bounds everywhere)\n"
    "  --check-finite     the generated code checks every layer's result, forward and backward, and\n"
    "                     the parameters after each step: NAME_model's nonfinite names the first that\n"
    "                     held a NaN or infinity (the training program of --main stops there)\n"
    "  --main             also write a main(): a program that trains, evaluates and predicts\n"
    "                     (build it with -ldnnrt -lz -lm; see docs/training.md)\n"
    "  --prefix NAME      name the model NAME in the C (NAME_forward, NAME_model, ...)\n"
    "  -M                 print a Make rule of the files the output depends on, and stop\n"
    "  -MD                write that rule to the output's name with .d while compiling\n"
    "  -MF FILE           write the rule to FILE (with -M or -MD)\n"
    "  -MT TARGET         the rule's target (repeatable; default: the .c and .h written)\n"
    "  -MP                add a phony target for each prerequisite, so deleted files do not break make\n"
    "  -q                 quiet: print errors only (no warnings or notes)\n"
    "  -W                 show warnings (default)\n"
    "  -w                 hide warnings\n"
    "  -Werror            treat warnings as errors\n"
    "  --color=WHEN       auto (default; honours NO_COLOR), always or never\n"

    "  -h, --help         this text\n"
    "  --version          dnnc's version\n"
    "\n"
    "examples:\n"
    "  dnnc models/xor.dnn -o xor.c           # writes xor.c and xor.h\n"
    "  dnnc --emit=summary models/lenet5.dnn  # layer table with shapes and parameter counts\n"
    "  cc -std=c99 -O2 -I runtime xor.c app.c -L build -ldnnrt -lm\n"
    "  dnnc --main models/mlp.dnn -o mlp.c     # a training program: cc ... mlp.c -ldnnrt -lz -lm -o mlp\n";

/* Reads a whole file (or stdin for "-"), NUL-terminated. */
static bool read_source(const char *path, Source *src) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "dnnc: error: cannot open '%s': %s\n", path, strerror(errno));
        return false;
    }
    size_t cap = 1 << 16, len = 0;
    errno = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "dnnc: error: out of memory reading '%s'\n", path);
            return false;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > (size_t)MAX_SOURCE) {
            fprintf(stderr, "%s:1:1: error: file is larger than %ld MiB; dnnc reads models up to that size\n",
                    path, MAX_SOURCE >> 20);
            free(buf);
            if (f != stdin)
                fclose(f);
            return false;
        }
        if (got == 0)
            break;
        if (len == cap) {
            cap *= 2;
            char *bigger = realloc(buf, cap + 1);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    bool failed = ferror(f);
    int why = errno; /* e.g. EISDIR for a directory */
    if (f != stdin)
        fclose(f);
    if (failed) {
        fprintf(stderr, "dnnc: error: cannot read '%s': %s\n", path, why ? strerror(why) : "read error");
        free(buf);
        return false;
    }
    buf[len] = 0;
    src->path = strcmp(path, "-") ? path : "<stdin>";
    src->text = buf;
    src->len = len;
    return true;
}

/* Text held in memory until it is poured out (or dropped, on an error). */
typedef struct Memo {
    char *text;   /* open_memstream's buffer */
    size_t len;
    FILE *f;
} Memo;

static FILE *memo_open(Memo *m) { return m->f = open_memstream(&m->text, &m->len); }

static void memo_pour(Memo *m, FILE *to, bool keep) {
    fclose(m->f);
    m->f = NULL;
    if (keep)
        fwrite(m->text, 1, m->len, to);
    free(m->text);
}

/* An output of this run (the C, the header, the Make rule, the --emit
 * text): made whole in memory, then written only when every output is
 * complete, so an error writes nothing anywhere. Files are written by the
 * runtime's dnn_output (runtime/host/dnn_host.c), as the training program
 * writes its own: a regular file is replaced by a rename, a device or
 * FIFO written in place, a symbolic link followed. */
typedef struct Output {
    const char *path;   /* the name given, or "-" for standard output */
    Memo memo;
    dnn_output file;
    volatile sig_atomic_t open; /* file.tmp exists: the signal handler removes it */
} Output;

enum { OUT_TEXT, OUT_C, OUT_H, OUT_DEPS, NOUT }; /* standard output gets them in this order */
static Output outs[NOUT];

static void on_signal(int sig) {
    for (int i = 0; i < NOUT; i++)
        if (outs[i].open && outs[i].file.tmp[0])
            unlink(outs[i].file.tmp); /* async-signal-safe, unlike remove() */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The memory stream output i is made in, named path ("-": stdout). */
static FILE *out_start(int i, const char *path) {
    outs[i].path = path;
    if (!memo_open(&outs[i].memo)) {
        fprintf(stderr, "dnnc: error: out of memory for the output\n");
        exit(3);
    }
    return outs[i].memo.f;
}

/* Writes every output begun: standard output's in order, files all opened
 * first (a temporary file beside each regular one), then filled, then put
 * in place; when one cannot be opened or written, none is changed. */
static bool out_finish(void) {
    bool ok = true;
    for (int i = 0; ok && i < NOUT; i++)
        if (outs[i].memo.f && fflush(outs[i].memo.f) != 0) {
            fprintf(stderr, "dnnc: error: out of memory for the output\n");
            ok = false;
        }
    for (int i = 0; ok && i < NOUT; i++)
        if (outs[i].memo.f && strcmp(outs[i].path, "-")) {
            if (dnn_output_open(&outs[i].file, outs[i].path) != DNN_OK) {
                fprintf(stderr, "dnnc: error: cannot write '%s': %s\n", outs[i].path, strerror(errno));
                ok = false;
            } else
                outs[i].open = 1; /* (a signal just before this line would leave the temporary file) */
        }
    for (int i = 0; ok && i < NOUT; i++) {
        Output *o = &outs[i];
        if (!o->memo.f)
            continue;
        if (strcmp(o->path, "-") ? dnn_output_write(&o->file, o->memo.text, o->memo.len) != DNN_OK
                                 : fwrite(o->memo.text, 1, o->memo.len, stdout) != o->memo.len || fflush(stdout) != 0) {
            fprintf(stderr, "dnnc: error: cannot write %s: %s\n",
                    strcmp(o->path, "-") ? arena_printf("'%s'", o->path) : "to standard output", strerror(errno));
            ok = false;
        }
    }
    for (int i = 0; i < NOUT; i++) {
        Output *o = &outs[i];
        if (o->open && dnn_output_close(&o->file, ok ? DNN_OUTPUT_KEEP_NOSYNC : DNN_OUTPUT_DISCARD) != DNN_OK && ok) {
            fprintf(stderr, "dnnc: error: cannot write '%s': %s\n", o->path, strerror(errno));
            ok = false;
        }
        o->open = 0;
        if (o->memo.f)
            memo_pour(&o->memo, stdout, false);
    }
    return ok;
}

/* Whether output a and file b are one file: two new files of one name, or
 * one existing regular file (b "-": standard input's, as in dnnc - <m.dnn). */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (!strcmp(a, "-"))
        return false; /* standard output */
    if (stat(a, &sa) != 0)
        return !strcmp(a, b);
    if (!S_ISREG(sa.st_mode))
        return false; /* /dev/null twice is fine */
    if (strcmp(b, "-") ? stat(b, &sb) : fstat(STDIN_FILENO, &sb))
        return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Refuses outputs that would destroy the input or each other (-o m.dnn,
 * --header naming the C), as cc refuses -o x.c for x.c; false after a message. */
static bool outputs_apart(const char *input) {
    static const char *const what[NOUT] = {"output", "C file", "header", "dependency file"};
    for (int i = 0; i < NOUT; i++) {
        if (!outs[i].memo.f)
            continue;
        if (same_file(outs[i].path, input)) {
            fprintf(stderr, "dnnc: error: the %s '%s' is the input file; writing it would destroy the model\n", what[i],
                    outs[i].path);
            return false;
        }
        for (int k = 0; k < i; k++)
            if (outs[k].memo.f && strcmp(outs[k].path, "-") && same_file(outs[i].path, outs[k].path)) {
                fprintf(stderr, "dnnc: error: the %s and the %s are both '%s'; name them apart\n", what[k], what[i],
                        outs[i].path);
                return false;
            }
    }
    return true;
}

/* The exit status: 0 when every output is written, 2 when they would
 * overwrite the input or each other, 3 when one cannot be written. */
static int write_outputs(const char *input) {
    if (!outputs_apart(input))
        return 2;
    return out_finish() ? 0 : 3;
}

/* Whether path is written as a stream: standard output, an existing
 * device, FIFO or socket (/dev/null, a pipe), or anything in /dev or /proc
 * (/dev/stdout redirected to a file), which gets no header file or .d
 * beside it. */
static bool is_stream(const char *path) {
    struct stat st;
    return !strcmp(path, "-") || !strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6) ||
           (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "dir/model.c" → "dir/model" + ext */
static const char *with_ext(const char *path, const char *ext) {
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return arena_printf("%s%s", path, ext);
    return arena_printf("%.*s%s", (int)(dot - path), path, ext);
}

/* A header guard from the header's file name: "xor.h" → "XOR_H". */
static const char *guard_of(const char *header) {
    char *g = arena_strdup(base_name(header));
    for (char *p = g; *p; p++)
        *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p : '_');
    return g[0] >= '0' && g[0] <= '9' ? arena_printf("DNN_%s", g) : g;
}

/* A file name in a Make rule: spaces and '#' escaped with '\\', '$' doubled. */
static void put_make_name(FILE *f, const char *name) {
    for (const char *p = name; *p; p++) {
        if (*p == ' ' || *p == '#')
            fputc('\\', f);
        if (*p == '$')
            fputc('$', f);
        fputc(*p, f);
    }
}

/* -M/-MD: "TARGETS: PREREQS" (and with -MP "PREREQ:" for each but the
 * first). */
static void put_deps(FILE *f, const char *targets, const char **prereqs, int n, bool phony) {
    fprintf(f, "%s:", targets);
    for (int i = 0; i < n; i++)
        if (prereqs[i] && strcmp(prereqs[i], "-")) {
            fputs(" \\\n  ", f);
            put_make_name(f, prereqs[i]);
        }
    fputc('\n', f);
    for (int i = 1; phony && i < n; i++)
        if (prereqs[i]) {
            fputc('\n', f);
            put_make_name(f, prereqs[i]);
            fputs(":\n", f);
        }
}

/* --prefix NAME: the C names of the (one) model. */
static bool rename_model(Graph **graphs, int n, const char *prefix) {
    bool ok = n == 1 && (isalpha((unsigned char)prefix[0]) || prefix[0] == '_');
    for (const char *p = prefix; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        fprintf(stderr, "dnnc: error: %s\n", n != 1 ? "--prefix needs a file with one model"
                                                   : arena_printf("--prefix '%s' is not a C identifier", prefix));
        return false;
    }
    graphs[0]->name = prefix;
    return true;
}

/* gcc's one-dash options that main() rewrites to two dashes for getopt_long */
static const char *const gcc_style[] = {"-M", "-MD", "-MF", "-MT", "-MP"};
static char *gcc_style_rewritten[sizeof gcc_style / sizeof *gcc_style]; /* the two-dash strings made */

/* An option as the user typed it: "-MF", not the "--MF" getopt saw. */
static const char *as_typed(const char *arg) {
    for (size_t i = 0; i < sizeof gcc_style / sizeof *gcc_style; i++)
        if (arg == gcc_style_rewritten[i])
            return gcc_style[i];
    return arg;
}

/* The command-line word getopt_long has just refused: for an unknown short
 * option inside a word (-O2, -Wall) getopt stays on that word, else it has
 * moved past it. */
static const char *offending(int argc, char **argv) {
    if (optopt && optind < argc && argv[optind][0] == '-' && argv[optind][1] != '-') {
        const char *at = strchr(argv[optind] + 1, optopt);
        if (at && at[1])
            return argv[optind];
    }
    return argv[optind - 1];
}

static Source src;

static void release_all(void) {
    for (int i = 0; i < NOUT; i++) /* an output not finished: dropped */
        if (outs[i].memo.f)
            memo_pour(&outs[i].memo, stdout, false);
    free((char *)src.text);
    src.text = NULL;
    diag_free();
    arena_free_all();
}

/* --ram-limit: a model whose sizeof(NAME_model) exceeds it is an error
 * at its name, with the parts and what would make it fit. */
static void check_ram_limit(const Graph *g, const Plan *p, bool embedded, long limit) {
    long part[PART_COUNT];
    long total = g->int8 ? q8_model_bytes(g) : model_bytes(g, p, embedded, part);
    if (total <= limit)
        return;
    if (g->int8) {
        error_at(g->loc, "model '%s' needs %ld bytes of RAM (sizeof(%s_model)), more than --ram-limit %ld", g->name,
                 total, g->name, limit);
        note("uint8 activations %ld, float values %ld bytes; smaller layers", g->q8_act, g->q8_float * 4);
        return;
    }
    error_at(g->loc, "model '%s' needs %ld bytes of RAM (sizeof(%s_model)), more than --ram-limit %ld", g->name, total,
             g->name, limit);
    long weights = part[PART_PARAMS] ? p->params * 4 : 0; /* the array's rounding up counts as other, as in --emit=report */
    note("weights %ld, gradients %ld, optimizer state %ld, activations %ld (batch %d), other %ld bytes", weights,
         part[PART_GRADS], part[PART_STATE], part[PART_ACT], g->train.batch, part[PART_OTHER] + part[PART_PARAMS] - weights);
    if (g->inference)
        note("a smaller batch (--batch), smaller layers%s", embedded ? "" : ", or --embed-weights (weights in flash)");
    else
        note("freeze more parameters%s, a smaller batch (--batch or 'batch N;'), or an optimizer with less state "
             "(sgd without momentum keeps none)", embedded ? "" : " and --embed-weights (frozen ones stay in flash)");
}

int main(int argc, char **argv) {
    const char *output = NULL, *header = NULL, *emit_kind = "c", *color = "auto", *weights = NULL, *golden = NULL;
    bool werror = false, no_warnings = false, with_main = false, inference = false, backward = false;
    bool check_finite = false;
    const char *embed = NULL, *optimize = NULL, *prefix = NULL, *dep_file = NULL, *dep_targets = NULL;
    const char *quantize = NULL, *calibrate = NULL, *from_qat = NULL;
    bool deps_only = false, deps_md = false, deps_phony = false;
    long batch = 0, ram_limit = 0;
    enum { OPT_HEADER = 256, OPT_EMIT, OPT_COLOR, OPT_VERSION, OPT_MAIN, OPT_WEIGHTS, OPT_GOLDEN, OPT_INFERENCE,
           OPT_BATCH, OPT_EMBED, OPT_OPTIMIZE, OPT_BACKWARD, OPT_PREFIX, OPT_M, OPT_MD, OPT_MF, OPT_MT, OPT_MP,
           OPT_CHECK_FINITE, OPT_RAM_LIMIT, OPT_QUANTIZE, OPT_CALIBRATE, OPT_FROM_QAT };
    static const struct option longopts[] = {
        {"header", required_argument, NULL, OPT_HEADER}, {"emit", required_argument, NULL, OPT_EMIT},
        {"color", required_argument, NULL, OPT_COLOR},   {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},     {"main", no_argument, NULL, OPT_MAIN},
        {"weights", required_argument, NULL, OPT_WEIGHTS}, {"golden", required_argument, NULL, OPT_GOLDEN},
        {"inference", no_argument, NULL, OPT_INFERENCE}, {"batch", required_argument, NULL, OPT_BATCH},
        {"embed-weights", required_argument, NULL, OPT_EMBED}, {"optimize", required_argument, NULL, OPT_OPTIMIZE},
        {"backward", no_argument, NULL, OPT_BACKWARD},   {"prefix", required_argument, NULL, OPT_PREFIX},
        {"check-finite", no_argument, NULL, OPT_CHECK_FINITE}, {"ram-limit", required_argument, NULL, OPT_RAM_LIMIT},
        {"quantize", required_argument, NULL, OPT_QUANTIZE}, {"calibrate", required_argument, NULL, OPT_CALIBRATE},
        {"from-qat", required_argument, NULL, OPT_FROM_QAT},
        /* gcc's one-dash -M options, renamed below */
        {"M", no_argument, NULL, OPT_M},   {"MD", no_argument, NULL, OPT_MD}, {"MF", required_argument, NULL, OPT_MF},
        {"MT", required_argument, NULL, OPT_MT}, {"MP", no_argument, NULL, OPT_MP},
        {NULL, 0, NULL, 0},
    };
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, on_signal); /* -o a FIFO whose reader left: the other outputs' temporary files go too */
    signal(SIGXFSZ, SIG_IGN); /* past `ulimit -f` a write fails with EFBIG instead */
    /* the command line as given, for the generated files' header comment */
    const char *cmd = arena_strdup("dnnc");
    for (int i = 1; i < argc; i++)
        cmd = arena_printf("%s %s", cmd, argv[i]);
    /* -Werror and -M... are written with one dash, as in gcc: handle them before getopt */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-Werror")) {
            werror = true;
            argv[i] = "-W";
        } else
            for (size_t k = 0; k < sizeof gcc_style / sizeof *gcc_style; k++)
                if (!strcmp(argv[i], gcc_style[k])) {
                    argv[i] = gcc_style_rewritten[k] = arena_printf("-%s", gcc_style[k]);
                    if ((!strcmp(argv[i], "--MF") || !strcmp(argv[i], "--MT")) && i + 1 < argc)
                        i++; /* their argument is not an option */
                    break;
                }
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:hwWq", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case OPT_HEADER: header = optarg; break;
        case OPT_EMIT: emit_kind = optarg; break;
        case OPT_COLOR: color = optarg; break;
        case OPT_MAIN: with_main = true; break;
        case OPT_WEIGHTS: weights = optarg; break;
        case OPT_GOLDEN: golden = optarg; break;
        case OPT_INFERENCE: inference = true; break;
        case OPT_CHECK_FINITE: check_finite = true; break;
        case OPT_EMBED: embed = optarg; break;
        case OPT_CALIBRATE: calibrate = optarg; break;
        case OPT_FROM_QAT: from_qat = optarg; break;
        case OPT_QUANTIZE:
            if (strcmp(optarg, "int8")) {
                fprintf(stderr, "dnnc: error: --quantize takes int8, not '%s'\n", optarg);
                return 2;
            }
            quantize = optarg;
            break;
        case OPT_BACKWARD: backward = true; break;
        case OPT_PREFIX: prefix = optarg; break;
        case OPT_M: deps_only = true; break;
        case OPT_MD: deps_md = true; break;
        case OPT_MF: dep_file = optarg; break;
        case OPT_MT: dep_targets = dep_targets ? arena_printf("%s %s", dep_targets, optarg) : optarg; break;
        case OPT_MP: deps_phony = true; break;
        case 'q': no_warnings = true; break;
        case OPT_OPTIMIZE:
            if (strcmp(optarg, "size") && strcmp(optarg, "speed")) {
                fprintf(stderr, "dnnc: error: --optimize takes size or speed, not '%s'\n", optarg);
                return 2;
            }
            optimize = optarg;
            break;
        case OPT_BATCH: {
            char *end;
            batch = strtol(optarg, &end, 10);
            if (end == optarg || *end || batch < 1 || batch > 65536) {
                fprintf(stderr, "dnnc: error: --batch takes a whole number from 1 to 65536, not '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case OPT_RAM_LIMIT: {
            char *end;
            ram_limit = strtol(optarg, &end, 10);
            long unit = *end == 'K' ? 1024 : *end == 'M' ? 1024 * 1024 : 1;
            if (unit > 1)
                end++;
            if (end == optarg || *end || ram_limit < 1 || ram_limit > (1L << 40) / unit) {
                fprintf(stderr, "dnnc: error: --ram-limit takes bytes, with K (1024) or M (1024 K) if you like, "
                                "e.g. 100000, 96K or 1M; not '%s'\n", optarg);
                return 2;
            }
            ram_limit *= unit;
            break;
        }
        case 'w': no_warnings = true; break;
        case 'W': no_warnings = false; break;
        case 'h': fputs(usage, stdout); fputs(usage_rest, stdout); return 0;
        case OPT_VERSION: printf("dnnc %s\n", DNNC_VERSION); return 0;
        case ':':
            fprintf(stderr, "dnnc: error: option '%s' needs an argument\n", as_typed(argv[optind - 1]));
            fputs("try 'dnnc --help'\n", stderr);
            return 2;
        default:
            fprintf(stderr, "dnnc: error: unknown option '%s'\n", as_typed(offending(argc, argv)));
            fputs("try 'dnnc --help'\n", stderr);
            return 2;
        }
    }
    bool want_c = false, want_summary = false, want_ir = false, want_selftest = false, want_report = false,
         want_json = false, want_dot = false;
    for (const char *k = emit_kind; *k;) {
        size_t len = strcspn(k, ",");
        if (len == 1 && !strncmp(k, "c", 1))
            want_c = true;
        else if (len == 7 && !strncmp(k, "summary", 7))
            want_summary = true;
        else if (len == 2 && !strncmp(k, "ir", 2))
            want_ir = true;
        else if (len == 8 && !strncmp(k, "selftest", 8))
            want_selftest = want_c = true;
        else if (len == 6 && !strncmp(k, "report", 6))
            want_report = true;
        else if (len == 11 && !strncmp(k, "report-json", 11))
            want_json = true;
        else if (len == 3 && !strncmp(k, "dot", 3))
            want_dot = true;
        else if (len == 4 && !strncmp(k, "deps", 4))
            deps_only = true;
        else {
            fprintf(stderr, "dnnc: error: unknown --emit kind '%.*s' (use c, summary, ir, dot, deps, report, report-json or selftest)\n", (int)len, k);
            return 2;
        }
        k += len + (k[len] == ',');
    }
    if (want_selftest != (golden != NULL) || (weights && !want_selftest)) {
        fprintf(stderr, "dnnc: error: %s\n", want_selftest ? "--emit=selftest needs --golden FILE"
                                                          : "--golden and --weights go with --emit=selftest");
        return 2;
    }
    if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) {
        fprintf(stderr, "dnnc: error: --color takes auto, always or never, not '%s'\n", color);
        return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, optind == argc ? "dnnc: error: no input file\n" : "dnnc: error: one input file at a time\n");
        fputs("usage: dnnc [options] FILE.dnn   (try 'dnnc --help')\n", stderr);
        return 2;
    }
    if (from_qat && (!quantize || embed || calibrate)) {
        fprintf(stderr, "dnnc: error: %s\n",
                !quantize ? "--from-qat goes with --inference --quantize=int8"
                : embed   ? "--from-qat FILE is the weights too: leave out --embed-weights"
                          : "--from-qat and --calibrate both set the scales: give one of them");
        return 2;
    }
    if (from_qat)
        embed = from_qat;
    if (quantize && (!inference || !embed || (!calibrate && !from_qat))) {
        fprintf(stderr, "dnnc: error: --quantize=int8 needs %s\n",
                !inference ? "--inference (int8 models only run forward)"
                : !embed   ? "--embed-weights FILE (the float weights it quantizes) or --from-qat FILE"
                           : "--calibrate FILE (samples of each input, whose ranges set the scales), or --from-qat "
                             "FILE (a model trained with 'quantize int8;')");
        return 2;
    }
    if (quantize && check_finite) {
        fprintf(stderr, "dnnc: error: --check-finite does not go with --quantize=int8 (an int8 model's values are integers)\n");
        return 2;
    }
    if (quantize && weights) { /* --emit=selftest of an int8 build: its golden outputs are the int8 model's */
        fprintf(stderr, "dnnc: error: --weights does not go with --quantize=int8: the self-test runs the embedded int8 weights\n");
        return 2;
    }
    if (calibrate && !quantize) {
        fprintf(stderr, "dnnc: error: --calibrate goes with --quantize=int8\n");
        return 2;
    }
    const char *input = argv[optind];
    bool use_color = !strcmp(color, "always") ||
                     (!strcmp(color, "auto") && isatty(2) && !getenv("NO_COLOR"));

    if (!read_source(input, &src))
        return 1;
    atexit(release_all);
    diag_init(&src, NULL, use_color, werror, no_warnings);

    /* firmware (weights in flash) favours small code and RAM, the host speed */
    bool small = optimize ? !strcmp(optimize, "size") : embed != NULL;
    Compiled m;
    if (!compile_source(&src, batch, inference, embed != NULL, small, &m))
        return 1;
    Graph **graphs = m.graphs;
    Plan *plans = m.plans;
    int nmodels = m.count;
    for (int i = 0; i < nmodels; i++)
        graphs[i]->check_finite = check_finite;
    float *embedded = NULL;
    if (quantize) { /* before any --emit text: the report lists the scales */
        if (nmodels != 1) {
            fprintf(stderr, "dnnc: error: --quantize=int8 needs a file with one model; '%s' has %d\n", input, nmodels);
            return 2;
        }
        Cal *cal = NULL;
        if (from_qat && !graphs[0]->train.qat) {
            fprintf(stderr, "dnnc: error: --from-qat: model '%s' does not train with 'quantize int8;', so its weights "
                            "hold no observers; add it to the train block and train again, or quantize the float "
                            "weights with --embed-weights FILE --calibrate SAMPLES\n", graphs[0]->name);
            return 1;
        }
        if (from_qat && !qat_weights_ok(graphs[0], from_qat))
            return 1;
        if (!(embedded = read_weights(graphs[0], embed)) ||
            (calibrate && !(cal = read_calibration(graphs[0], calibrate))) || !quantize_graph(graphs[0], embedded, cal))
            return 1;
    }
    for (int i = 0; i < nmodels && ram_limit; i++)
        check_ram_limit(graphs[i], &plans[i], embed != NULL, ram_limit);
    if (error_count())
        return 1;

    /* the --emit text: to -o when no C is written (as gcc -E -o), else to standard output */
    bool c_wanted = want_c && !deps_only, rule_to_o = deps_only && !dep_file && output && !c_wanted;
    bool any_text = want_summary || want_ir || want_report || want_json || want_dot;
    FILE *text = any_text || rule_to_o ? out_start(OUT_TEXT, c_wanted || !output ? "-" : output) : NULL;
    for (int i = 0; i < nmodels && any_text; i++) {
        if (i)
            fputc('\n', text);
        if (want_summary)
            print_summary(graphs[i], text);
        if (want_ir)
            print_ir(graphs[i], text);
        if (want_report || want_json)
            print_report(graphs[i], &plans[i], embed != NULL, want_json, text);
        if (want_dot)
            print_dot(graphs[i], backward, text);
    }
    if (!want_c && !deps_only)
        return write_outputs(input);

    if (with_main && inference) {
        fprintf(stderr, "dnnc: error: --main trains, and --inference leaves training out; use one of them\n");
        return 2;
    }
    if (embed && with_main) {
        fprintf(stderr, "dnnc: error: --embed-weights does not go with --main (the training program loads weights files)\n");
        return 2;
    }
    if ((with_main || want_selftest || embed) && nmodels != 1) {
        fprintf(stderr, "dnnc: error: %s needs a file with one model; '%s' has %d\n",
                with_main ? "--main" : want_selftest ? "--emit=selftest" : "--embed-weights", input, nmodels);
        return 2;
    }
    if (prefix && !rename_model(graphs, nmodels, prefix))
        return 2;
    if (!output && !strcmp(input, "-")) {
        fprintf(stderr, "dnnc: error: reading the model from standard input, give the C file's name with -o\n");
        return 2;
    }
    /* the C's name; -o - (or a device, a FIFO) is one stream, the header's text first */
    const char *c_path = output && !rule_to_o ? output : with_ext(base_name(input), ".c");
    bool stream = is_stream(c_path);
    if (!header)
        header = stream ? NULL : with_ext(c_path, ".h");
    /* -M, -MD: the files the output depends on */
    const char *prereqs[5] = {input, embed, want_selftest ? golden : NULL, want_selftest ? weights : NULL, calibrate};
    if (deps_only || deps_md) {
        const char *targets = dep_targets ? dep_targets : header ? arena_printf("%s %s", c_path, header) : c_path;
        const char *path = dep_file ? dep_file : deps_only ? NULL : with_ext(stream ? base_name(input) : c_path, ".d");
        put_deps(path ? out_start(OUT_DEPS, path) : text ? text : out_start(OUT_TEXT, "-"), targets, prereqs, 5,
                 deps_phony);
        if (deps_only)
            return write_outputs(input);
    }
    if (embed && !quantize) {
        if (!(embedded = read_weights(graphs[0], embed)))
            return 1;
        fold_batchnorm_weights(graphs[0], embedded);
    }
    /* without a header file, the header's text leads the C's stream and the C compiles on its own */
    Memo hmem = {0};
    FILE *cf = out_start(OUT_C, c_path), *h = header ? out_start(OUT_H, header) : memo_open(&hmem);
    if (!h) {
        fprintf(stderr, "dnnc: error: out of memory for the output\n");
        return 3;
    }
    const char *stamp = arena_printf("/* Generated by dnnc %s from %s -- do not edit.\n * %s\n */\n", DNNC_VERSION,
                                     strcmp(input, "-") ? base_name(input) : "<stdin>", cmd);
    CFiles files = {stamp, header ? guard_of(header) : "DNN_MODEL_H", header ? base_name(header) : NULL,
                    {base_name(input), embedded, small, with_main}, with_main, want_selftest ? golden : NULL, weights};
    bool ok;
    if (header)
        ok = emit_c_files(&m, &files, cf, h);
    else {
        Memo cmem = {0};
        if (!memo_open(&cmem)) {
            fprintf(stderr, "dnnc: error: out of memory for the output\n");
            return 3;
        }
        ok = emit_c_files(&m, &files, cmem.f, h);
        memo_pour(&hmem, cf, ok);
        memo_pour(&cmem, cf, ok);
    }
    if (!ok)
        return 1; /* nothing written */
    return write_outputs(input);
}
