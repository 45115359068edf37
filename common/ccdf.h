/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * ccdf: the architected PCI function error record (the "CCDF" the platform
 * reports and the kernel queues for user space), decoded and encoded.
 *
 * Wire layout: 32 bytes, big-endian, packed.
 *   0  u32 reserved
 *   4  u32 fh     function handle
 *   8  u32 fid    function id
 *  12  u32 word   ett:4 mvn:12 dmaas:8 reserved:6 q:1 rw:1 (from the MSB)
 *  16  u64 faddr  failing address
 *  24  u32 reserved
 *  28  u16 reserved
 *  30  u16 pec    PCI event code
 * Parsed with explicit offsets and shifts; never C bitfields, never a cast of
 * the buffer to a struct: the host may be either endianness.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZPCI_CCDF_ERR_SIZE 32

typedef struct ZpciCcdf {
	uint32_t fh;
	uint32_t fid;
	uint8_t ett;   /* 4 bits: event type */
	uint16_t mvn;  /* 12 bits: MSI vector number */
	uint8_t dmaas; /* 8 bits: DMA address space */
	bool q;        /* 1 bit: event qualifier */
	bool rw;       /* 1 bit: read (0) or write (1) */
	uint64_t faddr;
	uint16_t pec;
} ZpciCcdf;

/* Decode @len bytes at @buf. Returns 0, or -EBADMSG when @len < 32 (extra
 * bytes beyond 32 are ignored: a newer kernel may send a longer record). */
int ccdf_parse(const void *buf, size_t len, ZpciCcdf *ret);

/* Encode @c into the 32-byte wire form (reserved fields zero). */
void ccdf_encode(const ZpciCcdf *c, uint8_t out[ZPCI_CCDF_ERR_SIZE]);
