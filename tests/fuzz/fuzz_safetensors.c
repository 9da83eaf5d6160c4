/* fuzz_safetensors.c — libFuzzer target: the runtime's safetensors reader
 * (runtime/core/dnn_safetensors.c) on the bytes given.
 *
 * The generic views (dnn_st_count, dnn_st_at, dnn_st_find,
 * dnn_st_metadata), then loading into a compiled model with batchnorm
 * (tests/golden/cases/bn_dense.dnn, so the I64 num_batches_tracked path is
 * reached). Besides the sanitizers, the results are checked for sense:
 * views lie inside the buffer, a tensor listed is found by its name, a
 * failed load leaves the model as it was, and a file that loads saves to
 * an image that loads again to the same weights (bit for bit, but for
 * the batch counter, which is saved as an I64). A violation aborts,
 * which libFuzzer reports as a crash.
 */
#include "bn_dense.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void views(const uint8_t *data, size_t size) {
    int count = dnn_st_count(data, size);
    CHECK(count >= DNN_E_ARG);
    for (int i = 0; i < count; i++) {
        dnn_st_view v;
        CHECK(dnn_st_at(data, size, i, &v) == DNN_OK);
        const uint8_t *name = (const uint8_t *)v.name, *bytes = (const uint8_t *)v.data;
        CHECK(name >= data && v.name_len <= size && name + v.name_len <= data + size);
        CHECK(v.nbytes == 0 || (bytes >= data && v.nbytes <= size && bytes + v.nbytes <= data + size));
        CHECK(v.rank >= 0 && v.rank <= 8);
        if (v.name_len < 64 && !memchr(v.name, '\\', v.name_len) && !memchr(v.name, 0, v.name_len)) {
            char key[64];
            memcpy(key, v.name, v.name_len);
            key[v.name_len] = 0;
            dnn_st_view w;
            CHECK(dnn_st_find(data, size, key, &w) == DNN_OK);
        }
    }
    dnn_st_view none;
    CHECK(dnn_st_at(data, size, count > 0 ? count : 0, &none) != DNN_OK);
    static const char *const keys[] = {"dnn.scale", "dnn.labels", "dnn.format", "dnn.model", ""};
    for (int k = 0; k < 5; k++) {
        char small[4], big[256];
        int rc = dnn_st_metadata(data, size, keys[k], big, sizeof big);
        CHECK(rc != DNN_OK || strlen(big) < sizeof big);
        rc = dnn_st_metadata(data, size, keys[k], small, sizeof small);
        CHECK(rc != DNN_OK || strlen(small) < sizeof small);
    }
}

static void load(const uint8_t *data, size_t size) {
    static bn_dense_model m, again;
    bn_dense_init(&m, 1);
    bn_dense_model before = m;
    if (bn_dense_load(&m, data, size) != DNN_OK) {
        CHECK(!memcmp(m.params, before.params, sizeof m.params)); /* unchanged on error */
        return;
    }
    size_t len = bn_dense_save(&m, NULL, 0);
    unsigned char *image = malloc(len);
    CHECK(image && bn_dense_save(&m, image, len) == len);
    bn_dense_init(&again, 2);
    CHECK(bn_dense_load(&again, image, len) == DNN_OK);
    for (int i = 0; i < BN_DENSE_NUM_TENSORS; i++) {
        const char *name = bn_dense_tensors[i].name, *dot = strrchr(name, '.');
        if (dot && !strcmp(dot, ".num_batches_tracked"))
            continue; /* saved as I64: a NaN or a count beyond 2^63 is written as 0 */
        CHECK(!memcmp(bn_dense_tensor(&again, i), bn_dense_tensor(&m, i), sizeof(float) * (size_t)bn_dense_tensors[i].size));
    }
    free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    views(data, size);
    load(data, size);
    return 0;
}
