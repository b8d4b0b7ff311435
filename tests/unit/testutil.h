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

/* "<dir>/<name>" under a fresh per-process temporary directory. */
const char *st_test_path(const char *name);

/* Runs a suite (CK_NORMAL output); returns the process exit status. */
int st_test_run(Suite *s);

#endif
