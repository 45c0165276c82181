/*
 * config: one table of keys drives defaults, the INI file, the environment
 * and command-line flags. See config.h for the rules each source follows.
 */
#include "common/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "common/duration.h"
#include "hbmon/error.h"

/* Values are quoted back in errors; keep a runaway value from filling the
 * whole sentence. */
#define VALUE_QUOTE_MAX 40

/* Longest flag or section name we handle; longer ones are unknown anyway. */
#define NAME_MAX_LEN 128

static void set_error(struct config_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct config_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

static const struct config_key *
find_key(const struct config_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->n_keys; i++) {
		if (strcmp(spec->keys[i].name, name) == 0) {
			return &spec->keys[i];
		}
	}
	return NULL;
}

static bool
has_bounds(const struct config_key *key)
{
	return key->min != 0 || key->max != 0;
}

/* "miss_threshold" -> "--miss-threshold", "telegram.chat_id" ->
 * "--telegram-chat-id". */
static void
flag_name(const char *key_name, char *buf, size_t buf_len)
{
	size_t n = 0;

	assert(buf_len >= 3);
	buf[n++] = '-';
	buf[n++] = '-';
	for (const char *p = key_name; *p != '\0' && n + 1 < buf_len; p++) {
		buf[n++] = (*p == '_' || *p == '.') ? '-' : *p;
	}
	buf[n] = '\0';
}

/* A flag written as "--miss_threshold" or "--telegram-chat-id" names the
 * key when both agree with '-', '_' and '.' taken as the same separator. */
static bool
flag_matches(const char *flag, size_t flag_len, const char *key_name)
{
	size_t i = 0;

	for (; i < flag_len && key_name[i] != '\0'; i++) {
		char f = flag[i] == '_' ? '-' : flag[i];
		char k = (key_name[i] == '_' || key_name[i] == '.')
		             ? '-'
		             : key_name[i];
		if (f != k) {
			return false;
		}
	}
	return i == flag_len && key_name[i] == '\0';
}

/* Pairs of true and false words: even entries mean true. */
static const char *const bool_words[] = { "true", "false", "yes", "no",
	                                  "on",   "off",   "1",   "0" };

/* "a, b, c" from a NULL-terminated list, for error messages and help. */
static void
join_words(const char *const *words, const char *sep, char *buf, size_t buf_len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; words[i] != NULL; i++) {
		int w = snprintf(buf + n, buf_len - n, "%s%s", i ? sep : "",
		                 words[i]);
		if (w < 0 || (size_t) w >= buf_len - n) {
			return;
		}
		n += (size_t) w;
	}
}

/* Strict decimal: digits only, no sign, no spaces, so "-1" and " 3" are
 * refused rather than wrapped or ignored. */
static bool
parse_decimal(const char *s, const char **end, uint64_t *out, bool *overflow)
{
	uint64_t v = 0;
	const char *p = s;

	*overflow = false;
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned) (*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			*overflow = true;
		} else {
			v = v * 10 + d;
		}
		p++;
	}
	*end = p;
	*out = v;
	return p != s;
}

/*
 * Sizes: a whole number of bytes with an optional unit. Units are binary
 * multiples in every spelling (k = K = KB = KiB = 1024), as systemd reads
 * them, so "512k" and "512KiB" never differ by 2.4%.
 */
int
config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		char letter;
		unsigned shift;
	} units[] = { { 'k', 10 }, { 'm', 20 }, { 'g', 30 }, { 't', 40 } };
	const char *p;
	uint64_t v;
	bool overflow;
	unsigned shift = 0;

	if (!parse_decimal(s, &p, &v, &overflow)) {
		return HBMON_EINVAL;
	}
	if (*p != '\0' && tolower((unsigned char) *p) != 'b') {
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (tolower((unsigned char) *p) == units[i].letter) {
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0])) {
			return HBMON_EINVAL;
		}
		shift = units[i].shift;
		p++;
		if (*p == 'i' && (p[1] == 'B' || p[1] == 'b')) {
			p += 2;
		} else if (*p == 'B' || *p == 'b') {
			p++;
		}
	} else if (*p != '\0') {
		p++; /* a plain "B" */
	}
	if (*p != '\0') {
		return HBMON_EINVAL;
	}
	if (overflow || (shift > 0 && v > (UINT64_MAX >> shift))) {
		return HBMON_ERANGE;
	}
	*out = v << shift;
	return HBMON_OK;
}

