/*
 * Method dispatch through the protobuf-c service descriptors generated from
 * the `service` blocks in proto/: no hand-kept method table. A server fills
 * the generated service struct (e.g. Hbmon__V1__Monitor_Service) with its
 * handlers; dispatch finds the method by its gRPC path, decodes the payload
 * with the method's input type and calls the handler.
 *
 * Handlers have protobuf-c's generated signature
 *   void h(Service *svc, const Input *in, OutputClosure done, void *data)
 * and `data` is always the struct rpc_call of the request. A handler sets
 * the call's status with rpc_call_fail() when it fails and calls
 * done(output, data) exactly once — at once or later from another thread
 * (e.g. after the database committed). The input stays valid until
 * rpc_call_release().
 */
#ifndef HBMON_COMMON_DISPATCH_H
#define HBMON_COMMON_DISPATCH_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "hbmon/v1/rpc.pb-c.h"

/* One request on its way through a handler. */
struct rpc_call {
	const Hbmon__V1__RpcRequest *request;    /* the envelope; caller owns */
	const ProtobufCMethodDescriptor *method; /* set by rpc_dispatch */
	/* The decoded payload; freed by rpc_call_release. */
	ProtobufCMessage *input;
	/* Where input is allocated (set after rpc_call_init; NULL: malloc).
	 * With an allocator that frees as a whole (an arena), release leaves
	 * the freeing to its owner. */
	ProtobufCAllocator *allocator;
	int code;          /* gRPC status of the reply (rpc_code) */
	char message[512]; /* the reply's sentence */
	void *user;        /* the caller's per-request state */
};

/*
 * Finds the method a gRPC path ("/hbmon.v1.Monitor/ReportRobot") names in
 * desc. out_index: the method's index in desc->methods. Returns HBMON_OK
 * or HBMON_ENOENT (another service, no such method, or not a path).
 * Thread-safe.
 */
int rpc_method_find(const ProtobufCServiceDescriptor *desc, const char *path,
                    unsigned *out_index);

/*
 * Prepares call for request: clears status, keeps a pointer to request
 * (which must outlive the call) and user.
 */
void rpc_call_init(struct rpc_call *call, const Hbmon__V1__RpcRequest *request,
                   void *user);

/*
 * Routes call->request to service's handler. When the method is unknown
 * (UNIMPLEMENTED), the service leaves it unset (UNIMPLEMENTED), a string
 * of the payload holds NUL or is not UTF-8 (INVALID_ARGUMENT, wirestr.h),
 * or the payload does not decode as its input (INVALID_ARGUMENT),
 * done(NULL, call) is called before returning with the status and a
 * sentence in call; a name from the request is quoted in it (quote.h).
 * Otherwise the handler calls done itself, now or later.
 */
void rpc_dispatch(ProtobufCService *service, struct rpc_call *call,
                  ProtobufCClosure done);

/*
 * Sets the call's status: code (an rpc_code) and a printf-style sentence.
 * Thread-safe with respect to other calls.
 */
void rpc_call_fail(struct rpc_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees the decoded input. A released or fresh call is fine. */
void rpc_call_release(struct rpc_call *call);

#endif
