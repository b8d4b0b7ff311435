/*
 * inspect.c - the report of `seqtrain inspect` (inspect.h): a dataset file's attributes,
 * datasets, and per split its class balance, sequence lengths and padding (token data) or
 * value ranges (float data).
 *
 * Each split is opened with st_split_open, so a file the trainer would refuse is refused here
 * with the same message, then read front to back in chunks of rows (CHUNK_BYTES of x at a time,
 * plus the matching y): memory is O(chunk + T + K + F), whatever the number of rows. Per row
 * of token ids we keep only its real length (the number of non-zero ids) in a histogram of
 * T + 1 bins, which is all the percentiles and the truncation at any maxlen need; per feature,
 * running min, max, sum and sum of squares (in double).
 *
 * HDF5 is included here (through io/h5.h, whose describe names a dataset's type and shape) as
 * in the other src/io files; the rest of the program sees only inspect.h. Written against the HDF5 1.10 API (H5Ovisit2, Debian 12's libhdf5).
 *
 * Not here: MPI (the caller runs this on rank 0 alone) and any judgement of the data beyond
 * counting what the trainer would refuse.
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/text.h"
#include "io/h5.h"
#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "seqtrain/inspect.h"

/* x bytes per read: large enough that HDF5 call overhead does not matter, small enough to be
 * nothing next to a rank's memory. */
#define CHUNK_BYTES (4u << 20)
/* A per-feature table is printed up to this many features; above it, a one-line summary. */
#define MAX_FEATURE_LINES 32

/* ---- small helpers ------------------------------------------------------------------------- */

/* The lines of a text file (without their '\n'), st_malloc'd like st_dataset_read_strings'
 * (free_strings): 1 if the file exists and was read, 0 if it does not exist, -1 if it is not
 * a regular file or larger than ST_DATA_MAX_STRING_BYTES (then it is not read). Older datasets of seqtrain-tokenize have their names in
 * OUT.classes.txt and OUT.vocab.txt next to them (line k: class k, word of id k) instead of
 * /classes and /vocab. */
static int read_lines(const char *path, char ***w, size_t *n) {
    *w = NULL;
    *n = 0;
    /* A side file is as untrusted as the dataset: a FIFO there must not block (O_NONBLOCK,
     * then only a regular file is read) and its size bounds what getline can allocate. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > ST_DATA_MAX_STRING_BYTES) {
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return 0;
    }
    size_t cap = 64, cnt = 0;
    char **a = st_malloc(cap * sizeof(char *));
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while (cnt < ST_DATA_MAX_STRINGS && (len = getline(&line, &lcap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (cnt == cap) {
            char **b = st_malloc(2 * cap * sizeof(char *));
            memcpy(b, a, cap * sizeof(char *));
            st_free(a);
            a = b;
            cap *= 2;
        }
        a[cnt++] = st_strdup(line);
    }
    free(line); /* getline's buffer comes from malloc */
    fclose(f);
    *w = a;
    *n = cnt;
    return 1;
}

static void free_strings(char **w, size_t n) {
    for (size_t i = 0; i < n; i++) st_free(w[i]);
    st_free(w);
}

/* ---- attributes and the object listing ----------------------------------------------------- */

/* One root attribute as "name = value": numbers and strings in full (strings cut at 60
 * characters: a checkpoint's config is long), anything else as its type and size. */
static herr_t print_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)info;
    FILE *out = data;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return 0;
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    H5T_class_t cls = H5Tget_class(t);
    fputs("  ", out);
    st_escape_put(out, name, 60);
    fputs(" = ", out);
    if (cls == H5T_INTEGER && np == 1) {
        long long v = 0;
        H5Aread(a, H5T_NATIVE_LLONG, &v);
        fprintf(out, "%lld\n", v);
    } else if (cls == H5T_FLOAT && np == 1) {
        double v = 0;
        H5Aread(a, H5T_NATIVE_DOUBLE, &v);
        fprintf(out, "%g\n", v);
    } else if (cls == H5T_STRING && np == 1) {
        char *s = NULL;
        if (st_h5_read_attr_str(loc, name, &s) > 0) {
            fputc('"', out);
            st_escape_put(out, s, 60);
            fputs("\"\n", out);
        } else {
            fputs("(unreadable string)\n", out);
        }
        st_free(s);
    } else {
        fprintf(out, "(%s, %lld values)\n",
                cls == H5T_INTEGER ? "integers" : cls == H5T_FLOAT ? "floats"
                : cls == H5T_STRING ? "strings" : "other",
                (long long)np);
    }
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return 0;
}

