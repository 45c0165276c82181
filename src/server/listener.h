/*
 * One of hbmon-server's listeners (robots, admin, admin_tcp, alerts):
 * its own accept loop over an nng byte-stream listener (tcp://, ipc://,
 * tls+tcp://), and the SP wire protocol spoken by the server itself over
 * each connection (sppipe.h), for one role: REP (robots, admin) or PUB
 * (alerts).
 *
 * Why not nng's own SP listeners: nng 1.5.2 (Debian bookworm's) stops a
 * listener for good after one connection fails during the SP handshake,
 * because the negotiation error NNG_ECLOSED is taken for "the listener was
 * closed" (nanomsg/nng#1518, fixed in nng 1.6.0): one bare connect+close
 * on ipc, or FIN+RST on tcp, and no robot is ever heard again, without a
 * log line. nng's SP transports also allocate a message of the announced
 * size before a byte of it has arrived, have no handshake, idle or
 * message deadline, and no connection cap. Here the accept loop goes on
 * after any error of any connection, and every connection lives under
 * the limits below. nng still moves the bytes (streams, TLS, aio). See
 * docs/architecture.md, "The edge", before "simplifying" this back.
 *
 * Limits, per listener:
 *   - a connection must finish its handshake (TLS included) within
 *     handshake_ms, each message must arrive (or be sent) within
 *     message_ms of its first byte, and a REP connection with nothing in
 *     progress is closed after idle_ms;
 *   - at most max_connections; over tcp at most max_per_peer from one
 *     address and accept_rate new ones per second from one address;
 *   - when the listener is full, the oldest connection that has not yet
 *     authenticated is closed to make room (robots that have sent one
 *     good request are never pushed out by newcomers); with none to
 *     close, the newcomer is refused;
 *   - connections that have not yet authenticated may together hold at
 *     most unauth_buffer_max bytes of partly received requests beyond
 *     their first rx_min each; further growth waits.
 * Every refusal goes to the listener's rate-limited refusal log.
 *
 * Threads: accept and pipe callbacks run on nng's threads; one thread of
 * the listener's own runs the deadlines (every LISTENER_TICK_MS), frees
 * closed connections and writes refusal summaries. The owner's callbacks
 * are called with no lock of the listener or pipe held.
 */
#ifndef HBMON_SERVER_LISTENER_H
#define HBMON_SERVER_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "common/tlsconf.h"
#include "server/refusal.h"
#include "server/spwire.h"

/* How often deadlines are looked at: they fire up to this late. */
#define LISTENER_TICK_MS 50

/* The buffer every connection reads into at first, and the step a
 * buffer grows by beyond what has arrived. */
#define LISTENER_RX_MIN  4096
#define LISTENER_RX_STEP (64 * 1024)

struct listener;
struct sppipe;

enum listener_role {
	LISTENER_REP, /* serves SP REQ peers: requests and replies */
	LISTENER_PUB, /* serves SP SUB peers: messages out, nothing in */
};

struct listener_limits {
	int64_t handshake_ms;       /* accept -> SP handshake done */
	int64_t idle_ms;            /* REP: nothing in progress; 0: never */
	int64_t message_ms;         /* one message in or out */
	uint32_t max_connections;   /* at once */
	uint32_t max_per_peer;      /* tcp: per address; 0: no cap */
	uint32_t accept_rate;       /* tcp: per address and second; 0: none */
	uint64_t recv_max;          /* REP: largest request body */
	uint64_t unauth_buffer_max; /* see above */
	uint32_t max_outstanding;   /* REP: requests in progress per pipe */
	uint32_t send_queue;        /* PUB: messages queued per pipe */
	int64_t refusal_log_ms;     /* the refusal log's period */
};

