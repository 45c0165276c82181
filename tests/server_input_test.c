/*
 * What a request may contain (issue 11, docs/protocol.md "Names"), end to
 * end against the real hbmon-server: NUL, invalid UTF-8 and control
 * characters in methods, robot ids, account names and admin arguments are
 * refused with INVALID_ARGUMENT and a sentence that quotes them, nothing
 * is recorded or aliased, extreme integers are answered sensibly (the
 * ASan+UBSan build aborts on any overflow), and every reply, including
 * those quoting multi-byte characters cut to fit, is parsed by Google
 * protobuf's strict proto3 parser.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/rpc_status.h"
#include "common/utf8.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "support/wire.h"

#define SECRET    "hbs_secret-of-R1"
#define M_ROBOT   "/hbmon.v1.Monitor/ReportRobot"
#define M_ACCOUNT "/hbmon.v1.Monitor/ReportAccount"
#define M_BATCH   "/hbmon.v1.Monitor/ReportBatch"
#define TS        "2026-01-20T09:30:00+07:00"

static struct harness_server srv;
static struct rpc_client *robots; /* the robot socket, unsigned client */
static struct harness_strict strict;
static uint64_t last_seq;

static void
start(void)
{
	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, NULL), "server did not start");
	robots = harness_client(srv.listen, NULL, NULL);
	memset(&strict, 0, sizeof(strict));
}

static void
stop(void)
{
	rpc_client_close(robots);
	free(strict.lines);
	harness_server_fini(&srv);
}

/* Above every seq sent so far, as a robot's clock-based seq would be. */
static uint64_t
next_seq(void)
{
	uint64_t now = (uint64_t) clock_wall_us();
	last_seq = now > last_seq ? now : last_seq + 1;
	return last_seq;
}

/* ---- payloads, by hand (heartbeat.proto's field numbers) ---- */

static void
robot_payload(struct wire *w, const char *event, const char *ts)
{
	wire_str(w, 1, event);
	wire_varint(w, 2, 1); /* healthy */
	wire_varint(w, 3, 1);
	wire_str(w, 5, ts);
}

static void
account_payload(struct wire *w, const void *name, size_t name_len, int status,
                bool session_valid)
{
	wire_str(w, 1, "ACCOUNT_HEARTBEAT");
	wire_bytes(w, 2, name, name_len);
	wire_varint(w, 3, (uint64_t) status);
	wire_varint(w, 4, session_valid);
	wire_str(w, 6, TS);
}

/* A batch of the named accounts (all active), no robot heartbeat. */
static void
batch_payload(struct wire *w, const char *const *names, const size_t *lens,
              size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct wire a = { 0 };
		account_payload(&a, names[i], lens[i], 2, true);
		wire_bytes(w, 2, a.data, a.len);
		wire_free(&a);
	}
}

/*
 * Sends a request signed by R1 (over the method and robot id as a C peer
 * that stops at a NUL would sign them) and returns the reply, kept for the
 * strict parser. Fields left 0 in r get defaults: seq, sent_at_ms now.
 */
static Hbmon__V1__RpcResponse *
send_signed(struct wire_request r, const struct wire *payload,
            const char *output_type)
{
	struct wire w = { 0 };
	Hbmon__V1__RpcResponse *resp;

	if (r.robot == NULL) {
		r.robot = "R1";
		r.robot_len = 2;
	}
	if (r.method_len == 0 && r.method != NULL) {
		r.method_len = strlen(r.method);
	}
	if (r.seq == 0) {
		r.seq = next_seq();
	}
	if (r.sent_at_ms == 0) {
		r.sent_at_ms = clock_wall_ms();
	}
	r.secret = SECRET;
	if (payload != NULL) {
		r.payload = payload->data;
		r.payload_len = payload->len;
	}
	wire_request(&w, &r);
	resp = harness_raw_call(robots, w.data, w.len, &strict, output_type);
	wire_free(&w);
	return resp;
}

