/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * explain: `zpcid --explain`, the offline answer to "what would zpcid do if
 * this function reported this error now?". It reads the configuration, the
 * policy state the daemon saved in its state directory and the function from
 * sysfs (or a saved copy of a sysfs tree), builds the event the daemon would
 * build, and prints which rule matches, why every other rule does not, and
 * which actions would run, wait or be refused given the budget, cooldowns
 * and ladders as they stand. It never opens a device and changes nothing.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/config.h"

typedef struct ExplainRequest {
	const char *function;   /* FID ("0x21", "33") or PCI address ("0001:00:00.0") */
	uint16_t pec;           /* the event code to explain */
	unsigned sources;       /* EventSource bits; 0: what the function's mode would produce */
	const char *sysfs_root; /* NULL: "/sys" */
	const char *proc_root;  /* NULL: "/proc" (who holds the device) */
	const char *state_directory;
	bool json;
} ExplainRequest;

/* Run the explanation, writing the result to @out and problems to @err.
 * Returns the process exit code: 0 explained, 1 failure, 3 function not found. */
int explain_run(const Config *c, const ExplainRequest *req, FILE *out, FILE *err);
