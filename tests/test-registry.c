/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registry alone against real libudev on a umockdev test bed:
 * enumeration, hotplug, bind/unbind with the holder found in a fake procfs,
 * handle changes, the uevents and drops its hooks hear of, malformed
 * attributes and removal; and its subscriber list.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <libudev.h>

#include "common/messages.h"
#include "daemon/registry.h"
#include "tests/test-util.h"

/* After the project headers: glib redefines MIN/MAX itself. */
#include <umockdev.h>

static char proc_root[] = "/tmp/zpcid-test-registry-XXXXXX";

typedef struct Changes {
	unsigned added, changed, removed;
	uint32_t last_fid;
} Changes;

static void on_change(Registry *r, RegistryChange change, ZpciFunction *f, void *userdata)
{
	Changes *c = userdata;

	if (change == REGISTRY_FUNCTION_ADDED)
		c->added++;
	else if (change == REGISTRY_FUNCTION_CHANGED)
		c->changed++;
	else
		c->removed++;
	c->last_fid = f->attrs.fid;
}

/* What a registry runs on: a log to read its records from and a loop. */
typedef struct Bed {
	Log *log;
	struct event_base *event_base;
	Registry *registry;
} Bed;

static Bed *new_bed(void)
{
	Bed *m = calloc(1, sizeof(*m));

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(log_new(&m->log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	m->event_base = event_base_new();
	ck_assert_ptr_nonnull(m->event_base);
	return m;
}

static int new_registry(Bed *m, const char *proc)
{
	return registry_new(
		&m->registry,
		&(RegistryOptions){ .log = m->log, .event_base = m->event_base, .proc_root = proc });
}

static void bed_free(Bed *m)
{
	m->registry = registry_free(m->registry);
	event_base_free(m->event_base);
	log_free(m->log);
	free(m);
}

/* What the hooks heard. */
typedef struct Heard {
	unsigned uevents, recovery, dropped_gone, dropped_quiet, bindings, unbound, settled;
	uint32_t last_dropped_fid;
	char last_error_event[64];
} Heard;

static void hook_uevent(void *userdata, ZpciFunction *f, const char *action, struct udev_device *d)
{
	Heard *h = userdata;
	const char *e = udev_device_get_property_value(d, "ERROR_EVENT");

	h->uevents++;
	if (streq(action, "change") && e) {
		h->recovery++;
		(void)snprintf(h->last_error_event, sizeof(h->last_error_event), "%s", e);
	}
}

static void hook_dropping(void *userdata, ZpciFunction *f, bool gone)
{
	Heard *h = userdata;

	h->last_dropped_fid = f->attrs.fid;
	if (gone)
		h->dropped_gone++;
	else
		h->dropped_quiet++;
}

static bool hook_binding(void *userdata, ZpciFunction *f)
{
	((Heard *)userdata)->bindings++;
	return false;
}

static void hook_unbound(void *userdata, ZpciFunction *f)
{
	((Heard *)userdata)->unbound++;
}

static void hook_settled(void *userdata)
{
	((Heard *)userdata)->settled++;
}

static const RegistryHooks test_hooks = {
	.binding_read = hook_binding,
	.unbound = hook_unbound,
	.dropping = hook_dropping,
	.uevent = hook_uevent,
	.settled = hook_settled,
};

static size_t count_records(Bed *m, const char *message_id, const char *key, const char *value)
{
	return test_count_records(m->log, message_id, key, value);
}

/* Position of the first record whose message contains @text, or -1. */
static ssize_t find_message(Bed *m, const char *text)
{
	for (size_t i = 0; i < log_memory_count(m->log); i++)
		if (strstr(log_memory_get(m->log, i)->message, text))
			return (ssize_t)i;
	return -1;
}

/* Run the loop until @counter moves past @before (or give up after 30 s). */
static void wait_for(Bed *m, const unsigned *counter, unsigned before)
{
	for (int i = 0; i < 3000 && *counter == before; i++) {
		(void)event_base_loop(m->event_base, EVLOOP_NONBLOCK);
		if (*counter == before)
			usleep(10000);
	}
	ck_assert_uint_gt(*counter, before);
}

/* Let the loop see whatever is pending (events that must cause nothing). */
static void settle(Bed *m)
{
	for (int i = 0; i < 20; i++) {
		(void)event_base_loop(m->event_base, EVLOOP_NONBLOCK);
		usleep(5000);
	}
}

static char *add_function(UMockdevTestbed *tb, const char *slot, const char *fid, const char *uid,
			  const char *pchid)
{
	return umockdev_testbed_add_device(
		tb, "pci", slot, NULL,
		/* attributes */
		"vendor", "0x15b3", "device", "0x101e", "subsystem_vendor", "0x15b3", "subsystem_device",
		"0x0002", "class", "0x020000", "function_id", fid, "function_handle", "0x80000001\n",
		"pchid", pchid, "vfn", "0x0001\n", "pfgid", "0x01\n", "pft", "0x0a\n", "fidparm", "0x00\n",
		"port", "1\n", "uid", uid, "uid_is_unique", "1\n", "mio_enabled", "1\n", NULL,
		/* properties */
		"PCI_SLOT_NAME", slot, NULL);
}

static void make_holder(const char *pid, const char *comm, const char *target)
{
	char path[256];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", proc_root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/fd", proc_root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/fd/9", proc_root, pid);
	ck_assert_int_eq(symlink(target, path), 0);
	(void)snprintf(path, sizeof(path), "%s/%s/comm", proc_root, pid);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", comm);
	fclose(f);
}

/* @f's syspath is what libudev says for the PCI device @slot. */
static void check_syspath(const ZpciFunction *f, const char *slot)
{
	struct udev *udev = udev_new();
	struct udev_device *d;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(udev);
	d = udev_device_new_from_subsystem_sysname(udev, "pci", slot);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(f->syspath);
	ck_assert_str_eq(f->syspath, udev_device_get_syspath(d));
	ck_assert_ptr_eq(strstr(f->syspath, "/sys/devices/"), f->syspath);
	udev_device_unref(d);
	udev_unref(udev);
}

START_TEST(test_registry_lifecycle)
{
	UMockdevTestbed *tb;
	Bed *m;
	Registry *r = NULL;
	Heard heard = {};
	Changes c = {};
	ZpciFunction *f;
	char *sys1, *sys2, *sys3, *sys4, *other, path[512];

	strcpy(proc_root, "/tmp/zpcid-test-registry-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(proc_root));

	tb = umockdev_testbed_new();
	sys1 = add_function(tb, "0001:00:00.0", "0x00000021\n", "0x1\n", "0x0100\n");
	sys2 = add_function(tb, "0002:00:00.0", "0x00000011\n", "0x2\n", "0x0104\n");
	other = umockdev_testbed_add_device(tb, "pci", "0000:00:1f.0", NULL, "vendor", "0x8086", "device",
					    "0x2922", NULL, NULL);

	m = new_bed();
	ck_assert_int_eq(new_registry(m, proc_root), 0);
	r = m->registry;
	ck_assert_int_eq(registry_add_hooks(r, &test_hooks, &heard), 0);
	ck_assert_int_eq(registry_subscribe(r, on_change, &c), 0);
	ck_assert_int_eq(registry_start(r), 0);

	/* enumeration: two zPCI functions, in FID order; the other device is ignored */
	ck_assert_uint_eq(registry_count(r), 2);
	ck_assert_uint_eq(c.added, 2);
	ck_assert_uint_eq(registry_get_nth(r, 0)->attrs.fid, 0x11);
	ck_assert_uint_eq(registry_get_nth(r, 1)->attrs.fid, 0x21);
	ck_assert_ptr_null(registry_get_nth(r, 2));
	f = registry_get_by_fid(r, 0x21);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->attrs.slot, "0001:00:00.0");
	ck_assert_ptr_eq(registry_get_by_slot(r, "0001:00:00.0"), f);
	ck_assert_ptr_eq(registry_get_by_uid(r, 0x1), f);
	ck_assert_ptr_null(registry_get_by_slot(r, "0000:00:1f.0"));
	ck_assert_ptr_null(registry_get_by_fid(r, 0x99));
	ck_assert_uint_eq(f->attrs.pchid, 0x100);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OBSERVE);
	/* the functions found at start-up are announced on the loop, after
	 * start-up: none before it runs, each once after */
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_APPEARED, NULL, NULL), 0);
	ck_assert_int_eq(find_message(m, "Found 2 zPCI function(s)"), -1);
	/* nor were the names looked up: the PCI ID database is not loaded yet */
	ck_assert(!f->names_known);
	(void)event_base_loop(m->event_base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_APPEARED, NULL, NULL), 2);
	/* the record names the function as the PCI ID database does */
	ck_assert(f->names_known);
	if (access("/usr/share/misc/pci.ids", R_OK) == 0) {
		ck_assert_str_eq(f->vendor_name, "Mellanox Technologies");
		ck_assert_int_ge(
			find_message(m, "Function 0x00000021 at 0001:00:00.0 Mellanox Technologies "), 0);
	} else
		printf("no /usr/share/misc/pci.ids: the names are not checked\n");
	/* the summary follows them */
	ck_assert_int_eq(find_message(m, "Found 2 zPCI function(s): 0 bound to vfio, 0 held by a process."),
			 (ssize_t)log_memory_count(m->log) - 1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_APPEARED, "ZPCI_FID", "0x00000021"), 1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_APPEARED, "ZPCI_PCHID", "0x0100"), 1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_APPEARED, "PCI_SLOT_NAME", "0002:00:00.0"),
			  1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_NO_FUNCTIONS, NULL, NULL), 0);
	/* enumeration builds its syspaths itself: they are the ones libudev reports */
	check_syspath(registry_get_by_fid(r, 0x21), "0001:00:00.0");
	check_syspath(registry_get_by_fid(r, 0x11), "0002:00:00.0");

	/* hotplug of a third function */
	sys3 = add_function(tb, "0003:00:00.0", "0x00000031\n", "0x3\n", "0x0108\n");
	umockdev_testbed_uevent(tb, sys3, "add");
	wait_for(m, &c.added, 2);
	ck_assert_uint_eq(registry_count(r), 3);
	ck_assert_ptr_nonnull(registry_get_by_fid(r, 0x31));

	/* bind to vfio-pci while a process holds group 7 */
	{
		/* the holder has the test bed's group node open: the registry
		 * finds it by what the fd is, not by its path */
		char *root = umockdev_testbed_get_root_dir(tb), node[512];
		FILE *n;

		(void)snprintf(node, sizeof(node), "%s/dev", root);
		(void)mkdir(node, 0755);
		(void)snprintf(node, sizeof(node), "%s/dev/vfio", root);
		(void)mkdir(node, 0755);
		(void)snprintf(node, sizeof(node), "%s/dev/vfio/7", root);
		n = fopen(node, "we");
		ck_assert_ptr_nonnull(n);
		fclose(n);
		g_free(root);
		make_holder("4242", "qemu-system-s390x", node);
		/* one that holds a node of another root named the same is not it */
		(void)snprintf(node, sizeof(node), "%s/dev-of-another-bed", proc_root);
		ck_assert_int_eq(mkdir(node, 0755), 0);
		(void)snprintf(node, sizeof(node), "%s/dev-of-another-bed/vfio", proc_root);
		ck_assert_int_eq(mkdir(node, 0755), 0);
		(void)snprintf(node, sizeof(node), "%s/dev-of-another-bed/vfio/7", proc_root);
		n = fopen(node, "we");
		ck_assert_ptr_nonnull(n);
		fclose(n);
		make_holder("17", "other-vmm", node);
	}
	umockdev_testbed_set_attribute_link(tb, sys1, "driver", "../../../bus/pci/drivers/vfio-pci");
	umockdev_testbed_set_attribute_link(tb, sys1, "iommu_group", "../../../kernel/iommu_groups/7");
	umockdev_testbed_uevent(tb, sys1, "bind");
	wait_for(m, &c.changed, 0);
	f = registry_get_by_fid(r, 0x21);
	ck_assert_str_eq(f->driver, "vfio-pci");
	ck_assert_int_eq(f->iommu_group, 7);
	ck_assert_int_eq(f->owner_pid, 4242);
	ck_assert_str_eq(f->owner_comm, "qemu-system-s39");
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_BINDING_CHANGED, "ZPCI_OWNER_PID", "4242"),
			  1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_BINDING_CHANGED, "ZPCI_DRIVER", "vfio-pci"),
			  1);

	/* the holder scanned again (its nodes were opened or closed): only the
	 * holder is read, a change logged and announced once */
	{
		unsigned before = c.changed;
		char holder[512], node[512], *root = umockdev_testbed_get_root_dir(tb);
		ZpciFunction *stranger;
		ZpciAttrs a = { .fid = 0x21 };

		ck_assert_int_eq(registry_refresh_holder(r, f), 0);
		ck_assert_uint_eq(c.changed, before);
		/* the holder leaves */
		(void)snprintf(holder, sizeof(holder), "%s/4242", proc_root);
		test_rm_rf(holder);
		ck_assert_int_eq(registry_refresh_holder(r, f), 1);
		ck_assert_int_eq(f->owner_pid, 0);
		ck_assert_str_eq(f->owner_comm, "");
		ck_assert_uint_eq(c.changed, before + 1);
		ck_assert_int_ge(
			find_message(m,
				     "Function 0x00000021 (0001:00:00.0): driver vfio-pci, no longer held."),
			0);
		/* another comes */
		(void)snprintf(node, sizeof(node), "%s/dev/vfio/7", root);
		g_free(root);
		make_holder("4343", "qemu-new", node);
		ck_assert_int_eq(registry_refresh_holder(r, f), 1);
		ck_assert_int_eq(f->owner_pid, 4343);
		ck_assert_str_eq(f->owner_comm, "qemu-new");
		ck_assert_uint_eq(c.changed, before + 2);
		ck_assert_uint_eq(
			count_records(m, MESSAGE_ID_FUNCTION_BINDING_CHANGED, "ZPCI_OWNER_PID", "4343"), 1);
		ck_assert_int_ge(find_message(m, "Function 0x00000021 (0001:00:00.0): driver vfio-pci, held "
						 "by qemu-new (pid 4343)."),
				 0);
		ck_assert_int_eq(registry_refresh_holder(r, f), 0);
		ck_assert_str_eq(f->driver, "vfio-pci");
		ck_assert_int_eq(f->mode, FUNCTION_MODE_OBSERVE);
		/* a function the registry does not know */
		ck_assert_int_eq(function_new(&stranger, NULL, &a, NULL), 0);
		ck_assert_int_eq(registry_refresh_holder(r, stranger), -ENOENT);
		function_unref(stranger);
	}

	/* a recovery uevent reaches the hooks with its properties, as a change
	 * of the known function (daemon/recovery-uevent.c makes it an event) */
	umockdev_testbed_set_property(tb, sys1, "ERROR_EVENT", "BEGIN_RECOVERY");
	umockdev_testbed_set_property(tb, sys1, "DEVICE_ONLINE", "0");
	{
		unsigned before = heard.recovery, settled = heard.settled;

		umockdev_testbed_uevent(tb, sys1, "change");
		wait_for(m, &heard.recovery, before);
		ck_assert_uint_eq(heard.recovery, before + 1);
		ck_assert_str_eq(heard.last_error_event, "BEGIN_RECOVERY");
		ck_assert_uint_gt(heard.settled, settled);
	}

	/* a new function handle is followed */
	umockdev_testbed_set_attribute(tb, sys2, "function_handle", "0x80000099\n");
	{
		unsigned before = c.changed;

		umockdev_testbed_uevent(tb, sys2, "change");
		wait_for(m, &c.changed, before);
	}
	ck_assert_uint_eq(registry_get_by_fid(r, 0x11)->attrs.fh, 0x80000099);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_HANDLE_CHANGED, "ZPCI_FH", "0x80000099"), 1);

	/* unbind: the driver link goes; the holder is no longer looked up */
	{
		char *root = umockdev_testbed_get_root_dir(tb);

		(void)snprintf(path, sizeof(path), "%s%s/driver", root, sys1);
		g_free(root);
	}
	ck_assert_int_eq(unlink(path), 0);
	{
		unsigned before = c.changed;

		umockdev_testbed_uevent(tb, sys1, "unbind");
		wait_for(m, &c.changed, before);
	}
	f = registry_get_by_fid(r, 0x21);
	ck_assert_str_eq(f->driver, "");
	ck_assert_int_eq(f->owner_pid, 0);
	ck_assert_uint_eq(heard.unbound, 1); /* it had a driver */
	ck_assert_int_eq(f->state, FUNCTION_STATE_QUARANTINED);

	/* a malformed attribute is reported once, however often it is read */
	umockdev_testbed_set_attribute(tb, sys2, "pchid", "0xZZ\n");
	{
		unsigned before = c.changed;

		umockdev_testbed_uevent(tb, sys2, "change");
		wait_for(m, &c.changed, before);
		umockdev_testbed_uevent(tb, sys2, "change");
		settle(m);
	}
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_ATTR_INVALID, "ZPCID_ATTRIBUTE", "pchid"), 1);
	ck_assert(!(registry_get_by_fid(r, 0x11)->attrs.has & ZPCI_ATTR_HAS_PCHID));

	/* removal */
	umockdev_testbed_uevent(tb, sys3, "remove");
	umockdev_testbed_remove_device(tb, sys3);
	wait_for(m, &c.removed, 0);
	ck_assert_uint_eq(registry_count(r), 2);
	ck_assert_ptr_null(registry_get_by_fid(r, 0x31));
	ck_assert_ptr_null(registry_get_by_slot(r, "0003:00:00.0"));
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_REMOVED, "ZPCI_FID", "0x00000031"), 1);
	ck_assert_uint_eq(heard.dropped_gone, 1);
	ck_assert_uint_eq(heard.last_dropped_fid, 0x31);

	/* a function that is gone before its add event is read causes nothing */
	sys4 = add_function(tb, "0004:00:00.0", "0x00000041\n", "0x4\n", "0x010c\n");
	umockdev_testbed_uevent(tb, sys4, "add");
	umockdev_testbed_remove_device(tb, sys4);
	settle(m);
	ck_assert_ptr_null(registry_get_by_fid(r, 0x41));

	ck_assert_int_eq(registry_unsubscribe(r, on_change, &c), 0);
	ck_assert_int_eq(registry_unsubscribe(r, on_change, &c), -ENOENT);

	bed_free(m);
	g_free(sys1);
	g_free(sys2);
	g_free(sys3);
	g_free(sys4);
	g_free(other);
	g_object_unref(tb);
	test_rm_rf(proc_root);
}
END_TEST

