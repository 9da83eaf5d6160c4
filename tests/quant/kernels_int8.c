/* kernels_int8.c — runtime/dnn_kernels_int8.h against reference.py, byte
 * for byte: every case kernel_cases.py writes (kernel_cases.c, linked in),
 * run with whichever path the compiler flags select.
 * The same source runs on the host (stdio) and on a Cortex-M4 under QEMU
 * (-DKERNELS_SEMIHOST: output through semihosting, no libc I/O).
 *
 *   -DLABEL='"avx2"'        the name on the result line
 *   -DEXPECT_PATH='"avx2"'  the DNN_Q8_PATH the build must have selected
 *
 * Prints "FAIL quant/kernels.LABEL: CASE: ..." for each failing case (its
 * first differing value) and one "PASS quant/kernels.LABEL (...)" line, or
 * a final FAIL line; exit status 1 on failure. */
#include <stdint.h>
#include <string.h>

#include "dnn_kernels_int8.h"

#include "kernel_cases.h"

#define MAXN 8192 /* largest tensor of a case */
#define MAXF 256  /* most output channels */

#ifndef LABEL
#define LABEL DNN_Q8_PATH
#endif

/* ---- printing, without printf (the firmware has none) ---- */
#ifdef KERNELS_SEMIHOST
#include "semihost.h"
static void emit(const char *s) { semihost_write(s); }
#else
#include <stdio.h>
static void emit(const char *s) { fputs(s, stdout); }
#endif

static char line[512];
static int at;

static void put(const char *s) {
    while (*s && at < (int)sizeof line - 2)
        line[at++] = *s++;
}

