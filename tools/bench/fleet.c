/* Robots on schedule: paced, open-loop ReportBatch load over nng REQ. */
#include "fleet.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "hbmon/error.h"
#include "hbmon/v1/heartbeat.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"

#define METHOD_BATCH   "/hbmon.v1.Monitor/ReportBatch"
#define ROBOT_PREFIX   "det-"
#define ACCOUNT_PREFIX "ACC_"

/* The seed's example offset: robots write local time with its offset. */
#define TIMESTAMP_OFFSET_MIN (7 * 60)

struct robot {
	uint64_t seq;
	uint32_t active; /* accounts still reporting: the first `active` */
	bool silent;     /* the whole robot stopped */
	bool in_flight;
	bool heard;            /* had an accepted batch */
	int64_t last_send_ns;  /* the last accepted batch's request */
	int64_t last_reply_ns; /* and its reply */
};

enum slot_state { SLOT_FREE, SLOT_SEND, SLOT_RECV };

struct slot {
	struct fleet *f;
	nng_ctx ctx;
	nng_aio *aio;
	enum slot_state state;
	uint32_t robot;
	uint32_t n_accounts; /* in the batch in flight */
	int64_t due_ns;
	int64_t sent_ns;
	struct slot *next_free;
};

struct fleet {
	const struct fleet_options *opts;
	nng_socket sock;
	bool sock_open;
	struct slot *slots;
	struct robot *robots;
	pthread_t thread;
	bool thread_started;

	/* The batch templates, used by the sending thread only. The
	 * accounts are the same for every robot (account names are scoped
	 * to their robot); only the count sent and the timestamp change. */
	Hbmon__V1__RobotHeartbeat robot_hb;
	Hbmon__V1__AccountHeartbeat *account_hbs;
	Hbmon__V1__AccountHeartbeat **account_ptrs;
	char (*account_names)[16];
	char timestamp[RFC3339_MAX];
	int64_t timestamp_s;
	uint8_t *payload;
	size_t payload_cap;

	pthread_mutex_t lock; /* guards what follows and robots[] */
	pthread_cond_t cond;  /* a slot freed, or stopping (monotonic) */
	bool stopping;
	struct slot *free_slots;
	uint32_t busy;
	struct fleet_stats stats;
};

void
fleet_robot_name(uint32_t robot, char *buf, size_t len)
{
	snprintf(buf, len, ROBOT_PREFIX "%06" PRIu32, robot);
}

/* Parses the decimal number after prefix; false unless that is all. */
static bool
parse_index(const char *text, const char *prefix, uint32_t *out)
{
	size_t plen = strlen(prefix);
	unsigned long v;
	char *end;

	if (strncmp(text, prefix, plen) != 0 || text[plen] < '0' ||
	    text[plen] > '9') {
		return false;
	}
	errno = 0;
	v = strtoul(text + plen, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t) v;
	return true;
}

bool
fleet_robot_index(const char *id, uint32_t *out)
{
	return parse_index(id, ROBOT_PREFIX, out);
}

bool
fleet_account_index(const char *name, uint32_t *out)
{
	uint32_t number;

	/* Names count from ACC_001. */
	if (!parse_index(name, ACCOUNT_PREFIX, &number) || number == 0) {
		return false;
	}
	*out = number - 1;
	return true;
}

static void fleet_fail(struct fleet *f, uint32_t robot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Counts a failed batch; the first one's story is kept. Lock held. */
static void
fleet_fail(struct fleet *f, uint32_t robot, const char *fmt, ...)
{
	va_list ap;

	if (f->stats.errors++ == 0) {
		char name[FLEET_NAME_MAX];
		int n;

		fleet_robot_name(robot, name, sizeof(name));
		n = snprintf(f->stats.first_error, sizeof(f->stats.first_error),
		             "robot %s: ", name);
		if (n > 0 && (size_t) n < sizeof(f->stats.first_error)) {
			va_start(ap, fmt);
			vsnprintf(f->stats.first_error + n,
			          sizeof(f->stats.first_error) - (size_t) n,
			          fmt, ap);
			va_end(ap);
		}
	}
}

/* Sleeps until the monotonic clock reads until_ns or the fleet stops.
 * Lock held. */
static void
wait_until(struct fleet *f, int64_t until_ns)
{
	struct timespec ts = { (time_t) (until_ns / 1000000000),
		               (long) (until_ns % 1000000000) };

	while (!f->stopping && clock_mono_ns() < until_ns) {
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) ==
		    ETIMEDOUT) {
			break;
		}
	}
}

