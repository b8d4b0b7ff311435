/*
 * test_blocks.c - per-block parameter gradients (layer.h, st_blocks; layers/grad.c) for every
 * layer type with parameters.
 *
 * Deterministic training needs each block's contribution to a parameter gradient to be the
 * same bits whatever other rows share the layer's call (one block per rank, or several), and
 * every row's forward output and input gradient to be the same bits too. So for each layer:
 * one call on B = 7 rows split into blocks of 3 (3, 3, 1) with a 3-slot gradient buffer, then
 * each block's rows alone in a call of their own (one block); slot k must equal block k's lone
 * gradient BITWISE, and the big call's output and dx rows must equal the lone calls' rows
 * bitwise. The slots' sum must also be the gradient of the call without blocks, and its output
 * that call's output (within float rounding: without blocks a row-wise product runs over all
 * rows at once, which OpenBLAS may round differently).
 *
 * Both of grad.c's forms are covered: a scratch large enough to gather a block's rows into one
 * product, and no scratch (per-step products); the lone reference has the same scratch, since
 * the form follows the scratch, not the company a block keeps.
 *
 * The small shapes keep every product below OpenBLAS's kernel sizes; the wide ones reach the
 * sizes where OpenBLAS computes a row of C = A · W differently depending on how many rows the
 * product has and where the row sits (edge micro-kernels: measured with 0.3.21, Haswell/Zen for
 * K >= 8 and N >= 8 in groups of 12 rows, Prescott for K >= 8, SkylakeX for K >= 32 and some
 * N), which a row-wise product over all rows of a call fails. Run the suite under several
 * OPENBLAS_CORETYPE values (Haswell, SkylakeX, Prescott, Zen, Sandybridge) to cover them; the
 * "threaded" shapes are large enough (M N K >= 2^20, core/blas.c) for OpenBLAS to use several
 * threads under OPENBLAS_NUM_THREADS > 1.
 *
 * Dropout masks are keyed by global sample id, so the lone calls get the ids their rows had in
 * the big call, and every call trains (train = 1).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NB 7      /* rows of the big call */
#define BROWS 3   /* rows per block: blocks of 3, 3, 1 */
#define NBLK 3
#define TT 4      /* steps of a sequence input */
#define VOCAB 6   /* embedding: small, so ids repeat within and across blocks */
#define SCRATCH (1 << 16)
#define ROWWORK (1 << 20) /* the row products' work: K + N + K x N of the widest case */

typedef struct bcase {
    const char *name;
    const st_layer_ops *ops;
    const char *const *keys;
    st_shape in;   /* input shape the layer is built for */
    int mask;      /* 1: feed a (T, B) mask with padded and fully masked rows */
} bcase;

/* Everything one call reads and writes, for rows [r0, r0 + nb) of the big call's data. */
typedef struct bdata {
    int T, F, O, oseq;     /* steps, input and output features, output is a sequence */
    float *x;              /* (T, NB, F) or NULL for tokens */
    int32_t *tok;          /* (NB, T) or NULL */
    uint8_t *mask;         /* (T, NB) or NULL */
    int64_t ids[NB];
    float *dout;           /* (To, NB, O) */
} bdata;

typedef struct bresult {
    float *out, *dx, *g; /* (To, nb, O), (T, nb, F), gradient slots */
} bresult;

/* One forward + backward of t on rows [r0, r0 + nb) of d, gathered into a call of their own
 * (rows in place when r0 = 0, nb = NB). g: where the layer's gradient views point (slot 0;
 * blocks place slot k at g + k * stride), zeroed here; out and dx are copied into res. */
