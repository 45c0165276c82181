/* PUB fast path + outbox catch-up. */
#include "notify/source.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"

#define PAGE_MAX         500  /* alerts asked for per AlertsAfter call */
#define DRAIN_MAX        1000 /* PUB messages read in one go */
#define ADMIN_TIMEOUT_MS 5000
/* How long the outbox must keep ending before the cursor before the
 * source believes the database was replaced: the server publishes an
 * alert a moment before AlertsAfter counts it as committed. */
#define RESET_CONFIRM_MS 2000

struct source {
	nng_socket sub;
	struct rpc_client *admin;
	char admin_url[1024];
	Hbmon__V1__Alert **ring;
	size_t cap, head, count;
	uint64_t tail; /* seq of the newest queued alert, or the start */
	atomic_bool need_catchup;
	bool behind;     /* PUB alerts were dropped: the queue was full */
	bool admin_down; /* said once in the log */
	bool reset;
	int64_t next_poll, retry_at;
	char reader[128];
	_Atomic uint64_t delivered; /* the notifier's durable cursor */
	int64_t reset_seen_at; /* outbox seen ending before the tail; 0: no */
	int64_t poll_interval, retry_ms, probe_ms;
	struct source_contact contact;
	char boot_id[64]; /* the server start the keepalives come from */
};

static void
pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct source *s = arg;

	(void) p;
	(void) ev;
	/* Whatever was published while we were not connected is only in
	 * the outbox now. */
	atomic_store(&s->need_catchup, true);
}

int
source_open(const struct source_options *opts, uint64_t after,
            struct source **out, char *why, size_t why_len)
{
	struct source *s = calloc(1, sizeof(*s));
	struct rpc_client_options ao = {
		.url = opts->admin_url,
		.robot_id = opts->admin_key != NULL ? "@admin" : NULL,
		.key = opts->admin_key,
		.key_len = opts->admin_key_len,
		.timeout_ms = ADMIN_TIMEOUT_MS,
		.background_dial = true,
		.tls = opts->tls,
	};
	char tls_why[512];
	int rv, tls_err;

	/* A call waits for a connection up to its timeout while the server
	 * is away, and the delivery loop waits with it: keep that well
	 * inside server_timeout, so losing contact is noticed in time. */
	if (opts->probe_ms > 0 && opts->probe_ms < ADMIN_TIMEOUT_MS) {
		ao.timeout_ms =
		    opts->probe_ms < 500 ? 500 : (int) opts->probe_ms;
	}

