/* test_safetensors.c — safetensors reading, loading and saving.
 *
 * Usage: test_safetensors FIXTURE OUTDIR. FIXTURE is fixture.safetensors,
 * written by make_fixture.py with Python's json and struct; saved images
 * go to OUTDIR for make_fixture.py --check and --torch to read back.
 *
 * Malformed headers are a table: each case is a JSON header (plus a data
 * area of some length) and the code dnn_safetensors_load must return; on
 * every error the destination must be byte-for-byte unchanged.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "dnn.h"

/* The model most cases load: three tensors, 40 bytes of data. */
static const dnn_tensor_info model[] = {
    {"fc1.weight", 2, {3, 2, 0, 0}, 6, 1, 0},
    {"fc1.bias", 1, {3, 0, 0, 0}, 3, 1, 0},
    {"scale", 0, {0, 0, 0, 0}, 1, 0, 0},
};
#define MODEL_COUNT 3

static float w[6], b[3], s[1];
static float *const dst[MODEL_COUNT] = {w, b, s};

static unsigned char image[4096]; /* the file a case builds */

/* Fills the model's tensors with a pattern no load produces. */
static void poison(void) {
    memset(w, 0xA5, sizeof w);
    memset(b, 0xA5, sizeof b);
    memset(s, 0xA5, sizeof s);
}

static int poisoned(void) {
    float p[6];
    memset(p, 0xA5, sizeof p);
    return !memcmp(w, p, sizeof w) && !memcmp(b, p, sizeof b) && !memcmp(s, p, sizeof s);
}

/* Were the tensors loaded from data() below: w = 1..6, b = 7..9, s = 10? */
static int loaded(void) {
    int i;
    for (i = 0; i < 6; i++)
        if (w[i] != (float)(i + 1))
            return 0;
    return b[0] == 7 && b[1] == 8 && b[2] == 9 && s[0] == 10;
}

