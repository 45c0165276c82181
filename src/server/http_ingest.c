/* POST /v1/heartbeat; see http_ingest.h. */
#include "server/http_ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/envelope.h"
#include "common/hbjson.h"
#include "common/rpc_status.h"
#include "common/sign.h"
#include "hbmon/error.h"
#include "hbmon/v1/monitor.pb-c.h"

/* The kinds of body, and the Monitor method each stands for. */
enum body_kind { BODY_ROBOT, BODY_ACCOUNT, BODY_BATCH };

static const char *const kind_method[] = {
	[BODY_ROBOT] = "/hbmon.v1.Monitor/ReportRobot",
	[BODY_ACCOUNT] = "/hbmon.v1.Monitor/ReportAccount",
	[BODY_BATCH] = "/hbmon.v1.Monitor/ReportBatch",
};

/* One heartbeat request on its way through ingest. */
struct hb_call {
	struct rpcserver_local local;
	Hbmon__V1__RpcRequest request;
	struct http_request *http;
	enum body_kind kind;
	char robot[256];
	uint8_t signature[32];
	uint8_t *payload; /* the packed Monitor input */
};

int
http_ingest_status(int code)
{
	switch (code) {
	case RPC_OK:
		return 200;
	case RPC_INVALID_ARGUMENT:
		return 400;
	case RPC_UNAUTHENTICATED:
		return 401;
	case RPC_PERMISSION_DENIED:
		return 403;
	case RPC_NOT_FOUND:
		return 404;
	case RPC_RESOURCE_EXHAUSTED:
		return 429;
	case RPC_UNAVAILABLE:
		return 503;
	default:
		return 500;
	}
}

/* ---- the reply ---- */

static json_t *
result_value(const Hbmon__V1__ReportResult *r)
{
	return json_pack("{s:s,s:i,s:s,s:b}", "subject",
	                 r->subject != NULL ? r->subject : "", "code", r->code,
	                 "message", r->message != NULL ? r->message : "",
	                 "transition_not_allowed", r->transition_not_allowed);
}

/* {"code", "message", "results"} from a packed RpcResponse. */
static char *
reply_json(enum body_kind kind, const uint8_t *resp_bytes, size_t len,
           int *out_code)
{
	const ProtobufCMessageDescriptor *type =
	    kind == BODY_BATCH ? &hbmon__v1__batch_reply__descriptor
	                       : &hbmon__v1__report_result__descriptor;
	Hbmon__V1__RpcResponse *resp = NULL;
	ProtobufCMessage *out = NULL;
	json_t *results = json_array();
	json_t *doc = NULL;
	char why[256];
	char *text = NULL;

	*out_code = RPC_INTERNAL;
	if (results == NULL ||
	    env_response_unpack(resp_bytes, len, type, &resp, &out, why,
	                        sizeof(why)) != HBMON_OK) {
		goto done;
	}
	*out_code = resp->code;
	if (out != NULL && kind == BODY_BATCH) {
		const Hbmon__V1__BatchReply *b =
		    (const Hbmon__V1__BatchReply *) out;
		if (b->robot != NULL) {
			json_array_append_new(results, result_value(b->robot));
		}
		for (size_t i = 0; i < b->n_accounts; i++) {
			json_array_append_new(results,
			                      result_value(b->accounts[i]));
		}
	} else if (out != NULL) {
		json_array_append_new(
		    results,
		    result_value((const Hbmon__V1__ReportResult *) out));
	}
	doc = json_pack("{s:i,s:s,s:O}", "code", resp->code, "message",
	                resp->message != NULL ? resp->message : "", "results",
	                results);
	if (doc != NULL) {
		text = json_dumps(doc, JSON_COMPACT);
	}
done:
	json_decref(doc);
	json_decref(results);
	if (out != NULL) {
		protobuf_c_message_free_unpacked(out, NULL);
	}
	if (resp != NULL) {
		hbmon__v1__rpc_response__free_unpacked(resp, NULL);
	}
	return text;
}

static void
call_free(struct hb_call *c)
{
	free(c->payload);
	free(c);
}

