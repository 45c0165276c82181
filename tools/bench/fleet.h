/*
 * A fleet of simulated robots that keep their schedule (hbmon-bench
 * detect): open-loop load, unlike loadgen's closed loop. Every robot
 * sends one ReportBatch (its robot heartbeat and one heartbeat per
 * account still reporting) every period, the robots' batches spread
 * evenly over the period, whether or not the server keeps up. How late
 * the fleet itself sends is measured, because a benchmark whose load
 * generator falls behind measures nothing.
 *
 * Requests are unsigned (the server runs with auth = none), so the load
 * is the server's own work, not the client's HMAC. Robot i is
 * "det-NNNNNN" (i from 0), its accounts "ACC_001", "ACC_002", ...
 */
#ifndef HBMON_BENCH_FLEET_H
#define HBMON_BENCH_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latency.h"
#include "silence.h"

#define FLEET_NAME_MAX 32

struct fleet_options {
	const char *url;
	uint32_t robots;
	uint32_t accounts;         /* per robot */
	int64_t period_ns;         /* each robot sends a batch this often */
	int64_t start_ns;          /* monotonic: robot 0's first batch is due */
	int64_t measure_from_ns;   /* batches due earlier are the warm-up */
	uint32_t inflight_max;     /* requests in flight at most */
	int64_t reply_timeout_ms;  /* a batch unanswered this long fails */
	struct silence_plan *plan; /* NULL: nobody falls silent */
};

struct fleet_stats {
	uint64_t sent;       /* batches sent */
	uint64_t accepted;   /* batches whose every heartbeat was recorded */
	uint64_t heartbeats; /* heartbeats in accepted batches */
	uint64_t errors;     /* batches that failed */
	char first_error[512];
	/* Rounds a robot missed because its previous batch was still
	 * unanswered when the next was due (a robot has one in flight). */
	uint64_t skipped;
	uint32_t robots_heard; /* robots with at least one accepted batch */
	/* How late batches left: send time minus due time. */
	struct latency lag_warmup;
	struct latency lag;   /* after the warm-up */
	int64_t lag_max_ns;   /* after the warm-up */
	struct latency reply; /* request to reply, after the warm-up */
	/* The longest time a robot's subjects could have gone unheard by
	 * the server: from an accepted batch's request to the next accepted
	 * batch's reply, over batches due after the warm-up. A subject that
	 * keeps its schedule stays under interval_max. */
	int64_t gap_max_ns;
};

struct fleet;

/*
 * Connects to opts->url and starts sending on a thread of its own. opts
 * and opts->plan must outlive the fleet. out: stopped and freed with
 * fleet_stop. Returns HBMON_OK, or HBMON_EUNAVAIL / HBMON_EIO /
 * HBMON_ENOMEM with why filled.
 */
int fleet_start(const struct fleet_options *opts, struct fleet **out, char *why,
                size_t why_len);

/* A snapshot of the figures so far. Thread-safe. */
void fleet_stats_get(struct fleet *f, struct fleet_stats *out);

/*
 * Stops sending, waits for the replies still due (at most the reply
 * timeout), disconnects and frees f; out (may be NULL) gets the final
 * figures. NULL is a no-op.
 */
void fleet_stop(struct fleet *f, struct fleet_stats *out);

/* Robot i's id. */
void fleet_robot_name(uint32_t robot, char *buf, size_t len);

/* The index of a robot id of the fleet; false when it is not one. */
bool fleet_robot_index(const char *id, uint32_t *out);

/* The index of an account name of the fleet; false when it is not one. */
bool fleet_account_index(const char *name, uint32_t *out);

#endif
