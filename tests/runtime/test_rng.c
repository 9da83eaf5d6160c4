/* test_rng.c — PCG32 against known answers and its distributions against
 * their moments. The known answers come from rng_reference.py, which
 * computes them independently with Python integers; seed 42 also matches
 * the output printed by the PCG reference's pcg32-demo. Statistical bounds
 * are about six standard errors wide, and the seeds are fixed, so the
 * tests are deterministic and still catch a wrong formula. */
#include <math.h>
#include <stdint.h>

#include "../check.h"
#include "dnn.h"

#define N 1000000

static void rng_known_answer(void) {
    static const struct {
        uint64_t seed, state; /* the seed and the state it gives */
        uint32_t out[6];      /* the first outputs */
    } cases[] = {
        {42, 1753877967969059832u, {0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e}},
        {0, 11161317672047027862u, {0x47c28b93, 0xb98f6a27, 0x7d3dcb1e, 0xf0761116, 0x9cc33f5b, 0xbe0e744d}},
        {0xdeadbeefcafef00du, 6536668178450140127u,
         {0xfbaadbfe, 0x2ff6cf82, 0x393ab328, 0xc2085c5b, 0x09adef4f, 0x1f23eda6}},
    };
    unsigned c, i;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dnn_rng r;
        dnn_rng_seed(&r, cases[c].seed);
        CHECK(r.state == cases[c].state && r.inc == 109);
        for (i = 0; i < 6; i++)
            CHECK(dnn_rng_u32(&r) == cases[c].out[i]);
    }
}

/* dnn_rng_float is the top 24 bits of dnn_rng_u32, scaled by 2^-24. */
static void rng_float_bits(void) {
    dnn_rng r;
    dnn_rng_seed(&r, 42);
    CHECK(dnn_rng_float(&r) == (float)(0xa15c02b7u >> 8) / 16777216.0f);
    CHECK(dnn_rng_float(&r) == (float)(0x7b47f409u >> 8) / 16777216.0f);
    CHECK(dnn_rng_uniform(&r, -1.0f, 1.0f) == -1.0f + 2.0f * ((float)(0xba1d3330u >> 8) / 16777216.0f));
}

/* dnn_rng_next and dnn_rng_next_float (inline, generated dropout's) draw the same sequence */
static void rng_inline_same(void) {
    dnn_rng a, b;
    dnn_rng_seed(&a, 7);
    dnn_rng_seed(&b, 7);
    for (int i = 0; i < N; i++) {
        CHECK(dnn_rng_next(&a) == dnn_rng_u32(&b));
        CHECK(dnn_rng_next_float(&a) == dnn_rng_float(&b));
    }
    dnn_rng_seed(&a, 42);
    CHECK(dnn_rng_next(&a) == 0xa15c02b7u);
}

static void rng_float_range(void) {
    dnn_rng r;
    float lo = 1, hi = 0;
    int i;
    dnn_rng_seed(&r, 1);
    for (i = 0; i < N; i++) {
        float f = dnn_rng_float(&r);
        CHECK(f >= 0.0f && f < 1.0f);
        lo = f < lo ? f : lo;
        hi = f > hi ? f : hi;
    }
    CHECK(lo < 1e-5f && hi > 1.0f - 1e-5f);
}

static void rng_uniform_stats(void) {
    dnn_rng r;
    double sum = 0, sq = 0, mean, var;
    int i;
    dnn_rng_seed(&r, 2);
    for (i = 0; i < N; i++) {
        float x = dnn_rng_uniform(&r, -2.0f, 3.0f);
        CHECK(x >= -2.0f && x < 3.0f);
        sum += x;
        sq += (double)x * x;
    }
    mean = sum / N;
    var = sq / N - mean * mean;
    CHECK(fabs(mean - 0.5) < 0.009);      /* standard error 0.0014 */
    CHECK(fabs(var - 25.0 / 12) < 0.01);  /* standard error 0.0019 */
}

static void rng_normal_stats(void) {
    dnn_rng r;
    double sum = 0, sq = 0, mean, std;
    int i, within = 0;
    dnn_rng_seed(&r, 3);
    for (i = 0; i < N; i++) {
        float x = dnn_rng_normal(&r, 1.5f, 2.0f);
        CHECK(isfinite(x));
        sum += x;
        sq += (double)x * x;
        within += fabs(x - 1.5) < 2.0;
    }
    mean = sum / N;
    std = sqrt(sq / N - mean * mean);
    CHECK(fabs(mean - 1.5) < 0.012);                /* standard error 0.002 */
    CHECK(fabs(std - 2.0) < 0.009);                 /* standard error 0.0014 */
    CHECK(fabs((double)within / N - 0.6827) < 0.003); /* normal, not just right moments */
}