struct listener_ops {
	/* The pipe finished its handshake. May be NULL. */
	void (*ready)(void *arg, struct sppipe *p);
	/*
	 * REP: a request of p has arrived; reserve what serves it. Returns
	 * a worker (opaque here), or NULL when none is free: then p reads
	 * nothing more until the owner passes one to sppipe_give, or p is
	 * closed (closed() is called).
	 */
	void *(*take)(void *arg, struct sppipe *p);
	/*
	 * REP: serve request m of p with worker (from take or sppipe_give).
	 * m is the owner's (free m->mem). The owner ends every request with
	 * exactly one sppipe_reply or sppipe_reply_none. Runs on an nng
	 * thread, after p has gone on reading.
	 */
	void (*serve)(void *arg, struct sppipe *p, void *worker,
	              struct spwire_msg *m);
	/*
	 * REP: a request longer than recv_max arrived and p has read it
	 * to its end, throwing it away (within the message deadline); m
	 * holds its first bytes (m->announced: its length). The owner ends
	 * it like any other request (sppipe_reply or sppipe_reply_none).
	 */
	void (*oversize)(void *arg, struct sppipe *p, struct spwire_msg *m);
	/*
	 * p was closed. Called once, from the listener's thread, for every
	 * pipe that was ready; the owner then drops what it holds of p.
	 */
	void (*closed)(void *arg, struct sppipe *p);
};

struct listener_options {
	const char *name;    /* in every log line: "robots", "admin", ... */
	const char *url;     /* tcp://, ipc://, tls+tcp:// */
	int ipc_permissions; /* ipc:// socket mode; 0: umask's */
	nng_tls_config *tls; /* tls+tcp:// only; held by the listener */
	enum tlsconf_verify verify; /* what tls asks of clients */
	enum listener_role role;
	struct listener_limits limits;
	const struct listener_ops *ops;
	void *arg;
};

/*
 * Listens on o->url and starts accepting. o->url and o->name are copied.
 * why: a sentence naming the URL on failure. Returns HBMON_OK,
 * HBMON_EINVAL (a URL nng cannot listen on, or tls+tcp:// without o->tls),
 * HBMON_EBUSY (address in use), HBMON_EPERM, HBMON_ENOMEM or HBMON_EIO.
 */
int listener_start(const struct listener_options *o, struct listener **out,
                   char *why, size_t why_len);

/*
 * The URL listened on, with the port the system chose for ":0". Valid
 * until listener_close.
 */
const char *listener_url(const struct listener *l);

/* The name given at start ("robots", "admin", ...). */
const char *listener_name(const struct listener *l);

/* The role given at start. */
enum listener_role listener_role(const struct listener *l);

/*
 * Connections accepted since start, over every generation, whether or
 * not they were then refused: it goes up while the accept loop works.
 * Thread-safe.
 */
uint64_t listener_accepts(struct listener *l);

/*
 * Replaces the nng stream listener underneath (its self-check failed):
 * closes the current one first (nng 1.5.2's ipc listener unlinks its
 * path as it closes), then listens anew on listener_url (the same path
 * with the same mode, the same port) and accepts there. Connections open
 * now are kept. why: a sentence on failure. Returns HBMON_OK, or an error
 * of listener_start (HBMON_EBUSY: someone took the address meanwhile);
 * then nothing listens until a later call succeeds. Thread-safe; not from
 * an nng callback, not once listener_close has begun.
 */
int listener_rebind(struct listener *l, char *why, size_t why_len);

/*
 * The self-check's connection to l is the one from sa (tcp: that
 * connection's local address), or none (NULL). Its refusals are logged
 * at debug, not as refusals. (ipc connections of this process are known
 * as the self-check's without it.) Thread-safe.
 */
void listener_mark_self(struct listener *l, const nng_sockaddr *sa);

/* Connections open now (handshaking, serving or closing). */
size_t listener_connections(struct listener *l);

/* Connections with messages queued or being written. */
size_t listener_sending(struct listener *l);

/* The listener's refusal log, for the owner's request-level refusals. */
struct refusal_log *listener_refusals(struct listener *l);

/*
 * Stops accepting, closes every connection, calls closed() for each that
 * was ready, and waits (up to a few seconds) until the owner has released
 * them; then frees everything and returns true. When something still
 * holds a connection after that (a bug), logs a warning, frees nothing
 * and returns false: the owner must then free nothing a callback could
 * still use. NULL is fine (true). Not from an owner callback.
 */
bool listener_close(struct listener *l);

#endif
