/*
 * test_atomic.c - the atomic writer (core/atomic.c, atomic.h) and its HDF5 route (io/h5.c:
 * st_h5_create / st_h5_finish): a commit replaces the file, an abort or a failure leaves the
 * old file exactly as it was and no PATH.tmp behind, and every failure sets one message that
 * names the path and returns ST_ERR.
 *
 * Files live in a fresh directory under the build tree's working directory, removed at the
 * end of each test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/h5.h"
#include "testutil.h"

static char dir[64], path[128], tmp[140];

/* A fresh directory per test, and the paths the tests use inside it. */
static void setup(void) {
    snprintf(dir, sizeof dir, "atomic-%d", (int)getpid());
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    st_error_clear();
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *p, const char *text) {
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* The whole file as a string (static buffer), or NULL when it does not exist. */
static const char *get(const char *p) {
    static char buf[256];
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

START_TEST(commit_replaces) {
    put(path, "old contents");
    put(tmp, "a stray tmp from a killed job"); /* truncated, not appended to */
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, path), ST_OK);
    ck_assert_str_eq(a.tmp, tmp);
    FILE *f = st_atomic_fopen(&a);
    ck_assert_ptr_nonnull(f);
    fputs("new", f);
    /* Until the commit, readers see the old file. */
    ck_assert_str_eq(get(path), "old contents");
    ck_assert_int_eq(st_atomic_commit(&a), ST_OK);
    ck_assert_str_eq(get(path), "new");
    ck_assert(!exists(tmp));
    ck_assert_ptr_null(a.fp);
}
END_TEST

START_TEST(commit_creates) {
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, path), ST_OK);
    fputs("first", st_atomic_fopen(&a));
    ck_assert_int_eq(st_atomic_commit(&a), ST_OK);
    ck_assert_str_eq(get(path), "first");
    ck_assert(!exists(tmp));
}
END_TEST

START_TEST(abort_keeps_old_file) {
    put(path, "old contents");
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, path), ST_OK);
    FILE *f = st_atomic_fopen(&a);
    ck_assert_ptr_nonnull(f);
    fputs("half a new file", f);
    st_atomic_abort(&a);
    ck_assert_str_eq(get(path), "old contents");
    ck_assert(!exists(tmp));
}
END_TEST

START_TEST(missing_directory_fails_with_path) {
    char p[160];
    snprintf(p, sizeof p, "%s/no-such-dir/out.txt", dir);
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, p), ST_OK); /* names only; creates nothing */
    ck_assert_ptr_null(st_atomic_fopen(&a));
    ck_assert_msg(strstr(st_error_get(), p) != NULL, "%s", st_error_get());
    ck_assert_msg(strstr(st_error_get(), strerror(ENOENT)) != NULL, "%s", st_error_get());
    /* Committing what could not be opened fails too, naming the path, and creates nothing. */
    st_error_clear();
    ck_assert_int_eq(st_atomic_commit(&a), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), p) != NULL, "%s", st_error_get());
    ck_assert(!exists(p));
}
END_TEST

/* The rename fails (the target is a non-empty directory: EISDIR/ENOTEMPTY even for root, unlike
 * a read-only directory): ST_ERR naming the path, the .tmp removed, the directory untouched. */
START_TEST(failed_rename_keeps_target) {
    char sub[160], inner[200];
    snprintf(sub, sizeof sub, "%s/target", dir);
    snprintf(inner, sizeof inner, "%s/keep", sub);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    put(inner, "kept");
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, sub), ST_OK);
    fputs("new", st_atomic_fopen(&a));
    ck_assert_int_eq(st_atomic_commit(&a), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), sub) != NULL, "%s", st_error_get());
    ck_assert_msg(strstr(st_error_get(), "rename") != NULL, "%s", st_error_get());
    ck_assert(!exists(a.tmp));
    ck_assert_str_eq(get(inner), "kept");
}
END_TEST