static herr_t print_object(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    FILE *out = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0) return 0;
    char desc[160];
    st_h5_describe(d, "other", desc, sizeof desc);
    H5Dclose(d);
    /* Escaped, then padded to the column the unescaped names used. */
    char esc[128];
    fprintf(out, "  /%-20s %s\n", st_escape(esc, sizeof esc, name, 60), desc);
    return 0;
}

/* ---- one split ----------------------------------------------------------------------------- */

typedef struct stats {
    size_t n;
    int T, F, tokens, yT, K, V;
    size_t *cls;                /* (K) rows per class; per-step labels: real steps per class */
    size_t label_steps;         /* labels counted */
    size_t bad_label, bad_label_row;
    long bad_label_val;
    /* token data */
    size_t *len_hist;           /* (T + 1) rows by real length */
    size_t pre, post, full, empty, mixed;
    size_t bad_id, bad_id_row;
    long bad_id_val;
    /* float data */
    double *fmin, *fmax, *fsum, *fsq; /* (F) */
    size_t nonfinite, nonfinite_row;
} stats;

/* Rows [r0, r0 + c) of dset (all other dims whole) into buf as memtype. */
static int read_chunk(hid_t dset, size_t r0, size_t c, hid_t memtype, void *buf) {
    hsize_t dims[H5S_MAX_RANK], start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    hid_t fs = H5Dget_space(dset), ms = -1;
    int ok = 0;
    if (fs < 0) return ST_ERR;
    int rank = H5Sget_simple_extent_dims(fs, dims, NULL);
    if (rank >= 1) {
        for (int i = 1; i < rank; i++) count[i] = dims[i];
        start[0] = r0;
        count[0] = c;
        ok = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             (ms = H5Screate_simple(rank, count, NULL)) >= 0 &&
             H5Dread(dset, memtype, ms, fs, H5P_DEFAULT, buf) >= 0;
    }
    if (ms >= 0) H5Sclose(ms);
    H5Sclose(fs);
    return ok ? ST_OK : ST_ERR;
}

/* One row of token ids: its real length into the histogram, its padding side, bad ids. */
static void token_row(stats *st, const int32_t *row, size_t r) {
    const int T = st->T;
    int len = 0, first = -1, last = -1;
    for (int t = 0; t < T; t++) {
        int32_t v = row[t];
        if (v == 0) continue;
        len++;
        if (first < 0) first = t;
        last = t;
        if ((v < 0 || v >= st->V) && st->bad_id++ == 0) {
            st->bad_id_row = r;
            st->bad_id_val = v;
        }
    }
    st->len_hist[len]++;
    if (len == 0)
        st->empty++;
    else if (len == T)
        st->full++;
    else if (last - first + 1 != len)
        st->mixed++; /* zeros inside the real steps */
    else if (last == T - 1)
        st->pre++;
    else if (first == 0)
        st->post++;
    else
        st->mixed++; /* padded on both sides */
}

static void count_label(stats *st, int32_t v, size_t r) {
    st->label_steps++;
    if (v >= 0 && v < st->K) {
        st->cls[v]++;
    } else if (st->bad_label++ == 0) {
        st->bad_label_row = r;
        st->bad_label_val = v;
    }
}

