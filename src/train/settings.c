/*
 * settings.c - the typed settings of a run (settings.h) from the sections of an st_config:
 * defaults, then [data], [train], [checkpoint] and [callbacks] in file order, each key handed to
 * the module that owns it, each failure located as "origin:line: [section] key = value: why"
 * ("--set section.key" for an override).
 *
 * Layout: a meta section is a list of modules (their st_*_cfg_set); a key goes to the first
 * module that knows it, and a key no module knows is answered with every module's key names.
 * The [data] and [checkpoint] keys and the [train] keys of the loop itself are this file's own
 * tables.
 *
 * What it does not do: INI syntax (src/io/config.c), layer sections (the model), checks that
 * need the data or the model (fit.c: monitors, metrics against the head).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/parse.h"
#include "core/xsum.h"
#include "seqtrain/error.h"
#include "layers/layer.h"
#include "seqtrain/train.h"
#include "train/preempt.h"
#include "train/settings.h"

/* ---- this file's tables ------------------------------------------------------------------------ */

/* Paths are kept as written (relative to the working directory, as Keras would open them). */
static int parse_path(const char *key, const char *val, void *field) {
    if (st_parse_string(key, val, field, ST_PATH_MAX) != ST_OK) return ST_ERR;
    if (!val[0]) {
        st_error_set("%s = %s: must name a file", key, val);
        return ST_ERR;
    }
    return ST_OK;
}

/* A split is an HDF5 group at the file's root. */
static int parse_split(const char *key, const char *val, void *field) {
    if (st_parse_string(key, val, field, sizeof ((st_data_cfg *)0)->train_split) != ST_OK)
        return ST_ERR;
    if (!val[0] || strchr(val, '/')) {
        st_error_set("%s = %s: must be a group name such as train (no '/')", key, val);
        return ST_ERR;
    }
    return ST_OK;
}

static const st_key k_data_keys[] = {
    ST_KEY_FUNC_ROW("path", st_data_cfg, path, parse_path),
    ST_KEY_FLOAT_ROW("validation_split", st_data_cfg, validation_split, 0, 1, ST_OPEN_HI),
    ST_KEY_FUNC_ROW("train_split", st_data_cfg, train_split, parse_split),
    ST_KEY_FUNC_ROW("test_split", st_data_cfg, test_split, parse_split),
    ST_KEY_INT_ROW("seq_len", st_data_cfg, seq_len, 1, INT_MAX),
    ST_KEY_INT_ROW("features", st_data_cfg, features, 0, INT_MAX),
    ST_KEY_BOOL_ROW("bucket_by_length", st_data_cfg, bucket_by_length),
    ST_KEY_INT_ROW("bucket_batches", st_data_cfg, bucket_batches, 1, INT_MAX),
    ST_KEY_END,
};

/* auto, or a boolean: -1, 0, 1. */
static int parse_auto_bool(const char *key, const char *val, void *field) {
    if (strcmp(val, "auto") == 0) return *(int *)field = -1, ST_OK;
    if (st_parse_bool(key, val, (int *)field) == ST_OK) return ST_OK;
    st_error_set("%s = %s: must be auto, true or false", key, val);
    return ST_ERR;
}

