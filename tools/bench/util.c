/* Helpers shared by hbmon-bench's verbs. */
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/duration.h"
#include "hbmon/error.h"

void
bench_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hbmon-bench %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(hbmon-bench %s --help for usage)\n", verb);
}

bool
bench_parse_uint(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (text[0] < '0' || text[0] > '9') {
		return false;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		return false;
	}
	*out = (uint32_t) v;
	return true;
}

bool
bench_uint_flag(const char *verb, const char *flag, const char *text,
                uint32_t min, uint32_t max, uint32_t *out)
{
	if (!bench_parse_uint(text, min, max, out)) {
		bench_usage_error(verb,
		                  "%s '%s' is not a whole number from %" PRIu32
		                  " to %" PRIu32,
		                  flag, text, min, max);
		return false;
	}
	return true;
}

bool
bench_duration_flag(const char *verb, const char *flag, const char *text,
                    int64_t min_ms, int64_t *out)
{
	char why[128];
	int64_t ms;

	if (duration_parse(text, &ms, why, sizeof(why)) != HBMON_OK) {
		bench_usage_error(verb, "%s '%s': %s", flag, text, why);
		return false;
	}
	if (ms < min_ms) {
		bench_usage_error(verb, "%s '%s' is shorter than %" PRId64 "ms",
		                  flag, text, min_ms);
		return false;
	}
	*out = ms;
	return true;
}

void
bench_progress(const char *fmt, ...)
{
	va_list ap;

	if (!isatty(2)) {
		return;
	}
	va_start(ap, fmt);
	fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void
bench_pause_ms(int64_t ms)
{
	struct timespec ts = { (time_t) (ms / 1000),
		               (long) (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int64_t
bench_cpu_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0) {
		return 0;
	}
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
bench_option_error(const char *verb, int ch, char **argv)
{
	if (ch == ':') {
		bench_usage_error(verb, "%s needs a value", argv[optind - 1]);
	} else {
		bench_usage_error(verb, "unknown option '%s'",
		                  argv[optind - 1]);
	}
}

bool
bench_no_arguments(const char *verb, int argc, char **argv)
{
	if (optind < argc) {
		bench_usage_error(verb, "unexpected argument '%s'",
		                  argv[optind]);
		return false;
	}
	return true;
}
