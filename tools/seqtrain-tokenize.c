/*
 * seqtrain-tokenize - turns a text corpus into a seqtrain token dataset (data.h schema), with the
 * semantics of Keras' Tokenizer + pad_sequences.
 *
 * Inputs (one kind per run):
 *   --class NAME=DIRS   one directory (or several) per class, one document per file; with --mail
 *                       each file is an RFC 822 message (SpamAssassin, mbox "From " line allowed)
 *   --csv FILE          one document per record (RFC 4180: quoted fields, doubled quotes,
 *                       line breaks inside quotes, CRLF; --tsv: tab-separated, no quoting); a
 *                       label column and one or more text columns, joined with a space
 *   --text FILE         one text for a language model: windows of --seq-len ids, y = the next
 *                       id at every step (y int32 (N, T))
 * Each kind may bring its own test set (--test-class, --test-csv, --test-text); otherwise /test
 * and /valid are cut from the input with a seed (stratified by class; for --text by position).
 *
 * What happens, in order (documents):
 *   1. List the documents of every class (files: names sorted, hidden files skipped, --suffix
 *      filter; CSV: records in file order), class ids in --class order, in --classes order, or
 *      in order of first appearance of each label value.
 *   2. Split each class with a seeded shuffle (st_rng) into test / valid / train (stratified), then
 *      shuffle each split as a whole, so /train is not ordered by class (Keras' validation_split
 *      takes the LAST fraction of the training rows).
 *   3. One pass over the documents, train first in /train order: text -> (mail decoding) ->
 *      Python's str (see "Text" below) -> (lower) -> filter characters become the split
 *      character -> words (or characters with --level char); every token is interned in a hash
 *      table and counted if the document is in /train. Documents are kept as internal ids.
 *   4. The Keras vocabulary: train words sorted by count, descending, ties in first-seen order
 *      (Python's stable sort of the OrderedDict Tokenizer.word_counts), ids from 1; with an OOV
 *      token the OOV token is id 1 and words start at 2. With --vocab-from, the vocabulary (and
 *      the class list and tokenizer options) of an earlier run instead.
 *   5. Encoding (texts_to_sequences): ids >= num_words are dropped, or become the OOV id when there
 *      is one; words never seen in train likewise. Then pad_sequences (pre/post, value 0).
 *   6. st_dataset_write_ex: /train, /test, /valid (x int32 (N, maxlen), y int32 (N)), attributes
 *      num_classes and vocab_size (= num_words when given, else len(word_index) + 1), /vocab
 *      (id -> word, /vocab[0] = "" for padding), /classes (class id -> name) and the tokenizer
 *      options as string attributes (tokenizer_*), which --vocab-from reads back. The
 *      vocabulary also goes to OUT.vocab.txt (line k = word of id k, \n \r \\ escaped) and the
 *      class names to OUT.classes.txt (line k+1 = class k).
 * With --text, steps 1-2 are replaced by: the whole file is one token stream; its last
 * --test-fraction of tokens is /test, the --valid-fraction before it /valid (cut before
 * windowing, so no window of one split overlaps another), and each part becomes windows of
 * seq_len + 1 ids every --stride ids: x = ids [s, s+T), y = ids [s+1, s+T+1). num_classes =
 * vocab_size.
 *
 * Text. Keras works on Python str; a file's bytes become str by decoding them as UTF-8 with
 * errors="replace": every ill-formed sequence (its maximal subpart: a stray continuation byte,
 * a truncated sequence, an overlong form, a surrogate, a Latin-1 byte) becomes one U+FFFD, as
 * Python does, and so do NUL bytes in files and mails (HDF5 strings cannot hold NUL; CSV and
 * --text input with a NUL byte is refused as binary). Multi-byte characters are never split:
 * tokens, filters, the split character and char-level tokens are whole code points. A UTF-8
 * byte order mark at the start of a CSV or --text file is dropped (Python's utf-8-sig).
 * --lower is Python 3.11's str.lower() (Unicode 14, tables in tokenize_unicode.h): full
 * Unicode simple case mapping, U+0130 -> "i" U+0307, and the Final_Sigma rule for U+03A3.
 * Mail charsets are not converted: a Latin-1 mail's accented letters become U+FFFD.
 *
 * What it does not do: a --split of more than one character, Keras' behaviour when the OOV
 * token itself occurs as a word in the texts (here such a word simply gets the OOV id), and
 * anything beyond Tokenizer + pad_sequences (no TextVectorization standardize/ngrams).
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
#include "tokenize_unicode.h"

#define PROG "seqtrain-tokenize"
#define KERAS_FILTERS "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n"
#define MAIL_MAX_DEPTH 8
/* More distinct CSV labels than this is almost surely a text column given as --label-col. */
#define MAX_CLASSES 10000

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
    if (n == 0) return; /* b->p may still be NULL */
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


static void words_free(words *w) {
    free(w->chars.p);
    free(w->off);
    free(w->len);
    free(w->hash);
    free(w->count);
    free(w->slot);
    memset(w, 0, sizeof *w);
}

/* ---------------------------------------------------------------- UTF-8 and case */

#define REPLACEMENT 0xFFFDu

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
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
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
static size_t utf8_put(char *o, uint32_t c) {
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
static void ascii_case_init(void) {
    for (uint32_t c = 0; c < 128; c++)
        ascii_case[c] = uc_ignorable(c) ? 2 : uc_cased(c) ? 1 : 0;
}

/* Is the U+03A3 just before s[i] final: the last non-ignorable character before it was cased
 * (prev_cased) and the next non-ignorable one after it, if any, is not. */
static int sigma_final(const unsigned char *s, size_t n, size_t i, int prev_cased) {
    if (!prev_cased) return 0;
    while (i < n) {
        uint32_t c;
        i += utf8_next(s + i, n - i, &c);
        if (c == 0) c = REPLACEMENT;
        if (!uc_ignorable(c)) return !uc_cased(c);
    }
    return 1;
}

/* Appends to out the text Keras would see for the bytes in[0..n): decoded as UTF-8 with
 * errors="replace" (NUL -> U+FFFD as well), then str.lower() when lower. out is valid UTF-8
 * without NUL bytes. */
static void normalize(const char *in, size_t n, int lower, buf *out) {
    const unsigned char *s = (const unsigned char *)in;
    int prev_cased = 0; /* Final_Sigma context: the last non-ignorable character was cased */
    size_t i = 0;
    buf_reserve(out, n + 8);
    while (i < n) {
        if (out->n + 8 > out->cap) buf_reserve(out, 8 + (n - i));
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
        i += utf8_next(s + i, n - i, &c);
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
        out->n += utf8_put(out->p + out->n, c);
    }
}

/* Is there a NUL byte in p[0..n)? Dies naming path and its line. */
static void refuse_binary(const char *path, const char *p, size_t n, const char *what) {
    const char *z = memchr(p, 0, n);
    if (!z) return;
    long line = 1;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(z - q))) != NULL; q++) line++;
    die("%s:%ld: NUL byte at offset %zu: binary data, not %s", path, line, (size_t)(z - p), what);
}

/* ---------------------------------------------------------------- options */

enum { MODE_DIRS = 1, MODE_CSV, MODE_TEXT };

typedef struct tclass {
    char *name;
    char **dirs, **tdirs; /* train pool, explicit test (--test-class) */
    int ndirs, ntdirs;
} tclass;

typedef struct opts {
    int mode;
    /* directories */
    tclass *cls;
    int ncls;
    int mail;
    const char *suffix;
    /* CSV */
    const char *csv, *test_csv;
    const char *label_col, *text_cols;
    int header;   /* -1: not said */
    char delim;
    int quote;    /* 1: RFC 4180 quoting */
    char *classes_arg; /* --classes */
    /* text */
    const char *text, *test_text;
    long seq_len, stride;
    /* tokenizer (Keras names) */
    int char_level;
    long num_words; /* 0 = no limit */
    const char *oov;
    char *oov_owned; /* oov when it came from --vocab-from's file */
    int lower;
    char *filters;  /* UTF-8, escapes resolved */
    unsigned char sep_ascii[128]; /* filters + split, ASCII */
    uint32_t *sep_wide;           /* sorted non-ASCII filters + split */
    size_t nsep_wide;
    uint32_t split; /* the split character */
    /* pad_sequences */
    long maxlen; /* 0 = the longest document */
    int pad_post, trunc_post;
    /* splits */
    double test_frac, valid_frac;
    int test_frac_set;
    int shuffle; /* shuffle each split as a whole (else: input order) */
    uint64_t seed;
    /* output */
    const char *out;
    const char *manifest;
    const char *vocab_from;
    const char *tok_flag; /* a tokenizer option given on the command line, for --vocab-from */
    int show;
} opts;

