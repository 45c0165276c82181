/* GET /healthz; see http_health.h. */
#include "server/http_health.h"

#include <stdio.h>

#include "common/clock.h"

static void
healthz(void *arg, struct http_request *req)
{
	const struct http_health *hh = arg;
	struct health_verdict v;
	char text[320];
	int n;

	health_judge(hh->health, clock_mono_ms(), recorder_pending(hh->rec),
	             &v);
	if (!v.watchdog_ok) {
		n = snprintf(text, sizeof(text), "unhealthy: %s\n",
		             v.problem[0] != '\0' ? v.problem : "unknown");
	} else if (v.level == HEALTH_HEALTHY) {
		n = snprintf(text, sizeof(text), "ok\n");
	} else {
		n = snprintf(text, sizeof(text), "ok (%s: %s)\n",
		             v.level == HEALTH_DEGRADED ? "degraded"
		                                        : "unhealthy",
		             v.problem);
	}
	http_respond(
	    req, v.watchdog_ok ? 200 : 503, "text/plain; charset=utf-8", text,
	    n > 0 && (size_t) n < sizeof(text) ? (size_t) n : sizeof(text) - 1);
}

int
http_health_register(struct http_server *srv, const struct http_health *hh)
{
	return http_handle(srv, "GET", "/healthz", healthz, (void *) hh);
}
