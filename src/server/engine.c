/*
 * The alert engine: liveness deadlines on one wheel, alert episodes and
 * the outbox. What an alert says is decided here; how it is worded is
 * alert_text.c's.
 */
#include "server/engine.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_topic.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/subject_name.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "server/alert_text.h"

#define H(x)   HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x)   HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SEV(x) HBMON__V1__SEVERITY__SEVERITY_##x
#define ST(x)  HBMON__V1__ALERT_STATE__ALERT_STATE_##x

/* One turn of the wheel covers this many ticks (65536 x 10 ms = 11 min):
 * deadlines further away wait a turn or more in their slot. */
#define WHEEL_SLOTS 65536

/* At most this many accounts are listed in one alert's details; the
 * summary still counts them all. */
#define AFFECTED_MAX 1000

struct episode {
	struct wheel_entry timer; /* repeats; first member (see fire) */
	struct episode *next;     /* the subject's open episodes */
	struct subject *subject;
	uint64_t id; /* seq of the alert that opened it */
	int64_t opened_wall;
	int64_t last_alert_wall;
	int64_t value;      /* CLOCK_SKEW: skew ms; MISMATCH: heard;
	                       STORAGE_FAILING: the store_fault */
	int64_t free_bytes; /* server conditions: as last seen */
	int64_t free_min;   /* DISK_SPACE_LOW: disk_free_min */
	uint32_t repeats;
	int32_t status;   /* STATUS_CHANGED: the status it is about */
	uint8_t kind;     /* Hbmon__V1__AlertKind */
	uint8_t severity; /* Hbmon__V1__Severity */
	bool acked;
};

/* The wheel hands back its entries; fire() casts them to their records. */
static_assert(offsetof(struct subject, timer) == 0,
              "a subject's wheel entry is its first member");
static_assert(offsetof(struct episode, timer) == 0,
              "an episode's wheel entry is its first member");

/* Alert seqs reserved ahead of use (store_seq_reserve), and how close to
 * the end of the reservation a new one is made. */
#define SEQ_RESERVE_BLOCK 1000
#define SEQ_RESERVE_AHEAD 500

/*
 * An alert waiting for engine_flush, then (when its transaction failed)
 * for the database: the PUB message, its topic then the packed Alert
 * (the body, which is also what the outbox keeps).
 */
struct pending {
	struct pending *next;
	uint64_t seq;
	size_t topic_len, msg_len;
	uint8_t msg[]; /* topic, then body */
};

static const uint8_t *
pending_body(const struct pending *p)
{
	return p->msg + p->topic_len;
}

static size_t
pending_body_len(const struct pending *p)
{
	return p->msg_len - p->topic_len;
}

struct engine {
	struct store *store;
	struct subjects *subjects;
	struct engine_options opts;
	struct wheel wheel;
	struct hashtab episodes; /* open episodes by id */
	uint64_t last_seq;
	uint64_t committed_seq; /* highest seq known in the outbox */
	uint64_t reserved;      /* seqs up to here are reserved */
	uint64_t given_seq;     /* the last alert made (0: none this run) */
	struct pending *pending, **pending_tail;
	/* Published, but their transaction failed: not in the outbox yet
	 * (served to AlertsAfter from here), oldest first. */
	struct pending *unwritten, **unwritten_tail;
	size_t n_unwritten;
	/* The server's own open episodes (STORAGE_FAILING, ...). */
	struct episode *server_episodes;
	/* A robot's accounts in the order an alert lists them (reused). */
	struct subject **listed;
	size_t listed_cap;
	/* The readings of the call in progress, and its first store error
	 * (wheel callbacks cannot return one). */
	int64_t now;
	int64_t wall;
	int error;
};

/* ---- small helpers ---- */

static int
episode_match(const void *record, const void *key, size_t key_len)
{
	const struct episode *ep = record;
	return key_len == sizeof(ep->id) &&
	       memcmp(&ep->id, key, sizeof(ep->id)) == 0;
}

static uint32_t
episode_hash(uint64_t id)
{
	return hashtab_hash(&id, sizeof(id));
}

static struct episode *
find_episode(const struct subject *s, int kind)
{
	for (struct episode *ep = s->episodes; ep != NULL; ep = ep->next) {
		assert(ep->subject == s);
		if (ep->kind == kind) {
			return ep;
		}
	}
	return NULL;
}

bool
engine_paused(const struct subject *s, int64_t wall)
{
	return s->paused_until_ms > wall ||
	       (s->robot != NULL && s->robot->paused_until_ms > wall);
}

/* When the pause covering s ends, on the liveness clock. */
static int64_t
pause_end(const struct engine *e, const struct subject *s)
{
	int64_t until = s->paused_until_ms;

	if (s->robot != NULL && s->robot->paused_until_ms > until) {
		until = s->robot->paused_until_ms;
	}
	/* until is what an admin sent (a pause until INT64_MAX is a long
	 * one, not an overflow). */
	return duration_add(
	    e->now, duration_add(
	                until > e->wall ? duration_sub(until, e->wall) : 0, 1));
}

/* "R1" or "R1/ACC_003". */
static void
path(char *buf, size_t len, const struct subject *s)
{
	subject_name_format(buf, len, subject_robot(s), subject_account(s));
}

static void
schedule(struct engine *e, struct subject *s, int64_t due)
{
	assert(s->timer.kind == WHEEL_SUBJECT);
	wheel_schedule(&e->wheel, &s->timer, due);
}

/*
 * How long s has been silent, as a person would count it: by the wall
 * clock, which spans restarts and, unlike the liveness clock, keeps the
 * time the server itself stalled. (Decisions never use it.)
 */
static int64_t
silent_ms(const struct engine *e, const struct subject *s)
{
	int64_t ms = s->last_seen_ms > 0 ? e->wall - s->last_seen_ms : 0;

	return ms > 0 ? ms : 0;
}

uint32_t
engine_misses(const struct engine *e, const struct subject *s, int64_t now)
{
	int64_t counted = now - s->count_from;

	(void) e;
	if (!s->heard || s->interval_ms == 0 || counted <= 0) {
		return 0;
	}
	return (uint32_t) (counted / s->interval_ms);
}

Hbmon__V1__Liveness
engine_liveness(const struct engine *e, const struct subject *s, int64_t now,
                int64_t wall, uint32_t *out_misses)
{
	uint32_t misses = engine_misses(e, s, now);

	if (out_misses != NULL) {
		*out_misses = misses;
	}
	if (engine_paused(s, wall)) {
		return HBMON__V1__LIVENESS__LIVENESS_PAUSED;
	}
	if (!s->heard) {
		return s->liveness == LIVE_DOWN
		           ? HBMON__V1__LIVENESS__LIVENESS_DOWN /* never
		                                                   reported */
		           : HBMON__V1__LIVENESS__LIVENESS_UNKNOWN;
	}
	if (s->liveness == LIVE_DOWN || misses > e->opts.miss_threshold) {
		return HBMON__V1__LIVENESS__LIVENESS_DOWN;
	}
	return misses >= 1 || s->liveness == LIVE_LATE
	           ? HBMON__V1__LIVENESS__LIVENESS_LATE
	           : HBMON__V1__LIVENESS__LIVENESS_OK;
}

