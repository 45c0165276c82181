/* nanopb encoding and decoding for the robot client; see codec.h. */
#include "client/codec.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <pb_encode.h>

#include "common/rpc_status.h"

#include "hbmon/v1/heartbeat.pb.h"
#include "hbmon/v1/monitor.pb.h"
#include "hbmon/v1/rpc.pb.h"

const char *
client_method_path(enum client_method m)
{
	switch (m) {
	case CLIENT_REPORT_ROBOT:
		return "/hbmon.v1.Monitor/ReportRobot";
	case CLIENT_REPORT_ACCOUNT:
		return "/hbmon.v1.Monitor/ReportAccount";
	case CLIENT_REPORT_BATCH:
		return "/hbmon.v1.Monitor/ReportBatch";
	}
	return "";
}

/* Copies a NUL-terminated string into a fixed field, cut to fit. */
static void
copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		n = cap - 1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
client_items_account(const struct client_items *it, size_t i, const char **name,
                     hbmon_account_status *status, bool *session_valid,
                     uint32_t *open_orders)
{
	assert(i < it->n_accounts);
	if (it->table != NULL) {
		const struct client_account *a = &it->table[i];
		*name = a->name;
		*status = a->status;
		*session_valid = a->session_valid;
		*open_orders = a->open_orders;
	} else {
		const hbmon_account_state *a = &it->accounts[i];
		*name = a->account;
		*status = a->status;
		*session_valid = a->session_valid;
		*open_orders = a->open_orders;
	}
}

static void
fill_robot(const struct client_items *it, hbmon_v1_RobotHeartbeat *hb)
{
	memset(hb, 0, sizeof(*hb));
	copy_field(hb->event, sizeof(hb->event), "ROBOT_HEARTBEAT");
	hb->status = (hbmon_v1_HealthStatus) it->robot.status;
	hb->active_accounts = it->robot.active_accounts;
	hb->active_tasks = it->robot.active_tasks;
	copy_field(hb->timestamp, sizeof(hb->timestamp), it->timestamp);
}

static void
fill_account(const struct client_items *it, size_t i,
             hbmon_v1_AccountHeartbeat *hb)
{
	const char *name;
	hbmon_account_status status;

	memset(hb, 0, sizeof(*hb));
	client_items_account(it, i, &name, &status, &hb->session_valid,
	                     &hb->open_orders);
	copy_field(hb->event, sizeof(hb->event), "ACCOUNT_HEARTBEAT");
	copy_field(hb->account, sizeof(hb->account), name);
	hb->status = (hbmon_v1_AccountStatus) status;
	copy_field(hb->timestamp, sizeof(hb->timestamp), it->timestamp);
}

/* HeartbeatBatch.accounts: written from the items, one at a time. */
static bool
encode_accounts(pb_ostream_t *os, const pb_field_t *field, void *const *arg)
{
	const struct client_items *it = *arg;

	for (size_t i = 0; i < it->n_accounts; i++) {
		hbmon_v1_AccountHeartbeat hb;

		fill_account(it, i, &hb);
		if (!pb_encode_tag_for_field(os, field) ||
		    !pb_encode_submessage(os, hbmon_v1_AccountHeartbeat_fields,
		                          &hb)) {
			return false;
		}
	}
	return true;
}

int
client_encode_payload(enum client_method m, const struct client_items *it,
                      uint8_t *buf, size_t cap, size_t *out_len)
{
	pb_ostream_t os = pb_ostream_from_buffer(buf, cap);
	bool ok = false;

	switch (m) {
	case CLIENT_REPORT_ROBOT: {
		hbmon_v1_RobotHeartbeat hb;
		fill_robot(it, &hb);
		ok = pb_encode(&os, hbmon_v1_RobotHeartbeat_fields, &hb);
		break;
	}
	case CLIENT_REPORT_ACCOUNT: {
		hbmon_v1_AccountHeartbeat hb;
		assert(it->n_accounts == 1);
		fill_account(it, 0, &hb);
		ok = pb_encode(&os, hbmon_v1_AccountHeartbeat_fields, &hb);
		break;
	}
	case CLIENT_REPORT_BATCH: {
		hbmon_v1_HeartbeatBatch batch =
		    hbmon_v1_HeartbeatBatch_init_zero;
		if (it->has_robot) {
			batch.has_robot = true;
			fill_robot(it, &batch.robot);
		}
		batch.accounts.funcs.encode = encode_accounts;
		batch.accounts.arg = (void *) it;
		ok = pb_encode(&os, hbmon_v1_HeartbeatBatch_fields, &batch);
		break;
	}
	}
	if (!ok) {
		/* The only way a fixed-size message fails to encode into a
		 * memory buffer is running out of room. */
		return HBMON_ENOMEM;
	}
	*out_len = os.bytes_written;
	return HBMON_OK;
}

