/* A recorded request's payload back into its heartbeats. */
#include "server/stored_request.h"

#include <string.h>

#include "hbmon/error.h"

bool
stored_request_can_hold(int kind, bool robot)
{
	return robot ? kind != STORE_ACCOUNT : kind != STORE_ROBOT;
}

int
stored_request_decode(const struct store_request *r, struct stored_request *out)
{
	memset(out, 0, sizeof(*out));
	switch (r->kind) {
	case STORE_ROBOT: {
		Hbmon__V1__RobotHeartbeat *hb =
		    hbmon__v1__robot_heartbeat__unpack(NULL, r->payload_len,
		                                       r->payload);
		if (hb == NULL) {
			return HBMON_EINVAL;
		}
		out->message = &hb->base;
		out->robot = hb;
		return HBMON_OK;
	}
	case STORE_ACCOUNT: {
		Hbmon__V1__AccountHeartbeat *hb =
		    hbmon__v1__account_heartbeat__unpack(NULL, r->payload_len,
		                                         r->payload);
		if (hb == NULL) {
			return HBMON_EINVAL;
		}
		out->message = &hb->base;
		out->one_account = hb;
		out->accounts = &out->one_account;
		out->n_accounts = 1;
		return HBMON_OK;
	}
	case STORE_BATCH: {
		Hbmon__V1__HeartbeatBatch *b =
		    hbmon__v1__heartbeat_batch__unpack(NULL, r->payload_len,
		                                       r->payload);
		if (b == NULL) {
			return HBMON_EINVAL;
		}
		out->message = &b->base;
		out->robot = b->robot;
		out->accounts = b->accounts;
		out->n_accounts = b->n_accounts;
		return HBMON_OK;
	}
	default:
		return HBMON_EINVAL;
	}
}

void
stored_request_free(struct stored_request *d)
{
	if (d->message != NULL) {
		protobuf_c_message_free_unpacked(d->message, NULL);
	}
	memset(d, 0, sizeof(*d));
}
