/*
 * ckpt.c - checkpoints in HDF5: save, load, find the newest, prune old ones.
 *
 * File layout (ckpt.h), chosen so that h5py users can read a checkpoint the way they read Keras
 * weights:
 *   /model_weights/<layer>/<param>            float32, shape = st_param.dims (Keras shapes)
 *   /optimizer/iterations                     int64 scalar
 *   /optimizer/<state>/<layer>/<param>        float32, same shapes (state = m, v, velocity, ...)
 *   /train_state/{epoch,step_in_epoch,global_step}  int64 scalars; seed uint64 scalar
 *   /train_state/partial                      float64 (3)
 *   extra 1-D arrays named by the caller (st_train_state.vecs): /history/<column>,
 *   /train_state/metrics, /callbacks/... (fit.c decides what they hold)
 *   root attributes: format "seqtrain-ckpt-1", config (the config text, variable-length UTF-8
 *   string), optimizer (its name; absent when saved without optimizer state).
 * The model's tensors are visited layer by layer, parameter by parameter; each tensor's data
 * is its view st_param.w, and its optimizer state sits at the same offset in every state
 * buffer.
 *
 * Saving follows Redis's rdbSave: write PATH.tmp, flush, close, fsync, rename. A job killed
 * mid-save leaves at most a stray .tmp (ignored by resolve/prune and overwritten by the next
 * save); the previous checkpoint is never touched, and any failure removes the .tmp.
 * Loading checks every tensor (presence, shape) before it writes anything, so a mismatched
 * checkpoint leaves the model as it was.
 *
 * Checkpoint files in a directory are epoch-NNNN.h5 and step-NNNNNNNN.h5; "newest" is decided
 * by the /train_state/global_step stored inside, not by the name or the mtime, so both kinds
 * order correctly against each other. Not here: deciding when to save (fit.c) or the rank
 * logic (only rank 0 saves; the caller ensures that).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "seqtrain/ckpt.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"

/* Bumped whenever the layout changes incompatibly; loads refuse other formats by name. */
#define CKPT_FORMAT "seqtrain-ckpt-1"
/* "/optimizer/<state>/<layer>/<param>": layer names are < ST_NAME_MAX, params < 32. */
#define H5PATH_MAX 256

/* As in dataset.c: our messages replace HDF5's printed error stack. */
static void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* "(4, 16)": a shape as it appears in mismatch messages (Python tuple notation, as h5py and
 * Keras print shapes). */
static void dims_str(int rank, const hsize_t *d, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%llu", i ? ", " : "",
                                 (unsigned long long)d[i]);
    if (used < n) snprintf(buf + used, n - used, ")");
}

/* ---- writing ------------------------------------------------------------------------------ */

/* A dataset at an absolute path, creating missing groups on the way (lcpl). */
static int write_dset(hid_t f, hid_t lcpl, const char *path, hid_t ftype, hid_t mtype, int rank,
                      const hsize_t *dims, const void *data) {
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR), d = -1;
    int ok = sp >= 0 &&
             (d = H5Dcreate2(f, path, ftype, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return ok ? ST_OK : ST_ERR;
}

/* One tensor with the parameter's Keras shape; w is the weights or a state buffer slice. */
static int write_param(hid_t f, hid_t lcpl, const char *path, const st_param *p, const float *w) {
    hsize_t dims[ST_MAX_DIMS];
    for (int i = 0; i < p->dims.ndim; i++) dims[i] = p->dims.d[i];
    return write_dset(f, lcpl, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, p->dims.ndim, dims, w);
}

/* A scalar string attribute, variable-length UTF-8 (h5py reads it as str). */
static int write_attr_str(hid_t loc, const char *name, const char *s) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
             H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, &s) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok ? ST_OK : ST_ERR;
}

/* Every parameter tensor of the model, layer by layer: L the layer, P its st_param. */
#define FOR_EACH_PARAM(m, L, P)                                                                   \
    for (const st_layer *L = (m)->layers; L < (m)->layers + (m)->nlayers; L++)                    \
        for (const st_param *P = L->param; P < L->param + L->nparam; P++)

