/*
 * The recorder: the single writer that owns the database connection, the
 * in-memory latest state and the alert engine. Workers hand it jobs (one
 * per request); it applies the state rules in arrival order, writes
 * everything a batch of jobs produces in one transaction (group commit),
 * and only then tells each job it is done, so that a reply never promises
 * what is not on disk. Every tick (10 ms) it also advances the engine's
 * deadlines in the same transaction, then publishes the alerts that were
 * committed. When idle it prunes raw heartbeats older than `retention`
 * and alerts older than `alert_retention` that every notifier has passed,
 * and it watches the free space of the data dir (`disk_free_min`).
 *
 * Threads. One writer at a time ("the writer" below), but not one fixed
 * thread:
 * - A thread that submits a job while nobody writes becomes the writer:
 *   inside recorder_submit it runs iterations (rules, engine tick,
 *   commit: an fsync under `durability = full`) until its own job is
 *   finished (and answered), and while more is queued on for at most a
 *   tick (tick_ms) longer; what is still queued then is left to the
 *   recorder thread. So a request at light load is recorded and
 *   answered on the nng thread that received it without waking another,
 *   and recorder_submit blocks on the database for its own iteration
 *   plus at most a tick; a thread that finds someone writing only queues
 *   its job and returns at once.
 * - The recorder thread writes what submitters left queued, ticks when
 *   nobody writes (deadlines, alerts), and prunes when idle.
 * - A checkpoint thread copies the WAL into the database from a second
 *   connection (recorder_options.checkpoint_store).
 * Everything of the recorder's memory (subjects, engine, clocks, store
 * connection) is touched only by the writer: exec jobs and recorder_read
 * functions run there; the accessors below assert it.
 *
 * Completion: each job ends with exactly one call of its done, after its
 * transaction committed or failed, never with a recorder lock held. The
 * writer calls it directly when the job is its own (recorder_submit has
 * not returned yet); every other job's done runs on an nng task thread,
 * handed over through an aio of the recorder's. Its owner needs no other
 * path: ingest and admin reply from done.
 *
 * Its liveness clock is the monotonic clock minus the time the recorder
 * itself was stalled (a paused process, an overloaded machine, a slow
 * disk): a stall of the server is not blamed on robots (SPEC §3.2).
 */
#ifndef HBMON_SERVER_RECORDER_H
#define HBMON_SERVER_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rfc3339.h"
#include "hbmon/v1/heartbeat.pb-c.h"
#include "server/engine.h"
#include "server/health.h"
#include "server/publisher.h"
#include "server/registry.h"
#include "server/store.h"
#include "server/subjects.h"

/* One heartbeat of a job. Exactly one of robot_hb / account_hb is set. */
struct recorder_item {
	const Hbmon__V1__RobotHeartbeat *robot_hb;
	const Hbmon__V1__AccountHeartbeat *account_hb;
	struct rfc3339_time timestamp; /* parsed by the worker */
	bool skip; /* rejected (by the worker, or the recorder): not
	              recorded */
	int err;   /* the recorder's refusal, an hbmon_err (HBMON_ENOMEM: a
	              limit is reached); HBMON_OK: none */
	/* Results, filled by the recorder: */
	bool recorded;
	bool not_allowed; /* the transition is not in the diagram */
	/* The sentence for ReportResult.message, malloc'd, or NULL. The job's
	 * owner frees it (also when the worker set it for a skipped item). */
	char *note;
};

struct recorder;

struct recorder_job {
	/* An operation to run on the writer instead of recording
	 * heartbeats (the admin service's writes, recorder_read): called inside
	 * the transaction; its return value becomes job->status (an
	 * hbmon_err; HBMON_EIO rolls the whole batch back). */
	int (*exec)(struct recorder *rec, struct recorder_job *job);
	struct robot *robot;
	uint64_t seq;
	uint8_t sig[32];
	bool has_sig;
	int64_t received_ms; /* server wall clock at receipt */
	const char *peer;    /* who sent it ("192.0.2.7", "ipc"), or NULL;
	                        valid until done, told to the engine */
	/* What is recorded of the request (enum store_request_kind): its
	 * accepted heartbeats, protobuf-encoded; owned by the job's owner. */
	int kind;
	uint32_t items_recorded;
	const uint8_t *payload;
	size_t payload_len;
	size_t n_items;
	struct recorder_item *items;
	/* An exec job that only reads memory: its status does not depend on
	 * the transaction's commit (recorder_read). */
	bool reads_only;
	/* HBMON_OK when every item's writes are committed; otherwise
	 * HBMON_EIO and nothing of the job was recorded (why: the database's
	 * fault in a few words, e.g. "disk full"). */
	int status;
	const char *why;
	/* An exec job's changes to memory that must wait until its writes
	 * are durable (a new secret, a removed robot): called on the writer
	 * after the commit, before done, only when the commit and exec
	 * succeeded. May be NULL. */
	void (*committed)(struct recorder_job *job);
	/* Called exactly once when the job is over (see "Completion" above):
	 * on the submitting thread inside recorder_submit, or on an nng
	 * thread. Must not block on the recorder (no recorder_read); may
	 * free the job. */
	void (*done)(struct recorder_job *job);
	void *arg;
	struct recorder_job *next; /* queue link, recorder's */
};