/*
 * Applies the robot's silences planned by now: from this batch on, the
 * subject is left out. Its last heartbeat the server accepted is the
 * robot's last accepted batch (the robot has nothing in flight here).
 * Returns false when the whole robot fell silent. Lock held.
 */
static bool
apply_silences(struct fleet *f, uint32_t r, int64_t due_ns, int64_t now_ns)
{
	struct silence_plan *plan = f->opts->plan;
	struct robot *rb = &f->robots[r];

	if (plan == NULL || plan->first[r] < 0) {
		return true;
	}
	pthread_mutex_lock(&plan->lock);
	for (int32_t i = plan->first[r]; i >= 0; i = plan->items[i].next) {
		struct silence *s = &plan->items[i];

		if (s->effective || s->planned_ns > now_ns) {
			continue;
		}
		s->effective = true;
		s->effective_ns = due_ns;
		s->last_send_ns = rb->heard ? rb->last_send_ns : 0;
		s->last_reply_ns = rb->heard ? rb->last_reply_ns : 0;
		if (s->account == SILENCE_ROBOT) {
			rb->silent = true;
		} else {
			/* The plan silences the last account still reporting;
			 * accounts are sent as a prefix of the list. */
			assert((uint32_t) s->account + 1 == rb->active);
			rb->active--;
		}
	}
	pthread_mutex_unlock(&plan->lock);
	return !rb->silent;
}

/* Rewrites the heartbeats' timestamp when the wall-clock second moved. */
static void
update_timestamp(struct fleet *f, int64_t wall_ms)
{
	int64_t now_s = wall_ms / 1000;

	if (now_s != f->timestamp_s) {
		rfc3339_format(now_s * 1000, TIMESTAMP_OFFSET_MIN, f->timestamp,
		               sizeof(f->timestamp));
		f->timestamp_s = now_s;
	}
}

/*
 * Builds robot r's batch as a robot does for every report: its health,
 * its active accounts (the number it really sends, so that the server's
 * ACCOUNT_MISMATCH check agrees), then one heartbeat per account, packed
 * into an unsigned RpcRequest with the next seq. Sending thread only;
 * the robot's fields are read under the lock by the caller.
 */
static int
build_batch(struct fleet *f, uint32_t r, uint64_t seq, uint32_t active,
            nng_msg **out)
{
	Hbmon__V1__RpcRequest req = HBMON__V1__RPC_REQUEST__INIT;
	Hbmon__V1__HeartbeatBatch batch = HBMON__V1__HEARTBEAT_BATCH__INIT;
	char name[FLEET_NAME_MAX];
	int64_t wall_ms = clock_wall_ms();
	size_t payload_len;
	size_t len;
	nng_msg *msg;

	update_timestamp(f, wall_ms);
	f->robot_hb.active_accounts = active;
	batch.robot = &f->robot_hb;
	batch.n_accounts = active;
	batch.accounts = f->account_ptrs;
	payload_len = hbmon__v1__heartbeat_batch__get_packed_size(&batch);
	if (payload_len > f->payload_cap) {
		uint8_t *p = realloc(f->payload, payload_len);
		if (p == NULL) {
			return HBMON_ENOMEM;
		}
		f->payload = p;
		f->payload_cap = payload_len;
	}
	hbmon__v1__heartbeat_batch__pack(&batch, f->payload);
	fleet_robot_name(r, name, sizeof(name));
	req.method = METHOD_BATCH;
	req.robot_id = name;
	req.seq = seq;
	req.sent_at_ms = wall_ms;
	req.payload.data = f->payload;
	req.payload.len = payload_len;
	len = hbmon__v1__rpc_request__get_packed_size(&req);
	if (nng_msg_alloc(&msg, len) != 0) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__rpc_request__pack(&req, nng_msg_body(msg));
	*out = msg;
	return HBMON_OK;
}

/* Returns a slot to the free list. Lock held. */
static void
slot_release(struct slot *s)
{
	struct fleet *f = s->f;

	f->robots[s->robot].in_flight = false;
	s->state = SLOT_FREE;
	s->next_free = f->free_slots;
	f->free_slots = s;
	f->busy--;
	pthread_cond_broadcast(&f->cond);
}

/*
 * Whether the reply says every heartbeat of the batch was recorded: the
 * envelope's code, the robot's and every account's. why: otherwise.
 */
