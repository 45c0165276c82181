/*
 * The alert engine on its own, driven with a fake clock: the liveness
 * clock (`now`) and the wall clock (`wall`) are whatever the test says, so
 * hours of silence, repeats and restarts take no time, and a wall-clock
 * jump or a stall of the server can be made exactly. A real store in a
 * scratch dir keeps the outbox; alerts are read off the engine's flush.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_topic.h"
#include "harness.h"
#include "hbmon/error.h"
#include "server/engine.h"
#include "server/store.h"
#include "server/subjects.h"

#define H(x)   HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x)   HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SEV(x) HBMON__V1__SEVERITY__SEVERITY_##x
#define ST(x)  HBMON__V1__ALERT_STATE__ALERT_STATE_##x
#define L(x)   HBMON__V1__LIVENESS__LIVENESS_##x

enum {
	I_MS = 60000,       /* interval_max */
	REPEAT_MS = 600000, /* repeat_interval */
	SKEW_MS = 30000,    /* clock_skew_max */
	TICK_MS = 10,
	MAX_ALERTS = 256,
};

/* 2026-01-20T09:30:00+07:00 */
#define WALL0 1768876200000LL

static char dir[256];
static struct store *st;
static struct subjects set;
static struct engine *eng;
static int64_t now = 1000, wall = WALL0;
static Hbmon__V1__Alert *alerts[MAX_ALERTS];
static size_t n_alerts;

static const struct engine_options opts = {
	.miss_threshold = 2,
	.repeat_interval_ms = REPEAT_MS,
	.clock_skew_max_ms = SKEW_MS,
	.tick_ms = TICK_MS,
};

static void
collect(void *arg, const uint8_t *msg, size_t len)
{
	Hbmon__V1__Alert *a = NULL;

	(void) arg;
	cr_assert_eq(alert_topic_unpack(msg, len, &a), HBMON_OK);
	cr_assert_lt(n_alerts, MAX_ALERTS);
	alerts[n_alerts++] = a;
}

/* Ends the transaction the way the recorder does: commit, then publish. */
static void
commit(void)
{
	cr_assert_eq(store_commit(st), HBMON_OK);
	engine_flush(eng, collect, NULL, true);
}

static void
start_engine(void)
{
	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(engine_start(st, &set, &opts, now, wall, &eng), HBMON_OK);
	commit();
}

