/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid-test-storm: an error storm on the functions of the s390x test guest
 * that kmod/module (vfio-zpci-err) holds, for the side-by-side benchmark of
 * zpcid and its floor (bench/zpcid-floor; docs/benchmarks.md).
 *
 *   zpcid-test-storm [--paced] --pid PID --total N [--expect-journal] SLOT...
 *   zpcid-test-storm --pid PID --idle
 *
 * PID is the program that drains the functions (zpcid or the floor); it
 * logs to the guest's systemd-journald and signals on the system bus.
 * First it waits until PID is idle (its CPU time unchanged for 300 ms, 60 s
 * at most): a daemon that just started may still be reading the kernel log
 * of the runs before (--idle does only that). Then N errors, of the PECs
 * the kernel keeps a record of (FMB events, 0x2a-0x2c, it only logs), are
 * injected round-robin over the SLOTs through the module's
 * zpci_err_inject_pec attribute:
 *   --paced   an error is injected into a function only while its kernel
 *             queue (zpci_err_pending) has room: the drain rate decides the
 *             pace, and no record should be dropped;
 *   otherwise as fast as the writes go: whatever the drain cannot keep up
 *             with is dropped by the kernel (zpci_err_dropped).
 * Then it waits until every queue is empty and, with --expect-journal,
 * until the journal holds a record of every error the kernel delivered
 * (30 s at most after the last change), and prints
 *
 *   storm injected=N dropped=N delivered=N journal=N signals=N
 *   storm elapsed_us=US per_second=R cpu_us=US cpu_us_per_record=R
 *
 * Counted are the first records of errors that happened from the start on:
 * the full record that completes an error already reported from the kernel
 * log (same_as) and kernel-log records of earlier errors read late are not.
 * elapsed runs from the first injection to the last journal record (or to
 * the empty queues without --expect-journal); cpu is the drainer's user +
 * system time over the same span (/proc/PID/stat). Exit status 0 when it
 * ran and, with --expect-journal, every delivered error reached the
 * journal and the bus; 1 otherwise; 2 on bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include "error-record.h"

#define MAX_SLOTS   64
#define QUEUE_DEPTH 4
#define SETTLE_USEC (30 * 1000000ULL)

typedef struct Slot {
	const char *name;
	uint32_t fid;
	int inject_fd;
	uint64_t dropped0;
} Slot;

static Slot slots[MAX_SLOTS];
static size_t n_slots;
static uint64_t signals, last_signal_usec;
static uint64_t start_usec; /* errors that happened before are not the storm's */

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int read_attr(const char *slot, const char *attr, uint64_t *ret)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", slot, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*ret = strtoull(buf, NULL, 0);
	return 0;
}

static bool is_ours(uint32_t fid)
{
	for (size_t i = 0; i < n_slots; i++)
		if (slots[i].fid == fid)
			return true;
	return false;
}

/* ErrorReported(a{sv}) about one of the storm's functions */
static int on_error_reported(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	ErrorSignal e;

	/* a kernel-log error from before the storm, reported late, is not one of it */
	if (error_signal_read(m, &e) >= 0 && strcmp(e.kind, "error") == 0 && is_ours(e.fid) && !e.second &&
	    e.monotonic >= start_usec) {
		signals++;
		last_signal_usec = now_usec();
	}
	return 0;
}

/* error records about the storm's functions journald took up at or after
 * @since, of errors from then on; the newest one's time in @ret_last */
