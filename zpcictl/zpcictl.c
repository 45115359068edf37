/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcictl: the operators' command for zPCI functions.
 *
 * The options of s390-tools' zpcictl (--reset, --reset-fw, --deconfigure,
 * --report-error DEVICE) keep their meaning; they go through zpcid when it
 * runs (so the action is recorded and inhibitors are respected) and straight
 * to sysfs when it does not. The subcommands query and steer the daemon
 * over D-Bus. This file parses the command line and formats; client.c
 * speaks D-Bus, device.c speaks sysfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/action.h"
#include "common/bus-dict.h"
#include "common/macro.h"
#include "common/metrics.h"
#include "common/output.h"
#include "common/report-error.h"
#include "common/time-util.h"
#include "zpcictl/client.h"
#include "zpcictl/device.h"
#include "zpcictl/events-summary.h"

typedef enum LegacyAction {
	LEGACY_NONE,
	LEGACY_RESET,
	LEGACY_RESET_FW,
	LEGACY_DECONFIGURE,
	LEGACY_REPORT_ERROR,
} LegacyAction;

static OutputFormat arg_format = OUTPUT_TABLE;
static LegacyAction arg_legacy = LEGACY_NONE;
static const char *arg_sysfs_root = "/sys";
static const char *arg_message = NULL;
static bool arg_no_daemon = false;
static bool arg_no_header = false;
static const char *arg_since = NULL, *arg_until = NULL, *arg_function = NULL, *arg_kind = NULL;
static const char *arg_pec = NULL;
static uint64_t arg_limit = 0, arg_offset = 0;
static bool arg_follow = false;
static uint64_t arg_count = 0;
static const char *arg_who = NULL, *arg_why = NULL, *arg_what = "all";
static uint64_t arg_top = 0, arg_bucket = 0;
static const char *arg_by = NULL;

static const OutputMeta meta = { .api_level = ZPCID_API_LEVEL, .version = PACKAGE_VERSION };

static int fail(int exit_code, const char *name, const char *format, ...) _printf_(3, 4);
static int fail(int exit_code, const char *name, const char *format, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, format);
	(void)vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	return output_error(stdout, arg_format, &meta, exit_code, name, buf);
}

static int bus_fail(const sd_bus_error *error, int r, const char *what)
{
	const char *hint = client_error_hint(error);

	if (sd_bus_error_is_set(error))
		return fail(client_exit_code(error), error->name, "%s: %s%s%s", what, error->message,
			    hint ? " " : "", strempty(hint));
	return fail(EXIT_FAIL, NULL, "%s: %s", what, strerror(-r));
}

static int connect_or_fail(sd_bus **bus)
{
	int r = client_connect(bus);

	if (r == -ESRCH)
		return fail(EXIT_FAIL, NULL, "zpcid is not running.");
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to connect to the system bus: %s", strerror(-r));
	return EXIT_OK;
}

static int parse_u64(const char *s, uint64_t *ret);

/* --- legacy options ------------------------------------------------------ */

static const char *legacy_name(LegacyAction a)
{
	switch (a) {
	case LEGACY_RESET:
		return "reset";
	case LEGACY_RESET_FW:
		return "reset-fw";
	case LEGACY_DECONFIGURE:
		return "deconfigure";
	case LEGACY_REPORT_ERROR:
		return "report-error";
	default:
		return "none";
	}
}

/* The report each option writes: --reset reports for information only and
 * then starts the kernel's recovery (a firmware reset there would race with
 * it); --reset-fw asks the platform for the reset. */
static ReportErrorAction legacy_report_action(LegacyAction a)
{
	return a == LEGACY_DECONFIGURE ? REPORT_ERROR_ACTION_DECONFIGURE
	       : a == LEGACY_RESET_FW  ? REPORT_ERROR_ACTION_FW_RESET
				       : REPORT_ERROR_ACTION_INFO;
}

/* The log data of the record: for an NVMe function the output of
 * "smartctl -x NODE" when smartctl is installed ($ZPCICTL_SMARTCTL names
 * another program), after the --message text when one is given; as a C
 * string, its NUL included, cut to REPORT_ERROR_LOG_DATA_MAX bytes. Without
 * either, none. Returns the length in *@ret_len, the data in *@ret (free()). */
static int legacy_log_data(const char *device, const char *slot, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *smart = NULL, *data = NULL;
	const char *smartctl = getenv("ZPCICTL_SMARTCTL");
	char node[PATH_MAX] = "";
	size_t len;

	if (device_is_nvme(arg_sysfs_root, slot) > 0) {
		const char *name = strrchr(device, '/') ? strrchr(device, '/') + 1 : device;

		if (strneq(name, "nvme", 4))
			(void)snprintf(node, sizeof(node), "/dev/%s", name);
		else
			(void)device_nvme_node(arg_sysfs_root, slot, node, sizeof(node));
		if (node[0] &&
		    device_smart_data(isempty(smartctl) ? "smartctl" : smartctl, node, &smart) < 0)
			smart = (free(smart), NULL);
	}
	if (!arg_message && !smart) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (asprintf(&data, "%s%s%s", strempty(arg_message), arg_message && smart ? "\n" : "",
		     strempty(smart)) < 0)
		return -ENOMEM;
	len = MIN(strlen(data) + 1, (size_t)REPORT_ERROR_LOG_DATA_MAX);
	data[len - 1] = '\0';
	*ret_len = len;
	*ret = TAKE_PTR(data);
	return 0;
}

static int legacy_direct(const char *device, const char *slot)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r, ret = EXIT_OK;

	r = legacy_log_data(device, slot, &data, &len);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "%s: %s", slot, strerror(-r));
	r = device_report_error(arg_sysfs_root, slot, legacy_report_action(arg_legacy), (uint64_t)time(NULL),
				DEVICE_ERR_LOG_ID, data, len);
	if (r == -EOPNOTSUPP)
		ret = fail(EXIT_FAIL, NULL, "%s: the platform does not support error reports here.", slot);
	else if (r < 0)
		ret = fail(EXIT_FAIL, NULL, "Could not issue SCLP action for %s: %s", slot, strerror(-r));
	/* --reset recovers even when the report failed, as s390-tools does */
	if (arg_legacy == LEGACY_RESET) {
		r = device_recover(arg_sysfs_root, slot);
		if (r < 0)
			return fail(EXIT_FAIL, NULL, "%s: failed to start the recovery: %s", slot,
				    strerror(-r));
	}
	return ret;
}

/* How long zpcictl waits for the result of an action through zpcid
 * ($ZPCICTL_WAIT_SEC): zpcid gives every action a result within its own
 * action timeout (30 s unless configured otherwise). */
#define LEGACY_WAIT_SEC_DEFAULT 120

/* The result of one action zpcictl asked zpcid for: the first ActionTaken
 * record of the function, the action and this caller after the call. */
typedef struct LegacyWait {
	uint32_t fid;
	const char *action;
	bool got;
	char result[32];
	char detail[256];
} LegacyWait;

/* The results that conclude a request; confirmed, unconfirmed,
 * no-confirmation and cancelled follow an earlier "done". */
static bool legacy_result_is_first(const char *result)
{
	return !action_result_is_confirmation(action_result_from_string(result));
}

static void legacy_match(LegacyWait *w, json_object *e)
{
	json_object *v;

	if (!json_object_object_get_ex(e, "fid", &v) || (uint32_t)json_object_get_int64(v) != w->fid)
		return;
	if (!json_object_object_get_ex(e, "action", &v) || !streq(json_object_get_string(v), w->action))
		return;
	if (!json_object_object_get_ex(e, "rule", &v) || !streq(json_object_get_string(v), "manual"))
		return;
	if (!json_object_object_get_ex(e, "caller_uid", &v) ||
	    json_object_get_int64(v) != (int64_t)geteuid())
		return;
	if (!json_object_object_get_ex(e, "result", &v) ||
	    !legacy_result_is_first(json_object_get_string(v)))
		return;
	(void)snprintf(w->result, sizeof(w->result), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(e, "detail", &v))
		(void)snprintf(w->detail, sizeof(w->detail), "%s", json_object_get_string(v));
	w->got = true;
}