/* Where permissions are enforced (not as root), a read-only directory refuses the .tmp. */
START_TEST(read_only_directory_fails_with_path) {
    if (geteuid() == 0) return; /* root writes anywhere; failed_rename_keeps_target covers it */
    char ro[160], p[200];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    ck_assert_int_eq(mkdir(ro, 0555), 0);
    snprintf(p, sizeof p, "%s/out.txt", ro);
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, p), ST_OK);
    ck_assert_ptr_null(st_atomic_fopen(&a));
    ck_assert_msg(strstr(st_error_get(), p) != NULL, "%s", st_error_get());
    chmod(ro, 0755);
}
END_TEST

START_TEST(path_too_long_or_empty) {
    char p[ST_ATOMIC_PATH_MAX + 10];
    memset(p, 'a', sizeof p - 1);
    p[sizeof p - 1] = 0;
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, p), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "too long") != NULL, "%s", st_error_get());
    ck_assert_int_eq(st_atomic_begin(&a, ""), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "empty") != NULL, "%s", st_error_get());
}
END_TEST

/* ---- the HDF5 route ------------------------------------------------------------------------ */

/* One int32 scalar /v in an HDF5 file at p, through st_h5_create / st_h5_finish(ok). */
static int h5_put(const char *p, int v, int ok) {
    st_atomic a;
    hid_t f = st_h5_create(&a, p);
    if (f < 0) return ST_ERR;
    int w = st_h5_write(f, H5P_DEFAULT, "v", H5T_STD_I32LE, H5T_NATIVE_INT, 0, NULL, &v, 0);
    ck_assert_int_eq(w, ST_OK);
    if (!ok) st_error_set("%s: deliberate failure", p);
    return st_h5_finish(&a, f, ok);
}

/* /v of the HDF5 file at p. */
static int h5_get(const char *p) {
    int v = -1;
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t d = H5Dopen2(f, "v", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), 0);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

START_TEST(h5_commit_replaces_abort_keeps) {
    char p[160], t[170];
    snprintf(p, sizeof p, "%s/x.h5", dir);
    snprintf(t, sizeof t, "%s.tmp", p);
    ck_assert_int_eq(h5_put(p, 1, 1), ST_OK);
    ck_assert_int_eq(h5_get(p), 1);
    ck_assert_int_eq(h5_put(p, 2, 1), ST_OK);
    ck_assert_int_eq(h5_get(p), 2);
    ck_assert(!exists(t));
    /* A failed write: the caller's message is kept, the old file stays, no .tmp. */
    ck_assert_int_eq(h5_put(p, 3, 0), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "deliberate failure") != NULL, "%s", st_error_get());
    ck_assert_int_eq(h5_get(p), 2);
    ck_assert(!exists(t));
}
END_TEST

START_TEST(h5_missing_directory_fails_with_path) {
    char p[160];
    snprintf(p, sizeof p, "%s/no-such-dir/x.h5", dir);
    st_atomic a;
    ck_assert_int_lt(st_h5_create(&a, p), 0);
    ck_assert_msg(strstr(st_error_get(), p) != NULL, "%s", st_error_get());
    ck_assert_msg(strstr(st_error_get(), "cannot create") != NULL, "%s", st_error_get());
    ck_assert(!exists(p));
}
END_TEST

int main(void) {
    Suite *s = suite_create("atomic");
    TCase *tc = tcase_create("stdio");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, commit_replaces);
    tcase_add_test(tc, commit_creates);
    tcase_add_test(tc, abort_keeps_old_file);
    tcase_add_test(tc, missing_directory_fails_with_path);
    tcase_add_test(tc, failed_rename_keeps_target);
    tcase_add_test(tc, read_only_directory_fails_with_path);
    tcase_add_test(tc, path_too_long_or_empty);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("hdf5");
    tcase_add_checked_fixture(th, setup, teardown);
    tcase_add_test(th, h5_commit_replaces_abort_keeps);
    tcase_add_test(th, h5_missing_directory_fails_with_path);
    suite_add_tcase(s, th);
    return st_test_run(s);
}
