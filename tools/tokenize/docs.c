/*
 * docs.c - documents: listing the files of a class directory, the seeded shuffle and the
 * share of a split, and the text of one document (raw, or decoded with --mail).
 *
 * Data layout: a doclist is one growable array of doc records (docs.h); a document's text is
 * not kept: files are read again when tokenized (main.c), CSV texts live in one corpus buffer
 * and a doc holds their offset. The order of files is their names' byte order (strcmp), so a
 * run is reproducible whatever readdir returns.
 *
 * What it does not do: recurse into subdirectories, follow anything but regular files, or
 * read the files it lists.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seqtrain/rng.h"
#include "tokenize/docs.h"
#include "tokenize/mime.h"

/* Grows by doubling from 4096: corpora run to hundreds of thousands of documents. */
doc *st_tok_doc_add(doclist *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->d = st_tok_xrealloc(l->d, sizeof *l->d * l->cap);
    }
    doc *d = &l->d[l->n++];
    memset(d, 0, sizeof *d);
    d->split = -1;
    return d;
}

/* Byte order of file names (strcmp, not the locale): the same listing on every machine. */
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the files of dir (sorted by name) to docs, as class cls in split (-1: the pool). */
void st_tok_list_dir(const opts *o, const char *dir, int cls, int split, doclist *docs) {
    DIR *d = opendir(dir);
    if (!d) st_tok_die("cannot open directory '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, ncap = 0, slen = o->suffix ? strlen(o->suffix) : 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(e->d_name);
        if (o->suffix && (len < slen || strcmp(e->d_name + len - slen, o->suffix) != 0)) continue;
        if (n == ncap) {
            ncap = ncap ? ncap * 2 : 1024;
            names = st_tok_xrealloc(names, sizeof *names * ncap);
        }
        names[n++] = st_tok_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    size_t dlen = strlen(dir);
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(names[i]);
        char *path = st_tok_xrealloc(NULL, dlen + nlen + 2);
        memcpy(path, dir, dlen);
        path[dlen] = '/';
        memcpy(path + dlen + 1, names[i], nlen + 1);
        free(names[i]);
        struct stat st;
        if (stat(path, &st) != 0) st_tok_die("cannot stat '%s': %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode)) { /* subdirectories, sockets, ... */
            free(path);
            continue;
        }
        doc *dc = st_tok_doc_add(docs);
        dc->path = path;
        dc->cls = cls;
        dc->split = split;
    }
    free(names);
}

/* Fisher-Yates from the end; st_rng is counter-based, so (seed, stream) fixes the order
 * independently of anything else drawn in the run. */
void st_tok_shuffle(size_t *a, size_t n, uint64_t seed, uint64_t stream) {
    st_rng r = st_rng_make(seed, stream);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)st_rng_below(&r, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Rows of each class for a split: round half up of fraction * n. */
size_t st_tok_share(double frac, size_t n) { return (size_t)floor(frac * (double)n + 0.5); }

/* The text of a document read into file: the bytes themselves, or with --mail the message's
 * decoded text (in text). */
const char *st_tok_doc_text(const opts *o, buf *file, buf *text, size_t *n) {
    if (!o->mail) {
        *n = file->n;
        return file->p ? file->p : "";
    }
    file->n = st_tok_crlf_to_lf(file->p, file->n);
    text->n = 0;
    st_tok_mail_entity(file->p, file->p + file->n, 1, 0, text);
    text->n = st_tok_crlf_to_lf(text->p, text->n); /* decoded parts may bring their own CRLFs */
    *n = text->n;
    return text->p ? text->p : "";
}
