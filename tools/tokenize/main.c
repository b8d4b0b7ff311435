/*
 * main.c (seqtrain-tokenize) - turns a text corpus into a seqtrain token dataset (data.h
 * schema), with the semantics of Keras' Tokenizer + pad_sequences.
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
 *
 * The code (tools/tokenize/, files listed in tok.h): this file is the pipeline above, main(),
 * run_text (--text) and run_docs (--class, --csv); each step lives in the file named after it.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "tokenize/csv.h"
#include "tokenize/docs.h"
#include "tokenize/output.h"
#include "tokenize/tok.h"
#include "tokenize/tokens.h"
#include "tokenize/utf8.h"
#include "tokenize/vocab.h"

/* Ascending document lengths, for the percentiles of the summary. */
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

/* --text: a language-model dataset (module comment). */
static int run_text(opts *o, const vocab_in *vin, double t0) {
    words w = {0};
    st_tok_words_rehash(&w, 1u << 17);
    uint32_t npre = 0, *pre_id = vin ? st_tok_preload(vin, &w, &npre) : NULL;
    tokstore ts = {0};
    buf file = {0}, norm = {0};
    size_t bytes = 0, L[2] = {0, 0};
    const char *files[2] = {o->text, o->test_text};
    for (int f = 0; f < 2; f++) {
        if (!files[f]) continue;
        if (st_tok_read_file(files[f], &file) != 0)
            st_tok_die("cannot read '%s': %s", files[f], strerror(errno));
        if (file.n == 0) st_tok_die("%s: empty file", files[f]);
        st_tok_refuse_binary(files[f], file.p, file.n, "text");
        size_t skip = file.n >= 3 && memcmp(file.p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        bytes += file.n;
        size_t before = ts.n;
        st_tok_tokenize(o, file.p + skip, file.n - skip, &w, &ts, 0, &norm);
        L[f] = ts.n - before;
    }
    double t_read = st_tok_now() - t0;
    /* Parts by position, cut before windowing: [lo[s], hi[s]) of the token stream. */
    size_t lo[3], hi[3];
    size_t nv = st_tok_share(o->valid_frac, L[0]), nt = o->test_text ? 0 : st_tok_share(o->test_frac, L[0]);
    lo[0] = 0;
    hi[0] = L[0] - nt - nv;
    lo[1] = hi[0];
    hi[1] = lo[1] + nv;
    lo[2] = hi[1];
    hi[2] = L[0] + L[1];
    for (size_t i = lo[0]; i < hi[0]; i++) w.count[ts.t[i]]++;
    vocab v;
    st_tok_build_vocab(o, &w, vin, pre_id, npre, &v);
    uint64_t kept = 0;
    for (size_t i = lo[0]; i < hi[0]; i++) kept += v.map[ts.t[i]] >= v.base;

    static const char *split_name[3] = {"train", "valid", "test"};
    const size_t T = (size_t)o->seq_len, S = (size_t)o->stride;
    int32_t *x[3] = {0}, *y[3] = {0};
    size_t nrow[3] = {0}, nids[3] = {0};
    int32_t *seq = st_tok_xrealloc(NULL, sizeof *seq * (ts.n + 1));
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
            st_tok_die("%s: the %s part has %zu ids, fewer than --seq-len + 1 = %zu (a shorter --seq-len, "
                "or a smaller --test-fraction/--valid-fraction?)",
                s == 2 && o->test_text ? o->test_text : o->text, split_name[s], n, T + 1);
        x[s] = st_tok_xrealloc(NULL, sizeof *x[s] * (nrow[s] * T + 1));
        y[s] = st_tok_xrealloc(NULL, sizeof *y[s] * (nrow[s] * T + 1));
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
    st_tok_write_all(o, &v, NULL, 0, (int)v.vocab_size, sd, nsd, vpath, sizeof vpath);

    printf("%s: %s%s%s, %zu %s, %.1f MB read in %.2f s (%.2f s in all)\n", o->out, o->text,
           o->test_text ? " + " : "", o->test_text ? o->test_text : "", L[0] + L[1],
           o->char_level ? "characters" : "words", (double)bytes / 1e6, t_read, st_tok_now() - t0);
    for (int s = 0; s < 3; s++)
        printf("  %s: %zu tokens -> %zu ids -> %zu rows of %zu (stride %zu)\n", split_name[s],
               hi[s] - lo[s], nids[s], nrow[s], T, S);
    st_tok_print_vocab(o, &v, hi[0] - lo[0], kept);
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
    st_tok_vocab_free(&v);
    st_tok_words_free(&w);
    return 0;
}

/* Ascending document indices: --no-shuffle keeps each split in input order. */
static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : (x > y);
}

