/*
 * The alert watcher of hbmon-bench detect: an nng SUB socket on the
 * server's PUB socket and a thread that stamps every alert with the time
 * it arrived and judges it against the silence plan:
 *
 * - expected: the first HEARTBEAT_MISSED of a subject that fell silent;
 *   its arrival time goes into the plan;
 * - false: any alert about a subject that kept its schedule (never
 *   silenced, or not yet silent when the alert came);
 * - unexpected: anything else — a second alert for a silenced subject,
 *   another kind about it, an account of a silent robot alerted on its
 *   own (the robot's alert covers it), a server alert, a message that is
 *   not an alert.
 */
#ifndef HBMON_BENCH_WATCH_H
#define HBMON_BENCH_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "silence.h"

struct watch_stats {
	uint64_t received; /* messages on the SUB socket */
	uint64_t expected; /* first HEARTBEAT_MISSED of a silenced subject */
	uint64_t false_alerts;
	uint64_t unexpected;
	char first_false[512];
	char first_unexpected[512];
};

struct watch;

/*
 * Subscribes to everything on url (the server's PUB socket) and starts
 * the watching thread. plan must outlive the watcher. out: stopped with
 * watch_stop. Returns HBMON_OK, or HBMON_EUNAVAIL / HBMON_EIO /
 * HBMON_ENOMEM with why filled.
 */
int watch_start(const char *url, struct silence_plan *plan, struct watch **out,
                char *why, size_t why_len);

/* A snapshot of the counts so far. Thread-safe. */
void watch_stats_get(struct watch *w, struct watch_stats *out);

/*
 * Closes the socket, joins the thread and frees w; out (may be NULL)
 * gets the final counts. NULL is a no-op.
 */
void watch_stop(struct watch *w, struct watch_stats *out);

#endif
