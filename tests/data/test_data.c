/* test_data.c — tests of the IDX reader (runtime/data/dnn_idx.c).
 *
 * Each test writes the small IDX files it needs into a scratch directory
 * (plain with stdio, compressed with zlib's gzwrite), reads them back and
 * checks the values, or for a malformed file the DNN_E* code and the words
 * of the message. With a second argument, the directory of the real
 * Fashion-MNIST files, it also checks their counts, sizes and label
 * histograms (SKIP when they are absent).
 * Usage: test_data SCRATCH-DIR [FASHION-DIR]; prints PASS/FAIL/SKIP data.NAME.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dnn_data.h"

#define CHECK_SUITE "data"
#include "../check.h"

/* ---- writing test files ---------------------------------------------------- */
static const char *scratch;
static char path[4096]; /* the file the running test wrote last */
static char msg[512];   /* the message of the last read */

/* An IDX header: magic, type, rank, big-endian dims. Returns its length. */
static size_t header(unsigned char *buf, int type, int rank, const unsigned long *dims) {
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)rank;
    for (int i = 0; i < rank; i++)
        for (int k = 0; k < 4; k++)
            buf[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    return 4 + 4 * (size_t)rank;
}

/* Writes len bytes to scratch/name (gzip-compressed when gz); sets path. */
static const char *put(const char *name, const void *bytes, size_t len, int gz) {
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f && gzwrite(f, bytes, (unsigned)len) == (int)len && gzclose(f) == Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0);
    }
    return path;
}

/* An IDX u8 file of the given dims whose element i is (i * 7) % 256. */
static const char *put_u8(const char *name, int rank, const unsigned long *dims, size_t drop, int gz) {
    static unsigned char buf[1 << 16];
    size_t n = header(buf, DNN_IDX_U8, rank, dims), count = 1;
    for (int i = 0; i < rank; i++)
        count *= dims[i];
    for (size_t i = 0; i < count; i++)
        buf[n + i] = (unsigned char)(i * 7 % 256);
    return put(name, buf, n + count - drop, gz);
}

static int has(const char *words) { return strstr(msg, words) != NULL; }

/* dnn_idx_read that must fail with code; checks the message names the file
 * and *t owns nothing, and that dnn_idx_read_bytes (the training programs'
 * reader) fails the same way. */
static int read_fails(const char *file, int rank, int max, int code) {
    dnn_idx t;
    char floats[sizeof msg];
    int bytes_rc = dnn_idx_read_bytes(file, rank, max, &t, floats, sizeof floats);
    CHECK(t.bytes == NULL && t.data == NULL && t.items == 0);
    int rc = dnn_idx_read(file, rank, max, 1.0f, &t, msg, sizeof msg);
    CHECK(t.data == NULL && t.items == 0);
    CHECK(strncmp(msg, file, strlen(file)) == 0);
    CHECK(bytes_rc == rc && strcmp(floats, msg) == 0);
    if (rc != code && !check_why[0])
        snprintf(check_why, sizeof check_why, "got %d, want %d: %.400s", rc, code, msg);
    return rc == code;
}

/* ---- reading good files ---------------------------------------------------- */
static void check_u8(int gz) {
    unsigned long dims[] = {3, 2, 4};
    dnn_idx t;
    CHECK(dnn_idx_read(put_u8(gz ? "u8.gz" : "u8", 3, dims, 0, gz), 3, 0, 0.5f, &t, msg, sizeof msg) == DNN_OK);
    CHECK(msg[0] == 0);
    CHECK(t.type == DNN_IDX_U8 && t.rank == 3 && t.dims[0] == 3 && t.dims[1] == 2 && t.dims[2] == 4 && t.dims[3] == 0);
    CHECK(t.items == 3 && t.item_size == 8 && t.data);
    for (int i = 0; t.data && i < 24; i++)
        CHECK(t.data[i] == (float)(i * 7 % 256) * 0.5f);
    dnn_idx_free(&t);
    CHECK(t.data == NULL && t.items == 0);
}
static void read_u8_plain(void) { check_u8(0); }
static void read_u8_gzip(void) { check_u8(1); }

