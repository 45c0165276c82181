/*
 * The alert engine end to end (SPEC §3.2-§3.4): the real hbmon-server with
 * short intervals (interval_max = 300 ms, miss_threshold = 2, so a silent
 * subject is down 900 ms after its last heartbeat), real robots' requests
 * and the outbox read back through the Admin service.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"

#define H(x)   HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x)   HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SEV(x) HBMON__V1__SEVERITY__SEVERITY_##x
#define ST(x)  HBMON__V1__ALERT_STATE__ALERT_STATE_##x
#define LV(x)  HBMON__V1__LIVENESS__LIVENESS_##x

#define I_MS   300 /* interval_max in these tests */
#define SECRET "hbs_alerts-test-secret"

static struct harness_server srv;
static struct rpc_client *adm;

static void
start_with(const char *const *more)
{
	const char *args[32];

	harness_args(args, 32, harness_quick_alerts, more);
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	harness_robot_add(&srv, "R2", SECRET);
	cr_assert(harness_server_start(&srv, args), "server did not start");
	adm = harness_admin(&srv);
}

static void
stop(void)
{
	rpc_client_close(adm);
	adm = NULL;
	harness_server_fini(&srv);
}

/* Keeps r on schedule (every 100 ms) for ms. */
static void
keep_alive(struct harness_robot *r, int ms)
{
	for (int t = 0; t < ms; t += 100) {
		harness_robot_send(r);
		harness_sleep_ms(100);
	}
}

static Hbmon__V1__Liveness
liveness(const char *subject)
{
	Hbmon__V1__SubjectReply *s = harness_subject(adm, subject);
	Hbmon__V1__Liveness l = s->state->liveness;
	protobuf_c_message_free_unpacked(&s->base, NULL);
	return l;
}

static size_t
count(int kind, int state)
{
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(adm, 0, &a);
	size_t c = harness_count_kind(a, n, kind, state);
	harness_alerts_free(a, n);
	return c;
}

Test(alerts, subject_on_schedule_never_alerts, .init = NULL, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 3);
	keep_alive(&r, 3600); /* 12 intervals */
	cr_assert_eq(count(0, 0), 0, "alerts for a robot on schedule");
	cr_assert_eq(liveness("R1"), LV(OK));
	cr_assert_eq(liveness("R1/ACC_002"), LV(OK));
	harness_robot_fini(&r);
}

Test(alerts, silence_is_late_then_one_alert_then_recovery, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *missed, *back;
	int64_t before, after;
	size_t n;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 3);
	r.open_orders[1] = 4;
	keep_alive(&r, 500);
	before = clock_wall_ms();
	harness_robot_send(&r);
	after = clock_wall_ms();

	/* One interval and a half later: late, not down, no alert. */
	harness_sleep_ms(I_MS + I_MS / 2);
	cr_assert_eq(liveness("R1"), LV(LATE));
	cr_assert_eq(count(K(HEARTBEAT_MISSED), 0), 0);

	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0,
	    "no alert for a silent robot");
	/* More intervals pass: still exactly one alert, for the robot; its
	 * accounts are rolled up into it. */
	harness_sleep_ms(4 * I_MS);
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(harness_count_kind(a, n, K(HEARTBEAT_MISSED), 0), 1,
	             "one alert, not one per tick or per account");
	missed = harness_find_kind(a, n, K(HEARTBEAT_MISSED));
	cr_assert_str_eq(missed->robot, "R1");
	cr_assert_str_eq(missed->account, "");
	cr_assert_eq(missed->severity, SEV(CRITICAL));
	cr_assert_eq(missed->state, ST(FIRING));
	/* Fired when the miss count passed the threshold: 3 whole intervals
	 * after the last heartbeat, not before, and promptly. */
	cr_assert_geq(missed->raised_at_ms, before + 3 * I_MS);
	cr_assert_leq(missed->raised_at_ms, after + 3 * I_MS + 1000);
	cr_assert_eq(missed->details->misses, 3, "%s", missed->summary);
	cr_assert_eq(missed->details->n_affected, 3);
	/* Where it reported from, and what to do about it. */
	cr_assert_str_eq(missed->details->host, "ipc");
	cr_assert_eq(missed->details->n_hints, 2);
	cr_assert_str_eq(missed->details->hints[1], "hbctl pause R1 --for 1h");
	cr_assert(strstr(missed->summary, "robot R1 silent for") != NULL, "%s",
	          missed->summary);
	cr_assert(strstr(missed->summary, "3 heartbeats missed") != NULL, "%s",
	          missed->summary);
	cr_assert(strstr(missed->summary,
	                 "3 accounts affected, 1 with open orders") != NULL,
	          "%s", missed->summary);
	harness_alerts_free(a, n);

	/* Back: the episode resolves with how long and how many. */
	harness_robot_send(&r);
	n = harness_alerts(adm, 0, &a);
	back = harness_find_kind(a, n, K(RECOVERED));
	cr_assert_not_null(back, "no recovery");
	cr_assert_eq(back->state, ST(RESOLVED));
	cr_assert_eq(back->details->resolves, K(HEARTBEAT_MISSED));
	cr_assert_geq(back->details->duration_ms, 7 * I_MS);
	cr_assert_geq(back->details->misses, 7);
	cr_assert(strstr(back->summary, "robot R1 is back after") != NULL, "%s",
	          back->summary);
	missed = harness_find_kind(a, n, K(HEARTBEAT_MISSED));
	cr_assert_str_eq(back->dedupe_key, missed->dedupe_key);
	harness_alerts_free(a, n);
	cr_assert_eq(liveness("R1"), LV(OK));
	harness_robot_fini(&r);
}

