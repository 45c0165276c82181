/*
 * hbctl alerts: which alerts to show and how (cmd_alerts.c), and
 * following new ones as they are raised (follow.c).
 */
#ifndef HBMON_HBCTL_ALERTS_H
#define HBMON_HBCTL_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/alert_filter.h"
#include "hbctl.h"
#include "hbmon/v1/alert.pb-c.h"

/* Prints the column header of human output (nothing with --json). */
void alert_print_header(const struct hbctl *h);

/* Prints a as one line: a JSON object (--json) or aligned columns. */
void alert_print(const struct hbctl *h, const Hbmon__V1__Alert *a);

/*
 * hbctl alerts --open (alerts_open.c): prints the open episodes that
 * pass filter, oldest first, or "Nothing is firing." Returns an exit
 * code (HBCTL_EXIT_OK when shown, nothing firing included).
 */
int alerts_open_run(struct hbctl *h, const struct alert_filter *filter);

struct follow_options {
	uint64_t after_seq;         /* show alerts with seq above this */
	bool start_at_newest;       /* --new: after the newest alert instead */
	const char *publish_url;    /* NULL: only read the outbox */
	uint64_t count;             /* stop after this many shown; 0: never */
	int64_t poll_ms;            /* read the outbox when PUB is quiet */
	struct alert_filter filter; /* alerts not passing are not shown */
};

/*
 * Shows every alert after o->after_seq exactly once, in seq order, as it
 * is raised: subscribes to the PUB socket first, then catches up from
 * the outbox, and fills from the outbox any gap PUB leaves. Returns when
 * o->count alerts were shown or on SIGINT/SIGTERM (HBCTL_EXIT_OK), or
 * with an exit code when the server cannot be reached at the start.
 */
int follow_run(struct hbctl *h, const struct follow_options *o);

#endif
