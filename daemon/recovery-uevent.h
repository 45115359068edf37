/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * recovery-uevent: the kernel's recovery progress as events. During its
 * own error recovery of a PCI function the kernel sends change uevents with
 * ERROR_EVENT=BEGIN_RECOVERY, SUCCESSFUL_RECOVERY or FAILED_RECOVERY (and
 * DEVICE_ONLINE=0|1); each becomes one recovery event record for the
 * pipeline. A source: it reads the registry's uevents (a hook) and
 * produces records, nothing else.
 */

#include "common/event.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/pipeline.h"
#include "daemon/registry.h"

typedef struct RecoveryUevents RecoveryUevents;

/* The recovery event that ERROR_EVENT=@error_event (and DEVICE_ONLINE=
 * @device_online, may be NULL) stands for: fills @ret (kind, sources,
 * recovery, online). Returns 0, -ENOMSG when @error_event is NULL (not a
 * recovery uevent), -EINVAL for an ERROR_EVENT zpcid does not know. */
int recovery_uevent_parse(const char *error_event, const char *device_online, ZpciEvent *ret);

/* Hook into @registry: the recovery uevents of its known functions go to
 * @pipeline, the ones zpcid does not know are said at debug level in @log.
 * The three are borrowed and must outlive the source. Returns 0, -EINVAL
 * when one is missing, or -ENOMEM. */
int recovery_uevents_new(RecoveryUevents **ret, Registry *registry, Pipeline *pipeline, Log *log);

/* Unhook from the registry and free. Accepts NULL, returns NULL. */
RecoveryUevents *recovery_uevents_free(RecoveryUevents *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(RecoveryUevents *, recovery_uevents_free);
