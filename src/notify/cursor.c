/* Durable delivery cursor. */
#include "notify/cursor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dirs.h"
#include "hbmon/error.h"
#include "notify/statefile.h"

#define PATH_LEN 1024

struct cursor {
	char dir[PATH_LEN];
	char path[PATH_LEN];
	int lock_fd;
};

/* Reads the stored seq: HBMON_OK, HBMON_ENOENT (no file) or an error. */
static int
read_seq(const char *path, uint64_t *seq, char *why, size_t why_len)
{
	char buf[64], *end;
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		if (errno == ENOENT) {
			return HBMON_ENOENT;
		}
		snprintf(why, why_len, "cannot read cursor %s: %s", path,
		         strerror(errno));
		return HBMON_EIO;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	errno = 0;
	*seq = strtoull(buf, &end, 10);
	if (n == 0 || buf[0] < '0' || buf[0] > '9' || errno != 0 ||
	    (*end != '\n' && *end != '\0') || (*end == '\n' && end[1] != 0)) {
		snprintf(why, why_len,
		         "cursor %s does not hold an alert seq; look at it, "
		         "then remove it or write the last delivered seq into "
		         "it",
		         path);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

int
cursor_open(const char *state_dir, const char *name, struct cursor **out,
            uint64_t *out_seq, bool *out_found, char *why, size_t why_len)
{
	struct cursor *c = calloc(1, sizeof(*c));
	char lock[PATH_LEN];
	int rv;

	if (c == NULL) {
		return HBMON_ENOMEM;
	}
	c->lock_fd = -1;
	snprintf(c->dir, sizeof(c->dir), "%s", state_dir);
	if ((size_t) snprintf(c->path, sizeof(c->path), "%s/notify-%s.cursor",
	                      state_dir, name) >= sizeof(c->path) - 8) {
		snprintf(why, why_len, "state_dir is too long");
		rv = HBMON_EINVAL;
		goto fail;
	}
	snprintf(lock, sizeof(lock), "%s/notify-%s.lock", state_dir, name);
	if (dirs_make(state_dir) != 0) {
		snprintf(why, why_len, "cannot create state_dir %s: %s",
		         state_dir, strerror(errno));
		rv = HBMON_EIO;
		goto fail;
	}
	if ((c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, why_len, "cannot open %s: %s", lock,
		         strerror(errno));
		rv = HBMON_EIO;
		goto fail;
	}
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(why, why_len,
		         "another hbmon-notify named '%s' is running (%s is "
		         "locked); give this one another --name",
		         name, lock);
		rv = HBMON_EBUSY;
		goto fail;
	}
	*out_seq = 0;
	rv = read_seq(c->path, out_seq, why, why_len);
	if (rv != HBMON_OK && rv != HBMON_ENOENT) {
		goto fail;
	}
	*out_found = rv == HBMON_OK;
	*out = c;
	return HBMON_OK;
fail:
	cursor_close(c);
	return rv;
}

int
cursor_store(struct cursor *c, uint64_t seq, char *why, size_t why_len)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%" PRIu64 "\n", seq);

	return statefile_replace(c->dir, c->path, line, (size_t) n, why,
	                         why_len);
}

const char *
cursor_path(const struct cursor *c)
{
	return c->path;
}

void
cursor_close(struct cursor *c)
{
	if (c != NULL) {
		if (c->lock_fd >= 0) {
			close(c->lock_fd);
		}
		free(c);
	}
}