static void usage(FILE *f) {
    fprintf(f,
        "usage: " PROG " --class NAME=DIR[,DIR...]... [--test-class NAME=DIR...]... --out FILE.h5 [options]\n"
        "       " PROG " --csv FILE --label-col COL --text-cols COLS [--test-csv FILE] --out FILE.h5 [options]\n"
        "       " PROG " --text FILE --seq-len T [--stride S] [--level char] --out FILE.h5 [options]\n"
        "       " PROG " [--mail] --show-text FILE...\n"
        "\n"
        "Tokenizes a corpus with Keras Tokenizer + pad_sequences semantics and writes a seqtrain\n"
        "dataset: /train, /test (and /valid), /vocab (id -> word), /classes, OUT.vocab.txt.\n"
        "\n"
        "Directories (one document per file):\n"
        "  --class NAME=DIRS   a class and its directories (comma-separated); ids in flag order\n"
        "  --test-class NAME=DIRS  documents of class NAME for /test (the input's own test set)\n"
        "  --mail              files are RFC 822 mails: headers dropped except Subject,\n"
        "                      MIME base64/quoted-printable text parts decoded, HTML stripped,\n"
        "                      non-text parts skipped\n"
        "  --suffix SUF        only read files whose name ends with SUF (e.g. .txt)\n"
        "CSV (one document per record; RFC 4180 quoting, CRLF or LF):\n"
        "  --csv FILE          the records; --test-csv FILE: the input's own test set\n"
        "  --label-col COL     the label column: a number from 1, or a name (needs --header)\n"
        "  --text-cols COLS    text columns (numbers or names, comma-separated), joined by a space\n"
        "  --header / --no-header  the first record names the columns (default --no-header)\n"
        "  --delimiter C       field separator (default ','; \\t for a tab)\n"
        "  --tsv               tab-separated, no quoting: every line is a record (SMS Spam\n"
        "                      Collection); same as --delimiter '\\t' --no-quote\n"
        "  --no-quote          '\"' is an ordinary character\n"
        "  --classes A,B,...   the label values in class id order (VALUE=NAME renames a class);\n"
        "                      default: the labels in order of first appearance\n"
        "Plain text for a language model (y = the next id at every step, y int32 (N, T)):\n"
        "  --text FILE         the corpus; --test-text FILE: a test corpus of its own\n"
        "  --seq-len T         ids per row\n"
        "  --stride S          ids between the starts of consecutive rows (default T)\n"
        "Tokenizer (Keras' Tokenizer):\n"
        "  --level word|char   words (default) or characters (Keras char_level: no filters)\n"
        "  --num-words N       keep ids < N (Keras num_words); 0 = all (default 0)\n"
        "  --oov-token TOK     out-of-vocabulary token, id 1 (default: none, unknown words dropped)\n"
        "  --lower / --no-lower    Python's str.lower() first (default --lower)\n"
        "  --filters STR       characters replaced by the split char; \\t \\n \\r \\\\ escapes\n"
        "                      (default: Keras' !\"#$%%&()*+,-./:;<=>?@[\\]^_`{|}~ tab newline)\n"
        "  --split C           the split character (default space)\n"
        "  --vocab-from FILE   apply the vocabulary, classes and tokenizer options of an earlier\n"
        "                      dataset (FILE.h5) or of a FILE.vocab.txt (+ FILE.classes.txt)\n"
        "pad_sequences:\n"
        "  --maxlen N          row length; 0 = the longest document (default 0, or --vocab-from's)\n"
        "  --padding pre|post      where zeros go (default pre)\n"
        "  --truncating pre|post   which end of long documents is cut (default pre)\n"
        "Splits and output:\n"
        "  --test-fraction F   share of each class in /test (default 0.2; 0 with a test input;\n"
        "                      1 = everything, with --vocab-from)\n"
        "  --valid-fraction F  share of each class in /valid (default 0: no /valid)\n"
        "  --seed S            split seed (default 42)\n"
        "  --no-shuffle        keep each split in input order (files class by class, CSV\n"
        "                      records in file order): with --test-fraction 0 the vocabulary\n"
        "                      is then exactly Keras' fit_on_texts on the input in its order\n"
        "  --out FILE          the dataset; also writes FILE.vocab.txt (line k: word of id k)\n"
        "                      and FILE.classes.txt (line k: class k-1)\n"
        "  --manifest FILE     also write FILE: one line per row, \"split row class source\"\n"
        "  --show-text FILE... print the text the tokenizer sees in each FILE (after --mail\n"
        "                      decoding; with several files, each text ends with a NUL byte)\n"
        "                      and exit\n"
        "  -h, --help          this text\n"
        "\n"
        "The vocabulary is built on /train only: words by count, ties in first-seen order,\n"
        "ids from 1 (2 with an OOV token); vocab_size = num_words if given, else words + 1.\n"
        "Text is decoded as UTF-8 with errors=\"replace\" (ill-formed bytes become U+FFFD).\n");
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
    if (errno || e == s || *e || !(v >= 0.0 && v <= 1.0))
        usage_error("%s %s: expected a fraction in [0, 1]", flag, s);
    return v;
}

static int find_class(const opts *o, const char *name) {
    for (int k = 0; k < o->ncls; k++)
        if (strcmp(o->cls[k].name, name) == 0) return k;
    return -1;
}

/* --class NAME=DIRS (test = 0) or --test-class NAME=DIRS (test = 1, NAME given by --class). */
static void add_class(opts *o, const char *arg, int test) {
    const char *flag = test ? "--test-class" : "--class";
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) usage_error("%s %s: expected NAME=DIR[,DIR...]", flag, arg);
    char *name = xrealloc(NULL, (size_t)(eq - arg) + 1);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    int k = find_class(o, name);
    if (test && k < 0) usage_error("%s %s: no --class %s before it", flag, arg, name);
    if (!test && k >= 0) usage_error("--class %s: class named twice", name);
    if (strchr(name, '\n')) usage_error("%s: a class name cannot hold a newline", flag);
    if (!test) {
        o->cls = xrealloc(o->cls, sizeof *o->cls * (size_t)(o->ncls + 1));
        memset(&o->cls[o->ncls], 0, sizeof o->cls[0]);
        o->cls[o->ncls].name = name;
        k = o->ncls++;
    } else {
        free(name);
    }
    tclass *c = &o->cls[k];
    char ***dirs = test ? &c->tdirs : &c->dirs;
    int *nd = test ? &c->ntdirs : &c->ndirs, before = *nd;
    char *list = xstrdup(eq + 1), *save = NULL;
    for (char *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        *dirs = xrealloc(*dirs, sizeof **dirs * (size_t)(*nd + 1));
        (*dirs)[(*nd)++] = xstrdup(d);
    }
    free(list);
    if (*nd == before) usage_error("%s %s: no directory", flag, arg);
}

/* Resolves \t \n \r \\ in s (other backslashes stay, with the byte after them). */
static char *unescape(const char *s) {
    char *r = xrealloc(NULL, strlen(s) + 1), *o = r;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            switch (s[1]) {
            case 't': *o++ = '\t'; s++; continue;
            case 'n': *o++ = '\n'; s++; continue;
            case 'r': *o++ = '\r'; s++; continue;
            case '\\': *o++ = '\\'; s++; continue;
            default: break;
            }
        }
        *o++ = *s;
    }
    *o = 0;
    return r;
}

static int cmp_cp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : (x > y);
}

/* The separator set: every character of filters, and the split character. Filters are code
 * points (a non-ASCII filter such as U+00AB is one character, as in Python). */
static void set_separators(opts *o) {
    memset(o->sep_ascii, 0, sizeof o->sep_ascii);
    free(o->sep_wide);
    o->sep_wide = NULL;
    o->nsep_wide = 0;
    buf norm = {0};
    normalize(o->filters, strlen(o->filters), 0, &norm);
    const unsigned char *s = (const unsigned char *)norm.p;
    for (size_t i = 0; i < norm.n;) {
        uint32_t c;
        i += utf8_next(s + i, norm.n - i, &c);
        if (c < 128) {
            o->sep_ascii[c] = 1;
        } else {
            o->sep_wide = xrealloc(o->sep_wide, sizeof *o->sep_wide * (o->nsep_wide + 1));
            o->sep_wide[o->nsep_wide++] = c;
        }
    }
    free(norm.p);
    if (o->split < 128) {
        o->sep_ascii[o->split] = 1;
    } else {
        o->sep_wide = xrealloc(o->sep_wide, sizeof *o->sep_wide * (o->nsep_wide + 1));
        o->sep_wide[o->nsep_wide++] = o->split;
    }
    if (o->nsep_wide > 1) qsort(o->sep_wide, o->nsep_wide, sizeof *o->sep_wide, cmp_cp);
}

/* --split: exactly one character (code point). */
static uint32_t parse_split(const char *arg) {
    char *s = unescape(arg);
    size_t n = strlen(s);
    uint32_t c = 0;
    size_t l = n ? utf8_next((const unsigned char *)s, n, &c) : 0;
    free(s);
    if (n == 0 || l != n || c == REPLACEMENT)
        usage_error("--split '%s': expected one character", arg);
    return c;
}

