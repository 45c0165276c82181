/*
 * Scratch places for one benchmark run: a fresh temp directory (the
 * server's data dir, or the echo server's ipc socket) and a listen URL on
 * the chosen transport that nothing else is using.
 */
#ifndef HBMON_BENCH_SCRATCH_H
#define HBMON_BENCH_SCRATCH_H

#include <stddef.h>

#define SCRATCH_PATH_MAX 512
#define SCRATCH_URL_MAX  600

/*
 * Makes a new directory $TMPDIR/hbmon-bench-XXXXXX (or under /tmp) and
 * writes its path to out. Returns HBMON_OK or HBMON_EIO (why says so).
 */
int scratch_dir_make(char *out, size_t out_len, char *why, size_t why_len);

/* Removes dir and everything in it. An empty string is a no-op. */
void scratch_dir_remove(const char *dir);

/*
 * A listen URL for transport "ipc" (ipc://DIR/NAME.sock) or "tcp"
 * (tcp://127.0.0.1:PORT with a port the kernel just handed out as free).
 * Returns HBMON_OK, HBMON_EINVAL (unknown transport) or HBMON_EIO.
 */
int scratch_url(const char *transport, const char *dir, const char *name,
                char *out, size_t out_len, char *why, size_t why_len);

#endif
