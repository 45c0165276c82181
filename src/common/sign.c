/*
 * HMAC-SHA256 request signatures on mbedTLS (already linked by nng for
 * TLS, so signing adds no new dependency).
 */
#include "common/sign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "hbmon/error.h"

static int
md_error(int rv)
{
	return rv == MBEDTLS_ERR_MD_ALLOC_FAILED ? HBMON_ENOMEM
	                                         : HBMON_EINTERNAL;
}

/* Feeds the signed fields, in the documented order, into a started HMAC. */
static int
feed_fields(mbedtls_md_context_t *md, const struct sign_fields *f)
{
	char num[2][24];
	int n_seq = snprintf(num[0], sizeof(num[0]), "%" PRIu64, f->seq);
	int n_sent =
	    snprintf(num[1], sizeof(num[1]), "%" PRId64, f->sent_at_ms);
	const char *method = f->method != NULL ? f->method : "";
	const char *robot_id = f->robot_id != NULL ? f->robot_id : "";
	const unsigned char nl = '\n';
	int rv = 0;

	rv |= mbedtls_md_hmac_update(md, (const unsigned char *) method,
	                             strlen(method));
	rv |= mbedtls_md_hmac_update(md, &nl, 1);
	rv |= mbedtls_md_hmac_update(md, (const unsigned char *) robot_id,
	                             strlen(robot_id));
	rv |= mbedtls_md_hmac_update(md, &nl, 1);
	rv |= mbedtls_md_hmac_update(md, (const unsigned char *) num[0],
	                             (size_t) n_seq);
	rv |= mbedtls_md_hmac_update(md, &nl, 1);
	rv |= mbedtls_md_hmac_update(md, (const unsigned char *) num[1],
	                             (size_t) n_sent);
	rv |= mbedtls_md_hmac_update(md, &nl, 1);
	if (f->payload_len > 0) {
		rv |= mbedtls_md_hmac_update(md, f->payload, f->payload_len);
	}
	return rv == 0 ? HBMON_OK : HBMON_EINTERNAL;
}

int
sign_ctx_init(struct sign_ctx *ctx, const void *key, size_t key_len)
{
	const mbedtls_md_info_t *sha256 =
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	int rv;

	memset(ctx, 0, sizeof(*ctx));
	if (key == NULL || key_len == 0) {
		return HBMON_EINVAL;
	}
	mbedtls_md_init(&ctx->md);
	if ((rv = mbedtls_md_setup(&ctx->md, sha256, 1)) != 0) {
		mbedtls_md_free(&ctx->md);
		return md_error(rv);
	}
	if ((rv = mbedtls_md_hmac_starts(&ctx->md, key, key_len)) != 0) {
		mbedtls_md_free(&ctx->md);
		return md_error(rv);
	}
	ctx->ready = true;
	return HBMON_OK;
}

int
sign_ctx_sign(struct sign_ctx *ctx, const struct sign_fields *fields,
              uint8_t out[SIGN_LEN])
{
	int rv;

	if (!ctx->ready) {
		return HBMON_EINVAL;
	}
	/* hmac_reset keeps the key's inner/outer pads: no re-keying cost. */
	if (mbedtls_md_hmac_reset(&ctx->md) != 0) {
		return HBMON_EINTERNAL;
	}
	if ((rv = feed_fields(&ctx->md, fields)) != HBMON_OK) {
		return rv;
	}
	return mbedtls_md_hmac_finish(&ctx->md, out) == 0 ? HBMON_OK
	                                                  : HBMON_EINTERNAL;
}

void
sign_ctx_fini(struct sign_ctx *ctx)
{
	if (ctx != NULL && ctx->ready) {
		mbedtls_md_free(&ctx->md);
		ctx->ready = false;
	}
}

int
sign_compute(const void *key, size_t key_len, const struct sign_fields *fields,
             uint8_t out[SIGN_LEN])
{
	struct sign_ctx ctx;
	int rv;

	if ((rv = sign_ctx_init(&ctx, key, key_len)) != HBMON_OK) {
		return rv;
	}
	rv = sign_ctx_sign(&ctx, fields, out);
	sign_ctx_fini(&ctx);
	return rv;
}