static void put_u64(unsigned char *p, uint64_t v) {
    int i;
    for (i = 0; i < 8; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

/* image = length prefix, header, ndata bytes of floats 1, 2, 3, ...
 * (little-endian, whatever the host). Returns the image's length. */
static size_t build(const char *header, size_t ndata) {
    size_t n = strlen(header), i;
    put_u64(image, n);
    memcpy(image + 8, header, n);
    for (i = 0; i < ndata; i++) {
        float f = (float)(i / 4 + 1);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        image[8 + n + i] = (unsigned char)(bits >> (8 * (i % 4)));
    }
    return 8 + n + ndata;
}

/* ---- Malformed and edge-case headers ----------------------------------- */

#define T(name, dtype, shape, offsets) \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":[" shape "],\"data_offsets\":[" offsets "]}"
#define W T("fc1.weight", "F32", "3,2", "0,24")
#define B T("fc1.bias", "F32", "3", "24,36")
#define S T("scale", "F32", "", "36,40")
#define EXTRA(dtype, shape, offsets) T("extra", dtype, shape, offsets)
#define COUNTER(name, offsets) T(name, "I64", "", offsets)

static const struct {
    const char *name;   /* the test's name */
    const char *header; /* JSON */
    size_t ndata;       /* bytes of data after it */
    int want;           /* what loading returns */
} cases[] = {
    {"ok", "{" W "," B "," S "}", 40, DNN_OK},
    {"ok_metadata", "{\"__metadata__\":{\"format\":\"pt\",\"a\\\"b\":\"\"}," W "," B "," S "}", 40, DNN_OK},
    {"ok_metadata_empty_last", "{" W "," B "," S ",\"__metadata__\":{}}", 40, DNN_OK},
    {"ok_whitespace", " \t{\n" W " ,\r\n" B " , " S " }    ", 40, DNN_OK},
    {"ok_escaped_name", "{" W ",\"fc1\\u002ebias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]},"
                        S "}", 40, DNN_OK},
    {"ok_key_order", "{" W "," B ",\"scale\":{\"data_offsets\":[36,40],\"shape\":[],\"dtype\":\"F32\"}}", 40, DNN_OK},
    {"ok_trailing_data", "{" W "," B "," S "}", 48, DNN_OK},
    {"ok_order_of_tensors", "{" S "," B "," W "}", 40, DNN_OK},
    {"ok_counter_ignored", "{" W "," B "," S "," COUNTER("bn.num_batches_tracked", "40,48") "}", 48, DNN_OK},
    {"empty_header", "", 40, DNN_E_HEADER},
    {"not_json", "hello", 40, DNN_E_HEADER},
    {"not_object", "[]", 40, DNN_E_HEADER},
    {"truncated_json", "{" W "," B "," S, 40, DNN_E_HEADER},
    {"truncated_string", "{\"fc1.wei", 40, DNN_E_HEADER},
    {"trailing_garbage", "{" W "," B "," S "}x", 40, DNN_E_HEADER},
    {"trailing_comma", "{" W "," B "," S ",}", 40, DNN_E_HEADER},
    {"missing_comma", "{" W B "," S "}", 40, DNN_E_HEADER},
    {"missing_colon", "{\"scale\"{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[36,40]}}", 40, DNN_E_HEADER},
    {"single_quotes", "{'scale':{'dtype':'F32','shape':[],'data_offsets':[36,40]}}", 40, DNN_E_HEADER},
    {"null_tensor", "{" W "," B ",\"scale\":null}", 40, DNN_E_HEADER},
    {"metadata_number", "{\"__metadata__\":{\"a\":1}," W "," B "," S "}", 40, DNN_E_HEADER},
    {"metadata_nested", "{\"__metadata__\":{\"a\":{\"b\":\"c\"}}," W "," B "," S "}", 40, DNN_E_HEADER},
    {"metadata_twice", "{\"__metadata__\":{}," W "," B "," S ",\"__metadata__\":{}}", 40, DNN_E_DUPLICATE},
    {"bad_escape", "{" W "," B "," S "," T("x\\q", "F32", "0", "40,40") "}", 40, DNN_E_HEADER},
    {"bad_hex_escape", "{" W "," B "," S "," T("x\\u12g4", "F32", "0", "40,40") "}", 40, DNN_E_HEADER},
    {"lone_low_surrogate", "{" W "," B "," S "," T("x\\udc00", "F32", "0", "40,40") "}", 40, DNN_E_HEADER},
    {"lone_high_surrogate", "{" W "," B "," S "," T("x\\ud800y", "F32", "0", "40,40") "}", 40, DNN_E_HEADER},
    {"control_char", "{" W "," B "," S "," T("x\ty", "F32", "0", "40,40") "}", 40, DNN_E_HEADER},
    {"unknown_key", "{" W "," B ",\"scale\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[36,40],\"x\":1}}", 40,
     DNN_E_HEADER},
    {"missing_key", "{" W "," B ",\"scale\":{\"dtype\":\"F32\",\"data_offsets\":[36,40]}}", 40, DNN_E_HEADER},
    {"repeated_key", "{" W "," B ",\"scale\":{\"dtype\":\"F32\",\"shape\":[],\"dtype\":\"F32\",\"data_offsets\":[36,40]}}",
     40, DNN_E_HEADER},
    {"dtype_not_string", "{" W "," B ",\"scale\":{\"dtype\":32,\"shape\":[],\"data_offsets\":[36,40]}}", 40,
     DNN_E_HEADER},
    {"wrong_dtype", "{" W "," T("fc1.bias", "I32", "3", "24,36") "," S "}", 40, DNN_E_DTYPE},
    {"unknown_dtype", "{" W "," T("fc1.bias", "Q4", "3", "24,36") "," S "}", 40, DNN_E_DTYPE},
    {"wrong_shape", "{" T("fc1.weight", "F32", "2,3", "0,24") "," B "," S "}", 40, DNN_E_SHAPE},
    {"wrong_rank", "{" T("fc1.weight", "F32", "6", "0,24") "," B "," S "}", 40, DNN_E_SHAPE},
    {"scalar_as_vector", "{" W "," B "," T("scale", "F32", "1", "36,40") "}", 40, DNN_E_SHAPE},
    {"missing_tensor", "{" W "," S "}", 40, DNN_E_MISSING},
    {"missing_all", "{}", 0, DNN_E_MISSING},
    {"unknown_tensor", "{" W "," B "," S "," EXTRA("F32", "1", "40,44") "}", 44, DNN_E_UNKNOWN},
    {"counter_needs_dot", "{" W "," B "," S "," COUNTER("num_batches_tracked", "40,48") "}", 48, DNN_E_UNKNOWN},
    {"counter_needs_suffix", "{" W "," B "," S "," COUNTER("bn_num_batches_tracked", "40,48") "}", 48, DNN_E_UNKNOWN},
    {"rank_8_valid", "{" W "," B "," S "," EXTRA("F32", "1,1,1,1,1,1,1,1", "40,44") "}", 44, DNN_E_UNKNOWN},
    {"duplicate_tensor", "{" W "," B "," S "," T("fc1.bias", "F32", "3", "40,52") "}", 52, DNN_E_DUPLICATE},
    {"duplicate_escaped", "{" W "," B "," S "," T("fc1\\u002ebias", "F32", "3", "40,52") "}", 52, DNN_E_DUPLICATE},
    {"duplicate_counter", "{" W "," B "," S "," COUNTER("bn.num_batches_tracked", "40,48") ","
                          COUNTER("bn.num_batches_tracked", "48,56") "}", 56, DNN_E_DUPLICATE},
    {"data_truncated", "{" W "," B "," S "}", 36, DNN_E_TRUNCATED},
    {"offset_huge", "{" W "," B "," T("scale", "F32", "", "36,18446744073709551615") "}", 40, DNN_E_TRUNCATED},
    {"offsets_reversed", "{" W "," B "," T("scale", "F32", "", "40,36") "}", 40, DNN_E_HEADER},
    {"offsets_size_mismatch", "{" W "," T("fc1.bias", "F32", "3", "24,32") "," S "}", 40, DNN_E_HEADER},
    {"offsets_overlap", "{" W "," T("fc1.bias", "F32", "3", "20,32") "," S "}", 40, DNN_E_HEADER},
    {"offsets_three", "{" W "," B "," T("scale", "F32", "", "36,40,40") "}", 40, DNN_E_HEADER},
    {"offsets_one", "{" W "," B "," T("scale", "F32", "", "36") "}", 40, DNN_E_HEADER},
    {"negative_dim", "{" T("fc1.weight", "F32", "-3,2", "0,24") "," B "," S "}", 40, DNN_E_HEADER},
    {"negative_offset", "{" W "," B "," T("scale", "F32", "", "-4,0") "}", 40, DNN_E_HEADER},
    {"fraction_dim", "{" T("fc1.weight", "F32", "3.0,2", "0,24") "," B "," S "}", 40, DNN_E_HEADER},
    {"exponent_dim", "{" T("fc1.weight", "F32", "3e0,2", "0,24") "," B "," S "}", 40, DNN_E_HEADER},
    {"leading_zero", "{" T("fc1.weight", "F32", "03,2", "0,24") "," B "," S "}", 40, DNN_E_HEADER},
    {"string_dim", "{" T("fc1.weight", "F32", "\"3\",2", "0,24") "," B "," S "}", 40, DNN_E_HEADER},
    {"dim_over_u64", "{" W "," B "," S "," EXTRA("F32", "18446744073709551616", "40,40") "}", 40, DNN_E_HEADER},
    {"dim_over_i64", "{" W "," B "," S "," EXTRA("Q4", "9223372036854775808", "40,40") "}", 40, DNN_E_HEADER},
    {"numel_wraps_to_0", "{" W "," B "," S "," EXTRA("F32", "4294967296,4294967296", "40,40") "}", 40,
     DNN_E_HEADER},
    {"bytes_wrap_to_0", "{" W "," B "," S "," EXTRA("F32", "4611686018427387904", "40,40") "}", 40, DNN_E_HEADER},
    {"rank_9", "{" W "," B "," S "," EXTRA("F32", "1,1,1,1,1,1,1,1,1", "40,44") "}", 44, DNN_E_HEADER},
    {"rank_9_other_dtype", "{" W "," B "," S "," EXTRA("Q4", "1,1,1,1,1,1,1,1,1", "40,44") "}", 44, DNN_E_HEADER},
    {"offsets_reversed_other_dtype", "{" W "," B "," S "," EXTRA("Q4", "1", "44,40") "}", 44, DNN_E_HEADER},
};

/* One reported test per case. Errors about the image itself (not about
 * the model) must also come from dnn_st_count. */
static void load_cases(void) {
    char name[96], why[200];
    unsigned i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = build(cases[i].header, cases[i].ndata);
        int want = cases[i].want, r, count;
        poison();
        r = dnn_safetensors_load(model, dst, MODEL_COUNT, image, len);
        CHECK_MSG(r == want, dnn_strerror(r));
        CHECK(want == DNN_OK ? loaded() : poisoned());
        /* dnn_safetensors_check agrees, and says why */
        r = dnn_safetensors_check(model, MODEL_COUNT, image, len, why, sizeof why);
        CHECK_MSG(r == want, dnn_strerror(r));
        CHECK(want == DNN_OK ? why[0] == 0 : why[0] != 0);
        count = dnn_st_count(image, len);
        if (want == DNN_E_HEADER || want == DNN_E_TRUNCATED || want == DNN_E_DUPLICATE)
            CHECK(count == want);
        else
            CHECK(count >= 0);
        snprintf(name, sizeof name, "load_%s", cases[i].name);
        check_report(name);
    }
}

/* dnn_safetensors_check's reasons name the tensor, with both shapes. */
static void check_messages(void) {
    static const struct {
        const char *header;
        size_t ndata;
        const char *want;
    } cases[] = {
        {"{" T("fc1.weight", "F32", "2,3", "0,24") "," B "," S "}", 40,
         "'fc1.weight' is [2, 3] in the file, [3, 2] in the model"},
        {"{" W "," B "," T("scale", "F32", "1", "36,40") "}", 40, "'scale' is [1] in the file, [] in the model"},
        {"{" W "," T("fc1.bias", "F64", "3", "40,64") "," S "}", 64, "'fc1.bias' is F64 in the file; the model takes F32"},
        {"{" W "," T("fc1.bias", "Q4", "3", "24,36") "," S "}", 40,
         "'fc1.bias' is an unknown dtype in the file; the model takes F32"},
        {"{" W "," S "}", 40, "'fc1.bias' [3] is missing from the file"},
        {"{" W "," B "," S "," T("ex\\u0074ra", "F32", "1", "40,44") "}", 44,
         "the file holds 'extra' [1], which the model does not have"},
        {"{" W "," B "," S "," T("fc1.bias", "F32", "3", "40,52") "}", 52, "name appears twice"},
    };
    char msg[200], tiny[12];
    unsigned i;
    size_t len;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        len = build(cases[i].header, cases[i].ndata);
        dnn_safetensors_check(model, MODEL_COUNT, image, len, msg, sizeof msg);
        CHECK_MSG(!strcmp(msg, cases[i].want), msg);
    }
    CHECK(dnn_safetensors_check(model, MODEL_COUNT, image, 0, msg, sizeof msg) == DNN_E_HEADER);
    CHECK(!strcmp(msg, "the file is empty, not a safetensors file"));
    CHECK(dnn_safetensors_check(model, MODEL_COUNT, image, 5, msg, sizeof msg) == DNN_E_HEADER);
    CHECK(!strcmp(msg, "5 bytes, too short for a safetensors file"));
    len = build("{" W "," S "}", 40);
    CHECK(dnn_safetensors_check(model, MODEL_COUNT, image, len, tiny, sizeof tiny) == DNN_E_MISSING);
    CHECK(!strcmp(tiny, "'fc1.bias' ")); /* cut to the buffer, terminated */
    CHECK(dnn_safetensors_check(model, MODEL_COUNT, image, len, NULL, 0) == DNN_E_MISSING);
    CHECK(dnn_safetensors_check(model, -1, image, len, msg, sizeof msg) == DNN_E_ARG && !strcmp(msg, "bad arguments"));
}

