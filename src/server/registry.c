/* Robot registry and request admission. */
#include "server/registry.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/quote.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"

static int
robot_match(const void *record, const void *key, size_t key_len)
{
	const struct robot *r = record;
	return strlen(r->id) == key_len && memcmp(r->id, key, key_len) == 0;
}

/* The hashtab hash of a token's SHA-256: its first bytes are uniform. */
static uint32_t
ping_slot(const uint8_t hash[32])
{
	return (uint32_t) hash[0] << 24 | (uint32_t) hash[1] << 16 |
	       (uint32_t) hash[2] << 8 | hash[3];
}

/* A robot in the ping table, by its token's SHA-256 (32 bytes). */
static int
ping_match(const void *record, const void *key, size_t key_len)
{
	const struct robot *r = record;
	return key_len == sizeof(r->ping_hash) && r->has_ping &&
	       sign_equal(r->ping_hash, key, key_len);
}

int
registry_init(struct registry *reg, bool auth_none, int64_t window_ms)
{
	memset(reg, 0, sizeof(*reg));
	if (pthread_rwlock_init(&reg->lock, NULL) != 0) {
		return HBMON_ENOMEM;
	}
	hashtab_init(&reg->robots, robot_match);
	hashtab_init(&reg->pings, ping_match);
	reg->auth_none = auth_none;
	reg->window_ms = window_ms;
	return HBMON_OK;
}

static int
free_robot(void *record, void *arg)
{
	struct robot *r = record;

	(void) arg;
	for (int i = 0; i < REGISTRY_CACHE; i++) {
		free(r->cache[i].reply);
	}
	sign_ctx_fini(&r->sign);
	pthread_mutex_destroy(&r->lock);
	/* The secret must not linger in freed memory. */
	explicit_bzero(r->secret, sizeof(r->secret));
	free(r);
	return 0;
}

void
registry_destroy(struct registry *reg)
{
	hashtab_each(&reg->robots, free_robot, NULL);
	hashtab_fini(&reg->robots);
	hashtab_fini(&reg->pings);
	pthread_rwlock_destroy(&reg->lock);
}

int
registry_add(struct registry *reg, const char *id, const char *secret,
             uint64_t last_seq, const uint8_t *last_sig,
             int64_t interval_max_ms)
{
	size_t id_len = strlen(id);
	size_t secret_len = strlen(secret);
	uint32_t hash = hashtab_hash(id, id_len);
	struct robot *r;
	int rv;

	if (id_len == 0 || id_len > RULES_NAME_MAX ||
	    secret_len >= REGISTRY_SECRET_MAX) {
		return HBMON_EINVAL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return HBMON_ENOMEM;
	}
	memcpy(r->id, id, id_len + 1);
	memcpy(r->secret, secret, secret_len + 1);
	r->secret_len = secret_len;
	if (secret_len > 0 &&
	    sign_ctx_init(&r->sign, secret, secret_len) != HBMON_OK) {
		free(r);
		return HBMON_ENOMEM;
	}
	r->last_seq = last_seq;
	r->recorded_seq = last_seq;
	r->committed_seq = last_seq;
	r->flushed_seq = last_seq;
	if (last_sig != NULL) {
		memcpy(r->last_sig, last_sig, 32);
		memcpy(r->recorded_sig, last_sig, 32);
		memcpy(r->committed_sig, last_sig, 32);
		r->has_last_sig = true;
		r->has_recorded_sig = true;
	}
	r->interval_max_ms = interval_max_ms;
	pthread_mutex_init(&r->lock, NULL);

	pthread_rwlock_wrlock(&reg->lock);
	if (hashtab_find(&reg->robots, hash, id, id_len) != NULL) {
		rv = HBMON_EEXIST;
	} else {
		rv = hashtab_insert(&reg->robots, hash, r);
	}
	pthread_rwlock_unlock(&reg->lock);
	if (rv != HBMON_OK) {
		free_robot(r, NULL);
	}
	return rv;
}

