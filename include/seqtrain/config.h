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
    char metrics[64];    /* "accuracy" (or empty) */
    uint64_t seed;       /* default 42 */
    int shuffle;         /* default 1 */
    st_optim_cfg optim;  /* optimizer = ..., learning_rate = ..., and its own keys */
} st_train_cfg;

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
} st_config;

/* Parses the file (or the text) into c. Returns ST_OK or ST_ERR with a message naming
 * origin:line. The caller frees c with st_config_free even on failure. */
int st_config_load(st_config *c, const char *path);
int st_config_load_string(st_config *c, const char *text, const char *origin);
/* Applies "section.key=value" (section = a section name, first of that name, or a layer name
 * such as lstm_2). Adds the key if the section lacks it. */
int st_config_set(st_config *c, const char *assignment);
/* Parses [data], [train], [checkpoint] into c->data/train/ckpt with defaults, rejecting unknown
 * keys and bad values ("origin:line: [train] batch_size = -3: must be >= 1"). Layer sections are
 * left for the model. */
int st_config_resolve(st_config *c);
/* True for the sections that are not layers. */
int st_config_is_meta(const char *section);
/* Canonical INI text of the config (overrides applied), malloc'd; stored in checkpoints. */
char *st_config_text(const st_config *c);
void st_config_free(st_config *c);

#endif
