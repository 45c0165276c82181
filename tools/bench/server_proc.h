/*
 * The real hbmon-server as a child process for one benchmark run: a fresh
 * data dir, default settings except where it listens, stderr kept in
 * DIR/server.log, and the benchmark's robots registered through its Admin
 * service once it runs, as an owner would: the bench links none of the
 * server's code.
 */
#ifndef HBMON_BENCH_SERVER_PROC_H
#define HBMON_BENCH_SERVER_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loadgen.h"
#include "scratch.h"

struct server_proc {
	char dir[SCRATCH_PATH_MAX];      /* data dir, a fresh temp dir */
	char url[SCRATCH_URL_MAX];       /* robots' socket */
	char log_path[SCRATCH_PATH_MAX]; /* the server's stderr */
	pid_t pid;                       /* 0 when not running */
	/* More flags for the server, NULL-terminated, set after
	 * server_proc_prepare (NULL: none); the caller keeps them alive
	 * until server_proc_start returns. */
	const char *const *extra_args;
};

/*
 * The hbmon-server to run: given (--server PATH) when not NULL, which
 * must be executable; otherwise the one built beside hbmon-bench (in the
 * build tree, build/tools/bench -> build/src/server, or installed in the
 * same bin directory). Returns HBMON_OK, or HBMON_ENOENT with why saying
 * where it looked.
 */
int server_proc_locate(const char *given, char *out, size_t out_len, char *why,
                       size_t why_len);

/*
 * Makes the data dir and picks the listen URL on transport ("ipc" or
 * "tcp"). Release with server_proc_cleanup, also on failure.
 * Returns HBMON_OK or an error with why filled.
 */
int server_proc_prepare(struct server_proc *p, const char *transport, char *why,
                        size_t why_len);

/*
 * Starts server_bin on p's data dir and URL and waits (10 s at most) until
 * it accepts connections. Returns HBMON_OK, or HBMON_EIO with why naming
 * the reason and the end of the server's log.
 */
int server_proc_start(struct server_proc *p, const char *server_bin, char *why,
                      size_t why_len);

/*
 * Copies the database file seed into p's data dir as its hbmon.db, so the
 * server starts with what it holds. Only before server_proc_start.
 * Returns HBMON_OK, or HBMON_EIO with why filled.
 */
int server_proc_seed(struct server_proc *p, const char *seed, char *why,
                     size_t why_len);

/*
 * Registers n robots through the running server's Admin service
 * (RobotAdd on admin.sock in p's data dir, what `hbctl robot add` does):
 * each robot's secret is replaced by the one the server hands out. Only
 * after server_proc_start. Returns HBMON_OK or an error with why filled.
 */
int server_proc_add_robots(struct server_proc *p, struct loadgen_robot *robots,
                           uint32_t n, char *why, size_t why_len);

/*
 * The default workers and recv_max of server_bin, from its own
 * `--check-config` (so a baseline sized from them matches the server
 * measured, whichever build that is). Returns HBMON_OK, or HBMON_EIO with
 * why filled.
 */
int server_proc_defaults(const char *server_bin, uint32_t *workers,
                         int64_t *recv_max, char *why, size_t why_len);

/*
 * Starts argv (argv[0] the program's path, NULL-terminated) as p's server
 * with stdout and stderr in p's log, and waits (10 s at most) until
 * something accepts connections at p->url. server_proc_start is this
 * with hbmon-server's command line; the bench's own echo server is
 * started with it too. Returns as server_proc_start.
 */
int server_proc_spawn(struct server_proc *p, const char *const *argv, char *why,
                      size_t why_len);

/*
 * SIGTERM, then waits for the drain (SIGKILL after 30 s). Returns HBMON_OK
 * when it exited with status 0, otherwise HBMON_EIO with why saying how
 * it ended.
 */
int server_proc_stop(struct server_proc *p, char *why, size_t why_len);

/*
 * Counts the raw heartbeats the running server has recorded (Admin
 * ServerInfo): after the load, before server_proc_stop. Returns HBMON_OK
 * or an error with why filled.
 */
int server_proc_heartbeats(struct server_proc *p, int64_t *out, char *why,
                           size_t why_len);

/* A server's memory, in bytes, from /proc/PID/status. */
struct server_memory {
	int64_t rss;  /* VmRSS: resident now */
	int64_t peak; /* VmHWM: the most resident so far */
	int64_t anon; /* RssAnon: heap, stacks, anonymous mappings */
	int64_t file; /* RssFile: mapped files (code, an mmap'd database) */
};

/*
 * Reads the running server's memory into out. Returns HBMON_OK, or
 * HBMON_EIO when the server is not running or the file cannot be read.
 */
int server_proc_memory(const struct server_proc *p, struct server_memory *out);

/* Kills the server if still running and removes the data dir. */
void server_proc_cleanup(struct server_proc *p);

#endif
