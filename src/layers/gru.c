/*
 * gru.c - Keras GRU with reset_after = True (the Keras 3 default, and PyTorch nn.GRU's
 * equations), gate order z, r, h:
 *   gx = x_t W + b_in        gh = h_{t-1} U + b_rec               (B, 3U) each, [z | r | h]
 *   z  = ra(gx_z + gh_z)     r  = ra(gx_r + gh_r)                 (ra: recurrent_activation)
 *   hh = act(gx_h + r ⊙ gh_h)
 *   h_t = z ⊙ h_{t-1} + (1 - z) ⊙ hh                               h_0 = 0
 *
 * Parameters: kernel W (I, 3U), recurrent_kernel U (U, 3U), bias (2, 3U): row 0 is the input
 * bias b_in, row 1 the recurrent bias b_rec (Keras' layout; PyTorch's bias_ih / bias_hh).
 *
 * Workspace, packed for the CALL's B and T (backward reads the layout of the last forward):
 *   G   (T, B, 3U)   forward: gx, then the activated gates [z | r | hh] in place;
 *                    backward: dG = dL/d(gx)  (the input side's pre-activation gradient)
 *   R   (T, B, 3U)   forward: gh, kept because the candidate needs r ⊙ gh_h (and backward needs
 *                    gh_h for dr); backward: dR = dL/d(gh)
 *   Sh  (T+1, B, U)  hidden states, slot 0 = h_0 = 0
 *   dh  (B, U)       running gradient w.r.t. the current h in backward-through-time
 *   tmp (3U)         one row of scratch for activations other than the Keras defaults
 *   flag, m_x (B, I), Xd (T, B, I), m_h (B, U), Hd (T, B, U), sc (B, U): dropout only, each
 *                    part present only when its rate is > 0 (see Dropout below)
 *
 * Unlike LSTM the recurrent projection cannot be added into G: the reset gate multiplies only
 * its h part, so it gets its own buffer R. The cost is the same GEMMs: one for the input
 * projection of all steps, one per step for the recurrence; in backward only
 * dh_{t-1} = dR_t U^T is sequential, and dW, dU, both biases and dx are each one GEMM (or
 * column sum) over all T*B rows; with blocks (layer.h, st_blocks) each GEMM, the per-step
 * ones too, is one per block of rows (rnn.h). dG and dR differ only in the candidate's slice:
 * dG_h = d(hh pre-activation), dR_h = dG_h ⊙ r.
 *
 * The default activations (tanh, sigmoid) take a fused, vectorized per-element path; any other
 * pair goes through st_act_forward/backward per gate slice.
 *
 * Masking (in->mask (T, B), 1 = real): a masked row keeps h (and outputs the carried h); its
 * gate gradients are 0 and dh passes straight through to t-1.
 *
 * Dropout (training only; Keras semantics as in lstm.c: ONE mask per sequence, shared by the
 * three gates and by every step, inverted scaling, from st_dropout_mask keyed by seed, epoch
 * and the row's global sample id): `dropout` masks the input, gx = (x ⊙ m_x) W + b_in, so the
 * input projection runs on a masked copy Xd (T, B, I); `recurrent_dropout` masks only what
 * feeds the recurrent projection, gh = (h_{t-1} ⊙ m_h) U + b_rec, kept per step in Hd
 * (T, B, U) for dU. The update mixes the UNMASKED state, h_t = z ⊙ h_{t-1} + (1 - z) ⊙ hh
 * (Keras GRUCell mixes h_tm1, not its dropped copies h_tm1_z/r/h), so the cell kernels are
 * unchanged; in backward dh_{t-1} = z ⊙ dh_t + (dR_t U^T) ⊙ m_h. With both rates 0 none of
 * this exists: no workspace, no extra pass.
 *
 * What this layer does not do: reset_after = false (Keras 2's default, which has no PyTorch
 * equivalent), stateful, go_backwards (bidirectional.c reverses the sequence itself).
 */
#include <math.h>
#include <string.h>

#include "core/poll.h"
#include "core/vmath.h"
#include "rnn.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

/* Accepted so Keras configs carry over; only the PyTorch-compatible variant exists. */
static int key_reset_after(const char *key, const char *val, void *field) {
    int v = 1;
    if (st_parse_bool(key, val, &v) != ST_OK) return ST_ERR;
    if (!v) {
        st_error_set("reset_after = %s: only reset_after = true (Keras 3's default, "
                     "PyTorch's GRU) is implemented", val);
        return ST_ERR;
    }
    *(int *)field = v;
    return ST_OK;
}