static void
expect(Hbmon__V1__RpcResponse *resp, int code, const char *message)
{
	cr_assert_eq(resp->code, code, "code %d (%s): %s", resp->code,
	             rpc_code_name(resp->code), resp->message);
	cr_assert(utf8_valid(resp->message, strlen(resp->message), NULL));
	if (message != NULL) {
		cr_assert_str_eq(resp->message, message);
	}
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
}

static void
expect_has(Hbmon__V1__RpcResponse *resp, int code, const char *part)
{
	cr_assert_eq(resp->code, code, "code %d (%s): %s", resp->code,
	             rpc_code_name(resp->code), resp->message);
	cr_assert(strstr(resp->message, part) != NULL, "'%s' lacks '%s'",
	          resp->message, part);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
}

/* A plain robot heartbeat is still recorded: the server is unharmed. */
static void
assert_serving(void)
{
	struct wire p = { 0 };
	int64_t before = harness_heartbeats(&srv, "R1", "");

	robot_payload(&p, "ROBOT_HEARTBEAT", TS);
	expect(send_signed((struct wire_request){ .method = M_ROBOT }, &p,
	                   "ReportResult"),
	       RPC_OK, NULL);
	wire_free(&p);
	cr_assert_eq(harness_heartbeats(&srv, "R1", ""), before + 1);
}

/*
 * The server's log holds nothing a peer sent raw: printable ASCII and
 * line ends only. want: an escape that must be in it (NULL: none).
 */
static void
assert_log_inert(const char *want)
{
	char *log = harness_server_log(&srv);

	for (size_t i = 0; log[i] != '\0'; i++) {
		unsigned char c = (unsigned char) log[i];
		cr_assert(c == '\n' || (c >= 0x20 && c < 0x7f),
		          "raw byte 0x%02x in the log at %zu: %.80s", c, i,
		          log + (i > 40 ? i - 40 : 0));
	}
	if (want != NULL) {
		cr_assert(strstr(log, want) != NULL, "'%s' not in the log",
		          want);
	}
	free(log);
}

/* ---- NUL ---- */

/* "/hbmon.v1.Monitor/ReportRobot\0junk", signed over the part before the
 * NUL, was dispatched as ReportRobot. */
Test(input, method_with_a_nul_is_refused_not_dispatched, .init = start,
     .fini = stop, .timeout = 60)
{
	static const char method[] = M_ROBOT "\0junk";
	struct wire p = { 0 };
	uint64_t seq = next_seq();

	robot_payload(&p, "ROBOT_HEARTBEAT", TS);
	expect(
	    send_signed((struct wire_request){ .method = method,
	                                       .method_len = sizeof(method) - 1,
	                                       .seq = seq },
	                &p, "-"),
	    RPC_INVALID_ARGUMENT,
	    "method '/hbmon.v1.Monitor/ReportRobot\\x00junk' holds a NUL "
	    "byte (byte 29); hbmon strings may not contain NUL");
	cr_assert_eq(harness_heartbeats(&srv, "R1", ""), 0);
	/* Refused before admission: not even its seq was taken. */
	expect(
	    send_signed((struct wire_request){ .method = M_ROBOT, .seq = seq },
	                &p, "ReportResult"),
	    RPC_OK, NULL);
	cr_assert_eq(harness_heartbeats(&srv, "R1", ""), 1);
	wire_free(&p);
	harness_strict_check(&strict);
}

/* robot_id "R1\0evil" was read as R1. */
Test(input, robot_id_with_a_nul_is_refused, .init = start, .fini = stop,
     .timeout = 60)
{
	struct wire p = { 0 };

	robot_payload(&p, "ROBOT_HEARTBEAT", TS);
	expect(send_signed((struct wire_request){ .method = M_ROBOT,
	                                          .robot = "R1\0evil",
	                                          .robot_len = 7 },
	                   &p, "-"),
	       RPC_INVALID_ARGUMENT,
	       "robot_id 'R1\\x00evil' holds a NUL byte (byte 2); hbmon "
	       "strings may not contain NUL");
	cr_assert_eq(harness_heartbeats(&srv, "R1", ""), 0);
	wire_free(&p);
	assert_serving();
	harness_strict_check(&strict);
}

