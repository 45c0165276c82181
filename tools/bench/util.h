/*
 * What hbmon-bench's verbs share: command-line errors and flag parsing in
 * one wording, progress on a terminal, sleeping and CPU clocks.
 */
#ifndef HBMON_BENCH_UTIL_H
#define HBMON_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/*
 * Prints "hbmon-bench VERB: <message>" and where to find the usage to
 * stderr. verb: the verb as typed ("ingest").
 */
void bench_usage_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parses text as a whole decimal number in min..max into out; nothing is
 * printed. Returns false for anything else (signs, spaces, trailing text,
 * out of range).
 */
bool bench_parse_uint(const char *text, uint32_t min, uint32_t max,
                      uint32_t *out);

/*
 * bench_parse_uint for the value of flag, saying what is wrong through
 * bench_usage_error when it fails.
 */
bool bench_uint_flag(const char *verb, const char *flag, const char *text,
                     uint32_t min, uint32_t max, uint32_t *out);

/*
 * Parses text as a duration ("300ms", "5s", "2m") of at least min_ms into
 * out (milliseconds), saying what is wrong through bench_usage_error when
 * it fails.
 */
bool bench_duration_flag(const char *verb, const char *flag, const char *text,
                         int64_t min_ms, int64_t *out);

/*
 * For a getopt_long loop given ":h" (opterr = 0): says what is wrong with
 * the option getopt just returned ch for (':' for a missing value,
 * anything else is unknown) through bench_usage_error. argv: the verb's.
 */
void bench_option_error(const char *verb, int ch, char **argv);

/*
 * After the options: false, with the first left-over argument named
 * through bench_usage_error, when argv has any (verbs take none).
 */
bool bench_no_arguments(const char *verb, int argc, char **argv);

/* A progress line on stderr, rewritten in place; nothing when stderr is not
 * a terminal. "" clears it. */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sleeps ms milliseconds (a signal may cut it short). */
void bench_pause_ms(int64_t ms);

/* CPU time of a clock in ns, or 0 when it cannot be read (process gone). */
int64_t bench_cpu_ns(clockid_t clock);

#endif
