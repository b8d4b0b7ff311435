/*
 * exact.c - the deterministic reduction of a training step: bitwise the same summed gradient,
 * loss and counts for any number of ranks (README, "Bitwise the same weights").
 *
 * The global batch is a fixed sequence of blocks of block_rows rows, and each rank owns a
 * contiguous run of whole blocks (st_run_shard). A block's parameter gradient is formed from its
 * rows alone, the same way whichever rank owns it (layers/grad.c), into its own slot of the
 * gradient buffer. Here the slots of all blocks of all ranks are added exactly:
 *   1. per tensor, the exponent of the largest value in this rank's slots; one max-reduction
 *      of ntensors int32 gives every rank the same exponent E per tensor;
 *   2. every slot value becomes rint(x 2^(51 - E)) (core/xsum.h) and the integers of this
 *      rank's blocks are added; one int64 allreduce adds the ranks (it also carries the loss's
 *      exact sum and the counts, so a step still has one large collective);
 *   3. the sums convert back to float once, identically on every rank.
 * Integer addition is associative, so neither the split of blocks among ranks nor the order of
 * the reduction inside MPI can change a bit. The rounding of step 2 is per value: 51 bits
 * below the tensor's largest value, 27 more than float keeps.
 *
 * Cost: two passes over the slots (exponents, conversion) and an allreduce of 8 bytes per
 * parameter instead of 4; measured in the README ("Bitwise the same weights").
 */
#include <math.h>
#include <string.h>

#include "core/xsum.h"
#include "seqtrain/data.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "train/step.h"

void st_run_shard(const st_run *R, int bg, int *lo, int *hi) {
    if (R->block_rows <= 0) {
        st_shard(bg, R->rank, R->size, lo, hi);
        return;
    }
    const long br = R->block_rows, nblk = (bg + br - 1) / br;
    long k0 = nblk * R->rank / R->size, k1 = nblk * (R->rank + 1) / R->size;
    *lo = (int)(k0 * br < bg ? k0 * br : bg);
    *hi = (int)(k1 * br < bg ? k1 * br : bg);
}

int st_run_max_rows(int batch_size, int block_rows, size_t rows, int ranks) {
    if (block_rows <= 0) return st_model_max_rows(batch_size, rows, ranks);
    long b = batch_size > 0 ? batch_size : 1;
    if (rows > 0 && rows < (size_t)b) b = (long)rows;
    long r = ranks > 0 ? ranks : 1, nblk = (b + block_rows - 1) / block_rows;
    long most = (nblk + r - 1) / r * block_rows; /* whole blocks of the rank with the most */
    return (int)(most < b ? most : b);
}

/* Fixed-point terms per element of tensor i: one per block of the global batch, or for
 * row-sparse gradients (st_param.terms) one per position of the global batch at most. The same
 * on every rank: the shift, and so every rounding, depends on it. */
static size_t terms_bound(const st_run *R, const st_param *P) {
    const int bg = R->set->train.batch_size;
    if (P->row_sparse) return (size_t)bg * (size_t)(R->model.maxT > 0 ? R->model.maxT : 1);
    return ((size_t)bg + (size_t)R->block_rows - 1) / (size_t)R->block_rows;
}

/* ---- the rare path: a tensor with NaN or inf somewhere (a diverging step) ----
 * Float addition would make an element NaN if any term is NaN or both infinities occur, else
 * the infinity, and leave the other elements finite. The same here, order-free: the finite
 * values are summed as usual (with an exponent agreed over finite values only), and every
 * element counts its NaN, +inf and -inf terms (integers, summed over ranks). So the weights
 * that turn NaN are the ones float training would have turned, and the step's message names
 * the right element. */
enum { NF_NAN, NF_PINF, NF_NINF };

/* The exponent of the largest finite value (ST_FX_ZERO if none). */
static int finite_exponent(const float *x, size_t n) {
    float mx = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && fabsf(x[i]) > mx) mx = fabsf(x[i]);
    return st_fx_exponent(&mx, 1);
}

/* acc += the finite values in fixed point; nf (3 per element) counts the others. */
static void add_nonfinite(const float *x, size_t n, int e, int shift, int64_t *acc,
                          int64_t *nf) {
    for (size_t j = 0; j < n; j++) {
        if (isnan(x[j]))
            nf[3 * j + NF_NAN]++;
        else if (isinf(x[j]))
            nf[3 * j + (x[j] > 0 ? NF_PINF : NF_NINF)]++;
        else if (e != ST_FX_ZERO)
            st_fx_add(&x[j], 1, shift, &acc[j]);
    }
}

