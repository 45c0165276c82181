/* hbctl alerts: the alert outbox, filtered, once or --follow; or what is
 * firing now (--open, alerts_open.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "common/alert_json.h"
#include "common/subject_name.h"
#include "common/words.h"
#include "hbmon/error.h"

const char cmd_alerts_usage[] =
    "usage: hbctl alerts [--since-seq N] [--follow [--new] [--count N]]\n"
    "                    [--severity S] [--kind K[,K...]] [--robot R] "
    "[--no-recovered] [--json]\n"
    "       hbctl alerts --open [--severity S] [--kind K[,K...]] "
    "[--robot R] [--json]\n"
    "\n"
    "Alerts from the server's outbox in seq order: every alert after\n"
    "--since-seq N (default 0: all of them). With --follow, keeps showing\n"
    "new alerts as they are raised until interrupted: each exactly once, in\n"
    "seq order, with nothing lost even when the PUB socket drops some (the\n"
    "gaps are read from the outbox).\n"
    "With --open, what is firing now instead: one line per open episode\n"
    "(the seq of the alert that opened it, since when, its latest alert,\n"
    "whether it was acked, and its summary as of now); \"Nothing is\n"
    "firing.\" when all is well.\n"
    "\n"
    "  --open               what is firing now, not the alerts as raised\n"
    "  --since-seq N        only alerts with a seq above N\n"
    "  --severity S         only S or worse: info, warning, critical\n"
    "                       (RECOVERED, the all-clears, always pass)\n"
    "  --kind K[,K...]      only these kinds: HEARTBEAT_MISSED, RECOVERED,\n"
    "                       STATUS_CHANGED, INVALID_TRANSITION, CLOCK_SKEW,\n"
    "                       ACCOUNT_MISMATCH, SERVER_RESTARTED,\n"
    "                       LISTENER_RESTARTED, STORAGE_FAILING,\n"
    "                       DISK_SPACE_LOW (a RECOVERED passes when the\n"
    "                       kind it resolves is listed)\n"
    "  --robot R[,R...]     only alerts about these robots and their\n"
    "                       accounts, and the server's own\n"
    "  --no-recovered       leave out the all-clears (RECOVERED)\n"
    "  --follow             keep going; stop with Ctrl-C (exit 0)\n"
    "  --new                with --follow: start after the newest alert\n"
    "  --count N            with --follow: stop after N alerts shown\n"
    "  --publish URL        the server's PUB socket (default: alerts.sock\n"
    "                       beside an ipc:// admin socket; with a tcp://\n"
    "                       admin URL and no --publish, the outbox is read\n"
    "                       every --poll)\n"
    "  --poll D             how often --follow reads the outbox when PUB is\n"
    "                       quiet (default 2s)\n"
    "--json: one object per alert per line with seq, kind, severity, state,\n"
    "robot, account, subject, summary, dedupe_key, raised_at, details;\n"
    "with --open also since, since_ms, last_alert, last_alert_ms, acked.\n";

enum {
	OPT_SINCE_SEQ = 1000,
	OPT_SEVERITY,
	OPT_KIND,
	OPT_ROBOT_FILTER,
	OPT_FOLLOW,
	OPT_NEW,
	OPT_COUNT,
	OPT_PUBLISH,
	OPT_POLL,
	OPT_NO_RECOVERED,
	OPT_OPEN,
};

struct alerts_args {
	struct follow_options follow;
	bool following, open;
	bool count_given, new_given;
};

void
alert_print_header(const struct hbctl *h)
{
	if (!h->json) {
		printf("%s%6s  %-25s  %-8s  %-18s  %-8s  %-14s  %s%s\n",
		       h->color ? COLOR_BOLD : "", "SEQ", "RAISED", "SEVERITY",
		       "KIND", "STATE", "SUBJECT", "SUMMARY",
		       h->color ? COLOR_RESET : "");
	}
}

void
alert_print(const struct hbctl *h, const Hbmon__V1__Alert *a)
{
	const char *kind = words_alert_kind(a->kind);
	const char *sev = words_severity(a->severity);
	const char *state = words_alert_state(a->state);
	const char *col = h->color ? out_severity_color(a->severity) : NULL;
	char when[64], subject[256];

	if (h->json) {
		char *text = alert_json_text(a, h->tz_min);
		if (text == NULL) {
			hbctl_error("out of memory writing alert %" PRIu64,
			            a->seq);
			return;
		}
		puts(text);
		free(text);
		return;
	}
	out_time(when, sizeof(when), a->raised_at_ms, h->tz_min);
	subject_name_format(subject, sizeof(subject), a->robot, a->account);
	printf("%6" PRIu64 "  %-25s  %s%-8s%s  %-18s  %-8s  %-14s  %s", a->seq,
	       when, col != NULL ? col : "", sev != NULL ? sev : "?",
	       col != NULL ? COLOR_RESET : "", kind != NULL ? kind : "?",
	       state != NULL ? state : "?", subject,
	       a->summary != NULL ? a->summary : "");
	if (a->repeat > 0) {
		printf(" (repeat %u)", a->repeat);
	}
	putchar('\n');
}

static int
on_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	struct alerts_args *a = arg;
	struct alert_filter *f = &a->follow.filter;
	char why[600];
	int rv = HBCTL_CONTINUE;

	switch (val) {
	case OPT_SINCE_SEQ:
		return hbctl_number(h, "--since-seq", value, 0, INT64_MAX,
		                    &a->follow.after_seq);
	case OPT_SEVERITY:
		if (alert_filter_set_severity(f, value, why, sizeof(why)) !=
		    HBMON_OK) {
			return hbctl_usage_error(h, "--severity %s", why);
		}
		break;
	case OPT_KIND:
		if (alert_filter_add_kinds(f, value, why, sizeof(why)) !=
		    HBMON_OK) {
			return hbctl_usage_error(h, "--kind %s", why);
		}
		break;
	case OPT_ROBOT_FILTER:
		if (alert_filter_add_robots(f, value, why, sizeof(why)) !=
		    HBMON_OK) {
			return hbctl_usage_error(h, "--robot %s", why);
		}
		break;
	case OPT_NO_RECOVERED:
		f->no_recovered = true;
		break;
	case OPT_FOLLOW:
		a->following = true;
		break;
	case OPT_OPEN:
		a->open = true;
		break;
	case OPT_NEW:
		a->new_given = true;
		a->follow.start_at_newest = true;
		break;
	case OPT_COUNT:
		a->count_given = true;
		return hbctl_number(h, "--count", value, 1, INT64_MAX,
		                    &a->follow.count);
	case OPT_PUBLISH:
		a->follow.publish_url = value;
		break;
	case OPT_POLL:
		rv = hbctl_duration(h, "--poll", value, &a->follow.poll_ms);
		if (rv == HBCTL_CONTINUE && a->follow.poll_ms < 10) {
			return hbctl_usage_error(
			    h, "--poll '%s' is too short; 10ms at least",
			    value);
		}
		break;
	}
	return rv;
}

/* alerts.sock beside an ipc:// admin socket, as the server lays them. */
static const char *
derive_publish(const char *admin_url, char *buf, size_t len)
{
	const char *path, *slash;

	if (strncmp(admin_url, "ipc://", 6) != 0) {
		return NULL;
	}
	path = admin_url + 6;
	slash = strrchr(path, '/');
	snprintf(buf, len, "ipc://%.*s%salerts.sock",
	         slash != NULL ? (int) (slash - path) : 0, path,
	         slash != NULL ? "/" : "");
	return buf;
}

