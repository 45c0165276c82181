/*
 * hbctl end to end: every verb against the real hbmon-server, in human
 * form and --json, and the errors an operator meets (bad flags, bad
 * durations, unknown subjects, no server, no permission on the socket).
 */
#include <criterion/criterion.h>
#include <grp.h>
#include <jansson.h>
#include <pty.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "harness.h"
#include "hbctl_test.h"

#define SECRET "hbs_hbctl-cli-test-secret"

/* The seed document's two examples, exactly as written there. */
static const char seed_robot[] = "{\n"
                                 "  \"event\": \"ROBOT_HEARTBEAT\",\n"
                                 "  \"status\": \"healthy\",\n"
                                 "  \"active_accounts\": 12,\n"
                                 "  \"active_tasks\": 5,\n"
                                 "  \"timestamp\": "
                                 "\"2026-01-20T09:30:00+07:00\"\n"
                                 "}\n";
static const char seed_account[] = "{\n"
                                   "  \"event\": \"ACCOUNT_HEARTBEAT\",\n"
                                   "  \"account\": \"ACC_003\",\n"
                                   "  \"status\": \"active\",\n"
                                   "  \"session_valid\": true,\n"
                                   "  \"open_orders\": 2,\n"
                                   "  \"timestamp\": "
                                   "\"2026-01-20T09:30:00+07:00\"\n"
                                   "}\n";

static struct harness_server srv;
static char secret_file[700];

static void
start(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, NULL), "server did not start");
	snprintf(secret_file, sizeof(secret_file), "%s/r1.secret", srv.dir);
	hbctl_write(secret_file, SECRET "\n");
}

static void
stop(void)
{
	harness_server_fini(&srv);
}

/* R1 reports itself and n accounts once, through the robot socket. */
static void
report(int n)
{
	struct harness_robot r;

	harness_robot_init(&r, &srv, "R1", SECRET, n);
	harness_robot_send(&r);
	harness_robot_fini(&r);
}

static json_t *
parse_json(const char *line)
{
	json_error_t e;
	json_t *v = json_loads(line, 0, &e);

	cr_assert_not_null(v, "not JSON (%s): %s", e.text, line);
	return v;
}

/* ---- without a server ---- */

Test(hbctl, help_on_every_verb, .timeout = 60)
{
	static const char *const verbs[][3] = {
		{ "status" },
		{ "accounts" },
		{ "show" },
		{ "history" },
		{ "alerts" },
		{ "pause" },
		{ "resume" },
		{ "ack" },
		{ "robot" },
		{ "robot", "add" },
		{ "robot", "list" },
		{ "robot", "rotate" },
		{ "robot", "remove" },
		{ "robot", "set" },
		{ "send" },
		{ "check" },
		{ "version" },
		{ "help" },
	};
	char *out, *err, want[64];

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char *args[4] = { verbs[i][0], verbs[i][1], NULL, NULL };
		args[verbs[i][1] != NULL ? 2 : 1] = "--help";
		cr_assert_eq(hbctl_run(NULL, args, &out, &err), 0, "%s: %s",
		             verbs[i][0], err);
		snprintf(want, sizeof(want), "usage: hbctl %s%s%s", verbs[i][0],
		         verbs[i][1] ? " " : "",
		         verbs[i][1] ? verbs[i][1] : "");
		if (strcmp(verbs[i][0], "send") == 0) {
			snprintf(want, sizeof(want), "send FILE.json");
		}
		assert_has(out, want);
		assert_has(out, "--json");
		assert_has(out, "Global flags");
		cr_assert_str_empty(err);
		free(out);
		free(err);
	}
	/* hbctl --help lists every verb. */
	cr_assert_eq(
	    hbctl_run(NULL, (const char *[]){ "--help", NULL }, &out, NULL), 0);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		assert_has(out, verbs[i][0]);
	}
	free(out);
}

Test(hbctl, usage_errors_exit_2_and_say_why, .timeout = 60)
{
	static const struct {
		const char *args[8];
		const char *says;
	} cases[] = {
		{ { NULL }, "missing VERB" },
		{ { "stauts", NULL }, "no verb 'stauts'" },
		{ { "status", "--bogus", NULL }, "unknown flag '--bogus'" },
		{ { "--bogus", "status", NULL }, "unknown flag '--bogus'" },
		{ { "pause", "R1", "--for", "2x", NULL },
		  "bad duration '2x' for --for" },
		{ { "pause", "R1", NULL }, "give --for D" },
		{ { "pause", "R1", "--for", NULL }, "--for needs a value" },
		{ { "history", "R1", "--since", "yesterday", NULL },
		  "bad time 'yesterday' for --since" },
		{ { "history", "R1", "--since", "1h", "--until", "2h", NULL },
		  "--until is before --since" },
		{ { "show", NULL }, "missing SUBJECT" },
		{ { "show", "R1/", NULL }, "'R1/' is not a subject" },
		{ { "show", "R1", "R2", NULL }, "unexpected argument 'R2'" },
		{ { "ack", "twelve", NULL }, "ALERT_SEQ 'twelve' must be" },
		{ { "alerts", "--severity", "loud", NULL },
		  "--severity 'loud' is not one of" },
		{ { "alerts", "--kind", "FIRE", NULL },
		  "--kind 'FIRE' is not an alert kind" },
		{ { "alerts", "--count", "3", NULL }, "go with --follow" },
		{ { "--tz", "Mars", "status", NULL },
		  "bad --tz: unknown time zone 'Mars'" },
		{ { "--tz", "+25:00", "status", NULL },
		  "bad --tz: '+25:00' is not a UTC offset" },
		{ { "--tz", "../../etc/passwd", "status", NULL },
		  "is neither a UTC offset" },
		{ { "--admin", "tcp://127.0.0.1:abc", "status", NULL },
		  "--admin: 'tcp://127.0.0.1:abc': port 'abc'" },
		{ { "--admin", "http://127.0.0.1/", "status", NULL },
		  "is not a URL this setting takes" },
		{ { "--data-dir", "", "status", NULL }, "--data-dir is empty" },
		{ { "--robot", "R1", "--server", "tcp://:99999", "send",
		    "f.json", NULL },
		  "--server: 'tcp://:99999': port '99999'" },
		{ { "robot", "rotate", "R1", "--force", NULL },
		  "--force goes with --secret-file F" },
		{ { "--timeout", "0", "status", NULL }, "--timeout '0'" },
		{ { "robot", "add", NULL }, "missing ID" },
		{ { "robot", "fly", NULL }, "no robot verb 'fly'" },
		{ { "--secret", "x", "send", "f.json", NULL },
		  "never taken from the command line" },
		{ { "send", "f.json", NULL }, "which robot?" },
	};
	char *out, *err;

	unsetenv("HBMON_ROBOT");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = hbctl_run("ipc:///nonexistent-hbmon/admin.sock",
		                   cases[i].args, &out, &err);
		cr_assert_eq(rc, 2, "case %zu (%s): exit %d\n%s", i,
		             cases[i].says, rc, err);
		assert_has(err, cases[i].says);
		cr_assert_str_empty(out, "case %zu wrote to stdout: %s", i,
		                    out);
		free(out);
		free(err);
	}
}

