/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "common/log.h"
#include "daemon/function.h"
#include "daemon/machine.h"
#include "daemon/registry.h"

#define MACHINED_NAME       "org.freedesktop.machine1"
#define MACHINED_PATH       "/org/freedesktop/machine1"
#define MACHINED_MANAGER    "org.freedesktop.machine1.Manager"
#define MACHINED_MACHINE    "org.freedesktop.machine1.Machine"
#define MACHINED_NO_MACHINE "org.freedesktop.machine1.NoMachineForPID"

/* What is known of one holder pid. */
typedef struct MachineEntry {
	MachineResolver *resolver;
	pid_t pid;
	sd_bus_slot *call; /* GetMachineByPID or GetAll in flight */
	bool answered;     /* machined answered, or will not be asked */
	char machine[EVENT_MACHINE_MAX];
	char machine_class[EVENT_MACHINE_CLASS_MAX];
	char machine_unit[EVENT_UNIT_MAX]; /* the machine's unit, from machined */
	char cgroup_unit[EVENT_UNIT_MAX];  /* the holder's own, from its cgroup */
} MachineEntry;

struct MachineResolver {
	Log *log;
	Registry *registry;
	sd_bus *(*bus_connection)(void *userdata);
	void (*bus_kick)(void *userdata);
	void *bus_userdata;
	char *proc_root;
	MachineEntry **entries; /* one per holder pid; pointers stay put for the calls */
	size_t n_entries, n_allocated;
	sd_bus_slot *match_new, *match_removed, *match_owner;
	bool subscribed;
	bool unavailable_said; /* "machined is not there" said since it was last seen */
};

/* --- units from cgroups ------------------------------------------------------ */

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && memcmp(s + len - n, suffix, n) == 0;
}

/* Whether @s (@len bytes) is a unit name that can own a cgroup. */
static bool unit_name_plausible(const char *s, size_t len)
{
	static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap" };

	if (len == 0 || len >= EVENT_UNIT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '/' || (unsigned char)s[i] >= 0x7f)
			return false;
	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
		if (has_suffix(s, len, suffixes[i]))
			return true;
	return false;
}

int machine_unit_from_cgroup_path(const char *path, char *ret, size_t size)
{
	const char *p = path;

	if (!path || path[0] != '/')
		return -ENXIO;
	for (;;) {
		size_t len;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (len == 0)
			return -ENXIO;
		/* systemd escapes a name that could clash with a cgroup file with "_" */
		if (p[0] == '_') {
			p++;
			len--;
		}
		if (has_suffix(p, len, ".slice")) {
			p += len;
			continue;
		}
		if (!unit_name_plausible(p, len))
			return -ENXIO;
		if (len >= size)
			return -ENOBUFS;
		memcpy(ret, p, len);
		ret[len] = '\0';
		return 0;
	}
}

int machine_unit_of_pid(const char *proc_root, pid_t pid, char *ret, size_t size)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[256], line[4096], named[4096] = "";
	bool have_named = false;

	(void)snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root ?: "/proc", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f)) {
		char *controllers, *cg;

		line[strcspn(line, "\n")] = '\0';
		controllers = strchr(line, ':');
		if (!controllers)
			continue;
		cg = strchr(controllers + 1, ':');
		if (!cg)
			continue;
		*cg++ = '\0';
		controllers++;
		/* The unified hierarchy first: systemd's own tree there (unified
		 * and hybrid layouts); the named one of the legacy layout after. */
		if (strneq(line, "0:", 2) && controllers[0] == '\0') {
			if (machine_unit_from_cgroup_path(cg, ret, size) == 0)
				return 0;
		} else if (streq(controllers, "name=systemd")) {
			(void)snprintf(named, sizeof(named), "%s", cg);
			have_named = true;
		}
	}
	if (have_named && machine_unit_from_cgroup_path(named, ret, size) == 0)
		return 0;
	return -ENXIO;
}

/* --- the cache --------------------------------------------------------------- */

static MachineEntry *entry_find(MachineResolver *r, pid_t pid)
{
	for (size_t i = 0; i < r->n_entries; i++)
		if (r->entries[i]->pid == pid)
			return r->entries[i];
	return NULL;
}

static void entry_free(MachineEntry *e)
{
	if (!e)
		return;
	sd_bus_slot_unref(e->call);
	free(e);
}

