/* golden_harness.c — one int8 model dnnc made (--inference --quantize=int8)
 * against PyTorch's quantization of it (make_golden.py's CASE.golden.safetensors).
 *
 * Compiled per case with the model's name pasted in (golden.sh does this):
 *
 *   cc -std=c99 -Iruntime -DMODEL=linear -include linear.h golden_harness.c linear.c
 *   harness CASE.golden.safetensors
 *
 * Prints one "PASS quant/CASE GROUP (...)" or "FAIL quant/CASE GROUP: why"
 * line per group:
 *   forward  NAME_forward, one sample at a time, on `input`: every output
 *            within `tolerance` (one quantization step of the output) of
 *            `expected`, PyTorch's int8 model's float output;
 *   weights  NAME_save's image holds every `q.P.weight` (I8), `q.P.bias`
 *            (I32, the quantized bias) and `q.P.weight_scale` (F32) of the
 *            golden file, the same dtype, element count and bytes (a bias
 *            within 1, said in the PASS line, when its input's scale is an
 *            ulp off: see qparams);
 *   qparams  and every activation's `q.V.scale` (F32) and `q.V.zero_point`
 *            (I32): bit for bit, or, where dnnc's own float calibration
 *            pass saw a minimum or maximum an ulp away from PyTorch's
 *            (tests/quant/README.md, "expect rare one-step differences"),
 *            a scale within 4 ulp and a zero point within 1 — said in the
 *            PASS line.
 * Exit status: 0 when every group passed, 1 otherwise.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MODEL
#error "compile with -DMODEL=name -include name.h"
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)
#define FN(suffix) CAT(MODEL, suffix)
#define NAME STR(MODEL)

/* ---- a small safetensors reader (any dtype) ---------------------------------------- */

typedef struct Entry {
    char name[160];
    char dtype[8];
    long count;                /* elements: the product of the shape */
    long rows;                 /* the first dimension (1 for a scalar) */
    const unsigned char *data; /* little-endian bytes */
    size_t bytes;
} Entry;

typedef struct Tensors {
    unsigned char *raw;
    Entry *e;
    int n;
} Tensors;

static const char *skip_ws(const char *s) {
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

/* A JSON string at s (no escapes in tensor names) into out; the text after it. */
static const char *string_at(const char *s, char *out, size_t cap) {
    size_t k = 0;
    if (*s != '"')
        return NULL;
    for (s++; *s && *s != '"'; s++)
        if (k + 1 < cap)
            out[k++] = *s;
    out[k] = 0;
    return *s == '"' ? s + 1 : NULL;
}

/* A JSON array of whole numbers: their product into *prod, the first two into v. */
static const char *numbers_at(const char *s, long *prod, long v[2]) {
    int k = 0;
    *prod = 1;
    if (*s != '[')
        return NULL;
    s = skip_ws(s + 1);
    while (*s && *s != ']') {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s)
            return NULL;
        *prod *= x;
        if (k < 2)
            v[k] = x;
        k++;
        s = skip_ws(end);
        if (*s == ',')
            s = skip_ws(s + 1);
    }
    return *s == ']' ? s + 1 : NULL;
}

/* Skips a JSON value of __metadata__ (an object of strings). */
static const char *skip_object(const char *s) {
    int depth = 0, quoted = 0;
    for (; *s; s++) {
        if (quoted)
            quoted = *s == '\\' ? (s++, 1) : *s != '"';
        else if (*s == '"')
            quoted = 1;
        else if (*s == '{')
            depth++;
        else if (*s == '}' && --depth == 0)
            return s + 1;
    }
    return NULL;
}

