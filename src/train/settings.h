/*
 * settings.h - the typed settings of a run: [data], [train], [checkpoint], [callbacks].
 *
 * src/io/config.c knows only INI syntax (sections, keys, lines); the meaning of the keys lives
 * here, in src/train/, with the modules that use them. Each module lists its keys ONCE, as rows
 * of an st_key table (core/parse.h), and applies one "key = value" with its st_*_cfg_set:
 *   [train]       train keys (settings.c), optimizer (optim.c), loss (loss.c), metrics
 *                 (metrics.c), learning-rate schedule (callbacks.c)
 *   [data]        settings.c          [checkpoint]  settings.c
 *   [callbacks]   callbacks.c
 * A module's st_*_cfg_set returns ST_OK, ST_ERR with "key = value: why" set (no location:
 * st_settings_resolve prefixes "origin:line: [section] "), or ST_ENOKEY when the key is not
 * its own. A new option is one table row.
 *
 * Internal to src/train/ (and its unit tests).
 */
#ifndef ST_TRAIN_SETTINGS_H
#define ST_TRAIN_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/config.h"
#include "train/loss.h"
#include "seqtrain/metrics.h"
#include "train/optim.h"

typedef struct st_data_cfg {
    char path[ST_PATH_MAX];  /* dataset file */
    char train_split[32];    /* default "train" */
    char test_split[32];     /* default "test" */
    float validation_split;  /* last fraction of the training split, as Keras; default 0 */
    /* Shapes of generated data for --benchmark when there is no path: T steps of token ids
     * (features 0; vocabulary = the embedding's input_dim) or of `features` floats. */
    int seq_len;
    int features;
    /* Batches of similar length, padding trimmed per batch (token data): rows are sorted by
     * length inside pools of bucket_batches global batches of the epoch's shuffle, then the
     * batches are shuffled. A pure function of (seed, epoch): the same for any rank count. */
    int bucket_by_length;  /* default 0 */
    int bucket_batches;    /* default 32 */
} st_data_cfg;

enum { ST_LR_CONSTANT = 0, ST_LR_STEP, ST_LR_EXPONENTIAL, ST_LR_COSINE };

typedef struct st_train_cfg {
    int epochs;          /* default 1 */
    int batch_size;      /* GLOBAL batch, split across ranks; default 32 (Keras) */
    st_loss_kind loss;   /* parsed once, from loss.c's table of names */
    int loss_set;        /* the loss is required: 0 until [train] loss is given */
    st_metrics metrics;  /* parsed once (metrics.c); metrics.top_k = top_k after resolution */
    int top_k;           /* k of the top-k metrics; default 5 (Keras) */
    uint64_t seed;       /* default 42 */
    int shuffle;         /* default 1 */
    st_optim_cfg optim;  /* optimizer = ..., learning_rate = ..., and its own keys */
    /* Learning-rate schedule, a function of the optimizer's update count t (Keras
     * LearningRateSchedule, evaluated at optimizer.iterations), times the base rate (which
     * reduce_lr_on_plateau may lower):
     *   step:        decay_rate ^ floor(t / decay_steps)
     *   exponential: decay_rate ^ (t / decay_steps)   (staircase = true: floor, as step)
     *   cosine:      (1 - alpha) * 0.5 (1 + cos(pi min(t, decay_steps) / decay_steps)) + alpha
     * warmup_steps > 0: the rate rises linearly, (t + 1) / warmup_steps, over the first
     * warmup_steps updates, and the schedule above runs on t - warmup_steps afterwards. */
    int lr_schedule;     /* ST_LR_CONSTANT (default), ST_LR_STEP, ST_LR_EXPONENTIAL, ST_LR_COSINE */
    int decay_steps;     /* default 1000 */
    float decay_rate;    /* default 0.96 */
    float alpha;         /* cosine: floor as a fraction of the rate; default 0 */
    int staircase;       /* exponential: default false */
    int warmup_steps;    /* default 0 */
    int log_every_steps; /* metrics.jsonl (and --verbose progress lines) every N steps; 0 */
    /* Signals that stop training gracefully at the next step boundary (a step checkpoint,
     * exit 75): ST_SIG_* bits (preempt.h); default TERM, INT, USR1; 0 = none. */
    int stop_signals;
    int collective_timeout; /* seconds a collective may wait (dist.h); default 300; 0 = none */
    int startup_timeout;    /* the same until the first step's allreduce; default 600 */
    /* Deterministic reduction (step.c): the global batch is a fixed sequence of blocks of
     * block_rows rows, each rank owns whole blocks, and gradients, loss and statistics are
     * summed exactly, so the weights are bitwise the same for any number of ranks. Default 1
     * (its cost, README "Bitwise the same weights": at most 4% on the benchmark models).
     * block_rows 0 = auto: ceil(batch_size / ST_AUTO_BLOCKS). */
    int deterministic;
    int block_rows;
    /* Sharded optimizer step (ZeRO-1, step.c): the gradient is reduce-scattered, each rank
     * updates its part of the parameters (holding only that part's optimizer state) and the
     * parts are allgathered. -1 auto (on with more than one rank), 0 off, 1 on. */
    int shard_optimizer;
    /* Gradient reduction overlapped with backward (reduce.c): buckets of about bucket_mb MiB
     * of gradients, in the order backward finishes them, each reduced as soon as it is
     * complete. 0 off (default), 1 on, -1 auto (on when the buckets before the last hold a
     * quarter of the gradient). */
    int overlap;
    float bucket_mb;
    /* The first layer's embedding gradient exchanged as the rows the global batch touched
     * (reduce.c), in the steps where that moves fewer bytes than the whole table; considered
     * only with more than one rank and when a global batch cannot touch every row. -1 auto
     * (= on), 0 off, 1 on. */
    int sparse_embedding;
} st_train_cfg;