static void run(st_test_layer *t, const bdata *d, int r0, int nb, const st_blocks *bk, float *g,
                size_t gfloats, bresult *res) {
    st_layer *L = &t->L;
    const int T = d->T, F = d->F, O = d->O, To = d->oseq ? T : 1, Ti = L->ishape.seq ? T : 1;
    float *x = d->x ? malloc(sizeof(float) * (size_t)Ti * nb * F) : NULL;
    int32_t *tok = d->tok ? malloc(sizeof(int32_t) * (size_t)nb * T) : NULL;
    uint8_t *mask = d->mask ? malloc((size_t)T * nb) : NULL;
    float *dx = d->x ? calloc((size_t)Ti * nb * F, sizeof(float)) : NULL;
    for (int ti = 0; ti < Ti; ti++)
        for (int r = 0; r < nb && x; r++)
            memcpy(x + ((size_t)ti * nb + r) * F, d->x + ((size_t)ti * NB + r0 + r) * F,
                   sizeof(float) * F);
    if (tok) memcpy(tok, d->tok + (size_t)r0 * T, sizeof(int32_t) * (size_t)nb * T);
    for (int ti = 0; ti < T && mask; ti++)
        memcpy(mask + (size_t)ti * nb, d->mask + (size_t)ti * NB + r0, (size_t)nb);

    for (int p = 0; p < L->nparam; p++) L->param[p].g = g + L->param[p].offset;
    memset(g, 0, sizeof(float) * gfloats);
    st_layer_in in = {.x = x, .tokens = tok, .mask = mask, .sample_ids = d->ids + r0,
                      .seed = 1234, .epoch = 2, .blocks = bk};
    L->ops->forward(L, &in, nb, T, 1);
    memcpy(res->out, L->out, sizeof(float) * (size_t)To * nb * O);
    for (int ti = 0; ti < To; ti++)
        memcpy(L->dout + (size_t)ti * nb * O, d->dout + ((size_t)ti * NB + r0) * O,
               sizeof(float) * (size_t)nb * O);
    L->ops->backward(L, &in, dx, nb, T);
    /* A row-sparse gradient (the embedding's) comes as terms, one per (t, b) position, which
     * the step sums exactly (src/train/exact.c). Check them here as what they add up to: block
     * k's terms, in (t, r) order, into slot k. */
    for (int p = 0; p < L->nparam; p++) {
        st_param *P = &L->param[p];
        if (!bk || !P->terms) continue;
        ck_assert_uint_eq(P->nterms, (size_t)T * nb);
        const size_t w = st_dims_count(&P->dims) / P->dims.d[0];
        for (int k = 0; k < bk->n; k++)
            for (int ti = 0; ti < T; ti++)
                for (int r = k * bk->rows; r < nb && r < (k + 1) * bk->rows; r++) {
                    const size_t j = (size_t)ti * nb + r;
                    float *row = st_grad_slot(bk, P->g, k) + (size_t)P->term_rows[j] * w;
                    for (size_t e = 0; e < w; e++) row[e] += P->terms[j * w + e];
                }
        P->terms = NULL, P->nterms = 0;
    }
    if (dx) memcpy(res->dx, dx, sizeof(float) * (size_t)Ti * nb * F);
    free(x), free(tok), free(mask), free(dx);
}

/* Rows [r0, r0 + nb) of a (T, NB, n) big-call tensor equal the (T, nb, n) lone one bitwise. */
static int rows_equal(const float *big, const float *lone, int T, int r0, int nb, int n) {
    for (int t = 0; t < T; t++)
        if (memcmp(big + ((size_t)t * NB + r0) * n, lone + (size_t)t * nb * n,
                   sizeof(float) * (size_t)nb * n))
            return 0;
    return 1;
}

/* Index of the first differing float, -1 if none. */
static long first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof(float))) return (long)i;
    return -1;
}

