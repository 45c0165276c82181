/*
 * A per-sink rate limit: at most burst messages back to back, then one
 * per interval (the generic cell rate algorithm, equivalent to a token
 * bucket). Telegram allows about one message per second per chat.
 */
#ifndef HBMON_NOTIFY_RATELIMIT_H
#define HBMON_NOTIFY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	int64_t interval_ms; /* 0: no limit */
	int64_t burst;
	int64_t tat; /* theoretical arrival time of the next message */
};

/* Prepares r. No allocation. */
void ratelimit_init(struct ratelimit *r, int64_t interval_ms, uint32_t burst);

/* When a message may go (monotonic ms); <= now means at once. */
int64_t ratelimit_next(const struct ratelimit *r, int64_t now);

/* Counts a message sent at now (call only when ratelimit_next <= now). */
void ratelimit_take(struct ratelimit *r, int64_t now);

/* Nothing may go before until (e.g. Telegram's retry_after). */
void ratelimit_hold(struct ratelimit *r, int64_t until);

#endif
