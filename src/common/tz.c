/* Time zones: fixed offsets, or the tz database through the C library. */
#include "common/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/rfc3339.h"
#include "hbmon/error.h"

#define ZONEINFO "/usr/share/zoneinfo"

/*
 * Whether name can be a zone file's name below the database directory:
 * the characters IANA names use, no empty, "." or ".." component, not
 * absolute. (Keeps TZ from reading any other file.)
 */
static bool
zone_name_ok(const char *name)
{
	size_t len = strlen(name);
	const char *part = name;

	if (len == 0 || len > TZ_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789/_+-.") != len) {
		return false;
	}
	for (;;) {
		size_t n = strcspn(part, "/");
		if (n == 0 || (n == 1 && part[0] == '.') ||
		    (n == 2 && part[0] == '.' && part[1] == '.')) {
			return false;
		}
		if (part[n] == '\0') {
			return true;
		}
		part += n + 1;
	}
}

/* Whether dir/name is a compiled zone file (it starts with "TZif"). */
static bool
zone_file_ok(const char *dir, const char *name)
{
	char path[4096], magic[4];
	ssize_t n;
	int fd;

	if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		return false;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		return false;
	}
	n = read(fd, magic, sizeof(magic));
	close(fd);
	return n == (ssize_t) sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

int
tz_select(const char *spec, int *out, char *why, size_t why_len)
{
	const char *dir = getenv("TZDIR");
	char reason[128];
	int offset;

	if (dir == NULL || dir[0] == '\0') {
		dir = ZONEINFO;
	}
	if (strcmp(spec, "local") == 0) {
		*out = TZ_ZONE;
		return HBMON_OK;
	}
	if (spec[0] == '+' || spec[0] == '-' || strcmp(spec, "Z") == 0 ||
	    strcmp(spec, "z") == 0 || strcasecmp(spec, "UTC") == 0) {
		if (rfc3339_parse_offset(spec, &offset, reason,
		                         sizeof(reason)) != HBMON_OK) {
			snprintf(why, why_len,
			         "'%s' is not a UTC offset: %s (e.g. +07:00, "
			         "-05:30, Z)",
			         spec, reason);
			return HBMON_EINVAL;
		}
		*out = offset;
		return HBMON_OK;
	}
	if (!zone_name_ok(spec)) {
		snprintf(
		    why, why_len,
		    "'%.*s' is neither a UTC offset (+07:00, Z) nor a time "
		    "zone name (Europe/London, Asia/Jakarta) nor local",
		    64, spec);
		return HBMON_EINVAL;
	}
	if (!zone_file_ok(dir, spec)) {
		snprintf(why, why_len,
		         "unknown time zone '%s': not in the tz database (%s; "
		         "names look like Europe/London or America/New_York, "
		         "and come with the tzdata package)",
		         spec, dir);
		return HBMON_EINVAL;
	}
	/* The C library reads the zone from TZ; tzset makes it read it now
	 * (glibc's localtime_r does not look at TZ again by itself). */
	if (setenv("TZ", spec, 1) != 0) {
		snprintf(why, why_len, "cannot set the time zone: %s",
		         strerror(errno));
		return HBMON_EINVAL;
	}
	tzset();
	*out = TZ_ZONE;
	return HBMON_OK;
}

int
tz_offset_at(int tz, int64_t unix_ms)
{
	time_t t = (time_t) (unix_ms / 1000);
	struct tm tm;
	long offset;

	if (tz != TZ_ZONE) {
		return tz;
	}
	if (localtime_r(&t, &tm) == NULL) {
		return 0;
	}
	offset = tm.tm_gmtoff / 60;
	/* Zones before 1900 used offsets in seconds; RFC 3339 has minutes,
	 * and no zone ever was a day away from UTC. */
	return offset >= -1439 && offset <= 1439 ? (int) offset : 0;
}

int
tz_format(int64_t unix_ms, int tz, char *buf, size_t buf_len)
{
	return rfc3339_format(unix_ms, tz_offset_at(tz, unix_ms), buf, buf_len);
}
