/*
 * loss.h - losses and accuracy, computed from the head's logits.
 *
 * The model's last dense layer hands its PRE-activation z (B, K) and its activation to the loss
 * (layer.h, fuse_activation), so sigmoid + binary cross-entropy and softmax + categorical
 * cross-entropy are computed in the stable log-sum-exp form and cannot overflow. Other pairings
 * (e.g. mse after sigmoid, or cross-entropy after a linear head treated as probabilities, as
 * Keras does) go through the activation and its derivative, with probabilities clipped to
 * [1e-7, 1 - 1e-7] like Keras.
 *
 * Targets are class ids y (B) int32:
 *   binary_crossentropy, K = 1: target y in {0, 1};  K > 1: one-hot of y, mean over the K units.
 *   sparse_categorical_crossentropy / categorical_crossentropy: class y of K (one-hot).
 *   mse: K = 1: target y as a number; K > 1: one-hot of y, mean over the K units.
 */
#ifndef ST_TRAIN_LOSS_H
#define ST_TRAIN_LOSS_H

#include <stdint.h>

#include "core/xsum.h"
#include "seqtrain/tensor.h"

typedef enum st_loss_kind {
    ST_LOSS_BCE = 0,
    ST_LOSS_SPARSE_CCE,
    ST_LOSS_CCE,
    ST_LOSS_MSE,
} st_loss_kind;

const char *st_loss_name(st_loss_kind k);

/* Sum over the B rows of the per-sample loss. If dz != NULL, writes (overwrites)
 * dz = scale * d(sum)/dz (B, K). If correct != NULL, adds the number of correct predictions
 * (K == 1: (p > 0.5) == y; else argmax == y). */
double st_loss_compute(st_loss_kind k, st_act act, const float *z, const int32_t *y, int B, int K,
                       float scale, float *dz, double *correct);

/* Per-step loss of a sequence head (many-to-many): z (T, B, K) time-major logits, y (B, T)
 * batch-major labels, mask (T, B) (1 = real step; NULL = all real). Returns the SUM over real
 * steps of the per-step loss (the same per-step loss as st_loss_compute) and adds the number of
 * real steps to *count. dz != NULL: writes dz (T, B, K) = scale * d(sum)/dz, 0 at padded steps.
 * correct != NULL: adds the correct predictions over real steps. */
double st_loss_compute_seq(st_loss_kind k, st_act act, const float *z, const int32_t *y,
                           const uint8_t *mask, int B, int T, int K, float scale, float *dz,
                           double *correct, double *count);

/* The same, also adding each row's (each real step's) loss exactly to *xs when xs != NULL:
 * the sum then does not depend on how rows were split among calls or ranks (core/xsum.h). */
double st_loss_compute_x(st_loss_kind k, st_act act, const float *z, const int32_t *y, int B,
                         int K, float scale, float *dz, double *correct, st_xsum *xs);
double st_loss_compute_seq_x(st_loss_kind k, st_act act, const float *z, const int32_t *y,
                             const uint8_t *mask, int B, int T, int K, float scale, float *dz,
                             double *correct, double *count, st_xsum *xs);

/* Probabilities of the head: p = act(z) (B, K); p may alias z. */
void st_loss_probs(st_act act, const float *z, float *p, int B, int K);

#endif
