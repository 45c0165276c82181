/*
 * The RPC envelope and dispatch through the generated service descriptors.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/dispatch.h"
#include "common/envelope.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

#define KEY "hbs_envelope-test"

static Hbmon__V1__RobotHeartbeat
seed_robot(void)
{
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	hb.event = "ROBOT_HEARTBEAT";
	hb.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	hb.active_accounts = 12;
	hb.active_tasks = 5;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	return hb;
}

static struct env_request_head
head(const char *method)
{
	struct env_request_head h = { .method = method,
		                      .robot_id = "R1",
		                      .seq = 77,
		                      .sent_at_ms = 1768876200000,
		                      .timeout_ms = 3000,
		                      .key = KEY,
		                      .key_len = strlen(KEY) };
	return h;
}

Test(envelope, request_round_trips_and_verifies, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat hb = seed_robot();
	struct env_request_head h = head("/hbmon.v1.Monitor/ReportRobot");
	Hbmon__V1__RpcRequest *req;
	Hbmon__V1__RobotHeartbeat *in;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(env_request_pack(&h, &hb.base, &buf, &len), HBMON_OK);
	cr_assert_eq(env_request_unpack(buf, len, &req, NULL, 0), HBMON_OK);
	cr_assert_str_eq(req->method, "/hbmon.v1.Monitor/ReportRobot");
	cr_assert_str_eq(req->robot_id, "R1");
	cr_assert_eq(req->seq, 77);
	cr_assert_eq(req->sent_at_ms, 1768876200000);
	cr_assert_eq(req->timeout_ms, 3000);
	cr_assert_eq(req->signature.len, 32);
	cr_assert_eq(env_request_verify(req, KEY, strlen(KEY)), HBMON_OK);
	cr_assert_eq(env_request_verify(req, "other", 5), HBMON_EAUTH);
	in = hbmon__v1__robot_heartbeat__unpack(NULL, req->payload.len,
	                                        req->payload.data);
	cr_assert_not_null(in);
	cr_assert_eq(in->active_accounts, 12);
	cr_assert_str_eq(in->timestamp, "2026-01-20T09:30:00+07:00");

	/* A changed seq after signing must not verify. */
	req->seq++;
	cr_assert_eq(env_request_verify(req, KEY, strlen(KEY)), HBMON_EAUTH);

	hbmon__v1__robot_heartbeat__free_unpacked(in, NULL);
	hbmon__v1__rpc_request__free_unpacked(req, NULL);
	free(buf);
}

Test(envelope, unsigned_request_has_no_signature, .timeout = 10)
{
	struct env_request_head h = head("/hbmon.v1.Monitor/ReportRobot");
	Hbmon__V1__RpcRequest *req;
	uint8_t *buf;
	size_t len;

	h.key = NULL;
	cr_assert_eq(env_request_pack(&h, NULL, &buf, &len), HBMON_OK);
	cr_assert_eq(env_request_unpack(buf, len, &req, NULL, 0), HBMON_OK);
	cr_assert_eq(req->signature.len, 0);
	cr_assert_eq(req->payload.len, 0);
	cr_assert_eq(env_request_verify(req, KEY, strlen(KEY)), HBMON_EAUTH);
	hbmon__v1__rpc_request__free_unpacked(req, NULL);
	free(buf);
}

Test(envelope, request_without_method_is_refused, .timeout = 10)
{
	struct env_request_head h = head("");
	uint8_t *buf = NULL;
	size_t len;

	cr_assert_eq(env_request_pack(&h, NULL, &buf, &len), HBMON_EINVAL);
	cr_assert_null(buf);
}

Test(envelope, garbage_is_not_a_request, .timeout = 10)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	Hbmon__V1__RpcRequest *req = NULL;
	char why[128] = "";

	cr_assert_eq(
	    env_request_unpack(junk, sizeof(junk), &req, why, sizeof(why)),
	    HBMON_EPROTO);
	cr_assert_null(req);
	cr_assert(strstr(why, "6 bytes") != NULL, "why: %s", why);
}

