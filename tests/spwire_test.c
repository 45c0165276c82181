/*
 * spwire_test: the SP wire format hbmon-server speaks (handshake, frames,
 * backtraces) and the receive buffer that never holds more than what
 * arrived plus one step; and the rate-limited refusal log.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hbmon/error.h"
#include "server/refusal.h"
#include "server/spwire.h"

TestSuite(spwire, .timeout = 10);

Test(spwire, hello_is_nngs_and_is_checked)
{
	uint8_t h[8], want[8] = { 0, 'S', 'P', 0, 0, 0x31, 0, 0 };
	uint16_t peer;

	spwire_hello(SPWIRE_REP0, h);
	cr_assert_arr_eq(h, want, 8);

	spwire_hello(SPWIRE_REQ0, h);
	cr_assert_eq(spwire_hello_check(h, SPWIRE_REQ0, &peer),
	             SPWIRE_HELLO_OK);
	cr_assert_eq(peer, SPWIRE_REQ0);
	/* A PUB peer on a REP listener: SP, but not what it serves. */
	spwire_hello(SPWIRE_PUB0, h);
	cr_assert_eq(spwire_hello_check(h, SPWIRE_REQ0, &peer),
	             SPWIRE_HELLO_PROTO);
	cr_assert_eq(peer, SPWIRE_PUB0);
	/* Not SP: HTTP, a TLS ClientHello, reserved bytes set. */
	cr_assert_eq(spwire_hello_check((const uint8_t *) "GET / HT",
	                                SPWIRE_REQ0, &peer),
	             SPWIRE_HELLO_NOTSP);
	cr_assert_eq(peer, 0);
	cr_assert_eq(spwire_hello_check(
	                 (const uint8_t[]){ 0x16, 3, 1, 0, 0xa5, 1, 0, 0 },
	                 SPWIRE_SUB0, &peer),
	             SPWIRE_HELLO_NOTSP);
	cr_assert_eq(spwire_hello_check(
	                 (const uint8_t[]){ 0, 'S', 'P', 0, 0, 0x30, 0, 1 },
	                 SPWIRE_REQ0, &peer),
	             SPWIRE_HELLO_NOTSP);
}

Test(spwire, frame_heads_of_both_mappings)
{
	uint8_t h[SPWIRE_HEAD_MAX];
	const uint8_t tcp[8] = { 0, 0, 0, 0, 0, 1, 0, 2 };
	const uint8_t ipc[9] = { 1, 0, 0, 0, 0, 0, 1, 0, 2 };

	cr_assert_eq(spwire_frame_head(false, 0x10002, h), 8);
	cr_assert_arr_eq(h, tcp, 8);
	cr_assert_eq(spwire_frame_head(true, 0x10002, h), 9);
	cr_assert_arr_eq(h, ipc, 9);
}

Test(spwire, backtrace_ends_at_the_request_id)
{
	const uint8_t one[] = { 0x80, 0, 0, 7, 'x' };
	const uint8_t two[] = { 0, 0, 0, 3, 0x80, 0, 0, 7, 'x' };
	uint8_t hops[SPWIRE_BT_MAX + 4] = { 0 };
	size_t n = 0;

	cr_assert_eq(spwire_backtrace(one, sizeof(one), &n), SPWIRE_BT_OK);
	cr_assert_eq(n, 4);
	/* A device on the way adds a word in front. */
	cr_assert_eq(spwire_backtrace(two, sizeof(two), &n), SPWIRE_BT_OK);
	cr_assert_eq(n, 8);
	cr_assert_eq(spwire_backtrace(one, 3, &n), SPWIRE_BT_SHORT);
	cr_assert_eq(spwire_backtrace(two, 6, &n), SPWIRE_BT_SHORT);
	cr_assert_eq(spwire_backtrace(hops, sizeof(hops), &n), SPWIRE_BT_HOPS);
	/* The eighth word may still be the id. */
	hops[4 * 7] = 0x80;
	cr_assert_eq(spwire_backtrace(hops, sizeof(hops), &n), SPWIRE_BT_OK);
	cr_assert_eq(n, SPWIRE_BT_MAX);
}

/* Reads bytes into rx the way a pipe does: grow to what it wants, then
 * copy at most what the room holds. Returns how many were taken. */
static size_t
feed(struct spwire_rx *rx, const uint8_t *p, size_t n)
{
	size_t room;
	uint8_t *at;

	cr_assert_eq(spwire_rx_grow(rx, spwire_rx_want(rx)), HBMON_OK);
	at = spwire_rx_room(rx, &room);
	cr_assert_gt(room, 0);
	if (n > room) {
		n = room;
	}
	memcpy(at, p, n);
	spwire_rx_commit(rx, n);
	return n;
}

