/*
 * callbacks.h - Keras's EarlyStopping, ModelCheckpoint(save_best_only) and ReduceLROnPlateau
 * as pure decisions (callbacks.c), and the learning-rate schedule. Internal to src/train/.
 */
#ifndef ST_TRAIN_CALLBACKS_H
#define ST_TRAIN_CALLBACKS_H

#include <stdint.h>

#include "train/settings.h"

/* ---- callbacks (callbacks.c) ---------------------------------------------------------------
 * Keras's EarlyStopping, ModelCheckpoint(save_best_only) and ReduceLROnPlateau as pure
 * decisions on the monitored values of each epoch. Every rank sees the same reduced metrics,
 * so every rank takes the same decisions; the state travels in checkpoints (st_callbacks_pack)
 * so that a resumed run decides exactly as an uninterrupted one. */

enum { ST_CB_STATE_N = 10 };

typedef struct st_callbacks {
    st_callbacks_cfg cfg;
    int es_max, sb_max, rl_max; /* 1: larger is better for that callback's monitor */
    double es_best;
    int64_t es_wait, es_best_epoch;
    int es_stopped, es_have_best;
    double sb_best;
    double rl_best;
    int64_t rl_wait, rl_cooldown;
    double lr; /* base learning rate; reduce_lr_on_plateau lowers it */
} st_callbacks;

/* What the loop must do after an epoch. */
typedef struct st_cb_actions {
    int keep_best;    /* copy the current weights as the best ones (restore_best_weights) */
    int save_best;    /* write best.h5 (the monitored value improved) */
    int stop;         /* early stopping: end training after this epoch */
    int restore_best; /* ... and put the kept best weights back first */
    int lr_reduced;   /* reduce_lr_on_plateau lowered cb->lr (from old_lr) */
    double old_lr;
} st_cb_actions;

/* Keras's auto mode: larger is better when the name contains "acc", "auc", "precision" or
 * "recall" (val_ prefix or not), smaller otherwise. */
int st_monitor_maximize(const char *monitor, int mode);
void st_callbacks_init(st_callbacks *cb, const st_callbacks_cfg *cfg, double lr);
/* epoch: 0-based. es/sb/rl: the current values of each callback's monitor (NaN: missing, the
 * callback does nothing that epoch, as Keras skips it). */
void st_callbacks_epoch_end(st_callbacks *cb, int64_t epoch, double es, double sb, double rl,
                            st_cb_actions *act);
void st_callbacks_pack(const st_callbacks *cb, double out[ST_CB_STATE_N]);
void st_callbacks_unpack(st_callbacks *cb, const double in[ST_CB_STATE_N]);
/* The learning rate of update t (0-based: the optimizer's iterations before it) for base rate
 * `base` under [train] lr_schedule / warmup_steps (config.h). */
double st_lr_at(const st_train_cfg *t, double base, int64_t iteration);

#endif
