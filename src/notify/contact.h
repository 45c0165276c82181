/*
 * Whether this notifier is in contact with its server, and the alert it
 * raises itself when it is not (SPEC §3.6): the server cannot say that it
 * is dead or deaf, so hbmon-notify does.
 *
 * Contact is a keepalive through PUB or an answer from the outbox
 * (source_contact). SERVER_UNREACHABLE (critical) fires when there was
 * neither for server_timeout ("lost contact with hbmon-server at URL since
 * T"), or when the outbox could not be read for server_timeout even though
 * keepalives still arrive (alerts would be missed). It repeats every
 * repeat_interval while it lasts, and is resolved by the first outbox
 * answer afterwards with a RECOVERED notice ("back after 44 s; 3 alerts
 * raised meanwhile follow"); the source's catch-up then delivers those
 * alerts, once and in order, after the notice. A clean server restart
 * shorter than server_timeout is never noticed.
 *
 * These alerts are in no server's outbox: seq 0, robot "" (they concern
 * the whole server, so robot filters pass them), notifier = the instance
 * name and notifier_seq = this notifier's own sequence, durable and never
 * reused; the dedupe key is "notify-NAME:SERVER_UNREACHABLE:EPISODE".
 *
 * The episode, the sequence and the notices not yet delivered are kept in
 * STATE_DIR/notify-NAME.contact (replaced atomically before a notice can
 * be sent): a restarted notifier neither repeats a notice it delivered
 * nor forgets one it did not. The delivery loop owns a contact; nothing
 * here is thread-safe.
 */
#ifndef HBMON_NOTIFY_CONTACT_H
#define HBMON_NOTIFY_CONTACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/alert.pb-c.h"
#include "notify/source.h"

struct contact_options {
	const char *state_dir;
	const char *name;        /* the notifier instance */
	int64_t server_timeout;  /* ms */
	int64_t repeat_interval; /* ms */
	int tz_offset_min;       /* times in summaries: offset or TZ_ZONE */
};

struct contact;

/*
 * Loads (or starts) the contact state of instance name. now_ms: the
 * monotonic clock now, from which a server never heard counts. out: freed
 * with contact_close. why: a sentence naming the file on failure. Returns
 * HBMON_OK, HBMON_EINVAL (the file does not hold contact state: it is left
 * for a person to look at), HBMON_EIO or HBMON_ENOMEM.
 */
int contact_open(const struct contact_options *opts, int64_t now_ms,
                 struct contact **out, char *why, size_t why_len);

/* Frees c. NULL is fine. */
void contact_close(struct contact *c);

/*
 * Looks at what the source heard (sc) at now_ms (monotonic) / wall_ms:
 * may open, repeat or resolve the episode, queueing a notice.
 */
void contact_update(struct contact *c, const struct source_contact *sc,
                    int64_t now_ms, int64_t wall_ms);

/* Whether contact is lost now (an episode is open). */
bool contact_lost(const struct contact *c);

/* The oldest notice waiting for delivery, or NULL. Owned by c. */
const Hbmon__V1__Alert *contact_pending(const struct contact *c);

/*
 * The sink delivered (or the filter passed over) contact_pending(): it is
 * dropped and that is stored. Returns HBMON_OK, or HBMON_EIO with why (a
 * restart may then send it again).
 */
int contact_delivered(struct contact *c, char *why, size_t why_len);

#endif
