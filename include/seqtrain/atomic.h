/*
 * atomic.h - THE way seqtrain writes a file: all or nothing (Redis's rdbSave).
 *
 * Every file seqtrain or its tools write (checkpoints, datasets, predictions, reports, history,
 * timelines, tokenizer outputs) is written under a temporary name next to its final path, then
 * flushed, fsync'd, renamed over PATH, and the directory fsync'd so the rename itself survives a
 * crash. A job killed at any moment leaves PATH either exactly as it was or complete and new.
 *
 *   st_atomic a;
 *   if (st_atomic_begin(&a, path) != ST_OK) return ST_ERR;
 *   FILE *f = st_atomic_fopen(&a);              // stdio writers; or create a.tmp yourself
 *   ... write ...                               // (HDF5: H5Fcreate(a.tmp), H5Fclose)
 *   return st_atomic_commit(&a);                // or st_atomic_abort(&a) on failure
 *
 * Errors set one message naming PATH and what failed (errno's text, "disk full?") and leave
 * nothing behind: the temporary file is unlinked (never remove(): a directory of that name is
 * not ours).
 */
#ifndef SEQTRAIN_ATOMIC_H
#define SEQTRAIN_ATOMIC_H

#include <stdio.h>

#define ST_ATOMIC_PATH_MAX 1040

typedef struct st_atomic {
    char path[ST_ATOMIC_PATH_MAX]; /* the final name */
    char tmp[ST_ATOMIC_PATH_MAX];  /* PATH.tmp: where the new contents are written */
    FILE *fp;                      /* set by st_atomic_fopen, closed by commit/abort */
} st_atomic;

/* Names the temporary file (a->tmp). ST_ERR when the path is too long. Creates nothing. */
int st_atomic_begin(st_atomic *a, const char *path);
/* Opens a->tmp for writing ("wb": bytes as given). NULL with the message set on failure. */
FILE *st_atomic_fopen(st_atomic *a);
/* Closes a->fp when open (checking the flush: a full disk shows up here), fsyncs a->tmp,
 * renames it over a->path and fsyncs the directory. On failure unlinks a->tmp, sets
 * "PATH: why" and returns ST_ERR: PATH is then unchanged. */
int st_atomic_commit(st_atomic *a);
/* Gives up: closes a->fp when open and unlinks a->tmp. Keeps the current message. */
void st_atomic_abort(st_atomic *a);

#endif
