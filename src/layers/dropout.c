/*
 * dropout.c - Keras Dropout(rate), and the dropout masks every layer with a dropout option uses.
 *
 * Training: out = x ⊙ m, m = 0 with probability rate, else 1 / (1 - rate) (inverted dropout:
 * the expected output equals the input, so inference is the identity). Inference (train = 0)
 * and rate = 0: out = x. On a sequence (T, B, F) every (step, row, feature) draws its own value,
 * as Keras Dropout does without noise_shape; on vectors (B, F) every (row, feature).
 *
 * Where the randomness comes from: the counter-based generator (rng.h), keyed by
 * (seed, epoch, global sample id, layer, unit). A row's mask therefore does not depend on which
 * rank holds it or on the number of ranks (the "same weights for any number of ranks"
 * guarantee holds with dropout), and a resumed run regenerates the masks of the epoch it
 * resumes. The sample id is the row's index in its split (st_batch.ids, set by the reader).
 *
 * Workspace: one float saying whether the last forward was a training call (so backward knows
 * whether to apply the mask), then the mask (T, B, F) as floats (0 or the scale).
 *
 * Not here: spatial / noise_shape dropout, or dropout in inference (Monte-Carlo dropout).
 */
#include <stdio.h>
#include <string.h>

#include "layer_impl.h"
#include "seqtrain/error.h"
#include "layers/layer.h"
#include "seqtrain/rng.h"
#include "core/parse.h"

int st_parse_rate(const char *key, const char *val, float *out) {
    return st_parse_float(key, val, 0, 1, ST_OPEN_HI, out);
}

/* One stream per (layer purpose, epoch, sample): the row's draws are then counters 0..n-1 of
 * that stream, so a unit's value never depends on how many units another row or layer drew. */
void st_dropout_mask(float *mask, int B, size_t n, float rate, const st_layer_in *in,
                     uint64_t stream) {
    const float scale = 1.0f / (1.0f - rate);
    /* Compare 24-bit integers, as st_rng_uniform would give: u < rate <=> drop. */
    const uint64_t cut = (uint64_t)((double)rate * 16777216.0);
    for (int b = 0; b < B; b++) {
        uint64_t id = in->sample_ids ? (uint64_t)in->sample_ids[b] : (uint64_t)b;
        uint64_t s = st_rng_hash(stream, (uint64_t)in->epoch, id);
        float *m = mask + (size_t)b * n;
        for (size_t j = 0; j < n; j++)
            m[j] = (st_rng_hash(in->seed, s, j) >> 40) < cut ? 0.0f : scale;
    }
}

static const st_key drop_keys[] = {
    ST_KEY_FLOAT_ROW("rate", st_dropout_opts, rate, 0, 1, ST_OPEN_HI), /* st_parse_rate */
    ST_KEY_END,
};
static const st_dropout_opts drop_defaults = {.rate = 0};

static int drop_build(st_layer *L, st_shape in) {
    if (in.tokens || in.feat <= 0) {
        st_error_set("dropout needs vectors or a sequence of vectors, not token ids");
        return ST_ERR;
    }
    L->ishape = in;
    L->oshape = in;
    L->nparam = 0;
    return ST_OK;
}

static size_t drop_workspace(const st_layer *L, int maxB, int maxT) {
    if (L->opt.drop.rate <= 0) return 1;
    return (size_t)(L->ishape.seq ? maxT : 1) * (size_t)maxB * (size_t)L->ishape.feat + 1;
}

static size_t drop_count(const st_layer *L, int B, int T) {
    return (size_t)(L->ishape.seq ? T : 1) * (size_t)B * (size_t)L->ishape.feat;
}

static void drop_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    const size_t n = drop_count(L, B, T);
    const int on = train && L->opt.drop.rate > 0;
    L->ws[0] = (float)on;
    if (!on) {
        memcpy(L->out, in->x, n * sizeof(float));
        return;
    }
    float *m = L->ws + 1; /* (T, B, F): drawn as B rows of T*F units, then laid out time-major */
    const int Te = L->ishape.seq ? T : 1, F = L->ishape.feat;
    /* Draw row b's T*F units into the out buffer as scratch (B, T, F), transpose into m. */
    char sname[ST_NAME_MAX + 16];
    snprintf(sname, sizeof sname, "%s/dropout", L->name);
    st_dropout_mask(L->out, B, (size_t)Te * F, L->opt.drop.rate, in, st_rng_stream_of(sname));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Te; t++)
            memcpy(m + ((size_t)t * B + b) * F, L->out + ((size_t)b * Te + t) * F,
                   (size_t)F * sizeof(float));
    for (size_t i = 0; i < n; i++) L->out[i] = in->x[i] * m[i];
}

static void drop_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    (void)in;
    if (!dx) return;
    const size_t n = drop_count(L, B, T);
    const float *m = L->ws + 1;
    if (L->ws[0] != 0)
        for (size_t i = 0; i < n; i++) dx[i] += L->dout[i] * m[i];
    else
        for (size_t i = 0; i < n; i++) dx[i] += L->dout[i];
}

const st_layer_ops st_dropout_ops =
    ST_LAYER_OPS("dropout", "Dropout", drop, drop_keys, drop_defaults);
