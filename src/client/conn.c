/* SP REQ framing over an nng byte stream; see conn.h for why. */
#include "client/conn.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/nngerr.h"
#include "hbmon/error.h"

/* SP protocol numbers (nng's NNG_REQ0_SELF / NNG_REP0_SELF). */
#define SP_REQ0 0x30
#define SP_REP0 0x31

/* How a failed nng operation reads in hbmon's words. */
static int
map_nng(struct client_conn *cn, int rv)
{
	int err = nngerr_map(rv, NNGERR_IO);

	/* Our own cancel or abort ends an operation with ECANCELED or
	 * ECLOSED; without one, those codes mean the connection went away
	 * (a peer that hangs up mostly shows as ECONNSHUT or ECONNRESET). */
	return err == HBMON_ECLOSED && !cn->aborted ? HBMON_EUNAVAIL : err;
}

static int
fail(struct client_conn *cn, int err, const char *what, int nng_rv)
{
	if (err == HBMON_ETIMEDOUT) {
		snprintf(cn->why, sizeof(cn->why),
		         "no answer from %s in time (%s)", cn->url, what);
	} else if (err == HBMON_ECLOSED) {
		snprintf(cn->why, sizeof(cn->why), "the client is closing");
	} else if (nng_rv != 0) {
		snprintf(cn->why, sizeof(cn->why), "%s %s: %s", what, cn->url,
		         nng_strerror(nng_rv));
	} else {
		snprintf(cn->why, sizeof(cn->why), "%s %s", what, cn->url);
	}
	return err;
}

int
client_conn_init(struct client_conn *cn, const char *url)
{
	int rv;

	memset(cn, 0, sizeof(*cn));
	cn->url = url;
	cn->ipc = strncmp(url, "ipc://", 6) == 0;
	if ((rv = nng_stream_dialer_alloc(&cn->dialer, url)) != 0) {
		snprintf(
		    cn->why, sizeof(cn->why),
		    "cannot use server URL '%s': %s (expected tcp://host:port, "
		    "ipc:///path or tls+tcp://host:port)",
		    url, nng_strerror(rv));
		cn->dialer = NULL;
		return rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EINVAL;
	}
	if ((rv = nng_aio_alloc(&cn->aio, NULL, NULL)) != 0) {
		nng_stream_dialer_free(cn->dialer);
		cn->dialer = NULL;
		return HBMON_ENOMEM;
	}
	return HBMON_OK;
}

void
client_conn_fini(struct client_conn *cn)
{
	if (cn->aio != NULL) {
		nng_aio_stop(cn->aio);
	}
	client_conn_drop(cn);
	if (cn->dialer != NULL) {
		nng_stream_dialer_close(cn->dialer);
		nng_stream_dialer_free(cn->dialer);
		cn->dialer = NULL;
	}
	if (cn->aio != NULL) {
		nng_aio_free(cn->aio);
		cn->aio = NULL;
	}
}

int
client_conn_set_tls(struct client_conn *cn, const char *ca_file,
                    const char *cert_key_file, const char *server_name)
{
	int rv;

	if (strncmp(cn->url, "tls+tcp://", 10) != 0 || ca_file == NULL) {
		snprintf(cn->why, sizeof(cn->why),
		         "TLS settings need a tls+tcp:// URL and a CA file");
		return HBMON_EINVAL;
	}
	rv = nng_stream_dialer_set_string(cn->dialer, NNG_OPT_TLS_CA_FILE,
	                                  ca_file);
	if (rv == 0 && cert_key_file != NULL) {
		rv = nng_stream_dialer_set_string(
		    cn->dialer, NNG_OPT_TLS_CERT_KEY_FILE, cert_key_file);
	}
	if (rv == 0 && server_name != NULL) {
		rv = nng_stream_dialer_set_string(
		    cn->dialer, NNG_OPT_TLS_SERVER_NAME, server_name);
	}
	if (rv != 0) {
		snprintf(cn->why, sizeof(cn->why), "TLS settings: %s",
		         nng_strerror(rv));
		return rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EIO;
	}
	return HBMON_OK;
}

bool
client_conn_connected(const struct client_conn *cn)
{
	return cn->stream != NULL;
}

void
client_conn_drop(struct client_conn *cn)
{
	if (cn->stream != NULL) {
		nng_stream_close(cn->stream);
		nng_stream_free(cn->stream);
		cn->stream = NULL;
	}
}

void
client_conn_cancel(struct client_conn *cn)
{
	nng_aio_cancel(cn->aio);
}

void
client_conn_abort(struct client_conn *cn)
{
	cn->aborted = true;
	/* nng_aio_stop also makes every later operation on the aio fail at
	 * once, so a caller that was between two operations cannot start a
	 * new wait after this. */
	nng_aio_stop(cn->aio);
}

