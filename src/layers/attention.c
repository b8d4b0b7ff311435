/*
 * attention.c - many-to-one attention over a recurrent layer's sequence output (Luong /
 * Bahdanau, as in the tutorials' "attention for classification" model).
 *
 * Input: h̄ (T, B, H), the states of a recurrent layer with return_sequences = true, and its
 * mask (T, B). Per row b:
 *   h_t     = h̄ at the row's LAST REAL step (the last s with mask 1; T-1 without a mask)
 *   score_s = h_t · (h̄_s W)                        luong    (W  (H, H))
 *           = v · tanh(h_t W1 + h̄_s W2)            bahdanau (W1, W2 (H, H), v (H))
 *   α       = softmax of the scores over the row's real steps; 0 at masked steps
 *   c       = Σ_s α_s h̄_s                           (H)
 *   a       = tanh([c; h_t] Wc)                      (units), Wc (2H, units), no bias
 * Output: a (B, units). The mask ends here (the output is a vector per row). A fully masked
 * row has no h_t: it gets h_t = 0, α = 0, c = 0 and so a = 0, and sends no gradient.
 *
 * h_t is read from the sequence by the mask rather than assumed at T-1: after a unidirectional
 * recurrent layer a 'post'-padded row repeats its last real state at the padded steps, but after
 * a bidirectional one (whose masked outputs are 0) it does not. Its gradient goes back to that
 * one position of h̄, added to what the scores and the context send to every real step.
 *
 * Parameters (Keras-style names): luong "W", "Wc"; bahdanau "W1", "W2", "v", "Wc"; all
 * kernel_initializer (glorot_uniform).
 *
 * Workspace, packed for the call's B and T; α first, so st_attention_weights() finds it:
 *   al   (T, B)     α of the last forward (kept through backward)
 *   ds   (T, B)     backward: dL/dα, then dL/dscore
 *   CH   (B, 2H)    [c | h_t]: the input of the output projection (h_t lives in its right half)
 *   dCH  (B, 2H)    backward: its gradient
 *   q    (B, H)     luong: h_t W^T (so score_s = h̄_s · q); bahdanau: h_t W1
 *   dq   (B, H)     backward: the gradient w.r.t. q
 *   E    (T, B, H)  bahdanau only: tanh(h_t W1 + h̄_s W2); backward: d(pre-tanh)
 *
 * Cost: luong needs two (B,H)x(H,H) GEMMs and O(T B H) dot products; bahdanau adds the
 * (T*B,H)x(H,H) projection of h̄, and its backward the two matching GEMMs over all T*B rows.
 *
 * Parameter gradients are formed per block of rows (layer.h, st_blocks): the products over
 * rows through layers/grad.c (T = 1 for the per-row tensors c, h_t, q), dv by a loop over each
 * block's rows. The row-wise products (q, E, the output, and their gradients) are formed per
 * block of rows too (st_rows_gemm), so a row's bits do not depend on the other rows of the
 * call; everything else here works row by row.
 *
 * What this layer does not do: a bias in the score or output projection (the tutorial has
 * none on Wc; Luong's "general" score has none), scaled scores, multi-head, or many-to-many
 * (one query per step) attention.
 */
#include <math.h>
#include <string.h>

#include "core/vmath.h"
#include "layer_impl.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

/* Indexed by st_score. */
static const char *const score_names[] = {"luong", "bahdanau", NULL};
static const st_key att_keys[] = {
    ST_KEY_INT_ROW("units", st_attention_opts, units, 1, 1 << 20),
    ST_KEY_ENUM_ROW("score", st_attention_opts, score, score_names, "score"),
    ST_KEY_FUNC_ROW("kernel_initializer", st_attention_opts, kernel_init, st_key_init),
    ST_KEY_END,
};
static const st_attention_opts att_defaults = {.score = ST_SCORE_LUONG,
                                               .kernel_init = ST_INIT_GLOROT_UNIFORM};

static void add_param(st_layer *L, const char *name, st_dims dims) {
    st_param *P = &L->param[L->nparam++];
    strcpy(P->name, name);
    P->dims = dims;
    P->init = L->opt.att.kernel_init;
}

