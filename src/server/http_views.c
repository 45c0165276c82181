/* /metrics and the status page on the HTTP listener; see http_views.h. */
#include "server/http_views.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/md.h>

#include "common/rpc_status.h"
#include "common/strbuf.h"
#include "hbmon/error.h"
#include "server/metrics.h"
#include "server/statuspage.h"

/* The most a login form may send: the token and its field name. */
#define LOGIN_BODY_MAX 512
/* How long the cookie is kept: 30 days. */
#define COOKIE_MAX_AGE "2592000"

static const char token_label[] = "hbmon status page";

int
http_views_token(const char *secret, char *out, size_t out_len)
{
	const mbedtls_md_info_t *md =
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	uint8_t mac[32];

	if (secret == NULL || secret[0] == '\0' ||
	    out_len < HTTP_VIEWS_TOKEN_MAX) {
		return HBMON_EINVAL;
	}
	if (mbedtls_md_hmac(md, (const uint8_t *) secret, strlen(secret),
	                    (const uint8_t *) token_label,
	                    sizeof(token_label) - 1, mac) != 0) {
		return HBMON_ENOMEM;
	}
	memcpy(out, "hbv_", 4);
	for (size_t i = 0; i < sizeof(mac); i++) {
		snprintf(out + 4 + 2 * i, 3, "%02x", mac[i]);
	}
	return HBMON_OK;
}

bool
http_views_loopback_url(const char *url)
{
	const char *host = strncmp(url, "http://", 7) == 0    ? url + 7
	                   : strncmp(url, "https://", 8) == 0 ? url + 8
	                                                      : NULL;

	if (host == NULL) {
		return false;
	}
	if (strncmp(host, "127.", 4) == 0) {
		/* Only digits and dots up to the port: "127.evil.example"
		 * is a name, not the loopback net. */
		size_t n = strcspn(host, ":");
		return strspn(host, "0123456789.") == n;
	}
	return strncmp(host, "[::1]:", 6) == 0 ||
	       strncasecmp(host, "localhost:", 10) == 0;
}

/* Compares without stopping at the first difference. */
static bool
same_token(const char *given, size_t given_len, const char *token)
{
	size_t n = strlen(token);
	unsigned diff = given_len != n;

	for (size_t i = 0; i < n; i++) {
		diff |= (unsigned) (uint8_t) (i < given_len ? given[i] : 0) ^
		        (uint8_t) token[i];
	}
	return diff == 0;
}

/* The value of cookie name in a Cookie header, with its length. */
static const char *
cookie_value(const char *header, const char *name, size_t *len)
{
	size_t n = strlen(name);

	for (const char *p = header; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == ';') {
			p++;
		}
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			*len = strcspn(p + n + 1, ";");
			return p + n + 1;
		}
		p = strchr(p, ';');
	}
	return NULL;
}

/* Whether req shows the token (or none is needed). */
static bool
allowed(const struct http_views *hv, const struct http_request *req)
{
	const char *auth = http_header(req, "Authorization");
	const char *cookies = http_header(req, "Cookie");
	const char *v;
	size_t len;

	if (!hv->require_token) {
		return true;
	}
	if (hv->token[0] == '\0') {
		return false;
	}
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		v = auth + 7;
		while (*v == ' ') {
			v++;
		}
		len = strlen(v);
		while (len > 0 && v[len - 1] == ' ') {
			len--;
		}
		if (same_token(v, len, hv->token)) {
			return true;
		}
	}
	v = cookies != NULL ? cookie_value(cookies, HTTP_VIEWS_COOKIE, &len)
	                    : NULL;
	return v != NULL && same_token(v, len, hv->token);
}

/* The headers every page goes with: nothing from elsewhere, no framing,
 * no caching, no referrer. */
static void
page_headers(struct http_request *req)
{
	(void) http_reply_header(req, "Content-Security-Policy",
	                         STATUSPAGE_CSP);
	(void) http_reply_header(req, "X-Content-Type-Options", "nosniff");
	(void) http_reply_header(req, "X-Frame-Options", "DENY");
	(void) http_reply_header(req, "Referrer-Policy", "no-referrer");
	(void) http_reply_header(req, "Cache-Control", "no-store");
}

static void
respond_text(struct http_request *req, int status, const char *type,
             struct strbuf *body)
{
	if (!strbuf_ok(body)) {
		strbuf_free(body);
		http_respond_status(req, 503, RPC_RESOURCE_EXHAUSTED,
		                    "out of memory; try again");
		return;
	}
	http_respond(req, status, type, strbuf_str(body), body->len);
	strbuf_free(body);
}