/* Account "NUL_A\0B" updated account NUL_A. */
Test(input, account_with_a_nul_does_not_update_its_prefix, .init = start,
     .fini = stop, .timeout = 60)
{
	static const char *const good[] = { "NUL_A" };
	static const size_t good_len[] = { 5 };
	static const char *const bad[] = { "NUL_A\0B" };
	static const size_t bad_len[] = { 7 };
	struct wire b = { 0 }, a = { 0 };

	batch_payload(&b, good, good_len, 1);
	expect(send_signed((struct wire_request){ .method = M_BATCH }, &b,
	                   "BatchReply"),
	       RPC_OK, NULL);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "NUL_A"), 1);
	wire_free(&b);

	batch_payload(&b, bad, bad_len, 1);
	expect(send_signed((struct wire_request){ .method = M_BATCH }, &b, "-"),
	       RPC_INVALID_ARGUMENT,
	       "payload field accounts[0].account 'NUL_A\\x00B' holds a NUL "
	       "byte (byte 5); hbmon strings may not contain NUL");
	/* The single-heartbeat method too: expired, so it would show. */
	account_payload(&a, "NUL_A\0B", 7, 3, false);
	expect(
	    send_signed((struct wire_request){ .method = M_ACCOUNT }, &a, "-"),
	    RPC_INVALID_ARGUMENT,
	    "payload field account 'NUL_A\\x00B' holds a NUL byte (byte 5); "
	    "hbmon strings may not contain NUL");
	cr_assert_eq(harness_heartbeats(&srv, "R1", "NUL_A"), 1);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM subjects "
	                                     "WHERE account LIKE 'NUL_A%'"),
	             1);
	wire_free(&a);
	wire_free(&b);
	harness_strict_check(&strict);
}

/* ---- invalid UTF-8: Google protobuf refuses whole messages with it ---- */

Test(input, invalid_utf8_in_any_name_is_refused, .init = start, .fini = stop,
     .timeout = 60)
{
	static const char *const names[] = { "ACC_OK", "ACC_\xc3\x28" };
	static const size_t lens[] = { 6, 6 };
	struct wire p = { 0 }, b = { 0 };

	robot_payload(&p, "ROBOT_HEARTBEAT", TS);
	expect(send_signed((struct wire_request){ .method = M_ROBOT,
	                                          .robot = "R1\xff\xfe",
	                                          .robot_len = 4 },
	                   &p, "-"),
	       RPC_INVALID_ARGUMENT,
	       "robot_id 'R1\\xff\\xfe' is not valid UTF-8 (byte 2 is 0xff); "
	       "proto3 strings must be UTF-8");
	expect(
	    send_signed((struct wire_request){ .method = "/hbmon.v1.Monitor/Rep"
	                                                 "ort\xc3" },
	                &p, "-"),
	    RPC_INVALID_ARGUMENT,
	    "method '/hbmon.v1.Monitor/Report\\xc3' is not valid UTF-8 "
	    "(byte 24 is 0xc3); proto3 strings must be UTF-8");
	/* In a payload the whole request goes: it is not proto3. */
	batch_payload(&b, names, lens, 2);
	expect(send_signed((struct wire_request){ .method = M_BATCH }, &b, "-"),
	       RPC_INVALID_ARGUMENT,
	       "payload field accounts[1].account 'ACC_\\xc3(' is not valid "
	       "UTF-8 (byte 4 is 0xc3); proto3 strings must be UTF-8");
	wire_free(&b);
	wire_free(&p);
	p = (struct wire){ 0 };
	robot_payload(&p, "ROBOT_HEARTBEAT", "2026-01-20T09:30:00+07:00\xff");
	expect(
	    send_signed((struct wire_request){ .method = M_ROBOT }, &p, "-"),
	    RPC_INVALID_ARGUMENT,
	    "payload field timestamp '2026-01-20T09:30:00+07:00\\xff' is not "
	    "valid UTF-8 (byte 25 is 0xff); proto3 strings must be UTF-8");
	wire_free(&p);
	cr_assert_eq(harness_count(&srv, "heartbeats"), 0);
	assert_serving();
	harness_strict_check(&strict);
}

/* ---- control characters ---- */

