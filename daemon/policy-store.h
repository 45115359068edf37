/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * policy-store: the policy's run-time state (rate buckets, escalation
 * ladders, cooldowns, the budget window) in the state directory, so that a
 * restart — even after SIGKILL — goes on where the daemon stopped instead of
 * forgetting a storm in progress. The file is replaced atomically; the
 * daemon saves it at most once a second while it changes (off its event
 * loop, see syncer.h), and at shutdown.
 */

#include "daemon/policy.h"
#include "daemon/syncer.h"

#define POLICY_STORE_FILE "policy-state.json"

/* Load the state from @directory. A missing file gives a new, empty state
 * (returns 0); an unreadable or malformed one also gives an empty state but
 * returns -EBADMSG (or the read error) so the caller can say so. *@ret is
 * always set on return values other than -ENOMEM. */
int policy_store_load(const char *directory, PolicyState **ret);

/* Save @s to @directory atomically. Returns 0 or -errno. */
int policy_store_save(const char *directory, const PolicyState *s);

/* Take a copy of @s now and save it to @directory on @syncer's thread;
 * @done gets the result on the loop. With @last_hash (may be NULL) a state
 * whose text hashes to *@last_hash is not written again (an evaluation
 * that changed nothing costs the disk nothing); *@last_hash is set to the
 * hash of what was queued — the caller sets it to 0 when that save fails,
 * so that it is retried. Returns 0 when the save was queued, 1 when the
 * state was unchanged (nothing queued, @done not called), or -errno
 * (nothing queued). */
int policy_store_save_async(const char *directory, const PolicyState *s, Syncer *syncer, uint64_t *last_hash,
			    SyncerDone done, void *userdata);
