/*
 * fuzz_ckpt.c - fuzz target: loading checkpoints (weights, optimizer state, train state,
 * history, callback state, the stored config). Seed corpus: tests/fuzz/ckpt/corpus/.
 *
 * Like fuzz_dataset.c, the input is a description, not an HDF5 image: at start-up the target
 * trains a tiny model with seqtrain itself (st_fit: embedding -> LSTM -> dense, Adam, early
 * stopping keeping the best weights, a checkpoint every step) and keeps two of its checkpoints,
 * one mid-epoch (step-*.h5) and one at an epoch end (epoch-*.h5). Each input picks one and a
 * list of edits, applied with the HDF5 API to a copy:
 *   - a train-state or optimizer scalar (epoch, step_in_epoch, global_step, iterations, seed)
 *     set to an edgy value (negative, 2^31, 2^62, INT64_MIN, ...); partial sums NaN or huge;
 *   - any object of the file deleted, or replaced by a dataset of another class, rank or size
 *     (up to 2^61 elements: chunked and never written, so the file stays small);
 *   - a history / callback / metrics vector given another length;
 *   - the stored config text edited (a value replaced by fuzzed bytes, a line dropped or
 *     added), made a number, or removed; the format and optimizer attributes likewise;
 *   - weights overwritten (NaN, inf, other values) after the file was written.
 * Then the copy goes through what a user runs on it, in one process:
 *   1. st_ckpt_read_config + st_config_load_string + st_settings_resolve (evaluate's start);
 *   2. st_evaluate_report on the tiny dataset (when the stored config describes a small model:
 *      the same bound as fuzz_config.c);
 *   3. st_fit resuming from it with the original config (1 or 2 epochs of 8 rows).
 * Properties checked besides crashes, hangs and memory (off under ST_FUZZ_LAX): every error is
 * one clean line (fuzz.h); a checkpoint whose weights were changed after it was written is
 * refused, not trained on or evaluated (its payload checksum, issue 11).
 *
 * Run it: tools/fuzz.sh (all targets, bounded), or build-fuzz/tests/fuzz/fuzz_ckpt DIR.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "fuzz.h"
#include "io/ckpt.h"
#include "seqtrain/config.h"
#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "seqtrain/train.h"

#define MAX_OBJ 128

static const char *k_config =
    "[data]\npath = %s\n[train]\nepochs = 2\nbatch_size = 4\noptimizer = adam\n"
    "loss = sparse_categorical_crossentropy\nmetrics = accuracy, top_k_categorical_accuracy\n"
    "top_k = 2\n%s[callbacks]\nearly_stopping = true\nearly_stopping.monitor = loss\n"
    "early_stopping.restore_best_weights = true\n"
    "[embedding]\ninput_dim = 12\noutput_dim = 3\nmask_zero = true\n[lstm]\nunits = 3\n"
    "[dense]\nunits = 3\nactivation = softmax\n";

static char g_data[1024];                /* the tiny dataset */
static char g_base[2][1400];            /* mid-epoch and epoch-end checkpoints */
static char g_obj[MAX_OBJ][128];         /* every object path of the mid-epoch one */
static int g_nobj;
static char g_resume_text[4096];         /* the config of a resuming run (no checkpoint dir) */

static herr_t collect(hid_t o, const char *name, const H5O_info_t *info, void *data) {
    (void)o, (void)info, (void)data;
    if (strcmp(name, ".") != 0 && g_nobj < MAX_OBJ)
        snprintf(g_obj[g_nobj++], sizeof g_obj[0], "/%s", name);
    return 0;
}

