/* check.h — the little harness the C test programs share.
 *
 * A test is a void function of CHECKs; RUN(fn) runs it and prints
 * "PASS SUITE.fn" (with check_note after it, when set) or
 * "FAIL SUITE.fn: file:line: condition" (the first failed check), the lines
 * tests/run.sh counts. main returns FAILED(). Define CHECK_SUITE before
 * including it ("runtime" by default).
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

#ifndef CHECK_SUITE
#define CHECK_SUITE "runtime"
#endif

static char check_why[1024]; /* first failed check of the running test */
static char check_note[256]; /* said after PASS */
static int check_failures;   /* tests failed so far */

#define CHECK(cond) CHECK_MSG(cond, #cond)
#define CHECK_MSG(cond, what)                                                            \
    do {                                                                                 \
        if (!(cond) && !check_why[0])                                                    \
            snprintf(check_why, sizeof check_why, "%s:%d: %s", __FILE__, __LINE__, what); \
    } while (0)

static void check_report(const char *name) {
    if (check_why[0]) {
        printf("FAIL " CHECK_SUITE ".%s: %s\n", name, check_why);
        check_failures++;
    } else {
        printf("PASS " CHECK_SUITE ".%s%s%s\n", name, check_note[0] ? ": " : "", check_note);
    }
    check_why[0] = check_note[0] = 0;
    fflush(stdout);
}

#define RUN(fn) (fn(), check_report(#fn))
#define FAILED() (check_failures != 0)

#endif
