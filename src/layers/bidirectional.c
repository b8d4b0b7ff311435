/*
 * bidirectional.c - Keras Bidirectional around simple_rnn, lstm or gru.
 *
 * A [bidirectional] section names the wrapped type (`layer = lstm`), the wrapped layer's own
 * keys (units, return_sequences, activation, recurrent_activation, ...; they apply to both
 * directions, as in Keras where the backward layer is a copy of the forward one's config) and
 * `merge_mode` = concat (default) | sum | mul | ave.
 *
 * The two directions are ordinary layers of the wrapped type. They are not stored: each call
 * makes a stack copy of this layer's struct (same options), points its ops at the wrapped
 * table, and gives it half of this layer's parameters and a slice of this workspace (see
 * inner()). So there is no allocation, nothing to free, and the wrapped layer's code runs
 * unchanged. Parameters are the forward direction's tensors, then the backward direction's,
 * named "forward/kernel", ..., "backward/bias": the checkpoint holds
 * /model_weights/<name>/forward/kernel etc. (nested groups, like Keras' forward_<layer> and
 * backward_<layer> sublayers).
 *
 * The backward direction (Keras go_backwards) runs on the time-reversed sequence with the
 * time-reversed mask. Masked steps carry the state, so with 'post' padding it effectively
 * starts at each row's last real step. Its outputs come back in reversed order. With
 * return_sequences they are flipped back to the original time order before merging.
 *
 * Dropout and recurrent_dropout (keys of the wrapped type) apply inside each direction, with
 * the wrapped layer's semantics: training only, one mask per sequence, keyed by seed, epoch and
 * global sample id. The two directions draw independent masks, from streams named after
 * "<name>/forward" and "<name>/backward" (see inner()). A per-row mask is the same at every
 * step, so the time reversal of the backward direction's input does not change which mask a
 * row gets. At inference both directions are the plain layer.
 *
 * Merge (f forward, g backward output, each U): concat [f; g] (2U), sum f + g, mul f ⊙ g,
 * ave (f + g) / 2 (U).
 *
 * Masking with return_sequences: Keras' Bidirectional sets zero_output_for_mask =
 * return_sequences on both inner layers (keras/src/layers/rnn/bidirectional.py,
 * force_zero_output_for_mask), so at a masked step both directions output 0 and so does the
 * merge, for every merge mode. This layer does the same: masked steps of the merged output are
 * 0 and get no gradient. The state still carries over masked steps inside each direction. The
 * mask goes on to the next layer (the model passes it on while the output is a sequence).
 * Without return_sequences the outputs are the two final states (forward: the last real step;
 * backward: the state after the first real step).
 *
 * Workspace, packed for the call's B and T (the sizes only grow with B and T, so the packing
 * fits in what workspace() returned for the maxima):
 *   wsF, wsB   each direction's own workspace (the wrapped type's size)
 *   oF, oB     each direction's output: (T, B, U) with return_sequences, else (B, U);
 *              oB in the backward direction's own (reversed) time order
 *   dF, dB     the same shapes: each direction's dout
 *   xr         (T, B, I) the input, time-reversed
 *   dxr        (T, B, I) the backward direction's input gradient, in reversed time
 *   mr         (T, B) bytes: the mask, time-reversed (only when there is a mask)
 *
 * What this layer does not do: merge_mode None (two outputs), a differently configured
 * backward_layer, return_state, or wrap anything other than the three recurrent types.
 */
#include <stdio.h>
#include <string.h>

#include "rnn.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

/* The types that can be wrapped; anything else is refused with this list. */
static const st_layer_ops *wrappable(const char *type) {
    const st_layer_ops *o = st_layer_find(type);
    if (o == &st_simple_rnn_ops || o == &st_lstm_ops || o == &st_gru_ops) return o;
    return NULL;
}

static int key_layer(const char *key, const char *val, void *field) {
    const st_layer_ops *o = wrappable(val);
    if (!o) {
        st_error_set("%s = %s: bidirectional wraps simple_rnn, lstm or gru", key, val);
        return ST_ERR;
    }
    *(const st_layer_ops **)field = o;
    return ST_OK;
}

/* Indexed by st_merge. */
static const char *const merge_names[] = {"concat", "sum", "mul", "ave", NULL};
/* Its own keys; the wrapped type's come from that type's table (bidi_set). */
static const st_key bidi_keys[] = {
    ST_KEY_FUNC_ROW("layer", st_bidir_opts, wrapped, key_layer),
    ST_KEY_ENUM_ROW("merge_mode", st_bidir_opts, merge_mode, merge_names, "merge_mode"),
    ST_KEY_END,
};

