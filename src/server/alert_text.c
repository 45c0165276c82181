/* The summary sentence of every alert kind, from the alert's own fields. */
#include "server/alert_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "common/duration.h"
#include "common/utf8.h"
#include "common/words.h"

#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

/* Account names listed in an ACCOUNT_MISMATCH summary before "and N
 * more". */
#define MISSING_IN_SUMMARY 5

/* A sentence being written: never past len, never cut inside a
 * character (the summary is proto3 and JSON text: UTF-8). */
struct text {
	char *buf;
	size_t len;
	size_t used;
};

static void say(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->used + 1 >= t->len) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->buf[t->used] = '\0';
	} else if ((size_t) n >= t->len - t->used) {
		t->used = utf8_cut(t->buf, t->len - 1);
		t->buf[t->used] = '\0';
	} else {
		t->used += (size_t) n;
	}
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* A field of details that may be absent (NULL details, NULL string). */
static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

static bool
is_server(const Hbmon__V1__Alert *a)
{
	return a->robot == NULL || a->robot[0] == '\0';
}

static bool
is_robot(const Hbmon__V1__Alert *a)
{
	return a->account == NULL || a->account[0] == '\0';
}

/* "robot R1" or "account R1/ACC_003". */
static void
who(struct text *t, const Hbmon__V1__Alert *a)
{
	if (is_server(a)) {
		say(t, "hbmon-server");
	} else if (is_robot(a)) {
		say(t, "robot %s", a->robot);
	} else {
		say(t, "account %s/%s", a->robot, a->account);
	}
}

static void
duration(struct text *t, int64_t ms)
{
	char dur[32];

	duration_human(ms, dur, sizeof(dur));
	say(t, "%s", dur);
}

static void
open_orders(struct text *t, uint32_t n)
{
	if (n > 0) {
		say(t, "; %u open %s", n, plural(n, "order", "orders"));
	} else {
		say(t, "; no open orders");
	}
}

/* ---- silence ---- */

/* A registered robot of which nothing was ever heard. */
static bool
never_reported(const Hbmon__V1__Alert *a, const Hbmon__V1__AlertDetails *d)
{
	return is_robot(a) && d->last_seen_ms == 0 && str(d->status)[0] == '\0';
}

static void
missed(struct text *t, const Hbmon__V1__Alert *a,
       const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	if (never_reported(a, d)) {
		say(t, " has %snever reported since it was registered (",
		    a->repeat > 0 ? "still " : "");
		say(t, a->repeat > 0 ? "alert open for " : "nothing heard in ");
		duration(t, d->duration_ms);
		say(t, ")");
		return;
	}
	say(t, " %ssilent for ", a->repeat > 0 ? "still " : "");
	duration(t, d->duration_ms);
	say(t, " (%u %s missed)", d->misses,
	    plural(d->misses, "heartbeat", "heartbeats"));
	if (is_robot(a)) {
		if (d->accounts_total > 0) {
			say(t, "; %u %s affected, ", d->accounts_total,
			    plural(d->accounts_total, "account", "accounts"));
			if (d->accounts_with_orders > 0) {
				say(t, "%u with open orders",
				    d->accounts_with_orders);
			} else {
				say(t, "none with open orders");
			}
		}
		return;
	}
	open_orders(t, d->open_orders);
	if (strcmp(str(d->status), "expired") == 0) {
		say(t, ", session expired");
	}
}

static void
missed_resolved(struct text *t, const Hbmon__V1__Alert *a,
                const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	if (never_reported(a, d)) {
		say(t, " reported for the first time (alert open for ");
		duration(t, d->duration_ms);
		say(t, ")");
		return;
	}
	say(t, " is back after ");
	duration(t, d->duration_ms);
	say(t, " silent (%u %s missed)", d->misses,
	    plural(d->misses, "heartbeat", "heartbeats"));
}

/* ---- reported state ---- */

/*
 * "robot R1 is degraded: an issue, still running", "account R1/ACC_003
 * session expired: needs re-login; 2 open orders"; a change within the
 * episode (from_status is set) says "now" and what it was, a repeat how
 * long it has been so.
 */