Test(hbctl, server_not_running_says_what_to_do, .timeout = 60)
{
	static const char *const verbs[][3] = {
		{ "status" },   { "accounts" },           { "show", "R1" },
		{ "alerts" },   { "history", "R1" },      { "robot", "list" },
		{ "ack", "1" }, { "alerts", "--follow" },
	};
	char dir[512], admin[600];
	char *out, *err;

	harness_tmpdir(dir, sizeof(dir));
	snprintf(admin, sizeof(admin), "ipc://%s/admin.sock", dir);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char *args[4] = { verbs[i][0], verbs[i][1], verbs[i][2],
			                NULL };
		cr_assert_eq(hbctl_run(admin, args, &out, &err), 3, "%s: %s",
		             verbs[i][0], err);
		assert_has(err, "cannot connect to ");
		assert_has(err, admin);
		assert_has(err, "is hbmon-server running?");
		assert_has(err, "(--admin URL)");
		free(out);
		free(err);
	}
	/* check: a Nagios UNKNOWN, on stdout where Nagios reads it. */
	cr_assert_eq(
	    hbctl_run(admin, (const char *[]){ "check", NULL }, &out, &err), 3);
	assert_has(out, "HBMON UNKNOWN - cannot connect to");
	free(out);
	free(err);
	/* version: hbctl's own, and a note that the server is away. */
	cr_assert_eq(
	    hbctl_run(admin, (const char *[]){ "version", NULL }, &out, &err),
	    0);
	assert_has(out, "hbctl " HBMON_VERSION);
	assert_has(err, "no server version");
	free(out);
	free(err);
	/* The default URL is relative to the working directory. */
	setenv("HBMON_ADMIN", admin, 1);
	cr_assert_eq(
	    hbctl_run(NULL, (const char *[]){ "status", NULL }, NULL, &err), 3);
	assert_has(err, admin);
	free(err);
	harness_rmrf(dir);
}

/* ---- against a running server ---- */

Test(hbctl, permission_denied_on_the_admin_socket, .init = start, .fini = stop,
     .timeout = 60)
{
	struct passwd *nobody = getpwnam("nobody");
	char out_path[700], err_path[700];
	const char *argv[8];
	char *out, *err;
	pid_t pid;
	int st;

	if (geteuid() != 0 || nobody == NULL) {
		cr_skip_test("needs root and a 'nobody' user to run hbctl as "
		             "another user than the server's");
	}
	/* Only the socket's own mode 0600 keeps nobody out. */
	cr_assert_eq(chmod(srv.dir, 0755), 0);
	snprintf(out_path, sizeof(out_path), "%s/out", srv.dir);
	snprintf(err_path, sizeof(err_path), "%s/err", srv.dir);
	hbctl_argv(argv, 8, srv.admin, (const char *[]){ "status", NULL });
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		dup2(o, 1);
		dup2(e, 2);
		if (setgroups(0, NULL) != 0 || setgid(nobody->pw_gid) != 0 ||
		    setuid(nobody->pw_uid) != 0) {
			_exit(125);
		}
		execv(argv[0], (char *const *) argv);
		_exit(126); /* nobody cannot reach the build tree */
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	if (WEXITSTATUS(st) == 125 || WEXITSTATUS(st) == 126) {
		cr_skip_test("cannot run hbctl as nobody (exit %d): the build "
		             "tree is not reachable for other users",
		             WEXITSTATUS(st));
	}
	out = harness_read_file(out_path);
	err = harness_read_file(err_path);
	cr_assert_eq(WEXITSTATUS(st), 3, "%s%s", out, err);
	assert_has(err, "permission denied on ");
	assert_has(err, srv.admin);
	assert_has(err, "mode 0600");
	assert_has(err, "run hbctl as the user hbmon-server runs as");
	free(out);
	free(err);
}

/*
 * A robot removed while its latest state still waits to be written (the
 * server writes it behind the requests): nothing of it is written later,
 * and the other robots' state still is, at the latest at exit.
 */
