/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state files (daemon/policy-store.c, daemon/state-file.c): the policy
 * state and the counters, as the state directory may hold them after a
 * crash or an edit. A state that loads saves and loads again.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon/policy-store.h"
#include "daemon/state-file.h"
#include "fuzz/fuzz-util.h"

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	PolicyState *s = NULL, *again = NULL;
	uint64_t v;
	int fd, r;

	if (!dir[0]) {
		fuzz_tmpdir(dir, sizeof(dir), "fuzz-state");
	}
	(void)snprintf(path, sizeof(path), "%s/%s", dir, POLICY_STORE_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	(void)close(fd);

	r = policy_store_load(dir, &s);
	FUZZ_CHECK(r != -ENOMEM);
	FUZZ_CHECK(s);
	if (r == 0) {
		FUZZ_CHECK(policy_store_save(dir, s) == 0);
		FUZZ_CHECK(policy_store_load(dir, &again) == 0);
		policy_state_free(again);
	}
	policy_state_free(s);

	r = state_file_read_u64(path, 7, &v);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EFBIG);
	return 0;
}
