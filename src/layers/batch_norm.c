/*
 * batch_norm.c - Keras BatchNormalization (axis -1) on vectors (B, F).
 *
 *   training:  mu, var = mean and BIASED variance of x over the GLOBAL batch (all ranks' rows)
 *              x^ = (x - mu) / sqrt(var + epsilon)        y = gamma x^ + beta
 *              moving_mean     = moving_mean * momentum + mu  * (1 - momentum)
 *              moving_variance = moving_variance * momentum + var * (1 - momentum)
 *   inference: x^ = (x - moving_mean) / sqrt(moving_variance + epsilon),   y = gamma x^ + beta
 * as Keras 3 does (it also updates moving_variance with the biased batch variance; PyTorch's
 * running_var uses the unbiased one). A layer with trainable = false runs in inference mode
 * also while training, as Keras does since TF 2.0.
 *
 * Parameters, Keras names and order: gamma (F, ones; only with scale), beta (F, zeros; only
 * with center), moving_mean (F, zeros), moving_variance (F, ones). The moving statistics are
 * marked nontrainable: the optimizer skips them and their gradient stays 0; they are saved in
 * checkpoints like any weight.
 *
 * Data parallelism: "the same weights for any number of ranks" needs the statistics of the
 * GLOBAL batch, so forward reduces the per-feature sums over the ranks (one allreduce of 2F+1
 * doubles, through the L->reduce_sum callback the model installs: no MPI here) and backward
 * reduces sum(dy) and sum(dy x^) (2F doubles). These are collectives
 * inside forward/backward: L->collective is set, and the model calls this layer on every rank,
 * also with B = 0 rows. The sums are taken around the current moving_mean (the same on every
 * rank), so var = E[(x-K)^2] - E[x-K]^2 does not cancel catastrophically for features with a
 * large mean. With every rank reducing the same sums, the moving statistics stay identical
 * everywhere without a broadcast.
 *
 * Workspace: the sums (2F+1 doubles), a flag (last forward was a training call), inv_std (F),
 * x^ (B, F).
 *
 * Not here: sequences (T, B, F) (the dense MNIST models need vectors), renorm, virtual batches.
 */
#include <math.h>
#include <string.h>

#include "core/parse.h"
#include "core/xsum.h"
#include "layer_impl.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

/* Keras BatchNormalization's keys and defaults. */
static const st_key bn_keys[] = {
    ST_KEY_FLOAT_ROW("momentum", st_bn_opts, momentum, 0, 1, 0),
    ST_KEY_FLOAT_ROW("epsilon", st_bn_opts, epsilon, 0, INFINITY, ST_OPEN_LO),
    ST_KEY_BOOL_ROW("center", st_bn_opts, center),
    ST_KEY_BOOL_ROW("scale", st_bn_opts, scale),
    ST_KEY_END,
};
static const st_bn_opts bn_defaults = {.momentum = 0.99f, .epsilon = 1e-3f, .center = 1,
                                       .scale = 1};

/* Sums over the global batch through the model's callback (the distributed allreduce); without
 * one (a standalone layer in one process) the local sums are the global ones. */
static void reduce(st_layer *L, double *buf, size_t n) {
    if (L->reduce_sum) L->reduce_sum(buf, n, L->reduce_ctx);
}

/* The same sums with deterministic reduction (layer.h, st_blocks): each block's partial sums of
 * parts (nblk x n doubles, block after block) are added exactly (core/xsum.h) and the exact sums
 * of all ranks combined as integers, so buf (n) comes out the same for any split of the batch
 * into ranks. xs: n accumulators of workspace. */
static void reduce_exact(st_layer *L, const double *parts, int nblk, size_t n, st_xsum *xs,
                         double *buf) {
    memset(xs, 0, n * sizeof *xs);
    for (int k = 0; k < nblk; k++)
        for (size_t i = 0; i < n; i++) st_xsum_add(&xs[i], parts[(size_t)k * n + i]);
    if (L->reduce_i64) L->reduce_i64(xs[0].w, n * ST_XSUM_WORDS, L->reduce_ctx);
    for (size_t i = 0; i < n; i++) buf[i] = st_xsum_value(&xs[i]);
}

/* Parameter slots: gamma and beta are optional, so their positions vary. */
typedef struct bn_params {
    st_param *gamma, *beta, *mean, *var; /* gamma / beta NULL when off */
} bn_params;

static bn_params bn_slots(st_layer *L) {
    bn_params p = {0};
    int k = 0;
    if (L->opt.bn.scale) p.gamma = &L->param[k++];
    if (L->opt.bn.center) p.beta = &L->param[k++];
    p.mean = &L->param[k++];
    p.var = &L->param[k++];
    return p;
}

static void add_param(st_layer *L, const char *name, size_t F, st_init init, int nontrainable) {
    st_param *P = &L->param[L->nparam++];
    strcpy(P->name, name);
    P->dims = st_dims1(F);
    P->init = init;
    P->nontrainable = nontrainable;
}