/* Streams the split through the counters. */
static int scan_split(const st_split *s, stats *st, size_t chunk_rows) {
    const size_t Te = (size_t)(s->T ? s->T : 1), rl = Te * (size_t)s->F;
    const size_t yl = (size_t)(s->yT ? s->yT : 1);
    size_t c = chunk_rows ? chunk_rows : CHUNK_BYTES / (rl * 4);
    if (c < 1) c = 1;
    if (c > s->n) c = s->n ? s->n : 1;
    void *xb = st_malloc(c * rl * 4);
    int32_t *yb = st_malloc(c * yl * sizeof(int32_t));
    int rc = ST_OK;
    for (size_t r0 = 0; r0 < s->n && rc == ST_OK; r0 += c) {
        size_t m = s->n - r0 < c ? s->n - r0 : c;
        if (read_chunk(s->x, r0, m, s->tokens ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, xb) ||
            read_chunk(s->y, r0, m, H5T_NATIVE_INT32, yb)) {
            st_error_set("%s: reading rows %zu..%zu of /%s failed (HDF5 read error)",
                         s->ds->path, r0, r0 + m - 1, s->name);
            rc = ST_ERR;
            break;
        }
        for (size_t i = 0; i < m; i++) {
            size_t r = r0 + i;
            if (s->tokens) {
                const int32_t *row = (const int32_t *)xb + i * rl;
                token_row(st, row, r);
                /* Per-step labels count where the input is real, as the loss does. */
                for (size_t j = 0; j < yl; j++)
                    if (!s->yT || row[j] != 0) count_label(st, yb[i * yl + j], r);
                continue;
            }
            const float *row = (const float *)xb + i * rl;
            for (size_t j = 0; j < rl; j++) {
                double v = row[j];
                size_t f = j % (size_t)s->F;
                if (!isfinite(v)) {
                    if (st->nonfinite++ == 0) st->nonfinite_row = r;
                    continue;
                }
                if (v < st->fmin[f]) st->fmin[f] = v;
                if (v > st->fmax[f]) st->fmax[f] = v;
                st->fsum[f] += v;
                st->fsq[f] += v * v;
            }
            for (size_t j = 0; j < yl; j++) count_label(st, yb[i * yl + j], r);
        }
    }
    st_free(xb);
    st_free(yb);
    return rc;
}

/* Nearest-rank percentile of the length histogram: the smallest L with at least
 * ceil(p% of n) rows of length <= L. */
static int percentile(const stats *st, int p) {
    size_t target = ((size_t)p * st->n + 99) / 100, cum = 0;
    if (target < 1) target = 1;
    for (int L = 0; L <= st->T; L++) {
        cum += st->len_hist[L];
        if (cum >= target) return L;
    }
    return st->T;
}

static void print_classes(FILE *out, const stats *st, char **names, size_t nnames, int maxc) {
    const int K = st->K;
    size_t total = 0;
    for (int k = 0; k < K; k++) total += st->cls[k];
    int unused = 0;
    for (int k = 0; k < K; k++) unused += st->cls[k] == 0;
    fprintf(out, "  classes: %d%s", K, st->yT ? " (counted over real steps)" : "");
    if (unused) fprintf(out, ", %d without any %s", unused, st->yT ? "step" : "row");
    fputc('\n', out);
    /* The classes to list: all in id order, or the most frequent `maxc` (ties by id). */
    int *ord = st_malloc((size_t)K * sizeof(int));
    for (int k = 0; k < K; k++) ord[k] = k;
    int shown = K;
    if (K > maxc) {
        for (int i = 1; i < K; i++) { /* insertion sort by count, descending; stable */
            int v = ord[i], j = i;
            while (j > 0 && st->cls[ord[j - 1]] < st->cls[v]) {
                ord[j] = ord[j - 1];
                j--;
            }
            ord[j] = v;
        }
        shown = maxc;
    }
    int idw = snprintf(NULL, 0, "%d", K - 1);
    size_t rest = total;
    for (int i = 0; i < shown; i++) {
        int k = ord[i];
        fprintf(out, "    %*d ", idw, k);
        if ((size_t)k < nnames) {
            fputc('\'', out);
            st_escape_put(out, names[k], 24);
            fputs("' ", out);
        }
        fprintf(out, "%zu %.2f%%\n", st->cls[k], total ? 100.0 * st->cls[k] / total : 0.0);
        rest -= st->cls[k];
    }
    if (shown < K)
        fprintf(out, "    ... %d more classes: %zu %.2f%%\n", K - shown, rest,
                total ? 100.0 * rest / total : 0.0);
    st_free(ord);
}

static void print_truncation(FILE *out, const stats *st, int M, const char *why) {
    size_t cut = 0, lost = 0, tokens = 0, pad = 0;
    for (int L = 0; L <= st->T; L++) {
        size_t c = st->len_hist[L];
        tokens += c * (size_t)L;
        if (L > M) {
            cut += c;
            lost += c * (size_t)(L - M);
        } else {
            pad += c * (size_t)(M - L);
        }
    }
    fprintf(out,
            "  maxlen %d%s: %zu rows truncated (%.2f%%), %.2f%% of tokens lost, %.2f%% of steps "
            "padding\n",
            M, why, cut, st->n ? 100.0 * cut / st->n : 0.0, tokens ? 100.0 * lost / tokens : 0.0,
            st->n && M ? 100.0 * pad / ((double)st->n * M) : 0.0);
}