Test(alerts, down_robot_with_many_accounts_is_one_alert, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *missed;
	size_t n;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 40);
	for (int i = 0; i < 40; i += 4) {
		r.open_orders[i] = 1;
	}
	keep_alive(&r, 400);
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	harness_sleep_ms(3 * I_MS);
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(n, 1, "%zu alerts for one robot down", n);
	missed = a[0];
	cr_assert_eq(missed->details->n_affected, 40);
	cr_assert(strstr(missed->summary, "40 accounts affected, 10 with open "
	                                  "orders") != NULL,
	          "%s", missed->summary);
	harness_alerts_free(a, n);
	harness_robot_fini(&r);
}

/* Notices of kind about R1/account ("" for the robot). */
static size_t
notices(int kind, const char *account)
{
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(adm, 0, &a), c = 0;

	for (size_t i = 0; i < n; i++) {
		if ((int) a[i]->kind == kind &&
		    strcmp(a[i]->account, account) == 0) {
			c++;
		}
	}
	harness_alerts_free(a, n);
	return c;
}

Test(alerts, while_a_robot_is_down_only_its_alert_repeats, .fini = stop,
     .timeout = 60)
{
	const char *more[] = { "--repeat-interval", "400ms", NULL };
	struct harness_robot r;
	size_t silent, expired, mismatch;

	start_with(more);
	harness_robot_init(&r, &srv, "R1", SECRET, 2);
	keep_alive(&r, 400);
	/* ACC_001's session expires, ACC_002 falls silent (the robot still
	 * counts it, but ACC_002's own alert says so: no ACCOUNT_MISMATCH
	 * besides): each is alerted and repeated on its own while the robot
	 * reports. */
	r.status[0] = A(EXPIRED);
	r.session_valid[0] = false;
	r.n_accounts = 1;
	for (int t = 0;
	     t < 5000 && notices(K(HEARTBEAT_MISSED), "ACC_002") == 0;
	     t += 100) {
		harness_robot_send(&r);
		harness_sleep_ms(100);
	}
	keep_alive(&r, 1200);
	cr_assert_geq(notices(K(HEARTBEAT_MISSED), "ACC_002"), 2);
	cr_assert_geq(notices(K(STATUS_CHANGED), "ACC_001"), 2);
	cr_assert_eq(notices(K(ACCOUNT_MISMATCH), ""), 0,
	             "one silent account, one alert");

	/* Then the whole robot goes: its alert, which lists both accounts,
	 * is the one that repeats. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	silent = notices(K(HEARTBEAT_MISSED), "ACC_002");
	expired = notices(K(STATUS_CHANGED), "ACC_001");
	mismatch = notices(K(ACCOUNT_MISMATCH), "");
	harness_sleep_ms(1500); /* about three repeats */
	cr_assert_geq(notices(K(HEARTBEAT_MISSED), ""), 3);
	cr_assert_eq(notices(K(HEARTBEAT_MISSED), "ACC_002"), silent,
	             "ACC_002 repeated while its robot was down");
	cr_assert_eq(notices(K(STATUS_CHANGED), "ACC_001"), expired,
	             "ACC_001 repeated while its robot was down");
	cr_assert_eq(notices(K(ACCOUNT_MISMATCH), ""), mismatch,
	             "the mismatch repeated while the robot was down");

	/* Back with ACC_001 still expired and without ACC_002: their own
	 * repeats resume. */
	keep_alive(&r, 1200);
	cr_assert_gt(notices(K(HEARTBEAT_MISSED), "ACC_002"), silent);
	cr_assert_gt(notices(K(STATUS_CHANGED), "ACC_001"), expired);
	harness_robot_fini(&r);
}

