/*
 * rnn.h - the scaffolding simple_rnn.c, lstm.c and gru.c share (src/layers/rnn.c), so each cell
 * file shows only its equations.
 *
 * Every recurrent layer here has the same frame around its cell:
 *   forward:  [dropout masks] -> G = x~ W (+ b) for all steps in ONE GEMM -> per step: the cell,
 *             reading h_{t-1} (or h_{t-1} ⊙ m_h with recurrent dropout) -> out = h_T or h_1..h_T
 *   backward: dh from dout -> per step (reverse): the cell's gate gradients dG_t, then
 *             dh_{t-1} += (dG_t U^T) [⊙ m_h] -> dW, dU (one GEMM each per block of rows, over
 *             all its steps) -> dx
 * with NG = gates * H columns (1, 4 or 3 gates). The cell files keep the bias, the per-step
 * math and their workspace layout; these helpers keep the exact float operations they replaced
 * (same GEMMs, same order), so results are bitwise those of the inlined code. With blocks
 * (layer.h, st_blocks) every GEMM is formed per block of rows, the per-step ones too, so a
 * row's bits do not depend on the other rows of the call.
 *
 * Dropout (Keras semantics: ONE mask per sequence, shared by every step and gate, inverted
 * scaling, drawn by st_dropout_mask from (seed, epoch, global sample id)): `dropout` runs the
 * projection on a masked copy Xd (T, B, I); `recurrent_dropout` feeds h_{t-1} ⊙ m_h to the
 * recurrent GEMM, kept per step in Hd (T, B, H) for dU. The buffers exist only when their rate
 * is > 0; a flag records which masks the last (training) forward applied, for backward.
 */
#ifndef SEQTRAIN_LAYERS_RNN_H
#define SEQTRAIN_LAYERS_RNN_H

#include "layer_impl.h"

/* A dropout rate as an st_key row (ST_KEY_FUNC): st_parse_rate. */
int st_key_rate(const char *key, const char *val, void *field);
/* The st_key rows simple_rnn, lstm and gru share (units, activation, use_bias,
 * return_sequences, the three initializers, dropout, recurrent_dropout), for a settings struct
 * S whose st_rnn_opts is the member F: each type's table lists these, then its own rows. */
#define ST_RNN_KEY_ROWS(S, F)                                                                     \
    ST_KEY_INT_ROW("units", S, F.units, 1, 1 << 20),                                              \
    ST_KEY_FUNC_ROW("activation", S, F.activation, st_key_act),                                   \
    ST_KEY_BOOL_ROW("use_bias", S, F.use_bias),                                                   \
    ST_KEY_BOOL_ROW("return_sequences", S, F.return_sequences),                                   \
    ST_KEY_FUNC_ROW("kernel_initializer", S, F.kernel_init, st_key_init),                         \
    ST_KEY_FUNC_ROW("recurrent_initializer", S, F.recurrent_init, st_key_init),                   \
    ST_KEY_FUNC_ROW("bias_initializer", S, F.bias_init, st_key_init),                             \
    ST_KEY_FUNC_ROW("dropout", S, F.dropout, st_key_rate),                                        \
    ST_KEY_FUNC_ROW("recurrent_dropout", S, F.recurrent_dropout, st_key_rate)
/* Keras' defaults of the recurrent layers (tanh, sigmoid, use_bias, unit_forget_bias,
 * glorot_uniform / orthogonal / zeros). */
extern const st_rnn_opts st_rnn_defaults;
/* The key tables of the three cells (bidirectional hands its keys to the wrapped type's). */
extern const st_key st_simple_rnn_keys[], st_lstm_keys[], st_gru_keys[];
/* Checks shared by the recurrent layers' build(): a float sequence input and units > 0; sets
 * ishape and oshape ((T, B, units) with return_sequences, else (B, units)). */
int st_rnn_check(st_layer *L, st_shape in);
/* The stream of a recurrent layer's masks: which = 0 for `dropout` (the input),
 * 1 for `recurrent_dropout` (the state); named "<layer>/dropout", "<layer>/recurrent_dropout". */
