/*
 * dataset.c - HDF5 datasets, read a batch of rows at a time; the epoch shuffle and the rank
 * sharding that decide which rows those are.
 *
 * File layout (data.h): /<split>/x int32 (N, T) token ids or float32 (N, T, F) features (or
 * (N, F) vectors), /<split>/y int (N) class ids, root attributes num_classes and vocab_size;
 * optionally /vocab and /classes (1-D variable-length UTF-8 strings, what h5py writes for str)
 * and string root attributes, written by st_dataset_write_ex (dataset_write.c) with the splits.
 * Wider integer and float types (int64, float64 from numpy defaults) are accepted and converted
 * by HDF5 on read; anything else is rejected with a message naming the dataset and its type.
 *
 * A read touches only the requested rows. They arrive in the caller's (shuffled) order; we sort
 * them, drop duplicates and coalesce consecutive rows into runs, read each run (in file order,
 * so HDF5 walks each chunk forward), land the rows in a scratch buffer in sorted order and
 * scatter them back to the caller's order - for features, straight into the time-major
 * (T, B, F) layout the layers use. x is opened with a chunk cache big enough that a compressed
 * file is decompressed about once, not once per row.
 * Every token id and label is checked on the way in, so a bad file is reported with its row
 * rather than crashing an embedding lookup later.
 *
 * HDF5's own error stack printing is turned off (io/h5.h): it prints pages of traces for a
 * missing file. Our messages are one line each, naming the file, the dataset, the row and the
 * value.
 *
 * Not here: writing datasets (dataset_write.c), the shared HDF5 helpers (h5.c), any knowledge
 * of MPI (sharding is pure arithmetic) or of what the model does with the batch.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "io/h5.h"
#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "seqtrain/rng.h"

/* Chunk cache for x (per open split, per rank): HDF5's default 1 MiB makes shuffled reads of a
 * compressed x decompress the same chunks again and again; with the whole dataset cached each
 * chunk is decompressed about once per run. Capped, since every rank holds one. */
#define CHUNK_CACHE_MAX (64u << 20)

/* The file is opened through st_h5_open_untrusted (h5_safe.c): missing, not regular, not
 * HDF5, or pointing outside itself, each with its own message. The attributes are read here,
 * once, as 64-bit values (a larger stored value must not be clipped into range); each split
 * only checks its datasets against them. */
int st_dataset_open(st_dataset *d, const char *path) {
    memset(d, 0, sizeof *d);
    d->file = -1;
    snprintf(d->path, sizeof d->path, "%s", path);
    d->file = st_h5_open_untrusted(path, "dataset file");
    if (d->file < 0) return ST_ERR;
    long long v = 0;
    int rc = st_h5_read_attr_i64(d->file, "num_classes", &v);
    if (rc <= 0) {
        st_error_set("%s: root attribute num_classes %s (an int: the number of classes)", path,
                     rc == 0 ? "is missing" : "is not a single integer");
        goto fail;
    }
    if (v < 1 || v > ST_DATA_MAX_CLASSES) {
        st_error_set("%s: root attribute num_classes = %lld: must be >= 1 and <= %d", path, v,
                     ST_DATA_MAX_CLASSES);
        goto fail;
    }
    d->num_classes = (int)v;
    v = 0;
    rc = st_h5_read_attr_i64(d->file, "vocab_size", &v);
    if (rc < 0 || v < 0 || v > INT_MAX) {
        st_error_set("%s: root attribute vocab_size must be a single integer >= 1 and <= %d",
                     path, INT_MAX);
        goto fail;
    }
    d->vocab_size = (int)v;
    return ST_OK;
fail:
    st_dataset_close(d);
    return ST_ERR;
}

/* Idempotent. Splits opened from d must be closed first (they hold its datasets). */
void st_dataset_close(st_dataset *d) {
    if (d->file > 0) H5Fclose(d->file);
    d->file = -1;
}

/* A split is a group at the root; a name with '/' would reach into other groups. */
int st_dataset_has_split(const st_dataset *d, const char *split) {
    if (!split[0] || strchr(split, '/') || H5Lexists(d->file, split, H5P_DEFAULT) <= 0) return 0;
    hid_t g = H5Gopen2(d->file, split, H5P_DEFAULT);
    if (g < 0) return 0;
    H5Gclose(g);
    return 1;
}

