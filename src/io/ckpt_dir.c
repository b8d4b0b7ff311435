/*
 * ckpt_dir.c - a directory of checkpoints (io/ckpt.h): finding the newest one, pruning old
 * ones, and the lock that keeps a second job out of it.
 *
 * Checkpoint files are epoch-E.h5 (E completed epochs) and step-S.h5 (S steps since the start,
 * written inside an epoch); anything else, *.tmp and best.h5 included, is not a candidate.
 * "Newest" comes from the NAMES, so finding it opens no other file: a damaged older file (a
 * flipped byte anywhere) can no longer hang or crash a resume. Epoch files are ordered by E,
 * step files by S; only when both kinds are present is one number read from a file: the
 * /train_state/global_step of the newest epoch file not yet placed, to know whether a step
 * file was written after it (a scalar dataset: no attribute, no global heap, checksummed
 * metadata in files of this version). The newest candidate is then verified alone
 * (st_ckpt_verify: every CRC); a damaged one is reported with the file used instead, never
 * silently, and the next newest is tried.
 *
 * The lock is DIR/.lock, held with flock(LOCK_EX | LOCK_NB) for the whole run by rank 0 and
 * holding "HOST PID" for the message another job gets. flock is released by the kernel when
 * the holder dies, so a stale lock file never blocks; the file is never removed (see
 * st_ckpt_unlock).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/ckpt_int.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"

/* CKPT_PATH_MAX of config.h (the longest directory a user can give) plus a file name. */
#define DIR_PATH_MAX (1024 + 256 + 2)
/* Damaged candidates named in the warnings before the one used (more are counted only). */
#define DAMAGED_MAX 8

/* One candidate, from its name alone. */
typedef struct ckpt_name {
    char name[256];
    int64_t num; /* E of epoch-E.h5, S of step-S.h5 */
} ckpt_name;

/* "epoch-<digits>.h5" -> 1, "step-<digits>.h5" -> 2 (*num set), anything else 0. At most 18
 * digits, so the number fits an int64. */
static int parse_name(const char *n, int64_t *num) {
    int kind;
    const char *p;
    if (strncmp(n, "epoch-", 6) == 0)
        kind = 1, p = n + 6;
    else if (strncmp(n, "step-", 5) == 0)
        kind = 2, p = n + 5;
    else
        return 0;
    int64_t v = 0;
    int digits = 0;
    for (; isdigit((unsigned char)*p); p++, digits++) v = v * 10 + (*p - '0');
    if (digits == 0 || digits > 18 || strcmp(p, ".h5") != 0) return 0;
    *num = v;
    return kind;
}

static int name_cmp_desc(const void *a, const void *b) {
    const ckpt_name *x = a, *y = b;
    if (x->num != y->num) return x->num > y->num ? -1 : 1;
    return strcmp(y->name, x->name);
}

/* The candidates of dir by kind, each newest first (st_malloc'd arrays). */
typedef struct ckpt_list {
    const char *dir;
    ckpt_name *ep, *st;
    int nep, nst;
    int ie, is;      /* next unplaced of each kind */
    int64_t ep_gs;   /* global_step of ep[ie], when ep_known */
    int ep_known;
} ckpt_list;

static void push(ckpt_name **v, int *n, int *cap, const char *name, int64_t num) {
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        ckpt_name *g = st_malloc((size_t)*cap * sizeof *g);
        if (*n) memcpy(g, *v, (size_t)*n * sizeof *g);
        st_free(*v);
        *v = g;
    }
    snprintf((*v)[*n].name, sizeof (*v)[*n].name, "%s", name);
    (*v)[(*n)++].num = num;
}

static int list_open(ckpt_list *L, const char *dir) {
    memset(L, 0, sizeof *L);
    L->dir = dir;
    DIR *d = opendir(dir);
    if (!d) {
        st_error_set("%s: %s", dir, errno == ENOENT ? "no such directory" : strerror(errno));
        return ST_ERR;
    }
    int cep = 0, cst = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t num;
        int kind = parse_name(de->d_name, &num);
        if (kind == 1) push(&L->ep, &L->nep, &cep, de->d_name, num);
        if (kind == 2) push(&L->st, &L->nst, &cst, de->d_name, num);
    }
    closedir(d);
    if (L->nep) qsort(L->ep, (size_t)L->nep, sizeof *L->ep, name_cmp_desc);
    if (L->nst) qsort(L->st, (size_t)L->nst, sizeof *L->st, name_cmp_desc);
    return ST_OK;
}

