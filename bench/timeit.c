/* timeit.c — runs a command and appends its times to a file.
 *
 * Usage: timeit FILE KEY COMMAND [ARG...]
 * Runs COMMAND (its output goes where timeit's goes), waits for it and
 * appends "KEY WALL CPU" to FILE: wall seconds, and the user + system CPU
 * seconds of the command and its children (wait4's rusage). Exits with
 * the command's status (126/127 if it could not be run; the line is then
 * not written).
 */
#define _DEFAULT_SOURCE /* wait4 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static double seconds(struct timeval t) {
    return t.tv_sec + t.tv_usec * 1e-6;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: timeit FILE KEY COMMAND [ARG...]\n");
        return 2;
    }
    bench_clock start = bench_now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("timeit: fork");
        return 126;
    }
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) != pid) {
        perror("timeit: wait4");
        return 126;
    }
    double wall = bench_since(start).wall;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == 126 || code == 127)
        return code;
    FILE *out = fopen(argv[1], "a");
    if (!out || fprintf(out, "%s %.3f %.3f\n", argv[2], wall, seconds(usage.ru_utime) + seconds(usage.ru_stime)) < 0 ||
        fclose(out) != 0) {
        perror(argv[1]);
        return 126;
    }
    return code;
}
