/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ownership on a real registry (real libudev on a umockdev test bed):
 * the mode decision as the binding and the policy change, claims that hold
 * across change uevents and reloads, Release(), a function that goes while
 * held; and, against a real dbus-daemon with the shipped bus policy, the
 * claimer or owner that leaves the bus — also one that left before its
 * call was served. The vfio device is a fake behind OwnershipDevice (the
 * real one is tested in test-vfio and the e2e tests).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "common/messages.h"
#include "daemon/ownership.h"
#include "daemon/registry.h"
#include "tests/private-bus.h"
#include "tests/test-util.h"

/* After the project headers: glib redefines MIN/MAX itself. */
#include <umockdev.h>

/* ---- a fake vfio device behind the OwnershipDevice seam ------------------ */

static struct {
	unsigned claims, releases, delegations;
	int claim_result; /* what the next claim returns when < 0 */
} dev;

static int sentinel_device;

static int fake_claim(ZpciFunction *f)
{
	if (f->vfio)
		return -EALREADY;
	if (dev.claim_result < 0)
		return dev.claim_result;
	dev.claims++;
	f->vfio = (struct VfioDevice *)&sentinel_device;
	f->mode = FUNCTION_MODE_OWN;
	return 0;
}

static void fake_release(ZpciFunction *f)
{
	if (!f->vfio)
		return;
	dev.releases++;
	f->vfio = NULL;
	f->mode = FUNCTION_MODE_OBSERVE;
}

static int fake_delegate(ZpciFunction *f, int fd)
{
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	if (f->vfio)
		return -EALREADY;
	dev.delegations++;
	f->vfio = (struct VfioDevice *)&sentinel_device;
	f->mode = FUNCTION_MODE_DELEGATED;
	return 0;
}

static const OwnershipDevice fake_device = {
	.claim = fake_claim,
	.release = fake_release,
	.delegate = fake_delegate,
};

/* ---- the bed: log, loop, test bed, registry, ownership, a policy ---------- */

typedef struct Bed {
	Log *log;
	struct event_base *event_base;
	UMockdevTestbed *tb;
	char *sys21, *sys11;
	Registry *registry;
	Ownership *ownership;
	uint32_t own_fid; /* the policy wants this function owned (0: none) */
} Bed;

static FunctionMode policy(void *userdata, ZpciFunction *f)
{
	Bed *b = userdata;

	return f->attrs.fid == b->own_fid ? FUNCTION_MODE_OWN : FUNCTION_MODE_OBSERVE;
}

static char *add_function(UMockdevTestbed *tb, const char *slot, const char *fid, const char *uid)
{
	return umockdev_testbed_add_device(
		tb, "pci", slot, NULL, "vendor", "0x1014", "device", "0x04ed", "class", "0x010802",
		"function_id", fid, "function_handle", "0x80000001\n", "pchid", "0x0100\n", "vfn",
		"0x0001\n", "pfgid", "0x01\n", "pft", "0x0f\n", "fidparm", "0x00\n", "port", "0\n", "uid",
		uid, "uid_is_unique", "1\n", "mio_enabled", "1\n", NULL, "PCI_SLOT_NAME", slot, NULL);
}

static void bind_vfio(Bed *b, const char *sys, const char *group)
{
	char link[64];

	(void)snprintf(link, sizeof(link), "../../../kernel/iommu_groups/%s", group);
	umockdev_testbed_set_attribute_link(b->tb, sys, "driver", "../../../bus/pci/drivers/vfio-pci");
	umockdev_testbed_set_attribute_link(b->tb, sys, "iommu_group", link);
}

/* 0x21 bound to vfio-pci (group 7), 0x11 to vfio-pci (group 8); the policy
 * wants @own_fid owned. */
