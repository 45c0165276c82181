/* rfc3339_test: parsing, formatting and offsets of RFC 3339 timestamps. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rfc3339.h"
#include "hbmon/error.h"

/* Parses a NUL-terminated string; the reason goes to why. */
static int
parse(const char *s, struct rfc3339_time *out, char *why, size_t why_len)
{
	return rfc3339_parse(s, strlen(s), out, why, why_len);
}

static void
assert_parses(const char *s, int64_t unix_s, int32_t nanos, int offset_min)
{
	struct rfc3339_time t;
	char why[128] = "";
	int rv = parse(s, &t, why, sizeof(why));

	cr_assert_eq(rv, HBMON_OK, "%s: rv %d (%s)", s, rv, why);
	cr_assert_eq(t.unix_s, unix_s, "%s: unix_s %lld, want %lld", s,
	             (long long) t.unix_s, (long long) unix_s);
	cr_assert_eq(t.nanos, nanos, "%s: nanos %d, want %d", s, (int) t.nanos,
	             (int) nanos);
	cr_assert_eq(t.offset_min, offset_min, "%s: offset %d, want %d", s,
	             (int) t.offset_min, offset_min);
}

/* Checks the rejection, the exact reason, and that out was left alone. */
static void
assert_rejects(const char *s, const char *reason)
{
	struct rfc3339_time t = { .unix_s = 42, .nanos = 7, .offset_min = 3 };
	char why[128] = "";
	int rv = parse(s, &t, why, sizeof(why));

	cr_assert_eq(rv, HBMON_EINVAL, "'%s': rv %d", s, rv);
	cr_assert_neq(why[0], '\0', "'%s': empty reason", s);
	if (reason != NULL) {
		cr_assert_str_eq(why, reason, "'%s'", s);
	}
	if (strlen(s) > 4) {
		cr_assert_null(strstr(why, s), "'%s': reason quotes input", s);
	}
	cr_assert_eq(t.unix_s, 42);
	cr_assert_eq(t.nanos, 7);
	cr_assert_eq(t.offset_min, 3);
}

Test(rfc3339, offset_plus_hours, .timeout = 10)
{
	struct rfc3339_time t;

	assert_parses("2026-01-20T09:30:00+07:00", 1768876200, 0, 420);
	cr_assert_eq(parse("2026-01-20T09:30:00+07:00", &t, NULL, 0), HBMON_OK);
	cr_assert_eq(t.offset_unknown, false);
}

Test(rfc3339, offset_z_either_case, .timeout = 10)
{
	assert_parses("2026-01-20T02:30:00Z", 1768876200, 0, 0);
	assert_parses("2026-01-20T02:30:00z", 1768876200, 0, 0);
	assert_parses("2026-01-20t02:30:00z", 1768876200, 0, 0);
}

Test(rfc3339, offset_negative_half_hour, .timeout = 10)
{
	assert_parses("2026-01-19T21:00:00-05:30", 1768876200, 0, -330);
	assert_parses("2026-01-20T16:14:00+13:44", 1768876200, 0, 824);
	assert_parses("2026-01-20T02:30:00+23:59", 1768876200 - 86340, 0, 1439);
	assert_parses("2026-01-20T02:30:00-23:59", 1768876200 + 86340, 0,
	              -1439);
}

Test(rfc3339, offset_unknown_minus_zero, .timeout = 10)
{
	struct rfc3339_time t;

	cr_assert_eq(parse("2026-01-20T02:30:00-00:00", &t, NULL, 0), HBMON_OK);
	cr_assert_eq(t.unix_s, 1768876200);
	cr_assert_eq(t.offset_min, 0);
	cr_assert_eq(t.offset_unknown, true);

	cr_assert_eq(parse("2026-01-20T02:30:00+00:00", &t, NULL, 0), HBMON_OK);
	cr_assert_eq(t.offset_unknown, false);
	cr_assert_eq(parse("2026-01-20T02:30:00Z", &t, NULL, 0), HBMON_OK);
	cr_assert_eq(t.offset_unknown, false);
}

