/*
 * mime.c - mail decoding for --mail (SpamAssassin-style corpora): the text a reader sees in an
 * RFC 822 message, as bytes.
 *
 * Works on the raw bytes [p, end) with LF line breaks and never copies the input: a header
 * field is unfolded into one small buffer at a time, a body is decoded (base64 / quoted-
 * printable) into a scratch buffer only when it is encoded, and all text is appended to the
 * caller's buffer. Decoders are lenient the way mail readers are: bytes outside the base64
 * alphabet are skipped, malformed quoted-printable escapes stay literal, a part without a
 * closing boundary runs to the end, a multipart without any delimiter is read as text.
 *
 * What it does not do: convert charsets (charset= and the charset of RFC 2047 words are
 * ignored: a Latin-1 mail's accented letters become U+FFFD later, in utf8.c), decode
 * attachments or any non-text part, RFC 2231 parameters, or full HTML entity tables (a few
 * named entities and numeric ones only).
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include "tokenize/mime.h"

/* Nesting limit of multiparts and attached messages: a crafted mail cannot recurse forever. */
#define MAIL_MAX_DEPTH 8

static int lower_ascii(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Case-insensitive prefix test on a byte range. */
static int has_prefix_ci(const char *p, const char *end, const char *pre) {
    for (; *pre; p++, pre++)
        if (p >= end || lower_ascii((unsigned char)*p) != lower_ascii((unsigned char)*pre)) return 0;
    return 1;
}

/* The value of a hex digit, -1 for anything else (a malformed escape stays literal). */
static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The value of a base64 character, -1 outside the alphabet (skipped, or the end of a
 * base64 body: see decode_base64_body). */
static int b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Base64 [p, end) -> out. Characters outside the alphabet (line breaks, junk) are skipped; '='
 * ends the data. */
static void decode_base64(const char *p, const char *end, buf *out) {
    uint32_t acc = 0;
    int bits = 0;
    for (; p < end; p++) {
        if (*p == '=') { /* padding: the end of one base64 run (another may follow) */
            acc = 0;
            bits = 0;
            continue;
        }
        int v = b64val((unsigned char)*p);
        if (v < 0) continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            st_tok_buf_putc(out, (char)((acc >> bits) & 0xff));
        }
    }
}

/* A MIME base64 body: decoded line by line up to the first line that is not base64 (mailing
 * lists append plain-text footers to base64 parts); from there on the text is kept as is. */
static void decode_base64_body(const char *p, const char *end, buf *out) {
    const char *line = p;
    while (line < end) {
        const char *le = memchr(line, '\n', (size_t)(end - line));
        if (!le) le = end;
        int ok = 1;
        for (const char *s = line; s < le && ok; s++)
            ok = b64val((unsigned char)*s) >= 0 || *s == '=' || *s == ' ' || *s == '\t' || *s == '\r';
        if (!ok) break;
        line = le < end ? le + 1 : end;
    }
    decode_base64(p, line, out);
    st_tok_buf_putc(out, '\n');
    st_tok_buf_put(out, line, (size_t)(end - line));
}

/* Quoted-printable [p, end) -> out. q: RFC 2047 "Q" encoding ('_' is a space). Malformed escapes
 * are kept literally. */
static void decode_qp(const char *p, const char *end, buf *out, int q) {
    while (p < end) {
        char c = *p;
        if (c == '=') {
            const char *s = p + 1;
            while (s < end && (*s == ' ' || *s == '\t')) s++;
            if (s < end && *s == '\n') { /* soft line break */
                p = s + 1;
                continue;
            }
            if (s == end) break;
            if (p + 2 < end) {
                int h = hexval((unsigned char)p[1]), l = hexval((unsigned char)p[2]);
                if (h >= 0 && l >= 0) {
                    st_tok_buf_putc(out, (char)(h * 16 + l));
                    p += 3;
                    continue;
                }
            }
            st_tok_buf_putc(out, c);
            p++;
            continue;
        }
        st_tok_buf_putc(out, (q && c == '_') ? ' ' : c);
        p++;
    }
}