Test(input, controls_in_a_robot_id_or_method_are_refused, .init = start,
     .fini = stop, .timeout = 60)
{
	struct wire p = { 0 };

	robot_payload(&p, "ROBOT_HEARTBEAT", TS);
	expect(send_signed((struct wire_request){ .method = M_ROBOT,
	                                          .robot = "R1\x1b[2J",
	                                          .robot_len = 6 },
	                   &p, "-"),
	       RPC_INVALID_ARGUMENT,
	       "robot_id 'R1\\x1b[2J' holds U+001B (byte 2), a control, "
	       "bidirectional or invisible character; a robot id is letters, "
	       "digits, '.', '_' and '-'");
	expect(
	    send_signed((struct wire_request){ .method = M_ROBOT "\r\n" }, &p,
	                "-"),
	    RPC_INVALID_ARGUMENT,
	    "method '/hbmon.v1.Monitor/ReportRobot\\r\\n' holds U+000D (byte "
	    "29), a control, bidirectional or invisible character; a "
	    "method is a gRPC path such as /hbmon.v1.Monitor/ReportRobot");
	expect(send_signed((struct wire_request){ .method = M_ROBOT,
	                                          .robot = "R\xe2\x80\xae"
	                                                   "1",
	                                          .robot_len = 5 },
	                   &p, "-"),
	       RPC_INVALID_ARGUMENT,
	       "robot_id 'R\\u202e1' holds U+202E (byte 1), a control, "
	       "bidirectional or invisible character; a robot id is letters, "
	       "digits, '.', '_' and '-'");
	wire_free(&p);
	cr_assert_eq(harness_count(&srv, "heartbeats"), 0);
	harness_strict_check(&strict);
	assert_log_inert(NULL);
}

/* The account name of issue 11 that cleared the owner's screen and drew a
 * fake "ok" row: refused for itself, and its neighbours recorded. */
Test(input, an_account_name_with_controls_is_refused_item_by_item,
     .init = start, .fini = stop, .timeout = 60)
{
	static const char *const names[] = { "\x1b[2J\rok\nFAKE", "ACC_1" };
	static const size_t lens[] = { 12, 5 };
	struct wire b = { 0 };
	Hbmon__V1__RpcResponse *resp;
	Hbmon__V1__BatchReply *reply;

	batch_payload(&b, names, lens, 2);
	resp = send_signed((struct wire_request){ .method = M_BATCH }, &b,
	                   "BatchReply");
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	reply = hbmon__v1__batch_reply__unpack(NULL, resp->payload.len,
	                                       resp->payload.data);
	cr_assert_not_null(reply);
	cr_assert_eq(reply->n_accounts, 2);
	cr_assert_eq(reply->accounts[0]->code, RPC_INVALID_ARGUMENT);
	cr_assert_str_eq(reply->accounts[0]->subject,
	                 "R1/\\x1b[2J\\rok\\nFAKE");
	cr_assert_str_eq(
	    reply->accounts[0]->message,
	    "account name '\\x1b[2J\\rok\\nFAKE' holds U+001B (byte "
	    "0), a control, bidirectional or invisible character; "
	    "name accounts with printable characters");
	cr_assert_eq(reply->accounts[1]->code, RPC_OK);
	cr_assert_str_eq(reply->accounts[1]->subject, "R1/ACC_1");
	hbmon__v1__batch_reply__free_unpacked(reply, NULL);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	wire_free(&b);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "ACC_1"), 1);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM subjects "
	                                     "WHERE account LIKE '%FAKE%'"),
	             0);
	harness_strict_check(&strict);
}

/* ---- multi-byte characters where a quoted name is cut ---- */

/* Builds prefix 'x' bytes, then copies of ch until at least len bytes. */
static size_t
ugly(char *buf, size_t prefix, const char *ch, size_t len)
{
	size_t n = 0, c = strlen(ch);

	memset(buf, 'x', prefix);
	n = prefix;
	while (n < len) {
		memcpy(buf + n, ch, c);
		n += c;
	}
	buf[n] = '\0';
	return n;
}

