/* Untrusted text made safe to show. */
#include "common/quote.h"

#include <assert.h>
#include <string.h>

#include "common/utf8.h"

static const char hex[] = "0123456789abcdef";

bool
quote_unsafe(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
		return true; /* C0, DEL, C1 */
	}
	if (cp < 0x61c) {
		return false; /* the usual case: Latin, Greek, Cyrillic, ... */
	}
	return cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2064) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

/* Writes "\" kind and digits hex digits of v to out; returns the length. */
static size_t
put_hex(char *out, char kind, uint32_t v, int digits)
{
	size_t n = 0;

	out[n++] = '\\';
	out[n++] = kind;
	for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
		out[n++] = hex[(v >> shift) & 0xfu];
	}
	return n;
}

size_t
quote_unit(const uint8_t *s, size_t n, unsigned flags, char out[QUOTE_UNIT_MAX],
           size_t *out_len)
{
	uint32_t cp;
	size_t len;

	assert(n > 0);
	if (s[0] >= 0x20 && s[0] < 0x7f) {
		out[0] = (char) s[0]; /* printable ASCII, the usual case */
		*out_len = 1;
		return 1;
	}
	if ((len = utf8_decode(s, n, &cp)) == 0) {
		*out_len = put_hex(out, 'x', s[0], 2);
		return 1;
	}
	if (flags & QUOTE_VALID_ONLY) {
		memcpy(out, s, len);
		*out_len = len;
		return len;
	}
	if (cp < 0x80 && quote_unsafe(cp)) {
		switch (cp) {
		case '\t':
			memcpy(out, "\\t", 2);
			break;
		case '\n':
			memcpy(out, "\\n", 2);
			break;
		case '\r':
			memcpy(out, "\\r", 2);
			break;
		default:
			*out_len = put_hex(out, 'x', cp, 2);
			return len;
		}
		*out_len = 2;
	} else if (cp >= 0x80 && ((flags & QUOTE_ASCII) || quote_unsafe(cp))) {
		*out_len = cp <= 0xffff ? put_hex(out, 'u', cp, 4)
		                        : put_hex(out, 'U', cp, 8);
	} else {
		memcpy(out, s, len);
		*out_len = len;
	}
	return len;
}

bool
quote_buf(char *dst, size_t dst_size, const void *src, size_t src_len,
          unsigned flags)
{
	const uint8_t *s = src;
	const size_t cut = sizeof(QUOTE_CUT) - 1;
	size_t cap, len = 0, mark = 0, i = 0;

	if (dst_size == 0) {
		return src_len == 0;
	}
	cap = dst_size - 1; /* room for the NUL */
	while (i < src_len) {
		char unit[QUOTE_UNIT_MAX];
		size_t unit_len;
		size_t took =
		    quote_unit(s + i, src_len - i, flags, unit, &unit_len);

		if (unit_len > cap - len) {
			/* Back to the last place the cut mark fits after. */
			len = mark;
			if (cut <= cap - len) {
				memcpy(dst + len, QUOTE_CUT, cut);
				len += cut;
			}
			dst[len] = '\0';
			return false;
		}
		memcpy(dst + len, unit, unit_len);
		len += unit_len;
		i += took;
		if (len + cut <= cap) {
			mark = len;
		}
	}
	dst[len] = '\0';
	return true;
}

const char *
quote_str(char *dst, size_t dst_size, const char *src)
{
	if (src == NULL) {
		src = "";
	}
	quote_buf(dst, dst_size, src, strlen(src), QUOTE_UTF8);
	return dst;
}

size_t
quote_size(const void *src, size_t src_len, unsigned flags)
{
	const uint8_t *s = src;
	size_t size = 1, i = 0;

	while (i < src_len) {
		char unit[QUOTE_UNIT_MAX];
		size_t unit_len;

		i += quote_unit(s + i, src_len - i, flags, unit, &unit_len);
		size += unit_len;
	}
	return size;
}

bool
quote_find_unsafe(const void *s, size_t n, size_t *at, uint32_t *cp)
{
	const uint8_t *p = s;
	size_t i = 0;

	while (i < n) {
		uint32_t c = 0;
		size_t len;

		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++; /* printable ASCII, the usual case, without a call
			      */
			continue;
		}
		len = utf8_decode(p + i, n - i, &c);

		if (len == 0 || quote_unsafe(c)) {
			if (at != NULL) {
				*at = i;
			}
			if (cp != NULL) {
				*cp = len == 0 ? UINT32_MAX : c;
			}
			return true;
		}
		i += len;
	}
	return false;
}