static void
status_changed(struct text *t, const Hbmon__V1__Alert *a,
               const Hbmon__V1__AlertDetails *d)
{
	const char *to = str(d->to_status);
	bool changed = str(d->from_status)[0] != '\0';
	bool again = !changed && a->repeat > 0;
	bool expired = strcmp(to, "expired") == 0;

	who(t, a);
	if (!is_robot(a) && expired) {
		say(t, " session");
	}
	if (again) {
		say(t, " has been %s for ",
		    is_robot(a) || expired ? to : "in error");
		duration(t, d->duration_ms);
	} else {
		say(t, "%s%s%s", is_robot(a) ? " is" : "",
		    changed ? " now" : "", is_robot(a) || expired ? "" : " in");
		say(t, " %s", is_robot(a) || expired ? to : "error");
		if (changed) {
			say(t, " (was %s)", d->from_status);
		}
	}
	if (is_robot(a)) {
		if (strcmp(to, "degraded") == 0) {
			say(t, ": an issue, still running");
		}
		return;
	}
	if (expired) {
		say(t, ": needs re-login");
	}
	open_orders(t, d->open_orders);
}

static void
status_resolved(struct text *t, const Hbmon__V1__Alert *a,
                const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	say(t, " is %s again (it was %s for ", str(d->to_status),
	    str(d->from_status));
	duration(t, d->duration_ms);
	say(t, ")");
}

static void
invalid_transition(struct text *t, const Hbmon__V1__Alert *a,
                   const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	say(t,
	    " went %s -> %s, a change the documented diagram does not "
	    "allow",
	    str(d->from_status), str(d->to_status));
}

/* ---- cross-checks ---- */

/*
 * A skew as a person says it ("1 min 30 s", "7 h 37 min"), from whole
 * seconds, rounded: a timestamp 90 s ahead arrives a few ms later.
 */
static void
skew(struct text *t, int64_t ms)
{
	duration(t, ((ms < 0 ? -ms : ms) + 500) / 1000 * 1000);
}

static void
clock_skew(struct text *t, const Hbmon__V1__Alert *a,
           const Hbmon__V1__AlertDetails *d)
{
	const char *side = d->skew_ms < 0 ? "behind" : "ahead of";

	who(t, a);
	say(t, a->repeat > 0 ? " clock has been " : " clock is ");
	skew(t, d->skew_ms);
	say(t, " %s the server's", side);
	if (a->repeat > 0) {
		say(t, " for ");
		duration(t, d->duration_ms);
	} else {
		say(t, " (limit ");
		duration(t, d->skew_max_ms);
		say(t, ")");
	}
}

static void
clock_skew_resolved(struct text *t, const Hbmon__V1__Alert *a,
                    const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	say(t, " clock is back within ");
	duration(t, d->skew_max_ms);
	say(t, " of the server's");
}

static void
mismatch(struct text *t, const Hbmon__V1__Alert *a,
         const Hbmon__V1__AlertDetails *d)
{
	size_t shown = 0;

	who(t, a);
	say(t, " %sreports %u active %s but %u %s heard from",
	    a->repeat > 0 ? "still " : "", d->active_accounts,
	    plural(d->active_accounts, "account", "accounts"),
	    d->accounts_heard, plural(d->accounts_heard, "was", "were"));
	if (a->repeat > 0) {
		say(t, " (a mismatch for ");
		duration(t, d->duration_ms);
		say(t, ")");
		return;
	}
	for (; shown < d->n_missing_accounts && shown < MISSING_IN_SUMMARY;
	     shown++) {
		say(t, "%s%s", shown == 0 ? "; missing: " : ", ",
		    d->missing_accounts[shown]);
	}
	if (d->n_missing_accounts > shown) {
		say(t, " and %zu more", d->n_missing_accounts - shown);
	} else if (d->n_missing_accounts == 0 &&
	           d->active_accounts > d->accounts_heard) {
		say(t, "; %u never reported",
		    d->active_accounts - d->accounts_heard);
	}
}

