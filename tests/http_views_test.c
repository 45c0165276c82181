/*
 * GET /metrics and the status page against the real hbmon-server, with
 * real clients: curl scrapes, promtool judges, headless chromium renders
 * the page (names a robot chose are hostile on purpose) and takes a
 * screenshot; off loopback, the status token is asked for, as a Bearer
 * header or the cookie of POST /login, and wrong or malformed ones are
 * refused while the server keeps serving.
 *
 * HBMON_SCREENSHOT_OUT=PATH keeps the phone-sized screenshot there (how
 * docs/status-page.png is made).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hbmon/v1/alert.pb-c.h"
#include "support/harness.h"
#include "support/tools.h"

#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SECRET "s3cret-R1"

static struct harness_server srv;
static char base[128]; /* http://127.0.0.1:PORT */

static void
teardown(void)
{
	harness_server_fini(&srv);
}

TestSuite(http_views, .fini = teardown, .timeout = 120);

/* Starts the server with HTTP on listen_url and flags; fills base. */
static void
start(const char *listen_url, const char *const *more)
{
	const char *args[40];
	const char *http[] = { "--http-listen", listen_url, NULL };
	const char *mine[40];
	char *log, *at;
	int port;

	harness_args(mine, 40, harness_quick_alerts, http);
	harness_args(args, 40, mine, more);
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	harness_robot_add(&srv, "R2", SECRET);
	cr_assert(harness_server_start(&srv, args), "server did not start");
	log = harness_server_log(&srv);
	at = strstr(log, " http=http://");
	cr_assert_not_null(at, "no http= in the ready line:\n%s", log);
	at = strchr(at + strlen(" http=http://"), ':');
	port = at != NULL ? atoi(at + 1) : 0;
	free(log);
	cr_assert_gt(port, 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
}

/*
 * curl with args (NULL-terminated) on path; returns the HTTP status, with
 * the body (and, with -i among args, the headers) in *out (malloc'd).
 */
static int
curl(const char *path, const char *const *args, char **out)
{
	char *bin = tool_require("curl", "curl");
	char url[256];
	const char *argv[32] = {
		bin, "-s", "-S", "--max-time", "30", "-w", "\n%{http_code}"
	};
	int n = 7, st, code;
	char *o = NULL, *e = NULL, *last;

	snprintf(url, sizeof(url), "%s%s", base, path);
	for (int i = 0; args != NULL && args[i] != NULL && n < 30; i++) {
		argv[n++] = args[i];
	}
	argv[n++] = url;
	argv[n] = NULL;
	st = harness_run(argv, NULL, &o, &e, 40000);
	free(bin);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl %s: %s", url, e);
	free(e);
	last = strrchr(o, '\n');
	cr_assert_not_null(last);
	code = atoi(last + 1);
	*last = '\0';
	*out = o;
	return code;
}

static char *
scrape(const char *const *args)
{
	char *body, *said;
	int code = curl("/metrics", args, &body);

	cr_assert_eq(code, 200, "GET /metrics: %d %s", code, body);
	cr_assert_eq(tool_promtool_check(body, &said), 0,
	             "promtool check metrics:\n%s\non:\n%s", said, body);
	free(said);
	return body;
}

/* The value of the sample line that starts with series (name{labels}). */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; (p = strstr(p, series)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ') {
			return strtod(p + n + 1, NULL);
		}
	}
	return -1;
}

/* The sum of the samples whose line starts with prefix. */
static double
sample_sum(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	double sum = 0;

	for (const char *p = text; (p = strstr(p, prefix)) != NULL; p += n) {
		if (p == text || p[-1] == '\n') {
			const char *sp = strchr(p, ' ');
			sum += sp != NULL ? strtod(sp + 1, NULL) : 0;
		}
	}
	return sum;
}

/* Scrapes until series has at least want (gauges are a second old at
 * most); returns the last value. */
static double
await_sample(const char *series, double want)
{
	double v = -1;

	for (int i = 0; i < 50; i++) {
		char *text = scrape(NULL);
		v = sample(text, series);
		free(text);
		if (v >= want) {
			break;
		}
		harness_sleep_ms(200);
	}
	return v;
}

