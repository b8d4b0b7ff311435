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
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "model/model.h"
#include "model/spec.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"

/* Floats needed to hold `bytes` bytes, so byte buffers (masks) can live in the float arena. */
static size_t floats_for(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

/* Rounds arena slices up to 16 floats (64 bytes) so every buffer starts on a cache line. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Floats of one layer's output (or of its gradient) for maxB rows and maxT steps; checked. */
static size_t act_count(st_shape s, int maxB, int maxT) {
    size_t n;
    st_size_mul((size_t)(s.seq ? maxT : 1), (size_t)maxB, &n);
    st_size_mul(n, (size_t)(s.feat > 0 ? s.feat : 1), &n);
    return n;
}

void st_model_reduce_sum(double *buf, size_t n, void *ctx) {
    (void)ctx;
    st_dist_allreduce_sum_f64(buf, n);
}

void st_model_reduce_i64(int64_t *buf, size_t n, void *ctx) {
    (void)ctx;
    st_dist_allreduce_sum_i64(buf, n);
}

int st_model_max_rows(int batch_size, size_t rows, int ranks) {
    size_t b = batch_size > 0 ? (size_t)batch_size : 1;
    if (rows > 0 && rows < b) b = rows;
    size_t r = ranks > 0 ? (size_t)ranks : 1;
    return (int)((b + r - 1) / r);
}

/* ---- the memory a run needs --------------------------------------------------------------
 * Everything the run will allocate that grows with a size the user chose, in bytes, split
 * into parts for the message, plus the single biggest contribution (a layer's parameters, a
 * layer's activations, the batches, the per-row buffers) so that the message can name the
 * key responsible. Sizes saturate at SIZE_MAX (st_size_mul/add), so an overflow can only make
 * the need larger than any memory, never wrap it to something small. */
enum { NEED_PARAMS, NEED_GRADS, NEED_OPT, NEED_ACT, NEED_BATCH, NEED_ROWS, NEED_N };
static const char *const need_names[NEED_N] = {"parameters", "gradients", "optimizer state",
                                               "activations", "batches", "per-row buffers"};
typedef struct need {
    size_t part[NEED_N], total;
    /* The biggest contribution: kind (NEED_PARAMS for a layer's parameters with their
     * gradients and optimizer state, NEED_ACT for a layer's activations, NEED_BATCH,
     * NEED_ROWS), its layer (or -1) and bytes. */
    int top_kind, top_layer;
    size_t top_bytes;
} need;

static void need_top(need *n, int kind, int layer, size_t bytes) {
    if (bytes > n->top_bytes) n->top_kind = kind, n->top_layer = layer, n->top_bytes = bytes;
}

/* 4 * count, saturating. */
static size_t fbytes(size_t floats) {
    size_t b;
    st_size_mul(floats, sizeof(float), &b);
    return b;
}

/* The key=value entry of a section, or NULL. */
static const st_kv *find_kv(const st_section *sec, const char *key) {
    for (int i = 0; i < sec->nkv; i++)
        if (strcmp(sec->kv[i].key, key) == 0) return &sec->kv[i];
    return NULL;
}

/* "origin:line: [section] key = value" for key of section s, or "--set NAME.key=value" when
 * it came from the command line (setname: the layer's name, as --set addresses it), or
 * "origin:line: [section] key = dflt (the default)" when it is not written. */
static void where_key(const st_config *cfg, int s, const char *setname, const char *key,
                      long dflt, char *buf, size_t n) {
    const st_section *sec = &cfg->sec[s];
    const st_kv *kv = key ? find_kv(sec, key) : NULL;
    if (kv && kv->line > 0)
        snprintf(buf, n, "%s:%d: [%s] %s = %s", cfg->origin, kv->line, sec->name, key, kv->val);
    else if (kv)
        snprintf(buf, n, "--set %s.%s=%s", setname, key, kv->val);
    else if (key)
        snprintf(buf, n, "%s:%d: [%s] %s = %ld (the default)", cfg->origin, sec->line, sec->name,
                 key, dflt);
    else
        snprintf(buf, n, "%s:%d: [%s]", cfg->origin, sec->line, sec->name);
}

/* What the message blames: the key of the biggest contribution, with where it was written. */
static void blame(const st_model *m, const st_config *cfg, const int *secs, const need *nd,
                  const st_model_run_need *run, char *buf, size_t n) {
    char w[ST_PATH_MAX + 160];
    if (nd->top_kind == NEED_PARAMS && nd->top_layer >= 0) {
        const st_layer *L = &m->layers[nd->top_layer];
        long v;
        const char *key = st_layer_size_key(L, &v);
        where_key(cfg, secs[nd->top_layer], L->name, key, v, w, sizeof w);
        if (key)
            snprintf(buf, n, "%s (layer %s)", w, L->name);
        else
            snprintf(buf, n, "%s (layer %s, input of %d features)", w, L->name, L->ishape.feat);
        return;
    }
    if (nd->top_kind == NEED_ROWS) {
        snprintf(buf, n, "%s: %zu %s", cfg->origin, run ? run->rows : 0,
                 run && run->rows_what ? run->rows_what : "rows");
        return;
    }
    /* Activations and batches grow with the batch and the sequence length: name the larger. */
    int train = -1;
    for (int s = 0; s < cfg->nsec; s++)
        if (strcmp(cfg->sec[s].name, "train") == 0) {
            train = s;
            break;
        }
    char bs[ST_PATH_MAX + 160];
    if (train >= 0)
        where_key(cfg, train, "train", "batch_size", 32, bs, sizeof bs);
    else
        snprintf(bs, sizeof bs, "%s: [train] batch_size = 32 (the default)", cfg->origin);
    const char *layer = nd->top_layer >= 0 ? m->layers[nd->top_layer].name : NULL;
    if (m->maxT > m->maxB)
        snprintf(buf, n, "%s: sequences of T = %d steps (the data's x), batches of %d rows per "
                 "rank%s%s", cfg->origin, m->maxT, m->maxB, layer ? ", activations of " : "",
                 layer ? layer : "");
    else
        snprintf(buf, n, "%s (%d rows per rank, T = %d steps)%s%s", bs, m->maxB, m->maxT,
                 layer ? ", activations of " : "", layer ? layer : "");
}

/* Refuses a run that cannot fit, before anything big is allocated: ST_OK or ST_ERR with ONE
 * line naming the key, the bytes needed (in parts) and the bytes available. */
static int check_need(const st_model *m, const st_config *cfg, const int *secs, const need *nd,
                      const st_model_run_need *run) {
    const char *what;
    size_t avail = st_mem_available(&what);
    if (nd->total <= avail) return ST_OK;
    char who[2 * ST_PATH_MAX + 400], parts[512], h[32];
    blame(m, cfg, secs, nd, run, who, sizeof who);
    size_t at = 0;
    for (int i = 0; i < NEED_N && at < sizeof parts; i++) {
        if (!nd->part[i]) continue;
        at += (size_t)snprintf(parts + at, sizeof parts - at, "%s%s %s", at ? ", " : "",
                               need_names[i], st_mem_human(nd->part[i], h, sizeof h));
    }
    char tot[32], av[32];
    if (nd->total == SIZE_MAX)
        st_error_set("%s: the run needs more than %zu bytes (%s: %s) but %s are available (%s)",
                     who, nd->total, st_mem_human(nd->total, tot, sizeof tot), parts,
                     st_mem_human(avail, av, sizeof av), what);
    else
        st_error_set("%s: the run needs %zu bytes (%s: %s) but %s are available (%s)", who,
                     nd->total, st_mem_human(nd->total, tot, sizeof tot), parts,
                     st_mem_human(avail, av, sizeof av), what);
    return ST_ERR;
}

/* The size pass's arithmetic: parameters, and the arena slice of each layer, in floats. A
 * layer's workspace function multiplies its own dimensions in size_t; a first estimate in
 * double (64 floats per row, step and feature, far above any layer's need) proves those
 * products cannot wrap before they are computed. */
static int size_layers(st_model *m, const st_config *cfg, const int *secs,
                       const st_model_run_need *run, need *nd) {
    int opt = run ? run->opt_states : 0;
    double est = 0, top = -1;
    for (int i = 0; i < m->nlayers; i++) {
        const st_layer *L = &m->layers[i];
        double w = L->ishape.feat > L->oshape.feat ? L->ishape.feat : L->oshape.feat;
        double pc = 0;
        for (int p = 0; p < L->nparam; p++) pc += (double)st_dims_count(&L->param[p].dims);
        /* bytes: activations (bound) and parameters with gradients and optimizer state */
        double a = 4.0 * 64.0 * m->maxT * m->maxB * (w > 1 ? w : 1), b = 4.0 * pc * (2 + opt);
        est += a + b;
        if (a > top) top = a, nd->top_kind = NEED_ACT, nd->top_layer = i;
        if (b > top) top = b, nd->top_kind = NEED_PARAMS, nd->top_layer = i;
    }
    if (est > 0x1p62) {
        /* Far beyond any machine: the parts are not computed (they could wrap). */
        nd->total = SIZE_MAX;
        return check_need(m, cfg, secs, nd, run);
    }
    size_t arena = 0;
    nd->top_kind = 0, nd->top_layer = -1, nd->top_bytes = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const st_layer *L = &m->layers[i];
        size_t pc = 0, mine;
        for (int p = 0; p < L->nparam; p++) st_size_add(pc, st_dims_count(&L->param[p].dims), &pc);
        size_t a = round16(act_count(L->oshape, m->maxB, m->maxT)), sl;
        st_size_mul(2, a, &sl);
        st_size_add(sl, round16(floats_for((size_t)m->maxT * m->maxB)), &sl);
        st_size_add(sl, round16(L->ops->workspace(L, m->maxB, m->maxT)), &sl);
        st_size_add(arena, sl, &arena);
        st_size_mul(pc, (size_t)(2 + opt), &mine);
        need_top(nd, NEED_PARAMS, i, fbytes(mine));
        need_top(nd, NEED_ACT, i, fbytes(sl));
    }
    m->arena_floats = arena;
    return ST_OK;
}

