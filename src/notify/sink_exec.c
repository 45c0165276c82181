/*
 * Exec: the plug-in point for anything else. For each alert it runs the
 * configured command with /bin/sh -c, the alert's JSON (common/alert_json.h)
 * and a newline on its stdin, and in its environment HBMON_ALERT_SEQ,
 * HBMON_ALERT_KIND, HBMON_ALERT_SEVERITY and HBMON_ALERT_STATE (words only:
 * no robot or account name is ever put in the command or its environment,
 * so nothing a robot reports can be interpreted by a shell). The secrets
 * the notifier may have in its environment (HBMON_SECRET, ...) are not
 * passed on.
 *
 * Exit status 0 is delivered. Any other exit, a signal, or running past
 * exec.timeout (the whole process group is then killed) is retried with
 * backoff. The command's stdout and stderr are collected (the first 2 KiB)
 * and logged when it fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alert_json.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "notify/sink.h"

extern char **environ;

#define OUTPUT_MAX 2048
#define GRACE_MS   1000 /* after SIGTERM, before SIGKILL */

struct exec_sink {
	char command[NOTIFY_URL_MAX];
	int64_t timeout_ms;
	const atomic_bool *stop;
	int tz_offset_min;
};

static int
exec_open(const struct sink_env *env, void **out, char *why, size_t why_len)
{
	struct exec_sink *x;

	if (env->settings->exec_command[0] == '\0') {
		snprintf(why, why_len,
		         "exec: set HBMON_EXEC or exec.command to the command "
		         "to run");
		return HBMON_EINVAL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		return HBMON_ENOMEM;
	}
	snprintf(x->command, sizeof(x->command), "%s",
	         env->settings->exec_command);
	x->timeout_ms = env->settings->exec.timeout;
	x->stop = env->stop;
	x->tz_offset_min = env->tz_offset_min;
	log_info("exec sink ready", "timeout_ms=%" PRId64, x->timeout_ms);
	*out = x;
	return HBMON_OK;
}

static void
exec_close(void *arg)
{
	free(arg);
}

/* Secrets the notifier may hold in its environment: a plug-in command has
 * no business with them. */
static bool
secret_variable(const char *entry)
{
	static const char *const names[] = {
		"HBMON_SECRET=",         "HBMON_ADMIN_SECRET=",
		"HBMON_TELEGRAM_TOKEN=", "HBMON_SMTP_PASSWORD=",
		"HBMON_WEBHOOK_SECRET=",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strncmp(entry, names[i], strlen(names[i])) == 0) {
			return true;
		}
	}
	return false;
}

/* environ without secrets and with the alert's words; the array is
 * malloc'd, its new strings in extra (owned by the caller). */
static char **
child_env(const Hbmon__V1__Alert *a, char extra[4][64])
{
	size_t n = 0;
	char **envp;
	const char *kind = words_alert_kind(a->kind);
	const char *sev = words_severity(a->severity);
	const char *state = words_alert_state(a->state);

	while (environ[n] != NULL) {
		n++;
	}
	if ((envp = calloc(n + 5, sizeof(*envp))) == NULL) {
		return NULL;
	}
	snprintf(extra[0], 64, "HBMON_ALERT_SEQ=%" PRIu64, a->seq);
	snprintf(extra[1], 64, "HBMON_ALERT_KIND=%s", kind ? kind : "");
	snprintf(extra[2], 64, "HBMON_ALERT_SEVERITY=%s", sev ? sev : "");
	snprintf(extra[3], 64, "HBMON_ALERT_STATE=%s", state ? state : "");
	n = 0;
	for (size_t i = 0; environ[i] != NULL; i++) {
		if (strncmp(environ[i], "HBMON_ALERT_", 12) != 0 &&
		    !secret_variable(environ[i])) {
			envp[n++] = environ[i];
		}
	}
	for (int i = 0; i < 4; i++) {
		envp[n++] = extra[i];
	}
	envp[n] = NULL;
	return envp;
}

/*
 * Starts sh -c command with pipes for stdin and stdout+stderr, in a
 * process group of its own. Returns the pid, or -1 with errno.
 */
static pid_t
spawn(const char *command, char **envp, int *in_fd, int *out_fd)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *argv[] = { "sh", "-c", (char *) command, NULL };
	pid_t pid = -1;
	int rv;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	/* The notifier ignores SIGPIPE and may block signals; the command
	 * starts with the defaults, in a group that can be killed whole. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF |
	                                    POSIX_SPAWN_SETSID);
	rv = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rv != 0) {
		errno = rv;
		pid = -1;
	}
done:
	if (in[0] >= 0) {
		close(in[0]);
	}
	if (out[1] >= 0) {
		close(out[1]);
	}
	if (pid < 0) {
		if (in[1] >= 0) {
			close(in[1]);
		}
		if (out[0] >= 0) {
			close(out[0]);
		}
		return -1;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	/* A helper the command left running may hold the pipe open. */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	*in_fd = in[1];
	*out_fd = out[0];
	return pid;
}

