/*
 * The write-ahead log stays bounded (SPEC §3.5): no read transaction is
 * left open by anything the server does (an alert, `hbctl show`, every
 * Admin read), so a checkpoint from another connection always completes;
 * and under sustained load the WAL stays under its stated ceiling.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/rfc3339.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"

#define K(x)   HBMON__V1__ALERT_KIND__ALERT_KIND_##x
#define SECRET "hbs_wal-test-secret"

static struct harness_server srv;

static void
teardown(void)
{
	harness_server_fini(&srv);
}

/* A checkpoint from the test's own connection empties the WAL. */
static void
assert_checkpoints(const char *after)
{
	int rc = 0;

	cr_assert(harness_checkpoint_all(&srv, 3000, &rc),
	          "after %s a full checkpoint from another connection did not "
	          "complete (last result %d): a read transaction is left open",
	          after, rc);
}

/* Calls one Admin method with input and asserts it answers OK. */
static void
admin_read(struct rpc_client *adm, const char *method,
           const ProtobufCMessage *input,
           const ProtobufCMessageDescriptor *output)
{
	ProtobufCMessage *out = NULL;
	struct rpc_status st;

	cr_assert_eq(rpc_client_call(adm, method, input, output, &out, &st),
	             HBMON_OK, "%s: %s", method, st.message);
	cr_assert_eq(st.code, RPC_OK, "%s: %s", method, st.message);
	protobuf_c_message_free_unpacked(out, NULL);
}

Test(wal, checkpoint_completes_after_alerts_and_every_admin_read,
     .fini = teardown, .timeout = 60)
{
	const char *args[] = { "--interval-max", "200ms", "--miss-threshold",
		               "1", NULL };
	struct harness_robot r;
	struct rpc_client *adm;
	char admin_flag[640];

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, args));
	adm = harness_admin(&srv);
	harness_robot_init(&r, &srv, "R1", SECRET, 3);
	harness_robot_send(&r);
	assert_checkpoints("a heartbeat");

	/* Silence: the alert carries the last payload. */
	cr_assert_neq(
	    harness_wait_alert(adm, K(HEARTBEAT_MISSED), "R1", "", 5000), 0);
	assert_checkpoints("an alert");
	harness_robot_send(&r); /* RECOVERED */
	cr_assert_neq(harness_wait_alert(adm, K(RECOVERED), "R1", "", 5000), 0);
	assert_checkpoints("a recovery");

	snprintf(admin_flag, sizeof(admin_flag), "%s", srv.admin);
	{
		const char *argv[] = { harness_bin("tools/hbctl/hbctl"),
			               "--admin",
			               admin_flag,
			               "show",
			               "R1/ACC_001",
			               NULL };
		char *out = NULL;
		int st = harness_run(argv, NULL, &out, NULL, 20000);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
		free(out);
		assert_checkpoints("hbctl show");
	}
	{
		Hbmon__V1__OverviewRequest in =
		    HBMON__V1__OVERVIEW_REQUEST__INIT;
		admin_read(adm, "/hbmon.v1.Admin/Overview", &in.base,
		           &hbmon__v1__overview_reply__descriptor);
		assert_checkpoints("Overview");
	}
	{
		Hbmon__V1__AccountsRequest in =
		    HBMON__V1__ACCOUNTS_REQUEST__INIT;
		admin_read(adm, "/hbmon.v1.Admin/Accounts", &in.base,
		           &hbmon__v1__accounts_reply__descriptor);
		assert_checkpoints("Accounts");
	}
	{
		Hbmon__V1__SubjectRequest in = HBMON__V1__SUBJECT_REQUEST__INIT;
		in.subject = "R1";
		admin_read(adm, "/hbmon.v1.Admin/Subject", &in.base,
		           &hbmon__v1__subject_reply__descriptor);
		assert_checkpoints("Subject");
	}
	{
		Hbmon__V1__HistoryRequest in = HBMON__V1__HISTORY_REQUEST__INIT;
		in.subject = "R1/ACC_002";
		admin_read(adm, "/hbmon.v1.Admin/History", &in.base,
		           &hbmon__v1__history_reply__descriptor);
		assert_checkpoints("History");
	}
	{
		Hbmon__V1__AlertsAfterRequest in =
		    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;
		admin_read(adm, "/hbmon.v1.Admin/AlertsAfter", &in.base,
		           &hbmon__v1__alerts_after_reply__descriptor);
		assert_checkpoints("AlertsAfter");
	}
	{
		Hbmon__V1__RobotListRequest in =
		    HBMON__V1__ROBOT_LIST_REQUEST__INIT;
		admin_read(adm, "/hbmon.v1.Admin/RobotList", &in.base,
		           &hbmon__v1__robot_list_reply__descriptor);
		assert_checkpoints("RobotList");
	}
	{
		Hbmon__V1__ServerInfoRequest in =
		    HBMON__V1__SERVER_INFO_REQUEST__INIT;
		admin_read(adm, "/hbmon.v1.Admin/ServerInfo", &in.base,
		           &hbmon__v1__server_info_reply__descriptor);
		assert_checkpoints("ServerInfo");
	}
	/* And the server still records afterwards. */
	harness_robot_send(&r);
	assert_checkpoints("the last heartbeat");
	harness_robot_fini(&r);
	rpc_client_close(adm);
}