Test(envelope, response_pack_to_equals_protobuf_c_pack, .timeout = 10)
{
	Hbmon__V1__ReportResult res = HBMON__V1__REPORT_RESULT__INIT;
	char big[300];

	/* A payload over 127 bytes needs a two-byte length varint. */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int round = 0; round < 3; round++) {
		Hbmon__V1__RpcResponse ref = HBMON__V1__RPC_RESPONSE__INIT;
		uint8_t inner[512], want[1024];
		uint8_t *got;
		size_t got_len, want_len;

		res.subject = "R1/ACC_003";
		res.message = round == 2 ? big : "fine";
		res.code = round == 0 ? 0 : 3;
		ref.code = round == 1 ? RPC_INVALID_ARGUMENT : RPC_OK;
		ref.message =
		    round == 1 ? "timestamp 'yesterday' is not RFC 3339" : "";
		ref.payload.len = hbmon__v1__report_result__pack(&res, inner);
		ref.payload.data = inner;
		want_len = hbmon__v1__rpc_response__pack(&ref, want);

		cr_assert_eq(
		    env_response_size(ref.code, ref.message, &res.base),
		    want_len);
		cr_assert_eq(env_response_pack(ref.code, ref.message, &res.base,
		                               &got, &got_len),
		             HBMON_OK);
		cr_assert_eq(got_len, want_len, "round %d", round);
		cr_assert_arr_eq(got, want, want_len, "round %d", round);
		free(got);
	}
}

Test(envelope, response_unpack_gives_status_and_output, .timeout = 10)
{
	Hbmon__V1__ReportResult res = HBMON__V1__REPORT_RESULT__INIT;
	Hbmon__V1__RpcResponse *resp;
	ProtobufCMessage *out;
	uint8_t *buf;
	size_t len;

	res.subject = "R1";
	cr_assert_eq(env_response_pack(RPC_OK, "", &res.base, &buf, &len),
	             HBMON_OK);
	cr_assert_eq(env_response_unpack(buf, len,
	                                 &hbmon__v1__report_result__descriptor,
	                                 &resp, &out, NULL, 0),
	             HBMON_OK);
	cr_assert_eq(resp->code, 0);
	cr_assert_not_null(out);
	cr_assert_str_eq(((Hbmon__V1__ReportResult *) out)->subject, "R1");
	protobuf_c_message_free_unpacked(out, NULL);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(buf);

	/* An error reply has no output to decode. */
	cr_assert_eq(env_response_pack(RPC_UNAUTHENTICATED, "bad signature",
	                               NULL, &buf, &len),
	             HBMON_OK);
	cr_assert_eq(env_response_unpack(buf, len,
	                                 &hbmon__v1__report_result__descriptor,
	                                 &resp, &out, NULL, 0),
	             HBMON_OK);
	cr_assert_eq(resp->code, RPC_UNAUTHENTICATED);
	cr_assert_str_eq(resp->message, "bad signature");
	cr_assert_null(out);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(buf);
}

/* ---- dispatch through a Monitor service with test handlers ---- */

struct outcome {
	bool done;
	int code;
	char message[512];
	char subject[64];
	size_t n_accounts;
};

static void
record_done(const ProtobufCMessage *output, void *data)
{
	struct rpc_call *call = data;
	struct outcome *o = call->user;

	o->done = true;
	o->code = call->code;
	strcpy(o->message, call->message);
	if (output != NULL &&
	    output->descriptor == &hbmon__v1__report_result__descriptor) {
		strcpy(o->subject,
		       ((const Hbmon__V1__ReportResult *) output)->subject);
	}
	if (output != NULL &&
	    output->descriptor == &hbmon__v1__batch_reply__descriptor) {
		o->n_accounts =
		    ((const Hbmon__V1__BatchReply *) output)->n_accounts;
	}
}

static void
report_robot(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__RobotHeartbeat *in,
             Hbmon__V1__ReportResult_Closure done, void *data)
{
	Hbmon__V1__ReportResult res = HBMON__V1__REPORT_RESULT__INIT;
	struct rpc_call *call = data;

	(void) svc;
	if (in->status == HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNSPECIFIED) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "status is missing");
		done(NULL, data);
		return;
	}
	res.subject = (char *) call->request->robot_id;
	done(&res, data);
}