static uint64_t journal_count(uint64_t since, uint64_t *ret_last)
{
	sd_journal *j = NULL;
	uint64_t n = 0, last = 0;
	char match[64];

	if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0)
		return 0;
	for (size_t i = 0; i < n_slots; i++) {
		(void)snprintf(match, sizeof(match), "ZPCI_FID=0x%08" PRIx32, slots[i].fid);
		(void)sd_journal_add_match(j, match, 0);
	}
	(void)sd_journal_add_conjunction(j);
	(void)sd_journal_add_match(j, "ZPCID_KIND=error", 0);
	SD_JOURNAL_FOREACH (j) {
		uint64_t mono;
		sd_id128_t boot;

		if (sd_journal_get_monotonic_usec(j, &mono, &boot) < 0 || mono < since ||
		    !journal_first_record_since(j, since))
			continue;
		n++;
		if (mono > last)
			last = mono;
	}
	sd_journal_close(j);
	*ret_last = last;
	return n;
}

static uint64_t cpu_usec(pid_t pid)
{
	unsigned long long utime = 0, stime = 0;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return 0;
	return (utime + stime) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
}

/* Wait until @pid used no CPU for 300 ms. Returns 0, or -ETIMEDOUT. */
static int await_idle(pid_t pid)
{
	uint64_t deadline = now_usec() + 60 * 1000000ULL, before = cpu_usec(pid), after;

	while (now_usec() < deadline) {
		(void)usleep(300000);
		after = cpu_usec(pid);
		if (after == before)
			return 0;
		before = after;
	}
	return -ETIMEDOUT;
}

/* The @k-th PEC of a run: 0x1..0x3f without the FMB events. */
static unsigned pec_of(uint64_t k)
{
	unsigned pec = 1 + (unsigned)(k % (0x3f - 3));

	return pec >= 0x2a ? pec + 3 : pec;
}

static void pump(sd_bus *bus, uint64_t timeout_usec)
{
	int r;

	while ((r = sd_bus_process(bus, NULL)) > 0)
		;
	if (r == 0 && timeout_usec)
		(void)sd_bus_wait(bus, timeout_usec);
	while (sd_bus_process(bus, NULL) > 0)
		;
}

