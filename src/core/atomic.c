/*
 * atomic.c - all-or-nothing file writes (atomic.h): temporary name, flush, fsync, rename,
 * fsync of the directory, in that order, because a rename may reach the disk before the data
 * it names (ext4 with delalloc, XFS) and a crash would then leave PATH empty.
 *
 * What is written to is only ever a regular file: PATH is checked with lstat before anything
 * is done and again just before the rename (a long evaluation leaves time for a FIFO to
 * appear), and PATH.tmp is created exclusively without following links. The remaining window
 * between the last check and the rename is a race only someone who can write into the
 * directory can run, and the rename never writes through anything: it replaces a name.
 *
 * Not here: what goes into the files (the callers), HDF5 (io/h5.c creates a->tmp itself with
 * H5F_ACC_EXCL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "seqtrain/atomic.h"
#include "seqtrain/error.h"

int st_atomic_check_target(const char *path) {
    struct stat st;
    /* A path that cannot be looked at (no such file, no such directory, no permission) is
     * left to the write itself, which names the reason. */
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) return ST_OK;
    st_error_set("%s: exists and is %s: refused (seqtrain writes regular files only)", path,
                 st_file_kind(st.st_mode));
    return ST_ERR;
}

int st_atomic_begin(st_atomic *a, const char *path) {
    a->fp = NULL;
    a->created = 0;
    a->path[0] = a->tmp[0] = 0;
    size_t n = strlen(path);
    if (n == 0 || n + 5 > sizeof a->tmp) {
        st_error_set("%s: path %s", path, n ? "too long" : "is empty");
        return ST_ERR;
    }
    if (st_atomic_check_target(path) != ST_OK) return ST_ERR;
    memcpy(a->path, path, n + 1);
    memcpy(a->tmp, path, n);
    memcpy(a->tmp + n, ".tmp", 5);
    /* A regular PATH.tmp is what a killed run of ours left (the checkpoint directory's lock
     * keeps a live writer out); anything else there was not made by seqtrain: refused, never
     * removed or followed. */
    struct stat st;
    if (lstat(a->tmp, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            st_error_set("%s: the temporary file %s exists and is %s: refused (seqtrain writes "
                         "regular files only)", path, a->tmp, st_file_kind(st.st_mode));
            a->tmp[0] = 0;
            return ST_ERR;
        }
        if (unlink(a->tmp) != 0 && errno != ENOENT) {
            st_error_set("%s: cannot remove the stale %s: %s", path, a->tmp, strerror(errno));
            a->tmp[0] = 0;
            return ST_ERR;
        }
    }
    return ST_OK;
}

FILE *st_atomic_fopen(st_atomic *a) {
    int fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        st_error_set("%s: cannot create %s: %s", a->path, a->tmp, strerror(errno));
        return NULL;
    }
    a->created = 1;
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        st_error_set("%s: cannot create %s: %s", a->path, a->tmp, strerror(errno));
        close(fd);
    }
    return a->fp;
}

/* fsync of a file (never through a symlink) or directory by name. */
static int sync_path(const char *path, int dir) {
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Unlinks a->tmp when it is ours (a name someone else created there is left alone). */
static void drop_tmp(st_atomic *a) {
    if (a->created && a->tmp[0]) unlink(a->tmp);
    a->created = 0;
}

int st_atomic_commit(st_atomic *a) {
    if (a->fp) {
        /* ferror catches a failed earlier write; fflush + fsync a full disk; fclose both. */
        int bad = ferror(a->fp) || fflush(a->fp) != 0 || fsync(fileno(a->fp)) != 0;
        int err = errno;
        /* The name must still be the file written (not swapped for a link since): the rename
         * moves a name, whatever it names. */
        struct stat sf, sn;
        int swapped = !bad && (fstat(fileno(a->fp), &sf) != 0 || lstat(a->tmp, &sn) != 0 ||
                               sf.st_dev != sn.st_dev || sf.st_ino != sn.st_ino);
        if (fclose(a->fp) != 0 && !bad) bad = 1, err = errno;
        a->fp = NULL;
        if (swapped && !bad) {
            a->created = 0; /* not ours any more: left alone */
            st_error_set("%s: %s was replaced while it was written: refused", a->path, a->tmp);
            return ST_ERR;
        }
        if (bad) {
            drop_tmp(a);
            st_error_set("%s: writing %s failed: %s", a->path, a->tmp,
                         err ? strerror(err) : "disk full?");
            return ST_ERR;
        }
    } else if (sync_path(a->tmp, 0) != 0) {
        int err = errno;
        drop_tmp(a);
        st_error_set("%s: cannot sync %s: %s", a->path, a->tmp, strerror(err));
        return ST_ERR;
    }
    if (st_atomic_check_target(a->path) != ST_OK) {
        drop_tmp(a);
        return ST_ERR;
    }
    if (rename(a->tmp, a->path) != 0) {
        int err = errno;
        drop_tmp(a);
        st_error_set("%s: cannot rename %s into place: %s", a->path, a->tmp, strerror(err));
        return ST_ERR;
    }
    a->created = 0;
    /* Persist the rename itself; best effort: the file is complete either way. */
    char dir[ST_ATOMIC_PATH_MAX];
    memcpy(dir, a->path, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir ? 1 : 0] = 0;
    sync_path(slash ? dir : ".", 1);
    return ST_OK;
}

void st_atomic_abort(st_atomic *a) {
    if (a->fp) fclose(a->fp);
    a->fp = NULL;
    drop_tmp(a);
}

FILE *st_append_open(const char *path, int truncate) {
    /* O_NONBLOCK: a FIFO would block the open until a reader came; the type is checked on the
     * descriptor (no window between a check and the open), before anything is truncated. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                            O_CLOEXEC, 0666);
    struct stat st;
    if (fd < 0) {
        int err = errno;
        /* ELOOP: a symlink; ENXIO: a FIFO without a reader; EISDIR: a directory. */
        if (st_atomic_check_target(path) == ST_OK)
            st_error_set("%s: cannot write: %s", path, strerror(err));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        st_error_set("%s: cannot write: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        st_error_set("%s: exists and is %s: refused (seqtrain writes regular files only)",
                         path, st_file_kind(st.st_mode));
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
        (truncate && ftruncate(fd, 0) != 0)) {
        st_error_set("%s: cannot write: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "a");
    if (!f) {
        st_error_set("%s: cannot write: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}