/* --class / --csv: a classification dataset, steps 1-6 of the module comment, then the
 * summary. o->maxlen is set to the length used (recorded for --vocab-from). */
static int run_docs(opts *o, const vocab_in *vin, double t0) {
    /* 1. documents and classes */
    doclist docs = {0};
    buf corpus = {0};
    size_t bytes = 0;
    const char *const *cname;
    int ncls;
    labels lb = {0};
    int *cls_id = NULL;
    if (o->mode == MODE_DIRS) {
        cls_id = st_tok_xrealloc(NULL, sizeof *cls_id * (size_t)o->ncls);
        if (vin && vin->classes) {
            for (int k = 0; k < o->ncls; k++) {
                cls_id[k] = -1;
                for (size_t j = 0; j < vin->ncls && cls_id[k] < 0; j++)
                    if (strcmp(vin->classes[j], o->cls[k].name) == 0) cls_id[k] = (int)j;
                if (cls_id[k] < 0)
                    st_tok_die("--class %s: not one of the classes of %s", o->cls[k].name, o->vocab_from);
            }
            cname = (const char *const *)vin->classes;
            ncls = (int)vin->ncls;
        } else {
            char **names = st_tok_xrealloc(NULL, sizeof *names * (size_t)o->ncls);
            for (int k = 0; k < o->ncls; k++) {
                names[k] = o->cls[k].name;
                cls_id[k] = k;
            }
            cname = (const char *const *)names;
            ncls = o->ncls;
        }
        for (int k = 0; k < o->ncls; k++) {
            const tclass *c = &o->cls[k];
            size_t before = docs.n;
            for (int j = 0; j < c->ndirs; j++) st_tok_list_dir(o, c->dirs[j], cls_id[k], -1, &docs);
            if (docs.n == before)
                st_tok_die("class '%s': no files in %s%s%s", c->name, c->dirs[0], c->ndirs > 1 ? ",..." : "",
                    o->suffix ? " with that --suffix" : "");
            before = docs.n;
            for (int j = 0; j < c->ntdirs; j++)
                st_tok_list_dir(o, c->tdirs[j], cls_id[k], 2, &docs);
            if (c->ntdirs && docs.n == before)
                st_tok_die("class '%s': no test files in %s%s%s", c->name, c->tdirs[0],
                    c->ntdirs > 1 ? ",..." : "", o->suffix ? " with that --suffix" : "");
        }
    } else {
        st_tok_words_rehash(&lb.values, 64);
        if (o->classes_arg) st_tok_fixed_classes(o->classes_arg, &lb);
        if (vin && vin->classes) {
            if (o->classes_arg) { /* renamed values: the names must be the file's */
                int same = (size_t)lb.n == vin->ncls;
                for (int k = 0; same && k < lb.n; k++) same = strcmp(lb.names[k], vin->classes[k]) == 0;
                if (!same) st_tok_usage_error("--classes %s: not the classes of %s", o->classes_arg, o->vocab_from);
            } else {
                for (size_t k = 0; k < vin->ncls; k++) {
                    st_tok_words_intern(&lb.values, vin->classes[k], strlen(vin->classes[k]));
                    lb.names = st_tok_xrealloc(lb.names, sizeof *lb.names * (k + 1));
                    lb.names[k] = st_tok_xstrdup(vin->classes[k]);
                }
                lb.n = (int)vin->ncls;
                lb.fixed = 1;
                lb.from = o->vocab_from;
            }
        }
        csv_layout lay = {0};
        st_tok_read_csv(o, o->csv, -1, &lay, &lb, &docs, &corpus, &bytes);
        if (o->test_csv) st_tok_read_csv(o, o->test_csv, 2, &lay, &lb, &docs, &corpus, &bytes);
        cname = (const char *const *)lb.names;
        ncls = lb.n;
        free(lay.text);
    }
    const size_t ndocs = docs.n;

    /* 2. stratified split of the pool, then each split shuffled as a whole */
    size_t *order[3], nsplit[3] = {0, 0, 0};
    for (int s = 0; s < 3; s++) order[s] = st_tok_xrealloc(NULL, sizeof(size_t) * (ndocs + 1));
    size_t (*per_cls)[3] = calloc((size_t)ncls + 1, sizeof *per_cls);
    size_t *idx = st_tok_xrealloc(NULL, sizeof *idx * (ndocs + 1));
    size_t *cstart = calloc((size_t)ncls + 2, sizeof *cstart);
    if (!per_cls || !cstart) st_tok_die("out of memory");
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
        st_tok_shuffle(ci, n, o->seed, 0x5350u + (uint64_t)c); /* stream per class */
        size_t ntest = st_tok_share(o->test_frac, n), nvalid = st_tok_share(o->valid_frac, n);
        if (o->test_frac < 1.0 && ntest + nvalid >= n)
            st_tok_die("class '%s' has %zu documents: too few to split", cname[c], n);
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
        if (o->shuffle)
            st_tok_shuffle(order[s], nsplit[s], o->seed, 0x53504c00u + (uint64_t)s);
        else
            qsort(order[s], nsplit[s], sizeof *order[s], cmp_size);
    }

    /* 3. read and tokenize, train first (the vocabulary's first-seen order is /train's order) */
    words w = {0};
    st_tok_words_rehash(&w, 1u << 17);
    uint32_t npre = 0, *pre_id = vin ? st_tok_preload(vin, &w, &npre) : NULL;
    tokstore ts = {0};
    buf file = {0}, text = {0}, norm = {0};
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < nsplit[s]; i++) {
            doc *d = &docs.d[order[s][i]];
            size_t n;
            const char *p;
            if (d->path) {
                if (st_tok_read_file(d->path, &file) != 0)
                    st_tok_die("cannot read '%s': %s", d->path, strerror(errno));
                bytes += file.n;
                p = st_tok_doc_text(o, &file, &text, &n);
            } else {
                p = corpus.p + d->off;
                n = d->len;
            }
            d->tok_off = ts.n;
            d->ntok = st_tok_tokenize(o, p, n, &w, &ts, s == 0, &norm);
        }
    }
    double t_read = st_tok_now() - t0;

    /* 4. the Keras vocabulary of /train (or --vocab-from's) */
    vocab v;
    st_tok_build_vocab(o, &w, vin, pre_id, npre, &v);
    uint64_t train_tokens = 0, train_kept = 0, all_tokens = 0;
    for (size_t i = 0; i < nsplit[0]; i++) {
        const doc *d = &docs.d[order[0][i]];
        for (uint32_t j = 0; j < d->ntok; j++) train_kept += v.map[ts.t[d->tok_off + j]] >= v.base;
        train_tokens += d->ntok;
    }

    /* 5. lengths after texts_to_sequences, then pad_sequences */
    uint32_t *len = st_tok_xrealloc(NULL, sizeof *len * (ndocs + 1));
    uint32_t maxseen = 0;
    for (size_t i = 0; i < ndocs; i++) {
        uint32_t l = 0;
        for (uint32_t j = 0; j < docs.d[i].ntok; j++) l += v.map[ts.t[docs.d[i].tok_off + j]] != 0;
        len[i] = l;
        if (l > maxseen) maxseen = l;
        all_tokens += docs.d[i].ntok;
    }
    size_t maxlen = o->maxlen ? (size_t)o->maxlen : (maxseen ? maxseen : 1);
    o->maxlen = (long)maxlen; /* recorded in the file for --vocab-from */
    int32_t *x[3], *y[3], *seq = st_tok_xrealloc(NULL, sizeof *seq * (maxseen + 1));
    size_t ntrunc = 0, nempty = 0;
    for (int s = 0; s < 3; s++) {
        x[s] = calloc(nsplit[s] * maxlen + 1, sizeof *x[s]);
        y[s] = st_tok_xrealloc(NULL, sizeof *y[s] * (nsplit[s] + 1));
        if (!x[s]) st_tok_die("out of memory (%zu x %zu ids)", nsplit[s], maxlen);
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
                from = o->trunc_post ? 0 : l - maxlen; /* 'pre' cuts the beginning */
            }
            if (l == 0) nempty++;
            int32_t *row = x[s] + i * maxlen + (o->pad_post ? 0 : maxlen - keep);
            memcpy(row, seq + from, keep * sizeof *seq);
            y[s][i] = d->cls;
        }
    }

    /* 6. write */
    static const char *split_name[3] = {"train", "valid", "test"};
    st_split_data sd[3];
    int nsd = 0;
    for (int s = 0; s < 3; s++) {
        if (nsplit[s] == 0 && (s > 0 || o->test_frac >= 1.0)) continue;
        st_split_data sv = {split_name[s], nsplit[s], (int)maxlen, 1, x[s], NULL, y[s], 0};
        sd[nsd++] = sv;
    }
    char vpath[4096];
    st_tok_write_all(o, &v, cname, ncls, ncls, sd, nsd, vpath, sizeof vpath);
    if (o->manifest) {
        st_atomic a;
        FILE *f = st_tok_out_open(&a, o->manifest);
        for (int s = 0; s < 3; s++)
            for (size_t i = 0; i < nsplit[s]; i++) {
                const doc *d = &docs.d[order[s][i]];
                if (d->path)
                    fprintf(f, "%s %zu %d %s\n", split_name[s], i, d->cls, d->path);
                else
                    fprintf(f, "%s %zu %d %s:%ld\n", split_name[s], i, d->cls, d->src, d->line);
            }
        st_tok_out_commit(&a);
    }

    /* 7. summary */
    double t_all = st_tok_now() - t0;
    uint32_t *sorted = st_tok_xrealloc(NULL, sizeof *sorted * (ndocs + 1));
    memcpy(sorted, len, sizeof *len * ndocs);
    qsort(sorted, ndocs, sizeof *sorted, cmp_u32);
    printf("%s: %zu documents, %d classes, %.1f MB read in %.2f s (%.2f s in all)\n", o->out, ndocs,
           ncls, (double)bytes / 1e6, t_read, t_all);
    for (int c = 0; c < ncls; c++)
        printf("  class %d %s: %zu documents (train %zu, valid %zu, test %zu)\n", c, cname[c],
               per_cls[c][0] + per_cls[c][1] + per_cls[c][2], per_cls[c][0], per_cls[c][1],
               per_cls[c][2]);
    printf("  splits: train %zu, valid %zu, test %zu\n", nsplit[0], nsplit[1], nsplit[2]);
    printf("  tokens: %llu in train, %llu in all documents\n", (unsigned long long)train_tokens,
           (unsigned long long)all_tokens);
    st_tok_print_vocab(o, &v, train_tokens, train_kept);
    printf("  length: p50 %u, p90 %u, p99 %u, max %u ids per document\n", percentile(sorted, ndocs, 50),
           percentile(sorted, ndocs, 90), percentile(sorted, ndocs, 99), sorted[ndocs - 1]);
    printf("  maxlen %zu (padding %s, truncating %s): %zu truncated (%.1f%%), %zu empty\n", maxlen,
           o->pad_post ? "post" : "pre", o->trunc_post ? "post" : "pre", ntrunc,
           100.0 * (double)ntrunc / (double)ndocs, nempty);
    printf("  wrote %s (/vocab %zu ids, /classes %d), %s\n", o->out, v.nword, ncls, vpath);

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
    st_tok_vocab_free(&v);
    st_tok_words_free(&w);
    st_tok_words_free(&lb.values);
    for (int c = 0; c < lb.n; c++) free(lb.names[c]);
    free(lb.names);
    if (lb.from && lb.from != o->vocab_from) free((char *)lb.from);
    if (o->mode == MODE_DIRS && !(vin && vin->classes)) free((void *)cname);
    return 0;
}

