/* Mustache-like templates with context escaping. */
#include "notify/template.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbmon/error.h"

#define NAME_MAX_LEN 48
#define DEPTH_MAX    16

enum token_type { T_TEXT, T_VAR, T_OPEN, T_CLOSE };

struct token {
	enum token_type type;
	const char *start; /* T_TEXT: into tpl->src */
	size_t len;
	char name[NAME_MAX_LEN];
	bool inverted; /* T_OPEN: {{^name}} */
	size_t match;  /* T_OPEN: index of its T_CLOSE */
};

struct tpl {
	char *src;
	struct token *tokens;
	size_t n, cap;
};

static int fail(char *why, size_t why_len, const char *origin, int line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(char *why, size_t why_len, const char *origin, int line, const char *fmt,
     ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(why, why_len, "%s:%d: %s", origin, line, text);
	return HBMON_EINVAL;
}

static struct token *
push(struct tpl *t, enum token_type type)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct token *p = realloc(t->tokens, cap * sizeof(*p));
		if (p == NULL) {
			return NULL;
		}
		t->tokens = p;
		t->cap = cap;
	}
	memset(&t->tokens[t->n], 0, sizeof(t->tokens[0]));
	t->tokens[t->n].type = type;
	return &t->tokens[t->n++];
}

static int
line_of(const char *src, const char *p)
{
	int line = 1;

	for (const char *q = src; q < p; q++) {
		line += *q == '\n';
	}
	return line;
}

static bool
blank(const char *a, const char *b)
{
	for (; a < b; a++) {
		if (*a != ' ' && *a != '\t' && *a != '\r') {
			return false;
		}
	}
	return true;
}

static bool
name_known(const char *const *known, const char *name)
{
	if (known == NULL) {
		return true;
	}
	for (size_t i = 0; known[i] != NULL; i++) {
		if (strcmp(known[i], name) == 0) {
			return true;
		}
	}
	return false;
}

/* Adds the literal text [a, b) when not empty. */
static int
add_text(struct tpl *t, const char *a, const char *b)
{
	struct token *tok;

	if (b <= a) {
		return HBMON_OK;
	}
	if ((tok = push(t, T_TEXT)) == NULL) {
		return HBMON_ENOMEM;
	}
	tok->start = a;
	tok->len = (size_t) (b - a);
	return HBMON_OK;
}

int
tpl_parse(const char *text, const char *origin, const char *const *known,
          struct tpl **out, char *why, size_t why_len)
{
	struct tpl *t = calloc(1, sizeof(*t));
	size_t open[DEPTH_MAX];
	int depth = 0, rv = HBMON_ENOMEM;
	const char *p, *text_start;

	if (t == NULL || (t->src = strdup(text)) == NULL) {
		goto fail;
	}
	text_start = p = t->src;
	while ((p = strstr(p, "{{")) != NULL) {
		const char *end = strstr(p + 2, "}}");
		const char *body, *body_end, *line_start, *line_end;
		char sigil = 0, name[NAME_MAX_LEN];
		size_t len;
		struct token *tok;

		if (end == NULL) {
			rv = fail(why, why_len, origin, line_of(t->src, p),
			          "'{{' without '}}'");
			goto fail;
		}
		body = p + 2;
		body_end = end;
		if (*body == '#' || *body == '^' || *body == '/' ||
		    *body == '!') {
			sigil = *body++;
		}
		if (sigil == '!') {
			name[0] = '\0';
		} else {
			while (body < body_end && *body == ' ') {
				body++;
			}
			while (body_end > body && body_end[-1] == ' ') {
				body_end--;
			}
			len = (size_t) (body_end - body);
			if (len == 0 || len >= sizeof(name) ||
			    strspn(body,
			           "abcdefghijklmnopqrstuvwxyz0123456789_") <
			        len) {
				rv = fail(why, why_len, origin,
				          line_of(t->src, p),
				          "'%.*s' is not a placeholder name "
				          "(lowercase letters, digits, '_')",
				          (int) (len < 40 ? len : 40), body);
				goto fail;
			}
			memcpy(name, body, len);
			name[len] = '\0';
			if (!name_known(known, name)) {
				rv = fail(why, why_len, origin,
				          line_of(t->src, p),
				          "unknown placeholder {{%s}}", name);
				goto fail;
			}
		}
		/* A section or comment tag alone on its line takes the
		 * line with it. */
		line_start = p;
		while (line_start > t->src && line_start[-1] != '\n') {
			line_start--;
		}
		line_end = end + 2;
		while (*line_end != '\0' && *line_end != '\n') {
			line_end++;
		}
		if (sigil != 0 && line_start >= text_start &&
		    blank(line_start, p) && blank(end + 2, line_end)) {
			if ((rv = add_text(t, text_start, line_start)) != 0) {
				goto fail;
			}
			text_start =
			    *line_end == '\n' ? line_end + 1 : line_end;
		} else {
			if ((rv = add_text(t, text_start, p)) != 0) {
				goto fail;
			}
			text_start = end + 2;
		}
		p = end + 2;
		rv = HBMON_ENOMEM;
		switch (sigil) {
		case '!':
			continue;
		case '#':
		case '^':
			if (depth == DEPTH_MAX) {
				rv = fail(
				    why, why_len, origin, line_of(t->src, body),
				    "sections nest deeper than %d", DEPTH_MAX);
				goto fail;
			}
			if ((tok = push(t, T_OPEN)) == NULL) {
				goto fail;
			}
			tok->inverted = sigil == '^';
			open[depth++] = t->n - 1;
			break;
		case '/':
			if (depth == 0 ||
			    strcmp(t->tokens[open[depth - 1]].name, name) !=
			        0) {
				rv = fail(why, why_len, origin,
				          line_of(t->src, body),
				          "{{/%s}} closes no open {{#%s}}",
				          name, name);
				goto fail;
			}
			if ((tok = push(t, T_CLOSE)) == NULL) {
				goto fail;
			}
			t->tokens[open[--depth]].match = t->n - 1;
			break;
		default:
			if ((tok = push(t, T_VAR)) == NULL) {
				goto fail;
			}
			break;
		}
		snprintf(tok->name, sizeof(tok->name), "%s", name);
	}
	if (depth > 0) {
		rv = fail(why, why_len, origin, line_of(t->src, text_start),
		          "no {{/%s}} for {{#%s}}",
		          t->tokens[open[depth - 1]].name,
		          t->tokens[open[depth - 1]].name);
		goto fail;
	}
	if ((rv = add_text(t, text_start, text_start + strlen(text_start))) !=
	    HBMON_OK) {
		goto fail;
	}
	*out = t;
	return HBMON_OK;
fail:
	if (rv == HBMON_ENOMEM) {
		snprintf(why, why_len, "%s: out of memory", origin);
	}
	tpl_free(t);
	return rv;
}

