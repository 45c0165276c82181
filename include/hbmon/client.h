/*
 * libhbmon-client: the library a trading robot links to send heartbeats to
 * hbmon-server (SPEC §2). It only reports; nothing in it can start, stop or
 * steer trading.
 *
 * Two ways to use it, on the same client:
 *
 *  - Synchronous calls (hbmon_report_robot, hbmon_report_account,
 *    hbmon_report_batch): one signed request, one reply, never longer than
 *    the client's timeout whether the server is up, down or frozen.
 *
 *  - Automatic mode (hbmon_client_start): the robot only tells the client
 *    its current state with hbmon_set_robot / hbmon_set_account, which
 *    never touch the network, and a background thread sends the robot
 *    heartbeat and every account heartbeat in one batch on a jittered
 *    schedule (60-120 s by default). When the server is down it tries
 *    again on the next tick; hbmon_client_get_health says how it is going.
 *
 * After hbmon_client_open, sending a heartbeat allocates no heap memory:
 * messages are encoded with nanopb into buffers sized at open. Only
 * (re)connecting to the server allocates (inside nng).
 *
 * Every function returns an hbmon_err (include/hbmon/error.h); HBMON_OK is
 * 0. Results go through out-parameters marked "out".
 */
#ifndef HBMON_CLIENT_H
#define HBMON_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hbmon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A connection to one hbmon-server for one robot. Opaque. */
typedef struct hbmon_client hbmon_client;

/* Longest robot id or account name, in bytes (without the NUL). */
#define HBMON_NAME_MAX 64

/* Longest message kept in an hbmon_result, with its NUL. */
#define HBMON_MESSAGE_MAX 256

/* The robot's overall health (the seed's first diagram). */
typedef enum hbmon_health_status {
	HBMON_HEALTHY = 1,   /* "healthy": running normally */
	HBMON_DEGRADED = 2,  /* "degraded": an issue, still running */
	HBMON_UNHEALTHY = 3, /* "unhealthy": serious trouble */
} hbmon_health_status;

/* One account's state (the seed's second diagram). */
typedef enum hbmon_account_status {
	HBMON_ACCOUNT_IDLE = 1,    /* session valid, no task */
	HBMON_ACCOUNT_ACTIVE = 2,  /* session valid, task running */
	HBMON_ACCOUNT_EXPIRED = 3, /* session expired, needs a re-login */
	HBMON_ACCOUNT_ERROR = 4,   /* the account has an error */
} hbmon_account_status;

/* What a robot heartbeat reports; the timestamp is added when it is sent. */
typedef struct hbmon_robot_state {
	hbmon_health_status status;
	uint32_t active_accounts; /* accounts the robot believes are running */
	uint32_t active_tasks;
} hbmon_robot_state;

/* What an account heartbeat reports; the timestamp is added when sent. */
typedef struct hbmon_account_state {
	const char *account; /* 1..HBMON_NAME_MAX bytes, unique per robot */
	hbmon_account_status status;
	bool session_valid; /* true for idle/active, false for expired */
	uint32_t open_orders;
} hbmon_account_state;

/* "No reply arrived": the value of hbmon_result.code then. */
#define HBMON_NO_CODE (-1)

/*
 * The outcome of a call or of one heartbeat in it: the library's error
 * plus, when the server answered, its gRPC status code and sentence.
 */
typedef struct hbmon_result {
	int err;  /* hbmon_err: HBMON_OK when the server recorded it */
	int code; /* gRPC status from the server (0 OK, 3 INVALID_ARGUMENT,
	             16 UNAUTHENTICATED, ...), HBMON_NO_CODE if none came */
	bool transition_not_allowed; /* recorded, but the state change is
	                                not in the seed's diagram */
	char subject[2 * HBMON_NAME_MAX + 2]; /* "R1" or "R1/ACC_003" as the
	                                          server named it, or "" */
	char message[HBMON_MESSAGE_MAX];      /* the server's sentence (cut to
	                                          fit) or the library's own, "" */
} hbmon_result;

/* How automatic mode is doing, for the robot to log or expose. */
typedef struct hbmon_client_health {
	bool running;            /* automatic mode is started */
	int64_t last_attempt_ms; /* wall clock of the last send; 0: never */
	int64_t last_success_ms; /* wall clock of the last batch the server
	                            accepted; 0: never */
	uint32_t consecutive_failures; /* batches in a row that failed */
	uint64_t attempts;             /* batches tried since open */
	uint64_t successes;            /* batches the server accepted */
	uint32_t last_rejected;   /* heartbeats of the last accepted batch that
	                             the server refused (bad account name, ...) */
	hbmon_result last_result; /* the last attempt's outcome; for a batch
	                             with refused heartbeats, the first one */
} hbmon_client_health;

