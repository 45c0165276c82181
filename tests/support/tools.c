/* The real programs the HTTP tests drive; see tools.h. */
#include "tools.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

char *
tool_require(const char *program, const char *package)
{
	const char *path = getenv("PATH");
	char *dirs = strdup(path != NULL ? path : "/usr/bin:/bin");
	char *save = NULL;
	char *found = NULL;

	cr_assert_not_null(dirs);
	for (char *d = strtok_r(dirs, ":", &save); d != NULL && found == NULL;
	     d = strtok_r(NULL, ":", &save)) {
		char candidate[1024];
		snprintf(candidate, sizeof(candidate), "%s/%s", d, program);
		if (access(candidate, X_OK) == 0) {
			found = strdup(candidate);
		}
	}
	free(dirs);
	cr_assert_not_null(found,
	                   "%s is not installed: it is in the Debian package "
	                   "%s (tools/install-deps.sh installs it)",
	                   program, package);
	return found;
}

int
tool_promtool_check(const char *text, char **said)
{
	char *promtool = tool_require("promtool", "prometheus");
	const char *argv[] = { promtool, "check", "metrics", NULL };
	char *out = NULL, *err = NULL;
	size_t len;
	int st;

	st = harness_run(argv, text, &out, &err, 30000);
	free(promtool);
	len = strlen(out) + strlen(err) + 2;
	*said = malloc(len);
	cr_assert_not_null(*said);
	snprintf(*said, len, "%s\n%s", out, err);
	free(out);
	free(err);
	cr_assert(WIFEXITED(st), "promtool did not finish");
	return WEXITSTATUS(st);
}
