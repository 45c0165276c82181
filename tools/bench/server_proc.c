/* hbmon-server child processes for benchmark runs. */
#include "server_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "hbmon/error.h"
#include "server/store.h"
#include "util.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  30000
#define LOG_TAIL         600
#define EXTRA_ARGS_MAX   32

/* Appends the last lines of the server's log to why, for a person. */
static void
append_log_tail(const struct server_proc *p, char *why, size_t why_len)
{
	char tail[LOG_TAIL + 1];
	size_t used = strlen(why);
	FILE *f = fopen(p->log_path, "r");
	long size;
	size_t n;

	if (f == NULL) {
		return;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > LOG_TAIL ? size - LOG_TAIL : 0, SEEK_SET);
	n = fread(tail, 1, LOG_TAIL, f);
	fclose(f);
	tail[n] = '\0';
	if (n > 0 && used < why_len) {
		snprintf(why + used, why_len - used, "\n%s:\n%s", p->log_path,
		         tail);
	}
}

int
server_proc_locate(const char *given, char *out, size_t out_len, char *why,
                   size_t why_len)
{
	static const char *const candidates[] = {
		"../../src/server/hbmon-server",
		"hbmon-server",
	};
	char self[PATH_MAX];
	ssize_t n;
	char *dir;

	if (given != NULL) {
		if (access(given, X_OK) != 0) {
			snprintf(why, why_len, "--server %s: %s", given,
			         strerror(errno));
			return HBMON_ENOENT;
		}
		snprintf(out, out_len, "%s", given);
		return HBMON_OK;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(why, why_len,
		         "cannot find hbmon-bench's own path; pass --server "
		         "PATH");
		return HBMON_ENOENT;
	}
	self[n] = '\0';
	dir = dirname(self);
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]);
	     i++) {
		char path[PATH_MAX + 64];
		char real[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, candidates[i]);
		if (access(path, X_OK) == 0 && realpath(path, real) != NULL) {
			snprintf(out, out_len, "%s", real);
			return HBMON_OK;
		}
	}
	snprintf(why, why_len,
	         "no hbmon-server beside %s (looked for "
	         "../../src/server/hbmon-server and hbmon-server); build it "
	         "(cmake --build BUILD --target hbmon-server) or pass "
	         "--server PATH",
	         dir);
	return HBMON_ENOENT;
}

