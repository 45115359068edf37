/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus objects on their own: a Bus built from small real parts (a
 * registry on a umockdev test bed, the action runner's inhibitors, a default
 * configuration) on a real dbus-daemon with the shipped policy, called by a
 * client of its own and by an unprivileged process. No Manager: the bus gets
 * what it publishes through BusDeps.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "common/bus-names.h"
#include "daemon/actions.h"
#include "daemon/bus.h"
#include "daemon/config.h"
#include "daemon/inhibit.h"
#include "daemon/registry.h"
#include "tests/private-bus.h"
#include "tests/test-util.h"

/* After the project headers: glib redefines MIN/MAX itself. */
#include <umockdev.h>

#define FUNCTION_PATH(fid) BUS_FUNCTION_PREFIX "/" fid
#define DEADLINE_SEC       60

/* ---- the bed: the bus's dependencies, small and real ---------------------- */

typedef struct Bed {
	PrivateBus pb;
	Log *log;
	struct event_base *event_base;
	UMockdevTestbed *tb;
	char *sys21, *sys11;
	Registry *registry;
	Actions *actions;
	Config *config;
	uint64_t loop_stall_max_usec;
	unsigned reloads;
	Bus *bus;
	sd_bus *client;
} Bed;

static char *add_function(UMockdevTestbed *tb, const char *slot, const char *fid, const char *pchid)
{
	return umockdev_testbed_add_device(
		tb, "pci", slot, NULL, "vendor", "0x1014", "device", "0x04ed", "class", "0x010802",
		"function_id", fid, "function_handle", "0x80000001\n", "pchid", pchid, "vfn", "0x0001\n",
		"pfgid", "0x01\n", "pft", "0x0f\n", "fidparm", "0x00\n", "port", "1\n", "uid", "0x7\n",
		"uid_is_unique", "1\n", "mio_enabled", "1\n", NULL, "PCI_SLOT_NAME", slot, NULL);
}

static void no_emit(void *userdata, uint32_t fid, ZpciEvent *e)
{
}

static const ActionsOps actions_ops = { .emit = no_emit };

static int count_reload(void *userdata)
{
	((Bed *)userdata)->reloads++;
	return 0;
}

static Bed *bed_new(void)
{
	Bed *b = calloc(1, sizeof(*b));

	ck_assert_ptr_nonnull(b);
	private_bus_start(&b->pb);
	/* bus_new() connects with sd_bus_open_system() */
	ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", b->pb.address, 1), 0);
	ck_assert_int_eq(log_new(&b->log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	b->event_base = event_base_new();
	ck_assert_ptr_nonnull(b->event_base);
	b->tb = umockdev_testbed_new();
	b->sys21 = add_function(b->tb, "0001:00:00.0", "0x00000021\n", "0x0100\n");
	b->sys11 = add_function(b->tb, "0002:00:00.0", "0x00000011\n", "0x0200\n");
	ck_assert_int_eq(registry_new(&b->registry, &(RegistryOptions){ .log = b->log,
									.event_base = b->event_base,
									.proc_root = "/nonexistent" }),
			 0);
	ck_assert_int_eq(registry_start(b->registry), 0);
	ck_assert_uint_eq(registry_count(b->registry), 2);
	ck_assert_int_eq(actions_new(&b->actions, b->event_base, b->log, NULL, &actions_ops, b), 0);
	ck_assert_int_eq(config_new_default(&b->config), 0);
	b->loop_stall_max_usec = 4242;

	ck_assert_int_eq(bus_new(&b->bus, &(BusDeps){ .event_base = b->event_base,
						      .log = b->log,
						      .registry = b->registry,
						      .actions = b->actions,
						      .config = &b->config,
						      .loop_stall_max_usec = &b->loop_stall_max_usec,
						      .reload = count_reload,
						      .userdata = b }),
			 0);
	b->client = private_bus_connect(&b->pb);
	return b;
}

static void bed_free(Bed *b)
{
	b->client = sd_bus_flush_close_unref(b->client);
	b->bus = bus_free(b->bus);
	b->actions = actions_free(b->actions);
	b->registry = registry_free(b->registry);
	b->config = config_free(b->config);
	event_base_free(b->event_base);
	log_free(b->log);
	g_free(b->sys21);
	g_free(b->sys11);
	g_object_unref(b->tb);
	private_bus_stop(&b->pb);
	free(b);
}

/* Run the bus's loop and the client until @done(@b, @userdata) holds; fails
 * after DEADLINE_SEC. Nothing here waits a fixed time: each round waits
 * for the client's socket, at most 20 ms, then looks again. */
static void pump_until_full(Bed *b, bool (*done)(Bed *b, void *userdata), void *userdata, const char *what)
{
	struct timespec start, now;

	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = sd_bus_get_fd(b->client), .events = POLLIN };
		int r;

		(void)event_base_loop(b->event_base, EVLOOP_NONBLOCK);
		while ((r = sd_bus_process(b->client, NULL)) > 0)
			;
		ck_assert_int_ge(r, 0);
		if (done(b, userdata))
			return;
		(void)poll(&p, 1, 20);
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		ck_assert_msg(now.tv_sec - start.tv_sec < DEADLINE_SEC, "not %s after %d s", what,
			      DEADLINE_SEC);
	}
}
#define pump_until(b, done, userdata) pump_until_full(b, done, userdata, #done)