/* Images too short for their length prefix, or with an absurd one. */
static void load_bad_length(void) {
    static const uint64_t lengths[] = {1000, 100000001u, (uint64_t)1 << 63, UINT64_MAX};
    static const int want[] = {DNN_E_TRUNCATED, DNN_E_HEADER, DNN_E_HEADER, DNN_E_HEADER};
    unsigned i;
    size_t len;
    poison();
    CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, NULL, 0) == DNN_E_HEADER);
    CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, image, 0) == DNN_E_HEADER);
    len = build("{" W "," B "," S "}", 40);
    CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, image, 7) == DNN_E_HEADER);
    CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, image, len - 41) == DNN_E_TRUNCATED);
    CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, NULL, len) == DNN_E_ARG);
    for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        put_u64(image, lengths[i]);
        CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, image, len) == want[i]);
        CHECK(dnn_st_count(image, len) == want[i]);
    }
    CHECK(poisoned());
}

static void load_unaligned(void) {
    static unsigned char shifted[sizeof image + 1];
    size_t len = build("{" W "," B "," S "}", 40);
    memcpy(shifted + 1, image, len);
    poison();
    CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, shifted + 1, len) == DNN_OK);
    CHECK(loaded());
}

static void load_bad_args(void) {
    static const dnn_tensor_info bad_size[] = {{"scale", 1, {2, 0, 0, 0}, 3, 0, 0}};
    static const dnn_tensor_info no_name[] = {{NULL, 0, {0, 0, 0, 0}, 1, 0, 0}};
    float *const no_dst[MODEL_COUNT] = {w, NULL, s};
    size_t len = build("{" W "," B "," S "}", 40);
    poison();
    CHECK(dnn_safetensors_load(model, dst, -1, image, len) == DNN_E_ARG);
    CHECK(dnn_safetensors_load(NULL, dst, MODEL_COUNT, image, len) == DNN_E_ARG);
    CHECK(dnn_safetensors_load(model, no_dst, MODEL_COUNT, image, len) == DNN_E_ARG);
    CHECK(dnn_safetensors_load(bad_size, dst, 1, image, len) == DNN_E_ARG);
    CHECK(dnn_safetensors_load(no_name, dst, 1, image, len) == DNN_E_ARG);
    CHECK(dnn_safetensors_load(NULL, NULL, 0, image, len) == DNN_E_UNKNOWN);
    CHECK(poisoned());
    len = build("{}", 0);
    CHECK(dnn_safetensors_load(NULL, NULL, 0, image, len) == DNN_OK);
}

