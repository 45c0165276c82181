/*
 * libFuzzer target: what any peer can send as the head of an HTTP
 * request to hbmon-server's HTTP listener, through its parser
 * (server/httpmsg.c). The first byte chooses http_header_max (64 bytes
 * to 8 KiB); the rest is the stream, parsed as http.c does: at every
 * length it has received so far. Checked on the way: a complete head
 * lies within what arrived and within the limit, every span lies within
 * the head, a refusal has a status and a sentence, and a head once
 * complete stays complete (with the same length) as more bytes arrive.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/httpmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() is compiled out of the fuzz build (RelWithDebInfo): these stay. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			abort();                                               \
		}                                                              \
	} while (0)

static void
check_span(struct httpmsg_span s, const char *buf, size_t head_len)
{
	CHECK(s.p >= buf && s.p + s.len <= buf + head_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct httpmsg m;
	size_t head_max, done_len = 0;
	const char *buf;

	if (size < 1) {
		return 0;
	}
	head_max = 64 + (size_t) data[0] * 32;
	buf = (const char *) data + 1;
	size--;
	for (size_t len = 0; len <= size; len++) {
		int status = 0;
		const char *why = NULL;
		enum httpmsg_result r =
		    httpmsg_parse(buf, len, head_max, &m, &status, &why);

		if (r == HTTPMSG_BAD) {
			CHECK(status >= 400 && status < 600);
			CHECK(why != NULL && why[0] != '\0');
			CHECK(done_len == 0);
			break;
		}
		if (r == HTTPMSG_PARTIAL) {
			CHECK(done_len == 0);
			continue;
		}
		CHECK(m.head_len <= len && m.head_len <= head_max);
		CHECK(done_len == 0 || m.head_len == done_len);
		done_len = m.head_len;
		CHECK(m.n_fields <= HTTPMSG_FIELDS_MAX);
		check_span(m.method, buf, m.head_len);
		check_span(m.target, buf, m.head_len);
		CHECK(m.method.len > 0 && m.target.len > 0);
		CHECK(m.target.p[0] == '/');
		for (size_t i = 0; i < m.n_fields; i++) {
			check_span(m.fields[i].name, buf, m.head_len);
			check_span(m.fields[i].value, buf, m.head_len);
		}
		/* Once whole, more bytes (a body) do not change it; checking
		 * every later length costs too much, the last one will do. */
		len = len < size ? size - 1 : len;
	}
	return 0;
}
