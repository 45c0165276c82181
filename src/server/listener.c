/*
 * The accept loop, connection limits and the listener's thread; see
 * listener.h for what and why, edge_impl.h for the locks.
 */
#include "server/listener.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/nngerr.h"
#include "hbmon/error.h"
#include "server/edge_impl.h"

/* Longest pause of the accept loop after errors in a row. */
#define ACCEPT_RETRY_MAX_MS 1000
/* How long listener_close waits for owners to let go of connections. */
#define CLOSE_WAIT_MS 5000

static void accept_cb(void *arg);

const char *
listener_url(const struct listener *l)
{
	return l->bound_url;
}

const char *
listener_name(const struct listener *l)
{
	return l->name;
}

enum listener_role
listener_role(const struct listener *l)
{
	return l->o.role;
}

uint64_t
listener_accepts(struct listener *l)
{
	return atomic_load(&l->accepts);
}

struct refusal_log *
listener_refusals(struct listener *l)
{
	return &l->refusals;
}

size_t
listener_connections(struct listener *l)
{
	size_t n = 0;

	pthread_mutex_lock(&l->lock);
	for (struct sppipe *p = l->pipes; p != NULL; p = p->next) {
		n++;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}

size_t
listener_sending(struct listener *l)
{
	size_t n = 0;

	pthread_mutex_lock(&l->lock);
	for (struct sppipe *p = l->pipes; p != NULL; p = p->next) {
		n += sppipe_sending(p) ? 1 : 0;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}

void
listener_wake(struct listener *l)
{
	pthread_mutex_lock(&l->wake_lock);
	l->woken = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->wake_lock);
}

bool
listener_charge(struct listener *l, size_t delta)
{
	size_t used = atomic_load(&l->unauth_used);

	do {
		if (used + delta > l->o.limits.unauth_buffer_max) {
			return false;
		}
	} while (!atomic_compare_exchange_weak(&l->unauth_used, &used,
	                                       used + delta));
	return true;
}

void
listener_uncharge(struct listener *l, size_t delta)
{
	size_t before = atomic_fetch_sub(&l->unauth_used, delta);

	assert(before >= delta);
	(void) before;
}

/* ---- the unproven list: oldest first ---- */

static void
unproven_remove(struct listener *l, struct sppipe *p)
{
	if (!p->in_unproven) {
		return;
	}
	if (p->uprev != NULL) {
		p->uprev->unext = p->unext;
	} else {
		l->unproven_head = p->unext;
	}
	if (p->unext != NULL) {
		p->unext->uprev = p->uprev;
	} else {
		l->unproven_tail = p->uprev;
	}
	p->unext = p->uprev = NULL;
	p->in_unproven = false;
}

static void
unproven_append(struct listener *l, struct sppipe *p)
{
	p->uprev = l->unproven_tail;
	p->unext = NULL;
	if (l->unproven_tail != NULL) {
		l->unproven_tail->unext = p;
	} else {
		l->unproven_head = p;
	}
	l->unproven_tail = p;
	p->in_unproven = true;
}

void
listener_proven(struct listener *l, struct sppipe *p)
{
	pthread_mutex_lock(&l->lock);
	unproven_remove(l, p);
	pthread_mutex_unlock(&l->lock);
}

/* ---- peers ---- */

static int
peer_match(const void *record, const void *key, size_t key_len)
{
	const struct edge_peer *e = record;

	return e->addr_len == key_len && memcmp(e->addr, key, key_len) == 0;
}

/*
 * A tcp address as peer (with port) and host (without), and its address
 * bytes (*addr_len 4 or 16; 0 and "unknown" for anything else).
 */
static void
format_addr(const nng_sockaddr *sa, char *peer, char *host, uint8_t addr[16],
            uint8_t *addr_len)
{
	char ip[INET6_ADDRSTRLEN];

	*addr_len = 0;
	strcpy(peer, "unknown");
	strcpy(host, "unknown");
	if (sa->s_family == NNG_AF_INET) {
		memcpy(addr, &sa->s_in.sa_addr, 4);
		*addr_len = 4;
		inet_ntop(AF_INET, addr, ip, sizeof(ip));
		snprintf(host, REFUSAL_PEER_MAX, "%s", ip);
		snprintf(peer, REFUSAL_PEER_MAX, "%s:%u", ip,
		         (unsigned) ntohs(sa->s_in.sa_port));
	} else if (sa->s_family == NNG_AF_INET6) {
		memcpy(addr, sa->s_in6.sa_addr, 16);
		*addr_len = 16;
		inet_ntop(AF_INET6, addr, ip, sizeof(ip));
		snprintf(host, REFUSAL_PEER_MAX, "[%s]", ip);
		snprintf(peer, REFUSAL_PEER_MAX, "[%s]:%u", ip,
		         (unsigned) ntohs(sa->s_in6.sa_port));
	}
}

/*
 * Who is at the other end of s: peer with port, host without, and for
 * tcp the address bytes (*addr_len 0 otherwise).
 */
static void
peer_of(const struct listener *l, nng_stream *s, char *peer, char *host,
        uint8_t addr[16], uint8_t *addr_len)
{
	nng_sockaddr sa;
	uint64_t pid = 0, uid = 0;

	*addr_len = 0;
	strcpy(peer, "unknown");
	strcpy(host, "unknown");
	if (l->ipc) {
		/* Local processes of the socket's owner: named by user and
		 * pid for the log (the admin audit names the user), all one
		 * peer for the limits. */
		strcpy(host, "ipc");
		if (nng_stream_get_uint64(s, NNG_OPT_IPC_PEER_UID, &uid) == 0 &&
		    nng_stream_get_uint64(s, NNG_OPT_IPC_PEER_PID, &pid) == 0) {
			snprintf(peer, REFUSAL_PEER_MAX, "uid:%llu pid:%llu",
			         (unsigned long long) uid,
			         (unsigned long long) pid);
		} else {
			strcpy(peer, "ipc");
		}
		return;
	}
	if (nng_stream_get_addr(s, NNG_OPT_REMADDR, &sa) == 0) {
		format_addr(&sa, peer, host, addr, addr_len);
	}
}

/* Whether a connection from peer is the self-check's. l->lock held. */
static bool
is_self(const struct listener *l, const char *peer)
{
	return l->ipc
	           ? strcmp(peer, l->self_pid) == 0
	           : l->self_peer[0] != '\0' && strcmp(peer, l->self_peer) == 0;
}

void
listener_mark_self(struct listener *l, const nng_sockaddr *sa)
{
	char host[REFUSAL_PEER_MAX];
	uint8_t addr[16], addr_len;

	pthread_mutex_lock(&l->lock);
	l->self_peer[0] = '\0';
	if (sa != NULL && !l->ipc) {
		format_addr(sa, l->self_peer, host, addr, &addr_len);
		/* Accepted already: marked here rather than at admit. */
		for (struct sppipe *p = l->pipes; p != NULL; p = p->next) {
			if (strcmp(p->peer, l->self_peer) == 0) {
				atomic_store(&p->self, true);
			}
		}
	}
	pthread_mutex_unlock(&l->lock);
}

/* Tops up e's accept budget. l->lock held. */
static void
peer_refill(const struct listener *l, struct edge_peer *e, int64_t now)
{
	double burst = l->o.limits.accept_rate;

	e->tokens +=
	    (double) (now - e->refill_ms) * l->o.limits.accept_rate / 1000.0;
	if (e->tokens > burst) {
		e->tokens = burst;
	}
	e->refill_ms = now;
}

/* The entry for an address, made when absent; NULL when the table is
 * full or out of memory. l->lock held. */
static struct edge_peer *
peer_get(struct listener *l, const uint8_t *addr, uint8_t len, int64_t now)
{
	uint32_t h = hashtab_hash(addr, len);
	struct edge_peer *e = hashtab_find(&l->peers, h, addr, len);

	if (e != NULL) {
		peer_refill(l, e, now);
		return e;
	}
	if (l->peers.count >= l->peers_max ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		return NULL;
	}
	memcpy(e->addr, addr, len);
	e->addr_len = len;
	e->tokens = l->o.limits.accept_rate;
	e->refill_ms = now;
	if (hashtab_insert(&l->peers, h, e) != HBMON_OK) {
		free(e);
		return NULL;
	}
	return e;
}

struct prune {
	struct listener *l;
	int64_t now;
	struct edge_peer *gone[64];
	size_t n;
};

static int
prune_one(void *record, void *arg)
{
	struct edge_peer *e = record;
	struct prune *pr = arg;

	peer_refill(pr->l, e, pr->now);
	if (e->connections == 0 &&
	    e->tokens >= (double) pr->l->o.limits.accept_rate &&
	    pr->n < sizeof(pr->gone) / sizeof(pr->gone[0])) {
		pr->gone[pr->n++] = e;
	}
	return pr->n == sizeof(pr->gone) / sizeof(pr->gone[0]);
}

/* Forgets addresses with no connection and a full budget. l->lock held. */
static void
peers_prune(struct listener *l, int64_t now)
{
	struct prune pr = { .l = l, .now = now };

	do {
		pr.n = 0;
		hashtab_each(&l->peers, prune_one, &pr);
		for (size_t i = 0; i < pr.n; i++) {
			struct edge_peer *e = pr.gone[i];
			hashtab_remove(&l->peers,
			               hashtab_hash(e->addr, e->addr_len),
			               e->addr, e->addr_len);
			free(e);
		}
	} while (pr.n == sizeof(pr.gone) / sizeof(pr.gone[0]));
}

static int
free_peer(void *record, void *arg)
{
	(void) arg;
	free(record);
	return 0;
}

/* ---- accepting ---- */

/*
 * Posts a's next accept. From a's own callback, or with l->rebind_lock
 * held: a is not freed meanwhile.
 */
static void
accept_next(struct acceptor *a)
{
	nng_stream_listener_accept(a->sl, a->aio);
}

/* Posts the next accept of the current generation, if there is one, from
 * outside an accept callback (a retry after errors, the first one). */
static void
accept_current(struct listener *l)
{
	struct acceptor *a;

	pthread_mutex_lock(&l->rebind_lock);
	pthread_mutex_lock(&l->lock);
	a = l->closing ? NULL : l->acc;
	pthread_mutex_unlock(&l->lock);
	if (a != NULL) {
		accept_next(a);
	}
	pthread_mutex_unlock(&l->rebind_lock);
}

/*
 * Decides about a new connection from addr (tcp) under l's limits; takes
 * it as p when allowed. self: it is the self-check's. Returns the reason
 * for a refusal, or NULL; *victim: a connection closed to make room.
 * l->lock held.
 */
static const char *
admit(struct listener *l, nng_stream *s, const char *peer, const char *host,
      const uint8_t *addr, uint8_t addr_len, bool self, int64_t now,
      struct sppipe **out, struct sppipe **victim)
{
	const struct listener_limits *lim = &l->o.limits;
	struct edge_peer *e = NULL;
	struct sppipe *p;

	*out = NULL;
	*victim = NULL;
	if (addr_len > 0 && (lim->accept_rate > 0 || lim->max_per_peer > 0)) {
		if ((e = peer_get(l, addr, addr_len, now)) == NULL) {
			return "too many peer addresses";
		}
		if (lim->accept_rate > 0) {
			if (e->tokens < 1.0) {
				return "accept rate";
			}
			e->tokens -= 1.0;
		}
		if (lim->max_per_peer > 0 &&
		    e->connections >= lim->max_per_peer) {
			return "connections per peer";
		}
	}
	if (atomic_load(&l->live) >= lim->max_connections) {
		/* Make room by closing the oldest connection that has not
		 * authenticated; robots already heard stay. Not for the
		 * self-check: being accepted told it enough. */
		struct sppipe *v = self ? NULL : l->unproven_head;
		while (v != NULL && sppipe_is_closed(v)) {
			v = v->unext;
		}
		if (v == NULL) {
			return "connection cap";
		}
		unproven_remove(l, v);
		/* Held until it is closed, after l->lock is let go: it may
		 * close by itself meanwhile, and must not be freed. */
		sppipe_hold(v);
		*victim = v;
	}
	if ((p = sppipe_new(l, s, peer, host)) == NULL) {
		return "out of memory";
	}
	atomic_store(&p->self, self);
	p->peer_entry = e;
	if (e != NULL) {
		e->connections++;
	}
	p->next = l->pipes;
	if (l->pipes != NULL) {
		l->pipes->prev = p;
	}
	l->pipes = p;
	unproven_append(l, p);
	atomic_fetch_add(&l->live, 1);
	*out = p;
	return NULL;
}

static void
accept_cb(void *arg)
{
	struct acceptor *a = arg;
	struct listener *l = a->l;
	int rv = nng_aio_result(a->aio);
	int64_t now = clock_mono_ms();
	char peer[REFUSAL_PEER_MAX], host[REFUSAL_PEER_MAX];
	uint8_t addr[16], addr_len;
	struct sppipe *p, *victim;
	const char *why;
	bool self;
	nng_stream *s;

	pthread_mutex_lock(&l->lock);
	if (l->closing || a != l->acc) {
		/* Closing, or a generation listener_rebind has retired
		 * finishing late (NNG_ECLOSED, NNG_ECANCELED, or a
		 * connection it had accepted): nothing of the current one
		 * is touched, and nothing is posted again. */
		pthread_mutex_unlock(&l->lock);
		if (rv == 0) {
			s = nng_aio_get_output(a->aio, 0);
			nng_stream_close(s);
			nng_stream_free(s);
		}
		return;
	}
	if (rv != 0) {
		/* Whatever the error, the loop goes on: nng 1.5.2 stopped
		 * here on NNG_ECLOSED from one failed connection
		 * (nanomsg/nng#1518). Errors in a row (out of fds, say)
		 * pause it a little, so it does not spin. */
		int64_t pause =
		    10LL << (l->accept_errors < 7 ? l->accept_errors : 7);
		l->accept_errors++;
		if (pause > ACCEPT_RETRY_MAX_MS) {
			pause = ACCEPT_RETRY_MAX_MS;
		}
		l->accept_retry_ms = l->accept_errors > 1 ||
		                             rv == NNG_ENOFILES ||
		                             rv == NNG_ENOMEM
		                         ? now + pause
		                         : 0;
		pthread_mutex_unlock(&l->lock);
		refusal_note(&l->refusals, LOG_WARN, "-", "accept failed",
		             "error=%s", nng_strerror(rv));
		if (l->accept_retry_ms == 0) {
			accept_next(a);
		} else {
			listener_wake(l);
		}
		return;
	}
	l->accept_errors = 0;
	atomic_fetch_add(&l->accepts, 1);
	s = nng_aio_get_output(a->aio, 0);
	peer_of(l, s, peer, host, addr, &addr_len);
	self = is_self(l, peer);
	why = admit(l, s, peer, host, addr, addr_len, self, now, &p, &victim);
	pthread_mutex_unlock(&l->lock);
	/* Accept the next one before this one is looked at. */
	accept_next(a);
	if (victim != NULL) {
		refusal_note(&l->refusals, LOG_WARN, sppipe_peer_host(victim),
		             "closed to make room",
		             "connection=%s max_connections=%u",
		             sppipe_peer(victim),
		             (unsigned) l->o.limits.max_connections);
		sppipe_close(victim, "closed to make room");
		sppipe_release(victim);
	}
	if (why != NULL && self) {
		/* The server's own self-check: the accept counter has
		 * told it already that the listener is alive. */
		log_debug("self-check connection refused",
		          "listener=%s peer=%s reason=%s", l->name, peer, why);
	} else if (why != NULL) {
		refusal_note(&l->refusals, LOG_WARN, host, why,
		             "connection=%s max_connections=%u "
		             "max_connections_per_peer=%u accept_rate=%u",
		             peer, (unsigned) l->o.limits.max_connections,
		             (unsigned) l->o.limits.max_per_peer,
		             (unsigned) l->o.limits.accept_rate);
	}
	if (why != NULL) {
		nng_stream_close(s);
		nng_stream_free(s);
		return;
	}
	sppipe_start(p, now);
	sppipe_release(p);
}

/* ---- the listener's thread ---- */

/* Unlinks p from l's lists and its peer's count. l->lock held. */
static void
unlink_pipe(struct listener *l, struct sppipe *p)
{
	unproven_remove(l, p);
	if (p->prev != NULL) {
		p->prev->next = p->next;
	} else {
		l->pipes = p->next;
	}
	if (p->next != NULL) {
		p->next->prev = p->prev;
	}
	p->next = p->prev = NULL;
	if (p->peer_entry != NULL) {
		assert(p->peer_entry->connections > 0);
		p->peer_entry->connections--;
		p->peer_entry = NULL;
	}
}

/*
 * Tells owners about closed pipes and frees those nobody holds any
 * more. Returns the number of pipes left.
 */
static size_t
reap(struct listener *l)
{
	struct sppipe *tell = NULL, *dead = NULL;
	size_t left = 0;

	pthread_mutex_lock(&l->lock);
	for (struct sppipe *p = l->pipes; p != NULL; p = p->next) {
		int known;

		if (p->notified || !sppipe_is_closed(p) ||
		    (known = sppipe_announced(p)) < 0) {
			continue; /* open, told already, or being told */
		}
		p->notified = true;
		if (known > 0) {
			/* Held across the callback, which runs unlocked. */
			sppipe_hold(p);
			p->tnext = tell;
			tell = p;
		}
	}
	pthread_mutex_unlock(&l->lock);
	while (tell != NULL) {
		struct sppipe *p = tell;
		tell = p->tnext;
		if (l->o.ops->closed != NULL) {
			l->o.ops->closed(l->o.arg, p);
		}
		sppipe_release(p);
	}
	pthread_mutex_lock(&l->lock);
	for (struct sppipe *p = l->pipes, *next; p != NULL; p = next) {
		next = p->next;
		if (p->notified && sppipe_unused(p)) {
			unlink_pipe(l, p);
			p->tnext = dead;
			dead = p;
		} else {
			left++;
		}
	}
	pthread_mutex_unlock(&l->lock);
	while (dead != NULL) {
		struct sppipe *p = dead;
		dead = p->tnext;
		sppipe_free(p);
	}
	return left;
}

static void
tick(struct listener *l, int64_t now, int64_t *pruned_at)
{
	bool retry = false;

	pthread_mutex_lock(&l->lock);
	for (struct sppipe *p = l->pipes; p != NULL; p = p->next) {
		sppipe_check(p, now);
	}
	if (l->accept_retry_ms != 0 && now >= l->accept_retry_ms) {
		l->accept_retry_ms = 0;
		retry = true;
	}
	if (now - *pruned_at >= 1000) {
		peers_prune(l, now);
		*pruned_at = now;
	}
	pthread_mutex_unlock(&l->lock);
	if (retry) {
		accept_current(l);
	}
	reap(l);
	refusal_flush(&l->refusals, now);
}

static void *
thread_main(void *arg)
{
	struct listener *l = arg;
	int64_t next = clock_mono_ms() + LISTENER_TICK_MS;
	int64_t pruned_at = clock_mono_ms();

	for (;;) {
		struct timespec until;
		int64_t now;
		bool stop, woken;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += LISTENER_TICK_MS / 1000;
		until.tv_nsec += (long) (LISTENER_TICK_MS % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&l->wake_lock);
		while (!l->stop && !l->woken &&
		       pthread_cond_timedwait(&l->wake, &l->wake_lock,
		                              &until) == 0) {
		}
		stop = l->stop;
		woken = l->woken;
		l->woken = false;
		pthread_mutex_unlock(&l->wake_lock);
		if (stop) {
			break;
		}
		now = clock_mono_ms();
		if (now >= next) {
			tick(l, now, &pruned_at);
			next = now + LISTENER_TICK_MS;
		} else if (woken) {
			/* A pipe closed or was released: free it now, so
			 * its fd goes at once. */
			reap(l);
		}
	}
	return NULL;
}

/* ---- start and close ---- */

/* The URL with the port actually bound, for tcp URLs ending in :0. */
static void
bound_url(struct listener *l)
{
	int port = 0;
	char *colon;

	snprintf(l->bound_url, sizeof(l->bound_url), "%s", l->url);
	if (!l->tcp ||
	    nng_stream_listener_get_int(l->acc->sl, NNG_OPT_TCP_BOUND_PORT,
	                                &port) != 0 ||
	    (colon = strrchr(l->bound_url, ':')) == NULL) {
		return;
	}
	snprintf(colon + 1,
	         sizeof(l->bound_url) - (size_t) (colon + 1 - l->bound_url),
	         "%d", port);
}

/* Closes a's stream listener and stops its aio: its callback has run for
 * the last time when this returns. Not with l->lock held. */
static void
acceptor_stop(struct acceptor *a)
{
	if (a != NULL) {
		nng_stream_listener_close(a->sl);
		nng_aio_stop(a->aio);
	}
}

/* Stops and frees a. NULL is fine. */
static void
acceptor_free(struct acceptor *a)
{
	if (a == NULL) {
		return;
	}
	acceptor_stop(a);
	nng_aio_free(a->aio);
	nng_stream_listener_free(a->sl);
	free(a);
}

/*
 * A new generation listening on url with l's ipc mode and TLS config; it
 * accepts nothing until accept_next. why: a sentence on failure.
 */
static int
acceptor_open(struct listener *l, const char *url, struct acceptor **out,
              char *why, size_t why_len)
{
	struct acceptor *a = calloc(1, sizeof(*a));
	int rv, err;

	*out = NULL;
	if (a == NULL) {
		snprintf(why, why_len, "out of memory for %s", url);
		return HBMON_ENOMEM;
	}
	a->l = l;
	if ((rv = nng_stream_listener_alloc(&a->sl, url)) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", url,
		         nng_strerror(rv));
		err = nngerr_map(rv, NNGERR_LISTEN);
		goto fail;
	}
	if (l->ipc && l->o.ipc_permissions != 0 &&
	    (rv = nng_stream_listener_set_int(a->sl, NNG_OPT_IPC_PERMISSIONS,
	                                      l->o.ipc_permissions)) != 0) {
		snprintf(why, why_len, "cannot set the mode of %s: %s", url,
		         nng_strerror(rv));
		err = nngerr_map(rv, NNGERR_LISTEN);
		goto fail;
	}
	if (l->o.tls != NULL &&
	    (rv = nng_stream_listener_set_ptr(a->sl, NNG_OPT_TLS_CONFIG,
	                                      l->o.tls)) != 0) {
		snprintf(why, why_len, "cannot use TLS on %s: %s", url,
		         nng_strerror(rv));
		err = nngerr_map(rv, NNGERR_LISTEN);
		goto fail;
	}
	if ((rv = nng_stream_listener_listen(a->sl)) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", url,
		         nng_strerror(rv));
		err = nngerr_map(rv, NNGERR_LISTEN);
		goto fail;
	}
	if (nng_aio_alloc(&a->aio, accept_cb, a) != 0) {
		snprintf(why, why_len, "out of memory for %s", url);
		err = HBMON_ENOMEM;
		goto fail;
	}
	*out = a;
	return HBMON_OK;

