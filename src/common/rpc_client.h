/*
 * A blocking RPC client over nng REQ for hbmon's protobuf-c programs (hbctl,
 * notifiers, tests): packs and signs an RpcRequest, waits for the reply
 * with a timeout, unpacks the RpcResponse and its output. Robots use the
 * nanopb client library instead.
 */
#ifndef HBMON_COMMON_RPC_CLIENT_H
#define HBMON_COMMON_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/tlsconf.h"

struct rpc_client;

struct rpc_client_options {
	const char *url;      /* tcp://, ipc://, tls+tcp:// */
	const char *robot_id; /* "" or NULL: unsigned requests */
	const void *key;      /* secret bytes; NULL: unsigned */
	size_t key_len;
	int timeout_ms; /* per call; 0: 5000 */
	/* false: fail at open when nothing listens at url (hbctl wants to
	 * say "server not running" at once); true: keep dialling in the
	 * background and let calls wait up to their timeout. */
	bool background_dial;
	/* For a tls+tcp:// URL (ignored otherwise). */
	struct tlsconf_files tls;
};

/* A server's answer. */
struct rpc_status {
	int code;          /* gRPC code (rpc_code); 0 OK */
	char message[512]; /* the server's sentence, or ours for local errors */
};

/*
 * Opens a REQ socket to opts->url. out: closed with rpc_client_close.
 * why: on failure a sentence naming the URL ("cannot connect to
 * ipc:///x/admin.sock: connection refused; is hbmon-server running?").
 * Returns HBMON_OK, HBMON_EUNAVAIL (nothing listening), HBMON_EPERM (no
 * permission on an ipc socket), HBMON_EINVAL (bad URL, or TLS settings
 * that cannot be used: a missing CA file, a key that is not the
 * certificate's), HBMON_EAUTH (the TLS handshake failed: the server's
 * certificate is not signed by the CA given, or the server wants a client
 * certificate), or HBMON_ENOMEM. A TLS warning (a client certificate not
 * valid now) is written to stderr.
 */
int rpc_client_open(const struct rpc_client_options *opts,
                    struct rpc_client **out, char *why, size_t why_len);

/* Closes the socket. NULL is fine. */
void rpc_client_close(struct rpc_client *c);

/*
 * Calls method (a gRPC path) with input. On a reply, status holds its code
 * and message; when the code is 0 and output_type is not NULL, *output is
 * the decoded reply (free with protobuf_c_message_free_unpacked(o, NULL)),
 * otherwise NULL.
 * Returns HBMON_OK when a reply arrived (look at status->code),
 * HBMON_ETIMEDOUT (no reply in time; status->message says so),
 * HBMON_EUNAVAIL (the socket failed otherwise; status->message says how),
 * HBMON_EPROTO (the reply is not hbmon), HBMON_ENOMEM, or HBMON_ECLOSED.
 * Each call uses a fresh seq above every earlier one of this process (wall
 * ms * 1000 + counter). Thread-safe: calls are serialised.
 */
int rpc_client_call(struct rpc_client *c, const char *method,
                    const ProtobufCMessage *input,
                    const ProtobufCMessageDescriptor *output_type,
                    ProtobufCMessage **output, struct rpc_status *status);

/*
 * Sends raw bytes as a request and returns the raw reply (malloc'd,
 * caller frees) — for tests of malformed input. Returns as rpc_client_call.
 */
int rpc_client_call_raw(struct rpc_client *c, const void *req, size_t req_len,
                        uint8_t **reply, size_t *reply_len);

/*
 * Like rpc_client_call, with the envelope fields given by the caller
 * (seq, sent_at_ms), for tests of replay and clock checks.
 */
int rpc_client_call_with(struct rpc_client *c, const char *method,
                         const ProtobufCMessage *input, uint64_t seq,
                         int64_t sent_at_ms,
                         const ProtobufCMessageDescriptor *output_type,
                         ProtobufCMessage **output, struct rpc_status *status);

#endif
