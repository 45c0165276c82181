/*
 * SQLite store. Statements used on the hot path are prepared once per
 * connection; everything the recorder writes for a batch of requests goes
 * into one transaction (group commit).
 */
#include "server/store.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sqlite3.h>

#include "hbmon/error.h"
#include "hbmon/v1/heartbeat.pb-c.h"
#include "server/stored_request.h"

/*
 * Schema migrations, applied in order; migration i brings user_version
 * from i to i+1. Released migrations never change: add a new one.
 */
static const char *const migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE robots ("
	"  robot TEXT PRIMARY KEY,"
	"  secret TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  last_seq INTEGER NOT NULL DEFAULT 0,"
	"  last_sig BLOB,"
	"  interval_max_ms INTEGER NOT NULL DEFAULT 0"
	");"
	/* Latest state of every robot (account = '') and account. */
	"CREATE TABLE subjects ("
	"  id INTEGER PRIMARY KEY,"
	"  robot TEXT NOT NULL,"
	"  account TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  session_valid INTEGER NOT NULL DEFAULT 0,"
	"  open_orders INTEGER NOT NULL DEFAULT 0,"
	"  active_accounts INTEGER NOT NULL DEFAULT 0,"
	"  active_tasks INTEGER NOT NULL DEFAULT 0,"
	"  timestamp TEXT NOT NULL DEFAULT '',"
	"  last_seen_ms INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (robot, account)"
	");"
	/* Raw heartbeats, pruned after `retention`. Rows are appended in
	 * receive order, so rowid order is time order for pruning. */
	"CREATE TABLE heartbeats ("
	"  id INTEGER PRIMARY KEY,"
	"  subject_id INTEGER NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  session_valid INTEGER NOT NULL,"
	"  open_orders INTEGER NOT NULL,"
	"  active_accounts INTEGER NOT NULL,"
	"  active_tasks INTEGER NOT NULL,"
	"  timestamp TEXT NOT NULL,"
	"  timestamp_ms INTEGER NOT NULL"
	");"
	"CREATE INDEX heartbeats_subject ON heartbeats (subject_id, "
	"received_ms);"
	/* Every state change, kept forever. */
	"CREATE TABLE transitions ("
	"  id INTEGER PRIMARY KEY,"
	"  subject_id INTEGER NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  from_status INTEGER NOT NULL,"
	"  to_status INTEGER NOT NULL,"
	"  allowed INTEGER NOT NULL"
	");"
	"CREATE INDEX transitions_subject ON transitions (subject_id, "
	"received_ms);"
	/* The alert outbox: seq is the alert's durable sequence number. */
	"CREATE TABLE alerts ("
	"  seq INTEGER PRIMARY KEY,"
	"  dedupe_key TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  robot TEXT NOT NULL,"
	"  account TEXT NOT NULL,"
	"  summary TEXT NOT NULL,"
	"  raised_ms INTEGER NOT NULL,"
	"  body BLOB NOT NULL" /* the packed hbmon.v1.Alert */
	");",

	/* 2: alert episodes, maintenance pauses, the server's own life. */
	"ALTER TABLE subjects ADD COLUMN paused_until_ms INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE subjects ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE alerts ADD COLUMN episode INTEGER NOT NULL DEFAULT 0;"
	/* An episode: one problem of one subject from firing to resolved.
	 * Its id is the seq of the alert that opened it. */
	"CREATE TABLE episodes ("
	"  id INTEGER PRIMARY KEY,"
	"  subject_id INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  opened_ms INTEGER NOT NULL,"
	"  last_alert_ms INTEGER NOT NULL,"
	"  repeats INTEGER NOT NULL DEFAULT 0,"
	"  acked_ms INTEGER NOT NULL DEFAULT 0,"
	"  acked_by TEXT NOT NULL DEFAULT '',"
	"  resolved_ms INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX episodes_open ON episodes (resolved_ms);"
	"CREATE TABLE server_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  started_ms INTEGER NOT NULL,"
	"  last_alive_ms INTEGER NOT NULL"
	");",

	/* 3: raw heartbeats are kept as the requests that carried them, one
	 * row per request however many heartbeats it holds: recording cost
	 * no longer grows with the batch. The latest state in `subjects` and
	 * robots' last seq are written behind, up to `flushed_id`; at start
	 * the server replays newer requests. (Heartbeat rows of the first
	 * schema are not carried over; latest state, transitions and alerts
	 * are.) */
	"DROP TABLE heartbeats;"
	"CREATE TABLE requests ("
	"  id INTEGER PRIMARY KEY,"
	"  robot TEXT NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  sig BLOB,"
	"  kind INTEGER NOT NULL,"  /* 1 robot, 2 account, 3 batch */
	"  items INTEGER NOT NULL," /* heartbeats in payload */
	"  payload BLOB NOT NULL"   /* the accepted input, protobuf */
	");"
	"CREATE INDEX requests_robot ON requests (robot, received_ms);"
	"ALTER TABLE server_state ADD COLUMN flushed_id INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE subjects ADD COLUMN timestamp_ms INTEGER NOT NULL"
	" DEFAULT 0;",

	/* 4: requests are found by robot through an index written behind
	 * them, with the latest state, up to `flushed_id`: an index kept per
	 * request wrote a page per robot per commit. Newer requests are few
	 * and read by id. */
	"CREATE TABLE request_index ("
	"  robot TEXT NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  id INTEGER NOT NULL,"
	"  PRIMARY KEY (robot, received_ms, id)"
	") WITHOUT ROWID;"
	"INSERT INTO request_index SELECT robot, received_ms, id FROM requests"
	" WHERE id <= (SELECT coalesce(max(flushed_id), 0) FROM server_state);"
	"DROP INDEX requests_robot;",

	/* 5: how the last run ended, for SERVER_RESTARTED (SPEC §3.6):
	 * 0 unknown (a database from before this schema), 1 running (set at
	 * start: still 1 at the next start means kill -9, a crash or power
	 * loss), 2 stopped cleanly. */
	("ALTER TABLE server_state ADD COLUMN run_state INTEGER NOT NULL"
	 " DEFAULT 0;"),

	/* 6: the seq floor of signed admin_tcp requests, so that one
	 * captured and replayed after a restart is refused. Kept as the
	 * seq's 64 bits (read back as uint64_t). */
	"CREATE TABLE admin_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  last_seq INTEGER NOT NULL"
	");",

	/* 7: alert seqs are reserved ahead of use, so that an alert sent
	 * while the database could not be written keeps a seq no later
	 * alert reuses, even across a crash. */
	"ALTER TABLE server_state ADD COLUMN alert_seq_reserved INTEGER NOT"
	" NULL DEFAULT 0;"
	/* Notifiers that read the outbox, and up to where each has
	 * delivered: alert_retention never prunes past the lowest. */
	"CREATE TABLE alert_readers ("
	"  name TEXT PRIMARY KEY,"
	"  delivered_seq INTEGER NOT NULL,"
	"  seen_ms INTEGER NOT NULL"
	");",

	/* 8: a robot's ping token (GET /v1/ping/TOKEN), kept as the
	 * lowercase hex of its SHA-256, never as itself; NULL: none. */
	"ALTER TABLE robots ADD COLUMN ping_hash TEXT;",
};

enum stmt_id {
	ST_REQUEST_INSERT,
	ST_SUBJECT_UPDATE,
	ST_SUBJECT_CREATE,
	ST_SUBJECT_GET,
	ST_SUBJECT_PAUSE,
	ST_TRANSITION_INSERT,
	ST_ROBOT_SEQ,
	ST_ALERT_INSERT,
	ST_ALERT_LAST_SEQ,
	ST_ALERT_EPISODE,
	ST_ALERTS_AFTER,
	ST_EPISODE_OPEN,
	ST_EPISODE_UPDATE,
	ST_EPISODE_ACK,
	ST_EPISODE_RESOLVE,
	ST_STATE_GET,
	ST_STATE_SET,
	ST_SEQ_RESERVE,
	ST_SEQ_RELEASE,
	ST_SUBJECT_MAX_ID,
	ST_READER_SET,
	ST_INDEX_REQUESTS,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT_
};

#define SUBJECT_COLUMNS                                                        \
	"id, robot, account, status, session_valid, open_orders,"              \
	" active_accounts, active_tasks, last_seen_ms, timestamp,"             \
	" paused_until_ms, pause_reason, timestamp_ms"

#define ALERT_COLUMNS                                                          \
	"seq, dedupe_key, kind, severity, state, robot, account, summary,"     \
	" raised_ms, episode, body"

