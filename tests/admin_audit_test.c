/*
 * The audit line of admin writes (issue 15): every ack, pause, resume and
 * robot add/rotate/remove/set leaves one info line in the server log
 * saying who (the ipc user or the tcp address, "@admin"), what and with
 * what outcome, refused ones included, escaped like every other line and
 * without the secrets it hands out.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/rpc_status.h"
#include "harness.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"

#define ADMIN_SECRET "hbs_the-admin-secret"

static struct harness_server srv;
static char tcp[64], secret_file[700], who[64];

static void
init(void)
{
	const char *args[] = { "--admin-tcp",          tcp,
		               "--admin-secret-file",  secret_file,
		               "--admin-tcp-insecure", NULL };

	harness_server_init(&srv);
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%d", harness_free_port());
	snprintf(secret_file, sizeof(secret_file), "%s/admin.secret", srv.dir);
	harness_write_file(secret_file, ADMIN_SECRET "\n", 0600);
	snprintf(who, sizeof(who), "by=uid:%u@admin", (unsigned) getuid());
	cr_assert(harness_server_start(&srv, args), "server did not start");
}

static void
fini(void)
{
	harness_server_fini(&srv);
}

/* One Admin call over url (signed as "@admin" when secret is given). */
static int
call(const char *url, const char *secret, const char *method,
     const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_type,
     ProtobufCMessage **out)
{
	struct rpc_client *c =
	    harness_client(url, secret ? "@admin" : NULL, secret);
	struct rpc_status st;

	cr_assert_eq(rpc_client_call(c, method, in, out_type, out, &st),
	             HBMON_OK, "%s", st.message);
	rpc_client_close(c);
	return st.code;
}

/* The one audit line holding every needle, or fails. */
static char *
audit_line(const char *const *needles)
{
	char *log = harness_server_log(&srv);
	char *found = NULL;

	for (char *line = strtok(log, "\n"); line != NULL;
	     line = strtok(NULL, "\n")) {
		bool all = strstr(line, "msg=\"admin write\"") != NULL &&
		           strstr(line, "level=info") != NULL;
		for (const char *const *n = needles; all && *n != NULL; n++) {
			all = strstr(line, *n) != NULL;
		}
		if (all) {
			cr_assert_null(found, "two lines:\n%s\n%s", found,
			               line);
			found = strdup(line);
		}
	}
	free(log);
	cr_assert_not_null(found, "no audit line with %s ...", needles[0]);
	return found;
}

static void
assert_audited(const char *const *needles)
{
	free(audit_line(needles));
}