/* The value was parsed; now store it if it lies within the key's bounds. */
static int
set_value(const struct config_key *key, void *settings, const char *value,
          char *why, size_t why_len)
{
	char *field = (char *) settings + key->offset;
	char words[256];
	uint64_t u;
	int64_t ms;
	bool overflow;
	const char *end;
	int rv;

	switch (key->type) {
	case CONFIG_STRING: {
		size_t len = strlen(value);
		assert(key->size > 0);
		/* The value is not quoted back: it may be a secret. */
		if (len >= key->size) {
			snprintf(why, why_len,
			         "value is %zu bytes long, at most %zu fit",
			         len, key->size - 1);
			return HBMON_ERANGE;
		}
		memcpy(field, value, len + 1);
		return HBMON_OK;
	}
	case CONFIG_UINT: {
		int64_t min = has_bounds(key) ? key->min : 0;
		int64_t max = has_bounds(key) ? key->max : UINT32_MAX;
		assert(min >= 0 && min <= max && max <= UINT32_MAX);
		if (!parse_decimal(value, &end, &u, &overflow) ||
		    *end != '\0') {
			snprintf(why, why_len, "'%.*s' is not a whole number",
			         VALUE_QUOTE_MAX, value);
			return HBMON_EINVAL;
		}
		if (overflow || u < (uint64_t) min || u > (uint64_t) max) {
			snprintf(why, why_len,
			         "'%.*s' is out of range %" PRId64 "..%" PRId64,
			         VALUE_QUOTE_MAX, value, min, max);
			return HBMON_ERANGE;
		}
		*(uint32_t *) (void *) field = (uint32_t) u;
		return HBMON_OK;
	}
	case CONFIG_DURATION: {
		char reason[128] = "";
		rv = duration_parse(value, &ms, reason, sizeof(reason));
		if (rv != HBMON_OK) {
			snprintf(why, why_len, "'%.*s': %s", VALUE_QUOTE_MAX,
			         value,
			         reason[0] ? reason
			                   : "not a duration, e.g. 300ms, 90s");
			return rv == HBMON_ERANGE ? HBMON_ERANGE : HBMON_EINVAL;
		}
		if (has_bounds(key) && (ms < key->min || ms > key->max)) {
			char lo[32], hi[32];
			duration_format(key->min, lo, sizeof(lo));
			duration_format(key->max, hi, sizeof(hi));
			snprintf(why, why_len, "'%.*s' is out of range %s..%s",
			         VALUE_QUOTE_MAX, value, lo, hi);
			return HBMON_ERANGE;
		}
		*(int64_t *) (void *) field = ms;
		return HBMON_OK;
	}
	case CONFIG_SIZE:
		assert(key->min >= 0 && key->min <= key->max);
		rv = config_parse_size(value, &u);
		if (rv == HBMON_EINVAL) {
			snprintf(why, why_len,
			         "'%.*s' is not a size, e.g. 4096, 512k, 1MiB",
			         VALUE_QUOTE_MAX, value);
			return rv;
		}
		if (rv == HBMON_OK && has_bounds(key) &&
		    (u < (uint64_t) key->min || u > (uint64_t) key->max)) {
			rv = HBMON_ERANGE;
		}
		if (rv == HBMON_ERANGE) {
			if (has_bounds(key)) {
				snprintf(why, why_len,
				         "'%.*s' is out of range %" PRId64
				         "..%" PRId64 " bytes",
				         VALUE_QUOTE_MAX, value, key->min,
				         key->max);
			} else {
				snprintf(why, why_len, "'%.*s' is too large",
				         VALUE_QUOTE_MAX, value);
			}
			return rv;
		}
		*(uint64_t *) (void *) field = u;
		return HBMON_OK;
	case CONFIG_BOOL:
		for (size_t i = 0;
		     i < sizeof(bool_words) / sizeof(bool_words[0]); i++) {
			if (strcasecmp(value, bool_words[i]) == 0) {
				*(bool *) (void *) field = (i % 2) == 0;
				return HBMON_OK;
			}
		}
		snprintf(why, why_len,
		         "'%.*s' is not one of true, false, yes, no, on, off, "
		         "1, 0",
		         VALUE_QUOTE_MAX, value);
		return HBMON_EINVAL;
	case CONFIG_ENUM:
		assert(key->choices != NULL);
		for (int i = 0; key->choices[i] != NULL; i++) {
			if (strcmp(value, key->choices[i]) == 0) {
				*(int *) (void *) field = i;
				return HBMON_OK;
			}
		}
		join_words(key->choices, ", ", words, sizeof(words));
		snprintf(why, why_len, "'%.*s' is not one of %s",
		         VALUE_QUOTE_MAX, value, words);
		return HBMON_EINVAL;
	}
	snprintf(why, why_len, "key has unknown type %d", (int) key->type);
	return HBMON_EINVAL;
}