static uint8_t *
frame(bool ipc, size_t body, size_t *len)
{
	uint8_t *f = malloc(SPWIRE_HEAD_MAX + body);
	size_t hl = spwire_frame_head(ipc, body, f);

	for (size_t i = 0; i < body; i++) {
		f[hl + i] = (uint8_t) (i * 7);
	}
	*len = hl + body;
	return f;
}

Test(spwire, a_frame_arrives_byte_by_byte)
{
	struct spwire_rx rx;
	struct spwire_msg m;
	size_t len;
	uint8_t *f = frame(true, 100, &len);

	spwire_rx_init(&rx, true, 1024, 4096, 64 * 1024);
	for (size_t i = 0; i + 1 < len; i++) {
		cr_assert_eq(feed(&rx, f + i, 1), 1);
		cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_NEED);
	}
	feed(&rx, f + len - 1, 1);
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_MESSAGE);
	cr_assert_eq(m.len, 100);
	cr_assert_arr_eq(m.body, f + 9, 100);
	free(m.mem);
	cr_assert_eq(spwire_rx_pending(&rx), 0);
	spwire_rx_fini(&rx);
	free(f);
}

Test(spwire, the_buffer_grows_only_with_what_arrived)
{
	struct spwire_rx rx;
	struct spwire_msg m;
	size_t step = 16 * 1024, len, at = 0;
	uint8_t *f = frame(false, 200 * 1024, &len);

	spwire_rx_init(&rx, false, 1024 * 1024, 4096, step);
	/* Only the head: a peer announcing 200 KiB holds at most a step. */
	at += feed(&rx, f, 8);
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_NEED);
	cr_assert_leq(spwire_rx_want(&rx), 8 + step);
	while (at < len) {
		at += feed(&rx, f + at, len - at);
		cr_assert_leq(rx.cap, spwire_rx_pending(&rx) + step,
		              "cap %zu with %zu arrived", rx.cap,
		              spwire_rx_pending(&rx));
		if (at < len) {
			cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_NEED);
		}
	}
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_MESSAGE);
	cr_assert_eq(m.len, 200 * 1024);
	cr_assert_arr_eq(m.body, f + 8, m.len);
	/* The buffer went with it; the next read starts small again. */
	cr_assert_eq(rx.cap, 0);
	cr_assert_eq(spwire_rx_want(&rx), 4096);
	free(m.mem);
	spwire_rx_fini(&rx);
	free(f);
}

Test(spwire, pipelined_frames_come_out_one_at_a_time)
{
	struct spwire_rx rx;
	struct spwire_msg m;
	uint8_t buf[3 * 20];
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		n += spwire_frame_head(false, 12, buf + n);
		memset(buf + n, 'a' + i, 12);
		n += 12;
	}
	spwire_rx_init(&rx, false, 1024, 4096, 4096);
	cr_assert_eq(feed(&rx, buf, n), n);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_MESSAGE);
		cr_assert_eq(m.len, 12);
		cr_assert_eq(m.body[0], 'a' + i);
		free(m.mem);
	}
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_NEED);
	spwire_rx_fini(&rx);
}

Test(spwire, an_oversize_frame_keeps_only_its_backtrace)
{
	struct spwire_rx rx;
	struct spwire_msg m;
	uint8_t head[8 + 40], junk[4096] = { 0 };
	uint64_t left;

	/* 2^62 bytes announced: nothing of that size is ever allocated. */
	spwire_frame_head(false, UINT64_C(1) << 62, head);
	memset(head + 8, 0, 40);
	head[8] = 0x80;
	head[11] = 9;
	spwire_rx_init(&rx, false, 1024, 4096, 4096);
	feed(&rx, head, 8 + 10);
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_NEED);
	feed(&rx, head + 18, 30);
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_OVERSIZE);
	cr_assert_eq(m.announced, UINT64_C(1) << 62);
	cr_assert_eq(m.len, SPWIRE_BT_MAX);
	cr_assert_eq(m.body[3], 9);
	free(m.mem);
	/* What follows is skipped through the small buffer. */
	cr_assert_leq(rx.cap, 4096);
	left = (UINT64_C(1) << 62) - SPWIRE_BT_MAX;
	cr_assert_eq(rx.discard, left);
	for (int i = 0; i < 100; i++) {
		feed(&rx, junk, sizeof(junk));
		cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_NEED);
		cr_assert_leq(rx.cap, 4096);
	}
	spwire_rx_fini(&rx);
}

Test(spwire, an_oversize_frame_is_skipped_to_its_end)
{
	struct spwire_rx rx;
	struct spwire_msg m;
	size_t len;
	uint8_t *big = frame(true, 5000, &len);
	uint8_t *small = frame(true, 10, &len);

	big[9] = 0x80;
	spwire_rx_init(&rx, true, 1024, 4096, 4096);
	for (size_t at = 0; at < 9 + 5000;) {
		at += feed(&rx, big + at, 9 + 5000 - at);
		while (spwire_rx_next(&rx, &m) == SPWIRE_RX_OVERSIZE) {
			free(m.mem);
		}
	}
	feed(&rx, small, 9 + 10);
	/* The skip ended exactly at the frame's end: the next is whole. */
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_MESSAGE);
	cr_assert_eq(m.len, 10);
	free(m.mem);
	spwire_rx_fini(&rx);
	free(big);
	free(small);
}