static int legacy_action_taken(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	LegacyWait *w = ASSERT_PTR(userdata);
	json_object *e = NULL;

	if (w->got || client_read_json(m, &e) < 0)
		return 0;
	legacy_match(w, e);
	json_object_put(e);
	return 0;
}

/* Send @call (a method of the function @fid) and wait for the result of
 * @action. Returns an exit status, with the message printed. */
static int legacy_call(sd_bus *bus, sd_bus_message *call, uint32_t fid, const char *slot, const char *action,
		       bool *ret_refused)
{
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *match = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	LegacyWait w = { .fid = fid, .action = action };
	const char *e = getenv("ZPCICTL_WAIT_SEC");
	uint64_t wait_sec = LEGACY_WAIT_SEC_DEFAULT, deadline;
	int r;

	if (!isempty(e) && (parse_u64(e, &wait_sec) < 0 || wait_sec == 0))
		return fail(EXIT_FAIL, NULL, "Invalid $ZPCICTL_WAIT_SEC '%s'.", e);
	/* subscribed before the call, so the result cannot pass unseen */
	r = sd_bus_match_signal(bus, &match, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE, "ActionTaken",
				legacy_action_taken, &w);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "%s: failed to watch for the result: %s", slot, strerror(-r));
	r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		if (ret_refused)
			*ret_refused = true;
		(void)bus_fail(&error, r, slot);
		return EXIT_FAIL; /* s390-tools: 1 for every failure */
	}
	deadline = now_usec(CLOCK_MONOTONIC) + wait_sec * USEC_PER_SEC;
	while (!w.got) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		if (now >= deadline)
			return fail(EXIT_FAIL, NULL, "%s: no result of %s from zpcid within %" PRIu64 " s.",
				    slot, action, wait_sec);
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return fail(EXIT_FAIL, NULL, "%s: lost the connection to zpcid: %s", slot,
				    strerror(-r));
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, deadline - now);
		if (r < 0 && r != -EINTR)
			return fail(EXIT_FAIL, NULL, "%s: failed to wait for zpcid: %s", slot, strerror(-r));
	}
	if (action_result_from_string(w.result) == ACTION_RESULT_DONE)
		return EXIT_OK;
	return fail(EXIT_FAIL, NULL, "%s: %s %s through zpcid: %s", slot, action, w.result,
		    isempty(w.detail) ? "no detail" : w.detail);
}

/* Cut @s to at most @max bytes without splitting a UTF-8 sequence. */
static void cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

/* Through zpcid: the same platform actions as without it, recorded with the
 * caller; each waited for, so that a failure is the exit status. */
static int legacy_daemon(sd_bus *bus, const char *device, const char *slot, uint32_t fid)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
	_cleanup_free_ char *data = NULL;
	char path[64], message[128] = "", action[32];
	ReportErrorAction ra = legacy_report_action(arg_legacy);
	size_t len = 0;
	bool refused = false;
	int r, ret;

	r = legacy_log_data(device, slot, &data, &len);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "%s: %s", slot, strerror(-r));
	if (arg_message) {
		(void)snprintf(message, sizeof(message), "%s", arg_message);
		cut_utf8(message, sizeof(message) - 1); /* the whole text is in the log data */
	}
	(void)snprintf(path, sizeof(path), BUS_FUNCTION_PREFIX "/%08" PRIx32, fid);
	(void)snprintf(action, sizeof(action), "report-%s", report_error_action_to_string(ra));

	r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, path, BUS_FUNCTION_INTERFACE, "Report");
	if (r >= 0)
		r = sd_bus_message_append(call, "ss", report_error_action_to_string(ra), message);
	if (r >= 0)
		r = sd_bus_message_append(call, "a{sv}", 2, "err_log_id", "t", (uint64_t)DEVICE_ERR_LOG_ID,
					  "log_data", "s", strempty(data));
	if (r == -EINVAL && data)
		return fail(EXIT_FAIL, NULL,
			    "%s: the log data (S.M.A.R.T. output) is not valid UTF-8 and cannot go "
			    "through zpcid; use --no-daemon.",
			    slot);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "%s: %s", slot, strerror(-r));
	ret = legacy_call(bus, call, fid, slot, action, &refused);
	if (arg_legacy != LEGACY_RESET || refused)
		return ret;

	/* --reset: after the report, the kernel's recovery (write 1 to recover) */
	call = sd_bus_message_unref(call);
	r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, path, BUS_FUNCTION_INTERFACE, "Reset");
	if (r >= 0)
		r = sd_bus_message_append(call, "a{sv}", 2, "message", "s", message, "recover", "b", 1);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "%s: %s", slot, strerror(-r));
	/* even when the report failed, as s390-tools does */
	r = legacy_call(bus, call, fid, slot, "recover", NULL);
	return r != EXIT_OK ? r : ret;
}

static int run_legacy(int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	char slot[64];
	uint32_t fid = 0;
	int r;

	/* exit statuses and messages as s390-tools' zpcictl: 1 for every failure */
	if (argc - optind < 1)
		return fail(EXIT_FAIL, NULL, "No device specified");
	if (argc - optind > 1)
		return fail(EXIT_FAIL, NULL,
			    "--%s takes one DEVICE (a PCI address, an NVMe device node or a FID).",
			    legacy_name(arg_legacy));
	r = device_resolve(arg_sysfs_root, argv[optind], slot, sizeof(slot));
	if (r == -ENOENT || r == -EINVAL)
		return fail(EXIT_FAIL, NULL, "Could not find device %s", argv[optind]);
	if (r == -ENODEV)
		return fail(EXIT_FAIL, NULL, "%s: not a zPCI function.", argv[optind]);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Could not find device %s: %s", argv[optind], strerror(-r));
	(void)device_read_fid(arg_sysfs_root, slot, &fid);

	if (!arg_no_daemon && client_connect(&bus) >= 0)
		return legacy_daemon(bus, argv[optind], slot, fid);
	return legacy_direct(argv[optind], slot);
}

/* --- list, show ---------------------------------------------------------- */

static const OutputColumn function_columns[] = { { "fid", "FID", OUTPUT_CELL_HEX8 },
						 { "slot", "SLOT", OUTPUT_CELL_TEXT },
						 { "pft_name", "TYPE", OUTPUT_CELL_MINUS },
						 { "driver", "DRIVER", OUTPUT_CELL_MINUS },
						 { "mode", "MODE", OUTPUT_CELL_TEXT },
						 { "state", "STATE", OUTPUT_CELL_TEXT },
						 { "errors", "ERRORS", OUTPUT_CELL_TEXT },
						 { "last_error.pec", "LAST-PEC", OUTPUT_CELL_HEX4 },
						 { "owner_machine", "MACHINE", OUTPUT_CELL_MINUS },
						 {} };

static const OutputColumn show_columns[] = { { "fid", "FID", OUTPUT_CELL_HEX8 },
					     { "uid", "UID", OUTPUT_CELL_HEX8 },
					     { "pchid", "PCHID", OUTPUT_CELL_HEX4 },
					     { "slot", "SLOT", OUTPUT_CELL_TEXT },
					     { "pft_name", "TYPE", OUTPUT_CELL_MINUS },
					     { "driver", "DRIVER", OUTPUT_CELL_MINUS },
					     { "mode", "MODE", OUTPUT_CELL_TEXT },
					     { "state", "STATE", OUTPUT_CELL_TEXT },
					     { "owner_command", "OWNER", OUTPUT_CELL_MINUS },
					     { "owner_pid", "OWNER-PID", OUTPUT_CELL_MINUS },
					     { "owner_machine", "MACHINE", OUTPUT_CELL_MINUS },
					     { "owner_machine_class", "MACHINE-CLASS", OUTPUT_CELL_MINUS },
					     { "owner_unit", "UNIT", OUTPUT_CELL_MINUS },
					     { "errors", "ERRORS", OUTPUT_CELL_TEXT },
					     { "actions", "ACTIONS", OUTPUT_CELL_TEXT },
					     {} };

static int emit(const char *name, bool list, const OutputColumn *columns, json_object *records)
{
	_cleanup_(output_freep) Output *o = NULL;
	int r;

	r = output_new(&o, stdout, arg_format, &meta, name, list, columns);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to set up the output: %s", strerror(-r));
	output_set_no_header(o, arg_no_header);
	if (list)
		for (size_t i = 0; r >= 0 && i < json_object_array_length(records); i++)
			r = output_add(o, json_object_array_get_idx(records, i));
	else
		r = output_add(o, records);
	if (r >= 0)
		r = output_finish(o);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to write the output: %s", strerror(-r));
	return EXIT_OK;
}

