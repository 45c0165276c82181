/*
 * hbctl check [SUBJECT]: a Nagios/Icinga plugin. One status line on
 * stdout, perfdata after its '|', and the plugin exit codes: 0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for every failure of the check
 * itself, a bad command line included).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/quote.h"
#include "common/subject_name.h"
#include "hbctl.h"
#include "hbmon/error.h"

const char cmd_check_usage[] =
    "usage: hbctl check [SUBJECT] [--warning T] [--critical T] [--json]\n"
    "\n"
    "A Nagios / Icinga plugin: prints one status line with perfdata, e.g.\n"
    "  HBMON OK - R1 healthy, 12/12 accounts ok | robots=1;;;0 ...\n"
    "and exits 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN. Without SUBJECT\n"
    "it checks every robot; SUBJECT is a robot (R1, with its accounts) or\n"
    "one account (R1/ACC_003).\n"
    "\n"
    "  --warning T, --critical T\n"
    "                       WARNING / CRITICAL when the oldest silence is\n"
    "                       above T: the longest time since a robot checked\n"
    "                       (or the account checked) was last heard, paused\n"
    "                       ones left out. T: seconds (90) or a duration\n"
    "                       (90s, 5m); --warning at most --critical.\n"
    "                       Either verdict only adds to the ones below.\n"
    "\n"
    "CRITICAL: a subject is down (more than miss_threshold heartbeats\n"
    "  missed), a robot reports unhealthy, or an account in error or with\n"
    "  an expired session still has open orders.\n"
    "WARNING: a subject is late (a heartbeat missed), a robot reports\n"
    "  degraded, an account reports error or an expired session.\n"
    "UNKNOWN: no such subject, never heard from, nothing reported yet, or\n"
    "  the server cannot be asked (also for a bad command line).\n"
    "Paused subjects are OK.\n"
    "\n"
    "Perfdata: robots, robots_down, robots_late, accounts, accounts_down,\n"
    "accounts_late, open_alerts (what is firing: hbctl alerts --open) and\n"
    "oldest_silence in seconds with ;warning;critical (U: nothing heard).\n"
    "--json: {\"code\", \"status\", \"text\", \"perfdata\": {...}}.\n";

enum { OPT_WARNING = 1000, OPT_CRITICAL };

/* The thresholds on the oldest silence; -1: not given. */
struct thresholds {
	int64_t warning_ms, critical_ms;
	char why[256]; /* a bad value: what is wrong, for the status line */
};

/* What the perfdata says of the subjects checked. */
struct perf {
	bool robots_checked; /* robots= and friends are shown */
	uint64_t robots, robots_down, robots_late;
	uint64_t accounts, accounts_down, accounts_late;
	bool alerts_known; /* the server answered AlertsOpen */
	uint64_t open_alerts;
	int64_t oldest_ms; /* -1: nothing heard */
	char oldest[256];  /* whose silence it is */
};

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

/* Counts s (a robot or an account) into p: its liveness and silence. */
static void
perf_count(struct perf *p, const Hbmon__V1__SubjectState *s, int64_t now,
           bool silence)
{
	bool robot = s->account == NULL || s->account[0] == '\0';
	bool down = s->liveness == HBMON__V1__LIVENESS__LIVENESS_DOWN;
	bool late = s->liveness == HBMON__V1__LIVENESS__LIVENESS_LATE;
	int64_t silent_ms;

	if (robot) {
		p->robots++;
		p->robots_down += down;
		p->robots_late += late;
	} else {
		p->accounts++;
		p->accounts_down += down;
		p->accounts_late += late;
	}
	/* hbctl and the server share a clock: a heartbeat "from the
	 * future" is one heard just now. */
	silent_ms = now > s->last_seen_ms ? now - s->last_seen_ms : 0;
	if (silence && s->last_seen_ms > 0 &&
	    s->liveness != HBMON__V1__LIVENESS__LIVENESS_PAUSED &&
	    silent_ms > p->oldest_ms) {
		p->oldest_ms = silent_ms;
		subject_name_format(p->oldest, sizeof(p->oldest), s->robot,
		                    s->account);
	}
}

