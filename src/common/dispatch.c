/* gRPC path -> generated protobuf-c handler. */
#include "common/dispatch.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/quote.h"
#include "common/rpc_status.h"
#include "common/wirestr.h"
#include "hbmon/error.h"

int
rpc_method_find(const ProtobufCServiceDescriptor *desc, const char *path,
                unsigned *out_index)
{
	const ProtobufCMethodDescriptor *m;
	size_t service_len = strlen(desc->name);

	/* "/" service "/" method, service being the full name with package. */
	if (path == NULL || path[0] != '/' ||
	    strncmp(path + 1, desc->name, service_len) != 0 ||
	    path[1 + service_len] != '/') {
		return HBMON_ENOENT;
	}
	m = protobuf_c_service_descriptor_get_method_by_name(
	    desc, path + 2 + service_len);
	if (m == NULL) {
		return HBMON_ENOENT;
	}
	*out_index = (unsigned) (m - desc->methods);
	return HBMON_OK;
}

void
rpc_call_init(struct rpc_call *call, const Hbmon__V1__RpcRequest *request,
              void *user)
{
	memset(call, 0, sizeof(*call));
	call->request = request;
	call->user = user;
	call->code = RPC_OK;
}

void
rpc_call_fail(struct rpc_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	call->code = code;
	va_start(ap, fmt);
	vsnprintf(call->message, sizeof(call->message), fmt, ap);
	va_end(ap);
}

void
rpc_dispatch(ProtobufCService *service, struct rpc_call *call,
             ProtobufCClosure done)
{
	const ProtobufCServiceDescriptor *desc = service->descriptor;
	const Hbmon__V1__RpcRequest *req = call->request;
	/* The generated service struct is the base followed by one handler
	 * pointer per method, in descriptor order; protobuf-c's own
	 * protobuf_c_service_invoke_internal relies on the same layout but
	 * does not check for handlers left NULL. */
	typedef void (*handler_fn)(ProtobufCService *, const ProtobufCMessage *,
	                           ProtobufCClosure, void *);
	const handler_fn *handlers = (const handler_fn *) (service + 1);
	unsigned index;
	char q[QUOTE_NAME_SIZE];
	char why[sizeof(call->message) - 32];

	if (rpc_method_find(desc, req->method, &index) != HBMON_OK) {
		rpc_call_fail(call, RPC_UNIMPLEMENTED,
		              "method '%s' is not served here; this socket "
		              "serves /%s/*",
		              quote_str(q, sizeof(q), req->method), desc->name);
		done(NULL, call);
		return;
	}
	call->method = &desc->methods[index];
	if (handlers[index] == NULL) {
		rpc_call_fail(call, RPC_UNIMPLEMENTED,
		              "method '%s' is not implemented by this server",
		              quote_str(q, sizeof(q), req->method));
		done(NULL, call);
		return;
	}
	/* What protobuf-c does not check about strings (NUL, UTF-8),
	 * checked on the bytes before they are unpacked. */
	if (wirestr_check(call->method->input, req->payload.data,
	                  req->payload.len, why, sizeof(why)) == HBMON_EINVAL) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "payload field %s",
		              why);
		done(NULL, call);
		return;
	}
	call->input =
	    protobuf_c_message_unpack(call->method->input, call->allocator,
	                              req->payload.len, req->payload.data);
	if (call->input == NULL) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT,
		              "payload of %zu bytes does not decode as %s",
		              req->payload.len, call->method->input->name);
		done(NULL, call);
		return;
	}
	service->invoke(service, index, call->input, done, call);
}

void
rpc_call_release(struct rpc_call *call)
{
	if (call->input != NULL && call->allocator == NULL) {
		protobuf_c_message_free_unpacked(call->input, NULL);
	}
	call->input = NULL;
}
