/* RpcRequest / RpcResponse packing and signature checks. */
#include "common/envelope.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/quote.h"
#include "common/sign.h"
#include "common/wirestr.h"
#include "hbmon/error.h"

static void
set_why(char *why, size_t why_len, const char *text, size_t n)
{
	if (why != NULL && why_len > 0) {
		snprintf(why, why_len, text, n);
	}
}

static void
fields_of(const Hbmon__V1__RpcRequest *req, struct sign_fields *f)
{
	f->method = req->method;
	f->robot_id = req->robot_id;
	f->seq = req->seq;
	f->sent_at_ms = req->sent_at_ms;
	f->payload = req->payload.data;
	f->payload_len = req->payload.len;
}

int
env_request_pack(const struct env_request_head *head,
                 const ProtobufCMessage *input, uint8_t **out, size_t *out_len)
{
	Hbmon__V1__RpcRequest req = HBMON__V1__RPC_REQUEST__INIT;
	uint8_t signature[SIGN_LEN];
	uint8_t *payload = NULL;
	uint8_t *buf = NULL;
	size_t payload_len = 0;
	size_t len;
	int rv;

	if (head->method == NULL || head->method[0] == '\0') {
		return HBMON_EINVAL;
	}
	if (input != NULL) {
		payload_len = protobuf_c_message_get_packed_size(input);
		/* malloc(0) may return NULL; always ask for one byte. */
		if ((payload = malloc(payload_len + 1)) == NULL) {
			return HBMON_ENOMEM;
		}
		protobuf_c_message_pack(input, payload);
	}
	req.method = (char *) head->method;
	req.robot_id = (char *) (head->robot_id != NULL ? head->robot_id : "");
	req.seq = head->seq;
	req.sent_at_ms = head->sent_at_ms;
	req.timeout_ms = head->timeout_ms;
	req.payload.data = payload;
	req.payload.len = payload_len;
	if (head->key != NULL) {
		struct sign_fields f;
		fields_of(&req, &f);
		rv = sign_compute(head->key, head->key_len, &f, signature);
		if (rv != HBMON_OK) {
			goto fail;
		}
		req.signature.data = signature;
		req.signature.len = SIGN_LEN;
	}
	len = hbmon__v1__rpc_request__get_packed_size(&req);
	if ((buf = malloc(len + 1)) == NULL) {
		rv = HBMON_ENOMEM;
		goto fail;
	}
	hbmon__v1__rpc_request__pack(&req, buf);
	free(payload);
	*out = buf;
	*out_len = len;
	return HBMON_OK;

fail:
	free(payload);
	return rv;
}

int
env_request_unpack(const void *buf, size_t len, Hbmon__V1__RpcRequest **out,
                   char *why, size_t why_len)
{
	return env_request_unpack_in(buf, len, NULL, out, why, why_len);
}

/*
 * method and robot_id are names: besides being strings (wirestr.h), they
 * may hold nothing that quoting would change (quote.h), so a name shown in
 * a log, a reply or on the owner's terminal is the name itself.
 */
static int
check_name(const char *field, const char *value, const char *hint, char *why,
           size_t why_len)
{
	char q[QUOTE_NAME_SIZE];
	size_t at = 0;
	uint32_t cp = 0;

	if (!quote_find_unsafe(value, strlen(value), &at, &cp)) {
		return HBMON_OK;
	}
	if (why != NULL && why_len > 0) {
		snprintf(why, why_len,
		         "%s '%s' holds U+%04X (byte %zu), a control, "
		         "bidirectional or invisible character; %s",
		         field, quote_str(q, sizeof(q), value), (unsigned) cp,
		         at, hint);
	}
	return HBMON_EINVAL;
}

int
env_request_unpack_in(const void *buf, size_t len,
                      ProtobufCAllocator *allocator,
                      Hbmon__V1__RpcRequest **out, char *why, size_t why_len)
{
	Hbmon__V1__RpcRequest *req =
	    hbmon__v1__rpc_request__unpack(allocator, len, buf);
	int rv;

	if (req == NULL) {
		set_why(why, why_len,
		        "the request is not an hbmon RpcRequest (%zu bytes "
		        "that do not decode)",
		        len);
		return HBMON_EPROTO;
	}
	/* Unpacked, so well formed; what protobuf-c does not check about
	 * its strings is checked on the bytes. */
	if ((rv = wirestr_check(&hbmon__v1__rpc_request__descriptor, buf, len,
	                        why, why_len)) != HBMON_OK ||
	    (rv = check_name("method", req->method,
	                     "a method is a gRPC path such as "
	                     "/hbmon.v1.Monitor/ReportRobot",
	                     why, why_len)) != HBMON_OK ||
	    (rv = check_name("robot_id", req->robot_id,
	                     "a robot id is letters, digits, '.', '_' and '-'",
	                     why, why_len)) != HBMON_OK) {
		hbmon__v1__rpc_request__free_unpacked(req, allocator);
		return rv;
	}
	*out = req;
	return HBMON_OK;
}

