/*
 * Ping tokens (GET and POST /v1/ping/TOKEN, `hbctl robot ping-token`)
 * against the real server, the real hbctl and the real curl: issue, ping,
 * see it in `hbctl status`; revoke; a token for one robot never records
 * for another; junk tokens and status words refused while the listener
 * keeps serving; a token outlives a restart, and goes with its robot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/sign.h"
#include "support/harness.h"

static struct harness_server srv;
static char url[64];

/* The HTTP listener's URL, from the ready line (http=http://H:P). */
static void
find_url(void)
{
	char *log = harness_server_log(&srv);
	char *at = NULL;
	char *colon;
	int port;

	/* The last ready line: the server may have been restarted. */
	for (char *p = log; p != NULL && (p = strstr(p, " http=http://"));
	     p++) {
		at = p;
	}
	colon = at != NULL ? strchr(at + 13, ':') : NULL;
	port = colon != NULL ? atoi(colon + 1) : 0;

	free(log);
	cr_assert_gt(port, 0, "no http= in the ready line");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
}

static void
start(void)
{
	const char *args[] = { "--http-listen", "http://127.0.0.1:0", NULL };

	cr_assert(harness_server_start(&srv, args), "server did not start");
	find_url();
}

static void
setup(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1",
	                  "hbs_ping_test_secret_of_robot_one_0000000000");
	harness_robot_add(&srv, "R2",
	                  "hbs_ping_test_secret_of_robot_two_0000000000");
	start();
}

static void
teardown(void)
{
	harness_server_fini(&srv);
}

/* Runs hbctl with args after --admin; exit status, stdout in *out. */
static int
hbctl(const char *a1, const char *a2, const char *a3, const char *a4,
      char **out, char **err)
{
	const char *argv[] = { harness_bin("tools/hbctl/hbctl"),
		               "--admin",
		               srv.admin,
		               a1,
		               a2,
		               a3,
		               a4,
		               NULL };
	int st = harness_run(argv, NULL, out, err, 10000);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `hbctl robot ping-token ROBOT --json`: the token, parsed (malloc'd). */
static char *
issue(const char *robot)
{
	char *out = NULL, *err = NULL, *token;
	json_t *doc;

	cr_assert_eq(hbctl("robot", "ping-token", robot, "--json", &out, &err),
	             0, "ping-token failed: %s", err);
	doc = json_loads(out, 0, NULL);
	cr_assert(json_is_object(doc), "not JSON: %s", out);
	cr_assert_eq(json_object_size(doc), 2, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "robot")),
	                 robot);
	cr_assert(json_is_string(json_object_get(doc, "token")), "%s", out);
	token = strdup(json_string_value(json_object_get(doc, "token")));
	cr_assert_eq(strlen(token), SIGN_PING_LEN, "%s", token);
	cr_assert_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	                           "opqrstuvwxyz0123456789-_"),
	             strlen(token), "not URL-safe: %s", token);
	json_decref(doc);
	free(out);
	free(err);
	return token;
}

/*
 * curl -X METHOD URL/v1/ping/PATH: the HTTP status (curl -w), the body
 * in *body (malloc'd; NULL when not wanted).
 */
static int
curl_ping(const char *method, const char *path, char **body)
{
	char u[12288];
	char *out = NULL;
	const char *argv[] = { "/usr/bin/curl",  "-sS", "-X", method, "-w",
		               "\n%{http_code}", u,     NULL };
	char *nl;
	int status;

	snprintf(u, sizeof(u), "%s/v1/ping/%s", url, path);
	cr_assert_eq(harness_run(argv, NULL, &out, NULL, 10000), 0,
	             "curl failed");
	nl = strrchr(out, '\n');
	cr_assert_not_null(nl);
	status = atoi(nl + 1);
	*nl = '\0';
	if (body != NULL) {
		*body = out;
	} else {
		free(out);
	}
	return status;
}

