/*
 * testutil.h - helpers shared by the Check suites: tensor comparison, finite-difference
 * gradient checks of a layer, random data, temporary paths, and a main() wrapper.
 */
#ifndef ST_TESTUTIL_H
#define ST_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "seqtrain/seqtrain.h"
/* The suites test internals too: the layer, model, training and checkpoint headers. */
#include "layers/layer.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/loss.h"
#include "train/optim.h"

/* Largest |a-b| / (atol + rtol*|b|) over n elements; <= 1 means close. Prints the worst index
 * on failure when name != NULL. */
double st_test_close(const char *name, const float *a, const float *b, size_t n, double rtol,
                     double atol);
void st_test_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);

/* A standalone layer for tests: built for input `in`, parameters, gradients and workspace
 * allocated, parameters initialized from seed (then scaled by wscale if != 1, to leave the
 * linear regime). keys: NULL-terminated pairs {"units","3", ..., NULL}. */
typedef struct st_test_layer {
    st_layer L;
    float *params, *grads, *ws, *dx;
    size_t nparams;
    int maxB, maxT;
} st_test_layer;
void st_test_layer_make(st_test_layer *t, const st_layer_ops *ops, const char *const *keys,
                        st_shape in, int maxB, int maxT, uint64_t seed);
void st_test_layer_free(st_test_layer *t);

/* Finite-difference check of a layer: loss = sum(out * R) for a fixed random R; compares
 * backward's parameter gradients and input gradient (when x != NULL) with central differences
 * of the forward pass (step eps, in float). Returns the worst normalized error (<= 1 passes).
 * mask may be NULL. */
double st_test_gradcheck(st_test_layer *t, float *x, const int32_t *tokens, const uint8_t *mask,
                         int B, int T, float eps, double rtol, double atol);

/* ---- the layer suites' gradient-check scaffolding ------------------------------------------
 * Central differences in float32. eps 3e-3 keeps the rounding error of the loss difference
 * (~1e-7 / eps) and the truncation error (~eps^2) both well under atol; a wrong backward line
 * gives errors of order 1. relu and hard_sigmoid have kinks: a step that crosses one makes the
 * central difference wrong by O(1) in that element (about 1 run in 40 at eps 1e-3), so they
 * get a step 30x smaller, which makes crossings rare, paid for with a rounding error of ~1e-3
 * that a looser atol absorbs; a wrong backward line still errs by O(0.1). */
#define GC_EPS 3e-3f
#define GC_RTOL 2e-2
#define GC_ATOL 1e-3
#define GC_EPS_KINK 1e-4f
#define GC_ATOL_KINK 3e-3
/* Call sizes (GB rows, GT steps) and the larger sizes the workspace is built for, so a stride
 * that uses the maximum instead of the call's B or T shows up. */
#define GB 4
#define GT 4
#define MAXB 5
#define MAXT 6

/* Mask kinds of the gradient checks. Row b has st_test_gc_lens[b] real steps; the last row has
 * none. 'holes' masks steps in the middle of a row (mask_zero on a token 0 inside a sentence):
 * the only kind where a state carried over a masked step is then used by a later real step. */
enum { MASK_NONE, MASK_POST, MASK_PRE, MASK_HOLES, N_MASKS };
extern const char *const st_test_mask_names[N_MASKS];
extern const int st_test_gc_lens[GB];

int st_test_has_kink(st_act a);
/* GC_EPS, or GC_EPS_KINK when either activation has a kink. */
float st_test_eps_for(st_act a, st_act b);
/* mask (T, B): 'post' = real steps first then padding, 'pre' = padding first, 'holes' = every
 * third step masked at a phase that differs per row (lens[b] == 0 still masks the whole row);
 * MASK_NONE is treated as 'holes' (callers pass NULL for no mask). */
void st_test_make_mask(int kind, const int *lens, int B, int T, uint8_t *m);
/* Overwrites every parameter with U(-s, s): away from the initializers' small values, so the
 * nonlinearities (and bias gradients) are really exercised. */
void st_test_randomize(st_test_layer *t, float s, uint64_t seed);
/* st_test_randomize with s = 0.7: out of the gates' linear regime. */
void st_test_scramble(st_test_layer *t, uint64_t seed);
/* Builds a layer on a float input of shape in (workspace for MAXB, MAXT), randomizes it
 * (U(-0.7, 0.7)), fills x from U(-1, 1) and returns the gradient check's error for B rows and
 * T steps (<= 1 passes). fuse: the dense head's fused activation. atol follows eps. */
double st_test_gradcheck_layer(const st_layer_ops *ops, const char *const *keys, st_shape in,
                               int B, int T, const uint8_t *mask, int fuse, uint64_t seed,
                               float eps);

/* Gradients ADD into st_param.g and dx (the model zeroes once per step): two backward passes
 * after the same forward give twice one pass, element by element, each within a tolerance
 * scaled by that element's own one-pass value (parameters and input alike). Also checks that
 * the gradients are not mostly zero. Input (GT, GB, 3) floats; keys as st_test_layer_make;
 * mask (GT, GB) or NULL. */
void st_test_check_accumulates(const st_layer_ops *ops, const char *const *keys,
                               const uint8_t *mask);
/* trainable = false: no parameter gradient, and the same input gradient as trainable = true.
 * keys are the layer's other keys (trainable is added); input (GT, GB, 3). */
void st_test_check_frozen(const st_layer_ops *ops, const char *const *keys);

/* "<dir>/<name>" under a fresh per-process temporary directory. */
const char *st_test_path(const char *name);
/* Writes n bytes to st_test_path(name) and returns that path (the same reused buffer). */
const char *st_test_write_file(const char *name, const void *bytes, size_t n);

/* Runs a suite (CK_NORMAL output); returns the process exit status. */
int st_test_run(Suite *s);

#endif
