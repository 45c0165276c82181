/* hbmon-bench ingest: hbmon-server against a bare REP echo server. */
#include "cmd_ingest.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "echo.h"
#include "hbmon/error.h"
#include "loadgen.h"
#include "scratch.h"
#include "server_proc.h"
#include "util.h"

#define VERB           "ingest" /* for messages */
#define EXIT_USAGE     2
#define INFLIGHT_MAX   1024
#define INFLIGHT_LISTS 16
#define BATCH_MAX      10000 /* 10,000 accounts stay under recv_max 1 MiB */
#define REPEAT_MAX     99
#define REPLY_TIMEOUT  10000 /* ms; a reply later than this is an error */

/* SPEC §7. */
#define BAR_RATIO      0.8
#define BAR_HEARTBEATS 1000000.0

const char cmd_ingest_summary[] =
    "hbmon-server's requests/s against a bare nng REP echo server";

static const char usage_text[] =
    "usage: hbmon-bench ingest [--transport ipc|tcp|http|both|all]\n"
    "         [--inflight 1,8,64] [--duration 5s] [--warmup D] [--batch N]\n"
    "         [--repeat N] [--one-socket] [--echo-in-process]\n"
    "         [--server PATH] [--seed-db FILE] [--json]\n"
    "\n"
    "SPEC section 7's ingest bar: hbmon-server must serve at least 0.8x the\n"
    "requests/s of a bare nng REP echo server, same client, same number of\n"
    "requests in flight, with recording, rules and group commit on; with\n"
    "batches, over 1,000,000 heartbeats/s.\n"
    "\n"
    "For each transport and in-flight count, the same client loads first a\n"
    "bare echo server (hbmon-server's worker pool, minus the work) in a\n"
    "process of its own, like the server it stands for, then the real\n"
    "hbmon-server started on a fresh data dir with default settings and one\n"
    "registered robot per in-flight slot. Every request is built and\n"
    "HMAC-signed afresh; every hbmon reply must be code 0.\n"
    "\n"
    "  --transport T   ipc, tcp, http, both (ipc and tcp; the default) or\n"
    "                  all. http: hbmon-server's HTTP door (signed JSON\n"
    "                  POST /v1/heartbeat, a kept-alive connection per\n"
    "                  slot) against the same bare echo server over tcp;\n"
    "                  SPEC section 7's bars are the nng doors' and leave\n"
    "                  it out\n"
    "  --inflight L    comma-separated requests in flight (default 1,8,64;\n"
    "                  each 1..1024)\n"
    "  --duration D    measured time per run (default 5s)\n"
    "  --warmup D      unmeasured time before it (default duration/5, from\n"
    "                  100ms to 1s; longer until every slot had a reply)\n"
    "  --batch N       send ReportBatch with N account heartbeats (1..10000)\n"
    "                  instead of ReportAccount\n"
    "  --repeat N      runs per figure, alternating echo and hbmon; the\n"
    "                  median is shown (default 1)\n"
    "  --one-socket    one REQ socket and connection for all slots (a\n"
    "                  context each) instead of a socket per slot\n"
    "  --echo-in-process\n"
    "                  run the echo server on the bench's own nng threads\n"
    "                  instead of as a process (it then shares the client's\n"
    "                  threads and poller, which no real server does)\n"
    "  --server PATH   hbmon-server to run (default: the one built beside\n"
    "                  hbmon-bench)\n"
    "  --seed-db FILE  start every hbmon run from a copy of this database\n"
    "                  (an hbmon.db of a stopped server: alerts and history\n"
    "                  for readers to load it with) instead of an empty one\n"
    "  --json          one JSON object per line instead of tables\n"
    "  -h, --help      this text\n"
    "\n"
    "Exit status: 0, 1 when any request failed or a run could not be made,\n"
    "2 for a bad command line. Speed never makes it fail.\n";