/* The "code" of a reply body, checked to be {"code", "message"}. */
static int
code_of(const char *body)
{
	json_t *doc = json_loads(body, 0, NULL);
	int code;

	cr_assert(json_is_object(doc), "not JSON: %s", body);
	cr_assert(json_is_integer(json_object_get(doc, "code")), "%s", body);
	cr_assert(json_is_string(json_object_get(doc, "message")), "%s", body);
	code = (int) json_integer_value(json_object_get(doc, "code"));
	json_decref(doc);
	return code;
}

/* The robot's liveness and status in `hbctl status --json`
 * ("ok/healthy", ...), or "". */
static char *
health_of(const char *robot)
{
	char *out = NULL, *line, *save = NULL, *found = strdup("");

	cr_assert_eq(hbctl("status", "--json", NULL, NULL, &out, NULL), 0);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);
		const char *r =
		    json_string_value(json_object_get(doc, "robot"));
		const char *h =
		    json_string_value(json_object_get(doc, "status"));
		const char *l =
		    json_string_value(json_object_get(doc, "liveness"));
		if (r != NULL && strcmp(r, robot) == 0 && h != NULL &&
		    l != NULL) {
			free(found);
			cr_assert_gt(asprintf(&found, "%s/%s", l, h), 0);
		}
		json_decref(doc);
	}
	free(out);
	return found;
}

static int64_t
robot_requests(const char *robot)
{
	char sql[128];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM requests WHERE robot = '%s'", robot);
	return harness_query_int(&srv, sql);
}

TestSuite(http_ping, .init = setup, .fini = teardown, .timeout = 120);

Test(http_ping, get_and_post_record_the_robot)
{
	char *token = issue("R1");
	char *body = NULL, *health;
	char path[128];

	cr_assert_eq(curl_ping("GET", token, &body), 200, "%s", body);
	cr_assert_eq(code_of(body), 0, "%s", body);
	free(body);
	health = health_of("R1");
	cr_assert_str_eq(health, "ok/healthy");
	free(health);

	snprintf(path, sizeof(path), "%s?status=degraded", token);
	cr_assert_eq(curl_ping("POST", path, &body), 200, "%s", body);
	cr_assert_eq(code_of(body), 0, "%s", body);
	free(body);
	health = health_of("R1");
	cr_assert_str_eq(health, "ok/degraded");
	free(health);
	cr_assert_eq(robot_requests("R1"), 2);
	cr_assert_eq(robot_requests("R2"), 0, "a ping for R1 recorded R2");
	/* The same ping again is recorded again: it only refreshes. */
	cr_assert_eq(curl_ping("GET", path, NULL), 200);
	cr_assert_eq(robot_requests("R1"), 3);
	cr_assert(
	    harness_log_wait(&srv, "action=ping_token robot=R1 code=OK", 5000),
	    "no audit line");
	free(token);
}

Test(http_ping, revoke_and_replace)
{
	char *old = issue("R1");
	char *token = issue("R1"); /* replaces the first */
	char *out = NULL, *body = NULL;

	cr_assert_str_neq(old, token);
	cr_assert_eq(curl_ping("GET", old, &body), 404, "%s", body);
	cr_assert_eq(code_of(body), 5, "%s", body);
	free(body);
	cr_assert_eq(robot_requests("R1"), 0);
	cr_assert_eq(curl_ping("GET", token, NULL), 200);

	cr_assert_eq(hbctl("robot", "ping-token", "R1", "--revoke", &out, NULL),
	             0);
	free(out);
	cr_assert_eq(hbctl("robot", "ping-token", "R1", "--revoke", &out, NULL),
	             0, "revoking twice is fine");
	cr_assert(strstr(out, "no ping token") != NULL, "%s", out);
	free(out);
	cr_assert_eq(curl_ping("GET", token, &body), 404, "%s", body);
	cr_assert(strstr(body, "auth=ping") != NULL, "%s", body);
	free(body);
	cr_assert_eq(robot_requests("R1"), 1, "a revoked token recorded");
	cr_assert(harness_log_wait(&srv, "action=ping_revoke robot=R1", 5000));
	cr_assert(harness_log_wait(&srv,
	                           "method=\"GET /v1/ping\" code=NOT_FOUND "
	                           "why=\"no robot has this ping token "
	                           "(auth=ping)",
	                           5000),
	          "no refusal line");
	free(old);
	free(token);
}

