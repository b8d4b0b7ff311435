/*
 * test_atomic.c - the atomic writer (core/atomic.c, atomic.h) and its HDF5 route (io/h5.c:
 * st_h5_create / st_h5_finish): a commit replaces the file, an abort or a failure leaves the
 * old file exactly as it was and no PATH.tmp behind, and every failure sets one message that
 * names the path and returns ST_ERR. Only regular files are written: a FIFO, device, symlink or
 * directory at PATH is refused and left as it was, a symlink at PATH.tmp is never followed,
 * and the append log's opener refuses the same (FINDINGS F0, F2).
 *
 * Files live in a fresh directory under the build tree's working directory, removed at the
 * end of each test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* A directory at PATH is refused at begin (before any work), and so is one that appears
 * while the file is written (the check is repeated before the rename): ST_ERR naming the path,
 * the .tmp removed, the directory untouched. */
START_TEST(directory_target_refused) {
    char sub[160], inner[200];
    snprintf(sub, sizeof sub, "%s/target", dir);
    snprintf(inner, sizeof inner, "%s/keep", sub);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    put(inner, "kept");
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, sub), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "exists and is a directory: refused") != NULL, "%s",
                  st_error_get());
    /* Late: the directory appears between begin and commit. */
    ck_assert_int_eq(st_atomic_begin(&a, path), ST_OK);
    fputs("new", st_atomic_fopen(&a));
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(st_atomic_commit(&a), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), path) != NULL, "%s", st_error_get());
    ck_assert_msg(strstr(st_error_get(), "a directory: refused") != NULL, "%s", st_error_get());
    ck_assert(!exists(tmp));
    struct stat st;
    ck_assert(lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
    ck_assert_str_eq(get(inner), "kept");
}
END_TEST

/* F0: a FIFO, a symlink (even to a regular file) and, as root, a device at PATH are refused
 * with one message naming the path and the kind, and left exactly as they were. */
START_TEST(non_regular_target_refused) {
    char fifo[160], link[160], victim[160], dev[160];
    snprintf(fifo, sizeof fifo, "%s/out.fifo", dir);
    snprintf(link, sizeof link, "%s/link.txt", dir);
    snprintf(victim, sizeof victim, "%s/victim.txt", dir);
    snprintf(dev, sizeof dev, "%s/null.dev", dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    put(victim, "keep");
    ck_assert_int_eq(symlink("victim.txt", link), 0);
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, fifo), ST_ERR);
    char want[300];
    snprintf(want, sizeof want, "%s: exists and is a FIFO (named pipe): refused (seqtrain "
             "writes regular files only)", fifo);
    ck_assert_str_eq(st_error_get(), want);
    ck_assert_int_eq(st_atomic_check_target(link), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "is a symlink: refused") != NULL, "%s", st_error_get());
    ck_assert_int_eq(st_h5_create(&a, link), -1);
    ck_assert_msg(strstr(st_error_get(), "is a symlink: refused") != NULL, "%s", st_error_get());
    struct stat st;
    ck_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    ck_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    ck_assert_str_eq(get(victim), "keep");
    ck_assert_int_eq(st_atomic_check_target(path), ST_OK); /* absent: fine */
    put(path, "x");
    ck_assert_int_eq(st_atomic_check_target(path), ST_OK); /* regular: fine */
    if (geteuid() == 0 && mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        ck_assert_int_eq(st_atomic_begin(&a, dev), ST_ERR);
        ck_assert_msg(strstr(st_error_get(), "is a character device: refused") != NULL, "%s",
                      st_error_get());
        ck_assert(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
    }
}
END_TEST

/* F2: a symlink planted at PATH.tmp is never written through, nor removed: refused at begin
 * (stdio and HDF5 routes); one planted between begin and the creation makes the exclusive
 * create fail and is left alone by the abort. */
START_TEST(planted_tmp_not_followed) {
    char victim[160], h5[160], h5tmp[170];
    snprintf(victim, sizeof victim, "%s/victim.txt", dir);
    snprintf(h5, sizeof h5, "%s/x.h5", dir);
    snprintf(h5tmp, sizeof h5tmp, "%s.tmp", h5);
    put(victim, "keep");
    ck_assert_int_eq(symlink("victim.txt", tmp), 0);
    st_atomic a;
    ck_assert_int_eq(st_atomic_begin(&a, path), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "exists and is a symlink: refused") != NULL, "%s",
                  st_error_get());
    ck_assert_int_eq(symlink("victim.txt", h5tmp), 0);
    ck_assert_int_lt(st_h5_create(&a, h5), 0);
    ck_assert_str_eq(get(victim), "keep");
    ck_assert_int_eq(unlink(tmp), 0);
    /* The race: begin passes, then a link appears. */
    ck_assert_int_eq(st_atomic_begin(&a, path), ST_OK);
    ck_assert_int_eq(symlink("victim.txt", tmp), 0);
    ck_assert_ptr_null(st_atomic_fopen(&a));
    ck_assert_msg(strstr(st_error_get(), strerror(EEXIST)) != NULL, "%s", st_error_get());
    st_atomic_abort(&a);
    struct stat st;
    ck_assert(lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode));
    ck_assert_str_eq(get(victim), "keep");
    ck_assert(!exists(path));
}
END_TEST

/* The append log (metrics.jsonl): appends, truncates on request, and refuses a symlink or a
 * FIFO (without blocking on it) before truncating anything. */
START_TEST(append_open_regular_only) {
    FILE *f = st_append_open(path, 1);
    ck_assert_ptr_nonnull(f);
    fputs("a\n", f);
    fclose(f);
    ck_assert_ptr_nonnull(f = st_append_open(path, 0));
    fputs("b\n", f);
    fclose(f);
    ck_assert_str_eq(get(path), "a\nb\n");
    ck_assert_ptr_nonnull(f = st_append_open(path, 1));
    fclose(f);
    ck_assert_str_eq(get(path), "");
    char victim[160], link[160], fifo[160];
    snprintf(victim, sizeof victim, "%s/victim.txt", dir);
    snprintf(link, sizeof link, "%s/log.jsonl", dir);
    snprintf(fifo, sizeof fifo, "%s/log.fifo", dir);
    put(victim, "keep");
    ck_assert_int_eq(symlink("victim.txt", link), 0);
    ck_assert_ptr_null(st_append_open(link, 1));
    ck_assert_msg(strstr(st_error_get(), "is a symlink: refused") != NULL, "%s", st_error_get());
    ck_assert_str_eq(get(victim), "keep");
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    ck_assert_ptr_null(st_append_open(fifo, 1));
    ck_assert_msg(strstr(st_error_get(), "is a FIFO (named pipe): refused") != NULL, "%s",
                  st_error_get());
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
    tcase_add_test(tc, directory_target_refused);
    tcase_add_test(tc, non_regular_target_refused);
    tcase_add_test(tc, planted_tmp_not_followed);
    tcase_add_test(tc, append_open_regular_only);
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
