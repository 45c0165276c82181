/*
 * Time zones for the times hbmon shows (`--tz ZONE` of hbctl, hbmon-notify
 * and hbmon-robot): a fixed UTC offset ("+07:00", "Z"), a zone of the tz
 * database by its IANA name ("Europe/London", "Asia/Jakarta",
 * "America/New_York"), or "local" (TZ, else /etc/localtime). Zones are
 * read by the C library from the tzdata package's files, never computed
 * here, so daylight saving is right for every instant shown: a winter time
 * in New York is shown at -05:00, a summer one at -04:00.
 *
 * A choice is carried as an int: minutes east of UTC (-1439..1439) for a
 * fixed offset, or TZ_ZONE for "the process's time zone at that instant".
 * An IANA name becomes the process's time zone (TZ), so one process shows
 * times in one zone.
 */
#ifndef HBMON_COMMON_TZ_H
#define HBMON_COMMON_TZ_H

#include <stddef.h>
#include <stdint.h>

/* The process's time zone, resolved for each instant. Equal to the client
 * library's HBMON_UTC_OFFSET_LOCAL. */
#define TZ_ZONE (-100000)

/* The longest zone name tz_select takes. */
#define TZ_NAME_MAX 255

/*
 * Parses spec: "local", a UTC offset as rfc3339_parse_offset takes it, or
 * an IANA zone name. A name must be a zone file of the tz database
 * ($TZDIR, else /usr/share/zoneinfo) — the C library would silently show
 * UTC for an unknown one — and is then made the process's time zone
 * (setenv TZ, tzset): call this from main() before any thread starts.
 * out: the offset in minutes, or TZ_ZONE for "local" and names; untouched
 * on failure. why: e.g. "unknown time zone 'Europe/Londn': not in the tz
 * database (/usr/share/zoneinfo)". Returns HBMON_OK or HBMON_EINVAL.
 */
int tz_select(const char *spec, int *out, char *why, size_t why_len);

/*
 * The UTC offset in minutes of tz at the instant unix_ms: tz itself for a
 * fixed offset, the zone's offset then (daylight saving included) for
 * TZ_ZONE. Thread-safe (localtime_r), no allocation.
 */
int tz_offset_at(int tz, int64_t unix_ms);

/*
 * rfc3339_format of unix_ms in tz at that instant: "2026-07-20T08:00:00-04:00".
 * Same buffers, errors and guarantees as rfc3339_format. Thread-safe.
 */
int tz_format(int64_t unix_ms, int tz, char *buf, size_t buf_len);

#endif
