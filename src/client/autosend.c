/*
 * Automatic mode: the robot's threads set state through setters that only
 * copy under a short lock; one background thread sends it all as one
 * batch on a jittered schedule and keeps the client's health.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "client/client_impl.h"
#include "common/clock.h"

/* xorshift64*: jitter needs spread, not secrecy. */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A delay in min_ms..max_ms, uniformly. Call with c->lock held. */
static int64_t
jitter_ms(hbmon_client *c)
{
	uint64_t span = (uint64_t) c->interval_max_ms - c->interval_min_ms + 1;

	return (int64_t) c->interval_min_ms +
	       (int64_t) (next_random(&c->rng) % span);
}

/*
 * A robot that starts automatic mode before setting any state must not
 * wait a whole interval for its first heartbeat: the first setter call
 * wakes the thread. Call with c->lock held.
 */
static void
wake_for_first(hbmon_client *c)
{
	if (c->thread_running && !c->first_sent && !c->send_now) {
		c->send_now = true;
		pthread_cond_signal(&c->wake);
	}
}

/* Index of account name in the table, or -1. Call with c->lock held. */
static long
find_account(const hbmon_client *c, const char *name)
{
	for (size_t i = 0; i < c->n_table; i++) {
		if (strcmp(c->table[i].name, name) == 0) {
			return (long) i;
		}
	}
	return -1;
}

