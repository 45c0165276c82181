/*
 * The server's database (SPEC §3.5): one SQLite file in the data dir, WAL
 * mode, versioned schema migrations. Kept: the robot registry, the latest
 * state of every subject, every heartbeat for `retention`, every state
 * transition (forever) and every alert (the outbox).
 *
 * One writer: the recorder thread owns the write connection (store_begin ..
 * store_commit). Other threads read through connections of their own
 * (store_open_reader), which WAL lets run beside the writer.
 *
 * A sick disk never blinds the monitor (SPEC §3.5): inside the writer's
 * transaction no write fails on its own. When one does (disk full, I/O
 * error, locked), the transaction is marked failed, the writes after it
 * are only journaled, and store_commit reports the failure. What memory
 * already decided — new subjects, state transitions, alerts, episodes,
 * pauses — is kept in a backlog and written first by the next transaction
 * that can commit, in the order it was made; the rest (requests, the
 * latest state written behind) is the caller's to redo. The backlog lives
 * in memory only (at most 256 MiB; past it writes are dropped, counted).
 */
#ifndef HBMON_SERVER_STORE_H
#define HBMON_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* What `durability` selects (SPEC §3.5). */
enum store_durability {
	STORE_NORMAL =
	    0,          /* survives kill -9 of the server (WAL, sync NORMAL) */
	STORE_FULL = 1, /* also survives power loss (fsync every commit) */
};

/* Name of the database file inside the data dir. */
#define STORE_FILE "hbmon.db"

/* Latest schema version this build knows. */
#define STORE_SCHEMA_VERSION 8

/*
 * Opens (creating if needed) data_dir/hbmon.db and brings its schema up to
 * date, each migration in its own transaction. A database from a newer
 * hbmon is refused. out: a store closed with store_close.
 * why: on failure a sentence naming the file and the reason.
 * Returns HBMON_OK, HBMON_EIO, HBMON_EBUSY (locked too long), or
 * HBMON_EINVAL (not an hbmon database, or too new).
 */
int store_open(const char *data_dir, enum store_durability durability,
               struct store **out, char *why, size_t why_len);

/*
 * Opens a read-only connection to an existing store (for queries beside
 * the writer). Returns as store_open; never migrates.
 */
int store_open_reader(const char *data_dir, struct store **out, char *why,
                      size_t why_len);

/*
 * The WAL's bound (SPEC §3.5). Checkpoints copy the WAL into the database
 * file; the WAL then starts again from its beginning once no reader uses
 * it, and journal_size_limit cuts the file back. Under sustained writes a
 * checkpoint that never waits (PASSIVE) never catches up with the writer
 * and the WAL grows without end; so the writer itself, between two
 * commits, runs one that waits for readers (RESTART) whenever the WAL is
 * past wal_max. The WAL file then stays under wal_max plus one commit.
 */
enum store_checkpoint_mode {
	STORE_CHECKPOINT_PASSIVE = 0,  /* copy what it can; never waits */
	STORE_CHECKPOINT_RESTART = 1,  /* copy all; wait for readers, so the
	                                  next commit starts the WAL over */
	STORE_CHECKPOINT_TRUNCATE = 2, /* RESTART, and empty the file */
};

/*
 * On the writer's connection: follows the WAL's size after every commit
 * (store_wal_bytes) and keeps the file at most wal_max / 4 once it starts
 * over (journal_size_limit). Turns SQLite's own automatic checkpoints off:
 * the caller decides with store_wal_bytes and store_checkpoint.
 */
void store_set_wal_max(struct store *s, int64_t wal_max);

/* Bytes of WAL the last commit of this connection left (0: none known). */
int64_t store_wal_bytes(const struct store *s);

/*
 * Checkpoints through this connection in mode, waiting at most wait_ms
 * for readers and writers (modes other than PASSIVE). out_wal_frames:
 * frames in the WAL afterwards (may be NULL). Returns HBMON_OK, HBMON_EBUSY
 * (a reader or another checkpoint kept it from completing; what could be
 * copied was) or HBMON_EIO.
 */
int store_checkpoint(struct store *s, enum store_checkpoint_mode mode,
                     int wait_ms, int *out_wal_frames);

/* Closes the connection; NULL is fine. */
void store_close(struct store *s);

/* The last SQLite error message of this connection, for logs. */
const char *store_errmsg(struct store *s);

