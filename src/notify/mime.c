/* MIME encodings for mail headers and bodies. */
#include "notify/mime.h"

#include <stdint.h>
#include <string.h>

#include <mbedtls/base64.h>

#define WORD_BYTES 45 /* raw bytes per encoded word: 60 base64 chars */
#define QP_LINE    76

static bool
plain_ascii(const char *text)
{
	for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			return false;
		}
	}
	return strlen(text) <= 900;
}

void
mime_header_value(const char *text, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *) text;
	size_t len = strlen(text);
	bool first = true;

	if (plain_ascii(text)) {
		strbuf_adds(out, text);
		return;
	}
	while (len > 0) {
		unsigned char raw[WORD_BYTES];
		unsigned char b64[WORD_BYTES * 2];
		size_t n = len < WORD_BYTES ? len : WORD_BYTES, olen = 0;

		/* Never split a UTF-8 character between two words. */
		while (n < len && n > 0 && (p[n] & 0xc0) == 0x80) {
			n--;
		}
		if (n == 0) {
			n = len < WORD_BYTES ? len : WORD_BYTES;
		}
		memcpy(raw, p, n);
		/* Controls become spaces: a header is one line. */
		for (size_t i = 0; i < n; i++) {
			if (raw[i] < 0x20 || raw[i] == 0x7f) {
				raw[i] = ' ';
			}
		}
		mbedtls_base64_encode(b64, sizeof(b64), &olen, raw, n);
		strbuf_addf(out, "%s=?UTF-8?B?%.*s?=", first ? "" : "\r\n ",
		            (int) olen, (const char *) b64);
		first = false;
		p += n;
		len -= n;
	}
}

void
mime_quoted_printable(const char *text, struct strbuf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *) text;
	size_t col = 0;

	for (; *p != '\0'; p++) {
		unsigned char c = *p;
		bool at_eol = p[1] == '\n' || p[1] == '\0';
		bool literal = (c >= 33 && c <= 126 && c != '=') ||
		               ((c == ' ' || c == '\t') && !at_eol);
		size_t width;

		if (c == '\n') {
			strbuf_adds(out, "\r\n");
			col = 0;
			continue;
		}
		/* A line starting with '.' could end the SMTP DATA. */
		if (c == '.' && col == 0) {
			literal = false;
		}
		width = literal ? 1 : 3;
		if (col + width > QP_LINE - 1) {
			strbuf_adds(out, "=\r\n");
			col = 0;
			if (c == '.') {
				literal = false;
				width = 3;
			}
		}
		if (literal) {
			strbuf_addc(out, (char) c);
		} else {
			char enc[3] = { '=', hex[c >> 4], hex[c & 15] };
			strbuf_add(out, enc, 3);
		}
		col += width;
	}
}

bool
mime_address_ok(const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t len = strlen(addr);

	if (at == NULL || at == addr || at[1] == '\0' || len > 254 ||
	    strchr(at + 1, '@') != NULL) {
		return false;
	}
	for (const unsigned char *p = (const unsigned char *) addr; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p)) {
			return false;
		}
	}
	return true;
}
