/*
 * words: the product's vocabulary. Each vocabulary is a table indexed by the
 * enum value, so that adding a value to a .proto without adding its word
 * shows up as a NULL (and a failing test) rather than as a wrong word.
 */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "common/words.h"
#include "hbmon/error.h"

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

static const char *const health_words[] = {
	[HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY] = "healthy",
	[HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED] = "degraded",
	[HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNHEALTHY] = "unhealthy",
};

static const char *const account_words[] = {
	[HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_IDLE] = "idle",
	[HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ACTIVE] = "active",
	[HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_EXPIRED] = "expired",
	[HBMON__V1__ACCOUNT_STATUS__ACCOUNT_STATUS_ERROR] = "error",
};

static const char *const alert_kind_words[] = {
	[HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED] =
	    "HEARTBEAT_MISSED",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_RECOVERED] = "RECOVERED",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_STATUS_CHANGED] = "STATUS_CHANGED",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_INVALID_TRANSITION] =
	    "INVALID_TRANSITION",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_CLOCK_SKEW] = "CLOCK_SKEW",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_ACCOUNT_MISMATCH] =
	    "ACCOUNT_MISMATCH",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_SERVER_RESTARTED] =
	    "SERVER_RESTARTED",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_LISTENER_RESTARTED] =
	    "LISTENER_RESTARTED",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_SERVER_UNREACHABLE] =
	    "SERVER_UNREACHABLE",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_STORAGE_FAILING] = "STORAGE_FAILING",
	[HBMON__V1__ALERT_KIND__ALERT_KIND_DISK_SPACE_LOW] = "DISK_SPACE_LOW",
};

static const char *const severity_words[] = {
	[HBMON__V1__SEVERITY__SEVERITY_INFO] = "info",
	[HBMON__V1__SEVERITY__SEVERITY_WARNING] = "warning",
	[HBMON__V1__SEVERITY__SEVERITY_CRITICAL] = "critical",
};

static const char *const alert_state_words[] = {
	[HBMON__V1__ALERT_STATE__ALERT_STATE_FIRING] = "firing",
	[HBMON__V1__ALERT_STATE__ALERT_STATE_RESOLVED] = "resolved",
};

static const char *const liveness_words[] = {
	[HBMON__V1__LIVENESS__LIVENESS_UNKNOWN] = "unknown",
	[HBMON__V1__LIVENESS__LIVENESS_OK] = "ok",
	[HBMON__V1__LIVENESS__LIVENESS_LATE] = "late",
	[HBMON__V1__LIVENESS__LIVENESS_DOWN] = "down",
	[HBMON__V1__LIVENESS__LIVENESS_PAUSED] = "paused",
};

/*
 * Index 0 is UNSPECIFIED in every vocabulary and has no word. The value
 * arrives as an int because a peer can send any number on the wire.
 */
static const char *
word_of(const char *const *table, size_t count, int value)
{
	if (value <= 0 || (size_t) value >= count)
		return NULL;
	return table[value];
}

static int
value_of(const char *const *table, size_t count, const char *word, int *value)
{
	if (word == NULL)
		return HBMON_EINVAL;
	for (size_t i = 1; i < count; i++) {
		if (table[i] != NULL && strcmp(table[i], word) == 0) {
			*value = (int) i;
			return HBMON_OK;
		}
	}
	return HBMON_EINVAL;
}

const char *
words_health(Hbmon__V1__HealthStatus status)
{
	return word_of(health_words, COUNT(health_words), (int) status);
}

int
words_health_parse(const char *word, Hbmon__V1__HealthStatus *out)
{
	int value;

	assert(out != NULL);
	if (value_of(health_words, COUNT(health_words), word, &value) !=
	    HBMON_OK)
		return HBMON_EINVAL;
	*out = (Hbmon__V1__HealthStatus) value;
	return HBMON_OK;
}

const char *
words_account(Hbmon__V1__AccountStatus status)
{
	return word_of(account_words, COUNT(account_words), (int) status);
}

int
words_account_parse(const char *word, Hbmon__V1__AccountStatus *out)
{
	int value;

	assert(out != NULL);
	if (value_of(account_words, COUNT(account_words), word, &value) !=
	    HBMON_OK)
		return HBMON_EINVAL;
	*out = (Hbmon__V1__AccountStatus) value;
	return HBMON_OK;
}

const char *
words_alert_kind(Hbmon__V1__AlertKind kind)
{
	return word_of(alert_kind_words, COUNT(alert_kind_words), (int) kind);
}

int
words_alert_kind_parse(const char *word, Hbmon__V1__AlertKind *out)
{
	int value;

	assert(out != NULL);
	if (value_of(alert_kind_words, COUNT(alert_kind_words), word, &value) !=
	    HBMON_OK)
		return HBMON_EINVAL;
	*out = (Hbmon__V1__AlertKind) value;
	return HBMON_OK;
}

const char *
words_severity(Hbmon__V1__Severity severity)
{
	return word_of(severity_words, COUNT(severity_words), (int) severity);
}

int
words_severity_parse(const char *word, Hbmon__V1__Severity *out)
{
	int value;

	assert(out != NULL);
	if (value_of(severity_words, COUNT(severity_words), word, &value) !=
	    HBMON_OK)
		return HBMON_EINVAL;
	*out = (Hbmon__V1__Severity) value;
	return HBMON_OK;
}

const char *
words_alert_state(Hbmon__V1__AlertState state)
{
	return word_of(alert_state_words, COUNT(alert_state_words),
	               (int) state);
}

int
words_alert_state_parse(const char *word, Hbmon__V1__AlertState *out)
{
	int value;

	assert(out != NULL);
	if (value_of(alert_state_words, COUNT(alert_state_words), word,
	             &value) != HBMON_OK)
		return HBMON_EINVAL;
	*out = (Hbmon__V1__AlertState) value;
	return HBMON_OK;
}

const char *
words_liveness(Hbmon__V1__Liveness liveness)
{
	return word_of(liveness_words, COUNT(liveness_words), (int) liveness);
}

int
words_liveness_parse(const char *word, Hbmon__V1__Liveness *out)
{
	int value;

	assert(out != NULL);
	if (value_of(liveness_words, COUNT(liveness_words), word, &value) !=
	    HBMON_OK)
		return HBMON_EINVAL;
	*out = (Hbmon__V1__Liveness) value;
	return HBMON_OK;
}

/*
 * Spelled out rather than joined at run time so that the lists stay static
 * and thread-safe; words_test checks them against the tables.
 */
const char *
words_health_list(void)
{
	return "healthy, degraded, unhealthy";
}

const char *
words_account_list(void)
{
	return "idle, active, expired, error";
}