static Bed *bed_new(uint32_t own_fid)
{
	Bed *b = calloc(1, sizeof(*b));

	ck_assert_ptr_nonnull(b);
	memset(&dev, 0, sizeof(dev));
	ck_assert_int_eq(log_new(&b->log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	b->event_base = event_base_new();
	ck_assert_ptr_nonnull(b->event_base);
	b->own_fid = own_fid;
	b->tb = umockdev_testbed_new();
	b->sys21 = add_function(b->tb, "0001:00:00.0", "0x00000021\n", "0x1\n");
	b->sys11 = add_function(b->tb, "0002:00:00.0", "0x00000011\n", "0x2\n");
	bind_vfio(b, b->sys21, "7");
	bind_vfio(b, b->sys11, "8");

	ck_assert_int_eq(registry_new(&b->registry, &(RegistryOptions){ .log = b->log,
									.event_base = b->event_base,
									.proc_root = "/nonexistent" }),
			 0);
	ck_assert_int_eq(ownership_new(&b->ownership, &(OwnershipOptions){ .log = b->log,
									   .registry = b->registry,
									   .choose_mode = policy,
									   .userdata = b,
									   .device = &fake_device }),
			 0);
	ck_assert_int_eq(registry_start(b->registry), 0);
	return b;
}

static void bed_free(Bed *b)
{
	b->ownership = ownership_free(b->ownership);
	b->registry = registry_free(b->registry);
	event_base_free(b->event_base);
	log_free(b->log);
	g_free(b->sys21);
	g_free(b->sys11);
	g_object_unref(b->tb);
	free(b);
}

static ZpciFunction *fn(Bed *b, uint32_t fid)
{
	ZpciFunction *f = registry_get_by_fid(b->registry, fid);

	ck_assert_ptr_nonnull(f);
	return f;
}

/* Send uevent @action of @sys and run the loop until the registry has
 * processed it: its hooks count the binding reads. */
typedef struct Seen {
	unsigned bindings, settled;
} Seen;

static bool seen_binding(void *userdata, ZpciFunction *f)
{
	((Seen *)userdata)->bindings++;
	return false;
}

static void seen_settled(void *userdata)
{
	((Seen *)userdata)->settled++;
}

static const RegistryHooks seen_hooks = { .binding_read = seen_binding, .settled = seen_settled };

static void uevent(Bed *b, const char *sys, const char *action)
{
	Seen seen = {};

	ck_assert_int_eq(registry_add_hooks(b->registry, &seen_hooks, &seen), 0);
	umockdev_testbed_uevent(b->tb, sys, action);
	for (int i = 0; i < 3000 && seen.settled == 0; i++) {
		(void)event_base_loop(b->event_base, EVLOOP_NONBLOCK);
		if (seen.settled == 0)
			usleep(10000);
	}
	ck_assert_uint_gt(seen.settled, 0);
	ck_assert_uint_gt(seen.bindings, 0);
	ck_assert_int_eq(registry_remove_hooks(b->registry, &seen_hooks, &seen), 0);
}

/* What a reload does: every function's mode decided again. */
static void reload(Bed *b, uint32_t own_fid)
{
	ZpciFunction *f;

	b->own_fid = own_fid;
	REGISTRY_FOREACH (f, b->registry)
		ck_assert_int_eq(registry_refresh(b->registry, f), 0);
}

/* ---- the mode decision ---------------------------------------------------- */

START_TEST(test_ownership_mode)
{
	Bed *b = bed_new(0x21);
	ZpciFunction *f;

	/* at start-up: the policy's choice, for a function bound to vfio-pci */
	f = fn(b, 0x21);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	ck_assert_ptr_nonnull(f->vfio);
	ck_assert_int_eq(fn(b, 0x11)->mode, FUNCTION_MODE_OBSERVE);
	ck_assert_uint_eq(dev.claims, 1);
	ck_assert_uint_eq(
		test_count_records(b->log, MESSAGE_ID_FUNCTION_MODE_CHANGED, "ZPCI_FID", "0x00000021"), 1);
	ck_assert(!ownership_is_claimed(b->ownership, f));

	/* a change uevent keeps it; a reload that no longer wants it releases it */
	uevent(b, b->sys21, "change");
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	ck_assert_uint_eq(dev.claims, 1);
	reload(b, 0x11);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OBSERVE);
	ck_assert_uint_eq(dev.releases, 1);
	ck_assert_int_eq(fn(b, 0x11)->mode, FUNCTION_MODE_OWN);
	ck_assert_uint_eq(dev.claims, 2);

	/* unbound from vfio-pci: released, whatever the policy says */
	{
		char *root = umockdev_testbed_get_root_dir(b->tb), path[512];

		(void)snprintf(path, sizeof(path), "%s%s/driver", root, b->sys11);
		g_free(root);
		ck_assert_int_eq(unlink(path), 0);
	}
	uevent(b, b->sys11, "unbind");
	ck_assert_int_eq(fn(b, 0x11)->mode, FUNCTION_MODE_OBSERVE);
	ck_assert_uint_eq(dev.releases, 2);

	/* a device that cannot be taken: observed, and said why */
	dev.claim_result = -EBUSY;
	reload(b, 0x21);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OBSERVE);
	ck_assert_uint_eq(
		test_count_records(b->log, MESSAGE_ID_FUNCTION_CLAIM_REFUSED, "ZPCI_FID", "0x00000021"), 1);
	dev.claim_result = 0;
	reload(b, 0x21);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);

	/* freed: nothing stays open */
	bed_free(b);
	ck_assert_uint_eq(dev.claims, dev.releases);
}
END_TEST

