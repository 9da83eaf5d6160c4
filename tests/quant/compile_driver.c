/* compile_driver.c — runs a model dnnc built with --quantize=int8
 * (compile.sh): x.f32 (SAMPLES samples of MODEL's image) through
 * MODEL_forward one at a time, writing out.f32 (each sample's logits, then
 * its probs) and MODEL_save's image to saved.safetensors; and checks that
 * MODEL_forward_u8, given the bytes dnn_q8_quantize makes of each sample at
 * the header's MODEL_IMAGE_QUANT_SCALE and _ZERO_POINT, gives the same
 * outputs bit for bit (UPPER: the model's name in capitals).
 *   cc -DMODEL=mlp -DUPPER=MLP -DIN=784 -DHEADER='"m.h"' ... compile_driver.c m.c -ldnnrt -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include HEADER
#include "dnn_kernels_int8.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL_(x) CAT(CAT(MODEL, _), x)
#define UPPER_(x) CAT(CAT(UPPER, _), x)
#define SAMPLES 32 /* compile_case.py SAMPLES */
#ifndef IN
#define IN 784 /* per-sample inputs */
#endif
#define OUT 10

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    return (f && fclose(f) == 0 && ok) ? 0 : 1;
}

int main(int argc, char **argv) {
    static MODEL_(model) m;
    static float x[SAMPLES][IN], out[SAMPLES][2 * OUT];
    if (argc != 4) {
        fprintf(stderr, "usage: %s x.f32 out.f32 saved.safetensors\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(x, sizeof x, 1, f) != 1) {
        fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[1]);
        return 1;
    }
    fclose(f);
    MODEL_(init)(&m, 0);
    for (int s = 0; s < SAMPLES; s++)
        MODEL_(forward)(&m, x[s], out[s], out[s] + OUT, 1);
    for (int s = 0; s < SAMPLES; s++) {
        static uint8_t bytes[IN];
        static float out_u8[2 * OUT];
        dnn_q8_quantize(bytes, x[s], IN, UPPER_(IMAGE_QUANT_SCALE), UPPER_(IMAGE_ZERO_POINT));
        MODEL_(forward_u8)(&m, bytes, out_u8, out_u8 + OUT, 1);
        if (memcmp(out_u8, out[s], sizeof out_u8) != 0) {
            fprintf(stderr, "%s: sample %d: forward_u8 of the quantized input differs from forward\n", argv[0], s);
            return 1;
        }
    }
    size_t len = MODEL_(save)(&m, NULL, 0);
    void *buf = malloc(len);
    if (!buf || MODEL_(save)(&m, buf, len) != len)
        return 1;
    int rc = write_file(argv[2], out, sizeof out) | write_file(argv[3], buf, len);
    free(buf);
    return rc;
}