void
tpl_free(struct tpl *t)
{
	if (t != NULL) {
		free(t->tokens);
		free(t->src);
		free(t);
	}
}

const char *
tpl_vars_get(const struct tpl_vars *vars, const char *name)
{
	for (size_t i = 0; vars != NULL && i < vars->n; i++) {
		if (strcmp(vars->v[i].name, name) == 0) {
			return vars->v[i].value != NULL ? vars->v[i].value : "";
		}
	}
	return NULL;
}

static bool
truthy(const char *v)
{
	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

void
tpl_render(const struct tpl *t, const struct tpl_vars *vars,
           enum tpl_escape esc, struct strbuf *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct token *tok = &t->tokens[i];
		bool on;

		switch (tok->type) {
		case T_TEXT:
			strbuf_add(out, tok->start, tok->len);
			break;
		case T_VAR:
			tpl_escape_value(tpl_vars_get(vars, tok->name), esc,
			                 out);
			break;
		case T_OPEN:
			on = truthy(tpl_vars_get(vars, tok->name));
			if (on == tok->inverted) {
				i = tok->match;
			}
			break;
		case T_CLOSE:
			break;
		}
	}
}

/*
 * Decodes one UTF-8 character at s (n bytes left). Returns its length and
 * sets *cp, or 0 for an invalid sequence (overlong, surrogate, cut short).
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len) {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff))) {
		return 0;
	}
	*cp = c;
	return len;
}

/* Characters that break lines or reorder text when shown. */
static bool
moves_text(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void
tpl_escape_value(const char *value, enum tpl_escape esc, struct strbuf *out)
{
	const unsigned char *s = (const unsigned char *) (value ? value : "");
	size_t n = strlen((const char *) s);

	while (n > 0) {
		uint32_t cp;
		size_t len = utf8_next(s, n, &cp);

		if (len == 0) {
			strbuf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
			s++;
			n--;
			continue;
		}
		if (cp == '\n') {
			strbuf_adds(out, "\\n");
		} else if (cp == '\r') {
			strbuf_adds(out, "\\r");
		} else if (cp == '\t') {
			strbuf_adds(out, "\\t");
		} else if (cp < 0x20 || cp == 0x7f) {
			strbuf_addf(out, "\\x%02x", (unsigned) cp);
		} else if (moves_text(cp)) {
			strbuf_addf(out, "\\u%04x", (unsigned) cp);
		} else if (esc == TPL_HTML && cp == '&') {
			strbuf_adds(out, "&amp;");
		} else if (esc == TPL_HTML && cp == '<') {
			strbuf_adds(out, "&lt;");
		} else if (esc == TPL_HTML && cp == '>') {
			strbuf_adds(out, "&gt;");
		} else if (esc == TPL_HTML && cp == '"') {
			strbuf_adds(out, "&quot;");
		} else {
			strbuf_add(out, (const char *) s, len);
		}
		s += len;
		n -= len;
	}
}
