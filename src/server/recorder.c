/* The writer thread: state rules, alerts, group commit, retention. */
#include "server/recorder.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "server/metrics.h"
#include "server/rules.h"
#include "server/stored_request.h"

/* Raw heartbeats deleted per pruning step, and how often to prune. */
#define PRUNE_STEP     1000
#define PRUNE_EVERY_MS 10000 /* or twice per retention, if shorter */

/* Dirty subjects few enough to write at once under light load: with
 * the request that changed them when the last flush is this long ago,
 * otherwise on the next tick with nothing queued. Requests back to back
 * then cost one page each, not one per subject and robot they touch. */
#define FLUSH_SMALL       64
#define FLUSH_IDLE_GAP_MS 100

/* The fewest dirty subjects one iteration writes while a flush is under
 * way; more when the flush is long, so it ends within about half a flush
 * interval of ticks. */
#define FLUSH_SLICE_MIN 4096

/* Requests added to the by-robot index per iteration of a flush. */
#define INDEX_SLICE 8192

/* The WAL's ceiling when none is given, and how many frames the writer
 * lets pile up before it copies them itself when no checkpoint thread
 * does (SQLite's own default). */
#define WAL_MAX_DEFAULT      (64 * 1024 * 1024)
#define WRITER_CHECKPOINT_AT (1000 * 4096)
/* How long the writer waits for readers at the ceiling before trying
 * again after its next commit. */
#define CEILING_WAIT_MS 100

/* While the database cannot be written: how long the writer waits for
 * its lock before it counts as locked (short: ticks must go on), how
 * long it then holds writes before trying again (doubling up to a
 * second), how long it must stay locked before STORAGE_FAILING (a lock
 * that brief is not worth waking anyone), and how often it says so in
 * the log. */
#define WRITER_BUSY_MS        25
#define RETRY_FIRST_MS        100
#define RETRY_MAX_MS          1000
#define LOCKED_ALERT_AFTER_MS 2000
/* STORAGE_FAILING resolves once writes have worked this long without a
 * failure: a disk that is nearly full takes some writes and refuses the
 * next, which must not make the alert flap. */
#define RESOLVE_AFTER_MS  3000
#define FAIL_LOG_EVERY_MS 10000
/* With the WAL at twice wal_max and a reader keeping the checkpoint from
 * completing, writes wait (STORAGE_FAILING): the disk never fills. How
 * often the writer tries the checkpoint again meanwhile. */
#define PINNED_RETRY_MS 250
/* How often the free space of the data dir is looked at, how far above
 * disk_free_min it must come back before DISK_SPACE_LOW resolves (a
 * tenth: no flapping), and how often the WAL file is emptied meanwhile to
 * give its space back. */
#define DISK_CHECK_EVERY_MS    1000
#define DISK_TRUNCATE_EVERY_MS 10000

/* How often the server notes that it is alive, for SERVER_RESTARTED. */
#define ALIVE_EVERY_MS 1000

struct recorder {
	struct store *store;
	struct recorder_options opts;
	struct subjects subjects;
	struct engine *engine; /* NULL only while the state is rebuilt */

	pthread_t thread;
	pthread_mutex_t lock; /* guards the queue and the flags below */
	pthread_cond_t wake;
	struct recorder_job *head, *tail;
	size_t queued;
	size_t writing;
	bool stopping;
	bool busy; /* someone is writing (lead) */

	/* Completions for jobs written by another thread than their
	 * submitter's (deliver): each an aio, reused; all of them on
	 * all_completions, the idle ones on idle_completions. */
	pthread_mutex_t completion_lock; /* guards the two lists */
	struct completion *idle_completions;
	struct completion *all_completions;

	/* recorder thread only */
	int64_t now;            /* liveness clock of the current iteration */
	int64_t wall;           /* wall clock of the current iteration */
	int64_t last_mono;      /* monotonic clock of the previous iteration */
	int64_t stalled_ms;     /* recorder stalls taken out of the clock */
	int64_t stall_min_ms;   /* a gap longer than this is a stall */
	pthread_t checkpointer; /* when opts.checkpoint_store is given */
	pthread_cond_t checkpoint_wake; /* its own: stop wakes both */
	/* Held while a checkpoint runs, by the checkpoint thread or by the
	 * writer at the WAL's ceiling: SQLite refuses a second checkpoint at
	 * once (no busy handler), so without it the writer's would lose
	 * nearly every time to the thread's and the ceiling would not hold. */
	pthread_mutex_t checkpoint_lock;
	pthread_cond_t idle; /* signalled when a leader is done */
	bool checkpointing;
	struct store_state state; /* as last written */
	int64_t last_request_id;  /* the newest request recorded */
	/* Subjects whose latest state is not in the store yet, oldest first:
	 * written behind the requests, when idle or every flush interval.
	 * A flush covers dirty[0..flush_end) and is written a slice per
	 * iteration, so a million subjects never hold up the ticks; NULL
	 * entries are subjects removed meanwhile. */
	struct subject **dirty;
	size_t n_dirty, cap_dirty;
	bool flushing;        /* a flush is under way */
	size_t flush_pos;     /* dirty[0..flush_pos) are written */
	size_t flush_end;     /* the flush ends here */
	int64_t flush_target; /* the newest request it covers */
	int64_t index_pos;    /* requests up to here are in the index */
	bool flush_complete;  /* done in this transaction: flush_commit */
	int64_t next_prune_ms;
	/* The database's health (SPEC §3.5). While it cannot be written,
	 * decisions and alerts go on from memory; what must be written
	 * waits in the store's backlog. */
	bool db_failing;       /* the last transaction failed */
	bool wal_pinned;       /* the WAL is past its hard ceiling */
	bool last_written;     /* the last transaction committed */
	int fault;             /* enum store_fault, while failing */
	int64_t failing_since; /* monotonic ms; 0: healthy */
	int64_t ok_since;     /* monotonic ms of the first commit since the last
	                         failure; 0: failing */
	int64_t next_attempt; /* monotonic ms: writes held until then */
	int64_t retry_ms;     /* the current back-off */
	int64_t next_pinned_try;     /* monotonic ms */
	uint64_t failed_txns;        /* since the failure began */
	int64_t next_fail_log;       /* monotonic ms */
	atomic_bool storage_failing; /* for other threads */
	/* The free space of the data dir (disk_free_min). */
	int64_t next_disk_check;
	int64_t next_truncate;
	bool disk_low;
	/* Notifiers reading the outbox and their cursors (alert_retention
	 * never prunes past the lowest); written with the latest state. */
	struct reader *readers;
	size_t n_readers, cap_readers;
	/* The recorder thread runs (between recorder_start and the end of
	 * recorder_stop's join): on_writer asks who writes from then on. */
	bool started;
};

/* How a finished job reaches an nng thread (deliver). */
struct completion {
	nng_aio *aio;
	struct recorder_job *job; /* being delivered; NULL when idle */
	struct recorder *rec;
	struct completion *next_idle;
	struct completion *next_all;
};

/*
 * The recorder this thread is writing for right now (lead), NULL when
 * none. For assertions only: nothing decides anything by it.
 */
static _Thread_local const struct recorder *writing_here;

/*
 * Whether the calling thread is the writer right now: the state of
 * memory (subjects, engine, clocks, store) is touched only there. Before
 * the recorder thread starts and after it stops, the thread starting or
 * stopping it is the writer.
 */
static inline __attribute__((unused)) bool
on_writer(const struct recorder *rec)
{
	return !rec->started || writing_here == rec;
}

/* A notifier and the seq up to which it has delivered everything. */
struct reader {
	char name[128];
	uint64_t delivered;
	int64_t seen_ms; /* wall */
};

static int64_t
robot_interval(struct recorder *rec, const char *robot_id)
{
	struct robot *r = rec->opts.registry != NULL
	                      ? registry_find(rec->opts.registry, robot_id)
	                      : NULL;

	return r != NULL && r->interval_max_ms > 0 ? r->interval_max_ms
	                                           : rec->opts.interval_max_ms;
}

/* ---- the clocks ---- */

/*
 * Reads the clocks for one iteration. A gap since the previous one longer
 * than a stall is time the recorder could not look: it is taken out of the
 * liveness clock, so deadlines move with it.
 */
