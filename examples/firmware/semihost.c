/* semihost.c — the semihosting calls the firmware uses: `bkpt 0xab`
 * with the operation in r0 and its argument in r1. */
#include "semihost.h"

static int semihost_call(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_write(const char *s) {
    semihost_call(0x04, s); /* SYS_WRITE0 */
}

int semihost_cmdline(char *buf, int size) {
    int block[2] = {(int)buf, size};
    return semihost_call(0x15, block); /* SYS_GET_CMDLINE */
}

void semihost_exit(int status) {
    /* ADP_Stopped_ApplicationExit ends QEMU with 0; RunTimeErrorUnknown with 1 */
    semihost_call(0x18, (const void *)(status ? 0x20024 : 0x20026));
    for (;;)
        ;
}