Test(http_views, metrics_pass_promtool_and_counters_move)
{
	struct harness_robot r;
	struct rpc_client *adm;
	char *text;

	start("http://127.0.0.1:0", NULL);
	text = scrape(NULL);
	cr_assert_eq(sample(text, "hbmon_heartbeats_received_total{kind="
	                          "\"robot\",result=\"ok\"}"),
	             0);
	cr_assert_eq(
	    sample(text, "hbmon_build_info{version=\"" HBMON_VERSION "\"}"), 1);
	free(text);

	harness_robot_init(&r, &srv, "R1", SECRET, 2);
	harness_robot_send(&r);
	harness_robot_send(&r);
	text = scrape(NULL);
	cr_assert_eq(sample(text, "hbmon_heartbeats_received_total{kind="
	                          "\"robot\",result=\"ok\"}"),
	             2, "%s", text);
	cr_assert_eq(sample(text, "hbmon_heartbeats_received_total{kind="
	                          "\"account\",result=\"ok\"}"),
	             4);
	cr_assert_geq(sample(text, "hbmon_rpc_request_duration_seconds_count{"
	                           "listener=\"robots\"}"),
	              2);
	cr_assert_geq(sample(text, "hbmon_commit_duration_seconds_count"), 1);
	/* The scrapes themselves are timed by route. */
	cr_assert_geq(sample(text, "hbmon_http_requests_total{route="
	                           "\"/metrics\",code=\"200\"}"),
	              1);
	free(text);
	/* Gauges are a second old at most: heard in time while it
	 * keeps reporting. */
	for (int i = 0; i < 20; i++) {
		double ok;
		harness_robot_send(&r);
		text = scrape(NULL);
		ok = sample(text, "hbmon_subjects{kind=\"account\",liveness="
		                  "\"ok\"}");
		free(text);
		if (ok == 2) {
			break;
		}
		cr_assert_lt(i, 19, "the accounts never showed as ok");
		harness_sleep_ms(100);
	}

	/* R1 goes silent: the alert is counted, and R1 is down. */
	adm = harness_admin(&srv);
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 10000), 0);
	rpc_client_close(adm);
	/* Its severity follows the accounts' exposure: any will do. */
	text = scrape(NULL);
	cr_assert_geq(sample_sum(text, "hbmon_alerts_total{kind="
	                               "\"HEARTBEAT_MISSED\","),
	              1, "%s", text);
	free(text);
	cr_assert_eq(
	    await_sample("hbmon_subjects{kind=\"robot\",liveness=\"down\"}", 1),
	    1);
	/* R2 is registered and was never heard. */
	text = scrape(NULL);
	cr_assert_eq(
	    sample(text, "hbmon_subjects{kind=\"robot\",liveness=\"unknown\"}"),
	    1, "%s", text);
	cr_assert_geq(sample(text, "hbmon_outbox_last_seq"), 1);
	free(text);
	harness_robot_fini(&r);
}

/* Runs headless chromium with flags on url; returns its stdout. */
static char *
chromium(const char *const *flags, const char *url)
{
	char *bin = tool_require("chromium", "chromium");
	char profile[512];
	char user_dir[600];
	const char *argv[16] = { bin, "--headless", "--no-sandbox",
		                 "--disable-gpu", user_dir };
	int n = 5, st;
	char *out = NULL, *err = NULL;

	harness_tmpdir(profile, sizeof(profile));
	snprintf(user_dir, sizeof(user_dir), "--user-data-dir=%s", profile);
	for (int i = 0; flags[i] != NULL; i++) {
		argv[n++] = flags[i];
	}
	argv[n++] = url;
	argv[n] = NULL;
	st = harness_run(argv, NULL, &out, &err, 90000);
	harness_rmrf(profile);
	free(bin);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chromium: %s", err);
	free(err);
	return out;
}