static void list_close(ckpt_list *L) {
    st_free(L->ep);
    st_free(L->st);
}

/* /train_state/global_step of one file, opening nothing else in it. */
static int peek_global_step(const char *path, int64_t *gs) {
    struct stat st;
    st_h5_quiet();
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        st_error_set("%s: not a regular file", path);
        return ST_ERR;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = -1, sp = -1;
    int ok = f >= 0 && (d = H5Dopen2(f, "/train_state/global_step", H5P_DEFAULT)) >= 0 &&
             (sp = H5Dget_space(d)) >= 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
             H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, gs) >= 0 && *gs >= 0;
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    if (!ok) st_error_set("%s: /train_state/global_step does not read back", path);
    return ok ? ST_OK : ST_ERR;
}

/* The next newest candidate into path: 1, or 0 when none is left. *bad = 1 (message set) when
 * the epoch file it had to peek at cannot be read: it cannot be placed in the order. */
static int list_next(ckpt_list *L, char *path, size_t len, int *bad) {
    const ckpt_name *e;
    *bad = 0;
    if (L->ie < L->nep && L->is < L->nst) {
        if (!L->ep_known) {
            snprintf(path, len, "%s/%s", L->dir, L->ep[L->ie].name);
            if (peek_global_step(path, &L->ep_gs) != ST_OK) {
                L->ie++;
                *bad = 1;
                return 1;
            }
            L->ep_known = 1;
        }
        /* A step file is newer only if taken after that epoch ended. */
        if (L->ep_gs >= L->st[L->is].num) {
            e = &L->ep[L->ie++];
            L->ep_known = 0;
        } else {
            e = &L->st[L->is++];
        }
    } else if (L->ie < L->nep) {
        e = &L->ep[L->ie++];
    } else if (L->is < L->nst) {
        e = &L->st[L->is++];
    } else {
        return 0;
    }
    snprintf(path, len, "%s/%s", L->dir, e->name);
    return 1;
}

/* The reason of an error about path, without the "PATH: " st_error_get starts with. */
static const char *reason(const char *path) {
    const char *m = st_error_get();
    size_t n = strlen(path);
    return strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ' ? m + n + 2 : m;
}

/* A file is taken as given (it is verified when loaded); a directory resolves to its newest
 * good checkpoint, which is what --resume runs/x means. */
int st_ckpt_resolve(const char *path, char *out, size_t outlen) {
    struct stat st;
    if (stat(path, &st) != 0) {
        st_error_set("%s: %s", path,
                     errno == ENOENT ? "no such file or directory" : strerror(errno));
        return ST_ERR;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (strlen(path) >= outlen) {
            st_error_set("%s: path too long", path);
            return ST_ERR;
        }
        memcpy(out, path, strlen(path) + 1);
        return ST_OK;
    }
    ckpt_list L;
    if (list_open(&L, path) != ST_OK) return ST_ERR;
    char cand[DIR_PATH_MAX];
    static char bad_path[DAMAGED_MAX][DIR_PATH_MAX], bad_why[DAMAGED_MAX][512];
    int nbad = 0, found = 0, bad;
    while (!found && list_next(&L, cand, sizeof cand, &bad)) {
        if (!bad) bad = st_ckpt_verify(cand, NULL) != ST_OK;
        if (!bad) {
            found = 1;
        } else {
            if (nbad < DAMAGED_MAX) {
                snprintf(bad_path[nbad], sizeof bad_path[nbad], "%s", cand);
                snprintf(bad_why[nbad], sizeof bad_why[nbad], "%s", reason(cand));
            }
            nbad++;
        }
    }
    int rc = ST_OK;
    if (!found && nbad == 0) {
        st_error_set("%s: no checkpoint found (looked for epoch-NNNN.h5 and step-NNNNNNNN.h5)",
                     path);
        rc = ST_ERR;
    } else if (!found) {
        st_error_set("%s: no usable checkpoint: the newest, %s, is damaged (%s)%s", path,
                     bad_path[0], bad_why[0],
                     nbad > 1 ? ", and so is every older one" : "");
        rc = ST_ERR;
    } else if (strlen(cand) >= outlen) {
        st_error_set("%s: path too long", cand);
        rc = ST_ERR;
    } else {
        memcpy(out, cand, strlen(cand) + 1);
        for (int i = 0; i < nbad && i < DAMAGED_MAX; i++)
            ST_LOG(ST_LOG_WARN, "warning: %s is damaged (%s); using %s instead\n", bad_path[i],
                   bad_why[i], cand);
        if (nbad > DAMAGED_MAX)
            ST_LOG(ST_LOG_WARN, "warning: %d more damaged checkpoints in %s\n",
                   nbad - DAMAGED_MAX, path);
    }
    list_close(&L);
    return rc;
}

