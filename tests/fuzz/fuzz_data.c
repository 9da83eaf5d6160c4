/* fuzz_data.c — libFuzzer target: the data-file readers of
 * runtime/data on the bytes given.
 *
 * The readers take a path, so the bytes are written to an in-memory file
 * (memfd) opened as /proc/self/fd/N. Each input goes through the CSV
 * reader (and a column lookup), the IDX reader (any rank, all items and
 * then at most 2 items; gzip-compressed input is detected from its
 * bytes, so gzip seeds reach zlib's path) and the .npy reader. What they
 * return is checked for sense: on success the sizes agree and the data
 * are finite; on failure the result is zeroed and a message is written.
 */
#define _GNU_SOURCE
#include "dnn_data.h"
#include "fuzz.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fd = memfd_create("fuzz_data", 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return fd < 0;
}

static void all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        CHECK(isfinite(x[i]));
}

static void csv(void) {
    dnn_csv c;
    char msg[256] = "";
    if (dnn_csv_read(path, &c, msg, sizeof msg) != DNN_OK) {
        CHECK(msg[0] && !c.data && !c.rows && !c.header);
        return;
    }
    CHECK(c.rows > 0 && c.cols > 0);
    all_finite(c.data, (size_t)c.rows * (size_t)c.cols);
    for (int j = 0; j < c.cols; j++) {
        for (int i = 0; i < c.rows && c.levels[j]; i++) /* a category index names a level */
            CHECK(c.data[(size_t)i * (size_t)c.cols + (size_t)j] >= 0 &&
                  c.data[(size_t)i * (size_t)c.cols + (size_t)j] < (float)c.nlevels[j]);
        if (c.header)
            CHECK(dnn_csv_column(&c, c.header[j]) <= j);
    }
    CHECK(dnn_csv_column(&c, "no such column\x01") == -1);
    dnn_csv_free(&c);
}

static void idx(int max_items) {
    dnn_idx t;
    char msg[256] = "";
    if (dnn_idx_read(path, 0, max_items, 1.0f / 255, &t, msg, sizeof msg) != DNN_OK) {
        CHECK(msg[0] && !t.data && !t.items);
        return;
    }
    CHECK(t.rank >= 1 && t.rank <= DNN_IDX_MAX_RANK && t.items >= 0);
    CHECK(max_items == 0 ? t.items == t.dims[0] : t.items <= max_items);
    all_finite(t.data, (size_t)t.items * t.item_size);
    dnn_idx_free(&t);
}

static void npy(void) {
    dnn_array a;
    char msg[256] = "";
    if (dnn_npy_read(path, 1.0f, &a, msg, sizeof msg) != DNN_OK) {
        CHECK(msg[0] && !a.data && !a.count);
        return;
    }
    size_t n = 1;
    for (int i = 0; i < a.rank; i++)
        n *= (size_t)a.dims[i];
    CHECK(n == a.count);
    all_finite(a.data, a.count);
    dnn_array_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
    csv();
    idx(0);
    idx(2);
    npy();
    return 0;
}
