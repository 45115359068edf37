/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * function: one zPCI function as zpcid knows it — its identity and sysfs
 * attributes, its binding, who holds it, the ownership mode the policy chose,
 * its state and its counters.
 *
 * Identity is the FID (plus the UID where the platform says it is unique),
 * never the PCI address: the address can change across hotplug when UID
 * checking is off, and the function handle changes on every enable/reset.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/event.h"
#include "common/macro.h"

typedef struct Log Log;
struct event_base;
struct Pipeline;

/*
 * What a function reaches beyond itself: the log of its state changes, the
 * loop its vfio device's events are watched on, and the pipeline its
 * drained error records go to. Owned by whoever owns the functions and
 * outliving them; a member that is NULL is not used (unit tests).
 */
typedef struct FunctionContext {
	Log *log;
	struct event_base *event_base;
	struct Pipeline *pipeline;
} FunctionContext;

typedef enum FunctionMode {
	FUNCTION_MODE_OBSERVE,
	FUNCTION_MODE_OWN,
	FUNCTION_MODE_DELEGATED,
	_FUNCTION_MODE_MAX,
	_FUNCTION_MODE_INVALID = -22,
} FunctionMode;

/*
 * The state of a function: one table (function_state_next(), in function.c,
 * documented in docs/state-machine.md) says how each input moves it. Inputs
 * come from the event records of the pipeline (function_input_of_event())
 * and from the registry's view of the driver binding. A state change is
 * shown the same way everywhere: zpcictl list/show, the State property of
 * the function object, and a journal record (MESSAGE_ID_FUNCTION_STATE_CHANGED).
 */
typedef enum FunctionState {
	FUNCTION_STATE_OK,
	FUNCTION_STATE_ERROR,       /* an error was seen and not yet resolved */
	FUNCTION_STATE_RECOVERING,  /* the kernel's recovery or zpcid's reset is in flight */
	FUNCTION_STATE_FAILED,      /* permanent error or failed recovery */
	FUNCTION_STATE_QUARANTINED, /* unbound from its driver, by the policy or by hand */
	FUNCTION_STATE_GONE,        /* removed; kept until the last reference drops */
	_FUNCTION_STATE_MAX,
	_FUNCTION_STATE_INVALID = -22,
} FunctionState;

typedef enum FunctionInput {
	FUNCTION_INPUT_ERROR,             /* a recoverable error */
	FUNCTION_INPUT_PERMANENT_ERROR,   /* a permanent error (PEC class "permanent") */
	FUNCTION_INPUT_FW_RESET_DONE,     /* the platform reports a completed firmware reset */
	FUNCTION_INPUT_RECOVERY_BEGIN,    /* the kernel began recovery (BEGIN_RECOVERY) */
	FUNCTION_INPUT_RECOVERY_DONE,     /* the kernel recovered it (SUCCESSFUL_RECOVERY) */
	FUNCTION_INPUT_RECOVERY_FAILED,   /* the kernel's recovery failed */
	FUNCTION_INPUT_RESET_DONE,        /* zpcid's reset or recover was carried out, unconfirmed yet */
	FUNCTION_INPUT_RESET_CONFIRMED,   /* ... and confirmed */
	FUNCTION_INPUT_RESET_UNCONFIRMED, /* ... and the function did not come back */
	FUNCTION_INPUT_RESET_FAILED,      /* zpcid's reset or recover failed or timed out */
	FUNCTION_INPUT_UNBOUND,           /* unbound from its driver (unbind done, or by hand) */
	FUNCTION_INPUT_BOUND,             /* a driver was bound to it (again) */
	FUNCTION_INPUT_REMOVED,           /* the function went away */
	_FUNCTION_INPUT_MAX,
	_FUNCTION_INPUT_INVALID = -22,
} FunctionInput;

/* Which optional attributes were present and valid. */
enum {
	ZPCI_ATTR_HAS_FH = 1 << 0,
	ZPCI_ATTR_HAS_UID = 1 << 1,
	ZPCI_ATTR_HAS_UID_IS_UNIQUE = 1 << 2,
	ZPCI_ATTR_HAS_PCHID = 1 << 3,
	ZPCI_ATTR_HAS_VFN = 1 << 4,
	ZPCI_ATTR_HAS_PFGID = 1 << 5,
	ZPCI_ATTR_HAS_PFT = 1 << 6,
	ZPCI_ATTR_HAS_PORT = 1 << 8,
	ZPCI_ATTR_HAS_IDS = 1 << 10, /* vendor and device */
};

/* The sysfs view of a zPCI function (formats: DESIGN, "sysfs of a function"):
 * what zpcid uses of it, no more (each attribute is a sysfs read per function
 * at start-up). */
typedef struct ZpciAttrs {
	char slot[EVENT_SLOT_MAX]; /* PCI address, e.g. "0001:00:00.0" */
	unsigned has;              /* ZPCI_ATTR_HAS_* */
	uint32_t fid;              /* function_id: always present for a zPCI function */
	uint32_t fh;
	uint32_t uid;
	bool uid_is_unique;
	uint16_t pchid;
	uint16_t vfn;
	uint8_t pfgid;
	uint8_t pft;
	uint32_t port;
	uint16_t vendor, device;
} ZpciAttrs;

/* Set the identity fields of @e (FID, UID, PCHID, PFT, FH, slot) from @a;
 * fields @e has already win. */
void zpci_attrs_fill_event(const ZpciAttrs *a, ZpciEvent *e);

typedef struct FunctionCounters {
	uint64_t errors;     /* error events recorded */
	uint64_t dropped;    /* errors the kernel reported as dropped */
	uint64_t recoveries; /* recovery uevents seen */
	uint64_t actions;    /* actions taken (any result) */
	uint64_t resets;     /* resets performed */
	uint64_t coalesced;  /* events kept out of journal/bus by coalescing */
} FunctionCounters;

