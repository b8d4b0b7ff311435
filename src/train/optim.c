/*
 * optim.c - SGD, RMSprop and Adam over the flat parameter buffer (formulas in optim.h).
 *
 * The update is one loop over n floats per state buffer; clipping needs the per-tensor ranges
 * that the model records (clipnorm is per tensor in Keras, global_clipnorm over all tensors).
 * Frozen tensors (trainable = false) are skipped entirely, so their state stays zero.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/parse.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "train/optim.h"
#include "train/settings.h"

static const char *const k_names[] = {"sgd", "rmsprop", "adam"};

const char *st_optim_name(st_opt_kind k) { return k_names[k]; }

void st_optim_cfg_defaults(st_optim_cfg *c, st_opt_kind kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->learning_rate = kind == ST_OPT_SGD ? 0.01f : 0.001f;
    c->rho = 0.9f;
    c->beta_1 = 0.9f;
    c->beta_2 = 0.999f;
    c->epsilon = 1e-7f;
}

/* ---- [train] keys of the optimizer ------------------------------------------------------------
 * Ranges follow Keras's own checks (learning_rate > 0, betas in [0, 1), ...). Each row has, in
 * k_key_kinds at the same index, the optimizers that have the key: an option of another
 * optimizer is an error rather than ignored, since silently ignoring "momentum" under adam
 * hides a real mistake. */
#define ANY ((1u << ST_OPT_SGD) | (1u << ST_OPT_RMSPROP) | (1u << ST_OPT_ADAM))
#define SGD (1u << ST_OPT_SGD)
#define RMS (1u << ST_OPT_RMSPROP)
#define ADAM (1u << ST_OPT_ADAM)

/* "optimizer" itself is applied first (st_optim_cfg_set_kind); its row is here for the list
 * of known keys and is skipped by st_optim_cfg_set. */
static int parse_kind(const char *key, const char *val, void *field);
static const st_key k_keys[] = {
    ST_KEY_FUNC_ROW("optimizer", st_optim_cfg, kind, parse_kind),
    ST_KEY_FLOAT_ROW("learning_rate", st_optim_cfg, learning_rate, 0, INFINITY, ST_OPEN_LO),
    ST_KEY_FLOAT_ROW("momentum", st_optim_cfg, momentum, 0, 1, 0),
    ST_KEY_BOOL_ROW("nesterov", st_optim_cfg, nesterov),
    ST_KEY_FLOAT_ROW("rho", st_optim_cfg, rho, 0, 1, ST_OPEN_HI),
    ST_KEY_FLOAT_ROW("beta_1", st_optim_cfg, beta_1, 0, 1, ST_OPEN_HI),
    ST_KEY_FLOAT_ROW("beta_2", st_optim_cfg, beta_2, 0, 1, ST_OPEN_HI),
    ST_KEY_FLOAT_ROW("epsilon", st_optim_cfg, epsilon, 0, INFINITY, ST_OPEN_LO),
    ST_KEY_FLOAT_ROW("clipnorm", st_optim_cfg, clipnorm, 0, INFINITY, 0),
    ST_KEY_FLOAT_ROW("global_clipnorm", st_optim_cfg, global_clipnorm, 0, INFINITY, 0),
    ST_KEY_FLOAT_ROW("clipvalue", st_optim_cfg, clipvalue, 0, INFINITY, 0),
    ST_KEY_END,
};
static const unsigned k_key_kinds[] = {ANY, ANY, SGD | RMS, SGD, RMS, ADAM, ADAM, ANY, ANY, ANY,
                                       ANY};
_Static_assert(sizeof k_keys / sizeof *k_keys == sizeof k_key_kinds / sizeof *k_key_kinds + 1,
               "one owner mask per optimizer key");

static int parse_kind(const char *key, const char *val, void *field) {
    int k;
    for (k = 0; k < 3 && strcmp(val, k_names[k]) != 0; k++) {}
    if (k == 3) {
        st_error_set("%s = %s: must be one of sgd, rmsprop, adam", key, val);
        return ST_ERR;
    }
    *(st_opt_kind *)field = (st_opt_kind)k;
    return ST_OK;
}