/* A header value with RFC 2047 encoded words (=?charset?B|Q?text?=) decoded (the charset is
 * ignored: bytes are bytes). */
static void decode_header_value(const char *p, const char *end, buf *out) {
    while (p < end) {
        if (p + 1 < end && p[0] == '=' && p[1] == '?') {
            const char *cs = p + 2, *q1 = memchr(cs, '?', (size_t)(end - cs));
            if (q1 && q1 + 2 < end && q1[2] == '?') {
                int enc = lower_ascii((unsigned char)q1[1]);
                const char *txt = q1 + 3, *e = txt;
                while (e + 1 < end && !(e[0] == '?' && e[1] == '=')) e++;
                if (e + 1 < end && (enc == 'b' || enc == 'q')) {
                    if (enc == 'b')
                        decode_base64(txt, e, out);
                    else
                        decode_qp(txt, e, out, 1);
                    p = e + 2;
                    continue;
                }
            }
        }
        st_tok_buf_putc(out, *p++);
    }
}

/* Appends the text of HTML [p, end) to out: tags, comments, <script> and <style> contents
 * dropped (each tag becomes a space so words on either side stay apart), a few entities
 * decoded. */
static void strip_html(const char *p, const char *end, buf *out) {
    static const struct {
        const char *name;
        const char *text;
    } ent[] = {{"nbsp;", " "}, {"amp;", "&"}, {"lt;", "<"},  {"gt;", ">"},
               {"quot;", "\""}, {"apos;", "'"}, {"copy;", " "}, {"reg;", " "}};
    while (p < end) {
        if (*p == '<') {
            if (has_prefix_ci(p, end, "<!--")) {
                const char *e = p + 4;
                while (e + 2 < end && !(e[0] == '-' && e[1] == '-' && e[2] == '>')) e++;
                p = e + 2 < end ? e + 3 : end;
            } else {
                const char *skip_to = NULL;
                if (has_prefix_ci(p, end, "<script")) skip_to = "</script";
                if (has_prefix_ci(p, end, "<style")) skip_to = "</style";
                const char *e = memchr(p, '>', (size_t)(end - p));
                p = e ? e + 1 : end;
                if (skip_to) {
                    while (p < end && !has_prefix_ci(p, end, skip_to)) p++;
                    e = p < end ? memchr(p, '>', (size_t)(end - p)) : NULL;
                    p = e ? e + 1 : end;
                }
            }
            st_tok_buf_putc(out, ' ');
            continue;
        }
        if (*p == '&') {
            size_t k;
            for (k = 0; k < sizeof ent / sizeof ent[0]; k++)
                if (has_prefix_ci(p + 1, end, ent[k].name)) break;
            if (k < sizeof ent / sizeof ent[0]) {
                st_tok_buf_put(out, ent[k].text, strlen(ent[k].text));
                p += 1 + strlen(ent[k].name);
                continue;
            }
            if (p + 2 < end && p[1] == '#') {
                const char *s = p + 2;
                int hex = (*s == 'x' || *s == 'X');
                if (hex) s++;
                unsigned long v = 0;
                int nd = 0;
                while (s < end && nd < 8 && (hex ? hexval((unsigned char)*s) >= 0 : isdigit((unsigned char)*s))) {
                    v = v * (hex ? 16 : 10) + (unsigned long)(hex ? hexval((unsigned char)*s) : *s - '0');
                    s++;
                    nd++;
                }
                if (nd > 0 && s < end && *s == ';') {
                    /* Code point -> UTF-8 (invalid ones become a space). */
                    if (v == 0 || v > 0x10ffff)
                        st_tok_buf_putc(out, ' ');
                    else if (v < 0x80)
                        st_tok_buf_putc(out, (char)v);
                    else if (v < 0x800) {
                        st_tok_buf_putc(out, (char)(0xc0 | (v >> 6)));
                        st_tok_buf_putc(out, (char)(0x80 | (v & 0x3f)));
                    } else if (v < 0x10000) {
                        st_tok_buf_putc(out, (char)(0xe0 | (v >> 12)));
                        st_tok_buf_putc(out, (char)(0x80 | ((v >> 6) & 0x3f)));
                        st_tok_buf_putc(out, (char)(0x80 | (v & 0x3f)));
                    } else {
                        st_tok_buf_putc(out, (char)(0xf0 | (v >> 18)));
                        st_tok_buf_putc(out, (char)(0x80 | ((v >> 12) & 0x3f)));
                        st_tok_buf_putc(out, (char)(0x80 | ((v >> 6) & 0x3f)));
                        st_tok_buf_putc(out, (char)(0x80 | (v & 0x3f)));
                    }
                    p = s + 1;
                    continue;
                }
            }
        }
        st_tok_buf_putc(out, *p++);
    }
}

