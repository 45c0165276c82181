/*
 * What is acknowledged survives kill -9 (SPEC §3.5, durability = normal):
 * several robots send batches and single reports as fast as they are
 * answered, each resending a request that got no answer with the same
 * bytes, while the server is killed at random moments, at least 20 times.
 * After every kill the database passes integrity_check, every request
 * that was answered OK is in it, and none is in it twice.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "server/store.h"

#define H(x)      HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x)      HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define SECRET    "hbs_kill-test-secret"
#define ROBOTS    4
#define KILLS     30
#define ACKED_MAX (1 << 18)

static struct harness_server srv;

/* One acknowledged request. */
struct ack {
	int robot;
	uint64_t seq;
	int items;
};

static struct {
	pthread_mutex_t lock;
	struct ack *acked;
	size_t n;
	atomic_bool stop;
	atomic_ulong sent, refused;
} load = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
teardown(void)
{
	harness_server_fini(&srv);
}

/* Sends one request of robot i: a batch (the robot and 3 accounts) or a
 * single account report, alternately. Same seq and sent_at: same bytes. */
static int
send_one(struct rpc_client *c, int i, uint64_t seq, int64_t sent_at, bool batch)
{
	Hbmon__V1__RobotHeartbeat r = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	Hbmon__V1__AccountHeartbeat acc[3], *ptrs[3];
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	char ts[RFC3339_MAX], names[3][16];
	struct rpc_status st;
	int rv;

	rfc3339_format(sent_at, 0, ts, sizeof(ts));
	for (int k = 0; k < 3; k++) {
		hbmon__v1__account_heartbeat__init(&acc[k]);
		snprintf(names[k], sizeof(names[k]), "ACC_%d", k);
		acc[k].event = "ACCOUNT_HEARTBEAT";
		acc[k].account = names[k];
		acc[k].status = A(ACTIVE);
		acc[k].session_valid = true;
		acc[k].open_orders = (uint32_t) (seq % 5);
		acc[k].timestamp = ts;
		ptrs[k] = &acc[k];
	}
	(void) i;
	if (batch) {
		r.event = "ROBOT_HEARTBEAT";
		r.status = H(HEALTHY);
		r.active_accounts = 3;
		r.timestamp = ts;
		b.robot = &r;
		b.accounts = ptrs;
		b.n_accounts = 3;
		rv = rpc_client_call_with(c, "/hbmon.v1.Monitor/ReportBatch",
		                          &b.base, seq, sent_at, NULL, NULL,
		                          &st);
	} else {
		rv = rpc_client_call_with(c, "/hbmon.v1.Monitor/ReportAccount",
		                          &acc[seq % 3].base, seq, sent_at,
		                          NULL, NULL, &st);
	}
	if (rv != HBMON_OK) {
		return -1; /* no answer: the server is down */
	}
	return st.code;
}

static void *
robot_main(void *arg)
{
	int i = (int) (intptr_t) arg;
	char id[8];
	struct rpc_client_options o = { 0 };
	struct rpc_client *c;
	char why[256];
	uint64_t last = 0;

	snprintf(id, sizeof(id), "R%d", i);
	o.url = srv.listen;
	o.robot_id = id;
	o.key = SECRET;
	o.key_len = strlen(SECRET);
	o.timeout_ms = 1000;
	o.background_dial = true;
	/* No Criterion asserts on this thread: they unwind only the test's
	 * own. What goes wrong here shows as nothing acknowledged. */
	if (rpc_client_open(&o, &c, why, sizeof(why)) != HBMON_OK) {
		return NULL;
	}
	while (!atomic_load(&load.stop)) {
		uint64_t seq = (uint64_t) clock_wall_us();
		int64_t sent_at = clock_wall_ms();
		bool batch = (seq / 7) % 2 == 0;
		int code = -1;

		seq = seq > last ? seq : last + 1;
		last = seq;
		/* No answer: the same request again, as a robot does, until
		 * it is answered (recorded once, whatever happened). */
		for (int tries = 0; tries < 20 && !atomic_load(&load.stop);
		     tries++) {
			atomic_fetch_add(&load.sent, 1);
			code = send_one(c, i, seq, sent_at, batch);
			if (code == RPC_OK || code == RPC_UNAUTHENTICATED ||
			    code == RPC_INVALID_ARGUMENT) {
				break;
			}
			if (code == RPC_UNAVAILABLE) {
				atomic_fetch_add(&load.refused, 1);
			}
			harness_sleep_ms(20);
		}
		if (code == RPC_OK) {
			pthread_mutex_lock(&load.lock);
			if (load.n < ACKED_MAX) {
				load.acked[load.n++] =
				    (struct ack){ i, seq, batch ? 4 : 1 };
			}
			pthread_mutex_unlock(&load.lock);
		}
	}
	rpc_client_close(c);
	return NULL;
}

