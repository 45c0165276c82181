/*
 * The gapless follower (common/alert_follow.h) on its own: a fake outbox
 * in memory and a real PUB socket in this process, so every seq it sees
 * is chosen here: next, gap, seen, jumps, a full user, an outbox that
 * fails, a replaced database, keepalives.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "common/alert_follow.h"
#include "common/alert_topic.h"
#include "common/clock.h"
#include "harness.h"
#include "hbmon/error.h"

#define OUTBOX_MAX 64
#define TAKEN_MAX  256

/* What the follower sees of the server, and what it did. */
static struct {
	uint64_t outbox[OUTBOX_MAX]; /* seqs, ascending */
	size_t n_outbox;
	int fail;       /* fetches still to fail */
	size_t fetches; /* fetches made */
	uint64_t taken[TAKEN_MAX];
	size_t n_taken;
	size_t keepalives, restarts;
	char said[1024];
} t;

static Hbmon__V1__Alert *
new_alert(uint64_t seq)
{
	Hbmon__V1__Alert a = HBMON__V1__ALERT__INIT;
	uint8_t buf[256];
	size_t len;

	a.seq = seq;
	a.kind = HBMON__V1__ALERT_KIND__ALERT_KIND_HEARTBEAT_MISSED;
	a.severity = HBMON__V1__SEVERITY__SEVERITY_CRITICAL;
	a.state = HBMON__V1__ALERT_STATE__ALERT_STATE_FIRING;
	a.robot = "R1";
	len = hbmon__v1__alert__pack(&a, buf);
	return hbmon__v1__alert__unpack(NULL, len, buf);
}

static int
fetch(void *arg, uint64_t after, uint32_t limit,
      Hbmon__V1__AlertsAfterReply **out)
{
	Hbmon__V1__AlertsAfterReply r = HBMON__V1__ALERTS_AFTER_REPLY__INIT;
	Hbmon__V1__Alert *page[OUTBOX_MAX];
	uint8_t *buf;
	size_t len;

	(void) arg;
	t.fetches++;
	if (t.fail > 0) {
		t.fail--;
		return HBMON_EUNAVAIL;
	}
	r.alerts = page;
	for (size_t i = 0; i < t.n_outbox; i++) {
		if (t.outbox[i] <= after) {
			continue;
		}
		if (r.n_alerts == limit) {
			r.more = true;
			break;
		}
		page[r.n_alerts++] = new_alert(t.outbox[i]);
	}
	r.last_seq = t.n_outbox > 0 ? t.outbox[t.n_outbox - 1] : 0;
	len = hbmon__v1__alerts_after_reply__get_packed_size(&r);
	buf = malloc(len + 1);
	hbmon__v1__alerts_after_reply__pack(&r, buf);
	*out = hbmon__v1__alerts_after_reply__unpack(NULL, len, buf);
	free(buf);
	for (size_t i = 0; i < r.n_alerts; i++) {
		hbmon__v1__alert__free_unpacked(page[i], NULL);
	}
	return HBMON_OK;
}

static void
take(void *arg, Hbmon__V1__Alert *a)
{
	(void) arg;
	cr_assert_lt(t.n_taken, TAKEN_MAX);
	t.taken[t.n_taken++] = a->seq;
	hbmon__v1__alert__free_unpacked(a, NULL);
}

static void
keepalive(void *arg, const Hbmon__V1__Keepalive *k, bool restarted)
{
	(void) arg;
	(void) k;
	t.keepalives++;
	t.restarts += restarted;
}

static void
say(void *arg, enum log_level level, const char *msg, const char *fields)
{
	(void) arg;
	(void) level;
	snprintf(t.said, sizeof(t.said), "%s %s", msg, fields);
}

static const struct alert_follow_ops ops = { fetch, take, keepalive, say };

static void
outbox(size_t n, const uint64_t *seqs)
{
	memcpy(t.outbox, seqs, n * sizeof(*seqs));
	t.n_outbox = n;
}

