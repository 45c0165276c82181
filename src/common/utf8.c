/* Strict UTF-8 decoding. */
#include "common/utf8.h"

size_t
utf8_decode(const uint8_t *s, size_t n, uint32_t *out_cp)
{
	uint32_t cp;
	size_t need;

	if (n == 0) {
		return 0;
	}
	if (s[0] < 0x80) {
		*out_cp = s[0];
		return 1;
	}
	/* 0x80..0xc1 are continuation bytes or overlong two-byte leads;
	 * 0xf5..0xff would encode beyond U+10FFFF. */
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < need + 1) {
		return 0;
	}
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	*out_cp = cp;
	return need + 1;
}

bool
utf8_valid(const void *s, size_t n, size_t *bad_at)
{
	const uint8_t *p = s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len;

		if (p[i] < 0x80) {
			i++; /* ASCII, the usual case, without a call */
			continue;
		}
		if ((len = utf8_decode(p + i, n - i, &cp)) == 0) {
			if (bad_at != NULL) {
				*bad_at = i;
			}
			return false;
		}
		i += len;
	}
	return true;
}

size_t
utf8_cut(const void *s, size_t n)
{
	const uint8_t *p = s;
	size_t back = 0;

	/* Up to three continuation bytes, then the lead they belong to. */
	while (back < n && back < UTF8_MAX - 1 &&
	       (p[n - 1 - back] & 0xc0) == 0x80) {
		back++;
	}
	if (back < n && p[n - 1 - back] >= 0xc2 && p[n - 1 - back] <= 0xf4) {
		uint8_t lead = p[n - 1 - back];
		size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
		if (back + 1 < want) {
			return n - 1 - back;
		}
	}
	return n;
}
