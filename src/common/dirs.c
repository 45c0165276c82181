/* mkdir -p with mode 0700. */
#include "common/dirs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_LEN 1024

int
dirs_make(const char *path)
{
	char buf[PATH_LEN];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
				return -1;
			}
			*p = '/';
		}
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}
