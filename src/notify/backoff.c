/* Capped exponential backoff with jitter. */
#include "notify/backoff.h"

static uint64_t
next_random(struct backoff *b)
{
	/* xorshift64*: jitter needs spread, not secrecy. */
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * UINT64_C(2685821657736338717);
}

void
backoff_init(struct backoff *b, int64_t min_ms, int64_t max_ms, uint64_t seed)
{
	b->min_ms = min_ms > 0 ? min_ms : 1;
	b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
	b->failures = 0;
	b->rng = seed != 0 ? seed : UINT64_C(0x9e3779b97f4a7c15);
}

int64_t
backoff_jitter(struct backoff *b, int64_t max_ms)
{
	if (max_ms <= 0) {
		return 0;
	}
	return (int64_t) (next_random(b) % (uint64_t) (max_ms + 1));
}

int64_t
backoff_next(struct backoff *b)
{
	int64_t delay = b->min_ms;
	int64_t wait;

	for (uint32_t i = 0; i < b->failures && delay < b->max_ms; i++) {
		delay *= 2;
	}
	if (delay > b->max_ms) {
		delay = b->max_ms;
	}
	if (b->failures < UINT32_MAX) {
		b->failures++;
	}
	wait = delay / 2 + backoff_jitter(b, delay - delay / 2);
	return wait > 0 ? wait : 1;
}

void
backoff_reset(struct backoff *b)
{
	b->failures = 0;
}
