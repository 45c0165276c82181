/* The default data dir: installed or build tree. */
#include "common/paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CMake gives the build directory (CMAKE_BINARY_DIR) to this file only. */
#ifndef HBMON_BUILD_ROOT
#error "HBMON_BUILD_ROOT must name the build directory"
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool in_build_tree;

static void
find_out(void)
{
	char exe[PATH_MAX], root[PATH_MAX], cache[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len;

	if (n <= 0) {
		return; /* no /proc: assume installed, the safe side */
	}
	exe[n] = '\0';
	/* realpath: the build dir may have been named through a symlink;
	 * /proc/self/exe never is. A build dir that is gone is no longer
	 * one (the program was copied out and the tree removed). */
	if (realpath(HBMON_BUILD_ROOT, root) == NULL) {
		return;
	}
	len = strlen(root);
	snprintf(cache, sizeof(cache), "%s/CMakeCache.txt", root);
	in_build_tree = strncmp(exe, root, len) == 0 && exe[len] == '/' &&
	                access(cache, F_OK) == 0;
}

bool
paths_in_build_tree(void)
{
	pthread_once(&once, find_out);
	return in_build_tree;
}

const char *
paths_default_data_dir(void)
{
	return paths_in_build_tree() ? PATHS_DATA_DIR_BUILD_TREE
	                             : PATHS_DATA_DIR_INSTALLED;
}

const char *
paths_data_dir(void)
{
	const char *env = getenv(PATHS_DATA_DIR_ENV);

	return env != NULL && env[0] != '\0' ? env : paths_default_data_dir();
}
