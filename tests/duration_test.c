/* duration_test: "1h30m" for machines, "1 h 30 min" for people. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "common/duration.h"
#include "hbmon/error.h"

static void
assert_parses(const char *s, int64_t ms)
{
	int64_t out = -7;
	char why[128] = "";
	int rv = duration_parse(s, &out, why, sizeof(why));

	cr_assert_eq(rv, HBMON_OK, "'%s': rv %d (%s)", s, rv, why);
	cr_assert_eq(out, ms, "'%s': %lld, want %lld", s, (long long) out,
	             (long long) ms);
}

/* Checks the code, the exact reason (when given), and that out is kept. */
static void
assert_rejects(const char *s, int code, const char *reason)
{
	int64_t out = -7;
	char why[128] = "";
	int rv = duration_parse(s, &out, why, sizeof(why));

	cr_assert_eq(rv, code, "'%s': rv %d, want %d", s, rv, code);
	cr_assert_neq(why[0], '\0', "'%s': empty reason", s);
	if (reason != NULL) {
		cr_assert_str_eq(why, reason, "'%s'", s);
	}
	cr_assert_eq(out, -7, "'%s' touched out", s);
}

Test(duration, every_unit, .timeout = 10)
{
	assert_parses("300ms", 300);
	assert_parses("1ms", 1);
	assert_parses("90s", 90000);
	assert_parses("2m", 120000);
	assert_parses("1h", 3600000);
	assert_parses("30d", 2592000000LL);
	assert_parses("007s", 7000);
}

Test(duration, combinations, .timeout = 10)
{
	assert_parses("1h30m", 5400000);
	assert_parses("1m30s", 90000);
	assert_parses("1d2h3m4s5ms", 93784005);
	assert_parses("2s500ms", 2500);
	/* Groups are summed, whatever their order. */
	assert_parses("30m1h", 5400000);
}

Test(duration, fractions, .timeout = 10)
{
	assert_parses("1.5s", 1500);
	assert_parses("0.5s", 500);
	assert_parses("0.001s", 1);
	assert_parses("1.50s", 1500);
	assert_parses("1.000000000000000000s", 1000);
	assert_parses("1.25m", 75000);
	assert_parses("1.5h", 5400000);
	assert_parses("0.1d", 8640000);
	assert_parses("1.5h30m", 7200000);
	assert_parses("2.0ms", 2);
	assert_rejects("1.5ms", HBMON_EINVAL, "precision finer than 1 ms");
	assert_rejects("0.0001s", HBMON_EINVAL, "precision finer than 1 ms");
	assert_rejects("0.00000000001d", HBMON_EINVAL,
	               "precision finer than 1 ms");
	assert_rejects(".5s", HBMON_EINVAL,
	               "a decimal point needs a digit before it, e.g. 0.5s");
	assert_rejects("5.s", HBMON_EINVAL,
	               "a decimal point needs a digit after it, e.g. 1.5s");
	assert_rejects("1.5.5s", HBMON_EINVAL,
	               "a number has one decimal point at most");
}

Test(duration, zero, .timeout = 10)
{
	assert_parses("0", 0);
	assert_parses("0s", 0);
	assert_parses("0ms", 0);
	assert_parses("0d0h", 0);
	assert_rejects("00", HBMON_EINVAL, "needs a unit, e.g. 90s");
	assert_rejects("0.0", HBMON_EINVAL, "needs a unit, e.g. 90s");
}

Test(duration, bare_number_refused, .timeout = 10)
{
	assert_rejects("90", HBMON_EINVAL, "needs a unit, e.g. 90s");
	assert_rejects("1", HBMON_EINVAL, "needs a unit, e.g. 90s");
	assert_rejects("1h30", HBMON_EINVAL, "needs a unit, e.g. 90s");
	assert_rejects("1.5", HBMON_EINVAL, "needs a unit, e.g. 90s");
}

