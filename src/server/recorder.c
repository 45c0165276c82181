/* The writer thread: state rules, group commit, retention. */
#include "server/recorder.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "server/rules.h"

/* Raw heartbeats deleted per pruning step, and how often to prune. */
#define PRUNE_STEP     1000
#define PRUNE_EVERY_MS 10000

/* A subject the current batch changed, to undo if the commit fails. */
struct touched {
	struct subject *subject;
	bool created;
};

struct recorder {
	struct store *store;
	struct recorder_options opts;
	struct subjects subjects;

	pthread_t thread;
	pthread_mutex_t lock; /* guards the queue and the flags below */
	pthread_cond_t wake;
	struct recorder_job *head, *tail;
	size_t queued;
	size_t writing;
	bool stopping;

	/* recorder thread only */
	struct touched *touched;
	size_t n_touched, cap_touched;
	int64_t next_prune_ms;
};

static int
load_subject(void *arg, const struct store_subject *row)
{
	struct recorder *rec = arg;
	struct subject *s;
	int rv;

	rv =
	    subjects_add(&rec->subjects, row->robot, row->account, row->id, &s);
	if (rv != HBMON_OK) {
		return rv;
	}
	s->status = row->status;
	s->session_valid = row->session_valid;
	s->open_orders = row->open_orders;
	s->active_accounts = row->active_accounts;
	s->active_tasks = row->active_tasks;
	s->last_seen_ms = row->last_seen_ms;
	return HBMON_OK;
}

static int
touch(struct recorder *rec, struct subject *s, bool created)
{
	if (rec->n_touched == rec->cap_touched) {
		size_t cap = rec->cap_touched == 0 ? 256 : 2 * rec->cap_touched;
		struct touched *t = realloc(rec->touched, cap * sizeof(*t));
		if (t == NULL) {
			return HBMON_ENOMEM;
		}
		rec->touched = t;
		rec->cap_touched = cap;
	}
	rec->touched[rec->n_touched].subject = s;
	rec->touched[rec->n_touched].created = created;
	rec->n_touched++;
	return HBMON_OK;
}

/* Finds or creates the subject, remembering it for a rollback. */
static int
subject_for(struct recorder *rec, const char *robot, const char *account,
            int64_t now_ms, struct subject **out)
{
	struct subject *s = subjects_find(&rec->subjects, robot, account);
	int64_t id;
	int rv;

	if (s != NULL) {
		*out = s;
		return touch(rec, s, false);
	}
	if ((rv = store_subject_create(rec->store, robot, account, now_ms,
	                               &id)) != HBMON_OK) {
		return rv;
	}
	if ((rv = subjects_add(&rec->subjects, robot, account, id, &s)) !=
	    HBMON_OK) {
		return rv;
	}
	*out = s;
	return touch(rec, s, true);
}

static void
not_allowed_note(struct recorder_item *item, const char *what, const char *from,
                 const char *to)
{
	item->not_allowed = true;
	free(item->note);
	/* Without memory the flag still tells the robot; the sentence is a
	 * courtesy. */
	if (asprintf(&item->note,
	             "%s change %s -> %s is not in the documented diagram; "
	             "recorded and flagged",
	             what, from, to) < 0) {
		item->note = NULL;
	}
}

static int
apply_robot(struct recorder *rec, struct recorder_job *job,
            struct recorder_item *item)
{
	const Hbmon__V1__RobotHeartbeat *hb = item->robot_hb;
	struct store_heartbeat row = { 0 };
	struct subject *s;
	bool allowed;
	int from;
	int rv;

	rv = subject_for(rec, job->robot->id, "", job->received_ms, &s);
	if (rv != HBMON_OK) {
		return rv;
	}
	from = s->status;
	allowed = rules_health_allowed(from, hb->status);
	row.subject_id = s->id;
	row.received_ms = job->received_ms;
	row.seq = job->seq;
	row.status = hb->status;
	row.active_accounts = hb->active_accounts;
	row.active_tasks = hb->active_tasks;
	row.timestamp = hb->timestamp;
	row.timestamp_ms = item->timestamp_ms;
	if ((rv = store_heartbeat_record(rec->store, &row)) != HBMON_OK) {
		return rv;
	}
	if (from != (int) hb->status) {
		rv =
		    store_transition_record(rec->store, s->id, job->received_ms,
		                            from, hb->status, allowed);
		if (rv != HBMON_OK) {
			return rv;
		}
	}
	if (!allowed) {
		not_allowed_note(item, "health", words_health(from),
		                 words_health(hb->status));
	}
	s->status = hb->status;
	s->active_accounts = hb->active_accounts;
	s->active_tasks = hb->active_tasks;
	s->last_seen_ms = job->received_ms;
	item->recorded = true;
	return HBMON_OK;
}

