/*
 * hbmon-server, end to end: the real binary on scratch ipc:// addresses,
 * talked to the way robots talk to it. Every bad input gets its documented
 * code, changes nothing, and the server keeps serving.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/envelope.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x) HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x

#define SECRET_A  "hbs_secret-of-robot-A"
#define SECRET_B  "hbs_secret-of-robot-B"
#define M_ROBOT   "/hbmon.v1.Monitor/ReportRobot"
#define M_ACCOUNT "/hbmon.v1.Monitor/ReportAccount"
#define M_BATCH   "/hbmon.v1.Monitor/ReportBatch"

static struct harness_server srv;

static void
start(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "RA", SECRET_A);
	harness_robot_add(&srv, "RB", SECRET_B);
	cr_assert(harness_server_start(&srv, NULL), "server did not start");
}

static void
stop(void)
{
	harness_server_fini(&srv);
}

static Hbmon__V1__RobotHeartbeat
robot_hb(int status)
{
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = status;
	hb.active_accounts = 12;
	hb.active_tasks = 5;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	return hb;
}

static Hbmon__V1__AccountHeartbeat
account_hb(const char *name, int status, bool valid, uint32_t orders)
{
	Hbmon__V1__AccountHeartbeat hb = HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
	hb.event = "ACCOUNT_HEARTBEAT";
	hb.account = (char *) name;
	hb.status = status;
	hb.session_valid = valid;
	hb.open_orders = orders;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	return hb;
}

/* Calls and returns the reply status; output freed unless kept. */
static struct rpc_status
call(struct rpc_client *c, const char *method, const ProtobufCMessage *in,
     const ProtobufCMessageDescriptor *out_type, ProtobufCMessage **out)
{
	struct rpc_status st;
	ProtobufCMessage *o = NULL;

	cr_assert_eq(rpc_client_call(c, method, in, out_type, &o, &st),
	             HBMON_OK, "no reply: %s", st.message);
	if (out != NULL) {
		*out = o;
	} else if (o != NULL) {
		protobuf_c_message_free_unpacked(o, NULL);
	}
	return st;
}

/* Snapshot of everything a bad request must not change. */
struct counts {
	int64_t heartbeats, transitions, subjects;
};

static struct counts
counts(void)
{
	struct counts c = { harness_count(&srv, "heartbeats"),
		            harness_count(&srv, "transitions"),
		            harness_count(&srv, "subjects") };
	return c;
}

static void
assert_unchanged(struct counts before, const char *what)
{
	struct counts now = counts();
	cr_assert_eq(now.heartbeats, before.heartbeats, "%s: heartbeats", what);
	cr_assert_eq(now.transitions, before.transitions, "%s: transitions",
	             what);
	cr_assert_eq(now.subjects, before.subjects, "%s: subjects", what);
}

/* The server still records a good heartbeat after whatever happened. */
static void
assert_still_serving(void)
{
	struct rpc_client *c = harness_client(srv.listen, "RA", SECRET_A);
	Hbmon__V1__RobotHeartbeat hb = robot_hb(H(HEALTHY));
	struct rpc_status st = call(c, M_ROBOT, &hb.base, NULL, NULL);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	rpc_client_close(c);
}

TestSuite(ingest, .init = start, .fini = stop, .timeout = 60);

Test(ingest, accepted_heartbeats_are_recorded)
{
	struct rpc_client *c = harness_client(srv.listen, "RA", SECRET_A);
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(HEALTHY));
	Hbmon__V1__AccountHeartbeat a =
	    account_hb("ACC_003", A(ACTIVE), true, 2);
	Hbmon__V1__ReportResult *res;
	struct rpc_status st;

	st = call(c, M_ROBOT, &r.base, &hbmon__v1__report_result__descriptor,
	          (ProtobufCMessage **) &res);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert_str_eq(res->subject, "RA");
	cr_assert_not(res->transition_not_allowed);
	protobuf_c_message_free_unpacked(&res->base, NULL);

	st = call(c, M_ACCOUNT, &a.base, &hbmon__v1__report_result__descriptor,
	          (ProtobufCMessage **) &res);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert_str_eq(res->subject, "RA/ACC_003");
	protobuf_c_message_free_unpacked(&res->base, NULL);

	cr_assert_eq(harness_count(&srv, "heartbeats"), 2);
	/* The latest state follows the requests within a tick or two. */
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT open_orders FROM subjects WHERE "
	                               "robot='RA' AND account='ACC_003'",
	                               2),
	             2);
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT active_accounts FROM subjects "
	                               "WHERE robot='RA' AND account=''",
	                               12),
	             12);
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT count(*) FROM subjects WHERE "
	                               "timestamp='2026-01-20T09:30:00+07:00' "
	                               "AND timestamp_ms=1768876200000",
	                               2),
	             2);
	cr_assert_eq(harness_heartbeats(&srv, "RA", "ACC_003"), 1);
	cr_assert_eq(harness_heartbeats(&srv, "RA", ""), 1);
	rpc_client_close(c);
}

