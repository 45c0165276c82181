/*
 * gRPC status numbers as carried in RpcResponse.code (SPEC §2.2). They
 * exist only on the wire: code inside a process uses hbmon_err, and these
 * functions map between the two at the boundary.
 */
#ifndef HBMON_COMMON_RPC_STATUS_H
#define HBMON_COMMON_RPC_STATUS_H

enum rpc_code {
	RPC_OK = 0,
	RPC_CANCELLED = 1,
	RPC_UNKNOWN = 2,
	RPC_INVALID_ARGUMENT = 3,
	RPC_DEADLINE_EXCEEDED = 4,
	RPC_NOT_FOUND = 5,
	RPC_ALREADY_EXISTS = 6,
	RPC_PERMISSION_DENIED = 7,
	RPC_RESOURCE_EXHAUSTED = 8,
	RPC_FAILED_PRECONDITION = 9,
	RPC_ABORTED = 10,
	RPC_OUT_OF_RANGE = 11,
	RPC_UNIMPLEMENTED = 12,
	RPC_INTERNAL = 13,
	RPC_UNAVAILABLE = 14,
	RPC_DATA_LOSS = 15,
	RPC_UNAUTHENTICATED = 16,
};

/*
 * The gRPC name of a code, e.g. "INVALID_ARGUMENT"; "UNKNOWN" for numbers
 * outside 0..16. Static string, thread-safe.
 */
const char *rpc_code_name(int code);

/* The hbmon_err that best describes a wire code (RPC_OK -> HBMON_OK). */
int rpc_code_to_err(int code);

/* The wire code for an hbmon_err (HBMON_OK -> RPC_OK). */
int rpc_code_from_err(int err);

#endif