static void print_tokens(FILE *out, const stats *st, const st_inspect_opts *o) {
    size_t tokens = 0;
    int lmin = -1, lmax = 0;
    for (int L = 0; L <= st->T; L++) {
        if (!st->len_hist[L]) continue;
        tokens += st->len_hist[L] * (size_t)L;
        if (lmin < 0) lmin = L;
        lmax = L;
    }
    fprintf(out,
            "  length: min %d, p50 %d, p90 %d, p95 %d, p99 %d, max %d, mean %.2f (non-zero ids "
            "per row)\n",
            lmin < 0 ? 0 : lmin, percentile(st, 50), percentile(st, 90), percentile(st, 95),
            percentile(st, 99), lmax, st->n ? (double)tokens / st->n : 0.0);
    double steps = (double)st->n * st->T;
    fprintf(out,
            "  padding: %.2f%% of steps; rows padded 'pre' %zu, 'post' %zu, both sides or inside "
            "%zu, full length %d %zu, empty %zu\n",
            steps > 0 ? 100.0 * (steps - (double)tokens) / steps : 0.0, st->pre, st->post,
            st->mixed, st->T, st->full, st->empty);
    if (st->full == st->n && st->n)
        fprintf(out, "  every row fills all %d steps (fixed-length windows, or all cut to %d)\n",
                st->T, st->T);
    else if (st->full)
        fprintf(out,
                "  %.2f%% of rows fill all %d steps: if the file was made with maxlen %d, "
                "those were probably cut\n",
                100.0 * st->full / st->n, st->T, st->T);
    if (o->maxlen > 0) {
        print_truncation(out, st, o->maxlen, "");
    } else {
        static const int ps[4] = {50, 90, 95, 99};
        int prev = -1;
        for (int i = 0; i < 4; i++) {
            int M = percentile(st, ps[i]);
            if (M == prev || M < 1) continue;
            char why[16];
            snprintf(why, sizeof why, " (p%d)", ps[i]);
            print_truncation(out, st, M, why);
            prev = M;
        }
    }
    if (st->bad_id)
        fprintf(out, "  WARNING: %zu ids outside [0, vocab_size %d), first at row %zu: %ld\n",
                st->bad_id, st->V, st->bad_id_row, st->bad_id_val);
}

static void print_floats(FILE *out, const stats *st) {
    const int F = st->F;
    const double per = (double)st->n * (st->T ? st->T : 1);
    double mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0;
    for (int f = 0; f < F; f++) {
        if (st->fmin[f] < mn) mn = st->fmin[f];
        if (st->fmax[f] > mx) mx = st->fmax[f];
        sum += st->fsum[f];
        sq += st->fsq[f];
    }
    double cnt = per * F - (double)st->nonfinite;
    double mean = cnt > 0 ? sum / cnt : 0, var = cnt > 0 ? sq / cnt - mean * mean : 0;
    fprintf(out, "  values: min %.6g, max %.6g, mean %.6g, std %.6g (over %.0f values)\n",
            cnt > 0 ? mn : 0, cnt > 0 ? mx : 0, mean, sqrt(var > 0 ? var : 0), cnt);
    /* Per feature (non-finite values are skipped, so a feature's count may be < per). */
    if (F <= MAX_FEATURE_LINES) {
        fprintf(out, "  per feature:\n    %4s %12s %12s %12s %12s\n", "#", "min", "max", "mean",
                "std");
        for (int f = 0; f < F; f++) {
            double m = st->fsum[f] / per, v = st->fsq[f] / per - m * m;
            fprintf(out, "    %4d %12.6g %12.6g %12.6g %12.6g\n", f, st->fmin[f], st->fmax[f], m,
                    sqrt(v > 0 ? v : 0));
        }
    } else {
        int lo = 0, hi = 0, constant = 0;
        for (int f = 0; f < F; f++) {
            if (st->fsum[f] < st->fsum[lo]) lo = f;
            if (st->fsum[f] > st->fsum[hi]) hi = f;
            constant += st->fmin[f] == st->fmax[f];
        }
        fprintf(out,
                "  per feature: means from %.6g (feature %d) to %.6g (feature %d); %d of %d "
                "features constant (min == max)\n",
                st->fsum[lo] / per, lo, st->fsum[hi] / per, hi, constant, F);
    }
    if (st->nonfinite)
        fprintf(out, "  WARNING: %zu values are NaN or infinite, first at row %zu\n",
                st->nonfinite, st->nonfinite_row);
}

