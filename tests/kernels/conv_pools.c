/* conv_pools.c — the conv2d kernels with output columns in the vector lanes
 * (DNN_V8) against their plain C path, where the sums are exact: small
 * integer inputs, weights and biases, so that fused and separate roundings
 * agree and any difference is the kernel's own — which window value maxpool
 * keeps (ties, NaN, -0), what relu makes of NaN and -0, the columns past the
 * row's end. run.sh extracts the fused inference steps of conv_pools.dnn and
 * its unfused training conv into conv_pools.h and builds this file twice:
 * -mavx2 -mfma and -DDNN_PORTABLE. Writes every output to stdout; the two
 * builds must agree bit for bit. Usage: conv_pools SEED */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_pools.h"

#define N 2 /* samples */
static float x[N * 28 * 28], w[6 * 25], b[6];
static float relu_max[N * 6 * 14 * 14], plain_max[N * 6 * 14 * 14], relu_avg[N * 3 * 13 * 13], conv[N * 6 * 28 * 28];

static float small(int nan_in) { /* -1, -0, 0, 1, 2, or now and then NaN */
    static const float v[] = {-1.0f, -0.0f, 0.0f, 1.0f, 2.0f};
    return rand() % nan_in == 0 ? NAN : v[rand() % 5];
}

int main(int argc, char **argv) {
    srand(argc > 1 ? (unsigned)atoi(argv[1]) : 1u);
    for (int i = 0; i < N * 28 * 28; i++)
        x[i] = small(200);
    for (int i = 0; i < 6 * 25; i++)
        w[i] = rand() % 3 ? 0.0f : small(1 << 30); /* mostly zero: many sums tie, some are -0 */
    for (int i = 0; i < 6; i++)
        b[i] = small(1 << 30);
    pool_relu_max(relu_max, x, w, b, N);
    pool_plain_max(plain_max, x, w, b, N);
    pool_relu_avg(relu_avg, x, w, b, N);
    conv_unfused(conv, x, w, b, N);
    return fwrite(relu_max, sizeof relu_max, 1, stdout) == 1 && fwrite(plain_max, sizeof plain_max, 1, stdout) == 1 &&
                   fwrite(relu_avg, sizeof relu_avg, 1, stdout) == 1 && fwrite(conv, sizeof conv, 1, stdout) == 1
               ? 0
               : 1;
}
