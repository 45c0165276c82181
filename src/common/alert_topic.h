/*
 * What travels on the server's PUB socket (SPEC §3.4, §3.6): alerts and
 * keepalives, each a topic followed by a packed protobuf message.
 *
 *   <severity>/<KIND>/<robot>/<packed Alert bytes>
 *   e.g. "critical/HEARTBEAT_MISSED/R1/" + bytes
 *   keepalive/<packed Keepalive bytes>
 *
 * nng SUB filters by prefix, so a subscriber can take one severity
 * ("critical/"), one severity and kind ("warning/CLOCK_SKEW/"), or one
 * robot's alerts of a severity and kind. Robot ids never contain '/'; the
 * robot is empty for server alerts ("info/SERVER_RESTARTED//").
 *
 * The keepalive's topic starts with no severity word, so a subscriber that
 * filters by severity, kind or robot never receives it; one that
 * subscribes to everything ("") gets both and tells them apart with
 * pub_topic_classify. An alert is only ever taken from a message whose
 * topic names a known severity and kind: a keepalive (or anything else)
 * is never mistaken for one.
 */
#ifndef HBMON_COMMON_ALERT_TOPIC_H
#define HBMON_COMMON_ALERT_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/alert.pb-c.h"

/* Longest topic, with its NUL: severity, kind and a 64-byte robot id. */
#define ALERT_TOPIC_MAX 128

/* The keepalive's topic, and the prefix to subscribe to for only it. */
#define KEEPALIVE_TOPIC "keepalive/"

/* What a PUB message is. */
enum pub_kind {
	PUB_OTHER = 0,     /* neither: ignore it */
	PUB_ALERT = 1,     /* an alert topic with a known severity and kind */
	PUB_KEEPALIVE = 2, /* the keepalive topic */
};

/*
 * Writes the topic of an alert into buf (NUL-terminated; the NUL is not
 * part of the message). robot may be NULL or "". Returns the topic's
 * length, or 0 when buf is too small or a word is unknown. Thread-safe.
 */
size_t alert_topic_format(char *buf, size_t buf_len,
                          Hbmon__V1__Severity severity,
                          Hbmon__V1__AlertKind kind, const char *robot);

/*
 * Packs topic + alert into a malloc'd message (caller frees). Returns
 * HBMON_OK, HBMON_EINVAL (unknown severity/kind) or HBMON_ENOMEM.
 */
int alert_topic_pack(const Hbmon__V1__Alert *alert, uint8_t **out,
                     size_t *out_len);

/*
 * Splits a received PUB message and unpacks its alert. out: freed with
 * hbmon__v1__alert__free_unpacked(a, NULL). Returns HBMON_OK or
 * HBMON_EPROTO (not an alert topic — a keepalive, say — or the body is not
 * an Alert). Thread-safe.
 */
int alert_topic_unpack(const void *msg, size_t len, Hbmon__V1__Alert **out);

/*
 * The severity and kind an alert message's topic names. Returns HBMON_OK,
 * or HBMON_EPROTO when msg does not start with an alert topic. Thread-safe.
 */
int alert_topic_words(const void *msg, size_t len, Hbmon__V1__Severity *sev,
                      Hbmon__V1__AlertKind *kind);

/* Which of the two a PUB message is, from its topic alone. Thread-safe. */
enum pub_kind pub_topic_classify(const void *msg, size_t len);

/*
 * Packs KEEPALIVE_TOPIC + ka into a malloc'd message (caller frees).
 * Returns HBMON_OK or HBMON_ENOMEM. Thread-safe.
 */
int keepalive_topic_pack(const Hbmon__V1__Keepalive *ka, uint8_t **out,
                         size_t *out_len);

/*
 * Unpacks a keepalive message. out: freed with
 * hbmon__v1__keepalive__free_unpacked(k, NULL). Returns HBMON_OK or
 * HBMON_EPROTO (another topic, or a body that is not a Keepalive).
 * Thread-safe.
 */
int keepalive_topic_unpack(const void *msg, size_t len,
                           Hbmon__V1__Keepalive **out);

#endif
