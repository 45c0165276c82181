/*
 * The string fields of an encoded protobuf message, checked on the wire.
 *
 * protobuf-c 1.4.1 (Debian bookworm's) unpacks a string field into a
 * NUL-terminated char * and drops its length, and it does not check UTF-8
 * (protobuf-c.c parse_required_member: memcpy, then a NUL). So a robot id
 * "R1\0evil" reaches C code as "R1", an account "NUL_A\0B" as "NUL_A", and
 * a method "/hbmon.v1.Monitor/ReportRobot\0junk" as ReportRobot: one name
 * aliases another. Only the encoded bytes still know the real length, so
 * the check is made there: wirestr_check walks the message by its
 * descriptor, into sub-messages, and looks at every string field's bytes.
 */
#ifndef HBMON_COMMON_WIRESTR_H
#define HBMON_COMMON_WIRESTR_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Checks that every string field of the desc message encoded in
 * buf[0..len), at any depth, is valid UTF-8 (utf8.h) and holds no NUL.
 * Fields desc does not know are skipped, as protobuf-c keeps them aside.
 * why: on failure a sentence that names the field by its path, quotes
 * its value and says what is wrong, e.g.
 *   accounts[1].account 'NUL_A\x00B' holds a NUL byte (byte 5); ...
 * Returns HBMON_OK; HBMON_EINVAL for a bad string; HBMON_EPROTO when
 * buf is not a well-formed message (a run after a successful unpack never
 * sees that). Reads buf only; no allocation; thread-safe.
 */
int wirestr_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                  size_t len, char *why, size_t why_len);

#endif