static void
setup(void)
{
	char why[256];

	harness_tmpdir(dir, sizeof(dir));
	cr_assert_eq(store_open(dir, STORE_NORMAL, &st, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	subjects_init(&set);
	start_engine();
}

static void
teardown(void)
{
	engine_stop(eng);
	subjects_fini(&set);
	store_close(st);
	for (size_t i = 0; i < n_alerts; i++) {
		hbmon__v1__alert__free_unpacked(alerts[i], NULL);
	}
	harness_rmrf(dir);
}

/* A robot's (account "") or an account's subject, as the recorder makes
 * it on a first heartbeat. */
static struct subject *
subject(const char *robot, const char *account)
{
	struct subject *s;
	int64_t id;

	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(store_subject_create(st, robot, account, wall, &id),
	             HBMON_OK);
	cr_assert_eq(subjects_add(&set, robot, account, id, &s), HBMON_OK);
	s->interval_ms = I_MS;
	commit();
	return s;
}

/* A heartbeat of s reporting status (taken into s as the recorder does),
 * with a timestamp skew_ms off the server's wall clock, from host. */
static void
heard_from(struct subject *s, int status, int64_t skew_ms, const char *host)
{
	struct engine_heartbeat hb = { 0 };

	hb.host = host;
	hb.from_status = s->status;
	hb.to_status = status;
	hb.allowed = true;
	hb.timestamp_ms = wall + skew_ms;
	hb.received_ms = wall;
	s->status = status;
	s->timestamp_ms = hb.timestamp_ms;
	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(engine_heard(eng, s, &hb, now, wall), HBMON_OK);
	if (subject_is_robot(s)) {
		cr_assert_eq(engine_robot_reported(eng, s, now, wall),
		             HBMON_OK);
	}
	commit();
}

static void
heard_skewed(struct subject *s, int status, int64_t skew_ms)
{
	heard_from(s, status, skew_ms, NULL);
}

static void
heard(struct subject *s, int status)
{
	heard_skewed(s, status, 0);
}

/* Both clocks move on by ms, the engine ticking every second on the way
 * (a tick per second is enough: deadlines are whole intervals). */
static void
advance(int64_t ms)
{
	while (ms > 0) {
		int64_t step = ms < 1000 ? ms : 1000;
		now += step;
		wall += step;
		ms -= step;
		cr_assert_eq(store_begin(st), HBMON_OK);
		cr_assert_eq(engine_tick(eng, now, wall), HBMON_OK);
		commit();
	}
}

/* Alerts of kind (0: any) raised so far. */
static size_t
count(int kind)
{
	size_t n = 0;

	for (size_t i = 0; i < n_alerts; i++) {
		n += kind == 0 || (int) alerts[i]->kind == kind;
	}
	return n;
}

/* The newest alert, which must exist. */
static const Hbmon__V1__Alert *
last(void)
{
	cr_assert_gt(n_alerts, 0, "no alert at all");
	return alerts[n_alerts - 1];
}

static Hbmon__V1__Liveness
liveness(const struct subject *s)
{
	return engine_liveness(eng, s, now, wall, NULL);
}

static void
expect_summary(const Hbmon__V1__Alert *a, const char *phrase)
{
	cr_assert(strstr(a->summary, phrase) != NULL, "'%s' lacks '%s'",
	          a->summary, phrase);
}

TestSuite(engine, .init = setup, .fini = teardown, .timeout = 30);

Test(engine, silence_is_late_then_down_with_one_alert_then_recovered)
{
	struct subject *r = subject("R1", "");

	cr_assert_eq(liveness(r), L(UNKNOWN));
	heard(r, H(HEALTHY));
	cr_assert_eq(liveness(r), L(OK));
	advance(I_MS - 1000);
	cr_assert_eq(liveness(r), L(OK));
	advance(1000);
	cr_assert_eq(liveness(r), L(LATE), "one interval missed");
	advance(2 * I_MS - 1000);
	cr_assert_eq(liveness(r), L(LATE), "miss_threshold intervals: late");
	cr_assert_eq(count(0), 0, "late is shown, never alerted");
	advance(1000);
	cr_assert_eq(liveness(r), L(DOWN), "ahead of the tick that fires it");
	advance(1000);
	cr_assert_eq(count(0), 1);
	cr_assert_eq(last()->kind, K(HEARTBEAT_MISSED));
	cr_assert_eq(last()->severity, SEV(CRITICAL));
	cr_assert_eq(last()->state, ST(FIRING));
	cr_assert_eq(last()->details->misses, 3);
	expect_summary(last(), "robot R1 silent for 3 min");
	expect_summary(last(), "(3 heartbeats missed)");
	advance(5 * I_MS);
	cr_assert_eq(count(0), 1, "down is alerted once");

	heard(r, H(HEALTHY));
	cr_assert_eq(count(0), 2);
	cr_assert_eq(last()->kind, K(RECOVERED));
	cr_assert_eq(last()->state, ST(RESOLVED));
	cr_assert_eq(last()->details->resolves, K(HEARTBEAT_MISSED));
	cr_assert_eq(last()->details->misses, 8);
	cr_assert_str_eq(last()->dedupe_key, alerts[0]->dedupe_key);
	cr_assert_eq(liveness(r), L(OK));
}

Test(engine, a_down_robot_rolls_up_its_accounts)
{
	struct subject *r = subject("R1", "");
	struct subject *a1 = subject("R1", "ACC_001");
	struct subject *a2 = subject("R1", "ACC_002");
	struct subject *a3 = subject("R1", "ACC_003");

	a2->open_orders = 2;
	heard(r, H(HEALTHY));
	heard(a1, A(ACTIVE));
	heard(a2, A(ACTIVE));
	heard(a3, A(IDLE));
	advance(3 * I_MS + 1000);
	cr_assert_eq(count(0), 1, "one alert for the robot, not N+1");
	cr_assert_str_eq(last()->robot, "R1");
	cr_assert_str_eq(last()->account, "");
	cr_assert_eq(last()->details->n_affected, 3);
	cr_assert_eq(last()->details->accounts_total, 3);
	cr_assert_eq(last()->details->accounts_with_orders, 1);
	expect_summary(last(), "3 accounts affected, 1 with open orders");
	cr_assert_eq(liveness(a2), L(DOWN));
	advance(10 * I_MS);
	cr_assert_eq(count(0), 1, "accounts wait for their robot");
}

Test(engine, an_account_alone_is_alerted_with_its_exposure)
{
	struct subject *r = subject("R1", "");
	struct subject *a = subject("R1", "ACC_003");

	a->open_orders = 2;
	heard(r, H(HEALTHY));
	heard(a, A(ACTIVE));
	for (int i = 0; i < 4; i++) {
		advance(I_MS - 1000);
		heard(r, H(HEALTHY)); /* the robot keeps reporting */
	}
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1);
	cr_assert_str_eq(last()->account, "ACC_003");
	cr_assert_eq(last()->severity, SEV(CRITICAL), "open orders");
	expect_summary(last(), "account R1/ACC_003 silent for");
	expect_summary(last(), "2 open orders");
}

Test(engine, repeats_until_acknowledged_and_recovery_still_resolves)
{
	struct subject *r = subject("R1", "");
	char why[160];
	uint64_t first;

	heard(r, H(HEALTHY));
	advance(3 * I_MS + 1000);
	cr_assert_eq(count(0), 1);
	first = last()->seq;
	advance(REPEAT_MS - 1000);
	cr_assert_eq(count(0), 1, "not before repeat_interval");
	advance(2000);
	cr_assert_eq(count(0), 2);
	cr_assert_eq(last()->repeat, 1);
	cr_assert_eq(last()->state, ST(FIRING));
	expect_summary(last(), "robot R1 still silent for 13 min");
	cr_assert_str_eq(last()->dedupe_key, alerts[0]->dedupe_key);
	advance(REPEAT_MS + 1000);
	cr_assert_eq(count(0), 3);
	cr_assert_eq(last()->repeat, 2);

	cr_assert_eq(engine_ack(eng, 9999, "op", wall, why, sizeof(why)),
	             HBMON_ENOENT);
	cr_assert_eq(engine_ack(eng, last()->seq, "op", wall, why, sizeof(why)),
	             HBMON_OK, "any alert of the episode acknowledges it");
	advance(3 * REPEAT_MS);
	cr_assert_eq(count(0), 3, "acknowledged: no more repeats");
	heard(r, H(HEALTHY));
	cr_assert_eq(count(0), 4);
	cr_assert_eq(last()->kind, K(RECOVERED));
	cr_assert_eq(engine_ack(eng, first, "op", wall, why, sizeof(why)),
	             HBMON_EINVAL, "resolved: nothing repeats");
}

Test(engine, a_pause_silences_then_what_is_still_wrong_is_alerted)
{
	struct subject *r = subject("R1", "");
	struct subject *a = subject("R1", "ACC_001");

	heard(r, H(HEALTHY));
	heard(a, A(ACTIVE));
	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(
	    engine_pause(eng, r, wall + 10 * I_MS, "maintenance", now, wall),
	    HBMON_OK);
	commit();
	cr_assert(engine_paused(a, wall), "a robot's pause covers accounts");
	cr_assert_eq(liveness(r), L(PAUSED));
	heard(a, A(EXPIRED));
	advance(10 * I_MS - 1000);
	cr_assert_eq(count(0), 0, "nothing while paused");
	advance(2000);
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1, "alerted when it ends");
	cr_assert_eq(liveness(r), L(DOWN));
}

