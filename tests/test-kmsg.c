/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/messages.h"
#include "common/time-util.h"
#include "daemon/function.h"
#include "daemon/history.h"
#include "daemon/kmsg.h"
#include "daemon/pipeline.h"
#include "daemon/sinks.h"
#include "tests/test-util.h"

#define ZPCI_LINE(slot, pec, fid) "zpci: " slot ": Event 0x" pec " reports an error for PCI function 0x" fid

static int parse(const char *message, KmsgZpci *z)
{
	return kmsg_zpci_parse(message, strlen(message), z);
}

START_TEST(test_record_parse)
{
	const char *l1 = "3,1234,5678901,-;zpci: hello";
	const char *l2 = "12,7,0,c,caller=T1;text;with;semicolons";
	KmsgRecord r;

	ck_assert_int_eq(kmsg_record_parse(l1, strlen(l1), &r), 0);
	ck_assert_int_eq(r.priority, 3);
	ck_assert_int_eq(r.facility, 0);
	ck_assert_uint_eq(r.seq, 1234);
	ck_assert_uint_eq(r.ts_usec, 5678901);
	ck_assert_uint_eq(r.message_len, strlen("zpci: hello"));
	ck_assert(strneq(r.message, "zpci: hello", r.message_len));

	ck_assert_int_eq(kmsg_record_parse(l2, strlen(l2), &r), 0);
	ck_assert_int_eq(r.priority, 4);
	ck_assert_int_eq(r.facility, 1);
	ck_assert_uint_eq(r.seq, 7);
	ck_assert(strneq(r.message, "text;with;semicolons", r.message_len));

	/* empty message is a record too */
	ck_assert_int_eq(kmsg_record_parse("6,1,2,-;", 8, &r), 0);
	ck_assert_uint_eq(r.message_len, 0);

	static const char *const bad[] = {
		"",           " SUBSYSTEM=pci", "3,1,2,-",    "3,1,2;x",  "3,1;x",
		"a,1,2,-;x",  "3,,2,-;x",       "3,1,2,--;x", "3,1,2,;x", "3,99999999999999999999999,2,-;x",
		"-3,1,2,-;x",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ck_assert_msg(kmsg_record_parse(bad[i], strlen(bad[i]), &r) == -EBADMSG, "accepted \"%s\"",
			      bad[i]);
}
END_TEST

START_TEST(test_zpci_error_line)
{
	KmsgZpci z;

	ck_assert_int_eq(parse(ZPCI_LINE("0001:00:00.0", "3a", "11"), &z), 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_ERROR);
	ck_assert_str_eq(z.slot, "0001:00:00.0");
	ck_assert(z.has_pec && z.has_fid);
	ck_assert_uint_eq(z.pec, 0x3a);
	ck_assert_uint_eq(z.fid, 0x11);

	/* no PCI device: the kernel prints "n/a" */
	ck_assert_int_eq(parse(ZPCI_LINE("n/a", "40", "ffffffff"), &z), 1);
	ck_assert_str_eq(z.slot, "");
	ck_assert_uint_eq(z.pec, 0x40);
	ck_assert_uint_eq(z.fid, 0xffffffff);

	/* the message is not NUL-terminated at its end */
	{
		const char *s = ZPCI_LINE("0001:00:00.0", "3a", "11") "trailing";

		ck_assert_int_eq(kmsg_zpci_parse(s, strlen(s) - strlen("trailing"), &z), 1);
		ck_assert_uint_eq(z.fid, 0x11);
	}

	ck_assert_int_eq(parse(ZPCI_LINE("0001:00:00.0", "10000", "11"), &z), 0); /* pec overflow */
	ck_assert_int_eq(parse(ZPCI_LINE("0001:00:00.0", "3a", "100000000"), &z), 0);
	ck_assert_int_eq(parse(ZPCI_LINE("0001:00:00.0", "zz", "11"), &z), 0);
	ck_assert_int_eq(parse(ZPCI_LINE("0001:00:00.0", "3a", "11") " ", &z), 0);
	ck_assert_int_eq(parse(ZPCI_LINE("0001:00:00.0", "3a", ""), &z), 0);
	ck_assert_int_eq(parse(ZPCI_LINE("bad slot", "3a", "11"), &z), 0);
	ck_assert_int_eq(parse("zpci: 0001:00:00.0: Event 0x3a reports", &z), 0);
	ck_assert_int_eq(parse("nvme 0001:00:00.0: Event 0x3a reports an error for PCI function 0x11", &z),
			 0);
	ck_assert_int_eq(parse("Linux version 6.1.0", &z), 0);
	ck_assert_int_eq(parse("", &z), 0);
}
END_TEST

START_TEST(test_zpci_other_lines)
{
	KmsgZpci z;

	ck_assert_int_eq(parse("vfio-pci 0001:00:00.0: 0001:00:00.0: Maximum number (4) of pending error "
			       "events queued",
			       &z),
			 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_QUEUE_FULL);
	ck_assert_str_eq(z.slot, "0001:00:00.0");
	ck_assert_uint_eq(z.count, 1);
	ck_assert(!z.has_fid);
	ck_assert_int_eq(parse("zpci: 0002:00:00.0: Maximum number (4) of pending error events queued", &z),
			 1);
	ck_assert_str_eq(z.slot, "0002:00:00.0");
	ck_assert_int_eq(parse("vfio-pci x: y: Maximum number (x) of pending error events queued", &z), 0);

	/* the companion kernel patch's wording */
	ck_assert_int_eq(parse("zpci: 0001:00:00.0: Error event queue full, dropping event 0x3a for PCI "
			       "function 0x21",
			       &z),
			 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_QUEUE_FULL);
	ck_assert_uint_eq(z.count, 1);
	ck_assert(z.has_fid && z.fid == 0x21);
	ck_assert(z.has_pec && z.pec == 0x3a);
	ck_assert_str_eq(z.slot, "0001:00:00.0");
	ck_assert_int_eq(
		parse("zpci: 0001:00:00.0: Error event queue full, dropping event 0x3a for PCI", &z), 0);
	ck_assert_int_eq(
		parse("zpci: 0001:00:00.0: Discarding 3 unread error events of PCI function 0x21", &z), 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_UNHANDLED);
	ck_assert_uint_eq(z.count, 3);
	ck_assert_uint_eq(z.fid, 0x21);

	ck_assert_int_eq(parse("zpci: Unhandled PCI error events count=3 for PCI function 0x12", &z), 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_UNHANDLED);
	ck_assert_uint_eq(z.count, 3);
	ck_assert_uint_eq(z.fid, 0x12);
	ck_assert_int_eq(parse("zpci: Unhandled PCI error events count=3 for PCI function 0x", &z), 0);

	ck_assert_int_eq(
		parse("zpci: 0001:00:00.0: Cannot be recovered because no driver is bound to the device",
		      &z),
		1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_RECOVERY_FAILED);
	ck_assert_str_eq(z.slot, "0001:00:00.0");
	ck_assert_ptr_nonnull(z.detail);
	ck_assert_int_eq(parse("zpci: 0001:00:00.0: The ism driver bound to the device does not support "
			       "error recovery",
			       &z),
			 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_RECOVERY_FAILED);
	ck_assert_int_eq(parse("zpci: 0001:00:00.0: Automatic recovery failed after MMIO re-enable", &z), 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_RECOVERY_FAILED);

	ck_assert_int_eq(parse("zpci: 0001:00:00.0: Initiating reset", &z), 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_RECOVERY_INFO);
	ck_assert_int_eq(parse("zpci: 0001:00:00.0: The device is ready to resume operations", &z), 1);
	ck_assert_int_eq(z.kind, KMSG_ZPCI_RECOVERY_INFO);
	ck_assert_int_eq(parse("zpci: 0001:00:00.0: Initiating reset now", &z), 0);
}
END_TEST

START_TEST(test_cursor)
{
	KmsgCursor c, saved;
	char buf[128];
	uint64_t gap;

	ck_assert_int_eq(kmsg_cursor_parse("BOOT_ID=abc\nSEQ=42\n", &saved), 0);
	ck_assert(saved.valid);
	ck_assert_str_eq(saved.boot_id, "abc");
	ck_assert_uint_eq(saved.seq, 42);
	ck_assert_int_eq(kmsg_cursor_format(&saved, buf, sizeof(buf)), (int)strlen("BOOT_ID=abc\nSEQ=42\n"));
	ck_assert_str_eq(buf, "BOOT_ID=abc\nSEQ=42\n");
	ck_assert_int_eq(kmsg_cursor_format(&saved, buf, 5), -ENOBUFS);

	ck_assert_int_eq(kmsg_cursor_parse("BOOT_ID=abc\n", &c), -EBADMSG);
	ck_assert_int_eq(kmsg_cursor_parse("SEQ=1\n", &c), -EBADMSG);
	ck_assert_int_eq(kmsg_cursor_parse("BOOT_ID=abc\nSEQ=x\n", &c), -EBADMSG);
	ck_assert_int_eq(kmsg_cursor_parse("BOOT_ID=abc\nSEQ=1\nJUNK\n", &c), -EBADMSG);
	ck_assert_int_eq(kmsg_cursor_parse("", &c), -EBADMSG);

	/* same boot: resume after 42 */
	kmsg_cursor_resume(&c, &saved, "abc");
	ck_assert(c.valid);
	ck_assert(!kmsg_cursor_advance(&c, 40, &gap));
	ck_assert(!kmsg_cursor_advance(&c, 42, &gap));
	ck_assert(kmsg_cursor_advance(&c, 43, &gap));
	ck_assert_uint_eq(gap, 0);
	ck_assert(kmsg_cursor_advance(&c, 50, &gap));
	ck_assert_uint_eq(gap, 6);
	ck_assert_uint_eq(c.seq, 50);

	/* another boot: start from scratch; records before the first one seen are a gap */
	kmsg_cursor_resume(&c, &saved, "def");
	ck_assert(!c.valid);
	ck_assert_str_eq(c.boot_id, "def");
	ck_assert(kmsg_cursor_advance(&c, 0, &gap));
	ck_assert_uint_eq(gap, 0);
	kmsg_cursor_resume(&c, &saved, "def");
	ck_assert(kmsg_cursor_advance(&c, 5, &gap));
	ck_assert_uint_eq(gap, 5);

	/* unknown boot id: never trust a saved position */
	kmsg_cursor_resume(&c, &saved, "");
	ck_assert(!c.valid);
	kmsg_cursor_resume(&c, NULL, "abc");

	{
		KmsgMark mk;

		ck_assert_int_eq(
			kmsg_mark_parse(
				"BOOT_ID=abc\nSEQ=00000000000000000042\nPENDING=00000000000000000044\n"
				"EVENT_SEQ=00000000000000000007\n",
				&mk),
			0);
		ck_assert_str_eq(mk.cursor.boot_id, "abc");
		ck_assert_uint_eq(mk.cursor.seq, 42);
		ck_assert_uint_eq(mk.pending, 44);
		ck_assert_uint_eq(mk.event_seq, 7);
		ck_assert_int_eq(kmsg_mark_parse("BOOT_ID=abc\nSEQ=42\nPENDING=0\n", &mk), -EBADMSG);
		ck_assert_int_eq(kmsg_mark_parse("BOOT_ID=abc\nSEQ=42\nPENDING=0\nEVENT_SEQ=x\n", &mk),
				 -EBADMSG);
		ck_assert_int_eq(kmsg_mark_parse("BOOT_ID=abc\nSEQ=42\nPENDING=0\nEVENT_SEQ=1\nJUNK\n", &mk),
				 -EBADMSG);
	}
	ck_assert(!c.valid);
}
END_TEST

typedef struct Lines {
	char lines[8][64];
	size_t n;
} Lines;

static void collect(const char *line, size_t len, void *userdata)
{
	Lines *l = userdata;

	ck_assert_uint_lt(l->n, 8);
	ck_assert_uint_lt(len, 64);
	memcpy(l->lines[l->n], line, len);
	l->lines[l->n++][len] = '\0';
}

START_TEST(test_splitter)
{
	static KmsgSplitter s; /* large: not on the stack */
	static char big[KMSG_LINE_MAX + 100];
	Lines l = {};

	kmsg_splitter_feed(&s, "ab", 2, false, collect, &l);
	ck_assert_uint_eq(l.n, 0);
	kmsg_splitter_feed(&s, "c\nde\n\nf", 7, false, collect, &l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.lines[0], "abc");
	ck_assert_str_eq(l.lines[1], "de");
	ck_assert_str_eq(l.lines[2], "");
	kmsg_splitter_feed(&s, "g", 1, true, collect, &l); /* end of a record */
	ck_assert_uint_eq(l.n, 4);
	ck_assert_str_eq(l.lines[3], "fg");

	/* an overlong line is dropped whole, the next one is intact */
	memset(big, 'x', sizeof(big));
	kmsg_splitter_feed(&s, big, sizeof(big), false, collect, &l);
	kmsg_splitter_feed(&s, big, 10, false, collect, &l);
	kmsg_splitter_feed(&s, "\nok\n", 4, false, collect, &l);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_str_eq(l.lines[4], "ok");
	ck_assert_uint_eq(s.n_overlong, 1);
}
END_TEST

/* ---- the source on a loop, with a file or FIFO standing in for /dev/kmsg ---- */

static char dir[] = "/tmp/zpcid-test-kmsg-XXXXXX";
static char kmsg_path[128], boot_path[128], state_dir[128];

static void setup(void)
{
	strcpy(dir, "/tmp/zpcid-test-kmsg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(kmsg_path, sizeof(kmsg_path), "%s/kmsg", dir);
	(void)snprintf(boot_path, sizeof(boot_path), "%s/boot_id", dir);
	(void)snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	ck_assert_int_eq(mkdir(state_dir, 0755), 0);
}

static void teardown(void)
{
	test_rm_rf(dir);
}

static void write_file(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* What the source works with: a loop, a log kept in memory, a real
 * pipeline with the journal sink (and, for the kill test, the history),
 * and the one function the lookup knows. */
typedef struct World {
	struct event_base *base;
	Log *log;
	Pipeline *pipeline;
	History *history;       /* NULL: without history */
	ZpciFunction *function; /* FID 0x11 in slot 0001:00:00.0; NULL: none known */
	unsigned n_lookups;
} World;

#define KNOWN_FID  0x11
#define KNOWN_SLOT "0001:00:00.0"

/* Like the registry: by FID, else by slot. */
static ZpciFunction *lookup(void *userdata, bool has_fid, uint32_t fid, const char *slot)
{
	World *w = userdata;

	w->n_lookups++;
	if (!w->function)
		return NULL;
	if (has_fid && fid == w->function->attrs.fid)
		return w->function;
	if (!isempty(slot) && streq(slot, w->function->attrs.slot))
		return w->function;
	return NULL;
}

static World *world_new_full(bool with_function, bool with_history)
{
	World *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(log_new(&w->log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	w->base = event_base_new();
	ck_assert_ptr_nonnull(w->base);
	ck_assert_int_eq(pipeline_new(&w->pipeline, w->base, w->log), 0);
	ck_assert_int_eq(pipeline_add_sink(w->pipeline, &sink_journal, w->log), 0);
	if (with_history) {
		ck_assert_int_eq(history_open(&w->history, state_dir, NULL, w->log), 0);
		ck_assert_int_eq(pipeline_add_sink(w->pipeline, &sink_history, w->history), 0);
		pipeline_set_next_seq(w->pipeline, history_last_seq(w->history) + 1);
	}
	if (with_function) {
		ZpciAttrs a = { .fid = KNOWN_FID };

		(void)snprintf(a.slot, sizeof(a.slot), "%s", KNOWN_SLOT);
		ck_assert_int_eq(function_new(&w->function, NULL, &a, NULL), 0);
	}
	return w;
}

static World *world_new(void)
{
	return world_new_full(true, false);
}

static void world_free(World *w)
{
	if (w->function)
		pipeline_forget_function(w->pipeline, w->function);
	pipeline_free(w->pipeline);
	history_free(w->history);
	function_unref(w->function);
	event_base_free(w->base);
	log_free(w->log);
	free(w);
}

static KmsgSource *new_source(World *w, const char *path)
{
	const KmsgSourceConfig c = {
		.kmsg_path = path,
		.boot_id_path = boot_path,
		.state_directory = state_dir,
		.event_base = w->base,
		.log = w->log,
		.pipeline = w->pipeline,
		.lookup = lookup,
		.lookup_userdata = w,
		.history = w->history,
	};
	KmsgSource *k = NULL;

	ck_assert_int_eq(kmsg_source_new(&k, &c), 0);
	return k;
}

static size_t count_records(World *w, const char *message_id, const char *key, const char *value)
{
	return test_count_records(w->log, message_id, key, value);
}

/* Run the loop until the source has read all there is; returns the loop
 * iterations that took. */
static unsigned run_until_idle(World *w, KmsgSource *k)
{
	unsigned n = 0;

	do {
		ck_assert_int_ge(event_base_loop(w->base, EVLOOP_ONCE | EVLOOP_NONBLOCK), 0);
		n++;
	} while (!kmsg_source_idle(k));
	return n;
}

static KmsgSource *start_source(World *w)
{
	KmsgSource *k = new_source(w, kmsg_path);

	ck_assert_int_eq(kmsg_source_start(k), 0);
	(void)run_until_idle(w, k);
	return k;
}

#define RECORDS_1                                                                                         \
	"6,0,100,-;Linux version 6.1.0-s390x\n"                                                           \
	"3,1,200,-;" ZPCI_LINE("0001:00:00.0", "3a",                                                      \
			       "11") "\n"                                                                 \
				     " SUBSYSTEM=pci\n"                                                   \
				     " DEVICE=+pci:0001:00:00.0\n"                                        \
				     "4,2,300,-;vfio-pci 0001:00:00.0: 0001:00:00.0: Maximum number (4) " \
				     "of pending error events queued\n"

START_TEST(test_source_file_resume)
{
	World *m;
	KmsgSource *k;
	char cursor[256], text[128];
	FILE *f;

	write_file(boot_path, "we", "11111111-2222-3333-4444-555555555555\n");
	write_file(kmsg_path, "we", RECORDS_1);

	/* First start: both zPCI records become events. */
	m = world_new();
	k = start_source(m);
	ck_assert_uint_eq(kmsg_source_n_records(k), 3);
	ck_assert_uint_eq(kmsg_source_n_zpci(k), 2);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, NULL, NULL), 1);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, "ZPCI_PEC", "0x003a"), 1);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, "ZPCI_FID", "0x00000011"), 1);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, "ZPCID_SOURCE", "kmsg"), 1);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_DROPPED, "ZPCID_COUNT", "1"), 1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_KMSG_GAP, NULL, NULL), 0);
	/* Both lines were looked up; the queue-full line names only the slot,
	 * its record gets the FID of the function found there, and the
	 * function counts both. */
	ck_assert_uint_eq(m->n_lookups, 2);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_DROPPED, "ZPCI_FID", "0x00000011"), 1);
	ck_assert_uint_eq(m->function->counters.errors, 1);
	ck_assert_uint_eq(m->function->counters.dropped, 1);
	kmsg_source_free(k);
	world_free(m);

	(void)snprintf(cursor, sizeof(cursor), "%s/" KMSG_CURSOR_FILENAME, state_dir);
	f = fopen(cursor, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(text, 1, sizeof(text) - 1, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "SEQ=2\n"));

	/* Restart: nothing is reported twice. */
	m = world_new();
	k = start_source(m);
	ck_assert_uint_eq(kmsg_source_n_records(k), 0);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, NULL, NULL), 0);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_DROPPED, NULL, NULL), 0);

	/* A record appended while running is read (inotify wakes the loop). */
	write_file(kmsg_path, "ae", "3,3,400,-;" ZPCI_LINE("0001:00:00.0", "40", "11") "\n");
	ck_assert_int_eq(event_base_loop(m->base, EVLOOP_ONCE), 0);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, "ZPCI_PEC", "0x0040"), 1);
	kmsg_source_free(k);
	world_free(m);

	/* Down while records were overwritten: the gap is reported with its size. */
	write_file(kmsg_path, "ae", "3,10,500,-;" ZPCI_LINE("0001:00:00.0", "3b", "11") "\n");
	m = world_new();
	k = start_source(m);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, NULL, NULL), 1);
	ck_assert_uint_eq(count_records(m, MESSAGE_ID_KMSG_GAP, "ZPCID_COUNT", "6"), 1);
	ck_assert_uint_eq(kmsg_source_n_missed(k), 6);
	kmsg_source_free(k);
	world_free(m);

	/* After a reboot everything buffered is new again. */
	write_file(boot_path, "we", "99999999-2222-3333-4444-555555555555\n");
	m = world_new();
	k = start_source(m);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, NULL, NULL), 3);
	kmsg_source_free(k);
	world_free(m);
}
END_TEST

