/*
 * Schema migrations (store.c): a database as an older hbmon left it, built
 * here with that release's own statements, is brought up to date on
 * open and keeps what it held; one too new, or one that a migration
 * cannot apply to, is refused and left as it was.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "hbmon/error.h"
#include "server/store.h"

/* What the first release created (schema 1), as it wrote it. */
static const char schema_1[] =
    "CREATE TABLE robots (robot TEXT PRIMARY KEY, secret TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,"
    " last_sig BLOB, interval_max_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE subjects (id INTEGER PRIMARY KEY, robot TEXT NOT NULL,"
    " account TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    " status INTEGER NOT NULL DEFAULT 0,"
    " session_valid INTEGER NOT NULL DEFAULT 0,"
    " open_orders INTEGER NOT NULL DEFAULT 0,"
    " active_accounts INTEGER NOT NULL DEFAULT 0,"
    " active_tasks INTEGER NOT NULL DEFAULT 0,"
    " timestamp TEXT NOT NULL DEFAULT '',"
    " last_seen_ms INTEGER NOT NULL DEFAULT 0, UNIQUE (robot, account));"
    "CREATE TABLE heartbeats (id INTEGER PRIMARY KEY,"
    " subject_id INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, status INTEGER NOT NULL,"
    " session_valid INTEGER NOT NULL, open_orders INTEGER NOT NULL,"
    " active_accounts INTEGER NOT NULL, active_tasks INTEGER NOT NULL,"
    " timestamp TEXT NOT NULL, timestamp_ms INTEGER NOT NULL);"
    "CREATE INDEX heartbeats_subject ON heartbeats (subject_id,"
    " received_ms);"
    "CREATE TABLE transitions (id INTEGER PRIMARY KEY,"
    " subject_id INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    " from_status INTEGER NOT NULL, to_status INTEGER NOT NULL,"
    " allowed INTEGER NOT NULL);"
    "CREATE INDEX transitions_subject ON transitions (subject_id,"
    " received_ms);"
    "CREATE TABLE alerts (seq INTEGER PRIMARY KEY,"
    " dedupe_key TEXT NOT NULL, kind INTEGER NOT NULL,"
    " severity INTEGER NOT NULL, state INTEGER NOT NULL,"
    " robot TEXT NOT NULL, account TEXT NOT NULL, summary TEXT NOT NULL,"
    " raised_ms INTEGER NOT NULL, body BLOB NOT NULL);"
    /* What such a server had recorded. */
    "INSERT INTO robots VALUES ('R1', 'secret-of-r1', 1000, 77,"
    " zeroblob(32), 5000);"
    "INSERT INTO subjects (id, robot, account, created_ms, status,"
    " session_valid, open_orders, timestamp, last_seen_ms) VALUES"
    " (1, 'R1', '', 1000, 1, 0, 0, '2026-01-20T09:30:00+07:00', 2000),"
    " (2, 'R1', 'ACC_003', 1000, 2, 1, 2, '2026-01-20T09:30:00+07:00',"
    " 2000);"
    "INSERT INTO heartbeats VALUES (1, 2, 2000, 77, 2, 1, 2, 0, 0,"
    " '2026-01-20T09:30:00+07:00', 0);"
    "INSERT INTO transitions VALUES (1, 2, 2000, 1, 2, 1);"
    "INSERT INTO alerts VALUES (1, 'R1/ACC_003:missed:1', 1, 2, 1, 'R1',"
    " 'ACC_003', 'ACC_003 of R1 is silent', 3000, x'0801');"
    "PRAGMA user_version = 1;";

static char dir[512];
static char path[700];
static struct store *store;

static void
setup(void)
{
	harness_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
}

static void
teardown(void)
{
	store_close(store);
	harness_rmrf(dir);
}

/* Makes the database file with sql, as an older hbmon would have. */
static void
build_old(const char *sql)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* One integer from the file, read with SQLite itself. */
static int64_t
query(const char *sql)
{
	return harness_store_int(dir, sql);
}

static int
take_robot(void *arg, const struct store_robot *row)
{
	struct store_robot *out = arg;

	cr_assert_str_eq(row->robot, "R1");
	cr_assert_str_eq(row->secret, "secret-of-r1");
	*out = *row;
	out->robot = out->secret = NULL; /* valid during the call only */
	out->last_sig = NULL;
	return 0;
}

static int
take_subject(void *arg, const struct store_subject *row)
{
	int *seen = arg;

	if (row->account[0] == '\0') {
		cr_assert_eq(row->status, 1);
		cr_assert_eq(row->last_seen_ms, 2000);
		cr_assert_eq(row->paused_until_ms, 0); /* added by 2 */
	} else {
		cr_assert_str_eq(row->account, "ACC_003");
		cr_assert_eq(row->status, 2);
		cr_assert(row->session_valid);
		cr_assert_eq(row->open_orders, 2);
		cr_assert_str_eq(row->timestamp, "2026-01-20T09:30:00+07:00");
		cr_assert_str_eq(row->pause_reason, "");
	}
	(*seen)++;
	return 0;
}

