/*
 * spec.c - the layer sections of a config, turned into layer specs.
 *
 * A layer section is [type] followed by keys. The type picks the ops table (st_layer_find,
 * case-insensitive); the name comes from st_config_layer_name (src/io/config_names.c), the ONE
 * naming rule --set uses as well ("lstm_2", or a `name` key); every key goes to the layer
 * (st_layer_set: common keys, then the type's) except the model-level ones, `weights` and
 * `vocab`, which name files the model reads (pretrained.c) and so stay out of st_layer.
 *
 * Errors carry where the key was written: "origin:line: [lstm] ..." or, for a value that came
 * from the command line, "--set lstm.units ...".
 *
 * What it does not do: shapes or parameters (st_model_build calls each type's build next).
 */
#include <stdio.h>
#include <string.h>

#include "core/parse.h"
#include "model/spec.h"
#include "seqtrain/error.h"

int st_model_spec_count(const st_config *cfg) {
    int n = 0;
    for (int s = 0; s < cfg->nsec; s++) n += !st_config_is_meta(cfg->sec[s].name);
    return n;
}

/* The keys that belong to the model, not to the layer's math. ST_ENOKEY for the others. */
static int set_model_key(st_layer_spec *spec, const char *key, const char *val) {
    if (!spec->layer.ops->takes_vectors) return ST_ENOKEY;
    if (strcmp(key, "weights") == 0)
        return st_parse_string(key, val, spec->vectors.weights, sizeof spec->vectors.weights);
    if (strcmp(key, "vocab") == 0)
        return st_parse_string(key, val, spec->vectors.vocab, sizeof spec->vectors.vocab);
    return ST_ENOKEY;
}

/* A `name` must be one that --set reaches this layer by (st_config_find_section): not a meta
 * section's name (--set train.x would create or change [train]) and not the name of another
 * section, which --set finds first. (Two layers with one name are the model's check.) */
static int check_addressable(const st_config *cfg, int s, const char *name) {
    int at = st_config_find_section(cfg, name);
    if (at >= 0 && at != s && cfg->sec[at].line > 0) {
        st_error_set("name = %s: --set %s.KEY would change [%s] at line %d, not this layer: "
                     "choose another name", name, name, cfg->sec[at].name, cfg->sec[at].line);
        return ST_ERR;
    }
    if (st_config_is_meta(name) || (at >= 0 && at != s)) { /* from --set, or to be created */
        st_error_set("name = %s: --set %s.KEY would change the [%s] section, not this layer: "
                     "choose another name", name, name, name);
        return ST_ERR;
    }
    return ST_OK;
}

int st_model_spec_make(const st_config *cfg, int s, st_layer_spec *spec) {
    const st_section *sec = &cfg->sec[s];
    memset(spec, 0, sizeof *spec);
    const st_layer_ops *ops = st_layer_find(sec->name);
    if (!ops) {
        st_error_set("%s:%d: unknown section [%s] (layer types: %s)", cfg->origin, sec->line,
                     sec->name, st_layer_types());
        return ST_ERR;
    }
    char name[ST_NAME_MAX];
    st_config_layer_name(cfg, s, name, sizeof name);
    st_layer *L = &spec->layer;
    st_layer_create(L, ops, name);
    for (int i = 0; i < sec->nkv; i++) {
        const st_kv *kv = &sec->kv[i];
        char where[ST_PATH_MAX + 64];
        if (kv->line > 0)
            snprintf(where, sizeof where, "%s:%d: [%s]", cfg->origin, kv->line, sec->name);
        else
            snprintf(where, sizeof where, "--set %s.%s", sec->name, kv->key);
        int rc = set_model_key(spec, kv->key, kv->val);
        if (rc == ST_ENOKEY) rc = st_layer_set(L, kv->key, kv->val);
        if (rc == ST_OK && strcmp(kv->key, "name") == 0) rc = check_addressable(cfg, s, kv->val);
        if (rc == ST_ENOKEY) {
            st_error_set("%s unknown key '%s' for a %s layer", where, kv->key, sec->name);
            return ST_ERR;
        }
        if (rc != ST_OK) {
            st_error_prefix("%s", where);
            return ST_ERR;
        }
    }
    return ST_OK;
}
