/*
 * lstm.c - Keras LSTM, gate order i, f, c, o:
 *   z   = x_t W + h_{t-1} U + b            (B, 4H), split [z_i | z_f | z_c | z_o]
 *   i   = ra(z_i)  f = ra(z_f)  g = act(z_c)  o = ra(z_o)     (ra: recurrent_activation)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g              h_t = o ⊙ act(c_t)          h_0 = c_0 = 0
 *
 * Parameters: kernel W (I, 4H), recurrent_kernel U (H, 4H), bias b (4H). With unit_forget_bias
 * (the default) post_init sets b[H:2H] = 1 after the bias initializer, as Keras does.
 *
 * Workspace, packed for the CALL's B and T (backward reads the layout of the last forward):
 *   G   (T, B, 4H)   forward: z, then the activated gates [i|f|g|o] in place;
 *                    backward: overwritten with dG = dL/dz once a step's gates are used
 *   Sh  (T+1, B, H)  hidden states, slot 0 = h_0 = 0
 *   Sc  (T+1, B, H)  cell states, slot 0 = c_0 = 0
 *   A   (T, B, H)    act(c_t), kept so backward needs no recomputation
 *   dh, dc (B, H)    running gradients w.r.t. the current h and c in backward-through-time
 *   tmp (4H)         one row of scratch for activations other than the Keras defaults
 *
 * One GEMM projects the inputs of all steps; one GEMM per step adds the recurrence. In backward
 * only dh_{t-1} = dG_t U^T is sequential; dW, dU, db and dx are each one GEMM (or column sum)
 * over all T*B rows, since G, Sh and x keep the steps contiguous. With blocks (layer.h,
 * st_blocks) each of these GEMMs, the per-step ones too, is one per block of rows (rnn.h).
 *
 * The default activations (tanh, sigmoid) take a fused per-element path; any other pair goes
 * through st_act_forward/backward per gate slice (softmax then normalizes each gate's H values).
 *
 * Masking (in->mask (T, B), 1 = real): a masked row keeps h and c (and outputs the carried h);
 * its gate gradients are 0 and dh, dc pass straight through to t-1.
 *
 * Dropout (training only, Keras semantics: ONE mask per sequence, shared by the four gates and
 * by every step, inverted scaling; st_dropout_mask keys it by seed, epoch and the row's global
 * sample id): `dropout` masks the input, x~ = x ⊙ m_x, so the input projection runs on a masked
 * copy Xd (T, B, I); `recurrent_dropout` masks the state fed to the recurrence,
 * z_t = x~_t W + (h_{t-1} ⊙ m_h) U + b, kept per step in Hd (T, B, H) for backward (dU uses
 * the masked states, and dh_{t-1} gets the step's GEMM result ⊙ m_h). The carried state of a
 * masked (padding) step and the output are the unmasked h. With both rates 0 none of this
 * exists: no workspace, no extra pass.
 *
 * What this layer does not do: stateful, go_backwards.
 */
#include <math.h>
#include <string.h>

#include "core/poll.h"
#include "core/vmath.h"
#include "rnn.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

const st_key st_lstm_keys[] = {
    ST_RNN_KEY_ROWS(st_layer_opts, rnn),
    ST_KEY_FUNC_ROW("recurrent_activation", st_layer_opts, rnn.recurrent_activation, st_key_act),
    ST_KEY_BOOL_ROW("unit_forget_bias", st_layer_opts, rnn.unit_forget_bias),
    ST_KEY_END,
};

static int lstm_build(st_layer *L, st_shape in) {
    if (st_rnn_check(L, in) != ST_OK) return ST_ERR;
    const size_t I = (size_t)in.feat, H = (size_t)L->opt.rnn.units;
    L->nparam = 0;
    st_param_add(L, "kernel", st_dims2(I, 4 * H), L->opt.rnn.kernel_init);
    st_param_add(L, "recurrent_kernel", st_dims2(H, 4 * H), L->opt.rnn.recurrent_init);
    if (L->opt.rnn.use_bias) {
        st_param_add(L, "bias", st_dims1(4 * H), L->opt.rnn.bias_init);
    }
    return ST_OK;
}

