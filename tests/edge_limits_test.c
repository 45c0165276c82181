/*
 * edge_limits_test: the limits of hbmon-server's listeners against the
 * real binary on loopback: slow loris (requests dribbled, handshakes
 * never finished, connections left idle) within a stated memory bound
 * while robots are served; connection caps per address and per listener
 * with robots still getting in; 10,000 refused requests making a few log
 * lines; requests larger than recv_max answered; the SP REP framing
 * (pipelined requests, backtraces, garbage); and a subscriber that does
 * not read, dropped without holding up the others. Limits are set small
 * by flags so that this takes seconds.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "common/alert_topic.h"
#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/alert.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"
#include "server/spwire.h"

#define SECRET   "hbs_edge-limits-robot-secret"
#define ATTACKER "127.0.0.2"

static struct harness_server srv;
static bool health_bad;

static void
stop(void)
{
	harness_server_fini(&srv);
}

TestSuite(limits, .fini = stop, .timeout = 180);

static void
start(const char *listen, const char *const *flags)
{
	harness_raise_fd_limit();
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	if (listen != NULL) {
		snprintf(srv.listen, sizeof(srv.listen), "%s", listen);
	}
	cr_assert(harness_server_start(&srv, flags), "server did not start: %s",
	          harness_server_log(&srv));
}

/* A robot heartbeat on a new connection; health alternates, so that
 * every other one raises alerts. Returns the reply's code. */
static int
heartbeat(void)
{
	int health = health_bad
	                 ? HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNHEALTHY
	                 : HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;

	health_bad = !health_bad;
	return harness_report_robot(srv.listen, NULL, "R1", SECRET, health);
}

static void
send_all(int fd, const void *p, size_t n)
{
	cr_assert_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t) n, "send: %s",
	             strerror(errno));
}

/* Reads exactly n bytes within timeout_ms; false on EOF or timeout. */
static bool
recv_all(int fd, void *p, size_t n, int timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	uint8_t *at = p;

	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = until - clock_mono_ms();
		ssize_t got;

		if (left <= 0 || poll(&pfd, 1, (int) left) <= 0) {
			return false;
		}
		if ((got = recv(fd, at, n, 0)) <= 0) {
			return false;
		}
		at += got;
		n -= (size_t) got;
	}
	return true;
}

/* A raw REQ connection that has done the SP handshake. */
static int
req_connect(const char *url, const char *src)
{
	uint8_t mine[8], theirs[8];
	int fd = harness_raw_connect(url, src);

	spwire_hello(SPWIRE_REQ0, mine);
	send_all(fd, mine, sizeof(mine));
	cr_assert(recv_all(fd, theirs, sizeof(theirs), 5000), "no handshake");
	cr_assert_eq(theirs[5], SPWIRE_REP0);
	return fd;
}

/* Sends one request frame: backtrace words bt (n_bt of them), body. */
static void
send_request(int fd, bool ipc, const uint32_t *bt, size_t n_bt,
             const void *body, size_t len)
{
	uint8_t head[SPWIRE_HEAD_MAX + SPWIRE_BT_MAX + 4];
	size_t hl = spwire_frame_head(ipc, 4 * n_bt + len, head);

	for (size_t i = 0; i < n_bt; i++) {
		head[hl++] = (uint8_t) (bt[i] >> 24);
		head[hl++] = (uint8_t) (bt[i] >> 16);
		head[hl++] = (uint8_t) (bt[i] >> 8);
		head[hl++] = (uint8_t) bt[i];
	}
	send_all(fd, head, hl);
	if (len > 0) {
		send_all(fd, body, len);
	}
}

/*
 * Reads one reply frame: its backtrace (n_bt words into bt) and the
 * RpcResponse after it (free with ..._free_unpacked), or NULL.
 */
