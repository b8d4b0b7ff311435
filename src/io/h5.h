/*
 * io/h5.h - the HDF5 helpers every src/io file shares (h5.c): one quiet error stack, one way
 * to describe a dataset in a message, one way to read and write strings.
 *
 * Strings are written the way h5py writes str: variable-length UTF-8 (datasets read back with
 * .asstr(), attributes as str). Reads accept that and fixed-length strings too, since files
 * made by other tools use either.
 *
 * Files seqtrain did not write (datasets, checkpoints from elsewhere) are opened and their
 * datasets sized through the block at the end (h5_safe.c).
 *
 * Internal to src/io (and the tests that craft files): hdf5.h is included here, so nothing
 * above io may include this header.
 */
#ifndef SEQTRAIN_IO_H5_H
#define SEQTRAIN_IO_H5_H

#include <stddef.h>

#include <hdf5.h>

#include "seqtrain/atomic.h"

/* HDF5 prints its whole error stack to stderr by default (pages of traces for a missing
 * file); every failure in src/io is turned into one line of ours instead. Process-wide,
 * idempotent and cheap, so each entry point calls it. */
void st_h5_quiet(void);

/* "int64 (100, 20)", "string (10001)": a dataset's type and shape, for messages; `other` names
 * every class that is neither integer, float nor string ("non-numeric", "other"). */
void st_h5_describe(hid_t dset, const char *other, char *buf, size_t n);
/* "(4, 16)": a shape in Python tuple notation, as h5py and Keras print shapes. */
void st_h5_dims_str(int rank, const hsize_t *d, char *buf, size_t n);

/* A variable-length UTF-8 string type (close it with H5Tclose); < 0 on failure. */
hid_t st_h5_vlen_utf8(void);

/* Dataset `name` (relative to loc, or absolute) of the given rank and dims (rank 0: a
 * scalar), created with link-creation list lcpl (H5P_DEFAULT, or one that creates missing
 * groups). chunk_bytes > 0: chunked (about that many bytes per chunk, whole rows), byte-shuffled
 * and deflated (level 4), unless a dimension is 0 (HDF5 cannot chunk an empty dimension).
 * Nothing is written for an empty array. ST_OK or ST_ERR (no message: the caller knows the file). */
int st_h5_write(hid_t loc, hid_t lcpl, const char *name, hid_t ftype, hid_t mtype, int rank,
                const hsize_t *dims, const void *data, size_t chunk_bytes);
/* A scalar int32 attribute. ST_OK / ST_ERR (no message). */
int st_h5_write_attr_int(hid_t loc, const char *name, int v);
/* A scalar variable-length UTF-8 string attribute. ST_OK / ST_ERR (no message). */
int st_h5_write_attr_str(hid_t loc, const char *name, const char *v);
/* The same as a fixed-length UTF-8 string (strlen(v) + 1 bytes, NUL-terminated): stored in the
 * object header itself, which the 1.8 file format checksums, instead of the global heap, which
 * no HDF5 format checksums (checkpoints use this; st_h5_read_attr_str reads both). */
int st_h5_write_attr_fstr(hid_t loc, const char *name, const char *v);
/* A 1-D array of n variable-length UTF-8 strings (NULL entries written as ""). */
int st_h5_write_strings(hid_t loc, const char *name, const char *const *s, size_t n);

/* A single-string attribute into *out (st_malloc'd; st_free it): 1 read, 0 absent (*out NULL),
 * -1 not a single string, or a fixed-length one over 16 MiB. No message. */
int st_h5_read_attr_str(hid_t loc, const char *name, char **out);
/* A 1-D string dataset: *out gets *n strings, each and the array from st_malloc (st_free each,
 * then the array). 1 read, 0 absent (*out NULL, *n 0), -1 not a 1-D string dataset or a read
 * error. No message. */
int st_h5_read_strings(hid_t loc, const char *name, char ***out, size_t *n);

/* The atomic route for an HDF5 file (atomic.h): names PATH.tmp in *a and creates it (truncating
 * a stray one). < 0 with "PATH: cannot create PATH.tmp: why" set on failure. */
