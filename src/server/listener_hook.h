/*
 * Test builds only: hbmon-server-hooks (src/server/CMakeLists.txt, never
 * installed) links this in to break a listener from the outside the way
 * no peer can any more, so that tests can watch the self-check
 * (selfcheck.h) find and replace it.
 */
#ifndef HBMON_SERVER_LISTENER_HOOK_H
#define HBMON_SERVER_LISTENER_HOOK_H

#include "server/listener.h"

/*
 * Closes l's nng stream listener under its accept loop, as if it had
 * died: every accept fails from then on (and is retried, paused, as
 * after any error) until listener_rebind replaces it. An ipc socket file
 * goes with it. Thread-safe; not from an nng callback.
 */
void listener_hook_break(struct listener *l);

#endif