static Hbmon__V1__RpcResponse *
read_reply(int fd, bool ipc, uint32_t *bt, size_t n_bt)
{
	uint8_t head[9], *body;
	uint64_t len = 0;
	size_t hl = ipc ? 9 : 8;
	Hbmon__V1__RpcResponse *r;

	if (!recv_all(fd, head, hl, 10000)) {
		return NULL;
	}
	for (size_t i = hl - 8; i < hl; i++) {
		len = (len << 8) | head[i];
	}
	cr_assert_geq(len, 4 * n_bt);
	cr_assert_lt(len, 1 << 20);
	body = malloc(len);
	cr_assert(recv_all(fd, body, len, 10000));
	for (size_t i = 0; i < n_bt; i++) {
		bt[i] = ((uint32_t) body[4 * i] << 24) |
		        ((uint32_t) body[4 * i + 1] << 16) |
		        ((uint32_t) body[4 * i + 2] << 8) | body[4 * i + 3];
	}
	r = hbmon__v1__rpc_response__unpack(NULL, len - 4 * n_bt,
	                                    body + 4 * n_bt);
	free(body);
	return r;
}

/* ---- slow loris ---- */

#define LORIS 300

Test(limits, slow_loris_is_cut_off_and_robots_are_served)
{
	const char *flags[] = { "--handshake-timeout",
		                "1s",
		                "--message-timeout",
		                "2s",
		                "--idle-timeout",
		                "2s",
		                "--unauth-buffer-max",
		                "4MiB",
		                "--max-connections-per-peer",
		                "0",
		                "--accept-rate",
		                "0",
		                "--refusal-log-interval",
		                "1s",
		                NULL };
	uint8_t hello[8], head[8 + 4], chunk[64 * 1024] = { 0 };
	int dribble[LORIS], idle[50], mute[50];
	long rss0, rss;
	int fds0, served = 0;
	int64_t until;

	start("tcp://127.0.0.1:0", flags);
	heartbeat();
	harness_sleep_ms(300);
	fds0 = harness_fd_count(srv.pid);
	rss0 = harness_rss_kib(srv.pid);
	spwire_hello(SPWIRE_REQ0, hello);
	/* Each announces a 400 KB request (under recv_max) and then
	 * dribbles; every tenth first sends 128 KB at once, as if it were
	 * a big batch, to claim buffers. */
	spwire_frame_head(false, 400000, head);
	head[8] = 0x80;
	head[9] = head[10] = head[11] = 1;
	for (int i = 0; i < LORIS; i++) {
		dribble[i] = harness_raw_connect(srv.listen, ATTACKER);
		send_all(dribble[i], hello, sizeof(hello));
		send_all(dribble[i], head, sizeof(head));
		if (i % 10 == 0) {
			send_all(dribble[i], chunk, sizeof(chunk));
			send_all(dribble[i], chunk, sizeof(chunk));
		}
	}
	/* Others finish the handshake and say nothing more, or never
	 * finish it at all. */
	for (int i = 0; i < 50; i++) {
		idle[i] = harness_raw_connect(srv.listen, ATTACKER);
		send_all(idle[i], hello, sizeof(hello));
		mute[i] = harness_raw_connect(srv.listen, ATTACKER);
	}
	/* For longer than the deadlines, a byte each every 100 ms, while a
	 * robot keeps reporting. */
	until = clock_mono_ms() + 3000;
	rss = harness_rss_kib(srv.pid);
	while (clock_mono_ms() < until) {
		for (int i = 0; i < LORIS; i++) {
			(void) send(dribble[i], chunk, 1,
			            MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		cr_assert_eq(heartbeat(), RPC_OK);
		served++;
		if (harness_rss_kib(srv.pid) > rss) {
			rss = harness_rss_kib(srv.pid);
		}
		harness_sleep_ms(100);
	}
	/* The bound: the budget for unauthenticated buffers (4 MiB) plus
	 * 32 KiB per connection held (its first buffer, its state, nng's
	 * and the kernel's bookkeeping): 4 + 400 x 32 KiB = 16.5 MiB. */
	cr_assert_lt(rss - rss0, 4096 + (LORIS + 100) * 32,
	             "RSS grew from %ld to %ld KiB under slow loris", rss0,
	             rss);
	cr_assert_gt(served, 10);
	/* Every one of them has been closed by a deadline. */
	for (int i = 0; i < LORIS; i++) {
		cr_assert(harness_raw_closed(dribble[i], 5000),
		          "dribbling connection %d still open", i);
		close(dribble[i]);
	}
	for (int i = 0; i < 50; i++) {
		cr_assert(harness_raw_closed(idle[i], 5000), "idle %d", i);
		cr_assert(harness_raw_closed(mute[i], 5000), "mute %d", i);
		close(idle[i]);
		close(mute[i]);
	}
	cr_assert_eq(heartbeat(), RPC_OK);
	cr_assert_leq(harness_await_fds(srv.pid, fds0, 5000), fds0);
	/* Said at once or in the summary of their period. */
	harness_sleep_ms(1200);
	cr_assert_gt(harness_log_count(&srv, "message deadline (receiving)"), 0,
	             "%s", harness_server_log(&srv));
	cr_assert_gt(harness_log_count(&srv, "handshake deadline"), 0);
	cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0);
}

/* ---- connection caps ---- */

/* An idle SP connection from src, its handshake done; -1 if refused. */
static int
idle_connection(const char *url, const char *src)
{
	uint8_t hello[8], theirs[8];
	int fd = harness_raw_try_connect(url, src);

	if (fd < 0) {
		return -1;
	}
	spwire_hello(SPWIRE_REQ0, hello);
	if (send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello) ||
	    !recv_all(fd, theirs, sizeof(theirs), 2000)) {
		close(fd);
		return -1;
	}
	return fd;
}