START_TEST(test_registry_no_functions)
{
	UMockdevTestbed *tb = umockdev_testbed_new();
	char *other = umockdev_testbed_add_device(tb, "pci", "0000:00:02.0", NULL, "vendor", "0x8086",
						  "device", "0x1234", NULL, NULL);
	Bed *m = new_bed();

	ck_assert_int_eq(new_registry(m, NULL), 0);
	ck_assert_int_eq(registry_start(m->registry), 0);
	ck_assert_uint_eq(registry_count(m->registry), 0);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_NO_FUNCTIONS, NULL, NULL), 1);
	bed_free(m);
	g_free(other);
	g_object_unref(tb);
}
END_TEST

/* Lost uevents (ENOBUFS on the monitor): a full enumeration finds what
 * came and went unseen, and announces it. */
START_TEST(test_registry_resync)
{
	UMockdevTestbed *tb = umockdev_testbed_new();
	Changes c = {};
	Heard heard = {};
	Bed *m = new_bed();
	char *sys1, *sys2, *sys3;

	sys1 = add_function(tb, "0001:00:00.0", "0x00000021\n", "0x1\n", "0x0100\n");
	sys2 = add_function(tb, "0002:00:00.0", "0x00000011\n", "0x2\n", "0x0104\n");
	ck_assert_int_eq(new_registry(m, NULL), 0);
	ck_assert_int_eq(registry_subscribe(m->registry, on_change, &c), 0);
	ck_assert_int_eq(registry_add_hooks(m->registry, &test_hooks, &heard), 0);
	ck_assert_int_eq(registry_start(m->registry), 0);
	ck_assert_uint_eq(registry_count(m->registry), 2);
	ck_assert_uint_eq(heard.bindings, 2);

	/* Behind the monitor's back (no uevents): one comes, one goes. */
	sys3 = add_function(tb, "0003:00:00.0", "0x00000031\n", "0x3\n", "0x0108\n");
	umockdev_testbed_remove_device(tb, sys1);
	c = (Changes){};
	ck_assert_int_eq(registry_resync(m->registry), 0);
	ck_assert_uint_eq(registry_count(m->registry), 2);
	ck_assert_ptr_null(registry_get_by_fid(m->registry, 0x21));
	ck_assert_ptr_nonnull(registry_get_by_fid(m->registry, 0x11));
	ck_assert_ptr_nonnull(registry_get_by_fid(m->registry, 0x31));
	ck_assert_uint_eq(c.added, 1);
	ck_assert_uint_eq(c.removed, 1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_FUNCTION_REMOVED, "ZPCI_FID", "0x00000021"), 1);
	/* The hooks heard it went (the daemon forgets its policy state then). */
	ck_assert_uint_eq(heard.dropped_gone, 1);
	ck_assert_uint_eq(heard.last_dropped_fid, 0x21);

	/* Nothing changed: nothing announced. */
	c = (Changes){};
	ck_assert_int_eq(registry_resync(m->registry), 0);
	ck_assert_uint_eq(c.added + c.removed, 0);
	ck_assert_uint_eq(registry_count(m->registry), 2);
	ck_assert_uint_eq(heard.dropped_gone, 1);
	/* Freed: the two left are dropped without being announced. */
	bed_free(m);
	ck_assert_uint_eq(heard.dropped_quiet, 2);
	g_free(sys1);
	g_free(sys2);
	g_free(sys3);
	g_object_unref(tb);
}
END_TEST

