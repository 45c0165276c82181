/*
 * Caps with clear errors (SPEC §3.5, issue 12): accounts per robot
 * (accounts_max), heartbeats per batch (accounts_max + 1, refused before
 * decoding), the size of a batch's reply, and the server's memory after
 * a huge refused batch.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"
#include "hbmon/v1/rpc.pb-c.h"

#define A(x)      HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x
#define SECRET    "hbs_caps-test-secret"
#define M_ACCOUNT "/hbmon.v1.Monitor/ReportAccount"
#define M_BATCH   "/hbmon.v1.Monitor/ReportBatch"

static struct harness_server srv;

static void
start(const char *accounts_max)
{
	const char *args[] = { "--accounts-max", accounts_max, NULL };

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(
	    harness_server_start(&srv, accounts_max != NULL ? args : NULL));
}

static void
teardown(void)
{
	harness_server_fini(&srv);
}

/*
 * A packed HeartbeatBatch of n account heartbeats named PREFIX<i>, all
 * valid (valid = true) or all with a bad timestamp. Caller frees.
 */
static uint8_t *
batch(const char *prefix, size_t n, bool valid, size_t *out_len)
{
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__AccountHeartbeat *acc = calloc(n, sizeof(*acc));
	Hbmon__V1__AccountHeartbeat **ptrs = calloc(n, sizeof(*ptrs));
	char(*names)[80] = calloc(n, sizeof(*names));
	char ts[RFC3339_MAX];
	uint8_t *out;

	cr_assert(acc != NULL && ptrs != NULL && names != NULL);
	rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
	for (size_t i = 0; i < n; i++) {
		hbmon__v1__account_heartbeat__init(&acc[i]);
		snprintf(names[i], sizeof(names[i]), "%s%zu", prefix, i);
		acc[i].event = "ACCOUNT_HEARTBEAT";
		acc[i].account = names[i];
		acc[i].status = A(IDLE);
		acc[i].session_valid = true;
		acc[i].timestamp = valid ? ts : "not a time";
		ptrs[i] = &acc[i];
	}
	b.accounts = ptrs;
	b.n_accounts = n;
	*out_len = hbmon__v1__heartbeat_batch__get_packed_size(&b);
	out = malloc(*out_len + 1);
	cr_assert_not_null(out);
	hbmon__v1__heartbeat_batch__pack(&b, out);
	free(names);
	free(ptrs);
	free(acc);
	return out;
}

/* Sends payload as method; returns the reply's envelope (caller frees). */
static Hbmon__V1__RpcResponse *
send_raw(const char *method, const uint8_t *payload, size_t len,
         size_t *out_reply_len)
{
	struct rpc_client *c = harness_client(srv.listen, NULL, NULL);
	uint64_t seq = (uint64_t) clock_wall_us();
	size_t req_len, reply_len = 0;
	uint8_t *req = harness_signed_request(
	    method, "R1", SECRET, seq, clock_wall_ms(), payload, len, &req_len);
	uint8_t *reply = NULL;
	Hbmon__V1__RpcResponse *resp;

	cr_assert_eq(rpc_client_call_raw(c, req, req_len, &reply, &reply_len),
	             HBMON_OK, "no reply to %zu bytes", req_len);
	resp = hbmon__v1__rpc_response__unpack(NULL, reply_len, reply);
	cr_assert_not_null(resp);
	if (out_reply_len != NULL) {
		*out_reply_len = reply_len;
	}
	free(reply);
	free(req);
	rpc_client_close(c);
	return resp;
}

Test(caps, accounts_max_refuses_new_accounts_and_keeps_known_ones,
     .fini = teardown, .timeout = 60)
{
	Hbmon__V1__RpcResponse *resp;
	Hbmon__V1__BatchReply *reply;
	uint8_t *payload;
	size_t len;
	int ok = 0, refused = 0;

	start("3");
	payload = batch("ACC_", 2, true, &len);
	resp = send_raw(M_BATCH, payload, len, NULL);
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(payload);

	/* ACC_0, ACC_1 are known, ACC_2 is the third; ACC_3 is one too many. */
	payload = batch("ACC_", 4, true, &len);
	resp = send_raw(M_BATCH, payload, len, NULL);
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	reply = hbmon__v1__batch_reply__unpack(NULL, resp->payload.len,
	                                       resp->payload.data);
	cr_assert_not_null(reply);
	cr_assert_eq(reply->n_accounts, 4);
	for (size_t i = 0; i < reply->n_accounts; i++) {
		const Hbmon__V1__ReportResult *r = reply->accounts[i];
		if (r->code == RPC_OK) {
			ok++;
			cr_assert_lt(i, 3);
		} else {
			refused++;
			cr_assert_eq(r->code, RPC_RESOURCE_EXHAUSTED);
			cr_assert(strstr(r->message, "accounts_max") != NULL,
			          "%s", r->message);
		}
	}
	cr_assert_eq(ok, 3);
	cr_assert_eq(refused, 1);
	hbmon__v1__batch_reply__free_unpacked(reply, NULL);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(payload);

	/* What was refused is recorded nowhere. */
	cr_assert_eq(harness_heartbeats(&srv, "R1", "ACC_1"), 2);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "ACC_2"), 1);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "ACC_3"), 0);
	cr_assert_eq(harness_await_int(&srv,
	                               "SELECT count(*) FROM subjects WHERE "
	                               "robot = 'R1' AND account != ''",
	                               3),
	             3);
	cr_assert_eq(harness_query_int(&srv, "SELECT sum(items) FROM requests"),
	             5);

	/* A single report of a new account gets the same clear error. */
	payload = batch("X", 1, true, &len);
	{
		Hbmon__V1__HeartbeatBatch *b =
		    hbmon__v1__heartbeat_batch__unpack(NULL, len, payload);
		uint8_t one[256];
		size_t n =
		    hbmon__v1__account_heartbeat__pack(b->accounts[0], one);
		resp = send_raw(M_ACCOUNT, one, n, NULL);
		cr_assert_eq(resp->code, RPC_RESOURCE_EXHAUSTED, "%s",
		             resp->message);
		cr_assert(strstr(resp->message, "accounts_max") != NULL, "%s",
		          resp->message);
		hbmon__v1__rpc_response__free_unpacked(resp, NULL);
		hbmon__v1__heartbeat_batch__free_unpacked(b, NULL);
	}
	free(payload);
	cr_assert_eq(harness_heartbeats(&srv, "R1", "X0"), 0);
}

