/*
 * The listener self-check (SPEC §3.6), with the real server: every
 * listener_check the server completes a handshake on each of its own
 * listeners, and replaces one that fails, at the same address and mode,
 * with LISTENER_RESTARTED. Its ipc socket files removed, a foreign process
 * squatting on the admin socket's path, a tcp and a tls+tcp listener
 * whose stream listener is closed under it (hbmon-server-hooks, a test
 * build: SIGUSR2 breaks the listener named in DATA_DIR/break-listener):
 * each is replaced within listener_check + 1 s, and then hbctl status, a
 * robot heartbeat, a new subscriber and a notifier catching up from the
 * outbox all work, and connections made before are kept. A healthy
 * server, also one whose TLS listener refuses the server's own
 * certificate, raises nothing, logs no refusal and holds no more fds.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "hbmon/error.h"
#include "hbmon/v1/rpc.pb-c.h"
#include "notify_support.h"

#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x

/* The check's period here, and how soon after a failure the listener
 * must be back: a period, the check's own time, and a second. */
#define CHECK       "300ms"
#define CHECK_MS    300
#define REPLACED_MS (CHECK_MS + 1000)

static struct harness_server srv;
static struct nt_notifier nt;
static char certs[600];

static void
teardown(void)
{
	nt_kill_all();
	nt_notifier_fini(&nt);
	harness_server_fini(&srv);
}

TestSuite(server_selfcheck, .fini = teardown, .timeout = 120);

/* Prepares srv for the test build, with robot R1. */
static void
prepare(void)
{
	harness_server_init(&srv);
	srv.program = "src/server/hbmon-server-hooks";
	harness_robot_add(&srv, "R1", NT_SECRET);
	nt_notifier_init(&nt);
}

/*
 * Starts srv with the check every CHECK, keepalives every second, and
 * more flags (may be NULL). Not more often: an nng 1.5.2 SUB socket
 * closed while its pipe receives can hang in nng_close (see
 * architecture.md, nanomsg/nng#1636), and the notifiers here are closed.
 */
static void
start(const char *const *more)
{
	const char *base[] = { "--listener-check", CHECK,
		               "--keepalive-interval", "1s", NULL };
	const char *args[40];

	harness_args(args, 40, base, more);
	cr_assert(harness_server_start(&srv, args), "server did not start:\n%s",
	          harness_server_log(&srv));
	cr_assert(harness_log_wait(&srv, "listener self-check started", 5000));
}

/* The path of an ipc:// URL. */
static const char *
path_of(const char *url)
{
	cr_assert_eq(strncmp(url, "ipc://", 6), 0, "%s is not ipc://", url);
	return url + 6;
}

/* The mode bits of path, or -1 when it is missing. */
static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int) (st.st_mode & 07777) : -1;
}

/* Waits up to timeout_ms for path to be a socket again; returns whether. */
static bool
socket_back(const char *path, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	struct stat st;

	while (clock_mono_ms() < until) {
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			return true;
		}
		harness_sleep_ms(10);
	}
	return false;
}

/* Every LISTENER_RESTARTED in `hbctl alerts --json` (a JSON array). */
static json_t *
restarted_alerts(void)
{
	const char *argv[] = { harness_bin("tools/hbctl/hbctl"),
		               "--admin",
		               srv.admin,
		               "alerts",
		               "--json",
		               NULL };
	json_t *all = json_array();
	char *out = NULL, *err = NULL, *line, *save = NULL;
	int st = harness_run(argv, NULL, &out, &err, 20000);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "hbctl alerts failed: %s", err);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		const char *kind;

		cr_assert_not_null(j, "not JSON: %s", line);
		kind = json_string_value(json_object_get(j, "kind"));
		if (kind != NULL && strcmp(kind, "LISTENER_RESTARTED") == 0) {
			json_array_append_new(all, j);
		} else {
			json_decref(j);
		}
	}
	free(out);
	free(err);
	return all;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

/*
 * Asserts that `hbctl alerts --json` holds exactly one LISTENER_RESTARTED,
 * a firing warning of no robot, naming listener and url.
 */
