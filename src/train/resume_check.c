/*
 * resume_check.c - a resumed run against the config stored in its checkpoint
 * (resume_check.h says what is refused and what is warned, and why).
 *
 * Two kinds of keys:
 *  - [data], [train], [checkpoint], [callbacks]: one row of k_rules per key with a policy
 *    (a row with key NULL covers the rest of its section). A row with a field is compared on
 *    the resolved settings of both configs (st_settings_resolve of each), so spellings and
 *    defaults do not matter; a row without one compares the text of the value.
 *  - layer sections: paired in order; the type and the resolved name must match, then for every
 *    key written in either section, the old layer is rebuilt with that one key as the new config
 *    has it (or without it) and compared with the old layer as it was (st_layer_set of every
 *    key, memcmp of the result). That is the layer's own parser deciding, so a new layer key
 *    needs no row here. The model-level keys weights and vocab (pre-trained vectors, read only
 *    when training starts from scratch) are warned.
 *
 * The data: [data] path names a file, it does not identify it (a job staged to node-local disk
 * gets a new path on every requeue; a file replaced under the same name is other data). So a
 * checkpoint carries the data's identity (resume_check.h: rows, shapes, a CRC of its first and
 * last rows), and that is compared: other data is refused whatever the path says, a changed
 * path to the same data is a warning. Checkpoints without it fall back to the path's text.
 *
 * Not here: the checkpoint's contents beyond its config text and data identity (checkpoint.c
 * checks the tensors against the model, fit_state.c the loop's state).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32.h"
#include "layers/layer.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "train/resume_check.h"

typedef enum {
    RS_REFUSE,     /* changes the model, the data, the loss or the optimizer's state */
    RS_REFUSE_MID, /* changes the order of the rest of a half-done epoch: refused mid-epoch */
    RS_WARN,       /* safe: a warning names it */
    RS_QUIET,      /* how the step is carried out, not what it computes: nothing to say */
} rs_policy;

/* How a row's values are compared (and printed): on the resolved settings, or as text. */
typedef enum { F_TEXT, F_INT, F_BOOL, F_U64, F_FLOAT, F_STR, F_LOSS, F_OPTIM } rs_field;

typedef struct rs_rule {
    const char *section;
    const char *key; /* NULL: every other key of the section */
    rs_policy policy;
    rs_field field;
    size_t offset; /* into st_settings, when field != F_TEXT */
    const char *why; /* the end of the line: why refused, or a note after a warning */
} rs_rule;

#define AT(f) offsetof(st_settings, f)
static const char k_data_why[] = "the checkpoint's weights were trained on other data; train "
                                 "from scratch into another [checkpoint] dir";
static const char k_model_why[] = "it changes the model; train from scratch into another "
                                  "[checkpoint] dir";
static const char k_mid_why[] = "resuming in the middle of an epoch with another value would "
                                "skip or repeat samples; keep the value, or resume from an "
                                "epoch-end checkpoint";

static const rs_rule k_rules[] = {
    {"data", "path", RS_REFUSE, F_STR, AT(data.path), k_data_why},
    {"data", "train_split", RS_REFUSE, F_STR, AT(data.train_split), k_data_why},
    {"data", "validation_split", RS_REFUSE, F_FLOAT, AT(data.validation_split),
     "it moves rows between training and validation"},
    {"data", "bucket_by_length", RS_REFUSE_MID, F_BOOL, AT(data.bucket_by_length), k_mid_why},
    {"data", "bucket_batches", RS_REFUSE_MID, F_INT, AT(data.bucket_batches), k_mid_why},
    {"data", NULL, RS_WARN, F_TEXT, 0, NULL}, /* test_split; seq_len, features: benchmark */
    {"train", "loss", RS_REFUSE, F_LOSS, AT(train.loss), k_model_why},
    {"train", "optimizer", RS_REFUSE, F_OPTIM, AT(train.optim.kind),
     "the checkpoint's optimizer state belongs to the other optimizer"},
    {"train", "batch_size", RS_REFUSE_MID, F_INT, AT(train.batch_size), k_mid_why},
    {"train", "shuffle", RS_REFUSE_MID, F_BOOL, AT(train.shuffle), k_mid_why},
    {"train", "seed", RS_WARN, F_U64, AT(train.seed),
     "; the checkpoint's seed goes on ordering the data and drawing dropout masks"},
    /* The same weights either way (bitwise in deterministic mode): a resume on other nodes
     * may well choose otherwise. */
    {"train", "shard_optimizer", RS_QUIET, F_TEXT, 0, NULL},
    {"train", "overlap", RS_QUIET, F_TEXT, 0, NULL},
    {"train", "bucket_mb", RS_QUIET, F_TEXT, 0, NULL},
    {"train", "sparse_embedding", RS_QUIET, F_TEXT, 0, NULL},
    {"train", NULL, RS_WARN, F_TEXT, 0, NULL}, /* epochs, learning rate, metrics, ... */
    {"checkpoint", NULL, RS_WARN, F_TEXT, 0, NULL},
    {"callbacks", NULL, RS_WARN, F_TEXT, 0, NULL},
};
#undef AT