Test(ingest, batch_is_judged_item_by_item)
{
	struct rpc_client *c = harness_client(srv.listen, "RA", SECRET_A);
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(DEGRADED));
	Hbmon__V1__AccountHeartbeat a1 =
	    account_hb("ACC_001", A(IDLE), true, 0);
	Hbmon__V1__AccountHeartbeat a2 = account_hb("", A(IDLE), true, 0);
	Hbmon__V1__AccountHeartbeat a3 =
	    account_hb("ACC_003", A(EXPIRED), false, 1);
	Hbmon__V1__AccountHeartbeat *accs[] = { &a1, &a2, &a3 };
	Hbmon__V1__BatchReply *reply;
	struct rpc_status st;

	b.robot = &r;
	b.accounts = accs;
	b.n_accounts = 3;
	st = call(c, M_BATCH, &b.base, &hbmon__v1__batch_reply__descriptor,
	          (ProtobufCMessage **) &reply);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert_not_null(reply->robot);
	cr_assert_eq(reply->robot->code, RPC_OK);
	cr_assert_str_eq(reply->robot->subject, "RA");
	cr_assert_eq(reply->n_accounts, 3);
	cr_assert_eq(reply->accounts[0]->code, RPC_OK);
	cr_assert_str_eq(reply->accounts[0]->subject, "RA/ACC_001");
	cr_assert_eq(reply->accounts[1]->code, RPC_INVALID_ARGUMENT);
	cr_assert(strstr(reply->accounts[1]->message, "account is empty"));
	cr_assert_eq(reply->accounts[2]->code, RPC_OK);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	cr_assert_eq(harness_count(&srv, "heartbeats"), 3);
	cr_assert_eq(harness_count(&srv, "subjects"), 3);

	/* No heartbeats at all is not a batch. */
	b.robot = NULL;
	b.n_accounts = 0;
	st = call(c, M_BATCH, &b.base, NULL, NULL);
	cr_assert_eq(st.code, RPC_INVALID_ARGUMENT);
	rpc_client_close(c);
}

Test(ingest, large_batch_is_one_commit_of_every_account)
{
	struct rpc_client *c = harness_client(srv.listen, "RA", SECRET_A);
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(HEALTHY));
	enum { N = 2000 };
	static Hbmon__V1__AccountHeartbeat accs[N];
	static Hbmon__V1__AccountHeartbeat *ptrs[N];
	static char names[N][16];
	struct rpc_status st;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "ACC_%04d", i);
		accs[i] = account_hb(names[i], A(ACTIVE), true, (uint32_t) i);
		ptrs[i] = &accs[i];
	}
	b.robot = &r;
	b.accounts = ptrs;
	b.n_accounts = N;
	st = call(c, M_BATCH, &b.base, NULL, NULL);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert_eq(harness_count(&srv, "heartbeats"), N + 1);
	/* The latest state of this many subjects is written behind the
	 * request (within flush_interval, 1 s): wait for it. */
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT sum(open_orders) FROM subjects",
	                               (int64_t) N * (N - 1) / 2),
	             (int64_t) N * (N - 1) / 2);
	rpc_client_close(c);
}

Test(ingest, not_allowed_transition_is_recorded_and_flagged)
{
	struct rpc_client *c = harness_client(srv.listen, "RA", SECRET_A);
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(HEALTHY));
	Hbmon__V1__ReportResult *res;
	struct rpc_status st;

	call(c, M_ROBOT, &r.base, NULL, NULL);
	r.status = H(UNHEALTHY); /* healthy -> unhealthy: not in the diagram */
	st = call(c, M_ROBOT, &r.base, &hbmon__v1__report_result__descriptor,
	          (ProtobufCMessage **) &res);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	cr_assert(res->transition_not_allowed);
	cr_assert(strstr(res->message, "healthy -> unhealthy") != NULL, "%s",
	          res->message);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	cr_assert_eq(harness_count(&srv, "heartbeats"), 2);
	cr_assert_eq(harness_query_int(&srv,
	                               "SELECT count(*) FROM transitions "
	                               "WHERE from_status=1 AND to_status=3 "
	                               "AND allowed=0"),
	             1);
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT status FROM subjects "
	                               "WHERE robot='RA'",
	                               H(UNHEALTHY)),
	             H(UNHEALTHY));
	/* unhealthy -> degraded is allowed. */
	r.status = H(DEGRADED);
	st = call(c, M_ROBOT, &r.base, &hbmon__v1__report_result__descriptor,
	          (ProtobufCMessage **) &res);
	cr_assert_not(res->transition_not_allowed);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	cr_assert_eq(harness_count(&srv, "transitions"), 3);
	rpc_client_close(c);
}

