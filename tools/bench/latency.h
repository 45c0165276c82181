/*
 * Request latencies as a log-linear histogram (the HdrHistogram idea):
 * exact below 64 ns, then 32 buckets per power of two, so any value is
 * kept to within about 3% in a fixed 15 KiB with no allocation per sample.
 * One histogram per load slot keeps recording free of locks; they are
 * merged when the run is over.
 */
#ifndef HBMON_BENCH_LATENCY_H
#define HBMON_BENCH_LATENCY_H

#include <stdint.h>

#define LATENCY_SUB     32 /* buckets per power of two */
#define LATENCY_BUCKETS (59 * LATENCY_SUB + LATENCY_SUB)

struct latency {
	uint64_t count;
	uint64_t buckets[LATENCY_BUCKETS];
};

/* Empties h. */
void latency_reset(struct latency *h);

/* Adds one sample of ns nanoseconds. Not thread-safe per histogram. */
void latency_record(struct latency *h, uint64_t ns);

/* Adds every sample of from to into. */
void latency_merge(struct latency *into, const struct latency *from);

/*
 * The value at quantile q (0 < q <= 1) in nanoseconds, as the middle of
 * its bucket; 0 when h holds no samples.
 */
uint64_t latency_quantile(const struct latency *h, double q);

#endif
