/*
 * A recorded request's heartbeats, decoded (store.h: struct
 * store_request). The payload is kept as the robot sent it, in the shape
 * of its Monitor method (enum store_request_kind); this is the one place
 * that knows those shapes, for the recorder's replay at start-up and the
 * store's history reads.
 */
#ifndef HBMON_SERVER_STORED_REQUEST_H
#define HBMON_SERVER_STORED_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "hbmon/v1/heartbeat.pb-c.h"
#include "server/store.h"

struct stored_request {
	/* The robot's heartbeat, or NULL when the request held none. */
	const Hbmon__V1__RobotHeartbeat *robot;
	/* The account heartbeats, in the order they were sent. */
	Hbmon__V1__AccountHeartbeat *const *accounts;
	size_t n_accounts;
	/* What holds them (free with stored_request_free). */
	ProtobufCMessage *message;
	Hbmon__V1__AccountHeartbeat *one_account; /* accounts' storage */
};

/*
 * Whether a request of this kind can hold a robot heartbeat (robot true)
 * or an account heartbeat (robot false): a read for one subject need not
 * decode the others. Thread-safe.
 */
bool stored_request_can_hold(int kind, bool robot);

/*
 * Decodes r's payload into out. On success out owns heap memory that
 * stored_request_free releases; on failure out holds nothing. Returns
 * HBMON_OK, or HBMON_EINVAL when the payload does not decode as its kind
 * says (or the kind is unknown; protobuf-c also fails this way without
 * memory). Thread-safe.
 */
int stored_request_decode(const struct store_request *r,
                          struct stored_request *out);

/* Frees what stored_request_decode kept in d. A zeroed d is fine. */
void stored_request_free(struct stored_request *d);

#endif
