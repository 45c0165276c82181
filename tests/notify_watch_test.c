/*
 * hbmon-notify watching its server (SPEC §3.6), end to end with the real
 * binaries: kill -9 of the server under a running notifier raises the
 * notifier's own SERVER_UNREACHABLE within server_timeout + 5 s (stdout
 * and the Telegram stand-in), it is resolved when the server returns and
 * the alerts raised meanwhile follow once, in order; a clean restart says
 * nothing; a restarted notifier does not repeat it; and the dead man's URL
 * is pinged only while the whole path is healthy.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/clock.h"
#include "hbmon/error.h"
#include "notify_support.h"

#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

#define TOKEN "123:watch-test-token"

/* Short enough for a test, long enough for a busy 2-core machine. */
#define TIMEOUT_MS 2000

static struct harness_server srv;
static struct nt_notifier nt;
static struct nt_fake tg;
static const char *const robots[] = { "R1", NULL };
/* Keepalives every 200 ms; intervals long enough that no robot alert
 * comes by itself during a test. */
static const char *const server_flags[] = { "--keepalive-interval", "200ms",
	                                    "--interval-max", "60s", NULL };

static void
setup(void)
{
	nt_server_start_with(&srv, robots, server_flags);
	nt_notifier_init(&nt);
}

static void
teardown(void)
{
	nt_kill_all();
	nt_notifier_fini(&nt);
	harness_server_fini(&srv);
	if (tg.dir[0] != '\0') {
		nt_fake_stop(&tg);
	}
}

static void
restart_server(void)
{
	cr_assert(harness_server_start(&srv, server_flags),
	          "server did not come back");
}

