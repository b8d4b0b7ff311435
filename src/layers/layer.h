/*
 * layer.h - the layer interface.
 *
 * A layer is a struct of options plus a const table of functions. The model (model.h) owns all
 * memory: the layer's parameters and gradients are views (st_param.w / .g) into the model's ONE
 * parameter buffer and ONE gradient buffer; its output, output gradient, mask and workspace are
 * slices of one arena sized once for the largest batch and sequence, reused every step.
 *
 * Data flowing between layers:
 *   - tokens: int32 (B, T), batch-major as stored in the dataset (only into an embedding);
 *   - sequences: float (T, B, F), time-major;
 *   - vectors: float (B, F).
 * A mask (T, B) uint8 (1 = real step) comes from an embedding with mask_zero and travels with the
 * sequence until a layer reduces the time axis.
 *
 * Contract of forward/backward (kernels: no allocation, no globals):
 *   forward(L, in, B, T, train) reads in->x (or in->tokens) and in->mask, writes L->out and keeps
 *     what backward needs in L->ws.
 *   backward(L, in, dx, B, T) reads L->dout (gradient of the loss w.r.t. L->out) and the
 *     workspace of the LAST forward call, ADDS parameter gradients into st_param.g and ADDS the
 *     input gradient into dx (dx == NULL: the input needs no gradient, skip that work).
 *     It may clobber L->ws and L->dout.
 */
#ifndef SEQTRAIN_LAYER_H
#define SEQTRAIN_LAYER_H

#include <stdint.h>

#include "seqtrain/tensor.h"

#define ST_NAME_MAX 64
/* The widest a layer's input or output may be (features per step): 2^30 - 1, so that the int
 * products layers form from it (2 F in attention, 4 units in an LSTM) never wrap. The model
 * checks every layer against it (st_model_build); flatten, the one type that multiplies
 * dimensions into its width, checks its own. */
#define ST_FEAT_MAX ((1 << 30) - 1)
#define ST_LAYER_MAX_PARAMS 6


typedef enum st_init {
    ST_INIT_GLOROT_UNIFORM = 0, /* U(-l, l), l = sqrt(6 / (fan_in + fan_out)) */
    ST_INIT_GLOROT_NORMAL,      /* truncated normal, stddev sqrt(2 / (fan_in + fan_out)) */
    ST_INIT_ORTHOGONAL,         /* Keras Orthogonal(gain=1) */
    ST_INIT_ZEROS,
    ST_INIT_ONES,
    ST_INIT_UNIFORM,       /* Keras RandomUniform(-0.05, 0.05): the embedding default */
    ST_INIT_RANDOM_NORMAL, /* Keras RandomNormal(0, 0.05) */
    ST_INIT_HE_UNIFORM,    /* U(-l, l), l = sqrt(6 / fan_in) */
} st_init;

int st_init_parse(const char *name, st_init *out);
const char *st_init_name(st_init k);

/* Bidirectional merge modes (Keras merge_mode). */
typedef enum st_merge { ST_MERGE_CONCAT = 0, ST_MERGE_SUM, ST_MERGE_MUL, ST_MERGE_AVE } st_merge;
/* Attention scores: luong h_t . (h_s W), bahdanau v . tanh(h_t W1 + h_s W2). */
typedef enum st_score { ST_SCORE_LUONG = 0, ST_SCORE_BAHDANAU } st_score;

