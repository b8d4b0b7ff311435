/*
 * fuzz_dataset.c - fuzz target: seqtrain's reading of dataset files (the header, the layout,
 * the values), not HDF5's parser. Seed corpus: tests/fuzz/dataset/corpus/.
 *
 * The input is not an HDF5 image: it is read as a description of a file's STRUCTURE (fuzz.h's
 * reader, every byte a decision), which this target writes with the HDF5 API into the scratch
 * directory and then hands to seqtrain. So every input is a well-formed HDF5 file whose
 * contents are hostile: root attributes num_classes / vocab_size missing, of the wrong type,
 * negative, huge or arrays; splits with x and y of any class (int, float, string), rank (0 to
 * 4), size (0, 1, 65537, 2^31, 2^40 rows: chunked and never written, so the file stays small),
 * layout (contiguous, chunked, compact, or EXTERNAL storage pointing at another file); token
 * ids and labels out of range; /vocab and /classes as strings with escape sequences, numbers,
 * or 2-D; string root attributes.
 * Each file goes through what a user runs on it:
 *   1. st_inspect (`seqtrain inspect`), its report to /dev/null;
 *   2. st_fit (`seqtrain train`, one epoch, batch 3, one process) with a small model chosen
 *      by the input (embedding + RNN, RNN on features, dense on vectors, a sequence head);
 *   3. st_dataset_open + st_dataset_read_vocab / st_dataset_read_strings / read_attr_str.
 * Properties checked besides crashes (off under ST_FUZZ_LAX): every error is one clean line
 * (fuzz.h), and a split whose x or y keeps its data in external storage is never read: the
 * file it points to (a "secret" in the scratch directory) must not be followed (issue 11).
 *
 * Run it: tools/fuzz.sh (all targets, bounded), or build-fuzz/tests/fuzz/fuzz_dataset DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "fuzz.h"
#include "seqtrain/config.h"
#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "seqtrain/inspect.h"
#include "seqtrain/train.h"

#define MAX_WRITE 4096 /* elements: larger datasets are created but never written */

/* What the generator wrote, for the properties and for the model it picks. */
typedef struct built {
    int num_classes; /* as written when a plain int, else 0 */
    int external;    /* some split's x or y has external storage */
} built;

static hid_t pick_type(st_fuzz_in *in, int role) {
    /* role 0: x (tokens or floats), 1: y (labels): the right class first, more often. */
    static const int order[2][8] = {{0, 2, 1, 3, 4, 5, 6, 7}, {0, 1, 4, 2, 3, 5, 6, 7}};
    unsigned k = st_fuzz_pick(in, 12);
    switch (k < 8 ? order[role][k] : order[role][k % 2]) {
    case 0: return H5Tcopy(H5T_STD_I32LE);
    case 1: return H5Tcopy(H5T_STD_I64LE);
    case 2: return H5Tcopy(H5T_IEEE_F32LE);
    case 3: return H5Tcopy(H5T_IEEE_F64BE);
    case 4: return H5Tcopy(H5T_STD_U8LE);
    case 5: return H5Tcopy(H5T_STD_I16BE);
    case 6: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        return t;
    }
    default: return H5Tcopy(H5T_STD_U64LE);
    }
}

static hsize_t pick_dim(st_fuzz_in *in) {
    static const hsize_t dims[] = {1, 2, 3, 4, 5, 6, 8, 0, 7, 1, 65537, (hsize_t)1 << 31,
                                   (hsize_t)1 << 40, 3, 2, 16};
    return dims[st_fuzz_pick(in, sizeof dims / sizeof dims[0])];
}

/* Writes the dataset's values from the input when it is small: ids/labels mostly in a small
 * range, sometimes edgy; floats sometimes NaN or inf. */
