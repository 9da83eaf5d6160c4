/* test_host.c — the host part: file size, reads, atomic writes.
 *
 * Usage: test_host DIR, an empty scratch directory. Failed writes must
 * leave the old file and no temporary file behind; a write is made to fail
 * halfway by lowering RLIMIT_FSIZE (which binds root too, unlike file
 * permissions). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

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
    RUN(host_path_too_long);
    return FAILED();
}