/* Completes later, as a handler waiting for a database commit does. */
static struct {
	Hbmon__V1__BatchReply_Closure done;
	void *data;
	size_t n;
} pending;

static void
report_batch(Hbmon__V1__Monitor_Service *svc,
             const Hbmon__V1__HeartbeatBatch *in,
             Hbmon__V1__BatchReply_Closure done, void *data)
{
	(void) svc;
	pending.done = done;
	pending.data = data;
	pending.n = in->n_accounts;
}

static Hbmon__V1__Monitor_Service monitor;

static void
setup_monitor(void)
{
	hbmon__v1__monitor__init(&monitor, NULL);
	monitor.report_robot = report_robot;
	monitor.report_batch = report_batch;
	/* report_account deliberately left unset */
}

static void
run(const char *method, const ProtobufCMessage *input, const uint8_t *raw,
    size_t raw_len, struct outcome *o)
{
	struct env_request_head h = head(method);
	Hbmon__V1__RpcRequest *req;
	struct rpc_call call;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(env_request_pack(&h, input, &buf, &len), HBMON_OK);
	cr_assert_eq(env_request_unpack(buf, len, &req, NULL, 0), HBMON_OK);
	if (raw != NULL) {
		req->payload.data = (uint8_t *) raw;
		req->payload.len = raw_len;
	}
	memset(o, 0, sizeof(*o));
	rpc_call_init(&call, req, o);
	rpc_dispatch(&monitor.base, &call, record_done);
	if (pending.done != NULL) {
		Hbmon__V1__BatchReply reply = HBMON__V1__BATCH_REPLY__INIT;
		/* The input must still be readable until release. */
		cr_assert_eq(
		    ((Hbmon__V1__HeartbeatBatch *) call.input)->n_accounts,
		    pending.n);
		reply.n_accounts = 0;
		pending.done(&reply, pending.data);
		pending.done = NULL;
		o->n_accounts = pending.n;
	}
	rpc_call_release(&call);
	rpc_call_release(&call);
	if (raw != NULL) {
		req->payload.data = NULL;
		req->payload.len = 0;
	}
	hbmon__v1__rpc_request__free_unpacked(req, NULL);
	free(buf);
}

Test(dispatch, finds_methods_by_grpc_path, .timeout = 10)
{
	const ProtobufCServiceDescriptor *d = &hbmon__v1__monitor__descriptor;
	unsigned i = 99;

	cr_assert_eq(rpc_method_find(d, "/hbmon.v1.Monitor/ReportRobot", &i),
	             HBMON_OK);
	cr_assert_str_eq(d->methods[i].name, "ReportRobot");
	cr_assert_eq(rpc_method_find(d, "/hbmon.v1.Monitor/ReportBatch", &i),
	             HBMON_OK);
	cr_assert_str_eq(d->methods[i].name, "ReportBatch");
	cr_assert_eq(rpc_method_find(d, "/hbmon.v1.Admin/Overview", &i),
	             HBMON_ENOENT);
	cr_assert_eq(rpc_method_find(d, "/hbmon.v1.Monitor/Nope", &i),
	             HBMON_ENOENT);
	cr_assert_eq(rpc_method_find(d, "hbmon.v1.Monitor/ReportRobot", &i),
	             HBMON_ENOENT);
	cr_assert_eq(rpc_method_find(d, "/hbmon.v1.MonitorX/ReportRobot", &i),
	             HBMON_ENOENT);
	cr_assert_eq(rpc_method_find(d, "/hbmon.v1.Monitor", &i), HBMON_ENOENT);
	cr_assert_eq(rpc_method_find(d, "", &i), HBMON_ENOENT);
	cr_assert_eq(rpc_method_find(d, NULL, &i), HBMON_ENOENT);
}

Test(dispatch, routes_to_handler_with_decoded_input, .init = setup_monitor,
     .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat hb = seed_robot();
	struct outcome o;

	run("/hbmon.v1.Monitor/ReportRobot", &hb.base, NULL, 0, &o);
	cr_assert(o.done);
	cr_assert_eq(o.code, RPC_OK);
	cr_assert_str_eq(o.subject, "R1");

	hb.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNSPECIFIED;
	run("/hbmon.v1.Monitor/ReportRobot", &hb.base, NULL, 0, &o);
	cr_assert_eq(o.code, RPC_INVALID_ARGUMENT);
	cr_assert_str_eq(o.message, "status is missing");
}

