/* hbctl history SUBJECT: heartbeats and state changes in a time range. */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/quote.h"
#include "hbctl.h"

const char cmd_history_usage[] =
    "usage: hbctl history SUBJECT [--since T] [--until T] [--limit N] "
    "[--oldest-first]\n"
    "                     [--json]\n"
    "\n"
    "The heartbeats and state changes of a robot (R1) or an account\n"
    "(R1/ACC_003) recorded in a time range, newest first. A time T is a\n"
    "duration back from now (30m, 2h, 1d) or an RFC 3339 time\n"
    "(2026-01-20T09:30:00+07:00).\n"
    "\n"
    "  --since T            start of the range (default 1h: the last hour)\n"
    "  --until T            end of the range (default now)\n"
    "  --limit N            at most N heartbeats and N state changes, the\n"
    "                       newest (default 100, at most 10000)\n"
    "  --oldest-first       the oldest N instead, oldest first\n"
    "--json: one object per line, \"type\" \"heartbeat\" or \"transition\".\n";

enum { OPT_SINCE = 1000, OPT_UNTIL, OPT_LIMIT, OPT_OLDEST_FIRST };

struct range {
	int64_t now;
	Hbmon__V1__HistoryRequest *req;
};

static int
on_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	struct range *r = arg;
	uint64_t n;
	int rv;

	switch (val) {
	case OPT_SINCE:
		return hbctl_time(h, "--since", value, r->now,
		                  &r->req->since_ms);
	case OPT_UNTIL:
		return hbctl_time(h, "--until", value, r->now,
		                  &r->req->until_ms);
	case OPT_OLDEST_FIRST:
		r->req->newest_first = false;
		return HBCTL_CONTINUE;
	default:
		if ((rv = hbctl_number(h, "--limit", value, 1, 10000, &n)) ==
		    HBCTL_CONTINUE) {
			r->req->limit = (uint32_t) n;
		}
		return rv;
	}
}

/* One row: a heartbeat or a transition, whichever comes first. */
static void
add_row(struct hbctl *h, struct table *t, int64_t now, int64_t at,
        const char *color, const char *type, const char *detail)
{
	char when[64], age[64];

	out_time(when, sizeof(when), at, h->tz_min);
	out_age(age, sizeof(age), now, at);
	table_row(t);
	table_cell(t, NULL, "%s", when);
	table_cell(t, NULL, "%s", age);
	table_cell(t, color, "%s", type);
	table_cell(t, color, "%s", detail);
}

int
cmd_history(struct hbctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "oldest-first", no_argument, NULL, OPT_OLDEST_FIRST },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const headers[] = { "RECEIVED", "AGE", "TYPE",
		                               "DETAIL", NULL };
	Hbmon__V1__HistoryRequest req = HBMON__V1__HISTORY_REQUEST__INIT;
	Hbmon__V1__HistoryReply *reply = NULL;
	struct range range = { clock_wall_ms(), &req };
	struct table *t = NULL;
	size_t i = 0, j = 0;
	int first, rv;

	req.since_ms = range.now - 3600 * 1000;
	req.limit = 100;
	req.newest_first = true; /* triage starts at the latest */
	if ((rv = hbctl_parse(h, argc, argv, opts, on_flag, &range, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 1, 1, "SUBJECT")) !=
	        HBCTL_CONTINUE ||
	    (rv = hbctl_subject(h, argv[first])) != HBCTL_CONTINUE) {
		return rv;
	}
	if (req.until_ms != 0 && req.until_ms < req.since_ms) {
		return hbctl_usage_error(h, "--until is before --since");
	}
	req.subject = argv[first];
	if ((rv = hbctl_admin(h, "History", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	if (!h->json && (t = table_new(headers)) == NULL) {
		protobuf_c_message_free_unpacked(&reply->base, NULL);
		return HBCTL_EXIT_FAILED;
	}
	/* Both lists come in the order asked for: merge them into one
	 * timeline. */
	while (i < reply->n_heartbeats || j < reply->n_transitions) {
		const Hbmon__V1__HeartbeatRecord *hb =
		    i < reply->n_heartbeats ? reply->heartbeats[i] : NULL;
		const Hbmon__V1__TransitionRecord *tr =
		    j < reply->n_transitions ? reply->transitions[j] : NULL;

		/* A change sorts before the heartbeat that carried it
		 * (after it, newest first). */
		if (tr != NULL &&
		    (hb == NULL ||
		     (req.newest_first ? tr->received_ms > hb->received_ms
		                       : tr->received_ms <= hb->received_ms))) {
			char change[160];

			j++;
			if (h->json) {
				out_json_line(
				    subject_transition_json(tr, h->tz_min));
				continue;
			}
			snprintf(
			    change, sizeof(change), "%s -> %s%s",
			    tr->from_status[0] ? tr->from_status : "(first)",
			    tr->to_status,
			    tr->allowed ? "" : " (not allowed by the diagram)");
			add_row(h, t, range.now, tr->received_ms,
			        tr->allowed ? NULL : COLOR_YELLOW, "change",
			        change);
		} else {
			i++;
			if (h->json) {
				out_json_line(
				    subject_heartbeat_json(hb, h->tz_min));
				continue;
			}
			add_row(h, t, range.now, hb->received_ms, NULL,
			        "heartbeat", hb->json);
		}
	}
	if (t != NULL) {
		if (table_rows(t) == 0) {
			char subject[QUOTE_NAME_SIZE * 2];
			printf(
			    "Nothing recorded for %s in that range.\n",
			    quote_str(subject, sizeof(subject), argv[first]));
		} else {
			table_print(t, stdout, h->color);
		}
		table_free(t);
	}
	if (reply->truncated) {
		hbctl_error("the range holds more than %u heartbeats or state "
		            "changes; these are the %s. Narrow --since / "
		            "--until or raise --limit.",
		            req.limit, req.newest_first ? "newest" : "oldest");
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}
