/*
 * hbjson: the JSON mirror of the heartbeats.
 *
 * One table per message lists the documented keys in the seed's order.
 * Parsing and printing both walk that table, so the two directions cannot
 * drift apart and the printed keys come out in the seed's order.
 *
 * Reasons quote at most the key name and the offending value, each cut to
 * QUOTE_MAX bytes: they end up in logs and in replies to robots, and a
 * megabyte of somebody's document helps nobody there.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hbjson.h"
#include "common/words.h"
#include "hbmon/error.h"

#define ROBOT_EVENT   "ROBOT_HEARTBEAT"
#define ACCOUNT_EVENT "ACCOUNT_HEARTBEAT"

/* The most bytes of a key or value that a reason quotes. */
#define QUOTE_MAX 40
/* A quoted key or value: QUOTE_MAX bytes, "..." and the NUL. */
#define QUOTE_SIZE (QUOTE_MAX + 4)
/* A reason before hbjson_parse_batch says where in the batch it arose. */
#define REASON_SIZE 256

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

enum field_kind {
	FIELD_STRING,  /* char * */
	FIELD_UINT32,  /* uint32_t */
	FIELD_BOOL,    /* protobuf_c_boolean */
	FIELD_HEALTH,  /* Hbmon__V1__HealthStatus, as a words_health() word */
	FIELD_ACCOUNT, /* Hbmon__V1__AccountStatus, as a words_account() word */
};

struct field {
	const char *key; /* the seed's key, equal to the proto field name */
	enum field_kind kind;
	size_t offset; /* of the member in the protobuf-c struct */
};

static const struct field robot_fields[] = {
	{ "event", FIELD_STRING, offsetof(Hbmon__V1__RobotHeartbeat, event) },
	{ "status", FIELD_HEALTH, offsetof(Hbmon__V1__RobotHeartbeat, status) },
	{ "active_accounts", FIELD_UINT32,
	  offsetof(Hbmon__V1__RobotHeartbeat, active_accounts) },
	{ "active_tasks", FIELD_UINT32,
	  offsetof(Hbmon__V1__RobotHeartbeat, active_tasks) },
	{ "timestamp", FIELD_STRING,
	  offsetof(Hbmon__V1__RobotHeartbeat, timestamp) },
};

static const struct field account_fields[] = {
	{ "event", FIELD_STRING, offsetof(Hbmon__V1__AccountHeartbeat, event) },
	{ "account", FIELD_STRING,
	  offsetof(Hbmon__V1__AccountHeartbeat, account) },
	{ "status", FIELD_ACCOUNT,
	  offsetof(Hbmon__V1__AccountHeartbeat, status) },
	{ "session_valid", FIELD_BOOL,
	  offsetof(Hbmon__V1__AccountHeartbeat, session_valid) },
	{ "open_orders", FIELD_UINT32,
	  offsetof(Hbmon__V1__AccountHeartbeat, open_orders) },
	{ "timestamp", FIELD_STRING,
	  offsetof(Hbmon__V1__AccountHeartbeat, timestamp) },
};

enum heartbeat_kind {
	HEARTBEAT_ANY,
	HEARTBEAT_ROBOT,
	HEARTBEAT_ACCOUNT,
};

