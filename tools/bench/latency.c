/* Log-linear latency histogram. */
#include "latency.h"

#include <assert.h>
#include <math.h>
#include <string.h>

static unsigned
bucket_of(uint64_t ns)
{
	unsigned msb;
	unsigned shift;

	if (ns < 2 * LATENCY_SUB) {
		return (unsigned) ns;
	}
	msb = 63u - (unsigned) __builtin_clzll(ns);
	/* Keep the 6 top bits: the leading 1 and 5 bits of sub-bucket. */
	shift = msb - 5;
	return (shift + 1) * LATENCY_SUB +
	       (unsigned) ((ns >> shift) - LATENCY_SUB);
}

/* Middle of bucket b, in ns. */
static uint64_t
bucket_value(unsigned b)
{
	unsigned shift;
	uint64_t low;

	if (b < 2 * LATENCY_SUB) {
		return b;
	}
	shift = b / LATENCY_SUB - 1;
	low = (uint64_t) (b % LATENCY_SUB + LATENCY_SUB) << shift;
	return low + ((UINT64_C(1) << shift) >> 1);
}

void
latency_reset(struct latency *h)
{
	memset(h, 0, sizeof(*h));
}

void
latency_record(struct latency *h, uint64_t ns)
{
	unsigned b = bucket_of(ns);

	assert(b < LATENCY_BUCKETS);
	h->buckets[b]++;
	h->count++;
}

void
latency_merge(struct latency *into, const struct latency *from)
{
	for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
		into->buckets[b] += from->buckets[b];
	}
	into->count += from->count;
}

uint64_t
latency_quantile(const struct latency *h, double q)
{
	uint64_t rank;
	uint64_t seen = 0;

	if (h->count == 0) {
		return 0;
	}
	/* The smallest value with at least q of the samples at or below. */
	rank = (uint64_t) ceil(q * (double) h->count);
	if (rank == 0) {
		rank = 1;
	}
	for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			return bucket_value(b);
		}
	}
	return bucket_value(LATENCY_BUCKETS - 1);
}
