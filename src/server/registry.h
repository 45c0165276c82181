/*
 * The robots the server knows (SPEC §2.3), in memory: secrets, the highest
 * accepted request seq, and a small cache of recent replies so that a
 * resent request is answered again instead of being recorded twice.
 *
 * Robots are loaded from the store at start-up. A struct robot lives until
 * registry_destroy, so workers can hold a pointer without a reference
 * count; a removed robot is only marked. struct robot says, part by part,
 * which thread may touch which field.
 */
#ifndef HBMON_SERVER_REGISTRY_H
#define HBMON_SERVER_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/rpc.pb-c.h"
#include "common/sign.h"
#include "server/hashtab.h"
#include "server/rules.h"

#define REGISTRY_SECRET_MAX 128 /* longest secret, with its NUL */
#define REGISTRY_CACHE      4   /* replies remembered per robot */

enum reply_state {
	REPLY_EMPTY = 0,
	REPLY_INFLIGHT, /* admitted, not yet answered */
	REPLY_DONE,     /* answered; reply holds the bytes */
	REPLY_FAILED,   /* not recorded; the same request may be retried */
};

struct reply_cache {
	enum reply_state state;
	uint64_t seq;
	uint8_t sig[32];
	uint8_t *reply; /* malloc'd RpcResponse bytes when REPLY_DONE */
	size_t reply_len;
};

/*
 * A robot, in four parts by who may touch what. "The writer" is whichever
 * thread is writing for the recorder (recorder.h).
 */
struct robot {
	/* Set by registry_add before the robot can be found; never changes.
	 * Any thread, no lock. */
	char id[RULES_NAME_MAX + 1];

	pthread_mutex_t lock; /* guards the next part */

	/* Any thread, under lock: admission (registry_admit, settle) on
	 * the workers' threads, rotation on the writer. */
	char secret[REGISTRY_SECRET_MAX];
	size_t secret_len;
	/* HMAC keyed with the secret once: verifying a request costs no
	 * allocation and no re-keying. Not ready while the robot has no
	 * secret (removed). */
	struct sign_ctx sign;
	uint64_t last_seq; /* highest admitted: the floor for new requests */
	uint8_t last_sig[32];
	bool has_last_sig;
	/* The highest seq whose request is committed, and its signature:
	 * all a resend without a cache slot can be answered "already
	 * recorded" by (set by the writer after each commit). */
	uint64_t recorded_seq;
	uint8_t recorded_sig[32];
	bool has_recorded_sig;
	struct reply_cache cache[REGISTRY_CACHE];
	unsigned cache_next;

	/* Written only by the writer (the Admin service's committed
	 * changes), under lock; the writer reads them without it, every
	 * other thread under it. */
	bool removed;
	int64_t interval_max_ms; /* 0: global setting */

	/* The ping token's SHA-256 (registry_set_ping): written by the
	 * writer under the registry's table lock (wrlock), read under it
	 * (rdlock), as the token table that finds it. */
	uint8_t ping_hash[32];
	bool has_ping;

	/* The writer's alone, no lock: the highest seq written with a
	 * request in the transaction under way or before it, and the
	 * highest written to the robots table. */
	uint64_t committed_seq;
	uint8_t committed_sig[32];
	uint64_t flushed_seq;
};

struct registry {
	pthread_rwlock_t lock; /* guards the tables, not the robots */
	struct hashtab robots;
	struct hashtab pings; /* robots with a ping token, by its SHA-256 */
	bool auth_none;       /* accept unsigned requests from any robot id */
	int64_t window_ms;    /* allowed |sent_at_ms - now| */
};

/* Outcome of registry_admit. */
enum admit {
	ADMIT_NEW,    /* record it; answer with registry_settle */
	ADMIT_REPLAY, /* a resend: send *out_reply, record nothing */
	ADMIT_REJECT, /* send the error in *out_code / why */
};

/*
 * Prepares an empty registry. window_ms: the ±window for sent_at_ms.
 * Returns HBMON_OK or HBMON_ENOMEM.
 */
int registry_init(struct registry *reg, bool auth_none, int64_t window_ms);

/* Frees every robot and cached reply. */
void registry_destroy(struct registry *reg);

/*
 * Adds a robot with its secret and persisted seq state. Returns HBMON_OK,
 * HBMON_EEXIST, HBMON_EINVAL (bad id, secret too long) or HBMON_ENOMEM.
 * Thread-safe.
 */
