/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid-test-delegate: the owner side of delegated mode, for the s390x test
 * guest (tests/s390x/guest-init.sh).
 *
 *   zpcid-test-delegate SLOT FID SECONDS
 *
 * Plays a user-space driver that holds a zPCI function: opens the vfio
 * device of the PCI function SLOT through its vfio group and container (the
 * way a VMM does), hands the device fd to zpcid with
 * org.zpcid1.Manager.Delegate(h fd, a{sv} {"fid": u}) on the system bus, and
 * then prints every ErrorReported and ActionTaken signal zpcid sends for FID
 * during SECONDS seconds (or until SIGTERM). It keeps its own device fd open
 * all the while, as an owner would.
 *
 * Output, one line each (the guest prints it, tests/s390x/check-guest.py
 * judges it):
 *   open SLOT group N
 *   delegate OBJECT-PATH            or   delegate-error NAME: MESSAGE
 *   READY
 *   signal MEMBER key=value ...     one per signal about FID
 *   done N                          number of signals printed
 * Exit status: 0 when the fd was delegated, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <systemd/sd-bus.h>

static volatile sig_atomic_t stop;
static unsigned n_signals;

static void on_term(int sig)
{
	stop = 1;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Open the vfio device of @slot through its group. Returns the device fd
 * or -errno; the group and container fds are left open on purpose (the
 * device belongs to this process as long as it runs). */
static int open_device(const char *slot)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct vfio_group_status status = { .argsz = sizeof(status) };
	const char *g;
	int container, group, device;
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", slot);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	g = strrchr(link, '/');
	g = g ? g + 1 : link;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return -errno;
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EPROTO;
	(void)snprintf(path, sizeof(path), "/dev/vfio/%.32s", g);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return -errno;
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0)
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EPERM;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return -errno;
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return -errno;
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, slot);
	if (device < 0)
		return -errno;
	printf("open %s group %s\n", slot, g);
	return device;
}

/* Print the basic values of an a{sv} record as key=value. Returns the
 * record's fid (or -1 when it has none), or -errno. */
static int64_t print_record(sd_bus_message *m, char *line, size_t size)
{
	int64_t fid = -1;
	size_t len = 0;
	int r;

	line[0] = 0;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *contents;
		char type, value[128] = "";

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r < 0)
			return r;
		r = sd_bus_message_enter_container(m, 'v', contents);
		if (r < 0)
			return r;
		switch (contents[0]) {
		case 's': {
			const char *s;

			r = sd_bus_message_read_basic(m, 's', &s);
			if (r >= 0)
				(void)snprintf(value, sizeof(value), "%s", s);
			break;
		}
		case 't': {
			uint64_t v;

			r = sd_bus_message_read_basic(m, 't', &v);
			if (r >= 0)
				(void)snprintf(value, sizeof(value), "%" PRIu64, v);
			break;
		}
		case 'u': {
			uint32_t v;

			r = sd_bus_message_read_basic(m, 'u', &v);
			if (r >= 0)
				(void)snprintf(value, sizeof(value), "0x%" PRIx32, v);
			if (r >= 0 && strcmp(key, "fid") == 0)
				fid = v;
			break;
		}
		case 'q': {
			uint16_t v;

			r = sd_bus_message_read_basic(m, 'q', &v);
			if (r >= 0)
				(void)snprintf(value, sizeof(value), "0x%" PRIx16, v);
			break;
		}
		case 'y': {
			uint8_t v;

			r = sd_bus_message_read_basic(m, 'y', &v);
			if (r >= 0)
				(void)snprintf(value, sizeof(value), "%u", (unsigned)v);
			break;
		}
		case 'b': {
			int v;

			r = sd_bus_message_read_basic(m, 'b', &v);
			if (r >= 0)
				(void)snprintf(value, sizeof(value), "%s", v ? "true" : "false");
			break;
		}
		default:
			r = sd_bus_message_skip(m, contents);
			break;
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
		/* values with blanks (message, detail) are left out: one word each */
		if (value[0] && !strpbrk(value, " \t\n") && len < size)
			len += (size_t)snprintf(line + len, size - len, " %s=%s", key, value);
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	return r < 0 ? r : fid;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const uint32_t *fid = userdata;
	char line[2048];
	int64_t f;

	f = print_record(m, line, sizeof(line));
	if (f < 0 || (uint32_t)f != *fid)
		return 0;
	printf("signal %s%s\n", sd_bus_message_get_member(m), line);
	fflush(stdout);
	n_signals++;
	return 0;
}

int main(int argc, char **argv)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	const char *path;
	uint64_t end;
	uint32_t fid;
	int fd, r;

	if (argc != 4) {
		fprintf(stderr, "Usage: %s SLOT FID SECONDS\n", argv[0]);
		return 1;
	}
	fid = (uint32_t)strtoul(argv[2], NULL, 0);
	end = now_usec() + strtoull(argv[3], NULL, 0) * 1000000u;
	(void)signal(SIGTERM, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = open_device(argv[1]);
	if (fd < 0) {
		printf("open-error %s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		printf("bus-error: %s\n", strerror(-r));
		return 1;
	}
	/* Subscribe before delegating: the first drain happens right away. */
	r = sd_bus_match_signal(bus, NULL, "org.zpcid1", "/org/zpcid1", "org.zpcid1.Manager",
				"ErrorReported", on_signal, &fid);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, "org.zpcid1", "/org/zpcid1", "org.zpcid1.Manager",
					"ActionTaken", on_signal, &fid);
	if (r < 0) {
		printf("bus-error: cannot subscribe: %s\n", strerror(-r));
		return 1;
	}
	r = sd_bus_call_method(bus, "org.zpcid1", "/org/zpcid1", "org.zpcid1.Manager", "Delegate", &error,
			       &reply, "ha{sv}", fd, 1, "fid", "u", fid);
	if (r < 0) {
		printf("delegate-error %s: %s\n", error.name ? error.name : "errno",
		       error.message ? error.message : strerror(-r));
		return 1;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0) {
		printf("delegate-error reply: %s\n", strerror(-r));
		return 1;
	}
	printf("delegate %s\n", path);
	printf("READY\n");
	sd_bus_message_unref(reply);

	while (!stop) {
		uint64_t now = now_usec();

		if (now >= end)
			break;
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			printf("bus-error: %s\n", strerror(-r));
			break;
		}
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, end - now < 500000 ? end - now : 500000);
		if (r < 0 && r != -EINTR) {
			printf("bus-error: %s\n", strerror(-r));
			break;
		}
	}
	/* what is still queued */
	while (sd_bus_process(bus, NULL) > 0)
		;
	printf("done %u\n", n_signals);
	sd_bus_flush_close_unref(bus);
	(void)close(fd);
	return 0;
}
