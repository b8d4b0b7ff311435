/*
 * h5.c - the HDF5 helpers shared by dataset.c, dataset_write.c, ckpt.c, inspect.c and
 * predictions.c (io/h5.h): error-stack silencing, type/shape descriptions for messages,
 * string attributes and string arrays (read and write), one dataset writer, the atomic
 * create/finish pair every HDF5 file seqtrain writes goes through, and the in-memory route
 * (core driver, 1.8 format, written out by st_atomic) that checkpoints take.
 *
 * Layout conventions written here: strings are variable-length UTF-8 (what h5py writes for
 * str); integer attributes are scalar int32 little-endian; compressed datasets are chunked in
 * whole rows of about chunk_bytes, byte-shuffled, then deflated at level 4.
 *
 * Not here: any knowledge of what a dataset or a checkpoint contains, and any message naming a
 * file (except st_h5_create/st_h5_finish, which own the file): the callers know the path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5.h"
#include "seqtrain/error.h"

/* The longest fixed-length string attribute read (a config text is a few kilobytes). */
#define ST_H5_ATTR_STR_MAX ((size_t)16 << 20)

void st_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

void st_h5_describe(hid_t dset, const char *other, char *buf, size_t n) {
    hid_t t = H5Dget_type(dset), sp = H5Dget_space(dset);
    H5T_class_t cls = H5Tget_class(t);
    size_t bits = H5Tget_size(t) * 8;
    int len;
    if (cls == H5T_INTEGER)
        len = snprintf(buf, n, "%s%zu (", H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int", bits);
    else if (cls == H5T_FLOAT)
        len = snprintf(buf, n, "float%zu (", bits);
    else
        len = snprintf(buf, n, "%s (", cls == H5T_STRING ? "string" : other);
    hsize_t dims[H5S_MAX_RANK];
    int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int i = 0; i < rank && len > 0 && (size_t)len < n; i++)
        len += snprintf(buf + len, n - (size_t)len, "%s%llu", i ? ", " : "",
                        (unsigned long long)dims[i]);
    if (len > 0 && (size_t)len < n) snprintf(buf + len, n - (size_t)len, ")");
    H5Tclose(t);
    H5Sclose(sp);
}

void st_h5_dims_str(int rank, const hsize_t *d, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%llu", i ? ", " : "",
                                 (unsigned long long)d[i]);
    if (used < n) snprintf(buf + used, n - used, ")");
}

