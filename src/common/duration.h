/*
 * Durations as operators write them in config files and flags ("300ms",
 * "90s", "2m", "1h", "1h30m", "30d") and as people read them in alerts
 * ("6 min", "2 h 5 min").
 */
#ifndef HBMON_COMMON_DURATION_H
#define HBMON_COMMON_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses one or more <number><unit> groups, units ms, s, m, h, d (e.g.
 * "1h30m", "1.5s" is accepted: a decimal fraction is allowed in every
 * group, but each group must come to whole milliseconds, so "1.5ms" is
 * refused). A bare number without a unit is refused, except "0". Units are
 * lowercase; whitespace and a '+' sign are refused. s is NUL-terminated.
 * out_ms: the total in milliseconds; untouched on failure.
 * why: on failure a reason such as "unit 'x' is not one of ms, s, m, h, d"
 * or "needs a unit, e.g. 90s"; may be NULL.
 * Returns HBMON_OK, HBMON_EINVAL, or HBMON_ERANGE (overflows int64 ms or
 * is negative). Thread-safe, no allocation.
 */
int duration_parse(const char *s, int64_t *out_ms, char *why, size_t why_len);

/*
 * Formats ms the way duration_parse reads it, exactly, largest units first
 * with zero units left out (canonical rather than shortest: 90000 is
 * "1m30s", not "90s"): 300 -> "300ms", 90000 -> "1m30s", 7200000 -> "2h",
 * 0 -> "0s". Always NUL-terminates when buf_len > 0; the empty string on
 * error. Returns HBMON_OK, HBMON_ERANGE for a negative ms (duration_parse
 * could not read it back), or HBMON_ENOMEM if buf_len is too small (32
 * bytes always suffice). Thread-safe, no allocation.
 */
int duration_format(int64_t ms, char *buf, size_t buf_len);

/*
 * Formats ms for a person, rounded down to two units at most: the largest
 * unit and the next smaller one, which is left out when zero:
 * 850 -> "850 ms", 42000 -> "42 s", 360000 -> "6 min",
 * 7500000 -> "2 h 5 min", 90000000 -> "1 d 1 h", 86700000 -> "1 d".
 * Milliseconds never follow seconds: 30018 -> "30 s".
 * 0 and negative values are formatted as "0 s". Always NUL-terminates when
 * buf_len > 0; the empty string on error. Returns HBMON_OK or HBMON_ENOMEM
 * if buf_len is too small (32 bytes always suffice). Thread-safe, no
 * allocation.
 */
int duration_human(int64_t ms, char *buf, size_t buf_len);

/*
 * Arithmetic on times and durations that came over the wire (a peer may
 * send any int64, INT64_MIN included): results saturate at INT64_MIN and
 * INT64_MAX instead of overflowing, which is undefined behaviour.
 * duration_abs(INT64_MIN) is INT64_MAX. Thread-safe, no allocation.
 */
int64_t duration_abs(int64_t ms);
int64_t duration_sub(int64_t a, int64_t b); /* a - b */
int64_t duration_add(int64_t a, int64_t b); /* a + b */

#endif
