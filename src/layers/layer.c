/*
 * layer.c - what every layer type shares: the registry of types, defaults, config keys common
 * to all layers, value parsers, and the Keras initializers.
 *
 * Initialization is a pure function of (seed, "layer name/param name"): each parameter tensor
 * draws from its own counter-based stream (rng.h), so the values do not depend on the order of
 * the layers, on which rank runs it, or on how many draws some other tensor needed.
 *
 * What this file does not do: own memory. Parameters live in the model's buffer (model.c binds
 * st_param.w / .g); this file only fills them.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layer_impl.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "layers/layer.h"
#include "seqtrain/rng.h"

/* ---------------------------------------------------------------------------------------- */
/* Registry                                                                                 */
/* ---------------------------------------------------------------------------------------- */

static const st_layer_ops *const g_types[] = {&st_embedding_ops,  &st_dense_ops,
                                              &st_simple_rnn_ops, &st_lstm_ops,
                                              &st_gru_ops,        &st_bidirectional_ops,
                                              &st_attention_ops,
                                              &st_dropout_ops, &st_batch_norm_ops, &st_flatten_ops};
#define N_TYPES (sizeof g_types / sizeof g_types[0])

/* A table with an empty slot would crash in the middle of training; catch it at lookup.
 * Optional slots: set, post_init, head_activation (and takes_vectors, a flag). */
static void check_ops(const st_layer_ops *o) {
    ST_ASSERT(o->type && o->keras_class && o->keys && o->defaults && o->build && o->workspace &&
                  o->forward && o->backward,
              "layer table '%s' has an empty slot", o->type ? o->type : "?");
}

/* Case-insensitive, so "[LSTM]" in a config works like "[lstm]". Returns a static table. */
const st_layer_ops *st_layer_find(const char *type) {
    for (size_t i = 0; i < N_TYPES; i++) {
        if (strcasecmp(type, g_types[i]->type) == 0) {
            check_ops(g_types[i]);
            return g_types[i];
        }
    }
    return NULL;
}

/* Built once into a static buffer (the list never changes); for "unknown layer type" hints. */
const char *st_layer_types(void) {
    static char buf[256];
    if (!buf[0]) {
        size_t n = 0;
        for (size_t i = 0; i < N_TYPES; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? ", " : "",
                                  g_types[i]->type);
    }
    return buf;
}

/* ---------------------------------------------------------------------------------------- */
/* Creation and common keys                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* Clears L (no parameters bound yet: the model does that after build) and applies the Keras
 * defaults, so that a config section naming only "units" gives the Keras layer. */
void st_layer_create(st_layer *L, const st_layer_ops *ops, const char *name) {
    memset(L, 0, sizeof *L);
    L->ops = ops;
    snprintf(L->name, sizeof L->name, "%s", name ? name : ops->type);
    ST_ASSERT(ops->defaults_size <= sizeof L->opt, "layer table '%s': defaults too large",
              ops->type);
    memcpy(&L->opt, ops->defaults, ops->defaults_size);
    L->trainable = 1;
}

/* The common keys first, so that no layer type can shadow them; everything else is the type's.
 * An unknown key gets a message here too, but the caller (config.c) adds the file:line. */
int st_layer_set(st_layer *L, const char *key, const char *val) {
    if (strcmp(key, "name") == 0) {
        /* The name is how --set addresses the layer ("--set NAME.units=8", where the target
         * ends at the first '.'), and it becomes part of checkpoint paths and RNG streams
         * ("name/param"): an identifier, so that every name accepted can be used everywhere.
         * (The model checks that --set reaches this layer by it: spec.c.) */
        size_t n = strlen(val);
        int ok = n >= 1 && n < sizeof L->name && isalpha((unsigned char)val[0]);
        for (size_t i = 1; ok && i < n; i++)
            ok = isalnum((unsigned char)val[i]) || val[i] == '_';
        if (!ok) {
            st_error_set("name = %s: must be a letter then letters, digits or '_', at most %d "
                         "characters (--set NAME.key=value addresses the layer by it)",
                         val, (int)sizeof L->name - 1);
            return ST_ERR;
        }
        memcpy(L->name, val, n + 1);
        return ST_OK;
    }
    if (strcmp(key, "trainable") == 0) return st_parse_bool(key, val, &L->trainable);
    int rc = L->ops->set ? L->ops->set(L, key, val)
                         : st_keys_set(L->ops->keys, &L->opt, key, val);
    if (rc == ST_ENOKEY) st_error_set("unknown key '%s' for a %s layer", key, L->ops->type);
    return rc;
}

