/*
 * cmd_eval.c - the checkpoint-driven subcommands: `seqtrain evaluate`, `predict` and
 * `gradients`. Each applies a checkpoint (its stored config rebuilds the model) to a split of a
 * dataset; the work itself (sharding over the ranks, reductions, writing /predictions or the
 * gradient file) is src/train/infer.c's. This file only parses options, prints, and writes the
 * evaluate report as JSON.
 *
 * Why the printing lives here and not in train/: the report's layout (scikit-learn's
 * classification report, which Keras tutorials print after model.evaluate) is presentation;
 * the library hands back numbers (st_eval_report) that a script could use as well.
 *
 * What it does not do: read HDF5 or touch MPI beyond asking the rank and agreeing on errors.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/parse.h"
#include "core/text.h"
#include "seqtrain/atomic.h"
#include "seqtrain/seqtrain.h"

static const char *k_eval_help =
    "usage: seqtrain evaluate --checkpoint CKPT --data FILE [--split test] [--json OUT.json]\n"
    "\n"
    "Prints loss, accuracy and the training config's metrics of the checkpoint's model on a\n"
    "split of FILE, the confusion matrix (up to 20 classes) and a per-class report (precision,\n"
    "recall, F1, support; macro and weighted averages), with class names from /classes.\n"
    "CKPT is a checkpoint file or a directory (its newest checkpoint).\n"
    "  --json OUT    also write all of it as JSON (tools/plot_confusion.py reads it)\n";

static const char *k_predict_help =
    "usage: seqtrain predict --checkpoint CKPT --data FILE [--split test] --out OUT.h5\n"
    "\n"
    "Writes /predictions float32 (N, K), the model's probabilities for every row of the split\n"
    "((N, T, K) for a sequence head).\n"
    "  --attention A.h5     also write /attention (K, T): the attention weights of the first\n"
    "                       K rows (a model with an attention layer)\n"
    "  --attention-rows K   default 16\n";

static const char *k_gradients_help =
    "usage: seqtrain gradients --checkpoint CKPT --data FILE [--split train] [--rows N] --out G.h5\n"
    "\n"
    "For parity tests against another implementation: the first N rows (default 8) as one\n"
    "batch, inference mode; writes /probabilities (N, K), /loss (the mean) and\n"
    "/gradients/<layer>/<param> (d loss / d weight, Keras shapes).\n";

/* Options of the three subcommands (want_out below says which one parses: 0 evaluate, 1 predict,
 * 2 gradients; --out, --attention and --rows belong to some only). Strings point into argv. */
typedef struct opts {
    const char *ckpt, *data, *split, *out, *attention, *json;
    int help, rows, attention_rows;
} opts;

/* Every rank parses the same argv, so every rank reaches the same verdict; the error is still
 * agreed collectively (st_cli_usage_error) so that exactly one line is printed. */
static int parse(int argc, char **argv, opts *o, int want_out) {
    memset(o, 0, sizeof *o);
    /* gradients (parity tests) looks at training rows; evaluate and predict at held-out ones. */
    o->split = want_out == 2 ? "train" : "test";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = 1;
            continue;
        }
        if (!strcmp(a, "--checkpoint")) slot = &o->ckpt;
        else if (!strcmp(a, "--data")) slot = &o->data;
        else if (!strcmp(a, "--split")) slot = &o->split;
        else if (want_out && !strcmp(a, "--out")) slot = &o->out;
        else if (!want_out && !strcmp(a, "--json")) slot = &o->json;
        else if (want_out == 1 && !strcmp(a, "--attention")) slot = &o->attention;
        else if (want_out == 1 && !strcmp(a, "--attention-rows")) {
            if (i + 1 >= argc || st_parse_int(a, argv[++i], 1, INT_MAX, &o->attention_rows))
                return st_cli_usage_error("--attention-rows needs a number >= 1");
            continue;
        }
        else if (want_out == 2 && !strcmp(a, "--rows")) {
            if (i + 1 >= argc || st_parse_int(a, argv[++i], 1, INT_MAX, &o->rows))
                return st_cli_usage_error("--rows needs a number >= 1");
            continue;
        }
        else if (!strcmp(a, "--quiet")) { st_log_level = ST_LOG_WARN; continue; }
        else return st_cli_usage_error("unknown argument '%s' (see --help)", a);
        if (i + 1 >= argc) return st_cli_usage_error("%s needs a value", a);
        *slot = argv[++i];
    }
    if (o->help) return ST_EXIT_OK;
    if (!o->ckpt) return st_cli_usage_error("missing --checkpoint CKPT (see --help)");
    if (!o->data) return st_cli_usage_error("missing --data FILE (see --help)");
    if (want_out && !o->out) return st_cli_usage_error("missing --out FILE.h5 (see --help)");
    return ST_EXIT_OK;
}

/* The output paths, before any work: one that exists and is not a regular file (a FIFO, a
 * device, a symlink) is refused now rather than after the whole evaluation (st_atomic would
 * refuse it again at the write). Rank 0 looks (it is the one that writes); every rank agrees. */
