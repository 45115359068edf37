/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * devworld: the device world of an s390x LPAR, faked on umockdev, for tests
 * and for the simulated LPAR (tests/zpci-sim).
 *
 * Tests speak the domain: "add an NVMe function with FID 0x11", "bind it to
 * vfio-pci", "inject PEC 0x3a", "a VMM holds it", never raw attribute pokes.
 * What the world provides:
 *
 *  - sysfs: each function is a PCI device /sys/devices/pci<dom>:00/<slot>
 *    with every zPCI attribute in the kernel's exact format, its hotplug slot
 *    /sys/bus/pci/slots/<fid as %08x>/{address,power}, an iommu_group link
 *    and a driver link; uevents (add, remove, bind, unbind, change with
 *    ERROR_EVENT/DEVICE_ONLINE) reach every process of the testbed.
 *  - /dev/kmsg: a FIFO in the testbed that a process under the preload opens
 *    instead of the kernel's; devworld_kmsg() appends "PRIO,SEQ,TS,-;text".
 *  - VFIO: the group node /dev/vfio/<group>, the cdev /dev/vfio/devices/vfioN,
 *    /dev/vfio/vfio and /dev/iommu, answered by ioctl handlers in this
 *    process that follow the kernel's rules (ownership, capability chain,
 *    IRQ registration, the zPCI error feature (upstream's v20 form), the
 *    4-deep error FIFO that drops the newest record, reset). Eventfds a
 *    client registers are fetched from it with pidfd_getfd(), so injecting
 *    an error signals the real eventfd of the real client process.
 *  - processes: the real zpcid binary as a child under the preload with its
 *    console log captured; a stand-in VMM holding a function.
 *
 * Limits of the emulation (umockdev cannot create file descriptors in a
 * client): VFIO_GROUP_GET_DEVICE_FD returns the group fd itself, whose
 * ioctls then reach the device; an fd received over a socket is not known
 * to the preload, so its ioctls do not reach the handlers. A duplicate
 * (dup, fcntl F_DUPFD) is not known to it either: the daemon is spawned
 * with tests/libdevworld-preload.so in front, which sends the ioctls of a
 * duplicate to its original, as the kernel would see them.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and -errno on failure. Not thread-safe for callers: one test thread drives
 * a world (the ioctl handlers run in umockdev's worker thread and take the
 * world's lock).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Devworld Devworld;

/* Kinds of zPCI functions; a kind fills the PFT, ids, class and host driver
 * that a field left 0 does not give. PFT values: s390-tools' libzpci. */
typedef enum DevworldKind {
	DEVWORLD_KIND_NONE,  /* nothing filled in */
	DEVWORLD_KIND_NVME,  /* pft 0x0b, Samsung PM1735 0x144d:0xa824, nvme */
	DEVWORLD_KIND_ROCE,  /* RoCE Express: pft 0x02, ConnectX-3 VF 0x15b3:0x1004, mlx4_core */
	DEVWORLD_KIND_ROCE2, /* RoCE Express2: pft 0x0a, ConnectX-4 Lx VF 0x15b3:0x1016, mlx5_core */
	DEVWORLD_KIND_ROCE3, /* RoCE Express3: pft 0x0a, ConnectX-6 Lx VF 0x15b3:0x101e, mlx5_core */
	DEVWORLD_KIND_ISM,   /* pft 0x05, IBM 0x1014:0x04ed, ism; no ERR IRQ on older kernels */
	DEVWORLD_KIND_NETH,  /* Network Express hybrid: pft 0x0c, mlx5Gen VF 0x15b3:0x101e (ids illustrative)
			      */
	DEVWORLD_KIND_NETD,  /* Network Express direct: pft 0x0f */
	DEVWORLD_KIND_CNW,   /* pft 0x0d */
	_DEVWORLD_KIND_MAX,
	_DEVWORLD_KIND_INVALID = -22,
} DevworldKind;

/* Whether the function's kernel offers VFIO_DEVICE_FEATURE_ZPCI_ERROR. */
typedef enum DevworldFeature {
	DEVWORLD_FEATURE_V20,  /* {data}: the user buffer receives the raw CCDF; -ENOMSG when empty */
	DEVWORLD_FEATURE_NONE, /* -ENOTTY: a kernel without the feature */
	_DEVWORLD_FEATURE_MAX,
	_DEVWORLD_FEATURE_INVALID = -22,
} DevworldFeature;

/* One zPCI function as the platform configures it. Zero means "default":
 * the kind's value, or the documented one. */
typedef struct DevworldFunction {
	uint32_t fid;
	uint32_t fh; /* 0: 0x80000000 | fid << 8 ... derived and changed on every reset */
	uint32_t uid;
	bool uid_is_unique;
	uint16_t pchid;
	uint16_t vfn;
	uint8_t pfgid;
	uint8_t pft;
	uint8_t fidparm;
	uint32_t port;
	bool mio_enabled;
	uint16_t vendor, device, subsystem_vendor, subsystem_device;
	uint32_t class_code;
	DevworldKind kind;

	uint32_t domain;      /* PCI domain; 0: the UID when uid_is_unique, else the next free one */
	bool domain_set;      /* use .domain even when it is 0 */
	unsigned iommu_group; /* 0: the next free group number */
	const char *driver;   /* bound at creation: NULL the kind's driver, "" none, or a name */

	/* How its vfio device behaves. */
	DevworldFeature feature;
	unsigned zpci_base_version; /* ZPCI_BASE cap version: 0 means 3 (2 without the feature) */
	bool no_err_irq;            /* GET_IRQ_INFO(ERR).count == 0; default: 1 */
	bool no_cdev;               /* bind creates only the group node (kernel before 6.6) */

	/* Raw sysfs overrides: NULL-terminated "name", "value" pairs written
	 * after the regular attributes (malformed values, missing ones: value NULL
	 * removes the attribute). */
	const char *const *raw_attrs;
} DevworldFunction;

/* What the world saw a function's clients do, for assertions. */
typedef struct DevworldStats {
	unsigned opens;          /* the device was opened (group GET_DEVICE_FD or cdev bind) */
	unsigned closes;         /* ... and closed again */
	unsigned ebusy;          /* opens refused because another process held it */
	unsigned resets;         /* VFIO_DEVICE_RESET */
	unsigned feature_gets;   /* ZPCI_ERROR GETs answered (records or empty) */
	unsigned feature_probes; /* ZPCI_ERROR PROBEs */
	unsigned drained;        /* records handed out */
	unsigned enomsg;         /* GETs on an empty queue */
	unsigned queued;         /* records in the queue now */
	unsigned dropped;        /* records dropped because the queue was full */
	unsigned discarded;      /* records discarded at the last close */
	bool err_registered;     /* an ERR eventfd is registered now */
	bool req_registered;     /* a REQ eventfd is registered now */
	pid_t owner_pid;         /* process with the device open, 0 when closed */
	unsigned ioctls;         /* ioctls of any kind on the function's nodes */
} DevworldStats;

/* Create a world: a umockdev testbed (this sets $UMOCKDEV_DIR for this
 * process and its children) and the kmsg FIFO. Call it inside the test (in
 * Check's fork mode, in the test function). Returns 0 or -errno. */
int devworld_new(Devworld **ret);

/* Stop the daemon and holders, detach handlers, remove the testbed.
 * Accepts NULL, returns NULL. */
Devworld *devworld_free(Devworld *w);

static inline void devworld_freep(Devworld **w)
{
	if (*w)
		(void)devworld_free(*w);
}

/* The testbed root ($UMOCKDEV_DIR). */
const char *devworld_root(const Devworld *w);

/* Add a function, send its "add" uevent (a hotplug when a daemon runs) and
 * bind its initial driver. Returns 0, -EEXIST for a FID already present,
 * -EINVAL for a bad description. */
int devworld_add_function(Devworld *w, const DevworldFunction *f);

/* Load functions from a scenario/LPAR file's "function" lines (see
 * docs/simulated-lpar.md). Returns the number added or -errno; on a parse
 * error, *ret_line (if given) is the failing line number. */
int devworld_load(Devworld *w, const char *path, unsigned *ret_line);

/* Parse one "function key=value ..." description (without the keyword) into
 * @f. String fields point into @buf, which is modified. Returns 0 or -EINVAL. */
int devworld_parse_function(char *buf, DevworldFunction *f);

/* Write @n generated functions ("function ..." lines, a realistic mix) to
 * @path, starting at @first_fid. Returns 0 or -errno. */
int devworld_generate(const char *path, unsigned n, uint32_t first_fid);

/* The sysfs path (/sys/devices/...) and PCI slot name of a function, or NULL. */
const char *devworld_syspath(Devworld *w, uint32_t fid);
const char *devworld_slot(Devworld *w, uint32_t fid);

/* The iommu group and the vfio cdev index (-1 when not bound to vfio-pci). */
int devworld_group(Devworld *w, uint32_t fid);
int devworld_cdev(Devworld *w, uint32_t fid);

/* Bind @driver (a "bind" uevent, the driver link); "vfio-pci" also creates
 * /dev/vfio/<group> and, unless no_cdev, <dev>/vfio-dev/vfioN with
 * /dev/vfio/devices/vfioN. Returns 0, -ENOENT, -EBUSY when already bound. */
int devworld_bind(Devworld *w, uint32_t fid, const char *driver);

/* Unbind the driver (closing an open vfio device first, as the kernel
 * blocks until it is released). Returns 0, -ENOENT, -ENODEV when unbound. */
int devworld_unbind(Devworld *w, uint32_t fid);

/* Hot-unplug: unbind, "remove" uevent, then remove the device and slot. */
int devworld_remove(Devworld *w, uint32_t fid);

/* Rewrite one sysfs attribute of a function (NULL @value deletes it). */
int devworld_set_attr(Devworld *w, uint32_t fid, const char *name, const char *value);

/* A "change" uevent with ERROR_EVENT=@event (BEGIN_RECOVERY,
 * SUCCESSFUL_RECOVERY, FAILED_RECOVERY) and DEVICE_ONLINE=0|1. */
int devworld_recovery_uevent(Devworld *w, uint32_t fid, const char *event, bool online);

/* Append one kernel log record "PRIO,SEQ,TS,-;message" (level err) to the
 * kmsg FIFO. The _level form takes a syslog level. */
int devworld_kmsg(Devworld *w, const char *format, ...) __attribute__((format(printf, 2, 3)));
int devworld_kmsg_level(Devworld *w, int level, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* Whether a PCI function error also logs the kernel's
 * "zpci: <slot>: Event 0x<pec> reports an error for PCI function 0x<fid>"
 * line (default: yes, as the kernel does). */
void devworld_set_kmsg_on_error(Devworld *w, bool enable);

/* The platform reports an error: log it like the kernel, queue the CCDF
 * if the vfio device is open (dropping the newest, with the kernel's
 * warning, when 4 are queued) and signal the ERR eventfd. The pec form
 * builds a CCDF with the function's fh/fid. Returns 1 when queued, 0 when
 * not (device not open, or dropped), -ENOENT for an unknown FID. */
int devworld_inject_pec(Devworld *w, uint32_t fid, uint16_t pec);
int devworld_inject_ccdf(Devworld *w, uint32_t fid, const uint8_t ccdf[32]);

/* Queue errors without signalling, then signal once (a burst). */
int devworld_queue_pec(Devworld *w, uint32_t fid, uint16_t pec);
int devworld_signal_err(Devworld *w, uint32_t fid);

/* The kernel wants the device back (driver unbind pending): signal the REQ
 * eventfd. Returns 1 when signalled, 0 when none is registered. */
int devworld_request(Devworld *w, uint32_t fid);

/* A stand-in VMM: a child process that opens the function's group (so
 * /proc/<pid>/fd shows /dev/vfio/<group>) and claims it; other processes
 * then get -EBUSY. Returns the pid (> 0) or -errno. */
pid_t devworld_hold(Devworld *w, uint32_t fid);

/* Stop the holder of @fid (it closes the device). Returns 0 or -ENOENT. */
int devworld_release(Devworld *w, uint32_t fid);

/* Counters and state of a function's vfio side. Returns 0 or -ENOENT. */
int devworld_get_stats(Devworld *w, uint32_t fid, DevworldStats *ret);

/* The function's operation log: one line per ioctl/event, e.g.
 * "DEVICE_FEATURE ZPCI_ERROR GET -> 0 pec=0x3a". Newly allocated. */
char *devworld_oplog(Devworld *w, uint32_t fid);

/* Wait until the function's ERR eventfd is registered (or, with
 * @registered false, unregistered). Returns 0 or -ETIMEDOUT. */
int devworld_wait_err_registered(Devworld *w, uint32_t fid, bool registered, unsigned timeout_ms);

/* Wait until the function's queue is empty. Returns 0 or -ETIMEDOUT. */
int devworld_wait_drained(Devworld *w, uint32_t fid, unsigned timeout_ms);

/* The path of the daemon's second preload library: $DEVWORLD_PRELOAD, or
 * $ZPCID_TOP_BUILDDIR/tests/libdevworld-preload.so (absolute). Free with g_free(). */
char *devworld_preload_library(void);

/* Start the real daemon ($ZPCID_TOP_BUILDDIR/zpcid, or $ZPCID_BINARY) as a
 * child under the preload, with @argv (NULL-terminated, without argv[0]);
 * --log-target=console is added unless given. State and runtime directories
 * are private temporary ones. Stdout and stderr are captured. Returns the
 * pid (> 0), -ENOENT (no daemon binary), -ELIBACC (no preload library,
 * devworld_preload_library()) or another -errno. */
pid_t devworld_spawn_daemon(Devworld *w, const char *const *argv);

/* The daemon's pid, 0 when none runs. */
pid_t devworld_daemon_pid(const Devworld *w);

/* Wait until the daemon's output contains @needle at or after byte offset
 * @from. Returns the offset of the match (>= 0), -ETIMEDOUT, or -ESRCH
 * when the daemon exited first. */
long devworld_wait_log_from(Devworld *w, size_t from, const char *needle, unsigned timeout_ms);
long devworld_wait_log(Devworld *w, const char *needle, unsigned timeout_ms);

/* How often @needle occurs in the daemon's output from offset @from. */
unsigned devworld_count_log(Devworld *w, size_t from, const char *needle);

/* The current length of the captured output (a mark for _from calls). */
size_t devworld_log_mark(Devworld *w);

/* A copy of the captured output. Newly allocated. */
char *devworld_log(Devworld *w);

/* Make the captured output also go to @fd as it arrives (-1: off). */
void devworld_tee_log(Devworld *w, int fd);

/* SIGTERM the daemon and reap it. Returns its wait status (>= 0) or
 * -ETIMEDOUT (it was then killed) or -ESRCH when none runs. */
int devworld_stop_daemon(Devworld *w, unsigned timeout_ms);

/* The daemon's state directory: the same for every daemon spawned in this
 * world, so a restarted daemon finds its history and policy state. */
const char *devworld_state_directory(Devworld *w);

/* Send @sig to the daemon and reap it (SIGKILL: a crash; its output so far
 * stays captured, a later spawn appends to it). Returns its wait status
 * (>= 0) or -ESRCH when none runs. */
int devworld_kill_daemon(Devworld *w, int sig);

/* A copy of a testbed file named by its absolute path ("/sys/..."), or NULL. */
char *devworld_read_file(Devworld *w, const char *path);

/* The driver a function is bound to ("" when none), NULL for an unknown FID. */
const char *devworld_driver(Devworld *w, uint32_t fid);

/* Play the kernel's part of a write of a function's slot to
 * /sys/bus/pci/drivers/<driver>/unbind (a plain file in the testbed): ask
 * the user of its vfio device to release it (REQ), wait up to @timeout_ms
 * for the close, then unbind. Each function's driver_override file keeps
 * what was written to it. Returns the number of functions unbound. */
int devworld_complete_unbinds(Devworld *w, unsigned timeout_ms);

/* Kind names: "nvme", "roce", "roce2", "roce3", "ism", "neth", "netd", "cnw". */
const char *devworld_kind_to_string(DevworldKind k);
DevworldKind devworld_kind_from_string(const char *s);
