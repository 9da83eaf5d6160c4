/* train.c — trains models/xor.dnn on the XOR truth table and prints it.
 * Build: dnnc models/xor.dnn -o xor.c && cc -I runtime xor.c train.c build/libdnnrt.a -lm */
#include <stdio.h>

#include "xor.h"

int main(void) {
    static xor_model m;
    const float x[4 * XOR_X_SIZE] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[4 * XOR_Y_SIZE] = {0, 1, 1, 0};
    float loss = 0, out[4 * XOR_OUT_SIZE];

    xor_init(&m, XOR_SEED);
    for (int epoch = 0; epoch < XOR_EPOCHS; epoch++) {
        xor_set_epoch(&m, epoch);
        loss = xor_train_step(&m, x, y, 4);
        if (epoch % 500 == 0)
            printf("epoch %4d  loss %.6f\n", epoch, loss);
    }
    xor_forward(&m, x, out, 4);
    printf("epoch %4d  loss %.6f\n\n  x1 x2 | out    (target)\n", XOR_EPOCHS, xor_loss(&m, x, y, 4));
    for (int i = 0; i < 4; i++)
        printf("  %2.0f %2.0f | %.3f  (%.0f)\n", x[2 * i], x[2 * i + 1], out[i], y[i]);
    printf("\nmodel state: %zu bytes (sizeof(xor_model))\n", sizeof m);
    return xor_loss(&m, x, y, 4) < 0.01f ? 0 : 1;
}
