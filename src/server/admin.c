/*
 * The Admin service: its table, its listeners (ipc, and tcp with the
 * admin secret) and the dispatch of every call, a read to the reader
 * threads (readpool), a write to the recorder as an exec job. The reads
 * are in admin_read.c, the writes in admin_write.c (admin_impl.h).
 */
#include "server/admin.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/quote.h"
#include "common/rpc_status.h"
#include "common/subject_name.h"
#include "hbmon/error.h"
#include "server/admin_impl.h"

/* Threads (and database connections) for Admin reads. */
#define READERS 2

void *
admin_alloc(struct call *c, size_t size)
{
	return arena_alloc(c->arena, size);
}

char *
admin_strdup(struct call *c, const char *s)
{
	return arena_strdup(c->arena, s);
}

static void
call_release(void *scratch)
{
	struct call *c = scratch;

	/* Ready for the worker's next request, and no secret lingers. */
	explicit_bzero(c, sizeof(*c));
}
int
admin_fail(struct call *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->rpc->code = code;
	va_start(ap, fmt);
	vsnprintf(c->rpc->message, sizeof(c->rpc->message), fmt, ap);
	va_end(ap);
	return HBMON_OK; /* the job itself went fine */
}

/* Sends the reply: the output, or the error in the call. */
static void
finish(struct call *c, int status)
{
	if (status == HBMON_ECLOSED && c->rpc->code == RPC_OK) {
		rpc_call_fail(c->rpc, RPC_UNAVAILABLE,
		              "hbmon-server is shutting down");
	}
	if (status != HBMON_OK && c->rpc->code == RPC_OK) {
		rpc_call_fail(c->rpc, RPC_UNAVAILABLE,
		              "the server could not %s its database (%s); try "
		              "again",
		              c->read.run != NULL ? "read" : "write",
		              c->job.why != NULL ? c->job.why : "error");
	}
	if (c->arena->failed && c->rpc->code == RPC_OK) {
		rpc_call_fail(c->rpc, RPC_RESOURCE_EXHAUSTED,
		              "out of memory building the reply");
	}
	if (c->read.run == NULL) {
		admin_audit_write(c);
	}
	c->done(c->rpc->code == RPC_OK ? c->output : NULL, c->rpc);
}

/* ---- the shape of every handler ---- */

/* Writes: on the writer, once the write is durable. */
static void
job_committed(struct recorder_job *job)
{
	struct call *c = job->arg;

	if (c->rpc->code == RPC_OK && c->apply != NULL) {
		c->apply(c);
	}
}

/* Writes: the reply, once committed (or failed); recorder.h says where. */
static void
job_done(struct recorder_job *job)
{
	finish(job->arg, job->status);
}

static int
job_exec(struct recorder *rec, struct recorder_job *job)
{
	struct call *c = job->arg;

	/* In the transaction of the request's own writes: a reply is only
	 * sent after the commit, so a request that was answered can never
	 * be replayed after a restart. */
	if (c->signed_seq != 0 &&
	    store_admin_seq_raise(recorder_store(rec), c->signed_seq) !=
	        HBMON_OK) {
		return HBMON_EIO;
	}
	return c->run(c);
}

static void
prepare(struct call *c, Hbmon__V1__Admin_Service *svc, struct rpc_call *rpc,
        const ProtobufCMessage *input, ProtobufCClosure done,
        int (*run)(struct call *c))
{
	static_assert(offsetof(struct admin, service) == 0,
	              "the service struct is the admin's first member");
	c->adm = (struct admin *) svc;
	c->rpc = rpc;
	c->arena = rpcserver_arena(rpc);
	c->done = done;
	c->input = input;
	c->run = run;
	c->signed_seq =
	    rpcserver_principal(rpc) != NULL ? rpc->request->seq : 0;
}

/*
 * Queues a write for the recorder thread; the reply goes when it is
 * committed. While the database cannot be written, writes are refused at
 * once: nothing the owner changes is half done.
 */
void
admin_submit_write(Hbmon__V1__Admin_Service *svc, void *data,
                   const ProtobufCMessage *input, ProtobufCClosure done,
                   int (*run)(struct call *c))
{
	struct rpc_call *rpc = data;
	struct call *c = rpcserver_scratch(rpc);

	prepare(c, svc, rpc, input, done, run);
	if (recorder_storage_failing(c->adm->rec)) {
		rpc_call_fail(
		    rpc, RPC_UNAVAILABLE,
		    "the server cannot write its database right now "
		    "(see STORAGE_FAILING in `hbctl alerts`); nothing "
		    "was changed: try again when it is resolved");
		finish(c, HBMON_OK);
		return;
	}
	c->job.exec = job_exec;
	c->job.committed = job_committed;
	c->job.done = job_done;
	c->job.arg = c;
	if (recorder_submit(c->adm->rec, &c->job) != HBMON_OK) {
		finish(c, HBMON_ECLOSED);
	}
}

