/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/actions.h"
#include "daemon/state-file.h"
#include "daemon/sysfs-write.h"

#define SLOT "0001:00:00.0"
#define FID  0x00000011u

static char root[64];

/* The helper program of the build tree (make check sets it). */
static const char *helper(void)
{
	return getenv("ZPCID_ACTION_HELPER");
}

/*
 * The runner's tests run the real helper for sysfs work, behind a small
 * wrapper (ActionsConfig.helper) for what a test machine has no kernel for:
 * a reset (fd 3 must be the /dev/null the fake prepare hook opened; it
 * sleeps $FAKE_RESET_SLEEP first), a platform without error notification
 * ($FAKE_REPORT_R), and a helper that dies of a signal ($FAKE_DIE).
 */
static const char fake_helper_script[] =
	"#!/bin/sh\n"
	"case \" $* \" in\n"
	"*\" reset \"*)\n"
	"\t[ \"$(readlink /proc/$$/fd/3)\" = /dev/null ] || { echo 'result=-9 detail=VFIO_DEVICE_RESET'; "
	"exit 1; }\n"
	"\t[ -z \"$FAKE_RESET_SLEEP\" ] || sleep \"$FAKE_RESET_SLEEP\"\n"
	"\techo 'result=0 detail=VFIO_DEVICE_RESET'; exit 0;;\n"
	"*\" report \"*)\n"
	"\t[ -z \"$FAKE_REPORT_R\" ] || { echo \"result=$FAKE_REPORT_R detail=report_error\"; exit 1; };;\n"
	"esac\n"
	"[ -z \"$FAKE_DIE\" ] || kill -\"$FAKE_DIE\" $$\n"
	"exec \"$ZPCID_ACTION_HELPER\" \"$@\"\n";

/* Under valgrind every helper and shell is slower; timing checks widen. */
static bool under_valgrind(void)
{
	const char *e = getenv("ZPCID_TEST_VALGRIND");

	return e && streq(e, "1");
}

/* Run under user-mode emulation (tests/run-test, ZPCID_TEST_EMULATOR). */
static bool under_emulation(void)
{
	return !isempty(getenv("ZPCID_TEST_EMULATOR"));
}

/* A sysfs tree with one PCI function bound to vfio-pci. */
static void setup(void)
{
	char cmd[512];

	strcpy(root, "/tmp/test-actions.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	(void)snprintf(cmd, sizeof(cmd),
		       "set -e; cd '%s'; mkdir -p bus/pci/devices/" SLOT " bus/pci/drivers/vfio-pci state;"
		       "touch bus/pci/devices/" SLOT "/recover bus/pci/devices/" SLOT "/driver_override "
		       "bus/pci/devices/" SLOT "/report_error bus/pci/drivers/vfio-pci/unbind;"
		       "ln -s '%s/bus/pci/drivers/vfio-pci' bus/pci/devices/" SLOT "/driver",
		       root, root);
	ck_assert_int_eq(system(cmd), 0);
	(void)snprintf(cmd, sizeof(cmd), "%s/fake-helper", root);
	ck_assert_int_eq(state_file_write(cmd, fake_helper_script, strlen(fake_helper_script), 1), 0);
	ck_assert_int_eq(chmod(cmd, 0755), 0);
}

static void teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *tree(const char *rel)
{
	static char p[4][256];
	static unsigned k;

	k = (k + 1) % 4;
	(void)snprintf(p[k], sizeof(p[k]), "%s/%s", root, rel);
	return p[k];
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t n;

	ck_assert_int_eq(state_file_read(path, &s, &n), 0);
	return s;
}

static void assert_file(const char *rel, const char *expected)
{
	_cleanup_free_ char *s = slurp(tree(rel));

	ck_assert_str_eq(s, expected);
}

