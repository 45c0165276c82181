/* words_test: every word both ways, and the values that have no word. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/words.h"
#include "hbmon/error.h"

/*
 * One vocabulary, seen through int so that a single loop serves all six;
 * the wrappers below are where the enum types are checked by the compiler.
 */
struct vocabulary {
	const char *name;
	const char *(*word)(int value);
	int (*parse)(const char *word, int *out);
	const char *const *words; /* index = enum value; [0] is UNSPECIFIED */
	int count;                /* entries in words, UNSPECIFIED included */
};

#define VOCABULARY(type, prefix)                                               \
	static const char *prefix##_word(int value)                            \
	{                                                                      \
		return words_##prefix((type) value);                           \
	}                                                                      \
	static int prefix##_parse(const char *word, int *out)                  \
	{                                                                      \
		type value = (type) 12345;                                     \
		int rv = words_##prefix##_parse(word, &value);                 \
		*out = (int) value;                                            \
		return rv;                                                     \
	}

VOCABULARY(Hbmon__V1__HealthStatus, health)
VOCABULARY(Hbmon__V1__AccountStatus, account)
VOCABULARY(Hbmon__V1__AlertKind, alert_kind)
VOCABULARY(Hbmon__V1__Severity, severity)
VOCABULARY(Hbmon__V1__AlertState, alert_state)
VOCABULARY(Hbmon__V1__Liveness, liveness)

static const char *const health_words[] = { NULL, "healthy", "degraded",
	                                    "unhealthy" };
static const char *const account_words[] = { NULL, "idle", "active", "expired",
	                                     "error" };
static const char *const alert_kind_words[] = {
	NULL,
	"HEARTBEAT_MISSED",
	"RECOVERED",
	"STATUS_CHANGED",
	"INVALID_TRANSITION",
	"CLOCK_SKEW",
	"ACCOUNT_MISMATCH",
	"SERVER_RESTARTED",
	"LISTENER_RESTARTED",
	"SERVER_UNREACHABLE",
	"STORAGE_FAILING",
	"DISK_SPACE_LOW",
};
static const char *const severity_words[] = { NULL, "info", "warning",
	                                      "critical" };
static const char *const alert_state_words[] = { NULL, "firing", "resolved" };
static const char *const liveness_words[] = { NULL,   "unknown", "ok",
	                                      "late", "down",    "paused" };