static const char k_same_data[] = "; the data is the same (rows, shapes and a checksum of its "
                                  "first and last rows match)";
static const char k_vectors_note[] = "; pre-trained vectors are read only when training starts "
                                     "from scratch";

/* The row of (section, key): its own row, else the section's catch-all. Every meta section has
 * a catch-all, so every key has a rule (an unknown key never got this far: both configs were
 * resolved). */
static const rs_rule *rule_for(const char *section, const char *key) {
    const rs_rule *any = NULL;
    for (size_t i = 0; i < sizeof k_rules / sizeof *k_rules; i++) {
        const rs_rule *r = &k_rules[i];
        if (strcmp(r->section, section) != 0) continue;
        if (!r->key) any = r;
        else if (strcmp(r->key, key) == 0) return r;
    }
    return any;
}

static const st_section *section_find(const st_config *c, const char *name) {
    for (int i = 0; i < c->nsec; i++)
        if (strcmp(c->sec[i].name, name) == 0) return &c->sec[i];
    return NULL;
}

static const st_kv *kv_find(const st_section *s, const char *key) {
    for (int i = 0; s && i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0) return &s->kv[i];
    return NULL;
}

/* Where the new config says it: "cfg.ini:12", "--set train.batch_size" or just "cfg.ini". */
static void where(const st_config *c, const char *sec, const st_kv *kv, char *buf, size_t n) {
    if (kv && kv->line > 0)
        snprintf(buf, n, "%s:%d", c->origin, kv->line);
    else if (kv)
        snprintf(buf, n, "--set %s.%s", sec, kv->key);
    else
        snprintf(buf, n, "%s", c->origin);
}

/* Typed equality of a row's field in two resolved settings. Floats compare with ==: both went
 * through the same parser, so equal texts give equal bits, and 0.1 vs 0.10 are equal. */
static int field_equal(const rs_rule *r, const st_settings *a, const st_settings *b) {
    const char *pa = (const char *)a + r->offset, *pb = (const char *)b + r->offset;
    switch (r->field) {
    case F_INT:
    case F_BOOL:
    case F_LOSS:
    case F_OPTIM: return *(const int *)pa == *(const int *)pb;
    case F_U64: return *(const uint64_t *)pa == *(const uint64_t *)pb;
    case F_FLOAT: return *(const float *)pa == *(const float *)pb;
    case F_STR: return strcmp(pa, pb) == 0;
    case F_TEXT: break;
    }
    return 1;
}

/* The value as the message shows it: resolved for a typed row, else the text (or "not set"). */
static const char *show(const rs_rule *r, const st_settings *s, const st_kv *kv, char *buf,
                        size_t n) {
    const char *p = (const char *)s + (r ? r->offset : 0);
    switch (r ? r->field : F_TEXT) {
    case F_INT: snprintf(buf, n, "%d", *(const int *)p); break;
    case F_BOOL: snprintf(buf, n, "%s", *(const int *)p ? "true" : "false"); break;
    case F_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case F_FLOAT: snprintf(buf, n, "%g", (double)*(const float *)p); break;
    case F_STR: snprintf(buf, n, "%s", p); break;
    case F_LOSS: snprintf(buf, n, "%s", st_loss_name(*(const st_loss_kind *)p)); break;
    case F_OPTIM: snprintf(buf, n, "%s", st_optim_name(*(const st_opt_kind *)p)); break;
    case F_TEXT: snprintf(buf, n, "%s", kv ? kv->val : "(not set)"); break;
    }
    return buf;
}

typedef struct rs_ctx {
    const char *ckpt;
    int have_id;                    /* the checkpoint carries a data identity */
    const st_config *oc, *nc;       /* the checkpoint's config, the new one */
    const st_settings *os, *ns;
    const st_train_state *ts;       /* NULL: before loading */
    int warn;                       /* 0: refusals only, 1: warnings only (a second pass, so
                                       that no warning precedes a refusal) */
} rs_ctx;

