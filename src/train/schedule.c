/*
 * schedule.c - which rows make up each step of an epoch, and bucketing by length.
 *
 * Without bucketing an epoch is its shuffle cut into consecutive global batches. With
 * [data] bucket_by_length (token data), as the tutorials' bucketing does to limit padding:
 *   1. the epoch's shuffle is cut into pools of bucket_batches global batches;
 *   2. each pool is sorted by real length (stable: ties keep the shuffled order), so a batch
 *      holds rows of similar length;
 *   3. the pool is cut into batches and the order of ALL the epoch's batches is shuffled, so
 *      the model does not see lengths in increasing order;
 *   4. each step's batch is trimmed to the steps where one of its rows has a real token: with
 *      'pre' padding the leading columns go, with 'post' the trailing ones.
 * Every input to this is global (seed, epoch and every row's length), so every rank computes
 * the same batches for any number of ranks and a resumed run recomputes them. Trimming only
 * removes masked steps, which change nothing (a masked step carries the state unchanged), so
 * the loss is that of the untrimmed batch, computed on fewer steps.
 *
 * The lengths are measured once at start-up: each rank reads its contiguous share of the
 * training rows (in batch-sized chunks, so memory stays bounded) and the (first, last + 1)
 * real steps of every row are exchanged with one allgather: 8 bytes a row.
 */
#include <stdlib.h>
#include <string.h>

#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/rng.h"
#include "train/step.h"

int st_schedule_init(st_run *R) {
    const st_config *cfg = R->cfg;
    const st_settings *set = R->set;
    size_t n = R->ntrain;
    int Bg = set->train.batch_size;
    size_t steps = (n + (size_t)Bg - 1) / (size_t)Bg;
    R->bstart = st_malloc((steps + 1) * sizeof(size_t));
    R->scratch = st_malloc((n + 1) * sizeof(size_t));
    if (!set->data.bucket_by_length) return ST_OK;
    if (!R->train.tokens) {
        st_error_set("%s: [data] bucket_by_length needs token data (/%s/x is float features)",
                     cfg->origin, set->data.train_split);
        return st_dist_any_error(ST_ERR);
    }
    /* My contiguous share of the training rows, read a batch at a time. */
    size_t a = n * (size_t)R->rank / (size_t)R->size, e = n * (size_t)(R->rank + 1) / R->size;
    int32_t *mine = st_malloc((2 * (e - a) + 1) * sizeof(int32_t));
    int rc = ST_OK, T = R->train.T, maxB = R->model.maxB;
    for (size_t r = a; r < e && rc == ST_OK; r += (size_t)maxB) {
        int nb = (int)(e - r < (size_t)maxB ? e - r : (size_t)maxB);
        for (int i = 0; i < nb; i++) R->rows[i] = r + (size_t)i;
        R->batch.T = T;
        rc = st_split_read(&R->train, R->rows, nb, &R->batch);
        for (int i = 0; rc == ST_OK && i < nb; i++) {
            const int32_t *row = R->batch.tok + (size_t)i * T;
            int lo = 0, hi = T;
            while (lo < T && row[lo] == 0) lo++;
            while (hi > lo && row[hi - 1] == 0) hi--;
            /* An all-padding row spans nothing: (T, 0) leaves every window unchanged. */
            mine[2 * (r - a + (size_t)i)] = lo < hi ? lo : T;
            mine[2 * (r - a + (size_t)i) + 1] = lo < hi ? hi : 0;
        }
    }
    rc = st_dist_any_error(rc);
    if (rc == ST_OK) {
        R->span = st_malloc((2 * n + 1) * sizeof(int32_t));
        st_dist_allgather_i32(mine, 2 * (e - a), R->span);
    }
    st_free(mine);
    return rc;
}

/* Sort key of one position of a pool: the row's length, then its position (stable sort). */
typedef struct keyed {
    int32_t len;
    uint32_t pos;
    size_t row;
} keyed;

static int keyed_cmp(const void *x, const void *y) {
    const keyed *a = x, *b = y;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

void st_schedule_epoch(st_run *R, uint64_t seed, int64_t epoch, int shuffle) {
    size_t n = R->ntrain, Bg = (size_t)R->set->train.batch_size;
    size_t steps = (n + Bg - 1) / Bg;
    if (shuffle)
        st_shuffle(R->perm, n, seed, epoch);
    else
        for (size_t i = 0; i < n; i++) R->perm[i] = i;
    if (!R->span) {
        for (size_t k = 0; k <= steps; k++) R->bstart[k] = k * Bg < n ? k * Bg : n;
        return;
    }
    /* 1-2: sort each pool by length. */
    size_t pool = Bg * (size_t)R->set->data.bucket_batches;
    keyed *tmp = st_malloc((pool < n ? pool : n) * sizeof(keyed) + sizeof(keyed));
    for (size_t c = 0; c < n; c += pool) {
        size_t m = n - c < pool ? n - c : pool;
        for (size_t i = 0; i < m; i++) {
            size_t row = R->perm[c + i];
            int32_t lo = R->span[2 * row], hi = R->span[2 * row + 1];
            tmp[i] = (keyed){hi > lo ? hi - lo : 0, (uint32_t)i, row};
        }
        qsort(tmp, m, sizeof *tmp, keyed_cmp);
        for (size_t i = 0; i < m; i++) R->perm[c + i] = tmp[i].row;
    }
    st_free(tmp);
    /* 3: shuffle the order of the batches (their contents stay together). */
    size_t *order = st_malloc((steps + 1) * sizeof(size_t));
    for (size_t k = 0; k < steps; k++) order[k] = k;
    st_rng r = st_rng_make(seed, 0xB0C4E7ULL + (uint64_t)epoch);
    for (size_t k = steps; k > 1; k--) {
        size_t j = (size_t)st_rng_below(&r, k);
        size_t t = order[k - 1];
        order[k - 1] = order[j];
        order[j] = t;
    }
    size_t at = 0;
    for (size_t k = 0; k < steps; k++) {
        size_t b0 = order[k] * Bg, b1 = b0 + Bg < n ? b0 + Bg : n;
        R->bstart[k] = at;
        memcpy(R->scratch + at, R->perm + b0, (b1 - b0) * sizeof(size_t));
        at += b1 - b0;
    }
    R->bstart[steps] = at;
    memcpy(R->perm, R->scratch, n * sizeof(size_t));
    st_free(order);
}

void st_schedule_trim(const st_run *R, int64_t step, st_batch *b) {
    if (!R->span || b->B == 0) return;
    int T = b->T, lo = T, hi = 0;
    for (size_t i = R->bstart[step]; i < R->bstart[step + 1]; i++) {
        size_t row = R->perm[i];
        if (R->span[2 * row] < lo) lo = R->span[2 * row];
        if (R->span[2 * row + 1] > hi) hi = R->span[2 * row + 1];
    }
    if (hi <= lo) lo = 0, hi = 1; /* only empty rows: one (masked) step */
    int W = hi - lo;
    if (W == T) return;
    /* Rows are (B, T) batch-major: move each row's window to the front, in order. */
    for (int i = 0; i < b->B; i++)
        memmove(b->tok + (size_t)i * W, b->tok + (size_t)i * T + lo, (size_t)W * sizeof(int32_t));
    if (b->yT == T)
        for (int i = 0; i < b->B; i++)
            memmove(b->y + (size_t)i * W, b->y + (size_t)i * T + lo, (size_t)W * sizeof(int32_t));
    if (b->yT == T) b->yT = W;
    b->T = W;
}
