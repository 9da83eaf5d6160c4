/* check.h — the little harness the runtime tests share.
 *
 * A test is a void function of CHECKs; RUN(fn) runs it and prints
 * "PASS runtime.fn" or "FAIL runtime.fn: file:line: condition" (the first
 * failed check), the lines tests/run.sh counts. main returns FAILED().
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

static char check_why[512];  /* first failed check of the running test */
static int check_failures;   /* tests failed so far */

#define CHECK(cond) CHECK_MSG(cond, #cond)
#define CHECK_MSG(cond, what)                                                            \
    do {                                                                                 \
        if (!(cond) && !check_why[0])                                                    \
            snprintf(check_why, sizeof check_why, "%s:%d: %s", __FILE__, __LINE__, what); \
    } while (0)

static void check_report(const char *name) {
    if (check_why[0]) {
        printf("FAIL runtime.%s: %s\n", name, check_why);
        check_failures++;
    } else {
        printf("PASS runtime.%s\n", name);
    }
    check_why[0] = 0;
    fflush(stdout);
}

#define RUN(fn) (fn(), check_report(#fn))
#define FAILED() (check_failures != 0)

#endif
