/*
 * tensor.c - dims helpers and the element-wise activations (tensor.h).
 *
 * Layout: activations work on a dense (rows, cols) row-major block; every function except
 * softmax is element-wise, so rows and cols only matter for softmax, which normalizes each row
 * (the last axis, as Keras does).
 *
 * Backward is computed from the activation's OUTPUT y, never its input: every activation here
 * has a derivative expressible in y (sigmoid y(1-y), tanh 1-y^2, relu [y>0], hard_sigmoid
 * [0<y<1]/6, softmax's Jacobian y_i(d_ij - y_j)). That lets layers keep only the activated
 * values in their workspace and overwrite the pre-activations in place.
 *
 * What this file does not do: matrix products (blas.c), or any allocation.
 */
#include <math.h>
#include <strings.h>

#include "seqtrain/tensor.h"
#include "core/vmath.h"

/* Shapes of parameter tensors; unused trailing dims stay 0 so two st_dims compare with memcmp. */
st_dims st_dims1(size_t a) {
    st_dims d = {1, {a, 0, 0, 0}};
    return d;
}

st_dims st_dims2(size_t a, size_t b) {
    st_dims d = {2, {a, b, 0, 0}};
    return d;
}

/* Element count; a 0-dim st_dims is a scalar (1 element). */
size_t st_dims_count(const st_dims *d) {
    size_t n = 1;
    for (int i = 0; i < d->ndim; i++) n *= d->d[i];
    return n;
}

/* Keras names, indexed by st_act. */
static const char *const act_names[] = {"linear", "relu", "sigmoid", "tanh", "softmax",
                                        "hard_sigmoid"};
#define N_ACT ((int)(sizeof act_names / sizeof act_names[0]))

/* Case-insensitive: configs are written by hand and "Tanh" is not worth an error. */
int st_act_parse(const char *name, st_act *out) {
    for (int i = 0; i < N_ACT; i++) {
        if (strcasecmp(name, act_names[i]) == 0) {
            *out = (st_act)i;
            return 0;
        }
    }
    /* Keras spells "no activation" as activation=None. */
    if (strcasecmp(name, "none") == 0) {
        *out = ST_ACT_LINEAR;
        return 0;
    }
    return -1;
}

const char *st_act_name(st_act a) {
    return (int)a >= 0 && (int)a < N_ACT ? act_names[a] : "?";
}

/* Numerically stable softmax of one row: subtract the max so expf never overflows. */
static void softmax_row(const float *x, float *y, size_t n) {
    float m = x[0];
    for (size_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;
    float s = 0;
    for (size_t j = 0; j < n; j++) {
        y[j] = st_expf(x[j] - m);
        s += y[j];
    }
    float inv = 1.0f / s;
    for (size_t j = 0; j < n; j++) y[j] *= inv;
}

/* x and y may alias (layers activate in place). The exp-based activations use vmath.h: its
 * clamped exp keeps sigmoid in [0, 1] and tanh in [-1, 1] for any finite x, never NaN. */
ST_SIMD_CLONES
void st_act_forward(st_act a, const float *x, float *y, size_t rows, size_t cols) {
    size_t n = rows * cols;
    /* One flat loop per activation (no switch inside the loop) so each can be vectorized. */
    switch (a) {
    case ST_ACT_LINEAR:
        if (x != y)
            for (size_t i = 0; i < n; i++) y[i] = x[i];
        break;
    case ST_ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
        break;
    case ST_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = st_sigmoidf(x[i]);
        break;
    case ST_ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = st_tanhf(x[i]);
        break;
    case ST_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++) softmax_row(x + r * cols, y + r * cols, cols);
        break;
    case ST_ACT_HARD_SIGMOID:
        /* Keras 3: relu6(x + 3) / 6 = clip(x/6 + 0.5, 0, 1). */
        for (size_t i = 0; i < n; i++) {
            float v = x[i] * (1.0f / 6.0f) + 0.5f;
            y[i] = v < 0 ? 0 : (v > 1 ? 1 : v);
        }
        break;
    }
}

/* Overwrites dx (it does not add): callers use it on a scratch or in-place gradient. */
ST_SIMD_CLONES
void st_act_backward(st_act a, const float *y, const float *dy, float *dx, size_t rows,
                     size_t cols) {
    size_t n = rows * cols;
    switch (a) {
    case ST_ACT_LINEAR:
        if (dx != dy)
            for (size_t i = 0; i < n; i++) dx[i] = dy[i];
        break;
    case ST_ACT_RELU:
        /* y > 0 exactly where x > 0; the kink at 0 gets derivative 0, as in TF. */
        for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
        break;
    case ST_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case ST_ACT_TANH:
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case ST_ACT_SOFTMAX:
        /* dx = y * (dy - <dy, y>) per row: the Jacobian-vector product without the Jacobian.
         * The dot is taken before any write, so dx may alias dy. */
        for (size_t r = 0; r < rows; r++) {
            const float *yr = y + r * cols, *dyr = dy + r * cols;
            float *dxr = dx + r * cols;
            float s = 0;
            for (size_t j = 0; j < cols; j++) s += dyr[j] * yr[j];
            for (size_t j = 0; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - s);
        }
        break;
    case ST_ACT_HARD_SIGMOID:
        /* Slope 1/6 strictly inside the linear piece, 0 where clipped. */
        for (size_t i = 0; i < n; i++)
            dx[i] = (y[i] > 0 && y[i] < 1) ? dy[i] * (1.0f / 6.0f) : 0;
        break;
    }
}