/* ---- robot registry ---- */

struct store_robot {
	const char *robot;
	const char *secret;
	int64_t created_ms;
	uint64_t last_seq;       /* highest accepted request seq */
	const uint8_t *last_sig; /* its signature (32 bytes), or NULL */
	int64_t interval_max_ms; /* 0: the global setting */
	/* Lowercase hex SHA-256 of its ping token, or NULL: none. */
	const char *ping_hash;
};

/*
 * Registers a robot with its secret. Returns HBMON_OK, HBMON_EEXIST, or
 * HBMON_EIO. Runs its own transaction (not inside store_begin).
 */
int store_robot_add(struct store *s, const char *robot, const char *secret,
                    int64_t now_ms);

/*
 * Calls fn for every registered robot, in name order. The row's strings
 * are valid only during the call. Stops at fn's first non-zero return and
 * returns it; otherwise HBMON_OK or HBMON_EIO.
 */
int store_robots_each(struct store *s,
                      int (*fn)(void *arg, const struct store_robot *row),
                      void *arg);

/* ---- subjects: the latest state of robots and accounts ---- */

/* Kinds of a recorded request: which Monitor method carried it. */
enum store_request_kind {
	STORE_ROBOT = 1,   /* ReportRobot: payload is a RobotHeartbeat */
	STORE_ACCOUNT = 2, /* ReportAccount: an AccountHeartbeat */
	STORE_BATCH = 3,   /* ReportBatch: a HeartbeatBatch */
};

/*
 * One recorded request: the raw heartbeats for `retention`. payload holds
 * only the heartbeats that were accepted, protobuf-encoded as the kind
 * says.
 */
struct store_request {
	int64_t id;
	const char *robot;
	int64_t received_ms; /* server wall clock */
	uint64_t seq;
	const uint8_t *sig; /* 32 bytes, or NULL */
	int kind;           /* enum store_request_kind */
	uint32_t items;     /* heartbeats in payload */
	const uint8_t *payload;
	size_t payload_len;
};

/* A subject as loaded at start-up. */
struct store_subject {
	int64_t id;
	const char *robot;
	const char *account; /* "" for the robot itself */
	int status;          /* 0 when never heard from */
	bool session_valid;
	uint32_t open_orders;
	uint32_t active_accounts;
	uint32_t active_tasks;
	int64_t last_seen_ms; /* 0 when never heard from */
	const char *timestamp;
	int64_t paused_until_ms; /* wall clock; 0: not paused */
	const char *pause_reason;
	int64_t timestamp_ms; /* the timestamp, parsed */
};

/*
 * Calls fn for every subject. Strings valid during the call only. Returns
 * as store_robots_each.
 */
int store_subjects_each(struct store *s,
                        int (*fn)(void *arg, const struct store_subject *row),
                        void *arg);

/*
 * Reads one subject by id and hands it to fn; the row's strings are valid
 * during the call only (copy what must outlive it: the statement is reset
 * before this returns, so no read transaction stays open). Returns fn's
 * non-zero return, HBMON_OK, HBMON_ENOENT, or HBMON_EIO.
 */
int store_subject_get(struct store *s, int64_t id,
                      int (*fn)(void *arg, const struct store_subject *row),
                      void *arg);

/*
 * Silences a subject for maintenance until until_ms (wall clock; 0 ends a
 * pause). Returns HBMON_OK or HBMON_EIO.
 */
int store_subject_pause(struct store *s, int64_t id, int64_t until_ms,
                        const char *reason);

/* ---- writing (the recorder thread, between store_begin and commit) ---- */

/*
 * Starts a write transaction and writes the backlog first. Whatever it
 * returns, the transaction is open for writes and must end with
 * store_commit or store_rollback: HBMON_EIO says it has already failed
 * (the database could not be locked or written, or writes are held), and
 * its writes are only journaled.
 */
int store_begin(struct store *s);

/*
 * Ends the transaction. HBMON_OK: it and the backlog are committed (the
 * backlog is empty). HBMON_EIO: nothing of it is committed; its retained
 * writes joined the backlog (store_fault says why).
 */
int store_commit(struct store *s);

/*
 * Abandons the open transaction as a failed one (its retained writes join
 * the backlog); outside a transaction rolls back whatever SQLite has open.
 */
