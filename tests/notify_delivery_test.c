/*
 * hbmon-notify's delivery framework end to end, through the stdout sink
 * (one JSON line per alert): alerts raised while the notifier is stopped
 * are delivered when it starts, the queue holds at most queue_max alerts and
 * fetches the rest from the outbox, filters skip alerts while the cursor
 * moves past them, and first_run = new starts after the outbox's end.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common/words.h"
#include "hbmon/error.h"
#include "notify_support.h"

#define A(x) HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

static struct harness_server srv, fresh;
static struct nt_notifier nt;
static struct rpc_client *adm, *robot;
static const char *const robots[] = { "R1", NULL };

static void
setup(void)
{
	nt_server_start(&srv, robots);
	adm = harness_admin(&srv);
	robot = harness_client(srv.listen, "R1", NT_SECRET);
	nt_notifier_init(&nt);
}

static void
teardown(void)
{
	nt_kill_all();
	rpc_client_close(robot);
	rpc_client_close(adm);
	nt_notifier_fini(&nt);
	harness_server_fini(&srv);
	harness_server_fini(&fresh); /* a zeroed one is fine */
}

/* The seqs of the JSON lines the stdout sink wrote, in order. */
static size_t
delivered(uint64_t *seqs, size_t max)
{
	json_t *all = nt_out_lines(&nt), *j;
	size_t n = json_array_size(all), i;

	json_array_foreach(all, i, j)
	{
		if (i < max) {
			seqs[i] = (uint64_t) json_integer_value(
			    json_object_get(j, "seq"));
		}
	}
	json_decref(all);
	return n;
}

/* Whether the notifier wrote anything. */
static bool
delivered_any(void *arg)
{
	uint64_t got[8];

	(void) arg;
	return delivered(got, 8) > 0;
}

/* Whether the notifier wrote exactly the outbox, in order, once each. */
static bool
caught_up(void *arg)
{
	uint64_t got[512], *want;
	size_t n_got = delivered(got, 512);
	size_t n_want = nt_outbox_seqs(adm, &want);
	bool same = n_got == n_want && n_want > 0 &&
	            memcmp(got, want, n_want * sizeof(*want)) == 0;

	(void) arg;
	free(want);
	return same;
}

static void
set_all(int *statuses, size_t n, int status)
{
	for (size_t i = 0; i < n; i++) {
		statuses[i] = status;
	}
}

static const char *const acc[] = { "ACC_001", "ACC_002", "ACC_003", "ACC_004" };

Test(notify_delivery, alerts_raised_while_stopped_come_on_start, .init = setup,
     .fini = teardown, .timeout = 60)
{
	int st[4];
	uint64_t got[64];
	char *log;

	set_all(st, 4, A(ACTIVE));
	nt_send_accounts(robot, 4, acc, st);
	nt_notifier_start(&nt, &srv, "stdout", NULL, NULL);
	st[0] = A(ERROR);
	nt_send_accounts(robot, 4, acc, st);
	cr_assert(nt_wait(caught_up, NULL, 10000), "first alert not delivered");
	nt_notifier_stop(&nt);

	/* While it is stopped: more alerts, and the robot falls silent. */
	st[1] = A(ERROR);
	st[2] = A(EXPIRED);
	nt_send_accounts(robot, 4, acc, st);
	st[0] = A(ACTIVE);
	nt_send_accounts(robot, 4, acc, st);
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	cr_assert_eq(delivered(got, 64), 1);

	nt_notifier_start(&nt, &srv, "stdout", NULL, NULL);
	cr_assert(nt_wait(caught_up, NULL, 10000),
	          "alerts raised while stopped were not all delivered once, "
	          "in order");
	cr_assert_geq(delivered(got, 64), 5);
	log = harness_read_file(nt.log);
	cr_assert(strstr(log, "cursor=1 ") != NULL,
	          "the restart did not resume from the cursor:\n%s", log);
	free(log);
	nt_notifier_stop(&nt);
}

/* raised_at of every delivered line, checked against libc's offset of
 * zone at raised_at_ms. Returns how many lines there were. */
