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
#include "common/config.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "util.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  30000
#define LOG_TAIL         600
#define EXTRA_ARGS_MAX   32
#define ADMIN_TIMEOUT_MS 10000

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
server_proc_seed(struct server_proc *p, const char *seed, char *why,
                 size_t why_len)
{
	char path[SCRATCH_PATH_MAX + 16], buf[65536];
	FILE *in = fopen(seed, "rb"), *out = NULL;
	size_t n;
	int rv = HBMON_OK;

	snprintf(path, sizeof(path), "%s/hbmon.db", p->dir);
	if (in == NULL || (out = fopen(path, "wbx")) == NULL) {
		snprintf(why, why_len, "cannot copy %s to %s: %s", seed, path,
		         strerror(errno));
		rv = HBMON_EIO;
		goto done;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			break;
		}
	}
	if (ferror(in) || ferror(out)) {
		snprintf(why, why_len, "cannot copy %s to %s: %s", seed, path,
		         strerror(errno));
		rv = HBMON_EIO;
	}
done:
	if (out != NULL && fclose(out) != 0 && rv == HBMON_OK) {
		snprintf(why, why_len, "cannot write %s: %s", path,
		         strerror(errno));
		rv = HBMON_EIO;
	}
	if (in != NULL) {
		fclose(in);
	}
	return rv;
}

/* An Admin client on the server's admin.sock (in its data dir). */
static int
admin_open(const struct server_proc *p, struct rpc_client **out, char *why,
           size_t why_len)
{
	struct rpc_client_options ro = { 0 };
	char url[SCRATCH_PATH_MAX + 32];

	snprintf(url, sizeof(url), "ipc://%s/admin.sock", p->dir);
	ro.url = url;
	ro.timeout_ms = ADMIN_TIMEOUT_MS;
	return rpc_client_open(&ro, out, why, why_len);
}

int
server_proc_add_robots(struct server_proc *p, struct loadgen_robot *robots,
                       uint32_t n, char *why, size_t why_len)
{
	struct rpc_client *admin;
	int rv;

	if ((rv = admin_open(p, &admin, why, why_len)) != HBMON_OK) {
		return rv;
	}
	/* What `hbctl robot add` does: the server makes each secret. */
	for (uint32_t i = 0; i < n && rv == HBMON_OK; i++) {
		Hbmon__V1__RobotAddRequest in =
		    HBMON__V1__ROBOT_ADD_REQUEST__INIT;
		Hbmon__V1__RobotAddReply *out = NULL;
		struct rpc_status st;

		in.robot = robots[i].id;
		rv =
		    rpc_client_call(admin, "/hbmon.v1.Admin/RobotAdd", &in.base,
		                    &hbmon__v1__robot_add_reply__descriptor,
		                    (ProtobufCMessage **) &out, &st);
		if (rv == HBMON_OK && st.code != RPC_OK) {
			rv = HBMON_EIO;
		}
		if (rv != HBMON_OK) {
			snprintf(why, why_len, "cannot register robot %s: %s",
			         robots[i].id, st.message);
		} else if (strlen(out->secret) >= sizeof(robots[i].secret)) {
			snprintf(why, why_len,
			         "robot %s: the server's secret is longer "
			         "than %zu bytes",
			         robots[i].id, sizeof(robots[i].secret) - 1);
			rv = HBMON_EPROTO;
		} else {
			snprintf(robots[i].secret, sizeof(robots[i].secret),
			         "%s", out->secret);
		}
		if (out != NULL) {
			protobuf_c_message_free_unpacked(&out->base, NULL);
		}
	}
	rpc_client_close(admin);
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
	Hbmon__V1__ServerInfoRequest in = HBMON__V1__SERVER_INFO_REQUEST__INIT;
	Hbmon__V1__ServerInfoReply *info = NULL;
	struct rpc_client *admin;
	struct rpc_status st;
	int rv;

	if ((rv = admin_open(p, &admin, why, why_len)) != HBMON_OK) {
		return rv;
	}
	rv = rpc_client_call(admin, "/hbmon.v1.Admin/ServerInfo", &in.base,
	                     &hbmon__v1__server_info_reply__descriptor,
	                     (ProtobufCMessage **) &info, &st);
	if (rv == HBMON_OK && st.code == RPC_OK) {
		*out = (int64_t) info->heartbeats;
		protobuf_c_message_free_unpacked(&info->base, NULL);
	} else {
		snprintf(why, why_len, "cannot count recorded heartbeats: %s",
		         st.message);
		rv = rv != HBMON_OK ? rv : HBMON_EIO;
	}
	rpc_client_close(admin);
	return rv;
}

/* Reads "key = value" lines of the server's --check-config from fd. */
static int
read_settings(int fd, uint32_t *workers, int64_t *recv_max)
{
	FILE *f = fdopen(fd, "r");
	char line[1024];
	int found = 0;

	if (f == NULL) {
		close(fd);
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq = strstr(line, " = ");
		uint64_t v;

		if (eq == NULL) {
			continue;
		}
		*eq = '\0';
		eq[3 + strcspn(eq + 3, "\n")] = '\0';
		if (strcmp(line, "workers") == 0 &&
		    config_parse_size(eq + 3, &v) == HBMON_OK && v > 0 &&
		    v <= UINT32_MAX) {
			*workers = (uint32_t) v;
			found |= 1;
		} else if (strcmp(line, "recv_max") == 0 &&
		           config_parse_size(eq + 3, &v) == HBMON_OK && v > 0 &&
		           v <= INT64_MAX) {
			*recv_max = (int64_t) v;
			found |= 2;
		}
	}
	fclose(f);
	return found;
}

int
server_proc_defaults(const char *server_bin, uint32_t *workers,
                     int64_t *recv_max, char *why, size_t why_len)
{
	/* --check-config creates nothing; a data dir that does not exist
	 * keeps any hbmon.ini of the working directory out of it. */
	const char *argv[] = { server_bin, "--check-config", "--data-dir",
		               "/nonexistent/hbmon-bench", NULL };
	int fds[2], status = 0, found;
	pid_t pid;

	if (pipe(fds) != 0) {
		snprintf(why, why_len, "pipe: %s", strerror(errno));
		return HBMON_EIO;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, why_len, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return HBMON_EIO;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(fds[1], 1);
		if (null >= 0) {
			dup2(null, 2);
		}
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	close(fds[1]);
	found = read_settings(fds[0], workers, recv_max);
	waitpid(pid, &status, 0);
	if (found != 3 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, why_len,
		         "%s --check-config did not give workers and recv_max "
		         "(status %d)",
		         server_bin, status);
		return HBMON_EIO;
	}
	return HBMON_OK;
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
