/*
 * The simulated robot engine behind hbmon-robot: N accounts whose states
 * change at random (seeded, so a run can be repeated) along the seed's two
 * diagrams only, and scripted faults for demos and tests.
 */
#ifndef HBMON_ROBOT_SIM_H
#define HBMON_ROBOT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/client.h"

#define SIM_FAULTS_MAX 64

enum sim_fault_kind {
	SIM_DIE,     /* die@T: the process exits without a word */
	SIM_DEGRADE, /* degrade@T: robot -> degraded */
	SIM_RECOVER, /* recover@T: robot -> healthy */
	SIM_EXPIRE,  /* expire=ACC@T: account -> expired */
	SIM_ERROR,   /* error=ACC@T: account -> error */
	SIM_SILENT,  /* silent=ACC@T: the account's heartbeats stop */
	SIM_RESUME,  /* resume=ACC@T: they start again */
	SIM_SKEW,    /* skew=+90s@T: the robot's clock jumps */
};

struct sim_fault {
	enum sim_fault_kind kind;
	int64_t at_ms;   /* since start */
	int account;     /* index, for account faults */
	int64_t skew_ms; /* for SIM_SKEW */
	bool done;
	char text[96]; /* as written, for messages */
};

struct sim_account {
	char name[HBMON_NAME_MAX + 1];
	hbmon_account_status status;
	bool session_valid;
	uint32_t open_orders;
	bool pinned; /* a fault owns it: no random changes */
	bool silent;
};

struct sim {
	uint64_t rng;
	double change_rate; /* chance per account per tick */
	hbmon_health_status health;
	bool health_pinned;
	struct sim_account *accounts;
	size_t n_accounts;
	struct sim_fault faults[SIM_FAULTS_MAX];
	size_t n_faults;
	int64_t skew_ms;
};

/*
 * Prepares n accounts ACC_001.. in their first states, drawn from seed.
 * Returns HBMON_OK or HBMON_ENOMEM. Release with sim_fini.
 */
int sim_init(struct sim *s, size_t n, uint64_t seed, double change_rate);

void sim_fini(struct sim *s);

/*
 * Parses one --fault argument and adds it. Account faults pin their
 * account, so that the fault's transition is one the diagram allows.
 * why: the reason on failure. Returns HBMON_OK, HBMON_EINVAL, or
 * HBMON_ENOMEM (too many faults).
 */
int sim_add_fault(struct sim *s, const char *arg, char *why, size_t why_len);

/*
 * Applies random changes for one tick. log(arg, line) is told each change
 * (may be NULL).
 */
void sim_tick(struct sim *s, void (*log)(void *arg, const char *line),
              void *arg);

/*
 * Applies every fault due by elapsed_ms; returns the first due SIM_DIE, if
 * any (the caller exits), else NULL. log as for sim_tick.
 */
const struct sim_fault *sim_faults_due(struct sim *s, int64_t elapsed_ms,
                                       void (*log)(void *arg, const char *line),
                                       void *arg);

/* Milliseconds from start of the next fault not yet done, or -1. */
int64_t sim_next_fault_ms(const struct sim *s);

/* The robot heartbeat's fields for the current state. */
void sim_robot_state(const struct sim *s, hbmon_robot_state *out);

/* Account i's heartbeat fields (name points into s). */
void sim_account_state(const struct sim *s, size_t i, hbmon_account_state *out);

#endif
