/*
 * The listener self-check (SPEC §3.6): defence in depth beside the
 * accept loops of listener.h. One thread that, every listener_check,
 * dials each of the server's own listeners at the address it listens on
 * (listener_url) and completes the SP handshake as a peer would (sends
 * the 8-byte hello of a REQ peer to a REP listener, of a SUB peer to the
 * PUB one, and reads the server's back), within a short deadline, over
 * TLS for tls+tcp:// with the server's own certificate; then closes the
 * connection.
 *
 * A check that fails is not yet proof of a dead listener: when the
 * listener accepted a connection meanwhile (listener_accepts went up:
 * its caps were full and it refused ours, it requires a client
 * certificate that the server's own is not, it is slow under load), its
 * accept loop works, and it is left as it is. Otherwise (its ipc socket
 * file was removed, its accept loop stopped) it is replaced
 * (listener_rebind: same URL, same ipc path and mode), logged at warn,
 * counted (health.h: the verdict is degraded for a while, and says how
 * many times), and a LISTENER_RESTARTED warning is raised through the
 * recorder. A listener that cannot be replaced (its address taken
 * meanwhile) stays "not answering": the verdict is unhealthy and the
 * systemd watchdog is no longer fed; the next check tries again.
 *
 * Every check's answer goes to health_listener_checked. The self-check's
 * own connections are not logged as refusals (listener_mark_self).
 */
#ifndef HBMON_SERVER_SELFCHECK_H
#define HBMON_SERVER_SELFCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "server/health.h"
#include "server/listener.h"
#include "server/recorder.h"

/* The most listeners one self-check looks after. */
#define SELFCHECK_LISTENERS_MAX HEALTH_LISTENERS_MAX

/* How long one check may take, dial and handshake: a listener that has
 * not answered by then (and accepted nothing meanwhile) is deaf. */
#define SELFCHECK_DEADLINE_MS 2000

struct selfcheck_options {
	struct health *health;     /* required */
	struct recorder *recorder; /* LISTENER_RESTARTED; required */
	int64_t interval_ms;       /* listener_check: between two rounds */
	/* For tls+tcp:// listeners: a client config (tlsconf_self); held
	 * by the self-check. NULL when none is tls+tcp://. */
	nng_tls_config *tls;
	struct listener *listeners[SELFCHECK_LISTENERS_MAX];
	size_t n_listeners;
};

struct selfcheck;

/*
 * Registers each listener with health and starts the thread; the first
 * round comes one interval from now. The options' objects are not owned
 * (tls is held); they must outlive selfcheck_stop, and the listeners must
 * not be closed before it. out: stopped with selfcheck_stop. Returns
 * HBMON_OK, HBMON_ERANGE (more listeners than health takes) or
 * HBMON_ENOMEM.
 */
int selfcheck_start(const struct selfcheck_options *opts,
                    struct selfcheck **out);

/*
 * Stops the thread (waiting for a check in progress, at most
 * SELFCHECK_DEADLINE_MS) and frees sc. NULL is fine.
 */
void selfcheck_stop(struct selfcheck *sc);

#endif