static void entry_drop(MachineResolver *r, pid_t pid)
{
	for (size_t i = 0; i < r->n_entries; i++)
		if (r->entries[i]->pid == pid) {
			entry_free(r->entries[i]);
			memmove(r->entries + i, r->entries + i + 1,
				(r->n_entries - i - 1) * sizeof(*r->entries));
			r->n_entries--;
			return;
		}
}

static bool pid_still_held(MachineResolver *r, pid_t pid, const ZpciFunction *except)
{
	ZpciFunction *f;

	if (!r->registry)
		return false;
	REGISTRY_FOREACH (f, r->registry)
		if (f != except && f->owner_resolved_pid == pid)
			return true;
	return false;
}

/* Copy what is known of @e into @f. Returns true when a value changed. */
static bool entry_apply(const MachineEntry *e, ZpciFunction *f)
{
	const char *unit = e->machine_unit[0] ? e->machine_unit : e->cgroup_unit;
	bool changed = !streq(f->owner_machine, e->machine) ||
		       !streq(f->owner_machine_class, e->machine_class) || !streq(f->owner_unit, unit);

	(void)snprintf(f->owner_machine, sizeof(f->owner_machine), "%s", e->machine);
	(void)snprintf(f->owner_machine_class, sizeof(f->owner_machine_class), "%s", e->machine_class);
	(void)snprintf(f->owner_unit, sizeof(f->owner_unit), "%s", unit);
	return changed;
}

static void log_holder(MachineResolver *r, const ZpciFunction *f)
{
	if (!isempty(f->owner_machine))
		log_info(r->log, "PCI function 0x%08x: its holder %s[%d] runs machine %s (%s), unit %s.",
			 f->attrs.fid, isempty(f->owner_comm) ? "?" : f->owner_comm, (int)f->owner_pid,
			 f->owner_machine,
			 isempty(f->owner_machine_class) ? "class unknown" : f->owner_machine_class,
			 isempty(f->owner_unit) ? "unknown" : f->owner_unit);
	else
		log_info(r->log, "PCI function 0x%08x: its holder %s[%d] runs no machine, unit %s.",
			 f->attrs.fid, isempty(f->owner_comm) ? "?" : f->owner_comm, (int)f->owner_pid,
			 isempty(f->owner_unit) ? "unknown" : f->owner_unit);
}

/* machined answered for @e (or will not be asked): update and announce
 * every function it holds; log the first answer and every change. */
static void entry_publish(MachineEntry *e)
{
	MachineResolver *r = e->resolver;
	bool first = !e->answered;
	ZpciFunction *f;

	e->answered = true;
	if (!r->registry)
		return;
	REGISTRY_FOREACH (f, r->registry) {
		bool changed;

		if (f->owner_resolved_pid != e->pid)
			continue;
		changed = entry_apply(e, f);
		if (changed)
			registry_notify(r->registry, REGISTRY_FUNCTION_CHANGED, f);
		if (changed || first)
			log_holder(r, f);
	}
}

/* --- asking machined --------------------------------------------------------- */

/* The connection to ask machined on, or NULL. */
static sd_bus *resolver_bus(MachineResolver *r)
{
	return r->bus_connection ? r->bus_connection(r->bus_userdata) : NULL;
}

static void machined_unavailable(MachineResolver *r, const sd_bus_error *error)
{
	if (r->unavailable_said)
		return;
	r->unavailable_said = true;
	log_info(r->log,
		 "systemd-machined cannot be asked (%s), naming holders by their unit and command only.",
		 error && error->message ? error->message : "no system bus");
}

/* Copy the string of a property into @buf when it fits (and is printable). */
static int read_string_property(sd_bus_message *m, char *buf, size_t size)
{
	const char *s;
	int q;

	q = sd_bus_message_read(m, "v", "s", &s);
	if (q < 0)
		return q;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c == 0x7f)
			return 0; /* not a name anyone should print */
	if (strlen(s) >= size)
		return 0;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

