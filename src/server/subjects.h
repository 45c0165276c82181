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
#include "server/wheel.h"

struct episode;

/* What the server concludes from timing (SPEC §3.2). */
enum liveness {
	LIVE_OK = 0,   /* heard within interval_max (or in start-up grace) */
	LIVE_LATE = 1, /* miss count >= 1 */
	LIVE_DOWN = 2, /* miss count > miss_threshold */
};

struct subject {
	/* Liveness deadline in the engine's wheel. First member: the wheel
	 * hands back the entry and the engine casts it to the subject. */
	struct wheel_entry timer;
	int64_t id;               /* subjects.id in the store */
	struct subject *robot;    /* accounts: their robot's subject, if any */
	struct subject *accounts; /* robots: first of their accounts */
	struct subject *next_account; /* accounts: next of the same robot */
	struct episode *episodes;     /* open alert episodes */
	int64_t last_seen_ms;         /* server wall clock; 0: never */
	int64_t heard_at;             /* liveness clock of the last heartbeat in
	                                 this run; 0: not heard since start */
	int64_t count_from;       /* liveness clock misses are counted from */
	int64_t paused_until_ms;  /* wall clock; 0: not paused */
	int64_t mismatch_since;   /* robots: liveness clock the
	                             active_accounts mismatch began; 0: none */
	int64_t timestamp_ms;     /* the last heartbeat's own timestamp */
	uint32_t interval_ms;     /* interval_max for this subject */
	uint32_t n_accounts;      /* robots: accounts known */
	uint32_t open_orders;     /* accounts */
	uint32_t active_accounts; /* robots */
	uint32_t active_tasks;    /* robots */
	int32_t status;           /* last reported; 0 before the first */
	uint32_t hash;
	int16_t timestamp_offset; /* UTC offset of the last timestamp */
	uint8_t liveness;         /* enum liveness */
	bool dirty;         /* latest state not yet written to the store */
	bool session_valid; /* accounts */
	bool heard;         /* has ever sent a heartbeat */
	uint8_t robot_len;
	/* robot id, NUL, account name, NUL */
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

#endif
