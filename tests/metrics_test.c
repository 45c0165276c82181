/*
 * The server's counters and their Prometheus exposition
 * (src/server/metrics.h): counts move, histograms are cumulative, label
 * values are escaped, counting from many threads loses nothing, and what
 * is rendered passes `promtool check metrics`. Each test is a process of
 * its own, so every test starts from zero.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rpc_status.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/alert.pb-c.h"
#include "server/metrics.h"
#include "support/tools.h"

static const struct metrics_gauges no_gauges = { .version = "1.2.3" };

static char *
render(const struct metrics_gauges *g)
{
	struct strbuf out = STRBUF_INIT;

	metrics_render(g, &out);
	cr_assert(strbuf_ok(&out));
	return strbuf_take(&out);
}

/* Asserts that text has the line `line` (whole). */
static void
assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n') {
			return;
		}
	}
	cr_assert_fail("no line '%s' in:\n%s", line, text);
}

static void
assert_promtool_passes(const char *text)
{
	char *said;
	int rc = tool_promtool_check(text, &said);

	cr_assert_eq(rc, 0, "promtool check metrics failed:\n%s\non:\n%s", said,
	             text);
	free(said);
}

TestSuite(metrics, .timeout = 30);

Test(metrics, heartbeat_counts_move_by_kind_and_result)
{
	char *text = render(&no_gauges);

	/* Before anything: ok is there, at 0. */
	assert_line(text, "hbmon_heartbeats_received_total{kind=\"robot\","
	                  "result=\"ok\"} 0");
	cr_assert_null(strstr(text, "result=\"invalid_argument\""));
	free(text);
	metrics_heartbeats(METRICS_HB_ROBOT, RPC_OK, 3);
	metrics_heartbeats(METRICS_HB_ACCOUNT, RPC_OK, 12);
	metrics_heartbeats(METRICS_HB_ACCOUNT, RPC_INVALID_ARGUMENT, 2);
	metrics_heartbeats(METRICS_HB_ACCOUNT, 99, 1); /* not a code */
	text = render(&no_gauges);
	assert_line(text, "hbmon_heartbeats_received_total{kind=\"robot\","
	                  "result=\"ok\"} 3");
	assert_line(text, "hbmon_heartbeats_received_total{kind=\"account\","
	                  "result=\"ok\"} 12");
	assert_line(text, "hbmon_heartbeats_received_total{kind=\"account\","
	                  "result=\"invalid_argument\"} 2");
	assert_line(text, "hbmon_heartbeats_received_total{kind=\"account\","
	                  "result=\"unknown\"} 1");
	assert_promtool_passes(text);
	free(text);
}

Test(metrics, histograms_are_cumulative_with_sum_and_count)
{
	int robots = metrics_rpc_listener("robots");
	char *text;

	cr_assert_geq(robots, 0);
	metrics_rpc(robots, RPC_OK, 150); /* <= 250 µs */
	metrics_rpc(robots, RPC_OK, 250); /* on the bound: <= 250 µs */
	metrics_rpc(robots, RPC_UNAUTHENTICATED, 20000000); /* past 10 s */
	text = render(&no_gauges);
	assert_line(text, "hbmon_rpc_request_duration_seconds_bucket{listener="
	                  "\"robots\",le=\"0.0001\"} 0");
	assert_line(text, "hbmon_rpc_request_duration_seconds_bucket{listener="
	                  "\"robots\",le=\"0.00025\"} 2");
	assert_line(text, "hbmon_rpc_request_duration_seconds_bucket{listener="
	                  "\"robots\",le=\"10\"} 2");
	assert_line(text, "hbmon_rpc_request_duration_seconds_bucket{listener="
	                  "\"robots\",le=\"+Inf\"} 3");
	assert_line(text, "hbmon_rpc_request_duration_seconds_count{listener="
	                  "\"robots\"} 3");
	assert_line(text, "hbmon_rpc_request_duration_seconds_sum{listener="
	                  "\"robots\"} 20.000400");
	assert_line(text, "hbmon_rpc_requests_total{listener=\"robots\","
	                  "code=\"ok\"} 2");
	assert_line(text, "hbmon_rpc_requests_total{listener=\"robots\","
	                  "code=\"unauthenticated\"} 1");
	assert_promtool_passes(text);
	free(text);
}

Test(metrics, a_name_registers_once_and_the_table_has_an_end)
{
	int first = metrics_rpc_listener("robots");
	int ids[METRICS_LISTENERS_MAX];
	char name[16];

	cr_assert_eq(metrics_rpc_listener("robots"), first);
	cr_assert_neq(metrics_rpc_listener("admin"), first);
	for (int i = 0; i < METRICS_LISTENERS_MAX; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		ids[i] = metrics_rpc_listener(name);
	}
	/* Two were taken before: the last two find no room. */
	cr_assert_eq(ids[METRICS_LISTENERS_MAX - 1], -1);
	cr_assert_eq(ids[METRICS_LISTENERS_MAX - 2], -1);
	cr_assert_geq(ids[METRICS_LISTENERS_MAX - 3], 0);
	metrics_rpc(-1, RPC_OK, 1); /* ignored, not a crash */
	metrics_http(METRICS_ROUTES_MAX, 200, 1);
}