/* Flags and environment variables name the key themselves; a file position
 * does not, so the key is added to the message there. */
static bool
origin_names_key(const struct config_key *key, const char *origin)
{
	return strncmp(origin, "--", 2) == 0 ||
	       (key->env != NULL && strcmp(origin, key->env) == 0);
}

static int
set_key(const struct config_key *key, void *settings, const char *value,
        const char *origin, struct config_error *err)
{
	char why[sizeof(err->text)];
	int rv = set_value(key, settings, value, why, sizeof(why));

	if (rv == HBMON_OK) {
		return rv;
	}
	if (origin == NULL) {
		set_error(err, "%s: %s", key->name, why);
	} else if (origin_names_key(key, origin)) {
		set_error(err, "%s: %s", origin, why);
	} else {
		set_error(err, "%s: %s: %s", origin, key->name, why);
	}
	return rv;
}

int
config_set(const struct config_spec *spec, void *settings, const char *name,
           const char *value, const char *origin, struct config_error *err)
{
	const struct config_key *key = find_key(spec, name);

	if (key == NULL) {
		if (origin != NULL) {
			set_error(err, "%s: unknown key '%s'", origin, name);
		} else {
			set_error(err, "unknown key '%s'", name);
		}
		return HBMON_ENOENT;
	}
	return set_key(key, settings, value, origin, err);
}

int
config_defaults(const struct config_spec *spec, void *settings,
                struct config_error *err)
{
	for (size_t i = 0; i < spec->n_keys; i++) {
		const struct config_key *key = &spec->keys[i];
		char *field = (char *) settings + key->offset;
		int rv;

		if (key->def != NULL) {
			rv = set_key(key, settings, key->def, "default", err);
			if (rv != HBMON_OK) {
				/* A default outside its bounds is as much a
				 * table bug as one that does not parse. */
				return HBMON_EINVAL;
			}
			continue;
		}
		switch (key->type) {
		case CONFIG_STRING:
			assert(key->size > 0);
			field[0] = '\0';
			break;
		case CONFIG_UINT:
			*(uint32_t *) (void *) field = 0;
			break;
		case CONFIG_DURATION:
			*(int64_t *) (void *) field = 0;
			break;
		case CONFIG_SIZE:
			*(uint64_t *) (void *) field = 0;
			break;
		case CONFIG_BOOL:
			*(bool *) (void *) field = false;
			break;
		case CONFIG_ENUM:
			*(int *) (void *) field = 0;
			break;
		}
	}
	return HBMON_OK;
}

/* --- INI file ---------------------------------------------------------- */

/*
 * Line numbers. libinih as Debian builds it does not pass line numbers to
 * the handler, and it keeps parsing after an error, returning only the
 * line of the first one. Counting handler calls cannot give the line
 * (comments, blank lines and headers make no call), so the file is fed to
 * ini_parse_stream() by ini_next_line() below, which hands over exactly
 * one physical line per call and counts them. inih counts the same calls,
 * so file->lineno is the line inih is working on while it runs the
 * handler, and it agrees with the number inih returns.
 *
 * Two things would break that agreement, so the reader deals with them
 * itself: a line longer than inih's buffer (inih 55 would read the rest as
 * a new line) and a NUL byte (inih would lose the rest of the line). Both
 * are errors here. The reader also checks what inih reports without a
 * reason (a header without ']', a line without '='), so every error has a
 * sentence; after the first error it reports end of file, because a
 * settings file with a mistake is not applied any further.
 */
struct ini_file {
	const struct config_spec *spec;
	void *settings;
	const char *path;
	struct config_error *err;
	FILE *stream;
	int lineno;
	int err_line; /* line of the first error, 0 if none */
	int rv;       /* its hbmon_err */
	bool read_failed;
	int *key_line; /* per key: line where the file set it, 0 if not */
	char raw[256]; /* start of the current line as read, for ini_on_key */
};

