/*
 * admin_tcp, end to end: no listener without TLS unless the operator says
 * admin_tcp_insecure, and a captured signed request (RobotRotate hands out
 * a fresh robot secret) replayed after a server restart is refused, its
 * seq floor being in the database. Over tcp:// with admin_tcp_insecure;
 * the tls+tcp:// listener itself has its own tests.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/envelope.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"

#define ADMIN_SECRET "hbs_the-admin-secret"
#define M_ROTATE     "/hbmon.v1.Admin/RobotRotate"

static struct harness_server srv;
static char tcp[64], secret_file[700];

static void
init(void)
{
	harness_server_init(&srv);
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%d", harness_free_port());
	snprintf(secret_file, sizeof(secret_file), "%s/admin.secret", srv.dir);
	FILE *f = fopen(secret_file, "w");
	cr_assert_not_null(f);
	fputs(ADMIN_SECRET "\n", f);
	fclose(f);
	cr_assert_eq(chmod(secret_file, 0600), 0); /* as a secret must be */
}

static void
fini(void)
{
	harness_server_fini(&srv);
}

static void
start_insecure(void)
{
	const char *args[] = { "--admin-tcp",          tcp,
		               "--admin-secret-file",  secret_file,
		               "--admin-tcp-insecure", NULL };

	cr_assert(harness_server_start(&srv, args), "server did not start");
}