/* One parameter tensor. fan_in/fan_out follow Keras: for a 2-D kernel (in, n) they are in, n. */
typedef struct st_param {
    /* Keras name: "kernel", "recurrent_kernel", "bias", "embeddings", ...; a wrapper's tensors
     * are "<inner>/<name>" ("forward/kernel"), stored as nested HDF5 groups in checkpoints. */
    char name[32];
    st_dims dims;
    st_init init;
    size_t offset; /* into the model's parameter buffer (set by the model) */
    float *w;      /* view into the parameter buffer, dims elements */
    float *g;      /* view into the gradient buffer, same layout */
    /* 1: not trained (the optimizer skips it, its gradient stays 0), but saved and loaded like
     * any weight: BatchNormalization's moving_mean / moving_variance. Set by build. */
    int nontrainable;
    /* Deterministic reduction, row-sparse gradients (an embedding's): instead of block slots,
     * backward leaves the gradient as nterms terms, term j (width floats at terms + j * width)
     * adding to row term_rows[j] of the tensor; the step sums the terms exactly (any order
     * gives the same integers), without dense slots to clear, scan and convert. nterms == 0
     * and terms == NULL: no terms this step. row_sparse: the type gives its gradient this way
     * (set by build: the same on every rank, so the step's fixed-point scale is too). */
    int row_sparse;
    const float *terms;
    const int32_t *term_rows;
    size_t nterms;
} st_param;

typedef struct st_layer st_layer;

/* Deterministic reduction (src/train/step.c, README "Bitwise the same weights"): the global batch
 * is a fixed sequence of blocks of `rows` rows, each rank owns whole blocks, and every sum over
 * rows that reaches the weights is formed per block, then summed exactly (fixed point) over
 * blocks and ranks. A layer's backward therefore writes block k's parameter gradient into slot
 * k of the gradient buffer, st_grad_slot(bk, P->g, k), through st_grad_gemm_tn and
 * st_grad_colsum (layers/grad.c), which form each block's sum with the same operations in the
 * same order whichever rank, and whichever other rows of the call, it comes with. Rows of a
 * call are the blocks' rows in order: block k holds rows [k * rows, min((k + 1) * rows, B)).
 * st_layer_in.blocks == NULL: the whole call is one block in slot 0 (inference, unit tests,
 * non-deterministic training), and the helpers run one product over all rows. */
typedef struct st_blocks {
    int n;           /* blocks in this call, >= 1 */
    int rows;        /* rows per block; the last block of the call may have fewer */
    size_t stride;   /* floats from one block's gradient slot to the next's */
    /* (threads, scratch_floats) where a block's rows are gathered for one product: one space
     * per thread of core/par.h's pool that may share a call's blocks (threads 0 or 1: one) */
    float *scratch;
    size_t scratch_floats;
    int threads;
    /* The row-wise products' packed weights (st_sgemm_rows), and the generation that tells it
     * when they may have changed: the model bumps gen at every forward and backward pass. */
    st_rowpack *pack;
    uint64_t gen;
} st_blocks;

/* What a layer reads in one call.
 *
 * Randomness in training (dropout, recurrent dropout): every mask value is a pure function of
 * (seed, epoch, GLOBAL sample id of the row, layer, unit) - st_dropout_mask() in
 * src/layers/layer_impl.h - so the masks do not depend on the number of ranks or on which rank
 * holds a row, and a resumed run regenerates them. The model copies sample_ids, seed and epoch
 * from the batch (st_batch in data.h; fit.c sets them from the epoch's permutation) into every
 * layer's st_layer_in. sample_ids == NULL (unit tests, tools): row b uses id b. At inference
 * (train = 0) dropout is the identity and these fields are unused. */
typedef struct st_layer_in {
    const float *x;         /* (T, B, in.feat) or (B, in.feat); NULL for token input */
    const int32_t *tokens;  /* (B, T) token ids for an embedding; else NULL */
    const uint8_t *mask;    /* (T, B), 1 = real step; NULL = all steps real */
    const int64_t *sample_ids; /* (B) global sample id of each row (its row in the split) */
    uint64_t seed;             /* the run's seed ([train] seed) */
    int64_t epoch;             /* 0-based epoch of this step */
    const st_blocks *blocks;   /* how the rows divide into blocks (above); NULL = one block */
} st_layer_in;