/* The int keys of L's type: its own table, and for a wrapper (bidirectional, the one type with
 * ops->set) the wrapped type's table too, whose options sit at the same offsets. */
const char *st_layer_size_key(const st_layer *L, long *value) {
    const st_key *tables[2] = {L->ops->keys, NULL};
    if (L->ops == &st_bidirectional_ops && L->opt.bidir.wrapped)
        tables[1] = L->opt.bidir.wrapped->keys;
    const char *best = NULL;
    long bv = 0;
    for (int t = 0; t < 2 && tables[t]; t++)
        for (const st_key *k = tables[t]; k->name; k++) {
            if (k->kind != ST_KEY_INT) continue;
            int v;
            memcpy(&v, (const char *)&L->opt + k->offset, sizeof v);
            if (!best || v > bv) best = k->name, bv = v;
        }
    if (value) *value = bv;
    return best;
}

/* ---------------------------------------------------------------------------------------- */
/* Value parsers                                                                            */
/* ---------------------------------------------------------------------------------------- */

int st_parse_act(const char *key, const char *val, st_act *out) {
    if (st_act_parse(val, out) == 0) return ST_OK;
    st_error_set("%s = %s: unknown activation (known: linear, relu, sigmoid, tanh, softmax, "
                 "hard_sigmoid)", key, val);
    return ST_ERR;
}

int st_key_act(const char *key, const char *val, void *field) {
    return st_parse_act(key, val, field);
}

int st_key_init(const char *key, const char *val, void *field) {
    return st_parse_init(key, val, field);
}

int st_parse_init(const char *key, const char *val, st_init *out) {
    if (st_init_parse(val, out) == ST_OK) return ST_OK;
    st_error_set("%s = %s: unknown initializer (known: glorot_uniform, glorot_normal, "
                 "orthogonal, zeros, ones, uniform, random_normal, he_uniform)", key, val);
    return ST_ERR;
}

/* ---------------------------------------------------------------------------------------- */
/* Initializers                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* Keras names indexed by st_init (the first spelling is the canonical one). */
static const char *const init_names[] = {"glorot_uniform", "glorot_normal", "orthogonal",
                                         "zeros",          "ones",          "uniform",
                                         "random_normal",  "he_uniform"};
#define N_INIT ((int)(sizeof init_names / sizeof init_names[0]))

/* Keras identifiers, case-insensitive; returns ST_OK or ST_ERR (the caller words the error). */
int st_init_parse(const char *name, st_init *out) {
    for (int i = 0; i < N_INIT; i++) {
        if (strcasecmp(name, init_names[i]) == 0) {
            *out = (st_init)i;
            return ST_OK;
        }
    }
    /* Aliases Keras accepts. */
    if (strcasecmp(name, "random_uniform") == 0) { *out = ST_INIT_UNIFORM; return ST_OK; }
    if (strcasecmp(name, "zero") == 0) { *out = ST_INIT_ZEROS; return ST_OK; }
    if (strcasecmp(name, "one") == 0) { *out = ST_INIT_ONES; return ST_OK; }
    return ST_ERR;
}

const char *st_init_name(st_init k) {
    return (int)k >= 0 && (int)k < N_INIT ? init_names[k] : "?";
}

/* Keras compute_fans: the last axis is fan_out, the one before fan_in, any leading axes (conv
 * kernels) multiply both as the receptive field; a 1-D tensor has fan_in = fan_out = n. */
static void fans(const st_dims *d, double *fan_in, double *fan_out) {
    if (d->ndim <= 1) {
        *fan_in = *fan_out = d->ndim ? (double)d->d[0] : 1.0;
        return;
    }
    double rf = 1;
    for (int i = 0; i < d->ndim - 2; i++) rf *= (double)d->d[i];
    *fan_in = (double)d->d[d->ndim - 2] * rf;
    *fan_out = (double)d->d[d->ndim - 1] * rf;
}