Test(dispatch, completes_later_with_input_still_valid, .init = setup_monitor,
     .timeout = 10)
{
	Hbmon__V1__HeartbeatBatch batch = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__AccountHeartbeat a = HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
	Hbmon__V1__AccountHeartbeat *accounts[3] = { &a, &a, &a };
	struct outcome o;

	a.account = "ACC_001";
	batch.accounts = accounts;
	batch.n_accounts = 3;
	run("/hbmon.v1.Monitor/ReportBatch", &batch.base, NULL, 0, &o);
	cr_assert(o.done);
	cr_assert_eq(o.code, RPC_OK);
	cr_assert_eq(o.n_accounts, 3);
}

Test(dispatch, unknown_method_is_unimplemented, .init = setup_monitor,
     .timeout = 10)
{
	struct outcome o;

	run("/hbmon.v1.Monitor/StartTrading", NULL, NULL, 0, &o);
	cr_assert(o.done);
	cr_assert_eq(o.code, RPC_UNIMPLEMENTED);
	cr_assert(strstr(o.message, "StartTrading") != NULL);
	cr_assert(strstr(o.message, "/hbmon.v1.Monitor/*") != NULL);

	run("/hbmon.v1.Admin/Overview", NULL, NULL, 0, &o);
	cr_assert_eq(o.code, RPC_UNIMPLEMENTED);
}

Test(dispatch, unset_handler_is_unimplemented, .init = setup_monitor,
     .timeout = 10)
{
	struct outcome o;

	run("/hbmon.v1.Monitor/ReportAccount", NULL, NULL, 0, &o);
	cr_assert(o.done);
	cr_assert_eq(o.code, RPC_UNIMPLEMENTED);
}

Test(dispatch, undecodable_payload_is_invalid_argument, .init = setup_monitor,
     .timeout = 10)
{
	/* Field 1 claims 100 bytes of string; only 2 follow. */
	static const uint8_t truncated[] = { 0x0a, 0x64, 'R', 'O' };
	struct outcome o;

	run("/hbmon.v1.Monitor/ReportRobot", NULL, truncated, sizeof(truncated),
	    &o);
	cr_assert(o.done);
	cr_assert_eq(o.code, RPC_INVALID_ARGUMENT);
	cr_assert(strstr(o.message, "hbmon.v1.RobotHeartbeat") != NULL,
	          "message: %s", o.message);
}

Test(rpc_status, names_and_mapping, .timeout = 10)
{
	cr_assert_str_eq(rpc_code_name(RPC_OK), "OK");
	cr_assert_str_eq(rpc_code_name(3), "INVALID_ARGUMENT");
	cr_assert_str_eq(rpc_code_name(16), "UNAUTHENTICATED");
	cr_assert_str_eq(rpc_code_name(17), "UNKNOWN");
	cr_assert_str_eq(rpc_code_name(-1), "UNKNOWN");
	cr_assert_eq(rpc_code_from_err(HBMON_EAUTH), RPC_UNAUTHENTICATED);
	cr_assert_eq(rpc_code_from_err(HBMON_EINVAL), RPC_INVALID_ARGUMENT);
	cr_assert_eq(rpc_code_from_err(HBMON_ENOENT), RPC_NOT_FOUND);
	cr_assert_eq(rpc_code_from_err(HBMON_EPERM), RPC_PERMISSION_DENIED);
	cr_assert_eq(rpc_code_from_err(HBMON_EINTERNAL), RPC_INTERNAL);
	for (int c = 0; c <= 16; c++) {
		int e = rpc_code_to_err(c);
		cr_assert_eq(e == HBMON_OK, c == 0, "code %d", c);
	}
	cr_assert_str_eq(hbmon_strerror(HBMON_EAUTH), "authentication failed");
	cr_assert_str_eq(hbmon_strerror(999), "unknown error");
}
