/*
 * Admission of robot requests (registry.c, SPEC §2.3) without a server:
 * who is let in, what a resend gets, and what rotation and removal do to
 * the seq floor. Every request is signed here as a robot would sign it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/rpc_status.h"
#include "common/sign.h"
#include "hbmon/error.h"
#include "server/registry.h"

#define WINDOW_MS 300000
#define NOW_MS    1800000000000LL /* a wall clock in 2027 */
#define METHOD    "/hbmon.v1.Monitor/ReportRobot"

static struct registry reg;

static void
setup(void)
{
	cr_assert_eq(registry_init(&reg, false, WINDOW_MS), HBMON_OK);
	cr_assert_eq(registry_add(&reg, "R1", "secret-1", 0, NULL, 0),
	             HBMON_OK);
}

static void
teardown(void)
{
	registry_destroy(&reg);
}

/* A request of robot, signed with secret, sent at sent_at_ms. */
struct request {
	Hbmon__V1__RpcRequest req;
	uint8_t sig[SIGN_LEN];
	uint8_t payload[8];
};

static void
make(struct request *r, const char *robot, const char *secret, uint64_t seq,
     int64_t sent_at_ms, uint8_t payload_byte)
{
	struct sign_fields f;

	hbmon__v1__rpc_request__init(&r->req);
	memset(r->payload, payload_byte, sizeof(r->payload));
	r->req.method = (char *) METHOD;
	r->req.robot_id = (char *) robot;
	r->req.seq = seq;
	r->req.sent_at_ms = sent_at_ms;
	r->req.payload.data = r->payload;
	r->req.payload.len = sizeof(r->payload);
	f = (struct sign_fields){ METHOD,     robot,      seq,
		                  sent_at_ms, r->payload, sizeof(r->payload) };
	cr_assert_eq(sign_compute(secret, strlen(secret), &f, r->sig),
	             HBMON_OK);
	r->req.signature.data = r->sig;
	r->req.signature.len = sizeof(r->sig);
}

/* A seq as robots make them: wall-clock microseconds, plus n. */
static uint64_t
seq_at(int64_t ms, uint64_t n)
{
	return (uint64_t) ms * 1000u + n;
}

struct outcome {
	enum admit admit;
	struct robot *robot;
	uint8_t *reply;
	size_t reply_len;
	int code;
	char why[256];
};

static struct outcome
admit(const struct request *r)
{
	struct outcome o = { 0 };

	o.admit = registry_admit(&reg, &r->req, NOW_MS, &o.robot, &o.reply,
	                         &o.reply_len, &o.code, o.why, sizeof(o.why));
	return o;
}

static void
assert_rejected(const struct request *r, int code, const char *words)
{
	struct outcome o = admit(r);

	cr_assert_eq(o.admit, ADMIT_REJECT, "admitted: %s", o.why);
	cr_assert_eq(o.code, code, "code %d: %s", o.code, o.why);
	cr_assert(strstr(o.why, words) != NULL, "'%s' lacks '%s'", o.why,
	          words);
	cr_assert_null(o.reply);
}

/* Admits r as new and settles it as recorded with reply. */
static struct robot *
admit_and_record(const struct request *r, const char *reply)
{
	struct outcome o = admit(r);

	cr_assert_eq(o.admit, ADMIT_NEW, "%s", o.why);
	cr_assert_not_null(o.robot);
	registry_settle(&reg, o.robot, r->req.seq, r->sig, true,
	                (const uint8_t *) reply, strlen(reply));
	return o.robot;
}

TestSuite(registry, .init = setup, .fini = teardown, .timeout = 10);

Test(registry, a_signed_request_is_admitted_and_its_resend_gets_the_reply)
{
	struct request r;
	struct outcome o;

	make(&r, "R1", "secret-1", seq_at(NOW_MS, 1), NOW_MS, 1);
	admit_and_record(&r, "reply-1");
	o = admit(&r); /* an nng REQ resend: the same bytes */
	cr_assert_eq(o.admit, ADMIT_REPLAY);
	cr_assert_eq(o.reply_len, strlen("reply-1"));
	cr_assert_eq(memcmp(o.reply, "reply-1", o.reply_len), 0);
	free(o.reply);
}

