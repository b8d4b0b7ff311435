/*
 * atomic.c - all-or-nothing file writes (atomic.h): temporary name, flush, fsync, rename,
 * fsync of the directory, in that order, because a rename may reach the disk before the data
 * it names (ext4 with delalloc, XFS) and a crash would then leave PATH empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "seqtrain/atomic.h"
#include "seqtrain/error.h"

int st_atomic_begin(st_atomic *a, const char *path) {
    a->fp = NULL;
    a->path[0] = a->tmp[0] = 0;
    size_t n = strlen(path);
    if (n == 0 || n + 5 > sizeof a->tmp) {
        st_error_set("%s: path %s", path, n ? "too long" : "is empty");
        return ST_ERR;
    }
    memcpy(a->path, path, n + 1);
    memcpy(a->tmp, path, n);
    memcpy(a->tmp + n, ".tmp", 5);
    return ST_OK;
}

FILE *st_atomic_fopen(st_atomic *a) {
    a->fp = fopen(a->tmp, "wb");
    if (!a->fp) st_error_set("%s: cannot create %s: %s", a->path, a->tmp, strerror(errno));
    return a->fp;
}

/* fsync of a file or directory by name. */
static int sync_path(const char *path, int dir) {
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int st_atomic_commit(st_atomic *a) {
    if (a->fp) {
        /* ferror catches a failed earlier write; fflush + fsync a full disk; fclose both. */
        int bad = ferror(a->fp) || fflush(a->fp) != 0 || fsync(fileno(a->fp)) != 0;
        int err = errno;
        if (fclose(a->fp) != 0 && !bad) bad = 1, err = errno;
        a->fp = NULL;
        if (bad) {
            unlink(a->tmp);
            st_error_set("%s: writing %s failed: %s", a->path, a->tmp,
                         err ? strerror(err) : "disk full?");
            return ST_ERR;
        }
    } else if (sync_path(a->tmp, 0) != 0) {
        int err = errno;
        unlink(a->tmp);
        st_error_set("%s: cannot sync %s: %s", a->path, a->tmp, strerror(err));
        return ST_ERR;
    }
    if (rename(a->tmp, a->path) != 0) {
        int err = errno;
        unlink(a->tmp);
        st_error_set("%s: cannot rename %s into place: %s", a->path, a->tmp, strerror(err));
        return ST_ERR;
    }
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
    if (a->tmp[0]) unlink(a->tmp);
}
