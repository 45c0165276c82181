/*
 * What a robot sent, made safe to print: every string of a reply is
 * quoted (common/quote.h) before any verb looks at it, so an account named
 * "\x1b[2J\rok\nFAKE" cannot clear the owner's screen or draw a fake row,
 * whatever verb prints it and however (tables, lines, check, errors).
 * For --json only bytes that are not UTF-8 are escaped: jansson escapes
 * controls itself and refuses invalid UTF-8, which would drop the value.
 */
#include <stdlib.h>
#include <string.h>

#include "common/quote.h"
#include "common/utf8.h"
#include "hbctl.h"
#include "hbmon/error.h"

/* Replaces *p by its quoted copy when quoting changes it. */
static int
sanitize_string(const ProtobufCFieldDescriptor *f, char **p, unsigned flags)
{
	size_t n = *p != NULL ? strlen(*p) : 0;
	bool clean = (flags & QUOTE_VALID_ONLY)
	                 ? utf8_valid(*p, n, NULL)
	                 : !quote_find_unsafe(*p, n, NULL, NULL);
	size_t size;
	char *q;

	if (clean) {
		return HBMON_OK;
	}
	size = quote_size(*p, n, flags);
	if ((q = malloc(size)) == NULL) {
		return HBMON_ENOMEM;
	}
	quote_buf(q, size, *p, n, flags);
	/* protobuf-c frees a string unless it is the field's default. */
	if (*p != f->default_value) {
		free(*p);
	}
	*p = q;
	return HBMON_OK;
}

static int sanitize(ProtobufCMessage *m, unsigned flags);

static int
sanitize_member(const ProtobufCFieldDescriptor *f, void *member, unsigned flags)
{
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		return sanitize_string(f, member, flags);
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
	    *(ProtobufCMessage **) member != NULL) {
		return sanitize(*(ProtobufCMessage **) member, flags);
	}
	return HBMON_OK;
}

static int
sanitize(ProtobufCMessage *m, unsigned flags)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char *base = (char *) m;
	int rv = HBMON_OK;

	for (unsigned i = 0; i < d->n_fields && rv == HBMON_OK; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		void *member = base + f->offset;

		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *) (void *) (base + f->quantifier_offset) !=
		        f->id) {
			continue; /* another member of the oneof is set */
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
			    *(size_t *) (void *) (base + f->quantifier_offset);
			char *items = *(char **) member;
			size_t stride =
			    f->type == PROTOBUF_C_TYPE_STRING ||
			            f->type == PROTOBUF_C_TYPE_MESSAGE
			        ? sizeof(void *)
			        : 0;

			for (size_t k = 0;
			     stride > 0 && k < n && rv == HBMON_OK; k++) {
				rv = sanitize_member(f, items + k * stride,
				                     flags);
			}
		} else {
			rv = sanitize_member(f, member, flags);
		}
	}
	return rv;
}

int
hbctl_sanitize(ProtobufCMessage *m, bool json)
{
	return sanitize(m, json ? QUOTE_VALID_ONLY : QUOTE_UTF8);
}
