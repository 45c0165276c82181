/*
 * hbjson_test: the seed's two examples round-trip byte for byte, bad
 * documents are refused with a reason, and nothing leaks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/hbjson.h"
#include "hbmon/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* Verbatim from seed/heartbeat-monitoring.md, "Robot Heartbeat". */
static const char robot_seed[] =
    "{\n"
    "  \"event\": \"ROBOT_HEARTBEAT\",\n"
    "  \"status\": \"healthy\",\n"
    "  \"active_accounts\": 12,\n"
    "  \"active_tasks\": 5,\n"
    "  \"timestamp\": \"2026-01-20T09:30:00+07:00\"\n"
    "}";

/* Verbatim from seed/heartbeat-monitoring.md, "Account Heartbeat". */
static const char account_seed[] =
    "{\n"
    "  \"event\": \"ACCOUNT_HEARTBEAT\",\n"
    "  \"account\": \"ACC_003\",\n"
    "  \"status\": \"active\",\n"
    "  \"session_valid\": true,\n"
    "  \"open_orders\": 2,\n"
    "  \"timestamp\": \"2026-01-20T09:30:00+07:00\"\n"
    "}";

#define ROBOT_ONE_LINE                                                         \
	"{\"event\":\"ROBOT_HEARTBEAT\",\"status\":\"healthy\","               \
	"\"active_accounts\":12,\"active_tasks\":5,"                           \
	"\"timestamp\":\"2026-01-20T09:30:00+07:00\"}"
#define ACCOUNT_ONE_LINE                                                       \
	"{\"event\":\"ACCOUNT_HEARTBEAT\",\"account\":\"ACC_003\","            \
	"\"status\":\"active\",\"session_valid\":true,\"open_orders\":2,"      \
	"\"timestamp\":\"2026-01-20T09:30:00+07:00\"}"

static json_t *
load_or_die(const char *text)
{
	json_error_t error;
	json_t *doc = json_loads(text, 0, &error);

	cr_assert_not_null(doc, "test document: %s", error.text);
	return doc;
}

static Hbmon__V1__RobotHeartbeat *
parse_robot_ok(const char *text)
{
	Hbmon__V1__RobotHeartbeat *hb = NULL;
	char why[256] = "untouched";
	int rv = hbjson_parse_robot(text, strlen(text), &hb, why, sizeof(why));

	cr_assert_eq(rv, HBMON_OK, "rv %d: %s", rv, why);
	cr_assert_not_null(hb);
	return hb;
}

static Hbmon__V1__AccountHeartbeat *
parse_account_ok(const char *text)
{
	Hbmon__V1__AccountHeartbeat *hb = NULL;
	char why[256] = "untouched";
	int rv =
	    hbjson_parse_account(text, strlen(text), &hb, why, sizeof(why));

	cr_assert_eq(rv, HBMON_OK, "rv %d: %s", rv, why);
	cr_assert_not_null(hb);
	return hb;
}

static Hbmon__V1__HeartbeatBatch *
parse_batch_ok(const char *text)
{
	Hbmon__V1__HeartbeatBatch *batch = NULL;
	char why[256] = "untouched";
	int rv =
	    hbjson_parse_batch(text, strlen(text), &batch, why, sizeof(why));

	cr_assert_eq(rv, HBMON_OK, "rv %d: %s", rv, why);
	cr_assert_not_null(batch);
	return batch;
}

