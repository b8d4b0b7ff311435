/*
 * seqtrain-tokenize - turns a text corpus into a seqtrain token dataset (data.h schema), with the
 * semantics of Keras' Tokenizer + pad_sequences.
 *
 * Input kind: one directory (or several) per class, one document per file; with --mail each file
 * is an RFC 822 message (SpamAssassin, mbox-style "From " first line allowed). Classes get ids in
 * the order of the --class flags.
 *
 * What happens, in order:
 *   1. List the files of every class (names sorted, hidden files skipped, --suffix filter).
 *   2. Split each class with a seeded shuffle (st_rng) into test / valid / train (stratified), then
 *      shuffle each split as a whole, so /train is not ordered by class (Keras' validation_split
 *      takes the LAST fraction of the training rows).
 *   3. One pass over the documents, train first in /train order: text -> (mail decoding) ->
 *      ASCII lower -> filter bytes become the split char -> words; every word is interned in a
 *      hash table and counted if the document is in /train. Documents are kept as internal ids.
 *   4. The Keras vocabulary: train words sorted by count, descending, ties in first-seen order
 *      (Python's stable sort of the OrderedDict Tokenizer.word_counts), ids from 1; with an OOV
 *      token the OOV token is id 1 and words start at 2.
 *   5. Encoding (texts_to_sequences): ids >= num_words are dropped, or become the OOV id when there
 *      is one; words never seen in train likewise. Then pad_sequences (pre/post, value 0).
 *   6. st_dataset_write: /train, /test, /valid (x int32 (N, maxlen), y int32 (N)), attributes
 *      num_classes and vocab_size (= num_words when given, else len(word_index) + 1). The
 *      vocabulary goes to OUT.vocab.txt (line k = word of id k) and class names to
 *      OUT.classes.txt (line k+1 = class k), because only src/io may write HDF5.
 *
 * Text is handled as bytes: invalid UTF-8 is carried through untouched, only ASCII letters are
 * lowercased (Python's str.lower() also lowercases non-ASCII letters; for the English corpora
 * this tool targets that changes nothing of note). The split char is one byte.
 *
 * What it does not do: character-level tokenization, charset conversion (bytes are bytes),
 * Keras' behaviour when the OOV token itself occurs as a word in the texts (here such a word
 * simply gets the OOV id).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "seqtrain/rng.h"

#define PROG "seqtrain-tokenize"
#define KERAS_FILTERS "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n"
#define MAIL_MAX_DEPTH 8

/* ---------------------------------------------------------------- small helpers */

static void die(const char *fmt, ...) ST_PRINTF(1, 2) ST_NORETURN;
static void die(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xrealloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) die("out of memory (%zu bytes)", bytes);
    return q;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A growable byte buffer. */
typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void buf_reserve(buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra) cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}
static void buf_put(buf *b, const void *s, size_t n) {
    buf_reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void buf_putc(buf *b, char c) {
    buf_reserve(b, 1);
    b->p[b->n++] = c;
}

static int lower_ascii(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Case-insensitive prefix test on a byte range. */
static int has_prefix_ci(const char *p, const char *end, const char *pre) {
    for (; *pre; p++, pre++)
        if (p >= end || lower_ascii((unsigned char)*p) != lower_ascii((unsigned char)*pre)) return 0;
    return 1;
}

/* Reads a whole file into b (b->n = size). Returns 0, or -1 with errno set. */
static int read_file(const char *path, buf *b) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) goto fail;
    b->n = 0;
    buf_reserve(b, (size_t)st.st_size + 1);
    for (;;) {
        buf_reserve(b, 65536);
        ssize_t r = read(fd, b->p + b->n, b->cap - b->n);
        if (r < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        if (r == 0) break;
        b->n += (size_t)r;
    }
    close(fd);
    return 0;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* ---------------------------------------------------------------- mail decoding */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

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
            buf_putc(out, (char)((acc >> bits) & 0xff));
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
    buf_putc(out, '\n');
    buf_put(out, line, (size_t)(end - line));
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
                    buf_putc(out, (char)(h * 16 + l));
                    p += 3;
                    continue;
                }
            }
            buf_putc(out, c);
            p++;
            continue;
        }
        buf_putc(out, (q && c == '_') ? ' ' : c);
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
        buf_putc(out, *p++);
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
            buf_putc(out, ' ');
            continue;
        }
        if (*p == '&') {
            size_t k;
            for (k = 0; k < sizeof ent / sizeof ent[0]; k++)
                if (has_prefix_ci(p + 1, end, ent[k].name)) break;
            if (k < sizeof ent / sizeof ent[0]) {
                buf_put(out, ent[k].text, strlen(ent[k].text));
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
                        buf_putc(out, ' ');
                    else if (v < 0x80)
                        buf_putc(out, (char)v);
                    else if (v < 0x800) {
                        buf_putc(out, (char)(0xc0 | (v >> 6)));
                        buf_putc(out, (char)(0x80 | (v & 0x3f)));
                    } else if (v < 0x10000) {
                        buf_putc(out, (char)(0xe0 | (v >> 12)));
                        buf_putc(out, (char)(0x80 | ((v >> 6) & 0x3f)));
                        buf_putc(out, (char)(0x80 | (v & 0x3f)));
                    } else {
                        buf_putc(out, (char)(0xf0 | (v >> 18)));
                        buf_putc(out, (char)(0x80 | ((v >> 12) & 0x3f)));
                        buf_putc(out, (char)(0x80 | ((v >> 6) & 0x3f)));
                        buf_putc(out, (char)(0x80 | (v & 0x3f)));
                    }
                    p = s + 1;
                    continue;
                }
            }
        }
        buf_putc(out, *p++);
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

