/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpcid-test-latency: the coarse latency check of the s390x test guest
 * (tests/s390x/guest-init.sh; docs/benchmarks.md).
 *
 *   zpcid-test-latency INJECT-FILE FID COUNT
 *
 * zpcid owns the function FID (bound to the kernel module vfio-zpci-err of
 * kmod/module) and logs to the guest's systemd-journald. COUNT times, one
 * error at a time: take t0 = CLOCK_MONOTONIC, write a PEC to INJECT-FILE
 * (the module queues the record and signals zpcid's error eventfd inside
 * this write), wait for zpcid's org.zpcid1.Manager.ErrorReported signal
 * about FID on the system bus and note when it arrived; then 20 ms of
 * quiet. Afterwards the journal: each of zpcid's error records about FID
 * gives journald's __MONOTONIC_TIMESTAMP, the time journald took the
 * record up (the same clock, the same boot). Records are paired with the
 * injections in order by their PEC (each injection's differs from the
 * one before); a record that is not the next injection's is an error
 * recorded twice, or one nobody injected, and is named on stderr.
 *
 * Only an error's first record counts (not the full record that completes
 * one reported from the kernel log first: same_as).
 *
 * Output: "latency journal|bus n=N p50=US p99=US max=US" (microseconds),
 * the same of the journal by the records' sources ("latency
 * journal-source-vfio,kmsg n=..."),
 * "latency lost journal=N bus=N" and "latency extra journal=N". Exit
 * status 0 when every injection was seen once on the journal and on the
 * bus, 1 otherwise.
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

#define SIGNAL_TIMEOUT_USEC (5 * 1000000ULL)
/* a signal later than this is named on stderr, for the one reading the log */
#define SLOW_USEC (100 * 1000ULL)