static size_t
check_zone(const char *zone)
{
	char *text = harness_read_file(nt.out);
	size_t n = 0;

	setenv("TZ", zone, 1);
	tzset();
	for (char *line = text, *next; *line != '\0'; line = next) {
		char want[16];
		const char *raised;
		struct tm tm;
		time_t t;
		json_t *j;

		if ((next = strchr(line, '\n')) == NULL) {
			break;
		}
		*next++ = '\0';
		cr_assert_not_null(j = json_loads(line, 0, NULL), "%s", line);
		raised = json_string_value(json_object_get(j, "raised_at"));
		t = (time_t) (json_integer_value(
		                  json_object_get(j, "raised_at_ms")) /
		              1000);
		localtime_r(&t, &tm);
		snprintf(want, sizeof(want), "%c%02ld:%02ld",
		         tm.tm_gmtoff < 0 ? '-' : '+',
		         labs(tm.tm_gmtoff) / 3600,
		         labs(tm.tm_gmtoff) / 60 % 60);
		cr_assert_not_null(raised);
		cr_assert(strcmp(raised + strlen(raised) - 6, want) == 0 ||
		              (tm.tm_gmtoff == 0 &&
		               raised[strlen(raised) - 1] == 'Z'),
		          "%s at %s: want %s", raised, zone, want);
		n++;
		json_decref(j);
	}
	free(text);
	unsetenv("TZ");
	return n;
}

Test(notify_delivery, times_are_in_the_named_zone, .init = setup,
     .fini = teardown, .timeout = 60)
{
	const char *flags[] = { "--tz", "Asia/Jakarta", NULL };
	int st[4];

	set_all(st, 4, A(ACTIVE));
	nt_send_accounts(robot, 4, acc, st);
	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	st[0] = A(ERROR);
	nt_send_accounts(robot, 4, acc, st);
	cr_assert(nt_wait(caught_up, NULL, 10000), "the alert did not come");
	cr_assert_geq(check_zone("Asia/Jakarta"), 1);
	nt_notifier_stop(&nt);
}

Test(notify_delivery, small_queue_fetches_the_rest_from_the_outbox,
     .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const flags[] = { "--queue-max", "10", NULL };
	const char *names[30];
	char buf[30][16];
	int st[30];

	for (int i = 0; i < 30; i++) {
		snprintf(buf[i], sizeof(buf[i]), "ACC_%03d", i + 1);
		names[i] = buf[i];
	}
	set_all(st, 30, A(ACTIVE));
	nt_send_accounts(robot, 30, names, st);
	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	harness_sleep_ms(300);
	/* 30 alerts in one go: PUB brings them all, 10 fit. */
	set_all(st, 30, A(ERROR));
	nt_send_accounts(robot, 30, names, st);
	set_all(st, 30, A(ACTIVE));
	nt_send_accounts(robot, 30, names, st);
	cr_assert(nt_wait(caught_up, NULL, 20000),
	          "not every alert was delivered exactly once in order");
	{
		uint64_t got[128];
		char *log = harness_read_file(nt.log);
		size_t dropped = 0;
		for (char *p = strstr(log, "alert not queued from PUB"); p;
		     p = strstr(p + 1, "alert not queued from PUB")) {
			dropped++;
		}
		cr_log_info("%zu PUB alerts left for the outbox", dropped);
		free(log);
		cr_assert_geq(delivered(got, 128), 60);
	}
	nt_notifier_stop(&nt);
}