Test(http_views, status_page_in_chromium_names_robots_and_open_alerts,
     .timeout = 240)
{
	struct harness_robot r1, r2;
	struct rpc_client *adm;
	const char *kept = getenv("HBMON_SCREENSHOT_OUT");
	char shot[600], size[64], url[160], flag[700];
	const char *dump[] = { "--dump-dom", NULL };
	const char *snap[] = { flag, size, "--hide-scrollbars", NULL };
	const char *slow[] = { "--interval-max", "1s", NULL };
	struct stat st;
	char *dom;
	FILE *f;
	unsigned char sig[8];

	/* Slow enough that R1, reporting between the page loads, stays
	 * in time while R2's silence is alerted on. */
	start("http://127.0.0.1:0", slow);
	/* Names a robot chose: markup that must stay text. */
	harness_robot_init(&r1, &srv, "R1", SECRET, 3);
	snprintf(r1.names[1], sizeof(r1.names[1]), "<script>x");
	snprintf(r1.names[2], sizeof(r1.names[2]), "<b>A</b>&\"'");
	r1.open_orders[0] = 2;
	harness_robot_init(&r2, &srv, "R2", SECRET, 1);
	harness_robot_send(&r1);
	harness_robot_send(&r2);
	/* R2 goes silent while R1 keeps reporting. */
	adm = harness_admin(&srv);
	for (int i = 0; i < 100 && harness_wait_alert(adm, K(HEARTBEAT_MISSED),
	                                              "R2", "", 100) == 0;
	     i++) {
		harness_robot_send(&r1);
	}
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R2", "", 100), 0);
	rpc_client_close(adm);
	harness_robot_send(&r1);
	harness_sleep_ms(1100); /* past the one-second snapshot */
	harness_robot_send(&r1);

	snprintf(url, sizeof(url), "%s/", base);
	dom = chromium(dump, url);
	cr_assert_not_null(strstr(dom, "<h3>R1 "), "%s", dom);
	cr_assert_not_null(strstr(dom, "<h3>R2 "), "%s", dom);
	cr_assert_not_null(strstr(dom, "ACC_001"), "%s", dom);
	/* R2's alert is open (R1 may have one too, on a loaded machine
	 * where chromium takes longer than R1's three intervals). */
	cr_assert_not_null(strstr(dom, "HEARTBEAT_MISSED <b>R2</b>"), "%s",
	                   dom);
	cr_assert_not_null(strstr(dom, "Open alerts ("), "%s", dom);
	/* The hostile names are there as text, never as elements. */
	cr_assert_not_null(strstr(dom, "&lt;script&gt;x"), "%s", dom);
	cr_assert_not_null(strstr(dom, "&lt;b&gt;A&lt;/b&gt;&amp;\"'"), "%s",
	                   dom);
	cr_assert_null(strstr(dom, "<script"), "%s", dom);
	cr_assert_null(strstr(dom, "<b>A</b>"), "%s", dom);
	free(dom);
	harness_robot_send(&r1);

	/* A phone-sized screenshot, of more than a blank page. */
	if (kept != NULL) {
		snprintf(shot, sizeof(shot), "%s", kept);
	} else {
		snprintf(shot, sizeof(shot), "%s/status-page.png", srv.dir);
	}
	snprintf(flag, sizeof(flag), "--screenshot=%s", shot);
	snprintf(size, sizeof(size), "--window-size=412,1100");
	free(chromium(snap, url));
	cr_assert_eq(stat(shot, &st), 0, "no screenshot at %s", shot);
	cr_assert_gt(st.st_size, 20000, "a %lld-byte screenshot is blank",
	             (long long) st.st_size);
	f = fopen(shot, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(sig, 1, sizeof(sig), f), sizeof(sig));
	fclose(f);
	cr_assert_eq(memcmp(sig, "\x89PNG\r\n\x1a\n", 8), 0);
	harness_robot_fini(&r1);
	harness_robot_fini(&r2);
}

/* The token hbmon-server --status-token prints for the secret file. */
static char *
status_token(const char *secret_file)
{
	const char *argv[] = { harness_bin("src/server/hbmon-server"),
		               "--status-token", "--admin-secret-file",
		               secret_file, NULL };
	char *out = NULL, *err = NULL;
	int st = harness_run(argv, NULL, &out, &err, 10000);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	free(err);
	out[strcspn(out, "\n")] = '\0';
	cr_assert_eq(strncmp(out, "hbv_", 4), 0, "%s", out);
	cr_assert_eq(strlen(out), 68);
	return out;
}