int st_optim_cfg_set_kind(st_optim_cfg *o, const char *val) {
    st_opt_kind kind;
    if (parse_kind("optimizer", val, &kind) != ST_OK) return ST_ERR;
    st_optim_cfg_defaults(o, kind);
    return ST_OK;
}

int st_optim_cfg_set(st_optim_cfg *o, const char *key, const char *val) {
    const st_key *k = st_keys_find(k_keys, key);
    if (!k) return ST_ENOKEY;
    if (k == k_keys) return ST_OK; /* optimizer: applied first */
    unsigned kinds = k_key_kinds[k - k_keys];
    if (!(kinds & (1u << o->kind))) {
        char only[64] = "";
        for (int i = 0, n = 0; i < 3; i++)
            if (kinds & (1u << i))
                snprintf(only + strlen(only), sizeof only - strlen(only), "%s%s",
                         n++ ? " and " : "", k_names[i]);
        st_error_set("%s = %s: not an option of optimizer %s (only of %s)", key, val,
                     k_names[o->kind], only);
        return ST_ERR;
    }
    int rc = st_keys_set(k_keys, o, key, val);
    if (rc == ST_OK && strcmp(key, "learning_rate") == 0) o->lr_set = 1;
    return rc;
}

int st_optim_cfg_check(const st_optim_cfg *o, const char **bad_key) {
    if (o->clipnorm > 0 && o->global_clipnorm > 0) {
        *bad_key = "global_clipnorm";
        st_error_set("clipnorm and global_clipnorm cannot both be set (as in Keras)");
        return ST_ERR;
    }
    return ST_OK;
}

const char *st_optim_cfg_keys(char *buf, size_t size) { return st_keys_names(k_keys, buf, size); }

/* State buffers are created only for what the configuration uses (plain SGD has none), and their
 * names are the ones checkpoints store, so a checkpoint says which optimizer wrote it. */
void st_optim_init_part(st_optim *o, const st_optim_cfg *cfg, size_t n, size_t lo, size_t hi) {
    ST_ASSERT(lo <= hi && hi <= n && lo % ST_OPTIM_UNIT == 0, "optimizer part [%zu, %zu) of %zu",
              lo, hi, n);
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    o->lo = lo;
    o->hi = hi;
    o->sharded = 1;
    switch (cfg->kind) {
    case ST_OPT_SGD:
        if (cfg->momentum != 0) o->state_name[o->nstate++] = "momentum";
        break;
    case ST_OPT_RMSPROP:
        o->state_name[o->nstate++] = "velocity";
        if (cfg->momentum != 0) o->state_name[o->nstate++] = "momentum";
        break;
    case ST_OPT_ADAM:
        o->state_name[o->nstate++] = "m";
        o->state_name[o->nstate++] = "v";
        break;
    }
    /* zeroed: a part that is never loaded from a checkpoint starts from no history */
    for (int i = 0; i < o->nstate; i++) {
        o->state[i] = st_malloc((hi - lo ? hi - lo : 1) * sizeof(float));
        memset(o->state[i], 0, (hi - lo) * sizeof(float));
    }
}

void st_optim_init(st_optim *o, const st_optim_cfg *cfg, size_t n) {
    st_optim_init_part(o, cfg, n, 0, n);
    o->sharded = 0;
}

size_t st_optim_part_start(size_t n, int r, int ranks) {
    const size_t units = (n + ST_OPTIM_UNIT - 1) / ST_OPTIM_UNIT;
    const size_t at = units * (size_t)r / (size_t)ranks * ST_OPTIM_UNIT;
    return at < n ? at : n;
}

/* Mirrors the switch of st_optim_init (a test checks the two agree). */
int st_optim_cfg_states(const st_optim_cfg *cfg) {
    switch (cfg->kind) {
    case ST_OPT_SGD: return cfg->momentum != 0;
    case ST_OPT_RMSPROP: return 1 + (cfg->momentum != 0);
    case ST_OPT_ADAM: return 2;
    }
    return 2;
}

void st_optim_free(st_optim *o) {
    for (int i = 0; i < 2; i++) st_free(o->state[i]);
    st_optim_gather_free(o);
    st_free(o->units);
    st_free(o->sq);
    memset(o, 0, sizeof *o);
}