/* Every alert after after_seq, page by page. */
static int
list_alerts(struct hbctl *h, const struct alerts_args *a)
{
	uint64_t after = a->follow.after_seq;
	bool header = false, more = true;
	int rv = HBCTL_EXIT_OK;

	while (more && rv == HBCTL_EXIT_OK) {
		Hbmon__V1__AlertsAfterRequest req =
		    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;
		Hbmon__V1__AlertsAfterReply *page = NULL;

		req.after_seq = after;
		req.limit = 1000;
		if ((rv = hbctl_admin(h, "AlertsAfter", &req.base,
		                      (ProtobufCMessage **) &page)) !=
		    HBCTL_EXIT_OK) {
			break;
		}
		for (size_t i = 0; i < page->n_alerts; i++) {
			const Hbmon__V1__Alert *x = page->alerts[i];
			after = x->seq;
			if (!alert_filter_pass(&a->follow.filter, x)) {
				continue;
			}
			if (!header) {
				alert_print_header(h);
				header = true;
			}
			alert_print(h, x);
		}
		more = page->more && page->n_alerts > 0;
		protobuf_c_message_free_unpacked(&page->base, NULL);
	}
	if (rv == HBCTL_EXIT_OK && !header && !h->json) {
		printf("No alerts%s.\n",
		       a->follow.after_seq > 0 ? " after that seq" : "");
	}
	return rv;
}

int
cmd_alerts(struct hbctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since-seq", required_argument, NULL, OPT_SINCE_SEQ },
		{ "severity", required_argument, NULL, OPT_SEVERITY },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "robot", required_argument, NULL, OPT_ROBOT_FILTER },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "new", no_argument, NULL, OPT_NEW },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "publish", required_argument, NULL, OPT_PUBLISH },
		{ "poll", required_argument, NULL, OPT_POLL },
		{ "no-recovered", no_argument, NULL, OPT_NO_RECOVERED },
		{ "open", no_argument, NULL, OPT_OPEN },
		{ NULL, 0, NULL, 0 },
	};
	struct alerts_args a = { 0 };
	char derived[600];
	int first, rv;

	alert_filter_init(&a.follow.filter);
	a.follow.poll_ms = 2000;
	if ((rv = hbctl_parse(h, argc, argv, opts, on_flag, &a, &first)) !=
	    HBCTL_CONTINUE) {
		return rv;
	}
	if ((rv = hbctl_positional(h, argc, argv, first, 0, 0,
	                           "no "
	                           "arguments")) != HBCTL_CONTINUE) {
		return rv;
	}
	if (a.open) {
		/* What is firing is never a RECOVERED, nor a range of seqs. */
		if (a.following || a.count_given || a.new_given ||
		    a.follow.after_seq > 0 || a.follow.filter.no_recovered ||
		    a.follow.publish_url != NULL) {
			return hbctl_usage_error(
			    h, "--open shows what is firing now; it takes "
			       "--severity, --kind, --robot and --json only");
		}
		return alerts_open_run(h, &a.follow.filter);
	}
	if (!a.following) {
		if (a.count_given || a.new_given) {
			return hbctl_usage_error(h, "--count and --new go "
			                            "with --follow");
		}
		return list_alerts(h, &a);
	}
	if (a.new_given && a.follow.after_seq > 0) {
		return hbctl_usage_error(h, "give --new or --since-seq, not "
		                            "both");
	}
	if (a.follow.publish_url == NULL) {
		a.follow.publish_url =
		    derive_publish(h->admin_url, derived, sizeof(derived));
		if (a.follow.publish_url == NULL) {
			hbctl_error("no --publish URL for a %s admin socket: "
			            "reading the outbox every %lld ms instead",
			            h->admin_url, (long long) a.follow.poll_ms);
		}
	}
	return follow_run(h, &a.follow);
}
