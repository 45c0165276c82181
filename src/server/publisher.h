/*
 * The alert PUB socket (SPEC §3.4): the fast path to notifiers. nng PUB
 * drops messages for slow or absent subscribers, so it only ever carries
 * alerts already committed to the outbox; notifiers fill any gap from
 * there (Admin.AlertsAfter).
 */
#ifndef HBMON_SERVER_PUBLISHER_H
#define HBMON_SERVER_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

struct publisher;

/*
 * Opens a PUB socket listening on url with a send queue of send_buffer
 * messages per subscriber (NNG_OPT_SENDBUF). ipc:// sockets are made
 * mode 0600: alerts name robots and accounts. why: a sentence on
 * failure. Returns HBMON_OK, HBMON_EINVAL, HBMON_EBUSY or HBMON_EIO.
 */
int publisher_open(const char *url, int send_buffer, struct publisher **out,
                   char *why, size_t why_len);

/*
 * Sends one message (topic + packed Alert) without ever blocking; a
 * subscriber whose queue is full misses it. Thread-safe. The signature
 * fits engine_flush's publish callback (arg is the publisher).
 */
void publisher_send(void *publisher, const uint8_t *msg, size_t len);

/* Closes the socket. NULL is fine. */
void publisher_close(struct publisher *p);

#endif
