/*
 * Wire compatibility between the robot side (nanopb) and the server side
 * (protobuf-c), both generated from proto/. Golden bytes come from protoc's
 * own encoder (`protoc --encode`), the reference neither library wrote.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

/* nanopb */
#include "hbmon/v1/heartbeat.pb.h"
#include "hbmon/v1/monitor.pb.h"
#include "hbmon/v1/rpc.pb.h"
/* protobuf-c */
#include "hbmon/v1/heartbeat.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"

#define TS "2026-01-20T09:30:00+07:00"

/* protoc --encode=hbmon.v1.RobotHeartbeat of the seed's robot example. */
static const uint8_t golden_robot[] = {
	0x0a, 0x0f, 0x52, 0x4f, 0x42, 0x4f, 0x54, 0x5f, 0x48, 0x45,
	0x41, 0x52, 0x54, 0x42, 0x45, 0x41, 0x54, 0x10, 0x01, 0x18,
	0x0c, 0x20, 0x05, 0x2a, 0x19, 0x32, 0x30, 0x32, 0x36, 0x2d,
	0x30, 0x31, 0x2d, 0x32, 0x30, 0x54, 0x30, 0x39, 0x3a, 0x33,
	0x30, 0x3a, 0x30, 0x30, 0x2b, 0x30, 0x37, 0x3a, 0x30, 0x30
};

/* protoc --encode=hbmon.v1.AccountHeartbeat of the seed's account example. */
static const uint8_t golden_account[] = {
	0x0a, 0x11, 0x41, 0x43, 0x43, 0x4f, 0x55, 0x4e, 0x54, 0x5f, 0x48,
	0x45, 0x41, 0x52, 0x54, 0x42, 0x45, 0x41, 0x54, 0x12, 0x07, 0x41,
	0x43, 0x43, 0x5f, 0x30, 0x30, 0x33, 0x18, 0x02, 0x20, 0x01, 0x28,
	0x02, 0x32, 0x19, 0x32, 0x30, 0x32, 0x36, 0x2d, 0x30, 0x31, 0x2d,
	0x32, 0x30, 0x54, 0x30, 0x39, 0x3a, 0x33, 0x30, 0x3a, 0x30, 0x30,
	0x2b, 0x30, 0x37, 0x3a, 0x30, 0x30
};

static size_t
nanopb_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t *buf,
              size_t cap)
{
	pb_ostream_t os = pb_ostream_from_buffer(buf, cap);
	cr_assert(pb_encode(&os, fields, msg), "nanopb: %s", PB_GET_ERROR(&os));
	return os.bytes_written;
}

static hbmon_v1_RobotHeartbeat
nanopb_robot(hbmon_v1_HealthStatus status, uint32_t accounts, uint32_t tasks)
{
	hbmon_v1_RobotHeartbeat hb = hbmon_v1_RobotHeartbeat_init_zero;
	strcpy(hb.event, "ROBOT_HEARTBEAT");
	hb.status = status;
	hb.active_accounts = accounts;
	hb.active_tasks = tasks;
	strcpy(hb.timestamp, TS);
	return hb;
}

static hbmon_v1_AccountHeartbeat
nanopb_account(const char *name, hbmon_v1_AccountStatus status, bool valid,
               uint32_t orders)
{
	hbmon_v1_AccountHeartbeat hb = hbmon_v1_AccountHeartbeat_init_zero;
	strcpy(hb.event, "ACCOUNT_HEARTBEAT");
	strcpy(hb.account, name);
	hb.status = status;
	hb.session_valid = valid;
	hb.open_orders = orders;
	strcpy(hb.timestamp, TS);
	return hb;
}