static void lstm_post_init(st_layer *L) {
    /* Keras unit_forget_bias: forget gate starts open, so early gradients flow through c. */
    if (!L->opt.rnn.use_bias || !L->opt.rnn.unit_forget_bias) return;
    const int H = L->opt.rnn.units;
    float *b = L->param[2].w;
    for (int j = H; j < 2 * H; j++) b[j] = 1.0f;
}

static size_t lstm_workspace(const st_layer *L, int maxB, int maxT) {
    const size_t H = (size_t)L->opt.rnn.units, BH = (size_t)maxB * H, T = (size_t)maxT;
    /* G + Sh + Sc + A + dh + dc + tmp + dropout */
    return 4 * T * BH + 2 * (T + 1) * BH + T * BH + 2 * BH + 4 * H + st_rnn_drop_ws(L, maxB, maxT);
}

/* Views into the workspace for a call with B rows and T steps. */
typedef struct lstm_ws {
    float *G;  /* (T, B, 4H) */
    float *Sh; /* (T+1, B, H) */
    float *Sc; /* (T+1, B, H) */
    float *A;  /* (T, B, H) */
    float *dh, *dc; /* (B, H) */
    float *tmp;     /* (4H) */
    st_rnn_drop d;  /* dropout buffers after tmp (rnn.h) */
} lstm_ws;

static lstm_ws lstm_views(const st_layer *L, int B, int T) {
    const size_t BH = (size_t)B * L->opt.rnn.units, TBH = (size_t)T * BH;
    lstm_ws w;
    w.G = L->ws;
    w.Sh = w.G + 4 * TBH;
    w.Sc = w.Sh + TBH + BH;
    w.A = w.Sc + TBH + BH;
    w.dh = w.A + TBH;
    w.dc = w.dh + BH;
    w.tmp = w.dc + BH;
    w.d = st_rnn_drop_views(L, w.tmp + 4 * (size_t)L->opt.rnn.units, B, T);
    return w;
}

/* One step of all B rows, default activations (tanh, sigmoid), fused into one pass per row:
 * gates in place in G (B,4H), then c_t, a = tanh(c_t), h_t. Masked rows carry both states.
 * The inner loop is straight-line float math (vmath.h), so it vectorizes; the clones give it
 * AVX-512 / AVX2 code where the CPU has them. */
ST_SIMD_CLONES
static void step_fwd_default(float *restrict G, const float *restrict hp,
                             const float *restrict cp, float *restrict c, float *restrict a,
                             float *restrict h, const uint8_t *mask, int B, int H) {
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * H;
        if (mask && !mask[b]) {
            memcpy(h + r, hp + r, (size_t)H * sizeof(float));
            memcpy(c + r, cp + r, (size_t)H * sizeof(float));
            continue;
        }
        float *restrict z = G + 4 * r;
        for (int j = 0; j < H; j++) {
            float i = st_sigmoidf(z[j]), f = st_sigmoidf(z[H + j]);
            float g = st_tanhf(z[2 * H + j]), o = st_sigmoidf(z[3 * H + j]);
            float cj = f * cp[r + j] + i * g, aj = st_tanhf(cj);
            z[j] = i, z[H + j] = f, z[2 * H + j] = g, z[3 * H + j] = o;
            c[r + j] = cj, a[r + j] = aj, h[r + j] = o * aj;
        }
    }
}

/* The same for any activation pair, one gate slice at a time. */
static void cell_fwd_general(const st_layer *L, float *z, const float *cp, float *c, float *a,
                             float *h, int H) {
    st_act ra = L->opt.rnn.recurrent_activation, act = L->opt.rnn.activation;
    st_act_forward(ra, z, z, 1, (size_t)H);                   /* i */
    st_act_forward(ra, z + H, z + H, 1, (size_t)H);           /* f */
    st_act_forward(act, z + 2 * H, z + 2 * H, 1, (size_t)H);  /* g */
    st_act_forward(ra, z + 3 * H, z + 3 * H, 1, (size_t)H);   /* o */
    for (int j = 0; j < H; j++) c[j] = z[H + j] * cp[j] + z[j] * z[2 * H + j];
    st_act_forward(act, c, a, 1, (size_t)H);
    for (int j = 0; j < H; j++) h[j] = z[3 * H + j] * a[j];
}