Test(alerts, silent_account_of_a_live_robot_alerts_on_its_own, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *missed;
	size_t n;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 3);
	r.open_orders[2] = 2;
	keep_alive(&r, 400);
	/* ACC_003 stops reporting; the robot and the others carry on. */
	r.n_accounts = 2;
	for (int t = 0; t < 2000; t += 100) {
		harness_robot_send(&r);
		harness_sleep_ms(100);
	}
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(harness_count_kind(a, n, K(HEARTBEAT_MISSED), 0), 1);
	missed = harness_find_kind(a, n, K(HEARTBEAT_MISSED));
	cr_assert_str_eq(missed->account, "ACC_003");
	/* Exposure: open orders make a silent account critical. */
	cr_assert_eq(missed->severity, SEV(CRITICAL));
	cr_assert(strstr(missed->summary, "account R1/ACC_003 silent for") !=
	              NULL,
	          "%s", missed->summary);
	cr_assert(strstr(missed->summary, "2 open orders") != NULL, "%s",
	          missed->summary);
	harness_alerts_free(a, n);
	harness_robot_fini(&r);
}

Test(alerts, repeats_until_acknowledged, .fini = stop, .timeout = 60)
{
	const char *more[] = { "--repeat-interval", "400ms", NULL };
	Hbmon__V1__AckRequest ack = HBMON__V1__ACK_REQUEST__INIT;
	struct harness_robot r;
	struct rpc_status st;
	Hbmon__V1__Alert **a;
	uint64_t first;
	size_t n, repeats;

	start_with(more);
	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	keep_alive(&r, 300);
	first = harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000);
	cr_assert_neq(first, 0);
	harness_sleep_ms(1300); /* about three repeats */
	n = harness_alerts(adm, 0, &a);
	repeats = harness_count_kind(a, n, K(HEARTBEAT_MISSED), ST(FIRING));
	cr_assert_geq(repeats, 3, "%zu notices", repeats);
	cr_assert_leq(repeats, 5, "%zu notices", repeats);
	for (size_t i = 1; i < n; i++) {
		cr_assert_str_eq(a[i]->dedupe_key, a[0]->dedupe_key);
		cr_assert_eq(a[i]->repeat, i);
		cr_assert(strstr(a[i]->summary, "still silent") != NULL, "%s",
		          a[i]->summary);
	}
	harness_alerts_free(a, n);

	/* Acknowledged (through any alert of the episode): no more. */
	ack.seq = first;
	ack.by = "owner";
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/Ack", &ack.base,
	                             NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	repeats = count(K(HEARTBEAT_MISSED), ST(FIRING));
	harness_sleep_ms(1300);
	cr_assert_eq(count(K(HEARTBEAT_MISSED), ST(FIRING)), repeats,
	             "repeats after ack");
	/* Acking an unknown alert says so. */
	ack.seq = 999999;
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/Ack", &ack.base,
	                             NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_NOT_FOUND, "%s", st.message);
	/* Recovery still resolves an acknowledged episode. */
	harness_robot_send(&r);
	cr_assert_eq(count(K(RECOVERED), ST(RESOLVED)), 1);
	harness_robot_fini(&r);
}

static void
pause_for(const char *subject, int64_t ms)
{
	Hbmon__V1__PauseRequest p = HBMON__V1__PAUSE_REQUEST__INIT;
	struct rpc_status st;

	p.subject = (char *) subject;
	p.until_ms = clock_wall_ms() + ms;
	p.reason = "maintenance";
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/Pause", &p.base,
	                             NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
}

Test(alerts, pause_silences_and_expires_by_itself, .fini = stop, .timeout = 60)
{
	struct harness_robot r;
	int64_t paused_until;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 2);
	keep_alive(&r, 300);
	pause_for("R1", 2500);
	paused_until = clock_wall_ms() + 2500;
	cr_assert_eq(liveness("R1"), LV(PAUSED));
	/* Silent through the whole pause: nothing is said. */
	harness_sleep_ms(2000);
	cr_assert_eq(count(0, 0), 0, "alert during a pause");
	/* The pause ends by itself; still silent, so now it is said. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0,
	    "no alert after the pause ended");
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		cr_assert_geq(a[0]->raised_at_ms, paused_until - 50);
		cr_assert_eq(harness_count_kind(a, n, K(HEARTBEAT_MISSED), 0),
		             1, "the paused robot's accounts stay rolled up");
		harness_alerts_free(a, n);
	}
	harness_robot_fini(&r);
}

Test(alerts, resume_ends_a_pause_early, .fini = stop, .timeout = 60)
{
	Hbmon__V1__ResumeRequest res = HBMON__V1__RESUME_REQUEST__INIT;
	struct harness_robot r;
	struct rpc_status st;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	keep_alive(&r, 300);
	pause_for("R1", 3600 * 1000);
	harness_sleep_ms(1500);
	cr_assert_eq(count(0, 0), 0);
	res.subject = "R1";
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/Resume", &res.base,
	                             NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 3000), 0);
	/* Unknown subjects and past times are refused with a reason. */
	res.subject = "NOPE";
	rpc_client_call(adm, "/hbmon.v1.Admin/Resume", &res.base, NULL, NULL,
	                &st);
	cr_assert_eq(st.code, RPC_NOT_FOUND, "%s", st.message);
	harness_robot_fini(&r);
}

