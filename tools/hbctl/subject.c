/* Subjects (robots and accounts) as hbctl shows them: words and JSON. */
#include <stdio.h>
#include <string.h>

#include "common/rfc3339.h"
#include "common/subject_name.h"
#include "common/words.h"
#include "hbctl.h"

static bool
is_robot(const Hbmon__V1__SubjectState *s)
{
	return s->account == NULL || s->account[0] == '\0';
}

const char *
subject_status(const Hbmon__V1__SubjectState *s)
{
	const char *w = is_robot(s) ? words_health(s->health)
	                            : words_account(s->account_status);
	return w != NULL ? w : "-";
}

const char *
subject_liveness(const Hbmon__V1__SubjectState *s)
{
	const char *w = words_liveness(s->liveness);
	return w != NULL ? w : "-";
}

static void
set_time(json_t *o, const char *key, int64_t ms, int tz_min)
{
	char buf[RFC3339_MAX];

	if (ms != 0 && tz_format(ms, tz_min, buf, sizeof(buf)) == 0) {
		json_object_set_new(o, key, json_string(buf));
	} else {
		json_object_set_new(o, key, json_null());
	}
}

json_t *
subject_json(const Hbmon__V1__SubjectState *s, int tz_min)
{
	char name[256];
	json_t *o = json_object();

	if (o == NULL) {
		return NULL;
	}
	subject_name_format(name, sizeof(name), s->robot, s->account);
	json_object_set_new(o, "subject", json_string(name));
	json_object_set_new(o, "robot", json_string(s->robot));
	json_object_set_new(o, "account", json_string(s->account));
	json_object_set_new(o, "liveness", json_string(subject_liveness(s)));
	json_object_set_new(o, "status", json_string(subject_status(s)));
	if (is_robot(s)) {
		json_object_set_new(o, "active_accounts",
		                    json_integer(s->active_accounts));
		json_object_set_new(o, "active_tasks",
		                    json_integer(s->active_tasks));
	} else {
		json_object_set_new(o, "session_valid",
		                    json_boolean(s->session_valid));
		json_object_set_new(o, "open_orders",
		                    json_integer(s->open_orders));
	}
	json_object_set_new(o, "misses", json_integer(s->misses));
	set_time(o, "last_seen", s->last_seen_ms, tz_min);
	json_object_set_new(o, "last_seen_ms", json_integer(s->last_seen_ms));
	if (s->last_timestamp != NULL && s->last_timestamp[0] != '\0') {
		json_object_set_new(o, "last_timestamp",
		                    json_string(s->last_timestamp));
	}
	set_time(o, "paused_until", s->paused_until_ms, tz_min);
	if (s->paused_until_ms != 0 && s->pause_reason != NULL &&
	    s->pause_reason[0] != '\0') {
		json_object_set_new(o, "pause_reason",
		                    json_string(s->pause_reason));
	}
	if (is_robot(s)) {
		json_object_set_new(
		    o, "accounts",
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "total",
		              (json_int_t) s->accounts_total, "idle",
		              (json_int_t) s->accounts_idle, "active",
		              (json_int_t) s->accounts_active, "expired",
		              (json_int_t) s->accounts_expired, "error",
		              (json_int_t) s->accounts_error, "late",
		              (json_int_t) s->accounts_late, "down",
		              (json_int_t) s->accounts_down));
	}
	return o;
}

json_t *
subject_heartbeat_json(const Hbmon__V1__HeartbeatRecord *r, int tz_min)
{
	char name[256];
	json_t *o = json_object();
	json_t *hb;

	if (o == NULL) {
		return NULL;
	}
	subject_name_format(name, sizeof(name), r->robot, r->account);
	json_object_set_new(o, "type", json_string("heartbeat"));
	json_object_set_new(o, "subject", json_string(name));
	set_time(o, "received_at", r->received_ms, tz_min);
	json_object_set_new(o, "received_ms", json_integer(r->received_ms));
	/* The heartbeat as the robot's documented JSON, as an object. */
	hb = json_loads(r->json != NULL ? r->json : "", 0, NULL);
	json_object_set_new(o, "heartbeat",
	                    hb != NULL ? hb : json_string(r->json));
	return o;
}

json_t *
subject_transition_json(const Hbmon__V1__TransitionRecord *r, int tz_min)
{
	char name[256];
	json_t *o = json_object();

	if (o == NULL) {
		return NULL;
	}
	subject_name_format(name, sizeof(name), r->robot, r->account);
	json_object_set_new(o, "type", json_string("transition"));
	json_object_set_new(o, "subject", json_string(name));
	set_time(o, "received_at", r->received_ms, tz_min);
	json_object_set_new(o, "received_ms", json_integer(r->received_ms));
	json_object_set_new(o, "from", json_string(r->from_status));
	json_object_set_new(o, "to", json_string(r->to_status));
	json_object_set_new(o, "allowed", json_boolean(r->allowed));
	return o;
}

void
subject_pause_note(char *buf, size_t len, const Hbmon__V1__SubjectState *s,
                   int64_t now_ms, int tz_min)
{
	char when[RFC3339_MAX], age[64];
	bool reason = s->pause_reason != NULL && s->pause_reason[0] != '\0';

	if (s->paused_until_ms == 0) {
		snprintf(buf, len, "%s", "");
		return;
	}
	out_time(when, sizeof(when), s->paused_until_ms, tz_min);
	out_age(age, sizeof(age), now_ms, s->paused_until_ms);
	snprintf(buf, len, "paused until %s (%s)%s%s", when, age,
	         reason ? ": " : "", reason ? s->pause_reason : "");
}
