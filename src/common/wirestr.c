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
/* Fields per message whose repeats are counted for the path (one bit each
 * in a uint64_t); hbmon's largest message has 21. */
#define COUNTED_MAX 64

enum wire_type {
	WIRE_VARINT = 0,
	WIRE_64BIT = 1,
	WIRE_LEN = 2,
	WIRE_32BIT = 5,
};

/* The field being looked at, one per level of nesting. */
struct step {
	const ProtobufCFieldDescriptor *field;
	uint32_t index; /* its occurrence, for a repeated field */
};

struct walk {
	/* Kept as steps and written out ("accounts[3].account") only for a
	 * sentence: on the hot path, a walk that finds nothing formats
	 * nothing. */
	struct step path[DEPTH_MAX];
	int depth;
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

/* Writes the path of w into buf ("" at the top level). */
static void
path_text(const struct walk *w, char *buf, size_t buf_len)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < w->depth && len + 1 < buf_len; i++) {
		const ProtobufCFieldDescriptor *f = w->path[i].field;
		int n;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = snprintf(buf + len, buf_len - len, "%s%s[%u]",
			             i > 0 ? "." : "", f->name,
			             (unsigned) w->path[i].index);
		} else {
			n = snprintf(buf + len, buf_len - len, "%s%s",
			             i > 0 ? "." : "", f->name);
		}
		if (n < 0) {
			break;
		}
		len +=
		    (size_t) n < buf_len - len ? (size_t) n : buf_len - len - 1;
	}
}

static int
malformed(struct walk *w)
{
	char path[256];

	path_text(w, path, sizeof(path));
	snprintf(w->why, w->why_len, "the message does not decode near %s",
	         path[0] != '\0' ? path : "its start");
	return HBMON_EPROTO;
}

/*
 * Whether s[0..n) is all ASCII without NUL, the usual case, eight bytes
 * at a time (a batch of 5,000 accounts holds 15,000 strings).
 */
static bool
plain_ascii(const uint8_t *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, s + i, sizeof(v));
		/* A byte >= 0x80, or a zero byte (the classic haszero). */
		if ((v & highs) != 0 || ((v - ones) & ~v & highs) != 0) {
			return false;
		}
	}
	for (; i < n; i++) {
		if (s[i] == 0 || s[i] >= 0x80) {
			return false;
		}
	}
	return true;
}

static int
check_string(struct walk *w, const uint8_t *s, size_t n)
{
	char q[QUOTE_NAME_SIZE], path[256];
	const uint8_t *nul;
	size_t bad = 0;

	if (plain_ascii(s, n)) {
		return HBMON_OK;
	}
	nul = memchr(s, '\0', n);
	if (nul == NULL && utf8_valid(s, n, &bad)) {
		return HBMON_OK;
	}
	quote_buf(q, sizeof(q), s, n, QUOTE_UTF8);
	path_text(w, path, sizeof(path));
	if (nul != NULL) {
		snprintf(w->why, w->why_len,
		         "%s '%s' holds a NUL byte (byte %zu); hbmon strings "
		         "may not contain NUL",
		         path, q, (size_t) (nul - s));
	} else {
		snprintf(w->why, w->why_len,
		         "%s '%s' is not valid UTF-8 (byte %zu is 0x%02x); "
		         "proto3 strings must be UTF-8",
		         path, q, bad, (unsigned) s[bad]);
	}
	return HBMON_EINVAL;
}

static int
walk_message(struct walk *w, const ProtobufCMessageDescriptor *desc,
             const uint8_t *buf, size_t len)
{
	/* Repeats of each field so far; counted[k] is valid once bit k of
	 * started is set, so a message with no repeated field (most) clears
	 * nothing. */
	uint32_t counted[COUNTED_MAX];
	uint64_t started = 0;
	size_t pos = 0;

	if (w->depth >= DEPTH_MAX) {
		return malformed(w);
	}
	while (pos < len) {
		const ProtobufCFieldDescriptor *f;
		uint64_t tag, n;
		uint32_t index = 0;
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
			/* Groups (3, 4), and 6 and 7: protobuf-c refuses
			 * them too. */
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
				if ((started & (UINT64_C(1) << k)) == 0) {
					started |= UINT64_C(1) << k;
					counted[k] = 0;
				}
				index = counted[k]++;
			}
		}
		w->path[w->depth].field = f;
		w->path[w->depth].index = index;
		w->depth++;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			rv = check_string(w, buf + pos, (size_t) n);
		} else {
			rv = walk_message(w, f->descriptor, buf + pos,
			                  (size_t) n);
		}
		if (rv != HBMON_OK) {
			return rv;
		}
		w->depth--;
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

	w.depth = 0;
	/* Sentences are always written somewhere, so no check needs a NULL
	 * test; without a caller's buffer they go nowhere. */
	w.why = why != NULL && why_len > 0 ? why : scratch;
	w.why_len = why != NULL && why_len > 0 ? why_len : sizeof(scratch);
	if (len > 0 && buf == NULL) {
		return malformed(&w);
	}
	return walk_message(&w, desc, buf, len);
}
