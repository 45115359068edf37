/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * event: the one record of something that happened to a zPCI function.
 *
 * The same struct feeds the journal, the D-Bus signals (a{sv}), the JSON
 * output of zpcictl, the history file and the policy. One key table in
 * event.c gives every field its key; the serialisations below all walk that
 * table, so a key means the same thing everywhere:
 *
 *   key            JSON / D-Bus      journal field     meaning
 *   seq            number / t        ZPCID_SEQ         daemon-wide sequence number (history id)
 *   kind           string / s        ZPCID_KIND        error, dropped, recovery, action, summary, adapter
 *   source         string / s        ZPCID_SOURCE      comma list: vfio, delegated, kmsg, uevent, daemon
 *   time           number / t        ZPCID_TIME        realtime, µs since the epoch
 *   monotonic      number / t        ZPCID_MONOTONIC   CLOCK_MONOTONIC, µs
 *   fid            number / u        ZPCI_FID          0x%08x in the journal
 *   uid            number / u        ZPCI_UID          only when known
 *   uid_is_unique  bool / b          ZPCI_UID_IS_UNIQUE
 *   pchid          number / q        ZPCI_PCHID        0x%04x
 *   pft            number / y        ZPCI_PFT          0x%02x
 *   pft_name       string / s        ZPCI_PFT_NAME
 *   slot           string / s        PCI_SLOT_NAME     PCI address, e.g. 0001:00:00.0
 *   fh             number / u        ZPCI_FH           from the CCDF (or sysfs)
 *   pec            number / q        ZPCI_PEC          0x%04x
 *   pec_name       string / s        ZPCI_PEC_NAME
 *   pec_class      string / s        ZPCI_PEC_CLASS
 *   faddr          number / t        ZPCI_FADDR        0x%016llx (CCDF only)
 *   ett mvn dmaas  number / y q y    ZPCI_ETT ...      (CCDF only)
 *   q rw           bool / b          ZPCI_Q ZPCI_RW    (CCDF only)
 *   recovery       string / s        ZPCI_RECOVERY     begin, successful, failed (uevent)
 *   online         bool / b          ZPCI_ONLINE       DEVICE_ONLINE of the uevent
 *   action         string / s        ZPCID_ACTION      log, reset, unbind, report, alert, ...
 *   result         string / s        ZPCID_RESULT      done, failed, postponed, dry-run, timeout, ...
 *   detail         string / s        ZPCID_DETAIL      free text: what was done, or why it failed
 *   rule           string / s        ZPCID_RULE        action: the policy rule that decided it
 *   caller_uid     number / u        ZPCID_CALLER_UID  action asked for by hand: who asked
 *   caller_message string / s        ZPCID_CALLER_MESSAGE  ... and the text they gave (--message)
 *   count          number / u        ZPCID_COUNT       dropped/summary: how many; adapter: with errors
 *   message        string / s        MESSAGE           the human-readable line
 *   owner_pid      number / u        ZPCID_OWNER_PID   the process holding the function's vfio device
 *   owner_command  string / s        ZPCID_OWNER_COMMAND  ... its command name (comm)
 *   owner_machine  string / s        ZPCID_OWNER_MACHINE  ... the machine (guest) it runs,
 *                                                      from systemd-machined
 *   owner_machine_class string / s   ZPCID_OWNER_MACHINE_CLASS  ... "vm" or "container"
 *   owner_unit     string / s        ZPCID_OWNER_UNIT  ... its systemd unit (the machine's,
 *                                                      or from its cgroup)
 *   same_as        number / t        ZPCID_SAME_AS     error: seq of the earlier record of the same
 *                                                      error this one completes (a kernel-log line
 *                                                      first, its drained CCDF later)
 *   port           number / u        ZPCI_PORT         adapter: its port (grouped by port)
 *   adapter_functions number / u     ZPCID_ADAPTER_FUNCTIONS  adapter: all its functions
 *   adapter_fids   string / s        ZPCID_ADAPTER_FIDS  adapter: its FIDs with errors
 *
 * A field that is not set is absent from every output (never 0 or "").
 * seq, time, monotonic, slot, recovery and the strings count as set when not
 * 0/empty; fid when the record concerns a function (fid or slot set); the
 * others by their EVENT_HAS_* bit. pec_name, pec_class and pft_name are
 * derived from pec and pft (event_from_json() does not read them back).
 */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/ccdf.h"
#include "common/messages.h"