/* ---- calls from the test's own client ------------------------------------- */

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	*(sd_bus_message **)userdata = sd_bus_message_ref(m);
	return 1;
}

static bool replied(Bed *b, void *userdata)
{
	return *(sd_bus_message **)userdata != NULL;
}

/* Send @m (consumed) and return the reply: a method return or an error. */
static sd_bus_message *call(Bed *b, sd_bus_message *m)
{
	sd_bus_message *reply = NULL;

	ck_assert_int_ge(sd_bus_call_async(b->client, NULL, m, on_reply, &reply, 0), 0);
	sd_bus_message_unref(m);
	pump_until(b, replied, &reply);
	return reply;
}

static sd_bus_message *new_call(Bed *b, const char *path, const char *interface, const char *member)
{
	sd_bus_message *m = NULL;

	ck_assert_int_ge(sd_bus_message_new_method_call(b->client, &m, BUS_NAME, path, interface, member),
			 0);
	return m;
}

static sd_bus_message *get_property(Bed *b, const char *path, const char *interface, const char *property)
{
	sd_bus_message *m = new_call(b, path, "org.freedesktop.DBus.Properties", "Get");

	ck_assert_int_ge(sd_bus_message_append(m, "ss", interface, property), 0);
	return call(b, m);
}

static void assert_error(sd_bus_message *reply, const char *name)
{
	ck_assert_msg(sd_bus_message_is_method_error(reply, NULL), "a method return, not error %s", name);
	ck_assert_str_eq(sd_bus_message_get_error(reply)->name, name);
}

static uint32_t get_u32(Bed *b, const char *path, const char *interface, const char *property)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = get_property(b, path, interface, property);
	uint32_t v;

	ck_assert_msg(!sd_bus_message_is_method_error(reply, NULL), "%s: %s", property,
		      sd_bus_message_get_error(reply) ? sd_bus_message_get_error(reply)->message : "");
	ck_assert_int_ge(sd_bus_message_read(reply, "v", "u", &v), 0);
	return v;
}

static size_t n_inhibitors(Bed *b)
{
	return inhibit_count(actions_inhibitors(b->actions));
}

/* ---- the Manager object --------------------------------------------------- */

START_TEST(test_manager_properties_and_list)
{
	Bed *b = bed_new();
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *stall = NULL;
	uint32_t fid;
	const char *slot, *mode, *state, *path;
	uint64_t v;

	ck_assert_uint_eq(get_u32(b, BUS_PATH, BUS_MANAGER_INTERFACE, "FunctionCount"), 2);
	ck_assert_uint_eq(get_u32(b, BUS_PATH, BUS_MANAGER_INTERFACE, "APILevel"), ZPCID_API_LEVEL);
	/* read through the pointer the bus was given, as it stands now */
	b->loop_stall_max_usec = 777;
	stall = get_property(b, BUS_PATH, BUS_MANAGER_INTERFACE, "LoopStallMaxUSec");
	ck_assert_int_ge(sd_bus_message_read(stall, "v", "t", &v), 0);
	ck_assert_uint_eq(v, 777);

	/* ListFunctions: both, in FID order, with their objects */
	reply = call(b, new_call(b, BUS_PATH, BUS_MANAGER_INTERFACE, "ListFunctions"));
	ck_assert(!sd_bus_message_is_method_error(reply, NULL));
	ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(ussso)"), 0);
	ck_assert_int_gt(sd_bus_message_read(reply, "(ussso)", &fid, &slot, &mode, &state, &path), 0);
	ck_assert_uint_eq(fid, 0x11);
	ck_assert_str_eq(slot, "0002:00:00.0");
	ck_assert_str_eq(mode, "observe");
	ck_assert_str_eq(path, FUNCTION_PATH("00000011"));
	ck_assert_int_gt(sd_bus_message_read(reply, "(ussso)", &fid, &slot, &mode, &state, &path), 0);
	ck_assert_uint_eq(fid, 0x21);
	ck_assert_str_eq(path, FUNCTION_PATH("00000021"));
	ck_assert_int_eq(sd_bus_message_read(reply, "(ussso)", &fid, &slot, &mode, &state, &path), 0);
	bed_free(b);
}
END_TEST