static int inspect_split(FILE *out, const st_dataset *d, const char *name,
                         const st_inspect_opts *o, char **classes, size_t nclasses, char **vocab,
                         size_t nvocab) {
    st_split s;
    if (st_split_open(d, name, &s) != ST_OK) return ST_ERR;
    if (st_split_check_written(&s) != ST_OK) {
        st_split_close(&s);
        return ST_ERR;
    }
    stats st;
    memset(&st, 0, sizeof st);
    st.n = s.n;
    st.T = s.T;
    st.F = s.F;
    st.tokens = s.tokens;
    st.yT = s.yT;
    st.K = d->num_classes;
    st.V = d->vocab_size;
    st.cls = st_malloc((size_t)st.K * sizeof(size_t));
    if (s.tokens) {
        st.len_hist = st_malloc(((size_t)s.T + 1) * sizeof(size_t));
    } else {
        st.fmin = st_malloc((size_t)s.F * sizeof(double));
        st.fmax = st_malloc((size_t)s.F * sizeof(double));
        st.fsum = st_malloc((size_t)s.F * sizeof(double));
        st.fsq = st_malloc((size_t)s.F * sizeof(double));
        for (int f = 0; f < s.F; f++) {
            st.fmin[f] = INFINITY;
            st.fmax[f] = -INFINITY;
        }
    }
    int rc = scan_split(&s, &st, o->chunk_rows);
    if (rc == ST_OK) {
        char xd[160], yd[160];
        st_h5_describe(s.x, "other", xd, sizeof xd);
        st_h5_describe(s.y, "other", yd, sizeof yd);
        fputs("\n/", out);
        st_escape_put(out, name, 31);
        fprintf(out, ": %zu rows\n  x %s: ", s.n, xd);
        if (s.tokens)
            fprintf(out, "token ids, %d steps\n", s.T);
        else if (s.T)
            fprintf(out, "%d steps x %d features\n", s.T, s.F);
        else
            fprintf(out, "vectors of %d features\n", s.F);
        fprintf(out, "  y %s: %s\n", yd, s.yT ? "one class per step" : "one class per row");
        /* Per-step labels over tokens are usually next-token ids: /vocab names them. */
        if (nclasses)
            print_classes(out, &st, classes, nclasses, o->max_classes);
        else if (s.yT && s.tokens)
            print_classes(out, &st, vocab, nvocab, o->max_classes);
        else
            print_classes(out, &st, NULL, 0, o->max_classes);
        if (st.bad_label)
            fprintf(out,
                    "  WARNING: %zu labels outside [0, num_classes %d), first at row %zu: %ld\n",
                    st.bad_label, st.K, st.bad_label_row, st.bad_label_val);
        if (s.tokens)
            print_tokens(out, &st, o);
        else
            print_floats(out, &st);
    }
    st_free(st.cls);
    st_free(st.len_hist);
    st_free(st.fmin);
    st_free(st.fmax);
    st_free(st.fsum);
    st_free(st.fsq);
    st_split_close(&s);
    return rc;
}

/* ---- the file ------------------------------------------------------------------------------ */

/* Why a file that is HDF5 is not a dataset: a checkpoint is the likely mix-up, say so. Opened
 * as untrusted like any input; when that fails, st_dataset_open's message stands. */
static void explain_not_dataset(const char *path) {
    char why[1024];
    snprintf(why, sizeof why, "%s", st_error_get());
    hid_t f = st_h5_open_untrusted(path, "dataset file");
    if (f < 0) {
        st_error_set("%s", why);
        return;
    }
    if (H5Lexists(f, "model_weights", H5P_DEFAULT) > 0)
        st_error_set("%s: a seqtrain checkpoint, not a dataset (inspect reads dataset files: "
                     "/train/x, /train/y and the root attribute num_classes)",
                     path);
    else
        st_error_set("not a seqtrain dataset: %s", why);
    H5Fclose(f);
}

