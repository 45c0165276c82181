/*
 * The inside of struct hbmon_client, shared by client.c (open, settings,
 * synchronous calls) and autosend.c (automatic mode).
 *
 * Two locks, never held together by one thread except in the order
 * send_lock -> lock:
 *  - send_lock serialises requests (one connection, one request in
 *    flight, seqs reaching the server in order). It is held across
 *    network I/O, so nothing a setter does ever takes it.
 *  - lock guards settings and automatic mode's state. It is never held
 *    across network I/O; the sender holds it only to copy the table.
 */
#ifndef HBMON_CLIENT_IMPL_H
#define HBMON_CLIENT_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/codec.h"
#include "client/conn.h"
#include "common/sign.h"
#include "hbmon/client.h"

struct hbmon_client {
	char *url;
	char robot_id[HBMON_NAME_MAX + 1];
	char *secret; /* NULL: unsigned requests */
	size_t secret_len;
	size_t max_accounts;

	/* ---- the send path, under send_lock ---- */
	pthread_mutex_t send_lock;
	struct client_conn conn;
	struct sign_ctx signer;
	uint8_t *payload; /* encoded method input */
	size_t payload_cap;
	uint8_t *frame; /* CLIENT_FRAME_HEAD + RpcRequest */
	size_t frame_cap;
	uint64_t last_seq;

	/* ---- settings and automatic mode, under lock ---- */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	uint32_t timeout_ms;
	uint32_t interval_min_ms;
	uint32_t interval_max_ms;
	int utc_offset_min; /* or HBMON_UTC_OFFSET_LOCAL */
	int64_t (*clock_fn)(void *arg);
	void *clock_arg;
	void (*trace_fn)(void *arg, const char *line);
	void *trace_arg;
	void (*health_fn)(void *arg, const hbmon_client_health *health);
	void *health_arg;

	bool has_robot;
	hbmon_robot_state robot;
	struct client_account *table; /* max_accounts entries */
	size_t n_table;
	hbmon_client_health health;

	bool thread_running; /* started and not yet joined */
	bool thread_exited;  /* the thread has left its loop */
	bool stopping;       /* asks the thread to leave */
	bool send_now;       /* asks the thread for a batch at once */
	bool auto_sending;   /* the thread holds send_lock for a batch */
	bool first_sent;     /* the thread has had something to send */
	pthread_t thread;
	uint64_t rng; /* jitter */

	/* Owned by the automatic-mode thread only. */
	struct client_account *snapshot; /* max_accounts entries */
};

/* Per-call settings, read under lock at the start of a call. */
struct client_call_opts {
	uint32_t timeout_ms;
	int utc_offset_min;
	int64_t (*clock_fn)(void *arg);
	void *clock_arg;
	void (*trace_fn)(void *arg, const char *line);
	void *trace_arg;
};

/* Copies the per-call settings. Takes and releases c->lock. */
void client_call_opts_get(hbmon_client *c, struct client_call_opts *o);

/*
 * Sends items with method m and waits for the reply, all within
 * o->timeout_ms of start_ms (monotonic). The timestamp is filled here.
 * out_call: the call's outcome (never NULL). out_single: the robot's or
 * the single heartbeat's outcome (may be NULL). out_accounts: per-account
 * outcomes (may be NULL, else items->n_accounts entries).
 * accepted: whether the server took the request (envelope code 0).
 * n_rejected: heartbeats the server refused.
 * auto_mode: the caller is the automatic-mode thread (a stop may cancel
 * it). Returns out_call->err. No allocation once connected.
 */
int client_call(hbmon_client *c, const struct client_call_opts *o,
                int64_t start_ms, enum client_method m,
                struct client_items *items, hbmon_result *out_call,
                hbmon_result *out_single, hbmon_result *out_accounts,
                bool *accepted, size_t *n_rejected, bool auto_mode);

/* Checks a name for an account field: 1..HBMON_NAME_MAX bytes. */
bool client_account_name_ok(const char *name);

/* Sets a result that no reply produced. Returns err. */
int client_result_local(hbmon_result *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Automatic mode's part of hbmon_client_close: stops the thread. */
void client_auto_shutdown(hbmon_client *c);

#endif
