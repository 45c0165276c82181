/* The SP wire format as pure functions; see spwire.h. */
#include "server/spwire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hbmon/error.h"

void
spwire_hello(uint16_t proto, uint8_t out[SPWIRE_HELLO_LEN])
{
	out[0] = 0;
	out[1] = 'S';
	out[2] = 'P';
	out[3] = 0;
	out[4] = (uint8_t) (proto >> 8);
	out[5] = (uint8_t) proto;
	out[6] = 0;
	out[7] = 0;
}

enum spwire_hello
spwire_hello_check(const uint8_t in[SPWIRE_HELLO_LEN], uint16_t want,
                   uint16_t *peer)
{
	*peer = 0;
	/* The same checks nng makes: the two reserved bytes must be 0. */
	if (in[0] != 0 || in[1] != 'S' || in[2] != 'P' || in[3] != 0 ||
	    in[6] != 0 || in[7] != 0) {
		return SPWIRE_HELLO_NOTSP;
	}
	*peer = (uint16_t) ((in[4] << 8) | in[5]);
	return *peer == want ? SPWIRE_HELLO_OK : SPWIRE_HELLO_PROTO;
}

size_t
spwire_frame_head(bool ipc, uint64_t len, uint8_t out[SPWIRE_HEAD_MAX])
{
	uint8_t *p = out;

	if (ipc) {
		*p++ = 1;
	}
	for (int i = 7; i >= 0; i--) {
		*p++ = (uint8_t) (len >> (8 * i));
	}
	return (size_t) (p - out);
}

enum spwire_bt
spwire_backtrace(const uint8_t *body, size_t len, size_t *bt_len)
{
	for (size_t hop = 0; hop < SPWIRE_TTL; hop++) {
		size_t at = 4 * hop;

		if (len < at + 4) {
			return SPWIRE_BT_SHORT;
		}
		if ((body[at] & 0x80u) != 0) {
			*bt_len = at + 4;
			return SPWIRE_BT_OK;
		}
	}
	return SPWIRE_BT_HOPS;
}

void
spwire_rx_init(struct spwire_rx *rx, bool ipc, uint64_t recv_max, size_t rx_min,
               size_t step)
{
	assert(rx_min > SPWIRE_HEAD_MAX + SPWIRE_BT_MAX);
	assert(step > SPWIRE_HEAD_MAX + SPWIRE_BT_MAX);
	memset(rx, 0, sizeof(*rx));
	rx->ipc = ipc;
	rx->recv_max = recv_max;
	rx->rx_min = rx_min;
	rx->step = step;
}

void
spwire_rx_fini(struct spwire_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
	rx->cap = rx->len = rx->pos = 0;
}

size_t
spwire_rx_pending(const struct spwire_rx *rx)
{
	return rx->len - rx->pos;
}

static size_t
head_len(const struct spwire_rx *rx)
{
	return rx->ipc ? 9 : 8;
}

/* The announced body length of the frame at pos (its head is there). */
static uint64_t
announced(const struct spwire_rx *rx)
{
	const uint8_t *p = rx->buf + rx->pos + (rx->ipc ? 1 : 0);
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v = (v << 8) | p[i];
	}
	return v;
}

size_t
spwire_rx_want(const struct spwire_rx *rx)
{
	size_t have = spwire_rx_pending(rx);
	size_t hl = head_len(rx);
	size_t want = rx->rx_min;
	uint64_t body, frame;

	if (rx->discard > 0 || have < hl) {
		return rx->cap > want ? rx->cap : want;
	}
	body = announced(rx);
	/* Of an oversize frame only the backtrace is ever kept. */
	if (body > rx->recv_max) {
		body = SPWIRE_BT_MAX;
	}
	frame = hl + body; /* body <= recv_max: no overflow */
	if (frame > (uint64_t) have + rx->step) {
		frame = (uint64_t) have + rx->step;
	}
	if ((size_t) frame > want) {
		want = (size_t) frame;
	}
	return rx->cap > want ? rx->cap : want;
}

