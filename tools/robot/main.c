/*
 * hbmon-robot: a simulated trading robot engine on libhbmon-client, for
 * demos and tests. N accounts ACC_001.., random seeded status changes
 * along the seed's diagrams, scripted faults, automatic mode sending.
 *
 *   hbmon-robot --server URL --robot ID --secret-file F --accounts N
 *               --interval 1s [--fault die@30s ...] [-v] [--seed N]
 *
 * The secret comes from --secret-file or HBMON_SECRET, never argv.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/secret.h"
#include "common/tz.h"
#include "hbmon/client.h"
#include "sim.h"

#define EXIT_USAGE 2

struct options {
	const char *server;
	const char *robot;
	const char *secret_file;
	long accounts;
	int64_t interval_ms;
	int64_t interval_min_ms; /* 0: half the interval */
	int64_t timeout_ms;
	int64_t duration_ms; /* 0: until a signal */
	uint64_t seed;
	bool seed_given;
	double change_rate;
	bool utc_offset_given;
	int utc_offset_min;
	bool verbose;
	long bench;
	const char *faults[SIM_FAULTS_MAX];
	size_t n_faults;
};

static const char usage_text[] =
    "usage: hbmon-robot --server URL --robot ID [--secret-file F] "
    "[options]\n"
    "\n"
    "Simulates a trading robot engine that reports to hbmon-server.\n"
    "The secret is read from --secret-file F or $HBMON_SECRET, never from\n"
    "the command line.\n"
    "\n"
    "  --server URL         hbmon-server's listen URL (tcp://, ipc://)\n"
    "  --robot ID           robot id, as registered with `hbctl robot add`\n"
    "  --secret-file F      file holding the robot's secret\n"
    "  --accounts N         accounts ACC_001..ACC_NNN (default 3)\n"
    "  --interval D         longest gap between heartbeats; each is sent\n"
    "                       a random time in D/2..D (default 120s: the\n"
    "                       seed's 60-120 s). Also how often states change\n"
    "  --interval-min D     shortest gap instead of D/2\n"
    "  --timeout D          limit for one send (default 5s)\n"
    "  --fault F            scripted fault, repeatable: die@30s,\n"
    "                       degrade@10s, recover@40s, expire=ACC_003@20s,\n"
    "                       error=ACC_002@15s, silent=ACC_005@12s,\n"
    "                       resume=ACC_005@50s, skew=+90s@5s\n"
    "  --seed N             seed for the random status changes (default:\n"
    "                       from the clock; -v prints it)\n"
    "  --change-rate P      chance per account per interval of a status\n"
    "                       change, 0..1 (default 0.1; 0: none)\n"
    "  --tz ZONE            write timestamps in this zone: a UTC offset\n"
    "                       (+07:00), a zone name (Asia/Jakarta,\n"
    "                       Europe/London; daylight saving followed) or\n"
    "                       local (default); --utc-offset is the same\n"
    "  --duration D         stop after D (default: run until SIGINT/TERM)\n"
    "  --bench N            instead of simulating, send N batches at once\n"
    "                       and print the client's CPU time per heartbeat\n"
    "  -v, --verbose        print every heartbeat sent (the seed's JSON),\n"
    "                       each outcome and each change, on stdout\n"
    "  --version            print the version and exit\n"
    "  -h, --help           this text\n";

static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hbmon-robot: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(hbmon-robot --help for usage)\n", stderr);
	exit(EXIT_USAGE);
}

static int64_t
parse_duration_arg(const char *flag, const char *value)
{
	char why[128];
	int64_t ms;

	if (duration_parse(value, &ms, why, sizeof(why)) != HBMON_OK) {
		usage_error("%s '%s': %s", flag, value, why);
	}
	return ms;
}

