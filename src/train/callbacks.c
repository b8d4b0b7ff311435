/*
 * callbacks.c - Keras callbacks as pure decisions, and the learning-rate schedules.
 *
 * Each callback follows its Keras implementation line by line (keras/callbacks/):
 *   EarlyStopping      wait += 1; an improvement (monitor_op(current - min_delta, best), with
 *                      min_delta signed by the mode) resets wait and records best; otherwise,
 *                      once wait >= patience and epoch > 0, training stops, restoring the best
 *                      weights when restore_best_weights (kept from the first epoch on).
 *   ModelCheckpoint    save_best_only: save when current beats best (strictly, no min_delta).
 *   ReduceLROnPlateau  cooldown counts down; an improvement (current < best - min_delta for
 *                      min) resets wait; otherwise outside cooldown wait += 1 and at patience
 *                      lr = max(lr * factor, min_lr) (when lr > min_lr), cooldown starts.
 * A missing or NaN value makes the callback skip the epoch (Keras warns and returns).
 * The state is plain numbers (st_callbacks_pack) so checkpoints carry it and a resumed run
 * takes the same decisions. Nothing here communicates: the caller hands every rank the same
 * reduced values.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/parse.h"
#include "seqtrain/error.h"
#include "train/callbacks.h"
#include "train/settings.h"

/* ---- keys ------------------------------------------------------------------------------------ */

/* lr_schedule keeps its "must be one of" wording (the table's enum rows say "unknown ..."). */
static int parse_schedule(const char *key, const char *val, void *field) {
    static const char *const names[] = {"constant", "step", "exponential", "cosine"};
    for (int j = 0; j < 4; j++)
        if (strcmp(val, names[j]) == 0) return *(int *)field = j, ST_OK;
    st_error_set("%s = %s: must be one of constant, step, exponential, cosine", key, val);
    return ST_ERR;
}

/* [train]: the learning-rate schedule (st_lr_at below). */
static const st_key k_schedule_keys[] = {
    ST_KEY_FUNC_ROW("lr_schedule", st_train_cfg, lr_schedule, parse_schedule),
    ST_KEY_INT_ROW("decay_steps", st_train_cfg, decay_steps, 1, INT_MAX),
    ST_KEY_FLOAT_ROW("decay_rate", st_train_cfg, decay_rate, 0, INFINITY, ST_OPEN_LO),
    ST_KEY_FLOAT_ROW("alpha", st_train_cfg, alpha, 0, 1, 0),
    ST_KEY_BOOL_ROW("staircase", st_train_cfg, staircase),
    ST_KEY_INT_ROW("warmup_steps", st_train_cfg, warmup_steps, 0, INT_MAX),
    ST_KEY_END,
};

int st_schedule_cfg_set(st_train_cfg *t, const char *key, const char *val) {
    return st_keys_set(k_schedule_keys, t, key, val);
}

const char *st_schedule_cfg_keys(char *buf, size_t size) {
    return st_keys_names(k_schedule_keys, buf, size);
}

/* auto | min | max, as Keras's `mode`. */
static int parse_mode(const char *key, const char *val, void *field) {
    static const char *const names[] = {"auto", "min", "max"};
    for (int j = 0; j < 3; j++)
        if (strcmp(val, names[j]) == 0) return *(int *)field = j, ST_OK;
    st_error_set("%s = %s: must be auto, min or max", key, val);
    return ST_ERR;
}

/* A monitored quantity: a history column such as val_loss or accuracy. Whether the run has it
 * (validation data, the metric) is checked when training starts. */
static int parse_monitor(const char *key, const char *val, void *field) {
    if (!val[0]) {
        st_error_set("%s = %s: must name a metric such as val_loss", key, val);
        return ST_ERR;
    }
    return st_parse_string(key, val, field, ST_MONITOR_MAX);
}

/* Keras refuses factor >= 1; 0 would zero the rate: both refused, with Keras's reason. */
static int parse_factor(const char *key, const char *val, void *field) {
    if (st_parse_float(key, val, 0, 1, ST_OPEN_HI, field) != ST_OK) return ST_ERR;
    if (*(float *)field <= 0) {
        st_error_set("%s = %s: must be > 0 and < 1 (Keras: factor < 1.0)", key, val);
        return ST_ERR;
    }
    return ST_OK;
}

