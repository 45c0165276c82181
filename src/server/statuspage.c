/* The status page's HTML; see statuspage.h. */
#include "server/statuspage.h"

#include <inttypes.h>
#include <string.h>

#include "common/duration.h"
#include "common/rfc3339.h"
#include "common/utf8.h"
#include "common/words.h"
#include "server/health.h"

#define L(x) HBMON__V1__LIVENESS__LIVENESS_##x

/* Small enough for a phone, no asset from anywhere: the system's fonts. */
static const char style[] =
    "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;"
    "margin:0 auto;max-width:60rem;padding:.5rem 1rem;color:#1b1b1b;"
    "background:#fafafa;line-height:1.35}"
    "h1{font-size:1.4rem;margin:.4rem 0}"
    "h2{font-size:1.1rem;margin:1.2rem 0 .4rem;border-bottom:1px solid "
    "#ccc}"
    "h3{font-size:1rem;margin:.8rem 0 .2rem}"
    ".bar{padding:.4rem .6rem;border-radius:.3rem}"
    ".healthy,.ok{background:#e3f4e1}.degraded,.late,.warning{background:"
    "#fff2c6}.unhealthy,.down,.critical{background:#fbd9d6}"
    ".paused,.unknown,.info{background:#e6e9f0}"
    ".tag{display:inline-block;padding:0 .4rem;border-radius:.3rem;"
    "font-size:.85rem;white-space:nowrap}"
    "ul{list-style:none;padding:0;margin:0}"
    "li{margin:.3rem 0;padding:.4rem .6rem;border-radius:.3rem}"
    ".wrap{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;font-size:.9rem}"
    "th,td{text-align:left;padding:.2rem .4rem;border-bottom:1px solid "
    "#e2e2e2;white-space:nowrap}"
    ".muted,footer{color:#5f5f5f;font-size:.85rem}"
    "footer{margin:1.5rem 0 .5rem}";

void
statuspage_escape(struct strbuf *out, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode((const uint8_t *) s + i, n - i, &cp);

		if (len == 0) {
			strbuf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		switch (cp) {
		case '&':
			strbuf_adds(out, "&amp;");
			break;
		case '<':
			strbuf_adds(out, "&lt;");
			break;
		case '>':
			strbuf_adds(out, "&gt;");
			break;
		case '"':
			strbuf_adds(out, "&quot;");
			break;
		case '\'':
			strbuf_adds(out, "&#39;");
			break;
		default:
			if (cp < 0x20 || cp == 0x7f) {
				strbuf_adds(out, "\xef\xbf\xbd");
			} else {
				strbuf_add(out, s + i, len);
			}
		}
		i += len;
	}
}

static const char *
liveness_word(int liveness)
{
	const char *w = words_liveness((Hbmon__V1__Liveness) liveness);

	return w != NULL ? w : "unknown";
}

/* The reported status word of s, or "never heard". */
static const char *
status_word(const struct statuspage_subject *s)
{
	const char *w =
	    s->account[0] == '\0'
	        ? words_health((Hbmon__V1__HealthStatus) s->status)
	        : words_account((Hbmon__V1__AccountStatus) s->status);

	return w != NULL ? w : "never heard";
}

/* "42 s ago" with the UTC time as its title, or "never". */
static void
add_ago(struct strbuf *out, int64_t now_ms, int64_t at_ms)
{
	char ago[32], at[RFC3339_MAX];

	if (at_ms <= 0) {
		strbuf_adds(out, "never");
		return;
	}
	duration_human(now_ms > at_ms ? now_ms - at_ms : 0, ago, sizeof(ago));
	if (rfc3339_format(at_ms, 0, at, sizeof(at)) != 0) {
		at[0] = '\0';
	}
	strbuf_addf(out, "<span title=\"%s\">%s ago</span>", at, ago);
}

/* "R1" or "R1/ACC_003", escaped. */
static void
add_subject_name(struct strbuf *out, const char *robot, const char *account)
{
	statuspage_escape(out, robot);
	if (account[0] != '\0') {
		strbuf_addc(out, '/');
		statuspage_escape(out, account);
	}
}

static void
add_liveness(struct strbuf *out, int liveness)
{
	const char *w = liveness_word(liveness);

	strbuf_addf(out, "<span class=\"tag %s\">%s</span>", w, w);
}

static void
render_head(struct strbuf *out, const struct statuspage *p, size_t down)
{
	strbuf_adds(out,
	            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	            "<meta charset=\"utf-8\">\n"
	            "<meta name=\"viewport\" content=\"width=device-width, "
	            "initial-scale=1\">\n");
	if (p->refresh_s > 0) {
		strbuf_addf(out,
		            "<meta http-equiv=\"refresh\" content=\"%d\">\n",
		            p->refresh_s);
	}
	strbuf_addf(out, "<title>hbmon: %zu down, %zu open alert%s</title>\n",
	            down, p->n_alerts + p->alerts_hidden,
	            p->n_alerts + p->alerts_hidden == 1 ? "" : "s");
	strbuf_addf(out, "<style>%s</style>\n</head>\n<body>\n", style);
}

