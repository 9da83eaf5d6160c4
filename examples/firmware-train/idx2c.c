/* idx2c.c — a slice of an IDX file (the Fashion-MNIST format) as a C array
 * for the firmware's flash, a host tool of examples/firmware-train:
 *
 *   gzip -dc train-images-idx3-ubyte.gz | idx2c NAME FIRST COUNT [flip] >NAME.c
 *
 * writes `const unsigned char NAME[]`: the IDX bytes of items FIRST ..
 * FIRST+COUNT-1 (the header with the count changed, then the items), each
 * image upside down with `flip` (its rows in reverse order: the shifted
 * domain the device fine-tunes for). Exit 1 with a message on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "idx2c: error: %s\n", what);
    return 1;
}

static unsigned long be32(const unsigned char *p) {
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "flip") != 0))
        return fail("usage: gzip -dc FILE.gz | idx2c NAME FIRST COUNT [flip] >NAME.c");
    char *end;
    unsigned long first = strtoul(argv[2], &end, 10), count;
    if (*end || !*argv[2] || (count = strtoul(argv[3], &end, 10)) == 0 || *end)
        return fail("FIRST and COUNT are numbers, COUNT at least 1");
    int flip = argc == 5;
    unsigned char head[16];
    if (fread(head, 1, 4, stdin) != 4 || head[0] || head[1] || head[2] != 0x08 || head[3] < 1 || head[3] > 3)
        return fail("the input is not an IDX file of unsigned bytes with 1 to 3 dimensions (gunzip it first)");
    int dims = head[3];
    if (fread(head + 4, 4, (size_t)dims, stdin) != (size_t)dims)
        return fail("the IDX header ends early");
    unsigned long items = be32(head + 4), item = 1;
    for (int d = 1; d < dims; d++)
        item *= be32(head + 4 + 4 * d);
    if (flip && dims != 3)
        return fail("flip needs images (3 dimensions: count, rows, columns)");
    if (first + count > items || item == 0 || item > 1 << 20)
        return fail("FIRST + COUNT is more than the file's items");
    unsigned char *buf = malloc(item);
    if (!buf)
        return fail("out of memory");
    for (unsigned long i = 0; i < first; i++)
        if (fread(buf, 1, item, stdin) != item)
            return fail("the file ends before its header's count");
    head[4] = (unsigned char)(count >> 24), head[5] = (unsigned char)(count >> 16);
    head[6] = (unsigned char)(count >> 8), head[7] = (unsigned char)count;
    printf("/* %s: items %lu..%lu of an IDX file%s (examples/firmware-train/idx2c.c) */\n", argv[1], first,
           first + count - 1, flip ? ", each image upside down" : "");
    printf("const unsigned char %s[%lu] = {\n", argv[1], 4 + 4 * (unsigned long)dims + count * item);
    for (int k = 0; k < 4 + 4 * dims; k++)
        printf("%d,", head[k]);
    printf("\n");
    unsigned long rows = dims == 3 ? be32(head + 8) : 1, cols = item / rows;
    for (unsigned long i = 0; i < count; i++) {
        if (fread(buf, 1, item, stdin) != item)
            return fail("the file ends before its header's count");
        for (unsigned long r = 0; r < rows; r++) {
            const unsigned char *row = buf + (flip ? rows - 1 - r : r) * cols;
            for (unsigned long c = 0; c < cols; c++)
                printf("%d,", row[c]);
            printf("\n");
        }
    }
    printf("};\n");
    free(buf);
    return ferror(stdout) ? fail("cannot write the output") : 0;
}
