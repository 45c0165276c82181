/*
 * The notifier's small state files (the delivery cursor, the contact
 * state): replaced atomically and durably, so that after a crash or power
 * loss a file holds its old or its new contents, never a mix.
 */
#ifndef HBMON_NOTIFY_STATEFILE_H
#define HBMON_NOTIFY_STATEFILE_H

#include <stddef.h>

/*
 * Replaces the file at path (in directory dir) with len bytes of data:
 * writes path.tmp (mode 0600), fsyncs it, renames it over path and fsyncs
 * dir. Returns HBMON_OK, or HBMON_EIO with why naming the step that failed
 * (the old file is then still in place).
 */
int statefile_replace(const char *dir, const char *path, const void *data,
                      size_t len, char *why, size_t why_len);

#endif
