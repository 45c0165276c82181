/*
 * The delivery cursor: the highest alert seq up to which every alert has
 * been delivered (or filtered out) by one notifier instance, kept in
 * STATE_DIR/notify-NAME.cursor so that a restart resumes where it left off.
 *
 * The file is one line, the seq in decimal. It is replaced atomically
 * (write a temp file, fsync, rename, fsync the directory): after a crash
 * it holds the old or the new value, never a mix. A lock file
 * (notify-NAME.lock, flock) keeps a second instance with the same name
 * from delivering everything twice.
 */
#ifndef HBMON_NOTIFY_CURSOR_H
#define HBMON_NOTIFY_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor;

/*
 * Opens (creating state_dir with mode 0700 if needed) and locks the cursor
 * of instance name. *out_seq: the stored seq; *out_found: whether a cursor
 * file existed (false on a first run). out: closed with cursor_close.
 * why: a sentence naming the file on failure. Returns HBMON_OK, HBMON_EBUSY
 * (another instance holds the lock), HBMON_EINVAL (the file does not hold
 * a seq: it is left alone for a person to look at), HBMON_EIO, or
 * HBMON_ENOMEM.
 */
int cursor_open(const char *state_dir, const char *name, struct cursor **out,
                uint64_t *out_seq, bool *out_found, char *why, size_t why_len);

/*
 * Stores seq durably before returning. Returns HBMON_OK or HBMON_EIO (why
 * says which step failed; the previous value is still in place).
 */
int cursor_store(struct cursor *c, uint64_t seq, char *why, size_t why_len);

/* The cursor file's path. */
const char *cursor_path(const struct cursor *c);

/* Releases the lock and frees c. NULL is fine. */
void cursor_close(struct cursor *c);

#endif