	if (s == NULL ||
	    (s->ring = calloc(opts->queue_max, sizeof(*s->ring))) == NULL) {
		free(s);
		return HBMON_ENOMEM;
	}
	s->cap = opts->queue_max;
	s->tail = after;
	snprintf(s->reader, sizeof(s->reader), "%s",
	         opts->reader != NULL ? opts->reader : "");
	atomic_init(&s->delivered, after);
	s->poll_interval = opts->poll_interval_ms;
	s->retry_ms = opts->retry_ms;
	s->probe_ms = opts->probe_ms;
	snprintf(s->admin_url, sizeof(s->admin_url), "%s", opts->admin_url);
	snprintf(s->contact.admin_url, sizeof(s->contact.admin_url), "%s",
	         opts->admin_url);
	atomic_init(&s->need_catchup, true);
	if ((rv = rpc_client_open(&ao, &s->admin, why, why_len)) != HBMON_OK) {
		free(s->ring);
		free(s);
		return rv;
	}
	if ((rv = nng_sub0_open(&s->sub)) != 0) {
		snprintf(why, why_len, "cannot open a SUB socket: %s",
		         nng_strerror(rv));
		goto fail;
	}
	nng_socket_set(s->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_int(s->sub, NNG_OPT_RECVBUF, 1024);
	nng_socket_set_ms(s->sub, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(s->sub, NNG_OPT_RECONNMAXT, 2000);
	nng_pipe_notify(s->sub, NNG_PIPE_EV_ADD_POST, pipe_added, s);
	if ((rv = tlsconf_dial(s->sub, opts->subscribe_url, &opts->tls,
	                       NNG_FLAG_NONBLOCK, &tls_err, tls_why,
	                       sizeof(tls_why))) != 0) {
		snprintf(why, why_len, "cannot subscribe to %s: %s",
		         opts->subscribe_url,
		         tls_err != HBMON_OK ? tls_why : nng_strerror(rv));
		nng_close(s->sub);
		goto fail;
	}
	*out = s;
	return HBMON_OK;
fail:
	rpc_client_close(s->admin);
	free(s->ring);
	free(s);
	return HBMON_EINVAL;
}

void
source_close(struct source *s)
{
	if (s == NULL) {
		return;
	}
	nng_close(s->sub);
	rpc_client_close(s->admin);
	source_pop(s, s->count);
	free(s->ring);
	free(s);
}

size_t
source_count(const struct source *s)
{
	return s->count;
}

const Hbmon__V1__Alert *
source_at(const struct source *s, size_t i)
{
	return i < s->count ? s->ring[(s->head + i) % s->cap] : NULL;
}

void
source_pop(struct source *s, size_t n)
{
	while (n-- > 0 && s->count > 0) {
		hbmon__v1__alert__free_unpacked(s->ring[s->head], NULL);
		s->ring[s->head] = NULL;
		s->head = (s->head + 1) % s->cap;
		s->count--;
	}
}

void
source_contact(const struct source *s, struct source_contact *out)
{
	*out = s->contact;
	out->tail = s->tail;
}

/* The outbox answered (ok) or could not be read, at now. */
static void
admin_answered(struct source *s, bool ok, int64_t now)
{
	if (ok) {
		s->contact.admin_ok_ms = now;
		s->contact.admin_failing_ms = 0;
	} else if (s->contact.admin_failing_ms == 0) {
		s->contact.admin_failing_ms = now;
	}
}

void
source_delivered(struct source *s, uint64_t seq)
{
	atomic_store(&s->delivered, seq);
}

bool
source_take_reset(struct source *s)
{
	bool r = s->reset;

	s->reset = false;
	return r;
}

/* Queues a (owned) when it is the next seq; frees it otherwise. */
static void
push(struct source *s, Hbmon__V1__Alert *a)
{
	if (a->seq <= s->tail) {
		hbmon__v1__alert__free_unpacked(a, NULL);
		return;
	}
	if (a->seq != s->tail + 1) {
		/* Only the outbox's own answers reach here with a jump: the
		 * outbox is the truth. */
		log_debug("outbox seq jumps", "from=%" PRIu64 " to=%" PRIu64,
		          s->tail, a->seq);
	}
	s->ring[(s->head + s->count) % s->cap] = a;
	s->count++;
	s->tail = a->seq;
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

static int
alerts_after(struct source *s, uint64_t after, uint32_t limit,
             Hbmon__V1__AlertsAfterReply **out, char *why, size_t why_len)
{
	Hbmon__V1__AlertsAfterRequest req =
	    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;
	struct rpc_status st;
	int rv;

	req.after_seq = after;
	req.limit = limit;
	if (s->reader[0] != '\0') {
		req.reader = s->reader;
		req.delivered_seq = atomic_load(&s->delivered);
	}
	*out = NULL;
	rv = rpc_client_call(s->admin, "/hbmon.v1.Admin/AlertsAfter", &req.base,
	                     &hbmon__v1__alerts_after_reply__descriptor,
	                     (ProtobufCMessage **) out, &st);
	if (rv != HBMON_OK || st.code != RPC_OK || *out == NULL) {
		snprintf(why, why_len, "%s%s%s",
		         rv == HBMON_OK ? rpc_code_name(st.code) : "",
		         rv == HBMON_OK ? ": " : "", st.message);
		if (*out != NULL) {
			protobuf_c_message_free_unpacked(&(*out)->base, NULL);
			*out = NULL;
		}
		return HBMON_EUNAVAIL;
	}
	return HBMON_OK;
}

int
source_outbox_last(struct source *s, uint64_t *out, char *why, size_t why_len)
{
	Hbmon__V1__AlertsAfterReply *page;
	int rv = alerts_after(s, 0, 1, &page, why, why_len);

	admin_answered(s, rv == HBMON_OK, clock_mono_ms());
	if (rv == HBMON_OK) {
		*out = page->last_seq;
		s->contact.outbox_last = page->last_seq;
		protobuf_c_message_free_unpacked(&page->base, NULL);
	}
	return rv;
}

/* Reads the outbox after the queue's tail until it is read or full. */
static void
catch_up(struct source *s, int64_t now)
{
	char why[600];

	while (s->count < s->cap) {
		Hbmon__V1__AlertsAfterReply *page;
		size_t room = s->cap - s->count;
		bool more;

		int rv = alerts_after(
		    s, s->tail, room < PAGE_MAX ? (uint32_t) room : PAGE_MAX,
		    &page, why, sizeof(why));

		admin_answered(s, rv == HBMON_OK, clock_mono_ms());
		if (rv != HBMON_OK) {
			if (!s->admin_down) {
				log_warn("cannot read the outbox; retrying",
				         "admin=%s why=%s", s->admin_url, why);
			}
			s->admin_down = true;
			s->retry_at = now + s->retry_ms;
			return;
		}
		if (s->admin_down) {
			log_info("outbox readable again", "admin=%s",
			         s->admin_url);
			s->admin_down = false;
		}
		s->contact.outbox_last = page->last_seq;
		if (page->n_alerts == 0 && page->last_seq < s->tail &&
		    s->count == 0) {
			if (s->reset_seen_at == 0 ||
			    now - s->reset_seen_at < RESET_CONFIRM_MS) {
				/* Look again before believing it. */
				if (s->reset_seen_at == 0) {
					s->reset_seen_at = now;
				}
				protobuf_c_message_free_unpacked(&page->base,
				                                 NULL);
				atomic_store(&s->need_catchup, false);
				s->next_poll =
				    s->reset_seen_at + RESET_CONFIRM_MS;
				return;
			}
			/* Nothing is lost by starting over: every alert
			 * of the old database was delivered. */
			log_error("the outbox ends before the cursor: the "
			          "server's database was replaced; delivering "
			          "its alerts from seq 1",
			          "outbox_last=%" PRIu64 " cursor=%" PRIu64,
			          page->last_seq, s->tail);
			s->tail = 0;
			s->reset = true;
			s->reset_seen_at = 0;
			protobuf_c_message_free_unpacked(&page->base, NULL);
			continue;
		}
		s->reset_seen_at = 0;
		for (size_t i = 0; i < page->n_alerts; i++) {
			Hbmon__V1__Alert *a = copy_alert(page->alerts[i]);
			if (a == NULL) {
				break; /* out of memory: the outbox keeps it */
			}
			push(s, a);
		}
		more = page->more && page->n_alerts > 0;
		protobuf_c_message_free_unpacked(&page->base, NULL);
		if (!more) {
			s->behind = false;
			atomic_store(&s->need_catchup, false);
			s->next_poll = now + s->poll_interval;
			return;
		}
	}
	/* Full: fetch the rest once the queue has drained. */
	s->behind = true;
	atomic_store(&s->need_catchup, false);
	s->next_poll = now + s->poll_interval;
}

/* Handles a keepalive from PUB. */
static void
keepalive(struct source *s, const void *msg, size_t len)
{
	Hbmon__V1__Keepalive *k;

	if (keepalive_topic_unpack(msg, len, &k) != HBMON_OK) {
		log_warn("ignoring a keepalive that does not decode",
		         "bytes=%zu", len);
		return;
	}
	s->contact.keepalive_ms = clock_mono_ms();
	s->contact.keepalive_health = (int) k->health;
	s->contact.keepalive_interval = k->interval_ms;
	snprintf(s->contact.problem, sizeof(s->contact.problem), "%s",
	         k->problem);
	if (k->last_alert_seq > s->tail) {
		/* An alert we have not seen: PUB dropped it, or it is on
		 * its way; either way the outbox has it. */
		atomic_store(&s->need_catchup, true);
	}
	if (strcmp(k->boot_id, s->boot_id) != 0) {
		if (s->boot_id[0] != '\0') {
			log_info("the server restarted (new boot id)",
			         "uptime_ms=%lld", (long long) k->uptime_ms);
			atomic_store(&s->need_catchup, true);
		}
		snprintf(s->boot_id, sizeof(s->boot_id), "%s", k->boot_id);
	}
	hbmon__v1__keepalive__free_unpacked(k, NULL);
}

/* Handles one PUB message. */
static void
received(struct source *s, const void *msg, size_t len)
{
	Hbmon__V1__Alert *a;

	if (pub_topic_classify(msg, len) == PUB_KEEPALIVE) {
		keepalive(s, msg, len);
		return;
	}
	if (alert_topic_unpack(msg, len, &a) != HBMON_OK) {
		log_warn("ignoring a PUB message that is not an alert",
		         "bytes=%zu", len);
		return;
	}
	if (a->seq <= s->tail) {
		hbmon__v1__alert__free_unpacked(a, NULL);
		return;
	}
	if (a->seq != s->tail + 1 || s->count == s->cap || s->behind) {
		/* A gap, or no room: the outbox has it. */
		if (s->count == s->cap) {
			s->behind = true;
		} else {
			atomic_store(&s->need_catchup, true);
		}
		log_debug("alert not queued from PUB",
		          "seq=%" PRIu64 " expected=%" PRIu64, a->seq,
		          s->tail + 1);
		hbmon__v1__alert__free_unpacked(a, NULL);
		return;
	}
	push(s, a);
}

void
source_poll(struct source *s, int64_t wait_ms)
{
	int64_t now = clock_mono_ms();
	void *buf;
	size_t len;
	int rv;

	int64_t heard = s->contact.keepalive_ms > s->contact.admin_ok_ms
	                    ? s->contact.keepalive_ms
	                    : s->contact.admin_ok_ms;
	bool probe = s->probe_ms > 0 && now - heard >= s->probe_ms;

	if (now >= s->retry_at &&
	    (atomic_load(&s->need_catchup) || now >= s->next_poll || probe ||
	     (s->behind && s->count <= s->cap / 2))) {
		size_t before = s->count;
		catch_up(s, now);
		if (s->count > before) {
			wait_ms = 0; /* something to deliver already */
		}
	}
	nng_socket_set_ms(s->sub, NNG_OPT_RECVTIMEO,
	                  wait_ms > 0 ? (nng_duration) wait_ms : 0);
	rv = nng_recv(s->sub, &buf, &len,
	              NNG_FLAG_ALLOC | (wait_ms > 0 ? 0 : NNG_FLAG_NONBLOCK));
	for (int i = 0; rv == 0 && i < DRAIN_MAX; i++) {
		received(s, buf, len);
		nng_free(buf, len);
		rv = nng_recv(s->sub, &buf, &len,
		              NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK);
	}
	if (rv == 0) {
		received(s, buf, len);
		nng_free(buf, len);
	}
	now = clock_mono_ms();
	if (atomic_load(&s->need_catchup) && now >= s->retry_at) {
		catch_up(s, now);
	}
}