struct bytes_ref {
	const uint8_t *data;
	size_t len;
};

static bool
encode_bytes(pb_ostream_t *os, const pb_field_t *field, void *const *arg)
{
	const struct bytes_ref *ref = *arg;

	return pb_encode_tag_for_field(os, field) &&
	       pb_encode_string(os, ref->data, ref->len);
}

int
client_encode_request(const struct client_envelope *env, const uint8_t *payload,
                      size_t payload_len, uint8_t *buf, size_t cap,
                      size_t *out_len)
{
	hbmon_v1_RpcRequest req = hbmon_v1_RpcRequest_init_zero;
	struct bytes_ref ref = { payload, payload_len };
	pb_ostream_t os = pb_ostream_from_buffer(buf, cap);

	copy_field(req.method, sizeof(req.method), env->method);
	copy_field(req.robot_id, sizeof(req.robot_id), env->robot_id);
	req.seq = env->seq;
	req.sent_at_ms = env->sent_at_ms;
	req.timeout_ms = env->timeout_ms;
	if (env->signed_) {
		req.signature.size = SIGN_LEN;
		memcpy(req.signature.bytes, env->signature, SIGN_LEN);
	}
	req.payload.funcs.encode = encode_bytes;
	req.payload.arg = &ref;
	if (!pb_encode(&os, hbmon_v1_RpcRequest_fields, &req)) {
		return HBMON_ENOMEM;
	}
	*out_len = os.bytes_written;
	return HBMON_OK;
}

/* ---- replies ---------------------------------------------------------- */

/* A string field read into a fixed buffer; what does not fit is cut. */
struct text_sink {
	char *buf;
	size_t cap;
};

static bool
decode_text(pb_istream_t *is, const pb_field_t *field, void **arg)
{
	struct text_sink *sink = *arg;
	size_t n = is->bytes_left;

	(void) field;
	if (n >= sink->cap) {
		n = sink->cap - 1;
	}
	if (!pb_read(is, (pb_byte_t *) sink->buf, n)) {
		return false;
	}
	sink->buf[n] = '\0';
	return pb_read(is, NULL, is->bytes_left);
}

/* Sets up a ReportResult to decode into res. */
static void
result_prepare(hbmon_v1_ReportResult *rr, hbmon_result *res,
               struct text_sink sinks[2])
{
	memset(res, 0, sizeof(*res));
	sinks[0] = (struct text_sink){ res->message, sizeof(res->message) };
	sinks[1] = (struct text_sink){ res->subject, sizeof(res->subject) };
	rr->message.funcs.decode = decode_text;
	rr->message.arg = &sinks[0];
	rr->subject.funcs.decode = decode_text;
	rr->subject.arg = &sinks[1];
}

static void
result_finish(struct client_reply *r, const hbmon_v1_ReportResult *rr,
              hbmon_result *res)
{
	res->code = rr->code;
	res->err = rpc_code_to_err(rr->code);
	res->transition_not_allowed = rr->transition_not_allowed;
	if (rr->code != 0) {
		if (r->n_rejected == 0) {
			r->first_rejected = *res;
		}
		r->n_rejected++;
	}
}

/* BatchReply.accounts: one ReportResult per call, in request order. */
static bool
decode_account_result(pb_istream_t *is, const pb_field_t *field, void **arg)
{
	struct client_reply *r = *arg;
	hbmon_v1_ReportResult rr = hbmon_v1_ReportResult_init_zero;
	struct text_sink sinks[2];
	hbmon_result scratch;
	hbmon_result *res = &scratch;

	(void) field;
	if (r->accounts != NULL && r->n_accounts < r->accounts_cap) {
		res = &r->accounts[r->n_accounts];
	}
	result_prepare(&rr, res, sinks);
	if (!pb_decode(is, hbmon_v1_ReportResult_fields, &rr)) {
		return false;
	}
	result_finish(r, &rr, res);
	r->n_accounts++;
	return true;
}