/* One bad input: its code, a sentence, and nothing changed. */
static void
expect_refused(struct rpc_client *c, const char *method,
               const ProtobufCMessage *in, int code, const char *reason)
{
	struct counts before = counts();
	struct rpc_status st = call(c, method, in, NULL, NULL);

	cr_assert_eq(st.code, code, "%s: got %s (%s)", reason,
	             rpc_code_name(st.code), st.message);
	cr_assert(strstr(st.message, reason) != NULL, "'%s' lacks '%s'",
	          st.message, reason);
	assert_unchanged(before, reason);
}

Test(ingest, unparsable_heartbeats_are_invalid_argument)
{
	struct rpc_client *c = harness_client(srv.listen, "RA", SECRET_A);
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(HEALTHY));
	Hbmon__V1__AccountHeartbeat a = account_hb("ACC_1", A(IDLE), true, 0);

	r.event = "HEARTBEAT";
	expect_refused(c, M_ROBOT, &r.base, RPC_INVALID_ARGUMENT,
	               "event 'HEARTBEAT' is not");
	r = robot_hb(H(UNSPECIFIED));
	expect_refused(c, M_ROBOT, &r.base, RPC_INVALID_ARGUMENT,
	               "UNSPECIFIED");
	r = robot_hb(H(HEALTHY));
	r.timestamp = "yesterday";
	expect_refused(c, M_ROBOT, &r.base, RPC_INVALID_ARGUMENT,
	               "timestamp 'yesterday' is not RFC 3339");
	a.account = "";
	expect_refused(c, M_ACCOUNT, &a.base, RPC_INVALID_ARGUMENT,
	               "account is empty");
	a = account_hb("ACC_1", A(ACTIVE), false, 0);
	expect_refused(c, M_ACCOUNT, &a.base, RPC_INVALID_ARGUMENT,
	               "session_valid");
	rpc_client_close(c);
	assert_still_serving();
}

Test(ingest, unknown_method_is_unimplemented)
{
	struct rpc_client *c = harness_client(srv.listen, "RA", SECRET_A);
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(HEALTHY));

	expect_refused(c, "/hbmon.v1.Monitor/StopTrading", &r.base,
	               RPC_UNIMPLEMENTED, "StopTrading");
	expect_refused(c, "/hbmon.v1.Admin/Overview", &r.base,
	               RPC_UNIMPLEMENTED, "not served here");
	rpc_client_close(c);
	assert_still_serving();
}

Test(ingest, undecodable_bytes_get_a_reply)
{
	struct rpc_client *c = harness_client(srv.listen, NULL, NULL);
	static const uint8_t junk[] = { 0xff, 0xfe, 0x00, 0x13,
		                        0x37, 0x0a, 0x99, 0x01 };
	struct counts before = counts();
	Hbmon__V1__RpcResponse *resp;
	uint8_t *reply;
	size_t len;

	cr_assert_eq(rpc_client_call_raw(c, junk, sizeof(junk), &reply, &len),
	             HBMON_OK);
	resp = hbmon__v1__rpc_response__unpack(NULL, len, reply);
	cr_assert_not_null(resp);
	cr_assert_eq(resp->code, RPC_INVALID_ARGUMENT);
	cr_assert(strstr(resp->message, "not an hbmon RpcRequest") != NULL,
	          "%s", resp->message);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(reply);
	/* An empty message decodes as an empty request: no robot id. */
	cr_assert_eq(rpc_client_call_raw(c, "", 0, &reply, &len), HBMON_OK);
	resp = hbmon__v1__rpc_response__unpack(NULL, len, reply);
	cr_assert_not_null(resp);
	cr_assert_eq(resp->code, RPC_INVALID_ARGUMENT);
	cr_assert_str_eq(resp->message,
	                 "robot_id '' is not a robot id: robot id is empty");
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(reply);
	assert_unchanged(before, "junk");
	rpc_client_close(c);
	assert_still_serving();
}