static long
parse_count(const char *flag, const char *value, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < min || n > max) {
		usage_error("%s '%s' must be a whole number from %ld to %ld",
		            flag, value, min, max);
	}
	return n;
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SERVER = 256,
		OPT_ROBOT,
		OPT_SECRET_FILE,
		OPT_SECRET,
		OPT_ACCOUNTS,
		OPT_INTERVAL,
		OPT_INTERVAL_MIN,
		OPT_TIMEOUT,
		OPT_FAULT,
		OPT_SEED,
		OPT_CHANGE_RATE,
		OPT_UTC_OFFSET,
		OPT_DURATION,
		OPT_BENCH,
		OPT_VERSION,
	};
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "robot", required_argument, NULL, OPT_ROBOT },
		{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "accounts", required_argument, NULL, OPT_ACCOUNTS },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "interval-min", required_argument, NULL, OPT_INTERVAL_MIN },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "fault", required_argument, NULL, OPT_FAULT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "change-rate", required_argument, NULL, OPT_CHANGE_RATE },
		{ "tz", required_argument, NULL, OPT_UTC_OFFSET },
		{ "utc-offset", required_argument, NULL, OPT_UTC_OFFSET },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "bench", required_argument, NULL, OPT_BENCH },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->accounts = 3;
	o->interval_ms = 120000;
	o->timeout_ms = 5000;
	o->change_rate = 0.1;
	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_ROBOT:
			o->robot = optarg;
			break;
		case OPT_SECRET_FILE:
			o->secret_file = optarg;
			break;
		case OPT_SECRET:
			usage_error("a secret is never taken from the command "
			            "line (other users see it in ps); use "
			            "--secret-file F or HBMON_SECRET");
			break;
		case OPT_ACCOUNTS:
			o->accounts =
			    parse_count("--accounts", optarg, 0, 999999);
			break;
		case OPT_INTERVAL:
			o->interval_ms =
			    parse_duration_arg("--interval", optarg);
			break;
		case OPT_INTERVAL_MIN:
			o->interval_min_ms =
			    parse_duration_arg("--interval-min", optarg);
			break;
		case OPT_TIMEOUT:
			o->timeout_ms = parse_duration_arg("--timeout", optarg);
			break;
		case OPT_FAULT:
			if (o->n_faults == SIM_FAULTS_MAX) {
				usage_error("at most %d --fault",
				            SIM_FAULTS_MAX);
			}
			o->faults[o->n_faults++] = optarg;
			break;
		case OPT_SEED: {
			char *end;
			errno = 0;
			o->seed = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0') {
				usage_error("--seed '%s' is not a number",
				            optarg);
			}
			o->seed_given = true;
			break;
		}
		case OPT_CHANGE_RATE: {
			char *end;
			o->change_rate = strtod(optarg, &end);
			if (end == optarg || *end != '\0' ||
			    !(o->change_rate >= 0 && o->change_rate <= 1)) {
				usage_error("--change-rate '%s' must be from 0 "
				            "to 1",
				            optarg);
			}
			break;
		}
		case OPT_UTC_OFFSET: {
			char why[256];
			if (tz_select(optarg, &o->utc_offset_min, why,
			              sizeof(why)) != HBMON_OK) {
				usage_error("--tz: %s", why);
			}
			o->utc_offset_given = true;
			break;
		}
		case OPT_DURATION:
			o->duration_ms =
			    parse_duration_arg("--duration", optarg);
			break;
		case OPT_BENCH:
			o->bench = parse_count("--bench", optarg, 1, 100000000);
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_VERSION:
			printf("hbmon-robot %s\n", HBMON_VERSION);
			exit(0);
		default:
			usage_error("unknown option");
		}
	}
	if (optind < argc) {
		usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (o->server == NULL || o->robot == NULL) {
		usage_error("--server and --robot are required");
	}
	if (o->interval_ms < 1 || o->interval_ms > 86400000) {
		usage_error("--interval must be from 1ms to 24h");
	}
	if (o->interval_min_ms == 0) {
		o->interval_min_ms =
		    o->interval_ms / 2 > 0 ? o->interval_ms / 2 : 1;
	}
	if (o->interval_min_ms > o->interval_ms) {
		usage_error("--interval-min is longer than --interval");
	}
	if (o->timeout_ms < 1 || o->timeout_ms > 3600000) {
		usage_error("--timeout must be from 1ms to 1h");
	}
}

/* ---- what the client calls back ---------------------------------------- */

static _Atomic int64_t clock_skew_ms;

static int64_t
robot_clock(void *arg)
{
	(void) arg;
	return clock_wall_ms() + atomic_load(&clock_skew_ms);
}

static void
print_line(void *arg, const char *line)
{
	(void) arg;
	/* One write per line: the sender thread and main both print. */
	printf("%s\n", line);
	fflush(stdout);
}

static void
comment_line(void *arg, const char *line)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "# %s", line);
	print_line(arg, buf);
}

struct health_view {
	const char *server;
	bool verbose;
	uint32_t reported_failures;
	uint32_t reported_rejected;
};