/* Bytes of the batch buffers for maxB rows (dataset.c's st_batch: x twice, as read and as
 * used, labels twice, ids, rows and order; step.c's loss gradient and row list). */
static size_t batch_bytes(const st_model *m) {
    const st_shape in = m->input;
    size_t T = (size_t)(in.seq ? in.seq : 1), F = in.tokens ? 1 : (size_t)(in.feat ? in.feat : 1);
    size_t rl, yl = m->seq_out ? T : 1, per, k, b;
    st_size_mul(T, F, &rl);
    st_size_mul(rl, 8, &per);
    st_size_add(per, yl * 8 + 36, &per);
    st_size_mul(yl, (size_t)(m->num_outputs > 0 ? m->num_outputs : 1), &k);
    st_size_add(per, fbytes(k), &per);
    st_size_mul(per, (size_t)m->maxB, &b);
    return b;
}

int st_model_build(st_model *m, const st_config *cfg, st_shape input, int maxB) {
    return st_model_build_run(m, cfg, input, maxB, NULL);
}

/* Where the dense tensors start: row-sparse ones (an embedding's, layer.h st_param.row_sparse)
 * that come before every dense one never use a block slot, so the slots after slot 0 need not
 * hold them. 0 when a row-sparse tensor follows a dense one (then every slot is whole). */