static void
render_health(struct strbuf *out, const struct statuspage *p)
{
	static const char *const levels[] = { "unknown", "healthy", "degraded",
		                              "unhealthy" };
	const char *level = p->health_level >= HEALTH_HEALTHY &&
	                            p->health_level <= HEALTH_UNHEALTHY
	                        ? levels[p->health_level]
	                        : levels[0];
	char at[RFC3339_MAX];

	if (rfc3339_format(p->now_ms, 0, at, sizeof(at)) != 0) {
		at[0] = '\0';
	}
	strbuf_addf(out,
	            "<header>\n<h1>hbmon</h1>\n"
	            "<p id=\"server\" class=\"bar %s\">Server %s",
	            level, level);
	if (p->health_problem[0] != '\0') {
		strbuf_adds(out, ": ");
		statuspage_escape(out, p->health_problem);
	}
	strbuf_adds(out, "</p>\n<p class=\"muted\">hbmon-server ");
	statuspage_escape(out, p->version != NULL ? p->version : "");
	strbuf_addf(out, " &middot; as of %s</p>\n</header>\n", at);
}

static void
render_alerts(struct strbuf *out, const struct statuspage *p)
{
	strbuf_addf(out,
	            "<section id=\"alerts\">\n<h2>Open alerts (%zu)</h2>\n",
	            p->n_alerts + p->alerts_hidden);
	if (!p->alerts_known) {
		strbuf_adds(out, "<p class=\"bar unhealthy\">The server cannot "
		                 "read its database: open alerts are not "
		                 "shown.</p>\n</section>\n");
		return;
	}
	if (p->n_alerts == 0) {
		strbuf_adds(out, "<p class=\"muted\">None.</p>\n</section>\n");
		return;
	}
	strbuf_adds(out, "<ul>\n");
	for (size_t i = 0; i < p->n_alerts; i++) {
		const struct statuspage_alert *a = &p->alerts[i];
		const char *sev =
		    words_severity((Hbmon__V1__Severity) a->severity);
		const char *kind =
		    words_alert_kind((Hbmon__V1__AlertKind) a->kind);

		sev = sev != NULL ? sev : "info";
		strbuf_addf(out, "<li class=\"%s\"><b>%s</b> %s <b>", sev, sev,
		            kind != NULL ? kind : "ALERT");
		if (a->robot[0] != '\0') {
			add_subject_name(out, a->robot, a->account);
		} else {
			strbuf_adds(out, "server");
		}
		strbuf_adds(out, "</b><br>");
		statuspage_escape(out, a->summary);
		strbuf_adds(out, "<br><span class=\"muted\">since ");
		add_ago(out, p->now_ms, a->opened_ms);
		strbuf_addf(out, " &middot; alert %" PRIu64, a->seq);
		if (a->repeats > 0) {
			strbuf_addf(out,
			            " &middot; repeated %" PRIu32 "&times;",
			            a->repeats);
		}
		if (a->acked_ms > 0) {
			strbuf_adds(out, " &middot; acknowledged");
			if (a->acked_by[0] != '\0') {
				strbuf_adds(out, " by ");
				statuspage_escape(out, a->acked_by);
			}
		}
		strbuf_adds(out, "</span></li>\n");
	}
	strbuf_adds(out, "</ul>\n");
	if (p->alerts_hidden > 0) {
		strbuf_addf(out,
		            "<p class=\"muted\">%zu more: <code>hbctl alerts"
		            "</code> lists every alert.</p>\n",
		            p->alerts_hidden);
	}
	strbuf_adds(out, "</section>\n");
}

static void
render_paused(struct strbuf *out, const struct statuspage *p)
{
	if (p->n_paused == 0) {
		return;
	}
	strbuf_addf(out,
	            "<section id=\"paused\">\n<h2>Paused (%zu)</h2>\n<ul>\n",
	            p->n_paused);
	for (size_t i = 0; i < p->n_paused; i++) {
		const struct statuspage_subject *s = &p->paused[i];
		char left[32];

		duration_human(s->paused_until_ms - p->now_ms, left,
		               sizeof(left));
		strbuf_adds(out, "<li class=\"paused\"><b>");
		add_subject_name(out, s->robot, s->account);
		strbuf_addf(out, "</b> for %s more", left);
		if (s->pause_reason[0] != '\0') {
			strbuf_adds(out, ": ");
			statuspage_escape(out, s->pause_reason);
		}
		strbuf_adds(out, "</li>\n");
	}
	strbuf_adds(out, "</ul>\n</section>\n");
}