static const char *const stmt_sql[ST_COUNT_] = {
	[ST_REQUEST_INSERT] =
	    "INSERT INTO requests (robot, received_ms, seq, sig, kind, items,"
	    " payload) VALUES (?,?,?,?,?,?,?)",
	[ST_SUBJECT_UPDATE] =
	    "UPDATE subjects SET status = ?2, session_valid = ?3,"
	    " open_orders = ?4, active_accounts = ?5, active_tasks = ?6,"
	    " timestamp = ?7, last_seen_ms = ?8, timestamp_ms = ?9"
	    " WHERE id = ?1",
	[ST_SUBJECT_CREATE] = "INSERT INTO subjects (id, robot, account,"
	                      " created_ms) VALUES (?,?,?,?)",
	[ST_SUBJECT_GET] =
	    "SELECT " SUBJECT_COLUMNS " FROM subjects WHERE id = ?",
	[ST_SUBJECT_PAUSE] = "UPDATE subjects SET paused_until_ms = ?2,"
	                     " pause_reason = ?3 WHERE id = ?1",
	[ST_TRANSITION_INSERT] =
	    "INSERT INTO transitions (subject_id, received_ms, from_status,"
	    " to_status, allowed) VALUES (?,?,?,?,?)",
	[ST_ROBOT_SEQ] =
	    "UPDATE robots SET last_seq = ?2, last_sig = ?3 WHERE robot = ?1",
	[ST_ALERT_INSERT] = "INSERT INTO alerts (" ALERT_COLUMNS
	                    ") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
	[ST_ALERT_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM alerts",
	[ST_ALERT_EPISODE] = "SELECT episode FROM alerts WHERE seq = ?",
	[ST_ALERTS_AFTER] = "SELECT " ALERT_COLUMNS
	                    " FROM alerts WHERE seq > ? ORDER BY seq LIMIT ?",
	[ST_EPISODE_OPEN] =
	    "INSERT INTO episodes (id, subject_id, kind, severity, opened_ms,"
	    " last_alert_ms, repeats) VALUES (?,?,?,?,?,?,?)",
	[ST_EPISODE_UPDATE] = "UPDATE episodes SET severity = ?2,"
	                      " last_alert_ms = ?3, repeats = ?4 WHERE id = ?1",
	[ST_EPISODE_ACK] = "UPDATE episodes SET acked_ms = ?2, acked_by = ?3"
	                   " WHERE id = ?1",
	[ST_EPISODE_RESOLVE] = "UPDATE episodes SET resolved_ms = ?2"
	                       " WHERE id = ?1",
	[ST_STATE_GET] = "SELECT started_ms, last_alive_ms, flushed_id,"
	                 " run_state, alert_seq_reserved FROM server_state"
	                 " WHERE id = 1",
	[ST_STATE_SET] = "INSERT INTO server_state (id, started_ms,"
	                 " last_alive_ms, flushed_id, run_state)"
	                 " VALUES (1, ?1, ?2, ?3, ?4)"
	                 " ON CONFLICT (id) DO UPDATE SET started_ms = ?1,"
	                 " last_alive_ms = ?2, flushed_id = ?3, run_state = ?4",
	[ST_SEQ_RESERVE] =
	    "INSERT INTO server_state (id, started_ms, last_alive_ms,"
	    " alert_seq_reserved) VALUES (1, 0, 0, ?1) ON CONFLICT (id) DO"
	    " UPDATE SET alert_seq_reserved = max(alert_seq_reserved, ?1)",
	[ST_SEQ_RELEASE] = "UPDATE server_state SET alert_seq_reserved = ?1",
	[ST_SUBJECT_MAX_ID] = "SELECT coalesce(max(id), 0) FROM subjects",
	[ST_READER_SET] =
	    "INSERT INTO alert_readers (name, delivered_seq, seen_ms) VALUES"
	    " (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET delivered_seq ="
	    " ?2, seen_ms = ?3",
	[ST_INDEX_REQUESTS] =
	    "INSERT OR IGNORE INTO request_index SELECT robot, received_ms, id"
	    " FROM requests WHERE id > ?1 AND id <= ?2",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

/* Parameters of a write, bound in order (?1, ?2, ...). */
enum param_type { P_NULL, P_INT, P_TEXT, P_BLOB };

struct param {
	enum param_type type;
	int64_t i;
	const void *data; /* P_TEXT (NUL-terminated) and P_BLOB */
	size_t len;       /* P_BLOB */
};

#define OP_PARAMS_MAX 11

/*
 * One write of a transaction that must outlive the transaction if it
 * fails (state changes, alerts, episodes, new subjects: what memory
 * already decided). Its text and blobs are copied into data.
 */
struct store_op {
	struct store_op *next;
	int id; /* enum stmt_id */
	int n;
	struct param p[OP_PARAMS_MAX];
	size_t size; /* bytes of the whole op, for the backlog's cap */
	unsigned char data[];
};

/* What the backlog holds at most; past it, writes are dropped (counted). */
#define BACKLOG_MAX_BYTES ((size_t) 256 * 1024 * 1024)

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT_]; /* each prepared on first use */
	char path[4096];
	int busy_ms;    /* how long a statement waits for a lock */
	int page_size;  /* of the database, for the WAL's size */
	int wal_frames; /* in the WAL after the last commit (wal hook) */
	/* The writer's transaction (store_begin .. store_commit): */
	bool in_txn;
	bool txn_failed; /* a write failed: the rest are only journaled */
	bool hold;       /* store_hold_writes: do not even try */
	int fault_rc;    /* SQLite's code of the last failure */
	struct store_op *txn_ops, **txn_tail; /* retained ops of this txn */
	/* Retained ops of failed transactions, oldest first, written at the
	 * start of the next transaction: */
	struct store_op *backlog, **backlog_tail;
	size_t backlog_ops, backlog_bytes;
	uint64_t dropped;        /* ops lost to the cap or to memory */
	int64_t next_subject_id; /* 0: not read yet */
};

static void ops_free(struct store_op *op);

static void
set_why(char *why, size_t why_len, const char *fmt, const char *a,
        const char *b)
{
	if (why != NULL && why_len > 0) {
		snprintf(why, why_len, fmt, a, b);
	}
}

const char *
store_errmsg(struct store *s)
{
	return s != NULL && s->db != NULL ? sqlite3_errmsg(s->db)
	                                  : "no database";
}

static int
exec(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK
	           ? HBMON_OK
	           : HBMON_EIO;
}

static int
user_version(struct store *s, int *out)
{
	sqlite3_stmt *st;
	int rv = HBMON_EIO;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK) {
		return HBMON_EIO;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rv = HBMON_OK;
	}
	sqlite3_finalize(st);
	return rv;
}

static int
migrate(struct store *s, char *why, size_t why_len)
{
	int version;
	int n = (int) (sizeof(migrations) / sizeof(migrations[0]));

	static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
	                  STORE_SCHEMA_VERSION,
	              "one migration per schema version");
	if (user_version(s, &version) != HBMON_OK) {
		set_why(why, why_len, "%s: cannot read the schema version: %s",
		        s->path, sqlite3_errmsg(s->db));
		return HBMON_EIO;
	}
	if (version > n) {
		char v[32];
		snprintf(v, sizeof(v), "%d", version);
		set_why(why, why_len,
		        "%s: schema version %s is newer than this hbmon-server "
		        "knows; run a newer hbmon",
		        s->path, v);
		return HBMON_EINVAL;
	}
	for (; version < n; version++) {
		char bump[64];

		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
		         version + 1);
		if (exec(s, "BEGIN IMMEDIATE") != HBMON_OK ||
		    exec(s, migrations[version]) != HBMON_OK ||
		    exec(s, bump) != HBMON_OK) {
			set_why(why, why_len, "%s: schema migration failed: %s",
			        s->path, sqlite3_errmsg(s->db));
			exec(s, "ROLLBACK");
			return HBMON_EIO;
		}
		if (exec(s, "COMMIT") != HBMON_OK) {
			set_why(why, why_len, "%s: schema migration failed: %s",
			        s->path, sqlite3_errmsg(s->db));
			exec(s, "ROLLBACK");
			return HBMON_EIO;
		}
	}
	return HBMON_OK;
}

/*
 * Process-wide SQLite settings, before the first connection: no memory
 * statistics (they take a global mutex on every allocation, which every
 * thread touching the database then contends for).
 */
static void
configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static pthread_once_t configured = PTHREAD_ONCE_INIT;

static int
open_db(const char *data_dir, int flags, struct store **out, char *why,
        size_t why_len)
{
	struct store *s;
	int n;

	pthread_once(&configured, configure_sqlite);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return HBMON_ENOMEM;
	}
	n = snprintf(s->path, sizeof(s->path), "%s/%s", data_dir, STORE_FILE);
	if (n < 0 || (size_t) n >= sizeof(s->path)) {
		set_why(why, why_len, "data dir path is too long: %s%s",
		        data_dir, "");
		free(s);
		return HBMON_EINVAL;
	}
	if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		set_why(why, why_len, "%s: cannot open: %s", s->path,
		        s->db != NULL ? sqlite3_errmsg(s->db)
		                      : "out of memory");
		sqlite3_close(s->db);
		free(s);
		return HBMON_EIO;
	}
	s->busy_ms = 5000;
	sqlite3_busy_timeout(s->db, s->busy_ms);
	*out = s;
	return HBMON_OK;
}

