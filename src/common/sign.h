/*
 * Request signing (SPEC §2.3):
 *   signature = HMAC-SHA256(secret, method "\n" robot_id "\n" seq "\n"
 *                                   sent_at_ms "\n" payload)
 * with seq and sent_at_ms in decimal ASCII and the payload as raw bytes.
 * The key is the robot's secret exactly as `hbctl robot add` printed it.
 */
#ifndef HBMON_COMMON_SIGN_H
#define HBMON_COMMON_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/md.h>

#define SIGN_LEN 32 /* bytes of an HMAC-SHA256 signature */

/* The fields a signature covers. */
struct sign_fields {
	const char *method;   /* "/hbmon.v1.Monitor/ReportRobot" */
	const char *robot_id; /* "R1", or "@admin" */
	uint64_t seq;
	int64_t sent_at_ms;
	const uint8_t *payload;
	size_t payload_len;
};

/*
 * A keyed signer that is set up once and then signs without allocating:
 * the robot client signs every heartbeat with one of these.
 */
struct sign_ctx {
	mbedtls_md_context_t md;
	bool ready;
};

/*
 * Prepares ctx for key (key_len bytes; may contain any byte). Allocates
 * mbedTLS state once; release with sign_ctx_fini. Returns HBMON_OK,
 * HBMON_EINVAL for an empty key, or HBMON_ENOMEM. Not thread-safe per ctx.
 */
int sign_ctx_init(struct sign_ctx *ctx, const void *key, size_t key_len);

/*
 * Signs fields into out. No allocation. Returns HBMON_OK or HBMON_EINTERNAL
 * if mbedTLS fails (it does not for a ready context). Not thread-safe per
 * ctx: use one ctx per thread or a lock.
 */
int sign_ctx_sign(struct sign_ctx *ctx, const struct sign_fields *fields,
                  uint8_t out[SIGN_LEN]);

/*
 * Checks sig (sig_len bytes) against the signature of fields, in constant
 * time, without allocating. Returns HBMON_OK, HBMON_EAUTH (no match, wrong
 * length, or ctx not ready) or HBMON_EINTERNAL. Not thread-safe per ctx.
 */
int sign_ctx_verify(struct sign_ctx *ctx, const struct sign_fields *fields,
                    const uint8_t *sig, size_t sig_len);

/* Releases what sign_ctx_init allocated. A zeroed or finished ctx is fine. */
void sign_ctx_fini(struct sign_ctx *ctx);

/*
 * One-shot signing with key; allocates and frees mbedTLS state inside.
 * Returns HBMON_OK, HBMON_EINVAL for an empty key, or HBMON_ENOMEM.
 * Thread-safe.
 */
int sign_compute(const void *key, size_t key_len,
                 const struct sign_fields *fields, uint8_t out[SIGN_LEN]);

/*
 * Checks sig (sig_len bytes) against the signature of fields under key, in
 * constant time with respect to the signature bytes. Returns HBMON_OK,
 * HBMON_EAUTH when it does not match (wrong length included), or
 * HBMON_ENOMEM. Thread-safe.
 */
int sign_verify(const void *key, size_t key_len,
                const struct sign_fields *fields, const uint8_t *sig,
                size_t sig_len);

/*
 * Whether a request's sent_at_ms is within window_ms of the server's
 * now_ms (SPEC §2.3), worked out without overflow for any two values (a
 * peer may send INT64_MIN or INT64_MAX). why: when it is not, a sentence
 * such as "sent_at_ms is 3600 s behind the server's clock (allowed: 300
 * s); check the sender's clock"; may be NULL. Returns HBMON_OK or
 * HBMON_EAUTH. Thread-safe.
 */
int sign_check_window(int64_t sent_at_ms, int64_t now_ms, int64_t window_ms,
                      char *why, size_t why_len);

/*
 * Makes a new robot secret: 33 random bytes from the OS (getrandom) as
 * 44 URL-safe base64 characters, prefixed "hbs_" so it is recognisable in
 * a secret file. buf must hold SIGN_SECRET_MAX bytes. Returns HBMON_OK or
 * HBMON_EIO if the OS has no randomness to give.
 */
int sign_new_secret(char *buf, size_t buf_len);

#define SIGN_SECRET_MAX 64

/*
 * Makes a new ping token (docs/http.md, GET /v1/ping/TOKEN): like a
 * secret, 33 random bytes as 44 URL-safe base64 characters, prefixed
 * "hbp_" (SIGN_PING_LEN characters in all). buf must hold SIGN_SECRET_MAX
 * bytes. Returns HBMON_OK or HBMON_EIO.
 */
int sign_new_ping_token(char *buf, size_t buf_len);

#define SIGN_PING_PREFIX "hbp_"
#define SIGN_PING_LEN    48

/* out = SHA-256(data). Returns HBMON_OK or HBMON_EIO. */
int sign_sha256(const void *data, size_t len, uint8_t out[SIGN_LEN]);

/* len bytes as 2 * len lowercase hex digits and a NUL in out. */
void sign_hex(const uint8_t *bytes, size_t len, char *out);

/* Exactly 2 * len hex digits (either case) into out; false when hex is
 * anything else. */
bool sign_unhex(const char *hex, uint8_t *out, size_t len);

/* Whether a and b (len bytes each) are equal, in time that does not
 * depend on where they differ. */
bool sign_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