static void ini_fail(struct ini_file *file, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ini_fail(struct ini_file *file, int rv, const char *fmt, ...)
{
	char why[sizeof(file->err->text)];
	va_list ap;

	if (file->err_line != 0) {
		return; /* only the first reason is reported */
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	file->err_line = file->lineno;
	file->rv = rv;
	set_error(file->err, "%s:%d: %s", file->path, file->lineno, why);
}

/* inih's notion of white space and of an inline comment: ';' after a space
 * starts one, a ';' inside a word does not. */
static const char *
skip_space(const char *p)
{
	while (*p != '\0' && isspace((unsigned char) *p)) {
		p++;
	}
	return p;
}

static const char *
find_char_or_comment(const char *p, const char *chars)
{
	bool was_space = false;

	while (*p != '\0' && strchr(chars, *p) == NULL &&
	       !(was_space && *p == ';')) {
		was_space = isspace((unsigned char) *p);
		p++;
	}
	return p;
}

/* The current line without a UTF-8 byte order mark, which inih skips on
 * line 1. */
static const char *
line_start(const struct ini_file *file)
{
	const char *p = file->raw;

	if (file->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3;
	}
	return p;
}

/* Whether [name] is a section this program reads. */
static bool
section_known(const struct config_spec *spec, const char *name, size_t len)
{
	if (spec->section != NULL && strlen(spec->section) == len &&
	    strncmp(spec->section, name, len) == 0) {
		return true;
	}
	for (size_t i = 0; i < spec->n_keys; i++) {
		const char *dot = strchr(spec->keys[i].name, '.');
		if (dot != NULL && (size_t) (dot - spec->keys[i].name) == len &&
		    strncmp(spec->keys[i].name, name, len) == 0) {
			return true;
		}
	}
	return false;
}

/* "server, telegram": the sections an unknown one could have meant. */
static void
list_sections(const struct config_spec *spec, char *buf, size_t buf_len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (spec->section != NULL) {
		n = (size_t) snprintf(buf, buf_len, "%s", spec->section);
	}
	for (size_t i = 0; i < spec->n_keys && n < buf_len; i++) {
		const char *name = spec->keys[i].name;
		const char *dot = strchr(name, '.');
		size_t len;
		bool seen = false;

		if (dot == NULL) {
			continue;
		}
		len = (size_t) (dot - name);
		for (size_t j = 0; j < i && !seen; j++) {
			seen = strncmp(spec->keys[j].name, name, len + 1) == 0;
		}
		if (seen ||
		    (spec->section != NULL && strlen(spec->section) == len &&
		     strncmp(spec->section, name, len) == 0)) {
			continue;
		}
		n += (size_t) snprintf(buf + n, buf_len - n, "%s%.*s",
		                       n ? ", " : "", (int) len, name);
	}
}

/* Checks the lines inih would reject without a reason, or read wrongly. */
static void
ini_check_line(struct ini_file *file)
{
	const char *p = skip_space(line_start(file));
	const char *end;

	if (*p == '\0' || *p == ';' || *p == '#') {
		return;
	}
	if (*p == '[') {
		char known[256];
		end = find_char_or_comment(p + 1, "]");
		if (*end != ']') {
			ini_fail(file, HBMON_EINVAL,
			         "section header has no closing ']'");
			return;
		}
		/* inih ignores what follows the ']'; a typo there would go
		 * unnoticed. */
		const char *rest = skip_space(end + 1);
		if (*rest != '\0' && *rest != ';' && *rest != '#') {
			ini_fail(file, HBMON_EINVAL,
			         "unexpected text after section header");
			return;
		}
		if (!section_known(file->spec, p + 1, (size_t) (end - p - 1))) {
			list_sections(file->spec, known, sizeof(known));
			ini_fail(file, HBMON_EINVAL,
			         "unknown section [%.*s]; %s%s",
			         (int) (end - p - 1), p + 1,
			         known[0] ? "sections are: " : "no sections ",
			         known[0] ? known : "are used");
		}
		return;
	}
	end = find_char_or_comment(p, "=:");
	if (*end != '=' && *end != ':') {
		ini_fail(file, HBMON_EINVAL,
		         "expected 'key = value', '[section]' or a comment");
	}
}

/* ini_reader: one physical line per call; see struct ini_file. */
static char *
ini_next_line(char *buf, int num, void *user)
{
	struct ini_file *file = user;
	size_t cap = num > 1 ? (size_t) num - 1 : 0;
	size_t len = 0;
	bool has_nul = false;
	int c = EOF;

	if (file->err_line != 0 || cap == 0) {
		return NULL;
	}
	while (len < cap && (c = getc(file->stream)) != EOF) {
		has_nul |= c == '\0';
		buf[len++] = (char) c;
		if (c == '\n') {
			break;
		}
	}
	if (len == 0) {
		file->read_failed = ferror(file->stream) != 0;
		return NULL;
	}
	buf[len] = '\0';
	file->lineno++;
	if (c != '\n' && len == cap) {
		/* Full buffer: the line goes on unless the file ends here. */
		int next = getc(file->stream);
		if (next != EOF) {
			ini_fail(file, HBMON_EINVAL,
			         "line is longer than %zu characters", cap - 1);
			return NULL;
		}
	}
	if (has_nul) {
		ini_fail(file, HBMON_EINVAL, "line contains a NUL byte");
		return NULL;
	}
	snprintf(file->raw, sizeof(file->raw), "%s", buf);
	ini_check_line(file);
	return file->err_line != 0 ? NULL : buf;
}

/*
 * inih with multi-line values on reads an indented line that follows a key
 * as more of that key's value: in
 *     [telegram]
 *       token = ...
 *       chat_id = ...
 * the handler sees token twice and chat_id never. The current line starts
 * with the name inih passes only when it really is a "name = value" line;
 * otherwise the line is split here the way inih splits one, so indentation
 * means nothing, as people expect. No hbmon value spans lines.
 */
static bool
ini_line_is_key(const struct ini_file *file, const char *name)
{
	const char *p = skip_space(line_start(file));
	size_t len = strlen(name);

	if (strncmp(p, name, len) != 0) {
		return false;
	}
	p += len;
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	return *p == '=' || *p == ':';
}

/* Splits "name = value ; comment" in place; false without '=' or ':'. */
static bool
split_key_line(char *line, char **name, char **value)
{
	char *end = (char *) find_char_or_comment(line, "=:");
	char *v;

	if (*end != '=' && *end != ':') {
		return false;
	}
	*end = '\0';
	v = (char *) skip_space(end + 1);
	*(char *) find_char_or_comment(v, "") = '\0';
	for (char *e = end; e > line && isspace((unsigned char) e[-1]); e--) {
		e[-1] = '\0';
	}
	for (char *e = v + strlen(v); e > v && isspace((unsigned char) e[-1]);
	     e--) {
		e[-1] = '\0';
	}
	*name = line;
	*value = v;
	return true;
}

/* The key a file line sets: "name" before any section or in the program's
 * own section, "section.name" in any other. */
static int
ini_find_key(const struct config_spec *spec, const char *section,
             const char *name)
{
	bool own = section[0] == '\0' || (spec->section != NULL &&
	                                  strcmp(section, spec->section) == 0);

	for (size_t i = 0; i < spec->n_keys; i++) {
		const char *key = spec->keys[i].name;
		const char *dot = strchr(key, '.');

		if (own && dot == NULL && strcmp(key, name) == 0) {
			return (int) i;
		}
		if (section[0] != '\0' && dot != NULL &&
		    (size_t) (dot - key) == strlen(section) &&
		    strncmp(key, section, strlen(section)) == 0 &&
		    strcmp(dot + 1, name) == 0) {
			return (int) i;
		}
	}
	return -1;
}

/* ini_handler: returns 0 on error, as inih expects. */
static int
ini_on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ini_file *file = user;
	char copy[sizeof(file->raw)];
	char origin[sizeof(file->err->text)];
	char *line_name, *line_value;
	int idx, rv;

	if (file->err_line != 0) {
		return 0;
	}
	if (!ini_line_is_key(file, name)) {
		if (value[0] == '[') {
			ini_fail(file, HBMON_EINVAL,
			         "indented section header after a key is read "
			         "as part of the key's value; remove the "
			         "indentation");
			return 0;
		}
		snprintf(copy, sizeof(copy), "%s", value);
		if (!split_key_line(copy, &line_name, &line_value)) {
			ini_fail(file, HBMON_EINVAL,
			         "expected 'key = value', '[section]' or a "
			         "comment");
			return 0;
		}
		name = line_name;
		value = line_value;
	}
	/* inih also splits at ':', so "listen tcp://x" arrives as key
	 * "listen tcp"; a name with a space means the '=' is missing. */
	if (strpbrk(name, " \t") != NULL) {
		ini_fail(file, HBMON_EINVAL,
		         "expected 'key = value', '[section]' or a comment");
		return 0;
	}
	idx = ini_find_key(file->spec, section, name);
	if (idx < 0) {
		if (section[0] != '\0') {
			ini_fail(file, HBMON_EINVAL,
			         "unknown key '%s' in section [%s]", name,
			         section);
		} else {
			ini_fail(file, HBMON_EINVAL, "unknown key '%s'", name);
		}
		return 0;
	}
	if (file->key_line[idx] != 0) {
		ini_fail(file, HBMON_EINVAL,
		         "%s: given twice (first on line %d)",
		         file->spec->keys[idx].name, file->key_line[idx]);
		return 0;
	}
	file->key_line[idx] = file->lineno;
	snprintf(origin, sizeof(origin), "%s:%d", file->path, file->lineno);
	rv = set_key(&file->spec->keys[idx], file->settings, value, origin,
	             file->err);
	if (rv != HBMON_OK) {
		/* set_key wrote the sentence; keep it as the first reason. */
		file->err_line = file->lineno;
		file->rv = rv;
		return 0;
	}
	return 1;
}

int
config_load_file(const struct config_spec *spec, void *settings,
                 const char *path, struct config_error *err)
{
	struct ini_file file = {
		.spec = spec, .settings = settings, .path = path, .err = err
	};
	int rv = HBMON_OK;
	int ini_rv;

	file.stream = fopen(path, "r");
	if (file.stream == NULL) {
		set_error(err, "%s: %s", path, strerror(errno));
		return HBMON_ENOENT;
	}
	file.key_line =
	    calloc(spec->n_keys ? spec->n_keys : 1, sizeof(*file.key_line));
	if (file.key_line == NULL) {
		set_error(err, "%s: out of memory", path);
		rv = HBMON_ENOMEM;
		goto out;
	}
	ini_rv = ini_parse_stream(ini_next_line, &file, ini_on_key, &file);
	if (file.err_line != 0) {
		rv = file.rv;
	} else if (file.read_failed) {
		set_error(err, "%s:%d: %s", path, file.lineno + 1,
		          strerror(errno));
		rv = HBMON_EIO;
	} else if (ini_rv > 0) {
		/* ini_next_line checks everything inih rejects; this is a
		 * safety net for an inih that rejects more. */
		set_error(err, "%s:%d: syntax error", path, ini_rv);
		rv = HBMON_EINVAL;
	} else if (ini_rv < 0) {
		set_error(err, "%s: out of memory", path);
		rv = HBMON_ENOMEM;
	}
out:
	free(file.key_line);
	fclose(file.stream);
	return rv;
}

/* --- environment and flags --------------------------------------------- */

int
config_load_env(const struct config_spec *spec, void *settings,
                struct config_error *err)
{
	for (size_t i = 0; i < spec->n_keys; i++) {
		const struct config_key *key = &spec->keys[i];
		const char *value;
		int rv;

		if (key->env == NULL) {
			continue;
		}
		value = getenv(key->env);
		/* "VAR= program" clears a variable in many shells' idiom;
		 * treating empty as unset keeps it from failing start-up. */
		if (value == NULL || value[0] == '\0') {
			continue;
		}
		rv = set_key(key, settings, value, key->env, err);
		if (rv != HBMON_OK) {
			return rv;
		}
	}
	return HBMON_OK;
}

static bool
is_flag(const char *arg)
{
	return strncmp(arg, "--", 2) == 0 && arg[2] != '\0';
}

/* The value of "--name VALUE": the next argument, unless it is missing or
 * is itself a flag (a forgotten value should not swallow the next flag). */
static const char *
next_value(int argc, char **argv, int i)
{
	if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
		return NULL;
	}
	return argv[i + 1];
}