static int cmd_list(sd_bus *bus, int argc, char **argv)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	json_object *functions = NULL;
	int r;

	if (argc != 1)
		return fail(EXIT_FAIL, NULL, "list takes no arguments (see --help).");
	r = client_get_functions(bus, &functions, &error);
	if (r < 0) {
		r = bus_fail(&error, r, "Failed to list the functions");
		sd_bus_error_free(&error);
		return r;
	}
	r = emit("functions", true, function_columns, functions);
	if (r == EXIT_OK && json_object_array_length(functions) == 0)
		r = EXIT_NOTHING;
	json_object_put(functions);
	return r;
}

/* --- adapters ------------------------------------------------------------ */

static const OutputColumn adapter_columns[] = { { "pchid", "PCHID", OUTPUT_CELL_HEX4 },
						{ "port", "PORT", OUTPUT_CELL_MINUS },
						{ "function_count", "FUNCTIONS", OUTPUT_CELL_TEXT },
						{ "recent_functions", "FAILING", OUTPUT_CELL_TEXT },
						{ "errors", "ERRORS", OUTPUT_CELL_TEXT },
						{ "adapter_events", "EVENTS", OUTPUT_CELL_TEXT },
						{ "last_adapter_event", "LAST-EVENT", OUTPUT_CELL_TIME },
						{ "machines", "MACHINES", OUTPUT_CELL_MINUS },
						{ "members", "MEMBERS (FID:STATE:ERRORS)",
						  OUTPUT_CELL_TEXT },
						{} };

/* For the table: the functions of an adapter in one cell, "10:ok:0 11:error:3",
 * and the machines (guests) that hold them in another, each named once. */
static int add_members(json_object *adapter)
{
	json_object *fns = NULL, *v;
	_cleanup_free_ char *text = NULL, *machines = NULL;
	size_t size = 0, msize = 0;
	FILE *f, *mf;
	int r;

	if (!json_object_object_get_ex(adapter, "functions", &fns) ||
	    !json_object_is_type(fns, json_type_array))
		return 0;
	f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	mf = open_memstream(&machines, &msize);
	if (!mf) {
		(void)fclose(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < json_object_array_length(fns); i++) {
		json_object *fn = json_object_array_get_idx(fns, i);
		uint32_t fid = 0;
		uint64_t errors = 0;
		const char *state = "?";
		bool seen = false;

		if (json_object_object_get_ex(fn, "owner_machine", &v)) {
			const char *machine = json_object_get_string(v);

			for (size_t j = 0; j < i && !seen; j++) {
				json_object *other = json_object_array_get_idx(fns, j), *w;

				seen = json_object_object_get_ex(other, "owner_machine", &w) &&
				       streq(json_object_get_string(w), machine);
			}
			if (!seen)
				fprintf(mf, "%s%s", ftell(mf) > 0 ? "," : "", machine);
		}

		if (json_object_object_get_ex(fn, "fid", &v))
			fid = (uint32_t)json_object_get_uint64(v);
		if (json_object_object_get_ex(fn, "state", &v))
			state = json_object_get_string(v);
		if (json_object_object_get_ex(fn, "errors", &v))
			errors = json_object_get_uint64(v);
		fprintf(f, "%s%x:%s:%" PRIu64, i > 0 ? " " : "", fid, state, errors);
	}
	r = fclose(f) != 0 ? -ENOMEM : 0;
	if (fclose(mf) != 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	if (json_object_object_add(adapter, "members", json_object_new_string(text)) < 0)
		return -ENOMEM;
	if (!isempty(machines) &&
	    json_object_object_add(adapter, "machines", json_object_new_string(machines)) < 0)
		return -ENOMEM;
	return 0;
}

/* ListAdapters as a JSON array. Returns 0 or -errno (@error set for a bus error). */
static int get_adapters(sd_bus *bus, json_object **ret, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE, "ListAdapters", error, &reply,
			       NULL);
	if (r < 0)
		return r;
	return client_read_json(reply, ret);
}

static int cmd_adapters(sd_bus *bus, int argc, char **argv)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	json_object *adapters = NULL;
	int r;

	if (argc != 1)
		return fail(EXIT_FAIL, NULL, "adapters takes no arguments (see --help).");
	r = get_adapters(bus, &adapters, &error);
	if (r < 0) {
		r = bus_fail(&error, r, "Failed to list the adapters");
		sd_bus_error_free(&error);
		return r;
	}
	if (arg_format == OUTPUT_TABLE)
		for (size_t i = 0; r >= 0 && i < json_object_array_length(adapters); i++)
			r = add_members(json_object_array_get_idx(adapters, i));
	if (r < 0)
		r = fail(EXIT_FAIL, NULL, "Failed to list the adapters: %s", strerror(-r));
	else
		r = emit("adapters", true, adapter_columns, adapters);
	if (r == EXIT_OK && json_object_array_length(adapters) == 0)
		r = EXIT_NOTHING;
	json_object_put(adapters);
	return r;
}

static int cmd_show(sd_bus *bus, int argc, char **argv)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	json_object *functions = NULL, *f;
	int r;

	if (argc != 2)
		return fail(EXIT_FAIL, NULL, "show needs one FUNCTION (FID, uid:UID or PCI address).");
	if (!client_function_spec_valid(argv[1]))
		return fail(EXIT_FAIL, NULL, "'%s' is not a FID, uid:UID or PCI address.", argv[1]);
	r = client_get_functions(bus, &functions, &error);
	if (r < 0) {
		r = bus_fail(&error, r, "Failed to list the functions");
		sd_bus_error_free(&error);
		return r;
	}
	f = client_find_function(functions, argv[1]);
	if (!f)
		r = fail(EXIT_NOT_FOUND, BUS_ERROR_NO_SUCH_FUNCTION, "No function '%s'.", argv[1]);
	else
		r = emit("function", false, show_columns, f);
	json_object_put(functions);
	return r;
}

/* --- events, monitor ----------------------------------------------------- */

static const OutputColumn event_columns[] = {
	{ "time", "TIME", OUTPUT_CELL_TIME },       { "fid", "FID", OUTPUT_CELL_HEX8 },
	{ "kind", "KIND", OUTPUT_CELL_TEXT },       { "pec", "PEC", OUTPUT_CELL_HEX4 },
	{ "action", "ACTION", OUTPUT_CELL_MINUS },  { "result", "RESULT", OUTPUT_CELL_MINUS },
	{ "message", "MESSAGE", OUTPUT_CELL_TEXT }, {}
};

static const OutputColumn monitor_columns[] = { { "signal", "SIGNAL", OUTPUT_CELL_TEXT },
						{ "time", "TIME", OUTPUT_CELL_TIME },
						{ "fid", "FID", OUTPUT_CELL_HEX8 },
						{ "kind", "KIND", OUTPUT_CELL_MINUS },
						{ "pec", "PEC", OUTPUT_CELL_HEX4 },
						{ "message", "MESSAGE", OUTPUT_CELL_TEXT },
						{} };

/* "@1700000000", "2023-11-14 12:00[:00]", "-1h", "-30m", "-2d", "-10s". Returns 0 or -EINVAL. */
static int parse_time(const char *s, uint64_t *ret)
{
	struct tm tm = {};
	char *end;
	const char *p;
	unsigned long long v;

	if (s[0] == '@') {
		errno = 0;
		v = strtoull(s + 1, &end, 10);
		if (errno || *end || end == s + 1)
			return -EINVAL;
		*ret = v * USEC_PER_SEC;
		return 0;
	}
	if (s[0] == '-') {
		uint64_t unit;

		errno = 0;
		v = strtoull(s + 1, &end, 10);
		if (errno || end == s + 1 || strlen(end) != 1)
			return -EINVAL;
		unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
		if (!unit)
			return -EINVAL;
		*ret = ((uint64_t)time(NULL) - v * unit) * USEC_PER_SEC;
		return 0;
	}
	p = strptime(s, "%Y-%m-%d", &tm);
	if (p && *p == ' ')
		p = strptime(p + 1, "%H:%M", &tm);
	if (p && *p == ':')
		p = strptime(p + 1, "%S", &tm);
	if (!p || *p)
		return -EINVAL;
	tm.tm_isdst = -1;
	*ret = (uint64_t)mktime(&tm) * USEC_PER_SEC;
	return 0;
}

