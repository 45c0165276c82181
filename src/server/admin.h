/*
 * The owner's service (SPEC §2.2 Admin, §5): status and history for
 * hbctl, alerts after a seq for notifiers catching up, pause/resume and
 * ack, and the robot registry. Served on an ipc:// socket in the data dir
 * (mode 0600: whoever can open it is the owner) and, optionally, on a tcp
 * listener that requires the admin secret (requests signed as "@admin",
 * admin_auth.h), whose seq floor is kept in the database.
 *
 * Reads (status, accounts, show, history, alerts, robot list, server
 * info) run on reader threads with read-only connections of their own
 * (readpool.h) and take what is in memory through recorder_read: they are
 * answered while the writer is busy and while the disk is full. Writes
 * (pause, resume, ack, the robot registry) run on the recorder thread as
 * exec jobs, in order with the robots' heartbeats; the registry is
 * changed in memory only once its row is committed. While the database
 * cannot be written, writes are refused with UNAVAILABLE.
 */
#ifndef HBMON_SERVER_ADMIN_H
#define HBMON_SERVER_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/tlsconf.h"
#include "server/listener.h"
#include "server/recorder.h"
#include "server/registry.h"

struct admin_options {
	const char *data_dir; /* the database the reads open */
	const char *ipc_url;  /* always served; mode 0600 */
	const char *tcp_url;  /* "" or NULL: none; tcp:// or tls+tcp:// */
	const char *secret;   /* required with tcp_url */
	size_t recv_max;
	const struct listener_limits *limits; /* each listener's; required */
	nng_tls_config *tls;                  /* for a tls+tcp:// tcp_url */
	enum tlsconf_verify verify;           /* what it asks of clients */
	uint32_t miss_threshold; /* to report late/down as the engine sees */
	int64_t interval_max_ms; /* the global one, for RobotSet */
	int64_t auth_window_ms;
	/* admin_tcp's persisted seq floor (store_admin_seq_get) */
	uint64_t seq_floor;
	int64_t started_ms;
	const char *version;
};

struct admin;

/*
 * Starts the admin socket(s). rec and reg must outlive the admin. why: a
 * sentence on failure. Returns HBMON_OK, HBMON_EINVAL (bad URL, or a tcp
 * listener without a secret), HBMON_EBUSY, HBMON_ENOMEM or HBMON_EIO.
 */
int admin_start(const struct admin_options *opts, struct recorder *rec,
                struct registry *reg, struct admin **out, char *why,
                size_t why_len);

/*
 * Answers what is in progress (up to timeout_ms), then refuses new calls
 * and stops the reader threads. Before recorder_stop.
 */
void admin_drain(struct admin *adm, int64_t timeout_ms);

/* The URLs listened on (tcp: NULL when there is none; with the port
 * chosen for ":0"). */
const char *admin_ipc_url(const struct admin *adm);
const char *admin_tcp_url(const struct admin *adm);

/* The listeners underneath, for the self-check (tcp: NULL when there is
 * none). */
struct listener *admin_ipc_listener(struct admin *adm);
struct listener *admin_tcp_listener(struct admin *adm);

/* Closes the listeners and frees everything. NULL is fine. */
void admin_close(struct admin *adm);

#endif