const st_key st_gru_keys[] = {
    ST_RNN_KEY_ROWS(st_layer_opts, rnn),
    ST_KEY_FUNC_ROW("recurrent_activation", st_layer_opts, rnn.recurrent_activation, st_key_act),
    ST_KEY_FUNC_ROW("reset_after", st_layer_opts, rnn.reset_after, key_reset_after),
    ST_KEY_END,
};

static int gru_build(st_layer *L, st_shape in) {
    if (st_rnn_check(L, in) != ST_OK) return ST_ERR;
    const size_t I = (size_t)in.feat, U = (size_t)L->opt.rnn.units;
    L->nparam = 0;
    st_param_add(L, "kernel", st_dims2(I, 3 * U), L->opt.rnn.kernel_init);
    st_param_add(L, "recurrent_kernel", st_dims2(U, 3 * U), L->opt.rnn.recurrent_init);
    if (L->opt.rnn.use_bias) {
        st_param_add(L, "bias", st_dims2(2, 3 * U), L->opt.rnn.bias_init); /* [b_in; b_rec] */
    }
    return ST_OK;
}

static size_t gru_workspace(const st_layer *L, int maxB, int maxT) {
    const size_t U = (size_t)L->opt.rnn.units, BU = (size_t)maxB * U, T = (size_t)maxT;
    /* G + R + Sh + dh + tmp + dropout */
    return 2 * 3 * T * BU + (T + 1) * BU + BU + 3 * U + st_rnn_drop_ws(L, maxB, maxT);
}

/* Views into the workspace for a call with B rows and T steps. */
typedef struct gru_ws {
    float *G;   /* (T, B, 3U) */
    float *R;   /* (T, B, 3U) */
    float *Sh;  /* (T+1, B, U) */
    float *dh;  /* (B, U) */
    float *tmp; /* (3U) */
    st_rnn_drop d; /* dropout buffers after tmp (rnn.h) */
} gru_ws;

static gru_ws gru_views(const st_layer *L, int B, int T) {
    const size_t BU = (size_t)B * L->opt.rnn.units, TBU = (size_t)T * BU;
    gru_ws w;
    w.G = L->ws;
    w.R = w.G + 3 * TBU;
    w.Sh = w.R + 3 * TBU;
    w.dh = w.Sh + TBU + BU;
    w.tmp = w.dh + BU;
    w.d = st_rnn_drop_views(L, w.tmp + 3 * (size_t)L->opt.rnn.units, B, T);
    return w;
}

/* One step of all B rows, default activations: G (B,3U) holds gx and becomes [z|r|hh], R holds
 * gh (kept), h = z hp + (1-z) hh. Masked rows carry h. Straight-line float math (vmath.h) so
 * the inner loop vectorizes; the clones give AVX-512 / AVX2 code where the CPU has them. */
ST_SIMD_CLONES
static void step_fwd_default(float *restrict G, const float *restrict R,
                             const float *restrict hp, float *restrict h, const uint8_t *mask,
                             int B, int U) {
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * U;
        if (mask && !mask[b]) {
            memcpy(h + r, hp + r, (size_t)U * sizeof(float));
            continue;
        }
        float *restrict g = G + 3 * r;
        const float *restrict q = R + 3 * r;
        for (int j = 0; j < U; j++) {
            float z = st_sigmoidf(g[j] + q[j]);
            float rr = st_sigmoidf(g[U + j] + q[U + j]);
            float hh = st_tanhf(g[2 * U + j] + rr * q[2 * U + j]);
            g[j] = z, g[U + j] = rr, g[2 * U + j] = hh;
            h[r + j] = z * hp[r + j] + (1.0f - z) * hh;
        }
    }
}

/* The same for one row and any activation pair, one gate slice at a time. */
static void cell_fwd_general(const st_layer *L, float *g, const float *q, const float *hp,
                             float *h, int U) {
    st_act ra = L->opt.rnn.recurrent_activation, act = L->opt.rnn.activation;
    for (int j = 0; j < 2 * U; j++) g[j] += q[j];
    st_act_forward(ra, g, g, 1, (size_t)U);         /* z */
    st_act_forward(ra, g + U, g + U, 1, (size_t)U); /* r */
    for (int j = 0; j < U; j++) g[2 * U + j] += g[U + j] * q[2 * U + j];
    st_act_forward(act, g + 2 * U, g + 2 * U, 1, (size_t)U); /* hh */
    for (int j = 0; j < U; j++) h[j] = g[j] * hp[j] + (1.0f - g[j]) * g[2 * U + j];
}

