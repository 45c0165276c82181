/* The delivery loop. */
#include "notify/delivery.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "hbmon/error.h"
#include "notify/backoff.h"
#include "notify/ratelimit.h"

#define IDLE_WAIT_MS 250 /* longest wait, so a stop is noticed soon */

struct delivery {
	const struct delivery_options *o;
	struct backoff backoff;
	struct ratelimit rate;
	uint64_t cursor;       /* stored value */
	uint64_t wanted;       /* value to store (differs after a failure) */
	bool cursor_failing;   /* the last store failed */
	int64_t cursor_retry;  /* when to try storing it again */
	int64_t next_attempt;  /* no send before this (backoff) */
	int64_t failing_since; /* first failure in a row; 0: none */
	bool rejected;         /* the last failure was SINK_REJECTED */
	bool degraded;
	const Hbmon__V1__Alert **batch;
	size_t *batch_index;
	int64_t watchdog_every, next_watchdog;
};

static void
store_cursor(struct delivery *d, uint64_t seq)
{
	char why[600];

	d->wanted = seq;
	if (seq == d->cursor && !d->cursor_failing) {
		return;
	}
	if (cursor_store(d->o->cursor, seq, why, sizeof(why)) != HBMON_OK) {
		/* Delivery goes on; a restart would repeat what was sent
		 * since the last good store, never lose anything. */
		log_error("cannot store the delivery cursor", "why=%s", why);
		d->cursor_failing = true;
		d->cursor_retry = clock_mono_ms() + d->o->retry_min_ms;
		return;
	}
	d->cursor_failing = false;
	d->cursor = seq;
	source_delivered(d->o->source, seq);
}

static void
report_health(struct delivery *d, int64_t now)
{
	bool degraded = d->cursor_failing || d->rejected ||
	                (d->failing_since != 0 &&
	                 now - d->failing_since >= d->o->degraded_after_ms);

	if (degraded != d->degraded) {
		if (degraded) {
			log_warn("health degraded", "notifier=%s", d->o->name);
		} else {
			log_info("health healthy again", "notifier=%s",
			         d->o->name);
		}
		d->degraded = degraded;
	}
	selfbeat_set(d->o->selfbeat, degraded,
	             (uint32_t) source_count(d->o->source));
}

/* Pops leading alerts the filter does not want; the cursor passes them. */
static void
skip_filtered(struct delivery *d)
{
	struct source *src = d->o->source;
	uint64_t last = 0;
	size_t n = 0;

	while (n < source_count(src) &&
	       !alert_filter_pass(d->o->filter, source_at(src, n))) {
		last = source_at(src, n)->seq;
		n++;
	}
	if (n > 0) {
		source_pop(src, n);
		store_cursor(d, last);
	}
}

/* A send went through: failures are over. */
static void
sent(struct delivery *d)
{
	if (d->failing_since != 0) {
		log_info("delivering again", "notifier=%s failures=%u",
		         d->o->name, d->backoff.failures);
	}
	backoff_reset(&d->backoff);
	d->failing_since = 0;
	d->rejected = false;
	d->next_attempt = 0;
}

static void
delivered(struct delivery *d, size_t taken)
{
	struct source *src = d->o->source;
	size_t last_index = d->batch_index[taken - 1];
	uint64_t first = d->batch[0]->seq, last = d->batch[taken - 1]->seq;

	sent(d);
	log_info("delivered",
	         "notifier=%s alerts=%zu first_seq=%" PRIu64
	         " last_seq=%" PRIu64,
	         d->o->name, taken, first, last);
	source_pop(src, last_index + 1);
	store_cursor(d, last);
}

