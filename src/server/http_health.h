/*
 * GET /healthz on the HTTP listener: the server's judgement of itself
 * (health.h), the same one that feeds the systemd watchdog. 200 and
 * "ok" while the watchdog would be fed (a degraded server says so after
 * it: "ok (degraded: ...)"), 503 and "unhealthy: REASON" otherwise; plain
 * text, one line, for load balancers, Uptime Kuma, curl -f.
 */
#ifndef HBMON_SERVER_HTTP_HEALTH_H
#define HBMON_SERVER_HTTP_HEALTH_H

#include "server/health.h"
#include "server/http.h"
#include "server/recorder.h"

/* What /healthz judges by; the caller's, kept while srv serves. */
struct http_health {
	struct health *health;
	struct recorder *rec;
};

/*
 * Adds GET /healthz to srv (before http_start). hh and what it points to
 * must outlive srv's last request (close srv first). Returns what
 * http_handle returns.
 */
int http_health_register(struct http_server *srv, const struct http_health *hh);

#endif