START_TEST(test_manager_reload)
{
	Bed *b = bed_new();
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_message *m = new_call(b, BUS_PATH, BUS_MANAGER_INTERFACE, "Reload");

	/* the daemon's reload is the callback it was given (root is admin) */
	ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 0), 0);
	reply = call(b, m);
	ck_assert_msg(!sd_bus_message_is_method_error(reply, NULL), "Reload: %s",
		      sd_bus_message_get_error(reply) ? sd_bus_message_get_error(reply)->message : "");
	ck_assert_uint_eq(b->reloads, 1);
	bed_free(b);
}
END_TEST

static sd_bus_message *inhibit_call(Bed *b, const char *what)
{
	sd_bus_message *m = new_call(b, BUS_PATH, BUS_MANAGER_INTERFACE, "Inhibit");

	ck_assert_int_ge(sd_bus_message_append(m, "sssa{sv}", "test", "maintenance", what, 0), 0);
	return m;
}

static bool no_inhibitors(Bed *b, void *userdata)
{
	return n_inhibitors(b) == 0;
}

/* The Inhibit call of an unprivileged process (nobody), as the error name it
 * got, written to @fd. */
static void inhibit_as_nobody(const char *address, int fd)
{
	sd_bus *bus = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *name = "none";
	int r;

	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		name = "setuid-failed";
	else if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address) < 0 ||
		 sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0)
		name = "connect-failed";
	else {
		r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE, "Inhibit", &error,
				       NULL, "sssa{sv}", "intruder", "no reason", "reset", 0);
		name = r >= 0 ? "accepted" : error.name ?: "no-error-name";
	}
	(void)!write(fd, name, strlen(name));
	_exit(0);
}

typedef struct Child {
	pid_t pid;
	int status;
	bool exited;
} Child;

static bool child_exited(Bed *b, void *userdata)
{
	Child *c = userdata;

	if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->exited = true;
	return c->exited;
}

START_TEST(test_manager_inhibit)
{
	Bed *b = bed_new();
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *bad = NULL, *malformed = NULL;
	sd_bus_message *m;
	char name[256] = "";
	Child child = {};
	int pipefd[2], fd;
	ssize_t k;

	/* from an unprivileged caller: refused, nothing taken */
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	child.pid = fork();
	ck_assert_int_ge(child.pid, 0);
	if (child.pid == 0) {
		(void)close(pipefd[0]);
		inhibit_as_nobody(b->pb.address, pipefd[1]);
	}
	(void)close(pipefd[1]);
	pump_until(b, child_exited, &child); /* the bus serves while the child waits */
	k = read(pipefd[0], name, sizeof(name) - 1);
	(void)close(pipefd[0]);
	ck_assert_int_gt(k, 0);
	name[k] = '\0';
	ck_assert_msg(streq(name, "org.freedesktop.DBus.Error.AccessDenied") ||
			      streq(name, BUS_ERROR_ACCESS_DENIED),
		      "nobody's Inhibit: %s", name);
	ck_assert_uint_eq(n_inhibitors(b), 0);

	/* malformed: a wrong signature, and an action that does not exist */
	m = new_call(b, BUS_PATH, BUS_MANAGER_INTERFACE, "Inhibit");
	ck_assert_int_ge(sd_bus_message_append(m, "ss", "test", "maintenance"), 0);
	malformed = call(b, m);
	assert_error(malformed, SD_BUS_ERROR_INVALID_ARGS);
	bad = call(b, inhibit_call(b, "reset,explode"));
	assert_error(bad, BUS_ERROR_INVALID_ARGUMENT);
	ck_assert_uint_eq(n_inhibitors(b), 0);

	/* root may: the inhibitor holds while the guard is open */
	reply = call(b, inhibit_call(b, "reset"));
	ck_assert_msg(!sd_bus_message_is_method_error(reply, NULL), "Inhibit: %s",
		      sd_bus_message_get_error(reply) ? sd_bus_message_get_error(reply)->message : "");
	ck_assert_int_ge(sd_bus_message_read(reply, "h", &fd), 0);
	ck_assert_uint_eq(n_inhibitors(b), 1);
	ck_assert_str_eq(inhibit_get(actions_inhibitors(b->actions), 0)->who, "test");
	/* closing our copies of the guard releases it */
	reply = sd_bus_message_unref(reply);
	pump_until(b, no_inhibitors, NULL);
	bed_free(b);
}
END_TEST

