/* Cutting and flattening Telegram HTML. */
#include "notify/html.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OPEN_MAX 16 /* nesting kept track of; Telegram's tags nest little */
#define TAG_MAX  16
#define ELLIPSIS "\xe2\x80\xa6"

struct open_tags {
	char name[OPEN_MAX][TAG_MAX];
	size_t n;
};

/* Bytes the closing tags of open take: "</b>" per tag. */
static size_t
closing_len(const struct open_tags *open)
{
	size_t n = 0;

	for (size_t i = 0; i < open->n; i++) {
		n += strlen(open->name[i]) + 3;
	}
	return n;
}

/* Reads the name of the tag at html[0] == '<' up to end. */
static void
tag_name(const char *tag, const char *end, bool *closing, char *name,
         size_t name_len)
{
	size_t n = 0;

	tag++;
	*closing = tag < end && *tag == '/';
	if (*closing) {
		tag++;
	}
	while (tag < end && n + 1 < name_len &&
	       ((*tag >= 'a' && *tag <= 'z') || (*tag >= 'A' && *tag <= 'Z') ||
	        (*tag >= '0' && *tag <= '9') || *tag == '-')) {
		name[n++] = *tag++;
	}
	name[n] = '\0';
}

/* Length of the unit (tag, entity or UTF-8 character) at p. */
static size_t
unit_len(const char *p, const char *end)
{
	const char *q;
	unsigned char c = (unsigned char) *p;

	if (*p == '<' && (q = memchr(p, '>', (size_t) (end - p))) != NULL) {
		return (size_t) (q - p) + 1;
	}
	if (*p == '&') {
		for (q = p + 1; q < end && q - p < 12; q++) {
			if (*q == ';') {
				return (size_t) (q - p) + 1;
			}
		}
	}
	if (c >= 0xf0) {
		q = p + 4;
	} else if (c >= 0xe0) {
		q = p + 3;
	} else if (c >= 0xc0) {
		q = p + 2;
	} else {
		q = p + 1;
	}
	return q <= end ? (size_t) (q - p) : (size_t) (end - p);
}

void
html_truncate(const char *html, size_t len, size_t limit, struct strbuf *out)
{
	struct open_tags open = { .n = 0 }, safe_open = { .n = 0 };
	const char *p = html, *end = html + len;
	size_t safe = 0;
	size_t reserve = strlen(ELLIPSIS);

	if (len <= limit) {
		strbuf_add(out, html, len);
		return;
	}
	while (p < end) {
		size_t u = unit_len(p, end);

		if (*p == '<' && p[u - 1] == '>') {
			char name[TAG_MAX];
			bool closing;

			tag_name(p, p + u, &closing, name, sizeof(name));
			if (closing && open.n > 0) {
				open.n--;
			} else if (!closing && p[u - 2] != '/' &&
			           open.n < OPEN_MAX) {
				memcpy(open.name[open.n++], name, sizeof(name));
			}
		}
		p += u;
		if ((size_t) (p - html) + reserve + closing_len(&open) >
		    limit) {
			break;
		}
		safe = (size_t) (p - html);
		safe_open = open;
	}
	strbuf_add(out, html, safe);
	strbuf_adds(out, ELLIPSIS);
	while (safe_open.n > 0) {
		strbuf_addf(out, "</%s>", safe_open.name[--safe_open.n]);
	}
}

/* Appends code point cp as UTF-8. */
static void
add_utf8(struct strbuf *out, uint32_t cp)
{
	char b[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		strbuf_adds(out, "\xef\xbf\xbd");
	} else if (cp < 0x80) {
		strbuf_addc(out, (char) cp);
	} else if (cp < 0x800) {
		b[0] = (char) (0xc0 | (cp >> 6));
		b[1] = (char) (0x80 | (cp & 0x3f));
		strbuf_add(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char) (0xe0 | (cp >> 12));
		b[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char) (0x80 | (cp & 0x3f));
		strbuf_add(out, b, 3);
	} else {
		b[0] = (char) (0xf0 | (cp >> 18));
		b[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char) (0x80 | (cp & 0x3f));
		strbuf_add(out, b, 4);
	}
}

void
html_to_text(const char *html, struct strbuf *out)
{
	const char *p = html, *end = html + strlen(html);

	while (p < end) {
		size_t u = unit_len(p, end);

		if (*p == '<' && p[u - 1] == '>') {
			/* dropped */
		} else if (*p == '&' && u > 2 && p[u - 1] == ';') {
			if (strncmp(p, "&lt;", u) == 0) {
				strbuf_addc(out, '<');
			} else if (strncmp(p, "&gt;", u) == 0) {
				strbuf_addc(out, '>');
			} else if (strncmp(p, "&amp;", u) == 0) {
				strbuf_addc(out, '&');
			} else if (strncmp(p, "&quot;", u) == 0) {
				strbuf_addc(out, '"');
			} else if (p[1] == '#') {
				bool hex = p[2] == 'x' || p[2] == 'X';
				add_utf8(out, (uint32_t) strtoul(
				                  p + (hex ? 3 : 2), NULL,
				                  hex ? 16 : 10));
			} else {
				strbuf_add(out, p, u);
			}
		} else {
			strbuf_add(out, p, u);
		}
		p += u;
	}
}
