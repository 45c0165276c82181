/*
 * The silences of one detection run (hbmon-bench detect): which subjects
 * stop reporting, from when, and what became of each. The fleet fills in
 * the last heartbeat the server accepted before a silence; the alert
 * watcher fills in the alert that followed. Both do so under the plan's
 * lock, since they run on different threads.
 *
 * Each silenced subject lives on a robot of its own: a silenced account's
 * robot lowers its active_accounts by one, as a truthful robot would, and
 * two silences on one robot soon after each other would keep the server's
 * ACCOUNT_MISMATCH window open long enough to raise a (correct) alert that
 * the benchmark would then have to explain away.
 */
#ifndef HBMON_BENCH_SILENCE_H
#define HBMON_BENCH_SILENCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* account of a silence that is a whole robot */
#define SILENCE_ROBOT (-1)

struct silence {
	uint32_t robot;     /* index in the fleet */
	int32_t account;    /* account index, or SILENCE_ROBOT */
	int64_t planned_ns; /* monotonic: the robot's first batch due from
	                       then on leaves the subject out */

	/* Set by the fleet when the first batch without it was due. */
	bool effective;
	int64_t effective_ns;
	/* The last batch with the subject that the server accepted: when
	 * its request left and when its reply arrived. The server heard
	 * the subject in between, so its deadline lies between these plus
	 * (miss_threshold + 1) intervals. 0: none was accepted. */
	int64_t last_send_ns;
	int64_t last_reply_ns;

	/* Set by the watcher. */
	uint32_t alerts;       /* HEARTBEAT_MISSED alerts received for it */
	int64_t alert_ns;      /* monotonic, at the first one's SUB receive */
	int64_t alert_wall_ms; /* wall clock at the same moment */
	int64_t raised_at_ms;  /* that alert's raised_at_ms (server wall) */
	/* Its details.last_seen_ms: the server's wall clock when it received
	 * the subject's last heartbeat, before any queueing. */
	int64_t last_seen_ms;

	int32_t next; /* next silence of the same robot, or -1 */
};

struct silence_plan {
	pthread_mutex_t lock; /* guards every silence's mutable fields */
	struct silence *items;
	size_t n;
	int32_t *first; /* per robot: its first silence, or -1 */
	uint32_t robots;
	uint32_t accounts; /* per robot */
};

/*
 * Plans n_accounts account silences and n_robots whole-robot silences
 * over robots robots of accounts accounts each: every silence on its own
 * robot, the robots spread evenly over the fleet (and so over its send
 * schedule), the moments spread evenly over spread_ns from start_ns, the
 * whole robots spread evenly among the accounts. An account silence takes
 * the robot's last account. Release with silence_plan_fini, also on
 * failure. Returns HBMON_OK, HBMON_EINVAL (more silences than robots, or
 * an account silence with no accounts; why says so) or HBMON_ENOMEM.
 */
int silence_plan_make(struct silence_plan *p, uint32_t robots,
                      uint32_t accounts, uint32_t n_accounts, uint32_t n_robots,
                      int64_t start_ns, int64_t spread_ns, char *why,
                      size_t why_len);

/* Frees what silence_plan_make allocated. */
void silence_plan_fini(struct silence_plan *p);

/*
 * The silence of robot's account (SILENCE_ROBOT: the robot itself), or
 * NULL when that subject is never silenced. Call with p->lock held, or
 * before the run starts.
 */
struct silence *silence_find(struct silence_plan *p, uint32_t robot,
                             int32_t account);

/* Whether robot falls silent as a whole (at some point). */
bool silence_robot_planned(const struct silence_plan *p, uint32_t robot);

#endif