static void fill(st_fuzz_in *in, hid_t d, hid_t type, hsize_t npoints) {
    if (npoints == 0 || npoints > MAX_WRITE) return;
    if (H5Tget_class(type) == H5T_STRING) {
        char **s = calloc(npoints, sizeof *s);
        char buf[64][17];
        for (hsize_t i = 0; i < npoints; i++) {
            st_fuzz_str(in, buf[i % 64], 16);
            s[i] = buf[i % 64];
        }
        H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
        free(s);
        return;
    }
    if (H5Tget_class(type) == H5T_FLOAT) {
        double *v = malloc(npoints * sizeof *v);
        for (hsize_t i = 0; i < npoints; i++) {
            uint8_t b = st_fuzz_u8(in);
            v[i] = b == 255 ? 1.0 / 0.0 : b == 254 ? 0.0 / 0.0 : (double)b / 16 - 4;
        }
        H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
        return;
    }
    long long *v = malloc(npoints * sizeof *v);
    int edgy = st_fuzz_pick(in, 8) == 0;
    for (hsize_t i = 0; i < npoints; i++)
        v[i] = edgy && st_fuzz_pick(in, 4) == 0 ? st_fuzz_edgy_i64(in) : st_fuzz_u8(in) % 8;
    H5Dwrite(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    free(v);
}

/* One dataset `name` under loc, as the input describes it. Returns 1 when it was created with
 * external storage. */
static int make_dataset(st_fuzz_in *in, hid_t loc, const char *name, int role) {
    if (st_fuzz_pick(in, 16) == 0) return 0; /* missing */
    hid_t type = pick_type(in, role);
    int rank = (int)st_fuzz_pick(in, 5);
    if (st_fuzz_pick(in, 2)) rank = role == 0 ? 2 + (int)st_fuzz_pick(in, 2) : 1;
    hsize_t dims[4], maxd[4], chunk[4], np = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = pick_dim(in);
        maxd[i] = H5S_UNLIMITED;
        chunk[i] = dims[i] ? (dims[i] < 4 ? dims[i] : 4) : 1;
        np = dims[i] && np > ((hsize_t)1 << 62) / dims[i] ? (hsize_t)1 << 62 : np * dims[i];
    }
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int layout = (int)st_fuzz_pick(in, 8), external = 0;
    if (np > MAX_WRITE || layout == 1) {
        if (rank) {
            H5Sclose(space);
            space = H5Screate_simple(rank, dims, maxd);
            H5Pset_chunk(dcpl, rank, chunk);
        }
    } else if (layout == 2 && np * H5Tget_size(type) < 60000) {
        H5Pset_layout(dcpl, H5D_COMPACT);
    } else if (layout == 3 && H5Tget_class(type) != H5T_STRING) {
        /* Raw data in another file: the "secret" seqtrain must not read through this one. */
        H5Pset_external(dcpl, st_fuzz_path("secret"), 0, H5F_UNLIMITED);
        external = 1;
    }
    hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d >= 0) {
        if (!external) fill(in, d, type, np);
        H5Dclose(d);
    }
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
    return d >= 0 && external;
}

/* A root attribute `name`: missing, a small int, an edgy int64, a float, a string, or two
 * ints. *plain gets the value when it is a plain int, else 0. */
static void make_int_attr(st_fuzz_in *in, hid_t f, const char *name, int small, int *plain) {
    unsigned kind = st_fuzz_pick(in, 10);
    *plain = 0;
    if (kind == 9) return;
    hsize_t two = 2;
    hid_t space = kind == 8 ? H5Screate_simple(1, &two, NULL) : H5Screate(H5S_SCALAR);
    hid_t type = kind == 5 ? H5Tcopy(H5T_STD_I64LE) : kind == 6 ? H5Tcopy(H5T_IEEE_F64LE)
                                                   : kind == 7 ? H5Tcopy(H5T_C_S1)
                                                               : H5Tcopy(H5T_STD_I32LE);
    if (kind == 7) H5Tset_size(type, 4);
    hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        long long v[2] = {1 + st_fuzz_u8(in) % small, 2};
        if (kind == 5) v[0] = st_fuzz_edgy_i64(in);
        if (kind < 5) *plain = (int)v[0];
        if (kind == 6) {
            double dv = (double)st_fuzz_edgy_i64(in) / 3;
            H5Awrite(a, H5T_NATIVE_DOUBLE, &dv);
        } else if (kind == 7) {
            H5Awrite(a, type, "3\0\0");
        } else {
            H5Awrite(a, H5T_NATIVE_LLONG, v);
        }
        H5Aclose(a);
    }
    H5Tclose(type);
    H5Sclose(space);
}

/* /vocab or /classes: missing, strings (escape sequences and all), numbers, or 2-D. */
static void make_strings(st_fuzz_in *in, hid_t f, const char *name) {
    unsigned kind = st_fuzz_pick(in, 6);
    if (kind >= 4) return;
    if (kind == 3) {
        make_dataset(in, f, name, 0);
        return;
    }
    size_t n = st_fuzz_pick(in, 24);
    char buf[24][33];
    const char *s[24];
    for (size_t i = 0; i < n; i++) {
        st_fuzz_str(in, buf[i], 32);
        s[i] = buf[i];
    }
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, kind == 1 ? 8 : H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hsize_t dims[2] = {n, 1};
    hid_t space = H5Screate_simple(kind == 2 ? 2 : 1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d >= 0) {
        if (kind == 1) {
            char fixed[24][8];
            for (size_t i = 0; i < n; i++) strncpy(fixed[i], s[i], 8);
            if (n) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed);
        } else if (n) {
            H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
        }
        H5Dclose(d);
    }
    H5Sclose(space);
    H5Tclose(type);
}

