/* main.c — fine-tuning LeNet-5 on a Cortex-M for upside-down images.
 *
 * The model (dnnc --embed-weights, without --inference) starts from weights
 * trained on the host on upright Fashion-MNIST; its frozen tensors stay in
 * flash. The device measures its accuracy on the held-out upside-down
 * images in flash, fine-tunes on the other upside-down images in flash
 * (IDX bytes through NAME_preprocess, one NAME_train_step per image,
 * printing the loss), measures again, saves its state (NAME_save: the
 * tensors in RAM), loads it back after a reset (NAME_init, NAME_load) and
 * compares it with the host's, baked in as host_state[]. The same file
 * built with -DHOST runs the same steps on the host and writes that state
 * to the file named by its argument.
 *
 * -DMODEL=lenet5_dense -DMODEL_UC=LENET5_DENSE (or lenet5_bias), -DCORE="Cortex-M4",
 * -DEPOCHS=N. With a semihosting command line `steps K` (or `eval K`) the
 * firmware only runs K training steps (or K classifications) and stops:
 * tests/firmware-train/icount.sh counts the instructions of each. */
#include <stdint.h>
#include <string.h>

#include "print.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define STR_(x) #x
#define STR(x) STR_(x)
#define M(x) CAT(MODEL, x)     /* lenet5_dense_x */
#define MU(x) CAT(MODEL_UC, x) /* LENET5_DENSE_X */
#include STR(MODEL.h)

#ifndef EPOCHS
#define EPOCHS 1
#endif
#define PRINT_EVERY 50 /* steps between loss lines */

/* the data in flash: IDX files (examples/firmware-train/idx2c.c) */
extern const unsigned char tune_images[], tune_labels[], test_images[], test_labels[];

static M(model) model; /* all the RAM the network needs */
static float image[MU(IMAGE_SIZE)]; /* an image from flash, preprocessed */
static unsigned char state[sizeof model.params + 2048]; /* NAME_save: the tensors in RAM and the header */

#ifdef HOST
#include <stdio.h>
void put_write(const char *line) {
    fputs(line, stdout);
}
#else
#include "semihost.h"
void put_write(const char *line) {
    semihost_write(line);
}
#endif