Test(wire, seed_examples_match_protoc_golden_bytes, .timeout = 10)
{
	hbmon_v1_RobotHeartbeat r =
	    nanopb_robot(hbmon_v1_HealthStatus_HEALTH_STATUS_HEALTHY, 12, 5);
	hbmon_v1_AccountHeartbeat a = nanopb_account(
	    "ACC_003", hbmon_v1_AccountStatus_ACCOUNT_STATUS_ACTIVE, true, 2);
	Hbmon__V1__RobotHeartbeat cr = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	Hbmon__V1__AccountHeartbeat ca = HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
	uint8_t buf[256];
	size_t n;

	n = nanopb_encode(hbmon_v1_RobotHeartbeat_fields, &r, buf, sizeof(buf));
	cr_assert_eq(n, sizeof(golden_robot));
	cr_assert_arr_eq(buf, golden_robot, n, "nanopb robot bytes differ");
	n = nanopb_encode(hbmon_v1_AccountHeartbeat_fields, &a, buf,
	                  sizeof(buf));
	cr_assert_eq(n, sizeof(golden_account));
	cr_assert_arr_eq(buf, golden_account, n, "nanopb account bytes differ");

	cr.event = "ROBOT_HEARTBEAT";
	cr.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	cr.active_accounts = 12;
	cr.active_tasks = 5;
	cr.timestamp = TS;
	cr_assert_eq(hbmon__v1__robot_heartbeat__pack(&cr, buf),
	             sizeof(golden_robot));
	cr_assert_arr_eq(buf, golden_robot, sizeof(golden_robot));

	ca.event = "ACCOUNT_HEARTBEAT";
	ca.account = "ACC_003";
	ca.status = HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
	ca.session_valid = true;
	ca.open_orders = 2;
	ca.timestamp = TS;
	cr_assert_eq(hbmon__v1__account_heartbeat__pack(&ca, buf),
	             sizeof(golden_account));
	cr_assert_arr_eq(buf, golden_account, sizeof(golden_account));
}

Test(wire, nanopb_robot_decodes_in_protobuf_c_for_every_status, .timeout = 10)
{
	for (int s = 0; s <= 3; s++) {
		hbmon_v1_RobotHeartbeat r = nanopb_robot(
		    (hbmon_v1_HealthStatus) s, 4000000000u, (uint32_t) s * 7);
		uint8_t buf[256];
		size_t n = nanopb_encode(hbmon_v1_RobotHeartbeat_fields, &r,
		                         buf, sizeof(buf));
		Hbmon__V1__RobotHeartbeat *c =
		    hbmon__v1__robot_heartbeat__unpack(NULL, n, buf);

		cr_assert_not_null(c);
		cr_assert_str_eq(c->event, "ROBOT_HEARTBEAT");
		cr_assert_eq((int) c->status, s);
		cr_assert_eq(c->active_accounts, 4000000000u);
		cr_assert_eq(c->active_tasks, (uint32_t) s * 7);
		cr_assert_str_eq(c->timestamp, TS);
		hbmon__v1__robot_heartbeat__free_unpacked(c, NULL);
	}
}

Test(wire, nanopb_account_decodes_in_protobuf_c_for_every_status, .timeout = 10)
{
	for (int s = 0; s <= 4; s++) {
		hbmon_v1_AccountHeartbeat a = nanopb_account(
		    "ACC_\xc3\xa9", (hbmon_v1_AccountStatus) s, s % 2, 99);
		uint8_t buf[256];
		size_t n = nanopb_encode(hbmon_v1_AccountHeartbeat_fields, &a,
		                         buf, sizeof(buf));
		Hbmon__V1__AccountHeartbeat *c =
		    hbmon__v1__account_heartbeat__unpack(NULL, n, buf);

		cr_assert_not_null(c);
		cr_assert_str_eq(c->event, "ACCOUNT_HEARTBEAT");
		cr_assert_str_eq(c->account, "ACC_\xc3\xa9");
		cr_assert_eq((int) c->status, s);
		cr_assert_eq(c->session_valid, s % 2);
		cr_assert_eq(c->open_orders, 99);
		cr_assert_str_eq(c->timestamp, TS);
		hbmon__v1__account_heartbeat__free_unpacked(c, NULL);
	}
}

/* The batch's accounts are a callback in nanopb: encode n of them. */
struct accounts_src {
	int n;
};

static bool
encode_accounts(pb_ostream_t *os, const pb_field_t *field, void *const *arg)
{
	const struct accounts_src *src = *arg;
	for (int i = 0; i < src->n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "ACC_%03d", i);
		hbmon_v1_AccountHeartbeat a =
		    nanopb_account(name, (hbmon_v1_AccountStatus) (1 + i % 4),
		                   i % 4 < 2, (uint32_t) i);
		if (!pb_encode_tag_for_field(os, field) ||
		    !pb_encode_submessage(os, hbmon_v1_AccountHeartbeat_fields,
		                          &a)) {
			return false;
		}
	}
	return true;
}

