/*
 * What is acknowledged is durable (SPEC §2.3, §3.5): an OK reply is never
 * sent before its commit, from the reply cache or anywhere else; a request
 * not recorded for storage reasons is retryable as a whole; seq rules
 * cannot lock a robot out, and a new secret resets the floor.
 *
 * The database is held with BEGIN IMMEDIATE from a connection of the
 * test's own, as an outside writer (or a stuck disk) would.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"
#include "server/store.h"

#define H(x)     HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x)     HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define SECRET   "hbs_ack-test-secret"
#define M_ROBOT  "/hbmon.v1.Monitor/ReportRobot"
#define M_BATCH  "/hbmon.v1.Monitor/ReportBatch"
#define NO_REPLY (-1)

static struct harness_server srv;

static void
setup(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, NULL), "server did not start");
}

static void
teardown(void)
{
	harness_server_fini(&srv);
}

/* ---- raw requests on REQ sockets of their own ---- */

/* A signed ReportRobot request with its own seq, packed by hand. */
static uint8_t *
robot_request(const char *secret, uint64_t seq, size_t *out_len)
{
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	char ts[RFC3339_MAX];
	uint8_t payload[256];
	size_t n;

	rfc3339_format(clock_wall_ms(), 7 * 60, ts, sizeof(ts));
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = H(HEALTHY);
	hb.active_tasks = (uint32_t) (seq % 1000);
	hb.timestamp = ts;
	n = hbmon__v1__robot_heartbeat__pack(&hb, payload);
	return harness_signed_request(M_ROBOT, "R1", secret, seq,
	                              clock_wall_ms(), payload, n, out_len);
}

/* A signed ReportBatch of n accounts (ACC_001...). */
static uint8_t *
batch_request(uint64_t seq, int n, size_t *out_len)
{
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__AccountHeartbeat acc[16], *ptrs[16];
	char names[16][16], ts[RFC3339_MAX];
	uint8_t payload[4096], *req;
	size_t len;

	cr_assert_leq(n, 16);
	rfc3339_format(clock_wall_ms(), 7 * 60, ts, sizeof(ts));
	for (int i = 0; i < n; i++) {
		hbmon__v1__account_heartbeat__init(&acc[i]);
		snprintf(names[i], sizeof(names[i]), "ACC_%03d", i + 1);
		acc[i].event = "ACCOUNT_HEARTBEAT";
		acc[i].account = names[i];
		acc[i].status = A(ACTIVE);
		acc[i].session_valid = true;
		acc[i].timestamp = ts;
		ptrs[i] = &acc[i];
	}
	b.accounts = ptrs;
	b.n_accounts = (size_t) n;
	len = hbmon__v1__heartbeat_batch__pack(&b, payload);
	req = harness_signed_request(M_BATCH, "R1", SECRET, seq,
	                             clock_wall_ms(), payload, len, out_len);
	return req;
}

static nng_socket
req_socket(void)
{
	nng_socket s;

	cr_assert_eq(nng_req0_open(&s), 0);
	cr_assert_eq(nng_dial(s, srv.listen, NULL, 0), 0);
	return s;
}

static void
send_bytes(nng_socket s, const uint8_t *bytes, size_t len)
{
	cr_assert_eq(nng_send(s, (void *) bytes, len, 0), 0);
}

/* The reply's code within timeout_ms, or NO_REPLY. */
static int
reply_code(nng_socket s, int timeout_ms, char *message, size_t message_len)
{
	Hbmon__V1__RpcResponse *resp;
	void *buf;
	size_t len;
	int code;

	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
	if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) != 0) {
		return NO_REPLY;
	}
	resp = hbmon__v1__rpc_response__unpack(NULL, len, buf);
	nng_free(buf, len);
	cr_assert_not_null(resp);
	code = resp->code;
	if (message != NULL) {
		snprintf(message, message_len, "%s",
		         resp->message != NULL ? resp->message : "");
	}
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	return code;
}

/*
 * Sends bytes until the answer is not UNAVAILABLE, as a robot does (the
 * server backs off for up to a second after its database failed).
 * Returns the last code.
 */
