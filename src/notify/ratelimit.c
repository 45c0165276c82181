/* Generic cell rate algorithm. */
#include "notify/ratelimit.h"

void
ratelimit_init(struct ratelimit *r, int64_t interval_ms, uint32_t burst)
{
	r->interval_ms = interval_ms > 0 ? interval_ms : 0;
	r->burst = burst > 0 ? burst : 1;
	r->tat = 0;
}

int64_t
ratelimit_next(const struct ratelimit *r, int64_t now)
{
	int64_t at;

	if (r->interval_ms == 0) {
		return r->tat > now ? r->tat : now;
	}
	at = r->tat - (r->burst - 1) * r->interval_ms;
	return at > now ? at : now;
}

void
ratelimit_take(struct ratelimit *r, int64_t now)
{
	if (r->interval_ms == 0) {
		return;
	}
	r->tat = (r->tat > now ? r->tat : now) + r->interval_ms;
}

void
ratelimit_hold(struct ratelimit *r, int64_t until)
{
	/* The held time counts as used: after it, one message at once and
	 * then the usual rate. */
	int64_t tat = until + (r->burst - 1) * r->interval_ms;

	if (tat > r->tat) {
		r->tat = tat;
	}
}
