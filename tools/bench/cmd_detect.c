/* hbmon-bench detect: detection lateness, false alerts, RSS per subject. */
#include "cmd_detect.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/rfc3339.h"
#include "fleet.h"
#include "hbmon/error.h"
#include "latency.h"
#include "server_proc.h"
#include "silence.h"
#include "util.h"
#include "watch.h"

#define VERB          "detect" /* for messages */
#define EXIT_USAGE    2
#define SUBJECTS_MAX  10000000
#define ACCOUNTS_MAX  5000 /* a batch of 5,000 stays under recv_max 1 MiB */
#define INFLIGHT_MAX  1024
#define REPLY_TIMEOUT 10000 /* ms */
#define SETTLE_MS     500   /* after start-up, before the base RSS */
#define POLL_MS       100
#define STALL_TEXT    "the server stalled"

/* SPEC §7. */
#define BAR_LATENESS_MS 50.0
#define BAR_BYTES       300.0
#define BAR_SUBJECTS    1000000

const char cmd_detect_summary[] =
    "alert lateness after deadlines, false alerts, server RSS per subject";

static const char usage_text[] =
    "usage: hbmon-bench detect [--subjects N] [--accounts-per-robot N]\n"
    "         [--interval D] [--period D] [--warmup D] [--silence N]\n"
    "         [--silence-robots N] [--miss-threshold N] [--lag-limit D]\n"
    "         [--inflight N] [--server PATH] [--json]\n"
    "\n"
    "SPEC section 7's detection and memory bars: an alert is published\n"
    "within 50 ms (p99) after a subject's threshold deadline, with no false\n"
    "alert for subjects that kept their schedule, at 1,000,000 tracked\n"
    "subjects; and under 300 bytes of server RSS per tracked subject.\n"
    "\n"
    "Starts hbmon-server on a fresh data dir (auth none, the given interval\n"
    "and miss threshold) and a fleet of robots, each a robot subject and\n"
    "its accounts, that sends every robot's ReportBatch once per period,\n"
    "spread evenly. After the warm-up, the chosen accounts and whole robots\n"
    "fall silent one by one over one interval. Each alert's lateness is its\n"
    "arrival on the PUB socket minus its subject's deadline: the reply to\n"
    "the last accepted heartbeat + (miss threshold + 1) x interval (and,\n"
    "as a bound, the same from that request's send time). RSS per subject\n"
    "is (RSS after the warm-up - RSS at start) / subjects.\n"
    "\n"
    "  --subjects N            subjects tracked (default 100000), rounded up\n"
    "                          to whole robots\n"
    "  --accounts-per-robot N  accounts of each robot (default 99, so 100\n"
    "                          subjects a robot)\n"
    "  --interval D            the server's interval_max (default 5s)\n"
    "  --period D              each robot's batch period (default interval/2;\n"
    "                          less than the interval)\n"
    "  --warmup D              before the first silence (default and least:\n"
    "                          2 intervals)\n"
    "  --silence N             accounts that fall silent (default 300)\n"
    "  --silence-robots N      whole robots that fall silent (default 5)\n"
    "  --miss-threshold N      the server's miss_threshold (default 2)\n"
    "  --lag-limit D           the fleet lags when a batch leaves later than\n"
    "                          this after its time (default period/4)\n"
    "  --inflight N            requests in flight at most (default: one\n"
    "                          per robot, at most 1024)\n"
    "  --server PATH           hbmon-server to run (default: the one built\n"
    "                          beside hbmon-bench)\n"
    "  --json                  one JSON object instead of text\n"
    "  -h, --help              this text\n"
    "\n"
    "Exit status: 0; 1 when an alert was false or unexpected, a silenced\n"
    "subject was not alerted, a request failed, or the fleet could not keep\n"
    "its schedule; 2 for a bad command line. Speed never makes it fail.\n";

struct options {
	uint32_t subjects;
	uint32_t accounts; /* per robot */
	int64_t interval_ms;
	int64_t period_ms;
	int64_t warmup_ms;
	uint32_t silence;
	uint32_t silence_robots;
	uint32_t miss_threshold;
	int64_t lag_limit_ms;
	uint32_t inflight;
	const char *server;
	bool json;
};

/* p50, p99, max and min of one set of samples, in ms. */
struct spread {
	size_t n;
	double p50, p99, max, min;
};

struct results {
	uint32_t robots;
	uint64_t subjects;
	double offered_hb_per_s;
	double load_before[3], load_after[3];

	/* The server's memory at start (tracking nothing), after the
	 * warm-up and at the end. */
	struct server_memory mem_base, mem_loaded, mem_end;
	uint32_t robots_loaded;   /* robots heard by the end of the warm-up */
	double bytes_per_subject; /* from the RSS after the warm-up */
	double bytes_per_subject_end; /* from the RSS at the end */

	struct fleet_stats fleet;
	struct watch_stats watch;

	size_t silences, account_silences, robot_silences;
	size_t alerted, missing, not_effective, no_baseline;
	/* Arrival minus the deadline reckoned from the last accepted
	 * heartbeat's reply (the bar is judged on it: the server heard it
	 * before then, so this is a lower bound of the true lateness), from its
	 * request's send (an upper bound), and from the server's own receipt
	 * stamp (details.last_seen_ms, wall-clock ms). */
	struct spread lateness;
	struct spread lateness_send;
	struct spread lateness_stamp;
	/* The last split in two: raised_at minus the stamped deadline, and
	 * arrival minus raised_at (commit, publish, delivery). */
	struct spread raised;
	struct spread delivered;