int
env_request_verify(const Hbmon__V1__RpcRequest *req, const void *key,
                   size_t key_len)
{
	struct sign_fields f;

	fields_of(req, &f);
	return sign_verify(key, key_len, &f, req->signature.data,
	                   req->signature.len);
}

/*
 * RpcResponse.payload is field 3, the last one, and protobuf-c writes
 * fields in number order. So a reply is the packed head (code, message)
 * followed by the payload field written by hand: tag, varint length and the
 * output packed straight into place, with no intermediate copy.
 */
#define PAYLOAD_TAG ((3u << 3) | 2u) /* field 3, length-delimited */

static size_t
varint_size(size_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Longest reply sentence; the last line of defence below cuts there. */
#define MESSAGE_MAX 1024

static size_t
head_pack(int code, const char *message, uint8_t *buf)
{
	Hbmon__V1__RpcResponse resp = HBMON__V1__RPC_RESPONSE__INIT;
	char quoted[MESSAGE_MAX];

	resp.code = code;
	resp.message = (char *) (message != NULL ? message : "");
	/* Every name in a sentence is quoted where it is written; should
	 * one slip through raw, the reply must still be UTF-8 that strict
	 * clients can parse. The same message gives the same bytes, so the
	 * size and the packing agree. */
	if (quote_find_unsafe(resp.message, strlen(resp.message), NULL, NULL)) {
		quote_buf(quoted, sizeof(quoted), resp.message,
		          strlen(resp.message), QUOTE_UTF8);
		resp.message = quoted;
	}
	return buf != NULL ? hbmon__v1__rpc_response__pack(&resp, buf)
	                   : hbmon__v1__rpc_response__get_packed_size(&resp);
}

size_t
env_response_size(int code, const char *message, const ProtobufCMessage *output)
{
	size_t size = head_pack(code, message, NULL);
	size_t n =
	    output != NULL ? protobuf_c_message_get_packed_size(output) : 0;

	/* An empty payload is omitted, as protobuf-c omits empty bytes. */
	if (n > 0) {
		size += 1 + varint_size(n) + n;
	}
	return size;
}

size_t
env_response_pack_to(int code, const char *message,
                     const ProtobufCMessage *output, uint8_t *buf)
{
	size_t off = head_pack(code, message, buf);
	size_t n =
	    output != NULL ? protobuf_c_message_get_packed_size(output) : 0;
	size_t v = n;

	if (n == 0) {
		return off;
	}
	buf[off++] = PAYLOAD_TAG;
	while (v >= 0x80) {
		buf[off++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	buf[off++] = (uint8_t) v;
	off += protobuf_c_message_pack(output, buf + off);
	return off;
}

int
env_response_pack(int code, const char *message, const ProtobufCMessage *output,
                  uint8_t **out, size_t *out_len)
{
	size_t size = env_response_size(code, message, output);
	uint8_t *buf = malloc(size + 1);
	size_t n;

	if (buf == NULL) {
		return HBMON_ENOMEM;
	}
	n = env_response_pack_to(code, message, output, buf);
	assert(n == size);
	*out = buf;
	*out_len = n;
	return HBMON_OK;
}

int
env_response_unpack(const void *buf, size_t len,
                    const ProtobufCMessageDescriptor *output_type,
                    Hbmon__V1__RpcResponse **resp, ProtobufCMessage **output,
                    char *why, size_t why_len)
{
	Hbmon__V1__RpcResponse *r =
	    hbmon__v1__rpc_response__unpack(NULL, len, buf);
	ProtobufCMessage *o = NULL;

	if (r == NULL) {
		set_why(why, why_len,
		        "the reply is not an hbmon RpcResponse (%zu bytes that "
		        "do not decode)",
		        len);
		return HBMON_EPROTO;
	}
	if (r->code == 0 && output_type != NULL) {
		o = protobuf_c_message_unpack(output_type, NULL, r->payload.len,
		                              r->payload.data);
		if (o == NULL) {
			set_why(
			    why, why_len,
			    "the reply's payload (%zu bytes) does not decode "
			    "as the method's output",
			    r->payload.len);
			hbmon__v1__rpc_response__free_unpacked(r, NULL);
			return HBMON_EPROTO;
		}
	}
	*resp = r;
	if (output != NULL) {
		*output = o;
	} else if (o != NULL) {
		protobuf_c_message_free_unpacked(o, NULL);
	}
	return HBMON_OK;
}
