/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * messages: every journal MESSAGE_ID zpcid writes, in one place. Each is a
 * random 128-bit id (systemd-id128 new) with an entry in
 * catalog/zpcid.catalog, which `journalctl -x` shows under the record;
 * tests/test-catalog.sh checks that the two lists agree. An id, once
 * released, is never changed nor reused for another meaning.
 */

/* The daemon's life cycle. */
#define MESSAGE_ID_DAEMON_STARTED       "4f9a913f83484215bf1ec322e755441f"
#define MESSAGE_ID_DAEMON_STOPPED       "d46c0945bd314cdb93068d0eb0afebf7"
#define MESSAGE_ID_CONFIG_RELOADED      "655c841950b7446b963f64424892fdc1"
#define MESSAGE_ID_CONFIG_RELOAD_FAILED "bbd1aec9ac8644a288a99c0b9165ed21"

/* The event kinds (common/event.h, event_message_id()). */
#define EVENT_MESSAGE_ID_ERROR    "2b017e4c675c47b0820530e741bfd854"
#define EVENT_MESSAGE_ID_DROPPED  "d3c3ab7e70284dc69b3a5a681e1b9697"
#define EVENT_MESSAGE_ID_RECOVERY "f294191647a04404b49dee73b7f1a2d2"
#define EVENT_MESSAGE_ID_ACTION   "fe48b5160f7e445b8a0554115264f81d"
#define EVENT_MESSAGE_ID_SUMMARY  "b342cade9d684d718bd0866a17dcc0a5"
#define EVENT_MESSAGE_ID_ADAPTER  "02c4d092ff3c4b96afe757730059a27b"

/* Functions and sources, apart from their error events. */
/* A zPCI function was found (start-up or hotplug). */
#define MESSAGE_ID_FUNCTION_APPEARED "cf167c56070d4cbda715ec79268c1617"
/* A function's driver binding or holder changed. */
#define MESSAGE_ID_FUNCTION_BINDING_CHANGED "debc64a144e14a96b0c03a45eaa07c1f"
/* A function was removed. */
#define MESSAGE_ID_FUNCTION_REMOVED "2a0f7a4f84ac462b979d006a783963a5"
/* A function's ownership mode changed (observe, own, delegated). */
#define MESSAGE_ID_FUNCTION_MODE_CHANGED "aafdf3968d7c407db2740b3a6a391c47"
/* A function's handle changed (enable, reset, recovery). */
#define MESSAGE_ID_FUNCTION_HANDLE_CHANGED "49cfbb5bbb3a4e529154414560988756"
/* A sysfs attribute of a function was malformed and ignored. */
#define MESSAGE_ID_FUNCTION_ATTR_INVALID "95142fc139ee4d4ca4953a6107b462d6"
/* Start-up found no zPCI function at all. */
#define MESSAGE_ID_NO_FUNCTIONS "c8233508cd324686a8d00f52122718d4"
/* Kernel log records were overwritten before zpcid read them. */
#define MESSAGE_ID_KMSG_GAP "1948c43f8b254168aa7c839974fc7a25"
/* zpcid could not take a function it should own (held by someone, or no error feature). */
#define MESSAGE_ID_FUNCTION_CLAIM_REFUSED "47dc72eaa6384de49695527582b8aa2f"
/* A function's state changed (ok, error, recovering, failed, quarantined). */
#define MESSAGE_ID_FUNCTION_STATE_CHANGED "5bc3253a1ec84c60b5969286fc2eb091"
