/* gRPC status numbers: names and the mapping to hbmon_err. */
#include "common/rpc_status.h"

#include "hbmon/error.h"

static const char *const code_names[] = {
	[RPC_OK] = "OK",
	[RPC_CANCELLED] = "CANCELLED",
	[RPC_UNKNOWN] = "UNKNOWN",
	[RPC_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[RPC_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
	[RPC_NOT_FOUND] = "NOT_FOUND",
	[RPC_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[RPC_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[RPC_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[RPC_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[RPC_ABORTED] = "ABORTED",
	[RPC_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[RPC_UNIMPLEMENTED] = "UNIMPLEMENTED",
	[RPC_INTERNAL] = "INTERNAL",
	[RPC_UNAVAILABLE] = "UNAVAILABLE",
	[RPC_DATA_LOSS] = "DATA_LOSS",
	[RPC_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

const char *
rpc_code_name(int code)
{
	if (code < 0 || code > RPC_UNAUTHENTICATED) {
		return "UNKNOWN";
	}
	return code_names[code];
}

int
rpc_code_to_err(int code)
{
	switch (code) {
	case RPC_OK:
		return HBMON_OK;
	case RPC_INVALID_ARGUMENT:
	case RPC_FAILED_PRECONDITION:
		return HBMON_EINVAL;
	case RPC_DEADLINE_EXCEEDED:
		return HBMON_ETIMEDOUT;
	case RPC_NOT_FOUND:
		return HBMON_ENOENT;
	case RPC_ALREADY_EXISTS:
		return HBMON_EEXIST;
	case RPC_PERMISSION_DENIED:
		return HBMON_EPERM;
	case RPC_RESOURCE_EXHAUSTED:
		return HBMON_ENOMEM;
	case RPC_OUT_OF_RANGE:
		return HBMON_ERANGE;
	case RPC_UNAVAILABLE:
	case RPC_CANCELLED:
	case RPC_ABORTED:
		return HBMON_EUNAVAIL;
	case RPC_UNAUTHENTICATED:
		return HBMON_EAUTH;
	case RPC_UNIMPLEMENTED:
		return HBMON_EPROTO;
	default:
		return HBMON_EREMOTE;
	}
}

int
rpc_code_from_err(int err)
{
	switch (err) {
	case HBMON_OK:
		return RPC_OK;
	case HBMON_EINVAL:
		return RPC_INVALID_ARGUMENT;
	case HBMON_ENOMEM:
		return RPC_RESOURCE_EXHAUSTED;
	case HBMON_ENOENT:
		return RPC_NOT_FOUND;
	case HBMON_EEXIST:
		return RPC_ALREADY_EXISTS;
	case HBMON_ETIMEDOUT:
		return RPC_DEADLINE_EXCEEDED;
	case HBMON_EAUTH:
		return RPC_UNAUTHENTICATED;
	case HBMON_EPERM:
		return RPC_PERMISSION_DENIED;
	case HBMON_ERANGE:
		return RPC_OUT_OF_RANGE;
	case HBMON_ECLOSED:
	case HBMON_EUNAVAIL:
	case HBMON_EBUSY:
		return RPC_UNAVAILABLE;
	case HBMON_EPROTO:
		return RPC_INVALID_ARGUMENT;
	default:
		return RPC_INTERNAL;
	}
}
