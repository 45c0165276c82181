/* Rate-limited refusal logging; see refusal.h. */
#include "server/refusal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"

/* How many groups the summary line names. */
#define SUMMARY_TOP 3

/*
 * Copies s into dst so that it can stand in a log template as it is: a
 * conversion, quote, escape or control character (and a space, unless
 * allowed) becomes '_'. Everything passed here is ours (a listener name,
 * an address, a static phrase); this only keeps a slip from breaking the
 * line.
 */
static void
literal_copy(char *dst, size_t n, const char *s, bool allow_space)
{
	size_t i = 0;

	for (; *s != '\0' && i + 1 < n; s++) {
		unsigned char c = (unsigned char) *s;
		bool bad = c == '%' || c == '"' || c == '\\' || c < ' ' ||
		           c >= 0x7f || (c == ' ' && !allow_space);
		dst[i++] = bad ? '_' : (char) c;
	}
	dst[i] = '\0';
}

void
refusal_init(struct refusal_log *r, const char *listener, int64_t interval_ms)
{
	assert(interval_ms > 0);
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	literal_copy(r->listener, sizeof(r->listener), listener, false);
	r->interval_ms = interval_ms;
	r->said = -1;
}

/* Writes the summary of the open period and closes it; lock held. */
static void
summarise(struct refusal_log *r, int64_t now_ms)
{
	char top[SUMMARY_TOP * (REFUSAL_PEER_MAX + 64)] = "";
	size_t used = 0;
	bool taken[REFUSAL_GROUPS] = { false };
	size_t peers = 0;

	if (r->counted > 0) {
		/* The biggest groups first; the table is small. */
		for (int k = 0; k < SUMMARY_TOP; k++) {
			size_t best = REFUSAL_GROUPS;
			for (size_t i = 0; i < r->n_groups; i++) {
				if (!taken[i] && (best == REFUSAL_GROUPS ||
				                  r->groups[i].count >
				                      r->groups[best].count)) {
					best = i;
				}
			}
			if (best == REFUSAL_GROUPS) {
				break;
			}
			taken[best] = true;
			used += (size_t) snprintf(
			    top + used, sizeof(top) - used,
			    "%s%s: %s x%" PRIu64, used > 0 ? "; " : "",
			    r->groups[best].peer, r->groups[best].reason,
			    r->groups[best].count);
			if (used >= sizeof(top)) {
				break;
			}
		}
		for (size_t i = 0; i < r->n_groups; i++) {
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++) {
				seen = strcmp(r->groups[i].peer,
				              r->groups[j].peer) == 0;
			}
			peers += seen ? 0 : 1;
		}
		log_write(r->level, "refusals since the last report",
		          "listener=%s seconds=%" PRId64 " refused=%" PRIu64
		          " peers=%zu groups=%zu ungrouped=%" PRIu64 " top=%s",
		          r->listener, (now_ms - r->period_start + 500) / 1000,
		          r->counted, peers, r->n_groups, r->others, top);
	}
	r->period_start = 0;
	r->said = -1;
	r->counted = 0;
	r->others = 0;
	r->n_groups = 0;
	r->level = LOG_DEBUG;
}

/* Closes the period if it has ended; lock held. */
static void
roll(struct refusal_log *r, int64_t now_ms)
{
	if (r->period_start != 0 &&
	    now_ms - r->period_start >= r->interval_ms) {
		summarise(r, now_ms);
	}
}

/* Counts one refusal in its group; lock held. */
static void
count(struct refusal_log *r, const char *peer, const char *reason)
{
	r->counted++;
	for (size_t i = 0; i < r->n_groups; i++) {
		struct refusal_group *g = &r->groups[i];
		if (g->reason == reason && strcmp(g->peer, peer) == 0) {
			g->count++;
			return;
		}
	}
	if (r->n_groups == REFUSAL_GROUPS) {
		r->others++;
		return;
	}
	snprintf(r->groups[r->n_groups].peer, REFUSAL_PEER_MAX, "%s", peer);
	r->groups[r->n_groups].reason = reason;
	r->groups[r->n_groups].count = 1;
	r->n_groups++;
}

void
refusal_note(struct refusal_log *r, enum log_level level, const char *peer,
             const char *reason, const char *fields, ...)
{
	int64_t now = clock_mono_ms();

	pthread_mutex_lock(&r->lock);
	roll(r, now);
	if (r->period_start == 0) {
		r->period_start = now;
	}
	if ((int) level > r->said) {
		/* The first of a period at this level: said at once, in
		 * full. The
		 * listener, peer and reason become part of the template
		 * (they are ours: a name, an address, a static phrase),
		 * followed by the caller's own fields and values. */
		char tmpl[512], who[REFUSAL_PEER_MAX], why[96];
		va_list ap;
		int n;

		literal_copy(who, sizeof(who), peer[0] != '\0' ? peer : "-",
		             false);
		literal_copy(why, sizeof(why), reason, true);
		n = snprintf(tmpl, sizeof(tmpl),
		             "listener=%s peer=%s reason=\"%s\"%s%s",
		             r->listener, who, why,
		             fields != NULL && fields[0] != '\0' ? " " : "",
		             fields != NULL ? fields : "");
		r->said = (int) level;
		if (n > 0 && (size_t) n < sizeof(tmpl)) {
			va_start(ap, fields);
			log_vwrite(level, "refused", tmpl, ap);
			va_end(ap);
		}
	} else {
		count(r, peer, reason);
		if (level > r->level) {
			r->level = level;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void
refusal_flush(struct refusal_log *r, int64_t now_ms)
{
	pthread_mutex_lock(&r->lock);
	roll(r, now_ms);
	pthread_mutex_unlock(&r->lock);
}

void
refusal_fini(struct refusal_log *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->counted > 0) {
		summarise(r, clock_mono_ms());
	}
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_destroy(&r->lock);
}
