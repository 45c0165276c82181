/*
 * E-mail over SMTP with libcurl: smtps:// (TLS from the start) or smtp://
 * with STARTTLS required (email.tls = none allows plain SMTP, for a local
 * relay or tests). One mail per send, to every recipient at once; a burst
 * that queued up behind the rate limit goes as one mail.
 *
 * The subject is RFC 2047 encoded and the body quoted-printable, so an
 * account name with CR/LF cannot add a header or a recipient; recipients
 * come only from the settings.
 *
 * Message-IDs are derived, never random: from the alert's episode (its
 * dedupe key), what the mail is in it (the first notice, repeat N, the
 * all-clear) and this notifier (name and language, so an English and an
 * Indonesian notifier never share one). A re-sent mail (after a crash) has
 * the same Message-ID, so mail clients fold duplicates, and a repeat or a
 * recovery names the first notice in In-Reply-To and References, also
 * after a restart, so they thread with it.
 *
 * Outcomes: delivered when the server accepted the DATA. A 5xx answer,
 * denied login, refused STARTTLS or a certificate that does not verify are
 * configuration errors (SINK_REJECTED: logged loudly, retried every
 * retry_max); everything else (4xx, timeouts, connections) is retried with
 * backoff.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "notify/http.h"
#include "notify/mime.h"
#include "notify/sink.h"

#define BATCH_MAX    100
#define RCPT_MAX     32
#define PASSWORD_MAX 512
#define REFS_MAX     10 /* first notices a coalesced mail refers to */

struct email {
	CURL *curl;
	char url[1024];
	char from[256];
	char to[RCPT_MAX][256];
	size_t n_to;
	char user[256];
	char password[PASSWORD_MAX];
	bool tls;
	uint64_t instance; /* hash of name and lang, in every Message-ID */
	int64_t timeout_ms;
	const struct message_set *messages;
	const atomic_bool *stop;
};

