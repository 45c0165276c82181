/*
 * hbctl check as a Nagios plugin: one status line and the exit codes
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, against the real server with
 * short intervals (interval_max 1 s, miss_threshold 2: late 1 s after
 * the last heartbeat, down after 3 s).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hbctl_test.h"

#define SECRET "hbs_hbctl-check-test-secret"
#define LV(x)  HBMON__V1__LIVENESS__LIVENESS_##x
#define H(x)   HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x)   HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x

static struct harness_server srv;
static struct rpc_client *adm;
static struct harness_robot robot;

static void
start(void)
{
	const char *args[] = { "--interval-max", "1s", "--miss-threshold", "2",
		               NULL };

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, args), "server did not start");
	adm = harness_admin(&srv);
	harness_robot_init(&robot, &srv, "R1", SECRET, 12);
}

static void
stop(void)
{
	harness_robot_fini(&robot);
	rpc_client_close(adm);
	harness_server_fini(&srv);
}

TestSuite(check, .init = start, .fini = stop, .timeout = 60);

/* Runs hbctl check [subject]; returns the exit code, *line the output. */
static int
check(const char *subject, char **line)
{
	const char *args[] = { "check", subject, NULL };
	char *err;
	int rc = hbctl_run(srv.admin, args, line, &err);

	cr_assert_eq(hbctl_lines(*line), 1, "not one line: %s", *line);
	cr_assert_str_empty(err);
	free(err);
	return rc;
}

/* Waits until subject's liveness is want (the server decides). */
static void
wait_liveness(const char *subject, Hbmon__V1__Liveness want)
{
	for (int i = 0; i < 1000; i++) {
		Hbmon__V1__SubjectReply *s = harness_subject(adm, subject);
		Hbmon__V1__Liveness l = s->state->liveness;
		protobuf_c_message_free_unpacked(&s->base, NULL);
		if (l == want) {
			return;
		}
		harness_sleep_ms(10);
	}
	cr_assert_fail("%s never reached liveness %d", subject, want);
}

Test(check, healthy_is_ok)
{
	char *line;

	harness_robot_send(&robot);
	cr_assert_eq(check("R1", &line), 0, "%s", line);
	cr_assert_str_eq(line, "HBMON OK - R1 healthy, 12/12 accounts ok\n");
	free(line);
	cr_assert_eq(check(NULL, &line), 0, "%s", line);
	assert_has(line, "HBMON OK - 1/1 robots ok, 12/12 accounts ok");
	free(line);
	cr_assert_eq(check("R1/ACC_003", &line), 0, "%s", line);
	assert_has(line, "HBMON OK - R1/ACC_003 active, session valid");
	free(line);
}

Test(check, late_is_warning)
{
	char *line;

	harness_robot_send(&robot);
	wait_liveness("R1", LV(LATE));
	cr_assert_eq(check("R1", &line), 1, "%s", line);
	assert_has(line, "HBMON WARNING - R1 late, last seen");
	free(line);
}

Test(check, down_is_critical)
{
	char *line;

	harness_robot_send(&robot);
	wait_liveness("R1", LV(DOWN));
	cr_assert_eq(check("R1", &line), 2, "%s", line);
	assert_has(line, "HBMON CRITICAL - R1 down, ");
	assert_has(line, "heartbeats missed");
	free(line);
	cr_assert_eq(check(NULL, &line), 2, "%s", line);
	assert_has(line, "HBMON CRITICAL - 0/1 robots ok");
	free(line);
	cr_assert_eq(check("R1/ACC_001", &line), 2, "%s", line);
	free(line);
}

Test(check, unknown_subject_is_unknown)
{
	char *line;

	/* Registered, but nothing reported yet at all. */
	cr_assert_eq(check(NULL, &line), 3, "%s", line);
	assert_has(line, "HBMON UNKNOWN - 0/1 robots ok");
	assert_has(line, "R1 has never reported");
	free(line);
	harness_robot_send(&robot);
	cr_assert_eq(check("R9", &line), 3, "%s", line);
	assert_has(line, "HBMON UNKNOWN - no robot 'R9'");
	free(line);
	cr_assert_eq(check("R1/NOPE", &line), 3, "%s", line);
	assert_has(line, "HBMON UNKNOWN - no account 'R1/NOPE'");
	free(line);
}

Test(check, reported_trouble_counts_too)
{
	char *line;

	/* Degraded health: a warning. */
	robot.health = H(DEGRADED);
	harness_robot_send(&robot);
	cr_assert_eq(check("R1", &line), 1, "%s", line);
	assert_has(line, "HBMON WARNING - R1 degraded, 12/12 accounts ok");
	free(line);
	/* An expired session with open orders: critical (exposure). */
	robot.health = H(HEALTHY);
	robot.status[2] = A(EXPIRED);
	robot.session_valid[2] = false;
	robot.open_orders[2] = 3;
	harness_robot_send(&robot);
	cr_assert_eq(check("R1", &line), 2, "%s", line);
	assert_has(line, "11/12 accounts ok; ACC_003 expired with open orders");
	free(line);
	/* Checking every robot comes to the same verdict. */
	cr_assert_eq(check(NULL, &line), 2, "%s", line);
	assert_has(line, "0/1 robots ok, 11/12 accounts ok; R1 healthy");
	free(line);
	/* Without open orders the same account is only a warning. */
	robot.open_orders[2] = 0;
	harness_robot_send(&robot);
	cr_assert_eq(check(NULL, &line), 1, "%s", line);
	assert_has(line, "ACC_003 expired");
	free(line);
}

Test(check, paused_is_ok)
{
	char *line, *out;

	harness_robot_send(&robot);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "pause", "R1", "--for", "1h", NULL },
	              &out, NULL),
	    0);
	free(out);
	harness_sleep_ms(3500); /* silent past the threshold, but paused */
	cr_assert_eq(check("R1", &line), 0, "%s", line);
	assert_has(line, "HBMON OK - R1 paused");
	free(line);
}

Test(check, json_and_no_server)
{
	char *out, *err;

	harness_robot_send(&robot);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "check", "R1", "--json", NULL }, &out,
	              &err),
	    0);
	cr_assert_str_eq(out, "{\"code\":0,\"status\":\"OK\",\"text\":\"R1 "
	                      "healthy, 12/12 accounts ok\"}\n");
	free(out);
	free(err);
	/* A bad command line is UNKNOWN too, not 2 (CRITICAL). */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "check", "--bogus", NULL },
	                       &out, &err),
	             3);
	free(out);
	free(err);
	harness_server_stop(&srv);
	cr_assert_eq(
	    hbctl_run(srv.admin, (const char *[]){ "check", NULL }, &out, &err),
	    3);
	assert_has(out, "HBMON UNKNOWN - ");
	free(out);
	free(err);
}
