/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * test-util: small helpers the Check suites share.
 */

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/log.h"

static inline int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* rm -rf of a temporary tree, without a child process (valgrind follows
 * children slowly). Fails the test when something cannot be removed. */
static inline void test_rm_rf(const char *path)
{
	ck_assert_int_eq(nftw(path, test_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Records of @l (memory target) with @message_id and, when @key is not NULL,
 * field @key equal to @value. */
static inline size_t test_count_records(const Log *l, const char *message_id, const char *key,
					const char *value)
{
	size_t n = 0;

	for (size_t i = 0; i < log_memory_count(l); i++) {
		const LogRecord *r = log_memory_get(l, i);
		const char *v;

		if (!r->message_id || !streq(r->message_id, message_id))
			continue;
		v = key ? log_record_field(r, key) : NULL;
		if (!key || (v && streq(v, value)))
			n++;
	}
	return n;
}
