/*
 * grad.c - parameter gradients formed per block of the global batch (layer.h, st_blocks).
 *
 * Why per block: float addition is not associative, so a sum over the rows of a global batch
 * depends on how the rows were split among ranks. With deterministic reduction the batch is a
 * fixed sequence of blocks; each block's sum is formed here from that block's rows alone, always
 * by the same operations in the same order, and the blocks are then added exactly in fixed
 * point (core/xsum.h, src/train/step.c). The weight products stay large: one product per block
 * over all its steps (K = T x rows), not one per step.
 *
 * Which rows share a call (one block per rank, or eight) must not change a block's result, so
 * a block whose rows are not one contiguous matrix (T > 1 and more than one block in the call)
 * is gathered into scratch with exactly the layout it has when it is alone in a call: rows
 * (t, r) contiguous, leading dimensions M and N. OpenBLAS packs its operands before the kernel
 * runs, so the two layouts feed the kernel identical data. Without room in the scratch (a
 * capacity fixed from the model's shapes and block size, the same on every rank) a block falls
 * back to one product per step, which is again the same on every rank.
 *
 * Row-wise products (st_rows_gemm: forward outputs, input gradients, the recurrent per-step
 * products) have the same problem the other way round: OpenBLAS computes a ROW of C = A · W
 * with different edge kernels depending on how many rows the product has and where the row
 * sits in it (groups of 12 rows on Haswell/Zen, 4 on Prescott, others on SkylakeX, once K and
 * N reach 8). With blocks they run on core/rowgemm.c instead, whose rows do not depend on
 * each other, over all rows of the call at once.
 *
 * Threads (deterministic training with more than one thread per rank, core/par.h): blocks are
 * independent, so a call's blocks are shared out to the pool's threads, each block whole on
 * one thread with its own gather space (bk->scratch + tid x scratch_floats), its product on
 * one OpenBLAS thread: the same operations in the same order as on one thread.
 */
#include <string.h>

#include "core/par.h"
#include "layers/layer.h"
#include "layers/layer_impl.h"
#include "seqtrain/tensor.h"

/* Rows of block k of a call of B rows. */
static int block_rows(const st_blocks *bk, int B, int k) {
    int lo = k * bk->rows, hi = lo + bk->rows < B ? lo + bk->rows : B;
    return hi - lo;
}

/* One call's operands, for the pool's threads (core/par.h). */
typedef struct {
    const st_blocks *bk;
    int T, B, M, N, ldx, ldy;
    const float *X, *Y;
    float *g;
} tn_job;

/* Block k's product into its slot, gathering through `scratch` (bk->scratch_floats floats,
 * the calling thread's own). Which of the forms below a block takes depends only on its own
 * size and the scratch capacity, never on the other blocks of the call nor on the thread: a
 * lone block that is contiguous in place still falls back to per-step products when a
 * gathered copy of it would not fit, exactly as it does next to other blocks. */
static void tn_block(const tn_job *j, int k, float *scratch) {
    const st_blocks *bk = j->bk;
    const int T = j->T, B = j->B, M = j->M, N = j->N, ldx = j->ldx, ldy = j->ldy;
    const float *X = j->X, *Y = j->Y;
    const int r0 = k * bk->rows, nb = block_rows(bk, B, k);
    float *gk = st_grad_slot(bk, j->g, k);
    if (nb <= 0) return;
    if (T == 1) {
        /* Vectors: the block's rows are contiguous already. */
        st_sgemm(1, 0, M, N, nb, 1.0f, X + (size_t)r0 * ldx, ldx, Y + (size_t)r0 * ldy, ldy,
                 1.0f, gk, N);
        return;
    }
    const size_t rows = (size_t)T * nb;
    const int fits = rows * ((size_t)M + N) <= bk->scratch_floats;
    if (fits && nb == B && ldx == M && ldy == N) {
        /* Already laid out as the gathered copy would be: no copy needed. */
        st_sgemm(1, 0, M, N, (int)rows, 1.0f, X, M, Y, N, 1.0f, gk, N);
        return;
    }
    if (fits) {
        float *xs = scratch, *ys = scratch + rows * M;
        for (int t = 0; t < T; t++) {
            for (int r = 0; r < nb; r++) {
                const size_t src = (size_t)t * B + r0 + r, dst = (size_t)t * nb + r;
                memcpy(xs + dst * M, X + src * ldx, (size_t)M * sizeof(float));
                memcpy(ys + dst * N, Y + src * ldy, (size_t)N * sizeof(float));
            }
        }
        st_sgemm(1, 0, M, N, (int)rows, 1.0f, xs, M, ys, N, 1.0f, gk, N);
        return;
    }
    for (int t = 0; t < T; t++) {
        const size_t src = (size_t)t * B + r0;
        st_sgemm(1, 0, M, N, nb, 1.0f, X + src * ldx, ldx, Y + src * ldy, ldy, 1.0f, gk, N);
    }
}

