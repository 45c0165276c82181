/* Template sets: words, headlines and message files per language. */
#include "notify/message.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/duration.h"
#include "common/embedded.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/subject_name.h"
#include "common/tz.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "notify/html.h"
#include "notify/template.h"

#define FILE_MAX   (64 * 1024) /* a template file larger is a mistake */
#define VIEW_MAX   64
#define LIST_SHOWN 20 /* accounts named in a list before "(+N)" */
/* Affected accounts sorted for the list (a robot has at most 1,000,000
 * accounts; those beyond this many are counted, not ordered). */
#define LIST_MAX_SORTED 4096
#define SUBJECTS_SHOWN  5
#define BLOCK_SEP       "\n\n"
#define MAIL_SEP        "\n----------------------------------------\n\n"

/* Placeholders the templates may use. */
static const char *const known_names[] = {
	"seq",
	"kind",
	"kind_text",
	"severity",
	"severity_text",
	"state",
	"state_text",
	"firing",
	"resolved",
	"icon",
	"robot",
	"account",
	"subject",
	"who",
	"summary",
	"headline",
	"raised_at",
	"dedupe_key",
	"repeat",
	"misses",
	"duration",
	"last_seen",
	"open_orders",
	"affected",
	"affected_count",
	"affected_with_orders",
	"from_status",
	"to_status",
	"status_text",
	"skew",
	"skew_direction",
	"missing_accounts",
	"missing_count",
	"outage",
	"unclean_stop",
	"alerts_meanwhile",
	"reason",
	"resolves",
	"resolves_text",
	"host",
	"hints",
	"heartbeats_word",
	"count",
	"subjects",
	"firing_count",
	"firing_subjects",
	"resolved_count",
	"resolved_subjects",
	"notifier",
	NULL,
};

struct word {
	char *key; /* "section.name" */
	char *value;
	struct tpl *tpl; /* [headline] entries: the value as a template */
};

struct message_set {
	int tz_offset_min; /* a UTC offset, or TZ_ZONE */
	char notifier[128];
	struct word *words;
	size_t n_words;
	struct tpl *telegram, *telegram_batch;
	struct tpl *email_subject, *email_body, *email_batch_subject;
	struct tpl *email_footer;
};

/* The built-in set, generated from src/notify/templates at build time
 * (templates_builtin.c, cmake/HbmonEmbed.cmake). */
extern const struct embedded_file notify_templates[];
extern const size_t notify_templates_count;

/* Reads a whole file (at most FILE_MAX bytes) into a malloc'd string.
 * HBMON_ENOENT (with why) when it cannot be opened; errno tells why. */
static int
read_text(const char *path, char **out, char *why, size_t why_len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		int e = errno;
		snprintf(why, why_len, "cannot read template %s: %s", path,
		         strerror(e));
		errno = e;
		return HBMON_ENOENT;
	}
	if ((buf = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		return HBMON_ENOMEM;
	}
	n = fread(buf, 1, FILE_MAX + 1, f);
	fclose(f);
	if (n > FILE_MAX) {
		free(buf);
		snprintf(why, why_len, "template %s is larger than %d bytes",
		         path, FILE_MAX);
		return HBMON_EINVAL;
	}
	buf[n] = '\0';
	*out = buf;
	return HBMON_OK;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
		*--e = '\0';
	}
	return s;
}

static int
add_word(struct message_set *m, const char *section, const char *name,
         const char *value)
{
	struct word *w = realloc(m->words, (m->n_words + 1) * sizeof(*w));
	size_t len = strlen(section) + strlen(name) + 2;

	if (w == NULL) {
		return HBMON_ENOMEM;
	}
	m->words = w;
	w = &m->words[m->n_words];
	memset(w, 0, sizeof(*w));
	if ((w->key = malloc(len)) == NULL ||
	    (w->value = strdup(value)) == NULL) {
		free(w->key);
		free(w->value);
		return HBMON_ENOMEM;
	}
	snprintf(w->key, len, "%s.%s", section, name);
	m->n_words++;
	return HBMON_OK;
}

