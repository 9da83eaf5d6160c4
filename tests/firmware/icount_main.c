/* icount_main.c — the firmware tests/firmware/icount.sh counts: the
 * adapter's setup, then K inferences (K is the last word of the
 * semihosting command line, `-semihosting-config ...,arg=K`), then the
 * adapter's check of the outputs. Two runs that differ only in K differ by
 * exactly K inferences, so the difference of their instruction counts is
 * the cost of one: an infer_once() call and one turn of the loop below.
 *
 * It also measures the stack the setup and the inferences use: the 256 KiB
 * below main's stack pointer are filled with a pattern first, and the
 * deepest word changed gives the high-water mark ("icount: stack N bytes").
 *
 * An adapter provides the three functions (icount_dnnc.c for dnnc's
 * generated code, bench/onnx2c/icount_onnx2c.c for onnx2c's). */
#include <stdint.h>

#include "semihost.h"

void infer_setup(void);
void infer_once(void);
int infer_check(void); /* 0 when the last outputs are the expected ones */

extern uint32_t _bss_end[]; /* mps2-an386.ld: the stack grows down towards it */

#define PAINT 0x5afec0deu
#define PAINT_BYTES (256u * 1024u)

/* the command line's last word as a number; -1 unless it is all digits */
static long reps_from_cmdline(void) {
    char line[128];
    if (semihost_cmdline(line, (int)sizeof line) != 0)
        return -1;
    const char *word = line;
    for (const char *p = line; *p; p++)
        if (*p == ' ')
            word = p + 1;
    long reps = *word ? 0 : -1;
    for (; *word && reps >= 0; word++)
        reps = *word >= '0' && *word <= '9' && reps < 100000000 ? reps * 10 + (*word - '0') : -1;
    return reps;
}

static void write_number(const char *before, unsigned long v, const char *after) {
    char digits[16], *p = digits + sizeof digits;
    *--p = 0;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    semihost_write(before);
    semihost_write(p);
    semihost_write(after);
}

/* PAINT_BYTES below top, but not into .bss */
static volatile uint32_t *paint_bottom(volatile uint32_t *top) {
    volatile uint32_t *bottom = top - PAINT_BYTES / 4;
    return bottom < (volatile uint32_t *)_bss_end ? (volatile uint32_t *)_bss_end : bottom;
}

int main(void) {
    long reps = reps_from_cmdline();
    if (reps < 1) {
        semihost_write("icount: give the number of inferences, -semihosting-config enable=on,arg=K\n");
        return 2;
    }
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    volatile uint32_t *top = sp; /* main calls nothing while it paints: what lies below sp is free */
    volatile uint32_t *bottom = paint_bottom(top);
    for (volatile uint32_t *p = bottom; p < top; p++)
        *p = PAINT;

    infer_setup();
    for (long k = 0; k < reps; k++)
        infer_once();

    volatile uint32_t *deepest = bottom;
    while (deepest < top && *deepest == PAINT)
        deepest++;
    write_number("icount: stack ", (unsigned long)((top - deepest) * 4), " bytes\n");
    if (infer_check() != 0) {
        semihost_write("icount: the outputs differ from the expected ones\n");
        return 1;
    }
    semihost_write("icount: outputs as expected\n");
    return 0;
}