static void put_int(long v) {
    char d[24];
    int n = 0;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    do
        d[n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        put("-");
    while (n) {
        char c[2] = {d[--n], 0};
        put(c);
    }
}

static void put_hex(uint32_t v) {
    put("0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        char c[2] = {"0123456789abcdef"[(v >> shift) & 15], 0};
        put(c);
    }
}

static void flush(void) {
    line[at++] = '\n';
    line[at] = 0;
    emit(line);
    at = 0;
}

/* ---- checking ---- */
static const kcase *current;
static int failed_cases;

static float fl(const void *bits, int i) {
    float v;
    memcpy(&v, (const uint32_t *)bits + i, sizeof v);
    return v;
}

static uint32_t bits(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* Reports the first mismatch of the current case (what, index, got, want). */
static int mismatch(const char *what, int i, long got, long want, int hex) {
    if (++failed_cases > 20) /* the first 20 say enough (a chain repeats a failure) */
        return 1;
    put("FAIL quant/kernels." LABEL ": ");
    put(current->name);
    put(": ");
    put(what);
    put("[");
    put_int(i);
    put("] is ");
    if (hex)
        put_hex((uint32_t)got);
    else
        put_int(got);
    put(", reference.py gives ");
    if (hex)
        put_hex((uint32_t)want);
    else
        put_int(want);
    flush();
    return 1;
}

/* -DKERNELS_ONE_STEP (the DNN_Q8_FIXED_POINT build): a byte one step off
 * is counted, not a failure */
#ifdef KERNELS_ONE_STEP
static long one_step;
#endif

static int same_bytes(const char *what, const uint8_t *got, const void *want, int n) {
    const uint8_t *w = want;
    for (int i = 0; i < n; i++)
        if (got[i] != w[i]) {
#ifdef KERNELS_ONE_STEP
            if (got[i] + 1 == w[i] || got[i] == w[i] + 1) {
                one_step++;
                continue;
            }
#endif
            return mismatch(what, i, got[i], w[i], 0);
        }
    return 0;
}

static uint8_t out[2][MAXN]; /* outputs, alternating so a chain reads the previous one */
static float fout[MAXN];
static int32_t folded[MAXF];
static float mscale[MAXF];
static uint8_t scratch[4096];

/* The per-channel inputs of a dense/conv layer from the float parameters,
 * as a compiler would make them: int32 bias (dnn_q8_bias), requantization
 * scale (dnn_q8_requant_scale), both checked, then the folded bias. */
static int layer_params(const kcase *c, int rows, int k, int32_t zp_in) {
    const float s_in = fl(c->f, 0), s_out = fl(c->f, 1);
    for (int o = 0; o < rows; o++) {
        const int32_t bq = dnn_q8_bias(fl(c->bias, o), fl(c->wscale, o), s_in);
        if (bq != c->bias_q[o])
            return mismatch("bias_q", o, bq, c->bias_q[o], 0);
        mscale[o] = dnn_q8_requant_scale(fl(c->wscale, o), s_in, s_out);
        if (bits(mscale[o]) != c->m[o])
            return mismatch("M", o, (long)bits(mscale[o]), (long)c->m[o], 1);
        folded[o] = dnn_q8_fold_bias(bq, c->w + o * k, k, zp_in);
    }
    return 0;
}

/* Runs one case; y is its output buffer, in the previous case's output. */
static int run(const kcase *c, uint8_t *y, const uint8_t *in) {
    const int *p = c->p;
    const uint8_t *x = c->chain ? in : (const uint8_t *)c->x;
    switch (c->op) {
    case Q_RNE:
        for (int i = 0; i < c->n; i++) {
            const int32_t r = dnn_q8_rne(fl(c->x, i)), want = ((const int32_t *)c->expect)[i];
            if (r != want)
                return mismatch("rne", i, r, want, 0);
        }
        return 0;
    case Q_QPARAMS:
        for (int i = 0; i < c->n; i++) {
            float s;
            int32_t zp;
            dnn_q8_act_qparams(fl(c->x, i), fl(c->x2, i), &s, &zp);
            if (bits(s) != ((const uint32_t *)c->expect)[i])
                return mismatch("scale", i, (long)bits(s), (long)((const uint32_t *)c->expect)[i], 1);
            if (zp != ((const int32_t *)c->expect2)[i])
                return mismatch("zero point", i, zp, ((const int32_t *)c->expect2)[i], 0);
        }
        return 0;
    case Q_WEIGHTS:
        for (int r = 0; r < p[0]; r++) {
            float lo = 0.0f, hi = 0.0f;
            for (int i = 0; i < p[1]; i++) {
                const float v = fl(c->x, r * p[1] + i);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            const float s = dnn_q8_weight_scale(-lo > hi ? -lo : hi);
            if (bits(s) != ((const uint32_t *)c->expect2)[r])
                return mismatch("weight scale", r, (long)bits(s), (long)((const uint32_t *)c->expect2)[r], 1);
            for (int i = 0; i < p[1]; i++) {
                const int32_t q = dnn_q8_quantize_value(fl(c->x, r * p[1] + i), 1.0f / s, 0, -128, 127);
                if (q != ((const int8_t *)c->expect)[r * p[1] + i])
                    return mismatch("weight", r * p[1] + i, q, ((const int8_t *)c->expect)[r * p[1] + i], 0);
            }
        }
        return 0;
    case Q_QUANTIZE:
        dnn_q8_quantize(y, c->x, p[0], fl(c->f, 0), p[1]);
        return same_bytes("y", y, c->expect, c->n);
    case Q_DEQUANTIZE:
        dnn_q8_dequantize(fout, x, p[0], fl(c->f, 0), p[1]);
        for (int i = 0; i < c->n; i++)
            if (bits(fout[i]) != ((const uint32_t *)c->expect)[i])
                return mismatch("y", i, (long)bits(fout[i]), (long)((const uint32_t *)c->expect)[i], 1);
        return 0;
    case Q_RELU:
        dnn_q8_relu(y, x, p[0], p[1]);
        return same_bytes("y", y, c->expect, c->n);
    case Q_REQUANTIZE:
        for (int i = 0; i < p[0]; i++)
            y[i] = dnn_q8_requantize(((const int32_t *)c->x)[i], fl(c->x2, i), p[1], p[2]);
        return same_bytes("y", y, c->expect, c->n);
    case Q_ADD: {
        dnn_q8_add_params ap;
        const int ok = dnn_q8_add_setup(&ap, fl(c->f, 0), p[1], fl(c->f, 1), p[2], fl(c->f, 2), p[3], p[4]) == 0;
        if (ok != p[5])
            return mismatch("dnn_q8_add_setup accepts", 0, ok, p[5], 0);
        if (!ok)
            return 0;
        dnn_q8_add(y, x, c->x2, p[0], &ap);
        return same_bytes("y", y, c->expect, c->n);
    }
    case Q_DENSE:
        if (p[1] > MAXF || layer_params(c, p[1], p[0], p[2]))
            return p[1] > MAXF ? mismatch("output channels (MAXF)", 0, p[1], MAXF, 0) : 1;
        dnn_q8_dense(y, x, c->w, folded, mscale, p[0], p[1], p[3], p[4]);
        return same_bytes("y", y, c->expect, c->n);
    case Q_CONV: {
        const dnn_q8_conv g = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]};
        const int k = g.c / g.groups * g.kh * g.kw;
        if (g.f > MAXF || DNN_Q8_CONV_SCRATCH(g.c / g.groups, g.kh, g.kw, g.f) > (int)sizeof scratch)
            return mismatch("output channels or scratch", 0, g.f, MAXF, 0);
        if (layer_params(c, g.f, k, p[13]))
            return 1;
        if (p[16]) {
            const dnn_q8_pool pool = {g.f, g.oh, g.ow, p[22], p[23], p[16], p[17], p[18], p[19], p[20], p[21]};
            dnn_q8_conv2d_maxpool(y, x, c->w, folded, mscale, &g, &pool, p[13], p[14], p[15], scratch);
        } else
            dnn_q8_conv2d(y, x, c->w, folded, mscale, &g, p[13], p[14], p[15], scratch);
        return same_bytes("y", y, c->expect, c->n);
    }
    case Q_MAXPOOL: {
        const dnn_q8_pool g = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]};
        dnn_q8_maxpool(y, x, &g);
        return same_bytes("y", y, c->expect, c->n);
    }
    case Q_AVGPOOL: {
        const dnn_q8_pool g = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]};
        const float a = dnn_q8_avgpool_scale(fl(c->f, 0), g.kh * g.kw);
        if (bits(a) != c->f[1])
            return mismatch("A", 0, (long)bits(a), (long)c->f[1], 1);
        dnn_q8_avgpool(y, x, &g, fl(c->f, 0), p[11]);
        return same_bytes("y", y, c->expect, c->n);
    }
    }
    return mismatch("op", 0, c->op, 0, 0);
}

