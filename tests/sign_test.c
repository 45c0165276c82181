/*
 * Request signatures: known answers computed independently (Python's hmac
 * module over the documented layout), and every signed field protected.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/sign.h"
#include "hbmon/error.h"

struct vector {
	const char *key;
	size_t key_len;
	struct sign_fields fields;
	const char *hex;
};

static const uint8_t binary_payload[] = { 0, 10, 255, 13, 10 };

/* The seed's robot heartbeat, protobuf-encoded: docs/protocol.md's example. */
static const uint8_t seed_robot[] = {
	0x0a, 0x0f, 'R',  'O',  'B',  'O', 'T', '_',  'H',  'E',
	'A',  'R',  'T',  'B',  'E',  'A', 'T', 0x10, 0x01, 0x18,
	0x0c, 0x20, 0x05, 0x2a, 0x19, '2', '0', '2',  '6',  '-',
	'0',  '1',  '-',  '2',  '0',  'T', '0', '9',  ':',  '3',
	'0',  ':',  '0',  '0',  '+',  '0', '7', ':',  '0',  '0'
};

static const struct vector vectors[] = {
	{ "hbs_test-secret",
	  15,
	  { "/hbmon.v1.Monitor/ReportRobot", "R1", 42, 1768876200000,
	    (const uint8_t *) "abc", 3 },
	  "be1a6bb48f8f2bc7e201f3154293969a74bb9a3837c808c23895b56b75778eb2" },
	{ "k",
	  1,
	  { "/hbmon.v1.Monitor/ReportBatch", "robot-7", UINT64_MAX, -1, NULL,
	    0 },
	  "618c40723fae7dff65c3463079e13b5657d1bffdb24499aae0f306ef9e05ac4c" },
	{ "hbs_AbCd",
	  8,
	  { "/hbmon.v1.Admin/Overview", "@admin", 1, 0, binary_payload,
	    sizeof(binary_payload) },
	  "16ceba1c4d6b1b4396c7b08938311dbb9d4948469ca73529436cf23c60f8b886" },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	  100,
	  { "/hbmon.v1.Monitor/ReportAccount", "R1", 7, 1768876200123,
	    (const uint8_t *) "\x0a\x11"
	                      "ACCOUNT_HEARTBEAT",
	    19 },
	  "3e425ccdc67aef821439eb2be3e358cd3ea9aa8508b3ac6f4e04aaa6328dd25c" },
	/* The worked example in docs/protocol.md. */
	{ "hbs_example-secret",
	  18,
	  { "/hbmon.v1.Monitor/ReportRobot", "R1", 1768876200000000,
	    1768876200000, seed_robot, sizeof(seed_robot) },
	  "27a581fad510e0e1b860d357183b37f0b55d567004a8bf948ff33e4c0687289d" },
};

static void
to_hex(const uint8_t *sig, char *out)
{
	for (int i = 0; i < SIGN_LEN; i++) {
		sprintf(out + 2 * i, "%02x", sig[i]);
	}
}

Test(sign, known_answers, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		uint8_t sig[SIGN_LEN];
		char hex[2 * SIGN_LEN + 1];

		cr_assert_eq(sign_compute(v->key, v->key_len, &v->fields, sig),
		             HBMON_OK);
		to_hex(sig, hex);
		cr_assert_str_eq(hex, v->hex, "vector %zu", i);
		cr_assert_eq(
		    sign_verify(v->key, v->key_len, &v->fields, sig, SIGN_LEN),
		    HBMON_OK, "vector %zu", i);
	}
}

Test(sign, context_signs_repeatedly_like_one_shot, .timeout = 10)
{
	struct sign_ctx ctx;

	cr_assert_eq(sign_ctx_init(&ctx, vectors[0].key, vectors[0].key_len),
	             HBMON_OK);
	/* The same context reused must give every vector of that key. */
	for (int round = 0; round < 3; round++) {
		uint8_t sig[SIGN_LEN];
		char hex[2 * SIGN_LEN + 1];

		cr_assert_eq(sign_ctx_sign(&ctx, &vectors[0].fields, sig),
		             HBMON_OK);
		to_hex(sig, hex);
		cr_assert_str_eq(hex, vectors[0].hex);
	}
	sign_ctx_fini(&ctx);
	sign_ctx_fini(&ctx); /* finishing twice is harmless */
}

