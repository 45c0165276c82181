/* HTTP POST and GET over libcurl. */
#include "notify/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hbmon/error.h"

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_response *resp = arg;
	size_t n = size * nmemb;

	if (resp->body.len < HTTP_BODY_MAX) {
		size_t room = HTTP_BODY_MAX - resp->body.len;
		strbuf_add(&resp->body, data, n < room ? n : room);
	}
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_response *resp = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) &&
	    strncasecmp(data, name, sizeof(name) - 1) == 0) {
		char value[32];
		size_t len = n - (sizeof(name) - 1);
		char *end;
		long s;

		if (len >= sizeof(value)) {
			len = sizeof(value) - 1;
		}
		memcpy(value, data + sizeof(name) - 1, len);
		value[len] = '\0';
		s = strtol(value, &end, 10);
		/* Only the seconds form; an HTTP date gets the backoff. */
		if (end != value && s > 0 && s < 86400) {
			resp->retry_after_ms = (int64_t) s * 1000;
		}
	}
	return n;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
	const atomic_bool *stop = arg;

	(void) dltotal;
	(void) dlnow;
	(void) ultotal;
	(void) ulnow;
	return stop != NULL && atomic_load(stop) ? 1 : 0;
}

/*
 * Runs the request set up on curl (method, body, headers) against url with
 * what every request shares: bounded time, http(s) only, no redirects, the
 * stop flag; maps the outcome as http_post says.
 */
static int
perform(CURL *curl, const char *url, int64_t timeout_ms,
        const atomic_bool *stop, struct http_response *resp, char *why,
        size_t why_len)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int rv = HBMON_OK;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *) stop);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "hbmon-notify");
	rc = curl_easy_perform(curl);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	switch (rc) {
	case CURLE_OK:
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(why, why_len, "no answer within %lld ms",
		         (long long) timeout_ms);
		rv = HBMON_ETIMEDOUT;
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(why, why_len, "stopped while sending");
		rv = HBMON_ECLOSED;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(why, why_len, "%s", curl_easy_strerror(rc));
		rv = HBMON_EINVAL;
		break;
	default:
		snprintf(why, why_len, "%s%s%s", curl_easy_strerror(rc),
		         errbuf[0] != '\0' ? ": " : "", errbuf);
		rv = HBMON_EUNAVAIL;
		break;
	}
	return rv;
}

int
http_post(CURL *curl, const struct http_request *req,
          struct http_response *resp, char *why, size_t why_len)
{
	struct curl_slist *headers = NULL, *h;
	int rv;

	memset(resp, 0, sizeof(*resp));
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL;
	     i++) {
		if ((h = curl_slist_append(headers, req->headers[i])) == NULL) {
			curl_slist_free_all(headers);
			snprintf(why, why_len, "out of memory");
			return HBMON_EUNAVAIL;
		}
		headers = h;
	}
	/* curl sends "Expect: 100-continue" for larger bodies; it only adds
	 * a round trip. */
	if ((h = curl_slist_append(headers, "Expect:")) != NULL) {
		headers = h;
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
	                 (curl_off_t) req->body_len);
	rv = perform(curl, req->url, req->timeout_ms, req->stop, resp, why,
	             why_len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	return rv;
}

int
http_get(CURL *curl, const char *url, int64_t timeout_ms,
         const atomic_bool *stop, struct http_response *resp, char *why,
         size_t why_len)
{
	memset(resp, 0, sizeof(*resp));
	curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	return perform(curl, url, timeout_ms, stop, resp, why, why_len);
}

void
http_response_free(struct http_response *resp)
{
	strbuf_free(&resp->body);
}

void
http_scrub(char *text, const char *secret)
{
	size_t n = secret != NULL ? strlen(secret) : 0;
	char *p;

	if (n == 0) {
		return;
	}
	while ((p = strstr(text, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

int
http_url_check(const char *url, char *why, size_t why_len)
{
	CURLU *u = curl_url();
	CURLUcode uc;
	char *port = NULL;
	int rv = HBMON_OK;

	if (u == NULL) {
		return HBMON_ENOMEM;
	}
	for (const char *p = url; *p != '\0'; p++) {
		if ((unsigned char) *p <= 0x20 || *p == 0x7f) {
			snprintf(why, why_len,
			         "the URL holds a space or a "
			         "control character");
			rv = HBMON_EINVAL;
			goto done;
		}
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		snprintf(why, why_len, "not a URL curl can use: %s",
		         curl_url_strerror(uc));
		rv = HBMON_EINVAL;
		goto done;
	}
	/* curl takes port 0; nothing listens there. */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    strcmp(port, "0") == 0) {
		snprintf(why, why_len, "port 0 is not a port to send to");
		rv = HBMON_EINVAL;
	}
done:
	curl_free(port);
	curl_url_cleanup(u);
	return rv;
}

void
http_url_origin(const char *url, char *buf, size_t buf_len)
{
	const char *sep = strstr(url, "://");
	const char *host = sep != NULL ? sep + 3 : url;
	size_t len = strcspn(host, "/?#");
	const char *at;

	/* No user:password@ either. */
	while ((at = memchr(host, '@', len)) != NULL) {
		len -= (size_t) (at + 1 - host);
		host = at + 1;
	}
	snprintf(buf, buf_len, "%.*s%.*s",
	         (int) (sep != NULL ? sep + 3 - url : 0), url, (int) len, host);
}