int main(int argc, char *argv[])
{
	uint64_t total = 0, injected = 0, dropped = 0, pending, t0, t_end, cpu0, cpu1, journal = 0,
		 jlast = 0;
	uint64_t deadline, last_change;
	bool paced = false, expect_journal = false, idle_only = false;
	pid_t pid = 0;
	sd_bus *bus = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--paced") == 0)
			paced = true;
		else if (strcmp(argv[i], "--expect-journal") == 0)
			expect_journal = true;
		else if (strcmp(argv[i], "--idle") == 0)
			idle_only = true;
		else if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc)
			pid = (pid_t)atoi(argv[++i]);
		else if (strcmp(argv[i], "--total") == 0 && i + 1 < argc)
			total = strtoull(argv[++i], NULL, 0);
		else if (argv[i][0] != '-' && n_slots < MAX_SLOTS)
			slots[n_slots++].name = argv[i];
		else {
			fprintf(stderr,
				"usage: %s [--paced] --pid PID --total N [--expect-journal] SLOT...\n",
				argv[0]);
			return 2;
		}
	}
	if (pid <= 0)
		return 2;
	if (await_idle(pid) < 0) {
		fprintf(stderr, "zpcid-test-storm: process %d does not come to rest\n", (int)pid);
		return 1;
	}
	if (idle_only)
		return 0;
	if (total == 0 || n_slots == 0)
		return 2;

	for (size_t i = 0; i < n_slots; i++) {
		char path[256];
		uint64_t fid;

		if (read_attr(slots[i].name, "function_id", &fid) < 0 ||
		    read_attr(slots[i].name, "zpci_err_dropped", &slots[i].dropped0) < 0) {
			fprintf(stderr, "zpcid-test-storm: %s is not held by vfio-zpci-err\n",
				slots[i].name);
			return 1;
		}
		slots[i].fid = (uint32_t)fid;
		(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/zpci_err_inject_pec",
			       slots[i].name);
		slots[i].inject_fd = open(path, O_WRONLY | O_CLOEXEC);
		if (slots[i].inject_fd < 0) {
			fprintf(stderr, "zpcid-test-storm: %s: %m\n", path);
			return 1;
		}
	}

	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, "org.zpcid1", "/org/zpcid1", "org.zpcid1.Manager",
					"ErrorReported", on_error_reported, NULL);
	/* the match is in place at the bus once a round trip is done */
	if (r >= 0)
		r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				       "org.freedesktop.DBus", "GetId", NULL, NULL, "");
	if (r < 0) {
		fprintf(stderr, "zpcid-test-storm: system bus: %s\n", strerror(-r));
		return 1;
	}

	cpu0 = cpu_usec(pid);
	t0 = start_usec = now_usec();
	while (injected < total) {
		bool room = false;

		for (size_t i = 0; i < n_slots && injected < total; i++) {
			/* reported errors, one PEC after the other */
			char pec[8];
			int len = snprintf(pec, sizeof(pec), "0x%x\n", pec_of(injected));

			if (paced && (read_attr(slots[i].name, "zpci_err_pending", &pending) < 0 ||
				      pending >= QUEUE_DEPTH))
				continue;
			if (pwrite(slots[i].inject_fd, pec, (size_t)len, 0) != len) {
				fprintf(stderr, "zpcid-test-storm: inject into %s: %m\n", slots[i].name);
				return 1;
			}
			injected++;
			room = true;
		}
		/* the signals queue up in the socket meanwhile: read them */
		pump(bus, room ? 0 : 1000);
	}

	/* every queue empty: the drainer took all the kernel delivered */
	deadline = now_usec() + SETTLE_USEC;
	for (;;) {
		bool empty = true;

		for (size_t i = 0; i < n_slots; i++)
			if (read_attr(slots[i].name, "zpci_err_pending", &pending) < 0 || pending > 0)
				empty = false;
		if (empty || now_usec() > deadline)
			break;
		pump(bus, 1000);
	}
	t_end = now_usec();
	for (size_t i = 0; i < n_slots; i++) {
		uint64_t d = 0;

		(void)read_attr(slots[i].name, "zpci_err_dropped", &d);
		dropped += d - slots[i].dropped0;
	}

	if (expect_journal) {
		/* every delivered error on the journal and on the bus, or no
		 * progress for SETTLE_USEC */
		uint64_t want = injected - dropped, seen = 0;

		last_change = now_usec();
		for (;;) {
			journal = journal_count(t0, &jlast);
			pump(bus, 500000); /* rarely: the drainer may still be at work */
			if (journal >= want && signals >= want)
				break;
			if (journal + signals != seen) {
				seen = journal + signals;
				last_change = now_usec();
			} else if (now_usec() - last_change > SETTLE_USEC)
				break;
		}
		if (jlast > t_end)
			t_end = jlast;
		if (last_signal_usec > t_end)
			t_end = last_signal_usec;
	}
	cpu1 = cpu_usec(pid);

	if (expect_journal)
		printf("storm injected=%" PRIu64 " dropped=%" PRIu64 " delivered=%" PRIu64
		       " journal=%" PRIu64 " signals=%" PRIu64 "\n",
		       injected, dropped, injected - dropped, journal, signals);
	else /* coalesced: the journal and the bus hold summaries */
		printf("storm injected=%" PRIu64 " dropped=%" PRIu64 " delivered=%" PRIu64 "\n", injected,
		       dropped, injected - dropped);
	printf("storm elapsed_us=%" PRIu64 " per_second=%.0f cpu_us=%" PRIu64 " cpu_us_per_record=%.1f\n",
	       t_end - t0, (double)(injected - dropped) * 1e6 / (double)(t_end - t0 ? t_end - t0 : 1),
	       cpu1 - cpu0, (double)(cpu1 - cpu0) / (double)(injected - dropped ? injected - dropped : 1));
	sd_bus_flush_close_unref(bus);
	if (expect_journal && (journal < injected - dropped || signals < injected - dropped))
		return 1;
	return 0;
}
