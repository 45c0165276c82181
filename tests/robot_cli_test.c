/*
 * hbmon-robot driven the way an operator runs it: command-line errors,
 * secrets, scripted faults against the real server, seeded changes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "harness.h"
#include "hbmon/error.h"

#define SECRET  "hbs_robot_cli_secret"
#define NOWHERE "ipc:///nonexistent-hbmon-dir/robots.sock"

static char dir[512];
static char secret_file[600];

static void
setup(void)
{
	FILE *f;

	harness_tmpdir(dir, sizeof(dir));
	snprintf(secret_file, sizeof(secret_file), "%s/secret", dir);
	f = fopen(secret_file, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", SECRET); /* as an editor would save it */
	fclose(f);
	cr_assert_eq(chmod(secret_file, 0600), 0); /* as a secret must be */
}

static void
teardown(void)
{
	harness_rmrf(dir);
}

TestSuite(robot, .init = setup, .fini = teardown);

static const char *
robot_bin(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s",
	         harness_bin("tools/robot/hbmon-robot"));
	return path;
}

/* Runs hbmon-robot with args (NULL-terminated); returns the exit code. */
static int
run(const char *const *args, char **out, char **err, int timeout_ms)
{
	const char *argv[48];
	int n = 0, st;

	argv[n++] = robot_bin();
	for (int i = 0; args[i] != NULL && n < 47; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	st = harness_run(argv, NULL, out, err, timeout_ms);
	cr_assert(WIFEXITED(st), "hbmon-robot did not exit by itself");
	return WEXITSTATUS(st);
}

Test(robot, usage_errors_exit_2_with_a_reason, .timeout = 30)
{
	static char open_secret[700];
	static const struct {
		const char *args[12];
		const char *says;
	} cases[] = {
		{ { NULL }, "--server and --robot are required" },
		{ { "--server", NOWHERE, "--robot", "R1", "--secret", "x",
		    NULL },
		  "never taken from the command line" },
		{ { "--server", NOWHERE, "--robot", "R1", "--interval", "fast",
		    NULL },
		  "--interval 'fast'" },
		{ { "--server", NOWHERE, "--robot", "R1", "--fault",
		    "explode@1s", NULL },
		  "'explode' is not one of" },
		{ { "--server", NOWHERE, "--robot", "R1", "--accounts", "3",
		    "--fault", "expire=ACC_009@1s", NULL },
		  "no account 'ACC_009'" },
		{ { "--server", NOWHERE, "--robot", "R1", "--fault", "die",
		    NULL },
		  "needs a time" },
		{ { "--server", NOWHERE, "--robot", "R1", "--fault",
		    "skew=soon@1s", NULL },
		  "skew" },
		{ { "--server", NOWHERE, "--robot", "R1", "--accounts", "-1",
		    NULL },
		  "--accounts '-1'" },
		{ { "--server", NOWHERE, "--robot", "R1", NULL }, "no secret" },
		{ { "--server", NOWHERE, "--robot", "no good", "--secret-file",
		    secret_file, NULL },
		  "cannot open a client" },
		{ { "--server", NOWHERE, "--robot", "R1", "--tz", "Asia/Jakrta",
		    NULL },
		  "--tz: unknown time zone 'Asia/Jakrta'" },
		{ { "--server", NOWHERE, "--robot", "R1", "--secret-file",
		    open_secret, NULL },
		  "chmod 600 " },
	};

	snprintf(open_secret, sizeof(open_secret), "%s/open.secret", dir);
	unsetenv("HBMON_SECRET");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		int code;

		if (i == 0) { /* a secret file others may read */
			FILE *f = fopen(open_secret, "w");
			fputs(SECRET "\n", f);
			fclose(f);
			chmod(open_secret, 0644);
		}
		code = run(cases[i].args, NULL, &err, 10000);
		cr_assert_eq(code, 2, "case %zu: exit %d: %s", i, code, err);
		cr_assert(strstr(err, cases[i].says) != NULL,
		          "case %zu: stderr lacks '%s': %s", i, cases[i].says,
		          err);
		free(err);
	}
}

Test(robot, timestamps_in_a_named_zone, .timeout = 30)
{
	const char *args[] = { "--server",   NOWHERE,        "--robot",
		               "R1",         "--accounts",   "1",
		               "--interval", "50ms",         "--timeout",
		               "20ms",       "--duration",   "200ms",
		               "--tz",       "Asia/Jakarta", "--secret-file",
		               secret_file,  "-v",           NULL };
	char *out = NULL;

	cr_assert_eq(run(args, &out, NULL, 20000), 0);
	cr_assert(strstr(out, "\"timestamp\":\"") != NULL, "%s", out);
	cr_assert(strstr(out, "+07:00\"") != NULL, "%s", out);
	free(out);
}