/* The newest alert, which must be of kind and severity. */
static void
expect_last(int kind, int severity, int state, const char *account,
            const char *phrase)
{
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(adm, 0, &a);
	Hbmon__V1__Alert *last;

	cr_assert_gt(n, 0, "no alert, wanted %d", kind);
	last = a[n - 1];
	cr_assert_eq(last->kind, kind, "kind %d, wanted %d: %s", last->kind,
	             kind, last->summary);
	cr_assert_eq(last->severity, severity, "severity of: %s",
	             last->summary);
	cr_assert_eq(last->state, state, "state of: %s", last->summary);
	cr_assert_str_eq(last->account, account);
	cr_assert(strstr(last->summary, phrase) != NULL, "'%s' lacks '%s'",
	          last->summary, phrase);
	harness_alerts_free(a, n);
}

Test(alerts, every_reported_state_change_raises_its_alert, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 2);
	harness_robot_send(&r);
	cr_assert_eq(count(0, 0), 0);

	r.health = H(DEGRADED);
	harness_robot_send(&r);
	expect_last(K(STATUS_CHANGED), SEV(WARNING), ST(FIRING), "",
	            "robot R1 is degraded");
	r.health = H(UNHEALTHY);
	harness_robot_send(&r);
	expect_last(K(STATUS_CHANGED), SEV(CRITICAL), ST(FIRING), "",
	            "robot R1 is now unhealthy (was degraded)");
	r.health = H(HEALTHY);
	harness_robot_send(&r);
	expect_last(K(RECOVERED), SEV(INFO), ST(RESOLVED), "",
	            "robot R1 is healthy again");
	/* healthy -> unhealthy is not in the diagram: flagged as well. */
	r.health = H(UNHEALTHY);
	harness_robot_send(&r);
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		cr_assert_eq(harness_count_kind(a, n, K(INVALID_TRANSITION), 0),
		             1);
		Hbmon__V1__Alert *it =
		    harness_find_kind(a, n, K(INVALID_TRANSITION));
		cr_assert_eq(it->severity, SEV(WARNING));
		cr_assert(strstr(it->summary, "healthy -> unhealthy") != NULL,
		          "%s", it->summary);
		harness_alerts_free(a, n);
	}
	r.health = H(HEALTHY);
	harness_robot_send(&r);

	/* Account expired with nothing in the market: a warning. */
	r.status[0] = A(EXPIRED);
	r.session_valid[0] = false;
	harness_robot_send(&r);
	expect_last(K(STATUS_CHANGED), SEV(WARNING), ST(FIRING), "ACC_001",
	            "session expired: needs re-login");
	r.status[0] = A(ACTIVE);
	r.session_valid[0] = true;
	harness_robot_send(&r);
	expect_last(K(RECOVERED), SEV(INFO), ST(RESOLVED), "ACC_001",
	            "is active again (it was expired for");
	/* Expired with open orders: critical. */
	r.status[0] = A(EXPIRED);
	r.session_valid[0] = false;
	r.open_orders[0] = 3;
	harness_robot_send(&r);
	expect_last(K(STATUS_CHANGED), SEV(CRITICAL), ST(FIRING), "ACC_001",
	            "3 open orders");
	/* Account error: critical. */
	r.status[1] = A(ERROR);
	harness_robot_send(&r);
	expect_last(K(STATUS_CHANGED), SEV(CRITICAL), ST(FIRING), "ACC_002",
	            "in error");
	r.status[1] = A(ACTIVE);
	harness_robot_send(&r);
	expect_last(K(RECOVERED), SEV(INFO), ST(RESOLVED), "ACC_002",
	            "is active again");
	harness_robot_fini(&r);
}

/* The timestamp in an alert's details.last_payload, or "" (malloc'd). */
static char *
payload_timestamp(const Hbmon__V1__Alert *a)
{
	const char *p = a->details != NULL && a->details->last_payload != NULL
	                    ? strstr(a->details->last_payload, "\"timestamp\":")
	                    : NULL;
	const char *q;

	if (p == NULL || (p = strchr(p + 12, '"')) == NULL ||
	    (q = strchr(p + 1, '"')) == NULL) {
		return strdup("");
	}
	return strndup(p + 1, (size_t) (q - p - 1));
}