static int att_build(st_layer *L, st_shape in) {
    if (in.tokens || in.seq <= 0 || in.feat <= 0) {
        st_error_set("attention needs the sequence output of a recurrent layer (T, B, H); set "
                     "return_sequences = true on the layer before it");
        return ST_ERR;
    }
    if (L->opt.att.units <= 0) {
        st_error_set("attention needs units");
        return ST_ERR;
    }
    const size_t H = (size_t)in.feat;
    L->ishape = in;
    L->oshape = (st_shape){.seq = 0, .feat = L->opt.att.units, .tokens = 0, .vocab = in.vocab};
    L->nparam = 0;
    if (L->opt.att.score == ST_SCORE_LUONG) {
        add_param(L, "W", st_dims2(H, H));
    } else {
        add_param(L, "W1", st_dims2(H, H));
        add_param(L, "W2", st_dims2(H, H));
        add_param(L, "v", st_dims1(H));
    }
    add_param(L, "Wc", st_dims2(2 * H, (size_t)L->opt.att.units));
    return ST_OK;
}

static size_t att_workspace(const st_layer *L, int maxB, int maxT) {
    const size_t H = (size_t)L->ishape.feat, B = (size_t)maxB, T = (size_t)maxT;
    size_t n = 2 * T * B + 4 * B * H + 2 * B * H;
    if (L->opt.att.score == ST_SCORE_BAHDANAU) n += T * B * H;
    return n;
}

typedef struct att_ws {
    float *al, *ds; /* (T, B) */
    float *CH, *dCH; /* (B, 2H) */
    float *q, *dq;   /* (B, H) */
    float *E;        /* (T, B, H), bahdanau */
} att_ws;

static att_ws att_views(const st_layer *L, int B, int T) {
    const size_t H = (size_t)L->ishape.feat, TB = (size_t)T * B;
    att_ws w;
    w.al = L->ws;
    w.ds = w.al + TB;
    w.CH = w.ds + TB;
    w.dCH = w.CH + 2 * (size_t)B * H;
    w.q = w.dCH + 2 * (size_t)B * H;
    w.dq = w.q + (size_t)B * H;
    w.E = w.dq + (size_t)B * H;
    return w;
}

const float *st_attention_weights(const st_layer *L) {
    return L && L->ops == &st_attention_ops ? L->ws : NULL;
}

/* The row's last real step, T-1 without a mask, -1 when every step is masked. */
static int last_real(const uint8_t *mask, int b, int B, int T) {
    if (!mask) return T - 1;
    for (int t = T - 1; t >= 0; t--)
        if (mask[(size_t)t * B + b]) return t;
    return -1;
}

