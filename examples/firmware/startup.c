/* startup.c — reset for a bare Cortex-M4: the vector table, copying .data
 * from flash, clearing .bss, turning the FPU on, then main(); its result
 * ends the QEMU run through semihosting. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _data_start[], _data_end[], _data_load[], _bss_start[], _bss_end[], _stack_top[];
int main(void);

void reset_handler(void) {
    for (uint32_t *src = _data_load, *dst = _data_start; dst < _data_end;)
        *dst++ = *src++;
    for (uint32_t *dst = _bss_start; dst < _bss_end;)
        *dst++ = 0;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: full access to CP10 and CP11, the FPU */
    __asm__ volatile("dsb\n\tisb");
    semihost_exit(main());
}

static void fault_handler(void) {
    semihost_write("firmware: hard fault\n");
    semihost_exit(1);
}

/* initial stack pointer, reset, NMI, hard fault; the rest unused here */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))_stack_top, reset_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, fault_handler,
};