START_TEST(test_source_fifo)
{
	World *m;
	KmsgSource *k;
	int fd;

	write_file(boot_path, "we", "11111111-2222-3333-4444-555555555555\n");
	ck_assert_int_eq(mkfifo(kmsg_path, 0600), 0);

	m = world_new();
	k = start_source(m);
	ck_assert_uint_eq(kmsg_source_n_records(k), 0);

	fd = open(kmsg_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	/* one record in two writes, then two records in one */
	ck_assert_int_eq(write(fd, "3,0,1,-;zpci: 0001:00:00.0: Event 0x", 36), 36);
	ck_assert_int_eq(event_base_loop(m->base, EVLOOP_ONCE), 0);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, NULL, NULL), 0);
	{
		const char *rest =
			"3a reports an error for PCI function 0x11\n"
			"6,1,2,-;unrelated\n"
			"3,2,3,-;zpci: Unhandled PCI error events count=2 for PCI function 0x11\n";

		ck_assert_int_eq(write(fd, rest, strlen(rest)), (int)strlen(rest));
	}
	ck_assert_int_eq(event_base_loop(m->base, EVLOOP_ONCE), 0);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_ERROR, "ZPCI_PEC", "0x003a"), 1);
	ck_assert_uint_eq(count_records(m, EVENT_MESSAGE_ID_DROPPED, "ZPCID_COUNT", "2"), 1);
	ck_assert_uint_eq(kmsg_source_n_records(k), 3);

	/* The writer going away is no end of the source. */
	close(fd);
	ck_assert_int_eq(event_base_loop(m->base, EVLOOP_NONBLOCK), 0);
	kmsg_source_free(k);
	world_free(m);
}
END_TEST

