/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MESSAGE_IDs of the daemon's messages about functions and sources that are
 * not error events (those are in common/event.h). Each has a catalog entry.
 */

/* A zPCI function was found (start-up or hotplug). */
#define MESSAGE_ID_FUNCTION_APPEARED "2c6f0d3a8e5b4a71b9d4e0f3a7c81201"
/* A function's driver binding or holder changed. */
#define MESSAGE_ID_FUNCTION_BINDING_CHANGED "2c6f0d3a8e5b4a71b9d4e0f3a7c81202"
/* A function was removed. */
#define MESSAGE_ID_FUNCTION_REMOVED "2c6f0d3a8e5b4a71b9d4e0f3a7c81203"
/* A function's ownership mode changed (observe, own, delegated). */
#define MESSAGE_ID_FUNCTION_MODE_CHANGED "2c6f0d3a8e5b4a71b9d4e0f3a7c81204"
/* A function's handle changed (enable, reset, recovery). */
#define MESSAGE_ID_FUNCTION_HANDLE_CHANGED "2c6f0d3a8e5b4a71b9d4e0f3a7c81205"
/* A sysfs attribute of a function was malformed and ignored. */
#define MESSAGE_ID_FUNCTION_ATTR_INVALID "2c6f0d3a8e5b4a71b9d4e0f3a7c81206"
/* Start-up found no zPCI function at all. */
#define MESSAGE_ID_NO_FUNCTIONS "2c6f0d3a8e5b4a71b9d4e0f3a7c81207"
/* Kernel log records were overwritten before zpcid read them. */
#define MESSAGE_ID_KMSG_GAP "2c6f0d3a8e5b4a71b9d4e0f3a7c81208"
/* zpcid could not take a function it should own (held by someone, or no error feature). */
#define MESSAGE_ID_FUNCTION_CLAIM_REFUSED "2c6f0d3a8e5b4a71b9d4e0f3a7c81209"
