/* cprint.c — printing C: what every emitter (the ops', the optimizer's,
 * emit*.c) writes its code with.
 *
 * emit() prints one indented line of a step function's body; flit() a
 * float literal; dim() a size, or with --optimize=size a size parameter;
 * count_of() and samples_of() a value's buffer length and sample count.
 * With Emitter.f64 (--main's double-precision twin) every line goes
 * through f64_text(), which turns float C into double C token by token.
 * upper(), c_ident() and arg_name() make .dnn names into C names.
 */
#include "dnnc.h"

#include "dnn_kernels.h" /* DNN_PARALLEL_WORK */

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void emit(Emitter *e, const char *fmt, ...) {
    for (int i = 0; i < e->indent; i++)
        fputs("    ", e->out);
    va_list ap;
    va_start(ap, fmt);
    if (e->f64) {
        char line[4096];
        if (vsnprintf(line, sizeof line, fmt, ap) >= (int)sizeof line)
            ICE("emitted line too long");
        fputs(f64_text(line), e->out);
    } else
        vfprintf(e->out, fmt, ap);
    va_end(ap);
    fputc('\n', e->out);
}

/* The double-precision twin (--main, for gradcheck) is the float model's
 * text with its scalar type changed token by token, so that every emitter
 * gives it for free. Literals keep the float's value exactly (0.1f becomes
 * 0.10000000149011612), so the twin computes the float model's function
 * with the same constants, rounded as doubles. Vector code has no double
 * form: the twin is emitted with the portable paths only (generic), whose
 * kernels, dnn_NAME_plain, become dnn_NAME_plain_f64 (dnn_kernels_plain.h). */
const char *f64_text(const char *line) {
    static const char *const float_fns[] = {
        "expf", "exp2f", "expm1f", "logf", "log2f", "log10f", "log1pf", "sqrtf", "cbrtf", "powf", "hypotf",
        "fabsf", "fmaxf", "fminf", "fmodf", "copysignf", "floorf", "ceilf", "roundf", "truncf", "rintf",
        "sinf", "cosf", "tanf", "asinf", "acosf", "atanf", "atan2f", "sinhf", "coshf", "tanhf", "erff", "erfcf"};
    size_t cap = 6 * strlen(line) + 64, len = 0; /* "1e-5f" becomes 22 characters */
    char *out = arena_alloc(cap);
    for (const char *p = line; *p;) {
        const char *start = p;
        if (isalpha((unsigned char)*p) || *p == '_') {
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            int n = (int)(p - start);
            const char *word = arena_printf("%.*s", n, start);
            if (!strcmp(word, "float"))
                word = "double";
            else if (!strncmp(word, "dnn_v8", 6) || !strncmp(word, "DNN_V8", 6))
                ICE("vector code in the double-precision model: %s", line);
            else if (!strcmp(word, "dnn_relu"))
                word = "dnn_relu_f64"; /* a fused step's activation */
            else if (!strncmp(word, "dnn_", 4) && n > 10 && !strcmp(word + n - 6, "_plain"))
                word = arena_printf("%s_f64", word); /* a kernel's plain loops in double (dnn_kernels_plain.h) */
            for (size_t k = 0; k < sizeof float_fns / sizeof *float_fns; k++)
                if (!strcmp(word, float_fns[k]))
                    word = arena_printf("%.*s", n - 1, start);
            len += (size_t)snprintf(out + len, cap - len, "%s", word);
        } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
            bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
            while (isalnum((unsigned char)*p) || *p == '.' || ((*p == '+' || *p == '-') && strchr(hex ? "pP" : "eE", p[-1])))
                p++;
            bool suffix = p[-1] == 'f' || p[-1] == 'F'; /* in hex only after an exponent: 0x1p-3f, not 0xff */
            if (suffix && (!hex || memchr(start, 'p', (size_t)(p - start)) || memchr(start, 'P', (size_t)(p - start)))) {
                char buf[48];
                snprintf(buf, sizeof buf, "%.17g", (double)strtof(start, NULL));
                if (!strpbrk(buf, ".e"))
                    strcat(buf, ".0");
                len += (size_t)snprintf(out + len, cap - len, "%s", buf);
            } else
                len += (size_t)snprintf(out + len, cap - len, "%.*s", (int)(p - start), start);
        } else
            out[len++] = *p++;
        if (len + 48 >= cap)
            ICE("f64_text: line grew too long");
    }
    out[len] = 0;
    return out;
}

