/* Growing text buffer. */
#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes plus the NUL. */
static bool
reserve(struct strbuf *b, size_t n)
{
	size_t want;
	char *p;

	if (b->failed) {
		return false;
	}
	if (n > (size_t) -1 / 2 - b->len) {
		b->failed = true;
		return false;
	}
	want = b->len + n + 1;
	if (want <= b->cap) {
		return true;
	}
	if (want < 64) {
		want = 64;
	}
	if (want < b->cap * 2) {
		want = b->cap * 2;
	}
	if ((p = realloc(b->text, want)) == NULL) {
		b->failed = true;
		return false;
	}
	b->text = p;
	b->cap = want;
	return true;
}

void
strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n)) {
		return;
	}
	if (n > 0) {
		memcpy(b->text + b->len, s, n);
	}
	b->len += n;
	b->text[b->len] = '\0';
}

void
strbuf_adds(struct strbuf *b, const char *s)
{
	if (s != NULL) {
		strbuf_add(b, s, strlen(s));
	}
}

void
strbuf_addc(struct strbuf *b, char c)
{
	strbuf_add(b, &c, 1);
}

void
strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (!reserve(b, (size_t) n)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->text + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

void
strbuf_truncate(struct strbuf *b, size_t len)
{
	if (b->text != NULL && len <= b->len) {
		b->len = len;
		b->text[len] = '\0';
	}
}

const char *
strbuf_str(const struct strbuf *b)
{
	return b->text != NULL ? b->text : "";
}

bool
strbuf_ok(const struct strbuf *b)
{
	return !b->failed;
}

char *
strbuf_take(struct strbuf *b)
{
	char *t = b->text;

	if (b->failed) {
		free(t);
		t = NULL;
	} else if (t == NULL) {
		t = calloc(1, 1);
	}
	b->text = NULL;
	b->len = b->cap = 0;
	b->failed = false;
	return t;
}

void
strbuf_free(struct strbuf *b)
{
	free(b->text);
	b->text = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}