Test(alerts, last_payload_carries_the_heartbeats_own_timestamp, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *it;
	size_t n;
	char *ts;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	harness_robot_send(&r);
	harness_sleep_ms(50);
	/* The alert comes with the very heartbeat that turned it bad,
	 * before that subject's latest state is written anywhere. */
	r.status[0] = A(ERROR);
	harness_robot_send(&r);
	expect_last(K(STATUS_CHANGED), SEV(CRITICAL), ST(FIRING), "ACC_001",
	            "in error");
	n = harness_alerts(adm, 0, &a);
	it = harness_find_kind(a, n, K(STATUS_CHANGED));
	ts = payload_timestamp(it);
	cr_assert_str_eq(ts, r.last_timestamp, "last_payload: %s",
	                 it->details->last_payload);
	free(ts);
	harness_alerts_free(a, n);

	/* And a silence alert names the last heartbeat heard. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	n = harness_alerts(adm, 0, &a);
	it = harness_find_kind(a, n, K(HEARTBEAT_MISSED));
	ts = payload_timestamp(it);
	cr_assert_str_eq(ts, r.last_timestamp, "last_payload: %s",
	                 it->details->last_payload);
	free(ts);
	harness_alerts_free(a, n);
	harness_robot_fini(&r);
}

Test(alerts, clock_skew_raises_once_and_clears, .fini = stop, .timeout = 60)
{
	struct harness_robot r;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	r.skew_ms = 90 * 1000;
	harness_robot_send(&r);
	harness_robot_send(&r);
	harness_robot_send(&r);
	expect_last(
	    K(CLOCK_SKEW), SEV(WARNING), ST(FIRING), "",
	    "robot R1 clock is 1 min 30 s ahead of the server's (limit 30 s)");
	cr_assert_eq(count(K(CLOCK_SKEW), 0), 1, "raised more than once");
	r.skew_ms = 0;
	harness_robot_send(&r);
	expect_last(K(RECOVERED), SEV(INFO), ST(RESOLVED), "",
	            "clock is back within 30 s");
	harness_robot_fini(&r);
}

Test(alerts, account_mismatch_lasting_two_intervals, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *mm;
	size_t n;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 3);
	r.active_accounts = 5; /* claims two more than it reports */
	harness_robot_send(&r);
	harness_sleep_ms(I_MS);
	harness_robot_send(&r);
	cr_assert_eq(count(K(ACCOUNT_MISMATCH), 0), 0, "raised too early");
	keep_alive(&r, 3 * I_MS);
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(harness_count_kind(a, n, K(ACCOUNT_MISMATCH), 0), 1);
	mm = harness_find_kind(a, n, K(ACCOUNT_MISMATCH));
	cr_assert(strstr(mm->summary, "reports 5 active accounts but 3 were "
	                              "heard from; 2 never reported") != NULL,
	          "%s", mm->summary);
	harness_alerts_free(a, n);
	r.active_accounts = 3;
	harness_robot_send(&r);
	expect_last(K(RECOVERED), SEV(INFO), ST(RESOLVED), "",
	            "active accounts match again (3)");
	harness_robot_fini(&r);
}

Test(alerts, restart_grants_grace_and_says_so_once, .fini = stop, .timeout = 90)
{
	const char *const *args = harness_quick_alerts;
	struct harness_robot r1, r2;
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *restarted, *missed;
	int64_t restart_at;
	size_t n;

	start_with(NULL);
	harness_robot_init(&r1, &srv, "R1", SECRET, 2);
	harness_robot_init(&r2, &srv, "R2", SECRET, 2);
	for (int t = 0; t < 500; t += 100) {
		harness_robot_send(&r1);
		harness_robot_send(&r2);
		harness_sleep_ms(100);
	}
	/* The server dies while everyone is healthy and stays away for
	 * longer than the threshold. */
	harness_server_kill(&srv);
	harness_robot_fini(&r1);
	harness_robot_fini(&r2);
	rpc_client_close(adm);
	harness_sleep_ms(2000);
	restart_at = clock_wall_ms();
	cr_assert(harness_server_start(&srv, args));
	adm = harness_admin(&srv);
	harness_robot_init(&r1, &srv, "R1", SECRET, 2);
	/* R1 is back at once; R2 stays silent. */
	keep_alive(&r1, 600);
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(harness_count_kind(a, n, K(HEARTBEAT_MISSED), 0), 0,
	             "alert storm after the restart");
	cr_assert_eq(harness_count_kind(a, n, K(SERVER_RESTARTED), 0), 1);
	restarted = harness_find_kind(a, n, K(SERVER_RESTARTED));
	/* kill -9 is an unclean stop: at least a warning, and it says so. */
	cr_assert_eq(restarted->severity, SEV(WARNING));
	cr_assert(restarted->details->unclean_stop);
	cr_assert_geq(restarted->details->outage_ms, 1900);
	cr_assert(strstr(restarted->summary,
	                 "restarted after an unclean stop") != NULL,
	          "%s", restarted->summary);
	harness_alerts_free(a, n);
	/* R2, silent, is alerted after the grace: one interval from start
	 * before misses count, then the threshold. */
	for (int t = 0; t < 2500; t += 100) {
		harness_robot_send(&r1);
		harness_sleep_ms(100);
	}
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(harness_count_kind(a, n, K(HEARTBEAT_MISSED), 0), 1);
	missed = harness_find_kind(a, n, K(HEARTBEAT_MISSED));
	cr_assert_str_eq(missed->robot, "R2");
	cr_assert_geq(missed->raised_at_ms, restart_at + 3 * I_MS);
	cr_assert_eq(harness_count_kind(a, n, K(SERVER_RESTARTED), 0), 1);
	harness_alerts_free(a, n);
	harness_robot_fini(&r1);
}

