/* Closed-loop load over nng REQ: one request in flight per slot. */
#include "loadgen.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/sign.h"
#include "hbmon/error.h"
#include "hbmon/v1/heartbeat.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"
#include "httpload.h"
#include "latency.h"
#include "util.h"

#define METHOD_ACCOUNT "/hbmon.v1.Monitor/ReportAccount"
#define METHOD_BATCH   "/hbmon.v1.Monitor/ReportBatch"

/* The seed's example offset: robots write local time with its offset. */
#define TIMESTAMP_OFFSET_MIN (7 * 60)

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };
enum slot_state { SLOT_SEND, SLOT_RECV, SLOT_IDLE };

struct loadgen;

struct slot {
	struct loadgen *lg;
	nng_ctx ctx;
	nng_aio *aio;
	enum slot_state state;
	const struct loadgen_robot *robot;
	struct sign_ctx signer;
	uint64_t seq;
	int64_t sent_ns;
	size_t sent_len;

	/* The heartbeats, built once; only the timestamp text changes. */
	Hbmon__V1__AccountHeartbeat *accounts;
	Hbmon__V1__AccountHeartbeat **account_ptrs;
	char (*account_names)[16];
	size_t n_accounts;
	char timestamp[RFC3339_MAX];
	int64_t timestamp_s;
	uint8_t *payload;
	size_t payload_cap;

	/* Written by this slot's callbacks only; read after it went idle. */
	struct loadgen_tally tally;
	bool answered; /* had its first reply (or failure) */
};

struct loadgen {
	const struct loadgen_options *opts;
	nng_socket *socks; /* one, or one per slot */
	uint32_t n_socks;
	struct slot *slots;
	atomic_int phase;
	atomic_uint warm; /* slots that had their first reply */

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t idle_cond;
	uint32_t idle;
	uint64_t errors;
	char first_error[512];
};

