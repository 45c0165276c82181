/*
 * Where hbmon keeps its data when nothing says otherwise: one rule for
 * hbmon-server, hbmon-notify and hbctl (docs/configuration.md, "Where
 * hbmon keeps its data"), so that all three find the same sockets without
 * a flag:
 *
 *   1. --data-dir D;
 *   2. $HBMON_DATA_DIR, when set and not empty;
 *   3. data_dir in the INI file (--config; hbctl has none);
 *   4. ./var, when the program runs from the build tree it was built in
 *      (a developer's run of build/src/server/hbmon-server);
 *   5. /var/lib/hbmon otherwise: an installed program, whatever its prefix
 *      and whatever directory it is started in.
 *
 * (1 to 3 is the order of every setting, common/config.h; hbctl derives
 * its admin URL from the same data dir unless --admin or $HBMON_ADMIN
 * names one.)
 *
 * The sockets live in the data dir (DATA_DIR/admin.sock, alerts.sock):
 * the directory is mode 0700 and owned by the server's user, so it guards
 * the admin socket, and it exists before the server starts (no runtime
 * directory to create at boot).
 */
#ifndef HBMON_COMMON_PATHS_H
#define HBMON_COMMON_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* The data dir of an installed hbmon. */
#define PATHS_DATA_DIR_INSTALLED "/var/lib/hbmon"
/* The data dir of a build-tree run, relative to the working directory. */
#define PATHS_DATA_DIR_BUILD_TREE "./var"
/* The environment variable of rule 2. */
#define PATHS_DATA_DIR_ENV "HBMON_DATA_DIR"

/*
 * Whether this process's executable lies inside the build directory it
 * was compiled in, and that directory is still a CMake build tree (it
 * holds CMakeCache.txt). An installed copy is never there, unless it was
 * installed into the build tree itself. Reads /proc/self/exe; the answer
 * is computed once. Thread-safe.
 */
bool paths_in_build_tree(void);

/*
 * The data dir by rules 4 and 5 (what a program uses when neither a flag,
 * $HBMON_DATA_DIR nor the INI file names one). A static string.
 * Thread-safe.
 */
const char *paths_default_data_dir(void);

/*
 * The data dir by rules 2, 4 and 5 (for hbctl, which has no INI file):
 * $HBMON_DATA_DIR when set and not empty, else paths_default_data_dir(). The
 * string is getenv's or static; do not change the environment while using it.
 */
const char *paths_data_dir(void);

#endif
