/*
 * Following the server's alerts without a gap: the PUB socket (the fast
 * path) and the outbox (Admin.AlertsAfter, the truth) merged into one
 * stream in seq order, each alert once. hbmon-notify (notify/source.c)
 * and `hbctl alerts --follow` (hbctl/follow.c) are its two users.
 *
 * nng PUB drops messages for slow or absent subscribers, so the follower
 * subscribes to every alert (filters apply to what the user takes, see
 * alert_filter.h: a gap is only visible in the whole stream) and reads
 * the outbox after the last seq it passed on
 *  - at the start, and whenever the PUB connection is (re)established;
 *  - when a PUB alert is not the next one (alert_follow_classify): PUB
 *    dropped some, and the outbox has them and this one (alerts are
 *    committed before they are published);
 *  - when a keepalive announces an alert seq beyond the last (a dropped
 *    *last* alert shows no gap until the next one) or a new boot id;
 *  - every poll_ms anyway, and when the user asks (alert_follow_request).
 * Seqs may jump (the server reserves them ahead, SPEC §3.4; pruning): an
 * outbox page is taken as it is. When the outbox keeps ending below the
 * last seq for RESET_CONFIRM_MS, the server's database was replaced: the
 * follower says so and starts again from seq 0.
 *
 * The user holds the alerts it was given; room (how many more it can take
 * now) bounds each call. With no room a PUB alert is left for the outbox,
 * and the follower reads it once the user asks again.
 *
 * Threading: one thread calls everything, except alert_follow_request,
 * which any thread (and nng's pipe callback) may call. The ops are called
 * on the calling thread, from inside alert_follow_poll and
 * alert_follow_catch_up.
 */
#ifndef HBMON_COMMON_ALERT_FOLLOW_H
#define HBMON_COMMON_ALERT_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/tlsconf.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/alert.pb-c.h"

struct alert_follow;

/* What the user does for the follower. arg is alert_follow_open's. */
struct alert_follow_ops {
	/*
	 * Reads one page of the outbox: alerts after seq after, at most
	 * limit. Returns HBMON_OK with *out (the follower frees it), or an
	 * error after saying why in the user's own way (the follower tries
	 * again after retry_ms).
	 */
	int (*fetch)(void *arg, uint64_t after, uint32_t limit,
	             Hbmon__V1__AlertsAfterReply **out);
	/* The next alert in seq order; the user owns it (free with
	 * hbmon__v1__alert__free_unpacked(a, NULL)). */
	void (*take)(void *arg, Hbmon__V1__Alert *a);
	/* A keepalive arrived on PUB (restarted: its boot id is not the
	 * one before). NULL: not wanted. */
	void (*keepalive)(void *arg, const Hbmon__V1__Keepalive *k,
	                  bool restarted);
	/* Something worth telling the user (PUB unreachable, the
	 * database replaced): msg a sentence, fields "key=value ..."
	 * (may be ""). */
	void (*say)(void *arg, enum log_level level, const char *msg,
	            const char *fields);
};

struct alert_follow_options {
	const char *subscribe_url; /* the PUB socket; NULL: outbox only */
	struct tlsconf_files tls;  /* for a tls+tcp:// subscribe_url */
	/* false: dial in the background, and fail at open on a URL nng
	 * cannot use. true: dial once and wait, and when that fails, say so
	 * and read the outbox until a background dial succeeds (or, for
	 * TLS settings that cannot work, only the outbox). */
	bool dial_wait;
	int64_t poll_ms;   /* read the outbox this often anyway */
	int64_t retry_ms;  /* wait after the outbox could not be read */
	uint32_t page_max; /* alerts asked for per page; 0: 500 */
};

/*
 * Opens a follower whose stream starts after seq after. Nothing is read
 * yet. out: closed with alert_follow_close. Returns HBMON_OK,
 * HBMON_EINVAL (subscribe_url unusable and not dial_wait; why says
 * which) or HBMON_ENOMEM.
 */
int alert_follow_open(const struct alert_follow_options *o, uint64_t after,
                      const struct alert_follow_ops *ops, void *arg,
                      struct alert_follow **out, char *why, size_t why_len);

/* Closes the PUB socket and frees the follower. NULL is fine. */
void alert_follow_close(struct alert_follow *f);

/*
 * Reads the outbox after the last seq until it is exhausted or room
 * alerts were taken. idle: the user holds no alert it has not finished
 * with (only then may a replaced database restart the stream from 0).
 * Returns HBMON_OK, or the fetch's error.
 */
int alert_follow_catch_up(struct alert_follow *f, size_t room, bool idle);

/*
 * One step: catches up when due, then waits up to wait_ms for PUB
 * messages (sleeps that long without a PUB socket) and takes those that
 * are next in seq, catching up at once after a gap. Takes at most room
 * alerts. Never fails: fetch errors were said by the fetch and are
 * retried after retry_ms.
 */
void alert_follow_poll(struct alert_follow *f, int64_t wait_ms, size_t room,
                       bool idle);

/* Catch up at the next poll (thread-safe). */
void alert_follow_request(struct alert_follow *f);

/* The seq of the last alert taken or passed over (the start, before). */
uint64_t alert_follow_last(const struct alert_follow *f);

/* Whether the user's room ran out with alerts left in the outbox. */
bool alert_follow_behind(const struct alert_follow *f);

/*
 * True once after the follower found the database replaced and started
 * again from seq 0 (the user then resets what it keeps, e.g. a cursor).
 */
bool alert_follow_take_reset(struct alert_follow *f);

/* What a PUB alert's seq means, given the last seq taken. */
enum alert_follow_step {
	ALERT_FOLLOW_SEEN, /* at or below last: already taken or passed */
	ALERT_FOLLOW_NEXT, /* last + 1: take it */
	ALERT_FOLLOW_GAP,  /* beyond: PUB dropped some; read the outbox */
};

/* Pure: classifies seq against last. */
enum alert_follow_step alert_follow_classify(uint64_t last, uint64_t seq);

#endif