Test(limits, one_address_holds_at_most_its_share)
{
	/* Defaults but the accept rate, so that what is refused here is
	 * the per-address cap (128), not the pace. */
	const char *flags[] = { "--accept-rate", "0", NULL };
	int fds[1000], held = 0, fds0;

	start("tcp://127.0.0.1:0", flags);
	heartbeat();
	fds0 = harness_fd_count(srv.pid);
	for (int i = 0; i < 1000; i++) {
		fds[i] = idle_connection(srv.listen, ATTACKER);
	}
	/* The server closes every one past the cap at once. */
	for (int i = 0; i < 1000; i++) {
		if (fds[i] >= 0 &&
		    !harness_raw_closed(fds[i], i < 128 ? 50 : 0)) {
			held++;
		}
	}
	cr_assert_leq(held, 128, "%d idle connections held from one address",
	              held);
	cr_assert_geq(held, 120, "only %d held", held);
	/* The 1,000th was refused. */
	cr_assert(fds[999] < 0 || harness_raw_closed(fds[999], 2000));
	/* Robots from elsewhere get in, and the server holds no more than
	 * the cap. */
	cr_assert_eq(heartbeat(), RPC_OK);
	cr_assert_leq(harness_fd_count(srv.pid), fds0 + 128 + 2);
	cr_assert(
	    harness_log_wait(&srv, "reason=\"connections per peer\"", 5000));
	for (int i = 0; i < 1000; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
	cr_assert_leq(harness_await_fds(srv.pid, fds0, 5000), fds0);
}

Test(limits, a_full_listener_makes_room_for_robots)
{
	/* 1,000 (the default cap) idle connections from 8 addresses. */
	const char *flags[] = { "--accept-rate", "0", NULL };
	struct rpc_client *robot;
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	struct rpc_status st;
	char src[32], ts[RFC3339_MAX];
	int fds[1000], fds0;

	start("tcp://127.0.0.1:0", flags);
	/* A robot that is already connected and has been heard. */
	robot = harness_client(srv.listen, "R1", SECRET);
	rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	hb.timestamp = ts;
	cr_assert_eq(rpc_client_call(robot, "/hbmon.v1.Monitor/ReportRobot",
	                             &hb.base, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK);
	fds0 = harness_fd_count(srv.pid);
	for (int i = 0; i < 999; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 2 + i % 8);
		fds[i] = idle_connection(srv.listen, src);
		cr_assert_geq(fds[i], 0, "connection %d refused", i);
	}
	/* Full now, the robot included. A newcomer pushes out the oldest
	 * connection that never authenticated, never the robot. */
	cr_assert_eq(heartbeat(), RPC_OK);
	cr_assert(harness_raw_closed(fds[0], 5000),
	          "the oldest idle connection was not closed to make room");
	cr_assert_eq(rpc_client_call(robot, "/hbmon.v1.Monitor/ReportRobot",
	                             &hb.base, NULL, NULL, &st),
	             HBMON_OK, "%s", st.message);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert_leq(harness_fd_count(srv.pid), fds0 + 1000 + 2);
	cr_assert(
	    harness_log_wait(&srv, "reason=\"closed to make room\"", 5000));
	rpc_client_close(robot);
	for (int i = 0; i < 999; i++) {
		close(fds[i]);
	}
}

Test(limits, a_listener_full_of_robots_refuses_newcomers)
{
	/* auth none: every decodable request authenticates its
	 * connection, so none of these may be pushed out. */
	const char *flags[] = { "--auth", "none", "--max-connections", "20",
		                NULL };
	Hbmon__V1__RpcRequest rq = HBMON__V1__RPC_REQUEST__INIT;
	uint8_t body[256];
	size_t len;
	int fds[20], extra;

	start("tcp://127.0.0.1:0", flags);
	rq.method = "/hbmon.v1.Monitor/ReportRobot";
	rq.robot_id = "R1";
	len = hbmon__v1__rpc_request__pack(&rq, body);
	for (int i = 0; i < 20; i++) {
		uint32_t id = 0x80000001u, got;
		Hbmon__V1__RpcResponse *r;
		fds[i] = req_connect(srv.listen, ATTACKER);
		send_request(fds[i], false, &id, 1, body, len);
		cr_assert_not_null(r = read_reply(fds[i], false, &got, 1));
		hbmon__v1__rpc_response__free_unpacked(r, NULL);
	}
	extra = harness_raw_connect(srv.listen, "127.0.0.3");
	cr_assert(harness_raw_closed(extra, 5000),
	          "the 21st connection was not refused");
	close(extra);
	cr_assert(harness_log_wait(&srv, "reason=\"connection cap\"", 5000));
	/* When one leaves, there is room again. */
	close(fds[0]);
	harness_sleep_ms(200);
	cr_assert_eq(heartbeat(), RPC_OK);
	for (int i = 1; i < 20; i++) {
		close(fds[i]);
	}
}

/* ---- the log under a flood ---- */

struct flood {
	int fd;
	uint8_t *frames;
	size_t len;
};

static void *
flood_writer(void *arg)
{
	struct flood *f = arg;
	size_t at = 0;

	while (at < f->len) {
		ssize_t n =
		    send(f->fd, f->frames + at, f->len - at, MSG_NOSIGNAL);
		if (n <= 0) {
			break;
		}
		at += (size_t) n;
	}
	return NULL;
}

Test(limits, ten_thousand_refused_requests_make_a_few_log_lines)
{
	const char *flags[] = { "--refusal-log-interval", "1s", NULL };
	struct flood f = { 0 };
	uint8_t *req;
	size_t req_len, at = 0;
	pthread_t writer;
	int64_t t0, elapsed;
	int refused = 0;
	size_t lines;
	char *log, *summary;

	start("tcp://127.0.0.1:0", flags);
	/* The start-up probe's refusal has its period; let it end. */
	harness_sleep_ms(1200);
	/* Signed with the wrong secret: UNAUTHENTICATED, 10,000 times on
	 * one connection, as fast as it goes. */
	req = harness_signed_request("/hbmon.v1.Monitor/ReportRobot", "R1",
	                             "hbs_not-the-secret", 1, clock_wall_ms(),
	                             (const uint8_t *) "", 0, &req_len);
	f.len = 10000 * (8 + 4 + req_len);
	cr_assert_not_null(f.frames = malloc(f.len));
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t id = 0x80000000u | i;
		at += spwire_frame_head(false, 4 + req_len, f.frames + at);
		f.frames[at++] = (uint8_t) (id >> 24);
		f.frames[at++] = (uint8_t) (id >> 16);
		f.frames[at++] = (uint8_t) (id >> 8);
		f.frames[at++] = (uint8_t) id;
		memcpy(f.frames + at, req, req_len);
		at += req_len;
	}
	f.fd = req_connect(srv.listen, ATTACKER);
	t0 = clock_mono_ms();
	cr_assert_eq(pthread_create(&writer, NULL, flood_writer, &f), 0);
	for (int i = 0; i < 10000; i++) {
		uint32_t id;
		Hbmon__V1__RpcResponse *r = read_reply(f.fd, false, &id, 1);
		cr_assert_not_null(r, "reply %d missing", i);
		refused += r->code == RPC_UNAUTHENTICATED;
		hbmon__v1__rpc_response__free_unpacked(r, NULL);
	}
	pthread_join(writer, NULL);
	cr_assert_eq(refused, 10000);
	elapsed = clock_mono_ms() - t0;
	cr_log_info("10,000 refused requests answered in %lld ms",
	            (long long) elapsed);
	/* Let the period end: its summary comes then. */
	cr_assert(
	    harness_log_wait(&srv, "refusals since the last report", 10000));
	lines = harness_log_count(&srv, "refus");
	log = harness_server_log(&srv);
	summary = strstr(log, "refusals since the last report");
	/* At most two lines per period (the first refusal, the summary),
	 * and a period is a second; the start-up probe's line besides. */
	cr_assert_leq(lines, 1 + 2 * (size_t) (elapsed / 1000 + 2),
	              "%zu lines about refusals in %lld ms:\n%s", lines,
	              (long long) elapsed, log);
	cr_assert(strstr(log, "reason=\"request refused\" robot=R1 "
	                      "method=/hbmon.v1.Monitor/ReportRobot "
	                      "code=UNAUTHENTICATED") != NULL,
	          "%s", log);
	cr_assert(strstr(summary, "top=\"127.0.0.2: request refused x") != NULL,
	          "%s", summary);
	free(log);
	free(req);
	free(f.frames);
	close(f.fd);
}