int
store_open(const char *data_dir, enum store_durability durability,
           struct store **out, char *why, size_t why_len)
{
	struct store *s;
	int rv;

	rv = open_db(data_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s,
	             why, why_len);
	if (rv != HBMON_OK) {
		return rv;
	}
	/* WAL: readers never block the writer. NORMAL syncs only at
	 * checkpoints, so a commit survives a process crash but may be lost
	 * on power failure; FULL syncs the WAL on every commit. */
	if (exec(s, "PRAGMA journal_mode = WAL") != HBMON_OK ||
	    exec(s, durability == STORE_FULL
	                ? "PRAGMA synchronous = FULL"
	                : "PRAGMA synchronous = NORMAL") != HBMON_OK) {
		set_why(why, why_len, "%s: %s", s->path, sqlite3_errmsg(s->db));
		rv = sqlite3_errcode(s->db) == SQLITE_NOTADB ? HBMON_EINVAL
		                                             : HBMON_EIO;
		goto fail;
	}
	if ((rv = migrate(s, why, why_len)) != HBMON_OK) {
		goto fail;
	}
	/* A page cache of 8 MiB holds the pages the writer keeps going back
	 * to (the newest requests, the state rows) without growing with the
	 * fleet; no memory map, whose resident pages would (SPEC §7 counts
	 * RSS per subject). Best effort: the defaults still work. */
	(void) exec(s, "PRAGMA cache_size = -8192");
	*out = s;
	return HBMON_OK;

fail:
	store_close(s);
	return rv;
}

int
store_open_reader(const char *data_dir, struct store **out, char *why,
                  size_t why_len)
{
	return open_db(data_dir, SQLITE_OPEN_READONLY, out, why, why_len);
}

/* After every commit on the writer's connection: how big the WAL is. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;

	(void) db;
	(void) name;
	s->wal_frames = frames;
	return SQLITE_OK;
}

void
store_set_wal_max(struct store *s, int64_t wal_max)
{
	char sql[96];
	sqlite3_stmt *st;

	s->page_size = 4096;
	if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			s->page_size = sqlite3_column_int(st, 0);
		}
		sqlite3_finalize(st);
	}
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %lld",
	         (long long) (wal_max / 4));
	(void) exec(s, sql);
	/* Replaces SQLite's automatic checkpoint, which is a WAL hook too. */
	sqlite3_wal_hook(s->db, wal_hook, s);
}

int64_t
store_wal_bytes(const struct store *s)
{
	/* The WAL header, then a frame header and a page per frame. */
	return s->wal_frames > 0
	           ? 32 + (int64_t) s->wal_frames * (s->page_size + 24)
	           : 0;
}

int
store_checkpoint(struct store *s, enum store_checkpoint_mode mode, int wait_ms,
                 int *out_wal_frames)
{
	static const int modes[] = {
		[STORE_CHECKPOINT_PASSIVE] = SQLITE_CHECKPOINT_PASSIVE,
		[STORE_CHECKPOINT_RESTART] = SQLITE_CHECKPOINT_RESTART,
		[STORE_CHECKPOINT_TRUNCATE] = SQLITE_CHECKPOINT_TRUNCATE,
	};
	int log = 0, done = 0, rc;

	assert(mode >= STORE_CHECKPOINT_PASSIVE &&
	       mode <= STORE_CHECKPOINT_TRUNCATE);
	if (mode != STORE_CHECKPOINT_PASSIVE) {
		sqlite3_busy_timeout(s->db, wait_ms);
	}
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, modes[mode], &log, &done);
	if (mode != STORE_CHECKPOINT_PASSIVE) {
		sqlite3_busy_timeout(s->db, s->busy_ms);
	}
	if (rc == SQLITE_OK && s->wal_frames > 0 &&
	    mode != STORE_CHECKPOINT_PASSIVE) {
		/* Copied and released: the next commit starts the WAL over. */
		s->wal_frames = 0;
	}
	if (out_wal_frames != NULL) {
		*out_wal_frames = log;
	}
	if (rc == SQLITE_BUSY) {
		return HBMON_EBUSY;
	}
	return rc == SQLITE_OK ? HBMON_OK : HBMON_EIO;
}

void
store_close(struct store *s)
{
	if (s == NULL) {
		return;
	}
	for (int i = 0; i < ST_COUNT_; i++) {
		sqlite3_finalize(s->stmt[i]);
	}
	sqlite3_close(s->db);
	ops_free(s->txn_ops);
	ops_free(s->backlog);
	free(s);
}

/*
 * Defines each_NAME(st, fn, arg): steps st to its end, reads each row into
 * a TYPE with READ and hands it to fn, stopping at fn's first non-zero
 * return. Returns that, HBMON_OK at the end, or HBMON_EIO if a step
 * failed. One loop for every kind of row, typed for each.
 */
#define EACH_ROW(name, type, read)                                             \
	static int each_##name(sqlite3_stmt *st,                               \
	                       int (*fn)(void *arg, const type *row),          \
	                       void *arg)                                      \
	{                                                                      \
		int rc, rv = HBMON_OK;                                         \
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {                \
			type row;                                              \
			read(st, &row);                                        \
			if ((rv = fn(arg, &row)) != 0) {                       \
				return rv;                                     \
			}                                                      \
		}                                                              \
		return rc == SQLITE_DONE ? HBMON_OK : HBMON_EIO;               \
	}

static void
robot_row(sqlite3_stmt *st, struct store_robot *r)
{
	r->robot = (const char *) sqlite3_column_text(st, 0);
	r->secret = (const char *) sqlite3_column_text(st, 1);
	r->created_ms = sqlite3_column_int64(st, 2);
	r->last_seq = (uint64_t) sqlite3_column_int64(st, 3);
	r->last_sig = sqlite3_column_bytes(st, 4) == 32
	                  ? sqlite3_column_blob(st, 4)
	                  : NULL;
	r->interval_max_ms = sqlite3_column_int64(st, 5);
	r->ping_hash = (const char *) sqlite3_column_text(st, 6);
}

EACH_ROW(robot, struct store_robot, robot_row)
static void
alert_row(sqlite3_stmt *st, struct store_alert *r)
{
	r->seq = (uint64_t) sqlite3_column_int64(st, 0);
	r->dedupe_key = (const char *) sqlite3_column_text(st, 1);
	r->kind = sqlite3_column_int(st, 2);
	r->severity = sqlite3_column_int(st, 3);
	r->state = sqlite3_column_int(st, 4);
	r->robot = (const char *) sqlite3_column_text(st, 5);
	r->account = (const char *) sqlite3_column_text(st, 6);
	r->summary = (const char *) sqlite3_column_text(st, 7);
	r->raised_ms = sqlite3_column_int64(st, 8);
	r->episode = (uint64_t) sqlite3_column_int64(st, 9);
	r->body = sqlite3_column_blob(st, 10);
	r->body_len = (size_t) sqlite3_column_bytes(st, 10);
}

EACH_ROW(alert, struct store_alert, alert_row)
static void
episode_row(sqlite3_stmt *st, struct store_episode *r)
{
	r->id = (uint64_t) sqlite3_column_int64(st, 0);
	r->subject_id = sqlite3_column_int64(st, 1);
	r->kind = sqlite3_column_int(st, 2);
	r->severity = sqlite3_column_int(st, 3);
	r->opened_ms = sqlite3_column_int64(st, 4);
	r->last_alert_ms = sqlite3_column_int64(st, 5);
	r->repeats = (uint32_t) sqlite3_column_int64(st, 6);
	r->acked_ms = sqlite3_column_int64(st, 7);
	r->acked_by = (const char *) sqlite3_column_text(st, 8);
	r->robot = (const char *) sqlite3_column_text(st, 9);
	r->account = (const char *) sqlite3_column_text(st, 10);
}

EACH_ROW(episode, struct store_episode, episode_row)
static void
transition_row_row(sqlite3_stmt *st, struct store_transition_row *r)
{
	r->received_ms = sqlite3_column_int64(st, 0);
	r->from_status = sqlite3_column_int(st, 1);
	r->to_status = sqlite3_column_int(st, 2);
	r->allowed = sqlite3_column_int(st, 3) != 0;
}

EACH_ROW(transition_row, struct store_transition_row, transition_row_row)

/*
 * The statement id of this connection, prepared on its first use (so a
 * read-only connection never prepares the writes). NULL on failure.
 */
