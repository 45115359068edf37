/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The org.zpcid1.Function objects, one per function at
 * /org/zpcid1/function/<fid as %08x>, served by one fallback vtable and a
 * node enumerator over the function registry, so the objects come and go
 * with the registry without per-object registration.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/report-error.h"
#include "daemon/actions.h"
#include "daemon/bus-private.h"
#include "daemon/ownership.h"
#include "daemon/registry.h"

/* --- registry access ------------------------------------------------------ */

ZpciFunction *bus_lookup_function(Bus *b, uint32_t fid)
{
	/* While InterfacesRemoved is composed the registry may already have
	 * dropped the function from its index. */
	if (b->removing && b->removing->attrs.fid == fid)
		return b->removing;
	return b->deps.registry ? registry_get_by_fid(b->deps.registry, fid) : NULL;
}

/* Call @fn for every function in FID order; stops at the first negative return. */
static int foreach_function(Bus *b, int (*fn)(ZpciFunction *f, void *userdata), void *userdata)
{
	ZpciFunction *f;
	int r;

	if (!b->deps.registry)
		return 0;
	REGISTRY_FOREACH (f, b->deps.registry) {
		r = fn(f, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

static int count_one(ZpciFunction *f, void *userdata)
{
	(*(unsigned *)userdata)++;
	return 0;
}

unsigned bus_function_count(Bus *b)
{
	unsigned n = 0;

	(void)foreach_function(b, count_one, &n);
	return n;
}

static int append_list_entry(ZpciFunction *f, void *userdata)
{
	sd_bus_message *reply = userdata;
	char path[64];

	(void)bus_function_path(f->attrs.fid, path, sizeof(path));
	return sd_bus_message_append(reply, "(ussso)", f->attrs.fid, f->attrs.slot,
				     function_mode_to_string(f->mode), function_state_to_string(f->state),
				     path);
}

int bus_function_append_list(Bus *b, sd_bus_message *reply)
{
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(ussso)");
	if (r >= 0)
		r = foreach_function(b, append_list_entry, reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

/* Parse "/org/zpcid1/function/0000001a" into 0x1a. Returns 0 or -ENOENT. */
static int fid_from_path(const char *path, uint32_t *ret)
{
	const char *p;
	char *end;
	unsigned long v;

	if (!strneq(path, BUS_FUNCTION_PREFIX "/", strlen(BUS_FUNCTION_PREFIX "/")))
		return -ENOENT;
	p = path + strlen(BUS_FUNCTION_PREFIX "/");
	if (strlen(p) != 8)
		return -ENOENT;
	for (const char *c = p; *c; c++)
		if (!strchr("0123456789abcdef", *c))
			return -ENOENT;
	v = strtoul(p, &end, 16);
	*ret = (uint32_t)v;
	return 0;
}

static int function_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
			 sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	ZpciFunction *f;
	uint32_t fid;

	if (!strneq(path, BUS_FUNCTION_PREFIX "/", strlen(BUS_FUNCTION_PREFIX "/")))
		return 0; /* the prefix node itself */
	/* No object here: sd-bus answers org.freedesktop.DBus.Error.UnknownObject
	 * (and UnknownMethod, UnknownProperty on the objects that exist). */
	if (fid_from_path(path, &fid) < 0 || !(f = bus_lookup_function(b, fid)))
		return 0;
	*found = b; /* the handlers look the function up by their path */
	return 1;
}

/* The function of the object at @path: the handlers below run only for
 * objects function_find() found. */
static ZpciFunction *function_at(Bus *b, const char *path)
{
	uint32_t fid;

	if (fid_from_path(path, &fid) < 0)
		return NULL;
	return bus_lookup_function(b, fid);
}

static int enumerate_one(ZpciFunction *f, void *userdata)
{
	char ***l = userdata, path[64], **n;
	size_t k = 0;

	while (*l && (*l)[k])
		k++;
	n = realloc(*l, (k + 2) * sizeof(char *));
	if (!n)
		return -ENOMEM;
	*l = n;
	(void)bus_function_path(f->attrs.fid, path, sizeof(path));
	n[k] = strdup(path);
	n[k + 1] = NULL;
	return n[k] ? 0 : -ENOMEM;
}

static int function_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
			      sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	_cleanup_strv_free_ char **l = NULL;
	int r;

	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	r = foreach_function(b, enumerate_one, &l);
	if (r < 0)
		return r;
	*nodes = TAKE_PTR(l);
	return 0;
}

/* --- properties ----------------------------------------------------------- */

static int property_u32(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const ZpciFunction *f = ASSERT_PTR(function_at(userdata, path));
	const ZpciAttrs *a = &f->attrs;
	uint32_t v = 0;

	if (streq(property, "FID"))
		v = a->fid;
	else if (streq(property, "UID"))
		v = a->uid;
	else if (streq(property, "FunctionHandle"))
		v = a->fh;
	else if (streq(property, "Port"))
		v = a->port;
	else if (streq(property, "OwnerPID"))
		v = (uint32_t)f->owner_pid;
	return sd_bus_message_append(reply, "u", v);
}

static int property_u16(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const ZpciFunction *f = ASSERT_PTR(function_at(userdata, path));

	return sd_bus_message_append(reply, "q", streq(property, "PCHID") ? f->attrs.pchid : f->attrs.vfn);
}

static int property_pft(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const ZpciFunction *f = ASSERT_PTR(function_at(userdata, path));

	return sd_bus_message_append(reply, "y", f->attrs.pft);
}

static int property_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
			 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const ZpciFunction *f = ASSERT_PTR(function_at(userdata, path));

	return sd_bus_message_append(reply, "b", (int)f->attrs.uid_is_unique);
}

static int property_string(sd_bus *bus, const char *path, const char *interface, const char *property,
			   sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const ZpciFunction *f = ASSERT_PTR(function_at(userdata, path));
	const char *s = "";

	if (streq(property, "Slot"))
		s = f->attrs.slot;
	else if (streq(property, "PFTName"))
		s = (f->attrs.has & ZPCI_ATTR_HAS_PFT) ? zpci_pft_to_string(f->attrs.pft) : "";
	else if (streq(property, "VendorName") || streq(property, "DeviceName")) {
		/* Looked up on first read: the PCI ID database is not loaded
		 * before anybody asks for a name. */
		Bus *b = ASSERT_PTR(userdata);

		if (b->deps.registry)
			registry_function_names(b->deps.registry, (ZpciFunction *)f);
		s = streq(property, "VendorName") ? f->vendor_name : f->device_name;
	} else if (streq(property, "Driver"))
		s = f->driver;
	else if (streq(property, "Mode"))
		s = function_mode_to_string(f->mode);
	else if (streq(property, "State"))
		s = function_state_to_string(f->state);
	else if (streq(property, "OwnerCommand"))
		s = f->owner_comm;
	else if (streq(property, "OwnerMachine"))
		s = f->owner_machine;
	else if (streq(property, "OwnerMachineClass"))
		s = f->owner_machine_class;
	else if (streq(property, "OwnerUnit"))
		s = f->owner_unit;
	return sd_bus_message_append(reply, "s", s);
}

static int property_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
			    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const ZpciFunction *f = ASSERT_PTR(function_at(userdata, path));
	const FunctionCounters *c = &f->counters;
	uint64_t v = 0;

	if (streq(property, "Errors"))
		v = c->errors;
	else if (streq(property, "Dropped"))
		v = c->dropped;
	else if (streq(property, "Recoveries"))
		v = c->recoveries;
	else if (streq(property, "Actions"))
		v = c->actions;
	else if (streq(property, "Resets"))
		v = c->resets;
	else if (streq(property, "Coalesced"))
		v = c->coalesced;
	return sd_bus_message_append(reply, "t", v);
}

static int property_last_error(sd_bus *bus, const char *path, const char *interface, const char *property,
			       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const ZpciFunction *f = ASSERT_PTR(function_at(userdata, path));

	if (!f->has_last_error) {
		int r = sd_bus_message_open_container(reply, 'a', "{sv}");

		return r < 0 ? r : sd_bus_message_close_container(reply);
	}
	return bus_append_event(reply, &f->last_error);
}

/* --- methods -------------------------------------------------------------- */

static int check_admin(sd_bus_message *m, Bus *b, sd_bus_error *error)
{
	return bus_check_admin(m, bus_config(b)->admin_group, error);
}

/* What a caller may add to an acting method (the a{sv} options). */
typedef struct ManualOptions {
	const char *message; /* kept in the record as caller_message */
	bool has_message;
	int recover;          /* Reset: the kernel's recovery even where zpcid holds the vfio device */
	const char *log_data; /* Report: the record's log data instead of zpcid's line */
	bool has_log_data;
	uint64_t err_log_id; /* Report: the record's err_log_id instead of zpcid's counter */
	bool has_err_log_id;
} ManualOptions;

static int check_message(const ManualOptions *o, sd_bus_error *error)
{
	if (o->has_message && strlen(o->message) >= EVENT_CALLER_MESSAGE_MAX)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Option 'message' is longer than %d bytes.",
					 EVENT_CALLER_MESSAGE_MAX - 1);
	if (o->has_log_data && strlen(o->log_data) >= REPORT_ERROR_LOG_DATA_MAX)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Option 'log_data' is longer than %d bytes.",
					 REPORT_ERROR_LOG_DATA_MAX - 1);
	return 0;
}

