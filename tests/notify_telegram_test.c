/*
 * hbmon-notify --sink telegram end to end: the real server, the real
 * notifier, and a loopback stand-in for api.telegram.org
 * (support/notify_telegram.py) that records every request and answers 200,
 * 429 with retry_after, 500, 400/403 or hangs, as a test tells it.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "notify_support.h"

#define A(x)  HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define H(x)  HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define K(x)  HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define LV(x) HBMON__V1__LIVENESS__LIVENESS_##x

#define TOKEN "123456:test-token_ABC"
#define CHAT  "-1001234"

static struct harness_server srv;
static struct nt_notifier nt;
static struct nt_fake tg;
static struct rpc_client *adm, *robot;
static const char *const robots[] = { "R1", "notify-tg", NULL };
static char env_api[200];
static const char *env[] = { "HBMON_TELEGRAM_TOKEN=" TOKEN,
	                     "HBMON_TELEGRAM_CHAT_ID=" CHAT, env_api, NULL };

static void
setup(void)
{
	nt_server_start(&srv, robots);
	adm = harness_admin(&srv);
	robot = harness_client(srv.listen, "R1", NT_SECRET);
	nt_notifier_init(&nt);
	nt_telegram_start(&tg, TOKEN);
	snprintf(env_api, sizeof(env_api), "HBMON_TELEGRAM_API=%s", tg.url);
}

static void
teardown(void)
{
	nt_kill_all();
	rpc_client_close(robot);
	rpc_client_close(adm);
	nt_fake_stop(&tg);
	nt_notifier_fini(&nt);
	harness_server_fini(&srv);
}

/* Stops the notifier cleanly; the bot token never reached its log. */
static void
finish(void)
{
	char *log;

	if (nt.pid > 0) {
		nt_notifier_stop(&nt);
	}
	log = harness_read_file(nt.log);
	cr_assert(strstr(log, "test-token_ABC") == NULL,
	          "the bot token is in the log");
	cr_assert(strstr(log, "level=info msg=\"hbmon-notify started\"") !=
	          NULL);
	free(log);
}

/* Requests with the given HTTP status answered (-1: any). */
static size_t
count_status(json_t *reqs, int status)
{
	size_t n = 0, i;
	json_t *r;

	json_array_foreach(reqs, i, r)
	{
		if (status < 0 || json_integer_value(
		                      json_object_get(r, "status")) == status) {
			n++;
		}
	}
	return n;
}

static const char *
text_of(json_t *r)
{
	return json_string_value(
	    json_object_get(json_object_get(r, "body"), "text"));
}

/* The seqs of every message Telegram accepted, in order. */
static size_t
accepted_seqs(json_t *reqs, uint64_t *seqs, size_t max)
{
	size_t n = 0, i;
	json_t *r;

	json_array_foreach(reqs, i, r)
	{
		if (json_integer_value(json_object_get(r, "status")) == 200) {
			n += nt_text_seqs(text_of(r), seqs + n,
			                  n < max ? max - n : 0);
		}
	}
	return n;
}

/* Whether every outbox alert has been accepted by Telegram. */
static bool
all_accepted(void *arg)
{
	uint64_t got[512], *want;
	json_t *reqs = nt_requests(&tg);
	size_t n_got = accepted_seqs(reqs, got, 512);
	size_t n_want = nt_outbox_seqs(adm, &want);
	bool ok = n_want > 0 && n_got >= n_want;

	(void) arg;
	for (size_t i = 0; ok && i < n_want; i++) {
		bool seen = false;
		for (size_t j = 0; j < n_got && !seen; j++) {
			seen = got[j] == want[i];
		}
		ok = seen;
	}
	free(want);
	json_decref(reqs);
	return ok;
}

static bool
requests_at_least(void *arg)
{
	json_t *reqs = nt_requests(&tg);
	bool ok = json_array_size(reqs) >= (size_t) (intptr_t) arg;

	json_decref(reqs);
	return ok;
}

static const char *const acc[] = { "ACC_001", "ACC_002", "ACC_003" };

/* Turns accounts of R1 to error one batch at a time: n alerts. */
static void
raise_errors(int n)
{
	int st[3] = { A(ACTIVE), A(ACTIVE), A(ACTIVE) };

	nt_send_accounts(robot, 3, acc, st);
	for (int i = 0; i < n && i < 3; i++) {
		st[i] = A(ERROR);
		nt_send_accounts(robot, 3, acc, st);
	}
}

