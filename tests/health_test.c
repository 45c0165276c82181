/*
 * The server's judgement of itself (src/server/health.h) on made-up
 * clocks: what makes it unhealthy (no watchdog), what only degraded, and
 * that it recovers.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hbmon/error.h"
#include "server/health.h"

static struct health *h;
static const struct health_options opts = {
	.data_dir = "/",
	.stall_ms = 10000,
	.slow_commit_ms = 1000,
	.disk_free_min = 1, /* the test machine's disk is not the question */
	.replaced_for_ms = 60000,
	.backlog_max = 8,
	.backlog_for_ms = 5000,
};

static void
setup(void)
{
	cr_assert_eq(health_open(&opts, 1000, &h), HBMON_OK);
}

static void
teardown(void)
{
	health_close(h);
}

static struct health_verdict
judge(int64_t now, size_t pending)
{
	struct health_verdict v;

	health_judge(h, now, pending, &v);
	return v;
}

TestSuite(health, .init = setup, .fini = teardown, .timeout = 10);

Test(health, committing_recorder_is_healthy)
{
	struct health_verdict v;

	for (int64_t t = 1000; t < 60000; t += 10) {
		health_note_iteration(h, t, t + 1, true, 5);
	}
	v = judge(60000, 0);
	cr_assert_eq(v.level, HEALTH_HEALTHY, "%s", v.problem);
	cr_assert(v.watchdog_ok);
	cr_assert_str_eq(v.problem, "");
	cr_assert_eq(v.committed_seq, 5);
}

Test(health,
     a_recorder_that_cannot_commit_is_unhealthy_and_starves_the_watchdog)
{
	struct health_verdict v;

	health_note_iteration(h, 1000, 1001, true, 1);
	/* Iterations go on, but none commits (a held lock, a dead disk). */
	for (int64_t t = 1001; t < 11000; t += 10) {
		health_note_iteration(h, t, t + 5, false, 0);
	}
	v = judge(10500, 0);
	cr_assert_eq(v.level, HEALTH_HEALTHY, "not yet: %s", v.problem);
	v = judge(11001, 0);
	cr_assert_eq(v.level, HEALTH_UNHEALTHY);
	cr_assert(!v.watchdog_ok);
	cr_assert(strstr(v.problem, "has not committed") != NULL, "%s",
	          v.problem);
	/* One commit, and it is over. */
	health_note_iteration(h, 11100, 11101, true, 2);
	v = judge(11200, 0);
	cr_assert(v.watchdog_ok, "%s", v.problem);
	cr_assert_eq(v.committed_seq, 2);
}

Test(health, a_database_known_not_to_take_writes_still_feeds_the_watchdog)
{
	struct health_verdict v;

	health_note_iteration(h, 1000, 1001, true, 1);
	/* The disk is full: iterations go on and fail, and the recorder
	 * says so (STORAGE_FAILING); alerts go out from memory. */
	health_note_storage(h, true, "disk full");
	for (int64_t t = 1001; t < 12000; t += 10) {
		health_note_iteration(h, t, t + 5, false, 0);
	}
	v = judge(12001, 0);
	cr_assert_eq(v.level, HEALTH_UNHEALTHY);
	cr_assert(strstr(v.problem, "disk full") != NULL, "%s", v.problem);
	/* A restart mends no disk and would start every robot's grace
	 * period again: the watchdog is still fed. */
	cr_assert(v.watchdog_ok, "%s", v.problem);
	/* But not once the tick stops too: that is a wedged server. */
	v = judge(23000, 0);
	cr_assert(!v.watchdog_ok);
	health_note_storage(h, false, "");
	health_note_iteration(h, 23001, 23002, true, 2);
	v = judge(23100, 0);
	cr_assert(v.watchdog_ok, "%s", v.problem);
}

Test(health, a_stalled_tick_is_unhealthy)
{
	struct health_verdict v;

	health_note_iteration(h, 1000, 1001, true, 0);
	v = judge(12000, 0);
	cr_assert_eq(v.level, HEALTH_UNHEALTHY);
	cr_assert(!v.watchdog_ok);
	cr_assert(strstr(v.problem, "tick") != NULL ||
	              strstr(v.problem, "committed") != NULL,
	          "%s", v.problem);
}

