/*
 * hbctl check [SUBJECT]: a Nagios/Icinga plugin. One status line on
 * stdout and the plugin exit codes: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (also for every failure of the check itself).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/quote.h"
#include "common/subject_name.h"
#include "hbctl.h"

const char cmd_check_usage[] =
    "usage: hbctl check [SUBJECT] [--json]\n"
    "\n"
    "A Nagios / Icinga plugin: prints one status line, e.g.\n"
    "  HBMON OK - R1 healthy, 12/12 accounts ok\n"
    "and exits 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN. Without SUBJECT\n"
    "it checks every robot; SUBJECT is a robot (R1, with its accounts) or\n"
    "one account (R1/ACC_003).\n"
    "\n"
    "CRITICAL: a subject is down (more than miss_threshold heartbeats\n"
    "  missed), a robot reports unhealthy, or an account in error or with\n"
    "  an expired session still has open orders.\n"
    "WARNING: a subject is late (a heartbeat missed), a robot reports\n"
    "  degraded, an account reports error or an expired session.\n"
    "UNKNOWN: no such subject, never heard from, nothing reported yet, or\n"
    "  the server cannot be asked (also for a bad command line).\n"
    "Paused subjects are OK. --json: {\"code\", \"status\", \"text\"}.\n";

enum verdict {
	V_OK = 0,
	V_WARNING = 1,
	V_CRITICAL = 2,
	V_UNKNOWN = 3,
};

static const char *const verdict_word[] = { "OK", "WARNING", "CRITICAL",
	                                    "UNKNOWN" };

/* The worse of two verdicts: CRITICAL > WARNING > UNKNOWN > OK. */
static enum verdict
worse(enum verdict a, enum verdict b)
{
	static const int rank[] = { 0, 2, 3, 1 };
	return rank[b] > rank[a] ? b : a;
}

/* The verdict on one subject's own state, and a few words on why. */
static enum verdict
judge(const Hbmon__V1__SubjectState *s, int64_t now, char *why, size_t len)
{
	bool robot = s->account == NULL || s->account[0] == '\0';
	enum verdict v = V_OK;
	char age[64];

	out_age(age, sizeof(age), now, s->last_seen_ms);
	switch (s->liveness) {
	case HBMON__V1__LIVENESS__LIVENESS_PAUSED:
		snprintf(why, len, "paused");
		return V_OK;
	case HBMON__V1__LIVENESS__LIVENESS_DOWN:
		snprintf(why, len, "down, %u heartbeats missed, last seen %s",
		         s->misses, age);
		return V_CRITICAL;
	case HBMON__V1__LIVENESS__LIVENESS_LATE:
		snprintf(why, len, "late, last seen %s", age);
		v = V_WARNING;
		break;
	case HBMON__V1__LIVENESS__LIVENESS_OK:
		snprintf(why, len, "%s", subject_status(s));
		break;
	default:
		snprintf(why, len, "never heard from");
		return V_UNKNOWN;
	}
	if (robot) {
		switch (s->health) {
		case HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNHEALTHY:
			v = V_CRITICAL;
			break;
		case HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED:
			v = worse(v, V_WARNING);
			break;
		default:
			break;
		}
	} else if (s->account_status ==
	               HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ERROR ||
	           s->account_status ==
	               HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_EXPIRED) {
		/* Exposure decides (SPEC §3.3): open orders on an account
		 * that cannot trade properly are critical. */
		v = worse(v, s->open_orders > 0 ? V_CRITICAL : V_WARNING);
		if (s->open_orders > 0) {
			size_t n = strlen(why);
			snprintf(why + n, len - n, ", %u open orders",
			         s->open_orders);
		}
	}
	if (v != V_OK && s->liveness == HBMON__V1__LIVENESS__LIVENESS_LATE) {
		return v;
	}
	if (v != V_OK) {
		snprintf(why, len, "%s%s", subject_status(s),
		         !robot && s->open_orders > 0 ? " with open orders"
		                                      : "");
	}
	return v;
}

/* Whether s is late or down. */
static bool
silent(const Hbmon__V1__SubjectState *s)
{
	return s->liveness == HBMON__V1__LIVENESS__LIVENESS_LATE ||
	       s->liveness == HBMON__V1__LIVENESS__LIVENESS_DOWN;
}

