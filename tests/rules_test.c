/*
 * The seed's two state diagrams and the input rules, exhaustively: every
 * pair of states is either an edge of the diagram (allowed) or not.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hbmon/error.h"
#include "server/rules.h"

#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x) HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x

/* The health diagram, edge by edge, as the seed draws it. */
static const int health_edges[][2] = {
	{ H(HEALTHY), H(DEGRADED) },   /* minor issue */
	{ H(DEGRADED), H(HEALTHY) },   /* issue resolved */
	{ H(DEGRADED), H(UNHEALTHY) }, /* major issue */
	{ H(UNHEALTHY), H(DEGRADED) }, /* partial recovery */
	{ H(UNHEALTHY), H(HEALTHY) },  /* full recovery */
};

/* The account diagram. */
static const int account_edges[][2] = {
	{ A(IDLE), A(ACTIVE) },    /* task assigned */
	{ A(ACTIVE), A(IDLE) },    /* task complete */
	{ A(ACTIVE), A(EXPIRED) }, /* session timeout */
	{ A(IDLE), A(EXPIRED) },   /* session timeout */
	{ A(EXPIRED), A(ACTIVE) }, /* re-login */
	{ A(EXPIRED), A(IDLE) },   /* re-login */
	{ A(ACTIVE), A(ERROR) },   /* exception */
	{ A(ERROR), A(ACTIVE) },   /* recovered */
};

static bool
is_edge(const int (*edges)[2], size_t n, int from, int to)
{
	for (size_t i = 0; i < n; i++) {
		if (edges[i][0] == from && edges[i][1] == to) {
			return true;
		}
	}
	return false;
}

Test(rules, health_every_pair, .timeout = 10)
{
	int allowed = 0, refused = 0;

	for (int from = H(HEALTHY); from <= H(UNHEALTHY); from++) {
		for (int to = H(HEALTHY); to <= H(UNHEALTHY); to++) {
			bool want =
			    from == to || is_edge(health_edges, 5, from, to);
			cr_assert_eq(rules_health_allowed(from, to), want,
			             "health %d -> %d", from, to);
			want ? allowed++ : refused++;
		}
	}
	/* 3 self-transitions + 5 edges; healthy->unhealthy is the one
	 * missing pair. */
	cr_assert_eq(allowed, 8);
	cr_assert_eq(refused, 1);
	cr_assert_not(rules_health_allowed(H(HEALTHY), H(UNHEALTHY)));
}

Test(rules, account_every_pair, .timeout = 10)
{
	int allowed = 0, refused = 0;

	for (int from = A(IDLE); from <= A(ERROR); from++) {
		for (int to = A(IDLE); to <= A(ERROR); to++) {
			bool want =
			    from == to || is_edge(account_edges, 8, from, to);
			cr_assert_eq(rules_account_allowed(from, to), want,
			             "account %d -> %d", from, to);
			want ? allowed++ : refused++;
		}
	}
	cr_assert_eq(allowed, 12);
	cr_assert_eq(refused, 4);
	cr_assert_not(rules_account_allowed(A(IDLE), A(ERROR)));
	cr_assert_not(rules_account_allowed(A(ERROR), A(IDLE)));
	cr_assert_not(rules_account_allowed(A(ERROR), A(EXPIRED)));
	cr_assert_not(rules_account_allowed(A(EXPIRED), A(ERROR)));
}

Test(rules, first_heartbeat_is_always_allowed, .timeout = 10)
{
	for (int to = H(HEALTHY); to <= H(UNHEALTHY); to++) {
		cr_assert(rules_health_allowed(RULES_INITIAL, to));
	}
	for (int to = A(IDLE); to <= A(ERROR); to++) {
		cr_assert(rules_account_allowed(RULES_INITIAL, to));
	}
}

static Hbmon__V1__RobotHeartbeat
robot(void)
{
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = H(HEALTHY);
	hb.active_accounts = 12;
	hb.active_tasks = 5;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	return hb;
}

static Hbmon__V1__AccountHeartbeat
account(void)
{
	Hbmon__V1__AccountHeartbeat hb = HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
	hb.event = "ACCOUNT_HEARTBEAT";
	hb.account = "ACC_003";
	hb.status = A(ACTIVE);
	hb.session_valid = true;
	hb.open_orders = 2;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	return hb;
}

