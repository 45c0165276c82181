/*
 * hbctl alerts: the outbox listed and filtered, and --follow showing every
 * alert exactly once in seq order: those raised before it started, those
 * raised while it runs, and those PUB never delivered to it.
 *
 * Alerts are made on demand: each change of R1's reported health raises
 * one (STATUS_CHANGED, or RECOVERED back to healthy).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "common/alert_topic.h"
#include "harness.h"
#include "hbctl_test.h"
#include "hbmon/error.h"

#define SECRET "hbs_hbctl-alerts-test-secret"
#define H(x)   HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x

static struct harness_server srv;
static struct rpc_client *adm;
static struct harness_robot robot;
static char out_path[700], err_path[700];
static pid_t follower; /* a background hbctl, killed at the end */

static void
start(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, NULL), "server did not start");
	adm = harness_admin(&srv);
	harness_robot_init(&robot, &srv, "R1", SECRET, 1);
	harness_robot_send(&robot);
	snprintf(out_path, sizeof(out_path), "%s/follow.out", srv.dir);
	snprintf(err_path, sizeof(err_path), "%s/follow.err", srv.dir);
}

static void
stop(void)
{
	if (follower > 0) {
		hbctl_wait(follower, 0);
	}
	harness_robot_fini(&robot);
	rpc_client_close(adm);
	harness_server_fini(&srv);
}

TestSuite(alerts, .init = start, .fini = stop, .timeout = 120);

/* Every alert in the outbox. */
static size_t
outbox_size(void)
{
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(adm, 0, &a);

	harness_alerts_free(a, n);
	return n;
}

/* Raises n alerts (health changes) and waits until they are committed. */
static void
raise_alerts(int n)
{
	size_t want = outbox_size() + (size_t) n;

	for (int i = 0; i < n; i++) {
		robot.health =
		    robot.health == H(HEALTHY) ? H(DEGRADED) : H(HEALTHY);
		harness_robot_send(&robot);
	}
	for (int i = 0; i < 500 && outbox_size() < want; i++) {
		harness_sleep_ms(10);
	}
	cr_assert_geq(outbox_size(), want, "the alerts were not raised");
}

/*
 * Checks that out holds JSON alerts with seq 1..n, each once, in order,
 * each the same as the outbox's.
 */
static void
assert_seqs_1_to_n(char *out, size_t n)
{
	Hbmon__V1__Alert **a;
	size_t got = 0, total = harness_alerts(adm, 0, &a);
	char *save = NULL;

	cr_assert_geq(total, n);
	for (char *line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *v = json_loads(line, 0, &e);

		cr_assert_not_null(v, "not JSON: %s", line);
		cr_assert_lt(got, n, "more than %zu alerts shown", n);
		cr_assert_eq(
		    json_integer_value(json_object_get(v, "seq")),
		    (json_int_t) got + 1,
		    "alert %zu has seq %lld: shown twice, out of "
		    "order or skipped",
		    got + 1,
		    (long long) json_integer_value(json_object_get(v, "seq")));
		cr_assert_str_eq(
		    json_string_value(json_object_get(v, "summary")),
		    a[got]->summary);
		got++;
		json_decref(v);
	}
	cr_assert_eq(got, n, "%zu alerts shown, not %zu", got, n);
	harness_alerts_free(a, total);
}

/* Waits until the follower has written at least lines lines. */
static void
wait_lines(size_t lines)
{
	for (int i = 0; i < 2000; i++) {
		char *out = harness_read_file(out_path);
		size_t n = hbctl_lines(out);
		free(out);
		if (n >= lines) {
			return;
		}
		harness_sleep_ms(10);
	}
	cr_assert_fail("hbctl alerts --follow showed fewer than %zu lines",
	               lines);
}

