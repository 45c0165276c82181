/*
 * The programs as an operator first meets them, run as real processes:
 * --version on every one, the defaults rule (common/paths.h: ./var from
 * the build tree, /var/lib/hbmon for an installed copy, $HBMON_DATA_DIR
 * and --data-dir above both) shared by server, notifier and hbctl,
 * --check-config, and bad configuration exiting 2 before anything is
 * created.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char dir[512];

static void
setup(void)
{
	harness_tmpdir(dir, sizeof(dir));
}

static void
teardown(void)
{
	harness_rmrf(dir);
}

TestSuite(programs, .init = setup, .fini = teardown);

/*
 * Runs prog with args in cwd with extra environment ("NAME=value", or
 * "-NAME" to unset), through env(1). Returns the exit code (asserts that
 * it exited); out/err malloc'd when not NULL.
 */
static int
run_in(const char *cwd, const char *const *envs, const char *prog,
       const char *const *args, char **out, char **err)
{
	const char *argv[64];
	size_t n = 0;
	int st;

	argv[n++] = "/usr/bin/env";
	argv[n++] = "-C";
	argv[n++] = cwd;
	/* The machine's own settings must not leak in. */
	argv[n++] = "-u";
	argv[n++] = "HBMON_DATA_DIR";
	argv[n++] = "-u";
	argv[n++] = "HBMON_ADMIN";
	for (size_t i = 0; envs != NULL && envs[i] != NULL; i++) {
		if (envs[i][0] == '-') {
			argv[n++] = "-u";
			argv[n++] = envs[i] + 1;
		} else {
			argv[n++] = envs[i];
		}
	}
	argv[n++] = prog;
	for (size_t i = 0; args[i] != NULL; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	cr_assert_lt(n, 64);
	st = harness_run(argv, NULL, out, err, 20000);
	cr_assert(WIFEXITED(st), "%s did not exit: %s", prog,
	          err != NULL ? *err : "");
	return WEXITSTATUS(st);
}

#define assert_has(text, part)                                                 \
	cr_assert(strstr((text), (part)) != NULL, "expected \"%s\" in:\n%s",   \
	          (part), (text))

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Copies a built program to DIR/bin/NAME, out of the build tree. */
static const char *
installed_copy(const char *relative)
{
	static char path[8][900];
	static int next;
	char cmd[2400], *p = path[next++ % 8];
	const char *name = strrchr(relative, '/') + 1;

	snprintf(p, 900, "%s/bin/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/bin' && cp '%s' '%s'", dir,
	         harness_bin(relative), p);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	return p;
}

Test(programs, every_program_answers_version, .timeout = 60)
{
	static const char *const programs[][2] = {
		{ "src/server/hbmon-server", "hbmon-server" },
		{ "src/notify/hbmon-notify", "hbmon-notify" },
		{ "tools/hbctl/hbctl", "hbctl" },
		{ "tools/robot/hbmon-robot", "hbmon-robot" },
		{ "tools/bench/hbmon-bench", "hbmon-bench" },
	};
	char want[64], *out, *err;

	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		cr_assert_eq(run_in(dir, NULL, harness_bin(programs[i][0]),
		                    (const char *[]){ "--version", NULL }, &out,
		                    &err),
		             0, "%s --version: %s", programs[i][1], err);
		snprintf(want, sizeof(want), "%s %s\n", programs[i][1],
		         HBMON_VERSION);
		cr_assert_str_eq(out, want);
		cr_assert_str_empty(err, "%s --version said: %s",
		                    programs[i][1], err);
		free(out);
		free(err);
	}
	/* hbctl's is its own: no server is asked (none runs here). */
	cr_assert_eq(run_in(dir, NULL, harness_bin("tools/hbctl/hbctl"),
	                    (const char *[]){ "status", "--version", NULL },
	                    &out, &err),
	             0, "%s", err);
	cr_assert_str_empty(err);
	free(out);
	free(err);
}

Test(programs, build_tree_programs_default_to_dot_var, .timeout = 60)
{
	char var[600], *out;

	cr_assert_eq(run_in(dir, NULL, harness_bin("src/server/hbmon-server"),
	                    (const char *[]){ "--check-config", NULL }, &out,
	                    NULL),
	             0);
	assert_has(out, "data_dir = ./var\n");
	assert_has(out, "admin = ipc://./var/admin.sock\n");
	assert_has(out, "publish = ipc://./var/alerts.sock\n");
	free(out);
	cr_assert_eq(run_in(dir, NULL, harness_bin("src/notify/hbmon-notify"),
	                    (const char *[]){ "--check-config", "--sink",
	                                      "stdout", NULL },
	                    &out, NULL),
	             0);
	assert_has(out, "data_dir = ./var\n");
	assert_has(out, "admin = ipc://./var/admin.sock\n");
	assert_has(out, "subscribe = ipc://./var/alerts.sock\n");
	assert_has(out, "state_dir = ./var\n");
	free(out);
	/* --check-config creates nothing. */
	snprintf(var, sizeof(var), "%s/var", dir);
	cr_assert(!exists(var), "--check-config made %s", var);
}

