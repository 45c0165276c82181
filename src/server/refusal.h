/*
 * Rate-limited logging of what a listener refuses: connections (caps,
 * accept rate, failed handshakes, deadlines) and requests (bad bytes,
 * failed authentication). A peer that is refused 10,000 times a second
 * must not be able to fill the disk or bury everything else in the log,
 * yet the owner must see at once that something is being refused.
 *
 * So, per listener and per period (refusal_log_interval): the first
 * refusal of each log level is logged at once with its details, and every
 * later one in the same period is only counted, by peer and reason; when
 * the period ends, one summary line gives the counts, the number of peers
 * and the biggest groups. At most five lines per listener per period
 * (one per level, one summary), however many refusals. Values go through
 * log_write, which escapes them.
 *
 * Thread-safe: one lock per log, held only to count or to format a line.
 */
#ifndef HBMON_SERVER_REFUSAL_H
#define HBMON_SERVER_REFUSAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

/* Distinct (peer, reason) groups counted per period; the rest are
 * counted as "others". */
#define REFUSAL_GROUPS 16
/* The longest peer name kept for a group ("[v6 address]"). */
#define REFUSAL_PEER_MAX 64

struct refusal_group {
	char peer[REFUSAL_PEER_MAX];
	const char *reason; /* a static phrase */
	uint64_t count;
};

struct refusal_log {
	pthread_mutex_t lock;
	char listener[32];    /* the listener's name in every line */
	int64_t interval_ms;  /* the period */
	int64_t period_start; /* monotonic ms; 0: no period open */
	int said;             /* highest level logged at once; -1: none */
	enum log_level level; /* the highest level only counted */
	uint64_t counted;     /* refusals only counted in this period */
	uint64_t others;      /* ... of them, not in a group */
	size_t n_groups;
	struct refusal_group groups[REFUSAL_GROUPS];
};

/*
 * Prepares r for the listener named listener (copied, cut to fit) with
 * periods of interval_ms (> 0). Allocates nothing.
 */
void refusal_init(struct refusal_log *r, const char *listener,
                  int64_t interval_ms);

/* Writes what is still counted and releases the lock. */
void refusal_fini(struct refusal_log *r);

/*
 * Notes one refusal at level. peer: who was refused, without a port so
 * that a peer's many connections count as one (e.g. "192.0.2.7", "ipc");
 * reason: a short static phrase ("connection cap", "request refused");
 * fields, ...: the log_write field template and values of the line
 * written when this is the first refusal of the period (the listener,
 * peer and reason fields are added before them). Thread-safe.
 */
void refusal_note(struct refusal_log *r, enum log_level level, const char *peer,
                  const char *reason, const char *fields, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Writes the summary of a period that has ended (call it now and then,
 * e.g. from the listener's tick; refusal_note also does it).
 * now_ms: monotonic. Thread-safe.
 */
void refusal_flush(struct refusal_log *r, int64_t now_ms);

#endif
