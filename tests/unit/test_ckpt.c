/*
 * test_ckpt.c - checkpoints: bit-exact round trip of weights, optimizer state and train state;
 * atomic saves (no .tmp left, a failed save keeps the previous file); errors that name the
 * dataset on architecture or optimizer mismatch; finding the newest checkpoint of a directory
 * and pruning old ones. Checkpoints that prove themselves: the CRC-32 against known values, a
 * flipped byte in a weight refused naming the tensor, checkpoints of the older layout (no
 * checksums, variable-length strings) still loading, the train-state and vector validators,
 * a damaged newest checkpoint skipped for the previous one, the directory lock.
 *
 * The model is assembled by hand (layers with parameter tables pointing into one buffer, as
 * st_model_build lays them out), so this suite tests the checkpoint code alone: the assembly
 * (train/checkpoint.c) and the file layout under it (io/ckpt.c).
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "core/crc32.h"
#include "io/ckpt_int.h"
#include "testutil.h"

/* A model of four layers: embedding (V, 4), lstm (4 -> H), a parameter-less layer, dense
 * (H -> 2). H changes the shapes, for the mismatch tests; extra adds a dense_2, drop_dense
 * leaves dense_1 out. */
static void add_param(st_layer *L, const char *name, st_dims dims) {
    st_param *p = &L->param[L->nparam++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->dims = dims;
}

static void make_model(st_model *m, int H, int extra, int drop_dense) {
    memset(m, 0, sizeof *m);
    m->layers = st_malloc(5 * sizeof(st_layer));
    st_layer *L = m->layers;
    snprintf(L[0].name, ST_NAME_MAX, "embedding_1");
    add_param(&L[0], "embeddings", st_dims2(10, 4));
    snprintf(L[1].name, ST_NAME_MAX, "lstm_1");
    add_param(&L[1], "kernel", st_dims2(4, 4 * (size_t)H));
    add_param(&L[1], "recurrent_kernel", st_dims2((size_t)H, 4 * (size_t)H));
    add_param(&L[1], "bias", st_dims1(4 * (size_t)H));
    snprintf(L[2].name, ST_NAME_MAX, "flatten_1");
    m->nlayers = 3;
    if (!drop_dense) {
        snprintf(L[3].name, ST_NAME_MAX, "dense_1");
        add_param(&L[3], "kernel", st_dims2((size_t)H, 2));
        add_param(&L[3], "bias", st_dims1(2));
        m->nlayers = 4;
    }
    if (extra) {
        st_layer *E = &L[m->nlayers++];
        snprintf(E->name, ST_NAME_MAX, "dense_2");
        add_param(E, "kernel", st_dims2(2, 2));
    }
    /* size pass, then bind pass, as the model does */
    for (int i = 0; i < m->nlayers; i++)
        for (int p = 0; p < L[i].nparam; p++) {
            L[i].param[p].offset = m->nparams;
            m->nparams += st_dims_count(&L[i].param[p].dims);
            m->ntensors++;
        }
    m->params = st_malloc(m->nparams * sizeof(float));
    m->tensors = st_malloc((size_t)m->ntensors * sizeof(st_param *));
    int t = 0;
    for (int i = 0; i < m->nlayers; i++)
        for (int p = 0; p < L[i].nparam; p++) {
            L[i].param[p].w = m->params + L[i].param[p].offset;
            m->tensors[t++] = &L[i].param[p];
        }
}

static void free_model(st_model *m) {
    st_free(m->layers);
    st_free(m->params);
    st_free(m->tensors);
    memset(m, 0, sizeof *m);
}

/* Values that a lossy path would change: random floats plus -0, a denormal, extremes. */
static void fill(float *x, size_t n, uint64_t seed) {
    st_test_fill_uniform(x, n, -3, 3, seed);
    if (n > 4) {
        x[0] = -0.0f;
        x[1] = 1e-45f;
        x[2] = 3.4e38f;
        x[3] = -1.17549435e-38f;
    }
}

static void make_adam(st_optim *o, size_t n) {
    memset(o, 0, sizeof *o);
    st_optim_cfg_defaults(&o->cfg, ST_OPT_ADAM);
    o->n = n;
    o->hi = n; /* the whole buffer: unsharded */
    o->nstate = 2;
    o->state_name[0] = "m";
    o->state_name[1] = "v";
    o->state[0] = st_malloc(n * sizeof(float));
    o->state[1] = st_malloc(n * sizeof(float));
}

static void free_optim(st_optim *o) {
    st_free(o->state[0]);
    st_free(o->state[1]);
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

static const st_train_state k_ts = {3, 17, 9876543210LL, 0xfedcba9876543210ULL, {12.5, 0.1, 3.0e300}};

START_TEST(round_trip_bit_exact) {
    st_model a, b;
    st_optim oa, ob;
    make_model(&a, 3, 0, 0);
    make_model(&b, 3, 0, 0);
    make_adam(&oa, a.nparams);
    make_adam(&ob, b.nparams);
    fill(a.params, a.nparams, 1);
    fill(oa.state[0], a.nparams, 2);
    fill(oa.state[1], a.nparams, 3);
    oa.iterations = 9876543210LL;
    const char *p = st_test_path("rt.h5");
    const char *cfg = "[data]\npath = x.h5\n\n[lstm]\nunits = 3\n";
    ck_assert_msg(st_ckpt_save(p, &a, &oa, &k_ts, cfg) == ST_OK, "%s", st_error_get());
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    ck_assert(exists(p) && !exists(tmp));

    st_train_state ts;
    memset(&ts, 0, sizeof ts);
    ck_assert_msg(st_ckpt_load(p, &b, &ob, &ts) == ST_OK, "%s", st_error_get());
    ck_assert(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0);
    ck_assert(memcmp(oa.state[0], ob.state[0], a.nparams * sizeof(float)) == 0);
    ck_assert(memcmp(oa.state[1], ob.state[1], a.nparams * sizeof(float)) == 0);
    ck_assert_int_eq(ob.iterations, 9876543210LL);
    ck_assert(memcmp(&ts, &k_ts, sizeof ts) == 0);

    char *text = NULL;
    ck_assert(st_ckpt_read_config(p, &text) == ST_OK);
    ck_assert_str_eq(text, cfg);
    st_free(text);

    /* weights only: o and ts NULL */
    memset(b.params, 0, b.nparams * sizeof(float));
    ck_assert(st_ckpt_load(p, &b, NULL, NULL) == ST_OK);
    ck_assert(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0);

    /* saved without optimizer state: asking for it is an error */
    ck_assert(st_ckpt_save(p, &a, NULL, &k_ts, "") == ST_OK);
    ck_assert_int_eq(st_ckpt_load(p, &b, &ob, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "no optimizer state"), "%s", st_error_get());
    free_optim(&oa);
    free_optim(&ob);
    free_model(&a);
    free_model(&b);
}
END_TEST

START_TEST(failed_save_keeps_previous) {
    st_model a;
    make_model(&a, 3, 0, 0);
    fill(a.params, a.nparams, 5);
    const char *p = st_test_path("keep.h5");
    ck_assert(st_ckpt_save(p, &a, NULL, &k_ts, "v1") == ST_OK);

    /* a directory in the way of PATH.tmp makes the save fail after the old file exists */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    float old0 = a.params[7];
    a.params[7] = 42;
    ck_assert_int_eq(st_ckpt_save(p, &a, NULL, &k_ts, "v2"), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "tmp exists and is a directory: refused"), "%s",
                  st_error_get());
    ck_assert_int_eq(rmdir(tmp), 0); /* still there: a failed save never removes a directory */
    char *text = NULL;
    ck_assert(st_ckpt_read_config(p, &text) == ST_OK);
    ck_assert_str_eq(text, "v1");
    st_free(text);
    ck_assert(st_ckpt_load(p, &a, NULL, NULL) == ST_OK);
    ck_assert(a.params[7] == old0);

    /* a directory that does not exist */
    ck_assert_int_eq(st_ckpt_save("/nonexistent-dir/epoch-0001.h5", &a, NULL, NULL, ""), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/nonexistent-dir/epoch-0001.h5.tmp: No such file"),
                  "%s", st_error_get());
    ck_assert(!exists("/nonexistent-dir/epoch-0001.h5.tmp"));
    free_model(&a);
}
END_TEST

START_TEST(mismatch_names_the_dataset) {
    st_model a, b;
    make_model(&a, 3, 0, 0);
    fill(a.params, a.nparams, 6);
    const char *p = st_test_path("mm.h5");
    ck_assert(st_ckpt_save(p, &a, NULL, NULL, "") == ST_OK);

    /* other units: shapes differ; the model is left untouched */
    make_model(&b, 4, 0, 0);
    ck_assert_int_eq(st_ckpt_load(p, &b, NULL, NULL), ST_ERR);
    char want[700];
    snprintf(want, sizeof want, "%s: /model_weights/lstm_1/kernel: expected shape (4, 16), found "
                                "(4, 12)", p);
    ck_assert_msg(strstr(st_error_get(), want), "%s", st_error_get());
    for (size_t i = 0; i < b.nparams; i++) ck_assert(b.params[i] == 0);
    free_model(&b);

    /* a layer the checkpoint lacks */
    make_model(&b, 3, 1, 0);
    ck_assert_int_eq(st_ckpt_load(p, &b, NULL, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/model_weights/dense_2/kernel is missing"), "%s",
                  st_error_get());
    free_model(&b);

    /* a layer the model lacks */
    make_model(&b, 3, 0, 1);
    ck_assert_int_eq(st_ckpt_load(p, &b, NULL, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/model_weights/dense_1/bias is not a tensor of this "
                                         "model"), "%s", st_error_get());
    free_model(&b);

    /* another optimizer */
    st_optim oa, os;
    make_adam(&oa, a.nparams);
    ck_assert(st_ckpt_save(p, &a, &oa, NULL, "") == ST_OK);
    memset(&os, 0, sizeof os);
    st_optim_cfg_defaults(&os.cfg, ST_OPT_SGD);
    os.n = a.nparams;
    ck_assert_int_eq(st_ckpt_load(p, &a, &os, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "optimizer is adam but the config uses sgd"), "%s",
                  st_error_get());
    free_optim(&oa);

    /* not a checkpoint at all */
    FILE *f = fopen(st_test_path("junk.h5"), "w");
    fputs("junk", f);
    fclose(f);
    ck_assert_int_eq(st_ckpt_load(st_test_path("junk.h5"), &a, NULL, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "not an HDF5 checkpoint"), "%s", st_error_get());
    ck_assert_int_eq(st_ckpt_load(st_test_path("none.h5"), &a, NULL, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "none.h5: no such file"), "%s", st_error_get());
    free_model(&a);
}
END_TEST

/* A wrapper's tensors ("forward/kernel") are nested groups on disk, load back by the same
 * names, and a nested tensor the model lacks is refused; the gradient file puts each tensor's
 * slice of the gradient buffer at /gradients/<layer>/<param>. */
START_TEST(nested_names_and_gradients) {
    st_model a, b;
    make_model(&a, 2, 0, 0);
    /* Turn lstm_1 into a wrapper: "forward/..." names, same shapes and offsets. */
    for (int p = 0; p < a.layers[1].nparam; p++) {
        char n[32];
        snprintf(n, sizeof n, "forward/%s", a.layers[1].param[p].name);
        memcpy(a.layers[1].param[p].name, n, sizeof n);
    }
    fill(a.params, a.nparams, 8);
    const char *p = st_test_path("nested.h5");
    ck_assert(st_ckpt_save(p, &a, NULL, NULL, "") == ST_OK);
    /* nested in the file as lstm_1/forward/recurrent_kernel (read with h5py's eyes) */
    const st_param *rk = &a.layers[1].param[1];
    size_t n = st_dims_count(&rk->dims);
    float *v = st_malloc(n * sizeof(float));
    hid_t hf = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t hd = H5Dopen2(hf, "/model_weights/lstm_1/forward/recurrent_kernel", H5P_DEFAULT);
    ck_assert_int_ge(hd, 0);
    ck_assert_int_ge(H5Dread(hd, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(hd);
    H5Fclose(hf);
    ck_assert(memcmp(v, rk->w, n * sizeof(float)) == 0);
    st_free(v);
    make_model(&b, 2, 0, 0);
    for (int q = 0; q < b.layers[1].nparam; q++) {
        char nm[32];
        snprintf(nm, sizeof nm, "forward/%s", b.layers[1].param[q].name);
        memcpy(b.layers[1].param[q].name, nm, sizeof nm);
    }
    ck_assert_msg(st_ckpt_load(p, &b, NULL, NULL) == ST_OK, "%s", st_error_get());
    ck_assert(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0);
    free_model(&b);
    /* The plain model has lstm_1/kernel, not lstm_1/forward/kernel. */
    make_model(&b, 2, 0, 0);
    ck_assert_int_eq(st_ckpt_load(p, &b, NULL, NULL), ST_ERR);
    free_model(&b);

    /* Gradients: a distinct buffer with the parameters' offsets. */
    a.grads = st_malloc(a.nparams * sizeof(float));
    fill(a.grads, a.nparams, 9);
    float probs[6] = {0.25f, 0.75f, 0.5f, 0.5f, 1, 0};
    const char *g = st_test_path("grads.h5");
    ck_assert_msg(st_ckpt_save_gradients(g, &a, probs, 3, 2, 0.125) == ST_OK, "%s",
                  st_error_get());
    hid_t f = H5Fopen(g, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    const st_param *dk = &a.layers[3].param[0];
    float got[64];
    double loss = 0;
    hid_t d = H5Dopen2(f, "/gradients/dense_1/kernel", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    H5Dclose(d);
    ck_assert(memcmp(got, a.grads + dk->offset, st_dims_count(&dk->dims) * sizeof(float)) == 0);
    d = H5Dopen2(f, "/gradients/lstm_1/forward/kernel", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    d = H5Dopen2(f, "/probabilities", H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    H5Dclose(d);
    ck_assert(memcmp(got, probs, sizeof probs) == 0);
    d = H5Dopen2(f, "/loss", H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &loss), 0);
    H5Dclose(d);
    ck_assert_double_eq(loss, 0.125);
    H5Fclose(f);
    st_free(a.grads);
    free_model(&a);
}
END_TEST

/* Saves dir/name with the given global step. */
static void save_at(const st_model *m, const char *dir, const char *name, int64_t step) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    st_train_state ts = {step / 100, step % 100, step, 42, {0, 0, 0}};
    ck_assert_msg(st_ckpt_save(p, m, NULL, &ts, "") == ST_OK, "%s", st_error_get());
}

static int in_dir(const char *dir, const char *name) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return exists(p);
}

START_TEST(resolve_and_prune) {
    st_model a;
    make_model(&a, 2, 0, 0);
    char dir[512], out[700], want[700];
    snprintf(dir, sizeof dir, "%s", st_test_path("runs"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);

    ck_assert_int_eq(st_ckpt_resolve(dir, out, sizeof out), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "no checkpoint found"), "%s", st_error_get());

    /* names alone would pick step-00000150 or epoch-0002; the stored steps decide */
    save_at(&a, dir, "epoch-0001.h5", 100);
    save_at(&a, dir, "step-00000150.h5", 150);
    save_at(&a, dir, "epoch-0002.h5", 200);
    save_at(&a, dir, "step-00000250.h5", 250);
    save_at(&a, dir, "epoch-0003.h5", 300);
    /* not checkpoints: a stray .tmp (even a newer one), other files */
    char p[600];
    snprintf(p, sizeof p, "%s/epoch-0004.h5.tmp", dir);
    FILE *f = fopen(p, "w");
    fputs("torn", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    f = fopen(p, "w");
    fclose(f);

    ck_assert_msg(st_ckpt_resolve(dir, out, sizeof out) == ST_OK, "%s", st_error_get());
    snprintf(want, sizeof want, "%s/epoch-0003.h5", dir);
    ck_assert_str_eq(out, want);
    /* a file resolves to itself */
    ck_assert(st_ckpt_resolve(want, out, sizeof out) == ST_OK);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(st_ckpt_resolve(st_test_path("nope"), out, sizeof out), ST_ERR);

    /* prune: keep 0 deletes nothing; keep 2 keeps the two highest steps */
    ck_assert(st_ckpt_prune(dir, 0) == ST_OK);
    ck_assert(in_dir(dir, "epoch-0001.h5"));
    ck_assert_msg(st_ckpt_prune(dir, 2) == ST_OK, "%s", st_error_get());
    ck_assert(in_dir(dir, "epoch-0003.h5") && in_dir(dir, "step-00000250.h5"));
    ck_assert(!in_dir(dir, "epoch-0002.h5") && !in_dir(dir, "step-00000150.h5") &&
              !in_dir(dir, "epoch-0001.h5"));
    ck_assert(in_dir(dir, "epoch-0004.h5.tmp") && in_dir(dir, "notes.txt"));
    ck_assert(st_ckpt_prune(dir, 5) == ST_OK);
    ck_assert(in_dir(dir, "epoch-0003.h5") && in_dir(dir, "step-00000250.h5"));
    free_model(&a);
}
END_TEST

/* ---- checkpoints that prove themselves -------------------------------------------------- */

START_TEST(crc32_known_values) {
    /* The CRC-32 check value, and zlib.crc32 of the empty string and of "a". */
    ck_assert_uint_eq(st_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(st_crc32(0, "", 0), 0);
    ck_assert_uint_eq(st_crc32(0, "a", 1), 0xE8B7BE43u);
    /* slice-by-8 against the bitwise definition, at every length and split around 8 */
    unsigned char buf[64];
    for (int i = 0; i < 64; i++) buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= 64; n++) {
        uint32_t c = ~0u;
        for (size_t i = 0; i < n; i++) {
            c ^= buf[i];
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        ck_assert_uint_eq(st_crc32(0, buf, n), ~c);
        size_t h = n / 3;
        ck_assert_uint_eq(st_crc32(st_crc32(0, buf, h), buf + h, n - h), ~c);
    }
}
END_TEST

/* XORs one byte of dataset dpath's raw data (contiguous: its file offset) in file p. */
static void flip_byte(const char *p, const char *dpath, size_t at) {
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dpath, H5P_DEFAULT);
    haddr_t off = H5Dget_offset(d);
    ck_assert(off != HADDR_UNDEF);
    H5Dclose(d);
    H5Fclose(f);
    int fd = open(p, O_RDWR);
    unsigned char b;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)(off + at)), 1);
    b ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)(off + at)), 1);
    close(fd);
}

