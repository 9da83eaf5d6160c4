/* test_augment.c — the augmentation transforms of runtime/data/dnn_augment.c
 * against torchvision 0.14 (transforms.safetensors, written by
 * make_goldens.py): hflip, pad + crop and bilinear rotation at fixed draws
 * on random images within 1e-5, printing the largest difference; exact
 * identities (a flip twice, a crop at the centre; a rotation by 0 or 360
 * degrees within rounding); and
 * the PNG encoder, whose stream zlib must inflate back to the pixels.
 * Usage: test_augment transforms.safetensors; prints PASS/FAIL augment.NAME.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dnn.h"
#include "dnn_augment.h"
#include "dnn_host.h"

#define CHECK_SUITE "augment"
#include "../check.h"

#define TOL 1e-5f

static void *golden;
static size_t golden_len;

/* The F32 tensor `name` of the golden file, with its dims in shape[]; NULL if absent. */
static const float *tensor(const char *name, int64_t *shape, int *rank) {
    dnn_st_view v;
    if (dnn_st_find(golden, golden_len, name, &v) != DNN_OK || v.dtype != DNN_DT_F32)
        return NULL;
    if (shape)
        memcpy(shape, v.shape, sizeof v.shape);
    if (rank)
        *rank = v.rank;
    return v.data; /* the writer aligns tensors to 8 bytes */
}

/* Every case of the golden file for one transform: its largest difference. */
static float worst_of(int op, int *cases) {
    static const char *const names[] = {"hflip", "crop", "rotate"};
    float worst = 0;
    char name[64];
    *cases = 0;
    for (int k = 0;; k++) {
        snprintf(name, sizeof name, "case.%d", k);
        const float *c = tensor(name, NULL, NULL);
        if (!c)
            break;
        if ((int)c[0] != op)
            continue;
        int64_t shape[8] = {0};
        int rank = 0;
        snprintf(name, sizeof name, "image.%d", (int)c[1]);
        const float *img = tensor(name, shape, &rank);
        snprintf(name, sizeof name, "want.%d", k);
        const float *want = tensor(name, NULL, NULL);
        CHECK(img && want && rank == 3);
        if (!img || !want || rank != 3)
            return INFINITY;
        const int ch = (int)shape[0], h = (int)shape[1], w = (int)shape[2], n = ch * h * w;
        float *got = calloc((size_t)n, sizeof(float));
        if (op == 0) {
            memcpy(got, img, sizeof(float) * (size_t)n);
            dnn_aug_hflip(got, ch, h, w);
        } else if (op == 1) {
            dnn_aug_crop(got, img, ch, h, w, (int)c[2], (int)c[3], (int)c[4]);
        } else {
            dnn_aug_rotate(got, img, ch, h, w, c[2]);
        }
        float err = 0;
        for (int i = 0; i < n; i++)
            if (!(fabsf(got[i] - want[i]) <= err))
                err = fabsf(got[i] - want[i]);
        if (err > TOL && !check_why[0])
            snprintf(check_why, sizeof check_why, "%s case %d (%g, %g, %g) on [%d, %d, %d]: error %.3g > %g", names[op],
                     k, c[2], c[3], c[4], ch, h, w, err, TOL);
        if (!(err <= worst))
            worst = err;
        free(got);
        (*cases)++;
    }
    CHECK(*cases > 0);
    snprintf(check_note, sizeof check_note, "%d cases, largest difference %.3g (tolerance %g)", *cases, worst, TOL);
    return worst;
}

static void hflip_vs_torchvision(void) {
    int n;
    CHECK(worst_of(0, &n) == 0); /* a copy: exact */
}

static void crop_vs_torchvision(void) {
    int n;
    CHECK(worst_of(1, &n) == 0);
}

static void rotate_vs_torchvision(void) {
    int n;
    worst_of(2, &n);
}

