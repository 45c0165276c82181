/*
 * The HTTP listener: accept loop, connections, limits, handler table;
 * see http.h for what and why.
 *
 * A connection is one state machine driven by its two aios (rx, tx) and
 * by its handler: HEAD (reading a request head) -> BODY (reading its
 * body) or DISCARD (reading a body over the limit away, to answer 413
 * rather than reset the peer) -> HANDLER (the handler holds the request)
 * -> SEND (writing the reply) -> HEAD again, or closed. At most one of
 * these is in progress at any time; `busy` counts them (a posted aio, a
 * handler holding the request), and a closed connection is freed by
 * whichever of them ends last.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "server/httpmsg.h"
#include "server/metrics.h"
#include "server/refusal.h"

#define HANDLERS_MAX     16
#define BODY_STEP        (64 * 1024)
#define EXTRA_MAX        512 /* bytes of handler-added reply headers */
#define CLOSE_WAIT_MS    5000
#define ACCEPT_RETRY_MAX 1000 /* ms: longest accept pause after errors */
/* A body over body_max is read away (so that the 413 reaches the peer)
 * only up to this many times body_max; a bigger one closes at once. */
#define DISCARD_FACTOR 16

enum conn_state {
	C_HEAD,
	C_BODY,
	C_DISCARD,
	C_HANDLER,
	C_SEND,
};

struct route {
	char method[8];
	char path[64];
	bool prefix;
	http_handler_fn fn;
	void *arg;
	int metrics_id; /* metrics_http_route(path) */
};

struct http_request {
	struct http_conn *conn;
	struct httpmsg msg; /* spans into conn->buf, NUL-terminated there */
	char *path;         /* in conn->buf */
	char *query;        /* in conn->buf, or "" */
	uint8_t *body;      /* malloc'd; charged to the budget */
	size_t body_len, body_cap;
	char extra[EXTRA_MAX]; /* reply header lines */
	size_t extra_len;
	bool head_only;        /* HEAD: the reply's body is left out */
	int64_t dispatched_ns; /* monotonic: handed to its handler */
	int metrics_id;        /* its route's (metrics_http), or -1 */
};

struct http_conn {
	struct http_server *srv;
	struct http_conn *next, *prev; /* srv->conns; srv->lock */
	pthread_mutex_t lock;          /* what follows */
	nng_stream *stream;
	nng_aio *rx, *tx;
	char peer[64]; /* address without port */
	uint8_t addr[16];
	uint8_t addr_len;
	bool loopback;
	enum conn_state state;
	int64_t deadline; /* monotonic ms: the current read or write */
	bool answered;    /* a request of it was answered */
	bool closed;      /* no more I/O; freed when busy drops to 0 */
	bool close_after; /* close once the reply is written */
	int busy;         /* aios posted + handler holding */
	char *buf;        /* the head being read: header_max bytes */
	size_t len;       /* bytes in buf */
	size_t consumed;  /* of buf, by the request in progress */
	uint64_t discard_left;
	size_t charged; /* of srv->budget_used */
	struct http_request req;
	uint8_t *out; /* the reply being written */
	size_t out_len, out_sent;
};

struct http_server {
	struct http_limits lim;
	nng_tls_config *tls;
	char url[512];       /* as configured */
	char nng_url[512];   /* tcp:// or tls+tcp:// */
	char bound_url[512]; /* with the port chosen */
	struct route routes[HANDLERS_MAX];
	size_t n_routes;
	int unrouted_metrics_id; /* 404s and 405s */
	nng_stream_listener *sl;
	nng_aio *accept_aio, *retry_aio;
	int accept_errors;
	struct refusal_log refusals;

	pthread_mutex_t lock; /* what follows */
	pthread_cond_t cv;    /* conns changes, handlers finish */
	struct http_conn *conns;
	size_t n_conns;
	size_t budget_used;
	size_t handling; /* requests with a handler or being answered */
	bool started, draining, closing;
};

static void rx_cb(void *arg);
static void tx_cb(void *arg);
static void process(struct http_conn *c);

/* ---- small things ---- */

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return status < 500 ? "Error" : "Internal Server Error";
	}
}

/* The gRPC code a refusal of the HTTP layer itself carries. */
static int
code_of_status(int status)
{
	switch (status) {
	case 404:
		return RPC_NOT_FOUND;
	case 405:
	case 501:
	case 505:
		return RPC_UNIMPLEMENTED;
	case 408:
		return RPC_DEADLINE_EXCEEDED;
	case 413:
	case 431:
		return RPC_RESOURCE_EXHAUSTED;
	case 503:
		return RPC_UNAVAILABLE;
	default:
		return RPC_INVALID_ARGUMENT;
	}
}