static int
apply_account(struct recorder *rec, struct recorder_job *job,
              struct recorder_item *item)
{
	const Hbmon__V1__AccountHeartbeat *hb = item->account_hb;
	struct store_heartbeat row = { 0 };
	struct subject *s;
	bool allowed;
	int from;
	int rv;

	rv =
	    subject_for(rec, job->robot->id, hb->account, job->received_ms, &s);
	if (rv != HBMON_OK) {
		return rv;
	}
	from = s->status;
	allowed = rules_account_allowed(from, hb->status);
	row.subject_id = s->id;
	row.received_ms = job->received_ms;
	row.seq = job->seq;
	row.status = hb->status;
	row.session_valid = hb->session_valid;
	row.open_orders = hb->open_orders;
	row.timestamp = hb->timestamp;
	row.timestamp_ms = item->timestamp_ms;
	if ((rv = store_heartbeat_record(rec->store, &row)) != HBMON_OK) {
		return rv;
	}
	if (from != (int) hb->status) {
		rv =
		    store_transition_record(rec->store, s->id, job->received_ms,
		                            from, hb->status, allowed);
		if (rv != HBMON_OK) {
			return rv;
		}
	}
	if (!allowed) {
		not_allowed_note(item, "account", words_account(from),
		                 words_account(hb->status));
	}
	s->status = hb->status;
	s->session_valid = hb->session_valid;
	s->open_orders = hb->open_orders;
	s->last_seen_ms = job->received_ms;
	item->recorded = true;
	return HBMON_OK;
}

static int
apply_job(struct recorder *rec, struct recorder_job *job)
{
	int rv;

	for (size_t i = 0; i < job->n_items; i++) {
		struct recorder_item *item = &job->items[i];
		if (item->skip) {
			continue;
		}
		item->recorded = false;
		item->not_allowed = false;
		rv = item->robot_hb != NULL ? apply_robot(rec, job, item)
		                            : apply_account(rec, job, item);
		if (rv != HBMON_OK) {
			return rv;
		}
	}
	if (job->has_sig && !rec->opts.auth_none) {
		return store_robot_seq(rec->store, job->robot->id, job->seq,
		                       job->sig);
	}
	return HBMON_OK;
}

/*
 * After a failed transaction the database holds none of the batch: put the
 * in-memory state back as the database has it.
 */
static void
undo_batch(struct recorder *rec)
{
	/* Newest first: a subject created in this batch and touched again
	 * later is freed only at its creation entry, after the later ones. */
	for (size_t i = rec->n_touched; i-- > 0;) {
		struct subject *s = rec->touched[i].subject;
		struct store_subject row;

		if (rec->touched[i].created) {
			hashtab_remove(&rec->subjects.table, s->hash, s->names,
			               (size_t) s->robot_len + 1 +
			                   strlen(subject_account(s)));
			free(s);
			continue;
		}
		if (store_subject_get(rec->store, s->id, &row) == HBMON_OK) {
			s->status = row.status;
			s->session_valid = row.session_valid;
			s->open_orders = row.open_orders;
			s->active_accounts = row.active_accounts;
			s->active_tasks = row.active_tasks;
			s->last_seen_ms = row.last_seen_ms;
		}
	}
}

static void
write_batch(struct recorder *rec, struct recorder_job *jobs)
{
	struct recorder_job *job, *next;
	int rv;

	rec->n_touched = 0;
	rv = store_begin(rec->store);
	for (job = jobs; job != NULL && rv == HBMON_OK; job = job->next) {
		rv = apply_job(rec, job);
	}
	if (rv == HBMON_OK) {
		rv = store_commit(rec->store);
	}
	if (rv != HBMON_OK) {
		log_error("recording failed; the batch is not acknowledged",
		          "error=%s", store_errmsg(rec->store));
		store_rollback(rec->store);
		undo_batch(rec);
	}
	for (job = jobs; job != NULL; job = next) {
		next = job->next;
		job->status = rv == HBMON_OK ? HBMON_OK : HBMON_EIO;
		if (rv != HBMON_OK) {
			for (size_t i = 0; i < job->n_items; i++) {
				job->items[i].recorded = false;
			}
		}
		job->done(job);
	}
}