Test(http_ping, unknown_robot_and_removed_robot)
{
	char *out = NULL, *err = NULL, *token;

	cr_assert_eq(hbctl("robot", "ping-token", "R9", NULL, &out, &err), 4,
	             "%s", err);
	cr_assert(strstr(err, "not registered") != NULL, "%s", err);
	free(out);
	free(err);

	token = issue("R2");
	cr_assert_eq(curl_ping("GET", token, NULL), 200);
	cr_assert_eq(hbctl("robot", "remove", "R2", NULL, &out, NULL), 0);
	free(out);
	cr_assert_eq(curl_ping("GET", token, NULL), 404);
	cr_assert_eq(robot_requests("R2"), 1);
	free(token);
}

Test(http_ping, hostile_tokens_and_queries)
{
	char *token = issue("R1");
	char path[12288], *body = NULL;
	static const char *const junk[] = {
		"",
		"x",
		"hbp_",
		"hbp_%00%00",
		"hbp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"hbp_%2e%2e%2f%2e%2e%2fAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int st = curl_ping("GET", junk[i], &body);
		cr_assert(st == 404, "'%s': %d %s", junk[i], st, body);
		cr_assert_eq(code_of(body), 5, "%s", body);
		free(body);
	}
	/* A real token with one byte more, and an overlong one. */
	snprintf(path, sizeof(path), "%sA", token);
	cr_assert_eq(curl_ping("GET", path, NULL), 404);
	memset(path, 'A', 6000);
	memcpy(path, "hbp_", 4);
	path[6000] = '\0';
	cr_assert_eq(curl_ping("GET", path, NULL), 404);
	memset(path, 'A', 10000);
	path[10000] = '\0';
	cr_assert_eq(curl_ping("GET", path, NULL), 431, "head over the limit");

	static const char *const queries[] = {
		"?status=ok", "?status=HEALTHY",
		"?status=",   "?status=degraded&x=1",
		"?x=1",       "?status=%68ealthy",
	};
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", token, queries[i]);
		cr_assert_eq(curl_ping("GET", path, &body), 400, "'%s': %s",
		             queries[i], body);
		cr_assert_eq(code_of(body), 3, "%s", body);
		free(body);
	}
	cr_assert_eq(robot_requests("R1"), 0, "a refused ping recorded");
	snprintf(path, sizeof(path), "%s?status=unhealthy", token);
	cr_assert_eq(curl_ping("GET", path, NULL), 200,
	             "the listener stopped serving");
	cr_assert_eq(robot_requests("R1"), 1);
	free(token);
}

Test(http_ping, token_outlives_a_restart)
{
	char *token = issue("R1");
	char hex[2 * SIGN_LEN + 1];
	uint8_t hash[SIGN_LEN];
	char sql[256];

	/* Only the hash is stored. */
	cr_assert_eq(sign_sha256(token, strlen(token), hash), 0);
	sign_hex(hash, SIGN_LEN, hex);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM robots WHERE robot = 'R1' AND"
	         " ping_hash = '%s'",
	         hex);
	cr_assert_eq(harness_query_int(&srv, sql), 1);
	cr_assert_eq(harness_server_stop(&srv), 0);
	start();
	cr_assert_eq(curl_ping("GET", token, NULL), 200);
	cr_assert_eq(robot_requests("R1"), 1);
	free(token);
}