#define ENTRY(prefix)                                                          \
	{                                                                      \
#prefix, prefix##_word, prefix##_parse, prefix##_words,        \
		    (int) (sizeof(prefix##_words) / sizeof(prefix##_words[0])) \
	}

static const struct vocabulary vocabularies[] = {
	ENTRY(health),   ENTRY(account),     ENTRY(alert_kind),
	ENTRY(severity), ENTRY(alert_state), ENTRY(liveness),
};

#define N_VOCABULARIES ((int) (sizeof(vocabularies) / sizeof(vocabularies[0])))

/* The enums must not have grown past the words this test knows. */
Test(words, tables_cover_every_enum_value, .timeout = 10)
{
	cr_assert_eq(hbmon__v1__health_status__descriptor.n_values, 4);
	cr_assert_eq(hbmon__v1__account_status__descriptor.n_values, 5);
	cr_assert_eq(hbmon__v1__alert_kind__descriptor.n_values, 12);
	cr_assert_eq(hbmon__v1__severity__descriptor.n_values, 4);
	cr_assert_eq(hbmon__v1__alert_state__descriptor.n_values, 3);
	cr_assert_eq(hbmon__v1__liveness__descriptor.n_values, 6);
}

Test(words, every_value_has_its_word, .timeout = 10)
{
	for (int v = 0; v < N_VOCABULARIES; v++) {
		const struct vocabulary *voc = &vocabularies[v];

		for (int i = 1; i < voc->count; i++) {
			const char *word = voc->word(i);

			cr_assert_not_null(word, "%s %d has no word", voc->name,
			                   i);
			cr_expect_str_eq(word, voc->words[i], "%s %d",
			                 voc->name, i);
		}
	}
}

Test(words, every_word_parses_to_its_value, .timeout = 10)
{
	for (int v = 0; v < N_VOCABULARIES; v++) {
		const struct vocabulary *voc = &vocabularies[v];

		for (int i = 1; i < voc->count; i++) {
			int value = -1;

			cr_assert_eq(voc->parse(voc->words[i], &value),
			             HBMON_OK, "%s '%s'", voc->name,
			             voc->words[i]);
			cr_expect_eq(value, i, "%s '%s'", voc->name,
			             voc->words[i]);
			/* And back: the word is the one the value prints. */
			cr_expect_str_eq(voc->word(value), voc->words[i]);
		}
	}
}

Test(words, unspecified_has_no_word, .timeout = 10)
{
	for (int v = 0; v < N_VOCABULARIES; v++)
		cr_expect_null(vocabularies[v].word(0), "%s",
		               vocabularies[v].name);
}

Test(words, unknown_numbers_have_no_word, .timeout = 10)
{
	for (int v = 0; v < N_VOCABULARIES; v++) {
		const struct vocabulary *voc = &vocabularies[v];

		cr_expect_null(voc->word(voc->count), "%s %d", voc->name,
		               voc->count);
		cr_expect_null(voc->word(1000), "%s", voc->name);
		cr_expect_null(voc->word(-1), "%s", voc->name);
	}
}

Test(words, parse_refuses_and_leaves_out_alone, .timeout = 10)
{
	static const char *const bad[] = {
		"",
		"HEALTHY",
		"Healthy",
		"healthy ",
		" healthy",
		"unspecified",
		"UNSPECIFIED",
		"0",
		"1",
		"heartbeat_missed",
		"Info",
		"OK",
		"FIRING",
		"fine",
	};

	for (int v = 0; v < N_VOCABULARIES; v++) {
		const struct vocabulary *voc = &vocabularies[v];

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int value = -1;

			cr_expect_eq(voc->parse(bad[i], &value), HBMON_EINVAL,
			             "%s accepted '%s'", voc->name, bad[i]);
			/* The wrapper starts from 12345: untouched. */
			cr_expect_eq(value, 12345, "%s '%s'", voc->name,
			             bad[i]);
		}
		cr_expect_eq(voc->parse(NULL, &(int){ 0 }), HBMON_EINVAL);
	}
}

Test(words, parse_is_case_sensitive, .timeout = 10)
{
	Hbmon__V1__HealthStatus health =
	    HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_UNSPECIFIED;
	Hbmon__V1__AlertKind kind =
	    HBMON__V1__ALERT_KIND__ALERT_KIND_UNSPECIFIED;

	cr_assert_eq(words_health_parse("DEGRADED", &health), HBMON_EINVAL);
	cr_assert_eq(words_health_parse("degraded", &health), HBMON_OK);
	cr_assert_eq(health, HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED);
	cr_assert_eq(words_alert_kind_parse("clock_skew", &kind), HBMON_EINVAL);
	cr_assert_eq(words_alert_kind_parse("CLOCK_SKEW", &kind), HBMON_OK);
	cr_assert_eq(kind, HBMON__V1__ALERT_KIND__ALERT_KIND_CLOCK_SKEW);
}

/* The lists are spelled out in words.c; they must match the tables. */
static void
expect_list(const char *list, const char *const *words, int count)
{
	char joined[256] = "";

	for (int i = 1; i < count; i++) {
		if (i > 1)
			strcat(joined, ", ");
		strcat(joined, words[i]);
	}
	cr_expect_str_eq(list, joined);
}

Test(words, lists_name_every_word, .timeout = 10)
{
	cr_assert_str_eq(words_health_list(), "healthy, degraded, unhealthy");
	cr_assert_str_eq(words_account_list(), "idle, active, expired, error");
	expect_list(words_health_list(), health_words,
	            (int) (sizeof(health_words) / sizeof(health_words[0])));
	expect_list(words_account_list(), account_words,
	            (int) (sizeof(account_words) / sizeof(account_words[0])));
}