/* --show-text, or --vocab-from then one of the two pipelines; the options and the loaded
 * vocabulary are freed here, whatever the pipeline. */
int main(int argc, char **argv) {
    opts o;
    st_tok_parse_args(&o, argc, argv);
    double t0 = st_tok_now();
    if (o.show) {
        buf file = {0}, text = {0};
        for (int i = optind; i < argc; i++) {
            size_t n;
            if (st_tok_read_file(argv[i], &file) != 0)
                st_tok_die("cannot read '%s': %s", argv[i], strerror(errno));
            const char *p = st_tok_doc_text(&o, &file, &text, &n);
            fwrite(p, 1, n, stdout);
            if (argc - optind > 1) fputc(0, stdout);
        }
        free(file.p);
        free(text.p);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    vocab_in vin_s, *vin = NULL;
    if (o.vocab_from) {
        st_tok_load_vocab_from(&o, &vin_s);
        vin = &vin_s;
    }
    if (o.mode == MODE_TEXT) {
        int rc = run_text(&o, vin, t0);
        if (vin) st_tok_vocab_in_free(vin);
        st_tok_opts_free(&o);
        return rc;
    }

    int rc = run_docs(&o, vin, t0);
    if (vin) st_tok_vocab_in_free(vin);
    st_tok_opts_free(&o);
    return rc;
}
