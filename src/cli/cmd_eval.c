/*
 * cmd_eval.c - `seqtrain evaluate` and `seqtrain predict`: a checkpoint (its stored config
 * rebuilds the model) applied to a split of a dataset, sharded over the ranks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "seqtrain/seqtrain.h"

static const char *k_eval_help =
    "usage: seqtrain evaluate --checkpoint CKPT --data FILE [--split test]\n"
    "\n"
    "Prints loss and accuracy of the checkpoint's model on a split of FILE.\n"
    "CKPT is a checkpoint file or a directory (its newest checkpoint).\n";

static const char *k_predict_help =
    "usage: seqtrain predict --checkpoint CKPT --data FILE [--split test] --out OUT.h5\n"
    "\n"
    "Writes /predictions float32 (N, K), the model's probabilities for every row of the split\n"
    "((N, T, K) for a sequence head).\n"
    "  --attention A.h5     also write /attention (K, T): the attention weights of the first\n"
    "                       K rows (a model with an attention layer)\n"
    "  --attention-rows K   default 16\n";

/* Options of evaluate and predict; predict alone has --out. Values point into argv. */
static const char *k_gradients_help =
    "usage: seqtrain gradients --checkpoint CKPT --data FILE [--split train] [--rows N] --out G.h5\n"
    "\n"
    "For parity tests against another implementation: the first N rows (default 8) as one\n"
    "batch, inference mode; writes /probabilities (N, K), /loss (the mean) and\n"
    "/gradients/<layer>/<param> (d loss / d weight, Keras shapes).\n";

typedef struct opts {
    const char *ckpt, *data, *split, *out, *attention;
    int help, rows, attention_rows;
} opts;

/* Every rank parses the same argv, so every rank reaches the same verdict; the error is still
 * agreed collectively (st_cli_usage_error) so that exactly one line is printed. */
static int parse(int argc, char **argv, opts *o, int want_out) {
    memset(o, 0, sizeof *o);
    o->split = "test";
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
        else if (want_out == 1 && !strcmp(a, "--attention")) slot = &o->attention;
        else if (want_out == 1 && !strcmp(a, "--attention-rows")) {
            o->attention_rows = i + 1 < argc ? atoi(argv[++i]) : 0;
            if (o->attention_rows < 1)
                return st_cli_usage_error("--attention-rows needs a number >= 1");
            continue;
        }
        else if (want_out == 2 && !strcmp(a, "--rows")) {
            o->rows = i + 1 < argc ? atoi(argv[++i]) : 0;
            if (o->rows < 1) return st_cli_usage_error("--rows needs a number >= 1");
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

int st_cmd_evaluate(int argc, char **argv) {
    opts o;
    int st = parse(argc, argv, &o, 0);
    if (st != ST_EXIT_OK) return st;
    if (o.help) {
        ST_LOG(ST_LOG_INFO, "%s", k_eval_help);
        return ST_EXIT_OK;
    }
    /* Loss and accuracy are reduced over all ranks inside st_evaluate; only rank 0 prints. */
    double loss = 0, acc = 0;
    if (st_evaluate(o.ckpt, o.data, o.split, &loss, &acc) != ST_OK) return ST_EXIT_FAIL;
    ST_LOG(ST_LOG_INFO, "%s /%s: loss: %.4f - accuracy: %.4f\n", o.data, o.split, loss, acc);
    return ST_EXIT_OK;
}

int st_cmd_predict(int argc, char **argv) {
    opts o;
    int st = parse(argc, argv, &o, 1);
    if (st != ST_EXIT_OK) return st;
    if (o.help) {
        ST_LOG(ST_LOG_INFO, "%s", k_predict_help);
        return ST_EXIT_OK;
    }
    if (st_predict(o.ckpt, o.data, o.split, o.out, o.attention,
                   o.attention_rows ? o.attention_rows : 16) != ST_OK)
        return ST_EXIT_FAIL;
    ST_LOG(ST_LOG_INFO, "wrote %s\n", o.out);
    return ST_EXIT_OK;
}

/* Whether --split was on the command line (gradients defaults to train, not test). */
static int split_given(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--split")) return 1;
    return 0;
}

int st_cmd_gradients(int argc, char **argv) {
    opts o;
    int st = parse(argc, argv, &o, 2);
    if (st != ST_EXIT_OK) return st;
    if (o.help) {
        ST_LOG(ST_LOG_INFO, "%s", k_gradients_help);
        return ST_EXIT_OK;
    }
    if (!strcmp(o.split, "test") && !split_given(argc, argv)) o.split = "train";
    if (st_gradients(o.ckpt, o.data, o.split, o.rows ? o.rows : 8, o.out) != ST_OK)
        return ST_EXIT_FAIL;
    ST_LOG(ST_LOG_INFO, "wrote %s\n", o.out);
    return ST_EXIT_OK;
}
