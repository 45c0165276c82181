/*
 * Durations: "1h30m" for config files and flags, "1 h 30 min" for people.
 * Everything is whole milliseconds in an int64_t.
 */
#include "common/duration.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hbmon/error.h"

struct duration_unit {
	const char *name;  /* as duration_parse and duration_format write it */
	const char *human; /* as duration_human writes it */
	int64_t ms;
};

/* Largest first: duration_format and duration_human walk it in order. */
static const struct duration_unit units[] = {
	{ "d", "d", 86400000 }, { "h", "h", 3600000 }, { "m", "min", 60000 },
	{ "s", "s", 1000 },     { "ms", "ms", 1 },
};
#define UNIT_COUNT (sizeof(units) / sizeof(units[0]))

/*
 * Every unit divides 2^10 * 3^3 * 5^5 ms, so a fraction with more than 10
 * significant decimals (last one non-zero) can never be a whole number of
 * milliseconds; below that, digits * unit fits comfortably in int64.
 */
#define FRACTION_DIGITS_MAX 10

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

/* ASCII only: isdigit()/isspace() depend on the locale. */
static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static const struct duration_unit *
find_unit(const char *name, size_t len)
{
	for (size_t i = 0; i < UNIT_COUNT; i++) {
		if (strlen(units[i].name) == len &&
		    memcmp(units[i].name, name, len) == 0) {
			return &units[i];
		}
	}
	return NULL;
}

static void
say_unknown_unit(const char *name, size_t len, char *why, size_t why_len)
{
	/*
	 * Quoting a short printable unit helps ("unit 'x'"); anything longer
	 * or binary is more likely garbage, and the caller quotes the input.
	 */
	bool printable = len <= 8;

	for (size_t i = 0; printable && i < len; i++) {
		printable = name[i] > ' ' && name[i] <= '~';
	}
	if (printable) {
		say(why, why_len, "unit '%.*s' is not one of ms, s, m, h, d",
		    (int) len, name);
	} else {
		say(why, why_len, "unknown unit (use ms, s, m, h or d)");
	}
}

/*
 * Adds one <number><unit> group at *p to *total. Syntax errors return
 * HBMON_EINVAL at once; overflow only sets *overflow, so that a later
 * syntax error still wins (a typo is the more useful thing to report).
 */
static int
parse_group(const char **p, int64_t *total, bool *overflow, char *why,
            size_t why_len)
{
	const char *s = *p;
	int64_t whole = 0;
	int64_t fraction = 0;
	int fraction_digits = 0;
	int64_t fraction_ms = 0;
	const char *unit_name;
	const struct duration_unit *unit;

	if (!is_digit(*s)) {
		if (*s == '.') {
			say(why, why_len,
			    "a decimal point needs a digit before it, e.g. "
			    "0.5s");
		} else if (*s == '+') {
			say(why, why_len, "expected a number, without a sign");
		} else {
			say(why, why_len, "expected a number before the unit");
		}
		return HBMON_EINVAL;
	}
	for (; is_digit(*s); s++) {
		int digit = *s - '0';

		if (whole > (INT64_MAX - digit) / 10) {
			*overflow = true;
		} else {
			whole = whole * 10 + digit;
		}
	}
	if (*s == '.') {
		const char *first = ++s;
		const char *last;

		for (; is_digit(*s); s++) {
		}
		if (s == first) {
			say(why, why_len,
			    "a decimal point needs a digit after it, e.g. "
			    "1.5s");
			return HBMON_EINVAL;
		}
		if (*s == '.') {
			say(why, why_len,
			    "a number has one decimal point at most");
			return HBMON_EINVAL;
		}
		/* Trailing zeros say nothing about precision: "1.50s". */
		for (last = s; last > first && last[-1] == '0'; last--) {
		}
		if (last - first > FRACTION_DIGITS_MAX) {
			say(why, why_len, "precision finer than 1 ms");
			return HBMON_EINVAL;
		}
		for (const char *d = first; d < last; d++) {
			fraction = fraction * 10 + (*d - '0');
			fraction_digits++;
		}
	}

	unit_name = s;
	for (; *s != '\0' && !is_digit(*s) && *s != '.'; s++) {
	}
	if (s == unit_name) {
		say(why, why_len, "needs a unit, e.g. 90s");
		return HBMON_EINVAL;
	}
	unit = find_unit(unit_name, (size_t) (s - unit_name));
	if (unit == NULL) {
		say_unknown_unit(unit_name, (size_t) (s - unit_name), why,
		                 why_len);
		return HBMON_EINVAL;
	}

	if (fraction_digits > 0) {
		int64_t scale = 1;
		int64_t scaled = fraction * unit->ms;

		for (int i = 0; i < fraction_digits; i++) {
			scale *= 10;
		}
		if (scaled % scale != 0) {
			say(why, why_len, "precision finer than 1 ms");
			return HBMON_EINVAL;
		}
		fraction_ms = scaled / scale;
		assert(fraction_ms < unit->ms);
	}
	if (whole > (INT64_MAX - fraction_ms) / unit->ms) {
		*overflow = true;
	} else {
		int64_t group = whole * unit->ms + fraction_ms;

		if (*total > INT64_MAX - group) {
			*overflow = true;
		} else {
			*total += group;
		}
	}
	*p = s;
	return HBMON_OK;
}

