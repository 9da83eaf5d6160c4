/* dnn_augment.h — the data augmentation transforms of training programs
 * (`augment` in a train block; docs/training.md), at fixed draws, on one
 * image [c][h][w] of floats, each equal to torchvision 0.14's
 * transforms.functional on a float tensor:
 *
 *   dnn_aug_hflip(img, ...)              F.hflip(img)
 *   dnn_aug_crop(dst, src, ..., pad, top, left)
 *                                        F.crop(F.pad(img, pad), top, left, h, w)
 *   dnn_aug_rotate(dst, src, ..., degrees)
 *                                        F.rotate(img, degrees, InterpolationMode.BILINEAR, fill=0)
 *
 * (within 1e-5: tests/augment compares them with torchvision's results).
 * The random draws are the caller's (runtime/train/augment.c). Also a PNG
 * encoder, to look at what the augmentation did (`NAME augment --out F.png`).
 *
 * libm only: no allocation, no I/O.
 */
#ifndef DNN_AUGMENT_H
#define DNN_AUGMENT_H

#include <stddef.h>

/* Mirrors the image left to right, in place. */
void dnn_aug_hflip(float *img, int c, int h, int w);

/* Zero-pads src by pad pixels on every side and crops the h × w window
 * whose top-left corner is (top, left) in the padded image, 0 <= top,
 * left <= 2·pad: dst[y][x] = src[y + top − pad][x + left − pad], or 0
 * outside src. dst and src must not overlap. */
void dnn_aug_crop(float *dst, const float *src, int c, int h, int w, int pad, int top, int left);

/* Rotates counter-clockwise by `degrees` about the image's centre,
 * bilinear, zero outside: torchvision's affine grid and grid_sample
 * (align_corners = False), times the sampled coverage of the image as
 * fill = 0 does. dst and src must not overlap. */
void dnn_aug_rotate(float *dst, const float *src, int c, int h, int w, double degrees);

/* An 8-bit grey (channels 1) or RGB (channels 3) PNG of pixels[h][w][channels],
 * its deflate stream in stored blocks (no zlib needed). Returns the size of
 * the file; writes it to out when that fits in cap (out may be NULL to ask). */
size_t dnn_png_encode(unsigned char *out, size_t cap, const unsigned char *pixels, int w, int h, int channels);

#endif