/* ---- the Function objects ------------------------------------------------- */

START_TEST(test_function_properties)
{
	Bed *b = bed_new();
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *slot = NULL, *missing = NULL, *unknown = NULL;
	const char *s;

	ck_assert_uint_eq(get_u32(b, FUNCTION_PATH("00000021"), BUS_FUNCTION_INTERFACE, "FID"), 0x21);
	ck_assert_uint_eq(get_u32(b, FUNCTION_PATH("00000021"), BUS_FUNCTION_INTERFACE, "UID"), 0x7);
	ck_assert_uint_eq(get_u32(b, FUNCTION_PATH("00000011"), BUS_FUNCTION_INTERFACE, "Port"), 1);
	slot = get_property(b, FUNCTION_PATH("00000011"), BUS_FUNCTION_INTERFACE, "Slot");
	ck_assert_int_ge(sd_bus_message_read(slot, "v", "s", &s), 0);
	ck_assert_str_eq(s, "0002:00:00.0");

	/* no object for a function that does not exist, nor for a bad path */
	missing = get_property(b, FUNCTION_PATH("00000099"), BUS_FUNCTION_INTERFACE, "FID");
	assert_error(missing, SD_BUS_ERROR_UNKNOWN_OBJECT);
	unknown = get_property(b, FUNCTION_PATH("0000002g"), BUS_FUNCTION_INTERFACE, "FID");
	assert_error(unknown, SD_BUS_ERROR_UNKNOWN_OBJECT);
	bed_free(b);
}
END_TEST

/* What PropertiesChanged of one function said. */
typedef struct Changed {
	unsigned signals;
	bool errors_named, fid_named, last_error_invalidated;
	uint64_t errors;
} Changed;

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Changed *c = userdata;
	const char *interface, *name;

	ck_assert_int_ge(sd_bus_message_read(m, "s", &interface), 0);
	ck_assert_str_eq(interface, BUS_FUNCTION_INTERFACE);
	ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		ck_assert_int_ge(sd_bus_message_read(m, "s", &name), 0);
		if (streq(name, "Errors")) {
			c->errors_named = true;
			ck_assert_int_ge(sd_bus_message_read(m, "v", "t", &c->errors), 0);
		} else {
			c->fid_named = c->fid_named || streq(name, "FID");
			ck_assert_int_ge(sd_bus_message_skip(m, "v"), 0);
		}
		ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
	}
	ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
	ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "s"), 0);
	while (sd_bus_message_read(m, "s", &name) > 0)
		c->last_error_invalidated = c->last_error_invalidated || streq(name, "LastError");
	c->signals++;
	return 0;
}

static bool changed_once(Bed *b, void *userdata)
{
	return ((Changed *)userdata)->signals > 0;
}

START_TEST(test_function_properties_changed)
{
	Bed *b = bed_new();
	ZpciFunction *f = registry_get_by_fid(b->registry, 0x21);
	Changed c = {};
	ZpciEvent e = { .kind = EVENT_ERROR, .sources = EVENT_SOURCE_DAEMON, .fid = 0x21 };

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(sd_bus_match_signal(b->client, NULL, BUS_NAME, FUNCTION_PATH("00000021"),
					     "org.freedesktop.DBus.Properties", "PropertiesChanged",
					     on_properties_changed, &c),
			 0);
	/* the counters move and the last error is new: one signal naming
	 * what differs from the last announcement, nothing constant */
	f->counters.errors = 5;
	f->has_last_error = true;
	f->last_error = e;
	f->last_error.seq = 99;
	bus_function_changed(b->bus, f);
	bus_function_changed(b->bus, f); /* batched: still one signal */
	pump_until(b, changed_once, &c);
	ck_assert(c.errors_named);
	ck_assert_uint_eq(c.errors, 5);
	ck_assert(c.last_error_invalidated);
	ck_assert(!c.fid_named);

	/* the property reads the same value */
	ck_assert_uint_eq(get_u32(b, FUNCTION_PATH("00000021"), BUS_FUNCTION_INTERFACE, "FID"), 0x21);
	ck_assert_uint_eq(c.signals, 1);
	bed_free(b);
}
END_TEST

