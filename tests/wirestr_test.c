/*
 * String fields checked on the wire (wirestr.h), and where the envelope
 * and dispatch use the check: NUL and invalid UTF-8, which protobuf-c
 * 1.4.1 unpacks without a word, are refused with the field's path.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/dispatch.h"
#include "common/envelope.h"
#include "common/rpc_status.h"
#include "common/wirestr.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "support/wire.h"

/* AccountHeartbeat: event 1, account 2, status 3, session_valid 4,
 * open_orders 5, timestamp 6; HeartbeatBatch: robot 1, accounts 2. */
static void
account(struct wire *w, const void *name, size_t len)
{
	wire_str(w, 1, "ACCOUNT_HEARTBEAT");
	wire_bytes(w, 2, name, len);
	wire_varint(w, 3, 1);
	wire_varint(w, 4, 1);
	wire_str(w, 6, "2026-01-20T09:30:00+07:00");
}

static int
check_batch(const struct wire *b, char *why, size_t why_len)
{
	return wirestr_check(&hbmon__v1__heartbeat_batch__descriptor, b->data,
	                     b->len, why, why_len);
}

Test(wirestr, well_formed_strings_pass, .timeout = 10)
{
	struct wire a = { 0 }, b = { 0 };
	char why[256] = "";

	account(&a, "ACC_\xc3\xa9", 6);
	wire_bytes(&b, 2, a.data, a.len);
	wire_bytes(&b, 2, a.data, a.len);
	cr_assert_eq(check_batch(&b, why, sizeof(why)), HBMON_OK, "%s", why);
	cr_assert_eq(wirestr_check(&hbmon__v1__heartbeat_batch__descriptor,
	                           NULL, 0, NULL, 0),
	             HBMON_OK);
	wire_free(&a);
	wire_free(&b);
}

/* "NUL_A\0B" would update account NUL_A; the path says which item. */
Test(wirestr, nul_in_a_nested_string_is_refused_by_path, .timeout = 10)
{
	struct wire ok = { 0 }, bad = { 0 }, b = { 0 };
	char why[256] = "";

	account(&ok, "NUL_A", 5);
	account(&bad, "NUL_A\0B", 7);
	wire_bytes(&b, 2, ok.data, ok.len);
	wire_bytes(&b, 2, bad.data, bad.len);
	cr_assert_eq(check_batch(&b, why, sizeof(why)), HBMON_EINVAL);
	cr_assert_str_eq(why, "accounts[1].account 'NUL_A\\x00B' holds a NUL "
	                      "byte (byte 5); hbmon strings may not contain "
	                      "NUL");
	wire_free(&ok);
	wire_free(&bad);
	wire_free(&b);
}

Test(wirestr, invalid_utf8_is_refused_with_the_byte, .timeout = 10)
{
	struct wire r = { 0 }, b = { 0 };
	char why[256] = "";

	/* RobotHeartbeat: event 1, status 2, ..., timestamp 5 */
	wire_str(&r, 1, "ROBOT_HEARTBEAT");
	wire_varint(&r, 2, 1);
	wire_bytes(&r, 5, "2026-01-20T09:30:00\xc3", 20);
	wire_bytes(&b, 1, r.data, r.len);
	cr_assert_eq(check_batch(&b, why, sizeof(why)), HBMON_EINVAL);
	cr_assert_str_eq(why, "robot.timestamp '2026-01-20T09:30:00\\xc3' is "
	                      "not valid UTF-8 (byte 19 is 0xc3); proto3 "
	                      "strings must be UTF-8");
	wire_free(&r);
	wire_free(&b);
}

Test(wirestr, unknown_fields_and_other_types_are_skipped, .timeout = 10)
{
	struct wire w = { 0 };

	/* AckRequest: seq 1 (varint), by 2 (string); field 9 unknown, its
	 * bytes no string; a fixed64 and a fixed32 unknown field too. */
	wire_varint(&w, 1, 42);
	wire_bytes(&w, 9, "\0\xff", 2);
	wire_raw(&w,
	         "\x51"
	         "12345678",
	         9); /* field 10, 64-bit */
	wire_raw(&w,
	         "\x5d"
	         "1234",
	         5); /* field 11, 32-bit */
	wire_str(&w, 2, "owner");
	cr_assert_eq(wirestr_check(&hbmon__v1__ack_request__descriptor, w.data,
	                           w.len, NULL, 0),
	             HBMON_OK);
	wire_bytes(&w, 2, "ow\0ner", 6);
	cr_assert_eq(wirestr_check(&hbmon__v1__ack_request__descriptor, w.data,
	                           w.len, NULL, 0),
	             HBMON_EINVAL);
	wire_free(&w);
}

Test(wirestr, malformed_bytes_are_eproto, .timeout = 10)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "\x12\x05"
		  "ab",
		  4 },         /* length past the end */
		{ "\x12", 1 }, /* no length */
		{ "\x08", 1 }, /* no varint */
		{ "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12 },
		{ "\x0b", 1 }, /* a group */
		{ "\x0f", 1 }, /* wire type 7 */
		{ "\x00", 1 }, /* field 0 */
		{ "\x09"
		  "1234",
		  5 }, /* 64-bit, cut */
		{ "\x0d"
		  "12",
		  3 }, /* 32-bit, cut */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[128] = "";
		cr_assert_eq(wirestr_check(&hbmon__v1__ack_request__descriptor,
		                           (const uint8_t *) cases[i].bytes,
		                           cases[i].len, why, sizeof(why)),
		             HBMON_EPROTO, "case %zu", i);
		cr_assert(strstr(why, "does not decode") != NULL, "%s", why);
	}
}

/* ---- the envelope: method and robot_id ---- */