/* Everything inside the file, in the order of the layout comment above. Returns ST_ERR on the
 * first HDF5 failure; the caller sets the message (the cause is almost always the disk). */
static int save_body(hid_t f, hid_t lcpl, const st_model *m, const st_optim *o,
                     const st_train_state *ts, const char *config_text, const st_ckpt_vec *vecs,
                     int nvecs) {
    char path[H5PATH_MAX];
    if (write_attr_str(f, "format", CKPT_FORMAT) ||
        write_attr_str(f, "config", config_text ? config_text : ""))
        return ST_ERR;
    /* A group per layer, parameters or not, so the file lists the whole architecture. */
    for (int i = 0; i < m->nlayers; i++) {
        snprintf(path, sizeof path, "/model_weights/%s", m->layers[i].name);
        hid_t g = H5Gcreate2(f, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) return ST_ERR;
        H5Gclose(g);
    }
    FOR_EACH_PARAM(m, L, P) {
        snprintf(path, sizeof path, "/model_weights/%s/%s", L->name, P->name);
        if (write_param(f, lcpl, path, P, P->w)) return ST_ERR;
    }
    if (o) {
        if (write_attr_str(f, "optimizer", st_optim_name(o->cfg.kind)) ||
            write_dset(f, lcpl, "/optimizer/iterations", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL,
                       &o->iterations))
            return ST_ERR;
        for (int k = 0; k < o->nstate; k++) {
            FOR_EACH_PARAM(m, L, P) {
                snprintf(path, sizeof path, "/optimizer/%s/%s/%s", o->state_name[k], L->name,
                         P->name);
                if (write_param(f, lcpl, path, P, o->state[k] + P->offset)) return ST_ERR;
            }
        }
    }
    if (ts) {
        hsize_t three = 3;
        if (write_dset(f, lcpl, "/train_state/epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL,
                       &ts->epoch) ||
            write_dset(f, lcpl, "/train_state/step_in_epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, 0,
                       NULL, &ts->step_in_epoch) ||
            write_dset(f, lcpl, "/train_state/global_step", H5T_STD_I64LE, H5T_NATIVE_INT64, 0,
                       NULL, &ts->global_step) ||
            write_dset(f, lcpl, "/train_state/seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, NULL,
                       &ts->seed) ||
            write_dset(f, lcpl, "/train_state/partial", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                       &three, ts->partial))
            return ST_ERR;
        for (int i = 0; i < nvecs; i++) {
            const st_ckpt_vec *v = &vecs[i];
            hsize_t n = v->n;
            if (write_dset(f, lcpl, v->name, v->f32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE,
                           v->f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, 1, &n, v->data))
                return ST_ERR;
        }
    }
    return ST_OK;
}

int st_ckpt_save_gradients(const char *path, const st_model *m, const float *probs, size_t n,
                           int K, double loss) {
    char tmp[ST_PATH_MAX + 8], dpath[H5PATH_MAX];
    h5_quiet();
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    int bad = f < 0 || lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0;
    FOR_EACH_PARAM(m, L, P) {
        if (bad) break;
        snprintf(dpath, sizeof dpath, "/gradients/%s/%s", L->name, P->name);
        bad = write_param(f, lcpl, dpath, P, m->grads + P->offset) != 0;
    }
    hsize_t dims[2] = {n, (hsize_t)K};
    if (!bad)
        bad = write_dset(f, lcpl, "/probabilities", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims,
                         probs) ||
              write_dset(f, lcpl, "/loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &loss);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (f >= 0 && H5Fclose(f) < 0) bad = 1;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        st_error_set("%s: cannot write gradients", path);
        return ST_ERR;
    }
    return ST_OK;
}

