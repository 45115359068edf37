/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * pec: what a PCI event code means, from one data table.
 *
 * The class is what the kernel does with the code and what a policy usually
 * keys on: 0x2a-0x2c concern the function measurement block and are ignored
 * by the kernel (informational); 0x3b and 0x40 are permanent failures; 0x3a
 * reports a completed firmware reset; every other code is recoverable. Names
 * marked "inferred" in the table are not architected text.
 */

#include <stdbool.h>
#include <stdint.h>

typedef enum PecClass {
	PEC_CLASS_INFORMATIONAL,
	PEC_CLASS_RECOVERABLE,
	PEC_CLASS_PERMANENT,
	PEC_CLASS_FW_RESET_DONE,
	_PEC_CLASS_MAX,
	_PEC_CLASS_INVALID = -22,
} PecClass;

typedef struct PecInfo {
	uint16_t pec;
	const char *name;    /* short identifier, e.g. "fw-reset-done" */
	const char *meaning; /* one sentence for humans */
	PecClass pec_class;
	bool inferred; /* name/meaning inferred from behaviour, not architected text */
} PecInfo;

/* The table entry for @pec; for a code not in the table, a static generic
 * entry with name "unknown" and the class the kernel would apply. Never NULL. */
const PecInfo *pec_lookup(uint16_t pec);

/* The class of @pec (same rule as pec_lookup()). */
PecClass pec_class_of(uint16_t pec);

/* "informational", "recoverable", "permanent", "fw-reset-done". */
const char *pec_class_to_string(PecClass c);

/* Parse a class name. Returns the class or _PEC_CLASS_INVALID. */
PecClass pec_class_from_string(const char *s);

/* Iterate the table: entry @i, or NULL past the end. */
const PecInfo *pec_table_get(unsigned i);
