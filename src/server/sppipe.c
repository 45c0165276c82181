/*
 * One SP connection: handshake, framing, queues and deadlines; see
 * sppipe.h. The pipe's two aios are its only activity: rx_aio reads (or
 * is "kicked" to look at bytes already read), tx_aio writes. Each holds a
 * reference while posted, so a pipe is freed (by its listener's thread)
 * only when it is closed, neither aio is posted and no owner holds it.
 */
#include "server/sppipe.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "hbmon/error.h"
#include "server/edge_impl.h"

static void rx_cb(void *arg);
static void tx_cb(void *arg);

struct sptx *
sptx_alloc(size_t len)
{
	struct sptx *m = malloc(sizeof(*m) + (len > 0 ? len : 1));

	if (m == NULL) {
		return NULL;
	}
	atomic_init(&m->refs, 1);
	m->bt_len = 0;
	m->len = len;
	return m;
}

void
sptx_hold(struct sptx *m)
{
	atomic_fetch_add(&m->refs, 1);
}

void
sptx_release(struct sptx *m)
{
	if (m != NULL && atomic_fetch_sub(&m->refs, 1) == 1) {
		free(m);
	}
}

struct sppipe *
sppipe_new(struct listener *l, nng_stream *stream, const char *peer,
           const char *host)
{
	struct sppipe *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return NULL;
	}
	if (nng_aio_alloc(&p->rx_aio, rx_cb, p) != 0 ||
	    nng_aio_alloc(&p->tx_aio, tx_cb, p) != 0) {
		nng_aio_free(p->rx_aio);
		free(p);
		return NULL;
	}
	p->l = l;
	p->stream = stream;
	p->refs = 1; /* the creator's, until it has started the pipe */
	snprintf(p->peer, sizeof(p->peer), "%s", peer);
	snprintf(p->peer_host, sizeof(p->peer_host), "%s", host);
	pthread_mutex_init(&p->lock, NULL);
	spwire_rx_init(&p->rx, l->ipc, l->o.limits.recv_max, LISTENER_RX_MIN,
	               LISTENER_RX_STEP);
	/* REP: every request in progress may have its reply queued, and
	 * an oversize request one more. PUB: the message in flight and
	 * send_queue behind it. */
	p->txq_max = l->o.role == LISTENER_REP ? l->o.limits.max_outstanding + 1
	                                       : l->o.limits.send_queue + 1;
	return p;
}

const char *
sppipe_peer(const struct sppipe *p)
{
	return p->peer;
}

const char *
sppipe_peer_host(const struct sppipe *p)
{
	return p->peer_host;
}

struct refusal_log *
sppipe_refusals(struct sppipe *p)
{
	return &p->l->refusals;
}

void
sppipe_hold(struct sppipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->refs++;
	pthread_mutex_unlock(&p->lock);
}

/* Drops a reference; lock held. Returns whether the listener should
 * look (p may now be freed). */
static bool
unref_locked(struct sppipe *p)
{
	assert(p->refs > 0);
	p->refs--;
	return p->refs == 0 && p->closed;
}

void
sppipe_release(struct sppipe *p)
{
	bool look;

	pthread_mutex_lock(&p->lock);
	look = unref_locked(p);
	pthread_mutex_unlock(&p->lock);
	if (look) {
		listener_wake(p->l);
	}
}

bool
sppipe_unused(struct sppipe *p)
{
	bool r;

	pthread_mutex_lock(&p->lock);
	r = p->closed && p->refs == 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}

bool
sppipe_is_closed(struct sppipe *p)
{
	bool r;

	pthread_mutex_lock(&p->lock);
	r = p->closed;
	pthread_mutex_unlock(&p->lock);
	return r;
}

bool
sppipe_sending(struct sppipe *p)
{
	bool r;

	pthread_mutex_lock(&p->lock);
	r = !p->closed && p->txq_len > 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
sppipe_announced(struct sppipe *p)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = p->announced ? 1 : p->ready ? -1 : 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}

