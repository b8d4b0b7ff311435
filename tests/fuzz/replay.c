/*
 * replay.c - main() for a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput once on
 * every file named on the command line, or found (not recursively) in a directory named there.
 * ctest runs each target this way on its seed corpus in every build (gcc, Release, ASan), so
 * the corpus is a regression test even where clang's libFuzzer is missing; a finding aborts.
 *
 * Not here: any mutation or coverage feedback (that is libFuzzer's, tools/fuzz.sh).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target on one file; 1 when it was read, 0 when it could not be. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 0;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return 0;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    int ran = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            bad++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            ran += run_file(argv[i]);
            continue;
        }
        /* A directory: its regular files in name order, so a failure is reproducible. */
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            bad++;
            continue;
        }
        char **names = NULL;
        size_t n = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, (n + 1) * sizeof *names);
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            snprintf(names[n], len, "%s/%s", argv[i], e->d_name);
            n++;
        }
        closedir(d);
        qsort(names, n, sizeof *names, by_name);
        for (size_t k = 0; k < n; k++) {
            if (stat(names[k], &st) == 0 && S_ISREG(st.st_mode)) {
                fprintf(stderr, "replay: %s\n", names[k]);
                ran += run_file(names[k]);
            }
            free(names[k]);
        }
        free(names);
    }
    fprintf(stderr, "replay: %d input%s\n", ran, ran == 1 ? "" : "s");
    /* An empty corpus or an unreadable file is a broken test, not a pass. */
    return bad || ran == 0 ? 1 : 0;
}