int registry_add(struct registry *reg, const char *id, const char *secret,
                 uint64_t last_seq, const uint8_t *last_sig,
                 int64_t interval_max_ms);

/*
 * Gives robot id a new secret, bringing it back if it was removed, or adds
 * it. A new secret also resets the robot's seq floor and reply cache (SPEC
 * §2.3: nothing signed with the old secret verifies any more, so nothing
 * old can be replayed), including the writer's own seqs: call it on the
 * writer (an exec job's committed hook). Returns HBMON_OK, HBMON_EINVAL
 * or HBMON_ENOMEM.
 */
int registry_set_secret(struct registry *reg, const char *id,
                        const char *secret);

/*
 * Marks robot id removed: its requests are refused from now on, and its
 * ping token is dropped. On the writer (it owns `removed`). Returns HBMON_OK or
 * HBMON_ENOENT.
 */
int registry_remove(struct registry *reg, const char *id);

/*
 * Gives robot id the ping token whose SHA-256 is hash, replacing the one
 * it had, or takes its token away (hash NULL). On the writer, after the
 * commit. Returns HBMON_OK, HBMON_ENOENT (unknown or removed robot) or
 * HBMON_ENOMEM.
 */
int registry_set_ping(struct registry *reg, const char *id,
                      const uint8_t *hash);

/*
 * Admits a ping (GET /v1/ping/TOKEN): the robot whose ping token is
 * token (len bytes), compared by SHA-256 in constant time. There is no
 * signature, seq or window: a ping is idempotent liveness, recorded each
 * time it comes. Returns ADMIT_NEW with *out_robot, or ADMIT_REJECT with
 * NOT_FOUND and a sentence (no such token, revoked, robot removed).
 * Thread-safe.
 */
enum admit registry_admit_ping(struct registry *reg, const uint8_t *token,
                               size_t len, struct robot **out_robot,
                               int *out_code, char *why, size_t why_len);

/* Sets robot id's own interval_max (0: global), on the writer.
 * HBMON_ENOENT if unknown. */
int registry_set_interval(struct registry *reg, const char *id,
                          int64_t interval_max_ms);

/*
 * Calls fn for every robot (removed ones included). fn must not add
 * robots. Stops at fn's first non-zero return and returns it.
 * Thread-safe with respect to the table.
 */
int registry_each(struct registry *reg, int (*fn)(struct robot *r, void *arg),
                  void *arg);

/* The robot named id, or NULL. Thread-safe. */
struct robot *registry_find(struct registry *reg, const char *id);

/*
 * Decides what to do with a request (SPEC §2.3): robot known, signature
 * valid, sent_at_ms within the window, seq above the last accepted one and
 * not more than the window ahead of sent_at_ms * 1000 (microseconds) — or
 * the same seq and signature again, answered from the cache, or "already
 * recorded" when it is the robot's last committed request. Nothing is
 * ever answered OK before its commit: a new request that finds every
 * cache slot of its robot in flight is refused UNAVAILABLE (and the floor
 * stays where it was, so the same request can come again).
 * now_ms: server wall clock.
 * out_robot: the robot on ADMIT_NEW and ADMIT_REPLAY.
 * out_reply: on ADMIT_REPLAY a malloc'd copy of the reply to send (caller
 * frees), or NULL when the original reply is unknown (recorded before a
 * restart): then answer OK with an empty payload.
 * out_code, why: on ADMIT_REJECT the gRPC code and a sentence.
 * Thread-safe.
 */
enum admit registry_admit(struct registry *reg,
                          const Hbmon__V1__RpcRequest *req, int64_t now_ms,
                          struct robot **out_robot, uint8_t **out_reply,
                          size_t *out_reply_len, int *out_code, char *why,
                          size_t why_len);

/*
 * On the writer, after a commit: robot's request seq (with sig)
 * is durable. Raises what a resend without a cache slot is compared with.
 */
void registry_recorded(struct robot *robot, uint64_t seq,
                       const uint8_t sig[32]);

/*
 * Records the answer to an admitted request. recorded: whether its
 * heartbeats were committed; if not, the same request may come again and
 * is then treated as new. reply: the RpcResponse bytes (copied; may be
 * NULL when recorded is false). Thread-safe.
 */
void registry_settle(struct registry *reg, struct robot *robot, uint64_t seq,
                     const uint8_t sig[32], bool recorded, const uint8_t *reply,
                     size_t reply_len);

#endif