/* "en, id": the languages of the built-in set. */
static void
builtin_languages(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < notify_templates_count; i++) {
		const char *name = notify_templates[i].name;
		int n = (int) strcspn(name, "/");
		char lang[32];

		snprintf(lang, sizeof(lang), "%.*s", n, name);
		if (i > 0 && strncmp(notify_templates[i - 1].name, name,
		                     (size_t) n + 1) == 0) {
			continue; /* sorted: a language's files are together */
		}
		if (used < len) {
			int w = snprintf(buf + used, len - used, "%s%s",
			                 used > 0 ? ", " : "", lang);
			used += w > 0 ? (size_t) w : 0;
		}
	}
}

/*
 * The text of LANG/FILE, malloc'd: from the operator's templates dir when
 * one is set and holds that file, else the built-in copy. *from_dir says
 * which. Returns HBMON_OK, HBMON_ENOENT (in neither), HBMON_EINVAL (too
 * large) or HBMON_ENOMEM.
 */
static int
load_text(const struct message_options *o, const char *file, char **out,
          bool *from_dir, char *why, size_t why_len)
{
	const struct embedded_file *builtin;
	char name[256];
	int rv;

	snprintf(name, sizeof(name), "%s/%s", o->lang, file);
	*from_dir = false;
	if (o->dir != NULL && o->dir[0] != '\0') {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", o->dir, name);
		rv = read_text(path, out, why, why_len);
		if (rv != HBMON_ENOENT || errno != ENOENT) {
			*from_dir = rv == HBMON_OK;
			return rv;
		}
	}
	builtin = embedded_find(notify_templates, notify_templates_count, name);
	if (builtin == NULL) {
		char langs[128];
		builtin_languages(langs, sizeof(langs));
		snprintf(why, why_len,
		         "no template %s%s%s, and none built in for language "
		         "'%s' (built in: %s)",
		         name,
		         o->dir != NULL && o->dir[0] != '\0' ? " in " : "",
		         o->dir != NULL ? o->dir : "", o->lang, langs);
		return HBMON_ENOENT;
	}
	if ((*out = strdup(builtin->text)) == NULL) {
		return HBMON_ENOMEM;
	}
	return HBMON_OK;
}

/*
 * words.ini: "[section]" and "name = value" lines, '#' or ';' comments.
 * Read by hand rather than with inih: headlines are longer than inih's
 * line buffer.
 */
