/*
 * dataset.c - HDF5 datasets, read a batch of rows at a time; the epoch shuffle and the rank
 * sharding that decide which rows those are.
 *
 * File layout (data.h): /<split>/x int32 (N, T) token ids or float32 (N, T, F) features (or
 * (N, F) vectors), /<split>/y int (N) class ids, root attributes num_classes and vocab_size;
 * optionally /vocab and /classes (1-D variable-length UTF-8 strings, what h5py writes for str)
 * and string root attributes, written by st_dataset_write_ex with the splits.
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
 * This is one of the two files that include hdf5.h (ckpt.c is the other). HDF5's own error
 * stack printing is turned off: it prints pages of traces for a missing file. Our messages are
 * one line each, naming the file, the dataset, the row and the value.
 *
 * Not here: any knowledge of MPI (sharding is pure arithmetic) or of what the model does with
 * the batch.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "seqtrain/rng.h"

/* Target bytes per chunk of a written x. Reading one random row decompresses its whole chunk:
 * measured on a (25000, 200) int32 x, 16 KiB chunks read shuffled batches 2-3x faster than
 * 64 KiB ones when the chunk cache cannot hold the dataset, and cost 1.6x the disk. */
#define CHUNK_BYTES (16 * 1024)
/* Chunk cache for x (per open split, per rank): HDF5's default 1 MiB makes shuffled reads of a
 * compressed x decompress the same chunks again and again; with the whole dataset cached each
 * chunk is decompressed about once per run. Capped, since every rank holds one. */
#define CHUNK_CACHE_MAX (64u << 20)

/* HDF5 prints its whole error stack to stderr by default; every failure here is turned into
 * one line of ours instead. Process-wide, idempotent and cheap, so each entry point calls it. */
static void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* "int64 (100, 20)": the type and shape of a dataset, for messages. */
static void describe(hid_t dset, char *buf, size_t n) {
    hid_t t = H5Dget_type(dset), sp = H5Dget_space(dset);
    H5T_class_t cls = H5Tget_class(t);
    size_t bits = H5Tget_size(t) * 8;
    int len;
    if (cls == H5T_INTEGER)
        len = snprintf(buf, n, "%s%zu (", H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int", bits);
    else if (cls == H5T_FLOAT)
        len = snprintf(buf, n, "float%zu (", bits);
    else
        len = snprintf(buf, n, "%s (", cls == H5T_STRING ? "string" : "non-numeric");
    hsize_t dims[H5S_MAX_RANK];
    int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int i = 0; i < rank && len > 0 && (size_t)len < n; i++)
        len += snprintf(buf + len, n - (size_t)len, "%s%llu", i ? ", " : "",
                        (unsigned long long)dims[i]);
    if (len > 0 && (size_t)len < n) snprintf(buf + len, n - (size_t)len, ")");
    H5Tclose(t);
    H5Sclose(sp);
}

/* Reads an integer root attribute. Returns 1 if present and read, 0 if absent, -1 if it is
 * not a single integer. */
static int attr_int(hid_t file, const char *name, int *out) {
    if (H5Aexists(file, name) <= 0) return 0;
    int ret = -1;
    hid_t a = H5Aopen(file, name, H5P_DEFAULT), t = -1, sp = -1;
    if (a < 0) return -1;
    t = H5Aget_type(a);
    sp = H5Aget_space(a);
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Sget_simple_extent_npoints(sp) == 1 &&
        H5Aread(a, H5T_NATIVE_INT, out) >= 0)
        ret = 1;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return ret;
}

/* The file is checked with stat() and H5Fis_hdf5 before H5Fopen so that the common mistakes
 * (wrong path, a CSV given as the dataset) get their own message. The attributes are read
 * here, once; each split only checks its datasets against them. */
