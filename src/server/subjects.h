/*
 * The latest reported state of every robot and account, in memory: what
 * the state rules compare a new heartbeat against. Loaded from the store at
 * start-up; owned by the recorder thread, which alone changes it.
 *
 * A robot's own subject has account "" ; its accounts are keyed by
 * (robot id, account name), so robot A can never reach robot B's accounts.
 */
#ifndef HBMON_SERVER_SUBJECTS_H
#define HBMON_SERVER_SUBJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "server/hashtab.h"
#include "server/store.h"
#include "server/wheel.h"

struct episode;

/* What the server concludes from timing (SPEC §3.2). */
enum liveness {
	LIVE_OK = 0,   /* heard within interval_max (or in start-up grace) */
	LIVE_LATE = 1, /* miss count >= 1 */
	LIVE_DOWN = 2, /* miss count > miss_threshold */
};

/*
 * One robot or account. Every field has one owner that writes it; all of
 * them run on the recorder thread (the engine is driven by the recorder,
 * admin reads of memory run there too), so no lock guards a subject.
 *
 *   subjects.c   the names, hash and id, and the robot <-> accounts links:
 *                set by subjects_add, undone by subjects_remove
 *   recorder.c   what the heartbeats report (status ... timestamp_offset),
 *                interval_ms, dirty; and, while it loads the state at
 *                start-up (before engine_start), last_seen_ms and
 *                paused_until_ms from the store
 *   engine.c     liveness: timer, episodes, heard, expected, heard_at,
 *                count_from, liveness, mismatch_since, host; last_seen_ms once
 * a heartbeat is heard (engine_heard); paused_until_ms (engine_pause);
 *                interval_ms when an admin changes it (engine_set_interval)
 *   admin        reads only, through engine_liveness and the accessors
 *                below
 *
 * Invariants (asserted in engine.c and subjects.c): timer is the first
 * member and tagged WHEEL_SUBJECT; an account's robot, when set, is a
 * robot's subject of the same robot id; every episode in episodes points
 * back to this subject.
 */
struct subject {
	/* engine: the liveness deadline in the engine's wheel. First
	 * member: the wheel hands back the entry and the engine casts it to
	 * the subject (static_assert in engine.c). */
	struct wheel_entry timer;

	/* subjects.c */
	int64_t id;               /* subjects.id in the store */
	struct subject *robot;    /* accounts: their robot's subject, if any */
	struct subject *accounts; /* robots: first of their accounts */
	struct subject *next_account; /* accounts: next of the same robot */
	uint32_t n_accounts;          /* robots: accounts known */
	uint32_t hash;

	/* engine */
	struct episode *episodes; /* open alert episodes */
	int64_t last_seen_ms;     /* server wall clock; 0: never */
	int64_t heard_at;         /* liveness clock of the last heartbeat in
	                             this run; 0: not heard since start */
	int64_t count_from;       /* liveness clock misses are counted from */
	int64_t paused_until_ms;  /* wall clock; 0: not paused */
	int64_t mismatch_since;   /* robots: liveness clock the
	                             active_accounts mismatch began; 0: none */
	char *host; /* robots: the peer their last heartbeat (or an
	               account's) came from, malloc'd; NULL: not heard since
	               start-up */

	/* recorder: the latest heartbeat */
	int64_t timestamp_ms;     /* the last heartbeat's own timestamp */
	uint32_t interval_ms;     /* interval_max for this subject */
	uint32_t open_orders;     /* accounts */
	uint32_t active_accounts; /* robots */
	uint32_t active_tasks;    /* robots */
	int32_t status;           /* last reported; 0 before the first */
	int16_t timestamp_offset; /* UTC offset of the last timestamp */
	bool session_valid;       /* accounts */
	bool dirty; /* latest state not yet written to the store */

	/* engine */
	uint8_t liveness; /* enum liveness */
	bool heard;       /* has ever sent a heartbeat */
	bool expected;    /* robots: registered, nothing heard of it yet */

	/* subjects.c: robot id, NUL, account name, NUL */
	uint8_t robot_len;
	char names[];
};

/* The robot id of a subject. */
static inline const char *
subject_robot(const struct subject *s)
{
	return s->names;
}

/* The account name of a subject, "" for a robot. */
static inline const char *
subject_account(const struct subject *s)
{
	return s->names + s->robot_len + 1;
}

struct subjects {
	struct hashtab table;
};

/* Prepares an empty set. */
void subjects_init(struct subjects *set);

/* Frees every subject. */
void subjects_fini(struct subjects *set);

/* The subject robot/account (account "" for the robot), or NULL. */
struct subject *subjects_find(struct subjects *set, const char *robot,
                              const char *account);

/*
 * Adds a subject with id and no state yet. out: the new subject, owned by
 * the set. Returns HBMON_OK, HBMON_EEXIST, or HBMON_ENOMEM.
 */
int subjects_add(struct subjects *set, const char *robot, const char *account,
                 int64_t id, struct subject **out);

/* Whether s is a robot's own subject (not an account). */
static inline bool
subject_is_robot(const struct subject *s)
{
	return s->names[s->robot_len + 1] == '\0';
}

/*
 * Removes s from the set and frees it, unlinking it from its robot's
 * account list. The caller has already cancelled its timer and episodes.
 */
void subjects_remove(struct subjects *set, struct subject *s);

/* Calls fn for every subject; fn must not add or remove subjects. */
int subjects_each(struct subjects *set, int (*fn)(struct subject *s, void *arg),
                  void *arg);

/* Number of subjects. */
size_t subjects_count(const struct subjects *set);

/*
 * The subject's last heartbeat timestamp in RFC 3339 with the offset it
 * was sent with, into buf (at least RFC3339_MAX bytes); "" when never
 * heard. From memory only: what the latest heartbeat said, whether or not
 * it is written yet. Returns buf.
 */
char *subject_timestamp(const struct subject *s, char *buf, size_t buf_len);

/*
 * Compares two names in natural order, as a person lists accounts:
 * digit runs by their value ("ACC_2" before "ACC_10", "ACC_001" before
 * "ACC_002"), everything else byte by byte. Returns <0, 0 or >0.
 */
int subject_name_cmp(const char *a, const char *b);

/*
 * One heartbeat as the documented JSON (compact, the seed's keys), from
 * the fields the store keeps of it; account "" for a robot heartbeat. The
 * one place a heartbeat becomes JSON on the server (alert details, History
 * replies). Returns a malloc'd string the caller frees, or NULL without
 * memory.
 */
char *subject_heartbeat_json(const char *account,
                             const struct store_heartbeat_row *hb);

/*
 * The latest heartbeat of s as documented JSON, from memory (with the
 * heartbeat's own timestamp; the row written behind may be older, or not
 * written yet). As subject_heartbeat_json.
 */
char *subject_last_json(const struct subject *s);

#endif