/* A recorded request: robot (its number), seq, items, how many rows. */
struct row {
	int robot;
	uint64_t seq;
	int items, count;
};

static int
by_key(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->robot != y->robot) {
		return x->robot < y->robot ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Every request in the (stopped) server's store, sorted. */
static struct row *
recorded(size_t *out_n)
{
	char path[700];
	sqlite3 *db;
	sqlite3_stmt *st;
	struct row *rows = NULL;
	size_t n = 0, cap = 0;

	snprintf(path, sizeof(path), "%s/%s", srv.dir, STORE_FILE);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	             SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "SELECT substr(robot, 2), seq,"
	                                " max(items), count(*) FROM requests"
	                                " GROUP BY robot, seq",
	                                -1, &st, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 1024 : 2 * cap;
			rows = realloc(rows, cap * sizeof(*rows));
			cr_assert_not_null(rows);
		}
		rows[n].robot = sqlite3_column_int(st, 0);
		rows[n].seq = (uint64_t) sqlite3_column_int64(st, 1);
		rows[n].items = sqlite3_column_int(st, 2);
		rows[n].count = sqlite3_column_int(st, 3);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (n > 1) {
		qsort(rows, n, sizeof(*rows), by_key);
	}
	*out_n = n;
	return rows;
}

/* After a kill: intact, every acked request there once, nothing twice. */
static void
check_store(int kill, size_t *out_acked)
{
	size_t n_rows, n_acked;
	struct row *rows;

	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM "
	                                     "pragma_integrity_check WHERE "
	                                     "integrity_check != 'ok'"),
	             0, "kill %d: integrity_check failed", kill);
	rows = recorded(&n_rows);
	for (size_t i = 0; i < n_rows; i++) {
		cr_assert_eq(rows[i].count, 1,
		             "kill %d: R%d seq %llu is recorded %d times", kill,
		             rows[i].robot, (unsigned long long) rows[i].seq,
		             rows[i].count);
	}
	pthread_mutex_lock(&load.lock);
	n_acked = load.n;
	for (size_t i = 0; i < n_acked; i++) {
		struct row key = { load.acked[i].robot, load.acked[i].seq, 0,
			           0 };
		struct row *r = n_rows > 0 ? bsearch(&key, rows, n_rows,
		                                     sizeof(*rows), by_key)
		                           : NULL;
		cr_assert_not_null(
		    r, "kill %d: acknowledged R%d seq %llu is lost", kill,
		    key.robot, (unsigned long long) key.seq);
		cr_assert_eq(
		    r->items, load.acked[i].items,
		    "kill %d: R%d seq %llu holds %d heartbeats, not %d", kill,
		    key.robot, (unsigned long long) key.seq, r->items,
		    load.acked[i].items);
	}
	pthread_mutex_unlock(&load.lock);
	free(rows);
	*out_acked = n_acked;
}

Test(kill, acknowledged_heartbeats_survive_kill_9_at_random_moments,
     .fini = teardown, .timeout = 280)
{
	pthread_t robots[ROBOTS];
	unsigned seed = (unsigned) clock_wall_ms();
	size_t acked_before = 0, acked = 0;

	load.acked = calloc(ACKED_MAX, sizeof(*load.acked));
	cr_assert_not_null(load.acked);
	harness_server_init(&srv);
	for (int i = 0; i < ROBOTS; i++) {
		char id[8];
		snprintf(id, sizeof(id), "R%d", i);
		harness_robot_add(&srv, id, SECRET);
	}
	cr_assert(harness_server_start(&srv, NULL));
	for (int i = 0; i < ROBOTS; i++) {
		cr_assert_eq(pthread_create(&robots[i], NULL, robot_main,
		                            (void *) (intptr_t) i),
		             0);
	}
	for (int kill = 1; kill <= KILLS; kill++) {
		/* Up to 600 ms of load, then kill -9 wherever it is. */
		harness_sleep_ms(100 + (int) (rand_r(&seed) % 500));
		harness_server_kill(&srv);
		check_store(kill, &acked);
		cr_assert(harness_server_start(&srv, NULL),
		          "kill %d: the server did not start again", kill);
		/* Progress between kills: recording really went on. */
		if (kill % 5 == 0) {
			cr_assert_gt(acked, acked_before,
			             "nothing acknowledged in kills %d..%d",
			             kill - 4, kill);
			acked_before = acked;
		}
	}
	atomic_store(&load.stop, true);
	for (int i = 0; i < ROBOTS; i++) {
		pthread_join(robots[i], NULL);
	}
	cr_assert_eq(harness_server_stop(&srv), 0);
	check_store(KILLS + 1, &acked);
	fprintf(stderr,
	        "%d kills, %zu requests acknowledged, %lu sent, %lu "
	        "answered UNAVAILABLE (seed %u)\n",
	        KILLS, acked, atomic_load(&load.sent),
	        atomic_load(&load.refused), seed);
	free(load.acked);
}
