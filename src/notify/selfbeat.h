/*
 * The notifier's own heartbeats (SPEC §4): it reports to the server's
 * Monitor service as a registered robot (`hbctl robot add NAME`), healthy
 * while it delivers and degraded while its sink keeps failing, so that
 * `hbctl status` lists it and the server's silence detection alerts when it
 * dies. active_tasks carries the number of alerts waiting for delivery.
 * A thread of its own keeps the beat while a send blocks.
 */
#ifndef HBMON_NOTIFY_SELFBEAT_H
#define HBMON_NOTIFY_SELFBEAT_H

#include <stdbool.h>

#include "common/tlsconf.h"
#include <stddef.h>
#include <stdint.h>

struct selfbeat;

struct selfbeat_options {
	const char *server; /* the server's robot-facing URL */
	const char *robot;  /* registered robot id */
	const void *secret; /* its secret's bytes */
	size_t secret_len;
	int64_t interval_ms;
	struct tlsconf_files tls; /* for a tls+tcp:// server */
};

/*
 * Starts the heartbeat thread; the first beat goes at once. out: stopped
 * and freed with selfbeat_stop. Returns HBMON_OK, HBMON_EINVAL (bad URL),
 * or HBMON_ENOMEM (no thread).
 */
int selfbeat_start(const struct selfbeat_options *opts, struct selfbeat **out,
                   char *why, size_t why_len);

/*
 * Sets what the next beats say; a change of health is reported at once.
 * Thread-safe; NULL is fine (no self-heartbeats configured).
 */
void selfbeat_set(struct selfbeat *b, bool degraded, uint32_t backlog);

/* Stops the thread and frees b. NULL is fine. */
void selfbeat_stop(struct selfbeat *b);

#endif
