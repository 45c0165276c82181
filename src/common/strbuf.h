/*
 * A growing NUL-terminated text buffer for building messages (Telegram
 * text, mail, JSON bodies). Appends never fail silently: the first failed
 * allocation marks the buffer and every later append is a no-op, so a
 * caller checks once at the end (strbuf_ok).
 */
#ifndef HBMON_COMMON_STRBUF_H
#define HBMON_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *text; /* NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; the text is incomplete */
};

#define STRBUF_INIT                                                            \
	{                                                                      \
		NULL, 0, 0, false                                              \
	}

/* Appends n bytes of s (which need not be NUL-terminated). */
void strbuf_add(struct strbuf *b, const char *s, size_t n);

/* Appends a NUL-terminated string; NULL appends nothing. */
void strbuf_adds(struct strbuf *b, const char *s);

/* Appends one byte. */
void strbuf_addc(struct strbuf *b, char c);

/* Appends printf-style text. */
void strbuf_addf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Cuts the text back to len bytes (len <= b->len). */
void strbuf_truncate(struct strbuf *b, size_t len);

/* The text, never NULL ("" for an empty buffer). */
const char *strbuf_str(const struct strbuf *b);

/* Whether every append so far succeeded. */
bool strbuf_ok(const struct strbuf *b);

/*
 * Takes the text out of b: the caller owns it (free()), and b is empty
 * again. Returns NULL when an append had failed (the text is then freed).
 */
char *strbuf_take(struct strbuf *b);

/* Frees the text; b is empty and usable again. */
void strbuf_free(struct strbuf *b);

#endif