static bool
reply_ok(const struct slot *s, nng_msg *msg, char *why, size_t why_len)
{
	Hbmon__V1__RpcResponse *resp;
	Hbmon__V1__BatchReply *br = NULL;
	bool ok = false;

	resp = hbmon__v1__rpc_response__unpack(NULL, nng_msg_len(msg),
	                                       nng_msg_body(msg));
	if (resp == NULL) {
		snprintf(why, why_len,
		         "the reply (%zu bytes) is not an "
		         "RpcResponse",
		         nng_msg_len(msg));
		return false;
	}
	if (resp->code != 0) {
		snprintf(why, why_len, "code %d: %s", resp->code,
		         resp->message);
		goto out;
	}
	br = hbmon__v1__batch_reply__unpack(NULL, resp->payload.len,
	                                    resp->payload.data);
	if (br == NULL) {
		snprintf(why, why_len,
		         "the reply's payload is not a "
		         "BatchReply");
		goto out;
	}
	if (br->robot == NULL || br->robot->code != 0) {
		snprintf(why, why_len, "robot heartbeat: %s",
		         br->robot == NULL ? "no result" : br->robot->message);
		goto out;
	}
	if (br->n_accounts != s->n_accounts) {
		snprintf(why, why_len,
		         "%zu results for %" PRIu32 " account heartbeats",
		         br->n_accounts, s->n_accounts);
		goto out;
	}
	for (size_t i = 0; i < br->n_accounts; i++) {
		if (br->accounts[i]->code != 0) {
			snprintf(why, why_len, "%s: code %d: %s",
			         br->accounts[i]->subject,
			         br->accounts[i]->code,
			         br->accounts[i]->message);
			goto out;
		}
	}
	ok = true;
out:
	if (br != NULL) {
		hbmon__v1__batch_reply__free_unpacked(br, NULL);
	}
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	return ok;
}

/* A reply arrived (msg) or the request failed (msg NULL, rv its error). */
static void
slot_done(struct slot *s, nng_msg *msg, int rv, const char *what)
{
	struct fleet *f = s->f;
	int64_t now_ns = clock_mono_ns();
	char why[512] = "";
	bool ok = msg != NULL && reply_ok(s, msg, why, sizeof(why));
	struct robot *rb = &f->robots[s->robot];

	if (msg != NULL) {
		nng_msg_free(msg);
	}
	pthread_mutex_lock(&f->lock);
	if (ok) {
		bool measured = s->due_ns >= f->opts->measure_from_ns;

		if (measured && rb->heard &&
		    now_ns - rb->last_send_ns > f->stats.gap_max_ns) {
			f->stats.gap_max_ns = now_ns - rb->last_send_ns;
		}
		if (measured) {
			latency_record(&f->stats.reply,
			               (uint64_t) (now_ns - s->sent_ns));
		}
		if (!rb->heard) {
			rb->heard = true;
			f->stats.robots_heard++;
		}
		rb->last_send_ns = s->sent_ns;
		rb->last_reply_ns = now_ns;
		f->stats.accepted++;
		f->stats.heartbeats += 1 + (uint64_t) s->n_accounts;
	} else if (msg != NULL) {
		fleet_fail(f, s->robot, "%s", why);
	} else if (!(f->stopping &&
	             (rv == NNG_ECLOSED || rv == NNG_ECANCELED))) {
		fleet_fail(f, s->robot, "%s: %s", what, nng_strerror(rv));
	}
	slot_release(s);
	pthread_mutex_unlock(&f->lock);
}

static void
slot_cb(void *arg)
{
	struct slot *s = arg;
	int rv = nng_aio_result(s->aio);

	switch (s->state) {
	case SLOT_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(s->aio));
			nng_aio_set_msg(s->aio, NULL);
			slot_done(s, NULL, rv, "send");
			return;
		}
		s->state = SLOT_RECV;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	case SLOT_RECV:
		slot_done(s, rv == 0 ? nng_aio_get_msg(s->aio) : NULL, rv,
		          "no reply");
		return;
	case SLOT_FREE:
		return;
	}
}

/*
 * The sending thread. Batch k of the whole fleet is due at
 * start + k * period / robots: robot k % robots, in its round k / robots,
 * so every robot sends once per period and the batches are spread evenly.
 * A batch that could not leave on time leaves as soon as it can, and its
 * lateness is what the fleet's lag figures show.
 */
