/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: a stand-in VMM, a child process that opens a function's group
 * as a VMM does and holds it until it is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "tests/devworld-private.h"

/* ------------------------------------------------------------------ */
/* The stand-in VMM */

/* In the child: make /dev/vfio/<group> of this mount namespace the
 * testbed's node, so /proc/<pid>/fd shows the path a VMM would have open,
 * and open it without the preload. Returns the fd or -1. */
static int holder_display_fd(const char *root, const char *node)
{
	char src[PATH_MAX], dir[PATH_MAX];
	int fd;

	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", node);
	*strrchr(dir, '/') = 0;
	if (syscall(SYS_mkdirat, AT_FDCWD, dir, 0755) < 0)
		return -1;
	fd = (int)syscall(SYS_openat, AT_FDCWD, node, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(src, sizeof(src), "%s%s", root, node);
	if (mount(src, node, NULL, MS_BIND, NULL) < 0)
		return -1;
	return (int)syscall(SYS_openat, AT_FDCWD, node, O_RDWR);
}

static _Noreturn void holder_main(const char *root, const char *group_node, const char *slot, int ready,
				  int stop)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char name[16];
	int cfd, gfd, dfd;
	char c = 1;

	/* handlers inherited from the test harness (Check's SIGTERM handler
	 * kills its process group) must not run here */
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	(void)setpgid(0, 0);
	snprintf(name, sizeof(name), "qemu-system-s39");
	(void)prctl(PR_SET_NAME, name);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	(void)holder_display_fd(root, group_node);

	/* the emulated open, as a VMM does it through the group */
	cfd = open("/dev/vfio/vfio", O_RDWR);
	gfd = open(group_node, O_RDWR);
	if (cfd < 0 || gfd < 0 || ioctl(gfd, VFIO_GROUP_GET_STATUS, &st) < 0 ||
	    ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &cfd) < 0 ||
	    ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		c = 0;
	dfd = c ? ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, slot) : -1;
	if (dfd < 0)
		c = 0;
	(void)!write(ready, &c, 1);
	close(ready);
	while (read(stop, &c, 1) > 0)
		;
	_exit(0);
}

pid_t devworld_hold(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	int ready[2], stop[2];
	pid_t pid;
	char c = 0;

	if (!fn)
		return -ENOENT;
	if (!fn->group_node[0])
		return -ENODEV;
	if (fn->holder_pid > 0)
		return -EBUSY;
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(stop, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(ready[0]);
		close(ready[1]);
		close(stop[0]);
		close(stop[1]);
		return r;
	}
	if (pid == 0) {
		close(ready[0]);
		close(stop[1]);
		holder_main(w->root, fn->group_node, fn->slot, ready[1], stop[0]);
	}
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &c, 1) != 1 || c != 1) {
		close(ready[0]);
		close(stop[1]);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		return -EIO;
	}
	close(ready[0]);
	fn->holder_pid = pid;
	fn->holder_pipe = stop[1];
	return pid;
}

int devworld_release(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);

	if (!fn || fn->holder_pid <= 0)
		return -ENOENT;
	dw_holder_stop(fn);
	return 0;
}

void dw_holder_stop(DwFn *fn)
{
	if (fn->holder_pid <= 0)
		return;
	if (fn->holder_pipe >= 0)
		close(fn->holder_pipe);
	fn->holder_pipe = -1;
	(void)kill(fn->holder_pid, SIGTERM);
	(void)waitpid(fn->holder_pid, NULL, 0);
	fn->holder_pid = 0;
}
