/*
 * predictions.c - writes `seqtrain predict` output: /predictions float32 (N, K), the head's
 * probabilities in the split's row order, or (N, T, K) for a sequence head (one distribution
 * per step, padded steps included); and st_array_write, one float32 array in a file of its own.
 *
 * Written through the atomic route (io/h5.h: PATH.tmp, fsync, rename, directory fsync), like
 * every file seqtrain writes, so a reader never sees half a file and a failed write leaves the
 * previous PATH as it was.
 *
 * Not here: computing the probabilities (train/), or reading them back (they are for Python).
 */
#include <stdio.h>
#include <string.h>

#include "io/h5.h"
#include "seqtrain/data.h"
#include "seqtrain/error.h"

int st_predictions_write(const char *path, const float *p, size_t n, int T, int K) {
    size_t dims[3] = {n, (size_t)(T > 0 ? T : K), (size_t)K};
    return st_array_write(path, "predictions", p, T > 0 ? 3 : 2, dims);
}

int st_array_write(const char *path, const char *name, const float *a, int rank,
                   const size_t *dims) {
    ST_ASSERT(rank >= 1 && rank <= 4, "st_array_write: rank %d", rank);
    st_atomic at;
    hid_t f = st_h5_create(&at, path);
    if (f < 0) return ST_ERR;
    hsize_t hd[4];
    size_t n = 1;
    for (int i = 0; i < rank; i++) hd[i] = dims[i], n *= dims[i];
    /* An array with a zero dimension is created but has nothing to write. */
    int ok = st_h5_write(f, H5P_DEFAULT, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, hd,
                         n ? a : NULL, 0) == ST_OK;
    if (!ok) st_error_set("%s: cannot write /%s", path, name);
    return st_h5_finish(&at, f, ok);
}