/* ---- the outbox ---- */

/* One alert the engine has decided to send: what emit needs. */
struct notice {
	const struct subject *subject; /* NULL: the server itself */
	/* The episode it belongs to: the seq of the episode's first alert,
	 * and the episode's kind (the dedupe key is subject + about +
	 * episode). episode 0: a one-off (or an episode's first alert),
	 * whose own seq is its episode. */
	uint64_t episode;
	int about;
	int kind;     /* Hbmon__V1__AlertKind */
	int severity; /* Hbmon__V1__Severity */
	int state;    /* Hbmon__V1__AlertState */
	uint32_t repeat;
	Hbmon__V1__AlertDetails *details;
};

/* The text an alert points into (word_alert). */
struct alert_words {
	char subject[2 * 64 + 8];
	char key[2 * 64 + 64];
	char summary[ALERT_TEXT_MAX];
	char hints[ALERT_TEXT_HINTS_SIZE];
	char *hint_ptrs[ALERT_TEXT_HINTS_MAX];
};

/*
 * Fills a as alert seq of notice n, raised at the engine's wall clock,
 * with its dedupe key, host, hints and summary (alert_text.c); a points
 * into w and n->details, which must outlive it.
 */
static void
word_alert(const struct engine *e, const struct notice *n, uint64_t seq,
           Hbmon__V1__Alert *a, struct alert_words *w)
{
	const struct subject *s = n->subject;
	uint64_t episode = n->episode != 0 ? n->episode : seq;

	assert(n->details != NULL);
	if (s != NULL) {
		path(w->subject, sizeof(w->subject), s);
	} else {
		snprintf(w->subject, sizeof(w->subject), "server");
	}
	snprintf(w->key, sizeof(w->key), "%s:%s:%" PRIu64, w->subject,
	         words_alert_kind(n->about), episode);
	hbmon__v1__alert__init(a);
	a->seq = seq;
	a->dedupe_key = w->key;
	a->kind = n->kind;
	a->severity = n->severity;
	a->state = n->state;
	a->robot = (char *) (s != NULL ? subject_robot(s) : "");
	a->account = (char *) (s != NULL ? subject_account(s) : "");
	a->raised_at_ms = e->wall;
	a->repeat = n->repeat;
	a->details = n->details;
	if (s != NULL) {
		const struct subject *robot =
		    subject_is_robot(s) ? s : s->robot;
		a->details->host =
		    (char *) (robot != NULL && robot->host != NULL ? robot->host
		                                                   : "");
	}
	a->details->hints = w->hint_ptrs;
	a->details->n_hints = alert_text_hints(
	    a, w->hints, sizeof(w->hints), w->hint_ptrs, ALERT_TEXT_HINTS_MAX);
	alert_text_summary(a, w->summary, sizeof(w->summary));
	a->summary = w->summary;
}

/*
 * Words the alert (word_alert), writes it to the outbox and queues it
 * for publishing, packed once: the PUB message is its topic then the
 * bytes the outbox keeps. Returns the seq, or 0 with e->error set.
 */
static uint64_t
emit(struct engine *e, const struct notice *n)
{
	Hbmon__V1__Alert a;
	struct alert_words w;
	struct store_alert row;
	struct pending *p;
	char topic[ALERT_TOPIC_MAX];
	size_t topic_len, body_len;
	uint64_t seq = e->last_seq + 1;
	uint64_t episode = n->episode != 0 ? n->episode : seq;

	word_alert(e, n, seq, &a, &w);

	topic_len = alert_topic_format(topic, sizeof(topic), a.severity, a.kind,
	                               a.robot);
	assert(topic_len > 0); /* the engine's kinds and severities */
	body_len = hbmon__v1__alert__get_packed_size(&a);
	if ((p = malloc(sizeof(*p) + topic_len + body_len)) == NULL) {
		e->error = HBMON_ENOMEM;
		return 0;
	}
	p->next = NULL;
	p->seq = seq;
	p->topic_len = topic_len;
	p->msg_len = topic_len + body_len;
	memcpy(p->msg, topic, topic_len);
	hbmon__v1__alert__pack(&a, p->msg + topic_len);
	if (seq + SEQ_RESERVE_AHEAD > e->reserved) {
		/* Reserved before it is used, in the same transaction: if
		 * that fails and the server dies before the backlog is
		 * written, the next start still continues above it. */
		e->reserved = seq + SEQ_RESERVE_BLOCK;
		(void) store_seq_reserve(e->store, e->reserved);
	}
	row.seq = seq;
	row.dedupe_key = w.key;
	row.kind = a.kind;
	row.severity = a.severity;
	row.state = a.state;
	row.robot = a.robot;
	row.account = a.account;
	row.summary = w.summary;
	row.raised_ms = e->wall;
	row.episode = episode;
	row.body = pending_body(p);
	row.body_len = body_len;
	if (store_alert_insert(e->store, &row) != HBMON_OK) {
		free(p);
		e->error = HBMON_EIO;
		return 0;
	}
	*e->pending_tail = p;
	e->pending_tail = &p->next;
	e->last_seq = seq;
	e->given_seq = seq;
	log_info("alert",
	         "seq=%" PRIu64 " kind=%s severity=%s state=%s "
	         "subject=%s summary=%s",
	         seq, words_alert_kind(a.kind), words_severity(a.severity),
	         words_alert_state(a.state), w.subject, w.summary);
	return seq;
}

/* ---- episodes ---- */

static void
arm_repeat(struct engine *e, struct episode *ep, int64_t due)
{
	if (!ep->acked) {
		wheel_schedule(&e->wheel, &ep->timer, due);
	}
}

/*
 * Opens an episode of kind for s with its first (firing) alert. Returns
 * the episode, or NULL with e->error set.
 */
static struct episode *
open_episode(struct engine *e, struct subject *s, int kind, int severity,
             Hbmon__V1__AlertDetails *details)
{
	struct episode *ep = calloc(1, sizeof(*ep));
	struct store_episode row = { 0 };
	struct notice n = { .subject = s,
		            .about = kind,
		            .kind = kind,
		            .severity = severity,
		            .state = ST(FIRING),
		            .details = details };
	uint64_t seq;

	if (ep == NULL) {
		e->error = HBMON_ENOMEM;
		return NULL;
	}
	seq = emit(e, &n);
	if (seq == 0) {
		free(ep);
		return NULL;
	}
	ep->timer.kind = WHEEL_EPISODE;
	ep->subject = s;
	ep->id = seq;
	ep->opened_wall = e->wall;
	ep->last_alert_wall = e->wall;
	ep->status = s != NULL ? s->status : 0;
	ep->kind = (uint8_t) kind;
	ep->severity = (uint8_t) severity;
	row.id = seq;
	row.subject_id = s != NULL ? s->id : 0; /* 0: the server itself */
	row.kind = kind;
	row.severity = severity;
	row.opened_ms = e->wall;
	row.last_alert_ms = e->wall;
	if (store_episode_open(e->store, &row) != HBMON_OK ||
	    hashtab_insert(&e->episodes, episode_hash(seq), ep) != HBMON_OK) {
		e->error = HBMON_EIO;
		free(ep);
		return NULL;
	}
	if (s != NULL) {
		ep->next = s->episodes;
		s->episodes = ep;
	} else {
		ep->next = e->server_episodes;
		e->server_episodes = ep;
	}
	arm_repeat(e, ep, e->now + e->opts.repeat_interval_ms);
	return ep;
}

