/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "daemon/function-fields.h"

_printf_(2, 3) static void field_add(FunctionFields *ff, const char *format, ...)
{
	va_list ap;
	int k;

	if (ff->n >= ELEMENTSOF(ff->v) || ff->used >= sizeof(ff->storage))
		return;
	va_start(ap, format);
	k = vsnprintf(ff->storage + ff->used, sizeof(ff->storage) - ff->used, format, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(ff->storage) - ff->used)
		return;
	ff->v[ff->n++] = ff->storage + ff->used;
	ff->used += (size_t)k + 1;
}

void function_fields(const ZpciFunction *f, FunctionFields *ff)
{
	const ZpciAttrs *a = &f->attrs;

	*ff = (FunctionFields){};
	field_add(ff, "ZPCI_FID=0x%08" PRIx32, a->fid);
	if (a->has & ZPCI_ATTR_HAS_UID)
		field_add(ff, "ZPCI_UID=0x%" PRIx32, a->uid);
	if (a->has & ZPCI_ATTR_HAS_UID_IS_UNIQUE)
		field_add(ff, "ZPCI_UID_IS_UNIQUE=%d", a->uid_is_unique);
	if (a->has & ZPCI_ATTR_HAS_PCHID)
		field_add(ff, "ZPCI_PCHID=0x%04" PRIx16, a->pchid);
	if (a->has & ZPCI_ATTR_HAS_PFT) {
		field_add(ff, "ZPCI_PFT=0x%02" PRIx8, a->pft);
		field_add(ff, "ZPCI_PFT_NAME=%s", zpci_pft_to_string(a->pft));
	}
	if (a->has & ZPCI_ATTR_HAS_FH)
		field_add(ff, "ZPCI_FH=0x%08" PRIx32, a->fh);
	field_add(ff, "PCI_SLOT_NAME=%s", a->slot);
	if (!isempty(f->driver))
		field_add(ff, "ZPCI_DRIVER=%s", f->driver);
	if (f->owner_pid > 0) {
		field_add(ff, "ZPCI_OWNER_PID=%d", (int)f->owner_pid);
		if (!isempty(f->owner_comm))
			field_add(ff, "ZPCI_OWNER_COMM=%s", f->owner_comm);
	}
	field_add(ff, "ZPCI_MODE=%s", function_mode_to_string(f->mode));
	if (a->has & ZPCI_ATTR_HAS_IDS)
		field_add(ff, "ZPCI_PCI_ID=%04" PRIx16 ":%04" PRIx16, a->vendor, a->device);
}
