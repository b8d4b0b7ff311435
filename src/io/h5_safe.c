/*
 * h5_safe.c - opening and sizing HDF5 files seqtrain did not write (io/h5.h, "untrusted"
 * block): datasets other people made, checkpoints copied from elsewhere.
 *
 * HDF5 can make a reader touch far more than the file it was given:
 *   - an external link (/train -> other.h5:/train) makes HDF5 open another file, by any path:
 *     a FIFO there blocks the open forever;
 *   - external storage (H5Pset_external) keeps a dataset's raw bytes in any other file:
 *     /etc/passwd read back as token ids and printed as statistics;
 *   - a virtual dataset maps its elements from datasets in other files (and merely asking
 *     for its shape opens them, measured with HDF5 1.10.8: a FIFO source blocks H5Dget_space);
 *   - a declared shape is just numbers: (N, 65537, 65537) overflows int products, 2^61
 *     elements wrap a size_t allocation size to almost nothing.
 * So a file we did not write is opened here, once, and refused whole (one line naming the file
 * and the object) when it holds an external or user-defined link anywhere, or a dataset whose
 * data live outside it; and every dataset is sized through st_h5_check_dataset, which refuses
 * shapes whose byte count overflows or exceeds ST_H5_MAX_BYTES, before anything multiplies
 * them. A path that is not a regular file (FIFO, device, socket, directory) is refused before
 * anything opens it for reading in blocking mode.
 *
 * Not here: what the datasets mean (dataset.c, ckpt.c, inspect.c), the files seqtrain writes
 * (h5.c), and HDF5's own parsing of a damaged file (its library's job; the fuzzers test it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/text.h"
#include "io/h5.h"
#include "seqtrain/error.h"

/* HDF5 reopens the path itself after this check (it cannot open a descriptor): a file swapped
 * for a FIFO in between is the one race left. */
static int check_regular(const char *path, const char *what) {
    int fd = st_file_open_regular(path, what, 0);
    if (fd < 0) return ST_ERR;
    close(fd);
    return ST_OK;
}

typedef struct scan {
    const char *path;
    int bad; /* set (with the message) by the first refused object; stops the walk */
} scan;

/* H5Lvisit callback: every link reachable from the root, without following soft or external
 * links. Hard and soft links stay inside the file (a soft link is a path resolved from this
 * file's root, and every link on such a path is visited here too). */
static herr_t scan_link(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    scan *sc = data;
    char esc[256];
    st_escape(esc, sizeof esc, name, 120);
    if (info->type == H5L_TYPE_HARD || info->type == H5L_TYPE_SOFT) return 0;
    if (info->type == H5L_TYPE_EXTERNAL) {
        char val[1024], fesc[256], oesc[256];
        const char *file = "?", *obj = "?";
        unsigned flags;
        if (info->u.val_size <= sizeof val &&
            H5Lget_val(g, name, val, sizeof val, H5P_DEFAULT) >= 0 &&
            H5Lunpack_elink_val(val, info->u.val_size, &flags, &file, &obj) < 0)
            file = obj = "?";
        st_error_set("%s: /%s is an external link to %s:%s: refused (seqtrain reads only the "
                     "file it is given)", sc->path, esc, st_escape(fesc, sizeof fesc, file, 120),
                     st_escape(oesc, sizeof oesc, obj, 120));
    } else {
        st_error_set("%s: /%s is a user-defined link (type %d): refused", sc->path, esc,
                     (int)info->type);
    }
    sc->bad = 1;
    return 1; /* > 0 stops the walk */
}

/* The layout of a dataset, checked without asking for its shape (which, for a virtual dataset,
 * opens its sources). ST_OK or ST_ERR with the message. */