static void
drop_episode(struct engine *e, struct episode *ep)
{
	struct subject *s = ep->subject;
	struct episode **p = s != NULL ? &s->episodes : &e->server_episodes;

	wheel_cancel(&e->wheel, &ep->timer);
	while (*p != NULL && *p != ep) {
		p = &(*p)->next;
	}
	if (*p == ep) {
		*p = ep->next;
	}
	hashtab_remove(&e->episodes, episode_hash(ep->id), &ep->id,
	               sizeof(ep->id));
	free(ep);
}

/* How long an episode has lasted, by the wall clock (see silent_ms). */
static int64_t
episode_age(const struct engine *e, const struct episode *ep)
{
	int64_t ms = e->wall - ep->opened_wall;

	return ms > 0 ? ms : 0;
}

/* The notice of one more alert of an open episode, still firing. */
static struct notice
again_notice(const struct episode *ep, Hbmon__V1__AlertDetails *details)
{
	struct notice n = { .subject = ep->subject,
		            .episode = ep->id,
		            .about = ep->kind,
		            .kind = ep->kind,
		            .severity = ep->severity,
		            .state = ST(FIRING),
		            .repeat = ep->repeats,
		            .details = details };

	return n;
}

/*
 * Sends one more alert of an open episode: a repeat, or a change while it
 * is still firing (STATUS_CHANGED). Returns the seq, or 0 with e->error
 * set.
 */
static uint64_t
emit_again(struct engine *e, const struct episode *ep,
           Hbmon__V1__AlertDetails *details)
{
	struct notice n = again_notice(ep, details);

	return emit(e, &n);
}

/* Resolves an episode with a RECOVERED alert and forgets it. */
static void
resolve_episode(struct engine *e, struct episode *ep,
                Hbmon__V1__AlertDetails *details)
{
	struct notice n = { .subject = ep->subject,
		            .episode = ep->id,
		            .about = ep->kind,
		            .kind = K(RECOVERED),
		            .severity = SEV(INFO),
		            .state = ST(RESOLVED),
		            .details = details };

	details->resolves = ep->kind;
	if (details->duration_ms == 0) {
		details->duration_ms = episode_age(e, ep);
	}
	if (emit(e, &n) == 0) {
		return;
	}
	if (store_episode_resolve(e->store, ep->id, e->wall) != HBMON_OK) {
		e->error = HBMON_EIO;
		return;
	}
	drop_episode(e, ep);
}

/* ---- silence: HEARTBEAT_MISSED and RECOVERED ---- */

static int
missed_severity(const struct subject *s)
{
	if (subject_is_robot(s)) {
		return SEV(CRITICAL); /* it takes its accounts with it */
	}
	/* Exposure: orders in the market or a session that needs a person. */
	if (s->open_orders > 0 || s->status == A(EXPIRED) ||
	    s->status == A(ERROR) || (s->heard && !s->session_valid)) {
		return SEV(CRITICAL);
	}
	return SEV(WARNING);
}

/* The word for s's last reported status; "unknown" before the first. */
static const char *
status_word(const struct subject *s, int status)
{
	const char *w =
	    subject_is_robot(s) ? words_health(status) : words_account(status);
	return w != NULL ? w : "unknown";
}

/* How an alert lists accounts: those with open orders first, each group
 * in natural order (ACC_001, ACC_002, ..., ACC_010). */
static int
listed_cmp(const void *x, const void *y)
{
	const struct subject *a = *(const struct subject *const *) x;
	const struct subject *b = *(const struct subject *const *) y;

	if ((a->open_orders > 0) != (b->open_orders > 0)) {
		return a->open_orders > 0 ? -1 : 1;
	}
	return subject_name_cmp(subject_account(a), subject_account(b));
}

/*
 * A walk over a robot's accounts in the order alerts list them. The
 * order is sorted into the engine's array (valid until the next walk);
 * without memory for it, the walk goes in the robot's own order.
 */
struct listing {
	struct subject **listed; /* NULL: follow next_account instead */
	size_t n, i;
	struct subject *next;
};

static void
listing_start(struct engine *e, const struct subject *robot, struct listing *l)
{
	l->listed = NULL;
	l->n = l->i = 0;
	l->next = robot->accounts;
	if (robot->n_accounts > e->listed_cap) {
		struct subject **grown =
		    realloc(e->listed, robot->n_accounts * sizeof(*grown));
		if (grown == NULL) {
			return;
		}
		e->listed = grown;
		e->listed_cap = robot->n_accounts;
	}
	for (struct subject *a = robot->accounts; a != NULL;
	     a = a->next_account) {
		assert(l->n < robot->n_accounts);
		e->listed[l->n++] = a;
	}
	if (l->n > 0) {
		qsort(e->listed, l->n, sizeof(*e->listed), listed_cmp);
	}
	l->listed = e->listed;
}

/* The next account of the walk, or NULL at its end. */
static struct subject *
listing_next(struct listing *l)
{
	struct subject *a;

	if (l->listed != NULL) {
		return l->i < l->n ? l->listed[l->i++] : NULL;
	}
	if ((a = l->next) != NULL) {
		l->next = a->next_account;
	}
	return a;
}

/*
 * The details of a silence alert: how long, how many heartbeats missed
 * (by the wall clock, see silent_ms), and what it leaves exposed. They
 * point into the caller's affected[] array (of AFFECTED_MAX), which must
 * outlive them.
 */
static void
missed_details(struct engine *e, struct subject *s, Hbmon__V1__AlertDetails *d,
               Hbmon__V1__AffectedAccount *affected,
               Hbmon__V1__AffectedAccount **affected_ptrs)
{
	int64_t ms = silent_ms(e, s);

	d->misses =
	    (uint32_t) (s->interval_ms > 0 ? (uint64_t) ms / s->interval_ms
	                                   : 0);
	d->duration_ms = ms;
	d->last_seen_ms = s->last_seen_ms;
	d->status = (char *) (s->status != 0 ? status_word(s, s->status) : "");
	if (subject_is_robot(s)) {
		uint32_t with_orders = 0;
		size_t n = 0;
		struct listing l;
		struct subject *a;

		listing_start(e, s, &l);
		while ((a = listing_next(&l)) != NULL) {
			if (a->open_orders > 0) {
				with_orders++;
			}
			if (n < AFFECTED_MAX) {
				Hbmon__V1__AffectedAccount *x = &affected[n];
				hbmon__v1__affected_account__init(x);
				x->account = (char *) subject_account(a);
				x->status = a->status;
				x->session_valid = a->session_valid;
				x->open_orders = a->open_orders;
				affected_ptrs[n++] = x;
			}
		}
		d->affected = affected_ptrs;
		d->n_affected = n;
		d->accounts_total = s->n_accounts;
		d->accounts_with_orders = with_orders;
	} else {
		d->open_orders = s->open_orders;
	}
}

