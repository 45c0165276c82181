/*
 * libFuzzer target: what any peer can send to one of hbmon-server's
 * listeners, through the server's own SP code (server/spwire.c), for both
 * roles. The first byte chooses the role (REP reads requests, PUB reads
 * nothing from its SUB peers), the mapping (tcp or ipc), the limits and
 * how the bytes are cut into reads; then come the peer's handshake and
 * its stream. Checked on the way: the receive buffer never holds more
 * than what has arrived plus one step, no request is longer than
 * recv_max, and every request's backtrace parses.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hbmon/error.h"
#include "server/spwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() is compiled out of the fuzz build (RelWithDebInfo): these stay. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			abort();                                               \
		}                                                              \
	} while (0)

/* Reads n bytes (or fewer) of the stream into rx as a pipe does. */
static size_t
feed(struct spwire_rx *rx, const uint8_t *p, size_t n)
{
	size_t want = spwire_rx_want(rx), room, before = rx->cap;
	uint8_t *at;

	if (spwire_rx_grow(rx, want) != HBMON_OK) {
		return 0;
	}
	/* Never more than what arrived plus a step (and the minimum). */
	CHECK(rx->cap <= before ||
	      rx->cap <= (rx->rx_min > spwire_rx_pending(rx) + rx->step
	                      ? rx->rx_min
	                      : spwire_rx_pending(rx) + rx->step));
	at = spwire_rx_room(rx, &room);
	CHECK(room > 0);
	if (n > room) {
		n = room;
	}
	memcpy(at, p, n);
	spwire_rx_commit(rx, n);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spwire_rx rx;
	uint8_t mode;
	bool ipc, pub;
	uint16_t peer;
	uint32_t seed;
	uint64_t recv_max;
	size_t at = 0;

	if (size < 1 + SPWIRE_HELLO_LEN) {
		return 0;
	}
	mode = data[0];
	ipc = (mode & 1) != 0;
	pub = (mode & 2) != 0;
	seed = mode;
	data++;
	size--;
	/* The handshake, as each role checks it. */
	switch (
	    spwire_hello_check(data, pub ? SPWIRE_SUB0 : SPWIRE_REQ0, &peer)) {
	case SPWIRE_HELLO_OK:
		CHECK(peer == (pub ? SPWIRE_SUB0 : SPWIRE_REQ0));
		break;
	case SPWIRE_HELLO_PROTO:
		CHECK(peer != (pub ? SPWIRE_SUB0 : SPWIRE_REQ0));
		break;
	case SPWIRE_HELLO_NOTSP:
		CHECK(peer == 0);
		break;
	}
	data += SPWIRE_HELLO_LEN;
	size -= SPWIRE_HELLO_LEN;
	if (pub) {
		/* A SUB peer that sends anything at all is closed: nothing
		 * of it is ever parsed. */
		return 0;
	}
	recv_max = 1024 + (uint64_t) (mode >> 2) * 97;
	spwire_rx_init(&rx, ipc, recv_max, 64 + (mode >> 4) * 16,
	               64 + (mode & 0x0c) * 32);
	while (at < size) {
		struct spwire_msg m;
		size_t chunk;
		bool stop = false;

		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 16) % 700;
		if (chunk > size - at) {
			chunk = size - at;
		}
		at += feed(&rx, data + at, chunk);
		while (!stop) {
			size_t bt_len;

			switch (spwire_rx_next(&rx, &m)) {
			case SPWIRE_RX_MESSAGE:
				CHECK(m.len <= recv_max);
				CHECK(m.announced == m.len);
				if (spwire_backtrace(m.body, m.len, &bt_len) ==
				    SPWIRE_BT_OK) {
					CHECK(bt_len >= 4 &&
					      bt_len <= SPWIRE_BT_MAX &&
					      bt_len <= m.len &&
					      bt_len % 4 == 0);
				}
				free(m.mem);
				break;
			case SPWIRE_RX_OVERSIZE:
				CHECK(m.announced > recv_max);
				CHECK(m.len == SPWIRE_BT_MAX);
				(void) spwire_backtrace(m.body, m.len, &bt_len);
				free(m.mem);
				break;
			case SPWIRE_RX_SKIPPED:
				break;
			case SPWIRE_RX_NEED:
				stop = true;
				break;
			case SPWIRE_RX_BADTYPE:
			case SPWIRE_RX_NOMEM:
				/* The pipe is closed here. */
				spwire_rx_fini(&rx);
				return 0;
			}
		}
	}
	spwire_rx_fini(&rx);
	return 0;
}
