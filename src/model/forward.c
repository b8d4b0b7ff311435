/*
 * forward.c - one forward and one backward pass through the model's layers.
 *
 * Forward hands each layer what the previous one wrote (x, or the token ids for the first) and
 * the mask travelling with the sequence, and records every layer's st_layer_in so backward can
 * give each layer exactly what its forward read. Backward clears the activation gradients it
 * is about to accumulate into (layers ADD into dx), seeds the head's with dlogits and walks the
 * layers in reverse.
 *
 * Layers with collectives (batch_norm in training) run on every rank, also with 0 rows, so the
 * ranks call the same collectives in the same order.
 *
 * Not here: building (model.c), the loss or the optimizer (src/train/).
 */
#include <string.h>

#include "model/model.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/trace.h"

/* Elements of an activation of shape s for B rows and T steps. */
static size_t act_count(st_shape s, int B, int T) {
    return (size_t)(s.seq ? T : 1) * (size_t)B * (size_t)(s.feat > 0 ? s.feat : 1);
}

const float *st_model_forward(st_model *m, const st_batch *b, int train) {
    int B = b->B, T = m->input.seq > 0 ? b->T : 1;
    ST_ASSERT(B <= m->maxB && T <= m->maxT, "batch %dx%d exceeds the model's %dx%d", B, T,
              m->maxB, m->maxT);
    st_layer_in in = {m->input.tokens ? NULL : b->x, m->input.tokens ? b->tok : NULL, NULL,
                      b->ids, b->seed, b->epoch, NULL};
    /* Blocks (deterministic mode): row-wise products that give a row the same bits whatever
     * the other rows of the call (core/rowgemm.c); in training also the gradient slots, one
     * per block, the caller handing whole blocks of the global order (st_run_shard). */
    if (m->blk.rows > 0) {
        m->blk.n = (B + m->blk.rows - 1) / m->blk.rows;
        m->blk.gen++; /* the weights may have changed since the last pass (packed copies) */
        ST_ASSERT(!train || m->blk.n <= m->grad_slots,
                  "%d rows need %d gradient slots, the model has %d", B, m->blk.n,
                  m->grad_slots);
        in.blocks = &m->blk;
    }
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
        if (L->emits_mask) mask = L->mask_out;
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
    m->blk.gen++; /* backward packs op(W) in other orientations: a pass of its own */
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
        if (m->layer_done) m->layer_done(m->layer_done_ctx, i);
    }
}