/* Finds --config before "--"; the file loads before env and other flags. */
static int
find_config_flag(int argc, char **argv, const char **out_path,
                 struct config_error *err)
{
	*out_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			break;
		}
		if (strncmp(argv[i], "--config=", 9) == 0) {
			*out_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--config") == 0) {
			*out_path = next_value(argc, argv, i);
			if (*out_path == NULL) {
				set_error(err, "--config: needs a file name");
				return HBMON_EINVAL;
			}
			i++;
		}
	}
	return HBMON_OK;
}

/* Moves argv[i] down to argv[*npos + 1], keeping the order of the rest. */
static void
move_positional(char **argv, int i, int *npos)
{
	char *arg = argv[i];
	int to = *npos + 1;

	memmove(&argv[to + 1], &argv[to], (size_t) (i - to) * sizeof(*argv));
	argv[to] = arg;
	(*npos)++;
}

static int
apply_flag(const struct config_spec *spec, void *settings, int argc,
           char **argv, int *i, struct config_error *err)
{
	const char *arg = argv[*i];
	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t name_len = eq ? (size_t) (eq - name) : strlen(name);
	const struct config_key *key = NULL;
	char origin[NAME_MAX_LEN + 3];
	const char *value;

	snprintf(origin, sizeof(origin), "--%.*s", (int) name_len, name);
	if (name_len == 6 && strncmp(name, "config", 6) == 0) {
		/* Loaded by find_config_flag, which checked its value. */
		if (eq == NULL) {
			(*i)++;
		}
		return HBMON_OK;
	}
	for (size_t k = 0; k < spec->n_keys && key == NULL; k++) {
		if (flag_matches(name, name_len, spec->keys[k].name)) {
			key = &spec->keys[k];
		}
	}
	if (key == NULL) {
		set_error(err, "%s: unknown flag", origin);
		return HBMON_EINVAL;
	}
	if (eq != NULL) {
		value = eq + 1;
	} else if (key->type == CONFIG_BOOL) {
		/* A bool flag never takes the next argument, which may be a
		 * positional one; "--verbose=false" turns it off. */
		value = "true";
	} else {
		value = next_value(argc, argv, *i);
		if (value == NULL) {
			set_error(err, "%s: needs a value", origin);
			return HBMON_EINVAL;
		}
		(*i)++;
	}
	return set_key(key, settings, value, origin, err);
}