Test(notify_telegram, sends_html_to_the_chat, .init = setup, .fini = teardown,
     .timeout = 60)
{
	static const uint32_t orders[] = { 0, 4, 0 };
	int st[3] = { A(ACTIVE), A(ACTIVE), A(ACTIVE) };
	json_t *reqs, *body;
	const char *text;

	nt_notifier_start(&nt, &srv, "telegram", NULL, env);
	nt_send_orders(robot, 3, acc, st, orders);
	st[0] = A(ERROR);
	nt_send_orders(robot, 3, acc, st, orders);
	cr_assert(nt_wait(all_accepted, NULL, 10000), "nothing delivered");
	reqs = nt_requests(&tg);
	body = json_object_get(json_array_get(reqs, 0), "body");
	cr_assert_str_eq(json_string_value(json_object_get(body, "chat_id")),
	                 CHAT);
	cr_assert_str_eq(json_string_value(json_object_get(body, "parse_mode")),
	                 "HTML");
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(reqs, 0), "content_type")),
	                 "application/json");
	text = text_of(json_array_get(reqs, 0));
	cr_assert(strstr(text, "<b>CRITICAL</b> · status changed") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "<b>R1/ACC_001</b> from a local socket\naccount "
	                       "R1/ACC_001 in error; no open orders\n") != NULL,
	          "%s", text);
	/* What to do, with the alert's own seq. */
	cr_assert(strstr(text, "\nTo silence: hbctl ack 1 · To pause: hbctl "
	                       "pause R1/ACC_001 --for 1h\n") != NULL,
	          "%s", text);
	cr_log_info("a real Telegram message:\n%s", text);
	json_decref(reqs);

	/* R1 falls silent: the robot's alert lists its accounts. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	cr_assert(nt_wait(all_accepted, NULL, 10000));
	reqs = nt_requests(&tg);
	text = text_of(json_array_get(reqs, json_array_size(reqs) - 1));
	cr_assert(strstr(text,
	                 "<b>CRITICAL</b> · heartbeat missed\n<b>R1</b> "
	                 "from a local socket\nrobot R1 silent for ") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "; 3 accounts affected, 1 with open orders\n"
	                       "Accounts: ") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "ACC_001 (error)") != NULL, "%s", text);
	cr_assert(strstr(text, "ACC_002 (active, 4 open orders)") != NULL, "%s",
	          text);
	cr_log_info("a real Telegram message:\n%s", text);
	json_decref(reqs);
	finish();
}

Test(notify_telegram, alerts_during_500s_come_in_order_after_recovery,
     .init = setup, .fini = teardown, .timeout = 60)
{
	uint64_t got[64], *want;
	size_t n_got, n_want;
	json_t *reqs;

	nt_fake_mode(&tg, "500");
	nt_notifier_start(&nt, &srv, "telegram", NULL, env);
	raise_errors(3);
	cr_assert(nt_wait(requests_at_least, (void *) 3, 10000),
	          "no retries against a failing Telegram");
	nt_fake_mode(&tg, "ok");
	cr_assert(nt_wait(all_accepted, NULL, 15000),
	          "not every alert was delivered after recovery");
	reqs = nt_requests(&tg);
	cr_assert_geq(count_status(reqs, 500), 3);
	n_got = accepted_seqs(reqs, got, 64);
	n_want = nt_outbox_seqs(adm, &want);
	/* In seq order, none lost, none twice. */
	cr_assert_eq(n_got, n_want);
	cr_assert_arr_eq(got, want, n_want * sizeof(*want));
	free(want);
	json_decref(reqs);
	finish();
}

Test(notify_telegram, killed_mid_send_repeats_only_the_one_in_flight,
     .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const flags[] = { "--telegram-timeout", "30s",
		                             NULL };
	uint64_t inflight[64], got[128], *want;
	size_t n_inflight, n_got, n_want;
	json_t *reqs;

	nt_fake_mode(&tg, "ok");
	nt_notifier_start(&nt, &srv, "telegram", flags, env);
	raise_errors(1);
	cr_assert(nt_wait(all_accepted, NULL, 10000));
	/* Telegram stops answering; the notifier sends and waits. */
	nt_fake_mode(&tg, "hang");
	raise_errors(3);
	cr_assert(nt_wait(requests_at_least, (void *) 2, 10000));
	nt_kill(&nt.pid);
	reqs = nt_requests(&tg);
	cr_assert_eq(json_array_size(reqs), 2);
	n_inflight =
	    nt_text_seqs(text_of(json_array_get(reqs, 1)), inflight, 64);
	cr_assert_geq(n_inflight, 1);
	json_decref(reqs);

	/* More alerts while it is dead, then a restart. */
	raise_errors(2);
	nt_fake_mode(&tg, "ok");
	nt_notifier_start(&nt, &srv, "telegram", flags, env);
	cr_assert(nt_wait(all_accepted, NULL, 15000));
	reqs = nt_requests(&tg);
	n_got = accepted_seqs(reqs, got, 128);
	n_want = nt_outbox_seqs(adm, &want);
	/* Everything once, in order; the only repeats are the alerts of
	 * the message in flight when the notifier was killed. */
	cr_assert_eq(n_got, n_want);
	cr_assert_arr_eq(got, want, n_want * sizeof(*want));
	for (size_t i = 0; i < n_inflight; i++) {
		cr_assert_eq(inflight[i], want[1 + i],
		             "the message in flight held seq %llu",
		             (unsigned long long) inflight[i]);
	}
	free(want);
	json_decref(reqs);
	finish();
}