static void
assert_one_restarted(const char *listener, const char *url)
{
	json_t *all = NULL;
	char name[64];

	/* The alert goes through the recorder: committed within a tick. */
	for (int i = 0; i < 100; i++) {
		json_decref(all);
		all = restarted_alerts();
		if (json_array_size(all) > 0) {
			break;
		}
		harness_sleep_ms(50);
	}
	cr_assert_eq(json_array_size(all), 1, "LISTENER_RESTARTED alerts: %zu",
	             json_array_size(all));
	{
		json_t *a = json_array_get(all, 0);
		snprintf(name, sizeof(name), "%s listener", listener);
		cr_assert_str_eq(str(a, "severity"), "warning");
		cr_assert_str_eq(str(a, "state"), "firing");
		cr_assert_str_eq(str(a, "robot"), "");
		cr_assert_str_eq(str(a, "account"), "");
		cr_assert(strstr(str(a, "summary"), name) != NULL, "%s",
		          str(a, "summary"));
		cr_assert(strstr(str(a, "summary"), url) != NULL, "%s",
		          str(a, "summary"));
		cr_assert_neq(str(json_object_get(a, "details"), "reason")[0],
		              '\0', "no reason given");
	}
	json_decref(all);
}

/* Waits for the server's log to say that listener was replaced. */
static void
assert_replaced_logged(const char *listener)
{
	char needle[96];

	snprintf(needle, sizeof(needle), "listener=%s ", listener);
	cr_assert(harness_log_wait(&srv, "replaced at the same address", 5000),
	          "no replacement logged:\n%s", harness_server_log(&srv));
	{
		char *log = harness_server_log(&srv);
		char *line = strstr(log, "replaced at the same address");
		cr_assert(line != NULL && strstr(line, needle) != NULL,
		          "not %s replaced:\n%s", listener, log);
		free(log);
	}
}

/* ---- what must work after a replacement ---- */

/* Whether the stdout sink printed a LISTENER_RESTARTED. */
static bool
notifier_has_restarted(void *arg)
{
	json_t *all = nt_out_lines(arg), *j;
	bool yes = false;
	size_t i;

	json_array_foreach(all, i, j)
	{
		yes = yes || strcmp(str(j, "kind"), "LISTENER_RESTARTED") == 0;
	}
	json_decref(all);
	return yes;
}

/* Whether the notifier is in contact with the server. */
static bool
notifier_started(void *arg)
{
	const struct nt_notifier *n = arg;
	char *log = harness_read_file(n->log);
	bool yes = strstr(log, "hbmon-notify started") != NULL;

	free(log);
	return yes;
}

/* A new SUB socket on the alert listener hears a keepalive. */
static void
assert_subscriber_hears(void)
{
	nng_socket s;
	void *buf;
	size_t len;
	int rv = -1;

	cr_assert_eq(nng_sub0_open(&s), 0);
	cr_assert_eq(nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, KEEPALIVE_TOPIC,
	                            strlen(KEEPALIVE_TOPIC)),
	             0);
	cr_assert_eq(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 3000), 0);
	cr_assert_eq(nng_dial(s, srv.publish, NULL, 0), 0);
	for (int i = 0; i < 3 && rv != 0; i++) {
		if ((rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC)) == 0) {
			cr_assert_eq(pub_topic_classify(buf, len),
			             PUB_KEEPALIVE);
			nng_free(buf, len);
		}
	}
	cr_assert_eq(rv, 0, "a new subscriber heard nothing: %s",
	             nng_strerror(rv));
	nng_close(s);
}

/*
 * After a replacement: hbctl status, a robot heartbeat, a new
 * subscriber, and a new notifier that catches up from the outbox (where
 * the LISTENER_RESTARTED is) all work.
 */
static void
assert_everything_works(void)
{
	const char *status[] = { harness_bin("tools/hbctl/hbctl"), "--admin",
		                 srv.admin, "status", NULL };
	char *out = NULL, *err = NULL;
	int st = harness_run(status, NULL, &out, &err, 20000);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "hbctl status failed: %s", err);
	free(out);
	free(err);
	cr_assert_eq(harness_report_robot(srv.listen, &srv.tls, "R1", NT_SECRET,
	                                  H(HEALTHY)),
	             0, "the robot heartbeat was refused");
	assert_subscriber_hears();
	nt_notifier_start(&nt, &srv, "stdout", NULL, NULL);
	cr_assert(nt_wait(notifier_has_restarted, &nt, 10000),
	          "a new notifier did not catch LISTENER_RESTARTED up");
	nt_notifier_stop(&nt);
}