static int
take_alert(void *arg, const struct store_alert *a)
{
	int *seen = arg;

	cr_assert_eq(a->seq, 1);
	cr_assert_str_eq(a->summary, "ACC_003 of R1 is silent");
	cr_assert_eq(a->episode, 0); /* added by 2 */
	cr_assert_eq(a->body_len, 2);
	(*seen)++;
	return 0;
}

Test(store_migrate, schema_1_is_brought_up_to_date_and_keeps_its_state,
     .init = setup, .fini = teardown)
{
	struct store_robot robot = { 0 };
	struct store_state state;
	char why[512] = "";
	int subjects = 0, alerts = 0;
	uint64_t admin_seq = 1;

	build_old(schema_1);
	cr_assert_eq(store_open(dir, STORE_NORMAL, &store, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert_eq(query("PRAGMA user_version"), STORE_SCHEMA_VERSION);

	/* Kept: the registry, the latest state, transitions, the outbox. */
	cr_assert_eq(store_robots_each(store, take_robot, &robot), HBMON_OK);
	cr_assert_eq(robot.last_seq, 77);
	cr_assert_eq(robot.interval_max_ms, 5000);
	cr_assert_eq(store_subjects_each(store, take_subject, &subjects),
	             HBMON_OK);
	cr_assert_eq(subjects, 2);
	cr_assert_eq(query("SELECT count(*) FROM transitions"), 1);
	cr_assert_eq(store_alerts_after(store, 0, 10, take_alert, &alerts),
	             HBMON_OK);
	cr_assert_eq(alerts, 1);

	/* Raw heartbeats of schema 1 are not carried over (migration 3). */
	cr_assert_eq(query("SELECT count(*) FROM sqlite_master WHERE name ="
	                   " 'heartbeats'"),
	             0);
	cr_assert_eq(query("SELECT count(*) FROM requests"), 0);

	/* What later schemas added starts empty. */
	cr_assert_eq(store_state_get(store, &state), HBMON_ENOENT);
	cr_assert_eq(store_admin_seq_get(store, &admin_seq), HBMON_OK);
	cr_assert_eq(admin_seq, 0);
	cr_assert_eq(query("SELECT count(*) FROM alert_readers"), 0);
	cr_assert_eq(query("SELECT count(*) FROM request_index"), 0);

	/* And it is a working store: a second open migrates nothing. */
	store_close(store);
	store = NULL;
	cr_assert_eq(store_open(dir, STORE_NORMAL, &store, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert_eq(query("PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

Test(store_migrate, a_database_from_a_newer_hbmon_is_refused_untouched,
     .init = setup, .fini = teardown)
{
	char why[512] = "";
	char sql[128];

	snprintf(sql, sizeof(sql),
	         "CREATE TABLE future (x); PRAGMA user_version = %d;",
	         STORE_SCHEMA_VERSION + 1);
	build_old(sql);
	cr_assert_eq(store_open(dir, STORE_NORMAL, &store, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_null(store);
	cr_assert(strstr(why, "newer") != NULL, "%s", why);
	cr_assert(strstr(why, path) != NULL, "%s", why);
	cr_assert_eq(query("PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
	cr_assert_eq(query("SELECT count(*) FROM sqlite_master WHERE name ="
	                   " 'robots'"),
	             0);
}

Test(store_migrate, a_failed_migration_leaves_the_version_it_found,
     .init = setup, .fini = teardown)
{
	char why[512] = "";

	/* Claims schema 1 but lacks the alerts table migration 2 alters:
	 * migration 2 fails, and nothing of it stays. */
	build_old("CREATE TABLE robots (robot TEXT PRIMARY KEY);"
	          "CREATE TABLE subjects (id INTEGER PRIMARY KEY);"
	          "PRAGMA user_version = 1;");
	cr_assert_eq(store_open(dir, STORE_NORMAL, &store, why, sizeof(why)),
	             HBMON_EIO);
	cr_assert_null(store);
	cr_assert(strstr(why, "schema migration failed") != NULL, "%s", why);
	cr_assert_eq(query("PRAGMA user_version"), 1);
	cr_assert_eq(query("SELECT count(*) FROM pragma_table_info('subjects')"
	                   " WHERE name = 'paused_until_ms'"),
	             0);
	cr_assert_eq(query("SELECT count(*) FROM sqlite_master WHERE name ="
	                   " 'episodes'"),
	             0);
}

Test(store_migrate, a_file_that_is_not_a_database_is_refused, .init = setup,
     .fini = teardown)
{
	char why[512] = "";
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs("this is not an SQLite database, whatever its name says\n", f);
	fclose(f);
	cr_assert_neq(store_open(dir, STORE_NORMAL, &store, why, sizeof(why)),
	              HBMON_OK);
	cr_assert_null(store);
	cr_assert(strstr(why, path) != NULL, "%s", why);
}