Test(rules, seed_examples_are_valid, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat r = robot();
	Hbmon__V1__AccountHeartbeat a = account();
	struct rfc3339_time ts;

	cr_assert_eq(rules_check_robot(&r, &ts, NULL, 0), HBMON_OK);
	cr_assert_eq(rfc3339_unix_ms(&ts), INT64_C(1768876200000));
	cr_assert_eq(ts.offset_min, 7 * 60);
	cr_assert_eq(rules_check_account(&a, &ts, NULL, 0), HBMON_OK);
}

Test(rules, session_valid_must_match_status, .timeout = 10)
{
	static const struct {
		int status;
		bool session_valid;
		bool ok;
	} cases[] = {
		{ A(IDLE), true, true },     { A(IDLE), false, false },
		{ A(ACTIVE), true, true },   { A(ACTIVE), false, false },
		{ A(EXPIRED), false, true }, { A(EXPIRED), true, false },
		{ A(ERROR), true, true },    { A(ERROR), false, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Hbmon__V1__AccountHeartbeat a = account();
		char why[256] = "";
		struct rfc3339_time ts;

		a.status = cases[i].status;
		a.session_valid = cases[i].session_valid;
		cr_assert_eq(rules_check_account(&a, &ts, why, sizeof(why)),
		             cases[i].ok ? HBMON_OK : HBMON_EINVAL, "case %zu",
		             i);
		if (!cases[i].ok) {
			cr_assert(strstr(why, "session_valid") != NULL, "%s",
			          why);
		}
	}
}

struct bad_case {
	void (*mutate)(Hbmon__V1__RobotHeartbeat *r,
	               Hbmon__V1__AccountHeartbeat *a);
	bool is_robot;
	const char *reason; /* substring of the sentence */
};

static void
wrong_event(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) a;
	r->event = "ACCOUNT_HEARTBEAT";
}
static void
no_event(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) a;
	r->event = "";
}
static void
unspecified(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) a;
	r->status = H(UNSPECIFIED);
}
static void
unknown_status(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) a;
	r->status = 9;
}
static void
bad_ts(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) a;
	r->timestamp = "yesterday";
}
static void
no_offset(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) a;
	r->timestamp = "2026-01-20T09:30:00";
}
static void
no_ts(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) a;
	r->timestamp = "";
}
static void
acc_wrong_event(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) r;
	a->event = "ROBOT_HEARTBEAT";
}
static void
acc_empty(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) r;
	a->account = "";
}
static void
acc_long(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) r;
	/* 65 bytes: one over the limit. */
	a->account = "A1234567890123456789012345678901234567890123456789012345"
	             "678901234";
}
static void
acc_utf8(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) r;
	a->account = "ACC_\xc3\x28";
}
static void
acc_unspecified(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) r;
	a->status = A(UNSPECIFIED);
}
static void
acc_bad_ts(Hbmon__V1__RobotHeartbeat *r, Hbmon__V1__AccountHeartbeat *a)
{
	(void) r;
	a->timestamp = "2026-02-30T09:30:00Z";
}

