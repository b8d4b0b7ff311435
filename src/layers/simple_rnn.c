/*
 * simple_rnn.c - Keras SimpleRNN: h_t = act(x_t W + h_{t-1} U + b), h_0 = 0.
 *
 * Parameters: kernel W (I, H), recurrent_kernel U (H, H), bias b (H).
 *
 * Workspace, packed for the CALL's B and T (a call may use fewer rows/steps than the maximum
 * the workspace was sized for; backward reads the layout of the last forward):
 *   G  (T, B, H)    forward: x W + b, then + h_{t-1} U per step; backward: dG = dL/d(pre-act)
 *   S  (T+1, B, H)  hidden states, slot 0 = h_0 = 0, slot t = h_t
 *   dh (B, H)       running gradient w.r.t. the current state in backward-through-time
 *
 * The input projection of all steps is ONE GEMM, the recurrence one GEMM per step; in backward
 * only dh_{t-1} = dG_t U^T is sequential, and every weight gradient is one GEMM over all T*B
 * rows, because G and S keep all steps contiguous. With blocks (layer.h, st_blocks) each of
 * these GEMMs, the per-step ones too, is one per block of rows (rnn.h).
 *
 * Masking (in->mask (T, B), 1 = real step): at a masked step a row keeps its state,
 * h_t = h_{t-1}, and outputs it, so the final state is the last real step's for 'pre' and
 * 'post' padding alike. In backward its gate gradient is 0 and dh passes straight to t-1.
 *
 * Dropout (training only; Keras semantics: one mask per sequence, the same at every step,
 * inverted scaling; masks from st_dropout_mask, keyed by seed, epoch and global sample id):
 * `dropout` runs the input projection on x~ = x ⊙ m_x (a masked copy Xd (T, B, I)),
 * `recurrent_dropout` feeds (h_{t-1} ⊙ m_h) to the recurrence (kept per step in Hd (T, B, H):
 * dU uses it, and dh_{t-1} gets the step's GEMM result ⊙ m_h). These buffers follow dh in the
 * workspace (after a flag saying which masks the last forward applied) and exist only when
 * their rate is > 0: with both rates 0 the layer does exactly what it did without them.
 *
 * What this layer does not do: stateful or go_backwards.
 */
#include <string.h>

#include "core/poll.h"
#include "rnn.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

const st_key st_simple_rnn_keys[] = {
    ST_RNN_KEY_ROWS(st_layer_opts, rnn),
    ST_KEY_END,
};

static int srnn_build(st_layer *L, st_shape in) {
    if (st_rnn_check(L, in) != ST_OK) return ST_ERR;
    const size_t I = (size_t)in.feat, H = (size_t)L->opt.rnn.units;
    L->nparam = 0;
    st_param_add(L, "kernel", st_dims2(I, H), L->opt.rnn.kernel_init);
    st_param_add(L, "recurrent_kernel", st_dims2(H, H), L->opt.rnn.recurrent_init);
    if (L->opt.rnn.use_bias) {
        st_param_add(L, "bias", st_dims1(H), L->opt.rnn.bias_init);
    }
    return ST_OK;
}

/* The dropout buffers (rnn.h) follow G, S and dh. */
static st_rnn_drop srnn_drop_views(const st_layer *L, int B, int T) {
    const size_t BH = (size_t)B * L->opt.rnn.units;
    return st_rnn_drop_views(L, L->ws + (size_t)T * BH + (size_t)(T + 1) * BH + BH, B, T);
}

static size_t srnn_workspace(const st_layer *L, int maxB, int maxT) {
    const size_t BH = (size_t)maxB * L->opt.rnn.units, T = (size_t)maxT;
    return T * BH + (T + 1) * BH + BH + st_rnn_drop_ws(L, maxB, maxT); /* G, S, dh, dropout */
}

