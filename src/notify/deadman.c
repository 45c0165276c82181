/* The dead man's switch: a GET every interval while the path is healthy. */
#include "notify/deadman.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "hbmon/error.h"
#include "notify/http.h"

/* The longest one ping may take. */
#define PING_TIMEOUT_MS 10000

struct deadman {
	char url[1024];
	char origin[256]; /* for the log: no path, no secret */
	int64_t interval_ms;
	pthread_t thread;
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t wake;
	bool healthy;
	int64_t until_ms; /* healthy holds until then */
	bool changed;
	char why[256];
	atomic_bool stop; /* also aborts a ping in flight */
	/* the thread's own */
	CURL *curl;
	bool failing;
};

/* One GET; logs only when success turns to failure or back. */
static void
ping(struct deadman *d)
{
	struct http_response resp;
	char why[512] = "";
	int64_t timeout =
	    d->interval_ms < PING_TIMEOUT_MS ? d->interval_ms : PING_TIMEOUT_MS;
	int rv = http_get(d->curl, d->url, timeout < 1000 ? 1000 : timeout,
	                  &d->stop, &resp, why, sizeof(why));

	if (rv == HBMON_OK && (resp.status < 200 || resp.status > 299)) {
		snprintf(why, sizeof(why), "HTTP %ld", resp.status);
		rv = HBMON_EUNAVAIL;
	}
	http_response_free(&resp);
	if (rv == HBMON_ECLOSED) {
		return;
	}
	if (rv != HBMON_OK && !d->failing) {
		log_warn("dead man's switch ping failed; trying again next "
		         "interval",
		         "url=%s why=%s", d->origin, why);
	} else if (rv == HBMON_OK && d->failing) {
		log_info("dead man's switch ping works again", "url=%s",
		         d->origin);
	} else if (rv == HBMON_OK) {
		log_debug("dead man's switch pinged", "url=%s", d->origin);
	}
	d->failing = rv != HBMON_OK;
}

static void *
run(void *arg)
{
	struct deadman *d = arg;
	int64_t next = 0;

	pthread_mutex_lock(&d->lock);
	while (!atomic_load(&d->stop)) {
		struct timespec until;
		int64_t now = clock_mono_ms();

		if (d->healthy && now >= d->until_ms) {
			/* Nobody said it is still healthy in time. */
			d->healthy = false;
			d->changed = true;
			snprintf(d->why, sizeof(d->why),
			         "no fresh news of the server");
		}
		if (d->changed) {
			d->changed = false;
			if (d->healthy) {
				log_info("dead man's switch: the path is "
				         "healthy, pinging",
				         "url=%s every_ms=%lld", d->origin,
				         (long long) d->interval_ms);
				next = now;
			} else {
				log_warn("dead man's switch: pings stopped",
				         "url=%s why=%s", d->origin, d->why);
			}
		}
		if (d->healthy && now >= next) {
			pthread_mutex_unlock(&d->lock);
			ping(d);
			pthread_mutex_lock(&d->lock);
			next = now + d->interval_ms;
			continue;
		}
		/* Wake for the next ping, a change, or a stop. */
		{
			int64_t due = !d->healthy          ? now + 60000
			              : next < d->until_ms ? next
			                                   : d->until_ms;
			until.tv_sec = (time_t) (due / 1000);
			until.tv_nsec = (long) (due % 1000) * 1000000;
		}
		if (!d->changed && !atomic_load(&d->stop)) {
			pthread_cond_timedwait(&d->wake, &d->lock, &until);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int
deadman_start(const char *url, int64_t interval_ms, struct deadman **out)
{
	struct deadman *d = calloc(1, sizeof(*d));
	pthread_condattr_t attr;

	if (d == NULL || (d->curl = curl_easy_init()) == NULL) {
		free(d);
		return HBMON_ENOMEM;
	}
	snprintf(d->url, sizeof(d->url), "%s", url);
	http_url_origin(url, d->origin, sizeof(d->origin));
	d->interval_ms = interval_ms;
	atomic_init(&d->stop, false);
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&d->thread, NULL, run, d) != 0) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		curl_easy_cleanup(d->curl);
		free(d);
		return HBMON_ENOMEM;
	}
	*out = d;
	return HBMON_OK;
}

void
deadman_set(struct deadman *d, bool healthy, int64_t until_ms, const char *why)
{
	if (d == NULL) {
		return;
	}
	pthread_mutex_lock(&d->lock);
	d->until_ms = until_ms;
	if (healthy && until_ms <= clock_mono_ms()) {
		healthy = false;
		why = "no fresh news of the server";
	}
	if (healthy != d->healthy) {
		d->healthy = healthy;
		d->changed = true;
		snprintf(d->why, sizeof(d->why), "%s", why != NULL ? why : "");
		pthread_cond_signal(&d->wake);
	}
	pthread_mutex_unlock(&d->lock);
}

void
deadman_stop(struct deadman *d)
{
	if (d == NULL) {
		return;
	}
	pthread_mutex_lock(&d->lock);
	atomic_store(&d->stop, true);
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	curl_easy_cleanup(d->curl);
	free(d);
}