Test(caps, a_batch_over_the_cap_is_refused_whole_with_a_small_reply,
     .fini = teardown, .timeout = 60)
{
	Hbmon__V1__RpcResponse *resp;
	uint8_t *payload;
	size_t len, reply_len;

	start("10");
	/* 11 = the robot and 10 accounts is the most; 12 accounts is not. */
	payload = batch("ACC_", 12, true, &len);
	resp = send_raw(M_BATCH, payload, len, &reply_len);
	cr_assert_eq(resp->code, RPC_INVALID_ARGUMENT, "%s", resp->message);
	cr_assert(strstr(resp->message, "more than 11 heartbeats") != NULL,
	          "%s", resp->message);
	cr_assert_lt(reply_len, 512);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(payload);
	cr_assert_eq(harness_query_int(&srv, "SELECT count(*) FROM requests"),
	             0);

	payload = batch("ACC_", 10, true, &len);
	resp = send_raw(M_BATCH, payload, len, NULL);
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(payload);
}

Test(caps, a_refused_batch_makes_no_reply_larger_than_itself, .fini = teardown,
     .timeout = 60)
{
	/* 1000 accounts with long names, every one refused (bad timestamp):
	 * every item has its code, and the sentences stop at a budget. */
	char prefix[61];
	Hbmon__V1__RpcResponse *resp;
	Hbmon__V1__BatchReply *reply;
	uint8_t *payload;
	size_t len, reply_len;

	memset(prefix, 'a', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	start("1000");
	payload = batch(prefix, 1000, false, &len);
	resp = send_raw(M_BATCH, payload, len, &reply_len);
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	reply = hbmon__v1__batch_reply__unpack(NULL, resp->payload.len,
	                                       resp->payload.data);
	cr_assert_eq(reply->n_accounts, 1000);
	for (size_t i = 0; i < reply->n_accounts; i++) {
		cr_assert_eq(reply->accounts[i]->code, RPC_INVALID_ARGUMENT);
	}
	cr_assert(strstr(reply->accounts[0]->message, "RFC 3339") != NULL, "%s",
	          reply->accounts[0]->message);
	cr_assert_lt(reply_len, len + 64 * 1024 + 4096,
	             "a %zu-byte batch made a %zu-byte reply", len, reply_len);
	hbmon__v1__batch_reply__free_unpacked(reply, NULL);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(payload);
}

/* The server's resident set size in KiB. */
static long
server_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) srv.pid);
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
		}
	}
	fclose(f);
	cr_assert_gt(kib, 0);
	return kib;
}

Test(caps, memory_returns_after_a_huge_refused_batch, .fini = teardown,
     .timeout = 120)
{
	const char *args[] = { "--recv-max", "16MiB", NULL };
	Hbmon__V1__RpcResponse *resp;
	uint8_t *payload;
	size_t len, reply_len;
	long before, after;

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, args));
	/* Warm up: the ordinary work's memory is part of the baseline. */
	payload = batch("ACC_", 100, true, &len);
	for (int i = 0; i < 20; i++) {
		resp = send_raw(M_BATCH, payload, len, NULL);
		cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
		hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	}
	free(payload);
	before = server_rss_kib();

	payload = batch("ACCOUNT_WITH_A_LONGER_NAME_", 100000, true, &len);
	for (int i = 0; i < 3; i++) {
		resp = send_raw(M_BATCH, payload, len, &reply_len);
		cr_assert_eq(resp->code, RPC_INVALID_ARGUMENT, "%s",
		             resp->message);
		cr_assert_lt(reply_len, 512, "a %zu-byte reply", reply_len);
		hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	}
	free(payload);
	harness_sleep_ms(200);
	after = server_rss_kib();
#if defined(__SANITIZE_ADDRESS__)
	/* ASan keeps freed memory in its quarantine: RSS then says nothing
	 * about the server's own. The replies were checked all the same. */
	(void) before;
	(void) after;
	cr_skip_test("RSS is not the server's own under AddressSanitizer");
#endif
	cr_assert_lt(after, before + 8 * 1024,
	             "RSS %ld KiB before three refused %zu-byte batches, %ld "
	             "KiB after",
	             before, len, after);
}