/* The table of a robot's accounts, subjects[from..to). */
static void
render_accounts(struct strbuf *out, const struct statuspage *p, size_t from,
                size_t to)
{
	if (from == to) {
		return;
	}
	strbuf_adds(out, "<div class=\"wrap\"><table>\n<tr><th>Account</th>"
	                 "<th>Liveness</th><th>Status</th><th>Session</th>"
	                 "<th>Orders</th><th>Last seen</th></tr>\n");
	for (size_t i = from; i < to; i++) {
		const struct statuspage_subject *a = &p->subjects[i];

		strbuf_adds(out, "<tr><td>");
		statuspage_escape(out, a->account);
		strbuf_adds(out, "</td><td>");
		add_liveness(out, a->liveness);
		strbuf_addf(
		    out, "</td><td>%s</td><td>%s</td><td>%" PRIu32 "</td><td>",
		    status_word(a),
		    a->status == 0 ? ""
		                   : (a->session_valid ? "valid" : "invalid"),
		    a->open_orders);
		add_ago(out, p->now_ms, a->last_seen_ms);
		strbuf_adds(out, "</td></tr>\n");
	}
	strbuf_adds(out, "</table></div>\n");
}

static void
render_robots(struct strbuf *out, const struct statuspage *p)
{
	strbuf_addf(out, "<section id=\"robots\">\n<h2>Robots (%zu)</h2>\n",
	            p->robots_total);
	if (p->n_subjects == 0) {
		strbuf_adds(out, "<p class=\"muted\">No robot yet: <code>hbctl "
		                 "robot add R1</code> registers one.</p>\n");
	}
	for (size_t i = 0; i < p->n_subjects;) {
		const struct statuspage_subject *r = &p->subjects[i];
		size_t end = i + 1;

		while (end < p->n_subjects &&
		       p->subjects[end].account[0] != '\0') {
			end++;
		}
		strbuf_adds(out, "<div class=\"robot\">\n<h3>");
		statuspage_escape(out, r->robot);
		strbuf_adds(out, " ");
		add_liveness(out, r->liveness);
		strbuf_addf(out,
		            "</h3>\n<p class=\"muted\">%s &middot; last "
		            "seen ",
		            status_word(r));
		add_ago(out, p->now_ms, r->last_seen_ms);
		if (r->misses > 0) {
			strbuf_addf(out,
			            " &middot; %" PRIu32 " interval%s missed",
			            r->misses, r->misses == 1 ? "" : "s");
		}
		strbuf_addf(out, " &middot; %" PRIu32 " account%s</p>\n",
		            r->n_accounts, r->n_accounts == 1 ? "" : "s");
		render_accounts(out, p, i + 1, end);
		strbuf_adds(out, "</div>\n");
		i = end;
	}
	if (p->robots_hidden > 0 || p->accounts_hidden > 0) {
		strbuf_addf(out,
		            "<p class=\"muted\">Not shown: %zu robots and %zu "
		            "accounts; <code>hbctl status</code> and "
		            "<code>hbctl accounts</code> list them all.</p>\n",
		            p->robots_hidden, p->accounts_hidden);
	}
	strbuf_adds(out, "</section>\n");
}

void
statuspage_render(const struct statuspage *p, struct strbuf *out)
{
	size_t down = 0;

	for (size_t i = 0; i < p->n_subjects; i++) {
		down += p->subjects[i].liveness == L(DOWN);
	}
	render_head(out, p, down);
	render_health(out, p);
	render_alerts(out, p);
	render_paused(out, p);
	render_robots(out, p);
	strbuf_adds(out, "<footer>");
	if (p->refresh_s > 0) {
		strbuf_addf(out, "This page refreshes every %d s. ",
		            p->refresh_s);
	}
	strbuf_adds(out, "hbmon only watches: nothing here can start, stop or "
	                 "steer trading.</footer>\n</body>\n</html>\n");
}

void
statuspage_login(struct strbuf *out, const char *notice)
{
	strbuf_adds(out,
	            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	            "<meta charset=\"utf-8\">\n"
	            "<meta name=\"viewport\" content=\"width=device-width, "
	            "initial-scale=1\">\n<title>hbmon: sign in</title>\n");
	strbuf_addf(out, "<style>%s</style>\n</head>\n<body>\n<h1>hbmon</h1>\n",
	            style);
	if (notice != NULL && notice[0] != '\0') {
		strbuf_adds(out, "<p class=\"bar unhealthy\">");
		statuspage_escape(out, notice);
		strbuf_adds(out, "</p>\n");
	}
	strbuf_adds(out,
	            "<form method=\"post\" action=\"/login\">\n"
	            "<p><label for=\"token\">Status token</label><br>\n"
	            "<input id=\"token\" name=\"token\" type=\"password\" "
	            "autocomplete=\"current-password\" size=\"40\" "
	            "required></p>\n<p><button type=\"submit\">Show the "
	            "status</button></p>\n</form>\n<p class=\"muted\">"
	            "<code>hbmon-server --status-token</code> prints it on the "
	            "server (docs/http.md).</p>\n</body>\n</html>\n");
}
