/*
 * Secrets (robot secrets, the admin secret, bot tokens, SMTP passwords)
 * come from a file or the environment, never from argv, and are never
 * logged (SPEC §4, §6).
 */
#ifndef HBMON_COMMON_SECRET_H
#define HBMON_COMMON_SECRET_H

#include <stddef.h>

/*
 * Reads a secret from file when file is not NULL, else from the
 * environment variable env (when not NULL). Trailing whitespace (the
 * newline an editor adds) is not part of it. A file must be a regular
 * file that only its owner may read or write: any group or other
 * permission bit is refused, with the fix ("chmod 600 FILE") in why.
 * buf: buf_len bytes, NUL-terminated on success. why: on failure a
 * sentence naming the file or variable (never the secret). Returns
 * HBMON_OK, HBMON_ENOENT (nowhere to read it from, or the file cannot be
 * read or is not a regular file), HBMON_EPERM (group or other may read or
 * write it), HBMON_EINVAL (empty), or HBMON_ERANGE (longer than buf).
 * Thread-safe.
 */
int secret_load(const char *file, const char *env, char *buf, size_t buf_len,
                char *why, size_t why_len);

#endif