Test(registry, strangers_and_bad_signatures_are_unauthenticated)
{
	struct request r;

	make(&r, "R9", "secret-1", seq_at(NOW_MS, 1), NOW_MS, 1);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "not registered");
	make(&r, "R1", "not-the-secret", seq_at(NOW_MS, 1), NOW_MS, 1);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "bad signature");
	/* Signed right, then one payload byte changed on the way. */
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 1), NOW_MS, 1);
	r.payload[3] ^= 0x40;
	assert_rejected(&r, RPC_UNAUTHENTICATED, "bad signature");
	/* A truncated signature. */
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 1), NOW_MS, 1);
	r.req.signature.len = 31;
	assert_rejected(&r, RPC_UNAUTHENTICATED, "bad signature");
	/* A robot id that is no id at all. */
	make(&r, "R1\n", "secret-1", seq_at(NOW_MS, 1), NOW_MS, 1);
	assert_rejected(&r, RPC_INVALID_ARGUMENT, "not a robot id");
}

Test(registry, sent_at_outside_the_window_is_refused)
{
	struct request r;

	make(&r, "R1", "secret-1", seq_at(NOW_MS, 1), NOW_MS - WINDOW_MS - 1,
	     1);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "behind");
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 1), NOW_MS + WINDOW_MS + 1,
	     1);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "ahead");
	/* Just inside: admitted. */
	make(&r, "R1", "secret-1", seq_at(NOW_MS - WINDOW_MS, 1),
	     NOW_MS - WINDOW_MS, 1);
	cr_assert_eq(admit(&r).admit, ADMIT_NEW);
}

Test(registry, seqs_must_rise_and_stay_near_the_clock)
{
	struct request r;

	make(&r, "R1", "secret-1", seq_at(NOW_MS, 5), NOW_MS, 1);
	admit_and_record(&r, "reply-5");
	/* Lower, and equal with other bytes: a replay or reordering. */
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 4), NOW_MS, 1);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "not above");
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 5), NOW_MS, 2);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "different request");
	/* A seq far ahead of sent_at would lock the robot out. */
	make(&r, "R1", "secret-1", seq_at(NOW_MS + WINDOW_MS + 1, 0), NOW_MS,
	     1);
	assert_rejected(&r, RPC_INVALID_ARGUMENT, "ahead of sent_at_ms");
	/* The floor did not move for any of them. */
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 6), NOW_MS, 1);
	cr_assert_eq(admit(&r).admit, ADMIT_NEW);
}

Test(registry, nothing_is_answered_ok_before_its_commit)
{
	struct request r[REGISTRY_CACHE + 1];
	struct outcome o;

	/* Every cache slot in flight: the next request is refused, and may
	 * come again, since the floor stayed. */
	for (int i = 0; i < REGISTRY_CACHE; i++) {
		make(&r[i], "R1", "secret-1", seq_at(NOW_MS, (uint64_t) i + 1),
		     NOW_MS, 1);
		cr_assert_eq(admit(&r[i]).admit, ADMIT_NEW);
	}
	make(&r[REGISTRY_CACHE], "R1", "secret-1",
	     seq_at(NOW_MS, REGISTRY_CACHE + 1), NOW_MS, 1);
	assert_rejected(&r[REGISTRY_CACHE], RPC_UNAVAILABLE, "being recorded");
	/* A resend of one in flight is told to come again, not OK. */
	assert_rejected(&r[0], RPC_UNAVAILABLE, "still being recorded");
	/* One that failed to record is new again when it comes back. */
	registry_settle(&reg, registry_find(&reg, "R1"), r[1].req.seq, r[1].sig,
	                false, NULL, 0);
	o = admit(&r[1]);
	cr_assert_eq(o.admit, ADMIT_NEW, "%s", o.why);
}

