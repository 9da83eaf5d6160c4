/* record.c — the host's outputs of a generated model on stored inputs, as
 * a golden file for --emit=selftest: reads tensor INPUT ([N, ...], F32)
 * of IN.safetensors, runs NAME_forward on each sample and writes INPUT and
 * OUTPUT ([N, OUT_SIZE]) to OUT.safetensors. examples/firmware/build.sh
 * uses it for an int8 build, whose outputs the firmware must reproduce bit
 * for bit (the training program's `predict` gives the float model's).
 * Built with the model's C and header: -DMODEL=lenet5 -DMODEL_UC=LENET5
 * -DINPUT=image -DOUTPUT=probs (names as the .dnn writes them; the
 * uppercase ones for the size macros: -DINPUT_UC=IMAGE -DOUTPUT_UC=PROBS).
 * Usage: record IN.safetensors OUT.safetensors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"
#include "dnn_host.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define STR_(x) #x
#define STR(x) STR_(x)
#define M(x) CAT(MODEL, x)
#define MU(x) CAT(MODEL_UC, x)
#include STR(MODEL.h)
#define IN_SIZE CAT(MU(INPUT_UC), SIZE)
#define OUT_SIZE CAT(MU(OUTPUT_UC), SIZE)

static M(model) model;

int main(int argc, char **argv) {
    size_t len, cap;
    dnn_st_view in;
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN.safetensors OUT.safetensors\n", argv[0]);
        return 2;
    }
    void *buf = NULL;
    if (dnn_read_file_alloc(argv[1], &buf, &len) != DNN_OK || dnn_st_find(buf, len, STR(INPUT), &in) != DNN_OK || in.dtype != DNN_DT_F32 || in.rank < 2 ||
        in.nbytes % (sizeof(float) * IN_SIZE)) {
        fprintf(stderr, "record: %s: no F32 tensor '%s' of [N, %d] values\n", argv[1], STR(INPUT), IN_SIZE);
        return 1;
    }
    int n = (int)(in.nbytes / (sizeof(float) * IN_SIZE));
    float *x = malloc(in.nbytes), *y = malloc(sizeof(float) * OUT_SIZE * (size_t)n);
    memcpy(x, in.data, in.nbytes); /* (aligned: the view's data may not be) */
    M(init)(&model, 0);
    for (int s = 0; s < n; s++)
        M(forward)(&model, x + (size_t)s * IN_SIZE, y + (size_t)s * OUT_SIZE, 1);
    dnn_tensor_info info[2] = {{STR(INPUT), in.rank, {0}, n * IN_SIZE, 0, DNN_DT_F32},
                               {STR(OUTPUT), 2, {n, OUT_SIZE}, n * OUT_SIZE, 0, DNN_DT_F32}};
    for (int k = 0; k < in.rank && k < 4; k++)
        info[0].shape[k] = (int)in.shape[k];
    const float *src[2] = {x, y};
    void *out = malloc(cap = dnn_safetensors_save(info, src, 2, NULL, 0));
    FILE *f = fopen(argv[2], "wb");
    if (!out || !f || dnn_safetensors_save(info, src, 2, out, cap) != cap || fwrite(out, 1, cap, f) != cap ||
        fclose(f) != 0) {
        fprintf(stderr, "record: cannot write %s\n", argv[2]);
        return 1;
    }
    printf("record: %d samples of %s through %s -> %s\n", n, STR(INPUT), STR(MODEL), argv[2]);
    free(buf), free(x), free(y), free(out);
    return 0;
}
