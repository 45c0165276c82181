/*
 * Where the notifier's alerts come from: common/alert_follow.h (the PUB
 * socket and the outbox merged into one gapless stream in seq order; its
 * header says when the outbox is read) into a queue of at most queue_max
 * alerts; the rest wait in the outbox and are fetched as the queue
 * drains. Filters apply at delivery, not here.
 *
 * The server's keepalives (SPEC §3.6) arrive on the same PUB socket: each
 * is contact with the server, and one announcing an alert seq beyond the
 * last (a dropped last alert) or a new boot id (a restart) makes the
 * follower read the outbox at once. When neither a keepalive nor an
 * admin answer came for probe_ms, the outbox is asked anyway, so a
 * silent PUB socket is told apart from a dead server. source_contact says
 * what was last heard, for contact.h and the dead man's switch.
 */
#ifndef HBMON_NOTIFY_SOURCE_H
#define HBMON_NOTIFY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/tlsconf.h"
#include "hbmon/v1/alert.pb-c.h"

struct source;

struct source_options {
	const char *admin_url;
	const char *subscribe_url;
	const void *admin_key; /* admin secret for a tcp:// admin URL; NULL */
	size_t admin_key_len;
	struct tlsconf_files tls; /* for tls+tcp:// URLs */
	uint32_t queue_max;
	int64_t poll_interval_ms;
	int64_t retry_ms; /* wait after the outbox could not be read */
	int64_t probe_ms; /* ask the outbox after this long without contact;
	                     0: only every poll_interval */
	/* Who reads: every AlertsAfter call names this notifier and says
	 * up to which seq it has delivered (source_delivered), so that the
	 * server never prunes an alert it has not passed (alert_retention).
	 * "" or NULL: anonymous. */
	const char *reader;
};

/* What the source last heard from the server; times on the monotonic
 * clock (clock_mono_ms), 0: never. */
struct source_contact {
	int64_t keepalive_ms;       /* the last keepalive arrived */
	int64_t admin_ok_ms;        /* the outbox last answered */
	int64_t admin_failing_ms;   /* first failed outbox call in a row */
	uint64_t outbox_last;       /* the outbox's last seq, as last told */
	uint64_t tail;              /* the newest alert seq queued or passed */
	int keepalive_health;       /* HealthStatus of the last keepalive */
	int64_t keepalive_interval; /* what it announced, ms */
	char problem[256];          /* and why it is not healthy */
	char admin_url[1024];
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

/*
 * Every alert up to seq is delivered (the durable cursor): said to the
 * server with the next AlertsAfter call. Thread-safe.
 */
void source_delivered(struct source *s, uint64_t seq);

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

/* Fills out with what was last heard. */
void source_contact(const struct source *s, struct source_contact *out);

/*
 * True once after the source found the outbox ending below the cursor (the
 * server's database was replaced) and started again from seq 0; the caller
 * then stores cursor 0.
 */
bool source_take_reset(struct source *s);

#endif
