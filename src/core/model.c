/*
 * model.c - building a sequential model from the config and running it.
 *
 * Build = size pass + bind pass (as llm.c's malloc_and_point_parameters): every layer declares
 * its parameter tensors in build(); the model then makes ONE allocation for all parameters and
 * ONE for all gradients and points each st_param at its slice, and one arena for all
 * activations, activation gradients, masks and workspaces, sized for maxB rows and maxT steps.
 * Nothing is allocated after st_model_build: a training step only reuses these buffers (fresh
 * pages cost ~10 us each on first touch, more than the math of a small step).
 *
 * The head: when the last layer is a dense layer, its activation is fused into the loss (the
 * layer leaves logits in its output), so cross-entropies are computed from logits.
 *
 * Not here: the loss, the optimizer, data loading (fit.c drives those).
 */
#include <stdio.h>
#include <string.h>

#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/model.h"
#include "seqtrain/trace.h"

/* Floats needed to hold `bytes` bytes, so byte buffers (masks) can live in the float arena. */
static size_t floats_for(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

/* Rounds arena slices up to 16 floats (64 bytes) so every buffer starts on a cache line. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t act_count(st_shape s, int maxB, int maxT) {
    return (size_t)(s.seq ? maxT : 1) * (size_t)maxB * (size_t)(s.feat > 0 ? s.feat : 1);
}

/* Applies one layer section: create, keys, build. Errors carry origin:line and the section. */
static int build_layer(st_layer *L, const st_config *cfg, const st_section *sec, int k,
                       st_shape in) {
    const st_layer_ops *ops = st_layer_find(sec->name);
    if (!ops) {
        st_error_set("%s:%d: unknown section [%s] (layer types: %s)", cfg->origin, sec->line,
                     sec->name, st_layer_types());
        return ST_ERR;
    }
    char name[ST_NAME_MAX];
    snprintf(name, sizeof name, "%s_%d", sec->name, k);
    st_layer_create(L, ops, name);
    for (int i = 0; i < sec->nkv; i++) {
        const st_kv *kv = &sec->kv[i];
        char where[ST_PATH_MAX + 64];
        if (kv->line > 0)
            snprintf(where, sizeof where, "%s:%d: [%s]", cfg->origin, kv->line, sec->name);
        else
            snprintf(where, sizeof where, "--set %s.%s", sec->name, kv->key);
        int rc = st_layer_set(L, kv->key, kv->val);
        if (rc == ST_ENOKEY) {
            st_error_set("%s unknown key '%s' for a %s layer", where, kv->key, sec->name);
            return ST_ERR;
        }
        if (rc != ST_OK) {
            st_error_prefix("%s", where);
            return ST_ERR;
        }
    }
    if (ops->build(L, in) != ST_OK) {
        st_error_prefix("%s:%d: [%s] (%s)", cfg->origin, sec->line, sec->name, L->name);
        return ST_ERR;
    }
    return ST_OK;
}

int st_model_build(st_model *m, const st_config *cfg, st_shape input, int maxB) {
    memset(m, 0, sizeof *m);
    m->input = input;
    m->maxB = maxB > 0 ? maxB : 1;
    m->maxT = input.seq > 0 ? input.seq : 1;

    int n = 0;
    for (int s = 0; s < cfg->nsec; s++) n += !st_config_is_meta(cfg->sec[s].name);
    if (n == 0) {
        st_error_set("%s: no layers (add sections such as [embedding], [lstm], [dense])",
                     cfg->origin);
        return ST_ERR;
    }
    m->layers = st_malloc(sizeof(st_layer) * n);
    m->ins = st_malloc(sizeof(st_layer_in) * n);

    /* Size pass: layers, shapes, parameter specs. */
    st_shape shape = input;
    int counts[64] = {0}; /* per-type counters for default names, indexed by table position */
    const char *types[64] = {0};
    for (int s = 0; s < cfg->nsec; s++) {
        const st_section *sec = &cfg->sec[s];
        if (st_config_is_meta(sec->name)) continue;
        int t = 0;
        while (t < 63 && types[t] && strcmp(types[t], sec->name) != 0) t++;
        types[t] = sec->name;
        st_layer *L = &m->layers[m->nlayers];
        if (build_layer(L, cfg, sec, ++counts[t], shape) != ST_OK) return ST_ERR;
        L->index = m->nlayers;
        for (int j = 0; j < m->nlayers; j++)
            if (strcmp(m->layers[j].name, L->name) == 0) {
                st_error_set("%s:%d: [%s] layer name '%s' is used twice", cfg->origin, sec->line,
                             sec->name, L->name);
                return ST_ERR;
            }
        m->nlayers++;
        m->ntensors += L->nparam;
        for (int p = 0; p < L->nparam; p++) {
            L->param[p].offset = m->nparams;
            m->nparams += st_dims_count(&L->param[p].dims);
        }
        shape = L->oshape;
    }
    st_layer *head = &m->layers[m->nlayers - 1];
    if (head->oshape.tokens) {
        st_error_set("%s: the last layer (%s) outputs token ids; add layers after it",
                     cfg->origin, head->name);
        return ST_ERR;
    }
    /* A sequence head is many-to-many: its labels must be per step, y (N, T); the training
     * and evaluation code checks that against the dataset (st_run_check_head). */
    m->seq_out = head->oshape.seq > 0;
    m->num_outputs = head->oshape.feat;
    if (head->ops == &st_dense_ops) {
        head->fuse_activation = 1;
        m->head_act = head->activation;
    } else {
        m->head_act = ST_ACT_LINEAR;
    }

    /* Bind pass: one buffer for parameters, one for gradients. */
    m->params = st_malloc((m->nparams ? m->nparams : 1) * sizeof(float));
    m->grads = st_malloc((m->nparams + ST_MODEL_GRAD_TAIL) * sizeof(float));
    m->tensors = st_malloc(sizeof(st_param *) * (m->ntensors + 1));
    m->ranges = st_malloc(sizeof(st_tensor_range) * (m->ntensors + 1));
    m->trainable = st_malloc(m->ntensors + 1);
    int ti = 0;
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        for (int p = 0; p < L->nparam; p++) {
            st_param *P = &L->param[p];
            P->w = m->params + P->offset;
            P->g = m->grads + P->offset;
            m->tensors[ti] = P;
            m->ranges[ti].offset = P->offset;
            m->ranges[ti].count = st_dims_count(&P->dims);
            m->trainable[ti] = (uint8_t)(L->trainable != 0 && !P->nontrainable);
            ti++;
        }
        m->collective |= L->collective;
    }

    /* Arena: per layer out, dout, mask, workspace. */
    size_t total = 0;
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        size_t a = round16(act_count(L->oshape, m->maxB, m->maxT));
        total += 2 * a + round16(floats_for((size_t)m->maxT * m->maxB)) +
                 round16(L->ops->workspace(L, m->maxB, m->maxT));
    }
    m->arena_floats = total;
    m->arena = st_malloc((total ? total : 1) * sizeof(float));
    float *p = m->arena;
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        size_t a = round16(act_count(L->oshape, m->maxB, m->maxT));
        L->out = p, p += a;
        L->dout = p, p += a;
        L->mask_out = (uint8_t *)p, p += round16(floats_for((size_t)m->maxT * m->maxB));
        L->ws = p, p += round16(L->ops->workspace(L, m->maxB, m->maxT));
    }
    return ST_OK;
}

