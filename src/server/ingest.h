/*
 * The robots' socket: an SP REP listener (rpcserver.h) with a pool of
 * workers, each an explicit state machine as in nng's async demo, so many
 * robots are served at once without a thread per request. Requests are
 * authenticated (registry), dispatched through the generated Monitor
 * service descriptor, checked against the state rules and handed to the
 * recorder; the reply is sent when the recorder has committed them.
 */
#ifndef HBMON_SERVER_INGEST_H
#define HBMON_SERVER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/tlsconf.h"
#include "server/listener.h"
#include "server/recorder.h"
#include "server/registry.h"
#include "server/rpcserver.h"

struct ingest_options {
	const char *url;  /* tcp://, ipc:// or tls+tcp:// */
	size_t recv_max;  /* largest request accepted */
	uint32_t workers; /* requests in progress at once */
	/* Heartbeats one ReportBatch may hold (accounts_max + 1); a larger
	 * batch is refused before it is decoded. 0: no limit. */
	uint32_t batch_items_max;
	const struct listener_limits *limits; /* the listener's; required */
	nng_tls_config *tls;                  /* for tls+tcp:// */
	enum tlsconf_verify verify;           /* what it asks of robots */
};

struct ingest;

/*
 * Starts listening on opts->url and starts the workers.
 * reg and rec must outlive the ingest. why: on failure, a sentence naming
 * the URL. Returns HBMON_OK, HBMON_EINVAL (bad URL), HBMON_EBUSY (address
 * in use), HBMON_ENOMEM or HBMON_EIO.
 */
int ingest_start(const struct ingest_options *opts, struct registry *reg,
                 struct recorder *rec, struct ingest **out, char *why,
                 size_t why_len);

/*
 * Stops taking new work: requests that still arrive are answered with
 * UNAVAILABLE so robots send them again later. Then waits up to
 * timeout_ms for requests in progress to be answered. Returns the number
 * still in progress (0 when fully drained).
 */
size_t ingest_drain(struct ingest *ing, int64_t timeout_ms);

/*
 * Heartbeats in a packed HeartbeatBatch (field 1 the robot, field 2 each
 * account), counted without decoding it, so that a batch over
 * batch_items_max is refused before it costs any memory. Every occurrence
 * counts (never fewer than the decoder would find); stops counting past
 * limit; bytes it cannot walk count 0 (the decoder then refuses them with
 * INVALID_ARGUMENT). Thread-safe, no allocation.
 */
size_t ingest_batch_items(const uint8_t *p, size_t len, size_t limit);

/*
 * Serves a Monitor request that came another way (the HTTP door) through
 * the same admission (the registry), handlers, rules and recorder as one
 * from the robot socket; see rpcserver_submit. lr->request->method is a
 * Monitor method; lr->signed_method and signed_payload what its
 * signature covers. Never blocks. Close whoever submits before
 * ingest_close.
 */
void ingest_submit(struct ingest *ing, struct rpcserver_local *lr);

/*
 * The signed method of a ping (http_ping.h): a ReportRobot submitted with
 * this as lr->signed_method is admitted by the ping token it carries in
 * request->signature (registry_admit_ping), not by a signature, and
 * moves no seq floor. (A request from the robot socket naming this
 * method is admitted the same way and then has no handler: it records
 * nothing.)
 */
#define INGEST_PING_METHOD "GET /v1/ping"

/* The URL listened on (with the port chosen for ":0"). */
const char *ingest_url(const struct ingest *ing);

/* The listener underneath (for the self-check). */
struct listener *ingest_listener(struct ingest *ing);

/* Closes the listener and frees everything. NULL is fine. */
void ingest_close(struct ingest *ing);

#endif
