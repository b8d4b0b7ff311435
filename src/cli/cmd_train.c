/*
 * cmd_train.c - `seqtrain train` and `seqtrain summary`: parse the command line, load the
 * config with its --set overrides, hand over to st_fit / st_fit_benchmark / st_summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/parse.h"
#include "seqtrain/seqtrain.h"
#include "seqtrain/trace.h"

#define MAX_SETS 256

static const char *k_train_help =
    "usage: seqtrain train CONFIG [--set section.key=value]... [--resume CKPT]\n"
    "\n"
    "Trains the model of CONFIG (an INI file: [data], [train], [checkpoint], then one section\n"
    "per layer). Under mpirun -np N, batch_size is the global batch, split over the N ranks.\n"
    "  --set S.K=V   override a key, e.g. --set train.epochs=1 --set lstm_1.units=128\n"
    "  --resume CKPT continue from a checkpoint file, or a directory's newest checkpoint\n"
    "  --benchmark STEPS  time STEPS training steps on generated data of the config's shapes\n"
    "                (no file reads, no checkpoints) and print samples/s, the split of the\n"
    "                step time and a BENCH {json} line\n"
    "  --warmup W    untimed steps before a benchmark (default 3)\n"
    "  --timeline F.json  write a Chrome trace (Perfetto, chrome://tracing): one track per\n"
    "                rank, forward/backward per layer, allreduce, optimizer, data, checkpoints\n"
    "  --quiet       print errors only\n"
    "  --verbose     also a progress line every [train] log_every_steps steps (or every tenth\n"
    "                of an epoch) when stdout is not a terminal, and the learning rate\n"
    "\n"
    "Progress: a bar redrawn in place when stdout is a terminal, one line per epoch otherwise\n"
    "(SEQTRAIN_PROGRESS=bar|lines forces one). With [checkpoint] dir, history.csv and\n"
    "metrics.jsonl are written there after every epoch.\n"
    "\n"
    "--resume refuses a config that changes the model, the data, the loss or optimizer, or\n"
    "(mid-epoch) batch_size / shuffle, naming the key; other changes are warned.\n"
    "SIGTERM, SIGINT, SIGUSR1 ([train] stop_signals): every rank stops after the current step,\n"
    "a step checkpoint is written, exit 75; resume with --resume DIR. A second signal exits at\n"
    "once. Exit: 0 done, 1 failed, 2 bad command line, 75 stopped by a signal, 76 a rank was\n"
    "lost ([train] collective_timeout passed: a node died or a link was cut).\n";

static const char *k_summary_help =
    "usage: seqtrain summary CONFIG [--set section.key=value]...\n"
    "\n"
    "Prints the model's layers, output shapes and parameter counts (shapes from the dataset).\n";

/* Shared option parsing of train and summary. */
static const char *g_timeline; /* --timeline FILE, train only */

static int parse(int argc, char **argv, const char **config, char **sets, int *nsets,
                 const char **resume, int allow_resume, int *help, int *bench, int *warmup) {
    *config = NULL;
    *nsets = 0;
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
        } else if (!strcmp(a, "--set") || !strncmp(a, "--set=", 6)) {
            const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return st_cli_usage_error("--set needs section.key=value");
            if (*nsets == MAX_SETS) return st_cli_usage_error("too many --set options");
            sets[(*nsets)++] = (char *)v;
        } else if (allow_resume && !strcmp(a, "--resume")) {
            if (i + 1 >= argc) return st_cli_usage_error("--resume needs a checkpoint path");
            *resume = argv[++i];
        } else if (allow_resume && (!strcmp(a, "--benchmark") || !strcmp(a, "--warmup"))) {
            int lo = a[2] == 'b' ? 1 : 0, v;
            if (i + 1 >= argc || st_parse_int(a, argv[i + 1], lo, 1000000, &v) != ST_OK)
                return st_cli_usage_error("%s needs a number of steps%s", a, lo ? " >= 1" : "");
            *(lo ? bench : warmup) = v;
            i++;
        } else if (allow_resume && !strcmp(a, "--timeline")) {
            if (i + 1 >= argc) return st_cli_usage_error("--timeline needs a file name");
            g_timeline = argv[++i];
        } else if (!strcmp(a, "--quiet")) {
            st_log_level = ST_LOG_WARN;
        } else if (!strcmp(a, "--verbose")) {
            st_log_level = ST_LOG_DEBUG;
        } else if (a[0] == '-') {
            return st_cli_usage_error("unknown option '%s' (see --help)", a);
        } else if (!*config) {
            *config = a;
        } else {
            return st_cli_usage_error("unexpected argument '%s' (one CONFIG only)", a);
        }
    }
    if (!*help && !*config) return st_cli_usage_error("missing CONFIG (see --help)");
    return ST_EXIT_OK;
}

int st_cmd_train(int argc, char **argv) {
    const char *config, *resume = NULL;
    char *sets[MAX_SETS];
    int nsets, help, bench = 0, warmup = 3;
    int st = parse(argc, argv, &config, sets, &nsets, &resume, 1, &help, &bench, &warmup);
    if (st != ST_EXIT_OK) return st;
    if (help) {
        ST_LOG(ST_LOG_INFO, "%s", k_train_help);
        return ST_EXIT_OK;
    }
    st_config cfg = {0};
    int rc = st_cli_load_config(&cfg, config, sets, nsets);
    if (rc == ST_OK && bench > 0 && resume)
        rc = st_dist_any_error((st_error_set("--benchmark and --resume do not combine"), ST_ERR));
    /* A timeline path that is a FIFO, a device or a link is refused now, not after training. */
    if (rc == ST_OK && g_timeline)
        rc = st_dist_any_error(st_dist_rank() == 0 ? st_atomic_check_target(g_timeline) : ST_OK);
    if (rc == ST_OK) {
        /* Room for 262144 slices per rank (21 MB): plenty for a benchmark or a few
         * epochs; a long run keeps its first ones. */
        if (g_timeline) st_trace_enable((size_t)1 << 18);
        rc = bench > 0 ? st_fit_benchmark(&cfg, bench, warmup) : st_fit(&cfg, resume);
        if (g_timeline && rc == ST_OK) rc = st_trace_write(g_timeline);
    }
    st_config_free(&cfg);
    if (rc == ST_FIT_PREEMPTED) return ST_EXIT_PREEMPTED;
    return rc == ST_OK ? ST_EXIT_OK : ST_EXIT_FAIL;
}

int st_cmd_summary(int argc, char **argv) {
    const char *config, *resume = NULL;
    char *sets[MAX_SETS];
    int nsets, help, bench = 0, warmup = 0;
    int st = parse(argc, argv, &config, sets, &nsets, &resume, 0, &help, &bench, &warmup);
    if (st != ST_EXIT_OK) return st;
    if (help) {
        ST_LOG(ST_LOG_INFO, "%s", k_summary_help);
        return ST_EXIT_OK;
    }
    st_config cfg = {0};
    int rc = st_cli_load_config(&cfg, config, sets, nsets);
    if (rc == ST_OK) rc = st_summary(&cfg);
    st_config_free(&cfg);
    return rc == ST_OK ? ST_EXIT_OK : ST_EXIT_FAIL;
}
