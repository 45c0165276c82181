/* Which alerts a reader is shown; the rules are in alert_filter.h. */
#include "common/alert_filter.h"

#include <stdio.h>
#include <string.h>

#include "common/words.h"
#include "hbmon/error.h"

#define KIND_RECOVERED HBMON__V1__ALERT_KIND__ALERT_KIND_RECOVERED

void
alert_filter_init(struct alert_filter *f)
{
	memset(f, 0, sizeof(*f));
}

/*
 * Calls item(f, word) for each comma-separated word of list, trimmed.
 * Returns the first error item returns.
 */
static int
each_item(const char *list,
          int (*item)(struct alert_filter *, const char *, char *, size_t),
          struct alert_filter *f, char *why, size_t why_len)
{
	const char *p = list;

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t) (end - p) : strlen(p);
		char word[128];
		int rv;

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
			len--;
		}
		if (len == 0 || len >= sizeof(word)) {
			snprintf(why, why_len, "empty or too long item in '%s'",
			         list);
			return HBMON_EINVAL;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		if ((rv = item(f, word, why, why_len)) != HBMON_OK) {
			return rv;
		}
		if (end == NULL) {
			break;
		}
		p = end + 1;
	}
	return HBMON_OK;
}

int
alert_filter_set_severity(struct alert_filter *f, const char *word, char *why,
                          size_t why_len)
{
	Hbmon__V1__Severity sev;

	if (words_severity_parse(word, &sev) != HBMON_OK) {
		snprintf(why, why_len,
		         "'%s' is not one of info, warning, critical", word);
		return HBMON_EINVAL;
	}
	f->min_severity = (int) sev;
	return HBMON_OK;
}

static int
add_kind(struct alert_filter *f, const char *word, char *why, size_t why_len)
{
	Hbmon__V1__AlertKind kind;
	size_t n;

	if (words_alert_kind_parse(word, &kind) == HBMON_OK &&
	    (unsigned) kind < 64) {
		f->kinds |= UINT64_C(1) << kind;
		return HBMON_OK;
	}
	/* Every kind there is, from the words table: new kinds show up. */
	n = (size_t) snprintf(why, why_len, "'%s' is not an alert kind (",
	                      word);
	for (int k = 1; k < 64 && n < why_len; k++) {
		const char *w = words_alert_kind((Hbmon__V1__AlertKind) k);
		if (w != NULL) {
			n += (size_t) snprintf(why + n, why_len - n, "%s%s",
			                       k > 1 ? ", " : "", w);
		}
	}
	if (n < why_len) {
		snprintf(why + n, why_len - n, ")");
	}
	return HBMON_EINVAL;
}

int
alert_filter_add_kinds(struct alert_filter *f, const char *list, char *why,
                       size_t why_len)
{
	return each_item(list, add_kind, f, why, why_len);
}

static int
add_robot(struct alert_filter *f, const char *word, char *why, size_t why_len)
{
	if (strlen(word) > ALERT_FILTER_NAME_MAX) {
		snprintf(why, why_len, "'%.20s...' is too long for a robot id",
		         word);
		return HBMON_EINVAL;
	}
	if (f->n_robots == ALERT_FILTER_ROBOTS_MAX) {
		snprintf(why, why_len, "more than %d robots",
		         ALERT_FILTER_ROBOTS_MAX);
		return HBMON_ERANGE;
	}
	snprintf(f->robots[f->n_robots++], sizeof(f->robots[0]), "%s", word);
	return HBMON_OK;
}

int
alert_filter_add_robots(struct alert_filter *f, const char *list, char *why,
                        size_t why_len)
{
	return each_item(list, add_robot, f, why, why_len);
}

/* Runs one setting, putting its name in front of why. */
static int
setting(const char *name,
        int (*set)(struct alert_filter *, const char *, char *, size_t),
        struct alert_filter *f, const char *value, char *why, size_t why_len)
{
	char inner[512];
	int rv = set(f, value, inner, sizeof(inner));

	if (rv != HBMON_OK) {
		snprintf(why, why_len, "%s: %s", name, inner);
	}
	return rv;
}

int
alert_filter_parse(struct alert_filter *f, const char *min_severity,
                   const char *kinds, const char *robots, char *why,
                   size_t why_len)
{
	int rv;

	alert_filter_init(f);
	if ((rv = setting("min_severity", alert_filter_set_severity, f,
	                  min_severity, why, why_len)) != HBMON_OK ||
	    (rv = setting("kinds", alert_filter_add_kinds, f, kinds, why,
	                  why_len)) != HBMON_OK) {
		return rv;
	}
	return setting("robots", alert_filter_add_robots, f, robots, why,
	               why_len);
}

static bool
kind_listed(const struct alert_filter *f, int kind)
{
	return kind > 0 && kind < 64 && (f->kinds & (UINT64_C(1) << kind));
}

bool
alert_filter_pass(const struct alert_filter *f, const Hbmon__V1__Alert *a)
{
	bool all_clear = a->kind == KIND_RECOVERED;
	int resolves = a->details != NULL ? (int) a->details->resolves : 0;

	if ((all_clear && f->no_recovered) ||
	    (a->seq <= f->past_seq && a->raised_at_ms < f->raised_after_ms)) {
		return false;
	}
	if (!all_clear && (int) a->severity < f->min_severity) {
		return false;
	}
	if (f->kinds != 0 && !kind_listed(f, (int) a->kind) &&
	    !(all_clear && kind_listed(f, resolves))) {
		return false;
	}
	if (f->n_robots > 0 && a->robot != NULL && a->robot[0] != '\0') {
		for (size_t i = 0; i < f->n_robots; i++) {
			if (strcmp(f->robots[i], a->robot) == 0) {
				return true;
			}
		}
		return false;
	}
	return true;
}