Test(hbctl, remove_robot_with_state_unwritten, .timeout = 60)
{
	const char *args[] = { "--flush-when-idle=false", "--flush-interval",
		               "1h", NULL };
	struct harness_robot r;
	char *out, *err;

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	harness_robot_add(&srv, "R2", SECRET);
	cr_assert(harness_server_start(&srv, args), "server did not start");
	harness_robot_init(&r, &srv, "R1", SECRET, 3);
	harness_robot_send(&r);
	harness_robot_fini(&r);
	harness_robot_init(&r, &srv, "R2", SECRET, 2);
	harness_robot_send(&r);
	harness_robot_fini(&r);
	/* Recorded, but the latest state is not written yet. */
	cr_assert_eq(harness_heartbeats(&srv, "R2", ""), 1);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM subjects"
	                                     " WHERE status != 0"),
	             0);

	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "remove", "R1", NULL }, &out,
	              &err),
	    0, "%s%s", out, err);
	free(out);
	free(err);
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0, "%s",
	             harness_server_log(&srv));
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM subjects"
	                                     " WHERE robot = 'R1'"),
	             0);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM subjects"
	                                     " WHERE robot = 'R2' AND"
	                                     " status != 0"),
	             3);
	harness_server_fini(&srv);
}

Test(hbctl, robot_add_list_rotate_remove, .init = start, .fini = stop,
     .timeout = 60)
{
	char *out, *err, secret[128], old_secret[128], path[700];
	regex_t re;
	regmatch_t m[2];
	json_t *v;

	/* SPEC §6: exactly {"robot": ID, "secret": S} on one line. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "add", "R7", "--json", NULL },
	              &out, &err),
	    0, "%s", err);
	cr_assert_eq(regcomp(&re,
	                     "^\\{\"robot\": \"R7\", \"secret\": "
	                     "\"([A-Za-z0-9_-]+)\"\\}\n$",
	                     REG_EXTENDED),
	             0);
	cr_assert_eq(regexec(&re, out, 2, m, 0), 0, "not the contract: %s",
	             out);
	snprintf(secret, sizeof(secret), "%.*s",
	         (int) (m[1].rm_eo - m[1].rm_so), out + m[1].rm_so);
	free(out);
	free(err);

	/* Human form: the secret once, with a note that it is only shown
	 * now. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "add", "R8", NULL },
	                       &out, &err),
	             0);
	assert_has(out, "Registered robot R8");
	assert_has(out, "shown only this once");
	assert_has(out, "hbs_");
	free(out);
	free(err);

	/* Twice: refused, with the way out. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "add", "R7", NULL },
	                       &out, &err),
	             1);
	assert_has(err, "already registered");
	assert_has(err, "robot rotate R7");
	free(out);
	free(err);

	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "list", NULL }, &out,
	                       &err),
	             0);
	assert_has(out, "ROBOT");
	assert_has(out, "LAST SEEN");
	assert_has(out, "R1 ");
	assert_has(out, "R7 ");
	assert_has(out, "R8 ");
	assert_has(out, "never");
	free(out);
	free(err);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "list", "--json", NULL }, &out,
	              &err),
	    0);
	cr_assert_eq(hbctl_lines(out), 3, "%s", out);
	v = parse_json(strtok(out, "\n"));
	cr_assert_str_eq(json_string_value(json_object_get(v, "robot")), "R1");
	json_decref(v);
	free(out);
	free(err);

	/* The new secret works for send; after rotate only the new one. */
	snprintf(path, sizeof(path), "%s/robot.json", srv.dir);
	hbctl_write(path, seed_robot);
	setenv("HBMON_SECRET", secret, 1);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server", srv.listen, "--robot", "R7",
	                                "send", path, NULL },
	              &out, &err),
	    0, "%s%s", out, err);
	free(out);
	free(err);
	snprintf(old_secret, sizeof(old_secret), "%s", secret);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "rotate", "R7",
	                                         "--json", NULL },
	                       &out, &err),
	             0);
	v = parse_json(out);
	snprintf(secret, sizeof(secret), "%s",
	         json_string_value(json_object_get(v, "secret")));
	cr_assert_str_neq(secret, old_secret);
	json_decref(v);
	free(out);
	free(err);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server", srv.listen, "--robot", "R7",
	                                "send", path, NULL },
	              &out, &err),
	    3, "the old secret still works: %s", out);
	assert_has(err, "refused the request");
	assert_has(err, "--secret-file");
	free(out);
	free(err);
	setenv("HBMON_SECRET", secret, 1);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server", srv.listen, "--robot", "R7",
	                                "send", path, NULL },
	              &out, &err),
	    0, "%s%s", out, err);
	free(out);
	free(err);

	/* Remove, and a second time: no such robot. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "remove", "R8", NULL }, &out,
	              &err),
	    0);
	assert_has(out, "Removed robot R8");
	free(out);
	free(err);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "remove", "R8", NULL }, &out,
	              &err),
	    4);
	assert_has(err, "not registered");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "list", NULL }, &out,
	                       &err),
	             0);
	assert_lacks(out, "R8");
	free(out);
	free(err);
	regfree(&re);
}

/* The whole of a file, "" when it cannot be read. */
static char *
slurp(const char *path)
{
	return harness_read_file(path);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_mode & 07777;
}

/* Sends the seed's robot heartbeat as robot with the secret in file. */
static int
send_with(const char *robot, const char *file, char **err)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/robot.json", srv.dir);
	hbctl_write(path, seed_robot);
	unsetenv("HBMON_SECRET");
	return hbctl_run(srv.admin,
	                 (const char *[]){ "--server", srv.listen, "--robot",
	                                   robot, "--secret-file", file, "send",
	                                   path, NULL },
	                 NULL, err);
}