typedef struct EventFilter {
	bool has_fid, has_pec;
	uint32_t fid;
	uint16_t pec;
	uint64_t since, until;
} EventFilter;

static bool event_matches(const EventFilter *flt, json_object *e)
{
	json_object *v = NULL;

	if (flt->has_fid &&
	    (!json_object_object_get_ex(e, "fid", &v) || json_object_get_uint64(v) != flt->fid))
		return false;
	if (flt->has_pec &&
	    (!json_object_object_get_ex(e, "pec", &v) || json_object_get_uint64(v) != flt->pec))
		return false;
	if (arg_kind &&
	    (!json_object_object_get_ex(e, "kind", &v) || !streq(json_object_get_string(v), arg_kind)))
		return false;
	return true;
}

static int resolve_function_fid(sd_bus *bus, const char *spec, uint32_t *ret)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	json_object *functions = NULL, *f, *fid = NULL;
	uint64_t n;
	char *end;
	int r;

	r = client_get_functions(bus, &functions, &error);
	sd_bus_error_free(&error);
	if (r >= 0 && (f = client_find_function(functions, spec)) &&
	    json_object_object_get_ex(f, "fid", &fid)) {
		*ret = (uint32_t)json_object_get_uint64(fid);
		json_object_put(functions);
		return 0;
	}
	json_object_put(functions);
	/* A function that is gone still has its history: accept a plain FID. */
	errno = 0;
	n = strtoull(spec, &end, 0);
	if (errno || *end || isempty(spec) || n > UINT32_MAX)
		return -ENOENT;
	*ret = (uint32_t)n;
	return 0;
}

static int event_signal_handler(sd_bus_message *m, void *userdata, sd_bus_error *error);

typedef struct Stream {
	Output *output;
	EventFilter filter;
	uint64_t last_seq;
	uint64_t n;
	bool monitor; /* all signals, with a "signal" key */
} Stream;

/* Dispatch bus messages (whose handlers count records in *@n) until the
 * connection fails or --count records arrived. Returns an exit code. */
static int follow_bus(sd_bus *bus, const uint64_t *n)
{
	int r;

	for (;;) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return fail(EXIT_FAIL, NULL, "Lost the connection to the bus: %s", strerror(-r));
		if (arg_count && *n >= arg_count)
			return EXIT_OK;
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, UINT64_MAX);
		if (r < 0 && r != -EINTR)
			return fail(EXIT_FAIL, NULL, "Failed to wait for the bus: %s", strerror(-r));
	}
}

/* events top|rate|decisions: what the history says about a window. */
static int cmd_events_summary(sd_bus *bus, const char *what)
{
	EventsSummaryArgs a = { .top = (unsigned)arg_top,
				.bucket_usec = arg_bucket,
				.format = arg_format,
				.meta = &meta,
				.no_header = arg_no_header };

	if (streq(what, "top")) {
		if (!arg_by || streq(arg_by, "function"))
			a.view = EVENTS_SUMMARY_TOP_FUNCTIONS;
		else if (streq(arg_by, "adapter"))
			a.view = EVENTS_SUMMARY_TOP_ADAPTERS;
		else
			return fail(EXIT_FAIL, NULL, "Invalid --by '%s' (function or adapter).", arg_by);
	} else if (streq(what, "rate"))
		a.view = EVENTS_SUMMARY_RATE;
	else if (streq(what, "decisions"))
		a.view = EVENTS_SUMMARY_DECISIONS;
	else
		return fail(EXIT_FAIL, NULL, "Unknown events summary '%s' (top, rate or decisions).", what);
	if (arg_by && a.view != EVENTS_SUMMARY_TOP_FUNCTIONS && a.view != EVENTS_SUMMARY_TOP_ADAPTERS)
		return fail(EXIT_FAIL, NULL, "--by goes with events top.");
	if (arg_follow || arg_pec || arg_kind || arg_limit || arg_offset || arg_count)
		return fail(EXIT_FAIL, NULL,
			    "events %s takes --since, --until, --function, --top, --bucket and --by only.",
			    what);
	if (arg_since && parse_time(arg_since, &a.since_usec) < 0)
		return fail(EXIT_FAIL, NULL, "Invalid time '%s' for --since.", arg_since);
	if (arg_until && parse_time(arg_until, &a.until_usec) < 0)
		return fail(EXIT_FAIL, NULL, "Invalid time '%s' for --until.", arg_until);
	if (arg_function) {
		if (resolve_function_fid(bus, arg_function, &a.fid) < 0)
			return fail(EXIT_NOT_FOUND, "org.zpcid1.Error.NoSuchFunction", "No function '%s'.",
				    arg_function);
		a.has_fid = true;
	}
	return events_summary_run(bus, &a, stdout);
}

static int cmd_events(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
	_cleanup_(output_freep) Output *o = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	json_object *events = NULL;
	EventFilter flt = {};
	uint64_t total = 0, pec;
	Stream s = {};
	int r;

	if (argc == 2)
		return cmd_events_summary(bus, argv[1]);
	if (argc != 1)
		return fail(EXIT_FAIL, NULL,
			    "events takes at most one argument: top, rate or decisions (see --help).");
	if (arg_top || arg_bucket || arg_by)
		return fail(EXIT_FAIL, NULL,
			    "--top, --bucket and --by go with events top, rate or decisions.");
	if (arg_since && parse_time(arg_since, &flt.since) < 0)
		return fail(EXIT_FAIL, NULL, "Invalid time '%s' for --since.", arg_since);
	if (arg_until && parse_time(arg_until, &flt.until) < 0)
		return fail(EXIT_FAIL, NULL, "Invalid time '%s' for --until.", arg_until);
	if (arg_function) {
		if (resolve_function_fid(bus, arg_function, &flt.fid) < 0)
			return fail(EXIT_NOT_FOUND, BUS_ERROR_NO_SUCH_FUNCTION, "No function '%s'.",
				    arg_function);
		flt.has_fid = true;
	}
	if (arg_pec) {
		char *end;

		errno = 0;
		pec = strtoull(arg_pec, &end, 16);
		if (errno || *end || isempty(arg_pec) || pec > UINT16_MAX)
			return fail(EXIT_FAIL, NULL, "Invalid PEC '%s' (a hexadecimal number).", arg_pec);
		flt.pec = (uint16_t)pec;
		flt.has_pec = true;
	}

	r = output_new(&o, stdout, arg_format, &meta, "events", true, event_columns);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to set up the output: %s", strerror(-r));
	output_set_no_header(o, arg_no_header);
	output_set_streaming(o, arg_follow);
	s.output = o;
	s.filter = flt;

	if (arg_follow) {
		/* Subscribe first, so nothing falls between the query and the signals. */
		r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE, NULL,
					event_signal_handler, &s);
		if (r < 0)
			return fail(EXIT_FAIL, NULL, "Failed to subscribe to the signals: %s", strerror(-r));
	}

	r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE,
					   "GetEvents");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "{sv}");
	if (r >= 0 && flt.since)
		r = bus_dict_append(call, "since", "t", flt.since);
	if (r >= 0 && flt.until)
		r = bus_dict_append(call, "until", "t", flt.until);
	if (r >= 0 && flt.has_fid)
		r = bus_dict_append(call, "fid", "u", flt.fid);
	if (r >= 0 && flt.has_pec)
		r = bus_dict_append(call, "pec", "q", flt.pec);
	if (r >= 0 && arg_kind)
		r = bus_dict_append(call, "kind", "s", arg_kind);
	if (r >= 0 && arg_limit)
		r = bus_dict_append(call, "limit", "u", (uint32_t)MIN(arg_limit, (uint64_t)UINT32_MAX));
	if (r >= 0 && arg_offset)
		r = bus_dict_append(call, "offset", "t", arg_offset);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to build the query: %s", strerror(-r));
	r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		r = bus_fail(&error, r, "Failed to query the events");
		sd_bus_error_free(&error);
		return r;
	}
	r = client_read_json(reply, &events);
	if (r >= 0)
		r = sd_bus_message_read(reply, "t", &total);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to read the events: %s", strerror(-r));
	for (size_t i = 0; r >= 0 && i < json_object_array_length(events); i++) {
		json_object *e = json_object_array_get_idx(events, i), *seq = NULL;

		if (json_object_object_get_ex(e, "seq", &seq))
			s.last_seq = MAX(s.last_seq, json_object_get_uint64(seq));
		r = output_add(o, e);
		s.n++;
	}
	json_object_put(events);
	if (r >= 0 && !arg_follow)
		r = output_finish(o);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to write the output: %s", strerror(-r));
	if (!arg_follow)
		return s.n == 0 ? EXIT_NOTHING : EXIT_OK;

	r = follow_bus(bus, &s.n);
	if (r != EXIT_OK)
		return r;
	(void)output_finish(o);
	return EXIT_OK;
}

