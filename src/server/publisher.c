/* PUB listener for committed alerts; see publisher.h. */
#include "server/publisher.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_topic.h"
#include "common/log.h"
#include "hbmon/error.h"
#include "server/metrics.h"
#include "server/sppipe.h"

struct publisher {
	struct listener *listener;
	pthread_mutex_t lock; /* subs */
	struct sppipe **subs; /* each held */
	size_t n_subs, cap_subs;
};

static void
on_ready(void *arg, struct sppipe *p)
{
	struct publisher *pub = arg;

	pthread_mutex_lock(&pub->lock);
	if (pub->n_subs == pub->cap_subs) {
		size_t cap = pub->cap_subs == 0 ? 8 : pub->cap_subs * 2;
		struct sppipe **subs = realloc(pub->subs, cap * sizeof(*subs));
		if (subs == NULL) {
			pthread_mutex_unlock(&pub->lock);
			sppipe_close(p, "out of memory");
			return;
		}
		pub->subs = subs;
		pub->cap_subs = cap;
	}
	sppipe_hold(p);
	pub->subs[pub->n_subs++] = p;
	pthread_mutex_unlock(&pub->lock);
	log_debug("subscriber connected", "peer=%s", sppipe_peer(p));
}

static void
on_closed(void *arg, struct sppipe *p)
{
	struct publisher *pub = arg;
	bool found = false;

	pthread_mutex_lock(&pub->lock);
	for (size_t i = 0; i < pub->n_subs; i++) {
		if (pub->subs[i] == p) {
			pub->subs[i] = pub->subs[--pub->n_subs];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&pub->lock);
	if (found) {
		sppipe_release(p);
	}
}

static const struct listener_ops pub_ops = {
	.ready = on_ready,
	.closed = on_closed,
};

int
publisher_open(const struct publisher_options *o, struct publisher **out,
               char *why, size_t why_len)
{
	struct publisher *p = calloc(1, sizeof(*p));
	struct listener_options lo = { 0 };
	int rv;

	if (p == NULL) {
		return HBMON_ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	lo.name = "alerts";
	lo.url = o->url;
	lo.ipc_permissions = 0600;
	lo.tls = o->tls;
	lo.verify = o->verify;
	lo.role = LISTENER_PUB;
	lo.limits = *o->limits;
	lo.limits.send_queue = o->send_buffer > 0 ? o->send_buffer : 1;
	lo.ops = &pub_ops;
	lo.arg = p;
	if ((rv = listener_start(&lo, &p->listener, why, why_len)) !=
	    HBMON_OK) {
		char inner[512];
		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, why_len, "cannot publish alerts: %s", inner);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return rv;
	}
	*out = p;
	return HBMON_OK;
}

void
publisher_send(void *publisher, const uint8_t *msg, size_t len)
{
	struct publisher *p = publisher;
	Hbmon__V1__Severity sev;
	Hbmon__V1__AlertKind kind;
	struct sptx *m;
	size_t missed = 0;

	if (alert_topic_words(msg, len, &sev, &kind) == HBMON_OK) {
		metrics_alert(kind, sev);
	}
	if (p == NULL) {
		return;
	}
	if ((m = sptx_alloc(len)) == NULL) {
		log_debug("alert not published", "error=%s", "out of memory");
		return;
	}
	memcpy(m->body, msg, len);
	/* One copy of the bytes, a reference in every subscriber's queue.
	 * sppipe_publish never blocks, so the lock is held only briefly. */
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_subs; i++) {
		if (!sppipe_publish(p->subs[i], m)) {
			missed++;
		}
	}
	pthread_mutex_unlock(&p->lock);
	sptx_release(m);
	if (missed > 0) {
		/* The outbox makes it good: only worth a debug line. */
		log_debug("alert not delivered to every subscriber",
		          "subscribers_missed=%zu", missed);
	}
}

const char *
publisher_url(const struct publisher *p)
{
	return listener_url(p->listener);
}

struct listener *
publisher_listener(struct publisher *p)
{
	return p->listener;
}

size_t
publisher_subscribers(struct publisher *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->n_subs;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
publisher_close(struct publisher *p)
{
	if (p == NULL) {
		return;
	}
	if (!listener_close(p->listener)) {
		return; /* still in use: left, as the listener is */
	}
	/* closed() has let go of every subscriber. */
	assert(p->n_subs == 0);
	free(p->subs);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
