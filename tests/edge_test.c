/*
 * edge_test: hostile connections against every listener of the real
 * hbmon-server (robots over tcp, ipc and tls+tcp; admin over ipc, tcp and
 * tls+tcp; alerts over ipc, tcp and tls+tcp), done the way nng 1.5.2's own
 * listeners were switched off for good (nanomsg/nng#1518): a bare
 * connect+close, FIN+RST with and without the SP handshake, half a
 * handshake, another SP protocol, TLS bytes where none is spoken and
 * garbage where TLS is, and 300 connections opened and dropped. After
 * each, at once: a robot's heartbeat, `hbctl status`, a new subscriber
 * and a notifier's catch-up from the outbox work; at the end the server
 * holds no more fds than before. Standard SP peers (nngcat) are served on
 * every listener.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"
#include "server/spwire.h"

#define SECRET       "hbs_edge-test-robot-secret"
#define ADMIN_SECRET "hbs_edge-test-admin-secret"
/* Attackers come from another loopback address than robots, so that the
 * per-address limits they run into are theirs. */
#define ATTACKER "127.0.0.2"

static struct harness_server srv;
static char admin_secret[700], certs[600], ca[700], cert[700], key[700];
static bool health_bad; /* what the robot reports next */

static void
stop(void)
{
	harness_server_fini(&srv);
}

TestSuite(edge, .fini = stop, .timeout = 240);

/*
 * Starts a server with robots on listen, alerts on publish, an admin
 * listener on admin_tcp ("" for none), TLS from fresh certificates when
 * any of them is tls+tcp://.
 */
static void
start(const char *listen, const char *publish, const char *admin_tcp,
      const char *const *more)
{
	const char *args[32];
	int n = 0;

	harness_raise_fd_limit();
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	snprintf(admin_secret, sizeof(admin_secret), "%s/admin.secret",
	         srv.dir);
	harness_write_file(admin_secret, ADMIN_SECRET "\n", 0600);
	if (listen != NULL) {
		snprintf(srv.listen, sizeof(srv.listen), "%s", listen);
	}
	if (publish != NULL) {
		snprintf(srv.publish, sizeof(srv.publish), "%s", publish);
	}
	if (admin_tcp != NULL && admin_tcp[0] != '\0') {
		args[n++] = "--admin-tcp";
		args[n++] = admin_tcp;
		args[n++] = "--admin-secret-file";
		args[n++] = admin_secret;
		if (!tlsconf_is_tls_url(admin_tcp)) {
			/* Plain tcp on purpose: its listener is tested too. */
			args[n++] = "--admin-tcp-insecure";
		}
	}
	if (tlsconf_is_tls_url(srv.listen) || tlsconf_is_tls_url(srv.publish) ||
	    tlsconf_is_tls_url(admin_tcp)) {
		snprintf(certs, sizeof(certs), "%s/certs", srv.dir);
		cr_assert_eq(mkdir(certs, 0700), 0);
		harness_tls_certs(certs);
		snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
		snprintf(cert, sizeof(cert), "%s/server.pem", certs);
		snprintf(key, sizeof(key), "%s/server.key", certs);
		args[n++] = "--tls-cert-file";
		args[n++] = cert;
		args[n++] = "--tls-key-file";
		args[n++] = key;
		srv.tls.ca_file = ca;
	}
	for (int i = 0; more != NULL && more[i] != NULL; i++) {
		args[n++] = more[i];
	}
	args[n] = NULL;
	cr_assert(harness_server_start(&srv, args), "server did not start: %s",
	          harness_server_log(&srv));
}

static bool
is_ipc(const char *url)
{
	return strncmp(url, "ipc://", 6) == 0;
}

/* ---- what must keep working ---- */

/* The robot reports, on a new connection; health alternates so that
 * every other report raises an alert (healthy -> unhealthy is not in the
 * diagram). */
static void
heartbeat(void)
{
	int health = health_bad
	                 ? HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNHEALTHY
	                 : HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;

	health_bad = !health_bad;
	cr_assert_eq(
	    harness_report_robot(srv.listen, &srv.tls, "R1", SECRET, health),
	    RPC_OK);
}

/* hbctl status over url (the ipc admin socket, or admin_tcp signed). */
static void
hbctl_status(const char *url)
{
	const char *argv[16];
	char *out = NULL, *err = NULL;
	int n = 0, st;

	argv[n++] = harness_bin("tools/hbctl/hbctl");
	argv[n++] = "--admin";
	argv[n++] = url;
	if (!is_ipc(url)) {
		argv[n++] = "--admin-secret-file";
		argv[n++] = admin_secret;
	}
	if (srv.tls.ca_file != NULL) {
		argv[n++] = "--tls-ca-file";
		argv[n++] = srv.tls.ca_file;
	}
	argv[n++] = "status";
	argv[n] = NULL;
	st = harness_run(argv, NULL, &out, &err, 20000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "hbctl status on %s: %d %s", url, st, err);
	cr_assert(strstr(out, "R1") != NULL, "%s", out);
	free(out);
	free(err);
}