/* [train]: the arguments of Keras fit() that belong to the loop. */
static const st_key k_train_keys[] = {
    ST_KEY_INT_ROW("epochs", st_train_cfg, epochs, 1, INT_MAX),
    ST_KEY_INT_ROW("batch_size", st_train_cfg, batch_size, 1, INT_MAX),
    ST_KEY_U64_ROW("seed", st_train_cfg, seed),
    ST_KEY_BOOL_ROW("shuffle", st_train_cfg, shuffle),
    ST_KEY_INT_ROW("log_every_steps", st_train_cfg, log_every_steps, 0, INT_MAX),
    ST_KEY_FUNC_ROW("stop_signals", st_train_cfg, stop_signals, st_preempt_parse),
    ST_KEY_INT_ROW("collective_timeout", st_train_cfg, collective_timeout, 0, INT_MAX),
    ST_KEY_INT_ROW("startup_timeout", st_train_cfg, startup_timeout, 0, INT_MAX),
    ST_KEY_BOOL_ROW("deterministic", st_train_cfg, deterministic),
    ST_KEY_INT_ROW("block_rows", st_train_cfg, block_rows, 0, INT_MAX),
    ST_KEY_FUNC_ROW("shard_optimizer", st_train_cfg, shard_optimizer, parse_auto_bool),
    ST_KEY_FUNC_ROW("overlap", st_train_cfg, overlap, parse_auto_bool),
    ST_KEY_FLOAT_ROW("bucket_mb", st_train_cfg, bucket_mb, 0, 1024, ST_OPEN_LO),
    ST_KEY_FUNC_ROW("sparse_embedding", st_train_cfg, sparse_embedding, parse_auto_bool),
    ST_KEY_END,
};

static const st_key k_ckpt_keys[] = {
    ST_KEY_STRING_ROW("dir", st_ckpt_cfg, dir),
    ST_KEY_INT_ROW("every_steps", st_ckpt_cfg, every_steps, 0, INT_MAX),
    ST_KEY_INT_ROW("keep", st_ckpt_cfg, keep, 0, INT_MAX),
    ST_KEY_END,
};

/* ---- sections as lists of modules ------------------------------------------------------------ */

typedef int (*set_fn)(st_settings *s, const char *key, const char *val);
typedef const char *(*keys_fn)(char *buf, size_t size);

static int data_set(st_settings *s, const char *k, const char *v) {
    return st_keys_set(k_data_keys, &s->data, k, v);
}
static const char *data_keys(char *b, size_t n) { return st_keys_names(k_data_keys, b, n); }
static int train_set(st_settings *s, const char *k, const char *v) {
    return st_keys_set(k_train_keys, &s->train, k, v);
}
static const char *train_keys(char *b, size_t n) { return st_keys_names(k_train_keys, b, n); }
static int optim_set(st_settings *s, const char *k, const char *v) {
    return st_optim_cfg_set(&s->train.optim, k, v);
}
static int loss_set(st_settings *s, const char *k, const char *v) {
    return st_loss_cfg_set(&s->train, k, v);
}
static int metrics_set(st_settings *s, const char *k, const char *v) {
    return st_metrics_cfg_set(&s->train, k, v);
}
static int schedule_set(st_settings *s, const char *k, const char *v) {
    return st_schedule_cfg_set(&s->train, k, v);
}
static int ckpt_set(st_settings *s, const char *k, const char *v) {
    return st_keys_set(k_ckpt_keys, &s->ckpt, k, v);
}
static const char *ckpt_keys(char *b, size_t n) { return st_keys_names(k_ckpt_keys, b, n); }
static int callbacks_set(st_settings *s, const char *k, const char *v) {
    return st_callbacks_cfg_set(&s->cb, k, v);
}

typedef struct module {
    set_fn set;
    keys_fn keys;
} module;

typedef struct section {
    const char *name;
    module mod[6]; /* ends with {0} */
} section;

/* The order of the modules is the order of the names in "unknown key (known: ...)". */
static const section k_sections[] = {
    {"data", {{data_set, data_keys}}},
    {"train",
     {{train_set, train_keys},
      {optim_set, st_optim_cfg_keys},
      {loss_set, st_loss_cfg_keys},
      {metrics_set, st_metrics_cfg_keys},
      {schedule_set, st_schedule_cfg_keys}}},
    {"checkpoint", {{ckpt_set, ckpt_keys}}},
    {"callbacks", {{callbacks_set, st_callbacks_cfg_keys}}},
};

/* ---- locating messages ------------------------------------------------------------------------ */