/* The dataset, one training run writing checkpoints, and the list of objects to edit. */
static void setup(void) {
    snprintf(g_data, sizeof g_data, "%s", st_fuzz_path("data.h5"));
    int32_t x[12 * 5], y[12];
    for (int i = 0; i < 12 * 5; i++) x[i] = (i * 7 + i / 5) % 12 * (i % 5 != 4);
    for (int i = 0; i < 12; i++) y[i] = i % 3;
    st_split_data sp[2] = {{"train", 8, 5, 1, x, NULL, y, 0}, {"test", 4, 5, 1, x + 40, NULL,
                                                              y + 8, 0}};
    if (st_dataset_write(g_data, 3, 12, sp, 2) != ST_OK)
        st_fuzz_fail("cannot write the dataset: %s", st_error_get());
    char run[1100], text[4096], ck[1200];
    snprintf(run, sizeof run, "%s", st_fuzz_path("run"));
    snprintf(ck, sizeof ck, "[checkpoint]\ndir = %s\nevery_steps = 1\nkeep = 0\n", run);
    snprintf(text, sizeof text, k_config, g_data, ck);
    snprintf(g_resume_text, sizeof g_resume_text, k_config, g_data, "");
    st_config c;
    memset(&c, 0, sizeof c);
    if (st_config_load_string(&c, text, "setup.ini") != ST_OK || st_fit(&c, NULL) != ST_OK)
        st_fuzz_fail("the setup run failed: %s", st_error_get());
    st_config_free(&c);
    /* By prefix, not by exact name: the last step-* file (mid-epoch 2) and the first epoch-*
     * file (end of epoch 1), so a resume from either still has training to do. */
    g_base[0][0] = g_base[1][0] = 0;
    DIR *dir = opendir(run);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        int k = strncmp(e->d_name, "step-", 5) == 0    ? 0
                : strncmp(e->d_name, "epoch-", 6) == 0 ? 1
                                                       : -1;
        size_t len = strlen(e->d_name);
        if (k < 0 || len < 3 || strcmp(e->d_name + len - 3, ".h5") != 0) continue;
        char cand[1400];
        snprintf(cand, sizeof cand, "%s/%s", run, e->d_name);
        int cmp = strcmp(cand, g_base[k]);
        if (!g_base[k][0] || (k == 0 ? cmp > 0 : cmp < 0))
            snprintf(g_base[k], sizeof g_base[k], "%s", cand);
    }
    if (dir) closedir(dir);
    if (!g_base[0][0] || !g_base[1][0])
        st_fuzz_fail("the setup run in %s left no step-*.h5 and epoch-*.h5 checkpoints", run);
    hid_t f = H5Fopen(g_base[0], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) st_fuzz_fail("cannot open %s, written by the setup run", g_base[0]);
    H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, collect, NULL, H5O_INFO_BASIC);
    H5Fclose(f);
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    if (a) fclose(a);
    if (b) fclose(b);
}

/* Writes v into the existing dataset at path (whatever its type: HDF5 converts). */
static void set_i64(hid_t f, const char *path, int64_t v) {
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return;
    /* Only a one-element dataset: an earlier edit may have replaced it by a huge one, and a
     * whole-dataset write from &v would read past v and write gigabytes (the harness's bug,
     * found as an out-of-memory "finding"). */
    hid_t sp = H5Dget_space(d);
    if (sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1)
        H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
}

/* Replaces path by a dataset of a fuzzed class, rank and size (1-D of n elements when n >= 0). */
static void replace(st_fuzz_in *in, hid_t f, const char *path, int64_t n) {
    H5Ldelete(f, path, H5P_DEFAULT);
    static const hsize_t dims[] = {0, 1, 2, 3, 4, 12, (hsize_t)1 << 31, (hsize_t)1 << 61};
    int rank = n >= 0 ? 1 : (int)st_fuzz_pick(in, 4);
    hsize_t d[3], maxd[3] = {H5S_UNLIMITED, H5S_UNLIMITED, H5S_UNLIMITED}, ch[3] = {1, 1, 1};
    for (int i = 0; i < rank; i++) d[i] = n >= 0 ? (hsize_t)n : dims[st_fuzz_pick(in, 8)];
    hid_t type = st_fuzz_pick(in, 4) == 0 ? H5Tcopy(H5T_STD_I8LE)
                 : st_fuzz_pick(in, 2)    ? H5Tcopy(H5T_IEEE_F32LE)
                                          : H5Tcopy(H5T_IEEE_F64LE);
    hid_t space = rank ? H5Screate_simple(rank, d, maxd) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (rank) H5Pset_chunk(dcpl, rank, ch);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(f, path, type, space, lcpl, dcpl, H5P_DEFAULT);
    hsize_t np = 1;
    for (int i = 0; i < rank; i++) np *= d[i];
    if (ds >= 0 && np > 0 && np <= 64) { /* small ones get values, edgy ones included */
        double v[64];
        for (hsize_t i = 0; i < np; i++) v[i] = (double)st_fuzz_edgy_i64(in) / 7;
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    }
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
}

