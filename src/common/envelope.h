/*
 * The gRPC-style envelope (SPEC §2.2): RpcRequest and RpcResponse, packed
 * with protobuf-c. Senders build signed requests and read replies; servers
 * read requests, check signatures and build replies.
 */
#ifndef HBMON_COMMON_ENVELOPE_H
#define HBMON_COMMON_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "hbmon/v1/rpc.pb-c.h"

/* Everything about a request except its payload. */
struct env_request_head {
	const char *method;   /* gRPC path, "/hbmon.v1.Monitor/ReportRobot" */
	const char *robot_id; /* who speaks; "" where authentication is off */
	uint64_t seq;
	int64_t sent_at_ms;
	uint32_t timeout_ms;
	const void *key; /* signing key (the secret's bytes); NULL: unsigned */
	size_t key_len;
};

/*
 * Packs input into a signed RpcRequest.
 * out, out_len: a malloc'd buffer the caller frees with free(); untouched
 * on failure. Returns HBMON_OK, HBMON_EINVAL (no method), or HBMON_ENOMEM.
 * Thread-safe.
 */
int env_request_pack(const struct env_request_head *head,
                     const ProtobufCMessage *input, uint8_t **out,
                     size_t *out_len);

/*
 * Unpacks a request, and checks what protobuf-c does not: every string is
 * valid UTF-8 without NUL (wirestr.h), and method and robot_id hold no
 * character that quote.h would escape (controls, bidirectional and
 * invisible characters). out: a new message freed with
 * hbmon__v1__rpc_request__free_unpacked(msg, NULL). why: on failure a
 * sentence for the reply ("the request is not an hbmon RpcRequest (N
 * bytes ...)", "robot_id 'R1\x00evil' holds a NUL byte ..."); may be
 * NULL. Returns HBMON_OK, HBMON_EPROTO (does not decode) or HBMON_EINVAL
 * (decodes, but a string is refused). Thread-safe.
 */
int env_request_unpack(const void *buf, size_t len, Hbmon__V1__RpcRequest **out,
                       char *why, size_t why_len);

/*
 * As env_request_unpack, with the request allocated from allocator (e.g. a
 * worker's arena: arena_reset then frees it; do not free_unpacked it).
 */
int env_request_unpack_in(const void *buf, size_t len,
                          ProtobufCAllocator *allocator,
                          Hbmon__V1__RpcRequest **out, char *why,
                          size_t why_len);

/*
 * Checks a request's signature with key. Returns HBMON_OK, HBMON_EAUTH, or
 * HBMON_ENOMEM. Thread-safe.
 */
int env_request_verify(const Hbmon__V1__RpcRequest *req, const void *key,
                       size_t key_len);

/*
 * Size of the packed RpcResponse for these parts, so that a server can
 * pack straight into a transport buffer. output may be NULL. A message
 * holding anything quote.h escapes (invalid UTF-8, controls) is packed
 * quoted (and cut at 1 KiB), so a reply's message is always valid UTF-8;
 * callers still quote the names they write into it.
 */
size_t env_response_size(int code, const char *message,
                         const ProtobufCMessage *output);

/*
 * Packs an RpcResponse into buf, which must hold env_response_size()
 * bytes for the same arguments. Returns the bytes written.
 */
size_t env_response_pack_to(int code, const char *message,
                            const ProtobufCMessage *output, uint8_t *buf);

/*
 * Packs an RpcResponse into a malloc'd buffer (caller frees with free()).
 * Returns HBMON_OK or HBMON_ENOMEM.
 */
int env_response_pack(int code, const char *message,
                      const ProtobufCMessage *output, uint8_t **out,
                      size_t *out_len);

/*
 * Unpacks a reply, and when its code is OK and output_type is not NULL,
 * also its payload as output_type.
 * resp: the envelope, freed with hbmon__v1__rpc_response__free_unpacked.
 * output: when requested and the code is 0, a new message freed with
 * protobuf_c_message_free_unpacked(output, NULL); NULL otherwise.
 * Returns HBMON_OK (look at resp->code) or HBMON_EPROTO when the reply or
 * its payload does not decode (why says which). Thread-safe.
 */
int env_response_unpack(const void *buf, size_t len,
                        const ProtobufCMessageDescriptor *output_type,
                        Hbmon__V1__RpcResponse **resp,
                        ProtobufCMessage **output, char *why, size_t why_len);

#endif
