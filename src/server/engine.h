/*
 * The alert engine (SPEC §3.2–§3.4): liveness from timing and alerts from
 * everything the server notices. Owned by the recorder thread and driven
 * inside its write transactions, so an alert is in the outbox exactly when
 * the state that caused it is committed; engine_flush then publishes what
 * was committed. When the transaction fails (a sick disk), decisions go on
 * from memory all the same: engine_flush publishes the alerts at once,
 * marked not_durable, and keeps them for AlertsAfter (engine_unwritten)
 * until the store has written them from its backlog (SPEC §3.5).
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

#include "hbmon/v1/admin.pb-c.h"
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
	const char *host;     /* the peer it came from ("192.0.2.7", "ipc"), or
	                         NULL; copied */
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
 * Raises LISTENER_RESTARTED (SPEC §3.6), a one-off warning: the listener
 * named listener, at url, failed its self-check (why: what failed, a few
 * words, also in details.reason) and was replaced. Returns HBMON_OK,
 * HBMON_ENOMEM or HBMON_EIO.
 */
int engine_listener_restarted(struct engine *e, const char *listener,
                              const char *url, const char *why, int64_t wall);

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
 * What the server concludes of s's timing at now (liveness clock) and
 * wall (SPEC §3.2), the one rule that status and alerts both follow:
 * paused (s or its robot) before anything else; unknown when never
 * heard; down when it is down (its deadline fired, or more than
 * miss_threshold intervals missed by now, ahead of the next tick); late
 * with at least one interval missed; ok otherwise. out_misses: whole
 * intervals missed at now (may be NULL). Reads only: call on the
 * engine's thread.
 */
Hbmon__V1__Liveness engine_liveness(const struct engine *e,
                                    const struct subject *s, int64_t now,
                                    int64_t wall, uint32_t *out_misses);

/*
 * After the transaction ended: publishes, in seq order, the alerts it
 * made, calling publish for each message (topic + packed Alert, see
 * common/alert_topic.h). written: it was committed (and with it everything
 * held back before); otherwise the alerts go out marked not_durable and
 * are kept until a later flush with written. Returns how many.
 */
size_t engine_flush(struct engine *e,
                    void (*publish)(void *arg, const uint8_t *msg, size_t len),
                    void *arg, bool written);

/*
 * Calls fn, in seq order, for up to limit alerts with seq > after that went
 * out but are not in the outbox yet (body: the packed Alert, without
 * not_durable set). Stops at fn's first non-zero return and returns it.
 */
int engine_unwritten(const struct engine *e, uint64_t after, uint32_t limit,
                     int (*fn)(void *arg, uint64_t seq, const uint8_t *body,
                               size_t len),
                     void *arg);

/* How many alerts went out that are not in the outbox yet. */
size_t engine_unwritten_count(const struct engine *e);

/*
 * At a clean stop, inside the last transaction: the seqs reserved but not
 * given out are released, so the next start continues without a gap.
 */
int engine_release_seqs(struct engine *e);

/* The highest alert seq given out (committed or pending), or skipped. */
uint64_t engine_last_seq(const struct engine *e);

/* The highest alert seq known to be in the outbox. */
uint64_t engine_committed_seq(const struct engine *e);

/*
 * The highest seq of an alert there is: in the outbox, or given out and
 * not written yet (never a seq skipped at start-up).
 */
uint64_t engine_given_seq(const struct engine *e);

/* One of the server's own conditions, as the recorder sees it now. */
struct engine_condition {
	int kind;   /* STORAGE_FAILING (critical), DISK_SPACE_LOW */
	bool holds; /* the writes fail / the space is below free_min */
	int fault;  /* STORAGE_FAILING: why (enum store_fault) */
	int64_t
	    free_bytes;   /* free in the data dir's file system; -1: unknown */
	int64_t free_min; /* DISK_SPACE_LOW: disk_free_min */
};

/*
 * Opens the condition's episode with a firing alert when it starts to
 * hold, and resolves it when it stops; nothing else changes while it
 * holds (its repeats every repeat_interval say the latest fault). Call in
 * a transaction like the other entry points. Returns HBMON_OK or
 * HBMON_ENOMEM.
 */
int engine_server_condition(struct engine *e, const struct engine_condition *c,
                            int64_t now, int64_t wall);

/* Whether the server condition kind has an open episode. */
bool engine_server_condition_holds(const struct engine *e, int kind);

/*
 * Gives s a new interval_max: its deadline moves to match (its misses are
 * counted in the new interval from now on).
 */
void engine_set_interval(struct engine *e, struct subject *s,
                         uint32_t interval_ms, int64_t now);

/*
 * robot was registered (RobotAdd), inside the transaction: unless it or
 * an account of it has been heard, it is expected to report within its
 * interval_max from now. If nothing of it is heard by then, a
 * HEARTBEAT_MISSED (warning) says it never reported; its first heartbeat
 * (or its first account's) resolves it.
 */
void engine_expect(struct engine *e, struct subject *robot, int64_t now);

/*
 * robot is being removed (RobotRemove), inside the transaction: every
 * open episode of it and of its accounts is resolved (RECOVERED,
 * details.subject_removed), so nothing stays firing for a robot that is
 * gone. engine_forget_subject follows once the removal is committed.
 * Returns HBMON_OK or HBMON_EIO.
 */
int engine_removed(struct engine *e, struct subject *robot, int64_t now,
                   int64_t wall);

/* An open episode, as engine_open_each shows it. */
struct engine_open {
	/*
	 * The episode as a repeat would say it now (summary, details):
	 * seq and dedupe_key of the alert that opened it, raised_at_ms
	 * when it opened, state firing, repeat the repeats sent so far.
	 * Valid during the call only.
	 */
	const Hbmon__V1__Alert *alert;
	int64_t last_alert_ms; /* wall ms of its latest alert */
	bool acked;            /* its repeats were stopped (engine_ack) */
};

/*
 * Calls fn for every open episode (what is firing now: the subjects'
 * and the server's own), in no particular order, with the words of now
 * and wall. Stops at fn's first non-zero return and returns it; 0 when
 * every episode was shown. Changes nothing: call on the engine's thread.
 */
int engine_open_each(struct engine *e, int64_t now, int64_t wall,
                     int (*fn)(void *arg, const struct engine_open *o),
                     void *arg);

/* Forgets s before it is removed: its timer and open episodes go. */
void engine_forget_subject(struct engine *e, struct subject *s);

#endif