static int
load_words(struct message_set *m, const struct message_options *o,
           bool *from_dir, char *why, size_t why_len)
{
	char section[32] = "", origin[128];
	char *text, *line, *next;
	int rv, line_no = 0;

	snprintf(origin, sizeof(origin), "%s/words.ini", o->lang);
	if ((rv = load_text(o, "words.ini", &text, from_dir, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	for (line = text; line != NULL; line = next) {
		char *eq, *p;

		line_no++;
		if ((next = strchr(line, '\n')) != NULL) {
			*next++ = '\0';
		}
		p = trim(line);
		if (*p == '\0' || *p == '#' || *p == ';') {
			continue;
		}
		if (*p == '[') {
			char *close = strchr(p, ']');
			if (close == NULL || close[1] != '\0' ||
			    (size_t) (close - p - 1) >= sizeof(section)) {
				snprintf(why, why_len,
				         "%s:%d: expected '[section]'", origin,
				         line_no);
				rv = HBMON_EINVAL;
				break;
			}
			*close = '\0';
			snprintf(section, sizeof(section), "%s", p + 1);
			continue;
		}
		if ((eq = strchr(p, '=')) == NULL || section[0] == '\0') {
			snprintf(
			    why, why_len,
			    "%s:%d: expected 'name = value' in a [section]",
			    origin, line_no);
			rv = HBMON_EINVAL;
			break;
		}
		*eq = '\0';
		if ((rv = add_word(m, section, trim(p), trim(eq + 1))) !=
		    HBMON_OK) {
			break;
		}
		if (strcmp(section, "headline") == 0) {
			char where[600];
			struct word *w = &m->words[m->n_words - 1];
			snprintf(where, sizeof(where), "%s:%d (%s)", origin,
			         line_no, w->key);
			rv = tpl_parse(w->value, where, known_names, &w->tpl,
			               why, why_len);
			if (rv != HBMON_OK) {
				break;
			}
		}
	}
	free(text);
	return rv;
}

static const struct word *
find_word(const struct message_set *m, const char *section, const char *name)
{
	size_t slen = strlen(section);

	for (size_t i = 0; name != NULL && i < m->n_words; i++) {
		const char *k = m->words[i].key;
		if (strncmp(k, section, slen) == 0 && k[slen] == '.' &&
		    strcmp(k + slen + 1, name) == 0) {
			return &m->words[i];
		}
	}
	return NULL;
}

/* The set's word for section.name, or fallback. */
static const char *
word(const struct message_set *m, const char *section, const char *name,
     const char *fallback)
{
	const struct word *w = find_word(m, section, name);

	return w != NULL ? w->value : fallback;
}

/* Appends name to the comma-separated list in buf. */
static void
note_file(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used > 0 ? "," : "", name);
}

static int
load_tpl(const struct message_options *o, const char *file, struct tpl **out,
         bool *from_dir, char *why, size_t why_len)
{
	char origin[256];
	char *text;
	int rv;

	snprintf(origin, sizeof(origin), "%s/%s", o->lang, file);
	if ((rv = load_text(o, file, &text, from_dir, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	rv = tpl_parse(text, origin, known_names, out, why, why_len);
	free(text);
	return rv;
}

int
message_set_load(const struct message_options *opts, struct message_set **out,
                 char *why, size_t why_len)
{
	static const char *const files[] = {
		"telegram.html",           "telegram-batch.html",
		"email-subject.txt",       "email-body.txt",
		"email-batch-subject.txt", "email-footer.txt",
	};
	struct message_set *m;
	struct tpl **slots[6];
	char overridden[256] = "";
	bool from_dir;
	int rv;

	/* A templates dir that is not there is a typo, not "use the
	 * built-in set": say so rather than ignore the operator's files. */
	if (opts->dir != NULL && opts->dir[0] != '\0') {
		struct stat st;
		if (stat(opts->dir, &st) != 0) {
			snprintf(why, why_len, "templates_dir %s: %s",
			         opts->dir, strerror(errno));
			return HBMON_ENOENT;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, why_len,
			         "templates_dir %s is not a directory",
			         opts->dir);
			return HBMON_ENOENT;
		}
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		return HBMON_ENOMEM;
	}
	m->tz_offset_min = opts->tz_offset_min;
	snprintf(m->notifier, sizeof(m->notifier), "%s",
	         opts->notifier != NULL ? opts->notifier : "");
	slots[0] = &m->telegram;
	slots[1] = &m->telegram_batch;
	slots[2] = &m->email_subject;
	slots[3] = &m->email_body;
	slots[4] = &m->email_batch_subject;
	slots[5] = &m->email_footer;
	static_assert(sizeof(files) / sizeof(files[0]) ==
	                  sizeof(slots) / sizeof(slots[0]),
	              "one slot per template file");
	if ((rv = load_words(m, opts, &from_dir, why, why_len)) != HBMON_OK) {
		goto fail;
	}
	if (from_dir) {
		note_file(overridden, sizeof(overridden), "words.ini");
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((rv = load_tpl(opts, files[i], slots[i], &from_dir, why,
		                   why_len)) != HBMON_OK) {
			goto fail;
		}
		if (from_dir) {
			note_file(overridden, sizeof(overridden), files[i]);
		}
	}
	if (opts->dir != NULL && opts->dir[0] != '\0') {
		log_info("message templates", "lang=%s dir=%s from_dir=%s",
		         opts->lang, opts->dir,
		         overridden[0] != '\0' ? overridden
		                               : "none (all built in)");
	}
	*out = m;
	return HBMON_OK;
fail:
	message_set_free(m);
	return rv;
}

void
message_set_free(struct message_set *m)
{
	if (m == NULL) {
		return;
	}
	for (size_t i = 0; i < m->n_words; i++) {
		free(m->words[i].key);
		free(m->words[i].value);
		tpl_free(m->words[i].tpl);
	}
	free(m->words);
	tpl_free(m->telegram);
	tpl_free(m->telegram_batch);
	tpl_free(m->email_subject);
	tpl_free(m->email_body);
	tpl_free(m->email_batch_subject);
	tpl_free(m->email_footer);
	free(m);
}

void
message_duration(const struct message_set *m, int64_t ms, struct strbuf *out)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {
		{ 86400000, "d" },
		{ 3600000, "h" },
		{ 60000, "min" },
		{ 1000, "s" },
	};

	if (ms < 0) {
		ms = 0;
	}
	if (ms < 1000) {
		strbuf_addf(out, "%" PRId64 " %s", ms,
		            word(m, "units", "ms", "ms"));
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms >= units[i].ms) {
			int64_t rest = ms % units[i].ms;
			strbuf_addf(
			    out, "%" PRId64 " %s", ms / units[i].ms,
			    word(m, "units", units[i].unit, units[i].unit));
			if (i + 1 < sizeof(units) / sizeof(units[0]) &&
			    rest / units[i + 1].ms > 0) {
				strbuf_addf(out, " %" PRId64 " %s",
				            rest / units[i + 1].ms,
				            word(m, "units", units[i + 1].unit,
				                 units[i + 1].unit));
			}
			return;
		}
	}
}

/* ---- the values of one alert ---- */

struct view {
	struct tpl_var v[VIEW_MAX];
	char *owned[VIEW_MAX];
	size_t n;
};

static void
view_put(struct view *w, const char *name, char *owned)
{
	if (w->n == VIEW_MAX) {
		free(owned);
		return;
	}
	w->v[w->n].name = name;
	w->v[w->n].value = owned != NULL ? owned : "";
	w->owned[w->n++] = owned;
}

static void
view_set(struct view *w, const char *name, const char *value)
{
	view_put(w, name, strdup(value != NULL ? value : ""));
}

static void view_setf(struct view *w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
view_setf(struct view *w, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0 && (text = malloc((size_t) n + 1)) != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, (size_t) n + 1, fmt, ap);
		va_end(ap);
	}
	view_put(w, name, text);
}

static void
view_set_duration(struct view *w, const struct message_set *m, const char *name,
                  int64_t ms)
{
	struct strbuf b = STRBUF_INIT;

	if (ms != 0) {
		message_duration(m, duration_abs(ms), &b);
	}
	view_put(w, name, strbuf_take(&b));
}

static void
view_free(struct view *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->owned[i]);
	}
	w->n = 0;
}

