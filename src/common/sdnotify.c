/* sd_notify through libsystemd. */
#include "common/sdnotify.h"

#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "common/log.h"

static void
notify(const char *text)
{
	/* 0: no NOTIFY_SOCKET, nothing to do; < 0: the socket is there but
	 * the datagram did not go, which only systemd can act on. */
	int rv = sd_notify(0, text);

	if (rv < 0) {
		log_debug("sd_notify failed", "what=%s error=%d", text, rv);
	}
}

void
sdnotify_ready(const char *status)
{
	char text[600];

	if (status != NULL) {
		snprintf(text, sizeof(text), "READY=1\nSTATUS=%s", status);
		notify(text);
	} else {
		notify("READY=1");
	}
}

void
sdnotify_watchdog(void)
{
	notify("WATCHDOG=1");
}

void
sdnotify_stopping(void)
{
	notify("STOPPING=1");
}

void
sdnotify_status(const char *status)
{
	char text[600];

	snprintf(text, sizeof(text), "STATUS=%s", status);
	notify(text);
}

int64_t
sdnotify_watchdog_every_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
		return 0;
	}
	/* systemd's advice: ping at half the timeout. */
	return (int64_t) (usec / 2000) > 0 ? (int64_t) (usec / 2000) : 1;
}
