/*
 * ckpt_verify.c - a checkpoint proves itself before anything in it is used (io/ckpt.h):
 * opening one, walking every object in it, checking each dataset's checksum, and the range
 * checks of the train state read from it.
 *
 * What a checkpoint written by this version guarantees, and how it is checked here:
 *  - every byte HDF5 parses is checksummed by HDF5 itself: the file is in the 1.8 format
 *    (superblock v2, object headers v2; io/h5.h's in-memory route) and its strings are
 *    fixed-length attributes inside those headers, so there is no global heap (the one HDF5
 *    structure no format version checksums);
 *  - every dataset's raw bytes are covered by a CRC-32 (core/crc32.h, Python's zlib.crc32)
 *    stored as its uint32 attribute "crc32"; the root attribute checksum = "crc32" says so.
 *    A file that says so and has a dataset without one, or with a wrong one, is damaged.
 * A checkpoint without the root attribute (older seqtrain, tools/st_torch.py, h5py) is
 * walked all the same, without the CRCs: its structure is checked, its bytes cannot be, and
 * loading it says so once.
 *
 * The walk also refuses what a checkpoint never contains and an untrusted file could: soft and
 * external links, external raw storage, non-numeric datasets, sizes whose product overflows,
 * datasets larger than the file (a declared 2^61 elements is refused before any allocation),
 * nesting deeper than ST_CKPT_DEPTH_MAX (a hard-link cycle).
 *
 * Not here: which datasets a model needs (ckpt.c checks names and shapes), the config-dependent
 * checks of the train state (st_ckpt_check_progress is called by train/fit_state.c with the
 * run's epochs and steps per epoch).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/crc32.h"
#include "core/text.h"
#include "io/ckpt_int.h"
#include "seqtrain/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint CRCs are defined over the little-endian bytes in the file; swap here first"
#endif

/* Group nesting of a real checkpoint: /optimizer/<state>/<layer>/<wrapper>/<param>. */
#define ST_CKPT_DEPTH_MAX 8
/* Links in one group: a real checkpoint has a few per layer. */
#define ST_CKPT_LINKS_MAX 100000
#define WALK_PATH_MAX 512