static struct tpl_vars
vars_of(const struct view *w)
{
	struct tpl_vars v = { w->v, w->n };
	return v;
}

static void
format_time(const struct message_set *m, int64_t ms, char *buf, size_t len)
{
	if (tz_format(ms, m->tz_offset_min, buf, len) != HBMON_OK) {
		buf[0] = '\0';
	}
}

static const char *
or_unknown(const char *w)
{
	return w != NULL ? w : "UNKNOWN";
}

static void
add_subject(const Hbmon__V1__Alert *a, struct strbuf *b)
{
	/* Robot ids and account names are at most 64 bytes (rules.h). */
	char name[256];

	subject_name_format(name, sizeof(name), a->robot, a->account);
	strbuf_adds(b, name);
}

/*
 * The order accounts are listed in: those with open orders first (the
 * exposure the owner acts on), most orders first, then by name in natural
 * order (ACC_2 before ACC_10).
 */
static int
affected_order(const void *pa, const void *pb)
{
	const Hbmon__V1__AffectedAccount *a =
	    *(const Hbmon__V1__AffectedAccount *const *) pa;
	const Hbmon__V1__AffectedAccount *b =
	    *(const Hbmon__V1__AffectedAccount *const *) pb;

	if (a->open_orders != b->open_orders) {
		return a->open_orders > b->open_orders ? -1 : 1;
	}
	return strverscmp(a->account, b->account);
}

/* "1 open order", "3 open orders": the set's words for one and many. */
static const char *
open_orders_word(const struct message_set *m, uint32_t n)
{
	return n == 1 ? word(m, "words", "open_order", "open order")
	              : word(m, "words", "open_orders", "open orders");
}

/*
 * "To silence: hbctl ack 7 · To pause: hbctl pause R2 --for 1h": each of
 * the server's hints under the set's label for its hbctl verb ([hint] in
 * words.ini; a verb without one shows the bare command).
 */
