/* main.c — trains the model of xor.dnn (compiled by dnnc through CMake's
 * dnnc_add_model) on the XOR truth table and prints the loss as it falls. */
#include <stdio.h>

#include "xor.h"

int main(void) {
    static xor_model m; /* all the model's memory: parameters, gradients, optimizer state */
    const float x[4 * XOR_X_SIZE] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[4 * XOR_Y_SIZE] = {0, 1, 1, 0};
    float out[4 * XOR_OUT_SIZE];

    printf("xor: %d parameters, batch %d, %d epochs\n", XOR_NUM_PARAMS, XOR_BATCH, XOR_EPOCHS);
    xor_init(&m, XOR_SEED);
    for (int epoch = 0; epoch < XOR_EPOCHS; epoch++) {
        xor_set_epoch(&m, epoch);
        float loss = xor_train_step(&m, x, y, 4);
        if (epoch % 500 == 0)
            printf("epoch %4d  loss %.6f\n", epoch, loss);
    }
    float loss = xor_loss(&m, x, y, 4);
    xor_forward(&m, x, out, 4);
    printf("epoch %4d  loss %.6f\n", XOR_EPOCHS, loss);
    for (int i = 0; i < 4; i++)
        printf("  %.0f xor %.0f = %.3f\n", x[2 * i], x[2 * i + 1], out[i]);
    return loss < 0.01f ? 0 : 1;
}
