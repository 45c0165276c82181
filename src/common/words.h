/*
 * The product's vocabulary: the lowercase status words of the documented
 * JSON ("healthy", "expired", ...) and the names of alert kinds, severities,
 * alert states and liveness, for JSON, logs, the database and people.
 */
#ifndef HBMON_COMMON_WORDS_H
#define HBMON_COMMON_WORDS_H

#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/alert.pb-c.h"
#include "hbmon/v1/heartbeat.pb-c.h"

/*
 * Each *_word function returns the static word for a value, or NULL for
 * UNSPECIFIED and for numbers the enum does not define. Each *_parse
 * function takes an exact word (case-sensitive, as documented) and returns
 * HBMON_OK with *out set, or HBMON_EINVAL leaving *out untouched.
 * All are thread-safe and allocate nothing.
 */

/* "healthy", "degraded", "unhealthy". */
const char *words_health(Hbmon__V1__HealthStatus status);
int words_health_parse(const char *word, Hbmon__V1__HealthStatus *out);

/* "idle", "active", "expired", "error". */
const char *words_account(Hbmon__V1__AccountStatus status);
int words_account_parse(const char *word, Hbmon__V1__AccountStatus *out);

/* "HEARTBEAT_MISSED", "RECOVERED", ... as SPEC §3.4 names the kinds. */
const char *words_alert_kind(Hbmon__V1__AlertKind kind);
int words_alert_kind_parse(const char *word, Hbmon__V1__AlertKind *out);

/* "info", "warning", "critical". */
const char *words_severity(Hbmon__V1__Severity severity);
int words_severity_parse(const char *word, Hbmon__V1__Severity *out);

/* "firing", "resolved". */
const char *words_alert_state(Hbmon__V1__AlertState state);
int words_alert_state_parse(const char *word, Hbmon__V1__AlertState *out);

/* "unknown", "ok", "late", "down", "paused". */
const char *words_liveness(Hbmon__V1__Liveness liveness);
int words_liveness_parse(const char *word, Hbmon__V1__Liveness *out);

/*
 * Comma-separated list of the valid words of one vocabulary, for error
 * messages: words_health_list() is "healthy, degraded, unhealthy".
 */
const char *words_health_list(void);
const char *words_account_list(void);

#endif