static int bn_build(st_layer *L, st_shape in) {
    if (in.tokens || in.seq > 0 || in.feat <= 0) {
        st_error_set("batch_norm needs vectors (B, F); put it after a dense or flatten layer, "
                     "or on (N, F) input");
        return ST_ERR;
    }
    L->ishape = in;
    L->oshape = in;
    L->nparam = 0;
    const size_t F = (size_t)in.feat;
    if (L->opt.bn.scale) add_param(L, "gamma", F, ST_INIT_ONES, 0);
    if (L->opt.bn.center) add_param(L, "beta", F, ST_INIT_ZEROS, 0);
    add_param(L, "moving_mean", F, ST_INIT_ZEROS, 1);
    add_param(L, "moving_variance", F, ST_INIT_ONES, 1);
    /* A frozen batch norm uses its moving statistics: no global batch statistics needed. */
    L->collective = L->trainable != 0;
    return ST_OK;
}

/* Views into the workspace for a call of B rows: sums (2F+1 doubles), exact accumulators
 * (2F+1), flag, inv_std (F), x^ (B, F), then per-block partial sums (B x (2F+1) doubles at
 * most: a block has at least one row). */
typedef struct bn_ws {
    double *sums, *parts;
    st_xsum *xs;
    float *flag, *inv, *xhat;
} bn_ws;

static size_t sums_floats(int F) { return 2 * (2 * (size_t)F + 1); }

static bn_ws bn_views(const st_layer *L, int B) {
    const int F = L->ishape.feat;
    const size_t n = 2 * (size_t)F + 1;
    bn_ws w;
    w.sums = (double *)L->ws; /* the arena slices start 64-byte aligned */
    w.xs = (st_xsum *)(w.sums + n);
    w.flag = (float *)(w.xs + n);
    w.inv = w.flag + 1;
    w.xhat = w.inv + F;
    size_t at = (size_t)(w.xhat - L->ws) + (size_t)B * F;
    w.parts = (double *)(L->ws + (at + 1) / 2 * 2); /* 8-byte aligned */
    return w;
}

static size_t bn_workspace(const st_layer *L, int maxB, int maxT) {
    (void)maxT;
    const size_t F = (size_t)L->ishape.feat, n = 2 * F + 1;
    return sums_floats((int)F) + n * sizeof(st_xsum) / sizeof(float) + 1 + F +
           (size_t)maxB * F + 1 + (size_t)maxB * n * 2;
}

/* s1 += sum(x - K), s2 += sum((x - K)^2) over rows [r0, r1), K = moving_mean: the forward's
 * per-feature sums, in row order. */
static void stat_sums(const float *x, int r0, int r1, int F, const float *mm, double *s1,
                      double *s2) {
    for (int b = r0; b < r1; b++) {
        const float *xr = x + (size_t)b * F;
        for (int f = 0; f < F; f++) {
            double d = (double)xr[f] - mm[f];
            s1[f] += d;
            s2[f] += d * d;
        }
    }
}

/* sdy += sum(dy), sdyx += sum(dy x^) over rows [r0, r1): the backward's sums, in row order. */
static void grad_sums(const float *dy, const float *xhat, int r0, int r1, int F, double *sdy,
                      double *sdyx) {
    for (int b = r0; b < r1; b++) {
        const float *g = dy + (size_t)b * F, *xh = xhat + (size_t)b * F;
        for (int f = 0; f < F; f++) {
            sdy[f] += g[f];
            sdyx[f] += (double)g[f] * xh[f];
        }
    }
}

/* Rows [*r0, *r1) of block k of a call of B rows (bk == NULL: all rows, one block). */
static void block_span(const st_blocks *bk, int k, int B, int *r0, int *r1) {
    if (!bk) {
        *r0 = 0, *r1 = B;
        return;
    }
    *r0 = k * bk->rows;
    *r1 = *r0 + bk->rows < B ? *r0 + bk->rows : B;
}

