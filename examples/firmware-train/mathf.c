/* mathf.c — expf and logf for both builds of the example, the firmware's
 * and the host's, so that they compute the same bits.
 *
 * newlib 3.3 (arm-none-eabi) builds its float functions for cores without
 * a double-precision FPU (Cortex-M3, M4, M33) from the old float code: its
 * expf and logf differ from glibc's by one ulp on about 1% of inputs, and
 * a loss or softmax gradient one ulp off makes the device's weights part
 * from the host's. glibc's are not correctly rounded either, so nothing
 * else matches them everywhere (README.md). These compute the value in
 * double (error below about 2^-50 relative) and round it once to float:
 * the correctly rounded result but for inputs whose value lies that close
 * to a halfway point. Only IEEE double arithmetic, no FMA (build with
 * -ffp-contract=off): the same bits on every core, with or without an
 * FPU. Linked before the C library, they replace its expf and logf; the
 * generated code calls them as usual. */
#include <math.h>
#include <stdint.h>
#include <string.h>

static double with_bits(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

#define LN2_HI 0x1.62e42fefa3800p-1 /* ln 2 to 42 bits: k · LN2_HI is exact for |k| < 2^11 */
#define LN2_LO 0x1.ef35793c76730p-45
#define ROUND 0x1.8p52 /* adding and subtracting it rounds a double below 2^51 to an integer */

float expf(float x) {
    if (x != x)
        return x + x;
    if (x > 89.0f) /* e^89 > FLT_MAX */
        return HUGE_VALF;
    if (x < -105.0f) /* below half the smallest subnormal: 0 */
        return 0.0f;
    /* x = k ln2 + r, |r| <= ln2 / 2, then e^x = 2^k e^r */
    double k = ((double)x * 0x1.71547652b82fep0 + ROUND) - ROUND;
    double r = ((double)x - k * LN2_HI) - k * LN2_LO;
    /* e^r by its Taylor series to r^13: the remainder is below 2^-56 */
    static const double inv_factorial[14] = {
        1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
        1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0,
    };
    double p = inv_factorial[13];
    for (int i = 12; i >= 0; i--)
        p = p * r + inv_factorial[i];
    return (float)(p * with_bits((uint64_t)(1023 + (int)k) << 52)); /* 2^k: k is in [-152, 129] */
}

float logf(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if (x != x || bits == 0x7f800000u) /* NaN, +inf */
        return x + x;
    if (x == 0.0f)
        return -HUGE_VALF;
    if (x < 0.0f)
        return NAN;
    /* x = 2^e m with m in [sqrt(1/2), sqrt(2)), subnormals scaled up first */
    double m = x;
    int e = 0;
    if (bits < 0x00800000u) {
        m *= 0x1p23;
        e = -23;
    }
    uint64_t mb;
    memcpy(&mb, &m, sizeof mb);
    e += (int)(mb >> 52) - 1023;
    m = with_bits((mb & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    /* ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1), |s| < 0.172: to s^23 */
    double s = (m - 1.0) / (m + 1.0), s2 = s * s, sum = 1.0 / 23;
    for (int n = 21; n >= 1; n -= 2)
        sum = sum * s2 + 1.0 / n;
    return (float)(e * LN2_HI + (e * LN2_LO + 2.0 * s * sum));
}