Test(robot, help_prints_usage, .timeout = 10)
{
	const char *args[] = { "--help", NULL };
	char *out = NULL;

	cr_assert_eq(run(args, &out, NULL, 10000), 0);
	cr_assert(strstr(out, "--secret-file") != NULL);
	cr_assert(strstr(out, "expire=ACC_003@20s") != NULL);
	free(out);
}

/* Lines of out that start with prefix, copied in order (at most max). */
static int
grep_lines(const char *out, const char *prefix, char lines[][512], int max)
{
	int n = 0;

	for (const char *p = out; *p != '\0' && n < max;) {
		const char *end = strchr(p, '\n');
		size_t len = end != NULL ? (size_t) (end - p) : strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			snprintf(lines[n++], 512, "%.*s", (int) len, p);
		}
		p += len + (end != NULL ? 1 : 0);
	}
	return n;
}

Test(robot, same_seed_same_changes, .timeout = 60)
{
	const char *args[] = {
		"--server",      NOWHERE,     "--robot",    "R1",
		"--accounts",    "20",        "--interval", "50ms",
		"--change-rate", "0.5",       "--seed",     "42",
		"--secret-file", secret_file, "--timeout",  "20ms",
		"--duration",    "600ms",     "-v",         NULL
	};
	static char a[64][512], b[64][512];
	char *out1 = NULL, *out2 = NULL;
	int n1, n2;

	cr_assert_eq(run(args, &out1, NULL, 20000), 0);
	cr_assert_eq(run(args, &out2, NULL, 20000), 0);
	n1 = grep_lines(out1, "# change ", a, 64);
	n2 = grep_lines(out2, "# change ", b, 64);
	/* How many ticks fit in 600 ms varies; the changes per tick do
	 * not. */
	cr_assert_geq(n1 < n2 ? n1 : n2, 5, "too few changes: %d, %d", n1, n2);
	for (int i = 0; i < (n1 < n2 ? n1 : n2); i++) {
		cr_assert_str_eq(a[i], b[i], "change %d differs", i);
	}
	cr_assert(strstr(out1, "seed 42") != NULL);
	free(out1);
	free(out2);
}

Test(robot, random_changes_follow_the_diagrams, .timeout = 60)
{
	static const char *const allowed[] = {
		"healthy -> degraded",   "degraded -> healthy",
		"degraded -> unhealthy", "unhealthy -> degraded",
		"unhealthy -> healthy",  "idle -> active",
		"active -> idle",        "active -> expired",
		"idle -> expired",       "expired -> active",
		"expired -> idle",       "active -> error",
		"error -> active",
	};
	const char *args[] = {
		"--server",      NOWHERE,     "--robot",    "R1",
		"--accounts",    "50",        "--interval", "20ms",
		"--change-rate", "1",         "--seed",     "7",
		"--secret-file", secret_file, "--timeout",  "10ms",
		"--duration",    "500ms",     "-v",         NULL
	};
	static char lines[2000][512];
	char *out = NULL;
	int n;

	cr_assert_eq(run(args, &out, NULL, 20000), 0);
	n = grep_lines(out, "# change ", lines, 2000);
	cr_assert_gt(n, 100);
	for (int i = 0; i < n; i++) {
		const char *colon = strchr(lines[i], ':');
		bool ok = false;
		cr_assert_not_null(colon, "%s", lines[i]);
		for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]);
		     k++) {
			ok = ok || strcmp(colon + 2, allowed[k]) == 0;
		}
		cr_assert(ok, "not in the diagrams: %s", lines[i]);
	}
	free(out);
}

static struct harness_server srv;

static void
server_up(void)
{
	static const char *const fast[] = { "--interval-min", "100ms",
		                            "--interval-max", "1s", NULL };
	setup();
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, fast),
	          "hbmon-server did not start");
}

static void
server_down(void)
{
	harness_server_fini(&srv);
	teardown();
}

static int64_t
subject_int(const char *account, const char *column)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM subjects WHERE robot = 'R1' AND account = "
	         "'%s'",
	         column, account);
	return harness_query_int(&srv, sql);
}

