/*
 * model.c - building a sequential model from the config: size pass, then bind pass.
 *
 * Build = size pass + bind pass (as llm.c's malloc_and_point_parameters): every layer declares
 * its parameter tensors in build(); the model then makes ONE allocation for all parameters and
 * ONE for all gradients and points each st_param at its slice, and one arena for all
 * activations, activation gradients, masks and workspaces, sized for maxB rows and maxT steps.
 * Nothing is allocated after st_model_build: a training step only reuses these buffers (fresh
 * pages cost ~10 us each on first touch, more than the math of a small step).
 *
 * Layout: params = layer 0's tensors, layer 1's, ... in declaration order (st_param.offset);
 * grads the same, then ST_MODEL_GRAD_TAIL spare floats; arena = per layer out, dout, mask,
 * workspace, each rounded up to 64 bytes.
 *
 * The head: when the last layer's type can be fused (ops->head_activation: dense), its activation
 * is fused into the loss (the layer leaves logits in its output), so cross-entropies are
 * computed from logits.
 *
 * Not here: config keys (spec.c), running the layers (forward.c), the summary (summary.c), the
 * loss, the optimizer, data loading (src/train/ drives those).
 */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/spec.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"

/* Floats needed to hold `bytes` bytes, so byte buffers (masks) can live in the float arena. */
static size_t floats_for(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

/* Rounds arena slices up to 16 floats (64 bytes) so every buffer starts on a cache line. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t act_count(st_shape s, int maxB, int maxT) {
    return (size_t)(s.seq ? maxT : 1) * (size_t)maxB * (size_t)(s.feat > 0 ? s.feat : 1);
}

void st_model_reduce_sum(double *buf, size_t n, void *ctx) {
    (void)ctx;
    st_dist_allreduce_sum_f64(buf, n);
}

int st_model_build(st_model *m, const st_config *cfg, st_shape input, int maxB) {
    memset(m, 0, sizeof *m);
    m->input = input;
    m->maxB = maxB > 0 ? maxB : 1;
    m->maxT = input.seq > 0 ? input.seq : 1;

    int n = st_model_spec_count(cfg);
    if (n == 0) {
        st_error_set("%s: no layers (add sections such as [embedding], [lstm], [dense])",
                     cfg->origin);
        return ST_ERR;
    }
    m->layers = st_malloc(sizeof(st_layer) * n);
    m->ins = st_malloc(sizeof(st_layer_in) * n);
    m->vectors = st_malloc(sizeof(st_vectors_spec) * n);

    /* Size pass: layers, shapes, parameter specs. */
    st_shape shape = input;
    for (int s = 0; s < cfg->nsec; s++) {
        const st_section *sec = &cfg->sec[s];
        if (st_config_is_meta(sec->name)) continue;
        st_layer *L = &m->layers[m->nlayers];
        /* One section at a time, keys then build, so the first mistake in file order is the
         * one reported. */
        st_layer_spec spec;
        if (st_model_spec_make(cfg, s, &spec) != ST_OK) return ST_ERR;
        *L = spec.layer;
        m->vectors[m->nlayers] = spec.vectors;
        if (L->ops->build(L, shape) != ST_OK) {
            st_error_prefix("%s:%d: [%s] (%s)", cfg->origin, sec->line, sec->name, L->name);
            return ST_ERR;
        }
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
    if (head->ops->head_activation) {
        head->fuse_activation = 1;
        m->head_act = head->ops->head_activation(head);
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
        /* The layer's global sums go through MPI here, so src/layers/ never includes it. */
        if (L->collective) L->reduce_sum = st_model_reduce_sum;
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
    st_free(m->vectors);
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

st_param *st_model_param(const st_model *m, const char *layer, const char *param) {
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        if (strcmp(L->name, layer) != 0) continue;
        for (int p = 0; p < L->nparam; p++)
            if (strcmp(L->param[p].name, param) == 0) return &L->param[p];
    }
    return NULL;
}

const st_layer *st_model_attention(const st_model *m) {
    for (int i = 0; i < m->nlayers; i++)
        if (st_attention_weights(&m->layers[i])) return &m->layers[i];
    return NULL;
}