/* One differing key: refused (ST_ERR, message set), warned, or left for the other phase.
 * Phase 1 (no ts) refuses only RS_REFUSE; phase 2 refuses RS_REFUSE_MID when the checkpoint is
 * mid-epoch, and its warning pass warns everything that was not refused. label: " lstm_1:" for
 * a layer key, "" for a meta key. */
static int differ(const rs_ctx *x, rs_policy pol, const char *sec, const char *label,
                  const char *key, const char *oldv, const char *newv, const st_kv *nkv,
                  const char *why) {
    if (pol == RS_QUIET) return ST_OK;
    int mid = x->ts && x->ts->step_in_epoch > 0;
    int refuse = x->ts ? pol == RS_REFUSE_MID && mid : pol == RS_REFUSE;
    char at[ST_PATH_MAX + 96];
    where(x->nc, sec, nkv, at, sizeof at);
    if (refuse && !x->warn) {
        st_error_set("%s: cannot resume: [%s]%s %s = %s, but %s was written with %s = %s%s: %s",
                     at, sec, label, key, newv, x->ckpt, key, oldv,
                     mid ? " in the middle of an epoch" : "", why);
        return ST_ERR;
    }
    if (x->warn && !refuse && pol != RS_REFUSE)
        ST_LOG(ST_LOG_WARN, "warning: resuming %s with [%s]%s %s = %s (it was %s)%s\n",
               x->ckpt, sec, label, key, newv, oldv, pol == RS_WARN && why ? why : "");
    return ST_OK;
}

/* Every key written in either config's [sec]: the old section's keys, then the new section's
 * keys the old one lacks (a key left out on one side compares against its default). */
static int compare_section(const rs_ctx *x, const char *sec) {
    const st_section *os = section_find(x->oc, sec), *ns = section_find(x->nc, sec);
    for (int pass = 0; pass < 2; pass++) {
        const st_section *s = pass ? ns : os;
        for (int i = 0; s && i < s->nkv; i++) {
            const char *key = s->kv[i].key;
            if (pass && kv_find(os, key)) continue; /* seen in the first pass */
            const st_kv *okv = kv_find(os, key), *nkv = kv_find(ns, key);
            const rs_rule *r = rule_for(sec, key);
            rs_policy pol = r->policy;
            /* The data's identity was compared (compare_data): the path is only a name. */
            if (x->have_id && r->offset == offsetof(st_settings, data.path) && r->field == F_STR)
                pol = RS_WARN;
            int same = r->field != F_TEXT
                           ? field_equal(r, x->os, x->ns)
                           : (okv && nkv ? strcmp(okv->val, nkv->val) == 0 : !okv && !nkv);
            if (same) continue;
            char ov[ST_PATH_MAX + 16], nv[ST_PATH_MAX + 16];
            if (differ(x, pol, sec, "", key, show(r, x->os, okv, ov, sizeof ov),
                       show(r, x->ns, nkv, nv, sizeof nv), nkv,
                       pol == r->policy ? r->why : k_same_data) != ST_OK)
                return ST_ERR;
        }
    }
    return ST_OK;
}

/* Layer section s of c, built from its keys, with `key` replaced by repl's value (repl NULL:
 * left out). ST_ERR when a value does not apply (then the layers differ). */
static int layer_with(const st_config *c, int s, const char *key, const st_kv *repl,
                      st_layer *L) {
    const st_section *sec = &c->sec[s];
    const st_layer_ops *ops = st_layer_find(sec->name);
    char name[ST_NAME_MAX];
    st_config_layer_name(c, s, name, sizeof name);
    st_layer_create(L, ops, name);
    for (int i = 0; i < sec->nkv; i++) {
        const st_kv *kv = &sec->kv[i];
        if (ops->takes_vectors && (!strcmp(kv->key, "weights") || !strcmp(kv->key, "vocab")))
            continue; /* model-level keys: files, not the layer's math */
        if (key && strcmp(kv->key, key) == 0) continue;
        if (st_layer_set(L, kv->key, kv->val) != ST_OK) return ST_ERR;
    }
    if (repl && st_layer_set(L, repl->key, repl->val) != ST_OK) return ST_ERR;
    return ST_OK;
}

/* The indices of c's layer sections, in order; returns their count. */
static int layer_sections(const st_config *c, int *idx) {
    int n = 0;
    for (int i = 0; i < c->nsec; i++)
        if (!st_config_is_meta(c->sec[i].name)) idx[n++] = i;
    return n;
}

