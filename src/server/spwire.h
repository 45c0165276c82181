/*
 * The SP ("scalability protocols") wire format hbmon-server speaks on its
 * own listeners, as pure functions over bytes: the 8-byte handshake, the
 * frames of the tcp and ipc mappings, the REP backtrace, and a receive
 * buffer that grows only with what has arrived. No I/O and no locks, so the
 * part that reads what any peer sends can be fuzzed on its own
 * (tests/fuzz/fuzz_spwire.c); sppipe.c moves the bytes.
 *
 * The format is nng's and nanomsg's (their "SP over TCP" and "SP over IPC"
 * mappings), which every SP implementation speaks:
 *   handshake  00 'S' 'P' 00, protocol (16-bit big-endian), 00 00; each
 *              side sends its own and checks the peer's
 *   tcp frame  64-bit big-endian length, then that many bytes
 *   ipc frame  a type byte 0x01, then as tcp
 *   REQ body   the backtrace: 32-bit big-endian words, the last one (the
 *              request id) with its top bit set, one more word per device
 *              in between; then the request. REP sends the backtrace back
 *              in front of the reply.
 *   PUB body   the message; SUB peers never send anything.
 */
#ifndef HBMON_SERVER_SPWIRE_H
#define HBMON_SERVER_SPWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protocol numbers (nng's NNG_*_SELF). */
#define SPWIRE_PUB0 0x20
#define SPWIRE_SUB0 0x21
#define SPWIRE_REQ0 0x30
#define SPWIRE_REP0 0x31

#define SPWIRE_HELLO_LEN 8
/* Longest frame head: ipc's type byte and the 64-bit length. */
#define SPWIRE_HEAD_MAX 9
/* Hops a request may have passed through (nng's REP default, 8), and so
 * the longest backtrace. */
#define SPWIRE_TTL    8
#define SPWIRE_BT_MAX (4 * SPWIRE_TTL)

/* What the peer's handshake says. */
enum spwire_hello {
	SPWIRE_HELLO_OK,    /* an SP peer of the protocol wanted */
	SPWIRE_HELLO_NOTSP, /* not an SP handshake at all */
	SPWIRE_HELLO_PROTO, /* SP, but another protocol (*peer says which) */
};

/* Writes our handshake for protocol proto into out. */
void spwire_hello(uint16_t proto, uint8_t out[SPWIRE_HELLO_LEN]);

/*
 * Checks the peer's handshake against the protocol we serve (want: the
 * peer's protocol number, e.g. SPWIRE_REQ0 for a REP listener). *peer gets
 * the number the peer announced (0 when it is not SP).
 */
enum spwire_hello spwire_hello_check(const uint8_t in[SPWIRE_HELLO_LEN],
                                     uint16_t want, uint16_t *peer);

/*
 * Writes the head of a frame whose body is len bytes into out. Returns its
 * length: 9 for ipc, 8 for tcp.
 */
size_t spwire_frame_head(bool ipc, uint64_t len, uint8_t out[SPWIRE_HEAD_MAX]);

/* What the start of a REQ body says. */
enum spwire_bt {
	SPWIRE_BT_OK,    /* *bt_len bytes of backtrace, then the request */
	SPWIRE_BT_SHORT, /* the body ends inside the backtrace: garbage */
	SPWIRE_BT_HOPS,  /* no request id within SPWIRE_TTL words: nng's REP
	                  * drops such a request and keeps the pipe */
};

/* Finds the backtrace at the start of a REQ body of len bytes. */
enum spwire_bt spwire_backtrace(const uint8_t *body, size_t len,
                                size_t *bt_len);

/*
 * The receive side of a pipe: bytes arrive into buf[len..cap), frames are
 * taken from buf[pos..len). The buffer is never larger than what has
 * arrived plus one step (and at least rx_min), whatever length a frame
 * announces: a peer cannot make the server hold memory it did not send.
 * Not thread-safe: the pipe serialises.
 */
struct spwire_rx {
	uint8_t *buf;
	size_t cap, len, pos;
	bool ipc;
	uint64_t recv_max; /* largest frame body accepted */
	size_t rx_min;     /* the buffer an idle pipe reads into */
	size_t step;       /* growth beyond what has arrived */
	uint64_t discard;  /* bytes of an oversize frame still to skip */
	uint64_t oversize; /* its announced length, while discarding */
};

/* What spwire_rx_next found. */
enum spwire_rx_event {
	SPWIRE_RX_NEED,     /* nothing whole yet: read more (spwire_rx_room) */
	SPWIRE_RX_MESSAGE,  /* a frame: see struct spwire_msg */
	SPWIRE_RX_OVERSIZE, /* a frame over recv_max: its first bytes are in
	                     * the message (at most SPWIRE_BT_MAX, all of its
	                     * body if shorter) and the rest is being skipped */
	SPWIRE_RX_SKIPPED,  /* the oversize frame has been skipped to its end */
	SPWIRE_RX_BADTYPE,  /* an ipc frame whose type byte is not 1 */
	SPWIRE_RX_NOMEM,    /* no memory to take the frame out */
};

/* One received frame body, owned by whoever took it from the buffer. */
struct spwire_msg {
	uint8_t *mem;        /* malloc'd; free(mem) when done */
	const uint8_t *body; /* inside mem */
	size_t len;
	uint64_t announced; /* SPWIRE_RX_OVERSIZE: the length announced */
};

/*
 * Prepares rx. rx_min, step > SPWIRE_HEAD_MAX + SPWIRE_BT_MAX. Allocates
 * nothing until bytes are to be read.
 */
void spwire_rx_init(struct spwire_rx *rx, bool ipc, uint64_t recv_max,
                    size_t rx_min, size_t step);

/* Frees the buffer. A zeroed rx is fine. */
void spwire_rx_fini(struct spwire_rx *rx);

/*
 * The capacity the buffer needs before the next read: at least rx_min,
 * room for the frame being received, but never more than what has arrived
 * plus one step. When it is more than rx->cap, grow with spwire_rx_grow
 * first (the caller may first check a memory budget).
 */
size_t spwire_rx_want(const struct spwire_rx *rx);

/*
 * Makes the buffer want bytes large (moving unread bytes to the front).
 * Returns HBMON_OK or HBMON_ENOMEM (rx unchanged).
 */
int spwire_rx_grow(struct spwire_rx *rx, size_t want);

/*
 * Where the next read goes: *room bytes at the returned pointer (moves
 * unread bytes to the front first). Call after spwire_rx_grow; *room is 0
 * only when the buffer is not allocated yet.
 */
uint8_t *spwire_rx_room(struct spwire_rx *rx, size_t *room);

/* Records n bytes read into the room. */
void spwire_rx_commit(struct spwire_rx *rx, size_t n);

/* Bytes received and not yet taken as frames or skipped. */
size_t spwire_rx_pending(const struct spwire_rx *rx);

/*
 * Looks at what has arrived, one event per call. On SPWIRE_RX_MESSAGE and
 * SPWIRE_RX_OVERSIZE, *out is the caller's (free out->mem): a large frame
 * takes the buffer with it, which is allocated again by the next
 * spwire_rx_grow. On any other event *out is untouched; after
 * SPWIRE_RX_BADTYPE or SPWIRE_RX_NOMEM the stream cannot be read on.
 */
enum spwire_rx_event spwire_rx_next(struct spwire_rx *rx,
                                    struct spwire_msg *out);

#endif