Test(notify_telegram, waits_at_least_retry_after_on_429, .init = setup,
     .fini = teardown, .timeout = 60)
{
	json_t *reqs;
	double t429, t_next;

	nt_fake_mode(&tg, "429:2 ok");
	nt_notifier_start(&nt, &srv, "telegram", NULL, env);
	raise_errors(1);
	cr_assert(nt_wait(all_accepted, NULL, 15000));
	reqs = nt_requests(&tg);
	cr_assert_eq(json_array_size(reqs), 2);
	cr_assert_eq(json_integer_value(
	                 json_object_get(json_array_get(reqs, 0), "status")),
	             429);
	t429 = json_real_value(json_object_get(json_array_get(reqs, 0), "t"));
	t_next = json_real_value(json_object_get(json_array_get(reqs, 1), "t"));
	cr_assert_geq(t_next - t429, 2.0, "retried after %.3f s",
	              t_next - t429);
	json_decref(reqs);
	finish();
}

Test(notify_telegram, burst_of_50_is_coalesced_at_the_chat_rate, .init = setup,
     .fini = teardown, .timeout = 60)
{
	const char *names[50];
	char buf[50][16];
	int st[50];
	uint64_t got[128], *want;
	size_t n_got, n_want, i;
	json_t *reqs, *r;
	double prev = 0;

	for (int k = 0; k < 50; k++) {
		snprintf(buf[k], sizeof(buf[k]), "ACC_%03d", k + 1);
		names[k] = buf[k];
		st[k] = A(ACTIVE);
	}
	nt_send_accounts(robot, 50, names, st);
	nt_notifier_start(&nt, &srv, "telegram", NULL, env);
	harness_sleep_ms(300);
	for (int k = 0; k < 50; k++) {
		st[k] = A(ERROR);
	}
	nt_send_accounts(robot, 50, names, st); /* 50 alerts at once */
	cr_assert(nt_wait(all_accepted, NULL, 20000));
	reqs = nt_requests(&tg);
	n_got = accepted_seqs(reqs, got, 128);
	n_want = nt_outbox_seqs(adm, &want);
	/* 50 alerts, and perhaps R1's silence after them. */
	cr_assert_geq(n_want, 50);
	cr_assert_eq(n_got, n_want);
	cr_assert_arr_eq(got, want, n_want * sizeof(*want));
	cr_assert_lt(json_array_size(reqs), 10, "%zu messages for 50 alerts",
	             json_array_size(reqs));
	json_array_foreach(reqs, i, r)
	{
		double t = json_real_value(json_object_get(r, "t"));
		const char *text = text_of(r);
		/* Telegram counts characters; bytes are never fewer. */
		cr_assert_leq(strlen(text), 4096);
		if (i > 0) {
			cr_assert_geq(t - prev, 0.9,
			              "messages %zu and %zu %.3f s apart",
			              i - 1, i, t - prev);
		}
		prev = t;
	}
	free(want);
	json_decref(reqs);
	finish();
}

Test(notify_telegram, html_and_line_breaks_in_names_are_harmless, .init = setup,
     .fini = teardown, .timeout = 60)
{
	static const char evil[] = "ACC\r\nBcc: victim@evil.example\r\n"
	                           "<b>x</b>&amp;<a href=\"u\">";
	json_t *reqs, *r;
	const char *text = NULL;
	size_t i;

	cr_assert_leq(strlen(evil), 64);
	/* The server refuses such a name now; an older database has it. */
	nt_legacy_account_down(&srv, evil);
	nt_notifier_start(&nt, &srv, "telegram", NULL, env);
	cr_assert(nt_wait(all_accepted, NULL, 10000));
	reqs = nt_requests(&tg);
	/* Accepted as HTML the first time: the markup stayed valid. */
	cr_assert_eq(count_status(reqs, 200), json_array_size(reqs));
	json_array_foreach(reqs, i, r)
	{
		cr_assert_str_eq(json_string_value(json_object_get(
		                     json_object_get(r, "body"), "parse_mode")),
		                 "HTML");
		if (strstr(text_of(r), "ACC\\r\\n") != NULL) {
			text = text_of(r);
		}
	}
	cr_assert_not_null(text, "no message about the account");
	cr_assert(strstr(text, "ACC\\r\\nBcc: victim@evil.example\\r\\n"
	                       "&lt;b&gt;x&lt;/b&gt;&amp;amp;&lt;a href=&quot;"
	                       "u&quot;&gt;") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "<b>x</b>") == NULL, "%s", text);
	cr_assert(strstr(text, "<a ") == NULL, "%s", text);
	cr_assert(strchr(text, '\r') == NULL);
	json_decref(reqs);
	finish();
}