Test(programs, installed_programs_use_var_lib_hbmon_from_any_directory,
     .timeout = 60)
{
	const char *server = installed_copy("src/server/hbmon-server");
	const char *notify = installed_copy("src/notify/hbmon-notify");
	const char *hbctl = installed_copy("tools/hbctl/hbctl");
	char *out, *err;
	int rc;

	/* Started in /: never /var, never anything relative. */
	cr_assert_eq(run_in("/", NULL, server,
	                    (const char *[]){ "--check-config", NULL }, &out,
	                    NULL),
	             0);
	assert_has(out, "data_dir = /var/lib/hbmon\n");
	assert_has(out, "admin = ipc:///var/lib/hbmon/admin.sock\n");
	assert_has(out, "publish = ipc:///var/lib/hbmon/alerts.sock\n");
	free(out);
	cr_assert_eq(run_in(dir, NULL, notify,
	                    (const char *[]){ "--check-config", "--sink",
	                                      "stdout", NULL },
	                    &out, NULL),
	             0);
	assert_has(out, "data_dir = /var/lib/hbmon\n");
	assert_has(out, "admin = ipc:///var/lib/hbmon/admin.sock\n");
	assert_has(out, "subscribe = ipc:///var/lib/hbmon/alerts.sock\n");
	assert_has(out, "state_dir = /var/lib/hbmon\n");
	free(out);
	/* hbctl, from yet another directory, looks at the same socket. */
	rc = run_in("/tmp", NULL, hbctl,
	            (const char *[]){ "version", "--json", NULL }, &out, &err);
	cr_assert_eq(rc, 0);
	if (strstr(err, "no server version") != NULL) {
		assert_has(err, "ipc:///var/lib/hbmon/admin.sock");
	} else { /* an hbmon-server is installed and running here */
		assert_has(out,
		           "\"admin\":\"ipc:///var/lib/hbmon/admin.sock\"");
	}
	free(out);
	free(err);
}

Test(programs, data_dir_from_the_environment_or_a_flag, .timeout = 120)
{
	struct harness_server srv;
	const char *hbctl = installed_copy("tools/hbctl/hbctl");
	const char *server = installed_copy("src/server/hbmon-server");
	char env[700], other[600], *out, *err;

	snprintf(other, sizeof(other), "%s/other", dir);
	snprintf(env, sizeof(env), "HBMON_DATA_DIR=%s", other);
	cr_assert_eq(run_in(dir, (const char *[]){ env, NULL }, server,
	                    (const char *[]){ "--check-config", NULL }, &out,
	                    NULL),
	             0);
	assert_has(out, "admin = ipc://");
	assert_has(out, "/other/admin.sock\n");
	free(out);
	cr_assert_eq(run_in(dir, (const char *[]){ env, NULL }, server,
	                    (const char *[]){ "--check-config", "--data-dir",
	                                      "/srv/hbmon", NULL },
	                    &out, NULL),
	             0);
	assert_has(out, "data_dir = /srv/hbmon\n");
	free(out);

	/* A real server on its own data dir: hbctl finds it from anywhere
	 * with the same variable, or --data-dir, and no --admin. */
	harness_server_init(&srv);
	cr_assert(harness_server_start(&srv, NULL));
	snprintf(env, sizeof(env), "HBMON_DATA_DIR=%s", srv.dir);
	cr_assert_eq(run_in("/", (const char *[]){ env, NULL }, hbctl,
	                    (const char *[]){ "status", NULL }, NULL, &err),
	             0, "%s", err);
	free(err);
	cr_assert_eq(run_in("/", NULL, hbctl,
	                    (const char *[]){ "--data-dir", srv.dir, "robot",
	                                      "list", NULL },
	                    &out, &err),
	             0, "%s", err);
	assert_has(out, "No robot is registered");
	free(out);
	free(err);
	/* --data-dir beats $HBMON_ADMIN; --admin beats both. */
	cr_assert_eq(
	    run_in("/",
	           (const char *[]){ "HBMON_ADMIN=ipc:///nowhere.sock", NULL },
	           hbctl,
	           (const char *[]){ "status", "--data-dir", srv.dir, NULL },
	           NULL, &err),
	    0, "%s", err);
	free(err);
	cr_assert_eq(run_in("/", (const char *[]){ env, NULL }, hbctl,
	                    (const char *[]){ "status", "--admin",
	                                      "ipc:///nowhere.sock", NULL },
	                    NULL, &err),
	             3);
	assert_has(err, "ipc:///nowhere.sock");
	free(err);
	harness_server_fini(&srv);
}

