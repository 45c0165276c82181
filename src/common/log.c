/*
 * log: logfmt lines to stderr. Each line is built in a buffer on the stack
 * and written with one write(2), so lines from threads never interleave.
 */
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "common/quote.h"
#include "hbmon/error.h"

/*
 * A write of at most PIPE_BUF bytes to a pipe is atomic (POSIX), so a line
 * of this length stays whole even when stderr is a pipe shared with other
 * processes, as under systemd or a supervisor.
 */
#define LOG_LINE_MAX PIPE_BUF

/* Ends a line that did not fit, so a reader sees it was cut. */
#define TRUNCATED_TAIL " truncated=true"

/* Room kept free for the end of a cut line: a closing quote, the tail and
 * the newline. */
#define LINE_RESERVE (1 + sizeof(TRUNCATED_TAIL) - 1 + 1)

const char *const log_level_words[] = { "debug", "info", "warn", "error",
	                                NULL };

static _Atomic int log_min_level = LOG_INFO;

void
log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_min_level, (int) level,
	                      memory_order_relaxed);
}

int
log_level_parse(const char *word, enum log_level *out)
{
	for (int i = 0; word != NULL && log_level_words[i] != NULL; i++) {
		if (strcmp(word, log_level_words[i]) == 0) {
			*out = (enum log_level) i;
			return HBMON_OK;
		}
	}
	return HBMON_EINVAL;
}

struct line {
	char text[LOG_LINE_MAX];
	size_t len;
	size_t limit;  /* text[0..limit) is for content; the rest is reserve */
	bool full;     /* something did not fit; nothing more is added */
	bool in_quote; /* inside a quoted value we opened */
};

/* Appends n bytes, or as many as fit; then the line is full. */
static void
put_bytes(struct line *line, const char *s, size_t n)
{
	size_t room = line->limit - line->len;

	if (line->full) {
		return;
	}
	if (n > room) {
		n = room;
		line->full = true;
	}
	memcpy(line->text + line->len, s, n);
	line->len += n;
}

/* Appends s whole or not at all, so an escape such as \x1f is never cut. */
static void
put_whole(struct line *line, const char *s, size_t n)
{
	if (line->full || n > line->limit - line->len) {
		line->full = true;
		return;
	}
	memcpy(line->text + line->len, s, n);
	line->len += n;
}

static void
put_str(struct line *line, const char *s)
{
	put_bytes(line, s, strlen(s));
}

static bool
needs_quotes(const char *s, size_t n)
{
	if (n == 0) {
		return true; /* key="" says the value is empty on purpose */
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];
		if (c <= ' ' || c == '=' || c == '"' || c == '\\' ||
		    c >= 0x7f) {
			return true;
		}
	}
	return false;
}

/*
 * A value's bytes, escaped: logfmt's \" and \\, and everything else as
 * quote.h writes it in QUOTE_ASCII mode (\n, \x1b, \u00e9, \xff for a
 * byte that is not UTF-8). So no byte from a peer, control or >= 0x80,
 * reaches the log raw, and an escape is never cut.
 */
static void
put_escaped(struct line *line, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *) s;
	size_t i = 0;

	while (i < n && !line->full) {
		char unit[QUOTE_UNIT_MAX];
		size_t unit_len;

		if (p[i] == '"' || p[i] == '\\') {
			unit[0] = '\\';
			unit[1] = (char) p[i];
			put_whole(line, unit, 2);
			i++;
			continue;
		}
		i += quote_unit(p + i, n - i, QUOTE_ASCII, unit, &unit_len);
		put_whole(line, unit, unit_len);
	}
}

static void
put_spaces(struct line *line, size_t n)
{
	for (size_t i = 0; i < n && !line->full; i++) {
		put_bytes(line, " ", 1);
	}
}

/* One logfmt value: s[0..n) padded to width like printf's %*s, quoted and
 * escaped when it needs to be. */
