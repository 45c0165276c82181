/*
 * The alert PUB socket (SPEC §3.4): the fast path to notifiers. It only
 * ever carries alerts already committed to the outbox, so dropping is
 * allowed: each subscriber has a queue of send_buffer messages, and when
 * a subscriber does not keep up its oldest queued alert is dropped (as
 * nng's PUB does); notifiers fill any gap from the outbox
 * (Admin.AlertsAfter). Served on a listener of the server's own
 * (listener.h says why not on nng's PUB socket): SP SUB peers (nng,
 * mangos, nngcat) subscribe as to any PUB socket.
 */
#ifndef HBMON_SERVER_PUBLISHER_H
#define HBMON_SERVER_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

#include "common/tlsconf.h"
#include "server/listener.h"

struct publisher;

struct publisher_options {
	const char *url;      /* tcp://, ipc:// (made mode 0600), tls+tcp:// */
	uint32_t send_buffer; /* alerts queued per subscriber */
	/* The listener's limits (send_queue comes from send_buffer).
	 * Required. */
	const struct listener_limits *limits;
	nng_tls_config *tls; /* for tls+tcp:// (held) */
	enum tlsconf_verify verify;
};

/*
 * Listens on o->url. ipc:// sockets are made mode 0600: alerts name
 * robots and accounts. why: a sentence on failure. Returns HBMON_OK,
 * HBMON_EINVAL, HBMON_EBUSY, HBMON_ENOMEM or HBMON_EIO.
 */
int publisher_open(const struct publisher_options *o, struct publisher **out,
                   char *why, size_t why_len);

/*
 * Sends one message (topic + packed Alert) to every subscriber without
 * ever blocking; a subscriber whose queue is full loses its oldest queued
 * message instead. An alert is counted (metrics_alert) whether or not
 * publisher is NULL. Thread-safe. The signature fits engine_flush's
 * publish callback (arg is the publisher).
 */
void publisher_send(void *publisher, const uint8_t *msg, size_t len);

/* The URL listened on (with the port chosen for ":0"). */
const char *publisher_url(const struct publisher *p);

/* The listener underneath (for the self-check). */
struct listener *publisher_listener(struct publisher *p);

/* Subscribers connected now (their handshake done). Thread-safe. */
size_t publisher_subscribers(struct publisher *p);

/* Closes the listener and every subscription. NULL is fine. */
void publisher_close(struct publisher *p);

#endif
