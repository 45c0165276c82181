/*
 * Internal to listener.c and sppipe.c: the two structs and the few calls
 * between the accept loop and its connections. Nothing else includes it
 * but the test builds' listener_hook.c.
 *
 * Locks, and their order: a listener's lock (l->lock) before a pipe's
 * (p->lock); owners' locks (rpcserver, publisher) before a pipe's, never
 * held while the listener calls them. No callback into an owner is made
 * with l->lock or p->lock held. l->wake_lock only guards the listener
 * thread's sleep and is taken last of all.
 */
#ifndef HBMON_SERVER_EDGE_IMPL_H
#define HBMON_SERVER_EDGE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "server/hashtab.h"
#include "server/listener.h"
#include "server/refusal.h"
#include "server/sppipe.h"
#include "server/spwire.h"

/* A peer address's connections and accept budget (tcp listeners). */
struct edge_peer {
	uint8_t addr[16];
	uint8_t addr_len; /* 4 or 16 */
	uint32_t connections;
	double tokens;     /* connections it may still open now */
	int64_t refill_ms; /* when tokens were last topped up */
};

/*
 * One generation of a listener's accept loop: the nng stream listener and
 * the aio its accepts complete on (whose callback gets the acceptor, so
 * that an old generation finishing late is told apart from the current
 * one). listener_rebind replaces it; a stopped aio is never reused.
 */
struct acceptor {
	struct listener *l;
	nng_stream_listener *sl;
	nng_aio *aio;
};

struct listener {
	struct listener_options o; /* name, url and limits copied */
	char name[32];
	char url[512];                   /* as configured */
	char bound_url[512];             /* with the port chosen for :0 */
	bool ipc, tcp;                   /* tcp: tcp:// or tls+tcp:// */
	char self_pid[REFUSAL_PEER_MAX]; /* ipc: this process, as peer_of names
	                                    it */
	struct refusal_log refusals;
	atomic_uint_fast64_t accepts; /* connections accepted, ever */

	/* Held across a whole change of generation (listener_rebind, the
	 * test hook) and while an accept is posted from outside an accept
	 * callback; taken before lock. Never taken by an nng callback, so
	 * it may be held while an acceptor's aio is stopped. */
	pthread_mutex_t rebind_lock;

	pthread_mutex_t lock; /* everything below to wake_lock */
	/* The current generation; NULL while it is being replaced, or
	 * after a replacement failed (then nothing listens). */
	struct acceptor *acc;
	/* The self-check's connection now ("ADDR:PORT", tcp), "" when none:
	 * its refusals are not logged as refusals. */
	char self_peer[REFUSAL_PEER_MAX];
	struct sppipe *pipes; /* every pipe not yet freed, newest first */
	/* Pipes that have not authenticated, oldest first: who is closed
	 * to make room when the listener is full. */
	struct sppipe *unproven_head, *unproven_tail;
	struct hashtab peers; /* struct edge_peer by address */
	size_t peers_max;
	bool closing;
	int64_t accept_retry_ms; /* after an accept error: when to retry */
	uint32_t accept_errors;  /* in a row */

	atomic_uint live;          /* pipes accepted and not closed */
	atomic_size_t unauth_used; /* bytes charged, see listener.h */

	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool stop; /* the thread: end */
	bool woken;
	pthread_t thread;
	bool thread_started;
};

enum pipe_hs { HS_SENDING = 1, HS_RECEIVING = 2 };

struct sppipe {
	struct listener *l;
	nng_stream *stream;
	char peer[REFUSAL_PEER_MAX];      /* with port */
	char peer_host[REFUSAL_PEER_MAX]; /* without */
	struct edge_peer *peer_entry;     /* tcp only; under l->lock */

	/* Listener bookkeeping, under l->lock. */
	struct sppipe *next, *prev;   /* l->pipes */
	struct sppipe *unext, *uprev; /* l->unproven_* */
	bool in_unproven;
	bool notified; /* closed() called */
	/* The server's own self-check (listener_mark_self): its refusals
	 * are logged at debug only, not counted as refusals. */
	atomic_bool self;