int main(void) {
    static const char *const op_names[Q_OPS] = KERNEL_OP_NAMES;
    long values = 0;
    int per_op[Q_OPS] = {0};
#ifdef EXPECT_PATH
    if (strcmp(DNN_Q8_PATH, EXPECT_PATH) != 0) {
        put("FAIL quant/kernels." LABEL ": the header compiled path " DNN_Q8_PATH ", not " EXPECT_PATH);
        flush();
        return 1;
    }
#endif
    for (int i = 0; i < kernel_ncases; i++) {
        current = &kernel_cases[i];
        if (kernel_cases[i].n > MAXN) {
            mismatch("values (MAXN)", 0, kernel_cases[i].n, MAXN, 0);
            continue;
        }
        run(&kernel_cases[i], out[i & 1], out[(i & 1) ^ 1]);
        per_op[kernel_cases[i].op]++;
        values += kernel_cases[i].n;
    }
    if (failed_cases) {
        put("FAIL quant/kernels." LABEL ": ");
        put_int(failed_cases);
        put(" of ");
        put_int(kernel_ncases);
        put(" cases differ from reference.py (path " DNN_Q8_PATH "; the first 20 shown)");
        flush();
        return 1;
    }
    put("PASS quant/kernels." LABEL " (path " DNN_Q8_PATH ": ");
    put_int(kernel_ncases);
    put(" cases, ");
    put_int(values);
#ifdef KERNELS_ONE_STEP
    put(" values, ");
    put_int(one_step);
    put(" of them one step from reference.py, the others equal:");
#else
    put(" values equal to reference.py:");
#endif
    for (int op = 0; op < Q_OPS; op++) {
        put(" ");
        put(op_names[op]);
        put(" ");
        put_int(per_op[op]);
    }
    put(")");
    flush();
    return 0;
}
