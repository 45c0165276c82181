/*
 * hbmon-notify's modules on their own: templates and escaping, Telegram
 * HTML cutting, MIME encodings, the message sets, the cursor file, the
 * contact state (SERVER_UNREACHABLE), backoff and rate limit.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "common/tz.h"
#include "hbmon/error.h"
#include "notify/backoff.h"
#include "notify/contact.h"
#include "notify/cursor.h"
#include "notify/html.h"
#include "notify/message.h"
#include "notify/mime.h"
#include "notify/ratelimit.h"
#include "notify/template.h"
#include "notify_support.h"

#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SEV(x) HBMON__V1__SEVERITY__SEVERITY_##x
#define ST(x)  HBMON__V1__ALERT_STATE__ALERT_STATE_##x

static const char *const names[] = { "a", "b", "list", NULL };

static char *
render(const char *text, enum tpl_escape esc, const char *a, const char *b)
{
	struct tpl_var v[] = { { "a", a }, { "b", b } };
	struct tpl_vars vars = { v, 2 };
	struct strbuf out = STRBUF_INIT;
	struct tpl *t;
	char why[256];

	cr_assert_eq(tpl_parse(text, "t", names, &t, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	tpl_render(t, &vars, esc, &out);
	tpl_free(t);
	cr_assert(strbuf_ok(&out));
	return strbuf_take(&out);
}

Test(template, values_sections_and_standalone_lines)
{
	char *s;

	s = render("x={{a}} y={{ b }}", TPL_TEXT, "1", "two");
	cr_assert_str_eq(s, "x=1 y=two");
	free(s);
	s = render("{{#a}}A:{{a}}{{/a}}{{^a}}none{{/a}}|", TPL_TEXT, "", "");
	cr_assert_str_eq(s, "none|");
	free(s);
	s = render("{{#a}}A:{{a}}{{/a}}", TPL_TEXT, "0", "");
	cr_assert_str_eq(s, "", "\"0\" counts as not set");
	free(s);
	/* A section tag alone on its line takes the line with it. */
	s = render("top\n{{#a}}\nmid {{a}}\n{{/a}}\n{{! note }}\nend\n",
	           TPL_TEXT, "v", "");
	cr_assert_str_eq(s, "top\nmid v\nend\n");
	free(s);
	s = render("top\n  {{#a}}\nmid\n{{/a}}\nend", TPL_TEXT, "", "");
	cr_assert_str_eq(s, "top\nend");
	free(s);
}

