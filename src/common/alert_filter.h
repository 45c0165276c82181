/*
 * Which alerts a reader is shown: the one rule set that hbctl alerts
 * (--severity, --kind, --robot, --no-recovered) and every notifier
 * (min_severity, kinds, robots, recovered, first_run) apply. docs/alerts.md
 * ("Filters") is the operators' copy of these rules.
 *
 * An alert passes when all of these hold:
 *  - severity: at least min_severity; a RECOVERED alert (always info)
 *    passes whatever min_severity is, so the all-clear of an alert that
 *    was shown is never held back;
 *  - kinds (empty: all): its kind is listed, or it is a RECOVERED whose
 *    resolved kind (details.resolves) is listed;
 *  - robots (empty: all): its robot is listed, or it has no robot (the
 *    server's own alerts, SERVER_RESTARTED, STORAGE_FAILING, ...: they
 *    concern every robot);
 *  - recovered (default true): false drops every RECOVERED alert, for a
 *    channel that only pages (hbctl --no-recovered, recovered = false);
 *  - past_seq, raised_after_ms (default 0: none): an alert with a seq up
 *    to past_seq (the outbox's end when a new notifier started) passes
 *    only if raised at or after raised_after_ms (wall ms): first_run =
 *    recent. Later alerts pass whatever their clock says.
 *
 * Filters apply where alerts are read, never to what is fetched or
 * subscribed: a gap in seq is only visible in the unfiltered stream
 * (alert_follow.h). Plain data; thread-safe to read once built.
 */
#ifndef HBMON_COMMON_ALERT_FILTER_H
#define HBMON_COMMON_ALERT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/alert.pb-c.h"

#define ALERT_FILTER_ROBOTS_MAX 64
#define ALERT_FILTER_NAME_MAX   64 /* a robot id (RULES_NAME_MAX) */

struct alert_filter {
	int min_severity; /* Hbmon__V1__Severity; 0: any */
	uint64_t kinds;   /* bit (1 << kind); 0: every kind */
	char robots[ALERT_FILTER_ROBOTS_MAX][ALERT_FILTER_NAME_MAX + 1];
	size_t n_robots;         /* 0: every robot */
	bool no_recovered;       /* RECOVERED alerts are dropped */
	uint64_t past_seq;       /* alerts up to here are the past */
	int64_t raised_after_ms; /* the past from this wall ms on passes */
};

/* A filter that passes every alert. */
void alert_filter_init(struct alert_filter *f);

/*
 * Sets min_severity from "info", "warning" or "critical". Returns
 * HBMON_OK, or HBMON_EINVAL with why ("'loud' is not info, warning or
 * critical").
 */
int alert_filter_set_severity(struct alert_filter *f, const char *word,
                              char *why, size_t why_len);

/*
 * Adds the kinds of a comma-separated list ("HEARTBEAT_MISSED,
 * CLOCK_SKEW"; spaces around items allowed). Returns HBMON_OK, or
 * HBMON_EINVAL with why naming the bad item and the kinds there are.
 */
int alert_filter_add_kinds(struct alert_filter *f, const char *list, char *why,
                           size_t why_len);

/*
 * Adds the robots of a comma-separated list. Returns HBMON_OK,
 * HBMON_EINVAL (an empty or too long item) or HBMON_ERANGE (more than
 * ALERT_FILTER_ROBOTS_MAX), with why.
 */
int alert_filter_add_robots(struct alert_filter *f, const char *list, char *why,
                            size_t why_len);

/*
 * alert_filter_init, then the three above; "" lists add nothing. why
 * starts with the setting's name ("kinds: ..."). Returns the first error.
 */
int alert_filter_parse(struct alert_filter *f, const char *min_severity,
                       const char *kinds, const char *robots, char *why,
                       size_t why_len);

/* Whether a passes f. */
bool alert_filter_pass(const struct alert_filter *f, const Hbmon__V1__Alert *a);

#endif
