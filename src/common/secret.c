/* Reading secrets from files and the environment. */
#include "common/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hbmon/error.h"

/*
 * Reads at most buf_len bytes of a secret file into buf (*out_n of them),
 * refusing what other users could read or change, and what is not a
 * regular file (a FIFO would block start-up).
 */
static int
read_file(const char *file, char *buf, size_t buf_len, size_t *out_n, char *why,
          size_t why_len)
{
	struct stat st;
	size_t n = 0;
	ssize_t got;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		snprintf(why, why_len, "cannot read secret file %s: %s", file,
		         strerror(errno));
		return HBMON_ENOENT;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "secret file %s is not a regular file",
		         file);
		close(fd);
		return HBMON_ENOENT;
	}
	/* As ssh does for private keys: a secret others can read is not a
	 * secret any more, and one they can change is not ours. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(why, why_len,
		         "secret file %s can be read or changed by other users "
		         "(mode %04o); chmod 600 %s",
		         file, (unsigned) (st.st_mode & 07777), file);
		close(fd);
		return HBMON_EPERM;
	}
	while (n < buf_len && (got = read(fd, buf + n, buf_len - n)) != 0) {
		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			snprintf(why, why_len, "cannot read secret file %s: %s",
			         file, strerror(errno));
			close(fd);
			explicit_bzero(buf, buf_len);
			return HBMON_ENOENT;
		}
		n += (size_t) got;
	}
	close(fd);
	*out_n = n;
	return HBMON_OK;
}

int
secret_load(const char *file, const char *env, char *buf, size_t buf_len,
            char *why, size_t why_len)
{
	const char *value = env != NULL ? getenv(env) : NULL;
	const char *from = file != NULL ? file : env;
	size_t n;

	if (buf_len < 2) {
		return HBMON_ERANGE;
	}
	if (file != NULL) {
		int rv = read_file(file, buf, buf_len, &n, why, why_len);
		if (rv != HBMON_OK) {
			return rv;
		}
	} else if (value != NULL) {
		n = strlen(value);
		memcpy(buf, value, n < buf_len ? n : buf_len);
	} else {
		snprintf(why, why_len, "no secret: give a secret file%s%s",
		         env != NULL ? " or set " : "", env != NULL ? env : "");
		return HBMON_ENOENT;
	}
	/* Refuse rather than cut: a shortened secret only ever shows up
	 * later as a puzzling "bad signature". */
	if (n >= buf_len) {
		explicit_bzero(buf, buf_len);
		snprintf(why, why_len,
		         "the secret in %s is longer than %zu bytes", from,
		         buf_len - 1);
		return HBMON_ERANGE;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	                 buf[n - 1] == ' ' || buf[n - 1] == '\t')) {
		buf[--n] = '\0';
	}
	if (n == 0) {
		snprintf(why, why_len, "the secret in %s is empty", from);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}
