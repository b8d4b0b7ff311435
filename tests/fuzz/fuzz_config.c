/*
 * fuzz_config.c - fuzz target: the config reader and everything a config drives before data
 * is read. Seed corpus: tests/fuzz/config/corpus/ (the tutorial configs of jobs/configs with
 * small sizes, and a few layer stacks).
 *
 * The input is the text of a config file. Each input goes through:
 *   1. st_config_load_string (src/io/config.c, inih): syntax; an error must be one clean line;
 *   2. st_settings_resolve: the typed [data]/[train]/[checkpoint]/[callbacks] keys;
 *   3. when every number in the text is small (each at most SMALL, and at most MAX_LAYERS layer
 *      sections: a real model of 100000 units is a question for the size limits, not something
 *      a fuzzer should allocate a thousand times a second), st_fit_benchmark with 2 steps on
 *      generated data: st_run_setup builds the model, loss, optimizer and step buffers, then two
 *      real training steps (forward, backward, update, metrics) and the summary table run;
 *   4. the round trip the checkpoints rely on: the canonical text st_config_text writes must
 *      read back (st_config_load_string) to a config that resolves the same way and whose
 *      canonical text is the same bytes (a checkpoint's config is re-read by evaluate, predict
 *      and resume).
 * The [data] path is replaced by nothing (generated data), and seq_len/features are left to the
 * config: a model needs them. No MPI: a single process, where every collective is local.
 *
 * Run it: tools/fuzz.sh (all targets, bounded), or build-fuzz/tests/fuzz/fuzz_config DIR.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "seqtrain/config.h"
#include "seqtrain/error.h"
#include "seqtrain/train.h"
#include "train/settings.h"

#define MAX_TEXT 8192
#define SMALL 64
#define MAX_LAYERS 24

/* True when the config is small enough to build and step: every decimal number in every value
 * is at most SMALL and there are at most MAX_LAYERS layer sections. */
static int small_enough(const st_config *c) {
    int layers = 0;
    for (int s = 0; s < c->nsec; s++) {
        layers += !st_config_is_meta(c->sec[s].name);
        for (int k = 0; k < c->sec[s].nkv; k++) {
            const char *v = c->sec[s].kv[k].val;
            while (*v) {
                if (*v < '0' || *v > '9') {
                    v++;
                    continue;
                }
                long n = 0;
                while (*v >= '0' && *v <= '9') {
                    if (n <= SMALL) n = n * 10 + (*v - '0');
                    v++;
                }
                if (n > SMALL) return 0;
            }
        }
    }
    return layers <= MAX_LAYERS;
}

/* [data] path would make the benchmark open a file: this target is about configs only. */
static void drop_data_path(st_config *c) {
    for (int s = 0; s < c->nsec; s++) {
        if (strcmp(c->sec[s].name, "data") != 0) continue;
        for (int k = 0; k < c->sec[s].nkv; k++)
            if (strcmp(c->sec[s].kv[k].key, "path") == 0) c->sec[s].kv[k].val[0] = 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_fuzz_init();
    if (size > MAX_TEXT) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;

    st_config c, back;
    memset(&c, 0, sizeof c);
    memset(&back, 0, sizeof back);
    char *canon = NULL, *canon2 = NULL;
    int rc = st_config_load_string(&c, text, "fuzz.ini");
    st_fuzz_check_error(rc, "st_config_load_string");
    if (rc != ST_OK) goto done;
    drop_data_path(&c);

    st_settings set;
    int resolved = st_settings_resolve(&set, &c);
    st_fuzz_check_error(resolved, "st_settings_resolve");
    if (resolved == ST_OK && small_enough(&c)) {
        rc = st_fit_benchmark(&c, 2, 0);
        st_fuzz_check_error(rc, "st_fit_benchmark");
    }

    /* The round trip of a checkpoint's config text. */
    if (!st_fuzz_strict()) goto done;
    canon = st_config_text(&c);
    rc = st_config_load_string(&back, canon, "fuzz.ini");
    if (rc != ST_OK)
        st_fuzz_fail("st_config_text wrote a config that does not read back: %s\n--- text:\n%s",
                     st_error_get(), canon);
    st_settings set2;
    int resolved2 = st_settings_resolve(&set2, &back);
    if (resolved2 != resolved)
        st_fuzz_fail("the config resolves %s, its canonical text %s (%s)\n--- text:\n%s",
                     resolved == ST_OK ? "fine" : "with an error",
                     resolved2 == ST_OK ? "fine" : "with an error", st_error_get(), canon);
    canon2 = st_config_text(&back);
    if (strcmp(canon, canon2) != 0)
        st_fuzz_fail("st_config_text is not stable:\n--- first:\n%s\n--- re-read:\n%s", canon,
                     canon2);
done:
    st_free(canon);
    st_free(canon2);
    st_config_free(&back);
    st_config_free(&c);
    free(text);
    return 0;
}
