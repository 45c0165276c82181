/* REP worker pool: decode, admit, dispatch, reply; see rpcserver.h. */
#include "server/rpcserver.h"

#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "server/metrics.h"
#include "server/sppipe.h"

struct worker {
	struct rpcserver *srv;
	struct worker *next_free; /* on srv->free_workers; srv->lock */

	/* The request in progress: */
	struct sppipe *pipe;           /* where the reply goes; held */
	struct rpcserver_local *local; /* or here, when not from a pipe */
	uint8_t bt[SPWIRE_BT_MAX];
	uint8_t bt_len;
	Hbmon__V1__RpcRequest *req;
	struct rpc_call call;
	void *principal; /* admitted: settle the reply */
	bool admitted;
	bool counted; /* counted in srv->busy until its reply is handed on */
	int64_t arrived_ns; /* monotonic: its last byte was read */
	int code;           /* what it is answered with (metrics) */
	void *scratch;
	/* The request, its decoded input and whatever its handler builds for
	 * the reply live here and go at once when the reply is packed. */
	struct arena arena;
};

struct rpcserver {
	struct rpcserver_options opts;
	struct listener *listener;
	struct worker *workers;
	uint32_t n_workers;
	atomic_bool draining;
	/* Admitted requests not yet answered: what a drain waits for.
	 * Refusals are not counted; they need no waiting for. */
	atomic_size_t busy;
	int metrics_id; /* metrics_rpc_listener(opts.name) */

	pthread_mutex_t lock; /* free_workers and the waiting ring */
	struct worker *free_workers;
	/* Connections whose next request waits for a worker, oldest
	 * first; each holds its pipe. */
	struct sppipe **waiting;
	size_t wait_cap, wait_head, wait_len;
	/* Submitted requests waiting for a worker, oldest first, and whose
	 * turn it is when both kinds wait. */
	struct rpcserver_local *local_head, *local_tail;
	bool local_turn;
};

static void serve_local(struct worker *w, struct rpcserver_local *lr);

/* The peer of w's request, for log lines (also before its call is set
 * up). */
static const char *
peer_host(const struct worker *w)
{
	return w->pipe != NULL    ? sppipe_peer_host(w->pipe)
	       : w->local != NULL ? w->local->peer
	                          : "";
}

void *
rpcserver_principal(const struct rpc_call *call)
{
	return ((const struct worker *) call->user)->principal;
}

void *
rpcserver_scratch(const struct rpc_call *call)
{
	return ((const struct worker *) call->user)->scratch;
}

struct arena *
rpcserver_arena(const struct rpc_call *call)
{
	return &((struct worker *) call->user)->arena;
}

const char *
rpcserver_peer(const struct rpc_call *call)
{
	return peer_host(call->user);
}

const char *
rpcserver_peer_detail(const struct rpc_call *call)
{
	const struct worker *w = call->user;

	return w->pipe != NULL    ? sppipe_peer(w->pipe)
	       : w->local != NULL ? w->local->peer
	                          : "";
}

const char *
rpcserver_url(const struct rpcserver *srv)
{
	return listener_url(srv->listener);
}

struct listener *
rpcserver_listener(struct rpcserver *srv)
{
	return srv->listener;
}

/* ---- workers ---- */

/*
 * Passes w on: to the oldest connection waiting for one, or back to the
 * free list. Takes srv->lock.
 */
static void
worker_free(struct worker *w)
{
	struct rpcserver *srv = w->srv;

	pthread_mutex_lock(&srv->lock);
	while (srv->wait_len > 0 || srv->local_head != NULL) {
		struct sppipe *p;
		bool taken;

		/* Both kinds waiting: they take turns. */
		if (srv->local_head != NULL &&
		    (srv->wait_len == 0 || srv->local_turn)) {
			struct rpcserver_local *lr = srv->local_head;
			if ((srv->local_head = lr->next) == NULL) {
				srv->local_tail = NULL;
			}
			srv->local_turn = false;
			pthread_mutex_unlock(&srv->lock);
			serve_local(w, lr);
			return;
		}
		srv->local_turn = true;
		p = srv->waiting[srv->wait_head];

		srv->wait_head = (srv->wait_head + 1) % srv->wait_cap;
		srv->wait_len--;
		pthread_mutex_unlock(&srv->lock);
		taken = sppipe_give(p, w);
		sppipe_release(p);
		if (taken) {
			return;
		}
		pthread_mutex_lock(&srv->lock);
	}
	w->next_free = srv->free_workers;
	srv->free_workers = w;
	pthread_mutex_unlock(&srv->lock);
}