/* ---- the data ---- */
static unsigned long big_endian(const unsigned char *p) {
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* the items of an IDX file of unsigned bytes with `dims` dimensions, each [1][28][28]
 * for images; 0 if the header says otherwise */
static int idx_count(const unsigned char *idx, int dims) {
    if (big_endian(idx) != 0x800u + (unsigned long)dims)
        return 0;
    if (dims == 3 && big_endian(idx + 8) * big_endian(idx + 12) != MU(IMAGE_SIZE))
        return 0;
    return (int)big_endian(idx + 4);
}

/* image i of an IDX file as the model's input, in out */
static void load_image(const unsigned char *idx, int i, float *out) {
    const unsigned char *pixels = idx + 16 + (unsigned long)i * MU(IMAGE_SIZE);
    for (int k = 0; k < MU(IMAGE_SIZE); k++)
        out[k] = pixels[k];
    M(preprocess)(out, out, 1); /* the scaling the host trained with (--scale 1/255) */
}

/* correct classes of the held-out images, of n */
static int correct(int n) {
    int right = 0;
    for (int i = 0; i < n; i++) {
        float probs[MU(PROBS_SIZE)];
        load_image(test_images, i, image);
        M(forward)(&model, image, probs, 1);
        int best = 0;
        for (int k = 1; k < MU(PROBS_SIZE); k++)
            if (probs[k] > probs[best])
                best = k;
        right += best == test_labels[8 + i];
    }
    return right;
}

static void print_accuracy(const char *when, int right, int n) {
    put("accuracy ");
    put(when);
    put(": ");
    put_uint((unsigned long)(right * 1000 / n) / 10);
    put(".");
    put_uint((unsigned long)(right * 1000 / n) % 10);
    put("% (");
    put_uint((unsigned long)right);
    put(" of ");
    put_uint((unsigned long)n);
    put(" upside-down images held out)");
    put_flush();
}

/* `steps` training steps over the fine-tuning images, in order, the mean loss printed if `print` */
static void train(long steps, int print) {
    int n = idx_count(tune_images, 3);
    float sum = 0;
    for (long s = 0; s < steps; s++) {
        int i = (int)(s % n);
        int32_t label = tune_labels[8 + i];
        load_image(tune_images, i, image);
        sum += M(train_step)(&model, image, &label, 1);
        if (print && (s + 1) % PRINT_EVERY == 0) {
            put("epoch ");
            put_uint((unsigned long)(s / n + 1));
            put(" step ");
            put_uint((unsigned long)(s + 1));
            put(": loss ");
            put_float(sum / PRINT_EVERY);
            put(", the mean of the last " STR(PRINT_EVERY));
            put_flush();
            sum = 0;
        }
    }
}

#ifndef HOST
/* v >= 0 as d.ddde±XX (the largest difference), then its IEEE bits */
static void put_small(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    int exponent = 0;
    float m = v;
    while (m != 0 && m < 1) {
        m *= 10;
        exponent--;
    }
    while (m >= 10 && m <= 3.4e38f) {
        m /= 10;
        exponent++;
    }
    if (m < 10) {
        unsigned long milli = (unsigned long)(m * 1e3f + 0.5f);
        put_uint(milli / 1000);
        put(".");
        for (unsigned long scale = 100; scale; scale /= 10)
            put_uint(milli / scale % 10);
        put(exponent < 0 ? "e-" : "e+");
        put_uint((unsigned long)(exponent < 0 ? -exponent : exponent));
    } else {
        put("inf or NaN");
    }
    put(" (");
    put_hex(bits);
    put(")");
}
#endif

/* the final weights against the host's: the same NAME_save image, float by float */
static int compare_with_host(size_t len) {
#ifdef HOST
    (void)len;
    return 0;
#else
    extern const unsigned char host_state[];
    extern const unsigned long host_state_len;
    /* safetensors: the header's length (8 bytes, little-endian: here the first two count), the header */
    unsigned long data = 8 + ((unsigned long)state[1] << 8 | state[0]);
    if (len != host_state_len || memcmp(state, host_state, data) != 0) {
        put("final weights: the host's state has another layout (");
        put_uint(host_state_len);
        put(" bytes, the device's ");
        put_uint(len);
        put(")");
        put_flush();
        return 1;
    }
    unsigned long differ = 0, values = (len - data) / 4;
    float largest = 0;
    for (unsigned long k = 0; k < values; k++) {
        float d, h;
        memcpy(&d, state + data + 4 * k, 4);
        memcpy(&h, host_state + data + 4 * k, 4);
        if (memcmp(&d, &h, 4) != 0) {
            differ++;
            float diff = d > h ? d - h : h - d;
            largest = diff > largest ? diff : largest;
        }
    }
    put("final weights against the host's: ");
    put_uint(differ);
    put(" of ");
    put_uint(values);
    put(" values differ, largest difference ");
    put_small(largest);
    put_flush();
    return differ != 0;
#endif
}

static uint32_t fnv1a(const unsigned char *bytes, size_t len) {
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ bytes[i]) * 16777619u;
    return hash;
}

/* what a device does across a reset: NAME_init brings back the initial
 * weights, NAME_load the saved state of len bytes (here still in `state`) */
static int keeps_state(size_t len) {
    uint32_t saved = fnv1a(state, len);
    M(init)(&model, 0);
    int status = M(load)(&model, state, len);
    int same = status == 0 && M(save)(&model, state, sizeof state) == len && fnv1a(state, len) == saved;
    put("the state after NAME_init and NAME_load of its ");
    put_uint((unsigned long)len);
    put(" bytes (NAME_save): ");
    put(same ? "the fine-tuned tensors" : "NOT the fine-tuned tensors");
    put_flush();
    return !same;
}

