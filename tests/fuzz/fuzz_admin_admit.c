/*
 * libFuzzer target: admin_tcp admission (admin_auth_admit) on whatever
 * RpcRequest bytes arrive. Each input is admitted as it is and signed as
 * "@admin" with the admin secret, so the window and the seq floor are
 * reached. A refusal's sentence must be valid UTF-8, and the floor never
 * goes down.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/sign.h"
#include "common/utf8.h"
#include "hbmon/error.h"
#include "server/admin_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS INT64_C(1768876200000)
#define SECRET "hbs_fuzz-admin"

static struct admin_auth auth;
static bool ready;

static void
admit_once(const Hbmon__V1__RpcRequest *req)
{
	uint64_t floor = auth.floor;
	int code = 0;
	char why[512] = "";

	if (admin_auth_admit(&auth, req, NOW_MS, &code, why, sizeof(why))) {
		if (auth.floor != req->seq || req->seq <= floor) {
			abort();
		}
	} else if (code == 0 || auth.floor != floor ||
	           !utf8_valid(why, strlen(why), NULL)) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hbmon__V1__RpcRequest *req = NULL;
	uint8_t sig[SIGN_LEN];
	char why[512];

	if (!ready) {
		ready = admin_auth_init(&auth, SECRET, 300000, 0) == HBMON_OK;
	}
	if (env_request_unpack(data, size, &req, why, sizeof(why)) !=
	    HBMON_OK) {
		return 0;
	}
	admit_once(req);
	{
		struct sign_fields f = { req->method,       ADMIN_AUTH_ID,
			                 req->seq,          req->sent_at_ms,
			                 req->payload.data, req->payload.len };
		ProtobufCBinaryData was = req->signature;
		char *was_id = req->robot_id;

		if (sign_compute(SECRET, strlen(SECRET), &f, sig) == HBMON_OK) {
			req->robot_id = (char *) ADMIN_AUTH_ID;
			req->signature.data = sig;
			req->signature.len = sizeof(sig);
			admit_once(req);
			admit_once(req); /* a replay */
		}
		req->signature = was;
		req->robot_id = was_id;
	}
	hbmon__v1__rpc_request__free_unpacked(req, NULL);
	return 0;
}