static int compare_layer(const rs_ctx *x, int os, int ns) {
    const st_section *osec = &x->oc->sec[os], *nsec = &x->nc->sec[ns];
    st_layer *A = st_malloc(2 * sizeof *A), *C = A + 1;
    char name[ST_NAME_MAX], label[ST_NAME_MAX + 4];
    st_config_layer_name(x->nc, ns, name, sizeof name);
    snprintf(label, sizeof label, " %s:", name);
    int rc = layer_with(x->oc, os, NULL, NULL, A);
    if (rc != ST_OK) {
        st_error_prefix("%s: its config's [%s]", x->ckpt, osec->name);
        goto done;
    }
    const int vec = A->ops->takes_vectors;
    for (int pass = 0; pass < 2 && rc == ST_OK; pass++) {
        const st_section *s = pass ? nsec : osec;
        for (int i = 0; i < s->nkv && rc == ST_OK; i++) {
            const char *key = s->kv[i].key;
            if (pass && kv_find(osec, key)) continue;
            const st_kv *okv = kv_find(osec, key), *nkv = kv_find(nsec, key);
            const char *ov = okv ? okv->val : "(not set)", *nv = nkv ? nkv->val : "(not set)";
            if (vec && (!strcmp(key, "weights") || !strcmp(key, "vocab"))) {
                if (!(okv && nkv && strcmp(okv->val, nkv->val) == 0))
                    rc = differ(x, RS_WARN, nsec->name, label, key, ov, nv, nkv,
                                k_vectors_note);
                continue;
            }
            /* Both layers start from st_layer_create (zeroed, then the type's defaults) and
             * differ only where a key wrote, so memcmp of the whole struct is a field-by-field
             * comparison that needs no list of the type's fields. */
            int same = layer_with(x->oc, os, key, nkv, C) == ST_OK &&
                       memcmp(A, C, sizeof *A) == 0;
            if (!same)
                rc = differ(x, RS_REFUSE, nsec->name, label, key, ov, nv, nkv, k_model_why);
        }
    }
done:
    st_free(A);
    return rc;
}

/* Layers paired by position. A type or name that differs, or a layer added or removed, is
 * refused at the first position where the lists part: an inserted dropout layer is named there
 * (the checkpoint's tensors would not even load into the new list). */
static int compare_layers(const rs_ctx *x) {
    int *oi = st_malloc((size_t)(x->oc->nsec + x->nc->nsec + 2) * sizeof(int));
    int *ni = oi + x->oc->nsec + 1;
    int no = layer_sections(x->oc, oi), nn = layer_sections(x->nc, ni), rc = ST_OK;
    for (int l = 0; rc == ST_OK && l < (no > nn ? no : nn); l++) {
        char oname[ST_NAME_MAX] = "", nname[ST_NAME_MAX] = "";
        const char *otype = l < no ? x->oc->sec[oi[l]].name : NULL;
        const char *ntype = l < nn ? x->nc->sec[ni[l]].name : NULL;
        if (otype) st_config_layer_name(x->oc, oi[l], oname, sizeof oname);
        if (ntype) st_config_layer_name(x->nc, ni[l], nname, sizeof nname);
        if (otype && ntype && st_layer_find(otype) == st_layer_find(ntype) &&
            strcmp(oname, nname) == 0) {
            rc = compare_layer(x, oi[l], ni[l]);
            continue;
        }
        char at[ST_PATH_MAX + 32];
        if (ntype)
            snprintf(at, sizeof at, "%s:%d", x->nc->origin, x->nc->sec[ni[l]].line);
        else
            snprintf(at, sizeof at, "%s", x->nc->origin);
        st_error_set("%s: cannot resume: layer %d is %s%s%s%s, but %s was written with %s%s%s%s "
                     "(%d layers, the config has %d): %s", at, l + 1, ntype ? "[" : "",
                     ntype ? ntype : "missing", ntype ? "] " : "", nname, x->ckpt,
                     otype ? "[" : "no such layer", otype ? otype : "", otype ? "] " : "", oname,
                     no, nn, k_model_why);
        rc = ST_ERR;
    }
    st_free(oi);
    return rc;
}

/* ---- the data's identity ------------------------------------------------------------------ */

/* CRC-32s of rows [lo, hi) of s: x's values row-major (ids, or features as float32) chained
 * into *cx, y's into *cy. Read through b in chunks of b->maxB rows; rows: b->maxB scratch. */
