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
 *
 * Only regular files are written (FINDINGS F0, F2): a PATH that exists and is anything else (a
 * symlink, FIFO, device, directory, socket) is refused, never replaced, since the rename would
 * put a file in its place (as root, `--out /dev/null` deleted the system's /dev/null). PATH.tmp
 * is created with O_CREAT | O_EXCL | O_NOFOLLOW (HDF5: H5F_ACC_EXCL), so a symlink planted
 * there is never written through; a stale regular PATH.tmp of a killed run is removed first,
 * anything else there is refused.
 */
#ifndef SEQTRAIN_ATOMIC_H
#define SEQTRAIN_ATOMIC_H

#include <stdio.h>

#define ST_ATOMIC_PATH_MAX 1040

typedef struct st_atomic {
    char path[ST_ATOMIC_PATH_MAX]; /* the final name */
    char tmp[ST_ATOMIC_PATH_MAX];  /* PATH.tmp: where the new contents are written */
    FILE *fp;                      /* set by st_atomic_fopen, closed by commit/abort */
    int created; /* a->tmp is ours: set by st_atomic_fopen, or by a caller that created it
                  * itself (exclusively: st_h5_create); only then is it ever unlinked */
} st_atomic;

/* ST_OK when seqtrain may write path: it does not exist, or it is a regular file (lstat: a
 * symlink is refused, not followed). Otherwise ST_ERR with "PATH: exists and is a FIFO (named
 * pipe): refused (seqtrain writes regular files only)". Creates nothing. Commands call it for
 * their output paths before any work, so that a refusal costs nothing. */
int st_atomic_check_target(const char *path);
/* Checks path (st_atomic_check_target), names the temporary file (a->tmp) and clears the way
 * for it: a stale regular PATH.tmp is unlinked, anything else there refused. ST_ERR when the
 * path is empty, too long or refused. Creates nothing. */
int st_atomic_begin(st_atomic *a, const char *path);
/* Creates a->tmp (O_EXCL | O_NOFOLLOW, mode 0666 & ~umask) for writing ("wb": bytes as
 * given). NULL with the message set on failure. */
FILE *st_atomic_fopen(st_atomic *a);
/* Closes a->fp when open (checking the flush: a full disk shows up here), fsyncs a->tmp,
 * renames it over a->path and fsyncs the directory. On failure unlinks a->tmp, sets
 * "PATH: why" and returns ST_ERR: PATH is then unchanged. */
int st_atomic_commit(st_atomic *a);
/* Gives up: closes a->fp when open and unlinks a->tmp. Keeps the current message. */
void st_atomic_abort(st_atomic *a);

/* For an append log (metrics.jsonl), which is not replaced whole: opens path for appending,
 * creating it (0666 & ~umask), emptied first when truncate. A symlink is not followed and
 * anything but a regular file is refused, never truncated (the file type is checked on the
 * open descriptor; a FIFO does not block the open). NULL with the message set on failure. */
FILE *st_append_open(const char *path, int truncate);

#endif