/* Reads: on a reader thread, with its connection. */
static void
read_run(struct readpool_job *job, struct store *reader)
{
	struct call *c =
	    (struct call *) ((char *) job - offsetof(struct call, read));

	c->reader = reader;
	finish(c, c->run(c));
}

/* A signed read's seq, made durable behind it (admin_auth.h). */
struct seq_job {
	struct recorder_job job; /* first: the job is the allocation */
	uint64_t seq;
};

static int
seq_exec(struct recorder *rec, struct recorder_job *job)
{
	return store_admin_seq_raise(recorder_store(rec),
	                             ((struct seq_job *) job)->seq);
}

static void
seq_done(struct recorder_job *job)
{
	free(job);
}

/*
 * A read must not wait for the writer (it must be answered while the
 * disk is full), so its seq is made durable right after, by a job of its
 * own: a read replayed after a crash in between may be answered again; it
 * changes nothing. The floor in memory refuses it during the run.
 */
static void
persist_read_seq(struct call *c)
{
	struct seq_job *j;

	if (c->signed_seq == 0 || (j = calloc(1, sizeof(*j))) == NULL) {
		return;
	}
	static_assert(offsetof(struct seq_job, job) == 0,
	              "a seq job is its recorder job");
	j->seq = c->signed_seq;
	j->job.exec = seq_exec;
	j->job.done = seq_done;
	if (recorder_submit(c->adm->rec, &j->job) != HBMON_OK) {
		free(j);
	}
}

/* Queues a read for the reader threads; it never waits for the writer. */
void
admin_submit_read(Hbmon__V1__Admin_Service *svc, void *data,
                  const ProtobufCMessage *input, ProtobufCClosure done,
                  int (*run)(struct call *c))
{
	struct rpc_call *rpc = data;
	struct call *c = rpcserver_scratch(rpc);

	prepare(c, svc, rpc, input, done, run);
	persist_read_seq(c);
	c->read.run = read_run;
	if (readpool_submit(c->adm->readers, &c->read) != HBMON_OK) {
		rpc_call_fail(rpc, RPC_UNAVAILABLE,
		              "hbmon-server is shutting down");
		done(NULL, rpc);
	}
}

/* The recorder's memory, for reads (admin_impl.h). */
int
admin_from_memory(struct call *c, void (*fn)(void *arg, struct recorder *rec),
                  void *arg)
{
	return recorder_read(c->adm->rec, fn, arg);
}

/* The database connection of a read, or NULL with the call failed. */
struct store *
admin_reader_of(struct call *c)
{
	if (c->reader == NULL) {
		admin_fail(
		    c, RPC_UNAVAILABLE,
		    "the server cannot open its database for reading; try "
		    "again");
	}
	return c->reader;
}

/* Splits "R1" or "R1/ACC_003" and finds the subject. */
struct subject *
admin_find_subject(struct call *c, const char *subject)
{
	char robot[RULES_NAME_MAX + 1];
	char q[2 * QUOTE_NAME_SIZE];
	struct subject_name_ref ref;
	struct subject *s;

	if (!subject_name_parse(subject, &ref) ||
	    ref.robot_len > RULES_NAME_MAX) {
		admin_fail(
		    c, RPC_INVALID_ARGUMENT,
		    "'%s' is not a subject; write ROBOT or ROBOT/ACCOUNT",
		    quote_str(q, sizeof(q), subject));
		return NULL;
	}
	memcpy(robot, ref.robot, ref.robot_len);
	robot[ref.robot_len] = '\0';
	s = subjects_find(recorder_subjects(c->adm->rec), robot,
	                  ref.account != NULL ? ref.account : "");
	if (s == NULL) {
		admin_fail(c, RPC_NOT_FOUND,
		           "no %s '%s' has reported; `hbctl status` lists what "
		           "the server knows",
		           ref.account != NULL ? "account" : "robot",
		           quote_str(q, sizeof(q), subject));
	}
	return s;
}

/* ---- admission ---- */

/* The ipc socket is mode 0600: reaching it is the owner's proof. */
static enum rpcserver_admit
admit_ipc(void *arg, const Hbmon__V1__RpcRequest *req, int64_t now_ms,
          void **principal, uint8_t **reply, size_t *reply_len, int *code,
          char *why, size_t why_len)
{
	(void) arg;
	(void) req;
	(void) now_ms;
	(void) reply;
	(void) reply_len;
	(void) code;
	(void) why;
	(void) why_len;
	*principal = NULL;
	return RPCSERVER_NEW;
}