/*
 * Opens a client for robot_id at server_url ("tcp://host:port",
 * "ipc:///path/robots.sock", "tls+tcp://host:port"). Nothing is sent yet
 * and the server need not be running: the connection is made by the
 * first call and remade after it is lost.
 *
 * secret: the robot's secret exactly as `hbctl robot add` printed it (its
 * ASCII bytes are the HMAC key); copied. NULL sends unsigned requests,
 * which only a server with `auth = none` accepts.
 * max_accounts: how many accounts automatic mode and hbmon_report_batch
 * can carry; every buffer is sized from it now, so later calls never
 * allocate. 0 is allowed (robot heartbeats only).
 * out: the client, released with hbmon_client_close; untouched on failure.
 *
 * Returns HBMON_OK; HBMON_EINVAL for a NULL or empty URL, a URL nng cannot
 * dial, a robot id that is not 1..64 characters of [A-Za-z0-9._-] (not
 * starting with '.' or '-'), or an empty secret; HBMON_ERANGE when
 * max_accounts is over 1,000,000; HBMON_ENOMEM. Thread-safe.
 */
int hbmon_client_open(hbmon_client **out, const char *server_url,
                      const char *robot_id, const char *secret,
                      size_t max_accounts);

/*
 * Stops automatic mode if it runs (an attempt in flight is cancelled, not
 * awaited), closes the connection and frees the client. NULL is a no-op.
 * No other thread may use the client during or after this call.
 */
void hbmon_client_close(hbmon_client *c);

/*
 * Sets the hard limit for one call, from the moment it is made to the
 * moment it returns (waiting for another thread's call, connecting and the
 * reply all count). Default 5000 ms; 1..3600000. Takes effect with the
 * next call. Returns HBMON_OK or HBMON_ERANGE. Thread-safe.
 */
int hbmon_client_set_timeout(hbmon_client *c, uint32_t timeout_ms);

/*
 * Sets automatic mode's schedule: each batch is sent a random time in
 * min_ms..max_ms after the previous one started. Default 60000..120000 (the
 * seed's 60-120 s); 1 <= min_ms <= max_ms <= 86400000. Keep max_ms at or
 * under the server's interval_max. Takes effect after the next send.
 * Returns HBMON_OK or HBMON_ERANGE. Thread-safe.
 */
int hbmon_client_set_interval(hbmon_client *c, uint32_t min_ms,
                              uint32_t max_ms);

/* For hbmon_client_set_utc_offset: the host's local time zone (default). */
#define HBMON_UTC_OFFSET_LOCAL (-100000)

/*
 * Sets the UTC offset heartbeat timestamps are written in, in minutes
 * (e.g. 420 for "+07:00"), or HBMON_UTC_OFFSET_LOCAL for the host's zone at
 * the moment of sending. Returns HBMON_OK or HBMON_ERANGE (outside
 * -1439..1439). Thread-safe.
 */
int hbmon_client_set_utc_offset(hbmon_client *c, int offset_min);

/*
 * Replaces the wall clock used for heartbeat timestamps and the request's
 * sent_at_ms: fn(arg) returns milliseconds since the Unix epoch. For a
 * robot that keeps its own (e.g. exchange-synchronised) time, and for
 * simulating a skewed clock. NULL restores the system clock. fn is called
 * from whichever thread sends, without locks held; it must not block or
 * call back into the client. The request seq always follows the system
 * clock, so a skewed clock never makes it go backwards. Returns HBMON_OK.
 * Thread-safe.
 */
int hbmon_client_set_clock(hbmon_client *c, int64_t (*fn)(void *arg),
                           void *arg);

/*
 * Sets a function that receives every heartbeat as it is sent, as one line
 * of the seed's JSON (e.g. {"event":"ROBOT_HEARTBEAT","status":"healthy",
 * ...}), and one line per outcome starting with "# ". For logging and the
 * simulator's -v. fn is called from whichever thread sends, with no lock
 * held; line is valid only during the call. NULL turns it off. Formatting
 * does not allocate. Returns HBMON_OK. Thread-safe.
 */
int hbmon_client_set_trace(hbmon_client *c,
                           void (*fn)(void *arg, const char *line), void *arg);

/*
 * Sets a function called by the automatic-mode thread after every attempt
 * with the client's health (see hbmon_client_get_health). It runs with no
 * lock held and may call any setter or hbmon_client_get_health, but not
 * hbmon_client_stop or hbmon_client_close. It should return quickly: the
 * next batch waits for it. NULL turns it off. Returns HBMON_OK.
 * Thread-safe.
 */
int hbmon_client_set_health_callback(
    hbmon_client *c, void (*fn)(void *arg, const hbmon_client_health *health),
    void *arg);

/*
 * Sets TLS for a "tls+tcp://" server: ca_file (PEM) verifies the server's
 * certificate; cert_key_file (PEM certificate and key in one file, or
 * NULL) is presented when the server asks for a client certificate.
 * server_name: the name to verify, or NULL for the URL's host. Applies to
 * the next connection. Returns HBMON_OK, HBMON_EINVAL (not a tls+tcp URL,
 * NULL ca_file), HBMON_EIO (a file cannot be read or parsed) or
 * HBMON_ENOMEM. Thread-safe.
 */
int hbmon_client_set_tls(hbmon_client *c, const char *ca_file,
                         const char *cert_key_file, const char *server_name);

/* ---- synchronous calls ------------------------------------------------ */

