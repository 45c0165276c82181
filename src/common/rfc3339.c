/*
 * RFC 3339 timestamps: parsing what robots send, formatting for people.
 *
 * Calendar arithmetic is done by hand (Howard Hinnant's days-from-civil)
 * rather than with timegm()/gmtime_r(): those are not in C11, differ across
 * libcs for years before 1970, and gmtime/localtime families can consult TZ.
 * Nothing here reads the environment or the locale.
 */
#include "common/rfc3339.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hbmon/error.h"

/* Bytes read from the input, with position; s need not be NUL-terminated. */
struct cursor {
	const char *s;
	size_t len;
	size_t pos;
};

static const char *const month_names[12] = {
	"January", "February", "March",     "April",   "May",      "June",
	"July",    "August",   "September", "October", "November", "December",
};

static void say(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static bool
is_digit(char c)
{
	/* Not isdigit(): that one is locale-dependent. */
	return c >= '0' && c <= '9';
}

static bool
at_end(const struct cursor *c)
{
	return c->pos >= c->len;
}

static char
peek(const struct cursor *c)
{
	return at_end(c) ? '\0' : c->s[c->pos];
}

/* Reads exactly n digits; leaves the cursor where it was on failure. */
static bool
take_digits(struct cursor *c, int n, int *out)
{
	int value = 0;

	if (c->len - c->pos < (size_t) n) {
		return false;
	}
	for (int i = 0; i < n; i++) {
		char d = c->s[c->pos + (size_t) i];
		if (!is_digit(d)) {
			return false;
		}
		value = value * 10 + (d - '0');
	}
	c->pos += (size_t) n;
	*out = value;
	return true;
}

static bool
take_char(struct cursor *c, char want)
{
	if (peek(c) != want) {
		return false;
	}
	c->pos++;
	return true;
}

static bool
is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
		                      31, 31, 30, 31, 30, 31 };

	assert(month >= 1 && month <= 12);
	if (month == 2 && is_leap_year(year)) {
		return 29;
	}
	return days[month - 1];
}

/*
 * Days since 1970-01-01 in the proleptic Gregorian calendar. The year is
 * shifted to start in March so the leap day falls at the end, and eras of
 * 400 years (146097 days) keep the division exact for negative years.
 */
static int64_t
days_from_civil(int64_t year, int month, int day)
{
	int64_t y = year - (month <= 2 ? 1 : 0);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                         /* 0..399 */
	int64_t mp = month > 2 ? month - 3 : month + 9;      /* 0..11 */
	int64_t doy = (153 * mp + 2) / 5 + day - 1;          /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */

	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void
civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int m = (int) (mp < 10 ? mp + 3 : mp - 9);

	*day = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month = m;
	*year = yoe + era * 400 + (m <= 2 ? 1 : 0);
}

/* Reads "+hh:mm" / "-hh:mm" / "Z" at the cursor, as RFC 3339 time-offset. */
static int
parse_time_offset(struct cursor *c, int *offset_min, bool *unknown, char *why,
                  size_t why_len)
{
	char sign = peek(c);
	int hour, minute;

	if (at_end(c)) {
		say(why, why_len, "missing UTC offset (add Z or +hh:mm)");
		return HBMON_EINVAL;
	}
	if (sign == 'Z' || sign == 'z') {
		c->pos++;
		*offset_min = 0;
		*unknown = false;
		return HBMON_OK;
	}
	if (sign != '+' && sign != '-') {
		say(why, why_len, "expected Z or +hh:mm after the time");
		return HBMON_EINVAL;
	}
	c->pos++;
	if (!take_digits(c, 2, &hour)) {
		say(why, why_len, "expected a 2-digit offset hour");
		return HBMON_EINVAL;
	}
	if (!take_char(c, ':')) {
		say(why, why_len,
		    "expected ':' between offset hours and minutes");
		return HBMON_EINVAL;
	}
	if (!take_digits(c, 2, &minute)) {
		say(why, why_len, "expected a 2-digit offset minute");
		return HBMON_EINVAL;
	}
	if (hour > 23) {
		say(why, why_len, "offset hour %d is out of range", hour);
		return HBMON_EINVAL;
	}
	if (minute > 59) {
		say(why, why_len, "offset minute %d is out of range", minute);
		return HBMON_EINVAL;
	}
	*offset_min = (hour * 60 + minute) * (sign == '-' ? -1 : 1);
	/* RFC 3339 4.3: "-00:00" says the local offset is not known. */
	*unknown = sign == '-' && hour == 0 && minute == 0;
	return HBMON_OK;
}