/* The element's float from its exact finite sum and its counts. */
static float with_nonfinite(float v, const int64_t *nf) {
    if (nf[NF_NAN] > 0 || (nf[NF_PINF] > 0 && nf[NF_NINF] > 0)) return NAN;
    if (nf[NF_PINF] > 0) return INFINITY;
    if (nf[NF_NINF] > 0) return -INFINITY;
    return v;
}

/* This rank's exponent of tensor i by `exp_of` (st_fx_exponent, or finite_exponent): over its
 * row-sparse terms, or over the slots of its nblk blocks. */
static int local_exponent(const st_model *m, int i, int nblk,
                          int (*exp_of)(const float *, size_t)) {
    const st_param *P = m->tensors[i];
    const size_t off = m->ranges[i].offset, cnt = m->ranges[i].count;
    if (P->row_sparse) return P->terms ? exp_of(P->terms, P->nterms * (cnt / P->dims.d[0]))
                                       : ST_FX_ZERO;
    int e = ST_FX_ZERO;
    for (int k = 0; k < nblk; k++) {
        int ek = exp_of(m->grads + (size_t)k * m->grad_stride + off, cnt);
        e = ek > e ? ek : e;
    }
    return e;
}

void st_exact_exponents(st_run *R, int nblk, int t0, int t1) {
    st_model *m = &R->model;
    /* A rank without rows ran no backward: its row-sparse terms are stale, not this step's. */
    for (int i = t0; i < t1; i++) {
        if (nblk == 0) m->tensors[i]->terms = NULL, m->tensors[i]->nterms = 0;
        R->fx_exp[i] = m->trainable[i] ? local_exponent(m, i, nblk, st_fx_exponent) : ST_FX_ZERO;
    }
}

int st_exact_finite_exponents(st_run *R, int nblk, int t0, int t1) {
    st_model *m = &R->model;
    int any = 0;
    for (int i = t0; i < t1; i++) {
        any |= R->fx_exp[i] == ST_FX_NONFINITE;
        R->fx_efin[i] = R->fx_exp[i] == ST_FX_NONFINITE
                            ? local_exponent(m, i, nblk, finite_exponent)
                            : ST_FX_ZERO;
    }
    if (any && !R->fx_nf) {
        R->fx_nf = st_malloc(3 * m->nparams * sizeof(int64_t));
        memset(R->fx_nf, 0, 3 * m->nparams * sizeof(int64_t));
    }
    return any;
}

/* 2. Fixed point, this rank's blocks added. Dense tensors: a chunk at a time over all slots,
 *    summed in a buffer that stays in L1 and cleared as read, so every slot is zero again for
 *    the next step (st_model_zero_grad_rows relies on it). */
void st_exact_to_fixed(st_run *R, int nblk, int t0, int t1) {
    st_model *m = &R->model;
    const size_t stride = m->grad_stride;
    int64_t *acc = R->fx, *nf = R->fx_nf;
    enum { CHUNK = 1024 };
    for (int i = t0; i < t1; i++) {
        st_param *P = m->tensors[i];
        const int e = R->fx_exp[i];
        const size_t off = m->ranges[i].offset, cnt = m->ranges[i].count;
        const int shift = st_fx_shift(e, terms_bound(R, P));
        if (e == ST_FX_NONFINITE) {
            const int ef = R->fx_efin[i], sf = st_fx_shift(ef, terms_bound(R, P));
            if (P->row_sparse) {
                const size_t w = cnt / P->dims.d[0];
                for (size_t j = 0; j < P->nterms; j++) {
                    const size_t at = (size_t)P->term_rows[j] * w;
                    add_nonfinite(P->terms + j * w, w, ef, sf, acc + off + at,
                                  nf + 3 * (off + at));
                }
                P->terms = NULL, P->nterms = 0;
                continue;
            }
            for (int k = 0; k < nblk; k++) {
                float *x = m->grads + (size_t)k * stride + off;
                add_nonfinite(x, cnt, ef, sf, acc + off, nf + 3 * off);
                memset(x, 0, cnt * sizeof(float)); /* the slots stay clean */
            }
            continue;
        }
        if (P->row_sparse) {
            const size_t w = cnt / P->dims.d[0];
            for (size_t j = 0; j < P->nterms && e != ST_FX_ZERO; j++)
                st_fx_add(P->terms + j * w, w, shift, acc + off + (size_t)P->term_rows[j] * w);
            P->terms = NULL, P->nterms = 0; /* consumed */
            continue;
        }
        for (size_t c = 0; c < cnt; c += CHUNK) {
            const size_t len = cnt - c < CHUNK ? cnt - c : CHUNK;
            for (int k = 0; k < nblk; k++) {
                float *x = m->grads + (size_t)k * stride + off + c;
                if (e == ST_FX_ZERO)
                    memset(x, 0, len * sizeof(float));
                else
                    st_fx_add_clear(x, len, shift, acc + off + c);
            }
        }
    }
}