/* ---- Claim(), Release() --------------------------------------------------- */

START_TEST(test_ownership_claim)
{
	Bed *b = bed_new(0);
	ZpciFunction *f = fn(b, 0x21);

	ck_assert_int_eq(f->mode, FUNCTION_MODE_OBSERVE);
	ck_assert_int_eq(ownership_release(b->ownership, f), -ENOENT);

	/* a claim refused by the device leaves nothing behind */
	dev.claim_result = -EBUSY;
	ck_assert_int_eq(ownership_claim(b->ownership, f, NULL, NULL), -EBUSY);
	ck_assert(!ownership_is_claimed(b->ownership, f));
	dev.claim_result = 0;

	ck_assert_int_eq(ownership_claim(b->ownership, f, NULL, NULL), 0);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	ck_assert(ownership_is_claimed(b->ownership, f));
	ck_assert_int_eq(ownership_claim(b->ownership, f, NULL, NULL), -EALREADY);

	/* it holds across change uevents and reloads that want it observed */
	uevent(b, b->sys21, "change");
	reload(b, 0);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	ck_assert_uint_eq(dev.claims, 1);
	ck_assert_uint_eq(dev.releases, 0);

	/* the device taken back behind zpcid's back (the kernel asked for it):
	 * the claim still stands, the next look takes it again */
	fake_release(f);
	uevent(b, b->sys21, "change");
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	ck_assert_uint_eq(dev.claims, 2);

	/* Release(): the policy decides again (observe) */
	ck_assert_int_eq(ownership_release(b->ownership, f), 0);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OBSERVE);
	ck_assert(!ownership_is_claimed(b->ownership, f));
	uevent(b, b->sys21, "change");
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OBSERVE);

	/* Release() of a function the policy owns: owned again at once */
	reload(b, 0x21);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	ck_assert_int_eq(ownership_release(b->ownership, f), 0);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	reload(b, 0);

	/* claimed, then gone: released and the claim ends with it */
	ck_assert_int_eq(ownership_claim(b->ownership, f, NULL, NULL), 0);
	{
		unsigned before = dev.releases;

		umockdev_testbed_uevent(b->tb, b->sys21, "remove");
		umockdev_testbed_remove_device(b->tb, b->sys21);
		for (int i = 0; i < 3000 && registry_get_by_fid(b->registry, 0x21); i++) {
			(void)event_base_loop(b->event_base, EVLOOP_NONBLOCK);
			usleep(10000);
		}
		ck_assert_ptr_null(registry_get_by_fid(b->registry, 0x21));
		ck_assert_uint_eq(dev.releases, before + 1);
	}
	bed_free(b);
	ck_assert_uint_eq(dev.claims, dev.releases);
}
END_TEST

/* ---- delegation ----------------------------------------------------------- */

START_TEST(test_ownership_delegate)
{
	Bed *b = bed_new(0);
	ZpciFunction *f = fn(b, 0x21);

	ck_assert_int_eq(
		ownership_delegate(b->ownership, f, open("/dev/null", O_RDONLY | O_CLOEXEC), NULL, NULL), 0);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_DELEGATED);
	ck_assert(!ownership_is_claimed(b->ownership, f));
	/* its owner's business: uevents, reloads and Claim() leave it alone */
	uevent(b, b->sys21, "change");
	reload(b, 0x21);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_DELEGATED);
	ck_assert_int_eq(ownership_claim(b->ownership, f, NULL, NULL), -EALREADY);
	ck_assert_int_eq(
		ownership_delegate(b->ownership, f, open("/dev/null", O_RDONLY | O_CLOEXEC), NULL, NULL),
		-EALREADY);
	ck_assert_uint_eq(dev.claims, 0);
	/* Release(): the policy decides again (own) */
	ck_assert_int_eq(ownership_release(b->ownership, f), 0);
	ck_assert_int_eq(f->mode, FUNCTION_MODE_OWN);
	ck_assert_uint_eq(dev.claims, 1);
	bed_free(b);
	ck_assert_uint_eq(dev.claims + dev.delegations, dev.releases);
}
END_TEST

