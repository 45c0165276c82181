/* Subject names "ROBOT" and "ROBOT/ACCOUNT" (common/subject_name.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/subject_name.h"

Test(subject_name, formats_robots_accounts_and_the_server, .timeout = 10)
{
	char buf[64];

	cr_assert(subject_name_format(buf, sizeof(buf), "R1", NULL));
	cr_assert_str_eq(buf, "R1");
	cr_assert(subject_name_format(buf, sizeof(buf), "R1", ""));
	cr_assert_str_eq(buf, "R1");
	cr_assert(subject_name_format(buf, sizeof(buf), "R1", "ACC_003"));
	cr_assert_str_eq(buf, "R1/ACC_003");
	cr_assert(subject_name_format(buf, sizeof(buf), "", "ACC_003"));
	cr_assert_str_eq(buf, SUBJECT_SERVER);
	cr_assert(subject_name_format(buf, sizeof(buf), NULL, NULL));
	cr_assert_str_eq(buf, "server");
}

Test(subject_name, says_when_it_did_not_fit, .timeout = 10)
{
	char buf[9];

	cr_assert(subject_name_format(buf, sizeof(buf), "R1", "ACC_0"));
	cr_assert_str_eq(buf, "R1/ACC_0");
	cr_assert_not(subject_name_format(buf, sizeof(buf), "R1", "ACC_003"));
	cr_assert_str_eq(buf, "R1/ACC_0");
	memset(buf, 'x', sizeof(buf));
	cr_assert_not(subject_name_format(buf, 0, "R1", NULL));
	cr_assert_eq(buf[0], 'x', "len 0 writes nothing");
}

Test(subject_name, parses_what_format_writes, .timeout = 10)
{
	static const char *const names[] = { "R1", "R1/ACC_003", "R1/a/b",
		                             "robot-7.x/\xe2\x82\xac" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct subject_name_ref r;
		char robot[64], again[64];

		cr_assert(subject_name_parse(names[i], &r), "%s", names[i]);
		snprintf(robot, sizeof(robot), "%.*s", (int) r.robot_len,
		         r.robot);
		cr_assert(subject_name_format(again, sizeof(again), robot,
		                              r.account));
		cr_assert_str_eq(again, names[i]);
	}
}

Test(subject_name, the_first_slash_splits, .timeout = 10)
{
	struct subject_name_ref r;

	cr_assert(subject_name_parse("R1/ACC/x", &r));
	cr_assert_eq(r.robot_len, 2);
	cr_assert_str_eq(r.account, "ACC/x");
	cr_assert(subject_name_parse("R1", &r));
	cr_assert_eq(r.robot_len, 2);
	cr_assert_null(r.account);
	cr_assert(subject_name_is_robot("R1"));
	cr_assert_not(subject_name_is_robot("R1/ACC_003"));
}

Test(subject_name, refuses_what_names_nothing, .timeout = 10)
{
	static const char *const bad[] = { "", "/", "/ACC_003", "R1/", "//" };
	struct subject_name_ref r = { .robot = "untouched" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not(subject_name_parse(bad[i], &r), "'%s'", bad[i]);
		cr_assert_not(subject_name_is_robot(bad[i]), "'%s'", bad[i]);
	}
	cr_assert_str_eq(r.robot, "untouched", "out is left alone");
	cr_assert_not(subject_name_parse(NULL, &r));
}