static int check_outputs(const opts *o) {
    const char *outs[3] = {o->out, o->attention, o->json};
    int rc = ST_OK;
    for (int i = 0; i < 3 && rc == ST_OK && st_dist_rank() == 0; i++)
        if (outs[i]) rc = st_atomic_check_target(outs[i]);
    return st_dist_any_error(rc) == ST_OK ? ST_EXIT_OK : ST_EXIT_FAIL;
}

/* Class names come from the dataset's /classes when it has them (escaped for the terminal,
 * at most max characters); otherwise the class id. buf: at least 64 bytes. */
static const char *class_name(const st_eval_report *r, int c, char *buf, size_t n,
                              size_t max) {
    if (r->classes && r->nclasses == (size_t)r->C && r->classes[c][0])
        return st_escape(buf, n, r->classes[c], max); /* a name may hold ESC sequences */
    snprintf(buf, n, "%d", c);
    return buf;
}

/* The raw name, for JSON (json_str escapes what JSON needs). */
static const char *class_name_raw(const st_eval_report *r, int c, char *buf, size_t n) {
    if (r->classes && r->nclasses == (size_t)r->C && r->classes[c][0]) return r->classes[c];
    snprintf(buf, n, "%d", c);
    return buf;
}

/* The confusion matrix and a classification report laid out like scikit-learn's, which is
 * what the tutorials print after model.evaluate; only rank 0 gets here. */
static void print_report(const st_eval_report *r) {
    const int C = r->C;
    char buf[256];
    int w = 12;
    for (int c = 0; c < C; c++) {
        int l = (int)strlen(class_name(r, c, buf, sizeof buf, 40));
        if (l > w) w = l > 40 ? 40 : l;
    }
    st_class_stats *per = st_malloc((size_t)C * sizeof *per), macro, weighted;
    double acc;
    st_report_compute(r->cm, C, per, &macro, &weighted, &acc);
    if (C <= 20) {
        ST_LOG(ST_LOG_INFO, "\nConfusion matrix (rows: true class, columns: predicted):\n%*s",
               w, "");
        int cw = 8;
        for (int c = 0; c < C; c++) {
            int l = (int)strlen(class_name(r, c, buf, sizeof buf, 40));
            if (l + 1 > cw) cw = l + 1 > 16 ? 16 : l + 1;
        }
        for (int c = 0; c < C; c++)
            ST_LOG(ST_LOG_INFO, " %*s", cw, class_name(r, c, buf, sizeof buf, (size_t)cw - 1));
        ST_LOG(ST_LOG_INFO, "\n");
        for (int t = 0; t < C; t++) {
            ST_LOG(ST_LOG_INFO, "%*s", w, class_name(r, t, buf, sizeof buf, (size_t)w));
            for (int p = 0; p < C; p++)
                ST_LOG(ST_LOG_INFO, " %*.0f", cw, r->cm[(size_t)t * C + p]);
            ST_LOG(ST_LOG_INFO, "\n");
        }
    }
    ST_LOG(ST_LOG_INFO, "\n%*s %10s %10s %10s %10s\n\n", w, "", "precision", "recall",
           "f1-score", "support");
    for (int c = 0; c < C; c++)
        ST_LOG(ST_LOG_INFO, "%*s %10.4f %10.4f %10.4f %10.0f\n", w,
               class_name(r, c, buf, sizeof buf, (size_t)w), per[c].precision, per[c].recall,
               per[c].f1, per[c].support);
    ST_LOG(ST_LOG_INFO, "\n%*s %10s %10s %10.4f %10.0f\n", w, "accuracy", "", "", acc,
           macro.support);
    ST_LOG(ST_LOG_INFO, "%*s %10.4f %10.4f %10.4f %10.0f\n", w, "macro avg", macro.precision,
           macro.recall, macro.f1, macro.support);
    ST_LOG(ST_LOG_INFO, "%*s %10.4f %10.4f %10.4f %10.0f\n", w, "weighted avg",
           weighted.precision, weighted.recall, weighted.f1, weighted.support);
    st_free(per);
}

/* JSON string with the escapes JSON requires: class names come from user data. */
static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

/* One class's (or an average's) precision, recall, F1 and support, as JSON members. */
static void json_stats(FILE *f, const st_class_stats *s) {
    fprintf(f, "\"precision\": %.9g, \"recall\": %.9g, \"f1\": %.9g, \"support\": %.0f",
            s->precision, s->recall, s->f1, s->support);
}

/* The same report as JSON (tools/plot_confusion.py reads it), written all-or-nothing through
 * st_atomic like every file seqtrain writes. Rank 0. */
