/* The Admin service: handlers that run on the recorder thread. */
#include "server/admin.h"

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

struct admin {
	/* The generated service struct; first, so handlers find the admin
	 * from the service pointer they are given. */
	Hbmon__V1__Admin_Service service;
	struct admin_options opts;
	struct recorder *rec;
	struct registry *reg;
	struct rpcserver *ipc;
	struct rpcserver *tcp;
	struct admin_auth auth; /* admin_tcp's; unused without it */
};

/* ---- per-call state; memory comes from the worker's arena ---- */

struct call {
	struct recorder_job job; /* the exec job; job.arg is this call */
	struct admin *adm;
	struct rpc_call *rpc;
	ProtobufCClosure done;
	const ProtobufCMessage *input;
	ProtobufCMessage *output;
	int (*run)(struct call *c);
	struct arena *arena; /* the worker's: reset after the reply */
	/* A signed admin_tcp request's seq, made durable with what it
	 * does; 0 over ipc. */
	uint64_t signed_seq;
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

	memset(c, 0, sizeof(*c)); /* ready for the worker's next request */
}

/* ---- the shape of every handler ---- */

static void
job_done(struct recorder_job *job)
{
	struct call *c = job->arg;

	if (job->status == HBMON_EIO && c->rpc->code == RPC_OK) {
		rpc_call_fail(c->rpc, RPC_UNAVAILABLE,
		              "the server could not write its database; try "
		              "again");
	}
	if (c->arena->failed && c->rpc->code == RPC_OK) {
		rpc_call_fail(c->rpc, RPC_RESOURCE_EXHAUSTED,
		              "out of memory building the reply");
	}
	c->done(c->rpc->code == RPC_OK ? c->output : NULL, c->rpc);
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

/* Queues run for the recorder thread; the reply goes when it has run. */
static void
submit(Hbmon__V1__Admin_Service *svc, void *data, const ProtobufCMessage *input,
       ProtobufCClosure done, int (*run)(struct call *c))
{
	struct rpc_call *rpc = data;
	struct call *c = rpcserver_scratch(rpc);

	c->adm = (struct admin *) svc;
	c->rpc = rpc;
	c->arena = rpcserver_arena(rpc);
	c->done = done;
	c->input = input;
	c->run = run;
	c->signed_seq =
	    rpcserver_principal(rpc) != NULL ? rpc->request->seq : 0;
	c->job.exec = job_exec;
	c->job.done = job_done;
	c->job.arg = c;
	if (recorder_submit(c->adm->rec, &c->job) != HBMON_OK) {
		rpc_call_fail(rpc, RPC_UNAVAILABLE,
		              "hbmon-server is shutting down");
		done(NULL, rpc);
	}
}

/* Defines the generated handler of a method that runs run_<name>. */
#define HANDLER(name, In, Closure)                                             \
	static int run_##name(struct call *c);                                 \
	static void name(Hbmon__V1__Admin_Service *svc, const In *input,       \
	                 Closure closure, void *data)                          \
	{                                                                      \
		submit(svc, data, &input->base, (ProtobufCClosure) closure,    \
		       run_##name);                                            \
	}

/* ---- reading state ---- */

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
	st->robot = (char *) subject_robot(s);
	st->account = (char *) subject_account(s);
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

static int
by_robot(const void *a, const void *b)
{
	return strcmp((*(Hbmon__V1__SubjectState *const *) a)->robot,
	              (*(Hbmon__V1__SubjectState *const *) b)->robot);
}

struct unheard {
	struct call *c;
	Hbmon__V1__OverviewReply *r;
};

static int
add_unheard(void *arg, const struct store_robot *row)
{
	struct unheard *u = arg;
	Hbmon__V1__OverviewReply *r = u->r;
	Hbmon__V1__SubjectState *st, **grown;

	if (subjects_find(recorder_subjects(u->c->adm->rec), row->robot, "") !=
	    NULL) {
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
	memcpy(grown, r->robots, r->n_robots * sizeof(*grown));
	grown[r->n_robots++] = st;
	r->robots = grown;
	return 0;
}

HANDLER(overview, Hbmon__V1__OverviewRequest, Hbmon__V1__OverviewReply_Closure)
static int
run_overview(struct call *c)
{
	Hbmon__V1__OverviewReply *r = alloc(c, sizeof(*r));
	struct unheard u = { c, r };

	if (r == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__overview_reply__init(r);
	r->robots = states(c, true, NULL, &r->n_robots);
	/* Registered robots that never reported are shown too: a robot
	 * that was set up and never came is worth seeing. */
	if (r->robots != NULL &&
	    store_robots_each(recorder_store(c->adm->rec), add_unheard, &u) ==
	        HBMON_OK) {
		qsort(r->robots, r->n_robots, sizeof(*r->robots), by_robot);
	}
	c->output = &r->base;
	return HBMON_OK;
}

HANDLER(accounts, Hbmon__V1__AccountsRequest, Hbmon__V1__AccountsReply_Closure)
static int
run_accounts(struct call *c)
{
	const Hbmon__V1__AccountsRequest *in =
	    (const Hbmon__V1__AccountsRequest *) c->input;
	Hbmon__V1__AccountsReply *r;
	const char *robot =
	    in->robot != NULL && in->robot[0] != '\0' ? in->robot : NULL;
	char q[QUOTE_NAME_SIZE];

	if (robot != NULL &&
	    subjects_find(recorder_subjects(c->adm->rec), robot, "") == NULL) {
		return fail(c, RPC_NOT_FOUND,
		            "no robot '%s' has reported; `hbctl status` "
		            "lists the robots",
		            quote_str(q, sizeof(q), robot));
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__accounts_reply__init(r);
	r->accounts = states(c, false, robot, &r->n_accounts);
	c->output = &r->base;
	return HBMON_OK;
}

/* ---- history ---- */

struct rows {
	struct call *c;
	const struct subject *s;
	Hbmon__V1__HeartbeatRecord **hb;
	size_t n_hb;
	Hbmon__V1__TransitionRecord **tr;
	size_t n_tr;
	size_t cap;
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
	h->robot = (char *) subject_robot(r->s);
	h->account = (char *) subject_account(r->s);
	if (subject_is_robot(r->s)) {
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
		hb.account = (char *) subject_account(r->s);
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
status_word(const struct subject *s, int status)
{
	const char *w =
	    subject_is_robot(s) ? words_health(status) : words_account(status);
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
	t->robot = (char *) subject_robot(r->s);
	t->account = (char *) subject_account(r->s);
	t->from_status = (char *) status_word(r->s, row->from_status);
	t->to_status = (char *) status_word(r->s, row->to_status);
	t->allowed = row->allowed;
	r->tr[r->n_tr++] = t;
	return 0;
}

/* Reads up to limit heartbeats and transitions of s in a time range. */
static int
read_rows(struct call *c, const struct subject *s, int64_t since, int64_t until,
          uint32_t limit, bool newest, struct rows *r)
{
	struct store *st = recorder_store(c->adm->rec);
	int rv;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->s = s;
	r->hb = alloc(c, (limit + 1) * sizeof(*r->hb));
	r->tr = alloc(c, (limit + 1) * sizeof(*r->tr));
	if (r->hb == NULL || r->tr == NULL) {
		return HBMON_OK;
	}
	rv = store_heartbeats_each(st, subject_robot(s), subject_account(s),
	                           since, until, limit, newest, add_heartbeat,
	                           r);
	if (rv == HBMON_OK) {
		rv = store_transitions_each(st, s->id, since, until, limit,
		                            newest, add_transition, r);
	}
	return rv == HBMON_ENOMEM ? HBMON_OK : rv;
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

HANDLER(subject, Hbmon__V1__SubjectRequest, Hbmon__V1__SubjectReply_Closure)
static int
run_subject(struct call *c)
{
	const Hbmon__V1__SubjectRequest *in =
	    (const Hbmon__V1__SubjectRequest *) c->input;
	struct subject *s = find_subject(c, in->subject);
	uint32_t recent = in->recent > 0 ? in->recent : RECENT_DEFAULT;
	Hbmon__V1__SubjectReply *r;
	struct rows rows;
	int rv;

	if (s == NULL) {
		return HBMON_OK;
	}
	if (recent > RECENT_MAX) {
		recent = RECENT_MAX;
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__subject_reply__init(r);
	r->state = state_of(c, s);
	if (r->state != NULL && r->state->paused_until_ms > 0) {
		struct reason_ctx rc = { c, r->state };
		store_subject_get(recorder_store(c->adm->rec), s->id,
		                  copy_pause_reason, &rc);
	}
	if ((rv = read_rows(c, s, 0, 0, recent, true, &rows)) != HBMON_OK) {
		return rv;
	}
	r->heartbeats = rows.hb;
	r->n_heartbeats = rows.n_hb;
	r->transitions = rows.tr;
	r->n_transitions = rows.n_tr;
	c->output = &r->base;
	return HBMON_OK;
}

HANDLER(history, Hbmon__V1__HistoryRequest, Hbmon__V1__HistoryReply_Closure)
static int
run_history(struct call *c)
{
	const Hbmon__V1__HistoryRequest *in =
	    (const Hbmon__V1__HistoryRequest *) c->input;
	struct subject *s = find_subject(c, in->subject);
	uint32_t limit = in->limit > 0 ? in->limit : HISTORY_DEFAULT;
	Hbmon__V1__HistoryReply *r;
	struct rows rows;
	int rv;

	if (s == NULL) {
		return HBMON_OK;
	}
	if (in->until_ms != 0 && in->until_ms < in->since_ms) {
		return fail(c, RPC_INVALID_ARGUMENT,
		            "the end of the range is before its start");
	}
	if (limit > HISTORY_MAX) {
		limit = HISTORY_MAX;
	}
	if ((r = alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__history_reply__init(r);
	if ((rv = read_rows(c, s, in->since_ms, in->until_ms, limit, false,
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

/* ---- alerts ---- */

struct alerts_page {
	struct call *c;
	Hbmon__V1__Alert **alerts;
	size_t n;
	uint64_t until; /* committed: nothing past it is handed out */
};

static int
add_alert(void *arg, const struct store_alert *row)
{
	struct alerts_page *p = arg;
	Hbmon__V1__Alert *a;

	if (row->seq > p->until) {
		return 1; /* written in this very transaction: not yet */
	}
	a = hbmon__v1__alert__unpack(&p->c->arena->pb, row->body_len,
	                             row->body);
	if (a == NULL) {
		return HBMON_EIO;
	}
	p->alerts[p->n++] = a;
	return 0;
}

HANDLER(alerts_after, Hbmon__V1__AlertsAfterRequest,
        Hbmon__V1__AlertsAfterReply_Closure)
static int
run_alerts_after(struct call *c)
{
	const Hbmon__V1__AlertsAfterRequest *in =
	    (const Hbmon__V1__AlertsAfterRequest *) c->input;
	uint32_t limit = in->limit > 0 ? in->limit : ALERTS_PAGE_DEFAULT;
	Hbmon__V1__AlertsAfterReply *r = alloc(c, sizeof(*r));
	struct alerts_page p = { c, NULL, 0, 0 };
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	if (limit > ALERTS_PAGE_MAX) {
		limit = ALERTS_PAGE_MAX;
	}
	hbmon__v1__alerts_after_reply__init(r);
	p.until = engine_committed_seq(recorder_engine(c->adm->rec));
	if ((p.alerts = alloc(c, (limit + 1) * sizeof(*p.alerts))) == NULL) {
		return HBMON_OK;
	}
	rv = store_alerts_after(recorder_store(c->adm->rec), in->after_seq,
	                        limit, add_alert, &p);
	if (rv != HBMON_OK && rv != 1) {
		return rv;
	}
	r->alerts = p.alerts;
	r->n_alerts = p.n;
	r->last_seq = p.until;
	r->more = p.n > 0 && r->alerts[p.n - 1]->seq < p.until;
	c->output = &r->base;
	return HBMON_OK;
}

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

HANDLER(ack, Hbmon__V1__AckRequest, Hbmon__V1__AckReply_Closure)
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

HANDLER(pause, Hbmon__V1__PauseRequest, Hbmon__V1__PauseReply_Closure)
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

HANDLER(resume, Hbmon__V1__ResumeRequest, Hbmon__V1__ResumeReply_Closure)
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

/* ---- the robot registry ---- */

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

HANDLER(robot_add, Hbmon__V1__RobotAddRequest, Hbmon__V1__RobotAddReply_Closure)
static int
run_robot_add(struct call *c)
{
	const Hbmon__V1__RobotAddRequest *in =
	    (const Hbmon__V1__RobotAddRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	char secret[SIGN_SECRET_MAX];
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
	if (sign_new_secret(secret, sizeof(secret)) != HBMON_OK) {
		return fail(c, RPC_INTERNAL, "no randomness for a secret");
	}
	recorder_clock(c->adm->rec, &now, &wall);
	rv = store_robot_add(recorder_store(c->adm->rec), in->robot, secret,
	                     wall);
	if (rv == HBMON_EEXIST) {
		/* Removed earlier: the row went, a stale one means a race. */
		rv = store_robot_secret(recorder_store(c->adm->rec), in->robot,
		                        secret);
	}
	if (rv != HBMON_OK) {
		return HBMON_EIO;
	}
	if (registry_set_secret(c->adm->reg, in->robot, secret) != HBMON_OK) {
		return fail(c, RPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	rv = robot_secret_reply(c, in->robot, secret);
	explicit_bzero(secret, sizeof(secret));
	return rv;
}

HANDLER(robot_rotate, Hbmon__V1__RobotRotateRequest,
        Hbmon__V1__RobotAddReply_Closure)
static int
run_robot_rotate(struct call *c)
{
	const Hbmon__V1__RobotRotateRequest *in =
	    (const Hbmon__V1__RobotRotateRequest *) c->input;
	struct robot *known = registry_find(c->adm->reg, in->robot);
	char secret[SIGN_SECRET_MAX];
	char q[QUOTE_NAME_SIZE];
	int rv;

	if (known == NULL || known->removed) {
		return fail(c, RPC_NOT_FOUND,
		            "robot '%s' is not registered; `hbctl robot "
		            "list` shows the robots",
		            quote_str(q, sizeof(q), in->robot));
	}
	if (sign_new_secret(secret, sizeof(secret)) != HBMON_OK) {
		return fail(c, RPC_INTERNAL, "no randomness for a secret");
	}
	if (store_robot_secret(recorder_store(c->adm->rec), in->robot,
	                       secret) != HBMON_OK) {
		return HBMON_EIO;
	}
	registry_set_secret(c->adm->reg, in->robot, secret);
	rv = robot_secret_reply(c, in->robot, secret);
	explicit_bzero(secret, sizeof(secret));
	return rv;
}

HANDLER(robot_remove, Hbmon__V1__RobotRemoveRequest,
        Hbmon__V1__RobotRemoveReply_Closure)
static int
run_robot_remove(struct call *c)
{
	const Hbmon__V1__RobotRemoveRequest *in =
	    (const Hbmon__V1__RobotRemoveRequest *) c->input;
	struct subjects *set = recorder_subjects(c->adm->rec);
	struct engine *e = recorder_engine(c->adm->rec);
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
	/* It stops being watched: no deadlines, no open alerts. */
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
	hbmon__v1__robot_remove_reply__init(r);
	c->output = &r->base;
	return HBMON_OK;
}

HANDLER(robot_set, Hbmon__V1__RobotSetRequest, Hbmon__V1__RobotInfo_Closure)
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
	int64_t interval, now, wall;

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
	if (in->interval_max_ms != 0) {
		int64_t own = in->interval_max_ms > 0 ? in->interval_max_ms : 0;
		if (store_robot_interval(recorder_store(c->adm->rec), in->robot,
		                         own) == HBMON_EIO) {
			return HBMON_EIO;
		}
		registry_set_interval(c->adm->reg, in->robot, own);
		interval = own > 0 ? own : c->adm->opts.interval_max_ms;
		recorder_clock(c->adm->rec, &now, &wall);
		/* Deadlines follow at once, for the robot and its accounts. */
		if (robot != NULL) {
			struct engine *e = recorder_engine(c->adm->rec);
			engine_set_interval(e, robot, (uint32_t) interval, now);
			for (struct subject *a = robot->accounts; a != NULL;
			     a = a->next_account) {
				engine_set_interval(e, a, (uint32_t) interval,
				                    now);
			}
		}
	}
	hbmon__v1__robot_info__init(info);
	info->robot = dup(c, in->robot);
	info->interval_max_ms = known->interval_max_ms;
	if (robot != NULL) {
		info->last_seen_ms = robot->last_seen_ms;
		info->accounts = robot->n_accounts;
	}
	c->output = &info->base;
	return HBMON_OK;
}

struct robot_list {
	struct call *c;
	Hbmon__V1__RobotInfo **items;
	size_t n, cap;
};

static int
add_robot(void *arg, const struct store_robot *row)
{
	struct robot_list *l = arg;
	struct subject *s =
	    subjects_find(recorder_subjects(l->c->adm->rec), row->robot, "");
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
	if (s != NULL) {
		info->last_seen_ms = s->last_seen_ms;
		info->accounts = s->n_accounts;
	}
	l->items[l->n++] = info;
	return 0;
}

HANDLER(robot_list, Hbmon__V1__RobotListRequest,
        Hbmon__V1__RobotListReply_Closure)
static int
run_robot_list(struct call *c)
{
	Hbmon__V1__RobotListReply *r = alloc(c, sizeof(*r));
	struct robot_list l = { c, NULL, 0, 0 };
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	rv = store_robots_each(recorder_store(c->adm->rec), add_robot, &l);
	if (rv != HBMON_OK && rv != HBMON_ENOMEM) {
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

HANDLER(server_info, Hbmon__V1__ServerInfoRequest,
        Hbmon__V1__ServerInfoReply_Closure)
static int
run_server_info(struct call *c)
{
	Hbmon__V1__ServerInfoReply *r = alloc(c, sizeof(*r));
	struct store *st = recorder_store(c->adm->rec);
	uint32_t counts[2] = { 0, 0 };
	int64_t now, wall, heartbeats = 0;

	if (r == NULL) {
		return HBMON_OK;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	subjects_each(recorder_subjects(c->adm->rec), count_subject, counts);
	store_heartbeats_total(st, &heartbeats);
	hbmon__v1__server_info_reply__init(r);
	r->version = (char *) c->adm->opts.version;
	r->started_ms = c->adm->opts.started_ms;
	r->uptime_ms = wall - c->adm->opts.started_ms;
	r->robots = counts[0];
	r->accounts = counts[1];
	r->heartbeats = (uint64_t) heartbeats;
	r->last_alert_seq = engine_committed_seq(recorder_engine(c->adm->rec));
	r->alerts = r->last_alert_seq;
	r->database_bytes = store_size(st);
	c->output = &r->base;
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

	ro.recv_max = opts->recv_max;
	ro.workers = 8; /* the owner's CLI and a few notifiers */
	ro.service = &adm->service.base;
	ro.arg = adm;
	ro.scratch_size = sizeof(struct call);
	ro.release = call_release;
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
		ro.url = opts->tcp_url;
		ro.ipc_permissions = 0;
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
}

void
admin_close(struct admin *adm)
{
	if (adm == NULL) {
		return;
	}
	rpcserver_close(adm->ipc);
	rpcserver_close(adm->tcp);
	admin_auth_fini(&adm->auth);
	free(adm);
}