static int
unpack(const struct wire_request *r, char *why, size_t why_len)
{
	struct wire w = { 0 };
	Hbmon__V1__RpcRequest *req = NULL;
	int rv;

	wire_request(&w, r);
	rv = env_request_unpack(w.data, w.len, &req, why, why_len);
	if (rv == HBMON_OK) {
		hbmon__v1__rpc_request__free_unpacked(req, NULL);
	}
	wire_free(&w);
	return rv;
}

#define M_ROBOT "/hbmon.v1.Monitor/ReportRobot"

Test(envelope_names, nul_in_method_or_robot_id_is_refused, .timeout = 10)
{
	struct wire_request r = { 0 };
	char why[512] = "";

	r.method = M_ROBOT "\0junk";
	r.method_len = sizeof(M_ROBOT "\0junk") - 1;
	r.robot = "R1";
	r.robot_len = 2;
	r.seq = 1;
	r.secret = "hbs_x";
	cr_assert_eq(unpack(&r, why, sizeof(why)), HBMON_EINVAL);
	cr_assert_str_eq(why, "method '/hbmon.v1.Monitor/ReportRobot\\x00junk' "
	                      "holds a NUL byte (byte 29); hbmon strings may "
	                      "not contain NUL");
	r.method = M_ROBOT;
	r.method_len = strlen(M_ROBOT);
	r.robot = "R1\0evil";
	r.robot_len = 7;
	cr_assert_eq(unpack(&r, why, sizeof(why)), HBMON_EINVAL);
	cr_assert_str_eq(why, "robot_id 'R1\\x00evil' holds a NUL byte (byte "
	                      "2); hbmon strings may not contain NUL");
	r.robot = "R1\xff";
	r.robot_len = 3;
	cr_assert_eq(unpack(&r, why, sizeof(why)), HBMON_EINVAL);
	cr_assert(strstr(why, "robot_id 'R1\\xff' is not valid UTF-8") != NULL,
	          "%s", why);
}

Test(envelope_names, controls_in_method_or_robot_id_are_refused, .timeout = 10)
{
	struct wire_request r = { 0 };
	char why[512] = "";

	r.method = M_ROBOT "\x1b[2J";
	r.method_len = strlen(r.method);
	r.robot = "R1";
	r.robot_len = 2;
	cr_assert_eq(unpack(&r, why, sizeof(why)), HBMON_EINVAL);
	cr_assert_str_eq(why, "method '/hbmon.v1.Monitor/ReportRobot\\x1b[2J' "
	                      "holds U+001B (byte 29), a control, "
	                      "bidirectional or invisible character; a method "
	                      "is a gRPC path such as "
	                      "/hbmon.v1.Monitor/ReportRobot");
	r.method = M_ROBOT;
	r.method_len = strlen(M_ROBOT);
	r.robot = "R\xe2\x80\xae"
	          "1";
	r.robot_len = strlen(r.robot);
	cr_assert_eq(unpack(&r, why, sizeof(why)), HBMON_EINVAL);
	cr_assert(strstr(why, "robot_id 'R\\u202e1' holds U+202E (byte 1)") !=
	              NULL,
	          "%s", why);
	r.robot = "R1";
	r.robot_len = 2;
	cr_assert_eq(unpack(&r, why, sizeof(why)), HBMON_OK, "%s", why);
}

/* ---- dispatch: the payload's strings ---- */

static void
handler(Hbmon__V1__Monitor_Service *svc, const Hbmon__V1__HeartbeatBatch *in,
        Hbmon__V1__BatchReply_Closure closure, void *data)
{
	(void) svc;
	(void) in;
	closure(NULL, data);
	cr_assert_fail("a payload with a NUL string reached the handler");
}

static int done_calls;

static void
done(const ProtobufCMessage *out, void *data)
{
	(void) out;
	(void) data;
	done_calls++;
}

Test(dispatch_strings, nul_in_the_payload_never_reaches_a_handler,
     .timeout = 10)
{
	Hbmon__V1__Monitor_Service svc;
	Hbmon__V1__RpcRequest req = HBMON__V1__RPC_REQUEST__INIT;
	struct wire a = { 0 }, b = { 0 };
	struct rpc_call call;

	hbmon__v1__monitor__init(&svc, NULL);
	svc.report_batch = handler;
	account(&a, "NUL_A\0B", 7);
	wire_bytes(&b, 2, a.data, a.len);
	req.method = "/hbmon.v1.Monitor/ReportBatch";
	req.payload.data = b.data;
	req.payload.len = b.len;
	rpc_call_init(&call, &req, NULL);
	rpc_dispatch(&svc.base, &call, done);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(call.code, RPC_INVALID_ARGUMENT);
	cr_assert_str_eq(call.message,
	                 "payload field accounts[0].account 'NUL_A\\x00B' "
	                 "holds a NUL byte (byte 5); hbmon strings may not "
	                 "contain NUL");
	rpc_call_release(&call);
	wire_free(&a);
	wire_free(&b);
}

Test(dispatch_strings, unknown_methods_are_quoted, .timeout = 10)
{
	Hbmon__V1__Monitor_Service svc;
	Hbmon__V1__RpcRequest req = HBMON__V1__RPC_REQUEST__INIT;
	struct rpc_call call;

	hbmon__v1__monitor__init(&svc, NULL);
	req.method = "/hbmon.v1.Monitor/\xc3\xa9t\xc3";
	rpc_call_init(&call, &req, NULL);
	rpc_dispatch(&svc.base, &call, done);
	cr_assert_eq(call.code, RPC_UNIMPLEMENTED);
	cr_assert_str_eq(call.message,
	                 "method '/hbmon.v1.Monitor/\xc3\xa9t\\xc3' is not "
	                 "served here; this socket serves /hbmon.v1.Monitor/*");
}