int
registry_set_secret(struct registry *reg, const char *id, const char *secret)
{
	struct robot *r = registry_find(reg, id);
	size_t len = strlen(secret);
	int rv;

	if (len >= REGISTRY_SECRET_MAX) {
		return HBMON_EINVAL;
	}
	if (r == NULL) {
		return registry_add(reg, id, secret, 0, NULL, 0);
	}
	pthread_mutex_lock(&r->lock);
	explicit_bzero(r->secret, sizeof(r->secret));
	memcpy(r->secret, secret, len + 1);
	r->secret_len = len;
	r->removed = false;
	sign_ctx_fini(&r->sign);
	rv = len > 0 ? sign_ctx_init(&r->sign, secret, len) : HBMON_OK;
	/* Nothing signed with the old secret verifies now: the floor can
	 * go, so a robot that once sent a wild seq is not locked out. */
	r->last_seq = 0;
	r->has_last_sig = false;
	r->recorded_seq = 0;
	r->has_recorded_sig = false;
	for (int i = 0; i < REGISTRY_CACHE; i++) {
		free(r->cache[i].reply);
		memset(&r->cache[i], 0, sizeof(r->cache[i]));
	}
	r->committed_seq = 0;
	r->flushed_seq = 0;
	pthread_mutex_unlock(&r->lock);
	return rv;
}

struct each_ctx {
	int (*fn)(struct robot *, void *);
	void *arg;
};

static int
each_robot(void *record, void *arg)
{
	struct each_ctx *c = arg;
	return c->fn(record, c->arg);
}

int
registry_each(struct registry *reg, int (*fn)(struct robot *r, void *arg),
              void *arg)
{
	struct each_ctx c = { fn, arg };
	int rv;

	pthread_rwlock_rdlock(&reg->lock);
	rv = hashtab_each(&reg->robots, each_robot, &c);
	pthread_rwlock_unlock(&reg->lock);
	return rv;
}

/* Takes r's ping token out of the table; under the table's wrlock. */
static void
drop_ping(struct registry *reg, struct robot *r)
{
	if (r->has_ping) {
		hashtab_remove(&reg->pings, ping_slot(r->ping_hash),
		               r->ping_hash, sizeof(r->ping_hash));
		r->has_ping = false;
		explicit_bzero(r->ping_hash, sizeof(r->ping_hash));
	}
}

int
registry_remove(struct registry *reg, const char *id)
{
	struct robot *r = registry_find(reg, id);

	if (r == NULL || r->removed) {
		return HBMON_ENOENT;
	}
	pthread_mutex_lock(&r->lock);
	r->removed = true;
	explicit_bzero(r->secret, sizeof(r->secret));
	r->secret_len = 0;
	sign_ctx_fini(&r->sign);
	pthread_mutex_unlock(&r->lock);
	pthread_rwlock_wrlock(&reg->lock);
	drop_ping(reg, r);
	pthread_rwlock_unlock(&reg->lock);
	return HBMON_OK;
}

int
registry_set_ping(struct registry *reg, const char *id, const uint8_t *hash)
{
	struct robot *r = registry_find(reg, id);
	int rv = HBMON_OK;

	if (r == NULL || (hash != NULL && r->removed)) {
		return HBMON_ENOENT;
	}
	pthread_rwlock_wrlock(&reg->lock);
	drop_ping(reg, r);
	if (hash != NULL) {
		memcpy(r->ping_hash, hash, sizeof(r->ping_hash));
		r->has_ping = true;
		if ((rv = hashtab_insert(&reg->pings, ping_slot(hash), r)) !=
		    HBMON_OK) {
			r->has_ping = false;
		}
	}
	pthread_rwlock_unlock(&reg->lock);
	return rv;
}

int
registry_set_interval(struct registry *reg, const char *id,
                      int64_t interval_max_ms)
{
	struct robot *r = registry_find(reg, id);

	if (r == NULL) {
		return HBMON_ENOENT;
	}
	pthread_mutex_lock(&r->lock);
	r->interval_max_ms = interval_max_ms;
	pthread_mutex_unlock(&r->lock);
	return HBMON_OK;
}

struct robot *
registry_find(struct registry *reg, const char *id)
{
	size_t id_len = strlen(id);
	struct robot *r;

	pthread_rwlock_rdlock(&reg->lock);
	r = hashtab_find(&reg->robots, hashtab_hash(id, id_len), id, id_len);
	pthread_rwlock_unlock(&reg->lock);
	return r;
}