Test(http_views, off_loopback_the_token_is_asked_for)
{
	char dir[512], secret_file[700], bearer[128], login[128], jar[700];
	const char *extra[] = { "--admin-secret-file", secret_file, NULL };
	char *token, *body;

	/* Bound to every address: not loopback-only, even though this
	 * test's own requests come over loopback. */
	harness_tmpdir(dir, sizeof(dir));
	snprintf(secret_file, sizeof(secret_file), "%s/admin.secret", dir);
	harness_write_file(secret_file, "hbs_admin-secret-for-the-test\n",
	                   0600);
	token = status_token(secret_file);
	start("http://0.0.0.0:0", extra);
	snprintf(jar, sizeof(jar), "%s/cookies", srv.dir);

	/* Nothing shown without the token. */
	cr_assert_eq(curl("/metrics", NULL, &body), 401);
	cr_assert_null(strstr(body, "hbmon_"));
	free(body);
	cr_assert_eq(curl("/", NULL, &body), 401);
	cr_assert_not_null(strstr(body, "name=\"token\""), "%s", body);
	cr_assert_null(strstr(body, "Robots ("));
	free(body);

	/* Wrong, malformed and oversized tokens. */
	{
		static char huge[9000];
		char big[9100];
		const char *wrong[] = { "-H", "Authorization: Bearer hbv_0000",
			                NULL };
		const char *cookie[] = { "-H",
			                 "Cookie: hbmon_status=; hbmon_status",
			                 NULL };
		const char *long_bearer[] = { "-H", big, NULL };
		const char *bad_escape[] = { "--data", "token=%zz", NULL };
		memset(huge, 'a', sizeof(huge) - 1);
		snprintf(big, sizeof(big), "Authorization: Bearer %s", huge);
		cr_assert_eq(curl("/metrics", wrong, &body), 401);
		free(body);
		cr_assert_eq(curl("/", cookie, &body), 401);
		free(body);
		/* A head over http_header_max is the listener's to refuse. */
		cr_assert_geq(curl("/metrics", long_bearer, &body), 400);
		free(body);
		cr_assert_eq(curl("/login", bad_escape, &body), 401);
		cr_assert_not_null(strstr(body, "not the status token"));
		free(body);
	}

	/* Prometheus's way: a Bearer header. */
	snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
	{
		const char *ok[] = { "-H", bearer, NULL };
		free(scrape(ok));
	}

	/* A browser's way: the form, then the cookie. */
	snprintf(login, sizeof(login), "token=%s", token);
	{
		const char *post[] = { "-i", "--data", login, "-c", jar, NULL };
		const char *again[] = { "-b", jar, NULL };
		cr_assert_eq(curl("/login", post, &body), 303);
		cr_assert_not_null(strstr(body, "Location: /"), "%s", body);
		cr_assert_not_null(strstr(body, "HttpOnly"), "%s", body);
		cr_assert_not_null(strstr(body, "SameSite=Strict"), "%s", body);
		free(body);
		cr_assert_eq(curl("/", again, &body), 200);
		cr_assert_not_null(strstr(body, "Robots (2)"), "%s", body);
		free(body);
	}

	/* And it still serves everyone else. */
	cr_assert_eq(curl("/healthz", NULL, &body), 200);
	free(body);
	free(token);
	harness_rmrf(dir);
}

Test(http_views, off_loopback_without_an_admin_secret_nothing_is_shown)
{
	char *body;

	start("http://0.0.0.0:0", NULL);
	cr_assert(harness_log_wait(&srv, "answer 403 there", 5000));
	cr_assert_eq(curl("/", NULL, &body), 403);
	cr_assert_not_null(strstr(body, "admin_secret_file"), "%s", body);
	free(body);
	cr_assert_eq(curl("/metrics", NULL, &body), 403);
	free(body);
}

Test(http_views, status_token_needs_an_admin_secret_file)
{
	const char *argv[] = { harness_bin("src/server/hbmon-server"),
		               "--status-token", NULL };
	char *err = NULL;
	int st = harness_run(argv, NULL, NULL, &err, 10000);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	cr_assert_not_null(strstr(err, "admin_secret_file"), "%s", err);
	free(err);
}
