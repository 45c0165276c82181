/* admin_tcp admission: signature, window, durable seq floor. */
#include "server/admin_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/envelope.h"
#include "common/rpc_status.h"
#include "common/sign.h"
#include "hbmon/error.h"

int
admin_auth_init(struct admin_auth *a, const char *secret, int64_t window_ms,
                uint64_t floor)
{
	size_t len = secret != NULL ? strlen(secret) : 0;

	memset(a, 0, sizeof(*a));
	if (len == 0 || len >= sizeof(a->secret)) {
		return HBMON_EINVAL;
	}
	memcpy(a->secret, secret, len + 1);
	a->secret_len = len;
	a->window_ms = window_ms;
	a->floor = floor;
	pthread_mutex_init(&a->lock, NULL);
	return HBMON_OK;
}

void
admin_auth_fini(struct admin_auth *a)
{
	if (a->secret_len == 0) {
		return;
	}
	explicit_bzero(a->secret, sizeof(a->secret));
	a->secret_len = 0;
	pthread_mutex_destroy(&a->lock);
}

bool
admin_auth_admit(struct admin_auth *a, const Hbmon__V1__RpcRequest *req,
                 int64_t now_ms, int *out_code, char *why, size_t why_len)
{
	bool admitted = false;
	uint64_t floor;

	*out_code = RPC_UNAUTHENTICATED;
	if (strcmp(req->robot_id, ADMIN_AUTH_ID) != 0 ||
	    env_request_verify(req, a->secret, a->secret_len) != HBMON_OK) {
		snprintf(
		    why, why_len,
		    "admin requests over tcp must be signed as " ADMIN_AUTH_ID
		    " with the admin secret");
		return false;
	}
	if (sign_check_window(req->sent_at_ms, now_ms, a->window_ms, why,
	                      why_len) != HBMON_OK) {
		return false;
	}
	pthread_mutex_lock(&a->lock);
	floor = a->floor;
	if (req->seq > floor) {
		a->floor = req->seq;
		admitted = true;
	}
	pthread_mutex_unlock(&a->lock);
	if (!admitted) {
		snprintf(why, why_len,
		         "seq %" PRIu64 " is not above the last accepted admin "
		         "seq %" PRIu64 " (a replayed or reordered request)",
		         req->seq, floor);
	}
	return admitted;
}