static void slot_fail(struct slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
slot_fail(struct slot *s, const char *fmt, ...)
{
	struct loadgen *lg = s->lg;
	va_list ap;

	pthread_mutex_lock(&lg->lock);
	if (lg->errors++ == 0) {
		int n = snprintf(lg->first_error, sizeof(lg->first_error),
		                 "robot %s seq %llu: ", s->robot->id,
		                 (unsigned long long) s->seq);
		if (n > 0 && (size_t) n < sizeof(lg->first_error)) {
			va_start(ap, fmt);
			vsnprintf(lg->first_error + n,
			          sizeof(lg->first_error) - (size_t) n, fmt,
			          ap);
			va_end(ap);
		}
	}
	pthread_mutex_unlock(&lg->lock);
}

/*
 * Rewrites the heartbeats' timestamp when the wall-clock second changed:
 * the text has whole seconds anyway, and formatting it once a second keeps
 * the client's share of the shared cores small.
 */
static void
slot_timestamp(struct slot *s, int64_t now_ms)
{
	int64_t now_s = now_ms / 1000;

	if (now_s != s->timestamp_s) {
		rfc3339_format(now_s * 1000, TIMESTAMP_OFFSET_MIN, s->timestamp,
		               sizeof(s->timestamp));
		s->timestamp_s = now_s;
	}
}

/*
 * Builds the next request: a fresh seq, sent_at_ms and signature, and the
 * payload packed again, as a robot does for every report.
 */
static int
slot_build(struct slot *s, nng_msg **out)
{
	const struct loadgen_options *o = s->lg->opts;
	Hbmon__V1__RpcRequest req = HBMON__V1__RPC_REQUEST__INIT;
	Hbmon__V1__HeartbeatBatch batch = HBMON__V1__HEARTBEAT_BATCH__INIT;
	const ProtobufCMessage *input;
	struct sign_fields fields;
	uint8_t sig[SIGN_LEN];
	int64_t now_ms = clock_wall_ms();
	size_t payload_len;
	size_t len;
	nng_msg *msg;

	slot_timestamp(s, now_ms);
	if (o->batch > 0) {
		batch.n_accounts = s->n_accounts;
		batch.accounts = s->account_ptrs;
		input = &batch.base;
	} else {
		input = &s->accounts[0].base;
	}
	payload_len = protobuf_c_message_get_packed_size(input);
	if (payload_len > s->payload_cap) {
		uint8_t *p = realloc(s->payload, payload_len);
		if (p == NULL) {
			return HBMON_ENOMEM;
		}
		s->payload = p;
		s->payload_cap = payload_len;
	}
	protobuf_c_message_pack(input, s->payload);

	fields.method = o->batch > 0 ? METHOD_BATCH : METHOD_ACCOUNT;
	fields.robot_id = s->robot->id;
	fields.seq = ++s->seq;
	fields.sent_at_ms = now_ms;
	fields.payload = s->payload;
	fields.payload_len = payload_len;
	if (sign_ctx_sign(&s->signer, &fields, sig) != HBMON_OK) {
		return HBMON_EINTERNAL;
	}
	req.method = (char *) fields.method;
	req.robot_id = (char *) fields.robot_id;
	req.seq = fields.seq;
	req.sent_at_ms = fields.sent_at_ms;
	req.payload.data = s->payload;
	req.payload.len = payload_len;
	req.signature.data = sig;
	req.signature.len = SIGN_LEN;
	len = hbmon__v1__rpc_request__get_packed_size(&req);
	if (nng_msg_alloc(&msg, len) != 0) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__rpc_request__pack(&req, nng_msg_body(msg));
	s->sent_len = len;
	*out = msg;
	return HBMON_OK;
}

static void
slot_idle(struct slot *s)
{
	struct loadgen *lg = s->lg;

	s->state = SLOT_IDLE;
	pthread_mutex_lock(&lg->lock);
	lg->idle++;
	pthread_cond_signal(&lg->idle_cond);
	pthread_mutex_unlock(&lg->lock);
}

/* Sends the next request, or goes idle once the run is over. */
static void
slot_next(struct slot *s)
{
	nng_msg *msg;
	int rv;

	if (atomic_load_explicit(&s->lg->phase, memory_order_relaxed) ==
	    PHASE_STOP) {
		slot_idle(s);
		return;
	}
	if ((rv = slot_build(s, &msg)) != HBMON_OK) {
		/* Building cannot fail but for memory; without it, the run
		 * is over for this slot. */
		slot_fail(s, "cannot build a request: %s", hbmon_strerror(rv));
		slot_idle(s);
		return;
	}
	s->state = SLOT_SEND;
	s->sent_ns = clock_mono_ns();
	nng_aio_set_msg(s->aio, msg);
	nng_ctx_send(s->ctx, s->aio);
}

/*
 * Checks an hbmon reply: the envelope's code and, for a batch, every
 * item's. Returns true when all of it was recorded.
 */
static bool
check_rpc_reply(struct slot *s, const uint8_t *body, size_t len)
{
	const struct loadgen_options *o = s->lg->opts;
	Hbmon__V1__RpcResponse *resp;
	Hbmon__V1__BatchReply *br;
	bool ok = false;

	resp = hbmon__v1__rpc_response__unpack(NULL, len, body);
	if (resp == NULL) {
		slot_fail(s, "the reply (%zu bytes) is not an RpcResponse",
		          len);
		return false;
	}
	if (resp->code != 0) {
		slot_fail(s, "code %d: %s", resp->code, resp->message);
		goto out;
	}
	if (o->batch == 0) {
		ok = true;
		goto out;
	}
	br = hbmon__v1__batch_reply__unpack(NULL, resp->payload.len,
	                                    resp->payload.data);
	if (br == NULL) {
		slot_fail(s, "the reply's payload is not a BatchReply");
		goto out;
	}
	if (br->n_accounts != s->n_accounts) {
		slot_fail(s, "%zu results for %zu account heartbeats",
		          br->n_accounts, s->n_accounts);
	} else {
		ok = true;
		for (size_t i = 0; i < br->n_accounts && ok; i++) {
			if (br->accounts[i]->code != 0) {
				slot_fail(s, "%s: code %d: %s",
				          br->accounts[i]->subject,
				          br->accounts[i]->code,
				          br->accounts[i]->message);
				ok = false;
			}
		}
	}
	hbmon__v1__batch_reply__free_unpacked(br, NULL);
out:
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	return ok;
}

static void
slot_reply(struct slot *s, nng_msg *msg)
{
	const struct loadgen_options *o = s->lg->opts;
	int64_t latency_ns = clock_mono_ns() - s->sent_ns;
	bool ok;

	if (o->expect_rpc_ok) {
		ok = check_rpc_reply(s, nng_msg_body(msg), nng_msg_len(msg));
	} else {
		ok = nng_msg_len(msg) == s->sent_len;
		if (!ok) {
			slot_fail(s, "the echo has %zu bytes, the request %zu",
			          nng_msg_len(msg), s->sent_len);
		}
	}
	nng_msg_free(msg);
	if (!ok) {
		return;
	}
	s->tally.acked += o->batch > 0 ? o->batch : 1;
	if (atomic_load_explicit(&s->lg->phase, memory_order_relaxed) ==
	    PHASE_MEASURE) {
		s->tally.measured++;
		latency_record(&s->tally.latency, (uint64_t) latency_ns);
	}
}

static void
slot_answered(struct slot *s)
{
	if (!s->answered) {
		s->answered = true;
		atomic_fetch_add(&s->lg->warm, 1);
	}
}

static void
slot_cb(void *arg)
{
	struct slot *s = arg;
	int rv = nng_aio_result(s->aio);
	bool stopping = atomic_load(&s->lg->phase) == PHASE_STOP;

	switch (s->state) {
	case SLOT_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(s->aio));
			nng_aio_set_msg(s->aio, NULL);
			if (!(stopping &&
			      (rv == NNG_ECLOSED || rv == NNG_ECANCELED))) {
				slot_fail(s, "send: %s", nng_strerror(rv));
			}
			slot_answered(s);
			slot_next(s);
			return;
		}
		s->state = SLOT_RECV;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	case SLOT_RECV:
		if (rv != 0) {
			if (!(stopping &&
			      (rv == NNG_ECLOSED || rv == NNG_ECANCELED))) {
				slot_fail(s, "no reply: %s", nng_strerror(rv));
			}
		} else {
			slot_reply(s, nng_aio_get_msg(s->aio));
		}
		slot_answered(s);
		slot_next(s);
		return;
	case SLOT_IDLE:
		return;
	}
}

