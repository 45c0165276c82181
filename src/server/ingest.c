/* Robots' socket: registry admission, Monitor handlers, recorder jobs. */
#include "server/ingest.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/dispatch.h"
#include "common/quote.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "server/metrics.h"
#include "server/rpcserver.h"
#include "server/rules.h"

struct ingest {
	/* The generated service struct the handlers are dispatched through. */
	Hbmon__V1__Monitor_Service monitor;
	struct registry *reg;
	struct recorder *rec;
	struct rpcserver *srv;
	uint32_t batch_items_max;
};

/* Bytes of item messages one BatchReply carries at most: past them, items
 * keep their codes and lose their sentences, so no batch makes a reply
 * much larger than itself. */
#define REPLY_MESSAGES_MAX (64 * 1024)

/*
 * Per-worker state of a Monitor call (the rpcserver's scratch), one
 * request's, cleared after its reply. The reply is built by the job's
 * done (single_done, batch_done), on whichever thread the recorder
 * finishes it (recorder.h, "Completion").
 */
struct worker {
	struct ingest *ing;
	struct rpc_call *call;
	struct robot *robot; /* admitted; NULL when auth is off */
	ProtobufCClosure done;
	struct recorder_job job;
	struct recorder_item one_item; /* single reports need no malloc */
	uint8_t *filtered;             /* a batch's valid heartbeats, packed */
	size_t filtered_len;
};

/* Frees what a call left behind, after its reply. */
static void
worker_release(void *scratch)
{
	struct worker *w = scratch;

	for (size_t i = 0; i < w->job.n_items; i++) {
		free(w->job.items[i].note);
	}
	/* items themselves live in the request's arena. */
	w->job.items = NULL;
	w->job.n_items = 0;
	free(w->filtered);
	memset(w, 0, sizeof(*w));
}

/*
 * The worker state of the call a handler is running for. svc is the
 * generated service struct, the first member of struct ingest.
 */
static struct worker *
worker_of(Hbmon__V1__Monitor_Service *svc, struct rpc_call *call)
{
	struct worker *w = rpcserver_scratch(call);

	w->call = call;
	static_assert(offsetof(struct ingest, monitor) == 0,
	              "the service struct is the ingest's first member");
	w->ing = (struct ingest *) svc;
	w->robot = rpcserver_principal(call);
	return w;
}

/* ---- Monitor handlers ---- */

/*
 * "ROBOT" or "ROBOT/ACCOUNT", in the call's arena. The account is quoted
 * (quote.h): a name refused for what it holds is echoed escaped, and an
 * accepted one, which holds nothing to escape, as it is.
 */
static char *
subject_name(struct arena *a, const char *robot, const char *account)
{
	size_t r = strlen(robot);
	size_t n = account != NULL ? strlen(account) : 0;
	bool plain = !quote_find_unsafe(account, n, NULL, NULL);
	size_t quoted = plain ? n + 1 : quote_size(account, n, QUOTE_UTF8);
	char *p = arena_alloc(a, r + 1 + quoted);

	if (p == NULL) {
		return (char *) "";
	}
	memcpy(p, robot, r);
	if (n > 0) {
		p[r] = '/';
		if (plain) {
			memcpy(p + r + 1, account, n + 1);
		} else {
			quote_buf(p + r + 1, quoted, account, n, QUOTE_UTF8);
		}
	}
	return p;
}

/*
 * Why a job's heartbeats were not recorded (job->status is not OK), in the
 * call's arena.
 */
static char *
unavailable_message(struct arena *a, const struct recorder_job *job)
{
	static const char closed[] =
	    "hbmon-server is shutting down; send it again in a moment";
	static const char fmt[] = "not recorded: the server cannot write its "
	                          "database (%s); send the same request again";
	const char *why = job->why != NULL ? job->why : "database error";
	size_t len = sizeof(fmt) + strlen(why);
	char *msg;

	if (job->status == HBMON_ECLOSED) {
		return (char *) closed;
	}
	if ((msg = arena_alloc(a, len)) == NULL) {
		return (char *) "not recorded: the server cannot write its "
		                "database; send the same request again";
	}
	snprintf(msg, len, fmt, why);
	return msg;
}