static void check_case(const bcase *c, int use_scratch, uint64_t seed) {
    st_test_layer t;
    st_test_layer_make(&t, c->ops, c->keys, c->in, NB, TT, seed);
    st_test_randomize(&t, 0.7f, seed + 1);
    st_layer *L = &t.L;
    const size_t S = t.nparams;
    bdata d = {.T = c->in.seq > 0 ? TT : 1, .F = c->in.feat, .O = L->oshape.feat,
               .oseq = L->oshape.seq > 0};
    const int T = d.T, Ti = L->ishape.seq ? T : 1, To = d.oseq ? T : 1;
    if (c->in.tokens) {
        d.tok = malloc(sizeof(int32_t) * NB * T);
        for (int i = 0; i < NB * T; i++) d.tok[i] = (int32_t)((i * 7 + 3) % VOCAB);
        d.tok[2 * T + 1] = 0; /* a padded position (mask_zero) */
    } else {
        d.x = malloc(sizeof(float) * (size_t)Ti * NB * d.F);
        st_test_fill_uniform(d.x, (size_t)Ti * NB * d.F, -1, 1, seed + 2);
    }
    if (c->mask) {
        /* Row b has lens[b] real steps ('post' padding); row 4 none at all. */
        static const int lens[NB] = {TT, 2, 3, 1, 0, TT, 2};
        d.mask = malloc((size_t)T * NB);
        for (int ti = 0; ti < T; ti++)
            for (int b = 0; b < NB; b++) d.mask[(size_t)ti * NB + b] = ti < lens[b];
    }
    for (int b = 0; b < NB; b++) d.ids[b] = 1000 + 37 * b;
    d.dout = malloc(sizeof(float) * (size_t)To * NB * d.O);
    st_test_fill_uniform(d.dout, (size_t)To * NB * d.O, -1, 1, seed + 3);

    float *scratch = use_scratch ? malloc(sizeof(float) * SCRATCH) : NULL;
    float *rowwork = malloc(sizeof(float) * ROWWORK);
    st_rowpack pk = {.buf = rowwork, .cap = ROWWORK};
    st_blocks bk = {.n = NBLK, .rows = BROWS, .stride = S, .scratch = scratch,
                    .scratch_floats = use_scratch ? SCRATCH : 0, .pack = &pk, .gen = 1};
    const size_t nout = (size_t)To * NB * d.O, ndx = d.x ? (size_t)Ti * NB * d.F : 0;
    bresult big = {malloc(sizeof(float) * nout), malloc(sizeof(float) * (ndx + 1)),
                   malloc(sizeof(float) * NBLK * S)};
    bresult lone = {malloc(sizeof(float) * nout), malloc(sizeof(float) * (ndx + 1)),
                    malloc(sizeof(float) * S)};
    float *gnull = malloc(sizeof(float) * S);

    run(&t, &d, 0, NB, &bk, big.g, NBLK * S, &big);

    for (int k = 0; k < NBLK; k++) {
        const int r0 = k * BROWS, nb = r0 + BROWS < NB ? BROWS : NB - r0;
        /* The lone reference: the block alone, one block in its call, with the same scratch. */
        st_blocks one = {.n = 1, .rows = BROWS, .stride = S, .scratch = scratch,
                         .scratch_floats = use_scratch ? SCRATCH : 0, .pack = &pk, .gen = 1};
        run(&t, &d, r0, nb, &one, lone.g, S, &lone);
        ck_assert_msg(rows_equal(big.out, lone.out, To, r0, nb, d.O),
                      "%s: block %d's output rows differ from its rows alone", c->name, k);
        if (d.x)
            ck_assert_msg(rows_equal(big.dx, lone.dx, Ti, r0, nb, d.F),
                          "%s: block %d's dx rows differ from its rows alone", c->name, k);
        long i = first_diff(big.g + (size_t)k * S, lone.g, S);
        ck_assert_msg(i < 0, "%s (scratch %d): slot %d differs from block %d alone at %ld: %a vs %a",
                      c->name, use_scratch, k, k, i, i < 0 ? 0.0 : big.g[(size_t)k * S + i],
                      i < 0 ? 0.0 : lone.g[i]);
    }

    /* The slots add up to the gradient of the call without blocks, and the outputs agree. */
    run(&t, &d, 0, NB, NULL, gnull, S, &lone);
    double omax = 0;
    for (size_t i = 0; i < nout; i++) omax = fmax(omax, fabs(lone.out[i]));
    ck_assert_msg(st_test_close(c->name, big.out, lone.out, nout, 1e-5, 1e-5 * omax) <= 1,
                  "%s: output with blocks", c->name);
    double gmax = 0;
    for (size_t i = 0; i < S; i++) gmax = fmax(gmax, fabs(gnull[i]));
    ck_assert_msg(gmax > 0, "%s: zero gradient", c->name);
    float *gsum = malloc(sizeof(float) * S);
    for (size_t i = 0; i < S; i++)
        gsum[i] = (float)((double)big.g[i] + big.g[S + i] + big.g[2 * S + i]);
    ck_assert_msg(st_test_close(c->name, gsum, gnull, S, 1e-5, 1e-5 * gmax) <= 1,
                  "%s: the slots do not add up to the gradient without blocks", c->name);

    free(gsum), free(gnull), free(scratch), free(rowwork);
    free(big.out), free(big.dx), free(big.g), free(lone.out), free(lone.dx), free(lone.g);
    free(d.x), free(d.tok), free(d.mask), free(d.dout);
    st_test_layer_free(&t);
}

