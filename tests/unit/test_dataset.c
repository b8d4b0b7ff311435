/*
 * test_dataset.c - HDF5 datasets: write + read round trips for tokens, sequences of features
 * and vectors, rows requested in any order (with runs and duplicates), the empty read, the
 * messages for bad ids, labels, shapes and files, /vocab, /classes and string attributes, the
 * shuffle and shard arithmetic, and hostile files (external storage, virtual datasets,
 * external links, FIFOs and devices, declared shapes that overflow or promise terabytes),
 * each refused with its exact line.
 *
 * Malformed files are crafted with the HDF5 API directly (this test, like dataset.c, includes
 * hdf5.h), since st_dataset_write only writes well-formed ones.
 */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* Token id of row r, step t; label of row r. Values unique enough to catch a misplaced row. */
static int32_t tok_of(size_t r, int t, int V) { return (int32_t)((r * 7 + (size_t)t * 3) % V); }
static int32_t lab_of(size_t r, int K) { return (int32_t)(r * 5 % K); }
static float feat_of(size_t r, int t, int f) { return (float)r + 0.01f * t + 0.0001f * f; }

enum { NT = 200, TT = 7, V = 50, K = 3, NF = 60, TF = 5, FF = 3 };

/* A file with /train (tokens), /test (tokens, 0 rows). */
static const char *make_tokens(const char *name) {
    static int32_t tok[NT * TT], y[NT];
    for (size_t r = 0; r < NT; r++) {
        y[r] = lab_of(r, K);
        for (int t = 0; t < TT; t++) tok[r * TT + t] = tok_of(r, t, V);
    }
    st_split_data sd[2] = {{"train", NT, TT, 1, tok, NULL, y, 0},
                           {"test", 0, TT, 1, tok, NULL, y, 0}};
    const char *p = st_test_path(name);
    ck_assert_msg(st_dataset_write(p, K, V, sd, 2) == ST_OK, "%s", st_error_get());
    return p;
}

/* A file with /train (N, T, F) sequences and /valid (N, F) vectors. */
static const char *make_features(const char *name) {
    static float x[NF * TF * FF], v[NF * FF];
    static int32_t y[NF];
    for (size_t r = 0; r < NF; r++) {
        y[r] = lab_of(r, K);
        for (int t = 0; t < TF; t++)
            for (int f = 0; f < FF; f++) x[(r * TF + t) * FF + f] = feat_of(r, t, f);
        for (int f = 0; f < FF; f++) v[r * FF + f] = feat_of(r, 0, f);
    }
    st_split_data sd[2] = {{"train", NF, TF, FF, NULL, x, y, 0},
                           {"valid", NF, 0, FF, NULL, v, y, 0}};
    const char *p = st_test_path(name);
    ck_assert_msg(st_dataset_write(p, K, 0, sd, 2) == ST_OK, "%s", st_error_get());
    return p;
}

static void open_split(st_dataset *d, st_split *s, const char *path, const char *split) {
    ck_assert_msg(st_dataset_open(d, path) == ST_OK, "%s", st_error_get());
    ck_assert_msg(st_split_open(d, split, s) == ST_OK, "%s", st_error_get());
}

static void check_tokens(const st_batch *b, const size_t *rows, int n) {
    ck_assert_int_eq(b->B, n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(b->y[i], lab_of(rows[i], K));
        for (int t = 0; t < TT; t++)
            ck_assert_int_eq(b->tok[(size_t)i * TT + t], tok_of(rows[i], t, V));
    }
}

