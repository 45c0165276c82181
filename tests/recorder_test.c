/*
 * The recorder in-process: the latest state it writes behind the requests
 * in slices, and what a crash part way through a slice leaves behind.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "harness.h"
#include "hbmon/error.h"
#include "server/recorder.h"
#include "server/store.h"

#define A(x) HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x

enum { N_ACCOUNTS = 1000, SLICE = 100 };

/* A job and what its submitter waits on. */
struct waited_job {
	struct recorder_job job;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	void *data; /* for exec jobs */
};

static void
job_done(struct recorder_job *job)
{
	struct waited_job *w = job->arg;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Submits w's job and waits until it is committed; returns its status. */
static int
run_job(struct recorder *rec, struct waited_job *w)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->done = false;
	w->job.done = job_done;
	w->job.arg = w;
	cr_assert_eq(recorder_submit(rec, &w->job), HBMON_OK);
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		pthread_cond_wait(&w->cond, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	return w->job.status;
}

static int
noop(struct recorder *rec, struct recorder_job *job)
{
	(void) rec;
	(void) job;
	return HBMON_OK;
}

/* One iteration of the recorder with nothing to record. */
static void
iterate(struct recorder *rec)
{
	struct waited_job w = { 0 };

	w.job.exec = noop;
	cr_assert_eq(run_job(rec, &w), HBMON_OK);
}

/*
 * Records a batch from robot: its own heartbeat, then accounts
 * ACC_<first>.. with open_orders from orders[] (n of them).
 */
static void
record_batch(struct recorder *rec, struct robot *robot, const int *first,
             const uint32_t *orders, size_t n)
{
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__RobotHeartbeat r = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	Hbmon__V1__AccountHeartbeat *accs = calloc(n, sizeof(*accs));
	Hbmon__V1__AccountHeartbeat **ptrs = calloc(n, sizeof(*ptrs));
	struct recorder_item *items = calloc(n + 1, sizeof(*items));
	char(*names)[16] = calloc(n, sizeof(*names));
	struct waited_job w = { 0 };
	char ts[RFC3339_MAX];
	struct rfc3339_time t;
	uint8_t *payload;

	cr_assert(accs != NULL && ptrs != NULL && items != NULL &&
	          names != NULL);
	rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
	cr_assert_eq(rfc3339_parse(ts, strlen(ts), &t, NULL, 0), HBMON_OK);
	r.event = "ROBOT_HEARTBEAT";
	r.timestamp = ts;
	r.status = H(HEALTHY);
	r.active_accounts = N_ACCOUNTS;
	items[0].robot_hb = &r;
	items[0].timestamp = t;
	for (size_t i = 0; i < n; i++) {
		hbmon__v1__account_heartbeat__init(&accs[i]);
		snprintf(names[i], sizeof(names[i]), "ACC_%04d", first[i]);
		accs[i].event = "ACCOUNT_HEARTBEAT";
		accs[i].account = names[i];
		accs[i].timestamp = ts;
		accs[i].status = A(ACTIVE);
		accs[i].session_valid = true;
		accs[i].open_orders = orders[i];
		ptrs[i] = &accs[i];
		items[i + 1].account_hb = &accs[i];
		items[i + 1].timestamp = t;
	}
	b.robot = &r;
	b.accounts = ptrs;
	b.n_accounts = n;
	payload = malloc(hbmon__v1__heartbeat_batch__get_packed_size(&b));
	cr_assert_not_null(payload);

	w.job.robot = robot;
	w.job.received_ms = clock_wall_ms();
	w.job.kind = STORE_BATCH;
	w.job.items_recorded = (uint32_t) n + 1;
	w.job.payload = payload;
	w.job.payload_len = hbmon__v1__heartbeat_batch__pack(&b, payload);
	w.job.n_items = n + 1;
	w.job.items = items;
	cr_assert_eq(run_job(rec, &w), HBMON_OK);
	for (size_t i = 0; i <= n; i++) {
		cr_assert(items[i].recorded);
		free(items[i].note);
	}
	free(payload);
	free(names);
	free(items);
	free(ptrs);
	free(accs);
}

static struct recorder *
start_recorder(const char *dir)
{
	struct recorder_options o = { 0 };
	struct recorder *rec;
	struct store *store;
	char why[256] = "";

	cr_assert_eq(store_open(dir, STORE_NORMAL, &store, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	o.retention_ms = 86400000;
	o.batch_max = 1;
	o.auth_none = true;
	o.interval_max_ms = 3600000;
	/* No ticks while the test runs: every iteration is one of its jobs. */
	o.tick_ms = 3600000;
	o.flush_interval_ms = 10;
	o.flush_when_idle = false;
	o.flush_slice = SLICE;
	o.engine.miss_threshold = 2;
	o.engine.repeat_interval_ms = 3600000;
	o.engine.clock_skew_max_ms = 30000;
	o.engine.tick_ms = o.tick_ms;
	cr_assert_eq(recorder_start(store, &o, &rec), HBMON_OK);
	return rec;
}

static sqlite3 *
open_db(const char *dir)
{
	char path[700];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
	cr_assert_eq(sqlite3_open_v2(path, &db,
	                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                             NULL),
	             SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t
query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	             "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

/* Accounts whose latest state is written. */
static int64_t
written(sqlite3 *db)
{
	return query(db, "SELECT count(*) FROM subjects WHERE status != 0");
}

static int64_t
flushed_id(sqlite3 *db)
{
	return query(db, "SELECT flushed_id FROM server_state");
}

/* Copies the committed database of db into dir (what kill -9 leaves). */
static void
copy_db(sqlite3 *db, const char *dir)
{
	sqlite3 *to = open_db(dir);
	sqlite3_backup *b = sqlite3_backup_init(to, "main", db, "main");

	cr_assert_not_null(b);
	cr_assert_eq(sqlite3_backup_step(b, -1), SQLITE_DONE);
	sqlite3_backup_finish(b);
	sqlite3_close(to);
}

/* What the recorder holds in memory for one account. */
struct probe {
	const char *account;
	int64_t open_orders;
};

static int
probe(struct recorder *rec, struct recorder_job *job)
{
	struct probe *p = ((struct waited_job *) job->arg)->data;
	struct subject *s =
	    subjects_find(recorder_subjects(rec), "R1", p->account);

	p->open_orders = s != NULL ? (int64_t) s->open_orders : -1;
	return HBMON_OK;
}

static int64_t
orders_in_memory(struct recorder *rec, const char *account)
{
	struct probe p = { account, -1 };
	struct waited_job w = { 0 };

	w.job.exec = probe;
	w.data = &p;
	cr_assert_eq(run_job(rec, &w), HBMON_OK);
	return p.open_orders;
}

Test(recorder, flush_in_slices_survives_a_crash_part_way, .timeout = 120)
{
	char dir[512], copy[600];
	struct robot robot;
	struct recorder *rec;
	sqlite3 *db;
	int first[N_ACCOUNTS];
	uint32_t orders[N_ACCOUNTS];
	int64_t seen = 0, n;
	int between = 0;
	bool copied = false;

	harness_tmpdir(dir, sizeof(dir));
	snprintf(copy, sizeof(copy), "%s/copy", dir);
	cr_assert_eq(mkdir(copy, 0700), 0);
	memset(&robot, 0, sizeof(robot));
	snprintf(robot.id, sizeof(robot.id), "R1");

	rec = start_recorder(dir);
	db = open_db(dir);
	for (int i = 0; i < N_ACCOUNTS; i++) {
		first[i] = i;
		orders[i] = (uint32_t) i;
	}
	record_batch(rec, &robot, first, orders, N_ACCOUNTS);
	harness_sleep_ms(20); /* past flush_interval: the next one flushes */

	/* Each iteration writes one slice more; the store claims the request
	 * is in the latest state only once every slice is written. */
	while ((n = written(db)) < N_ACCOUNTS + 1) {
		cr_assert_geq(n, seen);
		cr_assert_leq(n - seen, SLICE + 1,
		              "more than a slice at once: %lld then %lld",
		              (long long) seen, (long long) n);
		cr_assert_eq(flushed_id(db), 0, "%lld written", (long long) n);
		if (n > 0) {
			between++;
		}
		seen = n;
		if (!copied && n >= 300) {
			/* Change one account already written and one not yet,
			 * then crash: the copy is what kill -9 leaves. */
			int which[2] = { 10, 990 };
			uint32_t now[2] = { 5000, 6000 };
			record_batch(rec, &robot, which, now, 2);
			copy_db(db, copy);
			copied = true;
			continue; /* that was an iteration too */
		}
		iterate(rec);
	}
	cr_assert(copied);
	cr_assert_geq(between, 5, "the flush was not sliced");
	/* Written: the first request; the second one's account 990 too (its
	 * newer state was written), but the request waits for the next. */
	cr_assert_eq(flushed_id(db), 1);
	cr_assert_eq(query(db, "SELECT open_orders FROM subjects WHERE account"
	                       " = 'ACC_0990'"),
	             6000);
	sqlite3_close(db);
	recorder_stop(rec);

	/* The crashed copy: the requests after flushed_id are replayed over
	 * the rows, old and new alike, and end at the latest state. */
	rec = start_recorder(copy);
	cr_assert_eq(orders_in_memory(rec, "ACC_0010"), 5000);
	cr_assert_eq(orders_in_memory(rec, "ACC_0990"), 6000);
	cr_assert_eq(orders_in_memory(rec, "ACC_0500"), 500);
	cr_assert_eq(orders_in_memory(rec, "ACC_0999"), 999);
	recorder_stop(rec);
	db = open_db(copy);
	cr_assert_eq(flushed_id(db), 2);
	cr_assert_eq(query(db, "SELECT sum(open_orders) FROM subjects"),
	             (int64_t) N_ACCOUNTS * (N_ACCOUNTS - 1) / 2 - 10 - 990 +
	                 5000 + 6000);
	sqlite3_close(db);
	harness_rmrf(dir);
}