static int fine_tune(void) {
    put(STR(MODEL) " on " CORE ": ");
    put_uint(sizeof model);
    put(" bytes of RAM for the model (sizeof), ");
    put_uint(sizeof M(weights));
    put(" bytes of weights in flash");
    put_flush();
    int tune = idx_count(tune_images, 3), test = idx_count(test_images, 3);
    if (!tune || !test || idx_count(tune_labels, 1) != tune || idx_count(test_labels, 1) != test) {
        put("the images in flash are not IDX files of 28x28 images with as many labels");
        put_flush();
        return 1;
    }
    put("fine-tuning on ");
    put_uint((unsigned long)tune);
    put(" upside-down images in flash, " STR(EPOCHS) " epoch(s), batch 1");
    put_flush();

    M(init)(&model, 0);
    int before = correct(test);
    print_accuracy("before", before, test);
    train((long)EPOCHS * tune, 1);
    int after = correct(test);
    print_accuracy("after", after, test);

    size_t len = M(save)(&model, state, sizeof state);
    if (len > sizeof state) {
        put("NAME_save needs more than the buffer's bytes");
        put_flush();
        return 1;
    }
    int lost = keeps_state(len);
    return compare_with_host(len) || lost;
}

#ifdef HOST
int main(int argc, char **argv) {
    if (argc != 2) {
        fputs("usage: finetune STATE.safetensors (writes the final trainable tensors there)\n", stderr);
        return 2;
    }
    if (fine_tune() != 0)
        return 1;
    size_t len = M(save)(&model, state, sizeof state);
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(state, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "finetune: error: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
#else
extern uint32_t _bss_end[]; /* the linker script's: the stack grows down towards it */
#define PAINT 0x5afec0deu

/* `steps K` or `eval K` on the semihosting command line: K training steps
 * or K held-out images classified; `steps K prep` and `eval K prep`: the
 * preprocessing of those images alone, which the count subtracts */
int main(void) {
    char cmd[64];
    int steps = 0, eval = 0;
    if (semihost_cmdline(cmd, (int)sizeof cmd) == 0) {
        steps = !strncmp(cmd, "steps ", 6);
        eval = !strncmp(cmd, "eval ", 5);
    }
    if (!steps && !eval) {
        /* the stack's high-water mark: up to 64 KiB below main's frame painted first (main
         * calls nothing meanwhile), the deepest word changed found afterwards */
        volatile uint32_t *top, *bottom, *deepest;
        __asm__ volatile("mov %0, sp" : "=r"(top));
        bottom = top - 16384 < (volatile uint32_t *)_bss_end ? (volatile uint32_t *)_bss_end : top - 16384;
        for (volatile uint32_t *p = bottom; p < top; p++)
            *p = PAINT;
        int status = fine_tune();
        for (deepest = bottom; deepest < top && *deepest == PAINT; deepest++)
            ;
        put("stack: ");
        put_uint((unsigned long)(top - deepest) * 4);
        put(" bytes below main's frame at most");
        put_flush();
        return status;
    }
    long k = 0;
    const char *p;
    for (p = cmd + (steps ? 6 : 5); *p >= '0' && *p <= '9' && k < 1000000; p++)
        k = k * 10 + (*p - '0');
    int prep = !strcmp(p, " prep");
    if ((*p && !prep) || k < 1 || (eval && k > idx_count(test_images, 3))) {
        put_write("usage: -semihosting-config enable=on,arg=steps|eval,arg=K[,arg=prep] (eval: K up to the held-out images)\n");
        return 2;
    }
    M(init)(&model, 0);
    if (prep) {
        int n = idx_count(steps ? tune_images : test_images, 3);
        for (long s = 0; s < k; s++)
            load_image(steps ? tune_images : test_images, (int)(s % n), image);
    } else if (steps) {
        train(k, 0);
    } else {
        correct((int)k);
    }
    return 0;
}
#endif