Test(hbctl, robot_secret_goes_to_a_file_mode_0600, .init = start, .fini = stop,
     .timeout = 60)
{
	char file[700], other[700], *out, *err, *first, *second;

	/* A wide umask must not matter. */
	umask(022);
	snprintf(file, sizeof(file), "%s/r2.secret", srv.dir);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "add", "R2",
	                                         "--secret-file", file, NULL },
	                       &out, &err),
	             0, "%s", err);
	first = slurp(file);
	cr_assert(strncmp(first, "hbs_", 4) == 0, "%s", first);
	cr_assert_eq(first[strlen(first) - 1], '\n');
	cr_assert_eq(mode_of(file), 0600);
	/* Nothing secret on stdout or stderr; the way to use it instead. */
	first[strlen(first) - 1] = '\0';
	assert_lacks(out, first);
	assert_lacks(err, first);
	assert_lacks(out, "hbs_");
	assert_has(out, "Registered robot R2; its secret is in ");
	assert_has(out, "--secret-file ");
	free(out);
	free(err);
	cr_assert_eq(send_with("R2", file, &err), 0, "%s", err);
	free(err);

	/* An existing file is never overwritten without --force, and the
	 * robot is not added behind the refusal. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "add", "R3",
	                                         "--secret-file", file, NULL },
	                       &out, &err),
	             2);
	assert_has(err, "already exists; --force replaces it");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "list", NULL }, &out,
	                       NULL),
	             0);
	assert_lacks(out, "R3");
	free(out);
	/* Nor when the file cannot be made: nothing done on the server. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "add", "R4", "--secret-file",
	                                "/nonexistent-dir/r4.secret", NULL },
	              &out, &err),
	    2);
	assert_has(err,
	           "cannot create a file beside /nonexistent-dir/r4.secret");
	free(out);
	free(err);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "list", "--json", NULL }, &out,
	              NULL),
	    0);
	assert_lacks(out, "R4");
	free(out);

	/* rotate --force puts the new secret in the robot's own file: the
	 * old one is refused, the file's one works. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "rotate", "R2",
	                                         "--secret-file", file,
	                                         "--force", "--json", NULL },
	                       &out, &err),
	             0, "%s", err);
	cr_assert_eq(hbctl_lines(out), 1);
	assert_has(out, "{\"robot\":\"R2\",\"secret_file\":\"");
	assert_lacks(out, "hbs_");
	free(out);
	free(err);
	second = slurp(file);
	second[strlen(second) - 1] = '\0';
	cr_assert_str_neq(first, second);
	cr_assert_eq(mode_of(file), 0600);
	cr_assert_eq(send_with("R2", file, &err), 0, "%s", err);
	free(err);
	snprintf(other, sizeof(other), "%s/old.secret", srv.dir);
	hbctl_write(other, first);
	cr_assert_eq(send_with("R2", other, &err), 3, "the old secret works");
	free(err);
	/* No temporary file is left beside it. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "add", "R5", "--secret-file",
	                                other, "--force", NULL },
	              NULL, NULL),
	    0);
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q '^\\.'", srv.dir);
	cr_assert_neq(system(cmd), 0, "a temporary file was left in %s",
	              srv.dir);

	/* A secret file others can read is refused with the fix. */
	chmod(file, 0644);
	cr_assert_eq(send_with("R2", file, &err), 2);
	assert_has(err, "chmod 600 ");
	free(err);
	free(first);
	free(second);
}

Test(hbctl, robot_set_gives_a_robot_its_own_interval, .init = start,
     .fini = stop, .timeout = 60)
{
	char *out, *err;

	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "set", "R1", "--interval-max",
	                                "10m", NULL },
	              &out, &err),
	    0, "%s", err);
	assert_has(out, "interval_max 10m");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "list", NULL }, &out,
	                       &err),
	             0);
	assert_has(out, "10m");
	free(out);
	free(err);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "robot", "set", "R1", "--interval-max",
	                                "default", "--json", NULL },
	              &out, &err),
	    0);
	assert_has(out, "\"interval_max\":null");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "robot", "set", "R9",
	                                         "--interval-max", "5m", NULL },
	                       &out, &err),
	             4);
	free(out);
	free(err);
}