/* Parses a safetensors image (owned by t afterwards); 0, or -1 with why. */
static int parse(Tensors *t, unsigned char *raw, size_t len, char *why, size_t cap) {
    uint64_t n = 0;
    t->raw = raw;
    t->n = 0;
    t->e = NULL;
    for (int i = 7; i >= 0 && len >= 8; i--)
        n = n << 8 | raw[i];
    if (len < 8 || n > len - 8) {
        snprintf(why, cap, "not safetensors (%zu bytes)", len);
        return -1;
    }
    char *header = calloc((size_t)n + 1, 1);
    memcpy(header, raw + 8, (size_t)n);
    const unsigned char *data = raw + 8 + n;
    size_t data_len = len - 8 - (size_t)n;
    const char *s = skip_ws(header);
    int ok = *s == '{';
    s = skip_ws(s + 1);
    while (ok && *s != '}') {
        Entry e;
        memset(&e, 0, sizeof e);
        long offsets[2] = {0, 0}, count = 0, dims[2] = {1, 1};
        ok = (s = string_at(s, e.name, sizeof e.name)) && *(s = skip_ws(s)) == ':';
        s = ok ? skip_ws(s + 1) : s;
        if (ok && !strcmp(e.name, "__metadata__")) {
            ok = (s = skip_object(s)) != NULL;
        } else if (ok) {
            ok = *s == '{';
            s = skip_ws(s + 1);
            while (ok && *s != '}') {
                char key[32];
                ok = (s = string_at(s, key, sizeof key)) && *(s = skip_ws(s)) == ':';
                s = ok ? skip_ws(s + 1) : s;
                if (ok && !strcmp(key, "dtype"))
                    ok = (s = string_at(s, e.dtype, sizeof e.dtype)) != NULL;
                else if (ok && !strcmp(key, "shape"))
                    ok = (s = numbers_at(s, &e.count, dims)) != NULL, e.rows = dims[0];
                else if (ok && !strcmp(key, "data_offsets"))
                    ok = (s = numbers_at(s, &count, offsets)) != NULL;
                else
                    ok = 0;
                s = ok ? skip_ws(s) : s;
                if (ok && *s == ',')
                    s = skip_ws(s + 1);
            }
            ok = ok && offsets[0] >= 0 && offsets[1] >= offsets[0] && (size_t)offsets[1] <= data_len;
            if (ok) {
                e.data = data + offsets[0];
                e.bytes = (size_t)(offsets[1] - offsets[0]);
                t->e = realloc(t->e, sizeof(Entry) * (size_t)(t->n + 1));
                t->e[t->n++] = e;
                s = skip_ws(s + 1);
            }
        }
        s = ok ? skip_ws(s) : s;
        if (ok && *s == ',')
            s = skip_ws(s + 1);
    }
    free(header);
    if (!ok)
        snprintf(why, cap, "a safetensors header this reader does not follow");
    return ok ? 0 : -1;
}

static const Entry *find(const Tensors *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].name, name))
            return &t->e[i];
    return NULL;
}

