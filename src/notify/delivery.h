/*
 * The delivery loop: takes queued alerts in seq order from the source,
 * drops those the filter does not want, sends the rest through the sink
 * (coalescing what queued up while the rate limit or a retry held it back)
 * and moves the durable cursor past what was delivered.
 *
 * Delivery is at least once: the cursor is stored only after the sink
 * reported success, so a notifier killed mid-send sends that one message
 * again after its restart, and nothing else twice. A failed send is
 * retried, in order, with capped exponential backoff and jitter, or after
 * the receiver's retry_after; nothing is ever skipped. A send the receiver
 * refuses as misconfigured (SINK_REJECTED) is logged as an error, reported
 * as degraded health at once, and retried every retry_max.
 *
 * The loop also watches the server (SPEC §3.6): what the source heard
 * goes to the contact (contact.h), whose own notices (SERVER_UNREACHABLE
 * and its resolution) are delivered before any queued server alert; and
 * the dead man's switch (deadman.h) is told whether the whole path is
 * healthy: a fresh keepalive from a server that does not call itself
 * unhealthy, contact not lost, the sink not failing, the cursor stored.
 * Each turn of the loop feeds the systemd watchdog (sdnotify.h).
 */
#ifndef HBMON_NOTIFY_DELIVERY_H
#define HBMON_NOTIFY_DELIVERY_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/alert_filter.h"
#include "notify/contact.h"
#include "notify/cursor.h"
#include "notify/deadman.h"
#include "notify/selfbeat.h"
#include "notify/settings.h"
#include "notify/sink.h"
#include "notify/source.h"

struct delivery_options {
	const struct sink_ops *ops;
	void *sink;
	struct source *source;
	struct cursor *cursor;
	uint64_t cursor_seq; /* the cursor's value at start */
	const struct alert_filter *filter;
	struct notify_sink_limits limits;
	int64_t retry_min_ms, retry_max_ms;
	int64_t degraded_after_ms;
	struct selfbeat *selfbeat; /* NULL: no self-heartbeats */
	struct contact *contact;   /* NULL: the server is not watched */
	struct deadman *deadman;   /* NULL: no dead man's switch */
	const atomic_bool *stop;
	const char *name; /* instance name, for the log */
};

/*
 * Runs until *opts->stop is true. Returns HBMON_OK; nothing that happens
 * while delivering (unreachable server, failing sink, a cursor that cannot
 * be written) ends the loop: it is logged, reported as degraded health and
 * retried.
 */
int delivery_run(const struct delivery_options *opts);

#endif
