/*
 * libFuzzer target: robot admission (registry_admit, SPEC §2.3) on
 * whatever RpcRequest bytes arrive. Each input is admitted twice: as it
 * is (no key: the refusals), and signed with R1's secret as a robot that
 * knows it would (the window, the seq floor, the reply cache, replays).
 * Every refusal's sentence must be valid UTF-8: it goes into a reply.
 * The raw bytes are also a ping token (registry_admit_ping): admitted
 * only when they are R1's token exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/sign.h"
#include "common/utf8.h"
#include "hbmon/error.h"
#include "server/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS INT64_C(1768876200000)
#define PING   "hbp_fuzzAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define PING2  "hbp_fuzzBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static struct registry reg;

static void
admit_once(Hbmon__V1__RpcRequest *req, uint8_t settle)
{
	struct robot *robot = NULL;
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	int code = 0;
	char why[512] = "";

	switch (registry_admit(&reg, req, NOW_MS, &robot, &reply, &reply_len,
	                       &code, why, sizeof(why))) {
	case ADMIT_NEW:
		/* Answered, failed, or left in flight, as the input says. */
		if (settle % 3 != 2 && req->signature.len == SIGN_LEN) {
			registry_settle(&reg, robot, req->seq,
			                req->signature.data, settle % 3 == 0,
			                (const uint8_t *) "reply", 5);
		}
		break;
	case ADMIT_REPLAY:
		free(reply);
		break;
	case ADMIT_REJECT:
		if (code == 0 || !utf8_valid(why, strlen(why), NULL)) {
			abort();
		}
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hbmon__V1__RpcRequest *req = NULL;
	uint8_t sig[SIGN_LEN];
	char why[512];

	if (reg.window_ms == 0) {
		registry_init(&reg, false, 300000);
		registry_add(&reg, "R1", "hbs_fuzz", 0, NULL, 0);
		registry_add(&reg, "R2", "hbs_fuzz-2", 0, NULL, 0);
		uint8_t hash[SIGN_LEN];
		sign_sha256(PING, strlen(PING), hash);
		registry_set_ping(&reg, "R1", hash);
		/* R2's token (another one: tokens are random) goes with R2. */
		sign_sha256(PING2, strlen(PING2), hash);
		registry_set_ping(&reg, "R2", hash);
		registry_remove(&reg, "R2");
	}
	{
		struct robot *robot = NULL;
		int code = 0;
		char ping_why[256] = "";
		bool is_token =
		    size == strlen(PING) && memcmp(data, PING, size) == 0;
		enum admit a =
		    registry_admit_ping(&reg, data, size, &robot, &code,
		                        ping_why, sizeof(ping_why));
		if ((a == ADMIT_NEW) != is_token ||
		    (a == ADMIT_NEW && strcmp(robot->id, "R1") != 0) ||
		    (a != ADMIT_NEW &&
		     (code == 0 ||
		      !utf8_valid(ping_why, strlen(ping_why), NULL)))) {
			abort();
		}
	}
	if (env_request_unpack(data, size, &req, why, sizeof(why)) !=
	    HBMON_OK) {
		if (!utf8_valid(why, strlen(why), NULL)) {
			abort();
		}
		return 0;
	}
	admit_once(req, size > 0 ? data[size - 1] : 0);
	{
		struct sign_fields f = { req->method,       req->robot_id,
			                 req->seq,          req->sent_at_ms,
			                 req->payload.data, req->payload.len };
		ProtobufCBinaryData was = req->signature;

		if (sign_compute("hbs_fuzz", 8, &f, sig) == HBMON_OK) {
			req->signature.data = sig;
			req->signature.len = sizeof(sig);
			admit_once(req, size > 1 ? data[size - 2] : 1);
			admit_once(req, 0); /* the same again: a resend */
		}
		req->signature = was;
	}
	hbmon__v1__rpc_request__free_unpacked(req, NULL);
	return 0;
}
