/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ccdf: decode and encode the 32-byte PCI function error record. Every field
 * is read and written byte by byte at its architected offset, so the result
 * is the same on a big-endian s390x host and on a little-endian test host.
 * This module does not judge the content (a PEC it does not know is still a
 * valid record); pec.c gives codes their meaning.
 */
#include <errno.h>
#include <string.h>

#include "common/ccdf.h"

#define CCDF_OFF_FH    4
#define CCDF_OFF_FID   8
#define CCDF_OFF_WORD  12
#define CCDF_OFF_FADDR 16
#define CCDF_OFF_PEC   30

/* The word at offset 12, counted from its most significant bit. */
#define CCDF_ETT_SHIFT   28
#define CCDF_ETT_MASK    0xfu
#define CCDF_MVN_SHIFT   16
#define CCDF_MVN_MASK    0xfffu
#define CCDF_DMAAS_SHIFT 8
#define CCDF_DMAAS_MASK  0xffu
#define CCDF_Q_BIT       (1u << 1)
#define CCDF_RW_BIT      (1u << 0)

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

int ccdf_parse(const void *buf, size_t len, ZpciCcdf *ret)
{
	const uint8_t *p = buf;
	uint32_t word;

	if (!buf || !ret || len < ZPCI_CCDF_ERR_SIZE)
		return -EBADMSG;

	word = get_be32(p + CCDF_OFF_WORD);
	*ret = (ZpciCcdf){
		.fh = get_be32(p + CCDF_OFF_FH),
		.fid = get_be32(p + CCDF_OFF_FID),
		.ett = (uint8_t)((word >> CCDF_ETT_SHIFT) & CCDF_ETT_MASK),
		.mvn = (uint16_t)((word >> CCDF_MVN_SHIFT) & CCDF_MVN_MASK),
		.dmaas = (uint8_t)((word >> CCDF_DMAAS_SHIFT) & CCDF_DMAAS_MASK),
		.q = !!(word & CCDF_Q_BIT),
		.rw = !!(word & CCDF_RW_BIT),
		.faddr = get_be64(p + CCDF_OFF_FADDR),
		.pec = get_be16(p + CCDF_OFF_PEC),
	};
	return 0;
}

void ccdf_encode(const ZpciCcdf *c, uint8_t out[ZPCI_CCDF_ERR_SIZE])
{
	uint32_t word;

	memset(out, 0, ZPCI_CCDF_ERR_SIZE);
	word = ((uint32_t)c->ett & CCDF_ETT_MASK) << CCDF_ETT_SHIFT |
	       ((uint32_t)c->mvn & CCDF_MVN_MASK) << CCDF_MVN_SHIFT |
	       ((uint32_t)c->dmaas & CCDF_DMAAS_MASK) << CCDF_DMAAS_SHIFT | (c->q ? CCDF_Q_BIT : 0) |
	       (c->rw ? CCDF_RW_BIT : 0);
	put_be32(out + CCDF_OFF_FH, c->fh);
	put_be32(out + CCDF_OFF_FID, c->fid);
	put_be32(out + CCDF_OFF_WORD, word);
	put_be64(out + CCDF_OFF_FADDR, c->faddr);
	put_be16(out + CCDF_OFF_PEC, c->pec);
}