static int on_machine_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	MachineEntry *e = ASSERT_PTR(userdata);
	const sd_bus_error *error = sd_bus_message_get_error(m);
	int q;

	e->call = sd_bus_slot_unref(e->call);
	e->machine[0] = e->machine_class[0] = e->machine_unit[0] = '\0';
	if (error) {
		/* The machine went between the two calls: no machine. */
		log_debug(e->resolver->log, "Failed to read the machine of pid %d: %s", (int)e->pid,
			  error->message);
		entry_publish(e);
		return 0;
	}

	q = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (q > 0 && (q = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *name;

		q = sd_bus_message_read(m, "s", &name);
		if (q < 0)
			break;
		if (streq(name, "Name"))
			q = read_string_property(m, e->machine, sizeof(e->machine));
		else if (streq(name, "Class"))
			q = read_string_property(m, e->machine_class, sizeof(e->machine_class));
		else if (streq(name, "Unit"))
			q = read_string_property(m, e->machine_unit, sizeof(e->machine_unit));
		else
			q = sd_bus_message_skip(m, "v");
		if (q >= 0)
			q = sd_bus_message_exit_container(m);
	}
	if (q < 0) {
		log_debug_errno(e->resolver->log, q,
				"Failed to parse the machine of pid %d, ignoring it: %m", (int)e->pid);
		e->machine[0] = e->machine_class[0] = e->machine_unit[0] = '\0';
	}
	entry_publish(e);
	return 0;
}

static int on_machine_path(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	MachineEntry *e = ASSERT_PTR(userdata);
	MachineResolver *r = e->resolver;
	const sd_bus_error *error = sd_bus_message_get_error(m);
	sd_bus *bus = sd_bus_message_get_bus(m);
	const char *path;
	int q;

	e->call = sd_bus_slot_unref(e->call);
	if (error) {
		e->machine[0] = e->machine_class[0] = e->machine_unit[0] = '\0';
		if (!sd_bus_error_has_name(error, MACHINED_NO_MACHINE))
			machined_unavailable(r, error);
		entry_publish(e);
		return 0;
	}
	r->unavailable_said = false;
	q = sd_bus_message_read(m, "o", &path);
	if (q >= 0)
		q = sd_bus_call_method_async(bus, &e->call, MACHINED_NAME, path,
					     "org.freedesktop.DBus.Properties", "GetAll",
					     on_machine_properties, e, "s", MACHINED_MACHINE);
	if (q < 0) {
		log_debug_errno(r->log, q, "Failed to ask for the machine of pid %d, ignoring: %m",
				(int)e->pid);
		entry_publish(e);
	}
	return 0;
}

/* Read the holder's unit and ask machined for its machine (again). Without
 * a bus the fallback is all there is. */
static void entry_query(MachineEntry *e)
{
	MachineResolver *r = e->resolver;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus *bus = resolver_bus(r);
	int q;

	e->call = sd_bus_slot_unref(e->call);
	q = machine_unit_of_pid(r->proc_root, e->pid, e->cgroup_unit, sizeof(e->cgroup_unit));
	if (q < 0) {
		if (q != -ENXIO)
			log_debug_errno(r->log, q, "Failed to read the cgroup of pid %d, ignoring: %m",
					(int)e->pid);
		e->cgroup_unit[0] = '\0';
	}
	if (!bus) {
		machined_unavailable(r, NULL);
		entry_publish(e);
		return;
	}
	q = sd_bus_message_new_method_call(bus, &m, MACHINED_NAME, MACHINED_PATH, MACHINED_MANAGER,
					   "GetMachineByPID");
	/* No machined running means no machines: do not start one to hear that. */
	if (q >= 0)
		q = sd_bus_message_set_auto_start(m, false);
	if (q >= 0)
		q = sd_bus_message_append(m, "u", (uint32_t)e->pid);
	if (q >= 0)
		q = sd_bus_call_async(bus, &e->call, m, on_machine_path, e, 0);
	if (q < 0) {
		log_debug_errno(r->log, q, "Failed to ask systemd-machined about pid %d, ignoring: %m",
				(int)e->pid);
		entry_publish(e);
		return;
	}
	r->bus_kick(r->bus_userdata);
}

