/* Strict HTTP/1.1 request heads; see httpmsg.h. */
#include "server/httpmsg.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 §5.6.2: tchar. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z')) {
		return true;
	}
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values: visible characters, blanks and obs-text; no controls. */
static bool
is_value_char(unsigned char c)
{
	return c == '\t' || c >= 0x20 ? c != 0x7f : false;
}

/* Request targets: visible ASCII only (origin-form, RFC 9112 §3.2). */
static bool
is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

bool
httpmsg_span_is(struct httpmsg_span s, const char *name)
{
	size_t n = strlen(name);

	return s.len == n && strncasecmp(s.p, name, n) == 0;
}

const struct httpmsg_span *
httpmsg_field(const struct httpmsg *m, const char *name)
{
	for (size_t i = 0; i < m->n_fields; i++) {
		if (httpmsg_span_is(m->fields[i].name, name)) {
			return &m->fields[i].value;
		}
	}
	return NULL;
}

/*
 * The next line of buf from *at, without its CRLF (or LF). Returns false
 * when no line end has arrived yet.
 */
static bool
next_line(const char *buf, size_t len, size_t *at, struct httpmsg_span *line)
{
	const char *lf = memchr(buf + *at, '\n', len - *at);
	size_t end;

	if (lf == NULL) {
		return false;
	}
	end = (size_t) (lf - buf);
	line->p = buf + *at;
	line->len = end - *at;
	if (line->len > 0 && line->p[line->len - 1] == '\r') {
		line->len--;
	}
	*at = end + 1;
	return true;
}

static enum httpmsg_result
bad(int status, const char *sentence, int *out_status, const char **why)
{
	*out_status = status;
	*why = sentence;
	return HTTPMSG_BAD;
}

/* "METHOD SP target SP HTTP/1.x". */
static enum httpmsg_result
request_line(struct httpmsg_span line, struct httpmsg *out, int *out_status,
             const char **why)
{
	size_t i = 0;

	while (i < line.len && is_tchar((unsigned char) line.p[i])) {
		i++;
	}
	if (i == 0 || i == line.len || line.p[i] != ' ') {
		return bad(400,
		           "the request line is not METHOD TARGET HTTP/1.1",
		           out_status, why);
	}
	out->method.p = line.p;
	out->method.len = i++;
	out->target.p = line.p + i;
	while (i < line.len && is_target_char((unsigned char) line.p[i])) {
		i++;
	}
	out->target.len = (size_t) (line.p + i - out->target.p);
	if (out->target.len == 0 || i == line.len || line.p[i] != ' ' ||
	    out->target.p[0] != '/') {
		return bad(400,
		           "the request target is not a path such as "
		           "/v1/heartbeat",
		           out_status, why);
	}
	i++;
	if (line.len - i != 8 || memcmp(line.p + i, "HTTP/1.", 7) != 0) {
		if (line.len - i >= 5 && memcmp(line.p + i, "HTTP/", 5) == 0) {
			return bad(505, "only HTTP/1.0 and HTTP/1.1 are spoken",
			           out_status, why);
		}
		return bad(400, "the request line does not end in HTTP/1.1",
		           out_status, why);
	}
	if (line.p[i + 7] != '0' && line.p[i + 7] != '1') {
		return bad(505, "only HTTP/1.0 and HTTP/1.1 are spoken",
		           out_status, why);
	}
	out->minor = line.p[i + 7] - '0';
	return HTTPMSG_DONE;
}

/* A decimal Content-Length, at most 18 digits (no overflow). */
static bool
parse_length(struct httpmsg_span v, uint64_t *out)
{
	uint64_t n = 0;

	if (v.len == 0 || v.len > 18) {
		return false;
	}
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9') {
			return false;
		}
		n = n * 10 + (uint64_t) (v.p[i] - '0');
	}
	*out = n;
	return true;
}

/* Whether a comma-separated field value holds token (any case). */
static bool
has_token(struct httpmsg_span v, const char *token)
{
	size_t i = 0;

	while (i < v.len) {
		size_t start, end;

		while (i < v.len &&
		       (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ',')) {
			i++;
		}
		start = i;
		while (i < v.len && v.p[i] != ',') {
			i++;
		}
		end = i;
		while (end > start &&
		       (v.p[end - 1] == ' ' || v.p[end - 1] == '\t')) {
			end--;
		}
		if (httpmsg_span_is(
		        (struct httpmsg_span){ v.p + start, end - start },
		        token)) {
			return true;
		}
	}
	return false;
}