Test(template, parse_errors_name_file_and_line)
{
	struct tpl *t = NULL;
	char why[256];

	cr_assert_eq(tpl_parse("ok\n{{sumary}}", "en/x.html", names, &t, why,
	                       sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_str_eq(why, "en/x.html:2: unknown placeholder {{sumary}}");
	cr_assert_eq(tpl_parse("{{#a}}open", "f", names, &t, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "no {{/a}}") != NULL, "%s", why);
	cr_assert_eq(
	    tpl_parse("{{#a}}{{/b}}", "f", names, &t, why, sizeof(why)),
	    HBMON_EINVAL);
	cr_assert_eq(tpl_parse("{{a", "f", names, &t, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_eq(tpl_parse("{{A B}}", "f", names, &t, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert_null(t);
}

Test(template, values_cannot_break_lines_markup_or_direction)
{
	char *s = render("<b>{{a}}</b>", TPL_HTML,
	                 "ACC\r\nBcc: x@y <i>&\"\xe2\x80\xae\x1b", "");

	cr_assert_str_eq(s, "<b>ACC\\r\\nBcc: x@y &lt;i&gt;&amp;&quot;"
	                    "\\u202e\\x1b</b>");
	free(s);
	s = render("{{a}}", TPL_TEXT, "a\tb<c>\xff", "");
	cr_assert_str_eq(s, "a\\tb<c>\xef\xbf\xbd");
	free(s);
}

Test(html, truncate_keeps_tags_entities_and_characters_whole)
{
	const char *html = "<b>bold &amp; long</b> <i>caf\xc3\xa9 text</i>";
	struct strbuf out = STRBUF_INIT;

	for (size_t limit = 12; limit < strlen(html); limit++) {
		const char *s;
		strbuf_truncate(&out, 0);
		html_truncate(html, strlen(html), limit, &out);
		s = strbuf_str(&out);
		cr_assert_leq(out.len, limit, "limit %zu: %s", limit, s);
		/* Every open tag is closed, no entity is cut. */
		cr_assert_eq(strstr(s, "<b>") != NULL,
		             strstr(s, "</b>") != NULL, "%s", s);
		cr_assert_eq(strstr(s, "<i>") != NULL,
		             strstr(s, "</i>") != NULL, "%s", s);
		cr_assert(strstr(s, "&am") == NULL ||
		              strstr(s, "&amp;") != NULL,
		          "%s", s);
		cr_assert(strstr(s, "\xe2\x80\xa6") != NULL, "%s", s);
		cr_assert(strstr(s, "caf\xc3") == NULL ||
		              strstr(s, "caf\xc3\xa9") != NULL,
		          "%s", s);
	}
	strbuf_truncate(&out, 0);
	html_truncate(html, strlen(html), 1000, &out);
	cr_assert_str_eq(strbuf_str(&out), html);
	strbuf_truncate(&out, 0);
	html_to_text("<b>a &lt;b&gt; &amp; &quot;x&quot; &#233;</b>", &out);
	cr_assert_str_eq(strbuf_str(&out), "a <b> & \"x\" \xc3\xa9");
	strbuf_free(&out);
}

Test(mime, header_values_are_one_line)
{
	struct strbuf out = STRBUF_INIT;

	mime_header_value("[hbmon] CRITICAL R1: heartbeat missed", &out);
	cr_assert_str_eq(strbuf_str(&out),
	                 "[hbmon] CRITICAL R1: heartbeat missed");
	strbuf_truncate(&out, 0);
	mime_header_value("R1/A\r\nBcc: evil@example.com", &out);
	cr_assert(strncmp(strbuf_str(&out), "=?UTF-8?B?", 10) == 0, "%s",
	          strbuf_str(&out));
	/* Folded lines continue with a space; nothing else follows CRLF. */
	for (const char *p = strstr(strbuf_str(&out), "\r\n"); p != NULL;
	     p = strstr(p + 1, "\r\n")) {
		cr_assert_eq(p[2], ' ');
	}
	strbuf_truncate(&out, 0);
	mime_header_value("\xf0\x9f\x94\xb4 KRITIS akun R1/ACC_003 "
	                  "berstatus expired: Session expired, perlu "
	                  "re-login",
	                  &out);
	cr_assert(strstr(strbuf_str(&out), "?=\r\n =?UTF-8?B?") != NULL,
	          "long values become several words: %s", strbuf_str(&out));
	strbuf_free(&out);
}

Test(mime, quoted_printable_lines)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	const char *p;

	strbuf_adds(&in, ".starts with a dot\ncaf\xc3\xa9 = x \n");
	for (int i = 0; i < 30; i++) {
		strbuf_adds(&in, "0123456789");
	}
	strbuf_adds(&in, "\n");
	mime_quoted_printable(strbuf_str(&in), &out);
	p = strbuf_str(&out);
	cr_assert(strncmp(p, "=2Estarts with a dot\r\ncaf=C3=A9 =3D x=20\r\n",
	                  41) == 0,
	          "%s", p);
	for (const char *line = p; *line != '\0';) {
		const char *end = strstr(line, "\r\n");
		cr_assert_not_null(end);
		cr_assert_leq(end - line, 76);
		cr_assert_neq(line[0], '.');
		line = end + 2;
	}
	strbuf_free(&in);
	strbuf_free(&out);
}

Test(mime, addresses)
{
	cr_assert(mime_address_ok("ops@example.com"));
	cr_assert(mime_address_ok("a.b+c@x.example"));
	cr_assert_not(mime_address_ok("ops@example.com\r\nBcc: x@y"));
	cr_assert_not(mime_address_ok("<ops@example.com>"));
	cr_assert_not(mime_address_ok("ops example.com"));
	cr_assert_not(mime_address_ok("a@b@c"));
	cr_assert_not(mime_address_ok("@x"));
	cr_assert_not(mime_address_ok(""));
}

/* ---- message sets ---- */

/* The built-in set (no templates_dir), as an installed notifier has it. */
static struct message_set *
load_set(const char *lang)
{
	struct message_options o = { .lang = lang, .notifier = "tg" };
	struct message_set *m;
	char why[600];

	o.tz_offset_min = 7 * 60;
	cr_assert_eq(message_set_load(&o, &m, why, sizeof(why)), HBMON_OK, "%s",
	             why);
	return m;
}

static Hbmon__V1__Alert *
make_alert(uint64_t seq, const char *account, size_t n_affected)
{
	Hbmon__V1__Alert *a = calloc(1, sizeof(*a));
	Hbmon__V1__AlertDetails *d = calloc(1, sizeof(*d));

	hbmon__v1__alert__init(a);
	hbmon__v1__alert_details__init(d);
	a->seq = seq;
	a->kind = K(HEARTBEAT_MISSED);
	a->severity = SEV(CRITICAL);
	a->state = ST(FIRING);
	a->robot = "R1";
	a->account = (char *) account;
	a->summary = "robot R1 silent for 6 min (3 heartbeats missed)";
	a->dedupe_key = "R1:HEARTBEAT_MISSED:1";
	a->raised_at_ms = 1768876200000; /* 2026-01-20T02:30:00Z */
	a->details = d;
	d->misses = 3;
	d->duration_ms = 360000;
	d->n_affected = n_affected;
	d->affected = calloc(n_affected + 1, sizeof(*d->affected));
	for (size_t i = 0; i < n_affected; i++) {
		Hbmon__V1__AffectedAccount *x = calloc(1, sizeof(*x));
		hbmon__v1__affected_account__init(x);
		x->account = "ACC_WITH_A_RATHER_LONG_NAME_FOR_TESTING_LIMITS";
		x->status = HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
		x->open_orders = (uint32_t) i;
		d->affected[i] = x;
	}
	return a;
}

static void
free_alert(Hbmon__V1__Alert *a)
{
	for (size_t i = 0; i < a->details->n_affected; i++) {
		free(a->details->affected[i]);
	}
	free(a->details->affected);
	free(a->details);
	free(a);
}

/* Frees what a message test rendered and the sets it loaded. */
static void
release(struct strbuf *t, struct strbuf *subject, struct strbuf *body,
        struct message_set *en, struct message_set *id)
{
	strbuf_free(t);
	strbuf_free(subject);
	strbuf_free(body);
	message_set_free(en);
	message_set_free(id);
}

Test(message, accounts_with_open_orders_first_then_in_natural_order)
{
	struct message_set *en = load_set("en");
	Hbmon__V1__Alert *a = make_alert(12, "", 4);
	const Hbmon__V1__Alert *list[] = { a };
	static const char *const accounts[] = { "ACC_10", "ACC_2", "ACC_9",
		                                "ACC_1" };
	static const uint32_t orders[] = { 0, 0, 1, 3 };
	struct strbuf t = STRBUF_INIT;
	size_t taken;

	for (size_t i = 0; i < 4; i++) {
		a->details->affected[i]->account = (char *) accounts[i];
		a->details->affected[i]->open_orders = orders[i];
	}
	message_telegram(en, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t),
	                 "ACC_1 (active, 3 open orders), ACC_9 (active, 1 "
	                 "open order), ACC_2 (active), ACC_10 (active)") !=
	              NULL,
	          "%s", strbuf_str(&t));
	strbuf_free(&t);
	free_alert(a);
	message_set_free(en);
}

Test(message, english_and_indonesian_sets_render)
{
	struct message_set *en = load_set("en"), *id = load_set("id");
	Hbmon__V1__Alert *a = make_alert(12, "", 2);
	const Hbmon__V1__Alert *list[] = { a };
	struct strbuf t = STRBUF_INIT, subject = STRBUF_INIT,
	              body = STRBUF_INIT;
	size_t taken;

	message_telegram(en, list, 1, 4096, &t, &taken);
	cr_assert_eq(taken, 1);
	cr_assert(strstr(strbuf_str(&t),
	                 "<b>CRITICAL</b> · heartbeat missed") != NULL,
	          "%s", strbuf_str(&t));
	cr_assert(strstr(strbuf_str(&t), "#12 · 2026-01-20T09:30:00+07:00") !=
	              NULL,
	          "%s", strbuf_str(&t));
	strbuf_truncate(&t, 0);
	message_telegram(id, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t),
	                 "robot R1 tidak mengirim heartbeat selama 6 menit "
	                 "(3 heartbeat terlewat); 2 akun terdampak, 1 dengan "
	                 "order terbuka") != NULL,
	          "%s", strbuf_str(&t));
	cr_assert(strstr(strbuf_str(&t), "<b>KRITIS</b>") != NULL);
	message_email(en, list, 1, &subject, &body);
	cr_assert_str_eq(strbuf_str(&subject),
	                 "[hbmon] CRITICAL R1: heartbeat missed");
	cr_assert(strstr(strbuf_str(&body), "Missed:      3 heartbeats\n") !=
	              NULL,
	          "%s", strbuf_str(&body));
	release(&t, &subject, &body, en, id);
	free_alert(a);
}

Test(message, repeats_say_how_long_and_plurals_agree)
{
	struct message_set *en = load_set("en"), *id = load_set("id");
	Hbmon__V1__Alert *a = make_alert(12, "", 0);
	const Hbmon__V1__Alert *list[] = { a };
	struct strbuf t = STRBUF_INIT, subject = STRBUF_INIT,
	              body = STRBUF_INIT;
	size_t taken;

	a->repeat = 2;
	a->details->duration_ms = 20 * 60000;
	a->details->misses = 1;
	message_telegram(en, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t), "<b>CRITICAL</b> · heartbeat missed "
	                                 "· still open after 20 min\n") != NULL,
	          "%s", strbuf_str(&t));
	cr_assert(strstr(strbuf_str(&t), "repeat") == NULL, "%s",
	          strbuf_str(&t));
	message_email(en, list, 1, &subject, &body);
	cr_assert_str_eq(strbuf_str(&subject),
	                 "[hbmon] CRITICAL R1: heartbeat missed, still open "
	                 "after 20 min");
	cr_assert(strstr(strbuf_str(&body), "Missed:      1 heartbeat\n") !=
	              NULL,
	          "%s", strbuf_str(&body));
	cr_assert(strstr(strbuf_str(&body), "))") == NULL, "%s",
	          strbuf_str(&body));
	strbuf_truncate(&t, 0);
	message_telegram(id, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t), "· masih berlangsung, sudah 20 "
	                                 "menit\n") != NULL,
	          "%s", strbuf_str(&t));
	release(&t, &subject, &body, en, id);
	free_alert(a);
}