Test(engine, restart_gives_one_full_interval_of_grace)
{
	struct subject *r = subject("R1", "");

	heard(r, H(HEALTHY));
	advance(2 * I_MS); /* late when the server stops */
	engine_stop(eng);
	/* Away for an hour: nothing watched R1 meanwhile. */
	now += 3600000;
	wall += 3600000;
	start_engine();
	cr_assert_eq(liveness(r), L(OK), "misses count from start-up");
	advance(3 * I_MS - 1000);
	cr_assert_eq(count(0), 0, "no alert storm after the restart");
	advance(2000);
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1,
	             "silent after the restart: as if heard at start-up");
}

Test(engine, restart_keeps_a_down_subject_down)
{
	struct subject *r = subject("R1", "");

	heard(r, H(HEALTHY));
	advance(3 * I_MS + 1000);
	cr_assert_eq(count(0), 1);
	engine_stop(eng);
	now += 60000;
	wall += 60000;
	start_engine();
	cr_assert_eq(liveness(r), L(DOWN));
	advance(3 * I_MS);
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1, "no second alert");
	heard(r, H(HEALTHY));
	cr_assert_eq(last()->kind, K(RECOVERED), "its episode still ends");
}

Test(engine, a_wall_clock_jump_neither_fires_nor_hides_alerts)
{
	struct subject *r = subject("R1", "");

	heard(r, H(HEALTHY));
	for (int i = 0; i < 5; i++) {
		advance(I_MS / 2);
		/* NTP steps the wall clock a day ahead, then back. */
		wall += i % 2 == 0 ? 86400000 : -86400000;
		heard(r, H(HEALTHY));
	}
	advance(I_MS / 2);
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 0);
	/* Silence is still seen after the jumps. */
	wall -= 86400000;
	advance(3 * I_MS);
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1);
}

