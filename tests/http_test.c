/*
 * The HTTP listener (http_listen) against the real server: signed JSON
 * heartbeats from the real curl (a shell function with openssl) and from
 * Python requests, every refusal with its code and HTTP status, hostile
 * connections (bare connects, FIN+RST, dribbled and huge heads, huge
 * bodies, the connection cap), /healthz; and after each, the listener
 * still serves.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/clock.h"
#include "common/sign.h"
#include "support/harness.h"

#define SECRET_R1 "hbs_http_test_secret_of_robot_one_000000000000"
#define SECRET_R2 "hbs_http_test_secret_of_robot_two_000000000000"

static const char robot_json[] = "{\n"
                                 "  \"event\": \"ROBOT_HEARTBEAT\",\n"
                                 "  \"status\": \"healthy\",\n"
                                 "  \"active_accounts\": 12,\n"
                                 "  \"active_tasks\": 5,\n"
                                 "  \"timestamp\": "
                                 "\"2026-01-20T09:30:00+07:00\"\n"
                                 "}\n";

static const char account_json[] = "{\n"
                                   "  \"event\": \"ACCOUNT_HEARTBEAT\",\n"
                                   "  \"account\": \"ACC_003\",\n"
                                   "  \"status\": \"active\",\n"
                                   "  \"session_valid\": true,\n"
                                   "  \"open_orders\": 2,\n"
                                   "  \"timestamp\": "
                                   "\"2026-01-20T09:30:00+07:00\"\n"
                                   "}\n";

static const char batch_json[] =
    "{\"robot\": {\"event\": \"ROBOT_HEARTBEAT\", \"status\": \"degraded\","
    " \"active_accounts\": 2, \"active_tasks\": 1, \"timestamp\":"
    " \"2026-01-20T09:31:00+07:00\"}, \"accounts\": [{\"event\":"
    " \"ACCOUNT_HEARTBEAT\", \"account\": \"ACC_004\", \"status\": \"idle\","
    " \"session_valid\": true, \"open_orders\": 0, \"timestamp\":"
    " \"2026-01-20T09:31:00+07:00\"}]}";

static struct harness_server srv;
static int port;
static char url[64];

/* The HTTP listener's port, from the ready line (http=http://H:P). */
static int
http_port(void)
{
	char *log = harness_server_log(&srv);
	char *at = log != NULL ? strstr(log, " http=http://") : NULL;
	char *colon = at != NULL ? strchr(at + 13, ':') : NULL;
	int p = colon != NULL ? atoi(colon + 1) : 0;

	free(log);
	return p;
}

static void
start(const char *const *extra)
{
	const char *base[] = { "--http-listen", "http://127.0.0.1:0", NULL };
	const char *args[32];

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET_R1);
	harness_robot_add(&srv, "R2", SECRET_R2);
	harness_args(args, 32, base, extra);
	cr_assert(harness_server_start(&srv, args), "server did not start");
	port = http_port();
	cr_assert_gt(port, 0, "no http= in the ready line");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
}

static void
stop(void)
{
	harness_server_fini(&srv);
}

static int
connect_http(void)
{
	char u[64];

	snprintf(u, sizeof(u), "tcp://127.0.0.1:%d", port);
	return harness_raw_connect(u, NULL);
}

static void
send_all(int fd, const void *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		cr_assert_gt(n, 0, "send failed");
		p = (const char *) p + n;
		len -= (size_t) n;
	}
}

/* Reads what the server sends until it closes (5 s at most). */
static size_t
read_all(int fd, char *out, size_t cap)
{
	size_t len = 0;
	int64_t until = clock_mono_ms() + 5000;

	while (len + 1 < cap && clock_mono_ms() < until) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;
		if (poll(&pfd, 1, 100) <= 0) {
			continue;
		}
		if ((n = recv(fd, out + len, cap - 1 - len, 0)) <= 0) {
			break;
		}
		len += (size_t) n;
	}
	out[len] = '\0';
	return len;
}

/* The status of a reply ("HTTP/1.1 200 OK"), or 0. */
static int
status_of(const char *reply)
{
	return strncmp(reply, "HTTP/1.1 ", 9) == 0 ? atoi(reply + 9) : 0;
}

/* The "code" of a reply's JSON body, or -1. */
static int
code_of(const char *reply)
{
	const char *c = strstr(reply, "{\"code\":");

	return c != NULL ? atoi(c + 8) : -1;
}