int
hbmon_set_robot(hbmon_client *c, const hbmon_robot_state *robot)
{
	if (c == NULL || robot == NULL || (int) robot->status < HBMON_HEALTHY ||
	    (int) robot->status > HBMON_UNHEALTHY) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	c->robot = *robot;
	c->has_robot = true;
	wake_for_first(c);
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_set_account(hbmon_client *c, const hbmon_account_state *account)
{
	struct client_account *a;
	long i;
	int rv = HBMON_OK;

	if (c == NULL || account == NULL ||
	    !client_account_name_ok(account->account) ||
	    (int) account->status < HBMON_ACCOUNT_IDLE ||
	    (int) account->status > HBMON_ACCOUNT_ERROR) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	if ((i = find_account(c, account->account)) >= 0) {
		a = &c->table[i];
	} else if (c->n_table < c->max_accounts) {
		a = &c->table[c->n_table++];
		strcpy(a->name, account->account); /* length checked above */
	} else {
		rv = HBMON_ENOMEM;
		goto out;
	}
	a->status = account->status;
	a->session_valid = account->session_valid;
	a->open_orders = account->open_orders;
	wake_for_first(c);
out:
	pthread_mutex_unlock(&c->lock);
	return rv;
}

int
hbmon_remove_account(hbmon_client *c, const char *account)
{
	long i;
	int rv = HBMON_OK;

	if (c == NULL || account == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	if ((i = find_account(c, account)) < 0) {
		rv = HBMON_ENOENT;
	} else {
		/* Keep the table dense and in the robot's order. */
		memmove(&c->table[i], &c->table[i + 1],
		        (c->n_table - (size_t) i - 1) * sizeof(c->table[0]));
		c->n_table--;
	}
	pthread_mutex_unlock(&c->lock);
	return rv;
}

int
hbmon_client_get_health(hbmon_client *c, hbmon_client_health *out)
{
	if (c == NULL || out == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	*out = c->health;
	out->running = c->thread_running && !c->stopping;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

int
hbmon_client_send_now(hbmon_client *c)
{
	int rv = HBMON_OK;

	if (c == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	if (!c->thread_running || c->stopping) {
		rv = HBMON_ENOENT;
	} else {
		c->send_now = true;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
	return rv;
}

/* One batch of everything set so far. Called without c->lock. */
static void
send_batch(hbmon_client *c, struct client_items *items)
{
	struct client_call_opts o;
	hbmon_result res;
	int64_t start_ms = clock_mono_ms();
	bool accepted;
	size_t rejected;
	void (*health_fn)(void *, const hbmon_client_health *);
	void *health_arg;
	hbmon_client_health health;

	client_call_opts_get(c, &o);
	client_call(c, &o, start_ms, CLIENT_REPORT_BATCH, items, &res, NULL,
	            NULL, &accepted, &rejected, true);

	pthread_mutex_lock(&c->lock);
	c->health.attempts++;
	c->health.last_attempt_ms = clock_wall_ms();
	c->health.last_result = res;
	if (accepted) {
		c->health.successes++;
		c->health.consecutive_failures = 0;
		c->health.last_success_ms = c->health.last_attempt_ms;
		c->health.last_rejected = (uint32_t) rejected;
	} else {
		c->health.consecutive_failures++;
	}
	health = c->health;
	health.running = !c->stopping;
	health_fn = c->health_fn;
	health_arg = c->health_arg;
	pthread_mutex_unlock(&c->lock);

	if (health_fn != NULL) {
		health_fn(health_arg, &health);
	}
}

static void *
auto_main(void *arg)
{
	hbmon_client *c = arg;
	int64_t next_due_ms = clock_mono_ms(); /* the first batch at once */

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		int64_t now_ms = clock_mono_ms();
		struct client_items items;

		if (!c->send_now && now_ms < next_due_ms) {
			struct timespec ts = {
				.tv_sec = (time_t) (next_due_ms / 1000),
				.tv_nsec =
				    (long) (next_due_ms % 1000) * 1000000,
			};
			pthread_cond_timedwait(&c->wake, &c->lock, &ts);
			continue;
		}
		c->send_now = false;
		/* The next tick counts from this one's start, so that the
		 * gap between two batches stays within the interval however
		 * long a send takes. */
		next_due_ms = now_ms + jitter_ms(c);

		memset(&items, 0, sizeof(items));
		items.has_robot = c->has_robot;
		items.robot = c->robot;
		items.table = c->snapshot;
		items.n_accounts = c->n_table;
		if (c->n_table > 0) {
			memcpy(c->snapshot, c->table,
			       c->n_table * sizeof(c->table[0]));
		}
		if (!items.has_robot && items.n_accounts == 0) {
			continue; /* nothing to report yet */
		}
		c->first_sent = true;
		pthread_mutex_unlock(&c->lock);
		send_batch(c, &items);
		pthread_mutex_lock(&c->lock);
	}
	c->thread_exited = true;
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int
hbmon_client_start(hbmon_client *c)
{
	int rv = HBMON_OK;

	if (c == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	if (c->thread_running) {
		rv = HBMON_EBUSY;
		goto out;
	}
	c->stopping = false;
	c->thread_exited = false;
	c->send_now = false;
	c->first_sent = false;
	if (pthread_create(&c->thread, NULL, auto_main, c) != 0) {
		rv = HBMON_ENOMEM;
		goto out;
	}
	c->thread_running = true;
out:
	pthread_mutex_unlock(&c->lock);
	return rv;
}

int
hbmon_client_stop(hbmon_client *c)
{
	if (c == NULL) {
		return HBMON_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	if (!c->thread_running || c->stopping) {
		pthread_mutex_unlock(&c->lock);
		return HBMON_ENOENT;
	}
	c->stopping = true;
	pthread_cond_broadcast(&c->wake);
	while (!c->thread_exited) {
		struct timespec ts;
		int64_t until = clock_mono_ms() + 20;

		/* Cancel the thread's batch in flight, but never another
		 * thread's synchronous call. Repeated, because the thread may
		 * be between two operations when a cancel lands. */
		if (c->auto_sending) {
			client_conn_cancel(&c->conn);
		}
		ts.tv_sec = (time_t) (until / 1000);
		ts.tv_nsec = (long) (until % 1000) * 1000000;
		pthread_cond_timedwait(&c->wake, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_mutex_lock(&c->lock);
	c->thread_running = false;
	c->stopping = false;
	pthread_mutex_unlock(&c->lock);
	return HBMON_OK;
}

void
client_auto_shutdown(hbmon_client *c)
{
	bool running;

	pthread_mutex_lock(&c->lock);
	running = c->thread_running && !c->stopping;
	if (running) {
		c->stopping = true;
		pthread_cond_broadcast(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
	if (running) {
		/* Closing: fail whatever the thread is doing, now and next. */
		client_conn_abort(&c->conn);
		pthread_join(c->thread, NULL);
		c->thread_running = false;
	}
}
