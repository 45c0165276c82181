/* Alert -> JSON. */
#include "common/alert_json.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/rfc3339.h"
#include "common/subject_name.h"
#include "common/tz.h"
#include "common/words.h"

/* Adds key only when the value is not its default. */
static void
set_int(json_t *o, const char *key, json_int_t v)
{
	if (v != 0) {
		json_object_set_new(o, key, json_integer(v));
	}
}

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0') {
		json_object_set_new(o, key, json_string(v));
	}
}

static void
set_time(json_t *o, const char *key, int64_t ms, int tz)
{
	char buf[RFC3339_MAX];

	if (ms != 0 && tz_format(ms, tz, buf, sizeof(buf)) == 0) {
		json_object_set_new(o, key, json_string(buf));
	}
}

static json_t *
details_json(const Hbmon__V1__AlertDetails *d, int tz)
{
	json_t *o = json_object();

	if (o == NULL || d == NULL) {
		return o;
	}
	set_int(o, "misses", d->misses);
	set_int(o, "duration_ms", d->duration_ms);
	set_time(o, "last_seen", d->last_seen_ms, tz);
	set_int(o, "open_orders", d->open_orders);
	if (d->n_affected > 0) {
		json_t *list = json_array();
		for (size_t i = 0; list != NULL && i < d->n_affected; i++) {
			const Hbmon__V1__AffectedAccount *x = d->affected[i];
			const char *w = words_account(x->status);
			json_array_append_new(
			    list, json_pack("{s:s, s:s, s:b, s:I}", "account",
			                    x->account, "status",
			                    w != NULL ? w : "", "session_valid",
			                    x->session_valid, "open_orders",
			                    (json_int_t) x->open_orders));
		}
		json_object_set_new(o, "affected", list);
	}
	if (d->last_payload != NULL && d->last_payload[0] != '\0') {
		json_t *p = json_loads(d->last_payload, 0, NULL);
		json_object_set_new(o, "last_payload",
		                    p != NULL ? p
		                              : json_string(d->last_payload));
	}
	set_str(o, "from_status", d->from_status);
	set_str(o, "to_status", d->to_status);
	set_int(o, "skew_ms", d->skew_ms);
	if (d->n_missing_accounts > 0) {
		json_t *list = json_array();
		for (size_t i = 0; list != NULL && i < d->n_missing_accounts;
		     i++) {
			json_array_append_new(
			    list, json_string(d->missing_accounts[i]));
		}
		json_object_set_new(o, "missing_accounts", list);
	}
	set_int(o, "outage_ms", d->outage_ms);
	set_str(o, "reason", d->reason);
	set_str(o, "listener", d->listener);
	set_str(o, "listener_url", d->listener_url);
	set_int(o, "free_bytes", d->free_bytes);
	if (d->resolves != 0) {
		set_str(o, "resolves", words_alert_kind(d->resolves));
	}
	if (d->unclean_stop) {
		json_object_set_new(o, "unclean_stop", json_true());
	}
	set_int(o, "alerts_meanwhile", (json_int_t) d->alerts_meanwhile);
	set_int(o, "accounts_total", d->accounts_total);
	set_int(o, "accounts_with_orders", d->accounts_with_orders);
	set_int(o, "active_accounts", d->active_accounts);
	set_int(o, "accounts_heard", d->accounts_heard);
	set_int(o, "skew_max_ms", d->skew_max_ms);
	set_int(o, "interval_max_ms", d->interval_max_ms);
	set_int(o, "free_min_bytes", d->free_min_bytes);
	set_str(o, "status", d->status);
	return o;
}

json_t *
alert_json(const Hbmon__V1__Alert *a, int tz_offset_min)
{
	const char *kind = words_alert_kind(a->kind);
	const char *severity = words_severity(a->severity);
	const char *state = words_alert_state(a->state);
	char subject[256];
	char raised[RFC3339_MAX] = "";
	json_t *o;

	subject_name_format(subject, sizeof(subject), a->robot, a->account);
	tz_format(a->raised_at_ms, tz_offset_min, raised, sizeof(raised));
	/* Keys in this order: what a person scans first comes first. */
	o = json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I,"
	    " s:I}",
	    "seq", (json_int_t) a->seq, "kind", kind != NULL ? kind : "",
	    "severity", severity != NULL ? severity : "", "state",
	    state != NULL ? state : "", "robot",
	    a->robot != NULL ? a->robot : "", "account",
	    a->account != NULL ? a->account : "", "subject", subject, "summary",
	    a->summary != NULL ? a->summary : "", "dedupe_key",
	    a->dedupe_key != NULL ? a->dedupe_key : "", "raised_at", raised,
	    "raised_at_ms", (json_int_t) a->raised_at_ms, "repeat",
	    (json_int_t) a->repeat);
	if (o != NULL) {
		if (a->not_durable) {
			/* Sent before it was in the outbox (STORAGE_FAILING).
			 */
			json_object_set_new(o, "not_durable", json_true());
		}
		json_object_set_new(o, "details",
		                    details_json(a->details, tz_offset_min));
		/* Only on an alert a notifier raised itself (seq 0). */
		set_str(o, "notifier", a->notifier);
		set_int(o, "notifier_seq", (json_int_t) a->notifier_seq);
	}
	return o;
}

char *
alert_json_text(const Hbmon__V1__Alert *a, int tz_offset_min)
{
	json_t *o = alert_json(a, tz_offset_min);
	char *text;

	if (o == NULL) {
		return NULL;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