fail:
	if (a->sl != NULL) {
		nng_stream_listener_free(a->sl);
	}
	free(a);
	return err;
}

int
listener_start(const struct listener_options *o, struct listener **out,
               char *why, size_t why_len)
{
	struct listener *l = calloc(1, sizeof(*l));
	int err;

	if (l == NULL) {
		return HBMON_ENOMEM;
	}
	assert(o->limits.max_connections > 0 && o->limits.handshake_ms > 0 &&
	       o->limits.message_ms > 0 && o->limits.refusal_log_ms > 0);
	assert(o->role == LISTENER_PUB || o->limits.max_outstanding > 0);
	assert(o->role == LISTENER_REP || o->limits.send_queue > 0);
	l->o = *o;
	snprintf(l->name, sizeof(l->name), "%s", o->name);
	snprintf(l->url, sizeof(l->url), "%s", o->url);
	l->o.name = l->name;
	l->o.url = l->url;
	l->ipc = strncmp(l->url, "ipc://", 6) == 0;
	/* As peer_of names an ipc peer. */
	snprintf(l->self_pid, sizeof(l->self_pid), "uid:%llu pid:%llu",
	         (unsigned long long) geteuid(), (unsigned long long) getpid());
	if (!tlsconf_is_tls_url(l->url)) {
		l->o.tls = NULL; /* shared by the server's listeners */
	} else if (l->o.tls != NULL) {
		/* Its own reference: a rebind frees the stream listener
		 * that held one before the next one takes it. */
		nng_tls_config_hold(l->o.tls);
	}
	l->tcp =
	    strncmp(l->url, "tcp://", 6) == 0 || tlsconf_is_tls_url(l->url);
	l->peers_max = (size_t) o->limits.max_connections * 2 + 64;
	pthread_mutex_init(&l->rebind_lock, NULL);
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->wake_lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	hashtab_init(&l->peers, peer_match);
	refusal_init(&l->refusals, l->name, o->limits.refusal_log_ms);
	atomic_init(&l->live, 0);
	atomic_init(&l->unauth_used, 0);
	atomic_init(&l->accepts, 0);

	if (tlsconf_is_tls_url(l->url) && o->tls == NULL) {
		snprintf(why, why_len,
		         "%s: a tls+tcp:// listener needs tls_cert_file and "
		         "tls_key_file",
		         l->url);
		err = HBMON_EINVAL;
		goto fail;
	}
	if ((err = acceptor_open(l, l->url, &l->acc, why, why_len)) !=
	    HBMON_OK) {
		goto fail;
	}
	bound_url(l);
	if (pthread_create(&l->thread, NULL, thread_main, l) != 0) {
		snprintf(why, why_len, "cannot start a thread for %s", l->url);
		err = HBMON_ENOMEM;
		goto fail;
	}
	l->thread_started = true;
	accept_current(l);
	*out = l;
	return HBMON_OK;

fail:
	acceptor_free(l->acc);
	tlsconf_free(l->o.tls);
	refusal_fini(&l->refusals);
	hashtab_fini(&l->peers);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->wake_lock);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->rebind_lock);
	free(l);
	return err;
}

