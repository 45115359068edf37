/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * owner: finds who holds a vfio device — the process with its vfio group
 * (/dev/vfio/<group>) or its vfio cdev (/dev/vfio/devices/vfioN) open —
 * by looking at the open files under a procfs root the caller names.
 *
 * Open files are matched by what they are, not by the path they were
 * opened by: the vfio nodes under a device root the caller names are
 * stat()ed once per scan, and an fd is a node's when it is the same
 * character device (st_rdev, whichever node of it was opened) or the very
 * same file (st_dev, st_ino: also a test bed's stand-in node). So a holder
 * in another mount namespace matches, and a same-named node of another
 * root does not. A
 * process may exclude itself. Processes that vanish or cannot be inspected
 * while the scan runs are skipped. Nothing here logs or opens a device.
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

/* Scan @proc_root ("/proc") once and collect every held vfio node of
 * @dev_root (NULL: "/dev"), skipping process @exclude (0: none). Returns 0
 * or -errno when @proc_root (or @dev_root's vfio directory) cannot be read
 * at all; no vfio directory means nobody holds a node. */
int owner_scan(const char *proc_root, const char *dev_root, pid_t exclude, OwnerTable *ret);

/* Release the entries of @t (the struct itself is the caller's). */
void owner_table_done(OwnerTable *t);

/* The holder of group @group or cdev @cdev in @t (lowest pid when several),
 * or NULL. */
const OwnerEntry *owner_table_lookup(const OwnerTable *t, const char *group, const char *cdev);

/* Scan and look up in one step. Returns 1 and fills *@ret when someone holds
 * it, 0 when nobody does, -errno when procfs cannot be read. */
int owner_find(const char *proc_root, const char *dev_root, pid_t exclude, const char *group,
	       const char *cdev, OwnerEntry *ret);
