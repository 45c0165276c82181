/*
 * hbctl prints what robots sent, and a robot's bytes must not steer the
 * owner's terminal: an account named "\x1b[2J\rok\nFAKE" (ESC to clear the
 * screen, CR and LF to draw a fake "ok" row) is shown escaped by accounts,
 * show, status and alerts, while --json keeps the name exactly, as valid
 * JSON. The server refuses such names now; the account here comes from a
 * database an older hbmon wrote, which is where they can still be.
 */
#include <jansson.h>

#include "common/clock.h"
#include "common/rpc_status.h"
#include "hbctl_test.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/alert.pb-c.h"
#include "hbmon/v1/monitor.pb-c.h"

#define SECRET   "hbs_secret-of-R1"
#define EVIL     "\x1b[2J\rok\nFAKE"
#define SHOWN    "\\x1b[2J\\rok\\nFAKE"
#define EVIL_HEX "1b5b324a0d6f6b0a46414b45"

static struct harness_server srv;

static void
stop(void)
{
	harness_server_fini(&srv);
}

static void
send_robot(void)
{
	struct rpc_client *c = harness_client(srv.listen, "R1", SECRET);
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	struct rpc_status st;

	hb.event = "ROBOT_HEARTBEAT";
	hb.status = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	hb.active_accounts = 1;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	cr_assert_eq(rpc_client_call(c, "/hbmon.v1.Monitor/ReportRobot",
	                             &hb.base, NULL, NULL, &st),
	             HBMON_OK);
	cr_assert_eq(st.code, RPC_OK, "%s", st.message);
	rpc_client_close(c);
}

/*
 * R1 with the account EVIL in the store, the server started on it, R1
 * reporting while the account stays silent until it is alerted on.
 */
static void
start(void)
{
	char sql[1024];
	struct rpc_client *admin;
	uint64_t seq = 0;

	harness_server_init(&srv);
	harness_robot_add(&srv, "R1", SECRET);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO subjects (robot, account, created_ms, status,"
	         " session_valid, open_orders, timestamp, last_seen_ms)"
	         " VALUES ('R1', '', %1$lld, 1, 0, 0, '', %1$lld),"
	         " ('R1', CAST(X'%2$s' AS TEXT), %1$lld, 2, 1, 3,"
	         " '2026-01-20T09:30:00+07:00', %1$lld)",
	         (long long) clock_wall_ms(), EVIL_HEX);
	harness_store_exec(srv.dir, sql);
	cr_assert(harness_server_start(
	              &srv, (const char *[]){ "--interval-max", "300ms",
	                                      "--miss-threshold", "1", NULL }),
	          "server did not start");
	admin = harness_admin(&srv);
	for (int i = 0; i < 100 && seq == 0; i++) {
		send_robot();
		seq = harness_wait_alert(
		    admin, HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED,
		    "R1", EVIL, 100);
	}
	cr_assert_neq(seq, 0, "no alert about the silent account");
	rpc_client_close(admin);
}

/* Nothing in out can move the cursor, clear or redraw: no ESC, no CR, and
 * no line that the name's LF would have started. */
static void
assert_inert(const char *verb, const char *out)
{
	cr_assert(strchr(out, '\x1b') == NULL, "%s printed ESC:\n%s", verb,
	          out);
	cr_assert(strchr(out, '\r') == NULL, "%s printed CR:\n%s", verb, out);
	cr_assert(strncmp(out, "FAKE", 4) != 0 && strstr(out, "\nFAKE") == NULL,
	          "%s drew a row from the name:\n%s", verb, out);
}

Test(hbctl_escape, human_output_escapes_what_a_robot_sent, .init = start,
     .fini = stop, .timeout = 120)
{
	const char *const *const runs[] = {
		(const char *[]){ "accounts", "R1", NULL },
		(const char *[]){ "accounts", NULL },
		(const char *[]){ "show", "R1/" EVIL, NULL },
		(const char *[]){ "alerts", NULL },
		(const char *[]){ "status", NULL },
		(const char *[]){ "check", "R1", NULL },
		(const char *[]){ "check", "R1/" EVIL, NULL },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char *out, *err;
		int code = hbctl_run(srv.admin, runs[i], &out, &err);

		cr_assert(code == 0 ||
		              (strcmp(runs[i][0], "check") == 0 && code <= 3),
		          "%s: exit %d: %s", runs[i][0], code, err);
		assert_inert(runs[i][0], out);
		assert_inert(runs[i][0], err);
		if (strcmp(runs[i][0], "status") != 0 &&
		    strcmp(runs[i][0], "check") != 0) {
			assert_has(out, SHOWN);
		}
		free(out);
		free(err);
	}
}

/* An error that quotes the name (the server's sentence) is inert too. */
Test(hbctl_escape, errors_quoting_a_name_are_escaped, .init = start,
     .fini = stop, .timeout = 120)
{
	char *out, *err;

	cr_assert_eq(hbctl_run(srv.admin,
	                       (const char *[]){ "show", "R1/" EVIL "x", NULL },
	                       &out, &err),
	             4, "%s", err);
	assert_inert("show", err);
	assert_has(err, SHOWN "x");
	free(out);
	free(err);
}

/* --json: one valid object per line, holding the name byte for byte. */
Test(hbctl_escape, json_output_keeps_the_name_exactly, .init = start,
     .fini = stop, .timeout = 120)
{
	const char *const *const runs[] = {
		(const char *[]){ "--json", "accounts", "R1", NULL },
		(const char *[]){ "--json", "show", "R1/" EVIL, NULL },
		(const char *[]){ "--json", "alerts", NULL },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char *out, *err, *line, *save = NULL;
		bool seen = false;

		cr_assert_eq(hbctl_run(srv.admin, runs[i], &out, &err), 0,
		             "%s: %s", runs[i][1], err);
		assert_inert(runs[i][1], out);
		for (line = strtok_r(out, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			json_error_t e;
			json_t *v = json_loads(line, 0, &e);
			const char *account;

			cr_assert_not_null(v, "%s: not JSON (%s): %s",
			                   runs[i][1], e.text, line);
			/* show nests the subject's state; lists do not. */
			account = json_string_value(json_object_get(
			    json_is_object(json_object_get(v, "state"))
			        ? json_object_get(v, "state")
			        : v,
			    "account"));
			seen |= account != NULL && strcmp(account, EVIL) == 0;
			json_decref(v);
		}
		cr_assert(seen, "%s: the name is not in the JSON", runs[i][1]);
		free(out);
		free(err);
	}
}
