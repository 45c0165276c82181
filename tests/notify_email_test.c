/*
 * hbmon-notify --sink email end to end against a real SMTP server
 * (aiosmtpd, support/notify_smtp.py); every mail is read back with
 * Python's email package, headers and body.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hbmon/error.h"
#include "notify_support.h"

#define A(x) HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

static struct harness_server srv;
static struct nt_notifier nt;
static struct nt_fake smtp;
static struct rpc_client *adm, *robot;
static const char *const robots[] = { "R1", NULL };
static char env_url[200];
static const char *env[] = { env_url, "HBMON_SMTP_FROM=hbmon@example.com",
	                     "HBMON_SMTP_TO=ops@example.com, "
	                     "owner@example.org",
	                     NULL };
static const char *const flags[] = { "--email-tls", "none",
	                             "--email-rate-interval", "200ms", NULL };

static void
setup(void)
{
	nt_server_start(&srv, robots);
	adm = harness_admin(&srv);
	robot = harness_client(srv.listen, "R1", NT_SECRET);
	nt_notifier_init(&nt);
	nt_smtp_start(&smtp);
	snprintf(env_url, sizeof(env_url), "HBMON_SMTP_URL=%s", smtp.url);
}

static void
teardown(void)
{
	nt_kill_all();
	rpc_client_close(robot);
	rpc_client_close(adm);
	nt_fake_stop(&smtp);
	nt_notifier_fini(&nt);
	harness_server_fini(&srv);
}

static bool
mails_at_least(void *arg)
{
	return nt_mail_count(&smtp) >= (int) (intptr_t) arg;
}

/* The value of header name in a parsed mail, or NULL; *count: how many. */
static const char *
header(json_t *mail, const char *name, int *count)
{
	const char *value = NULL;
	size_t i;
	json_t *h;

	*count = 0;
	json_array_foreach(json_object_get(mail, "headers"), i, h)
	{
		if (strcasecmp(json_string_value(json_array_get(h, 0)), name) ==
		    0) {
			value = json_string_value(json_array_get(h, 1));
			(*count)++;
		}
	}
	return value;
}

static const char *
get(json_t *mail, const char *name)
{
	int n;
	const char *v = header(mail, name, &n);

	cr_assert_eq(n, 1, "%d %s headers", n, name);
	return v;
}

Test(notify_email, mail_has_headers_recipients_and_body, .init = setup,
     .fini = teardown, .timeout = 60)
{
	const char *names[] = { "ACC_001" };
	int st[] = { A(ACTIVE) };
	json_t *mail, *rcpt;
	const char *body;

	nt_notifier_start(&nt, &srv, "email", flags, env);
	nt_send_accounts(robot, 1, names, st);
	st[0] = A(EXPIRED);
	nt_send_accounts(robot, 1, names, st);
	cr_assert(nt_wait(mails_at_least, (void *) 1, 10000), "no mail");
	mail = nt_mail(&smtp, 1);
	cr_assert_eq(json_array_size(json_object_get(mail, "defects")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(mail, "mail_from")),
	                 "hbmon@example.com");
	rcpt = json_object_get(mail, "rcpt_tos");
	cr_assert_eq(json_array_size(rcpt), 2);
	cr_assert_str_eq(json_string_value(json_array_get(rcpt, 0)),
	                 "ops@example.com");
	cr_assert_str_eq(json_string_value(json_array_get(rcpt, 1)),
	                 "owner@example.org");
	cr_assert_str_eq(get(mail, "From"), "hbmon-notify <hbmon@example.com>");
	cr_assert_str_eq(get(mail, "To"), "ops@example.com, owner@example.org");
	/* Severity, subject and kind. */
	cr_assert_str_eq(get(mail, "Subject"),
	                 "[hbmon] WARNING R1/ACC_001: status changed");
	cr_assert_str_eq(get(mail, "Content-Type"),
	                 "text/plain; charset=\"UTF-8\"");
	cr_assert_str_eq(get(mail, "X-Hbmon-Seq"), "1");
	cr_assert(strncmp(get(mail, "Message-ID"), "<hbmon.", 7) == 0);
	get(mail, "Date");
	body = json_string_value(json_object_get(mail, "body"));
	cr_assert(strncmp(body,
	                  "account R1/ACC_001 session expired: needs "
	                  "re-login; no open orders\n\n",
	                  68) == 0,
	          "%s", body);
	cr_assert(strstr(body, "Status:      expired (session expired, needs "
	                       "re-login)\n") != NULL,
	          "%s", body);
	cr_assert(strstr(body, "Heartbeats only monitor; they never control "
	                       "trading.\n") != NULL,
	          "%s", body);
	cr_log_info("a real e-mail:\n%s\n\n%s",
	            json_string_value(json_object_get(mail, "raw_headers")),
	            body);
	json_decref(mail);

	/* R1 falls silent: one more mail, for the robot. */
	cr_assert(nt_wait(mails_at_least, (void *) 2, 10000), "no 2nd mail");
	mail = nt_mail(&smtp, 2);
	cr_assert_str_eq(get(mail, "Subject"),
	                 "[hbmon] CRITICAL R1: heartbeat missed");
	body = json_string_value(json_object_get(mail, "body"));
	cr_assert(strstr(body, "Accounts:    ACC_001 (expired)\n") != NULL,
	          "%s", body);
	cr_log_info("a real e-mail:\n%s\n\n%s",
	            json_string_value(json_object_get(mail, "raw_headers")),
	            body);
	json_decref(mail);
	nt_notifier_stop(&nt);
}