static void
mismatch_resolved(struct text *t, const Hbmon__V1__Alert *a,
                  const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	say(t, " active accounts match again (%u)", d->accounts_heard);
}

/* ---- the server itself ---- */

static void
server_restarted(struct text *t, const Hbmon__V1__AlertDetails *d)
{
	say(t, "hbmon-server restarted after ");
	if (d->unclean_stop) {
		say(t, "an unclean stop (killed, crashed or lost power), ");
		duration(t, d->outage_ms);
		say(t, " away; nothing watched robots meanwhile and silence "
		       "during that time is not counted against them");
		return;
	}
	duration(t, d->outage_ms);
	say(t,
	    " away%s; silence during that time is not counted against "
	    "robots",
	    d->outage_ms > d->interval_max_ms
	        ? ", longer than interval_max: robots went unwatched "
	          "meanwhile"
	        : "");
}

static void
listener_restarted(struct text *t, const Hbmon__V1__AlertDetails *d)
{
	say(t,
	    "hbmon-server's %s listener %s failed its self-check (%s) and "
	    "was replaced at the same address",
	    str(d->listener), str(d->listener_url), str(d->reason));
}

static void
storage_failing(struct text *t, const Hbmon__V1__Alert *a,
                const Hbmon__V1__AlertDetails *d)
{
	char free_text[24];

	say(t, "hbmon-server %scannot write its database",
	    a->repeat > 0 ? "still " : "");
	if (a->repeat > 0) {
		say(t, " after ");
		duration(t, d->duration_ms);
	}
	say(t,
	    ": %s (%s free); alerts still go out, heartbeats are refused "
	    "until it can",
	    str(d->reason),
	    bytes_human(d->free_bytes, free_text, sizeof(free_text)));
}

static void
disk_space_low(struct text *t, const Hbmon__V1__Alert *a,
               const Hbmon__V1__AlertDetails *d)
{
	char free_text[24], min_text[24];

	say(t, "hbmon-server's disk %sholds only %s free",
	    a->repeat > 0 ? "still " : "",
	    bytes_human(d->free_bytes, free_text, sizeof(free_text)));
	if (a->repeat > 0) {
		say(t, " after ");
		duration(t, d->duration_ms);
	}
	say(t,
	    ", below disk_free_min (%s); old heartbeats are pruned as "
	    "retention allows",
	    bytes_human(d->free_min_bytes, min_text, sizeof(min_text)));
}

static void
condition_resolved(struct text *t, int kind, const Hbmon__V1__AlertDetails *d)
{
	char free_text[24];

	if (kind == K(STORAGE_FAILING)) {
		say(t, "hbmon-server writes its database again after ");
		duration(t, d->duration_ms);
		say(t, " (%s); what it held back is written", str(d->reason));
		return;
	}
	say(t, "hbmon-server's disk has room again: %s free (after ",
	    bytes_human(d->free_bytes, free_text, sizeof(free_text)));
	duration(t, d->duration_ms);
	say(t, ")");
}

/* ---- one entry point ---- */

static void
resolved(struct text *t, const Hbmon__V1__Alert *a,
         const Hbmon__V1__AlertDetails *d)
{
	if (d->subject_removed) {
		const char *kind = words_alert_kind(d->resolves);
		who(t, a);
		say(t, " was removed%s; its %s alert is closed",
		    is_robot(a) ? "" : " with its robot",
		    kind != NULL ? kind : "open");
		return;
	}
	switch (d->resolves) {
	case K(HEARTBEAT_MISSED):
		missed_resolved(t, a, d);
		break;
	case K(STATUS_CHANGED):
		status_resolved(t, a, d);
		break;
	case K(CLOCK_SKEW):
		clock_skew_resolved(t, a, d);
		break;
	case K(ACCOUNT_MISMATCH):
		mismatch_resolved(t, a, d);
		break;
	case K(STORAGE_FAILING):
	case K(DISK_SPACE_LOW):
		condition_resolved(t, d->resolves, d);
		break;
	default: {
		const char *kind = words_alert_kind(d->resolves);
		who(t, a);
		say(t, ": %s resolved", kind != NULL ? kind : "alert");
		break;
	}
	}
}