/*
 * Reads a threshold: whole seconds ("90", as Nagios plugins take them)
 * or a duration ("90s", "5m"). Returns HBMON_OK or HBMON_EINVAL with why.
 */
static int
threshold_parse(const char *flag, const char *value, int64_t *out_ms, char *why,
                size_t why_len)
{
	char reason[128] = "";
	size_t digits = strspn(value, "0123456789");
	char q[256];

	if (digits > 0 && value[digits] == '\0' && digits <= 9) {
		*out_ms = strtoll(value, NULL, 10) * 1000;
	} else if (duration_parse(value, out_ms, reason, sizeof(reason)) !=
	           HBMON_OK) {
		snprintf(why, why_len,
		         "%s '%s' is not a time: give seconds (300) or a "
		         "duration (90s, 5m, 1h)%s%s",
		         flag, quote_str(q, sizeof(q), value),
		         reason[0] ? "; " : "", reason);
		return HBMON_EINVAL;
	}
	if (*out_ms <= 0) {
		snprintf(why, why_len, "%s '%s' must be above 0", flag,
		         quote_str(q, sizeof(q), value));
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

static int
on_flag(struct hbctl *h, int val, const char *value, void *arg)
{
	struct thresholds *t = arg;
	const char *flag = val == OPT_WARNING ? "--warning" : "--critical";
	int64_t *ms = val == OPT_WARNING ? &t->warning_ms : &t->critical_ms;

	if (threshold_parse(flag, value, ms, t->why, sizeof(t->why)) !=
	    HBMON_OK) {
		return hbctl_usage_error(h, "%s", t->why);
	}
	return HBCTL_CONTINUE;
}

/* The verdict of the thresholds on the oldest silence; text says why. */
static enum verdict
judge_silence(const struct thresholds *t, const struct perf *p, char *text,
              size_t len)
{
	int64_t limit;
	enum verdict v;

	if (p->oldest_ms < 0) {
		return V_OK;
	}
	if (t->critical_ms >= 0 && p->oldest_ms > t->critical_ms) {
		v = V_CRITICAL;
		limit = t->critical_ms;
	} else if (t->warning_ms >= 0 && p->oldest_ms > t->warning_ms) {
		v = V_WARNING;
		limit = t->warning_ms;
	} else {
		return V_OK;
	}
	add(text, len,
	    "%s last heard %" PRId64 " s ago (%s above %" PRId64 " s)",
	    p->oldest, p->oldest_ms / 1000,
	    v == V_CRITICAL ? "--critical" : "--warning", limit / 1000);
	return v;
}

/* Counts what is firing now about what was checked (NULL: everything). */
static void
perf_alerts(struct hbctl *h, const char *subject, struct perf *p)
{
	Hbmon__V1__AlertsOpenRequest req = HBMON__V1__ALERTS_OPEN_REQUEST__INIT;
	Hbmon__V1__AlertsOpenReply *r = NULL;
	struct subject_name_ref ref = { 0 };
	char why[512];

	/* An older server without AlertsOpen: the count is left out. */
	if (hbctl_try_admin(h, "AlertsOpen", &req.base,
	                    (ProtobufCMessage **) &r, why,
	                    sizeof(why)) != HBCTL_EXIT_OK) {
		return;
	}
	if (subject != NULL && !subject_name_parse(subject, &ref)) {
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return;
	}
	for (size_t i = 0; i < r->n_alerts; i++) {
		const Hbmon__V1__Alert *a = r->alerts[i]->alert;
		if (a == NULL) {
			continue;
		}
		/* A robot's own and its accounts'; an account's own. */
		if (subject != NULL &&
		    (strlen(a->robot) != ref.robot_len ||
		     strncmp(a->robot, ref.robot, ref.robot_len) != 0 ||
		     (ref.account != NULL &&
		      strcmp(a->account, ref.account) != 0))) {
			continue;
		}
		p->open_alerts++;
	}
	p->alerts_known = true;
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* Formats one threshold for perfdata: seconds, or nothing. */
static const char *
perf_limit(char *buf, size_t len, int64_t ms)
{
	if (ms < 0) {
		buf[0] = '\0';
	} else {
		snprintf(buf, len, "%" PRId64, ms / 1000);
	}
	return buf;
}

/* The perfdata after the '|': label=value;warn;crit;min, space separated. */
static void
perf_text(const struct perf *p, const struct thresholds *t, char *buf,
          size_t len)
{
	char warn[32], crit[32], silence[32];

	buf[0] = '\0';
	if (p->robots_checked) {
		snprintf(buf, len,
		         "robots=%" PRIu64 ";;;0 robots_down=%" PRIu64
		         ";;;0 robots_late=%" PRIu64 ";;;0 ",
		         p->robots, p->robots_down, p->robots_late);
	}
	snprintf(buf + strlen(buf), len - strlen(buf),
	         "accounts=%" PRIu64 ";;;0 accounts_down=%" PRIu64
	         ";;;0 accounts_late=%" PRIu64 ";;;0 ",
	         p->accounts, p->accounts_down, p->accounts_late);
	if (p->alerts_known) {
		snprintf(buf + strlen(buf), len - strlen(buf),
		         "open_alerts=%" PRIu64 ";;;0 ", p->open_alerts);
	}
	if (p->oldest_ms >= 0) {
		snprintf(silence, sizeof(silence), "%" PRId64 "s",
		         p->oldest_ms / 1000);
	} else {
		snprintf(silence, sizeof(silence), "U");
	}
	snprintf(buf + strlen(buf), len - strlen(buf),
	         "oldest_silence=%s;%s;%s;0", silence,
	         perf_limit(warn, sizeof(warn), t->warning_ms),
	         perf_limit(crit, sizeof(crit), t->critical_ms));
}

/* The perfdata as a JSON object (thresholds in seconds; null: none). */
static json_t *
perf_json(const struct perf *p, const struct thresholds *t)
{
	json_t *o = json_object();

	if (o == NULL) {
		return NULL;
	}
	if (p->robots_checked) {
		json_object_set_new(o, "robots", json_integer(p->robots));
		json_object_set_new(o, "robots_down",
		                    json_integer(p->robots_down));
		json_object_set_new(o, "robots_late",
		                    json_integer(p->robots_late));
	}
	json_object_set_new(o, "accounts", json_integer(p->accounts));
	json_object_set_new(o, "accounts_down", json_integer(p->accounts_down));
	json_object_set_new(o, "accounts_late", json_integer(p->accounts_late));
	if (p->alerts_known) {
		json_object_set_new(o, "open_alerts",
		                    json_integer(p->open_alerts));
	}
	json_object_set_new(o, "oldest_silence_s",
	                    p->oldest_ms >= 0
	                        ? json_integer(p->oldest_ms / 1000)
	                        : json_null());
	json_object_set_new(o, "warning_s",
	                    t->warning_ms >= 0
	                        ? json_integer(t->warning_ms / 1000)
	                        : json_null());
	json_object_set_new(o, "critical_s",
	                    t->critical_ms >= 0
	                        ? json_integer(t->critical_ms / 1000)
	                        : json_null());
	return o;
}

/*
 * One robot with its accounts (Subject + Accounts). out: how many
 * accounts it has and how many of them are ok. p: counted into (the
 * robot's silence, not its accounts'), or NULL.
 */
static enum verdict
check_robot(struct hbctl *h, const char *robot, int64_t now, char *text,
            size_t len, char *why, size_t why_len, int *rv, uint64_t *out_ok,
            uint64_t *out_total, struct perf *p)
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
	if (p != NULL) {
		p->robots_checked = true;
		perf_count(p, sub->state, now, true);
	}
	for (size_t i = 0; i < acc->n_accounts; i++) {
		const Hbmon__V1__SubjectState *a = acc->accounts[i];
		char what[256];
		enum verdict av = judge(a, now, what, sizeof(what));

		if (p != NULL) {
			perf_count(p, a, now, false);
		}
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

/* One account, counted into p. */
static enum verdict
check_account(struct hbctl *h, const char *subject, int64_t now, char *text,
              size_t len, char *why, size_t why_len, int *rv, struct perf *p)
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
	perf_count(p, sub->state, now, true);
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
 * `check` and `check ROBOT` always agree. Counted into p from the
 * overview.
 */
static enum verdict
check_all(struct hbctl *h, int64_t now, char *text, size_t len, char *why,
          size_t why_len, int *rv, struct perf *p)
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
	p->robots_checked = true;
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

		perf_count(p, s, now, true);
		p->accounts += s->accounts_total;
		p->accounts_down += s->accounts_down;
		p->accounts_late += s->accounts_late;
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
		                  why_len, rv, &ok, &total, NULL);
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
	static const struct option opts[] = {
		{ "warning", required_argument, NULL, OPT_WARNING },
		{ "critical", required_argument, NULL, OPT_CRITICAL },
		{ NULL, 0, NULL, 0 },
	};
	struct thresholds t = { -1, -1, "" };
	struct perf p = { 0 };
	char text[2048] = "", why[1024] = "", perfdata[512] = "";
	const char *subject;
	enum verdict v;
	int64_t now;
	int first, rv = HBCTL_EXIT_OK;

	rv = hbctl_parse(h, argc, argv, opts, on_flag, &t, &first);
	if (rv == HBCTL_CONTINUE) {
		rv = hbctl_positional(h, argc, argv, first, 0, 1, "[SUBJECT]");
	}
	if (rv == HBCTL_CONTINUE && first < argc) {
		rv = hbctl_subject(h, argv[first]);
	}
	if (rv == HBCTL_CONTINUE && t.warning_ms >= 0 && t.critical_ms >= 0 &&
	    t.warning_ms > t.critical_ms) {
		snprintf(t.why, sizeof(t.why),
		         "--warning is above --critical: a silence would be "
		         "critical before it warns");
		rv = hbctl_usage_error(h, "%s", t.why);
	}
	if (rv != HBCTL_CONTINUE) {
		/* --help is fine; a bad command line is UNKNOWN, and a bad
		 * threshold says so where the monitoring shows it. */
		if (rv != HBCTL_EXIT_OK && t.why[0] != '\0') {
			printf("HBMON UNKNOWN - %s\n", t.why);
		}
		return rv == HBCTL_EXIT_OK ? rv : V_UNKNOWN;
	}
	rv = HBCTL_EXIT_OK;
	p.oldest_ms = -1;
	subject = first < argc ? argv[first] : NULL;
	now = clock_wall_ms();
	if (subject == NULL) {
		v = check_all(h, now, text, sizeof(text), why, sizeof(why), &rv,
		              &p);
	} else if (subject_name_is_robot(subject)) {
		uint64_t ok, total;
		v = check_robot(h, subject, now, text, sizeof(text), why,
		                sizeof(why), &rv, &ok, &total, &p);
	} else {
		v = check_account(h, subject, now, text, sizeof(text), why,
		                  sizeof(why), &rv, &p);
	}
	if (rv != HBCTL_EXIT_OK) {
		snprintf(text, sizeof(text), "%s", why);
		v = V_UNKNOWN;
	} else {
		v = worse(v, judge_silence(&t, &p, text, sizeof(text)));
		perf_alerts(h, subject, &p);
		perf_text(&p, &t, perfdata, sizeof(perfdata));
	}
	if (h->json) {
		json_t *o = json_pack("{s:i, s:s, s:s}", "code", (int) v,
		                      "status", verdict_word[v], "text", text);
		if (o != NULL && rv == HBCTL_EXIT_OK) {
			json_object_set_new(o, "perfdata", perf_json(&p, &t));
		}
		out_json_line(o);
	} else {
		/* Names from the server and from the command line. */
		char shown[sizeof(text) + 64];
		printf("HBMON %s - %s%s%s\n", verdict_word[v],
		       quote_str(shown, sizeof(shown), text),
		       perfdata[0] != '\0' ? " | " : "", perfdata);
	}
	return (int) v;
}
