/*
 * The two clocks hbmon reads. Deadlines and durations use the monotonic
 * clock, which a wall-clock jump cannot move (SPEC §3.2); wall time is only
 * for what people read and for the ±300 s signature window.
 */
#ifndef HBMON_COMMON_CLOCK_H
#define HBMON_COMMON_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (arbitrary origin). Thread-safe. */
int64_t clock_mono_ms(void);

/* Nanoseconds on CLOCK_MONOTONIC, for measuring short spans. */
int64_t clock_mono_ns(void);

/* Milliseconds since the Unix epoch on CLOCK_REALTIME. Thread-safe. */
int64_t clock_wall_ms(void);

/* Microseconds since the Unix epoch on CLOCK_REALTIME: the base of a
 * request seq (SPEC §2.3), so that two clients started in the same
 * millisecond still count from different places. Thread-safe. */
int64_t clock_wall_us(void);

#endif
