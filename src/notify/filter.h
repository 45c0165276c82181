/*
 * Which alerts a notifier delivers: severity at least min_severity, kind
 * in a list, robot in a list (empty lists: all).
 *
 * Two rules keep all-clears from being lost: a RECOVERED alert (always
 * severity info) passes the severity filter, and it passes the kinds filter
 * when the kind it resolves is listed. Server alerts (no robot, e.g.
 * SERVER_RESTARTED) pass the robots filter: they concern every robot.
 */
#ifndef HBMON_NOTIFY_FILTER_H
#define HBMON_NOTIFY_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "hbmon/v1/alert.pb-c.h"

#define FILTER_KINDS_MAX  16
#define FILTER_ROBOTS_MAX 64

struct filter {
	int min_severity; /* Hbmon__V1__Severity */
	int kinds[FILTER_KINDS_MAX];
	size_t n_kinds;
	char robots[FILTER_ROBOTS_MAX][65];
	size_t n_robots;
};

/*
 * Builds a filter. min_severity: "info", "warning" or "critical"; kinds
 * and robots: comma-separated lists, spaces allowed around items, "" for
 * all. why names the bad item. Returns HBMON_OK, HBMON_EINVAL or
 * HBMON_ERANGE (too many items).
 */
int filter_init(struct filter *f, const char *min_severity, const char *kinds,
                const char *robots, char *why, size_t why_len);

/* Whether alert a is to be delivered. */
bool filter_pass(const struct filter *f, const Hbmon__V1__Alert *a);

#endif
