/*
 * ckpt.c - the checkpoint file layout in HDF5 (io/ckpt.h): write and read a checkpoint from a
 * neutral description (a table of named tensors, optimizer state buffers by name, train-state
 * scalars, config text, extra vectors); find the newest checkpoint of a directory; prune old
 * ones.
 *
 * File layout (io/ckpt.h), chosen so that h5py users can read a checkpoint the way they read
 * Keras weights:
 *   /model_weights/<layer>/<param>            float32, the tensor's (Keras) shape
 *   /optimizer/iterations                     int64 scalar
 *   /optimizer/<state>/<layer>/<param>        float32, same shapes (state = m, v, velocity, ...)
 *   /train_state/{epoch,step_in_epoch,global_step}  int64 scalars; seed uint64 scalar
 *   /train_state/partial                      float64 (3)
 *   extra 1-D arrays named by the caller (st_ckpt_desc.vecs): /history/<column>,
 *   /train_state/metrics, /callbacks/... (fit.c decides what they hold)
 *   root attributes: format "seqtrain-ckpt-1", config (the config text, variable-length UTF-8
 *   string), optimizer (its name; absent when saved without optimizer state).
 * Each tensor's data is its weights pointer; its optimizer state sits at the tensor's offset in
 * every state buffer.
 *
 * Saving: the file is built in memory by HDF5 (io/h5.h's image route: 1.8 format, checksummed
 * metadata), every dataset with its crc32 attribute, then written through st_atomic (PATH.tmp,
 * fsync, rename, directory fsync; Redis's rdbSave). HDF5 never touches the disk, so a full disk
 * or a read-only directory is one message from our own write and cannot leave HDF5 holding a
 * half-closed file. A job killed mid-save leaves at most a stray .tmp (ignored by resolve/prune
 * and overwritten by the next save); the previous checkpoint is never touched.
 *
 * Loading verifies the whole file first (ckpt_verify.c), then checks every tensor (presence,
 * shape) before it writes anything, so a damaged or mismatched checkpoint leaves the tensors as
 * they were. Directories of checkpoints (resolve, prune, the lock): ckpt_dir.c. Not here:
 * models and optimizers (train/checkpoint.c turns them into the description), deciding when to
 * save (fit.c) or the rank logic (only rank 0 saves; the caller ensures that).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32.h"
#include "core/text.h"
#include "io/ckpt_int.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"

/* "/optimizer/<state>/<layer>/<param>". */
#define H5PATH_MAX 256

/* ---- writing ------------------------------------------------------------------------------ */

/* A numeric dataset (contiguous, uncompressed) and its crc32 attribute over the bytes as
 * stored: the native bytes, since the file types are little-endian (ckpt_verify.c refuses to
 * build on a big-endian host). */