static char *
hints_text(const struct message_set *m, const Hbmon__V1__AlertDetails *d)
{
	struct strbuf b = STRBUF_INIT;

	for (size_t i = 0; i < d->n_hints; i++) {
		const char *h = d->hints[i], *label;
		char verb[32] = "";

		if (strncmp(h, "hbctl ", 6) == 0) {
			snprintf(verb, sizeof(verb), "%.*s",
			         (int) strcspn(h + 6, " "), h + 6);
		}
		label = word(m, "hint", verb, NULL);
		strbuf_addf(&b, "%s%s%s%s", i > 0 ? " · " : "",
		            label != NULL ? label : "",
		            label != NULL ? ": " : "", h);
	}
	return strbuf_take(&b);
}

static void
view_details(struct view *w, const struct message_set *m,
             const Hbmon__V1__AlertDetails *d, bool firing)
{
	const Hbmon__V1__AffectedAccount *sorted[LIST_MAX_SORTED];
	size_t n_sorted;
	Hbmon__V1__AlertDetails none = HBMON__V1__ALERT_DETAILS__INIT;
	struct strbuf list = STRBUF_INIT;
	char when[RFC3339_MAX] = "";
	uint32_t with_orders = 0;
	const char *status;

	if (d == NULL) {
		d = &none;
	}
	view_setf(w, "misses", "%u", d->misses);
	view_set(w, "heartbeats_word",
	         d->misses == 1 ? word(m, "words", "heartbeat", "heartbeat")
	                        : word(m, "words", "heartbeats", "heartbeats"));
	/* "ipc": heard over a local socket, on the server's machine. */
	view_set(w, "host",
	         d->host != NULL && strcmp(d->host, "ipc") == 0
	             ? word(m, "words", "ipc_host", "a local socket")
	             : d->host);
	view_set_duration(w, m, "duration", d->duration_ms);
	if (d->last_seen_ms > 0) {
		format_time(m, d->last_seen_ms, when, sizeof(when));
	}
	view_set(w, "last_seen", when);
	view_setf(w, "open_orders", "%u", d->open_orders);
	view_set(w, "open_orders_word", open_orders_word(m, d->open_orders));
	n_sorted =
	    d->n_affected < LIST_MAX_SORTED ? d->n_affected : LIST_MAX_SORTED;
	if (n_sorted > 0) { /* d->affected is NULL when there are none */
		memcpy(sorted, d->affected, n_sorted * sizeof(*sorted));
		qsort(sorted, n_sorted, sizeof(*sorted), affected_order);
	}
	for (size_t i = 0; i < d->n_affected; i++) {
		if (d->affected[i]->open_orders > 0) {
			with_orders++;
		}
	}
	for (size_t i = 0; i < n_sorted && i < LIST_SHOWN; i++) {
		const Hbmon__V1__AffectedAccount *x = sorted[i];
		strbuf_addf(&list, "%s%s (%s", i > 0 ? ", " : "", x->account,
		            or_unknown(words_account(x->status)));
		if (x->open_orders > 0) {
			strbuf_addf(&list, ", %u %s", x->open_orders,
			            open_orders_word(m, x->open_orders));
		}
		strbuf_addc(&list, ')');
	}
	if (d->n_affected > LIST_SHOWN) {
		strbuf_addf(&list, " (+%zu)", d->n_affected - LIST_SHOWN);
	}
	view_put(w, "affected", strbuf_take(&list));
	view_setf(w, "affected_count", "%zu", d->n_affected);
	view_setf(w, "affected_with_orders", "%u", with_orders);
	view_set(w, "from_status", d->from_status);
	view_set(w, "to_status", d->to_status);
	status = d->to_status != NULL && d->to_status[0] != '\0'
	             ? word(m, "status", d->to_status, "")
	             : "";
	view_set(w, "status_text", status);
	view_set_duration(w, m, "skew", d->skew_ms);
	view_set(w, "skew_direction",
	         d->skew_ms == 0  ? ""
	         : d->skew_ms < 0 ? word(m, "words", "behind", "behind")
	                          : word(m, "words", "ahead", "ahead of"));
	for (size_t i = 0; i < d->n_missing_accounts && i < LIST_SHOWN; i++) {
		strbuf_addf(&list, "%s%s", i > 0 ? ", " : "",
		            d->missing_accounts[i]);
	}
	if (d->n_missing_accounts > LIST_SHOWN) {
		strbuf_addf(&list, " (+%zu)",
		            d->n_missing_accounts - LIST_SHOWN);
	}
	view_put(w, "missing_accounts", strbuf_take(&list));
	view_setf(w, "missing_count", "%zu", d->n_missing_accounts);
	view_set_duration(w, m, "outage", d->outage_ms);
	view_set(w, "unclean_stop", d->unclean_stop ? "1" : "");
	view_setf(w, "alerts_meanwhile", "%" PRIu64, d->alerts_meanwhile);
	view_set(w, "reason", d->reason);
	/* A recovery has nothing left to silence or pause. */
	if (firing) {
		view_put(w, "hints", hints_text(m, d));
	} else {
		view_set(w, "hints", "");
	}
	view_set(w, "resolves",
	         d->resolves != 0 ? or_unknown(words_alert_kind(d->resolves))
	                          : "");
	view_set(w, "resolves_text",
	         d->resolves != 0
	             ? word(m, "kind", words_alert_kind(d->resolves),
	                    or_unknown(words_alert_kind(d->resolves)))
	             : "");
}