/* ---- per-type options ---------------------------------------------------------------------
 * Each type reads only its own struct in L->opt (Keras names; defaults from the type's table,
 * copied by st_layer_create). Keys are declared once per type as an st_key table over its
 * struct (core/parse.h), so parsing and error wording are shared with every other config key. */
typedef struct st_dense_opts {
    int units;
    st_act activation; /* default linear */
    int use_bias;      /* default 1 */
    st_init kernel_init, bias_init;
} st_dense_opts;

/* simple_rnn, lstm, gru (each reads the fields its equations have). */
typedef struct st_rnn_opts {
    int units;
    st_act activation;           /* default tanh */
    st_act recurrent_activation; /* lstm, gru: default sigmoid */
    int use_bias;                /* default 1 */
    int return_sequences;
    int unit_forget_bias;        /* lstm: default 1 */
    st_init kernel_init, recurrent_init, bias_init;
    /* Keras semantics, inverted scaling 1/(1 - rate), training only: `dropout` masks the input
     * x_t, `recurrent_dropout` masks h_{t-1} in the recurrence, one mask per sequence. */
    float dropout, recurrent_dropout;
    int reset_after; /* gru: only 1 exists (Keras 3's default, PyTorch's GRU) */
} st_rnn_opts;

/* bidirectional: the wrapped type's options FIRST, so each direction, a copy of the layer
 * with the wrapped ops, reads them as its own st_rnn_opts. */
typedef struct st_bidir_opts {
    st_rnn_opts rnn;
    const struct st_layer_ops *wrapped; /* simple_rnn, lstm or gru */
    int merge_mode;                     /* st_merge; default concat, as Keras */
} st_bidir_opts;

typedef struct st_embedding_opts {
    int input_dim, output_dim;
    int mask_zero;
    st_init embeddings_init; /* default uniform */
} st_embedding_opts;

typedef struct st_dropout_opts {
    float rate;
} st_dropout_opts;

typedef struct st_bn_opts {
    float momentum, epsilon; /* 0.99, 1e-3 */
    int center, scale;       /* 1, 1 */
} st_bn_opts;

typedef struct st_attention_opts {
    int units;
    int score; /* st_score; default luong */
    st_init kernel_init;
} st_attention_opts;

typedef union st_layer_opts {
    st_dense_opts dense;
    st_rnn_opts rnn;
    st_bidir_opts bidir;
    st_embedding_opts emb;
    st_dropout_opts drop;
    st_bn_opts bn;
    st_attention_opts att;
} st_layer_opts;

struct st_key;

typedef struct st_layer_ops {
    const char *type;        /* section name in the config: "lstm", "dense", ... */
    const char *keras_class; /* "LSTM", "Dense", ...: the model summary's type column */
    /* The type's keys, over its member of L->opt (offsets from the union's start), ending in
     * ST_KEY_END; and its defaults, copied into L->opt (defaults_size bytes) on creation. */
    const struct st_key *keys;
    const void *defaults;
    size_t defaults_size;
    /* Type knowledge the model needs, so that no code outside src/layers/ compares ops
     * pointers: */
    int takes_vectors; /* 1: pre-trained vectors (model-level keys weights, vocab) can fill its
                          first parameter (V, E) by word (embedding) */
    /* Optional: the activation a head of this type can leave to the loss (fuse_activation
     * below); NULL = it cannot be a fused head. Dense. */
    st_act (*head_activation)(const st_layer *L);
    /* Optional: applies one key when a table lookup is not enough (bidirectional hands the
     * wrapped type's keys to that type's table). NULL = st_keys_set(keys, &L->opt, ...).
     * Returns ST_OK, ST_ENOKEY, or ST_ERR after st_error_set(). */
    int (*set)(st_layer *L, const char *key, const char *val);
    /* After all keys: checks that the layer can follow an input of shape `in`, sets L->ishape,
     * L->oshape and the parameter specs (L->nparam, L->param[].name/dims/init).
     * Returns ST_OK, or ST_ERR with st_error_set() saying why. */
    int (*build)(st_layer *L, st_shape in);
    /* Floats of workspace needed for batches of up to maxB rows and maxT steps. */
    size_t (*workspace)(const st_layer *L, int maxB, int maxT);
    /* Optional (may be NULL): adjust parameters after the generic initializers ran
     * (LSTM's unit_forget_bias). */
    void (*post_init)(st_layer *L);
    void (*forward)(st_layer *L, const st_layer_in *in, int B, int T, int train);
    void (*backward)(st_layer *L, const st_layer_in *in, float *dx, int B, int T);
} st_layer_ops;