static int64_t
remaining(int64_t deadline)
{
	int64_t left = deadline - clock_mono_ms();

	return left > 0 ? left : 1;
}

/* ---- connections: lifetime ---- */

/* Frees c, which is closed and unused. */
static void
conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;

	pthread_mutex_lock(&s->lock);
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		s->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	s->n_conns--;
	assert(s->budget_used >= c->charged);
	s->budget_used -= c->charged;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	/* From a callback of one of them: the reaper frees them once the
	 * callback has returned. */
	nng_aio_reap(c->rx);
	nng_aio_reap(c->tx);
	nng_stream_free(c->stream);
	free(c->req.body);
	free(c->out);
	free(c->buf);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Drops one of c's busy counts; the last one of a closed c frees it. */
static void
conn_unref(struct http_conn *c)
{
	bool gone;

	pthread_mutex_lock(&c->lock);
	assert(c->busy > 0);
	gone = --c->busy == 0 && c->closed;
	pthread_mutex_unlock(&c->lock);
	if (gone) {
		conn_free(c);
	}
}

/*
 * Closes c: what is posted ends with an error, and nothing more is
 * posted. nng 1.5.2's ipc and tcp streams never complete an operation
 * posted after nng_stream_close, so every post checks `closed` under
 * c->lock (post()), which is set here before the stream closes. The
 * caller holds a busy count of its own.
 */