static void
raise_missed(struct engine *e, struct subject *s)
{
	static Hbmon__V1__AffectedAccount affected[AFFECTED_MAX];
	static Hbmon__V1__AffectedAccount *ptrs[AFFECTED_MAX];
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	char *payload = subject_last_json(s);

	/* affected[] is static: the engine runs on one thread only. */
	missed_details(e, s, &d, affected, ptrs);
	d.last_payload = payload != NULL ? payload : (char *) "";
	open_episode(e, s, K(HEARTBEAT_MISSED), missed_severity(s), &d);
	free(payload);
}

/*
 * A subject is down: alert, unless something else speaks for it. An
 * account of a robot that is itself late or down waits for its robot: if
 * the robot goes down, the robot's alert lists it; if the robot comes back,
 * the account gets one more interval before its own alert.
 */
static void
evaluate_down(struct engine *e, struct subject *s)
{
	if (find_episode(s, K(HEARTBEAT_MISSED)) != NULL) {
		return;
	}
	if (engine_paused(s, e->wall)) {
		schedule(e, s, pause_end(e, s));
		return;
	}
	if (!subject_is_robot(s) && s->robot != NULL && s->robot->heard &&
	    s->robot->liveness != LIVE_OK) {
		return;
	}
	raise_missed(e, s);
}

static void evaluate_status(struct engine *e, struct subject *s);

/* Whether any account of robot has ever been heard (also before this
 * run's engine_start has looked at it). */
static bool
any_account_heard(const struct subject *robot)
{
	for (const struct subject *a = robot->accounts; a != NULL;
	     a = a->next_account) {
		if (a->heard || a->status != 0 || a->last_seen_ms != 0) {
			return true;
		}
	}
	return false;
}

/*
 * A registered robot's first interval_max passed (from its registration,
 * or from start-up) and nothing of it was heard: it never reported. A
 * robot that reports only its accounts is watched through them.
 */
static void
evaluate_never_reported(struct engine *e, struct subject *s)
{
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;

	if (any_account_heard(s)) {
		s->expected = false;
		return;
	}
	if (find_episode(s, K(HEARTBEAT_MISSED)) != NULL) {
		return;
	}
	if (engine_paused(s, e->wall)) {
		schedule(e, s, pause_end(e, s));
		return;
	}
	s->liveness = LIVE_DOWN;
	/* last_seen_ms 0 and no status: the words say "never reported". */
	d.duration_ms = e->now - s->count_from;
	open_episode(e, s, K(HEARTBEAT_MISSED), SEV(WARNING), &d);
}

static void
fire_subject(struct engine *e, struct subject *s)
{
	uint32_t misses = engine_misses(e, s, e->now);
	uint32_t t = e->opts.miss_threshold;

	if (!s->heard) {
		/* Tracking starts with the first heartbeat, or with the
		 * registration of a robot. */
		if (s->expected) {
			evaluate_never_reported(e, s);
		}
		return;
	}
	if (misses == 0) {
		s->liveness = LIVE_OK;
		schedule(e, s, s->count_from + s->interval_ms);
	} else if (misses <= t) {
		s->liveness = LIVE_LATE;
		schedule(e, s,
		         s->count_from + (int64_t) (t + 1) * s->interval_ms);
	} else {
		s->liveness = LIVE_DOWN;
		evaluate_down(e, s);
	}
	/* A pause may have ended: say now what it kept quiet. */
	if (!engine_paused(s, e->wall) && s->heard &&
	    find_episode(s, K(STATUS_CHANGED)) == NULL) {
		evaluate_status(e, s);
	}
}

/* ---- reported state: STATUS_CHANGED ---- */

static bool
status_is_bad(const struct subject *s)
{
	if (subject_is_robot(s)) {
		return s->status == H(DEGRADED) || s->status == H(UNHEALTHY);
	}
	return s->status == A(EXPIRED) || s->status == A(ERROR);
}

static int
status_severity(const struct subject *s)
{
	if (subject_is_robot(s)) {
		return s->status == H(UNHEALTHY) ? SEV(CRITICAL) : SEV(WARNING);
	}
	if (s->status == A(ERROR) || s->open_orders > 0) {
		return SEV(CRITICAL);
	}
	return SEV(WARNING); /* expired, nothing in the market */
}

static void
evaluate_status(struct engine *e, struct subject *s)
{
	struct episode *ep = find_episode(s, K(STATUS_CHANGED));
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	char *payload;

	d.open_orders = s->open_orders;
	d.to_status = (char *) status_word(s, s->status);
	d.status = d.to_status;
	if (status_is_bad(s)) {
		if (engine_paused(s, e->wall)) {
			return; /* said when the pause ends */
		}
		if (ep != NULL && ep->status == s->status) {
			return;
		}
		payload = subject_last_json(s);
		d.last_payload = payload != NULL ? payload : (char *) "";
		if (ep == NULL) {
			open_episode(e, s, K(STATUS_CHANGED),
			             status_severity(s), &d);
		} else {
			/* Worse or better, but still not well: a new notice
			 * in the same episode. */
			d.from_status = (char *) status_word(s, ep->status);
			ep->status = s->status;
			ep->severity = (uint8_t) status_severity(s);
			ep->last_alert_wall = e->wall;
			if (emit_again(e, ep, &d) != 0 &&
			    store_episode_update(e->store, ep->id, ep->severity,
			                         e->wall,
			                         ep->repeats) != HBMON_OK) {
				e->error = HBMON_EIO;
			}
			arm_repeat(e, ep, e->now + e->opts.repeat_interval_ms);
		}
		free(payload);
	} else if (ep != NULL) {
		d.from_status = (char *) status_word(s, ep->status);
		resolve_episode(e, ep, &d);
	}
}

/* ---- CLOCK_SKEW ---- */

static void
evaluate_skew(struct engine *e, struct subject *s, int64_t skew)
{
	struct episode *ep = find_episode(s, K(CLOCK_SKEW));
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	int64_t limit = e->opts.clock_skew_max_ms;

	d.skew_ms = skew;
	d.skew_max_ms = limit;
	if (skew > limit || skew < -limit) {
		if (ep != NULL || engine_paused(s, e->wall)) {
			if (ep != NULL) {
				ep->value = skew;
			}
			return;
		}
		ep = open_episode(e, s, K(CLOCK_SKEW), SEV(WARNING), &d);
		if (ep != NULL) {
			ep->value = skew;
		}
	} else if (ep != NULL) {
		resolve_episode(e, ep, &d);
	}
}