void st_model_free(st_model *m) {
    st_free(m->layers);
    st_free(m->ins);
    st_free(m->params);
    st_free(m->grads);
    st_free(m->tensors);
    st_free(m->ranges);
    st_free(m->trainable);
    st_free(m->arena);
    memset(m, 0, sizeof *m);
}

void st_model_init(st_model *m, uint64_t seed) {
    for (int i = 0; i < m->nlayers; i++) st_layer_init_params(&m->layers[i], seed);
}

void st_model_zero_grad(st_model *m) { memset(m->grads, 0, m->nparams * sizeof(float)); }

const float *st_model_forward(st_model *m, const st_batch *b, int train) {
    int B = b->B, T = m->input.seq > 0 ? b->T : 1;
    ST_ASSERT(B <= m->maxB && T <= m->maxT, "batch %dx%d exceeds the model's %dx%d", B, T,
              m->maxB, m->maxT);
    st_layer_in in = {m->input.tokens ? NULL : b->x, m->input.tokens ? b->tok : NULL, NULL,
                      b->ids, b->seed, b->epoch};
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        m->ins[i] = in;
        /* A layer with collectives runs on every rank, also without rows (the others wait
         * for it); the rest only when there is work. */
        double t0 = st_trace_on() ? st_time() : 0;
        if (B > 0 || (train && L->collective)) L->ops->forward(L, &in, B, T, train);
        if (t0 > 0) st_trace_add(L->name, "forward", t0, st_time());
        /* The mask travels with the sequence: born in an embedding with mask_zero, gone when a
         * layer returns vectors. */
        const uint8_t *mask = in.mask;
        if (L->mask_zero && L->ops == &st_embedding_ops) mask = L->mask_out;
        if (L->oshape.seq == 0) mask = NULL;
        in.x = L->out;
        in.tokens = NULL;
        in.mask = mask;
    }
    m->out_mask = in.mask;
    return m->layers[m->nlayers - 1].out;
}