/* A type's table, with the functions named by the convention PREFIX_build, PREFIX_workspace,
 * PREFIX_forward and PREFIX_backward (forward and backward side by side in the type's file),
 * its key table and its defaults struct; optional slots follow as designated initializers
 * (.post_init = ..., .head_activation = ...). Registration (layer.c) checks every required
 * slot is filled. */
#define ST_LAYER_OPS(TYPE, CLASS, PREFIX, KEYS, DEFAULTS, ...)                                      \
    {.type = TYPE,                                                                                \
     .keras_class = CLASS,                                                                        \
     .keys = KEYS,                                                                                \
     .defaults = &DEFAULTS,                                                                       \
     .defaults_size = sizeof DEFAULTS,                                                            \
     .build = PREFIX##_build,                                                                     \
     .workspace = PREFIX##_workspace,                                                             \
     .forward = PREFIX##_forward,                                                                 \
     .backward = PREFIX##_backward,                                                               \
     __VA_ARGS__}

struct st_layer {
    const st_layer_ops *ops;
    char name[ST_NAME_MAX]; /* "lstm_1", or the config's name key */
    int index;              /* position in the model */
    st_shape ishape, oshape; /* input and output shapes, set by build */

    st_layer_opts opt; /* the type's options (st_<type>_opts) */
    int trainable;     /* common key; default 1 */
    /* 1: forward/backward call collectives when training (batch_norm's global statistics), so
     * the model calls them on EVERY rank, also with B = 0 rows. Set by build. */
    int collective;

    /* Set by the model. */
    int nparam;
    st_param param[ST_LAYER_MAX_PARAMS];
    float *ws;         /* workspace, ops->workspace() floats */
    float *out;        /* (T, B, out.feat) or (B, out.feat) */
    float *dout;       /* same shape as out */
    uint8_t *mask_out; /* (T, B), only for an embedding with mask_zero */
    /* 1: forward writes a mask into mask_out that travels with the sequence to the next layers
     * (embedding with mask_zero). Set by build. */
    int emits_mask;
    /* Sums over the GLOBAL batch, for layers with collectives (batch_norm's statistics):
     * reduce_sum(buf, n, reduce_ctx) replaces buf (n doubles) by its sum over all ranks. The
     * model installs the distributed allreduce at build; NULL = one process (the sums are
     * already global). Keeps src/layers/ free of MPI. */
    void (*reduce_sum)(double *buf, size_t n, void *ctx);
    /* The same for integers (exact: deterministic reduction, core/xsum.h). */
    void (*reduce_i64)(int64_t *buf, size_t n, void *ctx);
    void *reduce_ctx;
    /* The model's head: when set, forward leaves the PRE-activation in out (the logits) and
     * backward takes dout as the gradient w.r.t. those logits, so the loss can be computed from
     * logits and never overflows. Only a dense layer honours it. */
    int fuse_activation;
};

/* ---- per-block parameter gradients (grad.c) ------------------------------------------------
 * Rows of a call are indexed (t, r), t < T, r < B (T = 1 for vectors); row (t, r) of X starts at
 * X + (t * B + r) * ldx. */
/* Block k's slot of the gradient view g (a st_param.g); bk == NULL: g itself. */
static inline float *st_grad_slot(const st_blocks *bk, float *g, int k) {
    return bk ? g + (size_t)k * bk->stride : g;
}
/* g (M, N) += X^T Y over the call's rows, per block: block k's rows, in (t, r) order, form ONE
 * product (K = T x its rows) added into slot k. */