static void parse_args(opts *o, int argc, char **argv) {
    enum {
        OPT_CLASS = 1000, OPT_TCLASS, OPT_MAIL, OPT_SUFFIX, OPT_NUMW, OPT_OOV, OPT_MAXLEN, OPT_PAD,
        OPT_TRUNC, OPT_LOWER, OPT_NOLOWER, OPT_FILTERS, OPT_SPLIT, OPT_TEST, OPT_VALID, OPT_SEED,
        OPT_OUT, OPT_MANIFEST, OPT_SHOW, OPT_CSV, OPT_TCSV, OPT_LABEL, OPT_TEXTCOLS, OPT_HEADER,
        OPT_NOHEADER, OPT_DELIM, OPT_TSV, OPT_NOQUOTE, OPT_CLASSES, OPT_TEXT, OPT_TTEXT, OPT_SEQLEN,
        OPT_STRIDE, OPT_LEVEL, OPT_VOCABFROM, OPT_NOSHUFFLE
    };
    static const struct option lo[] = {
        {"class", required_argument, 0, OPT_CLASS},     {"test-class", required_argument, 0, OPT_TCLASS},
        {"mail", no_argument, 0, OPT_MAIL},             {"suffix", required_argument, 0, OPT_SUFFIX},
        {"num-words", required_argument, 0, OPT_NUMW},  {"oov-token", required_argument, 0, OPT_OOV},
        {"maxlen", required_argument, 0, OPT_MAXLEN},   {"padding", required_argument, 0, OPT_PAD},
        {"truncating", required_argument, 0, OPT_TRUNC},
        {"lower", no_argument, 0, OPT_LOWER},           {"no-lower", no_argument, 0, OPT_NOLOWER},
        {"filters", required_argument, 0, OPT_FILTERS}, {"split", required_argument, 0, OPT_SPLIT},
        {"test-fraction", required_argument, 0, OPT_TEST},
        {"valid-fraction", required_argument, 0, OPT_VALID},
        {"seed", required_argument, 0, OPT_SEED},       {"out", required_argument, 0, OPT_OUT},
        {"manifest", required_argument, 0, OPT_MANIFEST},
        {"show-text", no_argument, 0, OPT_SHOW},
        {"csv", required_argument, 0, OPT_CSV},         {"test-csv", required_argument, 0, OPT_TCSV},
        {"label-col", required_argument, 0, OPT_LABEL}, {"text-cols", required_argument, 0, OPT_TEXTCOLS},
        {"header", no_argument, 0, OPT_HEADER},         {"no-header", no_argument, 0, OPT_NOHEADER},
        {"delimiter", required_argument, 0, OPT_DELIM}, {"tsv", no_argument, 0, OPT_TSV},
        {"no-quote", no_argument, 0, OPT_NOQUOTE},      {"classes", required_argument, 0, OPT_CLASSES},
        {"text", required_argument, 0, OPT_TEXT},       {"test-text", required_argument, 0, OPT_TTEXT},
        {"seq-len", required_argument, 0, OPT_SEQLEN},  {"stride", required_argument, 0, OPT_STRIDE},
        {"level", required_argument, 0, OPT_LEVEL},     {"vocab-from", required_argument, 0, OPT_VOCABFROM},
        {"no-shuffle", no_argument, 0, OPT_NOSHUFFLE},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->shuffle = 1;
    o->lower = 1;
    o->split = ' ';
    o->test_frac = 0.2;
    o->seed = 42;
    o->header = -1;
    o->delim = ',';
    o->quote = 1;
    o->filters = xstrdup(KERAS_FILTERS);
    int c, pad_set = 0, layout_flag = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        /* Tokenizer options, which --vocab-from takes from its file instead. */
        for (size_t k = 0; lo[k].name; k++)
            if (lo[k].val == c && (c == OPT_NUMW || c == OPT_OOV || c == OPT_LOWER ||
                                   c == OPT_NOLOWER || c == OPT_FILTERS || c == OPT_SPLIT ||
                                   c == OPT_LEVEL))
                o->tok_flag = lo[k].name;
        switch (c) {
        case OPT_CLASS: add_class(o, optarg, 0); break;
        case OPT_TCLASS: add_class(o, optarg, 1); break;
        case OPT_MAIL: o->mail = 1; break;
        case OPT_SUFFIX: o->suffix = optarg; break;
        case OPT_NUMW: o->num_words = parse_long("--num-words", optarg, 0, INT32_MAX); break;
        case OPT_OOV:
            if (!*optarg) usage_error("--oov-token: empty token");
            o->oov = optarg;
            break;
        case OPT_MAXLEN: o->maxlen = parse_long("--maxlen", optarg, 0, 1L << 24); pad_set = 1; break;
        case OPT_PAD:
        case OPT_TRUNC: {
            int post = strcmp(optarg, "post") == 0;
            if (!post && strcmp(optarg, "pre") != 0)
                usage_error("%s %s: expected pre or post", c == OPT_PAD ? "--padding" : "--truncating",
                            optarg);
            if (c == OPT_PAD) o->pad_post = post;
            else o->trunc_post = post;
            pad_set = 1;
            break;
        }
        case OPT_LOWER: o->lower = 1; break;
        case OPT_NOLOWER: o->lower = 0; break;
        case OPT_FILTERS:
            free(o->filters);
            o->filters = unescape(optarg);
            break;
        case OPT_SPLIT: o->split = parse_split(optarg); break;
        case OPT_TEST:
            o->test_frac = parse_frac("--test-fraction", optarg);
            o->test_frac_set = 1;
            break;
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
        case OPT_CSV: o->csv = optarg; break;
        case OPT_TCSV: o->test_csv = optarg; break;
        case OPT_LABEL: o->label_col = optarg; break;
        case OPT_TEXTCOLS: o->text_cols = optarg; break;
        case OPT_HEADER: o->header = 1; break;
        case OPT_NOHEADER: o->header = 0; break;
        case OPT_DELIM: {
            char *d = unescape(optarg);
            if (strlen(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r')
                usage_error("--delimiter '%s': expected one byte other than '\"' and line breaks",
                            optarg);
            o->delim = d[0];
            free(d);
            layout_flag = 1;
            break;
        }
        case OPT_TSV: o->delim = '\t'; o->quote = 0; layout_flag = 1; break;
        case OPT_NOQUOTE: o->quote = 0; layout_flag = 1; break;
        case OPT_CLASSES: o->classes_arg = optarg; break;
        case OPT_TEXT: o->text = optarg; break;
        case OPT_TTEXT: o->test_text = optarg; break;
        case OPT_SEQLEN: o->seq_len = parse_long("--seq-len", optarg, 1, 1L << 24); break;
        case OPT_STRIDE: o->stride = parse_long("--stride", optarg, 1, 1L << 24); break;
        case OPT_LEVEL:
            if (strcmp(optarg, "word") != 0 && strcmp(optarg, "char") != 0)
                usage_error("--level %s: expected word or char", optarg);
            o->char_level = optarg[0] == 'c';
            break;
        case OPT_VOCABFROM: o->vocab_from = optarg; break;
        case OPT_NOSHUFFLE: o->shuffle = 0; break;
        case 'h': usage(stdout); exit(0);
        default:
            usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    ascii_case_init();
    if (o->show) {
        if (optind == argc) usage_error("--show-text: no file given");
        return;
    }
    if (optind < argc) usage_error("unexpected argument '%s'", argv[optind]);
    int kinds = (o->ncls > 0) + (o->csv != NULL) + (o->text != NULL);
    if (kinds != 1)
        usage_error(kinds ? "give one kind of input: --class, --csv or --text"
                          : "no input: give --class, --csv or --text");
    o->mode = o->ncls ? MODE_DIRS : o->csv ? MODE_CSV : MODE_TEXT;
    if (!o->out) usage_error("no --out given");
    if (o->mode != MODE_CSV && (o->test_csv || o->label_col || o->text_cols || o->header >= 0 ||
                                layout_flag || o->classes_arg))
        usage_error("--test-csv, --label-col, --text-cols, --header, --delimiter, --tsv, "
                    "--no-quote and --classes go with --csv");
    if (o->mode != MODE_TEXT && (o->test_text || o->seq_len || o->stride))
        usage_error("--test-text, --seq-len and --stride go with --text");
    if (o->mode != MODE_DIRS && (o->mail || o->suffix))
        usage_error("--mail and --suffix go with --class");
    if (o->mode == MODE_CSV && (!o->label_col || !o->text_cols))
        usage_error("--csv needs --label-col and --text-cols");
    if (o->mode == MODE_TEXT) {
        if (!o->seq_len) usage_error("--text needs --seq-len");
        if (!o->stride) o->stride = o->seq_len;
        if (pad_set) usage_error("--maxlen, --padding and --truncating do not apply to --text "
                                 "(rows are --seq-len ids, never padded)");
    }
    int has_test = o->test_csv || o->test_text;
    for (int k = 0; k < o->ncls; k++) has_test |= o->cls[k].ntdirs > 0;
    if (has_test) {
        if (o->test_frac_set && o->test_frac > 0)
            usage_error("--test-fraction %g: the input has a test set of its own", o->test_frac);
        o->test_frac = 0;
    }
    if (o->test_frac >= 1.0 && !(o->vocab_from && o->valid_frac == 0))
        usage_error("--test-fraction 1 puts every row in /test: only with --vocab-from, without "
                    "--valid-fraction");
    if (o->test_frac < 1.0 && o->test_frac + o->valid_frac >= 1.0)
        usage_error("--test-fraction + --valid-fraction = %g leaves no training data",
                    o->test_frac + o->valid_frac);
    set_separators(o);
}

/* ---------------------------------------------------------------- documents */

typedef struct doc {
    char *path;      /* the file (directories), or NULL: the text is in the corpus buffer */
    size_t off, len; /* CSV: the joined text columns, in the corpus buffer */
    const char *src; /* CSV: the file (not owned) */
    long line;       /* CSV: the record's first line in it */
    int cls;
    int split;       /* 0 train, 1 valid, 2 test; -1: not assigned yet (the pool) */
    size_t tok_off;  /* into the token store, set when read */
    uint32_t ntok;   /* tokens in the document */
} doc;

typedef struct doclist {
    doc *d;
    size_t n, cap;
} doclist;

static doc *doc_add(doclist *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->d = xrealloc(l->d, sizeof *l->d * l->cap);
    }
    doc *d = &l->d[l->n++];
    memset(d, 0, sizeof *d);
    d->split = -1;
    return d;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the files of dir (sorted by name) to docs, as class cls in split (-1: the pool). */
static void list_dir(const opts *o, const char *dir, int cls, int split, doclist *docs) {
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
        doc *dc = doc_add(docs);
        dc->path = path;
        dc->cls = cls;
        dc->split = split;
    }
    free(names);
}

/* ---------------------------------------------------------------- CSV */

/* The columns of a CSV input, fixed by the first record of --csv. */
typedef struct csv_layout {
    int ncols;     /* fields per record */
    int label;     /* 0-based */
    int *text;     /* (ntext) 0-based */
    int ntext;
    long line;     /* where ncols was seen */
    const char *path;
} csv_layout;

/* The classes of a CSV input: label values interned in a word table (id = class id). fixed:
 * the list was given (--classes, --vocab-from), a value not in it is an error. */
typedef struct labels {
    words values;
    char **names; /* (n) class names for /classes */
    int n, fixed;
    const char *from; /* where a fixed list came from, for the message */
} labels;

/* Parses one record of p[0..n) from *pos: its fields, unquoted, back to back in fb with
 * fo[k]..fo[k+1] the bytes of field k. Returns 0 at the end of the input, else 1; *line counts
 * the line breaks consumed (inside quotes too). RFC 4180, read the way Python's csv module
 * reads it: a line ends at LF, CRLF or CR; "" inside quotes is one quote; text after a closing
 * quote is kept (Python's non-strict mode); a quote not at a field's start is an ordinary
 * character. An unterminated quote is reported at the line where it opened. */
static int csv_record(const char *path, const char *p, size_t n, size_t *pos, long *line,
                      char delim, int quote, buf *fb, size_t **fo, size_t *focap, int *nf) {
    size_t i = *pos;
    if (i >= n) return 0;
    fb->n = 0;
    *nf = 0;
    for (;;) {
        if ((size_t)*nf + 2 > *focap) {
            *focap = *focap ? *focap * 2 : 64;
            *fo = xrealloc(*fo, sizeof **fo * *focap);
        }
        (*fo)[(*nf)++] = fb->n;
        if (quote && i < n && p[i] == '"') {
            long open_line = *line;
            i++;
            for (;;) {
                const char *q = i < n ? memchr(p + i, '"', n - i) : NULL;
                if (!q)
                    die("%s:%ld: unterminated quoted field (its opening quote is on this line)",
                        path, open_line);
                size_t k = (size_t)(q - p);
                for (const char *s = p + i; (s = memchr(s, '\n', (size_t)(q - s))) != NULL; s++)
                    (*line)++;
                buf_put(fb, p + i, k - i);
                if (k + 1 < n && p[k + 1] == '"') { /* "" */
                    buf_putc(fb, '"');
                    i = k + 2;
                    continue;
                }
                i = k + 1;
                break;
            }
        }
        size_t s = i;
        while (i < n && p[i] != delim && p[i] != '\n' && p[i] != '\r') i++;
        buf_put(fb, p + s, i - s);
        if (i < n && p[i] == delim) {
            i++;
            if (i < n) continue;
            /* a delimiter at the very end: one more, empty, field */
            (*fo)[(*nf)++] = fb->n;
            break;
        }
        if (i < n) { /* line break */
            if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') i++;
            i++;
            (*line)++;
        }
        break;
    }
    (*fo)[*nf] = fb->n;
    *pos = i;
    return 1;
}

/* "3" (from 1) or a header name -> 0-based column. */
static int resolve_col(const char *spec, const char *flag, const csv_layout *L, const buf *fb,
                       const size_t *fo, int header) {
    char *e;
    long v = strtol(spec, &e, 10);
    if (*spec && !*e) {
        if (v < 1 || v > L->ncols)
            die("%s:%ld: %s %s: the file has columns 1 to %d", L->path, L->line, flag, spec,
                L->ncols);
        return (int)v - 1;
    }
    if (!header)
        usage_error("%s %s: a column name needs --header (or give its number, from 1)", flag,
                    spec);
    for (int k = 0; k < L->ncols; k++)
        if (fo[k + 1] - fo[k] == strlen(spec) && memcmp(fb->p + fo[k], spec, strlen(spec)) == 0)
            return k;
    buf names = {0};
    for (int k = 0; k < L->ncols && names.n < 200; k++) {
        if (k) buf_put(&names, ", ", 2);
        buf_put(&names, fb->p + fo[k], fo[k + 1] - fo[k]);
    }
    buf_putc(&names, 0);
    die("%s:%ld: %s %s: no such column in the header (%s)", L->path, L->line, flag, spec, names.p);
}

/* The class id of a label value, adding it unless the list is fixed. */
static int label_class(labels *lb, const char *v, size_t len, const char *path, long line,
                       int col, buf *tmp) {
    tmp->n = 0;
    normalize(v, len, 0, tmp); /* valid UTF-8 for /classes */
    if (tmp->n == 0) die("%s:%ld: empty label in column %d", path, line, col + 1);
    uint32_t before = lb->values.n;
    uint32_t id = words_intern(&lb->values, tmp->p, tmp->n);
    if (id < before) return (int)id;
    if (lb->fixed) {
        buf_putc(tmp, 0);
        die("%s:%ld: label '%s' (column %d) is not a class of %s", path, line, tmp->p, col + 1,
            lb->from);
    }
    if (lb->n >= MAX_CLASSES)
        die("%s:%ld: more than %d distinct labels in column %d: is it the label column?", path,
            line, MAX_CLASSES, col + 1);
    lb->names = xrealloc(lb->names, sizeof *lb->names * (size_t)(lb->n + 1));
    lb->names[lb->n] = xrealloc(NULL, tmp->n + 1);
    memcpy(lb->names[lb->n], tmp->p, tmp->n);
    lb->names[lb->n][tmp->n] = 0;
    lb->n++;
    return (int)id;
}

/* Reads one CSV file: one document per record, its text columns joined with a space into
 * corpus, as split (-1: the pool, 2: /test). The first file read fixes L. */
static void read_csv(const opts *o, const char *path, int split, csv_layout *L, labels *lb,
                     doclist *docs, buf *corpus, size_t *bytes) {
    buf file = {0}, fb = {0}, tmp = {0};
    size_t *fo = NULL, focap = 0;
    if (read_file(path, &file) != 0) die("cannot read '%s': %s", path, strerror(errno));
    *bytes += file.n;
    refuse_binary(path, file.p, file.n, "CSV text");
    size_t pos = 0, nrec = 0;
    if (file.n >= 3 && memcmp(file.p, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* byte order mark */
    long line = 1, rec_line = 1;
    int nf, first = 1;
    for (;;) {
        rec_line = line;
        size_t start = pos;
        if (!csv_record(path, file.p ? file.p : "", file.n, &pos, &line, o->delim, o->quote, &fb,
                        &fo, &focap, &nf))
            break;
        /* A blank line (no byte but its line break) is no record, as for pandas. */
        if (nf == 1 && fb.n == 0 && (file.p[start] == '\n' || file.p[start] == '\r')) continue;
        if (first) {
            first = 0;
            if (L->ncols == 0) {
                L->ncols = nf;
                L->line = rec_line;
                L->path = path;
                L->label = resolve_col(o->label_col, "--label-col", L, &fb, fo, o->header == 1);
                char *list = xstrdup(o->text_cols), *save = NULL;
                for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                    L->text = xrealloc(L->text, sizeof *L->text * (size_t)(L->ntext + 1));
                    L->text[L->ntext++] = resolve_col(c, "--text-cols", L, &fb, fo, o->header == 1);
                }
                free(list);
                if (L->ntext == 0) usage_error("--text-cols %s: no column", o->text_cols);
            }
            if (o->header == 1) {
                if (nf != L->ncols)
                    die("%s:%ld: the header has %d fields, expected %d (as on line %ld of %s)",
                        path, rec_line, nf, L->ncols, L->line, L->path);
                continue;
            }
        }
        if (nf != L->ncols)
            die("%s:%ld: %d fields, expected %d (as on line %ld of %s)%s", path, rec_line, nf,
                L->ncols, L->line, L->path,
                o->quote ? "" : "; with --no-quote/--tsv a delimiter inside a text splits it");
        int cls = label_class(lb, fb.p + fo[L->label], fo[L->label + 1] - fo[L->label], path,
                              rec_line, L->label, &tmp);
        doc *d = doc_add(docs);
        d->cls = cls;
        d->split = split;
        d->src = path;
        d->line = rec_line;
        d->off = corpus->n;
        for (int k = 0; k < L->ntext; k++) {
            int c = L->text[k];
            if (k) buf_putc(corpus, ' ');
            buf_put(corpus, fb.p + fo[c], fo[c + 1] - fo[c]);
        }
        d->len = corpus->n - d->off;
        nrec++;
    }
    if (nrec == 0)
        die("%s: %s", path, first ? "empty file: no records" : "no records after the header");
    free(file.p);
    free(fb.p);
    free(tmp.p);
    free(fo);
}

/* ---------------------------------------------------------------- split */

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

/* Is the character at p[i] a separator (a filter or the split character)? *len: its bytes. */
static int is_sep(const opts *o, const unsigned char *p, size_t m, size_t i, size_t *len) {
    unsigned b = p[i];
    if (b < 0x80) {
        *len = 1;
        return o->sep_ascii[b];
    }
    uint32_t c;
    *len = utf8_next(p + i, m - i, &c);
    return o->nsep_wide && bsearch(&c, o->sep_wide, o->nsep_wide, sizeof c, cmp_cp) != NULL;
}

/* Keras' text_to_word_sequence (or, char level, the list of characters) of the bytes s[0..n):
 * normalized (UTF-8 decoded, lowered), separators to the split character, split, empty strings
 * dropped; each token interned, counted if count. */
static uint32_t tokenize(const opts *o, const char *s, size_t n, words *w, tokstore *ts, int count,
                         buf *norm) {
    norm->n = 0;
    normalize(s, n, o->lower, norm);
    const unsigned char *p = (const unsigned char *)norm->p;
    size_t m = norm->n, i = 0, l;
    uint32_t ntok = 0;
    while (i < m) {
        size_t start;
        if (o->char_level) {
            uint32_t c;
            start = i;
            i += utf8_next(p + i, m - i, &c);
        } else {
            while (i < m && is_sep(o, p, m, i, &l)) i += l;
            if (i >= m) break;
            start = i;
            while (i < m && !is_sep(o, p, m, i, &l)) i += l;
        }
        uint32_t id = words_intern(w, (const char *)p + start, i - start);
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

/* ---------------------------------------------------------------- vocabulary */

/* An existing vocabulary (--vocab-from). */
typedef struct vocab_in {
    char **words;   /* (n) id -> word, words[0] = "" */
    size_t n;
    char **classes; /* (ncls) class names; NULL when the file has none */
    size_t ncls;
    long vocab_size;
} vocab_in;

/* The vocabulary of this run. */
typedef struct vocab {
    int32_t *map;        /* (w.n) internal id -> dataset id, 0 = dropped */
    const char **word;   /* (nword) id -> word for /vocab and .vocab.txt; word[0] = "" */
    char *chars;         /* storage of the built words */
    size_t nword;
    uint32_t ndistinct;  /* distinct train words */
    uint64_t index_size; /* len(word_index) */
    uint64_t vocab_size;
    int32_t base;        /* the first id of a word: 2 with an OOV token, else 1 */
} vocab;

/* Line k of a .vocab.txt is the word of id k, with \n \r \\ escaped. */
static char *unescape_word(const char *s, size_t n) {
    char *r = xrealloc(NULL, n + 1), *o = r;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'n' || s[i + 1] == 'r' || s[i + 1] == '\\')) {
            i++;
            *o++ = s[i] == 'n' ? '\n' : s[i] == 'r' ? '\r' : '\\';
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return r;
}

static char **read_lines(const char *path, size_t *n, int leading_empty) {
    buf f = {0};
    if (read_file(path, &f) != 0) die("cannot read '%s': %s", path, strerror(errno));
    char **v = xrealloc(NULL, sizeof *v);
    size_t k = 0;
    if (leading_empty) v[k++] = xstrdup("");
    for (size_t i = 0; i < f.n;) {
        const char *e = memchr(f.p + i, '\n', f.n - i);
        size_t le = e ? (size_t)(e - f.p) : f.n;
        v = xrealloc(v, sizeof *v * (k + 1));
        v[k++] = unescape_word(f.p + i, le - i);
        i = le + 1;
    }
    free(f.p);
    *n = k;
    return v;
}

/* Reads --vocab-from: a dataset (its /vocab, /classes and tokenizer_* attributes, which
 * replace o's tokenizer options) or a .vocab.txt (+ .classes.txt beside it; the tokenizer
 * options are o's). */
static void load_vocab_from(opts *o, vocab_in *v) {
    const char *path = o->vocab_from;
    memset(v, 0, sizeof *v);
    size_t len = strlen(path);
    if (len > 10 && strcmp(path + len - 10, ".vocab.txt") == 0) {
        v->words = read_lines(path, &v->n, 1);
        v->vocab_size = o->num_words ? o->num_words : (long)v->n;
        if (o->oov && (v->n < 2 || strcmp(v->words[1], o->oov) != 0))
            die("%s:1: '%s' is not the --oov-token '%s' (id 1)", path, v->n > 1 ? v->words[1] : "",
                o->oov);
        char cpath[4096];
        snprintf(cpath, sizeof cpath, "%.*s.classes.txt", (int)(len - 10), path);
        if (access(cpath, R_OK) == 0) v->classes = read_lines(cpath, &v->ncls, 0);
        return;
    }
    st_dataset d;
    if (st_dataset_open(&d, path) != ST_OK)
        die("--vocab-from %s: %s (give a dataset or a .vocab.txt)", path, st_error_get());
    if (st_dataset_read_vocab(&d, &v->words, &v->n) != ST_OK ||
        st_dataset_read_strings(&d, "classes", &v->classes, &v->ncls) != ST_OK)
        die("--vocab-from: %s", st_error_get());
    if (v->n < 2) die("--vocab-from %s: the file has no /vocab", path);
    for (size_t k = 0; k < v->n; k++) { /* st_malloc'd: into our own allocations */
        char *c = xstrdup(v->words[k]);
        st_free(v->words[k]);
        v->words[k] = c;
    }
    for (size_t k = 0; k < v->ncls; k++) {
        char *c = xstrdup(v->classes[k]);
        st_free(v->classes[k]);
        v->classes[k] = c;
    }
    v->vocab_size = d.vocab_size;
    static const char *const keys[] = {"tokenizer_level", "tokenizer_lower", "tokenizer_filters",
                                       "tokenizer_split", "tokenizer_oov_token",
                                       "tokenizer_num_words", "pad_maxlen", "pad_padding",
                                       "pad_truncating"};
    char *val[9];
    for (int k = 0; k < 9; k++)
        if (st_dataset_read_attr_str(&d, keys[k], &val[k]) != ST_OK)
            die("--vocab-from: %s", st_error_get());
    st_dataset_close(&d);
    if (val[0]) { /* written by this tool: its tokenizer options */
        if (o->tok_flag)
            usage_error("--%s: the tokenizer options come from --vocab-from %s", o->tok_flag, path);
        o->char_level = strcmp(val[0], "char") == 0;
        if (val[1]) o->lower = strcmp(val[1], "true") == 0;
        if (val[2]) {
            free(o->filters);
            o->filters = xstrdup(val[2]);
        }
        if (val[3]) o->split = parse_split(val[3]);
        o->oov = o->oov_owned = val[4] ? xstrdup(val[4]) : NULL;
        if (val[5]) o->num_words = strtol(val[5], NULL, 10);
        set_separators(o);
    }
    if (!o->maxlen && val[6]) o->maxlen = strtol(val[6], NULL, 10);
    for (int k = 0; k < 9; k++) st_free(val[k]);
}

/* The internal id of word s, or UINT32_MAX when it was never seen. */
static uint32_t words_find_or_none(const words *w, const char *s) {
    size_t n = strlen(s);
    uint32_t h = hash_bytes(s, n);
    for (uint32_t i = h & (w->nslot - 1); w->slot[i]; i = (i + 1) & (w->nslot - 1)) {
        uint32_t id = w->slot[i] - 1;
        if (w->hash[id] == h && w->len[id] == n && memcmp(w->chars.p + w->off[id], s, n) == 0)
            return id;
    }
    return UINT32_MAX;
}

/* Interns the words of an existing vocabulary first (internal id i < *npre has dataset id
 * pre_id[i]): a text word then finds its id by the same hash lookup as any other. */
static uint32_t *preload(const vocab_in *v, words *w, uint32_t *npre) {
    uint32_t *pre_id = xrealloc(NULL, sizeof *pre_id * (v->n + 1));
    for (size_t k = 1; k < v->n; k++) {
        uint32_t before = w->n, id = words_intern(w, v->words[k], strlen(v->words[k]));
        if (id == before) pre_id[id] = (uint32_t)k; /* a duplicate keeps its first id */
    }
    *npre = w->n;
    return pre_id;
}

/* The Keras vocabulary of the counted (train) words of w, or the preloaded one. */
static void build_vocab(const opts *o, const words *w, const vocab_in *vin, const uint32_t *pre_id,
                        uint32_t npre, vocab *v) {
    memset(v, 0, sizeof *v);
    v->base = o->oov ? 2 : 1;
    const int32_t unknown = o->oov ? 1 : 0;
    v->map = xrealloc(NULL, sizeof *v->map * (w->n + 1));
    for (uint32_t id = 0; id < w->n; id++) v->map[id] = unknown;
    if (vin) {
        for (uint32_t id = 0; id < npre; id++) v->map[id] = (int32_t)pre_id[id];
        for (uint32_t id = 0; id < w->n; id++) v->ndistinct += w->count[id] > 0;
        v->index_size = vin->n - 1;
        v->vocab_size = (uint64_t)vin->vocab_size;
        v->word = xrealloc(NULL, sizeof *v->word * vin->n);
        for (size_t k = 0; k < vin->n; k++) v->word[k] = vin->words[k];
        v->nword = vin->n;
        return; /* the OOV token, if any, is /vocab[1] and was preloaded with id 1 */
    }
    uint32_t oov_word = o->oov ? words_find_or_none(w, o->oov) : UINT32_MAX;
    uint32_t *rank = xrealloc(NULL, sizeof *rank * (w->n + 1));
    uint32_t nrank = 0;
    for (uint32_t id = 0; id < w->n; id++)
        if (w->count[id] > 0 && id != oov_word) rank[nrank++] = id;
    g_count = w->count;
    qsort(rank, nrank, sizeof *rank, cmp_rank);
    v->ndistinct = nrank;
    v->index_size = (uint64_t)nrank + (o->oov ? 1 : 0);
    v->vocab_size = o->num_words ? (uint64_t)o->num_words : v->index_size + 1;
    if (v->vocab_size > INT32_MAX)
        die("vocabulary of %llu words is too large", (unsigned long long)v->vocab_size);
    for (uint32_t r = 0; r < nrank; r++) {
        uint64_t k = (uint64_t)r + (uint64_t)v->base;
        v->map[rank[r]] = (o->num_words && k >= (uint64_t)o->num_words) ? unknown : (int32_t)k;
    }
    /* /vocab: ids < vocab_size only (Keras keeps the rest in word_index, but no id reaches them) */
    size_t nword = v->index_size + 1 < v->vocab_size ? v->index_size + 1 : v->vocab_size;
    if (nword < 1) nword = 1;
    size_t bytes = 1 + (o->oov ? strlen(o->oov) + 1 : 0);
    for (size_t k = (size_t)v->base; k < nword; k++) bytes += w->len[rank[k - (size_t)v->base]] + 1;
    v->chars = xrealloc(NULL, bytes);
    v->word = xrealloc(NULL, sizeof *v->word * nword);
    char *c = v->chars;
    *c = 0;
    v->word[0] = c++;
    if (o->oov && nword > 1) {
        memcpy(c, o->oov, strlen(o->oov) + 1);
        v->word[1] = c;
        c += strlen(o->oov) + 1;
    }
    for (size_t k = (size_t)v->base; k < nword; k++) {
        uint32_t id = rank[k - (size_t)v->base];
        memcpy(c, w->chars.p + w->off[id], w->len[id]);
        c[w->len[id]] = 0;
        v->word[k] = c;
        c += w->len[id] + 1;
    }
    v->nword = nword;
    free(rank);
}

static void vocab_free(vocab *v) {
    free(v->map);
    free(v->word);
    free(v->chars);
}

static void vocab_in_free(vocab_in *v) {
    for (size_t k = 0; k < v->n; k++) free(v->words[k]);
    for (size_t k = 0; k < v->ncls; k++) free(v->classes[k]);
    free(v->words);
    free(v->classes);
}

static void opts_free(opts *o) {
    for (int c = 0; c < o->ncls; c++) {
        for (int k = 0; k < o->cls[c].ndirs; k++) free(o->cls[c].dirs[k]);
        for (int k = 0; k < o->cls[c].ntdirs; k++) free(o->cls[c].tdirs[k]);
        free(o->cls[c].dirs);
        free(o->cls[c].tdirs);
        free(o->cls[c].name);
    }
    free(o->cls);
    free(o->filters);
    free(o->sep_wide);
    free(o->oov_owned);
}

/* ---------------------------------------------------------------- output */

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
static void put_word(FILE *f, const char *s) {
    for (; *s; s++) {
        char c = *s;
        if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\\') fputs("\\\\", f);
        else fputc(c, f);
    }
    fputc('\n', f);
}

/* The dataset (with /vocab, /classes and the tokenizer options), OUT.vocab.txt and
 * OUT.classes.txt. */
static void write_all(const opts *o, const vocab *v, const char *const *classes, int ncls,
                      int num_classes, const st_split_data *sd, int nsd, char *vpath, size_t vsz) {
    char split_s[8] = {0}, nw[32], ml[32], sl[32], st[32];
    utf8_put(split_s, o->split);
    snprintf(nw, sizeof nw, "%ld", o->num_words);
    snprintf(ml, sizeof ml, "%ld", o->maxlen);
    snprintf(sl, sizeof sl, "%ld", o->seq_len);
    snprintf(st, sizeof st, "%ld", o->stride);
    const char *names[12], *vals[12];
    int na = 0;
#define ATTR(k, val) (names[na] = (k), vals[na++] = (val))
    ATTR("tokenizer_level", o->char_level ? "char" : "word");
    ATTR("tokenizer_lower", o->lower ? "true" : "false");
    ATTR("tokenizer_filters", o->filters);
    ATTR("tokenizer_split", split_s);
    ATTR("tokenizer_num_words", nw);
    if (o->oov) ATTR("tokenizer_oov_token", o->oov);
    if (o->mode == MODE_TEXT) {
        ATTR("lm_seq_len", sl);
        ATTR("lm_stride", st);
    } else {
        ATTR("pad_maxlen", ml);
        ATTR("pad_padding", o->pad_post ? "post" : "pre");
        ATTR("pad_truncating", o->trunc_post ? "post" : "pre");
    }
#undef ATTR
    st_dataset_strings ex = {v->word, v->nword, ncls ? classes : NULL, (size_t)ncls, names, vals, na};
    if (st_dataset_write_ex(o->out, num_classes, (int)v->vocab_size, sd, nsd, &ex) != ST_OK)
        die("cannot write '%s': %s", o->out, st_error_get());
    char tmp[4200];
    snprintf(vpath, vsz, "%s.vocab.txt", o->out);
    FILE *f = open_tmp(vpath, tmp, sizeof tmp);
    for (size_t k = 1; k < v->nword; k++) put_word(f, v->word[k]);
    close_tmp(f, tmp, vpath);
    if (ncls) {
        char cpath[4096];
        snprintf(cpath, sizeof cpath, "%s.classes.txt", o->out);
        f = open_tmp(cpath, tmp, sizeof tmp);
        for (int c = 0; c < ncls; c++) put_word(f, classes[c]);
        close_tmp(f, tmp, cpath);
    }
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

/* Coverage and the vocabulary line of the summary. */
static void print_vocab(const opts *o, const vocab *v, uint64_t tokens, uint64_t kept) {
    if (o->vocab_from)
        printf("  vocabulary: from %s: %zu ids, vocab_size %llu%s%s; %u distinct train %s\n",
               o->vocab_from, v->nword, (unsigned long long)v->vocab_size,
               o->oov ? ", oov id 1 " : "", o->oov ? o->oov : "", v->ndistinct,
               o->char_level ? "characters" : "words");
    else
        printf("  vocabulary: %u distinct train %s, word_index %llu, vocab_size %llu%s%s\n",
               v->ndistinct, o->char_level ? "characters" : "words",
               (unsigned long long)v->index_size, (unsigned long long)v->vocab_size,
               o->oov ? ", oov id 1 " : "", o->oov ? o->oov : "");
    printf("  coverage: %.2f%% of train tokens have an id < %llu\n",
           tokens ? 100.0 * (double)kept / (double)tokens : 100.0,
           (unsigned long long)v->vocab_size);
}

/* --text: a language-model dataset (module comment). */
static int run_text(opts *o, const vocab_in *vin, double t0) {
    words w = {0};
    words_rehash(&w, 1u << 17);
    uint32_t npre = 0, *pre_id = vin ? preload(vin, &w, &npre) : NULL;
    tokstore ts = {0};
    buf file = {0}, norm = {0};
    size_t bytes = 0, L[2] = {0, 0};
    const char *files[2] = {o->text, o->test_text};
    for (int f = 0; f < 2; f++) {
        if (!files[f]) continue;
        if (read_file(files[f], &file) != 0)
            die("cannot read '%s': %s", files[f], strerror(errno));
        if (file.n == 0) die("%s: empty file", files[f]);
        refuse_binary(files[f], file.p, file.n, "text");
        size_t skip = file.n >= 3 && memcmp(file.p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        bytes += file.n;
        size_t before = ts.n;
        tokenize(o, file.p + skip, file.n - skip, &w, &ts, 0, &norm);
        L[f] = ts.n - before;
    }
    double t_read = now() - t0;
    /* Parts by position, cut before windowing: [lo[s], hi[s]) of the token stream. */
    size_t lo[3], hi[3];
    size_t nv = share(o->valid_frac, L[0]), nt = o->test_text ? 0 : share(o->test_frac, L[0]);
    lo[0] = 0;
    hi[0] = L[0] - nt - nv;
    lo[1] = hi[0];
    hi[1] = lo[1] + nv;
    lo[2] = hi[1];
    hi[2] = L[0] + L[1];
    for (size_t i = lo[0]; i < hi[0]; i++) w.count[ts.t[i]]++;
    vocab v;
    build_vocab(o, &w, vin, pre_id, npre, &v);
    uint64_t kept = 0;
    for (size_t i = lo[0]; i < hi[0]; i++) kept += v.map[ts.t[i]] >= v.base;

    static const char *split_name[3] = {"train", "valid", "test"};
    const size_t T = (size_t)o->seq_len, S = (size_t)o->stride;
    int32_t *x[3] = {0}, *y[3] = {0};
    size_t nrow[3] = {0}, nids[3] = {0};
    int32_t *seq = xrealloc(NULL, sizeof *seq * (ts.n + 1));
    for (int s = 0; s < 3; s++) {
        size_t n = 0;
        for (size_t i = lo[s]; i < hi[s]; i++) { /* texts_to_sequences: unknown ids dropped */
            int32_t m = v.map[ts.t[i]];
            if (m) seq[n++] = m;
        }
        nids[s] = n;
        nrow[s] = n >= T + 1 ? (n - T - 1) / S + 1 : 0;
        int wanted = s == 0 ? o->test_frac < 1.0 : hi[s] > lo[s];
        if (wanted && nrow[s] == 0)
            die("%s: the %s part has %zu ids, fewer than --seq-len + 1 = %zu (a shorter --seq-len, "
                "or a smaller --test-fraction/--valid-fraction?)",
                s == 2 && o->test_text ? o->test_text : o->text, split_name[s], n, T + 1);
        x[s] = xrealloc(NULL, sizeof *x[s] * (nrow[s] * T + 1));
        y[s] = xrealloc(NULL, sizeof *y[s] * (nrow[s] * T + 1));
        for (size_t r = 0; r < nrow[s]; r++) {
            memcpy(x[s] + r * T, seq + r * S, T * sizeof *seq);
            memcpy(y[s] + r * T, seq + r * S + 1, T * sizeof *seq);
        }
    }
    st_split_data sd[3];
    int nsd = 0;
    for (int s = 0; s < 3; s++) {
        if (nrow[s] == 0) continue;
        st_split_data d = {split_name[s], nrow[s], (int)T, 1, x[s], NULL, y[s], (int)T};
        sd[nsd++] = d;
    }
    char vpath[4096];
    write_all(o, &v, NULL, 0, (int)v.vocab_size, sd, nsd, vpath, sizeof vpath);

    printf("%s: %s%s%s, %zu %s, %.1f MB read in %.2f s (%.2f s in all)\n", o->out, o->text,
           o->test_text ? " + " : "", o->test_text ? o->test_text : "", L[0] + L[1],
           o->char_level ? "characters" : "words", (double)bytes / 1e6, t_read, now() - t0);
    for (int s = 0; s < 3; s++)
        printf("  %s: %zu tokens -> %zu ids -> %zu rows of %zu (stride %zu)\n", split_name[s],
               hi[s] - lo[s], nids[s], nrow[s], T, S);
    print_vocab(o, &v, hi[0] - lo[0], kept);
    printf("  wrote %s (y: the next id at every step, num_classes = vocab_size %llu), %s\n",
           o->out, (unsigned long long)v.vocab_size, vpath);
    for (int s = 0; s < 3; s++) {
        free(x[s]);
        free(y[s]);
    }
    free(seq);
    free(pre_id);
    free(ts.t);
    free(file.p);
    free(norm.p);
    vocab_free(&v);
    words_free(&w);
    return 0;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : (x > y);
}

/* --classes A,B=NAME,...: values interned in order (class id = position), names beside. */
static void fixed_classes(const char *arg, labels *lb) {
    char *list = xstrdup(arg), *save = NULL;
    for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(c, '=');
        const char *name = eq ? eq + 1 : c;
        size_t vlen = eq ? (size_t)(eq - c) : strlen(c);
        if (vlen == 0 || !*name) usage_error("--classes %s: empty class value or name", arg);
        uint32_t before = lb->values.n;
        if (words_intern(&lb->values, c, vlen) != before)
            usage_error("--classes %s: '%.*s' given twice", arg, (int)vlen, c);
        lb->names = xrealloc(lb->names, sizeof *lb->names * (size_t)(lb->n + 1));
        lb->names[lb->n++] = xstrdup(name);
    }
    free(list);
    if (lb->n == 0) usage_error("--classes %s: no class", arg);
    lb->fixed = 1;
    size_t n = strlen(arg) + 16;
    char *from = xrealloc(NULL, n);
    snprintf(from, n, "--classes %s", arg);
    lb->from = from;
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
    vocab_in vin_s, *vin = NULL;
    if (o.vocab_from) {
        load_vocab_from(&o, &vin_s);
        vin = &vin_s;
    }
    if (o.mode == MODE_TEXT) {
        int rc = run_text(&o, vin, t0);
        if (vin) vocab_in_free(vin);
        opts_free(&o);
        return rc;
    }

    /* 1. documents and classes */
    doclist docs = {0};
    buf corpus = {0};
    size_t bytes = 0;
    const char *const *cname;
    int ncls;
    labels lb = {0};
    int *cls_id = NULL;
    if (o.mode == MODE_DIRS) {
        cls_id = xrealloc(NULL, sizeof *cls_id * (size_t)o.ncls);
        if (vin && vin->classes) {
            for (int k = 0; k < o.ncls; k++) {
                cls_id[k] = -1;
                for (size_t j = 0; j < vin->ncls && cls_id[k] < 0; j++)
                    if (strcmp(vin->classes[j], o.cls[k].name) == 0) cls_id[k] = (int)j;
                if (cls_id[k] < 0)
                    die("--class %s: not one of the classes of %s", o.cls[k].name, o.vocab_from);
            }
            cname = (const char *const *)vin->classes;
            ncls = (int)vin->ncls;
        } else {
            char **names = xrealloc(NULL, sizeof *names * (size_t)o.ncls);
            for (int k = 0; k < o.ncls; k++) {
                names[k] = o.cls[k].name;
                cls_id[k] = k;
            }
            cname = (const char *const *)names;
            ncls = o.ncls;
        }
        for (int k = 0; k < o.ncls; k++) {
            const tclass *c = &o.cls[k];
            size_t before = docs.n;
            for (int j = 0; j < c->ndirs; j++) list_dir(&o, c->dirs[j], cls_id[k], -1, &docs);
            if (docs.n == before)
                die("class '%s': no files in %s%s%s", c->name, c->dirs[0], c->ndirs > 1 ? ",..." : "",
                    o.suffix ? " with that --suffix" : "");
            before = docs.n;
            for (int j = 0; j < c->ntdirs; j++) list_dir(&o, c->tdirs[j], cls_id[k], 2, &docs);
            if (c->ntdirs && docs.n == before)
                die("class '%s': no test files in %s%s%s", c->name, c->tdirs[0],
                    c->ntdirs > 1 ? ",..." : "", o.suffix ? " with that --suffix" : "");
        }
    } else {
        words_rehash(&lb.values, 64);
        if (o.classes_arg) fixed_classes(o.classes_arg, &lb);
        if (vin && vin->classes) {
            if (o.classes_arg) { /* renamed values: the names must be the file's */
                int same = (size_t)lb.n == vin->ncls;
                for (int k = 0; same && k < lb.n; k++) same = strcmp(lb.names[k], vin->classes[k]) == 0;
                if (!same) usage_error("--classes %s: not the classes of %s", o.classes_arg, o.vocab_from);
            } else {
                for (size_t k = 0; k < vin->ncls; k++) {
                    words_intern(&lb.values, vin->classes[k], strlen(vin->classes[k]));
                    lb.names = xrealloc(lb.names, sizeof *lb.names * (k + 1));
                    lb.names[k] = xstrdup(vin->classes[k]);
                }
                lb.n = (int)vin->ncls;
                lb.fixed = 1;
                lb.from = o.vocab_from;
            }
        }
        csv_layout lay = {0};
        read_csv(&o, o.csv, -1, &lay, &lb, &docs, &corpus, &bytes);
        if (o.test_csv) read_csv(&o, o.test_csv, 2, &lay, &lb, &docs, &corpus, &bytes);
        cname = (const char *const *)lb.names;
        ncls = lb.n;
        free(lay.text);
    }
    const size_t ndocs = docs.n;

    /* 2. stratified split of the pool, then each split shuffled as a whole */
    size_t *order[3], nsplit[3] = {0, 0, 0};
    for (int s = 0; s < 3; s++) order[s] = xrealloc(NULL, sizeof(size_t) * (ndocs + 1));
    size_t (*per_cls)[3] = calloc((size_t)ncls + 1, sizeof *per_cls);
    size_t *idx = xrealloc(NULL, sizeof *idx * (ndocs + 1));
    size_t *cstart = calloc((size_t)ncls + 2, sizeof *cstart);
    if (!per_cls || !cstart) die("out of memory");
    /* the input's own test documents (then the pool has no test share: --test-fraction 0) */
    for (size_t i = 0; i < ndocs; i++)
        if (docs.d[i].split == 2) {
            order[2][nsplit[2]++] = i;
            per_cls[docs.d[i].cls][2]++;
        }
    /* the pool's documents grouped by class, each group in document order */
    for (size_t i = 0; i < ndocs; i++)
        if (docs.d[i].split < 0) cstart[docs.d[i].cls + 2]++;
    for (int c = 0; c < ncls; c++) cstart[c + 2] += cstart[c + 1];
    for (size_t i = 0; i < ndocs; i++)
        if (docs.d[i].split < 0) idx[cstart[docs.d[i].cls + 1]++] = i;
    for (int c = 0; c < ncls; c++) {
        size_t n = cstart[c + 1] - cstart[c], *ci = idx + cstart[c];
        if (n == 0) continue;
        shuffle(ci, n, o.seed, 0x5350u + (uint64_t)c); /* stream per class */
        size_t ntest = share(o.test_frac, n), nvalid = share(o.valid_frac, n);
        if (o.test_frac < 1.0 && ntest + nvalid >= n)
            die("class '%s' has %zu documents: too few to split", cname[c], n);
        for (size_t i = 0; i < n; i++) {
            int s = i < ntest ? 2 : i < ntest + nvalid ? 1 : 0;
            docs.d[ci[i]].split = s;
            order[s][nsplit[s]++] = ci[i];
            per_cls[c][s]++;
        }
    }
    free(idx);
    free(cstart);
    for (int s = 0; s < 3; s++) {
        if (o.shuffle)
            shuffle(order[s], nsplit[s], o.seed, 0x53504c00u + (uint64_t)s);
        else
            qsort(order[s], nsplit[s], sizeof *order[s], cmp_size);
    }

    /* 3. read and tokenize, train first (the vocabulary's first-seen order is /train's order) */
    words w = {0};
    words_rehash(&w, 1u << 17);
    uint32_t npre = 0, *pre_id = vin ? preload(vin, &w, &npre) : NULL;
    tokstore ts = {0};
    buf file = {0}, text = {0}, norm = {0};
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < nsplit[s]; i++) {
            doc *d = &docs.d[order[s][i]];
            size_t n;
            const char *p;
            if (d->path) {
                if (read_file(d->path, &file) != 0)
                    die("cannot read '%s': %s", d->path, strerror(errno));
                bytes += file.n;
                p = doc_text(&o, &file, &text, &n);
            } else {
                p = corpus.p + d->off;
                n = d->len;
            }
            d->tok_off = ts.n;
            d->ntok = tokenize(&o, p, n, &w, &ts, s == 0, &norm);
        }
    }
    double t_read = now() - t0;

    /* 4. the Keras vocabulary of /train (or --vocab-from's) */
    vocab v;
    build_vocab(&o, &w, vin, pre_id, npre, &v);
    uint64_t train_tokens = 0, train_kept = 0, all_tokens = 0;
    for (size_t i = 0; i < nsplit[0]; i++) {
        const doc *d = &docs.d[order[0][i]];
        for (uint32_t j = 0; j < d->ntok; j++) train_kept += v.map[ts.t[d->tok_off + j]] >= v.base;
        train_tokens += d->ntok;
    }

    /* 5. lengths after texts_to_sequences, then pad_sequences */
    uint32_t *len = xrealloc(NULL, sizeof *len * (ndocs + 1));
    uint32_t maxseen = 0;
    for (size_t i = 0; i < ndocs; i++) {
        uint32_t l = 0;
        for (uint32_t j = 0; j < docs.d[i].ntok; j++) l += v.map[ts.t[docs.d[i].tok_off + j]] != 0;
        len[i] = l;
        if (l > maxseen) maxseen = l;
        all_tokens += docs.d[i].ntok;
    }
    size_t maxlen = o.maxlen ? (size_t)o.maxlen : (maxseen ? maxseen : 1);
    o.maxlen = (long)maxlen; /* recorded in the file for --vocab-from */
    int32_t *x[3], *y[3], *seq = xrealloc(NULL, sizeof *seq * (maxseen + 1));
    size_t ntrunc = 0, nempty = 0;
    for (int s = 0; s < 3; s++) {
        x[s] = calloc(nsplit[s] * maxlen + 1, sizeof *x[s]);
        y[s] = xrealloc(NULL, sizeof *y[s] * (nsplit[s] + 1));
        if (!x[s]) die("out of memory (%zu x %zu ids)", nsplit[s], maxlen);
        for (size_t i = 0; i < nsplit[s]; i++) {
            const doc *d = &docs.d[order[s][i]];
            size_t l = 0;
            for (uint32_t j = 0; j < d->ntok; j++) {
                int32_t m = v.map[ts.t[d->tok_off + j]];
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
        if (nsplit[s] == 0 && (s > 0 || o.test_frac >= 1.0)) continue;
        st_split_data sv = {split_name[s], nsplit[s], (int)maxlen, 1, x[s], NULL, y[s], 0};
        sd[nsd++] = sv;
    }
    char vpath[4096], tmp[4200];
    write_all(&o, &v, cname, ncls, ncls, sd, nsd, vpath, sizeof vpath);
    if (o.manifest) {
        FILE *f = open_tmp(o.manifest, tmp, sizeof tmp);
        for (int s = 0; s < 3; s++)
            for (size_t i = 0; i < nsplit[s]; i++) {
                const doc *d = &docs.d[order[s][i]];
                if (d->path)
                    fprintf(f, "%s %zu %d %s\n", split_name[s], i, d->cls, d->path);
                else
                    fprintf(f, "%s %zu %d %s:%ld\n", split_name[s], i, d->cls, d->src, d->line);
            }
        close_tmp(f, tmp, o.manifest);
    }

    /* 7. summary */
    double t_all = now() - t0;
    uint32_t *sorted = xrealloc(NULL, sizeof *sorted * (ndocs + 1));
    memcpy(sorted, len, sizeof *len * ndocs);
    qsort(sorted, ndocs, sizeof *sorted, cmp_u32);
    printf("%s: %zu documents, %d classes, %.1f MB read in %.2f s (%.2f s in all)\n", o.out, ndocs,
           ncls, (double)bytes / 1e6, t_read, t_all);
    for (int c = 0; c < ncls; c++)
        printf("  class %d %s: %zu documents (train %zu, valid %zu, test %zu)\n", c, cname[c],
               per_cls[c][0] + per_cls[c][1] + per_cls[c][2], per_cls[c][0], per_cls[c][1],
               per_cls[c][2]);
    printf("  splits: train %zu, valid %zu, test %zu\n", nsplit[0], nsplit[1], nsplit[2]);
    printf("  tokens: %llu in train, %llu in all documents\n", (unsigned long long)train_tokens,
           (unsigned long long)all_tokens);
    print_vocab(&o, &v, train_tokens, train_kept);
    printf("  length: p50 %u, p90 %u, p99 %u, max %u ids per document\n", percentile(sorted, ndocs, 50),
           percentile(sorted, ndocs, 90), percentile(sorted, ndocs, 99), sorted[ndocs - 1]);
    printf("  maxlen %zu (padding %s, truncating %s): %zu truncated (%.1f%%), %zu empty\n", maxlen,
           o.pad_post ? "post" : "pre", o.trunc_post ? "post" : "pre", ntrunc,
           100.0 * (double)ntrunc / (double)ndocs, nempty);
    printf("  wrote %s (/vocab %zu ids, /classes %d), %s\n", o.out, v.nword, ncls, vpath);

    for (int s = 0; s < 3; s++) {
        free(x[s]);
        free(y[s]);
        free(order[s]);
    }
    for (size_t i = 0; i < ndocs; i++) free(docs.d[i].path);
    free(docs.d);
    free(corpus.p);
    free(per_cls);
    free(len);
    free(seq);
    free(sorted);
    free(ts.t);
    free(file.p);
    free(text.p);
    free(norm.p);
    free(pre_id);
    free(cls_id);
    vocab_free(&v);
    words_free(&w);
    words_free(&lb.values);
    for (int c = 0; c < lb.n; c++) free(lb.names[c]);
    free(lb.names);
    if (lb.from && lb.from != o.vocab_from) free((char *)lb.from);
    if (o.mode == MODE_DIRS && !(vin && vin->classes)) free((void *)cname);
    if (vin) vocab_in_free(vin);
    opts_free(&o);
    return 0;
}