static enum admit reject(int *out_code, int code, char *why, size_t why_len,
                         const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum admit
reject(int *out_code, int code, char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	*out_code = code;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return ADMIT_REJECT;
}

static struct reply_cache *
cache_find(struct robot *r, uint64_t seq)
{
	for (int i = 0; i < REGISTRY_CACHE; i++) {
		if (r->cache[i].state != REPLY_EMPTY &&
		    r->cache[i].seq == seq) {
			return &r->cache[i];
		}
	}
	return NULL;
}

/*
 * Takes a cache slot for an admitted request, oldest answered first.
 * Returns false when every slot holds a request still in flight.
 */
static bool
cache_claim(struct robot *r, uint64_t seq, const uint8_t sig[32])
{
	struct reply_cache *c = NULL;

	for (int i = 0; i < REGISTRY_CACHE && c == NULL; i++) {
		struct reply_cache *cand =
		    &r->cache[(r->cache_next + (unsigned) i) % REGISTRY_CACHE];
		if (cand->state != REPLY_INFLIGHT) {
			c = cand;
			r->cache_next =
			    (unsigned) (cand - r->cache + 1) % REGISTRY_CACHE;
		}
	}
	if (c == NULL) {
		return false;
	}
	free(c->reply);
	c->reply = NULL;
	c->reply_len = 0;
	c->state = REPLY_INFLIGHT;
	c->seq = seq;
	memcpy(c->sig, sig, 32);
	return true;
}

enum admit
registry_admit(struct registry *reg, const Hbmon__V1__RpcRequest *req,
               int64_t now_ms, struct robot **out_robot, uint8_t **out_reply,
               size_t *out_reply_len, int *out_code, char *why, size_t why_len)
{
	struct robot *r;
	struct reply_cache *c;
	uint8_t sig[32] = { 0 };
	bool verified = false, removed = false;
	enum admit result;
	char reason[128];
	char q[QUOTE_NAME_SIZE];

	*out_reply = NULL;
	*out_reply_len = 0;
	if (rules_check_robot_id(req->robot_id, reason, sizeof(reason)) !=
	    HBMON_OK) {
		return reject(out_code, RPC_INVALID_ARGUMENT, why, why_len,
		              "robot_id '%s' is not a robot id: %s",
		              quote_str(q, sizeof(q), req->robot_id), reason);
	}
	r = registry_find(reg, req->robot_id);
	if (reg->auth_none) {
		if (r == NULL) {
			/* Development mode: any robot id may report. */
			int rv =
			    registry_add(reg, req->robot_id, "", 0, NULL, 0);
			if (rv != HBMON_OK && rv != HBMON_EEXIST) {
				return reject(
				    out_code, RPC_RESOURCE_EXHAUSTED, why,
				    why_len, "cannot register robot '%s': %s",
				    req->robot_id, hbmon_strerror(rv));
			}
			r = registry_find(reg, req->robot_id);
		}
		*out_robot = r;
		return ADMIT_NEW;
	}
	if (r != NULL) {
		struct sign_fields f = { req->method,       req->robot_id,
			                 req->seq,          req->sent_at_ms,
			                 req->payload.data, req->payload.len };
		/* Under the robot's lock: the context is not shared, and a
		 * rotation re-keys it; removal is the writer's, read here
		 * under the lock. */
		pthread_mutex_lock(&r->lock);
		removed = r->removed;
		verified = !removed &&
		           sign_ctx_verify(&r->sign, &f, req->signature.data,
		                           req->signature.len) == HBMON_OK;
		pthread_mutex_unlock(&r->lock);
	}
	if (r == NULL || removed) {
		return reject(out_code, RPC_UNAUTHENTICATED, why, why_len,
		              "robot '%s' is not registered; add it with "
		              "`hbctl robot add %s`",
		              req->robot_id, req->robot_id);
	}
	if (!verified) {
		return reject(out_code, RPC_UNAUTHENTICATED, why, why_len,
		              "bad signature for robot '%s'; check its secret",
		              req->robot_id);
	}
	/* Verified, so exactly SIGN_LEN bytes. */
	assert(req->signature.len == sizeof(sig));
	memcpy(sig, req->signature.data, sizeof(sig));
	if (sign_check_window(req->sent_at_ms, now_ms, reg->window_ms, why,
	                      why_len) != HBMON_OK) {
		*out_code = RPC_UNAUTHENTICATED;
		return ADMIT_REJECT;
	}

	/* Seqs are wall-clock microseconds (docs/protocol.md), and sent_at_ms
	 * is within the window of now: a seq further ahead would set a floor
	 * no honest request could pass for years (SPEC §2.3). */
	if (req->seq > (uint64_t) (req->sent_at_ms + reg->window_ms) * 1000u) {
		return reject(out_code, RPC_INVALID_ARGUMENT, why, why_len,
		              "seq %" PRIu64 " is more than %" PRId64
		              " s ahead of sent_at_ms; use the wall clock in "
		              "microseconds as seq",
		              req->seq, reg->window_ms / 1000);
	}

	pthread_mutex_lock(&r->lock);
	if (req->seq > r->last_seq) {
		if (!cache_claim(r, req->seq, sig)) {
			/* Every slot holds a request still being recorded: an
			 * answer for this one could not be kept, and its
			 * resend could be told nothing true. The floor stays,
			 * so the same request may come again. */
			result =
			    reject(out_code, RPC_UNAVAILABLE, why, why_len,
			           "robot '%s' has %d requests being recorded "
			           "already; send this one again in a moment",
			           r->id, REGISTRY_CACHE);
		} else {
			r->last_seq = req->seq;
			memcpy(r->last_sig, sig, 32);
			r->has_last_sig = true;
			*out_robot = r;
			result = ADMIT_NEW;
		}
	} else if ((c = cache_find(r, req->seq)) != NULL) {
		if (memcmp(c->sig, sig, 32) != 0) {
			result =
			    reject(out_code, RPC_UNAUTHENTICATED, why, why_len,
			           "seq %" PRIu64 " was already used for "
			           "a different request",
			           req->seq);
		} else if (c->state == REPLY_DONE) {
			*out_reply = malloc(c->reply_len + 1);
			if (*out_reply == NULL) {
				result =
				    reject(out_code, RPC_RESOURCE_EXHAUSTED,
				           why, why_len, "out of memory");
			} else {
				memcpy(*out_reply, c->reply, c->reply_len);
				*out_reply_len = c->reply_len;
				*out_robot = r;
				result = ADMIT_REPLAY;
			}
		} else if (c->state == REPLY_FAILED) {
			/* Not recorded the first time: try again. */
			c->state = REPLY_INFLIGHT;
			*out_robot = r;
			result = ADMIT_NEW;
		} else {
			result =
			    reject(out_code, RPC_UNAVAILABLE, why, why_len,
			           "request seq %" PRIu64 " is still being "
			           "recorded; send it again",
			           req->seq);
		}
	} else if (req->seq == r->recorded_seq && r->has_recorded_sig &&
	           memcmp(r->recorded_sig, sig, 32) == 0) {
		/* Committed (before a restart, or its slot was taken since);
		 * the reply itself is gone. */
		*out_robot = r;
		result = ADMIT_REPLAY;
	} else {
		result = reject(out_code, RPC_UNAUTHENTICATED, why, why_len,
		                "seq %" PRIu64 " is not above the last "
		                "accepted seq %" PRIu64 " of robot '%s' "
		                "(a replayed or reordered request)",
		                req->seq, r->last_seq, r->id);
	}
	pthread_mutex_unlock(&r->lock);
	return result;
}

void
registry_recorded(struct robot *robot, uint64_t seq, const uint8_t sig[32])
{
	pthread_mutex_lock(&robot->lock);
	if (seq > robot->recorded_seq || !robot->has_recorded_sig) {
		robot->recorded_seq = seq;
		memcpy(robot->recorded_sig, sig, 32);
		robot->has_recorded_sig = true;
	}
	pthread_mutex_unlock(&robot->lock);
}

void
registry_settle(struct registry *reg, struct robot *robot, uint64_t seq,
                const uint8_t sig[32], bool recorded, const uint8_t *reply,
                size_t reply_len)
{
	struct reply_cache *c;

	if (reg->auth_none) {
		return;
	}
	pthread_mutex_lock(&robot->lock);
	c = cache_find(robot, seq);
	if (c != NULL && c->state == REPLY_INFLIGHT &&
	    memcmp(c->sig, sig, 32) == 0) {
		if (!recorded || reply == NULL) {
			c->state = REPLY_FAILED;
		} else if ((c->reply = malloc(reply_len + 1)) != NULL) {
			memcpy(c->reply, reply, reply_len);
			c->reply_len = reply_len;
			c->state = REPLY_DONE;
		} else {
			c->state = REPLY_EMPTY;
		}
	}
	pthread_mutex_unlock(&robot->lock);
}

enum admit
registry_admit_ping(struct registry *reg, const uint8_t *token, size_t len,
                    struct robot **out_robot, int *out_code, char *why,
                    size_t why_len)
{
	uint8_t hash[32];
	struct robot *r = NULL;

	if (sign_sha256(token, len, hash) == HBMON_OK) {
		pthread_rwlock_rdlock(&reg->lock);
		r = hashtab_find(&reg->pings, ping_slot(hash), hash,
		                 sizeof(hash));
		pthread_rwlock_unlock(&reg->lock);
	}
	if (r == NULL) {
		return reject(out_code, RPC_NOT_FOUND, why, why_len,
		              "no robot has this ping token (auth=ping): it "
		              "was never issued, or revoked, or its robot "
		              "removed; `hbctl robot ping-token ROBOT` issues "
		              "one");
	}
	*out_robot = r;
	return ADMIT_NEW;
}
