/*
 * The systemd notification protocol (sd_notify(3), libsystemd): what a
 * Type=notify unit is told about an hbmon program. Without NOTIFY_SOCKET
 * in the environment (not started by systemd, or by a unit of another
 * type) every call does nothing and costs a getenv.
 *
 *   READY=1     once the program serves (the server listens; the notifier
 *               has its sources open)
 *   WATCHDOG=1  while the program judges itself healthy; a unit with
 *               WatchdogSec= restarts it when these stop
 *   STOPPING=1  as soon as a stop signal is taken
 *   STATUS=...  one line for `systemctl status`
 *
 * All functions are thread-safe and never block for long (one datagram on
 * a local socket); a failure is logged once at debug level and otherwise
 * ignored: systemd's view of the program must never stop the program.
 */
#ifndef HBMON_COMMON_SDNOTIFY_H
#define HBMON_COMMON_SDNOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS line (status may be NULL). */
void sdnotify_ready(const char *status);

/* WATCHDOG=1. */
void sdnotify_watchdog(void);

/* STOPPING=1. */
void sdnotify_stopping(void);

/* STATUS=status. */
void sdnotify_status(const char *status);

/*
 * How often WATCHDOG=1 is expected, in ms: half of the unit's WatchdogSec
 * (sd_watchdog_enabled; WATCHDOG_USEC in the environment), or 0 when no
 * watchdog is asked for.
 */
int64_t sdnotify_watchdog_every_ms(void);

#endif