/* Sets (or, with NULL, deletes) the string attribute name of the root. */
static void set_attr(hid_t f, const char *name, const char *v, int as_int) {
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    if (!v) return;
    hid_t space = H5Screate(H5S_SCALAR), type;
    if (as_int) {
        type = H5Tcopy(H5T_STD_I32LE);
    } else {
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, H5T_VARIABLE);
        H5Tset_cset(type, H5T_CSET_UTF8);
    }
    hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int one = 1;
    if (a >= 0) {
        H5Awrite(a, type, as_int ? (const void *)&one : (const void *)&v);
        H5Aclose(a);
    }
    H5Tclose(type);
    H5Sclose(space);
}

/* The stored config with one line replaced by fuzzed bytes, dropped, or one added. */
static void edit_config(st_fuzz_in *in, hid_t f) {
    unsigned kind = st_fuzz_pick(in, 6);
    if (kind == 4) return set_attr(f, "config", NULL, 0);
    if (kind == 5) return set_attr(f, "config", "", 1);
    static char text[8192];
    char ins[65];
    st_fuzz_str(in, ins, 64);
    /* The original text is the resume config plus the checkpoint section. */
    int line = (int)st_fuzz_pick(in, 40), at = 0;
    size_t o = 0;
    for (const char *p = g_resume_text; *p && o + 80 < sizeof text; p++) {
        if (at == line && kind == 0) { /* value of this line replaced */
            const char *eq = strchr(p, '=');
            const char *nl = strchr(p, '\n');
            if (eq && nl && eq < nl) {
                size_t k = (size_t)(eq - p) + 1;
                memcpy(text + o, p, k);
                o += k;
                o += (size_t)snprintf(text + o, sizeof text - o, " %s", ins);
                p = nl;
            }
        } else if (at == line && kind == 1) { /* line dropped */
            const char *nl = strchr(p, '\n');
            if (nl) p = nl + 1;
            at++;
            if (!*p) break;
        } else if (at == line && kind == 2) { /* line added */
            o += (size_t)snprintf(text + o, sizeof text - o, "%s\n", ins);
            at++;
        }
        text[o++] = *p;
        if (*p == '\n') at++;
    }
    text[o] = 0;
    set_attr(f, "config", kind == 3 ? ins : text, 0);
}

