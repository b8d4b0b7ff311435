/*
 * seqtrain-synth - generated datasets for tests and demos, in the dataset schema (data.h).
 *
 * Task "order": each row is a sequence of filler tokens with two marker tokens, A (id 1) and
 * B (id 2), at random positions; the label is 1 when A comes before B. No bag-of-words model
 * can solve it: only a model that reads the ORDER of its input can. Rows have random lengths
 * and are padded with 0 ('pre' or 'post'), so it also exercises masking.
 *
 * Task "sum": float features (N, T, F); label 1 when the sum of the first feature over the
 * sequence is positive (for feature-input models, e.g. images read row by row); with an
 * explicit --classes K > 2, the sum's K equal-probability bins.
 *
 * Task "copy-shift" (many-to-many): token rows like "order", labels per step y (N, T):
 * y_t = x_{t-1} at real steps (0 at a row's first real step and at padding), num_classes =
 * vocab. A character-level language model's shape, solvable by any recurrent layer that keeps
 * one token of memory.
 *
 * Task "blobs": float vectors x (N, F) (no time axis, the shape of a flattened MNIST image),
 * --classes K classes; each class has a centre in [0, 1]^F and a row is its centre plus
 * N(0, 0.5^2) noise: learnable by a dense layer, for dense-only models.
 *
 * Task "tokens": token rows of any shape, for any config with an embedding: ids uniform in
 * [1, --vocab), random lengths in [--min-len, --steps], padded 'pre' or 'post'; --classes K
 * classes, label = (first real token) mod K (K = 2 for a single sigmoid unit). Learnable by any
 * recurrent layer that remembers one token (for 'pre' padding it must carry it to the end; a
 * bidirectional layer's backward direction ends on it). The seed configs' test
 * (tests/e2e/seed_configs.sh) gives every config in jobs/configs a dataset of its shapes with it.
 *
 * Each task draws from its own code path: adding a task never changes another task's output
 * (the tests' datasets stay bit-identical).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqtrain/seqtrain.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: seqtrain-synth --out FILE.h5 [--task order|sum|copy-shift|blobs|tokens] [--train N]\n"
            "                      [--test N] [--steps T] [--min-len L] [--vocab V]\n"
            "                      [--features F] [--classes K] [--padding pre|post] [--seed S]\n"
            "Defaults: order, 4000 train, 1000 test, T 20, min-len 6, vocab 20, F 4, K 10, pre,\n"
            "seed 1. K is the number of classes of blobs and tokens (order, sum: 2; copy-shift:\n"
            "the vocabulary).\n"
            "Exit status: 0 written, 1 failed (one line says why), 2 bad command line.\n");
}

/* One "order" row of length len, padded to T. */
static int order_row(st_rng *r, int32_t *row, int T, int len, int vocab, int post) {
    int off = post ? 0 : T - len;
    memset(row, 0, sizeof(int32_t) * (size_t)T);
    for (int t = 0; t < len; t++) row[off + t] = 3 + (int32_t)st_rng_below(r, (uint64_t)vocab - 3);
    int a = (int)st_rng_below(r, (uint64_t)len), b;
    do b = (int)st_rng_below(r, (uint64_t)len);
    while (b == a);
    row[off + a] = 1;
    row[off + b] = 2;
    return a < b;
}

/* One "copy-shift" row of length len, padded to T; labels y_t = x_{t-1} (0 at the first real
 * step and at padding). */
static void copy_row(st_rng *r, int32_t *row, int32_t *lab, int T, int len, int vocab, int post) {
    int off = post ? 0 : T - len;
    memset(row, 0, sizeof(int32_t) * (size_t)T);
    memset(lab, 0, sizeof(int32_t) * (size_t)T);
    for (int t = 0; t < len; t++) {
        row[off + t] = 1 + (int32_t)st_rng_below(r, (uint64_t)vocab - 1);
        if (t > 0) lab[off + t] = row[off + t - 1];
    }
}

/* One "tokens" row of length len, padded to T; returns its label (first real token mod K). */
static int32_t tokens_row(st_rng *r, int32_t *row, int T, int len, int vocab, int K, int post) {
    int off = post ? 0 : T - len;
    memset(row, 0, sizeof(int32_t) * (size_t)T);
    for (int t = 0; t < len; t++) row[off + t] = 1 + (int32_t)st_rng_below(r, (uint64_t)vocab - 1);
    return row[off] % K;
}