/* ---- Reading views ------------------------------------------------------ */

static void st_views(void) {
    dnn_st_view v;
    size_t len = build("{\"__metadata__\":{}," T("a", "F64", "2", "0,16") "," T("b\\n", "I32", "1,1", "16,20") ","
                       T("c", "I64", "", "20,28") "," T("d", "U8", "3", "28,31") "," T("e", "BF16", "2", "32,36") ","
                       T("f", "Q4", "7", "36,40") "}", 40);
    CHECK(dnn_st_count(image, len) == 6);
    CHECK(dnn_st_at(image, len, 0, &v) == DNN_OK && v.dtype == DNN_DT_F64 && v.rank == 1 && v.shape[0] == 2);
    CHECK(v.name_len == 1 && v.name[0] == 'a' && v.nbytes == 16 && v.data == image + len - 40);
    CHECK(dnn_st_at(image, len, 1, &v) == DNN_OK && v.dtype == DNN_DT_I32 && v.rank == 2);
    CHECK(v.name_len == 3 && !memcmp(v.name, "b\\n", 3)); /* raw, escapes not decoded */
    CHECK(dnn_st_find(image, len, "b\n", &v) == DNN_OK && v.nbytes == 4);
    CHECK(dnn_st_find(image, len, "c", &v) == DNN_OK && v.dtype == DNN_DT_I64 && v.rank == 0);
    CHECK(dnn_st_find(image, len, "d", &v) == DNN_OK && v.dtype == DNN_DT_U8 && v.nbytes == 3);
    CHECK(dnn_st_find(image, len, "e", &v) == DNN_OK && v.dtype == DNN_DT_OTHER && v.nbytes == 4);
    CHECK(dnn_st_find(image, len, "f", &v) == DNN_OK && v.dtype == DNN_DT_OTHER && v.shape[0] == 7);
    CHECK(dnn_st_find(image, len, "__metadata__", &v) == DNN_E_MISSING);
    CHECK(dnn_st_find(image, len, "g", &v) == DNN_E_MISSING);
    CHECK(dnn_st_at(image, len, 6, &v) == DNN_E_ARG && dnn_st_at(image, len, -1, &v) == DNN_E_ARG);
    /* a known dtype's size is checked: BF16 [2] is 4 bytes, not 3 */
    len = build("{" T("e", "BF16", "2", "0,3") "}", 4);
    CHECK(dnn_st_count(image, len) == DNN_E_HEADER);
}

