/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/time-util.h"

uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return timespec_to_usec(&ts);
}
