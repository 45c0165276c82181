/*
 * Making the directories hbmon keeps its state in (the server's data dir,
 * the notifier's state dir): private to the user that runs it.
 */
#ifndef HBMON_COMMON_DIRS_H
#define HBMON_COMMON_DIRS_H

/*
 * mkdir -p: creates path and every missing parent, each with mode 0700;
 * existing directories are left as they are. Returns 0, or -1 with errno
 * set (ENAMETOOLONG past 1023 bytes). Thread-safe.
 */
int dirs_make(const char *path);

#endif