Test(wire, nanopb_batch_of_1000_accounts_decodes_in_protobuf_c, .timeout = 10)
{
	static uint8_t buf[128 * 1024];
	struct accounts_src src = { 1000 };
	hbmon_v1_HeartbeatBatch b = hbmon_v1_HeartbeatBatch_init_zero;
	Hbmon__V1__HeartbeatBatch *c;
	size_t n;

	b.has_robot = true;
	b.robot =
	    nanopb_robot(hbmon_v1_HealthStatus_HEALTH_STATUS_DEGRADED, 1000, 3);
	b.accounts.funcs.encode = encode_accounts;
	b.accounts.arg = &src;
	n = nanopb_encode(hbmon_v1_HeartbeatBatch_fields, &b, buf, sizeof(buf));
	c = hbmon__v1__heartbeat_batch__unpack(NULL, n, buf);
	cr_assert_not_null(c);
	cr_assert_not_null(c->robot);
	cr_assert_eq(c->robot->status,
	             HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED);
	cr_assert_eq(c->n_accounts, 1000);
	for (int i = 0; i < 1000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "ACC_%03d", i);
		cr_assert_str_eq(c->accounts[i]->account, name);
		cr_assert_eq((int) c->accounts[i]->status, 1 + i % 4);
		cr_assert_eq(c->accounts[i]->session_valid, i % 4 < 2);
		cr_assert_eq(c->accounts[i]->open_orders, (uint32_t) i);
	}
	hbmon__v1__heartbeat_batch__free_unpacked(c, NULL);
}

/* nanopb: bytes fields given as a callback over a fixed buffer. */
struct bytes_ref {
	const uint8_t *data;
	size_t len;
};

static bool
encode_bytes(pb_ostream_t *os, const pb_field_t *field, void *const *arg)
{
	const struct bytes_ref *ref = *arg;
	return pb_encode_tag_for_field(os, field) &&
	       pb_encode_string(os, ref->data, ref->len);
}

Test(wire, nanopb_envelope_decodes_in_protobuf_c, .timeout = 10)
{
	hbmon_v1_RpcRequest req = hbmon_v1_RpcRequest_init_zero;
	struct bytes_ref payload = { golden_robot, sizeof(golden_robot) };
	Hbmon__V1__RpcRequest *c;
	uint8_t buf[512];
	size_t n;

	strcpy(req.method, "/hbmon.v1.Monitor/ReportRobot");
	strcpy(req.robot_id, "R1");
	req.seq = 1768876200000123ull;
	req.sent_at_ms = 1768876200000;
	req.signature.size = 32;
	memset(req.signature.bytes, 0xab, 32);
	req.timeout_ms = 5000;
	req.payload.funcs.encode = encode_bytes;
	req.payload.arg = &payload;
	n = nanopb_encode(hbmon_v1_RpcRequest_fields, &req, buf, sizeof(buf));

	c = hbmon__v1__rpc_request__unpack(NULL, n, buf);
	cr_assert_not_null(c);
	cr_assert_str_eq(c->method, "/hbmon.v1.Monitor/ReportRobot");
	cr_assert_str_eq(c->robot_id, "R1");
	cr_assert_eq(c->seq, 1768876200000123ull);
	cr_assert_eq(c->sent_at_ms, 1768876200000);
	cr_assert_eq(c->timeout_ms, 5000);
	cr_assert_eq(c->signature.len, 32);
	cr_assert_eq(c->signature.data[31], 0xab);
	cr_assert_eq(c->payload.len, sizeof(golden_robot));
	cr_assert_arr_eq(c->payload.data, golden_robot, sizeof(golden_robot));
	hbmon__v1__rpc_request__free_unpacked(c, NULL);
}

