/* icount_known.c — an icount_main.c adapter whose inference is known
 * instruction by instruction, for tests/firmware/icount_test.sh: NOPS nops
 * and a return (-DNOPS=N); with -DSTACK=S (a multiple of 4, at most 508)
 * it first writes one word S bytes below the stack pointer (3 more
 * instructions); the check fails when built with -DBAD_CHECK. */
void infer_setup(void);
void infer_once(void);
int infer_check(void);

#define STR_(x) #x
#define STR(x) STR_(x)

void infer_setup(void) {
}

__attribute__((naked)) void infer_once(void) {
#ifdef STACK
    __asm__ volatile("sub sp, sp, #" STR(STACK) "\n\tstr r0, [sp]\n\tadd sp, sp, #" STR(STACK));
#endif
    __asm__ volatile(".rept " STR(NOPS) "\n\tnop\n\t.endr\n\tbx lr");
}

int infer_check(void) {
#ifdef BAD_CHECK
    return 1;
#else
    return 0;
#endif
}