Test(hbctl, send_the_seed_examples_then_show_them, .init = start, .fini = stop,
     .timeout = 60)
{
	char robot_path[700], account_path[700];
	char *out, *err;
	json_t *v, *seed, *hbs, *last;

	snprintf(robot_path, sizeof(robot_path), "%s/robot.json", srv.dir);
	snprintf(account_path, sizeof(account_path), "%s/account.json",
	         srv.dir);
	hbctl_write(robot_path, seed_robot);
	hbctl_write(account_path, seed_account);

	/* As SPEC §6 writes it: --server --robot --secret-file send. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server", srv.listen, "--robot", "R1",
	                                "--secret-file", secret_file, "send",
	                                robot_path, NULL },
	              &out, &err),
	    0, "%s%s", out, err);
	cr_assert_str_eq(out, "R1: recorded\n");
	free(out);
	free(err);
	/* The secret from the environment, the result as JSON. */
	setenv("HBMON_SECRET", SECRET, 1);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server", srv.listen, "--robot", "R1",
	                                "send", account_path, "--json", NULL },
	              &out, &err),
	    0, "%s%s", out, err);
	v = parse_json(out);
	cr_assert_str_eq(json_string_value(json_object_get(v, "subject")),
	                 "R1/ACC_003");
	cr_assert(json_is_true(json_object_get(v, "recorded")));
	json_decref(v);
	free(out);
	free(err);

	/* show: the robot as reported. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "show", "R1", NULL }, &out,
	                       &err),
	             0, "%s", err);
	assert_has(out, "R1 (robot)");
	assert_has(out, "healthy");
	assert_has(out, "active accounts 12 (as reported)");
	assert_has(out, "active tasks    5");
	assert_has(out, "2026-01-20T09:30:00+07:00");
	assert_has(out, "(first) -> healthy");
	assert_has(out, "\"active_accounts\":12");
	free(out);
	free(err);

	/* show --json: the account's last heartbeat is the seed's. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "show", "R1/ACC_003", "--json", NULL },
	              &out, &err),
	    0, "%s", err);
	cr_assert_eq(hbctl_lines(out), 1);
	v = parse_json(out);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(v, "state"), "status")),
	                 "active");
	cr_assert_eq(json_integer_value(json_object_get(
	                 json_object_get(v, "state"), "open_orders")),
	             2);
	hbs = json_object_get(v, "heartbeats");
	cr_assert_geq(json_array_size(hbs), 1);
	last = json_object_get(json_array_get(hbs, json_array_size(hbs) - 1),
	                       "heartbeat");
	seed = parse_json(seed_account);
	cr_assert(json_equal(last, seed), "not the seed's heartbeat: %s", out);
	json_decref(seed);
	json_decref(v);
	free(out);
	free(err);

	/* The seed's timestamp is long past: the server says so. */
	cr_assert_eq(hbctl_run(srv.admin, (const char *[]){ "alerts", NULL },
	                       &out, &err),
	             0);
	assert_has(out, "CLOCK_SKEW");
	free(out);
	free(err);
}

Test(hbctl, send_refuses_what_is_not_the_documented_json, .init = start,
     .fini = stop, .timeout = 60)
{
	char path[700];
	char *out, *err;

	snprintf(path, sizeof(path), "%s/bad.json", srv.dir);
	hbctl_write(path, "{\"event\": \"ROBOT_HEARTBEAT\", \"status\": "
	                  "\"fine\", \"active_accounts\": 1, "
	                  "\"active_tasks\": 0, \"timestamp\": "
	                  "\"2026-01-20T09:30:00+07:00\"}");
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server", srv.listen, "--robot", "R1",
	                                "--secret-file", secret_file, "send",
	                                path, NULL },
	              &out, &err),
	    2);
	assert_has(err, "is not heartbeat JSON as documented");
	assert_has(err, "'fine'");
	free(out);
	free(err);
	/* Parsed fine, refused by the server's rules: exit 1, said why. */
	hbctl_write(path, "{\"event\": \"ROBOT_HEARTBEAT\", \"status\": "
	                  "\"healthy\", \"active_accounts\": 1, "
	                  "\"active_tasks\": 0, \"timestamp\": \"noon\"}");
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server", srv.listen, "--robot", "R1",
	                                "--secret-file", secret_file, "send",
	                                path, NULL },
	              &out, &err),
	    1);
	assert_has(out, "R1: refused (INVALID_ARGUMENT)");
	assert_has(out, "noon");
	free(out);
	free(err);
	/* From standard input. */
	{
		const char *argv[16];
		char *o = NULL, *e = NULL;
		int st;

		hbctl_argv(argv, 16, srv.admin,
		           (const char *[]){ "--server", srv.listen, "--robot",
		                             "R1", "--secret-file", secret_file,
		                             "send", "-", NULL });
		st = harness_run(argv, seed_account, &o, &e, HBCTL_RUN_MS);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s%s", o, e);
		assert_has(o, "R1/ACC_003: recorded");
		free(o);
		free(e);
	}
	/* Nobody listening at --server. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--server",
	                                "ipc:///nonexistent-hbmon/r.sock",
	                                "--robot", "R1", "--secret-file",
	                                secret_file, "send", path, NULL },
	              &out, &err),
	    3);
	assert_has(err, "(--server URL)");
	free(out);
	free(err);
}

Test(hbctl, status_and_accounts, .init = start, .fini = stop, .timeout = 60)
{
	char *out, *err;
	json_t *v;

	/* Registered and never heard from: listed as unknown. */
	cr_assert_eq(hbctl_run(srv.admin, (const char *[]){ "status", NULL },
	                       &out, &err),
	             0);
	assert_has(out, "R1     unknown");
	assert_has(out, "never");
	free(out);
	free(err);

	report(3);
	cr_assert_eq(hbctl_run(srv.admin, (const char *[]){ "status", NULL },
	                       &out, &err),
	             0, "%s", err);
	assert_has(out, "ROBOT  LIVENESS  HEALTH   LAST SEEN");
	assert_has(out, "R1     ok        healthy  ");
	assert_has(out, "3 (3 active)");
	assert_lacks(out, "\033[");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "status", "--json", NULL },
	                       &out, &err),
	             0);
	cr_assert_eq(hbctl_lines(out), 1);
	v = parse_json(out);
	cr_assert_str_eq(json_string_value(json_object_get(v, "subject")),
	                 "R1");
	cr_assert_str_eq(json_string_value(json_object_get(v, "liveness")),
	                 "ok");
	cr_assert_str_eq(json_string_value(json_object_get(v, "status")),
	                 "healthy");
	cr_assert_eq(json_integer_value(json_object_get(
	                 json_object_get(v, "accounts"), "total")),
	             3);
	json_decref(v);
	free(out);
	free(err);

	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "accounts", "R1", NULL }, &out,
	                       &err),
	             0);
	assert_has(out, "ACCOUNT     LIVENESS  STATUS  SESSION  ORDERS");
	assert_has(out, "R1/ACC_001  ok        active  valid    0");
	assert_has(out, "R1/ACC_003");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "accounts", "--json", NULL },
	                       &out, &err),
	             0);
	cr_assert_eq(hbctl_lines(out), 3, "%s", out);
	v = parse_json(strtok(out, "\n"));
	cr_assert_str_eq(json_string_value(json_object_get(v, "subject")),
	                 "R1/ACC_001");
	cr_assert(json_is_true(json_object_get(v, "session_valid")));
	json_decref(v);
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "accounts", "R9", NULL }, &out,
	                       &err),
	             4);
	assert_has(err, "no robot 'R9'");
	free(out);
	free(err);
}