static int bidi_set(st_layer *L, const char *key, const char *val) {
    int rc = st_keys_set(bidi_keys, &L->opt, key, val);
    if (rc != ST_ENOKEY) return rc;
    /* The wrapped type's keys, into opt.bidir.rnn (the union's start: the same offsets). An
     * INI section has no required order, so `layer` may come after them: until it is known,
     * LSTM's keys (a superset of simple_rnn's, and of gru's except reset_after, which only
     * accepts true) stand in, and build() refuses what the wrapped type does not have. */
    const st_key *keys = L->opt.bidir.wrapped == &st_simple_rnn_ops ? st_simple_rnn_keys
                         : L->opt.bidir.wrapped == &st_gru_ops     ? st_gru_keys
                         : L->opt.bidir.wrapped == &st_lstm_ops    ? st_lstm_keys
                         : strcmp(key, "reset_after") == 0        ? st_gru_keys
                                                                  : st_lstm_keys;
    return st_keys_set(keys, &L->opt, key, val);
}

/* Direction d (0 forward, 1 backward) as a layer of the wrapped type: a copy of L's options
 * with its ops, shapes and half of L's parameter views. ws/out/dout are set by the caller. */
static void inner(const st_layer *L, int d, st_layer *I) {
    *I = *L;
    I->ops = L->opt.bidir.wrapped;
    I->oshape.feat = L->opt.rnn.units;
    I->fuse_activation = 0;
    I->mask_out = NULL;
    I->opt.bidir.wrapped = NULL;
    /* "<name>/forward", "<name>/backward" (Keras' forward_<layer> / backward_<layer>):
     * messages, and the dropout streams, which st_rnn_dropout_stream() keys on the name
     * ("<name>/forward/dropout", ...), tell the two directions apart, so they draw independent
     * masks as Keras' two sublayers do. They must never share a name: a name too long for the
     * suffix (names may have up to ST_NAME_MAX - 1 characters) is cut to make room. */
    const char *suf = d ? "/backward" : "/forward";
    size_t nl = strlen(I->name), sl = strlen(suf);
    if (nl + sl >= sizeof I->name) nl = sizeof I->name - 1 - sl;
    memcpy(I->name + nl, suf, sl + 1);
    const int n = L->nparam / 2;
    I->nparam = n;
    for (int p = 0; p < n; p++) {
        I->param[p] = L->param[d * n + p];
        /* The wrapped code finds tensors by position, but keep the plain names anyway. */
        const char *slash = strchr(I->param[p].name, '/');
        if (slash) memmove(I->param[p].name, slash + 1, strlen(slash + 1) + 1);
    }
}

static int bidi_build(st_layer *L, st_shape in) {
    if (!L->opt.bidir.wrapped) {
        st_error_set("bidirectional needs layer = simple_rnn, lstm or gru");
        return ST_ERR;
    }
    /* Keys that arrived before `layer` and that the wrapped type does not have. */
    if (L->opt.bidir.wrapped == &st_simple_rnn_ops && L->opt.rnn.recurrent_activation != ST_ACT_SIGMOID) {
        st_error_set("bidirectional: simple_rnn has no recurrent_activation");
        return ST_ERR;
    }
    if (L->opt.bidir.wrapped != &st_lstm_ops && !L->opt.rnn.unit_forget_bias) {
        st_error_set("bidirectional: %s has no unit_forget_bias", L->opt.bidir.wrapped->type);
        return ST_ERR;
    }
    st_layer I = *L;
    I.ops = L->opt.bidir.wrapped;
    I.opt.bidir.wrapped = NULL;
    if (L->opt.bidir.wrapped->build(&I, in) != ST_OK) return ST_ERR;
    const int n = I.nparam;
    ST_ASSERT(2 * n <= ST_LAYER_MAX_PARAMS, "bidirectional: %d tensors per direction", n);
    L->nparam = 2 * n;
    for (int d = 0; d < 2; d++) {
        for (int p = 0; p < n; p++) {
            st_param *P = &L->param[d * n + p];
            *P = I.param[p];
            int len = snprintf(P->name, sizeof P->name, "%s/%s", d ? "backward" : "forward",
                               I.param[p].name);
            ST_ASSERT(len > 0 && (size_t)len < sizeof P->name, "parameter name too long");
        }
    }
    L->ishape = I.ishape;
    L->oshape = I.oshape;
    L->oshape.feat = L->opt.bidir.merge_mode == ST_MERGE_CONCAT ? 2 * L->opt.rnn.units : L->opt.rnn.units;
    return ST_OK;
}

