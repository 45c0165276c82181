/*
 * A sink formats alerts and sends them somewhere; everything else
 * (ordering, retries, rate limits, coalescing, the cursor) is the
 * framework's (delivery.h). A sink is driven by one thread.
 */
#ifndef HBMON_NOTIFY_SINK_H
#define HBMON_NOTIFY_SINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/alert.pb-c.h"
#include "notify/message.h"
#include "notify/settings.h"

/* What became of one send. */
enum sink_verdict {
	SINK_SENT,     /* the first `taken` alerts were delivered */
	SINK_RETRY,    /* failed; may work later (network, 5xx, 429, timeout) */
	SINK_REJECTED, /* refused as misconfigured (bad token, unknown chat,
	                * login denied): retried, but reported loudly */
};

struct sink_result {
	enum sink_verdict verdict;
	size_t taken;           /* SINK_SENT: how many alerts, >= 1 */
	int64_t retry_after_ms; /* > 0: the receiver asked to wait this long */
	char why[512];          /* failures: a sentence without secrets */
};

/* What a sink is opened with. */
struct sink_env {
	const struct notify_settings *settings;
	const struct message_set *messages; /* NULL for sinks without text */
	const atomic_bool *stop; /* true: the notifier is stopping; abort */
	int tz_offset_min; /* times in the alert JSON: an offset or TZ_ZONE */
};

struct sink_ops {
	const char *name;
	size_t batch_max;    /* alerts one send may carry; 1: never coalesce */
	bool needs_messages; /* uses the template set */
	/*
	 * Reads and checks the sink's settings and secrets. out: the
	 * sink, freed with close. why: what to fix. Returns HBMON_OK,
	 * HBMON_EINVAL (settings), HBMON_ENOENT (a secret cannot be read) or
	 * HBMON_ENOMEM.
	 */
	int (*open)(const struct sink_env *env, void **out, char *why,
	            size_t why_len);
	/*
	 * Sends alerts[0..n) (1 <= n <= batch_max, in seq order) or a
	 * prefix of them; out says how it went. Blocks at most the sink's
	 * timeout (less when stop becomes true).
	 */
	void (*send)(void *sink, const Hbmon__V1__Alert *const *alerts,
	             size_t n, struct sink_result *out);
	void (*close)(void *sink); /* NULL is fine */
};

extern const struct sink_ops sink_telegram;
extern const struct sink_ops sink_email;
extern const struct sink_ops sink_webhook;
extern const struct sink_ops sink_exec;
extern const struct sink_ops sink_stdout;

/* The sink called name, or NULL. */
const struct sink_ops *sink_find(const char *name);

/* Sets out to a failure with a printf-style reason. */
void sink_fail(struct sink_result *out, enum sink_verdict verdict,
               const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