void
http_ingest_answer(struct http_request *req, int code, const char *text)
{
	int status = http_ingest_status(code);

	if (text == NULL) {
		http_respond_status(req, 503, RPC_UNAVAILABLE,
		                    "out of memory building the reply; send "
		                    "the same request again");
		return;
	}
	if (status == 503 || status == 429) {
		http_reply_header(req, "Retry-After", "1");
	}
	http_respond(req, status, "application/json", text, strlen(text));
}

/* ingest answered (committed, refused or failed): answer the robot. */
static void
on_reply(void *arg, const uint8_t *response, size_t len)
{
	struct hb_call *c = arg;
	int code = RPC_RESOURCE_EXHAUSTED;
	char *text =
	    response != NULL ? reply_json(c->kind, response, len, &code) : NULL;

	http_ingest_answer(c->http, code, text);
	free(text);
	call_free(c);
}

/* ---- the request ---- */

/* A header that must be there; NULL (and a 400 or 401 sent) when not. */
static const char *
need_header(struct http_request *req, const char *name, int status)
{
	const char *v = http_header(req, name);
	char msg[128];

	if (v == NULL || v[0] == '\0') {
		snprintf(msg, sizeof(msg), "the %s header is missing", name);
		http_respond_status(req, status,
		                    status == 401 ? RPC_UNAUTHENTICATED
		                                  : RPC_INVALID_ARGUMENT,
		                    msg);
		return NULL;
	}
	return v;
}

/* A decimal number of at most 19 digits; false when not. */
static bool
parse_decimal(const char *s, bool allow_minus, uint64_t *out, bool *neg)
{
	char *end;

	*neg = allow_minus && s[0] == '-';
	if (s[*neg ? 1 : 0] < '0' || s[*neg ? 1 : 0] > '9') {
		return false;
	}
	errno = 0;
	*out = strtoull(s + (*neg ? 1 : 0), &end, 10);
	return errno == 0 && *end == '\0';
}

/* Which kind of document body is: one heartbeat (by its "event"), or a
 * batch (anything else hbjson_parse_batch takes). */
static enum body_kind
kind_of(const uint8_t *body, size_t len)
{
	json_t *root = json_loadb((const char *) body, len, 0, NULL);
	enum body_kind kind = BODY_BATCH;
	const char *event;

	if (json_is_object(root) &&
	    (event = json_string_value(json_object_get(root, "event"))) !=
	        NULL) {
		if (strcmp(event, "ROBOT_HEARTBEAT") == 0) {
			kind = BODY_ROBOT;
		} else if (strcmp(event, "ACCOUNT_HEARTBEAT") == 0) {
			kind = BODY_ACCOUNT;
		}
	}
	json_decref(root);
	return kind;
}

/*
 * The body as the Monitor input it stands for, packed into c->payload.
 * Returns HBMON_OK, or an error with a 400 (or 503) sent.
 */
static int
convert(struct http_request *req, const struct http_ingest *hi,
        struct hb_call *c, const uint8_t *body, size_t len)
{
	ProtobufCMessage *msg = NULL;
	char why[256] = "";
	size_t items = 0;
	int rv;