#define signed_raw harness_signed_request

/* Sends raw request bytes; returns the reply's code and message. */
static int
raw_call(struct rpc_client *c, const uint8_t *req, size_t len, char *message,
         size_t message_len)
{
	Hbmon__V1__RpcResponse *resp;
	uint8_t *reply;
	size_t reply_len;
	int code;

	cr_assert_eq(rpc_client_call_raw(c, req, len, &reply, &reply_len),
	             HBMON_OK);
	resp = hbmon__v1__rpc_response__unpack(NULL, reply_len, reply);
	cr_assert_not_null(resp);
	code = resp->code;
	snprintf(message, message_len, "%s", resp->message);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(reply);
	return code;
}

Test(ingest, payload_that_does_not_decode_is_invalid_argument)
{
	struct rpc_client *c = harness_client(srv.listen, NULL, NULL);
	/* Field 1 claims 80 bytes; one follows. */
	static const uint8_t bad_payload[] = { 0x0a, 0x50, 'R' };
	struct counts before = counts();
	char message[512];
	uint8_t *req;
	size_t len;

	req = signed_raw(M_ROBOT, "RA", SECRET_A,
	                 (uint64_t) clock_wall_ms() * 1000, clock_wall_ms(),
	                 bad_payload, sizeof(bad_payload), &len);
	cr_assert_eq(raw_call(c, req, len, message, sizeof(message)),
	             RPC_INVALID_ARGUMENT, "%s", message);
	cr_assert(strstr(message, "does not decode as "
	                          "hbmon.v1.RobotHeartbeat") != NULL,
	          "%s", message);
	free(req);
	assert_unchanged(before, "bad payload");
	rpc_client_close(c);
	assert_still_serving();
}

