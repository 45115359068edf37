/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pec: the table of PCI event codes of function error events. The class
 * column follows what the kernel does with a code (see pec.h); the names of
 * the translation and interruption codes are expanded from the short names
 * platform emulators use for them and are marked inferred. The table is the
 * only place that knows codes: policy, journal and CLI all read it.
 */
#include <errno.h>
#include <string.h>

#include "common/macro.h"
#include "common/pec.h"

/* Sorted by code. */
static const PecInfo pec_table[] = {
	{ 0x0001, "invalid-address-space",
	  "A DMA access used an address space that is not valid for the function.", PEC_CLASS_RECOVERABLE,
	  true },
	{ 0x0002, "dma-out-of-range", "A DMA address was outside the range registered for the function.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x0003, "invalid-translation-format", "A DMA translation table had an invalid format.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x0004, "translation-protection", "A DMA write hit a write-protected translation entry.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x0005, "access-protection", "A DMA access was refused by storage access protection.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x0006, "key-error", "A DMA access was refused because of a storage key mismatch.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x0007, "invalid-translation-entry", "A DMA translation hit an invalid table entry.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x0008, "invalid-translation-length", "A DMA translation table had an invalid length.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x0009, "translation-type", "A DMA translation table had an unexpected type.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x000a, "invalid-msi", "The function signalled an MSI that is not valid.", PEC_CLASS_RECOVERABLE,
	  true },
	{ 0x000b, "system-error", "The function signalled a PCI system error (SERR).", PEC_CLASS_RECOVERABLE,
	  true },
	{ 0x0010, "no-msi", "The function signalled an MSI while none is enabled.", PEC_CLASS_RECOVERABLE,
	  true },
	{ 0x0011, "invalid-aibv", "An adapter interruption bit vector is not valid.", PEC_CLASS_RECOVERABLE,
	  true },
	{ 0x0012, "aibv-error", "Setting an adapter interruption bit vector failed.", PEC_CLASS_RECOVERABLE,
	  true },
	{ 0x0013, "air-error", "Setting an adapter interruption summary failed.", PEC_CLASS_RECOVERABLE,
	  true },
	{ 0x002a, "fmb-address-error", "The function measurement block address is not valid.",
	  PEC_CLASS_INFORMATIONAL, true },
	{ 0x002b, "fmb-update-error", "Updating the function measurement block failed.",
	  PEC_CLASS_INFORMATIONAL, true },
	{ 0x002c, "fmb-protection-error", "The function measurement block is protected against updates.",
	  PEC_CLASS_INFORMATIONAL, true },
	{ 0x0030, "configuration-error", "The function reported a configuration error.",
	  PEC_CLASS_RECOVERABLE, true },
	{ 0x003a, "fw-reset-done", "The firmware completed a reset of the function; it may be used again.",
	  PEC_CLASS_FW_RESET_DONE, true },
	{ 0x003b, "permanent-error", "The function failed permanently and cannot be recovered.",
	  PEC_CLASS_PERMANENT, false },
	{ 0x0040, "recovery-failed", "A service action or error recovery of the function failed.",
	  PEC_CLASS_PERMANENT, false },
};

static const PecInfo pec_unknown_recoverable = {
	0,
	"unknown",
	"An event code zpcid does not know; the kernel treats it as recoverable.",
	PEC_CLASS_RECOVERABLE,
	true,
};

static const char *const pec_class_names[_PEC_CLASS_MAX] = {
	[PEC_CLASS_INFORMATIONAL] = "informational",
	[PEC_CLASS_RECOVERABLE] = "recoverable",
	[PEC_CLASS_PERMANENT] = "permanent",
	[PEC_CLASS_FW_RESET_DONE] = "fw-reset-done",
};

const PecInfo *pec_lookup(uint16_t pec)
{
	size_t lo = 0, hi = ELEMENTSOF(pec_table);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pec_table[mid].pec == pec)
			return &pec_table[mid];
		if (pec_table[mid].pec < pec)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &pec_unknown_recoverable;
}

PecClass pec_class_of(uint16_t pec)
{
	return pec_lookup(pec)->pec_class;
}

const char *pec_class_to_string(PecClass c)
{
	if (c < 0 || c >= _PEC_CLASS_MAX)
		return "invalid";
	return pec_class_names[c];
}

PecClass pec_class_from_string(const char *s)
{
	if (!s)
		return _PEC_CLASS_INVALID;
	for (int i = 0; i < _PEC_CLASS_MAX; i++)
		if (streq(s, pec_class_names[i]))
			return (PecClass)i;
	return _PEC_CLASS_INVALID;
}

const PecInfo *pec_table_get(unsigned i)
{
	if (i >= ELEMENTSOF(pec_table))
		return NULL;
	return &pec_table[i];
}