struct recorder_options {
	int64_t retention_ms;
	/* Alerts are pruned after this long, but never past the lowest
	 * delivered seq of the readers (notifiers) heard from within it.
	 * 0: never. */
	int64_t alert_retention_ms;
	/* Below this many bytes free in the data dir: DISK_SPACE_LOW, and
	 * pruning goes on without pauses. 0: not watched. */
	int64_t disk_free_min;
	uint32_t batch_max;
	bool auth_none;          /* robots unknown to the store are created */
	int64_t interval_max_ms; /* unless a robot has its own */
	int64_t tick_ms;         /* how often deadlines are looked at */
	int64_t
	    flush_interval_ms; /* latest state written at least this often */
	bool flush_when_idle;  /* ... and at once while load is light */
	/* Dirty subjects written per iteration while a flush is under way;
	 * 0: at least 4096, more for long flushes (tests set it small). */
	size_t flush_slice;
	uint32_t accounts_max; /* per robot; 0: no limit */
	struct engine_options engine;
	struct registry *registry;   /* per-robot interval overrides */
	struct publisher *publisher; /* may be NULL */
	/* A second connection to the same database: when given, a thread
	 * of the recorder checkpoints the WAL through it, so the writer never
	 * does (and never waits for the fsyncs that go with it). The
	 * recorder closes it. */
	struct store *checkpoint_store;
	/* Told of every iteration: its tick and whether it committed
	 * (SPEC §3.6). May be NULL. */
	struct health *health;
	/* The WAL's ceiling (store_set_wal_max): past it, the writer waits
	 * for a full checkpoint between two commits. 0: 64 MiB. */
	int64_t wal_max;
};

/*
 * Packs the heartbeats of items[0..n) that are not skipped into one
 * HeartbeatBatch (what is recorded of a batch with refused items).
 * out: malloc'd bytes, the caller frees them. Returns HBMON_OK or
 * HBMON_ENOMEM. Thread-safe.
 */
int recorder_pack_items(const struct recorder_item *items, size_t n,
                        uint8_t **out, size_t *out_len);

/*
 * Loads the latest state from store, starts the alert engine (raising
 * SERVER_RESTARTED when the store shows an earlier run: a warning when it
 * did not stop cleanly or was away longer than interval_max) and the
 * recorder
 * thread, which then owns store (closed by recorder_stop). Returns
 * HBMON_OK, HBMON_ENOMEM, or HBMON_EIO.
 */
int recorder_start(struct store *store, const struct recorder_options *opts,
                   struct recorder **out);

/*
 * Queues a job. When nobody is writing, the caller writes until the job
 * is finished (its done has run on this thread before this returns), one
 * transaction and its commit, and on for at most tick_ms while more is
 * queued; otherwise it returns at once and done runs later on an nng
 * thread. Either way the caller must
 * not touch the job after this returns OK unless done told it to.
 * Returns HBMON_OK, or HBMON_ECLOSED once recorder_stop has begun (the
 * job is then not queued and done is not called). Thread-safe; not from
 * an exec job or a done callback of a job this thread is writing.
 */
int recorder_submit(struct recorder *rec, struct recorder_job *job);

/* Jobs queued or being written right now. Thread-safe. */
size_t recorder_pending(struct recorder *rec);

/*
 * The one way other threads read the recorder's memory (subjects, engine,
 * clocks): runs fn(arg, rec) on the writer, in order with the jobs queued
 * before it, and returns when it has run. fn must not block and must copy
 * what it needs (nothing of the state may be kept). Works whether or not
 * the database can be written. Returns HBMON_OK or HBMON_ECLOSED
 * (stopping: fn did not run). Thread-safe; blocks the caller until the
 * writer has run fn (the caller may be that writer, as recorder_submit),
 * never the recorder.
 */
int recorder_read(struct recorder *rec,
                  void (*fn)(void *arg, struct recorder *rec), void *arg);

/*
 * On the writer (a recorder_read fn): the notifier reader has
 * delivered every alert up to delivered (its durable cursor), seen at
 * wall. Kept in memory, written behind with the latest state; pruning
 * never passes the lowest such cursor. Returns HBMON_OK or HBMON_ENOMEM.
 */
int recorder_note_reader(struct recorder *rec, const char *reader,
                         uint64_t delivered, int64_t wall);

/*
 * Whether the database cannot be written right now (STORAGE_FAILING
 * holds or is about to): writes other than heartbeats (the Admin
 * service's) are refused meanwhile. Thread-safe.
 */
bool recorder_storage_failing(struct recorder *rec);

/*
 * For exec jobs, committed() and recorder_read functions, on the writer
 * only (asserted): the state they may read and change, and the current
 * readings of the liveness and wall clocks.
 */
struct store *recorder_store(struct recorder *rec);
struct subjects *recorder_subjects(struct recorder *rec);
struct engine *recorder_engine(struct recorder *rec);
void recorder_clock(struct recorder *rec, int64_t *now, int64_t *wall);

/*
 * On the writer: removes s from the state (it is freed) and from
 * what is waiting to be written. Its engine state must be gone first.
 */
void recorder_remove_subject(struct recorder *rec, struct subject *s);

/*
 * On the writer: the subject robot/account, created (with no
 * state) when missing. Returns HBMON_OK, HBMON_ENOMEM or HBMON_EIO.
 */
int recorder_subject(struct recorder *rec, const char *robot,
                     const char *account, struct subject **out);

/*
 * Records every queued job, commits, notes in the store that the server
 * stopped cleanly, stops the thread, and closes the store. NULL is fine.
 */
void recorder_stop(struct recorder *rec);

#endif
