/*
 * Ping tokens on the HTTP door (docs/http.md, "Ping tokens"): for cron
 * jobs and scripts that cannot sign, the Healthchecks.io model.
 *
 *   GET or POST /v1/ping/TOKEN[?status=healthy|degraded|unhealthy]
 *
 * records one robot heartbeat (status healthy unless the query says
 * otherwise; active_accounts and active_tasks 0; its timestamp the
 * server's clock) for the one robot the token was issued to (`hbctl
 * robot ping-token ROBOT`, admin_write.c). It is served by the robot
 * socket's own workers (ingest_submit, INGEST_PING_METHOD): admitted by
 * the token's SHA-256 in constant time (registry_admit_ping), the same
 * rules and recorder, the reply only after the commit. A ping has no
 * seq: each one is recorded, and one sent again only refreshes the
 * robot's last seen. It never touches the robot's seq floor, so a robot
 * may ping and sign at once.
 *
 * The reply is JSON {"code", "message"}: 200 recorded, 400 a status word
 * not in the seed or any other query, 404 no such token (never issued,
 * revoked, robot removed) or not a token at all, 429 and 503 as for
 * POST /v1/heartbeat. Refusals are logged (rate-limited) in the robots
 * listener's refusal log, method=GET /v1/ping, their why saying
 * auth=ping.
 */
#ifndef HBMON_SERVER_HTTP_PING_H
#define HBMON_SERVER_HTTP_PING_H

#include "server/http.h"
#include "server/http_ingest.h"

/* Where the token goes: the path is this and then the token. */
#define HTTP_PING_PATH "/v1/ping/"

/*
 * Adds GET and POST /v1/ping/TOKEN to srv (before http_start), served
 * through hi->ingest. hi must outlive srv's last request. Returns what
 * http_handle returns.
 */
int http_ping_register(struct http_server *srv, const struct http_ingest *hi);

#endif