int st_dataset_open(st_dataset *d, const char *path) {
    memset(d, 0, sizeof *d);
    d->file = -1;
    h5_quiet();
    snprintf(d->path, sizeof d->path, "%s", path);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            st_error_set("%s: no such file", path);
        else
            st_error_set("%s: %s", path, strerror(errno));
        return ST_ERR;
    }
    if (S_ISDIR(st.st_mode)) {
        st_error_set("%s: is a directory, not an HDF5 dataset file", path);
        return ST_ERR;
    }
    if (H5Fis_hdf5(path) <= 0) {
        st_error_set("%s: not an HDF5 file", path);
        return ST_ERR;
    }
    d->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (d->file < 0) {
        st_error_set("%s: cannot open the HDF5 file (is it being written?)", path);
        return ST_ERR;
    }
    int rc = attr_int(d->file, "num_classes", &d->num_classes);
    if (rc <= 0) {
        st_error_set("%s: root attribute num_classes %s (an int: the number of classes)", path,
                     rc == 0 ? "is missing" : "is not a single integer");
        goto fail;
    }
    if (d->num_classes < 1) {
        st_error_set("%s: root attribute num_classes = %d: must be >= 1", path, d->num_classes);
        goto fail;
    }
    rc = attr_int(d->file, "vocab_size", &d->vocab_size);
    if (rc < 0 || d->vocab_size < 0) {
        st_error_set("%s: root attribute vocab_size must be a single integer >= 1", path);
        goto fail;
    }
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

/* "/test, /train": the root's groups, for the message about a missing split. */
static void list_splits(const st_dataset *d, char *buf, size_t n) {
    H5G_info_t info;
    size_t used = 0;
    buf[0] = 0;
    if (H5Gget_info(d->file, &info) < 0) return;
    for (hsize_t i = 0; i < info.nlinks && used + 1 < n; i++) {
        char name[64];
        if (H5Lget_name_by_idx(d->file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) < 0 || !st_dataset_has_split(d, name))
            continue;
        used += (size_t)snprintf(buf + used, n - used, "%s/%s", used ? ", " : "", name);
    }
}

/* Opens x with a chunk cache sized to the dataset (up to CHUNK_CACHE_MAX); contiguous
 * datasets ignore it. */
static hid_t open_x(hid_t file, const char *path) {
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) return d;
    hsize_t bytes = 0;
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    if (sp >= 0 && t >= 0) bytes = (hsize_t)H5Sget_simple_extent_npoints(sp) * H5Tget_size(t);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (bytes <= (1u << 20)) return d; /* the default cache already holds it */
    /* Reopen with the cache: while the first handle is open HDF5 would share its object, and
     * with it the default cache. */
    H5Dclose(d);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    /* 12421 slots (a prime, as HDF5 advises): ~12 per 64 KiB chunk of a full cache. */
    if (dapl < 0 ||
        H5Pset_chunk_cache(dapl, 12421, bytes < CHUNK_CACHE_MAX ? (size_t)bytes : CHUNK_CACHE_MAX,
                           H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        if (dapl >= 0) H5Pclose(dapl);
        return H5Dopen2(file, path, H5P_DEFAULT);
    }
    d = H5Dopen2(file, path, dapl);
    H5Pclose(dapl);
    return d;
}

/* Every shape and type rule is checked here, once, so st_split_read can trust the layout:
 * x's class decides tokens vs features, y must match x's row count, and a token split needs
 * the vocabulary size to validate ids against. */
