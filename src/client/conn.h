/*
 * One SP REQ connection to hbmon-server, spoken directly over an nng byte
 * stream (tcp://, ipc://, tls+tcp://).
 *
 * Why not an nng REQ socket: nng 1.5 allocates an nng_msg for every send
 * and every receive (7 heap allocations per round trip, measured), and the
 * library promises none per heartbeat. The SP wire format a REP socket
 * expects is small and stable (the RFC-style "SP over TCP/IPC" mapping
 * nng and nanomsg share): an 8-byte handshake, then length-prefixed
 * messages whose first 4 bytes are the request id with its top bit set.
 * nng's stream API moves the bytes, times out and cancels without
 * allocating once connected, so the send path touches the heap only when
 * it has to (re)connect.
 *
 * One request is in flight at a time; the caller serialises. Not
 * thread-safe except client_conn_cancel and client_conn_abort.
 */
#ifndef HBMON_CLIENT_CONN_H
#define HBMON_CLIENT_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <pb_decode.h>

/*
 * Bytes reserved in front of a request body for the frame head: ipc's
 * message type byte, the 64-bit length and the 32-bit request id.
 */
#define CLIENT_FRAME_HEAD 13

/* Largest reply accepted; anything bigger is not from an hbmon server. */
#define CLIENT_REPLY_MAX (64u * 1024 * 1024)

struct client_conn {
	nng_stream_dialer *dialer;
	nng_stream *stream;  /* NULL when not connected */
	nng_aio *aio;        /* every operation, one at a time */
	bool ipc;            /* ipc frames carry a type byte */
	atomic_bool aborted; /* client_conn_abort was called */
	uint32_t next_id;    /* request id, top bit set on the wire */
	const char *url;     /* for messages; owned by the client */

	/* Reply reader: a frame's bytes through a small buffer. */
	int64_t deadline_ms; /* monotonic */
	uint64_t frame_left; /* bytes of the current frame not yet read */
	int read_err;        /* hbmon_err of the first failed read */
	size_t rpos, rlen;
	uint8_t rbuf[4096];
	char why[160]; /* reason for the last failure */
};

/*
 * Prepares cn for url (not copied: it must outlive cn). Allocates the nng
 * dialer and aio; connects nothing. Returns HBMON_OK, HBMON_EINVAL (a URL
 * nng cannot dial; cn->why says why) or HBMON_ENOMEM. On failure cn holds
 * nothing to release.
 */
int client_conn_init(struct client_conn *cn, const char *url);

/* Releases what client_conn_init allocated. A zeroed cn is fine. */
void client_conn_fini(struct client_conn *cn);

/*
 * Applies TLS settings to the dialer (tls+tcp:// only); see
 * hbmon_client_set_tls. Returns HBMON_OK, HBMON_EINVAL, HBMON_EIO or
 * HBMON_ENOMEM with cn->why set.
 */
int client_conn_set_tls(struct client_conn *cn, const char *ca_file,
                        const char *cert_key_file, const char *server_name);

/* Whether a connection is up (it may still turn out dead on use). */
bool client_conn_connected(const struct client_conn *cn);

/*
 * Connects and exchanges SP handshakes if not connected, by deadline_ms
 * (monotonic). Returns HBMON_OK, HBMON_EUNAVAIL, HBMON_ETIMEDOUT,
 * HBMON_EPROTO (the peer is not a REP socket), HBMON_EAUTH (TLS peer
 * verification failed), HBMON_ECLOSED (aborted) or HBMON_ENOMEM, with
 * cn->why set.
 */
int client_conn_connect(struct client_conn *cn, int64_t deadline_ms);

/*
 * Sends one request. frame holds CLIENT_FRAME_HEAD spare bytes followed by
 * body_len bytes of body; the head is written here. out_id: the request
 * id to expect back. Errors as client_conn_connect; on any error the
 * connection is dropped.
 */
int client_conn_send(struct client_conn *cn, uint8_t *frame, size_t body_len,
                     int64_t deadline_ms, uint32_t *out_id);

/*
 * Waits for the reply to request id (replies to other ids are skipped) and
 * prepares *out to read its body, which must be read with pb_decode and
 * then finished with client_conn_reply_end. Errors as client_conn_connect;
 * on any error the connection is dropped.
 */
int client_conn_reply_begin(struct client_conn *cn, uint32_t id,
                            int64_t deadline_ms, pb_istream_t *out);

/*
 * Skips what the decoder left of the reply. decode_ok: what pb_decode
 * returned. Returns HBMON_OK; the read error if reading failed; or
 * HBMON_EPROTO when the bytes did not decode. On error the connection is
 * dropped.
 */
int client_conn_reply_end(struct client_conn *cn, bool decode_ok);

/* Closes the connection (the next call reconnects). */
void client_conn_drop(struct client_conn *cn);

/*
 * Cancels the operation in flight, if any; the caller's next operation
 * works normally. Thread-safe.
 */
void client_conn_cancel(struct client_conn *cn);

/*
 * Cancels the operation in flight and makes every later one fail with
 * HBMON_ECLOSED; waits until the one in flight has returned. Thread-safe.
 */
void client_conn_abort(struct client_conn *cn);

#endif
