/*
 * hbmon-notify's webhook, exec and stdout sinks end to end: the webhook's
 * signature verifies with the documented recipe, failures (HTTP 500, a
 * command's non-zero exit, a command that hangs) are retried until the
 * alert is delivered, and stdout.format = text prints what the owner reads.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <mbedtls/md.h>

#include "hbmon/error.h"
#include "notify_support.h"

#define A(x) HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define K(x) HBMON__V1__ALERT_KIND__ALERT_KIND_##x

#define HOOK_SECRET "whsec-notify-test"

static struct harness_server srv;
static struct nt_notifier nt;
static struct nt_fake hook;
static struct rpc_client *adm, *robot;
static const char *const robots[] = { "R1", NULL };

static void
setup(void)
{
	nt_server_start(&srv, robots);
	adm = harness_admin(&srv);
	robot = harness_client(srv.listen, "R1", NT_SECRET);
	nt_notifier_init(&nt);
	nt_telegram_start(&hook, "unused");
}

static void
teardown(void)
{
	nt_kill_all();
	rpc_client_close(robot);
	rpc_client_close(adm);
	nt_fake_stop(&hook);
	nt_notifier_fini(&nt);
	harness_server_fini(&srv);
}

static void
raise_error(void)
{
	const char *names[] = { "ACC_001" };
	int st[] = { A(ACTIVE) };

	nt_send_accounts(robot, 1, names, st);
	st[0] = A(ERROR);
	nt_send_accounts(robot, 1, names, st);
}

static bool
accepted_at_least(void *arg)
{
	json_t *reqs = nt_requests(&hook), *r;
	size_t n = 0, i;

	json_array_foreach(reqs, i, r)
	{
		n += json_integer_value(json_object_get(r, "status")) == 200;
	}
	json_decref(reqs);
	return n >= (size_t) (intptr_t) arg;
}

/* The receiver's side of docs/notifiers.md's recipe. */
static void
expect_signature(json_t *r)
{
	json_t *h = json_object_get(r, "headers");
	const char *ts =
	    json_string_value(json_object_get(h, "x-hbmon-timestamp"));
	const char *sig =
	    json_string_value(json_object_get(h, "x-hbmon-signature"));
	const char *raw = json_string_value(json_object_get(r, "raw"));
	const mbedtls_md_info_t *md =
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	unsigned char mac[32];
	char hex[65], *msg;
	double t = json_real_value(json_object_get(r, "t"));

	cr_assert_not_null(ts);
	cr_assert_not_null(sig);
	cr_assert_not_null(raw);
	/* Fresh: the receiver rejects old timestamps (replays). */
	cr_assert_lt(t - (double) atoll(ts), 10.0);
	cr_assert_geq(t - (double) atoll(ts), -1.0);
	msg = malloc(strlen(ts) + strlen(raw) + 2);
	sprintf(msg, "%s.%s", ts, raw);
	cr_assert_eq(mbedtls_md_hmac(md, (const unsigned char *) HOOK_SECRET,
	                             strlen(HOOK_SECRET),
	                             (const unsigned char *) msg, strlen(msg),
	                             mac),
	             0);
	for (int i = 0; i < 32; i++) {
		sprintf(hex + 2 * i, "%02x", mac[i]);
	}
	cr_assert(strncmp(sig, "sha256=", 7) == 0, "%s", sig);
	cr_assert_str_eq(sig + 7, hex, "signature does not verify");
	/* A single changed byte does not verify. */
	msg[strlen(msg) - 2] ^= 1;
	mbedtls_md_hmac(md, (const unsigned char *) HOOK_SECRET,
	                strlen(HOOK_SECRET), (const unsigned char *) msg,
	                strlen(msg), mac);
	for (int i = 0; i < 32; i++) {
		sprintf(hex + 2 * i, "%02x", mac[i]);
	}
	cr_assert_str_neq(sig + 7, hex);
	free(msg);
}