const char *flit(double x) {
    char buf[48];
    if (isnan(x))
        return "NAN";
    if (isinf(x))
        return x > 0 ? "INFINITY" : "-INFINITY";
    snprintf(buf, sizeof buf, "%.9g", (double)(float)x);
    if (!strpbrk(buf, ".e"))
        strcat(buf, ".0");
    strcat(buf, "f");
    return arena_strdup(buf);
}

const char *count_of(const Value *v) {
    long size = shape_size(&v->shape);
    return v->batched ? (size == 1 ? "n" : arena_printf("n * %ld", size)) : arena_printf("%ld", size);
}

const char *samples_of(const Value *v) { return v->batched ? "n" : "1"; }

bool split_worth(const Emitter *e, long work) {
    return !e->g->inference && !e->small && !e->generic && !e->f64 && (long)e->g->train.batch * work >= DNN_PARALLEL_WORK;
}

void emit_hand_over(Emitter *e, const Value *v, const char *what, const char *unit, const char *ctx, const char *items,
                    const char *work, const char *body) {
    const Value *f = v->fwd ? v->fwd : v;
    const char *label = f->label ? f->label : arena_printf("t%d", v->id);
    const char *name = arena_printf("%s_%s_%s_part", e->g->name, c_ident(label), what);
    fprintf(e->defs, "/* %s (line %d), %s lo .. hi: a range the step hands one of the program's threads */\n"
                     "static void %s(void *ctx, int lo, int hi) {\n    %s\n}\n\n",
            label, f->loc.first_line, unit, name, body);
    emit(e, "dnn_parallel_run_work(%s, %s, %s, %s);", name, ctx, items, work);
}

void emit_split(Emitter *e, const Value *v, const char *what, const char *out, const char *const in[3],
                const char *items, const char *work, const char *call) {
    emit_hand_over(e, v, what, !strcmp(items, "n") ? "samples" : !strcmp(items, "DNN_ROW_PARTS") ? "row parts" : "rows",
                   arena_printf("&(dnn_split){%s, {%s, %s, %s}, n}", out, in[0], in[1] ? in[1] : "NULL",
                                in[2] ? in[2] : "NULL"),
                   items, work, arena_printf("const dnn_split *a = ctx;\n    %s", call));
}

void emit_by_sample(Emitter *e, const Value *v, const char *what, const char *kernel, const char *const *args,
                    const long *stride, int nargs, const char *sizes, long work) {
    if (!v->batched || !split_worth(e, work)) {
        const char *call = arena_printf("%s(", kernel);
        for (int i = 0; i < nargs; i++)
            call = arena_printf("%s%s, ", call, args[i]);
        emit(e, "%sn, %s);", call, sizes);
        return;
    }
    const char *call = arena_printf("%s(", kernel), *in[3] = {NULL, NULL, NULL};
    for (int i = 0; i < nargs; i++) {
        const char *p = i ? arena_printf("a->in[%d]", i - 1) : "a->out";
        if (i)
            in[i - 1] = args[i];
        call = arena_printf("%s%s, ", call, stride[i] ? arena_printf("%s + lo * %ld", p, stride[i]) : p);
    }
    emit_split(e, v, what, args[0], in, "n", arena_printf("%ld", work), arena_printf("%shi - lo, %s);", call, sizes));
}

const char *dim(Emitter *e, const char *name, long value) {
    if (!e->generic)
        return arena_printf("%ld", value);
    for (int i = 0; i < e->ndims; i++)
        if (!strcmp(e->dim_names[i], name)) {
            if (e->dim_values[i] != value)
                ICE("size parameter '%s' given two values", name);
            return name;
        }
    if (e->ndims == (int)(sizeof e->dim_names / sizeof *e->dim_names))
        ICE("too many size parameters");
    e->dim_names[e->ndims] = name;
    e->dim_values[e->ndims++] = value;
    return name;
}

/* ---- names ------------------------------------------------------------------------------------ */

/* "name" → "NAME", for macros */
const char *upper(const char *s) {
    char *u = arena_strdup(s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

/* "features.3" → "features_3" */
const char *c_ident(const char *s) {
    char *u = arena_strdup(s);
    for (char *p = u; *p; p++)
        if (!isalnum((unsigned char)*p))
            *p = '_';
    return u;
}

/* A .dnn name used as a C parameter: kept unless it collides with a C
 * keyword or a name the generated function uses itself. */
const char *arg_name(const char *s) {
    static const char *const taken[] = {"m", "n", "i", "s", "loss", "auto", "break", "case", "char",
        "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto",
        "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof",
        "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
        "int32_t", "size_t", "NULL", "bool"};
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++)
        if (!strcmp(s, taken[i]))
            return arena_printf("%s_", s);
    return s;
}
