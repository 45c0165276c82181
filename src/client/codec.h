/*
 * nanopb encoding of heartbeats and the RpcRequest envelope into the
 * client's fixed buffers, and streaming decoding of RpcResponse replies
 * straight into hbmon_result slots. Nothing here allocates.
 */
#ifndef HBMON_CLIENT_CODEC_H
#define HBMON_CLIENT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pb_decode.h>

#include "common/sign.h"
#include "hbmon/client.h"

/* Room for an RFC 3339 timestamp (nanopb's field holds 40 bytes). */
#define CLIENT_TS_MAX 40

/* Encoded size bounds, from the .options max_size values. */
#define CLIENT_ROBOT_HB_MAX   96  /* RobotHeartbeat + tag and length */
#define CLIENT_ACCOUNT_HB_MAX 160 /* AccountHeartbeat + tag and length */
#define CLIENT_ENVELOPE_MAX   256 /* RpcRequest without its payload */

/* The Monitor methods a robot calls. */
enum client_method {
	CLIENT_REPORT_ROBOT,
	CLIENT_REPORT_ACCOUNT,
	CLIENT_REPORT_BATCH,
};

/* gRPC path of a method, e.g. "/hbmon.v1.Monitor/ReportRobot". */
const char *client_method_path(enum client_method m);

/* An account as automatic mode keeps it. */
struct client_account {
	char name[HBMON_NAME_MAX + 1];
	hbmon_account_status status;
	bool session_valid;
	uint32_t open_orders;
};

/*
 * The heartbeats of one request: a robot heartbeat or not, and accounts
 * from the caller's array (synchronous calls) or from a table snapshot
 * (automatic mode), all with one timestamp.
 */
struct client_items {
	bool has_robot;
	hbmon_robot_state robot;
	const hbmon_account_state *accounts; /* or table; one is NULL */
	const struct client_account *table;
	size_t n_accounts;
	char timestamp[CLIENT_TS_MAX];
};

/* The envelope fields of one request. */
struct client_envelope {
	const char *method;
	const char *robot_id;
	uint64_t seq;
	int64_t sent_at_ms;
	bool signed_;
	uint8_t signature[SIGN_LEN];
	uint32_t timeout_ms;
};

/* Account i of items, as name/status/session/orders. */
void client_items_account(const struct client_items *it, size_t i,
                          const char **name, hbmon_account_status *status,
                          bool *session_valid, uint32_t *open_orders);

/*
 * Encodes the method's input message for items into buf (cap bytes).
 * Returns HBMON_OK with *out_len set, or HBMON_ENOMEM when it does not fit.
 */
int client_encode_payload(enum client_method m, const struct client_items *it,
                          uint8_t *buf, size_t cap, size_t *out_len);

/*
 * Encodes the RpcRequest for env around payload into buf (cap bytes).
 * Returns HBMON_OK with *out_len set, or HBMON_ENOMEM.
 */
int client_encode_request(const struct client_envelope *env,
                          const uint8_t *payload, size_t payload_len,
                          uint8_t *buf, size_t cap, size_t *out_len);

/* Where a reply's parts go while it is decoded. */
struct client_reply {
	enum client_method method;
	int code;                        /* RpcResponse.code */
	char message[HBMON_MESSAGE_MAX]; /* RpcResponse.message */
	bool has_payload;
	/* ReportResult of ReportRobot/ReportAccount, or BatchReply.robot. */
	hbmon_result *single;
	bool got_single;
	/* BatchReply.accounts, in order; NULL to keep only the counts. */
	hbmon_result *accounts;
	size_t accounts_cap;
	size_t n_accounts; /* results that came */
	size_t n_rejected; /* of which code != 0 (robot's included) */
	hbmon_result first_rejected;
};

/*
 * Decodes an RpcResponse from is into r (set method, single, accounts and
 * accounts_cap before). Returns what pb_decode returns.
 */
bool client_decode_reply(pb_istream_t *is, struct client_reply *r);

/*
 * Formats one heartbeat of items as the seed's JSON into buf: index -1 is
 * the robot heartbeat, 0.. the accounts. Always NUL-terminates.
 */
void client_trace_json(const struct client_items *it, long index, char *buf,
                       size_t len);

#endif