/* Frees what the request in progress holds. */
static void
request_release(struct worker *w)
{
	if (w->srv->opts.release != NULL && w->scratch != NULL) {
		w->srv->opts.release(w->scratch);
	}
	rpc_call_release(&w->call);
	w->req = NULL; /* it lived in the arena */
	arena_reset(&w->arena);
	w->principal = NULL;
	w->admitted = false;
}

static void
uncount(struct worker *w)
{
	if (w->counted) {
		w->counted = false;
		atomic_fetch_sub(&w->srv->busy, 1);
	}
}

/* The request is over (m: its reply, or NULL for none): the worker is
 * free again. */
static void
finish(struct worker *w, struct sptx *m)
{
	struct sppipe *p = w->pipe;
	struct rpcserver_local *lr = w->local;

	request_release(w);
	w->pipe = NULL;
	if (w->arrived_ns != 0) {
		metrics_rpc(w->srv->metrics_id, w->code,
		            (clock_mono_ns() - w->arrived_ns) / 1000);
		w->arrived_ns = 0;
	}
	w->local = NULL;
	if (lr != NULL) {
		lr->reply(lr->arg, m != NULL ? m->body : NULL,
		          m != NULL ? m->len : 0);
		sptx_release(m);
		uncount(w);
		worker_free(w);
		return;
	}
	if (m != NULL) {
		memcpy(m->bt, w->bt, w->bt_len);
		m->bt_len = w->bt_len;
		sppipe_reply(p, m);
	} else {
		sppipe_reply_none(p);
	}
	/* Counted until here, so that a drain waits for the reply to be
	 * queued; rpcserver_drain then waits for it to be written. */
	uncount(w);
	sppipe_release(p);
	worker_free(w);
}

/* Packs an RpcResponse into a new message, or NULL without memory. */
static struct sptx *
pack_reply(int code, const char *message, const ProtobufCMessage *output)
{
	size_t size = env_response_size(code, message, output);
	struct sptx *m = sptx_alloc(size);

	if (m != NULL) {
		env_response_pack_to(code, message, output, m->body);
	}
	return m;
}

/* Answers with a status and no payload. */
static void
reply_status(struct worker *w, int code, const char *message)
{
	/* Without memory nothing can be sent; the caller's REQ resends. */
	w->code = code;
	finish(w, pack_reply(code, message, NULL));
}

/*
 * The closure every handler ends with: output is the method's reply
 * message, or NULL when the call failed (status in the call).
 */