#define CB st_callbacks_cfg
/* [callbacks]: "<callback>.<argument>" keys with Keras's names. */
static const st_key k_cb_keys[] = {
    ST_KEY_BOOL_ROW("early_stopping", CB, early_stopping),
    ST_KEY_FUNC_ROW("early_stopping.monitor", CB, es_monitor, parse_monitor),
    ST_KEY_FUNC_ROW("early_stopping.mode", CB, es_mode, parse_mode),
    ST_KEY_INT_ROW("early_stopping.patience", CB, es_patience, 0, INT_MAX),
    ST_KEY_FLOAT_ROW("early_stopping.min_delta", CB, es_min_delta, 0, INFINITY, 0),
    ST_KEY_BOOL_ROW("early_stopping.restore_best_weights", CB, es_restore_best),
    ST_KEY_BOOL_ROW("model_checkpoint.save_best_only", CB, save_best),
    ST_KEY_FUNC_ROW("model_checkpoint.monitor", CB, sb_monitor, parse_monitor),
    ST_KEY_FUNC_ROW("model_checkpoint.mode", CB, sb_mode, parse_mode),
    ST_KEY_BOOL_ROW("reduce_lr_on_plateau", CB, reduce_lr),
    ST_KEY_FUNC_ROW("reduce_lr_on_plateau.monitor", CB, rl_monitor, parse_monitor),
    ST_KEY_FUNC_ROW("reduce_lr_on_plateau.mode", CB, rl_mode, parse_mode),
    ST_KEY_FUNC_ROW("reduce_lr_on_plateau.factor", CB, rl_factor, parse_factor),
    ST_KEY_INT_ROW("reduce_lr_on_plateau.patience", CB, rl_patience, 0, INT_MAX),
    ST_KEY_FLOAT_ROW("reduce_lr_on_plateau.min_lr", CB, rl_min_lr, 0, INFINITY, 0),
    ST_KEY_INT_ROW("reduce_lr_on_plateau.cooldown", CB, rl_cooldown, 0, INT_MAX),
    ST_KEY_FLOAT_ROW("reduce_lr_on_plateau.min_delta", CB, rl_min_delta, 0, INFINITY, 0),
    ST_KEY_BOOL_ROW("terminate_on_nan", CB, terminate_on_nan),
    ST_KEY_INT_ROW("attention_dump", CB, attention_dump, 0, INT_MAX),
    ST_KEY_END,
};
#undef CB

/* The switches start at -1, "not given", so st_callbacks_cfg_finish can tell an explicit
 * false from a switch left out. */
void st_callbacks_cfg_defaults(st_callbacks_cfg *c) {
    memset(c, 0, sizeof *c);
    c->early_stopping = c->reduce_lr = -1;
    strcpy(c->es_monitor, "val_loss");
    strcpy(c->sb_monitor, "val_loss");
    strcpy(c->rl_monitor, "val_loss");
    c->rl_factor = 0.1f;
    c->rl_patience = 10;
    c->rl_min_delta = 1e-4f;
}

int st_callbacks_cfg_set(st_callbacks_cfg *c, const char *key, const char *val) {
    int rc = st_keys_set(k_cb_keys, c, key, val);
    if (rc == ST_OK && !strncmp(key, "early_stopping.", 15)) c->es_given = 1;
    if (rc == ST_OK && !strncmp(key, "reduce_lr_on_plateau.", 21)) c->rl_given = 1;
    return rc;
}

/* A callback's switch key (early_stopping = true) turns it on or off; without the switch,
 * giving any of its arguments turns it on. */
void st_callbacks_cfg_finish(st_callbacks_cfg *c) {
    if (c->early_stopping < 0) c->early_stopping = c->es_given;
    if (c->reduce_lr < 0) c->reduce_lr = c->rl_given;
}

const char *st_callbacks_cfg_keys(char *buf, size_t size) {
    return st_keys_names(k_cb_keys, buf, size);
}

/* ---- decisions ------------------------------------------------------------------------------- */

int st_monitor_maximize(const char *monitor, int mode) {
    if (mode == ST_MODE_MIN) return 0;
    if (mode == ST_MODE_MAX) return 1;
    return strstr(monitor, "acc") || strstr(monitor, "auc") || strstr(monitor, "precision") ||
           strstr(monitor, "recall");
}

void st_callbacks_init(st_callbacks *cb, const st_callbacks_cfg *cfg, double lr) {
    memset(cb, 0, sizeof *cb);
    cb->cfg = *cfg;
    cb->es_max = st_monitor_maximize(cfg->es_monitor, cfg->es_mode);
    cb->sb_max = st_monitor_maximize(cfg->sb_monitor, cfg->sb_mode);
    cb->rl_max = st_monitor_maximize(cfg->rl_monitor, cfg->rl_mode);
    cb->es_best = cb->es_max ? -INFINITY : INFINITY;
    cb->sb_best = cb->sb_max ? -INFINITY : INFINITY;
    cb->rl_best = cb->rl_max ? -INFINITY : INFINITY;
    cb->lr = lr;
}

