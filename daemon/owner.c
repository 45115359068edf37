/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/owner.h"

#define VFIO_PREFIX "/dev/vfio/"

const char *owner_link_node(const char *target)
{
	const char *p, *node;

	if (!target)
		return NULL;
	/* The last "/dev/vfio/" in the target: a test bed may prefix its own root. */
	p = NULL;
	for (const char *s = strstr(target, VFIO_PREFIX); s; s = strstr(s + 1, VFIO_PREFIX))
		p = s;
	if (!p)
		return NULL;
	node = p + strlen(VFIO_PREFIX);

	if (strneq(node, "devices/vfio", strlen("devices/vfio"))) {
		const char *n = node + strlen("devices/vfio");

		if (!*n || strspn(n, "0123456789") != strlen(n))
			return NULL;
		return node;
	}
	/* A group is a number (or "noiommu-N"); "vfio" is the container. */
	if (strneq(node, "noiommu-", strlen("noiommu-")))
		return node;
	if (!*node || strspn(node, "0123456789") != strlen(node))
		return NULL;
	return node;
}

static bool node_matches(const char *node, const char *group, const char *cdev)
{
	if (!node)
		return false;
	if (group && streq(node, group))
		return true;
	if (cdev && strneq(node, "devices/", 8) && streq(node + 8, cdev))
		return true;
	return false;
}

bool owner_link_matches(const char *target, const char *group, const char *cdev)
{
	return node_matches(owner_link_node(target), group, cdev);
}

static int entry_compare(const void *a, const void *b)
{
	const OwnerEntry *x = a, *y = b;
	int c = strcmp(x->node, y->node);

	if (c != 0)
		return c;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void read_comm(int procfd, const char *pid, char comm[static FUNCTION_COMM_MAX])
{
	char path[64];
	_cleanup_close_ int fd = -EBADF;
	ssize_t k;

	comm[0] = '\0';
	(void)snprintf(path, sizeof(path), "%s/comm", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	k = read(fd, comm, FUNCTION_COMM_MAX - 1);
	if (k <= 0) {
		comm[0] = '\0';
		return;
	}
	comm[k] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static int table_add(OwnerTable *t, const char *node, pid_t pid, const char *comm)
{
	OwnerEntry *e;

	if (strlen(node) >= sizeof(e->node))
		return 0;
	/* The same process holding the same node through several fds counts once. */
	for (size_t i = t->n; i > 0 && t->entries[i - 1].pid == pid; i--)
		if (streq(t->entries[i - 1].node, node))
			return 0;
	if (t->n >= t->allocated) {
		size_t a = t->allocated ? t->allocated * 2 : 16;
		OwnerEntry *n = reallocarray(t->entries, a, sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->entries = n;
		t->allocated = a;
	}
	e = &t->entries[t->n++];
	*e = (OwnerEntry){ .pid = pid };
	memcpy(e->node, node, strlen(node) + 1);
	(void)snprintf(e->comm, sizeof(e->comm), "%s", comm);
	return 0;
}

static int scan_process(int procfd, const char *pid_name, pid_t pid, OwnerTable *t)
{
	_cleanup_close_ int fdfd = -EBADF;
	char path[64], comm[FUNCTION_COMM_MAX] = "";
	bool have_comm = false;
	struct dirent *de;
	DIR *d;
	int r = 0;

	(void)snprintf(path, sizeof(path), "%s/fd", pid_name);
	fdfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return 0; /* gone, or not ours to look at */
	d = fdopendir(fdfd);
	if (!d)
		return 0;
	fdfd = -EBADF;

	while ((de = readdir(d))) {
		char target[4096];
		const char *node;
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		node = owner_link_node(target);
		if (!node)
			continue;
		if (!have_comm) {
			read_comm(procfd, pid_name, comm);
			have_comm = true;
		}
		r = table_add(t, node, pid, comm);
		if (r < 0)
			break;
	}
	(void)closedir(d);
	return r;
}

int owner_scan(const char *proc_root, pid_t exclude, OwnerTable *ret)
{
	OwnerTable t = {};
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(proc_root);
	if (!d)
		return negative_errno();

	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (errno != 0 || *end || pid <= 0 || pid > INT32_MAX)
			continue;
		if ((pid_t)pid == exclude)
			continue;
		r = scan_process(dirfd(d), de->d_name, (pid_t)pid, &t);
		if (r < 0)
			break;
	}
	(void)closedir(d);
	if (r < 0) {
		owner_table_done(&t);
		return r;
	}

	if (t.n > 1)
		qsort(t.entries, t.n, sizeof(OwnerEntry), entry_compare);
	*ret = t;
	return 0;
}

void owner_table_done(OwnerTable *t)
{
	free(t->entries);
	*t = (OwnerTable){};
}

static const OwnerEntry *lookup_node(const OwnerTable *t, const char *node)
{
	size_t lo = 0, hi = t->n;

	/* Lower bound: the first entry for @node is the one with the lowest pid. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->entries[mid].node, node) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && streq(t->entries[lo].node, node) ? &t->entries[lo] : NULL;
}

const OwnerEntry *owner_table_lookup(const OwnerTable *t, const char *group, const char *cdev)
{
	const OwnerEntry *e = NULL;

	if (!isempty(group))
		e = lookup_node(t, group);
	if (!e && !isempty(cdev)) {
		char node[48];

		(void)snprintf(node, sizeof(node), "devices/%s", cdev);
		e = lookup_node(t, node);
	}
	return e;
}

int owner_find(const char *proc_root, pid_t exclude, const char *group, const char *cdev, OwnerEntry *ret)
{
	_cleanup_(owner_table_done) OwnerTable t = {};
	const OwnerEntry *e;
	int r;

	r = owner_scan(proc_root, exclude, &t);
	if (r < 0)
		return r;
	e = owner_table_lookup(&t, group, cdev);
	if (!e)
		return 0;
	*ret = *e;
	return 1;
}