/* "config.ini:7" for a key from the file, "--set train.epochs" for an override. */
static void where(const st_config *c, const st_section *s, const st_kv *kv, char *buf,
                  size_t n) {
    if (kv->line > 0)
        snprintf(buf, n, "%s:%d", c->origin, kv->line);
    else
        snprintf(buf, n, "--set %s.%s", s->name, kv->key);
}

/* Puts "where: [section] " before the module's "key = value: why". Returns ST_ERR. */
static int locate(const st_config *c, const st_section *s, const st_kv *kv) {
    char msg[1024], at[ST_PATH_MAX + 160];
    snprintf(msg, sizeof msg, "%s", st_error_get());
    where(c, s, kv, at, sizeof at);
    st_error_set("%s: [%s] %s", at, s->name, msg);
    return ST_ERR;
}

static int unknown_key(const st_config *c, const st_section *s, const st_kv *kv,
                       const section *sec) {
    char known[1536] = "", part[1024], at[ST_PATH_MAX + 160];
    size_t used = 0;
    for (int m = 0; sec->mod[m].set && used + 1 < sizeof known; m++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", m ? ", " : "",
                                 sec->mod[m].keys(part, sizeof part));
    where(c, s, kv, at, sizeof at);
    st_error_set("%s: [%s] unknown key '%s' (known: %s)", at, s->name, kv->key, known);
    return ST_ERR;
}

static const st_kv *kv_find(const st_section *s, const char *key) {
    for (int i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0) return &s->kv[i];
    return NULL;
}

static int resolve_section(st_settings *S, const st_config *c, const st_section *s,
                           const section *sec) {
    /* The optimizer's defaults replace everything optimizer-related, so the optimizer is
     * applied first whatever the order of the keys. */
    const st_kv *okv = strcmp(s->name, "train") == 0 ? kv_find(s, "optimizer") : NULL;
    if (okv && st_optim_cfg_set_kind(&S->train.optim, okv->val) != ST_OK)
        return locate(c, s, okv);
    for (int i = 0; i < s->nkv; i++) {
        const st_kv *kv = &s->kv[i];
        int rc = ST_ENOKEY;
        for (int m = 0; rc == ST_ENOKEY && sec->mod[m].set; m++)
            rc = sec->mod[m].set(S, kv->key, kv->val);
        if (rc == ST_ENOKEY) return unknown_key(c, s, kv, sec);
        if (rc != ST_OK) return locate(c, s, kv);
    }
    const char *bad = NULL;
    if (okv || strcmp(s->name, "train") == 0) {
        if (st_optim_cfg_check(&S->train.optim, &bad) != ST_OK) {
            const st_kv *kv = kv_find(s, bad);
            char msg[512], at[ST_PATH_MAX + 160];
            snprintf(msg, sizeof msg, "%s", st_error_get());
            where(c, s, kv, at, sizeof at);
            st_error_set("%s: [%s] %s = %s: %s", at, s->name, kv->key, kv->val, msg);
            return ST_ERR;
        }
    }
    return ST_OK;
}

/* Defaults are Keras's (fit: 1 epoch, batch 32, shuffle; compile: rmsprop), so a config that
 * names only a loss and a file behaves as the equivalent Keras script. */
static void defaults(st_settings *S) {
    memset(S, 0, sizeof *S);
    strcpy(S->data.train_split, "train");
    strcpy(S->data.test_split, "test");
    S->data.bucket_batches = 32;
    S->train.epochs = 1;
    S->train.batch_size = 32; /* Keras fit() */
    S->train.top_k = 5;
    S->train.seed = 42;
    S->train.shuffle = 1;
    S->train.collective_timeout = 300;
    S->train.startup_timeout = 600;
    /* On by default: bitwise equality across rank counts costs at most 4% per step on the
     * benchmark models, and most run faster (README, "Bitwise the same weights"). */
    S->train.deterministic = 1;
    S->train.shard_optimizer = -1;
    /* Off: measured slower than the blocking step on every benchmark model with Open MPI 4.1
     * (README, "Scaling past one node"); auto or true to ask for it. */
    S->train.overlap = 0;
    S->train.sparse_embedding = -1;
    S->train.bucket_mb = ST_BUCKET_MB_DEFAULT;
    S->train.decay_steps = 1000;
    S->train.decay_rate = 0.96f;
    S->train.stop_signals = ST_SIG_DEFAULT;
    st_metrics_parse("", 5, &S->train.metrics);
    st_optim_cfg_defaults(&S->train.optim, ST_OPT_RMSPROP); /* Keras compile() */
    S->ckpt.keep = 3;
    st_callbacks_cfg_defaults(&S->cb);
}

