/* main.c — a network on a Cortex-M4 (a Fashion-MNIST classifier or an
 * MLPerf Tiny network): the generated inference code with its weights in
 * flash runs the samples baked in by dnnc --emit=selftest, prints each
 * one's class and outputs (decimal and, to compare bit for bit, the IEEE
 * hex), and checks all outputs against the host's. No stdio, no malloc:
 * text goes out through semihosting. The model is a macro: -DMODEL=lenet5
 * -DMODEL_UC=LENET5 (or mlp, MLP; ds_cnn, ...); its input and output are
 * `image` and `probs` unless -DINPUT_UC=MFCC -DOUTPUT_UC=DECODER name others;
 * -DINT8=1 for an int8 build (dnnc --quantize=int8). */
#include <stdint.h>
#include <string.h>

#include "print.h"
#include "semihost.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define STR_(x) #x
#define STR(x) STR_(x)
#define M(x) CAT(MODEL, x)     /* lenet5_x */
#define MU(x) CAT(MODEL_UC, x) /* LENET5_X */
#include STR(MODEL.h)
#ifndef INPUT_UC
#define INPUT_UC IMAGE
#endif
#ifndef OUTPUT_UC
#define OUTPUT_UC PROBS
#endif
#define IN_SIZE CAT(MU(INPUT_UC), SIZE)   /* LENET5_IMAGE_SIZE */
#define OUT_SIZE CAT(MU(OUTPUT_UC), SIZE) /* LENET5_PROBS_SIZE */

static M(model) model; /* all the RAM the network needs */

void put_write(const char *line) {
    semihost_write(line);
}

int main(void) {
    put(STR(MODEL) " on a Cortex-M4: ");
    put_uint(sizeof model);
    put(" bytes of RAM for the model, ");
#if INT8 /* an int8 build's constants are arrays of their own types (arm-none-eabi-size shows them) */
    put("int8 weights in flash");
#else
    put_uint(sizeof M(weights));
    put(" bytes of weights in flash");
#endif
    put_flush();
    M(init)(&model, 0);
    for (int s = 0; s < MU(SELFTEST_SAMPLES); s++) {
        float probs[OUT_SIZE];
        M(forward)(&model, M(selftest_in0) + s * IN_SIZE, probs, 1);
        int best = 0;
        for (int k = 1; k < OUT_SIZE; k++)
            if (probs[k] > probs[best])
                best = k;
        put("image ");
        put_uint((unsigned long)s);
        put(": class ");
        put_uint((unsigned long)best);
        put_flush();
        for (int k = 0; k < OUT_SIZE; k++) {
            put("  probs[");
            put_uint((unsigned long)k);
            put("] = ");
            put_float(probs[k]);
            put_flush();
        }
    }
    float worst;
    int bad = M(selftest)(&model, &worst);
    put("selftest against the host: ");
    put_uint((unsigned long)bad);
    put(" values off, largest difference ");
    put_float(worst);
    put_flush();
    return bad != 0;
}
