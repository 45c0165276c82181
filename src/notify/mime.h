/*
 * The parts of an e-mail that must not let alert text escape into the
 * message's structure: header values as RFC 2047 encoded words (no CR or
 * LF can survive into a header), bodies as quoted-printable (RFC 2045, CRLF
 * line ends, no line starting with '.'), and addresses checked before use.
 */
#ifndef HBMON_NOTIFY_MIME_H
#define HBMON_NOTIFY_MIME_H

#include <stdbool.h>

#include "common/strbuf.h"

/*
 * Appends text as a header value: as it is when it is printable ASCII,
 * otherwise as UTF-8 "B" encoded words, folded with CRLF + space between
 * them. Control characters never appear raw in the result.
 */
void mime_header_value(const char *text, struct strbuf *out);

/* Appends text ("\n" line ends) as a quoted-printable body. */
void mime_quoted_printable(const char *text, struct strbuf *out);

/*
 * Whether addr is an address hbmon-notify will put in a header and an
 * SMTP command: local@domain of printable ASCII without spaces, quotes,
 * angle brackets, commas or control characters.
 */
bool mime_address_ok(const char *addr);

#endif