Test(limits, refused_connections_make_a_few_log_lines)
{
	/* 2,000 connections over the accept rate from one address. */
	const char *flags[] = { "--accept-rate", "10", "--refusal-log-interval",
		                "1s", NULL };

	int64_t t0, seconds;
	size_t lines;

	start("tcp://127.0.0.1:0", flags);
	harness_sleep_ms(1200); /* the start-up probe's period */
	t0 = clock_mono_ms();
	for (int i = 0; i < 2000; i++) {
		int fd = harness_raw_try_connect(srv.listen, ATTACKER);
		if (fd >= 0) {
			close(fd);
		}
	}
	seconds = (clock_mono_ms() - t0) / 1000 + 1;
	harness_sleep_ms(1200);
	cr_assert(
	    harness_log_wait(&srv, "refusals since the last report", 10000));
	/* The probe's line, then at most two a second (the period). */
	lines = harness_log_count(&srv, "refus");
	cr_assert_leq(lines, 1 + 2 * (size_t) (seconds + 1),
	              "%zu lines in %lld s", lines, (long long) seconds);
	cr_assert_gt(harness_log_count(&srv, "accept rate x"), 0);
	cr_assert_eq(heartbeat(), RPC_OK);
}

/* ---- requests over recv_max ---- */

Test(limits, a_request_over_recv_max_is_read_thrown_away_and_answered)
{
	const char *flags[] = { "--recv-max", "64KiB", "--message-timeout",
		                "1s", NULL };
	uint8_t *big = calloc(1, 100 * 1024);
	uint32_t id = 0x80000007u, got = 0;
	Hbmon__V1__RpcResponse *r;
	uint8_t head[8 + 4];
	long rss0;
	int fd;

	start(NULL, flags);
	fd = req_connect(srv.listen, NULL);
	/* 100 KiB: read and thrown away, and answered only at its end (an
	 * nng 1.5.2 REQ that gets its reply in mid-write and closes hangs
	 * in nng_close); then the connection carries on. */
	spwire_frame_head(true, 4 + 100 * 1024, head);
	send_all(fd, head, 9);
	send_all(fd, (const uint8_t[]){ 0x80, 0, 0, 7 }, 4);
	send_all(fd, big, 100 * 1024 - 1);
	cr_assert(!recv_all(fd, head, 1, 300), "answered before its end");
	send_all(fd, big, 1);
	cr_assert_not_null(r = read_reply(fd, true, &got, 1));
	cr_assert_eq(got, id);
	cr_assert_eq(r->code, RPC_RESOURCE_EXHAUSTED);
	cr_assert(strstr(r->message, "the request is 102404 bytes, more than "
	                             "this socket accepts (recv_max 65536 "
	                             "bytes)") != NULL,
	          "%s", r->message);
	hbmon__v1__rpc_response__free_unpacked(r, NULL);
	id = 0x80000008u;
	send_request(fd, true, &id, 1, "x", 1);
	cr_assert_not_null(r = read_reply(fd, true, &got, 1));
	cr_assert_eq(got, id);
	cr_assert_eq(r->code, RPC_INVALID_ARGUMENT);
	hbmon__v1__rpc_response__free_unpacked(r, NULL);
	close(fd);

	/* 2^62 bytes announced: nothing of it allocated, never answered
	 * (it cannot end), and cut off by the message deadline. */
	rss0 = harness_rss_kib(srv.pid);
	fd = req_connect(srv.listen, NULL);
	spwire_frame_head(true, UINT64_C(1) << 62, head);
	send_all(fd, head, 9);
	send_all(fd, (const uint8_t[]){ 0x80, 0, 0, 9 }, 4);
	send_all(fd, big, 28);
	cr_assert(!recv_all(fd, head, 1, 3000), "a reply to 2^62 bytes");
	cr_assert(harness_raw_closed(fd, 100), "still open after 3 s");
	cr_assert_lt(harness_rss_kib(srv.pid) - rss0, 2048);
	close(fd);
	free(big);
	cr_assert_eq(heartbeat(), RPC_OK);
}