#define FUNCTION_DRIVER_MAX 64
#define FUNCTION_NAME_MAX   128
#define FUNCTION_COMM_MAX   16

typedef struct ZpciFunction {
	const FunctionContext *context; /* may be NULL */
	unsigned n_ref;

	ZpciAttrs attrs;
	char *syspath;                    /* /sys/devices/... */
	char driver[FUNCTION_DRIVER_MAX]; /* "" when unbound */
	char vendor_name[FUNCTION_NAME_MAX];
	char device_name[FUNCTION_NAME_MAX];
	bool names_known;      /* the two above are looked up on first use */
	bool appeared_pending; /* found at start-up, its record not yet written */

	FunctionMode mode;
	FunctionState state;

	pid_t owner_pid; /* 0 when nobody (else) holds the vfio device */
	char owner_comm[FUNCTION_COMM_MAX];

	FunctionCounters counters;
	ZpciEvent last_error;
	bool has_last_error;

	/* Set while zpcid holds the vfio device (own) or an owner's fd (delegated). */
	struct VfioDevice *vfio;
	/* CLOCK_MONOTONIC µs just before zpcid opened the vfio device (own):
	 * the kernel queues the records of errors from then on only. 0 otherwise. */
	uint64_t drains_since_usec;

	char object_path[64]; /* /org/zpcid1/function/<fid as %08x> */

	/* The vfio nodes of a vfio-bound function (daemon/registry.c). */
	int iommu_group;               /* /dev/vfio/<group>; -1 when none */
	char vfio_cdev[32];            /* /dev/vfio/devices/<cdev>, e.g. "vfio3"; "" when none */
	uint64_t attr_problems_logged; /* signature of the sysfs problems already logged */

	/* The holder as the operator names it (daemon/machine.c), for owner_pid:
	 * the machine systemd-machined knows it by, its class, and the unit (the
	 * machine's, or the holder's own from its cgroup). "" when not known. */
	pid_t owner_resolved_pid; /* the owner_pid these are for; 0: none yet */
	char owner_machine[EVENT_MACHINE_MAX];
	char owner_machine_class[EVENT_MACHINE_CLASS_MAX];
	char owner_unit[EVENT_UNIT_MAX];
} ZpciFunction;

/* "observe", "own", "delegated". */
const char *function_mode_to_string(FunctionMode m);

/* Since when zpcid drains @f's error records (CLOCK_MONOTONIC µs): it
 * holds its vfio device (own) or its owner's fd (delegated), which it only
 * does with the zPCI error feature. 0 when it does not; 1 when delegated
 * (the owner's queue may hold records of any age). */
uint64_t function_drains_errors_since(const ZpciFunction *f);
FunctionMode function_mode_from_string(const char *s);

/* "ok", "error", "recovering", "failed", "quarantined", "gone". */
const char *function_state_to_string(FunctionState s);
FunctionState function_state_from_string(const char *s);

/* "error", "permanent-error", ..., "removed" (the names used in the docs' table). */
const char *function_input_to_string(FunctionInput i);
FunctionInput function_input_from_string(const char *s);

/* The state after input @i in state @s (the table); @s itself when @i does not change it. */
FunctionState function_state_next(FunctionState s, FunctionInput i);

/* The input an event record is for the state machine, or -EINVAL when it
 * does not concern the state (dropped counts, summaries, alerts, reports...). */
int function_input_of_event(const ZpciEvent *e);

/* Move @f by input @i. Returns 1 when its state changed (@ret_old, may be
 * NULL, gets the previous one), 0 when not. */
int function_apply_input(ZpciFunction *f, FunctionInput i, FunctionState *ret_old);

/* function_apply_input(), and on a change a journal record of it
 * (MESSAGE_ID_FUNCTION_STATE_CHANGED, fields ZPCID_STATE, ZPCID_STATE_PREVIOUS,
 * ZPCID_STATE_INPUT) through f->context's log. The caller announces the
 * change on the bus (the pipeline does for every event). Returns as
 * function_apply_input(). */
int function_input(ZpciFunction *f, FunctionInput i);

/* What a recorded event @e of @f means for @f (the pipeline calls it for
 * every recorded event, after the history and the journal): the state
 * input of the event (function_input()), the counters, the last error.
 * @emitted: false when the event was coalesced (counted in
 * counters.coalesced). The upgrade of an error already recorded (e->same_as
 * set) only becomes the last error: the error was counted and fed to the
 * state machine with its first record. */
void function_apply_event(ZpciFunction *f, const ZpciEvent *e, bool emitted);

/* Name of a PCI function type (pft), e.g. "RoCE Express", "NETH", "ISM", "NVMe"; "unknown" when not known.
 */
const char *zpci_pft_to_string(uint8_t pft);

/* Fill the identity fields of @e (fid, uid, pchid, pft, slot, fh) and its
 * holder (owner_*) from @f. */
void function_fill_event(const ZpciFunction *f, ZpciEvent *e);

/* Create a function for @attrs found at @syspath (may be NULL), with one
 * reference, mode observe, state ok, reaching out through @context (may be
 * NULL; kept by pointer). Returns 0 or -ENOMEM. */
int function_new(ZpciFunction **ret, const FunctionContext *context, const ZpciAttrs *attrs,
		 const char *syspath);

/* Take a reference. Returns @f. */
ZpciFunction *function_ref(ZpciFunction *f);

/* Drop a reference; the last one frees the function (the caller has released
 * any vfio device and told the pipeline, pipeline_forget_function(), before). Accepts NULL, returns NULL. */
ZpciFunction *function_unref(ZpciFunction *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(ZpciFunction *, function_unref);