struct options {
	bool ipc, tcp, http;
	uint32_t inflight[INFLIGHT_LISTS];
	size_t n_inflight;
	int64_t duration_ms;
	int64_t warmup_ms; /* -1: derived from the duration */
	uint32_t batch;    /* 0: ReportAccount */
	uint32_t repeat;
	bool one_socket;
	bool echo_in_process;
	const char *server;
	const char *seed_db; /* NULL: an empty database */
	bool json;
};

/* One figure: a transport and in-flight count, every repetition. */
struct figure {
	const char *transport;
	uint32_t inflight;
	struct loadgen_result echo[REPEAT_MAX];
	struct loadgen_result hbmon[REPEAT_MAX];
	uint32_t runs;
	/* Medians over the runs. */
	double echo_rps, hbmon_rps, ratio;
	double echo_p50_us, echo_p99_us, hbmon_p50_us, hbmon_p99_us;
	/* CPU per request: the bench process in the echo run (the client,
	 * and the echo server when in process), the echo server process, the
	 * bench in the hbmon run (client only), and hbmon-server. */
	double echo_run_cpu_us, echo_server_cpu_us, client_cpu_us,
	    server_cpu_us;
	uint64_t errors;
	char first_error[600];
};

static bool
parse_inflight(const char *text, struct options *o)
{
	char buf[256];
	char *save = NULL;

	if (strlen(text) >= sizeof(buf)) {
		bench_usage_error(VERB, "--inflight '%.40s...' is too long",
		                  text);
		return false;
	}
	memcpy(buf, text, strlen(text) + 1);
	o->n_inflight = 0;
	/* strtok_r would silently skip empty items ("1,,8"); look for them
	 * first so a typo is not half-accepted. */
	if (buf[0] == ',' || strstr(buf, ",,") != NULL ||
	    (buf[0] != '\0' && buf[strlen(buf) - 1] == ',')) {
		bench_usage_error(VERB, "--inflight '%s' has an empty item",
		                  text);
		return false;
	}
	for (char *item = strtok_r(buf, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if (o->n_inflight == INFLIGHT_LISTS) {
			bench_usage_error(
			    VERB, "--inflight '%s' lists more than %d counts",
			    text, INFLIGHT_LISTS);
			return false;
		}
		if (!bench_parse_uint(item, 1, INFLIGHT_MAX,
		                      &o->inflight[o->n_inflight])) {
			bench_usage_error(
			    VERB,
			    "--inflight '%s': '%s' is not a whole "
			    "number from 1 to %d",
			    text, item, INFLIGHT_MAX);
			return false;
		}
		o->n_inflight++;
	}
	if (o->n_inflight == 0) {
		bench_usage_error(
		    VERB, "--inflight needs at least one count, e.g. 1,8,64");
		return false;
	}
	return true;
}

/*
 * Parses the command line into o. Returns -1 to go on, otherwise the exit
 * status (0 after --help).
 */
static int
parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_TRANSPORT = 256,
		OPT_INFLIGHT,
		OPT_DURATION,
		OPT_WARMUP,
		OPT_BATCH,
		OPT_REPEAT,
		OPT_ONE_SOCKET,
		OPT_ECHO_IN_PROCESS,
		OPT_SERVER,
		OPT_SEED_DB,
		OPT_JSON,
	};
	static const struct option longopts[] = {
		{ "transport", required_argument, NULL, OPT_TRANSPORT },
		{ "inflight", required_argument, NULL, OPT_INFLIGHT },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "one-socket", no_argument, NULL, OPT_ONE_SOCKET },
		{ "echo-in-process", no_argument, NULL, OPT_ECHO_IN_PROCESS },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "seed-db", required_argument, NULL, OPT_SEED_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->ipc = o->tcp = true;
	o->inflight[0] = 1;
	o->inflight[1] = 8;
	o->inflight[2] = 64;
	o->n_inflight = 3;
	o->duration_ms = 5000;
	o->warmup_ms = -1;
	o->repeat = 1;
	/* Our own messages are clearer than getopt's. */
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_TRANSPORT:
			o->ipc = strcmp(optarg, "ipc") == 0 ||
			         strcmp(optarg, "both") == 0 ||
			         strcmp(optarg, "all") == 0;
			o->tcp = strcmp(optarg, "tcp") == 0 ||
			         strcmp(optarg, "both") == 0 ||
			         strcmp(optarg, "all") == 0;
			o->http = strcmp(optarg, "http") == 0 ||
			          strcmp(optarg, "all") == 0;
			if (!o->ipc && !o->tcp && !o->http) {
				bench_usage_error(
				    VERB,
				    "--transport '%s' is not one of "
				    "ipc, tcp, http, both, all",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_INFLIGHT:
			if (!parse_inflight(optarg, o)) {
				return EXIT_USAGE;
			}
			break;
		case OPT_DURATION:
			if (!bench_duration_flag(VERB, "--duration", optarg,
			                         100, &o->duration_ms)) {
				return EXIT_USAGE;
			}
			break;
		case OPT_WARMUP:
			if (!bench_duration_flag(VERB, "--warmup", optarg, 0,
			                         &o->warmup_ms)) {
				return EXIT_USAGE;
			}
			break;
		case OPT_BATCH:
			if (!bench_uint_flag(VERB, "--batch", optarg, 1,
			                     BATCH_MAX, &o->batch)) {
				return EXIT_USAGE;
			}
			break;
		case OPT_REPEAT:
			if (!bench_uint_flag(VERB, "--repeat", optarg, 1,
			                     REPEAT_MAX, &o->repeat)) {
				return EXIT_USAGE;
			}
			break;
		case OPT_ONE_SOCKET:
			o->one_socket = true;
			break;
		case OPT_ECHO_IN_PROCESS:
			o->echo_in_process = true;
			break;
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_SEED_DB:
			o->seed_db = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default: /* ':' or an unknown option */
			bench_option_error(VERB, ch, argv);
			return EXIT_USAGE;
		}
	}
	if (!bench_no_arguments(VERB, argc, argv)) {
		return EXIT_USAGE;
	}
	if (o->warmup_ms < 0) {
		o->warmup_ms = o->duration_ms / 5;
		o->warmup_ms = o->warmup_ms < 100 ? 100 : o->warmup_ms;
		o->warmup_ms = o->warmup_ms > 1000 ? 1000 : o->warmup_ms;
	}
	return -1;
}