static int
send_until_recorded(nng_socket s, const uint8_t *bytes, size_t len,
                    char *message, size_t message_len)
{
	int code;

	for (int i = 0; i < 100; i++) {
		send_bytes(s, bytes, len);
		code = reply_code(s, 10000, message, message_len);
		if (code != RPC_UNAVAILABLE) {
			return code;
		}
		harness_sleep_ms(100);
	}
	return code;
}

static int64_t
requests_with_seq(uint64_t seq)
{
	char sql[128];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM requests WHERE robot = 'R1' AND "
	         "seq = %llu",
	         (unsigned long long) seq);
	return harness_query_int(&srv, sql);
}

/*
 * Five requests of one robot in flight while the database is held: four
 * take the reply cache's slots, the fifth has none. Its resend must not
 * be answered "already recorded" before anything is committed.
 */
static void
five_in_flight(struct sqlite3 **out_db, nng_socket socks[6], uint64_t seqs[5],
               uint8_t *reqs[5], size_t lens[5])
{
	char msg[512];
	int code;

	*out_db = harness_lock_store(&srv);
	for (int i = 0; i < 5; i++) {
		seqs[i] = (uint64_t) clock_wall_ms() * 1000 + (uint64_t) i;
		reqs[i] = robot_request(SECRET, seqs[i], &lens[i]);
		socks[i] = req_socket();
	}
	socks[5] = req_socket();
	for (int i = 0; i < 4; i++) {
		send_bytes(socks[i], reqs[i], lens[i]);
		harness_sleep_ms(20); /* in seq order */
	}
	harness_sleep_ms(300); /* the four are admitted and waiting */
	send_bytes(socks[4], reqs[4], lens[4]);
	code = reply_code(socks[4], 1000, msg, sizeof(msg));
	cr_assert_neq(code, RPC_OK,
	              "the fifth request was acknowledged before its commit");
	/* The resend: the same bytes on another connection. */
	send_bytes(socks[5], reqs[4], lens[4]);
	code = reply_code(socks[5], 1000, msg, sizeof(msg));
	cr_assert(code == RPC_UNAVAILABLE || code == NO_REPLY,
	          "the resend of the fifth request was answered %d (%s) while "
	          "nothing was committed",
	          code, msg);
	cr_assert_eq(requests_with_seq(seqs[4]), 0);
}

Test(ack, five_in_flight_resend_is_never_acked_before_commit, .init = setup,
     .fini = teardown, .timeout = 60)
{
	nng_socket socks[6];
	uint64_t seqs[5];
	uint8_t *reqs[5];
	size_t lens[5];
	struct sqlite3 *db;
	char msg[512];

	five_in_flight(&db, socks, seqs, reqs, lens);
	harness_unlock_store(db);
	/* The four are answered once committed, and are on disk. */
	for (int i = 0; i < 4; i++) {
		int code = reply_code(socks[i], 15000, msg, sizeof(msg));
		cr_assert(code == RPC_OK || code == RPC_UNAVAILABLE,
		          "request %d: %d %s", i, code, msg);
		cr_assert_eq(requests_with_seq(seqs[i]), code == RPC_OK ? 1 : 0,
		             "request %d answered %d", i, code);
	}
	/* Now the fifth goes through, once. */
	cr_assert_eq(
	    send_until_recorded(socks[5], reqs[4], lens[4], msg, sizeof(msg)),
	    RPC_OK, "%s", msg);
	cr_assert_eq(requests_with_seq(seqs[4]), 1);
	send_bytes(socks[5], reqs[4], lens[4]);
	cr_assert_eq(reply_code(socks[5], 10000, msg, sizeof(msg)), RPC_OK,
	             "%s", msg);
	cr_assert_eq(requests_with_seq(seqs[4]), 1, "recorded twice");
	for (int i = 0; i < 6; i++) {
		nng_close(socks[i]);
	}
	for (int i = 0; i < 5; i++) {
		free(reqs[i]);
	}
}

