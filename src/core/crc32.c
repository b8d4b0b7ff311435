/*
 * crc32.c - CRC-32 (crc32.h), slice-by-8: eight 256-entry tables let the loop consume eight
 * bytes per step (about 2 GB/s on one core, so verifying a checkpoint costs far less than
 * reading it). The tables are built on first use from the polynomial; no dependency (zlib is
 * only HDF5's).
 */
#include <string.h>

#include "core/crc32.h"

static uint32_t g_tab[8][256];
static int g_ready;

static void build_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        g_tab[0][i] = c;
    }
    /* g_tab[k][i]: the CRC of byte i followed by k zero bytes. */
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            g_tab[k][i] = (g_tab[k - 1][i] >> 8) ^ g_tab[0][g_tab[k - 1][i] & 0xff];
    g_ready = 1;
}

uint32_t st_crc32(uint32_t crc, const void *buf, size_t n) {
    const unsigned char *p = buf;
    if (!g_ready) build_tables();
    crc = ~crc;
    while (n >= 8) {
        /* Little-endian assembly of the next 8 bytes, whatever the host's byte order. */
        uint32_t lo = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                      (uint32_t)p[3] << 24;
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        lo ^= crc;
        crc = g_tab[7][lo & 0xff] ^ g_tab[6][(lo >> 8) & 0xff] ^ g_tab[5][(lo >> 16) & 0xff] ^
              g_tab[4][lo >> 24] ^ g_tab[3][hi & 0xff] ^ g_tab[2][(hi >> 8) & 0xff] ^
              g_tab[1][(hi >> 16) & 0xff] ^ g_tab[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = g_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
