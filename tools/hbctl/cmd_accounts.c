/* hbctl accounts [ROBOT]: the accounts of one robot or all (Admin.Accounts). */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/subject_name.h"
#include "hbctl.h"

const char cmd_accounts_usage[] =
    "usage: hbctl accounts [ROBOT] [--json]\n"
    "\n"
    "Accounts of ROBOT, or of every robot: liveness, the status the robot\n"
    "reports (idle, active, expired, error), whether the session is valid,\n"
    "open orders, when each was last heard and how many heartbeats it\n"
    "missed. --json: one object per account per line.\n";

static const char *
status_color(const Hbmon__V1__SubjectState *s)
{
	switch (s->account_status) {
	case HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_EXPIRED:
		return COLOR_YELLOW;
	case HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ERROR:
		return COLOR_RED;
	default:
		return NULL;
	}
}

int
cmd_accounts(struct hbctl *h, int argc, char **argv)
{
	static const char *const headers[] = {
		"ACCOUNT",   "LIVENESS", "STATUS", "SESSION", "ORDERS",
		"LAST SEEN", "MISSES",   "NOTE",   NULL
	};
	Hbmon__V1__AccountsRequest req = HBMON__V1__ACCOUNTS_REQUEST__INIT;
	Hbmon__V1__AccountsReply *reply = NULL;
	struct table *t;
	int64_t now;
	int first, rv;

	if ((rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 0, 1, "[ROBOT]")) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if (first < argc) {
		if (!subject_name_is_robot(argv[first])) {
			return hbctl_usage_error(
			    h,
			    "'%s' is not a robot id; `hbctl show %s` shows "
			    "one account",
			    argv[first], argv[first]);
		}
		req.robot = argv[first];
	}
	if ((rv = hbctl_admin(h, "Accounts", &req.base,
	                      (ProtobufCMessage **) &reply)) != HBCTL_EXIT_OK) {
		return rv;
	}
	now = clock_wall_ms();
	if (h->json) {
		for (size_t i = 0; i < reply->n_accounts; i++) {
			out_json_line(
			    subject_json(reply->accounts[i], h->tz_min));
		}
	} else if (reply->n_accounts == 0) {
		printf("No account has reported yet.\n");
	} else if ((t = table_new(headers)) != NULL) {
		for (size_t i = 0; i < reply->n_accounts; i++) {
			const Hbmon__V1__SubjectState *s = reply->accounts[i];
			char name[256], age[64], note[512];

			subject_name_format(name, sizeof(name), s->robot,
			                    s->account);
			out_age(age, sizeof(age), now, s->last_seen_ms);
			subject_pause_note(note, sizeof(note), s, now,
			                   h->tz_min);
			table_row(t);
			table_cell(t, NULL, "%s", name);
			table_cell(t, out_liveness_color(s->liveness), "%s",
			           subject_liveness(s));
			table_cell(t, status_color(s), "%s", subject_status(s));
			table_cell(t, s->session_valid ? NULL : COLOR_YELLOW,
			           "%s",
			           s->session_valid ? "valid" : "invalid");
			table_cell(t, NULL, "%u", s->open_orders);
			table_cell(t, NULL, "%s", age);
			table_cell(t, NULL, "%u", s->misses);
			table_cell(t, COLOR_BLUE, "%s", note);
		}
		table_print(t, stdout, h->color);
		table_free(t);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return HBCTL_EXIT_OK;
}
