/* The gapless alert follower: PUB fast path + outbox catch-up. */
#include "common/alert_follow.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "hbmon/error.h"

#define PAGE_MAX  500  /* default alerts asked for per AlertsAfter call */
#define DRAIN_MAX 1000 /* PUB messages read in one go */
/* How long the outbox must keep ending before the last seq before the
 * follower believes the database was replaced: the server publishes an
 * alert a moment before AlertsAfter counts it as committed. */
#define RESET_CONFIRM_MS 2000

struct alert_follow {
	nng_socket sub;
	bool subscribed;
	const struct alert_follow_ops *ops;
	void *arg;
	uint64_t last; /* seq of the newest alert taken, or the start */
	atomic_bool need_catchup;
	bool behind; /* the user's room ran out: the outbox has more */
	bool reset;
	int64_t next_poll, retry_at;
	int64_t reset_seen_at; /* outbox seen ending before last; 0: no */
	int64_t poll_ms, retry_ms;
	uint32_t page_max;
	char boot_id[64]; /* the server start the keepalives come from */
};

enum alert_follow_step
alert_follow_classify(uint64_t last, uint64_t seq)
{
	if (seq <= last) {
		return ALERT_FOLLOW_SEEN;
	}
	return seq == last + 1 ? ALERT_FOLLOW_NEXT : ALERT_FOLLOW_GAP;
}

static void
say(struct alert_follow *f, enum log_level level, const char *msg,
    const char *fields)
{
	if (f->ops->say != NULL) {
		f->ops->say(f->arg, level, msg, fields);
	}
}

static void
pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void) p;
	(void) ev;
	/* Whatever was published while we were not connected is only in
	 * the outbox now. */
	alert_follow_request(arg);
}