/* Over tcp, every request is signed as "@admin" with the admin secret. */
static enum rpcserver_admit
admit_tcp(void *arg, const Hbmon__V1__RpcRequest *req, int64_t now_ms,
          void **principal, uint8_t **reply, size_t *reply_len, int *code,
          char *why, size_t why_len)
{
	struct admin *adm = arg;

	(void) reply;
	(void) reply_len;
	*principal = NULL;
	if (!admin_auth_admit(&adm->auth, req, now_ms, code, why, why_len)) {
		return RPCSERVER_REJECT;
	}
	/* Not NULL: the call is signed, its seq is made durable. */
	*principal = &adm->auth;
	return RPCSERVER_NEW;
}

int
admin_start(const struct admin_options *opts, struct recorder *rec,
            struct registry *reg, struct admin **out, char *why, size_t why_len)
{
	struct admin *adm = calloc(1, sizeof(*adm));
	struct rpcserver_options ro = { 0 };
	int rv;

	if (adm == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__admin__init(&adm->service, NULL);
	adm->service.overview = admin_overview;
	adm->service.accounts = admin_accounts;
	adm->service.subject = admin_subject;
	adm->service.history = admin_history;
	adm->service.alerts_after = admin_alerts_after;
	adm->service.pause = admin_pause;
	adm->service.resume = admin_resume;
	adm->service.ack = admin_ack;
	adm->service.robot_add = admin_robot_add;
	adm->service.robot_list = admin_robot_list;
	adm->service.robot_rotate = admin_robot_rotate;
	adm->service.robot_remove = admin_robot_remove;
	adm->service.robot_set = admin_robot_set;
	adm->service.server_info = admin_server_info;
	adm->service.robot_ping_token = admin_robot_ping_token;
	adm->service.alerts_open = admin_alerts_open;
	adm->opts = *opts;
	adm->rec = rec;
	adm->reg = reg;
	if ((rv = readpool_start(opts->data_dir, READERS, &adm->readers)) !=
	    HBMON_OK) {
		snprintf(why, why_len, "cannot start the admin readers");
		goto fail;
	}

	ro.recv_max = opts->recv_max;
	ro.limits = opts->limits;
	ro.workers = 8; /* the owner's CLI and a few notifiers */
	ro.service = &adm->service.base;
	ro.arg = adm;
	ro.scratch_size = sizeof(struct call);
	ro.release = call_release;
	ro.name = "admin";
	ro.url = opts->ipc_url;
	ro.ipc_permissions = 0600;
	ro.admit = admit_ipc;
	if ((rv = rpcserver_start(&ro, &adm->ipc, why, why_len)) != HBMON_OK) {
		goto fail;
	}
	if (opts->tcp_url != NULL && opts->tcp_url[0] != '\0') {
		if (admin_auth_init(&adm->auth, opts->secret,
		                    opts->auth_window_ms,
		                    opts->seq_floor) != HBMON_OK) {
			snprintf(why, why_len,
			         "a tcp admin listener (%s) needs an admin "
			         "secret (admin_secret_file)",
			         opts->tcp_url);
			rv = HBMON_EINVAL;
			goto fail;
		}
		ro.name = "admin_tcp";
		ro.url = opts->tcp_url;
		ro.ipc_permissions = 0;
		ro.tls = opts->tls;
		ro.verify = opts->verify;
		ro.admit = admit_tcp;
		if ((rv = rpcserver_start(&ro, &adm->tcp, why, why_len)) !=
		    HBMON_OK) {
			goto fail;
		}
	}
	*out = adm;
	return HBMON_OK;

fail:
	admin_close(adm);
	return rv;
}

void
admin_drain(struct admin *adm, int64_t timeout_ms)
{
	if (adm == NULL) {
		return;
	}
	rpcserver_drain(adm->ipc, timeout_ms);
	if (adm->tcp != NULL) {
		rpcserver_drain(adm->tcp, timeout_ms);
	}
	/* New calls are refused now; the reads still queued are answered
	 * before the recorder they read from stops. */
	readpool_stop(adm->readers);
	adm->readers = NULL;
}

const char *
admin_ipc_url(const struct admin *adm)
{
	return rpcserver_url(adm->ipc);
}

const char *
admin_tcp_url(const struct admin *adm)
{
	return adm->tcp != NULL ? rpcserver_url(adm->tcp) : NULL;
}

struct listener *
admin_ipc_listener(struct admin *adm)
{
	return rpcserver_listener(adm->ipc);
}

struct listener *
admin_tcp_listener(struct admin *adm)
{
	return adm->tcp != NULL ? rpcserver_listener(adm->tcp) : NULL;
}

void
admin_close(struct admin *adm)
{
	if (adm == NULL) {
		return;
	}
	readpool_stop(adm->readers);
	rpcserver_close(adm->ipc);
	rpcserver_close(adm->tcp);
	admin_auth_fini(&adm->auth);
	free(adm);
}