void st_grad_gemm_tn(const st_blocks *bk, int T, int B, int M, int N, const float *X, int ldx,
                     const float *Y, int ldy, float *g);
/* C rows (t, r) = alpha · A rows (t, r) · op(W) + beta · C rows: a row-wise product (forward
 * outputs, input gradients, a recurrent step's product), op(W) = W (K, N) or, transW, W^T with
 * W (N, K). Row (t, r) of A is at A + (t * B + r) * lda, of C at C + (t * B + r) * ldc (T = 1
 * for vectors or one step). bk == NULL: ONE product over all T x B rows. With blocks each
 * block's rows form their own product, with the same M and row positions whatever else shares
 * the call, so a row's bits do not depend on the split (OpenBLAS's edge kernels depend on both):
 * T == 1 one product per block in place; T > 1 the block's rows gathered into bk->scratch
 * (T x rows x (K + N) floats), one product with beta = 0, then beta applied row by row; without
 * that room, one product per step. */
void st_rows_gemm(const st_blocks *bk, int T, int B, int transW, int N, int K, float alpha,
                  const float *A, int lda, const float *W, int ldw, float beta, float *C,
                  int ldc);
/* g (N) += the sum of Y's rows, per block, in (t, r) order, into slot k. */
void st_grad_colsum(const st_blocks *bk, int T, int B, int N, const float *Y, int ldy, float *g);
/* The block that row r of a call belongs to (0 when bk == NULL). */
static inline int st_grad_block_of(const st_blocks *bk, int r) { return bk ? r / bk->rows : 0; }

/* Looks up a layer type by its config section name; NULL if unknown. */
const st_layer_ops *st_layer_find(const char *type);
/* Comma-separated list of known layer types, for error messages. */
const char *st_layer_types(void);
/* Fills L with the defaults of `ops` (its defaults struct: Keras' activations, inits, ...). */
void st_layer_create(st_layer *L, const st_layer_ops *ops, const char *name);
/* Handles keys common to all layers ("name", "trainable"), then delegates to ops->set. */
int st_layer_set(st_layer *L, const char *key, const char *val);
/* The integer option that sets L's size, the largest when there are several ("units"; an
 * embedding's "input_dim" or "output_dim"), and its value: what a message about a model too
 * large for memory names. NULL when the type has none (dropout, flatten, batch_norm). */
const char *st_layer_size_key(const st_layer *L, long *value);
/* Runs each parameter's initializer (stream = hash of "layer/param", so the values do not
 * depend on layer order or on the rank) and then ops->post_init. */
void st_layer_init_params(st_layer *L, uint64_t seed);
/* Fills n floats with initializer k for a tensor of the given dims (fans from dims). */
void st_init_fill(st_init k, const st_dims *dims, float *w, uint64_t seed, uint64_t stream);


/* The built-in layer tables (src/layers/<type>.c). */
extern const st_layer_ops st_embedding_ops;
extern const st_layer_ops st_dense_ops;
extern const st_layer_ops st_simple_rnn_ops;
extern const st_layer_ops st_lstm_ops;
extern const st_layer_ops st_dropout_ops;
extern const st_layer_ops st_batch_norm_ops;
extern const st_layer_ops st_flatten_ops;
extern const st_layer_ops st_gru_ops;
extern const st_layer_ops st_bidirectional_ops;
extern const st_layer_ops st_attention_ops;

/* The attention weights alpha (T, B) of an attention layer's LAST forward call (T and B of that
 * call, time-major; 0 at masked steps, each row sums to 1 over its real steps, a fully masked
 * row is all 0). A view into the layer's workspace: valid until the next forward. NULL if L is
 * not an attention layer. */
const float *st_attention_weights(const st_layer *L);

#endif
