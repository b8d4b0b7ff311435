/*
 * config_names.c - the one rule that names a layer from its config section.
 *
 * A layer is called by its `name` key, else by its section name and how many sections of that
 * name come up to it: the second [lstm] is "lstm_2", as Keras numbers layers of a type. The
 * model names its layers with it (checkpoint tensor names "lstm_2/kernel", RNG streams) and
 * --set finds "lstm_2.units=..." with it, so both always agree.
 *
 * The same file holds the rule --set uses to find a section from "TARGET.key=value", so that
 * the model can check that every `name` it accepts is one --set reaches.
 *
 * What it does not do: validate a `name` value's characters (the layer does) or its
 * uniqueness (the model does, once every layer is named).
 */
#include <stdio.h>
#include <string.h>

#include "seqtrain/config.h"

void st_config_layer_name(const st_config *c, int i, char *out, size_t outlen) {
    const st_section *s = &c->sec[i];
    /* Keys are unique within a section (the parser rejects duplicates, --set replaces). */
    for (int k = 0; k < s->nkv; k++) {
        if (strcmp(s->kv[k].key, "name") == 0) {
            snprintf(out, outlen, "%s", s->kv[k].val);
            return;
        }
    }
    int k = 1;
    for (int j = 0; j < i; j++) k += strcmp(c->sec[j].name, s->name) == 0;
    snprintf(out, outlen, "%s_%d", s->name, k);
}

int st_config_find_section(const st_config *c, const char *target) {
    /* A section name first (meta sections, or the first [lstm]), then a layer name. */
    for (int i = 0; i < c->nsec; i++)
        if (strcmp(c->sec[i].name, target) == 0) return i;
    char name[ST_CONFIG_NAME_MAX];
    for (int i = 0; i < c->nsec; i++) {
        if (st_config_is_meta(c->sec[i].name)) continue;
        st_config_layer_name(c, i, name, sizeof name);
        if (strcmp(name, target) == 0) return i;
    }
    return -1;
}