int
config_load(const struct config_spec *spec, void *settings, int argc,
            char **argv, int *out_npos, struct config_error *err)
{
	const char *path;
	bool flags_done = false;
	int npos = 0;
	int rv;

	if (out_npos != NULL) {
		*out_npos = 0;
	}
	rv = config_defaults(spec, settings, err);
	if (rv != HBMON_OK) {
		return rv;
	}
	rv = find_config_flag(argc, argv, &path, err);
	if (rv != HBMON_OK) {
		return rv;
	}
	if (path != NULL) {
		rv = config_load_file(spec, settings, path, err);
		if (rv != HBMON_OK) {
			return rv;
		}
	}
	rv = config_load_env(spec, settings, err);
	if (rv != HBMON_OK) {
		return rv;
	}
	for (int i = 1; i < argc; i++) {
		if (!flags_done && strcmp(argv[i], "--") == 0) {
			flags_done = true;
		} else if (flags_done || !is_flag(argv[i])) {
			move_positional(argv, i, &npos);
		} else {
			rv = apply_flag(spec, settings, argc, argv, &i, err);
			if (rv != HBMON_OK) {
				return rv;
			}
		}
	}
	if (out_npos != NULL) {
		*out_npos = npos;
	}
	return HBMON_OK;
}

/* --- help and text ----------------------------------------------------- */