/* Columns per block of the orthogonal initializer's Gram-Schmidt: wide enough for st_dgemm to
 * run near its peak, narrow enough that the in-block vector work (4 m k 32 flops, plain
 * loops) stays small beside the products (measured: 32 beat 16, 64 and 128 at 1536 units). */
#define ST_ORTH_BLOCK 32

/* Intra-block modified Gram-Schmidt: the nb rows of v (each of length m, stride m) made
 * orthonormal, each divided by its positive norm. Returns -1 for a zero vector. */
static int mgs_block(double *v, size_t nb, size_t m) {
    for (size_t j = 0; j < nb; j++) {
        double *vj = v + j * m;
        for (size_t p = 0; p < j; p++) {
            const double *vp = v + p * m;
            double dot = 0;
            for (size_t i = 0; i < m; i++) dot += vp[i] * vj[i];
            for (size_t i = 0; i < m; i++) vj[i] -= dot * vp[i];
        }
        double nrm = 0;
        for (size_t i = 0; i < m; i++) nrm += vj[i] * vj[i];
        nrm = sqrt(nrm);
        if (!(nrm > 0)) return -1;
        for (size_t i = 0; i < m; i++) vj[i] /= nrm;
    }
    return 0;
}

/* Keras Orthogonal(gain=1) for a tensor flattened to (rows, cols) = (prod(dims[:-1]), last):
 * QR of a normal (max, min) matrix with R's diagonal made positive, transposed when
 * rows < cols. That Q is unique, so any QR with a positive diagonal gives the same values; the
 * one here is block classical Gram-Schmidt with reorthogonalisation (BCGS2): per block of 32
 * columns, project out the finished columns with two matrix products, orthonormalise inside
 * the block, and do both once more ("twice is enough": orthonormal to double rounding while
 * the draw's condition number is far below 1e16, which a Gaussian draw's is). Dividing by the
 * positive norm in each pass makes each R's diagonal positive (Keras' sign fix), and so their
 * product's. Almost all of the O(max * min^2) work is in st_dgemm: 1536 units (an LSTM's
 * (1536, 6144) recurrent kernel) went from 20.5 s with column-by-column Gram-Schmidt to well
 * under a second on one core. Deterministic: a pure function of the draws, the same on every
 * rank that has the same BLAS (and rank 0's copy is broadcast at start-up anyway). */
static void orthogonal_fill(const st_dims *d, float *w, st_rng *r) {
    size_t cols = d->ndim ? d->d[d->ndim - 1] : 1;
    size_t rows = st_dims_count(d) / (cols ? cols : 1);
    size_t m = rows > cols ? rows : cols, k = rows > cols ? cols : rows;
    if (m == 0 || k == 0) return;
    /* The model's size check bounds every dimension to int (st_model_build); BLAS takes int. */
    ST_ASSERT(m <= INT_MAX && k <= INT_MAX, "orthogonal init of %zu x %zu", m, k);
    /* Init time only, so allocating here is fine (kernels never allocate). q holds Q^T
     * row-major (k, m): row j is column j of Q, contiguous. */
    /* O(m k^2): say so when it takes long (about 2 s at 1536 units, 35 s at 3000, one core),
     * rather than stay silent on every rank. */
    if ((double)m * (double)k * (double)k > 1e10)
        ST_LOG(ST_LOG_INFO, "Orthogonal initialisation of a %zu x %zu kernel (%.0f GFLOP)...\n",
               rows, cols, 4e-9 * (double)m * (double)k * (double)k);
    double *q = st_malloc_for(m * k * sizeof(double), "the orthogonal initializer");
    double *c = st_malloc_for((size_t)ST_ORTH_BLOCK * k * sizeof(double),
                              "the orthogonal initializer");
    /* Draw row-major (i over m, j over k) like Keras' normal((max, min)). */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++) q[j * m + i] = st_rng_normal(r);
    for (size_t j0 = 0; j0 < k; j0 += ST_ORTH_BLOCK) {
        size_t nb = k - j0 < ST_ORTH_BLOCK ? k - j0 : ST_ORTH_BLOCK;
        double *v = q + j0 * m; /* (nb, m) the block, as rows */
        for (int pass = 0; pass < 2; pass++) {
            if (j0 > 0) {
                /* c (nb, j0) = V · Qdone^T;  V -= c · Qdone   (Qdone: the j0 finished rows) */
                st_dgemm(0, 1, (int)nb, (int)j0, (int)m, 1.0, v, (int)m, q, (int)m, 0.0, c,
                         (int)j0);
                st_dgemm(0, 0, (int)nb, (int)m, (int)j0, -1.0, c, (int)j0, q, (int)m, 1.0, v,
                         (int)m);
            }
            ST_ASSERT(mgs_block(v, nb, m) == 0, "orthogonal init: rank-deficient draw");
        }
    }
    if (rows >= cols) {
        /* w (rows, cols) = Q (m, k) with orthonormal columns. */
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) w[i * cols + j] = (float)q[j * rows + i];
    } else {
        /* w (rows, cols) = Q^T, Q (cols, rows): orthonormal rows. Row i of w = column i of Q. */
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) w[i * cols + j] = (float)q[i * cols + j];
    }
    st_free(c);
    st_free(q);
}