/* The stdout sink's JSON lines so far (a JSON array; decref). */
static json_t *
lines(void)
{
	return nt_out_lines(&nt);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

static int64_t
num(const json_t *o, const char *key)
{
	return (int64_t) json_integer_value(json_object_get(o, key));
}

/* Whether line j is the notifier's own SERVER_UNREACHABLE, firing. */
static bool
is_unreachable(const json_t *j)
{
	return strcmp(str(j, "kind"), "SERVER_UNREACHABLE") == 0 &&
	       strcmp(str(j, "state"), "firing") == 0;
}

/* Whether line j resolves SERVER_UNREACHABLE. */
static bool
is_back(const json_t *j)
{
	return strcmp(str(j, "kind"), "RECOVERED") == 0 &&
	       strcmp(str(json_object_get(j, "details"), "resolves"),
	              "SERVER_UNREACHABLE") == 0;
}

static size_t
count_lines(bool (*match)(const json_t *))
{
	json_t *all = lines();
	size_t n = 0, i;
	json_t *j;

	json_array_foreach(all, i, j)
	{
		n += match(j) ? 1 : 0;
	}
	json_decref(all);
	return n;
}

static bool
unreachable_seen(void *arg)
{
	(void) arg;
	return count_lines(is_unreachable) > 0;
}

static bool
back_seen(void *arg)
{
	(void) arg;
	return count_lines(is_back) > 0;
}

/*
 * Whether the notifier's contact state records the episode with no
 * notice left to deliver (the state file is replaced atomically).
 */
static bool
notice_recorded(void *arg)
{
	char path[700];
	char *text;
	bool yes;

	(void) arg;
	snprintf(path, sizeof(path), "%s/notify-stdout.contact", nt.dir);
	text = harness_read_file(path);
	yes = strstr(text, "\nepisode ") != NULL &&
	      strstr(text, "\npending ") == NULL;
	free(text);
	return yes;
}

/* Whether the notifier's log holds text. */
static bool
logged(void *arg)
{
	char *log = harness_read_file(nt.log);
	bool yes = strstr(log, arg) != NULL;

	free(log);
	return yes;
}

static void
start_stdout_notifier(void)
{
	const char *flags[] = { "--server-timeout", "2s", NULL };

	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	/* In contact: the first outbox answer has come. */
	cr_assert(nt_wait(logged, "hbmon-notify started", 10000));
	harness_sleep_ms(500);
}

/* Makes robot R1 raise two alerts (degraded, then healthy again). */
static void
raise_two_alerts(void)
{
	struct harness_robot r;

	harness_robot_init(&r, &srv, "R1", NT_SECRET, 0);
	r.health = H(HEALTHY);
	harness_robot_send_robot(&r);
	r.health = H(DEGRADED);
	harness_robot_send_robot(&r);
	r.health = H(HEALTHY);
	harness_robot_send_robot(&r);
	harness_robot_fini(&r);
}

TestSuite(notify_watch, .init = setup, .fini = teardown, .timeout = 120);

Test(notify_watch, kill9_raises_unreachable_then_back_then_the_missed_alerts)
{
	json_t *all, *j, *unreachable = NULL;
	struct rpc_client *adm;
	uint64_t *outbox, last_before = 0;
	size_t n_outbox, i, back_at = 0, n_back = 0, n_unreachable = 0;
	int64_t killed_at;

	start_stdout_notifier();
	harness_server_kill(&srv);
	killed_at = clock_mono_ms();
	cr_assert(nt_wait(unreachable_seen, NULL, TIMEOUT_MS + 5000),
	          "no SERVER_UNREACHABLE within server_timeout + 5 s");
	cr_assert_geq(clock_mono_ms() - killed_at, TIMEOUT_MS - 100,
	              "SERVER_UNREACHABLE before server_timeout");

	/* Hold the notifier while the server comes back and raises alerts,
	 * so that they are all raised while it has no contact. */
	kill(nt.pid, SIGSTOP);
	restart_server();
	raise_two_alerts();
	adm = harness_admin(&srv);
	n_outbox = nt_outbox_seqs(adm, &outbox);
	rpc_client_close(adm);
	cr_assert_geq(n_outbox, 3, "SERVER_RESTARTED and two status alerts");
	kill(nt.pid, SIGCONT);

	cr_assert(nt_wait(back_seen, NULL, 10000), "no all-clear");
	/* Then everything raised meanwhile, after the all-clear. */
	for (int t = 0; t < 100; t++) {
		size_t after = 0;
		all = lines();
		back_at = SIZE_MAX;
		json_array_foreach(all, i, j)
		{
			if (is_back(j)) {
				back_at = i;
			} else if (back_at != SIZE_MAX) {
				after++;
			}
		}
		json_decref(all);
		if (after >= n_outbox) {
			break;
		}
		harness_sleep_ms(100);
	}

	all = lines();
	json_array_foreach(all, i, j)
	{
		if (is_unreachable(j)) {
			n_unreachable++;
			unreachable = j;
		} else if (is_back(j)) {
			n_back++;
			back_at = i;
		} else if (n_back == 0 && num(j, "seq") > 0) {
			last_before = (uint64_t) num(j, "seq");
		}
	}
	cr_assert_eq(n_unreachable, 1);
	cr_assert_eq(n_back, 1);
	/* The usual fields, with what they mean for a notifier's alert. */
	cr_assert_eq(num(unreachable, "seq"), 0);
	cr_assert_str_eq(str(unreachable, "severity"), "critical");
	cr_assert_str_eq(str(unreachable, "robot"), "");
	cr_assert_str_eq(str(unreachable, "account"), "");
	cr_assert_str_eq(str(unreachable, "notifier"), "stdout");
	cr_assert_geq(num(unreachable, "notifier_seq"), 1);
	cr_assert(strstr(str(unreachable, "summary"),
	                 "lost contact with hbmon-server at ") != NULL,
	          "%s", str(unreachable, "summary"));
	cr_assert(strstr(str(unreachable, "summary"), srv.admin) != NULL, "%s",
	          str(unreachable, "summary"));
	j = json_array_get(all, back_at);
	cr_assert_str_eq(str(j, "state"), "resolved");
	cr_assert_gt(num(j, "notifier_seq"), num(unreachable, "notifier_seq"));
	cr_assert_str_eq(str(j, "dedupe_key"), str(unreachable, "dedupe_key"));
	{
		char want[128];
		snprintf(want, sizeof(want),
		         "%zu alerts raised meanwhile follow",
		         n_outbox - (size_t) last_before);
		cr_assert(strstr(str(j, "summary"), "is back after") != NULL &&
		              strstr(str(j, "summary"), want) != NULL,
		          "%s (want '%s')", str(j, "summary"), want);
	}
	/* Each alert raised meanwhile exactly once, in order, after it. */
	cr_assert_eq(json_array_size(all) - back_at - 1,
	             n_outbox - (size_t) last_before,
	             "extra or missing lines after the all-clear");
	for (size_t k = back_at + 1; k < json_array_size(all); k++) {
		cr_assert_eq((uint64_t) num(json_array_get(all, k), "seq"),
		             outbox[last_before + (k - back_at - 1)]);
	}
	/* The restart after kill -9 says it was unclean. */
	cr_assert_str_eq(str(json_array_get(all, back_at + 1), "kind"),
	                 "SERVER_RESTARTED");
	cr_assert_str_eq(str(json_array_get(all, back_at + 1), "severity"),
	                 "warning");
	json_decref(all);
	free(outbox);
	nt_notifier_stop(&nt);
}

Test(notify_watch, clean_restart_shorter_than_server_timeout_says_nothing)
{
	start_stdout_notifier();
	cr_assert_eq(harness_server_stop(&srv), 0);
	restart_server();
	/* Well past server_timeout since the stop. */
	harness_sleep_ms(TIMEOUT_MS + 2000);
	cr_assert_eq(count_lines(is_unreachable), 0);
	cr_assert_eq(count_lines(is_back), 0);
	nt_notifier_stop(&nt);
}

Test(notify_watch, restarted_notifier_does_not_repeat_it)
{
	start_stdout_notifier();
	harness_server_kill(&srv);
	cr_assert(nt_wait(unreachable_seen, NULL, TIMEOUT_MS + 5000));
	/* Delivery is recorded after the sink took the notice (a kill in
	 * between repeats it: at least once, never lost); wait for the
	 * record, then kill. */
	cr_assert(nt_wait(notice_recorded, NULL, 5000));
	/* Killed itself, and started again while the server is still
	 * away: the episode it already told of goes on silently. */
	nt_kill(&nt.pid);
	start_stdout_notifier();
	harness_sleep_ms(TIMEOUT_MS + 2000);
	cr_assert_eq(count_lines(is_unreachable), 1,
	             "a restarted notifier repeated SERVER_UNREACHABLE");
	restart_server();
	cr_assert(nt_wait(back_seen, NULL, 10000));
	harness_sleep_ms(500);
	cr_assert_eq(count_lines(is_back), 1);
	/* And a restart after the all-clear sends it again neither. */
	nt_notifier_stop(&nt);
	start_stdout_notifier();
	harness_sleep_ms(1000);
	cr_assert_eq(count_lines(is_unreachable), 1);
	cr_assert_eq(count_lines(is_back), 1);
	nt_notifier_stop(&nt);
}

/* ---- the Telegram stand-in ---- */

static void
start_telegram_notifier(const char *const *more)
{
	const char *env[] = { "HBMON_TELEGRAM_TOKEN=" TOKEN,
		              "HBMON_TELEGRAM_CHAT_ID=42", NULL };
	const char *flags[16] = { "--server-timeout", "2s", "--telegram-api",
		                  tg.url, NULL };
	int n = 4;

	for (int i = 0; more != NULL && more[i] != NULL && n < 14; i++) {
		flags[n++] = more[i];
	}
	flags[n] = NULL;
	nt_notifier_start(&nt, &srv, "telegram", flags, env);
	cr_assert(nt_wait(logged, "hbmon-notify started", 10000));
	harness_sleep_ms(500);
}

/* Telegram messages sent (status 200) whose text holds needle. */
static size_t
telegram_count(const char *needle)
{
	json_t *reqs = nt_requests(&tg), *r;
	size_t n = 0, i;

	json_array_foreach(reqs, i, r)
	{
		const char *text = json_string_value(
		    json_object_get(json_object_get(r, "body"), "text"));
		if (json_integer_value(json_object_get(r, "status")) == 200 &&
		    text != NULL && strstr(text, needle) != NULL) {
			n++;
		}
	}
	json_decref(reqs);
	return n;
}

static bool
telegram_has(void *needle)
{
	return telegram_count(needle) > 0;
}

Test(notify_watch, telegram_owner_hears_of_the_outage_and_the_return)
{
	nt_telegram_start(&tg, TOKEN);
	start_telegram_notifier(NULL);
	harness_server_kill(&srv);
	cr_assert(nt_wait(telegram_has, "lost contact with hbmon-server",
	                  TIMEOUT_MS + 5000),
	          "the owner was not told");
	cr_assert(telegram_count("#telegram-") >= 1,
	          "a notifier's alert is numbered by the notifier");
	restart_server();
	cr_assert(nt_wait(telegram_has, "is back after", 10000));
	/* The restart itself follows the all-clear. */
	cr_assert(nt_wait(telegram_has, "unclean stop", 10000));
	harness_sleep_ms(500);
	cr_assert_eq(telegram_count("lost contact with hbmon-server"), 1);
	cr_assert_eq(telegram_count("is back after"), 1);
	nt_notifier_stop(&nt);
}

/* ---- the dead man's switch ---- */

/* Pings (GETs of /ping/...) the stand-in recorded, with their times. */
static size_t
pings(double *t, size_t max)
{
	json_t *reqs = nt_requests(&tg), *r;
	size_t n = 0, i;

	json_array_foreach(reqs, i, r)
	{
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));
		if (m != NULL && strcmp(m, "GET") == 0 && p != NULL &&
		    strncmp(p, "/ping/", 6) == 0) {
			if (t != NULL && n < max) {
				t[n] = json_real_value(json_object_get(r, "t"));
			}
			n++;
		}
	}
	json_decref(reqs);
	return n;
}

