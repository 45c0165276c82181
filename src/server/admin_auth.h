/*
 * Who may call the Admin service over admin_tcp (SPEC §2.3): a request
 * signed as robot id "@admin" with the admin secret, its sent_at_ms within
 * auth_window of the server's clock, and its seq above every seq accepted
 * before, in this run or any earlier one. The floor is kept in memory for
 * admission and in the database (store_admin_seq_*) by the admin service,
 * in the same transaction as what the request does: a request captured on
 * the network (RobotRotate hands out a fresh robot secret) and replayed
 * after a restart finds it there and is refused.
 *
 * Thread-safe: admission runs on any nng thread.
 */
#ifndef HBMON_SERVER_ADMIN_AUTH_H
#define HBMON_SERVER_ADMIN_AUTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/rpc.pb-c.h"
#include "server/registry.h"

/* The robot id every admin_tcp request is signed as. */
#define ADMIN_AUTH_ID "@admin"

struct admin_auth {
	char secret[REGISTRY_SECRET_MAX]; /* the admin secret, its bytes */
	size_t secret_len;
	int64_t window_ms;    /* allowed |sent_at_ms - now| */
	pthread_mutex_t lock; /* guards floor */
	uint64_t floor;       /* highest seq admitted; refused at or below */
};

/*
 * Prepares a with the admin secret (1..REGISTRY_SECRET_MAX-1 bytes),
 * the window and the persisted floor (store_admin_seq_get; 0 on a new
 * database). Returns HBMON_OK or HBMON_EINVAL (no secret, or too long).
 */
int admin_auth_init(struct admin_auth *a, const char *secret, int64_t window_ms,
                    uint64_t floor);

/* Wipes the secret. A zeroed or finished a is fine. */
void admin_auth_fini(struct admin_auth *a);

/*
 * Admits req (now_ms: the server's wall clock), raising the floor to its
 * seq, or refuses it with *out_code (RPC_UNAUTHENTICATED) and a sentence
 * in why: not signed as @admin with the secret, outside the window (any
 * int64 sent_at_ms is handled), or seq not above the floor (a replay, also
 * of a request from before a restart). Returns true when admitted.
 */
bool admin_auth_admit(struct admin_auth *a, const Hbmon__V1__RpcRequest *req,
                      int64_t now_ms, int *out_code, char *why, size_t why_len);

#endif