/* A refusal: 403 when no token can be shown at all, 401 otherwise. */
static void
refuse(const struct http_views *hv, struct http_request *req, bool page,
       const char *notice)
{
	struct strbuf body = STRBUF_INIT;

	if (hv->token[0] == '\0') {
		http_respond_status(
		    req, 403, RPC_PERMISSION_DENIED,
		    "this listener is not bound to loopback, and the status "
		    "page and /metrics there need the status token, which "
		    "comes from admin_secret_file: set it (docs/http.md)");
		return;
	}
	(void) http_reply_header(req, "WWW-Authenticate",
	                         "Bearer realm=\"hbmon\"");
	if (!page) {
		http_respond_status(req, 401, RPC_UNAUTHENTICATED,
		                    "send the status token: Authorization: "
		                    "Bearer TOKEN (docs/http.md)");
		return;
	}
	page_headers(req);
	statuspage_login(&body, notice);
	respond_text(req, 401, STATUSPAGE_CONTENT_TYPE, &body);
}

/* The views could not be gathered: the server is stopping. */
static void
unavailable(struct http_request *req)
{
	(void) http_reply_header(req, "Retry-After", "1");
	http_respond_status(req, 503, RPC_UNAVAILABLE,
	                    "hbmon-server is shutting down; try again in a "
	                    "moment");
}

static void
get_metrics(void *arg, struct http_request *req)
{
	const struct http_views *hv = arg;
	struct strbuf body = STRBUF_INIT;

	if (!allowed(hv, req)) {
		refuse(hv, req, false, NULL);
		return;
	}
	if (views_metrics(hv->views, &body) != HBMON_OK) {
		strbuf_free(&body);
		unavailable(req);
		return;
	}
	respond_text(req, 200, METRICS_CONTENT_TYPE, &body);
}

static void
get_page(void *arg, struct http_request *req)
{
	const struct http_views *hv = arg;
	struct strbuf body = STRBUF_INIT;

	if (!allowed(hv, req)) {
		refuse(hv, req, true, NULL);
		return;
	}
	if (views_status_page(hv->views, &body) != HBMON_OK) {
		strbuf_free(&body);
		unavailable(req);
		return;
	}
	page_headers(req);
	respond_text(req, 200, STATUSPAGE_CONTENT_TYPE, &body);
}

static int
hex_value(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/*
 * The value of field `token` in a form body
 * (application/x-www-form-urlencoded), decoded into out. Returns false
 * when there is none, it does not fit or it is not well escaped.
 */
static bool
form_token(const uint8_t *body, size_t len, char *out, size_t out_len)
{
	static const char field[] = "token=";
	size_t n = sizeof(field) - 1, o = 0;
	size_t i = 0;

	/* The field at the start, or after an '&'. */
	while (i + n <= len && memcmp(body + i, field, n) != 0) {
		const uint8_t *amp = memchr(body + i, '&', len - i);
		if (amp == NULL) {
			return false;
		}
		i = (size_t) (amp - body) + 1;
	}
	if (i + n > len) {
		return false;
	}
	for (i += n; i < len && body[i] != '&'; i++) {
		int c = body[i];
		if (c == '%') {
			if (i + 2 >= len || !isxdigit(body[i + 1]) ||
			    !isxdigit(body[i + 2])) {
				return false;
			}
			c = hex_value(body[i + 1]) * 16 +
			    hex_value(body[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= out_len) {
			return false;
		}
		out[o++] = (char) c;
	}
	out[o] = '\0';
	return true;
}

static void
post_login(void *arg, struct http_request *req)
{
	const struct http_views *hv = arg;
	char token[HTTP_VIEWS_TOKEN_MAX + 8];
	char cookie[HTTP_VIEWS_TOKEN_MAX + 128];
	size_t len;
	const uint8_t *body = http_body(req, &len);

	if (!hv->require_token) {
		/* Nothing to sign in to on a loopback listener. */
		(void) http_reply_header(req, "Location", "/");
		http_respond(req, 303, "text/plain; charset=utf-8", "", 0);
		return;
	}
	if (hv->token[0] == '\0') {
		refuse(hv, req, true, NULL);
		return;
	}
	if (len > LOGIN_BODY_MAX ||
	    !form_token(body, len, token, sizeof(token)) ||
	    !same_token(token, strlen(token), hv->token)) {
		refuse(hv, req, true, "That is not the status token.");
		return;
	}
	snprintf(cookie, sizeof(cookie),
	         "%s=%s; Path=/; Max-Age=" COOKIE_MAX_AGE
	         "; HttpOnly; SameSite=Strict%s",
	         HTTP_VIEWS_COOKIE, hv->token, hv->https ? "; Secure" : "");
	(void) http_reply_header(req, "Set-Cookie", cookie);
	(void) http_reply_header(req, "Location", "/");
	(void) http_reply_header(req, "Cache-Control", "no-store");
	http_respond(req, 303, "text/plain; charset=utf-8", "", 0);
}

int
http_views_register(struct http_server *srv, const struct http_views *hv)
{
	int rv;

	if ((rv = http_handle(srv, "GET", "/metrics", get_metrics,
	                      (void *) hv)) != HBMON_OK ||
	    (rv = http_handle(srv, "GET", "/", get_page, (void *) hv)) !=
	        HBMON_OK) {
		return rv;
	}
	return http_handle(srv, "POST", "/login", post_login, (void *) hv);
}