static void
load_options(const struct options *o, const char *url, uint32_t inflight,
             const struct loadgen_robot *robots, bool expect_rpc_ok,
             struct loadgen_options *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->url = url;
	lo->inflight = inflight;
	lo->robots = robots;
	lo->one_socket = o->one_socket;
	lo->batch = o->batch;
	lo->expect_rpc_ok = expect_rpc_ok;
	lo->warmup_ms = o->warmup_ms;
	lo->duration_ms = o->duration_ms;
	lo->reply_timeout_ms = REPLY_TIMEOUT;
}

/* hbmon-server's own defaults, which the echo server is given. */
struct server_defaults {
	uint32_t workers;
	int64_t recv_max;
};

/* Loads the echo server: a process of its own, or in this one. */
static int
run_echo(const struct options *o, const struct server_defaults *defaults,
         const char *transport, uint32_t inflight,
         const struct loadgen_robot *robots, struct loadgen_result *res,
         char *why, size_t why_len)
{
	struct loadgen_options lo;
	struct echo_server *echo = NULL;
	struct server_proc proc;
	char self[PATH_MAX], workers[16], recv_max[24], stop_why[1200];
	const char *argv[9];
	ssize_t n;
	int rv;

	/* HTTP's baseline is the same bare echo over tcp. */
	transport = strcmp(transport, "http") == 0 ? "tcp" : transport;

	if (o->echo_in_process) {
		char dir[SCRATCH_PATH_MAX] = "";
		char url[SCRATCH_URL_MAX];
		if ((rv = scratch_dir_make(dir, sizeof(dir), why, why_len)) ==
		        HBMON_OK &&
		    (rv = scratch_url(transport, dir, "echo", url, sizeof(url),
		                      why, why_len)) == HBMON_OK &&
		    (rv = echo_start(url, defaults->workers,
		                     (size_t) defaults->recv_max, &echo, why,
		                     why_len)) == HBMON_OK) {
			load_options(o, url, inflight, robots, false, &lo);
			rv = loadgen_run(&lo, res, why, why_len);
		}
		echo_stop(echo);
		scratch_dir_remove(dir);
		return rv;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0) {
		snprintf(why, why_len,
		         "cannot find hbmon-bench itself to run the echo "
		         "server: /proc/self/exe: %s",
		         strerror(errno));
		return HBMON_EIO;
	}
	self[n] = '\0';
	snprintf(workers, sizeof(workers), "%u", defaults->workers);
	snprintf(recv_max, sizeof(recv_max), "%lld",
	         (long long) defaults->recv_max);
	if ((rv = server_proc_prepare(&proc, transport, why, why_len)) ==
	    HBMON_OK) {
		argv[0] = self;
		argv[1] = "echo-server";
		argv[2] = "--listen";
		argv[3] = proc.url;
		argv[4] = "--workers";
		argv[5] = workers;
		argv[6] = "--recv-max";
		argv[7] = recv_max;
		argv[8] = NULL;
		rv = server_proc_spawn(&proc, argv, why, why_len);
	}
	if (rv == HBMON_OK) {
		load_options(o, proc.url, inflight, robots, false, &lo);
		lo.server_pid = proc.pid;
		rv = loadgen_run(&lo, res, why, why_len);
	}
	if (rv == HBMON_OK &&
	    server_proc_stop(&proc, stop_why, sizeof(stop_why)) != HBMON_OK &&
	    res->errors++ == 0) {
		snprintf(res->first_error, sizeof(res->first_error),
		         "echo server: %s", stop_why);
	}
	server_proc_cleanup(&proc);
	return rv;
}