static void
on_health(void *arg, const hbmon_client_health *h)
{
	struct health_view *v = arg;

	if (h->consecutive_failures > 0) {
		if (v->reported_failures == 0 || v->verbose) {
			fprintf(stderr,
			        "hbmon-robot: cannot report to %s: %s (%u in a "
			        "row; trying again next interval)\n",
			        v->server, h->last_result.message,
			        (unsigned) h->consecutive_failures);
		}
	} else if (v->reported_failures > 0) {
		fprintf(stderr,
		        "hbmon-robot: reporting to %s again after %u failed "
		        "attempts\n",
		        v->server, (unsigned) v->reported_failures);
	}
	v->reported_failures = h->consecutive_failures;
	if (h->consecutive_failures == 0 && h->last_rejected > 0 &&
	    h->last_rejected != v->reported_rejected) {
		fprintf(stderr, "hbmon-robot: the server refused: %s\n",
		        h->last_result.message);
	}
	if (h->consecutive_failures == 0) {
		v->reported_rejected = h->last_rejected;
	}
}

/* Hands the simulator's current state to the client. */
static void
publish(hbmon_client *c, const struct sim *s)
{
	hbmon_robot_state robot;

	sim_robot_state(s, &robot);
	hbmon_set_robot(c, &robot);
	for (size_t i = 0; i < s->n_accounts; i++) {
		hbmon_account_state a;

		sim_account_state(s, i, &a);
		if (s->accounts[i].silent) {
			hbmon_remove_account(c, a.account);
		} else {
			hbmon_set_account(c, &a);
		}
	}
	atomic_store(&clock_skew_ms, s->skew_ms);
}

