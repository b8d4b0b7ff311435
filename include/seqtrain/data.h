/*
 * data.h - datasets in HDF5, read a batch at a time.
 *
 * Schema (also in the README):
 *   /<split>/x   int32 (N, T) token ids, 0 = padding     or  float32 (N, T, F) features
 *   /<split>/y   int32 (N) class ids in [0, num_classes)
 *                or int32 (N, T) one class id per step (many-to-many: a sequence head; steps
 *                the input mask marks as padding do not count)
 *   root attributes: num_classes (int), vocab_size (int, token datasets)
 *   optional: /vocab, /classes (string arrays; /vocab is id -> word, read by
 *             st_dataset_read_vocab for pre-trained embeddings)
 * Splits: /train, /test, optional /valid.
 *
 * Each rank reads from the file only the rows of its part of each batch (st_split_read), never a
 * whole split. Token ids >= vocab_size (or < 0) and labels outside [0, num_classes) are reported
 * with the file, split and row. This header does not include hdf5.h (handles are int64_t);
 * the readers are src/io/dataset.c, the writer src/io/dataset_write.c.
 */
#ifndef SEQTRAIN_DATA_H
#define SEQTRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/tensor.h"

/* Limits on what a dataset file may declare, refused at open with a line naming the dataset:
 * far above real data, low enough that sizes computed from them fit an int (values per row:
 * T * F, with room for the small factors layers multiply by) and memory is not promised away
 * by a few header bytes. Declared byte counts above 1 PiB, and dataset layouts that keep data
 * outside the file, are refused too (src/io/h5_safe.c). */
#define ST_DATA_MAX_ROW (1 << 28)      /* values in one row of x (T * F) */
#define ST_DATA_MAX_CLASSES (1 << 24)  /* num_classes */
#define ST_DATA_MAX_STRINGS (1 << 27)  /* entries of /vocab or /classes */
#define ST_DATA_MAX_STRING_BYTES (1 << 30) /* /vocab or /classes as stored, read whole */

typedef struct st_dataset {
    int64_t file; /* hid_t */
    char path[1024];
    int num_classes;
    int vocab_size; /* 0 for feature datasets */
} st_dataset;

typedef struct st_split {
    const st_dataset *ds;
    char name[32];
    int64_t x, y; /* hid_t of the two datasets */
    size_t n;     /* rows */
    int T;        /* steps per row */
    int F;        /* features per step (1 for tokens) */
    int tokens;   /* 1: int32 token ids; 0: float32 features */
    int yT;       /* 0: y (N) one label per row; T: y (N, T) one label per step */
} st_split;

/* One batch in memory, sized once for maxB rows. */
typedef struct st_batch {
    int B, T, F, tokens;
    int maxB;
    int32_t *tok;  /* (B, T) token ids, batch-major */
    float *x;      /* (T, B, F) features, time-major */
    float *raw;    /* (B, T, F) read buffer before the transpose */
    int32_t *y;    /* (B) labels, or (B, yT) per-step labels (batch-major) */
    int yT;        /* 0, or steps per row of y (the split's yT) */
    /* Context for dropout masks (layer.h, st_layer_in): ids is filled by st_split_read with
     * each row's index in the split (its global sample id); seed and epoch are set by the
     * training loop before each step (0 elsewhere). */
    int64_t *ids;  /* (B) */
    uint64_t seed;
    int64_t epoch;
    size_t *rows;  /* (B) scratch: sorted row order */
    int *order;    /* (B) scratch */
} st_batch;

int st_dataset_open(st_dataset *d, const char *path);
void st_dataset_close(st_dataset *d);
int st_dataset_has_split(const st_dataset *d, const char *split);
/* Opens /<split>/x and /<split>/y and checks dtypes and shapes. */
int st_split_open(const st_dataset *d, const char *split, st_split *s);
void st_split_close(st_split *s);
/* Refuses a split whose x or y declares rows that were never written (they would read back as
 * fill values: a file of a few KiB can declare 2^31 rows). Separate from st_split_open so that
 * a size that cannot fit is named first; called before the first row is read. */
