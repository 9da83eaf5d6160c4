/* main.c — a Fashion-MNIST classifier on a Cortex-M4: the generated
 * inference code with its weights in flash classifies the test images baked
 * in by dnnc --emit=selftest, prints each one's class and outputs (decimal
 * and, to compare bit for bit, the IEEE hex), and checks all outputs
 * against the host's. No stdio, no malloc: text goes out through
 * semihosting. The model is a macro: -DMODEL=lenet5 -DMODEL_UC=LENET5
 * (or mlp, MLP); both have the input `image` and the output `probs`. */
#include <stdint.h>
#include <string.h>

#include "semihost.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define STR_(x) #x
#define STR(x) STR_(x)
#define M(x) CAT(MODEL, x)     /* lenet5_x */
#define MU(x) CAT(MODEL_UC, x) /* LENET5_X */
#include STR(MODEL.h)

static M(model) model; /* all the RAM the network needs */

/* ---- printing without printf ---- */
static char line[256];
static int at;

static void put(const char *s) {
    while (*s && at < (int)sizeof line - 1)
        line[at++] = *s++;
}

static void put_uint(unsigned long v) {
    char digits[24];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n)
        line[at < (int)sizeof line - 1 ? at++ : at] = digits[--n];
}

static void put_hex(uint32_t v) {
    for (int shift = 28; shift >= 0; shift -= 4)
        line[at < (int)sizeof line - 1 ? at++ : at] = "0123456789abcdef"[(v >> shift) & 15];
}

/* v with 6 decimals (|v| < 1e6), then its bits */
static void put_float(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    if (v < 0) {
        put("-");
        v = -v;
    }
    unsigned long micro = (unsigned long)(v * 1e6f + 0.5f);
    put_uint(micro / 1000000);
    put(".");
    for (unsigned long scale = 100000; scale; scale /= 10)
        put_uint(micro / scale % 10);
    put(" (");
    put_hex(bits);
    put(")");
}

static void flush(void) {
    line[at++] = '\n';
    line[at] = 0;
    semihost_write(line);
    at = 0;
}

int main(void) {
    put(STR(MODEL) " on a Cortex-M4: ");
    put_uint(sizeof model);
    put(" bytes of RAM for the model, ");
    put_uint(sizeof M(weights));
    put(" bytes of weights in flash");
    flush();
    M(init)(&model, 0);
    for (int s = 0; s < MU(SELFTEST_SAMPLES); s++) {
        float probs[MU(PROBS_SIZE)];
        M(forward)(&model, M(selftest_in0) + s * MU(IMAGE_SIZE), probs, 1);
        int best = 0;
        for (int k = 1; k < MU(PROBS_SIZE); k++)
            if (probs[k] > probs[best])
                best = k;
        put("image ");
        put_uint((unsigned long)s);
        put(": class ");
        put_uint((unsigned long)best);
        flush();
        for (int k = 0; k < MU(PROBS_SIZE); k++) {
            put("  probs[");
            put_uint((unsigned long)k);
            put("] = ");
            put_float(probs[k]);
            flush();
        }
    }
    float worst;
    int bad = M(selftest)(&model, &worst);
    put("selftest against the host: ");
    put_uint((unsigned long)bad);
    put(" values off, largest difference ");
    put_float(worst);
    flush();
    return bad != 0;
}