int st_settings_resolve(st_settings *S, const st_config *c) {
    defaults(S);
    /* File order, so the first problem in the file is the one reported. */
    for (int i = 0; i < c->nsec; i++) {
        const st_section *s = &c->sec[i];
        const section *sec = NULL;
        for (size_t j = 0; j < sizeof k_sections / sizeof *k_sections; j++)
            if (strcmp(s->name, k_sections[j].name) == 0) sec = &k_sections[j];
        if (!sec) {
            if (st_layer_find(s->name)) continue; /* a layer: the model's */
            st_error_set("%s:%d: unknown section [%s] (layer types: %s; other sections: data, "
                         "train, checkpoint, callbacks)", c->origin, s->line, s->name,
                         st_layer_types());
            return ST_ERR;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(c->sec[j].name, s->name) == 0) {
                st_error_set("%s:%d: duplicate section [%s] (first at line %d)", c->origin,
                             s->line, s->name, c->sec[j].line);
                return ST_ERR;
            }
        }
        if (resolve_section(S, c, s, sec) != ST_OK) return ST_ERR;
    }
    st_callbacks_cfg_finish(&S->cb);
    S->train.metrics.top_k = S->train.top_k;
    /* Without a file, seq_len (and features) describe generated data for --benchmark. */
    if (!S->data.path[0] && !S->data.seq_len) {
        st_error_set("%s: [data] path is required (the HDF5 dataset file)", c->origin);
        return ST_ERR;
    }
    /* Each gradient element sums one fixed-point term per block (core/xsum.h). */
    const long br = st_train_block_rows(&S->train),
               nblk = ((long)S->train.batch_size + br - 1) / br;
    if (S->train.deterministic && nblk > ST_FX_MAX_TERMS) {
        st_error_set("%s: [train] block_rows = %d: batch_size %d makes %ld blocks per batch, "
                     "more than the %d deterministic reduction can sum exactly; raise "
                     "block_rows to at least %d", c->origin, S->train.block_rows,
                     S->train.batch_size, nblk, ST_FX_MAX_TERMS,
                     (S->train.batch_size + ST_FX_MAX_TERMS - 1) / ST_FX_MAX_TERMS);
        return ST_ERR;
    }
    if (!S->train.loss_set) {
        char names[256];
        st_loss_names(names, sizeof names);
        /* "a, b, c, d" -> "a, b, c or d" */
        char *last = strrchr(names, ',');
        char tail[64] = "";
        if (last) {
            snprintf(tail, sizeof tail, " or%s", last + 1);
            *last = 0;
        }
        st_error_set("%s: [train] loss is required (%s%s)", c->origin, names, tail);
        return ST_ERR;
    }
    return ST_OK;
}

int st_train_block_rows(const st_train_cfg *t) {
    /* A block larger than the batch is the batch: one block, whatever the key says. */
    if (t->block_rows > 0) return t->block_rows < t->batch_size ? t->block_rows : t->batch_size;
    return (int)(((long)t->batch_size + ST_AUTO_BLOCKS - 1) / ST_AUTO_BLOCKS);
}

int st_train_config_check(const st_config *c) {
    st_settings S;
    return st_settings_resolve(&S, c);
}