Test(hbctl, unknown_subjects_exit_4_and_say_so, .init = start, .fini = stop,
     .timeout = 60)
{
	static const struct {
		const char *args[6];
		const char *says;
	} cases[] = {
		{ { "show", "R9", NULL }, "no robot 'R9' has reported" },
		{ { "show", "R1/NOPE", NULL }, "no account 'R1/NOPE'" },
		{ { "show", "R9", "--json", NULL }, "no robot 'R9'" },
		{ { "history", "R9", NULL }, "no robot 'R9'" },
		{ { "pause", "R9", "--for", "1h", NULL }, "no robot 'R9'" },
		{ { "resume", "R9", NULL }, "no robot 'R9'" },
		{ { "ack", "999", NULL }, "999" },
	};
	char *out, *err;

	report(1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(hbctl_run(srv.admin, cases[i].args, &out, &err), 4,
		             "case %zu: %s", i, err);
		assert_has(err, cases[i].says);
		cr_assert_str_empty(out);
		free(out);
		free(err);
	}
}

Test(hbctl, history_in_a_range, .init = start, .fini = stop, .timeout = 60)
{
	char *out, *err, *line, *save = NULL;
	size_t heartbeats = 0, transitions = 0;

	report(1);
	report(1);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "history", "R1", "--since",
	                                         "10m", NULL },
	                       &out, &err),
	             0, "%s", err);
	assert_has(out, "RECEIVED");
	assert_has(out, "change     (first) -> healthy");
	assert_has(out, "heartbeat  {\"event\":\"ROBOT_HEARTBEAT\"");
	cr_assert_eq(hbctl_lines(out), 4, "%s", out);
	free(out);
	free(err);

	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "history", "R1/ACC_001",
	                                         "--json", NULL },
	                       &out, &err),
	             0);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *v = parse_json(line);
		const char *type =
		    json_string_value(json_object_get(v, "type"));
		heartbeats += strcmp(type, "heartbeat") == 0;
		transitions += strcmp(type, "transition") == 0;
		json_decref(v);
	}
	cr_assert_eq(heartbeats, 2);
	cr_assert_eq(transitions, 1);
	free(out);
	free(err);

	/* A range that ended before anything: nothing, said so. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "history", "R1", "--since",
	                                         "2h", "--until", "1h", NULL },
	                       &out, &err),
	             0);
	assert_has(out, "Nothing recorded for R1");
	free(out);
	free(err);
	/* --limit: the first N, and a note that there is more. */
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "history", "R1", "--limit", "1", NULL },
	              &out, &err),
	    0);
	assert_has(err, "raise --limit");
	free(out);
	free(err);
}

/* The open_orders of the heartbeat lines of `hbctl history ... --json`,
 * in the order shown; returns how many. */
static size_t
history_orders(const char *const *args, json_int_t *orders, size_t max)
{
	char *out, *err, *line, *save = NULL;
	size_t n = 0;

	cr_assert_eq(hbctl_run(srv.admin, args, &out, &err), 0, "%s", err);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *v = parse_json(line);

		if (strcmp(json_string_value(json_object_get(v, "type")),
		           "heartbeat") == 0 &&
		    n < max) {
			orders[n++] = json_integer_value(json_object_get(
			    json_object_get(v, "heartbeat"), "open_orders"));
		}
		json_decref(v);
	}
	free(out);
	free(err);
	return n;
}