Test(health, listeners_unhealthy_when_deaf_degraded_after_replacement)
{
	struct health_verdict v;
	int id;

	cr_assert_eq(health_listener_add(h, "ipc:///x/admin.sock", &id),
	             HBMON_OK);
	health_note_iteration(h, 2000, 2001, true, 0);
	v = judge(2002, 0);
	cr_assert_eq(v.level, HEALTH_HEALTHY, "unchecked counts as answering");
	health_listener_checked(h, id, false, 2002);
	v = judge(2003, 0);
	cr_assert_eq(v.level, HEALTH_UNHEALTHY);
	cr_assert(!v.watchdog_ok);
	cr_assert(strstr(v.problem, "ipc:///x/admin.sock") != NULL, "%s",
	          v.problem);
	health_listener_replaced(h, id, 2004);
	health_listener_checked(h, id, true, 2005);
	v = judge(2006, 0);
	cr_assert_eq(v.level, HEALTH_DEGRADED);
	cr_assert(v.watchdog_ok);
	cr_assert(strstr(v.problem, "was replaced") != NULL, "%s", v.problem);
	health_note_iteration(h, 70000, 70001, true, 0);
	v = judge(70002, 0);
	cr_assert_eq(v.level, HEALTH_HEALTHY, "%s", v.problem);
	for (int i = 1; i < HEALTH_LISTENERS_MAX; i++) {
		cr_assert_eq(health_listener_add(h, "l", &id), HBMON_OK);
	}
	cr_assert_eq(health_listener_add(h, "l", &id), HBMON_ERANGE);
}

Test(health, slow_commits_and_a_backlog_are_degraded)
{
	struct health_verdict v;

	health_note_iteration(h, 1000, 2500, true, 0);
	v = judge(2600, 0);
	cr_assert_eq(v.level, HEALTH_DEGRADED);
	cr_assert(v.watchdog_ok);
	cr_assert(strstr(v.problem, "slow") != NULL, "%s", v.problem);
	/* Remembered for a minute, then forgotten. */
	health_note_iteration(h, 63000, 63001, true, 0);
	v = judge(63002, 0);
	cr_assert_eq(v.level, HEALTH_HEALTHY, "%s", v.problem);

	/* Requests waiting at the writer: only a lasting backlog counts. */
	v = judge(63003, 20);
	cr_assert_eq(v.level, HEALTH_HEALTHY);
	health_note_iteration(h, 68000, 68001, true, 0);
	v = judge(68010, 20);
	cr_assert_eq(v.level, HEALTH_DEGRADED);
	cr_assert(strstr(v.problem, "backing up") != NULL, "%s", v.problem);
	v = judge(68020, 0);
	cr_assert_eq(v.level, HEALTH_HEALTHY);
}

Test(health, a_full_disk_is_degraded)
{
	struct health_options o = opts;
	struct health *full;
	struct health_verdict v;

	o.disk_free_min = UINT64_MAX; /* no disk has that much free */
	cr_assert_eq(health_open(&o, 1000, &full), HBMON_OK);
	health_judge(full, 1001, 0, &v);
	cr_assert_eq(v.level, HEALTH_DEGRADED);
	cr_assert(strstr(v.problem, "nearly full") != NULL, "%s", v.problem);
	health_close(full);
}

Test(health, listener_restarts_are_counted_across_listeners)
{
	int a, b;

	cr_assert_eq(health_listener_restarts(h), 0);
	cr_assert_eq(health_listener_add(h, "tcp://127.0.0.1:1", &a), HBMON_OK);
	cr_assert_eq(health_listener_add(h, "ipc:///x", &b), HBMON_OK);
	health_listener_replaced(h, a, 2000);
	health_listener_replaced(h, b, 3000);
	health_listener_replaced(h, a, 4000);
	cr_assert_eq(health_listener_restarts(h), 3);
}