Test(notify_sinks, webhook_is_signed_and_retried_after_500, .init = setup,
     .fini = teardown, .timeout = 60)
{
	char url[200], secret_file[700];
	const char *env[] = { url, NULL };
	const char *flags[] = { "--webhook-secret-file", secret_file, NULL };
	json_t *reqs, *r, *alert;
	size_t i;

	snprintf(url, sizeof(url), "HBMON_WEBHOOK_URL=%s/hook", hook.url);
	snprintf(secret_file, sizeof(secret_file), "%s/hook.secret", nt.dir);
	nt_write_file(secret_file, HOOK_SECRET "\n");
	nt_fake_mode(&hook, "500 500 ok");
	nt_notifier_start(&nt, &srv, "webhook", flags, env);
	raise_error();
	cr_assert(nt_wait(accepted_at_least, (void *) 1, 10000));
	reqs = nt_requests(&hook);
	cr_assert_geq(json_array_size(reqs), 3);
	json_array_foreach(reqs, i, r)
	{
		expect_signature(r);
	}
	r = json_array_get(reqs, 2);
	cr_assert_eq(json_integer_value(json_object_get(r, "status")), 200);
	cr_assert_str_eq(json_string_value(json_object_get(r, "content_type")),
	                 "application/json");
	/* The alert JSON of SPEC §6, the same object hbctl alerts --json
	 * prints. */
	alert = json_object_get(r, "body");
	cr_assert_eq(json_integer_value(json_object_get(alert, "seq")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(alert, "kind")),
	                 "STATUS_CHANGED");
	cr_assert_str_eq(json_string_value(json_object_get(alert, "state")),
	                 "firing");
	cr_assert_str_eq(json_string_value(json_object_get(alert, "account")),
	                 "ACC_001");
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(r, "headers"), "x-hbmon-seq")),
	                 "1");
	json_decref(reqs);
	nt_notifier_stop(&nt);
}

Test(notify_sinks, webhook_without_a_secret_does_not_start, .init = setup,
     .fini = teardown, .timeout = 30)
{
	const char *argv[] = { harness_bin("src/notify/hbmon-notify"),
		               "--sink",
		               "webhook",
		               "--webhook-url",
		               "http://127.0.0.1:9/hook",
		               NULL };
	char *err = NULL;
	int rc = harness_run(argv, NULL, NULL, &err, 5000);

	cr_assert_eq(WEXITSTATUS(rc), 2);
	cr_assert(strstr(err, "signing secret") != NULL, "%s", err);
	free(err);
}

/* Lines of a file. */
static size_t
lines_of(const char *path)
{
	char *text = harness_read_file(path);
	size_t n = 0;

	for (char *p = text; *p != '\0'; p++) {
		n += *p == '\n';
	}
	free(text);
	return n;
}

struct exec_wait {
	const char *path;
	size_t lines;
};

static bool
file_lines_at_least(void *arg)
{
	const struct exec_wait *w = arg;

	return lines_of(w->path) >= w->lines;
}

Test(notify_sinks, exec_non_zero_exit_is_retried, .init = setup,
     .fini = teardown, .timeout = 60)
{
	char got[700], code[700], cmd[2000], env_cmd[2100];
	const char *env[] = { env_cmd, "HBMON_SECRET=" NT_SECRET, NULL };
	struct exec_wait w = { got, 3 };
	char *text, *line, *log;
	json_t *j;

	snprintf(got, sizeof(got), "%s/got.jsonl", nt.dir);
	snprintf(code, sizeof(code), "%s/exit_code", nt.dir);
	nt_write_file(code, "3\n");
	/* The alert arrives on stdin; its words in the environment. */
	snprintf(cmd, sizeof(cmd),
	         "read -r alert; printf '%%s %%s\\n' \"$HBMON_ALERT_SEQ\" "
	         "\"$alert\" >> '%s'; echo \"${HBMON_SECRET:-no secret}\" "
	         ">> '%s.env'; echo 'not today' >&2; exit $(cat '%s')",
	         got, got, code);
	snprintf(env_cmd, sizeof(env_cmd), "HBMON_EXEC=%s", cmd);
	nt_notifier_start(&nt, &srv, "exec", NULL, env);
	raise_error();
	cr_assert(nt_wait(file_lines_at_least, &w, 10000),
	          "a failing command was not run again");
	nt_write_file(code, "0\n");
	log = harness_read_file(nt.log);
	cr_assert(strstr(log, "exit status 3: not today") != NULL, "%s", log);
	free(log);
	/* Every run got seq 1 until one succeeded. */
	harness_sleep_ms(1500);
	text = harness_read_file(got);
	line = strtok(text, "\n");
	cr_assert(strncmp(line, "1 {", 3) == 0, "%s", line);
	j = json_loads(line + 2, 0, NULL);
	cr_assert_not_null(j, "not the alert JSON: %s", line);
	cr_assert_str_eq(json_string_value(json_object_get(j, "kind")),
	                 "STATUS_CHANGED");
	json_decref(j);
	{
		size_t ones = 0, total = 0;
		bool after = false;
		for (; line != NULL; line = strtok(NULL, "\n")) {
			total++;
			if (strncmp(line, "1 ", 2) == 0) {
				cr_assert_not(after, "seq 1 run after seq 2");
				ones++;
			} else {
				after = true;
			}
		}
		cr_assert_geq(ones, 3);
		cr_log_info("%zu runs, %zu for seq 1", total, ones);
	}
	free(text);
	/* The notifier's own secrets are not the command's. */
	snprintf(code, sizeof(code), "%s.env", got);
	text = harness_read_file(code);
	cr_assert(strncmp(text, "no secret\n", 10) == 0, "%s", text);
	cr_assert(strstr(text, NT_SECRET) == NULL);
	free(text);
	nt_notifier_stop(&nt);
}