Test(spwire, an_ipc_frame_of_another_type_is_refused)
{
	struct spwire_rx rx;
	struct spwire_msg m;
	const uint8_t bad[9] = { 2, 0, 0, 0, 0, 0, 0, 0, 4 };

	spwire_rx_init(&rx, true, 1024, 4096, 4096);
	feed(&rx, bad, sizeof(bad));
	cr_assert_eq(spwire_rx_next(&rx, &m), SPWIRE_RX_BADTYPE);
	spwire_rx_fini(&rx);
}

/* ---- the refusal log ---- */

static FILE *capture;
static int saved = -1;

static void
capture_start(void)
{
	fflush(stderr);
	capture = tmpfile();
	cr_assert_not_null(capture);
	saved = dup(STDERR_FILENO);
	cr_assert_geq(dup2(fileno(capture), STDERR_FILENO), 0);
}

static char *
capture_end(void)
{
	long size;
	char *text;

	dup2(saved, STDERR_FILENO);
	close(saved);
	size = lseek(fileno(capture), 0, SEEK_END);
	text = calloc(1, (size_t) size + 1);
	cr_assert_eq(pread(fileno(capture), text, (size_t) size, 0), size);
	fclose(capture);
	return text;
}

static size_t
lines(const char *text)
{
	size_t n = 0;

	for (; *text != '\0'; text++) {
		n += *text == '\n';
	}
	return n;
}

Test(refusal, ten_thousand_refusals_are_a_few_lines)
{
	struct refusal_log r;
	char *text;

	log_set_level(LOG_DEBUG);
	capture_start();
	refusal_init(&r, "robots", 60000);
	for (int i = 0; i < 10000; i++) {
		refusal_note(&r, LOG_INFO, i % 2 ? "192.0.2.1" : "192.0.2.2",
		             "request refused", "robot=%s why=%s", "R\x1b[2J",
		             "bad signature");
	}
	/* A warning after infos is said at once too, once. */
	refusal_note(&r, LOG_WARN, "192.0.2.3", "connection cap", NULL);
	refusal_note(&r, LOG_WARN, "192.0.2.3", "connection cap", NULL);
	refusal_fini(&r);
	text = capture_end();
	cr_assert_eq(lines(text), 3, "%s", text);
	cr_assert(strstr(text,
	                 "level=info msg=refused listener=robots "
	                 "peer=192.0.2.2 reason=\"request refused\" "
	                 "robot=\"R\\x1b[2J\" why=\"bad signature\"") != NULL,
	          "%s", text);
	cr_assert(strstr(text,
	                 "level=warn msg=refused listener=robots "
	                 "peer=192.0.2.3 reason=\"connection cap\"") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "msg=\"refusals since the last report\" "
	                       "listener=robots") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "refused=10000 peers=3 groups=3 ungrouped=0 "
	                       "top=\"192.0.2.1: request refused x5000; "
	                       "192.0.2.2: request refused x4999; 192.0.2.3: "
	                       "connection cap x1\"") != NULL,
	          "%s", text);
	free(text);
}

Test(refusal, a_new_period_says_the_first_again)
{
	struct refusal_log r;
	char *text;

	capture_start();
	refusal_init(&r, "admin", 100);
	refusal_note(&r, LOG_INFO, "ipc", "not an SP peer", NULL);
	refusal_note(&r, LOG_INFO, "ipc", "not an SP peer", NULL);
	usleep(150 * 1000);
	/* The period is over: its summary first, then the new first. */
	refusal_note(&r, LOG_INFO, "ipc", "not an SP peer", NULL);
	refusal_fini(&r);
	text = capture_end();
	cr_assert_eq(lines(text), 3, "%s", text);
	cr_assert(strstr(text, "refused=1 peers=1") != NULL, "%s", text);
	free(text);
}

Test(refusal, groups_beyond_the_table_are_counted_not_named)
{
	struct refusal_log r;
	char peer[32], *text;

	capture_start();
	refusal_init(&r, "robots", 60000);
	for (int i = 0; i <= REFUSAL_GROUPS + 5; i++) {
		snprintf(peer, sizeof(peer), "192.0.2.%d", i);
		refusal_note(&r, LOG_INFO, peer, "accept rate", NULL);
	}
	refusal_fini(&r);
	text = capture_end();
	cr_assert_eq(lines(text), 2, "%s", text);
	cr_assert(strstr(text, "refused=21 peers=16 groups=16 ungrouped=5") !=
	              NULL,
	          "%s", text);
	free(text);
}