static int write_summed(hid_t f, hid_t lcpl, const char *path, hid_t ftype, hid_t mtype,
                        int rank, const hsize_t *dims, const void *data) {
    size_t bytes = H5Tget_size(ftype);
    for (int i = 0; i < rank; i++) bytes *= (size_t)dims[i];
    if (st_h5_write(f, lcpl, path, ftype, mtype, rank, dims, data, 0) != ST_OK) return ST_ERR;
    uint32_t crc = st_crc32(0, data, bytes);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = d >= 0 && sp >= 0 &&
             (a = H5Acreate2(d, ST_CKPT_CRC_ATTR, H5T_STD_U32LE, sp, H5P_DEFAULT,
                             H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, H5T_NATIVE_UINT32, &crc) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return ok ? ST_OK : ST_ERR;
}

/* One tensor as float32 of its shape; w is the weights or a state/gradient buffer slice. */
static int write_tensor(hid_t f, hid_t lcpl, const char *path, const st_dims *dims,
                        const float *w) {
    hsize_t hd[ST_MAX_DIMS];
    for (int i = 0; i < dims->ndim; i++) hd[i] = dims->d[i];
    return write_summed(f, lcpl, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims->ndim, hd, w);
}

/* An int64 / uint64 / float64 scalar or vector. */
static int write_num(hid_t f, hid_t lcpl, const char *path, hid_t ftype, hid_t mtype, int rank,
                     hsize_t n, const void *v) {
    return write_summed(f, lcpl, path, ftype, mtype, rank, &n, v);
}

/* Everything inside the file, in the order of the layout comment above. Returns ST_ERR on the
 * first HDF5 failure; the caller sets the message (the cause is almost always the disk). */
static int save_body(hid_t f, hid_t lcpl, const st_ckpt_desc *d) {
    char path[H5PATH_MAX];
    if (st_h5_write_attr_fstr(f, "format", ST_CKPT_FORMAT) ||
        st_h5_write_attr_fstr(f, ST_CKPT_SUM_ATTR, ST_CKPT_SUM_KIND) ||
        st_h5_write_attr_fstr(f, "config", d->config ? d->config : ""))
        return ST_ERR;
    /* A group per layer, parameters or not, so the file lists the whole architecture. */
    for (int i = 0; i < d->ngroups; i++) {
        snprintf(path, sizeof path, "/model_weights/%s", d->groups[i]);
        hid_t g = H5Gcreate2(f, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) return ST_ERR;
        H5Gclose(g);
    }
    for (int i = 0; i < d->ntensors; i++) {
        const st_ckpt_tensor *t = &d->tensors[i];
        snprintf(path, sizeof path, "/model_weights/%s", t->name);
        if (write_tensor(f, lcpl, path, &t->dims, t->w)) return ST_ERR;
    }
    if (d->optimizer) {
        if (st_h5_write_attr_fstr(f, "optimizer", d->optimizer) ||
            write_num(f, lcpl, "/optimizer/iterations", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, 0,
                      d->iterations))
            return ST_ERR;
        for (int k = 0; k < d->nstate; k++) {
            for (int i = 0; i < d->ntensors; i++) {
                const st_ckpt_tensor *t = &d->tensors[i];
                snprintf(path, sizeof path, "/optimizer/%s/%s", d->state_name[k], t->name);
                if (write_tensor(f, lcpl, path, &t->dims, d->state[k] + t->offset)) return ST_ERR;
            }
        }
    }
    const st_ckpt_progress *p = d->progress;
    if (p) {
        if (write_num(f, lcpl, "/train_state/epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, 0,
                      &p->epoch) ||
            write_num(f, lcpl, "/train_state/step_in_epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, 0,
                      0, &p->step_in_epoch) ||
            write_num(f, lcpl, "/train_state/global_step", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, 0,
                      &p->global_step) ||
            write_num(f, lcpl, "/train_state/seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, 0,
                      &p->seed) ||
            write_num(f, lcpl, "/train_state/partial", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, 3,
                      p->partial))
            return ST_ERR;
        for (int i = 0; i < d->nvecs; i++) {
            const st_ckpt_vec *v = &d->vecs[i];
            hid_t ft = v->type == ST_CKPT_F32   ? H5T_IEEE_F32LE
                       : v->type == ST_CKPT_I64 ? H5T_STD_I64LE
                                                : H5T_IEEE_F64LE;
            hid_t mt = v->type == ST_CKPT_F32   ? H5T_NATIVE_FLOAT
                       : v->type == ST_CKPT_I64 ? H5T_NATIVE_INT64
                                                : H5T_NATIVE_DOUBLE;
            if (write_num(f, lcpl, v->name, ft, mt, 1, v->n, v->data))
                return ST_ERR;
        }
    }
    return ST_OK;
}

/* A link-creation list that creates missing groups on the way ("/optimizer/m/lstm_1/..."). */
static hid_t make_lcpl(void) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        H5Pclose(lcpl);
        return -1;
    }
    return lcpl;
}

/* The image's size, roughly: every float buffer and vector, the config, and some metadata per
 * dataset. Only the first allocation depends on it. */
static size_t size_hint(const st_ckpt_desc *d) {
    size_t n = 0;
    for (int i = 0; i < d->ntensors; i++) n += st_dims_count(&d->tensors[i].dims) * 4 + 1024;
    n *= 1 + (d->optimizer ? (size_t)d->nstate : 0);
    for (int i = 0; i < d->nvecs; i++) n += d->vecs[i].n * (d->vecs[i].type == ST_CKPT_F32 ? 4 : 8) + 1024;
    return n + (d->config ? strlen(d->config) : 0) + 65536;
}

int st_ckpt_write(const char *path, const st_ckpt_desc *d) {
    st_h5_image img;
    hid_t f = st_h5_create_image(&img, size_hint(d));
    if (f < 0) {
        st_error_set("%s: HDF5 cannot create a file in memory", path);
        return ST_ERR;
    }
    hid_t lcpl = make_lcpl();
    int ok = lcpl >= 0 && save_body(f, lcpl, d) == ST_OK;
    if (lcpl >= 0) H5Pclose(lcpl);
    if (!ok) st_error_set("%s: HDF5 failed to build the checkpoint in memory", path);
    return st_h5_finish_image(&img, path, f, ok);
}