Test(ack, kill_in_the_window_loses_nothing_acked, .init = setup,
     .fini = teardown, .timeout = 60)
{
	nng_socket socks[6];
	uint64_t seqs[5];
	uint8_t *reqs[5];
	size_t lens[5];
	struct sqlite3 *db;
	char msg[512];

	five_in_flight(&db, socks, seqs, reqs, lens);
	harness_server_kill(&srv);
	for (int i = 0; i < 6; i++) {
		nng_close(socks[i]);
	}
	harness_unlock_store(db);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(requests_with_seq(seqs[i]), 0);
	}
	/* Nothing was acknowledged, so nothing is owed; sent again after
	 * the restart, each is recorded once. */
	cr_assert(harness_server_start(&srv, NULL));
	socks[0] = req_socket();
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(send_until_recorded(socks[0], reqs[i], lens[i],
		                                 msg, sizeof(msg)),
		             RPC_OK, "request %d: %s", i, msg);
		cr_assert_eq(requests_with_seq(seqs[i]), 1);
		free(reqs[i]);
	}
	nng_close(socks[0]);
}

Test(ack, batch_not_recorded_for_storage_is_retried_whole, .init = setup,
     .fini = teardown, .timeout = 90)
{
	uint64_t seq = (uint64_t) clock_wall_ms() * 1000;
	nng_socket s = req_socket();
	struct sqlite3 *db = harness_lock_store(&srv);
	char msg[512];
	size_t len;
	uint8_t *req = batch_request(seq, 5, &len);
	int code;

	/* Held longer than the server waits for its write lock. */
	send_bytes(s, req, len);
	code = reply_code(s, 30000, msg, sizeof(msg));
	cr_assert_eq(code, RPC_UNAVAILABLE,
	             "a batch that could not be written was answered %d (%s)",
	             code, msg);
	cr_assert_eq(requests_with_seq(seq), 0);
	harness_unlock_store(db);

	/* The same bytes again, as docs/protocol.md tells robots to do. */
	cr_assert_eq(send_until_recorded(s, req, len, msg, sizeof(msg)), RPC_OK,
	             "%s", msg);
	cr_assert_eq(requests_with_seq(seq), 1);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "ACC_003"), 1);
	/* And once only. */
	send_bytes(s, req, len);
	cr_assert_eq(reply_code(s, 10000, msg, sizeof(msg)), RPC_OK, "%s", msg);
	cr_assert_eq(requests_with_seq(seq), 1);
	free(req);
	nng_close(s);
}

/* Sends one request on its own connection; returns its reply code. */
static int
call_once(const uint8_t *req, size_t len, char *msg, size_t msg_len)
{
	nng_socket s = req_socket();
	int code;

	send_bytes(s, req, len);
	code = reply_code(s, 10000, msg, msg_len);
	nng_close(s);
	return code;
}

static int
robot_call(const char *secret, uint64_t seq, char *msg, size_t msg_len)
{
	size_t len;
	uint8_t *req = robot_request(secret, seq, &len);
	int code = call_once(req, len, msg, msg_len);

	free(req);
	return code;
}

Test(ack, a_wild_seq_is_refused_and_locks_nobody_out, .init = setup,
     .fini = teardown, .timeout = 60)
{
	uint64_t now_us = (uint64_t) clock_wall_ms() * 1000;
	char msg[512];

	cr_assert_eq(robot_call(SECRET, UINT64_MAX, msg, sizeof(msg)),
	             RPC_INVALID_ARGUMENT, "%s", msg);
	cr_assert(strstr(msg, "microseconds") != NULL, "%s", msg);
	/* Nanoseconds, the mistake that locks a robot out for millennia. */
	cr_assert_eq(robot_call(SECRET, now_us * 1000, msg, sizeof(msg)),
	             RPC_INVALID_ARGUMENT, "%s", msg);
	/* Just over the window ahead (300 s), and just inside it. */
	cr_assert_eq(
	    robot_call(SECRET, now_us + 302 * 1000000ull, msg, sizeof(msg)),
	    RPC_INVALID_ARGUMENT, "%s", msg);
	cr_assert_eq(robot_call(SECRET, now_us, msg, sizeof(msg)), RPC_OK, "%s",
	             msg);
	cr_assert_eq(robot_call(SECRET, now_us + 1, msg, sizeof(msg)), RPC_OK,
	             "%s", msg);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM requests"),
	             2);
	/* Nothing refused was kept as a floor, in memory or on disk. */
	cr_assert_eq(harness_server_stop(&srv), 0);
	cr_assert_eq(harness_query_int(
	                 &srv, "SELECT last_seq FROM robots WHERE robot='R1'"),
	             (int64_t) (now_us + 1));
}

