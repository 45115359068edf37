/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * devworld internals shared by its files (devworld.c and devworld-*.c): the
 * world, its functions and the ioctl clients of their nodes. Not for tests:
 * they use devworld.h.
 *
 * Locking: w->lock guards what umockdev's worker thread (the ioctl handlers)
 * and the test thread both touch: the tables, each function's vfio state,
 * counters and operation log, the kmsg FIFO and the captured daemon output.
 * w->cond is broadcast on every change a waiter may look for. Functions
 * named *_locked expect the lock held.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>
#include <umockdev.h>

#include "common/ccdf.h"
#include "tests/devworld.h"

#define DW_QUEUE_DEPTH 4 /* the kernel's per-device error FIFO */

typedef enum NodeKind {
	NODE_GROUP,
	NODE_CDEV,
	NODE_CONTAINER,
	NODE_IOMMUFD,
} NodeKind;

typedef struct DwFn DwFn;

typedef struct DwClient {
	UMockdevIoctlClient *client; /* not a reference: key of the clients table */
	pid_t pid;
	NodeKind kind;
	DwFn *fn;
	char devnode[64];
	bool group_claimed; /* this client opened the group (the kernel's open) */
	bool container_set; /* VFIO_GROUP_SET_CONTAINER done */
	bool device_open;   /* the device is open through this client */
	bool iommufd_bound; /* cdev: VFIO_DEVICE_BIND_IOMMUFD done */
	bool attached;      /* cdev: attached to an IOAS */
	bool iommu_set;     /* container: VFIO_SET_IOMMU done */
	GSource *hup;       /* watches the client's socket for the close */
	unsigned n_groups;  /* container: groups attached */
	unsigned next_ioas; /* iommufd: next object id */
	/* the open file this one shares (see client_lookup_locked) */
	struct DwClient *inherited_from;
} DwClient;

struct DwFn {
	Devworld *world;
	DevworldFunction cfg;
	char *driver; /* NULL when unbound */
	char slot[16];
	char *syspath; /* /sys/devices/pci<dom>:00/<slot> */
	char *slot_dir;
	uint32_t domain;
	uint32_t fh;
	unsigned group;
	int cdev; /* -1 when no cdev */
	char group_node[64], cdev_node[64];
	char *group_syspath, *cdev_syspath;

	DwClient *group_owner;  /* client that opened the group */
	DwClient *device_owner; /* client through which the device is open */
	uint8_t queue[DW_QUEUE_DEPTH][ZPCI_CCDF_ERR_SIZE];
	unsigned head, count;
	int err_efd, req_efd; /* duplicates in this process, -1 when none */
	DevworldStats stats;
	GString *oplog;

	pid_t holder_pid;
	int holder_pipe; /* write end; closing it ends the holder */
};

struct Devworld {
	UMockdevTestbed *tb;
	UMockdevIoctlBase *handler;
	char *root;
	GMutex lock;
	GCond cond;
	GHashTable *fns;     /* fid -> DwFn */
	GHashTable *clients; /* UMockdevIoctlClient* -> DwClient */
	GHashTable *nodes;   /* devnode -> DwFn (group and cdev nodes) */
	unsigned next_group, next_cdev;
	uint32_t next_domain;
	bool misc_nodes;

	int kmsg_fd;
	uint64_t kmsg_seq;
	bool kmsg_on_error;

	pid_t daemon_pid;
	int daemon_out;
	GThread *reader;
	GString *log;
	bool daemon_exited;
	int tee_fd;
	char *daemon_dir;
	char *state_dir;
};

/* What a kind fills in (devworld-sysfs.c). */
typedef struct DwKindInfo {
	const char *name;
	uint8_t pft;
	uint16_t vendor, device;
	uint32_t class_code;
	const char *driver;
} DwKindInfo;

extern const DwKindInfo dw_kinds[_DEVWORLD_KIND_MAX];

/* devworld.c */

/* Append one line to the function's operation log (lock held). */
void dw_fn_log(DwFn *fn, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* The function with @fid, or NULL. */
DwFn *dw_fn_get(Devworld *w, uint32_t fid);

/* Frees a function (the destroy function of w->fns). */
void dw_fn_free(gpointer p);

/* Replace a file's content. Returns 0, -ENOENT or -EIO. */
int dw_write_file(const char *path, const char *text);

/* Path inside the testbed of an absolute /sys or /dev path. Newly allocated. */
char *dw_tb_path(Devworld *w, const char *path);

/* Signal an eventfd of this process (nothing when @efd < 0). */
void dw_signal_efd(int efd);

/* Wait under the lock until @pred holds for @fn. Returns 0 or -ETIMEDOUT. */
int dw_wait_cond(Devworld *w, DwFn *fn, bool (*pred)(DwFn *, const void *), const void *arg,
		 unsigned timeout_ms);

/* devworld-kmsg.c */

/* Create the testbed's /dev/kmsg FIFO and keep it open. Returns 0 or -errno. */
int dw_kmsg_open(Devworld *w);

/* Append one record at syslog @level (lock held). Returns 0 or -errno. */
int dw_kmsg_write_locked(Devworld *w, int level, const char *text);

/* devworld-vfio.c */

/* Create the ioctl handler of the world's vfio nodes (w->handler). */
void dw_vfio_init(Devworld *w);

/* Detach the handler from every node and forget the clients (world teardown). */
void dw_vfio_done(Devworld *w);

/* Create the group node (and the cdev unless no_cdev) of a function bound
 * to vfio-pci. Returns 0 or -EIO. */
int dw_vfio_nodes_create(Devworld *w, DwFn *fn);

/* Close the device for its users and remove the function's vfio nodes. */
void dw_vfio_nodes_remove(Devworld *w, DwFn *fn);

/* devworld-holder.c */

/* End the function's stand-in VMM, if any, and reap it. */
void dw_holder_stop(DwFn *fn);