static void
call_done(const ProtobufCMessage *output, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = call->user;
	const struct rpcserver_options *o = &w->srv->opts;
	struct sptx *m;

	if (output == NULL && call->code == RPC_OK) {
		rpc_call_fail(call, RPC_INTERNAL, "handler gave no reply");
	}
	m = pack_reply(call->code, call->message, output);
	if (w->admitted && o->settle != NULL) {
		/* A transient failure may be retried; any other answer is
		 * final and is what a resend gets. */
		bool final = call->code != RPC_UNAVAILABLE && m != NULL;
		o->settle(o->arg, w->principal, w->req, final,
		          m != NULL ? m->body : NULL, m != NULL ? m->len : 0);
	}
	if (m == NULL) {
		reply_status(w, RPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	w->code = call->code;
	finish(w, m);
}

/*
 * The code of a packed RpcResponse: field 1 (a varint) comes first when
 * it is there, and proto3 leaves it out when it is 0.
 */
static int
packed_code(const uint8_t *reply, size_t len)
{
	uint32_t code = 0;

	if (len < 2 || reply[0] != 0x08) {
		return RPC_OK;
	}
	for (size_t i = 1; i < len && i < 6; i++) {
		code |= (uint32_t) (reply[i] & 0x7f) << (7 * (i - 1));
		if ((reply[i] & 0x80) == 0) {
			return (int) code;
		}
	}
	return RPC_UNKNOWN;
}

/* The peer has proved who it is: a connection stops counting as
 * unauthenticated (a submitted request has no connection here). */
static void
prove(struct worker *w)
{
	if (w->pipe != NULL) {
		sppipe_prove(w->pipe);
	}
}

/* w->req is decoded: admit and dispatch it, or answer it at once. */
static void
serve_decoded(struct worker *w)
{
	struct rpcserver *srv = w->srv;
	const struct rpcserver_options *o = &srv->opts;
	struct refusal_log *refusals = listener_refusals(srv->listener);
	struct rpcserver_local *lr = w->local;
	Hbmon__V1__RpcRequest signed_view;
	const Hbmon__V1__RpcRequest *shown = w->req;
	char why[512];
	uint8_t *cached = NULL;
	size_t cached_len = 0;
	int code = RPC_OK;
	struct sptx *m;

	if (lr != NULL && lr->signed_method != NULL) {
		signed_view = *w->req;
		signed_view.method = (char *) lr->signed_method;
		signed_view.payload.data = (uint8_t *) lr->signed_payload;
		signed_view.payload.len = lr->signed_len;
		shown = &signed_view;
	}
	rpc_call_init(&w->call, w->req, w);
	w->call.allocator = &w->arena.pb;
	if (atomic_load(&srv->draining)) {
		reply_status(w, RPC_UNAVAILABLE,
		             "hbmon-server is shutting down; send it again in "
		             "a moment");
		return;
	}
	switch (o->admit(o->arg, shown, clock_wall_ms(), &w->principal, &cached,
	                 &cached_len, &code, why, sizeof(why))) {
	case RPCSERVER_REJECT:
		refusal_note(
		    refusals, LOG_INFO, peer_host(w), "request refused",
		    "robot=%s method=%s code=%s why=%s", w->req->robot_id,
		    shown->method, rpc_code_name(code), why);
		reply_status(w, code, why);
		return;
	case RPCSERVER_REPLAY:
		prove(w);
		if (cached == NULL) {
			reply_status(w, RPC_OK,
			             "this request was already recorded");
			return;
		}
		if ((m = sptx_alloc(cached_len)) == NULL) {
			free(cached);
			reply_status(w, RPC_RESOURCE_EXHAUSTED,
			             "out of memory");
			return;
		}
		memcpy(m->body, cached, cached_len);
		w->code = packed_code(cached, cached_len);
		free(cached);
		finish(w, m);
		return;
	case RPCSERVER_NEW:
		prove(w);
		w->admitted = true;
		w->counted = true;
		atomic_fetch_add(&srv->busy, 1);
		rpc_dispatch(o->service, &w->call, call_done);
		return;
	}
}

static void
handle_request(struct worker *w, const uint8_t *body, size_t len)
{
	char why[512];

	if (env_request_unpack_in(body, len, &w->arena.pb, &w->req, why,
	                          sizeof(why)) != HBMON_OK) {
		w->req = NULL;
		refusal_note(listener_refusals(w->srv->listener), LOG_INFO,
		             peer_host(w), "undecodable request",
		             "code=%s why=%s",
		             rpc_code_name(RPC_INVALID_ARGUMENT), why);
		reply_status(w, RPC_INVALID_ARGUMENT, why);
		return;
	}
	serve_decoded(w);
}

/* ---- submitted requests ---- */

static void
serve_local(struct worker *w, struct rpcserver_local *lr)
{
	assert(w->pipe == NULL && w->local == NULL);
	w->local = lr;
	/* The caller keeps it until the reply; nothing of it is freed. */
	w->req = (Hbmon__V1__RpcRequest *) lr->request;
	serve_decoded(w);
}

void
rpcserver_submit(struct rpcserver *srv, struct rpcserver_local *lr)
{
	struct worker *w;

	lr->next = NULL;
	pthread_mutex_lock(&srv->lock);
	if ((w = srv->free_workers) != NULL) {
		srv->free_workers = w->next_free;
		w->next_free = NULL;
		pthread_mutex_unlock(&srv->lock);
		serve_local(w, lr);
		return;
	}
	if (srv->local_tail != NULL) {
		srv->local_tail->next = lr;
	} else {
		srv->local_head = lr;
	}
	srv->local_tail = lr;
	pthread_mutex_unlock(&srv->lock);
}

/* ---- the listener's hooks ---- */

static void *
on_take(void *arg, struct sppipe *p)
{
	struct rpcserver *srv = arg;
	struct worker *w;

	pthread_mutex_lock(&srv->lock);
	if ((w = srv->free_workers) != NULL) {
		srv->free_workers = w->next_free;
		w->next_free = NULL;
		pthread_mutex_unlock(&srv->lock);
		return w;
	}
	if (srv->wait_len == srv->wait_cap) {
		size_t cap = srv->wait_cap * 2;
		struct sppipe **q = malloc(cap * sizeof(*q));

		if (q == NULL) {
			/* It could never be given a worker. */
			pthread_mutex_unlock(&srv->lock);
			refusal_note(sppipe_refusals(p), LOG_WARN,
			             sppipe_peer_host(p), "out of memory",
			             "connection=%s", sppipe_peer(p));
			sppipe_close(p, "out of memory");
			return NULL;
		}
		for (size_t i = 0; i < srv->wait_len; i++) {
			q[i] =
			    srv->waiting[(srv->wait_head + i) % srv->wait_cap];
		}
		free(srv->waiting);
		srv->waiting = q;
		srv->wait_cap = cap;
		srv->wait_head = 0;
	}
	sppipe_hold(p);
	srv->waiting[(srv->wait_head + srv->wait_len) % srv->wait_cap] = p;
	srv->wait_len++;
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static void
on_serve(void *arg, struct sppipe *p, void *worker, struct spwire_msg *m)
{
	struct worker *w = worker;
	size_t bt_len = 0;

	(void) arg;
	assert(w->pipe == NULL);
	sppipe_hold(p);
	w->pipe = p;
	switch (spwire_backtrace(m->body, m->len, &bt_len)) {
	case SPWIRE_BT_SHORT:
		/* Not an SP REQ at all: nng's REP closes such a pipe. */
		free(m->mem);
		w->bt_len = 0;
		finish(w, NULL);
		refusal_note(sppipe_refusals(p), LOG_INFO, sppipe_peer_host(p),
		             "not an SP request", "connection=%s bytes=%zu",
		             sppipe_peer(p), m->len);
		sppipe_close(p, "not an SP request");
		return;
	case SPWIRE_BT_HOPS:
		/* Too many devices on the way: dropped, as nng's REP does. */
		free(m->mem);
		w->bt_len = 0;
		finish(w, NULL);
		return;
	case SPWIRE_BT_OK:
		break;
	}
	memcpy(w->bt, m->body, bt_len);
	w->bt_len = (uint8_t) bt_len;
	w->arrived_ns = clock_mono_ns();
	w->code = RPC_OK;
	/* protobuf-c copies what it keeps: the bytes can go after. */
	handle_request(w, m->body + bt_len, m->len - bt_len);
	free(m->mem);
}

static void
on_oversize(void *arg, struct sppipe *p, struct spwire_msg *m)
{
	struct rpcserver *srv = arg;
	size_t bt_len = 0;
	char why[256];
	struct sptx *reply;

	snprintf(why, sizeof(why),
	         "the request is %" PRIu64 " bytes, more than this socket "
	         "accepts (recv_max %zu bytes); send it in smaller parts "
	         "(for example fewer accounts per batch)",
	         m->announced, srv->opts.recv_max);
	refusal_note(sppipe_refusals(p), LOG_WARN, sppipe_peer_host(p),
	             "request too large",
	             "connection=%s bytes=%" PRIu64 " recv_max=%zu",
	             sppipe_peer(p), m->announced, srv->opts.recv_max);
	/* Answered, so that an nng REQ peer does not resend it forever
	 * (and hang in nng_close). */
	if (spwire_backtrace(m->body, m->len, &bt_len) != SPWIRE_BT_OK ||
	    (reply = pack_reply(RPC_RESOURCE_EXHAUSTED, why, NULL)) == NULL) {
		free(m->mem);
		sppipe_reply_none(p);
		return;
	}
	memcpy(reply->bt, m->body, bt_len);
	reply->bt_len = (uint8_t) bt_len;
	free(m->mem);
	/* Answered the moment its last byte was thrown away. */
	metrics_rpc(srv->metrics_id, RPC_RESOURCE_EXHAUSTED, 0);
	sppipe_reply(p, reply);
}

static void
on_closed(void *arg, struct sppipe *p)
{
	struct rpcserver *srv = arg;
	bool found = false;

	pthread_mutex_lock(&srv->lock);
	for (size_t i = 0; i < srv->wait_len && !found; i++) {
		size_t at = (srv->wait_head + i) % srv->wait_cap;
		if (srv->waiting[at] == p) {
			/* Close the gap, keeping the order. */
			for (size_t j = i; j + 1 < srv->wait_len; j++) {
				srv->waiting[(srv->wait_head + j) %
				             srv->wait_cap] =
				    srv->waiting[(srv->wait_head + j + 1) %
				                 srv->wait_cap];
			}
			srv->wait_len--;
			found = true;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	if (found) {
		sppipe_release(p);
	}
}

static const struct listener_ops rep_ops = {
	.take = on_take,
	.serve = on_serve,
	.oversize = on_oversize,
	.closed = on_closed,
};

/* ---- start and stop ---- */

int
rpcserver_start(const struct rpcserver_options *opts, struct rpcserver **out,
                char *why, size_t why_len)
{
	struct rpcserver *srv = calloc(1, sizeof(*srv));
	struct listener_options lo = { 0 };
	int rv;

	if (srv == NULL) {
		return HBMON_ENOMEM;
	}
	assert(opts->workers > 0 && opts->limits != NULL);
	srv->opts = *opts;
	atomic_init(&srv->draining, false);
	atomic_init(&srv->busy, 0);
	pthread_mutex_init(&srv->lock, NULL);
	srv->n_workers = opts->workers;
	/* Room for every connection; grows if closing ones linger. */
	srv->wait_cap = (size_t) opts->limits->max_connections + 64;
	srv->workers = calloc(opts->workers, sizeof(*srv->workers));
	srv->waiting = calloc(srv->wait_cap, sizeof(*srv->waiting));
	if (srv->workers == NULL || srv->waiting == NULL) {
		rv = HBMON_ENOMEM;
		goto fail;
	}
	for (uint32_t i = opts->workers; i-- > 0;) {
		struct worker *w = &srv->workers[i];
		w->srv = srv;
		arena_init(&w->arena, 0);
		if (opts->scratch_size > 0 &&
		    (w->scratch = calloc(1, opts->scratch_size)) == NULL) {
			rv = HBMON_ENOMEM;
			goto fail;
		}
		w->next_free = srv->free_workers;
		srv->free_workers = w;
	}
	lo.limits = *opts->limits;
	lo.limits.recv_max = opts->recv_max;
	/* One connection may use every worker, as with nng's REP. */
	lo.limits.max_outstanding = opts->workers;
	lo.name = opts->name != NULL ? opts->name : "rpc";
	srv->metrics_id = metrics_rpc_listener(lo.name);
	lo.url = opts->url;
	lo.ipc_permissions = opts->ipc_permissions;
	lo.tls = opts->tls;
	lo.verify = opts->verify;
	lo.role = LISTENER_REP;
	lo.ops = &rep_ops;
	lo.arg = srv;
	if ((rv = listener_start(&lo, &srv->listener, why, why_len)) !=
	    HBMON_OK) {
		goto fail_quiet;
	}
	*out = srv;
	return HBMON_OK;

fail:
	snprintf(why, why_len, "cannot start the server for %s: %s", opts->url,
	         hbmon_strerror(rv));
fail_quiet:
	rpcserver_close(srv);
	return rv;
}

size_t
rpcserver_drain(struct rpcserver *srv, int64_t timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	size_t busy;

	/* The listener stays open: a request that arrives now is told to
	 * come back (UNAVAILABLE), which says more than a refused
	 * connection. */
	atomic_store(&srv->draining, true);
	while ((busy = atomic_load(&srv->busy)) > 0 &&
	       clock_mono_ms() < until) {
		nanosleep(&pause, NULL);
	}
	/* Answered is not yet delivered: let the replies go out. */
	while (busy == 0 && listener_sending(srv->listener) > 0 &&
	       clock_mono_ms() < until) {
		nanosleep(&pause, NULL);
	}
	return busy;
}

void
rpcserver_close(struct rpcserver *srv)
{
	if (srv == NULL) {
		return;
	}
	atomic_store(&srv->draining, true);
	/* Whoever submits requests closed before (main.c closes the HTTP
	 * listener first): none waits that could never be answered. */
	assert(srv->local_head == NULL);
	/* Closing the listener ends every connection; requests still in
	 * a worker finish with their replies dropped, and connections
	 * waiting for a worker are let go (on_closed). */
	if (!listener_close(srv->listener)) {
		/* Something still holds a connection (a handler that never
		 * finished): its worker may still run, so nothing is
		 * freed. */
		return;
	}
	for (uint32_t i = 0; srv->workers != NULL && i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];
		assert(w->pipe == NULL);
		request_release(w);
		if (srv->opts.scratch_fini != NULL && w->scratch != NULL) {
			srv->opts.scratch_fini(w->scratch);
		}
		free(w->scratch);
		arena_fini(&w->arena);
	}
	free(srv->workers);
	free(srv->waiting);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