Test(robot, faults_reach_the_server, .init = server_up, .fini = server_down,
     .timeout = 60)
{
	const char *args[] = { "--server",
		               srv.listen,
		               "--robot",
		               "R1",
		               "--accounts",
		               "5",
		               "--interval",
		               "200ms",
		               "--secret-file",
		               secret_file,
		               "--duration",
		               "2500ms",
		               "--fault",
		               "expire=ACC_003@500ms",
		               "--fault",
		               "error=ACC_002@500ms",
		               "--fault",
		               "silent=ACC_005@500ms",
		               "--fault",
		               "degrade@500ms",
		               "--change-rate",
		               "0",
		               "-v",
		               NULL };
	static char sent[400][512];
	char *out = NULL, *err = NULL;
	int64_t acc5_seen;
	int n, last_acc5 = -1, first_expired = -1;

	cr_assert_eq(run(args, &out, &err, 20000), 0, "%s", err);
	n = grep_lines(out, "{\"event\"", sent, 400);
	cr_assert_gt(n, 20, "%s", out);
	for (int i = 0; i < n; i++) {
		if (strstr(sent[i], "\"ACC_005\"") != NULL) {
			last_acc5 = i;
		}
		if (first_expired < 0 &&
		    strstr(sent[i],
		           "\"account\":\"ACC_003\",\"status\":"
		           "\"expired\",\"session_valid\":false") != NULL) {
			first_expired = i;
		}
	}
	cr_assert_geq(first_expired, 0, "ACC_003 never expired:\n%s", out);
	cr_assert_lt(last_acc5, n - 6, "ACC_005 kept talking");
	cr_assert(strstr(out, "# fault silent=ACC_005@500ms") != NULL);
	cr_assert(strstr(out, "code 0 (success)") != NULL, "%s", out);

	/* What the server recorded last. */
	cr_assert_eq(subject_int("", "status"), 2);          /* degraded */
	cr_assert_eq(subject_int("", "active_accounts"), 5); /* silent too */
	cr_assert_eq(subject_int("ACC_003", "status"), 3);   /* expired */
	cr_assert_eq(subject_int("ACC_003", "session_valid"), 0);
	cr_assert_eq(subject_int("ACC_002", "status"), 4); /* error */
	acc5_seen = subject_int("ACC_005", "last_seen_ms");
	cr_assert_lt(acc5_seen, subject_int("ACC_001", "last_seen_ms") - 1000,
	             "ACC_005 went silent at 0.5 s of 2.5 s");
	free(out);
	free(err);
}

Test(robot, die_fault_ends_the_process_at_once, .init = server_up,
     .fini = server_down, .timeout = 60)
{
	const char *args[] = { "--server",   srv.listen,   "--robot",
		               "R1",         "--accounts", "2",
		               "--interval", "200ms",      "--secret-file",
		               secret_file,  "--fault",    "die@700ms",
		               "--duration", "20s",        NULL };
	char *err = NULL;
	int64_t t0 = clock_mono_ms();

	cr_assert_eq(run(args, NULL, &err, 15000), 0);
	cr_assert_lt(clock_mono_ms() - t0, 10000, "it ran to --duration");
	cr_assert(strstr(err, "fault die@700ms") != NULL, "%s", err);
	cr_assert_gt(subject_int("ACC_001", "last_seen_ms"), 0);
	free(err);
}

Test(robot, secret_from_the_environment_and_skewed_clock, .init = server_up,
     .fini = server_down, .timeout = 60)
{
	const char *args[] = { "--server",     srv.listen,   "--robot",
		               "R1",           "--accounts", "1",
		               "--interval",   "200ms",      "--fault",
		               "skew=+90s@0s", "--duration", "700ms",
		               "-v",           NULL };
	static char sent[64][512];
	char *out = NULL, *err = NULL;
	struct rfc3339_time t;
	const char *ts;
	int n;

	setenv("HBMON_SECRET", SECRET, 1);
	cr_assert_eq(run(args, &out, &err, 20000), 0, "%s", err);
	unsetenv("HBMON_SECRET");
	cr_assert(strstr(out, "code 0 (success)") != NULL, "%s\n%s", out, err);
	n = grep_lines(out, "{\"event\":\"ROBOT_HEARTBEAT\"", sent, 64);
	cr_assert_gt(n, 1);
	ts = strstr(sent[n - 1], "\"timestamp\":\"");
	cr_assert_not_null(ts);
	ts += strlen("\"timestamp\":\"");
	cr_assert_eq(rfc3339_parse(ts, strcspn(ts, "\""), &t, NULL, 0),
	             HBMON_OK);
	/* 90 s ahead, give or take the run itself. */
	cr_assert_gt(rfc3339_unix_ms(&t), clock_wall_ms() + 80000, "%s",
	             sent[n - 1]);
	free(out);
	free(err);
}

Test(robot, bench_reports_cpu_per_heartbeat, .init = server_up,
     .fini = server_down, .timeout = 60)
{
	const char *args[] = { "--server",
		               srv.listen,
		               "--robot",
		               "R1",
		               "--accounts",
		               "10",
		               "--secret-file",
		               secret_file,
		               "--bench",
		               "50",
		               NULL };
	char *out = NULL, *err = NULL;

	cr_assert_eq(run(args, &out, &err, 30000), 0, "%s", err);
	cr_assert(
	    strstr(out, "batches 50, heartbeats per batch 11, failed 0") !=
	        NULL,
	    "%s", out);
	cr_assert(strstr(out, "us per heartbeat") != NULL, "%s", out);
	free(out);
	free(err);
}