/* Every value of alert a; the headline last, as it may use the others. */
static void
view_alert(struct view *w, const struct message_set *m,
           const Hbmon__V1__Alert *a)
{
	const char *kind = or_unknown(words_alert_kind(a->kind));
	const char *severity = or_unknown(words_severity(a->severity));
	const char *state = or_unknown(words_alert_state(a->state));
	bool resolved =
	    a->state == HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED;
	struct strbuf b = STRBUF_INIT;
	char when[RFC3339_MAX] = "";
	const struct word *headline = NULL;
	struct tpl_vars vars;

	w->n = 0;
	if (a->notifier != NULL && a->notifier[0] != '\0') {
		/* Raised by a notifier: in no outbox, numbered by it. */
		view_setf(w, "seq", "%s-%" PRIu64, a->notifier,
		          a->notifier_seq);
	} else {
		view_setf(w, "seq", "%" PRIu64, a->seq);
	}
	view_set(w, "kind", kind);
	view_set(w, "kind_text", word(m, "kind", kind, kind));
	view_set(w, "severity", severity);
	view_set(w, "severity_text", word(m, "severity", severity, severity));
	view_set(w, "state", state);
	view_set(w, "state_text", word(m, "state", state, state));
	view_set(w, "firing", resolved ? "" : "1");
	view_set(w, "resolved", resolved ? "1" : "");
	view_set(w, "icon",
	         word(m, "icon", resolved ? "resolved" : severity, ""));
	view_set(w, "robot", a->robot);
	view_set(w, "account", a->account);
	add_subject(a, &b);
	view_put(w, "subject", strbuf_take(&b));
	if (a->robot == NULL || a->robot[0] == '\0') {
		strbuf_adds(&b, word(m, "words", "server", "hbmon-server"));
	} else {
		bool acc = a->account != NULL && a->account[0] != '\0';
		strbuf_addf(&b, "%s ",
		            word(m, "words", acc ? "account" : "robot",
		                 acc ? "account" : "robot"));
		add_subject(a, &b);
	}
	view_put(w, "who", strbuf_take(&b));
	view_set(w, "summary", a->summary);
	format_time(m, a->raised_at_ms, when, sizeof(when));
	view_set(w, "raised_at", when);
	view_set(w, "dedupe_key", a->dedupe_key);
	if (a->repeat > 0) {
		view_setf(w, "repeat", "%u", a->repeat);
	} else {
		view_set(w, "repeat", "");
	}
	view_details(w, m, a->details, !resolved);
	view_set(w, "notifier", m->notifier);

	if (resolved && a->details != NULL && a->details->resolves != 0) {
		char key[64];
		snprintf(key, sizeof(key), "RECOVERED.%s",
		         or_unknown(words_alert_kind(a->details->resolves)));
		headline = find_word(m, "headline", key);
	}
	if (headline == NULL) {
		headline = find_word(m, "headline", kind);
	}
	if (headline != NULL && headline->tpl != NULL) {
		vars = vars_of(w);
		tpl_render(headline->tpl, &vars, TPL_TEXT, &b);
		view_put(w, "headline", strbuf_take(&b));
	} else {
		view_set(w, "headline", a->summary);
	}
}

