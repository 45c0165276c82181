/*
 * The Admin service's reads: status, accounts, a subject, its history,
 * alerts after a seq, what is firing now, the robot list, server info. Each
 * runs on a reader thread with its own read-only connection; what is only in
 * memory comes through admin_from_memory (admin_impl.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/quote.h"
#include "common/rfc3339.h"
#include "common/rpc_status.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "server/admin_impl.h"
#include "server/engine.h"

#define L(x) HBMON__V1__LIVENESS__LIVENESS_##x

/* Page sizes: what a reply carries at most. */
#define ALERTS_PAGE_DEFAULT 100
#define ALERTS_PAGE_MAX     1000
#define RECENT_DEFAULT      10
#define RECENT_MAX          1000
#define HISTORY_DEFAULT     100
#define HISTORY_MAX         10000

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

/* Fills a SubjectState (strings and counts) for s. */
static Hbmon__V1__SubjectState *
state_of(struct call *c, const struct subject *s)
{
	Hbmon__V1__SubjectState *st = admin_alloc(c, sizeof(*st));
	struct engine *e = recorder_engine(c->adm->rec);
	char ts[RFC3339_MAX];
	int64_t now, wall;

	if (st == NULL) {
		return NULL;
	}
	recorder_clock(c->adm->rec, &now, &wall);
	hbmon__v1__subject_state__init(st);
	st->robot = admin_strdup(c, subject_robot(s));
	st->account = admin_strdup(c, subject_account(s));
	st->liveness = engine_liveness(e, s, now, wall, &st->misses);
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
	st->last_timestamp =
	    admin_strdup(c, subject_timestamp(s, ts, sizeof(ts)));
	st->paused_until_ms =
	    s->paused_until_ms > wall ? s->paused_until_ms : 0;
	st->pause_reason = (char *) "";
	for (const struct subject *a = s->accounts; a != NULL;
	     a = a->next_account) {
		Hbmon__V1__Liveness l = engine_liveness(e, a, now, wall, NULL);

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

/*
 * items (n used of *cap, of size bytes each) with room for one more:
 * itself, or a copy twice as big in the call's arena (*cap updated).
 * NULL when out of memory.
 */
static void *
room_for_one(struct call *c, void *items, size_t n, size_t *cap, size_t size)
{
	size_t grown_cap = *cap == 0 ? 64 : 2 * *cap;
	void *grown;

	if (n < *cap) {
		return items;
	}
	if ((grown = admin_alloc(c, grown_cap * size)) == NULL) {
		return NULL;
	}
	if (n > 0) {
		memcpy(grown, items, n * size);
	}
	*cap = grown_cap;
	return grown;
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
	const struct subject **items;

	if (subject_is_robot(s) != p->robots ||
	    (p->robot != NULL && strcmp(subject_robot(s), p->robot) != 0)) {
		return 0;
	}
	items = room_for_one(p->c, p->items, p->n, &p->cap, sizeof(*items));
	if (items == NULL) {
		return HBMON_ENOMEM;
	}
	p->items = items;
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
	out = admin_alloc(c, (p.n + 1) * sizeof(*out));
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
	st = admin_alloc(u->c, sizeof(*st));
	grown = admin_alloc(u->c, (r->n_robots + 1) * sizeof(*grown));
	if (st == NULL || grown == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__subject_state__init(st);
	st->robot = admin_strdup(u->c, row->robot);
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

ADMIN_HANDLER(read, overview, Hbmon__V1__OverviewRequest,
              Hbmon__V1__OverviewReply_Closure)
static int
run_overview(struct call *c)
{
	Hbmon__V1__OverviewReply *r = admin_alloc(c, sizeof(*r));
	struct unheard u = { c, r, 0 };
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__overview_reply__init(r);
	c->output = &r->base;
	if ((rv = admin_from_memory(c, overview_memory, c)) != HBMON_OK) {
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
		admin_fail(
		    c, RPC_NOT_FOUND,
		    "no robot '%s' has reported; `hbctl status` lists the "
		    "robots",
		    quote_str(q, sizeof(q), robot));
		return;
	}
	if ((r = admin_alloc(c, sizeof(*r))) == NULL) {
		return;
	}
	hbmon__v1__accounts_reply__init(r);
	r->accounts = states(c, false, robot, &r->n_accounts);
	c->output = &r->base;
}

ADMIN_HANDLER(read, accounts, Hbmon__V1__AccountsRequest,
              Hbmon__V1__AccountsReply_Closure)
static int
run_accounts(struct call *c)
{
	return admin_from_memory(c, accounts_memory, c);
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
	Hbmon__V1__HeartbeatRecord *h = admin_alloc(r->c, sizeof(*h));
	char *json;

	if (h == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__heartbeat_record__init(h);
	h->received_ms = row->received_ms;
	h->robot = (char *) r->s->robot;
	h->account = (char *) r->s->account;
	json = subject_heartbeat_json(r->s->is_robot ? "" : r->s->account, row);
	h->json = admin_strdup(r->c, json);
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
	Hbmon__V1__TransitionRecord *t = admin_alloc(r->c, sizeof(*t));

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
	r->hb = admin_alloc(c, (limit + 1) * sizeof(*r->hb));
	r->tr = admin_alloc(c, (limit + 1) * sizeof(*r->tr));
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
	struct subject *s = admin_find_subject(c, name);

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

	rc->state->pause_reason = admin_strdup(rc->c, row->pause_reason);
	return 0;
}

ADMIN_HANDLER(read, subject, Hbmon__V1__SubjectRequest,
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
	if ((r = admin_alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__subject_reply__init(r);
	c->output = &r->base;
	if ((rv = admin_from_memory(c, subject_memory, c)) != HBMON_OK ||
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

/* Turns items[0..n) around. */
static void
reverse(void **items, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		void *x = items[i];
		items[i] = items[n - 1 - i];
		items[n - 1 - i] = x;
	}
}

ADMIN_HANDLER(read, history, Hbmon__V1__HistoryRequest,
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
		return admin_fail(c, RPC_INVALID_ARGUMENT,
		                  "the end of the range is before its start");
	}
	if (limit > HISTORY_MAX) {
		limit = HISTORY_MAX;
	}
	if ((rv = admin_from_memory(c, subject_memory, c)) != HBMON_OK ||
	    c->rpc->code != RPC_OK || (st = admin_reader_of(c)) == NULL) {
		return rv;
	}
	if ((r = admin_alloc(c, sizeof(*r))) == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__history_reply__init(r);
	if ((rv = read_rows(c, st, in->since_ms, in->until_ms, limit,
	                    in->newest_first, &rows)) != HBMON_OK) {
		return rv;
	}
	if (in->newest_first) {
		/* The store hands the newest `limit` oldest first. */
		reverse((void **) rows.hb, rows.n_hb);
		reverse((void **) rows.tr, rows.n_tr);
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

ADMIN_HANDLER(read, alerts_after, Hbmon__V1__AlertsAfterRequest,
              Hbmon__V1__AlertsAfterReply_Closure)
static int
run_alerts_after(struct call *c)
{
	const Hbmon__V1__AlertsAfterRequest *in =
	    (const Hbmon__V1__AlertsAfterRequest *) c->input;
	uint32_t limit = in->limit > 0 ? in->limit : ALERTS_PAGE_DEFAULT;
	Hbmon__V1__AlertsAfterReply *r = admin_alloc(c, sizeof(*r));
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
	p.alerts = admin_alloc(c, (limit + 1) * sizeof(*p.alerts));
	p.unwritten = admin_alloc(c, (limit + 1) * sizeof(*p.unwritten));
	if (p.alerts == NULL || p.unwritten == NULL) {
		return HBMON_OK;
	}
	/* Memory first: what the outbox holds up to, and what went out
	 * beyond it. The outbox is then read only up to there, so nothing
	 * is handed out twice or skipped while the backlog is written. */
	if ((rv = admin_from_memory(c, alerts_memory, &p)) != HBMON_OK) {
		return rv;
	}
	if (p.after < p.written) {
		if ((st = admin_reader_of(c)) == NULL) {
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

/* ---- AlertsOpen: the engine's open episodes ---- */

struct open_list {
	struct call *c;
	Hbmon__V1__OpenAlert **items;
	size_t n, cap;
};

/* Copies one open episode into the call's arena (packed, then unpacked
 * there: the engine's alert is valid during the call only). */
static int
add_open(void *arg, const struct engine_open *o)
{
	struct open_list *l = arg;
	size_t len = hbmon__v1__alert__get_packed_size(o->alert);
	uint8_t *body = admin_alloc(l->c, len + 1);
	Hbmon__V1__OpenAlert *x = admin_alloc(l->c, sizeof(*x));
	Hbmon__V1__OpenAlert **items =
	    room_for_one(l->c, l->items, l->n, &l->cap, sizeof(*items));

	if (body == NULL || x == NULL || items == NULL) {
		return HBMON_ENOMEM;
	}
	l->items = items;
	hbmon__v1__open_alert__init(x);
	hbmon__v1__alert__pack(o->alert, body);
	x->alert = hbmon__v1__alert__unpack(&l->c->arena->pb, len, body);
	if (x->alert == NULL) {
		return HBMON_ENOMEM;
	}
	x->since_ms = o->alert->raised_at_ms;
	x->last_alert_ms = o->last_alert_ms;
	x->acked = o->acked;
	l->items[l->n++] = x;
	return 0;
}

static void
alerts_open_memory(void *arg, struct recorder *rec)
{
	struct open_list *l = arg;
	int64_t now, wall;

	recorder_clock(rec, &now, &wall);
	(void) engine_open_each(recorder_engine(rec), now, wall, add_open, l);
}

static int
by_seq(const void *a, const void *b)
{
	uint64_t x = (*(Hbmon__V1__OpenAlert *const *) a)->alert->seq;
	uint64_t y = (*(Hbmon__V1__OpenAlert *const *) b)->alert->seq;

	return x < y ? -1 : x > y;
}

ADMIN_HANDLER(read, alerts_open, Hbmon__V1__AlertsOpenRequest,
              Hbmon__V1__AlertsOpenReply_Closure)
static int
run_alerts_open(struct call *c)
{
	Hbmon__V1__AlertsOpenReply *r = admin_alloc(c, sizeof(*r));
	struct open_list l = { c, NULL, 0, 0 };
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	/* Memory only: what is firing must be answered on a sick disk. */
	if ((rv = admin_from_memory(c, alerts_open_memory, &l)) != HBMON_OK) {
		return rv;
	}
	if (l.n > 1) {
		qsort(l.items, l.n, sizeof(*l.items), by_seq);
	}
	hbmon__v1__alerts_open_reply__init(r);
	r->alerts = l.items;
	r->n_alerts = l.n;
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
	Hbmon__V1__RobotInfo **items, *info;

	items = room_for_one(l->c, l->items, l->n, &l->cap, sizeof(*items));
	if (items == NULL) {
		return HBMON_ENOMEM;
	}
	l->items = items;
	if ((info = admin_alloc(l->c, sizeof(*info))) == NULL) {
		return HBMON_ENOMEM;
	}
	hbmon__v1__robot_info__init(info);
	info->robot = admin_strdup(l->c, row->robot);
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

ADMIN_HANDLER(read, robot_list, Hbmon__V1__RobotListRequest,
              Hbmon__V1__RobotListReply_Closure)
static int
run_robot_list(struct call *c)
{
	Hbmon__V1__RobotListReply *r = admin_alloc(c, sizeof(*r));
	struct robot_list l = { c, NULL, 0, 0 };
	struct store *st;
	int rv;

	if (r == NULL || (st = admin_reader_of(c)) == NULL) {
		return HBMON_OK;
	}
	rv = store_robots_each(st, add_robot, &l);
	if (rv != HBMON_OK && rv != HBMON_ENOMEM) {
		return rv;
	}
	if ((rv = admin_from_memory(c, robot_list_memory, &l)) != HBMON_OK) {
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

ADMIN_HANDLER(read, server_info, Hbmon__V1__ServerInfoRequest,
              Hbmon__V1__ServerInfoReply_Closure)
static int
run_server_info(struct call *c)
{
	Hbmon__V1__ServerInfoReply *r = admin_alloc(c, sizeof(*r));
	int64_t heartbeats = 0, alerts = 0;
	int rv;

	if (r == NULL) {
		return HBMON_OK;
	}
	hbmon__v1__server_info_reply__init(r);
	r->version = (char *) c->adm->opts.version;
	r->started_ms = c->adm->opts.started_ms;
	c->output = &r->base;
	if ((rv = admin_from_memory(c, server_info_memory, c)) != HBMON_OK) {
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