static void read_f32(void) {
    static const float want[] = {1.5f, -2.25f, 0.0f, 3e-7f, -1e30f, 255.0f};
    unsigned char buf[64];
    unsigned long dims[] = {3, 2};
    size_t n = header(buf, DNN_IDX_F32, 2, dims);
    for (int i = 0; i < 6; i++) {
        uint32_t bits;
        memcpy(&bits, &want[i], 4);
        for (int k = 0; k < 4; k++)
            buf[n++] = (unsigned char)(bits >> (24 - 8 * k));
    }
    dnn_idx t;
    CHECK(dnn_idx_read(put("f32.gz", buf, n, 1), 0, 0, 2.0f, &t, msg, sizeof msg) == DNN_OK);
    CHECK(t.type == DNN_IDX_F32 && t.rank == 2 && t.items == 3 && t.item_size == 2);
    for (int i = 0; t.data && i < 6; i++)
        CHECK(t.data[i] == want[i] * 2.0f);
    dnn_idx_free(&t);
}

/* max_items reads a prefix; the header's dims stay as they are. */
static void read_max_items(void) {
    unsigned long dims[] = {5, 3};
    const char *file = put_u8("five", 2, dims, 0, 0);
    dnn_idx t;
    CHECK(dnn_idx_read(file, 2, 2, 1.0f, &t, msg, sizeof msg) == DNN_OK);
    CHECK(t.items == 2 && t.dims[0] == 5 && t.data && t.data[5] == 35.0f);
    dnn_idx_free(&t);
    CHECK(dnn_idx_read(file, 2, 9, 1.0f, &t, msg, sizeof msg) == DNN_OK);
    CHECK(t.items == 5);
    dnn_idx_free(&t);
}

static void read_no_items(void) {
    unsigned long dims[] = {0, 28, 28};
    dnn_idx t;
    CHECK(dnn_idx_read(put_u8("none", 3, dims, 0, 1), 3, 0, 1.0f, &t, msg, sizeof msg) == DNN_OK);
    CHECK(t.items == 0 && t.item_size == 784 && t.data != NULL);
    dnn_idx_free(&t);
}

/* ---- malformed files --------------------------------------------------------- */
static void bad_magic(void) {
    unsigned long dims[] = {2, 2};
    const char *file = put_u8("magic", 2, dims, 0, 0);
    FILE *f = fopen(file, "r+b");
    CHECK(f && fputc(1, f) == 1 && fclose(f) == 0);
    CHECK(read_fails(file, 0, 0, DNN_E_HEADER) && has("not an IDX file"));
    CHECK(read_fails(put("text.gz", "hello, world\n", 13, 1), 0, 0, DNN_E_HEADER));
}

static void bad_type(void) {
    unsigned char buf[16];
    unsigned long dims[] = {1};
    size_t n = header(buf, 0x0B, 1, dims); /* i16: valid IDX, not supported */
    buf[n++] = 0;
    buf[n++] = 1;
    CHECK(read_fails(put("i16", buf, n, 0), 0, 0, DNN_E_DTYPE) && has("0x0b"));
}

static void bad_rank(void) {
    unsigned char buf[64] = {0, 0, DNN_IDX_U8, 0};
    CHECK(read_fails(put("rank0", buf, 4, 0), 0, 0, DNN_E_HEADER) && has("rank 0"));
    buf[3] = DNN_IDX_MAX_RANK + 1;
    CHECK(read_fails(put("rank9", buf, sizeof buf, 0), 0, 0, DNN_E_HEADER));
}