/* The code one item of a finished job is answered with. */
static int
item_code(const struct recorder_job *job, const struct recorder_item *item,
          int failed_code)
{
	if (item->skip) {
		return item->err != HBMON_OK ? rpc_code_from_err(item->err)
		                             : failed_code;
	}
	return job->status != HBMON_OK ? RPC_UNAVAILABLE : RPC_OK;
}

/* Counts a finished job's heartbeats by kind and code (metrics.h), with
 * one atomic add per kind and code however large the batch. */
static void
count_items(const struct recorder_job *job)
{
	uint32_t tally[METRICS_HB_KINDS][METRICS_CODES] = { { 0 } };

	for (size_t i = 0; i < job->n_items; i++) {
		const struct recorder_item *item = &job->items[i];
		int code = item_code(job, item, RPC_INVALID_ARGUMENT);
		tally[item->account_hb != NULL]
		     [code < METRICS_CODES ? code : RPC_UNKNOWN]++;
	}
	for (int k = 0; k < METRICS_HB_KINDS; k++) {
		for (int c = 0; c < METRICS_CODES; c++) {
			metrics_heartbeats((enum metrics_hb_kind) k, c,
			                   tally[k][c]);
		}
	}
}

/* Fills a ReportResult for one item of a finished job. */
static void
item_result(struct arena *a, const struct recorder_job *job,
            const struct recorder_item *item, int failed_code,
            Hbmon__V1__ReportResult *res)
{
	hbmon__v1__report_result__init(res);
	res->subject = subject_name(
	    a, job->robot->id,
	    item->account_hb != NULL ? item->account_hb->account : NULL);
	res->code = item_code(job, item, failed_code);
	if (res->code == RPC_OK) {
		res->transition_not_allowed = item->not_allowed;
	}
	if (res->code == RPC_UNAVAILABLE) {
		res->message = unavailable_message(a, job);
	} else if (item->note != NULL) {
		res->message = item->note;
	}
}

/* Single report (ReportRobot / ReportAccount) committed or failed. */
static void
single_done(struct recorder_job *job)
{
	struct worker *w = job->arg;
	Hbmon__V1__ReportResult res;

	count_items(job);
	item_result(rpcserver_arena(w->call), job, &job->items[0],
	            RPC_INVALID_ARGUMENT, &res);
	if (res.code != RPC_OK) {
		rpc_call_fail(w->call, res.code, "%s", res.message);
		w->done(NULL, w->call);
		return;
	}
	w->done(&res.base, w->call);
}

static void
batch_done(struct recorder_job *job)
{
	struct worker *w = job->arg;
	struct arena *a = rpcserver_arena(w->call);
	const Hbmon__V1__HeartbeatBatch *in =
	    (const Hbmon__V1__HeartbeatBatch *) w->call->input;
	Hbmon__V1__BatchReply reply = HBMON__V1__BATCH_REPLY__INIT;
	size_t first = in->robot != NULL ? 1 : 0;
	size_t n = in->n_accounts;
	size_t budget = REPLY_MESSAGES_MAX;
	Hbmon__V1__ReportResult *results = NULL;

	count_items(job);
	if (job->status != HBMON_OK) {
		/* Not recorded for storage reasons (or a shutdown): the whole
		 * batch is retryable, and the envelope says so, so that the
		 * reply is not kept as final and the same request is recorded
		 * when it comes again (docs/protocol.md). */
		rpc_call_fail(w->call, RPC_UNAVAILABLE, "%s",
		              unavailable_message(a, job));
		w->done(NULL, w->call);
		return;
	}
	/* The reply lives in the request's arena: packed, then gone with it. */
	if (n > 0) {
		results = arena_alloc(a, n * sizeof(*results));
		reply.accounts = arena_alloc(a, n * sizeof(*reply.accounts));
		if (results == NULL || reply.accounts == NULL) {
			rpc_call_fail(w->call, RPC_RESOURCE_EXHAUSTED,
			              "out of memory building the reply");
			w->done(NULL, w->call);
			return;
		}
	}
	if (in->robot != NULL) {
		reply.robot = arena_alloc(a, sizeof(*reply.robot));
		if (reply.robot == NULL) {
			rpc_call_fail(w->call, RPC_RESOURCE_EXHAUSTED,
			              "out of memory building the reply");
			w->done(NULL, w->call);
			return;
		}
		item_result(a, job, &job->items[0], RPC_INVALID_ARGUMENT,
		            reply.robot);
	}
	for (size_t i = 0; i < n; i++) {
		item_result(a, job, &job->items[first + i],
		            RPC_INVALID_ARGUMENT, &results[i]);
		if (results[i].message != NULL &&
		    results[i].message != protobuf_c_empty_string) {
			size_t len = strlen(results[i].message);
			if (budget < len) {
				results[i].message = (char *) "";
			} else {
				budget -= len;
			}
		}
		reply.accounts[i] = &results[i];
	}
	reply.n_accounts = n;
	w->done(&reply.base, w->call);
}

