/*
 * text.c - UTF-8 validation and the one escaping of untrusted text (text.h).
 *
 * Both printers (into a buffer, into a FILE) walk the text one character at a time through
 * next_piece, which returns the character's printed form (itself, or its escape), so the
 * two cannot drift apart.
 *
 * Not here: any knowledge of where the text came from (the callers name the file).
 */
#include <stdio.h>
#include <string.h>

#include "core/text.h"

size_t st_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1Fu, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong 2-byte lead) or F5..FF */
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8 (RFC 3629). */
    if (v < min || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) return 0;
    *cp = v;
    return len;
}

size_t st_utf8_check(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t k = st_utf8_seq(u + i, n - i, &cp);
        if (k == 0) return i;
        i += k;
    }
    return n;
}

/* Code points that change how a terminal shows the rest of the line without being visible
 * themselves (see text.h). */
static int is_hidden(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

size_t st_utf8_hidden(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c = 0;
        size_t len = st_utf8_seq(u + i, n - i, &c);
        if (len == 0) return n; /* not UTF-8: st_utf8_check's business */
        if (is_hidden(c)) {
            if (cp) *cp = c;
            return i;
        }
        i += len;
    }
    return n;
}

/* The printed form of the character at s (s[0] != 0) into piece (at most 11 bytes + NUL);
 * *used gets the number of bytes of s it stands for. Returns the length of piece. */
static size_t next_piece(const char *s, char piece[12], size_t *used) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    /* strnlen bounds the look-ahead to the sequence's longest form without reading past a
     * terminator that might end the string early. */
    size_t k = st_utf8_seq(u, strnlen(s, 4), &cp);
    if (k == 0) { /* not UTF-8: the byte, escaped */
        *used = 1;
        return (size_t)snprintf(piece, 12, "\\x%02x", u[0]);
    }
    *used = k;
    if (cp == '\n') return (size_t)snprintf(piece, 12, "\\n");
    if (cp == '\t') return (size_t)snprintf(piece, 12, "\\t");
    if (cp == '\r') return (size_t)snprintf(piece, 12, "\\r");
    if (cp < 0x20 || cp == 0x7F) return (size_t)snprintf(piece, 12, "\\x%02x", (unsigned)cp);
    if (is_hidden(cp)) return (size_t)snprintf(piece, 12, "\\u{%04x}", (unsigned)cp);
    memcpy(piece, s, k);
    piece[k] = 0;
    return k;
}

const char *st_escape(char *out, size_t outlen, const char *s, size_t max) {
    if (outlen == 0) return out;
    out[0] = 0;
    if (!s) return out;
    size_t len = 0, chars = 0;
    /* Room kept for "..." and the terminator while there may be more to come. */
    const size_t tail = 4;
    while (*s) {
        char piece[12];
        size_t used, pl = next_piece(s, piece, &used);
        if (chars == max || len + pl + tail > outlen) {
            /* Every append left room for the tail, so "..." fits unless out holds less than
             * it (then the text is simply empty). */
            if (len + tail <= outlen) memcpy(out + len, "...", 4);
            return out;
        }
        memcpy(out + len, piece, pl);
        len += pl;
        out[len] = 0;
        s += used;
        chars++;
    }
    return out;
}

void st_escape_put(FILE *f, const char *s, size_t max) {
    if (!s) return;
    for (size_t chars = 0; *s; chars++) {
        if (chars == max) {
            fputs("...", f);
            return;
        }
        char piece[12];
        size_t used, pl = next_piece(s, piece, &used);
        fwrite(piece, 1, pl, f);
        s += used;
    }
}