Test(alerts, list_human_and_json_with_filters)
{
	char *out, *err, *line, *save = NULL;
	size_t n = 0;

	cr_assert_eq(hbctl_run(srv.admin, (const char *[]){ "alerts", NULL },
	                       &out, &err),
	             0);
	assert_has(out, "No alerts.");
	free(out);
	free(err);

	raise_alerts(4); /* degraded, healthy, degraded, healthy */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "alerts", "--tz", "+07:00", NULL },
	              &out, &err),
	    0, "%s", err);
	assert_has(out, "   SEQ  RAISED");
	assert_has(out, "     1  ");
	assert_has(out, "+07:00  warning   STATUS_CHANGED      firing    R1");
	assert_has(out, "robot R1 is degraded");
	cr_assert_eq(hbctl_lines(out), 5, "%s", out);
	free(out);
	free(err);

	/* --json: one object per alert with SPEC §6's keys. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "alerts", "--json", NULL },
	                       &out, &err),
	             0);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *v = json_loads(line, 0, NULL);
		static const char *const keys[] = { "seq",      "kind",
			                            "severity", "state",
			                            "robot",    "account",
			                            "summary" };
		cr_assert_not_null(v, "%s", line);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			cr_assert_not_null(json_object_get(v, keys[k]),
			                   "no %s in %s", keys[k], line);
		}
		cr_assert_str_eq(
		    json_string_value(json_object_get(v, "account")), "");
		n++;
		json_decref(v);
	}
	cr_assert_eq(n, 4);
	free(out);
	free(err);

	/* Filters. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "alerts", "--json",
	                                         "--since-seq", "2", NULL },
	                       &out, &err),
	             0);
	cr_assert_eq(hbctl_lines(out), 2, "%s", out);
	assert_has(out, "{\"seq\":3,");
	free(out);
	free(err);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "alerts", "--json", "--severity",
	                                "warning", NULL },
	              &out, &err),
	    0);
	/* The two warnings and their all-clears (alert_filter.h: a
	 * RECOVERED passes any severity), nothing else that is info. */
	cr_assert_eq(hbctl_lines(out), 4, "%s", out);
	assert_lacks(out, "\"kind\":\"STATUS_CHANGED\",\"severity\":\"info\"");
	cr_assert_eq(hbctl_count(out, "\"kind\":\"RECOVERED\""), 2, "%s", out);
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "alerts", "--json", "--kind",
	                                         "RECOVERED,CLOCK_SKEW", NULL },
	                       &out, &err),
	             0);
	cr_assert_eq(hbctl_lines(out), 2, "%s", out);
	assert_lacks(out, "\"kind\":\"STATUS_CHANGED\"");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "alerts", "--json", "--robot",
	                                         "R2", NULL },
	                       &out, &err),
	             0);
	cr_assert_str_empty(out);
	free(out);
	free(err);
}

Test(alerts, follow_shows_old_and_new_alerts_once_in_order)
{
	char count[16], *out;
	pid_t pid;

	raise_alerts(3); /* before hbctl starts */
	snprintf(count, sizeof(count), "%d", 3 + 5);
	pid = follower =
	    hbctl_spawn(srv.admin,
	                (const char *[]){ "alerts", "--follow", "--json",
	                                  "--count", count, NULL },
	                out_path, err_path);
	wait_lines(3);
	raise_alerts(5); /* while it runs */
	cr_assert_eq(hbctl_wait(pid, 60000), 0, "%s",
	             harness_read_file(err_path));
	follower = 0;
	out = harness_read_file(out_path);
	assert_seqs_1_to_n(out, 8);
	free(out);
}

