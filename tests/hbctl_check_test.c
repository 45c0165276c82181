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

/* Runs hbctl check with args (NULL-terminated); the exit code, *out. */
static int
check_args(const char *const *args, char **out)
{
	const char *argv[16] = { "check" };
	char *err;
	size_t n = 1;
	int rc;

	for (size_t i = 0; args[i] != NULL && n < 15; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	rc = hbctl_run(srv.admin, argv, out, &err);
	cr_assert_eq(hbctl_lines(*out), 1, "not one line: %s (%s)", *out, err);
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
	cr_assert_str_eq(line, "HBMON OK - R1 healthy, 12/12 accounts ok | "
	                       "robots=1;;;0 robots_down=0;;;0 "
	                       "robots_late=0;;;0 accounts=12;;;0 "
	                       "accounts_down=0;;;0 accounts_late=0;;;0 "
	                       "open_alerts=0;;;0 oldest_silence=0s;;;0\n");
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
	/* Nor is its silence held against it by --critical. */
	cr_assert_eq(
	    check_args((const char *[]){ "R1", "--critical", "1", NULL },
	               &line),
	    0, "%s", line);
	assert_has(line, "oldest_silence=U;;1;0");
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
	cr_assert_str_eq(
	    out, "{\"code\":0,\"status\":\"OK\",\"text\":\"R1 "
	         "healthy, 12/12 accounts ok\",\"perfdata\":{\"robots\":1,"
	         "\"robots_down\":0,\"robots_late\":0,\"accounts\":12,"
	         "\"accounts_down\":0,\"accounts_late\":0,\"open_alerts\":0,"
	         "\"oldest_silence_s\":0,\"warning_s\":null,"
	         "\"critical_s\":null}}\n");
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

Test(check, perfdata_counts_what_is_down_and_firing)
{
	char *line;

	harness_robot_send(&robot);
	wait_liveness("R1", LV(DOWN));
	cr_assert_neq(harness_wait_alert(
	                  adm,
	                  HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED,
	                  "R1", "", 5000),
	              0);
	cr_assert_eq(check(NULL, &line), 2, "%s", line);
	assert_has(line, " | robots=1;;;0 robots_down=1;;;0 robots_late=0;;;0 "
	                 "accounts=12;;;0 accounts_down=12;;;0 "
	                 "accounts_late=0;;;0 open_alerts=1;;;0 "
	                 "oldest_silence=");
	free(line);
	/* The robot's own: the same counts. */
	cr_assert_eq(check("R1", &line), 2, "%s", line);
	assert_has(line, "robots_down=1;;;0");
	assert_has(line, "open_alerts=1;;;0");
	free(line);
	/* One account: no robot counts; its robot's alert is not its own. */
	cr_assert_eq(check("R1/ACC_002", &line), 2, "%s", line);
	assert_has(line, " | accounts=1;;;0 accounts_down=1;;;0 "
	                 "accounts_late=0;;;0 open_alerts=0;;;0 "
	                 "oldest_silence=");
	assert_lacks(line, "robots=");
	free(line);
}

Test(check, thresholds_on_the_oldest_silence)
{
	char *line;

	harness_robot_send(&robot);
	/* Far above the silence: OK, and the thresholds in the perfdata. */
	cr_assert_eq(check_args((const char *[]){ "R1", "--warning", "1h",
	                                          "--critical", "7200", NULL },
	                        &line),
	             0, "%s", line);
	assert_has(line, "oldest_silence=0s;3600;7200;0");
	free(line);

	/* Late is a warning; silent past --critical 1 (s) is critical. */
	wait_liveness("R1", LV(LATE));
	harness_sleep_ms(200);
	cr_assert_eq(
	    check_args((const char *[]){ "--critical", "1", NULL }, &line), 2,
	    "%s", line);
	assert_has(line, "HBMON CRITICAL - ");
	assert_has(line, "R1 last heard ");
	assert_has(line, "(--critical above 1 s)");
	assert_has(line, ";;1;0");
	free(line);
	cr_assert_eq(check_args((const char *[]){ "R1", "--warning", "1s",
	                                          "--critical", "1h", NULL },
	                        &line),
	             1, "%s", line);
	assert_has(line, "(--warning above 1 s)");
	free(line);
}

Test(check, bad_thresholds_are_unknown)
{
	static const char *const bad[][5] = {
		{ "--warning", "abc" },
		{ "--critical", "5x" },
		{ "--warning", "0" },
		{ "--critical", "" },
		{ "--warning", "-5" },
		{ "--warning", "10", "--critical", "5" },
	};
	static const char *const says[] = {
		"--warning 'abc' is not a time",
		"--critical '5x' is not a time",
		"--warning '0' must be above 0",
		"--critical '' is not a time",
		"--warning '-5' is not a time",
		"--warning is above --critical",
	};
	char *out, *err;

	harness_robot_send(&robot);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[8] = { "check" };
		size_t n = 1;
		for (size_t j = 0; j < 5 && bad[i][j] != NULL; j++) {
			args[n++] = bad[i][j];
		}
		args[n] = NULL;
		cr_assert_eq(hbctl_run(srv.admin, args, &out, &err), 3,
		             "case %zu: %s", i, out);
		assert_has(out, "HBMON UNKNOWN - ");
		assert_has(out, says[i]);
		assert_has(err, says[i]);
		cr_assert_eq(hbctl_lines(out), 1, "%s", out);
		free(out);
		free(err);
	}
}