/* ---- against a real dbus-daemon with the shipped policy ------------------- */

static bool has_message(Log *log, const char *text)
{
	for (size_t i = 0; i < log_memory_count(log); i++)
		if (strstr(log_memory_get(log, i)->message, text))
			return true;
	return false;
}

/* The daemon side: org.zpcid1.Manager's Delegate and a Claim on the one
 * function, served through the ownership as bus-manager.c and
 * bus-function.c do. */
typedef struct Server {
	Bed *bed;
	unsigned calls;
	int last_result;
	/* Before serving the next call, close this caller's connection and
	 * wait until the bus (asked through @watcher) has seen it leave: the
	 * call was sent, its sender is gone before it is served. */
	sd_bus *leaving, *watcher;
} Server;

static void caller_leaves(Server *s, sd_bus_message *m)
{
	const char *sender = sd_bus_message_get_sender(m);
	struct timespec start, now;

	if (!s->leaving)
		return;
	s->leaving = sd_bus_flush_close_unref(s->leaving);
	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		int r = sd_bus_call_method(s->watcher, "org.freedesktop.DBus", "/org/freedesktop/DBus",
					   "org.freedesktop.DBus", "GetNameOwner", &e, NULL, "s", sender);
		bool gone = r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.NameHasNoOwner");

		sd_bus_error_free(&e);
		if (gone)
			return;
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		ck_assert_msg(now.tv_sec - start.tv_sec < 30, "the bus did not see %s leave", sender);
		usleep(10000);
	}
}

static int method_delegate(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Server *s = userdata;
	int fd, copy, r;

	s->calls++;
	caller_leaves(s, m);
	r = sd_bus_message_read(m, "h", &fd);
	if (r < 0)
		return r;
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return -errno;
	r = ownership_delegate(s->bed->ownership, fn(s->bed, 0x21), copy, sd_bus_message_get_bus(m),
			       sd_bus_message_get_sender(m));
	s->last_result = r;
	if (r < 0)
		return sd_bus_error_set_errno(error, r);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Server *s = userdata;
	int r;

	s->calls++;
	caller_leaves(s, m);
	r = ownership_claim(s->bed->ownership, fn(s->bed, 0x21), sd_bus_message_get_bus(m),
			    sd_bus_message_get_sender(m));
	s->last_result = r;
	if (r < 0)
		return sd_bus_error_set_errno(error, r);
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable server_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Delegate", "h", "", method_delegate, 0),
	SD_BUS_METHOD("Claim", "", "", method_claim, 0),
	SD_BUS_VTABLE_END,
};

/* Process @bus until @done(@s) holds; fails after 30 s. */
#define pump_until(bus, done, b, s) pump_until_full(bus, done, #done, b, s)
static void pump_until_full(sd_bus *bus, bool (*done)(Bed *b, Server *s), const char *what, Bed *b,
			    Server *s)
{
	struct timespec start, now;

	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	while (!done(b, s)) {
		int r = sd_bus_process(bus, NULL);

		ck_assert_int_ge(r, 0);
		if (r == 0)
			(void)sd_bus_wait(bus, 100 * 1000);
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		ck_assert_msg(now.tv_sec - start.tv_sec < 30,
			      "not %s after 30 s (calls %u, result %d, mode %s)", what, s->calls,
			      s->last_result, function_mode_to_string(fn(b, 0x21)->mode));
	}
}

static bool delegated(Bed *b, Server *s)
{
	return fn(b, 0x21)->mode == FUNCTION_MODE_DELEGATED;
}

static bool observed(Bed *b, Server *s)
{
	return fn(b, 0x21)->mode == FUNCTION_MODE_OBSERVE && !fn(b, 0x21)->vfio;
}

static bool owned(Bed *b, Server *s)
{
	return fn(b, 0x21)->mode == FUNCTION_MODE_OWN;
}

static bool served(Bed *b, Server *s)
{
	return s->calls > 0;
}

/* The owner sends Delegate (with /dev/null for an fd) and does not wait
 * for the answer, so it may leave before it. */
static void send_delegate(sd_bus *owner)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(sd_bus_message_new_method_call(owner, &m, "org.zpcid1", "/org/zpcid1",
							"org.zpcid1.Manager", "Delegate"),
			 0);
	ck_assert_int_ge(sd_bus_message_append(m, "h", fd), 0);
	ck_assert_int_ge(sd_bus_send(owner, m, NULL), 0);
	ck_assert_int_ge(sd_bus_flush(owner), 0);
	(void)close(fd);
}