/* Milliseconds left until deadline_ms, or 0 when it has passed. */
static nng_duration
remaining(int64_t deadline_ms)
{
	int64_t left = deadline_ms - clock_mono_ms();
	return left > 0 ? (nng_duration) left : 0;
}

/*
 * Moves exactly len bytes to (send) or from the stream by deadline_ms.
 * Returns 0 or the nng error.
 */
static int
xfer(struct client_conn *cn, bool send, uint8_t *buf, size_t len,
     int64_t deadline_ms)
{
	while (len > 0) {
		nng_iov iov = { .iov_buf = buf, .iov_len = len };
		nng_duration left = remaining(deadline_ms);
		size_t n;
		int rv;

		if (left == 0) {
			return NNG_ETIMEDOUT;
		}
		nng_aio_set_iov(cn->aio, 1, &iov);
		nng_aio_set_timeout(cn->aio, left);
		if (send) {
			nng_stream_send(cn->stream, cn->aio);
		} else {
			nng_stream_recv(cn->stream, cn->aio);
		}
		nng_aio_wait(cn->aio);
		if ((rv = nng_aio_result(cn->aio)) != 0) {
			return rv;
		}
		n = nng_aio_count(cn->aio);
		assert(n <= len);
		buf += n;
		len -= n;
	}
	return 0;
}

int
client_conn_connect(struct client_conn *cn, int64_t deadline_ms)
{
	uint8_t mine[8] = { 0, 'S', 'P', 0, 0, SP_REQ0, 0, 0 };
	uint8_t peer[8];
	nng_duration left;
	int rv;

	if (cn->stream != NULL) {
		return HBMON_OK;
	}
	if (cn->aborted) {
		return fail(cn, HBMON_ECLOSED, "", 0);
	}
	if ((left = remaining(deadline_ms)) == 0) {
		return fail(cn, HBMON_ETIMEDOUT, "connecting", 0);
	}
	nng_aio_set_timeout(cn->aio, left);
	nng_stream_dialer_dial(cn->dialer, cn->aio);
	nng_aio_wait(cn->aio);
	if ((rv = nng_aio_result(cn->aio)) != 0) {
		return fail(cn, map_nng(cn, rv), "cannot connect to", rv);
	}
	cn->stream = nng_aio_get_output(cn->aio, 0);

	/* Both sides send their handshake first, then read the other's. */
	if ((rv = xfer(cn, true, mine, sizeof(mine), deadline_ms)) != 0 ||
	    (rv = xfer(cn, false, peer, sizeof(peer), deadline_ms)) != 0) {
		client_conn_drop(cn);
		return fail(cn, map_nng(cn, rv), "SP handshake with", rv);
	}
	if (peer[0] != 0 || peer[1] != 'S' || peer[2] != 'P' || peer[3] != 0 ||
	    peer[4] != 0 || peer[5] != SP_REP0) {
		client_conn_drop(cn);
		return fail(cn, HBMON_EPROTO,
		            "the peer is not an hbmon server (not an SP REP "
		            "socket):",
		            0);
	}
	return HBMON_OK;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		*p++ = (uint8_t) (v >> (8 * i));
	}
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
	       ((uint32_t) p[2] << 8) | p[3];
}

int
client_conn_send(struct client_conn *cn, uint8_t *frame, size_t body_len,
                 int64_t deadline_ms, uint32_t *out_id)
{
	/* ipc frames start with a type byte; tcp's begin one byte later. */
	uint8_t *head = cn->ipc ? frame : frame + 1;
	size_t head_len = CLIENT_FRAME_HEAD - (cn->ipc ? 0 : 1);
	uint32_t id = (cn->next_id++ & 0x7fffffffu) | 0x80000000u;
	uint8_t *p = head;
	int rv;

	if (cn->ipc) {
		*p++ = 1;
	}
	put_be64(p, 4 + (uint64_t) body_len);
	put_be32(p + 8, id);
	rv = xfer(cn, true, head, head_len + body_len, deadline_ms);
	if (rv != 0) {
		client_conn_drop(cn);
		return fail(cn, map_nng(cn, rv), "sending to", rv);
	}
	*out_id = id;
	return HBMON_OK;
}

/* Reads one frame's head: the body length (request id included). */
static int
read_frame_len(struct client_conn *cn, int64_t deadline_ms, uint64_t *len)
{
	uint8_t head[9];
	size_t n = cn->ipc ? 9 : 8;
	uint64_t v = 0;
	int rv;

	if ((rv = xfer(cn, false, head, n, deadline_ms)) != 0) {
		return rv;
	}
	if (cn->ipc && head[0] != 1) {
		return NNG_EPROTO;
	}
	for (size_t i = n - 8; i < n; i++) {
		v = (v << 8) | head[i];
	}
	*len = v;
	return 0;
}

