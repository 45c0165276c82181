/* hbctl show SUBJECT: one robot or account in detail (Admin.Subject). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/subject_name.h"
#include "hbctl.h"

const char cmd_show_usage[] =
    "usage: hbctl show SUBJECT [--recent N] [--json]\n"
    "\n"
    "One robot (R1) or account (R1/ACC_003): its liveness, the state it\n"
    "last reported, and its most recent heartbeats and state changes.\n"
    "\n"
    "  --recent N           how many recent heartbeats and state changes\n"
    "                       (default 10, at most 1000)\n"
    "--json: one object {\"state\": {...}, \"transitions\": [...],\n"
    "\"heartbeats\": [...]}.\n";

enum { OPT_RECENT = 1000 };

static int
on_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	Hbmon__V1__SubjectRequest *req = arg;
	uint64_t n;
	int rv;

	(void) val;
	if ((rv = hbctl_number(h, "--recent", value, 1, 1000, &n)) ==
	    HBCTL_CONTINUE) {
		req->recent = (uint32_t) n;
	}
	return rv;
}

static void
print_state(struct hbctl *h, const Hbmon__V1__SubjectReply *r, int64_t now)
{
	const Hbmon__V1__SubjectState *s = r->state;
	bool robot = s->account == NULL || s->account[0] == '\0';
	char name[256], when[64], age[64], note[512];
	const char *lc = h->color ? out_liveness_color(s->liveness) : "";

	subject_name_format(name, sizeof(name), s->robot, s->account);
	out_time(when, sizeof(when), s->last_seen_ms, h->tz_min);
	out_age(age, sizeof(age), now, s->last_seen_ms);
	printf("%s%s%s (%s)\n", h->color ? COLOR_BOLD : "", name,
	       h->color ? COLOR_RESET : "", robot ? "robot" : "account");
	printf("  liveness        %s%s%s\n", lc, subject_liveness(s),
	       h->color ? COLOR_RESET : "");
	printf("  last seen       %s (%s)\n", age, when);
	printf("  misses          %u\n", s->misses);
	printf("  %-15s %s\n", robot ? "health" : "status", subject_status(s));
	if (robot) {
		printf("  active accounts %u (as reported), %u heard from\n",
		       s->active_accounts, s->accounts_total);
		printf("  active tasks    %u\n", s->active_tasks);
		if (s->accounts_late + s->accounts_down > 0) {
			printf("  accounts        %u late, %u down\n",
			       s->accounts_late, s->accounts_down);
		}
	} else {
		printf("  session         %s\n",
		       s->session_valid ? "valid" : "invalid");
		printf("  open orders     %u\n", s->open_orders);
	}
	if (s->last_timestamp != NULL && s->last_timestamp[0] != '\0') {
		printf("  timestamp       %s (the last heartbeat's own, as "
		       "sent)\n",
		       s->last_timestamp);
	}
	subject_pause_note(note, sizeof(note), s, now, h->tz_min);
	if (note[0] != '\0') {
		printf("  paused          %s\n", note + strlen("paused "));
	}
}

static void
print_transitions(struct hbctl *h, const Hbmon__V1__SubjectReply *r,
                  int64_t now)
{
	static const char *const headers[] = { "RECEIVED", "AGE", "CHANGE",
		                               NULL };
	struct table *t;

	printf("\nRecent state changes (oldest first):\n");
	if (r->n_transitions == 0) {
		printf("  none recorded\n");
		return;
	}
	if ((t = table_new(headers)) == NULL) {
		return;
	}
	for (size_t i = 0; i < r->n_transitions; i++) {
		const Hbmon__V1__TransitionRecord *x = r->transitions[i];
		char when[64], age[64];

		out_time(when, sizeof(when), x->received_ms, h->tz_min);
		out_age(age, sizeof(age), now, x->received_ms);
		table_row(t);
		table_cell(t, NULL, "%s", when);
		table_cell(t, NULL, "%s", age);
		table_cell(t, x->allowed ? NULL : COLOR_YELLOW, "%s -> %s%s",
		           x->from_status[0] ? x->from_status : "(first)",
		           x->to_status,
		           x->allowed ? "" : " (not allowed by the diagram)");
	}
	table_print(t, stdout, h->color);
	table_free(t);
}

static void
print_heartbeats(struct hbctl *h, const Hbmon__V1__SubjectReply *r, int64_t now)
{
	static const char *const headers[] = { "RECEIVED", "AGE", "HEARTBEAT",
		                               NULL };
	struct table *t;

	printf("\nRecent heartbeats (oldest first):\n");
	if (r->n_heartbeats == 0) {
		printf("  none recorded\n");
		return;
	}
	if ((t = table_new(headers)) == NULL) {
		return;
	}
	for (size_t i = 0; i < r->n_heartbeats; i++) {
		const Hbmon__V1__HeartbeatRecord *x = r->heartbeats[i];
		char when[64], age[64];

		out_time(when, sizeof(when), x->received_ms, h->tz_min);
		out_age(age, sizeof(age), now, x->received_ms);
		table_row(t);
		table_cell(t, NULL, "%s", when);
		table_cell(t, NULL, "%s", age);
		table_cell(t, NULL, "%s", x->json);
	}
	table_print(t, stdout, h->color);
	table_free(t);
}

static json_t *
reply_json(const Hbmon__V1__SubjectReply *r, int tz)
{
	json_t *o = json_object();
	json_t *tr = json_array();
	json_t *hb = json_array();

	for (size_t i = 0; tr != NULL && i < r->n_transitions; i++) {
		json_array_append_new(
		    tr, subject_transition_json(r->transitions[i], tz));
	}
	for (size_t i = 0; hb != NULL && i < r->n_heartbeats; i++) {
		json_array_append_new(
		    hb, subject_heartbeat_json(r->heartbeats[i], tz));
	}
	if (o == NULL || tr == NULL || hb == NULL) {
		json_decref(o);
		json_decref(tr);
		json_decref(hb);
		return NULL;
	}
	json_object_set_new(o, "state", subject_json(r->state, tz));
	json_object_set_new(o, "transitions", tr);
	json_object_set_new(o, "heartbeats", hb);
	return o;
}

int
cmd_show(struct hbctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "recent", required_argument, NULL, OPT_RECENT },
		{ NULL, 0, NULL, 0 },
	};
	Hbmon__V1__SubjectRequest req = HBMON__V1__SUBJECT_REQUEST__INIT;
	Hbmon__V1__SubjectReply *reply = NULL;
	int64_t now;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, opts, on_flag, &req, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 1, 1, "SUBJECT")) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_subject(h, argv[first])) != HBCTL_CONTINUE) {
		return rv;
	}
	req.subject = argv[first];
	if ((rv = hbctl_admin(h, "Subject", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	now = clock_wall_ms();
	if (reply->state == NULL) {
		hbctl_error("the server sent no state for %s", argv[first]);
		rv = HBCTL_EXIT_FAILED;
	} else if (h->json) {
		out_json_line(reply_json(reply, h->tz_min));
	} else {
		print_state(h, reply, now);
		print_transitions(h, reply, now);
		print_heartbeats(h, reply, now);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rv;
}