/* The newest SERVER_RESTARTED in the outbox (asserted present); free a. */
static Hbmon__V1__Alert *
last_restart(Hbmon__V1__Alert ***a, size_t *n)
{
	Hbmon__V1__Alert *found = NULL;

	*n = harness_alerts(adm, 0, a);
	for (size_t i = 0; i < *n; i++) {
		if ((*a)[i]->kind == K(SERVER_RESTARTED)) {
			found = (*a)[i];
		}
	}
	cr_assert_not_null(found, "no SERVER_RESTARTED");
	return found;
}

Test(alerts, clean_restart_is_info_unless_away_longer_than_interval_max,
     .fini = stop, .timeout = 90)
{
	const char *more[] = { "--interval-max", "2s", NULL };
	Hbmon__V1__Alert **a, *restarted;
	size_t n;

	start_with(more);
	/* A clean stop (SIGTERM) and a quick return: a notice, no more. */
	cr_assert_eq(harness_server_stop(&srv), 0);
	rpc_client_close(adm);
	cr_assert(harness_server_start(&srv, more));
	adm = harness_admin(&srv);
	restarted = last_restart(&a, &n);
	cr_assert_eq(restarted->severity, SEV(INFO), "%s", restarted->summary);
	cr_assert(!restarted->details->unclean_stop);
	cr_assert(strstr(restarted->summary, "unclean") == NULL, "%s",
	          restarted->summary);
	harness_alerts_free(a, n);

	/* A clean stop, but away longer than interval_max: robots went
	 * unwatched for more than an interval, which is worth a warning. */
	cr_assert_eq(harness_server_stop(&srv), 0);
	rpc_client_close(adm);
	harness_sleep_ms(2600);
	cr_assert(harness_server_start(&srv, more));
	adm = harness_admin(&srv);
	restarted = last_restart(&a, &n);
	cr_assert_eq(restarted->severity, SEV(WARNING), "%s",
	             restarted->summary);
	cr_assert(!restarted->details->unclean_stop);
	cr_assert(strstr(restarted->summary, "longer than interval_max") !=
	              NULL,
	          "%s", restarted->summary);
	harness_alerts_free(a, n);

	/* kill -9 right after a start: unclean, however short. */
	harness_server_kill(&srv);
	rpc_client_close(adm);
	cr_assert(harness_server_start(&srv, more));
	adm = harness_admin(&srv);
	restarted = last_restart(&a, &n);
	cr_assert_eq(restarted->severity, SEV(WARNING), "%s",
	             restarted->summary);
	cr_assert(restarted->details->unclean_stop);
	harness_alerts_free(a, n);
}