static void mail_entity(const char *p, const char *end, int top, int depth, buf *out);

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
            if (part) mail_entity(part, p > part ? p - 1 : p, 0, depth + 1, out);
            const char *after = p + 2 + blen;
            if (le - after >= 2 && after[0] == '-' && after[1] == '-')
                return 1; /* close delimiter: the epilogue is dropped */
            part = le < end ? le + 1 : end;
        }
        p = le < end ? le + 1 : end;
    }
    if (part) mail_entity(part, end, 0, depth + 1, out); /* unterminated last part */
    return found;
}

/* Appends the text of one MIME entity [p, end) to out. top: a message's own headers, whose
 * Subject is kept as text; all other header fields are dropped. Non-text parts are skipped. */
static void mail_entity(const char *p, const char *end, int top, int depth, buf *out) {
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
        buf_put(&val, colon + 1, (size_t)(le - colon - 1));
        p = le < end ? le + 1 : end;
        while (p < end && (*p == ' ' || *p == '\t')) {
            const char *ce = line_end(p, end);
            const char *cs = p;
            while (cs < ce && (*cs == ' ' || *cs == '\t')) cs++;
            if (cs == ce) break; /* whitespace-only line: end of headers, seen next round */
            buf_putc(&val, ' ');
            buf_put(&val, cs, (size_t)(ce - cs));
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
            buf_putc(out, '\n');
        }
    }
    free(val.p);
    if (p >= end) return;

    if (strncmp(h.type, "multipart/", 10) == 0 && h.boundary[0] && depth < MAIL_MAX_DEPTH) {
        if (mail_multipart(p, end, h.boundary, depth, out)) return;
        h.type[0] = 0; /* no delimiter: read the body as plain text */
    }
    if (strcmp(h.type, "message/rfc822") == 0 && depth < MAIL_MAX_DEPTH) {
        mail_entity(p, end, 1, depth + 1, out);
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
        buf_put(out, bs, (size_t)(be - bs));
    buf_putc(out, '\n');
    free(dec.p);
}

/* ---------------------------------------------------------------- word table */

/* Every distinct word, interned: internal id = order of first appearance (train documents are
 * processed first, so among train words this is Keras' first-seen order). */
typedef struct words {
    buf chars;       /* all word bytes, back to back */
    size_t *off;     /* (n) start of word i in chars */
    uint32_t *len;   /* (n) */
    uint32_t *hash;  /* (n) */
    uint64_t *count; /* (n) occurrences in train documents */
    uint32_t n, cap;
    uint32_t *slot;  /* (nslot) id + 1, 0 = empty; open addressing, linear probing */
    uint32_t nslot;  /* power of two */
} words;

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void words_rehash(words *w, uint32_t nslot) {
    free(w->slot);
    w->slot = xrealloc(NULL, sizeof *w->slot * nslot);
    memset(w->slot, 0, sizeof *w->slot * nslot);
    w->nslot = nslot;
    for (uint32_t i = 0; i < w->n; i++) {
        uint32_t s = w->hash[i] & (nslot - 1);
        while (w->slot[s]) s = (s + 1) & (nslot - 1);
        w->slot[s] = i + 1;
    }
}

static uint32_t words_intern(words *w, const char *s, size_t n) {
    uint32_t h = hash_bytes(s, n);
    uint32_t i = h & (w->nslot - 1);
    for (; w->slot[i]; i = (i + 1) & (w->nslot - 1)) {
        uint32_t id = w->slot[i] - 1;
        if (w->hash[id] == h && w->len[id] == n && memcmp(w->chars.p + w->off[id], s, n) == 0)
            return id;
    }
    if (w->n == UINT32_MAX - 1) die("more than 4 billion distinct words");
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 65536;
        w->off = xrealloc(w->off, sizeof *w->off * w->cap);
        w->len = xrealloc(w->len, sizeof *w->len * w->cap);
        w->hash = xrealloc(w->hash, sizeof *w->hash * w->cap);
        w->count = xrealloc(w->count, sizeof *w->count * w->cap);
    }
    uint32_t id = w->n++;
    w->off[id] = w->chars.n;
    w->len[id] = (uint32_t)n;
    w->hash[id] = h;
    w->count[id] = 0;
    buf_put(&w->chars, s, n);
    w->slot[i] = id + 1;
    if ((uint64_t)w->n * 2 > w->nslot) words_rehash(w, w->nslot * 2);
    return id;
}

