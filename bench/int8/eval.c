/* eval.c — test accuracy of one --inference build (float or
 * --quantize=int8) on Fashion-MNIST's test set, for accuracy.sh:
 *
 *   cc -std=c99 -O2 -Iruntime -DMODEL=mlp -include mlp.h eval.c mlp.c build/libdnnrt.a -lm
 *   eval IMAGES LABELS      (raw IDX files, gunzipped)
 *
 * Each image is fed to NAME_forward (batch 1) as the training program feeds
 * it with --scale 1/255: (float)(byte * (1.0 / 255)), the product in double.
 * The prediction is the argmax of the output. Prints "accuracy A N" (percent,
 * samples).
 */
#include <stdio.h>
#include <stdlib.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(MODEL, suffix)

static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)*len)) && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    long ilen = 0, llen = 0;
    unsigned char *img = argc == 3 ? slurp(argv[1], &ilen) : NULL, *lab = img ? slurp(argv[2], &llen) : NULL;
    if (!img || !lab || ilen < 16 || llen < 8 || (ilen - 16) % 784 || (ilen - 16) / 784 != llen - 8) {
        fprintf(stderr, "usage: eval IMAGES LABELS (uncompressed IDX: 28x28 images and their labels)\n");
        return 2;
    }
    long n = llen - 8, correct = 0;
    static FN(_model) m;
    float x[784], out[10];
    FN(_init)(&m, 0);
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < 784; k++)
            x[k] = (float)(img[16 + i * 784 + k] * (1.0 / 255));
        FN(_forward)(&m, x, out, 1);
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (out[k] > out[best])
                best = k;
        correct += best == lab[8 + i];
    }
    printf("accuracy %.2f %ld\n", 100.0 * (double)correct / (double)n, n);
    free(img);
    free(lab);
    return 0;
}