int st_ckpt_open(const char *path, hid_t *out) {
    struct stat st;
    char *fmt = NULL;
    *out = -1;
    st_h5_quiet();
    if (stat(path, &st) != 0) {
        st_error_set("%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
        return ST_ERR;
    }
    if (!S_ISREG(st.st_mode) || H5Fis_hdf5(path) <= 0) {
        st_error_set("%s: not an HDF5 checkpoint file", path);
        return ST_ERR;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        st_error_set("%s: cannot open the HDF5 file (damaged: its metadata does not read back)",
                     path);
        return ST_ERR;
    }
    int rc = st_h5_read_attr_str(f, "format", &fmt);
    if (rc <= 0 || strcmp(fmt, ST_CKPT_FORMAT) != 0) {
        if (rc <= 0)
            st_error_set("%s: not a seqtrain checkpoint (no format attribute)", path);
        else {
            char esc[160];
            st_error_set("%s: checkpoint format '%s', this build reads '%s'", path,
                         st_escape(esc, sizeof esc, fmt, 40), ST_CKPT_FORMAT);
        }
        st_free(fmt);
        H5Fclose(f);
        return ST_ERR;
    }
    st_free(fmt);
    *out = f;
    return ST_OK;
}

int st_ckpt_dset_count(const char *file, hid_t d, const char *dpath, int *rank, hsize_t *dims,
                       size_t *count) {
    hid_t sp = H5Dget_space(d);
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (r < 0 || r > H5S_MAX_RANK || H5Sget_simple_extent_dims(sp, dims, NULL) != r) {
        if (sp >= 0) H5Sclose(sp);
        st_error_set("%s: %s: unreadable dataspace (damaged file?)", file, dpath);
        return ST_ERR;
    }
    H5Sclose(sp);
    size_t n = 1;
    for (int i = 0; i < r; i++) {
        if (dims[i] > SIZE_MAX || (dims[i] && n > SIZE_MAX / (size_t)dims[i])) {
            char ds[160];
            st_h5_dims_str(r, dims, ds, sizeof ds);
            st_error_set("%s: %s: shape %s has more elements than memory can address", file,
                         dpath, ds);
            return ST_ERR;
        }
        n *= (size_t)dims[i];
    }
    *rank = r;
    *count = n;
    return ST_OK;
}

/* The walk's state: the file, its size, whether CRCs are promised, a reusable read buffer. */
typedef struct walk_ctx {
    const char *file;
    hsize_t fsize;
    int sums;
    void *buf;
    size_t cap;
} walk_ctx;

/* One dataset: numeric, internal storage, no larger than the file, and its CRC when promised. */
static int check_dset(walk_ctx *w, hid_t f, const char *dpath) {
    hsize_t dims[H5S_MAX_RANK];
    int rank, rc = ST_ERR;
    size_t count;
    hid_t d = H5Dopen2(f, dpath, H5P_DEFAULT), t = -1, dcpl = -1;
    if (d < 0) {
        st_error_set("%s: %s: cannot open the dataset (damaged file?)", w->file, dpath);
        return ST_ERR;
    }
    t = H5Dget_type(d);
    dcpl = H5Dget_create_plist(d);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    size_t tsize = t >= 0 ? H5Tget_size(t) : 0;
    if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || tsize == 0 || tsize > 8) {
        st_error_set("%s: %s: not a numeric dataset (a checkpoint holds only numbers)", w->file,
                     dpath);
        goto done;
    }
    if (dcpl < 0 || H5Pget_external_count(dcpl) != 0 || H5Pget_layout(dcpl) == H5D_VIRTUAL) {
        st_error_set("%s: %s: its data is stored outside the file (external or virtual "
                     "storage is refused in a checkpoint)", w->file, dpath);
        goto done;
    }
    if (st_ckpt_dset_count(w->file, d, dpath, &rank, dims, &count) != ST_OK) goto done;
    if (count > SIZE_MAX / tsize) {
        st_error_set("%s: %s: %zu elements of %zu bytes overflow a size", w->file, dpath, count,
                     tsize);
        goto done;
    }
    size_t bytes = count * tsize;
    if (!w->sums) {
        rc = ST_OK; /* structure only: nothing promised about the bytes */
        goto done;
    }
    /* Our writer stores every dataset contiguously and uncompressed: never more than the file. */
    if (H5Pget_layout(dcpl) == H5D_CHUNKED || bytes > w->fsize) {
        st_error_set("%s: %s declares %zu elements (%zu bytes) in a file of %llu bytes: damaged "
                     "or not written by seqtrain", w->file, dpath, count, bytes,
                     (unsigned long long)w->fsize);
        goto done;
    }
    uint32_t want = 0;
    int have = 0;
    if (H5Aexists(d, ST_CKPT_CRC_ATTR) > 0) {
        hid_t a = H5Aopen(d, ST_CKPT_CRC_ATTR, H5P_DEFAULT), as = a >= 0 ? H5Aget_space(a) : -1;
        have = as >= 0 && H5Sget_simple_extent_npoints(as) == 1 &&
               H5Aread(a, H5T_NATIVE_UINT32, &want) >= 0;
        if (as >= 0) H5Sclose(as);
        if (a >= 0) H5Aclose(a);
    }
    if (!have) {
        st_error_set("%s: %s has no readable crc32 attribute, though the file promises one for "
                     "every dataset: damaged", w->file, dpath);
        goto done;
    }
    if (bytes > w->cap) {
        st_free(w->buf);
        w->buf = st_malloc(bytes);
        w->cap = bytes;
    }
    /* Read with the file's own type: the bytes as stored, no conversion. */
    if (bytes && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->buf) < 0) {
        st_error_set("%s: %s: HDF5 read error (damaged file?)", w->file, dpath);
        goto done;
    }
    uint32_t got = st_crc32(0, w->buf, bytes);
    if (got != want) {
        st_error_set("%s: %s: checksum mismatch (crc32 stored %08" PRIx32 ", computed %08" PRIx32
                     "): the file is damaged", w->file, dpath, want, got);
        goto done;
    }
    rc = ST_OK;
done:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    return rc;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