START_TEST(tokens_round_trip_any_order) {
    const char *p = make_tokens("tok.h5");
    st_dataset d;
    st_split s;
    open_split(&d, &s, p, "train");
    ck_assert_int_eq(d.num_classes, K);
    ck_assert_int_eq(d.vocab_size, V);
    ck_assert_uint_eq(s.n, NT);
    ck_assert_int_eq(s.T, TT);
    ck_assert_int_eq(s.tokens, 1);
    st_shape sh = st_split_shape(&s);
    ck_assert(sh.seq == TT && sh.tokens == 1 && sh.vocab == V);

    st_batch b;
    st_batch_init(&b, &s, NT);
    /* shuffled, with runs (10..13, 2..3, 198..199), a duplicate (12) and both ends */
    const size_t rows[] = {12, 199, 3, 10, 0, 13, 11, 2, 150, 12, 198};
    int n = (int)(sizeof rows / sizeof *rows);
    ck_assert_msg(st_split_read(&s, rows, n, &b) == ST_OK, "%s", st_error_get());
    check_tokens(&b, rows, n);

    /* a whole shuffled epoch in one batch */
    size_t perm[NT];
    st_shuffle(perm, NT, 9, 1);
    ck_assert_msg(st_split_read(&s, perm, NT, &b) == ST_OK, "%s", st_error_get());
    check_tokens(&b, perm, NT);

    /* n == 0: no rows, no HDF5 call, success */
    ck_assert_int_eq(st_split_read(&s, NULL, 0, &b), ST_OK);
    ck_assert_int_eq(b.B, 0);
    /* a row past the end is an error, not a read */
    const size_t bad[] = {NT};
    ck_assert_int_eq(st_split_read(&s, bad, 1, &b), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "row 200 requested but the split has 200 rows"), "%s",
                  st_error_get());
    st_batch_free(&b);
    st_split_close(&s);

    /* an empty split opens and reads nothing */
    ck_assert_int_eq(st_split_open(&d, "test", &s), ST_OK);
    ck_assert_uint_eq(s.n, 0);
    st_batch_init(&b, &s, 4);
    ck_assert_int_eq(st_split_read(&s, NULL, 0, &b), ST_OK);
    st_batch_free(&b);
    st_split_close(&s);
    st_dataset_close(&d);
}
END_TEST

START_TEST(features_time_major) {
    const char *p = make_features("feat.h5");
    st_dataset d;
    st_split s;
    open_split(&d, &s, p, "train");
    ck_assert_int_eq(d.vocab_size, 0);
    ck_assert(s.T == TF && s.F == FF && !s.tokens);
    st_shape sh = st_split_shape(&s);
    ck_assert(sh.seq == TF && sh.feat == FF && !sh.tokens);
    st_batch b;
    st_batch_init(&b, &s, 8);
    const size_t rows[] = {40, 5, 6, 7, 59, 0};
    const int n = 6;
    ck_assert_msg(st_split_read(&s, rows, n, &b) == ST_OK, "%s", st_error_get());
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(b.y[i], lab_of(rows[i], K));
        for (int t = 0; t < TF; t++)
            for (int f = 0; f < FF; f++) /* x is (T, B, F) with B = n */
                ck_assert_float_eq(b.x[((size_t)t * n + i) * FF + f], feat_of(rows[i], t, f));
    }
    st_batch_free(&b);
    st_split_close(&s);

    /* (N, F) vectors: seq 0 */
    ck_assert_msg(st_split_open(&d, "valid", &s) == ST_OK, "%s", st_error_get());
    sh = st_split_shape(&s);
    ck_assert(sh.seq == 0 && sh.feat == FF && !sh.tokens);
    st_batch_init(&b, &s, 8);
    ck_assert_msg(st_split_read(&s, rows, n, &b) == ST_OK, "%s", st_error_get());
    for (int i = 0; i < n; i++)
        for (int f = 0; f < FF; f++) ck_assert_float_eq(b.x[i * FF + f], feat_of(rows[i], 0, f));
    st_batch_free(&b);
    st_split_close(&s);
    st_dataset_close(&d);
}
END_TEST

/* Reads rows[0..n) of a fresh file's train split, expecting an error containing want. */
static void expect_read_error(const char *path, const size_t *rows, int n, const char *want) {
    st_dataset d;
    st_split s;
    st_batch b;
    open_split(&d, &s, path, "train");
    st_batch_init(&b, &s, n);
    ck_assert_int_eq(st_split_read(&s, rows, n, &b), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), want), "message '%s' lacks '%s'", st_error_get(), want);
    st_batch_free(&b);
    st_split_close(&s);
    st_dataset_close(&d);
}