static sqlite3_stmt *
stmt(struct store *s, enum stmt_id id)
{
	if (s->stmt[id] == NULL &&
	    sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->stmt[id],
	                       NULL) != SQLITE_OK) {
		return NULL;
	}
	return s->stmt[id];
}

/* ---- writes, and what a failed transaction keeps of them ---- */

static int query_int(struct store *s, enum stmt_id id, bool bind, int64_t arg,
                     int64_t *out);

static void
bind_params(sqlite3_stmt *st, const struct param *p, int n)
{
	for (int i = 0; i < n; i++) {
		switch (p[i].type) {
		case P_NULL:
			sqlite3_bind_null(st, i + 1);
			break;
		case P_INT:
			sqlite3_bind_int64(st, i + 1, p[i].i);
			break;
		case P_TEXT:
			sqlite3_bind_text(st, i + 1, p[i].data, -1,
			                  SQLITE_STATIC);
			break;
		case P_BLOB:
			/* A zero-length blob must still be a blob, not NULL. */
			sqlite3_bind_blob(
			    st, i + 1, p[i].len > 0 ? p[i].data : (void *) "",
			    (int) p[i].len, SQLITE_STATIC);
			break;
		}
	}
}

/* Binds p to statement id, runs it and resets it. Returns SQLite's code. */
static int
run_params(struct store *s, int id, const struct param *p, int n)
{
	sqlite3_stmt *st = stmt(s, (enum stmt_id) id);
	int rc;

	if (st == NULL) {
		rc = sqlite3_errcode(s->db);
		return rc != SQLITE_OK ? rc : SQLITE_ERROR;
	}
	bind_params(st, p, n);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* The transaction cannot be committed: what follows is only journaled. */
static void
fail_txn(struct store *s, int rc)
{
	if (!s->txn_failed) {
		s->txn_failed = true;
		s->fault_rc = rc;
	}
}

static void
ops_free(struct store_op *op)
{
	while (op != NULL) {
		struct store_op *next = op->next;
		free(op);
		op = next;
	}
}

/* Appends a copy of a write to the transaction's journal. */
static void
journal(struct store *s, int id, const struct param *p, int n)
{
	size_t extra = 0;
	struct store_op *op;
	unsigned char *at;

	assert(n <= OP_PARAMS_MAX);
	for (int i = 0; i < n; i++) {
		if (p[i].type == P_TEXT) {
			extra += strlen(p[i].data) + 1;
		} else if (p[i].type == P_BLOB) {
			extra += p[i].len;
		}
	}
	if ((op = malloc(sizeof(*op) + extra)) == NULL) {
		s->dropped++;
		return;
	}
	op->next = NULL;
	op->id = id;
	op->n = n;
	op->size = sizeof(*op) + extra;
	at = op->data;
	for (int i = 0; i < n; i++) {
		op->p[i] = p[i];
		if (p[i].type == P_TEXT) {
			size_t len = strlen(p[i].data) + 1;
			memcpy(at, p[i].data, len);
			op->p[i].data = at;
			at += len;
		} else if (p[i].type == P_BLOB) {
			if (p[i].len > 0) {
				memcpy(at, p[i].data, p[i].len);
			}
			op->p[i].data = at;
			at += p[i].len;
		}
	}
	*s->txn_tail = op;
	s->txn_tail = &op->next;
}

/*
 * Every write of the writer goes through here. Outside a transaction it
 * simply runs (returns HBMON_OK or HBMON_EIO). Inside one, a failure marks
 * the transaction failed and later writes are not even tried: store_commit
 * reports it. retain: the write is what memory already decided (a state
 * change, an alert), so a failed transaction keeps it in the backlog, to
 * be written first by the next one; other writes (a request, the latest
 * state written behind) are the caller's to redo. Inside a transaction
 * this returns HBMON_OK: the outcome is the commit's.
 */
static int
write_op(struct store *s, enum stmt_id id, const struct param *p, int n,
         bool retain)
{
	int rc;

	if (!s->in_txn) {
		return run_params(s, id, p, n) == SQLITE_DONE ? HBMON_OK
		                                              : HBMON_EIO;
	}
	if (retain) {
		journal(s, id, p, n);
	}
	if (!s->txn_failed && (rc = run_params(s, id, p, n)) != SQLITE_DONE) {
		fail_txn(s, rc);
	}
	return HBMON_OK;
}

/*
 * Writes the backlog at the start of a transaction. A write the database
 * refuses as such (a constraint) is not a storage failure and will never
 * succeed: it is dropped and counted.
 */
static void
write_backlog(struct store *s)
{
	struct store_op **pp = &s->backlog;

	while (*pp != NULL && !s->txn_failed) {
		struct store_op *op = *pp;
		int rc = run_params(s, op->id, op->p, op->n);
		if (rc == SQLITE_DONE) {
			pp = &op->next;
		} else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
			*pp = op->next;
			s->backlog_ops--;
			s->backlog_bytes -= op->size;
			s->dropped++;
			free(op);
		} else {
			fail_txn(s, rc);
		}
	}
	s->backlog_tail = &s->backlog;
	while (*s->backlog_tail != NULL) {
		s->backlog_tail = &(*s->backlog_tail)->next;
	}
}

/* A failed transaction's retained writes join the backlog, within its cap. */
static void
keep_journal(struct store *s)
{
	struct store_op *op = s->txn_ops;

	while (op != NULL) {
		struct store_op *next = op->next;
		op->next = NULL;
		if (s->backlog_bytes + op->size > BACKLOG_MAX_BYTES) {
			s->dropped++;
			free(op);
		} else {
			*s->backlog_tail = op;
			s->backlog_tail = &op->next;
			s->backlog_ops++;
			s->backlog_bytes += op->size;
		}
		op = next;
	}
	s->txn_ops = NULL;
	s->txn_tail = &s->txn_ops;
}

/* A write made directly (not through write_op) failed with rc. */
static int
direct_failed(struct store *s, int rc)
{
	if (s->in_txn && (rc & 0xff) != SQLITE_CONSTRAINT) {
		fail_txn(s, rc);
	}
	return HBMON_EIO;
}

int
store_robot_add(struct store *s, const char *robot, const char *secret,
                int64_t now_ms)
{
	sqlite3_stmt *st;
	int rc;

	if (s->in_txn && s->txn_failed) {
		return HBMON_EIO;
	}
	if (sqlite3_prepare_v2(s->db,
	                       "INSERT INTO robots (robot, secret, created_ms)"
	                       " VALUES (?,?,?)",
	                       -1, &st, NULL) != SQLITE_OK) {
		return direct_failed(s, sqlite3_errcode(s->db));
	}
	sqlite3_bind_text(st, 1, robot, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, secret, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT) {
		return HBMON_EEXIST;
	}
	return rc == SQLITE_DONE ? HBMON_OK : direct_failed(s, rc);
}

