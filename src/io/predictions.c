/*
 * predictions.c - writes `seqtrain predict` output: /predictions float32 (N, K), the head's
 * probabilities in the split's row order, or (N, T, K) for a sequence head (one distribution
 * per step, padded steps included). Written to PATH.tmp and renamed, like every file
 * seqtrain writes, so a reader never sees half a file.
 */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "seqtrain/data.h"
#include "seqtrain/error.h"

int st_predictions_write(const char *path, const float *p, size_t n, int T, int K) {
    size_t dims[3] = {n, (size_t)(T > 0 ? T : K), (size_t)K};
    return st_array_write(path, "predictions", p, T > 0 ? 3 : 2, dims);
}

int st_array_write(const char *path, const char *name, const float *a, int rank,
                   const size_t *dims) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        st_error_set("%s: cannot create file", tmp);
        return ST_ERR;
    }
    hsize_t hd[4];
    size_t n = 1;
    for (int i = 0; i < rank && i < 4; i++) hd[i] = dims[i], n *= dims[i];
    hid_t sp = H5Screate_simple(rank, hd, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = d >= 0 && n > 0 ? H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a)
                               : (d >= 0 ? 0 : -1);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    herr_t c = H5Fclose(f);
    if (w < 0 || c < 0 || rename(tmp, path) != 0) {
        remove(tmp);
        st_error_set("%s: cannot write /%s", path, name);
        return ST_ERR;
    }
    return ST_OK;
}
