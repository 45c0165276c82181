/*
 * nng errors in hbmon's words (include/hbmon/error.h): the one table that
 * maps them, at the boundary where an nng call fails. Which hbmon error an
 * nng error is depends a little on what was being done, so the table has
 * a column per kind of operation:
 *
 *   NNGERR_DIAL    connecting a client socket (rpc_client: hbctl and the
 *                  notifier): anything that stops a connection, a dial
 *                  that timed out included, is "the server cannot be
 *                  reached" (HBMON_EUNAVAIL), whose message says to start
 *                  the server; a permission or TLS problem says so.
 *   NNGERR_IO      connecting, sending or receiving within a call's own
 *                  time limit (the robot client library, rpc_client's
 *                  exchange): running out of time is HBMON_ETIMEDOUT, our
 *                  own close HBMON_ECLOSED (conn.c tells a peer's hang-up
 *                  from its own abort), a broken peer HBMON_EPROTO.
 *   NNGERR_LISTEN  opening a listener (the server's edge): a port in use
 *                  is HBMON_EBUSY, a bad URL HBMON_EINVAL.
 *
 * Pure function, thread-safe. Part of hbmon-base: the client library uses
 * it, so it depends on nng's header only.
 */
#ifndef HBMON_COMMON_NNGERR_H
#define HBMON_COMMON_NNGERR_H

enum nngerr_op {
	NNGERR_DIAL,
	NNGERR_IO,
	NNGERR_LISTEN,
};

/*
 * The hbmon error (hbmon_err) for nng error nng_rv (not 0) met while
 * doing op. An error the table does not name is HBMON_EUNAVAIL for
 * NNGERR_DIAL and NNGERR_IO, HBMON_EIO for NNGERR_LISTEN.
 */
int nngerr_map(int nng_rv, enum nngerr_op op);

#endif