typedef struct OrderProbe {
	KmsgSource *k;
	uint64_t records_seen; /* kmsg records read when the other callback ran */
	bool ran;
} OrderProbe;

static void on_other_ready(evutil_socket_t fd, short what, void *userdata)
{
	OrderProbe *o = userdata;
	char c;

	(void)read(fd, &c, 1);
	o->records_seen = kmsg_source_n_records(o->k);
	o->ran = true;
}

/* The kernel logs an error before it signals the drain: when the kernel
 * log and another source (an error eventfd) wake the loop together, the
 * other source's callback runs first, even when epoll reports the kernel
 * log first (it became ready first), and the line is read in the same pass. */
START_TEST(test_source_lets_others_go_first)
{
	World *m;
	OrderProbe o = {};
	struct event *other;
	int fd, p[2];

	write_file(boot_path, "we", "11111111-2222-3333-4444-555555555555\n");
	ck_assert_int_eq(mkfifo(kmsg_path, 0600), 0);
	m = world_new();
	o.k = start_source(m);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	other = event_new(m->base, p[0], EV_READ | EV_PERSIST, on_other_ready, &o);
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(event_add(other, NULL), 0);

	fd = open(kmsg_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	{
		const char *line =
			"3,0,1,-;zpci: 0001:00:00.0: Event 0x3a reports an error for PCI function 0x11\n";

		ck_assert_int_eq(write(fd, line, strlen(line)), (int)strlen(line));
	}
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(event_base_loop(m->base, EVLOOP_ONCE), 0);
	ck_assert(o.ran);
	ck_assert_uint_eq(o.records_seen, 0);
	ck_assert_uint_eq(kmsg_source_n_records(o.k), 1);

	close(fd);
	event_free(other);
	close(p[0]);
	close(p[1]);
	kmsg_source_free(o.k);
	world_free(m);
}
END_TEST

static void on_signal_seen(evutil_socket_t fd, short what, void *userdata)
{
	(*(unsigned *)userdata)++;
}

/* A backlog is read in slices; between two slices the loop serves what
 * else is ready (here: a signal), and the cursor is not saved per slice. */
START_TEST(test_source_backlog_sliced)
{
	const unsigned n_lines = 20000;
	unsigned seen = 0, served_at = 0, iterations = 0;
	struct event *sig;
	World *m;
	KmsgSource *k = NULL;
	FILE *f;

	write_file(boot_path, "we", "11111111-2222-3333-4444-555555555555\n");
	f = fopen(kmsg_path, "we");
	ck_assert_ptr_nonnull(f);
	for (unsigned i = 0; i < n_lines; i++)
		fprintf(f, "3,%u,%u,-;unrelated line %u\n", i, i + 1, i);
	ck_assert_int_eq(fclose(f), 0);

	m = world_new();
	sig = evsignal_new(m->base, SIGUSR1, on_signal_seen, &seen);
	ck_assert_int_eq(evsignal_add(sig, NULL), 0);
	k = new_source(m, kmsg_path);
	ck_assert_int_eq(kmsg_source_start(k), 0);
	ck_assert_uint_eq(kmsg_source_n_records(k), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	do {
		ck_assert_int_ge(event_base_loop(m->base, EVLOOP_ONCE | EVLOOP_NONBLOCK), 0);
		iterations++;
		if (seen && !served_at)
			served_at = (unsigned)kmsg_source_n_records(k);
	} while (!kmsg_source_idle(k));

	ck_assert_uint_eq(kmsg_source_n_records(k), n_lines);
	ck_assert_uint_eq(seen, 1);
	/* The signal was served long before the backlog ended. */
	ck_assert_uint_le(served_at, 2 * KMSG_SLICE_RECORDS);
	/* A slice ends within one read piece after its budget. */
	ck_assert_uint_ge(kmsg_source_n_slices(k), n_lines / (2 * KMSG_SLICE_RECORDS));
	ck_assert_uint_ge(iterations, n_lines / (2 * KMSG_SLICE_RECORDS));
	/* One save at the first slice, the rest deferred to the timer or exit. */
	ck_assert_uint_le(kmsg_source_n_cursor_saves(k), 2);
	event_free(sig);
	kmsg_source_free(k);
	world_free(m);
}
END_TEST

/* A character device that reports its end (here a terminal whose other
 * side closed: always readable, every read 0) is logged once and no longer
 * watched: the loop does not spin on it. */
START_TEST(test_source_end_no_spin)
{
	World *m = world_new();
	KmsgSource *k = NULL;
	int master;
	unsigned i;

	write_file(boot_path, "we", "11111111-2222-3333-4444-555555555555\n");
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	k = new_source(m, ptsname(master));
	ck_assert_int_eq(kmsg_source_start(k), 0);
	(void)run_until_idle(m, k);
	ck_assert_int_eq(close(master), 0);
	/* 1: no events left on the loop. */
	for (i = 0; i < 100; i++)
		if (event_base_loop(m->base, EVLOOP_ONCE | EVLOOP_NONBLOCK) == 1)
			break;
	ck_assert_uint_lt(i, 100);
	ck_assert_uint_le(kmsg_source_n_slices(k), 3);
	{
		size_t ended = 0;

		for (size_t j = 0; j < log_memory_count(m->log); j++)
			if (strstr(log_memory_get(m->log, j)->message, "has ended"))
				ended++;
		ck_assert_uint_eq(ended, 1);
	}
	kmsg_source_free(k);
	world_free(m);
}
END_TEST

START_TEST(test_source_missing)
{
	World *m = world_new();
	KmsgSource *k = NULL;

	k = new_source(m, "/nonexistent/kmsg");
	ck_assert_int_eq(kmsg_source_start(k), -ENOENT);
	kmsg_source_free(k);
	/* Without a pipeline there is nowhere to send records. */
	k = NULL;
	ck_assert_int_eq(kmsg_source_new(&k, &(KmsgSourceConfig){ .event_base = m->base, .log = m->log }),
			 -EINVAL);
	ck_assert_ptr_null(k);
	world_free(m);
}
END_TEST

#define KILL_LINES  3000
#define KILL_ROUNDS 6
#define KILL_FID    0x1000

/* SIGKILL at several points while a kernel log backlog of zPCI errors is
 * handled, then a start that reads the rest: every error is in the history
 * exactly once, none lost, none recorded twice. Before kmsg-recorded, the
 * records after the last cursor save were read and recorded again. */
START_TEST(test_source_kill_no_replay)
{
	_cleanup_free_ ZpciEvent *ev = NULL;
	_cleanup_free_ uint8_t *seen = calloc(KILL_LINES, 1);
	const ZpciEvent *bad = NULL;
	char path[256];
	uint64_t total = 0;
	size_t n = 0;
	unsigned killed_mid = 0;
	World *m;
	KmsgSource *k;
	FILE *f;

	ck_assert_ptr_nonnull(seen);
	write_file(boot_path, "we", "11111111-2222-3333-4444-555555555555\n");
	f = fopen(kmsg_path, "we");
	ck_assert_ptr_nonnull(f);
	for (unsigned i = 0, seq = 1; i < KILL_LINES; i++) {
		fprintf(f, "6,%u,%u,-;some other kernel line %u\n", seq, seq * 10, i);
		seq++;
		fprintf(f,
			"3,%u,%u,-;zpci: 0001:00:00.0: Event 0x3a reports an error for PCI function 0x%x\n",
			seq, seq * 10, KILL_FID + i);
		seq++;
	}
	ck_assert_int_eq(fclose(f), 0);
	(void)snprintf(path, sizeof(path), "%s/" HISTORY_FILE_NAME, state_dir);

	for (unsigned round = 0; round < KILL_ROUNDS; round++) {
		/* killed once the history holds about (round + 1) / (KILL_ROUNDS + 1)
		 * of the records (each is longer than 200 bytes) */
		off_t threshold = (off_t)(200ULL * KILL_LINES * (round + 1) / (KILL_ROUNDS + 1));
		struct stat st = {};
		pid_t pid = fork();
		int status;

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			m = world_new_full(false, true);
			k = start_source(m);
			for (;;)
				pause();
		}
		for (unsigned i = 0; i < 120000; i++) {
			if (stat(path, &st) == 0 && st.st_size >= threshold)
				break;
			usleep(1000);
		}
		ck_assert_int_ge(st.st_size, threshold);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		(void)stat(path, &st);
		killed_mid += st.st_size < (off_t)(200ULL * KILL_LINES);
	}

	m = world_new_full(false, true);
	k = start_source(m);
	{
		HistoryQuery q = HISTORY_QUERY_ALL;

		ck_assert_int_eq(history_query(m->history, &q, &ev, &n, &total), 0);
	}
	ck_assert_uint_eq(total, n);
	/* one check for all: each ck_assert is a message to Check */
	for (size_t i = 0; i < n && !bad; i++) {
		if (ev[i].kind != EVENT_ERROR || !(ev[i].sources & EVENT_SOURCE_KMSG) ||
		    ev[i].fid < KILL_FID || ev[i].fid >= KILL_FID + KILL_LINES || seen[ev[i].fid - KILL_FID])
			bad = &ev[i];
		else
			seen[ev[i].fid - KILL_FID] = 1;
	}
	ck_assert_msg(!bad, "record seq %" PRIu64 ": kind %d, sources 0x%x, function 0x%x (a repeat: %d)",
		      bad->seq, (int)bad->kind, (unsigned)bad->sources, bad->fid,
		      bad->fid >= KILL_FID && bad->fid < KILL_FID + KILL_LINES && seen[bad->fid - KILL_FID]);
	ck_assert_uint_eq(n, KILL_LINES);
	/* the kills did hit while records were being handled */
	ck_assert_uint_gt(killed_mid, 0);
	kmsg_source_free(k);
	world_free(m);
}
END_TEST

#define BOOT_ID "11111111-2222-3333-4444-555555555555\n"

static uint64_t drains_all(const ZpciFunction *f)
{
	return 1; /* records of any age */
}

/* The sequence number kmsg-cursor says; UINT64_MAX when there is none. */
static uint64_t saved_cursor_seq(void)
{
	char path[256], text[256] = "";
	KmsgCursor c = {};
	FILE *f;
	size_t n;

	(void)snprintf(path, sizeof(path), "%s/" KMSG_CURSOR_FILENAME, state_dir);
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	ck_assert_int_eq(kmsg_cursor_parse(text, &c), 0);
	ck_assert(c.valid);
	return c.seq;
}

/* One turn of the loop (waiting for what comes), at most 30 s in all. */
static void turn(World *w, uint64_t limit)
{
	ck_assert_uint_lt(now_usec(CLOCK_MONOTONIC), limit);
	ck_assert_int_ge(event_base_loop(w->base, EVLOOP_ONCE), 0);
}

static size_t count_history(World *w, EventKind kind, uint16_t pec, unsigned sources)
{
	_cleanup_free_ ZpciEvent *ev = NULL;
	HistoryQuery q = HISTORY_QUERY_ALL;
	size_t n = 0, found = 0;

	ck_assert_int_eq(history_query(w->history, &q, &ev, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		found += ev[i].kind == kind && ev[i].pec == pec && ev[i].sources == sources;
	return found;
}

static size_t count_history_all(World *w)
{
	_cleanup_free_ ZpciEvent *ev = NULL;
	HistoryQuery q = HISTORY_QUERY_ALL;
	size_t n = 0;

	ck_assert_int_eq(history_query(w->history, &q, &ev, &n, NULL), 0);
	return n;
}

/* A line the pipeline holds for its drained record: the position saved
 * stays before it until the hold is resolved, by its drained record or at
 * the end of its grace, and goes past it in the next batch after. */
START_TEST(test_source_cursor_before_held)
{
	uint64_t t = now_usec(CLOCK_MONOTONIC), limit = t + 30 * USEC_PER_SEC, saves;
	ZpciEvent v = { .kind = EVENT_ERROR,
			.sources = EVENT_SOURCE_VFIO,
			.fid = KNOWN_FID,
			.pec = 0x3a,
			.has = EVENT_HAS_PEC };
	char text[512];
	World *m;
	KmsgSource *k;

	write_file(boot_path, "we", BOOT_ID);
	(void)snprintf(text, sizeof(text),
		       "6,1,%" PRIu64 ",-;other\n3,2,%" PRIu64
		       ",-;" ZPCI_LINE(KNOWN_SLOT, "3a", "11") "\n"
							       "6,3,%" PRIu64 ",-;other\n",
		       t - 3000, t - 2000, t - 1000);
	write_file(kmsg_path, "we", text);
	m = world_new_full(true, true);
	pipeline_set_drains(m->pipeline, drains_all);
	pipeline_set_hold(m->pipeline, 3600 * USEC_PER_SEC);
	k = start_source(m);
	ck_assert_uint_eq(pipeline_n_held(m->pipeline), 1);
	ck_assert_uint_eq(count_history_all(m), 0);
	/* the first save is at once: before the held line */
	ck_assert_uint_ge(kmsg_source_n_cursor_saves(k), 1);
	ck_assert_uint_eq(saved_cursor_seq(), 1);

	/* saved again while it is held (the next batch): still before it */
	saves = kmsg_source_n_cursor_saves(k);
	(void)snprintf(text, sizeof(text), "6,4,%" PRIu64 ",-;other\n", t - 500);
	write_file(kmsg_path, "ae", text);
	while (kmsg_source_n_cursor_saves(k) == saves)
		turn(m, limit);
	ck_assert_uint_eq(saved_cursor_seq(), 1);

	/* its drained record comes: one record from both, and the position
	 * moves past the line in the next batch */
	v.monotonic_usec = t - 1500;
	ck_assert_int_eq(pipeline_submit(m->pipeline, m->function, &v), 1);
	ck_assert_uint_eq(v.sources, EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG);
	while (saved_cursor_seq() != 4)
		turn(m, limit);

	/* a line whose drained record does not come: before it while held,
	 * past it once recorded at the end of its grace */
	pipeline_set_hold(m->pipeline, 200 * USEC_PER_MSEC);
	(void)snprintf(text, sizeof(text),
		       "3,5,%" PRIu64 ",-;" ZPCI_LINE(KNOWN_SLOT, "2a", "11") "\n6,6,%" PRIu64 ",-;other\n",
		       now_usec(CLOCK_MONOTONIC) - 200, now_usec(CLOCK_MONOTONIC) - 100);
	write_file(kmsg_path, "ae", text);
	while (kmsg_source_n_records(k) < 6)
		turn(m, limit);
	ck_assert_uint_eq(pipeline_n_held(m->pipeline), 1);
	ck_assert_uint_le(saved_cursor_seq(), 4);
	while (pipeline_n_held(m->pipeline) > 0 || saved_cursor_seq() != 6) {
		turn(m, limit);
		if (pipeline_n_held(m->pipeline) > 0)
			ck_assert_uint_le(saved_cursor_seq(), 4);
	}
	ck_assert_uint_eq(count_history(m, EVENT_ERROR, 0x3a, EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG), 1);
	ck_assert_uint_eq(count_history(m, EVENT_ERROR, 0x2a, EVENT_SOURCE_KMSG), 1);
	ck_assert_uint_eq(count_history_all(m), 2);
	kmsg_source_free(k);
	world_free(m);
}
END_TEST

/* SIGKILL while a line is held for its drained record: an error the
 * kernel did not queue (PEC 0x2a) is recorded after the restart, exactly
 * once; a held line merged into its drained record before the kill and
 * a line recorded at once, both read again, are not recorded again. */
START_TEST(test_source_kill_while_held)
{
	uint64_t t = now_usec(CLOCK_MONOTONIC);
	char text[1024], c;
	int fds[2], status;
	World *m;
	KmsgSource *k;
	pid_t pid;

	write_file(boot_path, "we", BOOT_ID);
	(void)snprintf(text, sizeof(text),
		       "6,1,%" PRIu64 ",-;other\n"
		       "3,2,%" PRIu64
		       ",-;" ZPCI_LINE(KNOWN_SLOT, "2a",
				       "11") "\n"
					     "3,3,%" PRIu64
					     ",-;" ZPCI_LINE(KNOWN_SLOT, "3a",
							     "11") "\n"
								   "3,4,%" PRIu64
								   ",-;zpci: Unhandled PCI error events "
								   "count=2 for PCI function 0x11\n"
								   "6,5,%" PRIu64 ",-;other\n",
		       t - 5000, t - 4000, t - 3000, t - 2000, t - 1000);
	write_file(kmsg_path, "we", text);
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ZpciEvent v = { .kind = EVENT_ERROR,
				.sources = EVENT_SOURCE_VFIO,
				.fid = KNOWN_FID,
				.pec = 0x3a,
				.has = EVENT_HAS_PEC,
				.monotonic_usec = t - 2900 };

		close(fds[0]);
		m = world_new_full(true, true);
		pipeline_set_drains(m->pipeline, drains_all);
		/* held until the kill, whenever it comes */
		pipeline_set_hold(m->pipeline, 3600 * USEC_PER_SEC);
		k = start_source(m);
		ck_assert_uint_eq(pipeline_n_held(m->pipeline), 2);
		ck_assert_int_eq(pipeline_submit(m->pipeline, m->function, &v), 1);
		ck_assert_uint_eq(pipeline_n_held(m->pipeline), 1);
		ck_assert_int_eq(write(fds[1], "r", 1), 1);
		for (;;)
			pause();
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	/* what the killed daemon leaves: the position before the held line */
	ck_assert_uint_eq(saved_cursor_seq(), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	for (unsigned start = 0; start < 2; start++) {
		m = world_new_full(true, true);
		k = start_source(m);
		ck_assert_uint_eq(count_history(m, EVENT_ERROR, 0x2a, EVENT_SOURCE_KMSG), 1);
		ck_assert_uint_eq(count_history(m, EVENT_ERROR, 0x3a, EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG),
				  1);
		ck_assert_uint_eq(count_history(m, EVENT_DROPPED, 0, EVENT_SOURCE_KMSG), 1);
		ck_assert_uint_eq(count_history_all(m), 3);
		kmsg_source_free(k);
		world_free(m);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("kmsg");
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_record_parse);
	tcase_add_test(tc, test_zpci_error_line);
	tcase_add_test(tc, test_zpci_other_lines);
	tcase_add_test(tc, test_cursor);
	tcase_add_test(tc, test_splitter);
	suite_add_tcase(s, tc);

	tc = tcase_create("source");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_source_file_resume);
	tcase_add_test(tc, test_source_fifo);
	tcase_add_test(tc, test_source_lets_others_go_first);
	tcase_add_test(tc, test_source_missing);
	tcase_add_test(tc, test_source_backlog_sliced);
	tcase_add_test(tc, test_source_end_no_spin);
	suite_add_tcase(s, tc);

	tc = tcase_create("kill");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_source_kill_no_replay);
	suite_add_tcase(s, tc);

	tc = tcase_create("held");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_source_cursor_before_held);
	tcase_add_test(tc, test_source_kill_while_held);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
