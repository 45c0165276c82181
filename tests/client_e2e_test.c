/*
 * libhbmon-client against the real hbmon-server binary: authentication
 * outcomes, what the server records, automatic mode across many
 * intervals, and a server that is killed, frozen and brought back.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "harness.h"
#include "hbmon/client.h"

#define SECRET "hbs_e2e_test_secret"

static struct harness_server srv;

/* Fast intervals so that "many intervals" fit in a test. */
static const char *const fast[] = { "--interval-min", "100ms", "--interval-max",
	                            "400ms", NULL };

static void
setup(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, fast),
	          "hbmon-server did not start");
}

static void
teardown(void)
{
	harness_server_fini(&srv);
}

TestSuite(client, .init = setup, .fini = teardown);

static hbmon_client *
open_client(const char *robot, const char *secret, size_t max_accounts)
{
	hbmon_client *c = NULL;

	cr_assert_eq(
	    hbmon_client_open(&c, srv.listen, robot, secret, max_accounts),
	    HBMON_OK);
	return c;
}

static void
subject_sql(char *sql, size_t len, const char *account, const char *column)
{
	snprintf(sql, len,
	         "SELECT %s FROM subjects WHERE robot = 'R1' AND account = "
	         "'%s'",
	         column, account);
}

static int64_t
subject_int(const char *account, const char *column)
{
	char sql[256];

	subject_sql(sql, sizeof(sql), account, column);
	return harness_query_int(&srv, sql);
}

/* A column of R1/account's latest state, once it is want (written
 * behind the requests), or what it is after waiting. */
static int64_t
subject_await(const char *account, const char *column, int64_t want)
{
	char sql[256];

	subject_sql(sql, sizeof(sql), account, column);
	return harness_await_int(&srv, sql, want);
}

Test(client, authentication_outcomes_carry_the_servers_words, .timeout = 60)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c;
	hbmon_result res;

	c = open_client("R1", SECRET, 0);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);

	c = open_client("R1", "hbs_not_the_secret", 0);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_EAUTH);
	cr_assert_eq(res.code, 16);
	cr_assert(strstr(res.message, "signature") != NULL, "%s", res.message);
	hbmon_client_close(c);

	c = open_client("R9", SECRET, 0);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_EAUTH);
	cr_assert(strstr(res.message, "not registered") != NULL, "%s",
	          res.message);
	hbmon_client_close(c);
}

static int64_t
clock_400s_ahead(void *arg)
{
	(void) arg;
	return clock_wall_ms() + 400000;
}

Test(client, robot_clock_far_off_is_refused, .timeout = 60)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = open_client("R1", SECRET, 0);
	hbmon_result res;

	hbmon_client_set_clock(c, clock_400s_ahead, NULL);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_EAUTH);
	cr_assert(strstr(res.message, "clock") != NULL, "%s", res.message);
	/* Back on the system clock; seq never went backwards meanwhile. */
	hbmon_client_set_clock(c, NULL, NULL);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);
}

Test(client, server_records_what_the_client_sent, .timeout = 60)
{
	hbmon_robot_state r = { HBMON_DEGRADED, 4, 2 };
	hbmon_account_state a[4] = {
		{ "ACC_001", HBMON_ACCOUNT_IDLE, true, 0 },
		{ "ACC_002", HBMON_ACCOUNT_ACTIVE, true, 7 },
		{ "ACC_003", HBMON_ACCOUNT_EXPIRED, false, 2 },
		{ "ACC_004", HBMON_ACCOUNT_ERROR, true, 4000000000u },
	};
	hbmon_client *c = open_client("R1", SECRET, 4);
	hbmon_result call, robot, per[4];

	cr_assert_eq(hbmon_report_batch(c, &r, a, 4, &call, &robot, per),
	             HBMON_OK, "%s", call.message);
	cr_assert_str_eq(robot.subject, "R1");
	for (int i = 0; i < 4; i++) {
		char subject[32];
		snprintf(subject, sizeof(subject), "R1/%s", a[i].account);
		cr_assert_eq(per[i].err, HBMON_OK, "%s", per[i].message);
		cr_assert_str_eq(per[i].subject, subject);
		cr_assert_eq(subject_await(a[i].account, "status",
		                           (int64_t) a[i].status),
		             (int64_t) a[i].status);
		cr_assert_eq(subject_await(a[i].account, "session_valid",
		                           a[i].session_valid),
		             a[i].session_valid);
		cr_assert_eq(subject_await(a[i].account, "open_orders",
		                           (int64_t) a[i].open_orders),
		             (int64_t) a[i].open_orders);
	}
	cr_assert_eq(subject_await("", "status", HBMON_DEGRADED),
	             HBMON_DEGRADED);
	cr_assert_eq(subject_await("", "active_accounts", 4), 4);
	cr_assert_eq(subject_await("", "active_tasks", 2), 2);

	/* A heartbeat the server refuses is said so, item by item. */
	a[0].session_valid = false; /* idle needs a valid session */
	cr_assert_eq(hbmon_report_batch(c, &r, a, 4, &call, &robot, per),
	             HBMON_EINVAL);
	cr_assert_eq(per[0].code, 3);
	cr_assert(strstr(per[0].message, "session_valid") != NULL, "%s",
	          per[0].message);
	cr_assert_eq(per[1].err, HBMON_OK);
	hbmon_client_close(c);
}

