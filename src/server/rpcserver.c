/* REP worker pool: decode, admit, dispatch, reply. */
#include "server/rpcserver.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"

enum worker_state { W_RECV, W_SEND };

struct worker {
	struct rpcserver *srv;
	nng_aio *aio;
	nng_ctx ctx;
	enum worker_state state;

	/* The request in progress: */
	Hbmon__V1__RpcRequest *req;
	struct rpc_call call;
	void *principal; /* admitted: settle the reply */
	bool admitted;
	bool counted; /* counted in srv->busy until its reply is sent */
	void *scratch;
	/* The request, its decoded input and whatever its handler builds for
	 * the reply live here and go at once when the reply is sent. */
	struct arena arena;
	/* The reply handed to nng_ctx_send, until its callback says how the
	 * send went. A send refused because the aio was being stopped never
	 * calls back: close frees what is left here. */
	nng_msg *sending;
};

struct rpcserver {
	struct rpcserver_options opts;
	nng_socket sock;
	struct worker *workers;
	uint32_t n_workers;
	atomic_bool draining;
	/* Admitted requests not yet answered: what a drain waits for.
	 * Refusals are not counted; they need no waiting for. */
	atomic_size_t busy;
};

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

/* Sends msg as the reply and moves to SEND. */
static void
send_reply(struct worker *w, nng_msg *msg)
{
	request_release(w);
	w->state = W_SEND;
	w->sending = msg;
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
}

/* Packs an RpcResponse into a new nng message, or NULL without memory. */
static nng_msg *
pack_reply(int code, const char *message, const ProtobufCMessage *output)
{
	size_t size = env_response_size(code, message, output);
	nng_msg *msg;

	if (nng_msg_alloc(&msg, size) != 0) {
		return NULL;
	}
	env_response_pack_to(code, message, output, nng_msg_body(msg));
	return msg;
}

