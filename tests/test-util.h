/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * test-util: small helpers the Check suites share.
 */

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

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