static void lstm_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    const int I = L->ishape.feat, H = L->opt.rnn.units, G4 = 4 * H;
    const size_t BH = (size_t)B * H;
    const float *U = L->param[1].w; /* (H, 4H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    const int fast = L->opt.rnn.activation == ST_ACT_TANH && L->opt.rnn.recurrent_activation == ST_ACT_SIGMOID;
    lstm_ws w = lstm_views(L, B, T);
    const float *x = st_rnn_drop_forward(L, &w.d, in, B, T, train); /* (T, B, I) */

    /* G = X · W + b   (T*B,4H) */
    st_rnn_project(in->blocks, x, L->param[0].w, L->opt.rnn.use_bias ? L->param[2].w : NULL, w.G, T,
                   B, I, G4);
    memset(w.Sh, 0, BH * sizeof(float)); /* h_0 = 0 */
    memset(w.Sc, 0, BH * sizeof(float)); /* c_0 = 0 */

    for (int t = 0; t < T; t++) {
        float *Gt = w.G + (size_t)t * B * G4;
        const float *hp = w.Sh + (size_t)t * BH, *cp = w.Sc + (size_t)t * BH;
        float *ht = w.Sh + (size_t)(t + 1) * BH, *ct = w.Sc + (size_t)(t + 1) * BH;
        float *At = w.A + (size_t)t * BH;
        /* G_t += h_{t-1} · U   (B,4H); skipped at t = 0 where h_0 = 0 (recurrent dropout:
         * h_{t-1} ⊙ m_h). */
        if (t > 0)
            st_rows_gemm(in->blocks, 1, B, 0, G4, H, 1.0f, st_rnn_state_in(&w.d, hp, t, BH), H,
                         U, G4, 1.0f, Gt, G4);
        if (fast) {
            step_fwd_default(Gt, hp, cp, ct, At, ht, mask ? mask + (size_t)t * B : NULL, B, H);
            continue;
        }
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)b * H;
            if (mask && !mask[(size_t)t * B + b]) {
                /* Masked: carry both states over unchanged. */
                memcpy(ht + r, hp + r, (size_t)H * sizeof(float));
                memcpy(ct + r, cp + r, (size_t)H * sizeof(float));
                continue;
            }
            cell_fwd_general(L, Gt + (size_t)b * G4, cp + r, ct + r, At + r, ht + r, H);
        }
    }
    st_rnn_output(L, w.Sh, T, BH);
}

/* One real row of one step, default activations. In: z = gates [i|f|g|o], a = tanh(c_t),
 * cp = c_{t-1}, dh, dc = gradients w.r.t. h_t, c_t. Out: z = dz (gate gradients before their
 * activations), dc = gradient w.r.t. c_{t-1}, dh = 0 (dh_{t-1} is added by the step's GEMM). */
/* All B rows of one step (same math as above per row); masked rows get zero gate gradients
 * and pass dh, dc through unchanged. Vectorized like step_fwd_default. */
ST_SIMD_CLONES
static void step_bwd_default(float *restrict G, const float *restrict A,
                             const float *restrict cp, float *restrict dh, float *restrict dc,
                             const uint8_t *mask, int B, int H) {
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * H;
        float *restrict z = G + 4 * r;
        if (mask && !mask[b]) {
            memset(z, 0, 4 * (size_t)H * sizeof(float));
            continue;
        }
        for (int j = 0; j < H; j++) {
            float i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j], aj = A[r + j];
            float dhj = dh[r + j];
            float dcj = dc[r + j] + dhj * o * (1.0f - aj * aj); /* h = o tanh(c) */
            z[j] = dcj * g * i * (1.0f - i);                    /* dz_i */
            z[H + j] = dcj * cp[r + j] * f * (1.0f - f);        /* dz_f */
            z[2 * H + j] = dcj * i * (1.0f - g * g);            /* dz_c */
            z[3 * H + j] = dhj * aj * o * (1.0f - o);           /* dz_o */
            dc[r + j] = dcj * f;
            dh[r + j] = 0;
        }
    }
}

