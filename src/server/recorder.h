/*
 * The recorder: the one thread that owns the database connection and the
 * in-memory latest state. Workers hand it jobs (one per request); it applies
 * the state rules in arrival order, writes everything a batch of jobs
 * produces in one transaction (group commit), and only then tells each job
 * it is done, so that a reply never promises what is not on disk.
 * Between batches it prunes raw heartbeats older than `retention`.
 */
#ifndef HBMON_SERVER_RECORDER_H
#define HBMON_SERVER_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/heartbeat.pb-c.h"
#include "server/registry.h"
#include "server/store.h"
#include "server/subjects.h"

/* One heartbeat of a job. Exactly one of robot_hb / account_hb is set. */
struct recorder_item {
	const Hbmon__V1__RobotHeartbeat *robot_hb;
	const Hbmon__V1__AccountHeartbeat *account_hb;
	int64_t timestamp_ms; /* parsed by the worker */
	bool skip;            /* rejected by the worker: not to be recorded */
	/* Results, filled by the recorder: */
	bool recorded;
	bool not_allowed; /* the transition is not in the diagram */
	/* The sentence for ReportResult.message, malloc'd, or NULL. The job's
	 * owner frees it (also when the worker set it for a skipped item). */
	char *note;
};

struct recorder_job {
	struct robot *robot;
	uint64_t seq;
	uint8_t sig[32];
	bool has_sig;
	int64_t received_ms; /* server wall clock at receipt */
	size_t n_items;
	struct recorder_item *items;
	/* HBMON_OK when every item's writes are committed; otherwise
	 * HBMON_EIO and nothing of the job was recorded. */
	int status;
	/* Called once on the recorder thread after the commit (or failure).
	 * Must not block; may free the job. */
	void (*done)(struct recorder_job *job);
	void *arg;
	struct recorder_job *next; /* queue link, recorder's */
};

struct recorder_options {
	int64_t retention_ms;
	uint32_t batch_max;
	bool auth_none; /* robots unknown to the store are created */
};

struct recorder;

/*
 * Loads the latest state from store and starts the recorder thread, which
 * then owns store (closed by recorder_stop). Returns HBMON_OK,
 * HBMON_ENOMEM, or HBMON_EIO.
 */
int recorder_start(struct store *store, const struct recorder_options *opts,
                   struct recorder **out);

/*
 * Queues a job. Returns HBMON_OK, or HBMON_ECLOSED once recorder_stop has
 * begun (the job is then not queued and done is not called). Thread-safe;
 * never blocks on the database.
 */
int recorder_submit(struct recorder *rec, struct recorder_job *job);

/* Jobs queued or being written right now. Thread-safe. */
size_t recorder_pending(struct recorder *rec);

/*
 * Records every queued job, commits, stops the thread, and closes the
 * store. NULL is fine.
 */
void recorder_stop(struct recorder *rec);

#endif