static int check_layout(hid_t dset, const char *file, const char *name) {
    char esc[256];
    st_escape(esc, sizeof esc, name, 120);
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) {
        st_error_set("%s: dataset %s: cannot read its creation properties (damaged file?)", file,
                     esc);
        return ST_ERR;
    }
    int rc = ST_OK;
    H5D_layout_t layout = H5Pget_layout(dcpl);
    int next = H5Pget_external_count(dcpl);
    if (next < 0) {
        st_error_set("%s: dataset %s: cannot read its creation properties (damaged file?)",
                     file, esc);
        rc = ST_ERR;
    } else if (next > 0) {
        char ext[1024] = "?", eesc[256];
        off_t off;
        hsize_t size;
        if (H5Pget_external(dcpl, 0, sizeof ext, ext, &off, &size) < 0)
            snprintf(ext, sizeof ext, "?");
        ext[sizeof ext - 1] = 0;
        st_error_set("%s: dataset %s stores its data outside the file (external storage: %s): "
                     "refused", file, esc, st_escape(eesc, sizeof eesc, ext, 120));
        rc = ST_ERR;
    } else if (layout == H5D_VIRTUAL) {
        st_error_set("%s: dataset %s is a virtual dataset (its data come from other datasets "
                     "or files): refused", file, esc);
        rc = ST_ERR;
    } else if (layout < 0 || layout >= H5D_NLAYOUTS) {
        st_error_set("%s: dataset %s: unknown storage layout (damaged file?)", file, esc);
        rc = ST_ERR;
    } else if (layout == H5D_CHUNKED) {
        /* HDF5 allocates a whole chunk to read any element of it: a chunk declared at
         * gigabytes (and compressed to nothing) would be a memory bomb. */
        hsize_t cd[H5S_MAX_RANK];
        int cr = H5Pget_chunk(dcpl, H5S_MAX_RANK, cd);
        hid_t t = H5Dget_type(dset);
        size_t bytes = t >= 0 ? H5Tget_size(t) : 0;
        if (t >= 0) H5Tclose(t);
        int ok = cr > 0 && bytes > 0;
        for (int i = 0; ok && i < cr; i++) {
            if (cd[i] == 0 || cd[i] > ST_H5_MAX_CHUNK_BYTES / bytes) ok = 0;
            else bytes *= (size_t)cd[i];
            if (bytes > ST_H5_MAX_CHUNK_BYTES) ok = 0;
        }
        if (!ok) {
            st_error_set("%s: dataset %s: chunks of more than %d MiB (or unreadable chunk "
                         "dimensions): refused", file, esc, (int)(ST_H5_MAX_CHUNK_BYTES >> 20));
            rc = ST_ERR;
        }
    }
    H5Pclose(dcpl);
    return rc;
}

/* H5Ovisit callback: every object reachable by hard links; each dataset's layout checked. */
static herr_t scan_object(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    scan *sc = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    char full[1100];
    snprintf(full, sizeof full, "/%s", name);
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0) {
        char esc[256];
        st_error_set("%s: dataset %s cannot be opened (damaged file?)", sc->path,
                     st_escape(esc, sizeof esc, full, 120));
        sc->bad = 1;
        return 1;
    }
    if (check_layout(d, sc->path, full) != ST_OK) sc->bad = 1;
    H5Dclose(d);
    return sc->bad;
}

hid_t st_h5_open_untrusted(const char *path, const char *what) {
    st_h5_quiet();
    /* A dataset may name any filter; HDF5 would then load a shared library for it from its
     * plugin path. seqtrain's files need only the built-in deflate and shuffle: no plugin
     * code runs because of a file's contents. */
    H5PLset_loading_state(0);
    if (check_regular(path, what) != ST_OK) return -1;
    if (H5Fis_hdf5(path) <= 0) {
        st_error_set("%s: not an HDF5 %s", path, what);
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        st_error_set("%s: cannot open the HDF5 file (damaged, or being written?)", path);
        return -1;
    }
    scan sc = {path, 0};
    /* Links first: an object behind an external link must not even be opened. */
    herr_t rc = H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, scan_link, &sc);
    if (!sc.bad && rc >= 0)
        rc = H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, scan_object, &sc, H5O_INFO_BASIC);
    if (!sc.bad && rc < 0) {
        st_error_set("%s: cannot read the file's structure (damaged HDF5 file?)", path);
        sc.bad = 1;
    }
    if (sc.bad) {
        H5Fclose(f);
        return -1;
    }
    return f;
}