hid_t st_h5_vlen_utf8(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* ---- writing ------------------------------------------------------------------------------ */

int st_h5_write(hid_t loc, hid_t lcpl, const char *name, hid_t ftype, hid_t mtype, int rank,
                const hsize_t *dims, const void *data, size_t chunk_bytes) {
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    int ok = sp >= 0 && dcpl >= 0, empty = 0;
    for (int i = 0; i < rank; i++) empty |= dims[i] == 0;
    if (ok && chunk_bytes && rank > 0 && !empty) {
        hsize_t chunk[H5S_MAX_RANK];
        size_t row = H5Tget_size(ftype);
        for (int i = 1; i < rank; i++) {
            chunk[i] = dims[i];
            row *= dims[i];
        }
        chunk[0] = row >= chunk_bytes ? 1 : chunk_bytes / row;
        if (chunk[0] > dims[0]) chunk[0] = dims[0];
        /* Byte shuffle first: padded token ids are mostly zero high bytes, which deflate then
         * squeezes far better. */
        ok = H5Pset_chunk(dcpl, rank, chunk) >= 0 && H5Pset_shuffle(dcpl) >= 0 &&
             H5Pset_deflate(dcpl, 4) >= 0;
    }
    if (ok) ok = (d = H5Dcreate2(loc, name, ftype, sp, lcpl, dcpl, H5P_DEFAULT)) >= 0;
    if (ok && !empty) ok = H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (d >= 0) H5Dclose(d);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return ok ? ST_OK : ST_ERR;
}

int st_h5_write_attr_int(hid_t loc, const char *name, int v) {
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = sp >= 0 &&
             (a = H5Acreate2(loc, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, H5T_NATIVE_INT, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return ok ? ST_OK : ST_ERR;
}

int st_h5_write_attr_str(hid_t loc, const char *name, const char *v) {
    hid_t t = st_h5_vlen_utf8(), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok ? ST_OK : ST_ERR;
}

int st_h5_write_attr_fstr(hid_t loc, const char *name, const char *v) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 && H5Tset_size(t, strlen(v) + 1) >= 0 &&
             H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok ? ST_OK : ST_ERR;
}

int st_h5_write_strings(hid_t loc, const char *name, const char *const *s, size_t n) {
    hid_t t = st_h5_vlen_utf8();
    if (t < 0) return ST_ERR;
    const char **v = st_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = s[i] ? s[i] : "";
    hsize_t dims[1] = {n};
    int rc = st_h5_write(loc, H5P_DEFAULT, name, t, t, 1, dims, v, 0);
    st_free(v);
    H5Tclose(t);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* A copy in memory we own: HDF5's variable-length strings come from its own allocator and are
 * released with H5free_memory, ours with st_free. */
static char *copy_str(const char *s) {
    size_t len = s ? strlen(s) : 0;
    char *c = st_malloc(len + 1);
    memcpy(c, s ? s : "", len + 1);
    return c;
}

int st_h5_read_attr_str(hid_t loc, const char *name, char **out) {
    *out = NULL;
    if (H5Aexists(loc, name) <= 0) return 0;
    int ret = -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), ft = -1, mt = -1, sp = -1;
    if (a < 0) return -1;
    ft = H5Aget_type(a);
    sp = H5Aget_space(a);
    if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING ||
        H5Sget_simple_extent_npoints(sp) != 1 || (mt = H5Tcopy(ft)) < 0)
        goto done;
    if (H5Tis_variable_str(ft) > 0) {
        char *s = NULL;
        if (H5Aread(a, mt, &s) < 0) goto done;
        *out = copy_str(s);
        if (s) H5free_memory(s);
    } else {
        /* Fixed length: the stored bytes plus a terminator, whatever the padding. The size is
         * the file's word: bounded before the allocation (config texts are kilobytes). */
        size_t len = H5Tget_size(ft);
        if (len == 0 || len > ST_H5_ATTR_STR_MAX) goto done;
        char *s = st_malloc(len + 1);
        if (H5Aread(a, mt, s) < 0) {
            st_free(s);
            goto done;
        }
        s[len] = 0;
        /* Padding is NULs to the end; a byte after them is text a C string would drop
         * silently (a config with a hidden tail): refused as not a single string. */
        for (size_t i = strlen(s); i < len; i++)
            if (s[i]) {
                st_free(s);
                goto done;
            }
        *out = s;
    }
    ret = 1;
done:
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return ret;
}

int st_h5_read_strings(hid_t loc, const char *name, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return 0;
    int ret = -1;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT), ft = -1, mt = -1, sp = -1;
    if (ds < 0) return -1;
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
        for (size_t i = 0; i < cnt; i++) {
            char *c = copy_str(w[i]);
            if (w[i]) H5free_memory(w[i]);
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
    *out = w;
    *n = cnt;
    ret = 1;
done:
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    return ret;
}

/* ---- the atomic route --------------------------------------------------------------------- */

hid_t st_h5_create(st_atomic *a, const char *path) {
    st_h5_quiet();
    if (st_atomic_begin(a, path) != ST_OK) return -1;
    errno = 0;
    /* EXCL: O_CREAT | O_EXCL, which never follows a symlink planted at a->tmp. */
    hid_t f = H5Fcreate(a->tmp, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (f >= 0) a->created = 1;
    if (f < 0)
        st_error_set("%s: cannot create %s: %s", path, a->tmp,
                     errno ? strerror(errno)
                           : "HDF5 error (does the directory exist and is it writable?)");
    return f;
}

int st_h5_finish(st_atomic *a, hid_t f, int ok) {
    /* H5Fclose flushes; a full disk shows up as its failure. */
    if (ok && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) {
        st_error_set("%s: writing %s failed (disk full?)", a->path, a->tmp);
        ok = 0;
    }
    if (H5Fclose(f) < 0 && ok) {
        st_error_set("%s: closing %s failed (disk full?)", a->path, a->tmp);
        ok = 0;
    }
    if (!ok) {
        st_atomic_abort(a);
        return ST_ERR;
    }
    return st_atomic_commit(a);
}

/* ---- the in-memory route ------------------------------------------------------------------ */

/* The core driver's buffer, through file-image callbacks so that it outlives H5Fclose: the
 * closed file is final (superblock flags cleared and checksummed by HDF5's own close), which
 * H5Fget_file_image's snapshot of an open file is not (1.10 clears the superblock's status
 * flags in the copy without recomputing its checksum: the copy does not open). */
static void *img_malloc(size_t size, H5FD_file_image_op_t op, void *ud) {
    (void)op;
    st_h5_image *im = ud;
    free(im->buf);
    im->buf = malloc(size);
    im->size = im->buf ? size : 0;
    return im->buf;
}
static void *img_memcpy(void *dst, const void *src, size_t size, H5FD_file_image_op_t op,
                        void *ud) {
    (void)op, (void)ud;
    return memcpy(dst, src, size);
}
static void *img_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *ud) {
    (void)op;
    st_h5_image *im = ud;
    unsigned char *p = realloc(ptr, size);
    if (p) im->buf = p, im->size = size;
    return p;
}
static herr_t img_free(void *ptr, H5FD_file_image_op_t op, void *ud) {
    st_h5_image *im = ud;
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && ptr == im->buf) return 0; /* kept: ours now */
    if (ptr == im->buf) im->buf = NULL, im->size = 0;
    free(ptr);
    return 0;
}
static void *img_udata_copy(void *ud) { return ud; }
static herr_t img_udata_free(void *ud) { (void)ud; return 0; }