/* Applies the input's edits to the checkpoint at path; *weights: a weight was overwritten. */
static void mutate(st_fuzz_in *in, const char *path, int *weights) {
    static const char *const scalars[] = {"/train_state/epoch", "/train_state/step_in_epoch",
                                          "/train_state/global_step", "/optimizer/iterations",
                                          "/train_state/seed"};
    static const char *const vecs[] = {"/history/epoch", "/history/loss", "/callbacks/state",
                                       "/train_state/metrics", "/callbacks/best_weights",
                                       "/train_state/partial"};
    char edited[256] = "";
    *weights = 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return;
    int edits = 1 + (int)st_fuzz_pick(in, 4);
    for (int e = 0; e < edits && in->at < in->n; e++) {
        switch (st_fuzz_pick(in, 8)) {
        case 0:
        case 1: set_i64(f, scalars[st_fuzz_pick(in, 5)], st_fuzz_edgy_i64(in)); break;
        case 2: H5Ldelete(f, g_obj[st_fuzz_pick(in, (unsigned)g_nobj)], H5P_DEFAULT); break;
        case 3: replace(in, f, g_obj[st_fuzz_pick(in, (unsigned)g_nobj)], -1); break;
        case 4: {
            static const int64_t len[] = {0, 1, 2, 3, 5, 64, (int64_t)1 << 31, (int64_t)1 << 61};
            replace(in, f, vecs[st_fuzz_pick(in, 6)], len[st_fuzz_pick(in, 8)]);
            break;
        }
        case 5: edit_config(in, f); break;
        case 6: {
            char v[33];
            st_fuzz_str(in, v, 32);
            unsigned k = st_fuzz_pick(in, 3);
            set_attr(f, st_fuzz_pick(in, 2) ? "format" : "optimizer", k == 0 ? NULL : v, k == 2);
            break;
        }
        default: { /* a weight tensor overwritten after the file was written */
            int tries = 0;
            const char *p;
            do p = g_obj[st_fuzz_pick(in, (unsigned)g_nobj)];
            while (strncmp(p, "/model_weights/", 15) != 0 && ++tries < 8);
            hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
            if (d < 0) break;
            hid_t sp = H5Dget_space(d);
            hssize_t np = H5Sget_simple_extent_npoints(sp);
            /* An earlier edit may have made this a huge dataset (never written): the
             * harness must not allocate for it (it did: 48 GB, found as an "out of memory"). */
            float *w = np > 0 && np <= (1 << 20) ? calloc((size_t)np, sizeof *w) : NULL;
            if (w && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0) {
                uint8_t how = st_fuzz_u8(in);
                w[how % np] = how & 1 ? 0.0f / 0.0f : how & 2 ? 1.0f / 0.0f : w[how % np] + 1;
                if (H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0) {
                    *weights = 1;
                    snprintf(edited, sizeof edited, "%s", p);
                }
            }
            free(w);
            H5Sclose(sp);
            H5Dclose(d);
        }
        }
    }
    /* A later edit may have deleted the edited dataset (or a group above it): then nothing
     * of the edit is left to be refused (the property check would be wrong, as it once was). */
    if (*weights) {
        char part[sizeof edited];
        for (char *q = strchr(edited + 1, '/'); *weights; q = strchr(q + 1, '/')) {
            snprintf(part, sizeof part, "%.*s", q ? (int)(q - edited) : (int)strlen(edited),
                     edited);
            if (H5Lexists(f, part, H5P_DEFAULT) <= 0) *weights = 0;
            if (!q) break;
        }
    }
    H5Fclose(f);
}

/* A config small enough to evaluate: the bound of fuzz_config.c (every number <= 64). */
static int small_text(const char *t) {
    for (const char *p = t; *p; p++)
        if (*p >= '0' && *p <= '9') {
            long n = 0;
            while (*p >= '0' && *p <= '9' && n <= 64) n = n * 10 + (*p++ - '0');
            if (n > 64) return 0;
            p--;
        }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_fuzz_init();
    static int ready = 0;
    if (!ready) {
        setup();
        ready = 1;
    }
    st_fuzz_in in = {data, size, 0};
    char path[1024];
    snprintf(path, sizeof path, "%s", st_fuzz_path("ck.h5"));
    copy_file(g_base[st_fuzz_pick(&in, 2)], path);
    int weights;
    mutate(&in, path, &weights);
    int strict = st_fuzz_strict();

    /* 1. the stored config, as evaluate and predict read it */
    char *text = NULL;
    int rc = st_ckpt_read_config(path, &text), small = 0;
    st_fuzz_check_error(rc, "st_ckpt_read_config");
    if (rc == ST_OK) {
        st_config c;
        memset(&c, 0, sizeof c);
        rc = st_config_load_string(&c, text, path);
        st_fuzz_check_error(rc, "st_config_load_string (stored config)");
        small = rc == ST_OK && small_text(text);
        st_config_free(&c);
    }
    st_free(text);

    /* 2. evaluate */
    if (small) {
        st_eval_report r;
        rc = st_evaluate_report(path, g_data, "test", &r);
        st_fuzz_check_error(rc, "st_evaluate_report");
        if (rc == ST_OK && weights && strict)
            st_fuzz_fail("evaluate accepted a checkpoint whose weights changed after it was "
                         "written");
        st_eval_report_free(&r);
    }

    /* 3. resume */
    st_config c;
    memset(&c, 0, sizeof c);
    if (st_config_load_string(&c, g_resume_text, "resume.ini") != ST_OK)
        st_fuzz_fail("the resume config does not load: %s", st_error_get());
    rc = st_fit(&c, path);
    st_fuzz_check_error(rc, "st_fit (resume)");
    if (rc == ST_OK && weights && strict)
        st_fuzz_fail("resume trained on a checkpoint whose weights changed after it was written");
    st_config_free(&c);
    return 0;
}