static void
read_clocks(struct recorder *rec)
{
	int64_t mono = clock_mono_ms();
	int64_t gap = mono - rec->last_mono;

	if (rec->last_mono != 0 && gap > rec->stall_min_ms) {
		rec->stalled_ms += gap - rec->opts.tick_ms;
		log_warn("the server stalled; the time is not counted against "
		         "robots",
		         "stall_ms=%lld",
		         (long long) (gap - rec->opts.tick_ms));
	}
	rec->last_mono = mono;
	rec->now = mono - rec->stalled_ms;
	rec->wall = clock_wall_ms();
}

/* ---- state loading ---- */

static int
load_subject(void *arg, const struct store_subject *row)
{
	struct recorder *rec = arg;
	struct subject *s;
	int rv;

	rv =
	    subjects_add(&rec->subjects, row->robot, row->account, row->id, &s);
	if (rv != HBMON_OK) {
		return rv;
	}
	s->status = row->status;
	s->session_valid = row->session_valid;
	s->open_orders = row->open_orders;
	s->active_accounts = row->active_accounts;
	s->active_tasks = row->active_tasks;
	s->last_seen_ms = row->last_seen_ms;
	s->paused_until_ms = row->paused_until_ms;
	s->timestamp_ms = row->timestamp_ms;
	if (row->timestamp != NULL && row->timestamp[0] != '\0') {
		struct rfc3339_time ts;
		if (rfc3339_parse(row->timestamp, strlen(row->timestamp), &ts,
		                  NULL, 0) == HBMON_OK) {
			s->timestamp_offset = ts.offset_min;
		}
	}
	s->interval_ms = (uint32_t) robot_interval(rec, row->robot);
	return HBMON_OK;
}

static int replay(void *arg, const struct store_request *r);