/* The alert a batch header speaks of: the most severe one still firing. */
static size_t
worst(const Hbmon__V1__Alert *const *alerts, size_t n)
{
	size_t best = 0;
	int best_rank = -1;

	for (size_t i = 0; i < n; i++) {
		int rank = alerts[i]->state ==
		                   HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED
		               ? 0
		               : (int) alerts[i]->severity;
		if (rank > best_rank) {
			best = i;
			best_rank = rank;
		}
	}
	return best;
}

enum which { ALL, FIRING_ONLY, RESOLVED_ONLY };

/*
 * "EX, R1 (+3)": the distinct subjects of the alerts that are `which`, at
 * most SUBJECTS_SHOWN named. Appends to list; returns how many alerts.
 */
static size_t
subjects_of(const Hbmon__V1__Alert *const *alerts, size_t n, enum which which,
            struct strbuf *list)
{
	size_t shown = 0, count = 0;

	for (size_t i = 0; i < n; i++) {
		bool resolved = alerts[i]->state ==
		                HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED;
		struct strbuf s = STRBUF_INIT;
		bool seen = false;

		if ((which == FIRING_ONLY && resolved) ||
		    (which == RESOLVED_ONLY && !resolved)) {
			continue;
		}
		count++;
		add_subject(alerts[i], &s);
		for (size_t j = 0; j < i && !seen; j++) {
			struct strbuf t = STRBUF_INIT;
			bool r = alerts[j]->state ==
			         HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED;
			if (which == ALL || (which == RESOLVED_ONLY) == r) {
				add_subject(alerts[j], &t);
				seen =
				    strcmp(strbuf_str(&s), strbuf_str(&t)) == 0;
			}
			strbuf_free(&t);
		}
		if (!seen) {
			if (shown < SUBJECTS_SHOWN) {
				strbuf_addf(list, "%s%s", shown > 0 ? ", " : "",
				            strbuf_str(&s));
			}
			shown++;
		}
		strbuf_free(&s);
	}
	if (shown > SUBJECTS_SHOWN) {
		strbuf_addf(list, " (+%zu)", shown - SUBJECTS_SHOWN);
	}
	return count;
}

/* firing_count and firing_subjects, or resolved_*: empty when none. */
static void
view_split(struct view *w, const Hbmon__V1__Alert *const *alerts, size_t n,
           enum which which)
{
	bool firing = which == FIRING_ONLY;
	struct strbuf list = STRBUF_INIT;
	size_t count = subjects_of(alerts, n, which, &list);

	view_put(w, firing ? "firing_subjects" : "resolved_subjects",
	         strbuf_take(&list));
	if (count > 0) {
		view_setf(w, firing ? "firing_count" : "resolved_count", "%zu",
		          count);
	} else {
		view_set(w, firing ? "firing_count" : "resolved_count", "");
	}
}

/*
 * The values of a batch header: the worst alert's, count and subjects,
 * and the same split into those still firing and those resolved (so a
 * burst that holds an all-clear does not read as all down).
 */
static void
view_batch(struct view *w, const struct message_set *m,
           const Hbmon__V1__Alert *const *alerts, size_t n)
{
	struct strbuf list = STRBUF_INIT;

	view_alert(w, m, alerts[worst(alerts, n)]);
	view_setf(w, "count", "%zu", n);
	subjects_of(alerts, n, ALL, &list);
	view_put(w, "subjects", strbuf_take(&list));
	view_split(w, alerts, n, FIRING_ONLY);
	view_split(w, alerts, n, RESOLVED_ONLY);
}

/* Renders t for w, without the trailing blank lines a file ends with. */
static void
render_trimmed(const struct tpl *t, const struct view *w, enum tpl_escape esc,
               struct strbuf *out)
{
	struct tpl_vars vars = vars_of(w);
	size_t start = out->len;

	tpl_render(t, &vars, esc, out);
	while (out->len > start && (out->text[out->len - 1] == '\n' ||
	                            out->text[out->len - 1] == ' ' ||
	                            out->text[out->len - 1] == '\r')) {
		strbuf_truncate(out, out->len - 1);
	}
}

