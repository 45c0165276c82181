/* Heartbeat validation and the seed's two state diagrams. */
#include "server/rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/quote.h"
#include "common/rfc3339.h"
#include "common/words.h"
#include "hbmon/error.h"

#define H(x) HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_##x
#define A(x) HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_##x

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && why_len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return HBMON_EINVAL;
}

static int
check_event(const char *event, const char *want, char *why, size_t why_len)
{
	char q[QUOTE_NAME_SIZE];

	if (event == NULL || event[0] == '\0') {
		return fail(why, why_len, "event is missing; send \"%s\"",
		            want);
	}
	if (strcmp(event, want) != 0) {
		return fail(why, why_len, "event '%s' is not \"%s\"",
		            quote_str(q, sizeof(q), event), want);
	}
	return HBMON_OK;
}

static int
check_timestamp(const char *ts, struct rfc3339_time *out, char *why,
                size_t why_len)
{
	struct rfc3339_time t;
	char reason[128] = "";
	char q[QUOTE_NAME_SIZE];

	if (ts == NULL || ts[0] == '\0') {
		return fail(why, why_len,
		            "timestamp is missing; send RFC 3339 with its UTC "
		            "offset, e.g. 2026-01-20T09:30:00+07:00");
	}
	if (rfc3339_parse(ts, strlen(ts), &t, reason, sizeof(reason)) !=
	    HBMON_OK) {
		return fail(why, why_len, "timestamp '%s' is not RFC 3339: %s",
		            quote_str(q, sizeof(q), ts), reason);
	}
	*out = t;
	return HBMON_OK;
}

int
rules_check_robot(const Hbmon__V1__RobotHeartbeat *hb,
                  struct rfc3339_time *out_ts, char *why, size_t why_len)
{
	int rv;

	if ((rv = check_event(hb->event, "ROBOT_HEARTBEAT", why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	if (words_health(hb->status) == NULL) {
		if (hb->status == H(UNSPECIFIED)) {
			return fail(why, why_len,
			            "status is missing (UNSPECIFIED); send one "
			            "of %s",
			            words_health_list());
		}
		return fail(why, why_len,
		            "status %d is not a health status; send one of %s",
		            (int) hb->status, words_health_list());
	}
	return check_timestamp(hb->timestamp, out_ts, why, why_len);
}

int
rules_check_account(const Hbmon__V1__AccountHeartbeat *hb,
                    struct rfc3339_time *out_ts, char *why, size_t why_len)
{
	const char *word;
	char q[QUOTE_NAME_SIZE];
	size_t len, at;
	uint32_t cp;
	int rv;

	if ((rv = check_event(hb->event, "ACCOUNT_HEARTBEAT", why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	len = hb->account != NULL ? strlen(hb->account) : 0;
	if (len == 0) {
		return fail(why, why_len,
		            "account is empty; name the account, e.g. ACC_003");
	}
	if (len > RULES_NAME_MAX) {
		return fail(why, why_len,
		            "account name is %zu bytes; at most %d are allowed",
		            len, RULES_NAME_MAX);
	}
	if (quote_find_unsafe(hb->account, len, &at, &cp)) {
		if (cp == UINT32_MAX) {
			return fail(
			    why, why_len,
			    "account name '%s' is not valid UTF-8 (byte "
			    "%zu)",
			    quote_str(q, sizeof(q), hb->account), at);
		}
		return fail(why, why_len,
		            "account name '%s' holds U+%04X (byte %zu), a "
		            "control, bidirectional or invisible character; "
		            "name accounts with printable characters",
		            quote_str(q, sizeof(q), hb->account), (unsigned) cp,
		            at);
	}
	word = words_account(hb->status);
	if (word == NULL) {
		if (hb->status == A(UNSPECIFIED)) {
			return fail(why, why_len,
			            "status is missing (UNSPECIFIED); send one "
			            "of %s",
			            words_account_list());
		}
		return fail(why, why_len,
		            "status %d is not an account status; send one of "
		            "%s",
		            (int) hb->status, words_account_list());
	}
	if ((hb->status == A(IDLE) || hb->status == A(ACTIVE)) &&
	    !hb->session_valid) {
		return fail(why, why_len,
		            "session_valid is false, but status '%s' means the "
		            "session is valid; send status expired or "
		            "session_valid true",
		            word);
	}
	if (hb->status == A(EXPIRED) && hb->session_valid) {
		return fail(
		    why, why_len,
		    "session_valid is true, but status 'expired' means "
		    "the session has expired; send session_valid false");
	}
	return check_timestamp(hb->timestamp, out_ts, why, why_len);
}

int
rules_check_robot_id(const char *robot_id, char *why, size_t why_len)
{
	size_t len = robot_id != NULL ? strlen(robot_id) : 0;

	if (len == 0) {
		return fail(why, why_len, "robot id is empty");
	}
	if (len > RULES_NAME_MAX) {
		return fail(
		    why, why_len,
		    "robot id is %zu characters; at most %d are allowed", len,
		    RULES_NAME_MAX);
	}
	if (robot_id[0] == '.' || robot_id[0] == '-') {
		return fail(why, why_len,
		            "robot id must start with a letter, digit or '_'");
	}
	if (strspn(robot_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	                     "wxyz0123456789._-") != len) {
		return fail(why, why_len,
		            "robot id may only hold letters, digits, '.', '_' "
		            "and '-'");
	}
	return HBMON_OK;
}

bool
rules_health_allowed(int from, int to)
{
	if (from == RULES_INITIAL || from == to) {
		return true;
	}
	switch (from) {
	case H(HEALTHY):
		return to == H(DEGRADED);
	case H(DEGRADED):
		return to == H(HEALTHY) || to == H(UNHEALTHY);
	case H(UNHEALTHY):
		return to == H(DEGRADED) || to == H(HEALTHY);
	default:
		return false;
	}
}

bool
rules_account_allowed(int from, int to)
{
	if (from == RULES_INITIAL || from == to) {
		return true;
	}
	switch (from) {
	case A(IDLE):
		return to == A(ACTIVE) || to == A(EXPIRED);
	case A(ACTIVE):
		return to == A(IDLE) || to == A(EXPIRED) || to == A(ERROR);
	case A(EXPIRED):
		return to == A(ACTIVE) || to == A(IDLE);
	case A(ERROR):
		return to == A(ACTIVE);
	default:
		return false;
	}
}
