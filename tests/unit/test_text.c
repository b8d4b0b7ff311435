/*
 * test_text.c - the one escaping of untrusted text and the UTF-8 check (src/core/text.c):
 * what is escaped and how, what is kept, cutting at `max` characters and at the buffer's end
 * (never inside a multi-byte character), and the stream variant printing the same thing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "testutil.h"

static const char *esc(const char *s, size_t max) {
    static char buf[256];
    return st_escape(buf, sizeof buf, s, max);
}

START_TEST(utf8_check) {
    ck_assert_uint_eq(st_utf8_check("plain", 5), 5);
    ck_assert_uint_eq(st_utf8_check("na\xc3\xafve \xe2\x9c\x93 \xf0\x9f\x98\x80", 15), 15);
    ck_assert_uint_eq(st_utf8_check("na\xc3\xafve \xe2\x9c\x93 \xf0\x9f\x98\x80", 14), 11);
    ck_assert_uint_eq(st_utf8_check("ab\xff", 3), 2);          /* never valid */
    ck_assert_uint_eq(st_utf8_check("a\xc3", 2), 1);           /* cut off */
    ck_assert_uint_eq(st_utf8_check("\xc0\xaf", 2), 0);        /* overlong '/' */
    ck_assert_uint_eq(st_utf8_check("x\xed\xa0\x80", 4), 1);   /* a UTF-16 surrogate */
    ck_assert_uint_eq(st_utf8_check("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
    ck_assert_uint_eq(st_utf8_check("\x80", 1), 0);            /* a stray continuation */
}
END_TEST

START_TEST(escapes_what_a_terminal_acts_on) {
    /* ESC sequences (clear screen, retitle), line breaks, DEL */
    ck_assert_str_eq(esc("\x1b[2Jpos", 100), "\\x1b[2Jpos");
    ck_assert_str_eq(esc("a\nb\tc\rd\x7f", 100), "a\\nb\\tc\\rd\\x7f");
    ck_assert_str_eq(esc("\x1b]0;owned\x07", 100), "\\x1b]0;owned\\x07");
    /* bytes that are not UTF-8, one escape each */
    ck_assert_str_eq(esc("ok\xff\xfe!", 100), "ok\\xff\\xfe!");
    /* C1 CSI (U+009B) and a right-to-left override (U+202E) */
    ck_assert_str_eq(esc("a\xc2\x9b" "2J", 100), "a\\u{009b}2J");
    ck_assert_str_eq(esc("x\xe2\x80\xaey", 100), "x\\u{202e}y");
    /* kept: any script, symbols, backslash */
    ck_assert_str_eq(esc("caf\xc3\xa9 \xe4\xb8\xad C:\\x", 100), "caf\xc3\xa9 \xe4\xb8\xad C:\\x");
    ck_assert_str_eq(esc("", 100), "");
    ck_assert_str_eq(esc(NULL, 100), "");
}
END_TEST

START_TEST(cuts_at_characters) {
    ck_assert_str_eq(esc("abcdef", 3), "abc...");
    ck_assert_str_eq(esc("abc", 3), "abc");
    /* max counts characters, not bytes: three two-byte letters stay whole */
    ck_assert_str_eq(esc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3), "\xc3\xa9\xc3\xa9\xc3\xa9...");
    /* a small buffer: cut before the character that does not fit, "..." always fits */
    char small[8];
    ck_assert_str_eq(st_escape(small, sizeof small, "\x1b\x1b\x1b", 10), "\\x1b...");
    ck_assert_str_eq(st_escape(small, sizeof small, "abcdefghij", 100), "abcd...");
    ck_assert_str_eq(st_escape(small, sizeof small, "\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93", 100),
                     "\xe2\x9c\x93...");
    char tiny[3] = "zz";
    ck_assert_str_eq(st_escape(tiny, sizeof tiny, "abcdef", 100), "");
}
END_TEST

START_TEST(stream_matches_buffer) {
    const char *s = "name\x1b[31m red \xff\xc2\x85 \xe2\x80\xa8 end";
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    st_escape_put(f, s, 100);
    fputc('|', f);
    st_escape_put(f, s, 6);
    fclose(f);
    char want[512], all[256], cut[256];
    snprintf(want, sizeof want, "%s|%s", st_escape(all, sizeof all, s, 100),
             st_escape(cut, sizeof cut, s, 6));
    ck_assert_str_eq(mem, want);
    ck_assert_str_eq(esc(s, 6), "name\\x1b[...");
    free(mem);
}
END_TEST

static Suite *text_suite(void) {
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, utf8_check);
    suite_add_tcase(s, tc);
    tc = tcase_create("escape");
    tcase_add_test(tc, escapes_what_a_terminal_acts_on);
    tcase_add_test(tc, cuts_at_characters);
    tcase_add_test(tc, stream_matches_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(text_suite()); }