/* Sends raw bytes on a new connection; the reply in out, its status. */
static int
exchange(const char *req, size_t len, char *out, size_t cap)
{
	int fd = connect_http();

	send_all(fd, req, len);
	read_all(fd, out, cap);
	close(fd);
	return status_of(out);
}

static int
exchange_str(const char *req, char *out, size_t cap)
{
	return exchange(req, strlen(req), out, cap);
}

/*
 * POST /v1/heartbeat signed with secret (or as given in bad_sig), one
 * request per connection. Returns the HTTP status; the reply in out.
 */
static int
post_signed(const char *robot, const char *secret, uint64_t seq,
            int64_t sent_at, const char *body, char *out, size_t cap)
{
	struct sign_fields f = {
		"POST /v1/heartbeat",   robot,       seq, sent_at,
		(const uint8_t *) body, strlen(body)
	};
	uint8_t sig[SIGN_LEN];
	char hex[2 * SIGN_LEN + 1];
	size_t head_len, body_len = strlen(body);
	char *req;
	int status;

	cr_assert_eq(sign_compute(secret, strlen(secret), &f, sig), 0);
	for (int i = 0; i < SIGN_LEN; i++) {
		sprintf(hex + 2 * i, "%02x", sig[i]);
	}
	req = malloc(1024 + body_len);
	head_len = (size_t) sprintf(
	    req,
	    "POST /v1/heartbeat HTTP/1.1\r\nHost: localhost\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "X-Hbmon-Robot: %s\r\nX-Hbmon-Seq: %llu\r\n"
	    "X-Hbmon-Sent-At: %lld\r\nX-Hbmon-Signature: %s\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    robot, (unsigned long long) seq, (long long) sent_at, hex,
	    body_len);
	memcpy(req + head_len, body, body_len);
	status = exchange(req, head_len + body_len, out, cap);
	free(req);
	return status;
}

/* Increasing and always even, so that an odd seq below one is unused. */
static uint64_t
next_seq(void)
{
	static uint64_t last;
	uint64_t now = (uint64_t) clock_wall_ms() * 1000;

	last = now > last ? now : last + 2;
	return last;
}

/* A good heartbeat from R1 is recorded: the listener serves. */
static void
assert_serving(void)
{
	char reply[4096];

	cr_assert_eq(post_signed("R1", SECRET_R1, next_seq(), clock_wall_ms(),
	                         robot_json, reply, sizeof(reply)),
	             200, "the listener stopped serving: %s", reply);
	cr_assert_eq(code_of(reply), 0, "%s", reply);
}

static void
write_file(const char *dir, const char *name, const char *text, char *path,
           size_t path_len)
{
	snprintf(path, path_len, "%s/%s", dir, name);
	harness_write_file(path, text, 0600);
}

/* Runs hbctl accounts R1 --json; its output, malloc'd. */
static char *
hbctl_accounts(void)
{
	const char *argv[] = { harness_bin("tools/hbctl/hbctl"),
		               "--admin",
		               srv.admin,
		               "accounts",
		               "R1",
		               "--json",
		               NULL };
	char *out = NULL;
	int st = harness_run(argv, NULL, &out, NULL, 10000);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "hbctl failed: %s",
	          out != NULL ? out : "");
	return out;
}

/* The seed's two examples, a batch and R1's secret, as files. */
struct examples {
	char robot[600], account[600], batch[600], secret[600];
};

static void
write_examples(struct examples *ex)
{
	write_file(srv.dir, "robot.json", robot_json, ex->robot,
	           sizeof(ex->robot));
	write_file(srv.dir, "account.json", account_json, ex->account,
	           sizeof(ex->account));
	write_file(srv.dir, "batch.json", batch_json, ex->batch,
	           sizeof(ex->batch));
	write_file(srv.dir, "r1.secret", SECRET_R1 "\n", ex->secret,
	           sizeof(ex->secret));
}

/* hbctl accounts R1 shows both accounts the examples reported. */
static void
assert_accounts_shown(void)
{
	char *accounts = hbctl_accounts();

	cr_assert_not_null(strstr(accounts, "ACC_003"), "%s", accounts);
	cr_assert_not_null(strstr(accounts, "ACC_004"), "%s", accounts);
	free(accounts);
}

TestSuite(http, .init = NULL, .fini = stop, .timeout = 60);

