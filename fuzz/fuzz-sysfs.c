/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysfs attribute text (daemon/sysfs-zpci.c): what the kernel (or whatever
 * is mounted at /sys) writes in an attribute file. */
#include "daemon/sysfs-zpci.h"
#include "fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	uint64_t v, max = size > 0 ? (uint64_t)data[0] << (size % 57) : UINT64_MAX;
	bool b;

	if (sysfs_parse_hex(text, UINT64_MAX, &v) == 0 && sysfs_parse_hex(text, max, &v) == 0)
		FUZZ_CHECK(v <= max);
	if (sysfs_parse_dec(text, UINT64_MAX, &v) == 0 && sysfs_parse_dec(text, max, &v) == 0)
		FUZZ_CHECK(v <= max);
	(void)sysfs_parse_bool(text, &b);
	(void)sysfs_driver_is_vfio(text);
	free(text);
	return 0;
}