/* A random image [c][h][w] in [0, 1). */
static float *random_image(int n, uint64_t seed) {
    float *img = calloc((size_t)n, sizeof(float));
    dnn_rng rng;
    dnn_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++)
        img[i] = dnn_rng_float(&rng);
    return img;
}

static void identities(void) {
    const int c = 3, h = 9, w = 12, n = c * h * w;
    float *img = random_image(n, 1), *out = calloc((size_t)n, sizeof(float)), *twice = calloc((size_t)n, sizeof(float));
    memcpy(twice, img, sizeof(float) * (size_t)n);
    dnn_aug_hflip(twice, c, h, w);
    CHECK(memcmp(twice, img, sizeof(float) * (size_t)n) != 0);
    dnn_aug_hflip(twice, c, h, w);
    CHECK(memcmp(twice, img, sizeof(float) * (size_t)n) == 0);
    dnn_aug_crop(out, img, c, h, w, 4, 4, 4); /* the window where the image was */
    CHECK(memcmp(out, img, sizeof(float) * (size_t)n) == 0);
    dnn_aug_crop(out, img, c, h, w, 4, 0, 8); /* 4 rows down, 4 columns left: zeros enter top and right */
    CHECK(out[0] == 0 && out[3 * w + w - 1] == 0 && out[4 * w] == img[4]);
    for (int turn = 0; turn <= 360; turn += 360) { /* within rounding: x / (w/2) is not exact */
        dnn_aug_rotate(out, img, c, h, w, turn);
        for (int i = 0; i < n; i++)
            CHECK(fabsf(out[i] - img[i]) < 1e-5f);
    }
    free(img);
    free(out);
    free(twice);
}

/* The PNG's IDAT, inflated by zlib, is the rows each led by filter byte 0. */
static void png(void) {
    const int w = 5, h = 70000 / 5 + 3, ch = 3; /* more than one stored block */
    unsigned char *pix = malloc((size_t)w * h * ch);
    for (int i = 0; i < w * h * ch; i++)
        pix[i] = (unsigned char)(i * 7 + i / 13);
    size_t len = dnn_png_encode(NULL, 0, pix, w, h, ch);
    unsigned char *buf = malloc(len);
    CHECK(dnn_png_encode(buf, len, pix, w, h, ch) == len);
    CHECK(!memcmp(buf, "\x89PNG\r\n\x1a\n", 8) && !memcmp(buf + 12, "IHDR", 4) && buf[25] == 2);
    CHECK(crc32(0, buf + 12, 17) == ((uLong)buf[29] << 24 | (uLong)buf[30] << 16 | (uLong)buf[31] << 8 | buf[32]));
    const unsigned char *idat = buf + 33;
    uLong zlen = (uLong)idat[0] << 24 | (uLong)idat[1] << 16 | (uLong)idat[2] << 8 | idat[3];
    CHECK(!memcmp(idat + 4, "IDAT", 4));
    uLongf raw_len = (uLongf)(1 + w * ch) * h + 1;
    unsigned char *raw = malloc(raw_len);
    CHECK(uncompress(raw, &raw_len, idat + 8, zlen) == Z_OK && raw_len == (uLongf)(1 + w * ch) * h);
    for (int y = 0; y < h; y++) {
        CHECK(raw[y * (1 + w * ch)] == 0);
        CHECK(!memcmp(raw + y * (1 + w * ch) + 1, pix + y * w * ch, (size_t)w * ch));
    }
    CHECK(!memcmp(buf + len - 8, "IEND", 4));
    free(raw);
    free(buf);
    free(pix);
}

int main(int argc, char **argv) {
    if (argc != 2 || dnn_read_file_alloc(argv[1], &golden, &golden_len) != DNN_OK) {
        printf("FAIL augment.golden: cannot read %s\n", argc > 1 ? argv[1] : "(no file given)");
        return 1;
    }
    RUN(hflip_vs_torchvision);
    RUN(crop_vs_torchvision);
    RUN(rotate_vs_torchvision);
    RUN(identities);
    RUN(png);
    free(golden);
    return FAILED();
}