size_t
alert_text_summary(const Hbmon__V1__Alert *a, char *buf, size_t buf_len)
{
	static const Hbmon__V1__AlertDetails none =
	    HBMON__V1__ALERT_DETAILS__INIT;
	const Hbmon__V1__AlertDetails *d =
	    a->details != NULL ? a->details : &none;
	struct text t = { buf, buf_len, 0 };

	buf[0] = '\0';
	switch (a->kind) {
	case K(HEARTBEAT_MISSED):
		missed(&t, a, d);
		break;
	case K(RECOVERED):
		resolved(&t, a, d);
		break;
	case K(STATUS_CHANGED):
		status_changed(&t, a, d);
		break;
	case K(INVALID_TRANSITION):
		invalid_transition(&t, a, d);
		break;
	case K(CLOCK_SKEW):
		clock_skew(&t, a, d);
		break;
	case K(ACCOUNT_MISMATCH):
		mismatch(&t, a, d);
		break;
	case K(SERVER_RESTARTED):
		server_restarted(&t, d);
		break;
	case K(LISTENER_RESTARTED):
		listener_restarted(&t, d);
		break;
	case K(STORAGE_FAILING):
		storage_failing(&t, a, d);
		break;
	case K(DISK_SPACE_LOW):
		disk_space_low(&t, a, d);
		break;
	default: {
		const char *kind = words_alert_kind(a->kind);
		who(&t, a);
		say(&t, ": %s", kind != NULL ? kind : "alert");
		if (a->repeat > 0) {
			/* A kind without a sentence of its own: how long it
			 * has been going on. */
			say(&t, " still unresolved after ");
			duration(&t, d->duration_ms);
		}
		break;
	}
	}
	return t.used;
}

/* Characters a subject may have in a hint without quotes (robot ids
 * never have others). */
#define SHELL_SAFE                                                             \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* One hint, NUL-terminated in buf after what is there; NULL if it does
 * not fit (a hint is never cut). */
static char *hint(char *buf, size_t buf_len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static char *
hint(char *buf, size_t buf_len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= buf_len) {
		return NULL;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, buf_len - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= buf_len - *used) {
		buf[*used] = '\0';
		return NULL;
	}
	*used += (size_t) n + 1;
	return buf + *used - (size_t) n - 1;
}

size_t
alert_text_hints(const Hbmon__V1__Alert *a, char *buf, size_t buf_len,
                 char **out, size_t max)
{
	bool firing = a->state == HBMON__V1__ALERT_STATE__ALERT_STATE_FIRING;
	bool episode = firing && a->kind != K(INVALID_TRANSITION) &&
	               a->kind != K(SERVER_RESTARTED) &&
	               a->kind != K(LISTENER_RESTARTED);
	char subject[160];
	size_t used = 0, n = 0;
	char *h;

	if (is_server(a)) {
		subject[0] = '\0';
	} else if (is_robot(a)) {
		snprintf(subject, sizeof(subject), "%s", a->robot);
	} else if (strchr(a->account, '\'') != NULL) {
		subject[0] = '\0'; /* no command to copy safely */
	} else if (strspn(a->account, SHELL_SAFE) == strlen(a->account)) {
		snprintf(subject, sizeof(subject), "%s/%s", a->robot,
		         a->account);
	} else {
		snprintf(subject, sizeof(subject), "'%s/%s'", a->robot,
		         a->account);
	}
	if (episode && n < max &&
	    (h = hint(buf, buf_len, &used, "hbctl ack %" PRIu64, a->seq)) !=
	        NULL) {
		out[n++] = h;
	}
	if (episode && subject[0] != '\0' && n < max &&
	    (h = hint(buf, buf_len, &used, "hbctl pause %s --for 1h",
	              subject)) != NULL) {
		out[n++] = h;
	}
	if (firing && !episode && subject[0] != '\0' && n < max &&
	    (h = hint(buf, buf_len, &used, "hbctl history %s", subject)) !=
	        NULL) {
		out[n++] = h;
	}
	return n;
}