typedef enum EventKind {
	EVENT_ERROR,    /* a PCI function error event (PEC) */
	EVENT_DROPPED,  /* errors the kernel dropped (queue full): count */
	EVENT_RECOVERY, /* the kernel's recovery progress (uevent ERROR_EVENT) */
	EVENT_ACTION,   /* an action zpcid decided or took, and its result */
	EVENT_SUMMARY,  /* coalesced output of a storm: count */
	EVENT_ADAPTER,  /* functions of one adapter (PCHID) failed together: daemon/adapter.h */
	_EVENT_KIND_MAX,
	_EVENT_KIND_INVALID = -22,
} EventKind;

typedef enum EventSource {
	EVENT_SOURCE_VFIO = 1 << 0,      /* drained from a device zpcid owns */
	EVENT_SOURCE_DELEGATED = 1 << 1, /* drained through an fd its owner passed */
	EVENT_SOURCE_KMSG = 1 << 2,      /* kernel log line */
	EVENT_SOURCE_UEVENT = 1 << 3,    /* change uevent */
	EVENT_SOURCE_DAEMON = 1 << 4,    /* zpcid itself (actions, summaries) */
} EventSource;

typedef enum RecoveryPhase {
	RECOVERY_NONE,
	RECOVERY_BEGIN,
	RECOVERY_SUCCESSFUL,
	RECOVERY_FAILED,
} RecoveryPhase;

/* Which optional fields are set. */
enum {
	EVENT_HAS_UID = 1 << 0,
	EVENT_HAS_UID_IS_UNIQUE = 1 << 1,
	EVENT_HAS_PCHID = 1 << 2,
	EVENT_HAS_PFT = 1 << 3,
	EVENT_HAS_FH = 1 << 4,
	EVENT_HAS_PEC = 1 << 5,
	EVENT_HAS_CCDF = 1 << 6, /* faddr, ett, mvn, dmaas, q, rw */
	EVENT_HAS_ONLINE = 1 << 7,
	EVENT_HAS_COUNT = 1 << 8,
	EVENT_HAS_CALLER_UID = 1 << 9,
	EVENT_HAS_PORT = 1 << 10,
	EVENT_HAS_ADAPTER_FUNCTIONS = 1 << 11,
};

#define EVENT_SLOT_MAX           32
#define EVENT_WORD_MAX           24
#define EVENT_DETAIL_MAX         160
#define EVENT_MESSAGE_MAX        256
#define EVENT_RULE_MAX           48
#define EVENT_CALLER_MESSAGE_MAX 128
#define EVENT_COMMAND_MAX        16 /* TASK_COMM_LEN */
#define EVENT_MACHINE_MAX        65 /* a host name: 64 characters */
#define EVENT_MACHINE_CLASS_MAX  16
#define EVENT_UNIT_MAX           256 /* a unit name: 255 characters */
#define EVENT_ADAPTER_FIDS_MAX   256 /* 23 FIDs as "0x%08x," */

/* Fixed size, no pointers: copied freely, cheap under a storm. */
typedef struct ZpciEvent {
	uint64_t seq;
	EventKind kind;
	unsigned sources; /* EventSource bits */
	uint64_t time_usec;
	uint64_t monotonic_usec;
	unsigned has; /* EVENT_HAS_* */

	uint32_t fid;
	uint32_t uid;
	bool uid_is_unique;
	uint16_t pchid;
	uint8_t pft;
	char slot[EVENT_SLOT_MAX];

	uint32_t fh;
	uint16_t pec;
	uint64_t faddr;
	uint8_t ett;
	uint16_t mvn;
	uint8_t dmaas;
	bool q, rw;

	RecoveryPhase recovery;
	bool online;

	char action[EVENT_WORD_MAX];
	char result[EVENT_WORD_MAX];
	char detail[EVENT_DETAIL_MAX];
	char rule[EVENT_RULE_MAX];
	uint32_t caller_uid;
	char caller_message[EVENT_CALLER_MESSAGE_MAX];
	uint32_t count;
	char message[EVENT_MESSAGE_MAX];

	/* Who held the function when the event was recorded (daemon/machine.h). */
	uint32_t owner_pid;
	char owner_command[EVENT_COMMAND_MAX];
	char owner_machine[EVENT_MACHINE_MAX];
	char owner_machine_class[EVENT_MACHINE_CLASS_MAX];
	char owner_unit[EVENT_UNIT_MAX];

	/* An error's full record: the seq of its earlier record (daemon/dedup.h); 0: none. */
	uint64_t same_as;

	/* Adapter events (kind adapter): the adapter is pchid (+ port). */
	uint32_t port;
	uint32_t adapter_functions;
	char adapter_fids[EVENT_ADAPTER_FIDS_MAX];
} ZpciEvent;