/* The seqs taken so far are exactly want. */
static void
assert_taken(size_t n, const uint64_t *want)
{
	cr_assert_eq(t.n_taken, n, "took %zu alerts, not %zu", t.n_taken, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(t.taken[i], want[i],
		             "alert %zu: seq %llu, not %llu", i,
		             (unsigned long long) t.taken[i],
		             (unsigned long long) want[i]);
	}
}

static struct alert_follow *
open_follower(const char *url, uint64_t after, int64_t poll_ms)
{
	struct alert_follow_options o = {
		.subscribe_url = url,
		.dial_wait = url != NULL,
		.poll_ms = poll_ms,
		.retry_ms = 50,
		.page_max = 3,
	};
	struct alert_follow *f = NULL;
	char why[512];

	cr_assert_eq(
	    alert_follow_open(&o, after, &ops, NULL, &f, why, sizeof(why)),
	    HBMON_OK, "%s", why);
	return f;
}

/* A PUB socket on a scratch ipc path. */
static nng_socket pub;
static char pub_url[600];

static void
pub_start(void)
{
	char dir[512];

	harness_tmpdir(dir, sizeof(dir));
	snprintf(pub_url, sizeof(pub_url), "ipc://%s/alerts.sock", dir);
	cr_assert_eq(nng_pub0_open(&pub), 0);
	cr_assert_eq(nng_listen(pub, pub_url, NULL, 0), 0);
}

static void
publish_alert(uint64_t seq)
{
	Hbmon__V1__Alert *a = new_alert(seq);
	uint8_t *msg;
	size_t len;

	cr_assert_eq(alert_topic_pack(a, &msg, &len), HBMON_OK);
	cr_assert_eq(nng_send(pub, msg, len, 0), 0);
	free(msg);
	hbmon__v1__alert__free_unpacked(a, NULL);
}

static void
publish_keepalive(const char *boot_id, uint64_t last_alert_seq)
{
	Hbmon__V1__Keepalive k = HBMON__V1__KEEPALIVE__INIT;
	uint8_t *msg;
	size_t len;

	k.boot_id = (char *) boot_id;
	k.last_alert_seq = last_alert_seq;
	cr_assert_eq(keepalive_topic_pack(&k, &msg, &len), HBMON_OK);
	cr_assert_eq(nng_send(pub, msg, len, 0), 0);
	free(msg);
}

/* Polls until the SUB side is connected: a keepalive got through. */
static void
wait_connected(struct alert_follow *f)
{
	for (int i = 0; i < 500 && t.keepalives == 0; i++) {
		publish_keepalive("boot-1", 0);
		alert_follow_poll(f, 20, SIZE_MAX, true);
	}
	cr_assert_gt(t.keepalives, 0, "the SUB socket never connected");
}

/* Polls until n alerts were taken (or a few seconds passed). */
static void
poll_until(struct alert_follow *f, size_t n, size_t room)
{
	for (int i = 0; i < 200 && t.n_taken < n; i++) {
		alert_follow_poll(f, 20, room, true);
	}
}

Test(alert_follow, classifies_seen_next_and_gap, .timeout = 10)
{
	cr_assert_eq(alert_follow_classify(5, 4), ALERT_FOLLOW_SEEN);
	cr_assert_eq(alert_follow_classify(5, 5), ALERT_FOLLOW_SEEN);
	cr_assert_eq(alert_follow_classify(5, 6), ALERT_FOLLOW_NEXT);
	cr_assert_eq(alert_follow_classify(5, 7), ALERT_FOLLOW_GAP);
	cr_assert_eq(alert_follow_classify(0, 1), ALERT_FOLLOW_NEXT);
	cr_assert_eq(alert_follow_classify(0, 0), ALERT_FOLLOW_SEEN);
	cr_assert_eq(alert_follow_classify(UINT64_MAX - 1, UINT64_MAX),
	             ALERT_FOLLOW_NEXT);
}

