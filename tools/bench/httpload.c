/* Closed-loop load over HTTP/1.1 keep-alive; see httpload.h. */
#include "httpload.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/sign.h"
#include "hbmon/error.h"
#include "latency.h"
#include "util.h"

#define METHOD               "POST /v1/heartbeat"
#define ACCOUNT_JSON         160 /* bytes of one account heartbeat, at most */
#define HEAD_MAX             512
#define TIMESTAMP_OFFSET_MIN (7 * 60) /* the seed's example offset */

enum hphase { HPHASE_WARMUP, HPHASE_MEASURE, HPHASE_STOP };

struct hslot {
	const struct loadgen_robot *robot;
	struct sign_ctx signer;
	int fd;
	bool busy; /* a request is out */
	uint64_t seq;
	int64_t sent_ns;
	char *req; /* head and body */
	size_t req_cap, req_len, req_sent;
	char *resp;
	size_t resp_cap, resp_len;
	char *body; /* the JSON, rebuilt for each request */
	size_t body_cap;
	bool answered;
	struct loadgen_tally tally;
};

struct hload {
	const struct loadgen_options *opts;
	struct sockaddr_in addr;
	struct hslot *slots;
	enum hphase phase;
	char timestamp[RFC3339_MAX];
	int64_t timestamp_s;
	uint64_t errors;
	char first_error[512];
};

static void hfail(struct hload *h, struct hslot *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
hfail(struct hload *h, struct hslot *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (h->errors++ > 0) {
		return;
	}
	n = snprintf(h->first_error, sizeof(h->first_error),
	             "robot %s seq %llu: ", s->robot->id,
	             (unsigned long long) s->seq);
	if (n > 0 && (size_t) n < sizeof(h->first_error)) {
		va_start(ap, fmt);
		vsnprintf(h->first_error + n,
		          sizeof(h->first_error) - (size_t) n, fmt, ap);
		va_end(ap);
	}
}

static int
hconnect(struct hload *h, struct hslot *s)
{
	int one = 1;

	if (s->fd >= 0) {
		close(s->fd);
	}
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *) &h->addr,
	                         sizeof(h->addr)) != 0) {
		return HBMON_EUNAVAIL;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return HBMON_OK;
}

static bool
grow(char **buf, size_t *cap, size_t need)
{
	char *p;

	if (need <= *cap) {
		return true;
	}
	if ((p = realloc(*buf, need)) == NULL) {
		return false;
	}
	*buf = p;
	*cap = need;
	return true;
}

/* The next request: a fresh seq, sent_at and signature over a fresh body. */
static int
hbuild(struct hload *h, struct hslot *s)
{
	uint32_t n = h->opts->batch > 0 ? h->opts->batch : 1;
	int64_t now_ms = clock_wall_ms();
	struct sign_fields f;
	uint8_t sig[SIGN_LEN];
	char hex[2 * SIGN_LEN + 1];
	size_t len = 0;
	int head;

	if (now_ms / 1000 != h->timestamp_s) {
		h->timestamp_s = now_ms / 1000;
		rfc3339_format(h->timestamp_s * 1000, TIMESTAMP_OFFSET_MIN,
		               h->timestamp, sizeof(h->timestamp));
	}
	if (!grow(&s->body, &s->body_cap, 32 + (size_t) n * ACCOUNT_JSON)) {
		return HBMON_ENOMEM;
	}
	if (h->opts->batch > 0) {
		len += (size_t) sprintf(s->body, "{\"accounts\":[");
	}
	for (uint32_t i = 0; i < n; i++) {
		len += (size_t) sprintf(
		    s->body + len,
		    "%s{\"event\":\"ACCOUNT_HEARTBEAT\",\"account\":"
		    "\"ACC_%03u\",\"status\":\"active\",\"session_valid\":true,"
		    "\"open_orders\":2,\"timestamp\":\"%s\"}",
		    i > 0 ? "," : "", i + 1, h->timestamp);
	}
	if (h->opts->batch > 0) {
		len += (size_t) sprintf(s->body + len, "]}");
	}
	f.method = METHOD;
	f.robot_id = s->robot->id;
	f.seq = ++s->seq;
	f.sent_at_ms = now_ms;
	f.payload = (const uint8_t *) s->body;
	f.payload_len = len;
	if (sign_ctx_sign(&s->signer, &f, sig) != HBMON_OK) {
		return HBMON_EINTERNAL;
	}
	sign_hex(sig, SIGN_LEN, hex);
	if (!grow(&s->req, &s->req_cap, HEAD_MAX + len)) {
		return HBMON_ENOMEM;
	}
	head = snprintf(s->req, HEAD_MAX,
	                "POST /v1/heartbeat HTTP/1.1\r\nHost: bench\r\n"
	                "Content-Type: application/json\r\n"
	                "X-Hbmon-Robot: %s\r\nX-Hbmon-Seq: %llu\r\n"
	                "X-Hbmon-Sent-At: %lld\r\nX-Hbmon-Signature: %s\r\n"
	                "Content-Length: %zu\r\n\r\n",
	                s->robot->id, (unsigned long long) f.seq,
	                (long long) now_ms, hex, len);
	memcpy(s->req + head, s->body, len);
	s->req_len = (size_t) head + len;
	s->req_sent = 0;
	s->resp_len = 0;
	return HBMON_OK;
}

