/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/owner.h"

/* A vfio node found under the device root: its name and what identifies it. */
typedef struct Target {
	char node[40]; /* "7", "noiommu-0", "devices/vfio3" */
	bool chr;      /* a character device: any node of it (st_rdev) is it */
	dev_t rdev;
	dev_t dev; /* and always: this very file (st_dev, st_ino) */
	ino_t ino;
} Target;

/* The nodes twice: character devices by device number, all by file. */
typedef struct Targets {
	Target *t;
	size_t n, allocated;
	Target *by_rdev;
	size_t n_rdev;
} Targets;

static int compare_rdev(const void *a, const void *b)
{
	const Target *x = a, *y = b;

	return x->rdev < y->rdev ? -1 : x->rdev > y->rdev;
}

static int compare_file(const void *a, const void *b)
{
	const Target *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void target_of(const struct stat *st, Target *t)
{
	t->chr = S_ISCHR(st->st_mode);
	t->rdev = t->chr ? st->st_rdev : 0;
	t->dev = st->st_dev;
	t->ino = st->st_ino;
}

/* A group is a number or "noiommu-N" ("vfio" is the container); a cdev is "vfioN". */
static bool is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static int targets_add_dir(Targets *ts, const char *dir, const char *prefix, bool cdevs)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		Target *t;

		if (cdevs ? !(strneq(de->d_name, "vfio", 4) && is_number(de->d_name + 4))
			  : !(is_number(de->d_name) ||
			      (strneq(de->d_name, "noiommu-", 8) && is_number(de->d_name + 8))))
			continue;
		if (strlen(prefix) + strlen(de->d_name) >= sizeof(t->node))
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
			continue; /* gone meanwhile */
		if (ts->n >= ts->allocated) {
			size_t a = ts->allocated ? ts->allocated * 2 : 16;
			Target *n = reallocarray(ts->t, a, sizeof(*n));

			if (!n) {
				r = -ENOMEM;
				break;
			}
			ts->t = n;
			ts->allocated = a;
		}
		t = &ts->t[ts->n++];
		*t = (Target){};
		(void)snprintf(t->node, sizeof(t->node), "%s%s", prefix, de->d_name);
		target_of(&st, t);
	}
	(void)closedir(d);
	return r;
}

/* Every vfio group and cdev node under @dev_root, sorted by identity. */
static int targets_collect(const char *dev_root, Targets *ret)
{
	char dir[PATH_MAX];
	Targets ts = {};
	int r;

	(void)snprintf(dir, sizeof(dir), "%s/vfio", dev_root);
	r = targets_add_dir(&ts, dir, "", false);
	if (r >= 0) {
		(void)snprintf(dir, sizeof(dir), "%s/vfio/devices", dev_root);
		r = targets_add_dir(&ts, dir, "devices/", true);
	}
	if (r >= 0 && ts.n > 0) {
		ts.by_rdev = calloc(ts.n, sizeof(Target));
		if (!ts.by_rdev)
			r = -ENOMEM;
	}
	if (r < 0) {
		free(ts.t);
		return r;
	}
	for (size_t i = 0; i < ts.n; i++)
		if (ts.t[i].chr)
			ts.by_rdev[ts.n_rdev++] = ts.t[i];
	qsort_safe(ts.t, ts.n, sizeof(Target), compare_file);
	qsort_safe(ts.by_rdev, ts.n_rdev, sizeof(Target), compare_rdev);
	*ret = ts;
	return 0;
}

static const Target *targets_lookup(const Targets *ts, const struct stat *st)
{
	const Target *t = NULL;
	Target key;

	target_of(st, &key);
	if (key.chr && ts->n_rdev > 0)
		t = bsearch(&key, ts->by_rdev, ts->n_rdev, sizeof(Target), compare_rdev);
	if (!t && ts->n > 0)
		t = bsearch(&key, ts->t, ts->n, sizeof(Target), compare_file);
	return t;
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
	(void)snprintf(path, sizeof(path), "%.32s/comm", pid);
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

static int scan_process(int procfd, const char *pid_name, pid_t pid, const Targets *ts, OwnerTable *t)
{
	_cleanup_close_ int fdfd = -EBADF;
	char path[64], comm[FUNCTION_COMM_MAX] = "";
	bool have_comm = false;
	struct dirent *de;
	DIR *d;
	int r = 0;

	(void)snprintf(path, sizeof(path), "%.32s/fd", pid_name); /* a pid: at most 10 digits */
	fdfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return 0; /* gone, or not ours to look at */
	d = fdopendir(fdfd);
	if (!d)
		return 0;
	fdfd = -EBADF;

	while ((de = readdir(d))) {
		const Target *target;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		/* What the fd refers to, whatever path (mount namespace, test
		 * bed root) it was opened by. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		target = targets_lookup(ts, &st);
		if (!target)
			continue;
		if (!have_comm) {
			read_comm(procfd, pid_name, comm);
			have_comm = true;
		}
		r = table_add(t, target->node, pid, comm);
		if (r < 0)
			break;
	}
	(void)closedir(d);
	return r;
}

int owner_scan(const char *proc_root, const char *dev_root, pid_t exclude, OwnerTable *ret)
{
	_cleanup_free_ Target *targets = NULL, *by_rdev = NULL;
	OwnerTable t = {};
	struct dirent *de;
	Targets ts;
	DIR *d;
	int r = 0;

	d = opendir(proc_root);
	if (!d)
		return negative_errno();
	r = targets_collect(dev_root ?: "/dev", &ts);
	if (r < 0) {
		(void)closedir(d);
		return r;
	}
	targets = ts.t;
	by_rdev = ts.by_rdev;
	if (ts.n == 0) { /* no vfio node: nobody holds one */
		(void)closedir(d);
		*ret = t;
		return 0;
	}

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
		r = scan_process(dirfd(d), de->d_name, (pid_t)pid, &ts, &t);
		if (r < 0)
			break;
	}
	(void)closedir(d);
	if (r < 0) {
		owner_table_done(&t);
		return r;
	}

	if (t.n > 1)
		qsort_safe(t.entries, t.n, sizeof(OwnerEntry), entry_compare);
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

int owner_find(const char *proc_root, const char *dev_root, pid_t exclude, const char *group,
	       const char *cdev, OwnerEntry *ret)
{
	_cleanup_(owner_table_done) OwnerTable t = {};
	const OwnerEntry *e;
	int r;

	r = owner_scan(proc_root, dev_root, exclude, &t);
	if (r < 0)
		return r;
	e = owner_table_lookup(&t, group, cdev);
	if (!e)
		return 0;
	*ret = *e;
	return 1;
}