void store_rollback(struct store *s);

/*
 * Whether the open transaction has failed already (a write did): what
 * follows is only journaled. False outside a transaction.
 */
bool store_txn_failed(const struct store *s);

/*
 * hold: until called again with false, transactions do not even try the
 * database (store_begin returns HBMON_EIO at once): the writer's back-off
 * while the disk is sick, so that ticks stay cheap.
 */
void store_hold_writes(struct store *s, bool hold);

/*
 * How long a statement waits for another connection's lock (default
 * 5000 ms). The writer waits briefly: its ticks must go on.
 */
void store_set_busy_timeout(struct store *s, int ms);

/* Bytes free for the server in the file system of the data dir; -1. */
int64_t store_free_bytes(const struct store *s);

/* Why the database could not be written (SPEC §3.5: the alert says so). */
enum store_fault {
	STORE_FAULT_NONE = 0,
	STORE_FAULT_FULL,     /* disk full (SQLITE_FULL) */
	STORE_FAULT_IO,       /* I/O error, or the file cannot be opened */
	STORE_FAULT_LOCKED,   /* another process holds the write lock */
	STORE_FAULT_READONLY, /* the file or file system is read-only */
	STORE_FAULT_CORRUPT,  /* the file is damaged */
	STORE_FAULT_NOMEM,    /* SQLite ran out of memory */
	STORE_FAULT_WAL,      /* the WAL is past its hard ceiling (recorder) */
	STORE_FAULT_OTHER,
};

/* The fault of the last failed transaction (NONE after a commit). */
enum store_fault store_fault(const struct store *s);

/* The fault in a few words ("disk full"). */
const char *store_fault_text(enum store_fault f);

/*
 * The backlog: retained writes waiting (out_ops, out_bytes) and how many
 * were ever dropped (the cap, no memory, refused as constraint errors).
 * Any out may be NULL.
 */
void store_backlog(const struct store *s, size_t *out_ops, size_t *out_bytes,
                   uint64_t *out_dropped);

/*
 * Creates the subject row for robot/account (account "" for the robot).
 * out_id: its id, given by the store (so it holds also when the row is
 * written later, from the backlog). Returns HBMON_OK or HBMON_EIO.
 */
int store_subject_create(struct store *s, const char *robot,
                         const char *account, int64_t now_ms, int64_t *out_id);

/*
 * Appends a request to the raw heartbeats. out_id: its id (may be NULL).
 * Returns HBMON_OK or HBMON_EIO.
 */
int store_request_record(struct store *s, const struct store_request *r,
                         int64_t *out_id);

/*
 * Adds requests after_id < id <= upto_id to the by-robot index that
 * store_requests_of reads; already indexed ones are skipped. The server
 * indexes behind the requests, with the latest state, so that a commit
 * does not write an index page per robot. Returns HBMON_OK or HBMON_EIO.
 */
int store_requests_index(struct store *s, int64_t after_id, int64_t upto_id);

/*
 * Writes a subject's latest state (id, status, session_valid,
 * open_orders, active_accounts, active_tasks, timestamp, timestamp_ms,
 * last_seen_ms of row). The server writes these behind the requests;
 * see store_state.flushed_id.
 */
int store_subject_write(struct store *s, const struct store_subject *row);

/*
 * Calls fn for every request with id > after_id, in id order (the
 * start-up replay). Rows are valid during the call only. Returns as
 * store_robots_each.
 */
int store_requests_after(struct store *s, int64_t after_id,
                         int (*fn)(void *arg, const struct store_request *r),
                         void *arg);

/*
 * Calls fn for the requests of robot received in [since_ms, until_ms]
 * (until 0: now), oldest first, or newest first when newest. fn stops the
 * walk by returning non-zero. Returns as store_robots_each.
 */
int store_requests_of(struct store *s, const char *robot, int64_t since_ms,
                      int64_t until_ms, bool newest,
                      int (*fn)(void *arg, const struct store_request *r),
                      void *arg);

/*
 * Appends a state transition. from is 0 for a subject's first heartbeat.
 */
int store_transition_record(struct store *s, int64_t subject_id,
                            int64_t received_ms, int from, int to,
                            bool allowed);

/* Remembers the highest accepted seq of a robot and its signature. */
int store_robot_seq(struct store *s, const char *robot, uint64_t seq,
                    const uint8_t sig[32]);

