/* Alert filters. */
#include "notify/filter.h"

#include <stdio.h>
#include <string.h>

#include "common/words.h"
#include "hbmon/error.h"

#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

/*
 * Calls item(word) for each comma-separated word of list, trimmed. Returns
 * the first error item returns.
 */
static int
each_item(const char *list,
          int (*item)(struct filter *, const char *, char *, size_t),
          struct filter *f, char *why, size_t why_len)
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

static int
add_kind(struct filter *f, const char *word, char *why, size_t why_len)
{
	Hbmon__V1__AlertKind kind;

	if (words_alert_kind_parse(word, &kind) != HBMON_OK) {
		snprintf(why, why_len,
		         "kinds: '%s' is not an alert kind (HEARTBEAT_MISSED, "
		         "RECOVERED, STATUS_CHANGED, INVALID_TRANSITION, "
		         "CLOCK_SKEW, ACCOUNT_MISMATCH, SERVER_RESTARTED, "
		         "LISTENER_RESTARTED, SERVER_UNREACHABLE, "
		         "STORAGE_FAILING, DISK_SPACE_LOW)",
		         word);
		return HBMON_EINVAL;
	}
	if (f->n_kinds == FILTER_KINDS_MAX) {
		snprintf(why, why_len, "kinds: more than %d", FILTER_KINDS_MAX);
		return HBMON_ERANGE;
	}
	f->kinds[f->n_kinds++] = (int) kind;
	return HBMON_OK;
}

static int
add_robot(struct filter *f, const char *word, char *why, size_t why_len)
{
	if (strlen(word) >= sizeof(f->robots[0])) {
		snprintf(why, why_len, "robots: '%.20s...' is too long", word);
		return HBMON_EINVAL;
	}
	if (f->n_robots == FILTER_ROBOTS_MAX) {
		snprintf(why, why_len, "robots: more than %d",
		         FILTER_ROBOTS_MAX);
		return HBMON_ERANGE;
	}
	snprintf(f->robots[f->n_robots++], sizeof(f->robots[0]), "%s", word);
	return HBMON_OK;
}

int
filter_init(struct filter *f, const char *min_severity, const char *kinds,
            const char *robots, char *why, size_t why_len)
{
	Hbmon__V1__Severity sev;
	int rv;

	memset(f, 0, sizeof(*f));
	if (words_severity_parse(min_severity, &sev) != HBMON_OK) {
		snprintf(why, why_len,
		         "min_severity: '%s' is not info, warning or critical",
		         min_severity);
		return HBMON_EINVAL;
	}
	f->min_severity = (int) sev;
	if ((rv = each_item(kinds, add_kind, f, why, why_len)) != HBMON_OK) {
		return rv;
	}
	return each_item(robots, add_robot, f, why, why_len);
}

static bool
kind_listed(const struct filter *f, int kind)
{
	for (size_t i = 0; i < f->n_kinds; i++) {
		if (f->kinds[i] == kind) {
			return true;
		}
	}
	return false;
}

bool
filter_pass(const struct filter *f, const Hbmon__V1__Alert *a)
{
	bool all_clear = a->kind == K(RECOVERED);
	int resolves = a->details != NULL ? (int) a->details->resolves : 0;

	if (!all_clear && (int) a->severity < f->min_severity) {
		return false;
	}
	if (f->n_kinds > 0 && !kind_listed(f, (int) a->kind) &&
	    !(all_clear && resolves != 0 && kind_listed(f, resolves))) {
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