static uint32_t u32_at(const Entry *e, long i) {
    const unsigned char *b = e->data + 4 * i;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static float f32_at(const Entry *e, long i) {
    uint32_t u = u32_at(e, i);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* ---- the checks ------------------------------------------------------------------- */

static int failures;

static void result(const char *group, int ok, const char *detail) {
    printf("%s quant/%s %s%s%s%s\n", ok ? "PASS" : "FAIL", NAME, group, ok ? " (" : ": ", detail, ok ? ")" : "");
    failures += !ok;
}

/* forward: every output within its tolerance of PyTorch's. */
static void check_forward(const Tensors *g) {
    const Entry *x = find(g, "input"), *want = find(g, "expected"), *tol = find(g, "tolerance"), *step = find(g, "step");
    char detail[256];
    if (!x || !want || !tol || !step || want->count != tol->count) {
        result("forward", 0, "the golden file lacks input, expected, tolerance or step");
        return;
    }
    long n = x->rows, in_size, out_size;
    if (n <= 0 || x->count % n || want->count % n) {
        result("forward", 0, "the golden file's sample count does not divide its tensors");
        return;
    }
    in_size = x->count / n;
    out_size = want->count / n;
    static FN(_model) m;
    FN(_init)(&m, 0);
    float *in = malloc(sizeof(float) * (size_t)in_size), *out = malloc(sizeof(float) * (size_t)out_size);
    double worst = 0, worst_steps = 0;
    long bad = 0, first = -1;
    for (long s = 0; s < n; s++) {
        for (long k = 0; k < in_size; k++)
            in[k] = f32_at(x, s * in_size + k);
        FN(_forward)(&m, in, out, 1);
        for (long k = 0; k < out_size; k++) {
            double w = f32_at(want, s * out_size + k), err = fabs((double)out[k] - w);
            double limit = f32_at(tol, s * out_size + k);
            if (!(err <= limit)) {
                if (first < 0)
                    first = s * out_size + k, worst = (double)out[k];
                bad++;
            }
            if (err / limit > worst_steps || err != err)
                worst_steps = err != err ? INFINITY : err / limit;
        }
    }
    if (bad) {
        snprintf(detail, sizeof detail, "%ld of %ld outputs beyond one step (%.3g, step %.3g): output %ld is %.9g, PyTorch %.9g",
                 bad, n * out_size, worst_steps, (double)f32_at(step, 0), first, worst,
                 (double)f32_at(want, first));
        result("forward", 0, detail);
    } else {
        snprintf(detail, sizeof detail, "%ld outputs, largest error %.3g of one step, step %.3g", n * out_size,
                 worst_steps, (double)f32_at(step, 0));
        result("forward", 1, detail);
    }
    free(in);
    free(out);
}

/* How far a saved tensor is from the golden one: 0 equal bytes, 1 within the
 * calibration's slack (scales within 4 ulp, zero points within 1), 2 not. */
static int compare(const Entry *want, const Entry *got, int slack, char *why, size_t cap) {
    if (strcmp(want->dtype, got->dtype) || want->count != got->count) {
        snprintf(why, cap, "%s is %s of %ld elements, want %s of %ld", got->name, got->dtype, got->count, want->dtype,
                 want->count);
        return 2;
    }
    if (want->bytes == got->bytes && !memcmp(want->data, got->data, want->bytes))
        return 0;
    int f32 = !strcmp(want->dtype, "F32"), i32 = !strcmp(want->dtype, "I32"), i8 = !strcmp(want->dtype, "I8");
    if (!f32 && !i32 && !i8) {
        snprintf(why, cap, "%s: the bytes differ", got->name);
        return 2;
    }
    int nears = 0;
    for (long i = 0; i < want->count; i++) {
        long long a = i8 ? (signed char)want->data[i] : f32 ? (long long)u32_at(want, i) : (int32_t)u32_at(want, i);
        long long b = i8 ? (signed char)got->data[i] : f32 ? (long long)u32_at(got, i) : (int32_t)u32_at(got, i);
        if (a == b)
            continue;
        /* a float's bits: neighbours of one sign are ulps apart */
        int near = slack && (i32 ? llabs(a - b) <= 1 : f32 && (a >> 31) == (b >> 31) && llabs(a - b) <= 4);
        if (near && !nears++)
            snprintf(why, cap, "%s[%ld] %s %lld%s", got->name, i, b > a ? "+" : "-", llabs(a - b), f32 ? " ulp" : "");
        if (!near) {
            if (f32)
                snprintf(why, cap, "%s[%ld] is %.9g, PyTorch's %.9g", got->name, i, (double)f32_at(got, i),
                         (double)f32_at(want, i));
            else
                snprintf(why, cap, "%s[%ld] is %lld, PyTorch's %lld", got->name, i, b, a);
            return 2;
        }
    }
    return 1;
}

/* weights and qparams: NAME_save's image against the golden q.* tensors. */
static void check_saved(const Tensors *g) {
    static FN(_model) m;
    FN(_init)(&m, 0);
    size_t len = FN(_save)(&m, NULL, 0);
    unsigned char *buf = malloc(len ? len : 1);
    Tensors saved;
    char why[512] = "", detail[1024];
    if (FN(_save)(&m, buf, len) != len || parse(&saved, buf, len, why, sizeof why)) {
        snprintf(detail, sizeof detail, "%s_save: %s", NAME, why[0] ? why : "wrote another length");
        result("weights", 0, detail);
        result("qparams", 0, detail);
        return;
    }
    for (int group = 0; group < 2; group++) {
        int count = 0, near = 0, bad = 0;
        char missing[256] = "", first_near[256] = "";
        why[0] = 0;
        for (int i = 0; i < g->n; i++) {
            const Entry *want = &g->e[i];
            int activation = ends_with(want->name, ".scale") || ends_with(want->name, ".zero_point");
            if (strncmp(want->name, "q.", 2) || activation != group)
                continue;
            count++;
            const Entry *got = find(&saved, want->name + 2);
            if (!got) {
                if (!bad++)
                    snprintf(missing, sizeof missing, "no '%s' among the %d tensors %s_save wrote (", want->name + 2,
                             saved.n, NAME);
                for (int k = 0; k < saved.n && strlen(missing) + strlen(saved.e[k].name) + 8 < sizeof missing; k++)
                    if (bad == 1)
                        strcat(strcat(missing, k ? ", " : ""), saved.e[k].name);
                if (bad == 1)
                    strcat(missing, ")");
                continue;
            }
            char one[256];
            /* a later layer's bias_q depends on its input's scale, so it shares the slack */
            int c = compare(want, got, group == 1 || ends_with(want->name, ".bias"), one, sizeof one);
            if (c == 1 && !near++)
                snprintf(first_near, sizeof first_near, "%s", one);
            if (c == 2 && !bad++)
                snprintf(why, sizeof why, "%s", one);
        }
        const char *name = group ? "qparams" : "weights";
        if (bad) {
            snprintf(detail, sizeof detail, "%d of %d tensors differ: %s", bad, count, missing[0] ? missing : why);
            result(name, 0, detail);
        } else if (!count) {
            result(name, 0, "the golden file holds no such tensors");
        } else {
            snprintf(detail, sizeof detail, "%d tensors, bit for bit%s%s%s", count,
                     near ? " but for the calibration's slack: " : "", near ? first_near : "",
                     near > 1 ? ", ..." : "");
            result(name, 1, detail);
        }
    }
    free(saved.e);
    free(buf);
}

int main(int argc, char **argv) {
    size_t len = 0;
    unsigned char *raw = argc == 2 ? read_file(argv[1], &len) : NULL;
    Tensors g;
    char why[256] = "";
    if (!raw || parse(&g, raw, len, why, sizeof why)) {
        fprintf(stderr, "usage: harness CASE.golden.safetensors (%s: %s)\n", argc == 2 ? argv[1] : "no file",
                raw ? why : "cannot read it");
        printf("FAIL quant/%s golden: cannot read %s\n", NAME, argc == 2 ? argv[1] : "the golden file");
        return 1;
    }
    check_forward(&g);
    check_saved(&g);
    free(g.e);
    free(raw);
    return failures ? 1 : 0;
}