static int event_signal_handler(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Stream *s = ASSERT_PTR(userdata);
	const char *member = sd_bus_message_get_member(m);
	json_object *e = NULL, *seq = NULL;

	if (!member ||
	    !(streq(member, "ErrorReported") || streq(member, "RecoveryReported") ||
	      streq(member, "ActionTaken") || streq(member, "Alert") || streq(member, "AdapterEvent")))
		return 0;
	/* AdapterEvent: the record follows pchid, port, fids and the function count */
	if (streq(member, "AdapterEvent")) {
		if (!streq(strempty(sd_bus_message_get_signature(m, true)), "qiauua{sv}") ||
		    sd_bus_message_skip(m, "qiauu") < 0)
			return 0;
	} else if (!streq(strempty(sd_bus_message_get_signature(m, true)), "a{sv}"))
		return 0;
	if (client_read_json(m, &e) < 0)
		return 0;
	if (json_object_object_get_ex(e, "seq", &seq) && json_object_get_uint64(seq) <= s->last_seq &&
	    !s->monitor) {
		json_object_put(e);
		return 0;
	}
	if (s->monitor || event_matches(&s->filter, e)) {
		if (s->monitor) {
			json_object *rec = json_object_new_object();

			(void)json_object_object_add(rec, "signal", json_object_new_string(member));
			json_object_object_foreach (e, k, v)
				(void)json_object_object_add(rec, k, json_object_get(v));
			json_object_put(e);
			e = rec;
		}
		(void)output_add(s->output, e);
		s->n++;
	}
	json_object_put(e);
	return 0;
}

static int object_signal_handler(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Stream *s = ASSERT_PTR(userdata);
	const char *member = sd_bus_message_get_member(m), *path = NULL;
	json_object *rec;
	unsigned fid = 0;

	if (sd_bus_message_read(m, "o", &path) < 0 ||
	    !strneq(path, BUS_FUNCTION_PREFIX "/", strlen(BUS_FUNCTION_PREFIX "/")))
		return 0;
	rec = json_object_new_object();
	(void)json_object_object_add(rec, "signal",
				     json_object_new_string(streq(member, "InterfacesAdded")
								    ? "FunctionAdded"
								    : "FunctionRemoved"));
	if (sscanf(path + strlen(BUS_FUNCTION_PREFIX "/"), "%x", &fid) == 1)
		(void)json_object_object_add(rec, "fid", json_object_new_int64(fid));
	(void)json_object_object_add(rec, "object", json_object_new_string(path));
	(void)output_add(s->output, rec);
	json_object_put(rec);
	s->n++;
	return 0;
}

/* A record of monitor's own about zpcid on the bus: @signal and @message,
 * with the time it was seen. */
static void daemon_record(Stream *s, const char *signal, const char *message)
{
	json_object *rec;

	rec = json_object_new_object();
	(void)json_object_object_add(rec, "signal", json_object_new_string(signal));
	(void)json_object_object_add(rec, "time", json_object_new_uint64(now_usec(CLOCK_REALTIME)));
	(void)json_object_object_add(rec, "message", json_object_new_string(message));
	(void)output_add(s->output, rec);
	json_object_put(rec);
	s->n++;
}

/* zpcid left the bus or came (back): say so and go on listening. */
static int owner_signal_handler(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Stream *s = ASSERT_PTR(userdata);
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, BUS_NAME))
		return 0;
	if (isempty(new_owner))
		daemon_record(s, "DaemonStopped", "zpcid left the bus; waiting for it to come back");
	else
		daemon_record(s, "DaemonStarted", "zpcid is on the bus");
	return 0;
}

static int cmd_monitor(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(output_freep) Output *o = NULL;
	Stream s = { .monitor = true };
	int r;

	if (argc != 1)
		return fail(EXIT_FAIL, NULL, "monitor takes no arguments (see --help).");
	r = output_new(&o, stdout, arg_format, &meta, "signals", true, monitor_columns);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to set up the output: %s", strerror(-r));
	output_set_streaming(o, true);
	output_set_no_header(o, arg_no_header);
	s.output = o;

	r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE, NULL,
				event_signal_handler, &s);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.ObjectManager",
					NULL, object_signal_handler, &s);
	if (r >= 0)
		r = sd_bus_add_match(
			bus, NULL,
			"type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
			"interface='org.freedesktop.DBus',member='NameOwnerChanged',"
			"arg0='" BUS_NAME "'",
			owner_signal_handler, &s);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to subscribe to the signals: %s", strerror(-r));

	/* Asked only now that NameOwnerChanged is subscribed to: a zpcid that
	 * comes or goes after the answer is seen as DaemonStarted/DaemonStopped. */
	r = client_daemon_running(bus);
	if (r < 0)
		return fail(EXIT_FAIL, NULL, "Failed to ask the bus for zpcid: %s", strerror(-r));
	/* Tell a watching script (or test) that the subscription is in place
	 * and whether zpcid was there then. */
	(void)output_finish(o);
	if (r == 0)
		daemon_record(&s, "DaemonNotRunning", "zpcid is not on the bus; waiting for it to start");

	r = follow_bus(bus, &s.n);
	if (r != EXIT_OK)
		return r;
	return EXIT_OK;
}

/* --- policy -------------------------------------------------------------- */

static int get_property_json(sd_bus *bus, const char *path, const char *iface, const char *name,
			     json_object **ret, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get", error, &reply,
			       "ss", iface, name);
	if (r < 0)
		return r;
	return client_read_json(reply, ret);
}

#define POLICY_TEXT_MAX (256 * 1024) /* what zpcid accepts */

/* Read the regular file @path, at most POLICY_TEXT_MAX bytes. Returns 0,
 * -EFBIG when it is larger, or -errno. */