Test(admin_tcp, without_tls_it_is_refused_unless_insecure_is_said, .init = init,
     .fini = fini, .timeout = 60)
{
	const char *args[] = { "--admin-tcp", tcp, "--admin-secret-file",
		               secret_file, NULL };
	char db[700];
	char *err, *log;
	int st;

	st = harness_server_run(&srv, args, &err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	cr_assert(strstr(err, "is not TLS: robot secrets") != NULL, "%s", err);
	cr_assert(strstr(err, "use a tls+tcp:// URL, or set "
	                      "admin_tcp_insecure = true "
	                      "(--admin-tcp-insecure)") != NULL,
	          "%s", err);
	free(err);
	/* Nothing was made: it stopped at the settings. */
	snprintf(db, sizeof(db), "%s/hbmon.db", srv.dir);
	cr_assert_neq(access(db, F_OK), 0, "the database was created");

	start_insecure();
	log = harness_server_log(&srv);
	cr_assert(strstr(log, "level=warn msg=\"admin_tcp is not TLS "
	                      "(admin_tcp_insecure = true)") != NULL,
	          "%s", log);
	free(log);
}

/* A signed RobotRotate for R1 with this seq, as bytes on the wire. */
static uint8_t *
rotate_request(uint64_t seq, int64_t sent_at_ms, size_t *len)
{
	Hbmon__V1__RobotRotateRequest in =
	    HBMON__V1__ROBOT_ROTATE_REQUEST__INIT;
	struct env_request_head h = { .method = M_ROTATE,
		                      .robot_id = "@admin",
		                      .seq = seq,
		                      .sent_at_ms = sent_at_ms,
		                      .key = ADMIN_SECRET,
		                      .key_len = strlen(ADMIN_SECRET) };
	uint8_t *buf;

	in.robot = "R1";
	cr_assert_eq(env_request_pack(&h, &in.base, &buf, len), HBMON_OK);
	return buf;
}

static Hbmon__V1__RpcResponse *
send_bytes(const uint8_t *req, size_t len, struct harness_strict *s)
{
	struct rpc_client *c = harness_client(tcp, NULL, NULL);
	Hbmon__V1__RpcResponse *resp =
	    harness_raw_call(c, req, len, s, "RobotAddReply");

	rpc_client_close(c);
	return resp;
}

/* R1 reports with secret: OK or refused. */
static int
report_with(const char *secret)
{
	struct rpc_client *c = harness_client(srv.listen, "R1", secret);
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	struct rpc_status st;

	hb.event = "ROBOT_HEARTBEAT";
	hb.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	cr_assert_eq(rpc_client_call(c, "/hbmon.v1.Monitor/ReportRobot",
	                             &hb.base, NULL, NULL, &st),
	             HBMON_OK);
	rpc_client_close(c);
	return st.code;
}

Test(admin_tcp, a_request_replayed_after_a_restart_is_refused, .init = init,
     .fini = fini, .timeout = 120)
{
	struct harness_strict strict = { 0 };
	uint64_t seq = (uint64_t) clock_wall_us();
	Hbmon__V1__RpcResponse *resp;
	Hbmon__V1__RobotAddReply *reply;
	char secret[128];
	uint8_t *req;
	size_t len;

	harness_robot_add(&srv, "R1", "hbs_first-secret-of-R1");
	start_insecure();
	req = rotate_request(seq, clock_wall_ms(), &len);

	/* The owner's rotation: a fresh secret. */
	resp = send_bytes(req, len, &strict);
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	reply = hbmon__v1__robot_add_reply__unpack(NULL, resp->payload.len,
	                                           resp->payload.data);
	cr_assert_not_null(reply);
	snprintf(secret, sizeof(secret), "%s", reply->secret);
	hbmon__v1__robot_add_reply__free_unpacked(reply, NULL);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	cr_assert_eq(report_with(secret), RPC_OK);
	cr_assert_eq(
	    harness_query_int(&srv, "SELECT last_seq FROM admin_state"),
	    (int64_t) seq);

	/* Captured and sent again: refused, now and after a restart. */
	for (int round = 0; round < 2; round++) {
		resp = send_bytes(req, len, &strict);
		cr_assert_eq(resp->code, RPC_UNAUTHENTICATED, "round %d: %s",
		             round, resp->message);
		cr_assert(strstr(resp->message,
		                 "is not above the last accepted admin seq") !=
		              NULL,
		          "%s", resp->message);
		hbmon__v1__rpc_response__free_unpacked(resp, NULL);
		/* No new secret was handed out: the owner's still works. */
		cr_assert_eq(report_with(secret), RPC_OK);
		if (round == 0) {
			cr_assert_eq(WEXITSTATUS(harness_server_stop(&srv)), 0);
			start_insecure();
		}
	}
	/* A kill -9 keeps it too: the floor was committed with the rotation. */
	harness_server_kill(&srv);
	start_insecure();
	resp = send_bytes(req, len, &strict);
	cr_assert_eq(resp->code, RPC_UNAUTHENTICATED, "%s", resp->message);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(req);

	/* The owner's next request, with a higher seq, is served. */
	req = rotate_request((uint64_t) clock_wall_us(), clock_wall_ms(), &len);
	resp = send_bytes(req, len, &strict);
	cr_assert_eq(resp->code, RPC_OK, "%s", resp->message);
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	free(req);
	cr_assert_eq(report_with(secret), RPC_UNAUTHENTICATED);
	harness_strict_check(&strict);
}

/* sent_at_ms at the ends of int64 over admin_tcp too (the UBSan build
 * aborts on an overflow). */
Test(admin_tcp, extreme_sent_at_ms_is_refused, .init = init, .fini = fini,
     .timeout = 60)
{
	static const int64_t values[] = { INT64_MIN, INT64_MAX, 0 };
	struct harness_strict strict = { 0 };

	harness_robot_add(&srv, "R1", "hbs_first-secret-of-R1");
	start_insecure();
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		size_t len;
		uint8_t *req =
		    rotate_request((uint64_t) clock_wall_us(), values[i], &len);
		Hbmon__V1__RpcResponse *resp = send_bytes(req, len, &strict);

		cr_assert_eq(resp->code, RPC_UNAUTHENTICATED, "%s",
		             resp->message);
		cr_assert(strstr(resp->message,
		                 values[i] > 0
		                     ? "s ahead of the server's"
		                     : "s behind the server's") != NULL,
		          "%s", resp->message);
		hbmon__v1__rpc_response__free_unpacked(resp, NULL);
		free(req);
	}
	cr_assert_eq(report_with("hbs_first-secret-of-R1"), RPC_OK);
	harness_strict_check(&strict);
}