/* [train] bucket_mb when not set (README, "Scaling past one node", measured). */
#define ST_BUCKET_MB_DEFAULT 4.0f

/* Blocks per global batch when [train] block_rows is not set: as many ranks as this can share
 * a batch evenly (more ranks than blocks leave ranks without rows). */
#define ST_AUTO_BLOCKS 16
/* The block size a run uses for batches of batch_size rows (resolves block_rows = 0). */
int st_train_block_rows(const st_train_cfg *t);

/* How a callback compares values of its monitored quantity. */
enum { ST_MODE_AUTO = 0, ST_MODE_MIN, ST_MODE_MAX };

#define ST_MONITOR_MAX 48

/* [callbacks]: Keras callbacks, keys "<callback>.<argument>" with Keras's names and defaults.
 * A callback is on when its switch is true, or when one of its keys is given and the switch
 * is not. */
typedef struct st_callbacks_cfg {
    int early_stopping;       /* early_stopping = true */
    char es_monitor[ST_MONITOR_MAX]; /* early_stopping.monitor: default val_loss */
    int es_mode;              /* .mode: auto | min | max */
    float es_min_delta;       /* .min_delta: 0 */
    int es_patience;          /* .patience: 0 */
    int es_restore_best;      /* .restore_best_weights: false */
    int save_best;            /* model_checkpoint.save_best_only = true: writes best.h5 */
    char sb_monitor[ST_MONITOR_MAX]; /* model_checkpoint.monitor: val_loss */
    int sb_mode;              /* model_checkpoint.mode */
    int reduce_lr;            /* reduce_lr_on_plateau = true */
    char rl_monitor[ST_MONITOR_MAX]; /* reduce_lr_on_plateau.monitor: val_loss */
    int rl_mode;
    float rl_factor;          /* .factor: 0.1 */
    int rl_patience;          /* .patience: 10 */
    float rl_min_lr;          /* .min_lr: 0 */
    int rl_cooldown;          /* .cooldown: 0 */
    float rl_min_delta;       /* .min_delta: 1e-4 */
    int terminate_on_nan;     /* terminate_on_nan = true: stop (exit 0) on a NaN/inf loss */
    int attention_dump;       /* attention_dump = K: first K validation rows' attention
                                 weights after every epoch (attention-epoch-NNNN.h5) */
    int es_given, rl_given;   /* during resolution: some "<callback>.<argument>" key seen */
} st_callbacks_cfg;

typedef struct st_ckpt_cfg {
    char dir[ST_PATH_MAX]; /* "" = no checkpoints */
    int every_steps;       /* 0 = only at epoch ends */
    int keep;              /* how many checkpoints to keep; default 3; 0 = all */
} st_ckpt_cfg;

/* Everything typed about a run. */
typedef struct st_settings {
    st_data_cfg data;
    st_train_cfg train;
    st_ckpt_cfg ckpt;
    st_callbacks_cfg cb;
} st_settings;

/* Defaults (Keras's: fit 1 epoch, batch 32, shuffle; compile: rmsprop), then [data], [train],
 * [checkpoint], [callbacks] of c in file order, rejecting unknown keys, bad values
 * ("origin:line: [train] batch_size = -3: must be an integer >= 1"), repeated meta sections
 * and sections that are no layer type. Layer sections are left to the model. */
int st_settings_resolve(st_settings *s, const st_config *c);

/* ---- each module's keys ---------------------------------------------------------------------
 * st_*_cfg_set: ST_OK, ST_ERR ("key = value: why" set) or ST_ENOKEY. st_*_cfg_keys: the key
 * names, "a, b, c", for "unknown key (known: ...)". */

/* optim.c. The optimizer key resets every optimizer-related value to that optimizer's
 * defaults, so st_optim_cfg_set_kind runs first, whatever the key order. A key of another
 * optimizer is an error ("not an option of optimizer adam (only of rmsprop)"). */
int st_optim_cfg_set_kind(st_optim_cfg *o, const char *val);
int st_optim_cfg_set(st_optim_cfg *o, const char *key, const char *val);
/* Checks across keys (clipnorm and global_clipnorm together); *bad_key: the key to blame. */
int st_optim_cfg_check(const st_optim_cfg *o, const char **bad_key);
const char *st_optim_cfg_keys(char *buf, size_t size);

/* loss.c: loss = <name>; the names are loss.c's table. */
int st_loss_cfg_set(st_train_cfg *t, const char *key, const char *val);
const char *st_loss_cfg_keys(char *buf, size_t size);
/* "binary_crossentropy, sparse_categorical_crossentropy, ..." */
const char *st_loss_names(char *buf, size_t size);

/* metrics.c: metrics = <list>, top_k = <k>. */
int st_metrics_cfg_set(st_train_cfg *t, const char *key, const char *val);
const char *st_metrics_cfg_keys(char *buf, size_t size);

/* callbacks.c: the learning-rate schedule keys of [train] and the [callbacks] section.
 * st_callbacks_cfg_finish turns the switches and given arguments into on/off. */
int st_schedule_cfg_set(st_train_cfg *t, const char *key, const char *val);
const char *st_schedule_cfg_keys(char *buf, size_t size);
void st_callbacks_cfg_defaults(st_callbacks_cfg *c);
int st_callbacks_cfg_set(st_callbacks_cfg *c, const char *key, const char *val);
void st_callbacks_cfg_finish(st_callbacks_cfg *c);
const char *st_callbacks_cfg_keys(char *buf, size_t size);

#endif
