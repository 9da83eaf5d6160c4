/* dnn_data.h — the host part's data sets: IDX files (the MNIST family's
 * format), plain or gzip-compressed, CSV tables and NumPy .npy arrays, read
 * into float tensors; .npy arrays also written.
 *
 * Host code: it uses stdio, zlib and malloc. What it allocates the caller
 * owns and frees with dnn_idx_free / dnn_dataset_free. Programs that call
 * it link with `-ldnnrt -lz -lm`; programs that do not read IDX files still
 * link with `-ldnnrt -lm`, because zlib is used in data/dnn_idx.c only and
 * a static library contributes only the objects a program calls into.
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
    unsigned char *bytes;       /* dnn_idx_read_bytes of a u8 file: the elements as stored (data NULL) */
} dnn_idx;

/* Reads the IDX file at path (gzip or plain, detected from its bytes).
 * rank: the rank required (DNN_E_SHAPE otherwise), or 0 for any.
 * max_items: read at most this many items (0: all; then bytes after the
 * data are an error, DNN_E_HEADER). Each element is converted to float and
 * multiplied by scale. On error *out is zeroed and owns nothing.
 * Returns DNN_OK, or DNN_E_IO (cannot open or read; corrupt gzip),
 * DNN_E_HEADER (bad magic, rank 0, dims too large), DNN_E_DTYPE (a type
 * other than u8 or f32; an f32 element that is NaN or infinite),
 * DNN_E_SHAPE (rank differs), DNN_E_TRUNCATED, DNN_E_SPACE (out of
 * memory), DNN_E_ARG (NULL path or out). */
int dnn_idx_read(const char *path, int rank, int max_items, float scale, dnn_idx *out, char *msg, size_t msgcap);
/* As dnn_idx_read (scale 1), except that a u8 file's elements stay bytes:
 * out->bytes (malloc'd, items * item_size of them) and out->data NULL, a
 * quarter of the memory and no conversion; an f32 file fills out->data. */
int dnn_idx_read_bytes(const char *path, int rank, int max_items, dnn_idx *out, char *msg, size_t msgcap);
void dnn_idx_free(dnn_idx *t); /* frees t->data and t->bytes and zeroes *t; NULL is fine */

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

/* ---- CSV ------------------------------------------------------------------
 * A table of numbers and categories; docs/data.md gives the full rules.
 * Separator ',' (or ';' or tab when the first line has that and no comma);
 * fields optionally in double quotes with "" for a quote; CRLF or LF;
 * blank lines skipped; spaces around fields trimmed; a UTF-8 BOM skipped.
 * The first line is a header when (a) one of its fields is not a number
 * while every data field under it is, or (b) none of its fields is a
 * number and the second line has one. A column with any field that is not
 * a number is textual: its values become indices into levels, sorted by
 * strcmp. */
#define DNN_CSV_MAX_LEVELS 1000 /* distinct values a textual column may hold */

typedef struct dnn_csv {
    int rows, cols; /* data rows (header excluded), fields per row */
    char **header;  /* cols column names when the first line is a header, else NULL */
    float *data;    /* [rows][cols]; textual columns hold category indices */
    char ***levels; /* per column: NULL for a numeric column, else its category names in sorted (strcmp) order */
    int *nlevels;   /* per column: number of categories (0 for numeric) */
    int *line;      /* [rows]: the file line number of each row, for messages */
} dnn_csv;

/* Reads the CSV file at path. On error *out is zeroed and owns nothing.
 * Returns DNN_OK, or DNN_E_IO (cannot open or read), DNN_E_TRUNCATED (no
 * data rows), DNN_E_SHAPE (a row's field count differs from the first
 * line's), DNN_E_HEADER (an empty field, an unterminated quote, text after
 * a closing quote), DNN_E_DTYPE (NaN, infinity or a value beyond float in
 * a numeric column; a textual column with more than DNN_CSV_MAX_LEVELS
 * values), DNN_E_SPACE (out of memory, more than INT_MAX rows or fields),
 * DNN_E_ARG (NULL path or out). Messages read "data.csv:23: field 3 is
 * empty" (fields count from 1). */
int dnn_csv_read(const char *path, dnn_csv *out, char *msg, size_t msgcap);
void dnn_csv_free(dnn_csv *c); /* frees everything and zeroes *c; NULL is fine */
/* Index of the header column called name, or -1 (also without a header). */
int dnn_csv_column(const dnn_csv *c, const char *name);

/* ---- NumPy .npy -----------------------------------------------------------
 * Format versions 1.0, 2.0 and 3.0; dtypes f4, f8, u1, i1, u2, i2, i4, i8,
 * u4, u8 and b1, little-endian ('<'), big-endian ('>') or byte-sized
 * ('|'); C order (Fortran order only where it is the same layout). */
#define DNN_NPY_MAX_RANK 8

typedef struct dnn_array {
    int rank;                       /* 0..DNN_NPY_MAX_RANK */
    int64_t dims[DNN_NPY_MAX_RANK]; /* unused ones are 0 */
    size_t count;                   /* product of dims (1 for rank 0) */
    float *data;                    /* malloc'd: count floats, C order, each times scale */
    int is_integer;                 /* 1 when the file's dtype was an integer type (labels) */
} dnn_array;

/* Reads the .npy file at path, each element converted to float and times
 * scale. Floats must be finite and within float range; integers within
 * |v| < 2^24, so that they convert exactly. On error *out is zeroed and
 * owns nothing. Returns DNN_OK, or DNN_E_IO (cannot open or read),
 * DNN_E_HEADER (bad magic or version, a malformed header dict, dims that
 * overflow, bytes after the data), DNN_E_DTYPE (an unsupported dtype,
 * Fortran order, a value not finite or not exact as a float),
 * DNN_E_TRUNCATED, DNN_E_SPACE (out of memory), DNN_E_ARG. */
int dnn_npy_read(const char *path, float scale, dnn_array *out, char *msg, size_t msgcap);
void dnn_array_free(dnn_array *a); /* frees a->data and zeroes *a; NULL is fine */

/* Writes data (the product of dims floats, C order) as a version 1.0 .npy
 * file of dtype '<f4', atomically (dnn_write_file_atomic of dnn_host.h).
 * Returns DNN_OK, DNN_E_IO (cannot write) or DNN_E_ARG (NULL path, rank
 * outside 0..8, a negative dim, dims that overflow, NULL data or dims when
 * needed), DNN_E_SPACE. */
int dnn_npy_write(const char *path, const float *data, int rank, const int64_t *dims, char *msg, size_t msgcap);

#endif
