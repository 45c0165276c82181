/*
 * Real programs the HTTP tests drive: curl, promtool (Debian
 * `prometheus`), headless chromium. tools/install-deps.sh installs them;
 * a test that needs one that is missing fails, saying which package to
 * install, rather than being skipped.
 */
#ifndef HBMON_TESTS_TOOLS_H
#define HBMON_TESTS_TOOLS_H

/*
 * The path of program on $PATH, malloc'd; fails the test (naming
 * package, the Debian package that has it) when there is none.
 */
char *tool_require(const char *program, const char *package);

/*
 * `promtool check metrics` on text; returns its exit code, with what it
 * said (stdout and stderr) in *said, malloc'd.
 */
int tool_promtool_check(const char *text, char **said);

#endif
