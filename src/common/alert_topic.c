/* PUB message framing for alerts and keepalives. */
#include "common/alert_topic.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/words.h"
#include "hbmon/error.h"

size_t
alert_topic_format(char *buf, size_t buf_len, Hbmon__V1__Severity severity,
                   Hbmon__V1__AlertKind kind, const char *robot)
{
	const char *sev = words_severity(severity);
	const char *k = words_alert_kind(kind);
	int n;

	if (sev == NULL || k == NULL) {
		return 0;
	}
	n = snprintf(buf, buf_len, "%s/%s/%s/", sev, k,
	             robot != NULL ? robot : "");
	if (n < 0 || (size_t) n >= buf_len) {
		return 0;
	}
	return (size_t) n;
}

int
alert_topic_pack(const Hbmon__V1__Alert *alert, uint8_t **out, size_t *out_len)
{
	char topic[ALERT_TOPIC_MAX];
	size_t n = alert_topic_format(topic, sizeof(topic), alert->severity,
	                              alert->kind, alert->robot);
	size_t body = hbmon__v1__alert__get_packed_size(alert);
	uint8_t *buf;

	if (n == 0) {
		return HBMON_EINVAL;
	}
	if ((buf = malloc(n + body + 1)) == NULL) {
		return HBMON_ENOMEM;
	}
	memcpy(buf, topic, n);
	hbmon__v1__alert__pack(alert, buf + n);
	*out = buf;
	*out_len = n + body;
	return HBMON_OK;
}

/*
 * Whether the len bytes at p are exactly a word of the vocabulary (a
 * severity, or a kind), with its value in *sev or *kind. The topic's words
 * are not NUL-terminated.
 */
static bool
known_word(const uint8_t *p, size_t len, Hbmon__V1__Severity *sev,
           Hbmon__V1__AlertKind *kind)
{
	char word[ALERT_TOPIC_MAX];

	if (len == 0 || len >= sizeof(word)) {
		return false;
	}
	memcpy(word, p, len);
	word[len] = '\0';
	return sev != NULL ? words_severity_parse(word, sev) == HBMON_OK
	                   : words_alert_kind_parse(word, kind) == HBMON_OK;
}

/*
 * The length of an alert topic at the start of msg (up to and including
 * its third '/'), or 0 when msg does not start with one whose severity and
 * kind are words hbmon knows (then in *sev and *kind).
 */
static size_t
alert_topic_len(const uint8_t *p, size_t len, Hbmon__V1__Severity *sev,
                Hbmon__V1__AlertKind *kind)
{
	size_t slash[3];
	size_t found = 0;

	for (size_t i = 0; i < len && i < ALERT_TOPIC_MAX && found < 3; i++) {
		if (p[i] == '/') {
			slash[found++] = i;
		}
	}
	if (found < 3 || !known_word(p, slash[0], sev, NULL) ||
	    !known_word(p + slash[0] + 1, slash[1] - slash[0] - 1, NULL,
	                kind)) {
		return 0;
	}
	return slash[2] + 1;
}

int
alert_topic_words(const void *msg, size_t len, Hbmon__V1__Severity *sev,
                  Hbmon__V1__AlertKind *kind)
{
	return alert_topic_len(msg, len, sev, kind) != 0 ? HBMON_OK
	                                                 : HBMON_EPROTO;
}

int
alert_topic_unpack(const void *msg, size_t len, Hbmon__V1__Alert **out)
{
	Hbmon__V1__Severity sev;
	Hbmon__V1__AlertKind kind;
	size_t topic = alert_topic_len(msg, len, &sev, &kind);

	if (topic == 0) {
		return HBMON_EPROTO;
	}
	*out = hbmon__v1__alert__unpack(NULL, len - topic,
	                                (const uint8_t *) msg + topic);
	return *out != NULL ? HBMON_OK : HBMON_EPROTO;
}

static bool
is_keepalive(const void *msg, size_t len)
{
	size_t n = sizeof(KEEPALIVE_TOPIC) - 1;

	return len >= n && memcmp(msg, KEEPALIVE_TOPIC, n) == 0;
}

enum pub_kind
pub_topic_classify(const void *msg, size_t len)
{
	Hbmon__V1__Severity sev;
	Hbmon__V1__AlertKind kind;

	if (is_keepalive(msg, len)) {
		return PUB_KEEPALIVE;
	}
	return alert_topic_words(msg, len, &sev, &kind) == HBMON_OK ? PUB_ALERT
	                                                            : PUB_OTHER;
}

int
keepalive_topic_pack(const Hbmon__V1__Keepalive *ka, uint8_t **out,
                     size_t *out_len)
{
	size_t n = sizeof(KEEPALIVE_TOPIC) - 1;
	size_t body = hbmon__v1__keepalive__get_packed_size(ka);
	uint8_t *buf = malloc(n + body + 1);

	if (buf == NULL) {
		return HBMON_ENOMEM;
	}
	memcpy(buf, KEEPALIVE_TOPIC, n);
	hbmon__v1__keepalive__pack(ka, buf + n);
	*out = buf;
	*out_len = n + body;
	return HBMON_OK;
}

int
keepalive_topic_unpack(const void *msg, size_t len, Hbmon__V1__Keepalive **out)
{
	size_t n = sizeof(KEEPALIVE_TOPIC) - 1;

	if (!is_keepalive(msg, len)) {
		return HBMON_EPROTO;
	}
	*out = hbmon__v1__keepalive__unpack(NULL, len - n,
	                                    (const uint8_t *) msg + n);
	return *out != NULL ? HBMON_OK : HBMON_EPROTO;
}