enum { CTE_IDENTITY = 0, CTE_QP, CTE_BASE64 };

typedef struct mime_head {
    char type[64];      /* lowercased "type/subtype"; "" when absent */
    char boundary[256]; /* multipart boundary; "" when absent */
    int cte;
} mime_head;

/* Trims [*p, *e) of spaces, tabs and newlines. */
static void trim(const char **p, const char **e) {
    while (*p < *e && (**p == ' ' || **p == '\t' || **p == '\n')) (*p)++;
    while (*e > *p && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\n')) (*e)--;
}

/* Content-Type: the lowercased type and the boundary parameter (quoted or not, any case);
 * other parameters (charset, name) are ignored. Over-long values are cut to the fields' size. */
static void parse_content_type(const char *v, const char *e, mime_head *h) {
    trim(&v, &e);
    size_t k = 0;
    const char *s = v;
    while (s < e && *s != ';' && *s != ' ' && *s != '\t' && k + 1 < sizeof h->type)
        h->type[k++] = (char)lower_ascii((unsigned char)*s++);
    h->type[k] = 0;
    /* boundary parameter, anywhere after the type */
    for (s = v; s < e; s++) {
        if (!has_prefix_ci(s, e, "boundary")) continue;
        if (s > v && s[-1] != ';' && s[-1] != ' ' && s[-1] != '\t' && s[-1] != '\n') continue;
        const char *t = s + 8;
        while (t < e && (*t == ' ' || *t == '\t')) t++;
        if (t >= e || *t != '=') continue;
        t++;
        while (t < e && (*t == ' ' || *t == '\t')) t++;
        k = 0;
        if (t < e && *t == '"') {
            t++;
            while (t < e && *t != '"' && k + 1 < sizeof h->boundary) h->boundary[k++] = *t++;
        } else {
            while (t < e && *t != ';' && *t != ' ' && *t != '\t' && *t != '\n' &&
                   k + 1 < sizeof h->boundary)
                h->boundary[k++] = *t++;
        }
        h->boundary[k] = 0;
        break;
    }
}

/* A header line starts with a field name (printable ASCII, no space or ':') followed by ':'. */
static int is_header_line(const char *p, const char *end) {
    const char *s = p;
    while (s < end && *s > ' ' && *s < 127 && *s != ':') s++;
    return s > p && s < end && *s == ':';
}

static const char *line_end(const char *p, const char *end) {
    const char *e = memchr(p, '\n', (size_t)(end - p));
    return e ? e : end;
}

/* Splits a multipart body on its boundary and appends each part's text. Returns 0 if no
 * delimiter line was found (the caller then treats the body as text). */
static int mail_multipart(const char *p, const char *end, const char *boundary, int depth,
                          buf *out) {
    size_t blen = strlen(boundary);
    const char *part = NULL; /* start of the current part, NULL before the first delimiter */
    int found = 0;
    while (p < end) {
        const char *le = line_end(p, end);
        if (le - p >= (ptrdiff_t)(2 + blen) && p[0] == '-' && p[1] == '-' &&
            memcmp(p + 2, boundary, blen) == 0) {
            found = 1;
            if (part) st_tok_mail_entity(part, p > part ? p - 1 : p, 0, depth + 1, out);
            const char *after = p + 2 + blen;
            if (le - after >= 2 && after[0] == '-' && after[1] == '-')
                return 1; /* close delimiter: the epilogue is dropped */
            part = le < end ? le + 1 : end;
        }
        p = le < end ? le + 1 : end;
    }
    if (part) st_tok_mail_entity(part, end, 0, depth + 1, out); /* unterminated last part */
    return found;
}

/* Appends the text of one MIME entity [p, end) to out. top: a message's own headers, whose
 * Subject is kept as text; all other header fields are dropped. Non-text parts are skipped. */
void st_tok_mail_entity(const char *p, const char *end, int top, int depth, buf *out) {
    mime_head h;
    memset(&h, 0, sizeof h);
    buf val = {0};
    if (top && has_prefix_ci(p, end, "From ")) { /* mbox separator line */
        p = line_end(p, end);
        if (p < end) p++;
    }
    /* Header block: up to the first blank line, or the first line that is not a header. */
    while (p < end) {
        const char *le = line_end(p, end);
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t')) s++;
        if (s == le) { /* blank line: the body follows */
            p = le < end ? le + 1 : end;
            break;
        }
        if (!is_header_line(p, le)) break;
        /* The field with its continuation lines unfolded. */
        const char *colon = memchr(p, ':', (size_t)(le - p));
        const char *name = p;
        size_t nlen = (size_t)(colon - p);
        val.n = 0;
        st_tok_buf_put(&val, colon + 1, (size_t)(le - colon - 1));
        p = le < end ? le + 1 : end;
        while (p < end && (*p == ' ' || *p == '\t')) {
            const char *ce = line_end(p, end);
            const char *cs = p;
            while (cs < ce && (*cs == ' ' || *cs == '\t')) cs++;
            if (cs == ce) break; /* whitespace-only line: end of headers, seen next round */
            st_tok_buf_putc(&val, ' ');
            st_tok_buf_put(&val, cs, (size_t)(ce - cs));
            p = ce < end ? ce + 1 : end;
        }
        const char *vs = val.p, *ve = val.p + val.n;
        if (nlen == 12 && has_prefix_ci(name, end, "content-type")) {
            parse_content_type(vs, ve, &h);
        } else if (nlen == 25 && has_prefix_ci(name, end, "content-transfer-encoding")) {
            trim(&vs, &ve);
            if (has_prefix_ci(vs, ve, "quoted-printable")) h.cte = CTE_QP;
            else if (has_prefix_ci(vs, ve, "base64")) h.cte = CTE_BASE64;
        } else if (top && nlen == 7 && has_prefix_ci(name, end, "subject")) {
            trim(&vs, &ve);
            decode_header_value(vs, ve, out);
            st_tok_buf_putc(out, '\n');
        }
    }
    free(val.p);
    if (p >= end) return;

    if (strncmp(h.type, "multipart/", 10) == 0 && h.boundary[0] && depth < MAIL_MAX_DEPTH) {
        if (mail_multipart(p, end, h.boundary, depth, out)) return;
        h.type[0] = 0; /* no delimiter: read the body as plain text */
    }
    if (strcmp(h.type, "message/rfc822") == 0 && depth < MAIL_MAX_DEPTH) {
        st_tok_mail_entity(p, end, 1, depth + 1, out);
        return;
    }
    if (h.type[0] && strncmp(h.type, "text/", 5) != 0) return; /* images, attachments, ... */
    int html = strcmp(h.type, "text/html") == 0;
    buf dec = {0};
    const char *bs = p, *be = end;
    if (h.cte != CTE_IDENTITY) {
        if (h.cte == CTE_BASE64)
            decode_base64_body(p, end, &dec);
        else
            decode_qp(p, end, &dec, 0);
        bs = dec.p ? dec.p : p;
        be = dec.p ? dec.p + dec.n : p;
    }
    if (html)
        strip_html(bs, be, out);
    else
        st_tok_buf_put(out, bs, (size_t)(be - bs));
    st_tok_buf_putc(out, '\n');
    free(dec.p);
}

/* Mail line breaks: CRLF -> LF, and a lone CR -> LF, in place; returns the new length. */
size_t st_tok_crlf_to_lf(char *p, size_t n) {
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n') continue;
        p[k++] = p[j] == '\r' ? '\n' : p[j];
    }
    return k;
}
