/*
 * The alert engine (SPEC §3.2–§3.4): liveness from timing and alerts from
 * everything the server notices. Owned by the recorder thread and driven
 * inside its write transactions, so an alert is in the outbox exactly when
 * the state that caused it is committed; engine_flush then publishes what
 * was committed.
 *
 * Time comes in as two readings: `now` on the liveness clock (monotonic,
 * with the server's own stalls taken out, so neither a wall-clock jump nor
 * a paused server is blamed on robots) and `wall` for what people read.
 *
 * Liveness: each subject is due again interval_max after it was last
 * heard. Whole intervals missed make it late (>= 1) and down
 * (> miss_threshold). One wheel entry per subject, re-armed lazily when it
 * fires, so a heartbeat costs no timer work.
 *
 * Alerts come in episodes (subject + kind, firing until resolved), with a
 * durable strictly increasing seq, repeats every repeat_interval until
 * acknowledged, roll-up of a down robot's accounts into one alert, and
 * silence while a subject is paused.
 */
#ifndef HBMON_SERVER_ENGINE_H
#define HBMON_SERVER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"
#include "server/subjects.h"

struct engine_options {
	uint32_t miss_threshold;
	int64_t repeat_interval_ms;
	int64_t clock_skew_max_ms;
	int64_t tick_ms; /* wheel resolution */
};

/* What the recorder tells the engine about a heartbeat it recorded. */
struct engine_heartbeat {
	int from_status; /* 0 for a first heartbeat */
	int to_status;
	bool allowed;         /* the diagram allows from -> to */
	int64_t timestamp_ms; /* the heartbeat's own timestamp */
	int64_t received_ms;  /* server wall clock at receipt: last seen */
};

struct engine;

/*
 * Loads the open episodes from store, attaches them to subjects and starts
 * every subject's liveness with one full interval of grace from now (SPEC
 * §3.2: no alert storm after the server's own downtime). Subjects down
 * with an open alert stay down. store and subjects must outlive the
 * engine. Returns HBMON_OK, HBMON_ENOMEM or HBMON_EIO.
 */
int engine_start(struct store *store, struct subjects *subjects,
                 const struct engine_options *opts, int64_t now, int64_t wall,
                 struct engine **out);

/* Frees the engine and its episodes (subjects are left alone). */
void engine_stop(struct engine *e);

/*
 * A heartbeat of s was recorded (inside the open transaction) and s holds
 * the state it reported; the engine sets s->last_seen_ms. s is alive:
 * resolves its silence, evaluates reported state, INVALID_TRANSITION and
 * CLOCK_SKEW. Returns HBMON_OK or HBMON_EIO (the transaction must then be
 * rolled back and the engine restarted from the store).
 */
int engine_heard(struct engine *e, struct subject *s,
                 const struct engine_heartbeat *hb, int64_t now, int64_t wall);

/*
 * A robot heartbeat and whatever accounts came with it were recorded:
 * compares active_accounts with the accounts heard (ACCOUNT_MISMATCH).
 */
int engine_robot_reported(struct engine *e, struct subject *robot, int64_t now,
                          int64_t wall);

/*
 * Fires every deadline due by now: late and down subjects, repeats, ends
 * of pauses. Call inside a transaction. Returns HBMON_OK or HBMON_EIO.
 */
int engine_tick(struct engine *e, int64_t now, int64_t wall);

/*
 * Raises SERVER_RESTARTED for an outage of outage_ms (SPEC §3.6): a
 * warning when the last run did not stop cleanly (unclean: kill -9, a
 * crash, power loss), or when the server was away longer than
 * interval_max_ms (robots went unwatched for more than an interval);
 * info otherwise. Returns HBMON_OK or HBMON_EIO.
 */
int engine_server_restarted(struct engine *e, int64_t outage_ms, bool unclean,
                            int64_t interval_max_ms, int64_t wall);

/*
 * Acknowledges the episode of alert seq: its repeats stop. by: who (may be
 * ""). why: a sentence on failure. Returns HBMON_OK, HBMON_ENOENT (no such
 * alert), HBMON_EINVAL (a one-off notice, or already resolved: nothing
 * repeats), or HBMON_EIO.
 */
int engine_ack(struct engine *e, uint64_t seq, const char *by, int64_t wall,
               char *why, size_t why_len);

/*
 * Silences s (and, for a robot, its accounts) until until_wall: no new
 * alerts and no repeats; when the pause ends, whatever is still wrong is
 * alerted. until_wall 0 resumes at once. Returns HBMON_OK or HBMON_EIO.
 */
int engine_pause(struct engine *e, struct subject *s, int64_t until_wall,
                 const char *reason, int64_t now, int64_t wall);

/* Whether s, or its robot, is paused at wall. */
bool engine_paused(const struct subject *s, int64_t wall);

/* Whole intervals s has missed at now (0 when heard in time). */
uint32_t engine_misses(const struct engine *e, const struct subject *s,
                       int64_t now);

/*
 * Publishes, in seq order, the alerts of the transaction just committed,
 * calling publish for each message (topic + packed Alert, see
 * common/alert_topic.h). Returns how many.
 */
size_t engine_flush(struct engine *e,
                    void (*publish)(void *arg, const uint8_t *msg, size_t len),
                    void *arg);

/* The highest alert seq given out (committed or pending). */
uint64_t engine_last_seq(const struct engine *e);

/* The highest alert seq known committed (as of the last flush). */
uint64_t engine_committed_seq(const struct engine *e);

/*
 * Gives s a new interval_max: its deadline moves to match (its misses are
 * counted in the new interval from now on).
 */
void engine_set_interval(struct engine *e, struct subject *s,
                         uint32_t interval_ms, int64_t now);

/* Forgets s before it is removed: its timer and open episodes go. */
void engine_forget_subject(struct engine *e, struct subject *s);

#endif
