/*
 * The baseline of SPEC §7: a bare nng REP server, built
 * exactly like hbmon-server's robot socket (src/server/ingest.c) — a pool
 * of nng_ctx + nng_aio workers, each a RECV -> SEND state machine — that
 * sends every request straight back. Whatever hbmon-server does between
 * RECV and SEND is what the benchmark compares against this.
 */
#ifndef HBMON_BENCH_ECHO_H
#define HBMON_BENCH_ECHO_H

#include <stddef.h>
#include <stdint.h>

struct echo_server;

/*
 * Listens on url with workers contexts and recv_max as NNG_OPT_RECVMAXSZ
 * (both as hbmon-server's defaults, for a like-for-like socket).
 * out: stopped and freed with echo_stop. why: on failure a sentence naming
 * the URL. Returns HBMON_OK, HBMON_ENOMEM or HBMON_EIO.
 */
int echo_start(const char *url, uint32_t workers, size_t recv_max,
               struct echo_server **out, char *why, size_t why_len);

/* Stops the workers, closes the socket and frees everything. NULL is fine. */
void echo_stop(struct echo_server *echo);

/* One line for `hbmon-bench --help`. */
extern const char echo_server_summary[];

/*
 * `hbmon-bench echo-server --listen URL [--workers N] [--recv-max BYTES]`:
 * the echo server as a process of its own, serving until SIGTERM or
 * SIGINT. argv[0] is the verb. Returns the exit status: 0, 1 when it
 * cannot listen, 2 for a bad command line.
 */
int echo_server_main(int argc, char **argv);

#endif