/* 3. Back to float, the same on every rank, into slot 0: this rank's share [a, b) of each
 *    tensor (all of it unsharded), whose sums are at sums[a - lo]. */
void st_exact_from_fixed(st_run *R, const int64_t *sums) {
    st_model *m = &R->model;
    const size_t lo = R->opt.lo, hi = R->opt.hi;
    for (int i = 0; i < m->ntensors; i++) {
        const int e = R->fx_exp[i];
        const size_t off = m->ranges[i].offset, cnt = m->ranges[i].count;
        const size_t a = off > lo ? off : lo, b = off + cnt < hi ? off + cnt : hi;
        if (a >= b) continue;
        float *out = m->grads + a;
        if (e == ST_FX_ZERO) {
            memset(out, 0, (b - a) * sizeof(float));
        } else if (e == ST_FX_NONFINITE) {
            const int ef = R->fx_efin[i];
            if (ef == ST_FX_ZERO)
                memset(out, 0, (b - a) * sizeof(float));
            else
                st_fx_to_float(sums + (a - lo), b - a,
                               st_fx_shift(ef, terms_bound(R, m->tensors[i])), out);
            for (size_t j = a; j < b; j++)
                m->grads[j] = with_nonfinite(m->grads[j], R->fx_nf + 3 * j);
        } else
            st_fx_to_float(sums + (a - lo), b - a, st_fx_shift(e, terms_bound(R, m->tensors[i])),
                           out);
    }
}

void st_exact_tail(const int64_t *tail, float tail_out[ST_TAIL_N]) {
    st_xsum l;
    memcpy(l.w, tail, sizeof l.w);
    tail_out[ST_TAIL_LOSS] = (float)st_xsum_value(&l);
    tail_out[ST_TAIL_CORRECT] = (float)tail[ST_XSUM_WORDS + 0];
    tail_out[ST_TAIL_COUNT] = (float)tail[ST_XSUM_WORDS + 1];
    tail_out[ST_TAIL_ERROR] = (float)tail[ST_XSUM_WORDS + 2];
    tail_out[ST_TAIL_STOP] = (float)tail[ST_XSUM_WORDS + 3];
}

void st_exact_tail_fill(int64_t *tail, const st_xsum *loss, const double counts[4]) {
    memcpy(tail, loss->w, sizeof loss->w);
    for (int j = 0; j < 4; j++) tail[ST_XSUM_WORDS + j] = (int64_t)counts[j];
}

void st_run_reduce_exact(st_run *R, int nblk, const st_xsum *loss, const double counts[4],
                         float tail_out[ST_TAIL_N]) {
    st_model *m = &R->model;
    const int nt = m->ntensors;
    /* 1. Exponents: this rank's largest value per tensor, then the largest anywhere. */
    st_exact_exponents(R, nblk, 0, nt);
    st_dist_allreduce_max_i32(R->fx_exp, (size_t)nt);
    /* Tensors with NaN or inf (every rank knows which: the exponent is a maximum): their
     *    exponent over finite values, agreed the same way, and counts of the others. */
    int nonfinite = 0;
    for (int i = 0; i < nt; i++) nonfinite |= R->fx_exp[i] == ST_FX_NONFINITE;
    if (nonfinite) {
        st_exact_finite_exponents(R, nblk, 0, nt);
        st_dist_allreduce_max_i32(R->fx_efin, (size_t)nt);
    }
    int64_t *acc = R->fx, *tail = R->fx + m->nparams;
    memset(acc, 0, (m->nparams + ST_FX_TAIL) * sizeof(int64_t));
    st_exact_to_fixed(R, nblk, 0, nt);
    st_exact_tail_fill(tail, loss, counts);
    /* Sharded: each rank receives only its part's sums, the tail apart. Integers: the sum is
     * the same whichever way MPI splits or orders it. */
    if (R->shard) {
        st_dist_reduce_scatter_sum_i64(acc, R->fxpart, R->part, 0, m->nparams);
        st_dist_allreduce_sum_i64(tail, ST_FX_TAIL);
    } else {
        st_dist_allreduce_sum_i64(acc, m->nparams + ST_FX_TAIL);
    }
    if (nonfinite) st_dist_allreduce_sum_i64(R->fx_nf, 3 * m->nparams);
    st_exact_from_fixed(R, R->shard ? R->fxpart : acc);
    st_free(R->fx_nf);
    R->fx_nf = NULL;
    st_exact_tail(tail, tail_out);
}
