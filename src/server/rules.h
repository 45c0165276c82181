/*
 * The documented rules for reported state (SPEC §3.1, the seed's two
 * diagrams): what a heartbeat must contain to be understood, and which
 * state changes the diagrams allow. Pure functions, no I/O.
 */
#ifndef HBMON_SERVER_RULES_H
#define HBMON_SERVER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rfc3339.h"
#include "hbmon/v1/heartbeat.pb-c.h"

/* Longest robot id and account name, in bytes. */
#define RULES_NAME_MAX 64

/* A status value meaning "no heartbeat seen yet" for rules_*_allowed. */
#define RULES_INITIAL 0

/*
 * Checks that a robot heartbeat can be understood: event
 * "ROBOT_HEARTBEAT", a known status (not UNSPECIFIED), an RFC 3339
 * timestamp with offset. out_ts: the timestamp, parsed (instant and the
 * offset it was written in).
 * why: on failure, a sentence the robot's author can act on, e.g.
 * "timestamp 'yesterday' is not RFC 3339: expected a 4-digit year".
 * Returns HBMON_OK or HBMON_EINVAL. Thread-safe.
 */
int rules_check_robot(const Hbmon__V1__RobotHeartbeat *hb,
                      struct rfc3339_time *out_ts, char *why, size_t why_len);

/*
 * As rules_check_robot for an account heartbeat: event
 * "ACCOUNT_HEARTBEAT", a non-empty account name of at most RULES_NAME_MAX
 * bytes of UTF-8 with no character quoting would escape (controls,
 * bidirectional and invisible characters: quote_unsafe), a known status,
 * session_valid consistent with the status (true for idle and active, false for
 * expired, either for error), and an RFC 3339 timestamp.
 */
int rules_check_account(const Hbmon__V1__AccountHeartbeat *hb,
                        struct rfc3339_time *out_ts, char *why, size_t why_len);

/*
 * Checks a robot id: 1..RULES_NAME_MAX characters of [A-Za-z0-9._-], not
 * starting with '.' or '-'. ("@admin" and other names with '@' are
 * reserved.) Returns HBMON_OK or HBMON_EINVAL with a reason in why.
 */
int rules_check_robot_id(const char *robot_id, char *why, size_t why_len);

/*
 * Whether the health diagram allows from -> to. from may be RULES_INITIAL
 * (first heartbeat ever): a first heartbeat is always allowed, since the
 * server did not watch what happened before it. Repeating a state is
 * allowed. Both arguments are Hbmon__V1__HealthStatus values.
 */
bool rules_health_allowed(int from, int to);

/* As rules_health_allowed, for the account diagram (AccountStatus). */
bool rules_account_allowed(int from, int to);

#endif