/* A batch of n accounts from c; returns the reply's code. */
static int
send_accounts(struct rpc_client *c, int n)
{
	Hbmon__V1__HeartbeatBatch b = HBMON__V1__HEARTBEAT_BATCH__INIT;
	Hbmon__V1__AccountHeartbeat acc[64], *ptrs[64];
	char names[64][16], ts[RFC3339_MAX];
	struct rpc_status st;

	cr_assert_leq(n, 64);
	rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
	for (int i = 0; i < n; i++) {
		hbmon__v1__account_heartbeat__init(&acc[i]);
		snprintf(names[i], sizeof(names[i]), "ACC_%03d", i);
		acc[i].event = "ACCOUNT_HEARTBEAT";
		acc[i].account = names[i];
		acc[i].status =
		    HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
		acc[i].session_valid = true;
		acc[i].open_orders = (uint32_t) (clock_wall_ms() % 7);
		acc[i].timestamp = ts;
		ptrs[i] = &acc[i];
	}
	b.accounts = ptrs;
	b.n_accounts = (size_t) n;
	cr_assert_eq(rpc_client_call(c, "/hbmon.v1.Monitor/ReportBatch",
	                             &b.base, NULL, NULL, &st),
	             HBMON_OK, "%s", st.message);
	return st.code;
}

/* The STORAGE_FAILING alerts in the outbox or memory (firing, resolved). */
static void
storage_alerts(struct rpc_client *adm, int *firing, int *resolved, char *reason,
               size_t reason_len)
{
	Hbmon__V1__Alert **a;
	size_t n = harness_alerts(adm, 0, &a);

	*firing = *resolved = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i]->kind == K(STORAGE_FAILING)) {
			(*firing)++;
			snprintf(reason, reason_len, "%s",
			         a[i]->details->reason);
		} else if (a[i]->kind == K(RECOVERED) &&
		           a[i]->details->resolves == K(STORAGE_FAILING)) {
			(*resolved)++;
		}
	}
	harness_alerts_free(a, n);
}

/*
 * The hard ceiling: a reader that never ends its read transaction keeps
 * every checkpoint from completing. At twice wal_max the writer stops
 * writing (STORAGE_FAILING) rather than fill the disk; once the reader
 * lets go, the WAL is checkpointed and writing goes on.
 */
Test(wal, a_pinned_reader_stops_the_wal_at_twice_its_ceiling, .fini = teardown,
     .timeout = 120)
{
	const char *args[] = { "--wal-max", "1MiB", NULL };
	const int64_t wal_max = 1024 * 1024;
	struct rpc_client *c, *adm;
	struct sqlite3 *reader;
	sqlite3_stmt *st;
	char path[700], reason[128] = "";
	int64_t until, wal_peak = 0;
	int firing = 0, resolved = 0, refused = 0;

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	cr_assert(harness_server_start(&srv, args));
	c = harness_client(srv.listen, "R1", SECRET);
	adm = harness_admin(&srv);
	cr_assert_eq(send_accounts(c, 50), RPC_OK);

	/* An outside reader, as `sqlite3 hbmon.db` left in a transaction. */
	snprintf(path, sizeof(path), "%s/hbmon.db", srv.dir);
	cr_assert_eq(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL),
	             SQLITE_OK);
	cr_assert_eq(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL),
	             SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(reader, "SELECT count(*) FROM requests",
	                                -1, &st, NULL),
	             SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	sqlite3_finalize(st);

	until = clock_mono_ms() + 60000;
	while (refused < 20 && clock_mono_ms() < until) {
		int code = send_accounts(c, 50);
		int64_t wal = harness_wal_bytes(&srv);
		cr_assert(code == RPC_OK || code == RPC_UNAVAILABLE);
		refused += code == RPC_UNAVAILABLE;
		wal_peak = wal > wal_peak ? wal : wal_peak;
	}
	cr_assert_geq(refused, 20, "the writer never stopped; WAL %lld bytes",
	              (long long) harness_wal_bytes(&srv));
	cr_assert_leq(wal_peak, 2 * wal_max + 512 * 1024,
	              "the WAL reached %lld bytes with a ceiling of %lld",
	              (long long) wal_peak, (long long) wal_max);
	until = clock_mono_ms() + 10000;
	do {
		storage_alerts(adm, &firing, &resolved, reason, sizeof(reason));
		harness_sleep_ms(50);
	} while (firing == 0 && clock_mono_ms() < until);
	cr_assert_eq(firing, 1);
	cr_assert(strstr(reason, "WAL") != NULL, "%s", reason);

	/* The reader lets go: checkpointed, written again, resolved. */
	cr_assert_eq(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL),
	             SQLITE_OK);
	sqlite3_close(reader);
	until = clock_mono_ms() + 20000;
	do {
		send_accounts(c, 5);
		storage_alerts(adm, &firing, &resolved, reason, sizeof(reason));
		harness_sleep_ms(100);
	} while (resolved == 0 && clock_mono_ms() < until);
	cr_assert_eq(resolved, 1, "STORAGE_FAILING did not resolve");
	cr_assert_eq(send_accounts(c, 5), RPC_OK);
	assert_checkpoints("the pinned reader let go");
	rpc_client_close(c);
	rpc_client_close(adm);
}