static int write_json(const st_eval_report *r, const char *path, const char *data,
                      const char *split) {
    char buf[32];
    st_atomic a;
    if (st_atomic_begin(&a, path) != ST_OK) return ST_ERR;
    FILE *f = st_atomic_fopen(&a);
    if (!f) return ST_ERR;
    const int C = r->C;
    st_class_stats *per = st_malloc((size_t)C * sizeof *per), macro, weighted;
    double acc;
    st_report_compute(r->cm, C, per, &macro, &weighted, &acc);
    fprintf(f, "{\"data\": ");
    json_str(f, data);
    fprintf(f, ", \"split\": ");
    json_str(f, split);
    fprintf(f, ", \"count\": %.0f, \"loss\": %.9g, \"accuracy\": %.9g, \"metrics\": {", r->count,
            r->loss, r->accuracy);
    for (int i = 0; i < r->ms.n; i++)
        fprintf(f, "%s\"%s\": %.9g", i ? ", " : "", r->ms.name[i], r->mvalue[i]);
    fprintf(f, "},\n \"classes\": [");
    for (int c = 0; c < C; c++) {
        if (c) fprintf(f, ", ");
        json_str(f, class_name_raw(r, c, buf, sizeof buf));
    }
    fprintf(f, "],\n \"confusion_matrix\": [");
    for (int t = 0; t < C; t++) {
        fprintf(f, "%s[", t ? ",\n   " : "");
        for (int p = 0; p < C; p++) fprintf(f, "%s%.0f", p ? ", " : "", r->cm[(size_t)t * C + p]);
        fprintf(f, "]");
    }
    fprintf(f, "],\n \"per_class\": [");
    for (int c = 0; c < C; c++) {
        fprintf(f, "%s{\"class\": ", c ? ",\n   " : "");
        json_str(f, class_name_raw(r, c, buf, sizeof buf));
        fprintf(f, ", ");
        json_stats(f, &per[c]);
        fprintf(f, "}");
    }
    fprintf(f, "],\n \"macro_avg\": {");
    json_stats(f, &macro);
    fprintf(f, "},\n \"weighted_avg\": {");
    json_stats(f, &weighted);
    fprintf(f, "}}\n");
    st_free(per);
    return st_atomic_commit(&a);
}

/* The report's counts are reduced over all ranks inside st_evaluate_report; rank 0 prints and
 * writes, and a failed write is agreed on so that every rank exits non-zero. */
int st_cmd_evaluate(int argc, char **argv) {
    opts o;
    int st = parse(argc, argv, &o, 0);
    if (st != ST_EXIT_OK) return st;
    if (o.help) {
        ST_LOG(ST_LOG_INFO, "%s", k_eval_help);
        return ST_EXIT_OK;
    }
    if ((st = check_outputs(&o)) != ST_EXIT_OK) return st;
    st_eval_report r;
    if (st_evaluate_report(o.ckpt, o.data, o.split, &r) != ST_OK) return ST_EXIT_FAIL;
    char line[1024];
    size_t n = (size_t)snprintf(line, sizeof line, "%s /%s: loss: %.4f - accuracy: %.4f", o.data,
                                o.split, r.loss, r.accuracy);
    for (int i = 0; i < r.ms.n && n < sizeof line; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, " - %s: %.4f", r.ms.name[i],
                              r.mvalue[i]);
    ST_LOG(ST_LOG_INFO, "%s\n", line);
    if (st_dist_rank() == 0) print_report(&r);
    int rc = ST_OK;
    if (o.json && st_dist_rank() == 0) rc = write_json(&r, o.json, o.data, o.split);
    rc = st_dist_any_error(rc);
    if (rc == ST_OK && o.json) ST_LOG(ST_LOG_INFO, "wrote %s\n", o.json);
    st_eval_report_free(&r);
    return rc == ST_OK ? ST_EXIT_OK : ST_EXIT_FAIL;
}

/* Probabilities of every row, gathered to rank 0 in row order by st_predict, which writes them
 * (and the attention weights) through st_atomic. */
int st_cmd_predict(int argc, char **argv) {
    opts o;
    int st = parse(argc, argv, &o, 1);
    if (st != ST_EXIT_OK) return st;
    if (o.help) {
        ST_LOG(ST_LOG_INFO, "%s", k_predict_help);
        return ST_EXIT_OK;
    }
    if ((st = check_outputs(&o)) != ST_EXIT_OK) return st;
    if (st_predict(o.ckpt, o.data, o.split, o.out, o.attention,
                   o.attention_rows ? o.attention_rows : 16) != ST_OK)
        return ST_EXIT_FAIL;
    ST_LOG(ST_LOG_INFO, "wrote %s\n", o.out);
    return ST_EXIT_OK;
}

/* The rows as ONE batch on rank 0 (st_gradients); the other ranks only agree on errors. */
int st_cmd_gradients(int argc, char **argv) {
    opts o;
    int st = parse(argc, argv, &o, 2);
    if (st != ST_EXIT_OK) return st;
    if (o.help) {
        ST_LOG(ST_LOG_INFO, "%s", k_gradients_help);
        return ST_EXIT_OK;
    }
    if ((st = check_outputs(&o)) != ST_EXIT_OK) return st;
    if (st_gradients(o.ckpt, o.data, o.split, o.rows ? o.rows : 8, o.out) != ST_OK)
        return ST_EXIT_FAIL;
    ST_LOG(ST_LOG_INFO, "wrote %s\n", o.out);
    return ST_EXIT_OK;
}
