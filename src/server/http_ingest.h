/*
 * The robots' HTTP door (docs/http.md): POST /v1/heartbeat, a signed
 * heartbeat in the seed's JSON.
 *
 *   X-Hbmon-Robot: R1
 *   X-Hbmon-Seq: 1769824200000000            (decimal, increasing)
 *   X-Hbmon-Sent-At: 1769824200000           (ms since the epoch)
 *   X-Hbmon-Signature: lowercase hex of HMAC-SHA256(secret,
 *       "POST /v1/heartbeat" "\n" robot "\n" seq "\n" sent_at "\n" body)
 *
 * The body is a robot heartbeat object, an account heartbeat object, or
 * a batch {"robot": {...}, "accounts": [...]} (hbjson.h, what `hbctl
 * send` takes). It is converted to the Monitor request it stands for
 * (ReportRobot, ReportAccount, ReportBatch) and served by the robot
 * socket's own workers (ingest_submit): the same registry admission (the
 * signature over the HTTP form above, the ±auth_window, the seq floor
 * shared with the robot's nng requests, replies to a resent request),
 * the same rules, the same recorder, and the reply only after the
 * commit. The reply is JSON {"code", "message", "results": [{"subject",
 * "code", "message", "transition_not_allowed"}]} with the HTTP status
 * that fits its gRPC code (http_ingest_status).
 */
#ifndef HBMON_SERVER_HTTP_INGEST_H
#define HBMON_SERVER_HTTP_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "server/http.h"
#include "server/ingest.h"

/* The signed method of the HTTP form. */
#define HTTP_INGEST_METHOD "POST /v1/heartbeat"

struct http_ingest {
	struct ingest *ingest;
	/* Heartbeats one request may hold (accounts_max + 1). */
	uint32_t batch_items_max;
	bool auth_none; /* auth = none: the signature may be left out */
};

/*
 * Adds POST /v1/heartbeat to srv (before http_start). hi and its ingest
 * must outlive srv's last request (close srv first). Returns what
 * http_handle returns.
 */
int http_ingest_register(struct http_server *srv, const struct http_ingest *hi);

/*
 * Ends req with text, a JSON reply whose request ended with gRPC code:
 * the HTTP status that fits (http_ingest_status), with Retry-After on
 * 429 and 503. text NULL (no memory to build it): a 503 that says to
 * send the same request again.
 */
void http_ingest_answer(struct http_request *req, int code, const char *text);

/*
 * The HTTP status for a gRPC code: 0 -> 200, INVALID_ARGUMENT -> 400,
 * UNAUTHENTICATED -> 401, PERMISSION_DENIED -> 403, NOT_FOUND -> 404,
 * RESOURCE_EXHAUSTED -> 429, UNAVAILABLE -> 503, others -> 500.
 */
int http_ingest_status(int code);

#endif
