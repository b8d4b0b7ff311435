/*
 * test_batch_norm.c - batch_norm under mpiexec -n 2 and -n 3: each rank holds a shard of a
 * global batch (the last rank possibly none), and the outputs, input gradients, parameter
 * gradients (after summing over ranks, as the training step does) and moving statistics must be
 * those of the whole batch.
 *
 * The reference runs the same layer with EVERY rank holding the whole batch: the reduced sums
 * are then P times the one-rank sums for both the numerators and the row count, so the
 * statistics and the input gradient are exactly the one-process ones (and the collectives
 * still match on every rank).
 */
#include <math.h>
#include <string.h>

#include "testutil.h"

enum { NB = 7, F = 3 };

START_TEST(shards_equal_whole_batch) {
    int r = st_dist_rank(), P = st_dist_size();
    float x[NB * F], dy[NB * F];
    st_test_fill_uniform(x, NB * F, -3, 5, 1);
    st_test_fill_uniform(dy, NB * F, -1, 1, 2);
    /* shard: rows [lo, hi); with P = 3 and NB = 7: 2, 2, 3 rows; the last rank gets none
     * when hi == lo (tested by giving rank P-1 nothing below) */
    int lo, hi;
    st_shard(NB, r, P, &lo, &hi);
    if (r == P - 1) hi = lo = NB; /* the last rank: no rows at all */
    if (r == P - 2) hi = NB;      /* ... its rows go to the one before */

    st_test_layer whole, part;
    st_shape in = {.seq = 0, .feat = F};
    st_test_layer_make(&whole, &st_batch_norm_ops, NULL, in, NB, 1, 1);
    st_test_layer_make(&part, &st_batch_norm_ops, NULL, in, NB, 1, 1);
    part.L.reduce_sum = st_model_reduce_sum; /* the model installs it in a real run */
    st_test_fill_uniform(whole.params, 2 * F, 0.5f, 1.5f, 3); /* gamma, beta */
    memcpy(part.params, whole.params, whole.nparams * sizeof(float));

    /* reference: the whole batch on every rank */
    st_layer_in wi = {.x = x};
    whole.L.ops->forward(&whole.L, &wi, NB, 1, 1);
    memcpy(whole.L.dout, dy, sizeof dy);
    memset(whole.grads, 0, whole.nparams * sizeof(float));
    memset(whole.dx, 0, sizeof x);
    whole.L.ops->backward(&whole.L, &wi, whole.dx, NB, 1);

    /* sharded */
    int n = hi - lo;
    st_layer_in pi = {.x = x + lo * F};
    part.L.ops->forward(&part.L, &pi, n, 1, 1);
    memcpy(part.L.dout, dy + lo * F, (size_t)n * F * sizeof(float));
    memset(part.grads, 0, part.nparams * sizeof(float));
    memset(part.dx, 0, (size_t)n * F * sizeof(float));
    part.L.ops->backward(&part.L, &pi, part.dx, n, 1);
    st_dist_allreduce_sum(part.grads, part.nparams);

    for (int i = 0; i < n * F; i++) {
        ck_assert_msg(fabsf(part.L.out[i] - whole.L.out[lo * F + i]) < 1e-5f, "out %d", i);
        ck_assert_msg(fabsf(part.dx[i] - whole.dx[lo * F + i]) < 1e-5f, "dx %d", i);
    }
    /* moving statistics: identical on every rank, and equal to the whole batch's */
    for (size_t i = 2 * F; i < part.nparams; i++)
        ck_assert_msg(fabsf(part.params[i] - whole.params[i]) < 1e-6f, "moving stat %zu", i);
    /* gamma, beta gradients summed over ranks = the whole batch's (computed once per rank) */
    for (int i = 0; i < 2 * F; i++)
        ck_assert_msg(fabsf(part.grads[i] - whole.grads[i]) < 1e-5f, "grad %d: %g vs %g", i,
                      part.grads[i], whole.grads[i]);
    double mm = part.params[2 * F], mx = mm;
    st_dist_allreduce_max_f64(&mx, 1);
    ck_assert(mx == mm);
    st_test_layer_free(&whole);
    st_test_layer_free(&part);
}
END_TEST

int main(void) {
    Suite *s = suite_create("batch_norm_mpi");
    TCase *tc = tcase_create("global_statistics");
    tcase_add_test(tc, shards_equal_whole_batch);
    suite_add_tcase(s, tc);
    return st_test_run(s);
}