/* A new subscriber gets an alert published after it connected. */
static void
subscriber(void)
{
	nng_socket sub;
	nng_msg *msg = NULL;
	char why[512];
	int tls_err;

	cr_assert_eq(nng_sub0_open(&sub), 0);
	nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 100);
	cr_assert_eq(tlsconf_dial(sub, srv.publish, &srv.tls, 0, &tls_err, why,
	                          sizeof(why)),
	             0, "subscribe to %s: %s", srv.publish, why);
	/* A SUB misses what was published before it was connected: raise
	 * alerts until one lands. */
	for (int i = 0; i < 100 && msg == NULL; i++) {
		heartbeat();
		if (nng_recvmsg(sub, &msg, 0) != 0) {
			msg = NULL;
		}
	}
	cr_assert_not_null(msg, "no alert on %s", srv.publish);
	cr_assert(nng_msg_len(msg) > 0);
	/* nng 1.5.2 can hang for good in nng_close of a socket whose tcp
	 * or tls pipe is receiving at that moment (nanomsg/nng#1636, fixed
	 * in 1.6.0): wait until the alerts of the last report are in. */
	do {
		nng_msg_free(msg);
	} while (nng_recvmsg(sub, &msg, 0) == 0);
	nng_close(sub);
}

/* What a notifier does to catch up: the outbox, after seq 0. */
static void
catch_up(const char *url)
{
	struct rpc_client *adm =
	    is_ipc(url)
	        ? harness_admin(&srv)
	        : harness_client_tls(url, "@admin", ADMIN_SECRET, &srv.tls);
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(adm, 0, &a);

	cr_assert_gt(n, 0, "nothing in the outbox through %s", url);
	harness_alerts_free(a, n);
	rpc_client_close(adm);
}

static void
everything_works(void)
{
	heartbeat();
	hbctl_status(srv.admin);
	if (srv.admin_tcp[0] != '\0') {
		hbctl_status(srv.admin_tcp);
	}
	subscriber();
	catch_up(srv.admin);
	if (srv.admin_tcp[0] != '\0') {
		catch_up(srv.admin_tcp);
	}
}

/* ---- what peers do to a listener ---- */

static const char *
source(const char *url)
{
	return is_ipc(url) ? NULL : ATTACKER;
}

static void
send_all(int fd, const void *p, size_t n)
{
	cr_assert_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t) n);
}

/* A TLS connection through nng (handshake done), for what must be said
 * over TLS. */
static nng_stream *
tls_stream(const char *url)
{
	nng_stream_dialer *d;
	nng_tls_config *cfg;
	nng_aio *aio;
	nng_stream *s;
	char why[512], warn[256];

	cr_assert_eq(tlsconf_client(ca, NULL, NULL, NULL, &cfg, why,
	                            sizeof(why), warn, sizeof(warn)),
	             HBMON_OK, "%s", why);
	cr_assert_eq(nng_stream_dialer_alloc(&d, url), 0);
	cr_assert_eq(nng_stream_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg), 0);
	cr_assert_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	nng_aio_set_timeout(aio, 5000);
	nng_stream_dialer_dial(d, aio);
	nng_aio_wait(aio);
	cr_assert_eq(nng_aio_result(aio), 0);
	s = nng_aio_get_output(aio, 0);
	nng_aio_free(aio);
	nng_stream_dialer_free(d);
	tlsconf_free(cfg);
	return s;
}

/* Sends n bytes on a TLS stream; then whether the server closes it. */
static bool
tls_send_then_closed(nng_stream *s, const void *p, size_t n)
{
	nng_aio *aio;
	uint8_t buf[64];
	nng_iov iov = { .iov_buf = (void *) p, .iov_len = n };
	int rv = 0;

	cr_assert_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	nng_aio_set_timeout(aio, 5000);
	nng_aio_set_iov(aio, 1, &iov);
	nng_stream_send(s, aio);
	nng_aio_wait(aio);
	iov.iov_buf = buf;
	iov.iov_len = sizeof(buf);
	/* The server's handshake comes first, then its close. */
	for (int i = 0; i < 4 && rv == 0; i++) {
		nng_aio_set_iov(aio, 1, &iov);
		nng_stream_recv(s, aio);
		nng_aio_wait(aio);
		rv = nng_aio_result(aio);
	}
	nng_aio_free(aio);
	return rv != 0 && rv != NNG_ETIMEDOUT;
}

/*
 * Every kind of trouble on one listener (self: what it speaks, so that
 * "another protocol" is chosen for it), with everything_works() after
 * each. tls: the listener speaks tls+tcp.
 */
