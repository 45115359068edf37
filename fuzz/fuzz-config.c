/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration and its policy (daemon/config.c, daemon/policy.c): a
 * file that does not load says why, with at least one diagnostic. */
#include "daemon/config.h"
#include "fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ConfigDiagnostics diag = {};
	Config *c = NULL;
	int r;

	r = config_load_string(&c, (const char *)data, size, "fuzz.json", &diag);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	FUZZ_CHECK(r != 0 || c);
	config_free(c);
	config_diagnostics_done(&diag);
	return 0;
}
