/* test_host.c — the host part: file size, reads, atomic writes.
 *
 * Usage: test_host DIR, an empty scratch directory. Failed writes must
 * leave the old file and no temporary file behind; a write is made to fail
 * halfway by lowering RLIMIT_FSIZE (which binds root too, unlike file
 * permissions). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "dnn_host.h"

static char dir[1024]; /* the scratch directory */

static const char *in_dir(const char *name) {
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Entries in the scratch directory, besides . and .. */
static int dir_entries(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

/* Does the file at path hold exactly the string s? */
static int holds(const char *path, const char *s) {
    char buf[256];
    size_t len;
    return dnn_read_file(path, buf, sizeof buf, &len) == DNN_OK && len == strlen(s) && !memcmp(buf, s, len);
}

static void host_write_and_read(void) {
    char buf[16];
    size_t len;
    CHECK(dnn_write_file_atomic(in_dir("a"), "hello", 5) == DNN_OK);
    CHECK(dnn_file_size(in_dir("a")) == 5);
    CHECK(holds(in_dir("a"), "hello"));
    CHECK(dnn_write_file_atomic(in_dir("a"), "bye", 3) == DNN_OK && holds(in_dir("a"), "bye"));
    CHECK(dnn_read_file(in_dir("a"), buf, 3, &len) == DNN_OK && len == 3);
    CHECK(dnn_write_file_atomic(in_dir("empty"), NULL, 0) == DNN_OK && dnn_file_size(in_dir("empty")) == 0);
    CHECK(dnn_read_file(in_dir("empty"), NULL, 0, &len) == DNN_OK && len == 0);
    CHECK(dir_entries() == 2); /* no temporary files left */
}

static void host_read_errors(void) {
    char buf[4];
    size_t len = 99;
    CHECK(dnn_write_file_atomic(in_dir("big"), "0123456789", 10) == DNN_OK);
    CHECK(dnn_read_file(in_dir("big"), buf, sizeof buf, &len) == DNN_E_SPACE && len == 10);
    CHECK(!memcmp(buf, "0123", 4));
    CHECK(dnn_read_file(in_dir("missing"), buf, sizeof buf, &len) == DNN_E_IO && len == 0);
    CHECK(dnn_read_file(dir, buf, sizeof buf, &len) == DNN_E_IO); /* a directory */
    CHECK(dnn_read_file(NULL, buf, sizeof buf, &len) == DNN_E_ARG);
    CHECK(dnn_read_file(in_dir("big"), buf, sizeof buf, NULL) == DNN_E_ARG);
    CHECK(dnn_file_size(in_dir("missing")) == DNN_E_IO);
    CHECK(dnn_file_size(dir) == DNN_E_IO);
    CHECK(dnn_file_size(NULL) == DNN_E_ARG);
}

static void host_read_alloc(void) {
    void *buf = (void *)1;
    size_t len = 99;
    CHECK(dnn_write_file_atomic(in_dir("b"), "abcdef", 6) == DNN_OK);
    CHECK(dnn_read_file_alloc(in_dir("b"), &buf, &len) == DNN_OK && len == 6 && buf && !memcmp(buf, "abcdef", 6));
    free(buf);
    CHECK(dnn_read_file_alloc(in_dir("missing"), &buf, &len) == DNN_E_IO && !buf && len == 0);
    CHECK(dnn_read_file_alloc(in_dir("empty"), &buf, &len) == DNN_OK && buf && len == 0);
    free(buf);
}

/* Failed writes leave the old file as it was and nothing else. */
static void host_write_failures(void) {
    static char big[100000];
    struct rlimit old, low;
    int before, r;
    CHECK(dnn_write_file_atomic(in_dir("keep"), "old", 3) == DNN_OK);
    before = dir_entries();
    CHECK(dnn_write_file_atomic(in_dir("no/such/dir/file"), "x", 1) == DNN_E_IO);
    CHECK(dnn_write_file_atomic(dir, "x", 1) == DNN_E_IO); /* the target is a directory */
    CHECK(dnn_write_file_atomic(NULL, "x", 1) == DNN_E_ARG);
    CHECK(dnn_write_file_atomic(in_dir("keep"), NULL, 1) == DNN_E_ARG);
    /* a write that fails halfway */
    signal(SIGXFSZ, SIG_IGN);
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    low = old;
    low.rlim_cur = 1000;
    CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0);
    r = dnn_write_file_atomic(in_dir("keep"), big, sizeof big);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK(r == DNN_E_IO);
    CHECK(holds(in_dir("keep"), "old"));
    CHECK(dir_entries() == before);
    CHECK(dnn_file_size(dir) == DNN_E_IO); /* still a directory */
}

/* A new file gets 0666 & ~umask, not mkstemp's 0600. */
static void host_write_mode(void) {
    struct stat st;
    mode_t old = umask(022);
    CHECK(dnn_write_file_atomic(in_dir("mode"), "m", 1) == DNN_OK);
    umask(old);
    CHECK(stat(in_dir("mode"), &st) == 0 && (st.st_mode & 0777) == 0644);
}

/* A replaced file keeps its permissions (a private file stays private). */
static void host_write_keeps_mode(void) {
    struct stat st;
    CHECK(dnn_write_file_atomic(in_dir("private"), "1", 1) == DNN_OK);
    CHECK(chmod(in_dir("private"), 0600) == 0);
    CHECK(dnn_write_file_atomic(in_dir("private"), "2", 1) == DNN_OK && holds(in_dir("private"), "2"));
    CHECK(stat(in_dir("private"), &st) == 0 && (st.st_mode & 0777) == 0600);
}

/* A symbolic link is followed and stays a link; a dangling one gets its
 * target; a FIFO or device is written in place (dnn_output_open reports
 * which: no temporary file). */
static void host_write_links_and_devices(void) {
    struct stat st;
    char target[64];
    ssize_t n;
    int reader;
    dnn_output o;
    CHECK(dnn_write_file_atomic(in_dir("target"), "old", 3) == DNN_OK);
    CHECK(symlink("target", in_dir("link")) == 0);
    CHECK(dnn_write_file_atomic(in_dir("link"), "new", 3) == DNN_OK);
    CHECK(lstat(in_dir("link"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(holds(in_dir("target"), "new"));
    CHECK(symlink("born", in_dir("dangling")) == 0);
    CHECK(dnn_write_file_atomic(in_dir("dangling"), "b", 1) == DNN_OK && holds(in_dir("born"), "b"));
    n = readlink(in_dir("dangling"), target, sizeof target - 1);
    CHECK(n == 4 && !memcmp(target, "born", 4));
    CHECK(mkfifo(in_dir("fifo"), 0600) == 0); /* (not /dev/null: a regression would replace it) */
    reader = open(in_dir("fifo"), O_RDONLY | O_NONBLOCK); /* so that opening it to write does not wait */
    CHECK(reader >= 0 && dnn_output_open(&o, in_dir("fifo")) == DNN_OK && o.tmp[0] == 0);
    CHECK(dnn_output_write(&o, "x", 1) == DNN_OK && dnn_output_close(&o, DNN_OUTPUT_KEEP) == DNN_OK);
    CHECK(read(reader, target, sizeof target) == 1 && target[0] == 'x');
    CHECK(stat(in_dir("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
    close(reader);
    CHECK(dnn_output_open(&o, in_dir("link")) == DNN_OK && strcmp(o.path, in_dir("target")) == 0 && o.tmp[0]);
    CHECK(dnn_output_close(&o, DNN_OUTPUT_DISCARD) == DNN_OK && holds(in_dir("target"), "new"));
    CHECK(dnn_output_open(&o, dir) == DNN_E_IO && errno == EISDIR);
    CHECK(dnn_output_open(&o, "") == DNN_E_IO && errno == ENOENT);
}

static void host_path_too_long(void) {
    static char path[5000];
    memset(path, 'p', sizeof path - 1);
    CHECK(dnn_write_file_atomic(path, "x", 1) == DNN_E_ARG);
}

int main(int argc, char **argv) {
    if (argc != 2 || strlen(argv[1]) >= sizeof dir) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    strcpy(dir, argv[1]);
    RUN(host_write_and_read);
    RUN(host_read_errors);
    RUN(host_read_alloc);
    RUN(host_write_failures);
    RUN(host_write_mode);
    RUN(host_write_keeps_mode);
    RUN(host_write_links_and_devices);
    RUN(host_path_too_long);
    return FAILED();
}