/*
 * Runs prog FLAG PATH args... (env: one "NAME=value" or NULL) and asserts
 * that it exits 2 saying says, and that PATH (the data or state dir it
 * was given) was not created. case_no names the case in failures.
 */
static void
assert_refused(const char *prog, const char *flag, const char *path,
               const char *const *args, const char *env, const char *says,
               size_t case_no)
{
	const char *argv[16] = { flag, path };
	size_t n = 2;
	char *err;

	for (size_t k = 0; args[k] != NULL; k++) {
		argv[n++] = args[k];
	}
	argv[n] = NULL;
	cr_assert_lt(n, 16);
	cr_assert_eq(
	    run_in(dir, (const char *[]){ env, NULL }, prog, argv, NULL, &err),
	    2, "case %zu (%s): %s", case_no, says, err);
	assert_has(err, says);
	cr_assert(!exists(path), "case %zu created %s", case_no, path);
	free(err);
}

/* Writes text to path with mode. */
static void
write_mode(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

/* mtime of path in ns, 0 when it does not exist. */
static int64_t
mtime_ns(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		return 0;
	}
	return (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

Test(programs, server_bad_configuration_exits_2_before_creating_anything,
     .timeout = 120)
{
	static const struct {
		const char *args[8];
		const char *says;
	} cases[] = {
		{ { "--listen", "tcp://0.0.0.0:abc" },
		  "listen: 'tcp://0.0.0.0:abc': port 'abc' is not a number" },
		{ { "--listen", "tcp://0.0.0.0" }, "no :PORT" },
		{ { "--listen", "udp://0.0.0.0:7781" }, "is not a URL" },
		{ { "--listen", "ipc://" }, "no socket path" },
		{ { "--publish", "tcp://127.0.0.1:70000" }, "port '70000'" },
		{ { "--admin", "tcp://127.0.0.1:7790" },
		  "admin: must be an ipc:// URL" },
		{ { "--admin-tcp", "tls+tcp://127.0.0.1:7790" },
		  "admin_tcp needs admin_secret_file" },
		{ { "--admin-tcp", "tls+tcp://127.0.0.1:x",
		    "--admin-secret-file", "/nonexistent" },
		  "admin_tcp: 'tls+tcp://127.0.0.1:x'" },
		{ { "--admin-tcp", "tls+tcp://127.0.0.1:7790",
		    "--admin-secret-file", "/nonexistent/admin.secret" },
		  "cannot read secret file /nonexistent/admin.secret" },
		{ { "--miss-threshold", "-1" }, "miss-threshold" },
		{ { "--interval-max", "2 minutes" }, "interval-max" },
		{ { "--log-level", "loud" }, "log-level" },
		{ { "--durabilty", "full" }, "durabilty" },
		{ { "stray" }, "unexpected argument 'stray'" },
		{ { "--watch-server", "tcp://127.0.0.1:abc", "--watch-robot",
		    "W", "--watch-secret-file", "/nonexistent/w.secret" },
		  "watch_server: 'tcp://127.0.0.1:abc'" },
		{ { "--watch-server", "tcp://127.0.0.1:7781", "--watch-robot",
		    "W", "--watch-secret-file", "/nonexistent/w.secret" },
		  "watch_secret_file: cannot read secret file" },
	};
	const char *server = harness_bin("src/server/hbmon-server");
	char data[600], db[700], secret[700];

	snprintf(data, sizeof(data), "%s/data", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_refused(server, "--data-dir", data, cases[i].args, NULL,
		               cases[i].says, i);
	}
	/* An admin secret others can read is refused with the fix. */
	snprintf(secret, sizeof(secret), "%s/admin.secret", dir);
	write_mode(secret, "hbs_admin\n", 0644);
	assert_refused(server, "--data-dir", data,
	               (const char *[]){ "--admin-tcp",
	                                 "tls+tcp://127.0.0.1:7790",
	                                 "--admin-secret-file", secret, NULL },
	               NULL, "chmod 600 ", 99);

	/* A data dir that is in use: a typo on the next start leaves the
	 * database as it was, so nothing reports a restart that was not. */
	struct harness_server srv;
	harness_server_init(&srv);
	cr_assert(harness_server_start(&srv, NULL));
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0);
	snprintf(db, sizeof(db), "%s/hbmon.db", srv.dir);
	int64_t before = mtime_ns(db);
	int64_t alerts = harness_store_int(srv.dir, "SELECT count(*) FROM "
	                                            "alerts");
	cr_assert_neq(before, 0);
	harness_sleep_ms(20);
	cr_assert_eq(run_in(dir, NULL, server,
	                    (const char *[]){ "--data-dir", srv.dir, "--listen",
	                                      "tcp://0.0.0.0:abc", NULL },
	                    NULL, NULL),
	             2);
	cr_assert_eq(mtime_ns(db), before, "the typo touched the database");
	cr_assert_eq(harness_store_int(srv.dir, "SELECT count(*) FROM alerts"),
	             alerts);
	harness_server_fini(&srv);
}

Test(programs, notifier_bad_configuration_exits_2_before_creating_anything,
     .timeout = 120)
{
	static const struct {
		const char *args[8];
		const char *env;
		const char *says;
	} cases[] = {
		{ { "--sink", "stdout", "--admin", "tcp://127.0.0.1:abc" },
		  NULL,
		  "admin: 'tcp://127.0.0.1:abc': port 'abc'" },
		{ { "--sink", "stdout", "--subscribe", "alerts.sock" },
		  NULL,
		  "subscribe: 'alerts.sock' is not a URL" },
		{ { "--sink", "stdout", "--robot", "N1", "--server",
		    "tcp://host" },
		  NULL,
		  "server: 'tcp://host': no :PORT" },
		{ { "--sink", "stdout", "--tz", "Mars" },
		  NULL,
		  "tz: unknown time zone 'Mars'" },
		{ { "--sink", "telegram", "--telegram-chat-id", "42",
		    "--telegram-api", "https://api.telegram.org:abc" },
		  "HBMON_TELEGRAM_TOKEN=123:abc",
		  "telegram.api: not a URL curl can use" },
		{ { "--sink", "webhook", "--webhook-url",
		    "https://hooks.example.com:0/x" },
		  "HBMON_WEBHOOK_SECRET=s",
		  "webhook.url: port 0" },
		{ { "--sink", "email", "--email-url", "smtp://mail example",
		    "--email-from", "a@b.c", "--email-to", "d@e.f" },
		  NULL,
		  "email.url: the URL holds a space" },
		{ { "--sink", "telegram", "--telegram-chat-id", "42",
		    "--templates-dir", "/nonexistent-templates" },
		  "HBMON_TELEGRAM_TOKEN=123:abc",
		  "/nonexistent-templates" },
		{ { "--sink", "stdout", "--robot", "N1", "--secret-file",
		    "/nonexistent/n1.secret" },
		  NULL,
		  "cannot read secret file /nonexistent/n1.secret" },
		{ { "--sink", "loudspeaker" }, NULL, "unknown sink" },
		{ { "--sink", "stdout", "--deadman-url",
		    "ftp://ping.example/x" },
		  NULL,
		  "deadman_url: give an http(s):// URL" },
		{ { "--sink", "stdout", "--deadman-url",
		    "https://ping.example:abc/x" },
		  NULL,
		  "deadman_url: not a URL curl can use" },
	};
	const char *notify = harness_bin("src/notify/hbmon-notify");
	char state[600], token[700], *out, *err;

	snprintf(state, sizeof(state), "%s/state", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_refused(notify, "--state-dir", state, cases[i].args,
		               cases[i].env, cases[i].says, i);
	}
	/* A bot token file others can read is refused with the fix. */
	snprintf(token, sizeof(token), "%s/bot-token", dir);
	write_mode(token, "123:abc\n", 0640);
	assert_refused(notify, "--state-dir", state,
	               (const char *[]){ "--sink", "telegram",
	                                 "--telegram-chat-id", "42",
	                                 "--telegram-token-file", token, NULL },
	               NULL, "chmod 600 ", 99);
	/* Made private, the same settings check out, still creating
	 * nothing. */
	chmod(token, 0600);
	cr_assert_eq(
	    run_in(dir, NULL, notify,
	           (const char *[]){ "--state-dir", state, "--sink", "telegram",
	                             "--telegram-chat-id", "42",
	                             "--telegram-token-file", token, "--tz",
	                             "Asia/Jakarta", "--check-config", NULL },
	           &out, &err),
	    0, "%s", err);
	assert_has(out, "tz = Asia/Jakarta\n");
	assert_has(out, "\n[telegram]\n");
	assert_has(out, "chat_id = 42\n");
	cr_assert(strstr(out, "123:abc") == NULL, "the token is in: %s", out);
	cr_assert(!exists(state));
	free(out);
	free(err);
}
