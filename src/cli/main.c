/*
 * main.c - the seqtrain program: MPI set-up and dispatch to a subcommand. Every rank runs the
 * same command with the same arguments, so every rank takes the same path through here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "seqtrain/seqtrain.h"

static const char *k_usage =
    "usage: seqtrain COMMAND [options]     (run under mpirun -np N for N data-parallel ranks)\n"
    "\n"
    "commands:\n"
    "  train CONFIG [--set section.key=value]... [--resume CKPT]\n"
    "                        train the model a config describes\n"
    "  evaluate --checkpoint CKPT --data FILE [--split test]\n"
    "                        loss and accuracy of a checkpoint on a dataset split\n"
    "  predict --checkpoint CKPT --data FILE [--split test] --out FILE.h5 [--attention A.h5]\n"
    "                        write /predictions (N, K) probabilities\n"
    "  summary CONFIG [--set section.key=value]...\n"
    "                        Keras-style table of layers, output shapes, parameters\n"
    "  gradients --checkpoint CKPT --data FILE [--rows N] --out G.h5\n"
    "                        loss gradients of one batch (parity tests)\n"
    "  inspect FILE [--maxlen M] [--split NAME]\n"
    "                        splits, shapes, class balance, sequence lengths and padding of a\n"
    "                        dataset file (what to check before choosing maxlen)\n"
    "\n"
    "`seqtrain COMMAND --help` describes a command. CKPT is a checkpoint file or a directory\n"
    "(its newest checkpoint).\n"
    "Exit status: 0 ok, 1 failed, 2 bad command line, 75 training stopped by a signal after a\n"
    "checkpoint (resume it with --resume), 76 a rank was lost: a collective timed out (a node\n"
    "died, a link was cut; resume on the nodes that are left with --resume).\n";

/* A usage error is a user error like any other: recorded, agreed over the ranks (so a rank
 * never waits in a collective the others skipped), printed once by rank 0. */
int st_cli_usage_error(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st_error_set("%s", msg);
    st_dist_any_error(ST_ERR);
    return ST_EXIT_USAGE;
}

/* Overrides are applied before resolving, so a bad --set value is reported exactly like a bad
 * value in the file (with "--set section.key" in place of file:line). */
int st_cli_load_config(st_config *c, const char *path, char **sets, int nsets) {
    int rc = st_config_load(c, path);
    for (int i = 0; rc == ST_OK && i < nsets; i++) rc = st_config_set(c, sets[i]);
    if (rc == ST_OK) rc = st_train_config_check(c);
    return st_dist_any_error(rc);
}

/* MPI is initialized before anything else so that every error path, even a usage error, can
 * use the collective agreement and end every rank together. */
int main(int argc, char **argv) {
    st_start_time = st_time();
    /* Before MPI: it may execute the program again with other BLAS kernels (core/blas.c). */
    st_blas_choose(argc, argv);
    st_dist_init(&argc, &argv);
    if (st_blas_warning()) ST_LOG(ST_LOG_WARN, "%s", st_blas_warning());
    int status;
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "train"))
        status = st_cmd_train(argc - 1, argv + 1);
    else if (!strcmp(cmd, "evaluate"))
        status = st_cmd_evaluate(argc - 1, argv + 1);
    else if (!strcmp(cmd, "predict"))
        status = st_cmd_predict(argc - 1, argv + 1);
    else if (!strcmp(cmd, "gradients"))
        status = st_cmd_gradients(argc - 1, argv + 1);
    else if (!strcmp(cmd, "summary"))
        status = st_cmd_summary(argc - 1, argv + 1);
    else if (!strcmp(cmd, "inspect"))
        status = st_cmd_inspect(argc - 1, argv + 1);
    else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        ST_LOG(ST_LOG_INFO, "%s", k_usage);
        status = ST_EXIT_OK;
    } else if (!strcmp(cmd, "--version")) {
        ST_LOG(ST_LOG_INFO, "seqtrain %s\nBLAS: %s, core %s (%s)\nCPU: %s (%s)\n",
               SEQTRAIN_VERSION, st_blas_library(), st_blas_core(), st_blas_core_how(),
               st_cpu_get()->name, st_isa_name(st_cpu_get()->level));
        status = ST_EXIT_OK;
    } else {
        if (st_dist_rank() == 0) fputs(k_usage, stderr);
        status = st_cli_usage_error(argc > 1 ? "unknown command '%s'" : "no command given%s",
                                    argc > 1 ? cmd : "");
    }
    st_dist_finalize();
    return status;
}