/* Whether every "code" in the reply's JSON is 0 (and there is one). */
static bool
reply_ok(struct hload *h, struct hslot *s, const char *body, size_t len)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	json_t *results = json_object_get(doc, "results");
	size_t want = h->opts->batch > 0 ? h->opts->batch : 1;
	bool ok = json_integer_value(json_object_get(doc, "code")) == 0 &&
	          json_is_integer(json_object_get(doc, "code")) &&
	          json_array_size(results) == want;

	for (size_t i = 0; ok && i < want; i++) {
		ok = json_integer_value(json_object_get(
		         json_array_get(results, i), "code")) == 0;
	}
	if (!ok) {
		hfail(h, s, "reply %.*s", (int) (len > 300 ? 300 : len), body);
	}
	json_decref(doc);
	return ok;
}

/*
 * A whole reply in s->resp: 1 and *ok set, 0 not yet, -1 not HTTP.
 */
static int
reply_done(struct hload *h, struct hslot *s, bool *ok)
{
	char *end, *cl;
	size_t head, clen;

	if (!grow(&s->resp, &s->resp_cap, s->resp_len + 1)) {
		return -1;
	}
	s->resp[s->resp_len] = '\0';
	if ((end = strstr(s->resp, "\r\n\r\n")) == NULL) {
		return 0;
	}
	head = (size_t) (end - s->resp) + 4;
	for (cl = s->resp; (cl = strchr(cl, '\n')) != NULL &&
	                   strncasecmp(cl + 1, "Content-Length:", 15) != 0;
	     cl++) {
	}
	if (strncmp(s->resp, "HTTP/1.1 ", 9) != 0 || cl == NULL || cl > end) {
		return -1;
	}
	clen = strtoul(cl + 1 + 15, NULL, 10);
	if (s->resp_len < head + clen) {
		return 0;
	}
	*ok = atoi(s->resp + 9) == 200 && reply_ok(h, s, s->resp + head, clen);
	if (atoi(s->resp + 9) != 200) {
		hfail(h, s, "HTTP %d: %.*s", atoi(s->resp + 9),
		      (int) (clen > 300 ? 300 : clen), s->resp + head);
	}
	return 1;
}

/* Sends the slot's next request, unless the run is over. */
static void
hnext(struct hload *h, struct hslot *s)
{
	int rv;

	s->busy = false;
	if (h->phase == HPHASE_STOP) {
		return;
	}
	if ((rv = hbuild(h, s)) != HBMON_OK) {
		hfail(h, s, "cannot build a request: %s", hbmon_strerror(rv));
		return;
	}
	s->busy = true;
	s->sent_ns = clock_mono_ns();
}

/* A failed exchange: counted, and the slot starts over on a new
 * connection. */
static void
hbroken(struct hload *h, struct hslot *s, const char *what)
{
	if (h->phase != HPHASE_STOP) {
		hfail(h, s, "%s", what);
	}
	s->answered = true;
	if (hconnect(h, s) != HBMON_OK) {
		hfail(h, s, "cannot connect again: %s", strerror(errno));
		s->busy = false;
		return;
	}
	hnext(h, s);
}

/* Moves slot s on by what poll said. */
static void
hstep(struct hload *h, struct hslot *s, short revents)
{
	ssize_t n;
	bool ok = false;
	int done;

	if (s->req_sent < s->req_len) {
		n = send(s->fd, s->req + s->req_sent, s->req_len - s->req_sent,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			hbroken(h, s, "send failed");
			return;
		}
		s->req_sent += n > 0 ? (size_t) n : 0;
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR))) {
		return;
	}
	if (!grow(&s->resp, &s->resp_cap, s->resp_len + 65536)) {
		hbroken(h, s, "out of memory");
		return;
	}
	n = recv(s->fd, s->resp + s->resp_len, 65535, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			return;
		}
		hbroken(h, s, "the server closed the connection");
		return;
	}
	s->resp_len += (size_t) n;
	if ((done = reply_done(h, s, &ok)) == 0) {
		return;
	}
	if (done < 0) {
		hbroken(h, s,
		        "the reply is not HTTP/1.1 with a Content-Length");
		return;
	}
	if (ok) {
		s->tally.acked += h->opts->batch > 0 ? h->opts->batch : 1;
		if (h->phase == HPHASE_MEASURE) {
			s->tally.measured++;
			latency_record(
			    &s->tally.latency,
			    (uint64_t) (clock_mono_ns() - s->sent_ns));
		}
	}
	s->answered = true;
	hnext(h, s);
}

/* One poll round over the busy slots, at most 10 ms. Returns how many
 * are busy. */