/* nanopb reads the reply body through this, a buffer at a time. */
static bool
istream_read(pb_istream_t *is, pb_byte_t *buf, size_t count)
{
	struct client_conn *cn = is->state;

	while (count > 0) {
		size_t n;

		if (cn->rpos == cn->rlen) {
			size_t want = sizeof(cn->rbuf);
			nng_iov iov;
			nng_duration left = remaining(cn->deadline_ms);
			int rv;

			if (want > cn->frame_left) {
				want = (size_t) cn->frame_left;
			}
			if (want == 0) {
				cn->read_err = HBMON_EPROTO;
				return false;
			}
			if (left == 0) {
				cn->read_err = fail(cn, HBMON_ETIMEDOUT,
				                    "reading the reply", 0);
				return false;
			}
			iov.iov_buf = cn->rbuf;
			iov.iov_len = want;
			nng_aio_set_iov(cn->aio, 1, &iov);
			nng_aio_set_timeout(cn->aio, left);
			nng_stream_recv(cn->stream, cn->aio);
			nng_aio_wait(cn->aio);
			if ((rv = nng_aio_result(cn->aio)) != 0) {
				cn->read_err =
				    fail(cn, map_nng(cn, rv),
				         "reading the reply from", rv);
				return false;
			}
			cn->rpos = 0;
			cn->rlen = nng_aio_count(cn->aio);
			cn->frame_left -= cn->rlen;
		}
		n = cn->rlen - cn->rpos;
		if (n > count) {
			n = count;
		}
		if (buf != NULL) {
			memcpy(buf, cn->rbuf + cn->rpos, n);
			buf += n;
		}
		cn->rpos += n;
		count -= n;
	}
	return true;
}

/* Reads and forgets what is left of the current frame. */
static int
skip_frame(struct client_conn *cn)
{
	pb_istream_t is = { istream_read, cn, 0, NULL };
	uint64_t left = cn->frame_left + (cn->rlen - cn->rpos);

	while (left > 0) {
		/* At most CLIENT_REPLY_MAX: fits a size_t. */
		size_t n = (size_t) left;
		is.bytes_left = n;
		if (!istream_read(&is, NULL, n)) {
			return cn->read_err;
		}
		left -= n;
	}
	return HBMON_OK;
}

int
client_conn_reply_begin(struct client_conn *cn, uint32_t id,
                        int64_t deadline_ms, pb_istream_t *out)
{
	uint8_t idbuf[4];
	uint64_t len;
	int rv;

	cn->deadline_ms = deadline_ms;
	cn->read_err = HBMON_OK;
	for (;;) {
		cn->rpos = cn->rlen = 0;
		if ((rv = read_frame_len(cn, deadline_ms, &len)) != 0) {
			rv = fail(cn, map_nng(cn, rv),
			          "waiting for the reply from", rv);
			goto fail;
		}
		if (len < 4 || len > CLIENT_REPLY_MAX) {
			rv = fail(cn, HBMON_EPROTO,
			          "a reply of impossible size came from", 0);
			goto fail;
		}
		cn->frame_left = len;
		{
			pb_istream_t is = { istream_read, cn, 4, NULL };
			if (!istream_read(&is, idbuf, 4)) {
				rv = cn->read_err;
				goto fail;
			}
		}
		/* A REP socket echoes the request id as the backtrace. A
		 * reply to an older request (one that timed out on this
		 * connection) is skipped, as nng's REQ does. */
		if (get_be32(idbuf) == id) {
			break;
		}
		if ((rv = skip_frame(cn)) != HBMON_OK) {
			goto fail;
		}
	}
	out->callback = istream_read;
	out->state = cn;
	out->bytes_left = (size_t) (cn->frame_left + (cn->rlen - cn->rpos));
	out->errmsg = NULL;
	return HBMON_OK;

fail:
	client_conn_drop(cn);
	return rv;
}

int
client_conn_reply_end(struct client_conn *cn, bool decode_ok)
{
	int rv = HBMON_OK;

	if (!decode_ok) {
		rv = cn->read_err != HBMON_OK ? cn->read_err : HBMON_EPROTO;
		if (rv == HBMON_EPROTO) {
			snprintf(
			    cn->why, sizeof(cn->why),
			    "the reply from %s is not an hbmon RpcResponse",
			    cn->url);
		}
	} else {
		rv = skip_frame(cn);
	}
	if (rv != HBMON_OK) {
		client_conn_drop(cn);
	}
	return rv;
}