Test(http, curl_posts_the_seed_examples_and_a_batch)
{
	struct examples ex;
	char script[2048];
	char *out = NULL;
	int st;

	start(NULL);
	write_examples(&ex);
	snprintf(script, sizeof(script),
	         ". %s/tests/support/hbmon_post.sh && for f in %s %s %s; do "
	         "hbmon_post %s R1 %s $f; echo; done",
	         getenv("HBMON_SOURCE_DIR"), ex.robot, ex.account, ex.batch,
	         url, ex.secret);
	{
		const char *argv[] = { "/bin/sh", "-c", script, NULL };
		st = harness_run(argv, NULL, &out, NULL, 20000);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"subject\":\"R1\",\"code\":0"), "%s",
	                   out);
	cr_assert_not_null(strstr(out, "\"subject\":\"R1/ACC_003\",\"code\":0"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "\"subject\":\"R1/ACC_004\",\"code\":0"),
	                   "%s", out);
	free(out);
	assert_accounts_shown();
	cr_assert_eq(harness_heartbeats(&srv, "R1", ""), 2);
}

Test(http, python_requests_posts_the_seed_examples_and_a_batch)
{
	struct examples ex;
	char prog[600];
	char *out = NULL;
	int st;

	start(NULL);
	write_examples(&ex);
	snprintf(prog, sizeof(prog), "%s/tests/support/http_post.py",
	         getenv("HBMON_SOURCE_DIR"));
	{
		const char *argv[] = { "/usr/bin/python3",
			               prog,
			               url,
			               "R1",
			               ex.secret,
			               ex.robot,
			               ex.account,
			               ex.batch,
			               NULL };
		st = harness_run(argv, NULL, &out, NULL, 20000);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	cr_assert_str_eq(out, "200 0 1\n200 0 1\n200 0 2\n");
	free(out);
	assert_accounts_shown();
}

Test(http, every_refusal_has_its_code_and_status)
{
	const char *extra[] = { "--http-body-max", "2KiB", NULL };
	char reply[8192], *big;
	uint64_t seq;
	int64_t now;

	start(extra);
	now = clock_wall_ms();

	/* Bad signature: R1's body signed with R2's secret. */
	cr_assert_eq(post_signed("R1", SECRET_R2, next_seq(), now, robot_json,
	                         reply, sizeof(reply)),
	             401, "%s", reply);
	cr_assert_eq(code_of(reply), 16, "%s", reply);
	cr_assert_not_null(strstr(reply, "bad signature"), "%s", reply);
	assert_serving();

	/* Robot A writing robot B's account: A's secret, B's name. */
	cr_assert_eq(post_signed("R2", SECRET_R1, next_seq(), now, account_json,
	                         reply, sizeof(reply)),
	             401, "%s", reply);
	cr_assert_eq(code_of(reply), 16, "%s", reply);
	cr_assert_eq(harness_heartbeats(&srv, "R2", "ACC_003"), 0);
	assert_serving();

	/* Stale sent_at: an hour ago. */
	cr_assert_eq(post_signed("R1", SECRET_R1, next_seq(), now - 3600000,
	                         robot_json, reply, sizeof(reply)),
	             401, "%s", reply);
	cr_assert_eq(code_of(reply), 16, "%s", reply);
	cr_assert_not_null(strstr(reply, "behind the server"), "%s", reply);
	assert_serving();

	/* Replayed: the same request again gets the same answer and is not
	 * recorded twice; the same seq with another body is refused. */
	seq = next_seq();
	cr_assert_eq(post_signed("R1", SECRET_R1, seq, now, account_json, reply,
	                         sizeof(reply)),
	             200, "%s", reply);
	cr_assert_eq(post_signed("R1", SECRET_R1, seq, now, account_json, reply,
	                         sizeof(reply)),
	             200, "%s", reply);
	cr_assert_not_null(strstr(reply, "R1/ACC_003"), "%s", reply);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "ACC_003"), 1);
	cr_assert_eq(post_signed("R1", SECRET_R1, seq, now, robot_json, reply,
	                         sizeof(reply)),
	             401, "%s", reply);
	cr_assert_not_null(strstr(reply, "already used"), "%s", reply);
	cr_assert_eq(post_signed("R1", SECRET_R1, seq - 1, now, robot_json,
	                         reply, sizeof(reply)),
	             401, "%s", reply);
	cr_assert_not_null(strstr(reply, "not above"), "%s", reply);
	assert_serving();

	/* Malformed JSON. */
	cr_assert_eq(post_signed("R1", SECRET_R1, next_seq(), now,
	                         "{\"event\": ", reply, sizeof(reply)),
	             400, "%s", reply);
	cr_assert_eq(code_of(reply), 3, "%s", reply);
	assert_serving();

	/* A status word that is not in the seed. */
	cr_assert_eq(post_signed("R1", SECRET_R1, next_seq(), now,
	                         "{\"event\": \"ROBOT_HEARTBEAT\", \"status\":"
	                         " \"fine\", \"active_accounts\": 1,"
	                         " \"active_tasks\": 1, \"timestamp\":"
	                         " \"2026-01-20T09:30:00+07:00\"}",
	                         reply, sizeof(reply)),
	             400, "%s", reply);
	cr_assert_eq(code_of(reply), 3, "%s", reply);
	cr_assert_not_null(strstr(reply, "'fine' is not one of"), "%s", reply);
	assert_serving();

	/* An unknown robot. */
	cr_assert_eq(post_signed("R9", SECRET_R1, next_seq(), now, robot_json,
	                         reply, sizeof(reply)),
	             401, "%s", reply);
	cr_assert_not_null(strstr(reply, "not registered"), "%s", reply);

	/* Missing headers. */
	cr_assert_eq(exchange_str("POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\n"
	                          "Content-Length: 2\r\n\r\n{}",
	                          reply, sizeof(reply)),
	             400, "%s", reply);
	cr_assert_not_null(strstr(reply, "X-Hbmon-Robot"), "%s", reply);

	/* A body over http_body_max: read away, then 413. */
	big = malloc(4096);
	memset(big, ' ', 4095);
	big[0] = '{';
	big[4094] = '}';
	big[4095] = '\0';
	cr_assert_eq(post_signed("R1", SECRET_R1, next_seq(), now, big, reply,
	                         sizeof(reply)),
	             413, "%s", reply);
	cr_assert_eq(code_of(reply), 8, "%s", reply);
	free(big);
	assert_serving();

	/* Chunked bodies are not taken. */
	cr_assert_eq(exchange_str("POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\n"
	                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	                          reply, sizeof(reply)),
	             501, "%s", reply);
	assert_serving();
}

