/*
 * The server's judgement of itself (SPEC §3.6): one place that says
 * whether hbmon-server is healthy, degraded or unhealthy, and why. It feeds
 * the systemd watchdog, the keepalive, the health reported to a watching
 * server, and later /healthz.
 *
 * It holds observations, not threads: the recorder notes each iteration
 * (its tick and whether its transaction committed), the listener
 * self-check notes each listener's answer and replacement, and whoever
 * wants a verdict calls health_judge.
 *
 *   unhealthy  the server cannot do its job: the recorder has not
 *              committed for stall_ms (a wedged writer, a held database
 *              lock, a dead disk), its tick has not come round for
 *              stall_ms, or a listener does not answer its self-check.
 *              The watchdog is not fed: systemd restarts the server;
 *              except when the only trouble is a database the recorder
 *              says it cannot write (health_note_storage) while its tick
 *              goes on: liveness and alerts then go on from memory
 *              (STORAGE_FAILING), a restart mends no disk, and it would
 *              start every robot's grace period again (SPEC §3.5).
 *   degraded   it works, but a person should look: a listener was replaced
 *              within replaced_for_ms, a commit took longer than
 *              slow_commit_ms within the last minute, the data dir's file
 *              system has less than disk_free_min bytes free, or requests
 *              have queued at the writer (at least backlog_max waiting) for
 *              backlog_for_ms.
 *   healthy    otherwise.
 *
 * Times are on the monotonic clock (clock_mono_ms). Every function is
 * thread-safe (one mutex, held only to copy a few fields).
 */
#ifndef HBMON_SERVER_HEALTH_H
#define HBMON_SERVER_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The same numbers as hbmon.v1.HealthStatus. */
enum health_level {
	HEALTH_HEALTHY = 1,
	HEALTH_DEGRADED = 2,
	HEALTH_UNHEALTHY = 3,
};

/* Listeners the self-check can report on. */
#define HEALTH_LISTENERS_MAX 8

struct health_options {
	const char *data_dir;    /* whose file system is watched for space */
	int64_t stall_ms;        /* 0: 10 s */
	int64_t slow_commit_ms;  /* 0: 1 s */
	uint64_t disk_free_min;  /* bytes; 0: 256 MiB */
	int64_t replaced_for_ms; /* 0: 15 min */
	size_t backlog_max;      /* 0: 64 */
	int64_t backlog_for_ms;  /* 0: 5 s */
};

struct health_verdict {
	enum health_level level;
	/* The watchdog may be fed: tick fresh, recorder committing (or
	 * its database known not to take writes, see health_note_storage),
	 * listeners answering. */
	bool watchdog_ok;
	char problem[256];      /* one sentence; "" when healthy */
	uint64_t committed_seq; /* highest alert seq known committed */
};

struct health;

/*
 * Creates the observations, as if the recorder had just committed at
 * now_ms (it starts before anyone asks). out: freed with health_close.
 * Returns HBMON_OK or HBMON_ENOMEM.
 */
int health_open(const struct health_options *opts, int64_t now_ms,
                struct health **out);

/* Frees h. NULL is fine. */
void health_close(struct health *h);

/*
 * The recorder ran one iteration from start_ms to end_ms; committed: its
 * transaction committed; committed_seq: the engine's committed alert seq
 * afterwards. NULL h is fine (a recorder without health).
 */
void health_note_iteration(struct health *h, int64_t start_ms, int64_t end_ms,
                           bool committed, uint64_t committed_seq);

/*
 * The recorder's database cannot be written (failing, with why in a few
 * words, e.g. "disk full"), or can again. Said when STORAGE_FAILING fires
 * and resolves. NULL h is fine.
 */
void health_note_storage(struct health *h, bool failing, const char *why);

/*
 * For the listener self-check: registers a listener by name (its URL) and
 * returns its id in *out_id. Returns HBMON_OK or HBMON_ERANGE (more than
 * HEALTH_LISTENERS_MAX). Until it is first checked a listener counts as
 * answering.
 */
int health_listener_add(struct health *h, const char *name, int *out_id);

/* Listener id answered its self-check (answering) or did not, at now_ms. */
void health_listener_checked(struct health *h, int id, bool answering,
                             int64_t now_ms);

/* Listener id was replaced at now_ms (after a failed check). */
void health_listener_replaced(struct health *h, int id, int64_t now_ms);

/* How many times listeners were replaced since health_open, all added up. */
uint64_t health_listener_restarts(struct health *h);

/*
 * The verdict at now_ms; pending: requests waiting at the writer now
 * (recorder_pending). Reads the data dir's free space (statvfs).
 */
void health_judge(struct health *h, int64_t now_ms, size_t pending,
                  struct health_verdict *out);

#endif