/* fsync of a file or directory by name: the rename must not reach the disk before the data. */
static int sync_path(const char *path, int dir) {
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* o and ts may be NULL (weights only, e.g. an exported model). The save is all or nothing:
 * either PATH is the complete new checkpoint or PATH is exactly what it was before. */
int st_ckpt_save(const char *path, const st_model *m, const st_optim *o, const st_train_state *ts,
                 const char *config_text) {
    return st_ckpt_save_ex(path, m, o, ts, config_text, NULL, 0);
}

int st_ckpt_save_ex(const char *path, const st_model *m, const st_optim *o,
                    const st_train_state *ts, const char *config_text, const st_ckpt_vec *vecs,
                    int nvecs) {
    char tmp[ST_PATH_MAX + 8];
    hid_t f = -1, lcpl = -1;
    h5_quiet();
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        st_error_set("%s: checkpoint path too long", path);
        return ST_ERR;
    }
    ST_ASSERT(!o || o->n == m->nparams, "optimizer has %zu parameters, model %zu", o ? o->n : 0,
              m->nparams);
    errno = 0;
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        st_error_set("%s: cannot create %s: %s", path, tmp,
                     errno ? strerror(errno) : "HDF5 error");
        return ST_ERR;
    }
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        save_body(f, lcpl, m, o, ts, config_text, vecs, nvecs) || H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) {
        st_error_set("%s: writing %s failed (disk full?)", path, tmp);
        goto fail;
    }
    H5Pclose(lcpl);
    lcpl = -1;
    herr_t closed = H5Fclose(f);
    f = -1;
    if (closed < 0 || sync_path(tmp, 0) != 0) {
        st_error_set("%s: closing %s failed (disk full?)", path, tmp);
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        st_error_set("%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        goto fail;
    }
    /* Persist the rename itself; best effort, the checkpoint is complete either way. */
    char dir[ST_PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir ? 1 : 0] = 0;
    sync_path(slash ? dir : ".", 1);
    return ST_OK;
fail:
    if (lcpl >= 0) H5Pclose(lcpl);
    if (f >= 0) H5Fclose(f);
    unlink(tmp); /* never remove(): a directory named NAME.tmp is not ours */
    return ST_ERR;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Reads a scalar string attribute (variable-length or fixed) into a st_malloc'd string.
 * Returns 1 if read, 0 if absent, -1 if not a string. */
static int read_attr_str(hid_t loc, const char *name, char **out) {
    *out = NULL;
    if (H5Aexists(loc, name) <= 0) return 0;
    int ret = -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = -1, mt = -1;
    if (a < 0) return -1;
    t = H5Aget_type(a);
    if (t < 0 || H5Tget_class(t) != H5T_STRING) goto done;
    mt = H5Tcopy(H5T_C_S1);
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
            H5Aread(a, mt, &s) < 0)
            goto done;
        *out = st_strdup(s ? s : "");
        H5free_memory(s);
    } else {
        /* One more byte than stored, null-terminated: the conversion keeps every character. */
        size_t n = H5Tget_size(t);
        char *s = st_malloc(n + 1);
        if (H5Tset_size(mt, n + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
            H5Aread(a, mt, s) < 0) {
            st_free(s);
            goto done;
        }
        *out = s;
    }
    ret = 1;
done:
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    return ret;
}

/* Opens a checkpoint read-only and checks that it is one (an HDF5 file with our format
 * attribute): Keras .h5 weights or a dataset given by mistake fail here with a clear line. */
static int open_ckpt(const char *path, hid_t *out) {
    struct stat st;
    char *fmt = NULL;
    *out = -1;
    h5_quiet();
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
        st_error_set("%s: cannot open the HDF5 file", path);
        return ST_ERR;
    }
    int rc = read_attr_str(f, "format", &fmt);
    if (rc <= 0 || strcmp(fmt, CKPT_FORMAT) != 0) {
        if (rc <= 0)
            st_error_set("%s: not a seqtrain checkpoint (no format attribute)", path);
        else
            st_error_set("%s: checkpoint format '%s', this build reads '%s'", path, fmt,
                         CKPT_FORMAT);
        st_free(fmt);
        H5Fclose(f);
        return ST_ERR;
    }
    st_free(fmt);
    *out = f;
    return ST_OK;
}