/* ---- the engine's entry points ---- */

/*
 * Where robot's heartbeats come from now, for alert details. Without
 * memory the old address stays (or none): it is a courtesy, never a
 * decision.
 */
static void
note_host(struct subject *robot, const char *host)
{
	char *copy;

	if (robot == NULL ||
	    (robot->host != NULL && strcmp(robot->host, host) == 0)) {
		return;
	}
	if ((copy = strdup(host)) != NULL) {
		free(robot->host);
		robot->host = copy;
	}
}

int
engine_heard(struct engine *e, struct subject *s,
             const struct engine_heartbeat *hb, int64_t now, int64_t wall)
{
	struct episode *missed = find_episode(s, K(HEARTBEAT_MISSED));
	bool was_heard = s->heard;

	e->now = now;
	e->wall = wall;
	e->error = HBMON_OK;

	if (missed != NULL) {
		Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
		int64_t ms = silent_ms(e, s);

		d.misses = (uint32_t) (s->interval_ms > 0
		                           ? (uint64_t) ms / s->interval_ms
		                           : 0);
		d.duration_ms = ms;
		d.last_seen_ms = s->last_seen_ms;
		resolve_episode(e, missed, &d);
	}
	if (!subject_is_robot(s) && s->robot != NULL && s->robot->expected) {
		/* The robot reports through its accounts: they speak for
		 * it from now on. */
		struct episode *never =
		    find_episode(s->robot, K(HEARTBEAT_MISSED));
		s->robot->expected = false;
		if (never != NULL && !s->robot->heard) {
			Hbmon__V1__AlertDetails d =
			    HBMON__V1__ALERT_DETAILS__INIT;
			resolve_episode(e, never, &d);
			s->robot->liveness = LIVE_OK;
		}
	}
	if (hb->host != NULL && hb->host[0] != '\0') {
		note_host(subject_is_robot(s) ? s : s->robot, hb->host);
	}
	s->expected = false;
	s->heard = true;
	s->heard_at = now;
	s->count_from = now;
	s->last_seen_ms = hb->received_ms;
	s->liveness = LIVE_OK;
	/* Lazy: an armed deadline that is not later than the new one simply
	 * fires and re-arms itself; a later one (a down deadline, a pause
	 * end) must come forward. */
	if (!s->timer.armed || s->timer.due > now + s->interval_ms) {
		schedule(e, s, now + s->interval_ms);
	}
	if (subject_is_robot(s)) {
		/* Accounts held or covered while the robot was away get one
		 * interval to report before their own alert. */
		for (struct subject *a = s->accounts; a != NULL;
		     a = a->next_account) {
			if (a->liveness == LIVE_DOWN &&
			    find_episode(a, K(HEARTBEAT_MISSED)) == NULL) {
				schedule(e, a, now + a->interval_ms);
			}
		}
	}

	if (!hb->allowed && was_heard && !engine_paused(s, wall)) {
		Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
		struct notice n = { .subject = s,
			            .about = K(INVALID_TRANSITION),
			            .kind = K(INVALID_TRANSITION),
			            .severity = SEV(WARNING),
			            .state = ST(FIRING),
			            .details = &d };
		d.from_status = (char *) status_word(s, hb->from_status);
		d.to_status = (char *) status_word(s, hb->to_status);
		d.status = d.to_status;
		emit(e, &n);
	}
	evaluate_status(e, s);
	/* A robot's clock is judged on its robot heartbeats; an account's
	 * only when its robot sends none. */
	if (subject_is_robot(s) || s->robot == NULL || !s->robot->heard) {
		evaluate_skew(e, s, hb->timestamp_ms - wall);
	}
	return e->error;
}

int
engine_robot_reported(struct engine *e, struct subject *robot, int64_t now,
                      int64_t wall)
{
	struct episode *ep = find_episode(robot, K(ACCOUNT_MISMATCH));
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	uint32_t heard = 0, silent = 0;
	int64_t window = robot->interval_ms;

	e->now = now;
	e->wall = wall;
	e->error = HBMON_OK;
	for (struct subject *a = robot->accounts; a != NULL;
	     a = a->next_account) {
		if (a->heard_at > 0 && now - a->heard_at <= window) {
			heard++;
		} else if (a->heard) {
			silent++;
		}
	}
	d.active_accounts = robot->active_accounts;
	d.accounts_heard = heard;
	if (heard == robot->active_accounts) {
		robot->mismatch_since = 0;
		if (ep != NULL) {
			resolve_episode(e, ep, &d);
		}
		return e->error;
	}
	if (ep == NULL && heard < robot->active_accounts &&
	    robot->active_accounts - heard <= silent) {
		/* Known accounts that fell silent account for the
		 * difference: each is late, then alerted on its own
		 * (HEARTBEAT_MISSED, with its open orders), which says more
		 * than a second alert for the robot would. */
		robot->mismatch_since = 0;
		return e->error;
	}
	if (robot->mismatch_since == 0) {
		robot->mismatch_since = now;
		return e->error;
	}
	if (ep != NULL) {
		ep->value = heard; /* what a repeat will say */
		return e->error;
	}
	if (now - robot->mismatch_since < 2 * window ||
	    engine_paused(robot, wall)) {
		return e->error;
	}
	{
		static char *missing[AFFECTED_MAX];
		size_t n = 0;
		struct listing l;
		struct subject *a;

		listing_start(e, robot, &l);
		while (n < AFFECTED_MAX && (a = listing_next(&l)) != NULL) {
			if (a->heard_at == 0 || now - a->heard_at > window) {
				missing[n++] = (char *) subject_account(a);
			}
		}
		d.missing_accounts = missing;
		d.n_missing_accounts = n;
		ep = open_episode(e, robot, K(ACCOUNT_MISMATCH), SEV(WARNING),
		                  &d);
		if (ep != NULL) {
			ep->value = heard;
		}
	}
	return e->error;
}

/*
 * While a robot is down its HEARTBEAT_MISSED is the one notice that
 * repeats for it and its accounts: it lists every account with its status,
 * session and open orders (SPEC §3.2: one alert, not N+1), and what the
 * others would repeat is only what was last heard. Their episodes stay
 * open and repeat again if the robot comes back with them still wrong.
 */
static bool
covered_by_robot_down(const struct subject *s, const struct episode *ep)
{
	const struct subject *robot = subject_is_robot(s) ? s : s->robot;
	const struct episode *down;

	if (robot == NULL) {
		return false;
	}
	down = find_episode(robot, K(HEARTBEAT_MISSED));
	return down != NULL && down != ep;
}

/* ---- the server's own conditions: STORAGE_FAILING, DISK_SPACE_LOW ---- */

static struct episode *
find_server_episode(const struct engine *e, int kind)
{
	for (struct episode *ep = e->server_episodes; ep != NULL;
	     ep = ep->next) {
		if (ep->kind == kind) {
			return ep;
		}
	}
	return NULL;
}

