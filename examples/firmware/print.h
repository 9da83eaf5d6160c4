/* print.h — lines of text without printf, for firmware: each put_* adds
 * to the current line (up to 255 characters; more are dropped) and
 * put_flush ends it and hands it to put_write, which the program defines
 * (semihost_write on the device, fputs on the host). */
#ifndef PRINT_H
#define PRINT_H

#include <stdint.h>

void put(const char *s);
void put_uint(unsigned long v);
void put_hex(uint32_t v);  /* 8 hex digits */
void put_float(float v);   /* |v| < 4e3 with 6 decimals, then its IEEE bits: "-0.000037 (b81aa7b5)" */
void put_flush(void);
void put_write(const char *line); /* the program's: writes a NUL-terminated line ending in '\n' */

#endif
