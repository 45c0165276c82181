/*
 * Untrusted text: strict UTF-8 decoding (utf8.h) and the quoted form every
 * reply, log line and hbctl table uses (quote.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/quote.h"
#include "common/utf8.h"

Test(utf8, decodes_what_is_valid, .timeout = 10)
{
	static const struct {
		const char *bytes;
		size_t len;
		uint32_t cp;
	} cases[] = {
		{ "A", 1, 0x41 },
		{ "\0", 1, 0 },
		{ "\xc3\xa9", 2, 0xe9 },
		{ "\xe2\x82\xac", 3, 0x20ac },
		{ "\xef\xbf\xbf", 3, 0xffff },
		{ "\xf0\x9f\x93\x88", 4, 0x1f4c8 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 0xdead;
		cr_assert_eq(utf8_decode((const uint8_t *) cases[i].bytes,
		                         cases[i].len, &cp),
		             cases[i].len, "case %zu", i);
		cr_assert_eq(cp, cases[i].cp, "case %zu", i);
	}
}

Test(utf8, refuses_what_is_not, .timeout = 10)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "\x80", 1 },             /* a stray continuation */
		{ "\xc0\xaf", 2 },         /* overlong '/' */
		{ "\xc1\xbf", 2 },         /* overlong */
		{ "\xe0\x80\xaf", 3 },     /* overlong '/' in three */
		{ "\xed\xa0\x80", 3 },     /* the surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 4 }, /* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 4 },
		{ "\xff", 1 },
		{ "\xc3", 1 },     /* cut short */
		{ "\xe2\x82", 2 }, /* cut short */
		{ "\xc3\x28", 2 }, /* lead, then not a continuation */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 7;
		size_t at = 99;
		cr_assert_eq(utf8_decode((const uint8_t *) cases[i].bytes,
		                         cases[i].len, &cp),
		             0, "case %zu", i);
		cr_assert_eq(cp, 7, "case %zu: out touched", i);
		cr_assert_not(utf8_valid(cases[i].bytes, cases[i].len, &at));
		cr_assert_eq(at, 0, "case %zu", i);
	}
	cr_assert_eq(utf8_decode((const uint8_t *) "", 0, NULL), 0);
}

Test(utf8, valid_says_where_it_breaks, .timeout = 10)
{
	size_t at = 0;

	cr_assert(utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9, &at));
	cr_assert(utf8_valid("", 0, NULL));
	cr_assert(utf8_valid("a\0b", 3, NULL)); /* NUL is UTF-8 */
	cr_assert_not(utf8_valid("ok\xc3\xa9\xc3", 5, &at));
	cr_assert_eq(at, 4);
}

Test(utf8, cut_never_ends_inside_a_character, .timeout = 10)
{
	const char *s = "ab\xe2\x82\xac"; /* "ab€", 5 bytes */

	cr_assert_eq(utf8_cut(s, 5), 5);
	cr_assert_eq(utf8_cut(s, 4), 2);
	cr_assert_eq(utf8_cut(s, 3), 2);
	cr_assert_eq(utf8_cut(s, 2), 2);
	cr_assert_eq(utf8_cut("\xf0\x9f\x93\x88", 3), 0);
	cr_assert_eq(utf8_cut("\xf0\x9f\x93\x88", 4), 4);
	cr_assert_eq(utf8_cut("x\xc3", 2), 1);
	cr_assert_eq(utf8_cut("", 0), 0);
	/* Bytes that are no sequence at all are left for escaping. */
	cr_assert_eq(utf8_cut("x\x80\x80\x80\x80", 5), 5);
	cr_assert_eq(utf8_cut("x\xff", 2), 2);
}

static void
assert_quoted(const char *in, size_t in_len, unsigned flags, const char *want)
{
	char out[256];

	cr_assert(quote_buf(out, sizeof(out), in, in_len, flags));
	cr_assert_str_eq(out, want);
	cr_assert_eq(quote_size(in, in_len, flags), strlen(want) + 1);
	cr_assert(utf8_valid(out, strlen(out), NULL));
}

Test(quote, safe_text_is_kept_as_it_is, .timeout = 10)
{
	assert_quoted("ACC_003", 7, QUOTE_UTF8, "ACC_003");
	assert_quoted("akun-\xc3\xa9\xe2\x82\xac", 10, QUOTE_UTF8,
	              "akun-\xc3\xa9\xe2\x82\xac");
	assert_quoted("back\\slash \"q\"", 14, QUOTE_UTF8, "back\\slash \"q\"");
	assert_quoted("", 0, QUOTE_UTF8, "");
}