/* ---------------------------------------------------------------- options */

typedef struct tclass {
    char *name;
    char **dirs;
    int ndirs;
} tclass;

typedef struct opts {
    tclass *cls;
    int ncls;
    int mail;
    const char *suffix;
    long num_words; /* 0 = no limit */
    const char *oov;
    long maxlen; /* 0 = the longest document */
    int pad_post, trunc_post;
    int lower;
    unsigned char is_sep[256];
    unsigned char split;
    double test_frac, valid_frac;
    uint64_t seed;
    const char *out;
    const char *manifest;
    int show;
} opts;

static void usage(FILE *f) {
    fprintf(f,
        "usage: " PROG " --class NAME=DIR[,DIR...] [--class NAME=DIR...]... --out FILE.h5 [options]\n"
        "       " PROG " [--mail] --show-text FILE...\n"
        "\n"
        "Tokenizes a corpus with one directory (or several) per class, one document per file,\n"
        "with Keras Tokenizer + pad_sequences semantics, and writes a seqtrain dataset.\n"
        "Class ids follow the order of the --class flags.\n"
        "\n"
        "  --class NAME=DIRS   a class and its directories (comma-separated)\n"
        "  --mail              files are RFC 822 mails: headers dropped except Subject,\n"
        "                      MIME base64/quoted-printable text parts decoded, HTML stripped,\n"
        "                      non-text parts skipped\n"
        "  --suffix SUF        only read files whose name ends with SUF (e.g. .txt)\n"
        "  --num-words N       keep ids < N (Keras num_words); 0 = all (default 0)\n"
        "  --oov-token TOK     out-of-vocabulary token, id 1 (default: none, unknown words dropped)\n"
        "  --maxlen N          row length; 0 = the longest document (default 0)\n"
        "  --padding pre|post      where zeros go (default pre)\n"
        "  --truncating pre|post   which end of long documents is cut (default pre)\n"
        "  --lower / --no-lower    lowercase ASCII letters first (default --lower)\n"
        "  --filters STR       bytes replaced by the split char; \\t \\n \\r \\\\ escapes\n"
        "                      (default: Keras' !\"#$%%&()*+,-./:;<=>?@[\\]^_`{|}~ tab newline)\n"
        "  --split C           the split char (default space)\n"
        "  --test-fraction F   share of each class in /test (default 0.2)\n"
        "  --valid-fraction F  share of each class in /valid (default 0: no /valid)\n"
        "  --seed S            split seed (default 42)\n"
        "  --out FILE          the dataset; also writes FILE.vocab.txt (line k: word of id k)\n"
        "                      and FILE.classes.txt (line k: class k-1)\n"
        "  --manifest FILE     also write FILE: one line per row, \"split row class path\"\n"
        "  --show-text FILE... print the text the tokenizer sees in each FILE (after --mail\n"
        "                      decoding; with several files, each text ends with a NUL byte)\n"
        "                      and exit\n"
        "  -h, --help          this text\n"
        "\n"
        "The vocabulary is built on /train only: words by count, ties in first-seen order,\n"
        "ids from 1 (2 with an OOV token); vocab_size = num_words if given, else words + 1.\n"
        "Text is bytes: invalid UTF-8 passes through, only ASCII letters are lowercased.\n");
}

static void usage_error(const char *fmt, ...) ST_PRINTF(1, 2) ST_NORETURN;
static void usage_error(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    exit(2);
}

static long parse_long(const char *flag, const char *s, long lo, long hi) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < lo || v > hi)
        usage_error("%s %s: expected an integer in [%ld, %ld]", flag, s, lo, hi);
    return v;
}

static double parse_frac(const char *flag, const char *s) {
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || *e || !(v >= 0.0 && v < 1.0))
        usage_error("%s %s: expected a fraction in [0, 1)", flag, s);
    return v;
}