/*
 * Deletes up to limit recorded requests received before cutoff_ms, oldest
 * first, in its own transaction. out_deleted: how many went. Returns
 * HBMON_OK or HBMON_EIO.
 */
int store_prune(struct store *s, int64_t cutoff_ms, int limit,
                int *out_deleted);

/* ---- the alert outbox and alert episodes ---- */

/*
 * Deletes up to limit alerts raised before cutoff_ms with seq <= upto_seq,
 * oldest first (its own transaction), and as many resolved episodes that
 * ended before cutoff_ms, and forgets the readers not seen since then.
 * out_deleted: alerts deleted (may be NULL). Returns HBMON_OK or HBMON_EIO.
 */
int store_prune_alerts(struct store *s, int64_t cutoff_ms, uint64_t upto_seq,
                       int limit, int *out_deleted);

/*
 * The notifiers that read the outbox: name, the seq up to which it has
 * delivered everything, and when it said so (wall ms). store_reader_set
 * writes one (behind, like the latest state); store_readers_each calls fn
 * for each (stops at fn's first non-zero return and returns it; otherwise
 * HBMON_OK or HBMON_EIO).
 */
int store_reader_set(struct store *s, const char *name, uint64_t delivered,
                     int64_t seen_ms);
int store_readers_each(struct store *s,
                       int (*fn)(void *arg, const char *name,
                                 uint64_t delivered, int64_t seen_ms),
                       void *arg);

/* One alert as kept in the outbox; body is the packed hbmon.v1.Alert. */
struct store_alert {
	uint64_t seq;
	const char *dedupe_key;
	int kind;
	int severity;
	int state;
	const char *robot;
	const char *account;
	const char *summary;
	int64_t raised_ms;
	uint64_t episode; /* 0 for one-off alerts */
	const uint8_t *body;
	size_t body_len;
};

/* Appends an alert to the outbox (inside the writer's transaction). */
int store_alert_insert(struct store *s, const struct store_alert *a);

/* The highest seq in the outbox (0 when empty). */
int store_alert_last_seq(struct store *s, uint64_t *out);

/* The episode an alert belongs to. HBMON_ENOENT for an unknown seq. */
int store_alert_episode(struct store *s, uint64_t seq, uint64_t *out);

/*
 * Calls fn for up to limit alerts with seq > after, in seq order. Row
 * pointers are valid during the call only. Returns as store_robots_each.
 */
int store_alerts_after(struct store *s, uint64_t after, uint32_t limit,
                       int (*fn)(void *arg, const struct store_alert *a),
                       void *arg);

/* An alert episode: one problem of one subject, firing until resolved. */
struct store_episode {
	uint64_t id; /* seq of the alert that opened it */
	int64_t subject_id;
	int kind;
	int severity;
	int64_t opened_ms;
	int64_t last_alert_ms;
	uint32_t repeats;
	int64_t acked_ms; /* 0: not acknowledged */
	const char *acked_by;
	const char *robot;   /* the subject's names (from the subjects row); */
	const char *account; /* "" for a robot; both NULL for subject_id 0, */
};                           /* the server's own episodes */

int store_episode_open(struct store *s, const struct store_episode *e);
int store_episode_update(struct store *s, uint64_t id, int severity,
                         int64_t last_alert_ms, uint32_t repeats);
int store_episode_ack(struct store *s, uint64_t id, int64_t ms, const char *by);
int store_episode_resolve(struct store *s, uint64_t id, int64_t ms);

/* Calls fn for every episode not yet resolved, oldest first. */
int store_episodes_open_each(struct store *s,
                             int (*fn)(void *arg,
                                       const struct store_episode *e),
                             void *arg);

/*
 * The server's own life: when it started, when it was last known to be
 * running (written every second, for SERVER_RESTARTED), and the last
 * request whose effect on `subjects` and `robots` is written (newer ones
 * are replayed at start), and how the last run ended. store_state_get
 * returns HBMON_ENOENT on a first start.
 */
enum store_run_state {
	STORE_RUN_UNKNOWN = 0, /* written by a server before schema 5 */
	STORE_RUN_RUNNING = 1, /* still running, or it never stopped cleanly */
	STORE_RUN_STOPPED = 2, /* it stopped cleanly (SIGTERM, SIGINT) */
};