/* Prepares a slot's heartbeats: ACC_001.. of its own robot. */
static int
slot_init(struct slot *s, struct loadgen *lg, const struct loadgen_robot *r)
{
	size_t n = lg->opts->batch > 0 ? lg->opts->batch : 1;

	s->lg = lg;
	s->robot = r;
	s->timestamp_s = -1;
	latency_reset(&s->tally.latency);
	if (sign_ctx_init(&s->signer, r->secret, strlen(r->secret)) !=
	    HBMON_OK) {
		return HBMON_ENOMEM;
	}
	s->accounts = calloc(n, sizeof(*s->accounts));
	s->account_ptrs = calloc(n, sizeof(*s->account_ptrs));
	s->account_names = calloc(n, sizeof(*s->account_names));
	if (s->accounts == NULL || s->account_ptrs == NULL ||
	    s->account_names == NULL) {
		return HBMON_ENOMEM;
	}
	s->n_accounts = n;
	for (size_t i = 0; i < n; i++) {
		Hbmon__V1__AccountHeartbeat *hb = &s->accounts[i];

		hbmon__v1__account_heartbeat__init(hb);
		snprintf(s->account_names[i], sizeof(s->account_names[i]),
		         "ACC_%03zu", i + 1);
		/* The seed's example account heartbeat. */
		hb->event = "ACCOUNT_HEARTBEAT";
		hb->account = s->account_names[i];
		hb->status = HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
		hb->session_valid = true;
		hb->open_orders = 2;
		hb->timestamp = s->timestamp;
		s->account_ptrs[i] = hb;
	}
	return HBMON_OK;
}

static void
slot_fini(struct slot *s)
{
	if (s->aio != NULL) {
		nng_aio_free(s->aio);
	}
	sign_ctx_fini(&s->signer);
	free(s->accounts);
	free(s->account_ptrs);
	free(s->account_names);
	free(s->payload);
}