	c->kind = kind_of(body, len);
	switch (c->kind) {
	case BODY_ROBOT: {
		Hbmon__V1__RobotHeartbeat *hb = NULL;
		rv = hbjson_parse_robot((const char *) body, len, &hb, why,
		                        sizeof(why));
		msg = hb != NULL ? &hb->base : NULL;
		items = 1;
		break;
	}
	case BODY_ACCOUNT: {
		Hbmon__V1__AccountHeartbeat *hb = NULL;
		rv = hbjson_parse_account((const char *) body, len, &hb, why,
		                          sizeof(why));
		msg = hb != NULL ? &hb->base : NULL;
		items = 1;
		break;
	}
	case BODY_BATCH:
	default: {
		Hbmon__V1__HeartbeatBatch *b = NULL;
		rv = hbjson_parse_batch((const char *) body, len, &b, why,
		                        sizeof(why));
		msg = b != NULL ? &b->base : NULL;
		items =
		    b != NULL ? (b->robot != NULL ? 1 : 0) + b->n_accounts : 0;
		break;
	}
	}
	if (rv != HBMON_OK) {
		char text[320];
		snprintf(text, sizeof(text), "the body is not a heartbeat: %s",
		         why);
		http_respond_status(
		    req, rv == HBMON_ENOMEM ? 503 : 400,
		    rv == HBMON_ENOMEM ? RPC_UNAVAILABLE : RPC_INVALID_ARGUMENT,
		    rv == HBMON_ENOMEM ? "out of memory" : text);
		return rv;
	}
	if (hi->batch_items_max > 0 && items > hi->batch_items_max) {
		char text[256];
		snprintf(
		    text, sizeof(text),
		    "the batch holds more than %u heartbeats, the most one "
		    "request may carry (the robot and accounts_max "
		    "accounts); nothing was recorded: send it in parts",
		    hi->batch_items_max);
		protobuf_c_message_free_unpacked(msg, NULL);
		http_respond_status(req, 400, RPC_INVALID_ARGUMENT, text);
		return HBMON_EINVAL;
	}
	c->request.payload.len = protobuf_c_message_get_packed_size(msg);
	if ((c->payload = malloc(c->request.payload.len + 1)) == NULL) {
		protobuf_c_message_free_unpacked(msg, NULL);
		http_respond_status(req, 503, RPC_UNAVAILABLE, "out of memory");
		return HBMON_ENOMEM;
	}
	protobuf_c_message_pack(msg, c->payload);
	protobuf_c_message_free_unpacked(msg, NULL);
	c->request.payload.data = c->payload;
	return HBMON_OK;
}

static void
heartbeat(void *arg, struct http_request *req)
{
	const struct http_ingest *hi = arg;
	const char *robot, *seq, *sent_at, *sig;
	const uint8_t *body;
	size_t len;
	uint64_t seq_v = 0, sent_v = 0;
	bool neg = false, seq_neg = false;
	struct hb_call *c;

	if ((robot = need_header(req, "X-Hbmon-Robot", 400)) == NULL ||
	    (seq = need_header(req, "X-Hbmon-Seq", 400)) == NULL ||
	    (sent_at = need_header(req, "X-Hbmon-Sent-At", 400)) == NULL) {
		return;
	}
	sig = http_header(req, "X-Hbmon-Signature");
	if (!hi->auth_none &&
	    (sig = need_header(req, "X-Hbmon-Signature", 401)) == NULL) {
		return;
	}
	if (!parse_decimal(seq, false, &seq_v, &seq_neg) ||
	    !parse_decimal(sent_at, true, &sent_v, &neg) ||
	    sent_v > (uint64_t) INT64_MAX) {
		http_respond_status(req, 400, RPC_INVALID_ARGUMENT,
		                    "X-Hbmon-Seq and X-Hbmon-Sent-At must be "
		                    "decimal numbers (microseconds and "
		                    "milliseconds since the epoch)");
		return;
	}
	if (strlen(robot) >= sizeof(c->robot)) {
		http_respond_status(
		    req, 400, RPC_INVALID_ARGUMENT,
		    "X-Hbmon-Robot is too long to be a robot id");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		http_respond_status(req, 503, RPC_UNAVAILABLE, "out of memory");
		return;
	}
	hbmon__v1__rpc_request__init(&c->request);
	body = http_body(req, &len);
	if (convert(req, hi, c, body, len) != HBMON_OK) {
		call_free(c);
		return;
	}
	c->http = req;
	snprintf(c->robot, sizeof(c->robot), "%s", robot);
	c->request.method = (char *) kind_method[c->kind];
	c->request.robot_id = c->robot;
	c->request.seq = seq_v;
	c->request.sent_at_ms = neg ? -(int64_t) sent_v : (int64_t) sent_v;
	c->request.signature.data = c->signature;
	c->request.signature.len =
	    sig != NULL && sign_unhex(sig, c->signature, SIGN_LEN) ? SIGN_LEN
	                                                           : 0;
	c->local.request = &c->request;
	c->local.signed_method = HTTP_INGEST_METHOD;
	c->local.signed_payload = body;
	c->local.signed_len = len;
	c->local.peer = http_peer(req);
	c->local.reply = on_reply;
	c->local.arg = c;
	ingest_submit(hi->ingest, &c->local);
}

int
http_ingest_register(struct http_server *srv, const struct http_ingest *hi)
{
	return http_handle(srv, "POST", "/v1/heartbeat", heartbeat,
	                   (void *) hi);
}
