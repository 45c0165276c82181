/*
 * hbmon-server's HTTP listener (`http_listen`): HTTP/1.1 over nng's byte
 * streams (tcp, or TLS with the server's tls_* keys), with the same kind
 * of limits as the SP listeners (listener.h), and a small table of
 * handlers that other modules plug into (POST /v1/heartbeat, /healthz,
 * /metrics, the status page).
 *
 * Why not nng's own HTTP server (nng_http_server, linked already): in nng
 * 1.5.2 it has no connection cap and no deadline for a request's head or
 * body, so a client that dribbles a header (slow loris) holds a
 * connection and an fd for good, and enough of them lock every robot
 * out; it answers a body over the limit with 400, not 413; and it shares
 * one server per host:port across the process. The HTTP framing here is
 * small (httpmsg.h: the head, strictly; bodies of a stated
 * Content-Length only) and the accept loop goes on after any error, as
 * the SP listeners' does (nanomsg/nng#1518 does not apply to
 * nng_stream_listener itself, but one failed connection must never stop
 * the next). docs/architecture.md, "The HTTP listener".
 *
 * Limits (struct http_limits), per listener:
 *   - at most max_connections at once, at most max_per_peer from one
 *     address; when full, the oldest connection that has not yet had a
 *     request answered is closed to make room (a robot that keeps its
 *     connection is never pushed out by newcomers), else the newcomer is
 *     closed at once;
 *   - a request's head must arrive within header_ms (from the connection,
 *     or from the first byte of a later request on a kept connection)
 *     and be at most header_max bytes; its body within body_ms after the
 *     head, at most body_max bytes (413 otherwise); a kept connection
 *     with nothing to do is closed after idle_ms; a reply must be written
 *     within send_ms;
 *   - bodies being received, on every connection together, hold at most
 *     body_budget bytes (a buffer grows with what has arrived, 64 KiB
 *     at a time); a request that cannot get its room is answered 503.
 * Refusals go to the listener's rate-limited refusal log (refusal.h).
 *
 * Threads: nng's. A handler is called on an nng thread and ends its
 * request with exactly one http_respond, at once or later from any
 * thread; meanwhile the connection reads nothing (one request at a time
 * per connection, pipelined ones wait in the buffer).
 */
#ifndef HBMON_SERVER_HTTP_H
#define HBMON_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

struct http_limits {
	uint32_t max_connections; /* at once */
	uint32_t max_per_peer;    /* from one address; 0: no cap */
	size_t header_max;        /* bytes of a request head */
	size_t body_max;          /* bytes of a request body */
	size_t body_budget;       /* bytes of bodies being received, all */
	int64_t header_ms;        /* a request's head arrives within this */
	int64_t body_ms;          /* its body within this after the head */
	int64_t idle_ms;          /* kept connection with nothing to do */
	int64_t send_ms;          /* a reply is written within this */
	int64_t refusal_log_ms;   /* the refusal log's period */
};

struct http_options {
	const char *url; /* http://HOST:PORT or https://HOST:PORT */
	const struct http_limits *limits;
	/* For https:// (held by the server); what it asks of clients
	 * (tls_verify_peer) is set in it. */
	nng_tls_config *tls;
};

struct http_server;

/* One request in progress; valid from the handler call to http_respond. */
struct http_request;

/*
 * A handler: serve req and end it with http_respond (now or later).
 * Runs on an nng thread; must not block for long.
 */
typedef void (*http_handler_fn)(void *arg, struct http_request *req);

/*
 * Parses o->url (http:// or https://) and makes the server, without
 * listening yet, so that handlers can be added first. why: a sentence
 * naming the URL on failure. Returns HBMON_OK, HBMON_EINVAL (not an
 * http(s) URL, or https:// without o->tls) or HBMON_ENOMEM.
 */
int http_open(const struct http_options *o, struct http_server **out, char *why,
              size_t why_len);

/*
 * Adds a handler for method ("GET", "POST"; GET also serves HEAD) on
 * path: exactly path, or, when path ends in '/', every path under it
 * ("/v1/ping/" serves "/v1/ping/TOKEN"). Several methods may share a
 * path; a path with handlers but none for the method is answered 405.
 * Only before http_start. Returns HBMON_OK, HBMON_EINVAL (bad method or
 * path, or already started) or HBMON_ENOMEM (more than 16 handlers).
 */
int http_handle(struct http_server *s, const char *method, const char *path,
                http_handler_fn fn, void *arg);

/*
 * Starts listening and accepting. why: as http_open. Returns HBMON_OK,
 * HBMON_EBUSY (address in use), HBMON_EINVAL or HBMON_EIO.
 */
int http_start(struct http_server *s, char *why, size_t why_len);

/* The URL listened on, with the port chosen for ":0". */
const char *http_url(const struct http_server *s);

/* Connections open now. Thread-safe. */
size_t http_connections(struct http_server *s);

/*
 * Stops accepting new requests (those that arrive get 503 with
 * Retry-After) and waits up to timeout_ms for handlers still running to
 * respond and their replies to be written. Returns how many are still in
 * progress.
 */
size_t http_drain(struct http_server *s, int64_t timeout_ms);

/*
 * Closes every connection and frees everything. A handler that has not
 * responded within a few seconds is logged and its memory left alone.
 * NULL is fine.
 */
void http_close(struct http_server *s);

/* ---- for handlers ---- */

/* "GET", "POST", "HEAD" (NUL-terminated; valid until http_respond). */
const char *http_method(const struct http_request *r);

/* The path without the query, percent-escapes left as sent. */
const char *http_path(const struct http_request *r);

/* What follows '?' in the target, or "" (not decoded). */
const char *http_query(const struct http_request *r);

/*
 * The value of header field name (case-insensitive), NUL-terminated, or
 * NULL when absent. Valid until http_respond.
 */
const char *http_header(const struct http_request *r, const char *name);

/* The body and its length (0 bytes for none). */
const uint8_t *http_body(const struct http_request *r, size_t *len);

/* The peer's address without port, for log lines ("192.0.2.7"). */
const char *http_peer(const struct http_request *r);

/* Whether the peer connected from a loopback address. */
bool http_peer_is_loopback(const struct http_request *r);

/*
 * Adds a header to the reply ("Retry-After", "1"); name and value are
 * copied and must not hold CR or LF. Returns HBMON_OK, HBMON_EINVAL or
 * HBMON_ENOMEM. Only before http_respond.
 */
int http_reply_header(struct http_request *r, const char *name,
                      const char *value);

/*
 * Ends r with status (200, 404, ...), a Content-Type and len bytes of
 * body (copied; for HEAD only the length is sent). From any thread,
 * exactly once per request; r is not valid afterwards. When the
 * connection has closed meanwhile, the reply is dropped.
 */
void http_respond(struct http_request *r, int status, const char *content_type,
                  const void *body, size_t len);

/*
 * Ends r with a JSON body {"code": code, "message": message} (code: the
 * gRPC status number, message escaped as JSON). As http_respond.
 */
void http_respond_status(struct http_request *r, int status, int code,
                         const char *message);

#endif