Test(metrics, http_routes_count_by_status)
{
	int page = metrics_http_route("/");
	int metrics = metrics_http_route("/metrics");
	char *text;

	metrics_http(page, 200, 900);
	metrics_http(page, 401, 100);
	metrics_http(metrics, 200, 5000);
	metrics_http(metrics, 418, 5000); /* not in the table: other */
	text = render(&no_gauges);
	assert_line(text,
	            "hbmon_http_requests_total{route=\"/\",code=\"200\"} 1");
	assert_line(text,
	            "hbmon_http_requests_total{route=\"/\",code=\"401\"} 1");
	assert_line(
	    text,
	    "hbmon_http_requests_total{route=\"/metrics\",code=\"200\"} 1");
	assert_line(text, "hbmon_http_requests_total{route=\"/metrics\","
	                  "code=\"other\"} 1");
	assert_line(text, "hbmon_http_request_duration_seconds_count{route="
	                  "\"/metrics\"} 2");
	assert_promtool_passes(text);
	free(text);
}

Test(metrics, commits_and_alerts)
{
	char *text;

	metrics_commit(800, true);
	metrics_commit(3000000, false);
	metrics_alert(HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED,
	              HBMON__V1__SEVERITY__SEVERITY_CRITICAL);
	metrics_alert(HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED,
	              HBMON__V1__SEVERITY__SEVERITY_CRITICAL);
	metrics_alert(HBMON__V1__ALERT_KIND__ALERT_KIND_RECOVERED,
	              HBMON__V1__SEVERITY__SEVERITY_INFO);
	metrics_alert(99, 1); /* not a kind: ignored */
	text = render(&no_gauges);
	assert_line(text,
	            "hbmon_commit_duration_seconds_bucket{le=\"0.001\"} 1");
	assert_line(text, "hbmon_commit_duration_seconds_bucket{le=\"2.5\"} 1");
	assert_line(text, "hbmon_commit_duration_seconds_bucket{le=\"5\"} 2");
	assert_line(text, "hbmon_commit_duration_seconds_count 2");
	assert_line(text, "hbmon_commits_failed_total 1");
	assert_line(text, "hbmon_alerts_total{kind=\"HEARTBEAT_MISSED\","
	                  "severity=\"critical\"} 2");
	assert_line(text, "hbmon_alerts_total{kind=\"RECOVERED\","
	                  "severity=\"info\"} 1");
	assert_promtool_passes(text);
	free(text);
}

Test(metrics, gauges_and_hostile_reader_names)
{
	struct metrics_reader readers[2] = {
		{ .name = "telegram",
		  .delivered = 40,
		  .oldest_undelivered_ms = 1000000 - 90500 },
		{ .name = "a\"b\\c\nd\xff", .delivered = 42 },
	};
	struct metrics_gauges g = {
		.outbox_known = true,
		.outbox_last = 42,
		.readers = readers,
		.n_readers = 2,
		.recorder_pending = 7,
		.health_level = 2,
		.listener_restarts = 1,
		.started_ms = 1700000000123,
		.now_ms = 1000000,
		.version = "0.9.0",
	};
	char *text;

	g.subjects[METRICS_HB_ROBOT][HBMON__V1__LIVENESS__LIVENESS_OK] = 3;
	g.subjects[METRICS_HB_ACCOUNT][HBMON__V1__LIVENESS__LIVENESS_DOWN] = 2;
	text = render(&g);
	assert_line(text, "hbmon_subjects{kind=\"robot\",liveness=\"ok\"} 3");
	assert_line(text,
	            "hbmon_subjects{kind=\"account\",liveness=\"down\"} 2");
	assert_line(text,
	            "hbmon_subjects{kind=\"account\",liveness=\"paused\"} 0");
	assert_line(text, "hbmon_outbox_last_seq 42");
	assert_line(text, "hbmon_outbox_undelivered{reader=\"telegram\"} 2");
	assert_line(text, "hbmon_outbox_oldest_undelivered_age_seconds{reader="
	                  "\"telegram\"} 90.500");
	assert_line(text,
	            "hbmon_outbox_undelivered{reader=\"a\\\"b\\\\c\\nd?\"}"
	            " 0");
	assert_line(text, "hbmon_outbox_oldest_undelivered_age_seconds{reader="
	                  "\"a\\\"b\\\\c\\nd?\"} 0.000");
	assert_line(text, "hbmon_recorder_pending 7");
	assert_line(text, "hbmon_server_health 2");
	assert_line(text, "hbmon_listener_restarts_total 1");
	assert_line(text, "hbmon_start_time_seconds 1700000000.123");
	assert_line(text, "hbmon_build_info{version=\"0.9.0\"} 1");
	assert_promtool_passes(text);
	free(text);
}

Test(metrics, unknown_outbox_and_health_are_left_out)
{
	char *text = render(&no_gauges);

	cr_assert_null(strstr(text, "hbmon_outbox"));
	cr_assert_null(strstr(text, "hbmon_server_health "));
	assert_promtool_passes(text);
	free(text);
}

#define THREADS 8
#define ROUNDS  100000

static void *
count_many(void *arg)
{
	int id = *(int *) arg;

	for (int i = 0; i < ROUNDS; i++) {
		metrics_heartbeats(METRICS_HB_ACCOUNT, RPC_OK, 1);
		metrics_rpc(id, RPC_OK, i % 2000);
	}
	return NULL;
}

Test(metrics, threads_counting_at_once_lose_nothing)
{
	pthread_t t[THREADS];
	int id = metrics_rpc_listener("robots");
	char line[256];
	char *text;

	for (int i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_create(&t[i], NULL, count_many, &id), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
	}
	text = render(&no_gauges);
	snprintf(line, sizeof(line),
	         "hbmon_heartbeats_received_total{kind=\"account\","
	         "result=\"ok\"} %d",
	         THREADS * ROUNDS);
	assert_line(text, line);
	snprintf(line, sizeof(line),
	         "hbmon_rpc_request_duration_seconds_count{listener="
	         "\"robots\"} %d",
	         THREADS * ROUNDS);
	assert_line(text, line);
	free(text);
}