Test(engine, a_stall_of_the_server_is_not_blamed_on_robots)
{
	struct subject *r = subject("R1", "");

	heard(r, H(HEALTHY));
	advance(I_MS / 2);
	/* The process was stopped for 10 intervals: the recorder takes the
	 * stall out of the liveness clock, only the wall clock moved. */
	wall += 10 * I_MS;
	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(engine_tick(eng, now + TICK_MS, wall), HBMON_OK);
	commit();
	cr_assert_eq(count(0), 0);
	cr_assert_eq(liveness(r), L(OK));
	heard(r, H(HEALTHY));
	advance(I_MS / 2);
	cr_assert_eq(count(0), 0);
}

Test(engine, reported_state_opens_changes_and_resolves_one_episode)
{
	struct subject *r = subject("R1", "");

	heard(r, H(HEALTHY));
	heard(r, H(DEGRADED));
	cr_assert_eq(last()->kind, K(STATUS_CHANGED));
	cr_assert_eq(last()->severity, SEV(WARNING));
	expect_summary(last(), "robot R1 is degraded");
	heard(r, H(UNHEALTHY));
	cr_assert_eq(last()->severity, SEV(CRITICAL));
	expect_summary(last(), "robot R1 is now unhealthy (was degraded)");
	cr_assert_str_eq(last()->dedupe_key, alerts[0]->dedupe_key);
	heard(r, H(HEALTHY));
	cr_assert_eq(last()->kind, K(RECOVERED));
	expect_summary(last(), "robot R1 is healthy again");
	cr_assert_eq(count(0), 3);
}

Test(engine, clock_skew_is_raised_once_and_clears)
{
	struct subject *r = subject("R1", "");

	heard_skewed(r, H(HEALTHY), 90000);
	cr_assert_eq(count(K(CLOCK_SKEW)), 1);
	cr_assert_eq(last()->details->skew_ms, 90000);
	cr_assert_eq(last()->details->skew_max_ms, SKEW_MS);
	expect_summary(last(), "robot R1 clock is 1 min 30 s ahead of the "
	                       "server's (limit 30 s)");
	heard_skewed(r, H(HEALTHY), 95000);
	cr_assert_eq(count(0), 1, "once");
	heard_skewed(r, H(HEALTHY), 1000);
	cr_assert_eq(count(0), 2);
	cr_assert_eq(last()->kind, K(RECOVERED));
	cr_assert_eq(last()->details->resolves, K(CLOCK_SKEW));
}

Test(engine, a_missing_account_raises_account_mismatch_after_two_intervals)
{
	struct subject *r = subject("R1", "");
	struct subject *a = subject("R1", "ACC_001");

	r->active_accounts = 3; /* two more than it reports */
	heard(a, A(ACTIVE));
	heard(r, H(HEALTHY));
	for (int i = 0; i < 3; i++) {
		advance(I_MS - 1000);
		heard(a, A(ACTIVE));
		heard(r, H(HEALTHY));
	}
	cr_assert_eq(count(K(ACCOUNT_MISMATCH)), 1);
	cr_assert_eq(last()->details->active_accounts, 3);
	cr_assert_eq(last()->details->accounts_heard, 1);
	expect_summary(last(), "robot R1 reports 3 active accounts but 1 was "
	                       "heard from; 2 never reported");
	r->active_accounts = 1;
	heard(r, H(HEALTHY));
	cr_assert_eq(last()->kind, K(RECOVERED));
	expect_summary(last(), "active accounts match again (1)");
}