START_TEST(bad_ids_and_labels_name_the_row) {
    int32_t tok[6 * 4] = {0}, y[6] = {0};
    tok[3 * 4 + 2] = 12; /* row 3, step 2 */
    st_split_data sd = {"train", 6, 4, 1, tok, NULL, y, 0};
    const char *p = st_test_path("badtok.h5");
    ck_assert(st_dataset_write(p, 5, 10, &sd, 1) == ST_OK);
    const size_t rows[] = {5, 3, 0};
    char want[256];
    snprintf(want, sizeof want, "%s: /train/x row 3 step 2: token id 12 >= vocab_size 10", p);
    expect_read_error(p, rows, 3, want);
    /* rows without the bad one read fine */
    st_dataset d;
    st_split s;
    st_batch b;
    open_split(&d, &s, p, "train");
    st_batch_init(&b, &s, 3);
    const size_t good[] = {5, 4, 0};
    ck_assert_int_eq(st_split_read(&s, good, 3, &b), ST_OK);
    st_batch_free(&b);
    st_split_close(&s);
    st_dataset_close(&d);

    tok[3 * 4 + 2] = -1;
    ck_assert(st_dataset_write(p, 5, 10, &sd, 1) == ST_OK);
    expect_read_error(p, rows, 3, "/train/x row 3 step 2: token id -1 < 0");

    tok[3 * 4 + 2] = 0;
    y[5] = 5;
    ck_assert(st_dataset_write(p, 5, 10, &sd, 1) == ST_OK);
    expect_read_error(p, rows, 3, "/train/y row 5: label 5 >= num_classes 5");

    float x[2 * 2] = {0, 1, 2, 0};
    x[3] = x[3] / x[3]; /* NaN, from arithmetic so no math.h macro is needed */
    int32_t y2[2] = {0, 0};
    st_split_data sf = {"train", 2, 2, 1, NULL, x, y2, 0};
    ck_assert(st_dataset_write(p, 2, 0, &sf, 1) == ST_OK);
    const size_t r1[] = {1};
    expect_read_error(p, r1, 1, "/train/x row 1 step 1 feature 0: value nan is not finite");
}
END_TEST

/* Crafting malformed files. */
static hid_t craft_open(const char *path, int num_classes, int vocab) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t sp = H5Screate(H5S_SCALAR);
    if (num_classes >= 0) {
        hid_t a = H5Acreate2(f, "num_classes", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        int64_t v = num_classes;
        H5Awrite(a, H5T_NATIVE_INT64, &v);
        H5Aclose(a);
    }
    if (vocab >= 0) {
        hid_t a = H5Acreate2(f, "vocab_size", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        int64_t v = vocab;
        H5Awrite(a, H5T_NATIVE_INT64, &v);
        H5Aclose(a);
    }
    H5Sclose(sp);
    H5Gclose(H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    return f;
}

/* A dataset of zeros (or i) of the given type and shape. */
static void craft_dset(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims) {
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    int64_t *buf = st_malloc((n + 1) * sizeof(int64_t));
    for (hsize_t i = 0; i < n; i++) buf[i] = (int64_t)(i % 4);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(d >= 0);
    ck_assert(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    st_free(buf);
}

static void expect_open_error(const char *path, const char *want) {
    st_dataset d;
    st_split s;
    int rc = st_dataset_open(&d, path);
    if (rc == ST_OK) {
        rc = st_split_open(&d, "train", &s);
        st_dataset_close(&d);
    }
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), want), "message '%s' lacks '%s'", st_error_get(), want);
}

