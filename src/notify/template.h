/*
 * Message templates that operators can edit: plain text with
 *
 *   {{name}}               a value, escaped for where the text goes
 *   {{#name}}...{{/name}}  the inside only when name is set (not "" or "0")
 *   {{^name}}...{{/name}}  the inside only when name is not set
 *   {{! a comment }}       nothing
 *
 * A section or comment tag alone on its line takes the whole line with it,
 * so templates can be laid out one tag per line. Only values are escaped;
 * the template's own text (e.g. Telegram's <b>) is the operator's.
 *
 * Every value has its control characters made visible ("\r", "\n", "\t",
 * "\x1b") and the Unicode characters that move or reverse text (U+2028,
 * U+202E, ...) written as "\u202e": a robot or account name can never
 * start a new line, fake a header, or turn text around.
 */
#ifndef HBMON_NOTIFY_TEMPLATE_H
#define HBMON_NOTIFY_TEMPLATE_H

#include <stddef.h>

#include "common/strbuf.h"

/* Where rendered text goes, which decides how values are escaped. */
enum tpl_escape {
	TPL_TEXT, /* plain text (mail, logs): control characters visible */
	TPL_HTML, /* Telegram HTML: also & < > " as entities */
};

/* One named value. */
struct tpl_var {
	const char *name;
	const char *value; /* NULL is the same as "" */
};

struct tpl_vars {
	const struct tpl_var *v;
	size_t n;
};

struct tpl;

/*
 * Parses text into a template. origin names it in errors ("id/telegram.html").
 * known: NULL-terminated list of the names templates may use; NULL allows
 * any. out: freed with tpl_free. why: on failure "id/telegram.html:3: no
 * {{/misses}} for {{#misses}}" or "...: unknown placeholder {{sumary}}".
 * Returns HBMON_OK, HBMON_EINVAL or HBMON_ENOMEM.
 */
int tpl_parse(const char *text, const char *origin, const char *const *known,
              struct tpl **out, char *why, size_t why_len);

/* Frees a template. NULL is fine. */
void tpl_free(struct tpl *t);

/*
 * Appends the template rendered with vars to out. A name with no value in
 * vars renders as "". Never fails itself (see strbuf_ok). Thread-safe for a
 * shared template.
 */
void tpl_render(const struct tpl *t, const struct tpl_vars *vars,
                enum tpl_escape esc, struct strbuf *out);

/* Appends one value escaped as tpl_render escapes values. */
void tpl_escape_value(const char *value, enum tpl_escape esc,
                      struct strbuf *out);

/* The value of name in vars, or NULL. */
const char *tpl_vars_get(const struct tpl_vars *vars, const char *name);

#endif