/* RpcResponse.payload: the method's output, decoded in place. */
static bool
decode_payload(pb_istream_t *is, const pb_field_t *field, void **arg)
{
	struct client_reply *r = *arg;
	struct text_sink sinks[2];

	(void) field;
	r->has_payload = true;
	if (r->method == CLIENT_REPORT_BATCH) {
		hbmon_v1_BatchReply br = hbmon_v1_BatchReply_init_zero;

		result_prepare(&br.robot, r->single, sinks);
		br.accounts.funcs.decode = decode_account_result;
		br.accounts.arg = r;
		if (!pb_decode(is, hbmon_v1_BatchReply_fields, &br)) {
			return false;
		}
		if (br.has_robot) {
			r->got_single = true;
			result_finish(r, &br.robot, r->single);
		}
	} else {
		hbmon_v1_ReportResult rr = hbmon_v1_ReportResult_init_zero;

		result_prepare(&rr, r->single, sinks);
		if (!pb_decode(is, hbmon_v1_ReportResult_fields, &rr)) {
			return false;
		}
		r->got_single = true;
		result_finish(r, &rr, r->single);
	}
	return true;
}

bool
client_decode_reply(pb_istream_t *is, struct client_reply *r)
{
	hbmon_v1_RpcResponse resp = hbmon_v1_RpcResponse_init_zero;
	struct text_sink msg = { r->message, sizeof(r->message) };

	r->message[0] = '\0';
	r->has_payload = false;
	r->got_single = false;
	r->n_accounts = 0;
	r->n_rejected = 0;
	resp.message.funcs.decode = decode_text;
	resp.message.arg = &msg;
	resp.payload.funcs.decode = decode_payload;
	resp.payload.arg = r;
	if (!pb_decode(is, hbmon_v1_RpcResponse_fields, &resp)) {
		return false;
	}
	r->code = resp.code;
	return true;
}

/* ---- trace ------------------------------------------------------------ */

/* Appends s to buf as the inside of a JSON string. */
static size_t
json_escape(char *buf, size_t len, size_t off, const char *s)
{
	for (; *s != '\0' && off + 7 < len; s++) {
		unsigned char ch = (unsigned char) *s;
		if (ch == '"' || ch == '\\') {
			buf[off++] = '\\';
			buf[off++] = (char) ch;
		} else if (ch < 0x20) {
			off += (size_t) snprintf(buf + off, len - off,
			                         "\\u%04x", ch);
		} else {
			buf[off++] = (char) ch;
		}
	}
	buf[off] = '\0';
	return off;
}

void
client_trace_json(const struct client_items *it, long index, char *buf,
                  size_t len)
{
	char name[6 * HBMON_NAME_MAX + 8]; /* every byte may become \u00XX */

	if (index < 0) {
		snprintf(buf, len,
		         "{\"event\":\"ROBOT_HEARTBEAT\",\"status\":\"%s\","
		         "\"active_accounts\":%u,\"active_tasks\":%u,"
		         "\"timestamp\":\"%s\"}",
		         hbmon_health_status_name(it->robot.status),
		         (unsigned) it->robot.active_accounts,
		         (unsigned) it->robot.active_tasks, it->timestamp);
		return;
	}
	{
		const char *account;
		hbmon_account_status status;
		bool session_valid;
		uint32_t open_orders;

		client_items_account(it, (size_t) index, &account, &status,
		                     &session_valid, &open_orders);
		json_escape(name, sizeof(name), 0, account);
		snprintf(buf, len,
		         "{\"event\":\"ACCOUNT_HEARTBEAT\",\"account\":\"%s\","
		         "\"status\":\"%s\",\"session_valid\":%s,"
		         "\"open_orders\":%u,\"timestamp\":\"%s\"}",
		         name, hbmon_account_status_name(status),
		         session_valid ? "true" : "false",
		         (unsigned) open_orders, it->timestamp);
	}
}
