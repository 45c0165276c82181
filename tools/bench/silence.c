/* Which subjects of a detection run fall silent, and what followed. */
#include "silence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbmon/error.h"

int
silence_plan_make(struct silence_plan *p, uint32_t robots, uint32_t accounts,
                  uint32_t n_accounts, uint32_t n_robots, int64_t start_ns,
                  int64_t spread_ns, char *why, size_t why_len)
{
	uint64_t total = (uint64_t) n_accounts + n_robots;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->robots = robots;
	p->accounts = accounts;
	if (total > robots) {
		snprintf(why, why_len,
		         "%llu silenced subjects need as many robots (each "
		         "silence has a robot of its own), but there are %u",
		         (unsigned long long) total, robots);
		return HBMON_EINVAL;
	}
	if (n_accounts > 0 && accounts == 0) {
		snprintf(why, why_len,
		         "cannot silence accounts of robots that have none");
		return HBMON_EINVAL;
	}
	p->first = malloc((size_t) robots * sizeof(*p->first));
	p->items = calloc(total > 0 ? total : 1, sizeof(*p->items));
	if (p->first == NULL || p->items == NULL) {
		snprintf(why, why_len, "out of memory for %llu silences",
		         (unsigned long long) total);
		return HBMON_ENOMEM;
	}
	for (uint32_t r = 0; r < robots; r++) {
		p->first[r] = -1;
	}
	p->n = (size_t) total;
	for (uint64_t k = 0; k < total; k++) {
		struct silence *s = &p->items[k];
		/* Bresenham: the k-th silence is a whole robot when the
		 * running share of robots steps up here. */
		bool whole = (k + 1) * n_robots / total > k * n_robots / total;

		s->robot = (uint32_t) (k * robots / total);
		s->account = whole ? SILENCE_ROBOT : (int32_t) accounts - 1;
		s->planned_ns =
		    start_ns + (int64_t) ((double) spread_ns * (double) k /
		                          (double) total);
		s->next = p->first[s->robot];
		p->first[s->robot] = (int32_t) k;
	}
	return HBMON_OK;
}

void
silence_plan_fini(struct silence_plan *p)
{
	free(p->items);
	free(p->first);
	p->items = NULL;
	p->first = NULL;
	pthread_mutex_destroy(&p->lock);
}

struct silence *
silence_find(struct silence_plan *p, uint32_t robot, int32_t account)
{
	if (robot >= p->robots) {
		return NULL;
	}
	for (int32_t i = p->first[robot]; i >= 0; i = p->items[i].next) {
		if (p->items[i].account == account) {
			return &p->items[i];
		}
	}
	return NULL;
}

bool
silence_robot_planned(const struct silence_plan *p, uint32_t robot)
{
	if (robot >= p->robots) {
		return false;
	}
	for (int32_t i = p->first[robot]; i >= 0; i = p->items[i].next) {
		if (p->items[i].account == SILENCE_ROBOT) {
			return true;
		}
	}
	return false;
}