struct store_state {
	int64_t started_ms;
	int64_t last_alive_ms;
	int64_t flushed_id; /* requests up to this one are in subjects/robots */
	int run_state;      /* enum store_run_state */
	/* Alert seqs up to this one may have been given out (store_seq_*);
	 * not written by store_state_set. */
	uint64_t alert_seq_reserved;
};

int store_state_get(struct store *s, struct store_state *out);
int store_state_set(struct store *s, const struct store_state *state);

/*
 * Alert seqs are reserved before they are given out: store_seq_reserve
 * raises the reservation to upto (never lowers it; a retained write), and
 * a clean stop lowers it back to the last seq used (store_seq_release).
 * The next start continues above the reservation, so an alert published
 * while its row could not be written keeps a seq nothing reuses.
 */
int store_seq_reserve(struct store *s, uint64_t upto);
int store_seq_release(struct store *s, uint64_t last);

/* ---- queries used by tests and the admin service ---- */

/* One raw heartbeat as read back. */
struct store_heartbeat_row {
	int64_t received_ms;
	int status;
	bool session_valid;
	uint32_t open_orders;
	uint32_t active_accounts;
	uint32_t active_tasks;
	const char *timestamp;
};

/* One state transition as read back. */
struct store_transition_row {
	int64_t received_ms;
	int from_status;
	int to_status;
	bool allowed;
};

/*
 * Calls fn for the heartbeats of robot/account (account "" for the robot's
 * own) received in [since_ms, until_ms] (until 0: now), at most limit,
 * oldest first; newest: take the newest limit instead of the oldest (still
 * delivered oldest first). They are read out of the recorded requests.
 * Returns as store_robots_each.
 */
int store_heartbeats_each(
    struct store *s, const char *robot, const char *account, int64_t since_ms,
    int64_t until_ms, uint32_t limit, bool newest,
    int (*fn)(void *arg, const struct store_heartbeat_row *row), void *arg);

/* As store_heartbeats_each, for transitions. */
int store_transitions_each(
    struct store *s, int64_t subject_id, int64_t since_ms, int64_t until_ms,
    uint32_t limit, bool newest,
    int (*fn)(void *arg, const struct store_transition_row *row), void *arg);

/*
 * Replaces a robot's secret and resets its seq floor (last_seq 0, no
 * signature). Returns HBMON_OK, HBMON_ENOENT or HBMON_EIO.
 */
int store_robot_secret(struct store *s, const char *robot, const char *secret);

/*
 * Sets a robot's own interval_max (0: the global one). Returns HBMON_OK,
 * HBMON_ENOENT or HBMON_EIO.
 */
int store_robot_interval(struct store *s, const char *robot,
                         int64_t interval_max_ms);

/*
 * Sets a robot's ping token: ping_hash is the lowercase hex of the
 * token's SHA-256, or NULL to drop it. Returns HBMON_OK, HBMON_ENOENT
 * (no such robot) or HBMON_EIO.
 */
int store_robot_ping(struct store *s, const char *robot, const char *ping_hash);

/*
 * Forgets a robot: its registry row and its subjects; open episodes of
 * those subjects are closed at now_ms. Recorded heartbeats, transitions
 * and alerts stay (history is not rewritten). Returns HBMON_OK,
 * HBMON_ENOENT or HBMON_EIO.
 */
int store_robot_remove(struct store *s, const char *robot, int64_t now_ms);

/*
 * The admin_tcp seq floor (admin_auth.h): the highest seq of a signed
 * admin request that was executed, 0 when there was none. raise writes
 * seq when it is above the stored floor, and nothing otherwise; on the
 * writer's connection it belongs to the transaction under way. Returns
 * HBMON_OK or HBMON_EIO.
 */
int store_admin_seq_get(struct store *s, uint64_t *out);
int store_admin_seq_raise(struct store *s, uint64_t seq);

/* Bytes the database takes on disk (main file and WAL). */
int64_t store_size(struct store *s);

/* Heartbeats held by the recorded requests (those not yet pruned). */
int store_heartbeats_total(struct store *s, int64_t *out);

/*
 * Counts rows: table is one of "heartbeats", "transitions", "subjects",
 * "robots", "alerts". Returns HBMON_OK or HBMON_EINVAL / HBMON_EIO.
 */
int store_count(struct store *s, const char *table, int64_t *out);

#endif