/* Floats of each piece for a call of B rows and T steps. */
typedef struct bidi_sizes {
    size_t ws, out, x, mask;
} bidi_sizes;

static bidi_sizes sizes(const st_layer *L, int B, int T) {
    st_layer I;
    inner(L, 0, &I);
    bidi_sizes s;
    s.ws = I.ops->workspace(&I, B, T);
    s.out = (size_t)(L->opt.rnn.return_sequences ? T : 1) * B * L->opt.rnn.units;
    s.x = (size_t)T * B * L->ishape.feat;
    s.mask = ((size_t)T * B + sizeof(float) - 1) / sizeof(float);
    return s;
}

static size_t bidi_workspace(const st_layer *L, int maxB, int maxT) {
    bidi_sizes s = sizes(L, maxB, maxT);
    return 2 * s.ws + 4 * s.out + 2 * s.x + s.mask;
}

typedef struct bidi_ws {
    st_layer F, Bk;   /* the two directions, with ws/out/dout pointing into L->ws */
    float *xr, *dxr;  /* (T, B, I) */
    uint8_t *mr;      /* (T, B) */
} bidi_ws;

static void views(st_layer *L, int B, int T, bidi_ws *w) {
    bidi_sizes s = sizes(L, B, T);
    inner(L, 0, &w->F);
    inner(L, 1, &w->Bk);
    float *p = L->ws;
    w->F.ws = p, p += s.ws;
    w->Bk.ws = p, p += s.ws;
    w->F.out = p, p += s.out;
    w->Bk.out = p, p += s.out;
    w->F.dout = p, p += s.out;
    w->Bk.dout = p, p += s.out;
    w->xr = p, p += s.x;
    w->dxr = p, p += s.x;
    w->mr = (uint8_t *)p;
}

/* dst[t] = src[T-1-t] for T slices of n elements. */
static void reverse_time(float *dst, const float *src, int T, size_t n) {
    for (int t = 0; t < T; t++)
        memcpy(dst + (size_t)t * n, src + (size_t)(T - 1 - t) * n, n * sizeof(float));
}

static void post_init(st_layer *L) {
    if (!L->opt.bidir.wrapped->post_init) return;
    for (int d = 0; d < 2; d++) {
        st_layer I;
        inner(L, d, &I);
        I.ops->post_init(&I);
    }
}

/* Merges one (row, step) pair of direction outputs f, g (U each) into o. */
static void merge(st_merge mode, const float *f, const float *g, float *o, int U) {
    switch (mode) {
    case ST_MERGE_CONCAT:
        memcpy(o, f, (size_t)U * sizeof(float));
        memcpy(o + U, g, (size_t)U * sizeof(float));
        break;
    case ST_MERGE_SUM:
        for (int j = 0; j < U; j++) o[j] = f[j] + g[j];
        break;
    case ST_MERGE_MUL:
        for (int j = 0; j < U; j++) o[j] = f[j] * g[j];
        break;
    case ST_MERGE_AVE:
        for (int j = 0; j < U; j++) o[j] = 0.5f * (f[j] + g[j]);
        break;
    }
}

/* The merge's backward: do (the merged gradient) into df, dg (overwritten). */
static void merge_back(st_merge mode, const float *f, const float *g, const float *dO, float *df,
                       float *dg, int U) {
    for (int j = 0; j < U; j++) {
        switch (mode) {
        case ST_MERGE_CONCAT: df[j] = dO[j], dg[j] = dO[U + j]; break;
        case ST_MERGE_SUM: df[j] = dg[j] = dO[j]; break;
        case ST_MERGE_MUL: df[j] = dO[j] * g[j], dg[j] = dO[j] * f[j]; break;
        case ST_MERGE_AVE: df[j] = dg[j] = 0.5f * dO[j]; break;
        }
    }
}