static int64_t
heartbeats_of(const char *account)
{
	return harness_heartbeats(&srv, "R1", account);
}

static void
wait_successes(hbmon_client *c, uint64_t n, int max_ms)
{
	hbmon_client_health h;

	for (int waited = 0; waited < max_ms; waited += 20) {
		hbmon_client_get_health(c, &h);
		if (h.successes >= n) {
			return;
		}
		usleep(20000);
	}
	hbmon_client_get_health(c, &h);
	cr_assert_fail("%llu of %llu batches accepted; last: %s",
	               (unsigned long long) h.successes, (unsigned long long) n,
	               h.last_result.message);
}

Test(client, automatic_mode_keeps_robot_and_accounts_alive, .timeout = 60)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 3, 1 };
	hbmon_client *c = open_client("R1", SECRET, 3);
	hbmon_client_health h;
	const char *names[3] = { "ACC_001", "ACC_002", "ACC_003" };

	/* The server expects a heartbeat every 400 ms at most. */
	hbmon_client_set_interval(c, 100, 300);
	hbmon_set_robot(c, &r);
	for (int i = 0; i < 3; i++) {
		hbmon_account_state a = { names[i], HBMON_ACCOUNT_ACTIVE, true,
			                  1 };
		hbmon_set_account(c, &a);
	}
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	/* Well over ten of the server's intervals. */
	wait_successes(c, 20, 30000);
	hbmon_client_get_health(c, &h);
	cr_assert_eq(h.consecutive_failures, 0);
	cr_assert_eq(h.last_rejected, 0, "%s", h.last_result.message);
	cr_assert_geq(heartbeats_of(""), 20);
	for (int i = 0; i < 3; i++) {
		cr_assert_geq(heartbeats_of(names[i]), 20);
		cr_assert_geq(subject_int(names[i], "last_seen_ms"),
		              clock_wall_ms() - 2000);
	}
	cr_assert_eq(hbmon_client_stop(c), HBMON_OK);
	hbmon_client_close(c);
}

Test(client, killed_server_neither_blocks_nor_crashes_the_robot, .timeout = 90)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 1, 0 };
	hbmon_account_state a = { "ACC_001", HBMON_ACCOUNT_IDLE, true, 0 };
	hbmon_client *c = open_client("R1", SECRET, 1);
	hbmon_client_health h;
	hbmon_result res;
	uint64_t before;
	int64_t t0;

	hbmon_client_set_timeout(c, 1000);
	hbmon_client_set_interval(c, 50, 100);
	hbmon_set_robot(c, &r);
	hbmon_set_account(c, &a);
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	wait_successes(c, 3, 20000);

	harness_server_kill(&srv);
	for (int i = 0; i < 500; i++) {
		hbmon_client_get_health(c, &h);
		if (h.consecutive_failures >= 3) {
			break;
		}
		usleep(20000);
	}
	cr_assert_geq(h.consecutive_failures, 3);
	cr_assert_eq(h.last_result.err, HBMON_EUNAVAIL, "%s",
	             h.last_result.message);

	/* The robot's own calls keep working while the server is away. */
	t0 = clock_mono_ms();
	for (int i = 0; i < 1000; i++) {
		a.open_orders = (uint32_t) i;
		cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK);
	}
	cr_assert_lt(clock_mono_ms() - t0, 900, "setters waited");
	t0 = clock_mono_ms();
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_EUNAVAIL);
	cr_assert_lt(clock_mono_ms() - t0, 5000);

	/* Back, with the same data dir: heartbeats resume by themselves. */
	before = h.successes;
	cr_assert(harness_server_start(&srv, fast), "restart");
	wait_successes(c, before + 3, 20000);
	hbmon_client_get_health(c, &h);
	cr_assert_eq(h.consecutive_failures, 0);
	cr_assert_eq(subject_await("ACC_001", "open_orders", 999), 999);
	hbmon_client_close(c);
}

Test(client, frozen_server_costs_at_most_the_timeout, .timeout = 60)
{
	hbmon_robot_state r = { HBMON_HEALTHY, 0, 0 };
	hbmon_client *c = open_client("R1", SECRET, 0);
	hbmon_result res;
	int64_t t0, spent;
	int st;

	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK);
	hbmon_client_set_timeout(c, 500);
	kill(srv.pid, SIGSTOP);
	/* Stopped for certain: its threads could otherwise still answer. */
	cr_assert_eq(waitpid(srv.pid, &st, WUNTRACED), srv.pid);
	cr_assert(WIFSTOPPED(st));
	t0 = clock_mono_ms();
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_ETIMEDOUT, "%s",
	             res.message);
	spent = clock_mono_ms() - t0;
	kill(srv.pid, SIGCONT);
	/* Generous bound: the call returned, not long after 500 ms. */
	cr_assert_lt(spent, 5000);
	cr_assert_geq(spent, 400);
	hbmon_client_set_timeout(c, 5000);
	cr_assert_eq(hbmon_report_robot(c, &r, &res), HBMON_OK, "%s",
	             res.message);
	hbmon_client_close(c);
}