/*
 * Sends one robot heartbeat, stamped now, and waits for the reply within
 * the timeout. out (may be NULL): the outcome, also on failure.
 * Returns HBMON_OK when the server recorded it (out->transition_not_allowed
 * says whether the change was one the diagram allows); HBMON_EINVAL for a
 * state the library can tell is invalid (unknown status) or one the server
 * refused (code 3); HBMON_EAUTH (code 16: unknown robot, bad secret, clock
 * more than 300 s off); HBMON_EPERM; HBMON_EUNAVAIL (nothing listens, the
 * connection broke, or code 14); HBMON_ETIMEDOUT (no reply in time);
 * HBMON_EPROTO (the peer is not an hbmon server); HBMON_ECLOSED (the client
 * is closing); HBMON_EREMOTE (another server error; see out->code).
 * Thread-safe: calls from several threads are sent one at a time, each
 * still within its own timeout. No heap allocation once connected.
 */
int hbmon_report_robot(hbmon_client *c, const hbmon_robot_state *robot,
                       hbmon_result *out);

/*
 * Sends one account heartbeat of this robot; as hbmon_report_robot.
 * HBMON_EINVAL also for an account name that is empty or longer than
 * HBMON_NAME_MAX.
 */
int hbmon_report_account(hbmon_client *c, const hbmon_account_state *account,
                         hbmon_result *out);

/*
 * Sends a robot heartbeat (robot may be NULL) and n_accounts account
 * heartbeats in one request; the server judges each on its own.
 * out_call (may be NULL): the call's outcome. When the server answered but
 * refused some heartbeats, it carries the first refusal's err and code,
 * and a message saying how many were refused.
 * out_robot (may be NULL): the robot heartbeat's outcome.
 * out_accounts (may be NULL, else n_accounts entries): each account's
 * outcome, in order.
 * Returns HBMON_OK when every heartbeat was recorded, else the error as in
 * hbmon_report_robot; HBMON_ENOMEM when n_accounts is over the client's
 * max_accounts. Thread-safe, as hbmon_report_robot.
 */
int hbmon_report_batch(hbmon_client *c, const hbmon_robot_state *robot,
                       const hbmon_account_state *accounts, size_t n_accounts,
                       hbmon_result *out_call, hbmon_result *out_robot,
                       hbmon_result *out_accounts);

/* ---- automatic mode ---------------------------------------------------- */

/*
 * Sets the robot state that automatic mode reports. Until it is first
 * called, batches carry account heartbeats only. Copies the state; never
 * touches the network and does not allocate: it takes a lock that the
 * sending thread holds only to copy the table. Returns HBMON_OK or
 * HBMON_EINVAL (NULL, unknown status). Thread-safe.
 */
int hbmon_set_robot(hbmon_client *c, const hbmon_robot_state *robot);

/*
 * Adds an account to what automatic mode reports, or updates it (matched by
 * name). Copies everything, the name included. Never touches the network,
 * no allocation; O(accounts) to find the name. Returns HBMON_OK,
 * HBMON_EINVAL (NULL, empty or too long name, unknown status) or
 * HBMON_ENOMEM (max_accounts accounts are already reported). Thread-safe.
 */
int hbmon_set_account(hbmon_client *c, const hbmon_account_state *account);

/*
 * Stops reporting an account (it was closed on purpose; a silent account
 * is otherwise alerted on). Returns HBMON_OK or HBMON_ENOENT. Thread-safe,
 * never touches the network.
 */
int hbmon_remove_account(hbmon_client *c, const char *account);

/*
 * Starts the background thread: it sends a first batch at once (or, when
 * nothing is set yet, as soon as a setter is called), then one every
 * interval (hbmon_client_set_interval). A failed batch is not
 * retried in a hurry; the next tick sends the then-current state.
 * Returns HBMON_OK, HBMON_EBUSY (already started), HBMON_ECLOSED, or
 * HBMON_ENOMEM (no thread could be created). Thread-safe.
 */
int hbmon_client_start(hbmon_client *c);

/*
 * Stops the background thread and waits for it: an attempt in flight is
 * cancelled. The state set so far is kept; hbmon_client_start resumes.
 * Returns HBMON_OK or HBMON_ENOENT (not started). Must not be called from
 * the health callback. Thread-safe.
 */
int hbmon_client_stop(hbmon_client *c);

/*
 * Asks the background thread to send a batch now instead of at its next
 * tick (e.g. right after the robot turned unhealthy). Returns at once:
 * HBMON_OK, or HBMON_ENOENT when automatic mode is not started.
 * Thread-safe, never touches the network.
 */
int hbmon_client_send_now(hbmon_client *c);

/*
 * Copies automatic mode's health into out. Returns HBMON_OK. Thread-safe,
 * never touches the network.
 */
int hbmon_client_get_health(hbmon_client *c, hbmon_client_health *out);

/* ---- words ------------------------------------------------------------- */

/*
 * The seed's word for a status: "healthy", "degraded", "unhealthy";
 * "idle", "active", "expired", "error". "unknown" for other values.
 * Static strings; thread-safe.
 */
const char *hbmon_health_status_name(int status);
const char *hbmon_account_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* HBMON_CLIENT_H */