/* Called by rank 0 after each successful save. Only files named like our checkpoints are
 * counted or deleted; one that cannot be placed in the order is left alone. */
int st_ckpt_prune(const char *dir, int keep) {
    if (keep <= 0) return ST_OK;
    ckpt_list L;
    if (list_open(&L, dir) != ST_OK) return ST_ERR;
    char path[DIR_PATH_MAX];
    int kept = 0, bad, rc = ST_OK;
    while (list_next(&L, path, sizeof path, &bad)) {
        if (bad) {
            ST_LOG(ST_LOG_WARN, "warning: not pruning %s: %s\n", path, reason(path));
            continue;
        }
        if (kept < keep) {
            kept++;
        } else if (unlink(path) != 0 && rc == ST_OK) {
            st_error_set("%s: cannot delete an old checkpoint: %s", path, strerror(errno));
            rc = ST_ERR;
        }
    }
    list_close(&L);
    return rc;
}

int st_ckpt_dir_check(const char *dir) {
    ckpt_list L;
    if (list_open(&L, dir) != ST_OK) return ST_ERR;
    char path[DIR_PATH_MAX];
    int bad, found = list_next(&L, path, sizeof path, &bad);
    list_close(&L);
    if (!found) return ST_OK;
    st_error_set("[checkpoint] dir %s already holds checkpoints (newest: %s): resume with "
                 "--resume %s, or choose another dir", dir, path, dir);
    return ST_ERR;
}

/* ---- the directory lock --------------------------------------------------------------------- */

/* Removes what an interrupted writer left: PATH.tmp of a file seqtrain writes in the directory
 * (a checkpoint, best.h5, history.csv), regular files only (a planted link is left alone).
 * Safe only while holding the lock: no other run can be writing them. */
static void sweep_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int64_t num;
        char base[256];
        if (n <= 4 || n >= sizeof base || strcmp(e->d_name + n - 4, ".tmp") != 0) continue;
        memcpy(base, e->d_name, n - 4);
        base[n - 4] = 0;
        if (!parse_name(base, &num) && strcmp(base, "best.h5") && strcmp(base, "history.csv"))
            continue;
        char path[DIR_PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) == 0)
            ST_LOG(ST_LOG_INFO, "Removed %s, left by an interrupted write\n", path);
    }
    closedir(d);
}

int st_ckpt_lock(const char *dir, int *fd) {
    char path[DIR_PATH_MAX], holder[128] = "";
    *fd = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/.lock", dir) >= sizeof path) {
        st_error_set("%s: path too long", dir);
        return ST_ERR;
    }
    /* O_NOFOLLOW: a symlink planted as .lock must not make us truncate another file. */
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f < 0) {
        st_error_set("%s: cannot open the lock file %s: %s", dir, path, strerror(errno));
        return ST_ERR;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err == EWOULDBLOCK) {
            ssize_t n = pread(f, holder, sizeof holder - 1, 0);
            holder[n > 0 ? n : 0] = 0;
            /* The holder's text is printed: only "HOST PID" characters survive. */
            char host[64] = "?", pid[24] = "?";
            if (sscanf(holder, "%63[A-Za-z0-9._-] %23[0-9]", host, pid) < 2) {
                snprintf(host, sizeof host, "?");
                snprintf(pid, sizeof pid, "?");
            }
            close(f);
            st_error_set("checkpoint dir %s is in use by host %s pid %s (%s is locked; two "
                         "jobs would overwrite each other's checkpoints)", dir, host, pid, path);
            return ST_ERR;
        }
        /* No flock here (some network file systems): refusing would make the directory
         * unusable, so the run goes on, unprotected, and says so. */
        close(f);
        ST_LOG(ST_LOG_WARN, "warning: cannot lock %s (%s): a second job on this directory "
               "would not be detected\n", path, strerror(err));
        return ST_OK;
    }
    char host[64] = "unknown";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    int n = snprintf(holder, sizeof holder, "%s %ld\n", host, (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, holder, (size_t)n, 0) != n) {
        int err = errno;
        close(f);
        st_error_set("%s: cannot write the lock file %s: %s", dir, path, strerror(err));
        return ST_ERR;
    }
    *fd = f;
    sweep_tmp(dir);
    return ST_OK;
}

void st_ckpt_unlock(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}
