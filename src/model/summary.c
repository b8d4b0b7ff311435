/*
 * summary.c - the Keras-style model summary (model.summary()): one row per layer with its
 * name, Keras class (from the layer's ops table), output shape and parameter count, then the
 * totals. Printed through ST_LOG (rank 0 only).
 *
 * Not here: anything that changes the model.
 */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "seqtrain/log.h"

/* Keras spells shapes with None for the batch axis. */
static void shape_str(st_shape s, char *buf, size_t n) {
    if (s.tokens)
        snprintf(buf, n, "(None, %d)", s.seq);
    else if (s.seq)
        snprintf(buf, n, "(None, %d, %d)", s.seq, s.feat);
    else
        snprintf(buf, n, "(None, %d)", s.feat);
}

void st_model_summary(const st_model *m) {
    /* Keras' columns (29, 26) widen when a "name (Class)" label is longer, so long names such
     * as "bidirectional_1 (Bidirectional)" never push the other columns out of line. */
    int w = 29;
    for (int i = 0; i < m->nlayers; i++) {
        int n = (int)(strlen(m->layers[i].name) + strlen(m->layers[i].ops->keras_class)) + 5;
        if (n > w) w = n;
    }
    char rule[256], dbl[256];
    int width = w + 26 + 10;
    memset(rule, '_', (size_t)width);
    memset(dbl, '=', (size_t)width);
    rule[width] = dbl[width] = 0;
    ST_LOG(ST_LOG_INFO, "Model: \"sequential\"\n%s\n", rule);
    ST_LOG(ST_LOG_INFO, "%-*s%-26s%s\n", w, " Layer (type)", "Output Shape", "Param #");
    ST_LOG(ST_LOG_INFO, "%s\n", dbl);
    size_t trainable = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const st_layer *L = &m->layers[i];
        char col[160], shp[48];
        size_t np = 0;
        for (int p = 0; p < L->nparam; p++) {
            size_t c = st_dims_count(&L->param[p].dims);
            np += c;
            if (L->trainable && !L->param[p].nontrainable) trainable += c;
        }
        snprintf(col, sizeof col, " %s (%s)", L->name, L->ops->keras_class);
        shape_str(L->oshape, shp, sizeof shp);
        ST_LOG(ST_LOG_INFO, "%-*s%-26s%zu\n", w, col, shp, np);
        ST_LOG(ST_LOG_INFO, "%s\n", i + 1 < m->nlayers ? "" : dbl);
    }
    ST_LOG(ST_LOG_INFO, "Total params: %zu (%.2f KB)\n", m->nparams, m->nparams * 4.0 / 1024);
    ST_LOG(ST_LOG_INFO, "Trainable params: %zu\n", trainable);
    ST_LOG(ST_LOG_INFO, "Non-trainable params: %zu\n%s\n", m->nparams - trainable, rule);
}