static const char *
type_metavar(const struct config_key *key, char *buf, size_t buf_len)
{
	switch (key->type) {
	case CONFIG_STRING:
		return " TEXT";
	case CONFIG_UINT:
		return " N";
	case CONFIG_DURATION:
		return " DURATION";
	case CONFIG_SIZE:
		return " SIZE";
	case CONFIG_BOOL:
		return "[=BOOL]";
	case CONFIG_ENUM:
		buf[0] = ' ';
		join_words(key->choices, "|", buf + 1, buf_len - 1);
		return buf;
	}
	return "";
}

void
config_print_help(const struct config_spec *spec, FILE *f)
{
	char flag[NAME_MAX_LEN], words[256], left[NAME_MAX_LEN + 256];
	int width = (int) strlen("--config FILE");

	for (size_t i = 0; i < spec->n_keys; i++) {
		flag_name(spec->keys[i].name, flag, sizeof(flag));
		int w = snprintf(
		    left, sizeof(left), "%s%s", flag,
		    type_metavar(&spec->keys[i], words, sizeof(words)));
		if (w > width) {
			width = w;
		}
	}
	fprintf(f, "  %-*s  %s\n", width, "--config FILE",
	        "read settings from this INI file");
	for (size_t i = 0; i < spec->n_keys; i++) {
		const struct config_key *key = &spec->keys[i];

		flag_name(key->name, flag, sizeof(flag));
		snprintf(left, sizeof(left), "%s%s", flag,
		         type_metavar(key, words, sizeof(words)));
		fprintf(f, "  %-*s  %s", width, left,
		        key->help ? key->help : "");
		if (key->def != NULL && key->def[0] != '\0') {
			fprintf(f, " (default %s)", key->def);
		}
		if (key->env != NULL) {
			fprintf(f, " [env %s]", key->env);
		}
		fputc('\n', f);
	}
}

