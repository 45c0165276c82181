/*
 * An outside dead man's switch (SPEC §3.6): while the whole path from the
 * server to the owner is healthy, hbmon-notify GETs deadman_url every
 * deadman_interval (Healthchecks.io, Dead Man's Snitch, Cronitor, Uptime
 * Kuma push monitors all take a plain GET). It stops the moment the path
 * breaks, so the outside service alerts when the server, the notifier or
 * the whole machine is gone, and resumes (with a ping at once) when it is
 * healthy again.
 *
 * The delivery loop decides what healthy means (deadman_set), and until
 * when that judgement holds without news (the last keepalive's freshness
 * runs out): a loop held up by a slow call cannot keep the pings going. A
 * thread of its own does the pinging, so a slow receiver never holds up
 * delivery.
 * The URL may carry a secret (a check's UUID): it never appears in logs,
 * only its scheme and host do.
 */
#ifndef HBMON_NOTIFY_DEADMAN_H
#define HBMON_NOTIFY_DEADMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct deadman;

/*
 * Starts the pinging thread for url every interval_ms, paused until the
 * first deadman_set(d, true, ...). out: stopped with deadman_stop.
 * Returns HBMON_OK or HBMON_ENOMEM.
 */
int deadman_start(const char *url, int64_t interval_ms, struct deadman **out);

/*
 * Whether the path is healthy now, and until when (monotonic ms) that
 * holds unless told again; why (when not): a sentence for the log.
 * Turning healthy pings at once. Thread-safe, never blocks; NULL d is
 * fine.
 */
void deadman_set(struct deadman *d, bool healthy, int64_t until_ms,
                 const char *why);

/* Stops the thread (a ping in flight is aborted) and frees d. NULL is
 * fine. */
void deadman_stop(struct deadman *d);

#endif
