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

static void
missed(struct text *t, const Hbmon__V1__Alert *a,
       const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	say(t, " %ssilent for ", a->repeat > 0 ? "still " : "");
	duration(t, d->duration_ms);
	say(t, " (%u %s missed)", d->misses,
	    plural(d->misses, "heartbeat", "heartbeats"));
	if (is_robot(a)) {
		if (d->accounts_total > 0) {
			say(t, "; %u %s affected, %u with open orders",
			    d->accounts_total,
			    plural(d->accounts_total, "account", "accounts"),
			    d->accounts_with_orders);
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
	say(t, " is back after ");
	duration(t, d->duration_ms);
	say(t, " silent (%u %s missed)", d->misses,
	    plural(d->misses, "heartbeat", "heartbeats"));
}

/* ---- reported state ---- */

/*
 * "robot R1 is degraded (an issue, still running)", "account R1/ACC_003
 * session expired: needs re-login; 2 open orders", and the same with
 * "now" (a change within the episode: from_status is set) or "still" (a
 * repeat).
 */
static void
status_changed(struct text *t, const Hbmon__V1__Alert *a,
               const Hbmon__V1__AlertDetails *d)
{
	const char *to = str(d->to_status);
	bool changed = str(d->from_status)[0] != '\0';
	bool again = !changed && a->repeat > 0;

	who(t, a);
	if (is_robot(a)) {
		say(t, " %s%s",
		    again     ? "still "
		    : changed ? "is now "
		              : "is ",
		    to);
		if (strcmp(to, "degraded") == 0) {
			say(t, " (an issue, still running)");
		}
	} else {
		if (strcmp(to, "expired") == 0) {
			/* The adverb goes where English puts it: "session
			 * still expired", "now session expired". */
			say(t, again     ? " session still expired"
			       : changed ? " now session expired"
			                 : " session expired");
			say(t, ": needs re-login");
		} else {
			say(t, " %sin error",
			    again     ? "still "
			    : changed ? "now "
			              : "");
		}
		open_orders(t, d->open_orders);
	}
	if (changed) {
		say(t, " (was %s)", d->from_status);
	} else if (again) {
		say(t, " (for ");
		duration(t, d->duration_ms);
		say(t, ")");
	}
}

static void
status_resolved(struct text *t, const Hbmon__V1__Alert *a,
                const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	say(t, " is %s again after ", str(d->to_status));
	duration(t, d->duration_ms);
	say(t, " %s", str(d->from_status));
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

/* Whole seconds, rounded: a timestamp 90 s ahead arrives a few ms later. */
static int64_t
seconds(int64_t ms)
{
	return ((ms < 0 ? -ms : ms) + 500) / 1000;
}

static void
clock_skew(struct text *t, const Hbmon__V1__Alert *a,
           const Hbmon__V1__AlertDetails *d)
{
	const char *side = d->skew_ms < 0 ? "behind" : "ahead of";

	who(t, a);
	if (a->repeat > 0) {
		say(t, " clock still %" PRId64 " s %s the server's (for ",
		    seconds(d->skew_ms), side);
		duration(t, d->duration_ms);
		say(t, ")");
	} else {
		say(t,
		    " clock is %" PRId64 " s %s the server's (limit %" PRId64
		    " s)",
		    seconds(d->skew_ms), side, d->skew_max_ms / 1000);
	}
}

static void
clock_skew_resolved(struct text *t, const Hbmon__V1__Alert *a,
                    const Hbmon__V1__AlertDetails *d)
{
	who(t, a);
	say(t, " clock is back within %" PRId64 " s of the server's",
	    d->skew_max_ms / 1000);
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
		say(t, " (for ");
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
storage_failing(struct text *t, const Hbmon__V1__Alert *a,
                const Hbmon__V1__AlertDetails *d)
{
	char free_text[24];

	say(t,
	    "hbmon-server %scannot write its database: %s (%s free); alerts "
	    "still go out, heartbeats are refused until it can",
	    a->repeat > 0 ? "still " : "", str(d->reason),
	    bytes_human(d->free_bytes, free_text, sizeof(free_text)));
}

static void
disk_space_low(struct text *t, const Hbmon__V1__Alert *a,
               const Hbmon__V1__AlertDetails *d)
{
	char free_text[24], min_text[24];

	say(t,
	    "hbmon-server's disk %sholds only %s free, below disk_free_min "
	    "(%s); old heartbeats are pruned as retention allows",
	    a->repeat > 0 ? "still " : "",
	    bytes_human(d->free_bytes, free_text, sizeof(free_text)),
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
		break;
	}
	}
	if (a->repeat > 0 && a->kind != K(HEARTBEAT_MISSED) &&
	    a->kind != K(STATUS_CHANGED) && a->kind != K(CLOCK_SKEW) &&
	    a->kind != K(ACCOUNT_MISMATCH)) {
		/* The server's conditions, and any kind without a sentence
		 * of its own: how long it has been going on. */
		if (a->kind == K(STORAGE_FAILING) ||
		    a->kind == K(DISK_SPACE_LOW)) {
			say(&t, " (for ");
		} else {
			say(&t, " still unresolved (for ");
		}
		duration(&t, d->duration_ms);
		say(&t, ")");
	}
	return t.used;
}