/* Splits the comma-separated list into e->to, checking each address. */
static int
parse_recipients(struct email *e, const char *list, char *why, size_t why_len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		const char *item = p;

		p += len;
		if (*p == ',') {
			p++;
		}
		while (len > 0 && (*item == ' ' || *item == '\t')) {
			item++;
			len--;
		}
		while (len > 0 &&
		       (item[len - 1] == ' ' || item[len - 1] == '\t')) {
			len--;
		}
		if (len == 0) {
			continue;
		}
		if (e->n_to == RCPT_MAX || len >= sizeof(e->to[0])) {
			snprintf(why, why_len,
			         "email.to: at most %d recipients of 255 "
			         "characters",
			         RCPT_MAX);
			return HBMON_EINVAL;
		}
		memcpy(e->to[e->n_to], item, len);
		e->to[e->n_to][len] = '\0';
		if (!mime_address_ok(e->to[e->n_to])) {
			snprintf(
			    why, why_len,
			    "email.to: '%s' is not an address (name@domain)",
			    e->to[e->n_to]);
			return HBMON_EINVAL;
		}
		e->n_to++;
	}
	if (e->n_to == 0) {
		snprintf(why, why_len,
		         "email: no recipients: set HBMON_SMTP_TO or email.to");
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

#define FNV_BASIS UINT64_C(14695981039346656037)

/* FNV-1a, 64 bits, continuing from h: short, stable names for episodes. */
static uint64_t
fnv1a(uint64_t h, const char *text)
{
	for (const unsigned char *p = (const unsigned char *) text;
	     p != NULL && *p != '\0'; p++) {
		h = (h ^ *p) * UINT64_C(1099511628211);
	}
	return h;
}

static bool
is_resolved(const Hbmon__V1__Alert *a)
{
	return a->state == HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED;
}

/* The Message-ID of the first notice of a's episode. */
static void
root_id(const struct email *e, const Hbmon__V1__Alert *a, const char *domain,
        struct strbuf *out)
{
	strbuf_addf(out, "<hbmon.%016" PRIx64 ".%016" PRIx64 "@%s>",
	            fnv1a(FNV_BASIS, a->dedupe_key), e->instance, domain);
}

/*
 * Message-ID, In-Reply-To and References of the mail for alerts[0..n).
 * One alert: the first notice is its episode's root; a repeat or the
 * all-clear has an ID of its own and refers to the root. Several: an ID
 * from every alert's episode and place in it, referring to the roots of
 * the repeats and all-clears among them (at most REFS_MAX).
 */
static void
thread_headers(const struct email *e, const Hbmon__V1__Alert *const *alerts,
               size_t n, const char *domain, struct strbuf *mail)
{
	const Hbmon__V1__Alert *a = alerts[0];
	struct strbuf refs = STRBUF_INIT;
	size_t n_refs = 0;

	strbuf_adds(mail, "Message-ID: ");
	if (n == 1 && a->repeat == 0 && !is_resolved(a)) {
		root_id(e, a, domain, mail);
	} else if (n == 1) {
		char place[32];
		if (is_resolved(a)) {
			snprintf(place, sizeof(place), "resolved");
		} else {
			snprintf(place, sizeof(place), "r%u", a->repeat);
		}
		strbuf_addf(mail, "<hbmon.%016" PRIx64 ".%s.%016" PRIx64 "@%s>",
		            fnv1a(FNV_BASIS, a->dedupe_key), place, e->instance,
		            domain);
	} else {
		uint64_t h = FNV_BASIS;
		char place[32];
		for (size_t i = 0; i < n; i++) {
			snprintf(place, sizeof(place), "/%u/%d",
			         alerts[i]->repeat, (int) alerts[i]->state);
			h = fnv1a(fnv1a(h, alerts[i]->dedupe_key), place);
		}
		strbuf_addf(mail,
		            "<hbmon.batch.%016" PRIx64 ".%016" PRIx64 "@%s>", h,
		            e->instance, domain);
	}
	strbuf_adds(mail, "\r\n");
	for (size_t i = 0; i < n && n_refs < REFS_MAX; i++) {
		if (alerts[i]->repeat == 0 && !is_resolved(alerts[i])) {
			continue;
		}
		if (n_refs > 0) {
			strbuf_adds(&refs, "\r\n ");
		}
		root_id(e, alerts[i], domain, &refs);
		n_refs++;
	}
	if (n_refs > 0) {
		strbuf_addf(mail, "In-Reply-To: %s\r\nReferences: %s\r\n",
		            strbuf_str(&refs), strbuf_str(&refs));
	}
	mail->failed |= refs.failed;
	strbuf_free(&refs);
}

static bool
loopback(const char *url)
{
	char origin[256];

	http_url_origin(url, origin, sizeof(origin));
	return strstr(origin, "://127.") != NULL ||
	       strstr(origin, "://localhost") != NULL ||
	       strstr(origin, "://[::1]") != NULL;
}

static int
email_open(const struct sink_env *env, void **out, char *why, size_t why_len)
{
	const struct notify_settings *s = env->settings;
	struct email *e = calloc(1, sizeof(*e));
	bool smtps;
	const char *authority;
	char origin[256];
	int rv = HBMON_EINVAL;

	if (e == NULL) {
		return HBMON_ENOMEM;
	}
	smtps = strncmp(s->email_url, "smtps://", 8) == 0;
	if (!smtps && strncmp(s->email_url, "smtp://", 7) != 0) {
		snprintf(why, why_len,
		         "email: set HBMON_SMTP_URL or email.url to "
		         "smtps://host[:465] or smtp://host[:587]");
		goto fail;
	}
	if (http_url_check(s->email_url, origin, sizeof(origin)) != HBMON_OK) {
		snprintf(why, why_len, "email.url: %s", origin);
		goto fail;
	}
	http_url_origin(s->email_url, origin, sizeof(origin));
	authority = s->email_url + (smtps ? 8 : 7);
	if (memchr(authority, '@', strcspn(authority, "/?#")) != NULL) {
		snprintf(why, why_len,
		         "email.url: no user or password in the URL; use "
		         "HBMON_SMTP_USER and HBMON_SMTP_PASSWORD_FILE");
		goto fail;
	}
	if (!mime_address_ok(s->email_from)) {
		snprintf(why, why_len,
		         "email: set HBMON_SMTP_FROM or email.from to the "
		         "sender's address (name@domain)");
		goto fail;
	}
	if ((rv = parse_recipients(e, s->email_to, why, why_len)) != HBMON_OK) {
		goto fail;
	}
	snprintf(e->url, sizeof(e->url), "%s", s->email_url);
	snprintf(e->from, sizeof(e->from), "%s", s->email_from);
	snprintf(e->user, sizeof(e->user), "%s", s->email_user);
	if (e->user[0] != '\0') {
		if ((rv = notify_secret(s->email_password_file,
		                        "HBMON_SMTP_PASSWORD", e->password,
		                        sizeof(e->password), why, why_len)) !=
		    HBMON_OK) {
			char inner[400];
			snprintf(inner, sizeof(inner), "%s", why);
			snprintf(why, why_len, "email: SMTP password: %s",
			         inner);
			goto fail;
		}
	}
	e->tls = smtps || s->email_tls == 0;
	if (!e->tls) {
		if (e->user[0] != '\0' && !loopback(e->url)) {
			snprintf(why, why_len,
			         "email: refusing to send the SMTP password "
			         "without TLS to %s; use smtps:// or "
			         "email.tls = required",
			         origin);
			rv = HBMON_EINVAL;
			goto fail;
		}
		log_warn("email without TLS (email.tls = none)", "server=%s",
		         origin);
	}
	e->instance = fnv1a(fnv1a(FNV_BASIS, s->name), "/");
	e->instance = fnv1a(e->instance, s->lang);
	e->timeout_ms = s->email.timeout;
	e->messages = env->messages;
	e->stop = env->stop;
	if ((e->curl = curl_easy_init()) == NULL) {
		rv = HBMON_ENOMEM;
		goto fail;
	}
	log_info("email sink ready", "server=%s recipients=%zu tls=%s", origin,
	         e->n_to,
	         smtps    ? "smtps"
	         : e->tls ? "starttls"
	                  : "none");
	*out = e;
	return HBMON_OK;
fail:
	explicit_bzero(e->password, sizeof(e->password));
	free(e);
	return rv;
}

static void
email_close(void *arg)
{
	struct email *e = arg;

	if (e != NULL) {
		curl_easy_cleanup(e->curl);
		explicit_bzero(e->password, sizeof(e->password));
		free(e);
	}
}

/* The mail, headers and body, CRLF line ends. */
static void
compose(struct email *e, const Hbmon__V1__Alert *const *alerts, size_t n,
        struct strbuf *mail)
{
	struct strbuf subject = STRBUF_INIT, body = STRBUF_INIT;
	const char *domain = strchr(e->from, '@') + 1;
	const char *sev = words_severity(alerts[0]->severity);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	message_email(e->messages, alerts, n, &subject, &body);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	strbuf_addf(mail, "Date: %s\r\n", date);
	strbuf_addf(mail, "From: hbmon-notify <%s>\r\n", e->from);
	strbuf_adds(mail, "To: ");
	for (size_t i = 0; i < e->n_to; i++) {
		strbuf_addf(mail, "%s<%s>", i > 0 ? ",\r\n " : "", e->to[i]);
	}
	strbuf_adds(mail, "\r\nSubject: ");
	mime_header_value(strbuf_str(&subject), mail);
	/* Only numbers, hashes and checked words go into the other
	 * headers. */
	strbuf_adds(mail, "\r\n");
	thread_headers(e, alerts, n, domain, mail);
	strbuf_adds(mail, "MIME-Version: 1.0\r\n"
	                  "Content-Type: text/plain; charset=UTF-8\r\n"
	                  "Content-Transfer-Encoding: quoted-printable\r\n"
	                  "Auto-Submitted: auto-generated\r\n");
	if (n == 1) {
		strbuf_addf(mail, "X-Hbmon-Seq: %" PRIu64 "\r\n",
		            alerts[0]->seq);
	} else {
		strbuf_addf(mail, "X-Hbmon-Seq: %" PRIu64 "-%" PRIu64 "\r\n",
		            alerts[0]->seq, alerts[n - 1]->seq);
	}
	if (n == 1 && sev != NULL) {
		strbuf_addf(mail, "X-Hbmon-Severity: %s\r\n", sev);
	}
	strbuf_adds(mail, "\r\n");
	mime_quoted_printable(strbuf_str(&body), mail);
	mail->failed |= subject.failed || body.failed;
	strbuf_free(&subject);
	strbuf_free(&body);
}

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->len - u->pos) {
		n = u->len - u->pos;
	}
	memcpy(buf, u->data + u->pos, n);
	u->pos += n;
	return n;
}