static const char *const k_dense[] = {"units", "4", "activation", "tanh", NULL};
static const char *const k_rnn[] = {"units", "5", NULL};
static const char *const k_rnn_rs[] = {"units", "5", "return_sequences", "true", NULL};
static const char *const k_lstm_drop[] = {"units", "5", "dropout", "0.3",
                                          "recurrent_dropout", "0.4", NULL};
static const char *const k_bidi[] = {"layer", "lstm", "units", "4", "return_sequences", "true",
                                     NULL};
static const char *const k_bidi_gru[] = {"layer", "gru", "units", "4", "merge_mode", "sum",
                                         "dropout", "0.25", NULL};
static const char *const k_luong[] = {"units", "4", "score", "luong", NULL};
static const char *const k_bahdanau[] = {"units", "4", "score", "bahdanau", NULL};
static const char *const k_emb[] = {"input_dim", "6", "output_dim", "5", "mask_zero", "true",
                                    NULL};

static const bcase cases[] = {
    {"dense vectors", &st_dense_ops, k_dense, {0, 6, 0, 0}, 0},
    {"dense time-distributed", &st_dense_ops, k_dense, {TT, 6, 0, 0}, 0},
    {"simple_rnn", &st_simple_rnn_ops, k_rnn, {TT, 3, 0, 0}, 0},
    {"simple_rnn masked", &st_simple_rnn_ops, k_rnn_rs, {TT, 3, 0, 0}, 1},
    {"lstm", &st_lstm_ops, k_rnn, {TT, 3, 0, 0}, 0},
    {"lstm return_sequences", &st_lstm_ops, k_rnn_rs, {TT, 3, 0, 0}, 0},
    {"lstm masked", &st_lstm_ops, k_rnn, {TT, 3, 0, 0}, 1},
    {"lstm dropout", &st_lstm_ops, k_lstm_drop, {TT, 3, 0, 0}, 0},
    {"gru", &st_gru_ops, k_rnn, {TT, 3, 0, 0}, 0},
    {"gru return_sequences", &st_gru_ops, k_rnn_rs, {TT, 3, 0, 0}, 0},
    {"gru masked", &st_gru_ops, k_rnn_rs, {TT, 3, 0, 0}, 1},
    {"bidirectional lstm", &st_bidirectional_ops, k_bidi, {TT, 3, 0, 0}, 0},
    {"bidirectional lstm masked", &st_bidirectional_ops, k_bidi, {TT, 3, 0, 0}, 1},
    {"bidirectional gru dropout", &st_bidirectional_ops, k_bidi_gru, {TT, 3, 0, 0}, 0},
    {"attention luong", &st_attention_ops, k_luong, {TT, 5, 0, 0}, 0},
    {"attention luong masked", &st_attention_ops, k_luong, {TT, 5, 0, 0}, 1},
    {"attention bahdanau", &st_attention_ops, k_bahdanau, {TT, 5, 0, 0}, 0},
    {"attention bahdanau masked", &st_attention_ops, k_bahdanau, {TT, 5, 0, 0}, 1},
    {"embedding", &st_embedding_ops, k_emb, {TT, 0, 1, VOCAB}, 0},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Wider shapes, where OpenBLAS computes a row of a product differently depending on how many
 * rows the product has (edge micro-kernels; measured with 0.3.21: Haswell/Zen kernels for
 * K >= 8 and N >= 8, rows in groups of 12; Prescott for K >= 8; SkylakeX/Cooperlake for
 * K >= 32 and some N such as 1, 3, 5, 33, and N = 64, 128 transposed). Row-wise products
 * (forward, dx, dh) formed by one GEMM over all rows of a call fail these; per block
 * (st_rows_gemm) they pass. The threaded ones have products of M N K >= 2^20 per block. */
static const char *const w_dense[] = {"units", "20", "activation", "tanh", NULL};
static const char *const w_dense3[] = {"units", "3", NULL};
static const char *const w_luong[] = {"units", "12", "score", "luong", NULL};
static const char *const w_rnn[] = {"units", "12", "return_sequences", "true", NULL};
static const char *const w_lstm[] = {"units", "8", NULL};
static const char *const w_bidi[] = {"layer", "lstm", "units", "8", NULL};
static const char *const w_att[] = {"units", "12", "score", "bahdanau", NULL};
static const char *const w_emb[] = {"input_dim", "6", "output_dim", "40", NULL};
static const char *const w_big_dense[] = {"units", "300", NULL};
static const char *const w_big_lstm[] = {"units", "64", "dropout", "0.2", NULL};
static const bcase wide[] = {
    {"wide dense vectors", &st_dense_ops, w_dense, {0, 40, 0, 0}, 0},
    {"wide dense time-distributed", &st_dense_ops, w_dense, {TT, 40, 0, 0}, 0},
    {"wide dense, 3 units", &st_dense_ops, w_dense3, {0, 40, 0, 0}, 0},
    {"wide simple_rnn", &st_simple_rnn_ops, w_rnn, {TT, 12, 0, 0}, 0},
    {"wide lstm", &st_lstm_ops, w_lstm, {TT, 12, 0, 0}, 0},
    {"wide gru", &st_gru_ops, w_rnn, {TT, 12, 0, 0}, 0},
    {"wide bidirectional lstm", &st_bidirectional_ops, w_bidi, {TT, 12, 0, 0}, 0},
    {"wide attention luong", &st_attention_ops, w_luong, {TT, 40, 0, 0}, 0},
    {"wide attention bahdanau", &st_attention_ops, w_att, {TT, 16, 0, 0}, 0},
    {"wide embedding", &st_embedding_ops, w_emb, {TT, 0, 1, VOCAB}, 0},
    {"threaded dense time-distributed", &st_dense_ops, w_big_dense, {TT, 320, 0, 0}, 0},
    {"threaded lstm with dropout", &st_lstm_ops, w_big_lstm, {TT, 512, 0, 0}, 1},
};
#define NWIDE ((int)(sizeof wide / sizeof wide[0]))

/* One loop test per grad.c form, each case named in its failure message. */
START_TEST(test_blocks_gathered) {
    check_case(&cases[_i], 1, 100 + 10 * (uint64_t)_i);
}
END_TEST

START_TEST(test_blocks_per_step) {
    check_case(&cases[_i], 0, 500 + 10 * (uint64_t)_i);
}
END_TEST

START_TEST(test_blocks_wide) {
    check_case(&wide[_i / 2], _i % 2, 900 + 10 * (uint64_t)_i);
}
END_TEST

/* The helpers' own arithmetic, on a shape where a gathered block and a lone one must agree:
 * rows (t, r) with a leading dimension wider than the matrix (a column slice). */
START_TEST(test_grad_helpers_strided) {
    enum { T = 3, B = 5, M = 4, N = 3, LDX = 6, LDY = 5 };
    float X[T * B * LDX], Y[T * B * LDY];
    st_test_fill_uniform(X, sizeof X / sizeof *X, -1, 1, 7);
    st_test_fill_uniform(Y, sizeof Y / sizeof *Y, -1, 1, 8);
    float scratch[T * 2 * (M + N)];
    st_blocks bk = {.n = 3, .rows = 2, .stride = M * N, .scratch = scratch,
                    .scratch_floats = sizeof scratch / sizeof *scratch};
    float g[3 * M * N] = {0}, gb[3 * N] = {0};
    st_grad_gemm_tn(&bk, T, B, M, N, X, LDX, Y, LDY, g);
    bk.stride = N;
    st_grad_colsum(&bk, T, B, N, Y, LDY, gb);
    for (int k = 0; k < 3; k++) {
        const int r0 = 2 * k, nb = k < 2 ? 2 : 1;
        float Xk[T * 2 * M], Yk[T * 2 * N], gk[M * N] = {0}, bkk[N] = {0};
        for (int t = 0; t < T; t++)
            for (int r = 0; r < nb; r++) {
                memcpy(Xk + (t * nb + r) * M, X + (t * B + r0 + r) * LDX, sizeof(float) * M);
                memcpy(Yk + (t * nb + r) * N, Y + (t * B + r0 + r) * LDY, sizeof(float) * N);
            }
        st_grad_gemm_tn(NULL, T, nb, M, N, Xk, M, Yk, N, gk);
        st_grad_colsum(NULL, T, nb, N, Yk, N, bkk);
        ck_assert_msg(memcmp(g + k * M * N, gk, sizeof gk) == 0, "gemm slot %d", k);
        ck_assert_msg(memcmp(gb + k * N, bkk, sizeof bkk) == 0, "colsum slot %d", k);
        /* And against a plain double-precision sum. */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int t = 0; t < T; t++)
                    for (int r = 0; r < nb; r++)
                        s += (double)X[(t * B + r0 + r) * LDX + i] * Y[(t * B + r0 + r) * LDY + j];
                ck_assert(fabs(s - gk[i * N + j]) < 1e-5);
            }
    }
}
END_TEST

