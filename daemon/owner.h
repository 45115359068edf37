/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * owner: finds who holds a vfio device — the process with its vfio group
 * (/dev/vfio/<group>) or its vfio cdev (/dev/vfio/devices/vfioN) open —
 * by reading the fd links under a procfs root the caller names.
 *
 * Links are matched on their tail ("/dev/vfio/7"), so a device node that
 * lives below another root (a test bed) matches the same way. A process may
 * exclude itself. Processes that vanish or cannot be inspected while the
 * scan runs are skipped. Nothing here logs or opens a device.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/function.h"

typedef struct OwnerEntry {
	char node[40]; /* "7" for a group, "devices/vfio3" for a cdev */
	pid_t pid;
	char comm[FUNCTION_COMM_MAX];
} OwnerEntry;

/* Every vfio node held by some process, sorted by node (then pid). */
typedef struct OwnerTable {
	OwnerEntry *entries;
	size_t n, allocated;
} OwnerTable;

/* Whether fd link @target names vfio group @group (may be NULL) or vfio cdev
 * @cdev ("vfio3", may be NULL). */
bool owner_link_matches(const char *target, const char *group, const char *cdev);

/* The vfio node a link target names: "7", "devices/vfio3"; NULL when it is
 * not a vfio group or cdev (the container "/dev/vfio/vfio" is not). */
const char *owner_link_node(const char *target);

/* Scan @proc_root ("/proc") once and collect every held vfio node, skipping
 * process @exclude (0: none). Returns 0 or -errno when @proc_root cannot be
 * read at all. */
int owner_scan(const char *proc_root, pid_t exclude, OwnerTable *ret);

/* Release the entries of @t (the struct itself is the caller's). */
void owner_table_done(OwnerTable *t);

/* The holder of group @group or cdev @cdev in @t (lowest pid when several),
 * or NULL. */
const OwnerEntry *owner_table_lookup(const OwnerTable *t, const char *group, const char *cdev);

/* Scan and look up in one step. Returns 1 and fills *@ret when someone holds
 * it, 0 when nobody does, -errno when procfs cannot be read. */
int owner_find(const char *proc_root, pid_t exclude, const char *group, const char *cdev, OwnerEntry *ret);
