/*
 * testutil.c - shared test helpers (see testutil.h). The gradient check perturbs one element at
 * a time and recomputes the whole forward pass, so it is only for tiny shapes.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double st_test_close(const char *name, const float *a, const float *b, size_t n, double rtol,
                     double atol) {
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
        if (e > worst || isnan(e)) { worst = isnan(e) ? INFINITY : e; wi = i; }
    }
    if (name && worst > 1)
        fprintf(stderr, "%s: worst at %zu: got %.8g want %.8g (err %.3g)\n", name, wi, a[wi],
                b[wi], worst);
    return worst;
}

void st_test_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed) {
    st_rng r = st_rng_make(seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * st_rng_uniform(&r);
}

void st_test_layer_make(st_test_layer *t, const st_layer_ops *ops, const char *const *keys,
                        st_shape in, int maxB, int maxT, uint64_t seed) {
    memset(t, 0, sizeof *t);
    st_layer *L = &t->L;
    char name[64];
    snprintf(name, sizeof name, "%s_1", ops->type);
    st_layer_create(L, ops, name);
    for (int i = 0; keys && keys[i]; i += 2) {
        int rc = st_layer_set(L, keys[i], keys[i + 1]);
        ck_assert_msg(rc == ST_OK, "set %s=%s: %s", keys[i], keys[i + 1], st_error_get());
    }
    ck_assert_msg(ops->build(L, in) == ST_OK, "build: %s", st_error_get());
    t->nparams = 0;
    for (int p = 0; p < L->nparam; p++) {
        L->param[p].offset = t->nparams;
        t->nparams += st_dims_count(&L->param[p].dims);
    }
    t->params = st_malloc((t->nparams + 1) * sizeof(float));
    t->grads = st_malloc((t->nparams + 1) * sizeof(float));
    for (int p = 0; p < L->nparam; p++) {
        L->param[p].w = t->params + L->param[p].offset;
        L->param[p].g = t->grads + L->param[p].offset;
    }
    size_t ws = ops->workspace(L, maxB, maxT);
    t->ws = st_malloc((ws + 1) * sizeof(float));
    L->ws = t->ws;
    int T = L->oshape.seq ? maxT : 1;
    size_t outn = (size_t)T * maxB * L->oshape.feat;
    L->out = st_malloc((outn + 1) * sizeof(float));
    L->dout = st_malloc((outn + 1) * sizeof(float));
    L->mask_out = st_malloc((size_t)maxT * maxB + 1);
    size_t inn = (size_t)(in.seq ? maxT : 1) * maxB * (in.feat > 0 ? in.feat : 1);
    t->dx = st_malloc((inn + 1) * sizeof(float));
    t->maxB = maxB;
    t->maxT = maxT;
    st_layer_init_params(L, seed);
}

void st_test_layer_free(st_test_layer *t) {
    st_free(t->params);
    st_free(t->grads);
    st_free(t->ws);
    st_free(t->dx);
    st_free(t->L.out);
    st_free(t->L.dout);
    st_free(t->L.mask_out);
}

static size_t out_count(const st_layer *L, int B, int T) {
    return (size_t)(L->oshape.seq ? T : 1) * B * L->oshape.feat;
}

static double weighted_sum(const st_layer *L, const float *R, int B, int T) {
    double s = 0;
    size_t n = out_count(L, B, T);
    for (size_t i = 0; i < n; i++) s += (double)L->out[i] * R[i];
    return s;
}

double st_test_gradcheck(st_test_layer *t, float *x, const int32_t *tokens, const uint8_t *mask,
                         int B, int T, float eps, double rtol, double atol) {
    st_layer *L = &t->L;
    st_layer_in in = {.x = x, .tokens = tokens, .mask = mask};
    size_t nout = out_count(L, B, T);
    float *R = st_malloc(nout * sizeof(float));
    st_test_fill_uniform(R, nout, -1, 1, 99);
    size_t nin = x ? (size_t)(L->ishape.seq ? T : 1) * B * L->ishape.feat : 0;

    /* analytic */
    L->ops->forward(L, &in, B, T, 1);
    memcpy(L->dout, R, nout * sizeof(float));
    memset(t->grads, 0, t->nparams * sizeof(float));
    if (x) memset(t->dx, 0, nin * sizeof(float));
    L->ops->backward(L, &in, x ? t->dx : NULL, B, T);
    float *ga = st_malloc((t->nparams + nin + 1) * sizeof(float));
    float *gn = st_malloc((t->nparams + nin + 1) * sizeof(float));
    memcpy(ga, t->grads, t->nparams * sizeof(float));
    if (x) memcpy(ga + t->nparams, t->dx, nin * sizeof(float));

    /* numeric, central differences */
    for (size_t i = 0; i < t->nparams + nin; i++) {
        float *v = i < t->nparams ? &t->params[i] : &x[i - t->nparams];
        float save = *v;
        *v = save + eps;
        L->ops->forward(L, &in, B, T, 1);
        double lp = weighted_sum(L, R, B, T);
        *v = save - eps;
        L->ops->forward(L, &in, B, T, 1);
        double lm = weighted_sum(L, R, B, T);
        *v = save;
        gn[i] = (float)((lp - lm) / (2.0 * eps));
    }
    double worst = st_test_close(L->name, ga, gn, t->nparams + nin, rtol, atol);
    st_free(R);
    st_free(ga);
    st_free(gn);
    return worst;
}

const char *const st_test_mask_names[N_MASKS] = {"none", "post", "pre", "holes"};
const int st_test_gc_lens[GB] = {4, 2, 1, 0};

int st_test_has_kink(st_act a) { return a == ST_ACT_RELU || a == ST_ACT_HARD_SIGMOID; }

