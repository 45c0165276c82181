/* hbmon-bench wal: the WAL's size under full-speed ingest with alerts. */
#include "cmd_wal.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/rfc3339.h"
#include "common/rpc_client.h"
#include "common/rpc_status.h"
#include "hbmon/error.h"
#include "hbmon/v1/admin.pb-c.h"
#include "hbmon/v1/heartbeat.pb-c.h"
#include "loadgen.h"
#include "server_proc.h"
#include "util.h"

#define VERB          "wal"
#define EXIT_USAGE    2
#define INFLIGHT_MAX  1024
#define BATCH_MAX     10000
#define REPLY_TIMEOUT 10000 /* ms */
#define SAMPLES_MAX   (1 << 20)
/* What the run allows past wal_max: one group commit of this load is
 * well under 1 MiB; 8 MiB leaves room for a slow disk's commits while the
 * writer waits for a checkpoint. */
#define BOUND_SLACK (8 * 1024 * 1024)
/* hbmon-server's default wal_max (src/server/settings.c). */
#define WAL_MAX_DEFAULT "64MiB"

const char cmd_wal_summary[] =
    "the WAL's size under full-speed ingest with alerts flowing";

static const char usage_text[] =
    "usage: hbmon-bench wal [--duration 60s] [--inflight 8] [--batch 100]\n"
    "         [--transport ipc|tcp] [--sample 100ms] [--flap 20ms]\n"
    "         [--wal-max SIZE] [--server PATH] [--json]\n"
    "\n"
    "SPEC section 3.5: the WAL stays bounded under any load. Starts the\n"
    "real hbmon-server on a fresh data dir and loads it at full speed, as\n"
    "`hbmon-bench ingest` does, while one more robot flips between healthy\n"
    "and degraded (an alert each time) and an admin client reads the\n"
    "outbox and the overview as notifiers and hbctl do. The WAL file's\n"
    "size is sampled throughout.\n"
    "\n"
    "  --duration D    measured time (default 60s)\n"
    "  --inflight N    requests in flight, one robot each (default 8)\n"
    "  --batch N       ReportBatch with N account heartbeats (default 100;\n"
    "                  0: ReportAccount)\n"
    "  --transport T   ipc or tcp (default ipc)\n"
    "  --sample D      how often the WAL is measured (default 100ms)\n"
    "  --flap D        how often the flapping robot changes (default 20ms)\n"
    "  --wal-max SIZE  the server's wal_max (default its own, " WAL_MAX_DEFAULT
    ")\n"
    "  --server PATH   hbmon-server to run (default: the one built beside\n"
    "                  hbmon-bench)\n"
    "  --json          one JSON object instead of a table\n"
    "  -h, --help      this text\n"
    "\n"
    "The stated bound is wal_max plus one group commit; the run fails\n"
    "(exit 1) when the WAL passes wal_max + 8 MiB, or when any request\n"
    "failed. Speed never makes it fail.\n";

struct options {
	int64_t duration_ms;
	uint32_t inflight;
	uint32_t batch;
	const char *transport;
	int64_t sample_ms;
	int64_t flap_ms;
	const char *wal_max; /* NULL: the server's default */
	const char *server;
	bool json;
};

/* What the threads beside the load generator share. */
struct side {
	char wal_path[SCRATCH_PATH_MAX + 16];
	char db_path[SCRATCH_PATH_MAX + 16];
	char admin_url[SCRATCH_URL_MAX + 32];
	const char *url;
	const struct loadgen_robot *flapper;
	int64_t sample_ms, flap_ms;
	atomic_bool stop;
	/* sampler */
	int64_t *samples;
	size_t n_samples;
	int64_t wal_max_seen, db_max_seen;
	/* flapper and reader */
	uint64_t flips, flip_errors;
	uint64_t reads, read_errors, alerts_read;
	char first_error[512];
};

static int64_t
file_bytes(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t) st.st_size : 0;
}

static void *
sampler_main(void *arg)
{
	struct side *s = arg;

	while (!atomic_load(&s->stop)) {
		int64_t wal = file_bytes(s->wal_path);
		int64_t db = file_bytes(s->db_path);
		if (s->n_samples < SAMPLES_MAX) {
			s->samples[s->n_samples++] = wal;
		}
		if (wal > s->wal_max_seen) {
			s->wal_max_seen = wal;
		}
		if (db > s->db_max_seen) {
			s->db_max_seen = db;
		}
		bench_pause_ms(s->sample_ms);
	}
	return NULL;
}