Test(rules, unparsable_input_is_refused_with_a_reason, .timeout = 10)
{
	static const struct bad_case cases[] = {
		{ wrong_event, true, "is not \"ROBOT_HEARTBEAT\"" },
		{ no_event, true, "event is missing" },
		{ unspecified, true, "UNSPECIFIED" },
		{ unknown_status, true, "status 9 is not a health status" },
		{ bad_ts, true, "timestamp 'yesterday' is not RFC 3339" },
		{ no_offset, true, "is not RFC 3339" },
		{ no_ts, true, "timestamp is missing" },
		{ acc_wrong_event, false, "is not \"ACCOUNT_HEARTBEAT\"" },
		{ acc_empty, false, "account is empty" },
		{ acc_long, false, "at most 64" },
		{ acc_utf8, false, "not valid UTF-8" },
		{ acc_unspecified, false, "UNSPECIFIED" },
		{ acc_bad_ts, false, "is not RFC 3339" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Hbmon__V1__RobotHeartbeat r = robot();
		Hbmon__V1__AccountHeartbeat a = account();
		char why[256] = "";
		struct rfc3339_time ts;
		int rv;

		cases[i].mutate(&r, &a);
		rv = cases[i].is_robot
		         ? rules_check_robot(&r, &ts, why, sizeof(why))
		         : rules_check_account(&a, &ts, why, sizeof(why));
		cr_assert_eq(rv, HBMON_EINVAL, "case %zu passed", i);
		cr_assert(strstr(why, cases[i].reason) != NULL,
		          "case %zu: '%s' lacks '%s'", i, why, cases[i].reason);
	}
}

Test(rules, account_names_may_hold_printable_utf8, .timeout = 10)
{
	static const char *const fine[] = {
		"ACC <b>&amp;", /* HTML is escaped where it matters (sinks) */
		"akun-\xc3\xa9\xe2\x82\xac",
		"\xf0\x9f\x93\x88 chart",
		"back\\slash",
	};
	Hbmon__V1__AccountHeartbeat a = account();
	struct rfc3339_time ts;

	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		char why[256] = "";
		a.account = (char *) fine[i];
		cr_assert_eq(rules_check_account(&a, &ts, why, sizeof(why)),
		             HBMON_OK, "case %zu: %s", i, why);
	}
}

/* A name that could clear the owner's screen, draw a fake row or turn
 * text around is refused, with what and where in the reason. */
Test(rules, account_names_with_controls_are_refused, .timeout = 10)
{
	static const struct {
		const char *name;
		const char *reason;
	} cases[] = {
		{ "ACC\r\nX-Injected: 1", "'ACC\\r\\nX-Injected: 1' holds "
		                          "U+000D (byte 3)" },
		{ "\x1b[2J\rok\nFAKE", "'\\x1b[2J\\rok\\nFAKE' holds U+001B "
		                       "(byte 0)" },
		{ "A\tB", "holds U+0009 (byte 1)" },
		{ "DEL\x7f", "holds U+007F (byte 3)" },
		{ "C1\xc2\x85", "'C1\\u0085' holds U+0085 (byte 2)" },
		{ "ACC_\xe2\x80\xae"
		  "321",
		  "holds U+202E (byte 4)" },
		{ "AC\xe2\x80\x8b"
		  "C",
		  "holds U+200B (byte 2)" },
		{ "BOM\xef\xbb\xbf", "holds U+FEFF (byte 3)" },
		{ "ACC_\xc3\x28", "'ACC_\\xc3(' is not valid UTF-8 (byte 4)" },
		{ "ACC_\xed\xa0\x80", "is not valid UTF-8 (byte 4)" },
	};
	Hbmon__V1__AccountHeartbeat a = account();
	struct rfc3339_time ts;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[256] = "";
		a.account = (char *) cases[i].name;
		cr_assert_eq(rules_check_account(&a, &ts, why, sizeof(why)),
		             HBMON_EINVAL, "case %zu passed", i);
		cr_assert(strstr(why, cases[i].reason) != NULL,
		          "case %zu: '%s' lacks '%s'", i, why, cases[i].reason);
	}
}

Test(rules, robot_ids, .timeout = 10)
{
	cr_assert_eq(rules_check_robot_id("R1", NULL, 0), HBMON_OK);
	cr_assert_eq(rules_check_robot_id("robot-eu.1_a", NULL, 0), HBMON_OK);
	cr_assert_eq(rules_check_robot_id("", NULL, 0), HBMON_EINVAL);
	cr_assert_eq(rules_check_robot_id("@admin", NULL, 0), HBMON_EINVAL);
	cr_assert_eq(rules_check_robot_id("R 1", NULL, 0), HBMON_EINVAL);
	cr_assert_eq(rules_check_robot_id("R/1", NULL, 0), HBMON_EINVAL);
	cr_assert_eq(rules_check_robot_id("-R1", NULL, 0), HBMON_EINVAL);
	cr_assert_eq(rules_check_robot_id(
	                 "R12345678901234567890123456789012345678901234567890"
	                 "12345678901234",
	                 NULL, 0),
	             HBMON_EINVAL);
}