Test(notify_email, indonesian_set_speaks_the_owners_language, .init = setup,
     .fini = teardown, .timeout = 60)
{
	static const char *const id_flags[] = { "--email-tls", "none", "--lang",
		                                "id", NULL };
	const char *names[] = { "ACC_003" };
	int st[] = { A(ACTIVE) };
	json_t *mail;
	const char *body;

	nt_notifier_start(&nt, &srv, "email", id_flags, env);
	nt_send_accounts(robot, 1, names, st);
	st[0] = A(EXPIRED);
	nt_send_accounts(robot, 1, names, st);
	cr_assert(nt_wait(mails_at_least, (void *) 1, 10000), "no mail");
	mail = nt_mail(&smtp, 1);
	cr_assert_str_eq(get(mail, "Subject"),
	                 "[hbmon] PERINGATAN R1/ACC_003: status berubah");
	body = json_string_value(json_object_get(mail, "body"));
	cr_assert(strstr(body, "akun R1/ACC_003 berstatus expired: Session "
	                       "expired, perlu re-login") != NULL,
	          "%s", body);
	cr_assert(strstr(body, "Heartbeat hanya untuk monitoring, tidak "
	                       "mengontrol trading.") != NULL,
	          "%s", body);
	cr_log_info("an Indonesian e-mail:\n%s\n\n%s",
	            json_string_value(json_object_get(mail, "raw_headers")),
	            body);
	json_decref(mail);
	nt_notifier_stop(&nt);
}

Test(notify_email, line_breaks_in_an_account_name_add_no_header_or_rcpt,
     .init = setup, .fini = teardown, .timeout = 60)
{
	static const char evil[] = "ACC\r\nBcc: victim@evil.example\r\n\r\n"
	                           "<b>x</b>.";
	/* Only its alert is mailed, not the restart's in the same mail. */
	static const char *const only_missed[] = {
		"--email-tls", "none",    "--email-rate-interval",
		"200ms",       "--kinds", "HEARTBEAT_MISSED",
		NULL
	};
	json_t *mail = NULL;
	const char *raw, *subject, *body;
	int n;

	/* The server refuses such a name now; an older database has it. */
	nt_legacy_account_down(&srv, evil);
	nt_notifier_start(&nt, &srv, "email", only_missed, env);
	for (int i = 0; i < 200 && mail == NULL; i++) {
		int count = nt_mail_count(&smtp);
		for (int k = 1; k <= count && mail == NULL; k++) {
			json_t *m = nt_mail(&smtp, k);
			if (strstr(get(m, "Subject"), "R1/ACC") != NULL) {
				mail = m;
			} else {
				json_decref(m);
			}
		}
		if (mail == NULL) {
			harness_sleep_ms(50);
		}
	}
	cr_assert_not_null(mail, "no mail about the account");
	cr_assert_eq(json_array_size(json_object_get(mail, "defects")), 0);
	cr_assert_eq(json_array_size(json_object_get(mail, "rcpt_tos")), 2,
	             "a recipient was added");
	cr_assert_null(header(mail, "Bcc", &n), "a Bcc header was injected");
	/* Every raw header line is one of ours or a folded continuation. */
	raw = json_string_value(json_object_get(mail, "raw_headers"));
	for (const char *line = raw; line != NULL && *line != '\0';) {
		static const char *const ours[] = {
			"Date: ",
			"From: ",
			"To: ",
			"Subject: ",
			"Message-ID: ",
			"In-Reply-To: ",
			"References: ",
			"MIME-Version: ",
			"Content-Type: ",
			"Content-Transfer-Encoding: ",
			"Auto-Submitted: ",
			"X-Hbmon-Seq: ",
			"X-Hbmon-Severity: ",
			" ",
		};
		const char *end = strstr(line, "\r\n");
		bool known = false;
		for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
			known |= strncmp(line, ours[i], strlen(ours[i])) == 0;
		}
		cr_assert(known, "unexpected header line: %.60s", line);
		line = end != NULL ? end + 2 : NULL;
	}
	subject = get(mail, "Subject");
	cr_assert_str_eq(subject,
	                 "[hbmon] CRITICAL R1/ACC\\r\\nBcc: "
	                 "victim@evil.example\\r\\n\\r\\n<b>x</b>.: "
	                 "heartbeat missed",
	                 "%s", subject);
	body = json_string_value(json_object_get(mail, "body"));
	cr_assert(strstr(body,
	                 "Subject:     R1/ACC\\r\\nBcc: "
	                 "victim@evil.example\\r\\n\\r\\n<b>x</b>.\n") != NULL,
	          "%s", body);
	json_decref(mail);
	nt_notifier_stop(&nt);
}

