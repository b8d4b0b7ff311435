/*
 * dense.c - Keras Dense: out = act(x W + b).
 *
 * Layout: input vectors (B, F) or sequences (T, B, F); a sequence is treated as T*B rows, which
 * is what Keras Dense does on 3-D input (the same W at every step), and the output keeps the
 * sequence axis (T, B, units). Parameters: kernel (F, units), bias (units).
 *
 * As the model's head (L->fuse_activation), forward leaves the pre-activation (logits) in out
 * and backward takes dout as the gradient w.r.t. those logits: the loss then fuses softmax or
 * sigmoid with the cross-entropy, which is both stable and cheaper.
 *
 * Parameter gradients, and the output and dx products, are formed per block of rows (layer.h,
 * st_blocks; layers/grad.c).
 *
 * What this layer does not do: dropout or regularizers; it needs no workspace, since backward
 * computes the activation's derivative from the output (tensor.h).
 */
#include <string.h>

#include "layer_impl.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

/* Keras Dense's keys and defaults. */
static const st_key dense_keys[] = {
    ST_KEY_INT_ROW("units", st_dense_opts, units, 1, 1 << 24),
    ST_KEY_FUNC_ROW("activation", st_dense_opts, activation, st_key_act),
    ST_KEY_BOOL_ROW("use_bias", st_dense_opts, use_bias),
    ST_KEY_FUNC_ROW("kernel_initializer", st_dense_opts, kernel_init, st_key_init),
    ST_KEY_FUNC_ROW("bias_initializer", st_dense_opts, bias_init, st_key_init),
    ST_KEY_END,
};
static const st_dense_opts dense_defaults = {.activation = ST_ACT_LINEAR, .use_bias = 1,
                                             .kernel_init = ST_INIT_GLOROT_UNIFORM,
                                             .bias_init = ST_INIT_ZEROS};

/* As the head, the activation the loss applies from logits. */
static st_act dense_head_activation(const st_layer *L) { return L->opt.dense.activation; }

static int dense_build(st_layer *L, st_shape in) {
    if (in.tokens) {
        st_error_set("dense cannot take token ids; put an embedding first");
        return ST_ERR;
    }
    if (in.feat <= 0) {
        st_error_set("dense needs an input with features (got %d)", in.feat);
        return ST_ERR;
    }
    if (L->opt.dense.units <= 0) {
        st_error_set("dense needs units");
        return ST_ERR;
    }
    L->ishape = in;
    L->oshape = (st_shape){.seq = in.seq, .feat = L->opt.dense.units, .tokens = 0, .vocab = in.vocab};
    L->nparam = 0;
    st_param_add(L, "kernel", st_dims2((size_t)in.feat, (size_t)L->opt.dense.units), L->opt.dense.kernel_init);
    if (L->opt.dense.use_bias) {
        st_param_add(L, "bias", st_dims1((size_t)L->opt.dense.units), L->opt.dense.bias_init);
    }
    return ST_OK;
}

static size_t dense_workspace(const st_layer *L, int maxB, int maxT) {
    (void)L, (void)maxB, (void)maxT;
    return 0;
}

/* Rows of this call: B vectors, or T*B sequence steps. */
static int dense_rows(const st_layer *L, int B, int T) { return L->ishape.seq ? T * B : B; }

static void dense_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    (void)train;
    const int N = dense_rows(L, B, T), F = L->ishape.feat, U = L->opt.dense.units;
    const int Ts = L->ishape.seq ? T : 1; /* rows (t, r); a vector's are (0, r) */
    const float *x = in->x;         /* (N, F) */
    const float *W = L->param[0].w; /* (F, U) */
    float *out = L->out;            /* (N, U) */
    /* out = x · W   (N,U), per block of rows (layer.h, st_rows_gemm) */
    st_rows_gemm(in->blocks, Ts, B, 0, U, F, 1.0f, x, F, W, U, 0.0f, out, U);
    if (L->opt.dense.use_bias) st_rows_add(out, (size_t)N, (size_t)U, L->param[1].w);
    if (!L->fuse_activation) st_act_forward(L->opt.dense.activation, out, out, (size_t)N, (size_t)U);
}

static void dense_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    const int N = dense_rows(L, B, T), F = L->ishape.feat, U = L->opt.dense.units;
    const int Ts = L->ishape.seq ? T : 1; /* rows (t, r); a vector's are (0, r) */
    const float *x = in->x;         /* (N, F) */
    const float *W = L->param[0].w; /* (F, U) */
    float *dZ = L->dout;            /* (N, U): dout, turned in place into d(pre-activation) */
    /* Through the activation, from its output (fused: dout already is d logits). */
    if (!L->fuse_activation) st_act_backward(L->opt.dense.activation, L->out, dZ, dZ, (size_t)N, (size_t)U);
    if (L->trainable) {
        /* Per block of rows (layer.h, st_blocks). */
        /* dW += x^T · dZ   (F,U) */
        st_grad_gemm_tn(in->blocks, Ts, B, F, U, x, F, dZ, U, L->param[0].g);
        /* db += Σ_rows dZ   (U) */
        if (L->opt.dense.use_bias) st_grad_colsum(in->blocks, Ts, B, U, dZ, U, L->param[1].g);
    }
    /* dx += dZ · W^T   (N,F), per block of rows */
    if (dx) st_rows_gemm(in->blocks, Ts, B, 1, F, U, 1.0f, dZ, U, W, U, 1.0f, dx, F);
}

const st_layer_ops st_dense_ops =
    ST_LAYER_OPS("dense", "Dense", dense, dense_keys, dense_defaults,
                 .head_activation = dense_head_activation);