int st_split_open(const st_dataset *d, const char *split, st_split *s) {
    char path[96], desc[128];
    hsize_t xd[H5S_MAX_RANK], yd[H5S_MAX_RANK];
    hid_t xt = -1, xs = -1, ys = -1, yt = -1;
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
    if (H5Lexists(d->file, path, H5P_DEFAULT) <= 0 || (s->x = open_x(d->file, path)) < 0) {
        st_error_set("%s: dataset %s is missing", d->path, path);
        goto fail;
    }
    xt = H5Dget_type(s->x);
    xs = H5Dget_space(s->x);
    int xr = H5Sget_simple_extent_dims(xs, xd, NULL);
    H5T_class_t xc = H5Tget_class(xt);
    int ok = (xc == H5T_INTEGER && xr == 2) || (xc == H5T_FLOAT && (xr == 2 || xr == 3));
    for (int i = 1; ok && i < xr; i++) ok = xd[i] >= 1 && xd[i] < (1u << 30);
    if (!ok) {
        describe(s->x, desc, sizeof desc);
        st_error_set("%s: %s: expected int32 (N, T) token ids or float32 (N, T, F) / (N, F) "
                     "features, got %s", d->path, path, desc);
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
    if (H5Lexists(d->file, path, H5P_DEFAULT) <= 0 ||
        (s->y = H5Dopen2(d->file, path, H5P_DEFAULT)) < 0) {
        st_error_set("%s: dataset %s is missing", d->path, path);
        goto fail;
    }
    yt = H5Dget_type(s->y);
    ys = H5Dget_space(s->y);
    int yr = H5Sget_simple_extent_dims(ys, yd, NULL);
    /* (N, 1) is what Keras users often have; it reads the same as (N). (N, T) with x's T
     * (T > 1) is one label per step: a many-to-many task. */
    int per_step = yr == 2 && s->T > 1 && yd[1] == (hsize_t)s->T;
    if (H5Tget_class(yt) != H5T_INTEGER || !(yr == 1 || (yr == 2 && yd[1] == 1) || per_step)) {
        describe(s->y, desc, sizeof desc);
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
    H5Sclose(xs);
    H5Tclose(yt);
    H5Sclose(ys);
    return ST_OK;
fail:
    if (xt >= 0) H5Tclose(xt);
    if (xs >= 0) H5Sclose(xs);
    if (yt >= 0) H5Tclose(yt);
    if (ys >= 0) H5Sclose(ys);
    st_split_close(s);
    return ST_ERR;
}

/* Idempotent; the st_dataset stays open. */
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

/* ---- writing ------------------------------------------------------------------------------ */

/* A scalar int32 attribute, the type h5py users and our reader both expect. */
static int write_attr_int(hid_t loc, const char *name, int v) {
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = sp >= 0 && (a = H5Acreate2(loc, name, H5T_STD_I32LE, sp, H5P_DEFAULT,
                                        H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, H5T_NATIVE_INT, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return ok ? ST_OK : ST_ERR;
}

/* One dataset of rank dims; chunked and deflated when `compress` and non-empty (HDF5 cannot
 * chunk a dimension of size 0). */
static int write_dset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                      const hsize_t *dims, const void *data, int compress) {
    hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    int ok = sp >= 0 && dcpl >= 0;
    if (ok && compress && dims[0] > 0) {
        hsize_t chunk[H5S_MAX_RANK];
        size_t row = H5Tget_size(ftype);
        for (int i = 1; i < rank; i++) {
            chunk[i] = dims[i];
            row *= dims[i];
        }
        chunk[0] = row >= CHUNK_BYTES ? 1 : CHUNK_BYTES / row;
        if (chunk[0] > dims[0]) chunk[0] = dims[0];
        /* Byte shuffle first: padded token ids are mostly zero high bytes, which deflate then
         * squeezes far better. */
        ok = H5Pset_chunk(dcpl, rank, chunk) >= 0 && H5Pset_shuffle(dcpl) >= 0 &&
             H5Pset_deflate(dcpl, 4) >= 0;
    }
    if (ok) ok = (d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0;
    if (ok && dims[0] > 0) ok = H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (d >= 0) H5Dclose(d);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return ok ? ST_OK : ST_ERR;
}

/* Validates the arguments before creating anything, writes the whole file as PATH.tmp and
 * renames it into place (a reader never sees half a dataset); on failure the .tmp is
 * removed and any older PATH is untouched. */
/* A variable-length UTF-8 string type: what h5py writes for str and reads back with .asstr()
 * (datasets) or as str (attributes). */
static hid_t vlen_utf8(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* /name: a 1-D array of n variable-length UTF-8 strings (NULL entries are written as ""). */
static int write_strings(hid_t loc, const char *name, const char *const *s, size_t n) {
    hid_t t = vlen_utf8();
    if (t < 0) return ST_ERR;
    const char **v = st_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = s[i] ? s[i] : "";
    hsize_t dims[1] = {n};
    int rc = write_dset(loc, name, t, t, 1, dims, v, 0);
    st_free(v);
    H5Tclose(t);
    return rc;
}

/* A scalar variable-length UTF-8 string attribute. */
static int write_attr_str(hid_t loc, const char *name, const char *v) {
    hid_t t = vlen_utf8(), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok ? ST_OK : ST_ERR;
}

int st_dataset_write(const char *path, int num_classes, int vocab_size, const st_split_data *splits,
                     int nsplits) {
    return st_dataset_write_ex(path, num_classes, vocab_size, splits, nsplits, NULL);
}

/* The strings go into the same PATH.tmp as the splits, before the rename: a reader sees the
 * file with its vocabulary or not at all. */
int st_dataset_write_ex(const char *path, int num_classes, int vocab_size,
                        const st_split_data *splits, int nsplits, const st_dataset_strings *extra) {
    char tmp[1100];
    hid_t f = -1, g = -1;
    h5_quiet();
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        st_error_set("%s: path too long", path);
        return ST_ERR;
    }
    if (num_classes < 1) {
        st_error_set("%s: num_classes = %d: must be >= 1", path, num_classes);
        return ST_ERR;
    }
    for (int i = 0; i < nsplits; i++) {
        const st_split_data *sd = &splits[i];
        int tok = sd->tokens != NULL;
        if (!sd->name || !sd->name[0] || strchr(sd->name, '/') || tok == (sd->x != NULL) ||
            (sd->n > 0 && !sd->y) || sd->T < 0 || sd->F < 1 || (tok && (sd->F != 1 || sd->T < 1 ||
                                                                         vocab_size < 1)) ||
            (sd->yT && sd->yT != sd->T)) {
            st_error_set("%s: split %d (%s): need a name, tokens (F = 1, T >= 1, vocab_size >= 1) "
                         "or x (F >= 1), and y", path, i, sd->name ? sd->name : "null");
            return ST_ERR;
        }
    }
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        st_error_set("%s: cannot create %s (does the directory exist and is it writable?)", path,
                     tmp);
        return ST_ERR;
    }
    if (write_attr_int(f, "num_classes", num_classes) ||
        (vocab_size > 0 && write_attr_int(f, "vocab_size", vocab_size)))
        goto h5fail;
    if (extra) {
        for (int i = 0; i < extra->nattrs; i++)
            if (write_attr_str(f, extra->attr_names[i], extra->attr_values[i])) goto h5fail;
        if ((extra->vocab && write_strings(f, "vocab", extra->vocab, extra->nvocab)) ||
            (extra->classes && write_strings(f, "classes", extra->classes, extra->nclasses)))
            goto h5fail;
    }
    for (int i = 0; i < nsplits; i++) {
        const st_split_data *sd = &splits[i];
        g = H5Gcreate2(f, sd->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            st_error_set("%s: cannot create split /%s (given twice?)", path, sd->name);
            goto fail;
        }
        hsize_t xd[3] = {sd->n, (hsize_t)(sd->T ? sd->T : sd->F), (hsize_t)sd->F};
        int xr = sd->tokens ? 2 : (sd->T ? 3 : 2);
        hsize_t yd[2] = {sd->n, (hsize_t)sd->yT};
        if (sd->tokens ? write_dset(g, "x", H5T_STD_I32LE, H5T_NATIVE_INT32, xr, xd, sd->tokens, 1)
                       : write_dset(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, xr, xd, sd->x, 1))
            goto h5fail;
        if (write_dset(g, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, sd->yT ? 2 : 1, yd, sd->y, 0))
            goto h5fail;
        H5Gclose(g);
        g = -1;
    }
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) goto h5fail;
    herr_t closed = H5Fclose(f);
    f = -1;
    if (closed < 0) goto h5fail;
    if (rename(tmp, path) != 0) {
        st_error_set("%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        goto fail;
    }
    return ST_OK;
h5fail:
    st_error_set("%s: HDF5 write error in %s (disk full?)", path, tmp);
fail:
    if (g >= 0) H5Gclose(g);
    if (f >= 0) H5Fclose(f);
    unlink(tmp);
    return ST_ERR;
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

/* /name as written by h5py (variable-length UTF-8 strings) or as fixed-length strings. */
int st_dataset_read_strings(const st_dataset *d, const char *name, char ***words, size_t *n) {
    *words = NULL;
    *n = 0;
    h5_quiet();
    if (H5Lexists(d->file, name, H5P_DEFAULT) <= 0) return ST_OK;
    int rc = ST_ERR;
    hid_t ds = H5Dopen2(d->file, name, H5P_DEFAULT), ft = -1, mt = -1, sp = -1;
    if (ds < 0) goto done;
    ft = H5Dget_type(ds);
    sp = H5Dget_space(ds);
    hsize_t dims[H5S_MAX_RANK];
    if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING ||
        H5Sget_simple_extent_dims(sp, dims, NULL) != 1)
        goto done;
    size_t cnt = (size_t)dims[0];
    char **w = st_malloc((cnt + 1) * sizeof(char *));
    if (H5Tis_variable_str(ft) > 0) {
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) < 0) {
            st_free(w);
            goto done;
        }
        /* HDF5 allocated each string with malloc (default allocator): copy into ours, free. */
        for (size_t i = 0; i < cnt; i++) {
            const char *src = w[i] ? w[i] : "";
            size_t len = strlen(src);
            char *c = st_malloc(len + 1);
            memcpy(c, src, len + 1);
            H5free_memory(w[i]);
            w[i] = c;
        }
    } else {
        size_t len = H5Tget_size(ft);
        char *buf = st_malloc(cnt * len + 1);
        mt = H5Tcopy(ft);
        if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            st_free(buf);
            st_free(w);
            goto done;
        }
        for (size_t i = 0; i < cnt; i++) {
            w[i] = st_malloc(len + 1);
            memcpy(w[i], buf + i * len, len);
            w[i][len] = 0;
        }
        st_free(buf);
    }
    *words = w;
    *n = cnt;
    rc = ST_OK;
done:
    if (rc != ST_OK) st_error_set("%s: /%s: expected a 1-D array of strings", d->path, name);
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    return rc;
}