/* "/test, /train": the root's groups, for the message about a missing split (escaped: the
 * names come from the file). */
static void list_splits(const st_dataset *d, char *buf, size_t n) {
    H5G_info_t info;
    size_t used = 0;
    buf[0] = 0;
    if (H5Gget_info(d->file, &info) < 0) return;
    for (hsize_t i = 0; i < info.nlinks && used + 1 < n; i++) {
        char name[64], esc[96];
        if (H5Lget_name_by_idx(d->file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) < 0 || !st_dataset_has_split(d, name))
            continue;
        used += (size_t)snprintf(buf + used, n - used, "%s/%s", used ? ", " : "",
                                 st_escape(esc, sizeof esc, name, 40));
    }
}

/* Opens the dataset at path and checks its layout and size (st_h5_check_dataset) before
 * anything asks for more. x gets a chunk cache sized to the dataset (up to CHUNK_CACHE_MAX);
 * contiguous datasets ignore it. < 0 with the message set. */
static hid_t open_checked(const st_dataset *ds, const char *path, int is_x, int *rank,
                          hsize_t *dims) {
    if (H5Lexists(ds->file, path, H5P_DEFAULT) <= 0) {
        st_error_set("%s: dataset %s is missing", ds->path, path);
        return -1;
    }
    hid_t d = H5Dopen2(ds->file, path, H5P_DEFAULT);
    if (d < 0) {
        st_error_set("%s: dataset %s cannot be opened (damaged file?)", ds->path, path);
        return -1;
    }
    size_t n = 0;
    if (st_h5_check_dataset(d, ds->path, path, H5S_MAX_RANK, rank, dims, 0, &n) != ST_OK) {
        H5Dclose(d);
        return -1;
    }
    hsize_t bytes = 0;
    hid_t t = H5Dget_type(d);
    if (t >= 0) bytes = (hsize_t)n * H5Tget_size(t); /* within ST_H5_MAX_BYTES: checked */
    if (t >= 0) H5Tclose(t);
    if (!is_x || bytes <= (1u << 20)) return d; /* the default cache already holds it */
    /* Reopen with the cache: while the first handle is open HDF5 would share its object, and
     * with it the default cache. */
    H5Dclose(d);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    /* 12421 slots (a prime, as HDF5 advises): ~12 per 64 KiB chunk of a full cache. */
    if (dapl < 0 ||
        H5Pset_chunk_cache(dapl, 12421, bytes < CHUNK_CACHE_MAX ? (size_t)bytes : CHUNK_CACHE_MAX,
                           H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        if (dapl >= 0) H5Pclose(dapl);
        dapl = H5P_DEFAULT;
    }
    d = H5Dopen2(ds->file, path, dapl);
    if (dapl != H5P_DEFAULT) H5Pclose(dapl);
    if (d < 0) st_error_set("%s: dataset %s cannot be opened (damaged file?)", ds->path, path);
    return d;
}

/* Every shape and type rule is checked here, once, so st_split_read can trust the layout:
 * x's class decides tokens vs features, y must match x's row count, and a token split needs
 * the vocabulary size to validate ids against. */
int st_split_open(const st_dataset *d, const char *split, st_split *s) {
    char path[96], desc[128];
    hsize_t xd[H5S_MAX_RANK], yd[H5S_MAX_RANK];
    hid_t xt = -1, yt = -1;
    memset(s, 0, sizeof *s);
    s->ds = d;
    s->x = s->y = -1;
    if (strlen(split) >= sizeof s->name || !st_dataset_has_split(d, split)) {
        char have[256];
        list_splits(d, have, sizeof have);
        st_error_set("%s: no split /%s (the file has: %s)", d->path, split,
                     have[0] ? have : "no groups");
        return ST_ERR;
    }
    snprintf(s->name, sizeof s->name, "%s", split);

    snprintf(path, sizeof path, "/%s/x", split);
    int xr = 0, yr = 0;
    if ((s->x = open_checked(d, path, 1, &xr, xd)) < 0) goto fail;
    xt = H5Dget_type(s->x);
    H5T_class_t xc = H5Tget_class(xt);
    int ok = (xc == H5T_INTEGER && xr == 2) || (xc == H5T_FLOAT && (xr == 2 || xr == 3));
    for (int i = 1; ok && i < xr; i++) ok = xd[i] >= 1;
    if (!ok) {
        st_h5_describe(s->x, "non-numeric", desc, sizeof desc);
        st_error_set("%s: %s: expected int32 (N, T) token ids or float32 (N, T, F) / (N, F) "
                     "features, got %s", d->path, path, desc);
        goto fail;
    }
    /* T and F are ints everywhere after this (layers, shapes, the summary), and their
     * products with the batch size and the units are taken in int in places: one row is
     * bounded here, before anything multiplies. (N, 65537, 65537) stops here. The product
     * cannot wrap: st_h5_check_dataset bounded the product of all dimensions. */
    unsigned long long row = (unsigned long long)xd[1] * (xr == 3 ? xd[2] : 1);
    if (row > ST_DATA_MAX_ROW) {
        st_h5_describe(s->x, "non-numeric", desc, sizeof desc);
        st_error_set("%s: %s: %s: a row holds %llu values, more than the %d seqtrain takes",
                     d->path, path, desc, row, ST_DATA_MAX_ROW);
        goto fail;
    }
    s->n = (size_t)xd[0];
    s->tokens = xc == H5T_INTEGER;
    s->T = s->tokens || xr == 3 ? (int)xd[1] : 0;
    s->F = s->tokens ? 1 : (int)xd[xr - 1];
    if (s->tokens && d->vocab_size < 1) {
        st_error_set("%s: %s holds token ids, so the root attribute vocab_size is required",
                     d->path, path);
        goto fail;
    }

    snprintf(path, sizeof path, "/%s/y", split);
    if ((s->y = open_checked(d, path, 0, &yr, yd)) < 0) goto fail;
    yt = H5Dget_type(s->y);
    /* (N, 1) is what Keras users often have; it reads the same as (N). (N, T) with x's T
     * (T > 1) is one label per step: a many-to-many task. */
    int per_step = yr == 2 && s->T > 1 && yd[1] == (hsize_t)s->T;
    if (H5Tget_class(yt) != H5T_INTEGER || !(yr == 1 || (yr == 2 && yd[1] == 1) || per_step)) {
        st_h5_describe(s->y, "non-numeric", desc, sizeof desc);
        st_error_set("%s: %s: expected int32 (N) class ids or (N, %d) per-step ids, got %s",
                     d->path, path, s->T, desc);
        goto fail;
    }
    s->yT = per_step ? s->T : 0;
    if (yd[0] != xd[0]) {
        st_error_set("%s: /%s/y has %llu rows but /%s/x has %llu", d->path, split,
                     (unsigned long long)yd[0], split, (unsigned long long)xd[0]);
        goto fail;
    }
    H5Tclose(xt);
    H5Tclose(yt);
    return ST_OK;
fail:
    if (xt >= 0) H5Tclose(xt);
    if (yt >= 0) H5Tclose(yt);
    st_split_close(s);
    return ST_ERR;
}

/* Idempotent; the st_dataset stays open. */
int st_split_check_written(const st_split *s) {
    char path[64];
    snprintf(path, sizeof path, "/%s/x", s->name);
    if (st_h5_check_written(s->x, s->ds->path, path) != ST_OK) return ST_ERR;
    snprintf(path, sizeof path, "/%s/y", s->name);
    return st_h5_check_written(s->y, s->ds->path, path);
}

void st_split_close(st_split *s) {
    if (s->x > 0) H5Dclose(s->x);
    if (s->y > 0) H5Dclose(s->y);
    s->x = s->y = -1;
}

/* Token rows feed an embedding: seq = T, vocab = vocab_size (feat is unused there but set to
 * 1 to match F). Feature rows: seq = T (0 for (N, F) vectors) and feat = F. */
st_shape st_split_shape(const st_split *s) {
    st_shape sh = {0, 0, 0, 0};
    sh.seq = s->T;
    sh.feat = s->F;
    if (s->tokens) {
        sh.tokens = 1;
        sh.vocab = s->ds->vocab_size;
    }
    return sh;
}

/* ---- batches ------------------------------------------------------------------------------ */

/* Floats of one row of x: T*F, or F for (N, F) vectors. */
static size_t row_len(int T, int F) { return (size_t)(T ? T : 1) * (size_t)F; }

/* All buffers are allocated here, once, for maxB rows; a read never allocates. */
void st_batch_init(st_batch *b, const st_split *s, int maxB) {
    memset(b, 0, sizeof *b);
    b->maxB = maxB;
    b->T = s->T;
    b->F = s->F;
    b->tokens = s->tokens;
    size_t rl = row_len(s->T, s->F), mb = (size_t)maxB;
    /* raw: the rows of x in sorted file order (int32 ids for tokens, floats otherwise), then
     * the labels in the same order; both are scattered to the caller's order from here. */
    size_t yl = (size_t)(s->yT ? s->yT : 1);
    b->yT = s->yT;
    b->raw = st_malloc((mb * rl + mb * yl) * sizeof(float));
    if (s->tokens)
        b->tok = st_malloc(mb * rl * sizeof(int32_t));
    else
        b->x = st_malloc(mb * rl * sizeof(float));
    b->y = st_malloc(mb * yl * sizeof(int32_t));
    b->ids = st_malloc(mb * sizeof(int64_t));
    b->rows = st_malloc(mb * sizeof(size_t));
    b->order = st_malloc(mb * sizeof(int));
}

void st_batch_free(st_batch *b) {
    st_free(b->tok);
    st_free(b->x);
    st_free(b->raw);
    st_free(b->y);
    st_free(b->ids);
    st_free(b->rows);
    st_free(b->order);
    memset(b, 0, sizeof *b);
}

/* Heap sort of ord[0..n) by rows[ord[i]]: O(n log n) without allocation or a qsort context. */
static void sort_by_row(const size_t *rows, int *ord, int n) {
    for (int i = 0; i < n; i++) ord[i] = i;
    for (int start = n / 2 - 1, end = n;; ) {
        int root;
        if (start >= 0) {
            root = start--;
        } else {
            if (--end <= 0) break;
            int t = ord[0];
            ord[0] = ord[end];
            ord[end] = t;
            root = 0;
        }
        for (;;) { /* sift down within [0, end) */
            int child = 2 * root + 1;
            if (child >= end) break;
            if (child + 1 < end && rows[ord[child + 1]] > rows[ord[child]]) child++;
            if (rows[ord[child]] <= rows[ord[root]]) break;
            int t = ord[root];
            ord[root] = ord[child];
            ord[child] = t;
            root = child;
        }
    }
}

/* Reads rows urows[0..u) (sorted, distinct) of dset into buf, one H5Dread per run of
 * consecutive rows. One read of a union of hyperslabs (H5S_SELECT_OR) looked better on paper
 * but measured slower in HDF5 1.10: for 64-512 shuffled rows of a (25000, 200) int32 x it took
 * 1.3-5x the time of per-run reads, contiguous or chunked, because building and walking the
 * union's span tree costs more than the extra calls. */
static int read_rows(hid_t dset, const size_t *urows, int u, hid_t memtype, void *buf) {
    hsize_t dims[H5S_MAX_RANK], start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    int ret = ST_ERR;
    hid_t ms = -1, fs = H5Dget_space(dset);
    if (fs < 0) return ST_ERR;
    int rank = H5Sget_simple_extent_dims(fs, dims, NULL);
    if (rank < 1) goto done;
    size_t row_bytes = H5Tget_size(memtype);
    for (int i = 1; i < rank; i++) {
        count[i] = dims[i];
        row_bytes *= dims[i];
    }
    for (int k = 0; k < u;) {
        int e = k + 1;
        while (e < u && urows[e] == urows[e - 1] + 1) e++;
        start[0] = urows[k];
        count[0] = (hsize_t)(e - k);
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            (ms = H5Screate_simple(rank, count, NULL)) < 0 ||
            H5Dread(dset, memtype, ms, fs, H5P_DEFAULT, (char *)buf + (size_t)k * row_bytes) < 0)
            goto done;
        H5Sclose(ms);
        ms = -1;
        k = e;
    }
    ret = ST_OK;
done:
    if (ms >= 0) H5Sclose(ms);
    H5Sclose(fs);
    return ret;
}