/* One robot flipping healthy <-> degraded: an alert per flip. */
static void *
flapper_main(void *arg)
{
	struct side *s = arg;
	struct rpc_client_options o = {
		.url = s->url,
		.robot_id = s->flapper->id,
		.key = s->flapper->secret,
		.key_len = strlen(s->flapper->secret),
		.timeout_ms = REPLY_TIMEOUT,
	};
	struct rpc_client *c;
	char why[256];

	if (rpc_client_open(&o, &c, why, sizeof(why)) != HBMON_OK) {
		snprintf(s->first_error, sizeof(s->first_error),
		         "flapping robot: %s", why);
		s->flip_errors++;
		return NULL;
	}
	while (!atomic_load(&s->stop)) {
		Hbmon__V1__RobotHeartbeat hb = HBMON__V1__ROBOT_HEARTBEAT__INIT;
		struct rpc_status st;
		char ts[RFC3339_MAX];

		rfc3339_format(clock_wall_ms(), 0, ts, sizeof(ts));
		hb.event = "ROBOT_HEARTBEAT";
		hb.status =
		    s->flips % 2 == 0
		        ? HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_DEGRADED
		        : HBMON__V1__HEALTH_STATUS__HEALTH_STATUS_HEALTHY;
		hb.timestamp = ts;
		if (rpc_client_call(c, "/hbmon.v1.Monitor/ReportRobot",
		                    &hb.base, NULL, NULL, &st) != HBMON_OK ||
		    st.code != RPC_OK) {
			if (s->flip_errors++ == 0) {
				snprintf(s->first_error, sizeof(s->first_error),
				         "flapping robot: %s", st.message);
			}
		} else {
			s->flips++;
		}
		bench_pause_ms(s->flap_ms);
	}
	rpc_client_close(c);
	return NULL;
}

