/*
 * Files carried inside a program, generated at build time from the source
 * tree by hbmon_embed (cmake/HbmonEmbed.cmake): the notifier's message
 * templates, so that an installed binary and a build-tree binary both
 * run with no data directory.
 */
#ifndef HBMON_COMMON_EMBEDDED_H
#define HBMON_COMMON_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name; /* relative path, e.g. "en/telegram.html" */
	const char *text; /* the bytes, NUL-terminated */
	size_t len;       /* without the NUL */
};

/*
 * The file called name in table[0..n), or NULL. Static data: nothing to
 * free; thread-safe.
 */
const struct embedded_file *embedded_find(const struct embedded_file *table,
                                          size_t n, const char *name);

#endif
