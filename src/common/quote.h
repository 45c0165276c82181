/*
 * Quoting untrusted text: whatever a peer sent (a robot id, an account
 * name, a method, a timestamp, a pause reason, ...) made safe to echo in a
 * reply, write to the log or print on the owner's terminal. The quoted
 * form is always valid UTF-8 (proto3 strings must be: Google's parsers
 * refuse a whole reply otherwise), holds no control characters (a robot
 * cannot clear the owner's screen or draw a fake row), and is never cut
 * inside a character or an escape.
 *
 * What is escaped, and how:
 *   - a byte that does not start valid UTF-8 (utf8.h):  \xHH  (HH >= 80)
 *   - a code point quote_unsafe() names: TAB, LF, CR as \t \n \r, other
 *     ASCII controls as \xHH (HH < 80), the rest as \uHHHH
 *   - with QUOTE_ASCII, also every other code point above U+007E, as
 *     \uHHHH or \UHHHHHHHH, so the output is printable ASCII (the log)
 *   - with QUOTE_VALID_ONLY, invalid bytes only (see the flag)
 * Everything else, backslash included, is copied as it is: the quoted form
 * is for people to read, not to be parsed back.
 *
 * Pure functions on caller memory; no allocation; thread-safe.
 */
#ifndef HBMON_COMMON_QUOTE_H
#define HBMON_COMMON_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum quote_flags {
	QUOTE_UTF8 = 0,        /* valid, safe UTF-8 is kept (replies, hbctl) */
	QUOTE_ASCII = 1u << 0, /* any code point above U+007E escaped (logs) */
	/* Only bytes that are not UTF-8 escaped; every code point, controls
	 * included, kept: for text a JSON encoder escapes next (jansson
	 * writes \u001b), which refuses invalid UTF-8 outright. */
	QUOTE_VALID_ONLY = 1u << 1,
};

/* Longest shown form of one unit (\U0010ffff), without a NUL. */
#define QUOTE_UNIT_MAX 10

/* What a cut quoted text ends with. */
#define QUOTE_CUT "..."

/*
 * A buffer for a name quoted into a sentence: a name of RULES_NAME_MAX (64)
 * plain bytes fits whole; an uglier one is cut with QUOTE_CUT.
 */
#define QUOTE_NAME_SIZE 100

/*
 * Whether code point cp is never shown raw: the C0 controls and DEL, the C1
 * controls U+0080..U+009F, the line and paragraph separators U+2028/U+2029,
 * the bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069) and the invisible U+200B..U+200D, U+2060..U+2064,
 * U+FEFF. These are also what a name may not hold (quote_find_unsafe).
 */
bool quote_unsafe(uint32_t cp);

/*
 * Quotes the one unit at s (a code point, or one byte that does not start
 * valid UTF-8), of which n > 0 bytes are available: writes its shown form
 * to out (not NUL-terminated) and the form's length to *out_len. Returns
 * how many bytes of s it took (1..4).
 */
size_t quote_unit(const uint8_t *s, size_t n, unsigned flags,
                  char out[QUOTE_UNIT_MAX], size_t *out_len);

/*
 * Writes src[0..src_len) quoted into dst, dst_size bytes, always
 * NUL-terminated when dst_size > 0. When it does not all fit, the output
 * ends with QUOTE_CUT after the last whole unit that leaves room for it.
 * Returns true when all of src was written.
 */
bool quote_buf(char *dst, size_t dst_size, const void *src, size_t src_len,
               unsigned flags);

/*
 * quote_buf of the C string src (NULL is shown as ""), in QUOTE_UTF8 mode.
 * Returns dst, so that it can be a printf argument:
 *   char q[QUOTE_NAME_SIZE];
 *   snprintf(why, len, "robot '%s' ...", quote_str(q, sizeof(q), id));
 */
const char *quote_str(char *dst, size_t dst_size, const char *src);

/* The bytes quote_buf needs to write all of src, its NUL included. */
size_t quote_size(const void *src, size_t src_len, unsigned flags);

/*
 * Finds the first unit of s[0..n) that quoting would change in QUOTE_UTF8
 * mode: a byte that does not start valid UTF-8, or an unsafe code point.
 * Returns false when there is none. Otherwise *at is its offset and *cp
 * the code point, or UINT32_MAX for an invalid byte. at and cp may be NULL.
 */
bool quote_find_unsafe(const void *s, size_t n, size_t *at, uint32_t *cp);

#endif
