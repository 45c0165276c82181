/*
 * Time zones (common/tz): IANA names from the tz database with daylight
 * saving right for every instant, fixed offsets, and names that are not
 * zones refused instead of silently shown as UTC. tz_select changes the
 * process's TZ; Criterion runs each test in its own process.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/rfc3339.h"
#include "common/tz.h"
#include "hbmon/error.h"

/* 2026-01-20T12:00:00Z and 2026-07-20T12:00:00Z. */
#define WINTER_MS INT64_C(1768910400000)
#define SUMMER_MS INT64_C(1784548800000)

static void
assert_shown(int tz, int64_t ms, const char *want)
{
	char buf[RFC3339_MAX];

	cr_assert_eq(tz_format(ms, tz, buf, sizeof(buf)), HBMON_OK);
	cr_assert_str_eq(buf, want);
}

static int
select_ok(const char *spec)
{
	char why[512] = "";
	int tz = 12345;

	cr_assert_eq(tz_select(spec, &tz, why, sizeof(why)), HBMON_OK, "%s: %s",
	             spec, why);
	return tz;
}

Test(tz, new_york_follows_daylight_saving)
{
	int tz = select_ok("America/New_York"); /* 16 bytes: it used to fail */

	cr_assert_eq(tz, TZ_ZONE);
	assert_shown(tz, WINTER_MS, "2026-01-20T07:00:00-05:00");
	assert_shown(tz, SUMMER_MS, "2026-07-20T08:00:00-04:00");
	cr_assert_eq(tz_offset_at(tz, WINTER_MS), -300);
	cr_assert_eq(tz_offset_at(tz, SUMMER_MS), -240);
	/* 2026-03-08 07:00Z is 03:00 EDT; a second earlier was 01:59:59 EST. */
	assert_shown(tz, INT64_C(1772953200000), "2026-03-08T03:00:00-04:00");
	assert_shown(tz, INT64_C(1772953199000), "2026-03-08T01:59:59-05:00");
}

Test(tz, london_is_utc_in_winter_and_bst_in_summer)
{
	int tz = select_ok("Europe/London");

	assert_shown(tz, WINTER_MS, "2026-01-20T12:00:00Z");
	assert_shown(tz, SUMMER_MS, "2026-07-20T13:00:00+01:00");
}

Test(tz, jakarta_has_no_daylight_saving)
{
	int tz = select_ok("Asia/Jakarta");

	assert_shown(tz, WINTER_MS, "2026-01-20T19:00:00+07:00");
	assert_shown(tz, SUMMER_MS, "2026-07-20T19:00:00+07:00");
}

Test(tz, long_names_fit)
{
	int tz = select_ok("America/Argentina/Buenos_Aires");

	assert_shown(tz, WINTER_MS, "2026-01-20T09:00:00-03:00");
}

Test(tz, fixed_offsets_stay_fixed)
{
	cr_assert_eq(select_ok("+07:00"), 420);
	cr_assert_eq(select_ok("-05:30"), -330);
	cr_assert_eq(select_ok("Z"), 0);
	cr_assert_eq(select_ok("UTC"), 0);
	assert_shown(-300, SUMMER_MS, "2026-07-20T07:00:00-05:00");
	/* A fixed offset does not touch the process's zone. */
	setenv("TZ", "Asia/Jakarta", 1);
	cr_assert_eq(select_ok("+01:00"), 60);
	cr_assert_str_eq(getenv("TZ"), "Asia/Jakarta");
}

Test(tz, local_is_the_machines_zone_at_each_instant)
{
	setenv("TZ", "America/New_York", 1);
	tzset();
	cr_assert_eq(select_ok("local"), TZ_ZONE);
	cr_assert_eq(tz_offset_at(TZ_ZONE, WINTER_MS), -300);
	cr_assert_eq(tz_offset_at(TZ_ZONE, SUMMER_MS), -240);
}

Test(tz, what_is_not_a_zone_is_refused_with_a_reason)
{
	static const struct {
		const char *spec;
		const char *says;
	} cases[] = {
		{ "Europe/Londn", "unknown time zone 'Europe/Londn'" },
		{ "Mars", "not in the tz database" },
		{ "../../../etc/passwd", "is neither a UTC offset" },
		{ "/etc/localtime", "is neither a UTC offset" },
		{ "Europe//London", "is neither a UTC offset" },
		{ "Europe/London ", "is neither a UTC offset" },
		{ "", "is neither a UTC offset" },
		{ "+25:00", "'+25:00' is not a UTC offset" },
		{ "-07:60", "is not a UTC offset" },
		/* A directory of the database, not a zone. */
		{ "America", "unknown time zone 'America'" },
		/* A file of the database that is not a zone. */
		{ "zone.tab", "unknown time zone 'zone.tab'" },
	};
	char why[512];
	int tz;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tz = 999;
		why[0] = '\0';
		cr_assert_eq(tz_select(cases[i].spec, &tz, why, sizeof(why)),
		             HBMON_EINVAL, "'%s' was taken", cases[i].spec);
		cr_assert_eq(tz, 999, "'%s' changed out", cases[i].spec);
		cr_assert(strstr(why, cases[i].says) != NULL,
		          "'%s': expected \"%s\" in: %s", cases[i].spec,
		          cases[i].says, why);
	}
	/* Nothing refused became the process's zone. */
	cr_assert(getenv("TZ") == NULL || strcmp(getenv("TZ"), "Mars") != 0);
}

Test(tz, the_database_directory_comes_from_TZDIR)
{
	char why[512] = "";
	int tz;

	setenv("TZDIR", "/nonexistent-zoneinfo", 1);
	cr_assert_eq(tz_select("Europe/London", &tz, why, sizeof(why)),
	             HBMON_EINVAL);
	cr_assert(strstr(why, "/nonexistent-zoneinfo") != NULL, "%s", why);
}