Test(ingest, authentication_failures_are_unauthenticated)
{
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(HEALTHY));
	struct rpc_client *c;
	struct rpc_status st;
	struct counts before = counts();
	int64_t now = clock_wall_ms();

	/* Unknown robot. */
	c = harness_client(srv.listen, "R_UNKNOWN", SECRET_A);
	expect_refused(c, M_ROBOT, &r.base, RPC_UNAUTHENTICATED,
	               "robot 'R_UNKNOWN' is not registered");
	rpc_client_close(c);

	/* Wrong secret. */
	c = harness_client(srv.listen, "RA", "hbs_not-the-secret");
	expect_refused(c, M_ROBOT, &r.base, RPC_UNAUTHENTICATED,
	               "bad signature");
	rpc_client_close(c);

	/* Unsigned. */
	c = harness_client(srv.listen, "RA", NULL);
	expect_refused(c, M_ROBOT, &r.base, RPC_UNAUTHENTICATED,
	               "bad signature");
	rpc_client_close(c);

	/* Stale and future sent_at_ms, just outside the 300 s window. */
	c = harness_client(srv.listen, "RA", SECRET_A);
	cr_assert_eq(rpc_client_call_with(c, M_ROBOT, &r.base,
	                                  (uint64_t) now * 1000,
	                                  now - 301 * 1000, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_UNAUTHENTICATED, "%s", st.message);
	cr_assert(strstr(st.message, "behind the server's clock"), "%s",
	          st.message);
	cr_assert_eq(rpc_client_call_with(c, M_ROBOT, &r.base,
	                                  (uint64_t) now * 1000 + 1,
	                                  now + 302 * 1000, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_UNAUTHENTICATED, "%s", st.message);
	cr_assert(strstr(st.message, "ahead of"), "%s", st.message);
	/* Inside the window is fine. */
	cr_assert_eq(rpc_client_call_with(c, M_ROBOT, &r.base,
	                                  (uint64_t) now * 1000 + 2,
	                                  now - 200 * 1000, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	rpc_client_close(c);
	cr_assert_eq(counts().heartbeats, before.heartbeats + 1);
}

Test(ingest, replayed_seq_is_refused_and_resend_answered_once)
{
	Hbmon__V1__RobotHeartbeat r = robot_hb(H(HEALTHY));
	struct rpc_client *c = harness_client(srv.listen, NULL, NULL);
	struct counts before;
	uint8_t hb_bytes[256];
	size_t hb_len = hbmon__v1__robot_heartbeat__pack(&r, hb_bytes);
	uint64_t seq = (uint64_t) clock_wall_ms() * 1000;
	int64_t now = clock_wall_ms();
	char m1[512], m2[512];
	uint8_t *req;
	size_t len;

	req = signed_raw(M_ROBOT, "RA", SECRET_A, seq, now, hb_bytes, hb_len,
	                 &len);
	cr_assert_eq(raw_call(c, req, len, m1, sizeof(m1)), RPC_OK, "%s", m1);
	before = counts();
	/* The identical bytes again, as an nng REQ resend would: the same
	 * answer, and nothing recorded twice. */
	cr_assert_eq(raw_call(c, req, len, m2, sizeof(m2)), RPC_OK, "%s", m2);
	assert_unchanged(before, "resend");
	free(req);

	/* The same seq with different content is a forgery or a bug. */
	r.active_tasks = 6;
	hb_len = hbmon__v1__robot_heartbeat__pack(&r, hb_bytes);
	req = signed_raw(M_ROBOT, "RA", SECRET_A, seq, now, hb_bytes, hb_len,
	                 &len);
	cr_assert_eq(raw_call(c, req, len, m1, sizeof(m1)),
	             RPC_UNAUTHENTICATED);
	cr_assert(strstr(m1, "already used"), "%s", m1);
	free(req);

	/* A lower seq is a replay. */
	req = signed_raw(M_ROBOT, "RA", SECRET_A, seq - 5, now, hb_bytes,
	                 hb_len, &len);
	cr_assert_eq(raw_call(c, req, len, m1, sizeof(m1)),
	             RPC_UNAUTHENTICATED);
	cr_assert(strstr(m1, "is not above the last accepted seq"), "%s", m1);
	free(req);
	assert_unchanged(before, "replays");
	rpc_client_close(c);
}

Test(ingest, robot_cannot_write_another_robots_account)
{
	Hbmon__V1__AccountHeartbeat a = account_hb("ACC_1", A(ACTIVE), true, 7);
	struct rpc_client *b = harness_client(srv.listen, "RB", SECRET_B);
	struct rpc_client *c;
	struct rpc_status st;

	st = call(b, M_ACCOUNT, &a.base, NULL, NULL);
	cr_assert_eq(st.code, RPC_OK);
	rpc_client_close(b);

	/* Robot A claims to be B, signing with its own secret. */
	c = harness_client(srv.listen, "RB", SECRET_A);
	a.open_orders = 99;
	expect_refused(c, M_ACCOUNT, &a.base, RPC_UNAUTHENTICATED,
	               "bad signature");
	rpc_client_close(c);

	/* Robot A reporting an account of the same name gets its own. */
	c = harness_client(srv.listen, "RA", SECRET_A);
	st = call(c, M_ACCOUNT, &a.base, NULL, NULL);
	cr_assert_eq(st.code, RPC_OK);
	rpc_client_close(c);
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT open_orders FROM subjects "
	                               "WHERE robot='RB' AND account='ACC_1'",
	                               7),
	             7);
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT open_orders FROM subjects "
	                               "WHERE robot='RA' AND account='ACC_1'",
	                               99),
	             99);
}

Test(ingest, oversized_request_is_answered_and_server_keeps_serving)
{
	struct rpc_client_options o = { .url = srv.listen, .timeout_ms = 5000 };
	struct rpc_client *c;
	struct counts before = counts();
	size_t big = 2 * 1024 * 1024; /* default recv_max is 1 MiB */
	uint8_t *junk = calloc(1, big);
	uint8_t *reply = NULL;
	size_t reply_len;
	Hbmon__V1__RpcResponse *resp;
	char why[256];
	int rv;

	cr_assert_eq(rpc_client_open(&o, &c, why, sizeof(why)), HBMON_OK);
	/* Read to its end, thrown away and answered, so that nng's REQ
	 * does not resend it forever, nor hang in rpc_client_close (nng
	 * 1.5.2, when closed in mid-write); the connection carries on. */
	rv = rpc_client_call_raw(c, junk, big, &reply, &reply_len);
	cr_assert_eq(rv, HBMON_OK, "no reply to 2 MiB: %s", hbmon_strerror(rv));
	resp = hbmon__v1__rpc_response__unpack(NULL, reply_len, reply);
	cr_assert_not_null(resp);
	cr_assert_eq(resp->code, RPC_RESOURCE_EXHAUSTED);
	cr_assert(strstr(resp->message, "the request is 2097156 bytes, more "
	                                "than this socket accepts (recv_max "
	                                "1048576 bytes)") != NULL,
	          "%s", resp->message);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(reply);
	free(junk);
	rpc_client_close(c);
	assert_unchanged(before, "oversized");
	assert_still_serving();
}