static void early_stopping(st_callbacks *cb, int64_t epoch, double cur, st_cb_actions *a) {
    const st_callbacks_cfg *c = &cb->cfg;
    if (isnan(cur)) return;
    if (c->es_restore_best && !cb->es_have_best) {
        a->keep_best = 1;
        cb->es_have_best = 1;
    }
    cb->es_wait++;
    double d = c->es_min_delta;
    int better = cb->es_max ? cur - d > cb->es_best : cur + d < cb->es_best;
    if (better) {
        cb->es_best = cur;
        cb->es_best_epoch = epoch;
        if (c->es_restore_best) a->keep_best = 1;
        cb->es_wait = 0;
        return;
    }
    if (cb->es_wait >= c->es_patience && epoch > 0) {
        cb->es_stopped = 1;
        a->stop = 1;
        a->restore_best = c->es_restore_best && cb->es_have_best;
    }
}

static void save_best(st_callbacks *cb, double cur, st_cb_actions *a) {
    if (isnan(cur)) return;
    if (cb->sb_max ? cur > cb->sb_best : cur < cb->sb_best) {
        cb->sb_best = cur;
        a->save_best = 1;
    }
}

static void reduce_lr(st_callbacks *cb, double cur, st_cb_actions *a) {
    const st_callbacks_cfg *c = &cb->cfg;
    if (isnan(cur)) return;
    if (cb->rl_cooldown > 0) {
        cb->rl_cooldown--;
        cb->rl_wait = 0;
    }
    double d = c->rl_min_delta;
    int better = cb->rl_max ? cur > cb->rl_best + d : cur < cb->rl_best - d;
    if (better) {
        cb->rl_best = cur;
        cb->rl_wait = 0;
    } else if (cb->rl_cooldown <= 0) {
        cb->rl_wait++;
        if (cb->rl_wait >= c->rl_patience) {
            /* Keras compares in float32: lr > np.float32(min_lr) */
            if ((float)cb->lr > (float)c->rl_min_lr) {
                double nl = cb->lr * c->rl_factor;
                if (nl < c->rl_min_lr) nl = c->rl_min_lr;
                a->lr_reduced = 1;
                a->old_lr = cb->lr;
                cb->lr = nl;
                cb->rl_cooldown = c->rl_cooldown;
                cb->rl_wait = 0;
            }
        }
    }
}

void st_callbacks_epoch_end(st_callbacks *cb, int64_t epoch, double es, double sb, double rl,
                            st_cb_actions *act) {
    memset(act, 0, sizeof *act);
    /* Keras runs callbacks in list order; ours is fixed: checkpoint (it saves the weights of
     * this epoch, before early stopping may restore older ones), early stopping, plateau. */
    if (cb->cfg.save_best) save_best(cb, sb, act);
    if (cb->cfg.early_stopping) early_stopping(cb, epoch, es, act);
    if (cb->cfg.reduce_lr) reduce_lr(cb, rl, act);
}

void st_callbacks_pack(const st_callbacks *cb, double out[ST_CB_STATE_N]) {
    out[0] = cb->es_best;
    out[1] = (double)cb->es_wait;
    out[2] = (double)cb->es_best_epoch;
    out[3] = cb->es_stopped;
    out[4] = cb->es_have_best;
    out[5] = cb->sb_best;
    out[6] = cb->rl_best;
    out[7] = (double)cb->rl_wait;
    out[8] = (double)cb->rl_cooldown;
    out[9] = cb->lr;
}

void st_callbacks_unpack(st_callbacks *cb, const double in[ST_CB_STATE_N]) {
    cb->es_best = in[0];
    cb->es_wait = (int64_t)in[1];
    cb->es_best_epoch = (int64_t)in[2];
    cb->es_stopped = (int)in[3];
    cb->es_have_best = (int)in[4];
    cb->sb_best = in[5];
    cb->rl_best = in[6];
    cb->rl_wait = (int64_t)in[7];
    cb->rl_cooldown = (int64_t)in[8];
    cb->lr = in[9];
}

double st_lr_at(const st_train_cfg *t, double base, int64_t it) {
    if (t->warmup_steps > 0) {
        if (it < t->warmup_steps) return base * (double)(it + 1) / t->warmup_steps;
        it -= t->warmup_steps;
    }
    double p = (double)it / (t->decay_steps > 0 ? t->decay_steps : 1);
    switch (t->lr_schedule) {
    case ST_LR_STEP: return base * pow(t->decay_rate, floor(p));
    case ST_LR_EXPONENTIAL: return base * pow(t->decay_rate, t->staircase ? floor(p) : p);
    case ST_LR_COSINE: {
        double q = p < 1 ? p : 1;
        double cosine = 0.5 * (1 + cos(M_PI * q));
        const double alpha = t->alpha;
        return base * ((1 - alpha) * cosine + alpha);
    }
    default: return base;
    }
}