/* A UTF-8 name matches its \u escape, and a surrogate pair its 4-byte form. */
static void st_unicode_names(void) {
    dnn_st_view v;
    size_t len = build("{" T("caf\\u00e9", "U8", "1", "0,1") "," T("\\ud83d\\ude00", "U8", "1", "1,2") ","
                       T("\\u20ac", "U8", "1", "2,3") "}", 3);
    CHECK(dnn_st_count(image, len) == 3);
    CHECK(dnn_st_find(image, len, "caf\xc3\xa9", &v) == DNN_OK && v.nbytes == 1);
    CHECK(dnn_st_find(image, len, "\xf0\x9f\x98\x80", &v) == DNN_OK && v.data == image + len - 2);
    CHECK(dnn_st_find(image, len, "\xe2\x82\xac", &v) == DNN_OK && v.data == image + len - 1);
    CHECK(dnn_st_find(image, len, "cafe", &v) == DNN_E_MISSING);
}

/* ---- Saving -------------------------------------------------------------- */

/* The exact bytes for a small model: header text, padding, data order. */
static void save_golden(void) {
    static const char header[] =
        "{\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
        "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]},"
        "\"scale\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[36,40]}}";
    static const float wv[6] = {1, 2, 3, 4, 5, 6}, bv[3] = {7, 8, 9}, sv[1] = {-2};
    const float *const src[MODEL_COUNT] = {wv, bv, sv};
    size_t hlen = (sizeof header - 1 + 7) / 8 * 8, n, i;
    n = dnn_safetensors_save(model, src, MODEL_COUNT, image, sizeof image);
    CHECK(n == 8 + hlen + 40);
    CHECK(image[0] == hlen && !memcmp(image + 1, "\0\0\0\0\0\0\0", 7));
    CHECK(!memcmp(image + 8, header, sizeof header - 1));
    for (i = sizeof header - 1; i < hlen; i++)
        CHECK(image[8 + i] == ' ');
    CHECK(!memcmp(image + 8 + hlen, "\x00\x00\x80\x3f\x00\x00\x00\x40", 8)); /* 1.0f, 2.0f */
    CHECK(!memcmp(image + n - 4, "\x00\x00\x00\xc0", 4));                    /* -2.0f */
}

/* Saved then loaded, floats come back bit for bit, special values too. */
static void save_roundtrip(void) {
    static const dnn_tensor_info info[] = {{"a", 4, {2, 1, 3, 1}, 6, 1, 0}, {"b", 1, {4, 0, 0, 0}, 4, 1, 0}};
    float a[6] = {0.0f, -0.0f, INFINITY, -INFINITY, FLT_MIN / 4, FLT_MAX}, bv[4] = {1e-45f, -1.0f / 3, 0, 0};
    float a2[6], b2[4];
    const float *const src[2] = {a, bv};
    float *const out[2] = {a2, b2};
    uint32_t nan_bits = 0x7fc12345u;
    size_t n;
    memcpy(&bv[2], &nan_bits, 4);
    bv[3] = -NAN;
    n = dnn_safetensors_save(info, src, 2, image, sizeof image);
    CHECK(n > 0 && n <= sizeof image);
    CHECK(dnn_safetensors_load(info, out, 2, image, n) == DNN_OK);
    CHECK(!memcmp(a, a2, sizeof a) && !memcmp(bv, b2, sizeof bv));
}

/* An int8 model's tensors (dtype I8, I32) are saved as such, little-endian,
 * and read back through dnn_st_find with their dtype. */