static void rank_mismatch(void) {
    unsigned long dims[] = {2, 2, 2};
    CHECK(read_fails(put_u8("rank3", 3, dims, 0, 1), 1, 0, DNN_E_SHAPE) && has("rank 3, want 1"));
}

static void truncated_header(void) {
    unsigned char buf[16];
    unsigned long dims[] = {2, 2, 2};
    size_t n = header(buf, DNN_IDX_U8, 3, dims);
    CHECK(read_fails(put("empty", buf, 0, 0), 0, 0, DNN_E_TRUNCATED));
    CHECK(read_fails(put("magic3", buf, 3, 0), 0, 0, DNN_E_TRUNCATED));
    CHECK(read_fails(put("dims2", buf, n - 4, 1), 0, 0, DNN_E_TRUNCATED) && has("dimension bytes"));
}

static void truncated_data(void) {
    unsigned long dims[] = {4, 3, 3};
    CHECK(read_fails(put_u8("short", 3, dims, 1, 0), 3, 0, DNN_E_TRUNCATED) && has("item 3 (from 0) of 4"));
    CHECK(read_fails(put_u8("short.gz", 3, dims, 10, 1), 3, 0, DNN_E_TRUNCATED) && has("item 2 (from 0) of 4"));
    /* the item limit does not excuse a short file */
    CHECK(read_fails(put_u8("short2", 3, dims, 28, 0), 3, 2, DNN_E_TRUNCATED) && has("item 0"));
}

/* A gzip stream cut short, and one with its compressed bytes damaged. */
static void bad_gzip(void) {
    unsigned long dims[] = {100, 10, 10};
    const char *file = put_u8("cut.gz", 3, dims, 0, 1);
    static unsigned char gz[1 << 16];
    FILE *f = fopen(file, "rb");
    size_t n = f ? fread(gz, 1, sizeof gz, f) : 0;
    CHECK(f && fclose(f) == 0 && n > 100);
    CHECK(read_fails(put("cut.gz", gz, n / 2, 0), 3, 0, DNN_E_TRUNCATED));
    for (size_t i = 20; i < n - 8; i += 7)
        gz[i] ^= 0x55;
    CHECK(read_fails(put("damaged.gz", gz, n, 0), 3, 0, DNN_E_IO) && strstr(msg + strlen(path), path) == NULL);
}