static void
put_value(struct line *line, const char *s, size_t n, size_t width,
          bool left_align)
{
	size_t pad = width > n ? width - n : 0;

	if (pad == 0 && !needs_quotes(s, n)) {
		put_bytes(line, s, n);
		return;
	}
	put_whole(line, "\"", 1);
	if (line->full) {
		return;
	}
	line->in_quote = true;
	if (!left_align) {
		put_spaces(line, pad);
	}
	put_escaped(line, s, n);
	if (left_align) {
		put_spaces(line, pad);
	}
	put_whole(line, "\"", 1);
	if (!line->full) {
		line->in_quote = false;
	}
}

/* Template text between conversions is the caller's constant; a control
 * character in it still must not end the line early. */
static void
put_literal(struct line *line, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !line->full; i++) {
		unsigned char c = (unsigned char) s[i];
		put_bytes(line, (c < ' ' || c == 0x7f) ? " " : &s[i], 1);
	}
}

/* A conversion spec taken apart: "%-*.*lld" has flags "-", width from
 * the arguments, precision from the arguments, length "ll", conv 'd'. */
struct conv {
	char flags[8];
	int width;     /* -1: none */
	int precision; /* -1: none */
	char length[3];
	char conv;
};

/* Parses the spec after '%' at *pp, taking '*' widths from ap. Returns
 * false for a spec this module does not know. */
static bool
parse_conv(const char **pp, va_list *ap, struct conv *c)
{
	const char *p = *pp;
	size_t nf = 0;
	long v;

	memset(c, 0, sizeof(*c));
	c->width = -1;
	c->precision = -1;
	while (*p != '\0' && strchr("-+ #0'I", *p) != NULL) {
		if (nf + 1 < sizeof(c->flags)) {
			c->flags[nf++] = *p;
		}
		p++;
	}
	if (*p == '*') {
		c->width = va_arg(*ap, int);
		if (c->width < 0) {
			/* printf: a negative '*' width is '-' plus width */
			if (nf + 1 < sizeof(c->flags)) {
				c->flags[nf++] = '-';
			}
			c->width = c->width == INT_MIN ? INT_MAX : -c->width;
		}
		p++;
	} else if (*p >= '0' && *p <= '9') {
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			v = v < INT_MAX ? v * 10 + (*p - '0') : v;
		}
		c->width = v > INT_MAX ? INT_MAX : (int) v;
	}
	if (*p == '.') {
		p++;
		if (*p == '*') {
			/* A negative '*' precision counts as none. */
			c->precision = va_arg(*ap, int);
			if (c->precision < 0) {
				c->precision = -1;
			}
			p++;
		} else {
			for (v = 0; *p >= '0' && *p <= '9'; p++) {
				v = v < INT_MAX ? v * 10 + (*p - '0') : v;
			}
			c->precision = v > INT_MAX ? INT_MAX : (int) v;
		}
	}
	if ((p[0] == 'h' && p[1] == 'h') || (p[0] == 'l' && p[1] == 'l')) {
		memcpy(c->length, p, 2);
		p += 2;
	} else if (*p != '\0' && strchr("hlLqjzZt", *p) != NULL) {
		c->length[0] = *p++;
	}
	c->conv = *p;
	if (*p == '\0' || strchr("diouxXfFeEgGaAcsCSpnm", *p) == NULL) {
		return false;
	}
	*pp = p + 1;
	return true;
}

/* Rebuilds the spec for snprintf with '*' values written out; width and
 * precision can be left out for conversions this module pads itself. */
static void
conv_spec(const struct conv *c, bool with_width, char *buf, size_t buf_len)
{
	char width[16] = "", precision[16] = "";

	if (with_width && c->width >= 0) {
		snprintf(width, sizeof(width), "%d", c->width);
	}
	if (c->precision >= 0) {
		snprintf(precision, sizeof(precision), ".%d", c->precision);
	}
	snprintf(buf, buf_len, "%%%s%s%s%s%c", c->flags, width, precision,
	         c->length, c->conv);
}

/* Formats a number or pointer straight into the line, as printf does. */
#define PUT_FORMATTED(line, spec, value)                                       \
	do {                                                                   \
		size_t room_ = (line)->limit - (line)->len;                    \
		int n_ = snprintf((line)->text + (line)->len, room_ + 1,       \
		                  (spec), (value));                            \
		if (n_ < 0) {                                                  \
			break;                                                 \
		}                                                              \
		if ((size_t) n_ > room_) {                                     \
			(line)->len = (line)->limit;                           \
			(line)->full = true;                                   \
		} else {                                                       \
			(line)->len += (size_t) n_;                            \
		}                                                              \
	} while (0)