static size_t dense_start(const st_model *m) {
    size_t d0 = 0;
    int dense_seen = 0;
    for (int i = 0; i < m->nlayers; i++)
        for (int p = 0; p < m->layers[i].nparam; p++) {
            const st_param *P = &m->layers[i].param[p];
            if (!P->row_sparse) {
                dense_seen = 1;
            } else {
                if (dense_seen) return 0;
                d0 = P->offset + st_dims_count(&P->dims);
            }
        }
    return d0;
}

/* The gradient buffer with `slots` block slots: slot 0 is the whole buffer (nparams + tail:
 * the summed gradient lands there); slot k > 0 starts k strides on, and only its dense part,
 * [k stride + d0, k stride + nparams), is ever touched, so a stride of the dense size suffices:
 * the slots' unused heads overlap the previous slot's tail, never a used part. */
static size_t slots_stride(const st_model *m) {
    return round16(m->nparams - dense_start(m) + ST_MODEL_GRAD_TAIL);
}
static size_t slots_floats(const st_model *m, int slots) {
    return round16(m->nparams + ST_MODEL_GRAD_TAIL) + (size_t)(slots - 1) * slots_stride(m);
}

int st_model_build_run(st_model *m, const st_config *cfg, st_shape input, int maxB,
                       const st_model_run_need *run) {
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
    int *secs = st_malloc(sizeof(int) * n); /* (n) the config section of each layer */
    int rc = ST_ERR;

    /* Size pass: layers, shapes, parameter specs. */
    st_shape shape = input;
    for (int s = 0; s < cfg->nsec; s++) {
        const st_section *sec = &cfg->sec[s];
        if (st_config_is_meta(sec->name)) continue;
        st_layer *L = &m->layers[m->nlayers];
        /* One section at a time, keys then build, so the first mistake in file order is the
         * one reported. */
        st_layer_spec spec;
        if (st_model_spec_make(cfg, s, &spec) != ST_OK) goto done;
        *L = spec.layer;
        m->vectors[m->nlayers] = spec.vectors;
        if (L->ops->build(L, shape) != ST_OK) {
            st_error_prefix("%s:%d: [%s] (%s)", cfg->origin, sec->line, sec->name, L->name);
            goto done;
        }
        /* Widths are ints everywhere (shapes, BLAS dimensions); the cap keeps the layers' int
         * products (2 F, 4 units) from wrapping. */
        if (L->oshape.feat > ST_FEAT_MAX || L->ishape.feat > ST_FEAT_MAX) {
            st_error_set("%s:%d: [%s] (%s) is %d features wide, more than the %d a layer can "
                         "have", cfg->origin, sec->line, sec->name, L->name,
                         L->oshape.feat > L->ishape.feat ? L->oshape.feat : L->ishape.feat,
                         ST_FEAT_MAX);
            goto done;
        }
        L->index = m->nlayers;
        for (int j = 0; j < m->nlayers; j++)
            if (strcmp(m->layers[j].name, L->name) == 0) {
                st_error_set("%s:%d: [%s] layer name '%s' is used twice", cfg->origin, sec->line,
                             sec->name, L->name);
                goto done;
            }
        secs[m->nlayers] = s;
        m->nlayers++;
        m->ntensors += L->nparam;
        for (int p = 0; p < L->nparam; p++) {
            L->param[p].offset = m->nparams;
            st_size_add(m->nparams, st_dims_count(&L->param[p].dims), &m->nparams);
        }
        shape = L->oshape;
    }
    st_layer *head = &m->layers[m->nlayers - 1];
    if (head->oshape.tokens) {
        st_error_set("%s: the last layer (%s) outputs token ids; add layers after it",
                     cfg->origin, head->name);
        goto done;
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

    /* Everything sized, nothing big allocated yet: refuse what cannot fit, naming the key. */
    need nd = {.top_layer = -1};
    if (size_layers(m, cfg, secs, run, &nd) != ST_OK) goto done;
    nd.part[NEED_PARAMS] = fbytes(m->nparams);
    st_size_add(fbytes(m->nparams), fbytes(ST_MODEL_GRAD_TAIL), &nd.part[NEED_GRADS]);
    if (run && run->grad_slots > 1) {
        /* the slots after slot 0 hold the dense tensors only (st_model_set_blocks) */
        size_t more;
        st_size_mul(fbytes(m->nparams - dense_start(m) + ST_MODEL_GRAD_TAIL),
                    (size_t)run->grad_slots - 1, &more);
        st_size_add(nd.part[NEED_GRADS], more, &nd.part[NEED_GRADS]);
    }
    st_size_mul(fbytes(m->nparams), (size_t)(run ? run->opt_states : 0), &nd.part[NEED_OPT]);
    nd.part[NEED_ACT] = fbytes(m->arena_floats);
    nd.part[NEED_BATCH] = batch_bytes(m);
    need_top(&nd, NEED_BATCH, -1, nd.part[NEED_BATCH]);
    if (run) {
        st_size_mul(run->rows, run->row_bytes, &nd.part[NEED_ROWS]);
        need_top(&nd, NEED_ROWS, -1, nd.part[NEED_ROWS]);
    }
    for (int i = 0; i < NEED_N; i++) st_size_add(nd.total, nd.part[i], &nd.total);
    if (check_need(m, cfg, secs, &nd, run) != ST_OK) goto done;
    /* BLAS dimensions are ints: all steps of a batch form one (T * B, F) matrix. */
    if ((size_t)m->maxT * (size_t)m->maxB > INT_MAX) {
        char bs[ST_PATH_MAX + 160];
        nd.top_kind = NEED_ACT, nd.top_layer = -1;
        blame(m, cfg, secs, &nd, run, bs, sizeof bs);
        st_error_set("%s: T x rows per rank = %d x %d = %zu, more than the %d rows one matrix "
                     "product can take; lower batch_size", bs, m->maxT, m->maxB,
                     (size_t)m->maxT * (size_t)m->maxB, INT_MAX);
        goto done;
    }

    /* Bind pass: one buffer for parameters, one for gradients. */
    m->params = st_malloc_for((m->nparams ? m->nparams : 1) * sizeof(float),
                              "the model's parameters");
    m->grads = st_malloc_for((m->nparams + ST_MODEL_GRAD_TAIL) * sizeof(float),
                             "the model's gradients");
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
        if (L->collective) L->reduce_i64 = st_model_reduce_i64;
    }

    /* Arena: per layer out, dout, mask, workspace (sized by size_layers). */
    m->arena = st_malloc_for((m->arena_floats ? m->arena_floats : 1) * sizeof(float),
                             "the model's activations");
    float *p = m->arena;
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        size_t a = round16(act_count(L->oshape, m->maxB, m->maxT));
        L->out = p, p += a;
        L->dout = p, p += a;
        L->mask_out = (uint8_t *)p, p += round16(floats_for((size_t)m->maxT * m->maxB));
        L->ws = p, p += round16(L->ops->workspace(L, m->maxB, m->maxT));
    }
    rc = ST_OK;