	double measured_s;
	double server_cpu_pct, bench_cpu_pct;
	uint64_t stalls, stalls_measured; /* measured: after the warm-up */
	int64_t stall_ms, stall_ms_measured;
	bool server_stopped_ok;
	char server_why[1200];

	bool lagging;
	char lag_why[300];
	bool valid;  /* no errors, fleet on schedule, server stopped cleanly */
	bool passed; /* valid, and every alert as expected */
};

/*
 * Parses the command line into o. Returns -1 to go on, otherwise the exit
 * status (0 after --help).
 */
static int
parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SUBJECTS = 256,
		OPT_ACCOUNTS,
		OPT_INTERVAL,
		OPT_PERIOD,
		OPT_WARMUP,
		OPT_SILENCE,
		OPT_SILENCE_ROBOTS,
		OPT_THRESHOLD,
		OPT_LAG_LIMIT,
		OPT_INFLIGHT,
		OPT_SERVER,
		OPT_JSON,
	};
	static const struct option longopts[] = {
		{ "subjects", required_argument, NULL, OPT_SUBJECTS },
		{ "accounts-per-robot", required_argument, NULL, OPT_ACCOUNTS },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "silence", required_argument, NULL, OPT_SILENCE },
		{ "silence-robots", required_argument, NULL,
		  OPT_SILENCE_ROBOTS },
		{ "miss-threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "lag-limit", required_argument, NULL, OPT_LAG_LIMIT },
		{ "inflight", required_argument, NULL, OPT_INFLIGHT },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool ok = true;
	int ch;

	memset(o, 0, sizeof(*o));
	o->subjects = 100000;
	o->accounts = 99;
	o->interval_ms = 5000;
	o->silence = 300;
	o->silence_robots = 5;
	o->miss_threshold = 2;
	o->inflight = 0; /* one per robot, up to 1024 */
	/* Our own messages are clearer than getopt's. */
	opterr = 0;
	optind = 1;
	while (ok &&
	       (ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SUBJECTS:
			ok = bench_uint_flag(VERB, "--subjects", optarg, 1,
			                     SUBJECTS_MAX, &o->subjects);
			break;
		case OPT_ACCOUNTS:
			ok = bench_uint_flag(VERB, "--accounts-per-robot",
			                     optarg, 0, ACCOUNTS_MAX,
			                     &o->accounts);
			break;
		case OPT_INTERVAL:
			ok = bench_duration_flag(VERB, "--interval", optarg, 10,
			                         &o->interval_ms);
			break;
		case OPT_PERIOD:
			ok = bench_duration_flag(VERB, "--period", optarg, 1,
			                         &o->period_ms);
			break;
		case OPT_WARMUP:
			ok = bench_duration_flag(VERB, "--warmup", optarg, 1,
			                         &o->warmup_ms);
			break;
		case OPT_SILENCE:
			ok = bench_uint_flag(VERB, "--silence", optarg, 0,
			                     SUBJECTS_MAX, &o->silence);
			break;
		case OPT_SILENCE_ROBOTS:
			ok =
			    bench_uint_flag(VERB, "--silence-robots", optarg, 0,
			                    SUBJECTS_MAX, &o->silence_robots);
			break;
		case OPT_THRESHOLD:
			ok = bench_uint_flag(VERB, "--miss-threshold", optarg,
			                     0, 1000, &o->miss_threshold);
			break;
		case OPT_LAG_LIMIT:
			ok = bench_duration_flag(VERB, "--lag-limit", optarg, 1,
			                         &o->lag_limit_ms);
			break;
		case OPT_INFLIGHT:
			ok = bench_uint_flag(VERB, "--inflight", optarg, 1,
			                     INFLIGHT_MAX, &o->inflight);
			break;
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
	if (o->period_ms == 0) {
		o->period_ms = o->interval_ms / 2;
	}
	if (o->period_ms >= o->interval_ms) {
		/* A robot that reports every interval_max or less often is
		 * late by design; its silence could not be told apart. */
		bench_usage_error(VERB,
		                  "--period must be shorter than --interval");
		return EXIT_USAGE;
	}
	if (o->warmup_ms == 0) {
		o->warmup_ms = 2 * o->interval_ms;
	}
	if (o->warmup_ms < 2 * o->interval_ms) {
		bench_usage_error(
		    VERB,
		    "--warmup must be at least 2 intervals (%" PRId64
		    "ms): every subject heard, the server settled",
		    2 * o->interval_ms);
		return EXIT_USAGE;
	}
	if (o->lag_limit_ms == 0) {
		o->lag_limit_ms = o->period_ms / 4 > 0 ? o->period_ms / 4 : 1;
	}
	return -1;
}

static void
read_loadavg(double out[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	out[0] = out[1] = out[2] = -1;
	if (f != NULL) {
		if (fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) != 3) {
			out[0] = out[1] = out[2] = -1;
		}
		fclose(f);
	}
}

/*
 * Counts the server's "stalled" warnings in its log and adds up their
 * stall_ms: time the server took out of its liveness clock, which moves
 * its deadlines later than the fleet's reckoning. Those logged at or after
 * from_wall_ms (by the line's ts=) are counted apart: a stall then can
 * make an alert late, one in the warm-up cannot.
 */
static void
count_stalls(const char *log_path, int64_t from_wall_ms, struct results *res)
{
	char line[4096];
	FILE *f = fopen(log_path, "r");

	if (f == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct rfc3339_time ts;
		const char *v;
		int64_t ms = 0;

		if (strstr(line, STALL_TEXT) == NULL) {
			continue;
		}
		if ((v = strstr(line, "stall_ms=")) != NULL) {
			ms = strtoll(v + strlen("stall_ms="), NULL, 10);
		}
		res->stalls++;
		res->stall_ms += ms;
		/* Lines start "ts=2026-11-28T02:46:46.123Z ". */
		v = strchr(line, ' ');
		if (strncmp(line, "ts=", 3) == 0 && v != NULL &&
		    rfc3339_parse(line + 3, (size_t) (v - line - 3), &ts, NULL,
		                  0) == HBMON_OK &&
		    rfc3339_unix_ms(&ts) >= from_wall_ms) {
			res->stalls_measured++;
			res->stall_ms_measured += ms;
		}
	}
	fclose(f);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank quantiles of n samples in unit (ns or ms); sorts them. */
static struct spread
spread_of(int64_t *v, size_t n, double unit_ms)
{
	struct spread s = { 0 };
	size_t i99;

	s.n = n;
	if (n == 0) {
		return s;
	}
	qsort(v, n, sizeof(*v), cmp_i64);
	/* The smallest value with at least q of the samples at or below. */
	i99 = (size_t) ((double) n * 0.99 + 0.999999);
	s.p50 = (double) v[(n + 1) / 2 - 1] / unit_ms;
	s.p99 = (double) v[(i99 > 0 ? i99 : 1) - 1] / unit_ms;
	s.max = (double) v[n - 1] / unit_ms;
	s.min = (double) v[0] / unit_ms;
	return s;
}

/*
 * Turns the plan's records into the figures. The fleet's deadlines are on
 * the bench's monotonic clock, as are arrival times: both ends of those
 * latenesses are read on one machine from one clock that wall-clock steps
 * do not move. The server's receipt stamp and raised_at are wall-clock
 * milliseconds, so the figures built on them are compared with the
 * arrival's wall clock.
 */
static int
collect_samples(const struct options *o, struct silence_plan *plan,
                struct results *res)
{
	int64_t threshold_ms =
	    (int64_t) (o->miss_threshold + 1) * o->interval_ms;
	int64_t threshold_ns = threshold_ms * 1000000;
	size_t cap = plan->n > 0 ? plan->n : 1;
	int64_t *v[5];
	size_t n = 0, n_stamped = 0;
	int rv = HBMON_OK;

	for (int i = 0; i < 5; i++) {
		v[i] = malloc(cap * sizeof(int64_t));
		rv = v[i] == NULL ? HBMON_ENOMEM : rv;
	}
	if (rv != HBMON_OK) {
		goto out;
	}
	pthread_mutex_lock(&plan->lock);
	res->silences = plan->n;
	for (size_t i = 0; i < plan->n; i++) {
		const struct silence *s = &plan->items[i];

		if (s->account == SILENCE_ROBOT) {
			res->robot_silences++;
		} else {
			res->account_silences++;
		}
		if (!s->effective) {
			res->not_effective++;
			continue;
		}
		if (s->last_reply_ns == 0) {
			res->no_baseline++;
			continue;
		}
		if (s->alerts == 0) {
			res->missing++;
			continue;
		}
		v[0][n] = s->alert_ns - (s->last_reply_ns + threshold_ns);
		v[1][n] = s->alert_ns - (s->last_send_ns + threshold_ns);
		n++;
		if (s->last_seen_ms > 0) {
			int64_t deadline = s->last_seen_ms + threshold_ms;

			v[2][n_stamped] = s->alert_wall_ms - deadline;
			v[3][n_stamped] = s->raised_at_ms - deadline;
			v[4][n_stamped] = s->alert_wall_ms - s->raised_at_ms;
			n_stamped++;
		}
	}
	pthread_mutex_unlock(&plan->lock);
	res->alerted = n;
	res->lateness = spread_of(v[0], n, 1e6);
	res->lateness_send = spread_of(v[1], n, 1e6);
	res->lateness_stamp = spread_of(v[2], n_stamped, 1.0);
	res->raised = spread_of(v[3], n_stamped, 1.0);
	res->delivered = spread_of(v[4], n_stamped, 1.0);
out:
	for (int i = 0; i < 5; i++) {
		free(v[i]);
	}
	return rv;
}

/* Whether every silence took effect and was alerted (or is overdue). */
static bool
detections_done(const struct options *o, struct silence_plan *plan,
                int64_t now_ns)
{
	int64_t threshold_ns =
	    (int64_t) (o->miss_threshold + 1) * o->interval_ms * 1000000;
	/* An alert still missing this long after its deadline is missing:
	 * the bar is 50 ms, so the grace only keeps the count honest. */
	int64_t grace_ns =
	    (o->interval_ms > 2000 ? o->interval_ms : 2000) * 1000000;
	bool all_alerted = true;
	int64_t last_deadline = 0;

	pthread_mutex_lock(&plan->lock);
	for (size_t i = 0; i < plan->n; i++) {
		const struct silence *s = &plan->items[i];
		int64_t deadline = s->last_reply_ns + threshold_ns;

		if (!s->effective) {
			pthread_mutex_unlock(&plan->lock);
			return false;
		}
		all_alerted = all_alerted && s->alerts > 0;
		last_deadline =
		    deadline > last_deadline ? deadline : last_deadline;
	}
	pthread_mutex_unlock(&plan->lock);
	/* A second after the last deadline when all came: time enough for
	 * a false alert of the same tick to show as well. */
	return now_ns >= last_deadline + (all_alerted ? 1000000000 : grace_ns);
}

static double
mib(int64_t bytes)
{
	return (double) bytes / 1048576;
}

static double
ms_of(int64_t ns)
{
	return (double) ns / 1e6;
}

/* The fleet's validity: it sent on time and every subject kept its
 * schedule, as seen from the client. */
static void
judge_fleet(const struct options *o, struct results *res)
{
	const struct fleet_stats *f = &res->fleet;
	int64_t limit_ns = o->lag_limit_ms * 1000000;

	res->lagging = true;
	if (f->lag_max_ns > limit_ns) {
		snprintf(res->lag_why, sizeof(res->lag_why),
		         "a batch left %.1f ms after its time (limit %" PRId64
		         " ms)",
		         ms_of(f->lag_max_ns), o->lag_limit_ms);
	} else if (f->skipped > 0) {
		snprintf(res->lag_why, sizeof(res->lag_why),
		         "%" PRIu64 " batches skipped: the robot's previous "
		         "batch was still unanswered",
		         f->skipped);
	} else if (f->gap_max_ns >= o->interval_ms * 1000000) {
		snprintf(res->lag_why, sizeof(res->lag_why),
		         "a robot went %.1f ms between accepted heartbeats "
		         "(interval %" PRId64 " ms)",
		         ms_of(f->gap_max_ns), o->interval_ms);
	} else if (res->robots_loaded < res->robots) {
		snprintf(res->lag_why, sizeof(res->lag_why),
		         "only %" PRIu32 " of %" PRIu32 " robots were heard by "
		         "the end of the warm-up",
		         res->robots_loaded, res->robots);
	} else {
		res->lagging = false;
	}
}

/*
 * Whether every silence was alerted in time and nothing else was. The
 * true lateness lies between the two bounds: "met" needs both within the
 * bar, "met on the lower bound only" says the answer hangs on when the
 * server really heard the last heartbeat.
 */
static bool
detection_met(const struct results *r, const struct spread *lateness)
{
	return r->valid && r->alerted > 0 && r->missing == 0 &&
	       r->watch.false_alerts == 0 && lateness->p99 <= BAR_LATENESS_MS;
}

static const char *
detection_verdict(const struct results *r)
{
	if (detection_met(r, &r->lateness_send)) {
		return "met";
	}
	return detection_met(r, &r->lateness) ? "met on the lower bound only"
	                                      : "NOT met";
}

static void
print_text(const struct options *o, const struct results *r)
{
	const struct fleet_stats *f = &r->fleet;
	const struct watch_stats *w = &r->watch;
	char iv[32], pd[32];

	duration_format(o->interval_ms, iv, sizeof(iv));
	duration_format(o->period_ms, pd, sizeof(pd));
	printf("hbmon-bench detect: %" PRIu64 " subjects (%" PRIu32
	       " robots x (1 + %" PRIu32 " accounts)); interval_max %s, "
	       "miss_threshold %" PRIu32 "; a batch per robot every %s "
	       "(%.0f heartbeats/s)\n",
	       r->subjects, r->robots, o->accounts, iv, o->miss_threshold, pd,
	       r->offered_hb_per_s);
	printf("load average: %.2f %.2f %.2f before, %.2f %.2f %.2f after\n",
	       r->load_before[0], r->load_before[1], r->load_before[2],
	       r->load_after[0], r->load_after[1], r->load_after[2]);
	printf("\nfleet: %" PRIu64 " batches sent, %" PRIu64
	       " accepted (%" PRIu64 " heartbeats), %" PRIu64
	       " errors, %" PRIu64 " skipped\n",
	       f->sent, f->accepted, f->heartbeats, f->errors, f->skipped);
	printf("  send lag after warm-up: p50 %.2f / p99 %.2f / max %.2f ms "
	       "(limit %" PRId64 " ms); during warm-up p99 %.2f ms\n",
	       ms_of((int64_t) latency_quantile(&f->lag, 0.5)),
	       ms_of((int64_t) latency_quantile(&f->lag, 0.99)),
	       ms_of(f->lag_max_ns), o->lag_limit_ms,
	       ms_of((int64_t) latency_quantile(&f->lag_warmup, 0.99)));
	printf("  reply after warm-up: p50 %.2f / p99 %.2f ms; longest gap "
	       "between a robot's accepted heartbeats %.1f ms\n",
	       ms_of((int64_t) latency_quantile(&f->reply, 0.5)),
	       ms_of((int64_t) latency_quantile(&f->reply, 0.99)),
	       ms_of(f->gap_max_ns));
	if (f->errors > 0) {
		printf("  first error: %s\n", f->first_error);
	}
	printf("  CPU after warm-up: hbmon-server %.0f %%, hbmon-bench %.0f %% "
	       "of one core over %.1f s\n",
	       r->server_cpu_pct, r->bench_cpu_pct, r->measured_s);

	printf("\nsilenced: %zu (%zu accounts, %zu robots); alerted %zu, "
	       "missing %zu",
	       r->silences, r->account_silences, r->robot_silences, r->alerted,
	       r->missing);
	if (r->not_effective > 0 || r->no_baseline > 0) {
		printf(", never silenced in time %zu, no accepted heartbeat "
		       "before %zu",
		       r->not_effective, r->no_baseline);
	}
	printf("\n");
	printf("  lateness = alert arrival - deadline, p50 / p99 / max (min), "
	       "ms; the deadline is (threshold + 1) x interval after\n");
	printf("    the last heartbeat's reply:   %8.2f / %8.2f / %8.2f "
	       "(%.2f)\n",
	       r->lateness.p50, r->lateness.p99, r->lateness.max,
	       r->lateness.min);
	printf("    the server's receipt stamp:   %8.0f / %8.0f / %8.0f "
	       "(%.0f)  (wall clock, ms)\n",
	       r->lateness_stamp.p50, r->lateness_stamp.p99,
	       r->lateness_stamp.max, r->lateness_stamp.min);
	printf("    the last heartbeat's request: %8.2f / %8.2f / %8.2f "
	       "(%.2f)\n",
	       r->lateness_send.p50, r->lateness_send.p99, r->lateness_send.max,
	       r->lateness_send.min);
	printf("  of which raised_at - stamped deadline %.0f / %.0f / %.0f, "
	       "arrival - raised_at %.0f / %.0f / %.0f ms\n",
	       r->raised.p50, r->raised.p99, r->raised.max, r->delivered.p50,
	       r->delivered.p99, r->delivered.max);
	printf("  alerts received %" PRIu64 ": expected %" PRIu64
	       ", false %" PRIu64 ", unexpected %" PRIu64 "\n",
	       w->received, w->expected, w->false_alerts, w->unexpected);
	if (w->false_alerts > 0) {
		printf("  first false alert: %s\n", w->first_false);
	}
	if (w->unexpected > 0) {
		printf("  first unexpected alert: %s\n", w->first_unexpected);
	}
	printf("  server stalls (taken out of its liveness clock): %" PRIu64
	       " after the warm-up (%" PRId64 " ms), %" PRIu64
	       " in all (%" PRId64 " ms)\n",
	       r->stalls_measured, r->stall_ms_measured, r->stalls,
	       r->stall_ms);

	printf(
	    "\nmemory of hbmon-server, MiB: RSS (anonymous + mapped files)\n");
	printf("  at start %.1f (%.1f + %.1f), after the warm-up %.1f (%.1f + "
	       "%.1f), at the end %.1f (%.1f + %.1f); peak %.1f\n",
	       mib(r->mem_base.rss), mib(r->mem_base.anon),
	       mib(r->mem_base.file), mib(r->mem_loaded.rss),
	       mib(r->mem_loaded.anon), mib(r->mem_loaded.file),
	       mib(r->mem_end.rss), mib(r->mem_end.anon), mib(r->mem_end.file),
	       mib(r->mem_end.peak));
	printf("  anonymous memory per tracked subject after the warm-up: %.0f "
	       "bytes\n",
	       (double) (r->mem_loaded.anon - r->mem_base.anon) /
	           (double) r->subjects);
	printf("  per tracked subject: %.0f bytes after the warm-up, %.0f at "
	       "the end\n",
	       r->bytes_per_subject, r->bytes_per_subject_end);
	if (!r->server_stopped_ok) {
		printf("  the server did not stop cleanly: %s\n",
		       r->server_why);
	}

	printf("\n");
	if (!r->valid) {
		printf("INVALID: %s; the figures do not count.\n",
		       r->lagging      ? r->lag_why
		       : f->errors > 0 ? "requests failed"
		                       : "the server did not stop cleanly");
	}
	printf("SPEC 7 detection bar, p99 <= %.0f ms and no false alert: %s "
	       "(p99 %.2f ms from the reply, %.2f ms from the request; "
	       "%" PRIu64 " false)%s\n",
	       BAR_LATENESS_MS, detection_verdict(r), r->lateness.p99,
	       r->lateness_send.p99, w->false_alerts,
	       r->subjects < BAR_SUBJECTS ? " (the bar is set at 1,000,000 "
	                                    "subjects)"
	                                  : "");
	printf("SPEC 7 memory bar, < %.0f bytes per subject: %s (%.0f)%s\n",
	       BAR_BYTES, r->bytes_per_subject < BAR_BYTES ? "met" : "NOT met",
	       r->bytes_per_subject,
	       r->subjects < BAR_SUBJECTS ? " (the bar is set at 1,000,000 "
	                                    "subjects)"
	                                  : "");
}

static json_t *
memory_json(const struct server_memory *m)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "rss", json_integer(m->rss));
	json_object_set_new(obj, "anon", json_integer(m->anon));
	json_object_set_new(obj, "file", json_integer(m->file));
	json_object_set_new(obj, "peak", json_integer(m->peak));
	return obj;
}

static json_t *
spread_json(const struct spread *s)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "n", json_integer((json_int_t) s->n));
	json_object_set_new(obj, "p50_ms", json_real(s->p50));
	json_object_set_new(obj, "p99_ms", json_real(s->p99));
	json_object_set_new(obj, "max_ms", json_real(s->max));
	json_object_set_new(obj, "min_ms", json_real(s->min));
	return obj;
}