int
recorder_note_reader(struct recorder *rec, const char *name, uint64_t delivered,
                     int64_t wall)
{
	struct reader *r = NULL;

	assert(on_writer(rec));
	for (size_t i = 0; i < rec->n_readers && r == NULL; i++) {
		if (strcmp(rec->readers[i].name, name) == 0) {
			r = &rec->readers[i];
		}
	}
	if (r == NULL) {
		if (rec->n_readers == rec->cap_readers) {
			size_t cap =
			    rec->cap_readers == 0 ? 8 : 2 * rec->cap_readers;
			struct reader *grown =
			    realloc(rec->readers, cap * sizeof(*grown));
			if (grown == NULL) {
				return HBMON_ENOMEM;
			}
			rec->readers = grown;
			rec->cap_readers = cap;
		}
		r = &rec->readers[rec->n_readers++];
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	/* What it says, even lower than before: a notifier that starts over
	 * (its cursor reset) needs the alerts again. */
	r->delivered = delivered;
	r->seen_ms = wall;
	return HBMON_OK;
}

static int
load_reader(void *arg, const char *name, uint64_t delivered, int64_t seen_ms)
{
	return recorder_note_reader(arg, name, delivered, seen_ms);
}

/* Builds the in-memory state and the engine from the store. */
static int
load_state(struct recorder *rec)
{
	int rv;

	subjects_init(&rec->subjects);
	rec->n_dirty = 0;
	rec->flushing = false;
	rv = store_state_get(rec->store, &rec->state);
	if (rv == HBMON_ENOENT) {
		memset(&rec->state, 0, sizeof(rec->state));
		rv = HBMON_OK;
	}
	if (rv == HBMON_OK) {
		rv = store_subjects_each(rec->store, load_subject, rec);
	}
	if (rv == HBMON_OK) {
		rec->n_readers = 0;
		rv = store_readers_each(rec->store, load_reader, rec);
	}
	rec->last_request_id = rec->state.flushed_id;
	if (rv == HBMON_OK) {
		rv = store_requests_after(rec->store, rec->state.flushed_id,
		                          replay, rec);
	}
	if (rv != HBMON_OK) {
		subjects_fini(&rec->subjects);
		rec->n_dirty = 0;
		return rv;
	}
	rv = engine_start(rec->store, &rec->subjects, &rec->opts.engine,
	                  rec->now, rec->wall, &rec->engine);
	if (rv != HBMON_OK) {
		subjects_fini(&rec->subjects);
		rec->engine = NULL;
	}
	return rv;
}

static void
unload_state(struct recorder *rec)
{
	engine_stop(rec->engine);
	rec->engine = NULL;
	subjects_fini(&rec->subjects);
	/* The subjects they pointed to are gone. */
	rec->n_dirty = 0;
	rec->flushing = false;
}

/* Notes that s's latest state must be written. */
static int
mark_dirty(struct recorder *rec, struct subject *s)
{
	if (s->dirty) {
		return HBMON_OK;
	}
	if (rec->n_dirty == rec->cap_dirty) {
		size_t cap = rec->cap_dirty == 0 ? 1024 : 2 * rec->cap_dirty;
		struct subject **d = realloc(rec->dirty, cap * sizeof(*d));
		if (d == NULL) {
			return HBMON_ENOMEM;
		}
		rec->dirty = d;
		rec->cap_dirty = cap;
	}
	rec->dirty[rec->n_dirty++] = s;
	s->dirty = true;
	return HBMON_OK;
}

/*
 * Takes one heartbeat's reported state into s (memory only). last_seen_ms
 * is not touched: the engine still needs the old one to say how long s
 * was silent.
 */
static void
take_robot(struct subject *s, const Hbmon__V1__RobotHeartbeat *hb,
           const struct rfc3339_time *ts)
{
	s->status = hb->status;
	s->active_accounts = hb->active_accounts;
	s->active_tasks = hb->active_tasks;
	s->timestamp_ms = rfc3339_unix_ms(ts);
	s->timestamp_offset = ts->offset_min;
}

static void
take_account(struct subject *s, const Hbmon__V1__AccountHeartbeat *hb,
             const struct rfc3339_time *ts)
{
	s->status = hb->status;
	s->session_valid = hb->session_valid;
	s->open_orders = hb->open_orders;
	s->timestamp_ms = rfc3339_unix_ms(ts);
	s->timestamp_offset = ts->offset_min;
}

static int flush_robot(struct robot *r, void *arg);
static int flushed_robot(struct robot *r, void *arg);

/* Writes s's latest state, inside the open transaction. */
static int
write_subject(struct recorder *rec, struct subject *s)
{
	struct store_subject row = { 0 };
	char ts[RFC3339_MAX];

	subject_timestamp(s, ts, sizeof(ts));
	row.id = s->id;
	row.status = s->status;
	row.session_valid = s->session_valid;
	row.open_orders = s->open_orders;
	row.active_accounts = s->active_accounts;
	row.active_tasks = s->active_tasks;
	row.timestamp = ts;
	row.timestamp_ms = s->timestamp_ms;
	row.last_seen_ms = s->last_seen_ms;
	return store_subject_write(rec->store, &row);
}

/*
 * One step of a flush, inside the open transaction: starts one when none
 * is under way, writes the next slice of dirty subjects (all of them when
 * all), then indexes the requests it covers by robot, and when the flush
 * is complete writes the robots' committed seqs and how far the store's
 * latest state and index go (flushed_id): every request up to the flush's
 * start is in them. Subjects written may be newer still;
 * replaying requests over them in order ends at the same state. done: set
 * when the flush completed.
 */
static int
flush_step(struct recorder *rec, bool all, bool *done)
{
	size_t stop;
	int rv;

	*done = false;
	if (!rec->flushing || all) {
		/* all: everything dirty now, from wherever a flush got to */
		if (!rec->flushing) {
			rec->flush_pos = 0;
			rec->index_pos = rec->state.flushed_id;
		}
		rec->flushing = true;
		rec->flush_end = rec->n_dirty;
		rec->flush_target = rec->last_request_id;
	}
	stop = rec->flush_end;
	if (!all) {
		size_t slice = rec->opts.flush_slice;
		if (slice == 0) {
			slice = (size_t) ((double) rec->flush_end *
			                  (double) rec->opts.tick_ms * 2.0 /
			                  (double) rec->opts.flush_interval_ms);
			if (slice < FLUSH_SLICE_MIN) {
				slice = FLUSH_SLICE_MIN;
			}
		}
		if (stop - rec->flush_pos > slice) {
			stop = rec->flush_pos + slice;
		}
	}
	for (; rec->flush_pos < stop; rec->flush_pos++) {
		struct subject *s = rec->dirty[rec->flush_pos];
		if (s == NULL) {
			continue;
		}
		if ((rv = write_subject(rec, s)) != HBMON_OK) {
			return rv;
		}
		/* A later change marks it again, after flush_end. On failure
		 * the state is reloaded, flags and all. */
		s->dirty = false;
	}
	if (rec->flush_pos < rec->flush_end) {
		return HBMON_OK;
	}
	/* Then the by-robot index of the requests it covers, also a slice
	 * per iteration. */
	if (rec->index_pos < rec->flush_target) {
		int64_t upto = rec->flush_target;
		if (!all && upto - rec->index_pos > INDEX_SLICE) {
			upto = rec->index_pos + INDEX_SLICE;
		}
		if ((rv = store_requests_index(rec->store, rec->index_pos,
		                               upto)) != HBMON_OK) {
			return rv;
		}
		rec->index_pos = upto;
		if (upto < rec->flush_target) {
			return HBMON_OK;
		}
	}
	if (rec->opts.registry != NULL &&
	    (rv = registry_each(rec->opts.registry, flush_robot, rec)) !=
	        HBMON_OK) {
		return rv;
	}
	for (size_t i = 0; i < rec->n_readers; i++) {
		const struct reader *r = &rec->readers[i];
		if ((rv = store_reader_set(rec->store, r->name, r->delivered,
		                           r->seen_ms)) != HBMON_OK) {
			return rv;
		}
	}
	rec->state.flushed_id = rec->flush_target;
	rec->state.last_alive_ms = rec->wall;
	if ((rv = store_state_set(rec->store, &rec->state)) != HBMON_OK) {
		return rv;
	}
	/* Complete once committed (flush_commit). */
	rec->flush_complete = true;
	*done = true;
	return HBMON_OK;
}

/* Where a flush was before a transaction, to undo it if that fails. */
struct flush_mark {
	bool flushing;
	size_t flush_pos, flush_end;
	int64_t flush_target, index_pos;
	struct store_state state;
};

static void
flush_mark(const struct recorder *rec, struct flush_mark *m)
{
	m->flushing = rec->flushing;
	m->flush_pos = rec->flush_pos;
	m->flush_end = rec->flush_end;
	m->flush_target = rec->flush_target;
	m->index_pos = rec->index_pos;
	m->state = rec->state;
}

/* The transaction committed: a completed flush is done. */
static void
flush_commit(struct recorder *rec)
{
	if (!rec->flush_complete) {
		return;
	}
	/* What was marked during the flush waits for the next one. */
	rec->n_dirty -= rec->flush_end;
	if (rec->n_dirty > 0) {
		memmove(rec->dirty, rec->dirty + rec->flush_end,
		        rec->n_dirty * sizeof(*rec->dirty));
	}
	rec->flushing = false;
	rec->flush_complete = false;
	if (rec->opts.registry != NULL) {
		registry_each(rec->opts.registry, flushed_robot, NULL);
	}
}

/*
 * The transaction failed: the flush is back where m says, and what it
 * wrote in this one is dirty again (memory is kept; only the rows are
 * not written).
 */
static void
flush_abort(struct recorder *rec, const struct flush_mark *m)
{
	size_t from = m->flushing ? m->flush_pos : 0;

	for (size_t i = from; i < rec->flush_pos && i < rec->n_dirty; i++) {
		if (rec->dirty[i] != NULL) {
			rec->dirty[i]->dirty = true;
		}
	}
	rec->flushing = m->flushing;
	rec->flush_pos = m->flush_pos;
	rec->flush_end = m->flush_end;
	rec->flush_target = m->flush_target;
	rec->index_pos = m->index_pos;
	rec->state.flushed_id = m->state.flushed_id;
	rec->state.last_alive_ms = m->state.last_alive_ms;
	rec->flush_complete = false;
}

static int
flush_robot(struct robot *r, void *arg)
{
	struct recorder *rec = arg;

	if (r->committed_seq <= r->flushed_seq || r->removed) {
		return HBMON_OK;
	}
	return store_robot_seq(rec->store, r->id, r->committed_seq,
	                       r->committed_sig);
}

static int
flushed_robot(struct robot *r, void *arg)
{
	(void) arg;
	r->flushed_seq = r->committed_seq;
	return 0;
}

/* After a failed transaction, what counts is what is durable. */
static int
forget_uncommitted(struct robot *r, void *arg)
{
	(void) arg;
	pthread_mutex_lock(&r->lock);
	if (r->committed_seq > r->recorded_seq) {
		r->committed_seq = r->recorded_seq;
		memcpy(r->committed_sig, r->recorded_sig, 32);
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* A robot's request was committed: it is the newest seq that counts. */
static void
note_committed(struct recorder *rec, const char *robot, uint64_t seq,
               const uint8_t *sig)
{
	struct robot *r = rec->opts.registry != NULL
	                      ? registry_find(rec->opts.registry, robot)
	                      : NULL;

	if (r == NULL || sig == NULL || seq <= r->committed_seq) {
		return;
	}
	r->committed_seq = seq;
	memcpy(r->committed_sig, sig, 32);
	/* At start-up the registry only knows the flushed seq: requests
	 * replayed after it raise what a resend is compared with. */
	pthread_mutex_lock(&r->lock);
	if (seq > r->last_seq) {
		r->last_seq = seq;
		memcpy(r->last_sig, sig, 32);
		r->has_last_sig = true;
	}
	pthread_mutex_unlock(&r->lock);
}

/* After a commit: what the jobs' robots sent is durable now. */
static void
note_recorded(struct recorder *rec, struct recorder_job *jobs)
{
	if (rec->opts.auth_none) {
		return;
	}
	for (struct recorder_job *job = jobs; job != NULL; job = job->next) {
		if (job->exec == NULL && job->has_sig && job->robot != NULL) {
			registry_recorded(job->robot, job->seq, job->sig);
		}
	}
}

/*
 * At start-up: requests recorded after the last flush bring the latest
 * state (memory only; their transitions and alerts are already in the
 * store) and the robots' seqs up to date.
 */
static int
replay(void *arg, const struct store_request *r)
{
	struct recorder *rec = arg;
	struct stored_request d;
	struct rfc3339_time ts;
	struct subject *s;
	struct robot *robot;

	rec->last_request_id = r->id;
	note_committed(rec, r->robot, r->seq, r->sig);
	if (r->sig != NULL && rec->opts.registry != NULL &&
	    (robot = registry_find(rec->opts.registry, r->robot)) != NULL) {
		registry_recorded(robot, r->seq, r->sig);
	}
	if (stored_request_decode(r, &d) != HBMON_OK) {
		return HBMON_OK; /* unreadable: the state stays as flushed */
	}
	if (d.robot != NULL &&
	    (s = subjects_find(&rec->subjects, r->robot, "")) != NULL &&
	    rfc3339_parse(d.robot->timestamp, strlen(d.robot->timestamp), &ts,
	                  NULL, 0) == HBMON_OK) {
		take_robot(s, d.robot, &ts);
		s->last_seen_ms = r->received_ms;
		mark_dirty(rec, s);
	}
	for (size_t i = 0; i < d.n_accounts; i++) {
		const Hbmon__V1__AccountHeartbeat *a = d.accounts[i];
		if ((s = subjects_find(&rec->subjects, r->robot, a->account)) !=
		        NULL &&
		    rfc3339_parse(a->timestamp, strlen(a->timestamp), &ts, NULL,
		                  0) == HBMON_OK) {
			take_account(s, a, &ts);
			s->last_seen_ms = r->received_ms;
			mark_dirty(rec, s);
		}
	}
	stored_request_free(&d);
	return HBMON_OK;
}

/* ---- recording heartbeats ---- */

int
recorder_subject(struct recorder *rec, const char *robot, const char *account,
                 struct subject **out)
{
	struct subject *s = subjects_find(&rec->subjects, robot, account);
	int64_t id;
	int rv;

	assert(on_writer(rec));
	if (s != NULL) {
		*out = s;
		return HBMON_OK;
	}
	if (account[0] != '\0') {
		/* Accounts hang off their robot's subject; make it first, so
		 * roll-up works even for robots that only report accounts. */
		struct subject *r;
		if ((rv = recorder_subject(rec, robot, "", &r)) != HBMON_OK) {
			return rv;
		}
	}
	if ((rv = store_subject_create(rec->store, robot, account, rec->wall,
	                               &id)) != HBMON_OK) {
		return rv;
	}
	if ((rv = subjects_add(&rec->subjects, robot, account, id, &s)) !=
	    HBMON_OK) {
		return rv;
	}
	s->interval_ms = (uint32_t) robot_interval(rec, robot);
	*out = s;
	return HBMON_OK;
}

static void
not_allowed_note(struct recorder_item *item, const char *what, const char *from,
                 const char *to)
{
	item->not_allowed = true;
	free(item->note);
	/* Without memory the flag still tells the robot; the sentence is a
	 * courtesy. */
	if (asprintf(&item->note,
	             "%s change %s -> %s is not in the documented diagram; "
	             "recorded and flagged",
	             what, from, to) < 0) {
		item->note = NULL;
	}
}

/*
 * Whether item is a heartbeat of an account robot does not have yet, and
 * robot has accounts_max already: then it is refused (RESOURCE_EXHAUSTED)
 * and recorded nowhere. One robot must not be able to fill the server's
 * memory and disk with made-up accounts.
 */
static bool
refused_new_account(struct recorder *rec, const char *robot,
                    struct recorder_item *item)
{
	struct subject *r;

	if (rec->opts.accounts_max == 0 ||
	    (r = subjects_find(&rec->subjects, robot, "")) == NULL ||
	    r->n_accounts < rec->opts.accounts_max ||
	    subjects_find(&rec->subjects, robot, item->account_hb->account) !=
	        NULL) {
		return false;
	}
	item->skip = true;
	item->err = HBMON_ENOMEM; /* RESOURCE_EXHAUSTED on the wire */
	free(item->note);
	if (asprintf(&item->note,
	             "robot '%s' has %u accounts already, the most one robot "
	             "may have (accounts_max); this one is not recorded",
	             robot, r->n_accounts) < 0) {
		item->note = NULL;
	}
	return true;
}

int
recorder_pack_items(const struct recorder_item *items, size_t n, uint8_t **out,
                    size_t *out_len)
{
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	size_t k = 0;

	if ((b.accounts = malloc((n + 1) * sizeof(*b.accounts))) == NULL) {
		return HBMON_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].skip) {
			continue;
		}
		if (items[i].robot_hb != NULL) {
			b.robot =
			    (Hbmon__V1__RobotHeartbeat *) items[i].robot_hb;
		} else {
			b.accounts[k++] =
			    (Hbmon__V1__AccountHeartbeat *) items[i].account_hb;
		}
	}
	b.n_accounts = k;
	*out_len = hbmon__v1__heartbeat_batch__get_packed_size(&b);
	if ((*out = malloc(*out_len + 1)) == NULL) {
		free(b.accounts);
		return HBMON_ENOMEM;
	}
	hbmon__v1__heartbeat_batch__pack(&b, *out);
	free(b.accounts);
	return HBMON_OK;
}

/*
 * Records one heartbeat: raw row, latest state, transition, then tells the
 * engine. out_subject: the subject it was about (NULL when the recorder
 * refused the item).
 */
static int
apply_item(struct recorder *rec, struct recorder_job *job,
           struct recorder_item *item, struct subject **out_subject)
{
	const Hbmon__V1__RobotHeartbeat *r = item->robot_hb;
	const Hbmon__V1__AccountHeartbeat *a = item->account_hb;
	struct engine_heartbeat seen;
	struct subject *s;
	bool allowed;
	int from, to;
	int rv;

	if (a != NULL && refused_new_account(rec, job->robot->id, item)) {
		return HBMON_OK;
	}
	rv = recorder_subject(rec, job->robot->id, a != NULL ? a->account : "",
	                      &s);
	if (rv != HBMON_OK) {
		return rv;
	}
	from = s->status;
	to = r != NULL ? (int) r->status : (int) a->status;
	allowed = r != NULL ? rules_health_allowed(from, to)
	                    : rules_account_allowed(from, to);
	/* The heartbeat itself is kept with its request (apply_job); only a
	 * change of state is a row of its own, kept forever. */
	if (from != to &&
	    (rv = store_transition_record(rec->store, s->id, job->received_ms,
	                                  from, to, allowed)) != HBMON_OK) {
		return rv;
	}
	if (!allowed) {
		not_allowed_note(
		    item, r != NULL ? "health" : "account",
		    r != NULL ? words_health(from) : words_account(from),
		    r != NULL ? words_health(to) : words_account(to));
	}
	if (r != NULL) {
		take_robot(s, r, &item->timestamp);
	} else {
		take_account(s, a, &item->timestamp);
	}
	if ((rv = mark_dirty(rec, s)) != HBMON_OK) {
		return rv;
	}
	seen.received_ms = job->received_ms;
	seen.host = job->peer;
	seen.from_status = from;
	seen.to_status = to;
	seen.allowed = allowed;
	seen.timestamp_ms = rfc3339_unix_ms(&item->timestamp);
	if ((rv = engine_heard(rec->engine, s, &seen, rec->now, rec->wall)) !=
	    HBMON_OK) {
		return rv;
	}
	item->recorded = true;
	*out_subject = s;
	return HBMON_OK;
}

static int
apply_job(struct recorder *rec, struct recorder_job *job)
{
	struct subject *robot = NULL;
	uint8_t *repacked = NULL;
	size_t repacked_len = 0;
	size_t refused = 0;
	int rv;

	if (job->exec != NULL) {
		/* A refusal is the job's own answer; a store failure is the
		 * transaction's (store_commit reports it). */
		job->status = job->exec(rec, job);
		return HBMON_OK;
	}
	for (size_t i = 0; i < job->n_items; i++) {
		struct recorder_item *item = &job->items[i];
		struct subject *s = NULL;

		if (item->skip) {
			continue;
		}
		item->recorded = false;
		item->not_allowed = false;
		if ((rv = apply_item(rec, job, item, &s)) != HBMON_OK) {
			return rv;
		}
		if (item->skip) {
			refused++;
		} else if (item->robot_hb != NULL) {
			robot = s;
		}
	}
	/* With every account of the request in, compare what the robot
	 * says it runs with what it reported. */
	if (robot != NULL &&
	    (rv = engine_robot_reported(rec->engine, robot, rec->now,
	                                rec->wall)) != HBMON_OK) {
		return rv;
	}
	job->status = HBMON_OK;
	if (refused > 0) {
		/* What is recorded is what was accepted (SPEC §3.1): the
		 * request is kept without the items refused here. */
		job->items_recorded -= (uint32_t) refused;
		if (job->items_recorded > 0) {
			if ((rv = recorder_pack_items(
			         job->items, job->n_items, &repacked,
			         &repacked_len)) != HBMON_OK) {
				return rv;
			}
			job->kind = STORE_BATCH;
			job->payload = repacked;
			job->payload_len = repacked_len;
		}
	}
	if (job->items_recorded > 0) {
		struct store_request req = { 0 };
		req.robot = job->robot->id;
		req.received_ms = job->received_ms;
		req.seq = job->seq;
		req.sig = job->has_sig ? job->sig : NULL;
		req.kind = job->kind;
		req.items = job->items_recorded;
		req.payload = job->payload;
		req.payload_len = job->payload_len;
		rv = store_request_record(rec->store, &req,
		                          &rec->last_request_id);
		if (repacked != NULL) {
			/* Bound into the statement only while it ran. */
			job->payload = NULL;
			job->payload_len = 0;
			free(repacked);
		}
		if (rv != HBMON_OK) {
			return rv;
		}
	}
	if (job->has_sig && !rec->opts.auth_none) {
		note_committed(rec, job->robot->id, job->seq, job->sig);
	}
	return HBMON_OK;
}

/* ---- the database's health ---- */

/* Free bytes in the data dir's file system, or -1. */
static int64_t
free_bytes(struct recorder *rec)
{
	return store_free_bytes(rec->store);
}

/* Before a transaction: whether to try the database at all. */
static void
choose_attempt(struct recorder *rec, int64_t mono)
{
	bool hold = rec->db_failing && mono < rec->next_attempt;

	if (rec->wal_pinned) {
		hold = true;
	}
	store_hold_writes(rec->store, hold);
}

static enum store_fault
current_fault(const struct recorder *rec)
{
	return rec->wal_pinned ? STORE_FAULT_WAL
	                       : (enum store_fault) rec->fault;
}

/*
 * Inside the transaction, before its commit: STORAGE_FAILING fires while
 * writes fail (a lock only once it has lasted LOCKED_ALERT_AFTER_MS) and
 * is resolved in the first transaction after one committed. Both are
 * alerts like any other: journaled, published at once.
 */
static void
watch_storage(struct recorder *rec, int64_t mono)
{
	struct engine_condition c = { 0 };
	bool holds = engine_server_condition_holds(
	    rec->engine, HBMON__V1__ALERT_KIND__ALERT_KIND_STORAGE_FAILING);

	c.kind = HBMON__V1__ALERT_KIND__ALERT_KIND_STORAGE_FAILING;
	if (store_txn_failed(rec->store)) {
		enum store_fault f =
		    rec->wal_pinned ? STORE_FAULT_WAL : store_fault(rec->store);
		if (rec->failing_since == 0) {
			rec->failing_since = mono;
		}
		if (holds ||
		    (f == STORE_FAULT_LOCKED &&
		     mono - rec->failing_since < LOCKED_ALERT_AFTER_MS)) {
			return;
		}
		c.holds = true;
		c.fault = f;
	} else if (holds && rec->last_written && rec->ok_since != 0 &&
	           mono - rec->ok_since >= RESOLVE_AFTER_MS) {
		c.holds = false;
	} else {
		return;
	}
	c.free_bytes = free_bytes(rec);
	(void) engine_server_condition(rec->engine, &c, rec->now, rec->wall);
	health_note_storage(rec->opts.health, c.holds,
	                    store_fault_text((enum store_fault) c.fault));
}

/* After a failed transaction: back off, say so (not too often). */
static void
storage_failed(struct recorder *rec, int64_t mono)
{
	size_t ops = 0, bytes = 0;
	uint64_t dropped = 0;

	if (!rec->db_failing) {
		rec->db_failing = true;
		rec->retry_ms = RETRY_FIRST_MS;
		rec->failed_txns = 0;
		rec->next_fail_log = mono;
		if (rec->failing_since == 0) {
			rec->failing_since = mono;
		}
	} else if (mono >= rec->next_attempt) {
		/* A real attempt failed again: wait longer. */
		rec->retry_ms = rec->retry_ms * 2 > RETRY_MAX_MS
		                    ? RETRY_MAX_MS
		                    : rec->retry_ms * 2;
	}
	if (mono >= rec->next_attempt) {
		rec->next_attempt = mono + rec->retry_ms;
	}
	rec->fault = store_fault(rec->store);
	rec->last_written = false;
	rec->ok_since = 0;
	rec->failed_txns++;
	atomic_store(&rec->storage_failing, true);
	if (mono >= rec->next_fail_log) {
		store_backlog(rec->store, &ops, &bytes, &dropped);
		log_error("the database cannot be written; heartbeats are "
		          "refused (UNAVAILABLE) and alerts go out from memory "
		          "until it can",
		          "reason=%s error=%s failed_transactions=%llu "
		          "backlog_writes=%zu backlog_bytes=%zu dropped=%llu "
		          "unwritten_alerts=%zu",
		          store_fault_text(current_fault(rec)),
		          store_errmsg(rec->store),
		          (unsigned long long) rec->failed_txns, ops, bytes,
		          (unsigned long long) dropped,
		          engine_unwritten_count(rec->engine));
		rec->next_fail_log = mono + FAIL_LOG_EVERY_MS;
	}
}

/* After a committed transaction. */
static void
storage_ok(struct recorder *rec, int64_t mono)
{
	if (rec->db_failing) {
		log_info("the database is written again; what was held back "
		         "is in it",
		         "after_ms=%lld failed_transactions=%llu",
		         (long long) (mono - rec->failing_since),
		         (unsigned long long) rec->failed_txns);
	}
	if (rec->ok_since == 0) {
		rec->ok_since = mono;
	}
	rec->db_failing = false;
	rec->failing_since = 0;
	rec->next_attempt = 0;
	rec->retry_ms = 0;
	rec->last_written = true;
	rec->fault = STORE_FAULT_NONE;
	/* Admin writes wait for the alert to resolve: while it holds, the
	 * database may take one write and refuse the next. */
	atomic_store(&rec->storage_failing,
	             engine_server_condition_holds(
	                 rec->engine,
	                 HBMON__V1__ALERT_KIND__ALERT_KIND_STORAGE_FAILING));
}

static void watch_disk(struct recorder *rec, int64_t mono);

/* ---- completions: how a finished job reaches its owner ---- */

/* On an nng thread: the job's done, then the completion is idle again. */
static void
completion_cb(void *arg)
{
	struct completion *c = arg;
	struct recorder *rec = c->rec;

	/* done may free the job; the completion is the recorder's. */
	c->job->done(c->job);
	pthread_mutex_lock(&rec->completion_lock);
	c->job = NULL;
	c->next_idle = rec->idle_completions;
	rec->idle_completions = c;
	pthread_mutex_unlock(&rec->completion_lock);
}

static void
completion_cancel(nng_aio *aio, void *arg, int rv)
{
	/* Nothing to undo: a completion is finished as soon as it begins. */
	(void) aio;
	(void) arg;
	(void) rv;
}

/* An idle completion, made when none is (NULL without memory). */
static struct completion *
completion_take(struct recorder *rec)
{
	struct completion *c;

	pthread_mutex_lock(&rec->completion_lock);
	if ((c = rec->idle_completions) != NULL) {
		rec->idle_completions = c->next_idle;
		pthread_mutex_unlock(&rec->completion_lock);
		return c;
	}
	pthread_mutex_unlock(&rec->completion_lock);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return NULL;
	}
	if (nng_aio_alloc(&c->aio, completion_cb, c) != 0) {
		free(c);
		return NULL;
	}
	c->rec = rec;
	pthread_mutex_lock(&rec->completion_lock);
	c->next_all = rec->all_completions;
	rec->all_completions = c;
	pthread_mutex_unlock(&rec->completion_lock);
	return c;
}

