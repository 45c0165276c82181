/*
 * libFuzzer target: RFC 3339 timestamps and durations. What parses must
 * format and parse back to the same value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/rfc3339.h"
#include "hbmon/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfc3339_time t, back;
	char buf[RFC3339_MAX];
	char text[128];
	int64_t ms, ms_back;

	if (rfc3339_parse((const char *) data, size, &t, NULL, 0) == HBMON_OK &&
	    rfc3339_format(rfc3339_unix_ms(&t), t.offset_min, buf,
	                   sizeof(buf)) == HBMON_OK) {
		if (rfc3339_parse(buf, strlen(buf), &back, NULL, 0) !=
		        HBMON_OK ||
		    rfc3339_unix_ms(&back) != rfc3339_unix_ms(&t)) {
			abort();
		}
	}
	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = '\0';
		if (duration_parse(text, &ms, NULL, 0) == HBMON_OK &&
		    duration_format(ms, buf, sizeof(buf)) == HBMON_OK) {
			if (duration_parse(buf, &ms_back, NULL, 0) !=
			        HBMON_OK ||
			    ms_back != ms) {
				abort();
			}
		}
	}
	return 0;
}
