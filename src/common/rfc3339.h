/*
 * RFC 3339 timestamps, as robots write them: "2026-01-20T09:30:00+07:00".
 * Parsing keeps the UTC offset the sender used, so a time can be shown back
 * to the owner the way the robot wrote it.
 */
#ifndef HBMON_COMMON_RFC3339_H
#define HBMON_COMMON_RFC3339_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed timestamp: an instant plus the offset it was written in. */
struct rfc3339_time {
	int64_t unix_s;      /* seconds since 1970-01-01T00:00:00Z */
	int32_t nanos;       /* 0..999999999, from the fractional seconds */
	int16_t offset_min;  /* UTC offset in minutes, -1439..+1439 */
	bool offset_unknown; /* "-00:00": UTC, local offset unknown (RFC
	                        3339 4.3) */
};

/*
 * Parses the date-time production of RFC 3339 section 5.6: full-date "T"
 * full-time, "T" and "Z" in either case, fractional seconds of any length
 * (kept to nanoseconds, extra digits truncated), offsets "Z", "+hh:mm" and
 * "-hh:mm". A leap second (:60) is accepted where leap seconds happen, at
 * 23:59:60 UTC (in whatever offset it is written), and counted as the next
 * second; :60 at any other time is refused. Day numbers are checked against
 * the month, leap years included. Years are 0000..9999.
 *
 * s need not be NUL-terminated: exactly len bytes are read.
 * out: the parsed time; untouched on failure.
 * why, why_len: on failure, a short reason such as "month 13 is out of
 * range" (never mentions the input itself; the caller quotes it). May be
 * NULL.
 * Returns HBMON_OK or HBMON_EINVAL. Thread-safe, no allocation.
 */
int rfc3339_parse(const char *s, size_t len, struct rfc3339_time *out,
                  char *why, size_t why_len);

/* Milliseconds since the Unix epoch for t (fraction truncated). */
int64_t rfc3339_unix_ms(const struct rfc3339_time *t);

/*
 * Formats unix_ms as RFC 3339 in the given UTC offset (minutes, -1439..1439;
 * 0 gives "Z"). Milliseconds are written only when not zero:
 * "2026-01-20T09:30:00+07:00", "2026-01-20T02:30:00.250Z".
 * buf: at least RFC3339_MAX bytes for any result; always NUL-terminated
 * when buf_len > 0, and the empty string on any error (never a truncated
 * timestamp). Thread-safe, no allocation.
 * Returns HBMON_OK, HBMON_ENOMEM when buf_len is too small, or HBMON_ERANGE
 * for an offset out of range or a year outside 0000..9999.
 */
int rfc3339_format(int64_t unix_ms, int offset_min, char *buf, size_t buf_len);

/* Longest string rfc3339_format writes, with its NUL. */
#define RFC3339_MAX 32

/*
 * Parses a UTC offset as accepted by `hbctl --tz`: "Z", "UTC" (either in
 * any case), "+07:00", "-05:30", "+0700", "+07"; hours 00..23, minutes
 * 00..59. s is NUL-terminated. out_min: minutes east of UTC; untouched on
 * failure. Returns HBMON_OK or HBMON_EINVAL (with a reason in why, may be
 * NULL). Thread-safe, no allocation.
 */
int rfc3339_parse_offset(const char *s, int *out_min, char *why,
                         size_t why_len);

#endif