/*
 * Hands a finished job to an nng thread, where its done runs: the writer
 * goes on with the next batch instead of building replies, and replies
 * are built on as many threads as nng has. Without memory for a
 * completion, done runs here, which is late but not lost.
 */
static void
deliver(struct recorder *rec, struct recorder_job *job)
{
	struct completion *c = completion_take(rec);

	if (c == NULL) {
		job->done(job);
		return;
	}
	c->job = job;
	/* A fresh completion always begins (its aio was never stopped);
	 * one that cannot is given up on, and done runs here. */
	if (!nng_aio_begin(c->aio)) {
		completion_cb(c);
		return;
	}
	nng_aio_defer(c->aio, completion_cancel, c);
	nng_aio_finish(c->aio, 0);
}

/* At stop, once no job is left: waits for every completion's callback
 * and frees them. */
static void
completions_free(struct recorder *rec)
{
	struct completion *c, *next;

	/* nng_aio_free waits for a callback that is running. */
	for (c = rec->all_completions; c != NULL; c = c->next_all) {
		nng_aio_free(c->aio);
	}
	for (c = rec->all_completions; c != NULL; c = next) {
		next = c->next_all;
		free(c);
	}
	rec->all_completions = NULL;
	rec->idle_completions = NULL;
}

/* ---- one iteration: a batch of jobs and a tick, one transaction ---- */