/* ---- a connection made before the replacement ---- */

/* Sends all of buf on fd. */
static void
send_all(int fd, const void *buf, size_t len)
{
	cr_assert_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t) len,
	             "send: %s", strerror(errno));
}

/* Reads exactly len bytes from fd within 5 s. */
static void
recv_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int64_t until = clock_mono_ms() + 5000;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		cr_assert_lt(clock_mono_ms(), until, "nothing to read");
		if (poll(&pfd, 1, 100) <= 0) {
			continue;
		}
		n = recv(fd, buf + got, len - got, 0);
		cr_assert_gt(n, 0, "connection closed after %zu bytes", got);
		got += (size_t) n;
	}
}

/* An SP REQ connection to the admin socket, by hand, handshake done. */
static int
admin_connection(void)
{
	static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 };
	uint8_t theirs[8];
	int fd = harness_raw_connect(srv.admin, NULL);

	send_all(fd, hello, sizeof(hello));
	recv_all(fd, theirs, sizeof(theirs));
	cr_assert_eq(theirs[5], 0x31, "not a REP listener");
	return fd;
}

/* One ServerInfo request on fd (ipc framing); asserts it is answered OK. */
static void
assert_connection_served(int fd)
{
	Hbmon__V1__RpcRequest req = HBMON__V1__RPC_REQUEST__INIT;
	Hbmon__V1__RpcResponse *rsp;
	uint8_t frame[256], head[9 + 4], body[1024];
	size_t n;
	uint64_t len;

	req.method = "/hbmon.v1.Admin/ServerInfo";
	n = hbmon__v1__rpc_request__get_packed_size(&req);
	cr_assert_lt(n + 13, sizeof(frame));
	frame[0] = 1;
	for (int i = 0; i < 8; i++) {
		frame[1 + i] = (uint8_t) ((n + 4) >> (56 - 8 * i));
	}
	frame[9] = 0x80; /* the request id, top bit set */
	frame[10] = 0;
	frame[11] = 0;
	frame[12] = 7;
	hbmon__v1__rpc_request__pack(&req, frame + 13);
	send_all(fd, frame, n + 13);
	recv_all(fd, head, sizeof(head));
	len = 0;
	for (int i = 0; i < 8; i++) {
		len = len << 8 | head[1 + i];
	}
	cr_assert_eq(head[12], 7, "the reply carries another request id");
	cr_assert(len >= 4 && len - 4 <= sizeof(body), "reply of %llu bytes",
	          (unsigned long long) len);
	recv_all(fd, body, (size_t) (len - 4));
	rsp = hbmon__v1__rpc_response__unpack(NULL, (size_t) (len - 4), body);
	cr_assert_not_null(rsp);
	cr_assert_eq(rsp->code, 0, "%s", rsp->message);
	hbmon__v1__rpc_response__free_unpacked(rsp, NULL);
}

/* ---- ipc socket files removed ---- */

/*
 * Removes the socket file of url (the listener named listener) and
 * asserts that it is back, same mode, within REPLACED_MS, with its
 * alert, while a connection made before goes on being served.
 */
static void
unlink_and_watch(const char *listener, const char *url)
{
	const char *path = path_of(url);
	int mode = mode_of(path);
	int fd = admin_connection();
	int64_t t0;

	cr_assert_gt(mode, 0);
	cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));
	t0 = clock_mono_ms();
	cr_assert(socket_back(path, REPLACED_MS),
	          "%s not back within %d ms:\n%s", path, REPLACED_MS,
	          harness_server_log(&srv));
	cr_assert_leq(clock_mono_ms() - t0, REPLACED_MS);
	cr_assert_eq(mode_of(path), mode, "mode %04o, was %04o",
	             (unsigned) mode_of(path), (unsigned) mode);
	assert_replaced_logged(listener);
	assert_one_restarted(listener, url);
	assert_connection_served(fd);
	close(fd);
	assert_everything_works();
}