/* Checks that a float dataset exists at dpath with exactly the tensor's shape. */
static int check_param(hid_t f, const char *file, const char *dpath, const st_dims *want) {
    hsize_t got[H5S_MAX_RANK], w[ST_MAX_DIMS];
    char ws[96], gs[96];
    hid_t d = -1, sp = -1, t = -1;
    int ok = 0, rank = -1;
    for (int i = 0; i < want->ndim; i++) w[i] = want->d[i];
    dims_str(want->ndim, w, ws, sizeof ws);
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
            dims_str(rank, got, gs, sizeof gs);
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

/* The model's layer of that name, or NULL. */
static const st_layer *find_layer(const st_model *m, const char *name) {
    for (int i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i].name, name) == 0) return &m->layers[i];
    return NULL;
}

/* Every dataset under group `gpath` (a layer's group, or a subgroup of it) must be one of L's
 * tensors, named by its path below the layer's group: a wrapper's tensors are nested, e.g.
 * bidirectional's "forward/kernel" is /model_weights/<layer>/forward/kernel. */
static int check_group_params(hid_t f, const char *file, const char *gpath, const st_layer *L,
                              const char *prefix) {
    H5G_info_t gi;
    char cname[64], sub[H5PATH_MAX], pname[96];
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
            if (check_group_params(f, file, sub, L, pre) != ST_OK) return ST_ERR;
            continue;
        }
        int found = 0;
        for (int p = 0; L && p < L->nparam && !found; p++)
            found = strcmp(L->param[p].name, pname) == 0;
        if (!found) {
            st_error_set("%s: %s is not a tensor of this model (checkpoint of a different "
                         "architecture?)", file, sub);
            return ST_ERR;
        }
    }
    return ST_OK;
}

/* Every tensor under /model_weights must belong to the model: weights the model would silently
 * drop mean the checkpoint is of another architecture. */
static int check_no_extra(hid_t f, const char *file, const st_model *m) {
    H5G_info_t gi;
    char lname[ST_NAME_MAX + 1], path[H5PATH_MAX];
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
        rc = check_group_params(f, file, path, find_layer(m, lname), "");
    }
    H5Gclose(g);
    return rc;
}

/* o's kind and nstate say which state to read (from the config of the resuming run); a
 * checkpoint of a different optimizer is refused rather than half-loaded. Extra optimizer
 * state in the file (e.g. momentum saved, momentum now 0) is ignored. */