hid_t st_h5_create_image(st_h5_image *img, size_t size_hint) {
    st_h5_quiet();
    img->buf = NULL;
    img->size = 0;
    H5FD_file_image_callbacks_t cb = {img_malloc, img_memcpy, img_realloc, img_free,
                                      img_udata_copy, img_udata_free, img};
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = -1;
    /* The core driver grows its buffer by `increment` bytes: one step when the hint is right. */
    size_t inc = size_hint < ((size_t)1 << 20) ? (size_t)1 << 20 : size_hint;
    /* 1.8 format both ways: checksummed metadata, and readable by every HDF5 since 1.8. */
    if (fapl >= 0 && H5Pset_fapl_core(fapl, inc, 0) >= 0 &&
        H5Pset_file_image_callbacks(fapl, &cb) >= 0 &&
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) >= 0)
        f = H5Fcreate("seqtrain-image.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    return f;
}

/* The file's length: the buffer is the driver's allocation (a multiple of its increment); the
 * end-of-file address is in the superblock (version 2 or 3: 8-byte signature, version, offset
 * and length sizes, flags, then base, extension and end-of-file addresses). */
static size_t image_eof(const st_h5_image *img) {
    const unsigned char *b = img->buf;
    if (!b || img->size < 48 || memcmp(b, "\211HDF\r\n\032\n", 8) != 0 || b[8] < 2 ||
        b[8] > 3 || b[9] != 8)
        return 0;
    uint64_t base = 0, eof = 0;
    for (int i = 7; i >= 0; i--) base = base << 8 | b[12 + i];
    for (int i = 7; i >= 0; i--) eof = eof << 8 | b[28 + i];
    return base == 0 && eof >= 48 && eof <= img->size ? (size_t)eof : 0;
}

int st_h5_finish_image(st_h5_image *img, const char *path, hid_t f, int ok) {
    /* Memory only: nothing on disk can make this close fail. */
    if (H5Fclose(f) < 0 && ok) {
        st_error_set("%s: HDF5 could not close the file it built in memory", path);
        ok = 0;
    }
    size_t n = ok ? image_eof(img) : 0;
    if (ok && n == 0) {
        st_error_set("%s: HDF5 built an image without a version 2 superblock", path);
        ok = 0;
    }
    int rc = ok ? ST_OK : ST_ERR;
    st_atomic a;
    FILE *fp = NULL;
    if (rc == ST_OK) rc = st_atomic_begin(&a, path);
    if (rc == ST_OK && (fp = st_atomic_fopen(&a)) == NULL) rc = ST_ERR;
    if (rc == ST_OK && fwrite(img->buf, 1, n, fp) != n) {
        int err = errno;
        st_atomic_abort(&a);
        st_error_set("%s: writing %s failed: %s", path, a.tmp, strerror(err));
        rc = ST_ERR;
    } else if (rc == ST_OK) {
        rc = st_atomic_commit(&a);
    }
    free(img->buf);
    img->buf = NULL;
    img->size = 0;
    return rc;
}
