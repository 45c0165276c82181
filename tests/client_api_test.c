/*
 * libhbmon-client's public API without a server: argument checks, the
 * automatic-mode table, lifecycle errors, and a server that is not there.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hbmon/client.h"

#define NOWHERE "ipc:///nonexistent-hbmon-dir/robots.sock"

static hbmon_client *
open_ok(size_t max_accounts)
{
	hbmon_client *c = NULL;
	int rv =
	    hbmon_client_open(&c, NOWHERE, "R1", "hbs_secret", max_accounts);

	cr_assert_eq(rv, HBMON_OK, "open: %s", hbmon_strerror(rv));
	cr_assert_not_null(c);
	return c;
}

Test(client, open_refuses_bad_arguments, .timeout = 10)
{
	char long_id[HBMON_NAME_MAX + 2];
	hbmon_client *c = NULL;

	memset(long_id, 'r', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	cr_assert_eq(hbmon_client_open(NULL, NOWHERE, "R1", "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NULL, "R1", "s", 1), HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, "", "R1", "s", 1), HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, "nosuch://x", "R1", "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, NULL, "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, "", "s", 1), HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, ".R1", "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, "-R1", "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, "R 1", "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, "@admin", "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, long_id, "s", 1),
	             HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, "R1", "", 1), HBMON_EINVAL);
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, "R1", "s", 1000001),
	             HBMON_ERANGE);
	cr_assert_null(c, "out is untouched on failure");

	long_id[HBMON_NAME_MAX] = '\0'; /* exactly 64: allowed */
	cr_assert_eq(hbmon_client_open(&c, NOWHERE, long_id, NULL, 0),
	             HBMON_OK);
	hbmon_client_close(c);
	cr_assert_eq(
	    hbmon_client_open(&c, "tcp://127.0.0.1:1", "r.1_x-Y", "s", 0),
	    HBMON_OK);
	hbmon_client_close(c);
	hbmon_client_close(NULL);
}

Test(client, settings_check_their_ranges, .timeout = 10)
{
	hbmon_client *c = open_ok(1);

	cr_assert_eq(hbmon_client_set_timeout(c, 0), HBMON_ERANGE);
	cr_assert_eq(hbmon_client_set_timeout(c, 3600001), HBMON_ERANGE);
	cr_assert_eq(hbmon_client_set_timeout(c, 1), HBMON_OK);
	cr_assert_eq(hbmon_client_set_interval(c, 0, 10), HBMON_ERANGE);
	cr_assert_eq(hbmon_client_set_interval(c, 20, 10), HBMON_ERANGE);
	cr_assert_eq(hbmon_client_set_interval(c, 10, 86400001), HBMON_ERANGE);
	cr_assert_eq(hbmon_client_set_interval(c, 200, 200), HBMON_OK);
	cr_assert_eq(hbmon_client_set_utc_offset(c, 1440), HBMON_ERANGE);
	cr_assert_eq(hbmon_client_set_utc_offset(c, -1440), HBMON_ERANGE);
	cr_assert_eq(hbmon_client_set_utc_offset(c, 420), HBMON_OK);
	cr_assert_eq(hbmon_client_set_utc_offset(c, HBMON_UTC_OFFSET_LOCAL),
	             HBMON_OK);
	cr_assert_eq(hbmon_client_set_tls(c, "/ca.pem", NULL, NULL),
	             HBMON_EINVAL, "TLS needs a tls+tcp:// URL");
	cr_assert_eq(hbmon_client_set_timeout(NULL, 10), HBMON_EINVAL);
	hbmon_client_close(c);
}

Test(client, account_table_adds_updates_and_fills_up, .timeout = 10)
{
	hbmon_client *c = open_ok(2);
	char long_name[HBMON_NAME_MAX + 2];
	hbmon_account_state a = { "ACC_001", HBMON_ACCOUNT_ACTIVE, true, 2 };

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK);
	a.open_orders = 3;
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK, "update, same slot");
	a.account = "ACC_002";
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK);
	a.account = "ACC_003";
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_ENOMEM, "table is full");
	cr_assert_eq(hbmon_remove_account(c, "ACC_001"), HBMON_OK);
	cr_assert_eq(hbmon_remove_account(c, "ACC_001"), HBMON_ENOENT);
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_OK, "room again");

	a.account = "";
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_EINVAL);
	a.account = long_name;
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_EINVAL);
	a.account = NULL;
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_EINVAL);
	a.account = "ACC_002";
	a.status = (hbmon_account_status) 0;
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_EINVAL);
	a.status = (hbmon_account_status) 5;
	cr_assert_eq(hbmon_set_account(c, &a), HBMON_EINVAL);
	cr_assert_eq(hbmon_set_account(c, NULL), HBMON_EINVAL);
	hbmon_client_close(c);
}

Test(client, robot_setter_refuses_unknown_status, .timeout = 10)
{
	hbmon_client *c = open_ok(0);
	hbmon_robot_state r = { (hbmon_health_status) 0, 1, 1 };

	cr_assert_eq(hbmon_set_robot(c, &r), HBMON_EINVAL);
	r.status = (hbmon_health_status) 4;
	cr_assert_eq(hbmon_set_robot(c, &r), HBMON_EINVAL);
	r.status = HBMON_UNHEALTHY;
	cr_assert_eq(hbmon_set_robot(c, &r), HBMON_OK);
	cr_assert_eq(hbmon_set_robot(c, NULL), HBMON_EINVAL);
	hbmon_client_close(c);
}

