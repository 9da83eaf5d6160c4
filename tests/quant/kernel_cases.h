/* kernel_cases.h — the test cases of runtime/dnn_kernels_int8.h:
 * kernel_cases.py writes them as kernel_cases.c (data only, compiled once
 * per target), kernels_int8.c runs them. */
#ifndef KERNEL_CASES_H
#define KERNEL_CASES_H

#include <stdint.h>

/* The op of a case, and what its p[] and f[] hold. Inputs are x (and x2);
 * a case with .chain set takes the previous case's output instead. */
enum {
    Q_RNE,        /* n: dnn_q8_rne(x[i]) == expect[i] (int32) */
    Q_QPARAMS,    /* n: dnn_q8_act_qparams(x[i], x2[i]) == (expect[i] float, expect2[i] int32) */
    Q_WEIGHTS,    /* p: rows, k: per row dnn_q8_weight_scale(max |x|) == expect2, weights == expect */
    Q_QUANTIZE,   /* p: n, zp; f: s: dnn_q8_quantize of the floats x */
    Q_DEQUANTIZE, /* p: n, zp; f: s: dnn_q8_dequantize, floats compared bit for bit */
    Q_RELU,       /* p: n, zp */
    Q_REQUANTIZE, /* p: n, zp, lo: dnn_q8_requantize(x[i] int32, x2[i] float, zp, lo) */
    Q_ADD,        /* p: n, zp_a, zp_b, zp_y, relu, setup accepts; f: s_a, s_b, s_y */
    Q_DENSE,      /* p: in, out, zp_in, zp_out, relu; f: s_in, s_out */
    Q_CONV,       /* p: c h w f oh ow kh kw sh sw pt pl groups zp_in zp_out relu
                   *    [pool: kh kw sh sw ph pw oh ow]; f: s_in, s_out */
    Q_MAXPOOL,    /* p: c h w oh ow kh kw sh sw ph pw */
    Q_AVGPOOL,    /* p: c h w oh ow kh kw sh sw ph pw zp; f: s, its dnn_q8_avgpool_scale */
    Q_OPS
};
#define KERNEL_OP_NAMES                                                                                \
    {"rne", "qparams", "weights", "quantize", "dequantize", "relu", "requantize", "add", "dense", "conv2d", \
     "maxpool", "avgpool"}

typedef struct kcase {
    const char *name;
    int op;                /* Q_* */
    int chain;             /* 1: the input is the previous case's output */
    int n;                 /* values in expect */
    int p[24];             /* sizes and integer parameters (see the enum) */
    uint32_t f[4];         /* float parameters, as bits */
    const void *x, *x2;    /* inputs: uint8, or float bits, or int32 */
    const int8_t *w;       /* int8 weights */
    const uint32_t *wscale, *bias; /* per output channel: weight scales, float biases */
    const int32_t *bias_q; /* the int32 biases reference.py quantizes */
    const uint32_t *m;     /* its requantization scales */
    const void *expect, *expect2;
} kcase;

extern const kcase kernel_cases[];
extern const int kernel_ncases;

#endif