static uint32_t
hround(struct hload *h, struct pollfd *pfd)
{
	uint32_t n = h->opts->inflight, busy = 0;
	int64_t now = clock_mono_ns();

	for (uint32_t i = 0; i < n; i++) {
		struct hslot *s = &h->slots[i];
		pfd[i].fd = s->busy ? s->fd : -1;
		pfd[i].events =
		    s->req_sent < s->req_len ? POLLOUT | POLLIN : POLLIN;
		pfd[i].revents = 0;
		if (s->busy &&
		    now - s->sent_ns > h->opts->reply_timeout_ms * 1000000) {
			hbroken(h, s, "no reply in time");
		}
		busy += s->busy;
	}
	if (poll(pfd, n, 10) > 0) {
		for (uint32_t i = 0; i < n; i++) {
			if (pfd[i].revents != 0) {
				hstep(h, &h->slots[i], pfd[i].revents);
			}
		}
	}
	return busy;
}

static bool
all_answered(const struct hload *h)
{
	for (uint32_t i = 0; i < h->opts->inflight; i++) {
		if (!h->slots[i].answered) {
			return false;
		}
	}
	return true;
}

static const struct loadgen_tally *
hslot_tally(const void *arg, uint32_t i)
{
	return &((const struct hload *) arg)->slots[i].tally;
}

int
httpload_run(const struct loadgen_options *opts, struct loadgen_result *out,
             char *why, size_t why_len)
{
	struct hload h = { .opts = opts, .timestamp_s = -1 };
	uint32_t n = opts->inflight;
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	int64_t start, measure = 0, stop = 0, until;
	int64_t self0 = 0, server0 = 0, self1, server1;
	clockid_t server_clock;
	bool has_server =
	    opts->server_pid > 0 &&
	    clock_getcpuclockid(opts->server_pid, &server_clock) == 0;
	int port = 0, rv = HBMON_OK;

	h.addr.sin_family = AF_INET;
	if (sscanf(opts->url, "http://127.0.0.1:%d", &port) != 1 || port <= 0 ||
	    port > 65535) {
		snprintf(why, why_len, "%s is not http://127.0.0.1:PORT",
		         opts->url);
		free(pfd);
		return HBMON_EINVAL;
	}
	h.addr.sin_port = htons((uint16_t) port);
	h.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h.slots = calloc(n, sizeof(*h.slots));
	if (pfd == NULL || h.slots == NULL) {
		snprintf(why, why_len, "out of memory for %u slots", n);
		rv = HBMON_ENOMEM;
		goto done;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct hslot *s = &h.slots[i];
		s->fd = -1;
		s->robot = &opts->robots[i];
		latency_reset(&s->tally.latency);
		if (sign_ctx_init(&s->signer, s->robot->secret,
		                  strlen(s->robot->secret)) != HBMON_OK) {
			snprintf(why, why_len, "out of memory for a signer");
			rv = HBMON_ENOMEM;
			goto done;
		}
		if (hconnect(&h, s) != HBMON_OK) {
			snprintf(why, why_len, "cannot connect to %s: %s",
			         opts->url, strerror(errno));
			rv = HBMON_EUNAVAIL;
			goto done;
		}
	}
	start = clock_mono_ns();
	for (uint32_t i = 0; i < n; i++) {
		hnext(&h, &h.slots[i]);
	}
	/* As loadgen_run: warm until every slot had its first reply. */
	while (clock_mono_ns() - start < opts->warmup_ms * 1000000 ||
	       (!all_answered(&h) &&
	        clock_mono_ns() - start <
	            (opts->warmup_ms + opts->reply_timeout_ms) * 1000000)) {
		hround(&h, pfd);
	}
	self0 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	server0 = has_server ? bench_cpu_ns(server_clock) : 0;
	measure = clock_mono_ns();
	h.phase = HPHASE_MEASURE;
	while (clock_mono_ns() - measure < opts->duration_ms * 1000000) {
		hround(&h, pfd);
	}
	h.phase = HPHASE_STOP;
	stop = clock_mono_ns();
	self1 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	server1 = has_server ? bench_cpu_ns(server_clock) : 0;
	/* The replies still due, so the server is quiet for the next run. */
	until = clock_mono_ns() + (opts->reply_timeout_ms + 5000) * 1000000;
	while (hround(&h, pfd) > 0 && clock_mono_ns() < until) {
	}
	loadgen_sum(out, n, hslot_tally, &h, stop - measure);
	out->errors = h.errors;
	memcpy(out->first_error, h.first_error, sizeof(out->first_error));
	out->self_cpu_ns = self1 - self0;
	out->server_cpu_ns = server1 - server0;

done:
	for (uint32_t i = 0; h.slots != NULL && i < n; i++) {
		if (h.slots[i].fd >= 0) {
			close(h.slots[i].fd);
		}
		sign_ctx_fini(&h.slots[i].signer);
		free(h.slots[i].req);
		free(h.slots[i].resp);
		free(h.slots[i].body);
	}
	free(h.slots);
	free(pfd);
	return rv;
}
