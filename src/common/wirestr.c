/* A walk over an encoded message's string fields. */
#include "common/wirestr.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/quote.h"
#include "common/utf8.h"
#include "hbmon/error.h"

/* hbmon's messages nest three deep; a descriptor that recursed could not
 * take a peer deeper than this. */
#define DEPTH_MAX 32
/* Fields per message whose repeats are counted for the path; hbmon's
 * largest message has 21. */
#define COUNTED_MAX 64

enum wire_type {
	WIRE_VARINT = 0,
	WIRE_64BIT = 1,
	WIRE_LEN = 2,
	WIRE_32BIT = 5,
};

struct walk {
	char path[256]; /* "accounts[3].account", as far as it fits */
	size_t path_len;
	char *why;
	size_t why_len;
};

static bool
read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (*pos >= len) {
			return false;
		}
		b = buf[(*pos)++];
		v |= (uint64_t) (b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*out = v;
			return true;
		}
	}
	return false; /* more than ten bytes */
}

static int
malformed(struct walk *w)
{
	if (w->why != NULL && w->why_len > 0) {
		snprintf(w->why, w->why_len,
		         "the message does not decode near %s",
		         w->path_len > 0 ? w->path : "its start");
	}
	return HBMON_EPROTO;
}

/* Appends ".name" or ".name[i]" to the path; returns the old length. */
static size_t
path_push(struct walk *w, const char *name, bool repeated, uint32_t index)
{
	size_t old = w->path_len;
	int n;

	if (repeated) {
		n = snprintf(w->path + old, sizeof(w->path) - old, "%s%s[%u]",
		             old > 0 ? "." : "", name, (unsigned) index);
	} else {
		n = snprintf(w->path + old, sizeof(w->path) - old, "%s%s",
		             old > 0 ? "." : "", name);
	}
	if (n > 0) {
		w->path_len += (size_t) n < sizeof(w->path) - old
		                   ? (size_t) n
		                   : sizeof(w->path) - old - 1;
	}
	return old;
}

static void
path_pop(struct walk *w, size_t old)
{
	w->path_len = old;
	w->path[old] = '\0';
}

static int
check_string(struct walk *w, const uint8_t *s, size_t n)
{
	char q[QUOTE_NAME_SIZE];
	const uint8_t *nul = memchr(s, '\0', n);
	size_t bad = 0;

	if (nul != NULL) {
		quote_buf(q, sizeof(q), s, n, QUOTE_UTF8);
		snprintf(
		    w->why, w->why_len,
		    "%s '%s' holds a NUL byte (byte %zu); hbmon strings may "
		    "not contain NUL",
		    w->path, q, (size_t) (nul - s));
		return HBMON_EINVAL;
	}
	if (!utf8_valid(s, n, &bad)) {
		quote_buf(q, sizeof(q), s, n, QUOTE_UTF8);
		snprintf(w->why, w->why_len,
		         "%s '%s' is not valid UTF-8 (byte %zu is 0x%02x); "
		         "proto3 strings must be UTF-8",
		         w->path, q, bad, (unsigned) s[bad]);
		return HBMON_EINVAL;
	}
	return HBMON_OK;
}

static int
walk_message(struct walk *w, const ProtobufCMessageDescriptor *desc,
             const uint8_t *buf, size_t len, int depth)
{
	uint32_t counted[COUNTED_MAX] = { 0 };
	size_t pos = 0;

	if (depth > DEPTH_MAX) {
		return malformed(w);
	}
	while (pos < len) {
		const ProtobufCFieldDescriptor *f;
		uint64_t tag, n;
		uint32_t index = 0;
		size_t old;
		int rv;

		if (!read_varint(buf, len, &pos, &tag) || tag >> 3 == 0 ||
		    tag >> 3 > UINT32_MAX) {
			return malformed(w);
		}
		switch ((int) (tag & 7)) {
		case WIRE_VARINT:
			if (!read_varint(buf, len, &pos, &n)) {
				return malformed(w);
			}
			continue;
		case WIRE_64BIT:
			if (len - pos < 8) {
				return malformed(w);
			}
			pos += 8;
			continue;
		case WIRE_32BIT:
			if (len - pos < 4) {
				return malformed(w);
			}
			pos += 4;
			continue;
		case WIRE_LEN:
			if (!read_varint(buf, len, &pos, &n) || n > len - pos) {
				return malformed(w);
			}
			break;
		default:
			/* Groups (3, 4) and 6, 7: protobuf-c refuses them too.
			 */
			return malformed(w);
		}
		f = protobuf_c_message_descriptor_get_field(
		    desc, (unsigned) (tag >> 3));
		if (f == NULL || (f->type != PROTOBUF_C_TYPE_STRING &&
		                  f->type != PROTOBUF_C_TYPE_MESSAGE)) {
			pos += (size_t) n;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t k = (size_t) (f - desc->fields);
			if (k < COUNTED_MAX) {
				index = counted[k]++;
			}
		}
		old = path_push(w, f->name,
		                f->label == PROTOBUF_C_LABEL_REPEATED, index);
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			rv = check_string(w, buf + pos, (size_t) n);
		} else {
			rv = walk_message(w, f->descriptor, buf + pos,
			                  (size_t) n, depth + 1);
		}
		if (rv != HBMON_OK) {
			return rv;
		}
		path_pop(w, old);
		pos += (size_t) n;
	}
	return HBMON_OK;
}

int
wirestr_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
              size_t len, char *why, size_t why_len)
{
	struct walk w;
	char scratch[1];

	w.path[0] = '\0';
	w.path_len = 0;
	/* Sentences are always written somewhere, so no check needs a NULL
	 * test; without a caller's buffer they go nowhere. */
	w.why = why != NULL && why_len > 0 ? why : scratch;
	w.why_len = why != NULL && why_len > 0 ? why_len : sizeof(scratch);
	if (len > 0 && buf == NULL) {
		return malformed(&w);
	}
	return walk_message(&w, desc, buf, len, 0);
}