/* ---- modes ------------------------------------------------------------- */

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * Sends o->bench batches back to back and prints the CPU time this
 * process spent (every thread: nng's I/O threads do part of the work).
 */
static int
run_bench(hbmon_client *c, const struct options *o, const struct sim *s)
{
	hbmon_account_state *accounts = NULL;
	hbmon_robot_state robot;
	hbmon_result res;
	long failures = 0;
	double cpu0, cpu1;
	int64_t wall0, wall1;
	size_t n = s->n_accounts;
	size_t per_batch = n + 1;
	int rv = 0;

	if (n > 0 && (accounts = calloc(n, sizeof(*accounts))) == NULL) {
		fprintf(stderr, "hbmon-robot: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		sim_account_state(s, i, &accounts[i]);
	}
	sim_robot_state(s, &robot);
	/* One call first: connecting is not what is measured. */
	if (hbmon_report_batch(c, &robot, accounts, n, &res, NULL, NULL) !=
	        HBMON_OK &&
	    res.code != 0) {
		fprintf(stderr, "hbmon-robot: first batch failed: %s\n",
		        res.message);
		rv = 1;
		goto out;
	}
	cpu0 = cpu_seconds();
	wall0 = clock_mono_ns();
	for (long i = 0; i < o->bench; i++) {
		if (hbmon_report_batch(c, &robot, accounts, n, &res, NULL,
		                       NULL) != HBMON_OK) {
			failures++;
		}
	}
	wall1 = clock_mono_ns();
	cpu1 = cpu_seconds();
	printf("batches %ld, heartbeats per batch %zu, failed %ld\n", o->bench,
	       per_batch, failures);
	printf("wall %.3f s, %.1f us per batch\n", (wall1 - wall0) / 1e9,
	       (wall1 - wall0) / 1e3 / (double) o->bench);
	printf("client cpu %.3f s: %.2f us per batch, %.2f us per heartbeat\n",
	       cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / (double) o->bench,
	       (cpu1 - cpu0) * 1e6 / (double) o->bench / (double) per_batch);
	if (failures > 0) {
		fprintf(stderr, "hbmon-robot: %ld batches failed; last: %s\n",
		        failures, res.message);
		rv = 1;
	}
out:
	free(accounts);
	return rv;
}

/* Simulates until the duration ends or SIGINT/SIGTERM arrives. */
static int
run_sim(hbmon_client *c, const struct options *o, struct sim *s,
        const sigset_t *stop_signals)
{
	void (*log)(void *, const char *) = o->verbose ? comment_line : NULL;
	int64_t start_ms = clock_mono_ms();
	int64_t next_tick_ms = start_ms + o->interval_ms;
	int rv;

	publish(c, s);
	if ((rv = hbmon_client_start(c)) != HBMON_OK) {
		fprintf(stderr, "hbmon-robot: cannot start sending: %s\n",
		        hbmon_strerror(rv));
		return 1;
	}
	for (;;) {
		int64_t now_ms = clock_mono_ms();
		int64_t elapsed_ms = now_ms - start_ms;
		int64_t wake_ms = next_tick_ms;
		int64_t fault_ms = sim_next_fault_ms(s);
		const struct sim_fault *die;
		struct timespec ts;

		if ((die = sim_faults_due(s, elapsed_ms, log, NULL)) != NULL) {
			fprintf(stderr,
			        "hbmon-robot: fault %s: the robot dies now\n",
			        die->text);
			fflush(stdout);
			/* No goodbye, no cleanup: a crash, as the server
			 * will see it. */
			_exit(0);
		}
		if (now_ms >= next_tick_ms) {
			sim_tick(s, log, NULL);
			next_tick_ms += o->interval_ms;
			wake_ms = next_tick_ms;
		}
		publish(c, s);
		if (o->duration_ms > 0 && elapsed_ms >= o->duration_ms) {
			break;
		}
		if (fault_ms >= 0 && start_ms + fault_ms < wake_ms) {
			wake_ms = start_ms + fault_ms;
		}
		if (o->duration_ms > 0 && start_ms + o->duration_ms < wake_ms) {
			wake_ms = start_ms + o->duration_ms;
		}
		if (wake_ms < now_ms) {
			wake_ms = now_ms;
		}
		ts.tv_sec = (time_t) ((wake_ms - now_ms) / 1000);
		ts.tv_nsec = (long) ((wake_ms - now_ms) % 1000) * 1000000;
		if (sigtimedwait(stop_signals, NULL, &ts) > 0) {
			break;
		}
	}
	hbmon_client_stop(c);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct sim s;
	struct health_view view;
	hbmon_client *c = NULL;
	sigset_t stop_signals;
	char secret[256];
	char why[256];
	int rv;

	parse_args(argc, argv, &o);
	/* Blocked before any thread exists, so that only sigtimedwait in
	 * main sees them and stops cleanly. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	if (!o.seed_given) {
		o.seed =
		    (uint64_t) clock_wall_ms() ^ ((uint64_t) getpid() << 32);
	}
	if (sim_init(&s, (size_t) o.accounts, o.seed, o.change_rate) !=
	    HBMON_OK) {
		fprintf(stderr, "hbmon-robot: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < o.n_faults; i++) {
		if (sim_add_fault(&s, o.faults[i], why, sizeof(why)) !=
		    HBMON_OK) {
			sim_fini(&s);
			usage_error("%s", why);
		}
	}
	if (secret_load(o.secret_file, "HBMON_SECRET", secret, sizeof(secret),
	                why, sizeof(why)) != HBMON_OK) {
		fprintf(stderr, "hbmon-robot: %s\n", why);
		sim_fini(&s);
		return EXIT_USAGE;
	}
	rv = hbmon_client_open(&c, o.server, o.robot, secret,
	                       (size_t) o.accounts);
	explicit_bzero(secret, sizeof(secret));
	if (rv != HBMON_OK) {
		fprintf(stderr,
		        "hbmon-robot: cannot open a client for %s: %s\n",
		        o.server, hbmon_strerror(rv));
		sim_fini(&s);
		return rv == HBMON_EINVAL ? EXIT_USAGE : 1;
	}
	hbmon_client_set_timeout(c, (uint32_t) o.timeout_ms);
	hbmon_client_set_interval(c, (uint32_t) o.interval_min_ms,
	                          (uint32_t) o.interval_ms);
	hbmon_client_set_clock(c, robot_clock, NULL);
	if (o.utc_offset_given) {
		/* A zone name became this process's zone: the client's
		 * "local" then follows it. */
		hbmon_client_set_utc_offset(c, o.utc_offset_min == TZ_ZONE
		                                   ? HBMON_UTC_OFFSET_LOCAL
		                                   : o.utc_offset_min);
	}
	view = (struct health_view){ o.server, o.verbose, 0, 0 };
	hbmon_client_set_health_callback(c, on_health, &view);
	if (o.verbose) {
		char line[128];
		snprintf(line, sizeof(line),
		         "robot %s, %ld accounts, seed %" PRIu64, o.robot,
		         o.accounts, o.seed);
		comment_line(NULL, line);
		hbmon_client_set_trace(c, print_line, NULL);
	}

	rv = o.bench > 0 ? run_bench(c, &o, &s)
	                 : run_sim(c, &o, &s, &stop_signals);
	hbmon_client_close(c);
	sim_fini(&s);
	return rv;
}