int
listener_rebind(struct listener *l, char *why, size_t why_len)
{
	struct acceptor *old, *a = NULL;
	int err;

	pthread_mutex_lock(&l->rebind_lock);
	pthread_mutex_lock(&l->lock);
	assert(!l->closing);
	old = l->acc;
	l->acc = NULL; /* from now on its callbacks touch nothing */
	pthread_mutex_unlock(&l->lock);
	/* The old one first: nng 1.5.2's ipc listener unlinks its path as
	 * it closes, which would take the new socket file with it; and a
	 * tcp port is free only once its listener is gone. */
	acceptor_free(old);
	err = acceptor_open(l, l->bound_url, &a, why, why_len);
	pthread_mutex_lock(&l->lock);
	l->acc = a;
	l->accept_errors = 0;
	l->accept_retry_ms = 0;
	pthread_mutex_unlock(&l->lock);
	if (a != NULL) {
		accept_next(a);
	}
	pthread_mutex_unlock(&l->rebind_lock);
	return err;
}

bool
listener_close(struct listener *l)
{
	struct acceptor *a;
	int64_t until;
	size_t left;

	if (l == NULL) {
		return true;
	}
	pthread_mutex_lock(&l->rebind_lock);
	pthread_mutex_lock(&l->lock);
	l->closing = true;
	a = l->acc;
	pthread_mutex_unlock(&l->lock);
	acceptor_stop(a);
	pthread_mutex_unlock(&l->rebind_lock);
	if (l->thread_started) {
		pthread_mutex_lock(&l->wake_lock);
		l->stop = true;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->wake_lock);
		pthread_join(l->thread, NULL);
	}
	pthread_mutex_lock(&l->lock);
	for (struct sppipe *p = l->pipes; p != NULL; p = p->next) {
		sppipe_close(p, "server stopping");
	}
	pthread_mutex_unlock(&l->lock);
	until = clock_mono_ms() + CLOSE_WAIT_MS;
	while ((left = reap(l)) > 0 && clock_mono_ms() < until) {
		struct timespec pause = { 0, 5 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	if (left > 0) {
		/* Something still holds them (a bug): leaking is safer
		 * than freeing what a callback may still touch. */
		log_warn("connections still in use at close; left as they are",
		         "listener=%s connections=%zu", l->name, left);
		for (struct sppipe *p = l->pipes; p != NULL; p = p->next) {
			log_warn("connection still in use",
			         "listener=%s "
			         "peer=%s refs=%u ready=%d reading=%d "
			         "sending=%d outstanding=%u",
			         l->name, p->peer, p->refs, p->ready,
			         p->rx_busy, p->tx_busy, p->outstanding);
		}
		return false;
	}
	acceptor_free(a);
	tlsconf_free(l->o.tls);
	hashtab_each(&l->peers, free_peer, NULL);
	hashtab_fini(&l->peers);
	refusal_fini(&l->refusals);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->wake_lock);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->rebind_lock);
	free(l);
	return true;
}
