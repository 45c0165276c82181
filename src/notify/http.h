/*
 * One HTTP request with libcurl: a POST for the Telegram and webhook
 * sinks, a GET for the dead man's switch (deadman.h). Both have bounded
 * time, no redirects, certificate checks on, aborted when the notifier
 * stops, and error sentences that never carry the URL (a bot token or a
 * webhook's secret path lives in it).
 */
#ifndef HBMON_NOTIFY_HTTP_H
#define HBMON_NOTIFY_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/strbuf.h"

struct http_request {
	const char *url;
	const char *const *headers; /* "Name: value", NULL-terminated; NULL */
	const char *body;
	size_t body_len;
	int64_t timeout_ms;
	const atomic_bool *stop; /* may be NULL */
};

struct http_response {
	long status;            /* 0: no response */
	struct strbuf body;     /* the first HTTP_BODY_MAX bytes */
	int64_t retry_after_ms; /* a Retry-After header in seconds; 0: none */
};

#define HTTP_BODY_MAX (64 * 1024)

/*
 * POSTs req with curl (an easy handle the caller keeps, so connections are
 * reused). resp: filled; release with http_response_free (also on
 * failure). why: on failure a sentence such as "timed out after 10 s" or
 * "cannot connect: Connection refused", without the URL.
 * Returns HBMON_OK when a response arrived (any status), HBMON_ETIMEDOUT,
 * HBMON_EUNAVAIL (could not connect or the connection broke),
 * HBMON_EINVAL (curl refuses the URL or TLS setup), or HBMON_ECLOSED
 * (stopped).
 */
int http_post(CURL *curl, const struct http_request *req,
              struct http_response *resp, char *why, size_t why_len);

/*
 * GETs url as http_post POSTs (same limits, errors and return values);
 * for pinging a dead man's switch.
 */
int http_get(CURL *curl, const char *url, int64_t timeout_ms,
             const atomic_bool *stop, struct http_response *resp, char *why,
             size_t why_len);

/* Frees the response body. */
void http_response_free(struct http_response *resp);

/* Replaces every occurrence of secret in text with "***". */
void http_scrub(char *text, const char *secret);

/*
 * Checks that curl can use url as it stands (host, a port 1..65535, no
 * spaces or control characters), so that a typo is bad configuration at
 * start-up, not a send that fails forever. why: "port: Port number was not
 * a decimal number between 0 and 65535"-like, never the URL itself.
 * Returns HBMON_OK, HBMON_EINVAL or HBMON_ENOMEM.
 */
int http_url_check(const char *url, char *why, size_t why_len);

/* The scheme and host of url ("https://api.telegram.org"), for logs. */
void http_url_origin(const char *url, char *buf, size_t buf_len);

#endif