/*
 * The jobs, the tick and a slice of the latest state, in one transaction.
 * Whether or not it commits, memory has moved on: a heartbeat heard is
 * heard, a deadline passed has fired. If it does not commit, the jobs are
 * answered UNAVAILABLE (their requests are not recorded; robots send them
 * again), the store keeps what memory decided for the next transaction,
 * and the alerts go out at once all the same.
 *
 * Then each job is finished: committed() on this thread for an exec job
 * whose writes are durable, and done(): right here for own (the job of
 * the thread that is writing, which then replies on its own thread) and
 * through deliver for every other. Returns whether own was among jobs.
 */
static bool
iterate(struct recorder *rec, struct recorder_job *jobs, size_t n_jobs,
        bool more_waiting, const struct recorder_job *own)
{
	int64_t last_request_id = rec->last_request_id;
	bool own_done = false;
	struct recorder_job *job, *next;
	int64_t started = clock_mono_ms();
	struct flush_mark mark;
	bool flushed = false, written;
	int64_t mono, commit_ns;
	int rv;

	read_clocks(rec);
	mono = clock_mono_ms();
	choose_attempt(rec, mono);
	(void) store_begin(rec->store);
	for (job = jobs; job != NULL; job = job->next) {
		if ((rv = apply_job(rec, job)) != HBMON_OK) {
			job->status = rv;
		}
	}
	if ((rv = engine_tick(rec->engine, rec->now, rec->wall)) != HBMON_OK) {
		log_error("the alert engine ran out of memory", "error=%s",
		          hbmon_strerror(rv));
	}
	watch_storage(rec, mono);
	watch_disk(rec, mono);
	/* The latest state follows the requests: within a tick when load is
	 * light (it costs little and keeps the table current for people
	 * reading it), and at least every flush interval under load, when
	 * writing it per request would cost the most; a long flush goes on a
	 * slice per iteration. Not while the database cannot be written:
	 * it is redone from memory once it can. */
	flush_mark(rec, &mark);
	if (!store_txn_failed(rec->store) &&
	    (rec->flushing ||
	     (rec->opts.flush_when_idle && !more_waiting && n_jobs <= 2 &&
	      rec->n_dirty > 0 && rec->n_dirty <= FLUSH_SMALL &&
	      (n_jobs == 0 ||
	       rec->wall - rec->state.last_alive_ms >= FLUSH_IDLE_GAP_MS)) ||
	     rec->wall - rec->state.last_alive_ms >=
	         rec->opts.flush_interval_ms)) {
		(void) flush_step(rec, false, &flushed);
	}
	commit_ns = clock_mono_ns();
	written = store_commit(rec->store) == HBMON_OK;
	metrics_commit((clock_mono_ns() - commit_ns) / 1000, written);
	if (written) {
		note_recorded(rec, jobs);
		flush_commit(rec);
		storage_ok(rec, mono);
	} else {
		flush_abort(rec, &mark);
		rec->last_request_id = last_request_id;
		if (rec->opts.registry != NULL) {
			registry_each(rec->opts.registry, forget_uncommitted,
			              NULL);
		}
		storage_failed(rec, mono);
	}
	engine_flush(rec->engine, publisher_send, rec->opts.publisher, written);
	health_note_iteration(rec->opts.health, started, clock_mono_ms(),
	                      written,
	                      written ? engine_committed_seq(rec->engine) : 0);
	for (job = jobs; job != NULL; job = next) {
		next = job->next;
		if (!written && !job->reads_only) {
			if (job->status == HBMON_OK) {
				job->status = HBMON_EIO;
			}
			job->why = store_fault_text(current_fault(rec));
			for (size_t i = 0; i < job->n_items; i++) {
				job->items[i].recorded = false;
			}
		}
		if (written && job->committed != NULL &&
		    job->status == HBMON_OK) {
			job->committed(job);
		}
		if (job == own) {
			own_done = true;
			job->done(job); /* may free it */
		} else {
			deliver(rec, job);
		}
	}
	(void) n_jobs;
	return own_done;
}