Test(duration, unknown_unit, .timeout = 10)
{
	assert_rejects("5x", HBMON_EINVAL,
	               "unit 'x' is not one of ms, s, m, h, d");
	assert_rejects("5sec", HBMON_EINVAL,
	               "unit 'sec' is not one of ms, s, m, h, d");
	assert_rejects("5H", HBMON_EINVAL,
	               "unit 'H' is not one of ms, s, m, h, d");
	assert_rejects("1h-30m", HBMON_EINVAL,
	               "unit 'h-' is not one of ms, s, m, h, d");
	assert_rejects("5\xc2\xb5s", HBMON_EINVAL,
	               "unknown unit (use ms, s, m, h or d)");
	assert_rejects("5milliseconds", HBMON_EINVAL,
	               "unknown unit (use ms, s, m, h or d)");
	assert_rejects("s", HBMON_EINVAL, "expected a number before the unit");
	assert_rejects("+5s", HBMON_EINVAL,
	               "expected a number, without a sign");
}

Test(duration, empty_and_spaces, .timeout = 10)
{
	int64_t out = -7;

	assert_rejects("", HBMON_EINVAL, "empty duration");
	cr_assert_eq(duration_parse(NULL, &out, NULL, 0), HBMON_EINVAL);
	cr_assert_eq(out, -7);
	assert_rejects(" 5s", HBMON_EINVAL,
	               "spaces are not allowed, e.g. 1h30m");
	assert_rejects("5 s", HBMON_EINVAL,
	               "spaces are not allowed, e.g. 1h30m");
	assert_rejects("1h 30m", HBMON_EINVAL,
	               "spaces are not allowed, e.g. 1h30m");
	assert_rejects("5s\n", HBMON_EINVAL,
	               "spaces are not allowed, e.g. 1h30m");
}

Test(duration, negative, .timeout = 10)
{
	assert_rejects("-5s", HBMON_ERANGE, "a duration cannot be negative");
	assert_rejects("-1h30m", HBMON_ERANGE, "a duration cannot be negative");
	assert_rejects("-0", HBMON_ERANGE, "a duration cannot be negative");
	/* A typo is reported before the sign. */
	assert_rejects("-5x", HBMON_EINVAL,
	               "unit 'x' is not one of ms, s, m, h, d");
	assert_rejects("-", HBMON_EINVAL, "expected a number after '-'");
}

Test(duration, overflow, .timeout = 10)
{
	assert_parses("9223372036854775807ms", INT64_MAX);
	assert_parses("106751991167d", 9223372036828800000LL);
	assert_parses("106751991167d7h12m55s807ms", INT64_MAX);
	assert_rejects("9223372036854775808ms", HBMON_ERANGE,
	               "too long (the limit is about 292 million years)");
	assert_rejects("106751991168d", HBMON_ERANGE, NULL);
	assert_rejects("106751991167d7h12m55s808ms", HBMON_ERANGE, NULL);
	assert_rejects("9223372036854775807ms1ms", HBMON_ERANGE, NULL);
	assert_rejects("99999999999999999999999999h", HBMON_ERANGE, NULL);
	assert_rejects("9223372036854775.808s", HBMON_ERANGE, NULL);
	/* A syntax error is more useful than "too long". */
	assert_rejects("99999999999999999999999999x", HBMON_EINVAL,
	               "unit 'x' is not one of ms, s, m, h, d");
}