static int build_file(st_fuzz_in *in, const char *path, built *b) {
    memset(b, 0, sizeof *b);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return -1;
    int vocab;
    make_int_attr(in, f, "num_classes", 6, &b->num_classes);
    make_int_attr(in, f, "vocab_size", 12, &vocab);
    static const char *const names[] = {"train", "test", "valid", "train", "x", "tr\x1b[2Jain"};
    int nsplits = 1 + (int)st_fuzz_pick(in, 3);
    for (int s = 0; s < nsplits; s++) {
        const char *name = names[s < 3 && st_fuzz_pick(in, 4) ? (unsigned)s : st_fuzz_pick(in, 6)];
        if (H5Lexists(f, name, H5P_DEFAULT) > 0) continue;
        hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) continue;
        b->external |= make_dataset(in, g, "x", 0);
        b->external |= make_dataset(in, g, "y", 1);
        H5Gclose(g);
    }
    make_strings(in, f, "vocab");
    make_strings(in, f, "classes");
    if (st_fuzz_pick(in, 3) == 0) { /* a string root attribute, e.g. the tokenizer's options */
        char v[33];
        st_fuzz_str(in, v, 32);
        hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
        H5Tset_size(type, H5T_VARIABLE);
        hid_t a = H5Acreate2(f, "tokenizer", type, space, H5P_DEFAULT, H5P_DEFAULT);
        const char *p = v;
        if (a >= 0) {
            H5Awrite(a, type, &p);
            H5Aclose(a);
        }
        H5Sclose(space);
        H5Tclose(type);
    }
    return H5Fclose(f) < 0 ? -1 : 0;
}

/* The small model st_fit trains, for the data the input most likely made. */
static void write_config(char *buf, size_t n, const char *data, int kind, int classes, int val) {
    static const char *const models[] = {
        "[embedding]\ninput_dim = 16\noutput_dim = 3\nmask_zero = true\n[simple_rnn]\nunits = 3\n",
        "[gru]\nunits = 3\n",
        "[flatten]\n[dense]\nunits = 3\nactivation = relu\n",
        "[embedding]\ninput_dim = 16\noutput_dim = 3\n[lstm]\nunits = 2\nreturn_sequences = true\n",
    };
    int K = classes >= 1 && classes <= 16 ? classes : 3;
    snprintf(buf, n,
             "[data]\npath = %s\nvalidation_split = %s\nbucket_by_length = %s\n"
             "[train]\nepochs = 1\nbatch_size = 3\nloss = sparse_categorical_crossentropy\n"
             "metrics = accuracy\n%s[dense]\nunits = %d\nactivation = softmax\n",
             data, val == 1 ? "0.5" : "0", val == 2 && kind != 1 ? "true" : "false",
             models[kind], K);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_fuzz_init();
    st_fuzz_in in = {data, size, 0};
    static int secret_done = 0;
    if (!secret_done) { /* what external storage would leak: 1 MiB of a recognisable pattern */
        FILE *s = fopen(st_fuzz_path("secret"), "wb");
        for (int i = 0; s && i < (1 << 18); i++) fwrite("SECR", 1, 4, s);
        if (s) fclose(s);
        secret_done = 1;
    }
    int model = (int)st_fuzz_pick(&in, 4), val = (int)st_fuzz_pick(&in, 3);
    char path[1024];
    snprintf(path, sizeof path, "%s", st_fuzz_path("data.h5"));
    built b;
    if (build_file(&in, path, &b) != 0) return 0;

    /* 1. inspect */
    FILE *devnull = fopen("/dev/null", "w");
    st_inspect_opts o = {0, NULL, 0, 0}; /* chunk_rows 0: inspect's default, as the CLI */
    int rc = st_inspect(path, &o, devnull);
    st_fuzz_check_error(rc, "st_inspect");
    if (rc == ST_OK && b.external && st_fuzz_strict())
        st_fuzz_fail("st_inspect read a dataset with external storage (%s)", path);
    fclose(devnull);

    /* 2. train */
    char text[2048];
    write_config(text, sizeof text, path, model, b.num_classes, val);
    st_config c;
    memset(&c, 0, sizeof c);
    if (st_config_load_string(&c, text, "fuzz.ini") != ST_OK)
        st_fuzz_fail("the target's own config does not load: %s", st_error_get());
    rc = st_fit(&c, NULL);
    st_fuzz_check_error(rc, "st_fit");
    if (rc == ST_OK && b.external && st_fuzz_strict())
        st_fuzz_fail("st_fit trained on a dataset with external storage (%s)", path);
    st_config_free(&c);

    /* 3. the string tables and attributes */
    st_dataset d;
    if (st_dataset_open(&d, path) == ST_OK) {
        static const char *const names[] = {"vocab", "classes"};
        for (int i = 0; i < 2; i++) {
            char **s = NULL;
            size_t n = 0;
            rc = st_dataset_read_strings(&d, names[i], &s, &n);
            st_fuzz_check_error(rc, "st_dataset_read_strings");
            for (size_t k = 0; k < n; k++) st_free(s[k]);
            st_free(s);
        }
        char *v = NULL;
        rc = st_dataset_read_attr_str(&d, "tokenizer", &v);
        st_fuzz_check_error(rc, "st_dataset_read_attr_str");
        st_free(v);
        st_dataset_close(&d);
    }
    return 0;
}