static bool
is_length(const struct conv *c, const char *length)
{
	return strcmp(c->length, length) == 0;
}

static void
put_signed(struct line *line, const struct conv *c, const char *spec,
           va_list *ap)
{
	if (is_length(c, "l")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, long));
	} else if (is_length(c, "ll") || is_length(c, "q") ||
	           is_length(c, "L")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, long long));
	} else if (is_length(c, "j")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, intmax_t));
	} else if (is_length(c, "z") || is_length(c, "Z")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, ssize_t));
	} else if (is_length(c, "t")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, ptrdiff_t));
	} else {
		/* "", "h", "hh": char and short arrive promoted to int. */
		PUT_FORMATTED(line, spec, va_arg(*ap, int));
	}
}

static void
put_unsigned(struct line *line, const struct conv *c, const char *spec,
             va_list *ap)
{
	if (is_length(c, "l")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, unsigned long));
	} else if (is_length(c, "ll") || is_length(c, "q") ||
	           is_length(c, "L")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, unsigned long long));
	} else if (is_length(c, "j")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, uintmax_t));
	} else if (is_length(c, "z") || is_length(c, "Z")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, size_t));
	} else if (is_length(c, "t")) {
		PUT_FORMATTED(line, spec, va_arg(*ap, ptrdiff_t));
	} else {
		PUT_FORMATTED(line, spec, va_arg(*ap, unsigned int));
	}
}

/* %s, %c, %m and their wide forms: text, so quoted and escaped. */
static void
put_text_conv(struct line *line, const struct conv *c, int saved_errno,
              va_list *ap)
{
	char tmp[LOG_LINE_MAX];
	char spec[48];
	const char *s = tmp;
	size_t n;
	int w;
	bool wide = c->conv == 'C' || c->conv == 'S' || is_length(c, "l");

	tmp[0] = '\0';
	switch (c->conv) {
	case 'm':
		/* errno as the caller left it, not as clock_gettime did. */
		s = strerror_r(saved_errno, tmp, sizeof(tmp));
		n = strlen(s);
		break;
	case 'c':
	case 'C':
		if (!wide) {
			tmp[0] = (char) va_arg(*ap, int);
			n = 1;
			break;
		}
		conv_spec(c, false, spec, sizeof(spec));
		w = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, wint_t));
		n = w < 0 ? 0 : strlen(tmp);
		break;
	default: /* 's', 'S' */
		if (!wide) {
			s = va_arg(*ap, const char *);
			if (s == NULL) {
				s = ""; /* glibc would print "(null)" */
			}
			n = c->precision >= 0
			        ? strnlen(s, (size_t) c->precision)
			        : strlen(s);
			break;
		}
		conv_spec(c, false, spec, sizeof(spec));
		w = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, wchar_t *));
		n = w < 0 ? 0 : strlen(tmp);
		break;
	}
	if (c->conv == 'm' && c->precision >= 0 && (size_t) c->precision < n) {
		n = (size_t) c->precision;
	}
	put_value(line, s, n, c->width > 0 ? (size_t) c->width : 0,
	          strchr(c->flags, '-') != NULL);
}

/* Formats one conversion; false when the spec is unknown, after which the
 * remaining arguments cannot be found and the template is not read on. */