static void say(char *why, size_t why_len, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* Writes a reason, cut to why_len; why may be NULL when nobody asks. */
static void
say(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/*
 * Copies at most QUOTE_MAX bytes of text into buf for a reason, cutting on
 * a character boundary and marking the cut with "...". Control characters
 * become '?' so that a reason stays on one line of a log.
 */
static const char *
quote(char buf[QUOTE_SIZE], const char *text, size_t len)
{
	size_t n = len;
	bool cut = false;

	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		/* Back up over continuation bytes to the start of a character.
		 */
		while (n > 0 && ((unsigned char) text[n] & 0xC0) == 0x80)
			n--;
		cut = true;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) text[i];
		buf[i] = (c < 0x20 || c == 0x7F) ? '?' : (char) c;
	}
	if (cut) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* What a JSON value is, quoting it where that helps: "the string 'x'", "-1".
 */
static const char *
describe(char *buf, size_t buf_len, json_t *value)
{
	char quoted[QUOTE_SIZE];

	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		snprintf(buf, buf_len, "the string '%s'",
		         quote(quoted, json_string_value(value),
		               json_string_length(value)));
		return buf;
	case JSON_INTEGER:
		snprintf(buf, buf_len, "%" JSON_INTEGER_FORMAT,
		         json_integer_value(value));
		return buf;
	case JSON_REAL:
		/* "5.0", not "5": the reason must show why 5.0 is no integer.
		 */
		snprintf(buf, buf_len, "%.15g", json_real_value(value));
		if (strpbrk(buf, ".eEni") == NULL)
			strncat(buf, ".0", buf_len - strlen(buf) - 1);
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "an unknown JSON value";
}

/* Kinds only, for whole documents and batch elements. */
static const char *
kind_of(json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "an unknown JSON value";
}

/*
 * Jansson ends most messages with "near '<token>'", and the token can be a
 * whole string from the document; cut it like any other quoted value.
 */
static void
say_load_error(char *why, size_t why_len, const json_error_t *error)
{
	static const char near[] = " near '";
	char quoted[QUOTE_SIZE];
	const char *token = strstr(error->text, near);
	const char *end;

	if (token == NULL) {
		say(why, why_len, "line %d column %d: %s", error->line,
		    error->column, error->text);
		return;
	}
	token += sizeof(near) - 1;
	end = token + strlen(token);
	if (end > token && end[-1] == '\'')
		end--;
	say(why, why_len, "line %d column %d: %.*s'%s'", error->line,
	    error->column, (int) (token - error->text - 1), error->text,
	    quote(quoted, token, (size_t) (end - token)));
}

static int
load(const char *text, size_t len, json_t **root, char *why, size_t why_len)
{
	json_error_t error;

	assert(text != NULL || len == 0);
	if (text == NULL)
		text = "";
	/*
	 * JSON_DECODE_ANY so that a bare string or number gets "expected a
	 * JSON object" instead of jansson's less telling "'[' or '{'
	 * expected".
	 */
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	                   &error);
	if (*root != NULL)
		return HBMON_OK;
	if (json_error_code(&error) == json_error_out_of_memory) {
		say(why, why_len, "out of memory");
		return HBMON_ENOMEM;
	}
	say_load_error(why, why_len, &error);
	return HBMON_EINVAL;
}

static const struct field *
find_field(const struct field *fields, size_t count, const char *key)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

static void
say_unknown_key(char *why, size_t why_len, const char *key,
                const struct field *fields, size_t count)
{
	char quoted[QUOTE_SIZE];
	char keys[128] = "";
	size_t used = 0;

	for (size_t i = 0; i < count && used < sizeof(keys); i++)
		used +=
		    (size_t) snprintf(keys + used, sizeof(keys) - used, "%s%s",
		                      i > 0 ? ", " : "", fields[i].key);
	say(why, why_len, "unknown key '%s' (the keys are %s)",
	    quote(quoted, key, strlen(key)), keys);
}

/* A heap copy, because protobuf_c_message_free_unpacked() will free() it. */
static char *
copy_string(json_t *string)
{
	size_t len = json_string_length(string);
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return NULL;
	/* No NUL inside: jansson refuses \u0000 without JSON_ALLOW_NUL. */
	memcpy(copy, json_string_value(string), len);
	copy[len] = '\0';
	return copy;
}

static int
uint32_from_json(const char *key, json_t *value, uint32_t *out, char *why,
                 size_t why_len)
{
	char described[QUOTE_SIZE + 16];
	json_int_t number;

	if (!json_is_integer(value)) {
		say(why, why_len, "key '%s': expected a whole number, got %s",
		    key, describe(described, sizeof(described), value));
		return HBMON_EINVAL;
	}
	number = json_integer_value(value);
	if (number < 0) {
		say(why, why_len,
		    "key '%s': %" JSON_INTEGER_FORMAT " is negative", key,
		    number);
		return HBMON_EINVAL;
	}
	if ((unsigned long long) number > UINT32_MAX) {
		say(why, why_len,
		    "key '%s': %" JSON_INTEGER_FORMAT " is larger than %lu",
		    key, number, (unsigned long) UINT32_MAX);
		return HBMON_EINVAL;
	}
	*out = (uint32_t) number;
	return HBMON_OK;
}

