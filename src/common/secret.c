/* Reading secrets from files and the environment. */
#include "common/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbmon/error.h"

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
		FILE *f = fopen(file, "r");
		if (f == NULL) {
			snprintf(why, why_len, "cannot read secret file %s: %s",
			         file, strerror(errno));
			return HBMON_ENOENT;
		}
		n = fread(buf, 1, buf_len, f);
		fclose(f);
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