int st_split_check_written(const st_split *s);
/* The input shape a model sees for this split. */
st_shape st_split_shape(const st_split *s);

void st_batch_init(st_batch *b, const st_split *s, int maxB);
void st_batch_free(st_batch *b);
/* Reads rows[0..n) (any order; the batch keeps that order) into b, validating ids and labels.
 * n may be 0. Returns ST_OK or ST_ERR ("data/x.h5: /train/x row 17 step 3: token id 12001 >=
 * vocab_size 10000"). */
int st_split_read(const st_split *s, const size_t *rows, int n, st_batch *b);

/* Writing a whole dataset file at once (importers, generators, tests; src/io/dataset_write.c):
 * written to PATH.tmp, fsync'd and renamed into place (st_atomic). x is tokens (int32, F must be 1) or features (float32). */
typedef struct st_split_data {
    const char *name;
    size_t n;
    int T, F;
    const int32_t *tokens; /* (n, T) or NULL */
    const float *x;        /* (n, T, F) or NULL */
    const int32_t *y;      /* (n), or (n, T) when yT */
    int yT;                /* 0: y (n); T: y (n, T) per-step labels (T must equal T) */
} st_split_data;
int st_dataset_write(const char *path, int num_classes, int vocab_size, const st_split_data *splits,
                     int nsplits);
/* What st_dataset_write_ex adds to the file besides the splits, all optional (NULL / 0):
 * /vocab and /classes as 1-D arrays of variable-length UTF-8 strings (h5py: .asstr()), and
 * string root attributes (e.g. the options of the tokenizer that made the file). The strings
 * are copied; NULL entries of vocab and classes are written as "". */
typedef struct st_dataset_strings {
    const char *const *vocab;   /* (nvocab) id -> word; vocab[0] = "" (padding) */
    size_t nvocab;
    const char *const *classes; /* (nclasses) class id -> name */
    size_t nclasses;
    const char *const *attr_names, *const *attr_values; /* (nattrs) each */
    int nattrs;
} st_dataset_strings;
/* st_dataset_write plus extra (may be NULL), into the same PATH.tmp before the rename. */
int st_dataset_write_ex(const char *path, int num_classes, int vocab_size,
                        const st_split_data *splits, int nsplits, const st_dataset_strings *extra);

/* Writes one float32 array /<name> of the given rank (1 to 4) and dims to path, atomically
 * (st_atomic: PATH.tmp, fsync, rename). src/io/predictions.c. */
int st_array_write(const char *path, const char *name, const float *a, int rank,
                   const size_t *dims);
/* Writes /predictions float32 (n, K), or (n, T, K) when T > 0 (a sequence head), to path,
 * atomically like st_array_write. */
int st_predictions_write(const char *path, const float *p, size_t n, int T, int K);

/* The dataset's /vocab (id -> word strings), if it has one: *words gets n strings in an array,
 * all from st_malloc (st_free each, then the array); returns ST_OK with *n = 0 when there is no
 * /vocab, ST_ERR (with a message) when it is not a 1-D string dataset. */
int st_dataset_read_vocab(const st_dataset *d, char ***words, size_t *n);
/* Any 1-D string dataset /name (e.g. "classes"), with st_dataset_read_vocab's contract. */
int st_dataset_read_strings(const st_dataset *d, const char *name, char ***s, size_t *n);
/* A string root attribute: *value from st_malloc (st_free it), NULL when the file has no such
 * attribute (ST_OK); ST_ERR when it is not a single string. */
int st_dataset_read_attr_str(const st_dataset *d, const char *name, char **value);

/* The permutation of [0, n) for an epoch: a pure function of (seed, epoch), identical on every
 * rank and for any number of ranks. */
void st_shuffle(size_t *perm, size_t n, uint64_t seed, int64_t epoch);
/* This rank's part [lo, hi) of a global batch of b rows over `size` ranks (balanced: sizes
 * differ by at most one; a rank may get none). */
void st_shard(int b, int rank, int size, int *lo, int *hi);

#endif