/* Changes one signed field of f; returns false when n is past the last. */
static bool
tamper(struct sign_fields *f, int n, uint8_t *payload_copy)
{
	switch (n) {
	case 0:
		f->method = "/hbmon.v1.Monitor/ReportAccount";
		return true;
	case 1:
		f->robot_id = "R2";
		return true;
	case 2:
		f->seq++;
		return true;
	case 3:
		f->sent_at_ms++;
		return true;
	case 4:
		payload_copy[0] ^= 1;
		return true;
	case 5:
		f->payload_len--;
		return true;
	case 6:
		/* Moving a byte across the field separator must not collide:
		 * "R1" + "\n42" vs "R14" + "\n2". */
		f->robot_id = "R14";
		f->seq = 2;
		return true;
	default:
		return false;
	}
}

Test(sign, tampering_with_any_signed_field_fails, .timeout = 10)
{
	const struct vector *v = &vectors[0];
	uint8_t sig[SIGN_LEN];
	uint8_t payload[3];

	cr_assert_eq(sign_compute(v->key, v->key_len, &v->fields, sig),
	             HBMON_OK);
	for (int n = 0;; n++) {
		struct sign_fields f = v->fields;
		memcpy(payload, "abc", 3);
		f.payload = payload;
		if (!tamper(&f, n, payload)) {
			break;
		}
		cr_assert_eq(sign_verify(v->key, v->key_len, &f, sig, SIGN_LEN),
		             HBMON_EAUTH, "tamper case %d verified", n);
	}
}

Test(sign, wrong_key_or_signature_fails, .timeout = 10)
{
	const struct vector *v = &vectors[0];
	uint8_t sig[SIGN_LEN];

	cr_assert_eq(sign_compute(v->key, v->key_len, &v->fields, sig),
	             HBMON_OK);
	cr_assert_eq(
	    sign_verify("hbs_test-secreT", 15, &v->fields, sig, SIGN_LEN),
	    HBMON_EAUTH);
	cr_assert_eq(
	    sign_verify(v->key, v->key_len - 1, &v->fields, sig, SIGN_LEN),
	    HBMON_EAUTH);
	for (int i = 0; i < SIGN_LEN; i++) {
		sig[i] ^= 0x80;
		cr_assert_eq(
		    sign_verify(v->key, v->key_len, &v->fields, sig, SIGN_LEN),
		    HBMON_EAUTH, "flipped byte %d verified", i);
		sig[i] ^= 0x80;
	}
	cr_assert_eq(
	    sign_verify(v->key, v->key_len, &v->fields, sig, SIGN_LEN - 1),
	    HBMON_EAUTH);
	cr_assert_eq(sign_verify(v->key, v->key_len, &v->fields, NULL, 0),
	             HBMON_EAUTH);
	cr_assert_eq(sign_verify("", 0, &v->fields, sig, SIGN_LEN),
	             HBMON_EAUTH);
}

Test(sign, empty_key_is_refused, .timeout = 10)
{
	struct sign_ctx ctx;
	uint8_t sig[SIGN_LEN];

	cr_assert_eq(sign_ctx_init(&ctx, "", 0), HBMON_EINVAL);
	cr_assert_eq(sign_compute(NULL, 0, &vectors[0].fields, sig),
	             HBMON_EINVAL);
}

Test(sign, new_secrets_are_distinct_and_url_safe, .timeout = 10)
{
	char a[SIGN_SECRET_MAX], b[SIGN_SECRET_MAX];
	char small[16];

	cr_assert_eq(sign_new_secret(a, sizeof(a)), HBMON_OK);
	cr_assert_eq(sign_new_secret(b, sizeof(b)), HBMON_OK);
	cr_assert_str_neq(a, b);
	cr_assert_eq(strlen(a), 48);
	cr_assert_eq(strncmp(a, "hbs_", 4), 0);
	cr_assert_eq(strspn(a + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	                           "opqrstuvwxyz0123456789-_"),
	             44);
	cr_assert_eq(sign_new_secret(small, sizeof(small)), HBMON_ENOMEM);
}