static bool
put_conv(struct line *line, const char **pp, int saved_errno, va_list *ap)
{
	const char *start = *pp - 1; /* the '%' */
	struct conv c;
	char spec[48];

	if (!parse_conv(pp, ap, &c)) {
		put_literal(line, start, strlen(start));
		return false;
	}
	switch (c.conv) {
	case 'd':
	case 'i':
		conv_spec(&c, true, spec, sizeof(spec));
		put_signed(line, &c, spec, ap);
		break;
	case 'o':
	case 'u':
	case 'x':
	case 'X':
		conv_spec(&c, true, spec, sizeof(spec));
		put_unsigned(line, &c, spec, ap);
		break;
	case 'f':
	case 'F':
	case 'e':
	case 'E':
	case 'g':
	case 'G':
	case 'a':
	case 'A':
		conv_spec(&c, true, spec, sizeof(spec));
		if (is_length(&c, "L")) {
			PUT_FORMATTED(line, spec, va_arg(*ap, long double));
		} else {
			PUT_FORMATTED(line, spec, va_arg(*ap, double));
		}
		break;
	case 'p':
		conv_spec(&c, true, spec, sizeof(spec));
		PUT_FORMATTED(line, spec, va_arg(*ap, void *));
		break;
	case 'n':
		/* The count would be of the caller's template, not of
		 * anything the caller can see; take the pointer and move on. */
		(void) va_arg(*ap, void *);
		break;
	default:
		put_text_conv(line, &c, saved_errno, ap);
		break;
	}
	return true;
}

static void
put_fields(struct line *line, const char *fields, int saved_errno, va_list *ap)
{
	const char *p = fields;

	while (*p != '\0' && !line->full) {
		const char *pct = strchr(p, '%');
		size_t run = pct ? (size_t) (pct - p) : strlen(p);

		put_literal(line, p, run);
		p += run;
		if (*p == '\0') {
			break;
		}
		p++; /* the '%' */
		if (*p == '%') {
			put_bytes(line, "%", 1);
			p++;
		} else if (!put_conv(line, &p, saved_errno, ap)) {
			break;
		}
	}
}

static void
put_timestamp(struct line *line)
{
	struct timespec now;
	struct tm tm;
	char ts[128]; /* room for any int, so no truncation warning */

	if (clock_gettime(CLOCK_REALTIME, &now) != 0 ||
	    gmtime_r(&now.tv_sec, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 70;
		tm.tm_mday = 1;
		now.tv_nsec = 0;
	}
	snprintf(ts, sizeof(ts), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	put_str(line, ts);
}

/* A cut may leave the first bytes of a UTF-8 character; drop them. */
static void
trim_partial_utf8(struct line *line)
{
	size_t i = line->len;
	size_t back = 0;

	while (i > 0 && back < 4 &&
	       ((unsigned char) line->text[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i > 0 && ((unsigned char) line->text[i - 1] & 0xC0) == 0xC0) {
		unsigned char lead = (unsigned char) line->text[i - 1];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (back + 1 < want) {
			line->len = i - 1;
		}
	}
}

void
log_vwrite(enum log_level level, const char *msg, const char *fields,
           va_list ap)
{
	int saved_errno = errno;
	struct line line;
	va_list args;
	ssize_t w;
	int lvl = (int) level;

	if (lvl < atomic_load_explicit(&log_min_level, memory_order_relaxed)) {
		return;
	}
	if (lvl < LOG_DEBUG || lvl > LOG_ERROR) {
		lvl =
		    LOG_ERROR; /* a bad level is not a reason to lose a line */
	}
	line.len = 0;
	line.limit = sizeof(line.text) - LINE_RESERVE;
	line.full = false;
	line.in_quote = false;

	put_timestamp(&line);
	put_str(&line, " level=");
	put_str(&line, log_level_words[lvl]);
	put_str(&line, " msg=");
	msg = msg != NULL ? msg : "";
	put_value(&line, msg, strlen(msg), 0, false);
	if (fields != NULL && fields[0] != '\0') {
		put_bytes(&line, " ", 1);
		va_copy(args, ap);
		put_fields(&line, fields, saved_errno, &args);
		va_end(args);
	}

	/* LINE_RESERVE keeps room for this end whatever happened above. */
	line.limit = sizeof(line.text);
	if (line.full) {
		line.full = false;
		trim_partial_utf8(&line);
		if (line.in_quote) {
			put_bytes(&line, "\"", 1);
		}
		put_str(&line, TRUNCATED_TAIL);
	}
	put_bytes(&line, "\n", 1);

	do {
		w = write(STDERR_FILENO, line.text, line.len);
	} while (w < 0 && errno == EINTR);
	errno = saved_errno;
}

void
log_write(enum log_level level, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_vwrite(level, msg, fields, ap);
	va_end(ap);
}