Test(message, host_and_hints_say_where_and_what_to_do_but_not_on_recovery)
{
	struct message_set *en = load_set("en"), *id = load_set("id");
	Hbmon__V1__Alert *a = make_alert(7, "", 0);
	const Hbmon__V1__Alert *list[] = { a };
	char *hints[] = { "hbctl ack 7", "hbctl pause 'R1/A&B' --for 1h" };
	struct strbuf t = STRBUF_INIT, subject = STRBUF_INIT,
	              body = STRBUF_INIT, text = STRBUF_INIT;
	size_t taken;

	a->details->host = "192.0.2.7";
	a->details->hints = hints;
	a->details->n_hints = 2;
	message_telegram(en, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t), "<b>R1</b> from 192.0.2.7\n") != NULL,
	          "%s", strbuf_str(&t));
	/* HTML-escaped: the & of an account name cannot start markup. */
	cr_assert(strstr(strbuf_str(&t),
	                 "\nTo silence: hbctl ack 7 · To pause: hbctl pause "
	                 "'R1/A&amp;B' --for 1h\n") != NULL,
	          "%s", strbuf_str(&t));
	message_email(en, list, 1, &subject, &body);
	cr_assert(strstr(strbuf_str(&body), "Host:        192.0.2.7\n") != NULL,
	          "%s", strbuf_str(&body));
	cr_assert(strstr(strbuf_str(&body),
	                 "\n\nTo silence: hbctl ack 7 · To pause: hbctl pause "
	                 "'R1/A&B' --for 1h\n") != NULL,
	          "%s", strbuf_str(&body));
	message_text(en, a, &text);
	cr_assert(strstr(strbuf_str(&text),
	                 "R1 from 192.0.2.7\nrobot R1 silent for 6 min") !=
	              NULL,
	          "%s", strbuf_str(&text));
	cr_assert(strstr(strbuf_str(&text), "pause 'R1/A&B' --for 1h\n") !=
	              NULL,
	          "%s", strbuf_str(&text));
	strbuf_truncate(&t, 0);
	message_telegram(id, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t), "<b>R1</b> dari 192.0.2.7\n") != NULL,
	          "%s", strbuf_str(&t));
	cr_assert(strstr(strbuf_str(&t), "Hentikan pengingat: hbctl ack 7 · "
	                                 "Jeda: hbctl pause") != NULL,
	          "%s", strbuf_str(&t));
	/* The all-clear: nothing to silence, and where it was is history. */
	a->kind = K(RECOVERED);
	a->state = ST(RESOLVED);
	a->details->resolves = K(HEARTBEAT_MISSED);
	strbuf_truncate(&t, 0);
	strbuf_truncate(&body, 0);
	message_telegram(en, list, 1, 4096, &t, &taken);
	message_email(en, list, 1, &subject, &body);
	cr_assert(strstr(strbuf_str(&t), "hbctl") == NULL, "%s",
	          strbuf_str(&t));
	cr_assert(strstr(strbuf_str(&t), "192.0.2.7") == NULL, "%s",
	          strbuf_str(&t));
	cr_assert(strstr(strbuf_str(&body), "hbctl") == NULL, "%s",
	          strbuf_str(&body));
	cr_assert(strstr(strbuf_str(&body), "Host:") == NULL, "%s",
	          strbuf_str(&body));
	strbuf_free(&text);
	release(&t, &subject, &body, en, id);
	free_alert(a);
}

