/*
 * The server watching itself (SPEC §3.6): one thread that, every step
 * (at most a second), asks health.h for a verdict and
 *  - feeds the systemd watchdog (WATCHDOG=1) only while the verdict allows
 *    it, so that a wedged recorder gets the server restarted;
 *  - publishes a keepalive on the PUB socket every keepalive_interval:
 *    boot id, uptime, last committed alert seq, and the verdict;
 *  - hands the verdict to the watcher that reports this server to a
 *    watching server (when watch_server is set);
 *  - logs and tells systemd (STATUS=) when the verdict changes.
 */
#ifndef HBMON_SERVER_SELFWATCH_H
#define HBMON_SERVER_SELFWATCH_H

#include <stddef.h>
#include <stdint.h>

#include "server/health.h"
#include "server/publisher.h"
#include "server/recorder.h"
#include "server/watcher.h"

/* Characters of a boot id, with its NUL. */
#define SELFWATCH_BOOT_ID_MAX 33

struct selfwatch_options {
	struct health *health;       /* required */
	struct recorder *recorder;   /* for the writer's backlog; required */
	struct publisher *publisher; /* keepalives; NULL: none */
	struct watcher *watcher;     /* NULL: not watched */
	int64_t keepalive_interval_ms;
	int64_t started_mono_ms; /* for the uptime */
};

struct selfwatch;

/*
 * Makes a new boot id and starts the thread; the first keepalive and
 * verdict come at once. None of the options' objects are owned; they must
 * outlive selfwatch_stop. out: stopped with selfwatch_stop. Returns
 * HBMON_OK or HBMON_ENOMEM (no thread).
 */
int selfwatch_start(const struct selfwatch_options *opts,
                    struct selfwatch **out);

/* This start's boot id (hex), valid until selfwatch_stop. */
const char *selfwatch_boot_id(const struct selfwatch *sw);

/* Stops the thread and frees sw. NULL is fine. */
void selfwatch_stop(struct selfwatch *sw);

#endif