static void bn_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    (void)T;
    const int F = L->ishape.feat;
    bn_params p = bn_slots(L);
    bn_ws w = bn_views(L, B);
    const float *x = in->x; /* (B, F) */
    const st_blocks *bk = in->blocks;
    const int nblk = bk ? (B > 0 ? bk->n : 0) : 1;
    float *mm = p.mean->w, *mv = p.var->w;
    const int batch_stats = train && L->trainable;
    *w.flag = (float)batch_stats;
    if (batch_stats) {
        /* Shifted sums around K = moving_mean (identical on every rank), then the global
         * reduction: s1 = sum(x - K), s2 = sum((x - K)^2), and the row count. */
        double *s1 = w.sums, *s2 = w.sums + F;
        const size_t n = 2 * (size_t)F + 1;
        memset(w.sums, 0, n * sizeof(double));
        if (!bk) {
            stat_sums(x, 0, B, F, mm, s1, s2);
            w.sums[2 * F] = B;
            reduce(L, w.sums, n); /* collective */
        } else {
            /* Per block, then exactly over blocks and ranks (collective). */
            memset(w.parts, 0, (size_t)nblk * n * sizeof(double));
            for (int k = 0; k < nblk; k++) {
                double *pk = w.parts + (size_t)k * n;
                int r0, r1;
                block_span(bk, k, B, &r0, &r1);
                stat_sums(x, r0, r1, F, mm, pk, pk + F);
                pk[2 * F] = r1 - r0;
            }
            reduce_exact(L, w.parts, nblk, n, w.xs, w.sums);
        }
        const double N = w.sums[2 * F];
        const float mom = L->opt.bn.momentum;
        if (N <= 0) return; /* no rows on any rank (only a test can do that) */
        for (int f = 0; f < F; f++) {
            double md = s1[f] / N, var = s2[f] / N - md * md;
            if (var < 0) var = 0;
            float mean = (float)(mm[f] + md);
            /* mean and var are written back over s1 / s2 for the normalization below */
            s1[f] = mean;
            s2[f] = var;
            w.inv[f] = (float)(1.0 / sqrt(var + (double)L->opt.bn.epsilon));
            mm[f] = mm[f] * mom + mean * (1.0f - mom);
            mv[f] = mv[f] * mom + (float)var * (1.0f - mom);
        }
        for (int b = 0; b < B; b++)
            for (int f = 0; f < F; f++)
                w.xhat[(size_t)b * F + f] =
                    (float)(((double)x[(size_t)b * F + f] - s1[f]) * w.inv[f]);
    } else {
        for (int f = 0; f < F; f++) w.inv[f] = 1.0f / sqrtf(mv[f] + L->opt.bn.epsilon);
        for (int b = 0; b < B; b++)
            for (int f = 0; f < F; f++)
                w.xhat[(size_t)b * F + f] = (x[(size_t)b * F + f] - mm[f]) * w.inv[f];
    }
    /* y = gamma x^ + beta */
    for (int b = 0; b < B; b++) {
        const float *xh = w.xhat + (size_t)b * F;
        float *y = L->out + (size_t)b * F;
        for (int f = 0; f < F; f++)
            y[f] = (p.gamma ? p.gamma->w[f] : 1.0f) * xh[f] + (p.beta ? p.beta->w[f] : 0.0f);
    }
}

static void bn_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    (void)in, (void)T;
    const int F = L->ishape.feat;
    bn_params p = bn_slots(L);
    bn_ws w = bn_views(L, B);
    const float *dy = L->dout; /* (B, F) */
    const int batch_stats = *w.flag != 0;
    const st_blocks *bk = in->blocks;
    const int nblk = bk ? (B > 0 ? bk->n : 0) : 1;
    const size_t n = 2 * (size_t)F;
    /* Local sums per block: the parameter gradients (block k's into slot k; the step's
     * reduction sums them over blocks and ranks) and, with batch statistics, the input
     * gradient's two reductions. */
    double *sdy = w.sums, *sdyx = w.sums + F;
    const double N = w.sums[2 * F]; /* the global row count of the last forward */
    memset(w.sums, 0, n * sizeof(double));
    if (nblk > 0) memset(w.parts, 0, (size_t)nblk * n * sizeof(double));
    for (int k = 0; k < nblk; k++) {
        double *pk = bk ? w.parts + (size_t)k * n : w.sums;
        int r0, r1;
        block_span(bk, k, B, &r0, &r1);
        grad_sums(dy, w.xhat, r0, r1, F, pk, pk + F);
        if (L->trainable) {
            /* dgamma += sum(dy x^), dbeta += sum(dy) */
            for (int f = 0; f < F; f++) {
                if (p.gamma) st_grad_slot(bk, p.gamma->g, k)[f] += (float)pk[F + f];
                if (p.beta) st_grad_slot(bk, p.beta->g, k)[f] += (float)pk[f];
            }
        }
    }
    if (!batch_stats) {
        /* The statistics are constants: dx = dy gamma / sigma */
        if (dx)
            for (int b = 0; b < B; b++)
                for (int f = 0; f < F; f++)
                    dx[(size_t)b * F + f] += dy[(size_t)b * F + f] *
                                             (p.gamma ? p.gamma->w[f] : 1.0f) * w.inv[f];
        return;
    }
    /* Global sums. Every rank joins, even without rows and even when dx is not needed (the
     * collective count must match). */
    if (bk)
        reduce_exact(L, w.parts, nblk, n, w.xs, w.sums); /* collective */
    else
        reduce(L, w.sums, n); /* collective */
    if (!dx || N <= 0) return;
    /* dx = gamma / sigma * (dy - sum(dy) / N - x^ sum(dy x^) / N) */
    for (int f = 0; f < F; f++) {
        sdy[f] /= N;
        sdyx[f] /= N;
    }
    for (int b = 0; b < B; b++) {
        const float *g = dy + (size_t)b * F, *xh = w.xhat + (size_t)b * F;
        float *d = dx + (size_t)b * F;
        for (int f = 0; f < F; f++) {
            double k = (double)(p.gamma ? p.gamma->w[f] : 1.0f) * w.inv[f];
            d[f] += (float)(k * ((double)g[f] - sdy[f] - (double)xh[f] * sdyx[f]));
        }
    }
}

const st_layer_ops st_batch_norm_ops =
    ST_LAYER_OPS("batch_norm", "BatchNormalization", bn, bn_keys, bn_defaults);
