/*
 * rnn.c - the frame around every recurrent cell (simple_rnn.c, lstm.c, gru.c): shared keys and
 * shape checks, dropout masks, the input projection, the output copy, and backward's
 * dh bookkeeping and weight/input-gradient tail. rnn.h says what each piece computes.
 *
 * Layout: sequences are time-major (T, B, F); states S (T+1, B, H) with slot 0 = h_0 = 0;
 * gate buffers (T, B, NG). The dropout part of a workspace sits wherever the cell puts it
 * (st_rnn_drop_views takes its start).
 *
 * Kernels: nothing here allocates; every GEMM is the one the cells used to inline, in the
 * same order, so the refactoring changed no bit of any result. Every GEMM goes through
 * layers/grad.c, per block of rows (layer.h, st_blocks): the weight gradients by
 * st_grad_gemm_tn, the row-wise products (projection, dh_{t-1}, dx) by st_rows_gemm; without
 * blocks those are the same single GEMMs as before.
 *
 * What it does not do: any gate math, biases, or masking of padded steps (the cells own them).
 */
#include <stdio.h>
#include <string.h>

#include "rnn.h"
#include "seqtrain/rng.h"

/* ---- keys and shapes ---------------------------------------------------------------------- */

const st_rnn_opts st_rnn_defaults = {
    .activation = ST_ACT_TANH,
    .recurrent_activation = ST_ACT_SIGMOID,
    .use_bias = 1,
    .unit_forget_bias = 1,
    .kernel_init = ST_INIT_GLOROT_UNIFORM,
    .recurrent_init = ST_INIT_ORTHOGONAL,
    .bias_init = ST_INIT_ZEROS,
    .reset_after = 1,
};

int st_key_rate(const char *key, const char *val, void *field) {
    return st_parse_rate(key, val, field);
}

/* The messages name the layer type and hint at the usual fix, since "wrong shape" is the most
 * common mistake when stacking recurrent layers. */
int st_rnn_check(st_layer *L, st_shape in) {
    if (in.tokens) {
        st_error_set("%s needs a sequence of vectors, not token ids; put an embedding first",
                     L->ops->type);
        return ST_ERR;
    }
    if (in.seq <= 0 || in.feat <= 0) {
        st_error_set("%s needs a sequence input (T, B, F), but the layer before it outputs "
                     "vectors of %d features (set return_sequences = true there?)",
                     L->ops->type, in.feat);
        return ST_ERR;
    }
    if (L->opt.rnn.units <= 0) {
        st_error_set("%s needs units", L->ops->type);
        return ST_ERR;
    }
    L->ishape = in;
    L->oshape = (st_shape){.seq = L->opt.rnn.return_sequences ? in.seq : 0, .feat = L->opt.rnn.units,
                           .tokens = 0, .vocab = in.vocab};
    return ST_OK;
}

/* ---- dropout ------------------------------------------------------------------------------ */

/* Named by layer, so a bidirectional's two directions ("<name>/forward", ".../backward") and
 * any two layers draw different masks. */
uint64_t st_rnn_dropout_stream(const st_layer *L, int which) {
    char sname[ST_NAME_MAX + 32];
    snprintf(sname, sizeof sname, "%s/%s", L->name, which ? "recurrent_dropout" : "dropout");
    return st_rng_stream_of(sname);
}

size_t st_rnn_drop_ws(const st_layer *L, int B, int T) {
    const size_t I = (size_t)L->ishape.feat, H = (size_t)L->opt.rnn.units;
    size_t n = 0;
    if (L->opt.rnn.dropout > 0) n += (size_t)B * I * (1 + (size_t)T);
    if (L->opt.rnn.recurrent_dropout > 0) n += (size_t)B * H * (2 + (size_t)T);
    return n ? n + 1 : 0;
}

st_rnn_drop st_rnn_drop_views(const st_layer *L, float *p, int B, int T) {
    const size_t BH = (size_t)B * L->opt.rnn.units, BI = (size_t)B * L->ishape.feat;
    st_rnn_drop d = {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0};
    if (L->opt.rnn.dropout > 0 || L->opt.rnn.recurrent_dropout > 0) d.flag = p++;
    if (L->opt.rnn.dropout > 0) d.mx = p, d.Xd = p + BI, p += BI + (size_t)T * BI;
    if (L->opt.rnn.recurrent_dropout > 0) d.mh = p, d.Hd = p + BH, d.sc = p + BH + (size_t)T * BH;
    return d;
}

const float *st_rnn_drop_forward(const st_layer *L, st_rnn_drop *d, const st_layer_in *in,
                                 int B, int T, int train) {
    const int I = L->ishape.feat, H = L->opt.rnn.units;
    const float *x = in->x;
    d->dp = train && d->mx;
    d->rdp = train && d->mh;
    if (d->flag) *d->flag = (float)(d->dp | d->rdp << 1);
    if (d->dp) {
        /* x~ = x ⊙ m_x, the same m_x (B, I) at every step */
        st_dropout_mask(d->mx, B, (size_t)I, L->opt.rnn.dropout, in, st_rnn_dropout_stream(L, 0));
        st_rows_mul_mask(d->Xd, x, d->mx, T, B, I);
        x = d->Xd;
    }
    if (d->rdp)
        st_dropout_mask(d->mh, B, (size_t)H, L->opt.rnn.recurrent_dropout, in,
                        st_rnn_dropout_stream(L, 1));
    return x;
}

