/* Robots' REQ/REP socket: workers, authentication, Monitor handlers. */
#include "server/ingest.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/clock.h"
#include "common/dispatch.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "server/rules.h"

enum worker_state { W_RECV, W_SEND };

struct worker {
	struct ingest *ing;
	nng_aio *aio;
	nng_ctx ctx;
	enum worker_state state;

	/* The request in progress (WORK): */
	Hbmon__V1__RpcRequest *req;
	struct rpc_call call;
	struct robot *robot; /* admitted as new: settle the reply cache */
	ProtobufCClosure done;
	bool counted; /* counted in ingest.busy until its reply is sent */
	struct recorder_job job;
	struct recorder_item one_item; /* single reports need no malloc */
};

struct ingest {
	/* The generated service struct the handlers are dispatched through. */
	Hbmon__V1__Monitor_Service monitor;
	struct registry *reg;
	struct recorder *rec;
	nng_socket sock;
	nng_listener listener;
	struct worker *workers;
	uint32_t n_workers;
	atomic_bool draining;
	/* Admitted requests not yet answered: what a drain waits for.
	 * Refusals are not counted; they need no waiting for. */
	atomic_size_t busy;
};

/* ---- replies ---- */

/* Frees what the request in progress holds. */
static void
request_release(struct worker *w)
{
	rpc_call_release(&w->call);
	if (w->req != NULL) {
		hbmon__v1__rpc_request__free_unpacked(w->req, NULL);
		w->req = NULL;
	}
	for (size_t i = 0; i < w->job.n_items; i++) {
		free(w->job.items[i].note);
	}
	if (w->job.items != &w->one_item) {
		free(w->job.items);
	}
	w->job.items = NULL;
	w->job.n_items = 0;
	w->robot = NULL;
}

/* Sends msg as the reply and moves to SEND. */
static void
send_reply(struct worker *w, nng_msg *msg)
{
	request_release(w);
	w->state = W_SEND;
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
		/* Nothing can be sent; the robot's REQ will resend. */
		request_release(w);
		if (w->counted) {
			w->counted = false;
			atomic_fetch_sub(&w->ing->busy, 1);
		}
		w->state = W_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	send_reply(w, msg);
}

/*
 * The closure every Monitor handler ends with: output is the method's
 * reply message, or NULL when the call failed (status in the call).
 */