	pthread_mutex_t lock; /* everything below */
	unsigned refs;        /* aio operations posted + owners' holds */
	bool closed;
	bool ready;     /* handshake done */
	bool announced; /* ... and ready() has returned */
	bool proven;    /* see sppipe_prove */
	const char *close_reason;

	/* Handshake: which halves are still to finish. */
	unsigned hs_left;
	uint8_t hello_out[SPWIRE_HELLO_LEN], hello_in[SPWIRE_HELLO_LEN];
	size_t hello_sent, hello_got;

	/* Receiving. rx_busy: a recv or kick is posted, or its callback
	 * runs; only that callback touches rx. */
	nng_aio *rx_aio;
	bool rx_busy;
	bool rx_kicked; /* the posted operation is a kick, not a recv */
	struct spwire_rx rx;
	uint8_t pub_byte[1]; /* PUB: where a SUB peer's byte would go */
	bool waiting;        /* REP: a request waits for a worker */
	struct spwire_msg parked;
	void *given;          /* ... and here is its worker */
	bool budget_wait;     /* growth waits for unauth budget */
	uint32_t outstanding; /* REP: requests not yet answered */
	bool oversize;        /* REP: an oversize request is being skipped */
	size_t charged;       /* against l->unauth_used */
	/* REP: the first bytes of that oversize request, answered once
	 * the rest has been skipped. */
	struct spwire_msg too_big;

	/* Sending: a ring of messages; the first is being sent. */
	nng_aio *tx_aio;
	bool tx_busy;
	struct sptx **txq;
	uint32_t txq_cap, txq_head, txq_len, txq_max;
	uint8_t txhead[SPWIRE_HEAD_MAX + SPWIRE_BT_MAX];
	nng_iov tx_iov[2];
	unsigned tx_niov;
	uint64_t dropped; /* PUB: messages dropped for this subscriber */

	/* Deadlines, monotonic ms; 0: none running. */
	int64_t hs_deadline, rx_deadline, tx_deadline;
	int64_t last_active; /* bytes in or a message out */

	struct sppipe *tnext; /* the listener thread's scratch list */
};

/* ---- sppipe.c, for listener.c ---- */

/*
 * A pipe for stream (taken over: freed with the pipe) on l, from peer
 * (with port) and host (without), both copied, with one reference for
 * the caller (sppipe_release it after sppipe_start: once in l->pipes, it
 * can be closed by others at any time). Returns NULL without memory (the
 * stream is then still the caller's).
 */
struct sppipe *sppipe_new(struct listener *l, nng_stream *stream,
                          const char *peer, const char *host);

/* Starts the handshake (the pipe is in l->pipes already). */
void sppipe_start(struct sppipe *p, int64_t now_ms);

/* Closes p if one of its deadlines has passed. l->lock held. */
void sppipe_check(struct sppipe *p, int64_t now_ms);

/* Whether p is closed and nothing refers to it any more. */
bool sppipe_unused(struct sppipe *p);

/* Whether p is closed. */
bool sppipe_is_closed(struct sppipe *p);

/* Whether p has messages queued or being written (and is open). */
bool sppipe_sending(struct sppipe *p);

/* Whether p's owner knows of it: 0 never will (no handshake), 1 does
 * (ready() has returned), -1 is being told now (ask again later). */
int sppipe_announced(struct sppipe *p);

/* Frees p (sppipe_unused, taken out of every list). */
void sppipe_free(struct sppipe *p);

/* ---- listener.c, for sppipe.c ---- */

/* Something changed that the listener's thread should look at soon. */
void listener_wake(struct listener *l);

/* p has authenticated: out of the unproven list. */
void listener_proven(struct listener *l, struct sppipe *p);

/*
 * Charges delta bytes to the unauthenticated budget. Returns false (and
 * charges nothing) when that would exceed it.
 */
bool listener_charge(struct listener *l, size_t delta);

/* Gives back bytes charged. */
void listener_uncharge(struct listener *l, size_t delta);

#endif
