/*
 * An SP REP server for one generated protobuf-c service: a listener of the
 * server's own (listener.h: its accept loop, limits and SP framing, and
 * why nng's REP socket is not used) and a pool of workers, each an
 * explicit state machine (WAIT -> WORK -> REPLY) as in nng's async demo,
 * so many peers are served at once without a thread per request. The
 * robots' Monitor service and the owner's Admin service both run on it;
 * they differ in who may call (the admit hook) and what their handlers do.
 *
 * A request is decoded (undecodable bytes still get INVALID_ARGUMENT),
 * admitted, then dispatched through the service descriptor; the handler
 * finishes with the closure protobuf-c gives it, now or later from another
 * thread, and the reply goes back on the connection that asked, behind
 * the request's backtrace. A request longer than recv_max is read to its
 * end and thrown away, never held, and then answered RESOURCE_EXHAUSTED.
 * When every worker is busy, a connection's next request waits, and that
 * connection reads nothing more until a worker is free.
 */
#ifndef HBMON_SERVER_RPCSERVER_H
#define HBMON_SERVER_RPCSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/arena.h"
#include "common/dispatch.h"
#include "common/tlsconf.h"
#include "hbmon/v1/rpc.pb-c.h"
#include "server/listener.h"

/* What an admit hook decides. */
enum rpcserver_admit {
	RPCSERVER_NEW,    /* dispatch it */
	RPCSERVER_REPLAY, /* answer with the given reply bytes, dispatch nothing
	                   */
	RPCSERVER_REJECT, /* answer with the given code and sentence */
};

struct rpcserver_options {
	const char *name;    /* the listener's name in log lines */
	const char *url;     /* tcp://, ipc://, tls+tcp:// */
	size_t recv_max;     /* largest request accepted */
	uint32_t workers;    /* requests in progress at once */
	int ipc_permissions; /* for ipc:// URLs, e.g. 0600; 0: leave as is */
	/* The listener's limits (recv_max and max_outstanding come from
	 * the fields here). Required. */
	const struct listener_limits *limits;
	nng_tls_config *tls;        /* for tls+tcp:// (held) */
	enum tlsconf_verify verify; /* what it asks of clients */
	ProtobufCService *service;
	/*
	 * Decides whether a request is served. now_ms: wall clock. For a
	 * request from rpcserver_submit, req shows the method and payload
	 * in the form they were signed in (struct rpcserver_local).
	 * principal: whatever the handler should know about the caller.
	 * reply: on REPLAY, malloc'd bytes to send (freed by the server), or
	 * NULL for an OK with no payload. code, why: on REJECT.
	 */
	enum rpcserver_admit (*admit)(void *arg,
	                              const Hbmon__V1__RpcRequest *req,
	                              int64_t now_ms, void **principal,
	                              uint8_t **reply, size_t *reply_len,
	                              int *code, char *why, size_t why_len);
	/*
	 * Called with every reply to an admitted request before it is sent
	 * (may be NULL). final: false for a transient failure (UNAVAILABLE)
	 * the caller may retry.
	 */
	void (*settle)(void *arg, void *principal,
	               const Hbmon__V1__RpcRequest *req, bool final,
	               const uint8_t *reply, size_t reply_len);
	void *arg;
	/* Per-worker memory for the handlers: zeroed once; release (after
	 * each reply) must leave it ready for the next request, and
	 * scratch_fini (at close, workers stopped) frees what lives across
	 * requests. Either may be NULL. */
	size_t scratch_size;
	void (*release)(void *scratch);
	void (*scratch_fini)(void *scratch);
};

struct rpcserver;

/*
 * Listens on opts->url and starts the workers. why: a sentence naming the
 * URL on failure. Returns HBMON_OK, HBMON_EINVAL (bad URL, or tls+tcp://
 * without opts->tls), HBMON_EBUSY (address in use), HBMON_ENOMEM or
 * HBMON_EIO.
 */
int rpcserver_start(const struct rpcserver_options *opts,
                    struct rpcserver **out, char *why, size_t why_len);

/*
 * For handlers: the caller admitted for this call, and this worker's
 * scratch memory.
 */
void *rpcserver_principal(const struct rpc_call *call);
void *rpcserver_scratch(const struct rpc_call *call);

/*
 * For handlers: memory for this request (its reply parts, strings) that
 * is released, all at once, when the reply has been packed.
 */
struct arena *rpcserver_arena(const struct rpc_call *call);

/*
 * For handlers and hooks: who sent the call, for log lines ("192.0.2.7",
 * "ipc"). Valid while the call is in progress.
 */
const char *rpcserver_peer(const struct rpc_call *call);

/*
 * The same with what tells one peer of that host from another: the port
 * over tcp ("192.0.2.7:40312"), the user and process over ipc
 * ("uid:1000 pid:4242", or "ipc" when the kernel does not say). Valid
 * while the call is in progress.
 */
const char *rpcserver_peer_detail(const struct rpc_call *call);

/*
 * A request that reached the server another way than its SP listener
 * (the HTTP door, http_ingest.h): served by the same workers, admit and
 * settle hooks and handlers as one from a connection, and answered to a
 * callback instead of a connection. The caller fills it and keeps it,
 * and everything it points to, until reply has been called.
 */
struct rpcserver_local {
	/* What is dispatched: method, payload (the packed input), robot_id,
	 * seq, sent_at_ms, signature. */
	const Hbmon__V1__RpcRequest *request;
	/* The method and payload as the signature covers them, shown to
	 * the admit hook in their place (NULL: the request's own). */
	const char *signed_method;
	const uint8_t *signed_payload;
	size_t signed_len;
	const char *peer; /* who sent it, for log lines */
	/*
	 * The reply: a packed RpcResponse (len bytes, valid during the
	 * call), or NULL and 0 when there was no memory for one. Called
	 * exactly once, on any thread, possibly before rpcserver_submit
	 * returns.
	 */
	void (*reply)(void *arg, const uint8_t *response, size_t len);
	void *arg;
	struct rpcserver_local *next; /* the server's while it waits */
};

/*
 * Serves lr on a free worker now, or on the next one to come free (in
 * turn with connections waiting for one). Never blocks.
 */
void rpcserver_submit(struct rpcserver *srv, struct rpcserver_local *lr);

/* The URL listened on (with the port chosen for ":0"). */
const char *rpcserver_url(const struct rpcserver *srv);

/* The listener underneath (for its connection count and refusal log). */
struct listener *rpcserver_listener(struct rpcserver *srv);

/*
 * Stops taking new work: requests that still arrive are answered with
 * UNAVAILABLE so callers send them again later. Then waits up to
 * timeout_ms for admitted requests to be answered and their replies
 * written out. Returns the number still in progress (0 when fully
 * drained).
 */
size_t rpcserver_drain(struct rpcserver *srv, int64_t timeout_ms);

/*
 * Closes the listener and every connection, waits for the workers, frees
 * everything. NULL is fine.
 */
void rpcserver_close(struct rpcserver *srv);

#endif
