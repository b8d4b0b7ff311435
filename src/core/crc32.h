/*
 * crc32.h - CRC-32 (the zlib / PNG / gzip polynomial, reflected 0xEDB88320), the checksum that
 * seqtrain stores beside every dataset of a checkpoint (src/io/ckpt.c). The same polynomial as
 * Python's zlib.crc32, so a checkpoint can be checked from h5py without seqtrain.
 *
 *   uint32_t c = st_crc32(0, a, na);  c = st_crc32(c, b, nb);   // == crc of a then b
 *
 * It detects accidental damage (flipped bits, torn or truncated data); it is not a signature.
 */
#ifndef SEQTRAIN_CORE_CRC32_H
#define SEQTRAIN_CORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over n bytes of buf (crc = 0 to start). */
uint32_t st_crc32(uint32_t crc, const void *buf, size_t n);

#endif
