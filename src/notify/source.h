/*
 * Where alerts come from: the server's PUB socket (the fast path) and its
 * outbox (Admin.AlertsAfter), merged into one gapless queue in seq order.
 *
 * PUB drops messages for slow or absent subscribers, so the outbox is the
 * truth: the source catches up from it at start, whenever a PUB message's
 * seq is not the next one expected, whenever the PUB connection is
 * (re)established, and every poll_interval (a dropped *last* alert shows no
 * gap until the next one arrives). It subscribes to every alert rather than
 * a filtered prefix: gaps are only visible when every seq is seen; filters
 * apply at delivery. At most queue_max alerts are held in memory; the rest
 * wait in the outbox and are fetched as the queue drains.
 */
#ifndef HBMON_NOTIFY_SOURCE_H
#define HBMON_NOTIFY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/alert.pb-c.h"

struct source;

struct source_options {
	const char *admin_url;
	const char *subscribe_url;
	const void *admin_key; /* admin secret for a tcp:// admin URL; NULL */
	size_t admin_key_len;
	uint32_t queue_max;
	int64_t poll_interval_ms;
	int64_t retry_ms; /* wait after the outbox could not be read */
};

/*
 * Opens both connections (dialling in the background: the server may start
 * later) with the queue starting after seq after. out: closed with
 * source_close. Returns HBMON_OK, HBMON_EINVAL (a URL nng cannot use; why
 * says which) or HBMON_ENOMEM.
 */
int source_open(const struct source_options *opts, uint64_t after,
                struct source **out, char *why, size_t why_len);

/* Closes the connections and frees queued alerts. NULL is fine. */
void source_close(struct source *s);

/*
 * Catches up from the outbox when due, then waits up to wait_ms for PUB
 * messages and queues them. Never fails: trouble is logged and retried.
 */
void source_poll(struct source *s, int64_t wait_ms);

/* How many alerts are queued. */
size_t source_count(const struct source *s);

/* The i-th queued alert (0: the oldest, lowest seq). */
const Hbmon__V1__Alert *source_at(const struct source *s, size_t i);

/* Drops the n oldest queued alerts. */
void source_pop(struct source *s, size_t n);

/*
 * The outbox's highest seq (asks the server). Returns HBMON_OK or
 * HBMON_EUNAVAIL with why.
 */
int source_outbox_last(struct source *s, uint64_t *out, char *why,
                       size_t why_len);

/*
 * True once after the source found the outbox ending below the cursor (the
 * server's database was replaced) and started again from seq 0; the caller
 * then stores cursor 0.
 */
bool source_take_reset(struct source *s);

#endif