static void rng_normal_known_answer(void) {
    static const float want[4] = {-0.165093049f, 0.600387096f, -0.106798485f, 1.61584616f};
    dnn_rng r;
    int i;
    dnn_rng_seed(&r, 7);
    for (i = 0; i < 4; i++)
        CHECK(fabsf(dnn_rng_normal(&r, 1.5f, 2.0f) - want[i]) < 1e-6f);
}

/* State 0 makes the next output 0, the smallest u1: log must stay finite. */
static void rng_normal_extreme(void) {
    dnn_rng r;
    float x;
    dnn_rng_seed(&r, 1);
    r.state = 0;
    x = dnn_rng_normal(&r, 0.0f, 1.0f);
    CHECK(isfinite(x) && fabsf(x) <= 5.77f); /* sqrt(-2 ln 2^-24) = 5.768 */
    CHECK(x != 0.0f);
}

/* This state makes the next output 0xffffffff, the largest float: 1 - 2^-24,
 * which lo + (hi - lo) * f rounds to hi for [1, 2). */
static void rng_uniform_top(void) {
    dnn_rng r;
    dnn_rng_seed(&r, 1);
    r.state = 0x07fffe0000000000u;
    CHECK(dnn_rng_u32(&r) == 0xffffffffu);
    r.state = 0x07fffe0000000000u;
    CHECK(dnn_rng_float(&r) == 1.0f - 1.0f / 16777216);
    r.state = 0x07fffe0000000000u;
    CHECK(dnn_rng_uniform(&r, 1.0f, 2.0f) == 2.0f - 1.0f / 8388608); /* the float below 2 */
    r.state = 0x07fffe0000000000u;
    CHECK(dnn_rng_uniform(&r, 3.0f, 3.0f) == 3.0f);
}

static void rng_below_known_answer(void) {
    static const uint32_t small[10] = {3, 2, 0, 4, 4, 2, 4, 4, 3, 3};
    /* half of all draws are rejected for this bound: two of these retry */
    static const uint32_t big[4] = {0xcc5e27e, 0x5bb336f1, 0x5c961d2c, 0x3ec74f77};
    dnn_rng r;
    int i;
    dnn_rng_seed(&r, 7);
    for (i = 0; i < 10; i++)
        CHECK(dnn_rng_below(&r, 6) == small[i]);
    dnn_rng_seed(&r, 7);
    for (i = 0; i < 4; i++)
        CHECK(dnn_rng_below(&r, 0x80000001u) == big[i]);
}

static void rng_below_range(void) {
    dnn_rng r;
    long count[10] = {0};
    double chi2 = 0, sum = 0;
    int i;
    dnn_rng_seed(&r, 4);
    for (i = 0; i < 1000; i++)
        CHECK(dnn_rng_below(&r, 1) == 0 && dnn_rng_below(&r, 0) == 0);
    for (i = 0; i < N; i++) {
        uint32_t k = dnn_rng_below(&r, 10);
        CHECK(k < 10);
        count[k < 10 ? k : 0]++;
    }
    for (i = 0; i < 10; i++)
        chi2 += (count[i] - N / 10.0) * (count[i] - N / 10.0) / (N / 10.0);
    CHECK(chi2 < 40); /* 9 degrees of freedom: P(chi2 > 40) < 1e-5 */
    for (i = 0; i < N; i++) {
        uint32_t k = dnn_rng_below(&r, 0x80000001u);
        CHECK(k < 0x80000001u);
        sum += k;
    }
    CHECK(fabs(sum / N / 0x80000000u - 0.5) < 0.002); /* standard error 0.0003 */
}

/* Seeds give different streams, the same seed the same stream. */
static void rng_seeds(void) {
    dnn_rng a, b, c;
    int i, differ = 0;
    dnn_rng_seed(&a, 5);
    dnn_rng_seed(&b, 5);
    dnn_rng_seed(&c, 6);
    for (i = 0; i < 100; i++) {
        uint32_t x = dnn_rng_u32(&a);
        CHECK(x == dnn_rng_u32(&b));
        differ += x != dnn_rng_u32(&c);
    }
    CHECK(differ > 95);
}

int main(void) {
    RUN(rng_known_answer);
    RUN(rng_float_bits);
    RUN(rng_inline_same);
    RUN(rng_float_range);
    RUN(rng_uniform_stats);
    RUN(rng_uniform_top);
    RUN(rng_normal_stats);
    RUN(rng_normal_known_answer);
    RUN(rng_normal_extreme);
    RUN(rng_below_known_answer);
    RUN(rng_below_range);
    RUN(rng_seeds);
    return FAILED();
}