static void save_int8(void) {
    static const dnn_tensor_info info[] = {{"w", 1, {3, 0, 0, 0}, 3, 0, DNN_DT_I8},
                                           {"b", 1, {2, 0, 0, 0}, 2, 0, DNN_DT_I32},
                                           {"s", 0, {0, 0, 0, 0}, 1, 0, DNN_DT_F32}};
    static const int8_t w[3] = {-128, 0, 127};
    static const int32_t b[2] = {-2, 65536};
    static const float sc = 0.5f;
    const float *const src[3] = {(const float *)(const void *)w, (const float *)(const void *)b, &sc};
    dnn_st_view t;
    size_t n = dnn_safetensors_save(info, src, 3, image, sizeof image);
    CHECK(n > 0 && n <= sizeof image);
    CHECK(dnn_st_find(image, n, "w", &t) == DNN_OK && t.dtype == DNN_DT_I8 && t.nbytes == 3 &&
          !memcmp(t.data, "\x80\x00\x7f", 3));
    CHECK(dnn_st_find(image, n, "b", &t) == DNN_OK && t.dtype == DNN_DT_I32 && t.nbytes == 8 &&
          !memcmp(t.data, "\xfe\xff\xff\xff\x00\x00\x01\x00", 8));
    CHECK(dnn_st_find(image, n, "s", &t) == DNN_OK && t.dtype == DNN_DT_F32 && !memcmp(t.data, "\x00\x00\x00\x3f", 4));
}

/* __metadata__ pairs are written, read back decoded, and ignored by the loader. */
static void save_metadata(void) {
    static const dnn_tensor_info info[] = {{"w", 1, {3, 0, 0, 0}, 3, 1, 0}};
    static const char *const meta[] = {"dnn.scale", "0.00392156", "quote\"key", "line\nbreak \\ \xc3\xa9"};
    float w[3] = {1, 2, 3}, w2[3];
    const float *const src[1] = {w};
    float *const out[1] = {w2};
    char value[64];
    size_t n = dnn_safetensors_save_meta(info, src, 1, meta, 2, image, sizeof image);
    CHECK(n > 0 && n <= sizeof image);
    CHECK(dnn_safetensors_load(info, out, 1, image, n) == DNN_OK && !memcmp(w, w2, sizeof w));
    CHECK(dnn_st_count(image, n) == 1);
    CHECK(dnn_st_metadata(image, n, "dnn.scale", value, sizeof value) == DNN_OK && !strcmp(value, "0.00392156"));
    CHECK(dnn_st_metadata(image, n, "quote\"key", value, sizeof value) == DNN_OK && !strcmp(value, meta[3]));
    CHECK(dnn_st_metadata(image, n, "absent", value, sizeof value) == DNN_E_MISSING);
    CHECK(dnn_st_metadata(image, n, "dnn.scale", value, 5) == DNN_E_SPACE);
    CHECK(dnn_safetensors_save_meta(info, src, 1, NULL, 1, image, sizeof image) == 0);
    n = dnn_safetensors_save(info, src, 1, image, sizeof image);
    CHECK(dnn_st_metadata(image, n, "dnn.scale", value, sizeof value) == DNN_E_MISSING);
}

/* Same tensors, same bytes; a short buffer is left alone. */
static void save_deterministic(void) {
    static unsigned char other[sizeof image];
    static const float wv[6] = {1, 2, 3, 4, 5, 6}, bv[3] = {7, 8, 9}, sv[1] = {10};
    const float *const src[MODEL_COUNT] = {wv, bv, sv};
    size_t n = dnn_safetensors_save(model, src, MODEL_COUNT, NULL, 0), i;
    CHECK(n > 0 && n <= sizeof image);
    memset(image, 0x5A, sizeof image);
    memset(other, 0x5A, sizeof other);
    CHECK(dnn_safetensors_save(model, src, MODEL_COUNT, image, n - 1) == n);
    for (i = 0; i < sizeof image; i++)
        CHECK(image[i] == 0x5A);
    CHECK(dnn_safetensors_save(model, src, MODEL_COUNT, image, n) == n);
    CHECK(dnn_safetensors_save(model, src, MODEL_COUNT, other, sizeof other) == n);
    CHECK(!memcmp(image, other, n) && other[n] == 0x5A);
    poison();
    CHECK(dnn_safetensors_load(model, dst, MODEL_COUNT, image, n) == DNN_OK && loaded());
}

/* Every name length gives a header padded with spaces to a multiple of 8. */
static void save_padding(void) {
    char name[32];
    dnn_tensor_info info[1] = {{name, 1, {1, 0, 0, 0}, 1, 1, 0}};
    const float one = 1;
    const float *const src[1] = {&one};
    int len;
    for (len = 1; len < 20; len++) {
        size_t n, hlen;
        memset(name, 'x', (size_t)len);
        name[len] = 0;
        n = dnn_safetensors_save(info, src, 1, image, sizeof image);
        hlen = image[0] | (size_t)image[1] << 8;
        CHECK(hlen % 8 == 0 && n == 8 + hlen + 4);
        CHECK(image[8 + hlen - 1] == ' ' || image[8 + hlen - 1] == '}');
        CHECK(dnn_st_count(image, n) == 1);
    }
}