/* Moves the unread bytes to the front of the buffer. */
static void
compact(struct spwire_rx *rx)
{
	if (rx->pos > 0) {
		memmove(rx->buf, rx->buf + rx->pos, rx->len - rx->pos);
		rx->len -= rx->pos;
		rx->pos = 0;
	}
}

int
spwire_rx_grow(struct spwire_rx *rx, size_t want)
{
	uint8_t *buf;

	compact(rx);
	if (want <= rx->cap) {
		return HBMON_OK;
	}
	if ((buf = realloc(rx->buf, want)) == NULL) {
		return HBMON_ENOMEM;
	}
	rx->buf = buf;
	rx->cap = want;
	return HBMON_OK;
}

uint8_t *
spwire_rx_room(struct spwire_rx *rx, size_t *room)
{
	compact(rx);
	*room = rx->cap - rx->len;
	return rx->buf + rx->len;
}

void
spwire_rx_commit(struct spwire_rx *rx, size_t n)
{
	assert(n <= rx->cap - rx->len);
	rx->len += n;
}

/* Forgets n bytes at pos. */
static void
consume(struct spwire_rx *rx, size_t n)
{
	rx->pos += n;
	if (rx->pos == rx->len) {
		rx->pos = rx->len = 0;
	}
}

/* A copy of n bytes at p, or NULL. */
static uint8_t *
copy_out(const uint8_t *p, size_t n)
{
	uint8_t *m = malloc(n > 0 ? n : 1);

	if (m != NULL && n > 0) {
		memcpy(m, p, n);
	}
	return m;
}

enum spwire_rx_event
spwire_rx_next(struct spwire_rx *rx, struct spwire_msg *out)
{
	size_t have = spwire_rx_pending(rx);
	size_t hl = head_len(rx);
	uint64_t body;
	uint8_t *start;

	if (rx->discard > 0) {
		size_t n = have < rx->discard ? have : (size_t) rx->discard;

		consume(rx, n);
		rx->discard -= n;
		return rx->discard == 0 ? SPWIRE_RX_SKIPPED : SPWIRE_RX_NEED;
	}
	if (have < hl) {
		return SPWIRE_RX_NEED;
	}
	start = rx->buf + rx->pos;
	if (rx->ipc && start[0] != 1) {
		return SPWIRE_RX_BADTYPE;
	}
	body = announced(rx);
	if (body > rx->recv_max) {
		/* Keep what names the request, skip the rest unread. */
		size_t keep = SPWIRE_BT_MAX;
		size_t got = have - hl;

		if (got < keep) {
			return SPWIRE_RX_NEED;
		}
		if ((out->mem = copy_out(start + hl, keep)) == NULL) {
			return SPWIRE_RX_NOMEM;
		}
		out->body = out->mem;
		out->len = keep;
		out->announced = body;
		rx->oversize = body;
		rx->discard = body - keep;
		consume(rx, hl + keep);
		return SPWIRE_RX_OVERSIZE;
	}
	if ((uint64_t) (have - hl) < body) {
		return SPWIRE_RX_NEED;
	}
	out->len = (size_t) body;
	out->announced = body;
	if (rx->pos == 0 && hl + out->len == rx->len &&
	    out->len > rx->cap / 4) {
		/* The frame fills the buffer: hand the buffer over. */
		out->mem = rx->buf;
		out->body = rx->buf + hl;
		rx->buf = NULL;
		rx->cap = rx->len = rx->pos = 0;
		return SPWIRE_RX_MESSAGE;
	}
	if ((out->mem = copy_out(start + hl, out->len)) == NULL) {
		return SPWIRE_RX_NOMEM;
	}
	out->body = out->mem;
	consume(rx, hl + out->len);
	return SPWIRE_RX_MESSAGE;
}