static void bidi_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    const int I = L->ishape.feat, U = L->opt.rnn.units, O = L->oshape.feat;
    const uint8_t *mask = in->mask; /* (T, B) or NULL */
    bidi_ws w;
    views(L, B, T, &w);

    w.F.ops->forward(&w.F, in, B, T, train);

    /* The backward direction reads the reversed sequence and mask (Keras go_backwards). */
    reverse_time(w.xr, in->x, T, (size_t)B * I);
    st_layer_in rin = *in;
    rin.x = w.xr;
    rin.mask = NULL;
    if (mask) {
        for (int t = 0; t < T; t++)
            memcpy(w.mr + (size_t)t * B, mask + (size_t)(T - 1 - t) * B, (size_t)B);
        rin.mask = w.mr;
    }
    w.Bk.ops->forward(&w.Bk, &rin, B, T, train);

    if (!L->opt.rnn.return_sequences) {
        for (int b = 0; b < B; b++)
            merge(L->opt.bidir.merge_mode, w.F.out + (size_t)b * U, w.Bk.out + (size_t)b * U,
                  L->out + (size_t)b * O, U);
        return;
    }
    /* Step t pairs the forward output at t with the backward one at T-1-t (flipped back). */
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *o = L->out + ((size_t)t * B + b) * O;
            if (mask && !mask[(size_t)t * B + b]) {
                memset(o, 0, (size_t)O * sizeof(float)); /* zero_output_for_mask */
                continue;
            }
            merge(L->opt.bidir.merge_mode, w.F.out + ((size_t)t * B + b) * U,
                  w.Bk.out + ((size_t)(T - 1 - t) * B + b) * U, o, U);
        }
}

static void bidi_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    const int I = L->ishape.feat, U = L->opt.rnn.units, O = L->oshape.feat;
    const uint8_t *mask = in->mask;
    bidi_ws w;
    views(L, B, T, &w);

    /* Split the merged gradient into each direction's dout (the backward one in its own,
     * reversed, time order); masked steps output a constant 0, so they send nothing. */
    if (!L->opt.rnn.return_sequences) {
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)b * U;
            merge_back(L->opt.bidir.merge_mode, w.F.out + r, w.Bk.out + r, L->dout + (size_t)b * O,
                       w.F.dout + r, w.Bk.dout + r, U);
        }
    } else {
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
                const size_t rf = ((size_t)t * B + b) * U, rb = ((size_t)(T - 1 - t) * B + b) * U;
                if (mask && !mask[(size_t)t * B + b]) {
                    memset(w.F.dout + rf, 0, (size_t)U * sizeof(float));
                    memset(w.Bk.dout + rb, 0, (size_t)U * sizeof(float));
                    continue;
                }
                merge_back(L->opt.bidir.merge_mode, w.F.out + rf, w.Bk.out + rb,
                           L->dout + ((size_t)t * B + b) * O, w.F.dout + rf, w.Bk.dout + rb, U);
            }
    }

    w.F.ops->backward(&w.F, in, dx, B, T);

    st_layer_in rin = *in;
    rin.x = w.xr;
    rin.mask = mask ? w.mr : NULL;
    const size_t TBI = (size_t)T * B * I, BI = (size_t)B * I;
    if (dx) memset(w.dxr, 0, TBI * sizeof(float));
    w.Bk.ops->backward(&w.Bk, &rin, dx ? w.dxr : NULL, B, T);
    /* dx[t] += dxr[T-1-t] */
    if (dx)
        for (int t = 0; t < T; t++) {
            float *d = dx + (size_t)t * BI;
            const float *s = w.dxr + (size_t)(T - 1 - t) * BI;
            for (size_t k = 0; k < BI; k++) d[k] += s[k];
        }
}

/* The recurrent defaults (rnn.c's st_rnn_defaults, spelled out: a constant initializer cannot
 * copy another object), no wrapped type yet, merge_mode concat. */
static const st_bidir_opts bidi_defaults = {
    .rnn = {.activation = ST_ACT_TANH, .recurrent_activation = ST_ACT_SIGMOID, .use_bias = 1,
            .unit_forget_bias = 1, .kernel_init = ST_INIT_GLOROT_UNIFORM,
            .recurrent_init = ST_INIT_ORTHOGONAL, .bias_init = ST_INIT_ZEROS, .reset_after = 1},
    .wrapped = NULL,
    .merge_mode = ST_MERGE_CONCAT,
};

const st_layer_ops st_bidirectional_ops =
    ST_LAYER_OPS("bidirectional", "Bidirectional", bidi, bidi_keys, bidi_defaults,
                 .set = bidi_set, .post_init = post_init);