Test(http, hostile_connections_do_not_stop_it)
{
	const char *extra[] = { "--http-header-timeout", "500ms", NULL };
	char reply[4096], *huge;
	int fds[20], before;

	start(extra);
	assert_serving();
	before = harness_fd_count(srv.pid);

	/* Bare connects, FIN+RST before and after a partial head. */
	for (int i = 0; i < 20; i++) {
		int fd = connect_http();
		if (i % 3 == 1) {
			send_all(fd, "GET /hea", 8);
		}
		if (i % 3 == 0) {
			close(fd);
		} else {
			harness_raw_fin_rst(fd);
		}
	}
	assert_serving();

	/* Not HTTP at all (a TLS hello, say): 400, closed. */
	cr_assert_eq(exchange("\x16\x03\x01\x00\xa5\x01\x00\x00",
	                      sizeof("\x16\x03\x01\x00\xa5\x01\x00\x00") - 1,
	                      reply, sizeof(reply)),
	             400);
	/* A head that never ends: 431 once it passes http_header_max. */
	huge = malloc(16384);
	memcpy(huge, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", 40);
	memset(huge + 40, 'a', 16384 - 40);
	cr_assert_eq(exchange(huge, 16384, reply, sizeof(reply)), 431, "%s",
	             reply);
	free(huge);
	assert_serving();

	/* Slow loris: a head dribbled a byte at a time is closed by the
	 * header deadline, wherever it has got to. */
	{
		int fd = connect_http();
		const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
		int64_t t0 = clock_mono_ms();
		bool closed = false;
		for (size_t i = 0; head[i] != '\0' && !closed; i++) {
			if (send(fd, head + i, 1, MSG_NOSIGNAL) != 1) {
				closed = true;
			}
			closed = closed || harness_raw_closed(fd, 100);
		}
		closed = closed || harness_raw_closed(fd, 3000);
		cr_assert(closed, "a dribbling client was not closed");
		cr_assert_lt(clock_mono_ms() - t0, 10000);
		close(fd);
	}
	assert_serving();

	/* Idle connections that never send: closed by the deadline. */
	for (int i = 0; i < 20; i++) {
		fds[i] = connect_http();
	}
	for (int i = 0; i < 20; i++) {
		cr_assert(harness_raw_closed(fds[i], 3000),
		          "an idle connection was kept");
		close(fds[i]);
	}
	assert_serving();
	/* Nothing leaked: back to what it had. */
	cr_assert_leq(harness_await_fds(srv.pid, before, 5000), before);
}

Test(http, the_connection_cap_makes_room_for_a_robot)
{
	const char *extra[] = { "--http-max-connections", "8", NULL };
	int fds[8];

	start(extra);
	/* Eight that never send a request fill the listener... */
	for (int i = 0; i < 8; i++) {
		fds[i] = connect_http();
	}
	harness_sleep_ms(200);
	/* ...and the ninth still gets in: the oldest of them goes. */
	assert_serving();
	cr_assert(harness_raw_closed(fds[0], 3000),
	          "the oldest idle connection was not closed for room");
	for (int i = 0; i < 8; i++) {
		close(fds[i]);
	}
	cr_assert(harness_log_wait(&srv, "closed to make room", 5000));
}

Test(http, keep_alive_and_pipelining)
{
	char reply[8192];
	int fd;
	const char two[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	                   "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	                   "Connection: close\r\n\r\n";

	start(NULL);
	fd = connect_http();
	send_all(fd, two, sizeof(two) - 1);
	read_all(fd, reply, sizeof(reply));
	close(fd);
	cr_assert_eq(status_of(reply), 200, "%s", reply);
	cr_assert_not_null(
	    strstr(strstr(reply, "\r\n\r\nok\n") + 4, "HTTP/1.1 200 OK"), "%s",
	    reply);
}

Test(http, healthz_says_ok_and_unknown_paths_are_404)
{
	char reply[4096];

	start(NULL);
	cr_assert_eq(
	    exchange_str("GET /healthz HTTP/1.0\r\n\r\n", reply, sizeof(reply)),
	    200, "%s", reply);
	cr_assert_not_null(strstr(reply, "\r\n\r\nok\n"), "%s", reply);
	cr_assert_eq(
	    exchange_str("GET /nothing HTTP/1.0\r\n\r\n", reply, sizeof(reply)),
	    404, "%s", reply);
	cr_assert_eq(code_of(reply), 5, "%s", reply);
	cr_assert_eq(exchange_str("DELETE /healthz HTTP/1.0\r\n\r\n", reply,
	                          sizeof(reply)),
	             405, "%s", reply);
}

/* curl's exit status for GET url; its output in *out (malloc'd). */
static int
curl_get(const char *u, char **out)
{
	const char *argv[] = { "/usr/bin/curl", "-sS", "--insecure", u, NULL };
	int st = harness_run(argv, NULL, out, NULL, 20000);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(http, https_with_the_tls_keys)
{
	char dir[512], cert[600], key[600], prog[2048];
	char *out = NULL;
	const char *extra[9];

	harness_tmpdir(dir, sizeof(dir));
	harness_tls_certs(dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET_R1);
	extra[0] = "--http-listen";
	extra[1] = "https://127.0.0.1:0";
	extra[2] = "--tls-cert-file";
	extra[3] = cert;
	extra[4] = "--tls-key-file";
	extra[5] = key;
	extra[6] = NULL;
	cr_assert(harness_server_start(&srv, extra));
	{
		char *log = harness_server_log(&srv);
		char *at = strstr(log, " http=https://127.0.0.1:");
		cr_assert_not_null(at, "%s", log);
		port = atoi(at + 24);
		free(log);
	}
	snprintf(prog, sizeof(prog), "https://127.0.0.1:%d/healthz", port);
	/* --insecure: the test certificate names 127.0.0.1 as a DNS name
	 * (for mbedTLS), which curl does not match to an address; checking
	 * certificates is edge_tls_test's business. */
	cr_assert_eq(curl_get(prog, &out), 0, "%s", out);
	cr_assert_str_eq(out, "ok\n");
	free(out);
	/* Plain HTTP to the TLS port is refused without harm. */
	{
		char reply[1024];
		exchange_str("GET /healthz HTTP/1.0\r\n\r\n", reply,
		             sizeof(reply));
	}
	cr_assert_eq(curl_get(prog, &out), 0, "%s", out);
	cr_assert_str_eq(out, "ok\n");
	free(out);
	harness_rmrf(dir);
}
