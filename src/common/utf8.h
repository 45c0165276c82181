/*
 * UTF-8 as proto3 strings, JSON and terminals want it: strict decoding
 * (no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF, no
 * sequence cut short). Pure functions, no allocation, thread-safe.
 */
#ifndef HBMON_COMMON_UTF8_H
#define HBMON_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest UTF-8 sequence of one code point, in bytes. */
#define UTF8_MAX 4

/*
 * Decodes the sequence that starts at s, of which n > 0 bytes are
 * available. Returns its length (1..4) with the code point in *out_cp, or
 * 0 when the bytes at s do not start a valid sequence (then *out_cp is
 * untouched). NUL is a valid code point here (length 1).
 */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *out_cp);

/*
 * Whether s[0..n) is valid UTF-8 throughout. bad_at: when not, the offset
 * of the first byte that does not start a valid sequence (may be NULL).
 */
bool utf8_valid(const void *s, size_t n, size_t *bad_at);

/*
 * Where to cut text that did not fit: the length of the longest prefix of
 * s[0..n) that does not end part-way through a multi-byte sequence (bytes
 * that could never be a sequence are left for the caller's escaping).
 * For text that snprintf truncated, before its NUL is written back.
 */
size_t utf8_cut(const void *s, size_t n);

#endif
