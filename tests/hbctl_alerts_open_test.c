/*
 * hbctl alerts --open: what is firing now, as the engine holds its open
 * episodes (not the alerts as raised). A robot that goes silent is
 * listed; acked, it is shown acked; when it comes back, or is removed,
 * it is gone.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hbctl_test.h"

#define SECRET "hbs_hbctl-alerts-open-test-secret"
#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x

static struct harness_server srv;
static struct rpc_client *adm;
static struct harness_robot r1, ex;

static void
start(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	harness_robot_add(&srv, "EX", SECRET);
	cr_assert(harness_server_start(&srv, harness_quick_alerts),
	          "server did not start");
	adm = harness_admin(&srv);
	harness_robot_init(&r1, &srv, "R1", SECRET, 0);
	harness_robot_init(&ex, &srv, "EX", SECRET, 0);
}

static void
stop(void)
{
	harness_robot_fini(&r1);
	harness_robot_fini(&ex);
	rpc_client_close(adm);
	harness_server_fini(&srv);
}

TestSuite(alerts_open, .init = start, .fini = stop, .timeout = 120);

/* hbctl alerts --open args..., which must exit 0; its stdout (free it). */
static char *
open_alerts(const char *const *more)
{
	const char *args[16] = { "alerts", "--open" };
	char *out, *err;
	size_t n = 2;

	for (size_t i = 0; more != NULL && more[i] != NULL && n < 15; i++) {
		args[n++] = more[i];
	}
	args[n] = NULL;
	cr_assert_eq(hbctl_run(srv.admin, args, &out, &err), 0, "%s", err);
	free(err);
	return out;
}

/* The --json line of the episode opened by alert seq in out, parsed
 * (NULL: not listed). */
static json_t *
line_of(const char *out, uint64_t seq)
{
	char *copy = strdup(out), *save = NULL;
	json_t *found = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *v = json_loads(line, 0, NULL);

		cr_assert_not_null(v, "not JSON: %s", line);
		if (found == NULL && json_integer_value(json_object_get(
		                         v, "seq")) == (json_int_t) seq) {
			found = v;
		} else {
			json_decref(v);
		}
	}
	free(copy);
	return found;
}

/* The summary of alert seq in the outbox, malloc'd. */
static char *
raised_summary(uint64_t seq)
{
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(adm, 0, &a);
	char *summary = NULL;

	for (size_t i = 0; i < n; i++) {
		if (a[i]->seq == seq) {
			summary = strdup(a[i]->summary);
		}
	}
	harness_alerts_free(a, n);
	cr_assert_not_null(summary, "no alert %llu", (unsigned long long) seq);
	return summary;
}