static void
conn_close(struct http_conn *c, const char *reason)
{
	pthread_mutex_lock(&c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->closed = true;
	pthread_mutex_unlock(&c->lock);
	log_debug("http connection closed", "peer=%s reason=%s", c->peer,
	          reason);
	nng_stream_close(c->stream);
}

/*
 * Posts a receive (rx) or send on c with iov and the current deadline,
 * unless c is closed. Returns false when it is (nothing posted).
 */
static bool
post(struct http_conn *c, bool rx, void *buf, size_t len)
{
	nng_aio *aio = rx ? c->rx : c->tx;
	nng_iov iov = { buf, len };

	pthread_mutex_lock(&c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	c->busy++;
	nng_aio_set_iov(aio, 1, &iov);
	nng_aio_set_timeout(aio, (nng_duration) remaining(c->deadline));
	/* Under the lock, so that conn_close cannot come between the check
	 * and the post; nng runs the callback on another thread. */
	if (rx) {
		nng_stream_recv(c->stream, aio);
	} else {
		nng_stream_send(c->stream, aio);
	}
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* The request in progress is over: what it holds goes, and a handler's
 * request no longer counts as in progress. */
static void request_release(struct http_conn *c);

static void
request_done(struct http_conn *c)
{
	struct http_server *s = c->srv;
	bool was_request = c->req.conn != NULL;

	request_release(c);
	if (was_request) {
		pthread_mutex_lock(&s->lock);
		assert(s->handling > 0);
		s->handling--;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->lock);
	}
}

/* Gives back what the request in progress holds. */
static void
request_release(struct http_conn *c)
{
	struct http_server *s = c->srv;

	free(c->req.body);
	pthread_mutex_lock(&s->lock);
	assert(s->budget_used >= c->charged);
	s->budget_used -= c->charged;
	c->charged = 0;
	pthread_mutex_unlock(&s->lock);
	memset(&c->req, 0, sizeof(c->req));
}

/* ---- reading ---- */

/* Posts a read into buf (C_HEAD) or the body (C_BODY, C_DISCARD). */
static void
read_more(struct http_conn *c)
{
	if (c->state == C_HEAD) {
		assert(c->len < c->srv->lim.header_max);
		post(c, true, c->buf + c->len, c->srv->lim.header_max - c->len);
	} else if (c->state == C_BODY) {
		assert(c->req.body_len < c->req.body_cap);
		post(c, true, c->req.body + c->req.body_len,
		     c->req.body_cap - c->req.body_len);
	} else {
		/* Read away into the head buffer, which is free now. */
		assert(c->discard_left > 0);
		post(c, true, c->buf,
		     c->discard_left < c->srv->lim.header_max
		         ? (size_t) c->discard_left
		         : c->srv->lim.header_max);
	}
}

/*
 * Grows the body buffer to what has arrived plus a step (at most the
 * stated length), within the budget. Returns false when the budget has
 * no room.
 */
static bool
body_grow(struct http_conn *c, size_t want_len)
{
	struct http_server *s = c->srv;
	size_t total = (size_t) c->req.msg.content_length;
	size_t cap =
	    want_len + BODY_STEP < total ? want_len + BODY_STEP : total;
	size_t delta = cap > c->req.body_cap ? cap - c->req.body_cap : 0;
	uint8_t *p;

	if (delta == 0) {
		return true;
	}
	pthread_mutex_lock(&s->lock);
	if (s->budget_used + delta > s->lim.body_budget) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	s->budget_used += delta;
	pthread_mutex_unlock(&s->lock);
	if ((p = realloc(c->req.body, cap)) == NULL) {
		pthread_mutex_lock(&s->lock);
		s->budget_used -= delta;
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	c->charged += delta;
	c->req.body = p;
	c->req.body_cap = cap;
	return true;
}

/* ---- replies ---- */

/*
 * Writes status, headers and body to c (the reply to its request, or a
 * refusal of the HTTP layer). close: the connection closes after it.
 */
static void
send_reply(struct http_conn *c, int status, const char *content_type,
           const void *body, size_t len, bool head_only, const char *extra,
           size_t extra_len, bool close)
{
	char head[1024];
	int n;

	n = snprintf(head, sizeof(head),
	             "HTTP/1.1 %d %s\r\n"
	             "Content-Type: %s\r\n"
	             "Content-Length: %zu\r\n"
	             "Cache-Control: no-store\r\n"
	             "X-Content-Type-Options: nosniff\r\n"
	             "%s\r\n",
	             status, reason_phrase(status), content_type, len,
	             close ? "Connection: close\r\n" : "");
	assert(n > 0 && (size_t) n < sizeof(head));
	if (head_only) {
		len = 0;
	}
	free(c->out);
	c->out_len = (size_t) n - 2 + extra_len + 2 + len;
	if ((c->out = malloc(c->out_len)) == NULL) {
		c->out_len = 0;
		request_done(c);
		conn_close(c, "out of memory");
		return;
	}
	/* The head without its blank line, the handler's lines, the blank
	 * line, the body. */
	memcpy(c->out, head, (size_t) n - 2);
	memcpy(c->out + n - 2, extra, extra_len);
	memcpy(c->out + n - 2 + extra_len, "\r\n", 2);
	if (len > 0) {
		memcpy(c->out + n + extra_len, body, len);
	}
	c->out_sent = 0;
	c->close_after = close;
	c->state = C_SEND;
	c->deadline = clock_mono_ms() + c->srv->lim.send_ms;
	if (!post(c, false, c->out, c->out_len)) {
		request_done(c); /* closed meanwhile: dropped */
	}
}

static char *
status_json(int code, const char *message)
{
	json_t *v = json_pack("{s:i,s:s}", "code", code, "message", message);
	char *text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;

	json_decref(v);
	return text;
}

/* Refuses what c sent (no handler involved) and closes after. */
static void
refuse(struct http_conn *c, int status, const char *message)
{
	char *body = status_json(code_of_status(status), message);
	static const char retry[] = "Retry-After: 1\r\n";

	send_reply(c, status, "application/json", body != NULL ? body : "{}",
	           body != NULL ? strlen(body) : 2, false,
	           status == 503 ? retry : "",
	           status == 503 ? sizeof(retry) - 1 : 0, true);
	free(body);
}

/* ---- requests ---- */

/* NUL-terminates the spans of the parsed head in c->buf. */
static void
terminate_spans(struct http_conn *c)
{
	struct httpmsg *m = &c->req.msg;
	char *q;

	/* Each span is followed by a byte of the head that is no longer
	 * needed: ' ', ':', a blank, CR or LF. */
	((char *) m->method.p)[m->method.len] = '\0';
	((char *) m->target.p)[m->target.len] = '\0';
	for (size_t i = 0; i < m->n_fields; i++) {
		((char *) m->fields[i].name.p)[m->fields[i].name.len] = '\0';
		((char *) m->fields[i].value.p)[m->fields[i].value.len] = '\0';
	}
	c->req.path = (char *) m->target.p;
	if ((q = strchr(c->req.path, '?')) != NULL) {
		*q = '\0';
		c->req.query = q + 1;
	} else {
		c->req.query = (char *) "";
	}
}

/* Finds the handler for the request; *status: 404 or 405 when none. */
static const struct route *
route_find(const struct http_server *s, const char *method, const char *path,
           int *status)
{
	bool path_known = false;

	*status = 404;
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct route *r = &s->routes[i];
		bool match = r->prefix
		                 ? strncmp(path, r->path, strlen(r->path)) == 0
		                 : strcmp(path, r->path) == 0;
		if (!match) {
			continue;
		}
		path_known = true;
		if (strcmp(method, r->method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		     strcmp(r->method, "GET") == 0)) {
			return r;
		}
	}
	if (path_known) {
		*status = 405;
	}
	return NULL;
}

/* The request's head and body are in: hand it to its handler. */
static void
dispatch(struct http_conn *c)
{
	struct http_server *s = c->srv;
	const struct route *r;
	int status;
	bool draining;

	c->state = C_HANDLER;
	pthread_mutex_lock(&s->lock);
	draining = s->draining;
	if (!draining) {
		s->handling++;
	}
	pthread_mutex_unlock(&s->lock);
	if (draining) {
		refuse(c, 503,
		       "hbmon-server is shutting down; send it again in a "
		       "moment");
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->busy++; /* the handler's, until http_respond */
	pthread_mutex_unlock(&c->lock);
	c->req.conn = c;
	c->req.head_only = strcmp(c->req.msg.method.p, "HEAD") == 0;
	c->req.dispatched_ns = clock_mono_ns();
	r = route_find(s, c->req.msg.method.p, c->req.path, &status);
	c->req.metrics_id = r != NULL ? r->metrics_id : s->unrouted_metrics_id;
	if (r == NULL) {
		http_respond_status(
		    &c->req, status, code_of_status(status),
		    status == 404 ? "no such path on this server"
		                  : "this path does not take that method");
		return;
	}
	r->fn(r->arg, &c->req);
}

/* A head has been parsed: decide about its body. */
static void
head_done(struct http_conn *c)
{
	const struct http_limits *lim = &c->srv->lim;
	struct httpmsg *m = &c->req.msg;
	size_t have = c->len - m->head_len;
	size_t take;

	c->consumed = m->head_len;
	c->close_after = !m->keep_alive;
	terminate_spans(c);
	if (!m->has_length || m->content_length == 0) {
		dispatch(c);
		return;
	}
	if (m->content_length > lim->body_max) {
		refusal_note(&c->srv->refusals, LOG_INFO, c->peer,
		             "body too large", "bytes=%llu http_body_max=%zu",
		             (unsigned long long) m->content_length,
		             lim->body_max);
		if (m->content_length - have >
		        (uint64_t) lim->body_max * DISCARD_FACTOR ||
		    httpmsg_field(m, "Expect") != NULL) {
			/* The peer waits (100-continue) or would take too
			 * long to read away: answered now. */
			c->len = 0;
			refuse(c, 413,
			       "the body is larger than this server accepts "
			       "(http_body_max); send fewer accounts per "
			       "request");
			return;
		}
		c->discard_left = m->content_length - have;
		c->len = 0;
		c->consumed = 0;
		if (c->discard_left == 0) {
			refuse(c, 413,
			       "the body is larger than this server accepts "
			       "(http_body_max); send fewer accounts per "
			       "request");
			return;
		}
		c->state = C_DISCARD;
		c->deadline = clock_mono_ms() + lim->body_ms;
		read_more(c);
		return;
	}
	take = have < m->content_length ? have : (size_t) m->content_length;
	if (!body_grow(c, take)) {
		refusal_note(&c->srv->refusals, LOG_WARN, c->peer,
		             "body budget", "bytes=%llu http_body_budget=%zu",
		             (unsigned long long) m->content_length,
		             lim->body_budget);
		c->len = 0;
		refuse(c, 503,
		       "the server is receiving too many bodies at once; "
		       "send it again in a moment");
		return;
	}
	memcpy(c->req.body, c->buf + m->head_len, take);
	c->req.body_len = take;
	c->consumed += take;
	if (take == m->content_length) {
		dispatch(c);
		return;
	}
	c->state = C_BODY;
	c->deadline = clock_mono_ms() + lim->body_ms;
	read_more(c);
}

/* Looks at what c->buf holds in state C_HEAD. */
static void
process(struct http_conn *c)
{
	int status = 0;
	const char *why = "";

	if (c->len == 0) {
		read_more(c);
		return;
	}
	switch (httpmsg_parse(c->buf, c->len, c->srv->lim.header_max,
	                      &c->req.msg, &status, &why)) {
	case HTTPMSG_PARTIAL:
		read_more(c);
		return;
	case HTTPMSG_BAD:
		refusal_note(&c->srv->refusals, LOG_INFO, c->peer,
		             "bad request", "status=%d why=%s", status, why);
		c->len = 0;
		refuse(c, status, why);
		return;
	case HTTPMSG_DONE:
		head_done(c);
		return;
	}
}

static void
rx_cb(void *arg)
{
	struct http_conn *c = arg;
	int rv = nng_aio_result(c->rx);
	size_t n = nng_aio_count(c->rx);
	const char *timeout_reason = NULL;

	if (rv == NNG_ETIMEDOUT) {
		switch (c->state) {
		case C_HEAD:
			timeout_reason = c->len > 0    ? "header deadline"
			                 : c->answered ? NULL
			                               : "header deadline";
			break;
		case C_BODY:
		case C_DISCARD:
			timeout_reason = "body deadline";
			break;
		default:
			break;
		}
		if (timeout_reason != NULL) {
			refusal_note(&c->srv->refusals, LOG_INFO, c->peer,
			             timeout_reason, "bytes=%zu", c->len);
		}
		conn_close(c, timeout_reason != NULL ? timeout_reason
		                                     : "idle timeout");
		conn_unref(c);
		return;
	}
	if (rv != 0 || n == 0) {
		conn_close(c, rv != 0 ? nng_strerror(rv) : "end of stream");
		conn_unref(c);
		return;
	}
	switch (c->state) {
	case C_HEAD:
		if (c->len == 0 && c->answered) {
			/* The first byte of a later request: its head has
			 * header_ms from now, no longer idle_ms. */
			c->deadline = clock_mono_ms() + c->srv->lim.header_ms;
		}
		c->len += n;
		process(c);
		break;
	case C_BODY:
		c->req.body_len += n;
		if (c->req.body_len == c->req.msg.content_length) {
			dispatch(c);
		} else if (c->req.body_len < c->req.body_cap ||
		           body_grow(c, c->req.body_len)) {
			read_more(c);
		} else {
			refusal_note(
			    &c->srv->refusals, LOG_WARN, c->peer, "body budget",
			    "bytes=%llu http_body_budget=%zu",
			    (unsigned long long) c->req.msg.content_length,
			    c->srv->lim.body_budget);
			refuse(c, 503,
			       "the server is receiving too many bodies at "
			       "once; send it again in a moment");
		}
		break;
	case C_DISCARD:
		c->discard_left -= n;
		if (c->discard_left > 0) {
			read_more(c);
		} else {
			refuse(c, 413,
			       "the body is larger than this server accepts "
			       "(http_body_max); send fewer accounts per "
			       "request");
		}
		break;
	default:
		assert(!"a read ended in a state that posts none");
	}
	conn_unref(c);
}

static void
tx_cb(void *arg)
{
	struct http_conn *c = arg;
	struct http_server *s = c->srv;
	int rv = nng_aio_result(c->tx);

	if (rv == 0) {
		c->out_sent += nng_aio_count(c->tx);
	}
	if (rv == 0 && c->out_sent < c->out_len) {
		if (post(c, false, c->out + c->out_sent,
		         c->out_len - c->out_sent)) {
			conn_unref(c); /* the new send holds its own count */
			return;
		}
		rv = NNG_ECLOSED;
	}
	request_done(c);
	free(c->out);
	c->out = NULL;
	if (rv != 0 || c->close_after) {
		if (rv == NNG_ETIMEDOUT) {
			refusal_note(&s->refusals, LOG_INFO, c->peer,
			             "send deadline", "bytes=%zu", c->out_len);
		}
		conn_close(c, rv != 0 ? "send failed" : "done");
		conn_unref(c);
		return;
	}
	c->answered = true;
	/* What came after the request (pipelined) is the next one's. */
	memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
	c->len -= c->consumed;
	c->consumed = 0;
	c->state = C_HEAD;
	c->deadline =
	    clock_mono_ms() + (c->len > 0 ? s->lim.header_ms : s->lim.idle_ms);
	process(c);
	conn_unref(c);
}

/* ---- handlers' API ---- */

const char *
http_method(const struct http_request *r)
{
	return r->msg.method.p;
}

const char *
http_path(const struct http_request *r)
{
	return r->path;
}

const char *
http_query(const struct http_request *r)
{
	return r->query;
}

const char *
http_header(const struct http_request *r, const char *name)
{
	const struct httpmsg_span *v = httpmsg_field(&r->msg, name);

	return v != NULL ? v->p : NULL;
}

const uint8_t *
http_body(const struct http_request *r, size_t *len)
{
	*len = r->body_len;
	return r->body != NULL ? r->body : (const uint8_t *) "";
}

const char *
http_peer(const struct http_request *r)
{
	return r->conn->peer;
}

bool
http_peer_is_loopback(const struct http_request *r)
{
	return r->conn->loopback;
}

int
http_reply_header(struct http_request *r, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);

	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL ||
	    n == 0) {
		return HBMON_EINVAL;
	}
	if (r->extra_len + n + v + 4 > sizeof(r->extra)) {
		return HBMON_ENOMEM;
	}
	r->extra_len += (size_t) snprintf(r->extra + r->extra_len,
	                                  sizeof(r->extra) - r->extra_len,
	                                  "%s: %s\r\n", name, value);
	return HBMON_OK;
}

void
http_respond(struct http_request *r, int status, const char *content_type,
             const void *body, size_t len)
{
	struct http_conn *c = r->conn;
	bool closed;

	pthread_mutex_lock(&c->lock);
	closed = c->closed;
	pthread_mutex_unlock(&c->lock);
	assert(c->state == C_HANDLER);
	metrics_http(r->metrics_id, status,
	             (clock_mono_ns() - r->dispatched_ns) / 1000);
	if (closed) {
		request_done(c);
		conn_unref(c);
		return;
	}
	send_reply(c, status, content_type, body, len, r->head_only, r->extra,
	           r->extra_len, c->close_after || status >= 500);
	conn_unref(c); /* the handler's count; the send holds its own */
}

void
http_respond_status(struct http_request *r, int status, int code,
                    const char *message)
{
	char *body = status_json(code, message);

	if (body == NULL) {
		static const char fallback[] =
		    "{\"code\":13,\"message\":\"out of memory\"}";
		http_respond(r, 500, "application/json", fallback,
		             sizeof(fallback) - 1);
		return;
	}
	http_respond(r, status, "application/json", body, strlen(body));
	free(body);
}

/* ---- accepting ---- */

static void
peer_of(struct http_conn *c)
{
	nng_sockaddr sa;

	strcpy(c->peer, "unknown");
	if (nng_stream_get_addr(c->stream, NNG_OPT_REMADDR, &sa) != 0) {
		return;
	}
	if (sa.s_family == NNG_AF_INET) {
		memcpy(c->addr, &sa.s_in.sa_addr, 4);
		c->addr_len = 4;
		inet_ntop(AF_INET, c->addr, c->peer, sizeof(c->peer));
		c->loopback = c->addr[0] == 127;
	} else if (sa.s_family == NNG_AF_INET6) {
		static const uint8_t v6_loopback[16] = { [15] = 1 };
		memcpy(c->addr, sa.s_in6.sa_addr, 16);
		c->addr_len = 16;
		inet_ntop(AF_INET6, c->addr, c->peer, sizeof(c->peer));
		c->loopback = memcmp(c->addr, v6_loopback, 16) == 0;
	}
}

/*
 * Decides about c under the limits. Returns the reason for a refusal or
 * NULL; *victim: an older connection to close to make room (with a busy
 * count held for the caller). s->lock held.
 */
static const char *
admit(struct http_server *s, struct http_conn *c, struct http_conn **victim)
{
	struct http_conn *oldest = NULL;
	uint32_t same = 0;

	*victim = NULL;
	for (struct http_conn *o = s->conns; o != NULL; o = o->next) {
		if (c->addr_len > 0 && o->addr_len == c->addr_len &&
		    memcmp(o->addr, c->addr, c->addr_len) == 0) {
			same++;
		}
		pthread_mutex_lock(&o->lock);
		if (!o->closed && !o->answered && o->state == C_HEAD) {
			oldest = o; /* the list is newest first */
		}
		pthread_mutex_unlock(&o->lock);
	}
	if (s->lim.max_per_peer > 0 && same >= s->lim.max_per_peer) {
		return "connections per peer";
	}
	if (s->n_conns >= s->lim.max_connections) {
		if (oldest == NULL) {
			return "connection cap";
		}
		pthread_mutex_lock(&oldest->lock);
		oldest->busy++;
		pthread_mutex_unlock(&oldest->lock);
		*victim = oldest;
	}
	c->next = s->conns;
	if (s->conns != NULL) {
		s->conns->prev = c;
	}
	s->conns = c;
	s->n_conns++;
	return NULL;
}

static struct http_conn *
conn_new(struct http_server *s, nng_stream *stream)
{
	struct http_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	c->srv = s;
	c->stream = stream;
	c->busy = 1; /* the accept's, until the first read is posted */
	pthread_mutex_init(&c->lock, NULL);
	if ((c->buf = malloc(s->lim.header_max)) == NULL ||
	    nng_aio_alloc(&c->rx, rx_cb, c) != 0 ||
	    nng_aio_alloc(&c->tx, tx_cb, c) != 0) {
		nng_aio_free(c->rx);
		free(c->buf);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	peer_of(c);
	return c;
}

static void
accept_next(struct http_server *s)
{
	nng_stream_listener_accept(s->sl, s->accept_aio);
}

static void
retry_cb(void *arg)
{
	struct http_server *s = arg;
	bool closing;

	pthread_mutex_lock(&s->lock);
	closing = s->closing;
	pthread_mutex_unlock(&s->lock);
	if (nng_aio_result(s->retry_aio) == 0 && !closing) {
		accept_next(s);
	}
}

static void
accept_cb(void *arg)
{
	struct http_server *s = arg;
	int rv = nng_aio_result(s->accept_aio);
	struct http_conn *c, *victim = NULL;
	const char *why;
	nng_stream *stream;

	pthread_mutex_lock(&s->lock);
	if (s->closing) {
		pthread_mutex_unlock(&s->lock);
		if (rv == 0) {
			stream = nng_aio_get_output(s->accept_aio, 0);
			nng_stream_free(stream);
		}
		return;
	}
	if (rv != 0) {
		/* Whatever the error, the loop goes on (as the SP
		 * listeners', listener.c); errors in a row pause it. */
		int64_t pause =
		    10LL << (s->accept_errors < 7 ? s->accept_errors : 7);
		s->accept_errors++;
		pthread_mutex_unlock(&s->lock);
		refusal_note(&s->refusals, LOG_WARN, "-", "accept failed",
		             "error=%s", nng_strerror(rv));
		nng_sleep_aio(pause < ACCEPT_RETRY_MAX ? (nng_duration) pause
		                                       : ACCEPT_RETRY_MAX,
		              s->retry_aio);
		return;
	}
	s->accept_errors = 0;
	pthread_mutex_unlock(&s->lock);
	stream = nng_aio_get_output(s->accept_aio, 0);
	if ((c = conn_new(s, stream)) == NULL) {
		accept_next(s);
		refusal_note(&s->refusals, LOG_WARN, "-", "out of memory",
		             NULL);
		nng_stream_free(stream);
		return;
	}
	pthread_mutex_lock(&s->lock);
	why = admit(s, c, &victim);
	pthread_mutex_unlock(&s->lock);
	/* Only now: connections are listed in the order they came, which
	 * is how the oldest is found to make room. */
	accept_next(s);
	if (victim != NULL) {
		refusal_note(&s->refusals, LOG_WARN, victim->peer,
		             "closed to make room", "http_max_connections=%u",
		             (unsigned) s->lim.max_connections);
		conn_close(victim, "closed to make room");
		conn_unref(victim);
	}
	if (why != NULL) {
		refusal_note(&s->refusals, LOG_WARN, c->peer, why,
		             "http_max_connections=%u "
		             "max_connections_per_peer=%u",
		             (unsigned) s->lim.max_connections,
		             (unsigned) s->lim.max_per_peer);
		nng_aio_free(c->rx);
		nng_aio_free(c->tx);
		nng_stream_free(c->stream);
		free(c->buf);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return;
	}
	c->state = C_HEAD;
	c->deadline = clock_mono_ms() + s->lim.header_ms;
	read_more(c);
	conn_unref(c); /* the accept's count (conn_new) */
}

/* ---- the server ---- */

int
http_open(const struct http_options *o, struct http_server **out, char *why,
          size_t why_len)
{
	struct http_server *s;
	const char *rest;
	bool tls;

	if (strncmp(o->url, "http://", 7) == 0) {
		rest = o->url + 7;
		tls = false;
	} else if (strncmp(o->url, "https://", 8) == 0) {
		rest = o->url + 8;
		tls = true;
	} else {
		snprintf(why, why_len,
		         "http_listen '%s' is not an http:// or https:// URL "
		         "(e.g. http://127.0.0.1:7780)",
		         o->url);
		return HBMON_EINVAL;
	}
	if (tls && o->tls == NULL) {
		snprintf(
		    why, why_len,
		    "http_listen '%s' needs tls_cert_file and tls_key_file",
		    o->url);
		return HBMON_EINVAL;
	}
	if (strlen(o->url) >= sizeof(s->url) - 8 || strchr(rest, '/') != NULL) {
		snprintf(why, why_len,
		         "http_listen '%s' must be SCHEME://HOST:PORT with no "
		         "path",
		         o->url);
		return HBMON_EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return HBMON_ENOMEM;
	}
	s->lim = *o->limits;
	assert(s->lim.header_max > 0 && s->lim.max_connections > 0);
	snprintf(s->url, sizeof(s->url), "%s", o->url);
	snprintf(s->nng_url, sizeof(s->nng_url), "%s://%s",
	         tls ? "tls+tcp" : "tcp", rest);
	if (tls) {
		nng_tls_config_hold(o->tls);
		s->tls = o->tls;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	refusal_init(&s->refusals, "http", s->lim.refusal_log_ms);
	s->unrouted_metrics_id = metrics_http_route("unmatched");
	*out = s;
	return HBMON_OK;
}

int
http_handle(struct http_server *s, const char *method, const char *path,
            http_handler_fn fn, void *arg)
{
	struct route *r;

	if (s->started || path[0] != '/' || strlen(path) >= sizeof(r->path) ||
	    strlen(method) >= sizeof(r->method) || method[0] == '\0') {
		return HBMON_EINVAL;
	}
	if (s->n_routes == HANDLERS_MAX) {
		return HBMON_ENOMEM;
	}
	r = &s->routes[s->n_routes++];
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->prefix = path[strlen(path) - 1] == '/' && path[1] != '\0';
	r->fn = fn;
	r->arg = arg;
	r->metrics_id = metrics_http_route(r->path);
	return HBMON_OK;
}

int
http_start(struct http_server *s, char *why, size_t why_len)
{
	int rv, port = 0;
	const char *colon;

	if ((rv = nng_stream_listener_alloc(&s->sl, s->nng_url)) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", s->url,
		         nng_strerror(rv));
		return HBMON_EINVAL;
	}
	if (s->tls != NULL && (rv = nng_stream_listener_set_ptr(
	                           s->sl, NNG_OPT_TLS_CONFIG, s->tls)) != 0) {
		snprintf(why, why_len, "cannot use TLS on %s: %s", s->url,
		         nng_strerror(rv));
		return HBMON_EIO;
	}
	if ((rv = nng_aio_alloc(&s->accept_aio, accept_cb, s)) != 0 ||
	    (rv = nng_aio_alloc(&s->retry_aio, retry_cb, s)) != 0) {
		return HBMON_ENOMEM;
	}
	if ((rv = nng_stream_listener_listen(s->sl)) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", s->url,
		         nng_strerror(rv));
		return rv == NNG_EADDRINUSE ? HBMON_EBUSY : HBMON_EIO;
	}
	nng_stream_listener_get_int(s->sl, NNG_OPT_TCP_BOUND_PORT, &port);
	colon = strrchr(s->url, ':');
	snprintf(s->bound_url, sizeof(s->bound_url), "%.*s:%d",
	         (int) (colon - s->url), s->url, port);
	s->started = true;
	accept_next(s);
	return HBMON_OK;
}

const char *
http_url(const struct http_server *s)
{
	return s->bound_url;
}

size_t
http_connections(struct http_server *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_conns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Waits on s->cv until pred(s) or until (monotonic ms). s->lock held. */
static void
wait_until(struct http_server *s, bool (*pred)(struct http_server *),
           int64_t until)
{
	while (!pred(s) && clock_mono_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cv, &s->lock, &ts);
	}
}

static bool
none_handling(struct http_server *s)
{
	return s->handling == 0;
}

static bool
no_conns(struct http_server *s)
{
	return s->conns == NULL;
}

size_t
http_drain(struct http_server *s, int64_t timeout_ms)
{
	size_t left;

	if (s == NULL) {
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	s->draining = true;
	wait_until(s, none_handling, clock_mono_ms() + timeout_ms);
	left = s->handling;
	pthread_mutex_unlock(&s->lock);
	return left;
}

void
http_close(struct http_server *s)
{
	struct http_conn **all = NULL;
	size_t n = 0;

	if (s == NULL) {
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	s->draining = true;
	pthread_mutex_unlock(&s->lock);
	if (s->sl != NULL) {
		nng_stream_listener_close(s->sl);
	}
	/* The retry first: it posts accepts (and, closing, no more). */
	if (s->retry_aio != NULL) {
		nng_aio_stop(s->retry_aio);
	}
	if (s->accept_aio != NULL) {
		nng_aio_stop(s->accept_aio);
	}
	pthread_mutex_lock(&s->lock);
	if (s->n_conns > 0 &&
	    (all = calloc(s->n_conns, sizeof(*all))) != NULL) {
		for (struct http_conn *c = s->conns; c != NULL; c = c->next) {
			pthread_mutex_lock(&c->lock);
			c->busy++;
			pthread_mutex_unlock(&c->lock);
			all[n++] = c;
		}
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		conn_close(all[i], "server stopping");
		conn_unref(all[i]);
	}
	free(all);
	pthread_mutex_lock(&s->lock);
	wait_until(s, no_conns, clock_mono_ms() + CLOSE_WAIT_MS);
	if (s->conns != NULL) {
		/* A handler that never responded still holds a connection:
		 * whatever it may touch stays. */
		pthread_mutex_unlock(&s->lock);
		log_warn("http connections still in use at close; left "
		         "unfreed",
		         "connections=%zu", s->n_conns);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	nng_aio_free(s->accept_aio);
	nng_aio_free(s->retry_aio);
	nng_stream_listener_free(s->sl);
	if (s->tls != NULL) {
		nng_tls_config_free(s->tls);
	}
	refusal_fini(&s->refusals);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
