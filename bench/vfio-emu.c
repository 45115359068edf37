/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-emu: an LD_PRELOAD library that plays the kernel's vfio side of up
 * to VFIO_EMU_MAX zPCI functions inside the process that opens them, for
 * storms larger than umockdev's per-process table of emulated descriptors
 * allows, and without a socket round trip per ioctl (bench/vfio-emu.h).
 *
 * It answers open() of /dev/vfio/devices/vfioN for the functions of the
 * control block and of /dev/iommu (each a descriptor of /dev/null), and the
 * ioctls on those descriptors that an owner issues:
 *   VFIO_DEVICE_BIND_IOMMUFD (once per function: -EINVAL when bound),
 *   IOMMU_IOAS_ALLOC, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
 *   VFIO_DEVICE_GET_INFO: PCI|RESET|CAPS with VFIO_DEVICE_INFO_CAP_ZPCI_BASE
 *     version 3 (40 bytes, __u32 ccdf_err_length 32 at offset 36),
 *   VFIO_DEVICE_GET_IRQ_INFO: ERR (3) and REQ (4) with one eventfd each,
 *   VFIO_DEVICE_SET_IRQS: DATA_EVENTFD|ACTION_TRIGGER (fd -1 or DATA_NONE
 *     with count 0 unregisters); the eventfd is kept by a duplicate, as the
 *     kernel keeps a reference,
 *   VFIO_DEVICE_FEATURE ZPCI_ERROR: PROBE 0, SET -EINVAL, GET with data 0
 *     -EINVAL, empty -ENOMSG, else the oldest record is dequeued and its
 *     32 bytes copied to data,
 *   VFIO_DEVICE_RESET: 0, the queue is kept.
 * The queue follows the kernel: a FIFO of depth 4, the newest error dropped
 * when full, records arrive and are kept only while the device is open
 * (first open to last close), and each queued error signals the ERR eventfd.
 *
 * Errors arrive from a thread of the library (the injector) as the
 * benchmark's mode says, for functions that are open with an ERR eventfd
 * registered; its CPU time is published so that the benchmark can tell it
 * from the program's. Descriptors of a fork()ed child are left
 * alone: only the process that opened a function closes it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/vfio-emu.h"
#include "common/vfio-zpci.h"

#define MAX_FD        65536
#define FD_IOMMU      (-1)
#define DEVICES_VFIO  "/dev/vfio/devices/vfio"
#define ZPCI_ERR_SIZE 32

static VfioEmu *emu;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int fd_map[MAX_FD]; /* 0: not ours, FD_IOMMU, or function index + 1 */
static int err_efd[VFIO_EMU_MAX];
static bool bound[VFIO_EMU_MAX];
static unsigned n_fds[VFIO_EMU_MAX];                      /* descriptors open on each function */
static uint64_t ring[VFIO_EMU_MAX][VFIO_EMU_QUEUE_DEPTH]; /* the faddr of each record */
static pid_t owner_pid;

static int (*real_open)(const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);

