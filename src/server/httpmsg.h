/*
 * The head of an HTTP/1.1 request, parsed strictly (RFC 9112) from the
 * bytes received so far: request line, header fields, blank line. A
 * pure function over a buffer, with no I/O and no allocation, so that it
 * can be fuzzed on its own (tests/fuzz/fuzz_httpmsg.c); http.c feeds it.
 *
 * Strict means a peer learns about a mistake at once and nothing is
 * guessed: lines end in CRLF (a bare LF is accepted, as RFC 9112 §2.2
 * allows), no obsolete line folding, no whitespace before a field's
 * colon, token characters in methods and field names, no control bytes
 * in values, one Content-Length at most, and no Transfer-Encoding (hbmon
 * takes bodies of a stated length only). Everything refused comes with
 * the HTTP status that fits and a sentence.
 */
#ifndef HBMON_SERVER_HTTPMSG_H
#define HBMON_SERVER_HTTPMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header fields kept per request; more is refused (431). */
#define HTTPMSG_FIELDS_MAX 48

/* A piece of the caller's buffer (not NUL-terminated). */
struct httpmsg_span {
	const char *p;
	size_t len;
};

struct httpmsg_field {
	struct httpmsg_span name;
	struct httpmsg_span value; /* leading and trailing blanks cut off */
};

struct httpmsg {
	struct httpmsg_span method; /* "GET" */
	struct httpmsg_span target; /* "/v1/ping/abc?status=degraded" */
	int minor;                  /* HTTP/1.minor: 0 or 1 */
	size_t n_fields;
	struct httpmsg_field fields[HTTPMSG_FIELDS_MAX];
	bool has_length;
	uint64_t content_length;
	/* The connection stays open after the reply: HTTP/1.1 without
	 * "Connection: close", or HTTP/1.0 with "Connection: keep-alive". */
	bool keep_alive;
	size_t head_len; /* bytes of the head, blank line included */
};

enum httpmsg_result {
	HTTPMSG_DONE,    /* the head is complete: out is filled */
	HTTPMSG_PARTIAL, /* no error so far; more bytes are needed */
	HTTPMSG_BAD,     /* refused: out_status and why say why */
};

/*
 * Parses the head at the start of buf (len bytes received so far).
 * out: filled on HTTPMSG_DONE; its spans point into buf.
 * out_status, why: on HTTPMSG_BAD the HTTP status (400, 431, 501, 505)
 * and a sentence (static text). head_max: the longest head accepted; a
 * head that has not ended within head_max bytes is refused 431.
 * Thread-safe, no allocation.
 */
enum httpmsg_result httpmsg_parse(const char *buf, size_t len, size_t head_max,
                                  struct httpmsg *out, int *out_status,
                                  const char **why);

/*
 * The value of the first field named name (case-insensitive), or NULL.
 */
const struct httpmsg_span *httpmsg_field(const struct httpmsg *m,
                                         const char *name);

/* Whether span s is name, case-insensitively. */
bool httpmsg_span_is(struct httpmsg_span s, const char *name);

#endif
