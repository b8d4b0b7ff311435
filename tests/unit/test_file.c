/*
 * test_file.c - files seqtrain did not write, opened and read line by line (src/core/file.c),
 * and the word-vector and vocabulary readers on top of it (src/io/vectors.c): a FIFO, a device
 * or a directory is refused at once (an alarm fails the test if an open blocks), a line longer
 * than the bound or holding a NUL byte is refused with PATH:LINE, CRLF and a last line without
 * "\n" read as lines.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "io/vectors.h"
#include "seqtrain/error.h"
#include "testutil.h"


/* The message must end with `tail` (the path in front of it varies by test directory). */
static void expect_tail(const char *tail) {
    const char *m = st_error_get();
    size_t lm = strlen(m), lt = strlen(tail);
    ck_assert_msg(lm >= lt && !strcmp(m + lm - lt, tail), "message '%s', want '...%s'", m, tail);
}

START_TEST(not_regular_files_are_refused_without_blocking) {
    char fifo[512]; /* st_test_path's buffer is reused by the next call */
    snprintf(fifo, sizeof fifo, "%s", st_test_path("v.fifo"));
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    alarm(10); /* a blocking open would hang here: the alarm fails the test instead */
    ck_assert_int_eq(st_file_open_regular(fifo, "vectors file", 0), -1);
    expect_tail(": is a FIFO (named pipe): a vectors file must be a regular file");
    ck_assert_int_eq(st_file_open_regular("/dev/zero", "config", 0), -1);
    ck_assert_str_eq(st_error_get(), "/dev/zero: is a character device: a config must be a "
                                     "regular file");
    ck_assert_int_eq(st_file_open_regular(st_test_path(""), "config", 0), -1);
    expect_tail(": is a directory: a config must be a regular file");
    ck_assert_int_eq(st_file_open_regular("/nonexistent/x.txt", "config", 0), -1);
    ck_assert_str_eq(st_error_get(), "/nonexistent/x.txt: no such file");
    size_t n = 0;
    char **words = NULL;
    ck_assert_int_eq(st_vocab_read(fifo, &words, &n), ST_ERR);
    expect_tail(": is a FIFO (named pipe): a vocabulary file must be a regular file");
    alarm(0);
    /* The size bound. */
    const char *p = st_test_write_file("big.txt", "0123456789", 10);
    ck_assert_int_eq(st_file_open_regular(p, "config", 9), -1);
    expect_tail(": 10 bytes: larger than a config may be (9)");
    int fd = st_file_open_regular(p, "config", 10);
    ck_assert_int_ge(fd, 0);
    close(fd);
}
END_TEST

START_TEST(lines_are_bounded_and_clean) {
    const char *p = st_test_write_file("l.txt", "ab\r\n\ncd\nlast", 12);
    st_lines L;
    char *line;
    size_t len;
    ck_assert_int_eq(st_lines_open(&L, p, "list", 8), ST_OK);
    const char *want[] = {"ab", "", "cd", "last"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(st_lines_next(&L, &line, &len), 1);
        ck_assert_str_eq(line, want[i]);
        ck_assert_uint_eq(len, strlen(want[i]));
        ck_assert_uint_eq(L.lineno, (size_t)i + 1);
    }
    ck_assert_int_eq(st_lines_next(&L, &line, &len), 0);
    st_lines_close(&L);

    /* Exactly max bytes is a line; one more is refused, before the buffer grows past it. */
    p = st_test_write_file("long.txt", "12345678\n123456789\n", 19);
    ck_assert_int_eq(st_lines_open(&L, p, "list", 8), ST_OK);
    ck_assert_int_eq(st_lines_next(&L, &line, &len), 1);
    ck_assert_str_eq(line, "12345678");
    ck_assert_int_eq(st_lines_next(&L, &line, &len), ST_ERR);
    expect_tail(":2: line longer than 8 bytes: refused");
    st_lines_close(&L);

    p = st_test_write_file("nul.txt", "ok\nab\0cd\n", 9);
    ck_assert_int_eq(st_lines_open(&L, p, "list", 64), ST_OK);
    ck_assert_int_eq(st_lines_next(&L, &line, &len), 1);
    ck_assert_int_eq(st_lines_next(&L, &line, &len), ST_ERR);
    expect_tail(":2: a NUL byte at column 3: refused");
    st_lines_close(&L);
}
END_TEST

static void count_row(const char *word, const float *row, void *ctx) {
    (void)word;
    *(float *)ctx += row[0] + row[1];
}

START_TEST(vectors_through_the_bounded_reader) {
    const char *p = st_test_write_file("v.txt", "2 2\r\nthe 1 2\r\ncat 3 4\r\n", 23);
    float sum = 0;
    size_t lines = 0;
    ck_assert_msg(st_vectors_read(p, 2, count_row, &sum, &lines) == ST_OK, "%s",
                  st_error_get());
    ck_assert_uint_eq(lines, 2);
    ck_assert_float_eq(sum, 10.0f);
    /* A file that never ends a line is refused at the bound, not read until memory runs out. */
    size_t n = (1u << 20) + 16;
    char *junk = malloc(n);
    memset(junk, '7', n);
    p = st_test_write_file("endless.txt", junk, n);
    free(junk);
    ck_assert_int_eq(st_vectors_read(p, 2, count_row, &sum, &lines), ST_ERR);
    expect_tail(":1: line longer than 1048576 bytes: refused");
    /* Words from the file are escaped in messages. */
    p = st_test_write_file("esc.txt", "\x1b[2J 1\n", 7);
    ck_assert_int_eq(st_vectors_read(p, 2, count_row, &sum, &lines), ST_ERR);
    expect_tail(":1: word '\\x1b[2J' has fewer values than the 2 expected (output_dim)");
}
END_TEST

static Suite *file_suite(void) {
    Suite *s = suite_create("file");
    TCase *tc = tcase_create("open");
    tcase_add_test(tc, not_regular_files_are_refused_without_blocking);
    tcase_add_test(tc, lines_are_bounded_and_clean);
    tcase_add_test(tc, vectors_through_the_bounded_reader);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(file_suite()); }