static void send_claim(sd_bus *claimer)
{
	ck_assert_int_ge(sd_bus_call_method_async(claimer, NULL, "org.zpcid1", "/org/zpcid1",
						  "org.zpcid1.Manager", "Claim", NULL, NULL, ""),
			 0);
	ck_assert_int_ge(sd_bus_flush(claimer), 0);
}

START_TEST(test_ownership_bus)
{
	PrivateBus pb = {};
	Bed *b = bed_new(0);
	Server s = { .bed = b };
	sd_bus *server, *peer;

	private_bus_start(&pb);
	server = private_bus_connect(&pb);
	s.watcher = private_bus_connect(&pb);
	/* root may own org.zpcid1 and call it under the shipped policy */
	ck_assert_int_ge(sd_bus_request_name(server, "org.zpcid1", 0), 0);
	ck_assert_int_ge(sd_bus_add_object_vtable(server, NULL, "/org/zpcid1", "org.zpcid1.Manager",
						  server_vtable, &s),
			 0);

	/* 1. delegated while the owner is there; released when it leaves */
	peer = private_bus_connect(&pb);
	send_delegate(peer);
	pump_until(server, delegated, b, &s);
	ck_assert_int_eq(s.last_result, 0);
	ck_assert_uint_eq(dev.delegations, 1);
	peer = sd_bus_flush_close_unref(peer);
	pump_until(server, observed, b, &s);
	ck_assert_uint_eq(dev.releases, 1);
	ck_assert(has_message(b->log, "its owner :"));
	ck_assert(has_message(b->log, "left the bus, releasing the delegated device"));

	/* 2. the owner leaves after sending Delegate, before it is served:
	 * the device is never taken (it used to stay delegated for good) */
	s.calls = 0;
	peer = private_bus_connect(&pb);
	send_delegate(peer);
	s.leaving = TAKE_PTR(peer);
	pump_until(server, served, b, &s);
	ck_assert_ptr_null(s.leaving);
	ck_assert_int_eq(s.last_result, -ESRCH);
	ck_assert_int_eq(fn(b, 0x21)->mode, FUNCTION_MODE_OBSERVE);
	ck_assert_ptr_null(fn(b, 0x21)->vfio);
	ck_assert_uint_eq(dev.delegations, 1);

	/* 3. a claimer that leaves ends its claim */
	s.calls = 0;
	peer = private_bus_connect(&pb);
	send_claim(peer);
	pump_until(server, owned, b, &s);
	ck_assert(ownership_is_claimed(b->ownership, fn(b, 0x21)));
	peer = sd_bus_flush_close_unref(peer);
	pump_until(server, observed, b, &s);
	ck_assert(!ownership_is_claimed(b->ownership, fn(b, 0x21)));
	ck_assert(has_message(b->log, "its claimer left the bus, ending the claim"));

	/* 4. one that left before its Claim is served claims nothing */
	s.calls = 0;
	peer = private_bus_connect(&pb);
	send_claim(peer);
	s.leaving = TAKE_PTR(peer);
	pump_until(server, served, b, &s);
	ck_assert_ptr_null(s.leaving);
	ck_assert_int_eq(s.last_result, -ESRCH);
	ck_assert_int_eq(fn(b, 0x21)->mode, FUNCTION_MODE_OBSERVE);
	ck_assert(!ownership_is_claimed(b->ownership, fn(b, 0x21)));

	server = sd_bus_flush_close_unref(server);
	s.watcher = sd_bus_flush_close_unref(s.watcher);
	bed_free(b);
	ck_assert_uint_eq(dev.claims + dev.delegations, dev.releases);
	private_bus_stop(&pb);
}
END_TEST

static Suite *suite(bool bus)
{
	Suite *s = suite_create("ownership");
	TCase *tc = tcase_create("ownership");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ownership_mode);
	tcase_add_test(tc, test_ownership_claim);
	tcase_add_test(tc, test_ownership_delegate);
	if (bus)
		tcase_add_test(tc, test_ownership_bus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "umockdev")) {
		printf("1..0 # SKIP needs umockdev-wrapper (LD_PRELOAD of libumockdev-preload)\n");
		return 77;
	}
	/* The shipped policy lets root own org.zpcid1 and call it. */
	if (geteuid() != 0 || system("command -v dbus-daemon >/dev/null") != 0) {
		printf("1..0 # SKIP needs root and dbus-daemon (a private bus with the shipped policy)\n");
		return 77;
	}
	sr = srunner_create(suite(true));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