void st_model_backward(st_model *m, const st_batch *b, const float *dlogits) {
    int B = b->B, T = m->input.seq > 0 ? b->T : 1;
    if (B == 0 && !m->collective) return;
    for (int i = 0; i < m->nlayers - 1; i++) {
        st_layer *L = &m->layers[i];
        memset(L->dout, 0, act_count(L->oshape, B, T) * sizeof(float));
    }
    st_layer *head = &m->layers[m->nlayers - 1];
    memcpy(head->dout, dlogits, act_count(head->oshape, B, T) * sizeof(float));
    for (int i = m->nlayers - 1; i >= 0; i--) {
        st_layer *L = &m->layers[i];
        float *dx = i > 0 ? m->layers[i - 1].dout : NULL;
        /* With 0 rows only the layers with collectives run (in the same order on every rank). */
        double t0 = st_trace_on() ? st_time() : 0;
        if (B > 0 || L->collective) L->ops->backward(L, &m->ins[i], dx, B, T);
        if (t0 > 0) st_trace_add(L->name, "backward", t0, st_time());
    }
}

st_param *st_model_param(const st_model *m, const char *layer, const char *param) {
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        if (strcmp(L->name, layer) != 0) continue;
        for (int p = 0; p < L->nparam; p++)
            if (strcmp(L->param[p].name, param) == 0) return &L->param[p];
    }
    return NULL;
}

/* Keras class names for the summary table. */
static const char *keras_class(const st_layer *L) {
    const char *t = L->ops->type;
    if (!strcmp(t, "embedding")) return "Embedding";
    if (!strcmp(t, "simple_rnn")) return "SimpleRNN";
    if (!strcmp(t, "lstm")) return "LSTM";
    if (!strcmp(t, "dense")) return "Dense";
    if (!strcmp(t, "gru")) return "GRU";
    if (!strcmp(t, "bidirectional")) return "Bidirectional";
    if (!strcmp(t, "attention")) return "Attention";
    if (!strcmp(t, "dropout")) return "Dropout";
    if (!strcmp(t, "batch_norm")) return "BatchNormalization";
    if (!strcmp(t, "flatten")) return "Flatten";
    if (!strcmp(t, "dropout")) return "Dropout";
    if (!strcmp(t, "batch_norm")) return "BatchNormalization";
    if (!strcmp(t, "flatten")) return "Flatten";
    return t;
}

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
        int n = (int)(strlen(m->layers[i].name) + strlen(keras_class(&m->layers[i]))) + 5;
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
        snprintf(col, sizeof col, " %s (%s)", L->name, keras_class(L));
        shape_str(L->oshape, shp, sizeof shp);
        ST_LOG(ST_LOG_INFO, "%-*s%-26s%zu\n", w, col, shp, np);
        ST_LOG(ST_LOG_INFO, "%s\n", i + 1 < m->nlayers ? "" : dbl);
    }
    ST_LOG(ST_LOG_INFO, "Total params: %zu (%.2f KB)\n", m->nparams, m->nparams * 4.0 / 1024);
    ST_LOG(ST_LOG_INFO, "Trainable params: %zu\n", trainable);
    ST_LOG(ST_LOG_INFO, "Non-trainable params: %zu\n%s\n", m->nparams - trainable, rule);
}