/* `'%.64s'` cut é, € and 📈 in half and Google protobuf refused the whole
 * reply: every alignment of every width, in every sentence that quotes
 * a peer's text, is parsed strictly here. */
Test(input, quoted_multibyte_text_is_never_cut_inside_a_character,
     .init = start, .fini = stop, .timeout = 120)
{
	static const char *const chars[] = { "\xc3\xa9", "\xe2\x82\xac",
		                             "\xf0\x9f\x93\x88" };
	char text[512], method[600];
	size_t sent = 0;

	for (size_t c = 0; c < 3; c++) {
		for (size_t prefix = 0; prefix < 4; prefix++) {
			struct wire p = { 0 }, b = { 0 }, a = { 0 };
			size_t n = ugly(text, prefix, chars[c], 300);

			/* A robot id: refused before admission. */
			robot_payload(&p, "ROBOT_HEARTBEAT", TS);
			expect_has(send_signed(
			               (struct wire_request){ .method = M_ROBOT,
			                                      .robot = text,
			                                      .robot_len = n },
			               &p, "-"),
			           RPC_INVALID_ARGUMENT, "is not a robot id");
			/* A method: admitted, then not served. */
			snprintf(method, sizeof(method), "/hbmon.v1.Monitor/%s",
			         text);
			expect_has(
			    send_signed(
			        (struct wire_request){ .method = method }, &p,
			        "-"),
			    RPC_UNIMPLEMENTED, "is not served here");
			wire_free(&p);
			/* An event and a timestamp: refused item by item. */
			robot_payload(&p, text, TS);
			expect_has(
			    send_signed(
			        (struct wire_request){ .method = M_ROBOT }, &p,
			        "-"),
			    RPC_INVALID_ARGUMENT, "is not \"ROBOT_HEARTBEAT\"");
			wire_free(&p);
			robot_payload(&p, "ROBOT_HEARTBEAT", text);
			wire_bytes(&b, 1, p.data, p.len);
			account_payload(&a, text, n, 2, true);
			wire_bytes(&b, 2, a.data, a.len);
			expect(send_signed(
			           (struct wire_request){ .method = M_BATCH },
			           &b, "BatchReply"),
			       RPC_OK, NULL);
			wire_free(&p);
			wire_free(&a);
			wire_free(&b);
			sent += 4;
		}
	}
	cr_assert_eq(strict.n, sent);
	cr_assert_eq(harness_count(&srv, "heartbeats"), 0);
	harness_strict_check(&strict);
	/* The refused robot ids were logged, escaped: the first at once, the
	 * rest counted in the period's summary (refusal.h). */
	assert_log_inert("robot=\"\\u00e9\\u00e9");
}

/* ---- integers at their limits ---- */

/* sent_at_ms = INT64_MIN overflowed `skew = sent_at_ms - now_ms` and the
 * UBSan build aborted the server. */
Test(input, extreme_sent_at_ms_is_outside_the_window, .init = start,
     .fini = stop, .timeout = 60)
{
	static const int64_t values[] = { INT64_MIN, INT64_MIN + 1, -1,
		                          INT64_MAX, INT64_MAX - 1 };
	struct wire p = { 0 };

	robot_payload(&p, "ROBOT_HEARTBEAT", TS);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		expect_has(send_signed(
		               (struct wire_request){ .method = M_ROBOT,
		                                      .sent_at_ms = values[i] },
		               &p, "-"),
		           RPC_UNAUTHENTICATED,
		           values[i] < 0
		               ? "s behind the server's clock (allowed: "
		                 "300 s)"
		               : "s ahead of the server's clock "
		                 "(allowed: 300 s)");
	}
	wire_free(&p);
	cr_assert_eq(harness_count(&srv, "heartbeats"), 0);
	assert_serving();
	harness_strict_check(&strict);
}

