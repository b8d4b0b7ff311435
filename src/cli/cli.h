/* cli.h - the subcommands of the seqtrain program; each returns the process exit status. */
#ifndef ST_CLI_H
#define ST_CLI_H

int st_cmd_train(int argc, char **argv);
int st_cmd_evaluate(int argc, char **argv);
int st_cmd_predict(int argc, char **argv);
int st_cmd_summary(int argc, char **argv);
int st_cmd_gradients(int argc, char **argv);
int st_cmd_inspect(int argc, char **argv);

/* Exit statuses: 0 ok, 1 failure while running, 2 bad command line, 75 (EX_TEMPFAIL) training
 * stopped by a signal after a checkpoint: resume it (jobs/train.sbatch requeues). */
enum { ST_EXIT_OK = 0, ST_EXIT_FAIL = 1, ST_EXIT_USAGE = 2, ST_EXIT_PREEMPTED = 75 };
/* 76 (ST_EXIT_LOST, seqtrain/error.h): a collective timed out, a rank was lost. */

/* Reports a command-line mistake the same way on every rank (rank 0 prints) and returns
 * ST_EXIT_USAGE. */
int st_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Loads CONFIG, applies --set overrides and resolves it; errors agreed over ranks. */
struct st_config;
int st_cli_load_config(struct st_config *c, const char *path, char **sets, int nsets);

#endif