int st_ckpt_load(const char *path, st_model *m, st_optim *o, st_train_state *ts) {
    char dpath[H5PATH_MAX];
    char *oname = NULL;
    hid_t f;
    if (open_ckpt(path, &f)) return ST_ERR;

    /* Phase 1: check everything, so that a failure changes nothing. */
    FOR_EACH_PARAM(m, L, P) {
        snprintf(dpath, sizeof dpath, "/model_weights/%s/%s", L->name, P->name);
        if (check_param(f, path, dpath, &P->dims)) goto fail;
    }
    if (check_no_extra(f, path, m)) goto fail;
    if (o) {
        ST_ASSERT(o->n == m->nparams, "optimizer has %zu parameters, model %zu", o->n,
                  m->nparams);
        const char *want = st_optim_name(o->cfg.kind);
        if (read_attr_str(f, "optimizer", &oname) <= 0) {
            st_error_set("%s: the checkpoint has no optimizer state (saved without one)", path);
            goto fail;
        }
        if (strcmp(oname, want) != 0) {
            st_error_set("%s: the checkpoint's optimizer is %s but the config uses %s (start "
                         "afresh, or set [train] optimizer = %s)", path, oname, want, oname);
            goto fail;
        }
        for (int k = 0; k < o->nstate; k++) {
            FOR_EACH_PARAM(m, L, P) {
                snprintf(dpath, sizeof dpath, "/optimizer/%s/%s/%s", o->state_name[k], L->name,
                         P->name);
                if (check_param(f, path, dpath, &P->dims)) goto fail;
            }
        }
    }

    /* Phase 2: read. Small scalars first: they can still fail without harm. */
    int64_t iterations = 0;
    st_train_state t;
    if (o && read_scalar(f, path, "/optimizer/iterations", H5T_NATIVE_INT64, 1, &iterations))
        goto fail;
    if (ts && (read_scalar(f, path, "/train_state/epoch", H5T_NATIVE_INT64, 1, &t.epoch) ||
               read_scalar(f, path, "/train_state/step_in_epoch", H5T_NATIVE_INT64, 1,
                           &t.step_in_epoch) ||
               read_scalar(f, path, "/train_state/global_step", H5T_NATIVE_INT64, 1,
                           &t.global_step) ||
               read_scalar(f, path, "/train_state/seed", H5T_NATIVE_UINT64, 1, &t.seed) ||
               read_scalar(f, path, "/train_state/partial", H5T_NATIVE_DOUBLE, 3, t.partial)))
        goto fail;
    FOR_EACH_PARAM(m, L, P) {
        snprintf(dpath, sizeof dpath, "/model_weights/%s/%s", L->name, P->name);
        if (read_param(f, dpath, P->w)) goto readfail;
    }
    if (o) {
        for (int k = 0; k < o->nstate; k++) {
            FOR_EACH_PARAM(m, L, P) {
                snprintf(dpath, sizeof dpath, "/optimizer/%s/%s/%s", o->state_name[k], L->name,
                         P->name);
                if (read_param(f, dpath, o->state[k] + P->offset)) goto readfail;
            }
        }
        o->iterations = iterations;
    }
    if (ts) *ts = t;
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

int st_ckpt_read_vec(const char *path, const char *name, int f32, void **out, size_t *n) {
    hid_t f, d = -1, sp = -1;
    *out = NULL;
    *n = 0;
    if (open_ckpt(path, &f)) return ST_ERR;
    int rc = ST_OK;
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) {
        hssize_t cnt = -1;
        d = H5Dopen2(f, name, H5P_DEFAULT);
        if (d >= 0) sp = H5Dget_space(d);
        if (sp >= 0) cnt = H5Sget_simple_extent_npoints(sp);
        void *buf = cnt >= 0 ? st_malloc(((size_t)cnt + 1) * (f32 ? 4 : 8)) : NULL;
        if (!buf || H5Dread(d, f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                            H5P_DEFAULT, buf) < 0) {
            st_free(buf);
            st_error_set("%s: %s: HDF5 read error (damaged file?)", path, name);
            rc = ST_ERR;
        } else {
            *out = buf;
            *n = (size_t)cnt;
        }
    }
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return rc;
}

/* *text is from st_malloc; the caller frees it with st_free. */
int st_ckpt_read_config(const char *path, char **text) {
    hid_t f;
    *text = NULL;
    if (open_ckpt(path, &f)) return ST_ERR;
    int rc = read_attr_str(f, "config", text);
    H5Fclose(f);
    if (rc <= 0) {
        st_error_set("%s: the checkpoint has no config attribute", path);
        return ST_ERR;
    }
    return ST_OK;
}

/* ---- directories of checkpoints ----------------------------------------------------------- */

/* One checkpoint of a directory, with the progress stored inside it. */
typedef struct ckpt_entry {
    char name[256];
    int64_t global_step, epoch;
} ckpt_entry;

/* epoch-<digits>.h5 or step-<digits>.h5 exactly; NAME.h5.tmp and anything else is not ours. */
static int is_ckpt_name(const char *n) {
    const char *p;
    if (strncmp(n, "epoch-", 6) == 0)
        p = n + 6;
    else if (strncmp(n, "step-", 5) == 0)
        p = n + 5;
    else
        return 0;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    return strcmp(p, ".h5") == 0;
}