/* The contact's own notice went (or the filter passed over it). */
static void
own_done(struct delivery *d, bool delivered_it)
{
	const Hbmon__V1__Alert *a = contact_pending(d->o->contact);
	char why[600];

	if (delivered_it) {
		sent(d);
	}
	log_info(delivered_it ? "delivered the notifier's own alert"
	                      : "the filter passes over the notifier's own "
	                        "alert",
	         "notifier=%s notifier_seq=%" PRIu64 " kind=%s state=%s",
	         d->o->name, a->notifier_seq,
	         a->state == HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED
	             ? "RECOVERED"
	             : "SERVER_UNREACHABLE",
	         a->state == HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED
	             ? "resolved"
	             : "firing");
	if (contact_delivered(d->o->contact, why, sizeof(why)) != HBMON_OK) {
		log_error("cannot store the contact state; a restart may send "
		          "this notice again",
		          "why=%s", why);
	}
}

/* The contact's notice waiting, or NULL. */
static const Hbmon__V1__Alert *
own_pending(const struct delivery *d)
{
	return d->o->contact != NULL ? contact_pending(d->o->contact) : NULL;
}

static void
failed(struct delivery *d, const struct sink_result *res, size_t n)
{
	int64_t now = clock_mono_ms();
	int64_t wait;

	if (res->verdict == SINK_REJECTED) {
		/* Only a person can fix this; retrying more often than the
		 * cap would only add noise. */
		wait = d->backoff.max_ms;
		d->backoff.failures++;
	} else if (res->retry_after_ms > 0) {
		/* Honour the receiver's wait, plus a little so a whole
		 * fleet does not come back in the same millisecond. */
		wait = res->retry_after_ms + backoff_jitter(&d->backoff, 250);
		ratelimit_hold(&d->rate, now + res->retry_after_ms);
		d->backoff.failures++;
	} else {
		wait = backoff_next(&d->backoff);
	}
	d->next_attempt = now + wait;
	if (d->failing_since == 0) {
		d->failing_since = now;
	}
	d->rejected = res->verdict == SINK_REJECTED;
	if (d->rejected) {
		log_error("sink refused the alerts as misconfigured; fix the "
		          "settings, alerts wait in order meanwhile",
		          "notifier=%s first_seq=%" PRIu64
		          " alerts=%zu why=%s retry_in_ms=%" PRId64,
		          d->o->name, d->batch[0]->seq, n, res->why, wait);
	} else {
		log_warn("send failed; will retry",
		         "notifier=%s first_seq=%" PRIu64
		         " alerts=%zu failures=%u "
		         "why=%s retry_in_ms=%" PRId64,
		         d->o->name, d->batch[0]->seq, n, d->backoff.failures,
		         res->why, wait);
	}
}

/* Sends the alerts at the head of the queue. */
static void
attempt(struct delivery *d, int64_t now)
{
	struct source *src = d->o->source;
	const Hbmon__V1__Alert *own = own_pending(d);
	struct sink_result res;
	size_t n = 0;

	if (own != NULL) {
		/* On its own, ahead of the queue: it tells what the queued
		 * alerts that follow are about. */
		d->batch[n] = own;
		d->batch_index[n++] = 0;
	}
	for (size_t i = 0;
	     own == NULL && i < source_count(src) && n < d->o->ops->batch_max;
	     i++) {
		const Hbmon__V1__Alert *a = source_at(src, i);
		if (alert_filter_pass(d->o->filter, a)) {
			d->batch[n] = a;
			d->batch_index[n++] = i;
		}
	}
	assert(n > 0);
	memset(&res, 0, sizeof(res));
	ratelimit_take(&d->rate, now);
	d->o->ops->send(d->o->sink, d->batch, n, &res);
	if (res.verdict == SINK_SENT && own != NULL) {
		own_done(d, true);
	} else if (res.verdict == SINK_SENT) {
		if (res.taken == 0 || res.taken > n) {
			res.taken = n;
		}
		delivered(d, res.taken);
	} else {
		failed(d, &res, n);
	}
}

/*
 * Tells the dead man's switch whether the whole path is healthy, from
 * what the source heard (sc).
 */
