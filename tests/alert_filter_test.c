/*
 * The one alert filter of hbctl and the notifiers (common/alert_filter.h):
 * severity, kinds and robots, and the two rules that keep all-clears and
 * the server's own alerts from being filtered away.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/alert_filter.h"
#include "hbmon/error.h"

#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SEV(x) HBMON__V1__SEVERITY__SEVERITY_##x
#define ST(x)  HBMON__V1__ALERT_STATE__ALERT_STATE_##x

static Hbmon__V1__AlertDetails details;
static Hbmon__V1__Alert alert;

static Hbmon__V1__Alert *
make_alert(Hbmon__V1__AlertKind kind, Hbmon__V1__Severity sev,
           const char *robot)
{
	hbmon__v1__alert__init(&alert);
	hbmon__v1__alert_details__init(&details);
	alert.seq = 1;
	alert.kind = kind;
	alert.severity = sev;
	alert.state = ST(FIRING);
	alert.robot = (char *) robot;
	alert.details = &details;
	return &alert;
}

Test(alert_filter, severity_kinds_robots_and_all_clears, .timeout = 10)
{
	struct alert_filter f;
	Hbmon__V1__Alert *a =
	    make_alert(K(HEARTBEAT_MISSED), SEV(CRITICAL), "R1");
	char why[600];

	cr_assert_eq(alert_filter_parse(&f, "critical", "HEARTBEAT_MISSED",
	                                "R1, R2", why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert(alert_filter_pass(&f, a));
	a->severity = SEV(WARNING);
	cr_assert_not(alert_filter_pass(&f, a));
	/* The all-clear of a listed kind passes though it is info. */
	a->kind = K(RECOVERED);
	a->severity = SEV(INFO);
	a->state = ST(RESOLVED);
	a->details->resolves = K(HEARTBEAT_MISSED);
	cr_assert(alert_filter_pass(&f, a));
	a->details->resolves = K(CLOCK_SKEW);
	cr_assert_not(alert_filter_pass(&f, a));
	a->kind = K(HEARTBEAT_MISSED);
	a->severity = SEV(CRITICAL);
	a->robot = "R3";
	cr_assert_not(alert_filter_pass(&f, a));
	a->robot = "";
	cr_assert(alert_filter_pass(&f, a),
	          "server alerts concern every robot");
	cr_assert_eq(alert_filter_parse(&f, "info", "HEARTBEAT_MISSING", "",
	                                why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "kinds: 'HEARTBEAT_MISSING'") != NULL, "%s", why);
	cr_assert_eq(alert_filter_parse(&f, "loud", "", "", why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "min_severity: 'loud' is not one of") != NULL,
	          "%s", why);
}

Test(alert_filter, an_empty_filter_passes_everything, .timeout = 10)
{
	struct alert_filter f;

	alert_filter_init(&f);
	cr_assert(alert_filter_pass(
	    &f, make_alert(K(STATUS_CHANGED), SEV(INFO), "R1")));
	cr_assert(alert_filter_pass(
	    &f, make_alert(K(SERVER_RESTARTED), SEV(WARNING), "")));
	cr_assert(alert_filter_pass(
	    &f, make_alert(K(UNSPECIFIED), SEV(UNSPECIFIED), NULL)));
	alert.details = NULL;
	cr_assert(alert_filter_pass(&f, &alert), "no details is fine");
}

