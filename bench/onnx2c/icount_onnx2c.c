/* icount_onnx2c.c — tests/firmware/icount_main.c's adapter for onnx2c's
 * generated code: one inference is entry() on the input export.py wrote
 * into NAME_io.h (-DIO_HEADER='"NAME_io.h"'); the check compares the
 * output with PyTorch's for it, within 1e-5 + 1e-4 of its size.
 * entry.h holds entry()'s prototype, copied from the generated file. */
#include <math.h>

#include IO_HEADER
#include "entry.h"

void infer_setup(void);
void infer_once(void);
int infer_check(void);

static float out[ICOUNT_OUTPUT_SIZE];

void infer_setup(void) {
}

void infer_once(void) {
    entry((const void *)ICOUNT_INPUT, (void *)out);
}

int infer_check(void) {
    int bad = 0;
    for (int i = 0; i < ICOUNT_OUTPUT_SIZE; i++)
        bad += !(fabsf(out[i] - ICOUNT_EXPECTED[i]) <= 1e-5f + 1e-4f * fabsf(ICOUNT_EXPECTED[i]));
    return bad;
}