static int
status_from_json(const char *key, json_t *value,
                 int (*parse)(const char *word, int *out),
                 const char *valid_words, int *out, char *why, size_t why_len)
{
	char described[QUOTE_SIZE + 16];
	char quoted[QUOTE_SIZE];

	if (!json_is_string(value)) {
		say(why, why_len, "key '%s': expected one of %s, got %s", key,
		    valid_words, describe(described, sizeof(described), value));
		return HBMON_EINVAL;
	}
	if (parse(json_string_value(value), out) != HBMON_OK) {
		say(why, why_len, "key '%s': '%s' is not one of %s", key,
		    quote(quoted, json_string_value(value),
		          json_string_length(value)),
		    valid_words);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

/* Adapters so that status_from_json() serves both status enums. */
static int
parse_health(const char *word, int *out)
{
	Hbmon__V1__HealthStatus status;

	if (words_health_parse(word, &status) != HBMON_OK)
		return HBMON_EINVAL;
	*out = (int) status;
	return HBMON_OK;
}

static int
parse_account(const char *word, int *out)
{
	Hbmon__V1__AccountStatus status;

	if (words_account_parse(word, &status) != HBMON_OK)
		return HBMON_EINVAL;
	*out = (int) status;
	return HBMON_OK;
}

static int
field_from_json(const struct field *field, json_t *value, void *member,
                char *why, size_t why_len)
{
	char described[QUOTE_SIZE + 16];
	int status;
	int rv;

	switch (field->kind) {
	case FIELD_STRING:
		if (!json_is_string(value)) {
			say(why, why_len, "key '%s': expected a string, got %s",
			    field->key,
			    describe(described, sizeof(described), value));
			return HBMON_EINVAL;
		}
		*(char **) member = copy_string(value);
		if (*(char **) member == NULL) {
			/* Leave the default so that freeing stays safe. */
			*(char **) member = (char *) protobuf_c_empty_string;
			say(why, why_len, "out of memory");
			return HBMON_ENOMEM;
		}
		return HBMON_OK;
	case FIELD_UINT32:
		return uint32_from_json(field->key, value, member, why,
		                        why_len);
	case FIELD_BOOL:
		if (!json_is_boolean(value)) {
			say(why, why_len,
			    "key '%s': expected true or false, got %s",
			    field->key,
			    describe(described, sizeof(described), value));
			return HBMON_EINVAL;
		}
		*(protobuf_c_boolean *) member = json_is_true(value);
		return HBMON_OK;
	case FIELD_HEALTH:
		rv = status_from_json(field->key, value, parse_health,
		                      words_health_list(), &status, why,
		                      why_len);
		if (rv == HBMON_OK)
			*(Hbmon__V1__HealthStatus *) member =
			    (Hbmon__V1__HealthStatus) status;
		return rv;
	case FIELD_ACCOUNT:
		rv = status_from_json(field->key, value, parse_account,
		                      words_account_list(), &status, why,
		                      why_len);
		if (rv == HBMON_OK)
			*(Hbmon__V1__AccountStatus *) member =
			    (Hbmon__V1__AccountStatus) status;
		return rv;
	}
	assert(!"unhandled field kind");
	return HBMON_EINTERNAL;
}

/*
 * Fills message from object. Unknown keys are reported before missing ones
 * because a misspelt key is both, and its spelling is the useful clue.
 */
static int
fields_from_json(json_t *object, const struct field *fields, size_t count,
                 void *message, char *why, size_t why_len)
{
	const char *key;
	json_t *value;
	int rv;

	json_object_foreach(object, key, value)
	{
		if (find_field(fields, count, key) == NULL) {
			say_unknown_key(why, why_len, key, fields, count);
			return HBMON_EINVAL;
		}
	}
	for (size_t i = 0; i < count; i++) {
		value = json_object_get(object, fields[i].key);
		if (value == NULL) {
			say(why, why_len, "missing key '%s'", fields[i].key);
			return HBMON_EINVAL;
		}
		rv = field_from_json(&fields[i], value,
		                     (char *) message + fields[i].offset, why,
		                     why_len);
		if (rv != HBMON_OK)
			return rv;
	}
	return HBMON_OK;
}

static int
robot_from_json(json_t *object, Hbmon__V1__RobotHeartbeat **out, char *why,
                size_t why_len)
{
	Hbmon__V1__RobotHeartbeat *hb = malloc(sizeof(*hb));
	int rv;

	if (hb == NULL) {
		say(why, why_len, "out of memory");
		return HBMON_ENOMEM;
	}
	hbmon__v1__robot_heartbeat__init(hb);
	rv = fields_from_json(object, robot_fields, COUNT(robot_fields), hb,
	                      why, why_len);
	if (rv != HBMON_OK) {
		protobuf_c_message_free_unpacked(&hb->base, NULL);
		return rv;
	}
	*out = hb;
	return HBMON_OK;
}

static int
account_from_json(json_t *object, Hbmon__V1__AccountHeartbeat **out, char *why,
                  size_t why_len)
{
	Hbmon__V1__AccountHeartbeat *hb = malloc(sizeof(*hb));
	int rv;

	if (hb == NULL) {
		say(why, why_len, "out of memory");
		return HBMON_ENOMEM;
	}
	hbmon__v1__account_heartbeat__init(hb);
	rv = fields_from_json(object, account_fields, COUNT(account_fields), hb,
	                      why, why_len);
	if (rv != HBMON_OK) {
		protobuf_c_message_free_unpacked(&hb->base, NULL);
		return rv;
	}
	*out = hb;
	return HBMON_OK;
}

static void
clear_why(char *why, size_t why_len)
{
	if (why != NULL && why_len > 0)
		why[0] = '\0';
}

int
hbjson_parse_robot(const char *text, size_t len,
                   Hbmon__V1__RobotHeartbeat **out, char *why, size_t why_len)
{
	json_t *root;
	int rv;

	assert(out != NULL);
	*out = NULL;
	clear_why(why, why_len);
	rv = load(text, len, &root, why, why_len);
	if (rv != HBMON_OK)
		return rv;
	if (json_is_object(root)) {
		rv = robot_from_json(root, out, why, why_len);
	} else {
		say(why, why_len, "expected a JSON object, got %s",
		    kind_of(root));
		rv = HBMON_EINVAL;
	}
	json_decref(root);
	return rv;
}

int
hbjson_parse_account(const char *text, size_t len,
                     Hbmon__V1__AccountHeartbeat **out, char *why,
                     size_t why_len)
{
	json_t *root;
	int rv;

	assert(out != NULL);
	*out = NULL;
	clear_why(why, why_len);
	rv = load(text, len, &root, why, why_len);
	if (rv != HBMON_OK)
		return rv;
	if (json_is_object(root)) {
		rv = account_from_json(root, out, why, why_len);
	} else {
		say(why, why_len, "expected a JSON object, got %s",
		    kind_of(root));
		rv = HBMON_EINVAL;
	}
	json_decref(root);
	return rv;
}

/* Tells a heartbeat object's kind by its "event", the only thing that can. */
static int
heartbeat_kind(json_t *object, enum heartbeat_kind *kind, char *why,
               size_t why_len)
{
	json_t *event = json_object_get(object, "event");
	char described[QUOTE_SIZE + 16];
	char quoted[QUOTE_SIZE];

	if (event == NULL) {
		say(why, why_len, "missing key 'event'");
		return HBMON_EINVAL;
	}
	if (!json_is_string(event)) {
		say(why, why_len,
		    "key 'event': expected one of " ROBOT_EVENT
		    ", " ACCOUNT_EVENT ", got %s",
		    describe(described, sizeof(described), event));
		return HBMON_EINVAL;
	}
	if (strcmp(json_string_value(event), ROBOT_EVENT) == 0) {
		*kind = HEARTBEAT_ROBOT;
	} else if (strcmp(json_string_value(event), ACCOUNT_EVENT) == 0) {
		*kind = HEARTBEAT_ACCOUNT;
	} else {
		say(why, why_len,
		    "key 'event': '%s' is not one of " ROBOT_EVENT
		    ", " ACCOUNT_EVENT,
		    quote(quoted, json_string_value(event),
		          json_string_length(event)));
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

/*
 * Adds one heartbeat object to batch, whose accounts array has room for it.
 * expect: the kind the object's place in the document calls for.
 */
static int
batch_add(Hbmon__V1__HeartbeatBatch *batch, json_t *value,
          enum heartbeat_kind expect, char *why, size_t why_len)
{
	enum heartbeat_kind kind;
	int rv;

	if (!json_is_object(value)) {
		say(why, why_len, "expected a heartbeat object, got %s",
		    kind_of(value));
		return HBMON_EINVAL;
	}
	rv = heartbeat_kind(value, &kind, why, why_len);
	if (rv != HBMON_OK)
		return rv;
	if (expect != HEARTBEAT_ANY && kind != expect) {
		say(why, why_len, "expected %s heartbeat, got %s heartbeat",
		    expect == HEARTBEAT_ROBOT ? "a robot" : "an account",
		    kind == HEARTBEAT_ROBOT ? "a robot" : "an account");
		return HBMON_EINVAL;
	}
	if (kind == HEARTBEAT_ROBOT) {
		if (batch->robot != NULL) {
			say(why, why_len,
			    "a second robot heartbeat (a batch has at most "
			    "one)");
			return HBMON_EINVAL;
		}
		return robot_from_json(value, &batch->robot, why, why_len);
	}
	rv = account_from_json(value, &batch->accounts[batch->n_accounts], why,
	                       why_len);
	if (rv == HBMON_OK)
		batch->n_accounts++;
	return rv;
}

/*
 * Room for every element that might be an account, so that adding never
 * reallocates; protobuf-c frees the array along with the batch.
 */
static int
batch_reserve(Hbmon__V1__HeartbeatBatch *batch, size_t count, char *why,
              size_t why_len)
{
	assert(batch->accounts == NULL);
	if (count == 0)
		return HBMON_OK;
	batch->accounts = calloc(count, sizeof(*batch->accounts));
	if (batch->accounts == NULL) {
		say(why, why_len, "out of memory");
		return HBMON_ENOMEM;
	}
	return HBMON_OK;
}

static int
batch_from_array(Hbmon__V1__HeartbeatBatch *batch, json_t *array, char *why,
                 size_t why_len)
{
	char reason[REASON_SIZE];
	json_t *value;
	size_t index;
	int rv;

	if (json_array_size(array) == 0) {
		say(why, why_len, "an empty array holds no heartbeats");
		return HBMON_EINVAL;
	}
	rv = batch_reserve(batch, json_array_size(array), why, why_len);
	if (rv != HBMON_OK)
		return rv;
	json_array_foreach(array, index, value)
	{
		rv = batch_add(batch, value, HEARTBEAT_ANY, reason,
		               sizeof(reason));
		if (rv != HBMON_OK) {
			say(why, why_len, "[%zu]: %s", index, reason);
			return rv;
		}
	}
	return HBMON_OK;
}

/* {"robot": {...}, "accounts": [...]}; either key may be left out. */
static int
batch_from_wrapper(Hbmon__V1__HeartbeatBatch *batch, json_t *object, char *why,
                   size_t why_len)
{
	char reason[REASON_SIZE];
	char quoted[QUOTE_SIZE];
	json_t *robot = json_object_get(object, "robot");
	json_t *accounts = json_object_get(object, "accounts");
	const char *key;
	json_t *value;
	size_t index;
	int rv;

	json_object_foreach(object, key, value)
	{
		if (strcmp(key, "robot") != 0 && strcmp(key, "accounts") != 0) {
			say(why, why_len,
			    "unknown key '%s' (the keys are robot, accounts)",
			    quote(quoted, key, strlen(key)));
			return HBMON_EINVAL;
		}
	}
	if (accounts != NULL && !json_is_array(accounts)) {
		say(why, why_len, "key 'accounts': expected an array, got %s",
		    kind_of(accounts));
		return HBMON_EINVAL;
	}
	if (robot != NULL) {
		rv = batch_add(batch, robot, HEARTBEAT_ROBOT, reason,
		               sizeof(reason));
		if (rv != HBMON_OK) {
			say(why, why_len, "robot: %s", reason);
			return rv;
		}
	}
	if (accounts != NULL) {
		rv = batch_reserve(batch, json_array_size(accounts), why,
		                   why_len);
		if (rv != HBMON_OK)
			return rv;
		json_array_foreach(accounts, index, value)
		{
			rv = batch_add(batch, value, HEARTBEAT_ACCOUNT, reason,
			               sizeof(reason));
			if (rv != HBMON_OK) {
				say(why, why_len, "accounts[%zu]: %s", index,
				    reason);
				return rv;
			}
		}
	}
	if (batch->robot == NULL && batch->n_accounts == 0) {
		say(why, why_len, "the batch holds no heartbeats");
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

int
hbjson_parse_batch(const char *text, size_t len,
                   Hbmon__V1__HeartbeatBatch **out, char *why, size_t why_len)
{
	Hbmon__V1__HeartbeatBatch *batch = NULL;
	json_t *root;
	int rv;

	assert(out != NULL);
	*out = NULL;
	clear_why(why, why_len);
	rv = load(text, len, &root, why, why_len);
	if (rv != HBMON_OK)
		return rv;
	batch = malloc(sizeof(*batch));
	if (batch == NULL) {
		say(why, why_len, "out of memory");
		rv = HBMON_ENOMEM;
		goto fail;
	}
	hbmon__v1__heartbeat_batch__init(batch);
	if (json_is_array(root)) {
		rv = batch_from_array(batch, root, why, why_len);
	} else if (json_is_object(root) &&
	           (json_object_get(root, "robot") != NULL ||
	            json_object_get(root, "accounts") != NULL)) {
		rv = batch_from_wrapper(batch, root, why, why_len);
	} else if (json_is_object(root)) {
		/* Without "robot" or "accounts" it can only be a heartbeat. */
		rv = batch_reserve(batch, 1, why, why_len);
		if (rv == HBMON_OK)
			rv =
			    batch_add(batch, root, HEARTBEAT_ANY, why, why_len);
	} else {
		say(why, why_len,
		    "expected a heartbeat object, an array of heartbeats or "
		    "{\"robot\": ..., \"accounts\": [...]}, got %s",
		    kind_of(root));
		rv = HBMON_EINVAL;
	}
	if (rv != HBMON_OK)
		goto fail;
	/* As protobuf-c's unpack leaves it: no array without elements. */
	if (batch->n_accounts == 0) {
		free(batch->accounts);
		batch->accounts = NULL;
	}
	json_decref(root);
	*out = batch;
	return HBMON_OK;

fail:
	if (batch != NULL)
		protobuf_c_message_free_unpacked(&batch->base, NULL);
	json_decref(root);
	return rv;
}

/* Length of the well-formed UTF-8 character at s, or 0 if there is none. */
static size_t
utf8_char(const unsigned char *s)
{
	uint32_t code;
	uint32_t least;
	size_t more;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		code = s[0] & 0x1F;
		least = 0x80;
		more = 1;
	} else if ((s[0] & 0xF0) == 0xE0) {
		code = s[0] & 0x0F;
		least = 0x800;
		more = 2;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		code = s[0] & 0x07;
		least = 0x10000;
		more = 3;
	} else {
		return 0;
	}
	/* The terminating NUL is no continuation byte, so this stops there. */
	for (size_t i = 1; i <= more; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		code = (code << 6) | (s[i] & 0x3F);
	}
	if (code < least || code > 0x10FFFF ||
	    (code >= 0xD800 && code <= 0xDFFF))
		return 0;
	return more + 1;
}

/*
 * A JSON string for a message's string. Protobuf senders are not held to
 * UTF-8, and jansson refuses anything else; rather than fail (the
 * contract allows failing only for memory) each bad byte becomes U+FFFD.
 */
static json_t *
string_to_json(const char *text)
{
	static const char replacement[] = "\xEF\xBF\xBD";
	const unsigned char *s;
	json_t *string;
	char *fixed;
	size_t used = 0;

	if (text == NULL)
		text = "";
	string = json_string(text);
	if (string != NULL)
		return string;
	fixed = malloc(strlen(text) * 3 + 1);
	if (fixed == NULL)
		return NULL;
	for (s = (const unsigned char *) text; *s != '\0';) {
		size_t n = utf8_char(s);

		if (n == 0) {
			memcpy(fixed + used, replacement, 3);
			used += 3;
			s++;
		} else {
			memcpy(fixed + used, s, n);
			used += n;
			s += n;
		}
	}
	fixed[used] = '\0';
	string = json_string(fixed);
	free(fixed);
	return string;
}

static json_t *
field_to_json(const struct field *field, const void *member)
{
	const char *word;
	uint32_t number;
	int status;

	switch (field->kind) {
	case FIELD_STRING:
		return string_to_json(*(char *const *) member);
	case FIELD_UINT32:
		number = *(const uint32_t *) member;
		return json_integer((json_int_t) number);
	case FIELD_BOOL:
		return json_boolean(*(const protobuf_c_boolean *) member);
	case FIELD_HEALTH:
		status = (int) *(const Hbmon__V1__HealthStatus *) member;
		word = words_health((Hbmon__V1__HealthStatus) status);
		break;
	case FIELD_ACCOUNT:
		status = (int) *(const Hbmon__V1__AccountStatus *) member;
		word = words_account((Hbmon__V1__AccountStatus) status);
		break;
	default:
		assert(!"unhandled field kind");
		return NULL;
	}
	/* No word (UNSPECIFIED or a newer peer's value): keep the number. */
	return word != NULL ? json_string(word) : json_integer(status);
}

static json_t *
fields_to_json(const struct field *fields, size_t count, const void *message)
{
	json_t *object = json_object();

	if (object == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		json_t *value = field_to_json(
		    &fields[i], (const char *) message + fields[i].offset);

		/* json_object_set_new() releases value even when it fails. */
		if (value == NULL ||
		    json_object_set_new(object, fields[i].key, value) != 0) {
			json_decref(object);
			return NULL;
		}
	}
	return object;
}

json_t *
hbjson_robot_value(const Hbmon__V1__RobotHeartbeat *hb)
{
	assert(hb != NULL);
	return fields_to_json(robot_fields, COUNT(robot_fields), hb);
}

json_t *
hbjson_account_value(const Hbmon__V1__AccountHeartbeat *hb)
{
	assert(hb != NULL);
	return fields_to_json(account_fields, COUNT(account_fields), hb);
}

/*
 * Takes value. json_dumps() allocates with jansson's allocator, which is
 * malloc unless a program calls json_set_alloc_funcs(); hbmon does not.
 * JSON_PRESERVE_ORDER keeps the seed's key order on jansson before 2.8.
 */
static char *
dump(json_t *value, int flags)
{
	size_t dump_flags = JSON_PRESERVE_ORDER;
	char *text;

	if (value == NULL)
		return NULL;
	dump_flags |= (flags & HBJSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
	text = json_dumps(value, dump_flags);
	json_decref(value);
	return text;
}

char *
hbjson_robot_text(const Hbmon__V1__RobotHeartbeat *hb, int flags)
{
	return dump(hbjson_robot_value(hb), flags);
}

char *
hbjson_account_text(const Hbmon__V1__AccountHeartbeat *hb, int flags)
{
	return dump(hbjson_account_value(hb), flags);
}