/* Hand @type for @f to the action runner on behalf of the sender of @m:
 * the result comes back as an action event (ActionTaken) with rule "manual",
 * the caller's uid and message; inhibitors and dry-run apply. */
static int submit_action(sd_bus_message *m, Bus *b, ZpciFunction *f, ActionType type, const ManualOptions *o,
			 sd_bus_error *error)
{
	ActionRequest req;
	ZpciEvent trigger = { .kind = EVENT_ACTION, .sources = EVENT_SOURCE_DAEMON };
	uid_t uid;
	int r;

	if (!b->deps.actions)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "This daemon runs no actions.");
	r = bus_sender_uid(m, &uid);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to get the caller's credentials: %s",
					       strerror(-r));
	function_fill_event(f, &trigger);
	(void)snprintf(trigger.action, sizeof(trigger.action), "%s", action_type_to_string(type));
	(void)snprintf(trigger.detail, sizeof(trigger.detail), "%s",
		       !isempty(o->message) ? o->message : "requested over D-Bus");
	action_request_init(&req, type, f, &trigger, ACTIONS_RULE_MANUAL);
	req.has_caller = true;
	req.caller_uid = (uint32_t)uid;
	(void)snprintf(req.caller_message, sizeof(req.caller_message), "%s", strempty(o->message));
	if (o->has_log_data) {
		req.has_log_data = true;
		(void)snprintf(req.log_data, sizeof(req.log_data), "%s", o->log_data);
	}
	if (o->has_err_log_id) {
		req.has_err_log_id = true;
		req.err_log_id = o->err_log_id;
	}
	r = actions_submit(b->deps.actions, &req);
	if (r < 0)
		return bus_error_from_errno(error, r, "Failed to start the action");
	return 0;
}

