/*
 * Test builds only; see listener_hook.h. Beside listener.c and sppipe.c,
 * the one other file that includes edge_impl.h.
 */
#include "server/listener_hook.h"

#include <pthread.h>

#include "server/edge_impl.h"

void
listener_hook_break(struct listener *l)
{
	struct acceptor *a;

	pthread_mutex_lock(&l->rebind_lock);
	pthread_mutex_lock(&l->lock);
	a = l->acc;
	pthread_mutex_unlock(&l->lock);
	if (a != NULL) {
		nng_stream_listener_close(a->sl);
	}
	pthread_mutex_unlock(&l->rebind_lock);
}
