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
 * out: on success a new message owned by the caller (see above); NULL on
 * failure.
 * why: on failure a reason such as "key 'status': 'fine' is not one of
 * healthy, degraded, unhealthy" or "line 3 column 5: ...", cut to why_len;
 * may be NULL. Reasons quote at most the key and the bad value, each cut
 * to 40 bytes.
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
 *  - {"robot": {...}, "accounts": [{...}, ...]}; either key may be left
 *    out, and each element must be of the kind its place calls for.
 * Objects whose "event" is neither documented word are refused here, since
 * nothing else tells them apart. A batch without any heartbeat (an empty
 * array, {"accounts": []}) is refused. Reasons say where in the batch they
 * arose: "[1]: ...", "robot: ...", "accounts[2]: ...".
 * out: a new batch owned by the caller; NULL on failure.
 * Returns HBMON_OK, HBMON_EINVAL, or HBMON_ENOMEM. Thread-safe.
 */
int hbjson_parse_batch(const char *text, size_t len,
                       Hbmon__V1__HeartbeatBatch **out, char *why,
                       size_t why_len);

/*
 * Builds the documented JSON object for a heartbeat, keys in the seed's
 * order. Returns a new jansson reference (release with json_decref), or
 * NULL only when out of memory. A status with no documented word
 * (UNSPECIFIED or a number this build does not know) is written as its
 * number, so that nothing is lost; a NULL string is written as "", and
 * bytes that are not UTF-8 as U+FFFD.
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