int
store_robots_each(struct store *s,
                  int (*fn)(void *arg, const struct store_robot *row),
                  void *arg)
{
	sqlite3_stmt *st;
	int rv = HBMON_OK;

	if (sqlite3_prepare_v2(
	        s->db,
	        "SELECT robot, secret, created_ms, last_seq,"
	        " last_sig, interval_max_ms, ping_hash FROM robots"
	        " ORDER BY robot",
	        -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	rv = each_robot(st, fn, arg);
	sqlite3_finalize(st);
	return rv;
}

static void
subject_row(sqlite3_stmt *st, struct store_subject *row)
{
	row->id = sqlite3_column_int64(st, 0);
	row->robot = (const char *) sqlite3_column_text(st, 1);
	row->account = (const char *) sqlite3_column_text(st, 2);
	row->status = sqlite3_column_int(st, 3);
	row->session_valid = sqlite3_column_int(st, 4) != 0;
	row->open_orders = (uint32_t) sqlite3_column_int64(st, 5);
	row->active_accounts = (uint32_t) sqlite3_column_int64(st, 6);
	row->active_tasks = (uint32_t) sqlite3_column_int64(st, 7);
	row->last_seen_ms = sqlite3_column_int64(st, 8);
	row->timestamp = (const char *) sqlite3_column_text(st, 9);
	row->paused_until_ms = sqlite3_column_int64(st, 10);
	row->pause_reason = (const char *) sqlite3_column_text(st, 11);
	row->timestamp_ms = sqlite3_column_int64(st, 12);
}

EACH_ROW(subject, struct store_subject, subject_row)

int
store_subjects_each(struct store *s,
                    int (*fn)(void *arg, const struct store_subject *row),
                    void *arg)
{
	sqlite3_stmt *st;
	int rv = HBMON_OK;

	/* Robots first, so their accounts find them when loaded. */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT " SUBJECT_COLUMNS " FROM subjects"
	                       " ORDER BY account != '', id",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	rv = each_subject(st, fn, arg);
	sqlite3_finalize(st);
	return rv;
}

int
store_subject_get(struct store *s, int64_t id,
                  int (*fn)(void *arg, const struct store_subject *row),
                  void *arg)
{
	sqlite3_stmt *st = stmt(s, ST_SUBJECT_GET);
	struct store_subject row;
	int rc, rv;

	if (st == NULL) {
		return HBMON_EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		subject_row(st, &row);
		rv = fn(arg, &row);
	} else {
		rv = rc == SQLITE_DONE ? HBMON_ENOENT : HBMON_EIO;
	}
	/* Reset before returning, whatever happened: a statement left
	 * stepped is an open read transaction, and one of them once stopped
	 * every checkpoint for good. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rv;
}

int
store_subject_pause(struct store *s, int64_t id, int64_t until_ms,
                    const char *reason)
{
	struct param p[] = {
		{ P_INT, id, NULL, 0 },
		{ P_INT, until_ms, NULL, 0 },
		{ P_TEXT, 0, reason != NULL ? reason : "", 0 },
	};

	return write_op(s, ST_SUBJECT_PAUSE, p, 3, true);
}

int
store_begin(struct store *s)
{
	int rc;

	assert(!s->in_txn);
	s->in_txn = true;
	s->txn_failed = false;
	s->txn_ops = NULL;
	s->txn_tail = &s->txn_ops;
	if (s->backlog_tail == NULL) {
		s->backlog_tail = &s->backlog;
	}
	if (s->hold) {
		fail_txn(s,
		         s->fault_rc != SQLITE_OK ? s->fault_rc : SQLITE_BUSY);
		return HBMON_EIO;
	}
	if ((rc = run_params(s, ST_BEGIN, NULL, 0)) != SQLITE_DONE) {
		fail_txn(s, rc);
		return HBMON_EIO;
	}
	write_backlog(s);
	return s->txn_failed ? HBMON_EIO : HBMON_OK;
}

int
store_commit(struct store *s)
{
	int rc;

	assert(s->in_txn);
	if (!s->txn_failed &&
	    (rc = run_params(s, ST_COMMIT, NULL, 0)) != SQLITE_DONE) {
		fail_txn(s, rc);
	}
	s->in_txn = false;
	if (s->txn_failed) {
		if (!sqlite3_get_autocommit(s->db)) {
			(void) run_params(s, ST_ROLLBACK, NULL, 0);
		}
		keep_journal(s);
		return HBMON_EIO;
	}
	/* Everything is written now, the backlog first. */
	ops_free(s->backlog);
	s->backlog = NULL;
	s->backlog_tail = &s->backlog;
	s->backlog_ops = 0;
	s->backlog_bytes = 0;
	ops_free(s->txn_ops);
	s->txn_ops = NULL;
	s->txn_tail = &s->txn_ops;
	s->fault_rc = SQLITE_OK;
	return HBMON_OK;
}

void
store_rollback(struct store *s)
{
	if (s->in_txn) {
		fail_txn(s, SQLITE_ABORT);
		(void) store_commit(s);
	} else if (!sqlite3_get_autocommit(s->db)) {
		(void) run_params(s, ST_ROLLBACK, NULL, 0);
	}
}

void
store_hold_writes(struct store *s, bool hold)
{
	s->hold = hold;
}

void
store_set_busy_timeout(struct store *s, int ms)
{
	s->busy_ms = ms;
	sqlite3_busy_timeout(s->db, ms);
}

int64_t
store_free_bytes(const struct store *s)
{
	char dir[sizeof(s->path)];
	struct statvfs st;
	char *slash;

	memcpy(dir, s->path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
	}
	if (statvfs(slash != NULL ? dir : ".", &st) != 0) {
		return -1;
	}
	/* What an unprivileged writer may use. */
	return (int64_t) st.f_bavail * (int64_t) st.f_frsize;
}

bool
store_txn_failed(const struct store *s)
{
	return s->in_txn && s->txn_failed;
}

enum store_fault
store_fault(const struct store *s)
{
	switch (s->fault_rc & 0xff) {
	case SQLITE_OK:
		return STORE_FAULT_NONE;
	case SQLITE_FULL:
		return STORE_FAULT_FULL;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return STORE_FAULT_IO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_FAULT_LOCKED;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return STORE_FAULT_READONLY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return STORE_FAULT_CORRUPT;
	case SQLITE_NOMEM:
		return STORE_FAULT_NOMEM;
	default:
		return STORE_FAULT_OTHER;
	}
}

const char *
store_fault_text(enum store_fault f)
{
	switch (f) {
	case STORE_FAULT_NONE:
		return "no error";
	case STORE_FAULT_FULL:
		return "disk full";
	case STORE_FAULT_IO:
		return "I/O error";
	case STORE_FAULT_LOCKED:
		return "locked by another process";
	case STORE_FAULT_READONLY:
		return "read-only";
	case STORE_FAULT_CORRUPT:
		return "database corrupt";
	case STORE_FAULT_NOMEM:
		return "out of memory";
	case STORE_FAULT_WAL:
		return "its WAL cannot be checkpointed (a reader holds it)";
	case STORE_FAULT_OTHER:
	default:
		return "database error";
	}
}

void
store_backlog(const struct store *s, size_t *out_ops, size_t *out_bytes,
              uint64_t *out_dropped)
{
	if (out_ops != NULL) {
		*out_ops = s->backlog_ops;
	}
	if (out_bytes != NULL) {
		*out_bytes = s->backlog_bytes;
	}
	if (out_dropped != NULL) {
		*out_dropped = s->dropped;
	}
}

int
store_subject_create(struct store *s, const char *robot, const char *account,
                     int64_t now_ms, int64_t *out_id)
{
	struct param p[4];
	int rv;

	/* Ids are given here, not by SQLite: a subject made while the
	 * database cannot be written keeps its id when it is written. */
	if (s->next_subject_id == 0) {
		int64_t max = 0;
		if (query_int(s, ST_SUBJECT_MAX_ID, false, 0, &max) !=
		    HBMON_OK) {
			return HBMON_EIO;
		}
		s->next_subject_id = max + 1;
	}
	p[0] = (struct param){ P_INT, s->next_subject_id, NULL, 0 };
	p[1] = (struct param){ P_TEXT, 0, robot, 0 };
	p[2] = (struct param){ P_TEXT, 0, account, 0 };
	p[3] = (struct param){ P_INT, now_ms, NULL, 0 };
	if ((rv = write_op(s, ST_SUBJECT_CREATE, p, 4, true)) == HBMON_OK) {
		*out_id = s->next_subject_id++;
	}
	return rv;
}

int
store_request_record(struct store *s, const struct store_request *r,
                     int64_t *out_id)
{
	struct param p[] = {
		{ P_TEXT, 0, r->robot, 0 },
		{ P_INT, r->received_ms, NULL, 0 },
		{ P_INT, (int64_t) r->seq, NULL, 0 },
		{ r->sig != NULL ? P_BLOB : P_NULL, 0, r->sig, 32 },
		{ P_INT, r->kind, NULL, 0 },
		{ P_INT, r->items, NULL, 0 },
		{ P_BLOB, 0, r->payload, r->payload_len },
	};
	int rv = write_op(s, ST_REQUEST_INSERT, p, 7, false);

	/* Not retained: a request in a failed transaction is not
	 * acknowledged, and its robot sends it again. */
	if (rv == HBMON_OK && out_id != NULL && !store_txn_failed(s)) {
		*out_id = sqlite3_last_insert_rowid(s->db);
	}
	return rv;
}

int
store_subject_write(struct store *s, const struct store_subject *row)
{
	struct param p[] = {
		{ P_INT, row->id, NULL, 0 },
		{ P_INT, row->status, NULL, 0 },
		{ P_INT, row->session_valid, NULL, 0 },
		{ P_INT, row->open_orders, NULL, 0 },
		{ P_INT, row->active_accounts, NULL, 0 },
		{ P_INT, row->active_tasks, NULL, 0 },
		{ P_TEXT, 0, row->timestamp != NULL ? row->timestamp : "", 0 },
		{ P_INT, row->last_seen_ms, NULL, 0 },
		{ P_INT, row->timestamp_ms, NULL, 0 },
	};

	/* Written behind from memory: redone after a failed transaction. */
	return write_op(s, ST_SUBJECT_UPDATE, p, 9, false);
}

static void
request_row(sqlite3_stmt *st, struct store_request *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->robot = (const char *) sqlite3_column_text(st, 1);
	r->received_ms = sqlite3_column_int64(st, 2);
	r->seq = (uint64_t) sqlite3_column_int64(st, 3);
	r->sig = sqlite3_column_bytes(st, 4) == 32 ? sqlite3_column_blob(st, 4)
	                                           : NULL;
	r->kind = sqlite3_column_int(st, 5);
	r->items = (uint32_t) sqlite3_column_int64(st, 6);
	r->payload = sqlite3_column_blob(st, 7);
	r->payload_len = (size_t) sqlite3_column_bytes(st, 7);
}

EACH_ROW(request, struct store_request, request_row)

#define REQUEST_COLUMNS "id, robot, received_ms, seq, sig, kind, items, payload"
/* Of requests r, the index entry i standing in for id and received_ms:
 * then the index gives the order and nothing is sorted. */
#define REQUEST_COLUMNS_I                                                      \
	"i.id, r.robot, i.received_ms, r.seq, r.sig, r.kind, r.items,"         \
	" r.payload"
#define REQUEST_COLUMNS_R                                                      \
	"r.id, r.robot, r.received_ms, r.seq, r.sig, r.kind, r.items,"         \
	" r.payload"
#define FLUSHED_ID "(SELECT coalesce(max(flushed_id), 0) FROM server_state)"
/* A robot's requests in a time range: ?1 robot, ?2..?3 received_ms. */
#define REQUESTS_OF                                                            \
	"SELECT " REQUEST_COLUMNS_I " FROM request_index i"                    \
	" JOIN requests r ON r.id = i.id"                                      \
	" WHERE i.robot = ?1 AND i.received_ms BETWEEN ?2 AND ?3"              \
	" AND i.id <= " FLUSHED_ID " UNION ALL SELECT " REQUEST_COLUMNS_R      \
	" FROM requests r WHERE r.id > " FLUSHED_ID " AND r.robot = ?1"        \
	" AND r.received_ms BETWEEN ?2 AND ?3"

int
store_requests_after(struct store *s, int64_t after_id,
                     int (*fn)(void *arg, const struct store_request *r),
                     void *arg)
{
	sqlite3_stmt *st;
	int rv = HBMON_OK;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT " REQUEST_COLUMNS " FROM requests"
	                       " WHERE id > ? ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	sqlite3_bind_int64(st, 1, after_id);
	rv = each_request(st, fn, arg);
	sqlite3_finalize(st);
	return rv;
}

int
store_requests_of(struct store *s, const char *robot, int64_t since_ms,
                  int64_t until_ms, bool newest,
                  int (*fn)(void *arg, const struct store_request *r),
                  void *arg)
{
	sqlite3_stmt *st;
	int rv = HBMON_OK;

	/* Indexed requests up to flushed_id, read newest or oldest first
	 * through the index; the few newer ones by id. An index slice of an
	 * unfinished flush may go beyond flushed_id: it is not read. */
	if (sqlite3_prepare_v2(s->db,
	                       newest ? REQUESTS_OF " ORDER BY 3 DESC, 1 DESC"
	                              : REQUESTS_OF " ORDER BY 3, 1",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	sqlite3_bind_text(st, 1, robot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_ms);
	sqlite3_bind_int64(st, 3, until_ms > 0 ? until_ms : INT64_MAX);
	rv = each_request(st, fn, arg);
	sqlite3_finalize(st);
	return rv;
}

int
store_requests_index(struct store *s, int64_t after_id, int64_t upto_id)
{
	struct param p[] = { { P_INT, after_id, NULL, 0 },
		             { P_INT, upto_id, NULL, 0 } };

	return write_op(s, ST_INDEX_REQUESTS, p, 2, false);
}

int
store_transition_record(struct store *s, int64_t subject_id,
                        int64_t received_ms, int from, int to, bool allowed)
{
	struct param p[] = {
		{ P_INT, subject_id, NULL, 0 }, { P_INT, received_ms, NULL, 0 },
		{ P_INT, from, NULL, 0 },       { P_INT, to, NULL, 0 },
		{ P_INT, allowed, NULL, 0 },
	};

	return write_op(s, ST_TRANSITION_INSERT, p, 5, true);
}

int
store_robot_seq(struct store *s, const char *robot, uint64_t seq,
                const uint8_t sig[32])
{
	struct param p[] = {
		{ P_TEXT, 0, robot, 0 },
		{ P_INT, (int64_t) seq, NULL, 0 },
		{ sig != NULL ? P_BLOB : P_NULL, 0, sig, 32 },
	};

	return write_op(s, ST_ROBOT_SEQ, p, 3, false);
}

/* ---- alerts, episodes, server state ---- */

int
store_alert_insert(struct store *s, const struct store_alert *a)
{
	struct param p[] = {
		{ P_INT, (int64_t) a->seq, NULL, 0 },
		{ P_TEXT, 0, a->dedupe_key, 0 },
		{ P_INT, a->kind, NULL, 0 },
		{ P_INT, a->severity, NULL, 0 },
		{ P_INT, a->state, NULL, 0 },
		{ P_TEXT, 0, a->robot, 0 },
		{ P_TEXT, 0, a->account, 0 },
		{ P_TEXT, 0, a->summary, 0 },
		{ P_INT, a->raised_ms, NULL, 0 },
		{ P_INT, (int64_t) a->episode, NULL, 0 },
		{ P_BLOB, 0, a->body, a->body_len },
	};

	return write_op(s, ST_ALERT_INSERT, p, 11, true);
}

/* Runs a one-row, one-integer query bound with up to one integer. */
static int
query_int(struct store *s, enum stmt_id id, bool bind, int64_t arg,
          int64_t *out)
{
	sqlite3_stmt *st = stmt(s, id);
	int rc;

	if (st == NULL) {
		return HBMON_EIO;
	}
	if (bind) {
		sqlite3_bind_int64(st, 1, arg);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		return HBMON_OK;
	}
	return rc == SQLITE_DONE ? HBMON_ENOENT : HBMON_EIO;
}

int
store_alert_last_seq(struct store *s, uint64_t *out)
{
	int64_t v = 0;
	int rv = query_int(s, ST_ALERT_LAST_SEQ, false, 0, &v);

	*out = (uint64_t) v;
	return rv;
}

int
store_alert_episode(struct store *s, uint64_t seq, uint64_t *out)
{
	int64_t v = 0;
	int rv = query_int(s, ST_ALERT_EPISODE, true, (int64_t) seq, &v);

	*out = (uint64_t) v;
	return rv;
}

int
store_alerts_after(struct store *s, uint64_t after, uint32_t limit,
                   int (*fn)(void *arg, const struct store_alert *a), void *arg)
{
	sqlite3_stmt *st = stmt(s, ST_ALERTS_AFTER);
	int rv = HBMON_OK;

	if (after > INT64_MAX) {
		/* No alert seq is that high, and as an SQLite INTEGER it would
		 * be negative: "after" everything, so nothing. */
		return HBMON_OK;
	}
	if (st == NULL) {
		return HBMON_EIO;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64) after);
	sqlite3_bind_int64(st, 2, limit);
	rv = each_alert(st, fn, arg);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rv;
}

int
store_episode_open(struct store *s, const struct store_episode *e)
{
	struct param p[] = {
		{ P_INT, (int64_t) e->id, NULL, 0 },
		{ P_INT, e->subject_id, NULL, 0 },
		{ P_INT, e->kind, NULL, 0 },
		{ P_INT, e->severity, NULL, 0 },
		{ P_INT, e->opened_ms, NULL, 0 },
		{ P_INT, e->last_alert_ms, NULL, 0 },
		{ P_INT, e->repeats, NULL, 0 },
	};

	return write_op(s, ST_EPISODE_OPEN, p, 7, true);
}

int
store_episode_update(struct store *s, uint64_t id, int severity,
                     int64_t last_alert_ms, uint32_t repeats)
{
	struct param p[] = {
		{ P_INT, (int64_t) id, NULL, 0 },
		{ P_INT, severity, NULL, 0 },
		{ P_INT, last_alert_ms, NULL, 0 },
		{ P_INT, repeats, NULL, 0 },
	};

	return write_op(s, ST_EPISODE_UPDATE, p, 4, true);
}

int
store_episode_ack(struct store *s, uint64_t id, int64_t ms, const char *by)
{
	struct param p[] = {
		{ P_INT, (int64_t) id, NULL, 0 },
		{ P_INT, ms, NULL, 0 },
		{ P_TEXT, 0, by != NULL ? by : "", 0 },
	};

	return write_op(s, ST_EPISODE_ACK, p, 3, true);
}

int
store_episode_resolve(struct store *s, uint64_t id, int64_t ms)
{
	struct param p[] = { { P_INT, (int64_t) id, NULL, 0 },
		             { P_INT, ms, NULL, 0 } };

	return write_op(s, ST_EPISODE_RESOLVE, p, 2, true);
}

int
store_episodes_open_each(struct store *s,
                         int (*fn)(void *arg, const struct store_episode *e),
                         void *arg)
{
	sqlite3_stmt *st;
	int rv = HBMON_OK;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT e.id, e.subject_id, e.kind, e.severity,"
	                       " e.opened_ms, e.last_alert_ms, e.repeats,"
	                       " e.acked_ms, e.acked_by, s.robot, s.account"
	                       " FROM episodes e LEFT JOIN subjects s ON"
	                       " s.id = e.subject_id WHERE e.resolved_ms = 0"
	                       " AND (e.subject_id = 0 OR s.id IS NOT NULL)"
	                       " ORDER BY e.id",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	rv = each_episode(st, fn, arg);
	sqlite3_finalize(st);
	return rv;
}

int
store_state_get(struct store *s, struct store_state *out)
{
	sqlite3_stmt *st = stmt(s, ST_STATE_GET);
	int rc;

	if (st == NULL) {
		return HBMON_EIO;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->started_ms = sqlite3_column_int64(st, 0);
		out->last_alive_ms = sqlite3_column_int64(st, 1);
		out->flushed_id = sqlite3_column_int64(st, 2);
		out->run_state = sqlite3_column_int(st, 3);
		out->alert_seq_reserved =
		    (uint64_t) sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		return HBMON_OK;
	}
	return rc == SQLITE_DONE ? HBMON_ENOENT : HBMON_EIO;
}

int
store_state_set(struct store *s, const struct store_state *state)
{
	struct param p[] = {
		{ P_INT, state->started_ms, NULL, 0 },
		{ P_INT, state->last_alive_ms, NULL, 0 },
		{ P_INT, state->flushed_id, NULL, 0 },
		{ P_INT, state->run_state, NULL, 0 },
	};

	/* Written behind (the flush): redone after a failed transaction. */
	return write_op(s, ST_STATE_SET, p, 4, false);
}

int
store_seq_reserve(struct store *s, uint64_t upto)
{
	struct param p[] = { { P_INT, (int64_t) upto, NULL, 0 } };

	return write_op(s, ST_SEQ_RESERVE, p, 1, true);
}

int
store_seq_release(struct store *s, uint64_t last)
{
	struct param p[] = { { P_INT, (int64_t) last, NULL, 0 } };

	return write_op(s, ST_SEQ_RELEASE, p, 1, false);
}

/* One pruning statement; out_deleted (may be NULL): rows it deleted. */
static int
exec_prune(struct store *s, const char *sql, int limit, int64_t cutoff_ms,
           int *out_deleted)
{
	sqlite3_stmt *st;
	int rv;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	sqlite3_bind_int(st, 1, limit);
	sqlite3_bind_int64(st, 2, cutoff_ms);
	rv = sqlite3_step(st) == SQLITE_DONE ? HBMON_OK : HBMON_EIO;
	if (rv == HBMON_OK && out_deleted != NULL) {
		*out_deleted = sqlite3_changes(s->db);
	}
	sqlite3_finalize(st);
	return rv;
}

int
store_prune(struct store *s, int64_t cutoff_ms, int limit, int *out_deleted)
{
	int rv;

	/* Look only at the `limit` oldest rows (rowid order is receive
	 * order), so one step costs the same however large the table is.
	 * Their index entries go first, found by their full key. */
	rv = exec_prune(s,
	                "DELETE FROM request_index WHERE (robot, received_ms,"
	                " id) IN (SELECT robot, received_ms, id FROM (SELECT"
	                " id, robot, received_ms FROM requests ORDER BY id"
	                " LIMIT ?1) WHERE received_ms < ?2)",
	                limit, cutoff_ms, NULL);
	if (rv == HBMON_OK) {
		rv = exec_prune(s,
		                "DELETE FROM requests WHERE id IN ("
		                " SELECT id FROM (SELECT id, received_ms FROM"
		                " requests ORDER BY id LIMIT ?1)"
		                " WHERE received_ms < ?2)",
		                limit, cutoff_ms, out_deleted);
	}
	return rv;
}

int
store_prune_alerts(struct store *s, int64_t cutoff_ms, uint64_t upto_seq,
                   int limit, int *out_deleted)
{
	sqlite3_stmt *st;
	int rv = HBMON_EIO;

	/* Only the `limit` oldest (seq order is the order they were
	 * raised), so one step costs the same however many there are; none
	 * a reader has not passed. Resolved episodes go with their time
	 * (found through episodes_open); open ones stay whatever their age. */
	if (sqlite3_prepare_v2(s->db,
	                       "DELETE FROM alerts WHERE seq IN (SELECT seq"
	                       " FROM (SELECT seq, raised_ms FROM alerts"
	                       " ORDER BY seq LIMIT ?3) WHERE raised_ms < ?1"
	                       " AND seq <= ?2)",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	sqlite3_bind_int64(st, 1, cutoff_ms);
	sqlite3_bind_int64(
	    st, 2, upto_seq > INT64_MAX ? INT64_MAX : (sqlite3_int64) upto_seq);
	sqlite3_bind_int(st, 3, limit);
	if (sqlite3_step(st) == SQLITE_DONE) {
		rv = HBMON_OK;
		if (out_deleted != NULL) {
			*out_deleted = sqlite3_changes(s->db);
		}
	}
	sqlite3_finalize(st);
	if (rv == HBMON_OK &&
	    (rv = exec_prune(s,
	                     "DELETE FROM episodes WHERE id IN (SELECT id FROM"
	                     " episodes WHERE resolved_ms BETWEEN 1 AND ?2"
	                     " ORDER BY resolved_ms LIMIT ?1)",
	                     limit, cutoff_ms, NULL)) == HBMON_OK) {
		rv = exec_prune(s,
		                "DELETE FROM alert_readers WHERE ?1 = ?1 AND"
		                " seen_ms < ?2",
		                limit, cutoff_ms, NULL);
	}
	return rv;
}

int
store_reader_set(struct store *s, const char *name, uint64_t delivered,
                 int64_t seen_ms)
{
	struct param p[] = {
		{ P_TEXT, 0, name, 0 },
		{ P_INT, (int64_t) delivered, NULL, 0 },
		{ P_INT, seen_ms, NULL, 0 },
	};

	/* Written behind from memory, like the latest state. */
	return write_op(s, ST_READER_SET, p, 3, false);
}

int
store_readers_each(struct store *s,
                   int (*fn)(void *arg, const char *name, uint64_t delivered,
                             int64_t seen_ms),
                   void *arg)
{
	sqlite3_stmt *st;
	int rc, rv = HBMON_OK;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT name, delivered_seq, seen_ms FROM"
	                       " alert_readers ORDER BY name",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rv = fn(arg, (const char *) sqlite3_column_text(st, 0),
		             (uint64_t) sqlite3_column_int64(st, 1),
		             sqlite3_column_int64(st, 2))) != 0) {
			break;
		}
	}
	if (rv == HBMON_OK && rc != SQLITE_DONE) {
		rv = HBMON_EIO;
	}
	sqlite3_finalize(st);
	return rv;
}

int
store_count(struct store *s, const char *table, int64_t *out)
{
	static const char *const tables[] = { "requests", "transitions",
		                              "subjects", "robots", "alerts" };
	char sql[64];
	sqlite3_stmt *st;
	int rv = HBMON_EINVAL;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (strcmp(table, tables[i]) == 0) {
			rv = HBMON_OK;
		}
	}
	if (strcmp(table, "heartbeats") == 0) {
		/* Heartbeats are kept per request: count what they carried. */
		return store_heartbeats_total(s, out);
	}
	if (rv != HBMON_OK) {
		return rv;
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
	} else {
		rv = HBMON_EIO;
	}
	sqlite3_finalize(st);
	return rv;
}

/* Runs a limited query over a subject's rows in a time range. */
static int
prepare_range(struct store *s, const char *oldest_sql, const char *newest_sql,
              bool newest, int64_t subject_id, int64_t since_ms,
              int64_t until_ms, uint32_t limit, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v2(s->db, newest ? newest_sql : oldest_sql, -1, out,
	                       NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	sqlite3_bind_int64(*out, 1, subject_id);
	sqlite3_bind_int64(*out, 2, since_ms);
	sqlite3_bind_int64(*out, 3, until_ms > 0 ? until_ms : INT64_MAX);
	sqlite3_bind_int64(*out, 4, limit);
	return HBMON_OK;
}

int
store_transitions_each(struct store *s, int64_t subject_id, int64_t since_ms,
                       int64_t until_ms, uint32_t limit, bool newest,
                       int (*fn)(void *arg,
                                 const struct store_transition_row *row),
                       void *arg)
{
	static const char oldest[] =
	    "SELECT received_ms, from_status, to_status, allowed FROM"
	    " transitions WHERE subject_id = ?1 AND received_ms BETWEEN ?2 AND"
	    " ?3 ORDER BY received_ms, id LIMIT ?4";
	static const char newest_sql[] =
	    "SELECT * FROM (SELECT received_ms, from_status, to_status,"
	    " allowed, id FROM transitions WHERE subject_id = ?1 AND"
	    " received_ms BETWEEN ?2 AND ?3 ORDER BY received_ms DESC, id DESC"
	    " LIMIT ?4) ORDER BY received_ms, id";
	sqlite3_stmt *st;
	int rv;

	if ((rv = prepare_range(s, oldest, newest_sql, newest, subject_id,
	                        since_ms, until_ms, limit, &st)) != HBMON_OK) {
		return rv;
	}
	rv = each_transition_row(st, fn, arg);
	sqlite3_finalize(st);
	return rv;
}

/* Runs one write with text parameters; returns HBMON_ENOENT if no row. */
static int
exec_changes(struct store *s, const char *sql, const char *a, const char *b,
             int64_t n)
{
	sqlite3_stmt *st;
	int rc;

	/* The robot registry's writes: not kept for later (the admin who
	 * asked is told to try again), and not tried once the transaction
	 * has failed. */
	if (s->in_txn && s->txn_failed) {
		return HBMON_EIO;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		return direct_failed(s, sqlite3_errcode(s->db));
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL) {
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(st, 2, n);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		return direct_failed(s, rc);
	}
	return sqlite3_changes(s->db) > 0 ? HBMON_OK : HBMON_ENOENT;
}

int
store_robot_secret(struct store *s, const char *robot, const char *secret)
{
	/* A new secret resets the seq floor (SPEC §2.3): nothing signed
	 * with the old one can be replayed. */
	return exec_changes(s,
	                    "UPDATE robots SET secret = ?2, last_seq = 0,"
	                    " last_sig = NULL WHERE robot = ?1",
	                    robot, secret, 0);
}

int
store_robot_interval(struct store *s, const char *robot,
                     int64_t interval_max_ms)
{
	return exec_changes(s,
	                    "UPDATE robots SET interval_max_ms = ?2 WHERE"
	                    " robot = ?1",
	                    robot, NULL, interval_max_ms);
}

int
store_robot_ping(struct store *s, const char *robot, const char *ping_hash)
{
	if (ping_hash == NULL) {
		return exec_changes(s,
		                    "UPDATE robots SET ping_hash = NULL WHERE"
		                    " robot = ?1 AND ?2 = ?2",
		                    robot, NULL, 0);
	}
	return exec_changes(s,
	                    "UPDATE robots SET ping_hash = ?2 WHERE robot = ?1",
	                    robot, ping_hash, 0);
}

int
store_robot_remove(struct store *s, const char *robot, int64_t now_ms)
{
	int rv = exec_changes(s,
	                      "UPDATE episodes SET resolved_ms = ?2 WHERE"
	                      " resolved_ms = 0 AND subject_id IN (SELECT id"
	                      " FROM subjects WHERE robot = ?1)",
	                      robot, NULL, now_ms);

	if (rv != HBMON_OK && rv != HBMON_ENOENT) {
		return rv;
	}
	rv =
	    exec_changes(s, "DELETE FROM subjects WHERE robot = ?1 AND ?2 = ?2",
	                 robot, NULL, 0);
	if (rv != HBMON_OK && rv != HBMON_ENOENT) {
		return rv;
	}
	return exec_changes(s,
	                    "DELETE FROM robots WHERE robot = ?1 AND ?2 = ?2",
	                    robot, NULL, 0);
}

int64_t
store_size(struct store *s)
{
	char wal[sizeof(s->path) + 8];
	struct stat st;
	int64_t total = 0;

	if (stat(s->path, &st) == 0) {
		total += st.st_size;
	}
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &st) == 0) {
		total += st.st_size;
	}
	return total;
}