Test(message, a_burst_with_an_all_clear_does_not_read_as_all_down)
{
	struct message_set *en = load_set("en"), *id = load_set("id");
	Hbmon__V1__Alert *ex = make_alert(8, "", 0), *r1 = make_alert(9, "", 0);
	Hbmon__V1__Alert *r2 = make_alert(10, "", 0);
	const Hbmon__V1__Alert *list[] = { ex, r1, r2 };
	struct strbuf t = STRBUF_INIT, subject = STRBUF_INIT,
	              body = STRBUF_INIT;
	size_t taken;

	ex->robot = "EX";
	r2->robot = "R2";
	r2->severity = SEV(WARNING);
	r1->kind = K(RECOVERED);
	r1->state = ST(RESOLVED);
	r1->severity = SEV(INFO);
	r1->details->resolves = K(HEARTBEAT_MISSED);
	message_email(en, list, 3, &subject, &body);
	cr_assert_str_eq(strbuf_str(&subject),
	                 "[hbmon] CRITICAL EX, R2; resolved: R1 (3 alerts)");
	message_telegram(en, list, 3, 4096, &t, &taken);
	cr_assert_eq(taken, 3);
	cr_assert(strncmp(strbuf_str(&t),
	                  "🔴 <b>3 alerts</b> · 2 firing, worst CRITICAL: EX, "
	                  "R2 · 1 resolved: R1\n",
	                  strlen("🔴 <b>3 alerts</b> · 2 firing, worst "
	                         "CRITICAL: EX, R2 · 1 resolved: R1\n")) == 0,
	          "%s", strbuf_str(&t));
	strbuf_truncate(&subject, 0);
	strbuf_truncate(&body, 0);
	message_email(id, list, 3, &subject, &body);
	cr_assert_str_eq(strbuf_str(&subject),
	                 "[hbmon] KRITIS EX, R2; pulih: R1 (3 alert)");
	/* All clear: no "worst" at all. */
	strbuf_truncate(&subject, 0);
	strbuf_truncate(&body, 0);
	message_email(en, list + 1, 1, &subject, &body);
	cr_assert_str_eq(strbuf_str(&subject),
	                 "[hbmon] RESOLVED R1: heartbeat missed");
	release(&t, &subject, &body, en, id);
	free_alert(ex);
	free_alert(r1);
	free_alert(r2);
}