static void gru_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    const int I = L->ishape.feat, U = L->opt.rnn.units, G3 = 3 * U;
    const size_t BU = (size_t)B * U;
    const float *Uw = L->param[1].w; /* (U, 3U) */
    const float *b_in = L->opt.rnn.use_bias ? L->param[2].w : NULL;       /* (3U) */
    const float *b_rec = L->opt.rnn.use_bias ? L->param[2].w + G3 : NULL; /* (3U) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    const int fast = L->opt.rnn.activation == ST_ACT_TANH && L->opt.rnn.recurrent_activation == ST_ACT_SIGMOID;
    gru_ws w = gru_views(L, B, T);
    const float *x = st_rnn_drop_forward(L, &w.d, in, B, T, train); /* (T, B, I) */

    /* G = X · W + b_in   (T*B,3U) */
    st_rnn_project(in->blocks, x, L->param[0].w, b_in, w.G, T, B, I, G3);
    memset(w.Sh, 0, BU * sizeof(float)); /* h_0 = 0 */

    for (int t = 0; t < T; t++) {
        float *Gt = w.G + (size_t)t * B * G3, *Rt = w.R + (size_t)t * B * G3;
        const float *hp = w.Sh + (size_t)t * BU;
        float *ht = w.Sh + (size_t)(t + 1) * BU;
        /* R_t = h_{t-1} · U + b_rec   (B,3U); at t = 0, h_0 = 0 leaves only the bias.
         * Recurrent dropout: the GEMM reads h_{t-1} ⊙ m_h (kept in Hd for dU); the cell below
         * still mixes the unmasked hp. */
        if (t > 0)
            st_rows_gemm(in->blocks, 1, B, 0, G3, U, 1.0f, st_rnn_state_in(&w.d, hp, t, BU), U,
                         Uw, G3, 0.0f, Rt, G3);
        else
            memset(Rt, 0, (size_t)B * G3 * sizeof(float));
        if (b_rec) st_rows_add(Rt, (size_t)B, (size_t)G3, b_rec);
        const uint8_t *mt = mask ? mask + (size_t)t * B : NULL;
        if (fast) {
            step_fwd_default(Gt, Rt, hp, ht, mt, B, U);
            continue;
        }
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)b * U;
            if (mt && !mt[b]) {
                memcpy(ht + r, hp + r, (size_t)U * sizeof(float)); /* masked: carry h */
                continue;
            }
            cell_fwd_general(L, Gt + 3 * r, Rt + 3 * r, hp + r, ht + r, U);
        }
    }
    st_rnn_output(L, w.Sh, T, BU);
}

/* All B rows of one step, default activations. In: G = [z|r|hh], R = gh, hp = h_{t-1},
 * dh = dL/dh_t. Out: G = dG = [dz_pre | dr_pre | dhh_pre], R = dR = [dz_pre | dr_pre |
 * dhh_pre ⊙ r], dh = the direct part of dL/dh_{t-1} (z ⊙ dh; the step's GEMM adds dR U^T).
 * Masked rows: zero gate gradients, dh unchanged. */
ST_SIMD_CLONES
static void step_bwd_default(float *restrict G, float *restrict R, const float *restrict hp,
                             float *restrict dh, const uint8_t *mask, int B, int U) {
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * U;
        float *restrict g = G + 3 * r, *restrict q = R + 3 * r;
        if (mask && !mask[b]) {
            memset(g, 0, 3 * (size_t)U * sizeof(float));
            memset(q, 0, 3 * (size_t)U * sizeof(float));
            continue;
        }
        for (int j = 0; j < U; j++) {
            float z = g[j], rr = g[U + j], hh = g[2 * U + j], ghh = q[2 * U + j];
            float d = dh[r + j];
            float dz = d * (hp[r + j] - hh) * z * (1.0f - z); /* h = z hp + (1-z) hh */
            float dn = d * (1.0f - z) * (1.0f - hh * hh);      /* through tanh */
            float dr = dn * ghh * rr * (1.0f - rr);            /* hh_pre = gx_h + r gh_h */
            g[j] = dz, g[U + j] = dr, g[2 * U + j] = dn;
            q[j] = dz, q[U + j] = dr, q[2 * U + j] = dn * rr;
            dh[r + j] = d * z;
        }
    }
}

