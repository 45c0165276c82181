/*
 * The by-robot index of raw requests, written behind them: reads see
 * every request exactly once whether it is indexed yet or not, pruning
 * takes its index entries along, and schema 4 indexes what a schema 3
 * store already held.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "hbmon/error.h"
#include "server/store.h"

static char dir[512];
static struct store *store;

static void
open_store(void)
{
	char why[512] = "";

	cr_assert_eq(store_open(dir, STORE_NORMAL, &store, why, sizeof(why)),
	             HBMON_OK, "%s", why);
}

static void
setup(void)
{
	harness_tmpdir(dir, sizeof(dir));
	open_store();
}

static void
teardown(void)
{
	store_close(store);
	harness_rmrf(dir);
}

/* Records a request of robot received at ms; returns its id. */
static int64_t
record(const char *robot, int64_t ms)
{
	struct store_request r = { 0 };
	int64_t id = 0;

	r.robot = robot;
	r.received_ms = ms;
	r.seq = (uint64_t) ms;
	r.kind = STORE_ROBOT;
	r.items = 1;
	r.payload = (const uint8_t *) "";
	cr_assert_eq(store_request_record(store, &r, &id), HBMON_OK);
	return id;
}

static void
set_flushed(int64_t id)
{
	struct store_state st = { 1, 1, id, STORE_RUN_RUNNING, 0 };

	cr_assert_eq(store_state_set(store, &st), HBMON_OK, "%s",
	             store_errmsg(store));
}

struct seen {
	int64_t ids[32];
	size_t n;
};

static int
collect(void *arg, const struct store_request *r)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, 32);
	s->ids[s->n++] = r->id;
	return 0;
}

/* The ids store_requests_of gives, as "1,3,5". */
static void
ids_of(const char *robot, int64_t since, int64_t until, bool newest, char *out,
       size_t len)
{
	struct seen s = { { 0 }, 0 };
	size_t used = 0;

	out[0] = '\0';
	cr_assert_eq(
	    store_requests_of(store, robot, since, until, newest, collect, &s),
	    HBMON_OK, "%s", store_errmsg(store));
	for (size_t i = 0; i < s.n && used < len; i++) {
		used +=
		    (size_t) snprintf(out + used, len - used, "%s%lld",
		                      i > 0 ? "," : "", (long long) s.ids[i]);
	}
}

static int64_t
count(const char *sql)
{
	return harness_store_int(dir, sql);
}

static void
assert_reads(const char *robot, int64_t since, int64_t until, bool newest,
             const char *want)
{
	char got[256];

	ids_of(robot, since, until, newest, got, sizeof(got));
	cr_assert_str_eq(got, want, "%s %s: got %s, want %s", robot,
	                 newest ? "newest first" : "oldest first", got, want);
}

/* R1 at ids 1, 3, 5, 6; R2 at 2, 4. */
static void
six_requests(void)
{
	record("R1", 1000);
	record("R2", 1001);
	record("R1", 1002);
	record("R2", 1003);
	record("R1", 1004);
	record("R1", 1005);
}

Test(store, requests_are_read_once_whether_indexed_or_not, .init = setup,
     .fini = teardown)
{
	six_requests();
	set_flushed(0);

	/* Nothing indexed yet: all of them are newer than flushed_id. */
	assert_reads("R1", 0, 0, false, "1,3,5,6");
	assert_reads("R1", 0, 0, true, "6,5,3,1");
	assert_reads("R2", 0, 0, false, "2,4");

	/* A flush indexed up to 4: old ones through the index, the rest by
	 * id, in one order. */
	cr_assert_eq(store_requests_index(store, 0, 4), HBMON_OK);
	set_flushed(4);
	cr_assert_eq(count("SELECT count(*) FROM request_index"), 4);
	assert_reads("R1", 0, 0, false, "1,3,5,6");
	assert_reads("R1", 0, 0, true, "6,5,3,1");
	assert_reads("R2", 0, 0, true, "4,2");

	/* A slice of a flush that never finished went beyond flushed_id: it
	 * is not read twice, and indexing it again adds nothing. */
	cr_assert_eq(store_requests_index(store, 4, 5), HBMON_OK);
	assert_reads("R1", 0, 0, false, "1,3,5,6");
	cr_assert_eq(store_requests_index(store, 0, 6), HBMON_OK);
	cr_assert_eq(count("SELECT count(*) FROM request_index"), 6);
	assert_reads("R1", 0, 0, true, "6,5,3,1");
	set_flushed(6);
	assert_reads("R1", 0, 0, true, "6,5,3,1");

	/* Time ranges, both sides of flushed_id. */
	set_flushed(3);
	assert_reads("R1", 1002, 1004, false, "3,5");
	assert_reads("R1", 1003, 0, true, "6,5");
	assert_reads("R2", 1002, 1002, false, "");
	assert_reads("R9", 0, 0, false, "");
}

Test(store, pruning_takes_index_entries_along, .init = setup, .fini = teardown)
{
	int deleted = 0;

	six_requests();
	cr_assert_eq(store_requests_index(store, 0, 6), HBMON_OK);
	set_flushed(6);

	/* Older than 1003: ids 1, 2, 3. */
	cr_assert_eq(store_prune(store, 1003, 100, &deleted), HBMON_OK);
	cr_assert_eq(deleted, 3);
	cr_assert_eq(count("SELECT count(*) FROM requests"), 3);
	cr_assert_eq(count("SELECT count(*) FROM request_index"), 3);
	cr_assert_eq(count("SELECT count(*) FROM request_index WHERE id <= 3"),
	             0);
	assert_reads("R1", 0, 0, false, "5,6");
	assert_reads("R2", 0, 0, false, "4");

	/* A step looks at the oldest `limit` rows only. */
	cr_assert_eq(store_prune(store, 9999, 1, &deleted), HBMON_OK);
	cr_assert_eq(deleted, 1);
	cr_assert_eq(count("SELECT count(*) FROM request_index"), 2);
}

Test(store, schema_4_indexes_what_schema_3_held, .init = setup,
     .fini = teardown)
{
	char path[700];
	sqlite3 *db;

	six_requests();
	set_flushed(4);
	store_close(store);
	store = NULL;

	/* Put the store back as schema 3 left it: requests indexed per row,
	 * no index table, no run_state (schema 5), no admin_state (6),
	 * nothing of 7 or 8. */
	snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
	                          "DROP TABLE request_index;"
	                          "DROP TABLE admin_state;"
	                          "ALTER TABLE server_state DROP COLUMN"
	                          " alert_seq_reserved;"
	                          "DROP TABLE alert_readers;"
	                          "ALTER TABLE robots DROP COLUMN ping_hash;"
	                          "CREATE INDEX requests_robot ON requests"
	                          " (robot, received_ms);"
	                          "ALTER TABLE server_state DROP COLUMN"
	                          " run_state;"
	                          "PRAGMA user_version = 3;",
	                          NULL, NULL, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);

	open_store();
	cr_assert_eq(count("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_assert_eq(count("SELECT count(*) FROM sqlite_master WHERE name ="
	                   " 'requests_robot'"),
	             0);
	/* What the latest state covered is indexed; the rest is read by id
	 * until the server's first flush. */
	cr_assert_eq(count("SELECT count(*) FROM request_index"), 4);
	cr_assert_eq(count("SELECT max(id) FROM request_index"), 4);
	assert_reads("R1", 0, 0, false, "1,3,5,6");
	assert_reads("R2", 0, 0, true, "4,2");
}