static void
print_json(const struct options *o, const struct results *r)
{
	const struct fleet_stats *f = &r->fleet;
	const struct watch_stats *w = &r->watch;
	json_t *obj = json_object();
	char *line;

	json_object_set_new(obj, "subjects",
	                    json_integer((json_int_t) r->subjects));
	json_object_set_new(obj, "robots", json_integer(r->robots));
	json_object_set_new(obj, "accounts_per_robot",
	                    json_integer(o->accounts));
	json_object_set_new(obj, "interval_ms", json_integer(o->interval_ms));
	json_object_set_new(obj, "period_ms", json_integer(o->period_ms));
	json_object_set_new(obj, "warmup_ms", json_integer(o->warmup_ms));
	json_object_set_new(obj, "miss_threshold",
	                    json_integer(o->miss_threshold));
	json_object_set_new(obj, "heartbeats_per_s",
	                    json_real(r->offered_hb_per_s));
	json_object_set_new(obj, "load_before", json_real(r->load_before[0]));
	json_object_set_new(obj, "load_after", json_real(r->load_after[0]));
	json_object_set_new(obj, "batches_sent",
	                    json_integer((json_int_t) f->sent));
	json_object_set_new(obj, "batches_accepted",
	                    json_integer((json_int_t) f->accepted));
	json_object_set_new(obj, "errors",
	                    json_integer((json_int_t) f->errors));
	if (f->errors > 0) {
		json_object_set_new(obj, "first_error",
		                    json_string(f->first_error));
	}
	json_object_set_new(obj, "skipped",
	                    json_integer((json_int_t) f->skipped));
	json_object_set_new(
	    obj, "send_lag_p99_ms",
	    json_real(ms_of((int64_t) latency_quantile(&f->lag, 0.99))));
	json_object_set_new(obj, "send_lag_max_ms",
	                    json_real(ms_of(f->lag_max_ns)));
	json_object_set_new(obj, "lag_limit_ms", json_integer(o->lag_limit_ms));
	json_object_set_new(
	    obj, "reply_p99_ms",
	    json_real(ms_of((int64_t) latency_quantile(&f->reply, 0.99))));
	json_object_set_new(obj, "gap_max_ms", json_real(ms_of(f->gap_max_ns)));
	json_object_set_new(obj, "server_cpu_pct",
	                    json_real(r->server_cpu_pct));
	json_object_set_new(obj, "bench_cpu_pct", json_real(r->bench_cpu_pct));
	json_object_set_new(obj, "silenced",
	                    json_integer((json_int_t) r->silences));
	json_object_set_new(obj, "alerted",
	                    json_integer((json_int_t) r->alerted));
	json_object_set_new(obj, "missing",
	                    json_integer((json_int_t) r->missing));
	json_object_set_new(obj, "lateness", spread_json(&r->lateness));
	json_object_set_new(obj, "lateness_from_send",
	                    spread_json(&r->lateness_send));
	json_object_set_new(obj, "lateness_from_receipt_stamp",
	                    spread_json(&r->lateness_stamp));
	json_object_set_new(obj, "raised_minus_deadline",
	                    spread_json(&r->raised));
	json_object_set_new(obj, "arrival_minus_raised",
	                    spread_json(&r->delivered));
	json_object_set_new(obj, "alerts_received",
	                    json_integer((json_int_t) w->received));
	json_object_set_new(obj, "false_alerts",
	                    json_integer((json_int_t) w->false_alerts));
	json_object_set_new(obj, "unexpected_alerts",
	                    json_integer((json_int_t) w->unexpected));
	if (w->false_alerts > 0) {
		json_object_set_new(obj, "first_false",
		                    json_string(w->first_false));
	}
	if (w->unexpected > 0) {
		json_object_set_new(obj, "first_unexpected",
		                    json_string(w->first_unexpected));
	}
	json_object_set_new(obj, "stalls",
	                    json_integer((json_int_t) r->stalls));
	json_object_set_new(obj, "stall_ms", json_integer(r->stall_ms));
	json_object_set_new(obj, "stalls_after_warmup",
	                    json_integer((json_int_t) r->stalls_measured));
	json_object_set_new(obj, "stall_ms_after_warmup",
	                    json_integer(r->stall_ms_measured));
	json_object_set_new(obj, "memory_start", memory_json(&r->mem_base));
	json_object_set_new(obj, "memory_loaded", memory_json(&r->mem_loaded));
	json_object_set_new(obj, "memory_end", memory_json(&r->mem_end));
	json_object_set_new(obj, "bytes_per_subject",
	                    json_real(r->bytes_per_subject));
	json_object_set_new(obj, "bytes_per_subject_end",
	                    json_real(r->bytes_per_subject_end));
	json_object_set_new(obj, "valid", json_boolean(r->valid));
	json_object_set_new(obj, "passed", json_boolean(r->passed));
	if (r->lagging) {
		json_object_set_new(obj, "lagging", json_string(r->lag_why));
	}
	json_object_set_new(obj, "detection_bar_met",
	                    json_boolean(detection_met(r, &r->lateness)));
	json_object_set_new(obj, "detection_bar_met_upper_bound",
	                    json_boolean(detection_met(r, &r->lateness_send)));
	json_object_set_new(obj, "memory_bar_met",
	                    json_boolean(r->bytes_per_subject < BAR_BYTES));
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
	                           JSON_REAL_PRECISION(6));
	if (line != NULL) {
		printf("%s\n", line);
		free(line);
	}
	json_decref(obj);
}