/* Opens and connects one REQ socket. */
static int
open_socket(const char *url, nng_socket *out, char *why, size_t why_len)
{
	int rv;

	if ((rv = nng_req0_open(out)) != 0) {
		snprintf(why, why_len, "cannot open a REQ socket: %s",
		         nng_strerror(rv));
		return HBMON_EIO;
	}
	/* nng 1.5 walks every pending context's resend timer on each
	 * expiry check (O(n) per context); no request here is ever lost
	 * short of a failure we want to see as an error anyway. */
	nng_socket_set_ms(*out, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if ((rv = nng_dial(*out, url, NULL, 0)) != 0) {
		snprintf(why, why_len, "cannot connect to %s: %s", url,
		         nng_strerror(rv));
		nng_close(*out);
		return HBMON_EUNAVAIL;
	}
	return HBMON_OK;
}

/* Sleeps until the monotonic clock reads until_ns. */
static void
sleep_until(int64_t until_ns)
{
	struct timespec ts = { (time_t) (until_ns / 1000000000),
		               (long) (until_ns % 1000000000) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) !=
	       0) {
	}
}

/* Waits for every slot to go idle, at most timeout_ms. */
static void
wait_idle(struct loadgen *lg, int64_t timeout_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t) (timeout_ms / 1000);
	until.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lg->lock);
	while (lg->idle < lg->opts->inflight) {
		if (pthread_cond_timedwait(&lg->idle_cond, &lg->lock, &until) !=
		    0) {
			break;
		}
	}
	pthread_mutex_unlock(&lg->lock);
}

void
loadgen_sum(struct loadgen_result *out, uint32_t n,
            const struct loadgen_tally *(*tally)(const void *arg, uint32_t i),
            const void *arg, int64_t measured_ns)
{
	struct latency *all = malloc(sizeof(*all));

	memset(out, 0, sizeof(*out));
	if (all != NULL) {
		latency_reset(all);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct loadgen_tally *t = tally(arg, i);
		out->requests += t->measured;
		out->acked += t->acked;
		if (all != NULL) {
			latency_merge(all, &t->latency);
		}
	}
	out->seconds = (double) measured_ns / 1e9;
	out->per_second = (double) out->requests / out->seconds;
	if (all != NULL) {
		out->p50_ns = latency_quantile(all, 0.50);
		out->p99_ns = latency_quantile(all, 0.99);
	}
	free(all);
}

static const struct loadgen_tally *
slot_tally(const void *arg, uint32_t i)
{
	return &((const struct loadgen *) arg)->slots[i].tally;
}

static void
collect(struct loadgen *lg, int64_t measured_ns, struct loadgen_result *out)
{
	loadgen_sum(out, lg->opts->inflight, slot_tally, lg, measured_ns);
	pthread_mutex_lock(&lg->lock);
	out->errors = lg->errors;
	memcpy(out->first_error, lg->first_error, sizeof(out->first_error));
	pthread_mutex_unlock(&lg->lock);
}