static void resolve(void)
{
	if (!real_open) {
		real_open = dlsym(RTLD_NEXT, "open");
		real_close = dlsym(RTLD_NEXT, "close");
		real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	}
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One error arrives for function @i (lock held). Returns true when it was
 * queued (and the eventfd is to be signalled). */
static bool arrive_locked(unsigned i)
{
	VfioEmuFunction *f = &emu->f[i];

	if (f->open_pid == 0)
		return false; /* no queue while closed */
	__atomic_store_n(&f->injected, f->injected + 1, __ATOMIC_RELAXED);
	if (f->queued >= VFIO_EMU_QUEUE_DEPTH) {
		__atomic_store_n(&f->dropped, f->dropped + 1, __ATOMIC_RELAXED);
		return false;
	}
	ring[i][(f->head + f->queued) % VFIO_EMU_QUEUE_DEPTH] = f->injected;
	__atomic_store_n(&f->queued, f->queued + 1, __ATOMIC_RELAXED);
	return true;
}

static void signal_err(unsigned i)
{
	uint64_t one = 1;
	int efd = err_efd[i];

	if (efd > 0)
		(void)!write(efd, &one, sizeof(one));
}

/* The injector: the hardware and the kernel's error path. */
static void *injector(void *userdata)
{
	uint64_t t_last = mono_ns(), credit = 0;

	(void)userdata;
	for (;;) {
		uint32_t mode = __atomic_load_n(&emu->mode, __ATOMIC_RELAXED);
		unsigned signalled = 0;
		struct timespec nap = { 0, 50000 };

		if (mode == VFIO_EMU_SATURATE) {
			for (unsigned i = 0; i < emu->n; i++) {
				bool any = false;

				pthread_mutex_lock(&lock);
				while (emu->f[i].open_pid && emu->f[i].registered &&
				       emu->f[i].queued < VFIO_EMU_QUEUE_DEPTH)
					any |= arrive_locked(i);
				pthread_mutex_unlock(&lock);
				if (any) {
					signal_err(i);
					signalled++;
				}
			}
			t_last = mono_ns();
		} else if (mode == VFIO_EMU_RATE) {
			uint64_t now = mono_ns(), rounds;

			/* @rate rounds per second, one error for every open function in each */
			credit += (now - t_last) * emu->rate;
			t_last = now;
			rounds = credit / 1000000000ULL;
			credit %= 1000000000ULL;
			if (rounds > 1000)
				rounds = 1000;
			for (uint64_t k = 0; k < rounds; k++)
				for (unsigned i = 0; i < emu->n; i++) {
					bool q;

					pthread_mutex_lock(&lock);
					q = emu->f[i].registered && arrive_locked(i);
					pthread_mutex_unlock(&lock);
					if (q) {
						signal_err(i);
						signalled++;
					}
				}
			nap.tv_nsec = 1000000;
		} else {
			t_last = mono_ns();
			credit = 0;
			nap.tv_nsec = 1000000;
		}
		__atomic_store_n(&emu->injector_rounds, emu->injector_rounds + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&emu->injector_cpu_ns, thread_cpu_ns(), __ATOMIC_RELAXED);
		if (signalled == 0 || mode == VFIO_EMU_RATE)
			(void)nanosleep(&nap, NULL);
	}
	return NULL;
}

__attribute__((constructor)) static void emu_init(void)
{
	const char *path = getenv("ZPCID_VFIO_EMU");
	sigset_t all, old;
	pthread_t t;
	struct stat st;
	void *m;
	int fd, r;

	resolve();
	if (!path)
		return;
	/* $ZPCID_VFIO_EMU_PROGRAM: only in that program, not in a launcher
	 * before it (valgrind) */
	if (getenv("ZPCID_VFIO_EMU_PROGRAM") &&
	    strcmp(getenv("ZPCID_VFIO_EMU_PROGRAM"), program_invocation_short_name) != 0)
		return;
	fd = real_open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(VfioEmu)) {
		fprintf(stderr, "vfio-emu: %s: cannot open the control block\n", path);
		_exit(127);
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	real_close(fd);
	if (m == MAP_FAILED || ((VfioEmu *)m)->magic != VFIO_EMU_MAGIC || ((VfioEmu *)m)->n > VFIO_EMU_MAX ||
	    vfio_emu_size(((VfioEmu *)m)->n) > (size_t)st.st_size) {
		fprintf(stderr, "vfio-emu: %s: not a control block\n", path);
		_exit(127);
	}
	emu = m;
	owner_pid = getpid();
	/* the variable stays for no child: a helper the program runs is not the program */
	unsetenv("ZPCID_VFIO_EMU");
	unsetenv("ZPCID_VFIO_EMU_PROGRAM");
	/* no signal of the program's may land on the injector */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&t, NULL, injector, NULL);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		fprintf(stderr, "vfio-emu: cannot start the injector\n");
		_exit(127);
	}
	(void)pthread_detach(t);
}

static int find_cdev(const char *path)
{
	char *end;
	unsigned long n;

	if (!emu || strncmp(path, DEVICES_VFIO, strlen(DEVICES_VFIO)) != 0)
		return -1;
	n = strtoul(path + strlen(DEVICES_VFIO), &end, 10);
	if (*end || end == path + strlen(DEVICES_VFIO))
		return -1;
	for (unsigned i = 0; i < emu->n; i++)
		if (emu->f[i].cdev == n)
			return (int)i;
	return -1;
}