int
store_admin_seq_get(struct store *s, uint64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT last_seq FROM admin_state WHERE id = 1",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? HBMON_OK : HBMON_EIO;
}

int
store_admin_seq_raise(struct store *s, uint64_t seq)
{
	sqlite3_stmt *st;
	uint64_t floor;
	int rv, rc;

	/* Like the robot registry's writes: not kept for later, and not
	 * tried once the writer's transaction has failed. */
	if (s->in_txn && s->txn_failed) {
		return HBMON_EIO;
	}
	/* Compared here, not in SQL: a seq above INT64_MAX is negative as
	 * an SQLite INTEGER. */
	if ((rv = store_admin_seq_get(s, &floor)) != HBMON_OK) {
		return rv;
	}
	if (seq <= floor) {
		return HBMON_OK;
	}
	if (sqlite3_prepare_v2(s->db,
	                       "INSERT INTO admin_state (id, last_seq) VALUES"
	                       " (1, ?1) ON CONFLICT (id) DO UPDATE SET"
	                       " last_seq = ?1",
	                       -1, &st, NULL) != SQLITE_OK) {
		return direct_failed(s, sqlite3_errcode(s->db));
	}
	sqlite3_bind_int64(st, 1, (int64_t) seq);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? HBMON_OK : direct_failed(s, rc);
}

