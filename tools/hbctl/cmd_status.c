/* hbctl status: every robot at a glance (Admin.Overview). */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "hbctl.h"

const char cmd_status_usage[] =
    "usage: hbctl status [--json]\n"
    "\n"
    "Every robot the server has heard from: liveness (ok, late, down,\n"
    "paused), the health it reports, when it was last heard, how many\n"
    "heartbeats it missed, and its accounts by status.\n"
    "--json: one object per robot per line.\n";

/* Appends ", <count> <word>" (no comma when buf is empty). */
static void
append(char *buf, size_t len, uint32_t count, const char *word)
{
	size_t n = strlen(buf);

	if (count > 0 && n < len) {
		snprintf(buf + n, len - n, "%s%u %s", n > 0 ? ", " : "", count,
		         word);
	}
}

/* "12 (10 active, 2 expired; 1 down)" */
static void
accounts_cell(struct table *t, const Hbmon__V1__SubjectState *s)
{
	char by_status[160] = "", by_liveness[64] = "";

	append(by_status, sizeof(by_status), s->accounts_active, "active");
	append(by_status, sizeof(by_status), s->accounts_idle, "idle");
	append(by_status, sizeof(by_status), s->accounts_expired, "expired");
	append(by_status, sizeof(by_status), s->accounts_error, "error");
	append(by_liveness, sizeof(by_liveness), s->accounts_down, "down");
	append(by_liveness, sizeof(by_liveness), s->accounts_late, "late");
	table_cell(t,
	           s->accounts_down > 0   ? COLOR_RED
	           : s->accounts_late > 0 ? COLOR_YELLOW
	                                  : NULL,
	           "%u%s%s%s%s%s", s->accounts_total,
	           by_status[0] || by_liveness[0] ? " (" : "", by_status,
	           by_status[0] && by_liveness[0] ? "; " : "", by_liveness,
	           by_status[0] || by_liveness[0] ? ")" : "");
}

static void
pause_cell(struct hbctl *h, struct table *t, const Hbmon__V1__SubjectState *s,
           int64_t now)
{
	char note[512];

	subject_pause_note(note, sizeof(note), s, now, h->tz_min);
	table_cell(t, COLOR_BLUE, "%s", note);
}

static const char *
health_color(const Hbmon__V1__SubjectState *s)
{
	switch (s->health) {
	case HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED:
		return COLOR_YELLOW;
	case HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNHEALTHY:
		return COLOR_RED;
	default:
		return NULL;
	}
}

int
cmd_status(struct hbctl *h, int argc, char **argv)
{
	static const char *const headers[] = { "ROBOT",  "LIVENESS",
		                               "HEALTH", "LAST SEEN",
		                               "MISSES", "ACCOUNTS",
		                               "NOTE",   NULL };
	Hbmon__V1__OverviewRequest req = HBMON__V1__OVERVIEW_REQUEST__INIT;
	Hbmon__V1__OverviewReply *reply = NULL;
	struct table *t;
	int64_t now;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 0, 0, "nothing")) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_admin(h, "Overview", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	now = clock_wall_ms();
	if (h->json) {
		for (size_t i = 0; i < reply->n_robots; i++) {
			out_json_line(
			    subject_json(reply->robots[i], h->tz_min));
		}
	} else if (reply->n_robots == 0) {
		printf("No robot has reported yet. Register one with `hbctl "
		       "robot add ID` and start it with its secret.\n");
	} else if ((t = table_new(headers)) != NULL) {
		for (size_t i = 0; i < reply->n_robots; i++) {
			const Hbmon__V1__SubjectState *s = reply->robots[i];
			char age[64];

			out_age(age, sizeof(age), now, s->last_seen_ms);
			table_row(t);
			table_cell(t, NULL, "%s", s->robot);
			table_cell(t, out_liveness_color(s->liveness), "%s",
			           subject_liveness(s));
			table_cell(t, health_color(s), "%s", subject_status(s));
			table_cell(t, NULL, "%s", age);
			table_cell(t, NULL, "%u", s->misses);
			accounts_cell(t, s);
			pause_cell(h, t, s, now);
		}
		table_print(t, stdout, h->color);
		table_free(t);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}
