/*
 * Secret files (common/secret): read from a file only its owner may read
 * or write, else refused with the fix in the message; never quoted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret.h"
#include "harness.h"
#include "hbmon/error.h"

#define SECRET "hbs_a-robots-secret"

static char dir[512];
static char path[600];

static void
setup(void)
{
	FILE *f;

	harness_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/r1.secret", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(SECRET "\n", f);
	fclose(f);
}

static void
teardown(void)
{
	harness_rmrf(dir);
}

TestSuite(secret, .init = setup, .fini = teardown);

Test(secret, owner_only_file_is_read_without_its_newline)
{
	char buf[128], why[512] = "";

	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(
	    secret_load(path, NULL, buf, sizeof(buf), why, sizeof(why)),
	    HBMON_OK, "%s", why);
	cr_assert_str_eq(buf, SECRET);
	cr_assert_eq(chmod(path, 0400), 0);
	cr_assert_eq(
	    secret_load(path, NULL, buf, sizeof(buf), why, sizeof(why)),
	    HBMON_OK, "%s", why);
}

Test(secret, group_or_other_bits_are_refused_with_the_fix)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602,
		                        0660, 0666, 0777, 0610 };
	char buf[128], why[1200], want[700];

	snprintf(want, sizeof(want), "chmod 600 %s", path);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		cr_assert_eq(chmod(path, modes[i]), 0);
		why[0] = '\0';
		cr_assert_eq(
		    secret_load(path, NULL, buf, sizeof(buf), why, sizeof(why)),
		    HBMON_EPERM, "mode %04o was accepted", (unsigned) modes[i]);
		cr_assert(strstr(why, want) != NULL, "%s", why);
		cr_assert(
		    strstr(why, "can be read or changed by other users") !=
		        NULL,
		    "%s", why);
		cr_assert(strstr(why, SECRET) == NULL, "the secret is in: %s",
		          why);
	}
}

Test(secret, what_is_not_a_regular_file_is_refused_without_blocking,
     .timeout = 10)
{
	char fifo[700], buf[128], why[1200] = "";

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(
	    secret_load(fifo, NULL, buf, sizeof(buf), why, sizeof(why)),
	    HBMON_ENOENT);
	cr_assert(strstr(why, "is not a regular file") != NULL, "%s", why);
	cr_assert_eq(secret_load(dir, NULL, buf, sizeof(buf), why, sizeof(why)),
	             HBMON_ENOENT);
}

Test(secret, the_environment_is_not_a_file)
{
	char buf[128], why[512] = "";

	setenv("HBMON_TEST_SECRET", SECRET, 1);
	cr_assert_eq(secret_load(NULL, "HBMON_TEST_SECRET", buf, sizeof(buf),
	                         why, sizeof(why)),
	             HBMON_OK, "%s", why);
	cr_assert_str_eq(buf, SECRET);
}
