/*
 * config.h - the INI run description.
 *
 * A config reads like a Keras Sequential model: [data], [train], [checkpoint], then one section
 * per layer in file order. Sections may repeat ([lstm] twice stacks two LSTMs), so the file is
 * kept as an ordered list of sections, each with its keys and the line every key came from; the
 * typed settings of [data]/[train]/[checkpoint] are parsed from that list by st_config_resolve.
 * Layer sections are interpreted by the model (model.h), which reports bad keys with the lines
 * kept here. Parsing is done by inih (src/io/config.c is the only file that includes ini.h).
 */
#ifndef SEQTRAIN_CONFIG_H
#define SEQTRAIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/optim.h"

#define ST_PATH_MAX 1024

typedef struct st_kv {
    char *key;
    char *val;
    int line; /* 0 when the value came from --set */
} st_kv;

typedef struct st_section {
    char *name; /* as written: "train", "lstm", ... */
    int line;
    int nkv;
    st_kv *kv;
} st_section;

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

typedef struct st_train_cfg {
    int epochs;          /* default 1 */
    int batch_size;      /* GLOBAL batch, split across ranks; default 32 (Keras) */
    char loss[48];       /* binary_crossentropy | sparse_categorical_crossentropy |
                            categorical_crossentropy | mse */
    char metrics[160];   /* "accuracy, auc, ..." (metrics.h) or empty */
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
} st_train_cfg;

enum { ST_LR_CONSTANT = 0, ST_LR_STEP, ST_LR_EXPONENTIAL, ST_LR_COSINE };

/* How a callback compares values of its monitored quantity. */
enum { ST_MODE_AUTO = 0, ST_MODE_MIN, ST_MODE_MAX };

/* [callbacks]: Keras callbacks, keys "<callback>.<argument>" with Keras's names and defaults.
 * A callback is on when its switch is true, or when one of its keys is given and the switch
 * is not. */
typedef struct st_callbacks_cfg {
    int early_stopping;       /* early_stopping = true */
    char es_monitor[48];      /* early_stopping.monitor: default val_loss */
    int es_mode;              /* .mode: auto | min | max */
    float es_min_delta;       /* .min_delta: 0 */
    int es_patience;          /* .patience: 0 */
    int es_restore_best;      /* .restore_best_weights: false */
    int save_best;            /* model_checkpoint.save_best_only = true: writes best.h5 */
    char sb_monitor[48];      /* model_checkpoint.monitor: val_loss */
    int sb_mode;              /* model_checkpoint.mode */
    int reduce_lr;            /* reduce_lr_on_plateau = true */
    char rl_monitor[48];      /* reduce_lr_on_plateau.monitor: val_loss */
    int rl_mode;
    float rl_factor;          /* .factor: 0.1 */
    int rl_patience;          /* .patience: 10 */
    float rl_min_lr;          /* .min_lr: 0 */
    int rl_cooldown;          /* .cooldown: 0 */
    float rl_min_delta;       /* .min_delta: 1e-4 */
    int terminate_on_nan;     /* terminate_on_nan = true: stop (exit 0) on a NaN/inf loss */
    int attention_dump;       /* attention_dump = K: first K validation rows' attention
                                 weights after every epoch (attention-epoch-NNNN.h5) */
} st_callbacks_cfg;

typedef struct st_ckpt_cfg {
    char dir[ST_PATH_MAX]; /* "" = no checkpoints */
    int every_steps;       /* 0 = only at epoch ends */
    int keep;              /* how many checkpoints to keep; default 3; 0 = all */
} st_ckpt_cfg;

typedef struct st_config {
    char origin[ST_PATH_MAX]; /* file name used in messages */
    int nsec;
    st_section *sec;
    st_data_cfg data;
    st_train_cfg train;
    st_ckpt_cfg ckpt;
    st_callbacks_cfg cb;
} st_config;

/* Parses the file (or the text) into c. Returns ST_OK or ST_ERR with a message naming
 * origin:line. The caller frees c with st_config_free even on failure. */
int st_config_load(st_config *c, const char *path);
int st_config_load_string(st_config *c, const char *text, const char *origin);
/* Applies "section.key=value" (section = a section name, first of that name, or a layer name
 * such as lstm_2). Adds the key if the section lacks it. */
int st_config_set(st_config *c, const char *assignment);
/* Parses [data], [train], [checkpoint], [callbacks] into c->data/train/ckpt/cb with defaults,
 * rejecting unknown keys and bad values ("origin:line: [train] batch_size = -3: must be >= 1").
 * Layer sections are left for the model. */
int st_config_resolve(st_config *c);
/* True for the sections that are not layers. */
int st_config_is_meta(const char *section);
/* THE layer-naming rule (src/io/config_names.c), shared by the model and by --set: section i's
 * `name` key if it has one, else "<section>_<k>" where k counts the sections of that name up to
 * and including i ("lstm_2" for the second [lstm]). Writes into out[outlen] (truncating). */
void st_config_layer_name(const st_config *c, int i, char *out, size_t outlen);
/* Canonical INI text of the config (overrides applied), malloc'd; stored in checkpoints. */
char *st_config_text(const st_config *c);
void st_config_free(st_config *c);

#endif
