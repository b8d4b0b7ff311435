/*
 * loss.c - losses and accuracy from the head's output (see loss.h for the conventions).
 *
 * The head's activation arrives fused, so the common pairs use their logit forms:
 *   sigmoid + BCE:     l = max(z,0) - z*t + log(1 + exp(-|z|)),   dl/dz = sigmoid(z) - t
 *   softmax + CE:      l = logsumexp(z) - z_y,                      dl/dz = softmax(z) - onehot(y)
 * Every other pairing applies the activation first and back-propagates through it, with
 * Keras' probability clipping for cross-entropies on non-logit outputs.
 * Per-sample losses of multi-unit BCE and MSE are means over the K units, as Keras reduces the
 * last axis. Accumulation is in double so the sum over a batch does not depend on rounding
 * drift in long batches.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/parse.h"
#include "seqtrain/error.h"
#include "train/loss.h"
#include "train/settings.h"

#define ST_PROB_EPS 1e-7f

/* THE loss names, as Keras spells them, in st_loss_kind order: the config, the messages and
 * checkpoints all take them from here. */
static const char *const k_names[] = {"binary_crossentropy", "sparse_categorical_crossentropy",
                                      "categorical_crossentropy", "mse", NULL};

const char *st_loss_name(st_loss_kind k) { return k_names[k]; }

const char *st_loss_names(char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; k_names[i] && used + 1 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", k_names[i]);
    return buf;
}

/* [train] loss: only the Keras names of the table, and loss_set records that the required key
 * was given. */
static int parse_loss(const char *key, const char *val, void *field) {
    for (int i = 0; k_names[i]; i++)
        if (strcmp(val, k_names[i]) == 0) return *(st_loss_kind *)field = (st_loss_kind)i, ST_OK;
    char known[256];
    st_error_set("%s = %s: must be one of %s", key, val, st_loss_names(known, sizeof known));
    return ST_ERR;
}

static const st_key k_keys[] = {
    ST_KEY_FUNC_ROW("loss", st_train_cfg, loss, parse_loss),
    ST_KEY_END,
};

int st_loss_cfg_set(st_train_cfg *t, const char *key, const char *val) {
    int rc = st_keys_set(k_keys, t, key, val);
    if (rc == ST_OK) t->loss_set = 1;
    return rc;
}

const char *st_loss_cfg_keys(char *buf, size_t size) { return st_keys_names(k_keys, buf, size); }

void st_loss_probs(st_act act, const float *z, float *p, int B, int K) {
    st_act_forward(act, z, p, (size_t)B, (size_t)K);
}

/* Target of unit k for a row with class y: one-hot, or y itself for a single unit. */
static float target(int32_t y, int k, int K) {
    if (K == 1) return (float)y;
    return y == k ? 1.0f : 0.0f;
}

static int argmax(const float *z, int K) {
    int best = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[best]) best = k;
    return best;
}

static double clampf(double p) {
    return p < ST_PROB_EPS ? ST_PROB_EPS : (p > 1 - ST_PROB_EPS ? 1 - ST_PROB_EPS : p);
}

