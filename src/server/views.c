/* /metrics and the status page from the running server; see views.h. */
#include "server/views.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "hbmon/error.h"
#include "server/engine.h"
#include "server/metrics.h"
#include "server/statuspage.h"
#include "server/store.h"

#define L(x) HBMON__V1__LIVENESS__LIVENESS_##x

/* How long one snapshot serves every request. */
#define SNAPSHOT_MS 1000

struct views {
	struct views_options opts;
	char data_dir[1024];
	char version[64];
	pthread_mutex_t lock; /* everything below */
	struct store *reader; /* opened on first use; NULL after a failure */
	int64_t taken_mono;   /* when the snapshot was taken; 0: never */
	/* The snapshot: */
	struct metrics_gauges gauges;
	struct metrics_reader readers[VIEWS_READERS_MAX];
	struct statuspage page;
	struct statuspage_subject
	    subjects[VIEWS_ROBOTS_MAX + VIEWS_ACCOUNTS_MAX];
	struct statuspage_subject paused[VIEWS_PAUSED_MAX];
	struct statuspage_alert alerts[VIEWS_ALERTS_MAX];
};

int
views_open(const struct views_options *opts, struct views **out)
{
	struct views *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		return HBMON_ENOMEM;
	}
	v->opts = *opts;
	snprintf(v->data_dir, sizeof(v->data_dir), "%s",
	         opts->data_dir != NULL ? opts->data_dir : "");
	snprintf(v->version, sizeof(v->version), "%s",
	         opts->version != NULL ? opts->version : "");
	v->opts.data_dir = v->data_dir;
	v->opts.version = v->version;
	if (v->opts.refresh_s <= 0) {
		v->opts.refresh_s = 15;
	}
	pthread_mutex_init(&v->lock, NULL);
	*out = v;
	return HBMON_OK;
}

void
views_close(struct views *v)
{
	if (v == NULL) {
		return;
	}
	store_close(v->reader);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* ---- memory, on the recorder thread ---- */

/* A robot that may be shown: in memory (s), or only registered. */
struct candidate {
	const char *name;
	const struct subject *s; /* NULL: registered, never heard */
};

struct walk {
	struct views *v;
	struct engine *e;
	struct subjects *set;
	int64_t now, wall;
	/* The first VIEWS_ROBOTS_MAX robots by name: a max-heap, so the
	 * last of them is at the top and leaves for a smaller name. */
	struct candidate heap[VIEWS_ROBOTS_MAX];
	size_t n_heap;
	int rv; /* HBMON_ENOMEM when a copy could not be made */
};

static void
heap_sift_down(struct candidate *h, size_t n, size_t i)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = l + 1;
		struct candidate t;

		if (l < n && strcmp(h[l].name, h[big].name) > 0) {
			big = l;
		}
		if (r < n && strcmp(h[r].name, h[big].name) > 0) {
			big = r;
		}
		if (big == i) {
			return;
		}
		t = h[i];
		h[i] = h[big];
		h[big] = t;
		i = big;
	}
}

