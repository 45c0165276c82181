/*
 * Capped exponential backoff with jitter for failed sends: the n-th retry
 * waits between half and all of min(max, min * 2^n), so notifiers that
 * failed together do not retry in lockstep.
 */
#ifndef HBMON_NOTIFY_BACKOFF_H
#define HBMON_NOTIFY_BACKOFF_H

#include <stdint.h>

struct backoff {
	int64_t min_ms;
	int64_t max_ms;
	uint32_t failures; /* in a row */
	uint64_t rng;
};

/* Prepares b; seed: any value (0 is replaced). No allocation. */
void backoff_init(struct backoff *b, int64_t min_ms, int64_t max_ms,
                  uint64_t seed);

/* Counts one more failure and returns how long to wait (ms, >= 1). */
int64_t backoff_next(struct backoff *b);

/* A send succeeded: the next failure starts from min again. */
void backoff_reset(struct backoff *b);

/* A random number of ms in 0..max_ms, from b's generator. */
int64_t backoff_jitter(struct backoff *b, int64_t max_ms);

#endif
