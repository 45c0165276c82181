/* The server's judgement of itself. */
#include "server/health.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/duration.h"
#include "hbmon/error.h"

/* How long a slow commit keeps the server degraded. */
#define SLOW_REMEMBERED_MS 60000

struct listener {
	char name[128];
	bool answering;
	int64_t checked_ms;  /* 0: never checked */
	int64_t replaced_ms; /* 0: never replaced */
	uint32_t replaced;   /* times */
};

struct health {
	struct health_options opts;
	char data_dir[1024];
	pthread_mutex_t lock;      /* guards everything below */
	int64_t last_iteration_ms; /* end of the last iteration */
	int64_t last_commit_ms;    /* end of the last one that committed */
	int64_t slow_at_ms;        /* when a commit was last slow; 0: never */
	int64_t slow_took_ms;      /* how long it took */
	uint64_t committed_seq;
	int64_t backlog_since_ms; /* 0: no backlog at the last judgement */
	bool storage_failing;     /* health_note_storage */
	char storage_why[64];
	struct listener listeners[HEALTH_LISTENERS_MAX];
	int n_listeners;
};

int
health_open(const struct health_options *opts, int64_t now_ms,
            struct health **out)
{
	struct health *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		return HBMON_ENOMEM;
	}
	h->opts = *opts;
	snprintf(h->data_dir, sizeof(h->data_dir), "%s",
	         opts->data_dir != NULL ? opts->data_dir : "");
	h->opts.data_dir = h->data_dir;
	if (h->opts.stall_ms <= 0) {
		h->opts.stall_ms = 10000;
	}
	if (h->opts.slow_commit_ms <= 0) {
		h->opts.slow_commit_ms = 1000;
	}
	if (h->opts.disk_free_min == 0) {
		h->opts.disk_free_min = UINT64_C(256) << 20;
	}
	if (h->opts.replaced_for_ms <= 0) {
		h->opts.replaced_for_ms = 15 * 60000;
	}
	if (h->opts.backlog_max == 0) {
		h->opts.backlog_max = 64;
	}
	if (h->opts.backlog_for_ms <= 0) {
		h->opts.backlog_for_ms = 5000;
	}
	h->last_iteration_ms = h->last_commit_ms = now_ms;
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return HBMON_OK;
}