/*
 * After a commit, between two iterations: the WAL's bound (store.h). Past
 * wal_max the writer copies the WAL itself and waits for readers, so that
 * its next commit starts the WAL over; the checkpoint thread has usually
 * copied most of it already. A stall here is the server's own, not the
 * robots' (read_clocks takes it out).
 */
static void
wal_maintain(struct recorder *rec)
{
	int64_t wal = store_wal_bytes(rec->store);
	int64_t mono = clock_mono_ms();

	if (wal < rec->opts.wal_max) {
		rec->wal_pinned = false;
	}
	if (rec->wal_pinned && mono < rec->next_pinned_try) {
		return;
	}
	if (wal >= rec->opts.wal_max) {
		int64_t t0 = mono;
		int rv;
		/* The writer waits for the thread's checkpoint, if one is
		 * running: it has copied most of the WAL by then. */
		pthread_mutex_lock(&rec->checkpoint_lock);
		rv = store_checkpoint(rec->store, STORE_CHECKPOINT_RESTART,
		                      CEILING_WAIT_MS, NULL);
		pthread_mutex_unlock(&rec->checkpoint_lock);
		log_debug("WAL at its ceiling: checkpointed by the writer",
		          "wal_bytes=%lld result=%s ms=%lld", (long long) wal,
		          hbmon_strerror(rv),
		          (long long) (clock_mono_ms() - t0));
		if (rv == HBMON_OK) {
			rec->wal_pinned = false;
		} else if (wal >= 2 * rec->opts.wal_max) {
			/* A reader keeps it from completing: writes wait, so
			 * that the disk does not fill (SPEC §3.5). */
			if (!rec->wal_pinned) {
				log_error("the WAL cannot be checkpointed (a "
				          "reader holds it); writes wait until "
				          "it can",
				          "wal_bytes=%lld wal_max=%lld",
				          (long long) wal,
				          (long long) rec->opts.wal_max);
			}
			rec->wal_pinned = true;
			rec->next_pinned_try =
			    clock_mono_ms() + PINNED_RETRY_MS;
		}
	} else if (rec->disk_low && mono >= rec->next_truncate &&
	           !rec->db_failing) {
		/* Low on space: the WAL file gives its space back. */
		rec->next_truncate = mono + DISK_TRUNCATE_EVERY_MS;
		pthread_mutex_lock(&rec->checkpoint_lock);
		(void) store_checkpoint(rec->store, STORE_CHECKPOINT_TRUNCATE,
		                        CEILING_WAIT_MS, NULL);
		pthread_mutex_unlock(&rec->checkpoint_lock);
	} else if (!rec->checkpointing && wal >= WRITER_CHECKPOINT_AT) {
		(void) store_checkpoint(rec->store, STORE_CHECKPOINT_PASSIVE, 0,
		                        NULL);
	}
}

/*
 * The lowest seq every notifier heard from within alert_retention has
 * delivered: alerts past it are still owed to someone. UINT64_MAX when
 * no notifier names itself.
 */
static uint64_t
readers_floor(const struct recorder *rec, int64_t cutoff_ms)
{
	uint64_t floor = UINT64_MAX;

	for (size_t i = 0; i < rec->n_readers; i++) {
		const struct reader *r = &rec->readers[i];
		if (r->seen_ms >= cutoff_ms && r->delivered < floor) {
			floor = r->delivered;
		}
	}
	return floor;
}

/* Readers not heard from within alert_retention hold nothing back. */
static void
forget_readers(struct recorder *rec, int64_t cutoff_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < rec->n_readers; i++) {
		if (rec->readers[i].seen_ms >= cutoff_ms) {
			rec->readers[k++] = rec->readers[i];
		}
	}
	rec->n_readers = k;
}

/* How long between pruning steps that found nothing more to do. */
static int64_t
prune_every(const struct recorder *rec)
{
	int64_t every = PRUNE_EVERY_MS;

	if (rec->opts.retention_ms / 2 < every) {
		every = rec->opts.retention_ms / 2;
	}
	if (rec->opts.alert_retention_ms > 0 &&
	    rec->opts.alert_retention_ms / 2 < every) {
		every = rec->opts.alert_retention_ms / 2;
	}
	return every > 0 ? every : 1;
}

static void
prune_step(struct recorder *rec)
{
	int64_t now = clock_wall_ms();
	int deleted = 0, alerts = 0;

	if (store_prune(rec->store, now - rec->opts.retention_ms, PRUNE_STEP,
	                &deleted) != HBMON_OK) {
		log_warn("pruning old heartbeats failed", "error=%s",
		         store_errmsg(rec->store));
		deleted = 0;
	}
	if (rec->opts.alert_retention_ms > 0) {
		int64_t cutoff = now - rec->opts.alert_retention_ms;
		/* The engine's pending and unwritten alerts are newer than
		 * anything pruned; readers_floor keeps what is owed. */
		if (store_prune_alerts(rec->store, cutoff,
		                       readers_floor(rec, cutoff), PRUNE_STEP,
		                       &alerts) != HBMON_OK) {
			log_warn("pruning old alerts failed", "error=%s",
			         store_errmsg(rec->store));
			alerts = 0;
		}
		forget_readers(rec, cutoff);
	}
	/* A full step means more may be waiting: come back soon, but after
	 * any queued jobs; with the disk low, as long as anything goes. */
	rec->next_prune_ms =
	    clock_mono_ms() + (deleted == PRUNE_STEP || alerts == PRUNE_STEP ||
	                               (rec->disk_low && deleted + alerts > 0)
	                           ? 0
	                           : prune_every(rec));
}

/*
 * Inside the transaction, once a second: DISK_SPACE_LOW below
 * disk_free_min (a warning before writes fail), resolved once a tenth
 * above it. Pruning then runs without pauses and the WAL file is emptied
 * now and then: what retention allows goes, and SQLite reuses its pages
 * (the file does not shrink by itself).
 */