static int method_reset(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	ZpciFunction *f = ASSERT_PTR(function_at(b, sd_bus_message_get_path(m)));
	ManualOptions o = {};
	const BusOption table[] = {
		{ "message", 's', &o.message, &o.has_message },
		{ "recover", 'b', &o.recover, NULL },
		{},
	};
	int r;

	r = bus_read_options(m, table, error);
	if (r >= 0)
		r = check_message(&o, error);
	if (r < 0)
		return r;
	r = check_admin(m, b, error);
	if (r < 0)
		return r;
	/* With the vfio device in hand a device reset, else (or when asked
	 * for) the kernel's recovery. */
	r = submit_action(m, b, f, f->vfio && !o.recover ? ACTION_RESET : ACTION_RECOVER, &o, error);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

static int method_unbind(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	ZpciFunction *f = ASSERT_PTR(function_at(b, sd_bus_message_get_path(m)));
	ManualOptions o = {};
	const BusOption table[] = {
		{ "message", 's', &o.message, &o.has_message },
		{},
	};
	int r;

	r = bus_read_options(m, table, error);
	if (r >= 0)
		r = check_message(&o, error);
	if (r < 0)
		return r;
	r = check_admin(m, b, error);
	if (r < 0)
		return r;
	r = submit_action(m, b, f, ACTION_UNBIND, &o, error);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

static int method_report(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	ZpciFunction *f = ASSERT_PTR(function_at(b, sd_bus_message_get_path(m)));
	const char *kind, *message;
	ManualOptions o = {};
	const BusOption table[] = {
		{ "message", 's', &o.message, &o.has_message },
		{ "log_data", 's', &o.log_data, &o.has_log_data },
		{ "err_log_id", 't', &o.err_log_id, &o.has_err_log_id },
		{},
	};
	ReportErrorAction a;
	int r;

	r = sd_bus_message_read(m, "ss", &kind, &message);
	if (r < 0)
		return r;
	r = bus_read_options(m, table, error);
	if (r < 0)
		return r;
	a = report_error_action_from_string(kind);
	if (a < 0)
		return sd_bus_error_setf(
			error, BUS_ERROR_INVALID_ARGUMENT,
			"Unknown report kind '%.64s' (expected info, fw-reset or deconfigure).", kind);
	r = bus_check_string(message, "The message", error);
	if (r < 0)
		return r;
	r = check_message(&o, error);
	if (r < 0)
		return r;
	/* Without the option the message argument is the caller's message
	 * (cut to fit the record; the report's log data has it whole). */
	if (!o.has_message)
		o.message = message;
	if (r < 0)
		return r;
	r = check_admin(m, b, error);
	if (r < 0)
		return r;
	r = submit_action(m, b, f,
			  a == REPORT_ERROR_ACTION_INFO       ? ACTION_REPORT_INFO
			  : a == REPORT_ERROR_ACTION_FW_RESET ? ACTION_REPORT_FW_RESET
							      : ACTION_REPORT_DECONFIGURE,
			  &o, error);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

static int not_bound_to_vfio(ZpciFunction *f, sd_bus_error *error)
{
	if (isempty(f->driver))
		return sd_bus_error_setf(error, BUS_ERROR_NOT_BOUND_TO_VFIO,
					 "Function 0x%08x is bound to no driver; bind it to vfio-pci first.",
					 f->attrs.fid);
	return sd_bus_error_setf(error, BUS_ERROR_NOT_BOUND_TO_VFIO,
				 "Function 0x%08x is bound to %s, not vfio-pci; bind it to vfio-pci first.",
				 f->attrs.fid, f->driver);
}

static int method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	ZpciFunction *f = ASSERT_PTR(function_at(b, sd_bus_message_get_path(m)));
	int r;

	r = bus_read_options(m, NULL, error);
	if (r < 0)
		return r;
	r = check_admin(m, b, error);
	if (r < 0)
		return r;
	if (!streq(f->driver, "vfio-pci"))
		return not_bound_to_vfio(f, error);
	if (!b->deps.ownership)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED, "This daemon holds no functions.");
	/* held until Release(), the caller leaves the bus, or the function goes */
	r = ownership_claim(b->deps.ownership, f, sd_bus_message_get_bus(m), sd_bus_message_get_sender(m));
	if (r == -EALREADY)
		return sd_bus_error_set(error, BUS_ERROR_BUSY, "zpcid already holds this function.");
	if (r == -EBUSY)
		return sd_bus_error_set(error, BUS_ERROR_BUSY,
					"Another process holds the function's vfio device.");
	if (r == -ENOTTY)
		return sd_bus_error_set(error, BUS_ERROR_NOT_SUPPORTED,
					"The kernel lacks the zPCI error feature.");
	if (r == -ENOENT)
		return not_bound_to_vfio(f, error); /* no vfio node (any more) */
	if (r < 0)
		return bus_error_from_errno(error, r, "Failed to claim the function");
	bus_function_changed(b, f);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Bus *b = ASSERT_PTR(userdata);
	ZpciFunction *f = ASSERT_PTR(function_at(b, sd_bus_message_get_path(m)));
	int r;

	r = bus_read_options(m, NULL, error);
	if (r < 0)
		return r;
	r = check_admin(m, b, error);
	if (r < 0)
		return r;
	if (!b->deps.ownership || ownership_release(b->deps.ownership, f) == -ENOENT)
		return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
					"zpcid does not hold this function.");
	bus_function_changed(b, f);
	return sd_bus_reply_method_return(m, NULL);
}

