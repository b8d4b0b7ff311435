/*
 * preempt.c - the stop signals of [train] stop_signals (preempt.h).
 *
 * The handler only records the signal in a volatile sig_atomic_t: nothing else is
 * async-signal-safe enough to run inside a collective or an HDF5 write. The loop reads the flag
 * once per step (step.c puts it into the allreduce's tail), so a stop costs no extra
 * communication and every rank decides at the same step. A second stop signal means "now": the
 * handler writes one fixed line with write(2) and calls _exit(128 + signal), the status a shell
 * reports for a process killed by that signal; the checkpoints already on disk are complete
 * (they are written to NAME.tmp and renamed).
 *
 * Not here: the agreement (step.c), the checkpoint and the exit status (fit.c, cmd_train.c).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "seqtrain/error.h"
#include "train/preempt.h"

static const struct {
    const char *name;
    int sig, bit;
} k_signals[] = {
    {"TERM", SIGTERM, ST_SIG_TERM}, {"INT", SIGINT, ST_SIG_INT},   {"USR1", SIGUSR1, ST_SIG_USR1},
    {"USR2", SIGUSR2, ST_SIG_USR2}, {"HUP", SIGHUP, ST_SIG_HUP},   {"XCPU", SIGXCPU, ST_SIG_XCPU},
};
#define NSIG_KNOWN ((int)(sizeof k_signals / sizeof *k_signals))

static volatile sig_atomic_t g_signal;
static struct sigaction g_old[NSIG_KNOWN];
static int g_installed; /* bit set of the entries of g_old that hold a saved disposition */

static void on_signal(int sig) {
    if (g_signal) {
        static const char msg[] = "seqtrain: second stop signal: exiting now, without a "
                                  "checkpoint\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(128 + sig);
    }
    g_signal = sig;
}

int st_preempt_parse(const char *key, const char *val, void *field) {
    int mask = 0;
    if (strcasecmp(val, "none") == 0) {
        *(int *)field = 0;
        return ST_OK;
    }
    const char *p = val;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        size_t n = (size_t)(e - p);
        const char *q = p;
        if (n > 3 && strncasecmp(q, "SIG", 3) == 0) q += 3, n -= 3;
        int found = -1;
        for (int i = 0; i < NSIG_KNOWN; i++)
            if (strlen(k_signals[i].name) == n && strncasecmp(q, k_signals[i].name, n) == 0)
                found = i;
        if (found < 0) {
            st_error_set("%s = %s: unknown signal '%.*s' (known: TERM, INT, USR1, USR2, HUP, "
                         "XCPU, or none)", key, val, (int)(e - p), p);
            return ST_ERR;
        }
        mask |= k_signals[found].bit;
        p = e;
    }
    if (!mask) {
        st_error_set("%s = %s: give signal names such as TERM,INT,USR1, or none", key, val);
        return ST_ERR;
    }
    *(int *)field = mask;
    return ST_OK;
}

int st_preempt_install(int mask) {
    st_preempt_restore();
    g_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* The other stop signals are blocked while the handler runs, so two signals arriving
     * together are seen one after the other (the second one then exits). */
    for (int i = 0; i < NSIG_KNOWN; i++)
        if (mask & k_signals[i].bit) sigaddset(&sa.sa_mask, k_signals[i].sig);
    /* Reads and MPI's polls resume after the handler instead of failing with EINTR. */
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < NSIG_KNOWN; i++) {
        if (!(mask & k_signals[i].bit)) continue;
        if (sigaction(k_signals[i].sig, &sa, &g_old[i]) != 0) {
            st_error_set("[train] stop_signals: cannot install a handler for SIG%s",
                         k_signals[i].name);
            st_preempt_restore();
            return ST_ERR;
        }
        g_installed |= 1 << i;
    }
    return ST_OK;
}

void st_preempt_restore(void) {
    for (int i = 0; i < NSIG_KNOWN; i++)
        if (g_installed & (1 << i)) sigaction(k_signals[i].sig, &g_old[i], NULL);
    g_installed = 0;
}

int st_preempt_signal(void) { return (int)g_signal; }

const char *st_preempt_name(int sig) {
    static char buf[16];
    for (int i = 0; i < NSIG_KNOWN; i++)
        if (k_signals[i].sig == sig) {
            snprintf(buf, sizeof buf, "SIG%s", k_signals[i].name);
            return buf;
        }
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}