int
duration_parse(const char *s, int64_t *out_ms, char *why, size_t why_len)
{
	bool negative = false;
	bool overflow = false;
	int64_t total = 0;
	const char *p;
	int rv;

	assert(out_ms != NULL);
	if (s == NULL || *s == '\0') {
		say(why, why_len, "empty duration");
		return HBMON_EINVAL;
	}
	for (p = s; *p != '\0'; p++) {
		if (is_space(*p)) {
			say(why, why_len, "spaces are not allowed, e.g. 1h30m");
			return HBMON_EINVAL;
		}
	}

	p = s;
	if (*p == '-') {
		negative = true;
		p++;
	}
	if (strcmp(p, "0") == 0) {
		/* The one number that means the same in every unit. */
		p++;
	} else if (*p == '\0') {
		say(why, why_len, "expected a number after '-'");
		return HBMON_EINVAL;
	}
	while (*p != '\0') {
		rv = parse_group(&p, &total, &overflow, why, why_len);
		if (rv != HBMON_OK) {
			return rv;
		}
	}

	if (negative) {
		say(why, why_len, "a duration cannot be negative");
		return HBMON_ERANGE;
	}
	if (overflow) {
		say(why, why_len,
		    "too long (the limit is about 292 million "
		    "years)");
		return HBMON_ERANGE;
	}
	*out_ms = total;
	return HBMON_OK;
}

/* Writes v in decimal at p and returns the end; p needs 20 bytes. */
static char *
put_number(char *p, int64_t v)
{
	char digits[20];
	int n = 0;

	assert(v >= 0);
	do {
		digits[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0) {
		*p++ = digits[--n];
	}
	return p;
}

static char *
put_text(char *p, const char *text)
{
	size_t n = strlen(text);

	memcpy(p, text, n);
	return p + n;
}

/* Copies text[0..n) into buf if it fits with its NUL. */
static int
copy_out(const char *text, size_t n, char *buf, size_t buf_len)
{
	if (n >= buf_len) {
		return HBMON_ENOMEM;
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	return HBMON_OK;
}

int
duration_format(int64_t ms, char *buf, size_t buf_len)
{
	char text[64];
	char *p = text;

	assert(buf != NULL || buf_len == 0);
	if (buf_len > 0) {
		buf[0] = '\0';
	}
	if (ms < 0) {
		return HBMON_ERANGE;
	}
	if (ms == 0) {
		p = put_text(p, "0s");
	}
	for (size_t i = 0; i < UNIT_COUNT && ms > 0; i++) {
		int64_t count = ms / units[i].ms;

		if (count > 0) {
			p = put_number(p, count);
			p = put_text(p, units[i].name);
			ms -= count * units[i].ms;
		}
	}
	return copy_out(text, (size_t) (p - text), buf, buf_len);
}

int
duration_human(int64_t ms, char *buf, size_t buf_len)
{
	char text[64];
	char *p = text;
	size_t i;

	assert(buf != NULL || buf_len == 0);
	if (buf_len > 0) {
		buf[0] = '\0';
	}
	if (ms <= 0) {
		p = put_text(p, "0 s");
		return copy_out(text, (size_t) (p - text), buf, buf_len);
	}
	for (i = 0; i < UNIT_COUNT - 1 && ms < units[i].ms; i++) {
	}
	p = put_number(p, ms / units[i].ms);
	*p++ = ' ';
	p = put_text(p, units[i].human);
	/*
	 * Only the next smaller unit follows, so "1 d 0 h 5 min" reads
	 * "1 d": a person wants the size, not every digit. Milliseconds
	 * never follow seconds ("silent for 30 s", not "30 s 18 ms").
	 */
	if (i + 2 < UNIT_COUNT) {
		int64_t next = ms % units[i].ms / units[i + 1].ms;

		if (next > 0) {
			*p++ = ' ';
			p = put_number(p, next);
			*p++ = ' ';
			p = put_text(p, units[i + 1].human);
		}
	}
	return copy_out(text, (size_t) (p - text), buf, buf_len);
}

int64_t
duration_abs(int64_t ms)
{
	return ms >= 0 ? ms : ms == INT64_MIN ? INT64_MAX : -ms;
}

int64_t
duration_sub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r)) {
		return b < 0 ? INT64_MAX : INT64_MIN;
	}
	return r;
}

int64_t
duration_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r)) {
		return b > 0 ? INT64_MAX : INT64_MIN;
	}
	return r;
}