/* Batch row i is file row rows[i]; the same row may appear twice (it is read once). n larger
 * than the batch capacity is a bug in the caller (assert); a row past the end is reported. */
int st_split_read(const st_split *s, const size_t *rows, int n, st_batch *b) {
    const char *file = s->ds->path;
    ST_ASSERT(n >= 0 && n <= b->maxB, "st_split_read: %d rows for a batch of at most %d", n,
              b->maxB);
    ST_ASSERT(b->tokens == s->tokens && b->T == s->T && b->F == s->F,
              "st_split_read: batch made for another split's layout");
    b->B = n;
    if (n == 0) return ST_OK; /* an empty selection is not something to hand HDF5 */
    for (int i = 0; i < n; i++) b->ids[i] = (int64_t)rows[i];
    for (int i = 0; i < n; i++) {
        if (rows[i] >= s->n) {
            st_error_set("%s: /%s: row %zu requested but the split has %zu rows", file, s->name,
                         rows[i], s->n);
            return ST_ERR;
        }
    }

    /* Sorted distinct rows into b->rows; b->order maps sorted position -> caller position.
     * Sorting makes the reads walk the file forward (runs coalesce, chunks are visited in
     * order); duplicates are read once and copied to every position that asked for them. */
    sort_by_row(rows, b->order, n);
    int u = 0;
    for (int k = 0; k < n; k++)
        if (u == 0 || b->rows[u - 1] != rows[b->order[k]]) b->rows[u++] = rows[b->order[k]];

    const int T = s->T, F = s->F;
    const size_t rl = row_len(T, F);
    int32_t *tbuf = (int32_t *)b->raw;              /* (u, T) token ids, sorted order */
    float *fbuf = b->raw;                           /* (u, T, F) features, sorted order */
    int32_t *ybuf = (int32_t *)(b->raw + (size_t)b->maxB * rl); /* (u, yl) labels */
    const size_t yl = (size_t)(s->yT ? s->yT : 1);
    if (read_rows(s->x, b->rows, u, s->tokens ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, b->raw) ||
        read_rows(s->y, b->rows, u, H5T_NATIVE_INT32, ybuf)) {
        st_error_set("%s: reading %d rows of /%s failed (HDF5 read error)", file, u, s->name);
        return ST_ERR;
    }

    /* Validate once per distinct row, naming the row as stored in the file. An id past the
     * vocabulary would index outside the embedding table, a label past num_classes outside
     * the logits: both would corrupt memory or the loss silently, hence the check on every
     * read rather than a one-off scan (which would read the whole split). */
    const int V = s->ds->vocab_size, K = s->ds->num_classes;
    for (int k = 0; k < u; k++) {
        for (size_t j = 0; j < yl; j++) {
            int32_t v = ybuf[(size_t)k * yl + j];
            if (v >= 0 && v < K) continue;
            if (s->yT)
                st_error_set(v < 0 ? "%s: /%s/y row %zu step %zu: label %d < 0 (num_classes %d)"
                                   : "%s: /%s/y row %zu step %zu: label %d >= num_classes %d",
                             file, s->name, b->rows[k], j, v, K);
            else
                st_error_set(v < 0 ? "%s: /%s/y row %zu: label %d < 0 (num_classes %d)"
                                   : "%s: /%s/y row %zu: label %d >= num_classes %d",
                             file, s->name, b->rows[k], v, K);
            return ST_ERR;
        }
        for (size_t j = 0; j < rl; j++) {
            if (s->tokens) {
                int32_t v = tbuf[(size_t)k * rl + j];
                if (v < 0 || v >= V) {
                    st_error_set(v < 0 ? "%s: /%s/x row %zu step %zu: token id %d < 0 "
                                         "(vocab_size %d)"
                                       : "%s: /%s/x row %zu step %zu: token id %d >= vocab_size %d",
                                 file, s->name, b->rows[k], j, v, V);
                    return ST_ERR;
                }
            } else if (!isfinite(fbuf[(size_t)k * rl + j])) {
                float v = fbuf[(size_t)k * rl + j];
                st_error_set("%s: /%s/x row %zu step %zu feature %zu: value %s is not finite",
                             file, s->name, b->rows[k], j / (size_t)F, j % (size_t)F,
                             isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
                return ST_ERR;
            }
        }
    }

    /* Scatter back to the caller's order; features become time-major (T, B, F). */
    const int Te = T ? T : 1;
    for (int k = 0, uk = -1; k < n; k++) {
        int pos = b->order[k];
        if (k == 0 || rows[b->order[k - 1]] != rows[pos]) uk++;
        memcpy(b->y + (size_t)pos * yl, ybuf + (size_t)uk * yl, yl * sizeof(int32_t));
        if (s->tokens) {
            memcpy(b->tok + (size_t)pos * rl, tbuf + (size_t)uk * rl, rl * sizeof(int32_t));
        } else {
            for (int t = 0; t < Te; t++)
                memcpy(b->x + ((size_t)t * n + pos) * F, fbuf + ((size_t)uk * Te + t) * F,
                       (size_t)F * sizeof(float));
        }
    }
    return ST_OK;
}


/* ---- order of rows ------------------------------------------------------------------------ */

void st_shuffle(size_t *perm, size_t n, uint64_t seed, int64_t epoch) {
    /* Fisher-Yates on a counter-based stream named by the epoch: the permutation depends on
     * (seed, epoch) only, so every rank computes the same one without communicating, and a
     * resumed run reproduces the epoch it stopped in. */
    st_rng r = st_rng_make(seed, 0x5348554646ULL + (uint64_t)epoch);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)st_rng_below(&r, i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

void st_shard(int b, int rank, int size, int *lo, int *hi) {
    /* 64-bit products: b * size can exceed INT_MAX for large global batches. */
    *lo = (int)((int64_t)rank * b / size);
    *hi = (int)((int64_t)(rank + 1) * b / size);
}

/* ---- vocabulary --------------------------------------------------------------------------- */

int st_dataset_read_vocab(const st_dataset *d, char ***words, size_t *n) {
    return st_dataset_read_strings(d, "vocab", words, n);
}

/* /name as written by h5py (variable-length UTF-8 strings) or as fixed-length strings. The
 * dataset is checked (layout, size, count) before st_h5_read_strings allocates for it. */
int st_dataset_read_strings(const st_dataset *d, const char *name, char ***words, size_t *n) {
    st_h5_quiet();
    *words = NULL;
    *n = 0;
    if (H5Lexists(d->file, name, H5P_DEFAULT) > 0) {
        char full[96];
        snprintf(full, sizeof full, "/%s", name);
        hid_t ds = H5Dopen2(d->file, name, H5P_DEFAULT);
        int rank = 0;
        hsize_t dims[H5S_MAX_RANK];
        size_t total = 0;
        if (ds < 0) {
            st_error_set("%s: dataset %s cannot be opened (damaged file?)", d->path, full);
            return ST_ERR;
        }
        int rc = st_h5_check_dataset(ds, d->path, full, H5S_MAX_RANK, &rank, dims, 0, &total);
        hid_t t = rc == ST_OK ? H5Dget_type(ds) : -1;
        size_t each = t >= 0 ? H5Tget_size(t) : 0; /* a pointer, or a fixed length */
        if (t >= 0) H5Tclose(t);
        /* Read whole: the count and the fixed-length size decide the allocation. */
        if (rc == ST_OK && (total > ST_DATA_MAX_STRINGS || total * each > ST_DATA_MAX_STRING_BYTES)) {
            st_error_set("%s: %s: %zu strings of %zu bytes each, more than seqtrain reads "
                         "(%d strings, %d MiB)", d->path, full, total, each,
                         ST_DATA_MAX_STRINGS, ST_DATA_MAX_STRING_BYTES >> 20);
            rc = ST_ERR;
        }
        if (rc == ST_OK) rc = st_h5_check_written(ds, d->path, full);
        H5Dclose(ds);
        if (rc != ST_OK) return ST_ERR;
    }
    if (st_h5_read_strings(d->file, name, words, n) < 0) {
        st_error_set("%s: /%s: expected a 1-D array of strings", d->path, name);
        return ST_ERR;
    }
    return ST_OK;
}

/* A string root attribute (variable-length, as h5py writes str, or fixed-length). */
int st_dataset_read_attr_str(const st_dataset *d, const char *name, char **value) {
    st_h5_quiet();
    if (st_h5_read_attr_str(d->file, name, value) < 0) {
        st_error_set("%s: attribute %s: expected a string", d->path, name);
        return ST_ERR;
    }
    return ST_OK;
}