/* ---- what people read (issue: "an operator's first week") ---- */

/* A hint of a, or NULL. */
static const char *
find_hint(const Hbmon__V1__Alert *a, const char *hint)
{
	for (size_t i = 0; i < a->details->n_hints; i++) {
		if (strcmp(a->details->hints[i], hint) == 0) {
			return a->details->hints[i];
		}
	}
	return NULL;
}

Test(engine, a_down_robot_lists_accounts_with_orders_first_in_natural_order)
{
	struct subject *r = subject("R1", "");
	const char *names[] = { "ACC_010", "ACC_002", "ACC_001", "ACC_012" };
	const char *want[] = { "ACC_010", "ACC_001", "ACC_002", "ACC_012" };
	const Hbmon__V1__AlertDetails *d;

	heard(r, H(HEALTHY));
	for (size_t i = 0; i < 4; i++) {
		struct subject *a = subject("R1", names[i]);
		a->open_orders = strcmp(names[i], "ACC_010") == 0 ? 1 : 0;
		heard(a, A(ACTIVE));
	}
	advance(3 * I_MS + 2000);
	cr_assert_eq(count(0), 1);
	d = last()->details;
	cr_assert_eq(d->n_affected, 4);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_str_eq(d->affected[i]->account, want[i], "place %zu",
		                 i);
	}
	expect_summary(last(), "4 accounts affected, 1 with open orders");
}

Test(engine, an_account_with_one_open_order_says_order)
{
	struct subject *r = subject("R1", "");
	struct subject *a = subject("R1", "ACC_001");

	a->open_orders = 1;
	heard(r, H(HEALTHY));
	heard(a, A(ACTIVE));
	heard(a, A(EXPIRED));
	expect_summary(last(), "account R1/ACC_001 session expired: needs "
	                       "re-login; 1 open order");
	cr_assert(strstr(last()->summary, "orders") == NULL, "%s",
	          last()->summary);
}

Test(engine, recoveries_and_repeats_of_reported_state_read_as_english)
{
	struct subject *r = subject("R1", "");
	struct subject *a = subject("R1", "ACC_001");

	heard(r, H(HEALTHY));
	heard(a, A(ACTIVE));
	heard(a, A(EXPIRED));
	advance(3000);
	heard(r, H(HEALTHY));
	heard(a, A(ACTIVE));
	cr_assert_eq(last()->kind, K(RECOVERED));
	cr_assert_str_eq(last()->summary, "account R1/ACC_001 is active "
	                                  "again (it was expired for 3 s)");

	heard(r, H(DEGRADED));
	cr_assert_str_eq(last()->summary,
	                 "robot R1 is degraded: an issue, still running");
	for (int i = 0; i < 11; i++) {
		advance(I_MS - 5000);
		heard(a, A(ACTIVE));
		heard(r, H(DEGRADED));
	}
	cr_assert_eq(last()->kind, K(STATUS_CHANGED));
	cr_assert_eq(last()->repeat, 1);
	expect_summary(last(), "robot R1 has been degraded for 10 min");
	expect_summary(last(), ": an issue, still running");
	cr_assert(strstr(last()->summary, "(for") == NULL, "%s",
	          last()->summary);
}

Test(engine, clock_skew_is_said_as_a_duration)
{
	struct subject *r = subject("R1", "");

	heard_skewed(r, H(HEALTHY), -((7 * 60 + 37) * 60000LL + 12000));
	cr_assert_eq(last()->kind, K(CLOCK_SKEW));
	cr_assert_str_eq(last()->summary, "robot R1 clock is 7 h 37 min "
	                                  "behind the server's (limit 30 s)");
}