static int read_policy_text(const char *path, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;
	ssize_t k;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	buf = malloc(POLICY_TEXT_MAX + 1);
	if (!buf)
		return -ENOMEM;
	while (n <= POLICY_TEXT_MAX && (k = read(fd, buf + n, POLICY_TEXT_MAX + 1 - n)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n += (size_t)k;
	}
	if (n > POLICY_TEXT_MAX)
		return -EFBIG;
	*ret = TAKE_PTR(buf);
	*ret_size = n;
	return 0;
}

static int cmd_policy(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	json_object *rec, *diag = NULL, *v = NULL;
	static const OutputColumn check_columns[] = { { "file", "FILE", OUTPUT_CELL_TEXT },
						      { "valid", "VALID", OUTPUT_CELL_TEXT },
						      {} };
	static const OutputColumn show_policy_columns[] = { { "file", "FILE", OUTPUT_CELL_MINUS },
							    { "load_time", "LOADED", OUTPUT_CELL_TIME },
							    { "inhibitors", "INHIBITORS", OUTPUT_CELL_TEXT },
							    {} };
	int valid = 0, r;

	if (argc < 2)
		return fail(EXIT_FAIL, NULL, "policy needs a verb: check FILE, show or reload.");
	if (streq(argv[1], "check")) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
		_cleanup_free_ char *text = NULL;
		char abs[4096];
		size_t size = 0;

		if (argc != 3)
			return fail(EXIT_FAIL, NULL, "policy check needs one FILE.");
		/* Read with the caller's rights: zpcid checks the text, it opens nothing. */
		r = read_policy_text(argv[2], &text, &size);
		if (r == -ENOENT)
			return fail(EXIT_NOT_FOUND, NULL, "%s: %s", argv[2], strerror(-r));
		if (r == -EFBIG)
			return fail(EXIT_FAIL, NULL, "%s: larger than %d bytes.", argv[2], POLICY_TEXT_MAX);
		if (r < 0)
			return fail(EXIT_FAIL, NULL, "%s: %s", argv[2], strerror(-r));
		if (!realpath(argv[2], abs))
			(void)snprintf(abs, sizeof(abs), "%s", argv[2]);
		r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE,
						   "CheckPolicy");
		if (r >= 0)
			r = sd_bus_message_append_array(call, 'y', text, size);
		if (r >= 0)
			r = sd_bus_message_append(call, "a{sv}", 1, "name", "s", abs);
		if (r >= 0)
			r = sd_bus_call(bus, call, 0, &error, &reply);
		if (r >= 0)
			r = sd_bus_message_read(reply, "b", &valid);
		if (r >= 0)
			r = client_read_json(reply, &diag);
		if (r < 0) {
			r = bus_fail(&error, r, "Failed to check the policy");
			sd_bus_error_free(&error);
			return r;
		}
		rec = json_object_new_object();
		(void)json_object_object_add(rec, "file", json_object_new_string(abs));
		(void)json_object_object_add(rec, "valid", json_object_new_boolean(valid));
		(void)json_object_object_add(rec, "diagnostics", diag);
		r = emit("policy_check", false, check_columns, rec);
		if (arg_format == OUTPUT_TABLE)
			for (size_t i = 0; i < json_object_array_length(diag); i++)
				fprintf(stderr, "%s\n",
					json_object_get_string(json_object_array_get_idx(diag, i)));
		json_object_put(rec);
		return r != EXIT_OK ? r : valid ? EXIT_OK : EXIT_FAIL;
	}
	if (streq(argv[1], "reload")) {
		r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE, "Reload", &error,
				       NULL, "a{sv}", 0);
		if (r < 0) {
			r = bus_fail(&error, r, "Failed to reload");
			sd_bus_error_free(&error);
			return r;
		}
		return EXIT_OK;
	}
	if (streq(argv[1], "show")) {
		rec = json_object_new_object();
		r = get_property_json(bus, BUS_PATH, BUS_MANAGER_INTERFACE, "PolicyFile", &v, &error);
		if (r >= 0) {
			(void)json_object_object_add(rec, "file", v);
			r = get_property_json(bus, BUS_PATH, BUS_MANAGER_INTERFACE, "PolicyLoadTime", &v,
					      &error);
		}
		if (r >= 0) {
			(void)json_object_object_add(rec, "load_time", v);
			r = get_property_json(bus, BUS_PATH, BUS_MANAGER_INTERFACE, "Inhibitors", &v,
					      &error);
		}
		if (r >= 0) {
			json_object *list = json_object_new_array();

			for (size_t i = 0; i < json_object_array_length(v); i++) {
				json_object *t = json_object_array_get_idx(v, i),
					    *o = json_object_new_object();
				static const char *const keys[] = { "who", "why", "what",
								    "uid", "pid", "since" };

				for (size_t k = 0; k < ELEMENTSOF(keys) && k < json_object_array_length(t);
				     k++)
					(void)json_object_object_add(
						o, keys[k],
						json_object_get(json_object_array_get_idx(t, k)));
				(void)json_object_array_add(list, o);
			}
			json_object_put(v);
			(void)json_object_object_add(rec, "inhibitors", list);
		}
		if (r < 0) {
			json_object_put(rec);
			r = bus_fail(&error, r, "Failed to read the policy state");
			sd_bus_error_free(&error);
			return r;
		}
		r = emit("policy", false, show_policy_columns, rec);
		json_object_put(rec);
		return r;
	}
	return fail(EXIT_FAIL, NULL, "Unknown policy verb '%s' (expected check, show or reload).", argv[1]);
}

/* --- inhibit ------------------------------------------------------------- */

static int cmd_inhibit(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_close_ int guard = -EBADF;
	char who[256];
	int fd, r, status;
	pid_t pid;

	if (argc < 2)
		return fail(EXIT_FAIL, NULL, "inhibit needs a COMMAND to run while the inhibitor is held.");
	(void)snprintf(who, sizeof(who), "%s", arg_who ? arg_who : argv[1]);
	r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE, "Inhibit", &error, &reply,
			       "sssa{sv}", who, arg_why ? arg_why : "zpcictl inhibit", arg_what, 0);
	if (r >= 0)
		r = sd_bus_message_read(reply, "h", &fd);
	if (r < 0) {
		r = bus_fail(&error, r, "Failed to take the inhibitor");
		sd_bus_error_free(&error);
		return r;
	}
	/* Our own copy, close-on-exec: the command does not hold the inhibitor. */
	guard = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (guard < 0)
		return fail(EXIT_FAIL, NULL, "Failed to keep the inhibitor: %s", strerror(errno));
	reply = sd_bus_message_unref(reply);
	(void)sd_bus_flush(bus);

	pid = fork();
	if (pid < 0)
		return fail(EXIT_FAIL, NULL, "Failed to fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "zpcictl: failed to run %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail(EXIT_FAIL, NULL, "Failed to wait for %s: %s", argv[1], strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- metrics ------------------------------------------------------------- */

static uint64_t rec_u64(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static const char *rec_str(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* The history's events of @kind. -ENOTSUP (error cleared) when zpcid keeps none. */
static int get_events_of_kind(sd_bus *bus, const char *kind, json_object **ret, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_PATH, BUS_MANAGER_INTERFACE,
					   "GetEvents");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "{sv}");
	if (r >= 0)
		r = bus_dict_append(call, "kind", "s", kind);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r >= 0)
		r = sd_bus_call(bus, call, 0, error, &reply);
	if (r >= 0)
		return client_read_json(reply, ret);
	if (sd_bus_error_has_name(error, BUS_ERROR_NOT_SUPPORTED)) {
		sd_bus_error_free(error);
		return -ENOTSUP;
	}
	return r;
}

/* The series of common/metrics.h from what zpcid publishes: the functions
 * and inhibitors as they are, the counts by PEC class and by action and
 * result from the events its history holds. */
static int cmd_metrics(sd_bus *bus, int argc, char **argv)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	json_object *functions = NULL, *errors = NULL, *actions = NULL, *inhibitors = NULL, *version = NULL,
		    *stall = NULL, *adapters = NULL;
	_cleanup_free_ MetricsFunction *fns = NULL;
	_cleanup_free_ MetricsAction *acts = NULL;
	_cleanup_free_ MetricsAdapter *ads = NULL;
	MetricsSnapshot snap = { .up = true };
	size_t n_acts = 0;
	int r;

	if (argc != 1)
		return fail(EXIT_FAIL, NULL, "metrics takes no arguments.");
	r = client_get_functions(bus, &functions, &error);
	if (r >= 0)
		r = get_property_json(bus, BUS_PATH, BUS_MANAGER_INTERFACE, "Inhibitors", &inhibitors,
				      &error);
	if (r >= 0)
		r = get_property_json(bus, BUS_PATH, BUS_MANAGER_INTERFACE, "Version", &version, &error);
	if (r >= 0) {
		r = get_property_json(bus, BUS_PATH, BUS_MANAGER_INTERFACE, "LoopStallMaxUSec", &stall,
				      &error);
		/* a zpcid without the probe: the series is left out */
		if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_PROPERTY)) {
			sd_bus_error_free(&error);
			r = 0;
		}
	}
	if (r >= 0) {
		r = get_adapters(bus, &adapters, &error);
		/* a zpcid without adapter correlation: the series is left out */
		if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD)) {
			sd_bus_error_free(&error);
			adapters = json_object_new_array();
			r = adapters ? 0 : -ENOMEM;
		}
	}
	if (r >= 0)
		r = get_events_of_kind(bus, "error", &errors, &error);
	if (r >= 0)
		r = get_events_of_kind(bus, "action", &actions, &error);
	if (r == -ENOTSUP) /* no history: no counts by class, action and result */
		r = 0;
	if (r < 0) {
		r = bus_fail(&error, r, "Failed to collect the metrics");
		goto finish;
	}

	fns = calloc(json_object_array_length(functions) + 1, sizeof(*fns));
	acts = calloc(json_object_array_length(actions) + 1, sizeof(*acts));
	if (!fns || !acts) {
		r = fail(EXIT_FAIL, NULL, "Out of memory.");
		goto finish;
	}
	for (size_t i = 0; i < json_object_array_length(functions); i++) {
		json_object *fn = json_object_array_get_idx(functions, i);

		fns[i] = (MetricsFunction){
			.fid = (uint32_t)rec_u64(fn, "fid"),
			.slot = rec_str(fn, "slot"),
			.type = rec_str(fn, "pft_name"),
			.state = rec_str(fn, "state"),
			.errors = rec_u64(fn, "errors"),
			.dropped = rec_u64(fn, "dropped"),
			.recoveries = rec_u64(fn, "recoveries"),
			.actions = rec_u64(fn, "actions"),
			.resets = rec_u64(fn, "resets"),
			.has_owner = rec_u64(fn, "owner_pid") > 0,
			.owner_command = rec_str(fn, "owner_command"),
			.owner_machine = rec_str(fn, "owner_machine"),
			.owner_machine_class = rec_str(fn, "owner_machine_class"),
			.owner_unit = rec_str(fn, "owner_unit"),
		};
	}
	for (size_t e = 0; e < json_object_array_length(errors); e++) {
		json_object *ev = json_object_array_get_idx(errors, e);
		PecClass c = pec_class_from_string(rec_str(ev, "pec_class"));

		for (size_t i = 0; c >= 0 && i < json_object_array_length(functions); i++)
			if (fns[i].fid == rec_u64(ev, "fid"))
				fns[i].errors_by_class[c]++;
	}
	for (size_t e = 0; e < json_object_array_length(actions); e++) {
		json_object *ev = json_object_array_get_idx(actions, e);
		size_t k;

		for (k = 0; k < n_acts; k++)
			if (acts[k].fid == rec_u64(ev, "fid") &&
			    streq(acts[k].action, rec_str(ev, "action")) &&
			    streq(acts[k].result, rec_str(ev, "result")))
				break;
		if (k == n_acts)
			acts[n_acts++] = (MetricsAction){ .fid = (uint32_t)rec_u64(ev, "fid"),
							  .action = rec_str(ev, "action"),
							  .result = rec_str(ev, "result") };
		acts[k].count++;
	}
	ads = calloc(json_object_array_length(adapters) + 1, sizeof(*ads));
	if (!ads) {
		r = fail(EXIT_FAIL, NULL, "Out of memory.");
		goto finish;
	}
	for (size_t i = 0; i < json_object_array_length(adapters); i++) {
		json_object *ad = json_object_array_get_idx(adapters, i), *port = NULL;

		ads[i] = (MetricsAdapter){ .pchid = (uint16_t)rec_u64(ad, "pchid"),
					   .events = rec_u64(ad, "adapter_events") };
		if (json_object_object_get_ex(ad, "port", &port)) {
			ads[i].has_port = true;
			ads[i].port = (uint32_t)json_object_get_uint64(port);
		}
	}
	snap.adapters = ads;
	snap.n_adapters = json_object_array_length(adapters);
	snap.version = json_object_get_string(version);
	snap.has_inhibitors = true;
	snap.n_inhibitors = json_object_array_length(inhibitors);
	snap.has_loop_stall = stall != NULL;
	snap.loop_stall_max_usec = json_object_get_uint64(stall);
	snap.functions = fns;
	snap.n_functions = json_object_array_length(functions);
	snap.actions = acts;
	snap.n_actions = n_acts;
	r = metrics_render(stdout, &snap) >= 0 && fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
