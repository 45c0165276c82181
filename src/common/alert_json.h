/*
 * Alerts as JSON, the shape operators' scripts rely on (SPEC §6): `hbctl
 * alerts --json` prints one object per line, and the stdout, exec and
 * webhook notifiers send the same object.
 *
 *   {"seq": 12, "kind": "HEARTBEAT_MISSED", "severity": "critical",
 *    "state": "firing", "robot": "R1", "account": "", "subject": "R1",
 *    "summary": "robot R1 silent for 6 min (3 heartbeats missed); ...",
 *    "dedupe_key": "R1:HEARTBEAT_MISSED:12", "raised_at": "2026-...Z",
 *    "raised_at_ms": 1768..., "repeat": 0, "details": {...}}
 *
 * details holds only what the alert has: misses, duration_ms, last_seen,
 * open_orders, affected [{account, status, session_valid, open_orders}],
 * last_payload (the heartbeat object), from_status, to_status, skew_ms,
 * missing_accounts, outage_ms, resolves, unclean_stop, alerts_meanwhile.
 *
 * An alert a notifier raised itself (SERVER_UNREACHABLE: the server could
 * not raise it) has seq 0, robot "" and subject "server", and two more
 * keys at the end: "notifier" (the instance name) and "notifier_seq" (its
 * own durable sequence, 1, 2, ...; with notifier it identifies the alert).
 */
#ifndef HBMON_COMMON_ALERT_JSON_H
#define HBMON_COMMON_ALERT_JSON_H

#include <jansson.h>

#include "hbmon/v1/alert.pb-c.h"

/*
 * The JSON object of an alert. tz_offset_min: the UTC offset for
 * "raised_at" and the other times (0: "Z"), or TZ_ZONE (common/tz.h) for
 * the process's zone at each of them. Returns a new reference (json_decref), or
 * NULL when out of memory. Thread-safe.
 */
json_t *alert_json(const Hbmon__V1__Alert *a, int tz_offset_min);

/*
 * As alert_json, as one line of text (no newline), malloc'd; the caller
 * frees it with free(). NULL when out of memory.
 */
char *alert_json_text(const Hbmon__V1__Alert *a, int tz_offset_min);

#endif