/* The details of a server condition, as it was last seen. */
static void
condition_details(const struct episode *ep, Hbmon__V1__AlertDetails *d)
{
	if (ep->kind == K(STORAGE_FAILING)) {
		d->reason =
		    (char *) store_fault_text((enum store_fault) ep->value);
	} else {
		d->free_min_bytes = ep->free_min;
	}
	d->free_bytes = ep->free_bytes;
}

/* A repeat of a server condition still holding. */
static void
fire_server_episode(struct engine *e, struct episode *ep)
{
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;

	condition_details(ep, &d);
	d.duration_ms = episode_age(e, ep);
	ep->repeats++;
	ep->last_alert_wall = e->wall;
	if (emit_again(e, ep, &d) != 0) {
		(void) store_episode_update(e->store, ep->id, ep->severity,
		                            e->wall, ep->repeats);
	}
	arm_repeat(e, ep, e->now + e->opts.repeat_interval_ms);
}

int
engine_server_condition(struct engine *e, const struct engine_condition *c,
                        int64_t now, int64_t wall)
{
	struct episode *ep = find_server_episode(e, c->kind);
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;

	assert(c->kind == K(STORAGE_FAILING) || c->kind == K(DISK_SPACE_LOW));
	e->now = now;
	e->wall = wall;
	e->error = HBMON_OK;
	if (c->holds && ep == NULL) {
		if (c->kind == K(STORAGE_FAILING)) {
			d.reason = (char *) store_fault_text(
			    (enum store_fault) c->fault);
		} else {
			d.free_min_bytes = c->free_min;
		}
		d.free_bytes = c->free_bytes;
		ep = open_episode(e, NULL, c->kind,
		                  c->kind == K(STORAGE_FAILING) ? SEV(CRITICAL)
		                                                : SEV(WARNING),
		                  &d);
		if (ep != NULL) {
			ep->value = c->kind == K(STORAGE_FAILING)
			                ? c->fault
			                : c->free_bytes;
			ep->free_bytes = c->free_bytes;
			ep->free_min = c->free_min;
		}
	} else if (!c->holds && ep != NULL) {
		condition_details(ep, &d);
		d.free_bytes = c->free_bytes;
		resolve_episode(e, ep, &d);
	} else if (c->holds && c->kind == K(STORAGE_FAILING)) {
		ep->value = c->fault; /* what a repeat will say */
		ep->free_bytes = c->free_bytes;
	} else if (c->holds) {
		ep->free_bytes = c->free_bytes;
	}
	return e->error;
}

bool
engine_server_condition_holds(const struct engine *e, int kind)
{
	return find_server_episode(e, kind) != NULL;
}

/*
 * What a repeat of a subject's episode says now. The details point into
 * affected[] (see missed_details), which must outlive them.
 */
static void
repeat_details(struct engine *e, const struct episode *ep,
               Hbmon__V1__AlertDetails *d, Hbmon__V1__AffectedAccount *affected,
               Hbmon__V1__AffectedAccount **affected_ptrs)
{
	struct subject *s = ep->subject;

	assert(s != NULL);
	switch (ep->kind) {
	case K(HEARTBEAT_MISSED):
		missed_details(e, s, d, affected, affected_ptrs);
		break;
	case K(STATUS_CHANGED):
		d->open_orders = s->open_orders;
		d->to_status = (char *) status_word(s, s->status);
		d->status = d->to_status;
		break;
	case K(CLOCK_SKEW):
		d->skew_ms = ep->value;
		d->skew_max_ms = e->opts.clock_skew_max_ms;
		break;
	case K(ACCOUNT_MISMATCH):
		d->active_accounts = s->active_accounts;
		d->accounts_heard = (uint32_t) ep->value;
		break;
	default:
		break;
	}
	if (d->duration_ms == 0) {
		d->duration_ms = episode_age(e, ep);
	}
}

/* Sends the repeat of an unacknowledged, still firing episode. */
static void
fire_episode(struct engine *e, struct episode *ep)
{
	static Hbmon__V1__AffectedAccount affected[AFFECTED_MAX];
	static Hbmon__V1__AffectedAccount *ptrs[AFFECTED_MAX];
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	struct subject *s = ep->subject;

	if (ep->acked) {
		return;
	}
	if (s == NULL) {
		fire_server_episode(e, ep);
		return;
	}
	if (engine_paused(s, e->wall)) {
		arm_repeat(e, ep, pause_end(e, s));
		return;
	}
	if (covered_by_robot_down(s, ep)) {
		arm_repeat(e, ep, e->now + e->opts.repeat_interval_ms);
		return;
	}
	repeat_details(e, ep, &d, affected, ptrs);
	ep->repeats++;
	ep->last_alert_wall = e->wall;
	if (emit_again(e, ep, &d) == 0) {
		return;
	}
	if (store_episode_update(e->store, ep->id, ep->severity, e->wall,
	                         ep->repeats) != HBMON_OK) {
		e->error = HBMON_EIO;
	}
	arm_repeat(e, ep, e->now + e->opts.repeat_interval_ms);
}

static void
fire(struct wheel_entry *entry, void *arg)
{
	struct engine *e = arg;

	assert(entry->kind == WHEEL_SUBJECT || entry->kind == WHEEL_EPISODE);
	if (entry->kind == WHEEL_SUBJECT) {
		fire_subject(e, (struct subject *) entry);
	} else {
		fire_episode(e, (struct episode *) entry);
	}
}

int
engine_tick(struct engine *e, int64_t now, int64_t wall)
{
	e->now = now;
	e->wall = wall;
	e->error = HBMON_OK;
	wheel_advance(&e->wheel, now, fire, e);
	return e->error;
}

int
engine_server_restarted(struct engine *e, int64_t outage_ms, bool unclean,
                        int64_t interval_max_ms, int64_t wall)
{
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	bool long_away = outage_ms > interval_max_ms;
	struct notice n = { .about = K(SERVER_RESTARTED),
		            .kind = K(SERVER_RESTARTED),
		            .severity =
		                unclean || long_away ? SEV(WARNING) : SEV(INFO),
		            .state = ST(FIRING),
		            .details = &d };

	e->wall = wall;
	e->error = HBMON_OK;
	d.outage_ms = outage_ms;
	d.unclean_stop = unclean;
	d.interval_max_ms = interval_max_ms;
	emit(e, &n);
	return e->error;
}

int
engine_listener_restarted(struct engine *e, const char *listener,
                          const char *url, const char *why, int64_t wall)
{
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	struct notice n = { .about = K(LISTENER_RESTARTED),
		            .kind = K(LISTENER_RESTARTED),
		            .severity = SEV(WARNING),
		            .state = ST(FIRING),
		            .details = &d };

	e->wall = wall;
	e->error = HBMON_OK;
	d.listener = (char *) listener;
	d.listener_url = (char *) url;
	d.reason = (char *) why;
	emit(e, &n);
	return e->error;
}