/* Fill the CCDF fields (fh, pec, faddr, ett, mvn, dmaas, q, rw) from @c and set their EVENT_HAS_ bits. */
void event_set_ccdf(ZpciEvent *e, const ZpciCcdf *c);

/* Name of a PCI function type (the pft attribute), e.g. "ISM", "NVMe",
 * "RoCE Express"; "unknown" when not known. Never NULL. */
const char *event_pft_to_string(uint8_t pft);

/* Name of a kind / recovery phase ("error", "begin", ...); "invalid" when out of range. */
const char *event_kind_to_string(EventKind k);
EventKind event_kind_from_string(const char *s);
const char *recovery_phase_to_string(RecoveryPhase p);

/* Write the comma list of @sources ("vfio,kmsg") into @buf. Returns @buf. */
const char *event_sources_to_string(unsigned sources, char *buf, size_t size);

/* Parse a comma list of source names. Returns the bits (> 0) or -EINVAL. */
int event_sources_from_string(const char *s);

/* MESSAGE_ID for the record's kind. */
const char *event_message_id(const ZpciEvent *e);

/* Syslog priority for the record (permanent errors and failed actions are
 * higher than informational ones). */
int event_priority(const ZpciEvent *e);

/* Compose e->message from the other fields when it is empty. */
void event_format_message(ZpciEvent *e);

/* The record as a JSON object with the keys above. Returns 0 or -ENOMEM. */
int event_to_json(const ZpciEvent *e, json_object **ret);

/* Read a record back from a JSON object produced by event_to_json() (as
 * stored in the history). Unknown keys are ignored, a key of the wrong type
 * is -EBADMSG. Returns 0 or -errno. */
int event_from_json(json_object *o, ZpciEvent *ret);

/* Journal fields of a record: "KEY=value" strings pointing into @storage. */
#define EVENT_JOURNAL_FIELDS_MAX 48
typedef struct EventJournalFields {
	const char *fields[EVENT_JOURNAL_FIELDS_MAX];
	size_t n;
	char storage[3072];
} EventJournalFields;

/* Fill @f with the journal fields of @e (MESSAGE and MESSAGE_ID not included). */
void event_journal_fields(const ZpciEvent *e, EventJournalFields *f);

/* Iterate the key table, for the D-Bus a{sv} and for documentation: the
 * key of entry @i and its D-Bus signature; returns false past the end. */
bool event_key_get(unsigned i, const char **ret_key, const char **ret_dbus_signature);

/* One key of a record as every serialisation writes it: the JSON of the
 * history, the journal field, the D-Bus variant. */
typedef struct EventValue {
	const char *key;
	const char *signature;      /* D-Bus */
	const char *journal;        /* journal field name, NULL: not a journal field */
	const char *journal_format; /* of a number: printf format ("0x%08" PRIx64), NULL: decimal */
	const char *string;         /* a string key: @length bytes, NUL-terminated only when @terminated */
	size_t length;
	bool terminated;
	bool is_string, is_bool;
	uint64_t number; /* a number or boolean key */
} EventValue;

#define EVENT_KEYS_MAX 64

/* The keys a record has, in the order of the key table, each looked up and
 * derived once (names of kind, sources, PEC, PFT): what the JSON line, the
 * journal fields and the D-Bus a{sv} are written from. Points into the
 * record (string fields) and into static tables; valid while @e is. */
typedef struct EventView {
	EventValue values[EVENT_KEYS_MAX];
	size_t n;
	char sources[64];
} EventView;

/* Fill @ret with the keys @e has. */
void event_view(const ZpciEvent *e, EventView *ret);

/* The record as one line of JSON, without a newline: byte for byte what
 * json_object_to_json_string_ext(event_to_json(e), JSON_C_TO_STRING_PLAIN)
 * gives, written without building objects. Returns the length (@buf is
 * NUL-terminated), or -ENOBUFS when it does not fit in @size. */
int event_json_format(const ZpciEvent *e, char *buf, size_t size);

/* The same, from a view of the record. */
int event_view_json_format(const EventView *v, char *buf, size_t size);

/* Write @v as the journal writes a number of format @format (one of the
 * key table's, e.g. "0x%08" PRIx64; NULL: decimal) into @buf of @size
 * bytes. Returns the length, truncated as snprintf() truncates. */
size_t event_format_number(const char *format, uint64_t v, char *buf, size_t size);