/* The parts are contiguous and in rank order (st_optim_part_start), so the gather's rank-order
 * concatenation is the whole buffer. */
void st_optim_gather(st_optim *o) {
    if (!st_optim_sharded(o)) return;
    for (int k = 0; k < o->nstate; k++) {
        if (st_dist_rank() == 0) o->full[k] = st_malloc((o->n ? o->n : 1) * sizeof(float));
        st_dist_gather_f32(o->state[k], o->hi - o->lo, o->full[k]);
    }
}

void st_optim_gather_free(st_optim *o) {
    for (int k = 0; k < 2; k++) st_free(o->full[k]), o->full[k] = NULL;
}

/* Squared L2 norm in double: a gradient tensor may hold millions of small values, and a float
 * accumulator would lose the tail of the sum (and make clipping depend on tensor size). */
static double sumsq(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return s;
}

static void scale(float *g, size_t n, float f) {
    for (size_t i = 0; i < n; i++) g[i] *= f;
}

/* The pieces of tensor [off, off + cnt) between ST_OPTIM_UNIT boundaries: *a, *b for piece k;
 * returns 0 past the last. */
static int piece(size_t off, size_t cnt, size_t k, size_t *a, size_t *b) {
    const size_t first = off / ST_OPTIM_UNIT * ST_OPTIM_UNIT;
    *a = first + k * ST_OPTIM_UNIT;
    if (*a < off) *a = off;
    *b = first + (k + 1) * ST_OPTIM_UNIT;
    if (*b > off + cnt) *b = off + cnt;
    return *a < *b;
}

/* sq[t] = squared norm of tensor t (trainable ones; 0 for frozen): the pieces' sums of squares,
 * added in piece order. A piece lies wholly in one rank's part (parts start on unit
 * boundaries), so each rank sums its own pieces exactly as one rank would, the others are
 * exchanged (one rank's value plus zeros is that value, in any order), and every rank adds the
 * same numbers in the same order. */
static void tensor_norms(st_optim *o, const float *g, const st_tensor_range *r, int nr,
                         const uint8_t *trainable, double *sq) {
    const int part = st_optim_sharded(o);
    if (!o->units) {
        size_t nu = 0, a, b;
        for (int t = 0; t < nr; t++)
            for (size_t k = 0; piece(r[t].offset, r[t].count, k, &a, &b); k++) nu++;
        o->nunits = nu;
        o->units = st_malloc((nu ? nu : 1) * sizeof(double));
    }
    size_t u = 0, a, b;
    for (int t = 0; t < nr; t++)
        for (size_t k = 0; piece(r[t].offset, r[t].count, k, &a, &b); k++, u++)
            o->units[u] = a >= o->lo && b <= o->hi && (!trainable || trainable[t])
                              ? sumsq(g + (a - o->lo), b - a)
                              : 0;
    if (part) st_dist_allreduce_sum_f64(o->units, o->nunits);
    u = 0;
    for (int t = 0; t < nr; t++) {
        double s = 0;
        for (size_t k = 0; piece(r[t].offset, r[t].count, k, &a, &b); k++, u++) s += o->units[u];
        sq[t] = s;
    }
}

/* This rank's share [*a, *b) of tensor t (empty when a >= b). */
static void share(const st_optim *o, const st_tensor_range *r, size_t *a, size_t *b) {
    *a = r->offset > o->lo ? r->offset : o->lo;
    *b = r->offset + r->count < o->hi ? r->offset + r->count : o->hi;
}

/* Keras clipping order: clipnorm, then clipvalue... Keras allows only one of them at a time, so
 * the order never matters in practice; config validation does not forbid combining them.
 * g is the part's gradient: g[i - lo] for parameter i. */