/* Names needing JSON escapes come back the same. */
static void save_escaped_names(void) {
    static const dnn_tensor_info info[] = {
        {"quote\"d", 0, {0, 0, 0, 0}, 1, 1, 0},
        {"back\\slash", 0, {0, 0, 0, 0}, 1, 1, 0},
        {"ctrl\n\t\x01", 0, {0, 0, 0, 0}, 1, 1, 0},
        {"utf8 caf\xc3\xa9 /", 0, {0, 0, 0, 0}, 1, 1, 0},
    };
    const float v[4] = {1, 2, 3, 4};
    const float *const src[4] = {&v[0], &v[1], &v[2], &v[3]};
    float o[4] = {0, 0, 0, 0};
    float *const out[4] = {&o[0], &o[1], &o[2], &o[3]};
    dnn_st_view view;
    size_t n = dnn_safetensors_save(info, src, 4, image, sizeof image);
    CHECK(n > 0 && dnn_st_count(image, n) == 4);
    CHECK(dnn_st_find(image, n, "ctrl\n\t\x01", &view) == DNN_OK && view.nbytes == 4);
    CHECK(dnn_safetensors_load(info, out, 4, image, n) == DNN_OK && !memcmp(v, o, sizeof v));
}

/* A batchnorm counter in the model is saved as I64 and loaded from I64,
 * F32, or not at all. */
static void save_counter(void) {
    static const dnn_tensor_info info[] = {
        {"bn.running_mean", 1, {2, 0, 0, 0}, 2, 0, 0},
        {"bn.num_batches_tracked", 0, {0, 0, 0, 0}, 1, 0, 0},
    };
    const float mean[2] = {0.5f, -1}, count = 7;
    const float *const src[2] = {mean, &count};
    float m2[2], c2;
    float *const out[2] = {m2, &c2};
    dnn_st_view v;
    size_t n = dnn_safetensors_save(info, src, 2, image, sizeof image);
    CHECK(n > 0 && dnn_st_find(image, n, "bn.num_batches_tracked", &v) == DNN_OK);
    CHECK(v.dtype == DNN_DT_I64 && v.rank == 0 && v.nbytes == 8 && !memcmp(v.data, "\7\0\0\0\0\0\0\0", 8));
    CHECK(dnn_safetensors_load(info, out, 2, image, n) == DNN_OK && c2 == 7 && m2[1] == -1);
    /* absent: loads, counter untouched */
    n = build("{" T("bn.running_mean", "F32", "2", "0,8") "}", 8);
    c2 = 42;
    CHECK(dnn_safetensors_load(info, out, 2, image, n) == DNN_OK && c2 == 42 && m2[1] == 2);
    /* F32 is fine; I32 is not; a negative I64 converts */
    n = build("{" T("bn.running_mean", "F32", "2", "0,8") "," T("bn.num_batches_tracked", "F32", "", "8,12") "}", 12);
    CHECK(dnn_safetensors_load(info, out, 2, image, n) == DNN_OK && c2 == 3);
    n = build("{" T("bn.running_mean", "F32", "2", "0,8") "," T("bn.num_batches_tracked", "I32", "", "8,12") "}", 12);
    CHECK(dnn_safetensors_load(info, out, 2, image, n) == DNN_E_DTYPE && c2 == 3);
    n = build("{" T("bn.running_mean", "F32", "2", "0,8") "," COUNTER("bn.num_batches_tracked", "8,16") "}", 16);
    memset(image + n - 8, 0xFF, 8); /* -1 */
    CHECK(dnn_safetensors_load(info, out, 2, image, n) == DNN_OK && c2 == -1);
}

static void save_bad_args(void) {
    static const dnn_tensor_info bad[] = {{"x", 1, {2, 0, 0, 0}, 3, 1, 0}};
    static const dnn_tensor_info meta[] = {{"__metadata__", 0, {0, 0, 0, 0}, 1, 1, 0}};
    const float v[3] = {0, 0, 0};
    const float *const src[1] = {v};
    const float *const none[1] = {NULL};
    CHECK(dnn_safetensors_save(bad, src, 1, image, sizeof image) == 0);
    CHECK(dnn_safetensors_save(meta, src, 1, image, sizeof image) == 0);
    CHECK(dnn_safetensors_save(model, none, 1, image, sizeof image) == 0);
    CHECK(dnn_safetensors_save(model, src, -1, image, sizeof image) == 0);
    CHECK(dnn_safetensors_save(NULL, NULL, 0, image, sizeof image) == 16); /* "{}" + 6 spaces */
}

/* ---- Files from elsewhere ------------------------------------------------ */

static const char *fixture_path, *out_dir; /* from the command line */

static size_t read_all(const char *path, unsigned char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, cap, f);
        fclose(f);
    }
    return n;
}

