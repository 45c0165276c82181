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

struct subject {
	int64_t id;               /* subjects.id in the store */
	int32_t status;           /* last reported; 0 before the first */
	bool session_valid;       /* accounts */
	uint32_t open_orders;     /* accounts */
	uint32_t active_accounts; /* robots */
	uint32_t active_tasks;    /* robots */
	int64_t last_seen_ms;     /* server wall clock; 0: never */
	uint32_t hash;
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

/* Number of subjects. */
size_t subjects_count(const struct subjects *set);

#endif