START_TEST(test_registry_many)
{
	UMockdevTestbed *tb = umockdev_testbed_new();
	Bed *m = new_bed();
	struct timespec a, b;
	unsigned n = getenv("ZPCID_TEST_N") ? (unsigned)atoi(getenv("ZPCID_TEST_N")) : 512;

	for (unsigned i = 0; i < n; i++) {
		char slot[32], fid[32], uid[32];
		char *s;

		(void)snprintf(slot, sizeof(slot), "%04x:00:00.0", i + 1);
		(void)snprintf(fid, sizeof(fid), "0x%08x\n",
			       (i * 7919u) % 65536u + 1); /* not in address order */
		(void)snprintf(uid, sizeof(uid), "0x%x\n", i + 1);
		s = add_function(tb, slot, fid, uid, "0x0100\n");
		g_free(s);
	}
	log_set_max_level(m->log, LOG_NOTICE);
	(void)clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(new_registry(m, NULL), 0);
	ck_assert_int_eq(registry_start(m->registry), 0);
	(void)clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_uint_eq(registry_count(m->registry), n);
	for (size_t i = 1; i < n; i++)
		ck_assert_uint_lt(registry_get_nth(m->registry, i - 1)->attrs.fid,
				  registry_get_nth(m->registry, i)->attrs.fid);
	for (unsigned i = 0; i < n; i++) {
		char slot[32];

		(void)snprintf(slot, sizeof(slot), "%04x:00:00.0", i + 1);
		ck_assert_ptr_nonnull(registry_get_by_slot(m->registry, slot));
		ck_assert_ptr_nonnull(registry_get_by_uid(m->registry, i + 1));
	}
	fprintf(stderr, "# %u functions enumerated in %.3f s\n", n,
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	bed_free(m);
	g_object_unref(tb);
}
END_TEST

/* Subscribers that end their own or another's subscription while a change
 * is announced: everyone subscribed when it happened and not unsubscribed
 * before their turn hears of it, exactly once; nobody is skipped. */
typedef struct Sub {
	Registry *r;
	unsigned calls;
	struct Sub *drop; /* unsubscribe this one (may be itself) when called */
	struct Sub *add;  /* subscribe this one when called */
} Sub;

static void on_sub(Registry *r, RegistryChange change, ZpciFunction *f, void *userdata)
{
	Sub *s = userdata;

	s->calls++;
	if (s->drop) {
		ck_assert_int_eq(registry_unsubscribe(r, on_sub, s->drop), 0);
		s->drop = NULL;
	}
	if (s->add) {
		ck_assert_int_eq(registry_subscribe(r, on_sub, s->add), 0);
		s->add = NULL;
	}
}

START_TEST(test_registry_subscribers)
{
	Registry *r = NULL;
	Log *log = NULL;
	Sub a = {}, b = {}, c = {}, d = {}, late = {};
	ZpciFunction f = {};

	ck_assert_int_eq(registry_new(&r, NULL), -EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(log_new(&log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	ck_assert_int_eq(registry_new(&r, &(RegistryOptions){ .log = log }), 0);
	for (Sub *s = &a; s <= &d; s++)
		ck_assert_int_eq(registry_subscribe(r, on_sub, s), 0);
	/* a ends its own subscription, c ends d's and subscribes another */
	a.drop = &a;
	c.drop = &d;
	c.add = &late;
	registry_notify(r, REGISTRY_FUNCTION_CHANGED, &f);
	ck_assert_uint_eq(a.calls, 1);
	ck_assert_uint_eq(b.calls, 1); /* right after the one that left */
	ck_assert_uint_eq(c.calls, 1);
	ck_assert_uint_eq(d.calls, 0);    /* gone before its turn */
	ck_assert_uint_eq(late.calls, 0); /* came after the change */

	registry_notify(r, REGISTRY_FUNCTION_CHANGED, &f);
	ck_assert_uint_eq(a.calls, 1);
	ck_assert_uint_eq(b.calls, 2);
	ck_assert_uint_eq(c.calls, 2);
	ck_assert_uint_eq(d.calls, 0);
	ck_assert_uint_eq(late.calls, 1);
	ck_assert_int_eq(registry_unsubscribe(r, on_sub, &a), -ENOENT);
	ck_assert_int_eq(registry_unsubscribe(r, on_sub, &d), -ENOENT);
	ck_assert_int_eq(registry_unsubscribe(r, on_sub, &b), 0);
	ck_assert_int_eq(registry_unsubscribe(r, on_sub, &c), 0);
	ck_assert_int_eq(registry_unsubscribe(r, on_sub, &late), 0);
	registry_notify(r, REGISTRY_FUNCTION_CHANGED, &f);
	ck_assert_uint_eq(b.calls + c.calls + late.calls, 5);
	registry_free(r);
	log_free(log);
}
END_TEST

static Suite *suite(bool umockdev)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");
	TCase *ts = tcase_create("subscribers");

	tcase_add_test(ts, test_registry_subscribers);
	suite_add_tcase(s, ts);
	if (!umockdev) {
		printf("# no umockdev-wrapper (LD_PRELOAD of libumockdev-preload): only the "
		       "subscriber tests run\n");
		return s;
	}

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_registry_lifecycle);
	tcase_add_test(tc, test_registry_no_functions);
	tcase_add_test(tc, test_registry_many);
	tcase_add_test(tc, test_registry_resync);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(suite(getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "umockdev")));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
