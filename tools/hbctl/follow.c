/*
 * hbctl alerts --follow: every alert exactly once, in seq order.
 *
 * The PUB socket is the fast path and nng PUB drops messages for slow
 * subscribers, so the outbox (Admin.AlertsAfter) is the truth: we
 * subscribe first, then catch up from the outbox, and from then on
 *  - a PUB alert with seq <= last is one already shown: skipped;
 *  - seq == last + 1 is shown at once;
 *  - seq > last + 1 means PUB dropped some: the gap (and the alert itself,
 *    committed before it was published) is read from the outbox first;
 *  - when PUB is quiet for --poll, the outbox is read anyway, which
 *    catches a dropped alert that no later one reveals.
 * Subscribing before the first catch-up means an alert raised meanwhile
 * arrives on PUB (and is skipped, or shown) rather than falling between.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "alerts.h"
#include "common/alert_topic.h"
#include "common/clock.h"
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
	uint64_t last;  /* highest seq shown or passed over */
	uint64_t shown; /* alerts printed */
	bool lost;      /* the outbox could not be read last time */
};

static bool
done(const struct follower *f)
{
	return stop_requested || (f->o->count > 0 && f->shown >= f->o->count);
}

/* Takes the next alert in seq order (a->seq > f->last). */
static void
take(struct follower *f, const Hbmon__V1__Alert *a)
{
	f->last = a->seq;
	if (done(f) || !alert_filter_pass(&f->o->filter, a)) {
		return;
	}
	alert_print(f->h, a);
	/* Whoever reads us (a pipe, a test) sees each alert as it comes. */
	fflush(stdout);
	f->shown++;
}

/*
 * Reads the outbox after f->last until it is exhausted. Returns
 * HBCTL_EXIT_OK, or an exit code with why set.
 */
static int
catch_up(struct follower *f, char *why, size_t why_len)
{
	bool more = true;
	int rv = HBCTL_EXIT_OK;

	while (more && !done(f)) {
		Hbmon__V1__AlertsAfterRequest req =
		    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;
		Hbmon__V1__AlertsAfterReply *page = NULL;

		req.after_seq = f->last;
		req.limit = 1000;
		rv = hbctl_try_admin(f->h, "AlertsAfter", &req.base,
		                     (ProtobufCMessage **) &page, why, why_len);
		if (rv != HBCTL_EXIT_OK) {
			return rv;
		}
		for (size_t i = 0; i < page->n_alerts; i++) {
			if (page->alerts[i]->seq > f->last) {
				take(f, page->alerts[i]);
			}
		}
		more = page->more && page->n_alerts > 0;
		protobuf_c_message_free_unpacked(&page->base, NULL);
	}
	return rv;
}

/* catch_up while following: a server away for a while is waited for. */
static void
catch_up_quietly(struct follower *f)
{
	char why[1024];

	if (catch_up(f, why, sizeof(why)) != HBCTL_EXIT_OK) {
		if (!f->lost) {
			hbctl_error("%s; still trying", why);
			f->lost = true;
		}
	} else if (f->lost) {
		hbctl_error("reading the outbox again");
		f->lost = false;
	}
}

/* One message from PUB. */
static void
on_published(struct follower *f, nng_msg *msg)
{
	Hbmon__V1__Alert *a = NULL;

	if (alert_topic_unpack(nng_msg_body(msg), nng_msg_len(msg), &a) !=
	    HBMON_OK) {
		/* A keepalive, or not an alert at all: the outbox poll
		 * covers us. */
		return;
	}
	if (hbctl_sanitize(&a->base, f->h->json) != HBMON_OK) {
		hbmon__v1__alert__free_unpacked(a, NULL);
		return; /* the outbox poll tries again */
	}
	if (a->seq == f->last + 1) {
		take(f, a);
	} else if (a->seq > f->last + 1) {
		catch_up_quietly(f);
		/* The outbox had it unless it could not be read. */
		if (a->seq > f->last && !f->lost) {
			take(f, a);
		}
	}
	hbmon__v1__alert__free_unpacked(a, NULL);
}

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

/* Subscribes to everything on url; false (with a warning) if it fails. */
static bool
subscribe(const struct hbctl *h, nng_socket *sock, const char *url)
{
	char why[512];
	int rv, tls_err;

	if ((rv = nng_sub0_open(sock)) != 0) {
		hbctl_error("cannot open a SUB socket: %s", nng_strerror(rv));
		return false;
	}
	/* Everything: the filters are applied here, since a seq gap can
	 * only be seen in the unfiltered stream. */
	nng_socket_set(*sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_ms(*sock, NNG_OPT_RECVTIMEO, RECV_SLICE_MS);
	if ((rv = tlsconf_dial(*sock, url, &h->tls, 0, &tls_err, why,
	                       sizeof(why))) != 0) {
		hbctl_error("cannot subscribe to %s: %s; reading the outbox "
		            "until it can (--publish URL)",
		            url, tls_err != HBMON_OK ? why : nng_strerror(rv));
		/* Keep dialling in the background: the server may come. */
		if (tls_err != HBMON_OK ||
		    tlsconf_dial(*sock, url, &h->tls, NNG_FLAG_NONBLOCK,
		                 &tls_err, why, sizeof(why)) != 0) {
			nng_close(*sock);
			return false;
		}
	}
	return true;
}

int
follow_run(struct hbctl *h, const struct follow_options *o)
{
	struct follower f = { h, o, o->after_seq, 0, false };
	struct sigaction sa;
	nng_socket sock = NNG_SOCKET_INITIALIZER;
	bool subscribed = false;
	char why[1024];
	int64_t next_poll;
	int rv;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (o->publish_url != NULL) {
		subscribed = subscribe(h, &sock, o->publish_url);
	}
	if (o->start_at_newest &&
	    (rv = newest_seq(h, &f.last, why, sizeof(why))) != HBCTL_EXIT_OK) {
		goto fail;
	}
	alert_print_header(h);
	fflush(stdout);
	/* The first catch-up must work: otherwise nothing does. */
	if ((rv = catch_up(&f, why, sizeof(why))) != HBCTL_EXIT_OK) {
		goto fail;
	}
	next_poll = clock_mono_ms() + o->poll_ms;
	while (!done(&f)) {
		nng_msg *msg = NULL;

		if (subscribed && nng_recvmsg(sock, &msg, 0) == 0) {
			on_published(&f, msg);
			nng_msg_free(msg);
		} else if (!subscribed) {
			struct timespec t = { 0, RECV_SLICE_MS * 1000000L };
			nanosleep(&t, NULL);
		}
		if (!done(&f) && clock_mono_ms() >= next_poll) {
			catch_up_quietly(&f);
			next_poll = clock_mono_ms() + o->poll_ms;
		}
	}
	if (subscribed) {
		nng_close(sock);
	}
	return HBCTL_EXIT_OK;

fail:
	hbctl_error("%s", why);
	if (subscribed) {
		nng_close(sock);
	}
	return rv;
}