int
loadgen_run(const struct loadgen_options *opts, struct loadgen_result *out,
            char *why, size_t why_len)
{
	struct loadgen lg = { .opts = opts };
	int64_t start_ns, measure_ns, stop_ns;
	int64_t self_cpu0, server_cpu0, self_cpu1 = 0, server_cpu1 = 0;
	clockid_t server_clock = 0;
	bool has_server_clock = false;
	uint32_t n = opts->inflight;
	uint32_t opened = 0;
	int rv = HBMON_ENOMEM;

	assert(n > 0);
	if (strncmp(opts->url, "http://", 7) == 0) {
		return httpload_run(opts, out, why, why_len);
	}
	pthread_mutex_init(&lg.lock, NULL);
	pthread_cond_init(&lg.idle_cond, NULL);
	atomic_init(&lg.phase, PHASE_WARMUP);
	atomic_init(&lg.warm, 0);
	lg.n_socks = opts->one_socket ? 1 : n;
	lg.socks = calloc(lg.n_socks, sizeof(*lg.socks));
	lg.slots = calloc(n, sizeof(*lg.slots));
	if (lg.socks == NULL || lg.slots == NULL) {
		snprintf(why, why_len, "out of memory for %u slots", n);
		goto done;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (slot_init(&lg.slots[i], &lg, &opts->robots[i]) !=
		        HBMON_OK ||
		    nng_aio_alloc(&lg.slots[i].aio, slot_cb, &lg.slots[i]) !=
		        0) {
			snprintf(why, why_len, "out of memory for %u slots", n);
			goto done;
		}
		nng_aio_set_timeout(lg.slots[i].aio, opts->reply_timeout_ms);
	}
	for (; opened < lg.n_socks; opened++) {
		rv = open_socket(opts->url, &lg.socks[opened], why, why_len);
		if (rv != HBMON_OK) {
			goto done;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		nng_socket sock = lg.socks[opts->one_socket ? 0 : i];
		int nrv = nng_ctx_open(&lg.slots[i].ctx, sock);
		if (nrv != 0) {
			snprintf(why, why_len, "cannot open a REQ context: %s",
			         nng_strerror(nrv));
			rv = HBMON_EIO;
			goto done;
		}
		/* Contexts copy the socket's value at opening, but say it
		 * once more where it matters. */
		nng_ctx_set_ms(lg.slots[i].ctx, NNG_OPT_REQ_RESENDTIME,
		               NNG_DURATION_INFINITE);
	}

	if (opts->server_pid > 0) {
		has_server_clock =
		    clock_getcpuclockid(opts->server_pid, &server_clock) == 0;
	}
	start_ns = clock_mono_ns();
	for (uint32_t i = 0; i < n; i++) {
		slot_next(&lg.slots[i]);
	}
	/* Closed loop: the first replies come from a cold server (page
	 * faults, empty caches, SQLite growing its file, and each robot's
	 * first report creating its subjects); the warm-up keeps them out of
	 * the figures. It lasts until every slot has had its first reply,
	 * which with 64 first batches of 1,000 new accounts is longer than
	 * the warm-up time. */
	sleep_until(start_ns + opts->warmup_ms * 1000000);
	while (atomic_load(&lg.warm) < n &&
	       clock_mono_ns() - start_ns <
	           (opts->warmup_ms + opts->reply_timeout_ms) * 1000000) {
		sleep_until(clock_mono_ns() + 10 * 1000000);
	}
	self_cpu0 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	server_cpu0 = has_server_clock ? bench_cpu_ns(server_clock) : 0;
	measure_ns = clock_mono_ns();
	atomic_store(&lg.phase, PHASE_MEASURE);
	sleep_until(measure_ns + opts->duration_ms * 1000000);
	atomic_store(&lg.phase, PHASE_STOP);
	stop_ns = clock_mono_ns();
	self_cpu1 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	server_cpu1 = has_server_clock ? bench_cpu_ns(server_clock) : 0;
	/* Replies still due are awaited, so the server is quiet before the
	 * next run starts; the aio timeout bounds this. */
	wait_idle(&lg, opts->reply_timeout_ms + 5000);
	for (uint32_t i = 0; i < n; i++) {
		nng_aio_stop(lg.slots[i].aio);
	}
	collect(&lg, stop_ns - measure_ns, out);
	out->self_cpu_ns = self_cpu1 - self_cpu0;
	out->server_cpu_ns = server_cpu1 - server_cpu0;
	rv = HBMON_OK;

done:
	for (uint32_t i = 0; lg.slots != NULL && i < n; i++) {
		if (lg.slots[i].aio != NULL) {
			nng_aio_stop(lg.slots[i].aio);
		}
	}
	for (uint32_t i = 0; i < opened; i++) {
		nng_close(lg.socks[i]);
	}
	for (uint32_t i = 0; lg.slots != NULL && i < n; i++) {
		slot_fini(&lg.slots[i]);
	}
	free(lg.slots);
	free(lg.socks);
	pthread_cond_destroy(&lg.idle_cond);
	pthread_mutex_destroy(&lg.lock);
	return rv;
}

struct loadgen_robot *
loadgen_robots_make(uint32_t n, const char *prefix, char *why, size_t why_len)
{
	struct loadgen_robot *robots = calloc(n, sizeof(*robots));

	if (robots == NULL) {
		snprintf(why, why_len, "out of memory for %u robots", n);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		snprintf(robots[i].id, sizeof(robots[i].id), "%.40s-%04u",
		         prefix, i + 1);
		if (sign_new_secret(robots[i].secret,
		                    sizeof(robots[i].secret)) != HBMON_OK) {
			snprintf(why, why_len,
			         "cannot make a robot secret: "
			         "the OS gave no randomness");
			free(robots);
			return NULL;
		}
	}
	return robots;
}
