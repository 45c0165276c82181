/*
 * libFuzzer target: what a notifier receives on its SUB socket — a topic
 * and an Alert — and the JSON it makes of it.
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
	char *text;

	if (alert_topic_unpack(data, size, &a) != HBMON_OK) {
		return 0;
	}
	text = alert_json_text(a, 7 * 60);
	free(text);
	hbmon__v1__alert__free_unpacked(a, NULL);
	return 0;
}