START_TEST(shape_and_file_errors) {
    const char *p = st_test_path("bad.h5");
    char want[512];
    hsize_t x99[2] = {99, 4}, y100[1] = {100}, x3[3] = {4, 3, 2}, y4[1] = {4}, y42[2] = {4, 2};
    hid_t f = craft_open(p, 2, 10);
    craft_dset(f, "/train/x", H5T_STD_I32LE, 2, x99);
    craft_dset(f, "/train/y", H5T_STD_I32LE, 1, y100);
    H5Fclose(f);
    snprintf(want, sizeof want, "%s: /train/y has 100 rows but /train/x has 99", p);
    expect_open_error(p, want);

    f = craft_open(p, 2, 10);
    craft_dset(f, "/train/x", H5T_STD_I32LE, 3, x3);
    craft_dset(f, "/train/y", H5T_STD_I32LE, 1, y4);
    H5Fclose(f);
    expect_open_error(p, "/train/x: expected int32 (N, T) token ids or float32 (N, T, F) / "
                         "(N, F) features, got int32 (4, 3, 2)");

    f = craft_open(p, 2, 10);
    craft_dset(f, "/train/x", H5T_IEEE_F32LE, 3, x3);
    craft_dset(f, "/train/y", H5T_STD_I32LE, 2, y42);
    H5Fclose(f);
    expect_open_error(p, "/train/y: expected int32 (N) class ids or (N, 3) per-step ids, got "
                         "int32 (4, 2)");

    f = craft_open(p, 2, -1);
    craft_dset(f, "/train/x", H5T_STD_I32LE, 2, x99);
    H5Fclose(f);
    expect_open_error(p, "/train/x holds token ids, so the root attribute vocab_size is required");

    f = craft_open(p, 2, 10);
    H5Fclose(f);
    expect_open_error(p, "dataset /train/x is missing");

    f = craft_open(p, -1, 10);
    H5Fclose(f);
    expect_open_error(p, "root attribute num_classes is missing");

    f = craft_open(p, 0, 10);
    H5Fclose(f);
    expect_open_error(p, "num_classes = 0: must be >= 1");

    snprintf(want, sizeof want, "%s: no such file", st_test_path("nope.h5"));
    expect_open_error(st_test_path("nope.h5"), want);

    FILE *t = fopen(st_test_path("text.h5"), "w");
    fputs("not hdf5\n", t);
    fclose(t);
    expect_open_error(st_test_path("text.h5"), "text.h5: not an HDF5 dataset file");

    /* a missing split lists the ones there are */
    st_dataset d;
    st_split s;
    ck_assert(st_dataset_open(&d, make_tokens("tok2.h5")) == ST_OK);
    ck_assert(!st_dataset_has_split(&d, "valid") && st_dataset_has_split(&d, "train"));
    ck_assert_int_eq(st_split_open(&d, "valid", &s), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "no split /valid (the file has: /test, /train)"), "%s",
                  st_error_get());
    st_dataset_close(&d);
}
END_TEST

START_TEST(numpy_default_types_are_converted) {
    /* int64 tokens and labels, as numpy writes by default, read as int32 */
    const char *p = st_test_path("i64.h5");
    hsize_t xd[2] = {5, 3}, yd[1] = {5};
    hid_t f = craft_open(p, 4, 4);
    craft_dset(f, "/train/x", H5T_STD_I64LE, 2, xd);
    craft_dset(f, "/train/y", H5T_STD_I64LE, 1, yd);
    H5Fclose(f);
    st_dataset d;
    st_split s;
    st_batch b;
    open_split(&d, &s, p, "train");
    st_batch_init(&b, &s, 5);
    const size_t rows[] = {4, 1};
    ck_assert_msg(st_split_read(&s, rows, 2, &b) == ST_OK, "%s", st_error_get());
    for (int t = 0; t < 3; t++) ck_assert_int_eq(b.tok[t], (4 * 3 + t) % 4);
    ck_assert_int_eq(b.y[0], 0);
    ck_assert_int_eq(b.y[1], 1);
    st_batch_free(&b);
    st_split_close(&s);
    st_dataset_close(&d);
}
END_TEST

START_TEST(write_is_atomic) {
    /* a failed write leaves no file and no .tmp behind */
    int32_t tok[2] = {0, 1}, y[2] = {0, 1};
    st_split_data sd[2] = {{"train", 2, 1, 1, tok, NULL, y, 0},
                           {"train", 2, 1, 1, tok, NULL, y, 0}};
    const char *p = st_test_path("twice.h5");
    ck_assert_int_eq(st_dataset_write(p, 2, 2, sd, 2), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "split /train (given twice?)"), "%s", st_error_get());
    FILE *f = fopen(p, "r");
    ck_assert_ptr_null(f);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    ck_assert_ptr_null(fopen(tmp, "r"));
    ck_assert_int_eq(st_dataset_write("/nonexistent-dir/x.h5", 2, 2, sd, 1), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "cannot create /nonexistent-dir/x.h5.tmp"), "%s",
                  st_error_get());
}
END_TEST

