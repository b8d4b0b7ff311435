/*
 * utf8.c - UTF-8 and case: the bytes -> Python str step of the tokenizer.
 *
 * Decoding follows Python's bytes.decode("utf-8", "replace") exactly (Unicode's recommended
 * practice: one U+FFFD per maximal subpart of an ill-formed sequence). Lowercasing is Python
 * 3.11's str.lower() (Unicode 14): the simple mappings come from tokenize_unicode.h as runs
 * {first, last, step, delta}, searched by bisection; U+0130 (the one mapping to two code
 * points) and U+03A3 (Final_Sigma, which needs the Cased / Case_Ignorable context on both
 * sides) are handled in code. ASCII, nearly all of most corpora, takes a table-free fast path.
 *
 * What it does not do: any normalization form (NFC/NFKC), case folding beyond str.lower(), or
 * charset conversion (Latin-1 input becomes U+FFFD, as in Python with errors="replace").
 */
#include <stdint.h>
#include <string.h>

#include "tokenize/tokenize_unicode.h"
#include "tokenize/utf8.h"

/* Is c in one of the n sorted, disjoint ranges r? (bisection) */
static int uc_in(const uc_range *r, size_t n, uint32_t c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (c > r[m].hi) lo = m + 1;
        else if (c < r[m].lo) hi = m;
        else return 1;
    }
    return 0;
}
/* Unicode Cased and Case_Ignorable: the context of the Final_Sigma rule. */
static int uc_cased(uint32_t c) {
    return uc_in(cased_ranges, sizeof cased_ranges / sizeof cased_ranges[0], c);
}
static int uc_ignorable(uint32_t c) {
    return uc_in(ignorable_ranges, sizeof ignorable_ranges / sizeof ignorable_ranges[0], c);
}

/* Python's one-code-point lowercase mapping of c (c itself when it has none). The runs are
 * disjoint and sorted, so a binary search finds the only one that can hold c. */
static uint32_t uc_lower(uint32_t c) {
    size_t lo = 0, hi = sizeof lower_runs / sizeof lower_runs[0];
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        const uc_run *r = &lower_runs[m];
        if (c > r->last) lo = m + 1;
        else if (c < r->first) hi = m;
        else return (c - r->first) % r->step == 0 ? (uint32_t)((int32_t)c + r->delta) : c;
    }
    return c;
}

/* Decodes the code point at s[0..n) (n >= 1) into *cp and returns its length in bytes. An
 * ill-formed sequence gives U+FFFD for its maximal subpart (at least one byte), which is what
 * Python's bytes.decode("utf-8", "replace") does (Unicode's recommended practice). */
size_t st_tok_utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned b = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    uint32_t c;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        c = b & 0x0F;
        if (b == 0xE0) lo = 0xA0; /* overlong */
        if (b == 0xED) hi = 0x9F; /* surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        c = b & 0x07;
        if (b == 0xF0) lo = 0x90; /* overlong */
        if (b == 0xF4) hi = 0x8F; /* > U+10FFFF */
    } else {
        *cp = REPLACEMENT;
        return 1;
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *cp = REPLACEMENT;
            return k;
        }
        c = (c << 6) | (s[k] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return need + 1;
}

/* Encodes c (a valid scalar value) at o; returns the length (1-4). */
size_t st_tok_utf8_put(char *o, uint32_t c) {
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Case classes of ASCII for the Final_Sigma context: 1 cased (letters), 2 case-ignorable
 * (' . : ^ `), 0 neither. Filled from the tables once. */
static unsigned char ascii_case[128];
void st_tok_ascii_case_init(void) {
    for (uint32_t c = 0; c < 128; c++)
        ascii_case[c] = uc_ignorable(c) ? 2 : uc_cased(c) ? 1 : 0;
}

/* Is the U+03A3 just before s[i] final: the last non-ignorable character before it was cased
 * (prev_cased) and the next non-ignorable one after it, if any, is not. */
static int sigma_final(const unsigned char *s, size_t n, size_t i, int prev_cased) {
    if (!prev_cased) return 0;
    while (i < n) {
        uint32_t c;
        i += st_tok_utf8_next(s + i, n - i, &c);
        if (c == 0) c = REPLACEMENT;
        if (!uc_ignorable(c)) return !uc_cased(c);
    }
    return 1;
}

/* Appends to out the text Keras would see for the bytes in[0..n): decoded as UTF-8 with
 * errors="replace" (NUL -> U+FFFD as well), then str.lower() when lower. out is valid UTF-8
 * without NUL bytes. */
void st_tok_normalize(const char *in, size_t n, int lower, buf *out) {
    const unsigned char *s = (const unsigned char *)in;
    int prev_cased = 0; /* Final_Sigma context: the last non-ignorable character was cased */
    size_t i = 0;
    st_tok_buf_reserve(out, n + 8);
    while (i < n) {
        if (out->n + 8 > out->cap) st_tok_buf_reserve(out, 8 + (n - i));
        unsigned b = s[i];
        if (b - 1u < 0x7Fu) { /* ASCII other than NUL: the fast path */
            if (lower) {
                if (ascii_case[b] != 2) prev_cased = ascii_case[b];
                if (b >= 'A' && b <= 'Z') b += 32;
            }
            out->p[out->n++] = (char)b;
            i++;
            continue;
        }
        uint32_t c;
        i += st_tok_utf8_next(s + i, n - i, &c);
        if (c == 0) c = REPLACEMENT;
        if (lower) {
            uint32_t orig = c;
            if (c == 0x3A3)
                c = sigma_final(s, n, i, prev_cased) ? 0x3C2 : 0x3C3;
            else if (c == 0x130) { /* the one mapping to two code points */
                out->p[out->n++] = 'i';
                c = 0x307;
            } else
                c = uc_lower(c);
            if (!uc_ignorable(orig)) prev_cased = uc_cased(orig);
        }
        out->n += st_tok_utf8_put(out->p + out->n, c);
    }
}

/* Is there a NUL byte in p[0..n)? Dies naming path and its line. */
void st_tok_refuse_binary(const char *path, const char *p, size_t n, const char *what) {
    const char *z = memchr(p, 0, n);
    if (!z) return;
    long line = 1;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(z - q))) != NULL; q++) line++;
    st_tok_die("%s:%ld: NUL byte at offset %zu: binary data, not %s", path, line, (size_t)(z - p), what);
}
