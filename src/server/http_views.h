/*
 * GET /metrics and the status page (GET /, POST /login) on the HTTP
 * listener (http.h), served from views.h.
 *
 * Who may look: on a listener bound to loopback only (127.0.0.0/8, ::1,
 * localhost) anyone who can reach it, as with the admin socket; on any
 * other, only a client that shows the status token, a read-only
 * credential derived from the admin secret (http_views_token): as
 * `Authorization: Bearer TOKEN` (Prometheus, curl), or as the cookie that
 * POST /login sets after the token was typed into the page's form
 * (HttpOnly, SameSite=Strict, Secure over https). Without an admin secret
 * such a listener answers 403 on these paths. docs/SECURITY.md.
 */
#ifndef HBMON_SERVER_HTTP_VIEWS_H
#define HBMON_SERVER_HTTP_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

#include "server/http.h"
#include "server/views.h"

/* "hbv_" and 64 hex digits, with the NUL. */
#define HTTP_VIEWS_TOKEN_MAX 69

/* The name of the cookie POST /login sets. */
#define HTTP_VIEWS_COOKIE "hbmon_status"

/* What the handlers serve from; the caller's, kept while srv serves. */
struct http_views {
	struct views *views;
	/* A token is needed (the listener is not loopback-only). */
	bool require_token;
	/* The token; "" when there is no admin secret to derive it from. */
	char token[HTTP_VIEWS_TOKEN_MAX];
	bool https; /* the cookie is marked Secure */
};

/*
 * Adds GET /metrics, GET / and POST /login to srv (before http_start).
 * hv and what it points to must outlive srv's last request. Returns what
 * http_handle returns.
 */
int http_views_register(struct http_server *srv, const struct http_views *hv);

/*
 * The status token for an admin secret: "hbv_" and the lowercase hex of
 * HMAC-SHA256(secret, "hbmon status page"), into out (at least
 * HTTP_VIEWS_TOKEN_MAX bytes). Returns HBMON_OK, HBMON_EINVAL (empty
 * secret) or HBMON_ENOMEM. Thread-safe.
 */
int http_views_token(const char *secret, char *out, size_t out_len);

/*
 * Whether an http_listen URL (http:// or https://HOST:PORT) is bound to
 * loopback only: HOST is 127.x.y.z, [::1] or localhost.
 */
bool http_views_loopback_url(const char *url);

#endif