static void dims_overflow(void) {
    unsigned char buf[64];
    unsigned long big[] = {0x80000000ul, 1};
    CHECK(read_fails(put("dim_big", buf, header(buf, DNN_IDX_U8, 2, big), 0), 0, 0, DNN_E_HEADER) &&
          has("dimension 0"));
    unsigned long product[] = {0x7fffffff, 0x7fffffff, 0x7fffffff};
    CHECK(read_fails(put("product", buf, header(buf, DNN_IDX_U8, 3, product), 0), 0, 0, DNN_E_HEADER) &&
          has("overflow"));
    /* no items, but an item size beyond any buffer */
    unsigned long empty[] = {0, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    CHECK(read_fails(put("product0", buf, header(buf, DNN_IDX_U8, 4, empty), 0), 0, 0, DNN_E_HEADER));
}

/* A header claiming 2^31 x 2^31 u8 elements on a file of a few bytes:
 * truncated, without trying to allocate 16 EB first (found by fuzzing). */
static void huge_claim(void) {
    unsigned char buf[64];
    unsigned long dims[] = {0x7fffffff, 0x7fffffff};
    size_t n = header(buf, DNN_IDX_U8, 2, dims);
    memset(buf + n, 1, 12);
    CHECK(read_fails(put("claim", buf, n + 12, 0), 0, 0, DNN_E_TRUNCATED) && has("item 0 (from 0)"));
}

#ifdef WRAP_REALLOC
/* Linked with -Wl,--wrap=realloc (tests/data/run.sh): the library's
 * reallocs, which make every reader's arrays, are counted here. */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static size_t reallocs, largest;
void *__wrap_realloc(void *p, size_t n) {
    reallocs++;
    largest = n > largest ? n : largest;
    return __real_realloc(p, n);
}

/* A file that holds what its header claims is read into one array, made
 * once (no copies as it grows), with either reader; a small file claiming
 * 2^31 - 1 items gets no more than its size allows before it is found
 * truncated (gzip: 1032 times its size, deflate's largest ratio). */
static void one_allocation(void) {
    unsigned long dims[] = {300, 10, 10}, claim[] = {0x7fffffff, 100};
    for (int gz = 0; gz < 2; gz++) {
        const char *file = put_u8(gz ? "one.gz" : "one", 3, dims, 0, gz);
        for (int bytes = 0; bytes < 2; bytes++) {
            dnn_idx t;
            reallocs = largest = 0;
            CHECK((bytes ? dnn_idx_read_bytes(file, 3, 0, &t, msg, sizeof msg)
                         : dnn_idx_read(file, 3, 0, 1.0f, &t, msg, sizeof msg)) == DNN_OK);
            CHECK(reallocs == 1 && largest == 30000 * (bytes ? 1 : sizeof(float)));
            dnn_idx_free(&t);
        }
        unsigned char buf[256];
        size_t n = header(buf, DNN_IDX_U8, 2, claim);
        memset(buf + n, 3, 200);
        reallocs = largest = 0;
        CHECK(read_fails(put(gz ? "claim.gz" : "claim", buf, n + 200, gz), 0, 0, DNN_E_TRUNCATED) && has("item 2 (from 0)"));
        CHECK(largest <= 1032 * 256 * sizeof(float));
    }
}
#endif

/* f32 elements that are NaN or infinite are refused, as in .npy and CSV. */
static void f32_not_finite(void) {
    static const unsigned char bits[][4] = {{0x7f, 0xc0, 0, 0}, {0xff, 0x80, 0, 0}};
    for (int k = 0; k < 2; k++) {
        unsigned char buf[64];
        unsigned long dims[] = {3};
        size_t n = header(buf, DNN_IDX_F32, 1, dims);
        memset(buf + n, 0, 12);
        memcpy(buf + n + 8, bits[k], 4);
        CHECK(read_fails(put("nan", buf, n + 12, 0), 1, 0, DNN_E_DTYPE) && has("element 2 (flat index) is not finite"));
    }
}

static void trailing_bytes(void) {
    unsigned char buf[32];
    unsigned long dims[] = {2, 2};
    size_t n = header(buf, DNN_IDX_U8, 2, dims);
    memset(buf + n, 9, 5);
    const char *file = put("trailing", buf, n + 5, 0);
    CHECK(read_fails(file, 2, 0, DNN_E_HEADER) && has("after the last"));
    dnn_idx t;
    CHECK(dnn_idx_read(file, 2, 1, 1.0f, &t, msg, sizeof msg) == DNN_OK); /* a prefix does not look further */
    dnn_idx_free(&t);
}

static void missing_file(void) {
    snprintf(path, sizeof path, "%s/no-such-file.gz", scratch);
    CHECK(read_fails(path, 0, 0, DNN_E_IO) && has("No such file"));
    CHECK(read_fails(scratch, 0, 0, DNN_E_IO)); /* a directory */
}

static void bad_arguments(void) {
    dnn_idx t;
    CHECK(dnn_idx_read(NULL, 0, 0, 1.0f, &t, msg, sizeof msg) == DNN_E_ARG && t.data == NULL);
    CHECK(dnn_idx_read("x", 0, 0, 1.0f, NULL, msg, sizeof msg) == DNN_E_ARG);
    CHECK(dnn_idx_read("x", -1, 0, 1.0f, &t, NULL, 0) == DNN_E_ARG);
    dnn_dataset d;
    CHECK(dnn_dataset_load("x", NULL, 4, 10, 0, 1.0f, &d, msg, sizeof msg) == DNN_E_ARG && d.x == NULL);
    CHECK(dnn_dataset_load("x", "y", 4, 0, 0, 1.0f, &d, msg, sizeof msg) == DNN_E_ARG);
    dnn_idx_free(NULL);
    dnn_dataset_free(NULL);
}

/* A message that does not fit is cut, still NUL-terminated. */
static void short_message(void) {
    char small[8];
    memset(small, 'x', sizeof small);
    dnn_idx t;
    snprintf(path, sizeof path, "%s/no-such-file.gz", scratch);
    CHECK(dnn_idx_read(path, 0, 0, 1.0f, &t, small, sizeof small) == DNN_E_IO);
    CHECK(small[7] == 0 && strncmp(small, scratch, 7) == 0);
}

/* ---- images + labels ----------------------------------------------------------- */
/* Writes images "img" (n x 2 x 2) and labels "lab" (m labels, i % 10 but one wrong). */
static char images[4096], labels[4096];
static void put_pair(int n, int m, int bad_at, int label_rank) {
    unsigned long idims[] = {(unsigned long)n, 2, 2};
    snprintf(images, sizeof images, "%s", put_u8("img.gz", 3, idims, 0, 1));
    unsigned char buf[256];
    unsigned long ldims[] = {(unsigned long)m, 1};
    size_t k = header(buf, DNN_IDX_U8, label_rank, ldims);
    for (int i = 0; i < m; i++)
        buf[k + (size_t)i] = (unsigned char)(i == bad_at ? 10 : i % 10);
    snprintf(labels, sizeof labels, "%s", put("lab", buf, k + (size_t)m, 0));
}

static int load_fails(int sample_size, int code) {
    dnn_dataset d;
    int rc = dnn_dataset_load(images, labels, sample_size, 10, 0, 1.0f, &d, msg, sizeof msg);
    CHECK(d.x == NULL && d.y == NULL && d.count == 0);
    if (rc != code && !check_why[0])
        snprintf(check_why, sizeof check_why, "got %d, want %d: %.400s", rc, code, msg);
    return rc == code;
}

static void dataset_load(void) {
    put_pair(12, 12, -1, 1);
    dnn_dataset d;
    CHECK(dnn_dataset_load(images, labels, 4, 10, 0, 1.0f / 255, &d, msg, sizeof msg) == DNN_OK);
    CHECK(d.count == 12 && d.sample_size == 4 && d.x && d.y);
    for (int i = 0; d.x && i < 48; i++)
        CHECK(d.x[i] == (float)(i * 7 % 256) * (1.0f / 255));
    for (int i = 0; d.y && i < 12; i++)
        CHECK(d.y[i] == i % 10);
    dnn_dataset_free(&d);
    CHECK(d.x == NULL && d.count == 0);
    CHECK(dnn_dataset_load(images, labels, 4, 10, 5, 1.0f, &d, msg, sizeof msg) == DNN_OK && d.count == 5);
    dnn_dataset_free(&d);
}

static void dataset_count_mismatch(void) {
    put_pair(12, 11, -1, 1);
    CHECK(load_fails(4, DNN_E_SHAPE) && has("12 images") && has("lab holds 11 labels"));
}

static void dataset_label_range(void) {
    put_pair(12, 12, 7, 1);
    CHECK(load_fails(4, DNN_E_SHAPE) && has("lab: label 10 at index 7 is not a class 0..9"));
}

static void dataset_sample_size(void) {
    put_pair(3, 3, -1, 1);
    CHECK(load_fails(784, DNN_E_SHAPE) && has("img.gz: 2x2 = 4 elements per image, want 784"));
}

static void dataset_labels_rank(void) {
    put_pair(3, 3, -1, 2);
    CHECK(load_fails(4, DNN_E_SHAPE) && has("lab: rank 2, want 1"));
}

/* Labels stored as f32 must still be whole numbers. */
static void dataset_label_fraction(void) {
    put_pair(2, 2, -1, 1);
    unsigned char buf[32];
    unsigned long dims[] = {2};
    size_t n = header(buf, DNN_IDX_F32, 1, dims);
    static const unsigned char one[4] = {0x3f, 0x80, 0, 0}, half[4] = {0x3f, 0, 0, 0}; /* 1.0f, 0.5f */
    memcpy(buf + n, one, 4);
    memcpy(buf + n + 4, half, 4);
    snprintf(labels, sizeof labels, "%s", put("lab", buf, n + 8, 0));
    CHECK(load_fails(4, DNN_E_SHAPE) && has("label 0.5 at index 1"));
}

/* ---- the real Fashion-MNIST files ----------------------------------------------- */
static void check_fashion(const char *dir, const char *prefix, int count, int per_class, int first) {
    char img[4096], lab[4096];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    dnn_idx t;
    CHECK(dnn_idx_read(img, 3, 1, 1.0f, &t, msg, sizeof msg) == DNN_OK);
    CHECK(t.dims[0] == count && t.dims[1] == 28 && t.dims[2] == 28);
    dnn_idx_free(&t);

    dnn_dataset d;
    CHECK(dnn_dataset_load(img, lab, 784, 10, 0, 1.0f / 255, &d, msg, sizeof msg) == DNN_OK);
    CHECK(d.count == count);
    int hist[10] = {0};
    for (int i = 0; i < d.count; i++)
        hist[d.y[i]]++;
    for (int k = 0; k < 10; k++)
        CHECK(hist[k] == per_class);
    float lo = 1, hi = 0;
    for (size_t i = 0; i < (size_t)d.count * 784; i++) {
        lo = d.x[i] < lo ? d.x[i] : lo;
        hi = d.x[i] > hi ? d.x[i] : hi;
    }
    CHECK(lo == 0.0f && hi == 1.0f);
    CHECK(d.count == 0 || d.y[0] == first);
    dnn_dataset_free(&d);
}

static const char *fashion;
static void fashion_train(void) { check_fashion(fashion, "train", 60000, 6000, 9); }
static void fashion_test(void) { check_fashion(fashion, "t10k", 10000, 1000, 9); }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH-DIR [FASHION-DIR]\n", argv[0]);
        return 2;
    }
    scratch = argv[1];
    RUN(read_u8_plain);
    RUN(read_u8_gzip);
    RUN(read_f32);
    RUN(read_max_items);
    RUN(read_no_items);
    RUN(bad_magic);
    RUN(bad_type);
    RUN(bad_rank);
    RUN(rank_mismatch);
    RUN(truncated_header);
    RUN(truncated_data);
    RUN(bad_gzip);
    RUN(dims_overflow);
    RUN(huge_claim);
#ifdef WRAP_REALLOC
    RUN(one_allocation);
#else
    printf("SKIP data.one_allocation: the linker has no --wrap\n");
#endif
    RUN(f32_not_finite);
    RUN(trailing_bytes);
    RUN(missing_file);
    RUN(bad_arguments);
    RUN(short_message);
    RUN(dataset_load);
    RUN(dataset_count_mismatch);
    RUN(dataset_label_range);
    RUN(dataset_sample_size);
    RUN(dataset_labels_rank);
    RUN(dataset_label_fraction);

    char probe[4096];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", argc > 2 ? argv[2] : "");
    FILE *f = argc > 2 ? fopen(probe, "rb") : NULL;
    if (f) {
        fclose(f);
        fashion = argv[2];
        RUN(fashion_train);
        RUN(fashion_test);
    } else {
        printf("SKIP data.fashion_train: Fashion-MNIST not installed (dataset-fashion-mnist)\n");
        printf("SKIP data.fashion_test: Fashion-MNIST not installed (dataset-fashion-mnist)\n");
    }
    return check_failures != 0;
}