Test(alerts, wall_clock_jumps_neither_fire_nor_hide_alerts, .fini = stop,
     .timeout = 60)
{
	const char *args[] = {
		"--interval-max", "300ms", "--miss-threshold", "2", "--auth",
		"none",           NULL
	};
	char offset_file[700], preload[128], file_env[760];
	const char *env[] = { preload, "FAKETIME_DONT_FAKE_MONOTONIC=1",
		              "FAKETIME_NO_CACHE=1", file_env, NULL };
	struct harness_robot r1, r2;
	FILE *f;

	harness_server_init(&srv);
	snprintf(offset_file, sizeof(offset_file), "%s/faketime", srv.dir);
	snprintf(preload, sizeof(preload),
	         "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/"
	         "libfaketime.so.1");
	snprintf(file_env, sizeof(file_env), "FAKETIME_TIMESTAMP_FILE=%s",
	         offset_file);
	f = fopen(offset_file, "w");
	fputs("+0\n", f);
	fclose(f);
	if (access("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
	           R_OK) != 0) {
		cr_skip_test("libfaketime is not installed");
	}
#if defined(__SANITIZE_ADDRESS__)
	/* ASan must be the first library loaded; LD_PRELOAD cannot add
	 * libfaketime before it. The plain build runs this test. */
	cr_skip_test("libfaketime cannot be preloaded into an ASan build");
#endif
	cr_assert(harness_server_start_env(&srv, args, env));
	adm = harness_admin(&srv);
	harness_robot_init(&r1, &srv, "R1", NULL, 1);
	harness_robot_init(&r2, &srv, "R2", NULL, 1);
	harness_robot_send(&r2); /* R2 then falls silent */
	keep_alive(&r1, 300);
	/* The server's wall clock leaps two hours ahead. */
	f = fopen(offset_file, "w");
	fputs("+2h\n", f);
	fclose(f);
	keep_alive(&r1, 1500);
	/* R1 kept its schedule: no silence alert for it; R2 was silent:
	 * alerted. (The jump does show, rightly, as CLOCK_SKEW: the robots'
	 * timestamps and the server's clock now disagree.) */
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		cr_assert_eq(harness_count_kind(a, n, K(HEARTBEAT_MISSED), 0),
		             1);
		cr_assert_str_eq(
		    harness_find_kind(a, n, K(HEARTBEAT_MISSED))->robot, "R2");
		harness_alerts_free(a, n);
	}
	/* And back three hours: R1 is still fine. */
	f = fopen(offset_file, "w");
	fputs("-1h\n", f);
	fclose(f);
	keep_alive(&r1, 1500);
	cr_assert_eq(liveness("R1"), LV(OK));
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		for (size_t i = 0; i < n; i++) {
			if (a[i]->kind == K(HEARTBEAT_MISSED)) {
				cr_assert_str_neq(a[i]->robot, "R1", "%s",
				                  a[i]->summary);
			}
		}
		harness_alerts_free(a, n);
	}
	harness_robot_fini(&r1);
	harness_robot_fini(&r2);
}

Test(alerts, late_subscriber_gets_every_alert_by_seq, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;
	nng_socket sub;
	Hbmon__V1__Alert **a;
	uint64_t seen[64];
	size_t n_seen = 0, n;
	uint64_t last = 0;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	/* Alerts raised before anyone listens. */
	for (int i = 0; i < 3; i++) {
		r.health = H(DEGRADED);
		harness_robot_send(&r);
		r.health = H(HEALTHY);
		harness_robot_send(&r);
	}
	/* A subscriber joins late: PUB gives it nothing of the past. */
	cr_assert_eq(nng_sub0_open(&sub), 0);
	cr_assert_eq(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	cr_assert_eq(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 300), 0);
	cr_assert_eq(nng_dial(sub, srv.publish, NULL, 0), 0);
	harness_sleep_ms(200);
	/* It catches up from the outbox ... */
	n = harness_alerts(adm, 0, &a);
	cr_assert_eq(n, 6);
	for (size_t i = 0; i < n; i++) {
		seen[n_seen++] = a[i]->seq;
		last = a[i]->seq;
	}
	harness_alerts_free(a, n);
	/* ... and takes the rest from PUB, from where the outbox ended. */
	r.health = H(DEGRADED);
	harness_robot_send(&r);
	r.health = H(HEALTHY);
	harness_robot_send(&r);
	for (;;) {
		void *buf;
		size_t len;
		Hbmon__V1__Alert *alert;

		if (nng_recv(sub, &buf, &len, NNG_FLAG_ALLOC) != 0) {
			break;
		}
		if (pub_topic_classify(buf, len) == PUB_KEEPALIVE) {
			/* The server's sign of life shares the socket. */
			nng_free(buf, len);
			continue;
		}
		cr_assert_eq(alert_topic_unpack(buf, len, &alert), HBMON_OK);
		cr_assert(
		    strncmp(buf,
		            alert->severity == SEV(INFO) ? "info/" : "warning/",
		            5) == 0);
		if (alert->seq > last) {
			seen[n_seen++] = alert->seq;
			last = alert->seq;
		}
		hbmon__v1__alert__free_unpacked(alert, NULL);
		nng_free(buf, len);
	}
	nng_close(sub);
	cr_assert_eq(n_seen, 8);
	for (size_t i = 0; i < n_seen; i++) {
		cr_assert_eq(seen[i], i + 1, "gap at %zu", i);
	}
	harness_robot_fini(&r);
}