static void srnn_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    const int I = L->ishape.feat, H = L->opt.rnn.units;
    const size_t BH = (size_t)B * H;
    const float *U = L->param[1].w; /* (H, H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    float *G = L->ws;               /* (T, B, H) */
    float *S = G + (size_t)T * BH;  /* (T+1, B, H) */
    st_rnn_drop d = srnn_drop_views(L, B, T);
    const float *x = st_rnn_drop_forward(L, &d, in, B, T, train); /* (T, B, I) */

    /* G = X · W + b   (T*B,H) */
    st_rnn_project(in->blocks, x, L->param[0].w, L->opt.rnn.use_bias ? L->param[2].w : NULL, G,
                   T, B, I, H);
    memset(S, 0, BH * sizeof(float)); /* h_0 = 0 */

    for (int t = 0; t < T; t++) {
        float *Gt = G + (size_t)t * BH;
        const float *hp = S + (size_t)t * BH; /* h_{t-1} (B, H) */
        float *ht = S + (size_t)(t + 1) * BH; /* h_t     (B, H) */
        /* G_t += h_{t-1} · U   (B,H); skipped at t = 0 where h_0 = 0 (recurrent dropout:
         * h_{t-1} ⊙ m_h). */
        if (t > 0)
            st_rows_gemm(in->blocks, 1, B, 0, H, H, 1.0f, st_rnn_state_in(&d, hp, t, BH), H, U,
                         H, 1.0f, Gt, H);
        st_act_forward(L->opt.rnn.activation, Gt, ht, (size_t)B, (size_t)H);
        if (mask) {
            /* A masked row carries its state over unchanged. */
            for (int b = 0; b < B; b++)
                if (!mask[(size_t)t * B + b])
                    memcpy(ht + (size_t)b * H, hp + (size_t)b * H, (size_t)H * sizeof(float));
        }
    }
    st_rnn_output(L, S, T, BH);
}

static void srnn_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    const int H = L->opt.rnn.units;
    const size_t BH = (size_t)B * H;
    const float *U = L->param[1].w; /* (H, H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    float *dG = L->ws;              /* (T, B, H): overwrites G, no longer needed */
    const float *S = dG + (size_t)T * BH;
    float *dh = dG + (size_t)T * BH + (size_t)(T + 1) * BH; /* (B, H) */
    st_rnn_drop d = srnn_drop_views(L, B, T);
    const float *x = st_rnn_drop_backward(&d, in->x); /* (T, B, I) */

    st_rnn_dh_init(L, dh, BH);

    for (int t = T - 1; t >= 0; t--) {
        st_poll(); /* communication started earlier advances (core/poll.h) */
        float *dGt = dG + (size_t)t * BH;
        const float *ht = S + (size_t)(t + 1) * BH;
        st_rnn_dh_add_step(L, dh, t, BH);
        /* dG_t = dh ⊙ act'(h_t), from the output h_t */
        st_act_backward(L->opt.rnn.activation, ht, dh, dGt, (size_t)B, (size_t)H);
        float beta = 0.0f;
        if (mask) {
            /* Masked rows: no gate gradient, dh passes unchanged to t-1 (kept in dh, added to by
             * the GEMM below with beta = 1). Real rows: dh_{t-1} comes only from the GEMM. */
            for (int b = 0; b < B; b++) {
                float *row = mask[(size_t)t * B + b] ? dh : dGt;
                memset(row + (size_t)b * H, 0, (size_t)H * sizeof(float));
            }
            beta = 1.0f;
        }
        /* dh_{t-1} = dG_t · U^T (+ carried rows)   (B,H); h_0 needs no gradient. */
        if (t > 0) st_rnn_dh_prev(in->blocks, &d, dGt, U, B, H, H, beta, dh);
    }

    /* db += Σ_rows dG   (H), per block */
    if (L->trainable && L->opt.rnn.use_bias)
        st_grad_colsum(in->blocks, T, B, H, dG, H, L->param[2].g);
    st_rnn_backward_tail(L, in->blocks, &d, x, dG, dG, S, dx, B, T, H); /* dW, dU, dx */
}

const st_layer_ops st_simple_rnn_ops =
    ST_LAYER_OPS("simple_rnn", "SimpleRNN", srnn, st_simple_rnn_keys, st_rnn_defaults);