static void add_class(opts *o, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) usage_error("--class %s: expected NAME=DIR[,DIR...]", arg);
    tclass c = {0};
    c.name = xrealloc(NULL, (size_t)(eq - arg) + 1);
    memcpy(c.name, arg, (size_t)(eq - arg));
    c.name[eq - arg] = 0;
    for (int k = 0; k < o->ncls; k++)
        if (strcmp(o->cls[k].name, c.name) == 0) usage_error("--class %s: class named twice", c.name);
    if (strchr(c.name, '\n')) usage_error("--class: a class name cannot hold a newline");
    char *dirs = xstrdup(eq + 1), *save = NULL;
    for (char *d = strtok_r(dirs, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        c.dirs = xrealloc(c.dirs, sizeof *c.dirs * (size_t)(c.ndirs + 1));
        c.dirs[c.ndirs++] = xstrdup(d);
    }
    free(dirs);
    if (c.ndirs == 0) usage_error("--class %s: no directory", arg);
    o->cls = xrealloc(o->cls, sizeof *o->cls * (size_t)(o->ncls + 1));
    o->cls[o->ncls++] = c;
}

static void set_filters(opts *o, const char *s) {
    memset(o->is_sep, 0, sizeof o->is_sep);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' && s[1]) {
            s++;
            switch (*s) {
            case 't': c = '\t'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case '\\': c = '\\'; break;
            default: /* not an escape: both bytes are filters */
                o->is_sep['\\'] = 1;
                c = (unsigned char)*s;
            }
        }
        o->is_sep[c] = 1;
    }
}