Test(message, times_follow_a_named_zone)
{
	struct message_options o = { .lang = "en", .notifier = "tg" };
	struct message_set *m;
	Hbmon__V1__Alert *a = make_alert(12, "", 0);
	const Hbmon__V1__Alert *list[] = { a };
	struct strbuf t = STRBUF_INIT;
	char why[600];
	size_t taken;

	cr_assert_eq(
	    tz_select("America/New_York", &o.tz_offset_min, why, sizeof(why)),
	    HBMON_OK, "%s", why);
	cr_assert_eq(message_set_load(&o, &m, why, sizeof(why)), HBMON_OK, "%s",
	             why);
	/* 2026-01-20T02:30:00Z: the evening before, at -05:00. */
	message_telegram(m, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t), "2026-01-19T21:30:00-05:00") != NULL,
	          "%s", strbuf_str(&t));
	/* Half a year on: daylight saving, -04:00. */
	a->raised_at_ms += INT64_C(181) * 86400000;
	strbuf_truncate(&t, 0);
	message_telegram(m, list, 1, 4096, &t, &taken);
	cr_assert(strstr(strbuf_str(&t), "2026-07-19T22:30:00-04:00") != NULL,
	          "%s", strbuf_str(&t));
	strbuf_free(&t);
	free_alert(a);
	message_set_free(m);
}

Test(message, telegram_text_stays_within_4096_bytes)
{
	struct message_set *en = load_set("en");
	Hbmon__V1__Alert *big = make_alert(1, "", 64);
	Hbmon__V1__Alert *small[40];
	const Hbmon__V1__Alert *list[41];
	struct strbuf t = STRBUF_INIT;
	size_t taken, done = 0;

	/* One alert longer than a message on its own: cut, tags closed. */
	list[0] = big;
	message_telegram(en, list, 1, 300, &t, &taken);
	cr_assert_eq(taken, 1);
	cr_assert_leq(t.len, 300);
	cr_assert(strstr(strbuf_str(&t), "\xe2\x80\xa6") != NULL);
	/* Many alerts: whole ones under a header, the rest left over. */
	for (int i = 0; i < 40; i++) {
		small[i] = make_alert((uint64_t) i + 2, "ACC_001", 0);
		list[i] = small[i];
	}
	while (done < 40) {
		uint64_t seqs[64];
		strbuf_truncate(&t, 0);
		message_telegram(en, list + done, 40 - done, 4096, &t, &taken);
		cr_assert_leq(t.len, 4096);
		cr_assert_geq(taken, 1);
		cr_assert_eq(nt_text_seqs(strbuf_str(&t), seqs, 64), taken);
		if (taken > 1) {
			cr_assert(strstr(strbuf_str(&t), " alerts</b>") !=
			          NULL);
		}
		done += taken;
	}
	for (int i = 0; i < 40; i++) {
		free_alert(small[i]);
	}
	free_alert(big);
	strbuf_free(&t);
	message_set_free(en);
}

Test(message, broken_template_stops_loading)
{
	struct message_options o = { .lang = "en" };
	struct message_set *m = NULL;
	char dir[600], path[700], why[600];
	char cmd[2048];

	harness_tmpdir(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd), "cp -r %s/src/notify/templates/en %s/",
	         getenv("HBMON_SOURCE_DIR"), dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/en/telegram.html", dir);
	FILE *f = fopen(path, "a");
	fputs("{{sumary}}\n", f);
	fclose(f);
	o.dir = dir;
	cr_assert_eq(message_set_load(&o, &m, why, sizeof(why)), HBMON_EINVAL);
	cr_assert(strstr(why, "en/telegram.html:") != NULL, "%s", why);
	cr_assert(strstr(why, "{{sumary}}") != NULL, "%s", why);
	o.lang = "xx";
	cr_assert_eq(message_set_load(&o, &m, why, sizeof(why)), HBMON_ENOENT);
	harness_rmrf(dir);
}