hid_t st_h5_create(st_atomic *a, const char *path);
/* Closes f (flushing it) and, when ok, commits a (fsync, rename, directory fsync); otherwise,
 * or when the close fails, unlinks PATH.tmp. ST_ERR keeps the caller's message when !ok and
 * sets "PATH: writing PATH.tmp failed (disk full?)" when the close fails, or commit's message. */
int st_h5_finish(st_atomic *a, hid_t f, int ok);

/* The in-memory route (checkpoints): a file built in memory by HDF5's core driver in the 1.8
 * format (every metadata block checksummed: superblock v2, object headers v2), closed there,
 * then written to disk by st_atomic alone, so that HDF5 never sees a failed write (a full
 * disk, a read-only directory, RLIMIT_FSIZE) and never holds a half-closed file. The image
 * buffer is img's (HDF5's allocations go through its callbacks and are kept at close).
 * size_hint: the expected file size (the buffer's first allocation). < 0 on failure, no
 * message. */
typedef struct st_h5_image {
    unsigned char *buf; /* (size) HDF5's file, complete once closed */
    size_t size;
} st_h5_image;
hid_t st_h5_create_image(st_h5_image *img, size_t size_hint);
/* Closes f and, when ok, writes the image to path atomically (PATH.tmp, fsync, rename): ST_ERR
 * with "PATH: writing PATH.tmp failed: why" (errno's text), PATH unchanged and no .tmp left.
 * !ok: ST_ERR keeping the caller's message, nothing written. Frees the image. */
int st_h5_finish_image(st_h5_image *img, const char *path, hid_t f, int ok);

/* ---- files seqtrain did not write (h5_safe.c) ------------------------------------------------
 * Datasets and checkpoints from elsewhere are opened and sized only through these, so that no
 * file can make seqtrain read another file, block, or overflow a size. */

/* Bytes a dataset may declare (1 PiB): far beyond any real dataset, far below where products
 * of its dimensions could wrap a size_t. */
#define ST_H5_MAX_BYTES ((size_t)1 << 50)
/* Bytes of one chunk (HDF5 allocates a whole chunk to read any element of it). */
#define ST_H5_MAX_CHUNK_BYTES ((size_t)256 << 20)

/* Opens path read-only as an HDF5 file we did not write; `what` names it in messages
 * ("dataset file", "checkpoint file"). Refused, with one line set and < 0 returned:
 * a missing path ("PATH: no such file"), a directory, anything but a regular file (a FIFO,
 * a device, a socket; found without blocking), a file that is not HDF5, one HDF5 cannot open,
 * and a file with an external or user-defined link anywhere or a dataset whose data live
 * outside it (external storage, a virtual dataset): "PATH: dataset /x stores its data outside
 * the file (external storage: /etc/passwd): refused". Close the result with H5Fclose. */
hid_t st_h5_open_untrusted(const char *path, const char *what);

/* Checks one opened dataset (`name` as it appears in messages, e.g. "/train/x", of `file`)
 * before anything uses its shape: its layout again (external storage, virtual, chunk size), at
 * most max_rank dimensions, and a byte count (elements times elem_size, the size of an element
 * as it will be read; 0: the stored type's size) no larger than ST_H5_MAX_BYTES, counting the
 * non-zero dimensions of an empty dataset too. Fills *rank, dims[0..rank) and *total (the
 * number of elements) where not NULL. ST_OK, or ST_ERR with "FILE: dataset NAME ...". Does
 * not look at the type class (the caller knows what it expects). */
int st_h5_check_dataset(hid_t dset, const char *file, const char *name, int max_rank,
                        int *rank, hsize_t *dims, size_t elem_size, size_t *total);

/* Refuses a dataset that declares elements it never stored (unallocated chunks or storage read
 * back as fill values: a few KiB can declare 2^31 rows and keep a reader busy for hours).
 * Called after the shape checks, before the data are read. ST_OK or ST_ERR with the line. */
int st_h5_check_written(hid_t dset, const char *file, const char *name);

/* A single-integer attribute read as 64 bits (HDF5 would clip a larger value to fit an int):
 * 1 read, 0 absent, -1 not a single integer. No message. */
int st_h5_read_attr_i64(hid_t loc, const char *name, long long *out);

#endif