int
store_heartbeats_total(struct store *s, int64_t *out)
{
	sqlite3_stmt *st;
	int rv = HBMON_EIO;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT coalesce(sum(items), 0) FROM requests",
	                       -1, &st, NULL) != SQLITE_OK) {
		return HBMON_EIO;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rv = HBMON_OK;
	}
	sqlite3_finalize(st);
	return rv;
}

/* ---- heartbeats read back out of recorded requests ---- */

/* A heartbeat kept for delivery after the walk (newest-first walks). */
struct kept {
	struct store_heartbeat_row row;
	char timestamp[48];
};

struct hb_walk {
	const char *account; /* "" for the robot's own heartbeats */
	uint32_t limit;
	bool newest;
	uint32_t n;
	struct kept *kept; /* newest: limit of them */
	int (*fn)(void *arg, const struct store_heartbeat_row *row);
	void *arg;
	int rv;
};

/* One heartbeat of the subject; returns non-zero to stop the walk. */
static int
walk_one(struct hb_walk *w, const struct store_heartbeat_row *row)
{
	if (w->newest) {
		struct kept *k = &w->kept[w->n];
		k->row = *row;
		snprintf(k->timestamp, sizeof(k->timestamp), "%s",
		         row->timestamp != NULL ? row->timestamp : "");
		k->row.timestamp = k->timestamp;
	} else if ((w->rv = w->fn(w->arg, row)) != 0) {
		return 1;
	}
	return ++w->n >= w->limit;
}