/* The same for one row and any activation pair (tmp: 3U). */
static void cell_bwd_general(const st_layer *L, float *g, float *q, const float *hp, float *dh,
                             float *tmp, int U) {
    st_act ra = L->opt.rnn.recurrent_activation, act = L->opt.rnn.activation;
    const float *z = g, *rr = g + U, *hh = g + 2 * U;
    float *dz = tmp, *dr = tmp + U, *dn = tmp + 2 * U;
    for (int j = 0; j < U; j++) {
        dz[j] = dh[j] * (hp[j] - hh[j]);
        dn[j] = dh[j] * (1.0f - z[j]);
    }
    /* Through each activation, from its output. */
    st_act_backward(ra, z, dz, dz, 1, (size_t)U);
    st_act_backward(act, hh, dn, dn, 1, (size_t)U);
    for (int j = 0; j < U; j++) dr[j] = dn[j] * q[2 * U + j];
    st_act_backward(ra, rr, dr, dr, 1, (size_t)U);
    for (int j = 0; j < U; j++) {
        dh[j] *= z[j];
        q[2 * U + j] = dn[j] * rr[j]; /* before g's r slice is overwritten */
    }
    memcpy(g, tmp, 3 * (size_t)U * sizeof(float));
    memcpy(q, tmp, 2 * (size_t)U * sizeof(float));
}

static void gru_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    const int U = L->opt.rnn.units, G3 = 3 * U;
    const size_t BU = (size_t)B * U;
    const float *Uw = L->param[1].w; /* (U, 3U) */
    const uint8_t *mask = in->mask;  /* (T, B) or NULL */
    const int fast = L->opt.rnn.activation == ST_ACT_TANH && L->opt.rnn.recurrent_activation == ST_ACT_SIGMOID;
    gru_ws w = gru_views(L, B, T);
    float *dG = w.G, *dR = w.R; /* (T, B, 3U) each, overwritten step by step */
    const float *x = st_rnn_drop_backward(&w.d, in->x); /* (T, B, I) */

    st_rnn_dh_init(L, w.dh, BU);

    for (int t = T - 1; t >= 0; t--) {
        st_poll(); /* communication started earlier advances (core/poll.h) */
        float *dGt = dG + (size_t)t * B * G3, *dRt = dR + (size_t)t * B * G3;
        const float *hp = w.Sh + (size_t)t * BU;
        const uint8_t *mt = mask ? mask + (size_t)t * B : NULL;
        st_rnn_dh_add_step(L, w.dh, t, BU);
        if (fast) {
            step_bwd_default(dGt, dRt, hp, w.dh, mt, B, U);
        } else {
            for (int b = 0; b < B; b++) {
                const size_t r = (size_t)b * U;
                if (mt && !mt[b]) {
                    memset(dGt + 3 * r, 0, (size_t)G3 * sizeof(float));
                    memset(dRt + 3 * r, 0, (size_t)G3 * sizeof(float));
                    continue;
                }
                cell_bwd_general(L, dGt + 3 * r, dRt + 3 * r, hp + r, w.dh + r, w.tmp, U);
            }
        }
        /* dh_{t-1} += dR_t · U^T   (B,U); masked rows got dR = 0 and keep dh; h_0 needs none.
         * Recurrent dropout masks only this part (the direct z ⊙ dh part is not masked: the
         * update mixed the unmasked state). */
        if (t > 0) st_rnn_dh_prev(in->blocks, &w.d, dRt, Uw, B, U, G3, 1.0f, w.dh);
    }

    /* Per block (layer.h, st_blocks); b_rec's slot k is b_in's slot k + 3U. */
    if (L->trainable && L->opt.rnn.use_bias) {
        st_grad_colsum(in->blocks, T, B, G3, dG, G3, L->param[2].g);      /* d b_in */
        st_grad_colsum(in->blocks, T, B, G3, dR, G3, L->param[2].g + G3); /* d b_rec */
    }
    /* dW from dG, dU from dR (the recurrent side's own gradient), dx from dG */
    st_rnn_backward_tail(L, in->blocks, &w.d, x, dG, dR, w.Sh, dx, B, T, G3);
}

const st_layer_ops st_gru_ops =
    ST_LAYER_OPS("gru", "GRU", gru, st_gru_keys, st_rnn_defaults);
