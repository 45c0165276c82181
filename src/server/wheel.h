/*
 * A hashed timing wheel: one structure and one tick for every deadline the
 * server keeps (SPEC §3.2), instead of a timer per subject. Entries are
 * embedded in the caller's records (a subject, an alert episode), so
 * scheduling allocates nothing; insert and remove are O(1). Each slot
 * covers one tick; a deadline further away than one turn of the wheel
 * waits in its slot for later turns.
 *
 * Times are milliseconds on whatever clock the caller advances it with
 * (the server uses its liveness clock). Not thread-safe: one owner.
 */
#ifndef HBMON_SERVER_WHEEL_H
#define HBMON_SERVER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wheel_entry {
	struct wheel_entry *next, *prev;
	int64_t due;
	uint32_t slot;
	bool armed;
	uint8_t kind; /* the owner's tag: which record embeds the entry */
};

/* Tags for wheel_entry.kind used by the server. */
enum { WHEEL_SUBJECT = 1, WHEEL_EPISODE = 2 };

struct wheel {
	struct wheel_entry **slots;
	struct wheel_entry *overdue;  /* armed with a time already passed */
	struct wheel_entry *draining; /* overdue entries being fired now */
	uint32_t mask;                /* slots - 1, slots a power of two */
	int64_t tick_ms;
	int64_t next_ms; /* start of the first slot not yet processed */
	int64_t now_ms;  /* the time of the last advance */
	size_t count;    /* armed entries */
};

/*
 * Prepares a wheel of n_slots (rounded up to a power of two) slots of
 * tick_ms each, starting at now_ms. Returns HBMON_OK or HBMON_ENOMEM.
 */
int wheel_init(struct wheel *w, int64_t tick_ms, uint32_t n_slots,
               int64_t now_ms);

/* Frees the slots. Entries are the caller's and are left alone. */
void wheel_fini(struct wheel *w);

/*
 * Arms e to fire at due_ms (moving it if already armed). A due time that
 * has passed fires at the next wheel_advance. Entries fire at most one
 * tick after their due time.
 */
void wheel_schedule(struct wheel *w, struct wheel_entry *e, int64_t due_ms);

/* Disarms e; harmless when not armed. */
void wheel_cancel(struct wheel *w, struct wheel_entry *e);

/*
 * Fires every entry due at or before now_ms: each is disarmed and then
 * fire(e, arg) is called; fire may schedule e (or others) again. Returns
 * the number fired. However long since the last advance, each slot is
 * visited at most once per call.
 */
size_t wheel_advance(struct wheel *w, int64_t now_ms,
                     void (*fire)(struct wheel_entry *e, void *arg), void *arg);

#endif