int
engine_ack(struct engine *e, uint64_t seq, const char *by, int64_t wall,
           char *why, size_t why_len)
{
	uint64_t id = 0;
	struct episode *ep;
	int rv = store_alert_episode(e->store, seq, &id);

	if (rv == HBMON_ENOENT) {
		snprintf(why, why_len, "there is no alert with seq %" PRIu64,
		         seq);
		return rv;
	}
	if (rv != HBMON_OK) {
		snprintf(why, why_len, "cannot read the outbox");
		return rv;
	}
	ep = hashtab_find(&e->episodes, episode_hash(id), &id, sizeof(id));
	if (ep == NULL) {
		snprintf(why, why_len,
		         "alert %" PRIu64 " is not firing any more (a one-off "
		         "notice, or its episode is resolved): nothing repeats",
		         seq);
		return HBMON_EINVAL;
	}
	if (ep->acked) {
		return HBMON_OK;
	}
	if (store_episode_ack(e->store, ep->id, wall, by) != HBMON_OK) {
		snprintf(why, why_len, "cannot record the acknowledgement");
		return HBMON_EIO;
	}
	ep->acked = true;
	wheel_cancel(&e->wheel, &ep->timer);
	return HBMON_OK;
}

int
engine_pause(struct engine *e, struct subject *s, int64_t until_wall,
             const char *reason, int64_t now, int64_t wall)
{
	e->now = now;
	e->wall = wall;
	e->error = HBMON_OK;
	s->paused_until_ms = until_wall > wall ? until_wall : 0;
	if (store_subject_pause(e->store, s->id, s->paused_until_ms, reason) !=
	    HBMON_OK) {
		return HBMON_EIO;
	}
	/* When the pause ends (now, on a resume), look again at whatever it
	 * kept quiet: the subject and, for a robot, its accounts. */
	{
		int64_t due = s->paused_until_ms > 0 ? pause_end(e, s) : now;
		if (s->heard && (!s->timer.armed || s->timer.due > due)) {
			schedule(e, s, due);
		}
		for (struct subject *a = s->accounts; a != NULL;
		     a = a->next_account) {
			if (a->heard &&
			    (!a->timer.armed || a->timer.due > due)) {
				schedule(e, a, due);
			}
		}
	}
	return e->error;
}

static void
free_list(struct pending *p)
{
	while (p != NULL) {
		struct pending *next = p->next;
		free(p);
		p = next;
	}
}

/* Publishes p marked not_durable (its transaction failed). */
static void
publish_not_durable(const struct pending *p,
                    void (*publish)(void *arg, const uint8_t *msg, size_t len),
                    void *arg)
{
	Hbmon__V1__Alert *a = hbmon__v1__alert__unpack(
	    NULL, pending_body_len(p), pending_body(p));
	uint8_t *msg = NULL;
	size_t len = 0;

	if (a == NULL) {
		return;
	}
	a->not_durable = true;
	if (alert_topic_pack(a, &msg, &len) == HBMON_OK) {
		publish(arg, msg, len);
	}
	free(msg);
	hbmon__v1__alert__free_unpacked(a, NULL);
}

size_t
engine_flush(struct engine *e,
             void (*publish)(void *arg, const uint8_t *msg, size_t len),
             void *arg, bool written)
{
	size_t n = 0;

	if (written) {
		/* Everything given out is in the outbox now, what was held
		 * back included: say so before anyone hears of it on PUB and
		 * asks the outbox for it. */
		e->committed_seq = e->last_seq;
		free_list(e->unwritten);
		e->unwritten = NULL;
		e->unwritten_tail = &e->unwritten;
		e->n_unwritten = 0;
	}
	while (e->pending != NULL) {
		struct pending *p = e->pending;
		e->pending = p->next;
		p->next = NULL;
		if (publish != NULL && written) {
			publish(arg, p->msg, p->msg_len);
		} else if (publish != NULL) {
			/* The owner is told at once, and the alert is kept for
			 * the database and for AlertsAfter (SPEC §3.5). */
			publish_not_durable(p, publish, arg);
		}
		n++;
		if (written || publish == NULL) {
			free(p);
		} else {
			*e->unwritten_tail = p;
			e->unwritten_tail = &p->next;
			e->n_unwritten++;
		}
	}
	e->pending_tail = &e->pending;
	return n;
}

int
engine_unwritten(const struct engine *e, uint64_t after, uint32_t limit,
                 int (*fn)(void *arg, uint64_t seq, const uint8_t *body,
                           size_t len),
                 void *arg)
{
	uint32_t n = 0;

	for (const struct pending *p = e->unwritten; p != NULL && n < limit;
	     p = p->next) {
		int rv;
		if (p->seq <= after) {
			continue;
		}
		if ((rv = fn(arg, p->seq, pending_body(p),
		             pending_body_len(p))) != 0) {
			return rv;
		}
		n++;
	}
	return HBMON_OK;
}

size_t
engine_unwritten_count(const struct engine *e)
{
	return e->n_unwritten;
}

int
engine_release_seqs(struct engine *e)
{
	/* A clean stop: nothing was given out past last_seq. */
	e->reserved = e->last_seq;
	return store_seq_release(e->store, e->last_seq);
}

uint64_t
engine_last_seq(const struct engine *e)
{
	return e->last_seq;
}

uint64_t
engine_committed_seq(const struct engine *e)
{
	return e->committed_seq;
}

uint64_t
engine_given_seq(const struct engine *e)
{
	return e->given_seq > e->committed_seq ? e->given_seq
	                                       : e->committed_seq;
}

void
engine_set_interval(struct engine *e, struct subject *s, uint32_t interval_ms,
                    int64_t now)
{
	e->now = now;
	s->interval_ms = interval_ms;
	/* Fire now: the subject re-arms itself for its new deadline. */
	if (s->heard && s->liveness != LIVE_DOWN) {
		schedule(e, s, e->now);
	}
}

void
engine_expect(struct engine *e, struct subject *robot, int64_t now)
{
	assert(subject_is_robot(robot));
	e->now = now;
	if (robot->heard || any_account_heard(robot)) {
		return;
	}
	robot->expected = true;
	robot->count_from = now;
	schedule(e, robot, now + robot->interval_ms);
}

/* Resolves every open episode of s: it is being removed. */
static void
resolve_removed(struct engine *e, struct subject *s)
{
	while (s->episodes != NULL && e->error == HBMON_OK) {
		Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
		d.subject_removed = true;
		resolve_episode(e, s->episodes, &d);
	}
}

int
engine_removed(struct engine *e, struct subject *robot, int64_t now,
               int64_t wall)
{
	assert(subject_is_robot(robot));
	e->now = now;
	e->wall = wall;
	e->error = HBMON_OK;
	for (struct subject *a = robot->accounts; a != NULL;
	     a = a->next_account) {
		resolve_removed(e, a);
	}
	resolve_removed(e, robot);
	return e->error;
}