done:
    st_free(secs);
    return rc;
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
    st_free(m->blk.scratch);
    st_free(m->rowpack.buf);
    memset(m, 0, sizeof *m);
}

void st_model_init(st_model *m, uint64_t seed) {
    for (int i = 0; i < m->nlayers; i++) st_layer_init_params(&m->layers[i], seed);
}

void st_model_zero_grad(st_model *m) { memset(m->grads, 0, m->nparams * sizeof(float)); }

void st_model_set_blocks(st_model *m, int rows, int slots) {
    ST_ASSERT(rows > 0 && slots > 0, "blocks of %d rows, %d slots", rows, slots);
    m->grad_stride = slots_stride(m);
    m->grad_slots = slots;
    st_free(m->grads);
    const size_t total = slots_floats(m, slots);
    m->grads = st_malloc_for(total * sizeof(float), "the model's gradient slots (one per block)");
    memset(m->grads, 0, total * sizeof(float));
    for (int i = 0; i < m->ntensors; i++) m->tensors[i]->g = m->grads + m->tensors[i]->offset;
    /* Gather space for one block's rows of the widest (input, output) pair of products a
     * layer forms (grad.c): a capacity from shapes and the block size only, the same on every
     * rank, so every rank takes the same path for the same block. */
    size_t wide = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const st_layer *L = &m->layers[i];
        size_t w = 2 * (size_t)L->ishape.feat + 8 * (size_t)L->oshape.feat;
        if (w > wide) wide = w;
    }
    /* ... and the row products' work space (st_sgemm_rows_work): every product a layer
     * forms has K and N within max(input width, 4 x output width). */
    size_t rowwork = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const st_layer *L = &m->layers[i];
        size_t a = (size_t)L->ishape.feat > 4 * (size_t)L->oshape.feat
                       ? (size_t)L->ishape.feat
                       : 4 * (size_t)L->oshape.feat;
        size_t need = st_sgemm_rows_work((int)a, (int)a);
        if (need > rowwork) rowwork = need;
    }
    st_free(m->blk.scratch);
    m->blk.rows = rows;
    m->blk.n = 1;
    m->blk.stride = m->grad_stride;
    /* a block of a call has at most maxB rows, whatever block_rows says */
    const size_t brows = (size_t)(rows < m->maxB ? rows : m->maxB);
    m->blk.scratch_floats = (size_t)(m->maxT > 0 ? m->maxT : 1) * brows * wide;
    m->blk.scratch = st_malloc_for((m->blk.scratch_floats ? m->blk.scratch_floats : 1) *
                                       sizeof(float),
                                   "the deterministic reduction's gather space");
    st_free(m->rowpack.buf);
    memset(&m->rowpack, 0, sizeof m->rowpack);
    m->rowpack.buf = st_malloc_for((rowwork ? rowwork : 1) * sizeof(float),
                                   "the row-wise products' packed weights");
    m->rowpack.cap = rowwork;
    m->blk.pack = &m->rowpack;
    m->blk.gen = 0;
}

void st_model_zero_grad_rows(st_model *m, int B) {
    if (m->blk.rows <= 0) {
        st_model_zero_grad(m);
        return;
    }
    int n = (B + m->blk.rows - 1) / m->blk.rows;
    ST_ASSERT(n <= m->grad_slots, "%d rows need %d gradient slots, the model has %d", B, n,
              m->grad_slots);
    /* Only slot 0, which holds the last step's summed gradient: the reduction
     * (st_run_reduce_exact) clears every slot as it reads it, so the others are zero. */
    memset(m->grads, 0, (m->nparams + ST_MODEL_GRAD_TAIL) * sizeof(float));
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

const st_layer *st_model_attention(const st_model *m) {
    for (int i = 0; i < m->nlayers; i++)
        if (st_attention_weights(&m->layers[i])) return &m->layers[i];
    return NULL;
}