float st_test_eps_for(st_act a, st_act b) {
    return st_test_has_kink(a) || st_test_has_kink(b) ? GC_EPS_KINK : GC_EPS;
}

void st_test_make_mask(int kind, const int *lens, int B, int T, uint8_t *m) {
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            m[t * B + b] = kind == MASK_POST  ? t < lens[b]
                           : kind == MASK_PRE ? t >= T - lens[b]
                                              : lens[b] > 0 && (t + b) % 3 != 1;
}

void st_test_randomize(st_test_layer *t, float s, uint64_t seed) {
    st_test_fill_uniform(t->params, t->nparams, -s, s, seed);
}

void st_test_scramble(st_test_layer *t, uint64_t seed) { st_test_randomize(t, 0.7f, seed); }

double st_test_gradcheck_layer(const st_layer_ops *ops, const char *const *keys, st_shape in,
                               int B, int T, const uint8_t *mask, int fuse, uint64_t seed,
                               float eps) {
    st_test_layer t;
    st_test_layer_make(&t, ops, keys, in, MAXB, MAXT, seed);
    t.L.fuse_activation = fuse;
    st_test_randomize(&t, 0.7f, seed + 1);
    size_t nx = (size_t)(in.seq ? T : 1) * B * in.feat;
    float x[MAXT * MAXB * 8];
    ck_assert(nx <= sizeof x / sizeof x[0]);
    st_test_fill_uniform(x, nx, -1, 1, seed + 2);
    double atol = eps < GC_EPS ? GC_ATOL_KINK : GC_ATOL;
    double e = st_test_gradcheck(&t, x, NULL, mask, B, T, eps, GC_RTOL, atol);
    st_test_layer_free(&t);
    return e;
}

void st_test_check_accumulates(const st_layer_ops *ops, const char *const *keys,
                               const uint8_t *mask) {
    st_test_layer t;
    st_test_layer_make(&t, ops, keys, (st_shape){GT, 3, 0, 0}, GB, GT, 50);
    st_test_randomize(&t, 0.7f, 51);
    float x[GT * GB * 3];
    st_test_fill_uniform(x, GT * GB * 3, -1, 1, 52);
    st_layer_in in = {.x = x, .mask = mask};
    size_t nout = (size_t)(t.L.oshape.seq ? GT : 1) * GB * t.L.oshape.feat, nx = GT * GB * 3;
    float *g1 = st_malloc((t.nparams + nx) * sizeof(float)); /* one pass: params, then dx */
    for (int pass = 0; pass < 2; pass++) {
        ops->forward(&t.L, &in, GB, GT, 1);
        st_test_fill_uniform(t.L.dout, nout, -1, 1, 53);
        if (pass == 0) {
            memset(t.grads, 0, t.nparams * sizeof(float));
            memset(t.dx, 0, nx * sizeof(float));
        }
        ops->backward(&t.L, &in, t.dx, GB, GT);
        if (pass == 0) {
            memcpy(g1, t.grads, t.nparams * sizeof(float));
            memcpy(g1 + t.nparams, t.dx, nx * sizeof(float));
        }
    }
    size_t nz = 0;
    for (size_t i = 0; i < t.nparams + nx; i++) {
        float got = i < t.nparams ? t.grads[i] : t.dx[i - t.nparams];
        ck_assert_msg(fabsf(got - 2 * g1[i]) <= 1e-5f * (1 + fabsf(g1[i])), "%s elem %zu",
                      ops->type, i);
        nz += g1[i] != 0;
    }
    ck_assert_msg(nz > t.nparams / 2, "%s: gradients mostly zero", ops->type);
    st_free(g1);
    st_test_layer_free(&t);
}

void st_test_check_frozen(const st_layer_ops *ops, const char *const *keys) {
    float dx[2][GT * GB * 3];
    for (int tr = 0; tr < 2; tr++) {
        const char *k[32];
        int n = 0;
        for (; keys && keys[n]; n++) k[n] = keys[n];
        ck_assert(n + 3 <= 32);
        k[n++] = "trainable";
        k[n++] = tr ? "true" : "false";
        k[n] = NULL;
        st_test_layer t;
        st_test_layer_make(&t, ops, k, (st_shape){GT, 3, 0, 0}, GB, GT, 60);
        st_test_randomize(&t, 0.7f, 61);
        float x[GT * GB * 3];
        st_test_fill_uniform(x, GT * GB * 3, -1, 1, 62);
        st_layer_in in = {.x = x};
        ops->forward(&t.L, &in, GB, GT, 1);
        st_test_fill_uniform(t.L.dout, (size_t)(t.L.oshape.seq ? GT : 1) * GB * t.L.oshape.feat,
                             -1, 1, 63);
        memset(t.grads, 0, t.nparams * sizeof(float));
        memset(t.dx, 0, sizeof dx[tr]);
        ops->backward(&t.L, &in, t.dx, GB, GT);
        memcpy(dx[tr], t.dx, sizeof dx[tr]);
        size_t nz = 0;
        for (size_t i = 0; i < t.nparams; i++) nz += t.grads[i] != 0;
        ck_assert_msg(tr ? nz > 0 : nz == 0, "%s trainable=%d: %zu nonzero grads", ops->type, tr,
                      nz);
        st_test_layer_free(&t);
    }
    ck_assert_msg(memcmp(dx[0], dx[1], sizeof dx[0]) == 0, "%s: dx depends on trainable",
                  ops->type);
}

const char *st_test_path(const char *name) {
    static char dir[256];
    static char buf[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/seqtrain-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
    }
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

const char *st_test_write_file(const char *name, const void *bytes, size_t n) {
    const char *p = st_test_path(name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
    return p;
}

int st_test_run(Suite *s) {
    st_dist_init(NULL, NULL);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    st_dist_finalize();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