int st_ckpt_write_gradients(const char *path, const st_ckpt_tensor *t, int nt, const float *grads,
                            const float *probs, size_t n, int K, double loss) {
    char dpath[H5PATH_MAX];
    st_h5_image img;
    hid_t f = st_h5_create_image(&img, (size_t)(n * (size_t)K) * 4 + 65536);
    if (f < 0) {
        st_error_set("%s: HDF5 cannot create a file in memory", path);
        return ST_ERR;
    }
    hid_t lcpl = make_lcpl();
    int ok = lcpl >= 0;
    for (int i = 0; ok && i < nt; i++) {
        snprintf(dpath, sizeof dpath, "/gradients/%s", t[i].name);
        ok = write_tensor(f, lcpl, dpath, &t[i].dims, grads + t[i].offset) == ST_OK;
    }
    hsize_t dims[2] = {n, (hsize_t)K};
    ok = ok &&
         !write_summed(f, lcpl, "/probabilities", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims,
                       probs) &&
         !write_num(f, lcpl, "/loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, 0, &loss);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (!ok) st_error_set("%s: HDF5 failed to build the gradients file in memory", path);
    return st_h5_finish_image(&img, path, f, ok);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Checks that a float dataset exists at dpath with exactly the tensor's shape. */
static int check_param(hid_t f, const char *file, const char *dpath, const st_dims *want) {
    hsize_t got[H5S_MAX_RANK], w[ST_MAX_DIMS];
    char ws[96], gs[96];
    hid_t d = -1, sp = -1, t = -1;
    int ok = 0, rank = -1;
    for (int i = 0; i < want->ndim; i++) w[i] = want->d[i];
    st_h5_dims_str(want->ndim, w, ws, sizeof ws);
    if (H5Lexists(f, dpath, H5P_DEFAULT) <= 0 || (d = H5Dopen2(f, dpath, H5P_DEFAULT)) < 0) {
        st_error_set("%s: %s is missing (expected float32 %s; saved from a different model or "
                     "optimizer?)", file, dpath, ws);
        return ST_ERR;
    }
    t = H5Dget_type(d);
    sp = H5Dget_space(d);
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_FLOAT) {
        rank = H5Sget_simple_extent_dims(sp, got, NULL);
        ok = rank == want->ndim;
        for (int i = 0; ok && i < rank; i++) ok = got[i] == w[i];
    }
    if (!ok) {
        if (rank >= 0)
            st_h5_dims_str(rank, got, gs, sizeof gs);
        else
            snprintf(gs, sizeof gs, "a non-float dataset");
        st_error_set("%s: %s: expected shape %s, found %s", file, dpath, ws, gs);
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return ok ? ST_OK : ST_ERR;
}

/* Reads a tensor already checked by check_param (so only I/O errors remain). */
static int read_param(hid_t f, const char *dpath, float *w) {
    hid_t d = H5Dopen2(f, dpath, H5P_DEFAULT);
    int ok = d >= 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0;
    if (d >= 0) H5Dclose(d);
    return ok ? ST_OK : ST_ERR;
}

/* Reads a numeric scalar (or an n-element vector) converted to mtype. */
static int read_scalar(hid_t f, const char *file, const char *dpath, hid_t mtype, hssize_t n,
                       void *out) {
    hid_t d = -1, sp = -1;
    int ok = H5Lexists(f, dpath, H5P_DEFAULT) > 0 && (d = H5Dopen2(f, dpath, H5P_DEFAULT)) >= 0 &&
             (sp = H5Dget_space(d)) >= 0 && H5Sget_simple_extent_npoints(sp) == n &&
             H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (!ok) st_error_set("%s: %s is missing or not %lld number(s)", file, dpath, (long long)n);
    return ok ? ST_OK : ST_ERR;
}

/* Is `name` ("<layer>/<param>") one of the description's tensors? */
static int has_tensor(const st_ckpt_desc *d, const char *name) {
    for (int i = 0; i < d->ntensors; i++)
        if (strcmp(d->tensors[i].name, name) == 0) return 1;
    return 0;
}

/* Every dataset under group `gpath` (a layer's group, or a subgroup of it) must be one of the
 * description's tensors, named by its path below /model_weights: a wrapper's tensors are
 * nested, e.g. bidirectional's "<layer>/forward/kernel". */
static int check_group_params(hid_t f, const char *file, const char *gpath, const st_ckpt_desc *d,
                              const char *prefix) {
    H5G_info_t gi;
    char cname[64], sub[H5PATH_MAX], pname[ST_CKPT_NAME_MAX + 64];
    if (H5Gget_info_by_name(f, gpath, &gi, H5P_DEFAULT) < 0) gi.nlinks = 0;
    for (hsize_t j = 0; j < gi.nlinks; j++) {
        if (H5Lget_name_by_idx(f, gpath, H5_INDEX_NAME, H5_ITER_INC, j, cname, sizeof cname,
                               H5P_DEFAULT) < 0)
            continue;
        snprintf(pname, sizeof pname, "%s%s", prefix, cname);
        snprintf(sub, sizeof sub, "%s/%s", gpath, cname);
        H5O_info_t oi;
        if (H5Oget_info_by_name(f, sub, &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_GROUP) {
            char pre[sizeof pname + 1];
            snprintf(pre, sizeof pre, "%s/", pname);
            if (check_group_params(f, file, sub, d, pre) != ST_OK) return ST_ERR;
            continue;
        }
        if (!has_tensor(d, pname)) {
            st_error_set("%s: %s is not a tensor of this model (checkpoint of a different "
                         "architecture?)", file, sub);
            return ST_ERR;
        }
    }
    return ST_OK;
}

/* Every tensor under /model_weights must be one of the description's: weights the model would
 * silently drop mean the checkpoint is of another architecture. */
static int check_no_extra(hid_t f, const char *file, const st_ckpt_desc *d) {
    H5G_info_t gi;
    char lname[ST_CKPT_NAME_MAX], path[H5PATH_MAX], pre[ST_CKPT_NAME_MAX + 1];
    hid_t g = H5Gopen2(f, "/model_weights", H5P_DEFAULT);
    if (g < 0) {
        st_error_set("%s: /model_weights is missing", file);
        return ST_ERR;
    }
    int rc = ST_OK;
    if (H5Gget_info(g, &gi) < 0) gi.nlinks = 0;
    for (hsize_t i = 0; rc == ST_OK && i < gi.nlinks; i++) {
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, lname, sizeof lname,
                               H5P_DEFAULT) < 0)
            continue;
        snprintf(path, sizeof path, "/model_weights/%s", lname);
        snprintf(pre, sizeof pre, "%s/", lname);
        rc = check_group_params(f, file, path, d, pre);
    }
    H5Gclose(g);
    return rc;
}

/* d->optimizer names the state to read (from the config of the resuming run); a checkpoint of
 * a different optimizer is refused rather than half-loaded. Extra optimizer state in the file
 * (e.g. momentum saved, momentum now 0) is ignored. */
int st_ckpt_read(const char *path, const st_ckpt_desc *d) {
    char dpath[H5PATH_MAX];
    char *oname = NULL;
    hid_t f;
    int sums = 0;
    if (st_ckpt_open(path, &f)) return ST_ERR;
    /* Phase 0: the file proves itself (structure, sizes, every dataset's CRC). */
    if (st_ckpt_verify_open(path, f, &sums) != ST_OK) goto fail;
    if (!sums)
        ST_LOG(ST_LOG_WARN, "warning: %s has no checksums (written by an older seqtrain or "
               "another tool): its contents cannot be verified\n", path);

    /* Phase 1: check everything, so that a failure changes nothing. */
    for (int i = 0; i < d->ntensors; i++) {
        snprintf(dpath, sizeof dpath, "/model_weights/%s", d->tensors[i].name);
        if (check_param(f, path, dpath, &d->tensors[i].dims)) goto fail;
    }
    if (check_no_extra(f, path, d)) goto fail;
    if (d->optimizer) {
        const char *want = d->optimizer;
        if (st_h5_read_attr_str(f, "optimizer", &oname) <= 0) {
            st_error_set("%s: the checkpoint has no optimizer state (saved without one)", path);
            goto fail;
        }
        if (strcmp(oname, want) != 0) {
            char esc[160];
            st_escape(esc, sizeof esc, oname, 40); /* the file's bytes */
            st_error_set("%s: the checkpoint's optimizer is %s but the config uses %s (start "
                         "afresh, or set [train] optimizer = %s)", path, esc, want, esc);
            goto fail;
        }
        for (int k = 0; k < d->nstate; k++) {
            for (int i = 0; i < d->ntensors; i++) {
                snprintf(dpath, sizeof dpath, "/optimizer/%s/%s", d->state_name[k],
                         d->tensors[i].name);
                if (check_param(f, path, dpath, &d->tensors[i].dims)) goto fail;
            }
        }
    }

    /* Phase 2: read. Small scalars first: they can still fail without harm. */
    int64_t iterations = 0;
    st_ckpt_progress t;
    if (d->optimizer &&
        read_scalar(f, path, "/optimizer/iterations", H5T_NATIVE_INT64, 1, &iterations))
        goto fail;
    if (d->progress &&
        (read_scalar(f, path, "/train_state/epoch", H5T_NATIVE_INT64, 1, &t.epoch) ||
         read_scalar(f, path, "/train_state/step_in_epoch", H5T_NATIVE_INT64, 1,
                     &t.step_in_epoch) ||
         read_scalar(f, path, "/train_state/global_step", H5T_NATIVE_INT64, 1, &t.global_step) ||
         read_scalar(f, path, "/train_state/seed", H5T_NATIVE_UINT64, 1, &t.seed) ||
         read_scalar(f, path, "/train_state/partial", H5T_NATIVE_DOUBLE, 3, t.partial)))
        goto fail;
    if (d->progress && st_ckpt_check_scalars(path, &t, iterations) != ST_OK) goto fail;
    if (!d->progress && st_ckpt_check_iterations(path, iterations) != ST_OK) goto fail;
    for (int i = 0; i < d->ntensors; i++) {
        snprintf(dpath, sizeof dpath, "/model_weights/%s", d->tensors[i].name);
        if (read_param(f, dpath, d->tensors[i].w)) goto readfail;
    }
    if (d->optimizer) {
        for (int k = 0; k < d->nstate; k++) {
            for (int i = 0; i < d->ntensors; i++) {
                snprintf(dpath, sizeof dpath, "/optimizer/%s/%s", d->state_name[k],
                         d->tensors[i].name);
                if (read_param(f, dpath, d->state[k] + d->tensors[i].offset)) goto readfail;
            }
        }
        if (d->iterations) *d->iterations = iterations;
    }
    if (d->progress) *d->progress = t;
    st_free(oname);
    H5Fclose(f);
    return ST_OK;
readfail:
    st_error_set("%s: %s: HDF5 read error (damaged file?)", path, dpath);
fail:
    st_free(oname);
    H5Fclose(f);
    return ST_ERR;
}

int st_ckpt_read_vec(const char *path, const char *name, int type, size_t max, void **out,
                     size_t *n) {
    const int f32 = type == ST_CKPT_F32;
    hid_t f, d = -1, t = -1;
    *out = NULL;
    *n = 0;
    if (st_ckpt_open(path, &f)) return ST_ERR;
    int rc = ST_OK;
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) {
        hsize_t dims[H5S_MAX_RANK];
        int rank = -1;
        size_t cnt = 0;
        rc = ST_ERR;
        d = H5Dopen2(f, name, H5P_DEFAULT);
        if (d >= 0) t = H5Dget_type(d);
        H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
        if (d < 0 || (cls != H5T_FLOAT && cls != H5T_INTEGER))
            st_error_set("%s: %s is not a numeric dataset", path, name);
        else if (type == ST_CKPT_I64 && cls != H5T_INTEGER)
            st_error_set("%s: %s is not an integer dataset", path, name);
        else if (st_ckpt_dset_count(path, d, name, &rank, dims, &cnt) != ST_OK)
            ; /* message set */
        else if (rank != 1)
            st_error_set("%s: %s has rank %d, expected a vector", path, name, rank);
        else if (cnt > max)
            /* Checked before the allocation: the count is the file's word, not a fact. */
            st_error_set("%s: %s holds %zu values, at most %zu expected (damaged file?)", path,
                         name, cnt, max);
        else
            rc = ST_OK;
        void *buf = rc == ST_OK ? st_malloc((cnt + 1) * (f32 ? 4 : 8)) : NULL;
        hid_t mt = f32 ? H5T_NATIVE_FLOAT : type == ST_CKPT_I64 ? H5T_NATIVE_INT64
                                                                : H5T_NATIVE_DOUBLE;
        if (buf && cnt && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            st_error_set("%s: %s: HDF5 read error (damaged file?)", path, name);
            rc = ST_ERR;
        }
        if (rc == ST_OK) {
            *out = buf;
            *n = cnt;
        } else {
            st_free(buf);
        }
    }
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return rc;
}

/* *text is from st_malloc; the caller frees it with st_free. */
int st_ckpt_read_config(const char *path, char **text) {
    hid_t f;
    *text = NULL;
    if (st_ckpt_open(path, &f)) return ST_ERR;
    int rc = st_h5_read_attr_str(f, "config", text);
    H5Fclose(f);
    if (rc <= 0) {
        st_error_set("%s: the checkpoint has no config attribute", path);
        return ST_ERR;
    }
    return ST_OK;
}
