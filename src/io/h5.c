/*
 * h5.c - the HDF5 helpers shared by dataset.c, dataset_write.c, ckpt.c, inspect.c and
 * predictions.c (io/h5.h): error-stack silencing, type/shape descriptions for messages,
 * string attributes and string arrays (read and write), one dataset writer, and the atomic
 * create/finish pair every HDF5 file seqtrain writes goes through.
 *
 * Layout conventions written here: strings are variable-length UTF-8 (what h5py writes for
 * str); integer attributes are scalar int32 little-endian; compressed datasets are chunked in
 * whole rows of about chunk_bytes, byte-shuffled, then deflated at level 4.
 *
 * Not here: any knowledge of what a dataset or a checkpoint contains, and any message naming a
 * file (except st_h5_create/st_h5_finish, which own the file): the callers know the path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/h5.h"
#include "seqtrain/error.h"

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

int st_h5_read_attr_int(hid_t loc, const char *name, int *out) {
    if (H5Aexists(loc, name) <= 0) return 0;
    int ret = -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = -1, sp = -1;
    if (a < 0) return -1;
    t = H5Aget_type(a);
    sp = H5Aget_space(a);
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER &&
        H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, H5T_NATIVE_INT, out) >= 0)
        ret = 1;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return ret;
}

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
        /* Fixed length: the stored bytes plus a terminator, whatever the padding. */
        size_t len = H5Tget_size(ft);
        char *s = st_malloc(len + 1);
        if (H5Aread(a, mt, s) < 0) {
            st_free(s);
            goto done;
        }
        s[len] = 0;
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
    hid_t f = H5Fcreate(a->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
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