void
sppipe_free(struct sppipe *p)
{
	assert(p->closed && p->refs == 0);
	/* Neither aio is posted; nng_aio_free still waits for a callback
	 * that has dropped its reference but not yet returned. */
	nng_aio_free(p->rx_aio);
	nng_aio_free(p->tx_aio);
	nng_stream_free(p->stream);
	spwire_rx_fini(&p->rx);
	free(p->parked.mem);
	free(p->too_big.mem);
	for (uint32_t i = 0; i < p->txq_len; i++) {
		sptx_release(p->txq[(p->txq_head + i) % p->txq_cap]);
	}
	free(p->txq);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- memory charged to the unauthenticated budget ---- */

/* What p should have charged now. Lock held. */
static size_t
charge_target(const struct sppipe *p)
{
	size_t c = 0;

	if (p->proven || p->closed) {
		return 0;
	}
	if (p->rx.cap > LISTENER_RX_MIN) {
		c += p->rx.cap - LISTENER_RX_MIN;
	}
	if (p->waiting) {
		c += p->parked.len;
	}
	return c;
}

/*
 * Brings p's charge to what it holds plus extra bytes it is about to
 * hold. ask: refuse (return false, nothing changed) when that would
 * exceed the budget; otherwise the bytes are there already and are
 * charged regardless. Lock held.
 */
static bool
recharge(struct sppipe *p, size_t extra, bool ask)
{
	size_t target = charge_target(p);

	if (!p->proven && !p->closed) {
		target += extra;
	}
	if (target > p->charged) {
		size_t delta = target - p->charged;
		if (ask) {
			if (!listener_charge(p->l, delta)) {
				return false;
			}
		} else {
			/* Cannot fail: forced. */
			atomic_fetch_add(&p->l->unauth_used, delta);
		}
		p->charged = target;
	} else if (target < p->charged) {
		listener_uncharge(p->l, p->charged - target);
		p->charged = target;
	}
	return true;
}

/* ---- closing ---- */

void
sppipe_close(struct sppipe *p, const char *reason)
{
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	p->closed = true;
	p->close_reason = reason;
	p->hs_deadline = p->rx_deadline = p->tx_deadline = 0;
	recharge(p, 0, false);
	pthread_mutex_unlock(&p->lock);
	log_debug("connection closed", "listener=%s peer=%s reason=%s",
	          p->l->name, p->peer, reason);
	atomic_fetch_sub(&p->l->live, 1);
	/* Whatever is posted on the stream now ends with an error. */
	nng_stream_close(p->stream);
	listener_wake(p->l);
}

/*
 * Notes a refusal on p's listener and closes p. The server's own
 * self-check is no peer being refused (a TLS listener that requires a
 * client certificate refuses it every time): it goes to the debug log.
 */
static void
refuse(struct sppipe *p, enum log_level level, const char *reason,
       const char *detail)
{
	if (atomic_load(&p->self)) {
		log_debug("self-check connection refused",
		          "listener=%s peer=%s reason=%s detail=%s", p->l->name,
		          p->peer, reason, detail != NULL ? detail : "");
	} else {
		refusal_note(&p->l->refusals, level, p->peer_host, reason,
		             "connection=%s detail=%s", p->peer,
		             detail != NULL ? detail : "");
	}
	sppipe_close(p, reason);
}

/* ---- the rx side ---- */

/*
 * rx_aio stops being posted. Lock held; returns whether the listener
 * should look.
 */
static bool
rx_stop(struct sppipe *p)
{
	assert(p->rx_busy);
	p->rx_busy = false;
	p->rx_deadline = 0;
	return unref_locked(p);
}

/*
 * Makes rx_aio run rx_cb on an nng thread without reading, to look at
 * bytes already read (a request that waited, a second request behind a
 * first one). Lock held; rx_busy already set, reference taken.
 */
static void
kick(struct sppipe *p)
{
	p->rx_kicked = true;
	if (!nng_aio_begin(p->rx_aio)) {
		/* Stopped: only at free, which cannot be while we hold a
		 * reference. */
		assert(false);
		return;
	}
	nng_aio_finish(p->rx_aio, 0);
}

/* Starts rx_aio again if it is idle and reading may go on. Lock held. */
static void
rx_resume(struct sppipe *p)
{
	if (!p->rx_busy && !p->closed && p->ready) {
		p->rx_busy = true;
		p->refs++;
		kick(p);
	}
}

/*
 * Posts a recv into the buffer's room. Lock held, rx_busy set, p open:
 * nothing may be posted on a closed stream, since nng 1.5.2's ipc and tcp
 * streams then leave the operation pending for good (sppipe_close sets
 * closed under the lock before closing the stream, and every post checks
 * it under the lock).
 */
static void
post_recv(struct sppipe *p, uint8_t *room, size_t len)
{
	nng_iov iov = { .iov_buf = room, .iov_len = len };

	assert(len > 0);
	nng_aio_set_iov(p->rx_aio, 1, &iov);
	/* The stream completes the recv on one of nng's threads, never
	 * inline, so posting with the lock held cannot re-enter. */
	nng_stream_recv(p->stream, p->rx_aio);
}

static const char *
io_reason(int rv)
{
	switch (rv) {
	case NNG_ECRYPTO:
		return "TLS handshake failed";
	case NNG_EPEERAUTH:
		return "TLS peer not verified";
	case NNG_ECONNSHUT:
	case NNG_ECLOSED:
	case NNG_ECONNREFUSED:
		/* ECONNREFUSED: nng 1.5.2's mbedTLS binding reports a TLS
		 * close_notify from the peer as this. */
		return "closed by peer";
	case NNG_ECONNRESET:
		return "reset by peer";
	default:
		return "connection error";
	}
}

/*
 * After the handshake, when an rx operation completes (n new bytes) or
 * is kicked: takes requests out of the buffer one at a time and decides
 * the next operation. A request taken with a worker is served here after
 * the next operation is posted, so one connection's requests are read on
 * while earlier ones are served. Lock held on entry; released.
 */
static void
rep_step(struct sppipe *p, size_t n)
{
	const struct listener_ops *ops = p->l->o.ops;
	void *arg = p->l->o.arg;
	int64_t now = clock_mono_ms();
	bool look = false, nomem = false;
	struct spwire_msg m;
	void *w;

	if (n > 0) {
		spwire_rx_commit(&p->rx, n);
		p->last_active = now;
	}
	for (;;) {
		if (p->waiting) {
			if (p->given == NULL) {
				/* sppipe_give kicks again. */
				look = rx_stop(p);
				break;
			}
			/* Served even if p closed since: the reply is
			 * dropped and the worker goes back the usual way. */
			w = p->given;
			m = p->parked;
			p->given = NULL;
			p->waiting = false;
			memset(&p->parked, 0, sizeof(p->parked));
			recharge(p, 0, false);
			goto serve;
		}
		if (p->closed) {
			look = rx_stop(p);
			break;
		}
		if (!p->oversize &&
		    p->outstanding >= p->l->o.limits.max_outstanding) {
			/* A reply going out resumes reading. */
			look = rx_stop(p);
			break;
		}
		switch (spwire_rx_next(&p->rx, &m)) {
		case SPWIRE_RX_MESSAGE:
			p->outstanding++;
			p->rx_deadline = spwire_rx_pending(&p->rx) > 0
			                     ? now + p->l->o.limits.message_ms
			                     : 0;
			recharge(p, 0, false);
			pthread_mutex_unlock(&p->lock);
			w = ops->take(arg, p);
			pthread_mutex_lock(&p->lock);
			if (w == NULL) {
				/* No worker free: keep it and read no more.
				 * A worker may have been given meanwhile. */
				p->waiting = true;
				p->parked = m;
				recharge(p, 0, false);
				continue;
			}
			goto serve;
		case SPWIRE_RX_OVERSIZE:
			/* The rest is read and thrown away, within the
			 * message deadline, and only then answered: a reply
			 * that comes while an nng 1.5.2 peer is still writing
			 * the request lets it close in mid-write, which hangs
			 * its nng_close (the write goes on after the close
			 * and never ends). The connection then carries on:
			 * closing it right after the answer would race nng's
			 * REQ, which can take the close before the reply. */
			p->oversize = true;
			p->outstanding++;
			p->too_big = m;
			if (p->rx_deadline == 0) {
				p->rx_deadline =
				    now + p->l->o.limits.message_ms;
			}
			if (p->rx.discard > 0) {
				continue;
			}
			/* Nothing to skip (a recv_max under the kept
			 * bytes): answered now. */
			__attribute__((fallthrough));
		case SPWIRE_RX_SKIPPED:
			p->oversize = false;
			p->rx_deadline = 0;
			m = p->too_big;
			memset(&p->too_big, 0, sizeof(p->too_big));
			pthread_mutex_unlock(&p->lock);
			ops->oversize(arg, p, &m);
			pthread_mutex_lock(&p->lock);
			continue;
		case SPWIRE_RX_BADTYPE:
			look = rx_stop(p);
			pthread_mutex_unlock(&p->lock);
			refuse(p, LOG_INFO, "not an SP frame",
			       "ipc message type is not 1");
			goto out;
		case SPWIRE_RX_NOMEM:
			look = rx_stop(p);
			pthread_mutex_unlock(&p->lock);
			refuse(p, LOG_WARN, "out of memory", NULL);
			goto out;
		case SPWIRE_RX_NEED: {
			size_t want = spwire_rx_want(&p->rx);
			size_t room_len;
			uint8_t *room;

			if (want > p->rx.cap) {
				size_t extra =
				    want - (p->rx.cap > LISTENER_RX_MIN
				                ? p->rx.cap
				                : LISTENER_RX_MIN);
				if (want <= LISTENER_RX_MIN) {
					extra = 0;
				}
				if (!recharge(p, extra, true)) {
					/* The listener's tick tries again; the
					 * message deadline runs on meanwhile,
					 * or waiting would be a way to stay. */
					int64_t deadline = p->rx_deadline;
					p->budget_wait = true;
					look = rx_stop(p);
					p->rx_deadline =
					    deadline != 0
					        ? deadline
					        : now +
					              p->l->o.limits.message_ms;
					break;
				}
				if (spwire_rx_grow(&p->rx, want) != HBMON_OK) {
					recharge(p, 0, false);
					look = rx_stop(p);
					pthread_mutex_unlock(&p->lock);
					refuse(p, LOG_WARN, "out of memory",
					       NULL);
					goto out;
				}
				recharge(p, 0, false);
			}
			room = spwire_rx_room(&p->rx, &room_len);
			if (spwire_rx_pending(&p->rx) > 0 && !p->oversize) {
				if (p->rx_deadline == 0) {
					p->rx_deadline =
					    now + p->l->o.limits.message_ms;
				}
			} else if (!p->oversize) {
				p->rx_deadline = 0;
			}
			post_recv(p, room, room_len);
			pthread_mutex_unlock(&p->lock);
			return;
		}
		}
		/* a case above broke out of the switch to stop */
		break;
	}
	pthread_mutex_unlock(&p->lock);
out:
	if (look) {
		listener_wake(p->l);
	}
	return;

serve:
	/* Read on (or look at the next request already read) before this
	 * one is served; the operation carries rx_aio's reference. */
	if (p->closed || (p->outstanding >= p->l->o.limits.max_outstanding)) {
		look = rx_stop(p);
	} else if (spwire_rx_pending(&p->rx) > 0) {
		kick(p);
	} else if (spwire_rx_grow(&p->rx, spwire_rx_want(&p->rx)) != HBMON_OK) {
		look = rx_stop(p);
		nomem = true;
	} else {
		size_t room_len;
		uint8_t *room = spwire_rx_room(&p->rx, &room_len);
		post_recv(p, room, room_len);
	}
	pthread_mutex_unlock(&p->lock);
	if (look) {
		listener_wake(p->l);
	}
	ops->serve(arg, p, w, &m);
	if (nomem) {
		refuse(p, LOG_WARN, "out of memory", NULL);
	}
}

/* The handshake is done both ways: check the peer's and start. */
static void
hs_done(struct sppipe *p)
{
	struct listener *l = p->l;
	bool rep = l->o.role == LISTENER_REP;
	uint16_t want = rep ? SPWIRE_REQ0 : SPWIRE_SUB0;
	uint16_t peer;
	bool verified = false;
	char detail[96];

	switch (spwire_hello_check(p->hello_in, want, &peer)) {
	case SPWIRE_HELLO_NOTSP:
		snprintf(detail, sizeof(detail),
		         "first bytes %02x%02x%02x%02x%02x%02x%02x%02x",
		         p->hello_in[0], p->hello_in[1], p->hello_in[2],
		         p->hello_in[3], p->hello_in[4], p->hello_in[5],
		         p->hello_in[6], p->hello_in[7]);
		refuse(p, LOG_INFO, "not an SP peer", detail);
		return;
	case SPWIRE_HELLO_PROTO:
		snprintf(detail, sizeof(detail),
		         "SP protocol 0x%02x, this socket serves 0x%02x (%s)",
		         peer, want, rep ? "REQ" : "SUB");
		refuse(p, LOG_INFO, "wrong SP protocol", detail);
		return;
	case SPWIRE_HELLO_OK:
		break;
	}
	if (l->o.tls != NULL && l->o.verify != TLSCONF_VERIFY_NONE) {
		/* A client certificate signed by tls_ca_file proves the
		 * peer as much as a signed request does. */
		nng_stream_get_bool(p->stream, NNG_OPT_TLS_VERIFIED, &verified);
	}
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	p->ready = true;
	p->hs_deadline = 0;
	p->last_active = clock_mono_ms();
	/* Held while the owner is told, so that a close meanwhile waits
	 * with closed() until ready() has returned. */
	p->refs++;
	pthread_mutex_unlock(&p->lock);
	if (verified) {
		sppipe_prove(p);
	}
	if (l->o.ops->ready != NULL) {
		l->o.ops->ready(l->o.arg, p);
	}
	pthread_mutex_lock(&p->lock);
	p->announced = true;
	if (unref_locked(p)) {
		pthread_mutex_unlock(&p->lock);
		listener_wake(l);
		return;
	}
	if (!p->closed) {
		p->rx_busy = true;
		p->refs++;
		if (rep) {
			rep_step(p, 0); /* unlocks */
			return;
		}
		/* A SUB peer sends nothing: this read ends with its close
		 * (or with bytes it should not have sent). */
		{
			nng_iov iov = { .iov_buf = p->pub_byte,
				        .iov_len = sizeof(p->pub_byte) };
			nng_aio_set_iov(p->rx_aio, 1, &iov);
			nng_stream_recv(p->stream, p->rx_aio);
		}
	}
	pthread_mutex_unlock(&p->lock);
}

/* Half of the handshake finished (which: HS_SENDING or HS_RECEIVING). */
static void
hs_half(struct sppipe *p, unsigned which)
{
	bool both, look;

	pthread_mutex_lock(&p->lock);
	p->hs_left &= ~which;
	both = p->hs_left == 0;
	if (which == HS_SENDING) {
		p->tx_busy = false;
	} else {
		p->rx_busy = false;
	}
	look = unref_locked(p);
	pthread_mutex_unlock(&p->lock);
	if (look) {
		listener_wake(p->l);
	}
	if (both) {
		hs_done(p);
	}
}

/* The handshake failed on one side with nng error rv. */
static void
hs_fail(struct sppipe *p, unsigned which, int rv)
{
	bool closed_by_us, look;
	char detail[64];

	pthread_mutex_lock(&p->lock);
	closed_by_us = p->closed;
	if (which == HS_SENDING) {
		p->tx_busy = false;
	} else {
		p->rx_busy = false;
	}
	look = unref_locked(p);
	pthread_mutex_unlock(&p->lock);
	if (!closed_by_us) {
		snprintf(detail, sizeof(detail), "%s", nng_strerror(rv));
		refuse(p,
		       rv == NNG_ECRYPTO || rv == NNG_EPEERAUTH ? LOG_INFO
		                                                : LOG_DEBUG,
		       rv == NNG_ECRYPTO || rv == NNG_EPEERAUTH
		           ? io_reason(rv)
		           : "closed during handshake",
		       detail);
	}
	if (look) {
		listener_wake(p->l);
	}
}

/*
 * One half of the handshake (which) moved n bytes, or failed with rv:
 * goes on with the rest of the 8 bytes, or ends that half. Lock held on
 * entry; released.
 */
static void
hs_step(struct sppipe *p, unsigned which, int rv, size_t n)
{
	bool sending = which == HS_SENDING;
	size_t *done = sending ? &p->hello_sent : &p->hello_got;
	uint8_t *buf = sending ? p->hello_out : p->hello_in;
	nng_aio *aio = sending ? p->tx_aio : p->rx_aio;
	nng_iov iov;

	if (rv == 0) {
		*done += n;
		if (*done < SPWIRE_HELLO_LEN && p->closed) {
			/* Never post on a closed stream: nng 1.5.2 would
			 * leave the operation pending for good. */
			rv = NNG_ECLOSED;
		}
	}
	if (rv != 0) {
		pthread_mutex_unlock(&p->lock);
		hs_fail(p, which, rv);
		return;
	}
	if (*done < SPWIRE_HELLO_LEN) {
		iov.iov_buf = buf + *done;
		iov.iov_len = SPWIRE_HELLO_LEN - *done;
		nng_aio_set_iov(aio, 1, &iov);
		if (sending) {
			nng_stream_send(p->stream, aio);
		} else {
			nng_stream_recv(p->stream, aio);
		}
		pthread_mutex_unlock(&p->lock);
		return;
	}
	pthread_mutex_unlock(&p->lock);
	hs_half(p, which);
}

static void
rx_cb(void *arg)
{
	struct sppipe *p = arg;
	int rv = nng_aio_result(p->rx_aio);
	size_t n = nng_aio_count(p->rx_aio);
	bool look;

	pthread_mutex_lock(&p->lock);
	if (!p->ready) {
		hs_step(p, HS_RECEIVING, rv, n); /* unlocks */
		return;
	}
	if (p->rx_kicked) {
		p->rx_kicked = false;
		n = 0;
	}
	if (rv != 0 || p->l->o.role == LISTENER_PUB) {
		bool by_us = p->closed;
		look = rx_stop(p);
		pthread_mutex_unlock(&p->lock);
		if (by_us) {
			/* Closed by us: the recv only ended with it. */
		} else if (rv == 0) {
			refuse(p, LOG_INFO, "subscriber sent data",
			       "an SP SUB peer never sends");
		} else if (rv == NNG_ECONNSHUT || rv == NNG_ECONNRESET ||
		           rv == NNG_ECONNREFUSED) {
			/* The peer went away: not a refusal. */
			sppipe_close(p, io_reason(rv));
		} else {
			refuse(p, LOG_INFO, io_reason(rv), nng_strerror(rv));
		}
		if (look) {
			listener_wake(p->l);
		}
		return;
	}
	rep_step(p, n); /* unlocks */
}

/* ---- the tx side ---- */

/* Prepares tx_aio for the message at the front of the queue. Lock held. */
static void
tx_prepare(struct sppipe *p)
{
	struct sptx *m = p->txq[p->txq_head];
	size_t hl = spwire_frame_head(p->l->ipc, (uint64_t) m->bt_len + m->len,
	                              p->txhead);

	memcpy(p->txhead + hl, m->bt, m->bt_len);
	p->tx_iov[0].iov_buf = p->txhead;
	p->tx_iov[0].iov_len = hl + m->bt_len;
	p->tx_iov[1].iov_buf = m->body;
	p->tx_iov[1].iov_len = m->len;
	p->tx_niov = m->len > 0 ? 2 : 1;
	p->tx_deadline = clock_mono_ms() + p->l->o.limits.message_ms;
}

/* Posts tx_aio with what is left of tx_iov. Lock held. */
static void
tx_post(struct sppipe *p)
{
	nng_aio_set_iov(p->tx_aio, p->tx_niov, p->tx_iov);
	nng_stream_send(p->stream, p->tx_aio);
}

/* Adds m to the queue, growing the ring up to txq_max. Lock held.
 * Returns false when there is no memory for it. */
static bool
txq_push(struct sppipe *p, struct sptx *m)
{
	if (p->txq_len == p->txq_cap) {
		uint32_t cap = p->txq_cap == 0 ? 4 : p->txq_cap * 2;
		struct sptx **q;

		if (cap > p->txq_max) {
			cap = p->txq_max;
		}
		assert(cap > p->txq_len);
		if ((q = malloc(cap * sizeof(*q))) == NULL) {
			return false;
		}
		for (uint32_t i = 0; i < p->txq_len; i++) {
			q[i] = p->txq[(p->txq_head + i) % p->txq_cap];
		}
		free(p->txq);
		p->txq = q;
		p->txq_cap = cap;
		p->txq_head = 0;
	}
	p->txq[(p->txq_head + p->txq_len) % p->txq_cap] = m;
	p->txq_len++;
	return true;
}

/* Starts sending if nothing is being sent. Lock held. */
static void
tx_kick(struct sppipe *p)
{
	if (!p->tx_busy && p->txq_len > 0 && !p->closed) {
		p->tx_busy = true;
		p->refs++;
		tx_prepare(p);
		tx_post(p);
	}
}

/* A request of p is over (answered or not): reading may go on. Lock
 * held. */
static void
request_over(struct sppipe *p)
{
	assert(p->outstanding > 0);
	p->outstanding--;
	if (p->outstanding < p->l->o.limits.max_outstanding && !p->waiting) {
		rx_resume(p);
	}
}

void
sppipe_reply(struct sppipe *p, struct sptx *m)
{
	pthread_mutex_lock(&p->lock);
	if (p->closed || !txq_push(p, m)) {
		request_over(p);
		pthread_mutex_unlock(&p->lock);
		sptx_release(m);
		return;
	}
	tx_kick(p);
	pthread_mutex_unlock(&p->lock);
}

void
sppipe_reply_none(struct sppipe *p)
{
	pthread_mutex_lock(&p->lock);
	request_over(p);
	pthread_mutex_unlock(&p->lock);
}

bool
sppipe_publish(struct sppipe *p, struct sptx *m)
{
	bool kept = true;

	pthread_mutex_lock(&p->lock);
	if (p->closed || !p->ready) {
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	if (p->txq_len == p->txq_max) {
		/* Drop the oldest that is not being sent: move the one in
		 * flight into its slot. */
		uint32_t second = (p->txq_head + 1) % p->txq_cap;
		assert(p->tx_busy && p->txq_len >= 2);
		sptx_release(p->txq[second]);
		p->txq[second] = p->txq[p->txq_head];
		p->txq_head = second;
		p->txq_len--;
		p->dropped++;
		kept = false;
	}
	sptx_hold(m);
	if (!txq_push(p, m)) {
		sptx_release(m);
		p->dropped++;
		kept = false;
	}
	tx_kick(p);
	pthread_mutex_unlock(&p->lock);
	return kept;
}

/* Moves tx_iov on by n bytes sent; returns whether any is left. */
static bool
tx_advance(struct sppipe *p, size_t n)
{
	while (n > 0 && p->tx_niov > 0) {
		if (n < p->tx_iov[0].iov_len) {
			p->tx_iov[0].iov_buf =
			    (uint8_t *) p->tx_iov[0].iov_buf + n;
			p->tx_iov[0].iov_len -= n;
			return true;
		}
		n -= p->tx_iov[0].iov_len;
		p->tx_iov[0] = p->tx_iov[1];
		p->tx_niov--;
	}
	return p->tx_niov > 0;
}

static void
tx_cb(void *arg)
{
	struct sppipe *p = arg;
	int rv = nng_aio_result(p->tx_aio);
	size_t n = nng_aio_count(p->tx_aio);
	bool rep = p->l->o.role == LISTENER_REP;
	bool look;
	struct sptx *done;

	pthread_mutex_lock(&p->lock);
	if (!p->ready) {
		hs_step(p, HS_SENDING, rv, n); /* unlocks */
		return;
	}
	if (rv == 0 && tx_advance(p, n) && !p->closed) {
		tx_post(p);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	if (rv != 0 || p->closed) {
		/* Nothing more goes out (an error, or closed mid-message):
		 * every queued message is dropped, and the requests they
		 * answer are over. */
		bool by_us = p->closed;
		while (p->txq_len > 0) {
			sptx_release(p->txq[p->txq_head]);
			p->txq_head = (p->txq_head + 1) % p->txq_cap;
			p->txq_len--;
			if (rep) {
				assert(p->outstanding > 0);
				p->outstanding--;
			}
		}
		p->tx_busy = false;
		p->tx_deadline = 0;
		look = unref_locked(p);
		pthread_mutex_unlock(&p->lock);
		if (!by_us) {
			sppipe_close(p, io_reason(rv));
		}
		if (look) {
			listener_wake(p->l);
		}
		return;
	}
	done = p->txq[p->txq_head];
	p->txq_head = (p->txq_head + 1) % p->txq_cap;
	p->txq_len--;
	p->last_active = clock_mono_ms();
	if (rep) {
		request_over(p);
	}
	if (p->txq_len > 0 && !p->closed) {
		tx_prepare(p);
		tx_post(p);
		look = false;
	} else {
		p->tx_busy = false;
		p->tx_deadline = 0;
		look = unref_locked(p);
	}
	pthread_mutex_unlock(&p->lock);
	sptx_release(done);
	if (look) {
		listener_wake(p->l);
	}
}

/* ---- for owners and the listener ---- */

void
sppipe_prove(struct sppipe *p)
{
	bool first;

	pthread_mutex_lock(&p->lock);
	first = !p->proven;
	p->proven = true;
	recharge(p, 0, false);
	if (p->budget_wait) {
		p->budget_wait = false;
		rx_resume(p);
	}
	pthread_mutex_unlock(&p->lock);
	if (first) {
		listener_proven(p->l, p);
	}
}

bool
sppipe_give(struct sppipe *p, void *worker)
{
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	assert(p->given == NULL);
	p->given = worker;
	/* Not yet waiting: rep_step is between take() and marking it, and
	 * finds the worker there. */
	if (p->waiting) {
		rx_resume(p);
	}
	pthread_mutex_unlock(&p->lock);
	return true;
}

void
sppipe_start(struct sppipe *p, int64_t now_ms)
{
	uint16_t self =
	    p->l->o.role == LISTENER_REP ? SPWIRE_REP0 : SPWIRE_PUB0;
	nng_iov out = { .iov_buf = p->hello_out, .iov_len = SPWIRE_HELLO_LEN };
	nng_iov in = { .iov_buf = p->hello_in, .iov_len = SPWIRE_HELLO_LEN };

	spwire_hello(self, p->hello_out);
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		/* Closed before it started (made room for another): nothing
		 * may be posted on its closed stream. */
		pthread_mutex_unlock(&p->lock);
		return;
	}
	p->hs_deadline = now_ms + p->l->o.limits.handshake_ms;
	p->hs_left = HS_SENDING | HS_RECEIVING;
	p->rx_busy = p->tx_busy = true;
	p->refs += 2;
	/* Both sides send their handshake first, then read the other's. */
	nng_aio_set_iov(p->tx_aio, 1, &out);
	nng_stream_send(p->stream, p->tx_aio);
	nng_aio_set_iov(p->rx_aio, 1, &in);
	nng_stream_recv(p->stream, p->rx_aio);
	pthread_mutex_unlock(&p->lock);
}

void
sppipe_check(struct sppipe *p, int64_t now_ms)
{
	const struct listener_limits *lim = &p->l->o.limits;
	const char *reason = NULL;
	bool idle;

	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	idle = p->ready && p->l->o.role == LISTENER_REP &&
	       p->outstanding == 0 && !p->waiting && p->txq_len == 0 &&
	       spwire_rx_pending(&p->rx) == 0;
	if (p->hs_deadline != 0 && now_ms >= p->hs_deadline) {
		reason = "handshake deadline";
	} else if (p->rx_deadline != 0 && now_ms >= p->rx_deadline) {
		reason = "message deadline (receiving)";
	} else if (p->tx_deadline != 0 && now_ms >= p->tx_deadline) {
		reason = "message deadline (sending)";
	} else if (idle && lim->idle_ms > 0 &&
	           now_ms - p->last_active >= lim->idle_ms) {
		reason = "idle";
	}
	if (reason == NULL && p->budget_wait) {
		p->budget_wait = false;
		rx_resume(p);
	}
	pthread_mutex_unlock(&p->lock);
	if (reason == NULL) {
		return;
	}
	if (strcmp(reason, "idle") == 0) {
		/* Not a refusal: a robot between heartbeats reconnects. */
		sppipe_close(p, reason);
		return;
	}
	refuse(p, LOG_INFO, reason, NULL);
}