int st_inspect(const char *path, const st_inspect_opts *opts, FILE *out) {
    st_inspect_opts o = *opts;
    if (o.max_classes <= 0) o.max_classes = 20;
    st_dataset d;
    if (st_dataset_open(&d, path) != ST_OK) {
        /* Only a dataset-level refusal (the attributes) leaves a file worth a second look. */
        if (strstr(st_error_get(), "root attribute")) explain_not_dataset(path);
        return ST_ERR;
    }
    hid_t f = (hid_t)d.file;
    int rc = ST_OK;
    char **classes = NULL, **vocab = NULL;
    size_t nclasses = 0, nvocab = 0;
    struct stat sb;
    stat(path, &sb);

    /* The splits, in the order train, valid, test, then the other groups holding an x. */
    char names[64][32];
    int ns = 0;
    static const char *const k_first[3] = {"train", "valid", "test"};
    for (int i = 0; i < 3; i++)
        if (st_dataset_has_split(&d, k_first[i])) snprintf(names[ns++], 32, "%s", k_first[i]);
    H5G_info_t gi;
    if (H5Gget_info(f, &gi) >= 0) {
        for (hsize_t i = 0; i < gi.nlinks && ns < 64; i++) {
            char nm[64], xp[80];
            char esc[128];
            /* A name that needs escaping is no split a config could name: not listed. */
            if (H5Lget_name_by_idx(f, ".", H5_INDEX_NAME, H5_ITER_INC, i, nm, sizeof nm,
                                   H5P_DEFAULT) < 0 || strlen(nm) >= 32 ||
                strcmp(st_escape(esc, sizeof esc, nm, 32), nm) != 0 ||
                !st_dataset_has_split(&d, nm) || !strcmp(nm, "train") || !strcmp(nm, "valid") ||
                !strcmp(nm, "test"))
                continue;
            snprintf(xp, sizeof xp, "%s/x", nm);
            if (H5Lexists(f, xp, H5P_DEFAULT) > 0) snprintf(names[ns++], 32, "%.31s", nm);
        }
    }
    if (o.split) {
        if (!st_dataset_has_split(&d, o.split)) { /* st_split_open's message lists the splits */
            st_split s;
            st_split_open(&d, o.split, &s);
            rc = ST_ERR;
            goto done;
        }
        ns = 1;
        snprintf(names[0], 32, "%.31s", o.split);
    } else if (ns == 0) {
        st_error_set("%s: no split (a group with x and y, e.g. /train) in the file: not a "
                     "seqtrain dataset",
                     path);
        rc = ST_ERR;
        goto done;
    }

    fprintf(out, "%s: %.1f MiB\nattributes:\n", path, (double)sb.st_size / (1 << 20));
    H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, NULL, print_attr, out);
    fprintf(out, "datasets:\n");
    H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, print_object, out, H5O_INFO_BASIC);
    /* Names decorate the report; a malformed /classes or /vocab is said, not fatal. */
    static const char *const k_names[2] = {"classes", "vocab"};
    char ***lists[2] = {&classes, &vocab};
    size_t *counts[2] = {&nclasses, &nvocab};
    for (int i = 0; i < 2; i++) {
        char side[1100];
        if (st_dataset_read_strings(&d, k_names[i], lists[i], counts[i]) != ST_OK) {
            fprintf(out, "  WARNING: %s\n", st_error_get());
            st_error_clear();
        } else if (*counts[i] == 0 && H5Lexists(f, k_names[i], H5P_DEFAULT) <= 0) {
            snprintf(side, sizeof side, "%s.%s.txt", path, k_names[i]);
            int got = read_lines(side, lists[i], counts[i]);
            if (got > 0)
                fprintf(out, "  (%s from %s)\n", i ? "vocabulary" : "class names", side);
            else if (got < 0)
                fprintf(out, "  WARNING: %s is not a regular file or is larger than %d MiB: "
                        "ignored\n", side, ST_DATA_MAX_STRING_BYTES >> 20);
        }
    }
    if (nclasses && nclasses != (size_t)d.num_classes)
        fprintf(out, "  WARNING: /classes has %zu names for num_classes %d\n", nclasses,
                d.num_classes);
    for (int i = 0; i < ns && rc == ST_OK; i++)
        rc = inspect_split(out, &d, names[i], &o, classes, nclasses, vocab, nvocab);
done:
    fflush(out);
    if (classes) free_strings(classes, nclasses);
    if (vocab) free_strings(vocab, nvocab);
    st_dataset_close(&d);
    return rc;
}
