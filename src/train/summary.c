/*
 * summary.c - `seqtrain summary`: the model a config describes, built for the shapes of its
 * dataset (as Keras's summary needs a built model), printed as Keras's table (st_model_summary).
 * A config for generated data ([data] seq_len / features, no path) gives the shapes itself.
 *
 * Not here: the table's layout (the model's), training.
 */
#include "seqtrain/data.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "model/model.h"
#include "seqtrain/train.h"
#include "train/settings.h"

int st_summary(st_config *cfg) {
    st_settings set;
    st_dataset ds = {.file = -1};
    st_split s = {.x = -1, .y = -1};
    st_model m = {0};
    int rc = st_settings_resolve(&set, cfg);
    if (rc == ST_OK && !set.data.path[0] && set.data.seq_len > 0) {
        int F = set.data.features;
        st_shape in = {.seq = set.data.seq_len, .feat = F > 0 ? F : 1, .tokens = F == 0};
        rc = st_model_build(&m, cfg, in, 1);
    } else if (rc == ST_OK) {
        rc = st_dataset_open(&ds, set.data.path);
        if (rc == ST_OK) rc = st_split_open(&ds, set.data.train_split, &s);
        if (rc == ST_OK) rc = st_model_build(&m, cfg, st_split_shape(&s), 1);
    }
    rc = st_dist_any_error(rc);
    if (rc == ST_OK) st_model_summary(&m);
    st_model_free(&m);
    if (s.x >= 0) st_split_close(&s);
    if (ds.file >= 0) st_dataset_close(&ds);
    return rc;
}
