/*
 * Protobuf encodings made by hand, for hostile-input tests: strings with
 * NULs, bytes that are not UTF-8, any field in any order. protobuf-c packs
 * a string with strlen(), so it cannot make these. Test processes only;
 * running out of memory aborts the test.
 */
#ifndef HBMON_TESTS_WIRE_H
#define HBMON_TESTS_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wire {
	uint8_t *data; /* malloc'd; free with wire_free */
	size_t len, cap;
};

/* Appends field as a varint (wire type 0); v is written as protobuf writes
 * uint64 (an int64 is cast: negative values take ten bytes). */
void wire_varint(struct wire *w, uint32_t field, uint64_t v);

/* Appends field as n bytes, length-delimited (wire type 2). */
void wire_bytes(struct wire *w, uint32_t field, const void *p, size_t n);

/* wire_bytes of a C string (up to its NUL). */
void wire_str(struct wire *w, uint32_t field, const char *s);

/* Appends raw bytes, no tag. */
void wire_raw(struct wire *w, const void *p, size_t n);

void wire_free(struct wire *w);

/*
 * A signed RpcRequest whose strings are given as bytes, so they may hold
 * NUL or invalid UTF-8. The signature is HMAC(secret) over sign_method and
 * sign_robot (C strings: what a C peer that truncated at the NUL would
 * sign), seq, sent_at_ms and the payload. secret NULL: unsigned.
 */
struct wire_request {
	const void *method;
	size_t method_len;
	const void *robot;
	size_t robot_len;
	const char *sign_method; /* NULL: method as a C string */
	const char *sign_robot;  /* NULL: robot as a C string */
	uint64_t seq;
	int64_t sent_at_ms;
	uint32_t timeout_ms;
	const void *payload;
	size_t payload_len;
	const char *secret;
};

/* Packs r into w (which starts empty: {0}). */
void wire_request(struct wire *w, const struct wire_request *r);

#endif