Test(hbctl, history_limit_is_the_newest_newest_first, .init = start,
     .fini = stop, .timeout = 60)
{
	struct harness_robot r;
	json_int_t orders[8];
	char *out, *err;

	/* Five heartbeats told apart by their open orders: 0, 1, ..., 4. */
	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	for (uint32_t i = 0; i < 5; i++) {
		r.open_orders[0] = i;
		harness_robot_send(&r);
	}
	harness_robot_fini(&r);

	cr_assert_eq(
	    history_orders((const char *[]){ "history", "R1/ACC_001", "--limit",
	                                     "3", "--json", NULL },
	                   orders, 8),
	    3);
	cr_assert_eq(orders[0], 4);
	cr_assert_eq(orders[1], 3);
	cr_assert_eq(orders[2], 2);

	/* --oldest-first: the server's order for clients that ask nothing. */
	cr_assert_eq(
	    history_orders((const char *[]){ "history", "R1/ACC_001", "--limit",
	                                     "3", "--oldest-first", "--json",
	                                     NULL },
	                   orders, 8),
	    3);
	cr_assert_eq(orders[0], 0);
	cr_assert_eq(orders[1], 1);
	cr_assert_eq(orders[2], 2);

	/* The note says which end was kept; the table starts at the
	 * latest. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "history", "R1/ACC_001",
	                                         "--limit", "2", NULL },
	                       &out, &err),
	             0, "%s", err);
	assert_has(err, "these are the newest");
	cr_assert(strstr(out, "\"open_orders\":4") <
	              strstr(out, "\"open_orders\":3"),
	          "%s", out);
	cr_assert_not_null(strstr(out, "\"open_orders\":3"), "%s", out);
	free(out);
	free(err);
}

Test(hbctl, pause_and_resume, .init = start, .fini = stop, .timeout = 60)
{
	char *out, *err;
	json_t *v;

	report(2);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--tz", "+07:00", "pause", "R1",
	                                "--for", "2h", "--reason",
	                                "broker maintenance", NULL },
	              &out, &err),
	    0, "%s", err);
	assert_has(out, "Paused R1 until ");
	assert_has(out, "+07:00 (in ");
	assert_has(out, "broker maintenance");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin, (const char *[]){ "status", NULL },
	                       &out, &err),
	             0);
	/* Overview carries no reason (show does): the end is enough. */
	assert_has(out, "paused until ");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "accounts", "R1", NULL }, &out,
	                       &err),
	             0);
	assert_has(out, "R1/ACC_001  paused");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "show", "R1", "--json", NULL },
	                       &out, &err),
	             0);
	v = parse_json(out);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(v, "state"), "pause_reason")),
	                 "broker maintenance");
	cr_assert(json_is_string(
	    json_object_get(json_object_get(v, "state"), "paused_until")));
	json_decref(v);
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "show", "R1", NULL }, &out,
	                       &err),
	             0);
	assert_has(out, "paused          until ");
	assert_has(out, ": broker maintenance");
	free(out);
	free(err);

	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "resume", "R1", "--json", NULL }, &out,
	              &err),
	    0);
	assert_has(out, "\"subject\":\"R1\"");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin, (const char *[]){ "status", NULL },
	                       &out, &err),
	             0);
	assert_lacks(out, "paused");
	assert_has(out, " ok ");
	free(out);
	free(err);
}

Test(hbctl, ack_an_alert, .init = start, .fini = stop, .timeout = 60)
{
	struct harness_robot r;
	struct rpc_client *adm = harness_admin(&srv);
	uint64_t seq;
	char arg[32], *out, *err;

	harness_robot_init(&r, &srv, "R1", SECRET, 1);
	r.skew_ms = 600 * 1000;
	harness_robot_send(&r);
	harness_robot_fini(&r);
	seq = harness_wait_alert(
	    adm, HBMON__V1__ALERT_KIND__ALERT_KIND_CLOCK_SKEW, "R1", "", 5000);
	cr_assert_neq(seq, 0);
	rpc_client_close(adm);
	snprintf(arg, sizeof(arg), "%llu", (unsigned long long) seq);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "ack", arg, "--by", "ops", NULL }, &out,
	              &err),
	    0, "%s", err);
	assert_has(out, "Acknowledged alert");
	assert_has(out, "(by ops)");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "ack", arg, "--json", NULL },
	                       &out, &err),
	             0, "%s", err);
	assert_has(out, "\"acked\":");
	free(out);
	free(err);
}

Test(hbctl, version_of_client_and_server, .init = start, .fini = stop,
     .timeout = 60)
{
	char *out, *err;
	json_t *v;

	cr_assert_eq(hbctl_run(srv.admin, (const char *[]){ "version", NULL },
	                       &out, &err),
	             0);
	assert_has(out, "hbctl " HBMON_VERSION "\n");
	assert_has(out, "hbmon-server " HBMON_VERSION " at ");
	cr_assert_str_empty(err);
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "version", "--json", NULL },
	                       &out, &err),
	             0);
	v = parse_json(out);
	cr_assert_str_eq(json_string_value(json_object_get(v, "hbctl")),
	                 HBMON_VERSION);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(v, "server"), "version")),
	                 HBMON_VERSION);
	json_decref(v);
	free(out);
	free(err);
}

Test(hbctl, times_in_the_chosen_offset, .init = start, .fini = stop,
     .timeout = 60)
{
	char *out, *err;

	report(1);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "show", "R1", "--tz", "+07:00", NULL },
	              &out, &err),
	    0);
	assert_has(out, "+07:00)");
	free(out);
	free(err);
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "--tz", "-05:30", "robot",
	                                         "list", "--json", NULL },
	                       &out, &err),
	             0);
	assert_has(out, "-05:30\"");
	free(out);
	free(err);
	cr_assert_eq(
	    hbctl_run(srv.admin,
	              (const char *[]){ "--tz", "Z", "robot", "list", NULL },
	              &out, &err),
	    0);
	assert_has(out, "Z  ");
	free(out);
	free(err);
}

/* The offset libc gives zone at unix second t, as RFC 3339 writes it. */
static void
zone_offset(const char *zone, int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t) (ms / 1000);
	struct tm tm;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", zone, 1);
	tzset();
	localtime_r(&t, &tm);
	if (tm.tm_gmtoff == 0) {
		snprintf(buf, len, "Z");
	} else {
		long m = labs(tm.tm_gmtoff) / 60;
		snprintf(buf, len, "%c%02ld:%02ld",
		         tm.tm_gmtoff < 0 ? '-' : '+', m / 60, m % 60);
	}
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