Test(notify_telegram, refused_html_is_sent_again_as_plain_text, .init = setup,
     .fini = teardown, .timeout = 60)
{
	json_t *reqs, *body;

	nt_fake_mode(&tg, "400html");
	nt_notifier_start(&nt, &srv, "telegram", NULL, env);
	raise_errors(1);
	cr_assert(nt_wait(all_accepted, NULL, 10000));
	reqs = nt_requests(&tg);
	cr_assert_eq(json_array_size(reqs), 2);
	body = json_object_get(json_array_get(reqs, 1), "body");
	cr_assert_null(json_object_get(body, "parse_mode"));
	cr_assert(strstr(text_of(json_array_get(reqs, 1)), "<b>") == NULL);
	cr_assert(strstr(text_of(json_array_get(reqs, 1)), "CRITICAL · ") !=
	          NULL);
	json_decref(reqs);
	finish();
}

/* Whether the server sees the notifier robot live with this health. */
static bool
health_is(int health)
{
	Hbmon__V1__SubjectRequest req = HBMON__V1__SUBJECT_REQUEST__INIT;
	Hbmon__V1__SubjectReply *s = NULL;
	struct rpc_status st;
	bool ok;

	req.subject = "notify-tg";
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/Subject", &req.base,
	                             &hbmon__v1__subject_reply__descriptor,
	                             (ProtobufCMessage **) &s, &st),
	             HBMON_OK);
	if (st.code != RPC_OK) {
		return false; /* not heard from yet */
	}
	ok = s->state->liveness == LV(OK) && (int) s->state->health == health;
	protobuf_c_message_free_unpacked(&s->base, NULL);
	return ok;
}

static bool
healthy(void *arg)
{
	(void) arg;
	return health_is(H(HEALTHY));
}

static bool
degraded(void *arg)
{
	(void) arg;
	return health_is(H(DEGRADED));
}

Test(notify_telegram, own_heartbeat_shows_config_errors_and_death,
     .init = setup, .fini = teardown, .timeout = 60)
{
	char secret_file[700], *log;
	uint64_t before, *seqs;
	size_t n;
	const char *flags[] = { "--robot",
		                "notify-tg",
		                "--secret-file",
		                secret_file,
		                "--server",
		                srv.listen,
		                "--heartbeat-interval",
		                "100ms",
		                "--degraded-after",
		                "2s",
		                NULL };

	snprintf(secret_file, sizeof(secret_file), "%s/secret", nt.dir);
	nt_write_file(secret_file, NT_SECRET "\n");
	nt_notifier_start(&nt, &srv, "telegram", flags, env);
	cr_assert(nt_wait(healthy, NULL, 10000),
	          "the notifier's heartbeat is not seen");

	/* The bot is blocked: a configuration error, reported at once. */
	nt_fake_mode(&tg, "403");
	raise_errors(1);
	cr_assert(nt_wait(degraded, NULL, 10000),
	          "a refused bot does not show as degraded");
	cr_assert_neq(
	    harness_wait_alert(adm, K(STATUS_CHANGED), "notify-tg", "", 5000),
	    0);
	log = harness_read_file(nt.log);
	cr_assert(strstr(log, "level=error msg=\"sink refused the alerts as "
	                      "misconfigured") != NULL,
	          "%s", log);
	cr_assert(strstr(log, "bot was blocked by the user") != NULL);
	free(log);

	/* Unblocked: what waited is delivered, health comes back. */
	nt_fake_mode(&tg, "ok");
	cr_assert(nt_wait(all_accepted, NULL, 15000));
	cr_assert(nt_wait(healthy, NULL, 10000));

	/* Dead: the server's own silence detection alerts on it (a new
	 * alert: not one from a beat that came late under load). */
	n = nt_outbox_seqs(adm, &seqs);
	before = n > 0 ? seqs[n - 1] : 0;
	free(seqs);
	nt_kill(&nt.pid);
	cr_assert_neq(nt_wait_alert_after(adm, before, K(HEARTBEAT_MISSED),
	                                  "notify-tg", 5000),
	              0, "a dead notifier was not alerted on");
	finish();
}