static void
watch_disk(struct recorder *rec, int64_t mono)
{
	struct engine_condition c = { 0 };
	int64_t free;
	bool holds;

	if (rec->opts.disk_free_min <= 0 || mono < rec->next_disk_check) {
		return;
	}
	rec->next_disk_check = mono + DISK_CHECK_EVERY_MS;
	if ((free = free_bytes(rec)) < 0) {
		return;
	}
	c.kind = HBMON__V1__ALERT_KIND__ALERT_KIND_DISK_SPACE_LOW;
	c.free_bytes = free;
	c.free_min = rec->opts.disk_free_min;
	holds = engine_server_condition_holds(rec->engine, c.kind);
	if (!holds && free < rec->opts.disk_free_min) {
		c.holds = true;
		rec->next_prune_ms = mono;
		log_warn("the data dir is low on space; old heartbeats are "
		         "pruned as retention allows",
		         "free_bytes=%lld disk_free_min=%lld", (long long) free,
		         (long long) rec->opts.disk_free_min);
	} else if (holds && free >= rec->opts.disk_free_min +
	                                rec->opts.disk_free_min / 10) {
		c.holds = false;
	} else {
		c.holds = holds;
	}
	(void) engine_server_condition(rec->engine, &c, rec->now, rec->wall);
	rec->disk_low = c.holds;
}