/* Constant time: a timing oracle must not reveal a prefix match. */
static int
same_signature(const uint8_t want[SIGN_LEN], const uint8_t *sig, size_t sig_len)
{
	unsigned diff = 0;

	if (sig == NULL || sig_len != SIGN_LEN) {
		return HBMON_EAUTH;
	}
	for (size_t i = 0; i < SIGN_LEN; i++) {
		diff |= (unsigned) (want[i] ^ sig[i]);
	}
	return diff == 0 ? HBMON_OK : HBMON_EAUTH;
}

int
sign_verify(const void *key, size_t key_len, const struct sign_fields *fields,
            const uint8_t *sig, size_t sig_len)
{
	uint8_t want[SIGN_LEN];
	int rv;

	if ((rv = sign_compute(key, key_len, fields, want)) != HBMON_OK) {
		return rv == HBMON_EINVAL ? HBMON_EAUTH : rv;
	}
	return same_signature(want, sig, sig_len);
}

int
sign_ctx_verify(struct sign_ctx *ctx, const struct sign_fields *fields,
                const uint8_t *sig, size_t sig_len)
{
	uint8_t want[SIGN_LEN];
	int rv;

	if (!ctx->ready) {
		return HBMON_EAUTH;
	}
	if ((rv = sign_ctx_sign(ctx, fields, want)) != HBMON_OK) {
		return rv;
	}
	return same_signature(want, sig, sig_len);
}

int
sign_check_window(int64_t sent_at_ms, int64_t now_ms, int64_t window_ms,
                  char *why, size_t why_len)
{
	/* The distance in uint64_t: the difference of two int64_t values
	 * may not fit an int64_t, but its magnitude always fits this. */
	bool ahead = sent_at_ms > now_ms;
	uint64_t off = ahead ? (uint64_t) sent_at_ms - (uint64_t) now_ms
	                     : (uint64_t) now_ms - (uint64_t) sent_at_ms;

	if (window_ms >= 0 && off <= (uint64_t) window_ms) {
		return HBMON_OK;
	}
	if (why != NULL && why_len > 0) {
		snprintf(why, why_len,
		         "sent_at_ms is %" PRIu64 " s %s the server's clock "
		         "(allowed: %" PRId64 " s); check the sender's clock",
		         off / 1000, ahead ? "ahead of" : "behind",
		         window_ms / 1000);
	}
	return HBMON_EAUTH;
}

/* 33 random bytes from the OS as 44 URL-safe base64 characters after
 * prefix (4 characters), NUL-terminated in buf (SIGN_SECRET_MAX bytes). */
static int
new_random_word(const char *prefix, char *buf, size_t buf_len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                               "abcdefghijklmnopqrstuvwxyz"
	                               "0123456789-_";
	uint8_t raw[33];
	size_t got = 0;
	size_t o = 0;

	if (buf_len < SIGN_SECRET_MAX) {
		return HBMON_ENOMEM;
	}
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return HBMON_EIO;
		}
		got += (size_t) n;
	}
	memcpy(buf, prefix, 4);
	o = 4;
	/* 33 bytes are exactly 44 base64 characters: no padding needed. */
	for (size_t i = 0; i + 2 < sizeof(raw); i += 3) {
		uint32_t v = ((uint32_t) raw[i] << 16) |
		             ((uint32_t) raw[i + 1] << 8) | raw[i + 2];
		buf[o++] = alphabet[(v >> 18) & 63];
		buf[o++] = alphabet[(v >> 12) & 63];
		buf[o++] = alphabet[(v >> 6) & 63];
		buf[o++] = alphabet[v & 63];
	}
	buf[o] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return HBMON_OK;
}

int
sign_new_secret(char *buf, size_t buf_len)
{
	return new_random_word("hbs_", buf, buf_len);
}

int
sign_new_ping_token(char *buf, size_t buf_len)
{
	return new_random_word(SIGN_PING_PREFIX, buf, buf_len);
}

int
sign_sha256(const void *data, size_t len, uint8_t out[SIGN_LEN])
{
	const mbedtls_md_info_t *md =
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	return md != NULL && mbedtls_md(md, data, len, out) == 0 ? HBMON_OK
	                                                         : HBMON_EIO;
}

bool
sign_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	unsigned diff = 0;

	for (size_t i = 0; i < len; i++) {
		diff |= (unsigned) (a[i] ^ b[i]);
	}
	return diff == 0;
}

void
sign_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

bool
sign_unhex(const char *hex, uint8_t *out, size_t len)
{
	if (hex == NULL || strlen(hex) != 2 * len) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return false;
		}
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	return true;
}