/* ---- REP framing ---- */

Test(limits, requests_on_one_connection_are_answered_by_id)
{
	uint32_t ids[3] = { 0x80000011u, 0x80000012u, 0x80000013u };
	bool seen[3] = { false };
	int fd;

	start("tcp://127.0.0.1:0", NULL);
	fd = req_connect(srv.listen, NULL);
	for (int i = 0; i < 3; i++) {
		send_request(fd, false, &ids[i], 1, "junk", 4);
	}
	for (int i = 0; i < 3; i++) {
		uint32_t got;
		Hbmon__V1__RpcResponse *r = read_reply(fd, false, &got, 1);
		cr_assert_not_null(r);
		cr_assert_eq(r->code, RPC_INVALID_ARGUMENT);
		for (int k = 0; k < 3; k++) {
			seen[k] |= got == ids[k];
		}
		hbmon__v1__rpc_response__free_unpacked(r, NULL);
	}
	cr_assert(seen[0] && seen[1] && seen[2]);
	close(fd);
}

Test(limits, a_device_hop_is_echoed_and_too_many_are_dropped)
{
	uint32_t two[2] = { 0x00000005u, 0x80000021u }, back[2];
	uint32_t nine[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 0x80000022u };
	uint32_t id = 0x80000023u;
	Hbmon__V1__RpcResponse *r;
	int fd;

	start(NULL, NULL);
	fd = req_connect(srv.listen, NULL);
	/* Through one device: both words come back, in order. */
	send_request(fd, true, two, 2, "junk", 4);
	cr_assert_not_null(r = read_reply(fd, true, back, 2));
	cr_assert_eq(back[0], two[0]);
	cr_assert_eq(back[1], two[1]);
	hbmon__v1__rpc_response__free_unpacked(r, NULL);
	/* Through eight: more hops than nng's REP allows; dropped without
	 * an answer, and the connection serves the next. */
	send_request(fd, true, nine, 9, "junk", 4);
	send_request(fd, true, &id, 1, "junk", 4);
	cr_assert_not_null(r = read_reply(fd, true, back, 1));
	cr_assert_eq(back[0], id);
	hbmon__v1__rpc_response__free_unpacked(r, NULL);
	close(fd);
}