int st_h5_check_dataset(hid_t dset, const char *file, const char *name, int max_rank,
                        int *rank, hsize_t *dims, size_t elem_size, size_t *total) {
    char esc[256];
    if (check_layout(dset, file, name) != ST_OK) return ST_ERR;
    st_escape(esc, sizeof esc, name, 120);
    hid_t sp = H5Dget_space(dset);
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (r < 0 || r > H5S_MAX_RANK) {
        if (sp >= 0) H5Sclose(sp);
        st_error_set("%s: dataset %s: unreadable shape (damaged file?)", file, esc);
        return ST_ERR;
    }
    hsize_t d[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(sp, d, NULL);
    int null_space = H5Sget_simple_extent_type(sp) == H5S_NULL;
    H5Sclose(sp);
    char shape[256];
    st_h5_dims_str(r, d, shape, sizeof shape);
    if (r > max_rank) {
        st_error_set("%s: dataset %s has shape %s: at most %d dimensions expected", file, esc,
                     shape, max_rank);
        return ST_ERR;
    }
    if (elem_size == 0) {
        hid_t t = H5Dget_type(dset);
        elem_size = t >= 0 ? H5Tget_size(t) : 0;
        if (t >= 0) H5Tclose(t);
        if (elem_size == 0) elem_size = 1;
    }
    /* Bytes of the non-zero dimensions, refused as soon as the running product passes the
     * limit: the limit is far below SIZE_MAX, so nothing here can wrap. A zero dimension makes
     * the dataset empty but the others still size per-row buffers, so they count too. */
    size_t bytes = elem_size;
    int empty = null_space;
    for (int i = 0; i < r; i++) {
        if (d[i] == 0) {
            empty = 1;
            continue;
        }
        if (d[i] > ST_H5_MAX_BYTES / bytes) {
            st_error_set("%s: dataset %s declares shape %s: more than %llu TiB at %zu bytes an "
                         "element: refused", file, esc, shape,
                         (unsigned long long)(ST_H5_MAX_BYTES >> 40), elem_size);
            return ST_ERR;
        }
        bytes *= (size_t)d[i];
    }
    if (rank) *rank = r;
    if (dims) memcpy(dims, d, (size_t)r * sizeof *d);
    if (total) *total = empty ? 0 : bytes / elem_size;
    return ST_OK;
}

int st_h5_check_written(hid_t dset, const char *file, const char *name) {
    hid_t dcpl = H5Dget_create_plist(dset);
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    char esc[256];
    st_escape(esc, sizeof esc, name, 120);
    int rc = ST_OK;
    if (layout != H5D_COMPACT) {
        /* Data declared but never written read back as fill values: a file of a few KiB can
         * declare 2^31 rows and keep a reader busy for hours producing nothing. Every writer
         * of real data (ours, h5py, the tokenizer) stores every chunk. Chunks are counted, not
         * measured: H5Dget_space_status calls a compressed dataset "partly allocated". */
        hid_t sp = H5Dget_space(dset);
        int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        hsize_t dims[H5S_MAX_RANK], cd[H5S_MAX_RANK], want = 1, have = 0;
        if (r >= 0) H5Sget_simple_extent_dims(sp, dims, NULL);
        int ok = r >= 0;
        for (int i = 0; ok && i < r; i++) want = dims[i] ? want : 0;
        if (ok && want && layout == H5D_CHUNKED) {
            ok = H5Pget_chunk(dcpl, H5S_MAX_RANK, cd) == r;
            for (int i = 0; ok && i < r; i++) want *= (dims[i] + cd[i] - 1) / cd[i];
            /* The dataspace itself, not H5S_ALL: 1.10.8 counts 0 chunks for H5S_ALL. */
            ok = ok && H5Dget_num_chunks(dset, sp, &have) >= 0 && have == want;
        } else if (ok && want) {
            ok = H5Dget_storage_size(dset) > 0;
        }
        if (sp >= 0) H5Sclose(sp);
        if (!ok) {
            st_error_set("%s: dataset %s declares data that was never written (%s): refused",
                         file, esc, layout == H5D_CHUNKED ? "missing chunks" : "no storage");
            rc = ST_ERR;
        }
    }
    if (dcpl >= 0) H5Pclose(dcpl);
    return rc;
}

int st_h5_read_attr_i64(hid_t loc, const char *name, long long *out) {
    if (H5Aexists(loc, name) <= 0) return 0;
    int ret = -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = -1, sp = -1;
    if (a < 0) return -1;
    t = H5Aget_type(a);
    sp = H5Aget_space(a);
    /* Integer class only (a float 2.5 is not a count), read as 64-bit: HDF5 would clip a
     * larger stored value to INT_MAX when asked for an int, and the message would lie. An
     * unsigned 64-bit value above LLONG_MAX is clipped to LLONG_MAX, which every caller
     * refuses as too large anyway. */
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER &&
        H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, H5T_NATIVE_LLONG, out) >= 0)
        ret = 1;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return ret;
}