Test(wire, protobuf_c_heartbeats_decode_in_nanopb, .timeout = 10)
{
	for (int s = 0; s <= 4; s++) {
		Hbmon__V1__AccountHeartbeat ca =
		    HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
		hbmon_v1_AccountHeartbeat a =
		    hbmon_v1_AccountHeartbeat_init_zero;
		uint8_t buf[256];
		size_t n;
		pb_istream_t is;

		ca.event = "ACCOUNT_HEARTBEAT";
		ca.account = "ACC_007";
		ca.status = (Hbmon__V1__AccountStatus) s;
		ca.session_valid = s < 3;
		ca.open_orders = UINT32_MAX;
		ca.timestamp = "2026-01-20T02:30:00.5Z";
		n = hbmon__v1__account_heartbeat__pack(&ca, buf);
		is = pb_istream_from_buffer(buf, n);
		cr_assert(pb_decode(&is, hbmon_v1_AccountHeartbeat_fields, &a));
		cr_assert_str_eq(a.event, "ACCOUNT_HEARTBEAT");
		cr_assert_str_eq(a.account, "ACC_007");
		cr_assert_eq((int) a.status, s);
		cr_assert_eq(a.session_valid, s < 3);
		cr_assert_eq(a.open_orders, UINT32_MAX);
		cr_assert_str_eq(a.timestamp, "2026-01-20T02:30:00.5Z");
	}
	for (int s = 0; s <= 3; s++) {
		Hbmon__V1__RobotHeartbeat cr = HBMON__V1__ROBOT_HEARTBEAT__INIT;
		hbmon_v1_RobotHeartbeat r = hbmon_v1_RobotHeartbeat_init_zero;
		uint8_t buf[256];
		size_t n;
		pb_istream_t is;

		cr.event = "ROBOT_HEARTBEAT";
		cr.status = (Hbmon__V1__HealthStatus) s;
		cr.active_accounts = 12;
		cr.active_tasks = 5;
		cr.timestamp = TS;
		n = hbmon__v1__robot_heartbeat__pack(&cr, buf);
		is = pb_istream_from_buffer(buf, n);
		cr_assert(pb_decode(&is, hbmon_v1_RobotHeartbeat_fields, &r));
		cr_assert_eq((int) r.status, s);
		cr_assert_eq(r.active_accounts, 12);
		cr_assert_eq(r.active_tasks, 5);
		cr_assert_str_eq(r.timestamp, TS);
	}
}

/* nanopb: read a string field through a callback into a fixed buffer. */
struct text_sink {
	char text[128];
};

static bool
decode_text(pb_istream_t *is, const pb_field_t *field, void **arg)
{
	struct text_sink *sink = *arg;
	size_t n = is->bytes_left;
	(void) field;
	if (n >= sizeof(sink->text)) {
		n = sizeof(sink->text) - 1;
	}
	if (!pb_read(is, (pb_byte_t *) sink->text, n)) {
		return false;
	}
	sink->text[n] = '\0';
	/* Skip whatever did not fit: an over-long message is cut, not an
	 * error. */
	return pb_read(is, NULL, is->bytes_left);
}

Test(wire, protobuf_c_reply_decodes_in_nanopb, .timeout = 10)
{
	Hbmon__V1__ReportResult cres = HBMON__V1__REPORT_RESULT__INIT;
	Hbmon__V1__RpcResponse cresp = HBMON__V1__RPC_RESPONSE__INIT;
	hbmon_v1_RpcResponse resp = hbmon_v1_RpcResponse_init_zero;
	hbmon_v1_ReportResult res = hbmon_v1_ReportResult_init_zero;
	struct text_sink msg = { "" }, payload = { "" }, rmsg = { "" },
	                 subject = { "" };
	uint8_t inner[256], buf[512];
	size_t n;
	pb_istream_t is;

	cres.code = 0;
	cres.message = "transition healthy -> unhealthy is not in the diagram";
	cres.subject = "R1";
	cres.transition_not_allowed = true;
	cresp.code = 0;
	cresp.message = "ok";
	cresp.payload.len = hbmon__v1__report_result__pack(&cres, inner);
	cresp.payload.data = inner;
	n = hbmon__v1__rpc_response__pack(&cresp, buf);

	resp.message.funcs.decode = decode_text;
	resp.message.arg = &msg;
	resp.payload.funcs.decode = decode_text;
	resp.payload.arg = &payload;
	is = pb_istream_from_buffer(buf, n);
	cr_assert(pb_decode(&is, hbmon_v1_RpcResponse_fields, &resp));
	cr_assert_eq(resp.code, 0);
	cr_assert_str_eq(msg.text, "ok");

	res.message.funcs.decode = decode_text;
	res.message.arg = &rmsg;
	res.subject.funcs.decode = decode_text;
	res.subject.arg = &subject;
	is = pb_istream_from_buffer(inner, cresp.payload.len);
	cr_assert(pb_decode(&is, hbmon_v1_ReportResult_fields, &res));
	cr_assert_eq(res.transition_not_allowed, true);
	cr_assert_str_eq(subject.text, "R1");
	cr_assert_str_eq(
	    rmsg.text, "transition healthy -> unhealthy is not in the diagram");
}