static double
now_s(void)
{
	return (double) clock_wall_ms() / 1000.0;
}

Test(notify_watch, deadman_pings_only_while_the_whole_path_is_healthy)
{
	char url[256];
	const char *flags[] = { "--deadman-url", url, "--deadman-interval",
		                "1s", NULL };
	double t[512], killed, back;
	size_t before, n;

	nt_telegram_start(&tg, TOKEN);
	snprintf(url, sizeof(url), "%s/ping/check-uuid", tg.url);
	start_telegram_notifier(flags);
	harness_sleep_ms(3000);
	before = pings(NULL, 0);
	cr_assert_geq(before, 2, "no pings while healthy (%zu)", before);

	/* The server dies: no ping later than two intervals after. */
	harness_server_kill(&srv);
	killed = now_s();
	harness_sleep_ms(5000);
	n = pings(t, 512);
	for (size_t i = 0; i < n && i < 512; i++) {
		cr_assert_leq(t[i], killed + 2.0,
		              "pinged %.1f s after the server was killed",
		              t[i] - killed);
	}
	/* Back: pings resume. */
	restart_server();
	back = now_s();
	harness_sleep_ms(3000);
	n = pings(t, 512);
	cr_assert_geq(n, before + 1, "no pings after the server returned");
	cr_assert_gt(t[(n < 512 ? n : 512) - 1], back);

	/* The sink fails (Telegram answers 500) while an alert waits: no
	 * pings; then it works again: pings resume. */
	nt_fake_mode(&tg, "500");
	raise_two_alerts();
	cr_assert(nt_wait(logged, "send failed; will retry", 10000));
	harness_sleep_ms(1500); /* a ping in flight may still land */
	killed = now_s();
	harness_sleep_ms(3000);
	n = pings(t, 512);
	for (size_t i = 0; i < n && i < 512; i++) {
		cr_assert_leq(t[i], killed,
		              "pinged while the sink was failing");
	}
	nt_fake_mode(&tg, "ok");
	back = now_s();
	harness_sleep_ms(4000);
	n = pings(t, 512);
	cr_assert_gt(t[(n < 512 ? n : 512) - 1], back,
	             "no pings once the sink works again");
	nt_notifier_stop(&nt);
}