START_TEST(strings_round_trip) {
    /* /vocab, /classes and string attributes written with the splits (st_dataset_write_ex),
     * read back by st_dataset_read_vocab, _read_strings and _read_attr_str; UTF-8 intact. */
    int32_t tok[2] = {1, 2}, y[2] = {0, 1};
    st_split_data sd = {"train", 2, 1, 1, tok, NULL, y, 0};
    const char *vocab[] = {"", "<OOV>", "caf\xc3\xa9", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"};
    const char *classes[] = {"neg", "pos"};
    const char *names[] = {"tokenizer_level", "tokenizer_oov_token"}, *vals[] = {"word", "<OOV>"};
    st_dataset_strings ex = {vocab, 4, classes, 2, names, vals, 2};
    const char *p = st_test_path("strings.h5");
    ck_assert_msg(st_dataset_write_ex(p, 2, 4, &sd, 1, &ex) == ST_OK, "%s", st_error_get());
    st_dataset d;
    ck_assert_msg(st_dataset_open(&d, p) == ST_OK, "%s", st_error_get());
    char **w, *v;
    size_t n;
    ck_assert_int_eq(st_dataset_read_vocab(&d, &w, &n), ST_OK);
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(w[i], vocab[i]);
        st_free(w[i]);
    }
    st_free(w);
    ck_assert_int_eq(st_dataset_read_strings(&d, "classes", &w, &n), ST_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(w[1], "pos");
    for (size_t i = 0; i < n; i++) st_free(w[i]);
    st_free(w);
    ck_assert_int_eq(st_dataset_read_attr_str(&d, "tokenizer_oov_token", &v), ST_OK);
    ck_assert_str_eq(v, "<OOV>");
    st_free(v);
    /* absent: ST_OK and nothing; not a string: an error naming the attribute */
    ck_assert_int_eq(st_dataset_read_attr_str(&d, "no_such", &v), ST_OK);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(st_dataset_read_attr_str(&d, "num_classes", &v), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "attribute num_classes: expected a string"), "%s",
                  st_error_get());
    ck_assert_int_eq(st_dataset_read_strings(&d, "train", &w, &n), ST_ERR);
    st_dataset_close(&d);
    /* without extras (st_dataset_write): no /vocab, read as empty */
    p = make_tokens("nostrings.h5");
    ck_assert_msg(st_dataset_open(&d, p) == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(st_dataset_read_vocab(&d, &w, &n), ST_OK);
    ck_assert_uint_eq(n, 0);
    st_dataset_close(&d);
}
END_TEST

START_TEST(shuffle_is_a_deterministic_permutation) {
    enum { N = 1000 };
    static size_t a[N], b[N], c[N];
    static unsigned char seen[N];
    st_shuffle(a, N, 42, 3);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < N; i++) {
        ck_assert(a[i] < N && !seen[a[i]]);
        seen[a[i]] = 1;
    }
    st_shuffle(b, N, 42, 3);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    st_shuffle(c, N, 42, 4);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    st_shuffle(c, N, 43, 3);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    int fixed = 0; /* a real shuffle moves almost everything */
    for (int i = 0; i < N; i++) fixed += a[i] == (size_t)i;
    ck_assert_int_lt(fixed, 20);
    st_shuffle(a, 0, 1, 0);
    st_shuffle(a, 1, 1, 0);
    ck_assert_uint_eq(a[0], 0);
}
END_TEST

START_TEST(shard_covers_each_row_once) {
    const int bs[] = {0, 1, 2, 3, 4, 7, 32, 33};
    for (size_t bi = 0; bi < sizeof bs / sizeof *bs; bi++) {
        for (int size = 1; size <= 5; size++) {
            int next = 0, minw = 1 << 30, maxw = 0;
            for (int r = 0; r < size; r++) {
                int lo, hi;
                st_shard(bs[bi], r, size, &lo, &hi);
                ck_assert_int_eq(lo, next); /* contiguous, in rank order, no gap or overlap */
                ck_assert_int_ge(hi, lo);
                next = hi;
                if (hi - lo < minw) minw = hi - lo;
                if (hi - lo > maxw) maxw = hi - lo;
            }
            ck_assert_int_eq(next, bs[bi]);
            ck_assert_int_le(maxw - minw, 1);
        }
    }
    /* no overflow for a large global batch */
    int lo, hi;
    st_shard(2000000000, 2, 3, &lo, &hi);
    ck_assert_int_eq(hi, 2000000000);
    ck_assert_int_eq(lo, 1333333333);
}
END_TEST

/* ---- files that point outside themselves, or declare what they do not hold ------------------ */

/* The whole message, exactly: these lines are what a user sees. */
static void expect_refused(const char *path, const char *fmt_rest) {
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", path, fmt_rest);
    st_dataset d;
    st_split s;
    /* A refusal must come fast: a blocking open would hang the suite (the alarm fails it). */
    alarm(10);
    int rc = st_dataset_open(&d, path);
    if (rc == ST_OK) {
        rc = st_split_open(&d, "train", &s);
        if (rc == ST_OK) st_split_close(&s);
        st_dataset_close(&d);
    }
    alarm(0);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_str_eq(st_error_get(), want);
}

