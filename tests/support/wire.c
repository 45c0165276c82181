/* Hand-made protobuf encodings. */
#include "wire.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/sign.h"
#include "hbmon/error.h"

static void
grow(struct wire *w, size_t more)
{
	if (w->len + more <= w->cap) {
		return;
	}
	w->cap = (w->len + more) * 2 + 64;
	w->data = realloc(w->data, w->cap);
	cr_assert_not_null(w->data, "out of memory");
}

static void
put_varint(struct wire *w, uint64_t v)
{
	grow(w, 10);
	while (v >= 0x80) {
		w->data[w->len++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	w->data[w->len++] = (uint8_t) v;
}

void
wire_raw(struct wire *w, const void *p, size_t n)
{
	grow(w, n);
	if (n > 0) {
		memcpy(w->data + w->len, p, n);
	}
	w->len += n;
}

void
wire_varint(struct wire *w, uint32_t field, uint64_t v)
{
	put_varint(w, (uint64_t) field << 3);
	put_varint(w, v);
}

void
wire_bytes(struct wire *w, uint32_t field, const void *p, size_t n)
{
	put_varint(w, ((uint64_t) field << 3) | 2);
	put_varint(w, n);
	wire_raw(w, p, n);
}

void
wire_str(struct wire *w, uint32_t field, const char *s)
{
	wire_bytes(w, field, s, strlen(s));
}

void
wire_free(struct wire *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

void
wire_request(struct wire *w, const struct wire_request *r)
{
	/* RpcRequest: method 1, payload 2, robot_id 3, seq 4, sent_at_ms 5,
	 * signature 6, timeout_ms 7 (proto/hbmon/v1/rpc.proto). */
	wire_bytes(w, 1, r->method, r->method_len);
	if (r->payload_len > 0) {
		wire_bytes(w, 2, r->payload, r->payload_len);
	}
	wire_bytes(w, 3, r->robot, r->robot_len);
	if (r->seq != 0) {
		wire_varint(w, 4, r->seq);
	}
	if (r->sent_at_ms != 0) {
		wire_varint(w, 5, (uint64_t) r->sent_at_ms);
	}
	if (r->secret != NULL) {
		struct sign_fields f = {
			r->sign_method != NULL ? r->sign_method : r->method,
			r->sign_robot != NULL ? r->sign_robot : r->robot,
			r->seq,
			r->sent_at_ms,
			r->payload,
			r->payload_len,
		};
		uint8_t sig[SIGN_LEN];

		cr_assert_eq(
		    sign_compute(r->secret, strlen(r->secret), &f, sig),
		    HBMON_OK);
		wire_bytes(w, 6, sig, sizeof(sig));
	}
	if (r->timeout_ms != 0) {
		wire_varint(w, 7, r->timeout_ms);
	}
}