/* Appends "; <text>" (or just text when buf is empty). */
static void add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 2 >= len) {
		return;
	}
	if (n > 0) {
		buf[n++] = ';';
		buf[n++] = ' ';
		buf[n] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/*
 * One robot with its accounts (Subject + Accounts). out: how many
 * accounts it has and how many of them are ok.
 */
static enum verdict
check_robot(struct hbctl *h, const char *robot, int64_t now, char *text,
            size_t len, char *why, size_t why_len, int *rv, uint64_t *out_ok,
            uint64_t *out_total)
{
	Hbmon__V1__SubjectRequest sreq = HBMON__V1__SUBJECT_REQUEST__INIT;
	Hbmon__V1__AccountsRequest areq = HBMON__V1__ACCOUNTS_REQUEST__INIT;
	Hbmon__V1__SubjectReply *sub = NULL;
	Hbmon__V1__AccountsReply *acc = NULL;
	char about[256], problems[1024] = "";
	enum verdict v;
	size_t ok = 0;

	sreq.subject = (char *) robot;
	sreq.recent = 1;
	if ((*rv = hbctl_try_admin(h, "Subject", &sreq.base,
	                           (ProtobufCMessage **) &sub, why, why_len)) !=
	    HBCTL_EXIT_OK) {
		return V_UNKNOWN;
	}
	areq.robot = (char *) robot;
	if ((*rv = hbctl_try_admin(h, "Accounts", &areq.base,
	                           (ProtobufCMessage **) &acc, why, why_len)) !=
	    HBCTL_EXIT_OK) {
		protobuf_c_message_free_unpacked(&sub->base, NULL);
		return V_UNKNOWN;
	}
	v = judge(sub->state, now, about, sizeof(about));
	for (size_t i = 0; i < acc->n_accounts; i++) {
		const Hbmon__V1__SubjectState *a = acc->accounts[i];
		char what[256];
		enum verdict av = judge(a, now, what, sizeof(what));

		if (av == V_OK) {
			ok++;
			continue;
		}
		/* A silent robot already says its accounts are silent. */
		if (!silent(sub->state) || !silent(a)) {
			add(problems, sizeof(problems), "%s %s", a->account,
			    what);
		}
		v = worse(v, av);
	}
	snprintf(text, len, "%s %s, %zu/%zu accounts ok%s%s", robot, about, ok,
	         acc->n_accounts, problems[0] ? "; " : "", problems);
	*out_ok = ok;
	*out_total = acc->n_accounts;
	protobuf_c_message_free_unpacked(&sub->base, NULL);
	protobuf_c_message_free_unpacked(&acc->base, NULL);
	return v;
}

/* One account. */
static enum verdict
check_account(struct hbctl *h, const char *subject, int64_t now, char *text,
              size_t len, char *why, size_t why_len, int *rv)
{
	Hbmon__V1__SubjectRequest req = HBMON__V1__SUBJECT_REQUEST__INIT;
	Hbmon__V1__SubjectReply *sub = NULL;
	char about[256], age[64];
	enum verdict v;

	req.subject = (char *) subject;
	req.recent = 1;
	if ((*rv = hbctl_try_admin(h, "Subject", &req.base,
	                           (ProtobufCMessage **) &sub, why, why_len)) !=
	    HBCTL_EXIT_OK) {
		return V_UNKNOWN;
	}
	v = judge(sub->state, now, about, sizeof(about));
	out_age(age, sizeof(age), now, sub->state->last_seen_ms);
	if (v == V_OK &&
	    sub->state->liveness == HBMON__V1__LIVENESS__LIVENESS_OK) {
		snprintf(text, len,
		         "%s %s, session %s, %u open orders, last seen %s",
		         subject, about,
		         sub->state->session_valid ? "valid" : "invalid",
		         sub->state->open_orders, age);
	} else {
		snprintf(text, len, "%s %s", subject, about);
	}
	protobuf_c_message_free_unpacked(&sub->base, NULL);
	return v;
}

/*
 * Every robot. The overview's counts show which robots are fine; the
 * others are judged account by account as check_robot does, so that
 * `check` and `check ROBOT` always agree.
 */
static enum verdict
check_all(struct hbctl *h, int64_t now, char *text, size_t len, char *why,
          size_t why_len, int *rv)
{
	Hbmon__V1__OverviewRequest req = HBMON__V1__OVERVIEW_REQUEST__INIT;
	Hbmon__V1__OverviewReply *o = NULL;
	char problems[1024] = "";
	enum verdict v = V_OK;
	size_t robots_ok = 0;
	uint64_t accounts = 0, accounts_ok = 0;

	if ((*rv = hbctl_try_admin(h, "Overview", &req.base,
	                           (ProtobufCMessage **) &o, why, why_len)) !=
	    HBCTL_EXIT_OK) {
		return V_UNKNOWN;
	}
	if (o->n_robots == 0) {
		snprintf(text, len, "no robot has reported yet");
		protobuf_c_message_free_unpacked(&o->base, NULL);
		return V_UNKNOWN;
	}
	for (size_t i = 0; i < o->n_robots && *rv == HBCTL_EXIT_OK; i++) {
		const Hbmon__V1__SubjectState *s = o->robots[i];
		char what[512];
		uint64_t ok = 0, total = 0;
		enum verdict rvd = judge(s, now, what, sizeof(what));

		if (s->liveness == HBMON__V1__LIVENESS__LIVENESS_UNKNOWN) {
			/* Registered, never reported: nothing more to ask. */
			add(problems, sizeof(problems), "%s has never reported",
			    s->robot);
			v = worse(v, V_UNKNOWN);
			continue;
		}
		if (rvd == V_OK && s->accounts_down + s->accounts_late +
		                           s->accounts_expired +
		                           s->accounts_error ==
		                       0) {
			robots_ok++;
			accounts += s->accounts_total;
			accounts_ok += s->accounts_total;
			continue;
		}
		rvd = check_robot(h, s->robot, now, what, sizeof(what), why,
		                  why_len, rv, &ok, &total);
		accounts += total;
		accounts_ok += ok;
		if (rvd == V_OK) {
			robots_ok++;
		} else {
			add(problems, sizeof(problems), "%s", what);
		}
		v = worse(v, rvd);
	}
	if (*rv == HBCTL_EXIT_OK) {
		snprintf(
		    text, len, "%zu/%zu robots ok, %llu/%llu accounts ok%s%s",
		    robots_ok, o->n_robots, (unsigned long long) accounts_ok,
		    (unsigned long long) accounts, problems[0] ? "; " : "",
		    problems);
	}
	protobuf_c_message_free_unpacked(&o->base, NULL);
	return v;
}

int
cmd_check(struct hbctl *h, int argc, char **argv)
{
	char text[2048] = "", why[1024] = "";
	enum verdict v;
	int64_t now;
	int first, rv = HBCTL_EXIT_OK;

	rv = hbctl_parse(h, argc, argv, NULL, NULL, NULL, &first);
	if (rv == HBCTL_CONTINUE) {
		rv = hbctl_positional(h, argc, argv, first, 0, 1, "[SUBJECT]");
	}
	if (rv == HBCTL_CONTINUE && first < argc) {
		rv = hbctl_subject(h, argv[first]);
	}
	if (rv != HBCTL_CONTINUE) {
		/* --help is fine; a bad command line is UNKNOWN. */
		return rv == HBCTL_EXIT_OK ? rv : V_UNKNOWN;
	}
	rv = HBCTL_EXIT_OK;
	now = clock_wall_ms();
	if (first >= argc) {
		v = check_all(h, now, text, sizeof(text), why, sizeof(why),
		              &rv);
	} else if (subject_name_is_robot(argv[first])) {
		uint64_t ok, total;
		v = check_robot(h, argv[first], now, text, sizeof(text), why,
		                sizeof(why), &rv, &ok, &total);
	} else {
		v = check_account(h, argv[first], now, text, sizeof(text), why,
		                  sizeof(why), &rv);
	}
	if (rv != HBCTL_EXIT_OK) {
		snprintf(text, sizeof(text), "%s", why);
		v = V_UNKNOWN;
	}
	if (h->json) {
		out_json_line(json_pack("{s:i, s:s, s:s}", "code", (int) v,
		                        "status", verdict_word[v], "text",
		                        text));
	} else {
		/* Names from the server and from the command line. */
		char shown[sizeof(text) + 64];
		printf("HBMON %s - %s\n", verdict_word[v],
		       quote_str(shown, sizeof(shown), text));
	}
	return (int) v;
}