Test(hbjson, robot_seed_parses_to_its_fields, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat *hb = parse_robot_ok(robot_seed);

	cr_expect_str_eq(hb->event, "ROBOT_HEARTBEAT");
	cr_expect_eq(hb->status,
	             HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY);
	cr_expect_eq(hb->active_accounts, 12);
	cr_expect_eq(hb->active_tasks, 5);
	cr_expect_str_eq(hb->timestamp, "2026-01-20T09:30:00+07:00");
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

Test(hbjson, account_seed_parses_to_its_fields, .timeout = 10)
{
	Hbmon__V1__AccountHeartbeat *hb = parse_account_ok(account_seed);

	cr_expect_str_eq(hb->event, "ACCOUNT_HEARTBEAT");
	cr_expect_str_eq(hb->account, "ACC_003");
	cr_expect_eq(hb->status,
	             HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE);
	cr_expect(hb->session_valid);
	cr_expect_eq(hb->open_orders, 2);
	cr_expect_str_eq(hb->timestamp, "2026-01-20T09:30:00+07:00");
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

Test(hbjson, robot_seed_round_trips_as_document, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat *hb = parse_robot_ok(robot_seed);
	json_t *seed = load_or_die(robot_seed);
	json_t *value = hbjson_robot_value(hb);
	char *compact = hbjson_robot_text(hb, HBJSON_COMPACT);
	json_t *reparsed;

	cr_assert_not_null(value);
	cr_expect(json_equal(seed, value));
	cr_assert_not_null(compact);
	reparsed = load_or_die(compact);
	cr_expect(json_equal(seed, reparsed));
	json_decref(reparsed);
	free(compact);
	json_decref(value);
	json_decref(seed);
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

Test(hbjson, account_seed_round_trips_as_document, .timeout = 10)
{
	Hbmon__V1__AccountHeartbeat *hb = parse_account_ok(account_seed);
	json_t *seed = load_or_die(account_seed);
	json_t *value = hbjson_account_value(hb);
	char *compact = hbjson_account_text(hb, HBJSON_COMPACT);
	json_t *reparsed;

	cr_assert_not_null(value);
	cr_expect(json_equal(seed, value));
	cr_assert_not_null(compact);
	reparsed = load_or_die(compact);
	cr_expect(json_equal(seed, reparsed));
	json_decref(reparsed);
	free(compact);
	json_decref(value);
	json_decref(seed);
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

Test(hbjson, robot_seed_round_trips_byte_for_byte, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat *hb = parse_robot_ok(robot_seed);
	char *pretty = hbjson_robot_text(hb, HBJSON_PRETTY);
	char *compact = hbjson_robot_text(hb, HBJSON_COMPACT);

	cr_assert_not_null(pretty);
	cr_expect_str_eq(pretty, robot_seed);
	cr_assert_not_null(compact);
	cr_expect_str_eq(compact, ROBOT_ONE_LINE);
	free(compact);
	free(pretty);
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

Test(hbjson, account_seed_round_trips_byte_for_byte, .timeout = 10)
{
	Hbmon__V1__AccountHeartbeat *hb = parse_account_ok(account_seed);
	char *pretty = hbjson_account_text(hb, HBJSON_PRETTY);
	char *compact = hbjson_account_text(hb, HBJSON_COMPACT);

	cr_assert_not_null(pretty);
	cr_expect_str_eq(pretty, account_seed);
	cr_assert_not_null(compact);
	cr_expect_str_eq(compact, ACCOUNT_ONE_LINE);
	free(compact);
	free(pretty);
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

/* A message built in code, not parsed, prints the same keys in order. */
Test(hbjson, built_message_prints_seed_text, .timeout = 10)
{
	Hbmon__V1__AccountHeartbeat hb = HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
	char *pretty;

	hb.event = "ACCOUNT_HEARTBEAT";
	hb.account = "ACC_003";
	hb.status = HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE;
	hb.session_valid = 1;
	hb.open_orders = 2;
	hb.timestamp = "2026-01-20T09:30:00+07:00";
	pretty = hbjson_account_text(&hb, HBJSON_PRETTY);
	cr_assert_not_null(pretty);
	cr_expect_str_eq(pretty, account_seed);
	free(pretty);
}

Test(hbjson, text_need_not_be_nul_terminated, .timeout = 10)
{
	char buf[sizeof(robot_seed) + 8];
	Hbmon__V1__RobotHeartbeat *hb = NULL;
	char why[256];

	memcpy(buf, robot_seed, strlen(robot_seed));
	memcpy(buf + strlen(robot_seed), "garbage!", 8);
	cr_assert_eq(
	    hbjson_parse_robot(buf, strlen(robot_seed), &hb, why, sizeof(why)),
	    HBMON_OK, "%s", why);
	cr_expect_eq(hb->active_tasks, 5);
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

Test(hbjson, uint32_limits_are_accepted, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat *hb = parse_robot_ok(
	    "{\"event\": \"ROBOT_HEARTBEAT\", \"status\": \"degraded\", "
	    "\"active_accounts\": 0, \"active_tasks\": 4294967295, "
	    "\"timestamp\": \"\"}");
	char *text;

	cr_expect_eq(hb->status,
	             HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED);
	cr_expect_eq(hb->active_accounts, 0);
	cr_expect_eq(hb->active_tasks, UINT32_MAX);
	cr_expect_str_eq(hb->timestamp, "");
	text = hbjson_robot_text(hb, HBJSON_COMPACT);
	cr_assert_not_null(text);
	cr_expect(strstr(text, "\"active_tasks\":4294967295") != NULL, "%s",
	          text);
	free(text);
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

/* Parsing leaves meaning to the server's rules: any event, any account. */
Test(hbjson, parse_does_not_judge_meaning, .timeout = 10)
{
	Hbmon__V1__AccountHeartbeat *hb = parse_account_ok(
	    "{\"event\": \"ROBOT_HEARTBEAT\", \"account\": \"\", "
	    "\"status\": \"expired\", \"session_valid\": true, "
	    "\"open_orders\": 0, \"timestamp\": \"yesterday\"}");

	cr_expect_str_eq(hb->event, "ROBOT_HEARTBEAT");
	cr_expect_str_eq(hb->account, "");
	cr_expect_eq(hb->status,
	             HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_EXPIRED);
	cr_expect_str_eq(hb->timestamp, "yesterday");
	protobuf_c_message_free_unpacked(&hb->base, NULL);
}

Test(hbjson, unspecified_and_unknown_status_are_kept_as_numbers, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat robot = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	Hbmon__V1__AccountHeartbeat account =
	    HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
	static const int statuses[] = { 0, 4, 5, 42, -3 };

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		json_t *value;
		char *text;
		char expected[64];

		/* Robot health ends at 3, account status at 4. */
		robot.status = (Hbmon__V1__HealthStatus) statuses[i];
		value = hbjson_robot_value(&robot);
		cr_assert_not_null(value, "robot status %d", statuses[i]);
		cr_expect(json_is_integer(json_object_get(value, "status")));
		cr_expect_eq(
		    json_integer_value(json_object_get(value, "status")),
		    statuses[i]);
		json_decref(value);
		text = hbjson_robot_text(&robot, HBJSON_COMPACT);
		cr_assert_not_null(text);
		snprintf(expected, sizeof(expected), "\"status\":%d,",
		         statuses[i]);
		cr_expect(strstr(text, expected) != NULL, "%s", text);
		free(text);

		if (statuses[i] == 4)
			continue; /* "error", a documented account word */
		account.status = (Hbmon__V1__AccountStatus) statuses[i];
		value = hbjson_account_value(&account);
		cr_assert_not_null(value, "account status %d", statuses[i]);
		cr_expect(json_is_integer(json_object_get(value, "status")));
		cr_expect_eq(
		    json_integer_value(json_object_get(value, "status")),
		    statuses[i]);
		json_decref(value);
	}
}

/* Protobuf senders can hand us NULL or non-UTF-8 strings: still printed. */
Test(hbjson, odd_strings_still_print, .timeout = 10)
{
	Hbmon__V1__AccountHeartbeat hb = HBMON__V1__ACCOUNT_HEARTBEAT__INIT;
	json_t *value;

	hb.event = NULL;
	hb.account = "ACC\xff"
	             "1\xc3";
	hb.timestamp = "caf\xc3\xa9";
	value = hbjson_account_value(&hb);
	cr_assert_not_null(value);
	cr_expect_str_eq(json_string_value(json_object_get(value, "event")),
	                 "");
	cr_expect_str_eq(json_string_value(json_object_get(value, "account")),
	                 "ACC\xef\xbf\xbd"
	                 "1\xef\xbf\xbd");
	cr_expect_str_eq(json_string_value(json_object_get(value, "timestamp")),
	                 "caf\xc3\xa9");
	json_decref(value);
}

Test(hbjson, batch_single_robot, .timeout = 10)
{
	Hbmon__V1__HeartbeatBatch *batch = parse_batch_ok(robot_seed);

	cr_assert_not_null(batch->robot);
	cr_expect_eq(batch->robot->active_accounts, 12);
	cr_expect_eq(batch->n_accounts, 0);
	cr_expect_null(batch->accounts);
	protobuf_c_message_free_unpacked(&batch->base, NULL);
}

Test(hbjson, batch_single_account, .timeout = 10)
{
	Hbmon__V1__HeartbeatBatch *batch = parse_batch_ok(account_seed);

	cr_expect_null(batch->robot);
	cr_assert_eq(batch->n_accounts, 1);
	cr_expect_str_eq(batch->accounts[0]->account, "ACC_003");
	protobuf_c_message_free_unpacked(&batch->base, NULL);
}

Test(hbjson, batch_array_in_any_order, .timeout = 10)
{
	Hbmon__V1__HeartbeatBatch *batch = parse_batch_ok(
	    "[" ACCOUNT_ONE_LINE ", " ROBOT_ONE_LINE ", "
	    "{\"event\": \"ACCOUNT_HEARTBEAT\", \"account\": \"ACC_004\", "
	    "\"status\": \"idle\", \"session_valid\": true, "
	    "\"open_orders\": 0, \"timestamp\": "
	    "\"2026-01-20T09:30:01+07:00\"}]");

	cr_assert_not_null(batch->robot);
	cr_expect_eq(batch->robot->active_tasks, 5);
	cr_assert_eq(batch->n_accounts, 2);
	cr_expect_str_eq(batch->accounts[0]->account, "ACC_003");
	cr_expect_str_eq(batch->accounts[1]->account, "ACC_004");
	cr_expect_eq(batch->accounts[1]->status,
	             HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_IDLE);
	protobuf_c_message_free_unpacked(&batch->base, NULL);
}

Test(hbjson, batch_array_of_accounts_only, .timeout = 10)
{
	Hbmon__V1__HeartbeatBatch *batch =
	    parse_batch_ok("[" ACCOUNT_ONE_LINE "]");

	cr_expect_null(batch->robot);
	cr_expect_eq(batch->n_accounts, 1);
	protobuf_c_message_free_unpacked(&batch->base, NULL);
}

Test(hbjson, batch_robot_and_accounts_object, .timeout = 10)
{
	Hbmon__V1__HeartbeatBatch *batch =
	    parse_batch_ok("{\"robot\": " ROBOT_ONE_LINE ", \"accounts\": "
	                   "[" ACCOUNT_ONE_LINE ", " ACCOUNT_ONE_LINE "]}");
	char *text;

	cr_assert_not_null(batch->robot);
	cr_assert_eq(batch->n_accounts, 2);
	text = hbjson_account_text(batch->accounts[1], HBJSON_PRETTY);
	cr_assert_not_null(text);
	cr_expect_str_eq(text, account_seed);
	free(text);
	protobuf_c_message_free_unpacked(&batch->base, NULL);
}

Test(hbjson, batch_object_without_robot_or_accounts_key, .timeout = 10)
{
	Hbmon__V1__HeartbeatBatch *batch =
	    parse_batch_ok("{\"accounts\": [" ACCOUNT_ONE_LINE "]}");

	cr_expect_null(batch->robot);
	cr_expect_eq(batch->n_accounts, 1);
	protobuf_c_message_free_unpacked(&batch->base, NULL);

	batch = parse_batch_ok("{\"robot\": " ROBOT_ONE_LINE "}");
	cr_expect_not_null(batch->robot);
	cr_expect_eq(batch->n_accounts, 0);
	cr_expect_null(batch->accounts);
	protobuf_c_message_free_unpacked(&batch->base, NULL);
}

enum parser { ROBOT, ACCOUNT, BATCH };

struct bad_document {
	enum parser parser;
	const char *text;
	const char *reason; /* a substring the reason must contain */
};

/* The seed's robot heartbeat with one key's value replaced. */
#define ROBOT_WITH(event, status, accounts, tasks, timestamp)                  \
	"{\"event\": " event ", \"status\": " status                           \
	", \"active_accounts\": " accounts ", \"active_tasks\": " tasks        \
	", \"timestamp\": " timestamp "}"
#define ROBOT_STATUS(status)                                                   \
	ROBOT_WITH("\"ROBOT_HEARTBEAT\"", status, "12", "5",                   \
	           "\"2026-01-20T09:30:00+07:00\"")
#define ROBOT_TASKS(tasks)                                                     \
	ROBOT_WITH("\"ROBOT_HEARTBEAT\"", "\"healthy\"", "12", tasks,          \
	           "\"2026-01-20T09:30:00+07:00\"")
#define ACCOUNT_WITH(status, valid, orders)                                    \
	"{\"event\": \"ACCOUNT_HEARTBEAT\", \"account\": \"ACC_003\", "        \
	"\"status\": " status ", \"session_valid\": " valid                    \
	", \"open_orders\": " orders                                           \
	", \"timestamp\": \"2026-01-20T09:30:00+07:00\"}"

static const struct bad_document bad_documents[] = {
	/* Keys. */
	{ ROBOT,
	  "{\"event\": \"ROBOT_HEARTBEAT\", \"status\": \"healthy\", "
	  "\"active_accounts\": 12, \"timestamp\": \"x\"}",
	  "missing key 'active_tasks'" },
	{ ACCOUNT,
	  "{\"event\": \"ACCOUNT_HEARTBEAT\", \"status\": \"active\", "
	  "\"session_valid\": true, \"open_orders\": 2, \"timestamp\": \"x\"}",
	  "missing key 'account'" },
	{ ROBOT, "{}", "missing key 'event'" },
	{ ROBOT,
	  "{\"event\": \"ROBOT_HEARTBEAT\", \"stauts\": \"healthy\", "
	  "\"active_accounts\": 12, \"active_tasks\": 5, \"timestamp\": \"x\"}",
	  "unknown key 'stauts'" },
	{ ROBOT,
	  "{\"event\": \"ROBOT_HEARTBEAT\", \"status\": \"healthy\", "
	  "\"active_accounts\": 12, \"active_tasks\": 5, \"timestamp\": \"x\", "
	  "\"robot_id\": \"r1\"}",
	  "unknown key 'robot_id' (the keys are event, status, "
	  "active_accounts, active_tasks, timestamp)" },
	{ ACCOUNT,
	  "{\"event\": \"ACCOUNT_HEARTBEAT\", \"account\": \"ACC_003\", "
	  "\"status\": \"active\", \"session_valid\": true, "
	  "\"open_orders\": 2, \"timestamp\": \"x\", \"active_tasks\": 1}",
	  "unknown key 'active_tasks'" },
	{ ROBOT,
	  "{\"event\": \"ROBOT_HEARTBEAT\", \"status\": \"healthy\", "
	  "\"status\": \"degraded\", \"active_accounts\": 12, "
	  "\"active_tasks\": 5, \"timestamp\": \"x\"}",
	  "duplicate object key" },
	/* Types. */
	{ ROBOT, ROBOT_WITH("12", "\"healthy\"", "1", "2", "\"x\""),
	  "key 'event': expected a string, got 12" },
	{ ROBOT,
	  ROBOT_WITH("\"ROBOT_HEARTBEAT\"", "\"healthy\"", "1", "2", "null"),
	  "key 'timestamp': expected a string, got null" },
	{ ROBOT,
	  ROBOT_WITH("\"ROBOT_HEARTBEAT\"", "\"healthy\"", "1", "2",
	             "[\"2026\"]"),
	  "key 'timestamp': expected a string, got an array" },
	{ ROBOT, ROBOT_TASKS("\"5\""),
	  "key 'active_tasks': expected a whole number, got the string '5'" },
	{ ROBOT, ROBOT_TASKS("true"),
	  "key 'active_tasks': expected a whole number, got true" },
	{ ROBOT, ROBOT_TASKS("false"),
	  "key 'active_tasks': expected a whole number, got false" },
	{ ROBOT, ROBOT_TASKS("null"),
	  "key 'active_tasks': expected a whole number, got null" },
	{ ROBOT, ROBOT_TASKS("{}"),
	  "key 'active_tasks': expected a whole number, got an object" },
	/* Numbers. */
	{ ROBOT, ROBOT_TASKS("1.5"),
	  "key 'active_tasks': expected a whole number, got 1.5" },
	{ ROBOT, ROBOT_TASKS("5.0"),
	  "key 'active_tasks': expected a whole number, got 5.0" },
	{ ROBOT, ROBOT_TASKS("1e3"),
	  "key 'active_tasks': expected a whole number, got 1000.0" },
	{ ROBOT, ROBOT_TASKS("-1"), "key 'active_tasks': -1 is negative" },
	{ ROBOT, ROBOT_TASKS("4294967296"),
	  "key 'active_tasks': 4294967296 is larger than 4294967295" },
	{ ROBOT, ROBOT_TASKS("9223372036854775807"),
	  "9223372036854775807 is larger than 4294967295" },
	{ ROBOT, ROBOT_TASKS("99999999999999999999"), "too big integer" },
	{ ACCOUNT, ACCOUNT_WITH("\"active\"", "true", "-2"),
	  "key 'open_orders': -2 is negative" },
	/* Booleans. */
	{ ACCOUNT, ACCOUNT_WITH("\"active\"", "1", "2"),
	  "key 'session_valid': expected true or false, got 1" },
	{ ACCOUNT, ACCOUNT_WITH("\"active\"", "\"true\"", "2"),
	  "key 'session_valid': expected true or false, got the string "
	  "'true'" },
	/* Status words. */
	{ ROBOT, ROBOT_STATUS("\"fine\""),
	  "key 'status': 'fine' is not one of healthy, degraded, unhealthy" },
	{ ROBOT, ROBOT_STATUS("\"Healthy\""),
	  "'Healthy' is not one of healthy, degraded, unhealthy" },
	{ ROBOT, ROBOT_STATUS("\"\""), "'' is not one of" },
	{ ROBOT, ROBOT_STATUS("1"),
	  "key 'status': expected one of healthy, degraded, unhealthy, got 1" },
	{ ACCOUNT, ACCOUNT_WITH("\"running\"", "true", "2"),
	  "key 'status': 'running' is not one of idle, active, expired, "
	  "error" },
	{ ACCOUNT, ACCOUNT_WITH("\"healthy\"", "true", "2"),
	  "'healthy' is not one of idle, active, expired, error" },
	/* Not JSON, or not an object. */
	{ ROBOT, "", "line 1 column 0" },
	{ ROBOT, "{\"event\": \"ROBOT_HEARTBEAT\",\n  \"status\": }",
	  "line 2 column 13: " },
	{ ROBOT, "{\"event\": \"ROBOT_HEARTBEAT\"", "end of file" },
	{ ROBOT, "{\"event\": 'ROBOT_HEARTBEAT'}", "line 1 column" },
	{ ACCOUNT, ACCOUNT_WITH("\"active\"", "true", "2") " {}",
	  "end of file expected" },
	{ ROBOT, "{\"event\": \"A\\u0000B\"}", "line 1 column" },
	{ ROBOT, "[]", "expected a JSON object, got an array" },
	{ ACCOUNT, "\"ACC_003\"", "expected a JSON object, got a string" },
	{ ROBOT, "42", "expected a JSON object, got a number" },
	{ ROBOT, "null", "expected a JSON object, got null" },
	/* Batches. */
	{ BATCH, "[]", "an empty array holds no heartbeats" },
	{ BATCH, "[" ROBOT_ONE_LINE ", " ROBOT_ONE_LINE "]",
	  "[1]: a second robot heartbeat (a batch has at most one)" },
	{ BATCH, "[" ACCOUNT_ONE_LINE ", 7]",
	  "[1]: expected a heartbeat object, got a number" },
	{ BATCH,
	  "[" ACCOUNT_ONE_LINE
	  ", " ACCOUNT_WITH("\"active\"", "true", "1.5") "]",
	  "[1]: key 'open_orders': expected a whole number, got 1.5" },
	{ BATCH, "[{\"status\": \"healthy\"}]", "[0]: missing key 'event'" },
	{ BATCH, "{\"event\": \"HEARTBEAT\"}",
	  "key 'event': 'HEARTBEAT' is not one of ROBOT_HEARTBEAT, "
	  "ACCOUNT_HEARTBEAT" },
	{ BATCH, "{\"event\": 3}",
	  "key 'event': expected one of ROBOT_HEARTBEAT, ACCOUNT_HEARTBEAT, "
	  "got 3" },
	{ BATCH, "{\"status\": \"healthy\"}", "missing key 'event'" },
	{ BATCH, "\"ROBOT_HEARTBEAT\"",
	  "expected a heartbeat object, an array of heartbeats or "
	  "{\"robot\": ..., \"accounts\": [...]}, got a string" },
	{ BATCH, "{\"robot\": " ROBOT_ONE_LINE ", \"account\": []}",
	  "unknown key 'account' (the keys are robot, accounts)" },
	{ BATCH, "{\"robot\": " ACCOUNT_ONE_LINE "}",
	  "robot: expected a robot heartbeat, got an account heartbeat" },
	{ BATCH, "{\"robot\": null}",
	  "robot: expected a heartbeat object, got null" },
	{ BATCH, "{\"accounts\": [" ROBOT_ONE_LINE "]}",
	  "accounts[0]: expected an account heartbeat, got a robot "
	  "heartbeat" },
	{ BATCH, "{\"accounts\": " ACCOUNT_ONE_LINE "}",
	  "key 'accounts': expected an array, got an object" },
	{ BATCH, "{\"accounts\": []}", "the batch holds no heartbeats" },
	{ BATCH,
	  "{\"robot\": " ROBOT_ONE_LINE ", \"accounts\": [" ACCOUNT_ONE_LINE
	  ", " ACCOUNT_WITH("\"gone\"", "false", "0") "]}",
	  "accounts[1]: key 'status': 'gone' is not one of" },
	{ BATCH, "[" ACCOUNT_ONE_LINE ", " ACCOUNT_ONE_LINE "", "line 1" },
};

static int
parse_with(enum parser parser, const char *text, char *why, size_t why_len)
{
	Hbmon__V1__RobotHeartbeat *robot = NULL;
	Hbmon__V1__AccountHeartbeat *account = NULL;
	Hbmon__V1__HeartbeatBatch *batch = NULL;
	int rv = -1;

	/* Poisoned, so that a parser that forgets to clear *out shows up. */
	robot = (void *) &rv;
	account = (void *) &rv;
	batch = (void *) &rv;
	switch (parser) {
	case ROBOT:
		rv = hbjson_parse_robot(text, strlen(text), &robot, why,
		                        why_len);
		cr_expect_null(robot);
		break;
	case ACCOUNT:
		rv = hbjson_parse_account(text, strlen(text), &account, why,
		                          why_len);
		cr_expect_null(account);
		break;
	case BATCH:
		rv = hbjson_parse_batch(text, strlen(text), &batch, why,
		                        why_len);
		cr_expect_null(batch);
		break;
	}
	return rv;
}

Test(hbjson, bad_documents_are_refused_with_a_reason, .timeout = 10)
{
	size_t count = sizeof(bad_documents) / sizeof(bad_documents[0]);

	for (size_t i = 0; i < count; i++) {
		const struct bad_document *bad = &bad_documents[i];
		char why[256] = "";
		int rv = parse_with(bad->parser, bad->text, why, sizeof(why));

		cr_expect_eq(rv, HBMON_EINVAL, "case %zu: rv %d for %s", i, rv,
		             bad->text);
		cr_expect(strstr(why, bad->reason) != NULL,
		          "case %zu: reason \"%s\" lacks \"%s\"", i, why,
		          bad->reason);
	}
}

/* The same documents through the other parsers, and with no why at all. */
Test(hbjson, bad_documents_are_refused_without_a_why, .timeout = 10)
{
	size_t count = sizeof(bad_documents) / sizeof(bad_documents[0]);

	for (size_t i = 0; i < count; i++) {
		cr_expect_eq(parse_with(bad_documents[i].parser,
		                        bad_documents[i].text, NULL, 0),
		             HBMON_EINVAL, "case %zu", i);
	}
}

Test(hbjson, reason_fits_a_small_buffer, .timeout = 10)
{
	char why[8];

	cr_assert_eq(
	    parse_with(ROBOT, ROBOT_STATUS("\"fine\""), why, sizeof(why)),
	    HBMON_EINVAL);
	cr_expect_str_eq(why, "key 'st");
}

/* Reasons quote the key and the value, cut to 40 bytes, on one line. */
Test(hbjson, reasons_cut_long_values, .timeout = 10)
{
	char long_word[201];
	char document[512];
	char why[256];
	char *x40;

	memset(long_word, 'x', sizeof(long_word) - 1);
	long_word[sizeof(long_word) - 1] = '\0';
	x40 = strndup(long_word, 40);
	cr_assert_not_null(x40);

	snprintf(document, sizeof(document), ROBOT_STATUS("\"%s\""), long_word);
	cr_assert_eq(parse_with(ROBOT, document, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_expect(strstr(why, x40) != NULL, "%s", why);
	cr_expect(strstr(why, "x...'") != NULL, "%s", why);
	cr_expect(strlen(why) < 120, "%s", why);

	snprintf(document, sizeof(document), "{\"%s\": 1}", long_word);
	cr_assert_eq(parse_with(ACCOUNT, document, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_expect(strstr(why, "unknown key 'xxxxxxxxxx") != NULL, "%s", why);
	cr_expect(strstr(why, "x...'") != NULL, "%s", why);

	/* Jansson's own "near '...'" is cut the same way. */
	snprintf(document, sizeof(document), "{\"event\": \"%s", long_word);
	cr_assert_eq(parse_with(ROBOT, document, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_expect(strstr(why, "line 1 column") != NULL, "%s", why);
	cr_expect(strlen(why) < 100, "%s", why);

	/* Newlines and tabs in a value do not split a log line. */
	cr_assert_eq(
	    parse_with(ROBOT, ROBOT_STATUS("\"a\\nb\\tc\""), why, sizeof(why)),
	    HBMON_EINVAL);
	cr_expect(strstr(why, "'a?b?c'") != NULL, "%s", why);

	/* A cut never splits a UTF-8 character. */
	snprintf(document, sizeof(document),
	         ROBOT_STATUS("\"%.39s\xc3\xa9\xc3\xa9\""), long_word);
	cr_assert_eq(parse_with(ROBOT, document, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_expect(strstr(why, "xxx...'") != NULL, "%s", why);
	free(x40);
}

/*
 * Parsed messages, whole or abandoned half way, and batches free cleanly.
 * The suite runs under ASan; LeakSanitizer is asked here, not only at exit.
 */
Test(hbjson, parsed_messages_free_without_leaks, .timeout = 10)
{
	Hbmon__V1__RobotHeartbeat *robot;
	Hbmon__V1__AccountHeartbeat *account;
	Hbmon__V1__HeartbeatBatch *batch;
	size_t count = sizeof(bad_documents) / sizeof(bad_documents[0]);

	for (int round = 0; round < 3; round++) {
		robot = parse_robot_ok(robot_seed);
		protobuf_c_message_free_unpacked(&robot->base, NULL);
		account = parse_account_ok(account_seed);
		protobuf_c_message_free_unpacked(&account->base, NULL);
		batch = parse_batch_ok("{\"robot\": " ROBOT_ONE_LINE
		                       ", \"accounts\": [" ACCOUNT_ONE_LINE
		                       ", " ACCOUNT_ONE_LINE "]}");
		protobuf_c_message_free_unpacked(&batch->base, NULL);
		batch = parse_batch_ok("[" ACCOUNT_ONE_LINE ", " ROBOT_ONE_LINE
		                       "]");
		protobuf_c_message_free_unpacked(&batch->base, NULL);
		for (size_t i = 0; i < count; i++)
			(void) parse_with(bad_documents[i].parser,
			                  bad_documents[i].text, NULL, 0);
	}
#ifdef HAVE_LSAN
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
	             "LeakSanitizer found leaks (see stderr)");
#endif
}
