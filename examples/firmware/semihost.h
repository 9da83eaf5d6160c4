/* semihost.h — ARM semihosting: the debugger (here QEMU with
 * -semihosting-config enable=on) writes strings to the host's terminal and
 * ends the run with an exit status. */
#ifndef SEMIHOST_H
#define SEMIHOST_H

void semihost_write(const char *s);    /* SYS_WRITE0 */
void semihost_exit(int status);        /* SYS_EXIT: 0 is success */
int semihost_cmdline(char *buf, int size); /* SYS_GET_CMDLINE: the -semihosting-config args, NUL-terminated; 0 on success */

#endif
