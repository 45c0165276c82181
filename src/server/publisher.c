/* PUB socket for committed alerts. */
#include "server/publisher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "common/log.h"
#include "hbmon/error.h"

struct publisher {
	nng_socket sock;
};

int
publisher_open(const char *url, int send_buffer, struct publisher **out,
               char *why, size_t why_len)
{
	struct publisher *p = calloc(1, sizeof(*p));
	nng_listener l;
	int rv;

	if (p == NULL) {
		return HBMON_ENOMEM;
	}
	if ((rv = nng_pub0_open(&p->sock)) != 0) {
		snprintf(why, why_len, "cannot open a PUB socket: %s",
		         nng_strerror(rv));
		free(p);
		return HBMON_EIO;
	}
	nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, send_buffer);
	if ((rv = nng_listener_create(&l, p->sock, url)) != 0) {
		goto fail;
	}
	if (strncmp(url, "ipc://", 6) == 0) {
		nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600);
	}
	if ((rv = nng_listener_start(l, 0)) != 0) {
		goto fail;
	}
	*out = p;
	return HBMON_OK;

fail:
	snprintf(why, why_len, "cannot publish alerts on %s: %s", url,
	         nng_strerror(rv));
	nng_close(p->sock);
	free(p);
	return rv == NNG_EADDRINUSE                        ? HBMON_EBUSY
	       : rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? HBMON_EINVAL
	                                                   : HBMON_EIO;
}

void
publisher_send(void *publisher, const uint8_t *msg, size_t len)
{
	struct publisher *p = publisher;
	int rv;

	if (p == NULL) {
		return;
	}
	/* PUB does not block: a full subscriber queue drops, which the
	 * outbox makes good. An error here is only worth a debug line. */
	rv = nng_send(p->sock, (void *) msg, len, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		log_debug("alert not published", "error=%s", nng_strerror(rv));
	}
}

void
publisher_close(struct publisher *p)
{
	if (p != NULL) {
		nng_close(p->sock);
		free(p);
	}
}