START_TEST(test_sysfs_writes)
{
	char drv[64];

	ck_assert_int_eq(sysfs_read_driver(root, SLOT, drv, sizeof(drv)), 0);
	ck_assert_str_eq(drv, "vfio-pci");

	ck_assert_int_eq(sysfs_write_recover(root, SLOT), 0);
	assert_file("bus/pci/devices/" SLOT "/recover", "1");

	/* Bound to another driver: left alone. */
	ck_assert_int_eq(sysfs_unbind(root, SLOT, "mlx5_core", NULL), -EBUSY);
	assert_file("bus/pci/devices/" SLOT "/driver_override", "");
	assert_file("bus/pci/drivers/vfio-pci/unbind", "");

	ck_assert_int_eq(sysfs_unbind(root, SLOT, "vfio-pci", NULL), 0);
	assert_file("bus/pci/devices/" SLOT "/driver_override", "none");
	assert_file("bus/pci/drivers/vfio-pci/unbind", SLOT);

	/* Unbound already: only the override. */
	ck_assert_int_eq(unlink(tree("bus/pci/devices/" SLOT "/driver")), 0);
	ck_assert_int_eq(sysfs_read_driver(root, SLOT, drv, sizeof(drv)), 0);
	ck_assert_str_eq(drv, "");
	ck_assert_int_eq(sysfs_unbind(root, SLOT, "vfio-pci", "quarantine"), 0);
	assert_file("bus/pci/devices/" SLOT "/driver_override", "quarantine");

	/* The override comes first: when it cannot be written, nothing is unbound. */
	ck_assert_int_eq(symlink(tree("bus/pci/drivers/vfio-pci"), tree("bus/pci/devices/" SLOT "/driver")),
			 0);
	ck_assert_int_eq(truncate(tree("bus/pci/drivers/vfio-pci/unbind"), 0), 0);
	ck_assert_int_eq(unlink(tree("bus/pci/devices/" SLOT "/driver_override")), 0);
	ck_assert_int_eq(mkdir(tree("bus/pci/devices/" SLOT "/driver_override"), 0755), 0);
	ck_assert_int_eq(sysfs_unbind(root, SLOT, NULL, NULL), -EISDIR);
	assert_file("bus/pci/drivers/vfio-pci/unbind", "");

	/* Bad input never reaches a path. */
	ck_assert_int_eq(sysfs_write_recover(root, "../../x"), -EINVAL);
	ck_assert_int_eq(sysfs_write_recover(root, "0001:00:00.0/.."), -EINVAL);
	ck_assert_int_eq(sysfs_write_recover(root, "0002:00:00.0"), -ENOENT);
	ck_assert_int_eq(sysfs_unbind(root, "0002:00:00.0", NULL, NULL), -ENOENT);
}
END_TEST

/* ---- the runner --------------------------------------------------------- */

typedef struct Ctx {
	struct event_base *base;
	Actions *actions;
	Log *log;
	ZpciEvent events[256];
	unsigned n, want;
	unsigned ticks;
	unsigned prepares;
} Ctx;

static void on_emit(void *userdata, uint32_t fid, ZpciEvent *e)
{
	Ctx *c = userdata;

	ck_assert_uint_eq(fid, e->fid);
	ck_assert_int_eq(e->kind, EVENT_ACTION);
	ck_assert_uint_lt(c->n, ELEMENTSOF(c->events));
	c->events[c->n++] = *e;
	if (c->n >= c->want)
		event_base_loopbreak(c->base);
}