/* st_rows_gemm on its own, at a shape where OpenBLAS's edge kernels would depend on the rows
 * of a product (K, N >= 8 and T x rows crossing a 12-row group): for T = 1 and T = 4, both
 * orientations of W, beta 0 and 1, strided A and C, block k's rows of a call of 3 blocks equal
 * the same rows alone (one block) bitwise (the gather scratch, on or off, must not matter:
 * the row kernel does not use it); without blocks the call is the plain product over all
 * rows. */
START_TEST(test_rows_gemm) {
    enum { TM = 4, B = 7, R = 3, K = 40, N = 20, LDA = 43, LDC = 23 };
    static float A[TM * B * LDA], W[K * N], C0[TM * B * LDC], C[TM * B * LDC];
    static float Ak[TM * R * LDA], Ck[TM * R * LDC], scratch[TM * R * (K + N)];
    st_test_fill_uniform(A, sizeof A / sizeof *A, -1, 1, 11);
    st_test_fill_uniform(W, sizeof W / sizeof *W, -1, 1, 12);
    st_test_fill_uniform(C0, sizeof C0 / sizeof *C0, -1, 1, 13);
    for (int T = 1; T <= TM; T += TM - 1)
        for (int form = 0; form < 8; form++) {
            const int transW = form & 1, with_scratch = form >> 2 & 1;
            const float beta = form & 2 ? 1.0f : 0.0f;
            const int ldw = transW ? K : N;
            static float rw[K + 64 + 32 * K + K * N];
            static st_rowpack pk;
            pk.buf = rw, pk.cap = sizeof rw / sizeof *rw, pk.valid = 0;
            st_blocks bk = {.n = 3, .rows = R, .stride = 0, .scratch = scratch,
                            .scratch_floats = with_scratch ? sizeof scratch / sizeof *scratch : 0,
                            .pack = &pk, .gen = 1};
            memcpy(C, C0, sizeof C);
            st_rows_gemm(&bk, T, B, transW, N, K, 1.0f, A, LDA, W, ldw, beta, C, LDC);
            for (int k = 0; k < 3; k++) {
                const int r0 = k * R, nb = k < 2 ? R : B - 2 * R;
                for (int t = 0; t < T; t++) {
                    memcpy(Ak + (size_t)t * nb * LDA, A + ((size_t)t * B + r0) * LDA,
                           sizeof(float) * nb * LDA);
                    memcpy(Ck + (size_t)t * nb * LDC, C0 + ((size_t)t * B + r0) * LDC,
                           sizeof(float) * nb * LDC);
                }
                st_blocks one = bk;
                one.n = 1;
                st_rows_gemm(&one, T, nb, transW, N, K, 1.0f, Ak, LDA, W, ldw, beta, Ck, LDC);
                for (int t = 0; t < T; t++)
                    for (int r = 0; r < nb; r++) {
                        const float *big = C + ((size_t)t * B + r0 + r) * LDC;
                        const float *lone = Ck + ((size_t)t * nb + r) * LDC;
                        ck_assert_msg(!memcmp(big, lone, sizeof(float) * LDC),
                                      "T %d transW %d beta %g scratch %d: row (%d, %d) of block %d",
                                      T, transW, beta, with_scratch, t, r, k);
                        /* And the value: a double-precision dot product. */
                        for (int j = 0; j < N; j++) {
                            double s = beta * C0[((size_t)t * B + r0 + r) * LDC + j];
                            for (int i = 0; i < K; i++)
                                s += (double)A[((size_t)t * B + r0 + r) * LDA + i] *
                                     W[transW ? (size_t)j * K + i : (size_t)i * N + j];
                            ck_assert(fabs(s - big[j]) < 1e-4);
                        }
                    }
            }
            /* Without blocks: exactly one st_sgemm over all T x B rows. */
            memcpy(C, C0, sizeof C);
            st_rows_gemm(NULL, T, B, transW, N, K, 1.0f, A, LDA, W, ldw, beta, C, LDC);
            static float Cp[TM * B * LDC];
            memcpy(Cp, C0, sizeof Cp);
            st_sgemm(0, transW, T * B, N, K, 1.0f, A, LDA, W, ldw, beta, Cp, LDC);
            ck_assert(!memcmp(C, Cp, sizeof C));
        }
}
END_TEST

static Suite *blocks_suite(void) {
    Suite *s = suite_create("blocks");
    TCase *tc = tcase_create("slot k is block k alone, bitwise (gathered)");
    tcase_add_loop_test(tc, test_blocks_gathered, 0, NCASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("slot k is block k alone, bitwise (per-step fallback)");
    tcase_add_loop_test(tc, test_blocks_per_step, 0, NCASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("wide shapes: rows and slots bitwise under OpenBLAS's edge kernels");
    tcase_add_loop_test(tc, test_blocks_wide, 0, 2 * NWIDE);
    suite_add_tcase(s, tc);
    tc = tcase_create("row-wise products: block k's rows are its rows alone");
    tcase_add_test(tc, test_rows_gemm);
    suite_add_tcase(s, tc);
    tc = tcase_create("helpers on strided rows");
    tcase_add_test(tc, test_grad_helpers_strided);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(blocks_suite()); }
