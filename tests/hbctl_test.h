/*
 * Helpers shared by the hbctl suites: running the real hbctl binary
 * against a harness server the way an operator would, in the foreground
 * (hbctl_run) or in the background (hbctl_spawn / hbctl_wait).
 */
#ifndef HBMON_TESTS_HBCTL_TEST_H
#define HBMON_TESTS_HBCTL_TEST_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define HBCTL_RUN_MS 20000 /* a bound on one hbctl run, never a speed */

static inline const char *
hbctl_path(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s", harness_bin("tools/hbctl/hbctl"));
	return path;
}

/* Fills argv: hbctl, then admin (when not NULL) as --admin, then args. */
static inline void
hbctl_argv(const char **argv, size_t max, const char *admin,
           const char *const *args)
{
	size_t n = 0;

	argv[n++] = hbctl_path();
	if (admin != NULL) {
		argv[n++] = "--admin";
		argv[n++] = admin;
	}
	for (size_t i = 0; args[i] != NULL && n + 1 < max; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
}

/*
 * Runs hbctl --admin ADMIN args... (admin NULL: no --admin) with stdin
 * from stdin_text (NULL: /dev/null); returns the exit code. out/err: the
 * output, malloc'd (caller frees), or NULL when not wanted.
 */
static inline int
hbctl_run_in(const char *admin, const char *const *args, const char *stdin_text,
             char **out, char **err)
{
	const char *argv[64];
	char *o = NULL, *e = NULL;
	int st;

	hbctl_argv(argv, 64, admin, args);
	st = harness_run(argv, stdin_text, &o, &e, HBCTL_RUN_MS);
	cr_assert(WIFEXITED(st), "hbctl %s did not exit by itself:\n%s%s",
	          args[0] != NULL ? args[0] : "", o, e);
	if (out != NULL) {
		*out = o;
	} else {
		free(o);
	}
	if (err != NULL) {
		*err = e;
	} else {
		free(e);
	}
	return WEXITSTATUS(st);
}

static inline int
hbctl_run(const char *admin, const char *const *args, char **out, char **err)
{
	return hbctl_run_in(admin, args, NULL, out, err);
}

/* Asserts that text contains part. */
#define assert_has(text, part)                                                 \
	cr_assert(strstr((text), (part)) != NULL, "expected \"%s\" in:\n%s",   \
	          (part), (text))

#define assert_lacks(text, part)                                               \
	cr_assert(strstr((text), (part)) == NULL,                              \
	          "did not expect \"%s\" in:\n%s", (part), (text))

/* Starts hbctl in the background with stdout into out_path. */
static inline pid_t
hbctl_spawn(const char *admin, const char *const *args, const char *out_path,
            const char *err_path)
{
	const char *argv[64];
	pid_t pid;

	hbctl_argv(argv, 64, admin, args);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int in = open("/dev/null", O_RDONLY);
		if (out < 0 || err < 0 || in < 0) {
			_exit(126);
		}
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	return pid;
}

/*
 * Waits up to timeout_ms for a spawned hbctl to exit; true when it did,
 * with its exit code in *code (-1 if a signal ended it).
 */
static inline bool
hbctl_exited(pid_t pid, int timeout_ms, int *code)
{
	int st;

	for (int waited = 0;; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			*code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			return true;
		}
		if (waited >= timeout_ms) {
			return false;
		}
		harness_sleep_ms(10);
	}
}

/*
 * Waits for a spawned hbctl up to timeout_ms; returns its exit code, or
 * -1 when it had to be killed (SIGKILL) or died of a signal.
 */
static inline int
hbctl_wait(pid_t pid, int timeout_ms)
{
	int code;

	if (hbctl_exited(pid, timeout_ms, &code)) {
		return code;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Lines in text. */
static inline size_t
hbctl_lines(const char *text)
{
	size_t n = 0;

	for (; *text != '\0'; text++) {
		n += *text == '\n';
	}
	return n;
}

/* How many times needle occurs in text. */
static inline size_t
hbctl_count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p != NULL;
	     p = strstr(p + 1, needle)) {
		n++;
	}
	return n;
}

/* Writes text to path, mode 0600 (what secret files must have). */
static inline void
hbctl_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

#endif