Test(server_selfcheck, admin_socket_removed_is_replaced)
{
	prepare();
	start(NULL);
	cr_assert_eq(mode_of(path_of(srv.admin)), 0600);
	unlink_and_watch("admin", srv.admin);
}

Test(server_selfcheck, robot_socket_removed_is_replaced)
{
	prepare();
	start(NULL);
	unlink_and_watch("robots", srv.listen);
}

Test(server_selfcheck, alert_socket_removed_is_replaced)
{
	prepare();
	start(NULL);
	cr_assert_eq(mode_of(path_of(srv.publish)), 0600);
	unlink_and_watch("alerts", srv.publish);
}

/* ---- a foreign process on the admin socket's path ---- */

/*
 * Takes path over as a listening unix socket that answers every
 * connection with 8 bytes that are not SP; returns the child's pid.
 */
static pid_t
squat(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0,
	             "bind: %s", strerror(errno));
	cr_assert_eq(listen(fd, 16), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			int c = accept(fd, NULL, NULL);
			if (c >= 0) {
				(void) !write(c, "HTTP/1.0", 8);
				close(c);
			}
		}
	}
	close(fd);
	return pid;
}

Test(server_selfcheck, a_squatter_on_the_admin_path_is_evicted)
{
	const char *path;
	pid_t squatter;
	int fd;

	prepare();
	start(NULL);
	path = path_of(srv.admin);
	fd = admin_connection();
	squatter = squat(path);
	/* The server's own check meets the squatter's bytes, not SP, and
	 * its listener accepted nothing: replaced, the path reclaimed. */
	cr_assert(harness_log_wait(&srv, "replaced at the same address",
	                           REPLACED_MS + 1000),
	          "not replaced:\n%s", harness_server_log(&srv));
	kill(squatter, SIGKILL);
	waitpid(squatter, NULL, 0);
	cr_assert(socket_back(path, 1000));
	cr_assert_eq(mode_of(path), 0600);
	assert_one_restarted("admin", srv.admin);
	assert_connection_served(fd);
	close(fd);
	assert_everything_works();
}

/* ---- a tcp listener whose stream listener dies ---- */

/* Breaks the listener named listener through the test build's hook. */
static void
break_listener(const char *listener)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/break-listener", srv.dir);
	harness_write_file(path, listener, 0600);
	cr_assert_eq(kill(srv.pid, SIGUSR2), 0);
	cr_assert(harness_log_wait(&srv, "test hook: listener broken", 5000),
	          "the hook did not run:\n%s", harness_server_log(&srv));
}

/* Whether a tcp connection to url is refused right now. */
static bool
tcp_refused(const char *url)
{
	int fd = harness_raw_try_connect(url, NULL);

	if (fd < 0) {
		return true;
	}
	close(fd);
	return false;
}

static void
break_robots_and_watch(void)
{
	int64_t t0;
	bool refused = false;

	cr_assert_eq(harness_report_robot(srv.listen, &srv.tls, "R1", NT_SECRET,
	                                  H(HEALTHY)),
	             0);
	break_listener("robots");
	t0 = clock_mono_ms();
	/* It is deaf for a moment, then back at the same port. */
	while (clock_mono_ms() - t0 < REPLACED_MS) {
		if (tcp_refused(srv.listen)) {
			refused = true;
		} else if (refused) {
			break;
		}
		harness_sleep_ms(5);
	}
	cr_assert(
	    harness_log_wait(&srv, "replaced at the same address", REPLACED_MS),
	    "not replaced within %d ms:\n%s", REPLACED_MS,
	    harness_server_log(&srv));
	cr_assert_leq(clock_mono_ms() - t0, REPLACED_MS + 100);
	cr_assert(!tcp_refused(srv.listen), "%s still refuses", srv.listen);
	assert_replaced_logged("robots");
	assert_one_restarted("robots", srv.listen);
	assert_everything_works();
}

Test(server_selfcheck, a_dead_tcp_listener_is_replaced_at_its_port)
{
	prepare();
	snprintf(srv.listen, sizeof(srv.listen), "tcp://127.0.0.1:0");
	start(NULL);
	break_robots_and_watch();
}