int
server_proc_prepare(struct server_proc *p, const char *transport, char *why,
                    size_t why_len)
{
	int rv;

	memset(p, 0, sizeof(*p));
	if ((rv = scratch_dir_make(p->dir, sizeof(p->dir), why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	snprintf(p->log_path, sizeof(p->log_path), "%s/server.log", p->dir);
	return scratch_url(transport, p->dir, "robots", p->url, sizeof(p->url),
	                   why, why_len);
}

int
server_proc_add_robots(struct server_proc *p,
                       const struct loadgen_robot *robots, uint32_t n,
                       char *why, size_t why_len)
{
	struct store *store;
	int rv;

	/* The same call `hbctl robot add` ends in, without a server up:
	 * the server loads its robots only at start-up. */
	if ((rv = store_open(p->dir, STORE_NORMAL, &store, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	for (uint32_t i = 0; i < n && rv == HBMON_OK; i++) {
		rv = store_robot_add(store, robots[i].id, robots[i].secret,
		                     clock_wall_ms());
		if (rv != HBMON_OK) {
			snprintf(why, why_len,
			         "cannot register robot %s: %s (%s)",
			         robots[i].id, hbmon_strerror(rv),
			         store_errmsg(store));
		}
	}
	store_close(store);
	return rv;
}

/* Whether something accepts connections at url. */
static bool
accepts(const char *url)
{
	nng_socket sock;
	bool ok;

	if (nng_req0_open(&sock) != 0) {
		return false;
	}
	ok = nng_dial(sock, url, NULL, 0) == 0;
	nng_close(sock);
	return ok;
}

int
server_proc_spawn(struct server_proc *p, const char *const *argv, char *why,
                  size_t why_len)
{
	int64_t until = clock_mono_ms() + START_TIMEOUT_MS;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		snprintf(why, why_len, "cannot start %s: fork: %s", argv[0],
		         strerror(errno));
		return HBMON_EIO;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls here: the bench has threads. */
		int fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		/* A bench that dies must not leave a server behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	p->pid = pid;
	while (clock_mono_ms() < until) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			p->pid = 0;
			snprintf(why, why_len,
			         "%s exited at start-up (status %d)", argv[0],
			         WIFEXITED(status) ? WEXITSTATUS(status)
			                           : 128 + WTERMSIG(status));
			append_log_tail(p, why, why_len);
			return HBMON_EIO;
		}
		if (accepts(p->url)) {
			return HBMON_OK;
		}
		bench_pause_ms(20);
	}
	snprintf(why, why_len, "%s did not listen on %s within %d s", argv[0],
	         p->url, START_TIMEOUT_MS / 1000);
	append_log_tail(p, why, why_len);
	return HBMON_EIO;
}

int
server_proc_start(struct server_proc *p, const char *server_bin, char *why,
                  size_t why_len)
{
	/* Default settings but for where it lives and listens (the admin
	 * and PUB sockets derive from the data dir) and what the caller
	 * adds. */
	const char *argv[6 + EXTRA_ARGS_MAX];
	size_t n = 5;

	argv[0] = server_bin;
	argv[1] = "--data-dir";
	argv[2] = p->dir;
	argv[3] = "--listen";
	argv[4] = p->url;
	for (size_t i = 0; p->extra_args != NULL && p->extra_args[i] != NULL;
	     i++) {
		if (i == EXTRA_ARGS_MAX) {
			snprintf(why, why_len,
			         "more than %d extra flags for the server",
			         EXTRA_ARGS_MAX);
			return HBMON_EINVAL;
		}
		argv[n++] = p->extra_args[i];
	}
	argv[n] = NULL;
	return server_proc_spawn(p, argv, why, why_len);
}

int
server_proc_stop(struct server_proc *p, char *why, size_t why_len)
{
	int64_t until = clock_mono_ms() + STOP_TIMEOUT_MS;
	int status = 0;

	if (p->pid <= 0) {
		snprintf(why, why_len, "the server is not running");
		return HBMON_EIO;
	}
	kill(p->pid, SIGTERM);
	while (waitpid(p->pid, &status, WNOHANG) != p->pid) {
		if (clock_mono_ms() >= until) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->pid = 0;
			snprintf(why, why_len,
			         "the server did not stop within %d s of "
			         "SIGTERM",
			         STOP_TIMEOUT_MS / 1000);
			append_log_tail(p, why, why_len);
			return HBMON_EIO;
		}
		bench_pause_ms(10);
	}
	p->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		return HBMON_OK;
	}
	if (WIFEXITED(status)) {
		snprintf(why, why_len, "the server exited with status %d",
		         WEXITSTATUS(status));
	} else {
		snprintf(why, why_len, "the server was killed by signal %d",
		         WTERMSIG(status));
	}
	append_log_tail(p, why, why_len);
	return HBMON_EIO;
}

int
server_proc_heartbeats(struct server_proc *p, int64_t *out, char *why,
                       size_t why_len)
{
	struct store *store;
	int rv;

	if ((rv = store_open_reader(p->dir, &store, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	if ((rv = store_count(store, "heartbeats", out)) != HBMON_OK) {
		snprintf(why, why_len, "cannot count recorded heartbeats: %s",
		         store_errmsg(store));
	}
	store_close(store);
	return rv;
}

int
server_proc_memory(const struct server_proc *p, struct server_memory *out)
{
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
		{ "VmRSS:", offsetof(struct server_memory, rss) },
		{ "VmHWM:", offsetof(struct server_memory, peak) },
		{ "RssAnon:", offsetof(struct server_memory, anon) },
		{ "RssFile:", offsetof(struct server_memory, file) },
	};
	char path[64];
	char line[256];
	unsigned found = 0;
	FILE *f;

	memset(out, 0, sizeof(*out));
	if (p->pid <= 0) {
		return HBMON_EIO;
	}
	snprintf(path, sizeof(path), "/proc/%ld/status", (long) p->pid);
	if ((f = fopen(path, "r")) == NULL) {
		return HBMON_EIO;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]);
		     i++) {
			size_t len = strlen(fields[i].key);
			long long kb;

			/* The kernel writes these in kB (KiB). */
			if (strncmp(line, fields[i].key, len) == 0 &&
			    sscanf(line + len, "%lld", &kb) == 1) {
				*(int64_t *) ((char *) out + fields[i].offset) =
				    (int64_t) kb * 1024;
				found |= 1u << i;
			}
		}
	}
	fclose(f);
	return found == 0xf ? HBMON_OK : HBMON_EIO;
}

void
server_proc_cleanup(struct server_proc *p)
{
	int status;

	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
		p->pid = 0;
	}
	scratch_dir_remove(p->dir);
	p->dir[0] = '\0';
}
