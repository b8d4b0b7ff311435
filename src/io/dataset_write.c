/*
 * dataset_write.c - writes a whole dataset file at once (data.h: st_dataset_write,
 * st_dataset_write_ex), for importers, generators and tests.
 *
 * Layout written (the schema of data.h, what dataset.c reads):
 *   /<split>/x  int32 (n, T) token ids, or float32 (n, T, F) features ((n, F) when T = 0),
 *               chunked in whole rows of about CHUNK_BYTES, byte-shuffled and deflated
 *   /<split>/y  int32 (n), or (n, T) per-step labels; contiguous (small, read whole rows)
 *   root attributes num_classes, vocab_size (token data) as int32; optional string
 *   attributes, /vocab and /classes (variable-length UTF-8, as h5py writes str).
 * The arguments are validated before anything is created; the file goes through the atomic
 * route (io/h5.h: PATH.tmp, fsync, rename, directory fsync), so a reader never sees half a
 * dataset and a failure leaves any older PATH untouched.
 *
 * Not here: reading (dataset.c), or deciding what goes into a dataset (tools/).
 */
#include <stdio.h>
#include <string.h>

#include "io/h5.h"
#include "seqtrain/data.h"
#include "seqtrain/error.h"

/* Target bytes per chunk of a written x. Reading one random row decompresses its whole chunk:
 * measured on a (25000, 200) int32 x, 16 KiB chunks read shuffled batches 2-3x faster than
 * 64 KiB ones when the chunk cache cannot hold the dataset, and cost 1.6x the disk. */
#define CHUNK_BYTES (16 * 1024)

int st_dataset_write(const char *path, int num_classes, int vocab_size, const st_split_data *splits,
                     int nsplits) {
    return st_dataset_write_ex(path, num_classes, vocab_size, splits, nsplits, NULL);
}

/* One split's group with its x and y. ST_ERR with the message set. */
static int write_split(hid_t f, const char *path, const char *tmp, const st_split_data *sd) {
    hid_t g = H5Gcreate2(f, sd->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        st_error_set("%s: cannot create split /%s (given twice?)", path, sd->name);
        return ST_ERR;
    }
    hsize_t xd[3] = {sd->n, (hsize_t)(sd->T ? sd->T : sd->F), (hsize_t)sd->F};
    int xr = sd->tokens ? 2 : (sd->T ? 3 : 2);
    hsize_t yd[2] = {sd->n, (hsize_t)sd->yT};
    int bad = (sd->tokens ? st_h5_write(g, H5P_DEFAULT, "x", H5T_STD_I32LE, H5T_NATIVE_INT32, xr,
                                        xd, sd->tokens, CHUNK_BYTES)
                          : st_h5_write(g, H5P_DEFAULT, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, xr,
                                        xd, sd->x, CHUNK_BYTES)) ||
              st_h5_write(g, H5P_DEFAULT, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, sd->yT ? 2 : 1, yd,
                          sd->y, 0);
    H5Gclose(g);
    if (bad) st_error_set("%s: HDF5 write error in %s (disk full?)", path, tmp);
    return bad ? ST_ERR : ST_OK;
}

/* The strings go into the same PATH.tmp as the splits, before the rename: a reader sees the
 * file with its vocabulary or not at all. */
int st_dataset_write_ex(const char *path, int num_classes, int vocab_size,
                        const st_split_data *splits, int nsplits, const st_dataset_strings *extra) {
    st_atomic a;
    if (num_classes < 1) {
        st_error_set("%s: num_classes = %d: must be >= 1", path, num_classes);
        return ST_ERR;
    }
    for (int i = 0; i < nsplits; i++) {
        const st_split_data *sd = &splits[i];
        int tok = sd->tokens != NULL;
        if (!sd->name || !sd->name[0] || strchr(sd->name, '/') || tok == (sd->x != NULL) ||
            (sd->n > 0 && !sd->y) || sd->T < 0 || sd->F < 1 || (tok && (sd->F != 1 || sd->T < 1 ||
                                                                         vocab_size < 1)) ||
            (sd->yT && sd->yT != sd->T)) {
            st_error_set("%s: split %d (%s): need a name, tokens (F = 1, T >= 1, vocab_size >= 1) "
                         "or x (F >= 1), and y", path, i, sd->name ? sd->name : "null");
            return ST_ERR;
        }
    }
    hid_t f = st_h5_create(&a, path);
    if (f < 0) return ST_ERR;
    int ok = st_h5_write_attr_int(f, "num_classes", num_classes) == ST_OK &&
             (vocab_size <= 0 || st_h5_write_attr_int(f, "vocab_size", vocab_size) == ST_OK);
    for (int i = 0; ok && extra && i < extra->nattrs; i++)
        ok = st_h5_write_attr_str(f, extra->attr_names[i], extra->attr_values[i]) == ST_OK;
    if (ok && extra)
        ok = (!extra->vocab || !st_h5_write_strings(f, "vocab", extra->vocab, extra->nvocab)) &&
             (!extra->classes ||
              !st_h5_write_strings(f, "classes", extra->classes, extra->nclasses));
    if (!ok) st_error_set("%s: HDF5 write error in %s (disk full?)", path, a.tmp);
    for (int i = 0; ok && i < nsplits; i++) ok = write_split(f, path, a.tmp, &splits[i]) == ST_OK;
    return st_h5_finish(&a, f, ok);
}