int main(int argc, char **argv) {
    int k_given = 0; /* --classes given: the sum task then has K classes */
    const char *out = NULL, *task = "order";
    long ntrain = 4000, ntest = 1000;
    int T = 20, minlen = 6, vocab = 20, F = 4, K = 10, post = 0;
    unsigned long long seed = 1;
    static struct option opts[] = {
        {"out", 1, 0, 'o'},   {"task", 1, 0, 'k'},    {"train", 1, 0, 'n'},
        {"test", 1, 0, 'm'},  {"steps", 1, 0, 'T'},   {"min-len", 1, 0, 'l'},
        {"vocab", 1, 0, 'v'}, {"features", 1, 0, 'F'}, {"padding", 1, 0, 'p'},
        {"seed", 1, 0, 's'},  {"classes", 1, 0, 'K'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'k': task = optarg; break;
        case 'n': ntrain = atol(optarg); break;
        case 'm': ntest = atol(optarg); break;
        case 'T': T = atoi(optarg); break;
        case 'l': minlen = atoi(optarg); break;
        case 'v': vocab = atoi(optarg); break;
        case 'F': F = atoi(optarg); break;
        case 'K': k_given = 1; K = atoi(optarg); break;
        case 'p': post = !strcmp(optarg, "post"); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int copy = !strcmp(task, "copy-shift"), blobs = !strcmp(task, "blobs");
    int ktok = !strcmp(task, "tokens");
    if (!out || ntrain < 1 || ntest < 0 || T < 2 || minlen < 2 || minlen > T || vocab < 4 ||
        F < 1 || K < 2 || (strcmp(task, "order") && strcmp(task, "sum") && !copy && !blobs && !ktok)) {
        fprintf(stderr, "seqtrain-synth: error: bad or missing arguments\n");
        usage(stderr);
        return 2;
    }
    int sum_k = k_given ? K : 2;
    int tokens = !strcmp(task, "order") || copy || ktok;
    if (blobs) T = 0; /* vectors (N, F) */
    const int Te = T ? T : 1, yT = copy ? T : 0;
    long n[2] = {ntrain, ntest};
    int32_t *tok[2] = {0}, *y[2];
    float *x[2] = {0};
    st_split_data sd[2];
    /* blobs: the class centres, shared by both splits */
    float *centre = blobs ? st_malloc(sizeof(float) * (size_t)K * F) : NULL;
    if (blobs) {
        st_rng rc = st_rng_make(seed, 99);
        for (long k = 0; k < (long)K * F; k++) centre[k] = st_rng_uniform(&rc);
    }
    for (int s = 0; s < 2; s++) {
        st_rng r = st_rng_make(seed, (uint64_t)s + 1);
        y[s] = st_malloc(sizeof(int32_t) * (size_t)(n[s] * (yT ? yT : 1) + 1));
        if (tokens)
            tok[s] = st_malloc(sizeof(int32_t) * (size_t)(n[s] * T + 1));
        else
            x[s] = st_malloc(sizeof(float) * (size_t)(n[s] * Te * F + 1));
        for (long i = 0; i < n[s]; i++) {
            if (copy) {
                int len = minlen + (int)st_rng_below(&r, (uint64_t)(T - minlen + 1));
                copy_row(&r, tok[s] + i * T, y[s] + i * T, T, len, vocab, post);
            } else if (ktok) {
                int len = minlen + (int)st_rng_below(&r, (uint64_t)(T - minlen + 1));
                y[s][i] = tokens_row(&r, tok[s] + i * T, T, len, vocab, K, post);
            } else if (blobs) {
                int k = (int)st_rng_below(&r, (uint64_t)K);
                for (int f = 0; f < F; f++)
                    x[s][i * F + f] = centre[(size_t)k * F + f] + 0.5f * st_rng_normal(&r);
                y[s][i] = k;
            } else if (tokens) {
                int len = minlen + (int)st_rng_below(&r, (uint64_t)(T - minlen + 1));
                y[s][i] = order_row(&r, tok[s] + i * T, T, len, vocab, post);
            } else {
                float sum = 0, *row = x[s] + i * T * F;
                for (int k = 0; k < T * F; k++) row[k] = st_rng_normal(&r);
                for (int t = 0; t < T; t++) sum += row[t * F];
                /* 2 classes: the sign of the sum; K > 2 (--classes given): the sum, which is
                 * N(0, T), cut into K bins of equal probability mass at the normal's quantiles
                 * (approximated by a logistic), so every class is learnable and present. */
                if (sum_k <= 2) {
                    y[s][i] = sum > 0;
                } else {
                    double u = 1.0 / (1.0 + exp(-1.702 * sum / sqrt((double)T)));
                    int c = (int)(u * sum_k);
                    y[s][i] = c < sum_k ? c : sum_k - 1;
                }
            }
        }
        sd[s] = (st_split_data){s ? "test" : "train", (size_t)n[s], T, tokens ? 1 : F,
                                tok[s], x[s], y[s], yT};
    }
    int classes = copy ? vocab : (blobs || ktok) ? K : (sum_k > 2 ? sum_k : 2);
    int rc = st_dataset_write(out, classes, tokens ? vocab : 0, sd, ntest > 0 ? 2 : 1);
    if (rc != ST_OK) fprintf(stderr, "seqtrain-synth: error: %s\n", st_error_get());
    else
        printf("wrote %s: task %s, %ld train + %ld test rows of %d steps\n", out, task, ntrain,
               ntest, T);
    st_free(centre);
    for (int s = 0; s < 2; s++) {
        st_free(tok[s]);
        st_free(x[s]);
        st_free(y[s]);
    }
    return rc == ST_OK ? 0 : 1;
}
