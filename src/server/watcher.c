/* This server's health, reported as a robot to a watching server. */
#include "server/watcher.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "hbmon/client.h"
#include "hbmon/error.h"

struct watcher {
	hbmon_client *client;
	atomic_int level; /* the level last reported; 0: none yet */
	bool failing;     /* the client's thread only: the last send failed */
};

static void
on_health(void *arg, const hbmon_client_health *h)
{
	struct watcher *w = arg;
	bool failing = h->consecutive_failures > 0;

	/* Said only when it changes, so a dead peer is one line, not one
	 * line per beat. */
	if (failing && !w->failing) {
		log_warn("cannot report to the watching server; retrying",
		         "why=%s", h->last_result.message);
	} else if (!failing && (w->failing || h->successes == 1)) {
		log_info("reporting to the watching server", NULL);
	}
	w->failing = failing;
}

int
watcher_open(const struct watcher_options *opts, struct watcher **out,
             char *why, size_t why_len)
{
	struct watcher *w = calloc(1, sizeof(*w));
	int64_t max = opts->interval_ms;
	int rv;

	if (w == NULL) {
		return HBMON_ENOMEM;
	}
	atomic_init(&w->level, 0);
	rv = hbmon_client_open(&w->client, opts->server, opts->robot,
	                       opts->secret, 0);
	if (rv != HBMON_OK) {
		snprintf(why, why_len,
		         "watch_server %s, watch_robot %s: %s (a robot id is "
		         "1-64 of A-Z a-z 0-9 . _ -)",
		         opts->server, opts->robot, hbmon_strerror(rv));
		free(w);
		return rv;
	}
	/* A report slower than a quarter interval is as good as none, but
	 * a loaded loopback still gets a second; a late one only delays the
	 * next. */
	if (max > 86400000) {
		max = 86400000;
	}
	hbmon_client_set_timeout(w->client,
	                         (uint32_t) (max / 4 > 5000   ? 5000
	                                     : max / 4 < 1000 ? 1000
	                                                      : max / 4));
	hbmon_client_set_interval(
	    w->client, (uint32_t) (max - max / 4 > 0 ? max - max / 4 : 1),
	    (uint32_t) (max > 0 ? max : 1));
	hbmon_client_set_health_callback(w->client, on_health, w);
	if ((rv = hbmon_client_start(w->client)) != HBMON_OK) {
		snprintf(why, why_len, "cannot start reporting to %s: %s",
		         opts->server, hbmon_strerror(rv));
		hbmon_client_close(w->client);
		free(w);
		return rv;
	}
	*out = w;
	return HBMON_OK;
}

void
watcher_set(struct watcher *w, enum health_level level, size_t pending)
{
	hbmon_robot_state st = { 0 };
	int before;

	if (w == NULL) {
		return;
	}
	st.status = (hbmon_health_status) level;
	st.active_accounts = 0;
	st.active_tasks =
	    pending > UINT32_MAX ? UINT32_MAX : (uint32_t) pending;
	hbmon_set_robot(w->client, &st);
	before = atomic_exchange(&w->level, (int) level);
	if (before != 0 && before != (int) level) {
		hbmon_client_send_now(w->client);
	}
}

void
watcher_close(struct watcher *w)
{
	if (w != NULL) {
		hbmon_client_close(w->client);
		free(w);
	}
}