static int fake_prepare(void *userdata, uint32_t fid)
{
	Ctx *c = userdata;

	c->prepares++;
	if (fid != FID)
		return -ENODEV;
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_tick(evutil_socket_t fd, short what, void *userdata)
{
	((Ctx *)userdata)->ticks++;
}

static void on_safety(evutil_socket_t fd, short what, void *userdata)
{
	ck_abort_msg("results did not arrive in time");
}

/* Dispatch until every helper has been reaped: a result (a timeout) can
 * come before the killed helper's exit is seen. */
static void wait_idle(Ctx *c, int max_sec)
{
	struct timeval tv = { .tv_sec = under_valgrind() ? max_sec * 10 : max_sec };
	struct timeval poll = { .tv_usec = 10000 };
	struct event *safety = evtimer_new(c->base, on_safety, c);

	evtimer_add(safety, &tv);
	while (actions_running(c->actions) > 0)
		ck_assert_int_eq(event_base_loopexit(c->base, &poll) || event_base_dispatch(c->base), 0);
	event_free(safety);
}

/* Dispatch until @c has @n result events in total. */
static void wait_results(Ctx *c, unsigned n, int max_sec)
{
	struct timeval tv = { .tv_sec = under_valgrind() ? max_sec * 10 : max_sec };
	struct event *safety = evtimer_new(c->base, on_safety, c);

	c->want = n;
	if (c->n < n) {
		evtimer_add(safety, &tv);
		ck_assert_int_eq(event_base_dispatch(c->base), 0);
	}
	event_free(safety);
	ck_assert_uint_eq(c->n, n);
}

static ActionsConfig test_config(void)
{
	ActionsConfig cfg = ACTIONS_CONFIG_DEFAULT;

	cfg.sysfs_root = root;
	cfg.state_directory = tree("state");
	cfg.timeout_usec = 5 * USEC_PER_SEC;
	cfg.confirm_timeout_usec = 200 * USEC_PER_MSEC;
	cfg.helper = tree("fake-helper");
	return cfg;
}

static Ctx *ctx_new(const ActionsConfig *cfg)
{
	Ctx *c = calloc(1, sizeof(Ctx));
	ActionsOps ops = { .emit = on_emit, .vfio_reset_prepare = fake_prepare };

	c->base = event_base_new();
	ck_assert_int_eq(log_new(&c->log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	ck_assert_int_eq(actions_new(&c->actions, c->base, c->log, cfg, &ops, c), 0);
	return c;
}

static void ctx_free(Ctx *c)
{
	actions_free(c->actions);
	log_free(c->log);
	event_base_free(c->base);
	free(c);
}

static ActionRequest request(ActionType t, FunctionMode mode)
{
	ZpciEvent trigger = { .seq = 42,
			      .kind = EVENT_ERROR,
			      .sources = EVENT_SOURCE_VFIO,
			      .fid = FID,
			      .has = EVENT_HAS_PEC,
			      .pec = 0x18 };
	ActionRequest req;

	strcpy(trigger.slot, SLOT);
	action_request_init(&req, t, NULL, &trigger, "test-rule");
	req.mode = mode;
	return req;
}

static void submit(Ctx *c, ActionType t, FunctionMode mode)
{
	ActionRequest req = request(t, mode);

	ck_assert_int_eq(actions_submit(c->actions, &req), 0);
}

static void assert_result(const Ctx *c, unsigned i, const char *action, const char *result)
{
	ck_assert_uint_lt(i, c->n);
	ck_assert_str_eq(c->events[i].action, action);
	ck_assert_msg(streq(c->events[i].result, result), "event %u: result %s (%s), expected %s", i,
		      c->events[i].result, c->events[i].detail, result);
}

START_TEST(test_recover_unbind_and_confirmation)
{
	ActionsConfig cfg = test_config();
	Ctx *c = ctx_new(&cfg);
	ZpciEvent rec = { .kind = EVENT_RECOVERY, .fid = FID, .recovery = RECOVERY_SUCCESSFUL };

	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	/* Results come from the loop, never from within the call. */
	ck_assert_uint_eq(c->n, 0);
	wait_results(c, 1, 10);
	assert_result(c, 0, "recover", "done");
	ck_assert_uint_eq(c->events[0].fid, FID);
	ck_assert_str_eq(c->events[0].slot, SLOT);
	ck_assert_uint_eq(c->events[0].pec, 0x18);
	assert_file("bus/pci/devices/" SLOT "/recover", "1");

	/* The kernel's successful recovery confirms it. */
	actions_observe_event(c->actions, NULL, &rec);
	wait_results(c, 2, 10);
	assert_result(c, 1, "recover", "confirmed");

	/* Without a recovery event: no-confirmation after the timeout. */
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	wait_results(c, 4, 10);
	assert_result(c, 2, "recover", "done");
	assert_result(c, 3, "recover", "no-confirmation");

	submit(c, ACTION_UNBIND, FUNCTION_MODE_OWN);
	wait_results(c, 5, 10);
	assert_result(c, 4, "unbind", "done");
	assert_file("bus/pci/devices/" SLOT "/driver_override", "none");
	assert_file("bus/pci/drivers/vfio-pci/unbind", SLOT);

	/* A failing write is "failed" with the reason. */
	ck_assert_int_eq(unlink(tree("bus/pci/devices/" SLOT "/recover")), 0);
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	wait_results(c, 6, 10);
	assert_result(c, 5, "recover", "failed");
	ck_assert_ptr_nonnull(strstr(c->events[5].detail, "No such file"));

	/* Log has no result event of its own. */
	submit(c, ACTION_LOG, FUNCTION_MODE_OBSERVE);
	ck_assert_uint_eq(actions_stats(c->actions)->submitted, 5);
	ck_assert_uint_eq(actions_stats(c->actions)->done, 3);
	ck_assert_uint_eq(actions_stats(c->actions)->confirmed, 1);
	ck_assert_uint_eq(actions_stats(c->actions)->no_confirmation, 1);
	ctx_free(c);
}
END_TEST

/* A reset still waiting for its outcome when the function is unbound (by
 * the runner, or found unbound elsewhere) ends "cancelled", never
 * "confirmed" later. The confirmation timeout is far away: no timing. */
START_TEST(test_unbind_cancels_confirmation)
{
	ActionsConfig cfg = test_config();
	Ctx *c;

	cfg.confirm_timeout_usec = 600 * USEC_PER_SEC;
	c = ctx_new(&cfg);

	/* nothing waits: nothing happens */
	actions_cancel_confirmation(c->actions, FID, "nothing waits");
	ck_assert_uint_eq(actions_stats(c->actions)->cancelled, 0);

	/* found unbound elsewhere (the registry's hook) */
	submit(c, ACTION_RESET, FUNCTION_MODE_OWN);
	wait_results(c, 1, 10);
	assert_result(c, 0, "reset", "done");
	actions_cancel_confirmation(c->actions, FID, "the function was unbound from its driver");
	wait_results(c, 2, 10);
	assert_result(c, 1, "reset", "cancelled");
	ck_assert_str_eq(c->events[1].detail, "the function was unbound from its driver");

	/* unbound by the runner: the reset's wait ends before the unbind's result */
	submit(c, ACTION_RESET, FUNCTION_MODE_OWN);
	wait_results(c, 3, 10);
	assert_result(c, 2, "reset", "done");
	submit(c, ACTION_UNBIND, FUNCTION_MODE_OWN);
	wait_results(c, 5, 10);
	assert_result(c, 3, "reset", "cancelled");
	ck_assert_str_eq(c->events[3].detail, "the function was unbound");
	assert_result(c, 4, "unbind", "done");
	ck_assert_uint_eq(actions_stats(c->actions)->cancelled, 2);
	ck_assert_uint_eq(actions_stats(c->actions)->confirmed, 0);
	ck_assert_int_eq(action_result_from_string("cancelled"), ACTION_RESULT_CANCELLED);
	ctx_free(c);
}
END_TEST

START_TEST(test_reset_modes_and_confirmation)
{
	ActionsConfig cfg = test_config();
	Ctx *c = ctx_new(&cfg);
	ZpciEvent err = { .kind = EVENT_ERROR, .fid = FID, .has = EVENT_HAS_PEC, .pec = 0x18 };

	/* Observed functions have no device to reset. */
	submit(c, ACTION_RESET, FUNCTION_MODE_OBSERVE);
	wait_results(c, 1, 10);
	assert_result(c, 0, "reset", "not-supported");
	ck_assert_uint_eq(c->prepares, 0);

	/* Own: prepared on the loop, reset in the helper; quiet afterwards → confirmed. */
	submit(c, ACTION_RESET, FUNCTION_MODE_OWN);
	ck_assert_uint_eq(c->prepares, 1);
	wait_results(c, 3, 10);
	assert_result(c, 1, "reset", "done");
	assert_result(c, 2, "reset", "confirmed");

	/* The same error again right after the reset: unconfirmed. */
	submit(c, ACTION_RESET, FUNCTION_MODE_DELEGATED);
	wait_results(c, 4, 10);
	assert_result(c, 3, "reset", "done");
	actions_observe_event(c->actions, NULL, &err);
	wait_results(c, 5, 10);
	assert_result(c, 4, "reset", "unconfirmed");

	/* The hook for a drain that saw the function healthy. */
	submit(c, ACTION_RESET, FUNCTION_MODE_OWN);
	wait_results(c, 6, 10);
	actions_confirm(c->actions, FID, true, "drain after reset found no error");
	wait_results(c, 7, 10);
	assert_result(c, 6, "reset", "confirmed");
	ck_assert_str_eq(c->events[6].detail, "drain after reset found no error");
	ctx_free(c);
}
END_TEST

START_TEST(test_timeouts_loop_keeps_serving)
{
	ActionsConfig cfg = test_config();
	struct timeval tick = { .tv_usec = 10000 };
	struct event *ticker;
	Ctx *c;
	int reader;

	cfg.timeout_usec = (under_valgrind() ? 3000 : 300) * USEC_PER_MSEC;
	c = ctx_new(&cfg);
	ticker = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	event_add(ticker, &tick);

	/* A reset that hangs in the kernel (here: sleeps) is cut off at its timeout. */
	ck_assert_int_eq(setenv("FAKE_RESET_SLEEP", "30", 1), 0);
	submit(c, ACTION_RESET, FUNCTION_MODE_OWN);
	/* A recover whose write blocks: the attribute is a FIFO nobody reads. */
	ck_assert_int_eq(unlink(tree("bus/pci/devices/" SLOT "/recover")), 0);
	ck_assert_int_eq(mkfifo(tree("bus/pci/devices/" SLOT "/recover"), 0600), 0);
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	ck_assert_uint_eq(actions_running(c->actions), 2);

	wait_results(c, 2, 10);
	/* both time out; which timer the loop serves first is not specified */
	if (streq(c->events[0].action, "reset")) {
		assert_result(c, 0, "reset", "timeout");
		assert_result(c, 1, "recover", "timeout");
	} else {
		assert_result(c, 0, "recover", "timeout");
		assert_result(c, 1, "reset", "timeout");
	}
	ck_assert_uint_eq(actions_stats(c->actions)->timeouts, 2);
	/* Meanwhile the loop served its timer. */
	ck_assert_uint_ge(c->ticks, under_valgrind() ? 5 : 20);

	/* The killed helpers are reaped and their slots free again: the next action runs. */
	reader = open(tree("bus/pci/devices/" SLOT "/recover"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(reader, 0);
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	wait_results(c, 3, 10);
	assert_result(c, 2, "recover", "done");
	close(reader);
	wait_idle(c, 10);
	ck_assert_uint_eq(actions_running(c->actions), 0);
	event_free(ticker);
	ctx_free(c);
}
END_TEST

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

START_TEST(test_report_error_ids_persist)
{
	ActionsConfig cfg = test_config();
	_cleanup_free_ char *rec = NULL;
	size_t n;
	Ctx *c;

	c = ctx_new(&cfg);
	ck_assert_uint_eq(actions_last_err_log_id(c->actions), 0);
	submit(c, ACTION_REPORT_INFO, FUNCTION_MODE_OBSERVE);
	wait_results(c, 1, 10);
	assert_result(c, 0, "report-info", "done");
	submit(c, ACTION_REPORT_FW_RESET, FUNCTION_MODE_OBSERVE);
	wait_results(c, 2, 10);
	assert_result(c, 1, "report-fw-reset", "done");

	/* The record of the second report: version 1, action 0, err_log_id 2, readable log data. */
	ck_assert_int_eq(state_file_read(tree("bus/pci/devices/" SLOT "/report_error"), &rec, &n), 0);
	ck_assert_uint_gt(n, 20);
	ck_assert_uint_eq((uint8_t)rec[0], 1);
	ck_assert_uint_eq((uint8_t)rec[1], 0);
	ck_assert_uint_eq(((uint8_t)rec[2] << 8 | (uint8_t)rec[3]), n - 4);
	ck_assert_uint_eq(be64((const uint8_t *)rec + 12), 2);
	ck_assert_ptr_nonnull(memmem(rec + 20, n - 20, "function 0x00000011", 19));
	ck_assert_ptr_nonnull(memmem(rec + 20, n - 20, "PEC 0x0018", 10));
	ctx_free(c);

	/* After a restart the ids continue. */
	c = ctx_new(&cfg);
	ck_assert_uint_eq(actions_last_err_log_id(c->actions), 2);
	submit(c, ACTION_REPORT_DECONFIGURE, FUNCTION_MODE_OBSERVE);
	wait_results(c, 1, 10);
	ck_assert_uint_eq(actions_last_err_log_id(c->actions), 3);
	ctx_free(c);

	/* No error notification on this platform: not-supported. */
	ck_assert_int_eq(setenv("FAKE_REPORT_R", "-95", 1), 0); /* EOPNOTSUPP */
	c = ctx_new(&cfg);
	submit(c, ACTION_REPORT_INFO, FUNCTION_MODE_OBSERVE);
	wait_results(c, 1, 10);
	assert_result(c, 0, "report-info", "not-supported");
	ck_assert_uint_eq(actions_stats(c->actions)->not_supported, 1);
	ctx_free(c);
}
END_TEST

START_TEST(test_inhibitors_postpone_then_run)
{
	ActionsConfig cfg = test_config();
	Ctx *c = ctx_new(&cfg);
	uint64_t h1, h2;

	ck_assert_int_eq(
		inhibit_acquire(actions_inhibitors(c->actions), "qemu[77]", "migrating", "reset", &h1), 0);
	ck_assert_int_eq(
		inhibit_acquire(actions_inhibitors(c->actions), "admin", "maintenance", "reset", &h2), 0);

	/* Covered: postponed (twice the same: kept once). Not covered: runs. */
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	submit(c, ACTION_UNBIND, FUNCTION_MODE_OWN);
	wait_results(c, 3, 10);
	assert_result(c, 0, "recover", "postponed");
	ck_assert_str_eq(c->events[0].detail, "inhibited by qemu[77]: migrating");
	assert_result(c, 1, "recover", "postponed");
	assert_result(c, 2, "unbind", "done");
	ck_assert_uint_eq(actions_postponed(c->actions), 1);
	assert_file("bus/pci/devices/" SLOT "/recover", "");

	/* Releasing one of two changes nothing; the last one runs the postponed recover. */
	ck_assert_int_eq(inhibit_release(actions_inhibitors(c->actions), h1), 0);
	ck_assert_int_eq(inhibit_release(actions_inhibitors(c->actions), h2), 0);
	ck_assert_uint_eq(c->n, 3);
	wait_results(c, 4, 10);
	assert_result(c, 3, "recover", "done");
	assert_file("bus/pci/devices/" SLOT "/recover", "1");
	ck_assert_uint_eq(actions_postponed(c->actions), 0);
	ctx_free(c);
}
END_TEST

START_TEST(test_dry_run)
{
	ActionsConfig cfg = test_config();
	Ctx *c;
	ActionRequest req;

	cfg.dry_run = true;
	c = ctx_new(&cfg);
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	submit(c, ACTION_UNBIND, FUNCTION_MODE_OWN);
	wait_results(c, 2, 10);
	assert_result(c, 0, "recover", "dry-run");
	assert_result(c, 1, "unbind", "dry-run");
	ck_assert_ptr_nonnull(strstr(c->events[0].detail, "would write 1 to"));
	assert_file("bus/pci/devices/" SLOT "/recover", "");
	assert_file("bus/pci/drivers/vfio-pci/unbind", "");
	ck_assert_uint_eq(c->prepares, 0);
	ctx_free(c);

	/* Per request (the policy's verdict). */
	cfg.dry_run = false;
	c = ctx_new(&cfg);
	req = request(ACTION_RESET, FUNCTION_MODE_OWN);
	req.dry_run = true;
	ck_assert_int_eq(actions_submit(c->actions, &req), 0);
	wait_results(c, 1, 10);
	assert_result(c, 0, "reset", "dry-run");
	ck_assert_uint_eq(c->prepares, 0);
	req.type = (ActionType)99;
	ck_assert_int_eq(actions_submit(c->actions, &req), -EINVAL);
	ctx_free(c);
}
END_TEST

START_TEST(test_alerts)
{
	ActionsConfig cfg = test_config();
	char script[512];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	unsigned done = 0, dropped = 0;
	Ctx *c;

	/* The event is in the environment, stdin is empty. */
	(void)snprintf(script, sizeof(script),
		       "echo \"$ZPCI_FID $ZPCI_PEC $ZPCID_ACTION_RULE $PRIORITY\" > '%s/alert.out'; test -n "
		       "\"$MESSAGE\"",
		       root);
	cfg.alert_command = argv;
	c = ctx_new(&cfg);
	submit(c, ACTION_ALERT, FUNCTION_MODE_OBSERVE);
	wait_results(c, 1, 10);
	assert_result(c, 0, "alert", "done");
	assert_file("alert.out", "0x00000011 0x0018 test-rule 4\n");
	ctx_free(c);

	/* Overflow of a small queue is counted, logged and reported, never silent. */
	(void)snprintf(script, sizeof(script), "sleep 0.05");
	cfg.alert_limits.max_running = 1;
	cfg.alert_limits.max_queued = 1;
	c = ctx_new(&cfg);
	for (unsigned i = 0; i < 5; i++)
		submit(c, ACTION_ALERT, FUNCTION_MODE_OBSERVE);
	wait_results(c, 5, 10);
	for (unsigned i = 0; i < 5; i++) {
		if (streq(c->events[i].result, "done"))
			done++;
		else if (streq(c->events[i].result, "dropped"))
			dropped++;
	}
	ck_assert_uint_eq(done, 2);
	ck_assert_uint_eq(dropped, 3);
	ck_assert_uint_eq(actions_stats(c->actions)->alert_overflows, 3);
	ck_assert_ptr_nonnull(
		strstr(log_memory_get(c->log, log_memory_count(c->log) - 1)->message, "3 dropped so far"));
	ctx_free(c);

	/* Without a command the D-Bus Alert signal is the alert: done. */
	cfg.alert_command = NULL;
	c = ctx_new(&cfg);
	submit(c, ACTION_ALERT, FUNCTION_MODE_OBSERVE);
	wait_results(c, 1, 10);
	assert_result(c, 0, "alert", "done");
	ctx_free(c);
}
END_TEST

/* ---- the helper program ------------------------------------------------- */

typedef struct HelperRun {
	int status;     /* wait status */
	char out[1024]; /* its stdout */
	char err[1024]; /* its stderr */
} HelperRun;

static void read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t k;

	while (n + 1 < size && (k = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = 0;
}

/* Run the helper with @args (after argv[0]) and @fd3 as its fd 3 (-1: none). */
static HelperRun run_helper(const char *const *args, int fd3)
{
	HelperRun h = {};
	const char *argv[16] = { helper() };
	int out[2], err[2];
	size_t n = 1;
	pid_t pid;

	while (args[n - 1])
		argv[n] = args[n - 1], n++;
	argv[n] = NULL;
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)dup2(out[1], STDOUT_FILENO);
		(void)dup2(err[1], STDERR_FILENO);
		if (fd3 >= 0)
			(void)dup2(fd3, 3);
		else
			(void)close(3);
		closefrom(4);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	read_all(out[0], h.out, sizeof(h.out));
	read_all(err[0], h.err, sizeof(h.err));
	close(out[0]);
	close(err[0]);
	ck_assert_int_eq(waitpid(pid, &h.status, 0), pid);
	return h;
}

static void assert_helper(const HelperRun *h, int exit_status, const char *out)
{
	ck_assert_msg(WIFEXITED(h->status) && WEXITSTATUS(h->status) == exit_status,
		      "helper: status 0x%x, expected exit %d (stdout \"%s\", stderr \"%s\")", h->status,
		      exit_status, h->out, h->err);
	ck_assert_str_eq(h->out, out);
}

/* The helper program on its own: a temporary sysfs tree, a fake device fd. */
START_TEST(test_helper_program)
{
	char rootarg[128], expected[512];
	_cleanup_free_ char *rec = NULL;
	HelperRun h;
	size_t n;
	int fd;

	(void)snprintf(rootarg, sizeof(rootarg), "--sysfs-root=%s", root);

	h = run_helper((const char *[]){ rootarg, "recover", SLOT, NULL }, -1);
	(void)snprintf(expected, sizeof(expected),
		       "result=0 detail=wrote 1 to %s/bus/pci/devices/" SLOT "/recover\n", root);
	assert_helper(&h, 0, expected);
	assert_file("bus/pci/devices/" SLOT "/recover", "1");

	/* bound to another driver than expected: left alone */
	h = run_helper((const char *[]){ rootarg, "--driver=mlx5_core", "unbind", SLOT, NULL }, -1);
	assert_helper(&h, 1, "result=-16 detail=driver_override set to \"none\", unbound from mlx5_core\n");
	assert_file("bus/pci/drivers/vfio-pci/unbind", "");
	h = run_helper((const char *[]){ rootarg, "--override=quarantine", "unbind", SLOT, NULL }, -1);
	assert_helper(&h, 0,
		      "result=0 detail=driver_override set to \"quarantine\", unbound from vfio-pci\n");
	assert_file("bus/pci/devices/" SLOT "/driver_override", "quarantine");
	assert_file("bus/pci/drivers/vfio-pci/unbind", SLOT);

	/* a record with our log data; the caller's record padded as s390-tools writes it */
	h = run_helper((const char *[]){ rootarg, "--err-log-id=0x2a", "--log-data=zpcid test line",
					 "report", "fw-reset", SLOT, NULL },
		       -1);
	assert_helper(&h, 0, "result=0 detail=report_error fw-reset, err_log_id 0x2a\n");
	ck_assert_int_eq(state_file_read(tree("bus/pci/devices/" SLOT "/report_error"), &rec, &n), 0);
	ck_assert_uint_eq(n, 20 + strlen("zpcid test line"));
	ck_assert_uint_eq((uint8_t)rec[1], 0);
	ck_assert_uint_eq(be64((const uint8_t *)rec + 12), 0x2a);
	ck_assert_int_eq(memcmp(rec + 20, "zpcid test line", n - 20), 0);
	free(TAKE_PTR(rec));
	h = run_helper((const char *[]){ rootarg, "--err-log-id=7", "--log-data=own", "--padded", "report",
					 "info", SLOT, NULL },
		       -1);
	assert_helper(&h, 0, "result=0 detail=report_error info, err_log_id 0x7\n");
	ck_assert_int_eq(state_file_read(tree("bus/pci/devices/" SLOT "/report_error"), &rec, &n), 0);
	ck_assert_uint_eq(n, REPORT_ERROR_RECORD_MAX);
	ck_assert_uint_eq((uint8_t)rec[1], 2);
	ck_assert_int_eq(memcmp(rec + 20, "own\0\0", 5), 0);

	/* the reset goes to fd 3: /dev/null is no vfio device, no fd 3 is EBADF */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	h = run_helper((const char *[]){ "reset", NULL }, fd);
	/* qemu-user answers an ioctl it does not know with ENOSYS, the kernel with ENOTTY */
	assert_helper(&h, 1,
		      under_emulation() ? "result=-38 detail=VFIO_DEVICE_RESET\n"
					: "result=-25 detail=VFIO_DEVICE_RESET\n");
	close(fd);
	h = run_helper((const char *[]){ "reset", NULL }, -1);
	/* under qemu-user, the emulator's own descriptors take the free numbers */
	assert_helper(&h, 1,
		      under_emulation() ? "result=-38 detail=VFIO_DEVICE_RESET\n"
					: "result=-9 detail=VFIO_DEVICE_RESET\n");

	/* errors of the write and of the call */
	h = run_helper((const char *[]){ rootarg, "recover", "../../x", NULL }, -1);
	(void)snprintf(expected, sizeof(expected),
		       "result=-22 detail=wrote 1 to %s/bus/pci/devices/../../x/recover\n", root);
	assert_helper(&h, 1, expected);
	h = run_helper((const char *[]){ NULL }, -1);
	assert_helper(&h, 2, "");
	ck_assert_ptr_nonnull(strstr(h.err, "no action given"));
	h = run_helper((const char *[]){ "report", "info", SLOT, NULL }, -1);
	assert_helper(&h, 2, "");
	h = run_helper((const char *[]){ "--err-log-id=-1", "report", "info", SLOT, NULL }, -1);
	assert_helper(&h, 2, "");
	h = run_helper((const char *[]){ "--err-log-id=1", "report", "bogus", SLOT, NULL }, -1);
	assert_helper(&h, 2, "");
	h = run_helper((const char *[]){ "reboot", NULL }, -1);
	assert_helper(&h, 2, "");
}
END_TEST

/* A helper that dies of a signal, or cannot be started, is "failed" with the reason. */
START_TEST(test_helper_dies)
{
	ActionsConfig cfg = test_config();
	Ctx *c;

	ck_assert_int_eq(setenv("FAKE_DIE", "KILL", 1), 0);
	c = ctx_new(&cfg);
	submit(c, ACTION_RECOVER, FUNCTION_MODE_OBSERVE);
	wait_results(c, 1, 10);
	assert_result(c, 0, "recover", "failed");
	ck_assert_str_eq(c->events[0].detail, "helper process killed by signal 9");
	assert_file("bus/pci/devices/" SLOT "/recover", "");
	wait_idle(c, 10);
	ctx_free(c);
	ck_assert_int_eq(unsetenv("FAKE_DIE"), 0);

	cfg.helper = "/nonexistent/zpcid-action";
	c = ctx_new(&cfg);
	submit(c, ACTION_UNBIND, FUNCTION_MODE_OWN);
	wait_results(c, 1, 10);
	assert_result(c, 0, "unbind", "failed");
	/* glibc reports the failed exec; valgrind's and qemu-user's emulation
	 * let the child exit 127 */
	ck_assert_msg(
		streq(c->events[0].detail, "could not start a helper process: No such file or directory") ||
			((under_valgrind() || under_emulation()) &&
			 streq(c->events[0].detail, "helper process ended without a result")),
		"detail: %s", c->events[0].detail);
	wait_idle(c, 10);
	ctx_free(c);
}
END_TEST

static Suite *actions_suite(void)
{
	Suite *s = suite_create("actions");
	TCase *tc = tcase_create("actions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30); /* x10 under valgrind: tests/run-test */
	tcase_add_test(tc, test_sysfs_writes);
	tcase_add_test(tc, test_recover_unbind_and_confirmation);
	tcase_add_test(tc, test_reset_modes_and_confirmation);
	tcase_add_test(tc, test_unbind_cancels_confirmation);
	tcase_add_test(tc, test_timeouts_loop_keeps_serving);
	tcase_add_test(tc, test_report_error_ids_persist);
	tcase_add_test(tc, test_inhibitors_postpone_then_run);
	tcase_add_test(tc, test_dry_run);
	tcase_add_test(tc, test_alerts);
	tcase_add_test(tc, test_helper_program);
	tcase_add_test(tc, test_helper_dies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (isempty(helper())) {
		printf("1..0 # SKIP $ZPCID_ACTION_HELPER (the helper program to test) is not set\n");
		return EXIT_SUCCESS;
	}
	sr = srunner_create(actions_suite());

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