void
message_telegram(const struct message_set *m,
                 const Hbmon__V1__Alert *const *alerts, size_t n, size_t limit,
                 struct strbuf *out, size_t *taken)
{
	struct strbuf *blocks = calloc(n, sizeof(*blocks));
	struct strbuf header = STRBUF_INIT;
	struct view w;
	size_t k = 1, total;

	if (blocks == NULL) {
		out->failed = true;
		*taken = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		view_alert(&w, m, alerts[i]);
		render_trimmed(m->telegram, &w, TPL_HTML, &blocks[i]);
		view_free(&w);
	}
	/* As many whole alerts as fit under the header for that many. */
	for (size_t c = 2; c <= n; c++) {
		strbuf_truncate(&header, 0);
		view_batch(&w, m, alerts, c);
		render_trimmed(m->telegram_batch, &w, TPL_HTML, &header);
		view_free(&w);
		total = header.len;
		for (size_t i = 0; i < c; i++) {
			total += strlen(BLOCK_SEP) + blocks[i].len;
		}
		if (total > limit) {
			break;
		}
		k = c;
	}
	if (k == 1) {
		html_truncate(strbuf_str(&blocks[0]), blocks[0].len, limit,
		              out);
	} else {
		strbuf_truncate(&header, 0);
		view_batch(&w, m, alerts, k);
		render_trimmed(m->telegram_batch, &w, TPL_HTML, &header);
		view_free(&w);
		strbuf_add(out, header.text, header.len);
		for (size_t i = 0; i < k; i++) {
			strbuf_adds(out, BLOCK_SEP);
			strbuf_add(out, strbuf_str(&blocks[i]), blocks[i].len);
		}
	}
	for (size_t i = 0; i < n; i++) {
		out->failed |= blocks[i].failed;
		strbuf_free(&blocks[i]);
	}
	out->failed |= header.failed;
	strbuf_free(&header);
	free(blocks);
	*taken = k;
}

/* Makes a subject one line: line breaks the template has become spaces. */
static void
one_line(struct strbuf *b, size_t start)
{
	for (size_t i = start; i < b->len; i++) {
		if (b->text[i] == '\n' || b->text[i] == '\r' ||
		    b->text[i] == '\t') {
			b->text[i] = ' ';
		}
	}
}

void
message_email(const struct message_set *m,
              const Hbmon__V1__Alert *const *alerts, size_t n,
              struct strbuf *subject, struct strbuf *body)
{
	struct view w;
	size_t start = subject->len;

	if (n == 1) {
		view_alert(&w, m, alerts[0]);
		view_setf(&w, "count", "%zu", n);
		render_trimmed(m->email_subject, &w, TPL_TEXT, subject);
		render_trimmed(m->email_body, &w, TPL_TEXT, body);
		strbuf_adds(body, "\n\n");
		render_trimmed(m->email_footer, &w, TPL_TEXT, body);
		view_free(&w);
	} else {
		view_batch(&w, m, alerts, n);
		render_trimmed(m->email_batch_subject, &w, TPL_TEXT, subject);
		view_free(&w);
		for (size_t i = 0; i < n; i++) {
			if (i > 0) {
				strbuf_adds(body, MAIL_SEP);
			}
			view_alert(&w, m, alerts[i]);
			render_trimmed(m->email_body, &w, TPL_TEXT, body);
			view_free(&w);
		}
		view_batch(&w, m, alerts, n);
		strbuf_adds(body, "\n\n");
		render_trimmed(m->email_footer, &w, TPL_TEXT, body);
		view_free(&w);
	}
	strbuf_addc(body, '\n');
	one_line(subject, start);
}

void
message_text(const struct message_set *m, const Hbmon__V1__Alert *a,
             struct strbuf *out)
{
	const Hbmon__V1__Alert *list[] = { a };
	struct strbuf html = STRBUF_INIT;
	size_t taken;

	message_telegram(m, list, 1, SIZE_MAX, &html, &taken);
	html_to_text(strbuf_str(&html), out);
	out->failed |= html.failed;
	strbuf_free(&html);
}