Test(alerts, per_robot_interval_override, .fini = stop, .timeout = 60)
{
	Hbmon__V1__RobotSetRequest set = HBMON__V1__ROBOT_SET_REQUEST__INIT;
	Hbmon__V1__RobotInfo *info = NULL;
	struct harness_robot r1, r2;
	struct rpc_status st;

	start_with(NULL);
	/* R1 reports slowly by design: give it 2 s instead of 300 ms. */
	set.robot = "R1";
	set.interval_max_ms = 2000;
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/RobotSet", &set.base,
	                             &hbmon__v1__robot_info__descriptor,
	                             (ProtobufCMessage **) &info, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert_eq(info->interval_max_ms, 2000);
	protobuf_c_message_free_unpacked(&info->base, NULL);
	harness_robot_init(&r1, &srv, "R1", SECRET, 1);
	harness_robot_init(&r2, &srv, "R2", SECRET, 1);
	harness_robot_send(&r1);
	harness_robot_send(&r2);
	/* Both fall silent: only R2 is down within 1.8 s. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R2", "", 3000), 0);
	cr_assert_eq(liveness("R1"), LV(OK));
	{
		Hbmon__V1__Alert **a;
		size_t n = harness_alerts(adm, 0, &a);
		cr_assert_eq(harness_count_kind(a, n, K(HEARTBEAT_MISSED), 0),
		             1);
		harness_alerts_free(a, n);
	}
	/* Unknown robots are refused. */
	set.robot = "R9";
	rpc_client_call(adm, "/hbmon.v1.Admin/RobotSet", &set.base, NULL, NULL,
	                &st);
	cr_assert_eq(st.code, RPC_NOT_FOUND, "%s", st.message);
	harness_robot_fini(&r1);
	harness_robot_fini(&r2);
}

Test(alerts, a_stalled_server_does_not_blame_robots, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	keep_alive(&r, 400);
	/* The server is frozen for well past the threshold (900 ms); the
	 * robot could not have been heard meanwhile, whatever it did. */
	cr_assert_eq(kill(srv.pid, SIGSTOP), 0);
	harness_sleep_ms(2500);
	cr_assert_eq(kill(srv.pid, SIGCONT), 0);
	keep_alive(&r, 600);
	cr_assert_eq(count(K(HEARTBEAT_MISSED), 0), 0,
	             "a server stall was blamed on the robot");
	{
		char *log = harness_server_log(&srv);
		cr_assert(strstr(log, "the server stalled") != NULL, "%s", log);
		free(log);
	}
	/* And real silence is still noticed afterwards. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	harness_robot_fini(&r);
}

/* An Admin call on the robot registry that must succeed. */
static void
registry_call(const char *method, const char *robot)
{
	Hbmon__V1__RobotRemoveRequest in =
	    HBMON__V1__ROBOT_REMOVE_REQUEST__INIT;
	struct rpc_status st;

	/* RobotAddRequest and RobotRemoveRequest are both { robot = 1 }; the
	 * reply (a secret, or nothing) is not needed. */
	in.robot = (char *) robot;
	cr_assert_eq(rpc_client_call(adm, method, &in.base, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s: %s", method, st.message);
}

Test(alerts, removing_a_robot_resolves_what_fires_for_it, .fini = stop,
     .timeout = 60)
{
	struct harness_robot r;
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *back;
	size_t n;

	start_with(NULL);
	harness_robot_init(&r, &srv, "R1", SECRET, 2);
	keep_alive(&r, 400);
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	registry_call("/hbmon.v1.Admin/RobotRemove", "R1");
	cr_assert_neq(harness_wait_alert(adm, K(RECOVERED), "R1", "", 5000), 0,
	              "a removed robot's alert stays firing");
	n = harness_alerts(adm, 0, &a);
	back = harness_find_kind(a, n, K(RECOVERED));
	cr_assert(back->details->subject_removed);
	cr_assert(strstr(back->summary, "robot R1 was removed") != NULL, "%s",
	          back->summary);
	harness_alerts_free(a, n);
	harness_robot_fini(&r);
}

Test(alerts, a_registered_robot_that_never_reports_is_alerted, .fini = stop,
     .timeout = 60)
{
	Hbmon__V1__Alert **a;
	Hbmon__V1__Alert *missed;
	size_t n;

	start_with(NULL);
	registry_call("/hbmon.v1.Admin/RobotAdd", "R7");
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R7", "", 5000), 0,
	    "a robot that never reported was never alerted on");
	n = harness_alerts(adm, 0, &a);
	missed = harness_find_kind(a, n, K(HEARTBEAT_MISSED));
	cr_assert_eq(missed->severity, SEV(WARNING));
	cr_assert(strstr(missed->summary, "robot R7 has never reported") !=
	              NULL,
	          "%s", missed->summary);
	harness_alerts_free(a, n);
	cr_assert_eq(liveness("R7"), LV(DOWN));
}