Test(alerts_open, silent_listed_acked_then_gone)
{
	uint64_t r1_seq, ex_seq;
	char seq_arg[32], *out, *err, *before;
	json_t *v;

	out = open_alerts(NULL);
	assert_has(out, "Nothing is firing.");
	free(out);
	out = open_alerts((const char *[]){ "--json", NULL });
	cr_assert_str_empty(out, "%s", out);
	free(out);

	/* Both report once, then fall silent. */
	harness_robot_send(&r1);
	harness_robot_send(&ex);
	r1_seq = harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000);
	ex_seq = harness_wait_alert(adm, K(HEARTBEAT_MISSED), "EX", "", 5000);
	cr_assert_neq(r1_seq, 0);
	cr_assert_neq(ex_seq, 0);
	/* Long enough for the silence to read longer than when raised. */
	harness_sleep_ms(2500);

	out = open_alerts((const char *[]){ "--json", NULL });
	cr_assert_eq(hbctl_lines(out), 2, "%s", out);
	v = line_of(out, r1_seq);
	cr_assert_not_null(v, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(v, "robot")), "R1");
	cr_assert_str_eq(json_string_value(json_object_get(v, "kind")),
	                 "HEARTBEAT_MISSED");
	cr_assert_str_eq(json_string_value(json_object_get(v, "severity")),
	                 "critical");
	cr_assert_str_eq(json_string_value(json_object_get(v, "state")),
	                 "firing");
	cr_assert_str_eq(json_string_value(json_object_get(v, "account")), "");
	cr_assert(json_is_false(json_object_get(v, "acked")), "%s", out);
	cr_assert_not_null(json_object_get(v, "since"), "%s", out);
	cr_assert_gt(json_integer_value(json_object_get(v, "since_ms")), 0);
	/* The summary as of now, not as raised. */
	before = raised_summary(r1_seq);
	assert_has(json_string_value(json_object_get(v, "summary")),
	           "robot R1");
	cr_assert_str_neq(json_string_value(json_object_get(v, "summary")),
	                  before, "%s", out);
	free(before);
	json_decref(v);
	free(out);

	/* Human: one row each, with the seq to ack. */
	out = open_alerts(NULL);
	assert_has(out, "SEQ");
	assert_has(out, "ACKED");
	assert_has(out, "HEARTBEAT_MISSED");
	cr_assert_eq(hbctl_lines(out), 3, "%s", out);
	free(out);

	/* Filters: the one rule set of hbctl alerts. */
	out = open_alerts((const char *[]){ "--json", "--robot", "EX", NULL });
	cr_assert_eq(hbctl_lines(out), 1, "%s", out);
	assert_has(out, "\"robot\":\"EX\"");
	free(out);
	out = open_alerts((const char *[]){ "--kind", "CLOCK_SKEW", NULL });
	assert_has(out, "Nothing is firing that passes the filter.");
	free(out);

	/* Acked: still firing, shown acked. */
	snprintf(seq_arg, sizeof(seq_arg), "%llu", (unsigned long long) r1_seq);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "ack", seq_arg, NULL }, &out,
	                       &err),
	             0, "%s", err);
	free(out);
	free(err);
	out = open_alerts((const char *[]){ "--json", NULL });
	v = line_of(out, r1_seq);
	cr_assert_not_null(v, "%s", out);
	cr_assert(json_is_true(json_object_get(v, "acked")), "%s", out);
	json_decref(v);
	free(out);

	/* R1 comes back: gone (should it fall silent again, that is a new
	 * episode with a new seq); EX still fires. */
	harness_robot_send(&r1);
	cr_assert_neq(harness_wait_alert(adm, K(RECOVERED), "R1", "", 5000), 0);
	out = open_alerts((const char *[]){ "--json", NULL });
	cr_assert_null(line_of(out, r1_seq), "%s", out);
	v = line_of(out, ex_seq);
	cr_assert_not_null(v, "%s", out);
	json_decref(v);
	free(out);

	/* EX is removed while it fires: gone too. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "remove", "EX", NULL }, &out,
	              &err),
	    0, "%s", err);
	free(out);
	free(err);
	out = open_alerts((const char *[]){ "--json", NULL });
	cr_assert_null(line_of(out, ex_seq), "%s", out);
	assert_lacks(out, "\"robot\":\"EX\"");
	free(out);
}

Test(alerts_open, refuses_what_does_not_apply)
{
	static const char *const bad[][4] = {
		{ "--follow" },
		{ "--since-seq", "3" },
		{ "--no-recovered" },
		{ "--count", "1" },
		{ "--publish", "ipc:///nonexistent" },
	};
	char *out, *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[8] = { "alerts", "--open" };
		size_t n = 2;
		for (size_t j = 0; j < 4 && bad[i][j] != NULL; j++) {
			args[n++] = bad[i][j];
		}
		args[n] = NULL;
		cr_assert_eq(hbctl_run(srv.admin, args, &out, &err), 2,
		             "case %zu: %s", i, out);
		assert_has(err, "--open shows what is firing now");
		cr_assert_str_empty(out);
		free(out);
		free(err);
	}
	/* The filters' own checks still apply. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "alerts", "--open",
	                                         "--severity", "loud", NULL },
	                       &out, &err),
	             2);
	assert_has(err, "'loud' is not");
	free(out);
	free(err);
}
