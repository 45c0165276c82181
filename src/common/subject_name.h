/*
 * Subject names: "ROBOT" or "ROBOT/ACCOUNT" (SPEC §5), the one place that
 * writes and reads them. Everything that names a subject (hbctl's
 * arguments and tables, the server's Admin replies and alert summaries,
 * the notifier's messages, the JSON of an alert) goes through here.
 *
 * An account is scoped to its robot (SPEC §2.3), so the name is the
 * robot id, a '/', and the account name. A robot id never holds a '/'
 * (rules.h), so the first '/' splits the name; an account name may hold
 * more of them, and parsing keeps them in the account. Alerts about the
 * server itself (no robot) have the subject SUBJECT_SERVER.
 *
 * Pure functions on caller memory; no allocation; thread-safe. Part of
 * hbmon-base: the robot client library may use it.
 */
#ifndef HBMON_COMMON_SUBJECT_NAME_H
#define HBMON_COMMON_SUBJECT_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* The subject of an alert that concerns no robot (SERVER_RESTARTED). */
#define SUBJECT_SERVER "server"

/* A parsed subject: pointers into the parsed string, not NUL-terminated
 * where the robot ends. */
struct subject_name_ref {
	const char *robot;
	size_t robot_len;
	const char *account; /* NULL: the subject is a robot */
};

/*
 * Writes robot's name ("R1") or account's ("R1/ACC_003") into buf.
 * account NULL or "": the robot; robot NULL or "": SUBJECT_SERVER.
 * Returns true, or false when buf was too small (it then holds as much
 * as fits, NUL-terminated; len 0 writes nothing).
 */
bool subject_name_format(char *buf, size_t len, const char *robot,
                         const char *account);

/*
 * Parses "R1" or "R1/ACC_003" into out. Refused (false): NULL, "", a
 * name that starts with '/', and a '/' with no account after it
 * ("R1/"). The parts are not checked against the robot id and account
 * rules: the server does that, and says why.
 */
bool subject_name_parse(const char *name, struct subject_name_ref *out);

/* Whether name parses as a robot, with no account part. */
bool subject_name_is_robot(const char *name);

#endif