/* The same for any activation pair, through st_act_backward per gate slice (tmp: 4H). */
static void cell_bwd_general(const st_layer *L, float *z, const float *a, const float *cp,
                             float *dh, float *dc, float *tmp, int H) {
    st_act ra = L->opt.rnn.recurrent_activation, act = L->opt.rnn.activation;
    const float *i = z, *f = z + H, *g = z + 2 * H, *o = z + 3 * H;
    /* dc += act'(c_t) ⊙ (dh ⊙ o) */
    for (int j = 0; j < H; j++) tmp[j] = dh[j] * o[j];
    st_act_backward(act, a, tmp, tmp, 1, (size_t)H);
    for (int j = 0; j < H; j++) dc[j] += tmp[j];
    /* Gradients w.r.t. the activated gates, then c_{t-1}. */
    for (int j = 0; j < H; j++) {
        tmp[j] = dc[j] * g[j];          /* di */
        tmp[H + j] = dc[j] * cp[j];     /* df */
        tmp[2 * H + j] = dc[j] * i[j];  /* dg */
        tmp[3 * H + j] = dh[j] * a[j];  /* do */
        dc[j] *= f[j];
        dh[j] = 0;
    }
    /* Through each gate's activation, from its output; then overwrite the gates with dz. */
    st_act_backward(ra, i, tmp, tmp, 1, (size_t)H);
    st_act_backward(ra, f, tmp + H, tmp + H, 1, (size_t)H);
    st_act_backward(act, g, tmp + 2 * H, tmp + 2 * H, 1, (size_t)H);
    st_act_backward(ra, o, tmp + 3 * H, tmp + 3 * H, 1, (size_t)H);
    memcpy(z, tmp, 4 * (size_t)H * sizeof(float));
}

static void lstm_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    const int H = L->opt.rnn.units, G4 = 4 * H;
    const size_t BH = (size_t)B * H;
    const float *U = L->param[1].w; /* (H, 4H) */
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    const int fast = L->opt.rnn.activation == ST_ACT_TANH && L->opt.rnn.recurrent_activation == ST_ACT_SIGMOID;
    lstm_ws w = lstm_views(L, B, T);
    float *dG = w.G; /* (T, B, 4H): each step's gates become its dz once used */
    const float *x = st_rnn_drop_backward(&w.d, in->x); /* (T, B, I) */

    st_rnn_dh_init(L, w.dh, BH);
    memset(w.dc, 0, BH * sizeof(float));

    for (int t = T - 1; t >= 0; t--) {
        st_poll(); /* communication started earlier advances (core/poll.h) */
        float *dGt = dG + (size_t)t * B * G4;
        const float *cp = w.Sc + (size_t)t * BH, *At = w.A + (size_t)t * BH;
        st_rnn_dh_add_step(L, w.dh, t, BH);
        if (fast) {
            step_bwd_default(dGt, At, cp, w.dh, w.dc, mask ? mask + (size_t)t * B : NULL, B, H);
        } else {
            for (int b = 0; b < B; b++) {
                const size_t r = (size_t)b * H;
                float *z = dGt + (size_t)b * G4;
                if (mask && !mask[(size_t)t * B + b]) {
                    /* Masked: no gate gradient; dh and dc pass unchanged to t-1. */
                    memset(z, 0, (size_t)G4 * sizeof(float));
                    continue;
                }
                cell_bwd_general(L, z, At + r, cp + r, w.dh + r, w.dc + r, w.tmp, H);
            }
        }
        /* dh_{t-1} += dG_t · U^T   (B,H); real rows start from 0, masked rows carry dh;
         * h_0 needs no gradient. */
        if (t > 0) st_rnn_dh_prev(in->blocks, &w.d, dGt, U, B, H, G4, 1.0f, w.dh);
    }

    /* db += Σ_rows dG   (4H), per block */
    if (L->trainable && L->opt.rnn.use_bias)
        st_grad_colsum(in->blocks, T, B, G4, dG, G4, L->param[2].g);
    st_rnn_backward_tail(L, in->blocks, &w.d, x, dG, dG, w.Sh, dx, B, T, G4); /* dW, dU, dx */
}

const st_layer_ops st_lstm_ops =
    ST_LAYER_OPS("lstm", "LSTM", lstm, st_lstm_keys, st_rnn_defaults,
                 .post_init = lstm_post_init);