static int
on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const atomic_bool *stop = arg;

	(void) a;
	(void) b;
	(void) c;
	(void) d;
	return stop != NULL && atomic_load(stop) ? 1 : 0;
}

static void
email_send(void *arg, const Hbmon__V1__Alert *const *alerts, size_t n,
           struct sink_result *out)
{
	struct email *e = arg;
	struct strbuf mail = STRBUF_INIT;
	struct curl_slist *rcpt = NULL, *r;
	char from[300], errbuf[CURL_ERROR_SIZE] = "";
	struct upload up;
	long code = 0;
	CURLcode rc;

	compose(e, alerts, n, &mail);
	if (!strbuf_ok(&mail)) {
		sink_fail(out, SINK_RETRY, "out of memory formatting");
		strbuf_free(&mail);
		return;
	}
	for (size_t i = 0; i < e->n_to; i++) {
		char to[300];
		snprintf(to, sizeof(to), "<%s>", e->to[i]);
		if ((r = curl_slist_append(rcpt, to)) == NULL) {
			sink_fail(out, SINK_RETRY, "out of memory");
			curl_slist_free_all(rcpt);
			strbuf_free(&mail);
			return;
		}
		rcpt = r;
	}
	snprintf(from, sizeof(from), "<%s>", e->from);
	up.data = strbuf_str(&mail);
	up.len = mail.len;
	up.pos = 0;
	curl_easy_reset(e->curl);
	curl_easy_setopt(e->curl, CURLOPT_URL, e->url);
	curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_USE_SSL,
	                 e->tls ? (long) CURLUSESSL_ALL
	                        : (long) CURLUSESSL_NONE);
	if (e->user[0] != '\0') {
		curl_easy_setopt(e->curl, CURLOPT_USERNAME, e->user);
		curl_easy_setopt(e->curl, CURLOPT_PASSWORD, e->password);
	}
	curl_easy_setopt(e->curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(e->curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(e->curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(e->curl, CURLOPT_INFILESIZE_LARGE,
	                 (curl_off_t) up.len);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long) e->timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long) e->timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e->curl, CURLOPT_XFERINFODATA, (void *) e->stop);
	curl_easy_setopt(e->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(e->curl);
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(rcpt);
	strbuf_free(&mail);
	http_scrub(errbuf, e->password);
	if (rc == CURLE_OK) {
		out->verdict = SINK_SENT;
		out->taken = n;
	} else if (rc == CURLE_LOGIN_DENIED || rc == CURLE_USE_SSL_FAILED ||
	           rc == CURLE_PEER_FAILED_VERIFICATION ||
	           rc == CURLE_URL_MALFORMAT || (code >= 500 && code < 600)) {
		sink_fail(out, SINK_REJECTED, "smtp: %s%s%s (reply %ld)",
		          curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf,
		          code);
	} else {
		sink_fail(out, SINK_RETRY, "smtp: %s%s%s (reply %ld)",
		          curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf,
		          code);
	}
}

const struct sink_ops sink_email = {
	.name = "email",
	.batch_max = BATCH_MAX,
	.needs_messages = true,
	.open = email_open,
	.send = email_send,
	.close = email_close,
};