/* Makes the test certificates under srv's data dir. */
static void
make_certs(void)
{
	snprintf(certs, sizeof(certs), "%s/certs", srv.dir);
	cr_assert_eq(mkdir(certs, 0700), 0);
	harness_tls_certs(certs);
}

static const char *
cert(const char *name)
{
	static char paths[8][700];
	static int n;

	n = (n + 1) % 8;
	snprintf(paths[n], sizeof(paths[n]), "%s/%s", certs, name);
	return paths[n];
}

Test(server_selfcheck, a_dead_tls_listener_is_replaced_at_its_port)
{
	prepare();
	make_certs();
	snprintf(srv.listen, sizeof(srv.listen), "tls+tcp://127.0.0.1:0");
	srv.tls.ca_file = cert("ca.pem");
	start((const char *[]){ "--tls-cert-file", cert("server.pem"),
	                        "--tls-key-file", cert("server.key"), NULL });
	break_robots_and_watch();
}

/* ---- a healthy server ---- */

/*
 * For about 3 s (10 checks of every listener) with a robot reporting:
 * no LISTENER_RESTARTED, no refusal logged, no replacement, and no fd
 * more than before.
 */
static void
assert_quiet(void)
{
	int before, after;

	/* Every path used once (the admin reads open their database
	 * connections as they are first needed), then settled: the same
	 * count twice, a check apart. */
	cr_assert_eq(harness_report_robot(srv.listen, &srv.tls, "R1", NT_SECRET,
	                                  H(HEALTHY)),
	             0);
	json_decref(restarted_alerts());
	harness_sleep_ms(1000);
	before = harness_fd_count(srv.pid);
	for (int i = 0; i < 20; i++) {
		int n;
		harness_sleep_ms(CHECK_MS + 50);
		if ((n = harness_fd_count(srv.pid)) == before) {
			break;
		}
		before = n;
	}
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(harness_report_robot(srv.listen, &srv.tls, "R1",
		                                  NT_SECRET, H(HEALTHY)),
		             0);
		harness_sleep_ms(CHECK_MS);
	}
	after = harness_await_fds(srv.pid, before, 3000);
	cr_assert_leq(after, before, "%d fds, %d before", after, before);
	{
		json_t *all = restarted_alerts();
		cr_assert_eq(json_array_size(all), 0,
		             "LISTENER_RESTARTED on a healthy server:\n%s",
		             harness_server_log(&srv));
		json_decref(all);
	}
	cr_assert_eq(harness_log_count(&srv, "refus"), 0,
	             "refusals logged:\n%s", harness_server_log(&srv));
	cr_assert_eq(harness_log_count(&srv, "failed its self-check"), 0,
	             "self-check trouble logged:\n%s",
	             harness_server_log(&srv));
	cr_assert_eq(harness_log_count(&srv, "level=warn"), 0, "%s",
	             harness_server_log(&srv));
}

Test(server_selfcheck, a_healthy_server_stays_quiet)
{
	prepare();
	start(NULL);
	nt_notifier_start(&nt, &srv, "stdout", NULL, NULL);
	cr_assert(nt_wait(notifier_started, &nt, 10000));
	assert_quiet();
	nt_notifier_stop(&nt);
}

Test(server_selfcheck, tls_that_refuses_the_servers_own_certificate_is_alive)
{
	prepare();
	make_certs();
	snprintf(srv.listen, sizeof(srv.listen), "tls+tcp://127.0.0.1:0");
	srv.tls.ca_file = cert("ca.pem");
	srv.tls.cert_file = cert("client2.pem");
	srv.tls.key_file = cert("client2.key");
	/* Clients must show a certificate of ca2, which the server's own
	 * (signed by ca) is not: every check fails its TLS handshake, yet
	 * the listener accepted it. */
	start((const char *[]){ "--tls-cert-file", cert("server.pem"),
	                        "--tls-key-file", cert("server.key"),
	                        "--tls-ca-file", cert("ca2.pem"),
	                        "--tls-verify-peer", "required", NULL });
	assert_quiet();
}