static int sample_crc(const st_split *s, st_batch *b, size_t *rows, size_t lo, size_t hi,
                      uint32_t *cx, uint32_t *cy) {
    const size_t Te = (size_t)(s->T ? s->T : 1), F = (size_t)s->F;
    const size_t yl = (size_t)(s->yT ? s->yT : 1);
    b->T = s->T;
    b->yT = s->yT;
    for (size_t r = lo; r < hi;) {
        int n = hi - r < (size_t)b->maxB ? (int)(hi - r) : b->maxB;
        for (int i = 0; i < n; i++) rows[i] = r + (size_t)i;
        if (st_split_read(s, rows, n, b) != ST_OK) return ST_ERR;
        if (s->tokens) {
            *cx = st_crc32(*cx, b->tok, (size_t)n * Te * F * sizeof(int32_t));
        } else { /* b->x is time-major (T, n, F): row by row, so n does not matter */
            for (int i = 0; i < n; i++)
                for (size_t t = 0; t < Te; t++)
                    *cx = st_crc32(*cx, b->x + (t * (size_t)n + (size_t)i) * F,
                                   F * sizeof(float));
        }
        *cy = st_crc32(*cy, b->y, (size_t)n * yl * sizeof(int32_t));
        r += (size_t)n;
    }
    return ST_OK;
}

/* The first and last up to ST_DATA_ID_ROWS rows of s. */
static int split_crc(const st_split *s, st_batch *b, size_t *rows, int64_t *cx, int64_t *cy) {
    uint32_t x = 0, y = 0;
    size_t head = s->n < ST_DATA_ID_ROWS ? s->n : ST_DATA_ID_ROWS;
    size_t tail = s->n - head < ST_DATA_ID_ROWS ? head : s->n - ST_DATA_ID_ROWS;
    int rc = sample_crc(s, b, rows, 0, head, &x, &y);
    if (rc == ST_OK) rc = sample_crc(s, b, rows, tail, s->n, &x, &y);
    *cx = x;
    *cy = y;
    return rc;
}

int st_data_identity(st_run *R, int64_t *id) {
    const st_split *t = &R->train, *v = R->valid.x >= 0 ? &R->valid : NULL;
    memset(id, 0, ST_DATA_ID_N * sizeof *id);
    id[ST_DID_ROWS] = (int64_t)t->n;
    id[ST_DID_NTRAIN] = (int64_t)R->ntrain;
    id[ST_DID_VROWS] = v ? (int64_t)v->n : 0;
    id[ST_DID_NVAL] = (int64_t)R->nval;
    id[ST_DID_T] = t->T;
    id[ST_DID_F] = t->F;
    id[ST_DID_TOKENS] = t->tokens;
    id[ST_DID_YT] = t->yT;
    id[ST_DID_CLASSES] = R->ds.num_classes;
    id[ST_DID_VOCAB] = R->ds.vocab_size;
    int rc = split_crc(t, &R->batch, R->rows, &id[ST_DID_CRC_X], &id[ST_DID_CRC_Y]);
    /* The batch holds labels of the training split's shape: a /valid of another label shape
     * (which validation cannot use either) is identified by its counts alone. */
    if (rc == ST_OK && v && v->yT == t->yT)
        rc = split_crc(v, &R->batch, R->rows, &id[ST_DID_CRC_VX], &id[ST_DID_CRC_VY]);
    R->batch.T = t->T;
    R->batch.yT = t->yT;
    return rc;
}