/* Returns the descriptor, -1 with errno, or -2 when the path is not ours. */
static int emu_open(const char *path, int flags)
{
	int i, fd;

	resolve();
	if (!emu)
		return -2;
	if (strcmp(path, "/dev/iommu") == 0)
		i = -1;
	else if ((i = find_cdev(path)) < 0)
		return -2;
	fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
	if (fd < 0)
		return -1;
	if (fd >= MAX_FD) {
		real_close(fd);
		errno = EMFILE;
		return -1;
	}
	pthread_mutex_lock(&lock);
	fd_map[fd] = i < 0 ? FD_IOMMU : i + 1;
	if (i >= 0) {
		VfioEmuFunction *f = &emu->f[i];

		n_fds[i]++;

		if (f->open_pid == 0) {
			/* the first open: an empty queue comes to exist */
			f->queued = 0;
			f->head = 0;
			__atomic_store_n(&f->open_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
		}
		__atomic_store_n(&f->opens, f->opens + 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&lock);
	return fd;
}

static int open_common(const char *path, int flags, mode_t mode)
{
	int r = emu_open(path, flags);

	if (r != -2)
		return r;
	return real_open(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return open_common(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return open_common(path, flags, 0);
}

int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real_openat)(int, const char *, int, ...);
	mode_t mode = 0;
	int r;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (path[0] == '/') {
		r = emu_open(path, flags);
		if (r != -2)
			return r;
	}
	if (!real_openat)
		real_openat = dlsym(RTLD_NEXT, "openat");
	return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

/* The last close of function @i (lock held): the queue goes, the eventfd
 * registration goes. */
static void last_close_locked(unsigned i)
{
	VfioEmuFunction *f = &emu->f[i];

	if (err_efd[i] > 0)
		real_close(err_efd[i]);
	err_efd[i] = 0;
	bound[i] = false;
	f->queued = 0;
	__atomic_store_n(&f->registered, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->open_pid, 0, __ATOMIC_RELAXED);
}

int close(int fd)
{
	resolve();
	if (emu && fd >= 0 && fd < MAX_FD && getpid() == owner_pid) {
		pthread_mutex_lock(&lock);
		if (fd_map[fd] > 0) {
			unsigned i = (unsigned)fd_map[fd] - 1;

			fd_map[fd] = 0;
			if (--n_fds[i] == 0)
				last_close_locked(i);
		} else if (fd_map[fd] == FD_IOMMU)
			fd_map[fd] = 0;
		pthread_mutex_unlock(&lock);
	}
	return real_close(fd);
}

static int get_info(unsigned i, void *arg)
{
	struct vfio_device_info info;
	uint8_t cap[ZPCID_ZPCI_BASE_V3_SIZE] = {};
	struct vfio_info_cap_header h = { .id = VFIO_DEVICE_INFO_CAP_ZPCI_BASE, .version = 3, .next = 0 };
	uint32_t need = (uint32_t)(sizeof(info) + sizeof(cap)), v32;
	uint16_t v16;

	memcpy(&info, arg, sizeof(info));
	if (info.argsz < sizeof(info))
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_CAPS;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	info.cap_offset = 0;
	if (info.argsz < need) {
		/* the capabilities do not fit: say how much they need */
		info.argsz = need;
		memcpy(arg, &info, sizeof(info));
		return 0;
	}
	memcpy(cap, &h, sizeof(h));
	v16 = (uint16_t)(0x100 + i / 4);
	memcpy(cap + offsetof(struct vfio_device_info_cap_zpci_base, pchid), &v16, sizeof(v16));
	v32 = emu->f[i].fh;
	memcpy(cap + ZPCID_ZPCI_BASE_FH_OFFSET, &v32, sizeof(v32));
	v32 = ZPCI_ERR_SIZE;
	memcpy(cap + ZPCID_ZPCI_BASE_CCDF_ERR_LENGTH_OFFSET, &v32, sizeof(v32));
	info.cap_offset = sizeof(info);
	memcpy(arg, &info, sizeof(info));
	memcpy((uint8_t *)arg + sizeof(info), cap, sizeof(cap));
	return 0;
}

static int feature(unsigned i, void *arg)
{
	struct vfio_device_feature h;
	struct vfio_device_feature_zpci_err p;
	VfioEmuFunction *f = &emu->f[i];
	uint8_t rec[ZPCI_ERR_SIZE] = {};
	uint64_t faddr;

	memcpy(&h, arg, sizeof(h));
	if ((h.flags & VFIO_DEVICE_FEATURE_MASK) != VFIO_DEVICE_FEATURE_ZPCI_ERROR)
		return -ENOTTY;
	if (h.flags & VFIO_DEVICE_FEATURE_SET)
		return -EINVAL;
	if (h.argsz < sizeof(h) + sizeof(p))
		return -EINVAL;
	if (h.flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	memcpy(&p, (uint8_t *)arg + sizeof(h), sizeof(p));
	if (p.data == 0)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	if (f->queued == 0) {
		__atomic_store_n(&f->gets_empty, f->gets_empty + 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&lock);
		return -ENOMSG;
	}
	faddr = ring[i][f->head];
	f->head = (f->head + 1) % VFIO_EMU_QUEUE_DEPTH;
	__atomic_store_n(&f->queued, f->queued - 1, __ATOMIC_RELAXED);
	__atomic_store_n(&f->drained, f->drained + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock);

	/* the architected record, big-endian: fh at 4, fid at 8, faddr at 16, pec at 30 */
	put_be32(rec + 4, f->fh);
	put_be32(rec + 8, f->fid);
	put_be32(rec + 16, (uint32_t)(faddr >> 32));
	put_be32(rec + 20, (uint32_t)faddr);
	rec[30] = (uint8_t)(f->pec >> 8);
	rec[31] = (uint8_t)f->pec;
	memcpy((void *)(uintptr_t)p.data, rec, sizeof(rec));
	return 0;
}

static int set_irqs(unsigned i, void *arg)
{
	struct vfio_irq_set s;
	int32_t efd = -1;
	int dup_fd;

	memcpy(&s, arg, sizeof(s));
	if (s.argsz < sizeof(s) || s.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (s.index != VFIO_PCI_ERR_IRQ_INDEX)
		return 0; /* REQ: accepted, never signalled here */
	if ((s.flags & VFIO_IRQ_SET_DATA_EVENTFD) && s.count == 1) {
		if (s.argsz < sizeof(s) + sizeof(efd))
			return -EINVAL;
		memcpy(&efd, (uint8_t *)arg + sizeof(s), sizeof(efd));
	} else if (!((s.flags & VFIO_IRQ_SET_DATA_NONE) && s.count == 0))
		return -EINVAL;
	dup_fd = efd >= 0 ? fcntl(efd, F_DUPFD_CLOEXEC, 3) : 0;
	if (dup_fd < 0)
		return -errno;
	pthread_mutex_lock(&lock);
	if (err_efd[i] > 0)
		real_close(err_efd[i]);
	err_efd[i] = dup_fd;
	__atomic_store_n(&emu->f[i].registered, dup_fd > 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock);
	return 0;
}

static int device_ioctl(unsigned i, unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_DEVICE_BIND_IOMMUFD: {
		int r = 0;

		pthread_mutex_lock(&lock);
		if (bound[i])
			r = -EINVAL;
		bound[i] = true;
		pthread_mutex_unlock(&lock);
		return r;
	}
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return 0;
	case VFIO_DEVICE_GET_INFO:
		return get_info(i, arg);
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info irq;

		memcpy(&irq, arg, sizeof(irq));
		if (irq.argsz < sizeof(irq) || irq.index >= VFIO_PCI_NUM_IRQS)
			return -EINVAL;
		irq.flags = VFIO_IRQ_INFO_EVENTFD;
		irq.count = irq.index == VFIO_PCI_ERR_IRQ_INDEX || irq.index == VFIO_PCI_REQ_IRQ_INDEX ? 1
												       : 0;
		memcpy(arg, &irq, sizeof(irq));
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS:
		return set_irqs(i, arg);
	case VFIO_DEVICE_FEATURE:
		return feature(i, arg);
	case VFIO_DEVICE_RESET:
		__atomic_store_n(&emu->f[i].resets, emu->f[i].resets + 1, __ATOMIC_RELAXED);
		return 0;
	default:
		return -ENOTTY;
	}
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int m, r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	resolve();
	m = emu && fd >= 0 && fd < MAX_FD ? __atomic_load_n(&fd_map[fd], __ATOMIC_RELAXED) : 0;
	if (m == 0)
		return real_ioctl(fd, req, arg);
	if (m == FD_IOMMU) {
		struct iommu_ioas_alloc a;

		if (req != IOMMU_IOAS_ALLOC)
			r = -ENOTTY;
		else {
			memcpy(&a, arg, sizeof(a));
			a.out_ioas_id = 1;
			memcpy(arg, &a, sizeof(a));
			r = 0;
		}
	} else
		r = device_ioctl((unsigned)m - 1, req, arg);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}