static void
prune_step(struct recorder *rec)
{
	int64_t now = clock_wall_ms();
	int deleted = 0;

	if (store_prune(rec->store, now - rec->opts.retention_ms, PRUNE_STEP,
	                &deleted) != HBMON_OK) {
		log_warn("pruning old heartbeats failed", "error=%s",
		         store_errmsg(rec->store));
		deleted = 0;
	}
	/* A full step means more may be waiting: come back soon, but after
	 * any queued jobs. */
	rec->next_prune_ms =
	    clock_mono_ms() + (deleted == PRUNE_STEP ? 0 : PRUNE_EVERY_MS);
}

static void *
recorder_main(void *arg)
{
	struct recorder *rec = arg;

	pthread_mutex_lock(&rec->lock);
	for (;;) {
		struct recorder_job *jobs, *last;
		size_t n = 0;

		while (rec->head == NULL && !rec->stopping) {
			int64_t wait_ms = rec->next_prune_ms - clock_mono_ms();
			struct timespec until;

			if (wait_ms <= 0) {
				pthread_mutex_unlock(&rec->lock);
				prune_step(rec);
				pthread_mutex_lock(&rec->lock);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += wait_ms / 1000;
			until.tv_nsec += (wait_ms % 1000) * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&rec->wake, &rec->lock, &until);
		}
		if (rec->head == NULL && rec->stopping) {
			break;
		}
		/* Take up to batch_max jobs: everything that queued while the
		 * last batch was being committed goes into this one. */
		jobs = last = rec->head;
		for (n = 1; n < rec->opts.batch_max && last->next != NULL;
		     n++) {
			last = last->next;
		}
		rec->head = last->next;
		if (rec->head == NULL) {
			rec->tail = NULL;
		}
		last->next = NULL;
		rec->queued -= n;
		rec->writing = n;
		pthread_mutex_unlock(&rec->lock);

		write_batch(rec, jobs);

		pthread_mutex_lock(&rec->lock);
		rec->writing = 0;
	}
	pthread_mutex_unlock(&rec->lock);
	return NULL;
}

int
recorder_start(struct store *store, const struct recorder_options *opts,
               struct recorder **out)
{
	struct recorder *rec = calloc(1, sizeof(*rec));
	pthread_condattr_t attr;
	int rv;

	if (rec == NULL) {
		return HBMON_ENOMEM;
	}
	rec->store = store;
	rec->opts = *opts;
	if (rec->opts.batch_max == 0) {
		rec->opts.batch_max = 1;
	}
	subjects_init(&rec->subjects);
	if ((rv = store_subjects_each(store, load_subject, rec)) != HBMON_OK) {
		subjects_fini(&rec->subjects);
		free(rec);
		return rv;
	}
	rec->next_prune_ms = clock_mono_ms();
	pthread_mutex_init(&rec->lock, NULL);
	/* Waits are measured on the monotonic clock: a wall-clock jump must
	 * not stall or hurry the recorder. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rec->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&rec->thread, NULL, recorder_main, rec) != 0) {
		pthread_cond_destroy(&rec->wake);
		pthread_mutex_destroy(&rec->lock);
		subjects_fini(&rec->subjects);
		free(rec);
		return HBMON_ENOMEM;
	}
	log_info("state loaded", "subjects=%zu",
	         subjects_count(&rec->subjects));
	*out = rec;
	return HBMON_OK;
}

int
recorder_submit(struct recorder *rec, struct recorder_job *job)
{
	pthread_mutex_lock(&rec->lock);
	if (rec->stopping) {
		pthread_mutex_unlock(&rec->lock);
		return HBMON_ECLOSED;
	}
	job->next = NULL;
	if (rec->tail != NULL) {
		rec->tail->next = job;
	} else {
		rec->head = job;
	}
	rec->tail = job;
	rec->queued++;
	pthread_cond_signal(&rec->wake);
	pthread_mutex_unlock(&rec->lock);
	return HBMON_OK;
}

size_t
recorder_pending(struct recorder *rec)
{
	size_t n;

	pthread_mutex_lock(&rec->lock);
	n = rec->queued + rec->writing;
	pthread_mutex_unlock(&rec->lock);
	return n;
}

void
recorder_stop(struct recorder *rec)
{
	if (rec == NULL) {
		return;
	}
	pthread_mutex_lock(&rec->lock);
	rec->stopping = true;
	pthread_cond_signal(&rec->wake);
	pthread_mutex_unlock(&rec->lock);
	pthread_join(rec->thread, NULL);
	store_close(rec->store);
	subjects_fini(&rec->subjects);
	free(rec->touched);
	pthread_cond_destroy(&rec->wake);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}
