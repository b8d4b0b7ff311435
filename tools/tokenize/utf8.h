/*
 * utf8.h - how seqtrain-tokenize turns bytes into the text Keras sees: UTF-8 decoding with
 * Python's errors="replace", and Python 3.11's str.lower().
 */
#ifndef SEQTRAIN_TOKENIZE_UTF8_H
#define SEQTRAIN_TOKENIZE_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "tokenize/tok.h"

/* U+FFFD, what every ill-formed sequence (and NUL) becomes. */
#define REPLACEMENT 0xFFFDu

/* Decodes the code point at s[0..n) (n >= 1) into *cp and returns its length in bytes; an
 * ill-formed sequence gives REPLACEMENT for its maximal subpart (at least one byte). */
size_t st_tok_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Encodes c (a valid scalar value) at o (room for 4 bytes); returns the length (1-4). */
size_t st_tok_utf8_put(char *o, uint32_t c);
/* Fills the ASCII case table st_tok_normalize needs; call once before it (parse_args does). */
void st_tok_ascii_case_init(void);
/* Appends to out the text Keras would see for in[0..n): UTF-8 with errors="replace" (NUL ->
 * U+FFFD too), then str.lower() when lower. out is valid UTF-8 without NUL bytes. */
void st_tok_normalize(const char *in, size_t n, int lower, buf *out);
/* Dies "PATH:LINE: NUL byte at offset K: binary data, not WHAT" when p[0..n) holds a NUL. */
void st_tok_refuse_binary(const char *path, const char *p, size_t n, const char *what);

#endif