/* Every link below gpath: hard links only, groups recursed into, datasets checked. */
static int walk(walk_ctx *w, hid_t f, const char *gpath, int depth) {
    H5G_info_t gi;
    char name[256], sub[WALK_PATH_MAX];
    if (depth > ST_CKPT_DEPTH_MAX) {
        st_error_set("%s: %s: groups nested deeper than %d (damaged file, or a link cycle)",
                     w->file, gpath, ST_CKPT_DEPTH_MAX);
        return ST_ERR;
    }
    if (H5Gget_info_by_name(f, gpath, &gi, H5P_DEFAULT) < 0) {
        st_error_set("%s: %s: unreadable group (damaged file?)", w->file, gpath);
        return ST_ERR;
    }
    if (gi.nlinks > ST_CKPT_LINKS_MAX) {
        st_error_set("%s: %s holds %llu links (at most %d in a checkpoint)", w->file, gpath,
                     (unsigned long long)gi.nlinks, ST_CKPT_LINKS_MAX);
        return ST_ERR;
    }
    for (hsize_t j = 0; j < gi.nlinks; j++) {
        ssize_t len = H5Lget_name_by_idx(f, gpath, H5_INDEX_NAME, H5_ITER_INC, j, name,
                                         sizeof name, H5P_DEFAULT);
        if (len < 0 || (size_t)len >= sizeof name ||
            (size_t)snprintf(sub, sizeof sub, "%s/%s", strcmp(gpath, "/") ? gpath : "",
                             name) >= sizeof sub) {
            st_error_set("%s: %s: unreadable or overlong link name (damaged file?)", w->file,
                         gpath);
            return ST_ERR;
        }
        /* seqtrain writes names of letters, digits, '_', '.' and '-' only (layer names are
         * identifiers): anything else is refused here, before a later message could print it
         * raw (an escape sequence would act on the user's terminal). */
        if (name[strspn(name, NAME_CHARS)] != 0) {
            char esc[160];
            st_error_set("%s: %s/%s: a name seqtrain never writes (damaged file?)", w->file,
                         strcmp(gpath, "/") ? gpath : "", st_escape(esc, sizeof esc, name, 60));
            return ST_ERR;
        }
        H5L_info_t li;
        if (H5Lget_info(f, sub, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD) {
            st_error_set("%s: %s is a soft or external link (refused in a checkpoint)", w->file,
                         sub);
            return ST_ERR;
        }
        H5O_info_t oi;
        if (H5Oget_info_by_name(f, sub, &oi, H5P_DEFAULT) < 0) {
            st_error_set("%s: %s: unreadable object header (damaged file?)", w->file, sub);
            return ST_ERR;
        }
        int rc = oi.type == H5O_TYPE_GROUP     ? walk(w, f, sub, depth + 1)
                 : oi.type == H5O_TYPE_DATASET ? check_dset(w, f, sub)
                                               : ST_OK; /* a named datatype: harmless */
        if (rc != ST_OK) return ST_ERR;
    }
    return ST_OK;
}

/* The file st_ckpt_verify verified last, by identity, for the next st_ckpt_verify_open only:
 * st_ckpt_resolve verifies the newest checkpoint of a directory to choose it, and the load
 * that follows would verify the same bytes again (one more CRC pass over the whole file on
 * every rank). Used once, then forgotten; a file changed in between (another size or
 * modification time) is verified afresh. */
static struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int valid;
} g_verified;

static int same_file(const struct stat *a) {
    return g_verified.valid && a->st_dev == g_verified.dev && a->st_ino == g_verified.ino &&
           a->st_size == g_verified.size && a->st_mtim.tv_sec == g_verified.mtime.tv_sec &&
           a->st_mtim.tv_nsec == g_verified.mtime.tv_nsec;
}

int st_ckpt_verify_open(const char *path, hid_t f, int *sums) {
    struct stat st;
    int remembered = stat(path, &st) == 0 && same_file(&st);
    g_verified.valid = 0;
    if (remembered) {
        if (sums) *sums = 1; /* only files with checksums are remembered */
        return ST_OK;
    }
    char *kind = NULL;
    walk_ctx w = {path, 0, 0, NULL, 0};
    int rc = st_h5_read_attr_str(f, ST_CKPT_SUM_ATTR, &kind);
    if (rc < 0 || (rc > 0 && strcmp(kind, ST_CKPT_SUM_KIND) != 0)) {
        char esc[160];
        st_error_set("%s: checksum attribute '%s' is not '%s' (damaged, or a newer seqtrain)",
                     path, st_escape(esc, sizeof esc, kind ? kind : "?", 40), ST_CKPT_SUM_KIND);
        st_free(kind);
        return ST_ERR;
    }
    st_free(kind);
    w.sums = rc > 0;
    if (H5Fget_filesize(f, &w.fsize) < 0) w.fsize = 0;
    rc = walk(&w, f, "/", 0);
    st_free(w.buf);
    if (sums) *sums = w.sums;
    return rc;
}

int st_ckpt_verify(const char *path, int *sums) {
    hid_t f;
    struct stat st;
    int have_st = stat(path, &st) == 0, with_sums = 0;
    if (st_ckpt_open(path, &f) != ST_OK) return ST_ERR;
    int rc = st_ckpt_verify_open(path, f, &with_sums);
    H5Fclose(f);
    if (sums) *sums = with_sums;
    g_verified.valid = rc == ST_OK && with_sums && have_st;
    if (g_verified.valid) {
        g_verified.dev = st.st_dev;
        g_verified.ino = st.st_ino;
        g_verified.size = st.st_size;
        g_verified.mtime = st.st_mtim;
    }
    return rc;
}