/* A notifier catching up and hbctl status, over and over. */
static void *
reader_main(void *arg)
{
	struct side *s = arg;
	struct rpc_client_options o = { .url = s->admin_url,
		                        .timeout_ms = REPLY_TIMEOUT };
	struct rpc_client *c;
	uint64_t after = 0;
	char why[256];

	if (rpc_client_open(&o, &c, why, sizeof(why)) != HBMON_OK) {
		s->read_errors++;
		return NULL;
	}
	while (!atomic_load(&s->stop)) {
		Hbmon__V1__AlertsAfterRequest ar =
		    HBMON__V1__ALERTS_AFTER_REQUEST__INIT;
		Hbmon__V1__OverviewRequest ov =
		    HBMON__V1__OVERVIEW_REQUEST__INIT;
		Hbmon__V1__AlertsAfterReply *page = NULL;
		struct rpc_status st;

		ar.after_seq = after;
		ar.limit = 500;
		if (rpc_client_call(c, "/hbmon.v1.Admin/AlertsAfter", &ar.base,
		                    &hbmon__v1__alerts_after_reply__descriptor,
		                    (ProtobufCMessage **) &page,
		                    &st) == HBMON_OK &&
		    st.code == RPC_OK) {
			if (page->n_alerts > 0) {
				after = page->alerts[page->n_alerts - 1]->seq;
			}
			s->alerts_read += page->n_alerts;
			s->reads++;
		} else {
			s->read_errors++;
		}
		protobuf_c_message_free_unpacked(&page->base, NULL);
		if (rpc_client_call(c, "/hbmon.v1.Admin/Overview", &ov.base,
		                    NULL, NULL, &st) == HBMON_OK &&
		    st.code == RPC_OK) {
			s->reads++;
		} else {
			s->read_errors++;
		}
		bench_pause_ms(200);
	}
	rpc_client_close(c);
	return NULL;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_DURATION = 256,
		OPT_INFLIGHT,
		OPT_BATCH,
		OPT_TRANSPORT,
		OPT_SAMPLE,
		OPT_FLAP,
		OPT_WAL_MAX,
		OPT_SERVER,
		OPT_JSON,
	};
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "inflight", required_argument, NULL, OPT_INFLIGHT },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "transport", required_argument, NULL, OPT_TRANSPORT },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "flap", required_argument, NULL, OPT_FLAP },
		{ "wal-max", required_argument, NULL, OPT_WAL_MAX },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	bool ok = true;

	memset(o, 0, sizeof(*o));
	o->duration_ms = 60000;
	o->inflight = 8;
	o->batch = 100;
	o->transport = "ipc";
	o->sample_ms = 100;
	o->flap_ms = 20;
	opterr = 0;
	optind = 1;
	while (ok &&
	       (ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_DURATION:
			ok = bench_duration_flag(VERB, "--duration", optarg,
			                         100, &o->duration_ms);
			break;
		case OPT_INFLIGHT:
			ok = bench_uint_flag(VERB, "--inflight", optarg, 1,
			                     INFLIGHT_MAX, &o->inflight);
			break;
		case OPT_BATCH:
			ok = bench_uint_flag(VERB, "--batch", optarg, 0,
			                     BATCH_MAX, &o->batch);
			break;
		case OPT_TRANSPORT:
			o->transport = optarg;
			if (strcmp(optarg, "ipc") != 0 &&
			    strcmp(optarg, "tcp") != 0) {
				bench_usage_error(VERB,
				                  "--transport '%s' is not ipc "
				                  "or tcp",
				                  optarg);
				ok = false;
			}
			break;
		case OPT_SAMPLE:
			ok = bench_duration_flag(VERB, "--sample", optarg, 1,
			                         &o->sample_ms);
			break;
		case OPT_FLAP:
			ok = bench_duration_flag(VERB, "--flap", optarg, 1,
			                         &o->flap_ms);
			break;
		case OPT_WAL_MAX: {
			uint64_t v;
			o->wal_max = optarg;
			if (config_parse_size(optarg, &v) != HBMON_OK) {
				bench_usage_error(
				    VERB,
				    "--wal-max '%s' is not a size, "
				    "e.g. 16MiB",
				    optarg);
				ok = false;
			}
			break;
		}
		case OPT_SERVER:
			o->server = optarg;
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
	if (!ok) {
		return EXIT_USAGE;
	}
	if (!bench_no_arguments(VERB, argc, argv)) {
		return EXIT_USAGE;
	}
	return -1;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

static double
mib(int64_t bytes)
{
	return (double) bytes / (1024.0 * 1024.0);
}

int
cmd_wal(int argc, char **argv)
{
	struct options o;
	struct server_proc proc;
	struct loadgen_options lo;
	struct loadgen_result res;
	struct loadgen_robot *robots = NULL;
	struct side side;
	pthread_t sampler, flapper, reader;
	bool threads = false;
	char server_bin[SCRATCH_PATH_MAX], why[1200];
	const char *extra[4] = { NULL };
	uint64_t wal_max;
	int64_t bound, p50 = 0, p99 = 0;
	int rv, code;

	if ((code = parse_args(argc, argv, &o)) >= 0) {
		return code;
	}
	config_parse_size(o.wal_max != NULL ? o.wal_max : WAL_MAX_DEFAULT,
	                  &wal_max);
	bound = (int64_t) wal_max + BOUND_SLACK;
	memset(&side, 0, sizeof(side));
	memset(&res, 0, sizeof(res));
	memset(&proc, 0, sizeof(proc));
	if ((side.samples = calloc(SAMPLES_MAX, sizeof(*side.samples))) ==
	        NULL ||
	    (robots = loadgen_robots_make(o.inflight + 1, "bench", why,
	                                  sizeof(why))) == NULL) {
		fprintf(stderr, "hbmon-bench wal: out of memory\n");
		free(side.samples);
		return 1;
	}
	if ((rv = server_proc_locate(o.server, server_bin, sizeof(server_bin),
	                             why, sizeof(why))) != HBMON_OK ||
	    (rv = server_proc_prepare(&proc, o.transport, why, sizeof(why))) !=
	        HBMON_OK) {
		goto done;
	}
	if (o.wal_max != NULL) {
		extra[0] = "--wal-max";
		extra[1] = o.wal_max;
	}
	proc.extra_args = extra;
	if ((rv = server_proc_start(&proc, server_bin, why, sizeof(why))) !=
	        HBMON_OK ||
	    (rv = server_proc_add_robots(&proc, robots, o.inflight + 1, why,
	                                 sizeof(why))) != HBMON_OK) {
		goto done;
	}
	snprintf(side.wal_path, sizeof(side.wal_path), "%s/hbmon.db-wal",
	         proc.dir);
	snprintf(side.db_path, sizeof(side.db_path), "%s/hbmon.db", proc.dir);
	snprintf(side.admin_url, sizeof(side.admin_url), "ipc://%s/admin.sock",
	         proc.dir);
	side.url = proc.url;
	side.flapper = &robots[o.inflight];
	side.sample_ms = o.sample_ms;
	side.flap_ms = o.flap_ms;
	atomic_init(&side.stop, false);
	if (pthread_create(&sampler, NULL, sampler_main, &side) != 0 ||
	    pthread_create(&flapper, NULL, flapper_main, &side) != 0 ||
	    pthread_create(&reader, NULL, reader_main, &side) != 0) {
		snprintf(why, sizeof(why), "cannot start a thread");
		rv = HBMON_ENOMEM;
		goto done;
	}
	threads = true;

	memset(&lo, 0, sizeof(lo));
	lo.url = proc.url;
	lo.inflight = o.inflight;
	lo.robots = robots;
	lo.batch = o.batch;
	lo.expect_rpc_ok = true;
	lo.warmup_ms = 500;
	lo.duration_ms = o.duration_ms;
	lo.reply_timeout_ms = REPLY_TIMEOUT;
	lo.server_pid = proc.pid;
	rv = loadgen_run(&lo, &res, why, sizeof(why));
done:
	if (threads) {
		atomic_store(&side.stop, true);
		pthread_join(sampler, NULL);
		pthread_join(flapper, NULL);
		pthread_join(reader, NULL);
	}
	if (rv == HBMON_OK) {
		char stop_why[1200];
		if (server_proc_stop(&proc, stop_why, sizeof(stop_why)) !=
		    HBMON_OK) {
			res.errors++;
			snprintf(res.first_error, sizeof(res.first_error), "%s",
			         stop_why);
		}
	}
	server_proc_cleanup(&proc);
	if (rv != HBMON_OK) {
		fprintf(stderr, "hbmon-bench wal: %s\n", why);
		free(robots);
		free(side.samples);
		return 1;
	}
	if (side.n_samples > 0) {
		qsort(side.samples, side.n_samples, sizeof(*side.samples),
		      cmp_i64);
		p50 = side.samples[side.n_samples / 2];
		p99 = side.samples[side.n_samples * 99 / 100];
	}
	if (o.json) {
		json_t *j = json_pack(
		    "{s:s, s:s, s:I, s:i, s:i, s:f, s:f, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:I, s:I, s:I}",
		    "bench", "wal", "transport", o.transport, "duration_ms",
		    (json_int_t) o.duration_ms, "inflight", (int) o.inflight,
		    "batch", (int) o.batch, "requests_per_s", res.per_second,
		    "heartbeats_per_s",
		    res.per_second * (o.batch > 0 ? o.batch : 1), "wal_max",
		    (json_int_t) wal_max, "wal_bytes_max",
		    (json_int_t) side.wal_max_seen, "wal_bytes_p50",
		    (json_int_t) p50, "wal_bytes_p99", (json_int_t) p99,
		    "db_bytes_max", (json_int_t) side.db_max_seen, "alerts",
		    (json_int_t) side.flips, "alerts_read",
		    (json_int_t) side.alerts_read, "admin_reads",
		    (json_int_t) side.reads, "errors",
		    (json_int_t) (res.errors + side.flip_errors +
		                  side.read_errors));
		char *text = json_dumps(j, JSON_COMPACT);
		puts(text);
		free(text);
		json_decref(j);
	} else {
		printf("hbmon-bench wal: %s, %u in flight, %s, %.0f s\n",
		       o.transport, o.inflight,
		       o.batch > 0 ? "ReportBatch" : "ReportAccount",
		       (double) o.duration_ms / 1000);
		printf("  requests/s      %.0f (%.0f heartbeats/s)\n",
		       res.per_second,
		       res.per_second * (o.batch > 0 ? o.batch : 1));
		printf("  alerts raised   %" PRIu64
		       " (one per flip, every %" PRId64 " ms); %" PRIu64
		       " read back by the admin client\n",
		       side.flips, o.flap_ms, side.alerts_read);
		printf("  WAL file        max %.1f MiB, p99 %.1f MiB, p50 %.1f "
		       "MiB (%zu samples, every %" PRId64 " ms)\n",
		       mib(side.wal_max_seen), mib(p99), mib(p50),
		       side.n_samples, o.sample_ms);
		printf("  stated bound    wal_max %.1f MiB + one group commit; "
		       "checked against %.1f MiB\n",
		       mib((int64_t) wal_max), mib(bound));
		printf("  database file   max %.1f MiB\n",
		       mib(side.db_max_seen));
	}
	code = 0;
	if (res.errors > 0 || side.flip_errors > 0 || side.read_errors > 0) {
		fprintf(stderr,
		        "hbmon-bench wal: %" PRIu64
		        " failed requests; first: %s\n",
		        res.errors + side.flip_errors + side.read_errors,
		        res.errors > 0 ? res.first_error : side.first_error);
		code = 1;
	}
	if (side.wal_max_seen > bound) {
		fprintf(stderr,
		        "hbmon-bench wal: the WAL reached %.1f MiB, past its "
		        "bound of %.1f MiB\n",
		        mib(side.wal_max_seen), mib(bound));
		code = 1;
	}
	free(robots);
	free(side.samples);
	return code;
}
