/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid-action: carries out one disruptive action for zpcid and says how it
 * went. zpcid runs it through its spawner (spawn.h) for every reset,
 * recover, unbind and report_error record, so the blocking write or ioctl
 * happens in a process of its own that can be killed at the action's
 * timeout (with its whole process group), while the daemon's loop only
 * waits for its exit. It is not meant to be run by hand.
 *
 * Usage:
 *   zpcid-action reset
 *       VFIO_DEVICE_RESET on fd 3, a duplicate of the vfio device fd that
 *       zpcid holds for the function.
 *   zpcid-action [--sysfs-root=DIR] recover SLOT
 *       write "1" to DIR/bus/pci/devices/SLOT/recover.
 *   zpcid-action [--sysfs-root=DIR] [--driver=NAME] [--override=VALUE] unbind SLOT
 *       driver_override := VALUE ("none"), then unbind SLOT from its driver,
 *       which must be NAME ("vfio-pci").
 *   zpcid-action [--sysfs-root=DIR] --err-log-id=N [--log-data=TEXT] [--padded]
 *                report info|fw-reset|deconfigure SLOT
 *       write a report_error record with err_log_id N and TEXT as its log
 *       data; --padded writes the record as s390-tools does (the whole
 *       structure, TEXT with its NUL, zero-padded).
 *   DIR defaults to /sys.
 *
 * Result protocol: the helper writes exactly one line to stdout, in one
 * write() (shorter than PIPE_BUF), and then exits:
 *
 *   result=<r> detail=<text>\n
 *
 * <r> is 0 when the action was carried out, else a negative errno
 * (-95, EOPNOTSUPP: not possible on this system); <text> says what was
 * done or tried (no newline). The exit status is 0 for r = 0 and 1
 * otherwise. A usage error exits 2 with a message on stderr and no result
 * line. zpcid takes the line as the result; a helper that ends without one
 * (killed by a signal, or killed at its timeout) is reported from its exit
 * status.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/report-error.h"
#include "daemon/sysfs-write.h"

#define HELPER_FD    3
#define DETAIL_MAX   512
#define EXIT_USAGE   2
#define DEFAULT_ROOT "/sys"

typedef struct Args {
	const char *sysfs_root; /* NULL: /sys */
	const char *driver;
	const char *override;
	const char *log_data;
	bool has_err_log_id, padded;
	uint64_t err_log_id;
} Args;

static int usage(const char *what, const char *arg)
{
	fprintf(stderr, "zpcid-action: %s%s\n", what, strempty(arg));
	fputs("Usage: zpcid-action reset | [--sysfs-root=DIR] recover SLOT | [--sysfs-root=DIR] "
	      "[--driver=NAME] [--override=VALUE] unbind SLOT | [--sysfs-root=DIR] --err-log-id=N "
	      "[--log-data=TEXT] [--padded] report info|fw-reset|deconfigure SLOT\n",
	      stderr);
	return EXIT_USAGE;
}

static uint64_t realtime_sec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static int do_reset(char *detail, size_t size)
{
	(void)snprintf(detail, size, "VFIO_DEVICE_RESET");
	if (ioctl(HELPER_FD, VFIO_DEVICE_RESET) < 0)
		return negative_errno();
	return 0;
}

static int do_report(const Args *a, ReportErrorAction action, const char *slot, char *detail, size_t size)
{
	uint64_t now = realtime_sec();
	const char *data = a->log_data ? a->log_data : "";

	(void)snprintf(detail, size, "report_error %s, err_log_id 0x%" PRIx64,
		       report_error_action_to_string(action), a->err_log_id);
	if (a->padded) {
		/* the caller's record, as s390-tools writes it */
		size_t len = data[0] ? strnlen(data, REPORT_ERROR_LOG_DATA_MAX - 1) + 1 : 0;

		return report_error_write_padded(a->sysfs_root, slot, action, now, a->err_log_id, data, len);
	}
	return report_error_write(a->sysfs_root, slot, action, now, a->err_log_id, data);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "sysfs-root", required_argument, NULL, 'r' },
		{ "driver", required_argument, NULL, 'd' },
		{ "override", required_argument, NULL, 'o' },
		{ "err-log-id", required_argument, NULL, 'i' },
		{ "log-data", required_argument, NULL, 'l' },
		{ "padded", no_argument, NULL, 'p' },
		{},
	};
	char detail[DETAIL_MAX] = "", line[DETAIL_MAX + 64];
	Args a = {};
	const char *verb, *slot = NULL;
	char *end;
	ssize_t n;
	int c, r, len;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case 'r':
			a.sysfs_root = optarg;
			break;
		case 'd':
			a.driver = optarg;
			break;
		case 'o':
			a.override = optarg;
			break;
		case 'i':
			errno = 0;
			a.err_log_id = strtoull(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end || optarg[0] == '-')
				return usage("invalid --err-log-id: ", optarg);
			a.has_err_log_id = true;
			break;
		case 'l':
			a.log_data = optarg;
			break;
		case 'p':
			a.padded = true;
			break;
		default:
			return usage("invalid option", NULL);
		}
	if (optind >= argc)
		return usage("no action given", NULL);
	verb = argv[optind++];

	if (streq(verb, "reset")) {
		if (optind != argc)
			return usage("reset takes no argument", NULL);
		r = do_reset(detail, sizeof(detail));
	} else if (streq(verb, "recover") || streq(verb, "unbind")) {
		if (optind + 1 != argc)
			return usage("one SLOT expected after ", verb);
		slot = argv[optind];
		if (streq(verb, "recover")) {
			(void)snprintf(detail, sizeof(detail), "wrote 1 to %s/bus/pci/devices/%s/recover",
				       a.sysfs_root ? a.sysfs_root : DEFAULT_ROOT, slot);
			r = sysfs_write_recover(a.sysfs_root, slot);
		} else {
			const char *drv = a.driver ? a.driver : "vfio-pci";

			(void)snprintf(detail, sizeof(detail),
				       "driver_override set to \"%s\", unbound from %s",
				       a.override ? a.override : SYSFS_OVERRIDE_NONE, drv);
			r = sysfs_unbind(a.sysfs_root, slot, drv, a.override);
		}
	} else if (streq(verb, "report")) {
		ReportErrorAction action;

		if (optind + 2 != argc)
			return usage("report needs an action and a SLOT", NULL);
		if (!a.has_err_log_id)
			return usage("report needs --err-log-id", NULL);
		action = report_error_action_from_string(argv[optind]);
		if (action < 0)
			return usage("invalid report action: ", argv[optind]);
		slot = argv[optind + 1];
		r = do_report(&a, action, slot, detail, sizeof(detail));
	} else
		return usage("unknown action: ", verb);

	/* one line, one write: the reader sees all of it or nothing */
	for (char *p = detail; *p; p++)
		if (*p == '\n')
			*p = ' ';
	len = snprintf(line, sizeof(line), "result=%d detail=%s\n", r, detail);
	if (len < 0 || (size_t)len >= sizeof(line))
		return EXIT_FAILURE;
	do
		n = write(STDOUT_FILENO, line, (size_t)len);
	while (n < 0 && errno == EINTR);
	if (n != len)
		return EXIT_FAILURE;
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