finish:
	sd_bus_error_free(&error);
	json_object_put(functions);
	json_object_put(inhibitors);
	json_object_put(version);
	json_object_put(stall);
	json_object_put(errors);
	json_object_put(actions);
	json_object_put(adapters);
	return r;
}

/* --- main ---------------------------------------------------------------- */

static void help(void)
{
	printf("Usage: zpcictl [OPTIONS] --reset|--reset-fw|--deconfigure|--report-error DEVICE\n"
	       "       zpcictl [OPTIONS] COMMAND [ARGS...]\n"
	       "\n"
	       "Query and steer zPCI error handling (zpcid), and report errors of PCI\n"
	       "functions to the platform.\n"
	       "\n"
	       "DEVICE is a PCI address (0001:00:00.0), an NVMe device node (/dev/nvme0) or a FID (0x22).\n"
	       "      --reset            Report the error and start the kernel's recovery\n"
	       "      --reset-fw         Ask the platform for a firmware reset\n"
	       "      --deconfigure      Ask the platform to deconfigure the function for repair\n"
	       "      --report-error     Report an error for information only\n"
	       "      --message=TEXT     Text of the error report\n"
	       "      --no-daemon        Write to sysfs even when zpcid runs (bypasses its\n"
	       "                         history and inhibitors)\n"
	       "\n"
	       "Commands:\n"
	       "  list                   The functions zpcid knows\n"
	       "  show FUNCTION          One function (FID, uid:UID or PCI address)\n"
	       "  adapters               The adapters (PCHID) with their functions and errors\n"
	       "  events                 Recorded events (--since, --until, --function, --pec,\n"
	       "                         --kind, --limit, --offset, --follow)\n"
	       "  events top|rate|decisions\n"
	       "                         What the history says about a window (--since, --until,\n"
	       "                         --function, --top=N, --bucket=DURATION, --by=adapter)\n"
	       "  monitor                Live events and functions coming and going\n"
	       "  policy check FILE|show|reload\n"
	       "  inhibit [--who= --why= --what=] COMMAND [ARGS...]\n"
	       "                         Hold off disruptive actions while COMMAND runs\n"
	       "  metrics                Prometheus text for the node_exporter textfile collector\n"
	       "\n"
	       "  -f --format=FORMAT     table (default), json, json-seq, jsonl, pairs or csv\n"
	       "     --json              Same as --format=json\n"
	       "     --no-header         No table header\n"
	       "  -h --help              Show this help\n"
	       "  -v --version           Show the version\n"
	       "\n"
	       "Exit status: 0 ok, 1 failure, 2 nothing to do (no match), 3 not found.\n"
	       "See zpcictl(8).\n");
}

enum {
	ARG_RESET = 0x100,
	ARG_RESET_FW,
	ARG_DECONFIGURE,
	ARG_REPORT_ERROR,
	ARG_JSON,
	ARG_MESSAGE,
	ARG_NO_DAEMON,
	ARG_NO_HEADER,
	ARG_SYSFS_ROOT,
	ARG_SINCE,
	ARG_UNTIL,
	ARG_FUNCTION,
	ARG_PEC,
	ARG_KIND,
	ARG_LIMIT,
	ARG_OFFSET,
	ARG_FOLLOW,
	ARG_COUNT,
	ARG_WHO,
	ARG_WHY,
	ARG_WHAT,
	ARG_TOP,
	ARG_BUCKET,
	ARG_BY,
};

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end || isempty(s) || s[0] == '-' ? -EINVAL : 0;
}

static int set_legacy(LegacyAction a)
{
	if (arg_legacy != LEGACY_NONE && arg_legacy != a)
		return -EINVAL;
	arg_legacy = a;
	return 0;
}