uint64_t st_rnn_dropout_stream(const st_layer *L, int which);

/* Views of the dropout part of a workspace (pointers NULL when that rate is 0). */
typedef struct st_rnn_drop {
    float *flag;         /* 1 = input mask, 2 = recurrent mask applied by the last forward */
    float *mx, *Xd;      /* (B, I), (T, B, I) */
    float *mh, *Hd, *sc; /* (B, H), (T, B, H) slot t = (state before step t) ⊙ m_h, (B, H) */
    int dp, rdp;         /* this call applies (forward) / applied (backward) the masks */
} st_rnn_drop;

/* Floats of the dropout part for B rows, T steps: flag, m_x, Xd, m_h, Hd, sc; 0 when both
 * rates are 0. */
size_t st_rnn_drop_ws(const st_layer *L, int B, int T);
/* The dropout part starting at p, for a call with B rows and T steps. */
st_rnn_drop st_rnn_drop_views(const st_layer *L, float *p, int B, int T);

/* Forward set-up: records and draws the masks of a training call and returns what the input
 * projection reads: x (T, B, I), or x ⊙ m_x written into Xd. */
const float *st_rnn_drop_forward(const st_layer *L, st_rnn_drop *d, const st_layer_in *in,
                                 int B, int T, int train);
/* Backward set-up: which masks the last forward applied; returns what the weights saw. */
const float *st_rnn_drop_backward(st_rnn_drop *d, const float *x);
/* What step t's recurrent GEMM reads: h_{t-1} (B, H), or h_{t-1} ⊙ m_h kept in Hd slot t. */
const float *st_rnn_state_in(const st_rnn_drop *d, const float *hp, int t, size_t BH);

/* G = X · W (+ b on every row)   (T*B, NG): the input projection of every step at once, one
 * product per block of rows (bk: the call's st_layer_in.blocks; NULL = one product over all
 * T x B rows; layer.h, st_rows_gemm). b may be NULL. Overwrites G. */
void st_rnn_project(const st_blocks *bk, const float *x, const float *W, const float *b,
                    float *G, int T, int B, int I, int NG);
/* out = h_1..h_T (T, B, H) with return_sequences, else h_T (B, H); S = (T+1, B, H) states. */
void st_rnn_output(st_layer *L, const float *S, int T, size_t BH);
/* The gradient entering the last state: dout (B, H), or 0 with return_sequences (each step's
 * dout is added by st_rnn_dh_add_step). */
void st_rnn_dh_init(const st_layer *L, float *dh, size_t BH);
/* dh += dout_t with return_sequences; nothing otherwise. */
void st_rnn_dh_add_step(const st_layer *L, float *dh, int t, size_t BH);
/* dh_{t-1} = beta dh + dR_t · U^T   (B, H), with recurrent dropout (dR_t · U^T) ⊙ m_h;
 * dR_t (B, NG), U (H, NG). beta = 1 adds (carried rows keep theirs). One product per block of
 * the step's rows (bk as for st_rnn_project). */
void st_rnn_dh_prev(const st_blocks *bk, const st_rnn_drop *d, const float *dRt, const float *U,
                    int B, int H, int NG, float beta, float *dh);
/* The tail every cell shares. When trainable: dW += X^T · dG (I, NG) and, for T > 1,
 * dU += H_prev^T · dR (H, NG), H_prev = h_1..h_{T-1} (⊙ m_h: Hd) against dR_2..dR_T (h_0 = 0);
 * then dx += dG · W^T (T*B, I) (⊙ m_x with input dropout) when dx != NULL. dR = dG except
 * for GRU (whose recurrent side has its own gradient). S: the states (T+1, B, H). Adds. The
 * bias gradient is the cell's. dW and dU are formed per block of rows into the blocks' gradient
 * slots, dx per block of rows (bk: the call's st_layer_in.blocks; NULL = one block, slot 0 =
 * st_param.g). */
void st_rnn_backward_tail(st_layer *L, const st_blocks *bk, const st_rnn_drop *d,
                          const float *x, const float *dG, const float *dR, const float *S,
                          float *dx, int B, int T, int NG);

#endif