Test(registry, a_committed_request_is_known_after_a_restart)
{
	struct request r;
	struct robot *robot;
	struct outcome o;

	/* What the store hands a restarted server: the last committed seq
	 * and its signature, no reply. */
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 9), NOW_MS, 1);
	registry_destroy(&reg);
	cr_assert_eq(registry_init(&reg, false, WINDOW_MS), HBMON_OK);
	cr_assert_eq(registry_add(&reg, "R1", "secret-1", r.req.seq, r.sig, 0),
	             HBMON_OK);
	o = admit(&r);
	cr_assert_eq(o.admit, ADMIT_REPLAY);
	cr_assert_null(o.reply); /* answered OK, "already recorded" */
	/* The writer raises the same mark after each commit. */
	robot = registry_find(&reg, "R1");
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 10), NOW_MS, 1);
	cr_assert_eq(admit(&r).admit, ADMIT_NEW);
	registry_recorded(robot, r.req.seq, r.sig);
	registry_settle(&reg, robot, r.req.seq, r.sig, false, NULL, 0);
	cr_assert_eq(admit(&r).admit, ADMIT_NEW); /* failed: retried */
}

Test(registry, rotation_resets_the_floor_and_the_old_secret_stops)
{
	struct request r;

	make(&r, "R1", "secret-1", seq_at(NOW_MS, 100), NOW_MS, 1);
	admit_and_record(&r, "reply-100");
	cr_assert_eq(registry_set_secret(&reg, "R1", "secret-2"), HBMON_OK);
	/* The old secret no longer verifies, not even for a resend. */
	assert_rejected(&r, RPC_UNAUTHENTICATED, "bad signature");
	/* The floor is gone: a lower seq with the new secret is fine. */
	make(&r, "R1", "secret-2", seq_at(NOW_MS, 1), NOW_MS, 1);
	cr_assert_eq(admit(&r).admit, ADMIT_NEW);
}

Test(registry, a_removed_robot_is_refused_until_added_again)
{
	struct request r;

	make(&r, "R1", "secret-1", seq_at(NOW_MS, 1), NOW_MS, 1);
	admit_and_record(&r, "reply-1");
	cr_assert_eq(registry_remove(&reg, "R1"), HBMON_OK);
	cr_assert_eq(registry_remove(&reg, "R1"), HBMON_ENOENT);
	make(&r, "R1", "secret-1", seq_at(NOW_MS, 2), NOW_MS, 1);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "not registered");
	/* Added again (remove + add): a new secret, a new floor. */
	cr_assert_eq(registry_set_secret(&reg, "R1", "secret-3"), HBMON_OK);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "bad signature");
	make(&r, "R1", "secret-3", seq_at(NOW_MS, 1), NOW_MS, 1);
	cr_assert_eq(admit(&r).admit, ADMIT_NEW);
}

Test(registry, accounts_of_one_robot_cannot_be_written_with_another_secret)
{
	struct request r;

	cr_assert_eq(registry_add(&reg, "R2", "secret-of-r2", 0, NULL, 0),
	             HBMON_OK);
	/* R2's secret signing as R1: refused. */
	make(&r, "R1", "secret-of-r2", seq_at(NOW_MS, 1), NOW_MS, 1);
	assert_rejected(&r, RPC_UNAUTHENTICATED, "bad signature");
	cr_assert_eq(registry_add(&reg, "R2", "again", 0, NULL, 0),
	             HBMON_EEXIST);
}

Test(registry, without_auth_any_robot_id_is_admitted_unsigned)
{
	struct request r;
	struct outcome o;

	registry_destroy(&reg);
	cr_assert_eq(registry_init(&reg, true, WINDOW_MS), HBMON_OK);
	make(&r, "NEW_ROBOT", "whatever", 1, 0, 1);
	r.req.signature.len = 0;
	o = admit(&r);
	cr_assert_eq(o.admit, ADMIT_NEW);
	cr_assert_str_eq(o.robot->id, "NEW_ROBOT");
	cr_assert_eq(registry_find(&reg, "NEW_ROBOT"), o.robot);
	/* Still no control characters in ids. */
	make(&r, "BAD\x01", "whatever", 1, 0, 1);
	assert_rejected(&r, RPC_INVALID_ARGUMENT, "not a robot id");
}