Test(admin_audit, every_write_over_ipc_names_the_user, .init = init,
     .fini = fini, .timeout = 60)
{
	Hbmon__V1__RobotAddRequest add = HBMON__V1__ROBOT_ADD_REQUEST__INIT;
	Hbmon__V1__RobotRotateRequest rot =
	    HBMON__V1__ROBOT_ROTATE_REQUEST__INIT;
	Hbmon__V1__RobotRemoveRequest rm =
	    HBMON__V1__ROBOT_REMOVE_REQUEST__INIT;
	Hbmon__V1__RobotSetRequest set = HBMON__V1__ROBOT_SET_REQUEST__INIT;
	Hbmon__V1__PauseRequest pause = HBMON__V1__PAUSE_REQUEST__INIT;
	Hbmon__V1__ResumeRequest resume = HBMON__V1__RESUME_REQUEST__INIT;
	Hbmon__V1__AckRequest ack = HBMON__V1__ACK_REQUEST__INIT;
	Hbmon__V1__RobotAddReply *added = NULL;
	char secret[128];
	char *log;

	add.robot = rot.robot = rm.robot = set.robot = "R1";
	cr_assert_eq(call(srv.admin, NULL, "/hbmon.v1.Admin/RobotAdd",
	                  &add.base, &hbmon__v1__robot_add_reply__descriptor,
	                  (ProtobufCMessage **) &added),
	             RPC_OK);
	snprintf(secret, sizeof(secret), "%s", added->secret);
	protobuf_c_message_free_unpacked(&added->base, NULL);
	assert_audited((const char *const[]){ who, "action=robot_add",
	                                      "robot=R1", "code=OK", NULL });

	/* R1 reports, so it can be paused. */
	cr_assert_eq(harness_report_robot(
	                 srv.listen, NULL, "R1", secret,
	                 HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY),
	             RPC_OK);
	pause.subject = "R1";
	pause.until_ms = (int64_t) time(NULL) * 1000 + 3600000;
	pause.reason = "maintenance window";
	cr_assert_eq(call(srv.admin, NULL, "/hbmon.v1.Admin/Pause", &pause.base,
	                  NULL, NULL),
	             RPC_OK);
	assert_audited((const char *const[]){ who, "action=pause", "subject=R1",
	                                      "reason=\"maintenance window\"",
	                                      "code=OK", NULL });
	resume.subject = "R1";
	cr_assert_eq(call(srv.admin, NULL, "/hbmon.v1.Admin/Resume",
	                  &resume.base, NULL, NULL),
	             RPC_OK);
	assert_audited(
	    (const char *const[]){ who, "action=resume", "subject=R1", NULL });

	/* A refused write is audited too, with why. */
	ack.seq = 999;
	ack.by = "alice";
	cr_assert_eq(
	    call(srv.admin, NULL, "/hbmon.v1.Admin/Ack", &ack.base, NULL, NULL),
	    RPC_NOT_FOUND);
	assert_audited((const char *const[]){ who, "action=ack",
	                                      "alert_seq=999", "ack_by=alice",
	                                      "code=NOT_FOUND", "why=", NULL });

	set.interval_max_ms = 90000;
	cr_assert_eq(call(srv.admin, NULL, "/hbmon.v1.Admin/RobotSet",
	                  &set.base, NULL, NULL),
	             RPC_OK);
	assert_audited((const char *const[]){ who, "action=robot_set",
	                                      "interval_max_ms=90000", NULL });
	cr_assert_eq(call(srv.admin, NULL, "/hbmon.v1.Admin/RobotRotate",
	                  &rot.base, NULL, NULL),
	             RPC_OK);
	assert_audited((const char *const[]){ who, "action=robot_rotate",
	                                      "robot=R1", "code=OK", NULL });
	cr_assert_eq(call(srv.admin, NULL, "/hbmon.v1.Admin/RobotRemove",
	                  &rm.base, NULL, NULL),
	             RPC_OK);
	assert_audited((const char *const[]){ who, "action=robot_remove",
	                                      "robot=R1", "code=OK", NULL });

	/* The peer= field has the process too; no secret is ever logged. */
	assert_audited((const char *const[]){ "action=robot_remove",
	                                      "peer=", "pid:", NULL });
	log = harness_server_log(&srv);
	cr_assert(strstr(log, secret) == NULL, "a secret is in the log");
	free(log);
}

Test(admin_audit, a_write_over_tcp_names_the_address, .init = init,
     .fini = fini, .timeout = 60)
{
	Hbmon__V1__RobotAddRequest add = HBMON__V1__ROBOT_ADD_REQUEST__INIT;

	add.robot = "R2";
	cr_assert_eq(call(tcp, ADMIN_SECRET, "/hbmon.v1.Admin/RobotAdd",
	                  &add.base, NULL, NULL),
	             RPC_OK);
	assert_audited((const char *const[]){
	    "by=127.0.0.1@admin", "peer=127.0.0.1:", "action=robot_add",
	    "robot=R2", NULL });
}

Test(admin_audit, what_a_peer_sends_is_escaped, .init = init, .fini = fini,
     .timeout = 60)
{
	Hbmon__V1__PauseRequest pause = HBMON__V1__PAUSE_REQUEST__INIT;
	char *log;

	/* A forged second line inside the subject and the reason. */
	pause.subject = "R1\nts=x level=error msg=forged";
	pause.until_ms = (int64_t) time(NULL) * 1000 + 3600000;
	pause.reason = "\x1b[31mred\r";
	cr_assert_neq(call(srv.admin, NULL, "/hbmon.v1.Admin/Pause",
	                   &pause.base, NULL, NULL),
	              RPC_OK);
	assert_audited((const char *const[]){
	    who, "action=pause", "subject=\"R1\\nts=x level=error msg=forged\"",
	    "reason=\"\\x1b[31mred\\r\"", NULL });
	log = harness_server_log(&srv);
	cr_assert(strstr(log, "\nts=x level=error") == NULL, "%s", log);
	cr_assert(strchr(log, '\x1b') == NULL, "a raw escape in the log");
	free(log);
}
