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
 * rows, because G and S keep all steps contiguous.
 *
 * Masking (in->mask (T, B), 1 = real step): at a masked step a row keeps its state,
 * h_t = h_{t-1}, and outputs it, so the final state is the last real step's for 'pre' and
 * 'post' padding alike. In backward its gate gradient is 0 and dh passes straight to t-1.
 *
 * What this layer does not do: dropout, recurrent dropout, stateful or go_backwards.
 */
#include <string.h>

#include "layer_impl.h"
#include "seqtrain/error.h"
#include "seqtrain/layer.h"

static int srnn_set(st_layer *L, const char *key, const char *val) {
    return st_rnn_set(L, key, val);
}

static int srnn_build(st_layer *L, st_shape in) {
    if (st_rnn_check(L, in) != ST_OK) return ST_ERR;
    const size_t I = (size_t)in.feat, H = (size_t)L->units;
    L->nparam = 0;
    st_param *P = &L->param[L->nparam++];
    strcpy(P->name, "kernel");
    P->dims = st_dims2(I, H);
    P->init = L->kernel_init;
    P = &L->param[L->nparam++];
    strcpy(P->name, "recurrent_kernel");
    P->dims = st_dims2(H, H);
    P->init = L->recurrent_init;
    if (L->use_bias) {
        P = &L->param[L->nparam++];
        strcpy(P->name, "bias");
        P->dims = st_dims1(H);
        P->init = L->bias_init;
    }
    return ST_OK;
}

static size_t srnn_workspace(const st_layer *L, int maxB, int maxT) {
    const size_t BH = (size_t)maxB * L->units, T = (size_t)maxT;
    return T * BH + (T + 1) * BH + BH; /* G, S, dh */
}

static void srnn_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    (void)train;
    const int I = L->ishape.feat, H = L->units, TB = T * B;
    const size_t BH = (size_t)B * H;
    const float *x = in->x;         /* (T, B, I) */
    const float *W = L->param[0].w; /* (I, H) */
    const float *U = L->param[1].w; /* (H, H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    float *G = L->ws;               /* (T, B, H) */
    float *S = G + (size_t)T * BH;  /* (T+1, B, H) */

    /* G = X · W   (T*B,H): the input projection of every step at once */
    st_sgemm(0, 0, TB, H, I, 1.0f, x, I, W, H, 0.0f, G, H);
    if (L->use_bias) st_rows_add(G, (size_t)TB, (size_t)H, L->param[2].w);
    memset(S, 0, BH * sizeof(float)); /* h_0 = 0 */

    for (int t = 0; t < T; t++) {
        float *Gt = G + (size_t)t * BH;
        const float *hp = S + (size_t)t * BH; /* h_{t-1} (B, H) */
        float *ht = S + (size_t)(t + 1) * BH; /* h_t     (B, H) */
        /* G_t += h_{t-1} · U   (B,H); skipped at t = 0 where h_0 = 0 */
        if (t > 0) st_sgemm(0, 0, B, H, H, 1.0f, hp, H, U, H, 1.0f, Gt, H);
        st_act_forward(L->activation, Gt, ht, (size_t)B, (size_t)H);
        if (mask) {
            /* A masked row carries its state over unchanged. */
            for (int b = 0; b < B; b++)
                if (!mask[(size_t)t * B + b])
                    memcpy(ht + (size_t)b * H, hp + (size_t)b * H, (size_t)H * sizeof(float));
        }
    }
    if (L->return_sequences)
        memcpy(L->out, S + BH, (size_t)T * BH * sizeof(float)); /* out = h_1..h_T (T,B,H) */
    else
        memcpy(L->out, S + (size_t)T * BH, BH * sizeof(float)); /* out = h_T (B,H) */
}

static void srnn_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    const int I = L->ishape.feat, H = L->units, TB = T * B;
    const size_t BH = (size_t)B * H;
    const float *x = in->x;         /* (T, B, I) */
    const float *W = L->param[0].w; /* (I, H) */
    const float *U = L->param[1].w; /* (H, H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    float *dG = L->ws;              /* (T, B, H): overwrites G, no longer needed */
    const float *S = dG + (size_t)T * BH;
    float *dh = dG + (size_t)T * BH + (size_t)(T + 1) * BH; /* (B, H) */
    const float *dout = L->dout; /* (T, B, H) or (B, H) */

    /* The gradient entering the last state: from dout, or only through the sequence output. */
    if (L->return_sequences)
        memset(dh, 0, BH * sizeof(float));
    else
        memcpy(dh, dout, BH * sizeof(float));

    for (int t = T - 1; t >= 0; t--) {
        float *dGt = dG + (size_t)t * BH;
        const float *ht = S + (size_t)(t + 1) * BH;
        if (L->return_sequences) {
            const float *dot = dout + (size_t)t * BH;
            for (size_t k = 0; k < BH; k++) dh[k] += dot[k];
        }
        /* dG_t = dh ⊙ act'(h_t), from the output h_t */
        st_act_backward(L->activation, ht, dh, dGt, (size_t)B, (size_t)H);
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
        /* dh_{t-1} = dG_t · U^T (+ carried rows)   (B,H); h_0 needs no gradient */
        if (t > 0) st_sgemm(0, 1, B, H, H, 1.0f, dGt, H, U, H, beta, dh, H);
    }

    if (L->trainable) {
        /* dW += X^T · dG   (I,H) */
        st_sgemm(1, 0, I, H, TB, 1.0f, x, I, dG, H, 1.0f, L->param[0].g, H);
        /* dU += H_prev^T · dG   (H,H); H_prev = h_1..h_{T-1} against dG_2..dG_T (h_0 = 0) */
        if (T > 1)
            st_sgemm(1, 0, H, H, (T - 1) * B, 1.0f, S + BH, H, dG + BH, H, 1.0f, L->param[1].g,
                     H);
        if (L->use_bias) st_colsum_add(dG, (size_t)TB, (size_t)H, L->param[2].g);
    }
    /* dx += dG · W^T   (T*B,I) */
    if (dx) st_sgemm(0, 1, TB, I, H, 1.0f, dG, H, W, H, 1.0f, dx, I);
}

const st_layer_ops st_simple_rnn_ops = {
    .type = "simple_rnn",
    .set = srnn_set,
    .build = srnn_build,
    .workspace = srnn_workspace,
    .post_init = NULL,
    .forward = srnn_forward,
    .backward = srnn_backward,
};