/* 1 when the pool's threads share out a call's blocks: there is a pool, a gather space for
 * each of its threads, more than one block, and work worth a hand-over (PAR_MIN_WORK
 * multiply-adds or additions in all). */
#define PAR_MIN_WORK (1L << 16)
static int blocks_shared(const st_blocks *bk, long work) {
    const int nth = st_par_threads();
    return nth > 1 && bk->threads >= nth && bk->n > 1 && work >= PAR_MIN_WORK;
}

/* Thread tid's blocks: a contiguous share, each block whole on one thread. */
static void tn_share(void *arg, int tid, int nth) {
    const tn_job *j = arg;
    int lo, hi;
    st_par_share(j->bk->n, 1, tid, nth, &lo, &hi);
    float *scratch = j->bk->scratch + (size_t)tid * j->bk->scratch_floats;
    for (int k = lo; k < hi; k++) tn_block(j, k, scratch);
}

void st_grad_gemm_tn(const st_blocks *bk, int T, int B, int M, int N, const float *X, int ldx,
                     const float *Y, int ldy, float *g) {
    if (T <= 0 || B <= 0) return;
    /* Without blocks: one product over all T x B rows. */
    if (!bk) {
        st_sgemm(1, 0, M, N, T * B, 1.0f, X, ldx, Y, ldy, 1.0f, g, N);
        return;
    }
    /* Blocks are independent (each its own slot, its own product on one OpenBLAS thread), so
     * the pool's threads take whole blocks: the bits are those of one thread. */
    tn_job j = {bk, T, B, M, N, ldx, ldy, X, Y, g};
    if (blocks_shared(bk, (long)T * B * M * N))
        st_par_run(tn_share, &j);
    else
        for (int k = 0; k < bk->n; k++) tn_block(&j, k, bk->scratch);
}

/* Block k's column sums: row after row, (t, r) order within the block, the order a lone block
 * has. */
static void colsum_block(const tn_job *j, int k) {
    const int rows = j->bk ? j->bk->rows : j->B, B = j->B, N = j->N;
    const int r0 = k * rows, nb = r0 + rows < B ? rows : B - r0;
    float *gk = st_grad_slot(j->bk, j->g, k);
    for (int t = 0; t < j->T; t++)
        for (int r = 0; r < nb; r++) {
            const float *y = j->Y + ((size_t)t * B + r0 + r) * j->ldy;
            for (int c = 0; c < N; c++) gk[c] += y[c];
        }
}

static void colsum_share(void *arg, int tid, int nth) {
    const tn_job *j = arg;
    int lo, hi;
    st_par_share(j->bk->n, 1, tid, nth, &lo, &hi);
    for (int k = lo; k < hi; k++) colsum_block(j, k);
}

void st_grad_colsum(const st_blocks *bk, int T, int B, int N, const float *Y, int ldy, float *g) {
    if (T <= 0 || B <= 0) return;
    if (!bk && ldy == N) {
        st_colsum_add(Y, (size_t)T * B, (size_t)N, g);
        return;
    }
    tn_job j = {bk, T, B, 0, N, 0, ldy, NULL, Y, g};
    if (bk && blocks_shared(bk, (long)T * B * N)) {
        st_par_run(colsum_share, &j);
        return;
    }
    const int nblk = bk ? bk->n : 1;
    for (int k = 0; k < nblk; k++) colsum_block(&j, k);
}

void st_rows_gemm(const st_blocks *bk, int T, int B, int transW, int N, int K, float alpha,
                  const float *A, int lda, const float *W, int ldw, float beta, float *C,
                  int ldc) {
    if (T <= 0 || B <= 0 || N <= 0) return;
    /* Without blocks: one OpenBLAS product over all T x B rows (contiguous at lda). */
    if (!bk) {
        st_sgemm(0, transW, T * B, N, K, alpha, A, lda, W, ldw, beta, C, ldc);
        return;
    }
    /* Blocks: the row-independent product (core/rowgemm.c), also over all rows at once: each
     * row's bits depend on its own values only, so no per-block split is needed. */
    ST_ASSERT(alpha == 1.0f, "row product with alpha %g", alpha);
    st_sgemm_rows(transW, T * B, N, K, A, lda, W, ldw, beta, C, ldc, bk->pack, bk->gen);
}
