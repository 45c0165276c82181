/* The notifier's alerts: common/alert_follow into a bounded queue. */
#include "notify/source.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_follow.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"

#define ADMIN_TIMEOUT_MS 5000

struct source {
	struct alert_follow *follow;
	struct rpc_client *admin;
	char admin_url[1024];
	Hbmon__V1__Alert **ring;
	size_t cap, head, count;
	bool admin_down; /* said once in the log */
	char reader[128];
	_Atomic uint64_t delivered; /* the notifier's durable cursor */
	int64_t probe_ms;
	struct source_contact contact;
};

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
	admin_answered(s, rv == HBMON_OK && st.code == RPC_OK && *out != NULL,
	               clock_mono_ms());
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
	s->contact.outbox_last = (*out)->last_seq;
	return HBMON_OK;
}

/* ---- what the follower asks of us (alert_follow.h) ---- */

static int
fetch(void *arg, uint64_t after, uint32_t limit,
      Hbmon__V1__AlertsAfterReply **out)
{
	struct source *s = arg;
	char why[600];
	int rv = alerts_after(s, after, limit, out, why, sizeof(why));

	if (rv != HBMON_OK) {
		if (!s->admin_down) {
			log_warn("cannot read the outbox; retrying",
			         "admin=%s why=%s", s->admin_url, why);
		}
		s->admin_down = true;
	} else if (s->admin_down) {
		log_info("outbox readable again", "admin=%s", s->admin_url);
		s->admin_down = false;
	}
	return rv;
}

static void
take(void *arg, Hbmon__V1__Alert *a)
{
	struct source *s = arg;

	assert(s->count < s->cap);
	s->ring[(s->head + s->count) % s->cap] = a;
	s->count++;
}

static void
keepalive(void *arg, const Hbmon__V1__Keepalive *k, bool restarted)
{
	struct source *s = arg;

	s->contact.keepalive_ms = clock_mono_ms();
	s->contact.keepalive_health = (int) k->health;
	s->contact.keepalive_interval = k->interval_ms;
	snprintf(s->contact.problem, sizeof(s->contact.problem), "%s",
	         k->problem);
	if (restarted) {
		log_info("the server restarted (new boot id)", "uptime_ms=%lld",
		         (long long) k->uptime_ms);
	}
}

static void
say(void *arg, enum log_level level, const char *msg, const char *fields)
{
	(void) arg;
	log_write(level, msg, "%s", fields);
}

static const struct alert_follow_ops follow_ops = {
	.fetch = fetch,
	.take = take,
	.keepalive = keepalive,
	.say = say,
};

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
	struct alert_follow_options fo = {
		.subscribe_url = opts->subscribe_url,
		.tls = opts->tls,
		.poll_ms = opts->poll_interval_ms,
		.retry_ms = opts->retry_ms,
	};
	int rv;

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
	snprintf(s->reader, sizeof(s->reader), "%s",
	         opts->reader != NULL ? opts->reader : "");
	atomic_init(&s->delivered, after);
	s->probe_ms = opts->probe_ms;
	snprintf(s->admin_url, sizeof(s->admin_url), "%s", opts->admin_url);
	snprintf(s->contact.admin_url, sizeof(s->contact.admin_url), "%s",
	         opts->admin_url);
	if ((rv = rpc_client_open(&ao, &s->admin, why, why_len)) != HBMON_OK) {
		goto fail;
	}
	if ((rv = alert_follow_open(&fo, after, &follow_ops, s, &s->follow, why,
	                            why_len)) != HBMON_OK) {
		rpc_client_close(s->admin);
		goto fail;
	}
	*out = s;
	return HBMON_OK;
fail:
	free(s->ring);
	free(s);
	return rv;
}

void
source_close(struct source *s)
{
	if (s == NULL) {
		return;
	}
	alert_follow_close(s->follow);
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
	out->tail = alert_follow_last(s->follow);
}

void
source_delivered(struct source *s, uint64_t seq)
{
	atomic_store(&s->delivered, seq);
}

bool
source_take_reset(struct source *s)
{
	return alert_follow_take_reset(s->follow);
}

int
source_outbox_last(struct source *s, uint64_t *out, char *why, size_t why_len)
{
	Hbmon__V1__AlertsAfterReply *page;
	int rv = alerts_after(s, 0, 1, &page, why, why_len);

	if (rv == HBMON_OK) {
		*out = page->last_seq;
		protobuf_c_message_free_unpacked(&page->base, NULL);
	}
	return rv;
}

void
source_poll(struct source *s, int64_t wait_ms)
{
	int64_t now = clock_mono_ms();
	int64_t heard = s->contact.keepalive_ms > s->contact.admin_ok_ms
	                    ? s->contact.keepalive_ms
	                    : s->contact.admin_ok_ms;

	/* Without a keepalive or an answer for probe_ms, ask the outbox:
	 * a silent PUB socket is told apart from a dead server. */
	if ((s->probe_ms > 0 && now - heard >= s->probe_ms) ||
	    (alert_follow_behind(s->follow) && s->count <= s->cap / 2)) {
		alert_follow_request(s->follow);
	}
	alert_follow_poll(s->follow, wait_ms, s->cap - s->count, s->count == 0);
}