/* ---- the train state ------------------------------------------------------------------------ */

int st_ckpt_check_iterations(const char *file, int64_t iterations) {
    if (iterations < 0 || iterations > ST_CKPT_COUNT_MAX) {
        st_error_set("%s: /optimizer/iterations = %lld is %s (damaged file?)", file,
                     (long long)iterations, iterations < 0 ? "negative" : "above 2^53");
        return ST_ERR;
    }
    return ST_OK;
}

int st_ckpt_check_scalars(const char *file, const st_ckpt_progress *p, int64_t iterations) {
    /* Every counter in 0..2^53 first: the comparisons and sums below, and the loop's
     * increments, then cannot overflow. */
    static const char *const key[3] = {"epoch", "step_in_epoch", "global_step"};
    const int64_t val[3] = {p->epoch, p->step_in_epoch, p->global_step};
    for (int i = 0; i < 3; i++) {
        if (val[i] < 0 || val[i] > ST_CKPT_COUNT_MAX) {
            st_error_set("%s: /train_state/%s = %lld is %s (damaged file?)", file, key[i],
                         (long long)val[i], val[i] < 0 ? "negative" : "above 2^53");
            return ST_ERR;
        }
    }
    if (p->global_step < p->step_in_epoch) {
        st_error_set("%s: /train_state/global_step = %lld is below step_in_epoch = %lld "
                     "(damaged file?)", file, (long long)p->global_step,
                     (long long)p->step_in_epoch);
        return ST_ERR;
    }
    if (st_ckpt_check_iterations(file, iterations) != ST_OK) return ST_ERR;
    /* One optimizer update per completed step (fit.c: a step whose update is skipped ends the
     * run before global_step counts it). */
    if (iterations > p->global_step) {
        st_error_set("%s: /optimizer/iterations = %lld is above /train_state/global_step = "
                     "%lld (one update per step; damaged file?)", file, (long long)iterations,
                     (long long)p->global_step);
        return ST_ERR;
    }
    for (int i = 0; i < 3; i++) {
        if (!isfinite(p->partial[i]) || (i > 0 && p->partial[i] < 0)) {
            st_error_set("%s: /train_state/partial[%d] = %g is not a valid running sum (damaged "
                         "file?)", file, i, p->partial[i]);
            return ST_ERR;
        }
    }
    return ST_OK;
}

int st_ckpt_check_progress(const char *file, const st_ckpt_progress *p, int64_t epochs,
                           int64_t steps, int64_t rows) {
    if (st_ckpt_check_scalars(file, p, 0) != ST_OK) return ST_ERR;
    if (steps > 0 && p->step_in_epoch >= steps) {
        st_error_set("%s: /train_state/step_in_epoch = %lld, but an epoch of this run has %lld "
                     "steps (0..%lld)", file, (long long)p->step_in_epoch, (long long)steps,
                     (long long)steps - 1);
        return ST_ERR;
    }
    /* Completed epochs beyond the run's, or a position inside an epoch the run does not have. */
    if (p->epoch > epochs || (p->epoch == epochs && p->step_in_epoch > 0)) {
        st_error_set("%s: /train_state/epoch = %lld (completed epochs, step %lld of the next), "
                     "but [train] epochs = %lld (raise epochs to train on)", file,
                     (long long)p->epoch, (long long)p->step_in_epoch, (long long)epochs);
        return ST_ERR;
    }
    /* Not an equality: a batch size changed at an epoch end changes the steps per epoch. But no
     * epoch ever had more steps than rows. All terms are <= 2^53 (checked above), rows is the
     * run's: the product is bounded before it is formed. */
    if (rows > 0 && (p->epoch <= (ST_CKPT_COUNT_MAX - p->step_in_epoch) / rows) &&
        p->global_step > p->epoch * rows + p->step_in_epoch) {
        st_error_set("%s: /train_state/global_step = %lld, but %lld completed epochs of at most "
                     "%lld steps (one per training row) and step_in_epoch = %lld allow at most "
                     "%lld (damaged file?)", file, (long long)p->global_step,
                     (long long)p->epoch, (long long)rows, (long long)p->step_in_epoch,
                     (long long)(p->epoch * rows + p->step_in_epoch));
        return ST_ERR;
    }
    return ST_OK;
}