static int parse_argv(int argc, char **argv, bool permute)
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, 'v' },
						 { "reset", no_argument, NULL, ARG_RESET },
						 { "reset-fw", no_argument, NULL, ARG_RESET_FW },
						 { "deconfigure", no_argument, NULL, ARG_DECONFIGURE },
						 { "report-error", no_argument, NULL, ARG_REPORT_ERROR },
						 { "message", required_argument, NULL, ARG_MESSAGE },
						 { "no-daemon", no_argument, NULL, ARG_NO_DAEMON },
						 { "sysfs-root", required_argument, NULL, ARG_SYSFS_ROOT },
						 { "format", required_argument, NULL, 'f' },
						 { "json", no_argument, NULL, ARG_JSON },
						 { "no-header", no_argument, NULL, ARG_NO_HEADER },
						 { "since", required_argument, NULL, ARG_SINCE },
						 { "until", required_argument, NULL, ARG_UNTIL },
						 { "function", required_argument, NULL, ARG_FUNCTION },
						 { "pec", required_argument, NULL, ARG_PEC },
						 { "kind", required_argument, NULL, ARG_KIND },
						 { "limit", required_argument, NULL, ARG_LIMIT },
						 { "offset", required_argument, NULL, ARG_OFFSET },
						 { "follow", no_argument, NULL, ARG_FOLLOW },
						 { "count", required_argument, NULL, ARG_COUNT },
						 { "who", required_argument, NULL, ARG_WHO },
						 { "why", required_argument, NULL, ARG_WHY },
						 { "what", required_argument, NULL, ARG_WHAT },
						 { "top", required_argument, NULL, ARG_TOP },
						 { "bucket", required_argument, NULL, ARG_BUCKET },
						 { "by", required_argument, NULL, ARG_BY },
						 {} };
	const char *e = getenv("ZPCICTL_SYSFS_ROOT");
	int c;

	if (!isempty(e))
		arg_sysfs_root = e;
	/* "+": options end at the command, so "inhibit CMD -x" passes -x on. */
	while ((c = getopt_long(argc, argv, permute ? "hvf:" : "+hvf:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case 'v':
			printf("zpcictl (zpcid) %s\n", PACKAGE_VERSION);
			return 0;
		case ARG_RESET:
		case ARG_RESET_FW:
		case ARG_DECONFIGURE:
		case ARG_REPORT_ERROR:
			if (set_legacy(c == ARG_RESET         ? LEGACY_RESET
				       : c == ARG_RESET_FW    ? LEGACY_RESET_FW
				       : c == ARG_DECONFIGURE ? LEGACY_DECONFIGURE
							      : LEGACY_REPORT_ERROR) < 0)
				return fail(EXIT_FAIL, NULL,
					    "Only one of --reset, --reset-fw, --deconfigure and "
					    "--report-error may be given."),
				       -EINVAL;
			break;
		case ARG_MESSAGE:
			if (strlen(optarg) > REPORT_ERROR_LOG_DATA_MAX)
				return fail(EXIT_FAIL, NULL, "--message is longer than %d bytes.",
					    REPORT_ERROR_LOG_DATA_MAX),
				       -EINVAL;
			arg_message = optarg;
			break;
		case ARG_NO_DAEMON:
			arg_no_daemon = true;
			break;
		case ARG_SYSFS_ROOT:
			arg_sysfs_root = optarg;
			break;
		case 'f':
			arg_format = output_format_from_string(optarg);
			if (arg_format < 0) {
				arg_format = OUTPUT_TABLE;
				return fail(EXIT_FAIL, NULL,
					    "Unknown format '%s' (expected json, json-seq, jsonl, pairs or "
					    "csv).",
					    optarg),
				       -EINVAL;
			}
			break;
		case ARG_JSON:
			arg_format = OUTPUT_JSON;
			break;
		case ARG_NO_HEADER:
			arg_no_header = true;
			break;
		case ARG_SINCE:
			arg_since = optarg;
			break;
		case ARG_UNTIL:
			arg_until = optarg;
			break;
		case ARG_FUNCTION:
			arg_function = optarg;
			break;
		case ARG_PEC:
			arg_pec = optarg;
			break;
		case ARG_KIND:
			arg_kind = optarg;
			break;
		case ARG_LIMIT:
			if (parse_u64(optarg, &arg_limit) < 0 || arg_limit > 10000)
				return fail(EXIT_FAIL, NULL, "--limit must be a number up to 10000."),
				       -EINVAL;
			break;
		case ARG_OFFSET:
			if (parse_u64(optarg, &arg_offset) < 0)
				return fail(EXIT_FAIL, NULL, "Invalid --offset '%s'.", optarg), -EINVAL;
			break;
		case ARG_FOLLOW:
			arg_follow = true;
			break;
		case ARG_COUNT:
			if (parse_u64(optarg, &arg_count) < 0)
				return fail(EXIT_FAIL, NULL, "Invalid --count '%s'.", optarg), -EINVAL;
			break;
		case ARG_WHO:
			arg_who = optarg;
			break;
		case ARG_WHY:
			arg_why = optarg;
			break;
		case ARG_WHAT:
			arg_what = optarg;
			break;
		case ARG_TOP:
			if (parse_u64(optarg, &arg_top) < 0 || arg_top < 1 || arg_top > 1000)
				return fail(EXIT_FAIL, NULL, "--top must be a number from 1 to 1000."),
				       -EINVAL;
			break;
		case ARG_BUCKET:
			if (events_parse_duration(optarg, &arg_bucket) < 0)
				return fail(EXIT_FAIL, NULL, "Invalid --bucket '%s' (e.g. 30s, 5m, 1h).",
					    optarg),
				       -EINVAL;
			break;
		case ARG_BY:
			arg_by = optarg;
			break;
		case '?':
			return -EINVAL;
		default:
			abort();
		}
	}
	return 1;
}

static const struct {
	const char *name;
	int (*fn)(sd_bus *bus, int argc, char **argv);
	bool waits; /* runs before zpcid is on the bus, and waits for it */
} commands[] = {
	{ "list", cmd_list },       { "show", cmd_show },
	{ "events", cmd_events },   { "monitor", cmd_monitor, true },
	{ "policy", cmd_policy },   { "inhibit", cmd_inhibit },
	{ "metrics", cmd_metrics }, { "adapters", cmd_adapters },
};

static bool is_command(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (streq(s, commands[i].name))
			return true;
	return false;
}

/* Whether @s names a device the s390-tools options would take (an existing
 * one, or one in the form of a PCI address, a device node or a FID). */
static bool looks_like_device(const char *s)
{
	char slot[64];

	return device_resolve(arg_sysfs_root, s, slot, sizeof(slot)) >= 0 || strneq(s, "/dev/", 5) ||
	       client_function_spec_valid(s);
}

/* s390-tools' wording and exit status when no option is given. */
static int no_option(void)
{
	int r = fail(EXIT_FAIL, NULL, "No option specified");

	if (!output_format_is_json(arg_format))
		fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
	return r;
}

int main(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = parse_argv(argc, argv, false);
	if (r < 0)
		return EXIT_FAIL;
	if (r == 0)
		return EXIT_OK;
	(void)signal(SIGPIPE, SIG_IGN);

	/* s390-tools' zpcictl takes its options anywhere: "zpcictl DEVICE --reset". */
	if (arg_legacy == LEGACY_NONE && optind < argc && !is_command(argv[optind])) {
		optind = 0;
		r = parse_argv(argc, argv, true);
		if (r <= 0)
			return r < 0 ? EXIT_FAIL : EXIT_OK;
	}
	/* ... and after it: "zpcictl --report-error DEVICE --message TEXT" */
	if (arg_legacy != LEGACY_NONE && argc - optind > 1) {
		optind = 0;
		r = parse_argv(argc, argv, true);
		if (r <= 0)
			return r < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (arg_legacy != LEGACY_NONE)
		return run_legacy(argc, argv);
	/* As s390-tools' zpcictl: nothing to do, or a DEVICE without an option. */
	if (optind >= argc || (!is_command(argv[optind]) && looks_like_device(argv[optind])))
		return no_option();
	if (!is_command(argv[optind]))
		return fail(EXIT_FAIL, NULL, "Unknown command '%s' (see --help).", argv[optind]);

	for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;

		if (!streq(argv[optind], commands[i].name))
			continue;
		/* Options may follow the command too (and the summary: "events top --top=3"). */
		optind = 0;
		r = parse_argv(sub_argc, sub_argv, streq(commands[i].name, "events"));
		if (r <= 0)
			return r < 0 ? EXIT_FAIL : EXIT_OK;
		if (commands[i].waits) {
			r = client_open(&bus);
			if (r < 0)
				return fail(EXIT_FAIL, NULL, "Failed to connect to the system bus: %s",
					    strerror(-r));
		} else {
			r = connect_or_fail(&bus);
			if (r != EXIT_OK)
				return r;
		}
		/* The command's own arguments, with its name first. */
		sub_argv[optind - 1] = (char *)commands[i].name;
		return commands[i].fn(bus, sub_argc - optind + 1, sub_argv + optind - 1);
	}
	return EXIT_FAIL;
}
