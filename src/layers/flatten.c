/*
 * flatten.c - Keras Flatten on a sequence: (T, B, F) -> (B, T*F).
 *
 * Keras flattens each sample's [T, F] block in row-major order: out[b, t*F + f] = x[b, t, f].
 * Our sequences are time-major (T, B, F), so this is a transpose of the two leading axes; the
 * backward is the inverse transpose. On vectors (B, F) it is the identity (Keras' Flatten of a
 * 2-D input). The sequence length is the model's (the dataset's T): Flatten needs a fixed T.
 *
 * A mask (from mask_zero) is dropped here, as the output has no time axis; padded steps are
 * flattened like real ones (Keras' Flatten does not support masking either).
 *
 * No parameters, no workspace.
 */
#include <string.h>

#include "layer_impl.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

/* Keras Flatten has no options (data_format only matters for images). */
static const st_key flat_keys[] = {ST_KEY_END};
static const char flat_defaults = 0; /* no options: one byte copied into L->opt */

static int flat_build(st_layer *L, st_shape in) {
    if (in.tokens || in.feat <= 0) {
        st_error_set("flatten needs float features (T, F) or (F), not token ids; put an "
                     "embedding first");
        return ST_ERR;
    }
    /* T * F in 64 bits: (65537, 65537) rows would wrap an int to 131073 features and build a
     * wrong model. Features are an int everywhere (shapes, BLAS dimensions), and a layer's
     * width is capped at ST_FEAT_MAX so that the layers' own int products (2 * F, 4 * units)
     * cannot wrap either. */
    int64_t feat = (int64_t)(in.seq ? in.seq : 1) * in.feat;
    if (feat > ST_FEAT_MAX) {
        st_error_set("flatten of (T, F) = (%d, %d) gives %lld features per row, more than the "
                     "%d a layer can have", in.seq, in.feat, (long long)feat, ST_FEAT_MAX);
        return ST_ERR;
    }
    L->ishape = in;
    L->oshape = (st_shape){.seq = 0, .feat = (int)feat, .tokens = 0, .vocab = in.vocab};
    L->nparam = 0;
    return ST_OK;
}

static size_t flat_workspace(const st_layer *L, int maxB, int maxT) {
    (void)L, (void)maxB, (void)maxT;
    return 0;
}

static void flat_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    (void)train;
    const int F = L->ishape.feat, Te = L->ishape.seq ? T : 1;
    ST_ASSERT(!L->ishape.seq || T == L->ishape.seq, "flatten %s: %d steps, built for %d",
              L->name, T, L->ishape.seq);
    /* out[b, t*F : (t+1)*F] = x[t, b, :] */
    for (int t = 0; t < Te; t++)
        for (int b = 0; b < B; b++)
            memcpy(L->out + ((size_t)b * Te + t) * F, in->x + ((size_t)t * B + b) * F,
                   (size_t)F * sizeof(float));
}

static void flat_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    (void)in;
    if (!dx) return;
    const int F = L->ishape.feat, Te = L->ishape.seq ? T : 1;
    /* dx[t, b, :] += dout[b, t*F : (t+1)*F] */
    for (int t = 0; t < Te; t++)
        for (int b = 0; b < B; b++) {
            float *d = dx + ((size_t)t * B + b) * F;
            const float *g = L->dout + ((size_t)b * Te + t) * F;
            for (int f = 0; f < F; f++) d[f] += g[f];
        }
}

const st_layer_ops st_flatten_ops =
    ST_LAYER_OPS("flatten", "Flatten", flat, flat_keys, flat_defaults);
