/* Storage amounts for people. */
#include "common/bytes.h"

#include <stdio.h>

char *
bytes_human(int64_t bytes, char *buf, size_t buf_len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double) bytes;
	size_t u = 0;

	if (buf_len == 0) {
		return buf;
	}
	if (bytes < 0) {
		snprintf(buf, buf_len, "unknown");
		return buf;
	}
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0) {
		snprintf(buf, buf_len, "%lld B", (long long) bytes);
	} else if (v < 10.0) {
		/* Truncated, not rounded: "9.99 GiB" never reads "10.0". */
		snprintf(buf, buf_len, "%.1f %s", (double) (int) (v * 10) / 10,
		         units[u]);
	} else {
		snprintf(buf, buf_len, "%d %s", (int) v, units[u]);
	}
	return buf;
}
