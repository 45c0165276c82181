/*
 * Logging in logfmt to stderr, one line per event:
 *   ts=2026-11-28T02:46:46.123Z level=warn msg="auth disabled" listen=tcp://...
 * Values substituted with %s are quoted and escaped when they need it, so a
 * robot name with spaces, quotes, controls or non-ASCII bytes cannot break
 * a line or reach a terminal raw. Never log secrets.
 */
#ifndef HBMON_COMMON_LOG_H
#define HBMON_COMMON_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO = 1,
	LOG_WARN = 2,
	LOG_ERROR = 3,
};

/*
 * Sets the lowest level written (default LOG_INFO). Thread-safe.
 */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn", "error". Returns HBMON_OK or HBMON_EINVAL. */
int log_level_parse(const char *word, enum log_level *out);

/* Words accepted by log_level_parse, NULL-terminated, for config tables. */
extern const char *const log_level_words[];

/*
 * Writes one event if level is enabled. msg: a fixed short phrase, quoted
 * as needed; NULL is written as msg="". fields: printf-style
 * "key=%s key2=%d" template, may be NULL or empty; each %s value (and %c,
 * %m, and the wide %lc, %ls) is quoted when it is empty or holds a space,
 * '=', '"', '\', a control character or a byte >= 0x80, with \" \\ and
 * quote.h's ASCII escapes (\n \r \t \xNN, \u00e9 for a character above
 * U+007E, \xff for a byte that is not UTF-8): a value from a peer never
 * puts a raw control or non-ASCII byte into the log. A NULL %s is written
 * as "". Other conversions are written as
 * printf writes them (%n is ignored). %m is errno as at the call. A
 * control character in the template itself is written as a space. A line
 * is at most PIPE_BUF (4096) bytes: a longer one is cut, closed with a
 * quote if it was inside a value, and ends " truncated=true\n".
 * The line is written with a single write(2) so lines from different
 * threads do not interleave; errno is preserved. Thread-safe; never
 * fails visibly (a line that cannot be written is dropped).
 */
void log_write(enum log_level level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* As log_write, with a va_list. */
void log_vwrite(enum log_level level, const char *msg, const char *fields,
                va_list ap) __attribute__((format(printf, 3, 0)));

#define log_debug(msg, ...) log_write(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_write(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_write(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_write(LOG_ERROR, msg, __VA_ARGS__)

#endif