/* A good y next to whatever x the test makes. */
static void craft_y(hid_t f, hsize_t n) {
    hsize_t yd[1] = {n};
    craft_dset(f, "/train/y", H5T_STD_I32LE, 1, yd);
}

START_TEST(external_storage_is_refused) {
    const char *p = st_test_path("ext.h5");
    hid_t f = craft_open(p, 2, 300);
    hsize_t xd[2] = {4, 4};
    hid_t sp = H5Screate_simple(2, xd, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* The raw data of /train/x is the first 64 bytes of /etc/passwd. */
    ck_assert(H5Pset_external(dcpl, "/etc/passwd", 0, 64) >= 0);
    hid_t d = H5Dcreate2(f, "/train/x", H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert(d >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    craft_y(f, 4);
    H5Fclose(f);
    expect_refused(p, "dataset /train/x stores its data outside the file (external storage: "
                      "/etc/passwd): refused");
}
END_TEST

START_TEST(virtual_dataset_is_refused) {
    const char *p = st_test_path("vds.h5");
    hid_t f = craft_open(p, 2, 300);
    hsize_t xd[2] = {4, 4};
    hid_t sp = H5Screate_simple(2, xd, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert(H5Pset_virtual(dcpl, sp, "/etc/other.h5", "/x", sp) >= 0);
    hid_t d = H5Dcreate2(f, "/train/x", H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert(d >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    craft_y(f, 4);
    H5Fclose(f);
    expect_refused(p, "dataset /train/x is a virtual dataset (its data come from other datasets "
                      "or files): refused");
}
END_TEST

START_TEST(external_link_is_refused) {
    /* /train/x is a link into another file: a FIFO, so following it would block forever. */
    const char *fifo = st_test_path("elink.fifo");
    unlink(fifo);
    ck_assert(mkfifo(fifo, 0600) == 0);
    const char *p = st_test_path("elink.h5");
    hid_t f = craft_open(p, 2, 300);
    ck_assert(H5Lcreate_external(fifo, "/x", f, "/train/x", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    craft_y(f, 4);
    H5Fclose(f);
    char want[1024];
    snprintf(want, sizeof want, "/train/x is an external link to %s:/x: refused (seqtrain "
             "reads only the file it is given)", fifo);
    expect_refused(p, want);
}
END_TEST

START_TEST(non_regular_paths_are_refused) {
    const char *fifo = st_test_path("data.fifo");
    unlink(fifo);
    ck_assert(mkfifo(fifo, 0600) == 0);
    expect_refused(fifo, "is a FIFO (named pipe): a dataset file must be a regular file");
    expect_refused("/dev/zero", "is a character device: a dataset file must be a regular file");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", st_test_path("adir"));
    ck_assert(mkdir(dir, 0700) == 0);
    expect_refused(dir, "is a directory: a dataset file must be a regular file");
}
END_TEST

/* A chunked dataset of the given shape with nothing written: HDF5 stores no chunk, so the
 * file is tiny whatever the shape declares. */
static void craft_declared(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
                           const hsize_t *chunk) {
    hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert(H5Pset_chunk(dcpl, rank, chunk) >= 0);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert(d >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

START_TEST(declared_sizes_are_bounded) {
    const char *p = st_test_path("huge.h5");
    char want[512];
    /* (4, 65537, 65537) float32: T * F = 4295098369 overflows int. */
    hsize_t x3[3] = {4, 65537, 65537}, c3[3] = {1, 1, 65537};
    hid_t f = craft_open(p, 2, 0);
    craft_declared(f, "/train/x", H5T_IEEE_F32LE, 3, x3, c3);
    craft_y(f, 4);
    H5Fclose(f);
    expect_refused(p, "/train/x: float32 (4, 65537, 65537): a row holds 4295098369 values, more "
                      "than the 268435456 seqtrain takes");

    /* 2^61 int32 elements: 2^63 bytes would wrap a size_t product. */
    hsize_t x2[2] = {(hsize_t)1 << 40, (hsize_t)1 << 21}, c2[2] = {1, 1024};
    f = craft_open(p, 2, 300);
    craft_declared(f, "/train/x", H5T_STD_I32LE, 2, x2, c2);
    craft_y(f, 4);
    H5Fclose(f);
    snprintf(want, sizeof want, "dataset /train/x declares shape (%llu, %llu): more than 1024 "
             "TiB at 4 bytes an element: refused", 1ULL << 40, 1ULL << 21);
    expect_refused(p, want);

    /* One chunk of 512 MiB: HDF5 would allocate it to read any row. */
    hsize_t xc[2] = {4, (hsize_t)1 << 27}, cc[2] = {1, (hsize_t)1 << 27};
    f = craft_open(p, 2, 0);
    craft_declared(f, "/train/x", H5T_IEEE_F32LE, 2, xc, cc);
    craft_y(f, 4);
    H5Fclose(f);
    expect_refused(p, "dataset /train/x: chunks of more than 256 MiB (or unreadable chunk "
                      "dimensions): refused");

    /* num_classes stored as int64 beyond int: not clipped to INT_MAX, refused as it is. */
    f = craft_open(p, 2, 300);
    H5Adelete(f, "num_classes");
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "num_classes", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int64_t big = (int64_t)1 << 40;
    H5Awrite(a, H5T_NATIVE_INT64, &big);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(f);
    expect_refused(p, "root attribute num_classes = 1099511627776: must be >= 1 and <= 16777216");

    /* /classes declaring 2^28 strings: refused before anything is allocated for them. */
    hsize_t xd[2] = {4, 3}, sd[1] = {(hsize_t)1 << 28}, sc[1] = {1024};
    f = craft_open(p, 2, 300);
    craft_dset(f, "/train/x", H5T_STD_I32LE, 2, xd);
    craft_y(f, 4);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    craft_declared(f, "/classes", st, 1, sd, sc);
    H5Tclose(st);
    H5Fclose(f);
    st_dataset d;
    ck_assert_msg(st_dataset_open(&d, p) == ST_OK, "%s", st_error_get());
    char **w = NULL;
    size_t n = 0;
    ck_assert_int_eq(st_dataset_read_strings(&d, "classes", &w, &n), ST_ERR);
    snprintf(want, sizeof want, "%s: /classes: 268435456 strings of 8 bytes each, more than "
             "seqtrain reads (134217728 strings, 1024 MiB)", p);
    ck_assert_str_eq(st_error_get(), want);
    ck_assert_ptr_null(w);
    st_dataset_close(&d);
}
END_TEST

START_TEST(split_names_are_escaped) {
    /* A group name with an escape sequence, listed in the missing-split message. */
    const char *p = st_test_path("esc.h5");
    hid_t f = craft_open(p, 2, 300);
    H5Gclose(H5Gcreate2(f, "\x1b[2Jx", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
    st_dataset d;
    st_split s;
    ck_assert(st_dataset_open(&d, p) == ST_OK);
    ck_assert_int_eq(st_split_open(&d, "valid", &s), ST_ERR);
    char want[512];
    snprintf(want, sizeof want, "%s: no split /valid (the file has: /\\x1b[2Jx, /train)", p);
    ck_assert_str_eq(st_error_get(), want);
    st_dataset_close(&d);
}
END_TEST

static Suite *dataset_suite(void) {
    Suite *s = suite_create("dataset");
    TCase *tc;
    tc = tcase_create("read");
    tcase_add_test(tc, tokens_round_trip_any_order);
    tcase_add_test(tc, features_time_major);
    tcase_add_test(tc, numpy_default_types_are_converted);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, bad_ids_and_labels_name_the_row);
    tcase_add_test(tc, shape_and_file_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_add_test(tc, external_storage_is_refused);
    tcase_add_test(tc, virtual_dataset_is_refused);
    tcase_add_test(tc, external_link_is_refused);
    tcase_add_test(tc, non_regular_paths_are_refused);
    tcase_add_test(tc, declared_sizes_are_bounded);
    tcase_add_test(tc, split_names_are_escaped);
    suite_add_tcase(s, tc);
    tc = tcase_create("write");
    tcase_add_test(tc, write_is_atomic);
    tcase_add_test(tc, strings_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("order");
    tcase_add_test(tc, shuffle_is_a_deterministic_permutation);
    tcase_add_test(tc, shard_covers_each_row_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(dataset_suite()); }
