/*
 * hbmon watching hbmon (SPEC §3.6): this server reports its own health as
 * a robot to another hbmon-server (`watch_server`, `watch_robot`,
 * `watch_secret_file`), through libhbmon-client's automatic mode, so that
 * two servers can watch each other with no third party. The other server
 * raises HEARTBEAT_MISSED when this one dies, and STATUS_CHANGED when it
 * reports itself degraded or unhealthy (see health.h for what those mean).
 *
 * The report is one robot heartbeat per interval (jittered over the last
 * quarter of watch_interval): status = this server's health level,
 * active_accounts = 0, active_tasks = requests waiting at the writer.
 * A change of level is sent at once. Nothing here blocks the caller:
 * watcher_set only copies the state, the client's own thread sends it.
 */
#ifndef HBMON_SERVER_WATCHER_H
#define HBMON_SERVER_WATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "server/health.h"

struct watcher_options {
	const char *server;  /* the watching server's robot URL */
	const char *robot;   /* the robot id this server reports as */
	const char *secret;  /* that robot's secret (copied) */
	int64_t interval_ms; /* watch_interval */
};

struct watcher;

/*
 * Starts reporting. out: stopped with watcher_close. why: a sentence on
 * failure. Returns HBMON_OK, HBMON_EINVAL (a URL or robot id the client
 * library refuses) or HBMON_ENOMEM.
 */
int watcher_open(const struct watcher_options *opts, struct watcher **out,
                 char *why, size_t why_len);

/*
 * What the next report says. Never blocks, never touches the network;
 * a new level is sent at once. Thread-safe; NULL w is fine.
 */
void watcher_set(struct watcher *w, enum health_level level, size_t pending);

/* Stops reporting (a send in flight is cancelled) and frees w. NULL is
 * fine. */
void watcher_close(struct watcher *w);

#endif