/* fixture.safetensors: Python's JSON layout, __metadata__, a \u escape,
 * an I64 counter the model does not list. */
static void load_python_fixture(void) {
    static const dnn_tensor_info info[] = {
        {"caf\xc3\xa9.weight", 1, {2, 0, 0, 0}, 2, 1, 0},
        {"fc1.weight", 2, {3, 2, 0, 0}, 6, 1, 0},
        {"fc1.bias", 1, {3, 0, 0, 0}, 3, 1, 0},
        {"scale", 0, {0, 0, 0, 0}, 1, 1, 0},
        {"bn.num_batches_tracked", 0, {0, 0, 0, 0}, 1, 0, 0},
    };
    static const float want_w[6] = {0.5f, -1.25f, 3.0e-8f, 1.0e30f, -0.0f, 7.0f};
    float cafe[2], fw[6], fb[3], sc, nbt = -1;
    float *const out[5] = {cafe, fw, fb, &sc, &nbt};
    size_t n = read_all(fixture_path, image, sizeof image);
    CHECK(n > 8 && dnn_st_count(image, n) == 5);
    CHECK(dnn_safetensors_load(info, out, 4, image, n) == DNN_OK && nbt == -1);
    CHECK(!memcmp(fw, want_w, sizeof fw) && fb[0] == 0.1f && fb[1] == -0.2f && fb[2] == 0.3f && sc == 2.5f);
    CHECK(cafe[0] == INFINITY && cafe[1] == -3.5f);
    CHECK(dnn_safetensors_load(info, out, 5, image, n) == DNN_OK && nbt == 5);
}

/* Saves info/src into OUTDIR/file, for make_fixture.py to read back. */
static void save_file(const char *file, const dnn_tensor_info *info, const float *const *src, int count) {
    char path[1024];
    size_t n = dnn_safetensors_save(info, src, count, image, sizeof image);
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", out_dir, file);
    f = fopen(path, "wb");
    CHECK(n > 0 && n <= sizeof image);
    CHECK(f && fwrite(image, 1, n, f) == n);
    CHECK(f && fclose(f) == 0);
}

/* saved.safetensors: names that need escapes, and an I64 counter. */
static void save_for_python(void) {
    static const dnn_tensor_info info[] = {
        {"fc1.weight", 2, {3, 2, 0, 0}, 6, 1, 0},
        {"caf\xc3\xa9 \"q\"", 1, {2, 0, 0, 0}, 2, 1, 0},
        {"bn.num_batches_tracked", 0, {0, 0, 0, 0}, 1, 0, 0},
    };
    static const float wv[6] = {0.5f, -1.25f, 3.0e-8f, 1.0e30f, -0.0f, 7.0f}, cv[2] = {1, -2}, nv = 9;
    const float *const src[3] = {wv, cv, &nv};
    save_file("saved.safetensors", info, src, 3);
}

/* torch.safetensors: the state_dict of nn.Sequential(nn.Linear(2, 3),
 * nn.BatchNorm1d(3)), for PyTorch's strict load_state_dict. */
static void save_for_torch(void) {
    static const dnn_tensor_info info[] = {
        {"0.weight", 2, {3, 2, 0, 0}, 6, 1, 0}, {"0.bias", 1, {3, 0, 0, 0}, 3, 1, 0},
        {"1.weight", 1, {3, 0, 0, 0}, 3, 1, 0}, {"1.bias", 1, {3, 0, 0, 0}, 3, 1, 0},
        {"1.running_mean", 1, {3, 0, 0, 0}, 3, 0, 0}, {"1.running_var", 1, {3, 0, 0, 0}, 3, 0, 0},
        {"1.num_batches_tracked", 0, {0, 0, 0, 0}, 1, 0, 0},
    };
    static const float lw[6] = {1, 2, 3, 4, 5, 6}, lb[3] = {0.5f, 0, -0.5f}, bw[3] = {1, 1, 2}, bb[3] = {0, 1, 0},
                       rm[3] = {0.25f, 0, 0}, rv[3] = {1, 2, 4}, nbt = 12;
    const float *const src[7] = {lw, lb, bw, bb, rm, rv, &nbt};
    save_file("torch.safetensors", info, src, 7);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s FIXTURE OUTDIR\n", argv[0]);
        return 2;
    }
    fixture_path = argv[1];
    out_dir = argv[2];
    load_cases();
    RUN(check_messages);
    RUN(load_bad_length);
    RUN(load_unaligned);
    RUN(load_bad_args);
    RUN(st_views);
    RUN(st_unicode_names);
    RUN(save_golden);
    RUN(save_roundtrip);
    RUN(save_int8);
    RUN(save_deterministic);
    RUN(save_padding);
    RUN(save_metadata);
    RUN(save_escaped_names);
    RUN(save_counter);
    RUN(save_bad_args);
    RUN(load_python_fixture);
    RUN(save_for_python);
    RUN(save_for_torch);
    return FAILED();
}
