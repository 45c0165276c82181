/*
 * libFuzzer target: RFC 3339 timestamps and durations (what parses must
 * format and parse back to the same value), and the other values an
 * operator types: --tz zones (what is taken is an offset in range or the
 * process's zone, and formats) and listener URLs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/rfc3339.h"
#include "common/tz.h"
#include "common/url.h"
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
		/* A name that passes is a zone file, never a path out of the
		 * database: every instant formats in it. */
		int tz;
		char why[512];
		if (tz_select(text, &tz, why, sizeof(why)) == HBMON_OK) {
			if (tz != TZ_ZONE && (tz < -1439 || tz > 1439)) {
				abort();
			}
			if (tz_format(INT64_C(1768910400000), tz, buf,
			              sizeof(buf)) != HBMON_OK) {
				abort();
			}
		}
		(void) url_check(text, URL_TCP | URL_TLS | URL_IPC, "listen",
		                 why, sizeof(why));
	}
	return 0;
}