static void
torment(const char *url, uint16_t self)
{
	const char *src = source(url);
	bool tls = tlsconf_is_tls_url(url);
	uint16_t peer = self == SPWIRE_REP0 ? SPWIRE_REQ0 : SPWIRE_SUB0;
	uint16_t wrong = self == SPWIRE_REP0 ? SPWIRE_PUB0 : SPWIRE_REQ0;
	uint8_t hello[8], other[8];
	/* A whole TLS record: a ClientHello that is nonsense inside. */
	static const uint8_t client_hello[] = {
		0x16, 0x03, 0x01, 0x00, 0x0f, 0x01, 0x00, 0x00, 0x0b, 0x03,
		0x03, 'h',  'b',  'm',  'o',  'n',  0xff, 0x00, 0x13, 0x37,
	};
	int fds[300];
	int fd;

	spwire_hello(peer, hello);
	spwire_hello(wrong, other);

	/* A bare connect and close. */
	close(harness_raw_connect(url, src));
	everything_works();

	/* FIN then RST, without anything sent. */
	harness_raw_fin_rst(harness_raw_connect(url, src));
	everything_works();

	/* FIN then RST after the peer's SP handshake (in clear text, for a
	 * TLS listener: garbage to it). */
	fd = harness_raw_connect(url, src);
	send_all(fd, hello, sizeof(hello));
	harness_raw_fin_rst(fd);
	everything_works();

	/* Half a handshake, then gone. */
	fd = harness_raw_connect(url, src);
	send_all(fd, hello, 4);
	close(fd);
	everything_works();

	/* Another SP protocol: the server closes the connection. */
	if (tls) {
		nng_stream *s = tls_stream(url);
		cr_assert(tls_send_then_closed(s, other, sizeof(other)),
		          "a wrong SP protocol over TLS was not closed");
		nng_stream_free(s);
		/* And a TLS handshake with nothing after it. */
		s = tls_stream(url);
		nng_stream_close(s);
		nng_stream_free(s);
	} else {
		fd = harness_raw_connect(url, src);
		send_all(fd, other, sizeof(other));
		cr_assert(harness_raw_closed(fd, 5000),
		          "a wrong SP protocol was not closed on %s", url);
		close(fd);
	}
	everything_works();

	/* TLS where none is spoken; garbage where TLS is. */
	fd = harness_raw_connect(url, src);
	send_all(fd, client_hello, sizeof(client_hello));
	cr_assert(harness_raw_closed(fd, 5000),
	          "TLS garbage was not closed on %s", url);
	close(fd);
	everything_works();

	/* 300 connections at once, then all dropped. */
	for (int i = 0; i < 300; i++) {
		fds[i] = harness_raw_connect(url, src);
		if (i % 3 == 1) {
			send_all(fds[i], hello, sizeof(hello));
		}
	}
	for (int i = 0; i < 300; i++) {
		if (i % 2 == 0) {
			harness_raw_fin_rst(fds[i]);
		} else {
			close(fds[i]);
		}
	}
	everything_works();
}

/* Fds the server holds once it has settled. */
static int
settled_fds(void)
{
	int n = harness_fd_count(srv.pid), m;

	/* The same count twice, 300 ms apart. */
	for (int i = 0; i < 50; i++) {
		harness_sleep_ms(300);
		if ((m = harness_fd_count(srv.pid)) == n) {
			break;
		}
		n = m;
	}
	return n;
}

static void
assert_no_fd_leak(int before)
{
	int after = harness_await_fds(srv.pid, before, 10000);

	if (after > before && getenv("HBMON_TEST_LOG") != NULL) {
		char cmd[128];
		snprintf(
		    cmd, sizeof(cmd),
		    "ss -anpx | grep pid=%d, >&2; ss -tanp | grep pid=%d, >&2",
		    (int) srv.pid, (int) srv.pid);
		if (system(cmd) != 0) {
			fprintf(stderr, "ls failed\n");
		}
	}
	cr_assert_leq(after, before, "the server holds %d fds, %d before",
	              after, before);
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0,
	             "the server did not stop cleanly");
}

Test(edge, tcp_robots_ipc_and_tcp_admin_ipc_alerts)
{
	int before;

	start("tcp://127.0.0.1:0", NULL, "tcp://127.0.0.1:0", NULL);
	everything_works();
	before = settled_fds();
	torment(srv.listen, SPWIRE_REP0);
	torment(srv.admin, SPWIRE_REP0);
	torment(srv.admin_tcp, SPWIRE_REP0);
	torment(srv.publish, SPWIRE_PUB0);
	assert_no_fd_leak(before);
}

