/*
 * hbmon-server's own counters and histograms, and the Prometheus text
 * exposition format (0.0.4) that GET /metrics serves (docs/http.md lists
 * every metric).
 *
 * One set per process: the hot paths (every heartbeat, every request,
 * every commit) count with relaxed atomic adds and no lock, into one of
 * METRICS_SHARDS copies chosen once per thread, so that threads serving
 * requests at once do not fight over one cache line. A scrape adds the
 * shards up; it may see one request's count before its histogram sum, never
 * a count going down.
 *
 * What is not counted but read at scrape time (subjects by liveness, the
 * outbox seen by notifiers, the server's health) comes in as struct
 * metrics_gauges, gathered by views.h.
 *
 * Every function is thread-safe and allocates nothing, but metrics_render
 * (which appends to a strbuf).
 */
#ifndef HBMON_SERVER_METRICS_H
#define HBMON_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* Threads counting at once without sharing a cache line. */
#define METRICS_SHARDS 16

/* What a heartbeat reported: the seed's two types. */
enum metrics_hb_kind {
	METRICS_HB_ROBOT = 0,
	METRICS_HB_ACCOUNT = 1,
};
#define METRICS_HB_KINDS 2

/* gRPC codes 0..16 (common/rpc_status.h); anything else counts as 2
 * (UNKNOWN). */
#define METRICS_CODES 17

/* SP listeners (rpcserver) and HTTP routes that can be told apart. */
#define METRICS_LISTENERS_MAX 6
#define METRICS_ROUTES_MAX    10
#define METRICS_NAME_MAX      32

/*
 * n heartbeats of kind were decoded and answered with code (a gRPC code:
 * 0 recorded, 3 refused by the state rules, 14 not recorded for storage
 * reasons, ...). A request refused before its heartbeats were read
 * (authentication, a batch over the cap) counts only in the RPC metrics.
 */
void metrics_heartbeats(enum metrics_hb_kind kind, int code, uint64_t n);

/*
 * Registers an SP listener by name ("robots", "admin", ...) and returns
 * its id for metrics_rpc; the same name gives the same id (a listener
 * that is replaced keeps counting where it was). Returns -1 when
 * METRICS_LISTENERS_MAX names are taken (metrics_rpc then ignores it).
 */
int metrics_rpc_listener(const char *name);

/*
 * A request on listener id was answered with code, elapsed_us after its
 * bytes had all arrived (its reply queued to be written).
 */
void metrics_rpc(int id, int code, int64_t elapsed_us);

/* As metrics_rpc_listener, for an HTTP route ("/metrics", "/", ...). */
int metrics_http_route(const char *name);

/* An HTTP request of route id was answered with status after elapsed_us. */
void metrics_http(int id, int status, int64_t elapsed_us);

/*
 * The recorder's transaction took elapsed_us to commit (committed) or to
 * fail (the database could not be written).
 */
void metrics_commit(int64_t elapsed_us, bool committed);

/* An alert of kind and severity (hbmon.v1 enum numbers) was published. */
void metrics_alert(int kind, int severity);

/* A notifier's cursor, as in the alert_readers table. */
struct metrics_reader {
	char name[128];
	uint64_t delivered; /* every alert up to here delivered */
	/* raised_at of the first alert after delivered; 0: none is owed */
	int64_t oldest_undelivered_ms;
};

/* What a scrape reads from the running server (views.h). */
struct metrics_gauges {
	/* subjects[kind][liveness]: kind as enum metrics_hb_kind, liveness
	 * an hbmon.v1.Liveness (1 unknown .. 5 paused). */
	uint64_t subjects[METRICS_HB_KINDS][6];
	bool outbox_known;    /* the database could be read */
	uint64_t outbox_last; /* the highest seq in the outbox */
	const struct metrics_reader *readers;
	size_t n_readers;
	uint64_t recorder_pending;  /* jobs waiting at the writer */
	int health_level;           /* enum health_level; 0: unknown */
	uint64_t listener_restarts; /* listeners replaced since start */
	int64_t started_ms;         /* wall clock */
	int64_t now_ms;             /* wall clock of the scrape */
	const char *version;
};

/*
 * Appends the whole exposition (every family with HELP and TYPE) of the
 * counters and g to out. Label values are escaped as the format wants
 * (backslash, quote, newline), and bytes that are not UTF-8 become '?'.
 */
void metrics_render(const struct metrics_gauges *g, struct strbuf *out);

/* The Content-Type of what metrics_render writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