Test(notify_sinks, exec_past_its_timeout_is_killed_and_retried, .init = setup,
     .fini = teardown, .timeout = 60)
{
	static const char *const flags[] = { "--exec-timeout", "300ms", NULL };
	char runs[700], cmd[1000], env_cmd[1100];
	const char *env[] = { env_cmd, NULL };
	struct exec_wait w = { runs, 2 };
	char *log;

	snprintf(runs, sizeof(runs), "%s/runs", nt.dir);
	snprintf(cmd, sizeof(cmd), "echo run >> '%s'; exec sleep 30", runs);
	snprintf(env_cmd, sizeof(env_cmd), "HBMON_EXEC=%s", cmd);
	nt_notifier_start(&nt, &srv, "exec", flags, env);
	raise_error();
	/* Only a killed command lets a second run start within 10 s. */
	cr_assert(nt_wait(file_lines_at_least, &w, 10000));
	log = harness_read_file(nt.log);
	cr_assert(strstr(log, "exec: timed out; killed") != NULL, "%s", log);
	free(log);
	/* Stopping the notifier ends the command too. */
	nt_notifier_stop(&nt);
}

static bool
out_holds(void *arg)
{
	char *out = harness_read_file(nt.out);
	bool found = out != NULL && strstr(out, (const char *) arg) != NULL;

	free(out);
	return found;
}

Test(notify_sinks, stdout_text_is_the_telegram_words_plain, .init = setup,
     .fini = teardown, .timeout = 60)
{
	static const char *const flags[] = { "--stdout-format", "text", NULL };
	const char *names[] = { "ACC_001" };
	int st[] = { A(ACTIVE) };
	char *out, *down, *back;

	nt_notifier_start(&nt, &srv, "stdout", flags, NULL);
	nt_send_accounts(robot, 1, names, st);
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 10000), 0);
	nt_send_accounts(robot, 1, names, st);
	cr_assert_neq(harness_wait_alert(adm, K(RECOVERED), "R1", "", 10000),
	              0);
	cr_assert(nt_wait(out_holds, "✅ RESOLVED", 10000), "no recovery");
	nt_notifier_stop(&nt);
	out = harness_read_file(nt.out);
	/* The alert as Telegram words it, tags dropped, entities decoded. */
	down = strstr(out, "🔴 CRITICAL · heartbeat missed\nR1 from a local "
	                   "socket\nrobot R1 silent for ");
	cr_assert_not_null(down, "%s", out);
	cr_assert(strstr(down, "\nAccounts: ACC_001 (active)\nTo silence: "
	                       "hbctl ack ") != NULL,
	          "%s", out);
	/* One blank line, then the all-clear, without host or hints. */
	back = strstr(down, "\n\n✅ RESOLVED · heartbeat missed\nR1\nrobot R1 "
	                    "is back after ");
	cr_assert_not_null(back, "%s", out);
	cr_assert_null(strstr(back, "hbctl"), "%s", out);
	cr_assert_null(strstr(out, "<b>"), "%s", out);
	cr_assert_null(strstr(out, "{\""), "%s", out);
	free(out);

	/* A format it does not know stops start-up (exit 2). */
	{
		const char *bin = harness_bin("src/notify/hbmon-notify");
		const char *argv[] = { bin,      "--sink",
			               "stdout", "--stdout-format",
			               "html",   NULL };
		char *err = NULL;
		int rc = harness_run(argv, NULL, NULL, &err, 5000);
		cr_assert_eq(WEXITSTATUS(rc), 2);
		cr_assert(strstr(err, "--stdout-format: 'html' is not one of "
		                      "json, text") != NULL,
		          "%s", err);
		free(err);
	}
}