/* Newest first: most steps, then most completed epochs, then the name (for determinism). */
static int entry_cmp(const void *a, const void *b) {
    const ckpt_entry *x = a, *y = b;
    if (x->global_step != y->global_step) return x->global_step > y->global_step ? -1 : 1;
    if (x->epoch != y->epoch) return x->epoch > y->epoch ? -1 : 1;
    return strcmp(y->name, x->name);
}

/* The checkpoints of dir, newest first, in a st_malloc'd array (*n entries). Files that cannot
 * be read are skipped with a warning: they are not a state anyone can resume from. */
static int list_ckpts(const char *dir, ckpt_entry **out, int *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        st_error_set("%s: %s", dir, errno == ENOENT ? "no such directory" : strerror(errno));
        return ST_ERR;
    }
    ckpt_entry *e = NULL;
    int cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_ckpt_name(de->d_name) || strlen(de->d_name) >= sizeof e->name) continue;
        char path[ST_PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        hid_t f;
        int64_t gs, ep;
        if (open_ckpt(path, &f)) {
            ST_LOG(ST_LOG_WARN, "skipping %s: %s\n", path, st_error_get());
            continue;
        }
        int rc = read_scalar(f, path, "/train_state/global_step", H5T_NATIVE_INT64, 1, &gs) ||
                 read_scalar(f, path, "/train_state/epoch", H5T_NATIVE_INT64, 1, &ep);
        H5Fclose(f);
        if (rc) {
            ST_LOG(ST_LOG_WARN, "skipping %s: %s\n", path, st_error_get());
            continue;
        }
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            ckpt_entry *g = st_malloc((size_t)cap * sizeof *g);
            if (cnt) memcpy(g, e, (size_t)cnt * sizeof *g);
            st_free(e);
            e = g;
        }
        snprintf(e[cnt].name, sizeof e[cnt].name, "%s", de->d_name);
        e[cnt].global_step = gs;
        e[cnt].epoch = ep;
        cnt++;
    }
    closedir(d);
    if (cnt) qsort(e, (size_t)cnt, sizeof *e, entry_cmp);
    *out = e;
    *n = cnt;
    return ST_OK;
}

/* A file is taken as given (it is checked when loaded); a directory resolves to its newest
 * checkpoint, which is what --resume runs/x means. */
int st_ckpt_resolve(const char *path, char *out, size_t outlen) {
    struct stat st;
    if (stat(path, &st) != 0) {
        st_error_set("%s: %s", path, errno == ENOENT ? "no such file or directory" : strerror(errno));
        return ST_ERR;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (strlen(path) >= outlen) {
            st_error_set("%s: path too long", path);
            return ST_ERR;
        }
        memcpy(out, path, strlen(path) + 1);
        return ST_OK;
    }
    ckpt_entry *e;
    int n;
    if (list_ckpts(path, &e, &n)) return ST_ERR;
    int rc = ST_OK;
    if (n == 0) {
        st_error_set("%s: no checkpoint found (looked for epoch-NNNN.h5 and step-NNNNNNNN.h5)",
                     path);
        rc = ST_ERR;
    } else if ((size_t)snprintf(out, outlen, "%s/%s", path, e[0].name) >= outlen) {
        st_error_set("%s/%s: path too long", path, e[0].name);
        rc = ST_ERR;
    }
    st_free(e);
    return rc;
}

/* Called by rank 0 after each successful save. Only files named like our checkpoints and
 * readable as such are counted or deleted; anything else in the directory is left alone. */
int st_ckpt_prune(const char *dir, int keep) {
    if (keep <= 0) return ST_OK;
    ckpt_entry *e;
    int n, rc = ST_OK;
    if (list_ckpts(dir, &e, &n)) return ST_ERR;
    for (int i = keep; i < n; i++) {
        char path[ST_PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
        if (unlink(path) != 0 && rc == ST_OK) {
            st_error_set("%s: cannot delete an old checkpoint: %s", path, strerror(errno));
            rc = ST_ERR;
        }
    }
    st_free(e);
    return rc;
}
