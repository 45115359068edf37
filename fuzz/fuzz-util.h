/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fuzz-util: what the libFuzzer harnesses of fuzz/ share. Each harness is
 * one LLVMFuzzerTestOneInput() over one parser of input zpcid does not
 * control; a finding is a crash, a sanitizer report, or an invariant the
 * harness checks failing (abort()).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (free() it). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A private directory for files the harness writes, under $FUZZ_TMPDIR
 * (fuzz/run.sh puts it in /dev/shm: every fsync() on a disk would cost
 * more than the input), else /tmp. */
static inline void fuzz_tmpdir(char *buf, size_t size, const char *name)
{
	const char *base = getenv("FUZZ_TMPDIR");

	(void)snprintf(buf, size, "%s/%s.XXXXXX", base ? base : "/tmp", name);
	if (!mkdtemp(buf))
		abort();
}

/* An invariant of the code under test. */
#define FUZZ_CHECK(cond)                                                                             \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)