const float *st_rnn_drop_backward(st_rnn_drop *d, const float *x) {
    const int drop = d->flag ? (int)*d->flag : 0;
    d->dp = drop & 1;
    d->rdp = drop & 2;
    return d->dp ? d->Xd : x; /* the weights saw x~ */
}

const float *st_rnn_state_in(const st_rnn_drop *d, const float *hp, int t, size_t BH) {
    if (!d->rdp) return hp;
    float *hd = d->Hd + (size_t)t * BH;
    for (size_t k = 0; k < BH; k++) hd[k] = hp[k] * d->mh[k];
    return hd;
}

/* ---- forward frame ------------------------------------------------------------------------ */

void st_rnn_project(const st_blocks *bk, const float *x, const float *W, const float *b,
                    float *G, int T, int B, int I, int NG) {
    /* G = X · W   (T*B, NG), per block of rows */
    st_rows_gemm(bk, T, B, 0, NG, I, 1.0f, x, I, W, NG, 0.0f, G, NG);
    if (b) st_rows_add(G, (size_t)T * B, (size_t)NG, b);
}

void st_rnn_output(st_layer *L, const float *S, int T, size_t BH) {
    if (L->opt.rnn.return_sequences)
        memcpy(L->out, S + BH, (size_t)T * BH * sizeof(float)); /* out = h_1..h_T (T,B,H) */
    else
        memcpy(L->out, S + (size_t)T * BH, BH * sizeof(float)); /* out = h_T (B,H) */
}

/* ---- backward frame ----------------------------------------------------------------------- */

void st_rnn_dh_init(const st_layer *L, float *dh, size_t BH) {
    if (L->opt.rnn.return_sequences)
        memset(dh, 0, BH * sizeof(float));
    else
        memcpy(dh, L->dout, BH * sizeof(float));
}

void st_rnn_dh_add_step(const st_layer *L, float *dh, int t, size_t BH) {
    if (!L->opt.rnn.return_sequences) return;
    const float *dot = L->dout + (size_t)t * BH;
    for (size_t k = 0; k < BH; k++) dh[k] += dot[k];
}

void st_rnn_dh_prev(const st_blocks *bk, const st_rnn_drop *d, const float *dRt, const float *U,
                    int B, int H, int NG, float beta, float *dh) {
    if (!d->rdp) {
        /* dh_{t-1} = beta dh + dR_t · U^T   (B,H), per block of rows */
        st_rows_gemm(bk, 1, B, 1, H, NG, 1.0f, dRt, NG, U, NG, beta, dh, H);
        return;
    }
    /* The GEMM's result goes through m_h before it is added. */
    const size_t BH = (size_t)B * H;
    st_rows_gemm(bk, 1, B, 1, H, NG, 1.0f, dRt, NG, U, NG, 0.0f, d->sc, H);
    if (beta == 0.0f) memset(dh, 0, BH * sizeof(float));
    for (size_t k = 0; k < BH; k++) dh[k] += d->sc[k] * d->mh[k];
}

void st_rnn_backward_tail(st_layer *L, const st_blocks *bk, const st_rnn_drop *d,
                          const float *x, const float *dG, const float *dR, const float *S,
                          float *dx, int B, int T, int NG) {
    const int I = L->ishape.feat, H = L->opt.rnn.units;
    const size_t BH = (size_t)B * H;
    const float *W = L->param[0].w; /* (I, NG) */
    if (L->trainable) {
        /* dW += X^T · dG   (I,NG), per block over its T x rows */
        st_grad_gemm_tn(bk, T, B, I, NG, x, I, dG, NG, L->param[0].g);
        /* dU += H_prev^T · dR   (H,NG); H_prev = h_1..h_{T-1} against dR_2..dR_T (h_0 = 0):
         * T - 1 steps of B rows each, from step 1 of S (or Hd) and of dR */
        if (T > 1)
            st_grad_gemm_tn(bk, T - 1, B, H, NG, d->rdp ? d->Hd + BH : S + BH, H,
                            dR + (size_t)B * NG, NG, L->param[1].g);
    }
    /* dx += dG · W^T   (T*B,I), per block of rows; with input dropout through Xd:
     * dx += (dG · W^T) ⊙ m_x */
    if (dx && !d->dp) st_rows_gemm(bk, T, B, 1, I, NG, 1.0f, dG, NG, W, NG, 1.0f, dx, I);
    if (dx && d->dp) {
        st_rows_gemm(bk, T, B, 1, I, NG, 1.0f, dG, NG, W, NG, 0.0f, d->Xd, I);
        st_rows_mul_mask_add(dx, d->Xd, d->mx, T, B, I);
    }
}
