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

#include "common/clock.h"
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