void
health_close(struct health *h)
{
	if (h != NULL) {
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
}

void
health_note_iteration(struct health *h, int64_t start_ms, int64_t end_ms,
                      bool committed, uint64_t committed_seq)
{
	if (h == NULL) {
		return;
	}
	pthread_mutex_lock(&h->lock);
	h->last_iteration_ms = end_ms;
	if (committed) {
		h->last_commit_ms = end_ms;
		if (committed_seq > h->committed_seq) {
			h->committed_seq = committed_seq;
		}
	}
	if (end_ms - start_ms > h->opts.slow_commit_ms) {
		h->slow_at_ms = end_ms;
		h->slow_took_ms = end_ms - start_ms;
	}
	pthread_mutex_unlock(&h->lock);
}

void
health_note_storage(struct health *h, bool failing, const char *why)
{
	if (h == NULL) {
		return;
	}
	pthread_mutex_lock(&h->lock);
	h->storage_failing = failing;
	snprintf(h->storage_why, sizeof(h->storage_why), "%s",
	         why != NULL ? why : "");
	pthread_mutex_unlock(&h->lock);
}

int
health_listener_add(struct health *h, const char *name, int *out_id)
{
	int rv = HBMON_ERANGE;

	pthread_mutex_lock(&h->lock);
	if (h->n_listeners < HEALTH_LISTENERS_MAX) {
		struct listener *l = &h->listeners[h->n_listeners];
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->answering = true;
		*out_id = h->n_listeners++;
		rv = HBMON_OK;
	}
	pthread_mutex_unlock(&h->lock);
	return rv;
}

void
health_listener_checked(struct health *h, int id, bool answering,
                        int64_t now_ms)
{
	pthread_mutex_lock(&h->lock);
	assert(id >= 0 && id < h->n_listeners);
	h->listeners[id].answering = answering;
	h->listeners[id].checked_ms = now_ms;
	pthread_mutex_unlock(&h->lock);
}

void
health_listener_replaced(struct health *h, int id, int64_t now_ms)
{
	pthread_mutex_lock(&h->lock);
	assert(id >= 0 && id < h->n_listeners);
	h->listeners[id].replaced_ms = now_ms;
	h->listeners[id].replaced++;
	pthread_mutex_unlock(&h->lock);
}

uint64_t
health_listener_restarts(struct health *h)
{
	uint64_t n = 0;

	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < h->n_listeners; i++) {
		n += h->listeners[i].replaced;
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* Sets the verdict to level with a sentence, unless it is already worse. */
static void say(struct health_verdict *v, enum health_level level,
                const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(struct health_verdict *v, enum health_level level, const char *fmt, ...)
{
	va_list ap;

	if (level <= v->level) {
		return;
	}
	v->level = level;
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
	va_end(ap);
}

void
health_judge(struct health *h, int64_t now_ms, size_t pending,
             struct health_verdict *out)
{
	struct statvfs fs;
	char dur[32];
	bool starve = false; /* the watchdog must not be fed */
	bool have_fs = h->data_dir[0] != '\0' && statvfs(h->data_dir, &fs) == 0;

	memset(out, 0, sizeof(*out));
	out->level = HEALTH_HEALTHY;
	pthread_mutex_lock(&h->lock);
	out->committed_seq = h->committed_seq;
	/* Worst first: say() keeps the first sentence of the worst level. */
	if (now_ms - h->last_iteration_ms >= h->opts.stall_ms) {
		duration_human(now_ms - h->last_iteration_ms, dur, sizeof(dur));
		say(out, HEALTH_UNHEALTHY,
		    "the recorder's tick has not come round for %s", dur);
		starve = true;
	}
	if (now_ms - h->last_commit_ms >= h->opts.stall_ms) {
		duration_human(now_ms - h->last_commit_ms, dur, sizeof(dur));
		if (h->storage_failing) {
			/* Its tick goes on (else the above): watching and
			 * alerting go on from memory; a restart would only
			 * start every robot's grace period again. */
			say(out, HEALTH_UNHEALTHY,
			    "the database cannot be written (%s) for %s: "
			    "heartbeats are refused, alerts go out from memory",
			    h->storage_why, dur);
		} else {
			say(out, HEALTH_UNHEALTHY,
			    "the recorder has not committed for %s: nothing "
			    "is recorded and no alert can be raised",
			    dur);
			starve = true;
		}
	}
	for (int i = 0; i < h->n_listeners; i++) {
		if (!h->listeners[i].answering) {
			say(out, HEALTH_UNHEALTHY,
			    "listener %s does not answer its self-check",
			    h->listeners[i].name);
			starve = true;
		}
	}
	for (int i = 0; i < h->n_listeners; i++) {
		const struct listener *l = &h->listeners[i];
		if (l->replaced_ms != 0 &&
		    now_ms - l->replaced_ms < h->opts.replaced_for_ms) {
			duration_human(now_ms - l->replaced_ms, dur,
			               sizeof(dur));
			say(out, HEALTH_DEGRADED,
			    "listener %s was replaced %s ago (%" PRIu32
			    " times since start)",
			    l->name, dur, l->replaced);
		}
	}
	if (h->slow_at_ms != 0 && now_ms - h->slow_at_ms < SLOW_REMEMBERED_MS) {
		duration_human(h->slow_took_ms, dur, sizeof(dur));
		say(out, HEALTH_DEGRADED,
		    "the database is slow: a commit took %s", dur);
	}
	if (pending >= h->opts.backlog_max) {
		if (h->backlog_since_ms == 0) {
			h->backlog_since_ms = now_ms;
		}
		if (now_ms - h->backlog_since_ms >= h->opts.backlog_for_ms) {
			duration_human(now_ms - h->backlog_since_ms, dur,
			               sizeof(dur));
			say(out, HEALTH_DEGRADED,
			    "requests are backing up at the writer: %zu "
			    "waiting for %s",
			    pending, dur);
		}
	} else {
		h->backlog_since_ms = 0;
	}
	pthread_mutex_unlock(&h->lock);
	if (have_fs) {
		uint64_t free_bytes = (uint64_t) fs.f_bavail * fs.f_frsize;
		if (free_bytes < h->opts.disk_free_min) {
			say(out, HEALTH_DEGRADED,
			    "the data dir's disk is nearly full: %" PRIu64
			    " MiB free",
			    free_bytes >> 20);
		}
	}
	out->watchdog_ok = !starve;
}