static void
job_prepare(struct worker *w, size_t n_items, struct recorder_item *items,
            void (*done)(struct recorder_job *))
{
	struct recorder_job *job = &w->job;

	memset(items, 0, n_items * sizeof(*items));
	job->robot =
	    w->robot != NULL
	        ? w->robot
	        : registry_find(w->ing->reg, w->call->request->robot_id);
	job->seq = w->call->request->seq;
	job->has_sig = w->call->request->signature.len == 32;
	if (job->has_sig) {
		memcpy(job->sig, w->call->request->signature.data, 32);
	}
	job->received_ms = clock_wall_ms();
	job->peer = rpcserver_peer(w->call);
	job->n_items = n_items;
	job->items = items;
	job->status = HBMON_OK;
	job->done = done;
	job->arg = w;
}

/*
 * What the recorder keeps of an all-valid request: its payload as it came
 * (heartbeats are kept as sent).
 */
static void
job_record(struct worker *w, int kind, uint32_t items)
{
	w->job.kind = kind;
	w->job.items_recorded = items;
	w->job.payload = w->call->request->payload.data;
	w->job.payload_len = w->call->request->payload.len;
}

/*
 * A batch with refused items is kept without them ("recorded nowhere",
 * SPEC §3.1): its valid heartbeats are packed into a batch of their own.
 */
static int
record_valid_only(struct worker *w, size_t valid)
{
	int rv = recorder_pack_items(w->job.items, w->job.n_items, &w->filtered,
	                             &w->filtered_len);

	if (rv != HBMON_OK) {
		return rv;
	}
	w->job.kind = STORE_BATCH;
	w->job.items_recorded = (uint32_t) valid;
	w->job.payload = w->filtered;
	w->job.payload_len = w->filtered_len;
	return HBMON_OK;
}

/*
 * Hands the job to the recorder, or answers at once if it is stopping.
 * The reply comes from the job's done, maybe before this returns: nothing
 * of the worker is touched after.
 */
static void
job_submit(struct worker *w)
{
	if (recorder_submit(w->ing->rec, &w->job) != HBMON_OK) {
		/* Not queued: nothing recorded, and the reply says so. */
		w->job.status = HBMON_ECLOSED;
		w->job.done(&w->job);
	}
}

static void
report_robot(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__RobotHeartbeat *in,
             Hbmon__V1__ReportResult_Closure closure, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = worker_of(svc, call);
	struct rfc3339_time ts;
	char why[256];

	w->done = (ProtobufCClosure) closure;
	if (rules_check_robot(in, &ts, why, sizeof(why)) != HBMON_OK) {
		metrics_heartbeats(METRICS_HB_ROBOT, RPC_INVALID_ARGUMENT, 1);
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", why);
		closure(NULL, data);
		return;
	}
	job_prepare(w, 1, &w->one_item, single_done);
	w->one_item.robot_hb = in;
	w->one_item.timestamp = ts;
	job_record(w, STORE_ROBOT, 1);
	job_submit(w);
}