Test(duration, why_may_be_null, .timeout = 10)
{
	int64_t out = 0;
	char why[4] = "xyz";

	cr_assert_eq(duration_parse("5x", &out, NULL, 0), HBMON_EINVAL);
	cr_assert_eq(duration_parse("-5s", &out, NULL, 0), HBMON_ERANGE);
	cr_assert_eq(duration_parse("5x", &out, why, 0), HBMON_EINVAL);
	cr_assert_str_eq(why, "xyz");
	cr_assert_eq(duration_parse("5x", &out, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_str_eq(why, "uni");
}

Test(duration, format_canonical, .timeout = 10)
{
	static const struct {
		int64_t ms;
		const char *text;
	} cases[] = {
		{ 0, "0s" },
		{ 1, "1ms" },
		{ 300, "300ms" },
		{ 1000, "1s" },
		{ 1500, "1s500ms" },
		{ 90000, "1m30s" },
		{ 120000, "2m" },
		{ 5400000, "1h30m" },
		{ 7200000, "2h" },
		{ 86400000, "1d" },
		{ 86400001, "1d1ms" },
		{ 90061001, "1d1h1m1s1ms" },
		{ 2592000000LL, "30d" },
		{ INT64_MAX, "106751991167d7h12m55s807ms" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(duration_format(cases[i].ms, buf, sizeof(buf)),
		             HBMON_OK);
		cr_assert_str_eq(buf, cases[i].text);
	}
}

Test(duration, format_errors, .timeout = 10)
{
	char buf[32] = "x";

	cr_assert_eq(duration_format(-1, buf, sizeof(buf)), HBMON_ERANGE);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(duration_format(INT64_MIN, buf, sizeof(buf)),
	             HBMON_ERANGE);
	/* "1m30s" needs 6 bytes with its NUL. */
	cr_assert_eq(duration_format(90000, buf, 6), HBMON_OK);
	cr_assert_str_eq(buf, "1m30s");
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(duration_format(90000, buf, 5), HBMON_ENOMEM);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(duration_format(90000, NULL, 0), HBMON_ENOMEM);
}

Test(duration, format_parse_round_trip, .timeout = 10)
{
	int64_t values[200] = { 0,
		                1,
		                999,
		                1000,
		                1001,
		                59999,
		                60000,
		                3599999,
		                3600000,
		                86399999,
		                86400000,
		                INT64_MAX,
		                INT64_MAX - 1,
		                9223372036828800000LL };
	size_t count = 14;
	uint64_t seed = 12345;

	while (count < sizeof(values) / sizeof(values[0])) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		/* Mostly realistic sizes, a few huge ones. */
		values[count] = (int64_t) (seed >> 1);
		if (count % 4 != 0) {
			values[count] %= (int64_t) 400 * 86400000;
		}
		count++;
	}
	for (size_t i = 0; i < count; i++) {
		char buf[32];
		int64_t back = -1;
		char why[128] = "";

		cr_assert_eq(duration_format(values[i], buf, sizeof(buf)),
		             HBMON_OK);
		cr_assert_eq(duration_parse(buf, &back, why, sizeof(why)),
		             HBMON_OK, "%s: %s", buf, why);
		cr_assert_eq(back, values[i], "%s: %lld, want %lld", buf,
		             (long long) back, (long long) values[i]);
	}
}

Test(duration, human_examples, .timeout = 10)
{
	static const struct {
		int64_t ms;
		const char *text;
	} cases[] = {
		{ 850, "850 ms" },
		{ 42000, "42 s" },
		{ 360000, "6 min" },
		{ 7500000, "2 h 5 min" },
		{ 90000000, "1 d 1 h" },
		{ 0, "0 s" },
		{ -5, "0 s" },
		{ INT64_MIN, "0 s" },
		{ 1, "1 ms" },
		/* Milliseconds only below a second. */
		{ 1500, "1 s" },
		{ 30018, "30 s" },
		{ 61000, "1 min 1 s" },
		{ 3599999, "59 min 59 s" },
		{ 3600000, "1 h" },
		/* Rounded down: the third unit never shows. */
		{ 7559999, "2 h 5 min" },
		/* 1 d 0 h 5 min: the next unit is zero, so only "1 d". */
		{ 86700000, "1 d" },
		{ 2592000000LL, "30 d" },
		{ INT64_MAX, "106751991167 d 7 h" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(duration_human(cases[i].ms, buf, sizeof(buf)),
		             HBMON_OK);
		cr_assert_str_eq(buf, cases[i].text, "%lld",
		                 (long long) cases[i].ms);
	}
}

Test(duration, human_buffer_too_small, .timeout = 10)
{
	char buf[32];

	/* "2 h 5 min" is 9 characters. */
	cr_assert_eq(duration_human(7500000, buf, 10), HBMON_OK);
	cr_assert_str_eq(buf, "2 h 5 min");
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(duration_human(7500000, buf, 9), HBMON_ENOMEM);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(duration_human(0, buf, 3), HBMON_ENOMEM);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(duration_human(0, NULL, 0), HBMON_ENOMEM);
}
