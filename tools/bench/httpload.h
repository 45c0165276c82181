/*
 * The HTTP side of hbmon-bench ingest (--transport http): the same
 * closed loop as loadgen.h, but each slot keeps one signed POST
 * /v1/heartbeat in flight on a kept-alive TCP connection of its own
 * (plain sockets, one poll loop: nothing between the client and the
 * bytes but the kernel). Each request is built and HMAC-signed afresh
 * (docs/http.md): the seed's account heartbeat as JSON, or a batch
 * {"accounts": [...]} of opts->batch of them; every reply must be 200
 * with code 0 in it and in each result.
 */
#ifndef HBMON_BENCH_HTTPLOAD_H
#define HBMON_BENCH_HTTPLOAD_H

#include <stddef.h>

#include "loadgen.h"

/*
 * Runs the load against opts->url ("http://127.0.0.1:PORT"; one_socket
 * does not apply) as loadgen_run does: the warm-up, then the measured
 * window, then the last replies. Returns HBMON_OK, or an error with why
 * filled when the run could not start.
 */
int httpload_run(const struct loadgen_options *opts, struct loadgen_result *out,
                 char *why, size_t why_len);

#endif
