/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * machine: the holder of a function as the operator names it. zpcid knows a
 * holder as a pid (daemon/owner.h); an operator asks "which guest". This
 * module asks systemd-machined (org.freedesktop.machine1, where libvirt and
 * other VMMs register their guests) for the machine of the holder pid —
 * GetMachineByPID, then the Machine's Name, Class and Unit — and falls back
 * to the holder's own systemd unit, read from /proc/<pid>/cgroup. The
 * command name is the registry's (owner_comm).
 *
 * Off the hot path: nothing here runs per event. A function is resolved
 * when its holder changes (a registry subscription); the unit comes from
 * procfs at once, the machine from asynchronous calls on the daemon's bus
 * connection, whose answer updates every function held by that pid and is
 * announced like any other change (PropertiesChanged, metrics). Answers are
 * cached per holder pid while some function is held by it. machined's
 * MachineNew and MachineRemoved signals, and machined (re)appearing on the
 * bus, resolve every cached holder again. Without a bus, or without
 * machined on it, the fallback stands alone; that is said once, not per
 * function.
 *
 * The results land in ZpciFunction's owner_machine, owner_machine_class and
 * owner_unit, from where function_fill_event() copies them into each record.
 */

#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>

#include "common/log.h"
#include "common/macro.h"

struct Registry;
typedef struct MachineResolver MachineResolver;

/* What the resolver works with. */
typedef struct MachineResolverOptions {
	Log *log;                  /* required */
	struct Registry *registry; /* the functions whose holders are resolved (may be NULL) */
	/* The connection machined is asked on, or NULL when there is none (any
	 * more); after queuing messages on it the resolver calls @bus_kick so
	 * the loop sends them. @bus_connection NULL: no bus. */
	sd_bus *(*bus_connection)(void *userdata);
	void (*bus_kick)(void *userdata);
	void *bus_userdata;
	const char *proc_root; /* NULL: "/proc" */
} MachineResolverOptions;

/* The systemd unit a cgroup path names: its first component that is not a
 * slice, when that is a unit name ("/machine.slice/machine-qemu\x2d1\x2dvm.scope/emulator"
 * gives "machine-qemu\x2d1\x2dvm.scope"; "/system.slice/libvirtd.service"
 * gives "libvirtd.service"). Returns 0 and fills @ret, -ENXIO when the path
 * names no unit ("/", a slice, a foreign tree), -ENOBUFS when @size is short. */
int machine_unit_from_cgroup_path(const char *path, char *ret, size_t size);

/* The unit of process @pid from @proc_root/<pid>/cgroup: the unified
 * hierarchy's line ("0::"), else the "name=systemd" one. Returns 0, -ENXIO
 * when it is in no unit, or -errno when the file cannot be read. */
int machine_unit_of_pid(const char *proc_root, pid_t pid, char *ret, size_t size);

/* Create a resolver: subscribe to the registry and resolve the holders of
 * the functions known now, asking machined on the bus (when there is one).
 * Returns 0 or -errno. */
int machine_resolver_new(MachineResolver **ret, const MachineResolverOptions *options);

/* Cancel the calls in flight and unsubscribe. Accepts NULL, returns NULL. */
MachineResolver *machine_resolver_free(MachineResolver *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(MachineResolver *, machine_resolver_free);
