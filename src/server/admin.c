/*
 * The Admin service: reads on the reader threads (readpool), writes as
 * exec jobs on the recorder thread.
 */
#include "server/admin.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hbjson.h"
#include "common/quote.h"
#include "common/rfc3339.h"
#include "common/rpc_status.h"
#include "common/sign.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "server/admin_auth.h"
#include "server/engine.h"
#include "server/readpool.h"
#include "server/rpcserver.h"
#include "server/rules.h"

#define L(x) HBMON__V1__LIVENESS__LIVENESS_##x

/* Page sizes: what a reply carries at most. */
#define ALERTS_PAGE_DEFAULT 100
#define ALERTS_PAGE_MAX     1000
#define RECENT_DEFAULT      10
#define RECENT_MAX          1000
#define HISTORY_DEFAULT     100
#define HISTORY_MAX         10000

/* Threads (and database connections) for Admin reads. */
#define READERS 2

struct admin {
	/* The generated service struct; first, so handlers find the admin
	 * from the service pointer they are given. */
	Hbmon__V1__Admin_Service service;
	struct admin_options opts;
	struct recorder *rec;
	struct registry *reg;
	struct readpool *readers;
	struct rpcserver *ipc;
	struct rpcserver *tcp;
	struct admin_auth auth; /* admin_tcp's; unused without it */
};

/* ---- per-call state; memory comes from the worker's arena ---- */

/* A subject's names and id, copied out of memory for the reads that
 * follow on a reader thread. */
struct subject_ref {
	int64_t id;
	char robot[RULES_NAME_MAX + 1];
	char account[RULES_NAME_MAX + 1];
	bool is_robot;
};

struct call {
	struct recorder_job job;  /* writes: the exec job; job.arg is this */
	struct readpool_job read; /* reads: the reader threads' job */
	struct admin *adm;
	struct rpc_call *rpc;
	ProtobufCClosure done;
	const ProtobufCMessage *input;
	ProtobufCMessage *output;
	int (*run)(struct call *c);
	/* Writes: what changes in memory once the write is committed (on the
	 * recorder thread, before the reply). NULL: nothing. */
	void (*apply)(struct call *c);
	struct arena *arena;  /* the worker's: reset after the reply */
	struct store *reader; /* reads: the thread's connection, or NULL */
	/* A signed admin_tcp request's seq, made durable with what it does
	 * (writes) or right after (reads); 0 over ipc. */
	uint64_t signed_seq;
	struct subject_ref subject;
	/* Writes: what apply changes. */
	char secret[SIGN_SECRET_MAX];
	int64_t interval_ms;
};

/* Zeroed memory that lives until the reply is sent. */
static void *
alloc(struct call *c, size_t size)
{
	return arena_alloc(c->arena, size);
}

static char *
dup(struct call *c, const char *s)
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

static int fail(struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct call *c, int code, const char *fmt, ...)
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
	c->done(c->rpc->code == RPC_OK ? c->output : NULL, c->rpc);
}

/* ---- the shape of every handler ---- */