int
config_get_text(const struct config_spec *spec, const void *settings,
                const char *name, char *buf, size_t buf_len)
{
	const struct config_key *key = find_key(spec, name);
	const char *field;
	int n;

	if (key == NULL) {
		return HBMON_ENOENT;
	}
	if (buf_len == 0) {
		return HBMON_ENOMEM;
	}
	field = (const char *) settings + key->offset;
	switch (key->type) {
	case CONFIG_STRING:
		n = snprintf(buf, buf_len, "%s", field);
		break;
	case CONFIG_UINT:
		n = snprintf(buf, buf_len, "%" PRIu32,
		             *(const uint32_t *) (const void *) field);
		break;
	case CONFIG_DURATION:
		return duration_format(*(const int64_t *) (const void *) field,
		                       buf, buf_len);
	case CONFIG_SIZE:
		n = snprintf(buf, buf_len, "%" PRIu64,
		             *(const uint64_t *) (const void *) field);
		break;
	case CONFIG_BOOL:
		n = snprintf(buf, buf_len, "%s",
		             *(const bool *) (const void *) field ? "true"
		                                                  : "false");
		break;
	case CONFIG_ENUM: {
		int idx = *(const int *) (const void *) field;
		int count = 0;
		while (key->choices[count] != NULL) {
			count++;
		}
		if (idx < 0 || idx >= count) {
			buf[0] = '\0';
			return HBMON_EINVAL;
		}
		n = snprintf(buf, buf_len, "%s", key->choices[idx]);
		break;
	}
	default:
		buf[0] = '\0';
		return HBMON_EINVAL;
	}
	return (n < 0 || (size_t) n >= buf_len) ? HBMON_ENOMEM : HBMON_OK;
}

void
config_print_values(const struct config_spec *spec, const void *settings,
                    FILE *f)
{
	char value[4096], section[NAME_MAX_LEN] = "";

	/* Two passes: a key without a section after a [section] header
	 * would be read as part of that section. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < spec->n_keys; i++) {
			const char *name = spec->keys[i].name;
			const char *dot = strchr(name, '.');

			if ((dot != NULL) != (pass == 1)) {
				continue;
			}
			if (config_get_text(spec, settings, name, value,
			                    sizeof(value)) != HBMON_OK) {
				value[0] = '\0';
			}
			if (dot != NULL &&
			    (strncmp(section, name, (size_t) (dot - name)) !=
			         0 ||
			     section[dot - name] != '\0')) {
				snprintf(section, sizeof(section), "%.*s",
				         (int) (dot - name), name);
				fprintf(f, "\n[%s]\n", section);
			}
			fprintf(f, "%s = %s\n", dot != NULL ? dot + 1 : name,
			        value);
		}
	}
}

bool
config_take_flag(int *argc, char **argv, const char *flag)
{
	bool found = false;
	int i = 1;

	while (i < *argc && strcmp(argv[i], "--") != 0) {
		if (strcmp(argv[i], flag) == 0) {
			memmove(&argv[i], &argv[i + 1],
			        (size_t) (*argc - i) * sizeof(argv[0]));
			(*argc)--;
			found = true;
		} else {
			i++;
		}
	}
	return found;
}

int
config_default_ipc_url(char *url, size_t url_len, const char *dir,
                       const char *file, const char *key,
                       struct config_error *err)
{
	int n;

	if (url[0] != '\0') {
		return HBMON_OK;
	}
	n = snprintf(url, url_len, "ipc://%s/%s", dir, file);
	if (n < 0 || (size_t) n >= url_len) {
		url[0] = '\0';
		snprintf(err->text, sizeof(err->text),
		         "%s: data_dir is too long for a socket path", key);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}