static void
reply_status(struct worker *w, int code, const char *message)
{
	nng_msg *msg = pack_reply(code, message, NULL);

	if (msg == NULL) {
		/* Nothing can be sent; the caller's REQ will resend. */
		request_release(w);
		uncount(w);
		w->state = W_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	send_reply(w, msg);
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
	nng_msg *msg;

	if (output == NULL && call->code == RPC_OK) {
		rpc_call_fail(call, RPC_INTERNAL, "handler gave no reply");
	}
	msg = pack_reply(call->code, call->message, output);
	if (w->admitted && o->settle != NULL) {
		/* A transient failure may be retried; any other answer is
		 * final and is what a resend gets. */
		bool final = call->code != RPC_UNAVAILABLE && msg != NULL;
		o->settle(o->arg, w->principal, w->req, final,
		          msg != NULL ? nng_msg_body(msg) : NULL,
		          msg != NULL ? nng_msg_len(msg) : 0);
	}
	if (msg == NULL) {
		reply_status(w, RPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	send_reply(w, msg);
}

static void
handle_request(struct worker *w, nng_msg *msg)
{
	struct rpcserver *srv = w->srv;
	const struct rpcserver_options *o = &srv->opts;
	char why[512];
	uint8_t *cached = NULL;
	size_t cached_len = 0;
	int code = RPC_OK;

	if (env_request_unpack_in(nng_msg_body(msg), nng_msg_len(msg),
	                          &w->arena.pb, &w->req, why,
	                          sizeof(why)) != HBMON_OK) {
		nng_msg_free(msg);
		w->req = NULL;
		reply_status(w, RPC_INVALID_ARGUMENT, why);
		return;
	}
	nng_msg_free(msg);
	rpc_call_init(&w->call, w->req, w);
	w->call.allocator = &w->arena.pb;
	if (atomic_load(&srv->draining)) {
		reply_status(w, RPC_UNAVAILABLE,
		             "hbmon-server is shutting down; send it again in "
		             "a moment");
		return;
	}
	switch (o->admit(o->arg, w->req, clock_wall_ms(), &w->principal,
	                 &cached, &cached_len, &code, why, sizeof(why))) {
	case RPCSERVER_REJECT:
		log_info("request refused", "robot=%s method=%s code=%s why=%s",
		         w->req->robot_id, w->req->method, rpc_code_name(code),
		         why);
		reply_status(w, code, why);
		return;
	case RPCSERVER_REPLAY:
		if (cached == NULL) {
			reply_status(w, RPC_OK,
			             "this request was already recorded");
			return;
		}
		if (nng_msg_alloc(&msg, cached_len) != 0) {
			free(cached);
			reply_status(w, RPC_RESOURCE_EXHAUSTED,
			             "out of memory");
			return;
		}
		memcpy(nng_msg_body(msg), cached, cached_len);
		free(cached);
		send_reply(w, msg);
		return;
	case RPCSERVER_NEW:
		w->admitted = true;
		w->counted = true;
		atomic_fetch_add(&srv->busy, 1);
		rpc_dispatch(o->service, &w->call, call_done);
		return;
	}
}

static void
worker_cb(void *arg)
{
	struct worker *w = arg;
	int rv = nng_aio_result(w->aio);

	switch (w->state) {
	case W_RECV:
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			return; /* shutting down */
		}
		if (rv != 0) {
			nng_ctx_recv(w->ctx, w->aio);
			return;
		}
		handle_request(w, nng_aio_get_msg(w->aio));
		return;
	case W_SEND:
		if (rv != 0) {
			/* The peer went away; the message is still ours. */
			nng_msg_free(w->sending);
		}
		w->sending = NULL;
		uncount(w);
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			return;
		}
		w->state = W_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
}

static int
map_nng(int rv)
{
	switch (rv) {
	case 0:
		return HBMON_OK;
	case NNG_ENOMEM:
		return HBMON_ENOMEM;
	case NNG_EADDRINUSE:
		return HBMON_EBUSY;
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
	case NNG_EINVAL:
		return HBMON_EINVAL;
	case NNG_EPERM:
		return HBMON_EPERM;
	default:
		return HBMON_EIO;
	}
}

int
rpcserver_start(const struct rpcserver_options *opts, struct rpcserver **out,
                char *why, size_t why_len)
{
	struct rpcserver *srv = calloc(1, sizeof(*srv));
	nng_listener listener;
	int rv;

	if (srv == NULL) {
		return HBMON_ENOMEM;
	}
	srv->opts = *opts;
	atomic_init(&srv->draining, false);
	atomic_init(&srv->busy, 0);
	if ((rv = nng_rep0_open(&srv->sock)) != 0) {
		snprintf(why, why_len, "cannot open a REP socket: %s",
		         nng_strerror(rv));
		free(srv);
		return map_nng(rv);
	}
	/* Before listening: nng's default is no limit at all. */
	nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, opts->recv_max);

	srv->n_workers = opts->workers;
	srv->workers = calloc(opts->workers, sizeof(*srv->workers));
	if (srv->workers == NULL) {
		rv = NNG_ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < opts->workers; i++) {
		struct worker *w = &srv->workers[i];
		w->srv = srv;
		arena_init(&w->arena, 0);
		if (opts->scratch_size > 0 &&
		    (w->scratch = calloc(1, opts->scratch_size)) == NULL) {
			rv = NNG_ENOMEM;
			goto fail;
		}
		if ((rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0 ||
		    (rv = nng_ctx_open(&w->ctx, srv->sock)) != 0) {
			goto fail;
		}
	}
	if ((rv = nng_listener_create(&listener, srv->sock, opts->url)) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", opts->url,
		         nng_strerror(rv));
		goto fail_quiet;
	}
	if (opts->ipc_permissions != 0 &&
	    strncmp(opts->url, "ipc://", 6) == 0) {
		nng_listener_set_int(listener, NNG_OPT_IPC_PERMISSIONS,
		                     opts->ipc_permissions);
	}
	if ((rv = nng_listener_start(listener, 0)) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", opts->url,
		         nng_strerror(rv));
		goto fail_quiet;
	}
	for (uint32_t i = 0; i < opts->workers; i++) {
		srv->workers[i].state = W_RECV;
		nng_ctx_recv(srv->workers[i].ctx, srv->workers[i].aio);
	}
	*out = srv;
	return HBMON_OK;

fail:
	snprintf(why, why_len, "cannot start the socket for %s: %s", opts->url,
	         nng_strerror(rv));
fail_quiet:
	rpcserver_close(srv);
	return map_nng(rv);
}

size_t
rpcserver_drain(struct rpcserver *srv, int64_t timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	size_t busy;

	/* The listener stays open until rpcserver_close: closing it on its
	 * own while peers reconnect can orphan a half-made pipe and hang
	 * nng_close forever (nng 1.5.2, nanomsg/nng#1498). New requests are
	 * answered UNAVAILABLE instead. */
	atomic_store(&srv->draining, true);
	while ((busy = atomic_load(&srv->busy)) > 0 &&
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
	/* Stop every worker first, so no callback issues new work while the
	 * socket goes down; closing with workers live can hang nng 1.5.2. */
	atomic_store(&srv->draining, true);
	for (uint32_t i = 0; srv->workers != NULL && i < srv->n_workers; i++) {
		if (srv->workers[i].aio != NULL) {
			nng_aio_stop(srv->workers[i].aio);
		}
	}
	nng_close(srv->sock);
	for (uint32_t i = 0; srv->workers != NULL && i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];
		if (w->aio != NULL) {
			nng_aio_free(w->aio);
		}
		if (w->sending != NULL) {
			nng_msg_free(w->sending);
			w->sending = NULL;
		}
		request_release(w);
		if (srv->opts.scratch_fini != NULL && w->scratch != NULL) {
			srv->opts.scratch_fini(w->scratch);
		}
		free(w->scratch);
		arena_fini(&w->arena);
	}
	free(srv->workers);
	free(srv);
}