int
rfc3339_parse(const char *s, size_t len, struct rfc3339_time *out, char *why,
              size_t why_len)
{
	struct cursor c = { .s = s, .len = s == NULL ? 0 : len, .pos = 0 };
	int year, month, day, hour, minute, second;
	int32_t nanos = 0;
	int offset_min;
	bool offset_unknown;
	int rv;

	assert(out != NULL);
	if (c.len == 0) {
		say(why, why_len, "empty timestamp");
		return HBMON_EINVAL;
	}

	if (!take_digits(&c, 4, &year)) {
		say(why, why_len, "expected a 4-digit year");
		return HBMON_EINVAL;
	}
	if (!take_char(&c, '-')) {
		say(why, why_len, "expected '-' after the year");
		return HBMON_EINVAL;
	}
	if (!take_digits(&c, 2, &month)) {
		say(why, why_len, "expected a 2-digit month");
		return HBMON_EINVAL;
	}
	if (month < 1 || month > 12) {
		say(why, why_len, "month %d is out of range", month);
		return HBMON_EINVAL;
	}
	if (!take_char(&c, '-')) {
		say(why, why_len, "expected '-' after the month");
		return HBMON_EINVAL;
	}
	if (!take_digits(&c, 2, &day)) {
		say(why, why_len, "expected a 2-digit day");
		return HBMON_EINVAL;
	}
	if (day < 1 || day > 31) {
		say(why, why_len, "day %d is out of range", day);
		return HBMON_EINVAL;
	}
	if (day > days_in_month(year, month)) {
		say(why, why_len, "day %d does not exist in %s %04d", day,
		    month_names[month - 1], year);
		return HBMON_EINVAL;
	}

	if (at_end(&c)) {
		say(why, why_len, "missing the time (add T and hh:mm:ss)");
		return HBMON_EINVAL;
	}
	if (!take_char(&c, 'T') && !take_char(&c, 't')) {
		say(why, why_len, "expected 'T' between date and time");
		return HBMON_EINVAL;
	}
	if (!take_digits(&c, 2, &hour)) {
		say(why, why_len, "expected a 2-digit hour");
		return HBMON_EINVAL;
	}
	if (hour > 23) {
		say(why, why_len, "hour %d is out of range", hour);
		return HBMON_EINVAL;
	}
	if (!take_char(&c, ':')) {
		say(why, why_len, "expected ':' after the hour");
		return HBMON_EINVAL;
	}
	if (!take_digits(&c, 2, &minute)) {
		say(why, why_len, "expected a 2-digit minute");
		return HBMON_EINVAL;
	}
	if (minute > 59) {
		say(why, why_len, "minute %d is out of range", minute);
		return HBMON_EINVAL;
	}
	if (!take_char(&c, ':')) {
		say(why, why_len, "expected ':' after the minute");
		return HBMON_EINVAL;
	}
	if (!take_digits(&c, 2, &second)) {
		say(why, why_len, "expected a 2-digit second");
		return HBMON_EINVAL;
	}
	if (second > 60) {
		say(why, why_len, "second %d is out of range", second);
		return HBMON_EINVAL;
	}

	if (peek(&c) == ',') {
		/* ISO 8601 allows a comma here; RFC 3339 does not. */
		say(why, why_len, "use '.' before fractional seconds");
		return HBMON_EINVAL;
	}
	if (take_char(&c, '.')) {
		int digits = 0;

		while (!at_end(&c) && is_digit(peek(&c))) {
			/* Beyond nanoseconds the digits are truncated. */
			if (digits < 9) {
				nanos = nanos * 10 + (peek(&c) - '0');
			}
			digits++;
			c.pos++;
		}
		if (digits == 0) {
			say(why, why_len,
			    "fractional seconds need at least one digit");
			return HBMON_EINVAL;
		}
		for (; digits < 9; digits++) {
			nanos *= 10;
		}
	}

	rv = parse_time_offset(&c, &offset_min, &offset_unknown, why, why_len);
	if (rv != HBMON_OK) {
		return rv;
	}
	if (!at_end(&c)) {
		say(why, why_len, "trailing characters after the offset");
		return HBMON_EINVAL;
	}

	int64_t local_s = days_from_civil(year, month, day) * 86400 +
	                  hour * 3600 + minute * 60 + second;
	int64_t unix_s = local_s - (int64_t) offset_min * 60;

	/*
	 * Leap seconds are inserted at the end of a UTC day, so :60 anywhere
	 * else is a broken clock, not a leap second. Adding 60 above already
	 * counts it as the first second of the next UTC day.
	 */
	if (second == 60 && unix_s % 86400 != 0) {
		say(why, why_len,
		    "second 60 is a leap second, valid only at 23:59:60 UTC");
		return HBMON_EINVAL;
	}

	out->unix_s = unix_s;
	out->nanos = nanos;
	out->offset_min = (int16_t) offset_min;
	out->offset_unknown = offset_unknown;
	return HBMON_OK;
}