Test(message, a_templates_dir_overrides_file_by_file)
{
	struct message_options o = { .lang = "en", .tz_offset_min = 0 };
	struct message_set *m = NULL;
	Hbmon__V1__Alert *a = make_alert(12, "", 0);
	const Hbmon__V1__Alert *list[] = { a };
	struct strbuf t = STRBUF_INIT, subject = STRBUF_INIT,
	              body = STRBUF_INIT;
	char dir[600], path[700], why[600];
	size_t taken;
	FILE *f;

	harness_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/en", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/en/telegram.html", dir);
	f = fopen(path, "w");
	fputs("OURS #{{seq}} {{subject}}\n", f);
	fclose(f);
	o.dir = dir;
	cr_assert_eq(message_set_load(&o, &m, why, sizeof(why)), HBMON_OK, "%s",
	             why);
	message_telegram(m, list, 1, 4096, &t, &taken);
	cr_assert_str_eq(strbuf_str(&t), "OURS #12 R1");
	/* What the dir does not hold is the built-in text. */
	message_email(m, list, 1, &subject, &body);
	cr_assert_str_eq(strbuf_str(&subject),
	                 "[hbmon] CRITICAL R1: heartbeat missed");
	message_set_free(m);
	m = NULL;
	/* A language neither the dir nor the program has. */
	o.lang = "de";
	cr_assert_eq(message_set_load(&o, &m, why, sizeof(why)), HBMON_ENOENT);
	cr_assert(strstr(why, "none built in for language 'de' (built in: "
	                      "en, id)") != NULL,
	          "%s", why);
	/* A dir that is not there is a mistake, not "use the built-in". */
	snprintf(path, sizeof(path), "%s/templtes", dir);
	o.dir = path;
	o.lang = "en";
	cr_assert_eq(message_set_load(&o, &m, why, sizeof(why)), HBMON_ENOENT);
	cr_assert(strstr(why, "templtes: No such file or directory") != NULL,
	          "%s", why);
	cr_assert_null(m);
	strbuf_free(&t);
	strbuf_free(&subject);
	strbuf_free(&body);
	free_alert(a);
	harness_rmrf(dir);
}

/* ---- cursor ---- */

