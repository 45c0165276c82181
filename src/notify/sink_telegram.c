/*
 * Telegram: Bot API sendMessage, parse_mode HTML.
 *
 * Outcomes: 200 with "ok": true is delivered. 429 waits the answer's
 * parameters.retry_after (or its Retry-After header). 5xx, timeouts and
 * broken connections are retried with backoff; a redirect is a
 * configuration error (telegram.api points somewhere else). 400 is first
 * retried at once as plain text (the markup of an operator's template may be
 * what Telegram refuses); 400 again, 401, 403, 404 and other 4xx are
 * configuration errors (bad token, unknown chat, bot blocked or not in the
 * group): SINK_REJECTED, which the framework logs as an error, reports as
 * degraded health and keeps retrying every retry_max, since only a person
 * can fix it and no alert may be dropped meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "hbmon/error.h"
#include "notify/html.h"
#include "notify/http.h"
#include "notify/sink.h"

#define TEXT_LIMIT 4096 /* Telegram's limit for one message */
#define BATCH_MAX  50
#define TOKEN_MAX  256

struct telegram {
	CURL *curl;
	char url[2048]; /* holds the token: never logged */
	char token[TOKEN_MAX];
	char chat_id[128];
	int64_t timeout_ms;
	const struct message_set *messages;
	const atomic_bool *stop;
};

static int
telegram_open(const struct sink_env *env, void **out, char *why, size_t why_len)
{
	const struct notify_settings *s = env->settings;
	struct telegram *t = calloc(1, sizeof(*t));
	char origin[256];
	int rv;

	if (t == NULL) {
		return HBMON_ENOMEM;
	}
	if (s->telegram_chat_id[0] == '\0') {
		snprintf(why, why_len,
		         "telegram: no chat: set HBMON_TELEGRAM_CHAT_ID or "
		         "telegram.chat_id");
		rv = HBMON_EINVAL;
		goto fail;
	}
	if ((rv = notify_secret(s->telegram_token_file, "HBMON_TELEGRAM_TOKEN",
	                        t->token, sizeof(t->token), why, why_len)) !=
	    HBMON_OK) {
		char inner[400];
		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, why_len, "telegram: bot token: %s", inner);
		goto fail;
	}
	if (strspn(t->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
	                     "xyz0123456789:_-") != strlen(t->token)) {
		snprintf(why, why_len,
		         "telegram: the bot token holds characters a token "
		         "never has (expected digits, ':' and letters)");
		rv = HBMON_EINVAL;
		goto fail;
	}
	if (strncmp(s->telegram_api, "https://", 8) != 0 &&
	    strncmp(s->telegram_api, "http://", 7) != 0) {
		snprintf(why, why_len,
		         "telegram.api: '%s' is not an http(s):// URL",
		         s->telegram_api);
		rv = HBMON_EINVAL;
		goto fail;
	}
	if ((rv = http_url_check(s->telegram_api, origin, sizeof(origin))) !=
	    HBMON_OK) {
		snprintf(why, why_len, "telegram.api: %s", origin);
		goto fail;
	}
	snprintf(t->url, sizeof(t->url), "%s%sbot%s/sendMessage",
	         s->telegram_api,
	         s->telegram_api[strlen(s->telegram_api) - 1] == '/' ? "" : "/",
	         t->token);
	snprintf(t->chat_id, sizeof(t->chat_id), "%s", s->telegram_chat_id);
	t->timeout_ms = s->telegram.timeout;
	t->messages = env->messages;
	t->stop = env->stop;
	if ((t->curl = curl_easy_init()) == NULL) {
		rv = HBMON_ENOMEM;
		goto fail;
	}
	http_url_origin(s->telegram_api, origin, sizeof(origin));
	if (strncmp(s->telegram_api, "http://", 7) == 0) {
		log_warn("telegram API without TLS: the bot token travels in "
		         "clear",
		         "api=%s", origin);
	}
	log_info("telegram sink ready", "api=%s chat_id=%s", origin,
	         t->chat_id);
	*out = t;
	return HBMON_OK;
fail:
	explicit_bzero(t->token, sizeof(t->token));
	free(t);
	return rv;
}

static void
telegram_close(void *arg)
{
	struct telegram *t = arg;

	if (t != NULL) {
		curl_easy_cleanup(t->curl);
		explicit_bzero(t->token, sizeof(t->token));
		explicit_bzero(t->url, sizeof(t->url));
		free(t);
	}
}

/* What Telegram said, from its JSON answer. */
struct answer {
	bool ok;
	long error_code;
	char description[256];
	int64_t retry_after_ms;
	long long migrate_to;
};

