/* mathf_sweep.c — examples/firmware-train/mathf.c's expf and logf over a
 * sweep of every kind of float (every 16381st bit pattern: zeros,
 * subnormals, normals of both signs, infinities, NaNs), one FNV-1a hash of
 * the results' bits each (a NaN counts as one value: its payload is the
 * core's business). Built for the host (-DHOST, mathf.c replacing glibc's)
 * and for a Cortex-M, the two lines must be equal. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef HOST
#include <stdio.h>
static void write_text(const char *s) { fputs(s, stdout); }
#else
#include "semihost.h"
static void write_text(const char *s) { semihost_write(s); }
#endif

static uint32_t hash_of(float (*f)(float), unsigned *inputs) {
    uint32_t hash = 2166136261u;
    *inputs = 0;
    for (uint64_t b = 0; b <= 0xffffffffu; b += 16381) {
        uint32_t bits = (uint32_t)b, out;
        float x;
        memcpy(&x, &bits, 4);
        float y = f(x);
        memcpy(&out, &y, 4);
        if (y != y)
            out = 0x7fc00000u;
        for (int k = 0; k < 4; k++)
            hash = (hash ^ ((out >> (8 * k)) & 0xffu)) * 16777619u;
        ++*inputs;
    }
    return hash;
}

static char *put_hex(char *p, uint32_t v) {
    for (int shift = 28; shift >= 0; shift -= 4)
        *p++ = "0123456789abcdef"[(v >> shift) & 15];
    return p;
}

int main(void) {
    unsigned n;
    char line[64], *p = line;
    memcpy(p, "expf ", 5), p = put_hex(p + 5, hash_of(expf, &n));
    memcpy(p, " logf ", 6), p = put_hex(p + 6, hash_of(logf, &n));
    memcpy(p, " inputs ", 8), p = put_hex(p + 8, n);
    *p++ = '\n';
    *p = 0;
    write_text(line);
    return 0;
}