static void
call_done(const ProtobufCMessage *output, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = call->user;
	nng_msg *msg;

	if (output == NULL && call->code == RPC_OK) {
		rpc_call_fail(call, RPC_INTERNAL, "handler gave no reply");
	}
	msg = pack_reply(call->code, call->message, output);
	if (w->robot != NULL) {
		/* A transient failure may be retried with the same seq; any
		 * other answer is final and is what a resend gets. */
		bool final = call->code != RPC_UNAVAILABLE && msg != NULL;
		registry_settle(w->ing->reg, w->robot, w->req->seq,
		                w->req->signature.data, final,
		                msg != NULL ? nng_msg_body(msg) : NULL,
		                msg != NULL ? nng_msg_len(msg) : 0);
	}
	if (msg == NULL) {
		reply_status(w, RPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	send_reply(w, msg);
}

/* ---- Monitor handlers ---- */

static void
subject_name(char *buf, size_t len, const char *robot, const char *account)
{
	if (account == NULL || account[0] == '\0') {
		snprintf(buf, len, "%s", robot);
	} else {
		snprintf(buf, len, "%s/%s", robot, account);
	}
}

/* Fills a ReportResult for one item of a finished job. */
static void
item_result(const struct recorder_job *job, const struct recorder_item *item,
            int failed_code, Hbmon__V1__ReportResult *res, char *subject,
            size_t subject_len)
{
	hbmon__v1__report_result__init(res);
	subject_name(subject, subject_len, job->robot->id,
	             item->account_hb != NULL ? item->account_hb->account
	                                      : NULL);
	res->subject = subject;
	if (item->skip) {
		res->code = failed_code;
	} else if (job->status != HBMON_OK) {
		res->code = RPC_UNAVAILABLE;
	} else {
		res->code = RPC_OK;
		res->transition_not_allowed = item->not_allowed;
	}
	if (res->code == RPC_UNAVAILABLE) {
		res->message = "not recorded: the server could not write its "
		               "database; send it again";
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
	char subject[2 * RULES_NAME_MAX + 2];

	item_result(job, &job->items[0], RPC_INVALID_ARGUMENT, &res, subject,
	            sizeof(subject));
	if (res.code != RPC_OK) {
		rpc_call_fail(&w->call, res.code, "%s", res.message);
		w->done(NULL, &w->call);
		return;
	}
	w->done(&res.base, &w->call);
}

static void
batch_done(struct recorder_job *job)
{
	struct worker *w = job->arg;
	const Hbmon__V1__HeartbeatBatch *in =
	    (const Hbmon__V1__HeartbeatBatch *) w->call.input;
	Hbmon__V1__BatchReply reply = HBMON__V1__BATCH_REPLY__INIT;
	Hbmon__V1__ReportResult robot_res;
	Hbmon__V1__ReportResult *results = NULL;
	Hbmon__V1__ReportResult **ptrs = NULL;
	char robot_subject[RULES_NAME_MAX + 1];
	char *subjects = NULL;
	size_t subject_len = 2 * RULES_NAME_MAX + 2;
	size_t first = in->robot != NULL ? 1 : 0;
	size_t n = in->n_accounts;

	if (n > 0) {
		results = calloc(n, sizeof(*results));
		ptrs = calloc(n, sizeof(*ptrs));
		subjects = malloc(n * subject_len);
		if (results == NULL || ptrs == NULL || subjects == NULL) {
			free(results);
			free(ptrs);
			free(subjects);
			rpc_call_fail(&w->call, RPC_RESOURCE_EXHAUSTED,
			              "out of memory building the reply");
			w->done(NULL, &w->call);
			return;
		}
	}
	if (in->robot != NULL) {
		item_result(job, &job->items[0], RPC_INVALID_ARGUMENT,
		            &robot_res, robot_subject, sizeof(robot_subject));
		reply.robot = &robot_res;
	}
	for (size_t i = 0; i < n; i++) {
		item_result(job, &job->items[first + i], RPC_INVALID_ARGUMENT,
		            &results[i], subjects + i * subject_len,
		            subject_len);
		ptrs[i] = &results[i];
	}
	reply.accounts = ptrs;
	reply.n_accounts = n;
	/* w->done packs the reply before returning, so the results may live
	 * on this stack and be freed right after. */
	w->done(&reply.base, &w->call);
	free(results);
	free(ptrs);
	free(subjects);
}

static void
job_prepare(struct worker *w, size_t n_items, struct recorder_item *items,
            void (*done)(struct recorder_job *))
{
	struct recorder_job *job = &w->job;

	memset(items, 0, n_items * sizeof(*items));
	job->robot = w->robot != NULL
	                 ? w->robot
	                 : registry_find(w->ing->reg, w->req->robot_id);
	job->seq = w->req->seq;
	job->has_sig = w->req->signature.len == 32;
	if (job->has_sig) {
		memcpy(job->sig, w->req->signature.data, 32);
	}
	job->received_ms = clock_wall_ms();
	job->n_items = n_items;
	job->items = items;
	job->status = HBMON_OK;
	job->done = done;
	job->arg = w;
}

/* Hands the job to the recorder, or fails the call if it is stopping. */
static void
job_submit(struct worker *w)
{
	if (recorder_submit(w->ing->rec, &w->job) != HBMON_OK) {
		rpc_call_fail(&w->call, RPC_UNAVAILABLE,
		              "hbmon-server is shutting down; send it again "
		              "in a moment");
		w->done(NULL, &w->call);
	}
}

static void
report_robot(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__RobotHeartbeat *in,
             Hbmon__V1__ReportResult_Closure closure, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = call->user;
	char why[256];
	int64_t ts_ms;

	(void) svc;
	w->done = (ProtobufCClosure) closure;
	if (rules_check_robot(in, &ts_ms, why, sizeof(why)) != HBMON_OK) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", why);
		closure(NULL, data);
		return;
	}
	job_prepare(w, 1, &w->one_item, single_done);
	w->one_item.robot_hb = in;
	w->one_item.timestamp_ms = ts_ms;
	job_submit(w);
}

static void
report_account(Hbmon__V1__Monitor_Service *svc,
               const Hbmon__V1__AccountHeartbeat *in,
               Hbmon__V1__ReportResult_Closure closure, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = call->user;
	char why[256];
	int64_t ts_ms;

	(void) svc;
	w->done = (ProtobufCClosure) closure;
	if (rules_check_account(in, &ts_ms, why, sizeof(why)) != HBMON_OK) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", why);
		closure(NULL, data);
		return;
	}
	job_prepare(w, 1, &w->one_item, single_done);
	w->one_item.account_hb = in;
	w->one_item.timestamp_ms = ts_ms;
	job_submit(w);
}

static void
report_batch(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__HeartbeatBatch *in,
             Hbmon__V1__BatchReply_Closure closure, void *data)
{
	struct rpc_call *call = data;
	struct worker *w = call->user;
	size_t first = in->robot != NULL ? 1 : 0;
	size_t n = first + in->n_accounts;
	struct recorder_item *items;
	size_t valid = 0;
	char why[256];

	(void) svc;
	w->done = (ProtobufCClosure) closure;
	if (n == 0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT,
		              "the batch holds no heartbeats");
		closure(NULL, data);
		return;
	}
	items = n == 1 ? &w->one_item : malloc(n * sizeof(*items));
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
			rv = rules_check_robot(in->robot, &item->timestamp_ms,
			                       why, sizeof(why));
		} else {
			item->account_hb = in->accounts[i - first];
			rv = rules_check_account(item->account_hb,
			                         &item->timestamp_ms, why,
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
	job_submit(w);
}

/* ---- the worker state machine ---- */

static void
handle_request(struct worker *w, nng_msg *msg)
{
	struct ingest *ing = w->ing;
	char why[512];
	uint8_t *cached = NULL;
	size_t cached_len = 0;
	int code = RPC_OK;
	enum admit admit;

	if (env_request_unpack(nng_msg_body(msg), nng_msg_len(msg), &w->req,
	                       why, sizeof(why)) != HBMON_OK) {
		nng_msg_free(msg);
		w->req = NULL;
		reply_status(w, RPC_INVALID_ARGUMENT, why);
		return;
	}
	nng_msg_free(msg);
	rpc_call_init(&w->call, w->req, w);
	if (atomic_load(&ing->draining)) {
		reply_status(w, RPC_UNAVAILABLE,
		             "hbmon-server is shutting down; send it again in "
		             "a moment");
		return;
	}
	admit = registry_admit(ing->reg, w->req, clock_wall_ms(), &w->robot,
	                       &cached, &cached_len, &code, why, sizeof(why));
	switch (admit) {
	case ADMIT_REJECT:
		log_info("request refused", "robot=%s method=%s code=%s why=%s",
		         w->req->robot_id, w->req->method, rpc_code_name(code),
		         why);
		w->robot = NULL;
		reply_status(w, code, why);
		return;
	case ADMIT_REPLAY:
		w->robot = NULL;
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
	case ADMIT_NEW:
		w->counted = true;
		atomic_fetch_add(&ing->busy, 1);
		if (ing->reg->auth_none) {
			w->robot = NULL; /* no replay cache without auth */
		}
		rpc_dispatch(&ing->monitor.base, &w->call, call_done);
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
		if (rv == NNG_ECLOSED) {
			return;
		}
		if (rv != 0) {
			nng_ctx_recv(w->ctx, w->aio);
			return;
		}
		handle_request(w, nng_aio_get_msg(w->aio));
		return;
	case W_SEND:
		if (rv != 0) {
			/* The robot went away; the message is still ours. */
			nng_msg_free(nng_aio_get_msg(w->aio));
		}
		if (w->counted) {
			w->counted = false;
			atomic_fetch_sub(&w->ing->busy, 1);
		}
		if (rv == NNG_ECLOSED) {
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
ingest_start(const struct ingest_options *opts, struct registry *reg,
             struct recorder *rec, struct ingest **out, char *why,
             size_t why_len)
{
	struct ingest *ing = calloc(1, sizeof(*ing));
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
	atomic_init(&ing->draining, false);
	atomic_init(&ing->busy, 0);

	if ((rv = nng_rep0_open(&ing->sock)) != 0) {
		snprintf(why, why_len, "cannot open a REP socket: %s",
		         nng_strerror(rv));
		free(ing);
		return map_nng(rv);
	}
	/* Before listening: nng's default is no limit at all. */
	nng_socket_set_size(ing->sock, NNG_OPT_RECVMAXSZ, opts->recv_max);

	ing->n_workers = opts->workers;
	ing->workers = calloc(opts->workers, sizeof(*ing->workers));
	if (ing->workers == NULL) {
		rv = NNG_ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < opts->workers; i++) {
		struct worker *w = &ing->workers[i];
		w->ing = ing;
		if ((rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0 ||
		    (rv = nng_ctx_open(&w->ctx, ing->sock)) != 0) {
			goto fail;
		}
	}
	if ((rv = nng_listener_create(&ing->listener, ing->sock, opts->url)) !=
	        0 ||
	    (rv = nng_listener_start(ing->listener, 0)) != 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", opts->url,
		         nng_strerror(rv));
		goto fail_quiet;
	}
	for (uint32_t i = 0; i < opts->workers; i++) {
		ing->workers[i].state = W_RECV;
		nng_ctx_recv(ing->workers[i].ctx, ing->workers[i].aio);
	}
	*out = ing;
	return HBMON_OK;

fail:
	snprintf(why, why_len, "cannot start the robot socket: %s",
	         nng_strerror(rv));
fail_quiet:
	ingest_close(ing);
	return map_nng(rv);
}

size_t
ingest_drain(struct ingest *ing, int64_t timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	size_t busy;

	/* The listener stays open until nng_close: closing it on its own
	 * while robots reconnect can orphan a half-made pipe and hang
	 * nng_close forever (nng 1.5.2, nanomsg/nng#1498). New requests are
	 * answered UNAVAILABLE instead. */
	atomic_store(&ing->draining, true);
	while ((busy = atomic_load(&ing->busy)) > 0 &&
	       clock_mono_ms() < until) {
		nanosleep(&pause, NULL);
	}
	return busy;
}

void
ingest_close(struct ingest *ing)
{
	if (ing == NULL) {
		return;
	}
	/* Stop every worker first, so no callback issues new work while the
	 * socket goes down, then close the socket. */
	atomic_store(&ing->draining, true);
	for (uint32_t i = 0; ing->workers != NULL && i < ing->n_workers; i++) {
		if (ing->workers[i].aio != NULL) {
			nng_aio_stop(ing->workers[i].aio);
		}
	}
	nng_close(ing->sock);
	for (uint32_t i = 0; ing->workers != NULL && i < ing->n_workers; i++) {
		struct worker *w = &ing->workers[i];
		if (w->aio != NULL) {
			nng_aio_free(w->aio);
		}
		request_release(w);
	}
	free(ing->workers);
	free(ing);
}
