/*
 * One SP connection of a listener (listener.h): the 8-byte handshake with
 * its deadline, then, for a REP listener, requests read incrementally
 * (spwire_rx) and replies sent back on the same connection with their
 * backtrace; for a PUB listener, messages sent from a bounded queue that
 * drops the oldest for a subscriber that does not keep up (nng's PUB does
 * the same; the alert outbox is the durable path, notifiers catch up from
 * it). A pipe that errs is closed and forgotten: nothing it does reaches
 * the accept loop or another pipe.
 *
 * Owners (rpcserver.c, publisher.c) see pipes through this API only; a
 * pipe stays valid while the owner holds it (sppipe_hold) and after
 * closed() until the owner releases it. Every function is thread-safe.
 */
#ifndef HBMON_SERVER_SPPIPE_H
#define HBMON_SERVER_SPPIPE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/spwire.h"

struct sppipe;

/*
 * A message to send: a REP reply (its backtrace in front) or a PUB message
 * (shared by every subscriber's queue: counted references).
 */
struct sptx {
	atomic_uint refs;
	uint8_t bt_len;            /* REP: backtrace bytes; PUB: 0 */
	uint8_t bt[SPWIRE_BT_MAX]; /* REP: the request's backtrace */
	size_t len;                /* of body */
	uint8_t body[];
};

/*
 * A message of len body bytes (uninitialised), one reference, no
 * backtrace. Returns NULL without memory. Release with sptx_release.
 */
struct sptx *sptx_alloc(size_t len);

/* Takes another reference. */
void sptx_hold(struct sptx *m);

/* Drops a reference; the last one frees m. NULL is fine. */
void sptx_release(struct sptx *m);

/* Keeps p valid until the matching sppipe_release. */
void sppipe_hold(struct sppipe *p);
void sppipe_release(struct sppipe *p);

/*
 * The peer, for log lines: "192.0.2.7:40312", "[2001:db8::1]:40312" or
 * "uid:1000 pid:4242" (ipc); and the host alone ("ipc" for every local
 * process): what refusals and limits are grouped by.
 */
const char *sppipe_peer(const struct sppipe *p);
const char *sppipe_peer_host(const struct sppipe *p);

/* The refusal log of p's listener. */
struct refusal_log *sppipe_refusals(struct sppipe *p);

/*
 * The peer has authenticated (an admitted request, or a verified client
 * certificate): it is no longer first to be closed when the listener is
 * full, and its buffers no longer count against unauth_buffer_max.
 */
void sppipe_prove(struct sppipe *p);

/*
 * REP: hands a worker to p, which was waiting for one (take() gave NULL),
 * to serve its waiting request with. Returns true when p took it (serve()
 * follows on an nng thread); false when p is closed and the worker is
 * still the caller's.
 */
bool sppipe_give(struct sppipe *p, void *worker);

/*
 * REP: ends a request of p with reply m (m->bt holds the request's
 * backtrace). Takes the caller's reference to m, also when p is closed
 * (m is then dropped).
 */
void sppipe_reply(struct sppipe *p, struct sptx *m);

/* REP: ends a request of p that gets no reply at all. */
void sppipe_reply_none(struct sppipe *p);

/*
 * PUB: queues m (takes a reference of its own) for p. When p's queue is
 * full its oldest message is dropped to make room. Returns false when
 * something was dropped or p is closed; never blocks.
 */
bool sppipe_publish(struct sppipe *p, struct sptx *m);

/*
 * Closes p now: what is queued is dropped, requests in progress get no
 * reply. reason: a static phrase for the debug log. Idempotent.
 */
void sppipe_close(struct sppipe *p, const char *reason);

#endif