/* The first line of output, for the log. */
static void
first_line(const char *output, size_t len, char *buf, size_t buf_len)
{
	size_t n = 0;

	while (n < len && output[n] != '\n' && n + 1 < buf_len) {
		buf[n] = output[n];
		n++;
	}
	buf[n] = '\0';
}

static void
exec_send(void *arg, const Hbmon__V1__Alert *const *alerts, size_t n,
          struct sink_result *out)
{
	struct exec_sink *x = arg;
	const Hbmon__V1__Alert *a = alerts[0];
	char extra[4][64], output[OUTPUT_MAX], line[256];
	size_t in_len, in_pos = 0, out_len = 0;
	char *json, *input = NULL;
	char **envp = NULL;
	int in_fd = -1, out_fd = -1, status = 0;
	int64_t deadline, kill_at = 0;
	bool timed_out = false, stopped = false, reaped = false;
	pid_t pid;

	(void) n;
	json = alert_json_text(a, x->tz_offset_min);
	if (json == NULL || (input = malloc(strlen(json) + 2)) == NULL ||
	    (envp = child_env(a, extra)) == NULL) {
		sink_fail(out, SINK_RETRY, "out of memory");
		goto done;
	}
	in_len = (size_t) sprintf(input, "%s\n", json);
	if ((pid = spawn(x->command, envp, &in_fd, &out_fd)) < 0) {
		sink_fail(out, SINK_RETRY, "exec: cannot start /bin/sh: %s",
		          strerror(errno));
		goto done;
	}
	deadline = clock_mono_ms() + x->timeout_ms;
	while (!reaped) {
		struct pollfd p[2] = { { out_fd, POLLIN, 0 },
			               { in_fd, POLLOUT, 0 } };
		int64_t now = clock_mono_ms();

		if (!timed_out && !stopped && now >= deadline) {
			timed_out = true;
		}
		if (!stopped && atomic_load(x->stop)) {
			stopped = true;
		}
		if ((timed_out || stopped) && kill_at == 0) {
			kill(-pid, SIGTERM);
			kill_at = now + GRACE_MS;
		}
		if (kill_at != 0 && now >= kill_at) {
			kill(-pid, SIGKILL);
		}
		if (poll(p, in_fd >= 0 ? 2 : 1, 50) > 0) {
			if (p[0].revents != 0) {
				char buf[512];
				ssize_t r = read(out_fd, buf, sizeof(buf));
				if (r > 0 && out_len < sizeof(output)) {
					size_t k = (size_t) r;
					if (k > sizeof(output) - out_len) {
						k = sizeof(output) - out_len;
					}
					memcpy(output + out_len, buf, k);
					out_len += k;
				}
			}
			if (in_fd >= 0 && p[1].revents != 0) {
				ssize_t w = write(in_fd, input + in_pos,
				                  in_len - in_pos);
				if (w > 0) {
					in_pos += (size_t) w;
				}
				/* All written, or the command does not read
				 * it (EPIPE): either way, stdin ends. */
				if (in_pos == in_len || w < 0) {
					close(in_fd);
					in_fd = -1;
				}
			}
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			reaped = true;
		}
	}
	/* Whatever the command left in the pipe. */
	for (;;) {
		char buf[512];
		ssize_t r = read(out_fd, buf, sizeof(buf));
		size_t k;
		if (r <= 0 || out_len == sizeof(output)) {
			break;
		}
		k = (size_t) r < sizeof(output) - out_len
		        ? (size_t) r
		        : sizeof(output) - out_len;
		memcpy(output + out_len, buf, k);
		out_len += k;
	}
	first_line(output, out_len, line, sizeof(line));
	if (timed_out || stopped) {
		sink_fail(out, SINK_RETRY, "exec: %s; killed",
		          stopped ? "stopping" : "timed out");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		out->verdict = SINK_SENT;
		out->taken = 1;
		if (out_len > 0) {
			log_debug("exec output", "seq=%" PRIu64 " output=%s",
			          a->seq, line);
		}
	} else if (WIFEXITED(status)) {
		sink_fail(out, SINK_RETRY, "exec: exit status %d: %s",
		          WEXITSTATUS(status), line);
	} else {
		sink_fail(out, SINK_RETRY, "exec: killed by signal %d: %s",
		          WIFSIGNALED(status) ? WTERMSIG(status) : 0, line);
	}
done:
	if (in_fd >= 0) {
		close(in_fd);
	}
	if (out_fd >= 0) {
		close(out_fd);
	}
	free(envp);
	free(input);
	free(json);
}

const struct sink_ops sink_exec = {
	.name = "exec",
	.batch_max = 1,
	.needs_messages = false,
	.open = exec_open,
	.send = exec_send,
	.close = exec_close,
};
