/*
 * seqtrain-idx2h5 - MNIST / Fashion-MNIST idx files to a seqtrain dataset (data.h schema).
 *
 * Input: the idx format of LeCun's MNIST page, gzip-compressed or not (zlib's gzread reads
 * both): a big-endian header, magic 0x00000803 (unsigned bytes, 3 dimensions: N, rows, cols)
 * for images or 0x00000801 (1 dimension: N) for labels, then the bytes row-major.
 *
 * Output: /train/x and /test/x float32 (N, rows, cols), pixel / 255 in [0, 1]: each image row
 * is one time step of `cols` features, the shape a row-reading LSTM takes (28 steps x 28
 * features). With --flat: (N, rows*cols) vectors for dense-only models. /<split>/y int32 (N),
 * root attribute num_classes = 10. --valid-fraction F moves the LAST round(F * N) training
 * rows to /valid (the rows Keras' validation_split would take; both MNIST training sets are
 * already in random order). The file is written atomically by st_dataset_write.
 *
 * Every check names the file and the offending value: a wrong magic (e.g. labels given as
 * images), a file shorter than its header says (a truncated download), an image count that is
 * not the label count, a label outside [0, 10), trailing bytes past the declared data, or a
 * corrupt gzip stream (zlib's own message).
 *
 * /classes holds the class names: Fashion-MNIST's ("T-shirt/top", ...) with --fashion or when
 * "fashion" is in the image file's path, the digits "0".."9" otherwise.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "seqtrain/seqtrain.h"

#define PROG "seqtrain-idx2h5"
#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define NUM_CLASSES 10

/* Fashion-MNIST's class names, id order (zalandoresearch/fashion-mnist README). */
static const char *const k_fashion[NUM_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                   "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                   "Bag",         "Ankle boot"};

static void usage(FILE *f) {
    fprintf(f,
            "usage: " PROG " --out FILE.h5 (--dir DIR | --train-images F --train-labels F\n"
            "                       --test-images F --test-labels F) [--flat] [--valid-fraction F]\n"
            "\n"
            "MNIST / Fashion-MNIST idx files (gzip or plain) to a dataset: x float32 (N, 28, 28)\n"
            "in [0, 1] (one image row per time step), y int32 (N), num_classes 10.\n"
            "  --dir DIR            find train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
            "                       t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each with or\n"
            "                       without .gz) in DIR\n"
            "  --flat               x float32 (N, 784) vectors instead (dense models)\n"
            "  --valid-fraction F   the last F of the training rows become /valid (default 0)\n"
            "  --fashion            Fashion-MNIST: /classes gets its names (T-shirt/top, ...);\n"
            "                       the default guesses from the path (\"fashion\" in it), else\n"
            "                       /classes is \"0\"..\"9\"\n"
            "Exit status: 0 written, 1 bad or missing data (one line says why), 2 bad command\n"
            "line.\n");
}

/* A user mistake: one line, exit 1 (bad data) - the caller frees nothing, the process ends. */
static void die(const char *fmt, ...) ST_PRINTF(1, 2) ST_NORETURN;
static void die(const char *fmt, ...) {
    va_list ap;
    fputs(PROG ": error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* zlib's message for g without the "PATH: " it starts with (ours names the file already). */
static const char *gz_message(gzFile g, const char *path, int *errnum) {
    const char *msg = gzerror(g, errnum);
    size_t pl = strlen(path);
    if (!strncmp(msg, path, pl) && msg[pl] == ':' && msg[pl + 1] == ' ') msg += pl + 2;
    return msg;
}

/* Exactly n bytes from g, or a message naming the file and what was being read. */
static void read_exact(gzFile g, const char *path, void *buf, size_t n, const char *what,
                       size_t done_before, size_t total) {
    size_t got = 0;
    while (got < n) {
        unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(g, (char *)buf + got, chunk);
        if (r < 0) {
            int errnum;
            const char *msg = gz_message(g, path, &errnum);
            if (errnum == Z_BUF_ERROR) /* the gzip stream stops early */
                die("%s: truncated gzip file while reading %s (%zu of %zu bytes read): %s", path,
                    what, done_before + got, total, msg);
            die("%s: corrupt gzip data while reading %s: %s", path, what, msg);
        }
        if (r == 0) {
            if (total)
                die("%s: truncated: the header declares %zu bytes of %s but the file ends after "
                    "%zu (an interrupted download?)",
                    path, total, what, done_before + got);
            die("%s: truncated: the file ends inside the %s", path, what);
        }
        got += (size_t)r;
    }
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One idx file: checks the magic against `magic`, reads the dims and the data bytes
 * (st_malloc'd into *data); *n = first dim, *rows, *cols = the image dims (1 for labels). */
static void read_idx(const char *path, uint32_t magic, size_t *n, int *rows, int *cols,
                     unsigned char **data) {
    struct stat st;
    if (stat(path, &st) != 0) die("%s: no such file", path);
    if (S_ISDIR(st.st_mode)) die("%s: is a directory, not an idx file", path);
    gzFile g = gzopen(path, "rb");
    if (!g) die("%s: cannot open", path);
    gzbuffer(g, 1u << 17);
    unsigned char hdr[16];
    int ndim = magic == IDX_IMAGES ? 3 : 1;
    read_exact(g, path, hdr, 4, "header", 0, 0);
    uint32_t m = be32(hdr);
    if (m != magic) {
        /* idx magic: 0x0000TTDD, TT the element type (0x08..0x0E), DD the rank. */
        int idx_like = (m >> 16) == 0 && ((m >> 8) & 0xff) >= 0x08 && ((m >> 8) & 0xff) <= 0x0e;
        const char *kind = m == IDX_IMAGES   ? " (an image file)"
                           : m == IDX_LABELS ? " (a label file)"
                           : idx_like        ? " (an idx file of another type or rank)"
                                             : " (not an idx file)";
        die("%s: bad magic 0x%08x%s: expected 0x%08x, an idx%d-ubyte %s file", path, m, kind,
            magic, ndim, ndim == 3 ? "image" : "label");
    }
    read_exact(g, path, hdr + 4, 4 * (size_t)ndim, "header", 0, 0);
    *n = be32(hdr + 4);
    *rows = *cols = 1;
    if (ndim == 3) {
        uint32_t r = be32(hdr + 8), c = be32(hdr + 12);
        if (r < 1 || c < 1 || r > 4096 || c > 4096)
            die("%s: image size %ux%u in the header is not plausible (1..4096 each)", path, r, c);
        *rows = (int)r;
        *cols = (int)c;
    }
    size_t bytes = *n * (size_t)*rows * (size_t)*cols;
    *data = st_malloc(bytes ? bytes : 1);
    read_exact(g, path, *data, bytes, ndim == 3 ? "pixels" : "labels", 0, bytes);
    /* Trailing bytes mean the header and the data disagree: better said than silently dropped. */
    unsigned char extra;
    int r = gzread(g, &extra, 1);
    if (r < 0) {
        int errnum;
        die("%s: corrupt gzip data after the %s: %s", path, ndim == 3 ? "pixels" : "labels",
            gz_message(g, path, &errnum));
    }
    if (r > 0)
        die("%s: more data than the header's count %zu declares (concatenated or wrong file?)",
            path, *n);
    gzclose(g);
}

/* A split: images and labels read, checked against each other, converted. */
typedef struct split_in {
    size_t n;
    int rows, cols;
    float *x;  /* (n, rows, cols) in [0, 1] */
    int32_t *y; /* (n) */
} split_in;

static void load_split(const char *images, const char *labels, split_in *s) {
    unsigned char *px, *lb;
    size_t nl;
    int r1, c1;
    read_idx(images, IDX_IMAGES, &s->n, &s->rows, &s->cols, &px);
    read_idx(labels, IDX_LABELS, &nl, &r1, &c1, &lb);
    if (nl != s->n)
        die("count mismatch: %s has %zu images but %s has %zu labels", images, s->n, labels, nl);
    size_t px_n = s->n * (size_t)s->rows * (size_t)s->cols;
    s->x = st_malloc((px_n ? px_n : 1) * sizeof(float));
    s->y = st_malloc((s->n ? s->n : 1) * sizeof(int32_t));
    for (size_t i = 0; i < px_n; i++) s->x[i] = px[i] / 255.0f;
    for (size_t i = 0; i < s->n; i++) {
        if (lb[i] >= NUM_CLASSES)
            die("%s: label %u at row %zu is not a class id in [0, %d)", labels, lb[i], i,
                NUM_CLASSES);
        s->y[i] = lb[i];
    }
    st_free(px);
    st_free(lb);
}

/* DIR/base or DIR/base.gz, whichever exists (plain first). */
static char *find_in_dir(const char *dir, const char *base) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, base);
    if (stat(path, &st) == 0) return st_strdup(path);
    snprintf(path, sizeof path, "%s/%s.gz", dir, base);
    if (stat(path, &st) == 0) return st_strdup(path);
    die("%s: no %s or %s.gz in it (--dir expects the standard MNIST file names)", dir, base,
        base);
}

int main(int argc, char **argv) {
    const char *out = NULL, *dir = NULL;
    const char *files[4] = {NULL, NULL, NULL, NULL}; /* train img, train lab, test img, lab */
    int flat = 0, fashion = -1;
    double valid = 0;
    static struct option opts[] = {{"out", 1, 0, 'o'},          {"dir", 1, 0, 'd'},
                                   {"train-images", 1, 0, 'a'}, {"train-labels", 1, 0, 'b'},
                                   {"test-images", 1, 0, 'c'},  {"test-labels", 1, 0, 'e'},
                                   {"flat", 0, 0, 'f'},         {"valid-fraction", 1, 0, 'v'},
                                   {"fashion", 0, 0, 'F'},      {"help", 0, 0, 'h'},
                                   {0, 0, 0, 0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'd': dir = optarg; break;
        case 'a': files[0] = optarg; break;
        case 'b': files[1] = optarg; break;
        case 'c': files[2] = optarg; break;
        case 'e': files[3] = optarg; break;
        case 'f': flat = 1; break;
        case 'F': fashion = 1; break;
        case 'v':
            valid = strtod(optarg, &end);
            if (end == optarg || *end || !(valid >= 0 && valid < 1)) {
                fprintf(stderr, PROG ": error: --valid-fraction '%s': need a number in [0, 1)\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": error: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!out) {
        fprintf(stderr, PROG ": error: missing --out FILE.h5\n");
        usage(stderr);
        return 2;
    }
    static const char *const k_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    static const char *const k_opts[4] = {"--train-images", "--train-labels", "--test-images",
                                          "--test-labels"};
    char *found[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; i++) {
        if (files[i]) continue;
        if (!dir) {
            fprintf(stderr, PROG ": error: missing %s FILE (or --dir DIR)\n", k_opts[i]);
            return 2;
        }
        files[i] = found[i] = find_in_dir(dir, k_names[i]);
    }
    if (fashion < 0) fashion = strstr(files[0], "fashion") || strstr(files[0], "Fashion");

    split_in tr, te;
    load_split(files[0], files[1], &tr);
    load_split(files[2], files[3], &te);
    if (tr.rows != te.rows || tr.cols != te.cols)
        die("image size mismatch: %s has %dx%d images but %s has %dx%d", files[0], tr.rows,
            tr.cols, files[2], te.rows, te.cols);
    if (tr.n == 0) die("%s: no training images", files[0]);

    /* Rows are time steps (T = rows, F = cols) or one vector (T = 0, F = rows * cols). */
    const int T = flat ? 0 : tr.rows, F = flat ? tr.rows * tr.cols : tr.cols;
    const size_t rl = (size_t)tr.rows * (size_t)tr.cols;
    size_t nv = (size_t)llround(valid * (double)tr.n);
    if (valid > 0 && (nv == 0 || nv >= tr.n))
        die("--valid-fraction %g of %zu training rows leaves %s", valid, tr.n,
            nv == 0 ? "no validation rows" : "no training rows");
    size_t nt = tr.n - nv;
    st_split_data sd[3];
    int ns = 0;
    sd[ns++] = (st_split_data){"train", nt, T, F, NULL, tr.x, tr.y, 0};
    sd[ns++] = (st_split_data){"test", te.n, T, F, NULL, te.x, te.y, 0};
    if (nv) sd[ns++] = (st_split_data){"valid", nv, T, F, NULL, tr.x + nt * rl, tr.y + nt, 0};
    static const char *const k_digits[NUM_CLASSES] = {"0", "1", "2", "3", "4",
                                                      "5", "6", "7", "8", "9"};
    st_dataset_strings names = {NULL, 0, fashion ? k_fashion : k_digits, NUM_CLASSES,
                                NULL, NULL, 0};
    if (st_dataset_write_ex(out, NUM_CLASSES, 0, sd, ns, &names) != ST_OK)
        die("%s", st_error_get());

    size_t count[NUM_CLASSES] = {0};
    for (size_t i = 0; i < nt; i++) count[tr.y[i]]++;
    printf("%s: train %zu, test %zu", out, nt, te.n);
    if (nv) printf(", valid %zu", nv);
    if (flat)
        printf(" rows of %d features (flat %dx%d images), float32 in [0, 1]\n", F, tr.rows,
               tr.cols);
    else
        printf(" rows of %d steps x %d features (image rows), float32 in [0, 1]\n", T, F);
    printf("train classes:");
    for (int k = 0; k < NUM_CLASSES; k++)
        printf(" %d%s%s%s=%zu", k, fashion ? " '" : "", fashion ? k_fashion[k] : "",
               fashion ? "'" : "", count[k]);
    printf("\n");

    st_free(tr.x);
    st_free(tr.y);
    st_free(te.x);
    st_free(te.y);
    for (int i = 0; i < 4; i++) st_free(found[i]);
    return 0;
}