static void
heap_offer(struct walk *w, const char *name, const struct subject *s)
{
	struct candidate c = { name, s };

	w->v->page.robots_total++;
	if (w->n_heap < VIEWS_ROBOTS_MAX) {
		size_t i = w->n_heap++;
		w->heap[i] = c;
		while (i > 0 &&
		       strcmp(w->heap[(i - 1) / 2].name, w->heap[i].name) < 0) {
			struct candidate t = w->heap[i];
			w->heap[i] = w->heap[(i - 1) / 2];
			w->heap[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (strcmp(name, w->heap[0].name) < 0) {
		w->heap[0] = c;
		heap_sift_down(w->heap, w->n_heap, 0);
	}
}

/* Copies what the page shows of s (NULL: a robot never heard, name). */
static void
copy_subject(const struct walk *w, const struct subject *s, const char *name,
             struct statuspage_subject *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL) {
		snprintf(out->robot, sizeof(out->robot), "%s", name);
		out->liveness = L(UNKNOWN);
		return;
	}
	out->id = s->id;
	snprintf(out->robot, sizeof(out->robot), "%s", subject_robot(s));
	snprintf(out->account, sizeof(out->account), "%s", subject_account(s));
	out->liveness = engine_liveness(w->e, s, w->now, w->wall, &out->misses);
	out->status = s->status;
	out->session_valid = s->session_valid;
	out->open_orders = s->open_orders;
	out->n_accounts = s->n_accounts;
	out->last_seen_ms = s->last_seen_ms;
	out->paused_until_ms =
	    s->paused_until_ms > w->wall ? s->paused_until_ms : 0;
}

static int
count_subject(struct subject *s, void *arg)
{
	struct walk *w = arg;
	struct views *v = w->v;
	Hbmon__V1__Liveness l = engine_liveness(w->e, s, w->now, w->wall, NULL);
	bool robot = subject_is_robot(s);

	v->gauges.subjects[robot ? METRICS_HB_ROBOT : METRICS_HB_ACCOUNT][l]++;
	if (robot) {
		heap_offer(w, subject_robot(s), s);
	}
	/* Its own pause (an account of a paused robot is listed with it). */
	if (s->paused_until_ms > w->wall &&
	    v->page.n_paused < VIEWS_PAUSED_MAX) {
		copy_subject(w, s, NULL, &v->paused[v->page.n_paused++]);
	}
	return 0;
}

static int
count_unheard(struct robot *r, void *arg)
{
	struct walk *w = arg;
	bool removed;

	pthread_mutex_lock(&r->lock);
	removed = r->removed;
	pthread_mutex_unlock(&r->lock);
	if (!removed && subjects_find(w->set, r->id, "") == NULL) {
		w->v->gauges.subjects[METRICS_HB_ROBOT][L(UNKNOWN)]++;
		heap_offer(w, r->id, NULL);
	}
	return 0;
}

static int
by_candidate(const void *a, const void *b)
{
	return strcmp(((const struct candidate *) a)->name,
	              ((const struct candidate *) b)->name);
}

static int
by_account(const void *a, const void *b)
{
	return strcmp(subject_account(*(const struct subject *const *) a),
	              subject_account(*(const struct subject *const *) b));
}

static int
by_subject(const void *a, const void *b)
{
	const struct statuspage_subject *x = a, *y = b;
	int r = strcmp(x->robot, y->robot);

	return r != 0 ? r : strcmp(x->account, y->account);
}

/* The shown robots, each followed by its accounts in name order. */
static void
copy_robots(struct walk *w)
{
	struct views *v = w->v;
	size_t accounts = 0;

	qsort(w->heap, w->n_heap, sizeof(*w->heap), by_candidate);
	v->page.robots_hidden = v->page.robots_total - w->n_heap;
	for (size_t i = 0; i < w->n_heap; i++) {
		const struct subject *r = w->heap[i].s;
		const struct subject **list;
		size_t n = 0;

		copy_subject(w, r, w->heap[i].name,
		             &v->subjects[v->page.n_subjects++]);
		if (r == NULL || r->n_accounts == 0) {
			continue;
		}
		if ((list = malloc(r->n_accounts * sizeof(*list))) == NULL) {
			w->rv = HBMON_ENOMEM;
			v->page.accounts_hidden += r->n_accounts;
			continue;
		}
		for (const struct subject *a = r->accounts;
		     a != NULL && n < r->n_accounts; a = a->next_account) {
			list[n++] = a;
		}
		if (n > 1) {
			qsort(list, n, sizeof(*list), by_account);
		}
		for (size_t k = 0; k < n; k++) {
			if (accounts == VIEWS_ACCOUNTS_MAX) {
				v->page.accounts_hidden += n - k;
				break;
			}
			copy_subject(w, list[k], NULL,
			             &v->subjects[v->page.n_subjects++]);
			accounts++;
		}
		free(list);
	}
}

static void
walk_memory(void *arg, struct recorder *rec)
{
	struct walk *w = arg;

	w->e = recorder_engine(rec);
	w->set = recorder_subjects(rec);
	recorder_clock(rec, &w->now, &w->wall);
	(void) subjects_each(w->set, count_subject, w);
	if (w->v->opts.reg != NULL) {
		(void) registry_each(w->v->opts.reg, count_unheard, w);
	}
	copy_robots(w);
}

/* ---- the database, on the caller's thread ---- */

static int
add_reader(void *arg, const char *name, uint64_t delivered, int64_t seen_ms)
{
	struct views *v = arg;
	struct metrics_reader *r;

	(void) seen_ms;
	if (v->gauges.n_readers == VIEWS_READERS_MAX) {
		return 0;
	}
	r = &v->readers[v->gauges.n_readers++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->delivered = delivered;
	r->oldest_undelivered_ms = 0;
	return 0;
}

static int
first_raised(void *arg, const struct store_alert *a)
{
	*(int64_t *) arg = a->raised_ms;
	return 0;
}

static int
add_episode(void *arg, const struct store_episode *e)
{
	struct views *v = arg;
	struct statuspage_alert *a;

	if (v->page.n_alerts == VIEWS_ALERTS_MAX) {
		v->page.alerts_hidden++;
		return 0;
	}
	a = &v->alerts[v->page.n_alerts++];
	memset(a, 0, sizeof(*a));
	a->seq = e->id;
	a->kind = e->kind;
	a->severity = e->severity;
	snprintf(a->robot, sizeof(a->robot), "%s",
	         e->robot != NULL ? e->robot : "");
	snprintf(a->account, sizeof(a->account), "%s",
	         e->account != NULL ? e->account : "");
	a->opened_ms = e->opened_ms;
	a->repeats = e->repeats;
	a->acked_ms = e->acked_ms;
	snprintf(a->acked_by, sizeof(a->acked_by), "%s",
	         e->acked_by != NULL ? e->acked_by : "");
	return 0;
}

static int
copy_summary(void *arg, const struct store_alert *row)
{
	struct statuspage_alert *a = arg;

	if (row->seq == a->seq) {
		snprintf(a->summary, sizeof(a->summary), "%s",
		         row->summary != NULL ? row->summary : "");
	}
	return 0;
}

static int
copy_reason(void *arg, const struct store_subject *row)
{
	struct statuspage_subject *s = arg;

	snprintf(s->pause_reason, sizeof(s->pause_reason), "%s",
	         row->pause_reason != NULL ? row->pause_reason : "");
	return 0;
}

/* Reads the outbox, the cursors, open episodes and pause reasons. Returns
 * HBMON_OK or the first store error (the connection is then dropped). */
static int
read_database(struct views *v)
{
	char why[512];
	int rv;

	if (v->reader == NULL && store_open_reader(v->data_dir, &v->reader, why,
	                                           sizeof(why)) != HBMON_OK) {
		v->reader = NULL;
		log_warn("the HTTP views cannot read the database", "why=%s",
		         why);
		return HBMON_EIO;
	}
	if ((rv = store_alert_last_seq(v->reader, &v->gauges.outbox_last)) !=
	        HBMON_OK ||
	    (rv = store_readers_each(v->reader, add_reader, v)) != HBMON_OK) {
		return rv;
	}
	for (size_t i = 0; i < v->gauges.n_readers; i++) {
		struct metrics_reader *r = &v->readers[i];
		if ((rv = store_alerts_after(
		         v->reader, r->delivered, 1, first_raised,
		         &r->oldest_undelivered_ms)) != HBMON_OK) {
			return rv;
		}
	}
	v->gauges.outbox_known = true;
	if ((rv = store_episodes_open_each(v->reader, add_episode, v)) !=
	    HBMON_OK) {
		return rv;
	}
	for (size_t i = 0; i < v->page.n_alerts; i++) {
		struct statuspage_alert *a = &v->alerts[i];
		if ((rv = store_alerts_after(v->reader, a->seq - 1, 1,
		                             copy_summary, a)) != HBMON_OK) {
			return rv;
		}
	}
	v->page.alerts_known = true;
	for (size_t i = 0; i < v->page.n_paused; i++) {
		rv = store_subject_get(v->reader, v->paused[i].id, copy_reason,
		                       &v->paused[i]);
		if (rv != HBMON_OK && rv != HBMON_ENOENT) {
			return rv;
		}
	}
	return HBMON_OK;
}

/* Takes a new snapshot unless the last is fresh. Under v->lock. */
static int
refresh(struct views *v)
{
	struct walk *w;
	struct health_verdict verdict;
	int64_t mono = clock_mono_ms();
	int rv;

	if (v->taken_mono != 0 && mono - v->taken_mono < SNAPSHOT_MS) {
		return HBMON_OK;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		return HBMON_ENOMEM;
	}
	memset(&v->gauges, 0, sizeof(v->gauges));
	memset(&v->page, 0, sizeof(v->page));
	w->v = v;
	if ((rv = recorder_read(v->opts.rec, walk_memory, w)) != HBMON_OK) {
		free(w);
		v->taken_mono = 0;
		return rv;
	}
	if (w->rv != HBMON_OK) {
		log_warn("the status page left accounts out", "error=%s",
		         hbmon_strerror(w->rv));
	}
	free(w);
	qsort(v->paused, v->page.n_paused, sizeof(*v->paused), by_subject);
	if (read_database(v) != HBMON_OK) {
		store_close(v->reader);
		v->reader = NULL;
	}
	v->gauges.readers = v->readers;
	v->gauges.recorder_pending = recorder_pending(v->opts.rec);
	if (v->opts.health != NULL) {
		health_judge(v->opts.health, mono,
		             (size_t) v->gauges.recorder_pending, &verdict);
		v->gauges.health_level = verdict.level;
		v->gauges.listener_restarts =
		    health_listener_restarts(v->opts.health);
		v->page.health_level = verdict.level;
		snprintf(v->page.health_problem, sizeof(v->page.health_problem),
		         "%s", verdict.problem);
	}
	v->gauges.started_ms = v->opts.started_ms;
	v->gauges.now_ms = v->page.now_ms = clock_wall_ms();
	v->gauges.version = v->page.version = v->version;
	v->page.subjects = v->subjects;
	v->page.paused = v->paused;
	v->page.alerts = v->alerts;
	v->page.refresh_s = v->opts.refresh_s;
	v->taken_mono = mono;
	return HBMON_OK;
}

int
views_metrics(struct views *v, struct strbuf *out)
{
	int rv;

	pthread_mutex_lock(&v->lock);
	if ((rv = refresh(v)) == HBMON_OK) {
		metrics_render(&v->gauges, out);
	}
	pthread_mutex_unlock(&v->lock);
	return rv;
}

int
views_status_page(struct views *v, struct strbuf *out)
{
	int rv;

	pthread_mutex_lock(&v->lock);
	if ((rv = refresh(v)) == HBMON_OK) {
		statuspage_render(&v->page, out);
	}
	pthread_mutex_unlock(&v->lock);
	return rv;
}