/* A string root attribute (variable-length, as h5py writes str, or fixed-length). */
int st_dataset_read_attr_str(const st_dataset *d, const char *name, char **value) {
    *value = NULL;
    h5_quiet();
    if (H5Aexists(d->file, name) <= 0) return ST_OK;
    int rc = ST_ERR;
    hid_t a = H5Aopen(d->file, name, H5P_DEFAULT), ft = -1, mt = -1, sp = -1;
    if (a < 0) goto done;
    ft = H5Aget_type(a);
    sp = H5Aget_space(a);
    if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1)
        goto done;
    if (H5Tis_variable_str(ft) > 0) {
        char *s = NULL;
        mt = H5Tcopy(ft);
        if (mt < 0 || H5Aread(a, mt, &s) < 0) goto done;
        size_t len = s ? strlen(s) : 0;
        *value = st_malloc(len + 1);
        memcpy(*value, s ? s : "", len + 1);
        if (s) H5free_memory(s);
    } else {
        size_t len = H5Tget_size(ft);
        char *s = st_malloc(len + 1);
        mt = H5Tcopy(ft);
        if (mt < 0 || H5Aread(a, mt, s) < 0) {
            st_free(s);
            goto done;
        }
        s[len] = 0;
        *value = s;
    }
    rc = ST_OK;
done:
    if (rc != ST_OK) st_error_set("%s: attribute %s: expected a string", d->path, name);
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return rc;
}
