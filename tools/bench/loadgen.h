/*
 * The one load generator both runs of a comparison use: `inflight` slots,
 * each keeping exactly one request in flight on its own nng REQ context,
 * each request a freshly built and signed RpcRequest (ReportAccount with a
 * seed-like AccountHeartbeat, or ReportBatch with `batch` of them), so
 * that the client does the same work whatever answers it.
 */
#ifndef HBMON_BENCH_LOADGEN_H
#define HBMON_BENCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "latency.h"

#define LOADGEN_ROBOT_MAX  65 /* robot id with its NUL (RULES_NAME_MAX) */
#define LOADGEN_SECRET_MAX 64 /* secret with its NUL (SIGN_SECRET_MAX) */

/* Who a slot speaks as: one robot per slot, so each has its own seq. */
struct loadgen_robot {
	char id[LOADGEN_ROBOT_MAX];
	char secret[LOADGEN_SECRET_MAX];
};

/*
 * n robots named PREFIX-0001... with fresh secrets, as `hbctl robot add`
 * makes them. Returns a calloc'd array (free it), or NULL with why filled.
 */
struct loadgen_robot *loadgen_robots_make(uint32_t n, const char *prefix,
                                          char *why, size_t why_len);

struct loadgen_options {
	const char *url;
	uint32_t inflight; /* slots; robots[] has this many */
	const struct loadgen_robot *robots;
	/* false: a REQ socket (and connection) per slot, as every robot has
	 * its own; true: one socket, one connection, a context per slot. */
	bool one_socket;
	uint32_t batch; /* 0: ReportAccount; N: ReportBatch of N accounts */
	/* true: replies are RpcResponses whose code (and every batch item's)
	 * must be 0; false: replies are echoes of the request. */
	bool expect_rpc_ok;
	int64_t warmup_ms;
	int64_t duration_ms;
	int64_t reply_timeout_ms; /* a request unanswered this long fails */
	/* A server process whose CPU time to measure over the window as
	 * well (0: none; an in-process server counts as this process). */
	pid_t server_pid;
};

struct loadgen_result {
	uint64_t requests; /* completed in the measured window */
	double seconds;    /* length of the measured window */
	double per_second; /* requests / seconds */
	uint64_t p50_ns;   /* latency of the measured requests */
	uint64_t p99_ns;
	/* CPU time used in the measured window by this process (the client,
	 * and an in-process server) and by opts->server_pid. */
	int64_t self_cpu_ns;
	int64_t server_cpu_ns;
	uint64_t acked;  /* heartbeats acknowledged, warm-up included */
	uint64_t errors; /* failed requests, warm-up included */
	char first_error[512];
};

/* What one slot counted; written by that slot alone. */
struct loadgen_tally {
	uint64_t measured; /* requests completed in the measured window */
	uint64_t acked;    /* heartbeats acknowledged, warm-up included */
	struct latency latency;
};

/*
 * Sums n slots' tallies (tally(arg, i) is slot i's) into out's requests,
 * acked, per_second over measured_ns and latency quantiles; zeroes the
 * rest of out.
 */
void loadgen_sum(struct loadgen_result *out, uint32_t n,
                 const struct loadgen_tally *(*tally)(const void *arg,
                                                      uint32_t i),
                 const void *arg, int64_t measured_ns);

/*
 * Connects to opts->url (an http:// URL: httpload.h), runs the warm-up (at
 * least warmup_ms, and until every slot had its first reply) then the measured
 * window, waits for the last replies and disconnects. Failed requests are
 * counted in out->errors (the run goes on), not returned. Returns HBMON_OK, or
 * an error with why filled when the run could not start (cannot connect, no
 * memory).
 */
int loadgen_run(const struct loadgen_options *opts, struct loadgen_result *out,
                char *why, size_t why_len);

#endif