Test(engine, alerts_carry_the_robot_host_and_what_to_do)
{
	struct subject *r = subject("R2", "");
	struct subject *a = subject("R2", "ACC_001");
	char ack[32];

	heard_from(r, H(HEALTHY), 0, "192.0.2.7");
	heard(a, A(ACTIVE));
	advance(3 * I_MS + 2000);
	cr_assert_eq(count(0), 1);
	cr_assert_str_eq(last()->details->host, "192.0.2.7");
	snprintf(ack, sizeof(ack), "hbctl ack %llu",
	         (unsigned long long) last()->seq);
	cr_assert_not_null(find_hint(last(), ack));
	cr_assert_not_null(find_hint(last(), "hbctl pause R2 --for 1h"));

	heard_from(r, H(HEALTHY), 0, "192.0.2.8");
	cr_assert_eq(last()->kind, K(RECOVERED));
	cr_assert_eq(last()->details->n_hints, 0, "nothing to do");
	heard(a, A(EXPIRED));
	cr_assert_str_eq(last()->details->host, "192.0.2.8",
	                 "an account's alert names its robot's host");
	cr_assert_not_null(
	    find_hint(last(), "hbctl pause R2/ACC_001 --for 1h"));
}

Test(engine, one_silent_account_raises_one_alert_not_two)
{
	struct subject *r = subject("R1", "");
	struct subject *a1 = subject("R1", "ACC_001");
	struct subject *a2 = subject("R1", "ACC_002");

	r->active_accounts = 2;
	heard(a1, A(ACTIVE));
	heard(a2, A(ACTIVE));
	heard(r, H(HEALTHY));
	/* ACC_002 falls silent; the robot still counts it. */
	for (int i = 0; i < 8; i++) {
		advance(I_MS - 1000);
		heard(a1, A(ACTIVE));
		heard(r, H(HEALTHY));
	}
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1);
	cr_assert_str_eq(alerts[0]->account, "ACC_002");
	cr_assert_eq(count(K(ACCOUNT_MISMATCH)), 0,
	             "the account's own alert says it");
	/* A robot that claims an account never heard of is still told. */
	r->active_accounts = 4;
	for (int i = 0; i < 4; i++) {
		advance(I_MS - 1000);
		heard(a1, A(ACTIVE));
		heard(r, H(HEALTHY));
	}
	cr_assert_eq(count(K(ACCOUNT_MISMATCH)), 1);
}

Test(engine, removing_a_robot_resolves_what_fires_for_it)
{
	struct subject *r = subject("EX", "");
	struct subject *a = subject("EX", "ACC_001");

	heard(r, H(HEALTHY));
	heard(a, A(ACTIVE));
	heard(a, A(EXPIRED));
	advance(3 * I_MS + 2000);
	cr_assert_eq(count(0), 2, "expired, then the robot down");
	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(engine_removed(eng, r, now, wall), HBMON_OK);
	commit();
	cr_assert_eq(count(K(RECOVERED)), 2);
	for (size_t i = 2; i < 4; i++) {
		cr_assert_eq(alerts[i]->state, ST(RESOLVED));
		cr_assert(alerts[i]->details->subject_removed);
	}
	expect_summary(alerts[3], "robot EX was removed; its "
	                          "HEARTBEAT_MISSED alert is closed");
	engine_forget_subject(eng, a);
	engine_forget_subject(eng, r);
	advance(3 * REPEAT_MS);
	cr_assert_eq(count(0), 4, "nothing repeats for a removed robot");
}

Test(engine, a_registered_robot_that_never_reports_is_alerted)
{
	struct subject *r = subject("R9", "");

	cr_assert_eq(store_begin(st), HBMON_OK);
	engine_expect(eng, r, now);
	commit();
	advance(I_MS - 1000);
	cr_assert_eq(count(0), 0);
	advance(2000);
	cr_assert_eq(count(0), 1);
	cr_assert_eq(last()->kind, K(HEARTBEAT_MISSED));
	cr_assert_eq(last()->severity, SEV(WARNING));
	expect_summary(last(), "robot R9 has never reported since it was "
	                       "registered (nothing heard in 1 min");
	cr_assert_eq(liveness(r), L(DOWN));
	heard(r, H(HEALTHY));
	cr_assert_eq(last()->kind, K(RECOVERED));
	expect_summary(last(), "robot R9 reported for the first time");
	cr_assert_eq(liveness(r), L(OK));
}