/* "name: value"; adds it to out. */
static enum httpmsg_result
field_line(struct httpmsg_span line, struct httpmsg *out, int *out_status,
           const char **why)
{
	struct httpmsg_field *f;
	size_t i = 0, end;

	if (line.len > 0 && (line.p[0] == ' ' || line.p[0] == '\t')) {
		return bad(400, "folded header lines are not accepted",
		           out_status, why);
	}
	while (i < line.len && is_tchar((unsigned char) line.p[i])) {
		i++;
	}
	if (i == 0 || i == line.len || line.p[i] != ':') {
		return bad(400, "a header line is not NAME: VALUE", out_status,
		           why);
	}
	if (out->n_fields == HTTPMSG_FIELDS_MAX) {
		return bad(431, "the request has too many header fields",
		           out_status, why);
	}
	f = &out->fields[out->n_fields++];
	f->name.p = line.p;
	f->name.len = i++;
	while (i < line.len && (line.p[i] == ' ' || line.p[i] == '\t')) {
		i++;
	}
	end = line.len;
	while (end > i && (line.p[end - 1] == ' ' || line.p[end - 1] == '\t')) {
		end--;
	}
	for (size_t j = i; j < end; j++) {
		if (!is_value_char((unsigned char) line.p[j])) {
			return bad(400,
			           "a header value holds a control character",
			           out_status, why);
		}
	}
	f->value.p = line.p + i;
	f->value.len = end - i;
	if (httpmsg_span_is(f->name, "Content-Length")) {
		uint64_t n;
		if (!parse_length(f->value, &n) ||
		    (out->has_length && n != out->content_length)) {
			return bad(400,
			           "Content-Length is not one decimal number",
			           out_status, why);
		}
		out->has_length = true;
		out->content_length = n;
	} else if (httpmsg_span_is(f->name, "Transfer-Encoding")) {
		return bad(501,
		           "Transfer-Encoding is not accepted; send the body "
		           "with a Content-Length",
		           out_status, why);
	} else if (httpmsg_span_is(f->name, "Connection")) {
		if (has_token(f->value, "close")) {
			out->keep_alive = false;
		} else if (has_token(f->value, "keep-alive")) {
			out->keep_alive = true;
		}
	}
	return HTTPMSG_DONE;
}

enum httpmsg_result
httpmsg_parse(const char *buf, size_t len, size_t head_max, struct httpmsg *out,
              int *out_status, const char **why)
{
	size_t at = 0;
	size_t scan = len < head_max ? len : head_max;
	struct httpmsg_span line;
	enum httpmsg_result rv;

	memset(out, 0, sizeof(*out));
	*out_status = 0;
	*why = "";
	/* RFC 9112 §2.2: empty lines before a request are ignored. */
	while (at + 1 < scan && buf[at] == '\r' && buf[at + 1] == '\n') {
		at += 2;
	}
	if (!next_line(buf, scan, &at, &line)) {
		goto partial;
	}
	if ((rv = request_line(line, out, out_status, why)) != HTTPMSG_DONE) {
		return rv;
	}
	out->keep_alive = out->minor == 1;
	for (;;) {
		if (!next_line(buf, scan, &at, &line)) {
			goto partial;
		}
		if (line.len == 0) {
			break;
		}
		if ((rv = field_line(line, out, out_status, why)) !=
		    HTTPMSG_DONE) {
			return rv;
		}
	}
	if (out->minor == 1 && httpmsg_field(out, "Host") == NULL) {
		return bad(400, "an HTTP/1.1 request needs a Host header",
		           out_status, why);
	}
	out->head_len = at;
	return HTTPMSG_DONE;

partial:
	if (len >= head_max) {
		return bad(431,
		           "the request head is longer than this server "
		           "accepts (http_header_max)",
		           out_status, why);
	}
	/* Bytes that can never begin a request: refused before they pile
	 * up (a TLS hello sent to http://, say). */
	if (len > 0 && !is_tchar((unsigned char) buf[0]) && buf[0] != '\r') {
		return bad(400, "this is not an HTTP request", out_status, why);
	}
	return HTTPMSG_PARTIAL;
}