/* Sleeps until the monotonic clock reads until_ns, showing progress. */
static void
wait_showing(const char *phase, int64_t until_ns, struct fleet *fleet,
             struct watch *watch, int64_t t0_ns)
{
	while (clock_mono_ns() < until_ns) {
		struct fleet_stats *fs = malloc(sizeof(*fs));
		struct watch_stats ws;

		if (fs != NULL) {
			fleet_stats_get(fleet, fs);
			watch_stats_get(watch, &ws);
			bench_progress(
			    "%s: %.0f s, %" PRIu64 " batches accepted, %" PRIu64
			    " errors, %" PRIu64 " alerts",
			    phase, (double) (clock_mono_ns() - t0_ns) / 1e9,
			    fs->accepted, fs->errors, ws.received);
			free(fs);
		}
		bench_pause_ms(POLL_MS);
	}
}

int
cmd_detect(int argc, char **argv)
{
	struct options o;
	struct results *res = NULL;
	struct server_proc proc;
	struct silence_plan plan;
	struct fleet_options fo;
	struct fleet *fleet = NULL;
	struct watch *watch = NULL;
	char server_path[PATH_MAX];
	char publish_url[SCRATCH_URL_MAX];
	char interval_arg[32], threshold_arg[16];
	const char *extra[12];
	char why[2048];
	int64_t t0, start_ns, warmup_end, hard_end, warmup_end_wall_ms = 0;
	int64_t server_cpu0 = 0, bench_cpu0 = 0, server_cpu1 = 0,
	        bench_cpu1 = 0, measure0 = 0, measure1 = 0;
	clockid_t server_clock;
	bool has_server_clock;
	bool plan_made = false;
	int status;

	memset(&proc, 0, sizeof(proc));
	memset(&plan, 0, sizeof(plan));
	if ((status = parse_args(argc, argv, &o)) >= 0) {
		return status;
	}
	if (server_proc_locate(o.server, server_path, sizeof(server_path), why,
	                       sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-bench detect: %s\n", why);
		return 1;
	}
	res = calloc(1, sizeof(*res));
	if (res == NULL) {
		fprintf(stderr, "hbmon-bench detect: out of memory\n");
		return 1;
	}
	res->robots = (uint32_t) ((o.subjects + o.accounts) / (o.accounts + 1));
	if (o.inflight == 0) {
		/* Real robots are independent: while the server is slow,
		 * each still sends when its time comes. A cap below the robot
		 * count would make the fleet lag for the server's sake. */
		o.inflight = res->robots < 1024 ? res->robots : 1024;
	}
	res->subjects = (uint64_t) res->robots * (o.accounts + 1);
	res->offered_hb_per_s =
	    (double) res->subjects * 1000.0 / (double) o.period_ms;
	read_loadavg(res->load_before);

	/* The plan is checked before anything starts: a command line that
	 * asks for more silences than robots fails at once. */
	if (silence_plan_make(&plan, res->robots, o.accounts, o.silence,
	                      o.silence_robots, 0, 0, why,
	                      sizeof(why)) != HBMON_OK) {
		silence_plan_fini(&plan);
		bench_usage_error(VERB, "%s", why);
		free(res);
		return EXIT_USAGE;
	}
	silence_plan_fini(&plan);

	snprintf(interval_arg, sizeof(interval_arg), "%" PRId64 "ms",
	         o.interval_ms);
	snprintf(threshold_arg, sizeof(threshold_arg), "%" PRIu32,
	         o.miss_threshold);
	extra[0] = "--auth";
	extra[1] = "none"; /* no secrets: the load is the server's own work */
	extra[2] = "--interval-max";
	extra[3] = interval_arg;
	extra[4] = "--miss-threshold";
	extra[5] = threshold_arg;
	extra[6] = "--repeat-interval"; /* no repeats within a run */
	extra[7] = "1h";
	extra[8] = NULL;
	if (server_proc_prepare(&proc, "ipc", why, sizeof(why)) != HBMON_OK) {
		goto failed;
	}
	proc.extra_args = extra;
	snprintf(publish_url, sizeof(publish_url), "ipc://%s/alerts.sock",
	         proc.dir);
	bench_progress("starting %s", server_path);
	if (server_proc_start(&proc, server_path, why, sizeof(why)) !=
	    HBMON_OK) {
		goto failed;
	}
	/* The base: the same server, started, tracking nothing. */
	bench_pause_ms(SETTLE_MS);
	if (server_proc_memory(&proc, &res->mem_base) != HBMON_OK) {
		snprintf(why, sizeof(why), "cannot read the server's RSS");
		goto failed;
	}
	has_server_clock = clock_getcpuclockid(proc.pid, &server_clock) == 0;

	t0 = clock_mono_ns();
	start_ns = t0 + 200 * INT64_C(1000000);
	warmup_end = start_ns + o.warmup_ms * INT64_C(1000000);
	/* Silences one by one over one interval after the warm-up. */
	plan_made = true;
	if (silence_plan_make(&plan, res->robots, o.accounts, o.silence,
	                      o.silence_robots, warmup_end,
	                      o.interval_ms * INT64_C(1000000), why,
	                      sizeof(why)) != HBMON_OK) {
		goto failed;
	}
	if (watch_start(publish_url, &plan, &watch, why, sizeof(why)) !=
	    HBMON_OK) {
		goto failed;
	}
	memset(&fo, 0, sizeof(fo));
	fo.url = proc.url;
	fo.robots = res->robots;
	fo.accounts = o.accounts;
	fo.period_ns = o.period_ms * INT64_C(1000000);
	fo.start_ns = start_ns;
	fo.measure_from_ns = warmup_end;
	fo.inflight_max = o.inflight;
	fo.reply_timeout_ms = REPLY_TIMEOUT;
	fo.plan = &plan;
	if (fleet_start(&fo, &fleet, why, sizeof(why)) != HBMON_OK) {
		goto failed;
	}

	wait_showing("warm-up", warmup_end, fleet, watch, t0);
	{
		struct fleet_stats *fs = malloc(sizeof(*fs));
		if (fs != NULL) {
			fleet_stats_get(fleet, fs);
			res->robots_loaded = fs->robots_heard;
			free(fs);
		}
	}
	if (server_proc_memory(&proc, &res->mem_loaded) != HBMON_OK) {
		snprintf(why, sizeof(why), "cannot read the server's RSS");
		goto failed;
	}
	measure0 = clock_mono_ns();
	warmup_end_wall_ms = clock_wall_ms();
	server_cpu0 = has_server_clock ? bench_cpu_ns(server_clock) : 0;
	bench_cpu0 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);

	/* Every silence is planned within one interval, takes effect at its
	 * robot's next batch, and is due (threshold + 1) intervals after
	 * the robot's last accepted batch before it; then a grace. */
	hard_end =
	    warmup_end + o.interval_ms * INT64_C(1000000) +
	    2 * o.period_ms * INT64_C(1000000) +
	    (int64_t) (o.miss_threshold + 2) * o.interval_ms *
	        INT64_C(1000000) +
	    (o.interval_ms > 2000 ? o.interval_ms : 2000) * INT64_C(1000000);
	while (clock_mono_ns() < hard_end &&
	       !detections_done(&o, &plan, clock_mono_ns())) {
		wait_showing("silences", clock_mono_ns() + POLL_MS * 1000000,
		             fleet, watch, t0);
	}
	bench_progress("%s", "");

	measure1 = clock_mono_ns();
	server_cpu1 = has_server_clock ? bench_cpu_ns(server_clock) : 0;
	bench_cpu1 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (server_proc_memory(&proc, &res->mem_end) != HBMON_OK) {
		snprintf(why, sizeof(why), "cannot read the server's RSS");
		goto failed;
	}
	fleet_stop(fleet, &res->fleet);
	fleet = NULL;
	res->server_stopped_ok =
	    server_proc_stop(&proc, res->server_why, sizeof(res->server_why)) ==
	    HBMON_OK;
	watch_stop(watch, &res->watch);
	watch = NULL;
	count_stalls(proc.log_path, warmup_end_wall_ms, res);
	read_loadavg(res->load_after);

	res->measured_s = (double) (measure1 - measure0) / 1e9;
	if (res->measured_s > 0) {
		res->server_cpu_pct = (double) (server_cpu1 - server_cpu0) /
		                      1e7 / res->measured_s;
		res->bench_cpu_pct =
		    (double) (bench_cpu1 - bench_cpu0) / 1e7 / res->measured_s;
	}
	res->bytes_per_subject =
	    (double) (res->mem_loaded.rss - res->mem_base.rss) /
	    (double) res->subjects;
	res->bytes_per_subject_end =
	    (double) (res->mem_end.rss - res->mem_base.rss) /
	    (double) res->subjects;
	if (collect_samples(&o, &plan, res) != HBMON_OK) {
		snprintf(why, sizeof(why), "out of memory for the samples");
		goto failed;
	}
	judge_fleet(&o, res);
	res->valid =
	    !res->lagging && res->fleet.errors == 0 && res->server_stopped_ok;
	res->passed = res->valid && res->watch.false_alerts == 0 &&
	              res->watch.unexpected == 0 && res->missing == 0 &&
	              res->not_effective == 0 && res->no_baseline == 0 &&
	              res->alerted == res->silences;
	if (o.json) {
		print_json(&o, res);
	} else {
		print_text(&o, res);
	}
	fflush(stdout);
	status = res->passed ? 0 : 1;
	goto done;

failed:
	bench_progress("%s", "");
	fprintf(stderr, "hbmon-bench detect: %s\n", why);
	status = 1;
done:
	fleet_stop(fleet, NULL);
	watch_stop(watch, NULL);
	server_proc_cleanup(&proc);
	if (plan_made) {
		silence_plan_fini(&plan);
	}
	free(res);
	return status;
}