Test(limits, garbage_frames_close_the_connection)
{
	int fd;

	start(NULL, NULL);
	/* A body too short to hold a request id. */
	fd = req_connect(srv.listen, NULL);
	send_all(fd, (const uint8_t[]){ 1, 0, 0, 0, 0, 0, 0, 0, 2, 0x80, 0 },
	         11);
	cr_assert(harness_raw_closed(fd, 5000));
	close(fd);
	/* An ipc frame of another type. */
	fd = req_connect(srv.listen, NULL);
	send_all(fd, (const uint8_t[]){ 2, 0, 0, 0, 0, 0, 0, 0, 4 }, 9);
	cr_assert(harness_raw_closed(fd, 5000));
	close(fd);
	cr_assert_eq(heartbeat(), RPC_OK);
}

/* ---- a subscriber that does not read ---- */

struct reader {
	nng_socket sub;
	uint64_t seqs[4096];
	size_t n;
	bool stop;
};

static void *
read_alerts(void *arg)
{
	struct reader *r = arg;

	while (!r->stop && r->n < 4096) {
		nng_msg *msg;
		Hbmon__V1__Alert *a;

		if (nng_recvmsg(r->sub, &msg, 0) != 0) {
			continue;
		}
		if (alert_topic_unpack(nng_msg_body(msg), nng_msg_len(msg),
		                       &a) == HBMON_OK) {
			r->seqs[r->n++] = a->seq;
			hbmon__v1__alert__free_unpacked(a, NULL);
		}
		nng_msg_free(msg);
	}
	return NULL;
}