Test(notify_email, smtp_451_is_retried_until_accepted, .init = setup,
     .fini = teardown, .timeout = 60)
{
	const char *names[] = { "ACC_001" };
	int st[] = { A(ACTIVE) };
	char *log;

	nt_fake_mode(&smtp, "451 451 ok");
	nt_notifier_start(&nt, &srv, "email", flags, env);
	nt_send_accounts(robot, 1, names, st);
	st[0] = A(ERROR);
	nt_send_accounts(robot, 1, names, st);
	cr_assert(nt_wait(mails_at_least, (void *) 1, 15000), "no mail");
	harness_sleep_ms(500);
	/* Once: later mails (R1 falls silent) carry other alerts. */
	for (int i = 1; i <= nt_mail_count(&smtp); i++) {
		json_t *mail = nt_mail(&smtp, i);
		cr_assert_eq(strcmp(get(mail, "X-Hbmon-Seq"), "1") == 0, i == 1,
		             "mail %d", i);
		json_decref(mail);
	}
	log = harness_read_file(nt.log);
	cr_assert(strstr(log, "msg=\"send failed; will retry\"") != NULL, "%s",
	          log);
	cr_assert(strstr(log, "(reply 451)") != NULL, "%s", log);
	free(log);
	nt_notifier_stop(&nt);
}

/* The mail among 1..count whose X-Hbmon-Seq is seq and whose subject
 * holds word (the language tells the notifiers apart); decref. */
static json_t *
mail_of_seq(int count, uint64_t seq, const char *word)
{
	char want[32];

	snprintf(want, sizeof(want), "%" PRIu64, seq);
	for (int i = 1; i <= count; i++) {
		json_t *mail = nt_mail(&smtp, i);
		if (strcmp(get(mail, "X-Hbmon-Seq"), want) == 0 &&
		    strstr(get(mail, "Subject"), word) != NULL) {
			return mail;
		}
		json_decref(mail);
	}
	cr_assert_fail("no mail for alert #%s saying %s", want, word);
	return NULL;
}

/* An English and an Indonesian notifier of the same name, both stopped
 * while R1 comes back: each recovery refers to its own notifier's mail. */
Test(notify_email, a_recovery_threads_with_its_alert_across_a_restart,
     .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const id_flags[] = { "--email-tls", "none", "--lang",
		                                "id", NULL };
	const char *names[] = { "ACC_001" };
	int st[] = { A(ACTIVE) };
	struct nt_notifier nt_id;
	uint64_t down, back;
	json_t *alert, *recovery, *alert_id, *recovery_id;
	int n;

	nt_notifier_init(&nt_id);
	nt_notifier_start(&nt, &srv, "email", flags, env);
	nt_notifier_start(&nt_id, &srv, "email", id_flags, env);
	nt_send_accounts(robot, 1, names, st);
	down = harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 10000);
	cr_assert_neq(down, 0);
	cr_assert(nt_wait(mails_at_least, (void *) 2, 10000), "no mails");
	nt_notifier_stop(&nt);
	nt_notifier_stop(&nt_id);
	nt_send_accounts(robot, 1, names, st);
	back = harness_wait_alert(adm, K(RECOVERED), "R1", "", 10000);
	cr_assert_neq(back, 0);
	n = nt_mail_count(&smtp);
	nt_notifier_start(&nt, &srv, "email", flags, env);
	nt_notifier_start(&nt_id, &srv, "email", id_flags, env);
	cr_assert(nt_wait(mails_at_least, (void *) (intptr_t) (n + 2), 10000),
	          "no recovery mails");
	n = nt_mail_count(&smtp);
	alert = mail_of_seq(n, down, "heartbeat missed");
	recovery = mail_of_seq(n, back, "RESOLVED");
	alert_id = mail_of_seq(n, down, "heartbeat hilang");
	recovery_id = mail_of_seq(n, back, "PULIH");
	cr_assert_str_neq(get(recovery, "Message-ID"),
	                  get(alert, "Message-ID"));
	cr_assert_str_eq(get(recovery, "In-Reply-To"),
	                 get(alert, "Message-ID"));
	cr_assert_str_eq(get(recovery, "References"), get(alert, "Message-ID"));
	cr_assert_null(header(alert, "In-Reply-To", &(int){ 0 }));
	cr_assert_str_eq(get(recovery, "Subject"),
	                 "[hbmon] RESOLVED R1: heartbeat missed");
	/* The Indonesian notifier: its own Message-IDs, threaded alike. */
	cr_assert_str_neq(get(alert_id, "Message-ID"),
	                  get(alert, "Message-ID"));
	cr_assert_str_neq(get(recovery_id, "Message-ID"),
	                  get(recovery, "Message-ID"));
	cr_assert_str_eq(get(recovery_id, "In-Reply-To"),
	                 get(alert_id, "Message-ID"));
	cr_log_info("a recovery:\n%s", json_string_value(json_object_get(
	                                   recovery, "raw_headers")));
	nt_notifier_stop(&nt);
	nt_notifier_stop(&nt_id);
	nt_notifier_fini(&nt_id);
	json_decref(alert);
	json_decref(recovery);
	json_decref(alert_id);
	json_decref(recovery_id);
}
