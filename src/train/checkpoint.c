/*
 * checkpoint.c - turns a model, its optimizer and the training progress into the neutral
 * checkpoint description of io/ckpt.h (and back): the public st_ckpt_save / st_ckpt_load API.
 *
 * Data layout: one st_ckpt_tensor per parameter tensor, layer by layer, parameter by parameter,
 * named "<layer>/<param>" (a wrapper's parameters are already "<inner>/<name>"), pointing at
 * the tensor's view of the parameter buffer and carrying its offset, which is also its offset
 * in the gradient buffer and in every optimizer state buffer. The table lives on the heap for
 * the duration of one call.
 *
 * Not here: HDF5 or the file layout (io/ckpt.c), deciding when to save (fit.c), choosing
 * the rank that saves.
 */
#include <stdio.h>
#include <string.h>

#include "seqtrain/error.h"
#include "train/checkpoint.h"

/* The model's tensor table (st_malloc'd, *n entries; st_free it) and its layer names. */
static st_ckpt_tensor *tensor_table(const st_model *m, int *n, const char ***groups) {
    int cnt = 0;
    for (int l = 0; l < m->nlayers; l++) cnt += m->layers[l].nparam;
    st_ckpt_tensor *t = st_malloc((size_t)(cnt ? cnt : 1) * sizeof *t);
    const char **g = st_malloc((size_t)(m->nlayers ? m->nlayers : 1) * sizeof *g);
    int k = 0;
    for (int l = 0; l < m->nlayers; l++) {
        const st_layer *L = &m->layers[l];
        g[l] = L->name;
        for (int p = 0; p < L->nparam; p++, k++) {
            const st_param *P = &L->param[p];
            snprintf(t[k].name, sizeof t[k].name, "%s/%s", L->name, P->name);
            t[k].dims = P->dims;
            t[k].w = P->w;
            t[k].offset = P->offset;
        }
    }
    *n = cnt;
    *groups = g;
    return t;
}

/* The description of (m, o, ts); the caller frees desc->tensors and desc->groups. */
static void describe(st_ckpt_desc *d, const st_model *m, const st_optim *o, st_train_state *ts,
                     const char *config_text) {
    memset(d, 0, sizeof *d);
    const char **groups;
    d->tensors = tensor_table(m, &d->ntensors, &groups);
    d->groups = groups;
    d->ngroups = m->nlayers;
    if (o) {
        ST_ASSERT(o->n == m->nparams, "optimizer has %zu parameters, model %zu", o->n,
                  m->nparams);
        d->optimizer = st_optim_name(o->cfg.kind);
        /* The description is shared by save and load: load writes through these pointers. */
        d->iterations = (int64_t *)&o->iterations;
        d->nstate = o->nstate;
        d->state_name = o->state_name;
        /* Sharded: the whole state gathered for a save (st_optim_gather); a load reads into
         * whole buffers too and keeps this rank's part (st_ckpt_load). */
        d->state = st_optim_sharded(o) ? o->full : o->state;
    }
    d->progress = ts;
    d->config = config_text;
}

static void describe_free(st_ckpt_desc *d) {
    st_free(d->tensors);
    st_free((void *)d->groups);
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
    st_ckpt_desc d;
    describe(&d, m, o, (st_train_state *)ts, config_text);
    d.vecs = vecs;
    d.nvecs = nvecs;
    int rc = st_ckpt_write(path, &d);
    describe_free(&d);
    return rc;
}

int st_ckpt_save_gradients(const char *path, const st_model *m, const float *probs, size_t n,
                           int K, double loss) {
    int nt;
    const char **groups;
    st_ckpt_tensor *t = tensor_table(m, &nt, &groups);
    int rc = st_ckpt_write_gradients(path, t, nt, m->grads, probs, n, K, loss);
    st_free(t);
    st_free((void *)groups);
    return rc;
}

/* o's kind and nstate say which state to read (from the config of the resuming run). */
int st_ckpt_load(const char *path, st_model *m, st_optim *o, st_train_state *ts) {
    /* Files hold every parameter's state: a sharded optimizer reads it whole and keeps its
     * part, so a checkpoint moves freely between sharded and unsharded runs and rank counts. */
    const int part = o && st_optim_sharded(o);
    if (part)
        for (int k = 0; k < o->nstate; k++) o->full[k] = st_malloc(o->n * sizeof(float));
    st_ckpt_desc d;
    describe(&d, m, o, ts, NULL);
    int rc = st_ckpt_read(path, &d);
    describe_free(&d);
    if (part) {
        if (rc == ST_OK)
            for (int k = 0; k < o->nstate; k++)
                memcpy(o->state[k], o->full[k] + o->lo, (o->hi - o->lo) * sizeof(float));
        st_optim_gather_free(o);
    }
    return rc;
}