static void
wait_on(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t mono_ms)
{
	int64_t wait_ms = mono_ms - clock_mono_ms();
	struct timespec until;

	if (wait_ms <= 0) {
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(cond, lock, &until);
}

static void
wait_until(struct recorder *rec, int64_t mono_ms)
{
	wait_on(&rec->wake, &rec->lock, mono_ms);
}

/* Takes up to batch_max jobs off the queue (lock held). */
static struct recorder_job *
take_jobs(struct recorder *rec, size_t *out_n, bool *out_more)
{
	struct recorder_job *jobs = rec->head, *last = rec->head;
	size_t n = 0;

	if (jobs != NULL) {
		for (n = 1; n < rec->opts.batch_max && last->next != NULL;
		     n++) {
			last = last->next;
		}
		rec->head = last->next;
		if (rec->head == NULL) {
			rec->tail = NULL;
		}
		last->next = NULL;
		rec->queued -= n;
	}
	rec->writing = n;
	*out_n = n;
	*out_more = rec->head != NULL;
	return jobs;
}

/*
 * Writes what is queued: everything that queued while a batch was being
 * committed goes into the next one (group commit). Whoever finds the
 * recorder idle does this. A submitter (own: its job) writes until its
 * own job is finished and, while more is queued, on for at most a tick
 * (its own reply has gone out by then), then hands what is left to the
 * recorder thread: a request at light load is recorded and answered on
 * the thread that received it without waking another, under load the
 * writing changes threads at most once a tick, and no nng thread is kept
 * writing for others for longer. The recorder thread (own NULL) writes
 * until nothing is queued. Called and returns with the lock held; one
 * writer at a time (rec->busy).
 */
static void
lead(struct recorder *rec, const struct recorder_job *own)
{
	int64_t until = clock_mono_ms() + rec->opts.tick_ms;
	bool own_done = false;

	rec->busy = true;
	do {
		struct recorder_job *jobs;
		size_t n;
		bool more;

		jobs = take_jobs(rec, &n, &more);
		pthread_mutex_unlock(&rec->lock);
		writing_here = rec;
		if (iterate(rec, jobs, n, more, own)) {
			own_done = true;
		}
		wal_maintain(rec);
		writing_here = NULL;
		pthread_mutex_lock(&rec->lock);
		rec->writing = 0;
	} while (rec->head != NULL &&
	         (own == NULL || !own_done || clock_mono_ms() < until));
	rec->busy = false;
	if (rec->head != NULL) {
		pthread_cond_signal(
		    &rec->wake); /* the recorder thread's turn */
	}
	pthread_cond_broadcast(&rec->idle);
}

/*
 * The ticker: when nobody is writing, it looks at deadlines every tick (in
 * an iteration of its own) and prunes; under load the writers' iterations
 * tick as they go.
 */
static void *
recorder_main(void *arg)
{
	struct recorder *rec = arg;
	int64_t next_tick = clock_mono_ms();

	pthread_mutex_lock(&rec->lock);
	for (;;) {
		int64_t mono;

		/* Until the tick, unless a submitter left work queued. */
		while (!rec->stopping && clock_mono_ms() < next_tick &&
		       (rec->head == NULL || rec->busy)) {
			wait_until(rec, next_tick);
		}
		if (!rec->busy) {
			lead(rec, NULL);
		}
		if (rec->stopping) {
			/* Whatever is left is written by its leader, or now. */
			while (rec->busy) {
				pthread_cond_wait(&rec->idle, &rec->lock);
			}
			if (rec->head != NULL) {
				lead(rec, NULL);
			}
			break;
		}
		mono = clock_mono_ms();
		next_tick = mono + rec->opts.tick_ms;
		if (!rec->busy && rec->head == NULL && !rec->db_failing &&
		    mono >= rec->next_prune_ms) {
			rec->busy = true;
			pthread_mutex_unlock(&rec->lock);
			writing_here = rec;
			prune_step(rec);
			writing_here = NULL;
			pthread_mutex_lock(&rec->lock);
			rec->busy = false;
			pthread_cond_broadcast(&rec->idle);
			if (rec->head != NULL) {
				lead(rec, NULL);
			}
		}
	}
	pthread_mutex_unlock(&rec->lock);
	return NULL;
}

/* How often the WAL is copied into the database file. */
#define CHECKPOINT_EVERY_MS 500

/*
 * Copies the WAL into the database from its own connection. PASSIVE never
 * blocks the writer; the writer's commits stay free of the fsyncs a
 * checkpoint does (which otherwise show up as 50-100 ms stalls every second
 * under load).
 */
static void *
checkpointer_main(void *arg)
{
	struct recorder *rec = arg;
	int rv;

	pthread_mutex_lock(&rec->lock);
	while (!rec->stopping) {
		wait_on(&rec->checkpoint_wake, &rec->lock,
		        clock_mono_ms() + CHECKPOINT_EVERY_MS);
		if (rec->stopping) {
			break;
		}
		pthread_mutex_unlock(&rec->lock);
		pthread_mutex_lock(&rec->checkpoint_lock);
		rv = store_checkpoint(rec->opts.checkpoint_store,
		                      STORE_CHECKPOINT_PASSIVE, 0, NULL);
		pthread_mutex_unlock(&rec->checkpoint_lock);
		if (rv == HBMON_EIO) {
			log_warn("WAL checkpoint failed", "error=%s",
			         store_errmsg(rec->opts.checkpoint_store));
		}
		pthread_mutex_lock(&rec->lock);
	}
	pthread_mutex_unlock(&rec->lock);
	return NULL;
}

/*
 * At start-up: SERVER_RESTARTED for the time since the last run, and the
 * latest state written in full. A database that cannot be written does
 * not stop the server: it starts in memory like any failed transaction.
 */
static void
note_start(struct recorder *rec)
{
	/* load_state read the state: a first start has none. */
	int64_t last_alive = rec->state.last_alive_ms;
	int64_t mono = clock_mono_ms();
	struct flush_mark mark;
	bool done, written;

	(void) store_begin(rec->store);
	if (last_alive > 0) {
		int64_t outage = rec->wall - last_alive;
		/* Still "running" in the store: the last run ended without
		 * recorder_stop (kill -9, a crash, power loss). */
		(void) engine_server_restarted(
		    rec->engine, outage > 0 ? outage : 0,
		    rec->state.run_state == STORE_RUN_RUNNING,
		    rec->opts.interval_max_ms, rec->wall);
	}
	rec->state.started_ms = rec->wall;
	rec->state.run_state = STORE_RUN_RUNNING;
	flush_mark(rec, &mark);
	if (!store_txn_failed(rec->store)) {
		(void) flush_step(rec, true, &done);
	}
	watch_storage(rec, mono);
	written = store_commit(rec->store) == HBMON_OK;
	if (written) {
		flush_commit(rec);
		storage_ok(rec, mono);
	} else {
		flush_abort(rec, &mark);
		storage_failed(rec, mono);
	}
	engine_flush(rec->engine, publisher_send, rec->opts.publisher, written);
}

int
recorder_start(struct store *store, const struct recorder_options *opts,
               struct recorder **out)
{
	struct recorder *rec = calloc(1, sizeof(*rec));
	pthread_condattr_t attr;
	int64_t quarter;
	int rv;

	if (rec == NULL) {
		store_close(opts->checkpoint_store);
		return HBMON_ENOMEM;
	}
	rec->store = store;
	rec->opts = *opts;
	if (rec->opts.batch_max == 0) {
		rec->opts.batch_max = 1;
	}
	if (rec->opts.tick_ms <= 0) {
		rec->opts.tick_ms = 10;
	}
	if (rec->opts.flush_interval_ms <= 0) {
		rec->opts.flush_interval_ms = ALIVE_EVERY_MS;
	}
	if (rec->opts.wal_max <= 0) {
		rec->opts.wal_max = WAL_MAX_DEFAULT;
	}
	rec->opts.engine.tick_ms = rec->opts.tick_ms;
	/* A gap of a quarter interval (at least 50 ms, at most 1 s) is a
	 * stall; scheduling noise below that is not worth a correction. */
	quarter = rec->opts.interval_max_ms / 4;
	rec->stall_min_ms = quarter < 50 ? 50 : quarter > 1000 ? 1000 : quarter;
	read_clocks(rec);
	if ((rv = load_state(rec)) != HBMON_OK) {
		store_close(rec->opts.checkpoint_store);
		free(rec);
		return rv;
	}
	store_set_busy_timeout(rec->store, WRITER_BUSY_MS);
	note_start(rec);
	rec->next_prune_ms = clock_mono_ms();
	atomic_init(&rec->storage_failing, rec->db_failing);
	pthread_mutex_init(&rec->lock, NULL);
	pthread_mutex_init(&rec->checkpoint_lock, NULL);
	pthread_mutex_init(&rec->completion_lock, NULL);
	/* Waits are measured on the monotonic clock: a wall-clock jump must
	 * not stall or hurry the recorder. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rec->wake, &attr);
	pthread_cond_init(&rec->checkpoint_wake, &attr);
	pthread_cond_init(&rec->idle, NULL);
	pthread_condattr_destroy(&attr);
	rec->started = true;
	if (pthread_create(&rec->thread, NULL, recorder_main, rec) != 0) {
		rec->started = false;
		pthread_mutex_destroy(&rec->completion_lock);
		pthread_cond_destroy(&rec->wake);
		pthread_cond_destroy(&rec->checkpoint_wake);
		pthread_cond_destroy(&rec->idle);
		pthread_mutex_destroy(&rec->checkpoint_lock);
		pthread_mutex_destroy(&rec->lock);
		unload_state(rec);
		store_close(rec->opts.checkpoint_store);
		free(rec);
		return HBMON_ENOMEM;
	}
	if (rec->opts.checkpoint_store != NULL) {
		if (pthread_create(&rec->checkpointer, NULL, checkpointer_main,
		                   rec) == 0) {
			rec->checkpointing = true;
		} else {
			log_warn("no checkpoint thread; the writer checkpoints",
			         NULL);
		}
	}
	store_set_wal_max(rec->store, rec->opts.wal_max);
	log_info("state loaded", "subjects=%zu last_alert_seq=%llu",
	         subjects_count(&rec->subjects),
	         (unsigned long long) engine_last_seq(rec->engine));
	*out = rec;
	return HBMON_OK;
}

int
recorder_submit(struct recorder *rec, struct recorder_job *job)
{
	pthread_mutex_lock(&rec->lock);
	if (rec->stopping) {
		pthread_mutex_unlock(&rec->lock);
		return HBMON_ECLOSED;
	}
	job->next = NULL;
	if (rec->tail != NULL) {
		rec->tail->next = job;
	} else {
		rec->head = job;
	}
	rec->tail = job;
	rec->queued++;
	if (!rec->busy) {
		lead(rec, job);
	}
	pthread_mutex_unlock(&rec->lock);
	return HBMON_OK;
}

/* A recorder_read call: the job and what its caller waits on. */
struct read_job {
	struct recorder_job job; /* first: job_of */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	void (*fn)(void *arg, struct recorder *rec);
	void *arg;
};

static int
read_exec(struct recorder *rec, struct recorder_job *job)
{
	struct read_job *r = (struct read_job *) job;

	r->fn(r->arg, rec);
	return HBMON_OK;
}

static void
read_done(struct recorder_job *job)
{
	struct read_job *r = (struct read_job *) job;

	pthread_mutex_lock(&r->lock);
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

int
recorder_read(struct recorder *rec, void (*fn)(void *arg, struct recorder *rec),
              void *arg)
{
	struct read_job r;
	int rv;

	static_assert(offsetof(struct read_job, job) == 0,
	              "a read job is its recorder job");
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	r.job.exec = read_exec;
	r.job.reads_only = true;
	r.job.done = read_done;
	r.fn = fn;
	r.arg = arg;
	if ((rv = recorder_submit(rec, &r.job)) == HBMON_OK) {
		pthread_mutex_lock(&r.lock);
		while (!r.done) {
			pthread_cond_wait(&r.cond, &r.lock);
		}
		pthread_mutex_unlock(&r.lock);
	}
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	return rv;
}

bool
recorder_storage_failing(struct recorder *rec)
{
	return atomic_load(&rec->storage_failing);
}

size_t
recorder_pending(struct recorder *rec)
{
	size_t n;

	pthread_mutex_lock(&rec->lock);
	n = rec->queued + rec->writing;
	pthread_mutex_unlock(&rec->lock);
	return n;
}

struct store *
recorder_store(struct recorder *rec)
{
	assert(on_writer(rec));
	return rec->store;
}

struct subjects *
recorder_subjects(struct recorder *rec)
{
	assert(on_writer(rec));
	return &rec->subjects;
}

void
recorder_remove_subject(struct recorder *rec, struct subject *s)
{
	assert(on_writer(rec));
	/* Rare (an owner removing a robot): a scan is cheap enough. */
	for (size_t i = 0; i < rec->n_dirty; i++) {
		if (rec->dirty[i] == s) {
			rec->dirty[i] = NULL;
		}
	}
	subjects_remove(&rec->subjects, s);
}

struct engine *
recorder_engine(struct recorder *rec)
{
	assert(on_writer(rec));
	return rec->engine;
}

void
recorder_clock(struct recorder *rec, int64_t *now, int64_t *wall)
{
	assert(on_writer(rec));
	*now = rec->now;
	*wall = rec->wall;
}

void
recorder_stop(struct recorder *rec)
{
	if (rec == NULL) {
		return;
	}
	pthread_mutex_lock(&rec->lock);
	rec->stopping = true;
	pthread_cond_signal(&rec->wake);
	pthread_cond_signal(&rec->checkpoint_wake);
	pthread_mutex_unlock(&rec->lock);
	pthread_join(rec->thread, NULL);
	if (rec->checkpointing) {
		pthread_join(rec->checkpointer, NULL);
	}
	/* Every job is finished; their completions may still be running. */
	completions_free(rec);
	rec->started = false; /* this thread writes the last of it */
	/* Everything written, and the last moment the server was surely
	 * alive, for the outage length the next start reports. */
	if (rec->engine != NULL) {
		bool done;
		size_t ops = 0;
		rec->wall = clock_wall_ms();
		/* Written with the last flush: if that fails, the next start
		 * rightly finds the run not cleanly ended. */
		rec->state.run_state = STORE_RUN_STOPPED;
		store_hold_writes(rec->store, false);
		(void) store_begin(rec->store);
		if (!store_txn_failed(rec->store)) {
			(void) flush_step(rec, true, &done);
			(void) engine_release_seqs(rec->engine);
		}
		if (store_commit(rec->store) != HBMON_OK) {
			store_backlog(rec->store, &ops, NULL, NULL);
			log_error("cannot write the latest state at exit; the "
			          "next start replays it from the requests",
			          "error=%s reason=%s backlog_writes_lost=%zu "
			          "unwritten_alerts=%zu",
			          store_errmsg(rec->store),
			          store_fault_text(store_fault(rec->store)),
			          ops, engine_unwritten_count(rec->engine));
		}
	}
	unload_state(rec);
	free(rec->dirty);
	free(rec->readers);
	if (rec->checkpointing) {
		/* A last full copy: the next start finds a small WAL. */
		store_checkpoint(rec->opts.checkpoint_store,
		                 STORE_CHECKPOINT_TRUNCATE, 1000, NULL);
	}
	store_close(rec->opts.checkpoint_store);
	store_close(rec->store);
	pthread_cond_destroy(&rec->wake);
	pthread_cond_destroy(&rec->checkpoint_wake);
	pthread_cond_destroy(&rec->idle);
	pthread_mutex_destroy(&rec->checkpoint_lock);
	pthread_mutex_destroy(&rec->completion_lock);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}