static void
report_path(struct delivery *d, const struct source_contact *sc, int64_t now)
{
	int64_t every =
	    sc->keepalive_interval > 0 ? sc->keepalive_interval : 5000;
	/* Three intervals, and at least one plus a second: a keepalive a
	 * little late on a busy machine is not a broken path. */
	int64_t fresh = every * 3 > every + 1000 ? every * 3 : every + 1000;
	char why[512] = "", dur[32];

	if (d->o->deadman == NULL) {
		return;
	}
	if (sc->keepalive_ms == 0) {
		snprintf(why, sizeof(why), "no keepalive from the server yet");
	} else if (now - sc->keepalive_ms > fresh) {
		duration_human(now - sc->keepalive_ms, dur, sizeof(dur));
		snprintf(why, sizeof(why),
		         "no keepalive from the server for %s", dur);
	} else if (sc->keepalive_health ==
	           HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNHEALTHY) {
		snprintf(why, sizeof(why),
		         "the server says it is unhealthy: %s", sc->problem);
	} else if (d->o->contact != NULL && contact_lost(d->o->contact)) {
		snprintf(why, sizeof(why), "contact with the server is lost");
	} else if (d->failing_since != 0 || d->rejected) {
		snprintf(why, sizeof(why), "the sink is failing");
	} else if (d->cursor_failing) {
		snprintf(why, sizeof(why),
		         "the delivery cursor cannot be stored");
	}
	deadman_set(d->o->deadman, why[0] == '\0', sc->keepalive_ms + fresh,
	            why);
}

/* What the source heard goes to the contact and the dead man's switch;
 * the systemd watchdog is fed. */
static void
watch_server(struct delivery *d, int64_t now)
{
	struct source_contact sc;

	source_contact(d->o->source, &sc);
	if (d->o->contact != NULL) {
		contact_update(d->o->contact, &sc, now, clock_wall_ms());
	}
	report_path(d, &sc, now);
	if (d->watchdog_every > 0 && now >= d->next_watchdog) {
		sdnotify_watchdog();
		d->next_watchdog = now + d->watchdog_every;
	}
}

int
delivery_run(const struct delivery_options *o)
{
	struct delivery d;
	size_t batch_max = o->ops->batch_max > 0 ? o->ops->batch_max : 1;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.cursor = d.wanted = o->cursor_seq;
	backoff_init(&d.backoff, o->retry_min_ms, o->retry_max_ms,
	             (uint64_t) clock_mono_ns() ^ (uint64_t) clock_wall_ms());
	ratelimit_init(&d.rate, o->limits.rate_interval, o->limits.rate_burst);
	d.watchdog_every = sdnotify_watchdog_every_ms();
	d.batch = calloc(batch_max, sizeof(*d.batch));
	d.batch_index = calloc(batch_max, sizeof(*d.batch_index));
	if (d.batch == NULL || d.batch_index == NULL) {
		free(d.batch);
		free(d.batch_index);
		return HBMON_ENOMEM;
	}
	while (!atomic_load(o->stop)) {
		int64_t now = clock_mono_ms();
		int64_t due = now + IDLE_WAIT_MS;

		if (source_take_reset(o->source)) {
			store_cursor(&d, 0);
		}
		if (d.cursor_failing && now >= d.cursor_retry) {
			store_cursor(&d, d.wanted);
		}
		watch_server(&d, now);
		while (own_pending(&d) != NULL &&
		       !alert_filter_pass(o->filter, own_pending(&d))) {
			own_done(&d, false);
		}
		skip_filtered(&d);
		if (source_count(o->source) > 0 || own_pending(&d) != NULL) {
			int64_t go = ratelimit_next(&d.rate, now);
			if (d.next_attempt > go) {
				go = d.next_attempt;
			}
			if (go <= now) {
				attempt(&d, now);
				report_health(&d, clock_mono_ms());
				/* Read what came in meanwhile before the
				 * next send, so it can be coalesced. */
				source_poll(o->source, 0);
				continue;
			}
			if (go < due) {
				due = go;
			}
		}
		report_health(&d, now);
		source_poll(o->source, due - now);
	}
	free(d.batch);
	free(d.batch_index);
	return HBMON_OK;
}