Test(notify_delivery, filters_skip_alerts_and_the_cursor_passes_them,
     .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const flags[] = {
		"--first-run", "new",     "--min-severity",
		"critical",    "--kinds", "STATUS_CHANGED",
		NULL
	};
	Hbmon__V1__Alert **a;
	uint64_t got[64], expect[64], last;
	size_t n, n_expect = 0;
	int st[4];
	char path[700], *cursor;

	/* Before the first start: not delivered with first_run = new. */
	set_all(st, 4, A(ACTIVE));
	nt_send_accounts(robot, 4, acc, st);
	st[3] = A(ERROR);
	nt_send_accounts(robot, 4, acc, st);
	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	harness_sleep_ms(500);
	st[0] = A(ERROR);   /* critical STATUS_CHANGED: delivered */
	st[1] = A(EXPIRED); /* warning, no orders: filtered */
	nt_send_accounts(robot, 4, acc, st);
	st[0] = A(ACTIVE); /* all-clear of a delivered kind: delivered */
	nt_send_accounts(robot, 4, acc, st);
	/* Silence: a critical HEARTBEAT_MISSED, not a listed kind. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	harness_sleep_ms(1500);

	n = harness_alerts(adm, 0, &a);
	for (size_t i = 0; i < n; i++) {
		bool mine = strcmp(a[i]->account, "ACC_004") == 0 &&
		            a[i]->kind == K(STATUS_CHANGED);
		if (mine) {
			continue; /* raised before the first start */
		}
		if ((a[i]->kind == K(STATUS_CHANGED) && a[i]->severity == 3) ||
		    (a[i]->kind == K(RECOVERED) &&
		     a[i]->details->resolves == K(STATUS_CHANGED))) {
			expect[n_expect++] = a[i]->seq;
		}
	}
	last = a[n - 1]->seq;
	harness_alerts_free(a, n);
	cr_assert_eq(n_expect, 2);
	cr_assert_eq(delivered(got, 64), n_expect);
	cr_assert_arr_eq(got, expect, n_expect * sizeof(*got));

	/* The cursor went past the filtered alerts too: a restart sends
	 * nothing again. */
	nt_notifier_stop(&nt);
	snprintf(path, sizeof(path), "%s/notify-stdout.cursor", nt.dir);
	cursor = harness_read_file(path);
	cr_assert_eq(strtoull(cursor, NULL, 10), last, "cursor %s", cursor);
	free(cursor);
	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	harness_sleep_ms(1000);
	cr_assert_eq(delivered(got, 64), n_expect);
	nt_notifier_stop(&nt);
}

Test(notify_delivery, a_first_run_delivers_only_the_recent_past, .init = setup,
     .fini = teardown, .timeout = 60)
{
	/* A window that has closed by the time the notifier reads: nothing
	 * of the past; what comes later is delivered (first_run = recent is
	 * the default). */
	static const char *const flags[] = { "--first-run-window", "1ms",
		                             NULL };
	uint64_t got[64], *past;
	size_t n_past, n;
	int st[4];

	set_all(st, 4, A(ACTIVE));
	nt_send_accounts(robot, 4, acc, st);
	st[3] = A(ERROR);
	nt_send_accounts(robot, 4, acc, st);
	cr_assert_neq(
	    harness_wait_alert(adm, K(STATUS_CHANGED), "R1", "ACC_004", 5000),
	    0);
	harness_sleep_ms(500);
	n_past = nt_outbox_seqs(adm, &past);
	cr_assert_gt(n_past, 0);
	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	st[3] = A(ACTIVE);
	nt_send_accounts(robot, 4, acc, st);
	cr_assert_neq(
	    harness_wait_alert(adm, K(RECOVERED), "R1", "ACC_004", 5000), 0);
	cr_assert(nt_wait(delivered_any, NULL, 10000));
	harness_sleep_ms(1000);
	n = delivered(got, 64);
	for (size_t i = 0; i < n; i++) {
		cr_assert_gt(got[i], past[n_past - 1],
		             "seq %llu of the past was delivered",
		             (unsigned long long) got[i]);
	}
	free(past);
	nt_notifier_stop(&nt);

	/* A new notifier with the default window gets both. */
	nt_notifier_fini(&nt);
	nt_notifier_init(&nt);
	nt_notifier_start(&nt, &srv, "stdout", NULL, NULL);
	cr_assert(nt_wait(caught_up, NULL, 10000));
	nt_notifier_stop(&nt);
}