/* ---- event signals -------------------------------------------------------- */

typedef struct Signal {
	bool seen;
	char kind[32], pec_name[64];
	uint32_t fid;
	uint16_t pec, pchid;
	uint64_t seq;
} Signal;

static int on_error_reported(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Signal *s = userdata;
	const char *key, *str;

	ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		ck_assert_int_ge(sd_bus_message_read(m, "s", &key), 0);
		if (streq(key, "kind")) {
			ck_assert_int_ge(sd_bus_message_read(m, "v", "s", &str), 0);
			(void)snprintf(s->kind, sizeof(s->kind), "%s", str);
		} else if (streq(key, "pec_name")) {
			ck_assert_int_ge(sd_bus_message_read(m, "v", "s", &str), 0);
			(void)snprintf(s->pec_name, sizeof(s->pec_name), "%s", str);
		} else if (streq(key, "fid"))
			ck_assert_int_ge(sd_bus_message_read(m, "v", "u", &s->fid), 0);
		else if (streq(key, "pec"))
			ck_assert_int_ge(sd_bus_message_read(m, "v", "q", &s->pec), 0);
		else if (streq(key, "pchid"))
			ck_assert_int_ge(sd_bus_message_read(m, "v", "q", &s->pchid), 0);
		else if (streq(key, "seq"))
			ck_assert_int_ge(sd_bus_message_read(m, "v", "t", &s->seq), 0);
		else
			ck_assert_int_ge(sd_bus_message_skip(m, "v"), 0);
		ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
	}
	s->seen = true;
	return 0;
}

static bool signal_seen(Bed *b, void *userdata)
{
	return ((Signal *)userdata)->seen;
}

START_TEST(test_event_signal)
{
	Bed *b = bed_new();
	ZpciFunction *f = registry_get_by_fid(b->registry, 0x21);
	Signal s = {};
	ZpciEvent e = {
		.kind = EVENT_ERROR,
		.sources = EVENT_SOURCE_DAEMON,
		.seq = 4711,
		.fid = 0x21,
		.pec = 0x3a,
		.pchid = 0x0100,
		.has = EVENT_HAS_PEC | EVENT_HAS_PCHID,
	};

	ck_assert_int_ge(sd_bus_match_signal(b->client, NULL, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE,
					     "ErrorReported", on_error_reported, &s),
			 0);
	ck_assert_int_eq(bus_emit_event(b->bus, f, &e), 0);
	pump_until(b, signal_seen, &s);
	ck_assert_str_eq(s.kind, "error");
	ck_assert_uint_eq(s.seq, 4711);
	ck_assert_uint_eq(s.fid, 0x21);
	ck_assert_uint_eq(s.pec, 0x3a);
	ck_assert_uint_eq(s.pchid, 0x0100);
	ck_assert_str_ne(s.pec_name, "");
	/* no bus: nothing happens */
	ck_assert_int_eq(bus_emit_event(NULL, f, &e), 0);
	bed_free(b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("bus-objects");
	TCase *tc = tcase_create("bus-objects");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_manager_properties_and_list);
	tcase_add_test(tc, test_manager_reload);
	tcase_add_test(tc, test_manager_inhibit);
	tcase_add_test(tc, test_function_properties);
	tcase_add_test(tc, test_function_properties_changed);
	tcase_add_test(tc, test_event_signal);
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
	if (system("command -v dbus-daemon >/dev/null") != 0) {
		printf("1..0 # SKIP dbus-daemon is not installed (a private bus with the shipped policy)\n");
		return 77;
	}
	/* The shipped policy lets only root own org.zpcid1; the unprivileged
	 * caller is root's child dropping to nobody. */
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (the shipped policy lets root own org.zpcid1)\n");
		return 77;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
