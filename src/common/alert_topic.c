/* PUB message framing for alerts. */
#include "common/alert_topic.h"

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

int
alert_topic_unpack(const void *msg, size_t len, Hbmon__V1__Alert **out)
{
	const uint8_t *p = msg;
	size_t slashes = 0;
	size_t i;

	/* The topic is the bytes up to and including the third '/'. */
	for (i = 0; i < len && i < ALERT_TOPIC_MAX && slashes < 3; i++) {
		if (p[i] == '/') {
			slashes++;
		}
	}
	if (slashes < 3) {
		return HBMON_EPROTO;
	}
	*out = hbmon__v1__alert__unpack(NULL, len - i, p + i);
	return *out != NULL ? HBMON_OK : HBMON_EPROTO;
}