static void
parse_answer(const struct http_response *resp, struct answer *a)
{
	json_t *root = json_loads(strbuf_str(&resp->body), 0, NULL);
	json_t *params;
	const char *desc;

	memset(a, 0, sizeof(*a));
	a->retry_after_ms = resp->retry_after_ms;
	if (root == NULL) {
		return;
	}
	a->ok = json_is_true(json_object_get(root, "ok"));
	a->error_code =
	    (long) json_integer_value(json_object_get(root, "error_code"));
	desc = json_string_value(json_object_get(root, "description"));
	snprintf(a->description, sizeof(a->description), "%s",
	         desc != NULL ? desc : "");
	params = json_object_get(root, "parameters");
	if (json_is_object(params)) {
		json_int_t ra =
		    json_integer_value(json_object_get(params, "retry_after"));
		if (ra > 0 && ra < 86400) {
			a->retry_after_ms = (int64_t) ra * 1000;
		}
		a->migrate_to = (long long) json_integer_value(
		    json_object_get(params, "migrate_to_chat_id"));
	}
	json_decref(root);
}

/*
 * Posts one text. Returns HBMON_OK with *status and *a filled when
 * Telegram answered; otherwise the http_post error with why.
 */
static int
post(struct telegram *t, const char *text, bool html, long *status,
     struct answer *a, char *why, size_t why_len)
{
	static const char *const headers[] = { "Content-Type: application/json",
		                               NULL };
	json_t *msg = json_pack("{s:s, s:s, s:b}", "chat_id", t->chat_id,
	                        "text", text, "disable_web_page_preview", 1);
	struct http_request req = { 0 };
	struct http_response resp;
	char *body;
	int rv;

	if (msg != NULL && html) {
		json_object_set_new(msg, "parse_mode", json_string("HTML"));
	}
	body = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (body == NULL) {
		snprintf(why, why_len, "out of memory");
		return HBMON_EUNAVAIL;
	}
	req.url = t->url;
	req.headers = headers;
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_ms = t->timeout_ms;
	req.stop = t->stop;
	rv = http_post(t->curl, &req, &resp, why, why_len);
	free(body);
	if (rv == HBMON_OK) {
		*status = resp.status;
		parse_answer(&resp, a);
	}
	http_response_free(&resp);
	http_scrub(why, t->token);
	return rv;
}

static void
telegram_send(void *arg, const Hbmon__V1__Alert *const *alerts, size_t n,
              struct sink_result *out)
{
	struct telegram *t = arg;
	struct strbuf text = STRBUF_INIT, plain = STRBUF_INIT;
	struct answer a;
	size_t taken = 1;
	long status = 0;
	char why[400] = "";
	int rv;

	message_telegram(t->messages, alerts, n, TEXT_LIMIT, &text, &taken);
	if (!strbuf_ok(&text)) {
		sink_fail(out, SINK_RETRY, "out of memory formatting");
		goto done;
	}
	rv = post(t, strbuf_str(&text), true, &status, &a, why, sizeof(why));
	if (rv == HBMON_OK && status == 400) {
		/* Perhaps only the markup is refused: say it without. */
		log_warn("telegram refused the HTML message; sending it as "
		         "plain text",
		         "description=%s", a.description);
		html_to_text(strbuf_str(&text), &plain);
		rv = post(t, strbuf_str(&plain), false, &status, &a, why,
		          sizeof(why));
	}
	http_scrub(a.description, t->token);
	if (rv == HBMON_ECLOSED || rv == HBMON_ETIMEDOUT ||
	    rv == HBMON_EUNAVAIL) {
		sink_fail(out, SINK_RETRY, "telegram: %s", why);
	} else if (rv != HBMON_OK) {
		sink_fail(out, SINK_REJECTED, "telegram: %s", why);
	} else if (status >= 200 && status < 300 && a.ok) {
		out->verdict = SINK_SENT;
		out->taken = taken;
	} else if (status == 429) {
		sink_fail(out, SINK_RETRY, "telegram: 429 %s", a.description);
		out->retry_after_ms =
		    a.retry_after_ms > 0 ? a.retry_after_ms : 1000;
	} else if (status >= 300 && status < 400) {
		sink_fail(out, SINK_REJECTED,
		          "telegram: HTTP %ld: redirects are not followed; "
		          "check telegram.api",
		          status);
	} else if (status >= 500 || status == 408 || status < 300) {
		/* 5xx, or a 2xx without "ok": Telegram having trouble. */
		sink_fail(out, SINK_RETRY, "telegram: HTTP %ld %s", status,
		          a.description);
		out->retry_after_ms = a.retry_after_ms;
	} else if (a.migrate_to != 0) {
		sink_fail(out, SINK_REJECTED,
		          "telegram: HTTP %ld %s: the group became a "
		          "supergroup; set telegram.chat_id to %lld",
		          status, a.description, a.migrate_to);
	} else {
		sink_fail(out, SINK_REJECTED,
		          "telegram: HTTP %ld %s (check the bot token, the "
		          "chat id, and that the bot may post in the chat)",
		          status, a.description);
	}
done:
	strbuf_free(&text);
	strbuf_free(&plain);
}

const struct sink_ops sink_telegram = {
	.name = "telegram",
	.batch_max = BATCH_MAX,
	.needs_messages = true,
	.open = telegram_open,
	.send = telegram_send,
	.close = telegram_close,
};
