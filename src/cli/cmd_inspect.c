/*
 * cmd_inspect.c - `seqtrain inspect FILE`: describes a dataset file (include/seqtrain/inspect.h
 * says what the report holds; src/io/inspect.c computes and prints it).
 *
 * Rank 0 alone reads and prints; under mpirun the other ranks only join the final agreement
 * on the outcome, so every rank exits with the same status and the error is printed once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/parse.h"
#include "seqtrain/inspect.h"
#include "seqtrain/seqtrain.h"

static const char *k_inspect_help =
    "usage: seqtrain inspect FILE [--maxlen M] [--split NAME] [--classes K]\n"
    "\n"
    "Describes a dataset file: root attributes, every dataset's dtype and shape, and per split\n"
    "the class balance (named from /classes when present) and\n"
    "  token data: the real length of each row (its number of non-zero ids) as min, p50, p90,\n"
    "              p95, p99 (nearest rank), max and mean; which side the padding is on and\n"
    "              what share of the steps it is; how many rows, and what share of the\n"
    "              tokens, a maxlen would cut (at p50/p90/p95/p99 lengths, or at --maxlen M)\n"
    "  float data: min, max, mean and std of the values, overall and per feature\n"
    "and any value the trainer would refuse. Reads each split in chunks, never whole.\n"
    "  --maxlen M    report the truncation at this maxlen\n"
    "  --split NAME  only this split\n"
    "  --classes K   list at most K classes one by one (default 20; the rest are summed)\n";

/* A positive int option value, or -1. */
static int positive(const char *s) {
    int v;
    return st_parse_int("value", s, 1, 1L << 30, &v) == ST_OK ? v : -1;
}

int st_cmd_inspect(int argc, char **argv) {
    st_inspect_opts o;
    memset(&o, 0, sizeof o);
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            ST_LOG(ST_LOG_INFO, "%s", k_inspect_help);
            return ST_EXIT_OK;
        }
        if (!strcmp(a, "--maxlen") || !strcmp(a, "--classes")) {
            int v = i + 1 < argc ? positive(argv[i + 1]) : -1;
            if (v < 0)
                return st_cli_usage_error("%s needs a whole number >= 1%s%s%s", a,
                                          i + 1 < argc ? " (got '" : "",
                                          i + 1 < argc ? argv[i + 1] : "",
                                          i + 1 < argc ? "')" : "");
            if (!strcmp(a, "--maxlen"))
                o.maxlen = v;
            else
                o.max_classes = v;
            i++;
        } else if (!strcmp(a, "--split")) {
            if (i + 1 >= argc) return st_cli_usage_error("--split needs a value");
            o.split = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return st_cli_usage_error("unknown argument '%s' (see --help)", a);
        } else if (file) {
            return st_cli_usage_error("one FILE only ('%s' and '%s' given)", file, a);
        } else {
            file = a;
        }
    }
    if (!file) return st_cli_usage_error("missing FILE (see seqtrain inspect --help)");
    int rc = ST_OK;
    if (st_dist_rank() == 0) rc = st_inspect(file, &o, stdout);
    return st_dist_any_error(rc) == ST_OK ? ST_EXIT_OK : ST_EXIT_FAIL;
}
