/*
 * How alerts travel on the server's PUB socket (SPEC §3.4): each message
 * is a topic, then the packed hbmon.v1.Alert.
 *
 *   <severity>/<KIND>/<robot>/<packed Alert bytes>
 *   e.g. "critical/HEARTBEAT_MISSED/R1/" + bytes
 *
 * nng SUB filters by prefix, so a subscriber can take one severity
 * ("critical/"), one severity and kind ("warning/CLOCK_SKEW/"), or one
 * robot's alerts of a severity and kind. Robot ids never contain '/'; the
 * robot is empty for server alerts ("info/SERVER_RESTARTED//").
 */
#ifndef HBMON_COMMON_ALERT_TOPIC_H
#define HBMON_COMMON_ALERT_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/alert.pb-c.h"

/* Longest topic, with its NUL: severity, kind and a 64-byte robot id. */
#define ALERT_TOPIC_MAX 128

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
 * HBMON_EPROTO (no topic, or the body is not an Alert). Thread-safe.
 */
int alert_topic_unpack(const void *msg, size_t len, Hbmon__V1__Alert **out);

#endif