/* The first difference between the checkpoint's data (o) and this run's (n), as a phrase. */
static void data_diff(const int64_t *o, const int64_t *n, const char *split, char *buf,
                      size_t len) {
    static const struct {
        int i;
        const char *what;
    } k[] = {
        {ST_DID_ROWS, "rows in /%s"}, {ST_DID_NTRAIN, "training rows of /%s"},
        {ST_DID_VROWS, "rows in /valid%.0s"}, {ST_DID_NVAL, "validation rows%.0s"},
        {ST_DID_T, "steps per row (T) of /%s/x"}, {ST_DID_F, "features per step of /%s/x"},
        {ST_DID_TOKENS, "token ids (1) or features (0) in /%s/x"},
        {ST_DID_YT, "labels per row of /%s/y (0: one)"}, {ST_DID_CLASSES, "num_classes%.0s"},
        {ST_DID_VOCAB, "vocab_size%.0s"},
    };
    for (size_t j = 0; j < sizeof k / sizeof *k; j++) {
        if (o[k[j].i] == n[k[j].i]) continue;
        char what[96];
        snprintf(what, sizeof what, k[j].what, split);
        snprintf(buf, len, "%s: %lld, the checkpoint's data had %lld", what,
                 (long long)n[k[j].i], (long long)o[k[j].i]);
        return;
    }
    static const struct {
        int i;
        const char *ds;
    } c[] = {{ST_DID_CRC_X, "/%s/x"}, {ST_DID_CRC_Y, "/%s/y"}, {ST_DID_CRC_VX, "/valid/x%.0s"},
             {ST_DID_CRC_VY, "/valid/y%.0s"}};
    for (size_t j = 0; j < sizeof c / sizeof *c; j++) {
        if (o[c[j].i] == n[c[j].i]) continue;
        char ds[64];
        snprintf(ds, sizeof ds, c[j].ds, split);
        snprintf(buf, len, "same shapes, but the values of %s differ (crc32 of its first and "
                 "last %d rows %08llx, the checkpoint's data %08llx)", ds, ST_DATA_ID_ROWS,
                 (unsigned long long)n[c[j].i], (unsigned long long)o[c[j].i]);
        return;
    }
    snprintf(buf, len, "(no difference)");
}

/* The checkpoint's data identity (old) against this run's (id). Other data: the checkpoint is
 * verified first (a damaged identity is reported as damage), then one line. */
static int compare_data(const rs_ctx *x, const int64_t *old, const int64_t *id) {
    if (memcmp(old, id, ST_DATA_ID_N * sizeof *id) == 0) return ST_OK;
    if (st_ckpt_verify(x->ckpt, NULL) != ST_OK) return ST_ERR;
    char at[ST_PATH_MAX + 96], what[320];
    const st_section *ns = section_find(x->nc, "data");
    where(x->nc, "data", kv_find(ns, "path"), at, sizeof at);
    data_diff(old, id, x->ns->data.train_split, what, sizeof what);
    st_error_set("%s: cannot resume: [data] path = %s is not the data %s was trained on (path = "
                 "%s): %s; train from scratch into another [checkpoint] dir", at,
                 x->ns->data.path, x->ckpt, x->os->data.path, what);
    return ST_ERR;
}

/* The checkpoint's data identity into old: 1, or 0 when it has none (older seqtrain). */
static int read_data_id(const char *ckpt, int64_t *old, int *have) {
    void *v = NULL;
    size_t n = 0;
    *have = 0;
    if (st_ckpt_read_vec(ckpt, ST_DATA_ID_NAME, ST_CKPT_I64, ST_DATA_ID_N, &v, &n) != ST_OK)
        return ST_ERR;
    if (v && n != ST_DATA_ID_N) {
        st_error_set("%s: %s holds %zu values, this seqtrain writes %d (damaged file?)", ckpt,
                     ST_DATA_ID_NAME, n, ST_DATA_ID_N);
        st_free(v);
        return ST_ERR;
    }
    if (v) {
        memcpy(old, v, ST_DATA_ID_N * sizeof *old);
        *have = 1;
    }
    st_free(v);
    return ST_OK;
}

int st_resume_check(const char *ckpt, const st_config *cfg, const st_settings *set,
                    const int64_t *data_id, const st_train_state *ts) {
    char *text = NULL;
    st_config oc = {0};
    st_settings os;
    int64_t old_id[ST_DATA_ID_N];
    int have_id = 0;
    int rc = st_ckpt_read_config(ckpt, &text);
    if (rc == ST_OK) rc = st_config_load_string(&oc, text, ckpt);
    if (rc == ST_OK) rc = st_settings_resolve(&os, &oc);
    if (rc != ST_OK) {
        st_error_prefix("cannot resume: the config stored in the checkpoint does not resolve");
    } else if (data_id && (rc = read_data_id(ckpt, old_id, &have_id)) != ST_OK) {
        /* message set */
    } else {
        rs_ctx x = {ckpt, have_id, &oc, cfg, &os, set, ts, 0};
        static const char *const meta[] = {"data", "train", "checkpoint", "callbacks"};
        for (x.warn = 0; rc == ST_OK && x.warn <= (ts != NULL); x.warn++) {
            for (size_t i = 0; rc == ST_OK && i < sizeof meta / sizeof *meta; i++)
                rc = compare_section(&x, meta[i]);
            if (rc == ST_OK && have_id && !ts) rc = compare_data(&x, old_id, data_id);
            if (rc == ST_OK) rc = compare_layers(&x);
        }
    }
    st_config_free(&oc);
    st_free(text);
    return rc;
}
