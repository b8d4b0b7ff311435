/*
 * io/ckpt_int.h - what ckpt.c, ckpt_verify.c and ckpt_dir.c share (HDF5 handles, so only src/io
 * includes it; the rest of the program uses io/ckpt.h).
 */
#ifndef SEQTRAIN_IO_CKPT_INT_H
#define SEQTRAIN_IO_CKPT_INT_H

#include "io/ckpt.h"
#include "io/h5.h"

/* Root attribute format: bumped whenever the layout changes incompatibly. */
#define ST_CKPT_FORMAT "seqtrain-ckpt-1"
/* Root attribute checksum = "crc32": every dataset has a uint32 attribute crc32, the CRC-32
 * (core/crc32.h) of its raw little-endian bytes. */
#define ST_CKPT_SUM_ATTR "checksum"
#define ST_CKPT_SUM_KIND "crc32"
#define ST_CKPT_CRC_ATTR "crc32"

/* Opens a checkpoint read-only and checks that it is one: a regular file, HDF5, our format
 * attribute. "PATH: why" and ST_ERR otherwise. */
int st_ckpt_open(const char *path, hid_t *out);
/* st_ckpt_verify on an open file. */
int st_ckpt_verify_open(const char *path, hid_t f, int *sums);
/* The dataset's rank, dims and element count, refusing counts that overflow size_t. */
int st_ckpt_dset_count(const char *file, hid_t d, const char *dpath, int *rank, hsize_t *dims,
                       size_t *count);

#endif
