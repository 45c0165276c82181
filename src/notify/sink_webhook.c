/*
 * Webhook: POSTs each alert as the JSON object of common/alert_json.h,
 * signed so the receiver can tell it came from this notifier and is fresh:
 *
 *   X-Hbmon-Timestamp: 1768900000                  (unix seconds)
 *   X-Hbmon-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 *   X-Hbmon-Seq: 12                                (for de-duplication)
 *
 * docs/notifiers.md has the verification recipe. 2xx is delivered; 408,
 * 425, 429 and 5xx are retried (honouring Retry-After in seconds), as are
 * timeouts and connection failures; redirects and other 4xx are
 * configuration errors (SINK_REJECTED).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "common/alert_json.h"
#include "common/clock.h"
#include "common/log.h"
#include "hbmon/error.h"
#include "notify/http.h"
#include "notify/sink.h"

#define SECRET_MAX 512

struct webhook {
	CURL *curl;
	char url[NOTIFY_URL_MAX]; /* may hold a secret path: never logged */
	char origin[256];
	char secret[SECRET_MAX];
	int64_t timeout_ms;
	const atomic_bool *stop;
	int tz_offset_min;
};

static int
webhook_open(const struct sink_env *env, void **out, char *why, size_t why_len)
{
	const struct notify_settings *s = env->settings;
	struct webhook *w = calloc(1, sizeof(*w));
	int rv = HBMON_EINVAL;

	if (w == NULL) {
		return HBMON_ENOMEM;
	}
	if (strncmp(s->webhook_url, "https://", 8) != 0 &&
	    strncmp(s->webhook_url, "http://", 7) != 0) {
		snprintf(why, why_len,
		         "webhook: set HBMON_WEBHOOK_URL or webhook.url to an "
		         "http(s):// URL");
		goto fail;
	}
	if (http_url_check(s->webhook_url, w->origin, sizeof(w->origin)) !=
	    HBMON_OK) {
		snprintf(why, why_len, "webhook.url: %s", w->origin);
		goto fail;
	}
	if ((rv = notify_secret(s->webhook_secret_file, "HBMON_WEBHOOK_SECRET",
	                        w->secret, sizeof(w->secret), why, why_len)) !=
	    HBMON_OK) {
		char inner[400];
		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, why_len,
		         "webhook: signing secret (HBMON_WEBHOOK_SECRET_FILE): "
		         "%s",
		         inner);
		goto fail;
	}
	snprintf(w->url, sizeof(w->url), "%s", s->webhook_url);
	http_url_origin(w->url, w->origin, sizeof(w->origin));
	w->timeout_ms = s->webhook.timeout;
	w->stop = env->stop;
	w->tz_offset_min = env->tz_offset_min;
	if ((w->curl = curl_easy_init()) == NULL) {
		rv = HBMON_ENOMEM;
		goto fail;
	}
	log_info("webhook sink ready", "to=%s", w->origin);
	*out = w;
	return HBMON_OK;
fail:
	explicit_bzero(w->secret, sizeof(w->secret));
	free(w);
	return rv;
}

static void
webhook_close(void *arg)
{
	struct webhook *w = arg;

	if (w != NULL) {
		curl_easy_cleanup(w->curl);
		explicit_bzero(w->secret, sizeof(w->secret));
		free(w);
	}
}

/* hex(HMAC-SHA256(secret, ts "." body)) into hex (65 bytes). */
static int
sign(const struct webhook *w, const char *ts, const char *body, char *hex)
{
	const mbedtls_md_info_t *md =
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t ctx;
	unsigned char mac[32];
	int rv;

	mbedtls_md_init(&ctx);
	rv = mbedtls_md_setup(&ctx, md, 1);
	rv = rv != 0 ? rv
	             : mbedtls_md_hmac_starts(&ctx,
	                                      (const unsigned char *) w->secret,
	                                      strlen(w->secret));
	rv = rv != 0 ? rv
	             : mbedtls_md_hmac_update(&ctx, (const unsigned char *) ts,
	                                      strlen(ts));
	rv = rv != 0
	         ? rv
	         : mbedtls_md_hmac_update(&ctx, (const unsigned char *) ".", 1);
	rv = rv != 0 ? rv
	             : mbedtls_md_hmac_update(
	                   &ctx, (const unsigned char *) body, strlen(body));
	rv = rv != 0 ? rv : mbedtls_md_hmac_finish(&ctx, mac);
	mbedtls_md_free(&ctx);
	for (size_t i = 0; i < sizeof(mac); i++) {
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	}
	explicit_bzero(mac, sizeof(mac));
	return rv == 0 ? HBMON_OK : HBMON_EINTERNAL;
}

static void
webhook_send(void *arg, const Hbmon__V1__Alert *const *alerts, size_t n,
             struct sink_result *out)
{
	struct webhook *w = arg;
	const Hbmon__V1__Alert *a = alerts[0];
	char ts[32], hex[65], sig_h[100], ts_h[64], seq_h[64], why[400] = "";
	const char *headers[] = { "Content-Type: application/json", ts_h, sig_h,
		                  seq_h, NULL };
	struct http_request req = { 0 };
	struct http_response resp;
	char *body;
	int rv;

	(void) n;
	body = alert_json_text(a, w->tz_offset_min);
	if (body == NULL) {
		sink_fail(out, SINK_RETRY, "out of memory formatting");
		return;
	}
	snprintf(ts, sizeof(ts), "%" PRId64, clock_wall_ms() / 1000);
	if (sign(w, ts, body, hex) != HBMON_OK) {
		free(body);
		sink_fail(out, SINK_RETRY, "webhook: cannot compute HMAC");
		return;
	}
	snprintf(ts_h, sizeof(ts_h), "X-Hbmon-Timestamp: %s", ts);
	snprintf(sig_h, sizeof(sig_h), "X-Hbmon-Signature: sha256=%s", hex);
	snprintf(seq_h, sizeof(seq_h), "X-Hbmon-Seq: %" PRIu64, a->seq);
	req.url = w->url;
	req.headers = headers;
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_ms = w->timeout_ms;
	req.stop = w->stop;
	rv = http_post(w->curl, &req, &resp, why, sizeof(why));
	free(body);
	if (rv == HBMON_EINVAL) {
		sink_fail(out, SINK_REJECTED, "webhook %s: %s", w->origin, why);
	} else if (rv != HBMON_OK) {
		sink_fail(out, SINK_RETRY, "webhook %s: %s", w->origin, why);
	} else if (resp.status >= 200 && resp.status < 300) {
		out->verdict = SINK_SENT;
		out->taken = 1;
	} else if (resp.status >= 500 || resp.status == 408 ||
	           resp.status == 425 || resp.status == 429) {
		sink_fail(out, SINK_RETRY, "webhook %s: HTTP %ld", w->origin,
		          resp.status);
		out->retry_after_ms = resp.retry_after_ms;
	} else {
		sink_fail(out, SINK_REJECTED,
		          "webhook %s: HTTP %ld (redirects are not followed; "
		          "check the URL and the receiver's secret)",
		          w->origin, resp.status);
	}
	http_response_free(&resp);
}

const struct sink_ops sink_webhook = {
	.name = "webhook",
	.batch_max = 1,
	.needs_messages = false,
	.open = webhook_open,
	.send = webhook_send,
	.close = webhook_close,
};
