/*
 * text.h - text that came from a file seqtrain did not write (class names, vocabulary words,
 * HDF5 object and attribute names, config values): UTF-8 validation, and THE escaping used
 * wherever such text is printed to a terminal or put in a one-line message.
 *
 * Why: a class name holding "\x1b]0;...\x07" or "\x1b[2J" would retitle or clear the user's
 * terminal when printed raw, a "\n" would split a one-line error into two, and bytes that are
 * not UTF-8 make every later tool (grep, a JSON reader) choke. Every printer of file-derived
 * text goes through st_escape / st_escape_put so that they all escape the same things.
 *
 * What is escaped: C0 control characters and DEL ("\n", "\t", "\r", else "\xNN"), bytes that
 * are not part of a valid UTF-8 sequence ("\xNN" per byte), the C1 controls U+0080..U+009F
 * (some terminals act on them as on ESC [), and the invisible characters that reorder or split
 * lines (bidirectional overrides and isolates U+202A..U+202E, U+2066..U+2069, the line and
 * paragraph separators U+2028, U+2029) as "\u{XXXX}". Everything else, backslash included,
 * is kept as it is, so ordinary names in any script read as written.
 *
 * What it does not do: quoting for a shell, JSON or CSV (their writers escape what their
 * format needs on top of this).
 */
#ifndef SEQTRAIN_CORE_TEXT_H
#define SEQTRAIN_CORE_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The length (1 to 4) of the valid UTF-8 sequence that starts s[0..n), its code point in *cp;
 * 0 when s does not start one (a stray continuation byte, an overlong form, a surrogate, a
 * value above U+10FFFF, or a sequence cut off by n). n must be >= 1. */
size_t st_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* The offset of the first byte of s[0..n) that is not part of valid UTF-8, or n when all of
 * it is valid. A NUL byte is valid UTF-8 (callers that refuse NUL look for it themselves). */
size_t st_utf8_check(const char *s, size_t n);

/* The offset of the first code point of valid UTF-8 s[0..n) that is escaped as "hidden" above
 * (C1 controls, bidirectional overrides and isolates, line and paragraph separators), its
 * value in *cp (when cp is not NULL); n when there is none. Text a user types (a config
 * value) refuses these: printed in a message they would act on the terminal. */
size_t st_utf8_hidden(const char *s, size_t n, uint32_t *cp);

/* s escaped (see above) into out[outlen], always NUL-terminated. At most `max` characters of
 * s are taken (a character: one code point, or one escaped byte); when s is longer, or the
 * escaped text does not fit in out, it is cut at a character boundary and "..." is appended.
 * Returns out, so it can be an argument of printf or st_error_set:
 *     char esc[128];
 *     st_error_set("%s: class '%s' ...", path, st_escape(esc, sizeof esc, name, 40));   */
const char *st_escape(char *out, size_t outlen, const char *s, size_t max);

/* The same escaping written to f (no buffer limit; at most `max` characters, then "..."). */
void st_escape_put(FILE *f, const char *s, size_t max);

#endif
