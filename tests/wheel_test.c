/*
 * The timing wheel against a brute-force model: every armed entry fires
 * exactly once, no earlier than its due time and at most one tick late,
 * across cancels, re-arms from callbacks, far deadlines and stalls.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "hbmon/error.h"
#include "server/wheel.h"

#define N    2000
#define TICK 10

struct item {
	struct wheel_entry e; /* first: the entry is the item */
	int64_t due;          /* model: when it should fire, -1 if not armed */
	int fired;
	int64_t fired_at;
};

static struct item items[N];
static int64_t now, prev_now;

/* The last millisecond of the tick window holding t. */
static int64_t
window_end(int64_t t)
{
	return t - t % TICK + TICK - 1;
}

static void
on_fire(struct wheel_entry *e, void *arg)
{
	struct item *it = (struct item *) e;
	(void) arg;
	cr_assert_geq(now, it->due, "fired early: due %lld at %lld",
	              (long long) it->due, (long long) now);
	/* Not late: the previous advance was before its window ended. */
	cr_assert_lt(prev_now, window_end(it->due),
	             "fired late: due %lld at %lld, could at %lld",
	             (long long) it->due, (long long) now,
	             (long long) prev_now);
	it->fired++;
	it->fired_at = now;
	it->due = -1;
}

Test(wheel, fires_each_entry_once_on_time, .timeout = 30)
{
	struct wheel w;
	unsigned seed = 12345;

	now = prev_now = 1000003;
	cr_assert_eq(wheel_init(&w, TICK, 256, now), HBMON_OK);
	memset(items, 0, sizeof(items));
	for (int i = 0; i < N; i++) {
		items[i].due = -1;
	}
	for (int step = 0; step < 20000; step++) {
		int i = (int) (rand_r(&seed) % N);
		int op = (int) (rand_r(&seed) % 10);

		if (op < 6) {
			/* Deadlines up to several wheel turns away. */
			int64_t due = now + (int64_t) (rand_r(&seed) % 9000);
			wheel_schedule(&w, &items[i].e, due);
			items[i].due = due;
		} else if (op < 7) {
			wheel_cancel(&w, &items[i].e);
			items[i].due = -1;
		} else {
			/* Time moves in steps of 1 ms up to a few ticks. */
			prev_now = now;
			now += (int64_t) (rand_r(&seed) % 35);
			wheel_advance(&w, now, on_fire, NULL);
			for (int k = 0; k < N; k++) {
				if (items[k].due >= 0) {
					cr_assert_gt(window_end(items[k].due),
					             now, "item %d overdue", k);
				}
			}
		}
	}
	wheel_fini(&w);
}

static struct wheel *rearm_wheel;
static bool cancelled[50];

static void
rearm_fire(struct wheel_entry *e, void *arg)
{
	struct item *it = (struct item *) e;
	int k = (int) (it - items);
	int *count = arg;

	cr_assert_not(cancelled[k], "item %d fired after it was cancelled", k);
	(*count)++;
	it->fired++;
	/* Re-arm itself one period later, as a subject's deadline does, and
	 * cancel a neighbour that may be about to fire in this same pass. */
	wheel_schedule(rearm_wheel, e, now + 100);
	wheel_cancel(rearm_wheel, &items[(k + 1) % 50].e);
	cancelled[(k + 1) % 50] = true;
}

Test(wheel, callbacks_may_rearm_and_cancel, .timeout = 30)
{
	struct wheel w;
	int count = 0;

	now = 0;
	cr_assert_eq(wheel_init(&w, TICK, 64, now), HBMON_OK);
	rearm_wheel = &w;
	memset(items, 0, sizeof(items));
	memset(cancelled, 0, sizeof(cancelled));
	for (int i = 0; i < 50; i++) {
		wheel_schedule(&w, &items[i].e, 50);
	}
	now = 60;
	wheel_advance(&w, now, rearm_fire, &count);
	cr_assert_gt(count, 0);
	cr_assert_lt(count, 50);
	for (int i = 0; i < 50; i++) {
		cr_assert_leq(items[i].fired, 1);
		cr_assert_eq(items[i].e.armed,
		             items[i].fired == 1 && !cancelled[i], "item %d",
		             i);
	}
	wheel_fini(&w);
}

static void
count_fire(struct wheel_entry *e, void *arg)
{
	(void) e;
	(*(int *) arg)++;
}

Test(wheel, a_stall_longer_than_a_turn_fires_everything_due, .timeout = 30)
{
	struct wheel w;
	int fired = 0;

	now = 0;
	cr_assert_eq(wheel_init(&w, TICK, 16, now), HBMON_OK); /* 160 ms */
	memset(items, 0, sizeof(items));
	for (int i = 0; i < 100; i++) {
		wheel_schedule(&w, &items[i].e, 10 + i * 7);
	}
	/* One entry far in the future must survive the catch-up. */
	wheel_schedule(&w, &items[100].e, 9000);
	now = 5000;
	cr_assert_eq(wheel_advance(&w, now, count_fire, &fired), 100);
	cr_assert_eq(fired, 100);
	cr_assert_eq(w.count, 1);
	now = 8999;
	cr_assert_eq(wheel_advance(&w, now, count_fire, &fired), 0,
	             "fired early");
	now = 9009;
	cr_assert_eq(wheel_advance(&w, now, count_fire, &fired), 1);
	wheel_fini(&w);
}