int64_t
rfc3339_unix_ms(const struct rfc3339_time *t)
{
	assert(t != NULL);
	assert(t->nanos >= 0 && t->nanos <= 999999999);
	return t->unix_s * 1000 + t->nanos / 1000000;
}

/* Writes value as exactly width digits (value must fit). */
static char *
put_digits(char *p, int64_t value, int width)
{
	assert(value >= 0);
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char) ('0' + value % 10);
		value /= 10;
	}
	assert(value == 0);
	return p + width;
}

/* floor(a / b) and the matching non-negative remainder, for b > 0. */
static int64_t
floor_div(int64_t a, int64_t b, int64_t *rem)
{
	int64_t q = a / b;
	int64_t r = a % b;

	if (r < 0) {
		r += b;
		q--;
	}
	*rem = r;
	return q;
}

int
rfc3339_format(int64_t unix_ms, int offset_min, char *buf, size_t buf_len)
{
	/*
	 * A day either side of 0000-01-01Z..9999-12-31Z, so adding the offset
	 * cannot overflow; the exact year check comes after conversion.
	 */
	const int64_t min_ms = (-62167219200LL - 86400) * 1000;
	const int64_t max_ms = (253402300800LL + 86400) * 1000;
	char text[RFC3339_MAX];
	char *p = text;
	int64_t local_ms, ms, secs, days, year;
	int month, day;
	size_t n;

	assert(buf != NULL || buf_len == 0);
	if (buf_len > 0) {
		buf[0] = '\0';
	}
	if (offset_min < -1439 || offset_min > 1439 || unix_ms < min_ms ||
	    unix_ms > max_ms) {
		return HBMON_ERANGE;
	}
	local_ms = unix_ms + (int64_t) offset_min * 60000;
	secs = floor_div(local_ms, 1000, &ms);
	days = floor_div(secs, 86400, &secs);
	civil_from_days(days, &year, &month, &day);
	if (year < 0 || year > 9999) {
		return HBMON_ERANGE;
	}

	p = put_digits(p, year, 4);
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	*p++ = 'T';
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, secs % 60, 2);
	if (ms != 0) {
		*p++ = '.';
		p = put_digits(p, ms, 3);
	}
	if (offset_min == 0) {
		*p++ = 'Z';
	} else {
		int abs_min = offset_min < 0 ? -offset_min : offset_min;

		*p++ = offset_min < 0 ? '-' : '+';
		p = put_digits(p, abs_min / 60, 2);
		*p++ = ':';
		p = put_digits(p, abs_min % 60, 2);
	}
	n = (size_t) (p - text);
	assert(n < sizeof(text));
	if (n >= buf_len) {
		return HBMON_ENOMEM;
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	return HBMON_OK;
}

static bool
ascii_equal_nocase(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char ca = (*a >= 'a' && *a <= 'z') ? (char) (*a - 32) : *a;
		char cb = (*b >= 'a' && *b <= 'z') ? (char) (*b - 32) : *b;
		if (ca != cb) {
			return false;
		}
	}
	return *a == *b;
}

int
rfc3339_parse_offset(const char *s, int *out_min, char *why, size_t why_len)
{
	struct cursor c = { .s = s, .len = s == NULL ? 0 : strlen(s) };
	char sign;
	int hour, minute = 0;

	assert(out_min != NULL);
	if (c.len == 0) {
		say(why, why_len, "empty UTC offset");
		return HBMON_EINVAL;
	}
	if (ascii_equal_nocase(s, "Z") || ascii_equal_nocase(s, "UTC")) {
		*out_min = 0;
		return HBMON_OK;
	}
	sign = peek(&c);
	if (sign != '+' && sign != '-') {
		say(why, why_len, "expected Z, UTC, +hh:mm or -hh:mm");
		return HBMON_EINVAL;
	}
	c.pos++;
	if (!take_digits(&c, 2, &hour)) {
		say(why, why_len, "expected a 2-digit offset hour");
		return HBMON_EINVAL;
	}
	if (!at_end(&c)) {
		/* "+07:00" and "+0700" are both common; "+07" means "+07:00".
		 */
		(void) take_char(&c, ':');
		if (!take_digits(&c, 2, &minute)) {
			say(why, why_len, "expected a 2-digit offset minute");
			return HBMON_EINVAL;
		}
	}
	if (!at_end(&c)) {
		say(why, why_len, "trailing characters after the offset");
		return HBMON_EINVAL;
	}
	if (hour > 23) {
		say(why, why_len, "offset hour %d is out of range", hour);
		return HBMON_EINVAL;
	}
	if (minute > 59) {
		say(why, why_len, "offset minute %d is out of range", minute);
		return HBMON_EINVAL;
	}
	*out_min = (hour * 60 + minute) * (sign == '-' ? -1 : 1);
	return HBMON_OK;
}