static int
walk_robot(struct hb_walk *w, int64_t received_ms,
           const Hbmon__V1__RobotHeartbeat *hb)
{
	struct store_heartbeat_row row = { 0 };

	row.received_ms = received_ms;
	row.status = hb->status;
	row.active_accounts = hb->active_accounts;
	row.active_tasks = hb->active_tasks;
	row.timestamp = hb->timestamp;
	return walk_one(w, &row);
}

static int
walk_account(struct hb_walk *w, int64_t received_ms,
             const Hbmon__V1__AccountHeartbeat *hb)
{
	struct store_heartbeat_row row = { 0 };

	if (strcmp(hb->account, w->account) != 0) {
		return 0;
	}
	row.received_ms = received_ms;
	row.status = hb->status;
	row.session_valid = hb->session_valid;
	row.open_orders = hb->open_orders;
	row.timestamp = hb->timestamp;
	return walk_one(w, &row);
}

static int
walk_request(void *arg, const struct store_request *r)
{
	struct hb_walk *w = arg;
	bool robot = w->account[0] == '\0';
	struct stored_request d;
	int stop = 0;

	/* A request the subject cannot be in is not even decoded. */
	if (!stored_request_can_hold(r->kind, robot) ||
	    stored_request_decode(r, &d) != HBMON_OK) {
		return 0;
	}
	if (robot && d.robot != NULL) {
		stop = walk_robot(w, r->received_ms, d.robot);
	}
	for (size_t i = 0; !robot && !stop && i < d.n_accounts; i++) {
		stop = walk_account(w, r->received_ms, d.accounts[i]);
	}
	stored_request_free(&d);
	return stop;
}

int
store_heartbeats_each(
    struct store *s, const char *robot, const char *account, int64_t since_ms,
    int64_t until_ms, uint32_t limit, bool newest,
    int (*fn)(void *arg, const struct store_heartbeat_row *row), void *arg)
{
	struct hb_walk w = { account, limit, newest, 0, NULL, fn, arg, 0 };
	int rv;

	if (limit == 0) {
		return HBMON_OK;
	}
	if (newest && (w.kept = calloc(limit, sizeof(*w.kept))) == NULL) {
		return HBMON_ENOMEM;
	}
	rv = store_requests_of(s, robot, since_ms, until_ms, newest,
	                       walk_request, &w);
	if (rv == 1) {
		rv = w.rv;
	}
	/* The newest were found last-first: hand them over in time order. */
	for (uint32_t i = w.n; newest && rv == HBMON_OK && i-- > 0;) {
		rv = fn(arg, &w.kept[i].row);
	}
	free(w.kept);
	return rv;
}
