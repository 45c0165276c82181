/*
 * The JSON mirror of the heartbeats: converts the documented JSON to the
 * protobuf-c messages and back, key for key, with lowercase status words.
 * The seed's two examples round-trip JSON -> protobuf -> JSON unchanged.
 *
 * Parsing is strict so that a robot author learns about a typo at once:
 * every documented key is required, unknown keys and wrong types are
 * refused, numbers must be whole and fit uint32, status words must be one of
 * the documented words. Parsing does not judge meaning (wrong "event",
 * empty account, timestamp syntax): the server's rules do that, so that
 * JSON and protobuf senders get the same answers.
 *
 * Messages returned by the parse functions are allocated the way
 * protobuf-c's unpack allocates (malloc for every string and array), so
 * they are freed with protobuf_c_message_free_unpacked(&msg->base, NULL).
 */
#ifndef HBMON_COMMON_HBJSON_H
#define HBMON_COMMON_HBJSON_H

#include <stddef.h>

#include <jansson.h>

#include "hbmon/v1/heartbeat.pb-c.h"

/* Output flags for the *_to_text functions. */
enum hbjson_flags {
	HBJSON_COMPACT = 0, /* one line: {"event":"ROBOT_HEARTBEAT",...} */
	HBJSON_PRETTY = 1,  /* two-space indent, as the seed document shows */
};

/*
 * Parses a robot heartbeat document.
 * text: len bytes of UTF-8 JSON (need not be NUL-terminated).
 * out: on success a new message owned by the caller (see above).
 * why: on failure a reason such as "key 'status': 'fine' is not one of
 * healthy, degraded, unhealthy" or "line 3 column 5: ..."; may be NULL.
 * Returns HBMON_OK, HBMON_EINVAL, or HBMON_ENOMEM. Thread-safe.
 */
int hbjson_parse_robot(const char *text, size_t len,
                       Hbmon__V1__RobotHeartbeat **out, char *why,
                       size_t why_len);

/* As hbjson_parse_robot, for an account heartbeat document. */
int hbjson_parse_account(const char *text, size_t len,
                         Hbmon__V1__AccountHeartbeat **out, char *why,
                         size_t why_len);

/*
 * Parses what `hbctl send FILE.json` accepts and returns it as a batch:
 *  - one heartbeat object (robot or account, told apart by "event");
 *  - an array of heartbeat objects (at most one robot heartbeat);
 *  - {"robot": {...}, "accounts": [{...}, ...]}.
 * Objects whose "event" is neither documented word are refused here, since
 * nothing else tells them apart. out: a new batch owned by the caller.
 * Returns HBMON_OK, HBMON_EINVAL, or HBMON_ENOMEM. Thread-safe.
 */
int hbjson_parse_batch(const char *text, size_t len,
                       Hbmon__V1__HeartbeatBatch **out, char *why,
                       size_t why_len);

/*
 * Builds the documented JSON object for a heartbeat, keys in the seed's
 * order. Returns a new jansson reference (release with json_decref), or
 * NULL when out of memory or a status has no documented word
 * (UNSPECIFIED or unknown), in which case the value is written as its
 * number so that nothing is lost: the function only fails for memory.
 */
json_t *hbjson_robot_value(const Hbmon__V1__RobotHeartbeat *hb);
json_t *hbjson_account_value(const Hbmon__V1__AccountHeartbeat *hb);

/*
 * As the *_value functions, as text: a NUL-terminated malloc'd string the
 * caller frees with free(), or NULL when out of memory. flags: one of
 * enum hbjson_flags.
 */
char *hbjson_robot_text(const Hbmon__V1__RobotHeartbeat *hb, int flags);
char *hbjson_account_text(const Hbmon__V1__AccountHeartbeat *hb, int flags);

#endif