/* Subscribes to everything on o->subscribe_url. */
static int
subscribe(struct alert_follow *f, const struct alert_follow_options *o,
          char *why, size_t why_len)
{
	char tls_why[512], msg[1200];
	int rv, tls_err;

	if ((rv = nng_sub0_open(&f->sub)) != 0) {
		snprintf(why, why_len, "cannot open a SUB socket: %s",
		         nng_strerror(rv));
		return rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EINVAL;
	}
	/* Everything: a seq gap can only be seen in the whole stream. */
	nng_socket_set(f->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_int(f->sub, NNG_OPT_RECVBUF, 1024);
	nng_socket_set_ms(f->sub, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(f->sub, NNG_OPT_RECONNMAXT, 2000);
	nng_pipe_notify(f->sub, NNG_PIPE_EV_ADD_POST, pipe_added, f);
	rv = tlsconf_dial(f->sub, o->subscribe_url, &o->tls,
	                  o->dial_wait ? 0 : NNG_FLAG_NONBLOCK, &tls_err,
	                  tls_why, sizeof(tls_why));
	if (rv == 0) {
		f->subscribed = true;
		return HBMON_OK;
	}
	snprintf(why, why_len, "cannot subscribe to %s: %s", o->subscribe_url,
	         tls_err != HBMON_OK ? tls_why : nng_strerror(rv));
	if (!o->dial_wait) {
		nng_close(f->sub);
		return HBMON_EINVAL;
	}
	/* Keep dialling in the background: the server may come. */
	f->subscribed =
	    tls_err == HBMON_OK &&
	    tlsconf_dial(f->sub, o->subscribe_url, &o->tls, NNG_FLAG_NONBLOCK,
	                 &tls_err, tls_why, sizeof(tls_why)) == 0;
	if (!f->subscribed) {
		nng_close(f->sub);
	}
	snprintf(msg, sizeof(msg), "%s; reading the outbox until it can", why);
	say(f, LOG_WARN, msg, "");
	return HBMON_OK;
}

int
alert_follow_open(const struct alert_follow_options *o, uint64_t after,
                  const struct alert_follow_ops *ops, void *arg,
                  struct alert_follow **out, char *why, size_t why_len)
{
	struct alert_follow *f = calloc(1, sizeof(*f));
	int rv;

	if (f == NULL) {
		return HBMON_ENOMEM;
	}
	f->ops = ops;
	f->arg = arg;
	f->last = after;
	f->poll_ms = o->poll_ms;
	f->retry_ms = o->retry_ms;
	f->page_max = o->page_max > 0 ? o->page_max : PAGE_MAX;
	atomic_init(&f->need_catchup, true);
	if (o->subscribe_url != NULL &&
	    (rv = subscribe(f, o, why, why_len)) != HBMON_OK) {
		free(f);
		return rv;
	}
	*out = f;
	return HBMON_OK;
}

void
alert_follow_close(struct alert_follow *f)
{
	if (f == NULL) {
		return;
	}
	if (f->subscribed) {
		nng_close(f->sub);
	}
	free(f);
}

void
alert_follow_request(struct alert_follow *f)
{
	atomic_store(&f->need_catchup, true);
}

uint64_t
alert_follow_last(const struct alert_follow *f)
{
	return f->last;
}

bool
alert_follow_behind(const struct alert_follow *f)
{
	return f->behind;
}

bool
alert_follow_take_reset(struct alert_follow *f)
{
	bool r = f->reset;

	f->reset = false;
	return r;
}

/* Passes a (owned) on as the next alert. */
static void
take(struct alert_follow *f, Hbmon__V1__Alert *a)
{
	f->last = a->seq;
	f->ops->take(f->arg, a);
}

/* A copy of a that does not share memory with the page it came in. */
static Hbmon__V1__Alert *
copy_alert(const Hbmon__V1__Alert *a)
{
	size_t len = hbmon__v1__alert__get_packed_size(a);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	Hbmon__V1__Alert *c;

	if (buf == NULL) {
		return NULL;
	}
	hbmon__v1__alert__pack(a, buf);
	c = hbmon__v1__alert__unpack(NULL, len, buf);
	free(buf);
	return c;
}

/*
 * The outbox ends before the last seq (page empty): true when that has
 * lasted long enough to believe the database was replaced.
 */
static bool
replaced(struct alert_follow *f, const Hbmon__V1__AlertsAfterReply *page,
         int64_t now)
{
	char fields[128];

	if (f->reset_seen_at == 0 ||
	    now - f->reset_seen_at < RESET_CONFIRM_MS) {
		/* Look again before believing it. */
		if (f->reset_seen_at == 0) {
			f->reset_seen_at = now;
		}
		atomic_store(&f->need_catchup, false);
		f->next_poll = f->reset_seen_at + RESET_CONFIRM_MS;
		return false;
	}
	/* Nothing is lost by starting over: every alert of the old
	 * database was taken. */
	snprintf(fields, sizeof(fields),
	         "outbox_last=%" PRIu64 " cursor=%" PRIu64, page->last_seq,
	         f->last);
	say(f, LOG_ERROR,
	    "the outbox ends before the cursor: the server's database was "
	    "replaced; delivering its alerts from seq 1",
	    fields);
	f->last = 0;
	f->reset = true;
	f->reset_seen_at = 0;
	return true;
}

/* alert_follow_catch_up; *room drops by one for each alert taken. */
static int
catch_up(struct alert_follow *f, size_t *room, bool idle)
{
	int64_t now = clock_mono_ms();

	while (*room > 0) {
		Hbmon__V1__AlertsAfterReply *page = NULL;
		uint32_t limit =
		    *room < f->page_max ? (uint32_t) *room : f->page_max;
		bool more;
		int rv = f->ops->fetch(f->arg, f->last, limit, &page);

		if (rv != HBMON_OK) {
			f->retry_at = now + f->retry_ms;
			return rv;
		}
		if (page->n_alerts == 0 && page->last_seq < f->last && idle) {
			bool restart = replaced(f, page, now);
			protobuf_c_message_free_unpacked(&page->base, NULL);
			if (!restart) {
				return HBMON_OK;
			}
			continue;
		}
		f->reset_seen_at = 0;
		for (size_t i = 0; i<page->n_alerts && * room> 0; i++) {
			Hbmon__V1__Alert *a;
			if (page->alerts[i]->seq <= f->last) {
				continue;
			}
			if ((a = copy_alert(page->alerts[i])) == NULL) {
				break; /* out of memory: the outbox keeps it */
			}
			if (a->seq != f->last + 1) {
				log_debug("outbox seq jumps",
				          "from=%" PRIu64 " to=%" PRIu64,
				          f->last, a->seq);
			}
			take(f, a);
			(*room)--;
		}
		more = page->more && page->n_alerts > 0;
		protobuf_c_message_free_unpacked(&page->base, NULL);
		if (!more) {
			f->behind = false;
			atomic_store(&f->need_catchup, false);
			f->next_poll = now + f->poll_ms;
			return HBMON_OK;
		}
	}
	/* No room: fetch the rest when the user asks again. */
	f->behind = true;
	atomic_store(&f->need_catchup, false);
	f->next_poll = now + f->poll_ms;
	return HBMON_OK;
}

int
alert_follow_catch_up(struct alert_follow *f, size_t room, bool idle)
{
	return catch_up(f, &room, idle);
}

/* Handles a keepalive from PUB. */
static void
keepalive(struct alert_follow *f, const void *msg, size_t len)
{
	Hbmon__V1__Keepalive *k;
	bool restarted;

	if (keepalive_topic_unpack(msg, len, &k) != HBMON_OK) {
		log_warn("ignoring a keepalive that does not decode",
		         "bytes=%zu", len);
		return;
	}
	if (k->last_alert_seq > f->last) {
		/* An alert we have not seen: PUB dropped it, or it is on
		 * its way; either way the outbox has it. */
		alert_follow_request(f);
	}
	restarted =
	    f->boot_id[0] != '\0' && strcmp(k->boot_id, f->boot_id) != 0;
	if (restarted) {
		alert_follow_request(f);
	}
	snprintf(f->boot_id, sizeof(f->boot_id), "%s", k->boot_id);
	if (f->ops->keepalive != NULL) {
		f->ops->keepalive(f->arg, k, restarted);
	}
	hbmon__v1__keepalive__free_unpacked(k, NULL);
}

/* Handles one PUB message; *room drops by one for an alert taken. */
static void
received(struct alert_follow *f, const void *msg, size_t len, size_t *room)
{
	Hbmon__V1__Alert *a;

	if (pub_topic_classify(msg, len) == PUB_KEEPALIVE) {
		keepalive(f, msg, len);
		return;
	}
	if (alert_topic_unpack(msg, len, &a) != HBMON_OK) {
		log_warn("ignoring a PUB message that is not an alert",
		         "bytes=%zu", len);
		return;
	}
	switch (alert_follow_classify(f->last, a->seq)) {
	case ALERT_FOLLOW_SEEN:
		break;
	case ALERT_FOLLOW_NEXT:
		if (*room > 0 && !f->behind) {
			take(f, a);
			(*room)--;
			return;
		}
		if (*room == 0) {
			f->behind = true; /* read it once there is room */
		} else {
			alert_follow_request(f); /* behind: the outbox first */
		}
		log_debug("alert not queued from PUB",
		          "seq=%" PRIu64 " expected=%" PRIu64 " why=behind",
		          a->seq, f->last + 1);
		break;
	case ALERT_FOLLOW_GAP:
		/* The outbox has it, and what PUB dropped before it. */
		alert_follow_request(f);
		log_debug("alert not queued from PUB",
		          "seq=%" PRIu64 " expected=%" PRIu64 " why=gap",
		          a->seq, f->last + 1);
		break;
	}
	hbmon__v1__alert__free_unpacked(a, NULL);
}

/* Waits up to wait_ms for PUB messages and handles them. */
static void
receive(struct alert_follow *f, int64_t wait_ms, size_t *room)
{
	void *buf;
	size_t len;
	int rv;

	if (!f->subscribed) {
		if (wait_ms > 0) {
			struct timespec t = { wait_ms / 1000,
				              (wait_ms % 1000) * 1000000L };
			nanosleep(&t, NULL);
		}
		return;
	}
	nng_socket_set_ms(f->sub, NNG_OPT_RECVTIMEO,
	                  wait_ms > 0 ? (nng_duration) wait_ms : 0);
	rv = nng_recv(f->sub, &buf, &len,
	              NNG_FLAG_ALLOC | (wait_ms > 0 ? 0 : NNG_FLAG_NONBLOCK));
	for (int i = 0; rv == 0 && i < DRAIN_MAX; i++) {
		received(f, buf, len, room);
		nng_free(buf, len);
		rv = nng_recv(f->sub, &buf, &len,
		              NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK);
	}
	if (rv == 0) {
		received(f, buf, len, room);
		nng_free(buf, len);
	}
}

void
alert_follow_poll(struct alert_follow *f, int64_t wait_ms, size_t room,
                  bool idle)
{
	int64_t now = clock_mono_ms();
	size_t start = room;

	if (now >= f->retry_at &&
	    (atomic_load(&f->need_catchup) || now >= f->next_poll)) {
		catch_up(f, &room, idle);
		if (room != start) {
			wait_ms = 0; /* something to deliver already */
		}
	}
	receive(f, wait_ms, &room);
	if (atomic_load(&f->need_catchup) && clock_mono_ms() >= f->retry_at) {
		/* Whatever was taken in this call is the user's now. */
		catch_up(f, &room, idle && room == start);
	}
}
