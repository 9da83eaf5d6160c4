/* maxpool_ties.c — the 2x2 maxpool gradient's vector path (DNN_V8) against
 * the plain C one, on inputs full of ties and NaNs, where "the window's
 * first maximum" is decided by the order of the comparisons. run.sh
 * extracts the two functions from dnnc's code for models/lenet5.dnn into
 * maxpool_ties.h and builds this file twice: -mavx2 -mfma and -DDNN_PORTABLE.
 * Writes the input gradient to stdout; the two builds must agree bit for
 * bit. Usage: maxpool_ties SEED */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "maxpool_ties.h"

#define N 3 /* samples */
static float x[N * 6 * 28 * 28], y[N * 6 * 14 * 14], dy[N * 6 * 14 * 14], dx[N * 6 * 28 * 28];

int main(int argc, char **argv) {
    srand(argc > 1 ? (unsigned)atoi(argv[1]) : 1u);
    for (int i = 0; i < N * 6 * 28 * 28; i++) { /* three values and NaN: most windows tie */
        int r = rand() % 10;
        x[i] = r == 0 ? NAN : (float)(r % 3);
    }
    for (int i = 0; i < N * 6 * 14 * 14; i++)
        dy[i] = (float)(i + 1); /* each window's gradient tells where it went */
    pool_forward(y, x, N);
    pool_grad(dx, dy, x, y, N);
    return fwrite(dx, sizeof dx, 1, stdout) == 1 ? 0 : 1;
}