static void *
fleet_main(void *arg)
{
	struct fleet *f = arg;
	const struct fleet_options *o = f->opts;

	pthread_mutex_lock(&f->lock);
	for (uint64_t k = 0; !f->stopping; k++) {
		uint32_t r = (uint32_t) (k % o->robots);
		int64_t due =
		    o->start_ns +
		    (int64_t) (k * (uint64_t) o->period_ns / o->robots);
		struct robot *rb = &f->robots[r];
		struct slot *s;
		nng_msg *msg;
		int64_t now;
		int rv;

		wait_until(f, due);
		if (f->stopping) {
			break;
		}
		if (rb->silent) {
			continue;
		}
		if (rb->in_flight) {
			/* A robot has one report in flight; a second could
			 * overtake it. Only an overloaded run gets here. */
			f->stats.skipped++;
			continue;
		}
		/* After the in-flight check: a silence must see the robot's
		 * last batch answered, or it would take an older one as the
		 * subject's last heartbeat. */
		if (!apply_silences(f, r, due, clock_mono_ns())) {
			continue;
		}
		while (f->free_slots == NULL && !f->stopping) {
			pthread_cond_wait(&f->cond, &f->lock);
		}
		if (f->stopping) {
			break;
		}
		s = f->free_slots;
		f->free_slots = s->next_free;
		f->busy++;
		rb->in_flight = true;
		s->robot = r;
		s->n_accounts = rb->active;
		s->due_ns = due;
		rv = build_batch(f, r, ++rb->seq, rb->active, &msg);
		if (rv != HBMON_OK) {
			fleet_fail(f, r, "cannot build a batch: %s",
			           hbmon_strerror(rv));
			slot_release(s);
			continue;
		}
		now = clock_mono_ns();
		latency_record(due >= o->measure_from_ns ? &f->stats.lag
		                                         : &f->stats.lag_warmup,
		               (uint64_t) (now - due));
		if (due >= o->measure_from_ns &&
		    now - due > f->stats.lag_max_ns) {
			f->stats.lag_max_ns = now - due;
		}
		f->stats.sent++;
		s->sent_ns = now;
		s->state = SLOT_SEND;
		/* The callback takes the lock: send without it. */
		pthread_mutex_unlock(&f->lock);
		nng_aio_set_msg(s->aio, msg);
		nng_ctx_send(s->ctx, s->aio);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* The batch templates: the seed's heartbeats, ACC_001.. active. */
static int
prepare_templates(struct fleet *f)
{
	uint32_t n = f->opts->accounts;

	hbmon__v1__robot_heartbeat__init(&f->robot_hb);
	f->robot_hb.event = "ROBOT_HEARTBEAT";
	f->robot_hb.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	f->robot_hb.active_tasks = 1;
	f->robot_hb.timestamp = f->timestamp;
	f->timestamp_s = -1;
	update_timestamp(f, clock_wall_ms());
	f->account_hbs = calloc(n > 0 ? n : 1, sizeof(*f->account_hbs));
	f->account_ptrs = calloc(n > 0 ? n : 1, sizeof(*f->account_ptrs));
	f->account_names = calloc(n > 0 ? n : 1, sizeof(*f->account_names));
	if (f->account_hbs == NULL || f->account_ptrs == NULL ||
	    f->account_names == NULL) {
		return HBMON_ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		Hbmon__V1__AccountHeartbeat *hb = &f->account_hbs[i];

		hbmon__v1__account_heartbeat__init(hb);
		snprintf(f->account_names[i], sizeof(f->account_names[i]),
		         ACCOUNT_PREFIX "%03" PRIu32, i + 1);
		hb->event = "ACCOUNT_HEARTBEAT";
		hb->account = f->account_names[i];
		hb->status = HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
		hb->session_valid = true;
		hb->open_orders = 2;
		hb->timestamp = f->timestamp;
		f->account_ptrs[i] = hb;
	}
	return HBMON_OK;
}

static void
fleet_free(struct fleet *f)
{
	if (f->slots != NULL) {
		for (uint32_t i = 0; i < f->opts->inflight_max; i++) {
			if (f->slots[i].aio != NULL) {
				nng_aio_stop(f->slots[i].aio);
			}
		}
	}
	if (f->sock_open) {
		nng_close(f->sock);
	}
	if (f->slots != NULL) {
		for (uint32_t i = 0; i < f->opts->inflight_max; i++) {
			if (f->slots[i].aio != NULL) {
				nng_aio_free(f->slots[i].aio);
			}
		}
	}
	free(f->slots);
	free(f->robots);
	free(f->account_hbs);
	free(f->account_ptrs);
	free(f->account_names);
	free(f->payload);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int
fleet_start(const struct fleet_options *opts, struct fleet **out, char *why,
            size_t why_len)
{
	struct fleet *f = calloc(1, sizeof(*f));
	pthread_condattr_t attr;
	int rv;

	assert(opts->robots > 0 && opts->inflight_max > 0 &&
	       opts->period_ns > 0);
	if (f == NULL) {
		snprintf(why, why_len, "out of memory for the fleet");
		return HBMON_ENOMEM;
	}
	f->opts = opts;
	pthread_mutex_init(&f->lock, NULL);
	/* Waits are for monotonic deadlines. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &attr);
	pthread_condattr_destroy(&attr);
	latency_reset(&f->stats.lag_warmup);
	latency_reset(&f->stats.lag);
	latency_reset(&f->stats.reply);
	f->robots = calloc(opts->robots, sizeof(*f->robots));
	f->slots = calloc(opts->inflight_max, sizeof(*f->slots));
	if (f->robots == NULL || f->slots == NULL ||
	    prepare_templates(f) != HBMON_OK) {
		snprintf(why, why_len, "out of memory for %" PRIu32 " robots",
		         opts->robots);
		rv = HBMON_ENOMEM;
		goto fail;
	}
	for (uint32_t r = 0; r < opts->robots; r++) {
		f->robots[r].active = opts->accounts;
	}
	if ((rv = nng_req0_open(&f->sock)) != 0) {
		snprintf(why, why_len, "cannot open a REQ socket: %s",
		         nng_strerror(rv));
		rv = HBMON_EIO;
		goto fail;
	}
	f->sock_open = true;
	/* nng 1.5 walks every pending context's resend timer on each
	 * expiry check; nothing here is ever resent short of a failure that
	 * must show as an error anyway. */
	nng_socket_set_ms(f->sock, NNG_OPT_REQ_RESENDTIME,
	                  NNG_DURATION_INFINITE);
	/* One connection for the fleet: with auth = none any connection may
	 * speak for any robot, and 10,000 connections would measure the
	 * transport rather than detection. */
	if ((rv = nng_dial(f->sock, opts->url, NULL, 0)) != 0) {
		snprintf(why, why_len, "cannot connect to %s: %s", opts->url,
		         nng_strerror(rv));
		rv = HBMON_EUNAVAIL;
		goto fail;
	}
	for (uint32_t i = 0; i < opts->inflight_max; i++) {
		struct slot *s = &f->slots[i];

		s->f = f;
		if (nng_aio_alloc(&s->aio, slot_cb, s) != 0 ||
		    nng_ctx_open(&s->ctx, f->sock) != 0) {
			snprintf(why, why_len,
			         "cannot open %" PRIu32 " REQ contexts",
			         opts->inflight_max);
			rv = HBMON_ENOMEM;
			goto fail;
		}
		nng_aio_set_timeout(s->aio, opts->reply_timeout_ms);
		nng_ctx_set_ms(s->ctx, NNG_OPT_REQ_RESENDTIME,
		               NNG_DURATION_INFINITE);
		s->next_free = f->free_slots;
		f->free_slots = s;
	}
	if (pthread_create(&f->thread, NULL, fleet_main, f) != 0) {
		snprintf(why, why_len, "cannot start the fleet's thread");
		rv = HBMON_ENOMEM;
		goto fail;
	}
	f->thread_started = true;
	*out = f;
	return HBMON_OK;
fail:
	fleet_free(f);
	return rv;
}

void
fleet_stats_get(struct fleet *f, struct fleet_stats *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->stats;
	pthread_mutex_unlock(&f->lock);
}

void
fleet_stop(struct fleet *f, struct fleet_stats *out)
{
	struct timespec until;

	if (f == NULL) {
		return;
	}
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->thread_started) {
		pthread_join(f->thread, NULL);
	}
	/* The replies still due are awaited, so that the figures hold
	 * every batch sent; the aio timeout bounds this. */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t) (f->opts->reply_timeout_ms / 1000 + 5);
	pthread_mutex_lock(&f->lock);
	while (f->busy > 0) {
		if (pthread_cond_timedwait(&f->cond, &f->lock, &until) ==
		    ETIMEDOUT) {
			break;
		}
	}
	if (out != NULL) {
		*out = f->stats;
	}
	pthread_mutex_unlock(&f->lock);
	fleet_free(f);
}
