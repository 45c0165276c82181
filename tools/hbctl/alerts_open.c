/* hbctl alerts --open: what is firing now, one line per open episode. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "alerts.h"
#include "common/alert_json.h"
#include "common/clock.h"
#include "common/subject_name.h"
#include "common/tz.h"
#include "common/words.h"

/* The usual alert object, with since, last_alert and acked added. */
static void
print_json(const struct hbctl *h, const Hbmon__V1__OpenAlert *o)
{
	json_t *v = alert_json(o->alert, h->tz_min);
	char since[64], last[64];

	if (v == NULL) {
		hbctl_error("out of memory writing alert %" PRIu64,
		            o->alert->seq);
		return;
	}
	tz_format(o->since_ms, h->tz_min, since, sizeof(since));
	tz_format(o->last_alert_ms, h->tz_min, last, sizeof(last));
	json_object_set_new(v, "since", json_string(since));
	json_object_set_new(v, "since_ms", json_integer(o->since_ms));
	json_object_set_new(v, "last_alert", json_string(last));
	json_object_set_new(v, "last_alert_ms", json_integer(o->last_alert_ms));
	json_object_set_new(v, "acked", json_boolean(o->acked));
	out_json_line(v);
}

static void
add_row(const struct hbctl *h, struct table *t, int64_t now,
        const Hbmon__V1__OpenAlert *o)
{
	const Hbmon__V1__Alert *a = o->alert;
	const char *sev = words_severity(a->severity);
	const char *kind = words_alert_kind(a->kind);
	char subject[256], since[64], last[64];

	subject_name_format(subject, sizeof(subject), a->robot, a->account);
	out_age(since, sizeof(since), now, o->since_ms);
	out_age(last, sizeof(last), now, o->last_alert_ms);
	table_row(t);
	table_cell(t, NULL, "%" PRIu64, a->seq);
	table_cell(t, h->color ? out_severity_color(a->severity) : NULL, "%s",
	           sev != NULL ? sev : "?");
	table_cell(t, NULL, "%s", kind != NULL ? kind : "?");
	table_cell(t, NULL, "%s", subject[0] != '\0' ? subject : "server");
	table_cell(t, NULL, "%s", since);
	table_cell(t, NULL, "%s", last);
	table_cell(t, NULL, "%s", o->acked ? "yes" : "no");
	table_cell(t, NULL, "%s", a->summary != NULL ? a->summary : "");
}

int
alerts_open_run(struct hbctl *h, const struct alert_filter *filter)
{
	static const char *const headers[] = {
		"SEQ",        "SEVERITY", "KIND",    "SUBJECT", "SINCE",
		"LAST ALERT", "ACKED",    "SUMMARY", NULL
	};
	Hbmon__V1__AlertsOpenRequest req = HBMON__V1__ALERTS_OPEN_REQUEST__INIT;
	Hbmon__V1__AlertsOpenReply *reply = NULL;
	struct table *t = NULL;
	int64_t now = clock_wall_ms();
	int rv;

	if ((rv = hbctl_admin(h, "AlertsOpen", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	if (!h->json && (t = table_new(headers)) == NULL) {
		protobuf_c_message_free_unpacked(&reply->base, NULL);
		return HBCTL_EXIT_FAILED;
	}
	for (size_t i = 0; i < reply->n_alerts; i++) {
		const Hbmon__V1__OpenAlert *o = reply->alerts[i];

		if (o->alert == NULL || !alert_filter_pass(filter, o->alert)) {
			continue;
		}
		if (t != NULL) {
			add_row(h, t, now, o);
		} else {
			print_json(h, o);
		}
	}
	if (t != NULL) {
		if (table_rows(t) == 0) {
			printf("Nothing is firing%s.\n",
			       reply->n_alerts > 0 ? " that passes the filter"
			                           : "");
		} else {
			table_print(t, stdout, h->color);
		}
		table_free(t);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}
