/*
 * spec.h - from a config's layer section to a layer spec (src/model/spec.c; model-internal).
 */
#ifndef SEQTRAIN_MODEL_SPEC_H
#define SEQTRAIN_MODEL_SPEC_H

#include "model/model.h"

/* One layer as the config describes it, before shapes are known. */
typedef struct st_layer_spec {
    st_layer layer;          /* created with its type's defaults, name and keys applied; not built */
    st_vectors_spec vectors; /* model-level keys (weights, vocab) */
} st_layer_spec;

/* Number of layer sections (all sections but the meta ones: [data], [train], ...). */
int st_model_spec_count(const st_config *cfg);
/* Section s of cfg (a layer section) into *spec: its type, its name (st_config_layer_name, the
 * rule --set uses too) and its keys. Returns ST_OK, or ST_ERR with a message
 * "origin:line: [section] ..." (or "--set section.key ..." for an override). */
int st_model_spec_make(const st_config *cfg, int s, st_layer_spec *spec);

#endif
