/* The server's own watch loop: watchdog, keepalive, watcher. */
#include "server/selfwatch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "hbmon/error.h"

/* The longest step between two looks at the verdict. */
#define STEP_MAX_MS 1000

struct selfwatch {
	struct selfwatch_options opts;
	char boot_id[SELFWATCH_BOOT_ID_MAX];
	int64_t step_ms;
	int64_t watchdog_every_ms; /* 0: systemd asked for no watchdog */
	pthread_t thread;
	pthread_mutex_t lock; /* guards stop */
	pthread_cond_t wake;
	bool stop;
	/* the thread's own */
	struct health_verdict last;
	bool judged;
};

static void
make_boot_id(char *out)
{
	uint8_t raw[16];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n <= 0) {
			/* No entropy at all is unheard of; a boot id only has
			 * to differ from the last start's. */
			int64_t t = clock_mono_ns() ^ clock_wall_us();
			memcpy(raw, &t, sizeof(t));
			break;
		}
		got += (size_t) n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	}
}

static void
publish_keepalive(struct selfwatch *sw, const struct health_verdict *v,
                  int64_t now)
{
	Hbmon__V1__Keepalive ka = HBMON__V1__KEEPALIVE__INIT;
	uint8_t *msg;
	size_t len;

	ka.boot_id = sw->boot_id;
	ka.uptime_ms = now - sw->opts.started_mono_ms;
	ka.last_alert_seq = v->committed_seq;
	ka.sent_at_ms = clock_wall_ms();
	ka.interval_ms = sw->opts.keepalive_interval_ms;
	ka.health = (Hbmon__V1__HealthStatus) v->level;
	ka.problem = (char *) v->problem;
	if (keepalive_topic_pack(&ka, &msg, &len) == HBMON_OK) {
		publisher_send(sw->opts.publisher, msg, len);
		free(msg);
	}
}

/* Logs a new verdict and tells systemd. */
static void
tell_change(struct selfwatch *sw, const struct health_verdict *v)
{
	static const char *const words[] = { "", "healthy", "degraded",
		                             "unhealthy" };
	char status[320];

	if (sw->judged && v->level == sw->last.level) {
		return;
	}
	if (v->level == HEALTH_HEALTHY) {
		if (sw->judged) {
			log_info("server health: healthy again", NULL);
		}
		snprintf(status, sizeof(status), "healthy");
	} else {
		if (v->level == HEALTH_UNHEALTHY) {
			log_error("server health: unhealthy; the watchdog is "
			          "no longer fed",
			          "problem=%s", v->problem);
		} else {
			log_warn("server health: degraded", "problem=%s",
			         v->problem);
		}
		snprintf(status, sizeof(status), "%s: %s", words[v->level],
		         v->problem);
	}
	sdnotify_status(status);
}

static void *
run(void *arg)
{
	struct selfwatch *sw = arg;
	int64_t next_keepalive = 0, next_watchdog = 0;

	pthread_mutex_lock(&sw->lock);
	while (!sw->stop) {
		struct health_verdict v;
		struct timespec until;
		int64_t now, due;

		pthread_mutex_unlock(&sw->lock);
		now = clock_mono_ms();
		health_judge(sw->opts.health, now,
		             recorder_pending(sw->opts.recorder), &v);
		tell_change(sw, &v);
		if (sw->watchdog_every_ms > 0 && v.watchdog_ok &&
		    now >= next_watchdog) {
			sdnotify_watchdog();
			next_watchdog = now + sw->watchdog_every_ms;
		} else if (!v.watchdog_ok) {
			/* Fed again at once when it recovers. */
			next_watchdog = 0;
		}
		if (sw->opts.publisher != NULL && now >= next_keepalive) {
			publish_keepalive(sw, &v, now);
			next_keepalive = now + sw->opts.keepalive_interval_ms;
		}
		watcher_set(sw->opts.watcher, v.level,
		            recorder_pending(sw->opts.recorder));
		sw->last = v;
		sw->judged = true;

		due = now + sw->step_ms;
		until.tv_sec = (time_t) (due / 1000);
		until.tv_nsec = (long) (due % 1000) * 1000000;
		pthread_mutex_lock(&sw->lock);
		while (!sw->stop && clock_mono_ms() < due) {
			pthread_cond_timedwait(&sw->wake, &sw->lock, &until);
		}
	}
	pthread_mutex_unlock(&sw->lock);
	return NULL;
}

int
selfwatch_start(const struct selfwatch_options *opts, struct selfwatch **out)
{
	struct selfwatch *sw = calloc(1, sizeof(*sw));
	pthread_condattr_t attr;
	int64_t step = STEP_MAX_MS;

	if (sw == NULL) {
		return HBMON_ENOMEM;
	}
	sw->opts = *opts;
	make_boot_id(sw->boot_id);
	sw->watchdog_every_ms = sdnotify_watchdog_every_ms();
	if (opts->publisher != NULL && opts->keepalive_interval_ms < step) {
		step = opts->keepalive_interval_ms;
	}
	if (sw->watchdog_every_ms > 0 && sw->watchdog_every_ms < step) {
		step = sw->watchdog_every_ms;
	}
	sw->step_ms = step < 10 ? 10 : step;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sw->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&sw->thread, NULL, run, sw) != 0) {
		pthread_cond_destroy(&sw->wake);
		pthread_mutex_destroy(&sw->lock);
		free(sw);
		return HBMON_ENOMEM;
	}
	if (sw->watchdog_every_ms > 0) {
		log_info("systemd watchdog fed while healthy", "every_ms=%lld",
		         (long long) sw->watchdog_every_ms);
	}
	*out = sw;
	return HBMON_OK;
}

const char *
selfwatch_boot_id(const struct selfwatch *sw)
{
	return sw->boot_id;
}

void
selfwatch_stop(struct selfwatch *sw)
{
	if (sw == NULL) {
		return;
	}
	pthread_mutex_lock(&sw->lock);
	sw->stop = true;
	pthread_cond_signal(&sw->wake);
	pthread_mutex_unlock(&sw->lock);
	pthread_join(sw->thread, NULL);
	pthread_cond_destroy(&sw->wake);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}