void
engine_forget_subject(struct engine *e, struct subject *s)
{
	wheel_cancel(&e->wheel, &s->timer);
	while (s->episodes != NULL) {
		drop_episode(e, s->episodes);
	}
}

/* ---- what is firing now ---- */

struct open_walk {
	struct engine *e;
	int (*fn)(void *arg, const struct engine_open *o);
	void *arg;
};

static int
open_one(void *record, void *arg)
{
	static Hbmon__V1__AffectedAccount affected[AFFECTED_MAX];
	static Hbmon__V1__AffectedAccount *ptrs[AFFECTED_MAX];
	struct open_walk *w = arg;
	const struct episode *ep = record;
	Hbmon__V1__AlertDetails d = HBMON__V1__ALERT_DETAILS__INIT;
	struct notice n = again_notice(ep, &d);
	struct engine_open o = { 0 };
	struct alert_words words;
	Hbmon__V1__Alert a;

	/* affected[] is static: the engine runs on one thread only. */
	if (ep->subject != NULL) {
		repeat_details(w->e, ep, &d, affected, ptrs);
	} else {
		condition_details(ep, &d);
		d.duration_ms = episode_age(w->e, ep);
	}
	word_alert(w->e, &n, ep->id, &a, &words);
	a.raised_at_ms = ep->opened_wall;
	o.alert = &a;
	o.last_alert_ms = ep->last_alert_wall;
	o.acked = ep->acked;
	return w->fn(w->arg, &o);
}

int
engine_open_each(struct engine *e, int64_t now, int64_t wall,
                 int (*fn)(void *arg, const struct engine_open *o), void *arg)
{
	struct open_walk w = { e, fn, arg };

	e->now = now;
	e->wall = wall;
	return hashtab_each(&e->episodes, open_one, &w);
}

/* ---- start and stop ---- */

struct start_ctx {
	struct engine *e;
	int64_t now;
};

static int
start_subject(struct subject *s, void *arg)
{
	struct start_ctx *c = arg;

	s->heard = s->status != 0 || s->last_seen_ms != 0;
	s->heard_at = 0;
	s->liveness = LIVE_OK;
	s->timer.kind = WHEEL_SUBJECT;
	/* A robot's subject that nothing was ever heard of was made when
	 * it was registered: it is still expected to report. */
	s->expected = !s->heard && subject_is_robot(s) && !any_account_heard(s);
	if (s->heard || s->expected) {
		/* Grace: one full interval from start-up before misses count
		 * (SPEC §3.2). */
		s->count_from = c->now;
		schedule(c->e, s, c->now + s->interval_ms);
	}
	return 0;
}

static int
load_episode(void *arg, const struct store_episode *row)
{
	struct start_ctx *c = arg;
	struct engine *e = c->e;
	bool server = row->subject_id == 0;
	struct subject *s =
	    server ? NULL
	           : subjects_find(e->subjects, row->robot, row->account);
	struct episode *ep;
	int64_t since;

	if (s == NULL && !server) {
		return HBMON_OK; /* its subject is gone (robot removed) */
	}
	if ((ep = calloc(1, sizeof(*ep))) == NULL) {
		return HBMON_ENOMEM;
	}
	ep->timer.kind = WHEEL_EPISODE;
	ep->subject = s;
	ep->id = row->id;
	ep->opened_wall = row->opened_ms;
	ep->last_alert_wall = row->last_alert_ms;
	ep->repeats = row->repeats;
	ep->status = s != NULL ? s->status : 0;
	ep->kind = (uint8_t) row->kind;
	ep->severity = (uint8_t) row->severity;
	ep->acked = row->acked_ms != 0;
	if (hashtab_insert(&e->episodes, episode_hash(ep->id), ep) !=
	    HBMON_OK) {
		free(ep);
		return HBMON_ENOMEM;
	}
	if (server) {
		/* A server condition of the last run: it is judged again
		 * (resolved when it no longer holds). */
		ep->value =
		    ep->kind == K(STORAGE_FAILING) ? STORE_FAULT_OTHER : -1;
		ep->free_bytes = -1;
		ep->next = e->server_episodes;
		e->server_episodes = ep;
	} else {
		ep->next = s->episodes;
		s->episodes = ep;
	}
	if (s != NULL && ep->kind == K(HEARTBEAT_MISSED)) {
		/* Still down: no new alert, and recovery still resolves it. */
		s->liveness = LIVE_DOWN;
		wheel_cancel(&e->wheel, &s->timer);
	}
	since = c->e->wall - row->last_alert_ms;
	arm_repeat(e, ep,
	           c->now + (since >= e->opts.repeat_interval_ms
	                         ? 0
	                         : e->opts.repeat_interval_ms - since));
	return HBMON_OK;
}

int
engine_start(struct store *store, struct subjects *subjects,
             const struct engine_options *opts, int64_t now, int64_t wall,
             struct engine **out)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct start_ctx c = { e, now };
	int rv;

	if (e == NULL) {
		return HBMON_ENOMEM;
	}
	e->store = store;
	e->subjects = subjects;
	e->opts = *opts;
	e->now = now;
	e->wall = wall;
	e->pending_tail = &e->pending;
	e->unwritten_tail = &e->unwritten;
	hashtab_init(&e->episodes, episode_match);
	if ((rv = wheel_init(&e->wheel, opts->tick_ms, WHEEL_SLOTS, now)) !=
	    HBMON_OK) {
		free(e);
		return rv;
	}
	if ((rv = store_alert_last_seq(store, &e->last_seq)) != HBMON_OK) {
		goto fail;
	}
	e->committed_seq = e->last_seq;
	{
		/* After an unclean stop, seqs up to the reservation may have
		 * gone out on PUB without reaching the outbox: never again. */
		struct store_state st;
		if (store_state_get(store, &st) == HBMON_OK &&
		    st.alert_seq_reserved > e->last_seq) {
			e->last_seq = st.alert_seq_reserved;
		}
		e->reserved = e->last_seq;
	}
	subjects_each(subjects, start_subject, &c);
	if ((rv = store_episodes_open_each(store, load_episode, &c)) !=
	    HBMON_OK) {
		goto fail;
	}
	*out = e;
	return HBMON_OK;

fail:
	engine_stop(e);
	return rv;
}

static int
free_episode(void *record, void *arg)
{
	(void) arg;
	free(record);
	return 0;
}

static int
detach_subject(struct subject *s, void *arg)
{
	(void) arg;
	s->episodes = NULL;
	s->timer.armed = false;
	s->timer.next = s->timer.prev = NULL;
	return 0;
}

void
engine_stop(struct engine *e)
{
	if (e == NULL) {
		return;
	}
	engine_flush(e, NULL, NULL, true);
	subjects_each(e->subjects, detach_subject, NULL);
	hashtab_each(&e->episodes, free_episode, NULL);
	hashtab_fini(&e->episodes);
	wheel_fini(&e->wheel);
	free(e->listed);
	free(e);
}