/*
 * The server's HTTP URL from its ready line ("http=http://H:P"), for a
 * server started with --http-listen http://127.0.0.1:0.
 */
static int
http_url_of(const struct server_proc *p, char *url, size_t url_len, char *why,
            size_t why_len)
{
	FILE *f = fopen(p->log_path, "r");
	char line[4096];
	int port = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *at = strstr(line, " http=http://127.0.0.1:");
		if (at != NULL) {
			port = atoi(at + strlen(" http=http://127.0.0.1:"));
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	if (port <= 0) {
		snprintf(why, why_len, "no http= port in %s", p->log_path);
		return HBMON_EIO;
	}
	snprintf(url, url_len, "http://127.0.0.1:%d", port);
	return HBMON_OK;
}

/*
 * Loads a fresh hbmon-server. Besides every reply being code 0, the
 * database must hold exactly the heartbeats that were acknowledged: the
 * recording really happened, and nothing acknowledged is missing.
 */
static int
run_hbmon(const struct options *o, const char *server_bin,
          const char *transport, uint32_t inflight,
          struct loadgen_robot *robots, struct loadgen_result *res, char *why,
          size_t why_len)
{
	static const char *const http_args[] = { "--http-listen",
		                                 "http://127.0.0.1:0", NULL };
	bool http = strcmp(transport, "http") == 0;
	struct loadgen_options lo;
	struct server_proc proc;
	char stop_why[1200], http_url[64];
	int64_t recorded = 0, seeded = 0; /* seeded: there before the load */
	int rv;

	if ((rv = server_proc_prepare(&proc, http ? "tcp" : transport, why,
	                              why_len)) != HBMON_OK) {
		goto done;
	}
	proc.extra_args = http ? http_args : NULL;
	if ((o->seed_db != NULL &&
	     (rv = server_proc_seed(&proc, o->seed_db, why, why_len)) !=
	         HBMON_OK) ||
	    (rv = server_proc_start(&proc, server_bin, why, why_len)) !=
	        HBMON_OK ||
	    (rv = server_proc_add_robots(&proc, robots, inflight, why,
	                                 why_len)) != HBMON_OK ||
	    (rv = server_proc_heartbeats(&proc, &seeded, why, why_len)) !=
	        HBMON_OK ||
	    (http && (rv = http_url_of(&proc, http_url, sizeof(http_url), why,
	                               why_len)) != HBMON_OK)) {
		goto done;
	}
	load_options(o, http ? http_url : proc.url, inflight, robots, true,
	             &lo);
	lo.server_pid = proc.pid;
	if ((rv = loadgen_run(&lo, res, why, why_len)) != HBMON_OK) {
		goto done;
	}
	/* A server that recorded something other than it acknowledged, or
	 * fails to stop cleanly, makes the run invalid like a failed reply.
	 * Every reply has come back: what is counted now is final. */
	if (server_proc_heartbeats(&proc, &recorded, stop_why,
	                           sizeof(stop_why)) != HBMON_OK ||
	    server_proc_stop(&proc, stop_why, sizeof(stop_why)) != HBMON_OK) {
		if (res->errors++ == 0) {
			snprintf(res->first_error, sizeof(res->first_error),
			         "%s", stop_why);
		}
	} else if ((uint64_t) (recorded - seeded) != res->acked &&
	           res->errors == 0) {
		res->errors++;
		snprintf(res->first_error, sizeof(res->first_error),
		         "the server recorded %lld heartbeats but "
		         "acknowledged %llu",
		         (long long) (recorded - seeded),
		         (unsigned long long) res->acked);
	}
done:
	server_proc_cleanup(&proc);
	return rv;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

/* Median of n values (n >= 1); sorts a copy. */
static double
median(const double *values, uint32_t n)
{
	double sorted[REPEAT_MAX];

	memcpy(sorted, values, n * sizeof(*values));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	return n % 2 == 1 ? sorted[n / 2]
	                  : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static double
per_request_us(int64_t cpu_ns, uint64_t requests)
{
	return requests > 0 ? (double) cpu_ns / 1000 / (double) requests : 0;
}

/*
 * Medians over the runs. The ratio is the median of each run's own ratio:
 * an echo run and the hbmon run right after it share the machine's load
 * of the moment, which a ratio of medians would throw away.
 */
static void
summarise(struct figure *f)
{
	double v[11][REPEAT_MAX];

	f->errors = 0;
	for (uint32_t r = 0; r < f->runs; r++) {
		const struct loadgen_result *e = &f->echo[r], *h = &f->hbmon[r];
		v[0][r] = e->per_second;
		v[1][r] = h->per_second;
		v[2][r] = e->per_second > 0 ? h->per_second / e->per_second : 0;
		v[3][r] = (double) e->p50_ns / 1000;
		v[4][r] = (double) e->p99_ns / 1000;
		v[5][r] = (double) h->p50_ns / 1000;
		v[6][r] = (double) h->p99_ns / 1000;
		v[7][r] = per_request_us(e->self_cpu_ns, e->requests);
		v[8][r] = per_request_us(h->self_cpu_ns, h->requests);
		v[9][r] = per_request_us(h->server_cpu_ns, h->requests);
		v[10][r] = per_request_us(e->server_cpu_ns, e->requests);
		for (int side = 0; side < 2; side++) {
			const struct loadgen_result *x = side == 0 ? e : h;
			if (x->errors > 0 && f->errors == 0) {
				snprintf(f->first_error, sizeof(f->first_error),
				         "%s: %s", side == 0 ? "echo" : "hbmon",
				         x->first_error);
			}
			f->errors += x->errors;
		}
	}
	f->echo_rps = median(v[0], f->runs);
	f->hbmon_rps = median(v[1], f->runs);
	f->ratio = median(v[2], f->runs);
	f->echo_p50_us = median(v[3], f->runs);
	f->echo_p99_us = median(v[4], f->runs);
	f->hbmon_p50_us = median(v[5], f->runs);
	f->hbmon_p99_us = median(v[6], f->runs);
	f->echo_run_cpu_us = median(v[7], f->runs);
	f->client_cpu_us = median(v[8], f->runs);
	f->server_cpu_us = median(v[9], f->runs);
	f->echo_server_cpu_us = median(v[10], f->runs);
}

static uint32_t
heartbeats_per_request(const struct options *o)
{
	return o->batch > 0 ? o->batch : 1;
}

static void
print_json(const struct options *o, const struct figure *f)
{
	json_t *obj = json_object();
	json_t *echo_runs = json_array(), *hbmon_runs = json_array();
	char *line;

	for (uint32_t r = 0; r < f->runs; r++) {
		json_array_append_new(echo_runs,
		                      json_real(f->echo[r].per_second));
		json_array_append_new(hbmon_runs,
		                      json_real(f->hbmon[r].per_second));
	}
	json_object_set_new(obj, "transport", json_string(f->transport));
	json_object_set_new(obj, "inflight", json_integer(f->inflight));
	json_object_set_new(
	    obj, "method",
	    json_string(o->batch > 0 ? "ReportBatch" : "ReportAccount"));
	json_object_set_new(obj, "batch",
	                    json_integer(heartbeats_per_request(o)));
	json_object_set_new(obj, "sockets",
	                    json_string(o->one_socket ? "one" : "per-slot"));
	json_object_set_new(
	    obj, "echo",
	    json_string(o->echo_in_process ? "in-process" : "process"));
	json_object_set_new(obj, "duration_ms", json_integer(o->duration_ms));
	json_object_set_new(obj, "warmup_ms", json_integer(o->warmup_ms));
	json_object_set_new(obj, "runs", json_integer(f->runs));
	json_object_set_new(obj, "echo_rps", json_real(f->echo_rps));
	json_object_set_new(obj, "hbmon_rps", json_real(f->hbmon_rps));
	json_object_set_new(obj, "ratio", json_real(f->ratio));
	json_object_set_new(
	    obj, "heartbeats_per_s",
	    json_real(f->hbmon_rps * heartbeats_per_request(o)));
	json_object_set_new(obj, "echo_p50_us", json_real(f->echo_p50_us));
	json_object_set_new(obj, "echo_p99_us", json_real(f->echo_p99_us));
	json_object_set_new(obj, "hbmon_p50_us", json_real(f->hbmon_p50_us));
	json_object_set_new(obj, "hbmon_p99_us", json_real(f->hbmon_p99_us));
	json_object_set_new(obj, "echo_run_cpu_us_per_req",
	                    json_real(f->echo_run_cpu_us));
	json_object_set_new(obj, "echo_server_cpu_us_per_req",
	                    json_real(f->echo_server_cpu_us));
	json_object_set_new(obj, "client_cpu_us_per_req",
	                    json_real(f->client_cpu_us));
	json_object_set_new(obj, "server_cpu_us_per_req",
	                    json_real(f->server_cpu_us));
	json_object_set_new(obj, "echo_rps_runs", echo_runs);
	json_object_set_new(obj, "hbmon_rps_runs", hbmon_runs);
	json_object_set_new(obj, "errors",
	                    json_integer((json_int_t) f->errors));
	if (f->errors > 0) {
		json_object_set_new(obj, "first_error",
		                    json_string(f->first_error));
	}
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
	                           JSON_REAL_PRECISION(6));
	if (line != NULL) {
		printf("%s\n", line);
		free(line);
	}
	json_decref(obj);
	fflush(stdout);
}

/* Microseconds for the table: whole above 100, one decimal below. */
static void
format_us(double us, char *buf, size_t len)
{
	snprintf(buf, len, us >= 100 ? "%.0f" : "%.1f", us);
}

static void
print_table(const struct options *o, const struct figure *figs, size_t n)
{
	char echo_lat[48], hbmon_lat[48], a[16], b[16];

	printf("\n%s%s: %s, %u heartbeat%s per request, %s connection%s, "
	       "echo %s; %lldms measured after %lldms warm-up; median of %u "
	       "run%s\n",
	       figs[0].transport,
	       strcmp(figs[0].transport, "http") == 0
	           ? " (signed JSON POST /v1/heartbeat; echo: nng over tcp)"
	           : "",
	       o->batch > 0 ? "ReportBatch" : "ReportAccount",
	       heartbeats_per_request(o), o->batch > 1 ? "s" : "",
	       o->one_socket ? "one" : "a",
	       o->one_socket ? " for all" : " per slot",
	       o->echo_in_process ? "in this process" : "as a process",
	       (long long) o->duration_ms, (long long) o->warmup_ms, o->repeat,
	       o->repeat > 1 ? "s" : "");
	printf("%8s %11s %11s %6s %13s %17s %17s %7s\n", "inflight",
	       "echo req/s", "hbmon req/s", "ratio", "heartbeats/s",
	       "echo p50/p99 us", "hbmon p50/p99 us", "errors");
	for (size_t i = 0; i < n; i++) {
		const struct figure *f = &figs[i];
		format_us(f->echo_p50_us, a, sizeof(a));
		format_us(f->echo_p99_us, b, sizeof(b));
		snprintf(echo_lat, sizeof(echo_lat), "%s / %s", a, b);
		format_us(f->hbmon_p50_us, a, sizeof(a));
		format_us(f->hbmon_p99_us, b, sizeof(b));
		snprintf(hbmon_lat, sizeof(hbmon_lat), "%s / %s", a, b);
		printf("%8u %11.0f %11.0f %6.2f %13.0f %17s %17s %7llu\n",
		       f->inflight, f->echo_rps, f->hbmon_rps, f->ratio,
		       f->hbmon_rps * heartbeats_per_request(o), echo_lat,
		       hbmon_lat, (unsigned long long) f->errors);
	}
	/* Where the CPU goes, for whoever has to close the gap. */
	printf("CPU per request (us): inflight  echo run: %s  echo-server"
	       "  hbmon run: bench (client)  hbmon-server\n",
	       o->echo_in_process ? "bench (client + echo)"
	                          : "bench (client)       ");
	for (size_t i = 0; i < n; i++) {
		printf("%30u %31.1f %12.1f %27.1f %13.1f\n", figs[i].inflight,
		       figs[i].echo_run_cpu_us, figs[i].echo_server_cpu_us,
		       figs[i].client_cpu_us, figs[i].server_cpu_us);
	}
	for (size_t i = 0; i < n; i++) {
		if (figs[i].errors > 0) {
			printf("inflight %u: %llu error%s, first: %s\n",
			       figs[i].inflight,
			       (unsigned long long) figs[i].errors,
			       figs[i].errors > 1 ? "s" : "",
			       figs[i].first_error);
		}
	}
	fflush(stdout);
}

/* The verdict on SPEC §7's two ingest bars over every figure. */
static void
print_verdict(const struct options *o, const struct figure *figs, size_t n)
{
	const struct figure *worst = NULL, *best = NULL;
	bool errors = false;

	for (size_t i = 0; i < n; i++) {
		errors = errors || figs[i].errors > 0;
		if (strcmp(figs[i].transport, "http") == 0) {
			continue; /* the bars are the nng doors' */
		}
		if (worst == NULL || figs[i].ratio < worst->ratio) {
			worst = &figs[i];
		}
		if (best == NULL || figs[i].hbmon_rps > best->hbmon_rps) {
			best = &figs[i];
		}
		errors = errors || figs[i].errors > 0;
	}
	if (worst == NULL) {
		return;
	}
	if (o->json) {
		json_t *obj = json_object();
		char *line;

		json_object_set_new(obj, "summary", json_true());
		json_object_set_new(obj, "valid", json_boolean(!errors));
		json_object_set_new(obj, "min_ratio", json_real(worst->ratio));
		json_object_set_new(obj, "ratio_bar_met",
		                    json_boolean(worst->ratio >= BAR_RATIO));
		if (o->batch > 0) {
			double hb = best->hbmon_rps * o->batch;
			json_object_set_new(obj, "max_heartbeats_per_s",
			                    json_real(hb));
			json_object_set_new(obj, "heartbeats_bar_met",
			                    json_boolean(hb > BAR_HEARTBEATS));
		}
		line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
		                           JSON_REAL_PRECISION(6));
		if (line != NULL) {
			printf("%s\n", line);
			free(line);
		}
		json_decref(obj);
		return;
	}
	printf("\n");
	if (errors) {
		printf("INVALID: some requests failed (see above); the figures "
		       "do not count.\n");
	}
	printf("SPEC 7 ingest bar, hbmon >= %.1fx echo: %s (lowest %.2fx at "
	       "%s, %u in flight)\n",
	       BAR_RATIO, worst->ratio >= BAR_RATIO ? "met" : "NOT met",
	       worst->ratio, worst->transport, worst->inflight);
	if (o->batch > 0) {
		double hb = best->hbmon_rps * o->batch;
		printf("SPEC 7 batch bar, > 1,000,000 heartbeats/s: %s (best "
		       "%.0f at %s, %u in flight)\n",
		       hb > BAR_HEARTBEATS ? "met" : "NOT met", hb,
		       best->transport, best->inflight);
	}
}

int
cmd_ingest(int argc, char **argv)
{
	struct options o;
	struct server_defaults defaults;
	struct loadgen_robot *robots = NULL;
	struct figure *figs = NULL;
	const char *transports[3];
	char server_path[PATH_MAX];
	char why[2048];
	size_t n_transports = 0;
	size_t n_figs = 0;
	uint32_t max_inflight = 0;
	bool errors = false;
	int status;

	if ((status = parse_args(argc, argv, &o)) >= 0) {
		return status;
	}
	if (server_proc_locate(o.server, server_path, sizeof(server_path), why,
	                       sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-bench ingest: %s\n", why);
		return 1;
	}
	/* The echo server gets hbmon-server's own defaults (workers,
	 * recv_max), so the two sockets differ only in the work done. */
	if (server_proc_defaults(server_path, &defaults.workers,
	                         &defaults.recv_max, why,
	                         sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-bench ingest: %s\n", why);
		return 1;
	}
	if (o.ipc) {
		transports[n_transports++] = "ipc";
	}
	if (o.tcp) {
		transports[n_transports++] = "tcp";
	}
	if (o.http) {
		transports[n_transports++] = "http";
	}
	for (size_t i = 0; i < o.n_inflight; i++) {
		max_inflight =
		    o.inflight[i] > max_inflight ? o.inflight[i] : max_inflight;
	}
	robots = loadgen_robots_make(max_inflight, "bench", why, sizeof(why));
	figs = calloc(n_transports * o.n_inflight, sizeof(*figs));
	if (robots == NULL || figs == NULL) {
		fprintf(stderr, "hbmon-bench ingest: %s\n",
		        robots == NULL ? why : "out of memory");
		status = 1;
		goto done;
	}

	for (size_t t = 0; t < n_transports; t++) {
		struct figure *row = figs + t * o.n_inflight;

		for (size_t i = 0; i < o.n_inflight; i++) {
			struct figure *f = &row[i];
			f->transport = transports[t];
			f->inflight = o.inflight[i];
			/* Echo and hbmon alternate so slow drift in the
			 * machine's load hits both alike. */
			for (uint32_t r = 0; r < o.repeat; r++) {
				bench_progress("%s inflight %u run %u/%u: echo",
				               f->transport, f->inflight, r + 1,
				               o.repeat);
				if (run_echo(&o, &defaults, f->transport,
				             f->inflight, robots, &f->echo[r],
				             why, sizeof(why)) != HBMON_OK) {
					goto failed;
				}
				bench_progress(
				    "%s inflight %u run %u/%u: hbmon",
				    f->transport, f->inflight, r + 1, o.repeat);
				if (run_hbmon(&o, server_path, f->transport,
				              f->inflight, robots, &f->hbmon[r],
				              why, sizeof(why)) != HBMON_OK) {
					goto failed;
				}
				f->runs++;
			}
			summarise(f);
			n_figs++;
			errors = errors || f->errors > 0;
			bench_progress("%s", "");
			if (o.json) {
				print_json(&o, f);
			}
		}
		if (!o.json) {
			print_table(&o, row, o.n_inflight);
		}
	}
	print_verdict(&o, figs, n_figs);
	status = errors ? 1 : 0;
	goto done;

failed:
	bench_progress("%s", "");
	fprintf(stderr, "hbmon-bench ingest: %s\n", why);
	status = 1;
done:
	free(robots);
	free(figs);
	return status;
}