static float dot(const float *a, const float *b, int n) {
    float s = 0;
    for (int j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

/* The same in double: for the softmax backward, where dscore = α (dα - Σ α dα) is a difference
 * of nearly equal terms and float sums would lose the digits that matter. */
static double dot_d(const float *a, const float *b, int n) {
    double s = 0;
    for (int j = 0; j < n; j++) s += (double)a[j] * b[j];
    return s;
}

/* E = tanh(E + K1[b]) for every (t, b), E (T, B, H): bahdanau's hidden layer, vectorized. */
ST_SIMD_CLONES
static void add_tanh(float *restrict E, const float *restrict K1, int T, int B, int H) {
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *restrict e = E + ((size_t)t * B + b) * H;
            const float *restrict k = K1 + (size_t)b * H;
            for (int j = 0; j < H; j++) e[j] = st_tanhf(e[j] + k[j]);
        }
}

static void att_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    (void)train;
    const int H = L->ishape.feat, H2 = 2 * H, N = L->opt.att.units, TB = T * B;
    const float *hb = in->x;        /* h̄ (T, B, H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    const float *Wc = L->param[L->nparam - 1].w; /* (2H, N) */
    const st_blocks *bk = in->blocks;            /* row-wise products per block of rows */
    att_ws w = att_views(L, B, T);
    float *ht = w.CH + H; /* (B, H) with row stride 2H */

    for (int b = 0; b < B; b++) {
        int s = last_real(mask, b, B, T);
        if (s >= 0)
            memcpy(ht + (size_t)b * H2, hb + ((size_t)s * B + b) * H, (size_t)H * sizeof(float));
        else
            memset(ht + (size_t)b * H2, 0, (size_t)H * sizeof(float));
    }

    /* Scores into al (T, B). */
    if (L->opt.att.score == ST_SCORE_LUONG) {
        const float *W = L->param[0].w; /* (H, H) */
        /* q = h_t · W^T   (B,H): score_s = h_t · (h̄_s W) = h̄_s · q */
        st_rows_gemm(bk, 1, B, 1, H, H, 1.0f, ht, H2, W, H, 0.0f, w.q, H);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                w.al[(size_t)t * B + b] = dot(hb + ((size_t)t * B + b) * H, w.q + (size_t)b * H, H);
    } else {
        const float *W1 = L->param[0].w, *W2 = L->param[1].w, *v = L->param[2].w;
        /* q = h_t · W1   (B,H) */
        st_rows_gemm(bk, 1, B, 0, H, H, 1.0f, ht, H2, W1, H, 0.0f, w.q, H);
        /* E = tanh(h̄ · W2 + q)   (T*B,H) */
        st_rows_gemm(bk, T, B, 0, H, H, 1.0f, hb, H, W2, H, 0.0f, w.E, H);
        add_tanh(w.E, w.q, T, B, H);
        for (int k = 0; k < TB; k++) w.al[k] = dot(w.E + (size_t)k * H, v, H);
    }

    /* Softmax over each row's real steps (masked steps: 0), then c = Σ α h̄. */
    for (int b = 0; b < B; b++) {
        float mx = -INFINITY, sum = 0;
        for (int t = 0; t < T; t++)
            if (!mask || mask[(size_t)t * B + b]) mx = fmaxf(mx, w.al[(size_t)t * B + b]);
        for (int t = 0; t < T; t++) {
            float *a = &w.al[(size_t)t * B + b];
            *a = !mask || mask[(size_t)t * B + b] ? expf(*a - mx) : 0.0f;
            sum += *a;
        }
        float inv = sum > 0 ? 1.0f / sum : 0.0f; /* fully masked row: all 0 */
        float *c = w.CH + (size_t)b * H2;
        memset(c, 0, (size_t)H * sizeof(float));
        for (int t = 0; t < T; t++) {
            float a = (w.al[(size_t)t * B + b] *= inv);
            const float *h = hb + ((size_t)t * B + b) * H;
            for (int j = 0; j < H; j++) c[j] += a * h[j];
        }
    }

    /* out = tanh([c; h_t] · Wc)   (B,N) */
    st_rows_gemm(bk, 1, B, 0, N, H2, 1.0f, w.CH, H2, Wc, N, 0.0f, L->out, N);
    st_act_forward(ST_ACT_TANH, L->out, L->out, (size_t)B, (size_t)N);
}

