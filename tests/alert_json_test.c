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

Test(alert_topic, keepalives_are_never_taken_for_alerts, .timeout = 10)
{
	Hbmon__V1__Keepalive ka = HBMON__V1__KEEPALIVE__INIT, *kb;
	Hbmon__V1__Alert a, *back = NULL;
	Hbmon__V1__AlertDetails d;
	uint8_t *msg;
	size_t len;
	/* A body any protobuf decoder would take: an Alert's own bytes. */
	uint8_t forged[512];
	size_t body;

	ka.boot_id = "0123456789abcdef0123456789abcdef";
	ka.uptime_ms = 1234;
	ka.last_alert_seq = 77;
	ka.interval_ms = 5000;
	ka.health = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED;
	ka.problem = "the database is slow: a commit took 2 s";
	cr_assert_eq(keepalive_topic_pack(&ka, &msg, &len), HBMON_OK);
	cr_assert(strncmp((char *) msg, KEEPALIVE_TOPIC,
	                  strlen(KEEPALIVE_TOPIC)) == 0);
	cr_assert_eq(pub_topic_classify(msg, len), PUB_KEEPALIVE);
	cr_assert_eq(alert_topic_unpack(msg, len, &back), HBMON_EPROTO);
	cr_assert_eq(keepalive_topic_unpack(msg, len, &kb), HBMON_OK);
	cr_assert_eq(kb->last_alert_seq, 77);
	cr_assert_eq(kb->health, ka.health);
	cr_assert_str_eq(kb->problem, ka.problem);
	hbmon__v1__keepalive__free_unpacked(kb, NULL);
	free(msg);

	/* A keepalive topic over an Alert body, and made-up topics with
	 * three slashes: none is an alert. */
	robot_down(&a, &d);
	body = hbmon__v1__alert__get_packed_size(&a);
	cr_assert_lt(body + 32, sizeof(forged));
	{
		const char *topics[] = { "keepalive///",
			                 "urgent/HEARTBEAT_MISSED/R1/",
			                 "critical/NOT_A_KIND/R1/",
			                 "//R1/",
			                 "critical//R1/",
			                 NULL };
		for (int i = 0; topics[i] != NULL; i++) {
			size_t n = strlen(topics[i]);
			memcpy(forged, topics[i], n);
			hbmon__v1__alert__pack(&a, forged + n);
			cr_assert_eq(
			    alert_topic_unpack(forged, n + body, &back),
			    HBMON_EPROTO, "%s", topics[i]);
			cr_assert_neq(pub_topic_classify(forged, n + body),
			              PUB_ALERT, "%s", topics[i]);
		}
	}
	/* An alert is one; so is a server alert with no robot. */
	a.robot = "";
	cr_assert_eq(alert_topic_pack(&a, &msg, &len), HBMON_OK);
	cr_assert_eq(pub_topic_classify(msg, len), PUB_ALERT);
	cr_assert_eq(keepalive_topic_unpack(msg, len, &kb), HBMON_EPROTO);
	free(msg);
}

Test(alert_json, a_notifiers_own_alert_says_whose_it_is, .timeout = 10)
{
	Hbmon__V1__Alert a = HBMON__V1__ALERT__INIT;
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	char *text;

	a.kind = HBMON__V1__ALERT_KIND__ALERT_KIND_SERVER_UNREACHABLE;
	a.severity = HBMON__V1__SEVERITY__SEVERITY_CRITICAL;
	a.state = HBMON__V1__ALERT_STATE__ALERT_STATE_FIRING;
	a.robot = "";
	a.account = "";
	a.summary = "lost contact with hbmon-server at ipc:///x since T";
	a.dedupe_key = "notify-telegram:SERVER_UNREACHABLE:3";
	a.notifier = "telegram";
	a.notifier_seq = 3;
	a.details = &d;
	d.duration_ms = 30000;
	text = alert_json_text(&a, 0);
	cr_assert_not_null(text);
	cr_assert(strstr(text, "\"seq\":0,\"kind\":\"SERVER_UNREACHABLE\","
	                       "\"severity\":\"critical\",\"state\":"
	                       "\"firing\",\"robot\":\"\",\"account\":\"\","
	                       "\"subject\":\"server\"") != NULL,
	          "%s", text);
	cr_assert(
	    strstr(text, "\"notifier\":\"telegram\",\"notifier_seq\":3") !=
	        NULL,
	    "%s", text);
	free(text);
	/* A server's alert has neither key. */
	a.notifier = "";
	a.notifier_seq = 0;
	text = alert_json_text(&a, 0);
	cr_assert(strstr(text, "notifier") == NULL, "%s", text);
	free(text);
}
