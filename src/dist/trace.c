/*
 * trace.c - the per-rank timeline (trace.h). Events are fixed-size records in one buffer, so
 * recording costs two clock reads and a copy; at the end they are gathered to rank 0 as bytes
 * and written as Chrome trace JSON ("X" complete events, microseconds, pid = rank).
 *
 * Data layout: ev records (name, category id, rank, start and duration in microseconds) in one
 * st_malloc'd array per rank; rank 0 receives every rank's records concatenated in rank order
 * and writes the file through st_atomic (PATH.tmp, fsync, rename).
 *
 * Not here: deciding what to time (the callers of st_trace_add) or any MPI call of its
 * own: the gather goes through dist.h, so comm.c stays the only file that includes mpi.h.
 */
#include <stdio.h>
#include <string.h>

#include "seqtrain/atomic.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/trace.h"

/* One slice. Fixed size so that a rank's events are one contiguous byte array: gathering them
 * to rank 0 is a single Gatherv, whatever the names. */
typedef struct ev {
    char name[48];
    const char *cat; /* a literal: only its index travels (see k_cats) */
    int cat_id, rank;
    double ts, dur; /* microseconds since the aligned origin */
} ev;

/* The categories the viewers colour by; an unknown category is recorded as "other". */
/* "bucket": a reduction in flight while the rank computes (the overlapped step): on a track
 * of its own (tid 1), since it overlaps the layers' slices. */
static const char *const k_cats[] = {"forward", "backward", "allreduce", "wait", "optimizer",
                                     "data", "checkpoint", "other", "bucket"};
#define N_CATS (sizeof k_cats / sizeof *k_cats)

/* Per-process recorder state: one buffer allocated at enable, never grown (no allocation on
 * the training path), and the clock origin that makes all ranks' timestamps comparable. */
static ev *g_ev;
static size_t g_n, g_cap, g_dropped;
static double g_origin;
static int g_on;

void st_trace_enable(size_t max_events) {
    g_cap = max_events ? max_events : 1;
    g_ev = st_malloc(g_cap * sizeof(ev));
    g_n = g_dropped = 0;
    st_dist_barrier(); /* every rank leaves at about the same moment: a common origin */
    g_origin = st_time();
    g_on = 1;
}

int st_trace_on(void) { return g_on; }

/* Called around every layer call and step phase: when recording is off it returns at once;
 * when the buffer is full the event is counted as dropped rather than growing memory. */
void st_trace_add(const char *name, const char *cat, double t0, double t1) {
    if (!g_on) return;
    if (g_n == g_cap) {
        g_dropped++;
        return;
    }
    ev *e = &g_ev[g_n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->cat_id = (int)N_CATS - 1;
    for (size_t i = 0; i < N_CATS; i++)
        if (!strcmp(cat, k_cats[i])) e->cat_id = (int)i;
    e->cat = NULL;
    e->rank = st_dist_rank();
    e->ts = (t0 - g_origin) * 1e6;
    e->dur = (t1 - t0) * 1e6;
}

/* JSON string body: event names are layer names from the config, so escape them. */
static void put_str(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
}

/* Every rank sends its events to rank 0 (a rank with none sends zero bytes, so the collective
 * always matches); rank 0 writes one process-name record per rank, then every slice. */
int st_trace_write(const char *path) {
    g_on = 0;
    int rank = st_dist_rank(), size = st_dist_size();
    void *all = NULL;
    size_t bytes = st_dist_gather_bytes(g_ev, g_n * sizeof(ev), &all);
    double dropped = (double)g_dropped;
    st_dist_allreduce_sum_f64(&dropped, 1);
    int rc = ST_OK;
    if (rank == 0) {
        /* Through st_atomic like every file seqtrain writes: a killed job leaves the previous
         * timeline or none, never half of one. */
        st_atomic a;
        FILE *f = st_atomic_begin(&a, path) == ST_OK ? st_atomic_fopen(&a) : NULL;
        if (!f) {
            st_error_set("%s: cannot create the timeline file", a.tmp[0] ? a.tmp : path);
            rc = ST_ERR;
        } else {
            fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", f);
            for (int r = 0; r < size; r++)
                fprintf(f, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %d, "
                           "\"args\": {\"name\": \"rank %d\"}},\n", r, r);
            const ev *e = all;
            size_t n = bytes / sizeof(ev);
            for (size_t i = 0; i < n; i++) {
                fputs("{\"name\": \"", f);
                put_str(f, e[i].name);
                fprintf(f, "\", \"cat\": \"%s\", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, "
                           "\"pid\": %d, \"tid\": %d}%s\n",
                        k_cats[e[i].cat_id], e[i].ts, e[i].dur, e[i].rank,
                        strcmp(k_cats[e[i].cat_id], "bucket") == 0,
                        i + 1 < n ? "," : "");
            }
            fprintf(f, "], \"otherData\": {\"dropped_events\": %.0f}}\n", dropped);
            if (st_atomic_commit(&a) != ST_OK) {
                st_error_set("%s: cannot write the timeline", path);
                rc = ST_ERR;
            } else {
                ST_LOG(ST_LOG_INFO, "timeline: %zu events from %d rank%s in %s%s\n", n, size,
                       size > 1 ? "s" : "", path, dropped > 0 ? " (some dropped: full)" : "");
            }
        }
    }
    st_free(all);
    st_free(g_ev);
    g_ev = NULL;
    return st_dist_any_error(rc);
}