Test(cursor, stores_reopens_locks_and_refuses_garbage)
{
	struct cursor *c, *c2;
	char dir[600], sub[700], why[600];
	uint64_t seq = 99;
	bool found = true;

	harness_tmpdir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/state/deeper", dir);
	cr_assert_eq(cursor_open(sub, "tg", &c, &seq, &found, why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert_not(found);
	cr_assert_eq(seq, 0);
	/* A second instance with the same name is refused. */
	cr_assert_eq(
	    cursor_open(sub, "tg", &c2, &seq, &found, why, sizeof(why)),
	    HBMON_EBUSY);
	cr_assert(strstr(why, "another hbmon-notify named 'tg'") != NULL);
	cr_assert_eq(cursor_store(c, 41, why, sizeof(why)), HBMON_OK);
	cr_assert_eq(cursor_store(c, 42, why, sizeof(why)), HBMON_OK);
	cursor_close(c);
	cr_assert_eq(cursor_open(sub, "tg", &c, &seq, &found, why, sizeof(why)),
	             HBMON_OK);
	cr_assert(found);
	cr_assert_eq(seq, 42);
	nt_write_file(cursor_path(c), "42 but not a number\n");
	cursor_close(c);
	cr_assert_eq(cursor_open(sub, "tg", &c, &seq, &found, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "does not hold an alert seq") != NULL);
	harness_rmrf(dir);
}

/* ---- contact with the server ---- */

static struct contact *
open_contact(const char *dir, int64_t now)
{
	struct contact_options o = { .state_dir = dir,
		                     .name = "tg",
		                     .server_timeout = 30000,
		                     .repeat_interval = 3600000,
		                     .tz_offset_min = 0 };
	struct contact *c;
	char why[600];

	cr_assert_eq(contact_open(&o, now, &c, why, sizeof(why)), HBMON_OK,
	             "%s", why);
	return c;
}

/* What a source heard: a keepalive and an answer at heard_ms. */
static struct source_contact
heard_at(int64_t heard_ms, uint64_t tail, uint64_t outbox_last)
{
	struct source_contact sc = { 0 };

	sc.keepalive_ms = heard_ms;
	sc.admin_ok_ms = heard_ms;
	sc.tail = tail;
	sc.outbox_last = outbox_last;
	snprintf(sc.admin_url, sizeof(sc.admin_url), "ipc:///v/admin.sock");
	return sc;
}

/* Delivers (drops) the pending notice, asserting there was one. */
static Hbmon__V1__Alert *
take_notice(struct contact *c)
{
	const Hbmon__V1__Alert *a = contact_pending(c);
	Hbmon__V1__Alert *copy;
	uint8_t buf[4096];
	size_t n;
	char why[600];

	cr_assert_not_null(a, "no notice");
	n = hbmon__v1__alert__pack(a, buf);
	copy = hbmon__v1__alert__unpack(NULL, n, buf);
	cr_assert_eq(contact_delivered(c, why, sizeof(why)), HBMON_OK, "%s",
	             why);
	return copy;
}

Test(contact, unreachable_after_the_timeout_repeats_and_resolves)
{
	const int64_t wall0 = INT64_C(1768880000000);
	struct source_contact sc = heard_at(1000, 7, 7);
	Hbmon__V1__Alert *a;
	struct contact *c;
	char dir[600];

	harness_tmpdir(dir, sizeof(dir));
	c = open_contact(dir, 0);
	contact_update(c, &sc, 30999, wall0 + 30999);
	cr_assert_null(contact_pending(c), "before server_timeout");
	cr_assert_not(contact_lost(c));
	contact_update(c, &sc, 31000, wall0 + 31000);
	cr_assert(contact_lost(c));
	a = take_notice(c);
	cr_assert_eq(a->kind, K(SERVER_UNREACHABLE));
	cr_assert_eq(a->severity, SEV(CRITICAL));
	cr_assert_eq(a->state, ST(FIRING));
	cr_assert_eq(a->seq, 0);
	cr_assert_str_eq(a->robot, "");
	cr_assert_str_eq(a->notifier, "tg");
	cr_assert_eq(a->notifier_seq, 1);
	cr_assert_str_eq(a->dedupe_key, "notify-tg:SERVER_UNREACHABLE:1");
	cr_assert(strstr(a->summary, "lost contact with hbmon-server at "
	                             "ipc:///v/admin.sock since "
	                             "2026-01-20T03:33:21") != NULL,
	          "%s", a->summary);
	hbmon__v1__alert__free_unpacked(a, NULL);

	/* Nothing more until repeat_interval, then a repeat. */
	contact_update(c, &sc, 60000, wall0 + 60000);
	cr_assert_null(contact_pending(c));
	contact_update(c, &sc, 31000 + 3600000, wall0 + 31000 + 3600000);
	a = take_notice(c);
	cr_assert_eq(a->repeat, 1);
	cr_assert_eq(a->notifier_seq, 2);
	cr_assert_str_eq(a->dedupe_key, "notify-tg:SERVER_UNREACHABLE:1");
	cr_assert(strncmp(a->summary, "still ", 6) == 0, "%s", a->summary);
	hbmon__v1__alert__free_unpacked(a, NULL);

	/* A keepalive alone does not end it: the outbox must answer. */
	sc.keepalive_ms = 3700000;
	contact_update(c, &sc, 3700001, wall0 + 3700001);
	cr_assert(contact_lost(c));
	sc.admin_ok_ms = 3700002;
	sc.outbox_last = 10;
	contact_update(c, &sc, 3700003, wall0 + 3700003);
	cr_assert_not(contact_lost(c));
	a = take_notice(c);
	cr_assert_eq(a->kind, K(RECOVERED));
	cr_assert_eq(a->state, ST(RESOLVED));
	cr_assert_eq(a->details->resolves, K(SERVER_UNREACHABLE));
	cr_assert_eq(a->details->alerts_meanwhile, 3);
	cr_assert_eq(a->notifier_seq, 3);
	cr_assert(strstr(a->summary, "is back after 1 h 1 min; 3 alerts "
	                             "raised meanwhile follow") != NULL,
	          "%s", a->summary);
	hbmon__v1__alert__free_unpacked(a, NULL);
	cr_assert_null(contact_pending(c));
	contact_close(c);
	harness_rmrf(dir);
}

Test(contact, an_unreadable_outbox_is_unreachable_too)
{
	struct source_contact sc = heard_at(1000, 0, 0);
	Hbmon__V1__Alert *a;
	struct contact *c;
	char dir[600];

	harness_tmpdir(dir, sizeof(dir));
	c = open_contact(dir, 0);
	/* Keepalives keep coming; the outbox fails from 2 s on. */
	sc.admin_failing_ms = 2000;
	for (int64_t t = 2000; t < 32000; t += 1000) {
		sc.keepalive_ms = t;
		contact_update(c, &sc, t, t);
		cr_assert_null(contact_pending(c), "at %lld", (long long) t);
	}
	sc.keepalive_ms = 32000;
	contact_update(c, &sc, 32000, 32000);
	a = take_notice(c);
	cr_assert(strstr(a->summary, "cannot read the outbox") != NULL, "%s",
	          a->summary);
	hbmon__v1__alert__free_unpacked(a, NULL);
	contact_close(c);
	harness_rmrf(dir);
}

Test(contact, a_restart_neither_repeats_nor_forgets_a_notice)
{
	struct source_contact sc = heard_at(1000, 4, 4), none = { 0 };
	Hbmon__V1__Alert *a;
	struct contact *c;
	char dir[600], path[700], why[600];

	harness_tmpdir(dir, sizeof(dir));
	c = open_contact(dir, 0);
	contact_update(c, &sc, 40000, 40000);
	cr_assert_not_null(contact_pending(c));
	/* Killed before the sink took it: the next run still has it. */
	contact_close(c);
	c = open_contact(dir, 0);
	cr_assert(contact_lost(c));
	a = take_notice(c);
	cr_assert_eq(a->notifier_seq, 1);
	hbmon__v1__alert__free_unpacked(a, NULL);
	/* Delivered, then restarted: nothing again, even though this run
	 * never heard the server at all. */
	contact_close(c);
	c = open_contact(dir, 100);
	contact_update(c, &none, 100000, 100000);
	cr_assert_null(contact_pending(c));
	/* The first answer of this run resolves it, with a new seq. */
	none.admin_ok_ms = 100001;
	contact_update(c, &none, 100002, 100002);
	a = take_notice(c);
	cr_assert_eq(a->kind, K(RECOVERED));
	cr_assert_eq(a->notifier_seq, 2);
	hbmon__v1__alert__free_unpacked(a, NULL);
	contact_close(c);

	/* A file that is not contact state stops the start, untouched. */
	snprintf(path, sizeof(path), "%s/notify-tg.contact", dir);
	nt_write_file(path, "hbmon-notify contact 1\nnext_seq banana\n");
	{
		struct contact_options o = { .state_dir = dir,
			                     .name = "tg",
			                     .server_timeout = 30000,
			                     .repeat_interval = 3600000 };
		cr_assert_eq(contact_open(&o, 0, &c, why, sizeof(why)),
		             HBMON_EINVAL);
		cr_assert(strstr(why, "does not hold") != NULL, "%s", why);
		nt_write_file(path, "hbmon-notify contact 1\nnext_seq 5\n"
		                    "pending zz\n");
		cr_assert_eq(contact_open(&o, 0, &c, why, sizeof(why)),
		             HBMON_EINVAL);
	}
	harness_rmrf(dir);
}

Test(contact, never_heard_counts_from_the_start)
{
	struct source_contact none = { 0 };
	Hbmon__V1__Alert *a;
	struct contact *c;
	char dir[600];

	harness_tmpdir(dir, sizeof(dir));
	c = open_contact(dir, 5000);
	contact_update(c, &none, 34999, 34999);
	cr_assert_null(contact_pending(c));
	contact_update(c, &none, 35000, 35000);
	a = take_notice(c);
	cr_assert(strstr(a->summary, "since this notifier started") != NULL,
	          "%s", a->summary);
	cr_assert_eq(a->details->last_seen_ms, 0);
	hbmon__v1__alert__free_unpacked(a, NULL);
	contact_close(c);
	harness_rmrf(dir);
}

/* ---- pacing ---- */

Test(backoff, grows_capped_with_jitter_and_resets)
{
	struct backoff b;
	int64_t w;

	backoff_init(&b, 100, 1000, 7);
	for (int i = 0; i < 20; i++) {
		int64_t cap = 100;
		for (int k = 0; k < i && cap < 1000; k++) {
			cap *= 2;
		}
		cap = cap > 1000 ? 1000 : cap;
		w = backoff_next(&b);
		cr_assert_geq(w, cap / 2, "try %d: %lld", i, (long long) w);
		cr_assert_leq(w, cap, "try %d: %lld", i, (long long) w);
	}
	backoff_reset(&b);
	w = backoff_next(&b);
	cr_assert_leq(w, 100);
}

Test(ratelimit, one_per_interval_after_the_burst)
{
	struct ratelimit r;

	ratelimit_init(&r, 1000, 2);
	cr_assert_eq(ratelimit_next(&r, 5000), 5000);
	ratelimit_take(&r, 5000);
	cr_assert_eq(ratelimit_next(&r, 5000), 5000, "burst of 2");
	ratelimit_take(&r, 5000);
	cr_assert_eq(ratelimit_next(&r, 5000), 6000);
	ratelimit_take(&r, 6000);
	cr_assert_eq(ratelimit_next(&r, 6000), 7000);
	ratelimit_hold(&r, 20000);
	cr_assert_eq(ratelimit_next(&r, 7000), 20000, "retry_after holds");
	ratelimit_init(&r, 0, 1);
	ratelimit_take(&r, 1);
	cr_assert_eq(ratelimit_next(&r, 1), 1, "no limit");
}