static void
report_account(Hbmon__V1__Monitor_Service *svc,
               const Hbmon__V1__AccountHeartbeat *in,
               Hbmon__V1__ReportResult_Closure closure, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = worker_of(svc, call);
	struct rfc3339_time ts;
	char why[256];

	w->done = (ProtobufCClosure) closure;
	if (rules_check_account(in, &ts, why, sizeof(why)) != HBMON_OK) {
		metrics_heartbeats(METRICS_HB_ACCOUNT, RPC_INVALID_ARGUMENT, 1);
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", why);
		closure(NULL, data);
		return;
	}
	job_prepare(w, 1, &w->one_item, single_done);
	w->one_item.account_hb = in;
	w->one_item.timestamp = ts;
	job_record(w, STORE_ACCOUNT, 1);
	job_submit(w);
}

static void
report_batch(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__HeartbeatBatch *in,
             Hbmon__V1__BatchReply_Closure closure, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = worker_of(svc, call);
	size_t first = in->robot != NULL ? 1 : 0;
	size_t n = first + in->n_accounts;
	struct recorder_item *items;
	size_t valid = 0;
	char why[256];

	w->done = (ProtobufCClosure) closure;
	if (n == 0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT,
		              "the batch holds no heartbeats");
		closure(NULL, data);
		return;
	}
	items = n == 1 ? &w->one_item
	               : arena_alloc(rpcserver_arena(call), n * sizeof(*items));
	if (items == NULL) {
		rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
		              "out of memory for a batch of %zu heartbeats", n);
		closure(NULL, data);
		return;
	}
	job_prepare(w, n, items, batch_done);
	/* Each item is judged on its own: a bad account heartbeat does not
	 * cost the good ones their place in the record. */
	for (size_t i = 0; i < n; i++) {
		struct recorder_item *item = &items[i];
		int rv;

		if (i < first) {
			item->robot_hb = in->robot;
			rv = rules_check_robot(in->robot, &item->timestamp, why,
			                       sizeof(why));
		} else {
			item->account_hb = in->accounts[i - first];
			rv = rules_check_account(item->account_hb,
			                         &item->timestamp, why,
			                         sizeof(why));
		}
		if (rv != HBMON_OK) {
			item->skip = true;
			item->note = strdup(why);
		} else {
			valid++;
		}
	}
	if (valid == 0) {
		/* Nothing to record: answer at once, item by item. */
		batch_done(&w->job);
		return;
	}
	if (valid < n && record_valid_only(w, valid) != HBMON_OK) {
		rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
		              "out of memory for a batch of %zu heartbeats", n);
		closure(NULL, data);
		return;
	}
	if (valid == n) {
		job_record(w, STORE_BATCH, (uint32_t) valid);
	}
	job_submit(w);
}

/* ---- admission: the robot registry ---- */

/* Reads a protobuf varint at *p (before end); false when malformed. */
static bool
read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t) (b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*out = v;
			return true;
		}
	}
	return false;
}

size_t
ingest_batch_items(const uint8_t *p, size_t len, size_t limit)
{
	const uint8_t *end = p + len;
	size_t n = 0;

	while (p < end && n <= limit) {
		uint64_t key, size;

		if (!read_varint(&p, end, &key)) {
			return 0;
		}
		switch (key & 7) {
		case 0: /* varint */
			if (!read_varint(&p, end, &size)) {
				return 0;
			}
			continue;
		case 1: /* 64-bit */
			size = 8;
			break;
		case 2: /* length-delimited */
			if (!read_varint(&p, end, &size)) {
				return 0;
			}
			if ((key >> 3) == 1 || (key >> 3) == 2) {
				n++;
			}
			break;
		case 5: /* 32-bit */
			size = 4;
			break;
		default:
			return 0;
		}
		if (size > (uint64_t) (end - p)) {
			return 0;
		}
		p += size;
	}
	return n;
}