Test(hbctl, times_in_a_named_zone_follow_daylight_saving, .init = start,
     .fini = stop, .timeout = 60)
{
	/* Pauses ending in winter and in summer (New York: -05:00, then
	 * -04:00), whatever today is: each until is a fixed instant. */
	static const struct {
		int64_t until_ms;
		const char *zone;
		const char *shown;
	} cases[] = {
		{ INT64_C(1800451200000), "America/New_York",
		  "2027-01-20T08:20:00-05:00" },
		{ INT64_C(1816089600000), "America/New_York",
		  "2027-07-20T09:20:00-04:00" },
		{ INT64_C(1816089600000), "Europe/London",
		  "2027-07-20T14:20:00+01:00" },
		{ INT64_C(1800451200000), "Europe/London",
		  "2027-01-20T13:20:00Z" },
		{ INT64_C(1816089600000), "Asia/Jakarta",
		  "2027-07-20T20:20:00+07:00" },
	};
	char *out, *err, dur[64], want[128];

	report(1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* --for is counted from hbctl's clock: a few ms off at most;
		 * the times are checked to the minute. */
		snprintf(
		    dur, sizeof(dur), "%llds",
		    (long long) ((cases[i].until_ms + 30000 - clock_wall_ms()) /
		                 1000));
		cr_assert_eq(hbctl_run(srv.admin,
		                       (const char *[]){ "--tz", cases[i].zone,
		                                         "pause", "R1", "--for",
		                                         dur, "--json", NULL },
		                       &out, &err),
		             0, "%s", err);
		snprintf(want, sizeof(want), "\"paused_until\":\"%.16s",
		         cases[i].shown);
		assert_has(out, want);
		assert_has(out, cases[i].shown + 19);
		free(out);
		free(err);
	}
	/* The table form too, and the zone's offset for times now. */
	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "show", "R1", "--tz",
	                                         "America/New_York", NULL },
	                       &out, &err),
	             0, "%s", err);
	zone_offset("America/New_York", clock_wall_ms(), want, sizeof(want));
	assert_has(out, want);
	free(out);
	free(err);
	/* Without --tz: the machine's zone (TZ here) at each instant, not
	 * today's offset applied to every time. */
	setenv("TZ", "America/New_York", 1);
	for (size_t i = 0; i < 2; i++) {
		snprintf(
		    dur, sizeof(dur), "%llds",
		    (long long) ((cases[i].until_ms + 30000 - clock_wall_ms()) /
		                 1000));
		cr_assert_eq(hbctl_run(srv.admin,
		                       (const char *[]){ "pause", "R1", "--for",
		                                         dur, "--json", NULL },
		                       &out, &err),
		             0, "%s", err);
		assert_has(out, cases[i].shown + 19);
		free(out);
		free(err);
	}
	unsetenv("TZ");
}

/* Runs hbctl status on a terminal; returns what it wrote. */
static char *
status_on_a_tty(const char *const *extra, bool no_color_env)
{
	const char *argv[16];
	const char *args[8] = { "status" };
	char *buf = calloc(1, 65536);
	size_t len = 0;
	ssize_t n;
	int master, st;
	pid_t pid;

	for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
		args[i + 1] = extra[i];
	}
	hbctl_argv(argv, 16, srv.admin, args);
	pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (no_color_env) {
			setenv("NO_COLOR", "1", 1);
		} else {
			unsetenv("NO_COLOR");
		}
		setenv("TERM", "xterm", 1);
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	while (len < 65535 && (n = read(master, buf + len, 65535 - len)) > 0) {
		len += (size_t) n;
	}
	waitpid(pid, &st, 0);
	close(master);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", buf);
	return buf;
}

Test(hbctl, colour_only_on_a_terminal, .init = start, .fini = stop,
     .timeout = 60)
{
	char *out;

	report(1);
	out = status_on_a_tty(NULL, false);
	assert_has(out, "\033[32mok");
	free(out);
	out = status_on_a_tty((const char *[]){ "--no-color", NULL }, false);
	assert_has(out, "R1");
	assert_lacks(out, "\033[");
	free(out);
	out = status_on_a_tty(NULL, true);
	assert_has(out, "R1");
	assert_lacks(out, "\033[");
	free(out);
}

Test(hbctl, tcp_admin_is_signed_with_the_admin_secret, .fini = stop,
     .timeout = 60)
{
	char tcp[64], admin_secret[700], wrong[700];
	const char *args[8] = { "--admin-tcp",          tcp,
		                "--admin-secret-file",  admin_secret,
		                "--admin-tcp-insecure", NULL };
	char *out, *err;

	harness_server_init(&srv);
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%d", harness_free_port());
	snprintf(admin_secret, sizeof(admin_secret), "%s/admin.secret",
	         srv.dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong.secret", srv.dir);
	hbctl_write(admin_secret, "hbs_the-admin-secret\n");
	hbctl_write(wrong, "hbs_not-the-admin-secret\n");
	cr_assert(harness_server_start(&srv, args), "server did not start");
	unsetenv("HBMON_ADMIN_SECRET");

	/* No secret: refused before anything is sent, and said why. */
	cr_assert_eq(
	    hbctl_run(tcp, (const char *[]){ "status", NULL }, &out, &err), 2);
	assert_has(err, "--admin-secret-file F or HBMON_ADMIN_SECRET");
	free(out);
	free(err);
	/* The wrong one: the server refuses it. */
	cr_assert_eq(hbctl_run(tcp,
	                       (const char *[]){ "--admin-secret-file", wrong,
	                                         "status", NULL },
	                       &out, &err),
	             3);
	assert_has(err, "check --admin-secret-file");
	free(out);
	free(err);
	/* The right one, from a file and from the environment. */
	cr_assert_eq(
	    hbctl_run(tcp,
	              (const char *[]){ "--admin-secret-file", admin_secret,
	                                "robot", "add", "R5", NULL },
	              &out, &err),
	    0, "%s", err);
	free(out);
	free(err);
	setenv("HBMON_ADMIN_SECRET", "hbs_the-admin-secret", 1);
	cr_assert_eq(hbctl_run(tcp, (const char *[]){ "robot", "list", NULL },
	                       &out, &err),
	             0, "%s", err);
	assert_has(out, "R5");
	free(out);
	free(err);
}
