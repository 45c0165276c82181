/*
 * hbctl alerts --follow: every alert exactly once, in seq order, through
 * common/alert_follow.h (the PUB socket, with the outbox filling every
 * gap), the notifier's follower too. Filters apply to what is printed.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "common/alert_follow.h"
#include "hbmon/error.h"

/* How long one wait on PUB lasts: the bound on noticing a signal. */
#define RECV_SLICE_MS 200

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void) sig;
	stop_requested = 1;
}

struct follower {
	struct hbctl *h;
	const struct follow_options *o;
	uint64_t shown; /* alerts printed */
	bool lost;      /* the outbox could not be read last time */
	bool first;     /* the first catch-up: its failure is fatal */
	char why[1024]; /* why the outbox could not be read */
	int exit_code;  /* and the exit code that goes with it */
};

static bool
done(const struct follower *f)
{
	return stop_requested || (f->o->count > 0 && f->shown >= f->o->count);
}

/* ---- what the follower asks of us (alert_follow.h) ---- */

static int
fetch(void *arg, uint64_t after, uint32_t limit,
      Hbmon__V1__AlertsAfterReply **out)
{
	struct follower *f = arg;
	Hbmon__V1__AlertsAfterRequest req =
	    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;

	req.after_seq = after;
	req.limit = limit;
	f->exit_code =
	    hbctl_try_admin(f->h, "AlertsAfter", &req.base,
	                    (ProtobufCMessage **) out, f->why, sizeof(f->why));
	if (f->exit_code != HBCTL_EXIT_OK) {
		/* While following, a server away for a while is waited for. */
		if (!f->first && !f->lost) {
			hbctl_error("%s; still trying", f->why);
		}
		f->lost = true;
		return HBMON_EUNAVAIL;
	}
	if (f->lost && !f->first) {
		hbctl_error("reading the outbox again");
	}
	f->lost = false;
	return HBMON_OK;
}

/* Takes the next alert in seq order. */
static void
take(void *arg, Hbmon__V1__Alert *a)
{
	struct follower *f = arg;

	/* What robots sent, made safe to print (outbox pages already are;
	 * quoting is idempotent). Out of memory: not shown. */
	if (!done(f) && alert_filter_pass(&f->o->filter, a) &&
	    hbctl_sanitize(&a->base, f->h->json) == HBMON_OK) {
		alert_print(f->h, a);
		/* Whoever reads us (a pipe, a test) sees each alert as it
		 * comes. */
		fflush(stdout);
		f->shown++;
	}
	hbmon__v1__alert__free_unpacked(a, NULL);
}

static void
say(void *arg, enum log_level level, const char *msg, const char *fields)
{
	(void) arg;
	(void) level;
	if (fields[0] != '\0') {
		hbctl_error("%s (%s)", msg, fields);
	} else {
		hbctl_error("%s", msg);
	}
}

static const struct alert_follow_ops follow_ops = {
	.fetch = fetch,
	.take = take,
	.say = say,
};

/* The newest alert's seq, for --new. */
static int
newest_seq(struct hbctl *h, uint64_t *out, char *why, size_t why_len)
{
	Hbmon__V1__ServerInfoRequest req = HBMON__V1__SERVER_INFO_REQUEST__INIT;
	Hbmon__V1__ServerInfoReply *info = NULL;
	int rv = hbctl_try_admin(h, "ServerInfo", &req.base,
	                         (ProtobufCMessage **) &info, why, why_len);

	if (rv == HBCTL_EXIT_OK) {
		*out = info->last_alert_seq;
		protobuf_c_message_free_unpacked(&info->base, NULL);
	}
	return rv;
}

int
follow_run(struct hbctl *h, const struct follow_options *o)
{
	struct follower f = { .h = h, .o = o, .first = true };
	struct alert_follow_options fo = {
		.subscribe_url = o->publish_url,
		.tls = h->tls,
		.dial_wait = true,
		.poll_ms = o->poll_ms,
		.retry_ms = o->poll_ms,
		.page_max = 1000,
	};
	struct alert_follow *follow = NULL;
	struct sigaction sa;
	uint64_t after = o->after_seq;
	char why[1024];
	int rv;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (o->start_at_newest &&
	    (rv = newest_seq(h, &after, why, sizeof(why))) != HBCTL_EXIT_OK) {
		hbctl_error("%s", why);
		return rv;
	}
	/* Subscribed before the first catch-up: an alert raised in between
	 * arrives on PUB rather than falling between the two. */
	if (alert_follow_open(&fo, after, &follow_ops, &f, &follow, why,
	                      sizeof(why)) != HBMON_OK) {
		hbctl_error("%s", why);
		return HBCTL_EXIT_FAILED;
	}
	alert_print_header(h);
	fflush(stdout);
	/* The first catch-up must work: otherwise nothing does. */
	if (alert_follow_catch_up(follow, SIZE_MAX, true) != HBMON_OK) {
		hbctl_error("%s", f.why);
		alert_follow_close(follow);
		return f.exit_code;
	}
	f.first = false;
	while (!done(&f)) {
		alert_follow_poll(follow, RECV_SLICE_MS, SIZE_MAX, true);
	}
	alert_follow_close(follow);
	return HBCTL_EXIT_OK;
}
