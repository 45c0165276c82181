/* Subject names "ROBOT" and "ROBOT/ACCOUNT". */
#include "common/subject_name.h"

#include <stdio.h>
#include <string.h>

bool
subject_name_format(char *buf, size_t len, const char *robot,
                    const char *account)
{
	int n;

	if (robot == NULL || robot[0] == '\0') {
		n = snprintf(buf, len, "%s", SUBJECT_SERVER);
	} else if (account == NULL || account[0] == '\0') {
		n = snprintf(buf, len, "%s", robot);
	} else {
		n = snprintf(buf, len, "%s/%s", robot, account);
	}
	return n >= 0 && (size_t) n < len;
}

bool
subject_name_parse(const char *name, struct subject_name_ref *out)
{
	const char *slash;

	if (name == NULL || name[0] == '\0' || name[0] == '/') {
		return false;
	}
	slash = strchr(name, '/');
	if (slash != NULL && slash[1] == '\0') {
		return false;
	}
	out->robot = name;
	out->robot_len = slash != NULL ? (size_t) (slash - name) : strlen(name);
	out->account = slash != NULL ? slash + 1 : NULL;
	return true;
}

bool
subject_name_is_robot(const char *name)
{
	struct subject_name_ref r;

	return subject_name_parse(name, &r) && r.account == NULL;
}