Test(input, extreme_seq_timeout_and_counts_are_answered, .init = start,
     .fini = stop, .timeout = 60)
{
	struct wire p = { 0 }, a = { 0 }, b = { 0 };
	struct wire w = { 0 };

	/* seq 0 (absent on the wire) is never above the floor. */
	robot_payload(&p, "ROBOT_HEARTBEAT", TS);
	wire_request(&w, &(struct wire_request){ .method = M_ROBOT,
	                                         .method_len = strlen(M_ROBOT),
	                                         .robot = "R1",
	                                         .robot_len = 2,
	                                         .seq = 0,
	                                         .sent_at_ms = clock_wall_ms(),
	                                         .payload = p.data,
	                                         .payload_len = p.len,
	                                         .secret = SECRET });
	expect_has(harness_raw_call(robots, w.data, w.len, &strict, "-"),
	           RPC_UNAUTHENTICATED, "seq 0 is not above");
	wire_free(&w);
	wire_free(&p);
	/* A robot that waits forever, with every count at its maximum. */
	wire_str(&p, 1, "ROBOT_HEARTBEAT");
	wire_varint(&p, 2, 1);
	wire_varint(&p, 3, UINT32_MAX);
	wire_varint(&p, 4, UINT32_MAX);
	wire_str(&p, 5, TS);
	wire_bytes(&b, 1, p.data, p.len);
	wire_str(&a, 1, "ACCOUNT_HEARTBEAT");
	wire_str(&a, 2, "ACC_MAX");
	wire_varint(&a, 3, 2);
	wire_varint(&a, 4, 1);
	wire_varint(&a, 5, UINT32_MAX);
	wire_str(&a, 6, TS);
	wire_bytes(&b, 2, a.data, a.len);
	expect(send_signed((struct wire_request){ .method = M_BATCH,
	                                          .timeout_ms = UINT32_MAX },
	                   &b, "BatchReply"),
	       RPC_OK, NULL);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "ACC_MAX"), 1);
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT open_orders FROM subjects "
	                               "WHERE account = 'ACC_MAX'",
	                               UINT32_MAX),
	             UINT32_MAX);
	wire_free(&p);
	wire_free(&a);
	wire_free(&b);
	assert_serving();
	harness_strict_check(&strict);
}

/* ---- the admin socket: the owner's arguments are strings too ---- */

/* An unsigned request on the admin ipc socket (its mode is the proof). */
static Hbmon__V1__RpcResponse *
admin_call(struct rpc_client *admin, const char *method, const struct wire *p,
           const char *output_type)
{
	struct wire w = { 0 };
	char path[128];
	Hbmon__V1__RpcResponse *resp;

	snprintf(path, sizeof(path), "/hbmon.v1.Admin/%s", method);
	wire_request(&w, &(struct wire_request){ .method = path,
	                                         .method_len = strlen(path),
	                                         .robot = "",
	                                         .payload = p->data,
	                                         .payload_len = p->len });
	resp = harness_raw_call(admin, w.data, w.len, &strict, output_type);
	wire_free(&w);
	return resp;
}

Test(input, admin_arguments_with_nul_or_bad_utf8_are_refused, .init = start,
     .fini = stop, .timeout = 60)
{
	struct rpc_client *admin = harness_admin(&srv);
	struct wire p = { 0 };
	char text[512];

	/* RobotAdd "NUL_A\0B" would register NUL_A. */
	wire_bytes(&p, 1, "NUL_A\0B", 7);
	expect(admin_call(admin, "RobotAdd", &p, "-"), RPC_INVALID_ARGUMENT,
	       "payload field robot 'NUL_A\\x00B' holds a NUL byte (byte 5); "
	       "hbmon strings may not contain NUL");
	cr_assert_eq(harness_count(&srv, "robots"), 1);
	wire_free(&p);
	/* Pause "R1\0x" would pause R1. */
	wire_bytes(&p, 1, "R1\0x", 4);
	wire_varint(&p, 2, (uint64_t) (clock_wall_ms() + 3600000));
	expect(admin_call(admin, "Pause", &p, "-"), RPC_INVALID_ARGUMENT,
	       "payload field subject 'R1\\x00x' holds a NUL byte (byte 2); "
	       "hbmon strings may not contain NUL");
	wire_free(&p);
	wire_str(&p, 1, "R1");
	wire_varint(&p, 2, (uint64_t) (clock_wall_ms() + 3600000));
	wire_bytes(&p, 3, "maintenance \xe2\x82", 14);
	expect(admin_call(admin, "Pause", &p, "-"), RPC_INVALID_ARGUMENT,
	       "payload field reason 'maintenance \\xe2\\x82' is not valid "
	       "UTF-8 (byte 12 is 0xe2); proto3 strings must be UTF-8");
	wire_free(&p);
	/* Not found, quoting a long multi-byte subject, cut to fit. */
	ugly(text, 1, "\xe2\x82\xac", 200);
	wire_str(&p, 1, text);
	expect_has(admin_call(admin, "Subject", &p, "-"), RPC_INVALID_ARGUMENT,
	           "is not a subject");
	wire_free(&p);
	snprintf(text, sizeof(text), "R1/");
	ugly(text + 3, 2, "\xf0\x9f\x93\x88", 60);
	wire_str(&p, 1, text);
	expect_has(admin_call(admin, "Subject", &p, "-"), RPC_NOT_FOUND,
	           "has reported");
	wire_free(&p);
	rpc_client_close(admin);
	harness_strict_check(&strict);
}