/* Loss of one row; dz (K) gets d(loss)/dz * scale when not NULL. p (K) is scratch. */
static double row_loss(st_loss_kind kind, st_act act, const float *z, int32_t y, int K,
                       float scale, float *dz, float *p) {
    double l = 0;
    if (kind == ST_LOSS_BCE && act == ST_ACT_SIGMOID) {
        for (int k = 0; k < K; k++) {
            double t = target(y, k, K), x = z[k];
            l += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
            if (dz) dz[k] = scale * (float)((1.0 / (1.0 + exp(-x)) - t) / K);
        }
        return l / K;
    }
    if ((kind == ST_LOSS_SPARSE_CCE || kind == ST_LOSS_CCE) && act == ST_ACT_SOFTMAX) {
        double mx = z[0];
        for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        double se = 0;
        for (int k = 0; k < K; k++) se += exp(z[k] - mx);
        double lse = mx + log(se);
        l = lse - z[y];
        if (dz)
            for (int k = 0; k < K; k++)
                dz[k] = scale * (float)(exp(z[k] - lse) - (k == y ? 1.0 : 0.0));
        return l;
    }
    /* Generic: p = act(z); loss on p; back through the activation. */
    st_act_forward(act, z, p, 1, (size_t)K);
    float dp[K > 0 ? K : 1];
    if (kind == ST_LOSS_MSE) {
        for (int k = 0; k < K; k++) {
            double d = p[k] - target(y, k, K);
            l += d * d;
            dp[k] = (float)(2.0 * d / K);
        }
        l /= K;
    } else if (kind == ST_LOSS_BCE) {
        for (int k = 0; k < K; k++) {
            double t = target(y, k, K), q = clampf(p[k]);
            l -= t * log(q) + (1 - t) * log(1 - q);
            /* clipped region has zero gradient, as Keras' clip_by_value */
            int inside = p[k] > ST_PROB_EPS && p[k] < 1 - ST_PROB_EPS;
            dp[k] = inside ? (float)((-(t / q) + (1 - t) / (1 - q)) / K) : 0.0f;
        }
        l /= K;
    } else {
        /* categorical on non-softmax output: Keras renormalizes p / sum(p), then clips. */
        double s = 0;
        for (int k = 0; k < K; k++) s += p[k];
        double q = clampf(p[y] / s);
        l = -log(q);
        for (int k = 0; k < K; k++) {
            /* d(-log(p_y/s))/dp_k = -[k==y]/p_y + 1/s */
            dp[k] = (float)((k == y ? -1.0 / p[y] : 0.0) + 1.0 / s);
        }
    }
    if (dz) {
        st_act_backward(act, p, dp, dz, 1, (size_t)K);
        for (int k = 0; k < K; k++) dz[k] *= scale;
    }
    return l;
}

/* 1 when the prediction of one row (or step) is right. */
static int row_correct(st_act act, const float *zr, int32_t y, int K) {
    if (K == 1) {
        /* sigmoid(z) > 0.5 <=> z > 0 for a fused sigmoid head; otherwise compare p. */
        int v = act == ST_ACT_SIGMOID ? zr[0] > 0 : zr[0] > 0.5;
        return v == y;
    }
    return argmax(zr, K) == y; /* monotone activations keep the argmax */
}

double st_loss_compute_x(st_loss_kind kind, st_act act, const float *z, const int32_t *y, int B,
                         int K, float scale, float *dz, double *correct, st_xsum *xs) {
    double sum = 0;
    float p[K > 0 ? K : 1];
    for (int b = 0; b < B; b++) {
        const float *zr = z + (size_t)b * K;
        double l = row_loss(kind, act, zr, y[b], K, scale, dz ? dz + (size_t)b * K : NULL, p);
        sum += l;
        if (xs) st_xsum_add(xs, l);
        if (correct) *correct += row_correct(act, zr, y[b], K);
    }
    return sum;
}

double st_loss_compute(st_loss_kind kind, st_act act, const float *z, const int32_t *y, int B,
                       int K, float scale, float *dz, double *correct) {
    return st_loss_compute_x(kind, act, z, y, B, K, scale, dz, correct, NULL);
}

/* Each (step, row) is one "row" of the loss above; the labels are batch-major (B, T) as the
 * dataset stores them, the logits time-major (T, B, K) as the layers produce them. */
double st_loss_compute_seq(st_loss_kind kind, st_act act, const float *z, const int32_t *y,
                           const uint8_t *mask, int B, int T, int K, float scale, float *dz,
                           double *correct, double *count) {
    return st_loss_compute_seq_x(kind, act, z, y, mask, B, T, K, scale, dz, correct, count, NULL);
}

double st_loss_compute_seq_x(st_loss_kind kind, st_act act, const float *z, const int32_t *y,
                             const uint8_t *mask, int B, int T, int K, float scale, float *dz,
                             double *correct, double *count, st_xsum *xs) {
    double sum = 0, n = 0;
    float p[K > 0 ? K : 1];
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)t * B + b;
            const float *zr = z + r * K;
            float *dr = dz ? dz + r * K : NULL;
            if (mask && !mask[r]) {
                /* padding: no loss, no gradient, not counted */
                if (dr) memset(dr, 0, (size_t)K * sizeof(float));
                continue;
            }
            int32_t yt = y[(size_t)b * T + t];
            double l = row_loss(kind, act, zr, yt, K, scale, dr, p);
            sum += l;
            if (xs) st_xsum_add(xs, l);
            if (correct) *correct += row_correct(act, zr, yt, K);
            n++;
        }
    }
    if (count) *count += n;
    return sum;
}