/* An Admin call returning a new secret (RobotAdd / RobotRotate). */
static void
new_secret(const char *method, char *out, size_t out_len)
{
	struct rpc_client *adm = harness_admin(&srv);
	Hbmon__V1__RobotRotateRequest in =
	    HBMON__V1__ROBOT_ROTATE_REQUEST__INIT;
	Hbmon__V1__RobotAddReply *reply = NULL;
	struct rpc_status st;

	/* RobotAddRequest and RobotRotateRequest are both { robot = 1 }. */
	in.robot = "R1";
	cr_assert_eq(rpc_client_call(adm, method, &in.base,
	                             &hbmon__v1__robot_add_reply__descriptor,
	                             (ProtobufCMessage **) &reply, &st),
	             HBMON_OK, "%s", st.message);
	cr_assert_eq(st.code, RPC_OK, "%s: %s", method, st.message);
	snprintf(out, out_len, "%s", reply->secret);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	rpc_client_close(adm);
}

static void
remove_robot(void)
{
	struct rpc_client *adm = harness_admin(&srv);
	Hbmon__V1__RobotRemoveRequest in =
	    HBMON__V1__ROBOT_REMOVE_REQUEST__INIT;
	struct rpc_status st;

	in.robot = "R1";
	cr_assert_eq(rpc_client_call(adm, "/hbmon.v1.Admin/RobotRemove",
	                             &in.base, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	rpc_client_close(adm);
}

Test(ack, a_new_secret_resets_the_seq_floor_without_a_restart, .init = setup,
     .fini = teardown, .timeout = 60)
{
	uint64_t now_us = (uint64_t) clock_wall_ms() * 1000;
	uint64_t high = now_us + 200 * 1000000ull; /* inside the window */
	char secret[128], msg[512];

	cr_assert_eq(robot_call(SECRET, high, msg, sizeof(msg)), RPC_OK, "%s",
	             msg);
	cr_assert_eq(robot_call(SECRET, now_us, msg, sizeof(msg)),
	             RPC_UNAUTHENTICATED, "%s", msg);

	/* remove + add: the floor goes with the old secret. */
	remove_robot();
	new_secret("/hbmon.v1.Admin/RobotAdd", secret, sizeof(secret));
	cr_assert_eq(robot_call(secret, now_us + 10, msg, sizeof(msg)), RPC_OK,
	             "after remove + add: %s", msg);
	cr_assert_eq(robot_call(SECRET, high + 10, msg, sizeof(msg)),
	             RPC_UNAUTHENTICATED, "the old secret still works: %s",
	             msg);

	/* rotate: the same. */
	cr_assert_eq(robot_call(secret, high + 20, msg, sizeof(msg)), RPC_OK,
	             "%s", msg);
	new_secret("/hbmon.v1.Admin/RobotRotate", secret, sizeof(secret));
	cr_assert_eq(robot_call(secret, now_us + 20, msg, sizeof(msg)), RPC_OK,
	             "after rotate: %s", msg);

	/* And the floor on disk is the new one. */
	cr_assert_eq(harness_server_stop(&srv), 0);
	cr_assert_eq(harness_query_int(
	                 &srv, "SELECT last_seq FROM robots WHERE robot='R1'"),
	             (int64_t) (now_us + 20));
	cr_assert(harness_server_start(&srv, NULL));
	cr_assert_eq(robot_call(secret, now_us + 30, msg, sizeof(msg)), RPC_OK,
	             "after a restart: %s", msg);
}