Test(alert_follow, catches_up_page_by_page_and_takes_jumps_as_they_are,
     .timeout = 10)
{
	/* 1000 reserved seqs skipped after an unclean stop (alerts.md). */
	static const uint64_t seqs[] = { 1, 2, 3, 4, 1005, 1006, 1007 };
	struct alert_follow *f;

	outbox(7, seqs);
	f = open_follower(NULL, 2, 60000);
	cr_assert_eq(alert_follow_catch_up(f, SIZE_MAX, true), HBMON_OK);
	assert_taken(5, seqs + 2);
	cr_assert_eq(t.fetches, 2, "pages of 3: %zu fetches", t.fetches);
	cr_assert_eq(alert_follow_last(f), 1007);
	cr_assert_not(alert_follow_behind(f));
	alert_follow_close(f);
}

Test(alert_follow, a_full_user_leaves_the_rest_in_the_outbox, .timeout = 10)
{
	static const uint64_t seqs[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct alert_follow *f;

	outbox(8, seqs);
	f = open_follower(NULL, 0, 60000);
	cr_assert_eq(alert_follow_catch_up(f, 5, true), HBMON_OK);
	assert_taken(5, seqs);
	cr_assert(alert_follow_behind(f));
	/* Nothing more while it is not asked, though it has room now. */
	alert_follow_poll(f, 0, SIZE_MAX, true);
	assert_taken(5, seqs);
	alert_follow_request(f);
	alert_follow_poll(f, 0, SIZE_MAX, true);
	assert_taken(8, seqs);
	cr_assert_not(alert_follow_behind(f));
	alert_follow_close(f);
}

Test(alert_follow, an_outbox_that_fails_is_retried_after_retry_ms,
     .timeout = 10)
{
	static const uint64_t seqs[] = { 1, 2 };
	struct alert_follow *f;
	int64_t start;

	outbox(2, seqs);
	t.fail = 1;
	f = open_follower(NULL, 0, 60000);
	cr_assert_eq(alert_follow_catch_up(f, SIZE_MAX, true), HBMON_EUNAVAIL);
	start = clock_mono_ms();
	alert_follow_poll(f, 0, SIZE_MAX, true);
	if (clock_mono_ms() - start < 50) {
		cr_assert_eq(t.fetches, 1, "retried before retry_ms");
	}
	for (int i = 0; i < 100 && t.n_taken < 2; i++) {
		alert_follow_poll(f, 10, SIZE_MAX, true);
	}
	assert_taken(2, seqs);
	alert_follow_close(f);
}

Test(alert_follow, pub_next_is_taken_a_gap_is_read_from_the_outbox,
     .timeout = 20)
{
	static const uint64_t seqs[] = { 1, 2, 3, 4, 5 };
	struct alert_follow *f;

	pub_start();
	f = open_follower(pub_url, 0, 3600000); /* no polling: PUB only */
	wait_connected(f);
	cr_assert_eq(t.fetches, 1, "read the empty outbox at the start");
	/* Seq 1 on PUB: next, taken without the outbox. */
	outbox(1, seqs);
	publish_alert(1);
	poll_until(f, 1, SIZE_MAX);
	assert_taken(1, seqs);
	cr_assert_eq(t.fetches, 1);
	/* 2 and 3 dropped, 4 arrives: the outbox fills 2..4. */
	outbox(4, seqs);
	publish_alert(4);
	poll_until(f, 4, SIZE_MAX);
	assert_taken(4, seqs);
	cr_assert_eq(t.fetches, 2);
	/* A resend of 3 is seen; 5 is next. */
	outbox(5, seqs);
	publish_alert(3);
	publish_alert(5);
	poll_until(f, 5, SIZE_MAX);
	for (int i = 0; i < 5; i++) {
		alert_follow_poll(f, 10, SIZE_MAX, true);
	}
	assert_taken(5, seqs);
	cr_assert_eq(t.fetches, 2, "no outbox read for seen and next");
	alert_follow_close(f);
	nng_close(pub);
}

Test(alert_follow, keepalives_reveal_a_dropped_last_alert_and_a_restart,
     .timeout = 20)
{
	static const uint64_t seqs[] = { 1, 2 };
	struct alert_follow *f;
	size_t before;

	pub_start();
	f = open_follower(pub_url, 0, 3600000);
	wait_connected(f);
	cr_assert_eq(t.restarts, 0);
	/* Seq 1 and 2 were dropped on PUB; the keepalive says 2. */
	outbox(2, seqs);
	publish_keepalive("boot-1", 2);
	poll_until(f, 2, SIZE_MAX);
	assert_taken(2, seqs);
	/* A new boot id: read the outbox again, and say it restarted. */
	before = t.fetches;
	for (int i = 0; i < 200 && t.restarts == 0; i++) {
		publish_keepalive("boot-2", 2);
		alert_follow_poll(f, 20, SIZE_MAX, true);
	}
	cr_assert_eq(t.restarts, 1);
	cr_assert_gt(t.fetches, before);
	alert_follow_close(f);
	nng_close(pub);
}

Test(alert_follow, a_full_user_leaves_pub_alerts_for_the_outbox, .timeout = 20)
{
	static const uint64_t seqs[] = { 1, 2 };
	struct alert_follow *f;

	pub_start();
	f = open_follower(pub_url, 0, 3600000);
	wait_connected(f);
	outbox(2, seqs);
	publish_alert(1);
	for (int i = 0; i < 200 && !alert_follow_behind(f); i++) {
		alert_follow_poll(f, 20, 0, false);
	}
	cr_assert(alert_follow_behind(f));
	assert_taken(0, seqs);
	alert_follow_request(f);
	alert_follow_poll(f, 0, SIZE_MAX, true);
	assert_taken(2, seqs);
	alert_follow_close(f);
	nng_close(pub);
}

Test(alert_follow, a_replaced_database_starts_again_from_seq_1, .timeout = 20)
{
	static const uint64_t seqs[] = { 1, 2 };
	struct alert_follow *f;

	outbox(2, seqs);
	f = open_follower(NULL, 40, 100);
	/* Not while the user still holds alerts, and not at first sight. */
	cr_assert_eq(alert_follow_catch_up(f, SIZE_MAX, false), HBMON_OK);
	cr_assert_eq(alert_follow_catch_up(f, SIZE_MAX, true), HBMON_OK);
	assert_taken(0, seqs);
	cr_assert_not(alert_follow_take_reset(f));
	harness_sleep_ms(2100);
	cr_assert_eq(alert_follow_catch_up(f, SIZE_MAX, true), HBMON_OK);
	assert_taken(2, seqs);
	cr_assert(alert_follow_take_reset(f));
	cr_assert_not(alert_follow_take_reset(f), "true once");
	cr_assert(strstr(t.said, "the server's database was replaced") != NULL,
	          "%s", t.said);
	cr_assert(strstr(t.said, "outbox_last=2 cursor=40") != NULL, "%s",
	          t.said);
	alert_follow_close(f);
}

Test(alert_follow, an_unreachable_pub_is_said_and_the_outbox_read,
     .timeout = 10)
{
	static const uint64_t seqs[] = { 1 };
	char dir[512], url[600];
	struct alert_follow *f;

	harness_tmpdir(dir, sizeof(dir));
	snprintf(url, sizeof(url), "ipc://%s/nobody.sock", dir);
	outbox(1, seqs);
	f = open_follower(url, 0, 20);
	cr_assert(strstr(t.said, "cannot subscribe to") != NULL, "%s", t.said);
	poll_until(f, 1, SIZE_MAX);
	assert_taken(1, seqs);
	alert_follow_close(f);
}