static void clip(st_optim *o, float *g, const st_tensor_range *r, int nr,
                 const uint8_t *trainable) {
    const st_optim_cfg *c = &o->cfg;
    size_t a, b;
    if (c->clipnorm > 0 || c->global_clipnorm > 0) {
        if (!o->sq) o->sq = st_malloc((nr ? (size_t)nr : 1) * sizeof(double));
        double *sq = o->sq;
        tensor_norms(o, g, r, nr, trainable, sq);
        double total = 0;
        for (int t = 0; t < nr; t++) total += sq[t];
        for (int t = 0; t < nr; t++) {
            if (trainable && !trainable[t]) continue;
            share(o, &r[t], &a, &b);
            if (a >= b) continue;
            double nrm = sqrt(sq[t]);
            if (c->clipnorm > 0 && nrm > c->clipnorm)
                scale(g + (a - o->lo), b - a, (float)(c->clipnorm / nrm));
            /* global_clipnorm: over all tensors together (clipnorm is then 0) */
            if (c->global_clipnorm > 0 && sqrt(total) > c->global_clipnorm)
                scale(g + (a - o->lo), b - a, (float)(c->global_clipnorm / sqrt(total)));
        }
    }
    if (c->clipvalue > 0)
        for (int t = 0; t < nr; t++) {
            share(o, &r[t], &a, &b);
            for (size_t i = a; i < b; i++) {
                float *x = &g[i - o->lo];
                *x = *x > c->clipvalue ? c->clipvalue : (*x < -c->clipvalue ? -c->clipvalue : *x);
            }
        }
}

/* The update of parameters [a, b): one tensor's share, so frozen tensors can be skipped. gp and
 * the state hold the part [lo, hi): parameter i is at i - lo there. */
static void update(st_optim *o, float *wall, const float *gp, size_t a, size_t b) {
    const st_optim_cfg *c = &o->cfg;
    const float lr = c->learning_rate;
    const size_t n = b - a, at = a - o->lo;
    float *w = wall + a;
    const float *g = gp + at;
    float *s0 = o->nstate > 0 ? o->state[0] + at : NULL;
    float *s1 = o->nstate > 1 ? o->state[1] + at : NULL;
    switch (c->kind) {
    case ST_OPT_SGD:
        if (c->momentum == 0) {
            for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
        } else {
            float *m = s0, mu = c->momentum;
            for (size_t i = 0; i < n; i++) {
                m[i] = mu * m[i] - lr * g[i];
                w[i] += c->nesterov ? mu * m[i] - lr * g[i] : m[i];
            }
        }
        break;
    case ST_OPT_RMSPROP: {
        float *v = s0, rho = c->rho, eps = c->epsilon;
        float *mom = c->momentum != 0 ? s1 : NULL;
        for (size_t i = 0; i < n; i++) {
            v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
            float inc = lr * g[i] / sqrtf(v[i] + eps);
            if (mom) {
                mom[i] = c->momentum * mom[i] + inc;
                w[i] -= mom[i];
            } else {
                w[i] -= inc;
            }
        }
        break;
    }
    case ST_OPT_ADAM: {
        /* Keras folds both bias corrections into the step size (lr_t) and adds epsilon to
         * sqrt(v) uncorrected; PyTorch corrects v before adding epsilon. The two differ only
         * while sqrt(v) is near epsilon; we follow Keras. */
        float *m = s0, *v = s1;
        const float b1 = c->beta_1, b2 = c->beta_2, eps = c->epsilon;
        double t = (double)o->iterations; /* already incremented for this step */
        float lr_t = (float)(lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t)));
        for (size_t i = 0; i < n; i++) {
            m[i] += (g[i] - m[i]) * (1 - b1);
            v[i] += (g[i] * g[i] - v[i]) * (1 - b2);
            w[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
        }
        break;
    }
    }
}

/* Every rank calls this with the same reduced gradients and the same state (or its part of
 * both), so every rank computes bitwise the same update of every parameter it holds. */
void st_optim_step(st_optim *o, float *w, float *g, const st_tensor_range *ranges, int nranges,
                   const uint8_t *trainable) {
    clip(o, g, ranges, nranges, trainable);
    o->iterations++;
    if (!trainable) {
        update(o, w, g, o->lo, o->hi);
        return;
    }
    for (int t = 0; t < nranges; t++) {
        size_t a, b;
        share(o, &ranges[t], &a, &b);
        if (trainable[t] && a < b) update(o, w, g, a, b);
    }
}
