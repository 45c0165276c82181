/* hbctl output: aligned tables, ages, times, colour, JSON lines. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/rfc3339.h"
#include "hbctl.h"

struct cell {
	char *text;
	const char *color;
};

struct table {
	size_t ncols;
	const char *const *headers;
	struct cell *cells; /* row-major, ncols per row */
	size_t ncells, cap;
	bool failed; /* out of memory: print what there is */
};

struct table *
table_new(const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		return NULL;
	}
	while (headers[t->ncols] != NULL) {
		t->ncols++;
	}
	t->headers = headers;
	return t;
}

static void
push(struct table *t, char *text, const char *color)
{
	if (t->failed) {
		free(text);
		return;
	}
	if (t->ncells == t->cap) {
		size_t cap = t->cap == 0 ? 64 : 2 * t->cap;
		struct cell *cells = realloc(t->cells, cap * sizeof(*cells));
		if (cells == NULL) {
			t->failed = true;
			free(text);
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	t->cells[t->ncells].text = text;
	t->cells[t->ncells].color = color;
	t->ncells++;
}

void
table_row(struct table *t)
{
	/* Pads the row before with empty cells, so rows stay aligned even
	 * when a caller added fewer. */
	while (!t->failed && t->ncells % t->ncols != 0) {
		push(t, strdup(""), NULL);
	}
}

void
table_cell(struct table *t, const char *color, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0) {
		text = NULL;
	}
	va_end(ap);
	if (text == NULL) {
		t->failed = true;
		return;
	}
	push(t, text, color);
}

size_t
table_rows(const struct table *t)
{
	return (t->ncells + t->ncols - 1) / t->ncols;
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char) *s & 0xC0) != 0x80) {
			n++;
		}
	}
	return n;
}

void
table_print(const struct table *t, FILE *f, bool color)
{
	size_t *w = calloc(t->ncols, sizeof(*w));
	size_t rows = table_rows(t);

	if (w == NULL) {
		return;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = width(t->headers[c]);
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t n = width(t->cells[i].text);
		if (n > w[i % t->ncols]) {
			w[i % t->ncols] = n;
		}
	}
	for (size_t r = 0; r <= rows; r++) {
		size_t end = t->ncols; /* past the last non-empty cell */

		while (r > 0 && end > 1) {
			size_t i = (r - 1) * t->ncols + end - 1;
			if (i < t->ncells && t->cells[i].text[0] != '\0') {
				break;
			}
			end--;
		}
		for (size_t c = 0; c < end; c++) {
			size_t i = (r - 1) * t->ncols + c;
			const char *text = r == 0          ? t->headers[c]
			                   : i < t->ncells ? t->cells[i].text
			                                   : "";
			const char *col = r == 0          ? COLOR_BOLD
			                  : i < t->ncells ? t->cells[i].color
			                                  : NULL;
			bool last = c + 1 == end;
			size_t pad = last ? 0 : w[c] - width(text) + 2;

			if (color && col != NULL) {
				fprintf(f, "%s%s%s", col, text, COLOR_RESET);
			} else {
				fputs(text, f);
			}
			fprintf(f, "%*s", (int) pad, "");
		}
		fputc('\n', f);
	}
	free(w);
}

void
table_free(struct table *t)
{
	if (t == NULL) {
		return;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		free(t->cells[i].text);
	}
	free(t->cells);
	free(t);
}

void
out_age(char *buf, size_t len, int64_t now_ms, int64_t then_ms)
{
	char d[32];

	/* then_ms is the server's word: any int64, so no plain subtraction. */
	int64_t ahead = duration_sub(then_ms, now_ms);

	if (then_ms == 0) {
		snprintf(buf, len, "never");
	} else if (ahead > 999) {
		/* Whole seconds: "3 s ago", never "3 s 170 ms ago". */
		duration_human(ahead / 1000 * 1000, d, sizeof(d));
		snprintf(buf, len, "in %s", d);
	} else if (ahead > -1000) {
		snprintf(buf, len, "just now");
	} else {
		duration_human(duration_abs(ahead) / 1000 * 1000, d, sizeof(d));
		snprintf(buf, len, "%s ago", d);
	}
}

void
out_time(char *buf, size_t len, int64_t ms, int tz_min)
{
	if (ms == 0 || tz_format(ms - ms % 1000, tz_min, buf, len) != 0) {
		snprintf(buf, len, "%s", ms == 0 ? "-" : "?");
	}
}

void
out_json_line(json_t *value)
{
	char *text;

	if (value == NULL) {
		hbctl_error("out of memory writing JSON");
		return;
	}
	text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(value);
	if (text != NULL) {
		puts(text);
		free(text);
	}
}

const char *
out_liveness_color(Hbmon__V1__Liveness l)
{
	switch (l) {
	case HBMON__V1__LIVENESS__LIVENESS_OK:
		return COLOR_GREEN;
	case HBMON__V1__LIVENESS__LIVENESS_LATE:
		return COLOR_YELLOW;
	case HBMON__V1__LIVENESS__LIVENESS_DOWN:
		return COLOR_RED;
	case HBMON__V1__LIVENESS__LIVENESS_PAUSED:
		return COLOR_BLUE;
	default:
		return COLOR_DIM;
	}
}

const char *
out_severity_color(int severity)
{
	switch (severity) {
	case HBMON__V1__SEVERITY__SEVERITY_CRITICAL:
		return COLOR_RED;
	case HBMON__V1__SEVERITY__SEVERITY_WARNING:
		return COLOR_YELLOW;
	default:
		return NULL;
	}
}

bool
out_want_color(bool no_color)
{
	const char *env = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no_color || (env != NULL && env[0] != '\0')) {
		return false;
	}
	if (term != NULL && strcmp(term, "dumb") == 0) {
		return false;
	}
	return isatty(STDOUT_FILENO) != 0;
}
