/* Alerts as JSON: the keys and words operators' scripts read (SPEC §6). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_json.h"
#include "common/alert_topic.h"
#include "hbmon/error.h"

#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

static Hbmon__V1__AffectedAccount acc = HBMON__V1__AFFECTED_ACCOUNT__INIT;
static Hbmon__V1__AffectedAccount *accs[1] = { &acc };

static void
robot_down(Hbmon__V1__Alert *a, Hbmon__V1__AlertDetails *d)
{
	hbmon__v1__alert__init(a);
	hbmon__v1__alert_details__init(d);
	a->seq = 12;
	a->dedupe_key = "R1:HEARTBEAT_MISSED:12";
	a->kind = K(HEARTBEAT_MISSED);
	a->severity = HBMON__V1__SEVERITY__SEVERITY_CRITICAL;
	a->state = HBMON__V1__ALERT_STATE__ALERT_STATE_FIRING;
	a->robot = "R1";
	a->account = "";
	a->summary = "robot R1 silent for 6 min (3 heartbeats missed)";
	a->raised_at_ms = 1768876200000;
	d->misses = 3;
	d->duration_ms = 360000;
	acc.account = "ACC_003";
	acc.status = HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
	acc.session_valid = true;
	acc.open_orders = 2;
	d->affected = accs;
	d->n_affected = 1;
	d->last_payload =
	    "{\"event\":\"ROBOT_HEARTBEAT\",\"status\":\"healthy\"}";
	a->details = d;
}

Test(alert_json, has_the_documented_keys_and_words, .timeout = 10)
{
	Hbmon__V1__Alert a;
	Hbmon__V1__AlertDetails d;
	json_t *o, *det, *x;

	robot_down(&a, &d);
	o = alert_json(&a, 7 * 60);
	cr_assert_not_null(o);
	cr_assert_eq(json_integer_value(json_object_get(o, "seq")), 12);
	cr_assert_str_eq(json_string_value(json_object_get(o, "kind")),
	                 "HEARTBEAT_MISSED");
	cr_assert_str_eq(json_string_value(json_object_get(o, "severity")),
	                 "critical");
	cr_assert_str_eq(json_string_value(json_object_get(o, "state")),
	                 "firing");
	cr_assert_str_eq(json_string_value(json_object_get(o, "robot")), "R1");
	cr_assert_str_eq(json_string_value(json_object_get(o, "account")), "");
	cr_assert_str_eq(json_string_value(json_object_get(o, "subject")),
	                 "R1");
	cr_assert_str_eq(json_string_value(json_object_get(o, "raised_at")),
	                 "2026-01-20T09:30:00+07:00");
	det = json_object_get(o, "details");
	cr_assert_eq(json_integer_value(json_object_get(det, "misses")), 3);
	x = json_array_get(json_object_get(det, "affected"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(x, "status")),
	                 "active");
	cr_assert_eq(json_integer_value(json_object_get(x, "open_orders")), 2);
	/* The last payload is the heartbeat object, not a string. */
	cr_assert(json_is_object(json_object_get(det, "last_payload")));
	/* Defaults are left out. */
	cr_assert_null(json_object_get(det, "skew_ms"));
	json_decref(o);
}

Test(alert_json, text_is_one_line_and_account_alerts_name_the_subject,
     .timeout = 10)
{
	Hbmon__V1__Alert a;
	Hbmon__V1__AlertDetails d;
	char *text;

	robot_down(&a, &d);
	a.account = "ACC\r\n<b>";
	text = alert_json_text(&a, 0);
	cr_assert_not_null(text);
	cr_assert_null(strchr(text, '\n'), "%s", text);
	cr_assert(strstr(text, "\"subject\":\"R1/ACC\\r\\n<b>\"") != NULL, "%s",
	          text);
	cr_assert(strstr(text, "\"raised_at\":\"2026-01-20T02:30:00Z\"") !=
	              NULL,
	          "%s", text);
	free(text);
}

Test(alert_topic, frames_and_unframes, .timeout = 10)
{
	Hbmon__V1__Alert a, *back;
	Hbmon__V1__AlertDetails d;
	uint8_t *msg;
	size_t len;

	robot_down(&a, &d);
	cr_assert_eq(alert_topic_pack(&a, &msg, &len), HBMON_OK);
	cr_assert(strncmp((char *) msg, "critical/HEARTBEAT_MISSED/R1/", 29) ==
	          0);
	cr_assert_eq(alert_topic_unpack(msg, len, &back), HBMON_OK);
	cr_assert_eq(back->seq, 12);
	cr_assert_str_eq(back->details->affected[0]->account, "ACC_003");
	hbmon__v1__alert__free_unpacked(back, NULL);
	cr_assert_eq(alert_topic_unpack(msg, 10, &back), HBMON_EPROTO);
	free(msg);
}