Test(alert_filter, built_flag_by_flag_as_hbctl_does, .timeout = 10)
{
	struct alert_filter f;
	char why[600];

	alert_filter_init(&f);
	cr_assert_eq(alert_filter_set_severity(&f, "warning", why, sizeof(why)),
	             HBMON_OK);
	cr_assert_eq(alert_filter_add_kinds(&f, "CLOCK_SKEW", why, sizeof(why)),
	             HBMON_OK);
	cr_assert_eq(alert_filter_add_kinds(&f, " STATUS_CHANGED ,RECOVERED",
	                                    why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert_eq(alert_filter_add_robots(&f, "R2", why, sizeof(why)),
	             HBMON_OK);
	cr_assert(alert_filter_pass(
	    &f, make_alert(K(CLOCK_SKEW), SEV(WARNING), "R2")));
	cr_assert_not(alert_filter_pass(
	    &f, make_alert(K(STATUS_CHANGED), SEV(INFO), "R2")));
	cr_assert_not(alert_filter_pass(
	    &f, make_alert(K(HEARTBEAT_MISSED), SEV(CRITICAL), "R2")));
	cr_assert_not(alert_filter_pass(
	    &f, make_alert(K(CLOCK_SKEW), SEV(CRITICAL), "R1")));
	/* RECOVERED is listed: any all-clear of R2's passes. */
	make_alert(K(RECOVERED), SEV(INFO), "R2");
	details.resolves = K(HEARTBEAT_MISSED);
	cr_assert(alert_filter_pass(&f, &alert));
}

Test(alert_filter, refuses_bad_items_and_names_the_kinds, .timeout = 10)
{
	struct alert_filter f;
	char why[600];

	alert_filter_init(&f);
	cr_assert_eq(alert_filter_add_kinds(&f, "FIRE", why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "'FIRE' is not an alert kind (HEARTBEAT_MISSED, "
	                      "RECOVERED,") != NULL,
	          "%s", why);
	cr_assert(strstr(why, "SERVER_UNREACHABLE") != NULL, "%s", why);
	cr_assert_eq(alert_filter_add_kinds(&f, "CLOCK_SKEW,,RECOVERED", why,
	                                    sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "empty or too long item") != NULL, "%s", why);
	cr_assert_eq(
	    alert_filter_add_kinds(&f, "UNSPECIFIED", why, sizeof(why)),
	    HBMON_EINVAL);
	cr_assert_eq(
	    alert_filter_add_robots(&f,
	                            "R1,"
	                            "R_WITH_A_NAME_OF_SIXTY_FIVE_CHARACTERS_"
	                            "THAT_IS_ONE_TOO_MANY_xxxxxxxx",
	                            why, sizeof(why)),
	    HBMON_EINVAL);
	for (int i = 0; i < ALERT_FILTER_ROBOTS_MAX - 1; i++) {
		cr_assert_eq(
		    alert_filter_add_robots(&f, "Rn", why, sizeof(why)),
		    HBMON_OK);
	}
	cr_assert_eq(alert_filter_add_robots(&f, "Rx", why, sizeof(why)),
	             HBMON_ERANGE);
	cr_assert_eq(alert_filter_add_robots(&f, "", why, sizeof(why)),
	             HBMON_OK, "an empty list adds nothing");
	/* A message cut short is still a string. */
	cr_assert_eq(alert_filter_add_kinds(&f, "FIRE", why, 12), HBMON_EINVAL);
	cr_assert_eq(strlen(why), 11);
}

Test(alert_filter, recovered_can_be_left_out, .timeout = 10)
{
	struct alert_filter f;

	alert_filter_init(&f);
	f.no_recovered = true;
	cr_assert_not(
	    alert_filter_pass(&f, make_alert(K(RECOVERED), SEV(INFO), "R1")));
	cr_assert(alert_filter_pass(
	    &f, make_alert(K(HEARTBEAT_MISSED), SEV(CRITICAL), "R1")));
	cr_assert(alert_filter_pass(
	    &f, make_alert(K(STATUS_CHANGED), SEV(INFO), "R1")));
}

Test(alert_filter, a_first_run_passes_only_the_recent_past, .timeout = 10)
{
	struct alert_filter f;
	Hbmon__V1__Alert *a =
	    make_alert(K(HEARTBEAT_MISSED), SEV(CRITICAL), "R1");

	alert_filter_init(&f);
	f.past_seq = 10;
	f.raised_after_ms = 5000;
	a->seq = 3;
	a->raised_at_ms = 4999;
	cr_assert_not(alert_filter_pass(&f, a), "old and of the past");
	a->raised_at_ms = 5000;
	cr_assert(alert_filter_pass(&f, a), "of the past, but recent");
	a->seq = 11;
	a->raised_at_ms = 1;
	cr_assert(alert_filter_pass(&f, a),
	          "after the start: whatever the server's clock says");
}