Test(quote, controls_and_invalid_bytes_are_escaped, .timeout = 10)
{
	/* The screen-clearing, fake-row account name of issue 11. */
	assert_quoted("\x1b[2J\rok\nFAKE", 12, QUOTE_UTF8,
	              "\\x1b[2J\\rok\\nFAKE");
	assert_quoted("a\tb\x7f", 4, QUOTE_UTF8, "a\\tb\\x7f");
	assert_quoted("R1\0evil", 7, QUOTE_UTF8, "R1\\x00evil");
	assert_quoted("\xc2\x85", 2, QUOTE_UTF8, "\\u0085");
	assert_quoted("ACC_\xe2\x80\xae", 7, QUOTE_UTF8, "ACC_\\u202e");
	assert_quoted("\xef\xbb\xbf", 3, QUOTE_UTF8, "\\ufeff");
	/* Invalid bytes one by one, and valid text around them kept. */
	assert_quoted("\xc3\x28\xff\xe2\x82", 5, QUOTE_UTF8,
	              "\\xc3(\\xff\\xe2\\x82");
	assert_quoted("\xed\xa0\x80", 3, QUOTE_UTF8, "\\xed\\xa0\\x80");
}

Test(quote, ascii_mode_escapes_everything_above_tilde, .timeout = 10)
{
	char out[64];

	assert_quoted("caf\xc3\xa9", 5, QUOTE_ASCII, "caf\\u00e9");
	assert_quoted("\xf0\x9f\x93\x88", 4, QUOTE_ASCII, "\\U0001f4c8");
	assert_quoted("\xff ok", 4, QUOTE_ASCII, "\\xff ok");
	quote_buf(out, sizeof(out), "\xe2\x82\xac\x1b", 4, QUOTE_ASCII);
	for (size_t i = 0; out[i] != '\0'; i++) {
		cr_assert((unsigned char) out[i] >= 0x20 &&
		          (unsigned char) out[i] < 0x7f);
	}
}

/* Cut to fit, a multi-byte character or an escape is never split: the
 * bug of `'%.64s'` that made Google protobuf refuse whole replies. */
Test(quote, cutting_keeps_characters_and_escapes_whole, .timeout = 10)
{
	char text[200];
	char out[32];

	for (size_t i = 0; i + 2 <= 64; i += 2) {
		memcpy(text + i, "\xc3\xa9", 2);
	}
	for (size_t size = 1; size <= sizeof(out); size++) {
		bool all = quote_buf(out, size, text, 64, QUOTE_UTF8);
		size_t n = strlen(out);

		cr_assert_not(all);
		cr_assert(n < size, "size %zu", size);
		cr_assert(utf8_valid(out, n, NULL), "size %zu: %s", size, out);
		if (size >= 4) {
			cr_assert_str_eq(out + n - 3, QUOTE_CUT, "size %zu",
			                 size);
		}
	}
	memset(text, '\x1b', 64);
	for (size_t size = 4; size <= sizeof(out); size++) {
		size_t n;

		quote_buf(out, size, text, 64, QUOTE_UTF8);
		n = strlen(out);
		/* whole "\x1b" units, then "..." */
		cr_assert_eq((n - 3) % 4, 0, "size %zu: %s", size, out);
		cr_assert_str_eq(out + n - 3, QUOTE_CUT);
	}
	/* What fits exactly is not cut. */
	cr_assert(quote_buf(out, 8, "1234567", 7, QUOTE_UTF8));
	cr_assert_str_eq(out, "1234567");
	cr_assert_not(quote_buf(out, 8, "12345678", 8, QUOTE_UTF8));
	cr_assert_str_eq(out, "1234...");
	cr_assert_not(quote_buf(out, 0, "x", 1, QUOTE_UTF8));
}

Test(quote, quote_str_is_a_printf_argument, .timeout = 10)
{
	char q[QUOTE_NAME_SIZE];
	char line[256];

	snprintf(line, sizeof(line), "robot '%s' is not registered",
	         quote_str(q, sizeof(q), "R\xff"));
	cr_assert_str_eq(line, "robot 'R\\xff' is not registered");
	cr_assert_str_eq(quote_str(q, sizeof(q), NULL), "");
}

Test(quote, names_hold_nothing_quoting_would_change, .timeout = 10)
{
	size_t at = 0;
	uint32_t cp = 0;

	cr_assert_not(quote_find_unsafe("ACC_\xc3\xa9 <b>", 10, &at, &cp));
	cr_assert(quote_find_unsafe("ok\x1b[2J", 6, &at, &cp));
	cr_assert_eq(at, 2);
	cr_assert_eq(cp, 0x1b);
	cr_assert(quote_find_unsafe("ok\xe2\x80\xae", 5, &at, &cp));
	cr_assert_eq(at, 2);
	cr_assert_eq(cp, 0x202e);
	cr_assert(quote_find_unsafe("ok\xc3", 3, &at, &cp));
	cr_assert_eq(at, 2);
	cr_assert_eq(cp, UINT32_MAX);
	/* The unsafe set, at its edges. */
	cr_assert(quote_unsafe(0x1f) && !quote_unsafe(0x20));
	cr_assert(!quote_unsafe(0x7e) && quote_unsafe(0x7f));
	cr_assert(quote_unsafe(0x9f) && !quote_unsafe(0xa0));
	cr_assert(quote_unsafe(0x2028) && quote_unsafe(0x2029));
	cr_assert(quote_unsafe(0x2066) && quote_unsafe(0x2069));
	cr_assert(!quote_unsafe(0x2065) && !quote_unsafe(0x206a));
	cr_assert(!quote_unsafe(0x20ac) && !quote_unsafe(0x1f4c8));
}
