/*
 * libFuzzer target: what a notifier receives on its SUB socket — a topic
 * and an Alert, or the keepalive — and the JSON it makes of an alert.
 * Whatever the bytes, a message is an alert or a keepalive, never both.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/alert_json.h"
#include "common/alert_topic.h"
#include "hbmon/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hbmon__V1__Alert *a = NULL;
	Hbmon__V1__Keepalive *k = NULL;
	enum pub_kind kind = pub_topic_classify(data, size);
	char *text;

	if (keepalive_topic_unpack(data, size, &k) == HBMON_OK) {
		if (kind != PUB_KEEPALIVE) {
			abort();
		}
		hbmon__v1__keepalive__free_unpacked(k, NULL);
	}
	if (alert_topic_unpack(data, size, &a) != HBMON_OK) {
		return 0;
	}
	if (kind != PUB_ALERT) {
		abort();
	}
	text = alert_json_text(a, 7 * 60);
	free(text);
	hbmon__v1__alert__free_unpacked(a, NULL);
	return 0;
}