static enum rpcserver_admit
admit(void *arg, const Hbmon__V1__RpcRequest *req, int64_t now_ms,
      void **principal, uint8_t **reply, size_t *reply_len, int *code,
      char *why, size_t why_len)
{
	struct ingest *ing = arg;
	struct robot *robot = NULL;
	size_t items;

	/* Before anything else: refused now, a batch the server would never
	 * record costs neither decoding nor a seq (nor a reply larger than
	 * the request). */
	if (ing->batch_items_max > 0 &&
	    strcmp(req->method, "/hbmon.v1.Monitor/ReportBatch") == 0 &&
	    (items = ingest_batch_items(req->payload.data, req->payload.len,
	                                ing->batch_items_max)) >
	        ing->batch_items_max) {
		*code = RPC_INVALID_ARGUMENT;
		snprintf(
		    why, why_len,
		    "the batch holds more than %u heartbeats, the most one "
		    "request may carry (the robot and accounts_max "
		    "accounts); nothing was recorded: send it in parts",
		    ing->batch_items_max);
		return RPCSERVER_REJECT;
	}
	if (strcmp(req->method, INGEST_PING_METHOD) == 0) {
		/* No reply cache: a ping is recorded each time it comes. */
		static_assert(SIGN_PING_LEN != SIGN_LEN,
		              "a ping's token never passes for a signature");
		if (req->signature.len != SIGN_PING_LEN) {
			*code = RPC_NOT_FOUND;
			snprintf(why, why_len, "not a ping token (auth=ping)");
			return RPCSERVER_REJECT;
		}
		if (registry_admit_ping(ing->reg, req->signature.data,
		                        req->signature.len, &robot, code, why,
		                        why_len) != ADMIT_NEW) {
			return RPCSERVER_REJECT;
		}
		*principal = robot;
		return RPCSERVER_NEW;
	}
	switch (registry_admit(ing->reg, req, now_ms, &robot, reply, reply_len,
	                       code, why, why_len)) {
	case ADMIT_NEW:
		/* Without auth there is no reply cache to settle. */
		*principal = ing->reg->auth_none ? NULL : robot;
		return RPCSERVER_NEW;
	case ADMIT_REPLAY:
		return RPCSERVER_REPLAY;
	case ADMIT_REJECT:
	default:
		return RPCSERVER_REJECT;
	}
}

static void
settle(void *arg, void *principal, const Hbmon__V1__RpcRequest *req, bool final,
       const uint8_t *reply, size_t reply_len)
{
	struct ingest *ing = arg;

	/* A ping (its token is no signature) has no reply to keep. */
	if (principal != NULL && req->signature.len == SIGN_LEN) {
		registry_settle(ing->reg, principal, req->seq,
		                req->signature.data, final, reply, reply_len);
	}
}

int
ingest_start(const struct ingest_options *opts, struct registry *reg,
             struct recorder *rec, struct ingest **out, char *why,
             size_t why_len)
{
	struct ingest *ing = calloc(1, sizeof(*ing));
	struct rpcserver_options ro = { 0 };
	int rv;

	if (ing == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__monitor__init(&ing->monitor, NULL);
	ing->monitor.report_robot = report_robot;
	ing->monitor.report_account = report_account;
	ing->monitor.report_batch = report_batch;
	ing->reg = reg;
	ing->rec = rec;
	ing->batch_items_max = opts->batch_items_max;
	ro.name = "robots";
	ro.url = opts->url;
	ro.recv_max = opts->recv_max;
	ro.workers = opts->workers;
	ro.limits = opts->limits;
	ro.tls = opts->tls;
	ro.verify = opts->verify;
	ro.service = &ing->monitor.base;
	ro.admit = admit;
	ro.settle = settle;
	ro.arg = ing;
	ro.scratch_size = sizeof(struct worker);
	ro.release = worker_release;
	if ((rv = rpcserver_start(&ro, &ing->srv, why, why_len)) != HBMON_OK) {
		free(ing);
		return rv;
	}
	*out = ing;
	return HBMON_OK;
}

size_t
ingest_drain(struct ingest *ing, int64_t timeout_ms)
{
	return rpcserver_drain(ing->srv, timeout_ms);
}

void
ingest_submit(struct ingest *ing, struct rpcserver_local *lr)
{
	rpcserver_submit(ing->srv, lr);
}

const char *
ingest_url(const struct ingest *ing)
{
	return rpcserver_url(ing->srv);
}

struct listener *
ingest_listener(struct ingest *ing)
{
	return rpcserver_listener(ing->srv);
}

void
ingest_close(struct ingest *ing)
{
	if (ing == NULL) {
		return;
	}
	rpcserver_close(ing->srv);
	free(ing);
}