static void parse_args(opts *o, int argc, char **argv) {
    enum {
        OPT_CLASS = 1000, OPT_MAIL, OPT_SUFFIX, OPT_NUMW, OPT_OOV, OPT_MAXLEN, OPT_PAD, OPT_TRUNC, OPT_LOWER,
        OPT_NOLOWER, OPT_FILTERS, OPT_SPLIT, OPT_TEST, OPT_VALID, OPT_SEED, OPT_OUT, OPT_MANIFEST, OPT_SHOW
    };
    static const struct option lo[] = {
        {"class", required_argument, 0, OPT_CLASS},     {"mail", no_argument, 0, OPT_MAIL},
        {"suffix", required_argument, 0, OPT_SUFFIX},   {"num-words", required_argument, 0, OPT_NUMW},
        {"oov-token", required_argument, 0, OPT_OOV},   {"maxlen", required_argument, 0, OPT_MAXLEN},
        {"padding", required_argument, 0, OPT_PAD},     {"truncating", required_argument, 0, OPT_TRUNC},
        {"lower", no_argument, 0, OPT_LOWER},           {"no-lower", no_argument, 0, OPT_NOLOWER},
        {"filters", required_argument, 0, OPT_FILTERS}, {"split", required_argument, 0, OPT_SPLIT},
        {"test-fraction", required_argument, 0, OPT_TEST},
        {"valid-fraction", required_argument, 0, OPT_VALID},
        {"seed", required_argument, 0, OPT_SEED},       {"out", required_argument, 0, OPT_OUT},
        {"manifest", required_argument, 0, OPT_MANIFEST},
        {"show-text", no_argument, 0, OPT_SHOW},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->lower = 1;
    o->split = ' ';
    o->test_frac = 0.2;
    o->seed = 42;
    const char *filters = KERAS_FILTERS;
    int c, filters_escaped = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_CLASS: add_class(o, optarg); break;
        case OPT_MAIL: o->mail = 1; break;
        case OPT_SUFFIX: o->suffix = optarg; break;
        case OPT_NUMW: o->num_words = parse_long("--num-words", optarg, 0, INT32_MAX); break;
        case OPT_OOV:
            if (!*optarg) usage_error("--oov-token: empty token");
            o->oov = optarg;
            break;
        case OPT_MAXLEN: o->maxlen = parse_long("--maxlen", optarg, 0, 1L << 24); break;
        case OPT_PAD:
        case OPT_TRUNC: {
            int post = strcmp(optarg, "post") == 0;
            if (!post && strcmp(optarg, "pre") != 0)
                usage_error("%s %s: expected pre or post", c == OPT_PAD ? "--padding" : "--truncating",
                            optarg);
            if (c == OPT_PAD) o->pad_post = post;
            else o->trunc_post = post;
            break;
        }
        case OPT_LOWER: o->lower = 1; break;
        case OPT_NOLOWER: o->lower = 0; break;
        case OPT_FILTERS: filters = optarg; filters_escaped = 1; break;
        case OPT_SPLIT:
            if (strlen(optarg) != 1) usage_error("--split '%s': expected one byte", optarg);
            o->split = (unsigned char)optarg[0];
            break;
        case OPT_TEST: o->test_frac = parse_frac("--test-fraction", optarg); break;
        case OPT_VALID: o->valid_frac = parse_frac("--valid-fraction", optarg); break;
        case OPT_SEED: {
            char *e;
            errno = 0;
            unsigned long long v = strtoull(optarg, &e, 10);
            if (errno || e == optarg || *e || optarg[0] == '-')
                usage_error("--seed %s: expected a non-negative integer", optarg);
            o->seed = v;
            break;
        }
        case OPT_OUT: o->out = optarg; break;
        case OPT_MANIFEST: o->manifest = optarg; break;
        case OPT_SHOW: o->show = 1; break;
        case 'h': usage(stdout); exit(0);
        default:
            usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (o->show) {
        if (optind == argc) usage_error("--show-text: no file given");
        return;
    }
    if (optind < argc) usage_error("unexpected argument '%s'", argv[optind]);
    if (o->ncls < 1) usage_error("no --class given");
    if (!o->out) usage_error("no --out given");
    if (o->test_frac + o->valid_frac >= 1.0)
        usage_error("--test-fraction + --valid-fraction = %g leaves no training data",
                    o->test_frac + o->valid_frac);
    if (filters_escaped)
        set_filters(o, filters);
    else { /* the built-in default is already raw bytes */
        memset(o->is_sep, 0, sizeof o->is_sep);
        for (const char *s = filters; *s; s++) o->is_sep[(unsigned char)*s] = 1;
    }
    o->is_sep[o->split] = 1;
}

/* ---------------------------------------------------------------- documents and split */

typedef struct doc {
    char *path;
    int cls;
    int split;       /* 0 train, 1 valid, 2 test */
    size_t tok_off;  /* into the token store, set when read */
    uint32_t ntok;   /* words in the document */
} doc;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the files of dir (sorted by name) to docs. */
static void list_dir(const opts *o, const char *dir, int cls, doc **docs, size_t *ndocs,
                     size_t *cap) {
    DIR *d = opendir(dir);
    if (!d) die("cannot open directory '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, ncap = 0, slen = o->suffix ? strlen(o->suffix) : 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(e->d_name);
        if (o->suffix && (len < slen || strcmp(e->d_name + len - slen, o->suffix) != 0)) continue;
        if (n == ncap) {
            ncap = ncap ? ncap * 2 : 1024;
            names = xrealloc(names, sizeof *names * ncap);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    size_t dlen = strlen(dir);
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(names[i]);
        char *path = xrealloc(NULL, dlen + nlen + 2);
        memcpy(path, dir, dlen);
        path[dlen] = '/';
        memcpy(path + dlen + 1, names[i], nlen + 1);
        free(names[i]);
        struct stat st;
        if (stat(path, &st) != 0) die("cannot stat '%s': %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode)) { /* subdirectories, sockets, ... */
            free(path);
            continue;
        }
        if (*ndocs == *cap) {
            *cap = *cap ? *cap * 2 : 4096;
            *docs = xrealloc(*docs, sizeof **docs * *cap);
        }
        doc dc = {path, cls, 0, 0, 0};
        (*docs)[(*ndocs)++] = dc;
    }
    free(names);
}

static void shuffle(size_t *a, size_t n, uint64_t seed, uint64_t stream) {
    st_rng r = st_rng_make(seed, stream);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)st_rng_below(&r, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Rows of each class for a split: round half up of fraction * n. */
static size_t share(double frac, size_t n) { return (size_t)floor(frac * (double)n + 0.5); }

/* ---------------------------------------------------------------- tokenizing */

typedef struct tokstore {
    uint32_t *t;
    size_t n, cap;
} tokstore;

/* Keras text_to_word_sequence on bytes: (lower) -> filters to split char -> split, dropping
 * empty strings; each word interned, counted if count. */
static uint32_t tokenize(const opts *o, const char *s, size_t n, words *w, tokstore *ts, int count,
                         buf *scratch) {
    uint32_t ntok = 0;
    size_t i = 0;
    while (i < n) {
        /* skip separators */
        while (i < n) {
            int c = (unsigned char)s[i];
            if (o->lower) c = lower_ascii(c);
            if (!o->is_sep[c]) break;
            i++;
        }
        if (i >= n) break;
        scratch->n = 0;
        while (i < n) {
            int c = (unsigned char)s[i];
            if (o->lower) c = lower_ascii(c);
            if (o->is_sep[c]) break;
            buf_putc(scratch, (char)c);
            i++;
        }
        uint32_t id = words_intern(w, scratch->p, scratch->n);
        if (count) w->count[id]++;
        if (ts->n == ts->cap) {
            ts->cap = ts->cap ? ts->cap * 2 : (1u << 20);
            ts->t = xrealloc(ts->t, sizeof *ts->t * ts->cap);
        }
        ts->t[ts->n++] = id;
        ntok++;
    }
    return ntok;
}

/* Ranking of train words: count descending, then first-seen (internal id) ascending. */
static const uint64_t *g_count;
static int cmp_rank(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (g_count[x] != g_count[y]) return g_count[x] > g_count[y] ? -1 : 1;
    return x < y ? -1 : (x > y);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : (x > y);
}

/* Nearest-rank percentile of sorted v (n > 0). */
static uint32_t percentile(const uint32_t *v, size_t n, double p) {
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

/* Writes text atomically: PATH.tmp, then rename. */
static FILE *open_tmp(const char *path, char *tmp, size_t tmpsz) {
    snprintf(tmp, tmpsz, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) die("cannot write '%s': %s", tmp, strerror(errno));
    return f;
}
static void close_tmp(FILE *f, const char *tmp, const char *path) {
    if (ferror(f) | fclose(f)) die("cannot write '%s': %s", tmp, strerror(errno));
    if (rename(tmp, path) != 0) die("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
}

/* One vocabulary word, escaped so that the file stays one word per line. */
static void put_word(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\\') fputs("\\\\", f);
        else fputc(c, f);
    }
    fputc('\n', f);
}

/* Mail line breaks: CRLF -> LF, and a lone CR -> LF, in place; returns the new length. */
static size_t crlf_to_lf(char *p, size_t n) {
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n') continue;
        p[k++] = p[j] == '\r' ? '\n' : p[j];
    }
    return k;
}

/* The text of a document read into file: the bytes themselves, or with --mail the message's
 * decoded text (in text). */
static const char *doc_text(const opts *o, buf *file, buf *text, size_t *n) {
    if (!o->mail) {
        *n = file->n;
        return file->p ? file->p : "";
    }
    file->n = crlf_to_lf(file->p, file->n);
    text->n = 0;
    mail_entity(file->p, file->p + file->n, 1, 0, text);
    text->n = crlf_to_lf(text->p, text->n); /* decoded parts may bring their own CRLFs */
    *n = text->n;
    return text->p ? text->p : "";
}

int main(int argc, char **argv) {
    opts o;
    parse_args(&o, argc, argv);
    double t0 = now();
    if (o.show) {
        buf file = {0}, text = {0};
        for (int i = optind; i < argc; i++) {
            size_t n;
            if (read_file(argv[i], &file) != 0) die("cannot read '%s': %s", argv[i], strerror(errno));
            const char *p = doc_text(&o, &file, &text, &n);
            fwrite(p, 1, n, stdout);
            if (argc - optind > 1) fputc(0, stdout);
        }
        free(file.p);
        free(text.p);
        return fflush(stdout) == 0 ? 0 : 1;
    }

    /* 1. files */
    doc *docs = NULL;
    size_t ndocs = 0, dcap = 0;
    size_t *cls_first = xrealloc(NULL, sizeof *cls_first * (size_t)(o.ncls + 1));
    for (int c = 0; c < o.ncls; c++) {
        cls_first[c] = ndocs;
        for (int k = 0; k < o.cls[c].ndirs; k++) list_dir(&o, o.cls[c].dirs[k], c, &docs, &ndocs, &dcap);
        if (ndocs == cls_first[c])
            die("class '%s': no files in %s%s%s", o.cls[c].name, o.cls[c].dirs[0],
                o.cls[c].ndirs > 1 ? ",..." : "", o.suffix ? " with that --suffix" : "");
    }
    cls_first[o.ncls] = ndocs;

    /* 2. stratified split, then each split shuffled as a whole */
    size_t *order[3], nsplit[3] = {0, 0, 0};
    for (int s = 0; s < 3; s++) order[s] = xrealloc(NULL, sizeof(size_t) * (ndocs + 1));
    size_t (*per_cls)[3] = xrealloc(NULL, sizeof *per_cls * (size_t)o.ncls);
    for (int c = 0; c < o.ncls; c++) {
        size_t n = cls_first[c + 1] - cls_first[c];
        size_t *idx = xrealloc(NULL, sizeof *idx * n);
        for (size_t i = 0; i < n; i++) idx[i] = cls_first[c] + i;
        shuffle(idx, n, o.seed, 0x5350u + (uint64_t)c); /* stream per class */
        size_t ntest = share(o.test_frac, n), nvalid = share(o.valid_frac, n);
        if (ntest + nvalid >= n) die("class '%s' has %zu documents: too few to split", o.cls[c].name, n);
        for (size_t i = 0; i < n; i++) {
            int s = i < ntest ? 2 : i < ntest + nvalid ? 1 : 0;
            docs[idx[i]].split = s;
            order[s][nsplit[s]++] = idx[i];
        }
        per_cls[c][0] = n - ntest - nvalid;
        per_cls[c][1] = nvalid;
        per_cls[c][2] = ntest;
        free(idx);
    }
    for (int s = 0; s < 3; s++) shuffle(order[s], nsplit[s], o.seed, 0x53504c00u + (uint64_t)s);

    /* 3. read and tokenize, train first (the vocabulary's first-seen order is /train's order) */
    words w = {0};
    words_rehash(&w, 1u << 17);
    tokstore ts = {0};
    buf file = {0}, text = {0}, scratch = {0};
    size_t bytes = 0;
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < nsplit[s]; i++) {
            doc *d = &docs[order[s][i]];
            if (read_file(d->path, &file) != 0) die("cannot read '%s': %s", d->path, strerror(errno));
            bytes += file.n;
            size_t n;
            const char *p = doc_text(&o, &file, &text, &n);
            d->tok_off = ts.n;
            d->ntok = tokenize(&o, p, n, &w, &ts, s == 0, &scratch);
        }
    }
    double t_read = now() - t0;

    /* 4. the Keras vocabulary of /train */
    uint32_t oov_word = UINT32_MAX; /* the OOV token, if it occurs as a word */
    if (o.oov) {
        for (uint32_t id = 0; id < w.n; id++)
            if (w.len[id] == strlen(o.oov) && memcmp(w.chars.p + w.off[id], o.oov, w.len[id]) == 0)
                oov_word = id;
    }
    uint32_t *rank = xrealloc(NULL, sizeof *rank * (w.n + 1));
    uint32_t nvocab = 0;
    for (uint32_t id = 0; id < w.n; id++)
        if (w.count[id] > 0 && id != oov_word) rank[nvocab++] = id;
    g_count = w.count;
    qsort(rank, nvocab, sizeof *rank, cmp_rank);
    const uint32_t base = o.oov ? 2 : 1;
    const uint64_t index_size = (uint64_t)nvocab + (o.oov ? 1 : 0); /* len(word_index) */
    const uint64_t vocab_size = o.num_words ? (uint64_t)o.num_words : index_size + 1;
    if (vocab_size > INT32_MAX) die("vocabulary of %llu words is too large", (unsigned long long)vocab_size);
    /* texts_to_sequences as a table: internal id -> dataset id, 0 = dropped */
    int32_t *map = xrealloc(NULL, sizeof *map * (w.n + 1));
    const int32_t unknown = o.oov ? 1 : 0;
    for (uint32_t id = 0; id < w.n; id++) map[id] = unknown;
    for (uint32_t r = 0; r < nvocab; r++) {
        uint64_t k = (uint64_t)r + base;
        map[rank[r]] = (o.num_words && k >= (uint64_t)o.num_words) ? unknown : (int32_t)k;
    }
    uint64_t train_tokens = 0, train_kept = 0, all_tokens = 0;
    for (size_t i = 0; i < nsplit[0]; i++) {
        const doc *d = &docs[order[0][i]];
        for (uint32_t j = 0; j < d->ntok; j++) {
            train_kept += map[ts.t[d->tok_off + j]] >= (int32_t)base; /* not OOV, not dropped */
        }
        train_tokens += d->ntok;
    }

    /* 5. lengths after texts_to_sequences, then pad_sequences */
    uint32_t *len = xrealloc(NULL, sizeof *len * (ndocs + 1));
    uint32_t maxseen = 0;
    for (size_t i = 0; i < ndocs; i++) {
        uint32_t l = 0;
        for (uint32_t j = 0; j < docs[i].ntok; j++) l += map[ts.t[docs[i].tok_off + j]] != 0;
        len[i] = l;
        if (l > maxseen) maxseen = l;
        all_tokens += docs[i].ntok;
    }
    size_t maxlen = o.maxlen ? (size_t)o.maxlen : (maxseen ? maxseen : 1);
    int32_t *x[3], *y[3], *seq = xrealloc(NULL, sizeof *seq * (maxseen + 1));
    size_t ntrunc = 0, nempty = 0;
    for (int s = 0; s < 3; s++) {
        x[s] = calloc(nsplit[s] * maxlen + 1, sizeof *x[s]);
        y[s] = xrealloc(NULL, sizeof *y[s] * (nsplit[s] + 1));
        if (!x[s]) die("out of memory (%zu x %zu ids)", nsplit[s], maxlen);
        for (size_t i = 0; i < nsplit[s]; i++) {
            size_t di = order[s][i];
            const doc *d = &docs[di];
            size_t l = 0;
            for (uint32_t j = 0; j < d->ntok; j++) {
                int32_t m = map[ts.t[d->tok_off + j]];
                if (m) seq[l++] = m;
            }
            size_t from = 0, keep = l;
            if (l > maxlen) {
                ntrunc++;
                keep = maxlen;
                from = o.trunc_post ? 0 : l - maxlen; /* 'pre' cuts the beginning */
            }
            if (l == 0) nempty++;
            int32_t *row = x[s] + i * maxlen + (o.pad_post ? 0 : maxlen - keep);
            memcpy(row, seq + from, keep * sizeof *seq);
            y[s][i] = d->cls;
        }
    }

    /* 6. write */
    static const char *split_name[3] = {"train", "valid", "test"};
    st_split_data sd[3];
    int nsd = 0;
    for (int s = 0; s < 3; s++) {
        if (s > 0 && nsplit[s] == 0) continue;
        st_split_data v = {split_name[s], nsplit[s], (int)maxlen, 1, x[s], NULL, y[s], 0};
        sd[nsd++] = v;
    }
    if (st_dataset_write(o.out, o.ncls, (int)vocab_size, sd, nsd) != ST_OK)
        die("cannot write '%s': %s", o.out, st_error_get());
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s.vocab.txt", o.out);
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    uint64_t nlines = 0;
    if (o.oov && vocab_size > 1) {
        put_word(f, o.oov, strlen(o.oov));
        nlines++;
    }
    for (uint32_t r = 0; r < nvocab && (uint64_t)r + base < vocab_size; r++, nlines++)
        put_word(f, w.chars.p + w.off[rank[r]], w.len[rank[r]]);
    close_tmp(f, tmp, path);
    char cpath[4096];
    snprintf(cpath, sizeof cpath, "%s.classes.txt", o.out);
    f = open_tmp(cpath, tmp, sizeof tmp);
    for (int c = 0; c < o.ncls; c++) fprintf(f, "%s\n", o.cls[c].name);
    close_tmp(f, tmp, cpath);
    if (o.manifest) {
        f = open_tmp(o.manifest, tmp, sizeof tmp);
        for (int s = 0; s < 3; s++)
            for (size_t i = 0; i < nsplit[s]; i++)
                fprintf(f, "%s %zu %d %s\n", split_name[s], i, docs[order[s][i]].cls,
                        docs[order[s][i]].path);
        close_tmp(f, tmp, o.manifest);
    }

    /* 7. summary */
    double t_all = now() - t0;
    uint32_t *sorted = xrealloc(NULL, sizeof *sorted * (ndocs + 1));
    memcpy(sorted, len, sizeof *len * ndocs);
    qsort(sorted, ndocs, sizeof *sorted, cmp_u32);
    printf("%s: %zu documents, %d classes, %.1f MB read in %.2f s (%.2f s in all)\n", o.out, ndocs,
           o.ncls, (double)bytes / 1e6, t_read, t_all);
    for (int c = 0; c < o.ncls; c++)
        printf("  class %d %s: %zu documents (train %zu, valid %zu, test %zu)\n", c, o.cls[c].name,
               cls_first[c + 1] - cls_first[c], per_cls[c][0], per_cls[c][1], per_cls[c][2]);
    printf("  splits: train %zu, valid %zu, test %zu\n", nsplit[0], nsplit[1], nsplit[2]);
    printf("  tokens: %llu in train, %llu in all documents\n", (unsigned long long)train_tokens,
           (unsigned long long)all_tokens);
    printf("  vocabulary: %u distinct train words, word_index %llu, vocab_size %llu%s%s\n", nvocab,
           (unsigned long long)index_size, (unsigned long long)vocab_size, o.oov ? ", oov id 1 " : "",
           o.oov ? o.oov : "");
    printf("  coverage: %.2f%% of train tokens have an id < %llu\n",
           train_tokens ? 100.0 * (double)train_kept / (double)train_tokens : 100.0,
           (unsigned long long)vocab_size);
    printf("  length: p50 %u, p90 %u, p99 %u, max %u ids per document\n", percentile(sorted, ndocs, 50),
           percentile(sorted, ndocs, 90), percentile(sorted, ndocs, 99), sorted[ndocs - 1]);
    printf("  maxlen %zu (padding %s, truncating %s): %zu truncated (%.1f%%), %zu empty\n", maxlen,
           o.pad_post ? "post" : "pre", o.trunc_post ? "post" : "pre", ntrunc,
           100.0 * (double)ntrunc / (double)ndocs, nempty);
    printf("  wrote %s, %s (%llu words), %s\n", o.out, path, (unsigned long long)nlines, cpath);

    for (int s = 0; s < 3; s++) {
        free(x[s]);
        free(y[s]);
        free(order[s]);
    }
    for (size_t i = 0; i < ndocs; i++) free(docs[i].path);
    for (int c = 0; c < o.ncls; c++) {
        for (int k = 0; k < o.cls[c].ndirs; k++) free(o.cls[c].dirs[k]);
        free(o.cls[c].dirs);
        free(o.cls[c].name);
    }
    free(o.cls);
    free(docs);
    free(cls_first);
    free(per_cls);
    free(rank);
    free(map);
    free(len);
    free(seq);
    free(sorted);
    free(ts.t);
    free(file.p);
    free(text.p);
    free(scratch.p);
    free(w.chars.p);
    free(w.off);
    free(w.len);
    free(w.hash);
    free(w.count);
    free(w.slot);
    return 0;
}