static MachineEntry *entry_get(MachineResolver *r, pid_t pid)
{
	MachineEntry *e = entry_find(r, pid);

	if (e)
		return e;
	if (r->n_entries == r->n_allocated) {
		size_t n = r->n_allocated ? r->n_allocated * 2 : 8;
		MachineEntry **p = reallocarray(r->entries, n, sizeof(*p));

		if (!p)
			return NULL;
		r->entries = p;
		r->n_allocated = n;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->resolver = r;
	e->pid = pid;
	r->entries[r->n_entries++] = e;
	entry_query(e);
	return e;
}

/* --- following the holders ------------------------------------------------- */

static void on_registry_change(Registry *reg, RegistryChange change, ZpciFunction *f, void *userdata)
{
	MachineResolver *r = ASSERT_PTR(userdata);
	pid_t old = f->owner_resolved_pid;
	MachineEntry *e;

	if (change == REGISTRY_FUNCTION_REMOVED) {
		if (old > 0 && !pid_still_held(r, old, f))
			entry_drop(r, old);
		return;
	}
	if (f->owner_pid == old)
		return; /* the same holder: nothing to ask */

	f->owner_resolved_pid = f->owner_pid;
	if (f->owner_pid <= 0) {
		f->owner_machine[0] = f->owner_machine_class[0] = f->owner_unit[0] = '\0';
		registry_notify(reg, REGISTRY_FUNCTION_CHANGED, f);
	} else {
		/* A holder known already: its answer now. A new one: its unit
		 * now, the machine when machined answers (entry_publish()). */
		bool known = (e = entry_find(r, f->owner_pid)) && e->answered;

		if (!e)
			e = entry_get(r, f->owner_pid);
		if (!e)
			log_oom(r->log);
		else {
			(void)entry_apply(e, f);
			registry_notify(reg, REGISTRY_FUNCTION_CHANGED, f);
			if (known)
				log_holder(r, f);
		}
	}
	if (old > 0 && !pid_still_held(r, old, NULL))
		entry_drop(r, old);
}

/* A machine came or went, or machined itself: every holder may have another answer. */
static int on_machines_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	MachineResolver *r = ASSERT_PTR(userdata);

	log_debug(r->log, "%s from the bus: asking systemd-machined about every holder again.",
		  strempty(sd_bus_message_get_member(m)));
	for (size_t i = 0; i < r->n_entries; i++)
		entry_query(r->entries[i]);
	return 0;
}

static int on_machined_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	MachineResolver *r = ASSERT_PTR(userdata);
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (!isempty(new_owner)) {
		log_info(r->log, "systemd-machined is on the bus, asking it about the holders.");
		r->unavailable_said = false;
	}
	return on_machines_changed(m, userdata, ret_error);
}

static int watch_machined(MachineResolver *r)
{
	sd_bus *bus = resolver_bus(r);
	int q;

	if (!bus)
		return 0;
	/* Any sender: a spoofed signal only makes zpcid ask machined again. */
	q = sd_bus_match_signal_async(bus, &r->match_new, NULL, MACHINED_PATH, MACHINED_MANAGER,
				      "MachineNew", on_machines_changed, NULL, r);
	if (q >= 0)
		q = sd_bus_match_signal_async(bus, &r->match_removed, NULL, MACHINED_PATH, MACHINED_MANAGER,
					      "MachineRemoved", on_machines_changed, NULL, r);
	if (q >= 0)
		q = sd_bus_add_match_async(bus, &r->match_owner,
					   "type='signal',sender='org.freedesktop.DBus',"
					   "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
					   "member='NameOwnerChanged',arg0='" MACHINED_NAME "'",
					   on_machined_owner, NULL, r);
	r->bus_kick(r->bus_userdata);
	return q;
}

int machine_resolver_new(MachineResolver **ret, const MachineResolverOptions *options)
{
	_cleanup_(machine_resolver_freep) MachineResolver *r = NULL;
	ZpciFunction *f;
	int q;

	if (!options || !options->log)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->log = options->log;
	r->registry = options->registry;
	r->bus_connection = options->bus_connection;
	r->bus_kick = options->bus_kick;
	r->bus_userdata = options->bus_userdata;
	r->proc_root = strdup(options->proc_root ?: "/proc");
	if (!r->proc_root)
		return -ENOMEM;

	q = watch_machined(r);
	if (q < 0)
		log_warning_errno(r->log, q,
				  "Failed to watch systemd-machined's machines, a machine registered after "
				  "its process took a function is not seen: %m");
	if (!r->registry)
		goto done;
	q = registry_subscribe(r->registry, on_registry_change, r);
	if (q < 0)
		return q;
	r->subscribed = true;
	/* The holders found before: as if each had just appeared. */
	REGISTRY_FOREACH (f, r->registry)
		if (f->owner_pid > 0)
			on_registry_change(r->registry, REGISTRY_FUNCTION_CHANGED, f, r);
done:
	*ret = TAKE_PTR(r);
	return 0;
}

MachineResolver *machine_resolver_free(MachineResolver *r)
{
	if (!r)
		return NULL;
	if (r->subscribed)
		(void)registry_unsubscribe(r->registry, on_registry_change, r);
	for (size_t i = 0; i < r->n_entries; i++)
		entry_free(r->entries[i]);
	free(r->entries);
	sd_bus_slot_unref(r->match_new);
	sd_bus_slot_unref(r->match_removed);
	sd_bus_slot_unref(r->match_owner);
	free(r->proc_root);
	free(r);
	return NULL;
}
