/* GET and POST /v1/ping/TOKEN; see http_ping.h. */
#include "server/http_ping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/envelope.h"
#include "common/rfc3339.h"
#include "common/rpc_status.h"
#include "common/sign.h"
#include "common/words.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

/* One ping on its way through ingest. */
struct ping_call {
	struct rpcserver_local local;
	Hbmon__V1__RpcRequest request;
	struct http_request *http;
	/* The token as sent, when it has a token's shape (else empty: the
	 * admission refuses it like a wrong one). */
	uint8_t token[SIGN_PING_LEN];
	uint8_t payload[128]; /* the packed RobotHeartbeat */
};

/* Whether s (len bytes) has the shape sign_new_ping_token gives. */
static bool
token_shaped(const char *s, size_t len)
{
	if (len != SIGN_PING_LEN ||
	    strncmp(s, SIGN_PING_PREFIX, strlen(SIGN_PING_PREFIX)) != 0) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
			return false;
		}
	}
	return true;
}

/*
 * The status a query asks for: "" (healthy) or exactly status=WORD with
 * a word of the seed's. false when it is anything else.
 */
static bool
query_status(const char *q, Hbmon__V1__HealthStatus *out)
{
	static const char key[] = "status=";

	*out = HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
	if (q[0] == '\0') {
		return true;
	}
	return strncmp(q, key, sizeof(key) - 1) == 0 &&
	       words_health_parse(q + sizeof(key) - 1, out) == HBMON_OK;
}

/* {"code", "message"} from a ReportRobot's packed RpcResponse. */
static char *
reply_json(const uint8_t *bytes, size_t len, int *out_code)
{
	Hbmon__V1__RpcResponse *resp = NULL;
	ProtobufCMessage *out = NULL;
	const char *message = "";
	char why[256];
	json_t *doc;
	char *text = NULL;

	*out_code = RPC_INTERNAL;
	if (env_response_unpack(bytes, len,
	                        &hbmon__v1__report_result__descriptor, &resp,
	                        &out, why, sizeof(why)) != HBMON_OK) {
		return NULL;
	}
	*out_code = resp->code;
	if (resp->message != NULL && resp->message[0] != '\0') {
		message = resp->message;
	} else if (out != NULL &&
	           ((Hbmon__V1__ReportResult *) out)->message != NULL) {
		message = ((Hbmon__V1__ReportResult *) out)->message;
	}
	if ((doc = json_pack("{s:i,s:s}", "code", resp->code, "message",
	                     message)) != NULL) {
		text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
	if (out != NULL) {
		protobuf_c_message_free_unpacked(out, NULL);
	}
	hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	return text;
}

/* ingest answered (committed, refused or failed): answer the script. */
static void
on_reply(void *arg, const uint8_t *response, size_t len)
{
	struct ping_call *c = arg;
	int code = RPC_RESOURCE_EXHAUSTED;
	char *text = response != NULL ? reply_json(response, len, &code) : NULL;

	http_ingest_answer(c->http, code, text);
	free(text);
	free(c);
}

static void
ping(void *arg, struct http_request *req)
{
	const struct http_ingest *hi = arg;
	const char *token = http_path(req) + strlen(HTTP_PING_PATH);
	Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
	char ts[RFC3339_MAX];
	struct ping_call *c;
	char msg[160];

	if (!query_status(http_query(req), &hb.status)) {
		snprintf(msg, sizeof(msg),
		         "the query must be empty or status=WORD with one of "
		         "%s; nothing was recorded",
		         words_health_list());
		http_respond_status(req, 400, RPC_INVALID_ARGUMENT, msg);
		return;
	}
	if (rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts)) != HBMON_OK ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		http_respond_status(req, 503, RPC_UNAVAILABLE, "out of memory");
		return;
	}
	/* A ping says nothing of accounts or tasks (http_ping.h). */
	hb.event = (char *) "ROBOT_HEARTBEAT";
	hb.timestamp = ts;
	hbmon__v1__rpc_request__init(&c->request);
	c->request.payload.len = protobuf_c_message_pack(&hb.base, c->payload);
	c->request.payload.data = c->payload;
	c->request.method = (char *) "/hbmon.v1.Monitor/ReportRobot";
	c->request.robot_id = (char *) "";
	c->request.sent_at_ms = clock_wall_ms();
	if (token_shaped(token, strlen(token))) {
		memcpy(c->token, token, SIGN_PING_LEN);
		c->request.signature.data = c->token;
		c->request.signature.len = SIGN_PING_LEN;
	}
	c->http = req;
	c->local.request = &c->request;
	c->local.signed_method = INGEST_PING_METHOD;
	c->local.signed_payload = c->payload;
	c->local.signed_len = c->request.payload.len;
	c->local.peer = http_peer(req);
	c->local.reply = on_reply;
	c->local.arg = c;
	ingest_submit(hi->ingest, &c->local);
}

int
http_ping_register(struct http_server *srv, const struct http_ingest *hi)
{
	int rv = http_handle(srv, "GET", HTTP_PING_PATH, ping, (void *) hi);

	return rv != HBMON_OK ? rv
	                      : http_handle(srv, "POST", HTTP_PING_PATH, ping,
	                                    (void *) hi);
}