Test(notify_delivery, recovered_false_delivers_no_all_clears, .init = setup,
     .fini = teardown, .timeout = 60)
{
	static const char *const flags[] = { "--recovered=false", NULL };
	json_t *all, *j;
	size_t i;
	int st[4];

	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	set_all(st, 4, A(ACTIVE));
	nt_send_accounts(robot, 4, acc, st);
	st[0] = A(ERROR);
	nt_send_accounts(robot, 4, acc, st);
	st[0] = A(ACTIVE);
	nt_send_accounts(robot, 4, acc, st);
	cr_assert_neq(
	    harness_wait_alert(adm, K(RECOVERED), "R1", "ACC_001", 5000), 0);
	cr_assert(nt_wait(delivered_any, NULL, 10000));
	harness_sleep_ms(1000);
	nt_notifier_stop(&nt);
	all = nt_out_lines(&nt);
	cr_assert_gt(json_array_size(all), 0);
	json_array_foreach(all, i, j)
	{
		cr_assert_str_neq(json_string_value(json_object_get(j, "kind")),
		                  "RECOVERED", "%s", harness_read_file(nt.out));
	}
	json_decref(all);
}

Test(notify_delivery, bad_settings_stop_start_up_with_a_reason, .init = setup,
     .fini = teardown, .timeout = 30)
{
	const char *bin = harness_bin("src/notify/hbmon-notify");
	const char *no_sink[] = { bin, NULL };
	const char *bad_kind[] = { bin,       "--sink",    "stdout",
		                   "--kinds", "HEARTBEAT", NULL };
	const char *argv_secret[] = { bin,        "--sink",
		                      "telegram", "--telegram-token",
		                      "123:abc",  NULL };
	char *err = NULL;
	int rc;

	rc = harness_run(no_sink, NULL, NULL, &err, 5000);
	cr_assert_eq(WEXITSTATUS(rc), 2);
	cr_assert(strstr(err, "--sink: missing") != NULL, "%s", err);
	free(err);
	rc = harness_run(bad_kind, NULL, NULL, &err, 5000);
	cr_assert_eq(WEXITSTATUS(rc), 2);
	cr_assert(strstr(err, "'HEARTBEAT' is not an alert kind") != NULL, "%s",
	          err);
	free(err);
	/* There is no flag for a secret. */
	rc = harness_run(argv_secret, NULL, NULL, &err, 5000);
	cr_assert_eq(WEXITSTATUS(rc), 2);
	cr_assert(strstr(err, "telegram-token") != NULL, "%s", err);
	cr_assert(strstr(err, "123:abc") == NULL, "secret echoed: %s", err);
	free(err);
}

Test(notify_delivery, a_replaced_server_database_is_delivered_from_seq_1,
     .init = setup, .fini = teardown, .timeout = 60)
{
	struct rpc_client *fresh_robot, *old_adm = adm;
	uint64_t got[64];
	int st[4];
	char *log;

	/* Five alerts delivered from the first server. */
	set_all(st, 4, A(ACTIVE));
	nt_send_accounts(robot, 4, acc, st);
	nt_notifier_start(&nt, &srv, "stdout", NULL, NULL);
	set_all(st, 4, A(ERROR));
	nt_send_accounts(robot, 4, acc, st);
	st[0] = A(ACTIVE);
	nt_send_accounts(robot, 4, acc, st);
	cr_assert(nt_wait(caught_up, NULL, 10000));
	nt_notifier_stop(&nt);
	cr_assert_eq(delivered(got, 64), 5);

	/* A new server with an empty database, same notifier state. */
	nt_server_start(&fresh, robots);
	adm = harness_admin(&fresh);
	fresh_robot = harness_client(fresh.listen, "R1", NT_SECRET);
	set_all(st, 4, A(ACTIVE));
	nt_send_accounts(fresh_robot, 4, acc, st);
	st[3] = A(ERROR);
	nt_send_accounts(fresh_robot, 4, acc, st);
	nt_write_file(nt.out, ""); /* count only what comes now */
	nt_notifier_start(&nt, &fresh, "stdout", NULL, NULL);
	cr_assert(nt_wait(caught_up, NULL, 10000),
	          "the new server's alerts were not delivered");
	delivered(got, 64);
	cr_assert_eq(got[0], 1);
	log = harness_read_file(nt.log);
	cr_assert(strstr(log, "the server's database was replaced") != NULL,
	          "%s", log);
	free(log);
	nt_notifier_stop(&nt);
	rpc_client_close(fresh_robot);
	rpc_client_close(adm);
	adm = old_adm;
}