static void att_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    const int H = L->ishape.feat, H2 = 2 * H, N = L->opt.att.units, TB = T * B;
    const float *hb = in->x;        /* h̄ (T, B, H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    st_param *Pc = &L->param[L->nparam - 1];
    att_ws w = att_views(L, B, T);
    const float *ht = w.CH + H;
    float *dc = w.dCH, *dht = w.dCH + H; /* (B, H) each, row stride 2H */
    float *dpre = L->dout;              /* (B, N): dout, turned into d(pre-tanh) in place */
    const st_blocks *bk = in->blocks;   /* products per block of rows */

    st_act_backward(ST_ACT_TANH, L->out, dpre, dpre, (size_t)B, (size_t)N);
    /* dWc += [c; h_t]^T · dpre   (2H,N), per block of rows */
    if (L->trainable) st_grad_gemm_tn(bk, 1, B, H2, N, w.CH, H2, dpre, N, Pc->g);
    /* d[c; h_t] = dpre · Wc^T   (B,2H) */
    st_rows_gemm(bk, 1, B, 1, H2, N, 1.0f, dpre, N, Pc->w, N, 0.0f, w.dCH, H2);

    /* Context: dα_s = dc · h̄_s, and h̄_s gets α_s dc. Then through the softmax:
     * dscore_s = α_s (dα_s - Σ_s' α_s' dα_s'); masked steps have α = 0, so they get 0. */
    for (int b = 0; b < B; b++) {
        const float *dcb = dc + (size_t)b * H2;
        double sum = 0;
        for (int t = 0; t < T; t++) {
            const size_t k = (size_t)t * B + b;
            float a = w.al[k];
            double da = a != 0 ? dot_d(dcb, hb + k * H, H) : 0.0;
            sum += a * da;
            if (dx && a != 0) {
                float *d = dx + k * H;
                for (int j = 0; j < H; j++) d[j] += a * dcb[j];
            }
        }
        /* dα_s is recomputed rather than stored, to keep it in double. */
        for (int t = 0; t < T; t++) {
            const size_t k = (size_t)t * B + b;
            float a = w.al[k];
            w.ds[k] = a != 0 ? (float)(a * (dot_d(dcb, hb + k * H, H) - sum)) : 0.0f;
        }
    }

    if (L->opt.att.score == ST_SCORE_LUONG) {
        st_param *PW = &L->param[0];
        /* dq_b = Σ_s dscore_s h̄_s; h̄_s gets dscore_s q_b */
        memset(w.dq, 0, (size_t)B * H * sizeof(float));
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
                const size_t k = (size_t)t * B + b;
                float s = w.ds[k];
                if (s == 0) continue;
                const float *h = hb + k * H, *q = w.q + (size_t)b * H;
                float *dq = w.dq + (size_t)b * H;
                for (int j = 0; j < H; j++) dq[j] += s * h[j];
                if (dx) {
                    float *d = dx + k * H;
                    for (int j = 0; j < H; j++) d[j] += s * q[j];
                }
            }
        /* q = h_t W^T:  dW += dq^T · h_t   (H,H) per block;  dh_t += dq · W   (B,H) */
        if (L->trainable) st_grad_gemm_tn(bk, 1, B, H, H, w.dq, H, ht, H2, PW->g);
        st_rows_gemm(bk, 1, B, 0, H, H, 1.0f, w.dq, H, PW->w, H, 1.0f, dht, H2);
    } else {
        st_param *P1 = &L->param[0], *P2 = &L->param[1], *Pv = &L->param[2];
        const float *v = Pv->w;
        /* dv += Σ_rows dscore E, per block: block k's rows in (t, r) order into slot k
         * (without blocks: every row in (t, b) order into dv itself). */
        if (L->trainable) {
            const int nblk = bk ? bk->n : 1, rows = bk ? bk->rows : B;
            for (int kb = 0; kb < nblk; kb++) {
                float *dv = st_grad_slot(bk, Pv->g, kb); /* (H) */
                const int r0 = kb * rows, r1 = r0 + rows < B ? r0 + rows : B;
                for (int t = 0; t < T; t++)
                    for (int b = r0; b < r1; b++) {
                        const size_t k = (size_t)t * B + b;
                        const float s = w.ds[k], *e = w.E + k * H;
                        for (int j = 0; j < H; j++) dv[j] += s * e[j];
                    }
            }
        }
        /* E becomes d(pre-tanh) = dscore v (1 - E²) */
        for (int k = 0; k < TB; k++) {
            float s = w.ds[k];
            float *e = w.E + (size_t)k * H;
            for (int j = 0; j < H; j++) e[j] = s * v[j] * (1.0f - e[j] * e[j]);
        }
        /* dq_b = Σ_s dpre_s: q is added to every step's pre-activation. Summed in double:
         * Σ_s dscore_s = 0, so the terms largely cancel. */
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++) {
                double s = 0;
                for (int t = 0; t < T; t++) s += w.E[((size_t)t * B + b) * H + j];
                w.dq[(size_t)b * H + j] = (float)s;
            }
        if (L->trainable) {
            /* Per block: dW2 += h̄^T · dpre   (H,H) over its T x rows;
             * dW1 += h_t^T · dq   (H,H) over its rows */
            st_grad_gemm_tn(bk, T, B, H, H, hb, H, w.E, H, P2->g);
            st_grad_gemm_tn(bk, 1, B, H, H, ht, H2, w.dq, H, P1->g);
        }
        /* dh̄ += dpre · W2^T   (T*B,H);  dh_t += dq · W1^T   (B,H) */
        if (dx) st_rows_gemm(bk, T, B, 1, H, H, 1.0f, w.E, H, P2->w, H, 1.0f, dx, H);
        st_rows_gemm(bk, 1, B, 1, H, H, 1.0f, w.dq, H, P1->w, H, 1.0f, dht, H2);
    }

    /* h_t is h̄ at the row's last real step: its gradient goes back there. */
    if (dx)
        for (int b = 0; b < B; b++) {
            int s = last_real(mask, b, B, T);
            if (s < 0) continue;
            float *d = dx + ((size_t)s * B + b) * H;
            const float *g = dht + (size_t)b * H2;
            for (int j = 0; j < H; j++) d[j] += g[j];
        }
}

const st_layer_ops st_attention_ops =
    ST_LAYER_OPS("attention", "Attention", att, att_keys, att_defaults);