#define PROP(name, sig, getter, flags) SD_BUS_PROPERTY(name, sig, getter, 0, flags)
#define CHANGES                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable function_vtable[] = {
	SD_BUS_VTABLE_START(0), PROP("FID", "u", property_u32, SD_BUS_VTABLE_PROPERTY_CONST),
	PROP("UID", "u", property_u32, CHANGES), PROP("UIDIsUnique", "b", property_bool, CHANGES),
	PROP("PCHID", "q", property_u16, CHANGES), PROP("PFT", "y", property_pft, CHANGES),
	PROP("PFTName", "s", property_string, CHANGES), PROP("VFN", "q", property_u16, CHANGES),
	PROP("Port", "u", property_u32, CHANGES), PROP("FunctionHandle", "u", property_u32, CHANGES),
	PROP("Slot", "s", property_string, CHANGES), PROP("VendorName", "s", property_string, CHANGES),
	PROP("DeviceName", "s", property_string, CHANGES), PROP("Driver", "s", property_string, CHANGES),
	PROP("Mode", "s", property_string, CHANGES), PROP("State", "s", property_string, CHANGES),
	PROP("OwnerPID", "u", property_u32, CHANGES), PROP("OwnerCommand", "s", property_string, CHANGES),
	PROP("Errors", "t", property_counter, CHANGES), PROP("Dropped", "t", property_counter, CHANGES),
	PROP("Recoveries", "t", property_counter, CHANGES), PROP("Actions", "t", property_counter, CHANGES),
	PROP("Resets", "t", property_counter, CHANGES), PROP("Coalesced", "t", property_counter, CHANGES),
	/* Built from the whole record: announced as invalidated, read on demand. */
	PROP("LastError", "a{sv}", property_last_error, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	/* The holder as the operator names it (daemon/machine.h). */
	PROP("OwnerMachine", "s", property_string, CHANGES),
	PROP("OwnerMachineClass", "s", property_string, CHANGES),
	PROP("OwnerUnit", "s", property_string, CHANGES),
	SD_BUS_METHOD_WITH_ARGS("Reset", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_reset,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Unbind", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_unbind,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Report", SD_BUS_ARGS("s", kind, "s", message, "a{sv}", options),
				SD_BUS_NO_RESULT, method_report, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Claim", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_claim,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_release,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int bus_function_register(Bus *b)
{
	int r;

	r = sd_bus_add_fallback_vtable(b->bus, &b->function_slot, BUS_FUNCTION_PREFIX,
				       BUS_FUNCTION_INTERFACE, function_vtable, function_find, b);
	if (r < 0)
		return r;
	return sd_bus_add_node_enumerator(b->bus, &b->enumerator_slot, BUS_FUNCTION_PREFIX,
					  function_enumerate, b);
}
