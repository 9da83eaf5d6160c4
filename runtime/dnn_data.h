/* dnn_data.h — the host part's data sets: IDX files (the MNIST family's
 * format), plain or gzip-compressed, read into float tensors.
 *
 * Host code: it uses stdio, zlib and malloc. What it allocates the caller
 * owns and frees with dnn_idx_free / dnn_dataset_free. Programs that call
 * it link with `-ldnnrt -lz -lm`; programs that do not still link with
 * `-ldnnrt -lm`, because zlib is used in dnn_data.c only and a static
 * library contributes only the objects a program calls into.
 *
 * Errors are the DNN_E* codes of dnn.h, and when msg is not NULL a line
 * such as "t10k-labels-idx1-ubyte.gz: label 12 at index 17 is not a class
 * 0..9" is written there (at most msgcap bytes, NUL-terminated).
 */
#ifndef DNN_DATA_H
#define DNN_DATA_H

#include "dnn.h"

#define DNN_IDX_U8 0x08      /* element type byte: unsigned byte */
#define DNN_IDX_F32 0x0D     /* element type byte: big-endian IEEE float */
#define DNN_IDX_MAX_RANK 8

/* An IDX file read into floats. dims are the file's; the first dimension
 * counts items (images, labels), of which `items` were read. */
typedef struct dnn_idx {
    int type;                   /* DNN_IDX_U8 or DNN_IDX_F32 */
    int rank;                   /* 1..DNN_IDX_MAX_RANK */
    int dims[DNN_IDX_MAX_RANK]; /* the header's dims; unused ones are 0 */
    int items;                  /* items read: dims[0], or fewer if limited */
    size_t item_size;           /* elements per item: product of dims[1..] */
    float *data;                /* malloc'd: items * item_size elements, each times scale */
} dnn_idx;

/* Reads the IDX file at path (gzip or plain, detected from its bytes).
 * rank: the rank required (DNN_E_SHAPE otherwise), or 0 for any.
 * max_items: read at most this many items (0: all; then bytes after the
 * data are an error, DNN_E_HEADER). Each element is converted to float and
 * multiplied by scale. On error *out is zeroed and owns nothing.
 * Returns DNN_OK, or DNN_E_IO (cannot open or read; corrupt gzip),
 * DNN_E_HEADER (bad magic, rank 0, dims too large), DNN_E_DTYPE (a type
 * other than u8 or f32), DNN_E_SHAPE (rank differs), DNN_E_TRUNCATED,
 * DNN_E_SPACE (out of memory), DNN_E_ARG (NULL path or out). */
int dnn_idx_read(const char *path, int rank, int max_items, float scale, dnn_idx *out, char *msg, size_t msgcap);
void dnn_idx_free(dnn_idx *t); /* frees t->data and zeroes *t; NULL is fine */

/* Samples for a model with one float input and one class target. */
typedef struct dnn_dataset {
    int count;       /* samples */
    int sample_size; /* floats per sample (the model's NAME_INPUT_SIZE) */
    float *x;        /* malloc'd: [count][sample_size], pixels times scale */
    int32_t *y;      /* malloc'd: [count], each in 0..classes-1 */
} dnn_dataset;

/* Reads an images file (rank >= 2, sample_size elements per image) and a
 * labels file (rank 1, values 0..classes-1) holding the same number of
 * items; at most max_items of them (0: all). DNN_E_SHAPE when the image
 * size, the counts or a label do not fit; otherwise as dnn_idx_read. On
 * error *out is zeroed and owns nothing. */
int dnn_dataset_load(const char *images, const char *labels, int sample_size, int classes, int max_items,
                     float scale, dnn_dataset *out, char *msg, size_t msgcap);
void dnn_dataset_free(dnn_dataset *d); /* frees x and y and zeroes *d; NULL is fine */

#endif