START_TEST(flipped_weight_is_refused) {
    st_model a, b;
    make_model(&a, 3, 0, 0);
    make_model(&b, 3, 0, 0);
    fill(a.params, a.nparams, 21);
    const char *p = st_test_path("flip.h5");
    ck_assert(st_ckpt_save(p, &a, NULL, &k_ts, "cfg") == ST_OK);
    int sums = 0;
    ck_assert_msg(st_ckpt_verify(p, &sums) == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(sums, 1);
    flip_byte(p, "/model_weights/lstm_1/recurrent_kernel", 13);
    ck_assert_int_eq(st_ckpt_verify(p, NULL), ST_ERR);
    st_train_state ts = {0};
    ck_assert_int_eq(st_ckpt_load(p, &b, NULL, &ts), ST_ERR);
    char want[700];
    snprintf(want, sizeof want, "%s: /model_weights/lstm_1/recurrent_kernel: checksum mismatch",
             p);
    ck_assert_msg(strstr(st_error_get(), want), "%s", st_error_get());
    /* nothing was loaded */
    for (size_t i = 0; i < b.nparams; i++) ck_assert(b.params[i] == 0);
    ck_assert(ts.global_step == 0);
    /* a train-state scalar is covered as well */
    ck_assert(st_ckpt_save(p, &a, NULL, &k_ts, "cfg") == ST_OK);
    flip_byte(p, "/train_state/step_in_epoch", 0);
    ck_assert_int_eq(st_ckpt_load(p, &b, NULL, &ts), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/train_state/step_in_epoch: checksum mismatch"), "%s",
                  st_error_get());
    free_model(&a);
    free_model(&b);
}
END_TEST

/* The layout before checksums: default (earliest) file format, variable-length strings, no
 * crc32 attributes; what older seqtrain builds and h5py (tools/st_torch.py) write. */
static void write_old_style(const char *p, const st_model *m, const st_train_state *ts) {
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    ck_assert(st_h5_write_attr_str(f, "format", ST_CKPT_FORMAT) == ST_OK);
    ck_assert(st_h5_write_attr_str(f, "config", "[old]\n") == ST_OK);
    char path[256];
    for (int l = 0; l < m->nlayers; l++)
        for (int q = 0; q < m->layers[l].nparam; q++) {
            const st_param *P = &m->layers[l].param[q];
            hsize_t hd[ST_MAX_DIMS];
            for (int i = 0; i < P->dims.ndim; i++) hd[i] = P->dims.d[i];
            snprintf(path, sizeof path, "/model_weights/%s/%s", m->layers[l].name, P->name);
            ck_assert(st_h5_write(f, lcpl, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, P->dims.ndim,
                                  hd, P->w, 0) == ST_OK);
        }
    const int64_t *iv[3] = {&ts->epoch, &ts->step_in_epoch, &ts->global_step};
    const char *in[3] = {"epoch", "step_in_epoch", "global_step"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/train_state/%s", in[i]);
        ck_assert(st_h5_write(f, lcpl, path, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, iv[i],
                              0) == ST_OK);
    }
    ck_assert(st_h5_write(f, lcpl, "/train_state/seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, NULL,
                          &ts->seed, 0) == ST_OK);
    hsize_t three = 3;
    ck_assert(st_h5_write(f, lcpl, "/train_state/partial", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                          &three, ts->partial, 0) == ST_OK);
    H5Pclose(lcpl);
    H5Fclose(f);
}

START_TEST(old_layout_still_loads) {
    st_model a, b;
    make_model(&a, 3, 0, 0);
    make_model(&b, 3, 0, 0);
    fill(a.params, a.nparams, 22);
    const char *p = st_test_path("old.h5");
    write_old_style(p, &a, &k_ts);
    int sums = 1;
    ck_assert_msg(st_ckpt_verify(p, &sums) == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(sums, 0);
    st_train_state ts;
    ck_assert_msg(st_ckpt_load(p, &b, NULL, &ts) == ST_OK, "%s", st_error_get());
    ck_assert(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0);
    ck_assert(memcmp(&ts, &k_ts, sizeof ts) == 0);
    char *text = NULL;
    ck_assert(st_ckpt_read_config(p, &text) == ST_OK);
    ck_assert_str_eq(text, "[old]\n");
    st_free(text);
    /* ...and it is in a directory next to a new one: name order, no matter the layout */
    char dir[512], out[700];
    snprintf(dir, sizeof dir, "%s", st_test_path("mixed"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    char q[600];
    snprintf(q, sizeof q, "%s/epoch-0002.h5", dir);
    write_old_style(q, &a, &k_ts);
    snprintf(q, sizeof q, "%s/epoch-0003.h5", dir);
    ck_assert(st_ckpt_save(q, &a, NULL, &k_ts, "") == ST_OK);
    ck_assert_msg(st_ckpt_resolve(dir, out, sizeof out) == ST_OK, "%s", st_error_get());
    ck_assert_str_eq(out, q);
    free_model(&a);
    free_model(&b);
}
END_TEST

START_TEST(train_state_validators) {
    const st_ckpt_progress good = {2, 3, 23, 7, {1.5, 2, 3}};
    ck_assert(st_ckpt_check_scalars("f.h5", &good, 23) == ST_OK);
    ck_assert(st_ckpt_check_progress("f.h5", &good, 5, 10, 0) == ST_OK);
    /* edges that are fine: start, the last step of an epoch, training complete */
    const st_ckpt_progress zero = {0, 0, 0, 0, {0, 0, 0}};
    ck_assert(st_ckpt_check_progress("f.h5", &zero, 1, 1, 0) == ST_OK);
    st_ckpt_progress t = good;
    t.step_in_epoch = 9;
    ck_assert(st_ckpt_check_progress("f.h5", &t, 5, 10, 0) == ST_OK);
    t = good;
    t.epoch = 5, t.step_in_epoch = 0;
    ck_assert(st_ckpt_check_progress("f.h5", &t, 5, 10, 0) == ST_OK);

    struct {
        st_ckpt_progress p;
        int64_t iters, epochs, steps, rows;
        const char *msg;
    } bad[] = {
        {{-5, 0, 0, 0, {0, 0, 0}}, 0, 5, 10, 0, "f.h5: /train_state/epoch = -5 is negative"},
        {{1, -1, 5, 0, {0, 0, 0}}, 0, 5, 10, 0, "f.h5: /train_state/step_in_epoch = -1 is negative"},
        {{1, 0, -7, 0, {0, 0, 0}}, 0, 5, 10, 0, "f.h5: /train_state/global_step = -7 is negative"},
        {{1, 6, 5, 0, {0, 0, 0}}, 0, 5, 10, 0, "global_step = 5 is below step_in_epoch = 6"},
        {{1, 0, 5, 0, {NAN, 0, 0}}, 0, 5, 10, 0, "/train_state/partial[0] = nan"},
        {{1, 0, 5, 0, {0, -1, 0}}, 0, 5, 10, 0, "/train_state/partial[1] = -1"},
        {{1, 0, 5, 0, {0, 0, INFINITY}}, 0, 5, 10, 0, "/train_state/partial[2] = inf"},
        {{(int64_t)1 << 40, 0, 5, 0, {0, 0, 0}}, 0, 5, 10, 0,
         "/train_state/epoch = 1099511627776 (completed epochs, step 0 of the next), but "
         "[train] epochs = 5"},
        {{5, 1, 51, 0, {0, 0, 0}}, 0, 5, 10, 0, "/train_state/epoch = 5 (completed epochs, step 1"},
        {{1, 10, 20, 0, {0, 0, 0}}, 0, 5, 10, 0,
         "/train_state/step_in_epoch = 10, but an epoch of this run has 10 steps (0..9)"},
        /* counters at the top of int64 (F5 of the adversarial pass): refused, never added to */
        {{1, 0, INT64_MAX, 0, {0, 0, 0}}, 0, 5, 10, 0,
         "f.h5: /train_state/global_step = 9223372036854775807 is above 2^53"},
        {{1, INT64_MAX, INT64_MAX, 0, {0, 0, 0}}, 0, 5, 10, 0,
         "/train_state/step_in_epoch = 9223372036854775807 is above 2^53"},
        {{INT64_MAX, 0, 5, 0, {0, 0, 0}}, 0, 5, 10, 0,
         "/train_state/epoch = 9223372036854775807 is above 2^53"},
        /* 2 epochs of at most 30 rows (steps) plus 3: 63 at most */
        {{2, 3, 64, 0, {0, 0, 0}}, 0, 5, 10, 30,
         "/train_state/global_step = 64, but 2 completed epochs of at most 30 steps (one per "
         "training row) and step_in_epoch = 3 allow at most 63"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(st_ckpt_check_progress("f.h5", &bad[i].p, bad[i].epochs, bad[i].steps,
                                                bad[i].rows),
                         ST_ERR);
        ck_assert_msg(strstr(st_error_get(), bad[i].msg), "case %zu: %s", i, st_error_get());
    }
    ck_assert_int_eq(st_ckpt_check_scalars("f.h5", &good, -1), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/optimizer/iterations = -1 is negative"), "%s",
                  st_error_get());
    /* the bound on global_step is exact: 63 passes where 64 fails */
    t = (st_ckpt_progress){2, 3, 63, 0, {0, 0, 0}};
    ck_assert_msg(st_ckpt_check_progress("f.h5", &t, 5, 10, 30) == ST_OK, "%s", st_error_get());
    /* one optimizer update per step: iterations == global_step passes, one more does not */
    ck_assert_int_eq(st_ckpt_check_scalars("f.h5", &good, 24), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "f.h5: /optimizer/iterations = 24 is above "
                                         "/train_state/global_step = 23"), "%s", st_error_get());
    ck_assert_int_eq(st_ckpt_check_scalars("f.h5", &good, INT64_MAX), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/optimizer/iterations = 9223372036854775807 is above "
                                         "2^53"), "%s", st_error_get());
    ck_assert_int_eq(st_ckpt_check_iterations("f.h5", ST_CKPT_COUNT_MAX), ST_OK);
    ck_assert_int_eq(st_ckpt_check_iterations("f.h5", ST_CKPT_COUNT_MAX + 1), ST_ERR);
}
END_TEST

/* A vector the file declares far larger than it is, and one of the wrong rank. */
START_TEST(vectors_checked_before_allocation) {
    st_model a;
    make_model(&a, 2, 0, 0);
    const char *p = st_test_path("vec.h5");
    double h[3] = {0.5, 0.25, 0.125};
    /* int64 vectors (the data identity) keep every bit, and are checksummed like the rest */
    int64_t id[3] = {INT64_MAX, -1, 0xfedcba98};
    st_ckpt_vec v[2] = {{"/history/loss", h, 3, ST_CKPT_F64},
                        {"/train_state/data_identity", id, 3, ST_CKPT_I64}};
    ck_assert(st_ckpt_save_ex(p, &a, NULL, &k_ts, "", v, 2) == ST_OK);
    void *out = NULL;
    size_t n = 0;
    int sums = 0;
    ck_assert(st_ckpt_verify(p, &sums) == ST_OK && sums);
    ck_assert(st_ckpt_read_vec(p, "/train_state/data_identity", ST_CKPT_I64, 3, &out, &n) ==
              ST_OK);
    ck_assert(n == 3 && memcmp(out, id, sizeof id) == 0);
    st_free(out);
    ck_assert_int_eq(st_ckpt_read_vec(p, "/history/loss", ST_CKPT_I64, 3, &out, &n), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/history/loss is not an integer dataset"), "%s",
                  st_error_get());
    ck_assert(st_ckpt_read_vec(p, "/history/loss", 0, 3, &out, &n) == ST_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(out, h, sizeof h) == 0);
    st_free(out);
    ck_assert(st_ckpt_read_vec(p, "/history/none", 0, 3, &out, &n) == ST_OK && !out && !n);
    ck_assert_int_eq(st_ckpt_read_vec(p, "/history/loss", 0, 2, &out, &n), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/history/loss holds 3 values, at most 2 expected"),
                  "%s", st_error_get());

    /* 2^61 elements declared (chunked, nothing written): refused, not allocated */
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hsize_t huge = (hsize_t)1 << 61, chunk = 1024, two[2] = {2, 2};
    hid_t sp = H5Screate_simple(1, &huge, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    hid_t d = H5Dcreate2(f, "/history/accuracy", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl,
                         H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(dcpl);
    sp = H5Screate_simple(2, two, NULL);
    d = H5Dcreate2(f, "/history/lr", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    ck_assert_int_eq(st_ckpt_read_vec(p, "/history/accuracy", 0, 6, &out, &n), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/history/accuracy holds 2305843009213693952 values, at "
                                         "most 6 expected"), "%s", st_error_get());
    ck_assert_int_eq(st_ckpt_read_vec(p, "/history/lr", 0, 6, &out, &n), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/history/lr has rank 2"), "%s", st_error_get());
    /* the whole-file check refuses it before reading anything: 2^64 bytes overflow a size */
    ck_assert_int_eq(st_ckpt_verify(p, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/history/accuracy: 2305843009213693952 elements of 8 "
                                         "bytes overflow a size"), "%s", st_error_get());
    /* 2^40 elements: a size, but larger than the file */
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, "/history/accuracy", H5P_DEFAULT), 0);
    huge = (hsize_t)1 << 40;
    sp = H5Screate_simple(1, &huge, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    d = H5Dcreate2(f, "/history/accuracy", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(f);
    ck_assert_int_eq(st_ckpt_verify(p, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/history/accuracy declares 1099511627776 elements "
                                         "(8796093022208 bytes) in a file of"), "%s",
                  st_error_get());
    free_model(&a);
}
END_TEST

START_TEST(damaged_newest_falls_back) {
    st_model a;
    make_model(&a, 2, 0, 0);
    char dir[512], out[700], p[600], want[700];
    snprintf(dir, sizeof dir, "%s", st_test_path("fallback"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    save_at(&a, dir, "epoch-0001.h5", 100);
    save_at(&a, dir, "epoch-0002.h5", 200);
    save_at(&a, dir, "step-00000250.h5", 250);
    /* the newest (a step file, placed after epoch 2 by epoch 2's global_step) is damaged */
    snprintf(p, sizeof p, "%s/step-00000250.h5", dir);
    flip_byte(p, "/model_weights/dense_1/kernel", 2);
    ck_assert_msg(st_ckpt_resolve(dir, out, sizeof out) == ST_OK, "%s", st_error_get());
    snprintf(want, sizeof want, "%s/epoch-0002.h5", dir);
    ck_assert_str_eq(out, want);
    /* every candidate damaged: one error naming the newest */
    snprintf(p, sizeof p, "%s/epoch-0002.h5", dir);
    flip_byte(p, "/model_weights/dense_1/kernel", 2);
    snprintf(p, sizeof p, "%s/epoch-0001.h5", dir);
    flip_byte(p, "/model_weights/dense_1/kernel", 2);
    ck_assert_int_eq(st_ckpt_resolve(dir, out, sizeof out), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "no usable checkpoint: the newest, ") &&
                      strstr(st_error_get(), "step-00000250.h5, is damaged (/model_weights/"
                                             "dense_1/kernel: checksum mismatch"),
                  "%s", st_error_get());
    /* an unreadable OLDER epoch file is never opened: garbage under its name changes nothing */
    save_at(&a, dir, "epoch-0002.h5", 200);
    save_at(&a, dir, "step-00000250.h5", 250);
    snprintf(p, sizeof p, "%s/epoch-0001.h5", dir);
    FILE *f = fopen(p, "w");
    fputs("not hdf5", f);
    fclose(f);
    ck_assert_msg(st_ckpt_resolve(dir, out, sizeof out) == ST_OK, "%s", st_error_get());
    snprintf(want, sizeof want, "%s/step-00000250.h5", dir);
    ck_assert_str_eq(out, want);
    free_model(&a);
}
END_TEST

START_TEST(directory_lock) {
    char dir[512], p[600], host[64];
    snprintf(dir, sizeof dir, "%s", st_test_path("locked"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    /* What an interrupted writer left: removed once the lock is held; a planted link and a
     * name seqtrain does not write are left alone. */
    const char *stale[] = {"epoch-0003.h5.tmp", "step-00000040.h5.tmp", "history.csv.tmp",
                           "notes.txt.tmp"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, stale[i]);
        FILE *sf = fopen(p, "w");
        ck_assert_ptr_nonnull(sf);
        fclose(sf);
    }
    snprintf(p, sizeof p, "%s/best.h5.tmp", dir);
    ck_assert_int_eq(symlink("/etc/passwd", p), 0);
    int fd = -1, fd2 = -1;
    ck_assert_msg(st_ckpt_lock(dir, &fd) == ST_OK, "%s", st_error_get());
    ck_assert_int_ge(fd, 0);
    struct stat sst;
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, stale[i]);
        ck_assert_int_eq(lstat(p, &sst) == 0, i == 3);
    }
    snprintf(p, sizeof p, "%s/best.h5.tmp", dir);
    ck_assert(lstat(p, &sst) == 0 && S_ISLNK(sst.st_mode));
    /* flock conflicts between open files even within one process: a second job */
    ck_assert_int_eq(st_ckpt_lock(dir, &fd2), ST_ERR);
    ck_assert_int_eq(fd2, -1);
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    char want[700];
    snprintf(want, sizeof want, "checkpoint dir %s is in use by host %s pid %ld", dir, host,
             (long)getpid());
    ck_assert_msg(strstr(st_error_get(), want), "%s", st_error_get());
    st_ckpt_unlock(&fd);
    ck_assert_int_eq(fd, -1);
    /* released (as by a dead holder): the file stays and locks again */
    ck_assert_msg(st_ckpt_lock(dir, &fd) == ST_OK, "%s", st_error_get());
    st_ckpt_unlock(&fd);
    /* a symlink planted as .lock is not followed */
    snprintf(p, sizeof p, "%s/.lock", dir);
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(symlink("/etc/hostname", p), 0);
    ck_assert_int_eq(st_ckpt_lock(dir, &fd), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "cannot open the lock file"), "%s", st_error_get());
    /* no directory: one line */
    ck_assert_int_eq(st_ckpt_lock(st_test_path("nope"), &fd), ST_ERR);
}
END_TEST

/* A fixed-length string attribute (the stored config, the optimizer's name) with bytes after
 * a NUL: a C string would drop the tail silently, so the read refuses it. NUL padding is
 * fine, and so is a string that fills the whole length. */
START_TEST(string_attribute_with_hidden_tail) {
    const char *p = st_test_path("attr.h5");
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    const struct {
        const char *name, *bytes;
        size_t len;
        int want;
    } cases[] = {{"hidden", "[data]\0[x]\nk=1", 14, -1},
                 {"padded", "adam\0\0\0\0", 8, 1},
                 {"full", "rmsprop", 7, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
        H5Tset_size(t, cases[i].len);
        H5Tset_strpad(t, H5T_STR_NULLPAD);
        hid_t a = H5Acreate2(f, cases[i].name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert_int_ge(H5Awrite(a, t, cases[i].bytes), 0);
        H5Aclose(a);
        H5Sclose(sp);
        H5Tclose(t);
        char *out = NULL;
        ck_assert_int_eq(st_h5_read_attr_str(f, cases[i].name, &out), cases[i].want);
        if (cases[i].want > 0) ck_assert_str_eq(out, i == 1 ? "adam" : "rmsprop");
        st_free(out);
    }
    H5Fclose(f);
}
END_TEST

static Suite *ckpt_suite(void) {
    Suite *s = suite_create("ckpt");
    TCase *tc;
    tc = tcase_create("round_trip");
    tcase_add_test(tc, round_trip_bit_exact);
    suite_add_tcase(s, tc);
    tc = tcase_create("atomic");
    tcase_add_test(tc, failed_save_keeps_previous);
    suite_add_tcase(s, tc);
    tc = tcase_create("mismatch");
    tcase_add_test(tc, mismatch_names_the_dataset);
    suite_add_tcase(s, tc);
    tc = tcase_create("nested_and_gradients");
    tcase_add_test(tc, nested_names_and_gradients);
    suite_add_tcase(s, tc);
    tc = tcase_create("directory");
    tcase_add_test(tc, resolve_and_prune);
    suite_add_tcase(s, tc);
    tc = tcase_create("crc32");
    tcase_add_test(tc, crc32_known_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("checksums");
    tcase_add_test(tc, flipped_weight_is_refused);
    tcase_add_test(tc, old_layout_still_loads);
    suite_add_tcase(s, tc);
    tc = tcase_create("validators");
    tcase_add_test(tc, train_state_validators);
    tcase_add_test(tc, vectors_checked_before_allocation);
    tcase_add_test(tc, string_attribute_with_hidden_tail);
    suite_add_tcase(s, tc);
    tc = tcase_create("fallback");
    tcase_add_test(tc, damaged_newest_falls_back);
    suite_add_tcase(s, tc);
    tc = tcase_create("lock");
    tcase_add_test(tc, directory_lock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(ckpt_suite()); }