Test(client, lifecycle_errors, .timeout = 10)
{
	hbmon_client *c = open_ok(1);
	hbmon_client_health h;

	cr_assert_eq(hbmon_client_stop(c), HBMON_ENOENT);
	cr_assert_eq(hbmon_client_send_now(c), HBMON_ENOENT);
	cr_assert_eq(hbmon_client_get_health(c, &h), HBMON_OK);
	cr_assert_eq(h.running, false);
	cr_assert_eq(h.attempts, 0);
	cr_assert_eq(h.last_success_ms, 0);
	cr_assert_eq(hbmon_client_start(c), HBMON_OK);
	cr_assert_eq(hbmon_client_start(c), HBMON_EBUSY);
	cr_assert_eq(hbmon_client_send_now(c), HBMON_OK);
	cr_assert_eq(hbmon_client_get_health(c, &h), HBMON_OK);
	cr_assert_eq(h.running, true);
	cr_assert_eq(hbmon_client_stop(c), HBMON_OK);
	cr_assert_eq(hbmon_client_stop(c), HBMON_ENOENT);
	cr_assert_eq(hbmon_client_start(c), HBMON_OK, "start again");
	/* close stops it */
	hbmon_client_close(c);
}

Test(client, sync_calls_refuse_bad_input_locally, .timeout = 10)
{
	hbmon_client *c = open_ok(2);
	hbmon_robot_state bad_robot = { (hbmon_health_status) 9, 0, 0 };
	hbmon_robot_state robot = { HBMON_HEALTHY, 0, 0 };
	hbmon_account_state accounts[3] = {
		{ "ACC_001", HBMON_ACCOUNT_IDLE, true, 0 },
		{ "", HBMON_ACCOUNT_IDLE, true, 0 },
		{ "ACC_003", HBMON_ACCOUNT_IDLE, true, 0 },
	};
	hbmon_result res, per[3];

	cr_assert_eq(hbmon_report_robot(c, &bad_robot, &res), HBMON_EINVAL);
	cr_assert_eq(res.code, HBMON_NO_CODE);
	cr_assert(strstr(res.message, "healthy") != NULL, "%s", res.message);
	cr_assert_eq(hbmon_report_robot(c, NULL, NULL), HBMON_EINVAL);
	cr_assert_eq(hbmon_report_account(c, &accounts[1], &res), HBMON_EINVAL);
	cr_assert_eq(
	    hbmon_report_batch(c, &robot, accounts, 2, &res, NULL, per),
	    HBMON_EINVAL, "the empty name is refused");
	cr_assert_eq(per[0].err, HBMON_EINVAL);
	cr_assert_eq(
	    hbmon_report_batch(c, &robot, accounts, 3, &res, NULL, NULL),
	    HBMON_ENOMEM, "over max_accounts");
	cr_assert_eq(hbmon_report_batch(c, NULL, NULL, 1, &res, NULL, NULL),
	             HBMON_EINVAL);
	hbmon_client_close(c);
}

Test(client, absent_server_is_unavailable_not_a_hang, .timeout = 10)
{
	hbmon_client *c = open_ok(1);
	hbmon_robot_state robot = { HBMON_HEALTHY, 1, 0 };
	hbmon_account_state a = { "ACC_001", HBMON_ACCOUNT_IDLE, true, 0 };
	hbmon_result res, r_robot, r_acc;

	cr_assert_eq(hbmon_report_robot(c, &robot, &res), HBMON_EUNAVAIL);
	cr_assert_eq(res.code, HBMON_NO_CODE);
	cr_assert(strstr(res.message, "robots.sock") != NULL, "%s",
	          res.message);
	cr_assert_eq(
	    hbmon_report_batch(c, &robot, &a, 1, &res, &r_robot, &r_acc),
	    HBMON_EUNAVAIL);
	cr_assert_eq(r_robot.err, HBMON_EUNAVAIL, "items share the outcome");
	cr_assert_eq(r_acc.err, HBMON_EUNAVAIL);
	hbmon_client_close(c);
}

Test(client, status_words_are_the_seeds, .timeout = 10)
{
	cr_assert_str_eq(hbmon_health_status_name(HBMON_HEALTHY), "healthy");
	cr_assert_str_eq(hbmon_health_status_name(HBMON_DEGRADED), "degraded");
	cr_assert_str_eq(hbmon_health_status_name(HBMON_UNHEALTHY),
	                 "unhealthy");
	cr_assert_str_eq(hbmon_health_status_name(0), "unknown");
	cr_assert_str_eq(hbmon_account_status_name(HBMON_ACCOUNT_IDLE), "idle");
	cr_assert_str_eq(hbmon_account_status_name(HBMON_ACCOUNT_ACTIVE),
	                 "active");
	cr_assert_str_eq(hbmon_account_status_name(HBMON_ACCOUNT_EXPIRED),
	                 "expired");
	cr_assert_str_eq(hbmon_account_status_name(HBMON_ACCOUNT_ERROR),
	                 "error");
	cr_assert_str_eq(hbmon_account_status_name(9), "unknown");
}