Test(rfc3339, fractional_seconds, .timeout = 10)
{
	static const struct {
		const char *s;
		int32_t nanos;
	} cases[] = {
		{ "2026-01-20T02:30:00.5Z", 500000000 },
		{ "2026-01-20T02:30:00.1Z", 100000000 },
		{ "2026-01-20T02:30:00.12Z", 120000000 },
		{ "2026-01-20T02:30:00.250Z", 250000000 },
		{ "2026-01-20T02:30:00.0001Z", 100000 },
		{ "2026-01-20T02:30:00.123456Z", 123456000 },
		{ "2026-01-20T02:30:00.12345678Z", 123456780 },
		{ "2026-01-20T02:30:00.123456789Z", 123456789 },
		{ "2026-01-20T02:30:00.000000001Z", 1 },
		/* Beyond nanoseconds, digits are truncated, not rounded. */
		{ "2026-01-20T02:30:00.1234567899Z", 123456789 },
		{ "2026-01-20T02:30:00.0000000009Z", 0 },
		{ "2026-01-20T02:30:00.999999999999999999999Z", 999999999 },
		{ "2026-01-20T02:30:00.0Z", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_parses(cases[i].s, 1768876200, cases[i].nanos, 0);
	}
	assert_parses("2026-01-20T09:30:00.75+07:00", 1768876200, 750000000,
	              420);
}

Test(rfc3339, unix_ms_truncates_fraction, .timeout = 10)
{
	struct rfc3339_time t;

	cr_assert_eq(parse("2026-01-20T02:30:00.2509Z", &t, NULL, 0), HBMON_OK);
	cr_assert_eq(rfc3339_unix_ms(&t), 1768876200250LL);
	cr_assert_eq(parse("2026-01-20T09:30:00+07:00", &t, NULL, 0), HBMON_OK);
	cr_assert_eq(rfc3339_unix_ms(&t), 1768876200000LL);
	/* Before 1970 the fraction still counts forward from unix_s. */
	cr_assert_eq(parse("1969-12-31T23:59:59.5Z", &t, NULL, 0), HBMON_OK);
	cr_assert_eq(t.unix_s, -1);
	cr_assert_eq(t.nanos, 500000000);
	cr_assert_eq(rfc3339_unix_ms(&t), -500);
}

Test(rfc3339, leap_year_dates, .timeout = 10)
{
	assert_parses("2024-02-29T12:00:00Z", 1709208000, 0, 0);
	assert_parses("2000-02-29T00:00:00Z", 951782400, 0, 0);
	assert_rejects("2026-02-29T00:00:00Z",
	               "day 29 does not exist in February 2026");
	assert_rejects("1900-02-29T00:00:00Z",
	               "day 29 does not exist in February 1900");
	assert_rejects("2024-02-30T00:00:00Z",
	               "day 30 does not exist in February 2024");
	assert_rejects("2026-04-31T00:00:00Z",
	               "day 31 does not exist in April 2026");
	assert_parses("1900-03-01T00:00:00Z", -2203891200, 0, 0);
	assert_parses("2026-12-31T00:00:00Z", 1798675200, 0, 0);
}

Test(rfc3339, leap_second, .timeout = 10)
{
	/* Counted as the first second of the next UTC day. */
	assert_parses("2016-12-31T23:59:60Z", 1483228800, 0, 0);
	assert_parses("2016-12-31T23:59:60.5Z", 1483228800, 500000000, 0);
	/* RFC 3339 5.7's own example, in local time. */
	assert_parses("1990-12-31T15:59:60-08:00", 662688000, 0, -480);
	assert_parses("2017-01-01T05:29:60+05:30", 1483228800, 0, 330);
	assert_rejects("2026-01-20T09:30:60Z",
	               "second 60 is a leap second, valid only at 23:59:60 "
	               "UTC");
	/* 23:59:60 in +07:00 is not the end of a UTC day. */
	assert_rejects("2016-12-31T23:59:60+07:00", NULL);
	assert_rejects("2016-12-31T23:59:61Z", "second 61 is out of range");
}

Test(rfc3339, known_instants, .timeout = 10)
{
	static const struct {
		const char *s;
		int64_t unix_s;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1970-01-01T00:00:01Z", 1 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "1970-01-01T07:00:00+07:00", 0 },
		{ "2026-01-20T09:30:00+07:00", 1768876200 },
		{ "2026-01-20T15:00:00Z", 1768921200 },
		{ "1937-01-01T12:00:00Z", -1041336000 },
		{ "0000-01-01T00:00:00Z", -62167219200LL },
		{ "0001-01-01T00:00:00Z", -62135596800LL },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
		{ "2038-01-19T03:14:08Z", 2147483648LL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_parses(cases[i].s, cases[i].unix_s, 0,
		              cases[i].s[19] == 'Z' ? 0 : 420);
	}
}

Test(rfc3339, malformed_rejected_with_reason, .timeout = 10)
{
	static const struct {
		const char *s;
		const char *reason;
	} cases[] = {
		{ "", "empty timestamp" },
		{ "yesterday", "expected a 4-digit year" },
		{ "26-01-20T09:30:00Z", "expected a 4-digit year" },
		{ "-2026-01-20T09:30:00Z", "expected a 4-digit year" },
		{ "2026/01/20T09:30:00Z", "expected '-' after the year" },
		{ "2026-1-20T09:30:00Z", "expected a 2-digit month" },
		{ "2026-13-20T09:30:00Z", "month 13 is out of range" },
		{ "2026-00-20T09:30:00Z", "month 0 is out of range" },
		{ "2026-01/20T09:30:00Z", "expected '-' after the month" },
		{ "2026-01-2T09:30:00Z", "expected a 2-digit day" },
		{ "2026-01-00T09:30:00Z", "day 0 is out of range" },
		{ "2026-01-32T09:30:00Z", "day 32 is out of range" },
		{ "2026-02-30T09:30:00Z",
		  "day 30 does not exist in February 2026" },
		{ "2026-01-20", "missing the time (add T and hh:mm:ss)" },
		{ "2026-01-20 09:30:00Z",
		  "expected 'T' between date and time" },
		{ "2026-01-20_09:30:00Z",
		  "expected 'T' between date and time" },
		{ "2026-01-20T9:30:00Z", "expected a 2-digit hour" },
		{ "2026-01-20T24:00:00Z", "hour 24 is out of range" },
		{ "2026-01-20T09-30-00Z", "expected ':' after the hour" },
		{ "2026-01-20T09:60:00Z", "minute 60 is out of range" },
		{ "2026-01-20T09:30Z", "expected ':' after the minute" },
		{ "2026-01-20T09:30:0Z", "expected a 2-digit second" },
		{ "2026-01-20T09:30:00",
		  "missing UTC offset (add Z or +hh:mm)" },
		{ "2026-01-20T09:30:00.123",
		  "missing UTC offset (add Z or +hh:mm)" },
		{ "2026-01-20T09:30:00.Z",
		  "fractional seconds need at least one digit" },
		{ "2026-01-20T09:30:00,5Z",
		  "use '.' before fractional seconds" },
		{ "2026-01-20T09:30:00 UTC",
		  "expected Z or +hh:mm after the time" },
		{ "2026-01-20T09:30:00+24:00",
		  "offset hour 24 is out of range" },
		{ "2026-01-20T09:30:00+07:60",
		  "offset minute 60 is out of range" },
		{ "2026-01-20T09:30:00+7:00",
		  "expected a 2-digit offset hour" },
		{ "2026-01-20T09:30:00+07:0",
		  "expected a 2-digit offset minute" },
		{ "2026-01-20T09:30:00+0700",
		  "expected ':' between offset hours and minutes" },
		{ "2026-01-20T09:30:00+07",
		  "expected ':' between offset hours and minutes" },
		{ "2026-01-20T09:30:00Zjunk",
		  "trailing characters after the offset" },
		{ "2026-01-20T09:30:00+07:00 ",
		  "trailing characters after the offset" },
		{ "2026-01-20T09:30:00ZZ",
		  "trailing characters after the offset" },
		{ "\xff\xfe", "expected a 4-digit year" },
	};

	cr_assert_geq(sizeof(cases) / sizeof(cases[0]), 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_rejects(cases[i].s, cases[i].reason);
	}
}

Test(rfc3339, reason_optional_and_truncated, .timeout = 10)
{
	struct rfc3339_time t;
	char why[5] = "xxxx";

	cr_assert_eq(parse("2026-13-01T00:00:00Z", &t, NULL, 0), HBMON_EINVAL);
	cr_assert_eq(parse("2026-13-01T00:00:00Z", &t, NULL, 64), HBMON_EINVAL);
	cr_assert_eq(parse("2026-13-01T00:00:00Z", &t, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_str_eq(why, "mont");
	cr_assert_eq(rfc3339_parse(NULL, 0, &t, why, sizeof(why)),
	             HBMON_EINVAL);
}

Test(rfc3339, len_honoured_without_nul, .timeout = 10)
{
	static const char text[] = "2026-01-20T09:30:00+07:00";
	size_t n = sizeof(text) - 1;
	/* Exactly n bytes on the heap: ASan catches a read past the end. */
	char *raw = malloc(n);
	struct rfc3339_time t;
	char why[128];

	cr_assert_not_null(raw);
	memcpy(raw, text, n);
	cr_assert_eq(rfc3339_parse(raw, n, &t, why, sizeof(why)), HBMON_OK);
	cr_assert_eq(t.unix_s, 1768876200);
	cr_assert_eq(t.offset_min, 420);

	/* Shorter len: the rest of the buffer is not looked at. */
	cr_assert_eq(rfc3339_parse(raw, n - 1, &t, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_str_eq(why, "expected a 2-digit offset minute");
	cr_assert_eq(rfc3339_parse(raw, 19, &t, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_str_eq(why, "missing UTC offset (add Z or +hh:mm)");
	cr_assert_eq(rfc3339_parse(raw, 10, &t, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_str_eq(why, "missing the time (add T and hh:mm:ss)");
	cr_assert_eq(rfc3339_parse(raw, 0, &t, why, sizeof(why)), HBMON_EINVAL);
	cr_assert_str_eq(why, "empty timestamp");
	free(raw);

	/* A NUL inside len is a character like any other. */
	cr_assert_eq(
	    rfc3339_parse("2026-01-20T02:30:00Z\0", 21, &t, why, sizeof(why)),
	    HBMON_EINVAL);
	cr_assert_str_eq(why, "trailing characters after the offset");
	/* Bytes after len are ignored even when they would be trailing. */
	cr_assert_eq(
	    rfc3339_parse("2026-01-20T02:30:00Zjunk", 20, &t, why, sizeof(why)),
	    HBMON_OK);
	cr_assert_eq(t.unix_s, 1768876200);
}

Test(rfc3339, format_known_values, .timeout = 10)
{
	static const struct {
		int64_t unix_ms;
		int offset_min;
		const char *text;
	} cases[] = {
		{ 1768876200000LL, 420, "2026-01-20T09:30:00+07:00" },
		{ 1768876200250LL, 0, "2026-01-20T02:30:00.250Z" },
		{ 1768876200001LL, -330, "2026-01-19T21:00:00.001-05:30" },
		{ 0, 0, "1970-01-01T00:00:00Z" },
		{ -1, 0, "1969-12-31T23:59:59.999Z" },
		{ 0, -330, "1969-12-31T18:30:00-05:30" },
		{ 1709208000000LL, 0, "2024-02-29T12:00:00Z" },
		{ -62167219200000LL, 0, "0000-01-01T00:00:00Z" },
		{ 253402300799999LL, 0, "9999-12-31T23:59:59.999Z" },
		{ 253402300799999LL, -1439, "9999-12-31T00:00:59.999-23:59" },
		{ 1768876200000LL, 1439, "2026-01-21T02:29:00+23:59" },
	};
	char buf[RFC3339_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(rfc3339_format(cases[i].unix_ms,
		                            cases[i].offset_min, buf,
		                            sizeof(buf)),
		             HBMON_OK, "case %zu", i);
		cr_assert_str_eq(buf, cases[i].text);
	}
}

Test(rfc3339, format_out_of_range, .timeout = 10)
{
	char buf[RFC3339_MAX] = "x";

	cr_assert_eq(rfc3339_format(0, 1440, buf, sizeof(buf)), HBMON_ERANGE);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(rfc3339_format(0, -1440, buf, sizeof(buf)), HBMON_ERANGE);
	cr_assert_eq(rfc3339_format(253402300800000LL, 0, buf, sizeof(buf)),
	             HBMON_ERANGE);
	cr_assert_eq(rfc3339_format(-62167219200001LL, 0, buf, sizeof(buf)),
	             HBMON_ERANGE);
	/* In range in UTC, but year -1 in the requested offset. */
	cr_assert_eq(rfc3339_format(-62167219200000LL, -1, buf, sizeof(buf)),
	             HBMON_ERANGE);
	cr_assert_eq(rfc3339_format(INT64_MAX, 0, buf, sizeof(buf)),
	             HBMON_ERANGE);
	cr_assert_eq(rfc3339_format(INT64_MIN, 0, buf, sizeof(buf)),
	             HBMON_ERANGE);
	cr_assert_eq(rfc3339_format(INT64_MIN, -1439, buf, sizeof(buf)),
	             HBMON_ERANGE);
}

Test(rfc3339, format_buffer_too_small, .timeout = 10)
{
	char buf[RFC3339_MAX];
	/* "2026-01-20T09:30:00+07:00" is 25 characters. */
	cr_assert_eq(rfc3339_format(1768876200000LL, 420, buf, 26), HBMON_OK);
	cr_assert_str_eq(buf, "2026-01-20T09:30:00+07:00");
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(rfc3339_format(1768876200000LL, 420, buf, 25),
	             HBMON_ENOMEM);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(rfc3339_format(1768876200000LL, 420, buf, 1),
	             HBMON_ENOMEM);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(rfc3339_format(1768876200000LL, 420, NULL, 0),
	             HBMON_ENOMEM);

	/* The longest form fits in RFC3339_MAX. */
	cr_assert_eq(rfc3339_format(253402300799999LL, -1439, buf, RFC3339_MAX),
	             HBMON_OK);
	cr_assert_str_eq(buf, "9999-12-31T00:00:59.999-23:59");
	cr_assert_lt(strlen(buf), RFC3339_MAX);
}

Test(rfc3339, format_parse_round_trip, .timeout = 10)
{
	static const int offsets[] = { 0,   1,   -1,   60,  -60,  330,  -330,
		                       420, 545, -570, 765, 1439, -1439 };
	int64_t values[64] = {
		0,
		1,
		-1,
		999,
		-999,
		1000,
		-1000,
		1768876200000LL,
		1768876200250LL,
		951782400000LL,
		951868799999LL,
		-2203891200000LL,
		-2203891200001LL,
		-62135596800000LL,
		-86400000LL * 365 * 1000,
		1483228800000LL,
		253402300799999LL - 86400000,
		-62167219200000LL + 86400000,
	};
	size_t count = 18;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	/* The years 0001..9998, so every offset stays within 0000..9999. */
	const int64_t lo = -62135596800000LL;
	const int64_t span = 253370764800000LL - lo;

	while (count < sizeof(values) / sizeof(values[0])) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		values[count++] =
		    lo + (int64_t) ((seed >> 11) % (uint64_t) span);
	}
	for (size_t i = 0; i < count; i++) {
		for (size_t j = 0; j < sizeof(offsets) / sizeof(offsets[0]);
		     j++) {
			char buf[RFC3339_MAX];
			struct rfc3339_time t;
			char why[128] = "";

			cr_assert_eq(rfc3339_format(values[i], offsets[j], buf,
			                            sizeof(buf)),
			             HBMON_OK, "%lld %d", (long long) values[i],
			             offsets[j]);
			cr_assert_eq(parse(buf, &t, why, sizeof(why)), HBMON_OK,
			             "%s: %s", buf, why);
			cr_assert_eq(rfc3339_unix_ms(&t), values[i],
			             "%s: %lld, want %lld", buf,
			             (long long) rfc3339_unix_ms(&t),
			             (long long) values[i]);
			cr_assert_eq(t.offset_min, offsets[j], "%s", buf);
			cr_assert_eq(t.offset_unknown, false);
		}
	}
}

Test(rfc3339, parse_offset_forms, .timeout = 10)
{
	static const struct {
		const char *s;
		int minutes;
	} cases[] = {
		{ "Z", 0 },         { "z", 0 },          { "UTC", 0 },
		{ "utc", 0 },       { "+07:00", 420 },   { "-05:30", -330 },
		{ "+0700", 420 },   { "+07", 420 },      { "-07", -420 },
		{ "-0530", -330 },  { "+00:00", 0 },     { "-00:00", 0 },
		{ "+23:59", 1439 }, { "-23:59", -1439 }, { "+05:45", 345 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int minutes = 9999;
		char why[128] = "";

		cr_assert_eq(rfc3339_parse_offset(cases[i].s, &minutes, why,
		                                  sizeof(why)),
		             HBMON_OK, "%s: %s", cases[i].s, why);
		cr_assert_eq(minutes, cases[i].minutes, "%s: %d", cases[i].s,
		             minutes);
	}
}

Test(rfc3339, parse_offset_rejects, .timeout = 10)
{
	static const struct {
		const char *s;
		const char *reason;
	} cases[] = {
		{ "", "empty UTC offset" },
		{ "07:00", "expected Z, UTC, +hh:mm or -hh:mm" },
		{ "GMT", "expected Z, UTC, +hh:mm or -hh:mm" },
		{ "UTC+7", "expected Z, UTC, +hh:mm or -hh:mm" },
		{ " +07:00", "expected Z, UTC, +hh:mm or -hh:mm" },
		{ "+7", "expected a 2-digit offset hour" },
		{ "+", "expected a 2-digit offset hour" },
		{ "+07:0", "expected a 2-digit offset minute" },
		{ "+07:", "expected a 2-digit offset minute" },
		{ "+07-00", "expected a 2-digit offset minute" },
		{ "+07:00:00", "trailing characters after the offset" },
		{ "+07:00 ", "trailing characters after the offset" },
		{ "+24:00", "offset hour 24 is out of range" },
		{ "-99", "offset hour 99 is out of range" },
		{ "+07:60", "offset minute 60 is out of range" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int minutes = 9999;
		char why[128] = "";

		cr_assert_eq(rfc3339_parse_offset(cases[i].s, &minutes, why,
		                                  sizeof(why)),
		             HBMON_EINVAL, "'%s'", cases[i].s);
		cr_assert_str_eq(why, cases[i].reason, "'%s'", cases[i].s);
		cr_assert_eq(minutes, 9999, "'%s' touched out", cases[i].s);
	}
	cr_assert_eq(rfc3339_parse_offset(NULL, &(int){ 0 }, NULL, 0),
	             HBMON_EINVAL);
	cr_assert_eq(rfc3339_parse_offset("+25:00", &(int){ 0 }, NULL, 0),
	             HBMON_EINVAL);
}