/* Fills all of w from the stream (seed, stream), counter from 0: the same call always gives the
 * same values. Bounds and variances follow Keras 3's initializers (limits in layer.h). */
void st_init_fill(st_init k, const st_dims *dims, float *w, uint64_t seed, uint64_t stream) {
    size_t n = st_dims_count(dims);
    st_rng r = st_rng_make(seed, stream);
    double fi, fo;
    fans(dims, &fi, &fo);
    switch (k) {
    case ST_INIT_ZEROS:
        for (size_t i = 0; i < n; i++) w[i] = 0;
        break;
    case ST_INIT_ONES:
        for (size_t i = 0; i < n; i++) w[i] = 1;
        break;
    /* The three uniform ones differ only in their limit. Drawn in double so that lim * (2u - 1)
     * is symmetric and never reaches +-lim (u < 1). */
    case ST_INIT_GLOROT_UNIFORM:
    case ST_INIT_HE_UNIFORM:
    case ST_INIT_UNIFORM: {
        double lim = k == ST_INIT_GLOROT_UNIFORM ? sqrt(6.0 / (fi + fo))
                     : k == ST_INIT_HE_UNIFORM   ? sqrt(6.0 / fi)
                                                 : 0.05;
        for (size_t i = 0; i < n; i++) w[i] = (float)(lim * (2.0 * st_rng_uniform(&r) - 1.0));
        break;
    }
    case ST_INIT_GLOROT_NORMAL: {
        /* Keras VarianceScaling(truncated_normal): a normal cut at 2 stddev, widened by
         * 1/0.8796... so the truncated distribution's stddev is sqrt(2 / (fan_in + fan_out)). */
        double sd = sqrt(2.0 / (fi + fo)) / 0.87962566103423978;
        for (size_t i = 0; i < n; i++) {
            float z;
            /* Rejection: redraw outside +-2 sd (4.6% of draws), like TF's truncated_normal. */
            do z = st_rng_normal(&r);
            while (fabsf(z) > 2.0f);
            w[i] = (float)(sd * z);
        }
        break;
    }
    /* Keras RandomNormal's default stddev is 0.05, the same scale as RandomUniform's. */
    case ST_INIT_RANDOM_NORMAL:
        for (size_t i = 0; i < n; i++) w[i] = 0.05f * st_rng_normal(&r);
        break;
    case ST_INIT_ORTHOGONAL:
        orthogonal_fill(dims, w, &r);
        break;
    }
}

/* Needs the parameters bound (st_param.w). The stream name is "layer/param", e.g.
 * "lstm_1/recurrent_kernel": renaming a layer changes its draws, reordering layers does not. */
void st_layer_init_params(st_layer *L, uint64_t seed) {
    for (int p = 0; p < L->nparam; p++) {
        st_param *P = &L->param[p];
        char sname[ST_NAME_MAX + sizeof P->name + 2];
        snprintf(sname, sizeof sname, "%s/%s", L->name, P->name);
        st_init_fill(P->init, &P->dims, P->w, seed, st_rng_stream_of(sname));
    }
    if (L->ops->post_init) L->ops->post_init(L);
}