Test(engine, a_registered_robot_is_still_expected_after_a_restart)
{
	struct subject *r = subject("R9", "");

	cr_assert_eq(store_begin(st), HBMON_OK);
	engine_expect(eng, r, now);
	commit();
	engine_stop(eng);
	now += 3600000;
	wall += 3600000;
	start_engine();
	advance(I_MS + 2000);
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1);
}

/* What engine_open_each showed: copies of its alerts, and the rest. */
struct shown {
	Hbmon__V1__Alert *alert[8];
	struct engine_open open[8];
	size_t n;
};

static int
show_open(void *arg, const struct engine_open *o)
{
	struct shown *s = arg;
	size_t len = hbmon__v1__alert__get_packed_size(o->alert);
	uint8_t buf[4096];

	cr_assert_lt(s->n, 8);
	cr_assert_leq(len, sizeof(buf));
	hbmon__v1__alert__pack(o->alert, buf);
	s->alert[s->n] = hbmon__v1__alert__unpack(NULL, len, buf);
	s->open[s->n] = *o;
	s->open[s->n].alert = s->alert[s->n];
	s->n++;
	return 0;
}

static void
shown_free(struct shown *s)
{
	for (size_t i = 0; i < s->n; i++) {
		hbmon__v1__alert__free_unpacked(s->alert[i], NULL);
	}
	s->n = 0;
}

Test(engine, open_episodes_are_shown_as_of_now)
{
	struct engine_condition low = { .kind = K(DISK_SPACE_LOW),
		                        .holds = true,
		                        .free_bytes = 1000,
		                        .free_min = 5000 };
	struct subject *r = subject("R1", "");
	struct shown s = { 0 };
	char why[160];
	uint64_t seq;
	int64_t opened;

	cr_assert_eq(engine_open_each(eng, now, wall, show_open, &s), 0);
	cr_assert_eq(s.n, 0, "nothing fires yet");

	heard(r, H(HEALTHY));
	advance(3 * I_MS + 1000);
	cr_assert_eq(count(K(HEARTBEAT_MISSED)), 1);
	seq = last()->seq;
	opened = last()->raised_at_ms;
	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(engine_server_condition(eng, &low, now, wall), HBMON_OK);
	commit();
	advance(5 * I_MS);

	cr_assert_eq(engine_open_each(eng, now, wall, show_open, &s), 0);
	cr_assert_eq(s.n, 2);
	for (size_t i = 0; i < s.n; i++) {
		const Hbmon__V1__Alert *a = s.open[i].alert;
		cr_assert_eq(a->state, ST(FIRING));
		cr_assert(!s.open[i].acked);
		if (a->kind == K(HEARTBEAT_MISSED)) {
			cr_assert_eq(a->seq, seq, "the opening alert's seq");
			cr_assert_str_eq(a->robot, "R1");
			cr_assert_eq(a->raised_at_ms, opened,
			             "since it opened");
			cr_assert_eq(s.open[i].last_alert_ms, opened);
			/* Counted up to now, not as raised (3 min 1 s). */
			expect_summary(a, "robot R1 silent for 8 min 1 s");
		} else {
			cr_assert_eq(a->kind, K(DISK_SPACE_LOW));
			cr_assert_str_eq(a->robot, "");
			cr_assert_eq(a->details->free_bytes, 1000);
		}
	}
	shown_free(&s);

	/* Acked: still open, shown acked; recovered: gone. */
	cr_assert_eq(engine_ack(eng, seq, "op", wall, why, sizeof(why)),
	             HBMON_OK);
	cr_assert_eq(engine_open_each(eng, now, wall, show_open, &s), 0);
	cr_assert_eq(s.n, 2);
	for (size_t i = 0; i < s.n; i++) {
		cr_assert_eq(s.open[i].acked,
		             s.open[i].alert->kind == K(HEARTBEAT_MISSED));
	}
	shown_free(&s);
	heard(r, H(HEALTHY));
	low.holds = false;
	cr_assert_eq(store_begin(st), HBMON_OK);
	cr_assert_eq(engine_server_condition(eng, &low, now, wall), HBMON_OK);
	commit();
	cr_assert_eq(engine_open_each(eng, now, wall, show_open, &s), 0);
	cr_assert_eq(s.n, 0, "nothing fires any more");
}