Test(input, admin_integers_at_their_limits, .init = start, .fini = stop,
     .timeout = 60)
{
	struct rpc_client *admin = harness_admin(&srv);
	struct wire p = { 0 };
	Hbmon__V1__RpcResponse *resp;
	Hbmon__V1__AlertsAfterReply *page;

	/* healthy -> unhealthy: an alert in the outbox. */
	assert_serving();
	wire_str(&p, 1, "ROBOT_HEARTBEAT");
	wire_varint(&p, 2, 3);
	wire_str(&p, 5, TS);
	expect(send_signed((struct wire_request){ .method = M_ROBOT }, &p,
	                   "ReportResult"),
	       RPC_OK, NULL);
	wire_free(&p);
	cr_assert_neq(harness_wait_alert(
	                  admin,
	                  HBMON__V1__ALERT_KIND__ALERT_KIND_INVALID_TRANSITION,
	                  "R1", "", 5000),
	              0);
	/* after_seq above INT64_MAX was a negative SQLite INTEGER: the whole
	 * outbox came back. Nothing is after it. */
	wire_varint(&p, 1, UINT64_MAX);
	resp = admin_call(admin, "AlertsAfter", &p, "AlertsAfterReply");
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	page = hbmon__v1__alerts_after_reply__unpack(NULL, resp->payload.len,
	                                             resp->payload.data);
	cr_assert_not_null(page);
	cr_assert_eq(page->n_alerts, 0);
	hbmon__v1__alerts_after_reply__free_unpacked(page, NULL);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	wire_free(&p);
	/* A pause until the end of int64 time, and history over all of it. */
	wire_str(&p, 1, "R1");
	wire_varint(&p, 2, (uint64_t) INT64_MAX);
	expect(admin_call(admin, "Pause", &p, "PauseReply"), RPC_OK, NULL);
	wire_free(&p);
	wire_str(&p, 1, "R1");
	wire_varint(&p, 2, (uint64_t) INT64_MIN);
	wire_varint(&p, 3, (uint64_t) INT64_MAX);
	wire_varint(&p, 4, UINT32_MAX);
	expect(admin_call(admin, "History", &p, "HistoryReply"), RPC_OK, NULL);
	wire_free(&p);
	/* Ack of seq 0 and of the last seq there could be. */
	wire_varint(&p, 1, 0);
	expect_has(admin_call(admin, "Ack", &p, "-"), RPC_NOT_FOUND,
	           "no alert with seq 0");
	wire_free(&p);
	wire_varint(&p, 1, UINT64_MAX);
	expect_has(admin_call(admin, "Ack", &p, "-"), RPC_NOT_FOUND,
	           "no alert with seq 18446744073709551615");
	wire_free(&p);
	/* Resume, and the robot is watched again: the engine's arithmetic
	 * on the pause's end did not overflow (UBSan would have aborted). */
	wire_str(&p, 1, "R1");
	expect(admin_call(admin, "Resume", &p, "ResumeReply"), RPC_OK, NULL);
	wire_free(&p);
	assert_serving();
	rpc_client_close(admin);
	harness_strict_check(&strict);
}