/* Writes: on the recorder thread, after the commit (or its failure). */
static void
job_done(struct recorder_job *job)
{
	struct call *c = job->arg;

	if (job->status == HBMON_OK && c->rpc->code == RPC_OK &&
	    c->apply != NULL) {
		c->apply(c);
	}
	finish(c, job->status);
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
static void
submit_write(Hbmon__V1__Admin_Service *svc, void *data,
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
		done(NULL, rpc);
		return;
	}
	c->job.exec = job_exec;
	c->job.done = job_done;
	c->job.arg = c;
	if (recorder_submit(c->adm->rec, &c->job) != HBMON_OK) {
		rpc_call_fail(rpc, RPC_UNAVAILABLE,
		              "hbmon-server is shutting down");
		done(NULL, rpc);
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
static void
submit_read(Hbmon__V1__Admin_Service *svc, void *data,
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

/* Defines the generated handler of a method: a read or a write. */
#define HANDLER(kind, name, In, Closure)                                       \
	static int run_##name(struct call *c);                                 \
	static void name(Hbmon__V1__Admin_Service *svc, const In *input,       \
	                 Closure closure, void *data)                          \
	{                                                                      \
		submit_##kind(svc, data, &input->base,                         \
		              (ProtobufCClosure) closure, run_##name);         \
	}

/*
 * Runs fn on the recorder thread with the state in memory (read jobs
 * use this for what is not in the database). Returns HBMON_OK or
 * HBMON_ECLOSED.
 */
static int
from_memory(struct call *c, void (*fn)(void *arg, struct recorder *rec))
{
	return recorder_read(c->adm->rec, fn, c);
}

/* The database connection of a read, or NULL with the call failed. */
static struct store *
reader_of(struct call *c)
{
	if (c->reader == NULL) {
		fail(c, RPC_UNAVAILABLE,
		     "the server cannot open its database for reading; try "
		     "again");
	}
	return c->reader;
}

/* ---- reading state (on the recorder thread, through from_memory) ---- */

/* Splits "R1" or "R1/ACC_003" and finds the subject. */
static struct subject *
find_subject(struct call *c, const char *subject)
{
	char robot[RULES_NAME_MAX + 1];
	char q[2 * QUOTE_NAME_SIZE];
	const char *slash = subject != NULL ? strchr(subject, '/') : NULL;
	size_t n = slash != NULL ? (size_t) (slash - subject)
	                         : (subject != NULL ? strlen(subject) : 0);
	struct subject *s;

	if (n == 0 || n > RULES_NAME_MAX) {
		fail(c, RPC_INVALID_ARGUMENT,
		     "'%s' is not a subject; write ROBOT or ROBOT/ACCOUNT",
		     quote_str(q, sizeof(q), subject));
		return NULL;
	}
	memcpy(robot, subject, n);
	robot[n] = '\0';
	s = subjects_find(recorder_subjects(c->adm->rec), robot,
	                  slash != NULL ? slash + 1 : "");
	if (s == NULL) {
		fail(c, RPC_NOT_FOUND,
		     "no %s '%s' has reported; `hbctl status` lists what "
		     "the server knows",
		     slash != NULL ? "account" : "robot",
		     quote_str(q, sizeof(q), subject));
	}
	return s;
}

/* Copies what the reads after it need of s. */
static void
ref_subject(struct call *c, const struct subject *s)
{
	c->subject.id = s->id;
	snprintf(c->subject.robot, sizeof(c->subject.robot), "%s",
	         subject_robot(s));
	snprintf(c->subject.account, sizeof(c->subject.account), "%s",
	         subject_account(s));
	c->subject.is_robot = subject_is_robot(s);
}

static Hbmon__V1__Liveness
liveness_of(struct call *c, const struct subject *s, uint32_t misses,
            int64_t wall)
{
	if (engine_paused(s, wall)) {
		return L(PAUSED);
	}
	if (!s->heard) {
		return L(UNKNOWN);
	}
	if (s->liveness == LIVE_DOWN || misses > c->adm->opts.miss_threshold) {
		return L(DOWN);
	}
	return misses >= 1 || s->liveness == LIVE_LATE ? L(LATE) : L(OK);
}

/* Fills a SubjectState (strings and counts) for s. */
static Hbmon__V1__SubjectState *
state_of(struct call *c, const struct subject *s)
{
	Hbmon__V1__SubjectState *st = alloc(c, sizeof(*st));
	struct engine *e = recorder_engine(c->adm->rec);
	char ts[RFC3339_MAX];
	int64_t now, wall;

	if (st == NULL) {
		return NULL;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	hbmon__v1__subject_state__init(st);
	st->robot = dup(c, subject_robot(s));
	st->account = dup(c, subject_account(s));
	st->misses = engine_misses(e, s, now);
	st->liveness = liveness_of(c, s, st->misses, wall);
	if (subject_is_robot(s)) {
		st->health = s->status;
	} else {
		st->account_status = s->status;
	}
	st->session_valid = s->session_valid;
	st->open_orders = s->open_orders;
	st->active_accounts = s->active_accounts;
	st->active_tasks = s->active_tasks;
	st->last_seen_ms = s->last_seen_ms;
	st->last_timestamp = dup(c, subject_timestamp(s, ts, sizeof(ts)));
	st->paused_until_ms =
	    s->paused_until_ms > wall ? s->paused_until_ms : 0;
	st->pause_reason = (char *) "";
	for (const struct subject *a = s->accounts; a != NULL;
	     a = a->next_account) {
		uint32_t m = engine_misses(e, a, now);
		Hbmon__V1__Liveness l = liveness_of(c, a, m, wall);

		st->accounts_total++;
		switch (a->status) {
		case HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_IDLE:
			st->accounts_idle++;
			break;
		case HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE:
			st->accounts_active++;
			break;
		case HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_EXPIRED:
			st->accounts_expired++;
			break;
		case HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ERROR:
			st->accounts_error++;
			break;
		default:
			break;
		}
		if (l == L(LATE)) {
			st->accounts_late++;
		} else if (l == L(DOWN)) {
			st->accounts_down++;
		}
	}
	return st;
}

/* A list of subjects, collected then sorted by name. */
struct picked {
	struct call *c;
	const char *robot; /* NULL: any */
	bool robots;       /* robots, not accounts */
	const struct subject **items;
	size_t n, cap;
};

static int
pick(struct subject *s, void *arg)
{
	struct picked *p = arg;

	if (subject_is_robot(s) != p->robots ||
	    (p->robot != NULL && strcmp(subject_robot(s), p->robot) != 0)) {
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap == 0 ? 64 : 2 * p->cap;
		const struct subject **items =
		    alloc(p->c, cap * sizeof(*items));
		if (items == NULL) {
			return HBMON_ENOMEM;
		}
		if (p->n > 0) {
			memcpy(items, p->items, p->n * sizeof(*items));
		}
		p->items = items;
		p->cap = cap;
	}
	p->items[p->n++] = s;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	const struct subject *x = *(const struct subject *const *) a;
	const struct subject *y = *(const struct subject *const *) b;
	int r = strcmp(subject_robot(x), subject_robot(y));

	return r != 0 ? r : strcmp(subject_account(x), subject_account(y));
}

/* Collects, sorts and converts a list of subjects to SubjectStates. */
static Hbmon__V1__SubjectState **
states(struct call *c, bool robots, const char *robot, size_t *out_n)
{
	struct picked p = { c, robot, robots, NULL, 0, 0 };
	Hbmon__V1__SubjectState **out;

	if (subjects_each(recorder_subjects(c->adm->rec), pick, &p) != 0) {
		return NULL;
	}
	/* No subjects: items is NULL, which qsort must never be given. */
	if (p.n > 1) {
		qsort(p.items, p.n, sizeof(*p.items), by_name);
	}
	out = alloc(c, (p.n + 1) * sizeof(*out));
	for (size_t i = 0; out != NULL && i < p.n; i++) {
		out[i] = state_of(c, p.items[i]);
	}
	*out_n = p.n;
	return out;
}

/* ---- Overview, Accounts ---- */

static int
by_robot(const void *a, const void *b)
{
	return strcmp((*(Hbmon__V1__SubjectState *const *) a)->robot,
	              (*(Hbmon__V1__SubjectState *const *) b)->robot);
}

static void
overview_memory(void *arg, struct recorder *rec)
{
	struct call *c = arg;
	Hbmon__V1__OverviewReply *r = (Hbmon__V1__OverviewReply *) c->output;

	(void) rec;
	r->robots = states(c, true, NULL, &r->n_robots);
}

struct unheard {
	struct call *c;
	Hbmon__V1__OverviewReply *r;
	size_t heard; /* r->robots[0..heard) are the robots in memory */
};

static int
add_unheard(void *arg, const struct store_robot *row)
{
	struct unheard *u = arg;
	Hbmon__V1__OverviewReply *r = u->r;
	Hbmon__V1__SubjectState key = HBMON__V1__SUBJECT_STATE__INIT;
	Hbmon__V1__SubjectState *kp = &key, *st, **grown;

	key.robot = (char *) row->robot;
	if (u->heard > 0 && bsearch(&kp, r->robots, u->heard,
	                            sizeof(*r->robots), by_robot) != NULL) {
		return 0;
	}
	st = alloc(u->c, sizeof(*st));
	grown = alloc(u->c, (r->n_robots + 1) * sizeof(*grown));
	if (st == NULL || grown == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__subject_state__init(st);
	st->robot = dup(u->c, row->robot);
	st->account = (char *) "";
	st->liveness = L(UNKNOWN);
	st->last_timestamp = (char *) "";
	st->pause_reason = (char *) "";
	if (r->n_robots > 0) {
		memcpy(grown, r->robots, r->n_robots * sizeof(*grown));
	}
	grown[r->n_robots++] = st;
	r->robots = grown;
	return 0;
}

HANDLER(read, overview, Hbmon__V1__OverviewRequest,
        Hbmon__V1__OverviewReply_Closure)
static int
run_overview(struct call *c)
{
	Hbmon__V1__OverviewReply *r = alloc(c, sizeof(*r));
	struct unheard u = { c, r, 0 };
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__overview_reply__init(r);
	c->output = &r->base;
	if ((rv = from_memory(c, overview_memory)) != HBMON_OK) {
		return rv;
	}
	/* Registered robots that never reported are shown too: a robot
	 * that was set up and never came is worth seeing. Without the
	 * database, the robots heard from are still worth showing. */
	u.heard = r->n_robots;
	if (r->robots != NULL && c->reader != NULL &&
	    store_robots_each(c->reader, add_unheard, &u) == HBMON_OK) {
		qsort(r->robots, r->n_robots, sizeof(*r->robots), by_robot);
	}
	return HBMON_OK;
}

static void
accounts_memory(void *arg, struct recorder *rec)
{
	struct call *c = arg;
	const Hbmon__V1__AccountsRequest *in =
	    (const Hbmon__V1__AccountsRequest *) c->input;
	const char *robot =
	    in->robot != NULL && in->robot[0] != '\0' ? in->robot : NULL;
	Hbmon__V1__AccountsReply *r;
	char q[QUOTE_NAME_SIZE];

	if (robot != NULL &&
	    subjects_find(recorder_subjects(rec), robot, "") == NULL) {
		fail(c, RPC_NOT_FOUND,
		     "no robot '%s' has reported; `hbctl status` lists the "
		     "robots",
		     quote_str(q, sizeof(q), robot));
		return;
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return;
	}
	hbmon__v1__accounts_reply__init(r);
	r->accounts = states(c, false, robot, &r->n_accounts);
	c->output = &r->base;
}

HANDLER(read, accounts, Hbmon__V1__AccountsRequest,
        Hbmon__V1__AccountsReply_Closure)
static int
run_accounts(struct call *c)
{
	return from_memory(c, accounts_memory);
}

/* ---- Subject, History: memory, then the database ---- */

struct rows {
	struct call *c;
	const struct subject_ref *s;
	Hbmon__V1__HeartbeatRecord **hb;
	size_t n_hb;
	Hbmon__V1__TransitionRecord **tr;
	size_t n_tr;
};

static int
add_heartbeat(void *arg, const struct store_heartbeat_row *row)
{
	struct rows *r = arg;
	Hbmon__V1__HeartbeatRecord *h = alloc(r->c, sizeof(*h));
	char *json;

	if (h == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__heartbeat_record__init(h);
	h->received_ms = row->received_ms;
	h->robot = (char *) r->s->robot;
	h->account = (char *) r->s->account;
	if (r->s->is_robot) {
		Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
		hb.event = "ROBOT_HEARTBEAT";
		hb.status = row->status;
		hb.active_accounts = row->active_accounts;
		hb.active_tasks = row->active_tasks;
		hb.timestamp = (char *) row->timestamp;
		json = hbjson_robot_text(&hb, HBJSON_COMPACT);
	} else {
		Hbmon__V1__AccountHeartbeat hb =
		    HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
		hb.event = "ACCOUNT_HEARTBEAT";
		hb.account = (char *) r->s->account;
		hb.status = row->status;
		hb.session_valid = row->session_valid;
		hb.open_orders = row->open_orders;
		hb.timestamp = (char *) row->timestamp;
		json = hbjson_account_text(&hb, HBJSON_COMPACT);
	}
	h->json = dup(r->c, json);
	free(json);
	r->hb[r->n_hb++] = h;
	return 0;
}

static const char *
status_word(const struct subject_ref *s, int status)
{
	const char *w =
	    s->is_robot ? words_health(status) : words_account(status);
	return w != NULL ? w : "";
}

static int
add_transition(void *arg, const struct store_transition_row *row)
{
	struct rows *r = arg;
	Hbmon__V1__TransitionRecord *t = alloc(r->c, sizeof(*t));

	if (t == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__transition_record__init(t);
	t->received_ms = row->received_ms;
	t->robot = (char *) r->s->robot;
	t->account = (char *) r->s->account;
	t->from_status = (char *) status_word(r->s, row->from_status);
	t->to_status = (char *) status_word(r->s, row->to_status);
	t->allowed = row->allowed;
	r->tr[r->n_tr++] = t;
	return 0;
}

/* Reads up to limit heartbeats and transitions of c's subject. */
static int
read_rows(struct call *c, struct store *st, int64_t since, int64_t until,
          uint32_t limit, bool newest, struct rows *r)
{
	int rv;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->s = &c->subject;
	r->hb = alloc(c, (limit + 1) * sizeof(*r->hb));
	r->tr = alloc(c, (limit + 1) * sizeof(*r->tr));
	if (r->hb == NULL || r->tr == NULL) {
		return HBMON_OK;
	}
	rv = store_heartbeats_each(st, c->subject.robot, c->subject.account,
	                           since, until, limit, newest, add_heartbeat,
	                           r);
	if (rv == HBMON_OK) {
		rv = store_transitions_each(st, c->subject.id, since, until,
		                            limit, newest, add_transition, r);
	}
	return rv == HBMON_ENOMEM ? HBMON_OK : rv;
}

/* The subject named in a Subject or History request, from memory. */
static void
subject_memory(void *arg, struct recorder *rec)
{
	struct call *c = arg;
	const char *name =
	    c->input->descriptor == &hbmon__v1__subject_request__descriptor
	        ? ((const Hbmon__V1__SubjectRequest *) c->input)->subject
	        : ((const Hbmon__V1__HistoryRequest *) c->input)->subject;
	struct subject *s = find_subject(c, name);

	(void) rec;
	if (s == NULL) {
		return;
	}
	ref_subject(c, s);
	if (c->output != NULL) {
		/* Subject: its state too. */
		Hbmon__V1__SubjectReply *r =
		    (Hbmon__V1__SubjectReply *) c->output;
		r->state = state_of(c, s);
	}
}

struct reason_ctx {
	struct call *c;
	Hbmon__V1__SubjectState *state;
};

/* Copies a paused subject's reason out of its row (valid during the call). */
static int
copy_pause_reason(void *arg, const struct store_subject *row)
{
	struct reason_ctx *rc = arg;

	rc->state->pause_reason = dup(rc->c, row->pause_reason);
	return 0;
}

HANDLER(read, subject, Hbmon__V1__SubjectRequest,
        Hbmon__V1__SubjectReply_Closure)
static int
run_subject(struct call *c)
{
	const Hbmon__V1__SubjectRequest *in =
	    (const Hbmon__V1__SubjectRequest *) c->input;
	uint32_t recent = in->recent > 0 ? in->recent : RECENT_DEFAULT;
	Hbmon__V1__SubjectReply *r;
	struct store *st;
	struct rows rows;
	int rv;

	if (recent > RECENT_MAX) {
		recent = RECENT_MAX;
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__subject_reply__init(r);
	c->output = &r->base;
	if ((rv = from_memory(c, subject_memory)) != HBMON_OK ||
	    c->rpc->code != RPC_OK) {
		return rv;
	}
	if ((st = c->reader) == NULL) {
		/* The state from memory is worth having without the
		 * heartbeats the database would add. */
		return HBMON_OK;
	}
	if (r->state != NULL && r->state->paused_until_ms > 0) {
		struct reason_ctx rc = { c, r->state };
		store_subject_get(st, c->subject.id, copy_pause_reason, &rc);
	}
	if ((rv = read_rows(c, st, 0, 0, recent, true, &rows)) != HBMON_OK) {
		return rv;
	}
	r->heartbeats = rows.hb;
	r->n_heartbeats = rows.n_hb;
	r->transitions = rows.tr;
	r->n_transitions = rows.n_tr;
	return HBMON_OK;
}

HANDLER(read, history, Hbmon__V1__HistoryRequest,
        Hbmon__V1__HistoryReply_Closure)
static int
run_history(struct call *c)
{
	const Hbmon__V1__HistoryRequest *in =
	    (const Hbmon__V1__HistoryRequest *) c->input;
	uint32_t limit = in->limit > 0 ? in->limit : HISTORY_DEFAULT;
	Hbmon__V1__HistoryReply *r;
	struct store *st;
	struct rows rows;
	int rv;

	if (in->until_ms != 0 && in->until_ms < in->since_ms) {
		return fail(c, RPC_INVALID_ARGUMENT,
		            "the end of the range is before its start");
	}
	if (limit > HISTORY_MAX) {
		limit = HISTORY_MAX;
	}
	if ((rv = from_memory(c, subject_memory)) != HBMON_OK ||
	    c->rpc->code != RPC_OK || (st = reader_of(c)) == NULL) {
		return rv;
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__history_reply__init(r);
	if ((rv = read_rows(c, st, in->since_ms, in->until_ms, limit, false,
	                    &rows)) != HBMON_OK) {
		return rv;
	}
	r->heartbeats = rows.hb;
	r->n_heartbeats = rows.n_hb;
	r->transitions = rows.tr;
	r->n_transitions = rows.n_tr;
	r->truncated = rows.n_hb == limit || rows.n_tr == limit;
	c->output = &r->base;
	return HBMON_OK;
}

/* ---- AlertsAfter: the outbox, then what is not in it yet ---- */

struct alerts_page {
	struct call *c;
	Hbmon__V1__Alert **alerts;
	size_t n, limit;
	uint64_t after;
	uint64_t written; /* the outbox holds the alerts up to here */
	uint64_t avail;   /* the highest seq there is to hand out */
	/* From memory: alerts given out but not in the outbox yet. */
	Hbmon__V1__Alert **unwritten;
	size_t n_unwritten;
};

static int
add_alert(void *arg, const struct store_alert *row)
{
	struct alerts_page *p = arg;
	Hbmon__V1__Alert *a;

	if (row->seq > p->written) {
		return 1; /* written after memory was looked at: from there */
	}
	a = hbmon__v1__alert__unpack(&p->c->arena->pb, row->body_len,
	                             row->body);
	if (a == NULL) {
		return HBMON_EIO;
	}
	p->alerts[p->n++] = a;
	return 0;
}

static int
add_unwritten(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
	struct alerts_page *p = arg;
	Hbmon__V1__Alert *a =
	    hbmon__v1__alert__unpack(&p->c->arena->pb, len, body);

	(void) seq;
	if (a == NULL) {
		return HBMON_ENOMEM;
	}
	a->not_durable = true;
	p->unwritten[p->n_unwritten++] = a;
	return 0;
}

static void
alerts_memory(void *arg, struct recorder *rec)
{
	struct alerts_page *p = arg;
	struct engine *e = recorder_engine(rec);

	const Hbmon__V1__AlertsAfterRequest *in =
	    (const Hbmon__V1__AlertsAfterRequest *) p->c->input;

	if (in->reader != NULL && in->reader[0] != '\0') {
		int64_t now, wall;
		recorder_clock(rec, &now, &wall);
		(void) recorder_note_reader(rec, in->reader, in->delivered_seq,
		                            wall);
	}
	p->written = engine_committed_seq(e);
	p->avail = engine_given_seq(e);
	engine_unwritten(e, p->after > p->written ? p->after : p->written,
	                 (uint32_t) p->limit, add_unwritten, p);
}

/* recorder_read's fn takes the page, not the call. */
static int
alerts_from_memory(struct alerts_page *p)
{
	return recorder_read(p->c->adm->rec, alerts_memory, p);
}

HANDLER(read, alerts_after, Hbmon__V1__AlertsAfterRequest,
        Hbmon__V1__AlertsAfterReply_Closure)
static int
run_alerts_after(struct call *c)
{
	const Hbmon__V1__AlertsAfterRequest *in =
	    (const Hbmon__V1__AlertsAfterRequest *) c->input;
	uint32_t limit = in->limit > 0 ? in->limit : ALERTS_PAGE_DEFAULT;
	Hbmon__V1__AlertsAfterReply *r = alloc(c, sizeof(*r));
	struct alerts_page p = { 0 };
	struct store *st;
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	if (limit > ALERTS_PAGE_MAX) {
		limit = ALERTS_PAGE_MAX;
	}
	hbmon__v1__alerts_after_reply__init(r);
	p.c = c;
	p.limit = limit;
	p.after = in->after_seq;
	p.alerts = alloc(c, (limit + 1) * sizeof(*p.alerts));
	p.unwritten = alloc(c, (limit + 1) * sizeof(*p.unwritten));
	if (p.alerts == NULL || p.unwritten == NULL) {
		return HBMON_OK;
	}
	/* Memory first: what the outbox holds up to, and what went out
	 * beyond it. The outbox is then read only up to there, so nothing
	 * is handed out twice or skipped while the backlog is written. */
	if ((rv = alerts_from_memory(&p)) != HBMON_OK) {
		return rv;
	}
	if (p.after < p.written) {
		if ((st = reader_of(c)) == NULL) {
			return HBMON_OK;
		}
		rv = store_alerts_after(st, p.after, limit, add_alert, &p);
		if (rv != HBMON_OK && rv != 1) {
			return rv;
		}
	}
	for (size_t i = 0; i < p.n_unwritten && p.n < limit; i++) {
		p.alerts[p.n++] = p.unwritten[i];
	}
	r->alerts = p.alerts;
	r->n_alerts = p.n;
	r->last_seq = p.avail;
	r->written_seq = p.written;
	r->more = p.n > 0 && r->alerts[p.n - 1]->seq < p.avail;
	c->output = &r->base;
	return HBMON_OK;
}

/* ---- RobotList, ServerInfo ---- */

struct robot_list {
	struct call *c;
	Hbmon__V1__RobotInfo **items;
	size_t n, cap;
};

static int
add_robot(void *arg, const struct store_robot *row)
{
	struct robot_list *l = arg;
	Hbmon__V1__RobotInfo *info;

	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 64 : 2 * l->cap;
		Hbmon__V1__RobotInfo **items =
		    alloc(l->c, cap * sizeof(*items));
		if (items == NULL) {
			return HBMON_ENOMEM;
		}
		if (l->n > 0) {
			memcpy(items, l->items, l->n * sizeof(*items));
		}
		l->items = items;
		l->cap = cap;
	}
	if ((info = alloc(l->c, sizeof(*info))) == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__robot_info__init(info);
	info->robot = dup(l->c, row->robot);
	info->created_ms = row->created_ms;
	info->last_seq = row->last_seq;
	info->interval_max_ms = row->interval_max_ms;
	l->items[l->n++] = info;
	return 0;
}

static void
robot_list_memory(void *arg, struct recorder *rec)
{
	struct robot_list *l = arg;

	for (size_t i = 0; i < l->n; i++) {
		Hbmon__V1__RobotInfo *info = l->items[i];
		struct subject *s =
		    subjects_find(recorder_subjects(rec), info->robot, "");
		if (s != NULL) {
			info->last_seen_ms = s->last_seen_ms;
			info->accounts = s->n_accounts;
		}
	}
}

HANDLER(read, robot_list, Hbmon__V1__RobotListRequest,
        Hbmon__V1__RobotListReply_Closure)
static int
run_robot_list(struct call *c)
{
	Hbmon__V1__RobotListReply *r = alloc(c, sizeof(*r));
	struct robot_list l = { c, NULL, 0, 0 };
	struct store *st;
	int rv;

	if (r == NULL || (st = reader_of(c)) == NULL) {
		return HBMON_OK;
	}
	rv = store_robots_each(st, add_robot, &l);
	if (rv != HBMON_OK && rv != HBMON_ENOMEM) {
		return rv;
	}
	if ((rv = recorder_read(c->adm->rec, robot_list_memory, &l)) !=
	    HBMON_OK) {
		return rv;
	}
	hbmon__v1__robot_list_reply__init(r);
	r->robots = l.items;
	r->n_robots = l.n;
	c->output = &r->base;
	return HBMON_OK;
}

static int
count_subject(struct subject *s, void *arg)
{
	uint32_t *counts = arg;

	counts[subject_is_robot(s) ? 0 : 1]++;
	return 0;
}

static void
server_info_memory(void *arg, struct recorder *rec)
{
	struct call *c = arg;
	Hbmon__V1__ServerInfoReply *r =
	    (Hbmon__V1__ServerInfoReply *) c->output;
	uint32_t counts[2] = { 0, 0 };
	int64_t now, wall;

	recorder_clock(rec, &now, &wall);
	subjects_each(recorder_subjects(rec), count_subject, counts);
	r->uptime_ms = wall - c->adm->opts.started_ms;
	r->robots = counts[0];
	r->accounts = counts[1];
	r->last_alert_seq = engine_given_seq(recorder_engine(rec));
}

HANDLER(read, server_info, Hbmon__V1__ServerInfoRequest,
        Hbmon__V1__ServerInfoReply_Closure)
static int
run_server_info(struct call *c)
{
	Hbmon__V1__ServerInfoReply *r = alloc(c, sizeof(*r));
	int64_t heartbeats = 0, alerts = 0;
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__server_info_reply__init(r);
	r->version = (char *) c->adm->opts.version;
	r->started_ms = c->adm->opts.started_ms;
	c->output = &r->base;
	if ((rv = from_memory(c, server_info_memory)) != HBMON_OK) {
		return rv;
	}
	/* What only the database knows; without it the rest still answers
	 * (hbctl status and check must work on a sick disk). */
	if (c->reader != NULL) {
		store_heartbeats_total(c->reader, &heartbeats);
		store_count(c->reader, "alerts", &alerts);
		r->database_bytes = store_size(c->reader);
	}
	r->heartbeats = (uint64_t) heartbeats;
	r->alerts = (uint64_t) alerts;
	return HBMON_OK;
}

/* ---- writes: on the recorder thread, applied once committed ---- */

struct ack_ctx {
	struct call *c;
	Hbmon__V1__AckReply *r;
};

static int
ack_key(void *arg, const struct store_alert *row)
{
	struct ack_ctx *a = arg;

	a->r->dedupe_key = dup(a->c, row->dedupe_key);
	return 0;
}

HANDLER(write, ack, Hbmon__V1__AckRequest, Hbmon__V1__AckReply_Closure)
static int
run_ack(struct call *c)
{
	const Hbmon__V1__AckRequest *in =
	    (const Hbmon__V1__AckRequest *) c->input;
	Hbmon__V1__AckReply *r = alloc(c, sizeof(*r));
	char why[256] = "";
	int64_t now, wall;
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = engine_ack(recorder_engine(c->adm->rec), in->seq, in->by, wall,
	                why, sizeof(why));
	switch (rv) {
	case HBMON_OK:
		break;
	case HBMON_ENOENT:
		return fail(c, RPC_NOT_FOUND, "%s", why);
	case HBMON_EINVAL:
		return fail(c, RPC_FAILED_PRECONDITION, "%s", why);
	default:
		return rv;
	}
	hbmon__v1__ack_reply__init(r);
	r->dedupe_key = (char *) "";
	{
		struct ack_ctx a = { c, r };
		store_alerts_after(recorder_store(c->adm->rec), in->seq - 1, 1,
		                   ack_key, &a);
	}
	c->output = &r->base;
	return HBMON_OK;
}

HANDLER(write, pause, Hbmon__V1__PauseRequest, Hbmon__V1__PauseReply_Closure)
static int
run_pause(struct call *c)
{
	const Hbmon__V1__PauseRequest *in =
	    (const Hbmon__V1__PauseRequest *) c->input;
	struct subject *s = find_subject(c, in->subject);
	Hbmon__V1__PauseReply *r;
	int64_t now, wall;
	int rv;

	if (s == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	if (in->until_ms <= wall) {
		return fail(c, RPC_INVALID_ARGUMENT,
		            "the pause would end in the past; give a time "
		            "ahead, e.g. --for 2h");
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	rv = engine_pause(recorder_engine(c->adm->rec), s, in->until_ms,
	                  in->reason, now, wall);
	if (rv != HBMON_OK) {
		return rv;
	}
	hbmon__v1__pause_reply__init(r);
	r->until_ms = in->until_ms;
	c->output = &r->base;
	return HBMON_OK;
}

HANDLER(write, resume, Hbmon__V1__ResumeRequest, Hbmon__V1__ResumeReply_Closure)
static int
run_resume(struct call *c)
{
	const Hbmon__V1__ResumeRequest *in =
	    (const Hbmon__V1__ResumeRequest *) c->input;
	struct subject *s = find_subject(c, in->subject);
	Hbmon__V1__ResumeReply *r;
	int64_t now, wall;
	int rv;

	if (s == NULL) {
		return HBMON_OK;
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = engine_pause(recorder_engine(c->adm->rec), s, 0, "", now, wall);
	if (rv != HBMON_OK) {
		return rv;
	}
	hbmon__v1__resume_reply__init(r);
	c->output = &r->base;
	return HBMON_OK;
}

/* ---- the robot registry: written first, then changed in memory ---- */

static int
robot_secret_reply(struct call *c, const char *robot, const char *secret)
{
	Hbmon__V1__RobotAddReply *r = alloc(c, sizeof(*r));

	if (r == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__robot_add_reply__init(r);
	r->robot = dup(c, robot);
	r->secret = dup(c, secret);
	c->output = &r->base;
	return HBMON_OK;
}

/* After the commit: the new secret works (and resets the seq floor). */
static void
apply_secret(struct call *c)
{
	const char *robot =
	    c->input->descriptor == &hbmon__v1__robot_add_request__descriptor
	        ? ((const Hbmon__V1__RobotAddRequest *) c->input)->robot
	        : ((const Hbmon__V1__RobotRotateRequest *) c->input)->robot;

	if (registry_set_secret(c->adm->reg, robot, c->secret) != HBMON_OK) {
		fail(c, RPC_RESOURCE_EXHAUSTED,
		     "out of memory; the secret is stored: `hbctl robot "
		     "rotate %s` again",
		     robot);
	}
	explicit_bzero(c->secret, sizeof(c->secret));
}

HANDLER(write, robot_add, Hbmon__V1__RobotAddRequest,
        Hbmon__V1__RobotAddReply_Closure)
static int
run_robot_add(struct call *c)
{
	const Hbmon__V1__RobotAddRequest *in =
	    (const Hbmon__V1__RobotAddRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	char why[128];
	int64_t now, wall;
	int rv;

	if (rules_check_robot_id(in->robot, why, sizeof(why)) != HBMON_OK) {
		return fail(c, RPC_INVALID_ARGUMENT, "%s", why);
	}
	if (known != NULL && !known->removed) {
		return fail(c, RPC_ALREADY_EXISTS,
		            "robot '%s' is already registered; `hbctl robot "
		            "rotate %s` gives it a new secret",
		            in->robot, in->robot);
	}
	if (sign_new_secret(c->secret, sizeof(c->secret)) != HBMON_OK) {
		return fail(c, RPC_INTERNAL, "no randomness for a secret");
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = store_robot_add(recorder_store(c->adm->rec), in->robot, c->secret,
	                     wall);
	if (rv == HBMON_EEXIST) {
		/* Removed earlier: the row went, a stale one means a race. */
		rv = store_robot_secret(recorder_store(c->adm->rec), in->robot,
		                        c->secret);
	}
	if (rv != HBMON_OK) {
		return HBMON_EIO;
	}
	c->apply = apply_secret;
	return robot_secret_reply(c, in->robot, c->secret);
}

HANDLER(write, robot_rotate, Hbmon__V1__RobotRotateRequest,
        Hbmon__V1__RobotAddReply_Closure)
static int
run_robot_rotate(struct call *c)
{
	const Hbmon__V1__RobotRotateRequest *in =
	    (const Hbmon__V1__RobotRotateRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	char q[QUOTE_NAME_SIZE];

	if (known == NULL || known->removed) {
		return fail(c, RPC_NOT_FOUND,
		            "robot '%s' is not registered; `hbctl robot "
		            "list` shows the robots",
		            quote_str(q, sizeof(q), in->robot));
	}
	if (sign_new_secret(c->secret, sizeof(c->secret)) != HBMON_OK) {
		return fail(c, RPC_INTERNAL, "no randomness for a secret");
	}
	if (store_robot_secret(recorder_store(c->adm->rec), in->robot,
	                       c->secret) != HBMON_OK) {
		return HBMON_EIO;
	}
	c->apply = apply_secret;
	return robot_secret_reply(c, in->robot, c->secret);
}

/* After the commit: it stops being watched (no deadlines, no alerts). */
static void
apply_remove(struct call *c)
{
	const Hbmon__V1__RobotRemoveRequest *in =
	    (const Hbmon__V1__RobotRemoveRequest *) c->input;
	struct engine *e = recorder_engine(c->adm->rec);
	struct subject *robot =
	    subjects_find(recorder_subjects(c->adm->rec), in->robot, "");

	if (robot != NULL) {
		while (robot->accounts != NULL) {
			struct subject *a = robot->accounts;
			engine_forget_subject(e, a);
			recorder_remove_subject(c->adm->rec, a);
		}
		engine_forget_subject(e, robot);
		recorder_remove_subject(c->adm->rec, robot);
	}
	registry_remove(c->adm->reg, in->robot);
}

HANDLER(write, robot_remove, Hbmon__V1__RobotRemoveRequest,
        Hbmon__V1__RobotRemoveReply_Closure)
static int
run_robot_remove(struct call *c)
{
	const Hbmon__V1__RobotRemoveRequest *in =
	    (const Hbmon__V1__RobotRemoveRequest *) c->input;
	struct subjects *set = recorder_subjects(c->adm->rec);
	struct robot *known = registry_find(c->adm->reg, in->robot);
	struct subject *robot = subjects_find(set, in->robot, "");
	Hbmon__V1__RobotRemoveReply *r;
	char q[QUOTE_NAME_SIZE];
	int64_t now, wall;
	int rv;

	if ((known == NULL || known->removed) && robot == NULL) {
		return fail(c, RPC_NOT_FOUND, "robot '%s' is not registered",
		            quote_str(q, sizeof(q), in->robot));
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = store_robot_remove(recorder_store(c->adm->rec), in->robot, wall);
	if (rv != HBMON_OK && rv != HBMON_ENOENT) {
		return rv;
	}
	c->apply = apply_remove;
	hbmon__v1__robot_remove_reply__init(r);
	c->output = &r->base;
	return HBMON_OK;
}

/* After the commit: the robot's deadlines follow its new interval. */
static void
apply_interval(struct call *c)
{
	const Hbmon__V1__RobotSetRequest *in =
	    (const Hbmon__V1__RobotSetRequest *) c->input;
	struct subject *robot =
	    subjects_find(recorder_subjects(c->adm->rec), in->robot, "");
	int64_t interval =
	    c->interval_ms > 0 ? c->interval_ms : c->adm->opts.interval_max_ms;
	int64_t now, wall;

	registry_set_interval(c->adm->reg, in->robot, c->interval_ms);
	recorder_clock(c->adm->rec, &now, &wall);
	if (robot != NULL) {
		struct engine *e = recorder_engine(c->adm->rec);
		engine_set_interval(e, robot, (uint32_t) interval, now);
		for (struct subject *a = robot->accounts; a != NULL;
		     a = a->next_account) {
			engine_set_interval(e, a, (uint32_t) interval, now);
		}
	}
}

HANDLER(write, robot_set, Hbmon__V1__RobotSetRequest,
        Hbmon__V1__RobotInfo_Closure)
static int
run_robot_set(struct call *c)
{
	const Hbmon__V1__RobotSetRequest *in =
	    (const Hbmon__V1__RobotSetRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	struct subject *robot =
	    subjects_find(recorder_subjects(c->adm->rec), in->robot, "");
	Hbmon__V1__RobotInfo *info;
	char q[QUOTE_NAME_SIZE];

	if (known == NULL || known->removed) {
		return fail(c, RPC_NOT_FOUND,
		            "robot '%s' is not registered; `hbctl robot "
		            "list` shows the robots",
		            quote_str(q, sizeof(q), in->robot));
	}
	if (in->interval_max_ms > UINT32_MAX) {
		return fail(c, RPC_INVALID_ARGUMENT,
		            "interval_max of %" PRId64 " ms is too long",
		            in->interval_max_ms);
	}
	if ((info = alloc(c, sizeof(*info))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__robot_info__init(info);
	info->robot = dup(c, in->robot);
	info->interval_max_ms = known->interval_max_ms;
	if (in->interval_max_ms != 0) {
		c->interval_ms =
		    in->interval_max_ms > 0 ? in->interval_max_ms : 0;
		if (store_robot_interval(recorder_store(c->adm->rec), in->robot,
		                         c->interval_ms) == HBMON_EIO) {
			return HBMON_EIO;
		}
		c->apply = apply_interval;
		info->interval_max_ms = c->interval_ms;
	}
	if (robot != NULL) {
		info->last_seen_ms = robot->last_seen_ms;
		info->accounts = robot->n_accounts;
	}
	c->output = &info->base;
	return HBMON_OK;
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
	adm->service.overview = overview;
	adm->service.accounts = accounts;
	adm->service.subject = subject;
	adm->service.history = history;
	adm->service.alerts_after = alerts_after;
	adm->service.pause = pause;
	adm->service.resume = resume;
	adm->service.ack = ack;
	adm->service.robot_add = robot_add;
	adm->service.robot_list = robot_list;
	adm->service.robot_rotate = robot_rotate;
	adm->service.robot_remove = robot_remove;
	adm->service.robot_set = robot_set;
	adm->service.server_info = server_info;
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
