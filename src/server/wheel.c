/* Hashed timing wheel with intrusive doubly linked slots. */
#include "server/wheel.h"

#include <stdlib.h>

#include "hbmon/error.h"

/* Slot indexes meaning "on the overdue list" and "being fired from it". */
#define OVERDUE  UINT32_MAX
#define DRAINING (UINT32_MAX - 1)

int
wheel_init(struct wheel *w, int64_t tick_ms, uint32_t n_slots, int64_t now_ms)
{
	uint32_t n = 1;

	while (n < n_slots) {
		n <<= 1;
	}
	w->slots = calloc(n, sizeof(*w->slots));
	if (w->slots == NULL) {
		return HBMON_ENOMEM;
	}
	w->overdue = NULL;
	w->draining = NULL;
	w->mask = n - 1;
	w->tick_ms = tick_ms > 0 ? tick_ms : 1;
	w->next_ms = now_ms - now_ms % w->tick_ms;
	w->now_ms = now_ms;
	w->count = 0;
	return HBMON_OK;
}

void
wheel_fini(struct wheel *w)
{
	free(w->slots);
	w->slots = NULL;
}

static uint32_t
slot_of(const struct wheel *w, int64_t t)
{
	return (uint32_t) ((uint64_t) (t / w->tick_ms) & w->mask);
}

static struct wheel_entry **
head_of(struct wheel *w, uint32_t slot)
{
	if (slot == OVERDUE) {
		return &w->overdue;
	}
	return slot == DRAINING ? &w->draining : &w->slots[slot];
}

void
wheel_cancel(struct wheel *w, struct wheel_entry *e)
{
	if (!e->armed) {
		return;
	}
	if (e->prev != NULL) {
		e->prev->next = e->next;
	} else {
		*head_of(w, e->slot) = e->next;
	}
	if (e->next != NULL) {
		e->next->prev = e->prev;
	}
	e->next = e->prev = NULL;
	e->armed = false;
	w->count--;
}

void
wheel_schedule(struct wheel *w, struct wheel_entry *e, int64_t due_ms)
{
	struct wheel_entry **head;

	wheel_cancel(w, e);
	e->due = due_ms;
	/* A time the wheel has already passed must not land in a slot it
	 * will only visit a whole turn later. */
	e->slot = due_ms <= w->now_ms || due_ms < w->next_ms
	              ? OVERDUE
	              : slot_of(w, due_ms);
	head = head_of(w, e->slot);
	e->prev = NULL;
	e->next = *head;
	if (e->next != NULL) {
		e->next->prev = e;
	}
	*head = e;
	e->armed = true;
	w->count++;
}

/* Moves e (armed) onto the draining list. */
static void
to_draining(struct wheel *w, struct wheel_entry *e)
{
	wheel_cancel(w, e);
	e->slot = DRAINING;
	e->prev = NULL;
	e->next = w->draining;
	if (e->next != NULL) {
		e->next->prev = e;
	}
	w->draining = e;
	e->armed = true;
	w->count++;
}

/*
 * Fires everything on the draining list. Entries are fired from there, not
 * from their slot, so a callback may cancel or re-arm any entry — also one
 * that was about to fire — without the walk touching a stale link.
 */
static size_t
fire_draining(struct wheel *w, void (*fire)(struct wheel_entry *, void *),
              void *arg)
{
	size_t fired = 0;

	while (w->draining != NULL) {
		struct wheel_entry *e = w->draining;
		wheel_cancel(w, e);
		fire(e, arg);
		fired++;
	}
	return fired;
}

/* Fires the entries of a slot that are due by now_ms. */
static size_t
fire_slot(struct wheel *w, uint32_t slot, int64_t now_ms,
          void (*fire)(struct wheel_entry *, void *), void *arg)
{
	struct wheel_entry *e = w->slots[slot];

	while (e != NULL) {
		struct wheel_entry *next = e->next;
		if (e->due <= now_ms) {
			to_draining(w, e);
		}
		e = next;
	}
	return fire_draining(w, fire, arg);
}

size_t
wheel_advance(struct wheel *w, int64_t now_ms,
              void (*fire)(struct wheel_entry *, void *), void *arg)
{
	int64_t span = (int64_t) (w->mask + 1) * w->tick_ms;
	size_t fired = 0;

	if (now_ms < w->now_ms) {
		return 0; /* the caller's clock never goes back; be safe */
	}
	w->now_ms = now_ms;
	if (now_ms - w->next_ms >= span) {
		/* A whole turn or more behind (a stall): one visit of every
		 * slot fires everything that is due. */
		for (uint32_t i = 0; i <= w->mask; i++) {
			fired += fire_slot(w, i, now_ms, fire, arg);
		}
		w->next_ms = now_ms - now_ms % w->tick_ms;
	}
	/* Only slots whose whole window has passed: an entry due later in
	 * the current window stays for the next advance. */
	while (w->next_ms + w->tick_ms - 1 <= now_ms) {
		uint32_t slot = slot_of(w, w->next_ms);
		w->next_ms += w->tick_ms;
		fired += fire_slot(w, slot, now_ms, fire, arg);
	}
	/* Move the overdue list aside first: entries re-armed as overdue by
	 * these callbacks wait for the next advance instead of looping, and
	 * a callback may still cancel any entry on the list being fired. */
	w->draining = w->overdue;
	w->overdue = NULL;
	for (struct wheel_entry *e = w->draining; e != NULL; e = e->next) {
		e->slot = DRAINING;
	}
	fired += fire_draining(w, fire, arg);
	return fired;
}
