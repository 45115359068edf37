/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * function-fields: the journal fields that name a function (ZPCI_FID,
 * ZPCI_UID, PCI_SLOT_NAME, ZPCI_DRIVER, ZPCI_OWNER_PID, ZPCI_MODE...), as
 * the registry's and the ownership's records carry them. Pure formatting:
 * nothing here logs.
 */

#include <stddef.h>

#include "daemon/function.h"

typedef struct FunctionFields {
	const char *v[16];
	size_t n;
	char storage[768];
	size_t used;
} FunctionFields;

/* Fill @ff with the fields of @f (what does not fit is left out). */
void function_fields(const ZpciFunction *f, FunctionFields *ff);