Test(edge, ipc_robots_tcp_alerts)
{
	int before;

	start(NULL, "tcp://127.0.0.1:0", NULL, NULL);
	everything_works();
	before = settled_fds();
	torment(srv.listen, SPWIRE_REP0);
	torment(srv.publish, SPWIRE_PUB0);
	assert_no_fd_leak(before);
}

Test(edge, tls_robots_admin_and_alerts)
{
	int before;

	start("tls+tcp://127.0.0.1:0", "tls+tcp://127.0.0.1:0",
	      "tls+tcp://127.0.0.1:0", NULL);
	everything_works();
	before = settled_fds();
	torment(srv.listen, SPWIRE_REP0);
	torment(srv.admin_tcp, SPWIRE_REP0);
	torment(srv.publish, SPWIRE_PUB0);
	assert_no_fd_leak(before);
}

/* ---- standard SP peers ---- */

/* nngcat as a REQ: garbage gets an INVALID_ARGUMENT RpcResponse. */
static void
nngcat_req(const char *url)
{
	const char *argv[16];
	char *out = NULL, *err = NULL;
	Hbmon__V1__RpcResponse *r;
	int n = 0, st;

	argv[n++] = "/usr/bin/nngcat";
	argv[n++] = "--req";
	argv[n++] = "--dial";
	argv[n++] = url;
	if (tlsconf_is_tls_url(url)) {
		argv[n++] = "--cacert";
		argv[n++] = ca;
	}
	argv[n++] = "--data";
	argv[n++] = "hello";
	argv[n++] = "--raw";
	argv[n++] = "--recv-timeout";
	argv[n++] = "10";
	argv[n] = NULL;
	st = harness_run(argv, NULL, &out, &err, 20000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nngcat %s: %s", url,
	          err);
	r = hbmon__v1__rpc_response__unpack(NULL, strlen(out),
	                                    (const uint8_t *) out);
	cr_assert_not_null(r, "nngcat %s: not an RpcResponse", url);
	cr_assert_eq(r->code, RPC_INVALID_ARGUMENT, "%s", r->message);
	cr_assert(strstr(r->message, "is not an hbmon RpcRequest") != NULL,
	          "%s", r->message);
	hbmon__v1__rpc_response__free_unpacked(r, NULL);
	free(out);
	free(err);
}

/* nngcat as a SUB receives an alert. */
static void
nngcat_sub(const char *url)
{
	char out_path[700], err_path[700], *out;
	int fd_out, fd_err, st = 0;
	pid_t pid;

	snprintf(out_path, sizeof(out_path), "%s/nngcat.out", srv.dir);
	snprintf(err_path, sizeof(err_path), "%s/nngcat.err", srv.dir);
	fd_out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(fd_out, 1);
		dup2(fd_err, 2);
		if (tlsconf_is_tls_url(url)) {
			execl("/usr/bin/nngcat", "nngcat", "--sub", "--dial",
			      url, "--subscribe", "", "--count", "1", "--raw",
			      "--cacert", ca, (char *) NULL);
		} else {
			execl("/usr/bin/nngcat", "nngcat", "--sub", "--dial",
			      url, "--subscribe", "", "--count", "1", "--raw",
			      (char *) NULL);
		}
		_exit(127);
	}
	close(fd_out);
	close(fd_err);
	for (int i = 0; i < 200; i++) {
		heartbeat();
		if (waitpid(pid, &st, WNOHANG) == pid) {
			pid = 0;
			break;
		}
		harness_sleep_ms(20);
	}
	if (pid != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	out = harness_read_file(out_path);
	/* Its exit status is not looked at: nngcat may hang closing its
	 * socket while alerts still arrive (nanomsg/nng#1636) and be
	 * killed above. What it printed is what counts. */
	(void) st;
	/* Alerts go out as topic + packed Alert: the topic is text. */
	cr_assert(strstr(out, "/R1/") != NULL, "nngcat --sub %s got '%s'", url,
	          out);
	free(out);
}

Test(edge, nngcat_is_served_on_ipc_and_tcp)
{
	start("tcp://127.0.0.1:0", NULL, "tcp://127.0.0.1:0", NULL);
	nngcat_req(srv.listen);
	nngcat_req(srv.admin);
	nngcat_req(srv.admin_tcp);
	nngcat_sub(srv.publish);
	harness_server_fini(&srv);
	start(NULL, "tcp://127.0.0.1:0", NULL, NULL);
	nngcat_req(srv.listen);
	nngcat_sub(srv.publish);
}

Test(edge, nngcat_is_served_over_tls)
{
	start("tls+tcp://127.0.0.1:0", "tls+tcp://127.0.0.1:0",
	      "tls+tcp://127.0.0.1:0", NULL);
	nngcat_req(srv.listen);
	nngcat_req(srv.admin_tcp);
	nngcat_sub(srv.publish);
}
