/*
 * inspect.h - a description of a dataset file, for `seqtrain inspect`: what a user checks
 * before choosing maxlen, a model's input shape or a loss.
 *
 * The report (printed by st_inspect, src/io/inspect.c):
 *   - the file's root attributes and every dataset in it with its dtype and shape;
 *   - per split (/train, /valid, /test, then any other group with x and y):
 *       class balance (rows per class; for per-step labels, real steps per class), named from
 *       /classes when the file has it (and from /vocab for per-step labels over tokens);
 *       token data: the real length of each row (the number of non-zero ids), its percentiles,
 *       which side the padding is on, the share of steps that are padding, and how many rows
 *       (and what share of tokens) a given maxlen would cut;
 *       float data: min, max, mean and standard deviation, overall and per feature;
 *       values the trainer would refuse (ids >= vocab_size, labels outside [0, num_classes),
 *       non-finite features), counted with the first offending row.
 * Percentiles are nearest-rank: pK is the smallest length L with at least ceil(K% of N) rows
 * of length <= L (numpy's method='inverted_cdf').
 *
 * Every split is streamed in chunks of rows (about 4 MiB of x per read): memory does not
 * depend on the number of rows. Nothing here knows about MPI; the caller runs it on one rank.
 */
#ifndef SEQTRAIN_INSPECT_H
#define SEQTRAIN_INSPECT_H

#include <stddef.h>
#include <stdio.h>

typedef struct st_inspect_opts {
    int maxlen;         /* > 0: report the truncation at this maxlen; 0: at p50, p90, p95, p99 */
    const char *split;  /* NULL: every split; else only this one */
    size_t chunk_rows;  /* rows per read; 0: about 4 MiB of x */
    int max_classes;    /* classes listed one per line before the rest is summed; 0: 20 */
} st_inspect_opts;

/* Writes the report for the dataset at path to out. Returns ST_OK, or ST_ERR with a one-line
 * message (missing file, not HDF5, not a dataset, a split that does not fit the schema, a
 * read error). Opens and closes the file itself; allocates nothing that outlives the call. */
int st_inspect(const char *path, const st_inspect_opts *o, FILE *out);

#endif
