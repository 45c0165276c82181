/* Blocking protobuf-c RPC over nng REQ. */
#include "common/rpc_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "common/envelope.h"
#include "common/nngerr.h"
#include "common/rpc_status.h"
#include "common/tlsconf.h"
#include "hbmon/error.h"

struct rpc_client {
	nng_socket sock;
	pthread_mutex_t lock;
	char url[512];
	char robot_id[128];
	uint8_t *key;
	size_t key_len;
	int timeout_ms;
	uint64_t last_seq;
};

int
rpc_client_open(const struct rpc_client_options *opts, struct rpc_client **out,
                char *why, size_t why_len)
{
	struct rpc_client *c = calloc(1, sizeof(*c));
	int rv, err;

	if (c == NULL) {
		return HBMON_ENOMEM;
	}
	snprintf(c->url, sizeof(c->url), "%s", opts->url);
	snprintf(c->robot_id, sizeof(c->robot_id), "%s",
	         opts->robot_id != NULL ? opts->robot_id : "");
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
	if (opts->key != NULL && opts->key_len > 0) {
		if ((c->key = malloc(opts->key_len)) == NULL) {
			free(c);
			return HBMON_ENOMEM;
		}
		memcpy(c->key, opts->key, opts->key_len);
		c->key_len = opts->key_len;
	}
	pthread_mutex_init(&c->lock, NULL);
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		snprintf(why, why_len, "cannot open a REQ socket: %s",
		         nng_strerror(rv));
		err = nngerr_map(rv, NNGERR_DIAL);
		goto fail;
	}
	/* A reply is waited for once: the timeout decides, and no stale
	 * resend piles up behind it. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	                  NNG_DURATION_INFINITE);
	nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, c->timeout_ms);
	nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, c->timeout_ms);
	rv = tlsconf_dial(c->sock, opts->url, &opts->tls,
	                  opts->background_dial ? NNG_FLAG_NONBLOCK : 0, &err,
	                  why, why_len);
	if (rv != 0) {
		if (err == HBMON_OK) {
			err = nngerr_map(rv, NNGERR_DIAL);
			snprintf(why, why_len, "cannot connect to %s: %s%s",
			         opts->url, nng_strerror(rv),
			         err == HBMON_EUNAVAIL
			             ? "; is hbmon-server running?"
			         : err == HBMON_EAUTH
			             ? " (is the TLS CA file the one that "
			               "signed the server's certificate, and "
			               "does the server want a client "
			               "certificate?)"
			             : "");
		}
		nng_close(c->sock);
		goto fail;
	}
	*out = c;
	return HBMON_OK;

fail:
	pthread_mutex_destroy(&c->lock);
	free(c->key);
	free(c);
	return err;
}

void
rpc_client_close(struct rpc_client *c)
{
	if (c == NULL) {
		return;
	}
	nng_close(c->sock);
	pthread_mutex_destroy(&c->lock);
	if (c->key != NULL) {
		explicit_bzero(c->key, c->key_len);
		free(c->key);
	}
	free(c);
}

/* Sends req and waits for the reply; the lock is held by the caller. */
static int
exchange(struct rpc_client *c, const void *req, size_t req_len, nng_msg **reply,
         struct rpc_status *status)
{
	nng_msg *msg;
	int rv;

	if ((rv = nng_msg_alloc(&msg, req_len)) != 0) {
		return HBMON_ENOMEM;
	}
	memcpy(nng_msg_body(msg), req, req_len);
	if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
		nng_msg_free(msg);
	} else {
		rv = nng_recvmsg(c->sock, reply, 0);
	}
	if (rv == 0) {
		return HBMON_OK;
	}
	if (status != NULL) {
		status->code = RPC_UNAVAILABLE;
		snprintf(status->message, sizeof(status->message),
		         "no answer from %s within %d ms: %s", c->url,
		         c->timeout_ms, nng_strerror(rv));
	}
	return nngerr_map(rv, NNGERR_IO);
}

static int
call(struct rpc_client *c, const char *method, const ProtobufCMessage *input,
     bool auto_seq, uint64_t seq, int64_t sent_at_ms,
     const ProtobufCMessageDescriptor *output_type, ProtobufCMessage **output,
     struct rpc_status *status)
{
	struct env_request_head head = { 0 };
	Hbmon__V1__RpcResponse *resp = NULL;
	nng_msg *reply = NULL;
	uint8_t *req = NULL;
	size_t req_len;
	char why[256];
	int rv;

	if (output != NULL) {
		*output = NULL;
	}
	status->code = RPC_OK;
	status->message[0] = '\0';
	pthread_mutex_lock(&c->lock);
	if (auto_seq) {
		/* Microseconds: a second client of the same robot started
		 * within the same millisecond must not reuse this one's seqs
		 * (the server would take its request for a resend). */
		uint64_t now = (uint64_t) clock_wall_us();
		seq = now > c->last_seq ? now : c->last_seq + 1;
		sent_at_ms = clock_wall_ms();
	}
	if (seq > c->last_seq) {
		c->last_seq = seq;
	}
	head.method = method;
	head.robot_id = c->robot_id;
	head.seq = seq;
	head.sent_at_ms = sent_at_ms;
	head.timeout_ms = (uint32_t) c->timeout_ms;
	head.key = c->key;
	head.key_len = c->key_len;
	if ((rv = env_request_pack(&head, input, &req, &req_len)) != HBMON_OK) {
		goto done;
	}
	if ((rv = exchange(c, req, req_len, &reply, status)) != HBMON_OK) {
		goto done;
	}
	rv = env_response_unpack(nng_msg_body(reply), nng_msg_len(reply),
	                         output_type, &resp, output, why, sizeof(why));
	if (rv != HBMON_OK) {
		status->code = RPC_INTERNAL;
		snprintf(status->message, sizeof(status->message), "%s", why);
		goto done;
	}
	status->code = resp->code;
	snprintf(status->message, sizeof(status->message), "%s",
	         resp->message != NULL ? resp->message : "");
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);

done:
	pthread_mutex_unlock(&c->lock);
	if (reply != NULL) {
		nng_msg_free(reply);
	}
	free(req);
	return rv;
}

int
rpc_client_call(struct rpc_client *c, const char *method,
                const ProtobufCMessage *input,
                const ProtobufCMessageDescriptor *output_type,
                ProtobufCMessage **output, struct rpc_status *status)
{
	return call(c, method, input, true, 0, 0, output_type, output, status);
}

int
rpc_client_call_with(struct rpc_client *c, const char *method,
                     const ProtobufCMessage *input, uint64_t seq,
                     int64_t sent_at_ms,
                     const ProtobufCMessageDescriptor *output_type,
                     ProtobufCMessage **output, struct rpc_status *status)
{
	return call(c, method, input, false, seq, sent_at_ms, output_type,
	            output, status);
}

int
rpc_client_call_raw(struct rpc_client *c, const void *req, size_t req_len,
                    uint8_t **reply, size_t *reply_len)
{
	nng_msg *msg = NULL;
	int rv;

	pthread_mutex_lock(&c->lock);
	rv = exchange(c, req, req_len, &msg, NULL);
	pthread_mutex_unlock(&c->lock);
	if (rv != HBMON_OK) {
		return rv;
	}
	*reply_len = nng_msg_len(msg);
	if ((*reply = malloc(*reply_len + 1)) == NULL) {
		nng_msg_free(msg);
		return HBMON_ENOMEM;
	}
	memcpy(*reply, nng_msg_body(msg), *reply_len);
	nng_msg_free(msg);
	return HBMON_OK;
}
