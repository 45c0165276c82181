/* Atomic, durable replacement of small state files. */
#include "notify/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hbmon/error.h"

#define PATH_LEN 1024

int
statefile_replace(const char *dir, const char *path, const void *data,
                  size_t len, char *why, size_t why_len)
{
	char tmp[PATH_LEN + 8];
	int fd, dfd;

	if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		snprintf(why, why_len, "path too long: %s", path);
		return HBMON_EIO;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, why_len, "cannot write %s: %s", tmp,
		         strerror(errno));
		return HBMON_EIO;
	}
	if (write(fd, data, len) != (ssize_t) len || fsync(fd) != 0) {
		snprintf(why, why_len, "cannot write %s: %s", tmp,
		         strerror(errno));
		close(fd);
		unlink(tmp);
		return HBMON_EIO;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(why, why_len, "cannot rename %s to %s: %s", tmp, path,
		         strerror(errno));
		unlink(tmp);
		return HBMON_EIO;
	}
	/* The rename itself is durable only once the directory is. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		int rv = fsync(dfd);
		close(dfd);
		if (rv != 0) {
			snprintf(why, why_len, "cannot sync %s: %s", dir,
			         strerror(errno));
			return HBMON_EIO;
		}
	}
	return HBMON_OK;
}
