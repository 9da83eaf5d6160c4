/* dnn_augment.c — augmentation transforms at fixed draws, as torchvision
 * 0.14's transforms.functional computes them on float tensors, and a small
 * PNG encoder for looking at the result. See dnn_augment.h.
 */
#include "dnn_augment.h"

#include <math.h>
#include <stdint.h>

void dnn_aug_hflip(float *img, int c, int h, int w) {
    for (long row = 0; row < (long)c * h; row++) {
        float *p = img + row * w;
        for (int x = 0; x < w / 2; x++) {
            float t = p[x];
            p[x] = p[w - 1 - x];
            p[w - 1 - x] = t;
        }
    }
}

void dnn_aug_crop(float *dst, const float *src, int c, int h, int w, int pad, int top, int left) {
    const int dy = top - pad, dx = left - pad; /* dst[y][x] = src[y + dy][x + dx] */
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++) {
            float *out = dst + ((long)ch * h + y) * w;
            const int sy = y + dy;
            for (int x = 0; x < w; x++) {
                const int sx = x + dx;
                out[x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[((long)ch * h + sy) * w + sx] : 0.0f;
            }
        }
}

/* torchvision's F.rotate on a tensor, step by step:
 *   matrix = _get_inverse_affine_matrix(centre 0, -degrees): in double,
 *            [cos r, sin r, 0, -sin r, cos r, 0] with r = math.radians(-degrees)
 *   theta  = that matrix as float32, each row divided by the half width / height
 *   grid   = theta applied to pixel centres x - w/2 + 0.5, y - h/2 + 0.5
 *   grid_sample(bilinear, zeros, align_corners=False): ix = (gx + 1)·w/2 - 0.5
 *   fill=0: the result times the grid_sample of an all-ones channel
 * all in float, as the float32 tensors are. */
void dnn_aug_rotate(float *dst, const float *src, int c, int h, int w, double degrees) {
    const double r = -degrees * (3.14159265358979323846 / 180.0);
    const float half_w = 0.5f * (float)w, half_h = 0.5f * (float)h;
    const float ax = (float)cos(r) / half_w, bx = (float)sin(r) / half_w; /* gx = x·ax + y·bx */
    const float ay = (float)-sin(r) / half_h, by = (float)cos(r) / half_h; /* gy = x·ay + y·by */
    const long plane = (long)h * w;
    for (int i = 0; i < h; i++) {
        const float y = (float)i - half_h + 0.5f;
        for (int j = 0; j < w; j++) {
            const float x = (float)j - half_w + 0.5f;
            const float gx = x * ax + y * bx, gy = x * ay + y * by;
            const float ix = (gx + 1.0f) * half_w - 0.5f, iy = (gy + 1.0f) * half_h - 0.5f;
            const float fx = floorf(ix), fy = floorf(iy);
            const float we = ix - fx, ws = iy - fy; /* toward the east and south neighbours */
            const float wt[4] = {(1.0f - ws) * (1.0f - we), (1.0f - ws) * we, ws * (1.0f - we), ws * we};
            long at[4];
            float coverage = 0.0f;
            for (int k = 0; k < 4; k++) {
                const float sx = fx + (float)(k & 1), sy = fy + (float)(k >> 1);
                const int inside = sx >= 0.0f && sx < (float)w && sy >= 0.0f && sy < (float)h;
                at[k] = inside ? (long)sy * w + (long)sx : -1;
                coverage += inside ? wt[k] : 0.0f;
            }
            for (int ch = 0; ch < c; ch++) {
                const float *in = src + ch * plane;
                float v = 0.0f;
                for (int k = 0; k < 4; k++)
                    v += at[k] >= 0 ? wt[k] * in[at[k]] : 0.0f;
                dst[ch * plane + (long)i * w + j] = v * coverage;
            }
        }
    }
}

/* ---- PNG ------------------------------------------------------------------------ */

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc >> 1 ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static unsigned char *put32(unsigned char *q, uint32_t v) {
    q[0] = (unsigned char)(v >> 24);
    q[1] = (unsigned char)(v >> 16);
    q[2] = (unsigned char)(v >> 8);
    q[3] = (unsigned char)v;
    return q + 4;
}

/* A chunk whose type and data are already at q + 4: its length before, its CRC after. */
static unsigned char *chunk(unsigned char *q, size_t len) {
    put32(q, (uint32_t)len);
    return put32(q + 8 + len, crc32_update(0, q + 4, len + 4));
}

size_t dnn_png_encode(unsigned char *out, size_t cap, const unsigned char *pixels, int w, int h, int channels) {
    const size_t row = 1 + (size_t)w * (size_t)channels, raw = row * (size_t)h; /* each row: filter 0, pixels */
    const size_t blocks = raw / 65535 + 1, zlen = 2 + 5 * blocks + raw + 4;
    const size_t size = 8 + (12 + 13) + (12 + zlen) + 12;
    if (!out || cap < size)
        return size;
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char *q = out;
    for (int k = 0; k < 8; k++)
        *q++ = signature[k];
    unsigned char *c = q;
    put32(put32(c + 4, 0x49484452u) /* IHDR */, (uint32_t)w);
    put32(c + 12, (uint32_t)h);
    c[16] = 8;                          /* bits per sample */
    c[17] = channels == 3 ? 2 : 0;      /* RGB or grey */
    c[18] = c[19] = c[20] = 0;          /* deflate, adaptive filtering, no interlace */
    q = chunk(c, 13);
    c = q;
    unsigned char *z = put32(c + 4, 0x49444154u); /* IDAT */
    *z++ = 0x78;                        /* zlib: deflate, 32K window, no dictionary */
    *z++ = 0x01;
    uint32_t a = 1, b = 0;              /* Adler-32 of the raw bytes */
    size_t done = 0;
    for (size_t k = 0; k < blocks; k++) {
        const size_t n = raw - done < 65535 ? raw - done : 65535;
        *z++ = k + 1 == blocks;         /* BFINAL, stored */
        *z++ = (unsigned char)n;
        *z++ = (unsigned char)(n >> 8);
        *z++ = (unsigned char)~n;
        *z++ = (unsigned char)(~n >> 8);
        for (size_t i = 0; i < n; i++, done++) {
            const size_t y = done / row, x = done % row;
            const unsigned char v = x ? pixels[y * (row - 1) + x - 1] : 0;
            *z++ = v;
            a = (a + v) % 65521u;
            b = (b + a) % 65521u;
        }
    }
    z = put32(z, b << 16 | a);
    q = chunk(c, zlen);
    put32(q + 4, 0x49454e44u); /* IEND */
    q = chunk(q, 0);
    return (size_t)(q - out);
}