static uint32_t arg_fid;
static uint64_t received_usec; /* 0: no signal about arg_fid yet */
static uint64_t start_usec;    /* errors that happened before are not the test's */

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ErrorReported(a{sv}): the "kind" and "fid" entries. */
static int on_error_reported(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	uint64_t t = now_usec();
	ErrorSignal e;

	/* a kernel-log error from before the start, reported late, is not one of ours */
	if (error_signal_read(m, &e) >= 0 && e.fid == arg_fid && strcmp(e.kind, "error") == 0 && !e.second &&
	    e.monotonic >= start_usec && received_usec == 0)
		received_usec = t;
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, size_t n)
{
	if (n == 0) {
		printf("latency %s n=0\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), compare_u64);
	printf("latency %s n=%zu p50=%" PRIu64 " p99=%" PRIu64 " max=%" PRIu64 "\n", what, n, v[(n - 1) / 2],
	       v[(n * 99 + 99) / 100 - 1], v[n - 1]);
}

/* The journal latencies by the record's sources ("vfio": drained first,
 * its kernel-log line a duplicate; "vfio,kmsg": the line came first and
 * was held for the drained record; "kmsg": the floor never, zpcid when
 * the drained record came after the hold), for the one explaining a gap. */
#define SOURCES_MAX 4
static struct {
	char name[32];
	uint64_t *lat;
	size_t n;
} sources[SOURCES_MAX];
static size_t n_sources;
static size_t sources_room;

static void by_source_add(const char *name, uint64_t lat)
{
	size_t i;

	if (!name[0])
		name = "none";
	for (i = 0; i < n_sources; i++)
		if (strcmp(sources[i].name, name) == 0)
			break;
	if (i == n_sources) {
		if (n_sources == SOURCES_MAX)
			return;
		sources[i].lat = calloc(sources_room, sizeof(uint64_t));
		if (!sources[i].lat)
			return;
		(void)snprintf(sources[i].name, sizeof(sources[i].name), "%s", name);
		n_sources++;
	}
	sources[i].lat[sources[i].n++] = lat;
}

/* One of zpcid's first error records about arg_fid on the journal. */
typedef struct JournalRecord {
	uint64_t mono; /* journald's receive time */
	unsigned pec;
	char source[32];
	char seq[24];
} JournalRecord;

static void journal_field(sd_journal *j, const char *name, char *buf, size_t size)
{
	const void *d;
	size_t l, n = strlen(name) + 1;

	buf[0] = 0;
	if (sd_journal_get_data(j, name, &d, &l) < 0 || l <= n)
		return;
	l -= n;
	if (l >= size)
		l = size - 1;
	memcpy(buf, (const char *)d + n, l);
	buf[l] = 0;
}

/* zpcid's first records of errors about arg_fid, oldest first, at most
 * @max; records of errors from before @since (a kernel log read late) are
 * left out. */
static size_t journal_records(uint64_t since_usec, JournalRecord *ret, size_t max)
{
	sd_journal *j = NULL;
	char match[64];
	size_t n = 0;

	if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0)
		return 0;
	(void)snprintf(match, sizeof(match), "ZPCI_FID=0x%08" PRIx32, arg_fid);
	if (sd_journal_add_match(j, match, 0) < 0 || sd_journal_add_match(j, "ZPCID_KIND=error", 0) < 0) {
		sd_journal_close(j);
		return 0;
	}
	SD_JOURNAL_FOREACH (j) {
		uint64_t mono;
		sd_id128_t boot;
		char pec[16];

		if (sd_journal_get_monotonic_usec(j, &mono, &boot) < 0 || mono < since_usec ||
		    !journal_first_record_since(j, since_usec))
			continue;
		if (n == max)
			break;
		ret[n].mono = mono;
		journal_field(j, "ZPCI_PEC", pec, sizeof(pec));
		ret[n].pec = (unsigned)strtoul(pec, NULL, 0);
		journal_field(j, "ZPCID_SOURCE", ret[n].source, sizeof(ret[n].source));
		journal_field(j, "ZPCID_SEQ", ret[n].seq, sizeof(ret[n].seq));
		n++;
	}
	sd_journal_close(j);
	return n;
}

int main(int argc, char *argv[])
{
	sd_bus *bus = NULL;
	uint64_t *t0, *bus_lat, *journal_lat, start;
	unsigned *pecs;
	JournalRecord *records;
	size_t n_bus = 0, n_journal = 0, n_paired = 0, n_extra = 0, count;
	int fd, r;

	if (argc != 4) {
		fprintf(stderr, "usage: %s INJECT-FILE FID COUNT\n", argv[0]);
		return 2;
	}
	arg_fid = (uint32_t)strtoul(argv[2], NULL, 0);
	count = strtoul(argv[3], NULL, 0);
	if (count == 0 || count > 100000)
		return 2;
	t0 = calloc(count, sizeof(*t0));
	bus_lat = calloc(count, sizeof(*bus_lat));
	journal_lat = calloc(count, sizeof(*journal_lat));
	pecs = calloc(count, sizeof(*pecs));
	sources_room = count;
	/* room for every record zpcid may have written twice */
	records = calloc(2 * count, sizeof(*records));
	if (!t0 || !bus_lat || !journal_lat || !pecs || !records)
		return 1;

	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, "org.zpcid1", "/org/zpcid1", "org.zpcid1.Manager",
					"ErrorReported", on_error_reported, NULL);
	/* the match is in place at the bus once a round trip is done */
	if (r >= 0)
		r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				       "org.freedesktop.DBus", "GetId", NULL, NULL, "");
	if (r < 0) {
		fprintf(stderr, "zpcid-test-latency: system bus: %s\n", strerror(-r));
		return 1;
	}

	start = start_usec = now_usec();
	for (size_t k = 0; k < count; k++) {
		/* PECs 0x1..0x3f round-robin, without the FMB events
		 * (0x2a-0x2c) the kernel only logs: a record of each */
		char pec[8];
		unsigned p = 1 + (unsigned)(k % (0x3f - 3));
		uint64_t deadline;
		int len;

		pecs[k] = p >= 0x2a ? p + 3 : p;
		len = snprintf(pec, sizeof(pec), "0x%x\n", pecs[k]);

		while (sd_bus_process(bus, NULL) > 0)
			;
		received_usec = 0;
		fd = open(argv[1], O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "zpcid-test-latency: %s: %m\n", argv[1]);
			return 1;
		}
		t0[k] = now_usec();
		if (write(fd, pec, (size_t)len) != len) {
			fprintf(stderr, "zpcid-test-latency: inject: %m\n");
			return 1;
		}
		close(fd);
		deadline = t0[k] + SIGNAL_TIMEOUT_USEC;
		while (received_usec == 0 && now_usec() < deadline) {
			r = sd_bus_process(bus, NULL);
			if (r < 0)
				break;
			if (r == 0)
				(void)sd_bus_wait(bus, deadline - now_usec());
		}
		if (received_usec) {
			bus_lat[n_bus++] = received_usec - t0[k];
			if (received_usec - t0[k] > SLOW_USEC)
				fprintf(stderr,
					"zpcid-test-latency: injection %zu (PEC 0x%x): signal after %" PRIu64
					" us\n",
					k, pecs[k], received_usec - t0[k]);
		} else
			fprintf(stderr, "zpcid-test-latency: no ErrorReported signal for injection %zu\n",
				k);
		usleep(20000);
	}

	/* give journald a moment for the last records */
	for (int i = 0; i < 50; i++) {
		n_journal = journal_records(start, records, 2 * count);
		if (n_journal >= count)
			break;
		usleep(100000);
	}
	if (n_journal == 0) {
		/* say what the journal holds, for the one reading the log */
		sd_journal *j = NULL;
		unsigned all = 0;

		if (sd_journal_open(&j, 0) >= 0) {
			SD_JOURNAL_FOREACH (j)
				all++;
			sd_journal_close(j);
		}
		fprintf(stderr,
			"zpcid-test-latency: no error record about 0x%" PRIx32 " among %u journal entries\n",
			arg_fid, all);
	}
	/* The records in journal order against the injections in theirs, by
	 * PEC: a record that is not the next injection's is one too many (an
	 * error recorded twice, or one nobody injected), and said so. */
	for (size_t i = 0; i < n_journal; i++) {
		const JournalRecord *rec = &records[i];

		if (n_paired < count && rec->pec == pecs[n_paired] && rec->mono >= t0[n_paired]) {
			journal_lat[n_paired] = rec->mono - t0[n_paired];
			by_source_add(rec->source, journal_lat[n_paired]);
			n_paired++;
			continue;
		}
		n_extra++;
		fprintf(stderr,
			"zpcid-test-latency: record %zu (seq %s, PEC 0x%x, source %s, at %" PRIu64
			") is not injection %zu's (PEC 0x%x, at %" PRIu64 ")\n",
			i, rec->seq, rec->pec, rec->source, rec->mono, n_paired,
			n_paired < count ? pecs[n_paired] : 0, n_paired < count ? t0[n_paired] : 0);
	}

	report("journal", journal_lat, n_paired);
	report("bus", bus_lat, n_bus);
	for (size_t i = 0; i < n_sources; i++) {
		char what[64];

		(void)snprintf(what, sizeof(what), "journal-source-%.31s", sources[i].name);
		report(what, sources[i].lat, sources[i].n);
	}
	printf("latency lost journal=%zu bus=%zu\n", count - n_paired, count - n_bus);
	printf("latency extra journal=%zu\n", n_extra);
	sd_bus_flush_close_unref(bus);
	return n_paired == count && n_extra == 0 && n_bus == count ? 0 : 1;
}
