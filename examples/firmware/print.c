/* print.c — print.h's lines of text without printf. */
#include <string.h>

#include "print.h"

static char line[256];
static int at;

static void put_char(char c) {
    if (at < (int)sizeof line - 2)
        line[at++] = c;
}

void put(const char *s) {
    while (*s)
        put_char(*s++);
}

void put_uint(unsigned long v) {
    char digits[24];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n)
        put_char(digits[--n]);
}

void put_hex(uint32_t v) {
    for (int shift = 28; shift >= 0; shift -= 4)
        put_char("0123456789abcdef"[(v >> shift) & 15]);
}

void put_float(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    if (v < 0) {
        put("-");
        v = -v;
    }
    unsigned long micro = (unsigned long)(v * 1e6f + 0.5f);
    put_uint(micro / 1000000);
    put(".");
    for (unsigned long scale = 100000; scale; scale /= 10)
        put_uint(micro / scale % 10);
    put(" (");
    put_hex(bits);
    put(")");
}

void put_flush(void) {
    line[at++] = '\n';
    line[at] = 0;
    put_write(line);
    at = 0;
}