Test(alerts, follow_fills_what_pub_dropped_from_the_outbox)
{
	char fake[700], count[16], *out;
	Hbmon__V1__Alert **a;
	nng_socket pub;
	uint8_t *msg;
	size_t len, n;
	pid_t pid;
	int rc = -1;

	/* hbctl listens to a PUB socket of ours, which will skip alerts. */
	snprintf(fake, sizeof(fake), "ipc://%s/fake-alerts.sock", srv.dir);
	cr_assert_eq(nng_pub0_open(&pub), 0);
	cr_assert_eq(nng_listen(pub, fake, NULL, 0), 0);
	raise_alerts(2);
	snprintf(count, sizeof(count), "%d", 2 + 4);
	/* --poll 1h: only a seq gap on PUB can make it read the outbox. */
	pid = follower = hbctl_spawn(
	    srv.admin,
	    (const char *[]){ "alerts", "--follow", "--json", "--count", count,
	                      "--publish", fake, "--poll", "1h", NULL },
	    out_path, err_path);
	wait_lines(2);
	raise_alerts(4); /* seq 3..6; hbctl is not told of them */
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(n, 6);
	/* Only seq 6 is published: 3, 4, 5 were "dropped". Sent until it
	 * lands, since a SUB misses what comes before it is connected. */
	cr_assert_eq(alert_topic_pack(a[5], &msg, &len), HBMON_OK);
	for (int i = 0; i < 600; i++) {
		nng_send(pub, msg, len, 0);
		if (hbctl_exited(pid, 100, &rc)) {
			follower = 0;
			break;
		}
	}
	free(msg);
	harness_alerts_free(a, n);
	nng_close(pub);
	cr_assert_eq(rc, 0, "%s", harness_read_file(err_path));
	out = harness_read_file(out_path);
	assert_seqs_1_to_n(out, 6);
	free(out);
}

Test(alerts, follow_without_pub_reads_the_outbox)
{
	char nowhere[700], *out, *err;
	pid_t pid;

	snprintf(nowhere, sizeof(nowhere), "ipc://%s/no-pub-here.sock",
	         srv.dir);
	raise_alerts(1);
	pid = follower = hbctl_spawn(
	    srv.admin,
	    (const char *[]){ "alerts", "--follow", "--json", "--count", "3",
	                      "--publish", nowhere, "--poll", "100ms", NULL },
	    out_path, err_path);
	wait_lines(1);
	raise_alerts(2);
	cr_assert_eq(hbctl_wait(pid, 60000), 0);
	follower = 0;
	err = harness_read_file(err_path);
	assert_has(err, "cannot subscribe to");
	out = harness_read_file(out_path);
	assert_seqs_1_to_n(out, 3);
	free(out);
	free(err);
}

Test(alerts, follow_stops_on_sigterm_with_exit_0)
{
	char *out;
	pid_t pid;

	raise_alerts(1);
	pid = follower =
	    hbctl_spawn(srv.admin,
	                (const char *[]){ "alerts", "--follow", "--severity",
	                                  "warning", NULL },
	                out_path, err_path);
	wait_lines(2); /* header and the one alert */
	kill(pid, SIGTERM);
	cr_assert_eq(hbctl_wait(pid, 30000), 0);
	follower = 0;
	out = harness_read_file(out_path);
	assert_has(out, "SEQ  RAISED");
	assert_has(out, "STATUS_CHANGED");
	free(out);
}

Test(alerts, follow_new_skips_the_past)
{
	char *out;
	pid_t pid;
	int rc = -1;

	raise_alerts(2);
	pid = follower =
	    hbctl_spawn(srv.admin,
	                (const char *[]){ "alerts", "--follow", "--new",
	                                  "--json", "--count", "1", NULL },
	                out_path, err_path);
	/* Whenever it has really started, the first alert it shows must
	 * be one raised after that: keep raising until it shows one. */
	for (int i = 0; i < 100; i++) {
		raise_alerts(1);
		if (hbctl_exited(pid, 300, &rc)) {
			follower = 0;
			break;
		}
	}
	cr_assert_eq(rc, 0);
	out = harness_read_file(out_path);
	cr_assert_eq(hbctl_lines(out), 1, "%s", out);
	assert_lacks(out, "{\"seq\":1,");
	assert_lacks(out, "{\"seq\":2,");
	free(out);
}