Test(limits, a_stalled_subscriber_is_dropped_and_others_get_everything)
{
	const char *flags[] = { "--message-timeout", "2s", "--publish-buffer",
		                "16", NULL };
	struct reader good = { 0 };
	uint8_t hello[8], theirs[8];
	int stalled, fds0;
	pthread_t thread;
	long rss0;

	start(NULL, flags);
	fds0 = harness_fd_count(srv.pid);
	rss0 = harness_rss_kib(srv.pid);
	/* A subscriber that never reads: over ipc, the server's socket
	 * buffer takes a couple of hundred alerts, then sending blocks. */
	stalled = harness_raw_connect(srv.publish, NULL);
	spwire_hello(SPWIRE_SUB0, hello);
	send_all(stalled, hello, sizeof(hello));
	cr_assert(recv_all(stalled, theirs, sizeof(theirs), 5000));
	/* And one that keeps up. */
	cr_assert_eq(nng_sub0_open(&good.sub), 0);
	nng_socket_set(good.sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_int(good.sub, NNG_OPT_RECVBUF, 8192);
	nng_socket_set_ms(good.sub, NNG_OPT_RECVTIMEO, 100);
	cr_assert_eq(nng_dial(good.sub, srv.publish, NULL, 0), 0);
	harness_sleep_ms(200);
	cr_assert_eq(pthread_create(&thread, NULL, read_alerts, &good), 0);
	/* Hundreds of alerts: far more than the stalled one can take. */
	for (int i = 0; i < 400; i++) {
		cr_assert_eq(heartbeat(), RPC_OK);
	}
	harness_sleep_ms(500);
	good.stop = true;
	pthread_join(thread, NULL);
	nng_close(good.sub);
	cr_assert_gt(good.n, 400, "the good subscriber got %zu", good.n);
	for (size_t i = 1; i < good.n; i++) {
		cr_assert_eq(good.seqs[i], good.seqs[i - 1] + 1,
		             "the good subscriber missed alerts after %llu",
		             (unsigned long long) good.seqs[i - 1]);
	}
	/* Its queue was bounded, and it is gone by the message deadline. */
	cr_assert_lt(harness_rss_kib(srv.pid) - rss0, 4096);
	cr_assert(harness_raw_hungup(stalled, 5000),
	          "the stalled subscriber is still connected");
	close(stalled);
	cr_assert_leq(harness_await_fds(srv.pid, fds0, 5000), fds0);
	cr_assert(harness_log_count(&srv, "message deadline (sending)") > 0);
}
